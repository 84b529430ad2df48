/**
 * The direct routes (runtime/DirectRoutes.ts) answer exactly as the HTTP framework's routes do. Two samples walk the
 * same requests, hostile ones included: one through the direct routes, the other the usual way (the same request
 * with a query string, which the direct routes never take). Every answer's status, JSON body and headers must be
 * the same once ids, times and request ids are named rather than compared; `poretrack_http_direct_requests_total`
 * shows the direct routes took their share. Rate limits and the request deadline are compared the same way.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { DOOR_DEFAULTS } from "../runtime/Config.ts"
import pg from "pg"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers: Record<string, string>
}

/** Headers that differ by nature between two answers (the date, the request id, the length of differing ids). */
const VARYING = new Set(["date", "x-request-id", "content-length", "connection", "keep-alive"])

const send = async (base: string, path: string, init: { body?: string; headers?: Record<string, string> }): Promise<Answer> => {
  const res = await fetch(`${base}${path}`, { method: "POST", headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) })
  const text = await res.text()
  const headers: Record<string, string> = {}
  res.headers.forEach((value, name) => {
    if (!VARYING.has(name)) headers[name] = value
  })
  expect(res.headers.get("x-request-id") ?? "", `${res.status} ${path} ${text.slice(0, 200)}`).toMatch(/^[\x21-\x7e]{1,128}$/)
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: compared as text
  }
  return { status: res.status, body, headers }
}

/** An answer with the sample's own ids and every time and generated id replaced by a name. */
const named = (answer: Answer, sampleId: string, submissionId: string): string =>
  JSON.stringify(answer)
    .replaceAll(sampleId, "<sample>")
    .replaceAll(submissionId, "<submission>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")

const directTaken = async (base: string): Promise<number> => {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith("poretrack_http_direct_requests_total"))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
}

const createSample = async (base: string, name: string) => {
  const res = await fetch(`${base}/api/v1/samples`, {
    method: "POST",
    headers: { ...adminAuth, "content-type": "application/json" },
    body: JSON.stringify({ sampleName: name, submitterEmail: "ada@lab.example", flowCellType: "R10.4.1", libraryKit: "SQK-LSK114" })
  })
  expect(res.status).toBe(201)
  const body = (await res.json()) as { id: string; submissionId: string }
  return body
}

const JSON_TYPE = { "content-type": "application/json" }

/** A new API key that may only read samples. */
const readOnlyKey = async (base: string, name: string): Promise<string> => {
  const key = await fetch(`${base}/api/v1/keys`, {
    method: "POST",
    headers: { ...adminAuth, ...JSON_TYPE },
    body: JSON.stringify({ name, scopes: ["samples:read"] })
  })
  expect(key.status).toBe(201)
  return String(((await key.json()) as { secret: string }).secret)
}
const QC = { qubitNgUl: 60, volumeUl: 30, nanodropNgUl: 72, a260_280: 1.86, a260_230: 2.05, din: 8.4 }
const deep = (n: number): string => "[".repeat(n) + "]".repeat(n)

/** One step of the walk: a path under the sample and the request's body and headers (credentials added unless given). */
interface Step {
  readonly what: string
  readonly path: "receive" | "workflow/advance"
  readonly body?: string
  readonly headers?: Record<string, string>
}

const WALK = (readKey: string): ReadonlyArray<Step> => [
  { what: "receive with fields", path: "receive", body: JSON.stringify({ x: 1 }), headers: JSON_TYPE },
  { what: "receive with an array", path: "receive", body: "[]", headers: JSON_TYPE },
  { what: "advance before receipt", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: JSON_TYPE },
  { what: "receive", path: "receive", headers: { "idempotency-key": "r-1" } },
  { what: "receive replayed", path: "receive", headers: { "idempotency-key": "r-1" } },
  { what: "receive with {}", path: "receive", body: "{}", headers: { ...JSON_TYPE, "idempotency-key": "r-2" } },
  { what: "another command under a used key", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, "idempotency-key": "r-1" } },
  { what: "not JSON", path: "workflow/advance", body: "{\"expectedStep\":", headers: JSON_TYPE },
  { what: "nested too deep", path: "workflow/advance", body: deep(40), headers: JSON_TYPE },
  { what: "a prototype key", path: "workflow/advance", body: "{\"__proto__\":{\"polluted\":true},\"expectedStep\":\"sample_qc\"}", headers: JSON_TYPE },
  { what: "NUL in a field", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: { ...QC, note: "a\u0000b" } }), headers: JSON_TYPE },
  { what: "a lone surrogate", path: "workflow/advance", body: "{\"expectedStep\":\"sample_qc\\ud800\",\"data\":{}}", headers: JSON_TYPE },
  { what: "wrong types", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: { ...QC, qubitNgUl: "sixty", din: [] } }), headers: JSON_TYPE },
  { what: "null", path: "workflow/advance", body: "null", headers: JSON_TYPE },
  { what: "a number", path: "workflow/advance", body: "42", headers: JSON_TYPE },
  { what: "no body", path: "workflow/advance" },
  { what: "another step's data", path: "workflow/advance", body: JSON.stringify({ expectedStep: "library_prep", data: {} }), headers: JSON_TYPE },
  { what: "an unknown step", path: "workflow/advance", body: JSON.stringify({ expectedStep: "brewing", data: {} }), headers: JSON_TYPE },
  { what: "a key with a space", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, "idempotency-key": "a b" } },
  { what: "a stale If-Match", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, "if-match": "\"1\"" } },
  { what: "an unreadable If-Match", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, "if-match": "soon" } },
  { what: "an unknown key", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, authorization: "Bearer pt_unknown_0123456789abcdef0123456789abcdef" } },
  { what: "an empty bearer", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, authorization: "Bearer " } },
  { what: "a read-only key", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, authorization: `Bearer ${readKey}` } },
  { what: "text/plain", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { "content-type": "text/plain" } },
  { what: "a body over the limit", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC, pad: "x".repeat(DOOR_DEFAULTS.maxBodyBytes) }), headers: JSON_TYPE },
  { what: "advance", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, "idempotency-key": "a-1", "if-match": "W/\"2\"" } },
  { what: "advance replayed", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: QC }), headers: { ...JSON_TYPE, "idempotency-key": "a-1" } },
  { what: "advance replayed with other data", path: "workflow/advance", body: JSON.stringify({ expectedStep: "sample_qc", data: { ...QC, din: 7 } }), headers: { ...JSON_TYPE, "idempotency-key": "a-1" } },
  { what: "the next step", path: "workflow/advance", body: JSON.stringify({ expectedStep: "library_prep", data: { kit: "SQK-LSK114", inputNg: 1000 } }), headers: JSON_TYPE }
]

/** Walks two new samples through `steps`, one directly and one the usual way; returns both walks' answers, named. */
const walkBoth = async (base: string, steps: ReadonlyArray<Step>) => {
  const direct = await createSample(base, "walker")
  const usual = await createSample(base, "walker")
  const answers: Array<{ what: string; direct: string; usual: string }> = []
  for (const step of steps) {
    const headers = { ...adminAuth, ...step.headers }
    const init = { ...(step.body !== undefined ? { body: step.body } : {}), headers }
    const a = await send(base, `/api/v1/samples/${direct.id}/${step.path}`, init)
    const b = await send(base, `/api/v1/samples/${usual.id}/${step.path}?way=usual`, init)
    answers.push({ what: step.what, direct: named(a, direct.id, direct.submissionId), usual: named(b, usual.id, usual.submissionId) })
  }
  return answers
}

/** One creation of the creation walk: its body and headers, `KEY` in a header standing for a key of each way's own. */
interface Creation {
  readonly what: string
  readonly body?: string
  readonly headers?: Record<string, string>
  readonly status: number
}

const NEW_SAMPLE = { sampleName: "walker-new", submitterEmail: "ada@lab.example", flowCellType: "R10.4.1", libraryKit: "SQK-LSK114" }
const CREATIONS = (readKey: string): ReadonlyArray<Creation> => [
  { what: "a new sample", body: JSON.stringify(NEW_SAMPLE), headers: { ...JSON_TYPE, "idempotency-key": "KEY-1" }, status: 201 },
  { what: "the same, replayed", body: JSON.stringify(NEW_SAMPLE), headers: { ...JSON_TYPE, "idempotency-key": "KEY-1" }, status: 201 },
  { what: "another under the same key", body: JSON.stringify({ ...NEW_SAMPLE, sampleName: "other" }), headers: { ...JSON_TYPE, "idempotency-key": "KEY-1" }, status: 409 },
  { what: "values that warn", body: JSON.stringify({ ...NEW_SAMPLE, flowCellType: "R9.4.1" }), headers: JSON_TYPE, status: 201 },
  { what: "no key", body: JSON.stringify({ ...NEW_SAMPLE, priority: "urgent" }), headers: JSON_TYPE, status: 201 },
  { what: "NUL in the name", body: JSON.stringify({ ...NEW_SAMPLE, sampleName: "a\u0000b" }), headers: JSON_TYPE, status: 422 },
  { what: "a lone surrogate", body: "{\"sampleName\":\"x\\udc00\",\"submitterEmail\":\"ada@lab.example\",\"flowCellType\":\"R10.4.1\"}", headers: JSON_TYPE, status: 422 },
  { what: "wrong types", body: JSON.stringify({ ...NEW_SAMPLE, volumeUl: "lots", priority: 3 }), headers: JSON_TYPE, status: 422 },
  { what: "an unknown field", body: JSON.stringify({ ...NEW_SAMPLE, colour: "blue" }), headers: JSON_TYPE, status: 422 },
  { what: "no name", body: JSON.stringify({ submitterEmail: "ada@lab.example", flowCellType: "R10.4.1" }), headers: JSON_TYPE, status: 422 },
  { what: "null", body: "null", headers: JSON_TYPE, status: 422 },
  { what: "an array", body: "[]", headers: JSON_TYPE, status: 422 },
  { what: "a huge string", body: JSON.stringify({ ...NEW_SAMPLE, notes: "n".repeat(200_000) }), headers: JSON_TYPE, status: 422 },
  { what: "nested too deep", body: deep(40), headers: JSON_TYPE, status: 400 },
  { what: "a prototype key", body: "{\"constructor\":{\"prototype\":{}},\"sampleName\":\"p\"}", headers: JSON_TYPE, status: 422 },
  { what: "not JSON", body: "{\"sampleName\"", headers: JSON_TYPE, status: 400 },
  { what: "a key with a space", body: JSON.stringify(NEW_SAMPLE), headers: { ...JSON_TYPE, "idempotency-key": "KEY 2" }, status: 422 },
  { what: "a read-only key", body: JSON.stringify(NEW_SAMPLE), headers: { ...JSON_TYPE, authorization: `Bearer ${readKey}` }, status: 403 },
  { what: "an unknown key", body: JSON.stringify(NEW_SAMPLE), headers: { ...JSON_TYPE, authorization: "Bearer pt_unknown_0123456789abcdef0123456789abcdef" }, status: 401 },
  { what: "no body", headers: {}, status: 422 }
]

/** Each creation sent directly and the usual way, each way with idempotency keys of its own. */
const createBoth = async (base: string, creations: ReadonlyArray<Creation>) => {
  const answers: Array<{ what: string; status: number; direct: string; usual: string }> = []
  for (const creation of creations) {
    const sent = async (way: string, path: string) => {
      const headers = Object.fromEntries(Object.entries({ ...adminAuth, ...creation.headers }).map(([k, v]) => [k, v.replace("KEY", `key-${way}`)]))
      const answer = await send(base, path, { ...(creation.body !== undefined ? { body: creation.body } : {}), headers })
      return JSON.stringify(answer)
        .replaceAll(`key-${way}`, "<key>")
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>")
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    }
    const direct = await sent("direct", "/api/v1/samples")
    const usual = await sent("usual", "/api/v1/samples?way=usual")
    answers.push({ what: creation.what, status: creation.status, direct, usual })
  }
  return answers
}

describe("direct routes", () => {
  layer(TestSystem(), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("answer every request of a walk, hostile ones included, exactly as the usual way does", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const readKey = await readOnlyKey(baseUrl, "reader")
          const before = await directTaken(baseUrl)
          const answers = await walkBoth(baseUrl, WALK(readKey))
          for (const { direct, usual, what } of answers) expect(direct, what).toBe(usual)
          // The walk's statuses are what a client expects (the comparison alone would pass two equal wrong answers).
          const statuses = answers.map(({ direct, what }) => [what, (JSON.parse(direct) as Answer).status] as const)
          expect(Object.fromEntries(statuses)).toEqual({
            "receive with fields": 422,
            "receive with an array": 422,
            "advance before receipt": 409,
            "receive": 200,
            "receive replayed": 200,
            "receive with {}": 409,
            "another command under a used key": 409,
            "not JSON": 400,
            "nested too deep": 400,
            "a prototype key": 422,
            "NUL in a field": 422,
            "a lone surrogate": 422,
            "wrong types": 422,
            "null": 422,
            "a number": 422,
            "no body": 422,
            "another step's data": 409,
            "an unknown step": 422,
            "a key with a space": 422,
            "a stale If-Match": 412,
            "an unreadable If-Match": 412,
            "an unknown key": 401,
            "an empty bearer": 401,
            "a read-only key": 403,
            "text/plain": 415,
            "a body over the limit": 413,
            "advance": 200,
            "advance replayed": 200,
            "advance replayed with other data": 409,
            "the next step": 200
          })
          // The walk's two creations and every request of the walk but the three the usual way keeps (a bearer without
          // a key, text/plain, over the limit) were taken by the direct routes.
          expect(await directTaken(baseUrl) - before).toBe(2 + WALK(readKey).length - 3)
        })
      }))

    it.effect("answer every creation, hostile ones included, exactly as the usual way does", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const readKey = await readOnlyKey(baseUrl, "reader 2")
          const samplesBefore = (await query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM samples"))[0]!.n
          const before = await directTaken(baseUrl)
          const answers = await createBoth(baseUrl, CREATIONS(readKey))
          for (const { direct, status, usual, what } of answers) {
            expect(direct, what).toBe(usual)
            expect((JSON.parse(direct) as Answer).status, what).toBe(status)
          }
          // Three new samples each way (the replay created nothing), and nothing from the refused ones.
          const samplesAfter = (await query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM samples"))[0]!.n
          expect(samplesAfter - samplesBefore).toBe(6)
          // The warnings of a low-concentration sample are the same both ways, and there are some.
          const warned = JSON.parse(answers.find((a) => a.what === "values that warn")!.direct) as Answer
          expect((warned.body as { warnings: Array<string> }).warnings.length).toBeGreaterThan(0)
          // Everything but a creation without a body was taken by the direct routes.
          expect(await directTaken(baseUrl) - before).toBe(CREATIONS(readKey).length - 1)
        })
      }))
  })

  layer(
    TestSystem({ settings: { door: { ...DOOR_DEFAULTS, perPrincipal: { perSecond: 0.001, burst: 4 }, perAddress: { perSecond: 100, burst: 100 } } } }),
    { excludeTestServices: true, timeout: 120_000 }
  )((it) => {
    it.effect("answer a key past its burst 429 with Retry-After and RateLimit-*, as the usual way does", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          // The admin key's burst of 4: two creations, then one receive each way, then both refused.
          const answers = await walkBoth(baseUrl, [
            { what: "receive", path: "receive" },
            { what: "receive again", path: "receive" }
          ])
          const [first, second] = answers
          expect(JSON.parse(first!.direct).status).toBe(200)
          expect(JSON.parse(second!.direct).status).toBe(429)
          expect(JSON.parse(second!.usual).status).toBe(429)
          const refused = JSON.parse(second!.direct) as Answer
          expect(refused.headers["retry-after"]).toMatch(/^\d+$/)
          expect(refused.headers["ratelimit-remaining"]).toBe("0")
          expect(second!.direct).toBe(second!.usual)
        })
      }))
  })

  layer(
    TestSystem({ settings: { door: { ...DOOR_DEFAULTS, requestTimeout: Duration.millis(200), perPrincipal: { perSecond: 10_000, burst: 10_000 } } } }),
    { excludeTestServices: true, timeout: 120_000 }
  )((it) => {
    it.effect("answer a command past REQUEST_TIMEOUT 503 with Retry-After once its commit ends, as the usual way does", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const direct = await createSample(baseUrl, "late")
          const usual = await createSample(baseUrl, "late")
          // Both samples' rows locked: their receipts' commits wait, and the 200 ms deadline passes meanwhile.
          const lock = new pg.Client({ connectionString: databaseUrl })
          await lock.connect()
          try {
            await lock.query("BEGIN")
            await lock.query("SELECT id FROM samples WHERE id = ANY($1::uuid[]) FOR UPDATE", [[direct.id, usual.id]])
            const headers = { ...adminAuth, "idempotency-key": "t-1" }
            const answers = Promise.all([
              send(baseUrl, `/api/v1/samples/${direct.id}/receive`, { headers }),
              send(baseUrl, `/api/v1/samples/${usual.id}/receive?way=usual`, { headers })
            ])
            // Until both commits have waited for the lock for longer than the deadline (a condition, not a pause).
            for (;;) {
              const waiting = await query<{ n: number }>(
                databaseUrl,
                `SELECT count(*)::int AS n FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event IN ('transactionid', 'tuple') AND query ILIKE '%UPDATE samples%'
                   AND query_start < clock_timestamp() - interval '400 milliseconds'`
              )
              if (waiting[0]!.n >= 1) break
            }
            await lock.query("COMMIT")
            const [a, b] = await answers
            expect(a.status).toBe(503)
            expect(a.headers["retry-after"]).toBe("1")
            expect(a.body).toMatchObject({ error: "RequestTimeout" })
            expect(named(a, direct.id, direct.submissionId)).toBe(named(b, usual.id, usual.submissionId))
            // The commit landed all the same: a retry with the key replays it.
            const retried = await send(baseUrl, `/api/v1/samples/${direct.id}/receive`, { headers })
            expect(retried.status).toBe(200)
            expect(retried.headers["idempotent-replayed"]).toBe("true")
          } finally {
            await lock.end()
          }
        })
      }))
  })
})
