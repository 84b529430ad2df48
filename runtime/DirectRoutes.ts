/**
 * Direct routes: the two commands a lab sends most, `POST /api/v1/samples/{id}/workflow/advance` and
 * `POST /api/v1/samples/{id}/receive` with an API key, answered from node's `request` event rather than through
 * @effect/platform's request fiber, router, middleware and HttpApi decoders. Those cost the server ~0.32 ms of CPU per
 * advance (0.11 ms for the same request answered directly, measured 2026-12-01), more than a third of a transition.
 *
 * Same contract, same code past the door: the door's body checks (runtime/Door.ts `checkApiJson`), the bearer key
 * and the principal's rate limit with its RateLimit-* headers, the WriteHeaders schema, the command's decoding
 * (`advanceCommand`, `emptyBody`), authorization and the command itself (`runCommandAs`, runtime/ApiHandlers.ts),
 * errors encoded by the route's own error schemas (`commandErrorResponse`), defects answered 500 with the request id
 * and logged, REQUEST_TIMEOUT answered 503, X-Request-Id, the request metrics. `test/DirectRoutes.test.ts` sends the
 * same requests, hostile ones included, with direct routes on and off, and compares every answer.
 *
 * A request is taken only when it can be answered whole here: the exact path with a sample id in UUID form and no
 * query, `Authorization: Bearer …` and no cookie, no body or a JSON body whose Content-Length is within
 * MAX_BODY_BYTES, and tracing off (with an OTLP endpoint every request goes the usual way, with its spans). Anything
 * else (a browser's session, a chunked or oversized body, another content type) goes the usual way, untouched.
 * `HTTP_DIRECT_ROUTES=false` turns them off.
 */
import { Cause, Duration, Effect, Either, Exit, FiberId, Metric, ParseResult, Runtime, Schema } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Policy } from "../actors/WorkflowPolicy.ts"
import type { SampleRepo } from "../persistence/SampleRepo.ts"
import { Receive, type SampleCommand } from "../rpc/Commands.ts"
import { WriteHeaders } from "../rpc/PoretrackApi.ts"
import { advanceCommand, commandHeaders, emptyBody, runCommandAs } from "./ApiHandlers.ts"
import { Auth } from "./Auth.ts"
import { checkApiJson, isJson, timeoutMessage } from "./Door.ts"
import { rateLimitHeaders, type RateLimiter, type Taken } from "./RateLimiter.ts"
import { currentRequestId, requestIdOf } from "./RequestId.ts"
import { commandErrorResponse, decodeFailureBody, defectBody, rateLimited, reportDefect, takeToken } from "./RestApi.ts"
import type { SampleApi } from "./SampleApi.ts"

const taken = Metric.counter("poretrack_http_direct_requests_total", {
  description: "Requests answered by the direct routes (runtime/DirectRoutes.ts) rather than through the HTTP framework",
  incremental: true
})

const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
const PATH = new RegExp(`^/api/v1/samples/(${UUID})/(workflow/advance|receive)$`)
const ADVANCE_ROUTE = "/api/v1/samples/:id/workflow/advance"
const RECEIVE_ROUTE = "/api/v1/samples/:id/receive"

/** The headers of the command routes, decoded by the route's own schema. */
const decodeHeaders = Schema.decodeUnknownEither(WriteHeaders)

/** What a request's program ends with besides a command's result and its typed errors. */
class HeadersInvalid {
  readonly _tag = "HeadersInvalid"
  constructor(readonly body: ReturnType<typeof decodeFailureBody>) {}
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
    const runtime = yield* Effect.runtime<SampleApi | SampleRepo | Policy | Auth>()
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

    const serve = (request: IncomingMessage, response: ServerResponse, sampleId: string, route: string, secret: string, text: string | undefined) => {
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
        options.observe(route, "POST", status, (performance.now() - started) / 1000)
        if (status >= 500 && status !== 503) {
          runFork(Effect.logError("request answered with a server error", { method: "POST", route, status }).pipe(Effect.annotateLogs({ requestId })))
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
        const headers = decodeHeaders(request.headers)
        if (Either.isLeft(headers)) return yield* Effect.fail(new HeadersInvalid(decodeFailureBody(ParseResult.ArrayFormatter.formatErrorSync(headers.left))))
        const command: SampleCommand = route === RECEIVE_ROUTE
          ? yield* Effect.as(emptyBody(input, "receive request"), new Receive())
          : yield* advanceCommand(sampleId, input)
        return yield* runCommandAs(principal, sampleId, command, headers.right)
      }).pipe(
        Effect.annotateLogs({ requestId }),
        Effect.locally(currentRequestId, requestId)
      )

      let timedOut = false
      const fiber = runFork(program)
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
        if (Exit.isSuccess(exit)) return answer(200, exit.value, commandHeaders(exit.value))
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
          if (error instanceof HeadersInvalid) return answer(422, error.body)
          const encoded = commandErrorResponse(error)
          if (encoded !== undefined) return answer(encoded.status, encoded.body)
        }
        runFork(reportDefect(requestId, "POST", request.url ?? "", cause))
        return answer(500, defectBody(requestId))
      })
    }

    const direct: DirectRoutes = (request, response) => {
      if (request.method !== "POST") return false
      const match = PATH.exec(request.url ?? "")
      if (match === null) return false
      const headers = request.headers
      const authorization = headers.authorization
      if (authorization === undefined || !authorization.startsWith("Bearer ") || authorization.length <= 7) return false
      if (headers.cookie !== undefined || headers["transfer-encoding"] !== undefined || headers.upgrade !== undefined) return false
      const lengthHeader = headers["content-length"]
      const length = lengthHeader === undefined ? 0 : Number(lengthHeader)
      if (!Number.isSafeInteger(length) || length < 0 || length > options.maxBodyBytes) return false
      if (length > 0 && !isJson(headers["content-type"] ?? "")) return false
      const sampleId = match[1] ?? ""
      const route = match[2] === "receive" ? RECEIVE_ROUTE : ADVANCE_ROUTE
      const secret = authorization.slice(7)
      taken.unsafeUpdate(1, [])
      if (length === 0) {
        // Nothing to read (a body without Content-Length is chunked, and goes the usual way).
        request.resume()
        serve(request, response, sampleId, route, secret, undefined)
        return true
      }
      let text = ""
      request.setEncoding("utf8")
      request.on("data", (chunk: string) => {
        text += chunk
      })
      request.on("end", () => serve(request, response, sampleId, route, secret, text))
      request.on("error", () => {
        if (!response.headersSent) response.destroy()
      })
      return true
    }
    return direct
  })
