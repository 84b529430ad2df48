/**
 * A sample list that stays fast with 100,000 rows: pages of `Samples.List` read through the cursor as the user
 * scrolls near the end of what is loaded, rows rendered virtually (only the visible ones exist in the page) at a fixed
 * height, and live updates that re-read only the pages on screen (a change elsewhere never resets the scroll).
 */
import { Result, useAtomValue } from "@effect-atom/atom-react"
import { Reactivity } from "@effect/experimental"
import { useVirtualizer } from "@tanstack/react-virtual"
import { Effect, Exit } from "effect"
import { useEffect, useMemo, useRef, useSyncExternalStore, type MouseEvent, type ReactNode } from "react"
import type { SamplePage, SampleSort } from "../../../rpc/Api.ts"
import type { SampleId } from "../../../rpc/Ids.ts"
import type { Priority, SampleStatus, SampleView, StepId } from "../../../rpc/Workflow.ts"
import { STEP_NAMES } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { describe, type Problem } from "../errors.ts"
import { Link } from "../router.tsx"
import { Badge, ErrorBox, formatTime } from "./ui.tsx"

/** The filters of a list, as the URL names them. */
export interface SampleFilters {
  readonly status?: SampleStatus | undefined
  readonly step?: StepId | undefined
  readonly priority?: Priority | undefined
  readonly q?: string | undefined
  readonly sort?: SampleSort | undefined
}

/** One request of a page: the filters, where to resume, how many, and whether to count them all. */
interface PageRequest {
  readonly filters: SampleFilters
  readonly cursor: string | undefined
  readonly limit: number
  readonly withTotal: boolean
}

type PageExit = Exit.Exit<SamplePage, unknown>

/** The least time between the starts of two live refreshes of one list. */
const REFRESH_SPACING_MS = 500
/** The least time between two counts of the list's total during live refreshes. */
const COUNT_SPACING_MS = 5_000

interface Lister {
  readonly read: (request: PageRequest) => Promise<PageExit>
  readonly onChange: (handler: () => void) => () => void
}

/** The RPC client and the reactivity service the list needs, while a list is on screen. */
const listerAtom = Rpc.runtime.atom(Effect.gen(function*(): Effect.fn.Return<Lister, never, Rpc | Reactivity.Reactivity> {
  const client = yield* Rpc
  const reactivity = yield* Reactivity.Reactivity
  const runtime = yield* Effect.runtime<never>()
  const read = (r: PageRequest): Promise<PageExit> => {
    const f = r.filters
    const call = client("Samples.List", {
      ...(f.status ? { status: f.status } : {}),
      ...(f.step ? { step: f.step } : {}),
      ...(f.priority ? { priority: f.priority } : {}),
      ...(f.q ? { q: f.q } : {}),
      ...(f.sort ? { sort: f.sort } : {}),
      ...(r.cursor !== undefined ? { cursor: r.cursor } : {}),
      ...(r.withTotal ? { withTotal: true } : {}),
      limit: r.limit
    })
    return Effect.runPromiseExit(Effect.provide(call, runtime))
  }
  return {
    read,
    /** Calls `handler` whenever something invalidates the sample lists (the live feed, a command); returns the undo. */
    onChange: (handler: () => void) => reactivity.unsafeRegister(["samples"], handler)
  }
}))


interface Page {
  readonly cursor: string | undefined
  readonly items: ReadonlyArray<SampleView>
  readonly next: string | null
}

/** What the list shows: the loaded rows, the total when known, and the state of the reads. */
export interface ListSnapshot {
  readonly rows: ReadonlyArray<SampleView>
  readonly total: number | undefined
  readonly hasMore: boolean
  /** The first page has arrived (rows may still be empty: nothing matches). */
  readonly ready: boolean
  readonly loadingMore: boolean
  readonly problem: Problem | undefined
}

/**
 * The pages of one filter set. The first read and live refreshes go one at a time (a queue); the next page is read
 * beside them and kept only if the list still ends where it did. Once the list is closed (filters changed, page left)
 * late answers are dropped.
 */
class ListStore {
  snapshot: ListSnapshot = { rows: [], total: undefined, hasMore: false, ready: false, loadingMore: false, problem: undefined }
  private pages: Array<Page> = []
  private total: number | undefined
  private queue: Promise<void> = Promise.resolve()
  private lastCount = 0
  private refreshTimer: ReturnType<typeof setTimeout> | undefined
  private lastRefresh = 0
  private visible: readonly [number, number] = [0, 0]
  private closed = true
  private started = false
  private readonly listeners = new Set<() => void>()

  constructor(private readonly read: Lister["read"], private readonly filters: SampleFilters, private readonly pageSize: number) {}

  /** Starts reading (the first time) and accepts answers. */
  open() {
    this.closed = false
    if (this.started) return
    this.started = true
    this.enqueue(() => this.loadFirst())
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getSnapshot = () => this.snapshot

  close() {
    this.closed = true
    clearTimeout(this.refreshTimer)
    this.refreshTimer = undefined
  }

  /** The rows on screen, so a live refresh re-reads their pages only. */
  setVisible(from: number, to: number) {
    this.visible = [from, to]
  }

  /**
   * Reads the next page (once, however often it is asked while one is on its way). It does not wait behind live
   * refreshes: the page is added only if the list still ends where it did when the read began (a refresh that moved
   * the end drops it, and the list asks again).
   */
  loadMore() {
    const last = this.pages[this.pages.length - 1]
    if (this.snapshot.loadingMore || last === undefined || last.next === null || this.snapshot.problem !== undefined) return
    const cursor = last.next
    const length = this.pages.length
    this.publish({ loadingMore: true })
    void this.read({ filters: this.filters, cursor, limit: this.pageSize, withTotal: false }).then((exit) => {
      if (this.closed) return
      if (Exit.isFailure(exit)) return this.publish({ loadingMore: false, problem: describe(exit.cause) })
      if (this.pages.length === length && this.pages[length - 1]?.next === cursor) {
        this.pages.push({ cursor, items: exit.value.items, next: exit.value.nextCursor })
      }
      this.publish({ loadingMore: false })
    })
  }

  /**
   * Re-reads the pages on screen (after a live event or a command). A burst becomes one pass, and passes start at
   * least REFRESH_SPACING_MS apart, so a busy lab's stream of events costs an open list at most two reads a second.
   */
  refresh() {
    if (this.refreshTimer !== undefined || this.closed) return
    const wait = Math.max(0, this.lastRefresh + REFRESH_SPACING_MS - Date.now())
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined
      this.enqueue(async () => {
        this.lastRefresh = Date.now()
        if (this.pages.length === 0) return this.loadFirst()
        await this.refreshVisible()
      })
    }, wait)
  }

  /** Tries again after a failed read. */
  retry() {
    this.publish({ problem: undefined })
    if (this.pages.length === 0) this.enqueue(() => this.loadFirst())
    else this.loadMore()
  }

  private enqueue(task: () => Promise<void> | void) {
    this.queue = this.queue.then(() => (this.closed ? undefined : task()), () => undefined)
  }

  private async loadFirst() {
    const exit = await this.read({ filters: this.filters, cursor: undefined, limit: this.pageSize, withTotal: true })
    if (this.closed) return
    if (Exit.isFailure(exit)) return this.publish({ ready: true, problem: describe(exit.cause) })
    this.pages = [{ cursor: undefined, items: exit.value.items, next: exit.value.nextCursor }]
    this.total = exit.value.total
    this.lastCount = Date.now()
    this.publish({ ready: true, problem: undefined })
  }

  /**
   * Each page on screen is read again from its own cursor; when a page now ends elsewhere, the next one is read from
   * the new end, and pages below the screen that began at an old end are dropped (read again when scrolled to), so no
   * row is shown twice or skipped.
   */
  private async refreshVisible() {
    const [from, to] = this.visible
    const first = this.pageOf(from)
    const last = this.pageOf(to)
    let cursor = this.pages[first]?.cursor
    for (let k = first; k <= last; k++) {
      const old = this.pages[k]
      if (old === undefined) break
      // The total is counted again at most every COUNT_SPACING_MS (a count costs more than a page).
      const withTotal = k === first && Date.now() - this.lastCount >= COUNT_SPACING_MS
      if (withTotal) this.lastCount = Date.now()
      const exit = await this.read({ filters: this.filters, cursor, limit: this.pageSize, withTotal })
      if (this.closed || Exit.isFailure(exit)) return
      this.pages[k] = { cursor, items: exit.value.items, next: exit.value.nextCursor }
      if (exit.value.total !== undefined) this.total = exit.value.total
      const moved = exit.value.nextCursor !== old.next
      cursor = exit.value.nextCursor ?? undefined
      if (exit.value.nextCursor === null || (moved && k === last)) {
        this.pages.length = k + 1
        break
      }
    }
    this.publish({})
  }

  private pageOf(row: number) {
    let seen = 0
    for (let k = 0; k < this.pages.length; k++) {
      seen += this.pages[k]!.items.length
      if (row < seen) return k
    }
    return Math.max(0, this.pages.length - 1)
  }

  private publish(change: Partial<ListSnapshot>) {
    const last = this.pages[this.pages.length - 1]
    this.snapshot = {
      ...this.snapshot,
      rows: this.pages.flatMap((p) => p.items),
      total: this.total,
      hasMore: last !== undefined && last.next !== null,
      ...change
    }
    for (const l of this.listeners) l()
  }
}

/** The list of samples matching `filters`, read page by page; the store re-reads on screen what a live event changed. */
export const useSampleList = (filters: SampleFilters, pageSize: number) => {
  const lister = useAtomValue(listerAtom)
  const key = JSON.stringify([filters, pageSize])
  const ready = Result.isSuccess(lister) ? lister.value : undefined
  // A new store per filter set: the old one is closed, its late answers dropped.
  const store = useMemo(() => (ready ? new ListStore(ready.read, filters, pageSize) : undefined), [ready, key])
  useEffect(() => {
    store?.open()
    return () => store?.close()
  }, [store])
  useEffect(() => (store && ready ? ready.onChange(() => store.refresh()) : undefined), [store, ready])
  const snapshot = useSyncExternalStore(store?.subscribe ?? noSubscribe, store?.getSnapshot ?? emptySnapshot)
  return { store, snapshot, problem: Result.isFailure(lister) ? describe(lister.cause) : undefined }
}

const noSubscribe = () => () => undefined
const EMPTY: ListSnapshot = { rows: [], total: undefined, hasMore: false, ready: false, loadingMore: false, problem: undefined }
const emptySnapshot = () => EMPTY

export const ROW_HEIGHT = 40

export const STATUS_WORDS: Record<SampleStatus, string> = {
  submitted: "submitted",
  in_progress: "in progress",
  on_hold: "on hold",
  failed: "failed",
  completed: "completed",
  cancelled: "cancelled",
  archived: "archived"
}

export const SLA_WORDS: Record<SampleView["sla"]["status"], string> = {
  none: "no clock",
  on_track: "on track",
  at_risk: "at risk",
  breached: "breached",
  paused: "paused"
}

/** How the list lets rows be selected (staff), or undefined (submitters: no batch commands). */
export interface Selection {
  readonly isSelected: (id: SampleId) => boolean
  /** A row's checkbox changed; `range` when shift was held (select everything from the last clicked row). */
  readonly toggle: (index: number, checked: boolean, range: boolean) => void
  readonly allLoaded: "all" | "some" | "none"
  readonly toggleAllLoaded: (checked: boolean) => void
}

/**
 * The virtual table: a header, a fixed-height scroll area whose rows are positioned at `index × 40 px`, and a last
 * "loading more" row while there is more to read. Showing one of the last 30 loaded rows (fewer with small pages)
 * reads the next page.
 */
export const SampleTable = ({ store, snapshot, selection, label, empty, pageSize }: {
  readonly store: ListStore | undefined
  readonly pageSize: number
  readonly snapshot: ListSnapshot
  readonly selection: Selection | undefined
  readonly label: string
  readonly empty: ReactNode
}) => {
  const scrollRef = useRef<HTMLDivElement>(null)
  const { rows, hasMore } = snapshot
  const count = rows.length + (hasMore ? 1 : 0)
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12
  })
  const items = virtualizer.getVirtualItems()
  // The rows on screen (without the overscan): a live refresh re-reads their pages; nearing the end reads the next.
  const firstIndex = virtualizer.range?.startIndex ?? 0
  const lastIndex = virtualizer.range?.endIndex ?? 0
  const nearEnd = Math.min(30, Math.floor(pageSize / 4))
  useEffect(() => {
    store?.setVisible(firstIndex, Math.min(lastIndex, Math.max(0, rows.length - 1)))
    if (hasMore && rows.length > 0 && lastIndex >= rows.length - nearEnd) store?.loadMore()
  }, [store, firstIndex, lastIndex, rows.length, hasMore, nearEnd, snapshot.loadingMore])
  const allBox = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (allBox.current) allBox.current.indeterminate = selection?.allLoaded === "some"
  }, [selection?.allLoaded])
  return (
    <div role="table" aria-label={label} aria-rowcount={snapshot.total !== undefined ? snapshot.total + 1 : -1} className="vtable">
      <div role="rowgroup">
        <div role="row" className="vhead" aria-rowindex={1}>
          <div role="columnheader">
            {selection && (
              <input ref={allBox} type="checkbox" aria-label="Select all loaded samples" disabled={rows.length === 0}
                checked={selection.allLoaded === "all"} onChange={(e) => selection.toggleAllLoaded(e.target.checked)} />
            )}
            {!selection && <span className="visually-hidden">Row</span>}
          </div>
          <div role="columnheader">Sample</div>
          <div role="columnheader">Status</div>
          <div role="columnheader">Current step</div>
          <div role="columnheader">Priority</div>
          <div role="columnheader">SLA</div>
          <div role="columnheader">Updated</div>
        </div>
      </div>
      <div ref={scrollRef} className="vlist" role="rowgroup" data-testid="sample-rows">
        <div role="none" style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {items.map((v) => {
            const sample = rows[v.index]
            if (sample === undefined) {
              return (
                <div key={v.key} role="row" className="vrow loading-row" aria-rowindex={v.index + 2} style={{ transform: `translateY(${v.start}px)` }}>
                  <div role="cell" aria-live="polite">{snapshot.problem ? "Could not read more." : "Loading more…"}</div>
                </div>
              )
            }
            return <SampleRow key={sample.id} sample={sample} index={v.index} start={v.start} selection={selection} />
          })}
        </div>
        {snapshot.ready && rows.length === 0 && snapshot.problem === undefined && <div className="empty">{empty}</div>}
        {!snapshot.ready && <div className="empty" role="status">Loading samples…</div>}
      </div>
      {snapshot.problem && (
        <div>
          <ErrorBox problem={snapshot.problem} />
          <button type="button" className="secondary" onClick={() => store?.retry()}>Try again</button>
        </div>
      )}
    </div>
  )
}

const ignore = () => undefined

const SampleRow = ({ sample, index, start, selection }: {
  readonly sample: SampleView
  readonly index: number
  readonly start: number
  readonly selection: Selection | undefined
}) => {
  const checked = selection?.isSelected(sample.id) ?? false
  // The click (mouse, or Space) carries the shift key; the box has already changed when it arrives.
  const onClick = (e: MouseEvent<HTMLInputElement>) => selection?.toggle(index, e.currentTarget.checked, e.shiftKey)
  return (
    <div role="row" className={`vrow${checked ? " selected" : ""}`} aria-rowindex={index + 2} style={{ transform: `translateY(${start}px)` }}>
      <div role="cell">
        {selection && <input type="checkbox" aria-label={`Select ${sample.sampleName}`} checked={checked} onChange={ignore} onClick={onClick} />}
      </div>
      <div role="cell" className="name"><Link to={`/samples/${sample.id}`}>{sample.sampleName}</Link></div>
      <div role="cell"><Badge kind={sample.status}>{STATUS_WORDS[sample.status]}</Badge></div>
      <div role="cell">{sample.currentStep ? STEP_NAMES[sample.currentStep] : "—"}</div>
      <div role="cell"><Badge kind={sample.priority} /></div>
      <div role="cell"><Badge kind={sample.sla.status}>{SLA_WORDS[sample.sla.status]}</Badge></div>
      <div role="cell">{formatTime(sample.updatedAt)}</div>
    </div>
  )
}
