/**
 * Notification rules: which events reach whom (the submitter, the sample's assignees, all managers, fixed addresses,
 * webhook endpoints) on which channel. Rules are data that managers edit; `resolveRecipients` turns one event into
 * the deliveries it owes, each with the de-duplication key `(event id, rule id, recipient)` that makes a repeated
 * event (the log is read at least once) owe nothing new. Pure: no Effect services.
 *
 * Who can be reached is bounded by the sample: a submitter is only ever the sample's own submitter, and people with
 * the submitter role are never reached as assignees or managers, so no rule sends one lab another lab's samples.
 */
import { Schema } from "effect"
import type { Role, UserId } from "../../rpc/Auth.ts"
import type { EventId } from "../../rpc/Ids.ts"
import { Email, type EventType, type SampleEvent } from "../../rpc/Workflow.ts"
import { DEFAULT_TRIGGERS, NOTIFIABLE_EVENT_TYPES, SILENT_EVENT_TYPES, Trigger, triggerMatches } from "./Trigger.ts"

/** A rule's id: a short slug, part of every de-duplication key (so it never changes once a rule exists). */
export const RuleId = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: () => "a rule id is 1-64 of a-z, 0-9, '_' and '-'" }),
  Schema.brand("NotificationRuleId")
)
export type RuleId = typeof RuleId.Type

/** Who a rule reaches. People get the rule's channels; addresses get e-mail; endpoints get webhooks. */
export const RuleTarget = Schema.Union(
  /** The sample's submitter (its submitter e-mail; in-app too when that address has an account). */
  Schema.TaggedStruct("Submitter", {}),
  /** The staff assigned to the sample. */
  Schema.TaggedStruct("Assignees", {}),
  /** Every enabled account with the manager role. */
  Schema.TaggedStruct("Managers", {}),
  /** Whoever the event itself names: `data.requestedBy` and `data.recipients` (an export's requester and list). */
  Schema.TaggedStruct("EventRecipients", {}),
  /** A fixed e-mail address (a shared lab mailbox, a billing office). */
  Schema.TaggedStruct("Address", { email: Email }),
  /** One webhook endpoint, whatever it subscribed to. */
  Schema.TaggedStruct("Webhook", { endpointId: Schema.String }),
  /** Every enabled webhook endpoint subscribed to the event's type. */
  Schema.TaggedStruct("SubscribedWebhooks", {})
)
export type RuleTarget = typeof RuleTarget.Type

/** The channels a rule uses for people. */
export const PersonChannel = Schema.Literal("email", "in_app")
export type PersonChannel = typeof PersonChannel.Type

/** A notification rule: on any of these triggers, reach these targets on these channels. */
export const NotificationRule = Schema.Struct({
  id: RuleId,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  on: Schema.Array(Trigger).pipe(Schema.minItems(1)),
  to: Schema.Array(RuleTarget).pipe(Schema.minItems(1)),
  channels: Schema.Array(PersonChannel),
  enabled: Schema.Boolean
})
export type NotificationRule = typeof NotificationRule.Type

const rule = (
  id: string,
  name: string,
  on: ReadonlyArray<Trigger>,
  to: ReadonlyArray<RuleTarget>,
  channels: ReadonlyArray<PersonChannel>
): NotificationRule => ({ id: RuleId.make(id), name, on, to, channels, enabled: true })

const SUBMITTER = { _tag: "Submitter" } as const
const ASSIGNEES = { _tag: "Assignees" } as const
const MANAGERS = { _tag: "Managers" } as const
const BOTH: ReadonlyArray<PersonChannel> = ["email", "in_app"]

/**
 * The rules shipped with poretrack. Submitters hear about their sample's milestones and problems; staff hear about
 * SLA risk and breaches; integrators get every event type their endpoint subscribed to.
 */
export const DEFAULT_RULES: ReadonlyArray<NotificationRule> = [
  rule("received", "Sample received", [DEFAULT_TRIGGERS.received], [SUBMITTER], BOTH),
  rule("qc-failed", "QC failed", [DEFAULT_TRIGGERS.qc_failed], [SUBMITTER, ASSIGNEES, MANAGERS], BOTH),
  rule("on-hold", "Sample on hold", [DEFAULT_TRIGGERS.on_hold], [SUBMITTER, ASSIGNEES], BOTH),
  rule("sla-at-risk", "SLA at risk", [DEFAULT_TRIGGERS.sla_at_risk], [ASSIGNEES, MANAGERS], BOTH),
  rule("sla-breached", "SLA breached", [DEFAULT_TRIGGERS.sla_breached], [ASSIGNEES, MANAGERS], BOTH),
  rule("completed", "Sample completed", [DEFAULT_TRIGGERS.completed], [ASSIGNEES, MANAGERS], ["in_app"]),
  rule("data-delivered", "Data delivered", [DEFAULT_TRIGGERS.data_delivered], [SUBMITTER], BOTH),
  rule("export-ready", "Export ready", [DEFAULT_TRIGGERS.export_ready], [{ _tag: "EventRecipients" }], BOTH),
  // A failed export names only its requester (not a schedule's recipients): who can fix it and start it again.
  rule("export-failed", "Export failed", [DEFAULT_TRIGGERS.export_failed], [{ _tag: "EventRecipients" }], BOTH),
  rule(
    "webhooks",
    "Webhook subscriptions",
    NOTIFIABLE_EVENT_TYPES.map((eventType) => ({ eventType })),
    [{ _tag: "SubscribedWebhooks" }],
    []
  )
]

/** An account as rules see it. */
export interface NotifyUser {
  readonly id: UserId
  readonly email: string
  readonly role: Role
  readonly disabled: boolean
}

/** A webhook endpoint as rules see it. */
export interface WebhookEndpointRef {
  readonly id: string
  readonly url: string
  readonly events: ReadonlyArray<EventType>
  readonly enabled: boolean
}

/** What rules know of a sample: its submitter's address and its assignees. */
export interface RuleSample {
  readonly submitterEmail: string
  readonly assignees: ReadonlyArray<UserId>
}

/** The people and endpoints a recipient may be one of. */
export interface Directory {
  readonly users: ReadonlyArray<NotifyUser>
  readonly endpoints: ReadonlyArray<WebhookEndpointRef>
}

/** One recipient on one channel. Addresses are kept lower-cased, so one mailbox is one recipient. */
export type Recipient =
  | { readonly _tag: "Email"; readonly address: string; readonly userId?: UserId }
  | { readonly _tag: "InApp"; readonly userId: UserId }
  | { readonly _tag: "Webhook"; readonly endpointId: string; readonly url: string }

/** The recipient part of a de-duplication key: `email:<address>`, `user:<id>` or `webhook:<id>`. */
export const recipientKey = (r: Recipient): string =>
  r._tag === "Email" ? `email:${r.address}` : r._tag === "InApp" ? `user:${r.userId}` : `webhook:${r.endpointId}`

/** `(event id, rule id, recipient)`: at most one delivery is ever made per key. */
export const DedupKey = Schema.String.pipe(Schema.brand("NotificationDedupKey"))
export type DedupKey = typeof DedupKey.Type

/** The de-duplication key of a delivery. */
export const dedupKey = (eventId: EventId | string, ruleId: RuleId, recipient: Recipient): DedupKey =>
  DedupKey.make(`${eventId}/${ruleId}/${recipientKey(recipient)}`)

/** One delivery an event owes: to whom, by which rule, under which key. */
export interface Delivery {
  readonly ruleId: RuleId
  readonly recipient: Recipient
  readonly key: DedupKey
}

const normalise = (address: string): string => address.trim().toLowerCase()
const isAddress = (s: string): boolean => Schema.is(Email)(s.trim())

const addresses = (u: unknown): ReadonlyArray<string> =>
  typeof u === "string" ? [u] : Array.isArray(u) ? u.filter((x): x is string => typeof x === "string") : []

const eventRecipientAddresses = (event: Pick<SampleEvent, "data">): ReadonlyArray<string> => {
  const data = event.data
  if (typeof data !== "object" || data === null || Array.isArray(data)) return []
  const named = [
    ...("requestedBy" in data ? addresses(data.requestedBy) : []),
    ...("recipients" in data ? addresses(data.recipients) : [])
  ]
  return named.filter(isAddress)
}

/**
 * Whether any enabled rule that `event` triggers reaches the sample's own people (its submitter or assignees): only
 * then does the notifier need to look the sample up.
 */
export const needsSample = (rules: ReadonlyArray<NotificationRule>, event: Pick<SampleEvent, "type" | "data">): boolean =>
  !SILENT_EVENT_TYPES.includes(event.type) &&
  rules.some((r) => r.enabled && r.on.some((t) => triggerMatches(t, event)) && r.to.some((t) => t._tag === "Submitter" || t._tag === "Assignees"))

/**
 * The deliveries `event` owes under `rules`, in rule order. A recipient reached by several rules (a manager who is
 * also an assignee) is reached once, under the first rule that reaches them on that channel. Disabled rules,
 * disabled accounts and disabled endpoints reach nobody; the notification events themselves reach nobody.
 * `sample` is absent for an event about no single sample (an export): sample-bound targets then reach nobody.
 */
export const resolveRecipients = (
  rules: ReadonlyArray<NotificationRule>,
  event: Pick<SampleEvent, "id" | "type" | "data">,
  sample: RuleSample | undefined,
  directory: Directory
): ReadonlyArray<Delivery> => {
  if (SILENT_EVENT_TYPES.includes(event.type)) return []
  const active = directory.users.filter((u) => !u.disabled)
  const byId = new Map(active.map((u) => [u.id, u]))
  const out: Array<Delivery> = []
  const seen = new Set<string>()
  for (const r of rules) {
    if (!r.enabled || !r.on.some((t) => triggerMatches(t, event))) continue
    const add = (recipient: Recipient) => {
      const key = recipientKey(recipient)
      if (seen.has(key)) return
      seen.add(key)
      out.push({ ruleId: r.id, recipient, key: dedupKey(event.id, r.id, recipient) })
    }
    /** A person by address: e-mail on the rule's e-mail channel, in-app when the address has an enabled account. */
    const person = (address: string, user: NotifyUser | undefined) => {
      const normalised = normalise(address)
      if (r.channels.includes("email")) {
        add(user === undefined ? { _tag: "Email", address: normalised } : { _tag: "Email", address: normalised, userId: user.id })
      }
      if (r.channels.includes("in_app") && user !== undefined) add({ _tag: "InApp", userId: user.id })
    }
    const staff = (u: NotifyUser) => u.role !== "submitter"
    for (const target of r.to) {
      switch (target._tag) {
        case "Submitter": {
          if (sample === undefined || !isAddress(sample.submitterEmail)) break
          const address = normalise(sample.submitterEmail)
          const account = directory.users.find((u) => normalise(u.email) === address)
          // A disabled account means the person left: their mailbox is not written to either.
          if (account?.disabled === true) break
          person(address, account)
          break
        }
        case "Assignees":
          for (const id of sample?.assignees ?? []) {
            const u = byId.get(id)
            if (u !== undefined && staff(u)) person(u.email, u)
          }
          break
        case "Managers":
          for (const u of active) if (u.role === "manager") person(u.email, u)
          break
        case "EventRecipients":
          for (const a of eventRecipientAddresses(event)) {
            const account = directory.users.find((u) => normalise(u.email) === normalise(a))
            if (account?.disabled !== true) person(a, account)
          }
          break
        case "Address":
          if (r.channels.includes("email") && isAddress(target.email)) add({ _tag: "Email", address: normalise(target.email) })
          break
        case "Webhook":
          for (const e of directory.endpoints) {
            if (e.id === target.endpointId && e.enabled) add({ _tag: "Webhook", endpointId: e.id, url: e.url })
          }
          break
        case "SubscribedWebhooks":
          for (const e of directory.endpoints) {
            if (e.enabled && e.events.includes(event.type)) add({ _tag: "Webhook", endpointId: e.id, url: e.url })
          }
          break
      }
    }
  }
  return out
}
