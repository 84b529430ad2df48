/**
 * The sample grid: one row per sample, one cell per field, like a spreadsheet. Enter and the arrow keys move between
 * cells; pasting tab-separated text (a block copied from a spreadsheet, with or without its header line) fills rows and
 * columns from the focused cell, adding rows as needed. Each cell at fault is marked invalid and described by its
 * message (the page lists the messages). Only the rows near the visible ones are in the page (a grid of 500 rows has
 * 9,000 controls; typing in one stays instant).
 */
import { useVirtualizer } from "@tanstack/react-virtual"
import Papa from "papaparse"
import { memo, useEffect, useImperativeHandle, useRef, useState, type ClipboardEvent, type Dispatch, type KeyboardEvent, type Ref, type SetStateAction } from "react"
import { MAX_ROWS } from "../csv.ts"
import { COLUMNS, columnOf, columnOfHeader, newRow, normalizeCell, type CellErrors, type Column, type RowKey, type SheetRow } from "./SheetColumns.ts"

/** The id of the element that holds the message of one cell (the page's problem list renders it). */
export const cellErrorId = (rowId: number, key: RowKey) => `cell-error-${rowId}-${key}`

/** True when a pasted first line names columns (most of its cells are field names or labels) rather than holding data. */
const isHeaderLine = (cells: ReadonlyArray<string>) => {
  const filled = cells.filter((c) => c.trim() !== "")
  const named = filled.filter((c) => columnOfHeader(c) !== undefined).length
  return named > 0 && named * 2 >= filled.length && (named >= 2 || filled.length === 1)
}

/**
 * Pastes `text` (tab-separated lines) at row `r`, column `c`: with a header line, each pasted column goes to the field
 * it names; without, to the grid's columns from `c` rightwards. Returns the new rows and a sentence saying what happened.
 */
export const pasteInto = (rows: ReadonlyArray<SheetRow>, r: number, c: number, text: string): { rows: Array<SheetRow>; said: string } => {
  const parsed = Papa.parse<Array<string>>(text.replace(/\r\n?/g, "\n").replace(/\n+$/, ""), { delimiter: "\t", newline: "\n", quoteChar: "\"" })
  let lines = parsed.data.filter((l) => Array.isArray(l))
  let targets: Array<RowKey | undefined>
  let ignored: Array<string> = []
  const header = lines[0] !== undefined && isHeaderLine(lines[0])
  if (header) {
    targets = lines[0]!.map((h) => columnOfHeader(h))
    ignored = lines[0]!.filter((h, j) => targets[j] === undefined && h.trim() !== "")
    lines = lines.slice(1)
  } else {
    const width = Math.max(0, ...lines.map((l) => l.length))
    targets = Array.from({ length: width }, (_, j) => COLUMNS[c + j]?.key)
    const beyond = width - (COLUMNS.length - c)
    if (beyond > 0) ignored = [`${beyond} column${beyond === 1 ? "" : "s"} beyond the last one`]
  }
  const room = MAX_ROWS - r
  const cut = lines.length > room ? lines.length - room : 0
  lines = lines.slice(0, room)
  const next = rows.slice()
  while (next.length < r + lines.length) next.push(newRow())
  lines.forEach((cells, i) => {
    const row = next[r + i]!
    const updated = { ...row.cells }
    cells.forEach((value, j) => {
      const key = targets[j]
      if (key !== undefined) updated[key] = normalizeCell(columnOf(key), value)
    })
    next[r + i] = { id: row.id, cells: updated }
  })
  const said = [
    lines.length === 0 ? "Nothing to paste below the header line." : `Pasted ${lines.length} row${lines.length === 1 ? "" : "s"} into rows ${r + 1}–${r + lines.length}${header ? ", columns matched by the header line" : ""}.`,
    ignored.length > 0 ? `Not pasted: ${ignored.join(", ")}.` : "",
    cut > 0 ? `${cut} rows beyond row ${MAX_ROWS} were left out (a submission holds at most ${MAX_ROWS}).` : ""
  ].filter((s) => s !== "").join(" ")
  return { rows: next, said }
}

interface CellProps {
  readonly column: Column
  readonly r: number
  readonly c: number
  readonly rowId: number
  readonly value: string
  readonly error: string | undefined
  readonly onChange: (r: number, key: RowKey, value: string) => void
}

const Cell = ({ column, r, c, rowId, value, error, onChange }: CellProps) => {
  const common = {
    "data-r": r,
    "data-c": c,
    "aria-label": `${column.label}, row ${r + 1}`,
    "aria-invalid": error !== undefined,
    ...(error !== undefined ? { "aria-describedby": cellErrorId(rowId, column.key), title: error } : {})
  }
  const kind = column.kind
  if (kind.kind === "choice" || kind.kind === "boolean") {
    const choices = kind.kind === "choice" ? kind.choices : ["yes", "no"]
    return (
      <select {...common} value={value} onChange={(e) => onChange(r, column.key, e.target.value)}>
        <option value="">—</option>
        {choices.map((ch) => <option key={ch} value={ch}>{ch}</option>)}
        {value !== "" && !choices.includes(value) && <option value={value}>{value} (not allowed)</option>}
      </select>
    )
  }
  return (
    <input {...common} type="text" autoComplete="off" spellCheck={false} inputMode={kind.kind === "number" ? "decimal" : "text"}
      value={value} onChange={(e) => onChange(r, column.key, e.target.value)} />
  )
}

interface RowProps {
  readonly row: SheetRow
  readonly r: number
  readonly errors: CellErrors | undefined
  readonly onChange: (r: number, key: RowKey, value: string) => void
  readonly onRemove: (r: number) => void
  readonly measure: (el: HTMLTableRowElement | null) => void
}

const sameErrors = (a: CellErrors | undefined, b: CellErrors | undefined) =>
  a === b || (a !== undefined && b !== undefined && COLUMNS.every((col) => a[col.key] === b[col.key]))

/** One row; re-rendered only when its cells, its errors or its position change (a grid of 500 rows stays quick). */
const Row = memo(({ row, r, errors, onChange, onRemove, measure }: RowProps) => (
  <tr ref={measure} data-index={r} aria-rowindex={r + 2} className={errors !== undefined && Object.keys(errors).length > 0 ? "bad" : undefined}>
    <th scope="row" className="rownum">
      <span>{r + 1}</span>
      <button type="button" className="remove" aria-label={`Remove row ${r + 1}`} title={`Remove row ${r + 1}`} onClick={() => onRemove(r)}>×</button>
    </th>
    {COLUMNS.map((column, c) => (
      <td key={column.key}>
        <Cell column={column} r={r} c={c} rowId={row.id} value={row.cells[column.key] ?? ""} error={errors?.[column.key]} onChange={onChange} />
      </td>
    ))}
  </tr>
), (a, b) => a.row === b.row && a.r === b.r && a.onChange === b.onChange && a.onRemove === b.onRemove && a.measure === b.measure && sameErrors(a.errors, b.errors))

/** What the page may ask of the grid: to show and focus one cell (the problem list's "go to"). */
export interface SheetHandle {
  readonly focusCell: (r: number, key: RowKey) => void
}

/** A row's height before it is measured (one line of controls). */
const ROW_HEIGHT = 33

/** The grid; `errors[i]` are the messages of row i's cells. */
export const Sheet = ({ rows, setRows, errors, caption, handle }: {
  readonly rows: ReadonlyArray<SheetRow>
  readonly setRows: Dispatch<SetStateAction<Array<SheetRow>>>
  readonly errors: ReadonlyArray<CellErrors | undefined>
  readonly caption: string
  readonly handle?: Ref<SheetHandle>
}) => {
  const tableRef = useRef<HTMLTableElement>(null)
  const scrollRef = useRef<HTMLDivElement>(null)
  const [said, setSaid] = useState("")
  const pendingFocus = useRef<{ r: number; c: number } | null>(null)
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
    // Below the sticky header row.
    scrollPaddingStart: ROW_HEIGHT
  })

  /** Focuses a cell; a row out of the page is scrolled to first and focused once it is drawn. */
  const focusCell = (r: number, c: number) => {
    const el = tableRef.current?.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-r="${r}"][data-c="${c}"]`)
    if (!el) {
      if (r < 0 || r >= rows.length) return false
      pendingFocus.current = { r, c }
      virtualizer.scrollToIndex(r, { align: "auto" })
      return false
    }
    pendingFocus.current = null
    el.focus()
    if (el instanceof HTMLInputElement) el.select()
    return true
  }
  useEffect(() => {
    const p = pendingFocus.current
    if (p !== null) focusCell(p.r, p.c)
  })
  useImperativeHandle(handle, () => ({ focusCell: (r, key) => focusCell(r, COLUMNS.findIndex((col) => col.key === key)) }))

  const onChange = useRef((r: number, key: RowKey, value: string) =>
    setRows((old) => old.map((row, i) => (i === r ? { id: row.id, cells: { ...row.cells, [key]: value } } : row)))).current
  const onRemove = useRef((r: number) => {
    setRows((old) => {
      const next = old.filter((_, i) => i !== r)
      // The keyboard stays where it was: on the row that took the removed one's place.
      pendingFocus.current = { r: Math.min(r, Math.max(0, next.length - 1)), c: 0 }
      return next.length === 0 ? [newRow()] : next
    })
    setSaid(`Row ${r + 1} removed.`)
  }).current

  const positionOf = (target: EventTarget) => {
    if (!(target instanceof HTMLElement) || target.dataset.r === undefined || target.dataset.c === undefined) return undefined
    return { r: Number(target.dataset.r), c: Number(target.dataset.c), el: target }
  }

  const onKeyDown = (e: KeyboardEvent<HTMLTableElement>) => {
    const at = positionOf(e.target)
    if (at === undefined || e.altKey || e.ctrlKey || e.metaKey) return
    const { r, c, el } = at
    const input = el instanceof HTMLInputElement ? el : undefined
    const caretAtStart = input === undefined || (input.selectionStart === 0 && input.selectionEnd === 0) || (input.selectionStart === 0 && input.selectionEnd === input.value.length)
    const caretAtEnd = input === undefined || (input.selectionStart === input.value.length && input.selectionEnd === input.value.length) || (input.selectionStart === 0 && input.selectionEnd === input.value.length)
    let to: { r: number; c: number } | undefined
    if (e.key === "Enter") {
      to = { r: e.shiftKey ? r - 1 : r + 1, c }
      if (!e.shiftKey && r + 1 >= rows.length && rows.length < MAX_ROWS) {
        setRows((old) => [...old, newRow()])
        pendingFocus.current = to
        e.preventDefault()
        return
      }
    } else if (e.key === "ArrowDown") to = { r: r + 1, c }
    else if (e.key === "ArrowUp") to = { r: r - 1, c }
    else if (e.key === "ArrowLeft" && caretAtStart) to = { r, c: c - 1 }
    else if (e.key === "ArrowRight" && caretAtEnd) to = { r, c: c + 1 }
    if (to === undefined) return
    e.preventDefault()
    if (to.r >= 0 && to.r < rows.length && to.c >= 0 && to.c < COLUMNS.length) focusCell(to.r, to.c)
  }

  const onPaste = (e: ClipboardEvent<HTMLTableElement>) => {
    const at = positionOf(e.target)
    if (at === undefined) return
    const text = e.clipboardData.getData("text/plain")
    const single = !/[\t\n\r]/.test(text.replace(/[\r\n]+$/, ""))
    if (single && at.el instanceof HTMLInputElement) return // an ordinary paste into one cell
    e.preventDefault()
    if (single) {
      const column = COLUMNS[at.c]!
      onChange(at.r, column.key, normalizeCell(column, text.trim()))
      return
    }
    const result = pasteInto(rows, at.r, at.c, text)
    setRows(result.rows)
    setSaid(result.said)
  }

  const items = virtualizer.getVirtualItems()
  const above = items[0]?.start ?? 0
  const below = virtualizer.getTotalSize() - (items[items.length - 1]?.end ?? 0)
  const spacer = (height: number) => (
    <tr aria-hidden="true" className="spacer" style={{ height }}><td colSpan={COLUMNS.length + 1} /></tr>
  )

  return (
    <div>
      <div className="sheet" role="region" aria-label={caption} ref={scrollRef}>
        <table ref={tableRef} onKeyDown={onKeyDown} onPaste={onPaste} aria-rowcount={rows.length + 1}>
          <caption className="visually-hidden">{caption}</caption>
          <colgroup>
            <col style={{ width: "4.2rem" }} />
            {COLUMNS.map((col) => <col key={col.key} style={{ width: col.width }} />)}
          </colgroup>
          <thead>
            <tr aria-rowindex={1}>
              <th scope="col">Row</th>
              {COLUMNS.map((col) => <th key={col.key} scope="col" title={col.key}>{col.label}</th>)}
            </tr>
          </thead>
          <tbody>
            {above > 0 && spacer(above)}
            {items.map((v) => {
              const row = rows[v.index]!
              return <Row key={row.id} row={row} r={v.index} errors={errors[v.index]} onChange={onChange} onRemove={onRemove} measure={virtualizer.measureElement} />
            })}
            {below > 0 && spacer(below)}
          </tbody>
        </table>
      </div>
      <p className="hint sheet-status" role="status" aria-live="polite">{said}</p>
    </div>
  )
}
