/** A handle with its tags in its key counts into the very series `Metric.tagged` names, and only into it. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric, MetricKey } from "effect"
import { taggedMetric } from "./taggedMetric.ts"

describe("taggedMetric", () => {
  it.effect("updates land in the series of the same tags given to Metric.tagged, in order; other tags stay apart", () =>
    Effect.gen(function*() {
      const key = MetricKey.counter("poretrack_test_tagged_total", { description: "test", incremental: true })
      const handle = taggedMetric(key, ["command", "CompleteStep"], ["priority", "urgent"])
      const nested = Metric.tagged(Metric.tagged(Metric.fromMetricKey(key), "command", "CompleteStep"), "priority", "urgent")
      const other = taggedMetric(key, ["command", "CompleteStep"], ["priority", "normal"])
      yield* Metric.update(handle, 2)
      yield* Metric.update(nested, 3)
      yield* Metric.update(other, 7)
      expect((yield* Metric.value(handle)).count).toBe(5)
      expect((yield* Metric.value(nested)).count).toBe(5)
      expect((yield* Metric.value(other)).count).toBe(7)
      const series = Metric.unsafeSnapshot().filter((pair) => pair.metricKey.name === "poretrack_test_tagged_total")
      expect(series.map((pair) => pair.metricKey.tags.map((t) => `${t.key}=${t.value}`).join(",")).sort()).toEqual([
        "command=CompleteStep,priority=normal",
        "command=CompleteStep,priority=urgent"
      ])
    }))
})
