/**
 * Webhooks after the Standard Webhooks convention (standardwebhooks.com): every delivery is a JSON POST with
 * `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * keyed by the endpoint's `whsec_…` secret. One attempt is `deliverOnce` (time-out by AbortSignal, latency measured,
 * outcome classified); what follows it is `nextStep`, a pure schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, each
 * ±10 % jitter and never sooner than a `Retry-After`, then dead letter; 410 Gone disables the endpoint.
 * Each attempt is signed afresh with the time it is made, so a late retry still passes the receiver's freshness check.
 */
import { createHmac, randomBytes } from "node:crypto"
import { Agent as HttpAgent, request as httpRequest } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
import { Clock, Data, Duration, Effect, Either, Random, Schema } from "effect"
import type { SampleEvent } from "../../rpc/Workflow.ts"

// ---------------------------------------------------------------------------------------------------------------
// Secrets and signatures

const SECRET_PREFIX = "whsec_"
const keyOf = (secret: string): Buffer => Buffer.from(secret.slice(SECRET_PREFIX.length), "base64")

/** An endpoint's signing secret: `whsec_` and the base64 of 24 to 64 random bytes. Shown to its owner once. */
export const WebhookSecret = Schema.String.pipe(
  Schema.filter(
    (s) =>
      s.startsWith(SECRET_PREFIX) &&
      /^[A-Za-z0-9+/]+={0,2}$/.test(s.slice(SECRET_PREFIX.length)) &&
      keyOf(s).length >= 24 && keyOf(s).length <= 64,
    { message: () => "a webhook secret is whsec_ followed by the base64 of 24-64 bytes" }
  ),
  Schema.brand("WebhookSecret")
)
export type WebhookSecret = typeof WebhookSecret.Type

/** A new secret: `whsec_` + base64 of 32 random bytes from node:crypto. */
export const generateSecret = (): WebhookSecret => WebhookSecret.make(`${SECRET_PREFIX}${randomBytes(32).toString("base64")}`)

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export const sign = (secret: WebhookSecret, messageId: string, timestampSeconds: number, body: string): string =>
  `v1,${createHmac("sha256", keyOf(secret)).update(`${messageId}.${timestampSeconds}.${body}`).digest("base64")}`

/** The headers of one signed delivery. */
export const signedHeaders = (
  secret: WebhookSecret,
  messageId: string,
  timestampSeconds: number,
  body: string
): Record<string, string> => ({
  "content-type": "application/json",
  "user-agent": "poretrack-webhooks/1",
  "webhook-id": messageId,
  "webhook-timestamp": String(timestampSeconds),
  "webhook-signature": sign(secret, messageId, timestampSeconds, body)
})

// ---------------------------------------------------------------------------------------------------------------
// Endpoints and messages

/** 422: a webhook URL that cannot be used, and why. The URL is shown without any credentials it held. */
export class WebhookUrlInvalid extends Schema.TaggedError<WebhookUrlInvalid>()("WebhookUrlInvalid", {
  url: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `webhook URL ${this.url}: ${this.reason}`
  }
}

const withoutCredentials = (raw: string): string => raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1")

/** The URL when it is an absolute http or https URL with a host, no credentials and no fragment (at most 2,048 characters). */
export const validateWebhookUrl = (raw: string): Either.Either<URL, WebhookUrlInvalid> => {
  const invalid = (reason: string) => Either.left(new WebhookUrlInvalid({ url: withoutCredentials(raw).slice(0, 200), reason }))
  if (raw.length > 2048) return invalid("is longer than 2048 characters")
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return invalid("is not an absolute URL")
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return invalid(`must use http or https, not ${u.protocol.replace(/:$/, "")}`)
  if (u.username !== "" || u.password !== "") return invalid("must not contain credentials (the signature authenticates each delivery)")
  if (u.hostname === "") return invalid("names no host")
  if (u.hash !== "") return invalid("must not have a #fragment")
  return Either.right(u)
}

/** Where to deliver: the URL and the endpoint's secret. */
export interface WebhookTarget {
  readonly url: string
  readonly secret: WebhookSecret
}

/** One message: its `webhook-id` (the same on every attempt) and its JSON body. */
export interface WebhookMessage {
  readonly id: string
  readonly body: string
}

/** The JSON body every delivery has: at least type, id (the event's), sampleId and at. */
export interface WebhookPayload {
  readonly type: string
  readonly id: string
  readonly sampleId: string | null
  readonly submissionId: string | null
  readonly at: string
  readonly data: unknown
}

/** The message for a log event: `webhook-id` is `msg_<event id>`, the body the event as JSON. */
export const webhookMessage = (
  event: Pick<SampleEvent, "type" | "at" | "data"> & {
    readonly id: string
    readonly sampleId?: string | null | undefined
    readonly submissionId?: string | null | undefined
  }
): WebhookMessage => {
  const payload: WebhookPayload = {
    type: event.type,
    id: event.id,
    sampleId: event.sampleId ?? null,
    submissionId: event.submissionId ?? null,
    at: event.at,
    data: event.data ?? null
  }
  return { id: `msg_${event.id}`, body: JSON.stringify(payload) }
}

// ---------------------------------------------------------------------------------------------------------------
// One attempt

/** What an attempt means: done, try again later, or stop and disable the endpoint (410 Gone). */
export const AttemptOutcome = Schema.Literal("delivered", "retry", "disable")
export type AttemptOutcome = typeof AttemptOutcome.Type

/** One attempt as the delivery history keeps it: when, how long, the HTTP status (null without one), the verdict. */
export const WebhookAttempt = Schema.Struct({
  /** When the attempt started (epoch ms, the Clock's). */
  at: Schema.Number,
  latencyMs: Schema.Number,
  status: Schema.NullOr(Schema.Number),
  outcome: AttemptOutcome,
  /** What went wrong, in words: `HTTP 500`, `no response within 10 s`, `connection refused (ECONNREFUSED)`. */
  error: Schema.optional(Schema.String),
  /** The receiver's `Retry-After`, in milliseconds from the attempt. */
  retryAfterMs: Schema.optional(Schema.Number),
  /** The start of the response body (at most 500 characters), for the history. */
  response: Schema.optional(Schema.String)
})
export type WebhookAttempt = typeof WebhookAttempt.Type

/** `Retry-After` in milliseconds from `now`: delay-seconds or an HTTP date; none when absent or unreadable. */
export const parseRetryAfter = (value: string | null | undefined, now: number): number | undefined => {
  if (value === null || value === undefined) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  // An HTTP date starts with the day's name (IMF-fixdate, RFC 850 and asctime forms alike).
  if (!/^[A-Za-z]{3}/.test(v)) return undefined
  const date = Date.parse(v)
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined
}

/** The outcome of an HTTP status: 2xx delivered, 410 disables the endpoint, everything else is tried again. */
export const classifyStatus = (status: number): AttemptOutcome =>
  status >= 200 && status < 300 ? "delivered" : status === 410 ? "disable" : "retry"

const RESPONSE_EXCERPT = 500
const READ_LIMIT = 64 * 1024

/**
 * Kept-alive connections per protocol, shared by every delivery of the process (node:http is about three times
 * faster than fetch on Node 20 for many small POSTs).
 */
const AGENTS = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 256 })
}

interface Answer {
  readonly status: number
  readonly retryAfter: string | undefined
  readonly response: string
}

/** POSTs `body` and reads at most 64 KiB of the answer (the rest is dropped); redirects are not followed. */
const post = (url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const target = new URL(url)
    const https = target.protocol === "https:"
    const send = https ? httpsRequest : httpRequest
    const req = send(target, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      agent: https ? AGENTS.https : AGENTS.http,
      signal
    }, (res) => {
      const chunks: Array<Buffer> = []
      let size = 0
      const done = () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: typeof res.headers["retry-after"] === "string" ? res.headers["retry-after"] : undefined,
          response: Buffer.concat(chunks).toString("utf8").slice(0, RESPONSE_EXCERPT)
        })
      res.on("data", (c: Buffer) => {
        size += c.length
        if (size <= READ_LIMIT) chunks.push(c)
        else {
          res.destroy()
          done()
        }
      })
      res.on("end", done)
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed while sending",
  CERT_HAS_EXPIRED: "the TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the TLS certificate is self-signed",
  ERR_TLS_CERT_ALTNAME_INVALID: "the TLS certificate is for another host"
}

const causeOf = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e)
  const code = "code" in e && typeof e.code === "string" ? e.code : undefined
  if (code === undefined) return e.message
  return `${NETWORK_WORDS[code] ?? e.message} (${code})`
}

/** Internal: a request that got no HTTP response, and why in words. */
class NoResponse extends Data.TaggedError("NoResponse")<{ readonly reason: string }> {}

/** How long one attempt may take, headers and body included, unless told otherwise. */
export const DEFAULT_TIMEOUT = Duration.seconds(15)

/**
 * Makes one signed POST of `message` to `target` and says what it means. Never fails: a refused connection, a
 * time-out or an error status is an attempt with outcome `retry` and the reason in words.
 */
export const deliverOnce = Effect.fn("Webhook.deliverOnce")(function*(
  target: WebhookTarget,
  message: WebhookMessage,
  options?: { readonly timeout?: Duration.DurationInput }
) {
  const timeout = Duration.decode(options?.timeout ?? DEFAULT_TIMEOUT)
  const at = yield* Clock.currentTimeMillis
  const url = validateWebhookUrl(target.url)
  if (Either.isLeft(url)) {
    // A URL that can never work (stored before validation existed, or edited by hand) disables its endpoint.
    const refused: WebhookAttempt = { at, latencyMs: 0, status: null, outcome: "disable", error: url.left.reason }
    return refused
  }
  const headers = signedHeaders(target.secret, message.id, Math.floor(at / 1000), message.body)
  const started = performance.now()
  const latency = () => Math.round((performance.now() - started) * 10) / 10
  const result = yield* Effect.tryPromise({
    try: (interrupted) =>
      post(target.url, headers, message.body, AbortSignal.any([interrupted, AbortSignal.timeout(Duration.toMillis(timeout))])),
    catch: (e) =>
      new NoResponse({
        reason: e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")
          ? `no response within ${Duration.format(timeout)}`
          : causeOf(e)
      })
  }).pipe(Effect.either)
  const latencyMs = latency()
  if (Either.isLeft(result)) {
    const attempt: WebhookAttempt = { at, latencyMs, status: null, outcome: "retry", error: result.left.reason }
    return attempt
  }
  const { status, retryAfter, response } = result.right
  const outcome = classifyStatus(status)
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter, at) : undefined
  const attempt: WebhookAttempt = {
    at,
    latencyMs,
    status,
    outcome,
    ...(outcome === "delivered" ? {} : {
      error: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`
    }),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(response !== "" ? { response } : {})
  }
  return attempt
})

// ---------------------------------------------------------------------------------------------------------------
// What comes after an attempt

/** The waits before the 2nd … 7th attempt; after the 7th attempt fails the message is a dead letter. */
export const RETRY_DELAYS: ReadonlyArray<Duration.Duration> = [
  Duration.seconds(5),
  Duration.minutes(5),
  Duration.minutes(30),
  Duration.hours(2),
  Duration.hours(5),
  Duration.hours(10)
]

/** Jitter around each wait: ±10 %. */
export const JITTER = 0.1

/** A `Retry-After` longer than this is cut to it: a receiver cannot park a message for ever. */
export const MAX_RETRY_AFTER = Duration.hours(24)

/** After an attempt: stop (delivered), disable the endpoint, try again in `delayMs`, or give up (dead letter). */
export type NextStep =
  | { readonly _tag: "Delivered" }
  | { readonly _tag: "DisableEndpoint" }
  | { readonly _tag: "RetryIn"; readonly delayMs: number; readonly attempt: number }
  | { readonly _tag: "DeadLetter"; readonly attempts: number }

/**
 * What follows the `attempts`-th attempt (1-based) that ended as `last`. `jitter` is a uniform number in [0, 1)
 * spreading the wait over ±10 %; a `Retry-After` makes the wait at least that long (at most 24 h).
 */
export const nextStep = (attempts: number, last: Pick<WebhookAttempt, "outcome" | "retryAfterMs">, jitter: number): NextStep => {
  if (last.outcome === "delivered") return { _tag: "Delivered" }
  if (last.outcome === "disable") return { _tag: "DisableEndpoint" }
  const base = RETRY_DELAYS[attempts - 1]
  if (base === undefined) return { _tag: "DeadLetter", attempts }
  const scheduled = Math.round(Duration.toMillis(base) * (1 - JITTER + 2 * JITTER * Math.min(Math.max(jitter, 0), 1)))
  const asked = last.retryAfterMs === undefined ? 0 : Math.min(last.retryAfterMs, Duration.toMillis(MAX_RETRY_AFTER))
  return { _tag: "RetryIn", delayMs: Math.max(scheduled, asked), attempt: attempts + 1 }
}

/** How a message's deliveries ended. */
export type FinalOutcome = "delivered" | "endpoint_disabled" | "dead_letter"

/**
 * Delivers `message` in this process: attempts and waits per `nextStep` (waits on the Clock, so a TestClock drives
 * them), reporting each attempt to `onAttempt` (the delivery history). For a delivery that must survive a restart,
 * persist each attempt and schedule the next one as a timer message instead; this loop is the same schedule.
 */
export const deliverWithRetries = Effect.fn("Webhook.deliverWithRetries")(function*(
  target: WebhookTarget,
  message: WebhookMessage,
  options: {
    readonly timeout?: Duration.DurationInput
    readonly onAttempt?: (attempt: WebhookAttempt, number: number) => Effect.Effect<void>
  } = {}
) {
  const history: Array<WebhookAttempt> = []
  const end = (outcome: FinalOutcome) => ({ outcome, attempts: history })
  for (;;) {
    const attempt = yield* deliverOnce(target, message, options.timeout === undefined ? undefined : { timeout: options.timeout })
    history.push(attempt)
    if (options.onAttempt !== undefined) yield* options.onAttempt(attempt, history.length)
    const step = nextStep(history.length, attempt, yield* Random.next)
    switch (step._tag) {
      case "Delivered":
        return end("delivered")
      case "DisableEndpoint":
        return end("endpoint_disabled")
      case "DeadLetter":
        return end("dead_letter")
      case "RetryIn":
        yield* Effect.sleep(Duration.millis(step.delayMs))
    }
  }
})
