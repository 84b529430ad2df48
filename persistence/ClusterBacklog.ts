/**
 * The cluster's persisted-message backlog (SLA timers and other persisted messages in `cluster_messages`), read on
 * each scrape: how many are due and unprocessed, how many are scheduled for later, and how long the oldest due one
 * has waited. A growing age means runners are not keeping up, or the shards of those messages have no owner.
 * These are cluster-wide figures: every process reports the same values (alert on `max`).
 */
import { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect, Metric } from "effect"

/** Milliseconds since 1970 at which @effect/cluster's snowflake ids start (the id's upper bits count from here). */
export const SNOWFLAKE_EPOCH_MS = Date.UTC(2025, 0, 1)

const due = Metric.gauge("poretrack_cluster_messages_due", {
  description: "Persisted cluster messages that are due and not yet processed (cluster-wide)"
})
const scheduled = Metric.gauge("poretrack_cluster_messages_scheduled", {
  description: "Persisted cluster messages scheduled for later, e.g. armed SLA timers (cluster-wide)"
})
const oldestAge = Metric.gauge("poretrack_cluster_oldest_unprocessed_message_age_seconds", {
  description: "Age of the oldest due, unprocessed persisted message: since it was sent or became due (cluster-wide)"
})

/** The partial index the backlog query reads (created by the cluster layer once the cluster tables exist). */
export const BACKLOG_INDEX_DDL =
  "CREATE INDEX IF NOT EXISTS poretrack_cluster_messages_unprocessed ON cluster_messages (deliver_at) INCLUDE (id) WHERE processed = false"

/** Reads the backlog into the gauges; a database that does not answer within 2 s leaves them as they were. */
export const sampleBacklog = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const now = yield* Clock.currentTimeMillis
  const rows = yield* sql<{ readonly due: number; readonly scheduled: number; readonly oldest: number | null }>`
    SELECT count(*) FILTER (WHERE deliver_at IS NULL OR deliver_at <= ${now})::int AS due,
           count(*) FILTER (WHERE deliver_at > ${now})::int AS scheduled,
           min(greatest((id >> 22) + ${SNOWFLAKE_EPOCH_MS}, coalesce(deliver_at, 0)))
             FILTER (WHERE deliver_at IS NULL OR deliver_at <= ${now})::float8 AS oldest
    FROM cluster_messages
    WHERE processed = false`
  const row = rows[0]
  if (row === undefined) return
  yield* Metric.set(due, row.due)
  yield* Metric.set(scheduled, row.scheduled)
  yield* Metric.set(oldestAge, row.oldest === null ? 0 : Math.max(0, now - row.oldest) / 1000)
}).pipe(
  Effect.timeout(Duration.seconds(2)),
  Effect.catchAllCause((cause) => Effect.logDebug("cluster backlog not read", cause))
)
