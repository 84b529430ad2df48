/**
 * Export results as notifier events. An export's events are in the event log too (ExportRepo), but a finished export
 * is offered to the notifier from its job row, which knows its recipients: `exports.notified_at` (migration 15) marks
 * the jobs whose notifications were handed over; the notifier's consumer reads the others (at least once: its
 * deliveries are de-duplicated by key). A completed
 * export becomes an `ExportCompleted` event whose id is the export's id (a job completes once), naming its requester's
 * e-mail and the schedule's recipients, which the "export ready" rule notifies; a failed one an `ExportFailed` event
 * naming its requester and the reason ("export failed" rule). A cancelled export notifies nobody (its requester did it).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { EventId, SampleId, SubmissionId } from "../rpc/Ids.ts"
import type { SampleEvent } from "../rpc/Workflow.ts"

/** Migration 15: which finished exports were offered to the notifier (those finished before it count as offered). */
export const EXPORT_NOTICES_DDL = `
ALTER TABLE exports ADD COLUMN notified_at timestamptz;
UPDATE exports SET notified_at = now() WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX exports_to_notify ON exports (finished_at) WHERE notified_at IS NULL AND status IN ('completed', 'failed', 'cancelled');
`

/** The nil UUID: what stands for "no sample" (and no submission) in an event about an export. */
export const NO_SAMPLE = "00000000-0000-0000-0000-000000000000"

/** True for an event about an export rather than a sample (it has no sample to link or read). */
export const isExportEvent = (event: { readonly type: string }): boolean => event.type.startsWith("Export")

interface Row {
  readonly id: string
  readonly owner_email: string | null
  readonly owner_principal: string
  readonly format: string
  readonly rows_done: string | number
  readonly recipients: unknown
  readonly schedule_id: string | null
  readonly status: string
  readonly finished_at: Date | null
  readonly error: string | null
}

const COLUMNS = "id, owner_email, owner_principal, format, rows_done, recipients, schedule_id, status, finished_at, error"

/** A finished export as the notifier's event of `type`: what every export event says, plus `data`. */
const exportEvent = (row: Row, type: "ExportCompleted" | "ExportFailed", data: Record<string, unknown>): SampleEvent => ({
  id: EventId.make(row.id),
  seq: 0,
  sampleId: SampleId.make(NO_SAMPLE),
  submissionId: SubmissionId.make(NO_SAMPLE),
  type,
  version: 0,
  actor: row.owner_principal,
  at: (row.finished_at ?? new Date()).toISOString(),
  data: {
    exportId: row.id,
    format: row.format,
    rows: Number(row.rows_done),
    rowsDone: Number(row.rows_done),
    requestedBy: row.owner_email ?? row.owner_principal,
    ...(row.schedule_id !== null ? { scheduleId: row.schedule_id } : {}),
    ...data
  }
})

/** A completed export as the notifier's event: requester (by e-mail) and recipients are whom the event names. */
export const exportCompletedEvent = (row: Row): SampleEvent =>
  exportEvent(row, "ExportCompleted", {
    recipients: Array.isArray(row.recipients) ? row.recipients.filter((r): r is string => typeof r === "string") : [],
    downloadUrl: `/api/v1/exports/${row.id}/download`
  })

/**
 * A failed export as the notifier's event: it names only its requester (who can start it again), with the reason.
 * Its id is the export's id too (a job fails once: a failed job is never retried into completion).
 */
export const exportFailedEvent = (row: Row): SampleEvent => exportEvent(row, "ExportFailed", { reason: row.error ?? "unknown" })

/** The notifier's event of a finished export: completed or failed; a cancelled one notifies nobody. */
const resultEventOf = (row: Row): Option.Option<SampleEvent> =>
  row.status === "completed" ? Option.some(exportCompletedEvent(row)) : row.status === "failed" ? Option.some(exportFailedEvent(row)) : Option.none()

/** Finished exports not yet offered to the notifier, and the mark once they were. */
export class ExportNoticeRepo extends Effect.Service<ExportNoticeRepo>()("poretrack/ExportNoticeRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** Up to `limit` finished exports not yet offered, oldest first: each with its event when it completed. */
    const pending = Effect.fn("ExportNoticeRepo.pending")(function*(limit: number) {
      const rows = yield* sql.unsafe<Row>(
        `SELECT ${COLUMNS} FROM exports WHERE notified_at IS NULL AND status IN ('completed', 'failed', 'cancelled') ORDER BY finished_at, id LIMIT $1`,
        [limit]
      ).pipe(Effect.orDie)
      return rows.map((row) => ({ exportId: row.id, event: resultEventOf(row) }))
    })

    /** Marks an export offered (its deliveries, if any, are stored and handed over). */
    const markNotified = Effect.fn("ExportNoticeRepo.markNotified")(function*(exportId: string) {
      yield* sql`UPDATE exports SET notified_at = now() WHERE id = ${exportId} AND notified_at IS NULL`.pipe(Effect.orDie)
    })

    /** The ExportCompleted or ExportFailed event of export `id` (the id of the event), once it finished so. */
    const resultEvent = Effect.fn("ExportNoticeRepo.resultEvent")(function*(id: string) {
      const rows = yield* sql.unsafe<Row>(`SELECT ${COLUMNS} FROM exports WHERE id = $1 AND status IN ('completed', 'failed')`, [id]).pipe(Effect.orDie)
      return Option.flatMap(Option.fromNullable(rows[0]), resultEventOf)
    })

    return { pending, markNotified, resultEvent } as const
  })
}) {}
