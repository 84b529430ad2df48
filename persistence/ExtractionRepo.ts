/**
 * The `extractions` table: one row per uploaded PDF form and owner, unique by content hash per owner (the same file
 * twice is the same extraction), with its status, the pipeline's answer (result, confidence, evidence, warnings),
 * the failure reason, the stage timings and the file's bytes (kept for the review page).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"

/** Migration 14. */
export const EXTRACTIONS_DDL = `
CREATE TABLE extractions (
  id uuid PRIMARY KEY,
  owner text NOT NULL,
  file_name text NOT NULL,
  sha256 text NOT NULL,
  byte_size int NOT NULL,
  pdf bytea NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  result jsonb,
  confidence jsonb,
  evidence jsonb,
  warnings jsonb,
  details jsonb,
  error text,
  stages jsonb,
  edits jsonb,
  submission_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner, sha256)
);
CREATE INDEX extractions_owner_created ON extractions (owner, created_at DESC);
`

/** An extraction row without its bytes. */
export interface ExtractionRow {
  readonly id: string
  readonly owner: string
  readonly fileName: string
  readonly sha256: string
  readonly status: "queued" | "running" | "completed" | "failed"
  readonly result: unknown
  readonly confidence: unknown
  readonly evidence: unknown
  readonly warnings: unknown
  readonly details: unknown
  readonly error: string | null
  readonly stages: unknown
  readonly submissionId: string | null
  readonly createdAt: Date
}

/** What a finished pipeline stores. */
export interface ExtractionOutcome {
  readonly result: unknown
  readonly confidence: unknown
  readonly evidence: unknown
  readonly warnings: unknown
  readonly details: unknown
  readonly stages: unknown
}

interface Row {
  id: string
  owner: string
  file_name: string
  sha256: string
  status: ExtractionRow["status"]
  result: unknown
  confidence: unknown
  evidence: unknown
  warnings: unknown
  details: unknown
  error: string | null
  stages: unknown
  submission_id: string | null
  created_at: Date
}

const toRow = (r: Row): ExtractionRow => ({
  id: r.id, owner: r.owner, fileName: r.file_name, sha256: r.sha256, status: r.status, result: r.result, confidence: r.confidence,
  evidence: r.evidence, warnings: r.warnings, details: r.details, error: r.error, stages: r.stages, submissionId: r.submission_id,
  createdAt: r.created_at
})

/** Reads and writes extraction rows; SqlError is left to callers (the entity retries, handlers make it a 500). */
export class ExtractionRepo extends Effect.Service<ExtractionRepo>()("poretrack/ExtractionRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql`id, owner, file_name, sha256, status, result, confidence, evidence, warnings, details, error, stages, submission_id, created_at`

    /** Inserts a queued extraction, or finds the owner's earlier one with the same hash (`created` false). */
    const createOrFind = Effect.fn("ExtractionRepo.createOrFind")(function*(row: { id: string; owner: string; fileName: string; sha256: string; pdf: Uint8Array }) {
      const inserted = yield* sql<Row>`
        INSERT INTO extractions (id, owner, file_name, sha256, byte_size, pdf, status)
        VALUES (${row.id}, ${row.owner}, ${row.fileName}, ${row.sha256}, ${row.pdf.byteLength}, ${Buffer.from(row.pdf)}, 'queued')
        ON CONFLICT (owner, sha256) DO NOTHING
        RETURNING ${columns}`
      if (inserted[0] !== undefined) return { row: toRow(inserted[0]), created: true }
      const found = yield* sql<Row>`SELECT ${columns} FROM extractions WHERE owner = ${row.owner} AND sha256 = ${row.sha256}`
      return { row: toRow(found[0]!), created: false }
    })

    /** One extraction without its bytes. */
    const find = Effect.fn("ExtractionRepo.find")(function*(id: string) {
      const rows = yield* sql<Row>`SELECT ${columns} FROM extractions WHERE id = ${id}`
      return Option.map(Option.fromNullable(rows[0]), toRow)
    })

    /** The newest extractions, of one owner or (undefined) of everyone, without their bytes. */
    const list = Effect.fn("ExtractionRepo.list")(function*(owner: string | undefined, limit: number) {
      const rows = owner === undefined
        ? yield* sql<Row>`SELECT ${columns} FROM extractions ORDER BY created_at DESC, id LIMIT ${limit}`
        : yield* sql<Row>`SELECT ${columns} FROM extractions WHERE owner = ${owner} ORDER BY created_at DESC, id LIMIT ${limit}`
      return rows.map(toRow)
    })

    /** The stored PDF. */
    const pdf = Effect.fn("ExtractionRepo.pdf")(function*(id: string) {
      const rows = yield* sql<{ pdf: Uint8Array; file_name: string }>`SELECT pdf, file_name FROM extractions WHERE id = ${id}`
      return Option.fromNullable(rows[0])
    })

    const markRunning = Effect.fn("ExtractionRepo.markRunning")(function*(id: string) {
      yield* sql`UPDATE extractions SET status = 'running', updated_at = now() WHERE id = ${id} AND status IN ('queued', 'running')`
    })

    const complete = Effect.fn("ExtractionRepo.complete")(function*(id: string, o: ExtractionOutcome) {
      yield* sql`UPDATE extractions SET status = 'completed', result = ${JSON.stringify(o.result)}::jsonb,
        confidence = ${JSON.stringify(o.confidence)}::jsonb, evidence = ${JSON.stringify(o.evidence)}::jsonb,
        warnings = ${JSON.stringify(o.warnings)}::jsonb, details = ${JSON.stringify(o.details)}::jsonb,
        stages = ${JSON.stringify(o.stages)}::jsonb, error = NULL, updated_at = now()
        WHERE id = ${id} AND status IN ('queued', 'running')`
    })

    const fail = Effect.fn("ExtractionRepo.fail")(function*(id: string, error: string, stages: unknown) {
      yield* sql`UPDATE extractions SET status = 'failed', error = ${error}, stages = ${JSON.stringify(stages)}::jsonb, updated_at = now()
        WHERE id = ${id} AND status IN ('queued', 'running')`
    })

    /** Records the confirmation: the submission created and the fields the reviewer edited. */
    const confirm = Effect.fn("ExtractionRepo.confirm")(function*(id: string, submissionId: string, edits: unknown) {
      yield* sql`UPDATE extractions SET submission_id = ${submissionId}, edits = ${JSON.stringify(edits)}::jsonb, updated_at = now() WHERE id = ${id}`
    })

    return { createOrFind, find, list, pdf, markRunning, complete, fail, confirm } as const
  })
}) {}
