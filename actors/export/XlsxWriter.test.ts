/** XLSX: read back with exceljs's own reader: typed cells, dates as dates, frozen and filtered header, widths. */
import { describe, expect, it } from "@effect/vitest"
import ExcelJS from "exceljs"
import { Readable } from "node:stream"
import { EXPORT_COLUMNS, rowOf, type ColumnSpec, type ExportRow, type ExportValue } from "./ExportColumns.ts"
import { HOSTILE_TEXT } from "./HostileText.ts"
import { pumpRows } from "./RowWriter.ts"
import { syntheticSamples } from "./SyntheticSamples.ts"
import { FailingSink, MemorySink } from "./TestSinks.ts"
import { XLSX_DATE_FORMAT, XLSX_MAX_CELL_TEXT, xlsxWriter, type XlsxOptions } from "./XlsxWriter.ts"

const COLUMNS: ReadonlyArray<ColumnSpec> = [
  { id: "text", header: "Text", type: "string", width: 30 },
  { id: "n", header: "N", type: "number", width: 7 },
  { id: "at", header: "At", type: "date", width: 20 },
  { id: "ok", header: "OK", type: "boolean", width: 5 }
]

const write = async (columns: ReadonlyArray<ColumnSpec>, rows: Iterable<ExportRow>, options: XlsxOptions) => {
  const sink = new MemorySink()
  const writer = xlsxWriter(columns, sink, options)
  // The default path really is the sheet-XML one (else these tests would check the fallback twice), and the XML
  // waiting for compression is measured (else memory would hold a sheet's worth of it).
  expect(writer.writesXmlRows).toBe(options.rowPath !== "cells")
  expect(writer.measuresBacklog).toBe(true)
  const count = await pumpRows(writer, rows)
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.read(Readable.from([sink.bytes()]))
  return { workbook, count, sink }
}

/** A cell's value as the export wrote it (exceljs reads empty cells as null). */
const valueOf = (cell: ExcelJS.Cell): ExportValue => {
  const v = cell.value
  if (v === null || v === undefined) return null
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v instanceof Date) return v
  throw new Error(`unexpected cell value at ${cell.address}: ${JSON.stringify(v)}`)
}

const TYPE_OF: Readonly<Record<ColumnSpec["type"], ExcelJS.ValueType>> = {
  string: ExcelJS.ValueType.String,
  number: ExcelJS.ValueType.Number,
  date: ExcelJS.ValueType.Date,
  boolean: ExcelJS.ValueType.Boolean
}

describe.each([{ rowPath: "xml" as const }, { rowPath: "cells" as const }])("XlsxWriter, rows as $rowPath", (path) => {
  it("has a bold header row that is frozen and filtered, the columns' widths, and typed cells", async () => {
    const at = new Date(Date.UTC(2025, 0, 6, 9, 30, 15))
    const { workbook } = await write(COLUMNS, [["a", -2.5, at, true], [null, null, null, false]], path)
    const sheet = workbook.getWorksheet("Samples")!
    expect(sheet.rowCount).toBe(3)
    expect(sheet.getRow(1).values).toEqual([undefined, "Text", "N", "At", "OK"])
    expect(sheet.getRow(1).getCell(1).font?.bold).toBe(true)
    expect(sheet.views[0]).toMatchObject({ state: "frozen", ySplit: 1 })
    expect(sheet.autoFilter).toBe("A1:D1")
    expect(COLUMNS.map((_, i) => sheet.getColumn(i + 1).width)).toEqual([30, 7, 20, 5])
    const row = sheet.getRow(2)
    COLUMNS.forEach((c, i) => expect(row.getCell(i + 1).type).toBe(TYPE_OF[c.type]))
    expect(row.getCell(3).value).toEqual(at)
    expect(row.getCell(3).numFmt).toBe(XLSX_DATE_FORMAT)
    expect(row.getCell(1).value).toBe("a")
    expect(row.getCell(2).value).toBe(-2.5)
    expect(row.getCell(4).value).toBe(true)
    const empty = sheet.getRow(3)
    expect([1, 2, 3].map((i) => empty.getCell(i).type)).toEqual([ExcelJS.ValueType.Null, ExcelJS.ValueType.Null, ExcelJS.ValueType.Null])
    expect(empty.getCell(4).value).toBe(false)
  })

  it("sample rows of every column come back row by row with their types", async () => {
    const rows = Array.from(syntheticSamples(300), rowOf(EXPORT_COLUMNS))
    const { workbook, count } = await write(EXPORT_COLUMNS, rows, path)
    expect(count).toBe(300)
    const sheet = workbook.getWorksheet("Samples")!
    expect(sheet.rowCount).toBe(301)
    expect(sheet.autoFilter).toBe(`A1:${sheet.getColumn(EXPORT_COLUMNS.length).letter}1`)
    rows.forEach((row, r) => {
      const line = sheet.getRow(r + 2)
      EXPORT_COLUMNS.forEach((c, i) => {
        const cell = line.getCell(i + 1)
        const v = row[i] ?? null
        expect(valueOf(cell)).toEqual(v === "" ? null : v)
        if (v !== null && v !== "") expect(cell.type).toBe(TYPE_OF[c.type])
      })
    })
  })

  it("hostile text is cleaned as in every format (line ends as LF), formulas stay text, and text past Excel's cell limit is cut there", async () => {
    const huge = "😀".repeat(XLSX_MAX_CELL_TEXT)
    const rows: Array<ExportRow> = [...HOSTILE_TEXT.map(([text]) => [text]), [huge]]
    const { workbook } = await write(COLUMNS.slice(0, 1), rows, path)
    const sheet = workbook.getWorksheet("Samples")!
    HOSTILE_TEXT.forEach(([, expected], i) => {
      const cell = sheet.getRow(i + 2).getCell(1)
      if (expected === "") expect(cell.type).toBe(ExcelJS.ValueType.Null)
      else {
        expect(cell.type).toBe(ExcelJS.ValueType.String)
        const text = expected.replace(/\r\n?/g, "\n")
        // exceljs's own rows are `t="str"` cells, which its reader decodes twice (its writer escapes once, as it
        // should: `&amp;amp;`), so text holding `&amp;` reads back as `&` there; inline strings read back exactly.
        expect(cell.value).toBe(path.rowPath === "cells" ? text.replace(/&amp;/g, "&") : text)
      }
    })
    const cut = sheet.getRow(HOSTILE_TEXT.length + 2).getCell(1).value
    expect(typeof cut === "string" && cut.length).toBe(XLSX_MAX_CELL_TEXT - 1)
    expect(cut).toBe(huge.slice(0, XLSX_MAX_CELL_TEXT - 1))
  })

  it("rows past a sheet's limit continue on a second sheet with the same header, freeze and filter", async () => {
    const rows = Array.from({ length: 25 }, (_, i): ExportRow => [`r${i}`, i, null, null])
    const { workbook } = await write(COLUMNS, rows, { ...path, maxSheetRows: 11 })
    const names = workbook.worksheets.map((w) => w.name)
    expect(names).toEqual(["Samples", "Samples (2)", "Samples (3)"])
    const back = workbook.worksheets.flatMap((w) => {
      expect(w.getRow(1).getCell(1).value).toBe("Text")
      expect(w.views[0]).toMatchObject({ state: "frozen", ySplit: 1 })
      expect(w.autoFilter).toBe("A1:D1")
      expect(w.rowCount).toBeLessThanOrEqual(11)
      return Array.from({ length: w.rowCount - 1 }, (_, i) => w.getRow(i + 2).getCell(2).value)
    })
    expect(back).toEqual(rows.map((r) => r[1]))
  })

  it("an empty export is a valid workbook with the header only", async () => {
    const { workbook, count } = await write(COLUMNS, [], path)
    expect(count).toBe(0)
    expect(workbook.getWorksheet("Samples")!.rowCount).toBe(1)
  })

  it("waits for a slow sink, and fails when the sink fails", async () => {
    const toRow = rowOf(EXPORT_COLUMNS)
    const slow = new MemorySink(true)
    await pumpRows(xlsxWriter(EXPORT_COLUMNS, slow, path), Array.from(syntheticSamples(2_000), toRow))
    expect(slow.bytes().length).toBeGreaterThan(100_000)
    expect(slow.maxBuffered).toBeLessThan(1024 * 1024)
    await expect(pumpRows(xlsxWriter(EXPORT_COLUMNS, new FailingSink(50_000), path), Array.from(syntheticSamples(2_000), toRow)))
      .rejects.toThrow("disk full")
  })
})
