/**
 * The handlers of the export routes (rpc/ExportsApi.ts). Anyone who may read samples may export them; a submitter
 * exports only their own samples (the filter's submitter is forced to theirs) and sees only their own exports
 * (another's is not found). Managers and admins (and keys with samples:write) define schedules.
 */
import { randomUUID } from "node:crypto"
import { HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { NodeStream } from "@effect/platform-node"
import { Cron, Effect, Either, Option, Stream } from "effect"
import { ExportJob } from "../actors/ExportJob.ts"
import { selectColumns } from "../actors/export/ExportColumns.ts"
import { ExportStorage } from "../actors/export/ExportStorage.ts"
import { FORMAT_FILES } from "../actors/export/ExportWriter.ts"
import { ExportRepo, type ExportJobRow, type ExportSampleFilter, type ExportScheduleRow, type NewExportJob } from "../persistence/ExportRepo.ts"
import { actorOf, type Principal } from "../rpc/Auth.ts"
import { InvalidInput } from "../rpc/Errors.ts"
import {
  ExportNotFound,
  ExportNotReady,
  ExportScheduleNotFound,
  type ExportFilter,
  type ExportView,
  type ExportScheduleView
} from "../rpc/ExportsApi.ts"
import { CurrentPrincipal, PoretrackApi } from "../rpc/PoretrackApi.ts"
import { can, ownEmailOf, refuse, requirePermission } from "./Authorization.ts"

/** The owner key of a principal's exports: `User:<id>` or `ApiKey:<id>`. */
export const ownerOf = (p: Principal): string => `${p._tag}:${p.id}`

/** The REST view of a job. */
export const exportView = (j: ExportJobRow): ExportView => ({
  id: j.id,
  format: j.format as ExportView["format"],
  status: j.status,
  rowsDone: j.rowsDone,
  rowsTotal: j.rowsTotal,
  ...(j.error !== null ? { error: j.error } : {}),
  ...(j.status === "completed" ? { downloadUrl: `/api/v1/exports/${j.id}/download` } : {}),
  requestedBy: j.ownerPrincipal,
  createdAt: j.createdAt.toISOString(),
  finishedAt: j.finishedAt?.toISOString() ?? null
})

const scheduleView = (s: ExportScheduleRow): ExportScheduleView => ({
  id: s.id,
  name: s.name,
  cron: s.cron,
  timeZone: s.timeZone,
  format: s.format as ExportScheduleView["format"],
  filter: Object.fromEntries(Object.entries(s.filter).filter((e): e is [string, string] => typeof e[1] === "string")),
  columns: s.columns,
  recipients: s.recipients,
  enabled: s.enabled,
  owner: s.ownerPrincipal,
  createdAt: s.createdAt.toISOString()
})

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)

/** Checks the columns (422 naming each unknown id) and the MinKNOW flow cell. */
export const checkRequest = (format: string, columns: ReadonlyArray<string> | undefined, flowCellId: string | undefined) =>
  Effect.gen(function*() {
    yield* selectColumns(columns).pipe(Effect.mapError((e) =>
      new InvalidInput({
        message: `unknown export column${e.columns.length > 1 ? "s" : ""}: ${e.columns.join(", ").slice(0, 300)}`,
        issues: e.columns.slice(0, 20).map((c) => ({ path: "columns", message: `unknown column ${JSON.stringify(c.slice(0, 60))}; known: ${e.known.join(", ")}` }))
      })))
    if (format === "minknow" && flowCellId === undefined) {
      return yield* new InvalidInput({ message: "a MinKNOW sample sheet needs flowCellId", issues: [{ path: "flowCellId", message: "required for the minknow format" }] })
    }
  })

/** The filter a principal may export: a submitter's is confined to their own samples (asking for another's is 403). */
export const scopedFilter = (principal: Principal, filter: ExportFilter | undefined) =>
  Effect.gen(function*() {
    yield* requirePermission(principal, "samples:read")
    const own = ownEmailOf(principal)
    const f: ExportSampleFilter = { ...filter }
    if (own === undefined) return f
    if (filter?.submitter !== undefined && filter.submitter.toLowerCase() !== own) {
      return yield* refuse(principal, "a submitter exports only their own samples", { submitter: filter.submitter.slice(0, 254) })
    }
    return { ...f, submitter: own }
  })

/** A job the principal may see: their own, or any for staff who manage; else not found. */
export const visible = (principal: Principal, id: string) =>
  Effect.gen(function*() {
    const repo = yield* ExportRepo
    const job = isUuid(id) ? yield* repo.get(id).pipe(Effect.orDie) : Option.none()
    if (Option.isNone(job)) return yield* new ExportNotFound({ exportId: id.slice(0, 60) })
    const mine = job.value.ownerPrincipal === ownerOf(principal)
    if (!mine && (ownEmailOf(principal) !== undefined || !can(principal, "samples:manage"))) {
      return yield* new ExportNotFound({ exportId: id })
    }
    return job.value
  })

/** Managers and admins (and keys with samples:write) define schedules. */
const requireScheduler = (principal: Principal) =>
  ownEmailOf(principal) === undefined && can(principal, "samples:manage")
    ? Effect.void
    : refuse(principal, "only managers and admins (or keys with samples:write) define export schedules")

/** Starts a job: the row first (queued), then the persisted Start to the job's entity. */
export const startExport = Effect.fn("Exports.start")(function*(job: Omit<NewExportJob, "id"> & { readonly id?: string | undefined }) {
  const repo = yield* ExportRepo
  const id = job.id ?? randomUUID()
  yield* repo.create({ ...job, id }).pipe(Effect.orDie)
  const client = yield* ExportJob.client
  yield* client(id).Start({ exportId: id }, { discard: true }).pipe(Effect.orDie)
  return id
})

/** A user's request to start an export (REST or RPC): checked, confined to what they may see, then started. */
export const startRequested = (principal: Principal, request: {
  readonly format: string
  readonly filter?: ExportFilter | undefined
  readonly columns?: ReadonlyArray<string> | undefined
  readonly flowCellId?: string | undefined
}) =>
  Effect.gen(function*() {
    const filter = yield* scopedFilter(principal, request.filter)
    yield* checkRequest(request.format, request.columns, request.flowCellId)
    return yield* startExport({
      actor: actorOf(principal),
      ownerPrincipal: ownerOf(principal),
      ownerEmail: principal._tag === "User" ? principal.email.toLowerCase() : null,
      format: request.format,
      filter,
      columns: request.columns ?? null,
      flowCellId: request.flowCellId ?? null
    })
  })

/** The export routes. */
export const ExportHandlersLive = HttpApiBuilder.group(PoretrackApi, "exports", (handlers) =>
  handlers
    .handle("start", ({ payload }) =>
      Effect.gen(function*() {
        const id = yield* startRequested(yield* CurrentPrincipal, payload)
        yield* HttpApp.appendPreResponseHandler((_req, res) => Effect.succeed(HttpServerResponse.setHeader(res, "location", `/api/v1/exports/${id}`)))
        return { id, status: "queued" as const }
      }).pipe(Effect.tap(({ id }) => Effect.annotateCurrentSpan("exportId", id))))
    .handle("list", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requirePermission(principal, "samples:read")
        const rows = yield* (yield* ExportRepo).listOwn(ownerOf(principal)).pipe(Effect.orDie)
        return rows.map(exportView)
      }))
    .handle("get", ({ path }) => Effect.flatMap(CurrentPrincipal, (p) => Effect.map(visible(p, path.id), exportView)))
    .handle("cancel", ({ path }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const job = yield* visible(principal, path.id)
        const repo = yield* ExportRepo
        yield* repo.requestCancel(job.id).pipe(Effect.orDie)
        const now = yield* repo.get(job.id).pipe(Effect.orDie)
        return exportView(Option.getOrElse(now, () => job))
      }))
    .handle("download", ({ path }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const job = yield* visible(principal, path.id)
        if (job.status !== "completed" || job.storageKey === null) {
          return yield* new ExportNotReady({ exportId: job.id, status: job.status, message: `export ${job.id} is ${job.status}: no file to download` })
        }
        const key = job.storageKey
        const storage = yield* ExportStorage
        const file = FORMAT_FILES[job.format as keyof typeof FORMAT_FILES]
        const filename = `export-${job.id}.${file.extension}`
        const notReady = () => new ExportNotReady({ exportId: job.id, status: job.status, message: `the file of export ${job.id} is gone (expired)` })
        if (storage.kind === "s3") {
          const link = yield* storage.presign(key, { filename }).pipe(Effect.mapError(notReady))
          if (Option.isSome(link)) {
            return HttpServerResponse.empty({ status: 302, headers: { location: link.value.url, "cache-control": "no-store" } })
          }
        }
        const stat = yield* storage.stat(key).pipe(Effect.mapError(notReady))
        const body = Stream.unwrapScoped(Effect.map(
          storage.read(key).pipe(Effect.orDie),
          (d) => NodeStream.fromReadable(() => d.stream, (e) => e)
        ))
        return HttpServerResponse.stream(body, {
          contentType: stat.contentType,
          contentLength: stat.size,
          headers: { "content-disposition": `attachment; filename="${filename}"`, "cache-control": "no-store" }
        })
      }))
    .handle("listSchedules", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requireScheduler(principal)
        return (yield* (yield* ExportRepo).listSchedules().pipe(Effect.orDie)).map(scheduleView)
      }))
    .handle("createSchedule", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requireScheduler(principal)
        const filter = yield* scopedFilter(principal, payload.filter)
        yield* checkRequest(payload.format, payload.columns, undefined)
        if (payload.format === "minknow") {
          return yield* new InvalidInput({ message: "a schedule cannot export a MinKNOW sheet", issues: [{ path: "format", message: "minknow needs one flow cell; schedule a table format" }] })
        }
        const parsed = Cron.parse(payload.cron, payload.timeZone)
        if (Either.isLeft(parsed)) {
          const bad = parsed.left
          const field = bad._tag === "CronParseError" && /time ?zone/i.test(bad.message) ? "timeZone" : "cron"
          return yield* new InvalidInput({ message: `invalid ${field}`, issues: [{ path: field, message: bad.message.slice(0, 200) }] })
        }
        const row = yield* (yield* ExportRepo).createSchedule({
          id: randomUUID(),
          name: payload.name,
          cron: payload.cron,
          timeZone: payload.timeZone,
          format: payload.format,
          filter,
          columns: payload.columns ?? null,
          recipients: payload.recipients,
          ownerPrincipal: ownerOf(principal),
          ownerEmail: principal._tag === "User" ? principal.email.toLowerCase() : actorOf(principal),
          enabled: payload.enabled
        }).pipe(Effect.orDie)
        return scheduleView(row)
      }))
    .handle("deleteSchedule", ({ path }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requireScheduler(principal)
        const deleted = isUuid(path.id) ? yield* (yield* ExportRepo).deleteSchedule(path.id).pipe(Effect.orDie) : false
        if (!deleted) return yield* new ExportScheduleNotFound({ scheduleId: path.id.slice(0, 60) })
      }))
)
