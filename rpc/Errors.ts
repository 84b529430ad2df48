/** Typed errors that cross RPC and HTTP: each carries what a caller needs to act. */
import { Schema } from "effect"
import { SampleStatus, StepId } from "./Workflow.ts"

/** One field at fault: a JSON path and a message. */
export const FieldIssue = Schema.Struct({ path: Schema.String, message: Schema.String })
export type FieldIssue = typeof FieldIssue.Type

/** 404: no sample has this id. */
export class SampleNotFound extends Schema.TaggedError<SampleNotFound>()("SampleNotFound", {
  sampleId: Schema.String
}) {}

/** 404: no submission has this id. */
export class SubmissionNotFound extends Schema.TaggedError<SubmissionNotFound>()("SubmissionNotFound", {
  submissionId: Schema.String
}) {}

/** 409: the command is not allowed from the sample's current state. */
export class StepTransitionRefused extends Schema.TaggedError<StepTransitionRefused>()("StepTransitionRefused", {
  sampleId: Schema.String,
  status: SampleStatus,
  currentStep: Schema.NullOr(StepId),
  attempted: Schema.String,
  allowed: Schema.Array(Schema.String),
  reason: Schema.String
}) {}

/** 422: the command's values are invalid (each field named). */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  message: Schema.String,
  issues: Schema.Array(FieldIssue)
}) {}

/** 400: the request could not be read at all (not JSON, wrong shape of envelope). */
export class MalformedRequest extends Schema.TaggedError<MalformedRequest>()("MalformedRequest", {
  message: Schema.String
}) {}

/** 422: a submission was rejected whole; every bad row and field is listed. */
export class SubmissionRejected extends Schema.TaggedError<SubmissionRejected>()("SubmissionRejected", {
  message: Schema.String,
  rows: Schema.Array(Schema.Struct({ row: Schema.Number, issues: Schema.Array(FieldIssue) }))
}) {}

/** 409: the idempotency key was already used for a different command on this sample. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  sampleId: Schema.String,
  idempotencyKey: Schema.String,
  firstCommand: Schema.String
}) {}

/** 503: the sample's owner lost its write fence (another owner wrote first); safe to retry. */
export class SampleBusy extends Schema.TaggedError<SampleBusy>()("SampleBusy", {
  sampleId: Schema.String,
  message: Schema.String
}) {}

/** 412: the command named the version it expected (`If-Match`) and the sample is at another one; nothing changed. */
export class VersionMismatch extends Schema.TaggedError<VersionMismatch>()("VersionMismatch", {
  message: Schema.String,
  sampleId: Schema.String,
  currentVersion: Schema.Number
}) {}

/** Errors a sample command can end with. */
export const CommandError = Schema.Union(
  SampleNotFound,
  StepTransitionRefused,
  InvalidInput,
  IdempotencyKeyReused,
  SampleBusy,
  VersionMismatch
)
export type CommandError = typeof CommandError.Type
