/**
 * The export contract under `/api/v1`: export jobs (start, read, list own, download, cancel) and recurring export
 * schedules (managers). The handlers live in runtime/ExportHandlers.ts; PoretrackApi adds this group behind its
 * Authentication middleware.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ListSamples } from "./Api.ts"
import { restError } from "./HttpErrors.ts"
import { SafeText } from "./SafeText.ts"

const strict = { parseOptions: { onExcessProperty: "error" as const, errors: "all" as const } }

/** The export formats (docs/exports.md). */
export const ExportFormat = Schema.Literal("csv", "xlsx", "json", "ndjson", "xml", "minknow")
export type ExportFormat = typeof ExportFormat.Type

/** Where a job is. */
export const ExportStatus = Schema.Literal("queued", "running", "completed", "failed", "cancelled")
export type ExportStatus = typeof ExportStatus.Type

/** The sample list's filters (rpc/Api.ts ListSamples, without paging): which samples an export holds. */
export const ExportFilter = Schema.Struct({
  status: ListSamples.fields.status,
  step: ListSamples.fields.step,
  priority: ListSamples.fields.priority,
  submissionId: ListSamples.fields.submissionId,
  submitter: ListSamples.fields.submitter,
  q: ListSamples.fields.q,
  sort: ListSamples.fields.sort
}).annotations(strict)
export type ExportFilter = typeof ExportFilter.Type

/** A column id (docs/exports.md lists them); unknown ids are refused with 422 naming each. */
const ColumnId = SafeText.pipe(Schema.minLength(1), Schema.maxLength(60))

/** `POST /api/v1/exports`. */
export const ExportRequest = Schema.Struct({
  format: ExportFormat,
  filter: Schema.optional(ExportFilter),
  columns: Schema.optional(Schema.Array(ColumnId).pipe(Schema.maxItems(100))),
  flowCellId: Schema.optional(SafeText.pipe(Schema.minLength(1), Schema.maxLength(60)))
}).annotations(strict)
export type ExportRequest = typeof ExportRequest.Type

/** A job as its owner sees it; `downloadUrl` once completed, `error` once failed. */
export const ExportView = Schema.Struct({
  id: Schema.String,
  format: ExportFormat,
  status: ExportStatus,
  rowsDone: Schema.Number,
  rowsTotal: Schema.NullOr(Schema.Number),
  error: Schema.optional(Schema.String),
  downloadUrl: Schema.optional(Schema.String),
  requestedBy: Schema.String,
  createdAt: Schema.String,
  finishedAt: Schema.NullOr(Schema.String)
})
export type ExportView = typeof ExportView.Type

/** The answer to a new job (202, with `Location`). */
export const StartedExport = Schema.Struct({ id: Schema.String, status: ExportStatus })

/** A recurring export (managers): a cron expression in a time zone, what to export, who receives it. */
export const ExportScheduleInput = Schema.Struct({
  name: SafeText.pipe(Schema.minLength(1), Schema.maxLength(120)),
  cron: SafeText.pipe(Schema.minLength(1), Schema.maxLength(120)),
  timeZone: Schema.optionalWith(SafeText.pipe(Schema.minLength(1), Schema.maxLength(64)), { default: () => "UTC" }),
  format: ExportFormat,
  filter: Schema.optional(ExportFilter),
  columns: Schema.optional(Schema.Array(ColumnId).pipe(Schema.maxItems(100))),
  recipients: Schema.Array(SafeText.pipe(Schema.pattern(/^[^@\s]+@[^@\s]+$/), Schema.maxLength(254))).pipe(Schema.maxItems(50)),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true })
}).annotations(strict)
export type ExportScheduleInput = typeof ExportScheduleInput.Type

/** A stored schedule. */
export const ExportScheduleView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  cron: Schema.String,
  timeZone: Schema.String,
  format: ExportFormat,
  filter: Schema.Record({ key: Schema.String, value: Schema.String }),
  columns: Schema.NullOr(Schema.Array(Schema.String)),
  recipients: Schema.Array(Schema.String),
  enabled: Schema.Boolean,
  owner: Schema.String,
  createdAt: Schema.String
})
export type ExportScheduleView = typeof ExportScheduleView.Type

/** No export with this id that the caller may see (another submitter's export is not found either). */
export class ExportNotFound extends Schema.TaggedError<ExportNotFound>()("ExportNotFound", { exportId: Schema.String }) {}
/** The export has no file to download (yet): it is not completed, or retention removed it. */
export class ExportNotReady extends Schema.TaggedError<ExportNotReady>()("ExportNotReady", {
  exportId: Schema.String,
  status: Schema.String,
  message: Schema.String
}) {}
/** No schedule with this id. */
export class ExportScheduleNotFound extends Schema.TaggedError<ExportScheduleNotFound>()("ExportScheduleNotFound", { scheduleId: Schema.String }) {}

/** 404 */
export const ExportNotFoundBody = restError(ExportNotFound, "ExportNotFound", 404, (e) => `no export ${e.exportId}`, "No export has this id")
/** 409 */
export const ExportNotReadyBody = restError(ExportNotReady, "ExportNotReady", 409, (e) => e.message, "The export has no file (not completed, or expired)")
/** 404 */
export const ExportScheduleNotFoundBody = restError(
  ExportScheduleNotFound,
  "ExportScheduleNotFound",
  404,
  (e) => `no export schedule ${e.scheduleId}`,
  "No export schedule has this id"
)

const ExportIdPath = Schema.Struct({ id: SafeText.pipe(Schema.maxLength(60)) })

/** Export jobs and schedules. */
export class ExportsGroup extends HttpApiGroup.make("exports")
  .add(
    HttpApiEndpoint.post("start", "/api/v1/exports")
      .setPayload(ExportRequest)
      .addSuccess(StartedExport, { status: 202 })
      .annotate(OpenApi.Summary, "Start an export of the samples matching the sample list's filters (submitters: their own)")
  )
  .add(HttpApiEndpoint.get("list", "/api/v1/exports").addSuccess(Schema.Array(ExportView)).annotate(OpenApi.Summary, "My exports, newest first"))
  .add(
    HttpApiEndpoint.get("get", "/api/v1/exports/:id").setPath(ExportIdPath).addSuccess(ExportView).addError(ExportNotFoundBody)
      .annotate(OpenApi.Summary, "An export's status and live progress (rows done / estimated total)")
  )
  .add(
    HttpApiEndpoint.get("download", "/api/v1/exports/:id/download").setPath(ExportIdPath)
      .addSuccess(Schema.Void, { status: 200 })
      .addError(ExportNotFoundBody)
      .addError(ExportNotReadyBody)
      .annotate(OpenApi.Summary, "The file: streamed (local folder) or a 302 to a short-lived pre-signed URL (S3)")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/api/v1/exports/:id/cancel").setPath(ExportIdPath).addSuccess(ExportView).addError(ExportNotFoundBody)
      .annotate(OpenApi.Summary, "Cancel a queued or running export (a finished one is returned unchanged)")
  )
  .add(
    HttpApiEndpoint.get("listSchedules", "/api/v1/export-schedules").addSuccess(Schema.Array(ExportScheduleView))
      .annotate(OpenApi.Summary, "Recurring exports (managers)")
  )
  .add(
    HttpApiEndpoint.post("createSchedule", "/api/v1/export-schedules").setPayload(ExportScheduleInput)
      .addSuccess(ExportScheduleView, { status: 201 })
      .annotate(OpenApi.Summary, "Define a recurring export: cron expression, time zone, format, filter, recipients (managers)")
  )
  .add(
    HttpApiEndpoint.del("deleteSchedule", "/api/v1/export-schedules/:id").setPath(ExportIdPath)
      .addSuccess(Schema.Void, { status: 204 })
      .addError(ExportScheduleNotFoundBody)
      .annotate(OpenApi.Summary, "Delete a recurring export (managers)")
  )
{}
