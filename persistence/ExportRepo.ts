/**
 * Export jobs and export schedules (migration 12), and the samples of an export read through a server-side cursor.
 * The job row is the job's truth: the ExportJob entity moves it queued → running → completed | failed | cancelled,
 * and a cancel is a flag the running job reads between batches. Its ExportRequested, ExportCompleted and ExportFailed
 * are written with the job row that they describe, in the same statement: to the job's `events` column and to the
 * event log (`sample_events`), where they belong to no sample (sample and submission are the nil UUID, version 0;
 * see `logEvent`).
 */
import { SqlClient, type Statement } from "@effect/sql"
import { Chunk, Context, Effect, Option, Stream } from "effect"
import type { ReadPath } from "../actors/export/ExportColumns.ts"
import { ExportRowUnreadable } from "../actors/export/ExportErrors.ts"
import type { SampleState } from "../rpc/Workflow.ts"
import { derivedEventId } from "./DerivedId.ts"
import { NO_SAMPLE } from "./ExportNoticeRepo.ts"

/** Migration 12 "exports". */
export const EXPORTS_DDL = `
CREATE TABLE exports (
  id uuid PRIMARY KEY,
  owner_principal text NOT NULL,
  owner_email text,
  own_only text,
  format text NOT NULL,
  filter jsonb NOT NULL,
  columns jsonb,
  flow_cell_id text,
  schedule_id uuid,
  recipients jsonb NOT NULL DEFAULT '[]',
  status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  cancel_requested boolean NOT NULL DEFAULT false,
  attempt int NOT NULL DEFAULT 0,
  rows_done bigint NOT NULL DEFAULT 0,
  rows_total bigint,
  error text,
  storage_key text,
  events jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  expires_at timestamptz
);
CREATE INDEX exports_by_owner ON exports (owner_principal, created_at DESC);
CREATE INDEX exports_expiring ON exports (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE export_schedules (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  cron text NOT NULL,
  time_zone text NOT NULL,
  format text NOT NULL,
  filter jsonb NOT NULL,
  columns jsonb,
  recipients jsonb NOT NULL,
  owner_principal text NOT NULL,
  owner_email text,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_tick timestamptz
);
`

/** The filters of an export (rpc/ExportsApi.ts ExportFilter), with `submitter` forced for a submitter's own. */
export interface ExportSampleFilter {
  readonly status?: string | undefined
  readonly step?: string | undefined
  readonly priority?: string | undefined
  readonly submissionId?: string | undefined
  readonly submitter?: string | undefined
  readonly q?: string | undefined
  readonly sort?: string | undefined
}

/** What a new job is asked for: its owner, format, filter, columns, flow cell, and the schedule it runs for. */
export interface NewExportJob {
  readonly id: string
  readonly ownerPrincipal: string
  readonly ownerEmail: string | null
  readonly format: string
  readonly filter: ExportSampleFilter
  readonly columns: ReadonlyArray<string> | null
  readonly flowCellId: string | null
  readonly scheduleId?: string | undefined
  readonly recipients?: ReadonlyArray<string> | undefined
  /** Who asked, as the event log names principals (rpc/Auth.ts `actorOf`; `scheduler` for a schedule's run): its ExportRequested's actor. */
  readonly actor?: string | undefined
}

/** A job row. */
export interface ExportJobRow extends Omit<NewExportJob, "scheduleId" | "recipients"> {
  readonly recipients: ReadonlyArray<string>
  readonly status: "queued" | "running" | "completed" | "failed" | "cancelled"
  readonly cancelRequested: boolean
  readonly attempt: number
  readonly rowsDone: number
  readonly rowsTotal: number | null
  readonly error: string | null
  readonly storageKey: string | null
  readonly createdAt: Date
  readonly finishedAt: Date | null
  readonly expiresAt: Date | null
}

/** A schedule row. */
export interface ExportScheduleRow {
  readonly id: string
  readonly name: string
  readonly cron: string
  readonly timeZone: string
  readonly format: string
  readonly filter: ExportSampleFilter
  readonly columns: ReadonlyArray<string> | null
  readonly recipients: ReadonlyArray<string>
  readonly ownerPrincipal: string
  readonly ownerEmail: string | null
  readonly enabled: boolean
  readonly createdAt: Date
}

interface DbExport {
  id: string
  owner_principal: string
  owner_email: string | null
  format: string
  filter: ExportSampleFilter
  columns: ReadonlyArray<string> | null
  flow_cell_id: string | null
  recipients: ReadonlyArray<string>
  status: ExportJobRow["status"]
  cancel_requested: boolean
  attempt: number
  rows_done: string | number
  rows_total: string | number | null
  error: string | null
  storage_key: string | null
  created_at: Date
  finished_at: Date | null
  expires_at: Date | null
}

const toExport = (r: DbExport): ExportJobRow => ({
  id: r.id,
  ownerPrincipal: r.owner_principal,
  ownerEmail: r.owner_email,
  format: r.format,
  filter: r.filter,
  columns: r.columns,
  flowCellId: r.flow_cell_id,
  recipients: r.recipients,
  status: r.status,
  cancelRequested: r.cancel_requested,
  attempt: r.attempt,
  rowsDone: Number(r.rows_done),
  rowsTotal: r.rows_total === null ? null : Number(r.rows_total),
  error: r.error,
  storageKey: r.storage_key,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
  expiresAt: r.expires_at
})

interface DbSchedule {
  id: string
  name: string
  cron: string
  time_zone: string
  format: string
  filter: ExportSampleFilter
  columns: ReadonlyArray<string> | null
  recipients: ReadonlyArray<string>
  owner_principal: string
  owner_email: string | null
  enabled: boolean
  created_at: Date
}

const toSchedule = (r: DbSchedule): ExportScheduleRow => ({
  id: r.id,
  name: r.name,
  cron: r.cron,
  timeZone: r.time_zone,
  format: r.format,
  filter: r.filter,
  columns: r.columns,
  recipients: r.recipients,
  ownerPrincipal: r.owner_principal,
  ownerEmail: r.owner_email,
  enabled: r.enabled,
  createdAt: r.created_at
})

/** One sample as the export reads it: its state and its submission's number. */
export interface CursorSample {
  readonly state: SampleState
  readonly submissionNumber: string
}

/**
 * A stored state as the export reads it. The row was written by its entity after decoding, so it is not decoded again
 * (the schema's full decode was most of an export's CPU time): its shape is checked where the columns read it, and
 * every column reads its value defensively (a value of the wrong type is exported empty, ExportColumns.ts).
 */
const isStoredState = (u: unknown): u is SampleState =>
  typeof u === "object" && u !== null && typeof (u as { id?: unknown }).id === "string" &&
  Array.isArray((u as { steps?: unknown }).steps) && typeof (u as { sla?: unknown }).sla === "object" &&
  (u as { sla?: unknown }).sla !== null && typeof (u as { details?: unknown }).details === "object" && (u as { details?: unknown }).details !== null

/** A page of cursor rows as samples, or ExportRowUnreadable naming the first stored state that is not a sample's. */
const pageOf = (rows: ReadonlyArray<{ readonly state: unknown; readonly number: string }>) =>
  Effect.suspend(() => {
    const out: Array<CursorSample> = new Array(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!
      if (!isStoredState(r.state)) {
        const id = typeof r.state === "object" && r.state !== null && "id" in r.state && typeof r.state.id === "string" ? r.state.id : null
        return Effect.fail(new ExportRowUnreadable({ sampleId: id, message: `the stored state of sample ${id ?? "(no id)"} is not readable as a sample` }))
      }
      out[i] = { state: r.state, submissionNumber: r.number }
    }
    return Effect.succeed(Chunk.unsafeFromArray(out))
  })
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)

/** A quoted SQL string literal (for the column paths, which come from the documented column list, never from users). */
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`

/** A quoted SQL identifier (a state key declared as a column of the row's record). */
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`

/**
 * The SQL of a projection of `paths`: the record declaration that reads the state's top-level keys once
 * (`jsonb_to_record`, one pass over the decompressed document) and one jsonb expression per path, deeper segments
 * read from the key's own (small, uncompressed) value. `$current` is the state's current step index, `$submission`
 * the submission's number.
 */
export const projectionSql = (paths: ReadonlyArray<ReadPath>): { readonly record: string; readonly values: string } => {
  const keys = new Set<string>()
  const segmentSql = (segment: string) => {
    if (segment !== "$current") return literal(segment)
    keys.add("current")
    return `(x.${ident("current")} #>> '{}')`
  }
  const values = paths.map((p) => {
    if (p[0] === "$submission") return "to_jsonb(sub.number)"
    const [head, ...rest] = p
    if (head === undefined) return "NULL::jsonb"
    keys.add(head)
    const column = `x.${ident(head)}`
    return rest.length === 0 ? column : `${column} #> ARRAY[${rest.map(segmentSql).join(", ")}]::text[]`
  })
  // A record with no column is not valid SQL: a projection of the submission alone still declares one key.
  if (keys.size === 0) keys.add("id")
  return {
    record: `jsonb_to_record(s.state) AS x(${[...keys].map((k) => `${ident(k)} jsonb`).join(", ")})`,
    values: values.join(", ")
  }
}

/** Rows fetched from the cursor at a time (one progress step). */
export const EXPORT_FETCH = 1000

/** The export tables and the sample cursor. */
export class ExportRepo extends Effect.Service<ExportRepo>()("poretrack/ExportRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const where = (f: ExportSampleFilter) => {
      const filters = [
        ...(f.status ? [sql`s.status = ${f.status}`] : []),
        ...(f.step ? [sql`s.current_step = ${f.step}`] : []),
        ...(f.priority ? [sql`s.priority = ${f.priority}`] : []),
        ...(f.submissionId ? [sql`s.submission_id = ${f.submissionId}`] : []),
        ...(f.submitter ? [sql`s.submitter_email = ${f.submitter.toLowerCase()}`] : []),
        ...(f.q ? [sql`s.name ILIKE ${"%" + escapeLike(f.q) + "%"}`] : [])
      ]
      return filters.length > 0 ? sql`WHERE ${sql.and(filters)}` : sql``
    }
    const orderOf = (sort: string | undefined) =>
      sort === "created_asc"
        ? sql`s.seq`
        : sort === "name_asc"
        ? sql`s.name, s.seq`
        : sort === "priority"
        ? sql`(-s.priority_rank), s.seq`
        : sort === "due_asc"
        ? sql`coalesce(s.turnaround_due_at, 'infinity'::timestamptz), s.seq`
        : sql`s.seq DESC`

    /**
     * The event log's copy of a job event, inserted for the job row `job` (a CTE of the same statement returning `id`)
     * when there is one: no sample (the nil UUID), version 0, its id `eventId` (once: the log's id is UNIQUE).
     */
    const logEvent = (eventId: string, type: string, actor: string, at: string, data: Record<string, unknown>) =>
      sql`INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
        SELECT ${eventId}::uuid, ${NO_SAMPLE}::uuid, ${NO_SAMPLE}::uuid, ${type}, 0, ${actor}, ${at}::timestamptz, ${JSON.stringify(data)}::jsonb
        FROM job ON CONFLICT (id) DO NOTHING`

    /** Inserts a queued job (idempotent on id) and its ExportRequested (by `job.actor`, else its owner). */
    const create = Effect.fn("ExportRepo.create")(function*(job: NewExportJob) {
      const event = { type: "ExportRequested", at: new Date().toISOString(), data: { exportId: job.id, format: job.format, requestedBy: job.ownerPrincipal } }
      yield* sql`WITH job AS (
        INSERT INTO exports (id, owner_principal, owner_email, format, filter, columns, flow_cell_id, schedule_id, recipients, status, events)
        VALUES (${job.id}, ${job.ownerPrincipal}, ${job.ownerEmail}, ${job.format}, ${JSON.stringify(job.filter)}::jsonb,
          ${job.columns === null ? null : JSON.stringify(job.columns)}::jsonb, ${job.flowCellId}, ${job.scheduleId ?? null},
          ${JSON.stringify(job.recipients ?? [])}::jsonb, 'queued', ${JSON.stringify([event])}::jsonb)
        ON CONFLICT (id) DO NOTHING RETURNING id
      ) ${logEvent(derivedEventId("ExportRequested", job.id), event.type, job.actor ?? job.ownerPrincipal, event.at, event.data)}`
    })

    const get = Effect.fn("ExportRepo.get")(function*(id: string) {
      const rows = yield* sql<DbExport>`SELECT * FROM exports WHERE id = ${id}::uuid`
      return Option.map(Option.fromNullable(rows[0]), toExport)
    })

    const listOwn = Effect.fn("ExportRepo.listOwn")(function*(ownerPrincipal: string) {
      const rows = yield* sql<DbExport>`SELECT * FROM exports WHERE owner_principal = ${ownerPrincipal} ORDER BY created_at DESC LIMIT 200`
      return rows.map(toExport)
    })

    /** Starts (or restarts after a crash) a job: running, a fresh attempt, progress from zero; none when finished. */
    const begin = Effect.fn("ExportRepo.begin")(function*(id: string, rowsTotal: number) {
      const rows = yield* sql<DbExport>`UPDATE exports SET status = 'running', attempt = attempt + 1, rows_done = 0,
          rows_total = ${rowsTotal}, started_at = now()
        WHERE id = ${id} AND status IN ('queued', 'running') AND NOT cancel_requested RETURNING *`
      return Option.map(Option.fromNullable(rows[0]), toExport)
    })

    /** Writes progress on its own connection: called inside the cursor's transaction, it must be visible at once. */
    const progress = Effect.fn("ExportRepo.progress")(function*(id: string, rowsDone: number) {
      yield* sql`UPDATE exports SET rows_done = ${rowsDone} WHERE id = ${id} AND status = 'running'`.pipe(
        Effect.mapInputContext((context: Context.Context<never>) => Context.omit(SqlClient.TransactionConnection)(context))
      )
    })

    const cancelRequested = Effect.fn("ExportRepo.cancelRequested")(function*(id: string) {
      const rows = yield* sql<{ c: boolean }>`SELECT cancel_requested AS c FROM exports WHERE id = ${id}`
      return rows[0]?.c ?? true
    })

    /**
     * The job's result event, written with the update that finishes it: to the job's `events` and to the log, by the
     * export supervisor (actor `exporter`). Its id is the export's (a job finishes once), the id the notifier gives
     * the same result (ExportNoticeRepo), so a consumer can tell them for one.
     */
    const finish = (id: string, type: "ExportCompleted" | "ExportFailed", data: Record<string, unknown>, set: Statement.Fragment, from: ReadonlyArray<string>) => {
      const at = new Date().toISOString()
      return sql`WITH job AS (
        UPDATE exports SET ${set}, finished_at = now(), events = events || ${JSON.stringify([{ type, at, data }])}::jsonb
        WHERE id = ${id} AND status IN ${sql.in(from)} RETURNING id
      ) ${logEvent(id, type, "exporter", at, data)}`
    }

    /** Marks the job completed with its file: only a running job, only after the file is stored. */
    const complete = Effect.fn("ExportRepo.complete")(function*(id: string, done: { readonly rowsDone: number; readonly storageKey: string; readonly expiresAt: Date; readonly event: Record<string, unknown> }) {
      yield* finish(id, "ExportCompleted", done.event, sql`status = 'completed', rows_done = ${done.rowsDone}, storage_key = ${done.storageKey},
          expires_at = ${done.expiresAt}`, ["running"])
    })

    const fail = Effect.fn("ExportRepo.fail")(function*(id: string, reason: string) {
      yield* finish(id, "ExportFailed", { exportId: id, reason }, sql`status = 'failed', error = ${reason}`, ["queued", "running"])
    })

    /** Asks a job to stop; a queued job is cancelled at once. */
    const requestCancel = Effect.fn("ExportRepo.requestCancel")(function*(id: string) {
      yield* sql`UPDATE exports SET cancel_requested = true,
          status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
          finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
        WHERE id = ${id} AND status IN ('queued', 'running')`
    })

    const markCancelled = Effect.fn("ExportRepo.markCancelled")(function*(id: string) {
      yield* sql`UPDATE exports SET status = 'cancelled', finished_at = now() WHERE id = ${id} AND status IN ('queued', 'running')`
    })

    /** Completed jobs past their expiry (retention). */
    const expired = Effect.fn("ExportRepo.expired")(function*(now: Date) {
      const rows = yield* sql<DbExport>`SELECT * FROM exports WHERE expires_at IS NOT NULL AND expires_at < ${now} LIMIT 1000`
      return rows.map(toExport)
    })

    const remove = Effect.fn("ExportRepo.remove")(function*(id: string) {
      yield* sql`DELETE FROM exports WHERE id = ${id}`
    })

    /** How many samples the filter matches (the job's estimated total). */
    const count = Effect.fn("ExportRepo.count")(function*(f: ExportSampleFilter) {
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM samples s ${where(f)}`
      return rows[0]?.n ?? 0
    })

    /**
     * The matching samples in the filter's order, through a server-side cursor FETCHed EXPORT_FETCH at a time. Run it
     * inside `sql.withTransaction` (a cursor lives in its transaction).
     */
    const cursor = (f: ExportSampleFilter, name: string): Stream.Stream<CursorSample, unknown> =>
      Stream.fromEffect(
        sql`DECLARE ${sql(name)} NO SCROLL CURSOR FOR
          SELECT s.state, sub.number FROM samples s JOIN submissions sub ON sub.id = s.submission_id
          ${where(f)} ORDER BY ${orderOf(f.sort)}`
      ).pipe(
        Stream.flatMap(() =>
          Stream.repeatEffectChunkOption(
            sql<{ state: unknown; number: string }>`FETCH ${sql.literal(String(EXPORT_FETCH))} FROM ${sql(name)}`.pipe(
              Effect.flatMap((rows) => rows.length === 0 ? Effect.fail(undefined) : pageOf(rows)),
              // The end of the cursor is the stream's end; an error is the stream's failure.
              Effect.mapError((e) => e === undefined ? Option.none() : Option.some(e))
            )
          )
        ),
        // The next page is fetched while this one is written: PostgreSQL and the writer work side by side.
        Stream.bufferChunks({ capacity: 1 })
      )
    /**
     * The matching samples as the values of `paths` (ExportColumns.projectionOf), in the filter's order, through a
     * server-side cursor: PostgreSQL extracts each path, so no state document crosses the wire or is parsed here. The
     * state is decompressed once per row (`jsonb_to_record` reads the keys the paths start with in one pass) rather
     * than once per path: a stored state is compressed, and `#>` on the column itself would undo that for every path
     * (three times PostgreSQL's time; a `state - ''` copy per row instead cost twice this). Run it inside
     * `sql.withTransaction`.
     */
    const projectedCursor = (f: ExportSampleFilter, name: string, paths: ReadonlyArray<ReadPath>): Stream.Stream<ReadonlyArray<unknown>, unknown> => {
      const projection = projectionSql(paths)
      return Stream.fromEffect(
        // One jsonb array per row (one value for the driver to parse, not one per path).
        sql`DECLARE ${sql(name)} NO SCROLL CURSOR FOR
          SELECT jsonb_build_array(${sql.literal(projection.values)}) AS v
          FROM samples s JOIN submissions sub ON sub.id = s.submission_id
          CROSS JOIN LATERAL ${sql.literal(projection.record)}
          ${where(f)} ORDER BY ${orderOf(f.sort)}`
      ).pipe(
        Stream.flatMap(() =>
          Stream.repeatEffectChunkOption(
            sql<{ readonly v: ReadonlyArray<unknown> }>`FETCH ${sql.literal(String(EXPORT_FETCH))} FROM ${sql(name)}`.pipe(
              Effect.mapError(Option.some),
              Effect.flatMap((rows) => {
                if (rows.length === 0) return Effect.fail(Option.none())
                const out: Array<ReadonlyArray<unknown>> = new Array(rows.length)
                for (let r = 0; r < rows.length; r++) out[r] = rows[r]!.v
                return Effect.succeed(Chunk.unsafeFromArray(out))
              })
            )
          )
        ),
        // The next page is fetched while this one is written: PostgreSQL and the writer work side by side.
        Stream.bufferChunks({ capacity: 1 })
      )
    }

    const createSchedule = Effect.fn("ExportRepo.createSchedule")(function*(s: Omit<ExportScheduleRow, "createdAt">) {
      const rows = yield* sql<DbSchedule>`INSERT INTO export_schedules (id, name, cron, time_zone, format, filter, columns, recipients, owner_principal, owner_email, enabled)
        VALUES (${s.id}, ${s.name}, ${s.cron}, ${s.timeZone}, ${s.format}, ${JSON.stringify(s.filter)}::jsonb,
          ${s.columns === null ? null : JSON.stringify(s.columns)}::jsonb, ${JSON.stringify(s.recipients)}::jsonb,
          ${s.ownerPrincipal}, ${s.ownerEmail}, ${s.enabled}) RETURNING *`
      return toSchedule(rows[0]!)
    })

    const listSchedules = Effect.fn("ExportRepo.listSchedules")(function*() {
      const rows = yield* sql<DbSchedule>`SELECT * FROM export_schedules ORDER BY created_at`
      return rows.map(toSchedule)
    })

    const deleteSchedule = Effect.fn("ExportRepo.deleteSchedule")(function*(id: string) {
      const rows = yield* sql<{ id: string }>`DELETE FROM export_schedules WHERE id = ${id}::uuid RETURNING id`
      return rows.length > 0
    })

    /** Claims a schedule's tick once (a repeated tick delivery finds it claimed): true when this call claimed it. */
    const claimTick = Effect.fn("ExportRepo.claimTick")(function*(id: string, tick: Date) {
      const rows = yield* sql<{ id: string }>`UPDATE export_schedules SET last_tick = ${tick}
        WHERE id = ${id} AND enabled AND (last_tick IS NULL OR last_tick < ${tick}) RETURNING id`
      return rows.length > 0
    })

    return {
      create, get, listOwn, begin, progress, cancelRequested, complete, fail, requestCancel, markCancelled, expired, remove,
      count, cursor, projectedCursor, createSchedule, listSchedules, deleteSchedule, claimTick,
      withTransaction: sql.withTransaction
    } as const
  })
}) {}
