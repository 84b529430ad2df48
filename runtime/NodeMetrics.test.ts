/** The runtime's own costs in /metrics: a blocked event loop shows as lag, collections as pauses by kind. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { constants } from "node:perf_hooks"
import { gcKind, lag, NodeMetricsLive, pauses } from "./NodeMetrics.ts"

/** One turn of node's event loop (timers and performance observers get their turn), without waiting on a clock. */
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Turns the loop until `done` holds (at most `turns` times). */
const until = (done: Effect.Effect<boolean>, turns: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < turns; i++) {
      if (yield* done) return true
      yield* turn
    }
    return yield* done
  })

/** How many observations of the histogram were at least `seconds` (from its cumulative buckets). */
const atLeast = (h: Metric.Metric.Histogram<number>, seconds: number) =>
  Effect.map(Metric.value(h), (state) => {
    const below = state.buckets.filter(([le]) => le < seconds).reduce((n, [, count]) => Math.max(n, count), 0)
    return state.count - below
  })

describe("NodeMetrics", () => {
  it("names each kind of collection", () => {
    expect([
      constants.NODE_PERFORMANCE_GC_MINOR,
      constants.NODE_PERFORMANCE_GC_MAJOR,
      constants.NODE_PERFORMANCE_GC_INCREMENTAL,
      constants.NODE_PERFORMANCE_GC_WEAKCB,
      undefined
    ].map(gcKind)).toEqual(["minor", "major", "incremental", "weakcb", "other"])
  })

  it.live("a loop blocked for 150 ms is recorded as lag of at least 128 ms; young-generation collections as minor pauses", () =>
    Effect.scoped(Effect.gen(function*() {
      yield* Layer.build(NodeMetricsLive)
      const lagBefore = yield* atLeast(lag, 0.128)
      const minor = Metric.tagged(pauses, "kind", "minor")
      const minorBefore = (yield* Metric.value(minor)).count
      // Work that keeps the loop for 150 ms (a long synchronous task), and garbage enough for scavenges.
      const started = performance.now()
      let kept = 0
      while (performance.now() - started < 150) {
        const garbage = Array.from({ length: 10_000 }, (_, i) => ({ i, s: `x${i}` }))
        kept += garbage.length
      }
      expect(kept).toBeGreaterThan(0)
      expect(yield* until(Effect.map(atLeast(lag, 0.128), (n) => n > lagBefore), 10_000)).toBe(true)
      expect(yield* until(Effect.map(Metric.value(minor), (s) => s.count > minorBefore), 10_000)).toBe(true)
    })))
})
