/**
 * The form for recording a step's data, made from that step's schema in rpc/Workflow.ts (STEP_DATA): each field's
 * control follows its type (numbers, choices, yes/no, lists, times), labels and units come from FIELD_LABELS, and the
 * values are checked with the same schema before they are sent, so errors show on the field as the user types.
 */
import { Either, ParseResult, Schema, SchemaAST } from "effect"
import { useMemo, useState, type FormEvent } from "react"
import { STEP_DATA, STEP_NAMES, StepData, type StepId } from "../../../rpc/Workflow.ts"
import { fieldMessage, type Problem } from "../errors.ts"
import { Field } from "./ui.tsx"

/** Human labels (with units) of the step-data fields. */
export const FIELD_LABELS: Record<string, string> = {
  qubitNgUl: "Qubit concentration (ng/µL)",
  volumeUl: "Volume (µL)",
  nanodropNgUl: "Nanodrop concentration (ng/µL)",
  a260_280: "A260/280",
  a260_230: "A260/230",
  humanDna: "Human DNA",
  control: "Control sample",
  notes: "Notes",
  din: "DIN",
  rin: "RIN",
  fragmentSizeBp: "Fragment size (bp)",
  kit: "Library kit",
  inputNg: "Input (ng)",
  barcodeKit: "Barcode kit",
  barcode: "Barcode",
  operator: "Operator",
  libraryNgUl: "Library concentration (ng/µL)",
  fmol: "Library amount (fmol)",
  meanFragmentLengthBp: "Mean fragment length (bp)",
  flowCellId: "Flow cell ID",
  flowCellProductCode: "Flow cell product",
  poreCount: "Pore count",
  device: "Device",
  position: "Position",
  runParameters: "Run parameters",
  runId: "Run ID",
  startedAt: "Run started",
  endedAt: "Run ended",
  yieldGb: "Yield (Gb)",
  reads: "Reads",
  n50: "Read N50 (bp)",
  model: "Basecalling model",
  modifiedBases: "Modified bases (comma-separated)",
  softwareVersion: "Software version",
  passReadPercent: "Pass reads (%)",
  meanQ: "Mean Q score",
  coverage: "Coverage (×)",
  passed: "Passed assessment",
  method: "Delivery method",
  location: "Delivery location",
  checksumManifest: "Checksum manifest",
  deliveredAt: "Delivered at",
  retentionDays: "Retention (days)"
}

type Kind =
  | { readonly _tag: "number"; readonly integer: boolean }
  | { readonly _tag: "text"; readonly long: boolean }
  | { readonly _tag: "boolean" }
  | { readonly _tag: "choice"; readonly options: ReadonlyArray<string> }
  | { readonly _tag: "list" }
  | { readonly _tag: "time" }

/** True when a refinement in the chain is `Schema.int()`. */
const isInteger = (ast: SchemaAST.AST): boolean =>
  ast._tag === "Refinement" && (ast.annotations[SchemaAST.SchemaIdAnnotationId] === Schema.IntSchemaId || isInteger(ast.from))

/** The control a field's type calls for. */
const kindOf = (ast: SchemaAST.AST, name: string): Kind => {
  switch (ast._tag) {
    case "Refinement": {
      const inner = kindOf(ast.from, name)
      return inner._tag === "number" ? { _tag: "number", integer: isInteger(ast) } : inner
    }
    case "NumberKeyword":
      return { _tag: "number", integer: false }
    case "BooleanKeyword":
      return { _tag: "boolean" }
    case "Literal":
      return { _tag: "choice", options: [String(ast.literal)] }
    case "Union": {
      const members = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
      if (members.every((t) => t._tag === "Literal")) return { _tag: "choice", options: members.map((t) => String((t as SchemaAST.Literal).literal)) }
      return kindOf(members[0]!, name)
    }
    case "TupleType":
      return { _tag: "list" }
    case "Transformation":
      return { _tag: "time" }
    default:
      return { _tag: "text", long: name === "notes" || name === "runParameters" || name === "checksumManifest" || name === "location" }
  }
}

interface FieldSpec {
  readonly name: string
  readonly optional: boolean
  readonly kind: Kind
}

/** The fields of a step's record, in schema order. */
export const fieldsOf = (step: StepId): ReadonlyArray<FieldSpec> => {
  const ast = STEP_DATA[step].ast
  if (ast._tag !== "TypeLiteral") return []
  return ast.propertySignatures.map((p) => ({ name: String(p.name), optional: p.isOptional, kind: kindOf(p.type, String(p.name)) }))
}

type Values = Record<string, string | boolean>

/** The form's values as the schema's encoded input: numbers parsed (a comma decimal accepted), blanks left out. */
const toInput = (fields: ReadonlyArray<FieldSpec>, values: Values): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    const v = values[f.name]
    if (f.kind._tag === "boolean") {
      if (v !== undefined || !f.optional) out[f.name] = v === true
      continue
    }
    if (typeof v !== "string" || v.trim() === "") continue
    const text = v.trim()
    switch (f.kind._tag) {
      case "number": {
        const n = Number(text.replace(",", "."))
        out[f.name] = Number.isNaN(n) ? text : n
        break
      }
      case "list":
        out[f.name] = text.split(",").map((s) => s.trim()).filter((s) => s !== "")
        break
      case "time": {
        const t = new Date(text)
        out[f.name] = Number.isNaN(t.getTime()) ? text : t.toISOString()
        break
      }
      default:
        out[f.name] = text
    }
  }
  return out
}

const decodeRecord = Schema.decodeUnknownEither(StepData, { errors: "all", onExcessProperty: "error" })

/** Field messages from a failed decode of `{ step, data }`. */
const problemsOf = (error: ParseResult.ParseError): Problem => ({
  title: "Some values are not allowed.",
  fields: ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({ path: i.path.slice(1).map(String).join("."), message: i.message }))
})

/** Records `step`'s data; `onSubmit` gets the decoded record. Server errors (`problem`) show on their fields. */
export const StepForm = ({ step, busy, problem, onSubmit }: {
  readonly step: StepId
  readonly busy: boolean
  readonly problem: Problem | undefined
  readonly onSubmit: (record: StepData) => void
}) => {
  const fields = useMemo(() => fieldsOf(step), [step])
  const [values, setValues] = useState<Values>({})
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set())
  const [submitted, setSubmitted] = useState(false)
  const decoded = useMemo(() => decodeRecord({ step, data: toInput(fields, values) }), [step, fields, values])
  const local = Either.isLeft(decoded) ? problemsOf(decoded.left) : undefined
  const messageOf = (name: string) => {
    const server = fieldMessage(problem, name)
    if (server !== undefined) return server
    if (!submitted && !touched.has(name)) return undefined
    const mine = local?.fields.find((f) => f.path === name || f.path.startsWith(`${name}.`))
    return mine?.message
  }
  const set = (name: string, value: string | boolean) => {
    setValues((v) => ({ ...v, [name]: value }))
    setTouched((t) => new Set(t).add(name))
  }
  const submit = (e: FormEvent) => {
    e.preventDefault()
    setSubmitted(true)
    if (Either.isRight(decoded)) onSubmit(decoded.right)
  }
  return (
    <form onSubmit={submit} aria-label={`${STEP_NAMES[step]} record`} noValidate>
      <div className="form-grid">
        {fields.map((f) => {
          const label = `${FIELD_LABELS[f.name] ?? f.name}${f.optional ? "" : " *"}`
          const error = messageOf(f.name)
          const value = values[f.name]
          switch (f.kind._tag) {
            case "boolean":
              return (
                <Field key={f.name} label={label} error={error}>
                  {(p) => <input {...p} type="checkbox" checked={value === true} onChange={(e) => set(f.name, e.target.checked)} />}
                </Field>
              )
            case "choice": {
              const options = f.kind.options
              return (
                <Field key={f.name} label={label} error={error}>
                  {(p) => (
                    <select {...p} value={typeof value === "string" ? value : ""} onChange={(e) => set(f.name, e.target.value)}>
                      <option value="">{f.optional ? "—" : "Choose…"}</option>
                      {options.map((o) => <option key={o} value={o}>{o}</option>)}
                    </select>
                  )}
                </Field>
              )
            }
            case "time":
              return (
                <Field key={f.name} label={label} error={error}>
                  {(p) => <input {...p} type="datetime-local" value={typeof value === "string" ? value : ""} onChange={(e) => set(f.name, e.target.value)} />}
                </Field>
              )
            case "number":
              return (
                <Field key={f.name} label={label} error={error}>
                  {(p) => (
                    <input {...p} inputMode={f.kind._tag === "number" && f.kind.integer ? "numeric" : "decimal"} autoComplete="off"
                      value={typeof value === "string" ? value : ""} onChange={(e) => set(f.name, e.target.value)} />
                  )}
                </Field>
              )
            default:
              return (
                <Field key={f.name} label={label} error={error}>
                  {(p) => f.kind._tag === "text" && f.kind.long
                    ? <textarea {...p} rows={2} value={typeof value === "string" ? value : ""} onChange={(e) => set(f.name, e.target.value)} />
                    : <input {...p} autoComplete="off" value={typeof value === "string" ? value : ""} onChange={(e) => set(f.name, e.target.value)} />}
                </Field>
              )
          }
        })}
      </div>
      <div className="actions">
        <button type="submit" disabled={busy}>{busy ? "Saving…" : `Record and complete ${STEP_NAMES[step]}`}</button>
        {submitted && local !== undefined && <span className="field-error" role="alert">Correct the marked fields first.</span>}
      </div>
    </form>
  )
}
