/**
 * Disarming superseded SLA timers. A sample's timer is a persisted `Wake` message in @effect/cluster's
 * `cluster_messages` (SqlMessageStorage: one row per message, `entity_type`/`entity_id`/`tag`, `deliver_at` in ms,
 * `processed`, and `last_read`, set when a runner reads the row to deliver it). When a transition moves or clears the
 * sample's timer, the entity deletes its other wakes that no runner has read yet, right after its commit: a
 * superseded timer then never fires, so it never activates (loads) the sample. A row already read (being delivered,
 * or due and queued) is left alone: it reaches the entity, which re-checks its clocks and does nothing. Deleted
 * rather than marked processed, so a later arming with the same primary key is never taken for a duplicate.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * A sample's SLA timer as the row @effect/cluster's SqlMessageStorage would write for a persisted `Wake` request sent
 * to the sample (kind 0 = request, headers `{}`, `deliver_at` the timer's time). A transition writes it in its own commit
 * statement (SampleRepo.commitStatement), behind the version fence, instead of sending the message through the
 * cluster client before committing: one round trip instead of three, and no timer armed by a commit that failed. The
 * runner owning the shard reads it when due (it polls its shards' unprocessed messages every
 * ENTITY_MESSAGE_POLL_INTERVAL), exactly like a message sent with `DeliverAt`.
 */
export interface WakeRow {
  /** A snowflake from the cluster's generator: the row id and the request id. */
  readonly requestId: string
  /** The message's primary key (`Sample/<id>/Wake/wake/<at>/v<version>`): re-arming the same timer is a no-op. */
  readonly messageId: string
  /** The shard of the sample, as the cluster names it (`default:17`). */
  readonly shardId: string
  /** The encoded `WakeAt` payload (JSON). */
  readonly payload: string
}

/** The partial index the disarming reads: unprocessed wakes by sample (created by the cluster layer, Cluster.ts). */
export const WAKE_INDEX_DDL =
  "CREATE INDEX IF NOT EXISTS poretrack_cluster_messages_wakes ON cluster_messages (entity_id) WHERE processed = false AND entity_type = 'Sample' AND tag = 'Wake'"

/**
 * Deletes the sample's unread, unprocessed wakes except those due at `keepAt` (the timer now armed; null: none is
 * armed, so all go). Returns how many were deleted.
 */
export const disarmSupersededWakes = (sampleId: string, keepAt: number | null) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly n: number }>`
      WITH gone AS (
        DELETE FROM cluster_messages
        WHERE entity_id = ${sampleId} AND processed = false AND entity_type = 'Sample' AND tag = 'Wake'
          AND last_read IS NULL AND deliver_at IS DISTINCT FROM ${keepAt}::bigint
        RETURNING 1
      )
      SELECT count(*)::int AS n FROM gone`
    return rows[0]?.n ?? 0
  })
