/**
 * The handlers of the REST bridge (rpc/PoretrackApi.ts): each decodes nothing itself beyond what the definition
 * declares, checks who may do it (runtime/Authorization.ts), and calls the same application services as `/rpc`.
 */
import { HttpApiBuilder, HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Layer, Option, Schema } from "effect"
import { allowedCommands, currentStep } from "../actors/SampleWorkflow.ts"
import { Policy } from "../actors/WorkflowPolicy.ts"
import { SampleRepo } from "../persistence/SampleRepo.ts"
import { actorOf, Forbidden, type Principal, Unauthenticated } from "../rpc/Auth.ts"
import {
  Archive,
  Cancel,
  ChangePriority,
  CompleteStep,
  EditFields,
  FailStep,
  Hold,
  Receive,
  Resume,
  Rework,
  SkipStep,
  StartStep,
  type CommandResult,
  type SampleCommand
} from "../rpc/Commands.ts"
import { decodeStrict, decodeSubmission } from "../rpc/Decode.ts"
import { InvalidInput, MalformedRequest, SampleNotFound, StepTransitionRefused, SubmissionNotFound } from "../rpc/Errors.ts"
import { SampleId, SubmissionId } from "../rpc/Ids.ts"
import { AdvanceRequest, CurrentPrincipal, PoretrackApi, SESSION_COOKIE } from "../rpc/PoretrackApi.ts"
import { type SampleView, StepId, type StepData } from "../rpc/Workflow.ts"
import type { NewSampleInput } from "../rpc/Api.ts"
import { Auth } from "./Auth.ts"
import { can, mayCommand, ownEmailOf, refuse, requireCommand, requireCreate, requirePermission, requireSampleRead } from "./Authorization.ts"
import { requireSubmissionRead } from "./Authorization.ts"
import { requireSettingsChange, requireSettingsRead } from "./Authorization.ts"
import { SampleApi } from "./SampleApi.ts"
import { ExportHandlersLive } from "./ExportHandlers.ts"
import { readSettings, updateSettings } from "./Settings.ts"
import { NotificationHandlersLayer } from "./NotificationHandlers.ts"
import { ExtractionHandlersLive } from "./ExtractionHandlers.ts"

const sampleIdOf = (raw: string) =>
  Schema.decodeUnknownEither(SampleId)(raw).pipe(Either.mapLeft(() => new SampleNotFound({ sampleId: raw.slice(0, 60) })))

const setHeaders = (headers: Record<string, string>) =>
  HttpApp.appendPreResponseHandler((_request, response) => Effect.succeed(HttpServerResponse.setHeaders(response, headers)))

/** The version in an `If-Match` header (`"3"`, `W/"3"` or `3`), or a 412-worthy mismatch when it is unreadable. */
const ifMatchVersion = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined
  const m = /^(?:W\/)?"?(\d{1,9})"?$/.exec(raw.trim())
  return m ? Number(m[1]) : -1
}

/** The JSON body of a raw request: `undefined` when empty. The door has already refused unreadable JSON. */
const bodyOf = (request: HttpServerRequest.HttpServerRequest) =>
  request.text.pipe(
    Effect.mapError(() => new MalformedRequest({ message: "could not read the request body" })),
    Effect.flatMap((text) =>
      text.trim().length === 0
        ? Effect.succeed(undefined as unknown)
        : Either.try({ try: () => JSON.parse(text) as unknown, catch: () => new MalformedRequest({ message: "the request body is not valid JSON" }) })
    )
  )

/** A parsed body without fields (`undefined`: empty, or `{}`), or what is wrong with it. */
export const emptyBody = (body: unknown, what: string): Either.Either<void, InvalidInput> =>
  body === undefined || (typeof body === "object" && body !== null && !Array.isArray(body) && Object.keys(body).length === 0)
    ? Either.void
    : Either.left(new InvalidInput({
      message: `invalid ${what}`,
      issues: typeof body === "object" && body !== null && !Array.isArray(body)
        ? Object.keys(body).slice(0, 20).map((key) => ({ path: key.slice(0, 60), message: "unknown field: this request takes no fields" }))
        : [{ path: "", message: "the body must be empty or a JSON object without fields" }]
    }))

/** A body without fields: empty, or `{}`. */
const requireEmpty = (request: HttpServerRequest.HttpServerRequest, what: string) =>
  Effect.flatMap(bodyOf(request), (body) => emptyBody(body, what))

/** The headers of a command's reply. */
export const commandHeaders = (result: CommandResult): Record<string, string> => ({
  "idempotency-key": result.idempotencyKey,
  etag: `"${result.sample.version}"`,
  ...(result.replayed ? { "idempotent-replayed": "true" } : {})
})

/** Sends one command for `principal`, honouring Idempotency-Key and If-Match (the REST routes and runtime/DirectRoutes.ts). */
export const runCommandAs = (
  principal: Principal,
  rawId: string,
  command: SampleCommand,
  headers: { readonly "idempotency-key"?: string | undefined; readonly "if-match"?: string | undefined }
) =>
  Effect.gen(function*() {
    const api = yield* SampleApi
    const id = yield* sampleIdOf(rawId)
    // A submitter's command is checked against the sample's owner and state first; staff and keys go straight on.
    const sample = ownEmailOf(principal) !== undefined ? yield* api.get(id) : { id, submitterEmail: "", status: "in_progress" as const }
    yield* requireCommand(principal, command._tag, sample)
    // If-Match is checked by the sample's owner in turn with other commands, so no write slips in between.
    return yield* api.execute(id, command, headers["idempotency-key"], actorOf(principal), ifMatchVersion(headers["if-match"]))
  })

/** Sends one command for the request's principal; sets the reply headers. */
const runCommand = (
  rawId: string,
  command: SampleCommand,
  headers: { readonly "idempotency-key"?: string | undefined; readonly "if-match"?: string | undefined }
) =>
  Effect.gen(function*() {
    const result = yield* runCommandAs(yield* CurrentPrincipal, rawId, command, headers)
    yield* setHeaders(commandHeaders(result))
    return commandReply(result)
  })

/**
 * A command's reply, written as JSON here rather than encoded by the endpoint's success schema: `CommandResult` has no
 * transformation (rpc/Commands.test.ts checks it), so its JSON is its encoding. The schema's encoding cost ~80 µs per
 * request (p50) in the running server, where the parser's code, shared by every schema, runs unoptimised.
 */
const commandReply = (result: CommandResult) => HttpServerResponse.unsafeJson(result)

/**
 * The command of `POST /workflow/advance` from its parsed body (`undefined`: empty). A body for another step than the
 * sample's current one is a 409 saying so rather than a 422 judging its data.
 */
export const advanceCommand = (rawId: string, input: unknown) =>
  Effect.gen(function*() {
    const decoded = decodeStrict(AdvanceRequest, input ?? {}, "advance request")
    if (Either.isLeft(decoded)) {
      const claimed = Schema.decodeUnknownOption(Schema.Struct({ expectedStep: StepId }))(input)
      if (Option.isSome(claimed)) {
        const id = yield* sampleIdOf(rawId)
        const state = yield* (yield* SampleRepo).get(id).pipe(Effect.orDie)
        if (Option.isNone(state)) return yield* new SampleNotFound({ sampleId: id })
        const step = currentStep(state.value)
        if (step !== claimed.value.expectedStep) {
          return yield* new StepTransitionRefused({
            sampleId: id,
            status: state.value.status,
            currentStep: step,
            attempted: "CompleteStep",
            allowed: allowedCommands(state.value, yield* (yield* Policy).current),
            reason: `${claimed.value.expectedStep} is not the current step; the sample is ${step === null ? state.value.status : `at ${step}`}`
          })
        }
      }
      return yield* decoded.left
    }
    const { data, expectedStep } = decoded.right
    return new CompleteStep({ record: { step: expectedStep, data } as StepData }, true)
  })

/** Creates one sample for `principal` (`POST /api/v1/samples`, here and in runtime/DirectRoutes.ts). */
export const createSampleAs = (principal: Principal, input: NewSampleInput, idempotencyKey: string | undefined) =>
  Effect.gen(function*() {
    yield* requireCreate(principal, input.submitterEmail)
    return yield* (yield* SampleApi).createSample(input, actorOf(principal), idempotencyKey)
  })

/** The headers of a created sample's reply. */
export const createdHeaders = (sample: SampleView): Record<string, string> => ({
  location: `/api/v1/samples/${sample.id}`,
  etag: `"${sample.version}"`
})

/** The body of a created sample's reply: the sample and what its values warn of. */
export const createdBody = (created: { readonly sample: SampleView; readonly warnings: ReadonlyArray<string> }) => ({
  ...created.sample,
  warnings: created.warnings
})

/** A sample the principal may read (404 before 403: a submitter cannot probe others' ids either way). */
const readable = (rawId: string) =>
  Effect.gen(function*() {
    const api = yield* SampleApi
    const principal = yield* CurrentPrincipal
    const id = yield* sampleIdOf(rawId)
    const sample = yield* api.get(id)
    yield* requireSampleRead(principal, sample)
    return { id, sample, api }
  })

const forCommand = (principal: Principal) => can(principal, "samples:work") || can(principal, "samples:manage") || ownEmailOf(principal) !== undefined

/** The batch endpoints: the same command to many samples, each sample's outcome on its own. */
const runBatch = (
  sampleIds: ReadonlyArray<string>,
  command: (typeof import("../rpc/Api.ts"))["BatchCommand"]["Type"],
  key: string | undefined
) =>
  Effect.gen(function*() {
    const api = yield* SampleApi
    const principal = yield* CurrentPrincipal
    if (ownEmailOf(principal) !== undefined || !forCommand(principal)) {
      return yield* refuse(principal, "batch commands are for facility staff and keys with samples:write")
    }
    yield* requireCommand(principal, command._tag, { id: "", submitterEmail: "", status: "in_progress" })
    const ids: Array<SampleId> = []
    const issues: Array<{ path: string; message: string }> = []
    sampleIds.forEach((raw, i) => {
      const d = Schema.decodeUnknownEither(SampleId)(raw)
      if (Either.isLeft(d)) issues.push({ path: `sampleIds.${i}`, message: "must be a sample id (UUID)" })
      else ids.push(d.right)
    })
    if (issues.length > 0) return yield* new InvalidInput({ message: "invalid batch request", issues })
    return yield* api.batch(ids, command, key, actorOf(principal))
  })

const SamplesLive = HttpApiBuilder.group(PoretrackApi, "samples", (handlers) =>
  handlers
    .handle("create", ({ headers, payload }) =>
      Effect.gen(function*() {
        const created = yield* createSampleAs(yield* CurrentPrincipal, payload, headers["idempotency-key"])
        yield* setHeaders(createdHeaders(created.sample))
        // Like a command's reply (commandReply): a SampleView has no transformation, so its JSON is its encoding.
        return HttpServerResponse.unsafeJson(createdBody(created), { status: 201 })
      }))
    .handle("list", ({ urlParams }) =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const principal = yield* CurrentPrincipal
        yield* requirePermission(principal, "samples:read")
        const own = ownEmailOf(principal)
        // A submitter's list is their own samples; asking for someone else's finds nothing.
        if (own !== undefined && urlParams.submitter !== undefined && urlParams.submitter.toLowerCase() !== own) {
          return { items: [], nextCursor: null, ...(urlParams.withTotal === true ? { total: 0 } : {}) }
        }
        return yield* api.list({ ...urlParams, ...(own !== undefined ? { submitter: own } : {}), limit: urlParams.limit ?? 50 })
      }))
    .handle("get", ({ path }) =>
      Effect.map(readable(path.id), ({ sample }) => sample).pipe(Effect.tap((s) => setHeaders({ etag: `"${s.version}"` }))))
    .handle("workflow", ({ path }) =>
      Effect.gen(function*() {
        const { api, id, sample } = yield* readable(path.id)
        const principal = yield* CurrentPrincipal
        const view = yield* api.workflow(id)
        return { ...view, allowedCommands: view.allowedCommands.filter((tag) => mayCommand(principal, tag, sample)) }
      }))
    .handle("events", ({ path }) => Effect.flatMap(readable(path.id), ({ api, id }) => api.events(id)))
    .handleRaw("receive", ({ headers, path, request }) =>
      Effect.zipRight(requireEmpty(request, "receive request"), runCommand(path.id, new Receive(), headers)))
    .handleRaw("advance", ({ headers, path, request }) =>
      Effect.flatMap(bodyOf(request), (input) => advanceCommand(path.id, input)).pipe(
        Effect.flatMap((command) => runCommand(path.id, command, headers))
      ))
    .handle("start", ({ headers, path, payload }) => runCommand(path.id, new StartStep(payload), headers))
    .handle("fail", ({ headers, path, payload }) => runCommand(path.id, new FailStep(payload), headers))
    .handle("skip", ({ headers, path, payload }) => runCommand(path.id, new SkipStep(payload), headers))
    .handle("rework", ({ headers, path, payload }) => runCommand(path.id, new Rework(payload), headers))
    .handle("hold", ({ headers, path, payload }) => runCommand(path.id, new Hold(payload), headers))
    .handleRaw("resume", ({ headers, path, request }) =>
      Effect.gen(function*() {
        const body = yield* bodyOf(request)
        const fields = body === undefined ? {} : yield* decodeStrict(Resume.pipe(Schema.omit("_tag")), body, "resume request")
        return yield* runCommand(path.id, new Resume(fields), headers)
      }))
    .handle("cancel", ({ headers, path, payload }) => runCommand(path.id, new Cancel(payload), headers))
    .handleRaw("archive", ({ headers, path, request }) =>
      Effect.zipRight(requireEmpty(request, "archive request"), runCommand(path.id, new Archive(), headers)))
    .handle("priority", ({ headers, path, payload }) => runCommand(path.id, new ChangePriority(payload), headers))
    .handle("edit", ({ headers, path, payload }) => runCommand(path.id, new EditFields({ fields: payload }), headers))
    .handle("batchReceive", ({ headers, payload }) => runBatch(payload.sampleIds, new Receive(), headers["idempotency-key"]))
    .handle("batchAdvance", ({ headers, payload }) => {
      const { data, expectedStep, sampleIds } = payload
      return runBatch(sampleIds, new CompleteStep({ record: { step: expectedStep, data } as StepData }, true), headers["idempotency-key"])
    })
    .handle("batchPriority", ({ headers, payload }) =>
      runBatch(payload.sampleIds, new ChangePriority({ priority: payload.priority }), headers["idempotency-key"]))
    .handle("batchHold", ({ headers, payload }) => runBatch(payload.sampleIds, new Hold({ reason: payload.reason }), headers["idempotency-key"]))
    .handle("batchResume", ({ headers, payload }) => runBatch(payload.sampleIds, new Resume({}), headers["idempotency-key"]))
    .handle("batchCancel", ({ headers, payload }) => runBatch(payload.sampleIds, new Cancel({ reason: payload.reason }), headers["idempotency-key"]))
    .handle("batchArchive", ({ headers, payload }) => runBatch(payload.sampleIds, new Archive(), headers["idempotency-key"])))

const SubmissionsLive = HttpApiBuilder.group(PoretrackApi, "submissions", (handlers) =>
  handlers
    .handleRaw("create", ({ headers, request }) =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const principal = yield* CurrentPrincipal
        const input = yield* decodeSubmission(yield* bodyOf(request))
        yield* requireCreate(principal, input.submitterEmail)
        const created = yield* api.createSubmission(input, actorOf(principal), headers["idempotency-key"])
        yield* setHeaders({ location: `/api/v1/submissions/${created.submission.id}` })
        return HttpServerResponse.unsafeJson(created, { status: 201 })
      }))
    .handle("list", ({ urlParams }) =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const principal = yield* CurrentPrincipal
        yield* requirePermission(principal, "samples:read")
        // A submitter's list is their own submissions, each counting only their own samples.
        return yield* api.listSubmissions({ ...urlParams, limit: urlParams.limit ?? 50 }, ownEmailOf(principal))
      }))
    .handle("get", ({ path }) =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const principal = yield* CurrentPrincipal
        yield* requirePermission(principal, "samples:read")
        const id = yield* Schema.decodeUnknownEither(SubmissionId)(path.id).pipe(
          Either.mapLeft(() => new SubmissionNotFound({ submissionId: path.id.slice(0, 60) }))
        )
        // The same reading as Submissions.Get: the samples and progress a submitter sees are their own.
        const found = yield* api.submissionDetail(id, ownEmailOf(principal))
        yield* requireSubmissionRead(principal, found.submission)
        return found
      })))

const QueuesLive = HttpApiBuilder.group(PoretrackApi, "queues", (handlers) =>
  handlers
    .handle("counts", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (ownEmailOf(principal) !== undefined) return yield* refuse(principal, "the lab's queues are for facility staff")
        yield* requirePermission(principal, "samples:read")
        return yield* (yield* SampleApi).queueCounts
      }))
    .handle("get", ({ path, urlParams }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (ownEmailOf(principal) !== undefined) return yield* refuse(principal, "the lab's queues are for facility staff")
        yield* requirePermission(principal, "samples:read")
        const step = yield* Schema.decodeUnknownEither(StepId)(path.step).pipe(
          Either.mapLeft(() => new InvalidInput({ message: `unknown step ${path.step.slice(0, 40)}`, issues: [{ path: "step", message: "must be one of the eight step ids" }] }))
        )
        return yield* (yield* SampleApi).queue(step, urlParams.cursor, urlParams.limit)
      })))

const EventsLive = HttpApiBuilder.group(PoretrackApi, "events", (handlers) =>
  handlers
    .handle("read", ({ urlParams }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requirePermission(principal, "events:read")
        return yield* (yield* SampleApi).readEvents(actorOf(principal), urlParams.consumer, urlParams.limit ?? 100)
      }))
    .handle("ack", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requirePermission(principal, "events:read")
        yield* (yield* SampleApi).ackEvents(actorOf(principal), payload.consumer, payload.cursor)
      })))

const SettingsLive = HttpApiBuilder.group(PoretrackApi, "settings", (handlers) =>
  handlers.handle("get", () =>
    Effect.gen(function*() {
      yield* requireSettingsRead(yield* CurrentPrincipal)
      return yield* readSettings()
    })))

/** The session cookie: HttpOnly, SameSite=Lax, for the whole site. */
const sessionCookie = (token: string, maxAgeSeconds: number) =>
  `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}`

const AccountLive = HttpApiBuilder.group(PoretrackApi, "account", (handlers) =>
  handlers
    .handle("me", () => CurrentPrincipal)
    .handle("session", () =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const token = request.cookies[SESSION_COOKIE]
        if (token === undefined) return yield* new Unauthenticated({ message: "no browser session: this call answers a signed-in browser, not an API key" })
        return yield* (yield* Auth).authenticateSession(token)
      }))
    .handle("signOut", () =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const token = request.cookies[SESSION_COOKIE]
        if (token !== undefined) yield* (yield* Auth).signOut(token)
        yield* setHeaders({ "set-cookie": sessionCookie("", 0) })
      }))
    .handle("changePassword", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (principal._tag !== "User") return yield* new Forbidden({ message: "an API key has no password" })
        yield* (yield* Auth).changePassword(principal, payload.currentPassword, payload.newPassword)
      })))

const clientAddress = Effect.map(HttpServerRequest.HttpServerRequest, (r) => Option.getOrElse(r.remoteAddress, () => "unknown"))

const PublicLive = HttpApiBuilder.group(PoretrackApi, "public", (handlers) =>
  handlers
    .handle("index", () =>
      Effect.succeed({ name: "poretrack", version: "1", openapi: "/api/v1/openapi.json", docs: "/api/docs", rpc: "/rpc" }))
    .handle("signIn", ({ payload }) =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const { session, token } = yield* auth.signIn(payload, yield* clientAddress)
        const seconds = Math.max(0, Math.round((Date.parse(session.expiresAt) - Date.now()) / 1000))
        yield* setHeaders({ "set-cookie": sessionCookie(token, seconds) })
        return session
      }))
    .handle("setup", ({ payload }) =>
      Effect.flatMap(Auth, (auth) => auth.completeSetup(payload.token, { email: payload.email, name: payload.name, password: payload.password }))))

const AdminLive = HttpApiBuilder.group(PoretrackApi, "admin", (handlers) => {
  const admin = <A, E, R>(f: (principal: Principal, auth: Auth) => Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      yield* requirePermission(principal, "admin")
      return yield* f(principal, yield* Auth)
    })
  return handlers
    .handle("listUsers", () => admin((_, auth) => auth.listUsers()))
    .handle("createUser", ({ payload }) => admin((p, auth) => auth.createUser(payload, p)))
    .handle("updateUser", ({ path, payload }) => admin((p, auth) => auth.updateUser(path.id, payload, p)))
    .handle("listKeys", () => admin((_, auth) => auth.listApiKeys()))
    .handle("createKey", ({ payload }) => admin((p, auth) => auth.createApiKey(payload, p)))
    .handle("revokeKey", ({ path }) => admin((p, auth) => auth.revokeApiKey(path.id, p)))
    .handle("audit", ({ urlParams }) => admin((_, auth) => auth.auditLog({ limit: urlParams.limit ?? 100, before: urlParams.before })))
    .handle("updateSettings", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requireSettingsChange(principal)
        return yield* updateSettings(payload, principal)
      }))
})

/** Every group of the REST bridge. */
export const ApiHandlersLive = SamplesLive.pipe(
  Layer.merge(SubmissionsLive),
  Layer.merge(QueuesLive),
  Layer.merge(EventsLive),
  Layer.merge(SettingsLive),
  Layer.merge(AccountLive),
  Layer.merge(PublicLive),
  Layer.merge(AdminLive),
  Layer.merge(ExportHandlersLive),
  Layer.merge(NotificationHandlersLayer),
  Layer.merge(ExtractionHandlersLive)
)
