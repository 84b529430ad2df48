/**
 * AI intake of PDF forms over REST: upload a form (multipart, field `file`), read the job's result with per-field
 * confidence, evidence and warnings, fetch the PDF for the review page, and confirm the reviewed form into a
 * submission (the batch create: all or nothing). `result` has exactly the keys of the facility form's truth files.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, Multipart, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { CreatedSubmission } from "./Api.ts"
import { IdempotencyKeyReusedBody, restError, SubmissionRejectedBody } from "./HttpErrors.ts"
import { JsonValue } from "./Workflow.ts"

/** 404: no extraction of the caller has this id. */
export class ExtractionNotFound extends Schema.TaggedError<ExtractionNotFound>()("ExtractionNotFound", { extractionId: Schema.String }) {}
/** 409: the extraction cannot be confirmed in its state (still running, failed, or confirmed already). */
export class ExtractionNotConfirmable extends Schema.TaggedError<ExtractionNotConfirmable>()("ExtractionNotConfirmable", {
  extractionId: Schema.String,
  status: Schema.String,
  reason: Schema.String
}) {}

export const ExtractionNotFoundBody = restError(ExtractionNotFound, "ExtractionNotFound", 404, (e) => `no extraction ${e.extractionId}`, "No extraction of yours has this id")
export const ExtractionNotConfirmableBody = restError(ExtractionNotConfirmable, "ExtractionNotConfirmable", 409, (e) => e.reason, "The extraction cannot be confirmed in its state")

/** The job's status. */
export const ExtractionStatus = Schema.Literal("queued", "running", "completed", "failed")

/** 202 (new job) or 200 (the same file uploaded before: its earlier extraction). */
export const ExtractionAccepted = Schema.Struct({ id: Schema.String, status: ExtractionStatus, duplicate: Schema.Boolean })

/** An extraction as the review page reads it. */
export const ExtractionView = Schema.Struct({
  id: Schema.String,
  fileName: Schema.String,
  status: ExtractionStatus,
  result: Schema.NullOr(JsonValue),
  confidence: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Number })),
  evidence: Schema.NullOr(JsonValue),
  warnings: Schema.Array(Schema.String),
  /** Findings citing knowledge-base passages, the flow-cell plan, the LLM stage's status and which stage gave which value. */
  details: Schema.NullOr(JsonValue),
  stagesMs: Schema.NullOr(JsonValue),
  error: Schema.NullOr(Schema.String),
  submissionId: Schema.NullOr(Schema.String),
  createdAt: Schema.String
})

/** The reviewed form and the paths the reviewer changed. */
export const ConfirmExtraction = Schema.Struct({
  result: JsonValue.annotations({ description: "the reviewed form, keys as in GET /api/v1/extractions/{id} result" }),
  editedFields: Schema.optionalWith(Schema.Array(Schema.String.pipe(Schema.maxLength(200))).pipe(Schema.maxItems(2000)), { default: () => [] }),
  submitterEmail: Schema.optional(Schema.String.pipe(Schema.maxLength(254)))
})

const IdPath = Schema.Struct({ id: Schema.String.annotations({ description: "extraction id (UUID)", format: "uuid" }) })

/** The intake routes; handlers in runtime/ExtractionHandlers.ts. */
export class ExtractionsGroup extends HttpApiGroup.make("extractions")
  .add(
    HttpApiEndpoint.post("upload", "/api/v1/extractions")
      .setPayload(HttpApiSchema.Multipart(Schema.Struct({ file: Multipart.SingleFileSchema })))
      .addSuccess(ExtractionAccepted, { status: 202 })
      .addSuccess(ExtractionAccepted.annotations({ description: "the same file was uploaded before: its extraction" }))
      .annotate(OpenApi.Summary, "Upload a PDF form (multipart field `file`, up to 20 MB): 202 + Location; the same file again: 200 with the earlier id")
  )
  .add(
    HttpApiEndpoint.get("get", "/api/v1/extractions/:id").setPath(IdPath).addSuccess(ExtractionView).addError(ExtractionNotFoundBody)
      .annotate(OpenApi.Summary, "The job: status, result (the form), confidence per field, evidence, warnings citing the knowledge base")
  )
  .add(
    HttpApiEndpoint.get("pdf", "/api/v1/extractions/:id/pdf").setPath(IdPath)
      .addSuccess(HttpApiSchema.withEncoding(Schema.Uint8ArrayFromSelf, { kind: "Uint8Array", contentType: "application/pdf" }))
      .addError(ExtractionNotFoundBody)
      .annotate(OpenApi.Summary, "The uploaded PDF, for the review page")
  )
  .add(
    HttpApiEndpoint.post("confirm", "/api/v1/extractions/:id/confirm").setPath(IdPath).setPayload(ConfirmExtraction)
      .addSuccess(CreatedSubmission, { status: 201 })
      .addError(ExtractionNotFoundBody)
      .addError(ExtractionNotConfirmableBody)
      .addError(SubmissionRejectedBody)
      .addError(IdempotencyKeyReusedBody)
      .annotate(OpenApi.Summary, "Confirm the reviewed form: creates the submission and its samples (all or nothing) and records the edits")
  )
{}
