/**
 * The door under hostile input, over real HTTP: every string field refuses NUL and unpaired surrogates (422 naming
 * the field, nothing written), SQL metacharacters are data, bodies over the limit are refused without being read
 * (RSS stays bounded while 50 MB bodies arrive in parallel), wrong content types are 415, deep nesting 400, wrong
 * methods 405, replayed creation keys with another body 409, garbage RPC frames typed protocol errors; every decoder
 * is fuzzed with fast-check (never a 500, nothing written); the OpenAPI document validates and every documented route
 * answers; rate limits answer 429 with Retry-After and RateLimit-* headers.
 */
import { Validator } from "@seriousme/openapi-schema-validator"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { DOOR_DEFAULTS } from "../runtime/Config.ts"
import fc from "fast-check"
import { request as httpRequest } from "node:http"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

interface Reply {
  readonly status: number
  readonly text: string
  readonly body: Record<string, unknown>
  readonly headers: Headers
}

const send = async (base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...adminAuth, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body } : {})
  })
  const text = await res.text()
  let parsed: Record<string, unknown> = {}
  try {
    parsed = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    parsed = { text }
  }
  return { status: res.status, text, body: parsed, headers: res.headers }
}

const rows = async (databaseUrl: string, table: string) =>
  (await query<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n

/** The sample events that are changes (the notifier appends NotificationTriggered events asynchronously). */
const CHANGES = "sample_events WHERE type <> 'NotificationTriggered'"

const BASE_SAMPLE = { sampleName: "door-1", submitterEmail: "ada@lab.example", flowCellType: "R10.4.1" }
const HOSTILE = ["nul\u0000here", "lone \uD800 high", "lone \uDC00 low", "bell\u0007"]
/** Every free-text field of a created sample. */
const SAMPLE_TEXT_FIELDS = ["sampleName", "submitterEmail", "organism", "buffer", "notes"] as const

describe("the door", () => {
  layer(TestSystem(), { excludeTestServices: true, timeout: 180_000 })((it) => {
    it.effect("NUL, control characters and unpaired surrogates in any text field are 422 naming it; nothing is written", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const before = await rows(databaseUrl, "samples")
          for (const field of SAMPLE_TEXT_FIELDS) {
            for (const bad of HOSTILE) {
              const res = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, [field]: bad }))
              expect(res.status, `${field} ${JSON.stringify(bad)}: ${res.text}`).toBe(422)
              expect((res.body.issues as Array<{ path: string }>).map((i) => i.path)).toContain(field)
              // the answer never echoes more than a short excerpt of the input
              expect(res.text.length).toBeLessThan(2_000)
            }
          }
          const created = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify(BASE_SAMPLE))
          const id = String(created.body.id)
          await send(baseUrl, "POST", `/api/v1/samples/${id}/receive`)
          for (const [path, body] of [
            ["/hold", (bad: string) => ({ reason: bad })],
            ["/cancel", (bad: string) => ({ reason: bad })],
            ["/workflow/fail", (bad: string) => ({ step: "sample_qc", reason: bad })],
            ["", (bad: string) => ({ details: { notes: bad } })]
          ] as const) {
            for (const bad of HOSTILE) {
              const res = await send(baseUrl, path === "" ? "PATCH" : "POST", `/api/v1/samples/${id}${path}`, JSON.stringify(body(bad)))
              expect(res.status, `${path} ${JSON.stringify(bad)}: ${res.text}`).toBe(422)
            }
          }
          const huge = await send(baseUrl, "POST", `/api/v1/samples/${id}/hold`, JSON.stringify({ reason: "x".repeat(500_000) }))
          expect(huge.status).toBe(422)
          expect(huge.text.length).toBeLessThan(2_000)
          const after = await query<{ version: number }>(databaseUrl, "SELECT version FROM samples WHERE id = $1", [id])
          expect(after[0]!.version).toBe(2)
          expect(await rows(databaseUrl, "samples")).toBe(before + 1)
        })
      }))

    it.effect("SQL metacharacters are stored as text; lists and searches with them answer, never 500", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const sly = "x'); DROP TABLE samples; --"
          const created = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, notes: sly, organism: "\" OR 1=1 --" }))
          expect(created.status).toBe(201)
          expect((created.body.details as { notes: string }).notes).toBe(sly)
          for (const q of ["%", "_", "'", "\\", "%00", "%27%3B", "a%25b"]) {
            const res = await send(baseUrl, "GET", `/api/v1/samples?q=${q}&submitter=${q}`)
            expect([200, 422], `q=${q}: ${res.text}`).toContain(res.status)
          }
        })
      }))

    it.effect("bodies over the limit are 413 unread; four 50 MB bodies in parallel leave memory bounded; wrong content types 415", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const before = await rows(databaseUrl, "samples")
          const url = new URL(`${baseUrl}/api/v1/submissions`)
          const rssBefore = process.memoryUsage().rss
          const big = (chunked: boolean) =>
            new Promise<number>((resolve) => {
              const req = httpRequest({
                host: url.hostname,
                port: url.port,
                path: url.pathname,
                method: "POST",
                headers: {
                  ...adminAuth,
                  "content-type": "application/json",
                  ...(chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(50 * 1024 * 1024) })
                }
              }, (res) => {
                res.resume()
                resolve(res.statusCode ?? 0)
              })
              req.on("error", () => resolve(-1)) // the server may close the connection while we are still sending
              const chunk = Buffer.alloc(1024 * 1024, 0x20)
              let sent = 0
              const pump = () => {
                while (sent < 50) {
                  sent++
                  if (!req.write(chunk)) return void req.once("drain", pump)
                }
                req.end()
              }
              pump()
            })
          const statuses = await Promise.all([big(false), big(false), big(true), big(true)])
          for (const s of statuses) expect([413, -1]).toContain(s)
          expect(statuses.some((s) => s === 413)).toBe(true)
          // The server (this process) never held the bodies: far less than 4 × 50 MB more memory.
          expect(process.memoryUsage().rss - rssBefore).toBeLessThan(120 * 1024 * 1024)
          expect(await rows(databaseUrl, "samples")).toBe(before)

          for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
            const res = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify(BASE_SAMPLE), { "content-type": type })
            expect(res.status, type).toBe(415)
          }
          const deep = await send(baseUrl, "POST", "/api/v1/samples", "[".repeat(3_000) + "]".repeat(3_000))
          expect(deep.status).toBe(400)
          const deepObject = await send(baseUrl, "POST", "/api/v1/submissions", JSON.stringify({ submitterEmail: "a@b.example", samples: [{ sampleName: "x", notes: JSON.parse("[".repeat(100) + "]".repeat(100)) as unknown }] }))
          expect(deepObject.status).toBe(400)
          const proto = await send(baseUrl, "POST", "/api/v1/samples/batch/hold", '{"sampleIds":["00000000-0000-4000-8000-000000000000"],"reason":"x","__proto__":{"admin":true}}')
          expect(proto.status).toBe(422)
          expect(JSON.stringify(proto.body)).toContain("__proto__")
          expect((await send(baseUrl, "DELETE", "/api/v1/samples")).status).toBe(405)
          expect((await send(baseUrl, "PUT", "/api/v1/queues")).headers.get("allow")).toBe("GET")
          expect(await rows(databaseUrl, "samples")).toBe(before)
        })
      }))

    it.effect("a creation replayed with its Idempotency-Key returns the first result; the same key with another body is 409", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const before = await rows(databaseUrl, "samples")
          const key = { "idempotency-key": `create-${Date.now()}` }
          const first = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, sampleName: "once" }), key)
          const again = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, sampleName: "once" }), key)
          expect(first.status).toBe(201)
          expect(again.body.id).toBe(first.body.id)
          const other = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, sampleName: "twice" }), key)
          expect(other.status).toBe(409)
          expect(other.body.error).toBe("IdempotencyKeyReused")
          const sub = { submitterEmail: "ada@lab.example", samples: [{ sampleName: "s1" }, { sampleName: "s2" }] }
          const skey = { "idempotency-key": `sub-${Date.now()}` }
          const s1 = await send(baseUrl, "POST", "/api/v1/submissions", JSON.stringify(sub), skey)
          const s2 = await send(baseUrl, "POST", "/api/v1/submissions", JSON.stringify(sub), skey)
          expect((s2.body.submission as { id: string }).id).toBe((s1.body.submission as { id: string }).id)
          expect(await rows(databaseUrl, "samples")).toBe(before + 3)
        })
      }))

    it.effect("numbers have domain ranges; If-Match is checked by the sample's owner; refusals name routes; pages say where things are", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          for (const [field, value] of [["volumeUl", 1e308], ["concentrationNgUl", 1e9], ["a260_280", 50], ["genomeSizeMb", -1]] as const) {
            const res = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, [field]: value }))
            expect(res.status, `${field}=${value}`).toBe(422)
            expect((res.body.issues as Array<{ path: string }>).map((i) => i.path)).toContain(field)
          }
          const created = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, sampleName: "versioned" }))
          const id = String(created.body.id)
          expect(created.headers.get("etag")).toBe('"1"')
          const read = await send(baseUrl, "GET", `/api/v1/samples/${id}`)
          expect(read.headers.get("etag")).toBe('"1"')
          const stale = await send(baseUrl, "POST", `/api/v1/samples/${id}/receive`, undefined, { "if-match": '"7"' })
          expect(stale.status).toBe(412)
          expect(stale.body).toMatchObject({ error: "VersionMismatch", currentVersion: 1 })
          const fresh = await send(baseUrl, "POST", `/api/v1/samples/${id}/receive`, undefined, { "if-match": '"1"' })
          expect(fresh.status).toBe(200)
          expect(fresh.headers.get("etag")).toBe('"2"')
          const skip = await send(baseUrl, "POST", `/api/v1/samples/${id}/workflow/skip`, JSON.stringify({ step: "sample_qc", reason: "no" }))
          expect(skip.status).toBe(409)
          expect(skip.body.message).toBe("sample_qc cannot be skipped; the facility allows skipping only basecalling")
          expect(skip.body.attempted).toBe("POST /workflow/skip")

          const landing = await fetch(`${baseUrl}/`)
          expect(landing.status).toBe(200)
          // `/` is the web app (or, without a build, a page saying how to make one).
          expect(landing.headers.get("content-type")).toContain("text/html")
          // An address that is no page: a browser reads "Page not found" with a way back, a program a JSON 404.
          const lostBrowser = await fetch(`${baseUrl}/no/such/page`, { headers: { accept: "text/html,application/xhtml+xml" } })
          expect(lostBrowser.status).toBe(404)
          expect(await lostBrowser.text()).toContain("Page not found")
          const lostProgram = await fetch(`${baseUrl}/no/such/page`)
          expect(lostProgram.status).toBe(404)
          expect(await lostProgram.json()).toMatchObject({ error: "NotFound" })
          const index = await send(baseUrl, "GET", "/api/v1")
          expect(index.body).toMatchObject({ openapi: "/api/v1/openapi.json", docs: "/api/docs" })
          const setup = await fetch(`${baseUrl}/setup?token=x`)
          expect(await setup.text()).toContain("/api/v1/setup")

          // Unmatched paths share one metric label: two hundred random paths add no series.
          const series = async () => (await (await fetch(`${baseUrl}/metrics`)).text()).split("\n").filter((l) => l.startsWith("poretrack_http_requests_total")).length
          await send(baseUrl, "GET", "/api/v1/nothing-here-0")
          await series() // the scrape itself is counted once it has been answered
          const before = await series()
          for (let i = 1; i <= 200; i++) await send(baseUrl, "GET", `/api/v1/nothing-here-${i}/${Math.random()}`)
          expect(await series()).toBe(before)
        })
      }))

    it.effect("garbage on /rpc is a typed protocol answer, never a Defect with internal text", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          for (const body of ["not json\n", '{"_tag":"Request","id":"1","tag":"Samples.Get","payload":{},"headers":{"a":1}}\n', '{"_tag":"Request"}\n', "[]\n", '{"_tag":"Request","id":"2","tag":"Nope","payload":{},"headers":[]}']) {
            const res = await send(baseUrl, "POST", "/rpc", body, { "content-type": "application/ndjson" })
            expect(res.status, body).toBeLessThan(500)
            expect(res.text).not.toMatch(/at .*\.ts:\d+/)
          }
        })
      }))

    it.effect("fuzzed bodies on every write route: never a 500, nothing written", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const created = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, sampleName: "fuzz-target" }))
          const id = String(created.body.id)
          const before = { samples: await rows(databaseUrl, "samples"), events: await rows(databaseUrl, CHANGES) }
          const routes: ReadonlyArray<readonly [string, string]> = [
            ["POST", "/api/v1/samples"], ["POST", "/api/v1/submissions"], ["PATCH", `/api/v1/samples/${id}`],
            ["POST", `/api/v1/samples/${id}/hold`], ["POST", `/api/v1/samples/${id}/workflow/advance`],
            ["POST", `/api/v1/samples/${id}/workflow/rework`], ["POST", `/api/v1/samples/${id}/priority`],
            ["POST", "/api/v1/samples/batch/cancel"], ["POST", "/api/v1/events/ack"], ["POST", "/api/v1/keys"],
            ["POST", "/api/v1/users"], ["POST", "/api/v1/auth/login"], ["POST", "/api/v1/setup"]
          ]
          const failures: Array<string> = []
          await fc.assert(
            fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(fc.jsonValue(), fc.object(), fc.string({ unit: "binary" })), async ([method, path], value) => {
              const body = typeof value === "string" ? value : JSON.stringify(value)
              const res = await send(baseUrl, method, path, body)
              if (res.status >= 500) failures.push(`${method} ${path} ${body.slice(0, 80)} → ${res.status} ${res.text.slice(0, 120)}`)
              return res.status < 500
            }),
            { numRuns: 300, seed: 20261129 }
          )
          expect(failures).toEqual([])
          // Random bodies never made a sample, an event, a user or a key.
          expect(await rows(databaseUrl, "samples")).toBe(before.samples)
          expect(await rows(databaseUrl, CHANGES)).toBe(before.events)
        })
      }))

    it.effect("fuzzed query strings and RPC payloads: never a 500, never a Defect, nothing written", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const before = await rows(databaseUrl, CHANGES)
          const failures: Array<string> = []
          const params = ["status", "step", "priority", "submissionId", "submitter", "q", "cursor", "limit", "consumer"]
          await fc.assert(
            fc.asyncProperty(
              fc.constantFrom("/api/v1/samples", "/api/v1/queues/sample_qc", "/api/v1/events", "/api/v1/audit"),
              fc.array(fc.tuple(fc.constantFrom(...params), fc.string({ unit: "binary", maxLength: 80 })), { maxLength: 4 }),
              async (path, pairs) => {
                const query = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")
                const res = await send(baseUrl, "GET", `${path}?${query}`)
                if (res.status >= 500) failures.push(`GET ${path}?${query} → ${res.status} ${res.text.slice(0, 120)}`)
                return res.status < 500
              }
            ),
            { numRuns: 200, seed: 20261130 }
          )
          const tags = ["Samples.Get", "Samples.List", "Samples.Execute", "Samples.Batch", "Submissions.Create", "Queues.Get", "Events.Read", "Events.Ack", "Samples.Create"]
          await fc.assert(
            fc.asyncProperty(fc.constantFrom(...tags), fc.jsonValue(), async (tag, payload) => {
              const line = JSON.stringify({ _tag: "Request", id: "1", tag, payload, headers: [] })
              const res = await send(baseUrl, "POST", "/rpc", `${line}\n`, { "content-type": "application/ndjson" })
              const bad = res.status >= 500 || /"_tag":"Die"|Defect/.test(res.text)
              if (bad) failures.push(`rpc ${tag} ${line.slice(0, 100)} → ${res.status} ${res.text.slice(0, 160)}`)
              return !bad
            }),
            { numRuns: 200, seed: 20261131 }
          )
          expect(failures).toEqual([])
          expect(await rows(databaseUrl, CHANGES)).toBe(before)
        })
      }))

    it.effect("the OpenAPI document validates, and every documented route answers (none 404 as unknown, none 500)", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const doc = (await (await fetch(`${baseUrl}/api/v1/openapi.json`)).json()) as Record<string, unknown> & {
            openapi: string
            paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
          }
          expect(doc.openapi).toMatch(/^3\.1/)
          const validator = new Validator()
          const verdict = await validator.validate(doc)
          expect(verdict.errors ?? []).toEqual([])
          expect(verdict.valid).toBe(true)
          // Every reference resolves; the notifier's bodies are documented by its own schemas, not as "any JSON".
          const schemas = (doc as unknown as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }).components.schemas
          const refs = new Set<string>()
          JSON.stringify(doc, (key, value: unknown) => {
            if (key === "$ref" && typeof value === "string") refs.add(value)
            return value
          })
          expect([...refs].filter((r) => !(r.replace("#/components/schemas/", "") in schemas))).toEqual([])
          expect(JSON.stringify(doc.paths["/api/v1/notification-rules"])).toContain("#/components/schemas/NotificationRule")
          expect(Object.keys(schemas.NotificationRule?.properties ?? {})).toEqual(expect.arrayContaining(["id", "on", "to", "channels", "enabled"]))
          expect(JSON.stringify(doc.paths["/api/v1/notification-templates/preview"])).toContain("#/components/schemas/NotificationTemplatePreview")
          const docs = await fetch(`${baseUrl}/api/docs`)
          expect(docs.status).toBe(200)
          // the page carries its own script (works offline): no external script is loaded
          expect(await docs.text()).not.toMatch(/<script[^>]+src="https?:/)

          const created = await send(baseUrl, "POST", "/api/v1/samples", JSON.stringify({ ...BASE_SAMPLE, sampleName: "documented" }))
          const id = String(created.body.id)
          const fill = (path: string) =>
            path.replace("{id}", path.startsWith("/api/v1/users") || path.startsWith("/api/v1/keys") ? "00000000-0000-4000-8000-000000000000" : id)
              .replace("{step}", "sample_qc")
          let called = 0
          for (const [path, operations] of Object.entries(doc.paths)) {
            for (const method of Object.keys(operations)) {
              if (path === "/api/v1/auth/logout") continue // would end nothing here (a key has no session) but skip anyway
              const res = await send(baseUrl, method.toUpperCase(), `${fill(path)}${path === "/api/v1/events" ? "?consumer=doc" : ""}`, method === "get" ? undefined : "{}")
              called++
              expect(res.status, `${method} ${path}: ${res.text.slice(0, 200)}`).toBeLessThan(500)
              expect(res.body.error, `${method} ${path}`).not.toBe("RouteNotFound")
              expect(res.status === 405, `${method} ${path}`).toBe(false)
            }
          }
          expect(called).toBeGreaterThan(35)
        })
      }))
  })
})

describe("rate limits", () => {
  layer(TestSystem({ settings: { door: { ...DOOR_DEFAULTS, perPrincipal: { perSecond: 1, burst: 5 }, perAddress: { perSecond: 1, burst: 3 } } } }), {
    excludeTestServices: true,
    timeout: 120_000
  })((it) => {
    it.effect("a key past its burst gets 429 with Retry-After and RateLimit-*; anonymous traffic is limited per address", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const statuses: Array<number> = []
          let limited: Reply | undefined
          for (let i = 0; i < 8; i++) {
            const res = await send(baseUrl, "GET", "/api/v1/me")
            statuses.push(res.status)
            if (res.status === 429) limited = res
          }
          expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200])
          expect(statuses).toContain(429)
          expect(limited?.body.error).toBe("RateLimited")
          expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
          expect(limited?.headers.get("ratelimit-limit")).toBe("5")
          expect(limited?.headers.get("ratelimit-remaining")).toBe("0")
          const anonymous: Array<number> = []
          for (let i = 0; i < 6; i++) anonymous.push((await fetch(`${baseUrl}/api/v1/me`)).status)
          expect(anonymous.slice(0, 3)).toEqual([401, 401, 401])
          expect(anonymous).toContain(429)
        })
      }))
  })
})
