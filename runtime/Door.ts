/**
 * The door: what every request to `/api` and `/rpc` passes before any route sees it. Bodies over the limit are
 * refused before they are read (413), writes must be JSON (415; NDJSON or JSON on `/rpc`), unreadable or too deeply
 * nested JSON is a 400, unauthenticated traffic is rate limited per client address (429), and a request that runs
 * too long (REQUEST_TIMEOUT) is answered 503 (runtime/Deadline.ts). Every line of an `/rpc` body must be a message an
 * RPC client may send (400 naming the line otherwise); a WebSocket upgrade on `/rpc/ws` must come from the same origin
 * (403) and is not timed out. Refusals here never echo more than a short excerpt of the input.
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { HttpIncomingMessage } from "@effect/platform"
import type { FromClientEncoded } from "@effect/rpc/RpcMessage"
import { Duration, Effect, Either, Option, ParseResult, Schema } from "effect"
import { checkJsonBody, issuesOf } from "../rpc/Decode.ts"
import { SESSION_COOKIE } from "../rpc/PoretrackApi.ts"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import { withDeadline } from "./Deadline.ts"
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

/** At most `max` characters of `text`, JSON-quoted (control characters escaped), to name a bad input without echoing it. */
const excerpt = (text: string, max = 24) => JSON.stringify(text.length <= max ? text : `${text.slice(0, max)}…`)

/** A request id as the RPC client writes it (a decimal counter); anything else would make the server's BigInt throw. */
const RequestIdText = Schema.String.pipe(Schema.pattern(/^\d{1,19}$/, { message: () => "must be a decimal request id" }))
const RPC_TAGS: ReadonlySet<string> = new Set(PoretrackRpcs.requests.keys())
const RpcTag = Schema.String.pipe(Schema.filter((tag) => RPC_TAGS.has(tag) || `is not an RPC of this server: ${excerpt(tag, 40)}`))
const Header = Schema.mutable(Schema.Tuple(Schema.String.pipe(Schema.maxLength(200)), Schema.String.pipe(Schema.maxLength(8_192))))

/** The messages an RPC client sends (`FromClientEncoded` of @effect/rpc's RpcMessage), by `_tag`, with nothing else. */
const CLIENT_MESSAGES = {
  Request: Schema.TaggedStruct("Request", {
    id: RequestIdText,
    tag: RpcTag,
    payload: Schema.Unknown,
    headers: Schema.mutable(Schema.Array(Header).pipe(Schema.maxItems(64))),
    traceId: Schema.optional(Schema.String.pipe(Schema.maxLength(64))),
    spanId: Schema.optional(Schema.String.pipe(Schema.maxLength(64))),
    sampled: Schema.optional(Schema.Boolean)
  }),
  Ack: Schema.TaggedStruct("Ack", { requestId: RequestIdText }),
  Interrupt: Schema.TaggedStruct("Interrupt", { requestId: RequestIdText }),
  Ping: Schema.TaggedStruct("Ping", {}),
  Eof: Schema.TaggedStruct("Eof", {})
} as const
const decoders = {
  Request: Schema.decodeUnknownEither(CLIENT_MESSAGES.Request, { onExcessProperty: "error" }),
  Ack: Schema.decodeUnknownEither(CLIENT_MESSAGES.Ack, { onExcessProperty: "error" }),
  Interrupt: Schema.decodeUnknownEither(CLIENT_MESSAGES.Interrupt, { onExcessProperty: "error" }),
  Ping: Schema.decodeUnknownEither(CLIENT_MESSAGES.Ping, { onExcessProperty: "error" }),
  Eof: Schema.decodeUnknownEither(CLIENT_MESSAGES.Eof, { onExcessProperty: "error" })
}
const isClientTag = (tag: unknown): tag is keyof typeof decoders => typeof tag === "string" && Object.hasOwn(decoders, tag)
const kindOf = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "an array" : typeof value)
const firstIssue = (error: ParseResult.ParseError) => {
  const issue = issuesOf(error)[0]
  const text = issue === undefined ? "is not a valid message" : `${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`
  return text.length <= 160 ? text : `${text.slice(0, 160)}…`
}

/**
 * One NDJSON line (or WebSocket frame) checked as a message an RPC client may send: a JSON object whose `_tag` is
 * Request, Ack, Interrupt, Ping or Eof with exactly that message's fields (a Request's `tag` one of PoretrackRpcs,
 * its `headers` an array of [name, value] pairs). Left: what is wrong, short, quoting at most an excerpt of the input.
 * The payload is left to the RPC's own schema.
 */
export const rpcFrame = (text: string): Either.Either<FromClientEncoded, string> => {
  const value = parseJson(text)
  if (value === invalid) return Either.left(`not JSON: ${excerpt(text.trim())}`)
  if (typeof value !== "object" || value === null || Array.isArray(value)) return Either.left(`expected a JSON object, got ${kindOf(value)}`)
  const tag: unknown = "_tag" in value ? value._tag : undefined
  if (!isClientTag(tag)) return Either.left(`_tag must be one of ${Object.keys(decoders).join(", ")}`)
  const decoded: Either.Either<FromClientEncoded, ParseResult.ParseError> = decoders[tag](value)
  return Either.mapLeft(decoded, firstIssue)
}

/**
 * The first problem of an NDJSON body of RPC messages as `line N: …`, or undefined when every non-blank line is a
 * message a client may send (a last line without its newline counts: `/rpc` decodes it too). An empty body is refused.
 */
export const rpcBodyProblem = (text: string): string | undefined => {
  let messages = 0
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue
    messages++
    const checked = rpcFrame(line)
    if (Either.isLeft(checked)) return `line ${i + 1}: ${checked.left}`
  }
  return messages === 0 ? "the body holds no RPC message (NDJSON: one JSON message per line)" : undefined
}

/**
 * Whether a WebSocket upgrade's `Origin` is absent or names the host the request was sent to. Browsers always send
 * `Origin` on a WebSocket handshake and send the session cookie with it, but cannot add headers such as X-CSRF-Token:
 * this check is the CSRF defence of `/rpc/ws` (a page of another site cannot open an authenticated socket). A
 * client without `Origin` is not a browser, so it carries no ambient cookie but its own credentials.
 */
export const sameOrigin = (origin: string | undefined, host: string | undefined): boolean => {
  if (origin === undefined) return true
  if (host === undefined) return false
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase()
  } catch {
    return false // "null" (sandboxed or file pages) and anything unreadable
  }
}

const tooDeep = (max: number) => `the JSON is nested more than ${max} levels deep`

/** A JSON body under /api as the door judged it: refused (status and JSON body), or parsed. */
export type ApiJson =
  | { readonly _tag: "Refused"; readonly status: number; readonly body: Record<string, unknown> }
  | { readonly _tag: "Parsed"; readonly value: unknown }

/**
 * The door's checks of a JSON body under /api, in order: nesting deeper than `maxDepth` (400), not JSON (400), keys
 * that could reach a prototype (422 naming where they are, before any decoder copies them).
 */
export const checkApiJson = (text: string, maxDepth: number): ApiJson => {
  if (jsonDepthOver(text, maxDepth)) return { _tag: "Refused", status: 400, body: { error: "MalformedRequest", message: tooDeep(maxDepth) } }
  const parsed = parseJson(text)
  if (parsed === invalid) return { _tag: "Refused", status: 400, body: { error: "MalformedRequest", message: "the request body is not valid JSON" } }
  const checked = checkJsonBody(parsed, maxDepth)
  if (Either.isLeft(checked)) {
    return { _tag: "Refused", status: 422, body: { error: "InvalidInput", message: checked.left.message, issues: checked.left.issues.slice(0, 20) } }
  }
  return { _tag: "Parsed", value: parsed }
}

/** The message of a request answered 503 because it ran past REQUEST_TIMEOUT. */
export const timeoutMessage = (timeout: Duration.Duration) => `no answer within ${Duration.format(timeout)}; retry with the same Idempotency-Key`

export const isJson = (contentType: string) => /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)
const isRpcBody = (contentType: string) => isJson(contentType) || /^application\/(?:x-)?ndjson\b/i.test(contentType) || /^application\/msgpack\b/i.test(contentType)

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** Applies the door to `app` for paths under /api and /rpc; other paths pass untouched. */
export const door = (limits: DoorLimits) => {
  const timeoutMs = Duration.toMillis(limits.requestTimeout)
  const timedOut = () => refusal(503, "RequestTimeout", timeoutMessage(limits.requestTimeout), { "retry-after": "1" })
  return <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      // Read once: each read of `request.headers` builds a new copy of them.
      const headers = request.headers
      const path = request.url.split("?")[0] ?? ""
      const guarded = path.startsWith("/api/") || path === "/rpc" || path.startsWith("/rpc/")
      if (!guarded) return yield* app
      if (!decodable(path)) return refusal(400, "MalformedRequest", "the path is not valid percent-encoded UTF-8")

      // Unauthenticated traffic (no key, no session) is limited per client address.
      const limiter = yield* RateLimiter
      const credentials = headers.authorization !== undefined || request.cookies[SESSION_COOKIE] !== undefined
      if (!credentials || path === "/api/v1/auth/login") {
        const taken = limiter.address(Option.getOrElse(request.remoteAddress, () => "unknown"))
        if (!taken.allowed) {
          return refusal(429, "RateLimited", `too many requests from this address; retry in ${taken.retryAfterSeconds} s`, rateLimitHeaders(taken))
        }
      }

      if (path === "/rpc/ws" && request.method === "GET") {
        if ((headers.upgrade ?? "").toLowerCase() !== "websocket") {
          return refusal(426, "UpgradeRequired", "/rpc/ws is a WebSocket endpoint: open it with Upgrade: websocket", { upgrade: "websocket" })
        }
        if (!sameOrigin(headers.origin, headers.host)) {
          return refusal(403, "Forbidden", "a WebSocket to /rpc/ws must be opened from this server's own origin")
        }
        // No time-out: the socket lives as long as the client keeps it (frames are checked in runtime/RpcRoutes.ts).
        return yield* app
      }

      // A PDF upload is multipart, not JSON: its route reads it under its own limit (EXTRACTION_MAX_UPLOAD_BYTES).
      const upload = path === "/api/v1/extractions" && request.method === "POST" && /^multipart\/form-data/i.test(headers["content-type"] ?? "")
      if (WRITES.has(request.method) && !upload) {
        const lengthHeader = headers["content-length"]
        const length = lengthHeader === undefined ? undefined : Number(lengthHeader)
        if (length !== undefined && (!Number.isFinite(length) || length > limits.maxBodyBytes)) {
          return refusal(413, "PayloadTooLarge", `the request body is over the limit of ${limits.maxBodyBytes} bytes`)
        }
        const hasBody = (length !== undefined && length > 0) || headers["transfer-encoding"] !== undefined
        if (!hasBody && path === "/rpc" && request.method === "POST") {
          return refusal(400, "MalformedRequest", "the body holds no RPC message (NDJSON: one JSON message per line)")
        }
        if (hasBody) {
          const contentType = headers["content-type"] ?? ""
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
          if (rpc) {
            if (jsonDepthOver(text.right, limits.maxJsonDepth)) return refusal(400, "MalformedRequest", tooDeep(limits.maxJsonDepth))
            if (path === "/rpc") {
              const problem = rpcBodyProblem(text.right)
              if (problem !== undefined) return refusal(400, "MalformedRequest", problem)
            }
          } else {
            const checked = checkApiJson(text.right, limits.maxJsonDepth)
            if (checked._tag === "Refused") return HttpServerResponse.unsafeJson(checked.body, { status: checked.status })
          }
        }
      }
      return yield* withDeadline(app, timeoutMs, timedOut)
    })
}
