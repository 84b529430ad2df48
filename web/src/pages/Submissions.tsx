/**
 * The submissions list (newest first): a submitter sees their own, staff see all. Each shows its number, date, sample
 * count, where its samples are (a bar by status) and when the facility expects to finish; "Load more" reads the next
 * page by its cursor. Live events refresh it (reactivity key "submissions").
 */
import { useAtomValue } from "@effect-atom/atom-react"
import { useState, type FormEvent } from "react"
import type { SubmissionProgress, SubmissionSummary } from "../../../rpc/Api.ts"
import type { StatusCounts } from "../../../rpc/Dashboard.ts"
import { Rpc } from "../client.ts"
import { Empty, ErrorBox, formatTime, Show } from "../components/ui.tsx"
import { describe } from "../errors.ts"
import { Link, setQuery, useLocation } from "../router.tsx"
import { isStaff, Result, roleOf, sessionAtom } from "../session.ts"

const PAGE_SIZE = 25

/** Sample statuses in the order a bar shows them (work done on the left), with their words. */
export const STATUS_ORDER: ReadonlyArray<{ readonly key: keyof StatusCounts; readonly words: string }> = [
  { key: "completed", words: "completed" },
  { key: "archived", words: "archived" },
  { key: "in_progress", words: "in progress" },
  { key: "on_hold", words: "on hold" },
  { key: "submitted", words: "not yet received" },
  { key: "failed", words: "failed" },
  { key: "cancelled", words: "cancelled" }
]

/** A sentence of a submission's counts: "24 samples: 2 completed, 20 not yet received, 2 in progress". */
export const progressWords = (p: SubmissionProgress) => {
  const parts = STATUS_ORDER.filter((s) => p.byStatus[s.key] > 0).map((s) => `${p.byStatus[s.key]} ${s.words}`)
  return `${p.sampleCount} sample${p.sampleCount === 1 ? "" : "s"}${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`
}

/** A bar of the samples by status, each part as wide as its share; its words are its accessible name. */
export const ProgressBar = ({ progress }: { readonly progress: SubmissionProgress }) => {
  const total = Math.max(1, progress.sampleCount)
  return (
    <div className="progress" role="img" aria-label={progressWords(progress)} title={progressWords(progress)}>
      {STATUS_ORDER.map((s) =>
        progress.byStatus[s.key] > 0
          ? <span key={s.key} className={`part ${s.key}`} style={{ width: `${(100 * progress.byStatus[s.key]) / total}%` }} />
          : null
      )}
    </div>
  )
}

/** The legend of the bars' colours. */
export const ProgressLegend = () => (
  <p className="progress-legend hint" aria-hidden="true">
    {STATUS_ORDER.map((s) => <span key={s.key}><span className={`swatch ${s.key}`} /> {s.words}</span>)}
  </p>
)

/** When the facility expects to finish, or why there is no date yet. */
export const estimateWords = (p: SubmissionProgress) =>
  p.estimatedCompletion !== null
    ? formatTime(p.estimatedCompletion)
    : p.sampleCount > 0 && p.byStatus.submitted === p.sampleCount
    ? "once the samples are received"
    : p.completed + p.byStatus.cancelled + p.byStatus.failed >= p.sampleCount
    ? "finished"
    : "—"

export default function SubmissionsPage() {
  const session = useAtomValue(sessionAtom)
  const staff = Result.isSuccess(session) && isStaff(roleOf(session.value.principal))
  const { query } = useLocation()
  const q = query.get("q")?.trim() ?? ""
  return (
    <div>
      <div className="page-head">
        <h1>{staff ? "Submissions" : "My submissions"}</h1>
        <Link to="/submissions/new" className="button">New submission</Link>
      </div>
      {staff && <Search q={q} />}
      <ProgressLegend />
      {/* A new search starts from its first page. */}
      <List key={q} q={q} staff={staff} />
    </div>
  )
}

const Search = ({ q }: { readonly q: string }) => {
  const [text, setText] = useState(q)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    setQuery({ q: text.trim() })
  }
  return (
    <form className="filters" role="search" aria-label="Submissions" onSubmit={submit}>
      <div>
        <label htmlFor="submission-q">Number or submitter</label>
        <input id="submission-q" type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="e.g. HTSF-2025 or a@lab.org" />
      </div>
      <button type="submit" className="secondary">Search</button>
      {q !== "" && <button type="button" className="secondary" onClick={() => { setText(""); setQuery({ q: undefined }) }}>Show all</button>}
    </form>
  )
}

const listQuery = (q: string, cursor: string | undefined) =>
  Rpc.query("Submissions.List", { limit: PAGE_SIZE, ...(q !== "" ? { q } : {}), ...(cursor !== undefined ? { cursor } : {}) }, { reactivityKeys: ["submissions"] })

const List = ({ q, staff }: { readonly q: string; readonly staff: boolean }) => {
  const first = useAtomValue(listQuery(q, undefined))
  const [more, setMore] = useState<ReadonlyArray<string>>([])
  const columns = staff ? 6 : 5
  return (
    <Show result={first} rows={5}>
      {(page) =>
        page.items.length === 0
          ? (
            <Empty>
              {q !== ""
                ? <>No submission matches “{q}”.</>
                : <>No submissions yet. <Link to="/submissions/new">Create the first one</Link>: type or paste the samples, or upload a CSV file.</>}
            </Empty>
          )
          : (
            <div className="table-wrap">
              <table className="submissions">
                <caption className="visually-hidden">Submissions, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Number</th>
                    <th scope="col">Created</th>
                    {staff && <th scope="col">Submitter</th>}
                    <th scope="col" className="num">Samples</th>
                    <th scope="col">Progress</th>
                    <th scope="col">Estimated completion</th>
                  </tr>
                </thead>
                <Rows items={page.items} staff={staff} />
                {more.map((cursor, i) => (
                  <MorePage key={cursor} q={q} cursor={cursor} staff={staff} columns={columns}
                    last={i === more.length - 1} onMore={(next) => setMore((m) => [...m, next])} />
                ))}
              </table>
              {more.length === 0 && page.nextCursor !== null && (
                <LoadMore onClick={() => setMore([page.nextCursor!])} />
              )}
            </div>
          )}
    </Show>
  )
}

const LoadMore = ({ onClick }: { readonly onClick: () => void }) => (
  <div className="actions load-more"><button type="button" className="secondary" onClick={onClick}>Load more</button></div>
)

/** A further page: its rows, and (when it is the last one read) the row that reads the next. */
const MorePage = ({ q, cursor, staff, columns, last, onMore }: {
  readonly q: string
  readonly cursor: string
  readonly staff: boolean
  readonly columns: number
  readonly last: boolean
  readonly onMore: (cursor: string) => void
}) => {
  const result = useAtomValue(listQuery(q, cursor))
  return Result.match(result, {
    onInitial: () => <tbody><tr><td colSpan={columns} className="hint" role="status">Loading more…</td></tr></tbody>,
    onFailure: (f) => <tbody><tr><td colSpan={columns}><ErrorBox problem={describe(f.cause)} /></td></tr></tbody>,
    onSuccess: ({ value }) => (
      <>
        <Rows items={value.items} staff={staff} />
        {last && value.nextCursor !== null && (
          <tbody><tr><td colSpan={columns}><LoadMore onClick={() => onMore(value.nextCursor!)} /></td></tr></tbody>
        )}
      </>
    )
  })
}

const Rows = ({ items, staff }: { readonly items: ReadonlyArray<SubmissionSummary>; readonly staff: boolean }) => (
  <tbody>
    {items.map(({ submission: s, progress: p }) => (
      <tr key={s.id}>
        <th scope="row"><Link to={`/submissions/${s.id}`}>{s.number}</Link></th>
        <td>{formatTime(s.createdAt)}</td>
        {staff && <td>{s.submitterEmail}</td>}
        <td className="num">{p.sampleCount}</td>
        <td className="progress-cell">
          <ProgressBar progress={p} />
          <span className="hint">{p.completed} of {p.sampleCount} done</span>
        </td>
        <td>{estimateWords(p)}</td>
      </tr>
    ))}
  </tbody>
)
