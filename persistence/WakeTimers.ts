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
