/**
 * AI intake end to end over HTTP: a dev form uploaded as multipart becomes a completed job whose result matches the
 * truth file; confirming creates the submission with every sample; the same file twice is one extraction; bad files
 * get a clear refusal or a failed job with the reason; hostile input on the routes is refused, never a crash.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { PDFDocument, StandardFonts } from "pdf-lib"
import { OLLAMA_DEFAULTS } from "../actors/extraction/OllamaSettings.ts"
import { EXTRACTION_DEFAULTS } from "../runtime/Config.ts"
import { greyPng } from "./FormPdfBuilder.ts"
import { adminAuth } from "./TestAuth.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

const dir = join(import.meta.dirname, "fixtures/forms/dev")
const fixture = (name: string) => new Uint8Array(readFileSync(join(dir, name)))

interface Reply { readonly status: number; readonly body: Record<string, unknown>; readonly headers: Headers }

const call = (path: string, init: RequestInit = {}) =>
  Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
    Effect.promise(async (): Promise<Reply> => {
      const r = await fetch(`${baseUrl}${path}`, { ...init, headers: { ...adminAuth, ...(init.headers as Record<string, string> | undefined) } })
      const text = await r.text()
      let body: Record<string, unknown> = {}
      try { body = JSON.parse(text) as Record<string, unknown> } catch { body = { text: text.slice(0, 200) } }
      return { status: r.status, body, headers: r.headers }
    }))

const upload = (bytes: Uint8Array, name = "form.pdf") => {
  const form = new FormData()
  form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/pdf" }), name)
  return call("/api/v1/extractions", { method: "POST", body: form })
}

const finished = (id: string) =>
  call(`/api/v1/extractions/${id}`).pipe(
    Effect.filterOrFail((r) => r.body.status === "completed" || r.body.status === "failed", () => "still running"),
    Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(60))))
  )

const settings = { extraction: { ...EXTRACTION_DEFAULTS, ollama: { ...OLLAMA_DEFAULTS, host: "http://127.0.0.1:9", probeTimeout: Duration.millis(500) } } }

describe("AI intake over REST", () => {
  layer(TestSystem({ settings }), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("upload → completed job equal to the truth file → confirm creates the submission; the same file twice is one job", () =>
      Effect.gen(function*() {
        const pdf = fixture("dev-a01-n3.pdf")
        const truth = JSON.parse(readFileSync(join(dir, "dev-a01-n3.truth.json"), "utf8")) as Record<string, unknown>
        const first = yield* upload(pdf, "dev-a01-n3.pdf")
        expect(first.status).toBe(202)
        const id = String(first.body.id)
        expect(first.headers.get("location")).toBe(`/api/v1/extractions/${id}`)
        const done = yield* finished(id)
        expect(done.body.status).toBe("completed")
        const result = done.body.result as Record<string, unknown>
        expect(Object.keys(result).sort()).toEqual(Object.keys(truth).sort())
        for (const key of ["quoteId", "kit", "sampleType", "device", "basecalling", "retrieval", "samples"]) expect(result[key]).toEqual(truth[key])
        expect(typeof (done.body.confidence as Record<string, number>).kit).toBe("number")
        expect((done.body.details as { llm: { status: string } }).llm.status).toMatch(/skipped|not_needed/)

        const again = yield* upload(pdf, "renamed.pdf")
        expect(again.status).toBe(200)
        expect(again.body).toMatchObject({ id, duplicate: true, status: "completed" })

        const file = yield* call(`/api/v1/extractions/${id}/pdf`)
        expect(file.status).toBe(200)
        expect(file.headers.get("content-type")).toBe("application/pdf")

        const confirmed = yield* call(`/api/v1/extractions/${id}/confirm`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ result, editedFields: ["organism"] })
        })
        expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(201)
        const submission = confirmed.body.submission as { id: string; sampleCount: number; number: string }
        expect(submission.sampleCount).toBe((truth.samples as Array<unknown>).length)
        expect(submission.number).toBe(truth.quoteId)
        const twice = yield* call(`/api/v1/extractions/${id}/confirm`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ result }) })
        expect(twice.status).toBe(409)
      }))

    it.effect("bad files: empty → 422, not a PDF → 415, truncated and encrypted → a failed job naming the reason", () =>
      Effect.gen(function*() {
        const empty = yield* upload(new Uint8Array(0))
        expect(empty.status).toBe(422)
        expect(String(empty.body.message)).toContain("empty")
        const text = yield* upload(new TextEncoder().encode("hello, not a pdf"))
        expect(text.status).toBe(415)
        expect(String(text.body.message)).toContain("not a PDF")
        const whole = fixture("dev-b04-n1.pdf")
        const truncated = yield* upload(whole.subarray(0, Math.floor(whole.length / 3)))
        expect(truncated.status).toBe(202)
        const failed = yield* finished(String(truncated.body.id))
        expect(failed.body.status).toBe("failed")
        expect(String(failed.body.error)).toMatch(/cannot read the PDF \((truncated|damaged)\)/)
        const encrypted = yield* upload(new TextEncoder().encode("%PDF-1.7\n1 0 obj <</Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4>> endobj\ntrailer <</Encrypt 1 0 R /Root 2 0 R>>\n%%EOF"))
        const encryptedJob = yield* finished(String(encrypted.body.id))
        expect(encryptedJob.body.status).toBe("failed")
        expect(String(encryptedJob.body.error)).toContain("cannot read the PDF")
      }))

    it.effect("300 pages → a bounded partial result saying how much was read; a scan with no text layer → a failed job naming it", () =>
      Effect.gen(function*() {
        const long = yield* Effect.promise(async () => {
          const doc = await PDFDocument.create()
          const font = await doc.embedFont(StandardFonts.Helvetica)
          const first = doc.addPage([612, 792])
          first.drawText("Quote: HTSF--LP-300", { x: 50, y: 740, size: 11, font })
          first.drawText("Source organism: Danio rerio", { x: 50, y: 720, size: 11, font })
          for (let i = 2; i <= 300; i++) doc.addPage([612, 792]).drawText(`Appendix page ${i}`, { x: 50, y: 740, size: 11, font })
          return doc.save()
        })
        const started = Date.now()
        const longJob = yield* finished(String((yield* upload(long, "long.pdf")).body.id))
        expect(longJob.body.status).toBe("completed")
        expect(Date.now() - started).toBeLessThan(30_000)
        expect(longJob.body.warnings).toContain("only the first 50 of 300 pages were read")
        expect((longJob.body.result as { quoteId: string | null }).quoteId).toBe("HTSF--LP-300")
        expect((longJob.body.result as { samples: Array<unknown> }).samples).toEqual([])

        const scan = yield* Effect.promise(async () => {
          const doc = await PDFDocument.create()
          const image = await doc.embedPng(greyPng(16, 16))
          for (let i = 0; i < 2; i++) doc.addPage([612, 792]).drawImage(image, { x: 0, y: 0, width: 612, height: 792 })
          return doc.save()
        })
        const scanJob = yield* finished(String((yield* upload(scan, "scan.pdf")).body.id))
        expect(scanJob.body).toMatchObject({ status: "failed", result: null })
        expect(String(scanJob.body.error)).toMatch(/^cannot read the PDF \(no_text_layer\): no text on 2 page\(s\), only 2 image\(s\): a scan/)
      }))

    it.effect("hostile input on every route: typed refusals, no crash", () =>
      Effect.gen(function*() {
        expect((yield* call("/api/v1/extractions/%00")).status).toBe(404)
        expect((yield* call("/api/v1/extractions/not-a-uuid/pdf")).status).toBe(404)
        expect((yield* call(`/api/v1/extractions/${"\ud800".repeat(3)}`)).status).toBe(404)
        const json = yield* call("/api/v1/extractions", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
        expect(json.status).toBe(415)
        const noFile = yield* call("/api/v1/extractions", { method: "POST", body: (() => { const f = new FormData(); f.append("other", "x"); return f })() })
        expect(noFile.status).toBe(400)
        const unknownConfirm = yield* call("/api/v1/extractions/00000000-0000-4000-8000-000000000000/confirm", {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ result: { a: "\u0000" } })
        })
        expect(unknownConfirm.status).toBe(404)
        const deep = yield* call("/api/v1/extractions/00000000-0000-4000-8000-000000000000/confirm", {
          method: "POST", headers: { "content-type": "application/json" }, body: `{"result":${"[".repeat(5000)}${"]".repeat(5000)}}`
        })
        expect([400, 413, 422]).toContain(deep.status)
        const wrongType = yield* call("/api/v1/extractions/00000000-0000-4000-8000-000000000000/confirm", {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ result: {}, editedFields: 3 })
        })
        expect([400, 422]).toContain(wrongType.status)
        expect((yield* call("/health/live")).status).toBe(200)
      }))
  })
})
