/**
 * Token buckets in this process: one per API key or user, and one per client address for unauthenticated requests.
 * Limits hold per gateway process (N gateways allow N times the rate); documented in the README.
 */
import { Context, Layer } from "effect"

/** The outcome of taking one token: allowed or not, with the headers a client needs to pace itself. */
export interface Taken {
  readonly allowed: boolean
  readonly limit: number
  readonly remaining: number
  /** Seconds until a token is available again (0 when allowed). */
  readonly retryAfterSeconds: number
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number
}

/** A bucket's size and refill rate. */
export interface BucketSpec {
  readonly perSecond: number
  readonly burst: number
}

interface Bucket {
  tokens: number
  at: number
}

const MAX_BUCKETS = 100_000

/** Takes tokens from named buckets; idle buckets are forgotten so memory stays bounded. */
export const makeBuckets = (spec: BucketSpec, now: () => number = () => performance.now()) => {
  const buckets = new Map<string, Bucket>()
  return (key: string): Taken => {
    const t = now()
    let b = buckets.get(key)
    if (b === undefined) {
      if (buckets.size >= MAX_BUCKETS) {
        // Drop full buckets (idle long enough to have refilled); a full bucket is the same as no bucket.
        for (const [k, v] of buckets) if (v.tokens + ((t - v.at) / 1000) * spec.perSecond >= spec.burst) buckets.delete(k)
      }
      b = { tokens: spec.burst, at: t }
      buckets.set(key, b)
    } else {
      b.tokens = Math.min(spec.burst, b.tokens + ((t - b.at) / 1000) * spec.perSecond)
      b.at = t
    }
    const allowed = b.tokens >= 1
    if (allowed) b.tokens -= 1
    return {
      allowed,
      limit: spec.burst,
      remaining: Math.floor(b.tokens),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / spec.perSecond)),
      resetSeconds: Math.ceil((spec.burst - b.tokens) / spec.perSecond)
    }
  }
}

/** The `RateLimit-*` and `Retry-After` headers of a take. */
export const rateLimitHeaders = (t: Taken): Record<string, string> => ({
  "ratelimit-limit": String(t.limit),
  "ratelimit-remaining": String(t.remaining),
  "ratelimit-reset": String(t.resetSeconds),
  ...(t.allowed ? {} : { "retry-after": String(t.retryAfterSeconds) })
})

/** The process's rate limiter: per principal and per client address. */
export class RateLimiter extends Context.Tag("poretrack/RateLimiter")<RateLimiter, {
  readonly principal: (key: string) => Taken
  readonly address: (address: string) => Taken
}>() {
  /** Buckets with the configured sizes. */
  static make = (perPrincipal: BucketSpec, perAddress: BucketSpec): RateLimiter["Type"] => ({
    principal: makeBuckets(perPrincipal),
    address: makeBuckets(perAddress)
  })
  static layer = (perPrincipal: BucketSpec, perAddress: BucketSpec) => Layer.sync(RateLimiter, () => RateLimiter.make(perPrincipal, perAddress))
}
