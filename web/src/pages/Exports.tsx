/**
 * Exports: a form (format, the columns from the documented list, the sample list's filters; the address pre-fills the
 * filters, so the samples page links here with its view), the job just started with its live progress (rows done of
 * the estimated total), cancel, the download once it is ready, and the user's past exports. A submitter's export holds
 * only their own samples (the server confines it).
 */
import { Atom, Result, useAtomRefresh, useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Effect, Exit, Schedule, Schema, Stream } from "effect"
import { useEffect, useId, useState, type CSSProperties, type FormEvent } from "react"
import { SampleSort } from "../../../rpc/Api.ts"
import type { ExportColumnView } from "../../../rpc/ExportNotificationRpcs.ts"
import type { ExportFilter, ExportFormat, ExportView } from "../../../rpc/ExportsApi.ts"
import { Priority, SampleStatus, StepId } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { SampleFilterFields } from "../components/SampleFilterFields.tsx"
import { Badge, Empty, ErrorBox, Field, formatTime, Show } from "../components/ui.tsx"
import { describe, fieldMessage, type Problem } from "../errors.ts"
import { usePolling } from "../poll.ts"
import { useLocation } from "../router.tsx"
import { isStaff, roleOf, sessionAtom } from "../session.ts"

const FORMATS: ReadonlyArray<readonly [ExportFormat, string]> = [
  ["csv", "CSV (RFC 4180, opens in any spreadsheet)"],
  ["xlsx", "Excel workbook (.xlsx)"],
  ["json", "JSON (one array)"],
  ["ndjson", "NDJSON (one sample per line)"],
  ["xml", "XML"],
  ["minknow", "MinKNOW sample sheet (one flow cell)"]
]
const FORMAT_WORDS = Object.fromEntries(FORMATS.map(([f, w]) => [f, w.replace(/ \(.*$/, "")])) as Record<ExportFormat, string>

const STATUS_LABELS = { queued: "queued", running: "running", completed: "ready", failed: "failed", cancelled: "cancelled" } as const

const columnsAtom = Rpc.query("Exports.Columns", undefined, { reactivityKeys: ["export-columns"] })
const listAtom = Rpc.query("Exports.List", undefined, { reactivityKeys: ["exports"] })
const startAtom = Rpc.mutation("Exports.Start")
const cancelAtom = Rpc.mutation("Exports.Cancel")

const pick = <A, I>(schema: Schema.Schema<A, I>, value: string | null): A | undefined =>
  value !== null && Schema.is(schema)(value) ? value : undefined

const COLUMN_GRID: CSSProperties = { display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(13rem, 1fr))", gap: "0 1rem" }
const CHECK: CSSProperties = { fontWeight: 400, display: "flex", gap: ".4rem", alignItems: "center", margin: ".2rem 0" }
const FIELDSET: CSSProperties = { border: "1px solid var(--line)", borderRadius: 6, margin: ".75rem 0", padding: ".25rem .75rem .75rem" }

const unfinished = (e: ExportView) => e.status === "queued" || e.status === "running"

const percent = (e: ExportView) => (e.rowsTotal !== null && e.rowsTotal > 0 ? Math.min(100, Math.round((e.rowsDone / e.rowsTotal) * 100)) : e.status === "completed" ? 100 : 0)

export default function ExportsPage() {
  const { query } = useLocation()
  const session = useAtomValue(sessionAtom)
  const staff = Result.isSuccess(session) && isStaff(roleOf(session.value.principal))
  const [current, setCurrent] = useState<string | undefined>()
  const refreshList = useAtomRefresh(listAtom)
  const initial: ExportFilter = {
    status: pick(SampleStatus, query.get("status")),
    step: pick(StepId, query.get("step")),
    priority: pick(Priority, query.get("priority")),
    q: query.get("q")?.trim().slice(0, 120) || undefined,
    sort: pick(SampleSort, query.get("sort"))
  }
  return (
    <div>
      <h1>Exports</h1>
      <p className="hint">
        {staff
          ? "Export the samples that match the filters, with the columns you choose. Large exports run in the background: you can leave this page and download the file later."
          : "Export your own samples with the columns you choose. Large exports run in the background: you can leave this page and download the file later."}
      </p>
      <ExportForm initial={initial} onStarted={(id) => {
        setCurrent(id)
        refreshList()
      }} />
      {current !== undefined && <Job id={current} onFinished={refreshList} />}
      <PastExports />
    </div>
  )
}

const ExportForm = ({ initial, onStarted }: { readonly initial: ExportFilter; readonly onStarted: (id: string) => void }) => {
  const id = useId()
  const start = useAtomSet(startAtom, { mode: "promiseExit" })
  const columns = useAtomValue(columnsAtom)
  const [format, setFormat] = useState<ExportFormat>("csv")
  const [flowCellId, setFlowCellId] = useState("")
  const [filter, setFilter] = useState<ExportFilter>(initial)
  const [chosen, setChosen] = useState<ReadonlySet<string> | undefined>()
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<Problem | undefined>()
  const set = (changes: Partial<Record<keyof ExportFilter, string>>) =>
    setFilter((f) => {
      const next: Record<string, string | undefined> = { ...f }
      for (const [k, v] of Object.entries(changes)) next[k] = v === "" ? undefined : v
      return next as ExportFilter
    })
  const defaults = (all: ReadonlyArray<ExportColumnView>) => new Set(all.filter((c) => c.byDefault).map((c) => c.id))

  const submit = async (e: FormEvent, all: ReadonlyArray<ExportColumnView>) => {
    e.preventDefault()
    setBusy(true)
    setProblem(undefined)
    const picked = chosen ?? defaults(all)
    const cleaned = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== "")) as ExportFilter
    const exit = await start({
      payload: {
        format,
        filter: cleaned,
        ...(format === "minknow" ? { flowCellId: flowCellId.trim() } : { columns: all.filter((c) => picked.has(c.id)).map((c) => c.id) })
      },
      reactivityKeys: ["exports"]
    })
    setBusy(false)
    if (Exit.isSuccess(exit)) onStarted(exit.value.id)
    else setProblem(describe(exit.cause))
  }

  return (
    <Show result={columns} rows={6}>
      {(all) => {
        const picked = chosen ?? defaults(all)
        return (
          <form className="panel" aria-labelledby={`${id}-title`} onSubmit={(e) => void submit(e, all)}>
            <h2 id={`${id}-title`}>New export</h2>
            <div className="form-grid">
              <Field label="Format" error={fieldMessage(problem, "format")}>
                {(p) => (
                  <select {...p} value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
                    {FORMATS.map(([f, words]) => <option key={f} value={f}>{words}</option>)}
                  </select>
                )}
              </Field>
              {format === "minknow" && (
                <Field label="Flow cell id" hint="The flow cell whose samples make the sheet, e.g. PAO12345" error={fieldMessage(problem, "flowCellId")}>
                  {(p) => <input {...p} value={flowCellId} maxLength={60} required onChange={(e) => setFlowCellId(e.target.value)} />}
                </Field>
              )}
            </div>
            <fieldset style={FIELDSET}>
              <legend>Which samples (the same filters as the samples list)</legend>
              <div className="filters">
                <div>
                  <label htmlFor={`${id}-q`}>Name contains</label>
                  <input id={`${id}-q`} type="search" value={filter.q ?? ""} maxLength={120} onChange={(e) => set({ q: e.target.value })} placeholder="e.g. LIB-0042" />
                </div>
                <SampleFilterFields id={id} values={filter} onChange={set} />
              </div>
            </fieldset>
            {format !== "minknow" && (
              <fieldset style={FIELDSET}>
                <legend>Columns ({picked.size} of {all.length})</legend>
                <div className="actions">
                  <button type="button" className="secondary" onClick={() => setChosen(new Set(all.map((c) => c.id)))}>All columns</button>
                  <button type="button" className="secondary" onClick={() => setChosen(undefined)}>The usual columns</button>
                  <button type="button" className="secondary" onClick={() => setChosen(new Set())}>None</button>
                </div>
                <div style={COLUMN_GRID}>
                  {all.map((c) => (
                    <label key={c.id} style={CHECK} title={c.description}>
                      <input type="checkbox" checked={picked.has(c.id)} onChange={(e) => {
                        const next = new Set(picked)
                        if (e.target.checked) next.add(c.id)
                        else next.delete(c.id)
                        setChosen(next)
                      }} />
                      {c.header}
                    </label>
                  ))}
                </div>
                {fieldMessage(problem, "columns") !== undefined && <div className="field-error">{fieldMessage(problem, "columns")}</div>}
              </fieldset>
            )}
            {problem && <ErrorBox problem={problem} />}
            <div className="actions">
              <button type="submit" disabled={busy || (format !== "minknow" && picked.size === 0)}>{busy ? "Starting…" : "Start the export"}</button>
            </div>
          </form>
        )
      }}
    </Show>
  )
}

/**
 * A job's progress as the server pushes it (`Exports.Progress`: the job at each change, ending when it is over). A
 * dropped connection reconnects after a second and picks up the job as it is then; a refusal (not found, not yours)
 * is shown as it is.
 */
const progressAtom = Atom.family((id: string) =>
  Rpc.runtime.atom(
    Stream.unwrap(Effect.map(Rpc, (client) => client("Exports.Progress", { id }))).pipe(
      Stream.retry(Schedule.spaced("1 second").pipe(Schedule.whileInput((e: { readonly _tag?: string }) =>
        e._tag !== "ExportNotFound" && e._tag !== "Forbidden")))
    )
  ))

/** The job just started: its progress as the server pushes it, until it is over. */
const Job = ({ id, onFinished }: { readonly id: string; readonly onFinished: () => void }) => {
  const result = useAtomValue(progressAtom(id))
  const running = !Result.isSuccess(result) || unfinished(result.value)
  // Once it is over, the list below shows it as finished too.
  useEffect(() => {
    if (!running) onFinished()
  }, [running, onFinished])
  return (
    <section className="panel" aria-labelledby="job-title" data-export-id={id}>
      <h2 id="job-title">This export</h2>
      <Show result={result}>
        {(job) => <JobProgress job={job} />}
      </Show>
    </section>
  )
}

const JobProgress = ({ job }: { readonly job: ExportView }) => {
  const cancel = useAtomSet(cancelAtom, { mode: "promiseExit" })
  const [problem, setProblem] = useState<Problem | undefined>()
  const total = job.rowsTotal === null ? "an unknown number of" : job.rowsTotal.toLocaleString()
  return (
    <div className="export-job" data-status={job.status}>
      <p role="status" aria-live="polite">
        <Badge kind={job.status}>{STATUS_LABELS[job.status]}</Badge>{" "}
        {FORMAT_WORDS[job.format]}: <strong data-testid="export-rows">{job.rowsDone.toLocaleString()}</strong> of {total} rows
        {job.status === "queued" && " — waiting for a worker"}
      </p>
      <progress max={100} value={percent(job)} aria-label={`Export progress: ${percent(job)} %`} style={{ width: "100%" }} />
      {job.status === "failed" && <div className="alert error" role="alert"><strong>The export failed:</strong> {job.error ?? "no reason was recorded"}</div>}
      {job.status === "cancelled" && <p className="alert warn">Cancelled: no file was kept.</p>}
      {problem && <ErrorBox problem={problem} />}
      <div className="actions">
        {job.status === "completed" && job.downloadUrl !== undefined && (
          <a className="button" href={job.downloadUrl} download>Download the file</a>
        )}
        {unfinished(job) && (
          <button type="button" className="danger" onClick={async () => {
            const exit = await cancel({ payload: { id: job.id }, reactivityKeys: [`export:${job.id}`, "exports"] })
            setProblem(Exit.isSuccess(exit) ? undefined : describe(exit.cause))
          }}>Cancel the export</button>
        )}
      </div>
    </div>
  )
}

/** The user's exports, newest first; re-read every two seconds while one of them is still running. */
const PastExports = () => {
  const list = useAtomValue(listAtom)
  const refresh = useAtomRefresh(listAtom)
  usePolling(refresh, 2000, Result.isSuccess(list) && list.value.some(unfinished))
  return (
    <section className="panel" aria-labelledby="past-title">
      <h2 id="past-title">Your exports</h2>
      <Show result={list} rows={3}>
        {(items) => items.length === 0
          ? <Empty>No exports yet. Files are kept for a limited time, then removed.</Empty>
          : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr><th scope="col">Requested</th><th scope="col">Format</th><th scope="col">State</th><th scope="col">Rows</th><th scope="col">Finished</th><th scope="col">File</th></tr>
                </thead>
                <tbody>
                  {items.map((e) => (
                    <tr key={e.id}>
                      <td>{formatTime(e.createdAt)}</td>
                      <td>{FORMAT_WORDS[e.format]}</td>
                      <td><Badge kind={e.status}>{STATUS_LABELS[e.status]}</Badge>{e.error !== undefined && <div className="hint">{e.error}</div>}</td>
                      <td>{e.rowsDone.toLocaleString()}{e.rowsTotal !== null && e.rowsTotal !== e.rowsDone ? ` of ${e.rowsTotal.toLocaleString()}` : ""}</td>
                      <td>{formatTime(e.finishedAt)}</td>
                      <td>{e.downloadUrl !== undefined ? <a href={e.downloadUrl} download>Download</a> : "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </Show>
    </section>
  )
}
