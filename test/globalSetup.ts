/**
 * One PostgreSQL server for the whole test run: the one at DATABASE_URL when it is set, otherwise an embedded server
 * in a temporary folder. Each test file then makes its own database on it (test/TestDatabase.ts).
 */
import type { TestProject } from "vitest/node"
import { loadEmbeddedPostgres } from "../persistence/EmbeddedPostgres.ts"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { freePort } from "./freePort.ts"

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string
  }
}

export default async function setup(project: TestProject) {
  const fromEnv = process.env.DATABASE_URL
  if (fromEnv !== undefined && fromEnv !== "") {
    project.provide("pgAdminUrl", fromEnv)
    return
  }
  const dir = await mkdtemp(join(tmpdir(), "poretrack-test-pg-"))
  const port = await freePort()
  // Loaded without its process exit hooks: they would call process.exit() and turn a failed run's exit code into 0.
  const EmbeddedPostgres = await loadEmbeddedPostgres()
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "pg"),
    port,
    user: "postgres",
    password: "postgres",
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=400", "-c", "unix_socket_directories="],
    onLog: () => {},
    onError: () => {}
  })
  if (userInfo().uid === 0) {
    const { chown } = await import("node:fs/promises")
    const { execSync } = await import("node:child_process")
    const ids = execSync("id -u postgres && id -g postgres").toString().trim().split("\n").map(Number)
    if (ids.length === 2 && ids.every(Number.isInteger)) await chown(dir, ids[0]!, ids[1]!).catch(() => undefined)
  }
  await server.initialise()
  await server.start()
  project.provide("pgAdminUrl", `postgres://postgres:postgres@127.0.0.1:${port}/postgres`)
  return async () => {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
