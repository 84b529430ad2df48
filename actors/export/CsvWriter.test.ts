/** CSV: written, parsed back with a real RFC 4180 parser (papaparse), compared row by row; hostile text; back-pressure. */
import { describe, expect, it } from "@effect/vitest"
import Papa from "papaparse"
import { csvWriter } from "./CsvWriter.ts"
import { EXPORT_COLUMNS, rowOf, type ColumnSpec, type ExportRow, type ExportValue } from "./ExportColumns.ts"
import { pumpRows } from "./RowWriter.ts"
import { syntheticSamples } from "./SyntheticSamples.ts"
import { FailingSink, MemorySink } from "./TestSinks.ts"

const parse = (text: string): Array<Array<string>> => {
  const out = Papa.parse<Array<string>>(text, { newline: "\r\n", skipEmptyLines: false })
  expect(out.errors).toEqual([])
  // A file ends with CRLF, which papaparse reads as one more, empty record.
  expect(out.data.at(-1)).toEqual([""])
  return out.data.slice(0, -1)
}

const COLUMNS: ReadonlyArray<ColumnSpec> = [
  { id: "text", header: "Text, \"quoted\"", type: "string", width: 10 },
  { id: "n", header: "N", type: "number", width: 5 },
  { id: "at", header: "At", type: "date", width: 20 },
  { id: "ok", header: "OK", type: "boolean", width: 5 }
]

/** Hostile text and what a reader must get back (guarded with `'`, uncarriable characters as U+FFFD). */
const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ["plain", "plain"],
  ["with,comma", "with,comma"],
  ["with \"quotes\" inside", "with \"quotes\" inside"],
  ["line\nfeed", "line\nfeed"],
  ["carriage\rreturn", "carriage\rreturn"],
  ["crlf\r\nend\r\n", "crlf\r\nend\r\n"],
  ["nul\u0000byte", "nul\uFFFDbyte"],
  ["bell\u0007 and escape\u001b", "bell\uFFFD and escape\uFFFD"],
  ["lone high \uD800 surrogate", "lone high \uFFFD surrogate"],
  ["lone low \uDC00", "lone low \uFFFD"],
  ["reversed \uDC00\uD800 pair", "reversed \uFFFD\uFFFD pair"],
  ["a real pair 😀 stays", "a real pair 😀 stays"],
  ["non-character \uFFFF", "non-character \uFFFD"],
  ["=SUM(A1:A9)", "'=SUM(A1:A9)"],
  ["+41 79 000", "'+41 79 000"],
  ["-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"],
  ["@SUM(1)", "'@SUM(1)"],
  ["\t=1", "'\t=1"],
  ["\r=1", "'\r=1"],
  ["mid=dle is fine", "mid=dle is fine"],
  [" leading space", " leading space"],
  ["µL × 漢字 ü", "µL × 漢字 ü"],
  ["", ""]
]

const hostileRows = (): Array<ExportRow> =>
  HOSTILE.map(([text], i) => [text, i % 2 === 0 ? i : -i - 0.25, new Date(Date.UTC(2025, 0, 6, 9, i)), i % 3 === 0])

const write = async (columns: ReadonlyArray<ColumnSpec>, rows: Iterable<ExportRow>, options?: Parameters<typeof csvWriter>[2]) => {
  const sink = new MemorySink()
  const count = await pumpRows(csvWriter(columns, sink, options), rows)
  return { sink, count }
}

describe("CsvWriter", () => {
  it("hostile text round-trips through an RFC 4180 parser: quotes, commas, CR/LF kept; formulas guarded; NUL and lone surrogates replaced", async () => {
    const { sink, count } = await write(COLUMNS, hostileRows())
    expect(count).toBe(HOSTILE.length)
    const records = parse(sink.text())
    expect(records[0]).toEqual(["Text, \"quoted\"", "N", "At", "OK"])
    expect(records.length).toBe(HOSTILE.length + 1)
    HOSTILE.forEach(([, expected], i) => {
      const r = records[i + 1]!
      expect(r[0]).toBe(expected)
      // Numbers are never guarded: a negative number stays a number.
      expect(Number(r[1])).toBe(i % 2 === 0 ? i : -i - 0.25)
      expect(r[2]).toBe(new Date(Date.UTC(2025, 0, 6, 9, i)).toISOString())
      expect(r[3]).toBe(i % 3 === 0 ? "true" : "false")
    })
  })

  it("records end with CRLF and only fields with \", comma, CR or LF are quoted", async () => {
    const { sink } = await write(COLUMNS, [
      ["a", 1, null, null],
      ["b,c", null, null, true],
      ["d\"e", 2.5, null, false]
    ])
    expect(sink.text()).toBe(
      "\"Text, \"\"quoted\"\"\",N,At,OK\r\n" +
        "a,1,,\r\n" +
        "\"b,c\",,,true\r\n" +
        "\"d\"\"e\",2.5,,false\r\n"
    )
  })

  it("a huge field (2 MiB of quotes and commas) and an empty export are written whole", async () => {
    const huge = "x\"y,".repeat(512 * 1024)
    const { sink } = await write(COLUMNS, [[huge, 1, null, null]])
    const records = parse(sink.text())
    expect(records[1]![0]).toBe(huge)
    const empty = await write(COLUMNS, [])
    expect(empty.count).toBe(0)
    expect(parse(empty.sink.text())).toEqual([["Text, \"quoted\"", "N", "At", "OK"]])
  })

  it("the guard can be turned off, and a BOM turned on", async () => {
    const { sink } = await write(COLUMNS.slice(0, 1), [["=1+1"]], { formulaGuard: false, bom: true })
    expect(sink.bytes().subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]))
    expect(sink.text()).toBe("\uFEFF\"Text, \"\"quoted\"\"\"\r\n=1+1\r\n")
  })

  it("sample rows of every column come back with their values, row by row", async () => {
    const toRow = rowOf(EXPORT_COLUMNS)
    const rows = Array.from(syntheticSamples(300), toRow)
    const { sink } = await write(EXPORT_COLUMNS, rows)
    const records = parse(sink.text())
    expect(records[0]).toEqual(EXPORT_COLUMNS.map((c) => c.header))
    const back = (v: string, type: ColumnSpec["type"]): ExportValue =>
      v === "" ? null : type === "number" ? Number(v) : type === "boolean" ? v === "true" : type === "date" ? new Date(v) : v
    rows.forEach((row, i) => {
      const r = records[i + 1]!
      EXPORT_COLUMNS.forEach((c, k) => {
        const v = row[k] ?? null
        const expected = typeof v === "string" && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v === "" ? null : v
        expect(back(r[k]!, c.type)).toEqual(expected)
      })
    })
  })

  it("waits for a slow sink: never more than about one batch of rows waits in it, however many rows", async () => {
    const sink = new MemorySink(true)
    const toRow = rowOf(EXPORT_COLUMNS)
    const count = await pumpRows(csvWriter(EXPORT_COLUMNS, sink), (function*() {
      for (const s of syntheticSamples(20_000)) yield toRow(s)
    })())
    expect(count).toBe(20_000)
    expect(sink.bytes().length).toBeGreaterThan(8 * 1024 * 1024)
    // One batch (500 rows of ~0.5 KiB) at most: 8 MiB went through, less than 1 MiB ever waited.
    expect(sink.maxBuffered).toBeLessThan(1024 * 1024)
  })

  it("a long export from a synchronous source lets the event loop turn (timers and I/O run while it writes)", async () => {
    const toRow = rowOf(EXPORT_COLUMNS)
    let fired = false
    let rowsWhenFired = 0
    const writer = csvWriter(EXPORT_COLUMNS, new MemorySink())
    setTimeout(() => {
      fired = true
      rowsWhenFired = writer.rowsWritten
    }, 0)
    await pumpRows(writer, (function*() {
      for (const s of syntheticSamples(30_000)) yield toRow(s)
    })())
    expect(fired).toBe(true)
    expect(rowsWhenFired).toBeLessThan(30_000)
  })

  it("a sink that fails makes the export fail with its error", async () => {
    const toRow = rowOf(EXPORT_COLUMNS)
    await expect(pumpRows(csvWriter(EXPORT_COLUMNS, new FailingSink(100_000)), Array.from(syntheticSamples(5_000), toRow)))
      .rejects.toThrow("disk full")
  })

  it("an abort signal stops the export", async () => {
    const controller = new AbortController()
    const toRow = rowOf(EXPORT_COLUMNS)
    const rows = (function*() {
      let i = 0
      for (const s of syntheticSamples(10_000)) {
        if (++i === 2_000) controller.abort(new Error("cancelled by the manager"))
        yield toRow(s)
      }
    })()
    await expect(pumpRows(csvWriter(EXPORT_COLUMNS, new MemorySink()), rows, { signal: controller.signal }))
      .rejects.toThrow("cancelled by the manager")
  })
})
