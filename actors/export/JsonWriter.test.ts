/** JSON and NDJSON: parsed back and compared row by row; hostile text; types kept. */
import { describe, expect, it } from "@effect/vitest"
import { EXPORT_COLUMNS, rowOf, type ColumnSpec, type ExportRow, type ExportValue } from "./ExportColumns.ts"
import { HOSTILE_TEXT } from "./HostileText.ts"
import { jsonWriter, ndjsonWriter } from "./JsonWriter.ts"
import { pumpRows } from "./RowWriter.ts"
import { syntheticSamples } from "./SyntheticSamples.ts"
import { MemorySink } from "./TestSinks.ts"

const COLUMNS: ReadonlyArray<ColumnSpec> = [
  { id: "text", header: "Text", type: "string", width: 10 },
  { id: "n", header: "N", type: "number", width: 5 },
  { id: "at", header: "At", type: "date", width: 20 },
  { id: "ok", header: "OK", type: "boolean", width: 5 }
]

const hostileRows = (): Array<ExportRow> =>
  HOSTILE_TEXT.map(([text], i) => [text, i % 2 === 0 ? i : -i - 0.25, i % 4 === 0 ? null : new Date(Date.UTC(2025, 0, 6, 9, i)), i % 3 === 0])

/** What JSON must give back for a row: dates as ISO text, the rest as is, text cleaned. */
const expectedJson = (columns: ReadonlyArray<ColumnSpec>, row: ExportRow, clean: (s: string) => string = (s) => s) =>
  Object.fromEntries(columns.map((c, i) => {
    const v: ExportValue = row[i] ?? null
    return [c.id, v instanceof Date ? v.toISOString() : typeof v === "string" ? clean(v) : v]
  }))

const cleaned = new Map(HOSTILE_TEXT)

const write = async (kind: "json" | "ndjson", columns: ReadonlyArray<ColumnSpec>, rows: Iterable<ExportRow>) => {
  const sink = new MemorySink()
  await pumpRows(kind === "json" ? jsonWriter(columns, sink) : ndjsonWriter(columns, sink), rows)
  return sink.text()
}

describe("JsonWriter", () => {
  it("JSON: one array of objects, keys in column order, types kept, hostile text cleaned", async () => {
    const rows = hostileRows()
    const text = await write("json", COLUMNS, rows)
    const back: unknown = JSON.parse(text)
    expect(back).toEqual(rows.map((r) => expectedJson(COLUMNS, r, (s) => cleaned.get(s) ?? s)))
    expect(Object.keys((back as Array<object>)[0]!)).toEqual(["text", "n", "at", "ok"])
    // Nothing a strict UTF-8 reader would refuse: the bytes decode without a replacement of their own.
    expect(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(text, "utf8"))).toBe(text)
  })

  it("NDJSON: one object per LF-ended line, the same objects as JSON", async () => {
    const rows = hostileRows()
    const text = await write("ndjson", COLUMNS, rows)
    expect(text.endsWith("\n")).toBe(true)
    const lines = text.slice(0, -1).split("\n")
    expect(lines.length).toBe(rows.length)
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(rows.map((r) => expectedJson(COLUMNS, r, (s) => cleaned.get(s) ?? s)))
  })

  it("an empty export is an empty array (JSON) or an empty file (NDJSON)", async () => {
    expect(JSON.parse(await write("json", COLUMNS, []))).toEqual([])
    expect(await write("ndjson", COLUMNS, [])).toBe("")
  })

  it("sample rows of every column come back row by row, in both", async () => {
    const rows = Array.from(syntheticSamples(300), rowOf(EXPORT_COLUMNS))
    const expected = rows.map((r) => expectedJson(EXPORT_COLUMNS, r))
    expect(JSON.parse(await write("json", EXPORT_COLUMNS, rows))).toEqual(expected)
    const nd = await write("ndjson", EXPORT_COLUMNS, rows)
    expect(nd.trimEnd().split("\n").map((l) => JSON.parse(l) as unknown)).toEqual(expected)
  })

  it("a huge string (4 MiB) is one intact value", async () => {
    const huge = "\"\\\n".repeat(1024 * 1024 + 1)
    const back = JSON.parse(await write("json", COLUMNS.slice(0, 1), [[huge]])) as Array<{ text: string }>
    expect(back[0]!.text).toBe(huge)
  })
})
