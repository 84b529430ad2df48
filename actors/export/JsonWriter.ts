/**
 * JSON and NDJSON. JSON is one array of row objects, streamed: `[` then the rows separated by `,` and a line feed, then
 * `]`. NDJSON is one row object per line, each line ended by LF. A row object has a key per chosen column id, in the
 * chosen order; null is written as null (the key is always there); dates are ISO 8601 strings (UTC); numbers, booleans
 * and text keep their JSON types. Text is cleaned as in every format (ExportText.ts).
 */
import type { Writable } from "node:stream"
import type { ColumnSpec, ExportRow, ExportValue } from "./ExportColumns.ts"
import { cleanText, isoTime } from "./ExportText.ts"
import { TextRowWriter, type TextEncoder } from "./RowWriter.ts"

/** One value as JSON text. */
export const jsonValue = (v: ExportValue): string => {
  if (v === null) return "null"
  if (typeof v === "string") return JSON.stringify(cleanText(v))
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null"
  if (typeof v === "boolean") return v ? "true" : "false"
  const ms = v.getTime()
  return Number.isNaN(ms) ? "null" : `"${isoTime(ms)}"`
}

/** One row as a JSON object text, keys in column order. */
const objectOf = (columns: ReadonlyArray<ColumnSpec>) => {
  const keys = columns.map((c, i) => (i === 0 ? "{" : ",") + JSON.stringify(c.id) + ":")
  const n = keys.length
  return (row: ExportRow): string => {
    if (n === 0) return "{}"
    let out = ""
    for (let i = 0; i < n; i++) {
      const v = row[i]
      out += keys[i]! + jsonValue(v === undefined ? null : v)
    }
    return out + "}"
  }
}

/** The JSON (one array) encoder of `columns`. */
export const jsonEncoder = (columns: ReadonlyArray<ColumnSpec>): TextEncoder => {
  const object = objectOf(columns)
  return {
    head: () => "[",
    row: (row, index) => (index === 0 ? "\n" : ",\n") + object(row),
    tail: (rows) => (rows === 0 ? "]\n" : "\n]\n")
  }
}

/** The NDJSON encoder of `columns`. */
export const ndjsonEncoder = (columns: ReadonlyArray<ColumnSpec>): TextEncoder => {
  const object = objectOf(columns)
  return { head: () => "", row: (row) => object(row) + "\n", tail: () => "" }
}

/** A streaming JSON writer (one array) of `columns` into `sink`. */
export const jsonWriter = (columns: ReadonlyArray<ColumnSpec>, sink: Writable): TextRowWriter =>
  new TextRowWriter("json", jsonEncoder(columns), sink)

/** A streaming NDJSON writer of `columns` into `sink`. */
export const ndjsonWriter = (columns: ReadonlyArray<ColumnSpec>, sink: Writable): TextRowWriter =>
  new TextRowWriter("ndjson", ndjsonEncoder(columns), sink)
