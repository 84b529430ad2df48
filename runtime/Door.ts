/**
 * The door: what every request to `/api` and `/rpc` passes before any route sees it. Bodies over the limit are
 * refused before they are read (413), writes must be JSON (415; NDJSON or JSON on `/rpc`), unreadable or too deeply
 * nested JSON is a 400, unauthenticated traffic is rate limited per client address (429), and a request that runs
 * too long is answered 503. Refusals here never echo the input.
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { HttpIncomingMessage } from "@effect/platform"
import { Duration, Effect, Either, Option } from "effect"
import { checkJsonBody } from "../rpc/Decode.ts"
import { SESSION_COOKIE } from "../rpc/PoretrackApi.ts"
import { rateLimitHeaders, RateLimiter } from "./RateLimiter.ts"

/** The limits of the door. */
export interface DoorLimits {
  readonly maxBodyBytes: number
  readonly maxJsonDepth: number
  readonly requestTimeout: Duration.Duration
}

/** The JSON error body of the door's refusals. */
export const refusal = (status: number, error: string, message: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson({ error, message }, { status, headers })

/**
 * The deepest nesting of arrays and objects in JSON text, scanned without parsing (and so without recursion):
 * stops counting as soon as `max` is passed.
 */
export const jsonDepthOver = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

const decodable = (path: string): boolean => {
  try {
    decodeURIComponent(path)
    return true
  } catch {
    return false
  }
}

const invalid: unique symbol = Symbol("invalid JSON")
const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return invalid
  }
}

const isJson = (contentType: string) => /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)
const isRpcBody = (contentType: string) => isJson(contentType) || /^application\/(?:x-)?ndjson\b/i.test(contentType) || /^application\/msgpack\b/i.test(contentType)

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** Applies the door to `app` for paths under /api and /rpc; other paths pass untouched. */
export const door = (limits: DoorLimits) =>
  <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = request.url.split("?")[0] ?? ""
      const guarded = path.startsWith("/api/") || path === "/rpc" || path.startsWith("/rpc/")
      if (!guarded) return yield* app
      if (!decodable(path)) return refusal(400, "MalformedRequest", "the path is not valid percent-encoded UTF-8")

      // Unauthenticated traffic (no key, no session) is limited per client address.
      const limiter = yield* RateLimiter
      const credentials = request.headers.authorization !== undefined || request.cookies[SESSION_COOKIE] !== undefined
      if (!credentials || path === "/api/v1/auth/login") {
        const taken = limiter.address(Option.getOrElse(request.remoteAddress, () => "unknown"))
        if (!taken.allowed) {
          return refusal(429, "RateLimited", `too many requests from this address; retry in ${taken.retryAfterSeconds} s`, rateLimitHeaders(taken))
        }
      }

      if (WRITES.has(request.method)) {
        const lengthHeader = request.headers["content-length"]
        const length = lengthHeader === undefined ? undefined : Number(lengthHeader)
        if (length !== undefined && (!Number.isFinite(length) || length > limits.maxBodyBytes)) {
          return refusal(413, "PayloadTooLarge", `the request body is over the limit of ${limits.maxBodyBytes} bytes`)
        }
        const hasBody = (length !== undefined && length > 0) || request.headers["transfer-encoding"] !== undefined
        if (hasBody) {
          const contentType = request.headers["content-type"] ?? ""
          const rpc = !path.startsWith("/api/")
          if (!(rpc ? isRpcBody(contentType) : isJson(contentType))) {
            return refusal(415, "UnsupportedMediaType", rpc
              ? "an RPC body must be application/ndjson or application/json"
              : "the body must be JSON: send Content-Type: application/json")
          }
          // Read (and cache) the body under the limit; a body that turns out longer is refused unread.
          const text = yield* Effect.either(HttpIncomingMessage.withMaxBodySize(request.text, Option.some(limits.maxBodyBytes)))
          if (text._tag === "Left") {
            return refusal(413, "PayloadTooLarge", `the request body is over the limit of ${limits.maxBodyBytes} bytes, or could not be read`)
          }
          if (jsonDepthOver(text.right, limits.maxJsonDepth)) {
            return refusal(400, "MalformedRequest", `the JSON is nested more than ${limits.maxJsonDepth} levels deep`)
          }
          if (!rpc) {
            const parsed = parseJson(text.right)
            if (parsed === invalid) return refusal(400, "MalformedRequest", "the request body is not valid JSON")
            // Keys that could reach a prototype are refused before any decoder copies them (naming where they are).
            const checked = checkJsonBody(parsed, limits.maxJsonDepth)
            if (Either.isLeft(checked)) {
              return HttpServerResponse.unsafeJson({ error: "InvalidInput", message: checked.left.message, issues: checked.left.issues.slice(0, 20) }, { status: 422 })
            }
          }
        }
      }
      return yield* app.pipe(
        Effect.timeoutTo({
          duration: limits.requestTimeout,
          onSuccess: (r) => r,
          onTimeout: () => refusal(503, "RequestTimeout", `no answer within ${Duration.format(limits.requestTimeout)}; retry with the same Idempotency-Key`, { "retry-after": "1" })
        })
      )
    })
