/**
 * The sample table: found by its header (repeated on every page, one or two lines, any column order), read row by
 * row. Cells are matched to columns by alignment with the header (left, right or centre aligned), in column order,
 * so blank cells never shift a value into the wrong column. Handles wrapped names (lines above and below a row's
 * baseline), units inside cells, comma decimals, empty row slots, and control and BLANK rows.
 */
import { evidenceOf, type Line, type PlacedItem, type Reading, looksNumeric } from "./FormLines.ts"
import { matchLabel } from "./LabelledFields.ts"
import { groupOfLabel } from "./OptionGroups.ts"
import type { SampleRow } from "./SubmissionForm.ts"
import {
  concentrationUnits,
  type DecimalStyle,
  detectDecimalStyle,
  headerUnitFactor,
  isBlank,
  normalizeLabel,
  parseNumber,
  volumeUnits
} from "./ValueParsers.ts"

/** What a column holds. `other` columns (barcode, tube label, notes) are read past, not reported. */
export type ColumnKind = "row" | "name" | "volumeUl" | "qubitNgUl" | "nanodropNgUl" | "a260_280" | "a260_230" | "control" | "other"

/** A header cell: its kind, text, horizontal extent and unit factor. */
export interface Column {
  readonly kind: ColumnKind
  readonly text: string
  readonly x0: number
  readonly x1: number
  readonly factor: number
}

const NUMERIC_KINDS: ReadonlySet<ColumnKind> = new Set(["volumeUl", "qubitNgUl", "nanodropNgUl", "a260_280", "a260_230"])

/** The kind of a header cell from its words. Order matters: "Nanodrop conc." is nanodrop, not Qubit. */
export const columnKind = (header: string): ColumnKind => {
  const h = normalizeLabel(header)
  if (/^(#|no\.?|nr\.?|n°|row|row #|pos\.?|position|s\/n|sample #|sample no\.?|line|item|well)$/.test(h)) return "row"
  if (/260\s*\/\s*a?\s*280|\b280\b/.test(h)) return "a260_280"
  if (/260\s*\/\s*a?\s*230|\b230\b/.test(h)) return "a260_230"
  if (/nano ?drop|\bnd\b|spectro|uv conc/.test(h)) return "nanodropNgUl"
  if (/qubit|\bqb\b|dsdna|fluoro|conc(entration|\.)?\b/.test(h)) return "qubitNgUl"
  if (/\bvol(ume|\.)?\b|\bvol\b/.test(h)) return "volumeUl"
  if (/^(control|ctrl|control\?|control type|sample role|role)$/.test(h)) return "control"
  if (
    /sample (name|id|identifier|label|code)|^(name|sample|id|sample_id|sample_name|specimen|specimen id|your sample id|library (name|id)|isolate|strain|sample description)$/.test(h)
  ) return "name"
  return "other"
}

/** A found table header: its columns and the lines it spans. */
interface Header {
  readonly page: number
  readonly top: number
  readonly bottom: number
  readonly height: number
  readonly columns: ReadonlyArray<Column>
}

const hasNumber = (line: Line) => line.items.some((t) => looksNumeric(t.str))

/** Header cells: items of the band merged where they overlap horizontally (a two-line "Vol / (uL)"). */
const headerCells = (band: ReadonlyArray<Line>): Array<Column> => {
  const items = band.flatMap((l) => l.items).sort((a, b) => a.x - b.x)
  const groups: Array<Array<PlacedItem>> = []
  for (const t of items) {
    const g = groups.find((g) =>
      g.some((o) => Math.min(o.x + o.width, t.x + t.width) - Math.max(o.x, t.x) > -0.5 && Math.abs(o.y - t.y) > 0.5)
    )
    if (g) g.push(t)
    else groups.push([t])
  }
  return groups
    .map((g) => {
      const sorted = [...g].sort((a, b) => b.y - a.y || a.x - b.x)
      const text = sorted.map((t) => t.str).join(" ")
      const kind = columnKind(text)
      return {
        kind,
        text,
        x0: Math.min(...g.map((t) => t.x)),
        x1: Math.max(...g.map((t) => t.x + t.width)),
        factor:
          kind === "volumeUl" ? headerUnitFactor(text, "volume") : kind === "qubitNgUl" || kind === "nanodropNgUl" ? headerUnitFactor(text, "concentration") : 1
      }
    })
    .sort((a, b) => a.x0 - b.x0)
}

const isHeader = (columns: ReadonlyArray<Column>) => {
  const kinds = new Set(columns.map((c) => c.kind))
  const numeric = [...kinds].filter((k) => NUMERIC_KINDS.has(k)).length
  return kinds.has("name") && numeric >= 2
}

/** Header lines of the document: a line (with the lines just above and below it) whose cells name the columns. */
const findHeaders = (lines: ReadonlyArray<Line>): Array<{ header: Header; index: number; last: number }> => {
  const found: Array<{ header: Header; index: number; last: number }> = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (hasNumber(line) && line.items.filter((t) => looksNumeric(t.str)).length > 1) continue
    const band: Array<Line> = [line]
    let first = i
    let last = i
    // Lines just above and below that continue the header cells ("Vol" over "(uL)"): close, short, no numbers.
    const headerLike = (l: Line, neighbour: Line) =>
      l.page === line.page &&
      Math.abs(neighbour.y - l.y) <= 1.3 * Math.max(line.height, l.height) &&
      !hasNumber(l) &&
      l.items.every((t) => t.str.length <= 24)
    for (let j = i - 1; j >= Math.max(0, i - 2) && headerLike(lines[j]!, lines[j + 1]!); j--) {
      band.unshift(lines[j]!)
      first = j
    }
    for (let j = i + 1; j < Math.min(lines.length, i + 3) && headerLike(lines[j]!, lines[j - 1]!); j++) {
      band.push(lines[j]!)
      last = j
    }
    const columns = headerCells(band)
    if (!isHeader(columns)) continue
    // The same header seen from its neighbouring line: keep the first.
    if (found.some((f) => f.header.page === line.page && f.last >= first)) continue
    found.push({
      header: { page: line.page, top: lines[first]!.y, bottom: lines[last]!.y, height: line.height, columns },
      index: first,
      last
    })
  }
  return found
}

/** Distance between an item and a column, whichever way the column aligns its cells. */
const alignment = (t: PlacedItem, c: Column) => {
  const l = t.x
  const r = t.x + t.width
  if (l >= c.x0 - 1 && r <= c.x1 + 1) return 0
  if (l <= c.x0 && r >= c.x1) return 0
  return Math.min(Math.abs(l - c.x0), Math.abs(r - c.x1), Math.abs((l + r) / 2 - (c.x0 + c.x1) / 2))
}

const typePenalty = (t: PlacedItem, c: Column) => {
  if (c.kind === "row") return /^\d{1,4}\.?$/.test(t.str.trim()) ? 0 : 60
  if (NUMERIC_KINDS.has(c.kind)) return looksNumeric(t.str) || isBlank(t.str) ? 0 : 40
  return 0
}

/**
 * Assigns a line's items (left to right) to columns (left to right), each item to one column, never going back:
 * the cheapest monotone assignment. Text columns may take several items (a name split in two runs).
 */
export const assignCells = (items: ReadonlyArray<PlacedItem>, columns: ReadonlyArray<Column>): Array<number> => {
  const n = items.length
  const m = columns.length
  if (n === 0 || m === 0) return []
  const cost = (i: number, j: number) => alignment(items[i]!, columns[j]!) + typePenalty(items[i]!, columns[j]!)
  const dp: Array<Array<number>> = Array.from({ length: n }, () => Array<number>(m).fill(Infinity))
  const from: Array<Array<number>> = Array.from({ length: n }, () => Array<number>(m).fill(-1))
  for (let j = 0; j < m; j++) dp[0]![j] = cost(0, j)
  for (let i = 1; i < n; i++) {
    let best = Infinity
    let bestK = -1
    for (let j = 0; j < m; j++) {
      const c = cost(i, j)
      const kind = columns[j]!.kind
      const share = kind === "name" || kind === "other" ? 4 : 1000
      const stay = dp[i - 1]![j]! + share
      if (best < stay) {
        dp[i]![j] = best + c
        from[i]![j] = bestK
      } else {
        dp[i]![j] = stay + c
        from[i]![j] = j
      }
      if (dp[i - 1]![j]! < best) {
        best = dp[i - 1]![j]!
        bestK = j
      }
    }
  }
  let j = 0
  for (let k = 1; k < m; k++) if (dp[n - 1]![k]! < dp[n - 1]![j]!) j = k
  const out = Array<number>(n).fill(0)
  for (let i = n - 1; i >= 0; i--) {
    out[i] = j
    j = from[i]![j] ?? j
  }
  return out
}

/** Joins the lines of a wrapped cell: "size-" + "selected" → "size-selected", "HMW" + "extraction" → "HMW extraction". */
export const joinWrapped = (parts: ReadonlyArray<string>): string =>
  parts.reduce((acc, part) => {
    const p = part.trim()
    if (acc === "") return p
    if (/[^\s-]-$/.test(acc)) return acc + p
    return `${acc} ${p}`
  }, "")

const BLANK_CONTROL = /^(blank|ntc|no[- ]template( control)?|negative( control)?|neg\.? ?ctrl|neg\.? control|water( blank)?|reagent blank|extraction blank|empty)\b/i
const POSITIVE_CONTROL = /^(positive( control)?|pos\.? ?ctrl|pos\.? control|pc|lambda( dna)? control)\b|positive control/i

/** A control row from its name (or its control column): "BLANK", "NTC" → blank; "Positive control - lambda" → positive. */
export const controlOf = (name: string | null, cell: string | null): "positive" | "blank" | null => {
  const c = cell?.trim().toLowerCase() ?? ""
  if (c !== "" && !isBlank(c)) {
    if (/pos/.test(c)) return "positive"
    if (/blank|neg|ntc/.test(c)) return "blank"
  }
  if (name === null) return null
  if (POSITIVE_CONTROL.test(name.trim())) return "positive"
  if (BLANK_CONTROL.test(name.trim())) return "blank"
  return null
}

/** A sample row with a reading (confidence and evidence) for each of its fields. */
export interface TableRow {
  readonly row: Reading<number>
  readonly fields: { readonly [K in Exclude<keyof SampleRow, "row">]: Reading<SampleRow[K]> }
}

/** The sample table of a document: its rows, the ids of the items it used, and what it could not read. */
export interface SampleTable {
  readonly rows: ReadonlyArray<TableRow>
  readonly usedItems: ReadonlySet<number>
  readonly warnings: ReadonlyArray<string>
  readonly found: boolean
}

interface BodyLine {
  readonly line: Line
  readonly cells: ReadonlyArray<{ item: PlacedItem; column: Column }>
}

/** The lines under a header that belong to its table: stops at a heading, a change of font size or a wide gap. */
const bodyOf = (lines: ReadonlyArray<Line>, start: number, header: Header): Array<BodyLine> => {
  const body: Array<BodyLine> = []
  const left = Math.min(...header.columns.map((c) => c.x0))
  const right = Math.max(...header.columns.map((c) => c.x1))
  let size = header.height
  let previousY = header.bottom
  let pitch = 0
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!
    if (line.page !== header.page) break
    const gap = previousY - line.y
    const limit = pitch > 0 ? Math.max(3.2 * pitch, 3 * size) : 4 * size
    if (gap > limit) break
    const sizes = line.items.map((t) => t.height)
    const lineSize = sizes.reduce((a, b) => a + b, 0) / sizes.length
    if (Math.abs(lineSize - size) > 0.22 * size) break
    if (line.items.some((t) => t.x > right + 3 * size)) break
    // A form label starting a line without numbers: the form goes on after the table.
    const head = line.items[0]
    if (head && head.x < left && !line.items.some((t) => looksNumeric(t.str)) && (matchLabel(head.str) !== null || groupOfLabel(head.str) !== null)) break
    if (body.length === 0) size = lineSize
    const assigned = assignCells(line.items, header.columns)
    body.push({ line, cells: line.items.map((item, k) => ({ item, column: header.columns[assigned[k]!]! })) })
    if (gap > 0 && (pitch === 0 || gap < pitch * 1.6)) pitch = pitch === 0 ? gap : Math.min(pitch, gap) * 0.5 + pitch * 0.5
    previousY = line.y
  }
  return body
}

/**
 * Second pass: each column widened to where its cells actually are on full rows (a left-aligned name starts well
 * left of a centred header), then every line assigned again, so a lone wrapped fragment ("06") finds its column.
 */
const refine = (body: ReadonlyArray<BodyLine>, header: Header): Array<BodyLine> => {
  const full = body.filter((b) => b.cells.length >= 3)
  if (full.length === 0) return [...body]
  const columns = header.columns.map((c): Column => {
    const cells = full.flatMap((b) => b.cells.filter((k) => k.column === c)).map((k) => k.item)
    if (cells.length === 0) return c
    return { ...c, x0: Math.min(c.x0, ...cells.map((t) => t.x)), x1: Math.max(c.x1, ...cells.map((t) => t.x + t.width)) }
  })
  // Widened columns must not overlap; where they would, the boundary goes midway.
  for (let k = 1; k < columns.length; k++) {
    const a = columns[k - 1]!
    const b = columns[k]!
    if (a.x1 > b.x0) {
      const mid = (Math.max(a.x0, header.columns[k - 1]!.x1) + Math.min(b.x1, header.columns[k]!.x0)) / 2
      columns[k - 1] = { ...a, x1: Math.min(a.x1, mid) }
      columns[k] = { ...b, x0: Math.max(b.x0, mid) }
    }
  }
  return body.map((b) => {
    const items = b.cells.map((c) => c.item)
    const assigned = assignCells(items, columns)
    return { line: b.line, cells: items.map((item, k) => ({ item, column: header.columns[assigned[k]!]! })) }
  })
}

const isAnchor = (b: BodyLine) =>
  b.cells.some((c) => c.column.kind === "row" && /^\d{1,4}\.?$/.test(c.item.str.trim())) ||
  b.cells.some((c) => NUMERIC_KINDS.has(c.column.kind) && looksNumeric(c.item.str))

/** Rows of one table segment: anchor lines (a row number or a value) with the wrapped lines nearest to them. */
const segmentRows = (body: ReadonlyArray<BodyLine>, hasRowColumn: boolean): Array<Array<BodyLine>> => {
  const anchors = body.filter((b) =>
    hasRowColumn ? b.cells.some((c) => c.column.kind === "row" && /^\d{1,4}\.?$/.test(c.item.str.trim())) : isAnchor(b)
  )
  if (anchors.length === 0) return body.map((b) => [b])
  const ys = anchors.map((a) => a.line.y)
  const gaps = ys.slice(1).map((y, k) => ys[k]! - y).sort((a, b) => a - b)
  const pitch = gaps[Math.floor(gaps.length / 2)] ?? 2 * (body[0]?.line.height ?? 8)
  const rows = new Map<BodyLine, Array<BodyLine>>(anchors.map((a) => [a, [a]]))
  const loose: Array<Array<BodyLine>> = []
  for (const b of body) {
    if (rows.has(b)) continue
    const nearest = anchors.reduce((best, a) => (Math.abs(a.line.y - b.line.y) < Math.abs(best.line.y - b.line.y) ? a : best))
    if (Math.abs(nearest.line.y - b.line.y) <= 0.62 * pitch || hasRowColumn) rows.get(nearest)!.push(b)
    else loose.push([b])
  }
  return [...rows.values(), ...loose].sort((a, b) => b[0]!.line.y - a[0]!.line.y)
}

const textOf = (cells: ReadonlyArray<{ item: PlacedItem }>) =>
  joinWrapped(
    [...cells]
      .sort((a, b) => b.item.y - a.item.y || a.item.x - b.item.x)
      .reduce<Array<{ y: number; text: string }>>((acc, c) => {
        const last = acc[acc.length - 1]
        if (last && Math.abs(last.y - c.item.y) < 0.5) last.text += ` ${c.item.str}`
        else acc.push({ y: c.item.y, text: c.item.str })
        return acc
      }, [])
      .map((p) => p.text)
  )

/** Reads every sample table in the document (one segment per page), in order. */
export const readSampleTable = (lines: ReadonlyArray<Line>): SampleTable => {
  const headers = findHeaders(lines)
  const warnings: Array<string> = []
  const usedItems = new Set<number>()
  const rows: Array<TableRow> = []
  if (headers.length === 0) return { rows, usedItems, warnings: ["no sample table header was found"], found: false }

  const segments: Array<{ header: Header; body: Array<BodyLine> }> = []
  const headerPages = new Set(headers.map((h) => h.header.page))
  for (const h of headers) {
    for (let k = h.index; k <= h.last; k++) for (const t of lines[k]!.items) usedItems.add(t.id)
    let body = refine(bodyOf(lines, h.last + 1, h.header), h.header)
    segments.push({ header: h.header, body })
    // A table that runs to the end of its page and goes on at the top of a page without a header of its own.
    let header = h.header
    while (body.length > 0) {
      const after = lines.indexOf(body[body.length - 1]!.line) + 1
      const next = lines[after]
      if (!next || next.page === header.page || headerPages.has(next.page) || next.page !== header.page + 1) break
      const rowOf = (b: BodyLine) => {
        const cell = b.cells.find((c) => c.column.kind === "row" && /^\d{1,4}\.?$/.test(c.item.str.trim()))
        return cell ? Number(cell.item.str.replace(".", "")) : null
      }
      const lastRow = body.map(rowOf).filter((n): n is number => n !== null).pop() ?? null
      const numericColumns = header.columns.filter((c) => NUMERIC_KINDS.has(c.kind)).length
      const fits = (l: Line) => {
        const assigned = assignCells(l.items, header.columns)
        const b: BodyLine = { line: l, cells: l.items.map((item, i) => ({ item, column: header.columns[assigned[i]!]! })) }
        // The next row number, or (without a row column) values sitting squarely in most value columns.
        if (lastRow !== null) return rowOf(b) === lastRow + 1
        const aligned = b.cells.filter((c) => NUMERIC_KINDS.has(c.column.kind) && looksNumeric(c.item.str) && alignment(c.item, c.column) <= 8)
        return aligned.length >= Math.ceil(numericColumns / 2)
      }
      const start = [after, after + 1, after + 2].find((k) => lines[k]?.page === next.page && fits(lines[k]!))
      if (start === undefined) break
      header = { ...header, page: next.page, top: lines[start]!.y + 1.5 * header.height, bottom: lines[start]!.y + 1.5 * header.height }
      body = refine(bodyOf(lines, start, header), header)
      if (body.length === 0) break
      warnings.push(`the sample table goes on at the top of page ${next.page} without its header; the columns of page ${h.header.page} were used`)
      segments.push({ header, body })
    }
  }
  const allCells = segments.flatMap((s) => s.body.flatMap((b) => b.cells.filter((c) => NUMERIC_KINDS.has(c.column.kind)).map((c) => c.item.str)))
  const style: DecimalStyle = detectDecimalStyle(allCells)
  let nextRow = 1
  for (const { body, header } of segments) {
    const hasRowColumn = header.columns.some((c) => c.kind === "row")
    for (const b of body) for (const c of b.cells) usedItems.add(c.item.id)
    for (const group of segmentRows(body, hasRowColumn)) {
      const cells = group.flatMap((b) => b.cells)
      const byKind = (kind: ColumnKind) => cells.filter((c) => c.column.kind === kind)
      const rowCells = byKind("row")
      const nameCells = byKind("name")
      const valueKinds = (["volumeUl", "qubitNgUl", "nanodropNgUl", "a260_280", "a260_230"] as const).map((k) => [k, byKind(k)] as const)
      if (nameCells.length === 0 && valueKinds.every(([, v]) => v.length === 0 || v.every((c) => isBlank(c.item.str)))) continue
      const rowText = rowCells.map((c) => c.item.str).join("").replace(/\.$/, "")
      const rowNumber = /^\d+$/.test(rowText) ? Number(rowText) : nextRow
      nextRow = rowNumber + 1
      const rowEvidence = evidenceOf(cells.map((c) => c.item).sort((a, b) => a.x - b.x))
      const name = nameCells.length > 0 ? textOf(nameCells) : null
      const wrapped = new Set(nameCells.map((c) => c.item.y)).size > 1
      const read = (kind: (typeof valueKinds)[number][0], found: ReadonlyArray<{ item: PlacedItem; column: Column }>): Reading<number | null> => {
        if (found.length === 0) return { value: null, confidence: 0.93, evidence: rowEvidence }
        const text = textOf(found)
        const units = kind === "volumeUl" ? volumeUnits : kind === "a260_280" || kind === "a260_230" ? {} : concentrationUnits
        const hasUnit = /[a-zµμ]/i.test(text)
        const value = parseNumber(text, style, hasUnit ? units : {})
        const factor = hasUnit ? 1 : found[0]!.column.factor
        if (value === null && !isBlank(text)) {
          warnings.push(`row ${rowNumber}: "${text}" under "${found[0]!.column.text}" is not a number`)
          return { value: null, confidence: 0.3, evidence: evidenceOf(found.map((c) => c.item)) }
        }
        const v = value === null ? null : Math.round(value * factor * 1e9) / 1e9
        const plain = /^-?\d+(\.\d+)?$/.test(text.trim())
        return { value: v, confidence: plain ? 0.97 : value === null ? 0.9 : 0.88, evidence: evidenceOf(found.map((c) => c.item)) }
      }
      const control = controlOf(name, byKind("control").map((c) => c.item.str).join(" ") || null)
      const fields = Object.fromEntries(valueKinds.map(([k, found]) => [k, read(k, found)])) as Record<
        (typeof valueKinds)[number][0],
        Reading<number | null>
      >
      rows.push({
        row: { value: rowNumber, confidence: rowCells.length > 0 ? 0.98 : 0.8, evidence: rowEvidence },
        fields: {
          name: {
            value: name,
            confidence: name === null ? 0.5 : wrapped ? 0.9 : 0.96,
            evidence: evidenceOf(nameCells.map((c) => c.item), name ?? undefined)
          },
          ...fields,
          control: { value: control, confidence: 0.95, evidence: rowEvidence }
        }
      })
    }
  }
  const seen = new Map<number, number>()
  for (const r of rows) seen.set(r.row.value, (seen.get(r.row.value) ?? 0) + 1)
  for (const [row, count] of seen) if (count > 1) warnings.push(`row number ${row} appears ${count} times in the sample table`)
  return { rows, usedItems, warnings, found: true }
}
