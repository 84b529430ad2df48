/**
 * `npm run bench:ops`: the Effect runtime's work per transition, counted rather than timed. Runs the all-in-one system
 * in this process on a fresh database (tracing off, as without OTEL_EXPORTER_OTLP_ENDPOINT), walks samples through
 * receive + the eight steps with `SampleApi.execute` (the local path, without HTTP) at concurrency 1 and 64, and counts
 * with a supervisor every Effect operation and every fiber the process runs meanwhile, its background included (the
 * notifier's e-mails, the event feed's wake-ups, the cluster's polls). The counts repeat from run to run where timings
 * on a shared 2-core machine move by ±10 %; CPU per transition is printed beside them.
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_OPS_SAMPLES (samples
 * per measured walk, default 200). Never part of `npm test`.
 */
import { Duration, Effect, Layer, LogLevel, Option, Redacted, RuntimeFlags, RuntimeFlagsPatch, Supervisor } from "effect"
import type { Context, Fiber } from "effect"
import { randomUUID } from "node:crypto"
import pg from "pg"
import { defaultPolicy } from "../actors/WorkflowPolicy.ts"
import { CompleteStep, Receive } from "../rpc/Commands.ts"
import type { SampleId } from "../rpc/Ids.ts"
import type { StepData } from "../rpc/Workflow.ts"
import { AppSettings } from "../runtime/AppSettings.ts"
import { DOOR_DEFAULTS, NOTIFY_DEFAULTS } from "../runtime/Config.ts"
import { AllInOneLive } from "../runtime/Main.ts"
import { SampleApi } from "../runtime/SampleApi.ts"

const ADMIN = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const SAMPLES = Number(process.env.BENCH_OPS_SAMPLES ?? 200)
if (!Number.isInteger(SAMPLES) || SAMPLES < 10 || SAMPLES > 10_000) throw new Error("BENCH_OPS_SAMPLES must be an integer in 10..10000")
const port = () => 20_000 + Math.floor(Math.random() * 12_000)

/** Counts the operations and fibers of every fiber that runs under it. */
class Counter extends Supervisor.AbstractSupervisor<void> {
  ops = 0
  fibers = 0
  get value() {
    return Effect.void
  }
  override onStart<A, E, R>(_context: Context.Context<R>, _effect: Effect.Effect<A, E, R>, _parent: Option.Option<Fiber.RuntimeFiber<unknown, unknown>>, _fiber: Fiber.RuntimeFiber<A, E>) {
    this.fibers++
  }
  override onEffect<A, E>(_fiber: Fiber.RuntimeFiber<A, E>, _effect: Effect.Effect<unknown, unknown, unknown>) {
    this.ops++
  }
}

const KIT = "SQK-LSK114"
/** The same step data as bench/transitions.ts: every gate passes. */
const STEPS: ReadonlyArray<StepData> = [
  { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30, nanodropNgUl: 72, a260_280: 1.86, a260_230: 2.05, din: 8.4 } },
  { step: "library_prep", data: { kit: KIT, inputNg: 1000, operator: "bench" } },
  { step: "library_qc", data: { libraryNgUl: 12.5, fmol: 50, meanFragmentLengthBp: 8500 } },
  { step: "sequencing_setup", data: { flowCellId: "FAX12345", flowCellProductCode: "FLO-MIN114", poreCount: 1500, device: "MinION Mk1D", position: "MN40123" } },
  { step: "sequencing_run", data: { runId: "20250101_1200_MN40123_FAX12345_abcdef12", yieldGb: 12.5, reads: 1_250_000, n50: 15_000 } },
  { step: "basecalling", data: { model: "hac", softwareVersion: "dorado 0.9.1", passReadPercent: 92.5 } },
  { step: "quality_assessment", data: { meanQ: 18.2, coverage: 31.5, passed: true } },
  { step: "data_delivery", data: { method: "s3", location: "s3://facility-delivery/bench/run-0001/", retentionDays: 30 } }
]
const TRANSITIONS = 1 + STEPS.length

const main = async () => {
  const name = `poretrack_bench_ops_${randomUUID().replace(/-/g, "").slice(0, 10)}`
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
    logLevel: LogLevel.Warning,
    otlpEndpoint: Option.none(),
    policy: defaultPolicy,
    adminToken: Option.none(),
    sessionTtl: Duration.hours(12),
    door: DOOR_DEFAULTS,
    notify: NOTIFY_DEFAULTS
  })
  const counter = new Counter()

  const program = Effect.gen(function*() {
    const api = yield* SampleApi
    const create = (n: number, prefix: string) =>
      api.createSubmission({
        submitterEmail: "ops@lab.example",
        source: "api",
        priority: "normal",
        flowCellType: "R10.4.1",
        samples: Array.from({ length: n }, (_, i) => ({ sampleName: `${prefix}-${i + 1}`, libraryKit: KIT }))
      }, "bench").pipe(Effect.map((created) => created.samples.map((s) => s.id)))
    const walk = (id: SampleId, tag: string) =>
      Effect.gen(function*() {
        yield* api.execute(id, new Receive(), `${tag}-receive`, "bench")
        for (const record of STEPS) yield* api.execute(id, new CompleteStep({ record }), `${tag}-${record.step}`, "bench")
      })
    const measure = (ids: ReadonlyArray<SampleId>, concurrency: number) =>
      Effect.gen(function*() {
        const ops = counter.ops
        const fibers = counter.fibers
        const cpu = process.cpuUsage()
        const t0 = performance.now()
        yield* Effect.forEach(ids, (id) => walk(id, "m"), { concurrency, discard: true })
        const seconds = (performance.now() - t0) / 1000
        const used = process.cpuUsage(cpu)
        const n = ids.length * TRANSITIONS
        console.log(
          `c=${String(concurrency).padStart(2)}: ${n} transitions in ${seconds.toFixed(1)} s: ` +
            `${((counter.ops - ops) / n).toFixed(0)} Effect operations and ${((counter.fibers - fibers) / n).toFixed(2)} fibers per transition, ` +
            `${((used.user + used.system) / 1000 / n).toFixed(2)} ms of this process's CPU per transition`
        )
      })
    // Warm-up: the code paths compiled, the pools filled.
    yield* Effect.forEach(yield* create(40, "W"), (id) => walk(id, "w"), { concurrency: 8, discard: true })
    for (const concurrency of [1, 64]) yield* measure(yield* create(SAMPLES, `C${concurrency}`), concurrency)
  })

  try {
    await Effect.runPromise(program.pipe(
      Effect.provide(AllInOneLive.pipe(Layer.provideMerge(settings))),
      Effect.scoped,
      // Outermost, so that every fiber of the system (layers' background fibers included) runs under the counter.
      Effect.supervised(counter),
      Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
    ))
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
