/**
 * The fault run's own PostgreSQL: an embedded server in a temporary folder on a free loopback port, persistent across
 * `stop()`/`start()` so that a restart is a fault the cluster must survive. `dispose()` stops it and removes the folder.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { loadEmbeddedPostgres } from "../../persistence/EmbeddedPostgres.ts"
import { freePort } from "../freePort.ts"

export interface FaultPostgres {
  readonly url: string
  readonly port: number
  /** Fast shutdown (SIGINT to the postmaster): every session ends. */
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
  readonly dispose: () => Promise<void>
  /** One query on a short-lived connection (fails fast when the server is down). */
  readonly query: <R extends Record<string, unknown>>(text: string, values?: Array<unknown>) => Promise<Array<R>>
}

export const startPostgres = async (): Promise<FaultPostgres> => {
  // Without its exit hooks: they would call process.exit() before the run has stopped its processes.
  const Server = await loadEmbeddedPostgres()
  const dir = await mkdtemp(join(tmpdir(), "poretrack-faults-pg-"))
  const port = await freePort()
  const asRoot = userInfo().uid === 0
  const server = new Server({
    databaseDir: join(dir, "pg"),
    port,
    user: "postgres",
    password: "postgres",
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=400", "-c", "unix_socket_directories="],
    onLog: () => {},
    onError: () => {}
  })
  // PostgreSQL runs as the postgres user (refuses root), which must be able to reach the folder; it owns dir/pg.
  if (asRoot) await chmod(dir, 0o755)
  await server.initialise()
  let running = false
  const start = async () => {
    await server.start()
    running = true
  }
  const stop = async () => {
    running = false
    await server.stop()
  }
  await start()
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`
  const query = async <R extends Record<string, unknown>>(text: string, values: Array<unknown> = []): Promise<Array<R>> => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 })
    client.on("error", () => undefined)
    await client.connect()
    try {
      return (await client.query<R>(text, values)).rows
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  return {
    url,
    port,
    start,
    stop,
    query,
    dispose: async () => {
      if (running) await stop().catch(() => undefined)
      await rm(dir, { recursive: true, force: true })
    }
  }
}
