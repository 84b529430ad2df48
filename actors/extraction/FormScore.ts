/**
 * Scoring an extraction against a truth file: field-level accuracy (every leaf, sample cells by row number),
 * sample-row recall and precision, and tick-box field accuracy. Shared by `npm run bench:extract` and the tests.
 */
import type { SubmissionForm } from "./SubmissionForm.ts"

/** The tick-box fields: what a text-only reader gets wrong. */
export const TICK_FIELDS = ["kit", "sampleType", "humanDna", "buffer", "device", "basecalling", "fileFormat", "retrieval"] as const

const SAMPLE_FIELDS = ["name", "volumeUl", "qubitNgUl", "nanodropNgUl", "a260_280", "a260_230", "control"] as const

/** One compared field: its path (samples by row number), the two values, and whether they agree. */
export interface FieldCheck {
  readonly path: string
  readonly group: string
  readonly expected: unknown
  readonly actual: unknown
  readonly ok: boolean
}

/** A form's score. */
export interface FormScore {
  readonly checks: ReadonlyArray<FieldCheck>
  readonly rowsExpected: number
  readonly rowsFound: number
  /** Truth rows that the extraction has (by row number). */
  readonly rowsMatched: number
  /** Extracted rows that the truth has. */
  readonly rowsTrue: number
}

const same = (a: unknown, b: unknown): boolean => {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) < 1e-6
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return same(ka, kb) && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  }
  return a === b
}

/** Compares every field of the truth with the extraction. Arrays of values are compared whole, in order. */
export const scoreForm = (truth: SubmissionForm, actual: SubmissionForm): FormScore => {
  const checks: Array<FieldCheck> = []
  const check = (path: string, group: string, expected: unknown, got: unknown) =>
    checks.push({ path, group, expected, actual: got, ok: same(expected, got) })
  for (const key of Object.keys(truth) as Array<keyof SubmissionForm>) {
    if (key === "samples" || key === "pis" || key === "requester") continue
    check(key, key, truth[key], actual[key])
  }
  for (const key of ["name", "email", "phone"] as const) check(`requester.${key}`, `requester.${key}`, truth.requester[key], actual.requester[key])
  const pisCount = Math.max(truth.pis.length, actual.pis.length)
  for (let i = 0; i < pisCount; i++) {
    for (const key of ["name", "email"] as const) check(`pis[${i}].${key}`, `pis.${key}`, truth.pis[i]?.[key] ?? "(absent)", actual.pis[i]?.[key] ?? "(absent)")
  }
  const byRow = new Map(actual.samples.map((s) => [s.row, s]))
  let matched = 0
  for (const t of truth.samples) {
    const a = byRow.get(t.row)
    if (a) matched++
    for (const key of SAMPLE_FIELDS) check(`samples[row ${t.row}].${key}`, `samples.${key}`, t[key], a ? a[key] : "(row missing)")
  }
  const truthRows = new Set(truth.samples.map((s) => s.row))
  return {
    checks,
    rowsExpected: truth.samples.length,
    rowsFound: actual.samples.length,
    rowsMatched: matched,
    rowsTrue: actual.samples.filter((s) => truthRows.has(s.row)).length
  }
}

/** Totals over several forms: accuracy per field group and overall, row recall and precision, tick-box accuracy. */
export const summarize = (scores: ReadonlyArray<FormScore>) => {
  const checks = scores.flatMap((s) => s.checks)
  const rate = (list: ReadonlyArray<FieldCheck>) => (list.length === 0 ? 1 : list.filter((c) => c.ok).length / list.length)
  const groups = [...new Set(checks.map((c) => c.group))]
  const tick = checks.filter((c) => (TICK_FIELDS as ReadonlyArray<string>).includes(c.group))
  const expected = scores.reduce((n, s) => n + s.rowsExpected, 0)
  const found = scores.reduce((n, s) => n + s.rowsFound, 0)
  const matched = scores.reduce((n, s) => n + s.rowsMatched, 0)
  const rowsTrue = scores.reduce((n, s) => n + s.rowsTrue, 0)
  return {
    overall: rate(checks),
    fields: checks.length,
    wrong: checks.filter((c) => !c.ok),
    perGroup: groups.map((g) => ({ group: g, accuracy: rate(checks.filter((c) => c.group === g)), count: checks.filter((c) => c.group === g).length })),
    tickBoxes: rate(tick),
    tickBoxFields: tick.length,
    rowRecall: expected === 0 ? 1 : matched / expected,
    rowPrecision: found === 0 ? 1 : rowsTrue / found
  }
}
