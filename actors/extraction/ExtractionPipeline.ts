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
const embeddingsFor = (settings: OllamaSettings, llm: LlmOutcome) =>
  Effect.gen(function*() {
    if (settings.embedModel === null || llm.status === "skipped") return null
    const model = settings.embedModel
    const vectors = yield* Effect.either(embedTexts(settings, model, PASSAGES.map((p) => `${p.title}. ${p.text}`)))
    if (vectors._tag === "Left") return null
    const cache = new Map<string, ReadonlyArray<number> | null>()
    return {
      passages: vectors.right,
      embedQuery: (q: string) => cache.get(q) ?? null
    } satisfies PassageEmbeddings
  })

/** Runs every stage over `bytes`. */
export const runPipeline = Effect.fn("ExtractionPipeline.run")(function*(bytes: Uint8Array, settings: OllamaSettings, options: PdfLayoutOptions = {}) {
  const stagesMs: Record<string, number> = {}
  const layout = yield* timed(stagesMs, "layout", readPdfLayout(bytes, options))
  const rules = yield* timed(stagesMs, "rules", Effect.sync(() => formRules(layout)))
  const documentText = buildLines(layout.pages).map((l) => l.items.map((i) => i.str).join(" ")).join("\n")
  const llm = yield* timed(stagesMs, "llm", llmStage(settings, documentText, rules))
  const merged = yield* timed(stagesMs, "merge", Effect.sync(() => mergeStages(rules, llm)))
  const embeddings = yield* embeddingsFor(settings, llm)
  const { findings, plan } = yield* timed(stagesMs, "validation", Effect.sync(() => {
    const validation = validateForm(merged.extraction.result, embeddings)
    const advice = recommend(merged.extraction.result, documentText, embeddings)
    return { findings: [...validation, ...advice.findings], plan: advice.plan }
  }))
  const { answers: _answers, ...llmStatus } = llm
  const result: PipelineResult = {
    ...merged.extraction,
    confidence: { ...merged.extraction.confidence },
    evidence: { ...merged.extraction.evidence },
    warnings: [...merged.extraction.warnings, ...findings.filter((f) => f.severity === "warning").map(findingText)],
    findings,
    plan,
    llm: llmStatus,
    sources: merged.sources,
    stagesMs
  }
  return result
})
