/**
 * The REST bridge under `/api/v1` for integrators and scripts. Every body and parameter is decoded with Schema:
 * unreadable requests are 400, invalid values 422 (each field named), refused transitions 409 (with the state and the
 * allowed commands), unknown ids 404. Bad input never reaches a 500.
 */
import { HttpLayerRouter, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Schema } from "effect"
import { BatchCommand, ListSamples, NewSampleInput } from "../rpc/Api.ts"
import {
  Archive,
  Cancel,
  ChangePriority,
  CompleteStep,
  EditableFields,
  EditFields,
  FailStep,
  Hold,
  Receive,
  Resume,
  Rework,
  SkipStep,
  StartStep,
  type SampleCommand
} from "../rpc/Commands.ts"
import { decodeStrict, decodeSubmission, issuesOf } from "../rpc/Decode.ts"
import { InvalidInput, MalformedRequest, SampleNotFound } from "../rpc/Errors.ts"
import { SampleId, SubmissionId } from "../rpc/Ids.ts"
import { StepData, StepId } from "../rpc/Workflow.ts"
import { SampleApi } from "./SampleApi.ts"

/** Any typed error of the API, as HTTP. */
const errorResponse = (e: { readonly _tag: string; readonly message?: string }): HttpServerResponse.HttpServerResponse => {
  const { _tag, ...fields } = e as { _tag: string } & Record<string, unknown>
  const status = ({
    MalformedRequest: 400,
    InvalidInput: 422,
    SubmissionRejected: 422,
    SampleNotFound: 404,
    SubmissionNotFound: 404,
    RouteNotFound: 404,
    StepTransitionRefused: 409,
    IdempotencyKeyReused: 409,
    SampleBusy: 503
  } as Record<string, number>)[_tag] ?? 500
  const own = typeof e.message === "string" && e.message.length > 0 && e.message !== _tag ? e.message : undefined
  const message = own !== undefined
    ? own
    : _tag === "StepTransitionRefused"
    ? String(fields.reason)
    : _tag === "SampleNotFound"
    ? `no sample ${String(fields.sampleId)}`
    : _tag === "SubmissionNotFound"
    ? `no submission ${String(fields.submissionId)}`
    : _tag
  const body = { error: _tag, ...fields, message }
  return HttpServerResponse.unsafeJson(body, {
    status,
    ...(status === 503 ? { headers: { "retry-after": "1" } } : {})
  })
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers })

/** The request body as JSON; an empty body reads as `{}`. */
const body = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const text = yield* request.text.pipe(Effect.mapError(() => new MalformedRequest({ message: "could not read the request body" })))
  if (text.trim().length === 0) return {} as unknown
  return yield* Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: () => new MalformedRequest({ message: "the request body is not valid JSON" })
  })
})

const decode = <A, I>(schema: Schema.Schema<A, I>, input: unknown, what: string) => decodeStrict(schema, input, what)

const pathId = Effect.gen(function*() {
  const { params } = yield* HttpRouter.RouteContext
  const raw = params.id ?? ""
  return yield* Schema.decodeUnknownEither(SampleId)(raw).pipe(Either.mapLeft(() => new SampleNotFound({ sampleId: raw })))
})

const KeyHeader = Schema.String.pipe(Schema.pattern(/^[\x21-\x7e]{1,200}$/))

const requestMeta = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const rawKey = request.headers["idempotency-key"]
  const key = rawKey === undefined
    ? undefined
    : yield* Schema.decodeUnknownEither(KeyHeader)(rawKey).pipe(Either.mapLeft(() =>
      new InvalidInput({
        message: "invalid Idempotency-Key header",
        issues: [{ path: "header.Idempotency-Key", message: "1-200 printable ASCII characters without spaces" }]
      })
    ))
  const actor = (request.headers["x-actor"] ?? "api").slice(0, 200)
  return { key, actor }
})

const handle = <E extends { readonly _tag: string }, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  effect.pipe(Effect.catchAll((e) => Effect.succeed(errorResponse(e))))

/** A route that sends one command built from the body to the sample in the path. */
const command = (build: (input: unknown) => Either.Either<SampleCommand, InvalidInput>) =>
  handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const id = yield* pathId
    const { actor, key } = yield* requestMeta
    const input = yield* body
    const cmd = yield* build(input)
    const result = yield* api.execute(id, cmd, key, actor)
    return json(result, 200, {
      "idempotency-key": result.idempotencyKey,
      ...(result.replayed ? { "idempotent-replayed": "true" } : {})
    })
  }))

/** A body without fields: `{}` or none. (`Schema.Struct({})` would accept any non-null value, even `42` or `{"x":1}`.) */
const Empty = Schema.Record({
  key: Schema.String,
  value: Schema.Never.annotations({ message: () => "unknown field: this request takes no fields" })
}).annotations({ message: () => "the body must be empty or a JSON object without fields" })
const ReasonBody = Schema.Struct({ reason: Schema.String })
const AdvanceBody = Schema.Struct({ expectedStep: StepId, data: Schema.optionalWith(Schema.Unknown, { default: () => ({}) }) })

/** `{"expectedStep","data"}` → CompleteStep with the step's typed data (errors name `data.<field>`). */
const advance = (input: unknown): Either.Either<CompleteStep, InvalidInput> =>
  Either.gen(function*() {
    const { data, expectedStep } = yield* decode(AdvanceBody, input, "advance request")
    const record = yield* decode(StepData, { step: expectedStep, data }, `${expectedStep} data`)
    return new CompleteStep({ record }, true) // already decoded: skip the constructor's second validation
  })

const withTag = <A, I>(schema: Schema.Schema<A, I>, tag: string) => (input: unknown) =>
  decode(schema, typeof input === "object" && input !== null ? { ...input, _tag: tag } : input, `${tag} request`)

const ListQuery = Schema.Struct({
  ...ListSamples.fields,
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)))
})
const QueueQuery = Schema.Struct({
  cursor: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)))
})
const EventsQuery = Schema.Struct({
  consumer: Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9_.-]{0,62}$/)),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)))
})
const AckBody = Schema.Struct({ consumer: Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9_.-]{0,62}$/)), cursor: Schema.String })

const query = <A, I>(schema: Schema.Schema<A, I>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://localhost")
    const raw: Record<string, string> = {}
    url.searchParams.forEach((v, k) => {
      if (v !== "") raw[k] = v
    })
    return yield* decode(schema, raw, "query")
  })

/** Each action decodes the body's other fields strictly, so a typo is named rather than ignored. */
const noFields = <A>(make: () => A, what: string) => (input: unknown) => decode(Empty, input, what).pipe(Either.map(make))
const BATCH_ACTIONS: Record<string, (input: Record<string, unknown>) => Either.Either<BatchCommand, InvalidInput>> = {
  receive: noFields(() => new Receive(), "batch receive"),
  advance: advance,
  priority: withTag(ChangePriority, "ChangePriority"),
  hold: withTag(Hold, "Hold"),
  resume: noFields(() => new Resume(), "batch resume"),
  cancel: withTag(Cancel, "Cancel"),
  archive: noFields(() => new Archive(), "batch archive")
}
const BatchBody = Schema.Struct({ sampleIds: Schema.Array(SampleId).pipe(Schema.minItems(1), Schema.maxItems(500)) }).pipe(
  Schema.extend(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
)

/** All `/api/v1` routes. */
export const RestRoutes = HttpLayerRouter.addAll([
  HttpLayerRouter.route("POST", "/api/v1/samples", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const { actor } = yield* requestMeta
    const input = yield* decode(NewSampleInput, yield* body, "sample")
    const created = yield* api.createSample(input, actor)
    return json({ ...created.sample, warnings: created.warnings }, 201, { location: `/api/v1/samples/${created.sample.id}` })
  }))),
  HttpLayerRouter.route("GET", "/api/v1/samples", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const q = yield* query(ListQuery)
    return json(yield* api.list({ ...q, limit: q.limit ?? 50 }))
  }))),
  HttpLayerRouter.route("GET", "/api/v1/samples/:id", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    return json(yield* api.get(yield* pathId))
  }))),
  HttpLayerRouter.route("GET", "/api/v1/samples/:id/workflow", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    return json(yield* api.workflow(yield* pathId))
  }))),
  HttpLayerRouter.route("GET", "/api/v1/samples/:id/events", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    return json(yield* api.events(yield* pathId))
  }))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/receive", command((i) => decode(Empty, i, "receive request").pipe(Either.map(() => new Receive())))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/workflow/advance", command(advance)),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/workflow/start", command(withTag(StartStep, "StartStep"))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/workflow/fail", command(withTag(FailStep, "FailStep"))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/workflow/skip", command(withTag(SkipStep, "SkipStep"))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/workflow/rework", command(withTag(Rework, "Rework"))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/hold", command((i) => decode(ReasonBody, i, "hold request").pipe(Either.flatMap(withTag(Hold, "Hold"))))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/resume", command((i) => decode(Empty, i, "resume request").pipe(Either.map(() => new Resume())))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/cancel", command(withTag(Cancel, "Cancel"))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/archive", command((i) => decode(Empty, i, "archive request").pipe(Either.map(() => new Archive())))),
  HttpLayerRouter.route("POST", "/api/v1/samples/:id/priority", command(withTag(ChangePriority, "ChangePriority"))),
  HttpLayerRouter.route("PATCH", "/api/v1/samples/:id", command((i) =>
    decode(EditableFields, i, "fields").pipe(Either.map((fields) => new EditFields({ fields })))
  )),
  HttpLayerRouter.route("POST", "/api/v1/samples/batch/:action", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const { params } = yield* HttpRouter.RouteContext
    const action = BATCH_ACTIONS[params.action ?? ""]
    if (action === undefined) {
      return yield* new InvalidInput({
        message: `unknown batch action ${params.action}`,
        issues: [{ path: "action", message: `one of ${Object.keys(BATCH_ACTIONS).join(", ")}` }]
      })
    }
    const { actor, key } = yield* requestMeta
    const raw = yield* body
    const { sampleIds, ...rest } = yield* Schema.decodeUnknownEither(BatchBody, { errors: "all" })(raw).pipe(
      Either.mapLeft((e) => new InvalidInput({ message: "invalid batch request", issues: issuesOf(e) }))
    )
    const cmd = yield* action(rest)
    return json(yield* api.batch(sampleIds, cmd, key, actor))
  }))),
  HttpLayerRouter.route("POST", "/api/v1/submissions", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const { actor } = yield* requestMeta
    const input = yield* decodeSubmission(yield* body)
    const created = yield* api.createSubmission(input, actor)
    return json(created, 201, { location: `/api/v1/submissions/${created.submission.id}` })
  }))),
  HttpLayerRouter.route("GET", "/api/v1/submissions/:id", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const { params } = yield* HttpRouter.RouteContext
    const id = yield* Schema.decodeUnknownEither(SubmissionId)(params.id).pipe(
      Either.mapLeft(() => new InvalidInput({ message: "invalid submission id", issues: [{ path: "id", message: "must be a UUID" }] }))
    )
    return json(yield* api.submission(id))
  }))),
  HttpLayerRouter.route("GET", "/api/v1/queues", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    return json(yield* api.queueCounts)
  }))),
  HttpLayerRouter.route("GET", "/api/v1/queues/:step", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const { params } = yield* HttpRouter.RouteContext
    const step = yield* Schema.decodeUnknownEither(StepId)(params.step).pipe(
      Either.mapLeft(() => new InvalidInput({ message: `unknown step ${params.step}`, issues: [{ path: "step", message: "must be one of the eight step ids" }] }))
    )
    const q = yield* query(QueueQuery)
    return json(yield* api.queue(step, q.cursor, q.limit))
  }))),
  HttpLayerRouter.route("GET", "/api/v1/events", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const q = yield* query(EventsQuery)
    return json(yield* api.readEvents(q.consumer, q.limit ?? 100))
  }))),
  HttpLayerRouter.route("POST", "/api/v1/events/ack", handle(Effect.gen(function*() {
    const api = yield* SampleApi
    const { consumer, cursor } = yield* decode(AckBody, yield* body, "ack request")
    yield* api.ackEvents(consumer, cursor)
    return HttpServerResponse.empty({ status: 204 })
  }))),
  HttpLayerRouter.route("*", "/api/*", handle(Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    return errorResponse({ _tag: "RouteNotFound", message: `no route ${request.method} ${request.url}` })
  })))
])

