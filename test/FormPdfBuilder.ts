/**
 * Test support: builds submission-form PDFs with pdf-lib in layouts the dev fixtures do not use, so the reader's
 * tests cover other wordings, column orders, tick styles (dot, X, check mark, filled square, typed glyph), page
 * breaks with repeated table headers, and boxes drawn under a transform matrix.
 */
import {
  concatTransformationMatrix,
  PDFDocument,
  type PDFFont,
  type PDFPage,
  popGraphicsState,
  pushGraphicsState,
  rgb,
  StandardFonts
} from "pdf-lib"
import { deflateSync } from "node:zlib"

/** How a ticked box is marked; `fill` paints the whole box, `dot` and `square` an inner mark. */
export type TickStyle = "dot" | "x" | "check" | "square" | "fill" | "glyph"

/** One option of a group: its text and whether it is ticked. */
export type Option = readonly [text: string, ticked: boolean]

/** How an option group is drawn. */
export interface GroupStyle {
  readonly style: TickStyle
  readonly shape: "circle" | "square"
  /** Options one under the other, under the group label. */
  readonly vertical?: boolean
  /** Options per line before wrapping (inline groups). */
  readonly perLine?: number
  /** Draw each box under a scaling `cm` (exercises the reader's transform handling). */
  readonly transformed?: boolean
  /** Box after its option text instead of before. */
  readonly boxAfter?: boolean
  readonly boxSize?: number
}

/** A table column: header (one line or several), width, cell alignment. */
export interface TableColumn {
  readonly header: string | ReadonlyArray<string>
  readonly width: number
  readonly align: "left" | "right" | "center"
}

/** How the sample table is drawn. */
export interface TableStyle {
  readonly rowsPerPage: number
  readonly fontSize?: number
  readonly grid?: boolean
  /** Empty numbered slots after the last row (only when the first column is a row number). */
  readonly emptySlots?: number
}

const BLACK = rgb(0, 0, 0)
const GREY = rgb(0.45, 0.45, 0.45)
const LIGHT = rgb(0.92, 0.94, 0.97)

/** A form under construction: a cursor moves down the page, new pages start when it reaches the bottom margin. */
export class FormPdf {
  private page: PDFPage
  private y: number

  private constructor(
    private readonly doc: PDFDocument,
    private readonly font: PDFFont,
    private readonly bold: PDFFont,
    readonly size: number,
    private readonly width: number,
    private readonly height: number,
    private readonly margin: number
  ) {
    this.page = doc.addPage([width, height])
    this.y = height - margin
  }

  static async create(options: { size?: number; width?: number; height?: number; margin?: number; font?: StandardFonts } = {}) {
    const doc = await PDFDocument.create()
    const font = await doc.embedFont(options.font ?? StandardFonts.Helvetica)
    const bold = await doc.embedFont(StandardFonts.HelveticaBold)
    return new FormPdf(doc, font, bold, options.size ?? 9, options.width ?? 595, options.height ?? 842, options.margin ?? 48)
  }

  private ensure(space: number) {
    if (this.y - space < this.margin) this.newPage()
  }

  /** Starts a new page. */
  newPage() {
    this.page = this.doc.addPage([this.width, this.height])
    this.y = this.height - this.margin
    return this
  }

  /** Free text at the cursor (a heading or a note). */
  heading(text: string, size = this.size + 3) {
    this.ensure(size * 2)
    this.y -= size * 1.6
    this.page.drawText(text, { x: this.margin, y: this.y, size, font: this.bold })
    this.y -= size * 0.6
    return this
  }

  /** Vertical space. */
  gap(points: number) {
    this.y -= points
    return this
  }

  /**
   * A labelled value. `at` is where the value starts (default 170 pt from the left); `inline` writes "Label: value"
   * as one text run; several value lines go one under the other; `below` puts the value under the label.
   */
  field(label: string, value: string | ReadonlyArray<string>, options: { at?: number; inline?: boolean; below?: boolean; x?: number } = {}) {
    const lines = typeof value === "string" ? [value] : value
    const x = options.x ?? this.margin
    this.ensure(this.size * 1.6 * (lines.length + 1))
    this.y -= this.size * 1.6
    if (options.inline) {
      this.page.drawText(`${label} ${lines[0] ?? ""}`.trimEnd(), { x, y: this.y, size: this.size, font: this.font })
      return this
    }
    this.page.drawText(label, { x, y: this.y, size: this.size, font: this.bold })
    const at = options.at ?? x + 170
    lines.forEach((line, k) => {
      if (options.below || k > 0) this.y -= this.size * 1.25
      if (line !== "") this.page.drawText(line, { x: options.below ? x : at, y: this.y, size: this.size, font: this.font })
    })
    return this
  }

  /** Two labelled values on one line (a two-column form). */
  pair(left: readonly [string, string], right: readonly [string, string]) {
    this.ensure(this.size * 2)
    this.y -= this.size * 1.7
    const half = (this.width - 2 * this.margin) / 2
    for (const [[label, value], x] of [[left, this.margin], [right, this.margin + half]] as const) {
      this.page.drawText(label, { x, y: this.y, size: this.size, font: this.bold })
      if (value !== "") this.page.drawText(value, { x: x + 95, y: this.y, size: this.size, font: this.font })
    }
    return this
  }

  private drawBox(x: number, y: number, s: number, shape: "circle" | "square", ticked: boolean, style: TickStyle, transformed: boolean) {
    const page = this.page
    // Under a transform the box is drawn at half its coordinates in a space scaled by two.
    const k = transformed ? 0.5 : 1
    if (transformed) page.pushOperators(pushGraphicsState(), concatTransformationMatrix(2, 0, 0, 2, 0, 0))
    const bx = x * k
    const by = y * k
    const bs = s * k
    const cx = bx + bs / 2
    const cy = by + bs / 2
    if (shape === "circle") page.drawCircle({ x: cx, y: cy, size: bs / 2, borderColor: BLACK, borderWidth: 0.8 * k })
    else page.drawRectangle({ x: bx, y: by, width: bs, height: bs, borderColor: BLACK, borderWidth: 0.8 * k, color: rgb(1, 1, 1) })
    if (ticked) {
      if (style === "fill") {
        if (shape === "circle") page.drawCircle({ x: cx, y: cy, size: bs / 2, color: BLACK })
        else page.drawRectangle({ x: bx, y: by, width: bs, height: bs, color: BLACK })
      } else if (style === "dot") page.drawCircle({ x: cx, y: cy, size: bs * 0.22, color: BLACK })
      else if (style === "square") page.drawRectangle({ x: bx + bs * 0.25, y: by + bs * 0.25, width: bs * 0.5, height: bs * 0.5, color: BLACK })
      else if (style === "x") {
        const i = bs * 0.18
        page.drawLine({ start: { x: bx + i, y: by + i }, end: { x: bx + bs - i, y: by + bs - i }, thickness: 0.9 * k, color: BLACK })
        page.drawLine({ start: { x: bx + i, y: by + bs - i }, end: { x: bx + bs - i, y: by + i }, thickness: 0.9 * k, color: BLACK })
      } else if (style === "check") {
        // SVG coordinates grow downwards; pdf-lib flips them, another transform for the reader to undo.
        page.drawSvgPath("M 1 5 L 4 8 L 9 1", { x: bx, y: by + bs, scale: bs / 10, borderColor: BLACK, borderWidth: 1.1 * k })
      } else if (style === "glyph") {
        page.drawText("X", { x: bx + bs * 0.18, y: by + bs * 0.18, size: bs * 0.85, font: this.font })
      }
    }
    if (transformed) page.pushOperators(popGraphicsState())
  }

  /** An option group: label, then boxes with option texts (inline, wrapped, or one per line under the label). */
  options(label: string, options: ReadonlyArray<Option>, g: GroupStyle) {
    const s = g.boxSize ?? this.size * 0.95
    const perLine = g.vertical ? 1 : (g.perLine ?? options.length)
    const lines = Math.ceil(options.length / perLine) + (g.vertical ? 1 : 0)
    this.ensure(this.size * 1.6 * (lines + 1))
    this.y -= this.size * 1.6
    this.page.drawText(label, { x: this.margin, y: this.y, size: this.size, font: this.bold })
    const startX = g.vertical ? this.margin + 14 : this.margin + 130
    let x = startX
    options.forEach(([text, ticked], k) => {
      if (g.vertical || (k > 0 && k % perLine === 0)) {
        this.y -= this.size * 1.5
        x = startX
      }
      const textWidth = this.font.widthOfTextAtSize(text, this.size)
      const boxY = this.y - s * 0.1
      if (g.boxAfter) {
        this.page.drawText(text, { x, y: this.y, size: this.size, font: this.font })
        this.drawBox(x + textWidth + 4, boxY, s, g.shape, ticked, g.style, g.transformed ?? false)
        x += textWidth + s + 18
      } else {
        this.drawBox(x, boxY, s, g.shape, ticked, g.style, g.transformed ?? false)
        this.page.drawText(text, { x: x + s + 4, y: this.y, size: this.size, font: this.font })
        x += s + textWidth + 18
      }
    })
    return this
  }

  private tableHeader(columns: ReadonlyArray<TableColumn>, size: number) {
    const depth = Math.max(...columns.map((c) => (typeof c.header === "string" ? 1 : c.header.length)))
    this.y -= size * 1.5
    const top = this.y
    let x = this.margin
    this.page.drawRectangle({ x: this.margin, y: top - size * 1.25 * (depth - 1) - size * 0.45, width: columns.reduce((w, c) => w + c.width, 0), height: size * 1.25 * depth + size * 0.2, color: LIGHT })
    for (const c of columns) {
      const parts = typeof c.header === "string" ? [c.header] : c.header
      parts.forEach((p, k) => {
        const w = this.bold.widthOfTextAtSize(p, size)
        this.page.drawText(p, { x: x + (c.width - w) / 2, y: top - k * size * 1.25, size, font: this.bold })
      })
      x += c.width
    }
    this.y = top - size * 1.25 * (depth - 1) - size * 0.5
  }

  private wrap(text: string, width: number, size: number): Array<string> {
    const words = text.split(" ")
    const lines: Array<string> = []
    let line = ""
    for (const w of words) {
      const next = line === "" ? w : `${line} ${w}`
      if (this.font.widthOfTextAtSize(next, size) > width && line !== "") {
        lines.push(line)
        line = w
      } else line = next
    }
    if (line !== "") lines.push(line)
    return lines
  }

  /**
   * The sample table: the header on every page it spans, cells aligned per column, long cells wrapped (the row
   * grows, the other cells sit on its middle line), `rowsPerPage` rows before a page break.
   */
  table(columns: ReadonlyArray<TableColumn>, rows: ReadonlyArray<ReadonlyArray<string>>, t: TableStyle) {
    const size = t.fontSize ?? this.size - 1
    const slots = [...rows]
    const numbered = columns[0] !== undefined && /^(#|no\.?|row)$/i.test(String(columns[0].header))
    for (let k = 0; numbered && k < (t.emptySlots ?? 0); k++) slots.push([String(rows.length + k + 1)])
    let onPage = 0
    this.ensure(size * 8)
    this.tableHeader(columns, size)
    for (const cells of slots) {
      const wrapped = columns.map((c, k) => this.wrap(cells[k] ?? "", c.width - 6, size))
      const depth = Math.max(1, ...wrapped.map((w) => w.length))
      const rowHeight = size * 1.35 + (depth - 1) * size * 1.15
      if (onPage >= t.rowsPerPage || this.y - rowHeight < this.margin) {
        this.newPage()
        this.tableHeader(columns, size)
        onPage = 0
      }
      const mid = this.y - rowHeight / 2 - size * 0.35
      let x = this.margin
      columns.forEach((c, k) => {
        const lines = wrapped[k]!
        lines.forEach((line, n) => {
          const w = this.font.widthOfTextAtSize(line, size)
          const lx = c.align === "left" ? x + 3 : c.align === "right" ? x + c.width - 3 - w : x + (c.width - w) / 2
          const ly = mid + ((lines.length - 1) / 2 - n) * size * 1.15
          this.page.drawText(line, { x: lx, y: ly, size, font: this.font })
        })
        if (t.grid) this.page.drawLine({ start: { x, y: this.y }, end: { x, y: this.y - rowHeight }, thickness: 0.4, color: GREY })
        x += c.width
      })
      if (t.grid) {
        this.page.drawLine({ start: { x, y: this.y }, end: { x, y: this.y - rowHeight }, thickness: 0.4, color: GREY })
        this.page.drawLine({ start: { x: this.margin, y: this.y - rowHeight }, end: { x, y: this.y - rowHeight }, thickness: 0.4, color: GREY })
      }
      this.y -= rowHeight
      onPage++
    }
    return this
  }

  /** Text at an absolute position on the current page (page furniture, notes). */
  at(x: number, y: number, text: string, size = this.size) {
    this.page.drawText(text, { x, y, size, font: this.font })
    return this
  }

  /** The finished PDF. */
  async save(): Promise<Uint8Array> {
    return this.doc.save()
  }
}

/** A PNG of w×h grey pixels (uncompressed rows, deflated): the page image of a scan, which has no text layer. */
export const greyPng = (w: number, h: number): Uint8Array => {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (bytes: Uint8Array) => {
    let c = 0xffffffff
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length)
    const view = new DataView(out.buffer)
    view.setUint32(0, data.length)
    out.set(new TextEncoder().encode(type), 4)
    out.set(data, 8)
    view.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)))
    return out
  }
  const header = new Uint8Array(13)
  const hv = new DataView(header.buffer)
  hv.setUint32(0, w)
  hv.setUint32(4, h)
  header.set([8, 0, 0, 0, 0], 8)
  const raw = new Uint8Array(h * (w + 1)).map((_, i) => (i % (w + 1) === 0 ? 0 : 128))
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header), chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array())]
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    total.set(p, offset)
    offset += p.length
  }
  return total
}
