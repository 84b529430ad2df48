/**
 * Excel .xlsx through exceljs's streaming WorkbookWriter: rows are committed as they come, so memory holds one batch
 * of rows and the zip's buffers, never the sheet. One worksheet "Samples" with a bold header row that is frozen (stays
 * in view) and carries an auto-filter over every column; column widths from the column list; typed cells: numbers as
 * numbers, booleans as booleans, dates as Excel dates (UTC) shown as `yyyy-mm-dd hh:mm:ss`, text as inline strings
 * (no shared-string table to grow with the file; never a formula, so no injection guard is needed).
 *
 * Excel's limits are kept: a cell holds at most 32,767 characters (longer text is cut there; CRLF and CR line ends
 * become LF, Excel's line break), and a sheet at most 1,048,576 rows: past that, rows continue on "Samples (2)",
 * "Samples (3)" … each with the same header, freeze and filter. Text is cleaned as in every format (ExportText.ts).
 *
 * Speed: exceljs builds a Row and a Cell object per value and looks up a style per cell, about 3,000 rows/s for 20
 * columns on a busy 2-core machine. So the workbook, its styles, the sheet's views, columns, header and auto-filter
 * go through exceljs, and the data rows (`rowPath: "xml"`, the default) are written as the sheet's `<row>` XML
 * straight into the worksheet's stream, with the date style exceljs registered: the same cells, several times faster.
 * That stream is exceljs 4.4 internals (pinned in package.json), found by shape: if it is not there the writer falls
 * back to exceljs's own rows (`rowPath: "cells"`), which the tests also check.
 */
import ExcelJS from "exceljs"
import { PassThrough, type Writable } from "node:stream"
import type { ColumnSpec, ExportRow, ExportValue } from "./ExportColumns.ts"
import { cleanText } from "./ExportText.ts"
import type { RowWriter } from "./RowWriter.ts"
import { drained } from "./TextSink.ts"

/** The most characters Excel keeps in one cell. */
export const XLSX_MAX_CELL_TEXT = 32_767
/** The most rows of one Excel worksheet (header included). */
export const XLSX_MAX_SHEET_ROWS = 1_048_576
/** The number format of date cells. */
export const XLSX_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"

/** XLSX choices. */
export interface XlsxOptions {
  /** The first worksheet's name (default "Samples"). */
  readonly sheetName?: string | undefined
  /** Rows per worksheet, header included (default and maximum Excel's 1,048,576; smaller in tests). */
  readonly maxSheetRows?: number | undefined
  /** Uncompressed sheet bytes allowed to wait for the zip before a write waits (default 4 MiB). */
  readonly maxBacklogBytes?: number | undefined
  /** How data rows are written (see above; default "xml"). */
  readonly rowPath?: "xml" | "cells" | undefined
}

const CR = /\r\n?/g

/**
 * Text for a cell: cleaned, line ends as LF (Excel's line break; a CR would not survive the sheet's XML anyway), cut
 * to Excel's cell limit, never inside a surrogate pair.
 */
export const xlsxText = (s: string): string => {
  const t = cleanText(s).replace(CR, "\n")
  if (t.length <= XLSX_MAX_CELL_TEXT) return t
  const last = t.charCodeAt(XLSX_MAX_CELL_TEXT - 1)
  return t.slice(0, last >= 0xd800 && last <= 0xdbff ? XLSX_MAX_CELL_TEXT - 1 : XLSX_MAX_CELL_TEXT)
}

const cellValue = (v: ExportValue | undefined): string | number | boolean | Date | null => {
  if (v === undefined || v === null) return null
  if (typeof v === "string") return v === "" ? null : xlsxText(v)
  if (typeof v === "number") return Number.isFinite(v) ? v : null
  if (typeof v === "boolean") return v
  return Number.isNaN(v.getTime()) ? null : v
}

const XML_SPECIAL = /[&<>]/
const XML_SPECIAL_ALL = /[&<>]/g
const XML_ENTITY: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" }
const xmlEscape = (s: string) => (XML_SPECIAL.test(s) ? s.replace(XML_SPECIAL_ALL, (c) => XML_ENTITY[c] ?? c) : s)

/** Excel's serial day number of an instant (1900 date system, UTC), as exceljs computes it. */
const excelDate = (ms: number) => 25569 + ms / 86_400_000

/** The column letters of 1-based column numbers: A … Z, AA … */
const columnLetter = (n: number): string => {
  let s = ""
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) s = String.fromCharCode(65 + ((k - 1) % 26)) + s
  return s
}

/** How much waits in a Node-like writable stream, and a way to hear when it has drained. */
interface Backlog {
  readonly length: () => number
  readonly onDrain: (f: () => void) => void
}

/**
 * A Backlog over a writable stream: Node's own (`writableLength`) or readable-stream 2's, which archiver uses and
 * which keeps the count in `_writableState.length` only.
 */
const backlogOf = (u: unknown): Backlog | undefined => {
  if (typeof u !== "object" || u === null || typeof Reflect.get(u, "once") !== "function") return undefined
  const state: unknown = Reflect.get(u, "_writableState")
  const length = typeof Reflect.get(u, "writableLength") === "number"
    ? () => Number(Reflect.get(u, "writableLength"))
    : typeof state === "object" && state !== null && typeof Reflect.get(state, "length") === "number"
    ? () => Number(Reflect.get(state, "length"))
    : undefined
  if (length === undefined) return undefined
  return { length, onDrain: (f) => void Reflect.apply(Reflect.get(u, "once"), u, ["drain", f]) }
}

/** The worksheet's own XML stream (exceljs 4.4 internals), when it is there. */
interface SheetStream {
  write(text: string): unknown
}
const sheetStream = (sheet: ExcelJS.Worksheet): SheetStream | undefined => {
  const stream: unknown = Reflect.get(sheet, "stream")
  return typeof stream === "object" && stream !== null && typeof Reflect.get(stream, "write") === "function"
    ? { write: (text) => Reflect.apply(Reflect.get(stream, "write"), stream, [text]) }
    : undefined
}

/**
 * The stream a worksheet's XML waits in before the zip compresses it. exceljs (4.4) writes each sheet into a buffer
 * that pushes into this stream without waiting; when compression falls behind, this is where bytes pile up, so it is
 * where the writer measures its backlog. Found by shape, not by type: if a future exceljs hides it, the writer still
 * waits on its own output stream, only later.
 */
const sheetBacklog = (sheet: ExcelJS.Worksheet): Backlog | undefined => {
  const stream: unknown = Reflect.get(sheet, "stream")
  const pipes: unknown = typeof stream === "object" && stream !== null ? Reflect.get(stream, "pipes") : undefined
  return backlogOf(Array.isArray(pipes) ? pipes[0] : undefined)
}

/** The style id exceljs registered for date cells (its styles table, internals found by shape), if any. */
const dateStyleId = (workbook: ExcelJS.stream.xlsx.WorkbookWriter): number | undefined => {
  const styles: unknown = Reflect.get(workbook, "styles")
  const add: unknown = typeof styles === "object" && styles !== null ? Reflect.get(styles, "addStyleModel") : undefined
  if (typeof add !== "function") return undefined
  const id: unknown = Reflect.apply(add, styles, [{ numFmt: XLSX_DATE_FORMAT }, ExcelJS.ValueType.Date])
  return typeof id === "number" && id > 0 ? id : undefined
}

/** A streaming XLSX writer of `columns` into `sink`. */
export class XlsxRowWriter implements RowWriter {
  readonly format = "xlsx"
  private readonly out = new PassThrough({ highWaterMark: 256 * 1024 })
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter
  private readonly letters: ReadonlyArray<string>
  private readonly maxSheetRows: number
  private readonly maxBacklog: number
  private readonly finished: Promise<void>
  private readonly failed: Promise<never>
  private readonly dateStyle: number | undefined
  private reject: (e: Error) => void = () => undefined
  private sheet: ExcelJS.Worksheet
  private raw: SheetStream | undefined
  private backlog: Backlog | undefined
  private sheets = 0
  private lastTurn = 0
  private sheetRows = 0
  private count = 0
  private failure: Error | undefined

  constructor(private readonly columns: ReadonlyArray<ColumnSpec>, private readonly sink: Writable, private readonly options: XlsxOptions = {}) {
    this.letters = columns.map((_, i) => columnLetter(i + 1))
    this.maxSheetRows = Math.min(options.maxSheetRows ?? XLSX_MAX_SHEET_ROWS, XLSX_MAX_SHEET_ROWS)
    this.maxBacklog = options.maxBacklogBytes ?? 4 * 1024 * 1024
    // The workbook writes into our own PassThrough, piped into the sink without ending it: the sink's owner ends it.
    this.out.pipe(sink, { end: false })
    this.finished = new Promise<void>((resolve) => this.out.once("end", resolve))
    this.failed = new Promise<never>((_, reject) => {
      this.reject = reject
    })
    // Observed here so that a failure nobody waits for yet is not an unhandled rejection; later waits still see it.
    this.failed.catch(() => undefined)
    this.out.on("error", this.onError)
    sink.on("error", this.onError)
    sink.on("close", this.onClose)
    this.workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: this.out, useStyles: true, useSharedStrings: false })
    this.dateStyle = options.rowPath === "cells" ? undefined : dateStyleId(this.workbook)
    this.sheet = this.addSheet()
  }

  private readonly onError = (e: Error) => this.fail(e)
  private readonly onClose = () => this.fail(new Error("the export sink closed before the workbook was written"))
  private fail(e: Error): void {
    if (this.failure !== undefined) return
    this.failure = e
    this.reject(e)
  }
  private release(): void {
    this.out.off("error", this.onError)
    this.sink.off("error", this.onError)
    this.sink.off("close", this.onClose)
    this.out.unpipe(this.sink)
  }

  get rowsWritten(): number {
    return this.count
  }

  /** True when data rows go straight into the sheet's XML (see the module comment). */
  get writesXmlRows(): boolean {
    return this.raw !== undefined
  }

  /** True when the writer measures the XML waiting for compression (see `sheetBacklog`). */
  get measuresBacklog(): boolean {
    return this.backlog !== undefined
  }

  private addSheet(): ExcelJS.Worksheet {
    this.sheets++
    const base = this.options.sheetName ?? "Samples"
    const name = this.sheets === 1 ? base : `${base} (${this.sheets})`
    const sheet = this.workbook.addWorksheet(name, { views: [{ state: "frozen", xSplit: 0, ySplit: 1, topLeftCell: "A2" }] })
    sheet.columns = this.columns.map((c) => ({
      header: xlsxText(c.header),
      key: c.id,
      width: c.width,
      ...(c.type === "date" ? { style: { numFmt: XLSX_DATE_FORMAT } } : {})
    }))
    sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: Math.max(1, this.columns.length) } }
    const header = sheet.getRow(1)
    header.font = { bold: true }
    header.commit()
    this.sheetRows = 1
    this.backlog = sheetBacklog(sheet)
    this.raw = this.dateStyle === undefined ? undefined : sheetStream(sheet)
    return sheet
  }

  /** One data row as sheet XML (row number `r`): empty values have no cell, as exceljs writes them. */
  private rowXml(row: ExportRow, r: number): string {
    const n = this.letters.length
    let xml = `<row r="${r}">`
    for (let i = 0; i < n; i++) {
      const v = row[i]
      if (v === undefined || v === null) continue
      const ref = this.letters[i]! + r
      if (typeof v === "string") {
        if (v !== "") xml += `<c r="${ref}" t="inlineStr"><is><t xml:space="preserve">${xmlEscape(xlsxText(v))}</t></is></c>`
      } else if (typeof v === "number") {
        if (Number.isFinite(v)) xml += `<c r="${ref}"><v>${v}</v></c>`
      } else if (typeof v === "boolean") {
        xml += `<c r="${ref}" t="b"><v>${v ? 1 : 0}</v></c>`
      } else {
        const ms = v.getTime()
        if (!Number.isNaN(ms)) xml += `<c r="${ref}" s="${this.dateStyle}"><v>${excelDate(ms)}</v></c>`
      }
    }
    return xml + "</row>"
  }

  write(rows: Iterable<ExportRow>): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const n = this.letters.length
    let xml = ""
    for (const row of rows) {
      if (this.sheetRows >= this.maxSheetRows) {
        if (xml !== "") this.raw?.write(xml)
        xml = ""
        this.sheet.commit()
        this.sheet = this.addSheet()
      }
      this.sheetRows++
      if (this.raw !== undefined) {
        xml += this.rowXml(row, this.sheetRows)
        if (xml.length >= 64 * 1024) {
          this.raw.write(xml)
          xml = ""
        }
      } else {
        const values: Array<string | number | boolean | Date | null> = new Array(n)
        for (let i = 0; i < n; i++) values[i] = cellValue(row[i])
        this.sheet.addRow(values).commit()
      }
      this.count++
    }
    if (xml !== "") this.raw?.write(xml)
    return this.pressure()
  }

  /**
   * A promise to wait for when compressed output or uncompressed sheet XML has piled up (rejects on failure). Without
   * a measurable backlog (another exceljs) it still lets the event loop turn every 20 ms, so that compression, whose
   * work completes in I/O callbacks, keeps up.
   */
  private pressure(): Promise<void> | undefined {
    if (this.sink.writableNeedDrain) return Promise.race([drained(this.sink), this.failed])
    const backlog = this.backlog
    if (backlog !== undefined) {
      if (backlog.length() <= this.maxBacklog) return undefined
      return Promise.race([new Promise<void>((resolve) => backlog.onDrain(resolve)), this.failed])
    }
    const now = performance.now()
    if (now - this.lastTurn < 20) return undefined
    this.lastTurn = now
    return new Promise<void>((resolve) => setImmediate(resolve))
  }

  async finish(): Promise<void> {
    if (this.failure !== undefined) throw this.failure
    await Promise.race([this.workbook.commit(), this.failed])
    await Promise.race([this.finished, this.failed])
    this.release()
  }

  abort(): void {
    this.release()
    this.out.destroy()
  }
}

/** A streaming XLSX writer of `columns` into `sink`. */
export const xlsxWriter = (columns: ReadonlyArray<ColumnSpec>, sink: Writable, options: XlsxOptions = {}): XlsxRowWriter =>
  new XlsxRowWriter(columns, sink, options)
