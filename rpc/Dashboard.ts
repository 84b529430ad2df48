/** The facility dashboard's figures: what `Dashboard.Get` answers, every number computed by PostgreSQL. */
import { Schema } from "effect"
import { SampleId } from "./Ids.ts"
import { Priority, StepId } from "./Workflow.ts"

/** True when `name` is a time zone the platform's Intl knows (it throws a RangeError otherwise). */
const knownTimeZone = (name: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name })
    return true
  } catch {
    return false
  }
}

/**
 * An IANA time-zone name ("Europe/Berlin", "UTC"), checked with Intl. Offsets such as "+01:00" are refused on purpose:
 * PostgreSQL reads a bare offset as a POSIX zone, with the sign inverted.
 */
export const TimeZoneName = Schema.String.pipe(
  Schema.maxLength(64),
  Schema.pattern(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/, { message: () => "must be an IANA time-zone name such as Europe/Berlin" }),
  Schema.filter(knownTimeZone, { message: () => "unknown time zone" })
)

/** What the dashboard asks for: how many ISO weeks of history (1..26, default 8), in which time zone (default UTC). */
export const DashboardQuery = Schema.Struct({
  weeks: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 26)), { default: () => 8 }),
  timeZone: Schema.optionalWith(TimeZoneName, { default: () => "UTC" })
})
export type DashboardQuery = typeof DashboardQuery.Type

/** One step's load now: samples whose current step it is, by state; total = queued + running + onHold + failed. */
export const StepLoad = Schema.Struct({
  step: StepId,
  queued: Schema.Number,
  running: Schema.Number,
  onHold: Schema.Number,
  failed: Schema.Number,
  total: Schema.Number
})
export type StepLoad = typeof StepLoad.Type

/** How many samples are in each status now (every status present, zero when none). */
export const StatusCounts = Schema.Struct({
  submitted: Schema.Number,
  in_progress: Schema.Number,
  on_hold: Schema.Number,
  failed: Schema.Number,
  completed: Schema.Number,
  cancelled: Schema.Number,
  archived: Schema.Number
})
export type StatusCounts = typeof StatusCounts.Type

/** A sample whose SLA is at risk or breached now, with the clock that decides it (the breached one first, then the earliest due). */
export const SlaAlert = Schema.Struct({
  sampleId: SampleId,
  sampleName: Schema.String,
  priority: Priority,
  currentStep: Schema.NullOr(StepId),
  clock: Schema.Literal("step", "turnaround"),
  dueAt: Schema.String,
  status: Schema.Literal("at_risk", "breached")
})
export type SlaAlert = typeof SlaAlert.Type

/** The SLA watch list: breached first, then by due time, at most 50; the totals count every such sample. */
export const SlaSummary = Schema.Struct({
  items: Schema.Array(SlaAlert),
  breached: Schema.Number,
  atRisk: Schema.Number
})
export type SlaSummary = typeof SlaSummary.Type

/** Samples received and completed since local midnight (`since`, an instant) in the asked time zone. */
export const Today = Schema.Struct({
  since: Schema.String,
  received: Schema.Number,
  completed: Schema.Number
})
export type Today = typeof Today.Type

/** Turnaround (received → completed, wall-clock hours) of the samples of one priority completed in one ISO week. */
export const WeeklyTurnaround = Schema.Struct({
  week: Schema.String.annotations({ description: "ISO week, e.g. 2025-W03, in the asked time zone" }),
  weekStart: Schema.String.annotations({ description: "the week's Monday, YYYY-MM-DD, in the asked time zone" }),
  priority: Priority,
  count: Schema.Number,
  medianHours: Schema.NullOr(Schema.Number),
  p90Hours: Schema.NullOr(Schema.Number)
})
export type WeeklyTurnaround = typeof WeeklyTurnaround.Type

/** How long one step took over the window (started → completed, or queued → completed when never started). */
export const StepDuration = Schema.Struct({
  step: StepId,
  count: Schema.Number,
  medianHours: Schema.NullOr(Schema.Number),
  p90Hours: Schema.NullOr(Schema.Number)
})
export type StepDuration = typeof StepDuration.Type

/** Samples received and completed on one local day. */
export const DailyThroughput = Schema.Struct({
  day: Schema.String.annotations({ description: "YYYY-MM-DD in the asked time zone" }),
  received: Schema.Number,
  completed: Schema.Number
})
export type DailyThroughput = typeof DailyThroughput.Type

/**
 * The dashboard at `generatedAt`. The window of the historical figures starts on the Monday `weeks - 1` ISO weeks
 * before this one (local midnight, `windowStart`) and ends now; `throughput` has one row per local day of it.
 */
export const Dashboard = Schema.Struct({
  generatedAt: Schema.String,
  timeZone: Schema.String,
  weeks: Schema.Number,
  windowStart: Schema.String,
  byStep: Schema.Array(StepLoad),
  byStatus: StatusCounts,
  sla: SlaSummary,
  today: Today,
  turnaround: Schema.Array(WeeklyTurnaround),
  stepDurations: Schema.Array(StepDuration),
  throughput: Schema.Array(DailyThroughput)
})
export type Dashboard = typeof Dashboard.Type
