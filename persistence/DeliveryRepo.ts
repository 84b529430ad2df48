/**
 * Notification deliveries: one row per (event, rule, recipient) under its UNIQUE de-duplication key, with its status
 * (queued, sent, delivered, failed with the reason, dead), attempts and the generation a replay starts. Also the
 * directory rules resolve recipients from (accounts; webhook endpoints are WebhookRepo's).
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Metric, MetricBoundaries, Option } from "effect"
import type { Role, UserId } from "../rpc/Auth.ts"
import type { DeliveryChannel, DeliveryStatus, DeliveryView } from "../rpc/NotificationsApi.ts"
import type { SampleEvent } from "../rpc/Workflow.ts"
import { makeGroupCommit } from "./GroupCommit.ts"
import { isDatabaseOutage, toEvent } from "./SampleRepo.ts"
import { fnTraced } from "../actors/fnTraced.ts"

interface Row {
  readonly id: string
  readonly dedup_key: string
  readonly event_id: string
  readonly event_type: string
  readonly sample_id: string | null
  readonly submitter_email: string | null
  readonly rule_id: string
  readonly channel: DeliveryChannel
  readonly recipient: string
  readonly user_id: string | null
  readonly endpoint_id: string | null
  readonly status: DeliveryStatus
  readonly reason: string | null
  readonly attempts: number
  readonly generation: number
  readonly next_attempt_at: Date | null
  readonly created_at: Date
  readonly updated_at: Date
}

/** A delivery as stored. */
export interface StoredDelivery extends DeliveryView {
  readonly dedupKey: string
  readonly userId: string | null
  readonly endpointId: string | null
  readonly submitterEmail: string | null
  readonly generation: number
}

const toDelivery = (r: Row): StoredDelivery => ({
  id: r.id,
  dedupKey: r.dedup_key,
  eventId: r.event_id,
  eventType: r.event_type,
  sampleId: r.sample_id,
  submitterEmail: r.submitter_email,
  ruleId: r.rule_id,
  channel: r.channel,
  recipient: r.recipient,
  userId: r.user_id,
  endpointId: r.endpoint_id,
  status: r.status,
  reason: r.reason,
  attempts: r.attempts,
  generation: r.generation,
  nextAttemptAt: r.next_attempt_at === null ? null : r.next_attempt_at.toISOString(),
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString()
})

/** The public view of a delivery. */
export const deliveryView = (d: StoredDelivery): DeliveryView => ({
  id: d.id,
  eventId: d.eventId,
  eventType: d.eventType,
  sampleId: d.sampleId,
  ruleId: d.ruleId,
  channel: d.channel,
  recipient: d.recipient,
  status: d.status,
  reason: d.reason,
  attempts: d.attempts,
  nextAttemptAt: d.nextAttemptAt,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt
})

/** A delivery an event owes, to insert. */
export interface NewDelivery {
  readonly id: string
  readonly dedupKey: string
  readonly eventId: string
  readonly eventType: string
  readonly sampleId: string | null
  readonly submitterEmail: string | null
  readonly ruleId: string
  readonly channel: DeliveryChannel
  readonly recipient: string
  readonly userId: string | null
  readonly endpointId: string | null
}

/** The actor of the events the notifier appends to the log. */
export const NOTIFIER_ACTOR = "notifier"

/**
 * The NotificationTriggered event a sample event's deliveries append to the log: at the sample's version of its cause
 * (it changes no state), by the notifier.
 */
export interface TriggeredEvent {
  readonly id: string
  readonly sampleId: string
  readonly submissionId: string
  readonly version: number
  readonly data: unknown
}

/** An account as the rules see it. */
export interface DirectoryUser {
  readonly id: UserId
  readonly email: string
  readonly role: Role
  readonly disabled: boolean
}

const COLUMNS = "id, dedup_key, event_id, event_type, sample_id, submitter_email, rule_id, channel, recipient, user_id, endpoint_id, status, reason, attempts, generation, next_attempt_at, created_at, updated_at"

/** The event columns `beginAttempt` reads along with a delivery (null when its event is not in the sample log). */
interface EventColumns {
  readonly e_seq: string | null
  readonly e_id: string | null
  readonly e_sample_id: string | null
  readonly e_submission_id: string | null
  readonly e_type: string | null
  readonly e_version: number | null
  readonly e_actor: string | null
  readonly e_at: Date | null
  readonly e_data: unknown
}

/** An attempt counted: the delivery, its event in the sample log and its sample's state (undecoded) as they are now. */
export interface BegunAttempt {
  readonly delivery: StoredDelivery
  readonly event: Option.Option<SampleEvent>
  readonly sampleState: Option.Option<unknown>
}

/** A counted attempt's row as `BegunAttempt`. */
const begun = (r: Row & EventColumns & { readonly sample_state: unknown }): BegunAttempt => ({
  delivery: toDelivery(r),
  event: r.e_id === null
    ? Option.none()
    : Option.some(toEvent({
      seq: r.e_seq!,
      id: r.e_id,
      sample_id: r.e_sample_id!,
      submission_id: r.e_submission_id!,
      type: r.e_type!,
      version: r.e_version!,
      actor: r.e_actor!,
      at: r.e_at!,
      data: r.e_data
    })),
  sampleState: Option.fromNullable(r.sample_state)
})

/**
 * Delivery statements in flight at once. One: the consumer makes at most 16 first attempts at a time, and with more
 * statements allowed in flight a handful of attempts each went alone (69 statements for 40 e-mails' 80 writes).
 */
const DELIVERY_GROUPS_IN_FLIGHT = 1

const deliveryGroupSize = Metric.histogram(
  "poretrack_delivery_group_size",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 7 }),
  "Delivery attempts counted (or outcomes recorded) together in one statement"
)

/** Stores deliveries and their status. */
export class DeliveryRepo extends Effect.Service<DeliveryRepo>()("poretrack/DeliveryRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const select = (where: string, ...params: ReadonlyArray<unknown>) =>
      sql.unsafe<Row>(`SELECT ${COLUMNS} FROM notification_deliveries WHERE ${where}`, params).pipe(Effect.orDie)

    /**
     * Inserts the deliveries events owe, in one statement for any number of events; a key already present inserts
     * nothing (ON CONFLICT DO NOTHING), so a re-read event owes nothing new. With each event's new deliveries the log
     * gets its NotificationTriggered entry in the same statement (its id is derived from its cause, and it is written
     * only with new deliveries, so a re-read event appends nothing). Returns every delivery of the events still
     * queued, event by event: those just inserted and those a crash left before they were handed over or during their
     * first attempt (the entity's message key de-duplicates a hand-over; a first attempt the consumer made itself is
     * made again, as after any crash). The statement's own reads see the table as it was before it, so those are the
     * rows it inserted plus those found already there.
     */
    const insertForEvents = Effect.fn("DeliveryRepo.insertForEvents")(function*(
      owed: ReadonlyArray<{ readonly eventId: string; readonly deliveries: ReadonlyArray<NewDelivery>; readonly triggered?: TriggeredEvent | undefined }>
    ) {
      if (owed.length === 0) return []
      const rows = yield* sql.unsafe<Row>(
        `WITH input AS (
           SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(id uuid, dedup_key text, event_id uuid, event_type text, sample_id uuid,
             submitter_email text, rule_id text, channel text, recipient text, user_id uuid, endpoint_id uuid, ord int)
         ), inserted AS (
           INSERT INTO notification_deliveries (id, dedup_key, event_id, event_type, sample_id, submitter_email, rule_id, channel, recipient, user_id, endpoint_id, status)
           SELECT id, dedup_key, event_id, event_type, sample_id, submitter_email, rule_id, channel, recipient, user_id, endpoint_id, 'queued'
           FROM input ORDER BY ord
           ON CONFLICT (dedup_key) DO NOTHING
           RETURNING ${COLUMNS}
         ), triggered AS (
           INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
           SELECT t.id, t.sample_id, t.submission_id, 'NotificationTriggered', t.version, $3, now(), t.data
           FROM jsonb_to_recordset($2::jsonb) AS t(id uuid, cause uuid, sample_id uuid, submission_id uuid, version int, data jsonb, ord int)
           WHERE EXISTS (SELECT 1 FROM inserted i WHERE i.event_id = t.cause)
           ORDER BY t.ord
           ON CONFLICT (id) DO NOTHING
         )
         SELECT * FROM (
           SELECT ${COLUMNS} FROM inserted
           UNION ALL
           SELECT ${COLUMNS} FROM notification_deliveries WHERE event_id = ANY($4::uuid[]) AND status = 'queued' AND attempts <= 1
         ) q
         ORDER BY array_position($4::uuid[], event_id), created_at, id`,
        [
          JSON.stringify(owed.flatMap((o) => o.deliveries).map((d, ord) => ({
            id: d.id,
            dedup_key: d.dedupKey,
            event_id: d.eventId,
            event_type: d.eventType,
            sample_id: d.sampleId,
            submitter_email: d.submitterEmail,
            rule_id: d.ruleId,
            channel: d.channel,
            recipient: d.recipient,
            user_id: d.userId,
            endpoint_id: d.endpointId,
            ord
          }))),
          JSON.stringify(owed.flatMap((o, ord) =>
            o.triggered === undefined ? [] : [{
              id: o.triggered.id,
              cause: o.eventId,
              sample_id: o.triggered.sampleId,
              submission_id: o.triggered.submissionId,
              version: o.triggered.version,
              data: o.triggered.data,
              ord
            }]
          )),
          NOTIFIER_ACTOR,
          owed.map((o) => o.eventId)
        ]
      ).pipe(Effect.orDie)
      return rows.map(toDelivery)
    })

    /** The deliveries one event owes (see insertForEvents). */
    const insertForEvent = (eventId: string, deliveries: ReadonlyArray<NewDelivery>, triggered?: TriggeredEvent) =>
      insertForEvents([{ eventId, deliveries, triggered }])

    const get = Effect.fn("DeliveryRepo.get")(function*(id: string) {
      const rows = yield* select("id = $1", id)
      return Option.map(Option.fromNullable(rows[0]), toDelivery)
    })

    /**
     * Attempts begun at the same moment (the consumer makes up to 16 first attempts at once) are counted in one
     * statement, and their outcomes recorded in another, like the sample commits (GroupCommit.ts): two round trips
     * and two WAL flushes per group instead of per e-mail. Each delivery keeps its own conditions and its own row.
     */
    const begins = yield* makeGroupCommit<{ id: string; generation: number; attempt: number }, Option.Option<BegunAttempt>, SqlError.SqlError>({
      run: (items) =>
        Effect.map(
          sql.unsafe<Row & EventColumns & { readonly sample_state: unknown }>(
            `WITH x AS (
               SELECT x.* FROM poretrack_items($1::jsonb) AS j, jsonb_to_record(j) AS x(id uuid, generation int, attempt int)
             ), d AS (
               UPDATE notification_deliveries n SET attempts = x.attempt, updated_at = now(), next_attempt_at = NULL
               FROM x
               WHERE n.id = x.id AND n.generation = x.generation AND n.attempts IN (x.attempt - 1, x.attempt)
                 AND n.status IN ('queued', 'failed')
               RETURNING ${COLUMNS.split(", ").map((c) => `n.${c}`).join(", ")}
             )
             SELECT d.*, e.seq AS e_seq, e.id AS e_id, e.sample_id AS e_sample_id, e.submission_id AS e_submission_id,
               e.type AS e_type, e.version AS e_version, e.actor AS e_actor, e.at AS e_at, e.data AS e_data,
               s.state AS sample_state
             FROM d LEFT JOIN sample_events e ON e.id = d.event_id LEFT JOIN samples s ON s.id = e.sample_id`,
            [JSON.stringify(items)]
          ),
          (rows) => {
            const byId = new Map(rows.map((r) => [r.id, r]))
            return items.map((item) => Option.map(Option.fromNullable(byId.get(item.id)), begun))
          }
        ),
      isolate: (e) => !isDatabaseOutage(e),
      maxInFlight: DELIVERY_GROUPS_IN_FLIGHT,
      maxGroup: 64,
      sizes: deliveryGroupSize
    })

    const settles = yield* makeGroupCommit<{ id: string; status: DeliveryStatus; reason: string | null; next: Date | null }, void, SqlError.SqlError>({
      run: (items) =>
        Effect.as(
          sql.unsafe(
            `UPDATE notification_deliveries n
             SET status = x.status, reason = x.reason, next_attempt_at = x.next, updated_at = now()
             FROM (SELECT x.* FROM poretrack_items($1::jsonb) AS j, jsonb_to_record(j) AS x(id uuid, status text, reason text, next timestamptz)) x
             WHERE n.id = x.id`,
            // The later outcome of a delivery recorded twice in one group stands, as it would one statement after another.
            [JSON.stringify([...new Map(items.map((item) => [item.id, item])).values()])]
          ),
          items.map(() => undefined)
        ),
      isolate: (e) => !isDatabaseOutage(e),
      maxInFlight: DELIVERY_GROUPS_IN_FLIGHT,
      maxGroup: 64,
      sizes: deliveryGroupSize
    })

    /**
     * Counts attempt `attempt` of `generation` before it is made (again, when a crash interrupted it) and returns the
     * delivery so counted, with its event and its sample's state as they are now, read in the same statement (none
     * when the event is not in the sample log, e.g. an export's); none at all when it moved on: a later attempt,
     * another generation, or a final status (a stale message), or when there is no such delivery.
     */
    const beginAttempt = fnTraced("DeliveryRepo.beginAttempt")(function*(id: string, generation: number, attempt: number) {
      return yield* begins.commit({ id, generation, attempt }).pipe(Effect.orDie)
    })

    /** Records the outcome of the current attempt. */
    const settle = fnTraced("DeliveryRepo.settle")(function*(id: string, status: DeliveryStatus, reason: string | null, nextAttemptAt: Date | null) {
      yield* settles.commit({ id, status, reason, next: nextAttemptAt }).pipe(Effect.orDie)
    })

    /** A dead letter back to queued, as a new generation from its first attempt; none unless it is dead. */
    const replay = Effect.fn("DeliveryRepo.replay")(function*(id: string) {
      const rows = yield* sql.unsafe<Row>(
        `UPDATE notification_deliveries SET status = 'queued', reason = NULL, attempts = 0, generation = generation + 1,
           next_attempt_at = NULL, updated_at = now()
         WHERE id = $1 AND status = 'dead' RETURNING ${COLUMNS}`,
        [id]
      ).pipe(Effect.orDie)
      return Option.map(Option.fromNullable(rows[0]), toDelivery)
    })

    /** A sample's deliveries, oldest first; for a submitter only those addressed to them. */
    const forSample = Effect.fn("DeliveryRepo.forSample")(function*(sampleId: string) {
      return (yield* select("sample_id = $1 ORDER BY created_at, id LIMIT 1000", sampleId)).map(toDelivery)
    })

    /** An endpoint's deliveries, newest first. */
    const forEndpoint = Effect.fn("DeliveryRepo.forEndpoint")(function*(endpointId: string, limit: number) {
      return (yield* select("endpoint_id = $1 ORDER BY created_at DESC, id LIMIT $2", endpointId, limit)).map(toDelivery)
    })

    /** Every account, for recipient resolution. */
    const users = Effect.fn("DeliveryRepo.users")(function*() {
      const rows = yield* sql<{ id: string; email: string; role: Role; disabled: boolean }>`SELECT id, email, role, disabled FROM users`.pipe(Effect.orDie)
      return rows.map((r): DirectoryUser => ({ id: r.id as UserId, email: r.email, role: r.role, disabled: r.disabled }))
    })

    /** The submitter address of each sample (from its list column: no state document is read or decoded). */
    const submittersOf = Effect.fn("DeliveryRepo.submittersOf")(function*(sampleIds: ReadonlyArray<string>) {
      if (sampleIds.length === 0) return new Map<string, string>()
      const rows = yield* sql<{ id: string; submitter_email: string }>`
        SELECT id::text, submitter_email FROM samples WHERE id IN ${sql.in(sampleIds)}`.pipe(Effect.orDie)
      return new Map(rows.map((r) => [r.id, r.submitter_email]))
    })

    /**
     * The sample's assignees: the people who have worked it, i.e. the signed-in accounts (actor `user:<email>`) that
     * received it or started, completed, skipped, reworked or failed one of its steps. API keys are no one's.
     * Keyed by sample id, each address lower-case, in order of first work.
     */
    const workedBy = Effect.fn("DeliveryRepo.workedBy")(function*(sampleIds: ReadonlyArray<string>) {
      const out = new Map<string, Array<string>>()
      if (sampleIds.length === 0) return out
      const rows = yield* sql<{ sample_id: string; email: string }>`
        SELECT sample_id::text, lower(substr(actor, 6)) AS email, min(seq) AS first
        FROM sample_events
        WHERE sample_id IN ${sql.in(sampleIds)} AND actor LIKE 'user:%'
          AND type IN ('SampleReceived', 'WorkflowStepStarted', 'WorkflowStepCompleted', 'WorkflowStepSkipped', 'WorkflowStepFailed', 'QcFailed', 'SampleReworked')
        GROUP BY 1, 2 ORDER BY 1, 3`.pipe(Effect.orDie)
      for (const r of rows) {
        const list = out.get(r.sample_id)
        if (list === undefined) out.set(r.sample_id, [r.email])
        else list.push(r.email)
      }
      return out
    })

    return { insertForEvent, insertForEvents, get, beginAttempt, settle, replay, forSample, forEndpoint, users, workedBy, submittersOf } as const
  })
}) {}
