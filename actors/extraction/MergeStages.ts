/**
 * Merging the rules and the LLM: a rules value at or above `LLM_ASK_BELOW` always stands (a disagreeing LLM value is
 * recorded as a warning, never applied); a low-confidence rules value is replaced by a decoded LLM value, at the
 * LLM's confidence; agreement raises the confidence. `sources` says which stage each asked path's value came from.
 */
import { Equal } from "effect"
import { LLM_ASK_BELOW, type LlmOutcome } from "./OllamaStage.ts"
import type { FormExtraction, SubmissionForm } from "./SubmissionForm.ts"

/** The confidence given to a value that only the LLM read. */
export const LLM_CONFIDENCE = 0.6

/** The merged extraction plus which stage each LLM-touched path's value came from. */
export interface Merged {
  readonly extraction: FormExtraction
  readonly sources: Readonly<Record<string, "rules" | "llm" | "both">>
}

const getPath = (form: SubmissionForm, path: string): unknown => {
  const [head, tail] = path.split(".") as [string, string | undefined]
  const top: unknown = (form as Record<string, unknown>)[head]
  return tail === undefined ? top : typeof top === "object" && top !== null ? (top as Record<string, unknown>)[tail] : undefined
}

const setPath = (form: SubmissionForm, path: string, value: unknown): SubmissionForm => {
  const [head, tail] = path.split(".") as [string, string | undefined]
  if (tail === undefined) return { ...form, [head]: value }
  const top = (form as Record<string, unknown>)[head]
  return { ...form, [head]: { ...(typeof top === "object" && top !== null ? top : {}), [tail]: value } }
}

const same = (a: unknown, b: unknown) => Equal.equals(Equal.equals(a, b) ? true : JSON.stringify(a) === JSON.stringify(b), true)

const shown = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? "null"

/** Merges `llm`'s answers into `rules`. */
export const mergeStages = (rules: FormExtraction, llm: LlmOutcome): Merged => {
  let result = rules.result
  const confidence: Record<string, number> = { ...rules.confidence }
  const warnings: Array<string> = [...rules.warnings]
  const sources: Record<string, "rules" | "llm" | "both"> = {}
  for (const [path, answer] of Object.entries(llm.answers)) {
    const ruled = getPath(result, path)
    const sure = rules.confidence[path] ?? 0
    const empty = answer === null || (Array.isArray(answer) && answer.length === 0)
    if (same(ruled, answer)) {
      sources[path] = "both"
      confidence[path] = Math.max(sure, Math.min(0.9, sure + 0.2))
    } else if (sure >= LLM_ASK_BELOW) {
      sources[path] = "rules"
      warnings.push(`${path}: the LLM read ${shown(answer)}, the rules read ${shown(ruled)} with confidence ${sure}; kept the rules' value`)
    } else if (empty) {
      sources[path] = "rules"
    } else if (path === "samples" && Array.isArray(answer)) {
      // The whole table, read by the LLM where the rules read no row: every cell at the LLM's confidence, so the
      // review highlights each one until a person accepts or edits it.
      sources[path] = "llm"
      result = setPath(result, path, answer)
      confidence[path] = LLM_CONFIDENCE
      answer.forEach((row: unknown, i) => {
        for (const key of Object.keys(typeof row === "object" && row !== null ? row : {})) confidence[`samples[${i}].${key}`] = LLM_CONFIDENCE
      })
      warnings.push(`samples: the rules read no sample table; the LLM (${llm.model}) read ${answer.length} row(s); please check each`)
    } else {
      sources[path] = "llm"
      result = setPath(result, path, answer)
      confidence[path] = LLM_CONFIDENCE
      warnings.push(`${path}: read by the LLM (${llm.model}) as ${shown(answer)}; the rules had ${shown(ruled)}; please check`)
    }
  }
  return { extraction: { ...rules, result, confidence, warnings }, sources }
}
