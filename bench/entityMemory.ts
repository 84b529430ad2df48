/**
 * Memory per resident sample: runs the all-in-one system in this process on a fresh database, creates BENCH_ENTITIES
 * samples (default 5,000; created here, they are resident at once) and sends each one command, and compares the heap
 * after a full GC with the heap before they existed.
 * Run: `npm run bench:memory` (node --expose-gc). Never part of `npm test`.
 */
import { Effect, Layer } from "effect"
import { LocalSamples } from "../actors/LocalSamples.ts"
import { Receive } from "../rpc/Commands.ts"
import { AllInOneLive } from "../runtime/Main.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { benchSettings, withScratchDatabase } from "./inProcess.ts"

const COUNT = Number(process.env.BENCH_ENTITIES ?? 5_000)

const gc = () => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run with node --expose-gc (npm run bench:memory)")
  for (let i = 0; i < 3; i++) collect()
  return process.memoryUsage()
}

const main = async () => {
  const program = Effect.gen(function*() {
    const api = yield* SampleApi
    const local = yield* LocalSamples
    // Measured from before the samples exist: samples created by this process are resident at once (LocalSamples.seed),
    // so a baseline taken after their creation would count none of them.
    const before = gc()
    const residentBefore = local.size()
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
    // One command each: the sample is resident (made so by its creation, or its actor loads the row), writes, and stays
    // (max idle 1 h here).
    yield* Effect.forEach(ids, (id) => api.execute(id as never, new Receive(), undefined, "bench"), { concurrency: 32, discard: true })
    const after = gc()
    const resident = local.size() - residentBefore
    const perEntity = (after.heapUsed - before.heapUsed) / resident
    console.log(`${resident} resident samples: heap +${((after.heapUsed - before.heapUsed) / 1048576).toFixed(1)} MiB, ` +
      `rss +${((after.rss - before.rss) / 1048576).toFixed(1)} MiB → ${(perEntity / 1024).toFixed(1)} KiB of heap per resident sample`)
  })
  await withScratchDatabase("poretrack_bench_mem", (databaseUrl) =>
    Effect.runPromise(program.pipe(Effect.provide(AllInOneLive.pipe(Layer.provideMerge(benchSettings(databaseUrl)))), Effect.scoped)))
  process.exit(0)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
