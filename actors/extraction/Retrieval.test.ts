/**
 * Retrieval for the warnings' citations with embeddings: against a stand-in for Ollama's `/api/embed` started by the
 * test, the passages are embedded, then the questions the form's checks raise, and the citations rank by both BM25 and
 * vector similarity; an embedder that fails leaves BM25 alone, with the same findings as without one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { runPipeline } from "./ExtractionPipeline.ts"
import { PASSAGES } from "./KnowledgeBase.ts"
import { retrieve } from "./KnowledgeRetriever.ts"
import { OLLAMA_DEFAULTS, type OllamaSettings } from "./OllamaSettings.ts"

/**
 * A stand-in embedder: a passage's vector is one-hot at its position; every other text (a question) gets the vector of
 * `target`, so that passage is the nearest to every question. Records each call's inputs; `fail` answers 500.
 */
const fakeEmbedder = (target: string, fail = false) =>
  Effect.acquireRelease(
    Effect.async<{ server: Server; host: string; calls: Array<ReadonlyArray<string>> }>((resume) => {
      const calls: Array<ReadonlyArray<string>> = []
      const texts = PASSAGES.map((p) => `${p.title}. ${p.text}`)
      const oneHot = (i: number) => PASSAGES.map((_, j) => (i === j ? 1 : 0))
      const server = createServer((req, res) => {
        let body = ""
        req.on("data", (c: Buffer) => (body += c.toString("utf8")))
        req.on("end", () => {
          res.setHeader("content-type", "application/json")
          if (req.url !== "/api/embed") {
            res.statusCode = 404
            return res.end("{}")
          }
          const { input, model } = JSON.parse(body) as { input: Array<string>; model: string }
          calls.push(input)
          if (fail) {
            res.statusCode = 500
            return res.end(JSON.stringify({ error: "model not loaded" }))
          }
          const embeddings = input.map((t) => {
            const at = texts.indexOf(t)
            return oneHot(at >= 0 ? at : PASSAGES.findIndex((p) => p.id === target))
          })
          res.end(JSON.stringify({ model, embeddings }))
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, calls, host: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })))
    }),
    ({ server }) => Effect.promise(() => new Promise<void>((ok) => server.close(() => ok())))
  )

const settings = (host: string): OllamaSettings => ({ ...OLLAMA_DEFAULTS, host, embedModel: "test-embed", timeout: Duration.seconds(5), retries: 0 })
const form = new Uint8Array(readFileSync(new URL("../../test/fixtures/forms/dev/dev-b06-n48.pdf", import.meta.url)))

describe("retrieval with embeddings", () => {
  it("a question no passage shares a word with is answered by its nearest vector", () => {
    const target = PASSAGES[3]!
    const embeddings = { passages: PASSAGES.map((_, j) => PASSAGES.map((__, k) => (j === k ? 1 : 0))), embedQuery: () => PASSAGES.map((_, k) => (k === 3 ? 1 : 0)) }
    expect(retrieve("zzqx wvyk", 1)).toEqual([])
    expect(retrieve("zzqx wvyk", 1, embeddings)[0]?.id).toBe(target.id)
  })

  it.scoped("the pipeline embeds the passages, then the form's questions, and fuses both rankings into the citations", () =>
    Effect.gen(function*() {
      const target = PASSAGES.find((p) => p.id === "coverage-planning") ?? PASSAGES[0]!
      const embedder = yield* fakeEmbedder(target.id)
      const lexical = yield* runPipeline(form, { ...OLLAMA_DEFAULTS, host: "http://127.0.0.1:9", embedModel: null })
      const fused = yield* runPipeline(form, settings(embedder.host))
      expect(lexical.retrieval).toBe("bm25")
      expect(fused.retrieval).toBe("bm25+embeddings")
      // Two calls: every passage, then the distinct questions of the form's checks (none of them a passage).
      expect(embedder.calls).toHaveLength(2)
      expect(embedder.calls[0]).toHaveLength(PASSAGES.length)
      expect(embedder.calls[1]!.length).toBeGreaterThan(0)
      expect(embedder.calls[1]!.some((q) => PASSAGES.some((p) => `${p.title}. ${p.text}` === q))).toBe(false)
      // The same findings (retrieval only ranks citations), but the vectors move citations: with every question
      // "nearest" to one passage, the input-amount warnings no longer cite what BM25 alone ranks first.
      expect(fused.findings.map((f) => [f.path, f.message])).toEqual(lexical.findings.map((f) => [f.path, f.message]))
      expect(fused.findings.map((f) => f.passageId)).not.toEqual(lexical.findings.map((f) => f.passageId))
      for (const f of fused.findings) expect(PASSAGES.map((p) => p.id)).toContain(f.passageId)
    }))

  it.scoped("an embedder that fails leaves BM25 alone: the same citations as without one", () =>
    Effect.gen(function*() {
      const embedder = yield* fakeEmbedder("coverage-planning", true)
      const lexical = yield* runPipeline(form, { ...OLLAMA_DEFAULTS, host: "http://127.0.0.1:9", embedModel: null })
      const failed = yield* runPipeline(form, settings(embedder.host))
      expect(embedder.calls).toHaveLength(1)
      expect(failed.retrieval).toBe("bm25")
      expect(failed.findings).toEqual(lexical.findings)
    }))
})
