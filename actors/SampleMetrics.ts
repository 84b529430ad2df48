/** Metrics of the Sample actors: transitions, step durations, SLA events and fencing failures. */
import { Effect, Metric, MetricBoundaries, MetricKey } from "effect"
import type { SampleCommand } from "../rpc/Commands.ts"
import type { SampleState } from "../rpc/Workflow.ts"
import { memo } from "./memo.ts"
import { taggedMetric } from "./taggedMetric.ts"
import type { Emitted } from "./SampleWorkflow.ts"

const transitions = MetricKey.counter("poretrack_transitions_total", {
  description: "Accepted sample commands",
  incremental: true
})
const stepDuration = MetricKey.histogram(
  "poretrack_step_duration_seconds",
  MetricBoundaries.exponential({ start: 1, factor: 4, count: 12 }),
  "Time from a step being queued to its completion"
)
const slaEvents = MetricKey.counter("poretrack_sla_events_total", { description: "SLA at-risk and breach events", incremental: true })

// Made once per tag set (actors/memo.ts), with the tags in the key (actors/taggedMetric.ts).
const transitionsBy = memo((command) => memo((priority) => taggedMetric(transitions, ["command", command], ["priority", priority])))
const stepDurationBy = memo((step) => memo((priority) => taggedMetric(stepDuration, ["step", step], ["priority", priority])))
const slaEventsBy = memo((type) => taggedMetric(slaEvents, ["type", type]))

/** Metric handles and recorders used by the Sample entity. */
export const SampleMetrics = {
  fencingFailures: Metric.counter("poretrack_fencing_failures_total", {
    description: "Writes refused by the version fence (a stale owner tried to write)",
    incremental: true
  }),
  recordTransition: (command: SampleCommand, before: SampleState, after: SampleState, _events: ReadonlyArray<Emitted>, now: number) =>
    Effect.gen(function*() {
      yield* Metric.update(transitionsBy(command._tag)(after.priority), 1)
      if (command._tag === "CompleteStep") {
        const queuedAt = before.steps[before.current]?.queuedAt
        if (queuedAt !== undefined) {
          yield* Metric.update(stepDurationBy(command.record.step)(after.priority), (now - queuedAt) / 1000)
        }
      }
    }),
  recordSla: (events: ReadonlyArray<Emitted>) =>
    Effect.forEach(events, (e) => Metric.update(slaEventsBy(e.type), 1), { discard: true })
}
