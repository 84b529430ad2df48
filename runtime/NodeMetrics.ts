/**
 * What the process's own runtime costs its requests: garbage-collection pauses and event-loop lag, as histograms in
 * /metrics. Every request in flight waits through a pause or a long task, so these are where a tail latency that the
 * handlers' own time does not explain comes from (in `npm run bench` at c=64: a scavenge of ~13 ms every ~180 ms, and
 * mark-compacts of up to 40–80 ms, each felt by all 64 requests in flight).
 *
 * - `poretrack_gc_pause_seconds{kind}`: each collection's pause (`minor` scavenges of the young generation, `major`
 *   mark-compacts, `incremental` marking steps, `weakcb` weak callbacks), from node's `gc` performance entries.
 * - `poretrack_event_loop_lag_seconds`: how late a 20 ms timer fires, measured at every tick (a pause, a long
 *   synchronous task, or a saturated loop).
 */
import { Effect, Layer, Metric, MetricBoundaries } from "effect"
import { constants, PerformanceObserver } from "node:perf_hooks"

export const pauses = Metric.histogram(
  "poretrack_gc_pause_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 11 }),
  "Garbage-collection pauses of this process, by kind (minor: young generation; major: mark-compact)"
)

export const lag = Metric.histogram(
  "poretrack_event_loop_lag_seconds",
  MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 10 }),
  "How late a 20 ms timer fired on this process's event loop (garbage collection, long tasks, saturation)"
)

/** The kind label of a `gc` performance entry's `detail.kind`. */
export const gcKind = (kind: number | undefined): string => {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return "minor"
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return "major"
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return "incremental"
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return "weakcb"
    default:
      return "other"
  }
}

/** The lag timer's period. */
const TICK_MS = 20

/** Records the pauses and the lag for the scope's life. */
export const NodeMetricsLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const byKind = new Map<string, Metric.Metric.Histogram<number>>()
    const pauseOf = (kind: string) => {
      let h = byKind.get(kind)
      if (h === undefined) {
        h = Metric.tagged(pauses, "kind", kind)
        byKind.set(kind, h)
      }
      return h
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const observer = new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) {
            // Node's gc entries carry their kind in `detail` (the type of a generic entry does not say so).
            const detail = (entry as PerformanceEntry & { readonly detail?: { readonly kind?: number } | null }).detail
            pauseOf(gcKind(detail?.kind)).unsafeUpdate(entry.duration / 1000, [])
          }
        })
        observer.observe({ entryTypes: ["gc"] })
        let expected = performance.now() + TICK_MS
        const timer = setInterval(() => {
          const now = performance.now()
          lag.unsafeUpdate(Math.max(0, now - expected) / 1000, [])
          expected = now + TICK_MS
        }, TICK_MS)
        timer.unref()
        return { observer, timer }
      }),
      ({ observer, timer }) =>
        Effect.sync(() => {
          observer.disconnect()
          clearInterval(timer)
        })
    )
  })
)
