/**
 * Review a read PDF form: the PDF beside the extracted form. While the job runs the page shows its status and
 * refreshes; when it is done every field and every sample row is editable, fields the reader was unsure of
 * (confidence below 0.8) are highlighted with the text they were read from and the page to look at, each field is
 * accepted with one click (or all sure ones at once), warnings show the knowledge-base passage they rest on, and
 * "Create submission" confirms the reviewed form: the submission and all its samples, or nothing and the reasons.
 */
import { useAtomRefresh, useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Cause, Either, Exit, Option, Schema } from "effect"
import { useEffect, useMemo, useState, type ReactNode } from "react"
import type { CreatedSubmission } from "../../../rpc/Api.ts"
import {
  FORM_BASECALLING,
  FORM_BUFFERS,
  FORM_CONTROLS,
  FORM_DEVICES,
  FORM_FILE_FORMATS,
  FORM_RETRIEVAL,
  FORM_SAMPLE_TYPES
} from "../../../rpc/ExtractionRpcs.ts"
import type { ExtractionView } from "../../../rpc/ExtractionsApi.ts"
import { KIT_CODES, SampleName } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { Badge, ErrorBox, formatTime, Show } from "../components/ui.tsx"
import { describe, type Problem } from "../errors.ts"
import { Link, useLocation } from "../router.tsx"
import { Result, sessionAtom } from "../session.ts"
import { STATUS_WORDS } from "./ExtractionUpload.tsx"

/** Below this confidence a field is highlighted until someone accepts or edits it. */
const SURE = 0.8

type View = typeof ExtractionView.Type
type Scalar = string | number | boolean | null
interface SampleRow {
  row: number
  name: string | null
  volumeUl: number | null
  qubitNgUl: number | null
  nanodropNgUl: number | null
  a260_280: number | null
  a260_230: number | null
  control: string | null
}
/** The form as the reader returns it (rpc/ExtractionsApi.ts `result`); edited in place of a copy. */
type Form = Record<string, unknown> & { samples: Array<SampleRow>; pis: Array<{ name: string | null; email: string | null }> }
interface Evidence { readonly page: number; readonly text: string }
interface Finding { readonly path: string; readonly severity: string; readonly message: string; readonly passageId: string }
interface Details {
  readonly findings?: ReadonlyArray<Finding>
  readonly passages?: Readonly<Record<string, { readonly title: string; readonly text: string }>>
  readonly plan?: { readonly dataGb: number | null; readonly flowCellsNeeded: number | null; readonly suggestedDevice: string | null }
  readonly llm?: { readonly status: string; readonly detail: string }
}

type Kind =
  | { readonly t: "text" }
  | { readonly t: "number" }
  | { readonly t: "bool" }
  | { readonly t: "choice"; readonly choices: ReadonlyArray<string> }
  | { readonly t: "multi"; readonly choices: ReadonlyArray<string> }
  | { readonly t: "list" }

const text: Kind = { t: "text" }
const num: Kind = { t: "number" }

/** The header fields of the form, in the form's order. */
const FIELDS: ReadonlyArray<{ readonly path: string; readonly label: string; readonly kind: Kind }> = [
  { path: "quoteId", label: "Quote id", kind: text },
  { path: "quoteDate", label: "Quote date", kind: text },
  { path: "expiresOn", label: "Expires on", kind: text },
  { path: "requester.name", label: "Requester", kind: text },
  { path: "requester.email", label: "Requester e-mail", kind: text },
  { path: "requester.phone", label: "Requester phone", kind: text },
  { path: "lab", label: "Lab", kind: text },
  { path: "billingAccount", label: "Billing account", kind: text },
  { path: "kit", label: "Kit", kind: { t: "choice", choices: KIT_CODES } },
  { path: "sampleType", label: "Sample type", kind: { t: "choice", choices: FORM_SAMPLE_TYPES } },
  { path: "humanDna", label: "Human DNA", kind: { t: "bool" } },
  { path: "organism", label: "Source organism", kind: text },
  { path: "buffer", label: "Buffer", kind: { t: "choice", choices: FORM_BUFFERS } },
  { path: "device", label: "Flow cell (device)", kind: { t: "choice", choices: FORM_DEVICES } },
  { path: "genomeSizeMb", label: "Genome size (Mb)", kind: num },
  { path: "coverage", label: "Coverage (×)", kind: num },
  { path: "flowCellCount", label: "Number of flow cells", kind: num },
  { path: "basecalling", label: "Basecalling", kind: { t: "multi", choices: FORM_BASECALLING } },
  { path: "fileFormat", label: "File format", kind: { t: "choice", choices: FORM_FILE_FORMATS } },
  { path: "notificationEmails", label: "Notification e-mails", kind: { t: "list" } },
  { path: "retrieval", label: "Data retrieval", kind: { t: "multi", choices: FORM_RETRIEVAL } }
]

/** The sample table's columns; `short` heads the column, `label` names each cell to assistive technology. */
const COLUMNS: ReadonlyArray<{ readonly key: keyof SampleRow; readonly label: string; readonly short: string; readonly kind: Kind }> = [
  { key: "name", label: "Sample name", short: "Sample name", kind: text },
  { key: "volumeUl", label: "Volume (µL)", short: "µL", kind: num },
  { key: "qubitNgUl", label: "Qubit (ng/µL)", short: "Qubit", kind: num },
  { key: "nanodropNgUl", label: "Nanodrop (ng/µL)", short: "Nanodrop", kind: num },
  { key: "a260_280", label: "A260/280", short: "260/280", kind: num },
  { key: "a260_230", label: "A260/230", short: "260/230", kind: num },
  { key: "control", label: "Control", short: "Control", kind: { t: "choice", choices: FORM_CONTROLS } }
]

/** The batch create's words for a sample's fields, back to the form's (a refused row names its fields so). */
const SERVER_FIELD: Readonly<Record<string, string>> = {
  sampleName: "name", volumeUl: "volumeUl", concentrationNgUl: "qubitNgUl", nanodropNgUl: "nanodropNgUl", a260_280: "a260_280", a260_230: "a260_230",
  control: "control", sampleType: "sampleType", organism: "organism", buffer: "buffer", libraryKit: "kit", genomeSizeMb: "genomeSizeMb",
  targetCoverage: "coverage", humanDna: "humanDna", submitterEmail: "requester.email", number: "quoteId", lab: "lab"
}

const segments = (path: string) => path.replace(/\[(\d+)\]/g, ".$1").split(".")

const getPath = (o: unknown, path: string): unknown =>
  segments(path).reduce<unknown>((at, key) => (typeof at === "object" && at !== null ? (at as Record<string, unknown>)[key] : undefined), o)

/** A copy of `o` with `path` set to `value` (copies along the path only). */
const setPath = <A,>(o: A, path: string, value: unknown): A => {
  const go = (at: unknown, keys: ReadonlyArray<string>): unknown => {
    const [key, ...rest] = keys
    if (key === undefined) return value
    const copy: Record<string, unknown> | Array<unknown> = Array.isArray(at) ? [...(at as Array<unknown>)] : { ...(at as Record<string, unknown>) }
    ;(copy as Record<string, unknown>)[key] = go((at as Record<string, unknown> | undefined)?.[key], rest)
    return copy
  }
  return go(o, segments(path)) as A
}

const parseNumber = (s: string): number | null | undefined => {
  const t = s.trim().replace(",", ".")
  if (t === "") return null
  const n = Number(t)
  return Number.isFinite(n) ? n : undefined
}

const validName = Schema.decodeUnknownEither(SampleName)

/**
 * A name a sample may hold, made from one it may not: comparison signs as words (">10 kb" → "over 10 kb"), any other
 * character outside letters, digits, space, "_", "." and "-" as "-", spaces collapsed, at most 120 characters.
 */
export const safeSampleName = (name: string): string =>
  name.replace(/\s*>=?\s*/g, " over ").replace(/\s*<=?\s*/g, " under ").replace(/[^A-Za-z0-9_.\- ]/g, "-")
    .replace(/\s+/g, " ").trim().slice(0, 120).trim() || "sample"
const isUuid = Schema.is(Schema.UUID)

export default function ExtractionReviewPage({ id }: { readonly id: string }) {
  if (!isUuid(id)) {
    return (
      <div>
        <h1>Review a PDF form</h1>
        <ErrorBox problem={{ title: "This address names no extraction (the id is not valid).", fields: [] }} />
        <p><Link to="/extractions/new">Upload a form</Link></p>
      </div>
    )
  }
  return <Job id={id} />
}

const Job = ({ id }: { readonly id: string }) => {
  const atom = Rpc.query("Extractions.Get", { id }, { reactivityKeys: ["extractions", `extraction:${id}`] })
  const result = useAtomValue(atom)
  const refresh = useAtomRefresh(atom)
  const { query } = useLocation()
  const status = result._tag === "Success" ? result.value.status : undefined
  // While the job runs, ask again twice a second; stops by itself when it is done.
  useEffect(() => {
    if (status !== "queued" && status !== "running") return
    const timer = setTimeout(refresh, 500)
    return () => clearTimeout(timer)
  }, [status, result, refresh])
  return (
    <Show result={result} rows={8}>
      {(view) => (
        <div>
          <p className="crumbs"><Link to="/extractions/new">PDF forms</Link> / {view.fileName}</p>
          <h1>Review {view.fileName}</h1>
          {query.get("duplicate") === "1" && (
            <p className="alert warn" role="status">This file was uploaded before ({formatTime(view.createdAt)}): this is its extraction, not a new one.</p>
          )}
          {view.status === "completed"
            ? <Review view={view} />
            : (
              <section className="panel" aria-live="polite">
                <p role="status">
                  <Badge kind={view.status}>{STATUS_WORDS[view.status]}</Badge>{" "}
                  {view.status === "failed" ? view.error : "The form is being read; this page updates by itself."}
                </p>
                {view.status === "failed" && <p><Link to="/extractions/new">Upload another file</Link></p>}
              </section>
            )}
        </div>
      )}
    </Show>
  )
}

const Review = ({ view }: { readonly view: View }) => {
  const [form, setForm] = useState<Form>(() => structuredClone(view.result) as Form)
  const [edited, setEdited] = useState<ReadonlySet<string>>(new Set())
  const [accepted, setAccepted] = useState<ReadonlySet<string>>(new Set())
  const [texts, setTexts] = useState<Readonly<Record<string, string>>>({})
  const [page, setPage] = useState(1)
  const [problem, setProblem] = useState<Problem | undefined>(undefined)
  const [serverErrors, setServerErrors] = useState<Readonly<Record<string, string>>>({})
  const [created, setCreated] = useState<typeof CreatedSubmission.Type | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const confirm = useAtomSet(confirmAtom, { mode: "promiseExit" })
  // A submitter's submissions are their own, whatever e-mail the form names as requester.
  const session = useAtomValue(sessionAtom)
  const principal = Result.isSuccess(session) ? session.value.principal : undefined
  const ownEmail = principal?._tag === "User" && principal.role === "submitter" ? principal.email : undefined

  const confidence = view.confidence ?? {}
  const evidence = (view.evidence ?? {}) as Readonly<Record<string, Evidence>>
  const details = (view.details ?? {}) as Details
  const done = view.submissionId !== null || created !== undefined

  // Every path with a confidence, in the page's order: header fields, PIs, then sample cells.
  const paths = useMemo(() => {
    const out = FIELDS.map((f) => f.path)
    form.pis.forEach((_, i) => out.push(`pis[${i}].name`, `pis[${i}].email`))
    form.samples.forEach((_, i) => COLUMNS.forEach((c) => out.push(`samples[${i}].${c.key}`)))
    return out
  }, [form.pis, form.samples])
  const low = (path: string) => confidence[path] !== undefined && confidence[path] < SURE
  const pending = paths.filter((p) => low(p) && !accepted.has(p) && !edited.has(p))
  const sure = paths.filter((p) => confidence[p] !== undefined && !low(p) && !accepted.has(p) && !edited.has(p))
  const badNumbers = Object.entries(texts).filter(([, t]) => parseNumber(t) === undefined).map(([p]) => p)
  const badNames = form.samples.flatMap((s, i) => (s.name !== null && Either.isLeft(validName(s.name)) ? [i] : []))

  const change = (path: string, value: unknown) => {
    setForm((f) => setPath(f, path, value))
    setEdited((e) => new Set([...e, path]))
    setServerErrors(({ [path]: _gone, ...rest }) => rest)
  }
  const changeNumber = (path: string, t: string) => {
    setTexts((x) => ({ ...x, [path]: t }))
    const n = parseNumber(t)
    if (n !== undefined) change(path, n)
    else setEdited((e) => new Set([...e, path]))
  }
  const accept = (path: string) => setAccepted((a) => new Set([...a, path]))

  const submit = async () => {
    setBusy(true)
    setProblem(undefined)
    const exit = await confirm({
      payload: { id: view.id, result: form, editedFields: [...edited].slice(0, 2000), ...(ownEmail !== undefined ? { submitterEmail: ownEmail } : {}) },
      reactivityKeys: ["extractions", "submissions", "samples"]
    })
    setBusy(false)
    if (Exit.isSuccess(exit)) {
      setCreated(exit.value)
      return
    }
    const failure = Cause.failureOption(exit.cause)
    const errors: Record<string, string> = {}
    if (Option.isSome(failure) && failure.value._tag === "SubmissionRejected") {
      for (const { issues, row } of failure.value.rows) {
        for (const issue of issues) {
          const field = SERVER_FIELD[issue.path.split(".")[0] ?? ""]
          if (field === undefined) continue
          const path = row > 0 && COLUMNS.some((c) => c.key === field) ? `samples[${row - 1}].${field}` : field
          errors[path] ??= issue.message
        }
      }
      setProblem({
        title: `Nothing was created: ${issueCount(failure.value.rows)} to correct, marked on ${failure.value.rows.some((r) => r.row === 0) ? "the fields and rows" : "the rows"} below.`,
        fields: failure.value.rows.flatMap((r) => r.issues.map((i) => ({ path: r.row === 0 ? i.path : `row ${r.row}: ${i.path}`, message: i.message })))
      })
    } else if (Option.isSome(failure) && failure.value._tag === "ExtractionNotConfirmable") {
      setProblem({ title: `Cannot create the submission: ${failure.value.reason}.`, fields: [] })
    } else {
      setProblem(describe(exit.cause))
    }
    setServerErrors(errors)
  }

  const findings = details.findings ?? []
  const warned = new Map(findings.filter((f) => f.severity === "warning").map((f) => [f.path, f.message] as const))

  /** One field's control, its confidence, evidence and accept button. */
  const control = (path: string, label: string, kind: Kind, compact = false): ReactNode => {
    const value = getPath(form, path)
    const ev = evidence[path]
    const unsure = low(path) && !accepted.has(path) && !edited.has(path)
    const error = serverErrors[path] ?? (texts[path] !== undefined && parseNumber(texts[path]) === undefined ? "not a number" : undefined)
      ?? (path.endsWith(".name") && path.startsWith("samples[") && badNames.includes(Number(/\d+/.exec(path)?.[0])) ? "may contain only letters, digits, space, '_', '.' and '-'" : undefined)
    const common = { "aria-label": label, "aria-invalid": error !== undefined, disabled: done, ...(compact ? { style: { width: "100%", padding: ".3rem .25rem" } } : {}) }
    // An input's intrinsic width (20 characters) would widen the table's columns; a select's `size` means rows.
    const inputSize = compact ? { size: kind.t === "number" ? 3 : 10 } : {}
    const input = (() => {
      switch (kind.t) {
        case "text":
          return <input {...common} {...inputSize} type="text" value={value === null || value === undefined ? "" : String(value as Scalar)} onChange={(e) => change(path, e.target.value === "" ? null : e.target.value)} />
        case "number":
          return <input {...common} {...inputSize} type="text" inputMode="decimal" value={texts[path] ?? (value === null || value === undefined ? "" : String(value as Scalar))} onChange={(e) => changeNumber(path, e.target.value)} />
        case "bool":
          return (
            <select {...common} value={value === true ? "yes" : value === false ? "no" : ""} onChange={(e) => change(path, e.target.value === "" ? null : e.target.value === "yes")}>
              <option value="">— blank —</option><option value="yes">yes</option><option value="no">no</option>
            </select>
          )
        case "choice":
          return (
            <select {...common} value={typeof value === "string" ? value : ""} onChange={(e) => change(path, e.target.value === "" ? null : e.target.value)}>
              <option value="">— blank —</option>
              {kind.choices.map((c) => <option key={c} value={c}>{c}</option>)}
            </select>
          )
        case "multi": {
          const chosen = Array.isArray(value) ? (value as Array<string>) : []
          return (
            <span role="group" aria-label={label} style={{ display: "flex", gap: ".6rem", flexWrap: "wrap" }}>
              {kind.choices.map((c) => (
                <label key={c} className="check" style={{ fontWeight: 400 }}>
                  <input type="checkbox" disabled={done} checked={chosen.includes(c)}
                    onChange={(e) => change(path, e.target.checked ? kind.choices.filter((x) => x === c || chosen.includes(x)) : chosen.filter((x) => x !== c))} /> {c}
                </label>
              ))}
            </span>
          )
        }
        case "list": {
          const list = Array.isArray(value) ? (value as Array<string>) : []
          return <input {...common} type="text" value={texts[path] ?? list.join(", ")} onChange={(e) => {
            setTexts(({ [path]: _old, ...x }) => x)
            change(path, e.target.value.split(/[\s,;]+/).filter((s) => s !== ""))
          }} />
        }
      }
    })()
    const c = confidence[path]
    return (
      <div
        data-path={path}
        data-unsure={unsure ? "true" : undefined}
        style={unsure ? { background: "var(--warn-bg)", boxShadow: "inset 3px 0 var(--warn)", padding: ".25rem .4rem", borderRadius: 4 } : { padding: ".25rem .4rem" }}
      >
        {!compact && <div style={{ fontWeight: 600, fontSize: ".85rem" }}>{label}</div>}
        {input}
        <div className="hint" style={{ display: "flex", gap: ".4rem", alignItems: "center", flexWrap: "wrap", fontSize: ".78rem" }}>
          {c !== undefined && (unsure || !compact) && <span title="How sure the reader is">{Math.round(c * 100)} %</span>}
          {edited.has(path) ? <span>edited</span> : accepted.has(path) ? <span>accepted</span> : null}
          {unsure && !done && <button type="button" className="secondary" style={{ padding: "0 .4rem" }} aria-label={`Accept ${label}`} onClick={() => accept(path)}>Accept</button>}
          {ev !== undefined && (unsure || !compact) && (
            <button type="button" className="link" title={ev.text} onClick={() => setPage(ev.page)}>
              p. {ev.page}{unsure ? `: “${ev.text.slice(0, 60)}”` : ""}
            </button>
          )}
        </div>
        {error !== undefined && <div className="field-error">{error}</div>}
        {warned.has(path) && !edited.has(path) && <div className="hint" style={{ color: "var(--warn)" }} title={warned.get(path)}>{compact ? "⚠ warning" : "⚠ see the warning below"}</div>}
      </div>
    )
  }

  const readerWarnings = view.warnings.filter((w) => !/\[kb:[^\]]+\]$/.test(w))
  const blocked = pending.length + badNumbers.length + badNames.length
  const submissionId = created?.submission.id ?? view.submissionId

  return (
    <div style={{ display: "grid", gridTemplateColumns: "minmax(0, 0.8fr) minmax(0, 1.5fr)", gap: "1rem", alignItems: "start" }}>
      <section className="panel" aria-labelledby="pdf-title" style={{ position: "sticky", top: "1rem", minWidth: 0 }}>
        <h2 id="pdf-title">The PDF, page {page}</h2>
        <object key={page} data={`/api/v1/extractions/${view.id}/pdf#page=${page}`} type="application/pdf" aria-label={`The uploaded form, page ${page}`} style={{ width: "100%", height: "78vh", border: "1px solid var(--line)" }}>
          <p>This browser shows no PDF here. <a href={`/api/v1/extractions/${view.id}/pdf`} target="_blank" rel="noreferrer">Open the PDF</a> (page {page}).</p>
        </object>
      </section>

      <div style={{ minWidth: 0 }}>
        {submissionId !== null && (
          <div className="alert ok" role="status">
            Submission created{created !== undefined ? ` with ${created.samples.length} sample${created.samples.length === 1 ? "" : "s"}` : ""}:{" "}
            <Link to={`/submissions/${submissionId}`}>{created?.submission.number ?? "open the submission"}</Link>
          </div>
        )}
        <section className="panel" aria-labelledby="review-title">
          <div className="sheet-toolbar">
            <h2 id="review-title">Extracted form</h2>
            <span className="hint" role="status">
              {pending.length > 0 ? `${pending.length} unsure field${pending.length === 1 ? "" : "s"} to check (highlighted)` : "No unsure field left"} · {edited.size} edited
            </span>
            {!done && <button type="button" className="secondary" disabled={sure.length === 0} onClick={() => setAccepted((a) => new Set([...a, ...sure]))}>Accept all high-confidence ({sure.length})</button>}
          </div>
          <div className="form-grid">{FIELDS.map((f) => <div key={f.path}>{control(f.path, f.label, f.kind)}</div>)}</div>
          <h3>Principal investigators</h3>
          {form.pis.length === 0 && <p className="hint">None on the form.</p>}
          <div className="form-grid">
            {form.pis.map((_, i) => [
              <div key={`n${i}`}>{control(`pis[${i}].name`, `PI ${i + 1} name`, text)}</div>,
              <div key={`e${i}`}>{control(`pis[${i}].email`, `PI ${i + 1} e-mail`, text)}</div>
            ])}
          </div>
        </section>

        <section className="panel" aria-labelledby="samples-title">
          <div className="sheet-toolbar">
            <h2 id="samples-title">Samples <span className="hint">({form.samples.length} rows)</span></h2>
            {!done && badNames.length > 0 && (
              <button type="button" className="secondary" onClick={() => {
                for (const i of badNames) change(`samples[${i}].name`, safeSampleName(form.samples[i]?.name ?? ""))
              }}>Make {badNames.length} name{badNames.length === 1 ? "" : "s"} valid</button>
            )}
            {!done && (
              <button type="button" className="secondary" onClick={() => {
                const next = Math.max(0, ...form.samples.map((s) => s.row)) + 1
                setForm((f) => ({ ...f, samples: [...f.samples, { row: next, name: null, volumeUl: null, qubitNgUl: null, nanodropNgUl: null, a260_280: null, a260_230: null, control: null }] }))
                setEdited((e) => new Set([...e, `samples[${form.samples.length}]`]))
              }}>Add a row</button>
            )}
          </div>
          <div className="table-scroll" style={{ overflowX: "auto", position: "relative" }} tabIndex={0} role="region" aria-labelledby="samples-title">
            <table style={{ tableLayout: "fixed", minWidth: "34rem" }}>
              <caption className="visually-hidden">Sample rows read from the form</caption>
              <thead>
                <tr><th scope="col" style={{ width: "2.4rem" }}>Row</th>{COLUMNS.map((c) => <th key={c.key} scope="col" style={{ width: c.key === "name" ? "auto" : c.key === "control" ? "5.4rem" : "4.5rem", textTransform: "none" }} title={c.label}>{c.short}</th>)}<th scope="col" style={{ width: "2.4rem" }}><span className="visually-hidden">Remove</span></th></tr>
              </thead>
              <tbody>
                {form.samples.map((s, i) => (
                  <tr key={`${s.row}-${i}`}>
                    <th scope="row">{s.row}</th>
                    {COLUMNS.map((c) => <td key={c.key} style={{ padding: ".15rem" }}>{control(`samples[${i}].${c.key}`, `Row ${s.row} ${c.label}`, c.kind, true)}</td>)}
                    <td>
                      {!done && (
                        <button type="button" className="secondary" aria-label={`Remove row ${s.row}`} onClick={() => {
                          setForm((f) => ({ ...f, samples: f.samples.filter((_, j) => j !== i) }))
                          setEdited((e) => new Set([...e, "samples"]))
                          // Cell states are keyed by index: those after the removed row no longer apply.
                          setTexts({})
                          setAccepted((a) => new Set([...a].filter((p) => !p.startsWith("samples["))))
                        }}>×</button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>

        <Advice findings={findings} details={details} readerWarnings={readerWarnings} onPage={setPage} evidence={evidence} />

        {problem !== undefined && <ErrorBox problem={problem} />}
        {!done && (
          <div className="actions submit-bar">
            <button type="button" disabled={busy || blocked > 0} aria-describedby="confirm-state" onClick={() => void submit()}>{busy ? "Creating…" : "Create submission"}</button>
            <span id="confirm-state" className="hint" role="status">
              {busy
                ? "Saving…"
                : blocked > 0
                ? `Check ${[
                  pending.length > 0 ? `${pending.length} unsure field${pending.length === 1 ? "" : "s"} (accept or edit)` : "",
                  badNumbers.length > 0 ? `${badNumbers.length} value${badNumbers.length === 1 ? "" : "s"} that are not numbers` : "",
                  badNames.length > 0 ? `${badNames.length} sample name${badNames.length === 1 ? "" : "s"} with characters a name may not hold` : ""
                ].filter((s) => s !== "").join(", ")} first.`
                : `Ready: the submission and its ${form.samples.length} sample${form.samples.length === 1 ? "" : "s"} are created together, or nothing is.`}
            </span>
          </div>
        )}
      </div>
    </div>
  )
}

const confirmAtom = Rpc.mutation("Extractions.Confirm")

/** "1 problem", "3 problems": the issues of a refused batch. */
const issueCount = (rows: ReadonlyArray<{ readonly issues: ReadonlyArray<unknown> }>) => {
  const n = rows.reduce((sum, r) => sum + r.issues.length, 0)
  return `${n} problem${n === 1 ? "" : "s"}`
}

/** Warnings citing their knowledge-base passage, and the recommendations (flow cells, device). */
const Advice = ({ findings, details, readerWarnings, onPage, evidence }: {
  readonly findings: ReadonlyArray<Finding>
  readonly details: Details
  readonly readerWarnings: ReadonlyArray<string>
  readonly onPage: (page: number) => void
  readonly evidence: Readonly<Record<string, Evidence>>
}) => {
  const plan = details.plan
  const warnings = findings.filter((f) => f.severity === "warning")
  const advice = findings.filter((f) => f.severity !== "warning")
  const item = (f: Finding, i: number) => {
    const passage = details.passages?.[f.passageId]
    const ev = evidence[f.path]
    return (
      <li key={i} style={{ marginBottom: ".5rem" }}>
        <code>{f.path}</code>: {f.message}
        {ev !== undefined && <> <button type="button" className="link" onClick={() => onPage(ev.page)}>p. {ev.page}</button></>}
        {passage !== undefined
          ? (
            <details>
              <summary className="hint">Source: {passage.title}</summary>
              <blockquote className="hint" style={{ margin: ".3rem 0 0 .8rem" }}>{passage.text}</blockquote>
            </details>
          )
          : <div className="hint">Source: {f.passageId}</div>}
      </li>
    )
  }
  return (
    <section className="panel" aria-labelledby="advice-title">
      <h2 id="advice-title">Warnings and recommendations</h2>
      {warnings.length === 0 && readerWarnings.length === 0 && <p className="hint">No warnings.</p>}
      {warnings.length > 0 && <ul aria-label="Warnings">{warnings.map(item)}</ul>}
      {readerWarnings.length > 0 && (
        <ul aria-label="What the reader could not read">{readerWarnings.map((w, i) => <li key={i} className="hint">{w}</li>)}</ul>
      )}
      {plan !== undefined && plan.dataGb !== null && (
        <p>
          Plan: about <strong>{plan.dataGb} Gb</strong> of data, <strong>{plan.flowCellsNeeded}</strong> flow cell{plan.flowCellsNeeded === 1 ? "" : "s"}
          {plan.suggestedDevice !== null && <> on a <strong>{plan.suggestedDevice}</strong></>}.
        </p>
      )}
      {advice.length > 0 && <ul aria-label="Recommendations">{advice.map(item)}</ul>}
      {details.llm !== undefined && <p className="hint">Language model stage: {details.llm.status} ({details.llm.detail}).</p>}
    </section>
  )
}
