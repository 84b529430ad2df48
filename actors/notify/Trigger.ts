/**
 * What a notification rule or template reacts to: an event type of the sample log, optionally narrowed to one step
 * (so "data delivered" is `WorkflowStepCompleted` of `data_delivery`). Pure data and pure functions.
 */
import { Schema } from "effect"
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
