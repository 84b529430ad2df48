/**
 * Webhooks: signatures verified with the `standardwebhooks` package exactly as an integrator would, one attempt
 * against a local receiver (statuses, Retry-After, time-out, refused connection), and the retry schedule driven by
 * the TestClock (no sleeping): 500, then 429 with Retry-After, then 200; 410 disables; a dead letter after seven.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Either, Fiber, Queue, Schema, TestClock } from "effect"
import { Webhook as StandardWebhook } from "standardwebhooks"
import { freePort } from "../../test/freePort.ts"
import { webhookReceiver, type Reply } from "../../test/notify/WebhookReceiver.ts"
import {
  deliverOnce,
  deliverWithRetries,
  generateSecret,
  nextStep,
  parseRetryAfter,
  RETRY_DELAYS,
  sign,
  signedHeaders,
  validateWebhookUrl,
  webhookMessage,
  WebhookSecret,
  type WebhookAttempt
} from "./Webhook.ts"

const event = {
  id: "3f1c8a0e-5d7b-4c2e-9a61-0b9d4e2f7c13",
  type: "QcFailed" as const,
  sampleId: "8d7e6f5a-4b3c-4d2e-8f1a-2b3c4d5e6f70",
  submissionId: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  at: "2025-01-06T09:02:00.000Z",
  data: { step: "sample_qc", reasons: ["insufficient DNA: 30 ng total"], note: "ünïcödé ✓ \"quoted\"" }
}

/** 2025-01-06 09:00:00 UTC: a whole second, so HTTP dates in Retry-After are exact. */
const T0 = Date.UTC(2025, 0, 6, 9)

describe("signatures", () => {
  it.scopedLive("verify with the standardwebhooks package, as an integrator would, on the bytes received", () =>
    Effect.gen(function*() {
      const secret = generateSecret()
      const receiver = yield* webhookReceiver([{ status: 204 }])
      const message = webhookMessage(event)
      const attempt = yield* deliverOnce({ url: receiver.url, secret }, message)
      expect(attempt).toMatchObject({ status: 204, outcome: "delivered" })
      const got = receiver.requests[0]!
      expect(got.headers["content-type"]).toBe("application/json")
      expect(got.headers["webhook-id"]).toBe(`msg_${event.id}`)
      expect(got.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
      const payload = new StandardWebhook(secret).verify(got.body, got.headers)
      expect(payload).toEqual({ ...event })
      expect(JSON.parse(got.body)).toMatchObject({ type: "QcFailed", id: event.id, sampleId: event.sampleId, at: event.at })
      // Another secret or one changed byte fails, as it must for the integrator.
      expect(() => new StandardWebhook(generateSecret()).verify(got.body, got.headers)).toThrow()
      expect(() => new StandardWebhook(secret).verify(got.body.replace("sample_qc", "sample_qd"), got.headers)).toThrow()
    }))

  it("signs id.timestamp.body with the secret's bytes, the same way the reference library does", () => {
    const secret = WebhookSecret.make("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    const body = `{"test": 2432232314}`
    expect(sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body))
      .toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    const reference = new StandardWebhook(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", new Date(1614265330_000), body)
    expect(signedHeaders(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)["webhook-signature"]).toBe(reference)
  })

  it("makes whsec_ secrets of 32 random bytes, each different, and refuses malformed ones", () => {
    const a = generateSecret()
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(a.slice(6), "base64")).toHaveLength(32)
    expect(generateSecret()).not.toBe(a)
    const is = Schema.is(WebhookSecret)
    expect([is(a), is("whsec_short"), is("sk_" + a.slice(6)), is("whsec_" + "!".repeat(44))]).toEqual([true, false, false, false])
  })
})

describe("webhook URLs", () => {
  it("accept http and https URLs with a host", () => {
    expect(Either.isRight(validateWebhookUrl("https://lims.example.org/hooks?src=poretrack"))).toBe(true)
    expect(Either.isRight(validateWebhookUrl("http://127.0.0.1:8080/in"))).toBe(true)
  })

  it("refuse other schemes, credentials (without echoing them), fragments and non-URLs, saying why", () => {
    const reason = (u: string) => Either.match(validateWebhookUrl(u), { onLeft: (e) => e.message, onRight: () => "accepted" })
    expect(reason("ftp://files.example.org/in")).toBe("webhook URL ftp://files.example.org/in: must use http or https, not ftp")
    const withCreds = reason("https://admin:hunter2@lims.example.org/hooks")
    expect(withCreds).toContain("must not contain credentials")
    expect(withCreds).not.toContain("hunter2")
    expect(reason("https://lims.example.org/hooks#x")).toContain("#fragment")
    expect(reason("/relative/path")).toContain("not an absolute URL")
    expect(reason("javascript:alert(1)")).toContain("must use http or https")
  })
})

describe("one attempt", () => {
  const once = (replies: ReadonlyArray<Reply>, timeout?: Duration.DurationInput) =>
    Effect.gen(function*() {
      const receiver = yield* webhookReceiver(replies)
      return yield* deliverOnce({ url: receiver.url, secret: generateSecret() }, webhookMessage(event), timeout === undefined ? undefined : { timeout })
    })

  it.scopedLive("counts any 2xx as delivered and measures its latency", () =>
    Effect.gen(function*() {
      const a = yield* once([{ status: 202, body: "queued" }])
      expect(a).toMatchObject({ outcome: "delivered", status: 202, response: "queued" })
      expect(a.error).toBeUndefined()
      expect(a.latencyMs).toBeGreaterThan(0)
    }))

  it.scopedLive("disables the endpoint on 410 Gone", () =>
    Effect.gen(function*() {
      expect(yield* once([{ status: 410 }])).toMatchObject({ outcome: "disable", status: 410, error: "HTTP 410" })
    }))

  it.scopedLive("retries other statuses and redirects, which are not followed", () =>
    Effect.gen(function*() {
      expect(yield* once([{ status: 500, body: "boom" }])).toMatchObject({ outcome: "retry", status: 500, error: "HTTP 500", response: "boom" })
      expect(yield* once([{ status: 400 }])).toMatchObject({ outcome: "retry", status: 400 })
      expect(yield* once([{ status: 301, headers: { location: "https://elsewhere.example.org/" } }]))
        .toMatchObject({ outcome: "retry", status: 301, error: "HTTP 301 (redirects are not followed)" })
    }))

  it.scopedLive("reads Retry-After on 429 and 503, in seconds or as an HTTP date", () =>
    Effect.gen(function*() {
      expect(yield* once([{ status: 429, headers: { "retry-after": "120" } }])).toMatchObject({ outcome: "retry", status: 429, retryAfterMs: 120_000 })
      const later = new Date(Date.now() + 3_600_000).toUTCString()
      const a = yield* once([{ status: 503, headers: { "retry-after": later } }])
      expect(a.retryAfterMs).toBeGreaterThan(3_500_000)
      expect(a.retryAfterMs).toBeLessThanOrEqual(3_600_000)
      expect((yield* once([{ status: 500, headers: { "retry-after": "120" } }])).retryAfterMs).toBeUndefined()
    }))

  it.scopedLive("gives up on a receiver that does not answer in time, with the reason", () =>
    Effect.gen(function*() {
      const a = yield* once([{ status: 200, hang: true }], "300 millis")
      expect(a).toMatchObject({ outcome: "retry", status: null, error: "no response within 300ms" })
      expect(a.latencyMs).toBeGreaterThanOrEqual(290)
    }))

  it.effect("disables an endpoint whose URL can never work, without sending anything", () =>
    Effect.gen(function*() {
      const a = yield* deliverOnce({ url: "file:///etc/passwd", secret: generateSecret() }, webhookMessage(event))
      expect(a).toMatchObject({ outcome: "disable", status: null, error: "must use http or https, not file" })
    }))

  it.scopedLive("says so when nobody listens", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const a = yield* deliverOnce({ url: `http://127.0.0.1:${port}/`, secret: generateSecret() }, webhookMessage(event))
      expect(a).toMatchObject({ outcome: "retry", status: null, error: "connection refused (ECONNREFUSED)" })
    }))
})

describe("the retry schedule", () => {
  it("waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (±10 %), then gives up", () => {
    const retry = { outcome: "retry" } as const
    const bases = RETRY_DELAYS.map((_, i) => nextStep(i + 1, retry, 0.5))
    expect(bases).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000].map((delayMs, i) => ({ _tag: "RetryIn", delayMs, attempt: i + 2 })))
    expect(nextStep(1, retry, 0)).toMatchObject({ delayMs: 4_500 })
    expect(nextStep(1, retry, 0.999999)).toMatchObject({ delayMs: 5_500 })
    expect(nextStep(6, retry, 0)).toMatchObject({ delayMs: 32_400_000 })
    expect(nextStep(7, retry, 0.5)).toEqual({ _tag: "DeadLetter", attempts: 7 })
    expect(nextStep(3, { outcome: "delivered" }, 0.5)).toEqual({ _tag: "Delivered" })
    expect(nextStep(1, { outcome: "disable" }, 0.5)).toEqual({ _tag: "DisableEndpoint" })
  })

  it("never retries sooner than Retry-After asks, and never later than a day for it", () => {
    expect(nextStep(1, { outcome: "retry", retryAfterMs: 60_000 }, 0.5)).toMatchObject({ delayMs: 60_000 })
    expect(nextStep(2, { outcome: "retry", retryAfterMs: 60_000 }, 0.5)).toMatchObject({ delayMs: 300_000 })
    expect(nextStep(1, { outcome: "retry", retryAfterMs: 30 * 86_400_000 }, 0.5)).toMatchObject({ delayMs: 86_400_000 })
  })

  it("reads Retry-After seconds and HTTP dates, and ignores anything else", () => {
    expect(parseRetryAfter("30", T0)).toBe(30_000)
    expect(parseRetryAfter(new Date(T0 + 90_000).toUTCString(), T0)).toBe(90_000)
    expect(parseRetryAfter(new Date(T0 - 90_000).toUTCString(), T0)).toBe(0)
    expect([parseRetryAfter("soon", T0), parseRetryAfter(null, T0), parseRetryAfter("-5", T0)]).toEqual([undefined, undefined, undefined])
  })

  /** The next wake-up the TestClock holds for the delivering fiber, once it has gone to sleep. */
  const nextWake = Effect.gen(function*() {
    for (let i = 0; i < 100_000; i++) {
      const sleeps = yield* TestClock.sleeps()
      const first = Chunk.head(sleeps)
      if (first._tag === "Some") return first.value
      yield* Effect.yieldNow()
    }
    throw new Error("the delivery never went to sleep")
  })

  it.scoped("retries a receiver that fails (500, then 429 with Retry-After) on schedule until it answers 200", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const secret = generateSecret()
      const receiver = yield* webhookReceiver([
        { status: 500 },
        { status: 429, headers: { "retry-after": "3600" } },
        { status: 200 }
      ])
      const attempts = yield* Queue.unbounded<WebhookAttempt>()
      const fiber = yield* deliverWithRetries({ url: receiver.url, secret }, webhookMessage(event), {
        onAttempt: (a) => Queue.offer(attempts, a)
      }).pipe(Effect.fork)

      const first = yield* Queue.take(attempts)
      expect(first).toMatchObject({ at: T0, status: 500, outcome: "retry" })
      const wake1 = yield* nextWake
      expect(wake1 - T0).toBeGreaterThanOrEqual(4_500)
      expect(wake1 - T0).toBeLessThanOrEqual(5_500)
      expect(receiver.count()).toBe(1)

      yield* TestClock.setTime(wake1)
      const second = yield* Queue.take(attempts)
      expect(second).toMatchObject({ at: wake1, status: 429, retryAfterMs: 3_600_000 })
      const wake2 = yield* nextWake
      // The schedule says about 5 min; the receiver asked for an hour, and gets it.
      expect(wake2 - wake1).toBe(3_600_000)
      yield* TestClock.adjust("59 minutes")
      expect(receiver.count()).toBe(2)

      yield* TestClock.setTime(wake2)
      const third = yield* Queue.take(attempts)
      expect(third).toMatchObject({ at: wake2, status: 200, outcome: "delivered" })
      const result = yield* Fiber.join(fiber)
      expect(result.outcome).toBe("delivered")
      expect(result.attempts.map((a) => a.status)).toEqual([500, 429, 200])
      // Each attempt is signed with its own time: the receiver saw three timestamps, one id.
      expect(receiver.requests.map((r) => Number(r.headers["webhook-timestamp"])))
        .toEqual([T0, wake1, wake2].map((t) => Math.floor(t / 1000)))
      expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size).toBe(1)
    }))

  it.scoped("stops at once and disables the endpoint on 410 Gone", () =>
    Effect.gen(function*() {
      const receiver = yield* webhookReceiver([{ status: 410 }])
      const result = yield* deliverWithRetries({ url: receiver.url, secret: generateSecret() }, webhookMessage(event))
      expect(result.outcome).toBe("endpoint_disabled")
      expect(result.attempts).toHaveLength(1)
    }))

  it.scoped("makes a dead letter after seven failed attempts spread over about 18 h", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const receiver = yield* webhookReceiver([{ status: 500 }])
      const attempts = yield* Queue.unbounded<WebhookAttempt>()
      const fiber = yield* deliverWithRetries({ url: receiver.url, secret: generateSecret() }, webhookMessage(event), {
        onAttempt: (a) => Queue.offer(attempts, a)
      }).pipe(Effect.fork)
      const gaps: Array<number> = []
      let last = yield* Queue.take(attempts)
      for (let i = 0; i < RETRY_DELAYS.length; i++) {
        yield* TestClock.setTime(yield* nextWake)
        const next = yield* Queue.take(attempts)
        gaps.push(next.at - last.at)
        last = next
      }
      const result = yield* Fiber.join(fiber)
      expect(result.outcome).toBe("dead_letter")
      expect(result.attempts).toHaveLength(7)
      expect(receiver.count()).toBe(7)
      const bases = RETRY_DELAYS.map(Duration.toMillis)
      gaps.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(bases[i]! * 0.9)
        expect(gap).toBeLessThanOrEqual(bases[i]! * 1.1)
      })
      // 17 h 35 min in all, give or take the jitter.
      const total = gaps.reduce((a, b) => a + b, 0)
      expect(total).toBeGreaterThanOrEqual(0.9 * bases.reduce((a, b) => a + b, 0))
      expect(total).toBeLessThanOrEqual(1.1 * bases.reduce((a, b) => a + b, 0))
    }))
})
