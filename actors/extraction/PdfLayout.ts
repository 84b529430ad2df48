/**
 * The layout of a PDF as a form reader needs it: per page, the text items with their positions and the tick boxes
 * (radio buttons, check boxes) found among the drawing operators, each with its state and option label.
 * Bad files end in `PdfUnreadable`, never a crash or a hang: pages, operators and time are all capped.
 */
import { Duration, Effect } from "effect"
import { getDocumentProxy, getResolvedPDFJS } from "unpdf"
import { interpretOperators, type OpCodes } from "./PageDrawing.ts"
import { PdfUnreadable } from "./PdfUnreadable.ts"
import { widgetLayout } from "./FormWidgets.ts"
import { attachLabels, byReadingOrder, findTickBoxes, typedTickBoxes } from "./TickBoxes.ts"

/** A run of text in page space (PDF points, origin bottom-left): `y` is the baseline, `height` the font size. */
export interface TextItem {
  readonly str: string
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

/** A radio button or check box: where it is, whether it is ticked, how the tick was seen, and its option label. */
export interface TickBox {
  readonly kind: "radio" | "checkbox"
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
  readonly ticked: boolean
  /** fill: a dot or square inside; lines: crossing or check strokes; glyph: a typed "X" or "✓"; none: empty. */
  readonly mark: "fill" | "lines" | "glyph" | "none"
  /** Fraction of the inside of the box that is ink. */
  readonly ink: number
  /** How clear-cut the tick decision is, in [0,1]. */
  readonly certainty: number
  readonly label: string | null
  readonly labelX: number | null
}

/** One page: 1-based number, size, its text items in reading order, and its boxes (top to bottom, left to right). */
export interface PageLayout {
  readonly page: number
  readonly width: number
  readonly height: number
  readonly items: ReadonlyArray<TextItem>
  readonly boxes: ReadonlyArray<TickBox>
  readonly imageCount: number
}

/** A document's layout. `pagesRead < pageCount` when the page cap cut it short (a bounded partial result). */
export interface PdfLayout {
  readonly pageCount: number
  readonly pagesRead: number
  readonly pages: ReadonlyArray<PageLayout>
  readonly notes: ReadonlyArray<string>
}

/** Caps on what one document may cost. */
export interface PdfLayoutOptions {
  /** Pages read; later pages are left out and noted. */
  readonly maxPages?: number
  /** Documents with more pages than this are refused outright. */
  readonly refusePagesAbove?: number
  /** Wall-clock budget for the whole document. */
  readonly timeout?: Duration.DurationInput
  readonly maxBytes?: number
}

const DEFAULTS = { maxPages: 50, refusePagesAbove: 5_000, timeout: "20 seconds", maxBytes: 64 * 1024 * 1024 } as const

/** pdf.js ≥ 5 calls `ArrayBuffer.prototype.transferToFixedLength` (Node ≥ 21) when it compiles fonts; Node 20 lacks it. */
const ensureTransferToFixedLength = () => {
  if ("transferToFixedLength" in ArrayBuffer.prototype) return
  Object.defineProperty(ArrayBuffer.prototype, "transferToFixedLength", {
    configurable: true,
    writable: true,
    value(this: ArrayBuffer, length?: number) {
      const size = length ?? this.byteLength
      const copy = new ArrayBuffer(size)
      new Uint8Array(copy).set(new Uint8Array(this, 0, Math.min(size, this.byteLength)))
      return copy
    }
  })
}

const indexOfBytes = (bytes: Uint8Array, text: string, from: number, to: number) => {
  const needle = Array.from(text, (c) => c.charCodeAt(0))
  for (let i = Math.max(0, from); i <= Math.min(bytes.length, to) - needle.length; i++) {
    let ok = true
    for (let j = 0; j < needle.length && ok; j++) ok = bytes[i + j] === needle[j]
    if (ok) return i
  }
  return -1
}

/** What the bytes say before pdf.js is asked: empty, not a PDF at all, or cut off before its end marker. */
const preflight = (bytes: Uint8Array, maxBytes: number): PdfUnreadable | { readonly endMarker: boolean } => {
  if (bytes.length === 0) return new PdfUnreadable({ reason: "empty", detail: "the file has no bytes" })
  if (bytes.length > maxBytes) {
    return new PdfUnreadable({ reason: "too_many_pages", detail: `the file is ${bytes.length} bytes, above the ${maxBytes}-byte cap` })
  }
  if (indexOfBytes(bytes, "%PDF-", 0, 1024) < 0) {
    const head = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(0, 8)).replace(/[^\x20-\x7e]/g, "?")
    return new PdfUnreadable({ reason: "not_pdf", detail: `no %PDF- header in the first 1024 bytes (starts with "${head}")` })
  }
  return { endMarker: indexOfBytes(bytes, "%%EOF", bytes.length - 2048, bytes.length) >= 0 }
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : typeof error)
const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** pdf.js's exceptions, told apart by name (they are not exported as classes through unpdf). */
const classify = (error: unknown, endMarker: boolean): PdfUnreadable => {
  const name = errorName(error)
  const message = errorMessage(error).split("\n")[0] ?? ""
  if (name === "PasswordException") {
    return new PdfUnreadable({ reason: "encrypted", detail: "the PDF is encrypted with a password; send an unprotected copy" })
  }
  if (!endMarker) return new PdfUnreadable({ reason: "truncated", detail: `the file ends before its %%EOF marker (${message})` })
  return new PdfUnreadable({ reason: "damaged", detail: `pdf.js cannot parse the file: ${message}` })
}

/** Joins pdf.js items that are one word split at a ligature or a kerning break; drops whitespace-only items. */
export const mergeItems = (raw: ReadonlyArray<TextItem>): Array<TextItem> => {
  const out: Array<TextItem> = []
  for (const t of raw) {
    if (t.str.trim() === "") continue
    const prev = out[out.length - 1]
    if (prev) {
      const size = Math.max(prev.height, t.height, 1)
      const gap = t.x - (prev.x + prev.width)
      const sameLine = Math.abs(prev.y - t.y) < 0.2 * size && Math.abs(prev.height - t.height) < 0.25 * size
      if (sameLine && gap > -0.3 * size && gap < 0.32 * size) {
        const glue = gap > 0.1 * size && !prev.str.endsWith(" ") && !t.str.startsWith(" ") ? " " : ""
        out[out.length - 1] = {
          str: (prev.str + glue + t.str).replace(/\s+/g, " "),
          x: prev.x,
          y: prev.y,
          width: Math.max(prev.width, t.x + t.width - prev.x),
          height: prev.height
        }
        continue
      }
    }
    out.push({ ...t, str: t.str.replace(/\s+/g, " ").trim() })
  }
  return out
}

interface RawTextItem {
  readonly str: string
  readonly transform: ReadonlyArray<number>
  readonly width: number
  readonly height: number
}

const isRawTextItem = (item: unknown): item is RawTextItem =>
  typeof item === "object" && item !== null && "str" in item && "transform" in item && typeof item.str === "string"

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>

const readPage = (pdf: PdfDocument, pageNumber: number, ops: OpCodes, annotationMode: number, endMarker: boolean) =>
  Effect.tryPromise({
    try: async (): Promise<PageLayout> => {
      const page = await pdf.getPage(pageNumber)
      try {
        const [x0, y0, x1, y1] = page.view
        const content = await page.getTextContent()
        const raw: Array<TextItem> = []
        for (const item of content.items) {
          if (!isRawTextItem(item)) continue
          const [a = 1, b = 0, c = 0, d = 1, e = 0, f = 0] = item.transform
          if (Math.abs(b) > 0.01 * Math.abs(a) || Math.abs(c) > 0.01 * Math.abs(d)) continue
          const size = Math.abs(d) || item.height
          raw.push({ str: item.str, x: e, y: f, width: item.width, height: size })
        }
        // Fillable forms: widget values are not page text, and their appearances are left out of the drawing.
        const widgets = widgetLayout(await page.getAnnotations())
        const merged = mergeItems([...raw, ...widgets.items])
        const list = await page.getOperatorList({ annotationMode })
        const drawing = interpretOperators(list.fnArray, list.argsArray, ops)
        const drawn = findTickBoxes(drawing.shapes, merged)
        const typed = typedTickBoxes(merged, drawn)
        const fields = attachLabels(widgets.boxes, typed.items, [...drawn, ...typed.boxes])
        return {
          page: pageNumber,
          width: (x1 ?? 612) - (x0 ?? 0),
          height: (y1 ?? 792) - (y0 ?? 0),
          items: typed.items,
          boxes: [...drawn, ...typed.boxes, ...fields].sort(byReadingOrder),
          imageCount: drawing.imageCount
        }
      } finally {
        page.cleanup()
      }
    },
    catch: (error) => classify(error, endMarker)
  })

/**
 * Reads a PDF's layout. Errors: `PdfUnreadable` with reason empty, not_pdf, truncated, encrypted, damaged,
 * too_many_pages (refused outright), no_text_layer (no page has any text: a scan), or timeout.
 */
export const readPdfLayout = Effect.fn("PdfLayout.read")(function* (bytes: Uint8Array, options: PdfLayoutOptions = {}) {
  const maxPages = options.maxPages ?? DEFAULTS.maxPages
  const refuseAbove = options.refusePagesAbove ?? DEFAULTS.refusePagesAbove
  const checked = preflight(bytes, options.maxBytes ?? DEFAULTS.maxBytes)
  if (checked instanceof PdfUnreadable) return yield* checked
  const { endMarker } = checked
  ensureTransferToFixedLength()
  const pdfjs = yield* Effect.tryPromise({ try: () => getResolvedPDFJS(), catch: (error) => classify(error, true) })
  const ops: OpCodes = pdfjs.OPS
  // Widgets are read from their values (FormWidgets), so their appearances stay out of the drawing.
  const annotationMode: number = pdfjs.AnnotationMode.ENABLE_FORMS

  const read = Effect.acquireUseRelease(
    Effect.tryPromise({
      // A copy: pdf.js may take over (detach) the buffer it is given.
      try: () => getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false, stopAtErrors: false }),
      catch: (error) => classify(error, endMarker)
    }),
    (pdf) =>
      Effect.gen(function* () {
        const pageCount = pdf.numPages
        if (pageCount > refuseAbove) {
          return yield* new PdfUnreadable({
            reason: "too_many_pages",
            detail: `the PDF has ${pageCount} pages; a submission form has far fewer (limit ${refuseAbove})`
          })
        }
        const pagesRead = Math.min(pageCount, maxPages)
        const pages: Array<PageLayout> = []
        for (let n = 1; n <= pagesRead; n++) {
          pages.push(yield* readPage(pdf, n, ops, annotationMode, endMarker))
        }
        if (pages.every((p) => p.items.length === 0)) {
          const images = pages.reduce((sum, p) => sum + p.imageCount, 0)
          return yield* new PdfUnreadable({
            reason: "no_text_layer",
            detail:
              images > 0
                ? `no text on ${pagesRead} page(s), only ${images} image(s): a scan; run OCR or send the original PDF`
                : `no text on ${pagesRead} page(s): only drawn shapes or blank pages`
          })
        }
        const notes: Array<string> = []
        if (pagesRead < pageCount) notes.push(`only the first ${pagesRead} of ${pageCount} pages were read`)
        if (!endMarker) notes.push("the file has no %%EOF marker at its end: it may be truncated")
        const layout: PdfLayout = { pageCount, pagesRead, pages, notes }
        return layout
      }),
    (pdf) => Effect.promise(() => pdf.destroy().catch(() => undefined))
  )
  const timeout = options.timeout ?? DEFAULTS.timeout
  return yield* read.pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new PdfUnreadable({ reason: "timeout", detail: `reading took longer than ${Duration.format(Duration.decode(timeout))}` })
    })
  )
})
