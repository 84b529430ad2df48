/**
 * The whole intake pipeline for one PDF, stage by stage with timings: layout + rules, the LLM for uncertain fields
 * (skipped when Ollama is not reachable), merge, validation and recommendations over the knowledge base. Fails only
 * with `PdfUnreadable`; every later stage degrades to a status instead of failing.
 */
import { Clock, Effect } from "effect"
import { buildLines } from "./FormLines.ts"
import { formRules } from "./FormRules.ts"
import { findingText, type Finding } from "./Finding.ts"
import { PASSAGES } from "./KnowledgeBase.ts"
import type { PassageEmbeddings } from "./KnowledgeRetriever.ts"
import { mergeStages } from "./MergeStages.ts"
import type { OllamaSettings } from "./OllamaSettings.ts"
import { embedTexts, llmStage, type LlmOutcome } from "./OllamaStage.ts"
import { type PdfLayoutOptions, readPdfLayout } from "./PdfLayout.ts"
import { type Plan, recommend } from "./Recommendations.ts"
import type { Evidence, SubmissionForm } from "./SubmissionForm.ts"
import { validateForm } from "./Validation.ts"

/** The pipeline's answer: the form, per-path confidence and evidence, warnings (citing passages), and how it went. */
export interface PipelineResult {
  readonly result: SubmissionForm
  readonly confidence: Record<string, number>
  readonly evidence: Record<string, Evidence>
  readonly warnings: Array<string>
  readonly findings: Array<Finding>
  readonly plan: Plan
  readonly llm: Omit<LlmOutcome, "answers">
  /** Whether the warnings' citations were ranked by BM25 alone or fused with embedding similarity (Ollama). */
  readonly retrieval: Retrieval
  readonly sources: Readonly<Record<string, string>>
  /** Milliseconds per stage: layout, rules, llm, merge, validation. */
  readonly stagesMs: Record<string, number>
}

const timed = <A, E, R>(stages: Record<string, number>, name: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const value = yield* effect
    stages[name] = (yield* Clock.currentTimeMillis) - start
    return value
  })

/** Passage vectors through Ollama's embedding model, or null (BM25 alone) when none is configured or it fails. */
const passageVectorsFor = (settings: OllamaSettings, llm: LlmOutcome) =>
  Effect.gen(function*() {
    if (settings.embedModel === null || llm.status === "skipped") return null
    const vectors = yield* Effect.either(embedTexts(settings, settings.embedModel, PASSAGES.map((p) => `${p.title}. ${p.text}`)))
    return vectors._tag === "Left" || vectors.right.length !== PASSAGES.length ? null : vectors.right
  })

/** How the knowledge base was searched for the warnings' citations. */
export type Retrieval = "bm25" | "bm25+embeddings"

/**
 * Validation and recommendations, their citations ranked by BM25 and, when the passages have vectors, by embedding
 * similarity too. The questions a form raises are only known once its checks run, so the checks run once to collect
 * them, the questions are embedded in one call, and the checks run again with their vectors (they are pure and cheap).
 */
const assess = (settings: OllamaSettings, form: SubmissionForm, documentText: string, passages: ReadonlyArray<ReadonlyArray<number>> | null) =>
  Effect.gen(function*() {
    const run = (embeddings: PassageEmbeddings | null) => {
      const validation = validateForm(form, embeddings)
      const advice = recommend(form, documentText, embeddings)
      return { findings: [...validation, ...advice.findings], plan: advice.plan }
    }
    if (passages === null || settings.embedModel === null) return { ...run(null), retrieval: "bm25" as Retrieval }
    const questions = new Set<string>()
    const lexical = run({ passages, embedQuery: (q) => (questions.add(q), null) })
    if (questions.size === 0) return { ...lexical, retrieval: "bm25" as Retrieval }
    const asked = [...questions]
    const vectors = yield* Effect.either(embedTexts(settings, settings.embedModel, asked))
    if (vectors._tag === "Left" || vectors.right.length !== asked.length) return { ...lexical, retrieval: "bm25" as Retrieval }
    const byQuestion = new Map(asked.map((q, i) => [q, vectors.right[i]!]))
    return { ...run({ passages, embedQuery: (q) => byQuestion.get(q) ?? null }), retrieval: "bm25+embeddings" as Retrieval }
  })

/** Runs every stage over `bytes`. */
export const runPipeline = Effect.fn("ExtractionPipeline.run")(function*(bytes: Uint8Array, settings: OllamaSettings, options: PdfLayoutOptions = {}) {
  const stagesMs: Record<string, number> = {}
  const layout = yield* timed(stagesMs, "layout", readPdfLayout(bytes, options))
  const rules = yield* timed(stagesMs, "rules", Effect.sync(() => formRules(layout)))
  const documentText = buildLines(layout.pages).map((l) => l.items.map((i) => i.str).join(" ")).join("\n")
  const llm = yield* timed(stagesMs, "llm", llmStage(settings, documentText, rules))
  const merged = yield* timed(stagesMs, "merge", Effect.sync(() => mergeStages(rules, llm)))
  const passages = yield* passageVectorsFor(settings, llm)
  const { findings, plan, retrieval } = yield* timed(stagesMs, "validation", assess(settings, merged.extraction.result, documentText, passages))
  const { answers: _answers, ...llmStatus } = llm
  const result: PipelineResult = {
    ...merged.extraction,
    confidence: { ...merged.extraction.confidence },
    evidence: { ...merged.extraction.evidence },
    warnings: [...merged.extraction.warnings, ...findings.filter((f) => f.severity === "warning").map(findingText)],
    findings,
    plan,
    llm: llmStatus,
    retrieval,
    sources: merged.sources,
    stagesMs
  }
  return result
})
