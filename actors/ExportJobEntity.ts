/**
 * The ExportJob entity's behaviour: one job runs from its row (persistence/ExportRepo.ts) straight from a
 * PostgreSQL server-side cursor into ExportStorage. Each attempt writes a fresh key; the storage makes the object
 * visible only when complete, and the row is marked completed only after that, so a half-written file is never
 * "completed". A redelivered Start (after a runner crash) restarts a running job from the start; a finished job
 * answers its status. Progress is written at most every PROGRESS_EVERY; a cancel flag is read at the same pace.
 */
import { Chunk, Clock, Data, Duration, Effect, Option, Ref, Schedule, Stream } from "effect"
import { randomUUID } from "node:crypto"
import type { Writable } from "node:stream"
import { projectionOf, selectColumns } from "./export/ExportColumns.ts"
import { ExportStorage } from "./export/ExportStorage.ts"
import { FORMAT_FILES, type ExportFormat, type TableFormat, writeExport, writeMinknowSheet } from "./export/ExportWriter.ts"
import { minknowSampleOf } from "./export/MinknowSheet.ts"
import { ExportRepo, type ExportJobRow } from "../persistence/ExportRepo.ts"
import { ExportJob } from "./ExportJob.ts"

/** How often progress reaches the row (and the cancel flag is read). */
export const PROGRESS_EVERY = Duration.millis(500)

class ExportCancelled extends Data.TaggedError("ExportCancelled")<{ readonly exportId: string }> {}

const reasonOf = (e: unknown): string => {
  if (typeof e === "object" && e !== null) {
    const tag = "_tag" in e && typeof e._tag === "string" ? e._tag : "Error"
    const message = "message" in e && typeof e.message === "string" ? e.message : JSON.stringify(e).slice(0, 500)
    return `${tag}: ${message}`.slice(0, 2000)
  }
  return String(e).slice(0, 2000)
}

/** Runs one job attempt to its end; never fails (a failure is recorded on the row as `failed` with its reason). */
export const runExportJob = Effect.fn("ExportJob.run")(function*(exportId: string, retention: Duration.Duration) {
  const repo = yield* ExportRepo
  const storage = yield* ExportStorage
  const found = yield* repo.get(exportId).pipe(Effect.orDie)
  if (Option.isNone(found)) return "missing"
  const job: ExportJobRow = found.value
  if (job.status === "completed" || job.status === "failed" || job.status === "cancelled") return job.status
  if (job.cancelRequested) {
    yield* repo.markCancelled(exportId).pipe(Effect.orDie)
    return "cancelled"
  }
  const columns = yield* selectColumns(job.columns ?? undefined).pipe(Effect.either)
  if (columns._tag === "Left") {
    yield* repo.fail(exportId, `unknown columns: ${columns.left.columns.join(", ")}`).pipe(Effect.orDie)
    return "failed"
  }
  const projection = projectionOf(columns.right)
  const total = yield* repo.count(job.filter).pipe(Effect.orDie)
  const begun = yield* repo.begin(exportId, total).pipe(Effect.orDie)
  if (Option.isNone(begun)) return (yield* repo.get(exportId).pipe(Effect.orDie)).pipe(Option.map((j) => j.status), Option.getOrElse(() => "missing"))
  const format = job.format as ExportFormat
  const file = FORMAT_FILES[format]
  const key = `exports/${exportId}/${begun.value.attempt}-${randomUUID()}.${file.extension}`
  const last = yield* Ref.make(0)
  const onProgress = (rowsWritten: number) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (now - (yield* Ref.get(last)) < Duration.toMillis(PROGRESS_EVERY)) return
      yield* Ref.set(last, now)
      yield* repo.progress(exportId, rowsWritten).pipe(Effect.orDie)
    })
  // The cancel flag, read every PROGRESS_EVERY: when set, the write is interrupted and its object discarded.
  const cancelWatch = repo.cancelRequested(exportId).pipe(
    Effect.orDie,
    Effect.repeat({ schedule: Schedule.spaced(PROGRESS_EVERY), until: (c) => c }),
    Effect.zipRight(Effect.fail(new ExportCancelled({ exportId })))
  )
  const cursorName = `export_${exportId.replace(/-/g, "")}`
  const write = format === "minknow"
    ? storage.write(key, file.contentType, (sink: Writable) =>
      repo.cursor(job.filter, cursorName).pipe(
        Stream.runCollect,
        Effect.flatMap((chunk) => {
          const all = Array.from(chunk)
          const samples = all.map((s) => minknowSampleOf(s.state)).filter((s) => job.flowCellId === null || s.flowCellId === job.flowCellId)
          return writeMinknowSheet({
            flowCellId: job.flowCellId ?? samples[0]?.flowCellId ?? "unknown",
            experimentId: all[0]?.submissionNumber ?? "poretrack",
            samples
          }, sink)
        }),
        repo.withTransaction
      ))
    : storage.write(key, file.contentType, (sink: Writable) =>
      writeExport({
        format: format as TableFormat,
        columns: columns.right,
        rows: Stream.mapChunks(repo.projectedCursor(job.filter, cursorName, projection.paths), Chunk.map(projection.row)),
        sink,
        onProgress
      }).pipe(repo.withTransaction))
  const written = yield* Effect.raceFirst(write, cancelWatch).pipe(Effect.either)
  if (written._tag === "Left") {
    const e = written.left
    if (typeof e === "object" && e !== null && "_tag" in e && e._tag === "ExportCancelled") {
      yield* repo.markCancelled(exportId).pipe(Effect.orDie)
      return "cancelled"
    }
    yield* repo.fail(exportId, reasonOf(e)).pipe(Effect.orDie)
    return "failed"
  }
  const rowsDone = written.right.result
  const now = yield* Clock.currentTimeMillis
  yield* repo.complete(exportId, {
    rowsDone,
    storageKey: key,
    expiresAt: new Date(now + Duration.toMillis(retention)),
    event: {
      exportId,
      format,
      rowsDone,
      requestedBy: job.ownerPrincipal,
      recipients: job.recipients,
      downloadUrl: `/api/v1/exports/${exportId}/download`
    }
  }).pipe(Effect.orDie)
  return "completed"
})

/** The ExportJob handlers: Start runs the job (one at a time per job; a long job keeps its entity alive). */
export const ExportJobEntityLive = (options: { readonly retention: Duration.Duration }) =>
  ExportJob.toLayer(
    Effect.gen(function*() {
      const repo = yield* ExportRepo
      const storage = yield* ExportStorage
      return {
        Start: ({ payload }) =>
          runExportJob(payload.exportId, options.retention).pipe(Effect.provideService(ExportRepo, repo), Effect.provideService(ExportStorage, storage))
      }
    }),
    { maxIdleTime: Duration.minutes(1) }
  )
