/**
 * Errors as the REST bridge shows them: `{"error": "<Tag>", "message": "…", …fields}` with the HTTP status annotated
 * on the schema, so the OpenAPI document and the responses come from one definition. The typed RPC surface keeps
 * the errors' own tagged form.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { ApiKeyNotFound, Forbidden, RateLimited, Unauthenticated, UserNotFound } from "./Auth.ts"
import { COMMAND_ROUTES, type CommandTag } from "./Commands.ts"
import {
  IdempotencyKeyReused,
  InvalidInput,
  MalformedRequest,
  SampleBusy,
  SampleNotFound,
  StepTransitionRefused,
  SubmissionNotFound,
  SubmissionRejected,
  VersionMismatch
} from "./Errors.ts"
import { SettingsVersionMismatch } from "./Settings.ts"

/** A tagged error class (Schema.TaggedError) with its declared fields. */
type TaggedErrorClass<A, I> = Schema.Schema<A, I> & {
  readonly fields: Schema.Struct.Fields
  new(props: never): A
}

/**
 * The REST form of a tagged error: `_tag` becomes `error`, and `message` is always present (the error's own, or
 * `describe(e)`).
 */
export const restError = <A extends { readonly _tag: string }, I>(
  cls: TaggedErrorClass<A, I>,
  tag: A["_tag"],
  status: number,
  describe: (e: A) => string,
  description: string,
  restate: (fields: Record<string, unknown>) => Record<string, unknown> = (fields) => fields
) => {
  const { _tag: _ignoredTag, message: _message, ...fields } = cls.fields as Record<string, Schema.Schema.Any>
  const wire = Schema.Struct({
    error: Schema.Literal(tag),
    message: Schema.String,
    ...fields
  })
  return Schema.transform(wire, Schema.typeSchema(cls), {
    strict: false,
    decode: ({ error: _error, ...rest }) => Schema.decodeUnknownSync(cls)({ ...rest, _tag: tag }),
    encode: (e) => {
      const { _tag, ...rest } = e as A & Record<string, unknown>
      return { ...restate(rest), error: _tag, message: describe(e) }
    }
  }).annotations({
    ...HttpApiSchema.annotations({ status, description }),
    identifier: `${tag}Error`
  })
}

const own = (e: { readonly message: string }) => e.message

/** 400: the request could not be read (not JSON, nested too deeply, body unreadable). */
export const MalformedRequestBody = restError(MalformedRequest, "MalformedRequest", 400, own, "The request could not be read")
/** 401 */
export const UnauthenticatedBody = restError(Unauthenticated, "Unauthenticated", 401, own, "No valid credentials: sign in, or send Authorization: Bearer <API key>")
/** 403 */
export const ForbiddenBody = restError(Forbidden, "Forbidden", 403, own, "This principal may not do this")
/** 404 */
export const SampleNotFoundBody = restError(SampleNotFound, "SampleNotFound", 404, (e) => `no sample ${e.sampleId}`, "No sample has this id")
/** 404 */
export const SubmissionNotFoundBody = restError(SubmissionNotFound, "SubmissionNotFound", 404, (e) => `no submission ${e.submissionId}`, "No submission has this id")
/** 404 */
export const UserNotFoundBody = restError(UserNotFound, "UserNotFound", 404, (e) => `no user ${e.userId}`, "No user has this id")
/** 404 */
export const ApiKeyNotFoundBody = restError(ApiKeyNotFound, "ApiKeyNotFound", 404, (e) => `no API key ${e.apiKeyId}`, "No API key has this id")
const routeOf = (tag: unknown): string => COMMAND_ROUTES[tag as CommandTag] ?? String(tag)
/** Command names in a refusal's words, as the REST routes that send them. */
const inRoutes = (text: string) => text.replace(/\b(Receive|StartStep|CompleteStep|FailStep|SkipStep|Rework|Hold|Resume|Cancel|Archive|ChangePriority|EditFields)\b/g, (tag) => routeOf(tag))

/** 409: not allowed from the sample's current state; names the state and the routes that are allowed. */
export const StepTransitionRefusedBody = restError(
  StepTransitionRefused,
  "StepTransitionRefused",
  409,
  (e) => inRoutes(e.reason),
  "Not allowed from the sample's current state; `allowed` lists the routes that are",
  (fields) => ({
    ...fields,
    attempted: routeOf(fields.attempted),
    allowed: Array.isArray(fields.allowed) ? fields.allowed.map(routeOf) : fields.allowed,
    reason: typeof fields.reason === "string" ? inRoutes(fields.reason) : fields.reason
  })
)
/** 409 */
export const IdempotencyKeyReusedBody = restError(
  IdempotencyKeyReused,
  "IdempotencyKeyReused",
  409,
  (e) => `idempotency key ${e.idempotencyKey} was already used for ${e.firstCommand}`,
  "The Idempotency-Key was used for a different request"
)
/** 422 */
export const InvalidInputBody = restError(InvalidInput, "InvalidInput", 422, own, "Invalid values; every field at fault is named in issues")
/** 422 */
export const SubmissionRejectedBody = restError(SubmissionRejected, "SubmissionRejected", 422, own, "The submission was rejected whole; every bad row and field is named")
/** 429 */
export const RateLimitedBody = restError(RateLimited, "RateLimited", 429, own, "Too many requests; retry after Retry-After seconds")
/** 503: the sample is moving between runners, or the database is unavailable; safe to retry with the same key. */
export const SampleBusyBody = restError(SampleBusy, "SampleBusy", 503, own, "Temporarily unavailable; retry with the same Idempotency-Key")

/** 412 */
export const VersionMismatchBody = restError(VersionMismatch, "VersionMismatch", 412, own, "If-Match does not name the sample's current version")

/** 409 */
export const SettingsVersionMismatchBody = restError(
  SettingsVersionMismatch,
  "SettingsVersionMismatch",
  409,
  own,
  "The settings were saved by someone else since expectedVersion; read them again, then retry"
)

/** 413 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String,
  limitBytes: Schema.Number
}) {}
export const PayloadTooLargeBody = restError(PayloadTooLarge, "PayloadTooLarge", 413, own, "The request body is over the limit")

/** 415 */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: Schema.String
}) {}
export const UnsupportedMediaTypeBody = restError(UnsupportedMediaType, "UnsupportedMediaType", 415, own, "The body must be JSON (Content-Type: application/json)")

/** 500: a bug; logged with the request id and counted. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  message: Schema.String,
  requestId: Schema.String
}) {}
export const InternalErrorBody = restError(InternalError, "InternalError", 500, own, "A bug on our side; logged with this request id")
