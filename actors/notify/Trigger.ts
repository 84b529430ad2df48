/**
 * What a notification rule or template reacts to: an event type of the sample log, optionally narrowed to one step
 * (so "data delivered" is `WorkflowStepCompleted` of `data_delivery`). Pure data and pure functions.
 */
import { Schema } from "effect"
import { derivedEventId } from "../../persistence/DerivedId.ts"
import { EventType, STEP_IDS, StepId, type SampleEvent } from "../../rpc/Workflow.ts"

/** An event type, and for step events optionally the one step it is about. */
export const Trigger = Schema.Struct({
  eventType: EventType,
  step: Schema.optional(StepId)
})
export type Trigger = typeof Trigger.Type

/** Event types that never cause a notification: the notification's own events (a rule on them would loop). */
export const SILENT_EVENT_TYPES: ReadonlyArray<EventType> = [
  "NotificationTriggered",
  "NotificationDelivered",
  "NotificationFailed"
]

/** Every event type a rule or a webhook subscription may name. */
export const NOTIFIABLE_EVENT_TYPES: ReadonlyArray<EventType> = EventType.literals.filter(
  (t) => !SILENT_EVENT_TYPES.includes(t)
)

/** The step an event is about (`data.step`), when it names one of the eight. */
export const stepOf = (event: Pick<SampleEvent, "data">): StepId | undefined => {
  const data = event.data
  if (typeof data !== "object" || data === null || !("step" in data)) return undefined
  const step = data.step
  return STEP_IDS.find((s) => s === step)
}

/** True when `trigger` fires for `event`; the notification events themselves never fire anything. */
export const triggerMatches = (trigger: Trigger, event: Pick<SampleEvent, "type" | "data">): boolean =>
  !SILENT_EVENT_TYPES.includes(event.type) &&
  trigger.eventType === event.type &&
  (trigger.step === undefined || trigger.step === stepOf(event))

/** A stable, readable key of a trigger: `QcFailed` or `WorkflowStepCompleted:data_delivery`. */
export const triggerKey = (trigger: Trigger): string =>
  trigger.step === undefined ? trigger.eventType : `${trigger.eventType}:${trigger.step}`

/** The triggers of the notifications shipped by default, by their short name. */
export const DEFAULT_TRIGGERS = {
  received: { eventType: "SampleReceived" },
  qc_failed: { eventType: "QcFailed" },
  on_hold: { eventType: "SampleOnHold" },
  sla_at_risk: { eventType: "SlaAtRisk" },
  sla_breached: { eventType: "SlaBreached" },
  completed: { eventType: "SampleCompleted" },
  data_delivered: { eventType: "WorkflowStepCompleted", step: "data_delivery" },
  export_ready: { eventType: "ExportCompleted" },
  export_failed: { eventType: "ExportFailed" }
} as const satisfies Record<string, Trigger>
export type DefaultTriggerName = keyof typeof DEFAULT_TRIGGERS

/** The notifications an event caused, as the log records them: counts, never addresses (the log is read widely). */
export interface NotificationTriggeredData {
  /** The event that caused them, and its type. */
  readonly causeId: string
  readonly causeType: EventType
  /** The rules that matched, in the order the rules list them. */
  readonly rules: ReadonlyArray<string>
  /** How many deliveries were queued, in all and per channel. */
  readonly deliveries: number
  readonly channels: { readonly email: number; readonly in_app: number; readonly webhook: number }
}

/** The id of the NotificationTriggered event of `causeId`: derived from it (a UUID v5), so it is appended once. */
export const notificationTriggeredId = (causeId: string): string => derivedEventId("NotificationTriggered", causeId)

/** What the log records when `cause` queued `deliveries` (each with its rule and channel). */
export const notificationTriggeredData = (
  cause: Pick<SampleEvent, "id" | "type">,
  deliveries: ReadonlyArray<{ readonly ruleId: string; readonly channel: "email" | "in_app" | "webhook" }>
): NotificationTriggeredData => {
  const channels = { email: 0, in_app: 0, webhook: 0 }
  const rules: Array<string> = []
  for (const d of deliveries) {
    channels[d.channel]++
    if (!rules.includes(d.ruleId)) rules.push(d.ruleId)
  }
  return { causeId: cause.id, causeType: cause.type, rules, deliveries: deliveries.length, channels }
}
