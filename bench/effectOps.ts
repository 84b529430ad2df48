/**
 * `npm run bench:ops`: the Effect runtime's work per transition, counted rather than timed. Runs the all-in-one system
 * in this process on a fresh database (tracing off, as without OTEL_EXPORTER_OTLP_ENDPOINT), walks samples through
 * receive + the eight steps (test/Walk.ts's records) with `SampleApi.execute` (the local path, without HTTP) at
 * concurrency 1 and 64, and counts with a supervisor every Effect operation and every fiber the process runs
 * meanwhile, its background included (the notifier's e-mails, the event feed's wake-ups, the cluster's polls). The
 * counts repeat from run to run where timings on a shared 2-core machine move by ±10 %; CPU per transition is printed
 * beside them.
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_OPS_SAMPLES (samples
 * per measured walk, default 200). Never part of `npm test`.
 */
import { Effect, Layer, LogLevel, RuntimeFlags, RuntimeFlagsPatch, Supervisor } from "effect"
import type { Context, Fiber, Option } from "effect"
import { CompleteStep, Receive } from "../rpc/Commands.ts"
import type { SampleId } from "../rpc/Ids.ts"
import { AllInOneLive } from "../runtime/Main.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { STEP_RECORDS } from "../test/Walk.ts"
import { benchSettings, withScratchDatabase } from "./inProcess.ts"

const SAMPLES = Number(process.env.BENCH_OPS_SAMPLES ?? 200)
if (!Number.isInteger(SAMPLES) || SAMPLES < 10 || SAMPLES > 10_000) throw new Error("BENCH_OPS_SAMPLES must be an integer in 10..10000")

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
const STEPS = STEP_RECORDS
const TRANSITIONS = 1 + STEPS.length

const main = async () => {
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

  await withScratchDatabase("poretrack_bench_ops", (databaseUrl) =>
    Effect.runPromise(program.pipe(
      Effect.provide(AllInOneLive.pipe(Layer.provideMerge(benchSettings(databaseUrl, LogLevel.Warning)))),
      Effect.scoped,
      // Outermost, so that every fiber of the system (layers' background fibers included) runs under the counter.
      Effect.supervised(counter),
      Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
    )))
  process.exit(0)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
