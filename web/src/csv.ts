/**
 * A CSV file of samples, read in the browser (papaparse: quotes, embedded newlines, comma, semicolon or tab as the
 * delimiter): its header row names the columns by field name or label; each line below is one sample row. Nothing is
 * sent from here: the rows go to the grid, which checks each with the contract's schema.
 */
import Papa from "papaparse"
import { columnOf, columnOfHeader, isRowNumberHeader, normalizeCell, type RowKey } from "./components/SheetColumns.ts"

/** The most rows a submission holds (the contract's `samples` maxItems). */
export const MAX_ROWS = 500

/** What a CSV file gave: its rows (cell texts), the headers not understood, and problems with the file as a whole. */
export interface CsvRead {
  readonly rows: Array<Partial<Record<RowKey, string>>>
  /** Header cells that name no field: their columns are not read. */
  readonly ignored: Array<string>
  /** Problems with the file itself (no sample-name column, nothing in it, too many rows, broken quoting), by row. */
  readonly problems: Array<{ readonly row: number | undefined; readonly message: string }>
}

/** Reads a CSV text: the first non-empty line is the header; data rows are numbered 1, 2, … from the line under it. */
export const readCsv = (text: string): CsvRead => {
  const parsed = Papa.parse<Array<string>>(text.replace(/^\uFEFF/, ""), { skipEmptyLines: false })
  const lines = parsed.data.filter((cells) => Array.isArray(cells))
  while (lines.length > 0 && lines[0]!.every((c) => c.trim() === "")) lines.shift()
  while (lines.length > 0 && lines[lines.length - 1]!.every((c) => c.trim() === "")) lines.pop()
  const problems: Array<{ row: number | undefined; message: string }> = []
  const header = lines.shift()
  if (header === undefined) return { rows: [], ignored: [], problems: [{ row: undefined, message: "the file is empty" }] }
  const keys = header.map((h) => columnOfHeader(h))
  const ignored = header.filter((h, i) => keys[i] === undefined && !isRowNumberHeader(h)).map((h) => h.trim())
  const seen = new Set<RowKey>()
  keys.forEach((k, i) => {
    if (k === undefined) return
    if (seen.has(k)) problems.push({ row: undefined, message: `the header names "${columnOf(k).label}" twice (column ${i + 1})` })
    seen.add(k)
  })
  if (!seen.has("sampleName")) {
    problems.push({
      row: undefined,
      message: `no column of sample names: the first line must be a header such as "sampleName,volumeUl,…" or "Sample name,Volume (µL),…" (it reads "${header.join(",").slice(0, 80)}")`
    })
  }
  for (const e of parsed.errors) {
    // papaparse counts rows from the header (row 0); ours count data rows from 1.
    if (e.type === "Quotes") problems.push({ row: typeof e.row === "number" ? e.row : undefined, message: `a quoted cell is not closed (${e.message})` })
  }
  if (lines.length === 0) problems.push({ row: undefined, message: "there are no sample rows under the header line" })
  if (lines.length > MAX_ROWS) problems.push({ row: undefined, message: `the file has ${lines.length} rows; a submission holds at most ${MAX_ROWS}` })
  const rows = lines.slice(0, MAX_ROWS).map((cells, i) => {
    const row: Partial<Record<RowKey, string>> = {}
    cells.forEach((cell, j) => {
      const key = keys[j]
      if (key !== undefined) row[key] = normalizeCell(columnOf(key), cell.trim())
      else if (j >= header.length && cell.trim() !== "") {
        problems.push({ row: i + 1, message: `has a value in column ${j + 1} ("${cell.trim().slice(0, 40)}"), beyond the ${header.length} columns of the header` })
      }
    })
    return row
  })
  return { rows, ignored, problems }
}
