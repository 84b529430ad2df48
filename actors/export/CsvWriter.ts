/**
 * CSV as RFC 4180 writes it: UTF-8, records ended by CRLF (the last one too), a header record of column headers, and a
 * field quoted (with `"` doubled) exactly when it holds `"`, `,`, CR or LF.
 *
 * Formula-injection guard (on by default): a text field whose first character is `=`, `+`, `-`, `@`, tab or CR would
 * be run as a formula by Excel, LibreOffice or Google Sheets when the file is opened there (OWASP "CSV injection"), so
 * it is written with a leading `'`, which spreadsheets show as text and programs can strip. Only text columns are
 * guarded: numbers (a negative number starts with `-`), dates and booleans are never changed. Text is first cleaned
 * as in every format (ExportText.ts).
 */
import type { Writable } from "node:stream"
import type { ColumnSpec, ExportValue } from "./ExportColumns.ts"
import { cleanText, isoTime } from "./ExportText.ts"
import { TextRowWriter, type TextEncoder } from "./RowWriter.ts"

/** CSV choices; the defaults are what an export job uses. */
export interface CsvOptions {
  /** Prefix `'` to text fields that a spreadsheet would run as a formula (default true). */
  readonly formulaGuard?: boolean | undefined
  /** Start the file with a UTF-8 byte-order mark, for Excel's sake (default false: RFC 4180 has none). */
  readonly bom?: boolean | undefined
  /** The record separator (default CRLF, as RFC 4180 says; the MinKNOW sheet uses LF). */
  readonly newline?: "\r\n" | "\n" | undefined
}

const NEEDS_QUOTES = /[",\r\n]/
const QUOTE = /"/g
const FORMULA_START = /^[=+\-@\t\r]/
/** Anything that may need cleaning, guarding or quoting; most fields have none of it and are written as they are. */
const ATTENTION = /[\u0000-\u001F",\uD800-\uDFFF\uFFFE\uFFFF]|^[=+\-@]/

/** One text field: cleaned, guarded when asked, quoted when RFC 4180 requires it. */
export const csvText = (s: string, formulaGuard: boolean): string => {
  if (!ATTENTION.test(s)) return s
  let t = cleanText(s)
  if (formulaGuard && FORMULA_START.test(t)) t = "'" + t
  return NEEDS_QUOTES.test(t) ? `"${t.replace(QUOTE, '""')}"` : t
}

/** One field of any type: empty for null, ISO 8601 (UTC) for dates, `true`/`false`, numbers as JavaScript prints them. */
export const csvField = (v: ExportValue, formulaGuard: boolean): string => {
  if (v === null) return ""
  if (typeof v === "string") return csvText(v, formulaGuard)
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : ""
  if (typeof v === "boolean") return v ? "true" : "false"
  const ms = v.getTime()
  return Number.isNaN(ms) ? "" : isoTime(ms)
}

/** The CSV encoder of `columns`. */
export const csvEncoder = (columns: ReadonlyArray<ColumnSpec>, options: CsvOptions = {}): TextEncoder => {
  const guard = options.formulaGuard ?? true
  const nl = options.newline ?? "\r\n"
  const n = columns.length
  return {
    head: () => (options.bom === true ? "\uFEFF" : "") + columns.map((c) => csvText(c.header, guard)).join(",") + nl,
    row: (row) => {
      let line = ""
      for (let i = 0; i < n; i++) {
        const v = row[i]
        line += (i === 0 ? "" : ",") + csvField(v === undefined ? null : v, guard)
      }
      return line + nl
    },
    tail: () => ""
  }
}

/** A streaming CSV writer of `columns` into `sink`. */
export const csvWriter = (columns: ReadonlyArray<ColumnSpec>, sink: Writable, options: CsvOptions = {}): TextRowWriter =>
  new TextRowWriter("csv", csvEncoder(columns, options), sink)
