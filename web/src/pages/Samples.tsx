/**
 * Every sample the user may see (a submitter: their own; the server confines them), filtered, searched and sorted,
 * with the view in the address (a link reproduces it). Rows are virtual and read page by page, so 100,000 samples
 * scroll without stalling. Staff select many (checkboxes, "all loaded", shift-click ranges) and apply a batch
 * command, then read a per-sample summary. `?q=NAME&open=1` (the top search box, a barcode scanner) opens the sample
 * whose name is exactly NAME.
 */
import { Result, useAtomValue } from "@effect-atom/atom-react"
import { Schema } from "effect"
import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react"
import { SampleSort } from "../../../rpc/Api.ts"
import type { SampleId } from "../../../rpc/Ids.ts"
import { Priority, SampleStatus, StepId } from "../../../rpc/Workflow.ts"
import { BatchBar, BatchSummary, type BatchOutcome } from "../components/BatchBar.tsx"
import { SampleFilterFields } from "../components/SampleFilterFields.tsx"
import { SampleTable, useSampleList, type SampleFilters, type Selection } from "../components/SampleList.tsx"
import { ErrorBox } from "../components/ui.tsx"
import { Link, navigate, setQuery, useLocation } from "../router.tsx"
import { canManage, isStaff, roleOf, sessionAtom } from "../session.ts"

const pick = <A, I>(schema: Schema.Schema<A, I>, value: string | null): A | undefined =>
  value !== null && Schema.is(schema)(value) ? value : undefined

/** The page size: 200, or `?pageSize=` (10–500) for a link that wants smaller pages. */
const pageSizeOf = (value: string | null) => {
  const n = Number(value)
  return Number.isInteger(n) && n >= 10 && n <= 500 ? n : 200
}

/** Search text as the server takes it: trimmed, at most 120 characters, no control characters. */
const cleanQ = (value: string | null) => {
  const q = (value ?? "").replace(/[\u0000-\u001f]/g, " ").trim().slice(0, 120)
  return q === "" ? undefined : q
}

/** Every status, in the order of a sample's life (STATUS_WORDS names each one). */

const formatCount = (n: number) => n.toLocaleString()

/** The export page's address with this view's filters (it reads them from its query). */
const exportQuery = (filters: SampleFilters) => {
  const params = new URLSearchParams(Object.entries(filters).filter((e): e is [string, string] => typeof e[1] === "string" && e[1] !== ""))
  const query = params.toString()
  return query === "" ? "" : `?${query}`
}

export default function SamplesPage() {
  const { query } = useLocation()
  const session = useAtomValue(sessionAtom)
  const role = Result.isSuccess(session) ? roleOf(session.value.principal) : "submitter"
  const staff = isStaff(role)
  const filters: SampleFilters = {
    status: pick(SampleStatus, query.get("status")),
    step: pick(StepId, query.get("step")),
    priority: pick(Priority, query.get("priority")),
    q: cleanQ(query.get("q")),
    sort: pick(SampleSort, query.get("sort"))
  }
  const pageSize = pageSizeOf(query.get("pageSize"))
  const key = JSON.stringify([filters, pageSize])
  const { store, snapshot, problem } = useSampleList(filters, pageSize)
  const { rows } = snapshot

  // The scanner's way in: exactly one sample named q opens it; otherwise the list stays, saying why.
  const [scanNote, setScanNote] = useState<string | undefined>()
  const open = query.get("open") === "1"
  useEffect(() => {
    if (!open || !snapshot.ready || filters.q === undefined) return
    const q = filters.q
    const exact = rows.filter((s) => s.sampleName === q)
    const loose = exact.length > 0 ? exact : rows.filter((s) => s.sampleName.toLowerCase() === q.toLowerCase())
    if (loose.length === 1) {
      navigate(`/samples/${loose[0]!.id}`, { replace: true })
      return
    }
    setScanNote(loose.length > 1
      ? `${loose.length} samples are named “${q}”: choose one below.`
      : `No sample is named exactly “${q}”; below are the samples whose name contains it.`)
    setQuery({ open: undefined })
  }, [open, snapshot.ready, rows, filters.q])

  // Selection: id → name, cleared when the filters change.
  const [selected, setSelected] = useState<ReadonlyMap<SampleId, string>>(new Map())
  const [outcome, setOutcome] = useState<BatchOutcome | undefined>()
  const anchor = useRef<number | undefined>(undefined)
  useEffect(() => {
    setSelected(new Map())
    anchor.current = undefined
  }, [key])

  const toggle = useCallback((index: number, checked: boolean, range: boolean) => {
    // The range is read now: the updater below runs later, after the anchor has moved.
    const from = range && anchor.current !== undefined ? Math.min(anchor.current, index) : index
    const to = range && anchor.current !== undefined ? Math.max(anchor.current, index) : index
    setSelected((current) => {
      const next = new Map(current)
      for (let i = from; i <= to; i++) {
        const s = rows[i]
        if (s === undefined) continue
        if (checked) next.set(s.id, s.sampleName)
        else next.delete(s.id)
      }
      return next
    })
    anchor.current = index
  }, [rows])

  const allLoaded = useMemo(() => {
    if (rows.length === 0 || selected.size === 0) return "none" as const
    let n = 0
    for (const s of rows) if (selected.has(s.id)) n++
    return n === rows.length ? "all" as const : n > 0 ? "some" as const : "none" as const
  }, [rows, selected])

  const selection: Selection | undefined = staff
    ? {
      isSelected: (id) => selected.has(id),
      toggle,
      allLoaded,
      toggleAllLoaded: (checked) => setSelected(checked ? new Map(rows.map((s) => [s.id, s.sampleName])) : new Map())
    }
    : undefined

  const title = staff ? "Samples" : "My samples"
  const shown = snapshot.total !== undefined
    ? `${formatCount(rows.length)} of ${formatCount(snapshot.total)} sample${snapshot.total === 1 ? "" : "s"} loaded`
    : `${formatCount(rows.length)} sample${rows.length === 1 ? "" : "s"} loaded${snapshot.hasMore ? ", more as you scroll" : ""}`

  return (
    <div className="samples-page">
      <h1>{title}</h1>
      <Filters filters={filters} />
      <p className="hint" style={{ margin: "-.5rem 0 .5rem" }}>
        <Link to={`/exports${exportQuery(filters)}`}>Export these samples (CSV, Excel, JSON, XML, MinKNOW sheet)…</Link>
      </p>
      {scanNote && <p className="alert warn" role="status">{scanNote}</p>}
      {problem && <ErrorBox problem={problem} />}
      <p className="list-count" role="status" aria-live="polite">{snapshot.ready ? shown : "Loading…"}</p>
      {staff && (
        <BatchBar selected={selected} canManage={canManage(role)} onClear={() => setSelected(new Map())}
          onDone={(result) => {
            setOutcome(result)
            setSelected((current) => new Map([...current].filter(([id]) => result.refused.some((r) => r.id === id))))
          }} />
      )}
      {outcome && <BatchSummary outcome={outcome} onDismiss={() => setOutcome(undefined)} />}
      <SampleTable store={store} snapshot={snapshot} selection={selection} label={title} pageSize={pageSize}
        empty={filters.q || filters.status || filters.step || filters.priority
          ? "No sample matches these filters."
          : staff ? "No samples yet." : "You have no samples yet. Send some with a new submission."} />
    </div>
  )
}

/** The filter form: every change goes to the address at once (search after a short pause in typing). */
const Filters = ({ filters }: { readonly filters: SampleFilters }) => {
  const id = useId()
  const [text, setText] = useState(filters.q ?? "")
  const urlQ = filters.q ?? ""
  const typed = useRef(urlQ)
  // The address changed elsewhere (the top search box, back/forward): show its search.
  useEffect(() => {
    if (urlQ !== typed.current) {
      typed.current = urlQ
      setText(urlQ)
    }
  }, [urlQ])
  useEffect(() => {
    if (text.trim() === typed.current) return
    const t = setTimeout(() => {
      typed.current = text.trim()
      setQuery({ q: text.trim(), open: undefined })
    }, 300)
    return () => clearTimeout(t)
  }, [text])
  const any = filters.q || filters.status || filters.step || filters.priority || filters.sort
  return (
    <form className="filters panel" role="search" aria-label="Filter samples" onSubmit={(e) => {
      e.preventDefault()
      typed.current = text.trim()
      setQuery({ q: text.trim(), open: undefined })
    }}>
      <div>
        <label htmlFor={`${id}-q`}>Search by name</label>
        <input id={`${id}-q`} type="search" value={text} maxLength={120} onChange={(e) => setText(e.target.value)} placeholder="e.g. LIB-0042" />
      </div>
      <SampleFilterFields id={id} values={filters} onChange={setQuery} sortLabel="Sort" />
      <div className="actions">
        <button type="submit">Search</button>
        <button type="button" className="secondary" disabled={!any} onClick={() => {
          typed.current = ""
          setText("")
          setQuery({ q: "", status: "", step: "", priority: "", sort: "", open: "" })
        }}>Clear filters</button>
      </div>
    </form>
  )
}
