/**
 * The LLM stage against a stand-in for Ollama started by the test (node:http speaking /api/tags and /api/chat with
 * structured output): it asks only the uncertain fields with their JSON schema, its answers fill them, an unreachable
 * host skips the stage with the reason, a disagreeing answer never replaces a confident rules value.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { runPipeline } from "./ExtractionPipeline.ts"
import { mergeStages } from "./MergeStages.ts"
import { OLLAMA_DEFAULTS, type OllamaSettings } from "./OllamaSettings.ts"
import { fieldsToAsk, llmStage } from "./OllamaStage.ts"
import type { FormExtraction, SubmissionForm } from "./SubmissionForm.ts"

interface SchemaNode { readonly properties?: Record<string, unknown>; readonly required?: ReadonlyArray<string> }

/** A fake Ollama: answers every requested property from `values` (null when absent); counts chat calls. */
const fakeOllama = (values: Record<string, unknown>, opts: { failFirst?: number } = {}) =>
  Effect.acquireRelease(
    Effect.async<{ server: Server; host: string; chats: Array<{ format: SchemaNode; model: string }> }>((resume) => {
      const chats: Array<{ format: SchemaNode; model: string }> = []
      let failures = opts.failFirst ?? 0
      const body = (req: IncomingMessage) => new Promise<string>((ok) => {
        let text = ""
        req.on("data", (c: Buffer) => (text += c.toString("utf8")))
        req.on("end", () => ok(text))
      })
      const server = createServer((req, res) => {
        void body(req).then((text) => {
          res.setHeader("content-type", "application/json")
          if (req.url === "/api/tags") return res.end(JSON.stringify({ models: [] }))
          if (req.url === "/api/chat") {
            const request = JSON.parse(text) as { format: SchemaNode; model: string }
            chats.push(request)
            if (failures-- > 0) return res.end(JSON.stringify({ model: request.model, message: { role: "assistant", content: "not json" }, done: true }))
            const answer: Record<string, unknown> = {}
            for (const key of Object.keys(request.format.properties ?? {})) answer[key] = key in values ? values[key] : null
            return res.end(JSON.stringify({ model: request.model, created_at: new Date().toISOString(), message: { role: "assistant", content: JSON.stringify(answer) }, done: true }))
          }
          res.statusCode = 404
          res.end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, chats, host: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })))
    }),
    ({ server }) => Effect.promise(() => new Promise<void>((ok) => server.close(() => ok())))
  )

const settings = (host: string): OllamaSettings => ({ ...OLLAMA_DEFAULTS, host, model: "test-model", timeout: Duration.seconds(5), retries: 1 })

const blankForm: SubmissionForm = {
  quoteId: "HTSF--AB-1", quoteDate: null, expiresOn: null, requester: { name: null, email: null, phone: null }, lab: null, pis: [],
  billingAccount: null, kit: "SQK-LSK114", sampleType: null, humanDna: null, organism: null, buffer: null, device: null,
  genomeSizeMb: null, coverage: null, flowCellCount: null, basecalling: [], fileFormat: null, notificationEmails: [], retrieval: [],
  samples: [{ row: 1, name: "S1", volumeUl: 30, qubitNgUl: 50, nanodropNgUl: null, a260_280: null, a260_230: null, control: null }], problems: []
}
const confident = Object.fromEntries(
  ["quoteId", "quoteDate", "expiresOn", "requester.name", "requester.email", "requester.phone", "lab", "billingAccount", "kit", "sampleType",
    "humanDna", "buffer", "device", "genomeSizeMb", "coverage", "flowCellCount", "basecalling", "fileFormat", "notificationEmails", "retrieval"]
    .map((p) => [p, 0.95])
)
const rules: FormExtraction = { result: blankForm, confidence: { ...confident, organism: 0.3 }, evidence: {}, warnings: [] }

describe("LLM stage", () => {
  it.scopedLive("asks only the uncertain fields, with a JSON schema, and fills them from the answer", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama({ organism: "Escherichia coli", kit: "SQK-RAD114" })
      const outcome = yield* llmStage(settings(fake.host), "Organism: E. coli", rules)
      expect(outcome.status).toBe("completed")
      expect(outcome.asked).toEqual(["organism"])
      expect(fake.chats[0]?.model).toBe("test-model")
      expect(Object.keys(fake.chats[0]?.format.properties ?? {})).toEqual(["organism"])
      const merged = mergeStages(rules, outcome)
      expect(merged.extraction.result.organism).toBe("Escherichia coli")
      expect(merged.extraction.confidence.organism).toBe(0.6)
      expect(merged.sources.organism).toBe("llm")
      expect(merged.extraction.result.kit).toBe("SQK-LSK114")
    }))

  it.scopedLive("a sample table the rules could not read is asked for whole; its rows arrive at the LLM's confidence, each cell marked for review", () =>
    Effect.gen(function*() {
      const rows = [
        { row: 1, name: "Iso-1", volumeUl: 30, qubitNgUl: 42.5, nanodropNgUl: 51, a260_280: 1.85, a260_230: 2.1, control: null },
        { row: 2, name: "BLANK", volumeUl: 30, qubitNgUl: null, nanodropNgUl: null, a260_280: null, a260_230: null, control: "blank" }
      ]
      const fake = yield* fakeOllama({ samples: rows })
      const noTable: FormExtraction = { ...rules, result: { ...rules.result, samples: [] } }
      const outcome = yield* llmStage(settings(fake.host), "Sample table (an unfamiliar layout)…", noTable)
      expect(outcome.asked).toEqual(["organism", "samples"])
      // The JSON schema asks for rows with every column, control limited to the form's values.
      const sampleSchema = JSON.stringify(fake.chats[0]?.format.properties?.samples)
      for (const key of ["row", "name", "volumeUl", "qubitNgUl", "nanodropNgUl", "a260_280", "a260_230", "control"]) expect(sampleSchema).toContain(key)
      const merged = mergeStages(noTable, outcome)
      expect(merged.extraction.result.samples).toEqual(rows)
      expect(merged.sources.samples).toBe("llm")
      expect(merged.extraction.confidence["samples[0].qubitNgUl"]).toBe(0.6)
      expect(merged.extraction.confidence["samples[1].control"]).toBe(0.6)
      expect(merged.extraction.warnings.join("\n")).toContain("the LLM (test-model) read 2 row(s); please check each")
      // A table the rules did read is never asked.
      expect(fieldsToAsk(rules)).not.toContain("samples")
    }))

  it.scopedLive("retries an answer that does not match the schema", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama({ organism: "Homo sapiens" }, { failFirst: 1 })
      const outcome = yield* llmStage(settings(fake.host), "text", rules)
      expect(outcome.status).toBe("completed")
      expect(fake.chats.length).toBe(2)
      expect(outcome.answers.organism).toBe("Homo sapiens")
    }))

  it.scopedLive("ends failed with the reason when every attempt is unusable", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama({}, { failFirst: 5 })
      const outcome = yield* llmStage(settings(fake.host), "text", rules)
      expect(outcome.status).toBe("failed")
      expect(outcome.detail).toMatch(/2 attempt\(s\).*does not match the requested schema/)
    }))

  it.scopedLive("is skipped with a clear status when Ollama is not reachable", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama({})
      const closed = fake.host
      yield* Effect.promise(() => new Promise<void>((ok) => fake.server.close(() => ok())))
      const outcome = yield* llmStage(settings(closed), "text", rules)
      expect(outcome.status).toBe("skipped")
      expect(outcome.detail).toContain(`Ollama not reachable at ${closed}`)
      expect(mergeStages(rules, outcome).extraction).toEqual(rules)
    }))

  it("never overrides a confident rules value: a disagreeing LLM value is a warning", () => {
    const merged = mergeStages(rules, { status: "completed", detail: "", asked: ["kit"], model: "m", answers: { kit: "SQK-RAD114" } })
    expect(merged.extraction.result.kit).toBe("SQK-LSK114")
    expect(merged.extraction.confidence.kit).toBe(0.95)
    expect(merged.extraction.warnings.join("\n")).toContain(`kit: the LLM read "SQK-RAD114", the rules read "SQK-LSK114" with confidence 0.95; kept the rules' value`)
  })

  it.scopedLive("the whole pipeline over a dev form without Ollama: the rules' result, llm skipped, stage timings", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama({})
      const host = fake.host
      yield* Effect.promise(() => new Promise<void>((ok) => fake.server.close(() => ok())))
      const dir = join(import.meta.dirname, "../../test/fixtures/forms/dev")
      const truth = JSON.parse(readFileSync(join(dir, "dev-a01-n3.truth.json"), "utf8")) as SubmissionForm
      const out = yield* runPipeline(new Uint8Array(readFileSync(join(dir, "dev-a01-n3.pdf"))), settings(host))
      expect(out.result.kit).toBe(truth.kit)
      expect(out.result.samples.length).toBe(truth.samples.length)
      expect(["skipped", "not_needed"]).toContain(out.llm.status)
      expect(Object.keys(out.stagesMs)).toEqual(["layout", "rules", "llm", "merge", "validation"])
    }))
})
