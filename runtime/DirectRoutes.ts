/**
 * Direct routes: what a lab and its instruments send most, `POST /api/v1/samples` (a new sample),
 * `POST /api/v1/samples/{id}/receive` and `POST /api/v1/samples/{id}/workflow/advance`, with an API key, answered from
 * node's `request` event rather than through @effect/platform's request fiber, router, middleware and HttpApi
 * decoders. Those cost the server ~0.32 ms of CPU per advance (0.11 ms for the same request answered directly,
 * measured 2026-12-01), more than a third of a transition.
 *
 * Same contract, same code past the door: the door's body checks (runtime/Door.ts `checkApiJson`), the bearer key
 * and the principal's rate limit with its RateLimit-* headers, the route's own schemas for its headers and body
 * (`WriteHeaders`, `NewSampleRequest`, in the HttpApi's order), the command's decoding (`advanceCommand`, `emptyBody`),
 * authorization and the work itself (`runCommandAs`, `createSampleAs`, runtime/ApiHandlers.ts), errors encoded by
 * the routes' own error schemas (`sampleRouteErrorResponse`), defects answered 500 with the request id
 * and logged, REQUEST_TIMEOUT answered 503, X-Request-Id, the request metrics. `test/DirectRoutes.test.ts` sends the
 * same requests, hostile ones included, with direct routes on and off, and compares every answer.
 *
 * A request is taken only when it can be answered whole here: the exact path (a sample id in UUID form) and no
 * query, `Authorization: Bearer …` and no cookie, no body (a command) or a JSON body whose
 * Content-Length is within MAX_BODY_BYTES, and tracing off (with an OTLP endpoint every request goes the usual way, with its spans). Anything
 * else (a browser's session, a chunked or oversized body, another content type) goes the usual way, untouched.
 * `HTTP_DIRECT_ROUTES=false` turns them off.
 */
import { Cause, Duration, Effect, Either, Exit, FiberId, FiberRef, FiberRefs, HashMap, Metric, ParseResult, Runtime, Schema } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Policy } from "../actors/WorkflowPolicy.ts"
import type { SampleRepo } from "../persistence/SampleRepo.ts"
import { Receive, type SampleCommand } from "../rpc/Commands.ts"
import { NewSampleRequest, WriteHeaders } from "../rpc/PoretrackApi.ts"
import type { Principal } from "../rpc/Auth.ts"
import { advanceCommand, commandHeaders, createdBody, createdHeaders, createSampleAs, emptyBody, runCommandAs } from "./ApiHandlers.ts"
import { Auth } from "./Auth.ts"
import { checkApiJson, isJson, timeoutMessage } from "./Door.ts"
import { rateLimitHeaders, type RateLimiter, type Taken } from "./RateLimiter.ts"
import { currentRequestId, requestIdOf } from "./RequestId.ts"
import { decodeFailureBody, sampleRouteErrorResponse, defectBody, rateLimited, reportDefect, takeToken } from "./RestApi.ts"
import type { SampleApi } from "./SampleApi.ts"

const taken = Metric.counter("poretrack_http_direct_requests_total", {
  description: "Requests answered by the direct routes (runtime/DirectRoutes.ts) rather than through the HTTP framework",
  incremental: true
})

const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
const COMMAND_PATH = new RegExp(`^/api/v1/samples/(${UUID})/(workflow/advance|receive)$`)
const CREATE_PATH = "/api/v1/samples"

/** The route's headers or body did not match its schema: the HttpApi's 422, with the issues it reports. */
class DecodeFailed {
  readonly _tag = "DecodeFailed"
  readonly body: ReturnType<typeof decodeFailureBody>
  constructor(error: ParseResult.ParseError) {
    this.body = decodeFailureBody(ParseResult.ArrayFormatter.formatErrorSync(error))
  }
}

/** Decodes with a route's schema, failing as the HttpApi does. */
const decodeWith = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (input: unknown): Effect.Effect<A, DecodeFailed> => Either.match(decode(input), { onLeft: (e) => Effect.fail(new DecodeFailed(e)), onRight: Effect.succeed })
}
const decodeHeaders = decodeWith(WriteHeaders)
const decodeNewSample = decodeWith(NewSampleRequest)

/** A route's answer when it succeeds. */
interface Reply {
  readonly status: number
  readonly body: unknown
  readonly headers: Record<string, string>
}

/** What the direct routes' work needs. */
type Needs = SampleApi | SampleRepo | Policy | Auth

/** One direct route: its metric label, and its work once the principal is known (`input`: the parsed body). */
interface Route {
  readonly template: string
  readonly run: (principal: Principal, input: unknown, headers: IncomingMessage["headers"]) => Effect.Effect<Reply, unknown, Needs>
}

/** A command on the sample `sampleId`: headers, then the command, then the work (the HttpApi's order for a raw route). */
const commandRoute = (template: string, sampleId: string, commandOf: (input: unknown) => Effect.Effect<SampleCommand, unknown, SampleRepo | Policy>): Route => ({
  template,
  run: (principal, input, headers) =>
    Effect.gen(function*() {
      const decoded = yield* decodeHeaders(headers)
      const command = yield* commandOf(input)
      const result = yield* runCommandAs(principal, sampleId, command, decoded)
      return { status: 200, body: result, headers: commandHeaders(result) }
    })
})

/** A new sample: its body, then its headers (the HttpApi's order for a decoded payload), then the creation. */
const createRoute: Route = {
  template: CREATE_PATH,
  run: (principal, input, headers) =>
    Effect.gen(function*() {
      const payload = yield* decodeNewSample(input)
      const decoded = yield* decodeHeaders(headers)
      const created = yield* createSampleAs(principal, payload, decoded["idempotency-key"])
      return { status: 201, body: createdBody(created), headers: createdHeaders(created.sample) }
    })
}

/** The settings and services direct routes use; the limiter is the one the usual way uses. */
export interface DirectRouteOptions {
  readonly maxBodyBytes: number
  readonly maxJsonDepth: number
  readonly requestTimeout: Duration.Duration
  readonly limiter: RateLimiter["Type"]
  /** Counts a request in the HTTP metrics (route, method, status, seconds), as the usual way does. */
  readonly observe: (route: string, method: string, status: number, seconds: number) => void
}

/** A `request` listener's front: `true` when it took the request (and will answer it), `false` to pass it on. */
export type DirectRoutes = (request: IncomingMessage, response: ServerResponse) => boolean

export const makeDirectRoutes = (options: DirectRouteOptions) =>
  Effect.gen(function*() {
    const auth = yield* Auth
    const runtime = yield* Effect.runtime<Needs>()
    const runFork = Runtime.runFork(runtime)
    const timeoutMs = Duration.toMillis(options.requestTimeout)

    /** The bearer key's principal, with the token taken from its bucket (as runtime/RestApi.ts's Authentication). */
    const authenticate = (secret: string, took: (taken: Taken) => void) =>
      auth.authenticateBearer(secret).pipe(Effect.flatMap((principal) => {
        const taken = takeToken(options.limiter, principal)
        took(taken)
        if (taken.allowed) return Effect.succeed(principal)
        // The usual way then tries the session scheme, which authenticates the same key again and takes another token.
        const again = takeToken(options.limiter, principal)
        took(again)
        return Effect.fail(rateLimited(again))
      }))

    const serve = (request: IncomingMessage, response: ServerResponse, route: Route, secret: string, text: string | undefined) => {
      const started = performance.now()
      const requestId = requestIdOf(request.headers["x-request-id"])
      let limitHeaders: Record<string, string> = {}
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const json = JSON.stringify(body)
        response.writeHead(status, {
          ...limitHeaders,
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(json),
          "x-request-id": requestId
        })
        response.end(json)
        settled(status)
      }
      const settled = (status: number) => {
        options.observe(route.template, "POST", status, (performance.now() - started) / 1000)
        if (status >= 500 && status !== 503) {
          runFork(Effect.logError("request answered with a server error", { method: "POST", route: route.template, status }).pipe(Effect.annotateLogs({ requestId })))
        }
      }

      // The door's checks of the body, before anything else.
      let input: unknown = undefined
      if (text !== undefined) {
        const checked = checkApiJson(text, options.maxJsonDepth)
        if (checked._tag === "Refused") return answer(checked.status, checked.body)
        input = checked.value
      }

      const program = Effect.gen(function*() {
        const principal = yield* authenticate(secret, (taken) => {
          limitHeaders = rateLimitHeaders(taken)
        })
        return yield* route.run(principal, input, request.headers)
      })

      let timedOut = false
      // The request's id in its logs and `currentRequestId`, as `Effect.annotateLogs` and `Effect.locally` would set
      // them, but set once as the fiber is made: each of those copies the fiber's FiberRefs twice (on entry and exit).
      const fiber = runFork(program, {
        updateRefs: (refs, fiberId) =>
          FiberRefs.updateManyAs(refs, {
            entries: [
              [currentRequestId, [[fiberId, requestId]]],
              [FiberRef.currentLogAnnotations, [[fiberId, HashMap.set(FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations), "requestId", requestId)]]]
            ]
          })
      })
      const timer = setTimeout(() => {
        timedOut = true
        fiber.unsafeInterruptAsFork(FiberId.none)
      }, timeoutMs)
      timer.unref()
      // A client that went away: its command is interrupted, like the usual way's request fiber.
      response.on("close", () => {
        if (!response.writableEnded) fiber.unsafeInterruptAsFork(FiberId.none)
      })
      fiber.addObserver((exit) => {
        clearTimeout(timer)
        if (response.writableEnded || response.destroyed) return settled(499)
        if (Exit.isSuccess(exit)) return answer(exit.value.status, exit.value.body, exit.value.headers)
        const cause = exit.cause
        if (Cause.isInterruptedOnly(cause)) {
          if (!timedOut) return settled(499)
          // As the usual way answers it: the work's response headers (the rate limit's) went with the interrupted work.
          limitHeaders = {}
          return answer(503, { error: "RequestTimeout", message: timeoutMessage(options.requestTimeout) }, { "retry-after": "1" })
        }
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some") {
          const error = failure.value
          if (error instanceof DecodeFailed) return answer(422, error.body)
          const encoded = sampleRouteErrorResponse(error)
          if (encoded !== undefined) return answer(encoded.status, encoded.body)
        }
        runFork(reportDefect(requestId, "POST", request.url ?? "", cause))
        return answer(500, defectBody(requestId))
      })
    }

    const routeOf = (sampleId: string, action: string): Route =>
      action === "receive"
        ? commandRoute("/api/v1/samples/:id/receive", sampleId, (input) => Effect.as(emptyBody(input, "receive request"), new Receive()))
        : commandRoute("/api/v1/samples/:id/workflow/advance", sampleId, (input) => advanceCommand(sampleId, input))

    const direct: DirectRoutes = (request, response) => {
      if (request.method !== "POST") return false
      const url = request.url ?? ""
      const match = url === CREATE_PATH ? null : COMMAND_PATH.exec(url)
      if (url !== CREATE_PATH && match === null) return false
      const headers = request.headers
      const authorization = headers.authorization
      if (authorization === undefined || !authorization.startsWith("Bearer ") || authorization.length <= 7) return false
      if (headers.cookie !== undefined || headers["transfer-encoding"] !== undefined || headers.upgrade !== undefined) return false
      const lengthHeader = headers["content-length"]
      const length = lengthHeader === undefined ? 0 : Number(lengthHeader)
      if (!Number.isSafeInteger(length) || length < 0 || length > options.maxBodyBytes) return false
      if (length > 0 && !isJson(headers["content-type"] ?? "")) return false
      // A creation without a body is answered the usual way (the HttpApi's own answer for a missing payload).
      if (match === null && length === 0) return false
      const route = match === null ? createRoute : routeOf(match[1] ?? "", match[2] ?? "")
      const secret = authorization.slice(7)
      taken.unsafeUpdate(1, [])
      if (length === 0) {
        // Nothing to read (a body without Content-Length is chunked, and goes the usual way).
        request.resume()
        serve(request, response, route, secret, undefined)
        return true
      }
      let text = ""
      request.setEncoding("utf8")
      request.on("data", (chunk: string) => {
        text += chunk
      })
      request.on("end", () => serve(request, response, route, secret, text))
      request.on("error", () => {
        if (!response.headersSent) response.destroy()
      })
      return true
    }
    return direct
  })
