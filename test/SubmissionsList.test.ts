/**
 * The reads of the submissions and sample-list pages over real HTTP: `Submissions.List` and `Submissions.Get` (and their
 * REST routes) for staff and for a confined submitter, their progress as samples move, every `Samples.List` sort order
 * paged across three pages with `withTotal`, and hostile input refused with a typed InvalidInput, nothing written.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import fc from "fast-check"
import { randomUUID } from "node:crypto"
import { SubmissionDetail, SubmissionPage, type SamplePage, type SampleSort } from "../rpc/Api.ts"
import { Archive, Cancel, CompleteStep, EditFields, Hold, Receive } from "../rpc/Commands.ts"
import { SubmissionId } from "../rpc/Ids.ts"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import type { Priority, SampleView } from "../rpc/Workflow.ts"
import { ClientLive, Poretrack } from "./RpcTestClient.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"
import { STEP_RECORDS } from "./Walk.ts"

type Client = Context.Tag.Service<typeof Poretrack>

const PASSWORD = "a long enough password"
const token = () => randomUUID().replace(/-/g, "").slice(0, 8)

/** Valid data for each of the eight steps, in order (a ligation run on a PromethION flow cell). */

/** A submission of samples named `names` (each with its own priority when given) for `email`, by the admin key. */
const submit = (client: Client, email: string, names: ReadonlyArray<string>, priorities: ReadonlyArray<Priority> = []) =>
  client.Submissions.Create({
    submitterEmail: email,
    source: "api",
    priority: "normal",
    flowCellType: "R10.4.1",
    samples: names.map((sampleName, i) => ({ sampleName, libraryKit: "SQK-LSK114" as const, ...(priorities[i] ? { priority: priorities[i] } : {}) }))
  })

/** A user of `role`, signed in: the session cookie and its CSRF token as request headers. */
const signedIn = (baseUrl: string, role: string, email: string) =>
  Effect.promise(async () => {
    const created = await fetch(`${baseUrl}/api/v1/users`, {
      method: "POST",
      headers: { ...adminAuth, "content-type": "application/json" },
      body: JSON.stringify({ email, name: role, role, password: PASSWORD })
    })
    expect(created.status).toBe(201)
    const session = await fetch(`${baseUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD })
    })
    expect(session.status).toBe(200)
    const cookie = (session.headers.get("set-cookie") ?? "").split(";")[0]!
    const { csrfToken } = (await session.json()) as { csrfToken: string }
    return { cookie, "x-csrf-token": csrfToken }
  })

/** Runs `f` with an RPC client that sends `headers` (a session's cookie and CSRF token). */
const asUser = <A, E>(baseUrl: string, headers: Record<string, string>, f: (client: Client) => Effect.Effect<A, E>) =>
  Effect.flatMap(RpcClient.make(PoretrackRpcs), f).pipe(
    Effect.scoped,
    Effect.provide(RpcClient.layerProtocolHttp({
      url: `${baseUrl}/rpc`,
      transformClient: HttpClient.mapRequest(HttpClientRequest.setHeaders(headers))
    }).pipe(Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])))
  )

/** A GET over REST with `headers`: status and parsed body. */
const rest = (baseUrl: string, path: string, headers: Record<string, string> = adminAuth) =>
  Effect.promise(async () => {
    const res = await fetch(`${baseUrl}${path}`, { headers })
    const text = await res.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body }
  })

/** NDJSON lines to `/rpc` by hand (bypassing the client's own encoding), as the admin key; the Exit of each request. */
const rawRpc = (baseUrl: string, requests: ReadonlyArray<readonly [tag: string, payload: unknown]>) =>
  Effect.promise(async () => {
    const body = requests.map(([tag, payload], i) => `${JSON.stringify({ _tag: "Request", id: String(i), tag, payload, headers: [] })}\n`).join("")
    const res = await fetch(`${baseUrl}/rpc`, { method: "POST", headers: { ...adminAuth, "content-type": "application/ndjson" }, body })
    const text = await res.text()
    const exits = new Map<string, unknown>()
    for (const line of text.split("\n").filter((l) => l.trim() !== "")) {
      const m = JSON.parse(line) as { _tag?: string; requestId?: string; exit?: unknown }
      if (m._tag === "Exit" && m.requestId !== undefined) exits.set(m.requestId, m.exit)
    }
    return { status: res.status, text, exits }
  })

/** The tag of the typed failure in an encoded Exit, or "Success" / "other". */
const failureTag = (exit: unknown): string => {
  const e = exit as { _tag?: string; cause?: { _tag?: string; error?: { _tag?: string } } } | undefined
  if (e?._tag === "Success") return "Success"
  return e?.cause?._tag === "Fail" ? e.cause.error?._tag ?? "other" : "other"
}

const counts = (databaseUrl: string) =>
  Effect.promise(async () => {
    const rows = await query<{ samples: number; events: number; submissions: number }>(databaseUrl, `
      SELECT (SELECT count(*) FROM samples)::int AS samples, (SELECT count(*) FROM sample_events WHERE type <> 'NotificationTriggered')::int AS events,
        (SELECT count(*) FROM submissions)::int AS submissions`)
    return rows[0]
  })

/** Every page of a sample list in `sort`, `limit` at a time. */
const allPages = (client: Client, submissionId: SubmissionId, sort: SampleSort, limit: number) =>
  Effect.gen(function*() {
    const pages: Array<ReadonlyArray<SampleView>> = []
    let cursor: string | null = null
    do {
      const page: SamplePage = yield* client.Samples.List({ submissionId, sort, limit, ...(cursor === null ? {} : { cursor }) })
      pages.push(page.items)
      cursor = page.nextCursor
    } while (cursor !== null && pages.length < 10)
    return pages
  })

const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2, urgent: 3 }
const later = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a > b ? a : b)

describe("submissions list and sample sorts", () => {
  layer(ClientLive.pipe(Layer.provideMerge(TestSystem())), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("staff see every submission; a submitter only their own (and only their own samples); another's is Forbidden", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const { baseUrl } = yield* TestEndpoint
        const t = token()
        const ada = `ada-${t}@lab.example`
        const bob = `bob-${t}@lab.example`
        const adaFirst = yield* submit(client, ada, ["a-one", "a-two"])
        const bobs = yield* submit(client, bob, ["b-one"])
        const adaSecond = yield* submit(client, ada, ["a-three"])
        // A sample re-assigned to another submitter leaves the submission's view of its first submitter.
        yield* client.Samples.Execute({ id: adaFirst.samples[1]!.id, command: new EditFields({ fields: { submitterEmail: bob } }) })

        const staff = yield* client.Submissions.List({ limit: 200 })
        const staffIds = staff.items.map((i) => i.submission.id)
        expect(staffIds).toEqual(expect.arrayContaining([adaFirst.submission.id, bobs.submission.id, adaSecond.submission.id]))
        // Newest first.
        expect(staffIds.indexOf(adaSecond.submission.id)).toBeLessThan(staffIds.indexOf(bobs.submission.id))
        expect(staffIds.indexOf(bobs.submission.id)).toBeLessThan(staffIds.indexOf(adaFirst.submission.id))
        expect(staff.items.find((i) => i.submission.id === adaFirst.submission.id)?.progress.sampleCount).toBe(2)

        const session = yield* signedIn(baseUrl, "submitter", ada)
        const seen = yield* asUser(baseUrl, session, (c) =>
          Effect.all({
            list: c.Submissions.List({ limit: 200 }),
            own: c.Submissions.Get({ id: adaFirst.submission.id }),
            other: Effect.flip(c.Submissions.Get({ id: bobs.submission.id })),
            unknown: Effect.flip(c.Submissions.Get({ id: SubmissionId.make(randomUUID()) })),
            searchOther: c.Submissions.List({ q: bobs.submission.number, limit: 10 })
          }))
        expect(seen.list.items.map((i) => i.submission.id)).toEqual([adaSecond.submission.id, adaFirst.submission.id])
        expect(seen.list.items.every((i) => i.submission.submitterEmail === ada)).toBe(true)
        expect(seen.list.items[1]!.progress.sampleCount).toBe(1)
        expect(seen.own.samples.map((s) => s.sampleName)).toEqual(["a-one"])
        expect(seen.own.progress.sampleCount).toBe(1)
        expect(seen.other._tag).toBe("Forbidden")
        expect(seen.unknown._tag).toBe("SubmissionNotFound")
        expect(seen.searchOther.items).toEqual([])

        // The REST routes answer the same, from the same schemas.
        const restList = yield* rest(baseUrl, "/api/v1/submissions?limit=200", session)
        expect(restList.status).toBe(200)
        const decoded = yield* Schema.decodeUnknown(SubmissionPage)(restList.body)
        expect(decoded.items.map((i) => i.submission.id)).toEqual([adaSecond.submission.id, adaFirst.submission.id])
        expect((yield* rest(baseUrl, `/api/v1/submissions/${bobs.submission.id}`, session)).status).toBe(403)
        expect((yield* rest(baseUrl, `/api/v1/submissions/${randomUUID()}`, session)).status).toBe(404)
        const restOwn = yield* rest(baseUrl, `/api/v1/submissions/${adaFirst.submission.id}`, session)
        expect((yield* Schema.decodeUnknown(SubmissionDetail)(restOwn.body)).samples).toHaveLength(1)
        const staffDetail = yield* client.Submissions.Get({ id: adaFirst.submission.id })
        expect(staffDetail.samples.map((s) => s.sampleName)).toEqual(["a-one", "a-two"])

        // Search by number, by e-mail, by part of either; pages newest first, one at a time, each exactly once.
        const byNumber = yield* client.Submissions.List({ q: bobs.submission.number, limit: 10 })
        expect(byNumber.items.map((i) => i.submission.id)).toEqual([bobs.submission.id])
        const pages: Array<string> = []
        let cursor: string | null = null
        do {
          const page: SubmissionPage = yield* client.Submissions.List({ q: `-${t}@LAB`, limit: 1, ...(cursor === null ? {} : { cursor }) })
          pages.push(...page.items.map((i) => i.submission.id))
          cursor = page.nextCursor
        } while (cursor !== null && pages.length < 10)
        expect(pages).toEqual([adaSecond.submission.id, bobs.submission.id, adaFirst.submission.id])
      }))

    it.effect("progress follows the samples: received, held, completed, archived, cancelled; estimatedCompletion is the latest turnaround due", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const created = yield* submit(client, `progress-${token()}@lab.example`, ["p-one", "p-two", "p-three"])
        const id = created.submission.id
        const [one, two, three] = created.samples.map((s) => s.id)
        if (one === undefined || two === undefined || three === undefined) return expect.fail("three samples expected")
        const progress = Effect.gen(function*() {
          const detail = yield* client.Submissions.Get({ id })
          const listed = yield* client.Submissions.List({ q: created.submission.number, limit: 5 })
          // The list and the detail tell the same progress.
          expect(listed.items.map((i) => i.progress)).toEqual([detail.progress])
          return detail.progress
        })

        const fresh = yield* progress
        expect(fresh).toEqual({
          sampleCount: 3,
          byStatus: { submitted: 3, in_progress: 0, on_hold: 0, failed: 0, completed: 0, cancelled: 0, archived: 0 },
          completed: 0,
          estimatedCompletion: null
        })

        const first = yield* client.Samples.Execute({ id: one, command: new Receive() })
        const afterOne = yield* progress
        expect(afterOne.byStatus).toMatchObject({ submitted: 2, in_progress: 1 })
        expect(afterOne.estimatedCompletion).toBe(first.sample.sla.turnaroundDueAt)
        expect(afterOne.estimatedCompletion).not.toBeNull()

        const second = yield* client.Samples.Execute({ id: two, command: new Receive() })
        const afterTwo = yield* progress
        expect(afterTwo.byStatus).toMatchObject({ submitted: 1, in_progress: 2 })
        expect(afterTwo.estimatedCompletion).toBe(later(first.sample.sla.turnaroundDueAt, second.sample.sla.turnaroundDueAt))

        // Advancing a step keeps the sample in progress; a hold keeps its turnaround in the estimate.
        yield* client.Samples.Execute({ id: one, command: new CompleteStep({ record: STEP_RECORDS[0]! }) })
        yield* client.Samples.Execute({ id: two, command: new Hold({ reason: "waiting for the flow cell" }) })
        const held = yield* progress
        expect(held.byStatus).toMatchObject({ submitted: 1, in_progress: 1, on_hold: 1 })
        expect(held.estimatedCompletion).toBe(afterTwo.estimatedCompletion)

        // The first sample walks the remaining seven steps: completed (delivered), then archived.
        for (const record of STEP_RECORDS.slice(1)) yield* client.Samples.Execute({ id: one, command: new CompleteStep({ record }) })
        const done = yield* progress
        expect(done.byStatus).toMatchObject({ completed: 1, on_hold: 1, submitted: 1, in_progress: 0 })
        expect(done.completed).toBe(1)
        expect(done.estimatedCompletion).toBe(second.sample.sla.turnaroundDueAt)
        yield* client.Samples.Execute({ id: one, command: new Archive() })
        yield* client.Samples.Execute({ id: two, command: new Cancel({ reason: "sample lost" }) })
        yield* client.Samples.Execute({ id: three, command: new Cancel({ reason: "never shipped" }) })
        const finished = yield* progress
        expect(finished).toEqual({
          sampleCount: 3,
          byStatus: { submitted: 0, in_progress: 0, on_hold: 0, failed: 0, completed: 0, cancelled: 2, archived: 1 },
          completed: 1,
          estimatedCompletion: null
        })
      }))

    it.effect("every sort order pages across three pages in its order, each sample once; withTotal counts the filter", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const names = ["kilo", "alpha", "india", "delta", "golf", "bravo", "hotel", "echo", "charlie"]
        const priorities: ReadonlyArray<Priority> = ["normal", "urgent", "low", "high", "normal", "urgent", "low", "normal", "high"]
        const created = yield* submit(client, `sorts-${token()}@lab.example`, names, priorities)
        const submissionId = created.submission.id
        // Received one after another (distinct due times), highest-ranked rows last; two rows stay unreceived.
        for (const i of [0, 2, 4, 3, 8, 1, 5]) yield* client.Samples.Execute({ id: created.samples[i]!.id, command: new Receive() })
        const full = yield* client.Submissions.Get({ id: submissionId })
        const rows = full.samples
        expect(rows.map((s) => s.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])

        const byPosition = (a: SampleView, b: SampleView) => a.position - b.position
        const expected: Record<SampleSort, ReadonlyArray<SampleView>> = {
          created_desc: [...rows].sort((a, b) => b.position - a.position),
          created_asc: [...rows].sort(byPosition),
          name_asc: [...rows].sort((a, b) => (a.sampleName < b.sampleName ? -1 : a.sampleName > b.sampleName ? 1 : 0)),
          priority: [...rows].sort((a, b) => RANK[b.priority] - RANK[a.priority] || byPosition(a, b)),
          due_asc: [...rows].sort((a, b) => {
            const x = a.sla.turnaroundDueAt
            const y = b.sla.turnaroundDueAt
            if (x !== y) return x === null ? 1 : y === null ? -1 : x < y ? -1 : 1
            return byPosition(a, b)
          })
        }
        // The orders differ from each other, so a wrong order cannot pass for a right one.
        expect(new Set(Object.values(expected).map((xs) => xs.map((s) => s.position).join(","))).size).toBe(5)
        expect(expected.due_asc.slice(-2).map((s) => s.sla.turnaroundDueAt)).toEqual([null, null])
        for (const [sort, want] of Object.entries(expected) as Array<[SampleSort, ReadonlyArray<SampleView>]>) {
          const pages = yield* allPages(client, submissionId, sort, 3)
          expect(pages.map((p) => p.length), sort).toEqual([3, 3, 3])
          expect(pages.flat().map((s) => s.sampleName), sort).toEqual(want.map((s) => s.sampleName))
        }

        // Without sort: newest first, as before.
        const plain = yield* client.Samples.List({ submissionId, limit: 9 })
        expect(plain.items.map((s) => s.position)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1])
        expect(plain.total).toBeUndefined()
        const counted = yield* client.Samples.List({ submissionId, sort: "name_asc", limit: 2, withTotal: true })
        expect(counted.total).toBe(9)
        const inProgress = yield* client.Samples.List({ submissionId, status: "in_progress", limit: 2, withTotal: true })
        expect(inProgress.total).toBe(7)
        expect(inProgress.items).toHaveLength(2)
        // The total is the filter's, not the rest after a cursor.
        const secondPage = yield* client.Samples.List({ submissionId, status: "in_progress", limit: 2, withTotal: true, cursor: inProgress.nextCursor ?? "" })
        expect(secondPage.total).toBe(7)

        // A cursor continues only the order it came from.
        const byName = yield* client.Samples.List({ submissionId, sort: "name_asc", limit: 3 })
        const wrongOrder = yield* Effect.flip(client.Samples.List({ submissionId, sort: "due_asc", limit: 3, cursor: byName.nextCursor ?? "" }))
        expect(wrongOrder._tag).toBe("InvalidInput")
        const newest = yield* client.Samples.List({ submissionId, limit: 3 })
        const wrongAgain = yield* Effect.flip(client.Samples.List({ submissionId, sort: "priority", limit: 3, cursor: newest.nextCursor ?? "" }))
        expect(wrongAgain._tag).toBe("InvalidInput")

        // The REST list takes the same sort and withTotal.
        const { baseUrl } = yield* TestEndpoint
        const viaRest = yield* rest(baseUrl, `/api/v1/samples?submissionId=${submissionId}&sort=priority&limit=9&withTotal=true`)
        expect(viaRest.status).toBe(200)
        const body = viaRest.body as { items: Array<{ sampleName: string }>; total: number }
        expect(body.items.map((s) => s.sampleName)).toEqual(expected.priority.map((s) => s.sampleName))
        expect(body.total).toBe(9)
      }))

    it.effect("hostile input (NUL, lone surrogates, overlong, wrong types, unknown sort, bad cursors) is a typed InvalidInput; nothing changes", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const created = yield* submit(client, `hostile-${token()}@lab.example`, ["h-one", "h-two"])
        const before = yield* counts(databaseUrl)
        const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
        const hostile: ReadonlyArray<readonly [string, unknown]> = [
          ["Submissions.List", { q: "nul\u0000here" }],
          ["Submissions.List", { q: "lone \uD800 high" }],
          ["Submissions.List", { q: "lone \uDC00 low" }],
          ["Submissions.List", { q: "x".repeat(121) }],
          ["Submissions.List", { q: "" }],
          ["Submissions.List", { q: 42 }],
          ["Submissions.List", { limit: "10" }],
          ["Submissions.List", { limit: 0 }],
          ["Submissions.List", { limit: 1e9 }],
          ["Submissions.List", { limit: 2.5 }],
          ["Submissions.List", { surprise: true }],
          ["Submissions.List", { cursor: "not-a-cursor" }],
          ["Submissions.List", { cursor: cursor(["2026-01-01T00:00:00.000000Z", "not-a-uuid"]) }],
          ["Submissions.List", { cursor: cursor(["yesterday", randomUUID()]) }],
          ["Submissions.List", { cursor: cursor(42) }],
          ["Submissions.List", { cursor: "c\u0000" }],
          ["Submissions.List", { cursor: "x".repeat(201) }],
          ["Submissions.List", null],
          ["Submissions.Get", { id: "not-a-uuid" }],
          ["Submissions.Get", { id: 7 }],
          ["Submissions.Get", {}],
          ["Samples.List", { sort: "random" }],
          ["Samples.List", { sort: 3 }],
          ["Samples.List", { sort: "name_asc; DROP TABLE samples" }],
          ["Samples.List", { withTotal: "true" }],
          ["Samples.List", { q: "nul\u0000here" }],
          ["Samples.List", { q: "lone \uD800 high" }],
          ["Samples.List", { cursor: cursor(["name_asc", "a\u0000b", 1]), sort: "name_asc" }],
          ["Samples.List", { cursor: cursor(["name_asc", "x".repeat(121), 1]), sort: "name_asc" }],
          ["Samples.List", { cursor: cursor(["priority", 7, 1]), sort: "priority" }],
          ["Samples.List", { cursor: cursor(["due_asc", "infinity", 1]), sort: "due_asc" }],
          ["Samples.List", { cursor: cursor(["due_asc", "2026-13-45T99:99:99.999999Z", 1]), sort: "due_asc" }],
          ["Samples.List", { cursor: cursor(["created_asc", -1]), sort: "created_asc" }],
          ["Samples.List", { cursor: cursor(["created_asc", 1e20]), sort: "created_asc" }],
          ["Samples.List", { cursor: cursor(["teleport", 1]), sort: "created_asc" }],
          ["Samples.List", { cursor: cursor(["created_asc", 1]) }],
          ["Samples.List", { cursor: cursor(5), sort: "due_asc" }]
        ]
        const answered = yield* rawRpc(baseUrl, hostile)
        expect(answered.status).toBe(200)
        const wrong = hostile.flatMap(([tag, payload], i) => {
          const got = failureTag(answered.exits.get(String(i)))
          return got === "InvalidInput" ? [] : [`${tag} ${JSON.stringify(payload)?.slice(0, 80)} → ${got}`]
        })
        expect(wrong).toEqual([])
        expect(answered.text).not.toMatch(/"_tag":"Die"|Defect/)

        // Random payloads for the new RPCs: never a defect.
        const defects: Array<string> = []
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              fc.constantFrom("Submissions.List", "Submissions.Get", "Samples.List"),
              fc.oneof(
                fc.jsonValue(),
                fc.record({ sort: fc.string(), cursor: fc.string({ unit: "binary", maxLength: 80 }), q: fc.string({ unit: "binary", maxLength: 40 }) }, { requiredKeys: [] })
              ),
              async (tag, payload) => {
                const line = `${JSON.stringify({ _tag: "Request", id: "1", tag, payload, headers: [] })}\n`
                const res = await fetch(`${baseUrl}/rpc`, { method: "POST", headers: { ...adminAuth, "content-type": "application/ndjson" }, body: line })
                const text = await res.text()
                const bad = res.status >= 500 || /"_tag":"Die"|Defect/.test(text)
                if (bad) defects.push(`${tag} ${line.slice(0, 120)} → ${res.status} ${text.slice(0, 160)}`)
                return !bad
              }
            ),
            { numRuns: 150, seed: 20260301 }
          ))
        expect(defects).toEqual([])

        // The REST routes refuse the same with 422 InvalidInput. (A URL cannot carry a lone surrogate: its UTF-8 bytes
        // are not UTF-8 and decode to U+FFFD, which is plain text that matches nothing.)
        const restCases: ReadonlyArray<readonly [string, number]> = [
          ["/api/v1/submissions?q=%00", 422],
          [`/api/v1/submissions?q=${"x".repeat(121)}`, 422],
          ["/api/v1/submissions?limit=ten", 422],
          ["/api/v1/submissions?limit=0", 422],
          ["/api/v1/submissions?cursor=garbage", 422],
          ["/api/v1/submissions?unknown=1", 422],
          ["/api/v1/submissions?q=%ED%A0%80", 200],
          ["/api/v1/samples?sort=random", 422],
          ["/api/v1/samples?withTotal=maybe", 422],
          [`/api/v1/samples?sort=name_asc&cursor=${cursor(["name_asc", "a\u0000b", 1])}`, 422],
          [`/api/v1/samples?sort=priority&cursor=${cursor(12)}`, 422]
        ]
        for (const [path, status] of restCases) {
          const res = yield* rest(baseUrl, path)
          expect(res.status, `${path}: ${JSON.stringify(res.body).slice(0, 200)}`).toBe(status)
          if (status === 422) expect((res.body as { error?: string }).error, path).toBe("InvalidInput")
          else expect(res.body, path).toEqual({ items: [], nextCursor: null })
        }

        // Nothing was written; the submission reads as before.
        expect(yield* counts(databaseUrl)).toEqual(before)
        const after = yield* client.Submissions.Get({ id: created.submission.id })
        expect(after.samples.map((s) => s.version)).toEqual([1, 1])
      }))
  })
})
