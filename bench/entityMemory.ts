/**
 * Memory per resident sample: runs the all-in-one system in this process on a fresh database, makes BENCH_ENTITIES
 * samples (default 5,000) resident with one command each, and compares the heap after a full GC.
 * Run: `npm run bench:memory` (node --expose-gc). Never part of `npm test`.
 */
import { Duration, Effect, Layer, LogLevel, Option, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import pg from "pg"
import { LocalSamples } from "../actors/LocalSamples.ts"
import { defaultPolicy } from "../actors/WorkflowPolicy.ts"
import { Receive } from "../rpc/Commands.ts"
import { AppSettings } from "../runtime/AppSettings.ts"
import { DOOR_DEFAULTS, NOTIFY_DEFAULTS } from "../runtime/Config.ts"
import { AllInOneLive } from "../runtime/Main.ts"
import { SampleApi } from "../runtime/SampleApi.ts"

const ADMIN = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const COUNT = Number(process.env.BENCH_ENTITIES ?? 5_000)
const port = () => 20_000 + Math.floor(Math.random() * 12_000)

const gc = () => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run with node --expose-gc (npm run bench:memory)")
  for (let i = 0; i < 3; i++) collect()
  return process.memoryUsage()
}

const main = async () => {
  const name = `poretrack_bench_mem_${randomUUID().replace(/-/g, "").slice(0, 10)}`
  const admin = new pg.Client({ connectionString: ADMIN })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(ADMIN)
  url.pathname = `/${name}`
  const settings = AppSettings.make({
    role: "all",
    port: port(),
    httpHost: "127.0.0.1",
    databaseUrl: Option.some(Redacted.make(url.toString())),
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
    logLevel: LogLevel.Info,
    otlpEndpoint: Option.none(),
    policy: defaultPolicy,
    adminToken: Option.none(),
    sessionTtl: Duration.hours(12),
    door: DOOR_DEFAULTS,
    notify: NOTIFY_DEFAULTS
  })
  const program = Effect.gen(function*() {
    const api = yield* SampleApi
    const local = yield* LocalSamples
    const ids: Array<string> = []
    for (let i = 0; i < COUNT; i += 500) {
      const created = yield* api.createSubmission({
        submitterEmail: "mem@lab.example",
        source: "api",
        priority: "normal",
        flowCellType: "R10.4.1",
        samples: Array.from({ length: Math.min(500, COUNT - i) }, (_, j) => ({ sampleName: `M-${i + j}` }))
      }, "bench")
      ids.push(...created.samples.map((s) => s.id))
    }
    const before = gc()
    const residentBefore = local.size()
    // One command each: the sample becomes resident (its actor loads the row), writes, and stays (max idle 1 h here).
    yield* Effect.forEach(ids, (id) => api.execute(id as never, new Receive(), undefined, "bench"), { concurrency: 32, discard: true })
    const after = gc()
    const resident = local.size() - residentBefore
    const perEntity = (after.heapUsed - before.heapUsed) / resident
    console.log(`${resident} resident samples: heap +${((after.heapUsed - before.heapUsed) / 1048576).toFixed(1)} MiB, ` +
      `rss +${((after.rss - before.rss) / 1048576).toFixed(1)} MiB → ${(perEntity / 1024).toFixed(1)} KiB of heap per resident sample`)
  })
  try {
    await Effect.runPromise(program.pipe(Effect.provide(AllInOneLive.pipe(Layer.provideMerge(settings))), Effect.scoped))
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
  process.exit(0)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
