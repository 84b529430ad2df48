/**
 * A new submission: who and what service (the `SubmissionHeader` of the contract), and a grid of samples that accepts
 * typing, a paste from a spreadsheet, or a CSV file. Every row is checked as it changes with the contract's schema and
 * every problem is listed (row, column, message) and marked on its cell; Create is possible only when nothing is wrong,
 * and the server, which checks again, saves all rows or none.
 */
import { useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Cause, Either, Exit, Option, Schema } from "effect"
import { useMemo, useRef, useState, type ChangeEvent, type FormEvent } from "react"
import { SubmissionHeader, type SubmissionRow } from "../../../rpc/Api.ts"
import { issuesOf } from "../../../rpc/Decode.ts"
import type { FieldIssue } from "../../../rpc/Errors.ts"
import { FlowCellType, KIT_CODES, PRIORITIES } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { cellErrorId, Sheet, type SheetHandle } from "../components/Sheet.tsx"
import { checkRows, COLUMNS, columnOf, friendly, literalsOf, newRow, type CellErrors, type RowKey, type SheetRow } from "../components/SheetColumns.ts"
import { ErrorBox, Field } from "../components/ui.tsx"
import { MAX_ROWS, readCsv, type CsvRead } from "../csv.ts"
import { describe, type Problem } from "../errors.ts"
import { navigate } from "../router.tsx"
import { Result, sessionAtom } from "../session.ts"

const createAtom = Rpc.mutation("Submissions.Create")

/** The header's form fields, named by their path in `SubmissionHeader`. */
const HEADER_FIELDS = [
  "submitterEmail", "submitterName", "number", "lab", "pi", "billing.chartField", "billing.account", "priority", "flowCellType",
  "service.kit", "service.device", "service.basecalling", "service.outputFormat", "service.deliveryMethod", "service.notificationEmails"
] as const
type HeaderField = typeof HEADER_FIELDS[number]
type HeaderText = Record<HeaderField, string>

const HEADER_LABELS: Record<HeaderField, string> = {
  submitterEmail: "Submitter e-mail",
  submitterName: "Submitter name",
  number: "Submission number",
  lab: "Lab",
  pi: "Principal investigator (PI)",
  "billing.chartField": "Billing chart field",
  "billing.account": "Billing account",
  priority: "Priority",
  flowCellType: "Flow cell type",
  "service.kit": "Kit",
  "service.device": "Device",
  "service.basecalling": "Basecalling",
  "service.outputFormat": "Output format",
  "service.deliveryMethod": "Data delivery",
  "service.notificationEmails": "Also notify (e-mails)"
}

const decodeHeader = Schema.decodeUnknownEither(SubmissionHeader, { errors: "all", onExcessProperty: "error" })

/** The header's text as the contract's object (empty fields left out), decoded; its issues by form field. */
const checkHeader = (h: HeaderText) => {
  const pick = (fields: ReadonlyArray<HeaderField>, prefix: string) => {
    const o: Record<string, unknown> = {}
    for (const f of fields) {
      const v = h[f].trim()
      if (v === "") continue
      o[f.slice(prefix.length)] = f === "service.notificationEmails" ? v.split(/[\s,;]+/).filter((s) => s !== "") : v
    }
    return Object.keys(o).length > 0 ? o : undefined
  }
  const raw: Record<string, unknown> = { ...pick(["submitterEmail", "submitterName", "number", "lab", "pi", "priority", "flowCellType"], "") }
  const billing = pick(["billing.chartField", "billing.account"], "billing.")
  if (billing) raw.billing = billing
  const service = pick(["service.kit", "service.device", "service.basecalling", "service.outputFormat", "service.deliveryMethod", "service.notificationEmails"], "service.")
  if (service) raw.service = service
  const errors: Partial<Record<HeaderField, string>> = {}
  if (h.submitterEmail.trim() === "") errors.submitterEmail = "is required: whose samples these are"
  const decoded = decodeHeader(raw)
  if (Either.isLeft(decoded)) addHeaderIssues(errors, issuesOf(decoded.left))
  return { value: Either.isRight(decoded) && Object.keys(errors).length === 0 ? decoded.right : undefined, errors }
}

const addHeaderIssues = (errors: Partial<Record<HeaderField, string>>, issues: ReadonlyArray<FieldIssue>) => {
  for (const issue of issues) {
    const field = HEADER_FIELDS.find((f) => issue.path === f || issue.path.startsWith(`${f}.`))
    if (field === undefined || errors[field] !== undefined) continue
    errors[field] = friendly(issue.message)
  }
}

/** A message the server gave for one cell, shown while the cell still holds the text it judged. */
interface ServerCellError {
  readonly rowId: number
  readonly key: RowKey
  readonly text: string
  readonly message: string
}

const isRowKey = (s: string): s is RowKey => COLUMNS.some((c) => c.key === s)

const blankRows = (n: number) => Array.from({ length: n }, () => newRow())

export default function NewSubmissionPage() {
  const session = useAtomValue(sessionAtom)
  const principal = Result.isSuccess(session) ? session.value.principal : undefined
  const submitterOnly = principal?._tag === "User" && principal.role === "submitter" ? principal.email : undefined
  const [header, setHeader] = useState<HeaderText>(() => ({
    ...Object.fromEntries(HEADER_FIELDS.map((f) => [f, ""])) as HeaderText,
    submitterEmail: submitterOnly ?? "",
    submitterName: principal?._tag === "User" && submitterOnly !== undefined ? principal.name : "",
    priority: "normal",
    flowCellType: "R10.4.1"
  }))
  const [touched, setTouched] = useState<ReadonlySet<HeaderField>>(new Set())
  const [rows, setRows] = useState<Array<SheetRow>>(() => blankRows(5))
  const [csv, setCsv] = useState<{ readonly fileName: string; readonly read: CsvRead } | undefined>(undefined)
  const [serverCells, setServerCells] = useState<ReadonlyArray<ServerCellError>>([])
  const [serverHeader, setServerHeader] = useState<{ readonly text: HeaderText; readonly errors: Partial<Record<HeaderField, string>> } | undefined>(undefined)
  const [problem, setProblem] = useState<Problem | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const create = useAtomSet(createAtom, { mode: "promiseExit" })
  // One idempotency key per content: a retried Create of the same rows sends the same key; any edit makes a new one.
  const keyRef = useRef<{ readonly rows: ReadonlyArray<SheetRow>; readonly header: HeaderText; readonly key: string } | undefined>(undefined)

  const headerCheck = useMemo(() => checkHeader(header), [header])
  const rowChecks = useMemo(() => checkRows(rows), [rows])

  // What is wrong in each row: the browser's check, and the server's verdict on cells not edited since.
  const cellErrors: Array<CellErrors | undefined> = useMemo(() => {
    const out = rowChecks.map((c) => (c === undefined ? undefined : { ...c.errors }))
    for (const e of serverCells) {
      const r = rows.findIndex((row) => row.id === e.rowId)
      if (r < 0 || (rows[r]!.cells[e.key] ?? "") !== e.text) continue
      const errors = out[r] ?? {}
      if (errors[e.key] === undefined) errors[e.key] = e.message
      out[r] = errors
    }
    return out
  }, [rowChecks, serverCells, rows])
  const headerErrors = useMemo(() => {
    const errors: Partial<Record<HeaderField, string>> = { ...headerCheck.errors }
    if (serverHeader !== undefined) {
      for (const f of HEADER_FIELDS) if (serverHeader.errors[f] !== undefined && serverHeader.text[f] === header[f]) errors[f] ??= serverHeader.errors[f]
    }
    return errors
  }, [headerCheck, serverHeader, header])

  const list = useMemo(() => {
    const items: Array<{ r: number; rowId: number; key: RowKey; message: string }> = []
    cellErrors.forEach((errors, r) => {
      if (errors === undefined) return
      for (const c of COLUMNS) {
        const message = errors[c.key]
        if (message !== undefined) items.push({ r, rowId: rows[r]!.id, key: c.key, message })
      }
    })
    return items
  }, [cellErrors, rows])
  const headerList = HEADER_FIELDS.flatMap((f) => (headerErrors[f] !== undefined ? [{ field: f, message: headerErrors[f] }] : []))
  const filled = rowChecks.filter((c) => c !== undefined).length
  const badRows = new Set(list.map((i) => i.r)).size
  const fileProblems = csv?.read.problems ?? []
  const problemCount = list.length + headerList.length + fileProblems.length
  const ready = filled > 0 && filled <= MAX_ROWS && problemCount === 0 && !busy

  const setField = (f: HeaderField, value: string) => setHeader((h) => ({ ...h, [f]: value }))
  const touch = (f: HeaderField) => setTouched((t) => (t.has(f) ? t : new Set([...t, f])))

  const sheet = useRef<SheetHandle>(null)
  const focusCell = (r: number, key: RowKey) => sheet.current?.focusCell(r, key)

  const onCsv = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0]
    e.target.value = ""
    if (file === undefined) return
    const read = readCsv(await file.text())
    setCsv({ fileName: file.name, read })
    setServerCells([])
    setProblem(undefined)
    setRows(read.rows.length > 0 ? read.rows.map((cells) => newRow(cells)) : blankRows(5))
  }

  const startOver = () => {
    setCsv(undefined)
    setServerCells([])
    setProblem(undefined)
    setRows(blankRows(5))
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setTouched(new Set(HEADER_FIELDS))
    // Nothing is sent while any problem remains.
    if (!ready || headerCheck.value === undefined) return
    const samples: Array<SubmissionRow> = []
    const sent: Array<number> = [] // grid index of each submitted row
    rowChecks.forEach((c, i) => {
      if (c?.value !== undefined) {
        samples.push(c.value)
        sent.push(i)
      }
    })
    if (samples.length !== filled) return
    if (keyRef.current === undefined || keyRef.current.rows !== rows || keyRef.current.header !== header) {
      keyRef.current = { rows, header, key: `submission-${crypto.randomUUID()}` }
    }
    setBusy(true)
    setProblem(undefined)
    const exit = await create({
      payload: { ...headerCheck.value, source: csv !== undefined ? "csv" : "web", samples, idempotencyKey: keyRef.current.key },
      reactivityKeys: ["submissions", "samples"]
    })
    setBusy(false)
    if (Exit.isSuccess(exit)) {
      navigate(`/submissions/${exit.value.submission.id}`)
      return
    }
    const failure = Cause.failureOption(exit.cause)
    const cells: Array<ServerCellError> = []
    const headerIssues: Array<FieldIssue> = []
    const onRow = (row: number, issue: FieldIssue) => {
      const r = sent[row - 1]
      const key = issue.path.split(".")[0] ?? ""
      if (r === undefined || !isRowKey(key)) return
      const gridRow = rows[r]!
      cells.push({ rowId: gridRow.id, key, text: gridRow.cells[key] ?? "", message: friendly(issue.message) })
    }
    if (Option.isSome(failure) && failure.value._tag === "SubmissionRejected") {
      for (const { row, issues } of failure.value.rows) {
        for (const issue of issues) {
          if (row === 0) headerIssues.push(issue)
          else onRow(row, issue)
        }
      }
    } else if (Option.isSome(failure) && failure.value._tag === "InvalidInput") {
      for (const issue of failure.value.issues) {
        const m = /^samples\.(\d+)\.(.*)$/.exec(issue.path)
        if (m !== null) onRow(Number(m[1]) + 1, { path: m[2]!, message: issue.message })
        else headerIssues.push(issue)
      }
    }
    setServerCells(cells)
    const errors: Partial<Record<HeaderField, string>> = {}
    addHeaderIssues(errors, headerIssues)
    setServerHeader({ text: header, errors })
    setProblem(Option.isSome(failure) && failure.value._tag === "SubmissionRejected"
      ? { title: `Nothing was saved: ${failure.value.message}. The problems are marked on their fields and cells.`, fields: [] }
      : describe(exit.cause))
  }

  const headerError = (f: HeaderField) =>
    header[f].trim() === "" && !touched.has(f) && serverHeader?.errors[f] === undefined ? undefined : headerErrors[f]

  const text = (f: HeaderField, props: { readonly type?: string; readonly hint?: string; readonly list?: string; readonly readOnly?: boolean; readonly autoComplete?: string } = {}) => (
    <Field label={HEADER_LABELS[f]} error={headerError(f)} hint={props.hint}>
      {(p) => (
        <input {...p} type={props.type ?? "text"} value={header[f]} readOnly={props.readOnly} list={props.list} autoComplete={props.autoComplete ?? "off"}
          onChange={(e) => setField(f, e.target.value)} onBlur={() => touch(f)} />
      )}
    </Field>
  )
  const choice = (f: HeaderField, choices: ReadonlyArray<string>, hint: string) => (
    <Field label={HEADER_LABELS[f]} error={headerError(f)} hint={hint}>
      {(p) => (
        <select {...p} value={header[f]} onChange={(e) => setField(f, e.target.value)}>
          {choices.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
      )}
    </Field>
  )

  return (
    <form onSubmit={submit} noValidate aria-labelledby="new-submission-title">
      <h1 id="new-submission-title">New submission</h1>
      <fieldset className="panel">
        <legend>Submission</legend>
        <div className="form-grid">
          {text("submitterEmail", {
            type: "email",
            readOnly: submitterOnly !== undefined,
            autoComplete: "email",
            ...(submitterOnly !== undefined ? { hint: "Your samples are submitted under your own e-mail." } : {})
          })}
          {text("submitterName", { autoComplete: "name" })}
          {text("lab")}
          {text("pi")}
          {text("billing.chartField")}
          {text("billing.account")}
          {choice("priority", PRIORITIES, "Rows may set their own.")}
          {choice("flowCellType", literalsOf(FlowCellType), "Rows may set their own.")}
          {text("number", { hint: "Optional: a quote id; one is made up when empty." })}
        </div>
        <details className="service">
          <summary>Service requested (kit, device, basecalling, output, delivery, notifications)</summary>
          <div className="form-grid">
            {text("service.kit", { list: "kit-choices" })}
            {text("service.device", { list: "device-choices" })}
            {text("service.basecalling", { list: "basecalling-choices" })}
            {text("service.outputFormat", { list: "format-choices" })}
            {text("service.deliveryMethod", { list: "delivery-choices" })}
            {text("service.notificationEmails", { hint: "Separate several with commas." })}
          </div>
          <datalist id="kit-choices">{KIT_CODES.map((k) => <option key={k} value={k} />)}</datalist>
          <datalist id="device-choices"><option value="MinION" /><option value="GridION" /><option value="PromethION" /></datalist>
          <datalist id="basecalling-choices"><option value="hac" /><option value="sup" /><option value="hac + methylation" /><option value="sup + methylation" /></datalist>
          <datalist id="format-choices"><option value="FASTQ" /><option value="BAM" /><option value="POD5" /></datalist>
          <datalist id="delivery-choices"><option value="download" /><option value="s3" /><option value="globus" /><option value="drive" /></datalist>
        </details>
      </fieldset>

      <section className="panel" aria-labelledby="samples-title">
        <div className="sheet-toolbar">
          <h2 id="samples-title">Samples <span className="hint">({filled} filled in{filled > MAX_ROWS ? `, at most ${MAX_ROWS}` : ""})</span></h2>
          <button type="button" className="secondary" onClick={() => setRows((old) => (old.length >= MAX_ROWS ? old : [...old, ...blankRows(Math.min(5, MAX_ROWS - old.length))]))}>Add 5 rows</button>
          <label className="button secondary file-button">
            Upload CSV
            <input type="file" className="visually-hidden" accept=".csv,.tsv,.txt,text/csv,text/tab-separated-values" onChange={onCsv} />
          </label>
          {(csv !== undefined || filled > 0) && <button type="button" className="secondary" onClick={startOver}>Clear all rows</button>}
        </div>
        <p className="hint">
          Type, or copy cells from a spreadsheet, click a cell here and paste (Ctrl+V): rows are added as needed, and a first line of
          column names puts each column in its place. Enter and the arrow keys move between cells. Empty rows are left out.
        </p>
        <Sheet rows={rows} setRows={setRows} errors={cellErrors} caption="Samples of this submission, one row each" handle={sheet} />
      </section>

      <ProblemReport
        csv={csv}
        filled={filled}
        badRows={badRows}
        items={list}
        headerItems={headerList}
        onGoTo={focusCell}
      />

      {problem !== undefined && <ErrorBox problem={problem} />}
      <div className="actions submit-bar">
        <button type="submit" disabled={!ready} aria-describedby="create-state">{busy ? "Creating…" : "Create submission"}</button>
        <span id="create-state" className="hint" role="status">
          {busy
            ? "Saving…"
            : filled === 0
            ? "Fill in at least one sample row."
            : problemCount > 0
            ? `Nothing can be saved while ${problemCount} problem${problemCount === 1 ? "" : "s"} remain${problemCount === 1 ? "s" : ""}: see the list above.`
            : `Ready: ${filled} sample${filled === 1 ? "" : "s"} will be created${csv !== undefined ? ` from ${csv.fileName}` : ""}.`}
        </span>
      </div>
    </form>
  )
}

/** Every problem, row by row (row, column, message): each message describes its cell, and a click goes to it. */
const ProblemReport = ({ csv, filled, badRows, items, headerItems, onGoTo }: {
  readonly csv: { readonly fileName: string; readonly read: CsvRead } | undefined
  readonly filled: number
  readonly badRows: number
  readonly items: ReadonlyArray<{ r: number; rowId: number; key: RowKey; message: string }>
  readonly headerItems: ReadonlyArray<{ field: HeaderField; message: string }>
  readonly onGoTo: (r: number, key: RowKey) => void
}) => {
  const fileProblems = csv?.read.problems ?? []
  const total = items.length + headerItems.length + fileProblems.length
  if (csv === undefined && items.length === 0 && fileProblems.length === 0) return null
  return (
    <section className={`panel report${total > 0 ? " has-problems" : ""}`} aria-labelledby="report-title">
      <h2 id="report-title">
        {csv !== undefined
          ? total > 0
            ? `${csv.fileName}: ${total} problem${total === 1 ? "" : "s"}${badRows > 0 ? ` in ${badRows} of ${filled} rows` : ""}. Nothing has been saved.`
            : `${csv.fileName}: all ${filled} rows are valid. Nothing is saved until you press Create submission.`
          : `${items.length} problem${items.length === 1 ? "" : "s"} in ${badRows} row${badRows === 1 ? "" : "s"} to correct before saving`}
      </h2>
      {csv !== undefined && csv.read.ignored.length > 0 && (
        <p className="hint">Columns not read (no such field): {csv.read.ignored.map((h) => `“${h}”`).join(", ")}.</p>
      )}
      {total > 0 && (
        <div className="table-scroll report-table">
          <table>
            <thead>
              <tr><th scope="col">Row</th><th scope="col">Column</th><th scope="col">Problem</th></tr>
            </thead>
            <tbody>
              {fileProblems.map((p, i) => (
                <tr key={`file-${i}`}><td>{p.row ?? "file"}</td><td>—</td><td>{p.message}</td></tr>
              ))}
              {headerItems.map((h) => (
                <tr key={`h-${h.field}`}><td>—</td><td>{HEADER_LABELS[h.field]}</td><td>{h.message}</td></tr>
              ))}
              {items.map((i) => (
                <tr key={`${i.rowId}-${i.key}`}>
                  <td>{i.r + 1}</td>
                  <td>
                    <button type="button" className="link" aria-label={`Go to row ${i.r + 1}, ${columnOf(i.key).label}`} onClick={() => onGoTo(i.r, i.key)}>
                      {columnOf(i.key).label}
                    </button>
                  </td>
                  <td id={cellErrorId(i.rowId, i.key)}>{i.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
