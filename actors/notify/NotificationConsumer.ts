/**
 * The notifier's consumer of the sample event log: a cluster Singleton (one fiber in the whole cluster), reading
 * from its durable cursor at least once. For each event it resolves recipients with the rules in force, inserts one
 * delivery row per (event, rule, recipient) (the UNIQUE key makes a re-read event owe nothing new) and, in the same
 * statement, appends a NotificationTriggered event to the sample's log (once per cause: its id is derived from the
 * cause's), hands each queued delivery over (to its Notification entity by a persisted message, keyed so it is
 * handed over once, or, on this runner, as a first attempt made here: see handOver), and only then moves the cursor
 * on. The notifier's own events notify nobody (Trigger.SILENT_EVENT_TYPES).
 */
import { randomUUID } from "node:crypto"
import { EntityId, Sharding, Singleton } from "@effect/cluster"
import { Duration, Effect, Option, Schedule, Schema } from "effect"
import { DeliveryRepo, type NewDelivery, type StoredDelivery, type TriggeredEvent } from "../../persistence/DeliveryRepo.ts"
import { EventLog } from "../../persistence/EventLog.ts"
import { ExportNoticeRepo, isExportEvent } from "../../persistence/ExportNoticeRepo.ts"
import { NOTIFIER_CONSUMER } from "../../persistence/NotificationSchema.ts"
import { NotificationRulesRepo } from "../../persistence/NotificationRulesRepo.ts"
import { WebhookRepo } from "../../persistence/WebhookRepo.ts"
import type { SampleEvent } from "../../rpc/Workflow.ts"
import { DeliverPayload, Notification } from "./Notification.ts"
import { DeliveryAttempts } from "./NotificationEntity.ts"
import { notificationTriggeredData, notificationTriggeredId } from "./Trigger.ts"
import { DEFAULT_RULES, needsSample, NotificationRule, resolveRecipients, type Delivery, type NotifyUser } from "./Rules.ts"

const decodeRules = Schema.decodeUnknownOption(Schema.Array(NotificationRule))

/** The rules in force: the newest saved set, or the shipped defaults. */
export const rulesInForce = Effect.flatMap(NotificationRulesRepo, (repo) =>
  Effect.map(repo.latest(), (stored) =>
    Option.match(stored, {
      onNone: () => ({ version: 0, rules: DEFAULT_RULES }),
      onSome: (s) => ({ version: s.version, rules: Option.getOrElse(decodeRules(s.rules), () => DEFAULT_RULES) })
    })))

/** Stores the shipped rules as version 0 (idempotent). */
export const seedDefaultRules = Effect.flatMap(NotificationRulesRepo, (repo) => repo.seed(DEFAULT_RULES))

const toRow = (event: SampleEvent, submitterEmail: string | null, users: ReadonlyArray<NotifyUser>) => (d: Delivery): NewDelivery => {
  const base = {
    id: randomUUID(),
    dedupKey: d.key,
    eventId: event.id,
    eventType: event.type,
    sampleId: isExportEvent(event) ? null : event.sampleId,
    submitterEmail,
    ruleId: d.ruleId
  }
  const r = d.recipient
  switch (r._tag) {
    case "Email":
      return { ...base, channel: "email", recipient: r.address, userId: r.userId ?? null, endpointId: null }
    case "InApp":
      return { ...base, channel: "in_app", recipient: users.find((u) => u.id === r.userId)?.email ?? r.userId, userId: r.userId, endpointId: null }
    case "Webhook":
      return { ...base, channel: "webhook", recipient: r.url, userId: null, endpointId: r.endpointId }
  }
}

/** Events read per batch. */
const BATCH = 500
/**
 * The pause after a batch that did not fill up: events gather meanwhile, so a busy facility's notifications are
 * consumed a few hundred at a time (each batch costs a handful of queries) rather than a few at a time, at the price of
 * this much latency. An empty log waits the longer IDLE_WAIT.
 */
const GATHER_WAIT = Duration.millis(100)
const IDLE_WAIT = Duration.millis(200)

/** First attempts the consumer makes itself at once (see handOver). */
const LOCAL_ATTEMPTS = 16

/**
 * Hands queued deliveries over. Each is its Notification entity's: a webhook delivery, or one whose entity lives on
 * another runner, goes to it as a persisted message (keyed, so handed over once). An e-mail or in-app delivery whose
 * entity would live on this runner has its first attempt made here and now, by the entity's own attempt function,
 * without activating the entity: this saves the message's rows and the activation. Its retries, if any, are the
 * entity's timer messages as always. The cursor moves on only after these attempts, so a crash in between re-reads
 * the event and the delivery, still queued, is attempted again (as a message redelivered after a crash would be).
 */
const handOver = (queued: ReadonlyArray<StoredDelivery>) =>
  Effect.gen(function*() {
    if (queued.length === 0) return
    const client = yield* Notification.client
    const sharding = yield* Sharding.Sharding
    const attempts = yield* DeliveryAttempts
    const message = (d: StoredDelivery) => client(d.id).Deliver(new DeliverPayload({ generation: d.generation }), { discard: true })
    const here: Array<StoredDelivery> = []
    for (const d of queued) {
      const entityId = EntityId.make(d.id)
      if (d.channel !== "webhook" && sharding.hasShardId(sharding.getShardId(entityId, Notification.getShardGroup(entityId)))) here.push(d)
      else yield* message(d)
    }
    yield* Effect.forEach(here, (d) =>
      attempts.attempt(d.id, d.generation, 1).pipe(
        // A defect here (a bug, bad data) must not lose the delivery: its entity gets it as a message instead.
        Effect.catchAllDefect((defect) =>
          Effect.logWarning("a first delivery attempt failed here; handed to its entity", { deliveryId: d.id }, defect).pipe(
            Effect.zipRight(message(d))
          ))
      ), { concurrency: LOCAL_ATTEMPTS, discard: true })
  })

/** Consumes one batch; how many events it read (0: the log was drained). */
const consumeBatch = Effect.gen(function*() {
  const log = yield* EventLog
  const deliveries = yield* DeliveryRepo
  const webhooks = yield* WebhookRepo
  const read = yield* log.read(NOTIFIER_CONSUMER.owner, NOTIFIER_CONSUMER.name, BATCH)
  if (read.events.length === 0) return 0
  const { position } = read
  // An export's events in the log belong to no sample; its result is offered to the rules from the job row
  // (consumeExports below), which also knows its recipients.
  const events = read.events.filter((e) => !isExportEvent(e))
  const { rules } = yield* rulesInForce
  const users = yield* deliveries.users()
  const endpoints = yield* webhooks.list()
  const directory = { users, endpoints: endpoints.map((e) => ({ id: e.id, url: e.url, events: e.events, enabled: e.enabled })) }
  // Two queries per batch, whatever its size: the submitters of its samples (a list column, no state document read)
  // and who worked the samples whose events a rule sends to their own people.
  const submitters = yield* deliveries.submittersOf([...new Set(events.map((e) => e.sampleId))])
  const worked = yield* deliveries.workedBy([...new Set(events.filter((e) => needsSample(rules, e)).map((e) => e.sampleId))])
  const byEmail = new Map(users.map((u) => [u.email.toLowerCase(), u]))
  const assigneesOf = (sampleId: string) =>
    (worked.get(sampleId) ?? []).flatMap((email) => {
      const user = byEmail.get(email)
      return user === undefined ? [] : [user.id]
    })
  const owed: Array<{ readonly eventId: string; readonly deliveries: ReadonlyArray<NewDelivery>; readonly triggered: TriggeredEvent }> = []
  for (const event of events) {
    const submitterEmail = submitters.get(event.sampleId)
    const sample = submitterEmail === undefined ? undefined : { submitterEmail, assignees: assigneesOf(event.sampleId) }
    const recipients = resolveRecipients(rules, event, sample, directory)
    if (recipients.length === 0) continue
    const rows = recipients.map(toRow(event, submitterEmail ?? null, users))
    // The log records that this event notified people (counts per rule and channel, no addresses).
    const triggered = {
      id: notificationTriggeredId(event.id),
      sampleId: event.sampleId,
      submissionId: event.submissionId,
      version: event.version,
      data: notificationTriggeredData(event, rows)
    }
    owed.push({ eventId: event.id, deliveries: rows, triggered })
  }
  // One statement for the whole batch's deliveries and NotificationTriggered entries.
  yield* handOver(yield* deliveries.insertForEvents(owed))
  yield* log.ack(NOTIFIER_CONSUMER.owner, NOTIFIER_CONSUMER.name, position)
  return read.events.length
}).pipe(Effect.withSpan("NotificationConsumer.batch"))

/**
 * Offers finished exports to the rules (an export's result is no sample event, see persistence/ExportNoticeRepo.ts):
 * a completed one is an ExportCompleted event naming its requester and the schedule's recipients, a failed one an
 * ExportFailed event naming its requester and the reason. Deliveries first,
 * hand-over next, the export's mark last, so a crash in between offers it again and its keys owe nothing new.
 * False when no export was waiting.
 */
const consumeExports = Effect.gen(function*() {
  const notices = yield* ExportNoticeRepo
  const pending = yield* notices.pending(50)
  if (pending.length === 0) return false
  const deliveries = yield* DeliveryRepo
  const webhooks = yield* WebhookRepo
  const { rules } = yield* rulesInForce
  const users = yield* deliveries.users()
  const endpoints = yield* webhooks.list()
  const directory = { users, endpoints: endpoints.map((e) => ({ id: e.id, url: e.url, events: e.events, enabled: e.enabled })) }
  for (const { event, exportId } of pending) {
    if (Option.isSome(event)) {
      const owed = resolveRecipients(rules, event.value, undefined, directory)
      if (owed.length > 0) yield* handOver(yield* deliveries.insertForEvent(event.value.id, owed.map(toRow(event.value, null, users))))
    }
    yield* notices.markNotified(exportId)
  }
  return true
}).pipe(Effect.withSpan("NotificationConsumer.exports"))

/**
 * The consumer loop: full batches back to back, a short gathering pause after a partial one, a longer wait when the
 * log is drained, a logged retry on failure.
 */
const consume = Effect.gen(function*() {
  yield* Effect.logInfo("notification consumer started")
  for (;;) {
    const read = yield* consumeBatch
    const exports = yield* consumeExports
    if (read === 0 && !exports) yield* Effect.sleep(IDLE_WAIT)
    else if (read < BATCH) yield* Effect.sleep(GATHER_WAIT)
  }
}).pipe(
  Effect.tapErrorCause((cause) => Effect.logWarning("notification consumer failed; retrying", cause)),
  Effect.retry(Schedule.spaced(Duration.seconds(1)))
)

/** The notifier's consumer, run once in the cluster. */
export const NotificationConsumerLive = Singleton.make("notification-consumer", consume)
