/**
 * The REST bridge as served: the HttpApi definition (rpc/PoretrackApi.ts) with its handlers, the Authentication
 * middleware (bearer API key or session cookie with a CSRF token on writes, then a rate limit per principal), the
 * OpenAPI document at `/api/v1/openapi.json` and its reference page at `/api/docs`. Decoding failures become 422
 * naming each field; a defect becomes a logged, counted 500 with the request id, never a retried "move".
 */
import { HttpApiBuilder, type HttpApiError, HttpApiScalar, HttpApiSchema, HttpApp, HttpLayerRouter, HttpServerRequest, HttpServerResponse, OpenApi } from "@effect/platform"
import { Cause, Effect, FiberRef, JSONSchema, Layer, Metric, Option, Redacted, Schema } from "effect"
import { NotificationRule } from "../actors/notify/Rules.ts"
import { NotificationTemplate, Preview, TemplateDraft } from "../actors/notify/Templates.ts"
import type { NotifierSchemaName } from "../rpc/NotificationsApi.ts"
import { Forbidden, RateLimited, Unauthenticated, type Principal } from "../rpc/Auth.ts"
import { formatIssues } from "../rpc/Decode.ts"
import {
  ForbiddenBody,
  IdempotencyKeyReusedBody,
  InvalidInputBody,
  MalformedRequestBody,
  RateLimitedBody,
  SampleBusyBody,
  SampleNotFoundBody,
  StepTransitionRefusedBody,
  SubmissionRejectedBody,
  UnauthenticatedBody,
  VersionMismatchBody
} from "../rpc/HttpErrors.ts"
import { Authentication, CurrentPrincipal, PoretrackApi, RequireAdmin } from "../rpc/PoretrackApi.ts"
import { requirePermission } from "./Authorization.ts"
import { ApiHandlersLive } from "./ApiHandlers.ts"
import { Auth } from "./Auth.ts"
import { rateLimitHeaders, RateLimiter, type Taken } from "./RateLimiter.ts"
import { refusal } from "./Door.ts"
import { currentRequestId } from "./RequestId.ts"

const defects = Metric.counter("poretrack_http_defects_total", {
  description: "Requests that ended in a defect (a bug): answered 500 and logged with their request id",
  incremental: true
})

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"])

/** One token from the principal's bucket. */
export const takeToken = (limiter: RateLimiter["Type"], principal: Principal): Taken => limiter.principal(`${principal._tag}:${principal.id}`)

/** The refusal of a request whose principal's bucket is empty. */
export const rateLimited = (taken: Taken) =>
  new RateLimited({ message: `rate limit reached; retry in ${taken.retryAfterSeconds} s`, retryAfterSeconds: taken.retryAfterSeconds })

/** After authentication: one token from the principal's bucket, with the RateLimit-* headers on the response. */
const limited = (principal: Principal) =>
  Effect.gen(function*() {
    const taken = takeToken(yield* RateLimiter, principal)
    yield* HttpApp.appendPreResponseHandler((_req, res) => Effect.succeed(HttpServerResponse.setHeaders(res, rateLimitHeaders(taken))))
    if (!taken.allowed) return yield* rateLimited(taken)
    return principal
  })

const NO_CREDENTIALS = "sign in, or send Authorization: Bearer <API key>"

/** Bearer keys first, then the session cookie (whose writes must echo the session's CSRF token). */
export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const auth = yield* Auth
    const limiter = yield* RateLimiter
    return Authentication.of({
      bearer: (token) => {
        const secret = Redacted.value(token)
        return secret === ""
          ? Effect.fail(new Unauthenticated({ message: NO_CREDENTIALS }))
          : auth.authenticateBearer(secret).pipe(Effect.flatMap(limited), Effect.provideService(RateLimiter, limiter))
      },
      session: (token) =>
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const value = Redacted.value(token)
          if (value === "") {
            // A bearer credential was given and failed: answer with its own refusal (unknown key, or rate limited).
            const authorization = request.headers.authorization
            if (authorization !== undefined && authorization.startsWith("Bearer ") && authorization.length > 7) {
              return yield* auth.authenticateBearer(authorization.slice(7)).pipe(Effect.flatMap(limited), Effect.provideService(RateLimiter, limiter))
            }
            return yield* new Unauthenticated({
              message: authorization !== undefined ? "unknown or revoked API key (Authorization: Bearer <key>)" : NO_CREDENTIALS
            })
          }
          const { csrfToken, principal } = yield* auth.authenticateSession(value)
          if (!SAFE_METHODS.has(request.method) && request.headers["x-csrf-token"] !== csrfToken) {
            return yield* new Unauthenticated({ message: "a write from a signed-in browser must carry the session's X-CSRF-Token header" })
          }
          return yield* limited(principal).pipe(Effect.provideService(RateLimiter, limiter))
        })
    })
  })
)

/** The answer for a path no route serves: 405 with `Allow` when the path exists for other methods, else 404. */
const noRoute = (request: HttpServerRequest.HttpServerRequest) => {
  const path = request.url.split("?")[0] ?? ""
  const methods = ROUTES.filter((r) => r.pattern.test(path)).map((r) => r.method)
  // (A path the router would not take, e.g. a parameter over its length limit, is simply not there.)
  if (methods.length > 0 && !methods.includes(request.method)) {
    return refusal(405, "MethodNotAllowed", `${request.method} is not allowed here; use ${methods.join(", ")}`, { allow: methods.join(", ") })
  }
  return refusal(404, "RouteNotFound", `no route ${request.method} ${path.slice(0, 200)}; see /api/docs`)
}

/** The 422 body of a request whose path, headers or body did not match its route's schemas (ArrayFormatter issues). */
export const decodeFailureBody = (issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>) => {
  const noBody = issues.length === 1 && issues[0]!.path.length === 0 && /actual null$/.test(issues[0]!.message)
  return {
    error: "InvalidInput",
    message: noBody ? "this request needs a JSON object body" : "invalid request",
    issues: noBody ? [{ path: "", message: "a JSON object body is required (see /api/docs)" }] : formatIssues(issues).slice(0, 50)
  }
}

/** A defect (a bug) met by a request: counted and logged with the request id; the client gets `defectBody`. */
export const reportDefect = (requestId: string, method: string, url: string, cause: Cause.Cause<unknown>) =>
  Metric.increment(defects).pipe(
    Effect.zipRight(Effect.logError("request failed with a defect", { requestId, method, url: url.slice(0, 200) }, cause))
  )

/** The 500 body of a defect: no internal detail, the request id to find it in the logs. */
export const defectBody = (requestId: string) => ({ error: "InternalError", message: "internal error; it has been logged", requestId })

/** The errors the sample routes answer with (creation and commands), as the HttpApi encodes them (rpc/HttpErrors.ts). */
const SAMPLE_ROUTE_ERRORS: ReadonlyArray<Schema.Schema<unknown, unknown>> = [
  SampleNotFoundBody,
  StepTransitionRefusedBody,
  IdempotencyKeyReusedBody,
  VersionMismatchBody,
  SampleBusyBody,
  MalformedRequestBody,
  UnauthenticatedBody,
  ForbiddenBody,
  InvalidInputBody,
  RateLimitedBody,
  SubmissionRejectedBody
].map((schema) => schema as Schema.Schema<unknown, unknown>)

/**
 * A sample route's typed error as the REST bridge answers it: the status annotated on its schema and its encoded
 * body; undefined for an error no sample route declares (then it is a defect).
 */
export const sampleRouteErrorResponse = (error: unknown): { readonly status: number; readonly body: unknown } | undefined => {
  for (const schema of SAMPLE_ROUTE_ERRORS) {
    if (!Schema.is(schema)(error)) continue
    const encoded = Schema.encodeEither(schema)(error)
    return encoded._tag === "Right" ? { status: HttpApiSchema.getStatusError(schema), body: encoded.right } : undefined
  }
  return undefined
}

/**
 * Around every route of the API: a schema decoding failure is an InvalidInput (422) naming each field; a defect is
 * logged with the request id, counted and answered 500 without internal detail; an unknown path is 404 or 405.
 */
const ApiErrors = HttpApiBuilder.middleware((app) =>
  app.pipe(
    Effect.catchAllCause((cause) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const failure = Option.getOrUndefined(Cause.failureOption(cause as Cause.Cause<unknown>))
        const tag = typeof failure === "object" && failure !== null ? (failure as { readonly _tag?: unknown })._tag : undefined
        if (tag === "HttpApiDecodeError") {
          return HttpServerResponse.unsafeJson(decodeFailureBody((failure as HttpApiError.HttpApiDecodeError).issues), { status: 422 })
        }
        if (tag === "RouteNotFound") return noRoute(request)
        if (failure !== undefined || Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
        const requestId = yield* FiberRef.get(currentRequestId)
        yield* reportDefect(requestId, request.method, request.url, cause)
        return HttpServerResponse.unsafeJson(defectBody(requestId), { status: 500 })
      })
    )
  )
)

/** Admin routes: the principal Authentication provided must hold the admin permission. */
export const RequireAdminLive = Layer.effect(
  RequireAdmin,
  Effect.map(Auth, (auth) =>
    Effect.flatMap(Effect.serviceOption(CurrentPrincipal), (principal) =>
      principal._tag === "None"
        ? Effect.fail(new Forbidden({ message: "not signed in" }))
        : requirePermission(principal.value, "admin").pipe(Effect.provideService(Auth, auth))))
)

/** The HttpApi's own app (routing, decoding, middleware, error encoding), mounted on the server's router. */
const ApiApp = Layer.unwrapEffect(
  Effect.map(HttpApiBuilder.httpApp, (app) =>
    HttpLayerRouter.addAll([
      HttpLayerRouter.route("*", "/api/v1/*", app),
      HttpLayerRouter.route("*", "/api/v1", app)
    ]))
).pipe(
  Layer.provide(ApiErrors),
  Layer.provide(HttpApiBuilder.api(PoretrackApi).pipe(Layer.provide(ApiHandlersLive), Layer.provide([AuthenticationLive, RequireAdminLive]))),
  Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer])
)

/**
 * The notifier's own schemas, by the names the contract refers to (rpc/NotificationsApi.ts): rules and template bodies
 * are decoded by the notifier, and documented here as exactly what it accepts and answers.
 */
const NOTIFIER_SCHEMAS: Readonly<Record<NotifierSchemaName, Schema.Schema.Any>> = {
  NotificationRule,
  NotificationTemplateDraft: TemplateDraft,
  NotificationTemplate,
  NotificationTemplatePreview: Preview
}

/** The OpenAPI document: the HttpApi's, with the notifier's schemas under `components/schemas`. */
export const openApiSpec = (): OpenApi.OpenAPISpec => {
  const base = OpenApi.fromApi(PoretrackApi)
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const named = Object.fromEntries(
    Object.entries(NOTIFIER_SCHEMAS).map(([name, schema]) => [
      name,
      JSONSchema.fromAST(schema.ast, { definitions, definitionPath: "#/components/schemas/", target: "openApi3.1" })
    ])
  )
  return {
    ...base,
    components: { ...base.components, schemas: { ...base.components.schemas, ...definitions, ...named } as typeof base.components.schemas }
  }
}

const spec = openApiSpec()

/** `/api/v1/openapi.json` and the offline reference page `/api/docs`. */
const Docs = Layer.mergeAll(
  HttpLayerRouter.add("GET", "/api/v1/openapi.json", Effect.succeed(HttpServerResponse.unsafeJson(spec))),
  HttpApiScalar.layerHttpLayerRouter({ api: PoretrackApi, path: "/api/docs" })
)

interface RouteTemplate {
  readonly method: string
  readonly path: string
  readonly pattern: RegExp
}

/** Every declared route, for 405 answers and for bounded metric labels. */
export const ROUTES: ReadonlyArray<RouteTemplate> = [
  ...Object.values(PoretrackApi.groups).flatMap((group) =>
    Object.values(group.endpoints).map((e) => ({ method: e.method, path: e.path }))
  ),
  { method: "GET", path: "/api/v1/openapi.json" },
  { method: "GET", path: "/api/docs" },
  { method: "POST", path: "/rpc" },
  { method: "GET", path: "/rpc/ws" }
].map((r) => ({ ...r, pattern: new RegExp(`^${r.path.replace(/:[a-zA-Z]+/g, "[^/]+")}$`) }))

/** The route template a path matches (e.g. `/api/v1/samples/:id`), or undefined. */
export const routeTemplateOf = (path: string): string | undefined => ROUTES.find((r) => r.pattern.test(path))?.path

/** Unknown paths under /api: 404, or 405 with `Allow` when the path exists for other methods. */
const Fallback = HttpLayerRouter.add("*", "/api/*", Effect.map(HttpServerRequest.HttpServerRequest, noRoute))

/** The REST bridge with its documentation. */
export const RestApiLive = Layer.mergeAll(ApiApp, Docs, Fallback)
