/**
 * Who may do what, over real HTTP: every route × every role, anonymous, and an API key of each scope, answered as
 * allowed or 401/403; submitters confined to their own samples on REST and RPC; CSRF on cookie writes; revoked keys.
 * "Allowed" means the door let the request through: what the route then answers (200, 404, 409, 422) is its business.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Layer, Option, Schema, Stream } from "effect"
import { AuditEntry, SCOPES, type ApiScope } from "../rpc/Auth.ts"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import { SampleId } from "../rpc/Ids.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
  readonly headers: Headers
}

const PASSWORD = "a long enough password"

/** How a principal authenticates: a bearer key, or a session cookie (+ its CSRF token on writes). */
type Credential =
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Key"; readonly secret: string }
  | { readonly _tag: "Session"; readonly cookie: string; readonly csrf: string; readonly email: string }

const call = async (base: string, who: Credential, method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Reply> => {
  const headers: Record<string, string> = { ...extra }
  if (body !== undefined) headers["content-type"] = "application/json"
  if (who._tag === "Key") headers.authorization = `Bearer ${who.secret}`
  if (who._tag === "Session") {
    headers.cookie = who.cookie
    if (method !== "GET") headers["x-csrf-token"] = who.csrf
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  const text = await res.text()
  let parsed: Record<string, unknown> = {}
  try {
    parsed = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    parsed = { text }
  }
  return { status: res.status, body: parsed, headers: res.headers }
}

const ADMIN: Credential = { _tag: "Key", secret: adminAuth.authorization!.slice("Bearer ".length) }

let worlds = 0

/** The world of the test: people of each role, a key of each scope, and samples of two submitters. */
const setUp = async (base: string) => {
  const person = async (role: string, email: string): Promise<Credential> => {
    const created = await call(base, ADMIN, "POST", "/api/v1/users", { email, name: role, role, password: PASSWORD })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const signedIn = await fetch(`${base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD })
    })
    expect(signedIn.status).toBe(200)
    const cookie = (signedIn.headers.get("set-cookie") ?? "").split(";")[0]!
    expect(signedIn.headers.get("set-cookie")).toMatch(/HttpOnly/)
    expect(signedIn.headers.get("set-cookie")).toMatch(/SameSite=Lax/)
    const session = (await signedIn.json()) as { csrfToken: string }
    return { _tag: "Session", cookie, csrf: session.csrfToken, email }
  }
  const key = async (scope: ApiScope): Promise<Credential> => {
    const created = await call(base, ADMIN, "POST", "/api/v1/keys", { name: `key ${scope}`, scopes: [scope] })
    expect(created.status).toBe(201)
    return { _tag: "Key", secret: String(created.body.secret) }
  }
  // Every world has its own people (the test file shares one database).
  const n = ++worlds
  const emails = { own: `ada${n}@lab.example`, other: `bob${n}@lab.example` }
  const people = {
    submitter: await person("submitter", emails.own),
    otherSubmitter: await person("submitter", emails.other),
    technician: await person("technician", `tech${n}@facility.example`),
    manager: await person("manager", `manager${n}@facility.example`),
    admin: await person("admin", `admin${n}@facility.example`)
  }
  const keys = Object.fromEntries(await Promise.all(SCOPES.map(async (s) => [s, await key(s)] as const))) as Record<ApiScope, Credential>
  const submitWhole = async (email: string, name: string) => {
    const created = await call(base, ADMIN, "POST", "/api/v1/submissions", { submitterEmail: email, samples: [{ sampleName: name, libraryKit: "SQK-LSK114" }] })
    expect(created.status).toBe(201)
    return { sample: (created.body.samples as Array<{ id: string }>)[0]!.id, submission: (created.body.submission as { id: string }).id }
  }
  const submit = async (email: string, name: string) => (await submitWhole(email, name)).sample
  const others = await submitWhole(emails.other, "bob-1")
  return { people, keys, own: await submit(emails.own, "ada-1"), others: others.sample, othersSubmission: others.submission, submit, emails }
}

type World = Awaited<ReturnType<typeof setUp>>
type Who = keyof World["people"] | `key:${ApiScope}` | "anonymous"

const credentialOf = (world: World, who: Who): Credential =>
  who === "anonymous" ? { _tag: "Anonymous" } : who.startsWith("key:") ? world.keys[who.slice(4) as ApiScope] : world.people[who as keyof World["people"]]

const EVERYONE: ReadonlyArray<Who> = [
  "anonymous", "submitter", "technician", "manager", "admin", ...SCOPES.map((s) => `key:${s}` as const)
]

/** One row of the matrix: a request, and who may make it (everyone else authenticated gets 403, anonymous 401). */
interface Row {
  readonly what: string
  readonly method: string
  readonly path: (w: World) => string
  readonly body?: (w: World) => unknown
  readonly allowed: ReadonlyArray<Who>
}

const staffRead: ReadonlyArray<Who> = ["technician", "manager", "admin", "key:samples:read", "key:samples:write", "key:admin"]
const work: ReadonlyArray<Who> = ["technician", "manager", "admin", "key:samples:write", "key:admin"]
const manage: ReadonlyArray<Who> = ["manager", "admin", "key:samples:write", "key:admin"]
const adminOnly: ReadonlyArray<Who> = ["admin", "key:admin"]

const MATRIX: ReadonlyArray<Row> = [
  { what: "who am I", method: "GET", path: () => "/api/v1/me", allowed: EVERYONE.filter((w) => w !== "anonymous") },
  { what: "list samples", method: "GET", path: () => "/api/v1/samples", allowed: ["submitter", ...staffRead] },
  { what: "read another submitter's sample", method: "GET", path: (w) => `/api/v1/samples/${w.others}`, allowed: staffRead },
  { what: "read one's own sample", method: "GET", path: (w) => `/api/v1/samples/${w.own}`, allowed: ["submitter", ...staffRead] },
  { what: "another's workflow", method: "GET", path: (w) => `/api/v1/samples/${w.others}/workflow`, allowed: staffRead },
  { what: "another's audit trail", method: "GET", path: (w) => `/api/v1/samples/${w.others}/events`, allowed: staffRead },
  { what: "receive another's sample", method: "POST", path: (w) => `/api/v1/samples/${w.others}/receive`, allowed: work },
  { what: "hold another's sample", method: "POST", path: (w) => `/api/v1/samples/${w.others}/hold`, body: () => ({ reason: "matrix" }), allowed: work },
  { what: "start a step", method: "POST", path: (w) => `/api/v1/samples/${w.others}/workflow/start`, body: () => ({ step: "sample_qc" }), allowed: work },
  { what: "advance", method: "POST", path: (w) => `/api/v1/samples/${w.others}/workflow/advance`, body: () => ({ expectedStep: "sample_qc", data: { qubitNgUl: 1, volumeUl: 1 } }), allowed: work },
  { what: "change priority", method: "POST", path: (w) => `/api/v1/samples/${w.others}/priority`, body: () => ({ priority: "urgent" }), allowed: manage },
  { what: "rework", method: "POST", path: (w) => `/api/v1/samples/${w.others}/workflow/rework`, body: () => ({ toStep: "sample_qc", reason: "matrix" }), allowed: manage },
  { what: "cancel another's sample", method: "POST", path: (w) => `/api/v1/samples/${w.others}/cancel`, body: () => ({ reason: "matrix" }), allowed: manage },
  { what: "edit another's sample", method: "PATCH", path: (w) => `/api/v1/samples/${w.others}`, body: () => ({ details: { notes: "matrix" } }), allowed: work },
  { what: "batch receive", method: "POST", path: () => "/api/v1/samples/batch/receive", body: (w) => ({ sampleIds: [w.others] }), allowed: work },
  { what: "batch priority", method: "POST", path: () => "/api/v1/samples/batch/priority", body: (w) => ({ sampleIds: [w.others], priority: "low" }), allowed: manage },
  { what: "create a sample for oneself", method: "POST", path: () => "/api/v1/samples", body: (w) => ({ sampleName: "m", submitterEmail: w.emails.own, flowCellType: "R10.4.1" }), allowed: ["submitter", "technician", "manager", "admin", "key:submissions:write", "key:admin"] },
  { what: "create a submission for someone else", method: "POST", path: () => "/api/v1/submissions", body: (w) => ({ submitterEmail: w.emails.other, samples: [{ sampleName: "x" }] }), allowed: ["technician", "manager", "admin", "key:submissions:write", "key:admin"] },
  { what: "read another's submission", method: "GET", path: (w) => `/api/v1/submissions/${w.othersSubmission}`, allowed: staffRead },
  { what: "queue lengths", method: "GET", path: () => "/api/v1/queues", allowed: staffRead },
  { what: "a queue", method: "GET", path: () => "/api/v1/queues/sample_qc", allowed: staffRead },
  { what: "read the event log", method: "GET", path: () => "/api/v1/events?consumer=matrix", allowed: ["admin", "key:events:read", "key:admin"] },
  { what: "ack the event log", method: "POST", path: () => "/api/v1/events/ack", body: () => ({ consumer: "matrix", cursor: "0.0" }), allowed: ["admin", "key:events:read", "key:admin"] },
  { what: "list users", method: "GET", path: () => "/api/v1/users", allowed: adminOnly },
  { what: "create a user", method: "POST", path: () => "/api/v1/users", body: () => ({ email: "x@y.example", name: "x", role: "admin", password: "short" }), allowed: adminOnly },
  { what: "list keys", method: "GET", path: () => "/api/v1/keys", allowed: adminOnly },
  { what: "create a key", method: "POST", path: () => "/api/v1/keys", body: () => ({ name: "x", scopes: [] }), allowed: adminOnly },
  { what: "revoke a key", method: "POST", path: () => "/api/v1/keys/00000000-0000-4000-8000-000000000000/revoke", allowed: adminOnly },
  { what: "the audit log", method: "GET", path: () => "/api/v1/audit", allowed: adminOnly }
]

describe("authorization", () => {
  layer(TestSystem(), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("every route × every role and scope: allowed, or 401 anonymous and 403 for the rest; refusals are audited", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        const wrong = yield* Effect.promise(async () => {
          const world = await setUp(baseUrl)
          const out: Array<string> = []
          for (const row of MATRIX) {
            for (const who of EVERYONE) {
              const reply = await call(baseUrl, credentialOf(world, who), row.method, row.path(world), row.body?.(world))
              const expected = row.allowed.includes(who) ? "allowed" : who === "anonymous" ? 401 : 403
              const got = reply.status === 401 || reply.status === 403 ? reply.status : "allowed"
              if (got !== expected || reply.status >= 500) out.push(`${row.what} as ${who}: expected ${expected}, got ${reply.status} ${JSON.stringify(reply.body).slice(0, 160)}`)
            }
          }
          return out
        })
        expect(wrong).toEqual([])
        const audited = yield* Effect.promise(() => call(baseUrl, ADMIN, "GET", "/api/v1/audit?limit=500"))
        const refusals = (yield* Schema.decodeUnknown(Schema.Array(AuditEntry))(audited.body)).filter((e) => e.type === "PermissionRefused")
        expect(refusals.length).toBeGreaterThan(50)
      }))

    it.effect("a submitter sees, lists and follows only their own samples, and may cancel their own before receipt", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const world = await setUp(baseUrl)
          const ada = world.people.submitter
          const list = await call(baseUrl, ada, "GET", "/api/v1/samples?limit=500")
          const emails = new Set((list.body.items as Array<{ submitterEmail: string }>).map((s) => s.submitterEmail))
          expect([...emails]).toEqual([world.emails.own])
          // Even asking for another submitter's samples by filter returns only one's own.
          const filtered = await call(baseUrl, ada, "GET", `/api/v1/samples?submitter=${world.emails.other}`)
          expect((filtered.body.items as Array<unknown>).length).toBe(0)
          // Submissions are created under one's own e-mail only.
          expect((await call(baseUrl, ada, "POST", "/api/v1/submissions", { submitterEmail: world.emails.other, samples: [{ sampleName: "sneaky" }] })).status).toBe(403)
          // One's own sample, not yet received: notes and cancel are allowed, receiving is not.
          const mine = await world.submit(world.emails.own, "ada-cancel")
          expect((await call(baseUrl, ada, "PATCH", `/api/v1/samples/${mine}`, { details: { notes: "ships Monday" } })).status).toBe(200)
          expect((await call(baseUrl, ada, "POST", `/api/v1/samples/${mine}/receive`)).status).toBe(403)
          expect((await call(baseUrl, ada, "POST", `/api/v1/samples/${mine}/cancel`, { reason: "not shipping" })).status).toBe(200)
          // Writes from a browser session need its CSRF token.
          const noCsrf = await fetch(`${baseUrl}/api/v1/samples/${world.own}`, {
            method: "PATCH",
            headers: { cookie: (ada as { cookie: string }).cookie, "content-type": "application/json" },
            body: JSON.stringify({ details: { notes: "forged" } })
          })
          expect(noCsrf.status).toBe(401)

          // Over typed RPC the same rules hold.
          const rpc = (secretOrCookie: Credential) =>
            Effect.gen(function*() {
              const client = yield* RpcClient.make(PoretrackRpcs)
              const others = yield* Effect.either(client.Samples.Get({ id: SampleId.make(world.others) }))
              const own = yield* Effect.either(client.Samples.Get({ id: SampleId.make(world.own) }))
              const watchAll = yield* Effect.either(client.Samples.List({ limit: 500 }))
              // Following another's sample live is refused before the stream starts.
              const streamOthers = yield* Effect.either(Stream.runHead(client.Events.Watch({ sampleId: SampleId.make(world.others) })))
              return { others, own, watchAll, streamOthers }
            }).pipe(
              Effect.scoped,
              Effect.provide(RpcClient.layerProtocolHttp({
                url: `${baseUrl}/rpc`,
                transformClient: HttpClient.mapRequest((r) =>
                  secretOrCookie._tag === "Session"
                    ? HttpClientRequest.setHeaders(r, { cookie: secretOrCookie.cookie, "x-csrf-token": secretOrCookie.csrf })
                    : r)
              }).pipe(Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson]))),
              Effect.runPromise
            )
          const seen = await rpc(ada)
          expect(Either.isLeft(seen.others) && seen.others.left._tag).toBe("Forbidden")
          expect(Either.isRight(seen.own)).toBe(true)
          expect(Either.isRight(seen.watchAll) && seen.watchAll.right.items.every((s) => s.submitterEmail === world.emails.own)).toBe(true)
          expect(Either.isLeft(seen.streamOthers) && seen.streamOthers.left._tag).toBe("Forbidden")
          // The whole live feed, for a submitter, carries only their own samples' events: another's edit never shows.
          // It is read until her own sample's edit arrives. Events of her other samples may come first (the notifier
          // appends NotificationTriggered to the log of the sample she cancelled, whenever it gets to it).
          const feedUntilOwn = await Effect.gen(function*() {
            const client = yield* RpcClient.make(PoretrackRpcs)
            const feed = yield* Effect.fork(client.Events.Watch({}).pipe(Stream.takeUntil((e) => e.sampleId === world.own), Stream.runCollect))
            let done = false
            for (let i = 0; i < 50 && !done; i++) {
              yield* Effect.promise(() => call(baseUrl, ADMIN, "PATCH", `/api/v1/samples/${world.others}`, { details: { notes: `theirs ${i}` } }))
              yield* Effect.promise(() => call(baseUrl, ADMIN, "PATCH", `/api/v1/samples/${world.own}`, { details: { notes: `mine ${i}` } }))
              done = Option.isSome(yield* Fiber.poll(feed))
            }
            return yield* Fiber.join(feed)
          }).pipe(
            Effect.scoped,
            Effect.provide(RpcClient.layerProtocolHttp({
              url: `${baseUrl}/rpc`,
              transformClient: HttpClient.mapRequest((r) => HttpClientRequest.setHeaders(r, { cookie: (ada as { cookie: string }).cookie, "x-csrf-token": (ada as { csrf: string }).csrf }))
            }).pipe(Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson]))),
            Effect.runPromise
          )
          const adas = new Set([...(list.body.items as Array<{ id: string }>).map((s) => s.id), mine])
          expect(adas.has(world.own) && !adas.has(world.others)).toBe(true)
          const seenInFeed = Chunk.toReadonlyArray(feedUntilOwn).map((e) => e.sampleId)
          expect(seenInFeed.filter((id) => !adas.has(id))).toEqual([])
          expect(seenInFeed.at(-1)).toBe(world.own)
          const anonymous = await rpc({ _tag: "Anonymous" })
          expect(Either.isLeft(anonymous.own) && anonymous.own.left._tag).toBe("Unauthenticated")
        })
      }))

    it.effect("forged, revoked and garbage credentials are 401; a revoked key stops working within seconds; actors are principals", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const forged = await call(baseUrl, { _tag: "Key", secret: "ptk_" + "A".repeat(43) }, "GET", "/api/v1/me")
          expect(forged.status).toBe(401)
          expect(forged.body.error).toBe("Unauthenticated")
          for (const header of ["Bearer", "Basic abc", "Bearer \u0000", "bearer x", "Bearer " + "x".repeat(5000)]) {
            const res = await fetch(`${baseUrl}/api/v1/me`, { headers: { authorization: header.replace(/\u0000/g, "%00") } })
            expect(res.status, header.slice(0, 20)).toBe(401)
          }
          const garbageCookie = await fetch(`${baseUrl}/api/v1/me`, { headers: { cookie: "poretrack_session=nope" } })
          expect(garbageCookie.status).toBe(401)

          const created = await call(baseUrl, ADMIN, "POST", "/api/v1/keys", { name: "short-lived", scopes: ["samples:write", "submissions:write"] })
          const key: Credential = { _tag: "Key", secret: String(created.body.secret) }
          const id = (created.body.key as { id: string }).id
          // Stored only as a hash.
          const stored = await query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM api_keys WHERE secret_hash = $1 OR secret_hash LIKE $2", [String(created.body.secret), `%${String(created.body.secret).slice(4, 20)}%`])
          expect(stored[0]!.n).toBe(0)
          // The key's actions are recorded under the key, whatever X-Actor says.
          const sub = await call(baseUrl, key, "POST", "/api/v1/submissions", { submitterEmail: "cy@lab.example", samples: [{ sampleName: "k-1" }] }, { "x-actor": "someone-else" })
          expect(sub.status).toBe(201)
          expect((sub.body.submission as { createdBy: string }).createdBy).toMatch(/^key:short-lived#/)
          expect((await call(baseUrl, ADMIN, "POST", `/api/v1/keys/${id}/revoke`)).status).toBe(200)
          const deadline = Date.now() + 5_000
          let status = 0
          while (Date.now() < deadline) {
            status = (await call(baseUrl, key, "GET", "/api/v1/me")).status
            if (status === 401) break
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
          expect(status).toBe(401)
          const audit = Schema.decodeUnknownSync(Schema.Array(AuditEntry))((await call(baseUrl, ADMIN, "GET", "/api/v1/audit?limit=100")).body)
          expect(audit.map((e) => e.type)).toEqual(expect.arrayContaining(["ApiKeyCreated", "ApiKeyRevoked"]))
        })
      }))
  })
})
