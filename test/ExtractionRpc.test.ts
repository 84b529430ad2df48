/**
 * AI intake over typed RPC (`Extractions.*` at `/rpc`): a dev form uploaded as bytes becomes a completed job that
 * Get and List show; Confirm with an edited field creates the submission with every sample; a submitter sees only
 * their own jobs; hostile payloads (wrong types, NUL, lone surrogates, huge files) are a typed InvalidInput of that
 * request and the server keeps serving.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { OLLAMA_DEFAULTS } from "../actors/extraction/OllamaSettings.ts"
import { MAX_RPC_PDF_BYTES } from "../rpc/ExtractionRpcs.ts"
import { EXTRACTION_DEFAULTS } from "../runtime/Config.ts"
import { ClientLive, Poretrack } from "./RpcTestClient.ts"
import { adminAuth } from "./TestAuth.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

const dir = join(import.meta.dirname, "fixtures/forms/dev")
const fixture = (name: string) => new Uint8Array(readFileSync(join(dir, name)))
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

const settings = { extraction: { ...EXTRACTION_DEFAULTS, ollama: { ...OLLAMA_DEFAULTS, host: "http://127.0.0.1:9", probeTimeout: Duration.millis(500) } } }

type Headers = Readonly<Record<string, string>>
let requests = 0

/** Sends one RPC as NDJSON by hand (any payload, any credentials) and returns the HTTP status and its Exit message. */
const rawRpc = (tag: string, payload: unknown, headers: Headers = adminAuth) =>
  Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
    Effect.promise(async () => {
      const id = String(++requests)
      const response = await fetch(`${baseUrl}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/ndjson", ...headers },
        body: `${JSON.stringify({ _tag: "Request", id, tag, payload, headers: [] })}\n`
      })
      const lines = (await response.text()).split("\n").filter((l) => l.trim() !== "").map((l): unknown => JSON.parse(l))
      const exit = lines.find((m): m is { exit: { _tag: string; value?: unknown; cause?: { _tag: string; error?: { _tag: string; message?: string; issues?: Array<{ path: string }> } } } } =>
        typeof m === "object" && m !== null && (m as { _tag?: unknown })._tag === "Exit")
      return { status: response.status, exit: exit?.exit }
    }))

/** The tag of the typed error an Exit failed with (undefined for a success). */
const errorOf = (r: { readonly exit: { readonly cause?: { readonly error?: { readonly _tag: string } } } | undefined }) => r.exit?.cause?.error?._tag

/** A signed-in submitter: their session cookie and CSRF token, as a browser sends them. */
const submitter = (email: string) =>
  Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
    Effect.promise(async (): Promise<Headers> => {
      const password = "a long enough password"
      const created = await fetch(`${baseUrl}/api/v1/users`, {
        method: "POST",
        headers: { ...adminAuth, "content-type": "application/json" },
        body: JSON.stringify({ email, name: email, role: "submitter", password })
      })
      expect(created.status).toBe(201)
      const signedIn = await fetch(`${baseUrl}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) })
      const { csrfToken } = (await signedIn.json()) as { csrfToken: string }
      return { cookie: (signedIn.headers.get("set-cookie") ?? "").split(";")[0]!, "x-csrf-token": csrfToken }
    }))

const poll = Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(45)))

describe("AI intake over typed RPC", () => {
  layer(ClientLive.pipe(Layer.provideMerge(TestSystem({ settings }))), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("Upload → Get until completed → List → Confirm with an edit creates the submission; the same bytes again are the same job", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const truth = JSON.parse(readFileSync(join(dir, "dev-b05-n12.truth.json"), "utf8")) as { quoteId: string; samples: Array<{ name: string }> }
        const pdf = fixture("dev-b05-n12.pdf")
        const accepted = yield* client.Extractions.Upload({ fileName: "dev-b05-n12.pdf", pdf })
        expect(accepted.duplicate).toBe(false)
        const done = yield* client.Extractions.Get({ id: accepted.id }).pipe(
          Effect.filterOrFail((v) => v.status === "completed" || v.status === "failed", () => "still running"),
          Effect.retry(poll)
        )
        expect(done.status).toBe("completed")
        expect(done.fileName).toBe("dev-b05-n12.pdf")
        const result = done.result as { quoteId: string; organism: string | null; samples: Array<{ name: string }> }
        expect(result.quoteId).toBe(truth.quoteId)
        expect(result.samples.map((s) => s.name)).toEqual(truth.samples.map((s) => s.name))
        expect(done.confidence?.quoteId).toBeGreaterThan(0)

        const again = yield* client.Extractions.Upload({ fileName: "renamed.pdf", pdf })
        expect(again).toEqual({ id: accepted.id, status: "completed", duplicate: true })
        const listed = yield* client.Extractions.List({})
        expect(listed.items.filter((i) => i.id === accepted.id)).toEqual([expect.objectContaining({ status: "completed", submissionId: null })])

        // The form's names hold '>' (">10 kb"), which a sample name may not: the whole confirm is refused, row by row.
        const refused = yield* Effect.flip(client.Extractions.Confirm({ id: accepted.id, result }))
        expect(refused._tag).toBe("SubmissionRejected")
        if (refused._tag === "SubmissionRejected") {
          expect(refused.rows.map((r) => r.row)).toEqual(truth.samples.flatMap((s, i) => (s.name.includes(">") ? [i + 1] : [])))
          expect(refused.rows[0]?.issues[0]?.path).toBe("sampleName")
        }
        expect((yield* client.Extractions.Get({ id: accepted.id })).submissionId).toBeNull()
        const names = result.samples.map((s) => s.name.replace(">", "over "))
        const edited = { ...result, organism: "Mus musculus", samples: result.samples.map((s, i) => ({ ...s, name: names[i] })) }
        const created = yield* client.Extractions.Confirm({ id: accepted.id, result: edited, editedFields: ["organism", "samples[0].name"] })
        expect(created.submission.number).toBe(truth.quoteId)
        expect(created.samples.map((s) => s.sampleName)).toEqual(names)
        expect(created.samples.every((s) => s.details.organism === "Mus musculus")).toBe(true)
        const after = yield* client.Extractions.Get({ id: accepted.id })
        expect(after.submissionId).toBe(created.submission.id)
        const twice = yield* Effect.flip(client.Extractions.Confirm({ id: accepted.id, result }))
        expect(twice._tag).toBe("ExtractionNotConfirmable")
      }))

    it.effect("a submitter uploads, lists, reads and confirms only their own extractions", () =>
      Effect.gen(function*() {
        const ada = yield* submitter("ada.rpc@lab.example")
        const bob = yield* submitter("bob.rpc@lab.example")
        const pdf = base64(fixture("dev-b04-n1.pdf"))
        const mine = yield* rawRpc("Extractions.Upload", { fileName: "ada.pdf", pdf }, ada)
        expect(mine.exit?._tag).toBe("Success")
        const id = (mine.exit?.value as { id: string }).id
        // The same file from another submitter is their own job, not Ada's.
        const bobs = yield* rawRpc("Extractions.Upload", { fileName: "bob.pdf", pdf }, bob)
        expect((bobs.exit?.value as { id: string; duplicate: boolean })).toMatchObject({ duplicate: false })
        expect((bobs.exit?.value as { id: string }).id).not.toBe(id)
        expect(errorOf(yield* rawRpc("Extractions.Get", { id }, bob))).toBe("ExtractionNotFound")
        expect(errorOf(yield* rawRpc("Extractions.Confirm", { id, result: {} }, bob))).toBe("ExtractionNotFound")
        const adaList = yield* rawRpc("Extractions.List", {}, ada)
        expect((adaList.exit?.value as { items: Array<{ id: string }> }).items.map((i) => i.id)).toEqual([id])
        expect(errorOf(yield* rawRpc("Extractions.Get", { id }, ada))).toBeUndefined()
        // Staff see both.
        const all = yield* rawRpc("Extractions.List", { limit: 200 })
        const ids = (all.exit?.value as { items: Array<{ id: string }> }).items.map((i) => i.id)
        expect(ids).toEqual(expect.arrayContaining([id, (bobs.exit?.value as { id: string }).id]))
        expect(errorOf(yield* rawRpc("Extractions.List", {}, {}))).toBe("Unauthenticated")

        // Ada confirms her own: under her own e-mail (the form's requester is someone else, whom she may not submit for).
        const view = yield* rawRpc("Extractions.Get", { id }, ada).pipe(
          Effect.filterOrFail((r) => (r.exit?.value as { status: string }).status === "completed", () => "still running"),
          Effect.retry(poll)
        )
        const result = (view.exit?.value as { result: unknown }).result
        expect(errorOf(yield* rawRpc("Extractions.Confirm", { id, result }, ada))).toBe("Forbidden")
        const created = yield* rawRpc("Extractions.Confirm", { id, result, submitterEmail: "ada.rpc@lab.example" }, ada)
        expect(created.exit?.value).toMatchObject({ submission: { submitterEmail: "ada.rpc@lab.example", sampleCount: 1 } })
      }))

    it.effect("hostile payloads are a typed InvalidInput of that request, and the server keeps serving", () =>
      Effect.gen(function*() {
        const invalid = (r: { readonly status: number; readonly exit: unknown }) => {
          expect(r.status).toBe(200)
          expect(errorOf(r as Parameters<typeof errorOf>[0])).toBe("InvalidInput")
        }
        const pdf = base64(fixture("dev-b04-n1.pdf"))
        for (const id of ["not-a-uuid", "\u0000", "\ud800\ud800", 42, null]) invalid(yield* rawRpc("Extractions.Get", { id }))
        invalid(yield* rawRpc("Extractions.Upload", { fileName: "a.pdf", pdf: Array.from(fixture("dev-b04-n1.pdf").subarray(0, 100)) }))
        invalid(yield* rawRpc("Extractions.Upload", { fileName: "a.pdf", pdf: 12 }))
        invalid(yield* rawRpc("Extractions.Upload", { fileName: "a.pdf", pdf: "***not base64***" }))
        invalid(yield* rawRpc("Extractions.Upload", { fileName: "nul\u0000.pdf", pdf }))
        invalid(yield* rawRpc("Extractions.Upload", { fileName: "lone\udc00.pdf", pdf }))
        invalid(yield* rawRpc("Extractions.Upload", { fileName: "a.pdf", pdf, extra: true }))
        // Empty, and not a PDF: refused with the reason, naming the field.
        const empty = yield* rawRpc("Extractions.Upload", { fileName: "a.pdf", pdf: "" })
        invalid(empty)
        expect(empty.exit?.cause?.error?.message).toContain("empty")
        const text = yield* rawRpc("Extractions.Upload", { fileName: "a.txt", pdf: base64(new TextEncoder().encode("hello, not a pdf")) })
        invalid(text)
        expect(text.exit?.cause?.error?.message).toContain("not a PDF")
        // Over the RPC's own limit but under the door's: typed, naming the multipart route for larger files.
        const big = yield* rawRpc("Extractions.Upload", { fileName: "big.pdf", pdf: base64(new Uint8Array(MAX_RPC_PDF_BYTES + 1024)) })
        invalid(big)
        expect(JSON.stringify(big.exit)).toContain("/api/v1/extractions")
        // Over the door's body limit: refused before it is read.
        const huge = yield* rawRpc("Extractions.Upload", { fileName: "huge.pdf", pdf: "A".repeat(3 * 1024 * 1024) })
        expect(huge.status).toBe(413)
        for (const limit of [0, 10_000, "ten", 1.5]) invalid(yield* rawRpc("Extractions.List", { limit }))
        const unknown = "00000000-0000-4000-8000-000000000000"
        invalid(yield* rawRpc("Extractions.Confirm", { id: unknown, result: {}, editedFields: 3 }))
        invalid(yield* rawRpc("Extractions.Confirm", { id: unknown, result: {}, editedFields: ["x".repeat(201)] }))
        expect(errorOf(yield* rawRpc("Extractions.Confirm", { id: unknown, result: { a: "\u0000" } }))).toBe("ExtractionNotFound")

        // A completed job confirmed with a NUL or a lone surrogate in a value: typed, and nothing is created.
        const job = yield* rawRpc("Extractions.Upload", { fileName: "b04.pdf", pdf })
        const id = (job.exit?.value as { id: string }).id
        const view = yield* rawRpc("Extractions.Get", { id }).pipe(
          Effect.filterOrFail((r) => ["completed", "failed"].includes((r.exit?.value as { status: string }).status), () => "still running"),
          Effect.retry(poll)
        )
        const result = (view.exit?.value as { result: { samples: Array<Record<string, unknown>>; organism: unknown } }).result
        // Each finding's cited passage travels with the job, for the review page to show.
        const details = (view.exit?.value as { details: { findings: Array<{ passageId: string }>; passages: Record<string, { title: string; text: string }> } }).details
        expect(details.findings.length).toBeGreaterThan(0)
        for (const f of details.findings) expect(details.passages[f.passageId]?.text.length).toBeGreaterThan(40)
        for (const bad of ["evil\u0000name", "lone\ud800"]) {
          const refused = yield* rawRpc("Extractions.Confirm", { id, result: { ...result, samples: result.samples.map((s) => ({ ...s, name: bad })) } })
          expect(["InvalidInput", "SubmissionRejected"]).toContain(errorOf(refused))
        }
        const wrongShape = yield* rawRpc("Extractions.Confirm", { id, result: { ...result, samples: "all of them" } })
        invalid(wrongShape)
        expect(wrongShape.exit?.cause?.error?.issues?.[0]?.path).toMatch(/^result\.samples/)
        expect((yield* rawRpc("Extractions.Get", { id })).exit?.value).toMatchObject({ submissionId: null, status: "completed" })
        // Still serving.
        expect((yield* rawRpc("Extractions.List", { limit: 1 })).exit?._tag).toBe("Success")
      }))
  })
})
