/**
 * What the in-process benchmarks share (`bench:memory`, `bench:ops`): a scratch database on the local PostgreSQL
 * server, dropped afterwards, and the all-in-one system's settings for it (no HTTP clients, no tracing, no bootstrap
 * token, samples resident for an hour).
 */
import { Duration, LogLevel, Option, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import pg from "pg"
import { defaultPolicy } from "../actors/WorkflowPolicy.ts"
import { AppSettings } from "../runtime/AppSettings.ts"
import { DOOR_DEFAULTS, NOTIFY_DEFAULTS } from "../runtime/Config.ts"

const ADMIN = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const port = () => 20_000 + Math.floor(Math.random() * 12_000)

/** The all-in-one system's settings for the database at `databaseUrl`. */
export const benchSettings = (databaseUrl: string, logLevel: LogLevel.LogLevel = LogLevel.Info) =>
  AppSettings.make({
    role: "all",
    port: port(),
    httpHost: "127.0.0.1",
    databaseUrl: Option.some(Redacted.make(databaseUrl)),
    dataDir: "./data",
    embeddedPgPort: 0,
    pgPoolMax: 20,
    runnerHost: "127.0.0.1",
    runnerPort: port(),
    runnerListenHost: Option.none(),
    entityMessagePollInterval: Duration.seconds(1),
    shardLockRefreshInterval: Duration.seconds(2),
    shardLockExpiration: Duration.seconds(6),
    refreshAssignmentsInterval: Duration.millis(500),
    entityMaxIdle: Duration.hours(1),
    clusterMessageRetention: Duration.days(7),
    idempotencyRetention: Duration.days(30),
    maxResidentEntities: 1_000_000,
    logFormat: "pretty",
    logLevel,
    otlpEndpoint: Option.none(),
    policy: defaultPolicy,
    adminToken: Option.none(),
    sessionTtl: Duration.hours(12),
    door: DOOR_DEFAULTS,
    notify: NOTIFY_DEFAULTS
  })

/** Runs `f` with the URL of a new database named `<prefix>_<random>` (BENCH_DATABASE_URL's server), dropped after. */
export const withScratchDatabase = async <A>(prefix: string, f: (databaseUrl: string) => Promise<A>): Promise<A> => {
  const name = `${prefix}_${randomUUID().replace(/-/g, "").slice(0, 10)}`
  const admin = new pg.Client({ connectionString: ADMIN })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
    const url = new URL(ADMIN)
    url.pathname = `/${name}`
    return await f(url.toString())
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
}
