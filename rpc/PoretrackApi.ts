/**
 * The REST bridge under `/api/v1`, declared: every path, parameter, body, response and error status, from the same
 * schemas that decode requests. The OpenAPI 3.1 document (`/api/v1/openapi.json`) and the reference page
 * (`/api/docs`) are generated from this definition; the handlers live in runtime/ApiHandlers.ts.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Context, Schema } from "effect"
import { BatchResult, CreatedSubmission, EventBatch, EventList, ListSamples, NewSampleInput, QueuePage, SamplePage, SubmissionInput } from "./Api.ts"
import { ListSubmissions, SubmissionDetail, SubmissionPage } from "./Api.ts"
import {
  ApiKeyId,
  ApiKeyView,
  ApiScope,
  AuditEntry,
  CreatedApiKey,
  Password,
  PersonName,
  Principal,
  Role,
  Session,
  SignIn,
  UserId,
  UserView
} from "./Auth.ts"
import { Cancel, ChangePriority, CommandResult, EditableFields, FailStep, Hold, Rework, SkipStep, StartStep } from "./Commands.ts"
import {
  ApiKeyNotFoundBody,
  ForbiddenBody,
  IdempotencyKeyReusedBody,
  InternalErrorBody,
  InvalidInputBody,
  MalformedRequestBody,
  PayloadTooLargeBody,
  RateLimitedBody,
  SampleBusyBody,
  SampleNotFoundBody,
  StepTransitionRefusedBody,
  SubmissionNotFoundBody,
  SubmissionRejectedBody,
  UnauthenticatedBody,
  UnsupportedMediaTypeBody,
  UserNotFoundBody,
  VersionMismatchBody
} from "./HttpErrors.ts"
import { SettingsVersionMismatchBody } from "./HttpErrors.ts"
import { FacilitySettings, SettingsUpdate } from "./Settings.ts"
import { ExportsGroup } from "./ExportsApi.ts"
import { NotificationsGroup } from "./NotificationsApi.ts"
import { ExtractionsGroup } from "./ExtractionsApi.ts"
import { Priority, SampleView, STEP_DATA, STEP_IDS, StepId, WorkflowView } from "./Workflow.ts"

/** The authenticated principal of the current request. */
export class CurrentPrincipal extends Context.Tag("poretrack/CurrentPrincipal")<CurrentPrincipal, Principal>() {}

/**
 * Every route but sign-in and setup: a bearer API key, or the session cookie of a signed-in browser.
 * @effect-expect-leaking HttpServerRequest ParsedSearchParams RouteContext
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  provides: CurrentPrincipal,
  failure: Schema.Union(UnauthenticatedBody, RateLimitedBody),
  security: {
    bearer: HttpApiSecurity.bearer,
    session: HttpApiSecurity.apiKey({ key: "poretrack_session", in: "cookie" })
  }
}) {}

/**
 * On admin routes, after Authentication: refused with 403 before the request's input is read, unless the principal
 * may administer (an admin, or a key with the admin scope).
 */
export class RequireAdmin extends HttpApiMiddleware.Tag<RequireAdmin>()("RequireAdmin", { failure: ForbiddenBody }) {}

/** The name of the session cookie. */
export const SESSION_COOKIE = "poretrack_session"

const IdempotencyKeyHeader = Schema.String.pipe(
  Schema.pattern(/^[\x21-\x7e]{1,200}$/),
  Schema.annotations({ description: "1-200 printable ASCII characters without spaces; a repeat returns the first result" })
)
/** Headers of every write: the idempotency key and, on sample updates, the expected version. */
export const WriteHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(IdempotencyKeyHeader),
  "if-match": Schema.optional(Schema.String.annotations({ description: "the sample's version as an ETag (\"3\" or W/\"3\"); 412 when it moved on" }))
})

/** A sample id in a path. Malformed ids are answered 404 like unknown ones, so the path takes any string. */
const SamplePath = Schema.Struct({ id: Schema.String.annotations({ description: "sample id (UUID)", format: "uuid" }) })

/** A command's own fields (without its tag): the body of its route is decoded by the command's schema itself. */
const fieldsOf = <F extends Schema.Struct.Fields>(command: { readonly fields: F }): Omit<F, "_tag"> => {
  const { _tag: _ignored, ...rest } = command.fields
  return rest
}
const strict = { parseOptions: { onExcessProperty: "error" as const, errors: "all" as const } }

/** `POST /api/v1/samples`: one new sample, nothing more. */
export const NewSampleRequest = NewSampleInput.annotations(strict)

/** `POST /workflow/advance`: the current step's typed data, discriminated by `expectedStep`. */
export const AdvanceRequest = Schema.Union(
  ...STEP_IDS.map((step) => Schema.Struct({ expectedStep: Schema.Literal(step), data: STEP_DATA[step] }).annotations(strict))
).annotations({ identifier: "AdvanceRequest", description: "expectedStep names the step being completed; data is that step's record" })

const command = <const Name extends string, const Path extends `/${string}`>(name: Name, path: Path, summary: string) =>
  HttpApiEndpoint.post(name, `/api/v1/samples/:id${path}`)
    .setPath(SamplePath)
    .setHeaders(WriteHeaders)
    .addSuccess(CommandResult)
    .addError(SampleNotFoundBody)
    .addError(StepTransitionRefusedBody)
    .addError(IdempotencyKeyReusedBody)
    .addError(VersionMismatchBody)
    .addError(SampleBusyBody)
    .annotate(OpenApi.Summary, summary)

const BatchIds = { sampleIds: Schema.Array(Schema.String).pipe(Schema.minItems(1), Schema.maxItems(500)).annotations({ description: "1-500 distinct sample ids" }) }
const batch = <const Name extends string, const Action extends string>(name: Name, action: Action, summary: string) =>
  HttpApiEndpoint.post(name, `/api/v1/samples/batch/${action}`)
    .setHeaders(WriteHeaders)
    .addSuccess(BatchResult)
    .annotate(OpenApi.Summary, summary)

/** Samples: create, read, list, and every command of the state machine. */
export class SamplesGroup extends HttpApiGroup.make("samples")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/samples")
      .setHeaders(WriteHeaders)
      .setPayload(NewSampleRequest)
      .addSuccess(Schema.Struct({ ...SampleView.fields, warnings: Schema.Array(Schema.String) }), { status: 201 })
      .addError(SubmissionRejectedBody)
      .addError(IdempotencyKeyReusedBody)
      .annotate(OpenApi.Summary, "Create one sample (a submission of one)")
  )
  .add(HttpApiEndpoint.get("list", "/api/v1/samples").setUrlParams(Schema.Struct({
    ...ListSamples.fields,
    withTotal: Schema.optional(Schema.BooleanFromString.annotations({ description: "true: add `total`, the number of samples matching the filters" })),
    limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)))
  }).annotations(strict)).addSuccess(SamplePage)
    .annotate(OpenApi.Summary, "Filtered list, newest first or in another `sort` order, cursor pagination, optional total"))
  .add(HttpApiEndpoint.get("get", "/api/v1/samples/:id").setPath(SamplePath).addSuccess(SampleView).addError(SampleNotFoundBody)
    .annotate(OpenApi.Summary, "One sample (ETag: its version)"))
  .add(HttpApiEndpoint.get("workflow", "/api/v1/samples/:id/workflow").setPath(SamplePath).addSuccess(WorkflowView).addError(SampleNotFoundBody)
    .annotate(OpenApi.Summary, "The sample's eight steps, progress, SLA and estimated completion"))
  .add(HttpApiEndpoint.get("events", "/api/v1/samples/:id/events").setPath(SamplePath).addSuccess(EventList).addError(SampleNotFoundBody)
    .annotate(OpenApi.Summary, "The sample's audit trail, oldest first"))
  .add(command("receive", "/receive", "Take the sample in: step 1 queued, turnaround clock starts (no body)"))
  .add(command("advance", "/workflow/advance", "Complete the current step with its typed data; QC gates decide").setPayload(AdvanceRequest))
  .add(command("start", "/workflow/start", "Start the current step").setPayload(Schema.Struct(fieldsOf(StartStep)).annotations(strict)))
  .add(command("fail", "/workflow/fail", "Mark the current step failed").setPayload(Schema.Struct(fieldsOf(FailStep)).annotations(strict)))
  .add(command("skip", "/workflow/skip", "Skip the current step (only skippable steps)").setPayload(Schema.Struct(fieldsOf(SkipStep)).annotations(strict)))
  .add(command("rework", "/workflow/rework", "Send a failed sample back to an earlier step").setPayload(Schema.Struct(fieldsOf(Rework)).annotations(strict)))
  .add(command("hold", "/hold", "Put the sample on hold (SLA clocks pause)").setPayload(Schema.Struct(fieldsOf(Hold)).annotations(strict)))
  .add(command("resume", "/resume", "Take the sample off hold (no body, or {\"reason\": …} to record why)"))
  .add(command("cancel", "/cancel", "Cancel the sample for good").setPayload(Schema.Struct(fieldsOf(Cancel)).annotations(strict)))
  .add(command("archive", "/archive", "Archive a completed sample (no body)"))
  .add(command("priority", "/priority", "Change the priority and turnaround target").setPayload(Schema.Struct(fieldsOf(ChangePriority)).annotations(strict)))
  .add(
    HttpApiEndpoint.patch("edit", "/api/v1/samples/:id")
      .setPath(SamplePath)
      .setHeaders(WriteHeaders)
      .setPayload(EditableFields.annotations(strict))
      .addSuccess(CommandResult)
      .addError(SampleNotFoundBody)
      .addError(StepTransitionRefusedBody)
      .addError(IdempotencyKeyReusedBody)
      .addError(VersionMismatchBody)
      .addError(SampleBusyBody)
      .annotate(OpenApi.Summary, "Edit fields that may still change in the sample's state")
  )
  .add(batch("batchReceive", "receive", "Receive many samples; a result per sample").setPayload(Schema.Struct(BatchIds).annotations(strict)))
  .add(batch("batchAdvance", "advance", "Complete the current step of many samples with the same data").setPayload(
    Schema.Union(...STEP_IDS.map((step) => Schema.Struct({ ...BatchIds, expectedStep: Schema.Literal(step), data: STEP_DATA[step] }).annotations(strict)))
  ))
  .add(batch("batchPriority", "priority", "Change the priority of many samples").setPayload(Schema.Struct({ ...BatchIds, priority: Priority }).annotations(strict)))
  .add(batch("batchHold", "hold", "Put many samples on hold").setPayload(Schema.Struct({ ...BatchIds, ...fieldsOf(Hold) }).annotations(strict)))
  .add(batch("batchResume", "resume", "Resume many samples").setPayload(Schema.Struct(BatchIds).annotations(strict)))
  .add(batch("batchCancel", "cancel", "Cancel many samples").setPayload(Schema.Struct({ ...BatchIds, ...fieldsOf(Cancel) }).annotations(strict)))
  .add(batch("batchArchive", "archive", "Archive many samples").setPayload(Schema.Struct(BatchIds).annotations(strict)))
  .middleware(Authentication)
{}

/** Submissions: many samples at once, all or nothing. */
export class SubmissionsGroup extends HttpApiGroup.make("submissions")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/submissions")
      .setHeaders(WriteHeaders)
      .setPayload(SubmissionInput)
      .addSuccess(CreatedSubmission, { status: 201 })
      .addError(SubmissionRejectedBody)
      .addError(IdempotencyKeyReusedBody)
      .annotate(OpenApi.Summary, "A submission of 1-500 samples; one bad row rejects it whole (422 naming each row and field)")
  )
  .add(
    HttpApiEndpoint.get("list", "/api/v1/submissions")
      .setUrlParams(Schema.Struct({
        ...ListSubmissions.fields,
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200)))
      }).annotations(strict))
      .addSuccess(SubmissionPage)
      .annotate(OpenApi.Summary, "Submissions newest first, each with its progress; q searches number and submitter; cursor pagination (a submitter's are their own)")
  )
  .add(
    HttpApiEndpoint.get("get", "/api/v1/submissions/:id")
      .setPath(Schema.Struct({ id: Schema.String.annotations({ format: "uuid" }) }))
      .addSuccess(SubmissionDetail)
      .addError(SubmissionNotFoundBody)
      .annotate(OpenApi.Summary, "The submission, its samples and its progress")
  )
  .middleware(Authentication)
{}

/** The step queues, ordered as the lab works them. */
export class QueuesGroup extends HttpApiGroup.make("queues")
  .add(HttpApiEndpoint.get("counts", "/api/v1/queues").addSuccess(Schema.Record({ key: StepId, value: Schema.Number }))
    .annotate(OpenApi.Summary, "Queue length of every step"))
  .add(
    HttpApiEndpoint.get("get", "/api/v1/queues/:step")
      .setPath(Schema.Struct({ step: Schema.String.annotations({ description: "one of the eight step ids" }) }))
      .setUrlParams(Schema.Struct({
        cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(400))),
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)))
      }).annotations(strict))
      .addSuccess(QueuePage)
      .annotate(OpenApi.Summary, "One step's queue: urgent > high > normal > low, then due time, then arrival")
  )
  .middleware(Authentication)
{}

const ConsumerName = Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9_.-]{0,62}$/))

/** The event log for consumers (API keys with events:read): at least once, from a durable cursor per consumer. */
export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("read", "/api/v1/events")
      .setUrlParams(Schema.Struct({ consumer: ConsumerName, limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))) }).annotations(strict))
      .addSuccess(EventBatch)
      .annotate(OpenApi.Summary, "The next events after this consumer's cursor (consumer names are private to their owner)")
  )
  .add(
    HttpApiEndpoint.post("ack", "/api/v1/events/ack")
      .setPayload(Schema.Struct({ consumer: ConsumerName, cursor: Schema.String.pipe(Schema.maxLength(60)) }).annotations(strict))
      .addSuccess(Schema.Void, { status: 204 })
      .annotate(OpenApi.Summary, "Move this consumer's cursor forward (never back, never past the log's end)")
  )
  .middleware(Authentication)
{}

/** The facility's settings (SLA targets, QC thresholds) as staff read them; admins change them (AdminGroup). */
export class SettingsGroup extends HttpApiGroup.make("settings")
  .add(HttpApiEndpoint.get("get", "/api/v1/settings").addSuccess(FacilitySettings)
    .annotate(OpenApi.Summary, "The SLA targets and QC thresholds in force, with their version (0: the environment's, never saved)"))
  .middleware(Authentication)
{}

/** The caller's own account. */
export class AccountGroup extends HttpApiGroup.make("account")
  .add(HttpApiEndpoint.get("me", "/api/v1/me").addSuccess(Principal).annotate(OpenApi.Summary, "Who am I: the authenticated user or API key"))
  .add(
    HttpApiEndpoint.get("session", "/api/v1/auth/session").addSuccess(Session).addError(UnauthenticatedBody)
      .annotate(OpenApi.Summary, "This browser's session: who, its CSRF token and expiry (a reloaded page picks its session up here)")
  )
  .add(HttpApiEndpoint.post("signOut", "/api/v1/auth/logout").addSuccess(Schema.Void, { status: 204 }).annotate(OpenApi.Summary, "End this browser session"))
  .add(
    HttpApiEndpoint.post("changePassword", "/api/v1/auth/password")
      .setPayload(Schema.Struct({ currentPassword: Schema.String.pipe(Schema.maxLength(200)), newPassword: Password }).annotations(strict))
      .addSuccess(Schema.Void, { status: 204 })
      .annotate(OpenApi.Summary, "Change my password (ends my other sessions)")
  )
  .middleware(Authentication)
{}

/** Sign-in and first setup: the only routes without credentials. */
export class PublicGroup extends HttpApiGroup.make("public")
  .add(
    HttpApiEndpoint.get("index", "/api/v1")
      .addSuccess(Schema.Struct({ name: Schema.String, version: Schema.String, openapi: Schema.String, docs: Schema.String, rpc: Schema.String }))
      .annotate(OpenApi.Summary, "Where the API's document, reference and RPC endpoint are")
  )
  .add(
    HttpApiEndpoint.post("signIn", "/api/v1/auth/login")
      .setPayload(SignIn.annotations(strict))
      .addSuccess(Session)
      .annotate(OpenApi.Summary, "Sign in: sets the HttpOnly session cookie; echo csrfToken in X-CSRF-Token on writes")
  )
  .add(
    HttpApiEndpoint.post("setup", "/api/v1/setup")
      .setPayload(Schema.Struct({ token: Schema.String.pipe(Schema.maxLength(200)), email: SignIn.fields.email, name: PersonName, password: Password }).annotations(strict))
      .addSuccess(UserView, { status: 201 })
      .annotate(OpenApi.Summary, "Create the first admin with the one-time setup token printed at first start")
  )
{}

/** Users, API keys, the facility's settings and the security audit log (admins; keys with the admin scope). */
export class AdminGroup extends HttpApiGroup.make("admin")
  .add(HttpApiEndpoint.get("listUsers", "/api/v1/users").addSuccess(Schema.Array(UserView)).annotate(OpenApi.Summary, "Every user"))
  .add(
    HttpApiEndpoint.post("createUser", "/api/v1/users")
      .setHeaders(WriteHeaders)
      .setPayload(Schema.Struct({ email: SignIn.fields.email, name: PersonName, role: Role, password: Password }).annotations(strict))
      .addSuccess(UserView, { status: 201 })
      .annotate(OpenApi.Summary, "Create a user")
  )
  .add(
    HttpApiEndpoint.patch("updateUser", "/api/v1/users/:id")
      .setPath(Schema.Struct({ id: UserId }))
      .setPayload(Schema.Struct({ name: Schema.optional(PersonName), role: Schema.optional(Role), disabled: Schema.optional(Schema.Boolean) }).annotations(strict))
      .addSuccess(UserView)
      .addError(UserNotFoundBody)
      .annotate(OpenApi.Summary, "Rename, change the role of, disable or enable a user (disabling ends their sessions)")
  )
  .add(HttpApiEndpoint.get("listKeys", "/api/v1/keys").addSuccess(Schema.Array(ApiKeyView)).annotate(OpenApi.Summary, "Every API key (never their secrets)"))
  .add(
    HttpApiEndpoint.post("createKey", "/api/v1/keys")
      .setHeaders(WriteHeaders)
      .setPayload(Schema.Struct({ name: PersonName, scopes: Schema.Array(ApiScope).pipe(Schema.minItems(1)) }).annotations(strict))
      .addSuccess(CreatedApiKey, { status: 201 })
      .annotate(OpenApi.Summary, "Create an API key; its secret is in this response only")
  )
  .add(
    HttpApiEndpoint.post("revokeKey", "/api/v1/keys/:id/revoke")
      .setPath(Schema.Struct({ id: ApiKeyId }))
      .addSuccess(ApiKeyView)
      .addError(ApiKeyNotFoundBody)
      .annotate(OpenApi.Summary, "Revoke a key: it stops working within seconds on every gateway")
  )
  .add(
    HttpApiEndpoint.get("audit", "/api/v1/audit")
      .setUrlParams(Schema.Struct({
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500))),
        before: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.positive()))
      }).annotations(strict))
      .addSuccess(Schema.Array(AuditEntry))
      .annotate(OpenApi.Summary, "Security events, newest first: sign-ins, failures, keys, permission refusals")
  )
  .add(
    HttpApiEndpoint.put("updateSettings", "/api/v1/settings")
      .setPayload(SettingsUpdate.annotations(strict))
      .addSuccess(FacilitySettings)
      .addError(SettingsVersionMismatchBody)
      .annotate(OpenApi.Summary, "Replace the SLA targets and QC thresholds; expectedVersion is the version read (409 when another save came first)")
  )
  // The later middleware runs first: Authentication, then RequireAdmin, then decoding.
  .middleware(RequireAdmin)
  .middleware(Authentication)
{}

/** The whole REST bridge. Errors every route may answer are declared once here. */
export class PoretrackApi extends HttpApi.make("poretrack")
  .add(SamplesGroup)
  .add(SubmissionsGroup)
  .add(QueuesGroup)
  .add(EventsGroup)
  .add(SettingsGroup)
  .add(AccountGroup)
  .add(PublicGroup)
  .add(AdminGroup)
  .add(NotificationsGroup.middleware(Authentication))
  .add(ExtractionsGroup.middleware(Authentication))
  .add(ExportsGroup.middleware(Authentication))
  .addError(MalformedRequestBody)
  .addError(UnauthenticatedBody)
  .addError(ForbiddenBody)
  .addError(InvalidInputBody)
  .addError(PayloadTooLargeBody)
  .addError(UnsupportedMediaTypeBody)
  .addError(RateLimitedBody)
  .addError(InternalErrorBody)
  .annotate(OpenApi.Title, "poretrack REST API")
  .annotate(OpenApi.Version, "1")
  .annotate(OpenApi.Description, "Sample tracking for nanopore sequencing core facilities. Authenticate with `Authorization: Bearer <API key>`. Every write takes `Idempotency-Key`.")
{}
