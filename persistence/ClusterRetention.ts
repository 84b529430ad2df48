/**
 * Retention of the cluster's persisted messages. @effect/cluster keeps every persisted message (each SLA timer that
 * fired) and its reply forever; a facility's database would grow by a few rows per sample and step, never shrinking.
 * Processed messages older than the retention are deleted with their replies, in batches; unprocessed ones are never
 * touched, whatever their age. A deleted timer cannot fire again by accident: a timer re-checks the sample's clocks
 * and raises each threshold once.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect, Metric, Schedule } from "effect"
import { SNOWFLAKE_EPOCH_MS } from "./ClusterBacklog.ts"

const pruned = Metric.counter("poretrack_cluster_messages_pruned_total", {
  description: "Processed persisted cluster messages deleted by the retention job",
  incremental: true
})

/** Deletes processed messages sent more than `retention` ago (and their replies); returns how many. */
export const pruneProcessedMessages = (retention: Duration.Duration, batchSize = 5_000) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const now = yield* Clock.currentTimeMillis
    // Message ids are snowflakes: milliseconds since SNOWFLAKE_EPOCH_MS above bit 22.
    const cutoff = (BigInt(Math.max(0, now - Duration.toMillis(retention) - SNOWFLAKE_EPOCH_MS)) << 22n).toString()
    let total = 0
    for (;;) {
      const rows = yield* sql<{ readonly n: number }>`
        WITH gone AS (
          DELETE FROM cluster_messages
          WHERE id IN (SELECT id FROM cluster_messages WHERE processed AND id < ${cutoff}::bigint LIMIT ${batchSize})
          RETURNING request_id
        ), replies AS (
          DELETE FROM cluster_replies WHERE request_id IN (SELECT request_id FROM gone)
        )
        SELECT count(*)::int AS n FROM gone`
      const n = rows[0]?.n ?? 0
      total += n
      if (n > 0) yield* Metric.update(pruned, n)
      if (n < batchSize) return total
    }
  })

/** Runs the retention job every `every` (first run after one interval) for the life of the scope. */
export const retentionJob = (retention: Duration.Duration, every: Duration.Duration) =>
  pruneProcessedMessages(retention).pipe(
    Effect.tap((n) => (n > 0 ? Effect.logInfo("pruned processed cluster messages", { deleted: n, olderThan: Duration.format(retention) }) : Effect.void)),
    Effect.catchAllCause((cause) => Effect.logWarning("cluster message retention failed; will retry", cause)),
    Effect.repeat(Schedule.spaced(every)),
    Effect.delay(every),
    Effect.forkScoped,
    Effect.asVoid
  )
