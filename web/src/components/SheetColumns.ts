/**
 * The sample grid's model, shared by typing, pasting and CSV upload: its columns (the fields of `SubmissionRow`), how
 * a cell's text becomes a value (numbers accept a decimal comma), and the check of every row with the contract's own
 * schema, so what the browser accepts is exactly what the server accepts.
 */
import { Either, Schema, SchemaAST } from "effect"
import { SubmissionRow } from "../../../rpc/Api.ts"
import { issuesOf } from "../../../rpc/Decode.ts"
import { BasecallingData, Control, FlowCellType, KitCode, Priority, SampleType } from "../../../rpc/Workflow.ts"

/** A field of a sample row. */
export type RowKey = keyof typeof SubmissionRow.Type

export type ColumnKind =
  | { readonly kind: "text" }
  | { readonly kind: "number"; readonly unit?: string }
  | { readonly kind: "choice"; readonly choices: ReadonlyArray<string> }
  | { readonly kind: "boolean" }

/** One grid column: the row field it fills, its label, its kind, other names a spreadsheet header may give it. */
export interface Column {
  readonly key: RowKey
  readonly label: string
  readonly kind: ColumnKind
  readonly width: string
  readonly aliases: ReadonlyArray<string>
}

/** The choices of a closed set of string literals (`oneOf(...)` in rpc/Workflow.ts), read from its schema. */
export const literalsOf = (schema: Schema.Schema.Any): ReadonlyArray<string> => {
  const ast = schema.ast
  return (SchemaAST.isUnion(ast) ? ast.types : [ast]).flatMap((t) => (SchemaAST.isLiteral(t) && typeof t.literal === "string" ? [t.literal] : []))
}

const text = { kind: "text" } as const
const number = { kind: "number" } as const
const choice = (choices: ReadonlyArray<string>) => ({ kind: "choice", choices }) as const

/** The grid's columns, in the order a header-less paste fills them. */
export const COLUMNS: ReadonlyArray<Column> = [
  { key: "sampleName", label: "Sample name", kind: text, width: "11rem", aliases: ["name", "sample", "sample id", "sample_name"] },
  { key: "sampleType", label: "Sample type", kind: choice(literalsOf(SampleType)), width: "8rem", aliases: ["type"] },
  { key: "organism", label: "Organism", kind: text, width: "9rem", aliases: ["source organism", "species"] },
  { key: "volumeUl", label: "Volume (µL)", kind: number, width: "6rem", aliases: ["volume", "vol", "volume ul", "volume_ul"] },
  { key: "concentrationNgUl", label: "Qubit (ng/µL)", kind: number, width: "6rem", aliases: ["concentration", "qubit", "conc", "concentration (ng/µl)", "qubit ng/ul"] },
  { key: "nanodropNgUl", label: "Nanodrop (ng/µL)", kind: number, width: "6.5rem", aliases: ["nanodrop", "nanodrop ng/ul"] },
  { key: "a260_280", label: "A260/280", kind: number, width: "5.5rem", aliases: ["260/280", "a260 280"] },
  { key: "a260_230", label: "A260/230", kind: number, width: "5.5rem", aliases: ["260/230", "a260 230"] },
  { key: "libraryKit", label: "Library kit", kind: choice(literalsOf(KitCode)), width: "9rem", aliases: ["kit"] },
  { key: "basecallingModel", label: "Basecalling", kind: choice(literalsOf(BasecallingData.fields.model)), width: "6rem", aliases: ["basecalling model", "model"] },
  { key: "genomeSizeMb", label: "Genome size (Mb)", kind: number, width: "6.5rem", aliases: ["genome size", "genome size mb"] },
  { key: "targetCoverage", label: "Coverage (×)", kind: number, width: "6rem", aliases: ["coverage", "target coverage", "coverage x"] },
  { key: "buffer", label: "Buffer", kind: text, width: "7rem", aliases: [] },
  { key: "humanDna", label: "Human DNA", kind: { kind: "boolean" }, width: "5.5rem", aliases: ["human", "human dna?"] },
  { key: "control", label: "Control", kind: choice(literalsOf(Control)), width: "6.5rem", aliases: ["control type"] },
  { key: "priority", label: "Priority", kind: choice(literalsOf(Priority)), width: "6.5rem", aliases: [] },
  { key: "flowCellType", label: "Flow cell", kind: choice(literalsOf(FlowCellType)), width: "6.5rem", aliases: ["flow cell type", "flowcell", "flowcell type"] },
  { key: "notes", label: "Notes", kind: text, width: "12rem", aliases: ["comment", "comments", "remarks"] }
]

/** A row as the user sees it: the text of each cell (absent = empty), with a stable id for rendering. */
export interface SheetRow {
  readonly id: number
  readonly cells: Partial<Record<RowKey, string>>
}

let nextRowId = 1
/** A new row (empty unless `cells` are given). */
export const newRow = (cells: Partial<Record<RowKey, string>> = {}): SheetRow => ({ id: nextRowId++, cells })

/** True when no cell of the row holds anything but spaces: such rows are left out of the submission. */
export const isBlank = (row: SheetRow) => Object.values(row.cells).every((v) => v === undefined || v.trim() === "")

/** Lower case, µ as u, without spaces and punctuation: "Volume (µL)", "volumeUl" and "volume_ul" all read "volumeul". */
const normal = (s: string) => s.toLowerCase().replace(/µ|μ/g, "u").replace(/[^a-z0-9]/g, "")

const byName = new Map<string, RowKey>()
for (const c of COLUMNS) for (const name of [c.key, c.label, ...c.aliases]) byName.set(normal(name), c.key)

/** The column a spreadsheet or CSV header names (its field name, its label or a usual alias), if any. */
export const columnOfHeader = (header: string): RowKey | undefined => {
  const n = normal(header)
  return n === "" ? undefined : byName.get(n)
}

/** Headers that number rows rather than name a field ("#", "row", "no"): ignored without a notice. */
export const isRowNumberHeader = (header: string) => /^(#|row|no\.?|nr\.?|n°|position|pos\.?)?$/i.test(header.trim())

/** The canonical choice a text names, case and spacing aside ("hmw gdna" → "HMW gDNA"), or the text itself. */
export const canonicalChoice = (choices: ReadonlyArray<string>, value: string): string => {
  const n = normal(value)
  return choices.find((c) => normal(c) === n) ?? value.trim()
}

const YES = new Set(["yes", "y", "true", "1", "ja", "oui", "x"])
const NO = new Set(["no", "n", "false", "0", "nein", "non"])

/** A cell's text as the grid stores it: choices in their canonical spelling, yes/no for booleans, others as typed. */
export const normalizeCell = (column: Column, value: string): string => {
  const v = value.replace(/\r/g, "")
  switch (column.kind.kind) {
    case "choice":
      return v.trim() === "" ? "" : canonicalChoice(column.kind.choices, v)
    case "boolean": {
      const n = v.trim().toLowerCase()
      return YES.has(n) ? "yes" : NO.has(n) ? "no" : v.trim()
    }
    default:
      return v
  }
}

/**
 * A number as people type it: "12.5", "12,5" (decimal comma), "1,234.5" (thousands commas), " 7 ", "1e3";
 * undefined when the text is not a number.
 */
export const parseNumber = (raw: string): number | undefined => {
  let s = raw.trim().replace(/[\s\u00a0\u202f']/g, "")
  if (s.includes(",") && s.includes(".")) s = s.replace(/,/g, "")
  else s = s.replace(",", ".")
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return undefined
  const n = Number(s)
  return Number.isFinite(n) ? n : undefined
}

/** What is wrong in one row: a message per column at fault (several joined). */
export type CellErrors = Partial<Record<RowKey, string>>

/** One checked row: the decoded value when valid, and the message of each cell at fault. */
export interface RowCheck {
  readonly value: SubmissionRow | undefined
  readonly errors: CellErrors
}

const decodeRow = Schema.decodeUnknownEither(SubmissionRow, { errors: "all", onExcessProperty: "error" })

const COLUMN_BY_KEY = new Map(COLUMNS.map((c) => [c.key, c] as const))
/** The column of a field. */
export const columnOf = (key: RowKey): Column => COLUMN_BY_KEY.get(key)!
const isRowKey = (s: string): s is RowKey => COLUMN_BY_KEY.has(s as RowKey)

const add = (errors: Partial<Record<RowKey, string>>, key: RowKey, message: string) => {
  errors[key] = errors[key] === undefined ? message : `${errors[key]}; ${message}`
}

/** Checks one row's cells with the contract's `SubmissionRow` schema (text turned into numbers and yes/no first). */
export const checkRow = (row: SheetRow): RowCheck => {
  const errors: CellErrors = {}
  const raw: Record<string, unknown> = {}
  for (const c of COLUMNS) {
    const cell = row.cells[c.key]
    if (cell === undefined || cell.trim() === "") continue
    switch (c.kind.kind) {
      case "number": {
        const n = parseNumber(cell)
        if (n === undefined) add(errors, c.key, `"${cell.trim().slice(0, 40)}" is not a number (write e.g. 12.5 or 12,5)`)
        else raw[c.key] = n
        break
      }
      case "boolean": {
        const v = normalizeCell(c, cell)
        if (v === "yes" || v === "no") raw[c.key] = v === "yes"
        else add(errors, c.key, "must be yes or no")
        break
      }
      case "choice":
        raw[c.key] = canonicalChoice(c.kind.choices, cell)
        break
      default:
        raw[c.key] = cell.trim()
    }
  }
  if (raw.sampleName === undefined && errors.sampleName === undefined) add(errors, "sampleName", "a sample needs a name")
  const decoded = decodeRow(raw)
  if (Either.isLeft(decoded)) {
    for (const issue of issuesOf(decoded.left)) {
      const key = issue.path.split(".")[0] ?? ""
      // A missing name is already said above in the user's words.
      if (key === "sampleName" && raw.sampleName === undefined) continue
      if (isRowKey(key)) add(errors, key, friendly(issue.message))
    }
  }
  const value = Either.isRight(decoded) && Object.keys(errors).length === 0 ? decoded.right : undefined
  return { value, errors }
}

/** Schema messages in a lab's words ("Expected a positive number, actual -5" → "must be more than 0 (got -5)"). */
export const friendly = (message: string): string =>
  message
    .replace(/^Expected a positive number, actual (.*)$/, "must be more than 0 (got $1)")
    .replace(/^Expected a non-negative number, actual (.*)$/, "must not be negative (got $1)")
    .replace(/^Expected a finite number, actual (.*)$/, "must be a finite number (got $1)")
    .replace(/^Expected an integer, actual (.*)$/, "must be a whole number (got $1)")
    .replace(/^Expected a string at most (\d+) character\(s\) long, actual (.*)$/, "is too long (at most $1 characters)")
    .replace(/^is missing$/, "is required")
    .replace(/^sampleName (may contain|must)/, "$1")

// Rows are never changed in place (an edit makes a new row), so a row's check holds as long as the row lives: typing
// in one cell decodes one row, not all 500.
const checked = new WeakMap<SheetRow, RowCheck>()
const cachedCheck = (row: SheetRow): RowCheck => {
  const known = checked.get(row)
  if (known !== undefined) return known
  const check = checkRow(row)
  checked.set(row, check)
  return check
}

/**
 * Checks every row that is not blank (blank rows are `undefined`), and flags sample names used twice (case aside, as
 * the server compares them).
 */
export const checkRows = (rows: ReadonlyArray<SheetRow>): Array<RowCheck | undefined> => {
  const checks = rows.map((r) => (isBlank(r) ? undefined : cachedCheck(r)))
  const firstOf = new Map<string, number>()
  const dupes = new Map<string, Array<number>>()
  rows.forEach((r, i) => {
    const name = r.cells.sampleName?.trim().toLowerCase()
    if (checks[i] === undefined || name === undefined || name === "") return
    const first = firstOf.get(name)
    if (first === undefined) firstOf.set(name, i)
    else dupes.set(name, [...(dupes.get(name) ?? [first]), i])
  })
  const out = checks.slice()
  for (const indexes of dupes.values()) {
    for (const i of indexes) {
      const others = indexes.filter((j) => j !== i).map((j) => j + 1)
      const check = out[i]!
      const errors: CellErrors = { ...check.errors }
      add(errors, "sampleName", `the same name is used in row${others.length > 1 ? "s" : ""} ${others.join(", ")}`)
      out[i] = { value: undefined, errors }
    }
  }
  return out
}
