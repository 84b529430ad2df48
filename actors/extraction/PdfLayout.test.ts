/**
 * The layout reader: tick marks of every style, under transforms, with their labels; and every kind of bad file
 * ending in its own typed error (or a bounded partial result), never a crash or a hang.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import { PDFDocument, rgb, StandardFonts } from "pdf-lib"
import { FormPdf, greyPng, type TickStyle } from "../../test/FormPdfBuilder.ts"
import { readPdfLayout } from "./PdfLayout.ts"
import { PdfUnreadable } from "./PdfUnreadable.ts"

const STYLES: ReadonlyArray<TickStyle> = ["dot", "x", "check", "square", "fill", "glyph"]

/** The reason a file is refused; a file that reads fine gives "read" (not the whole layout, in a failure message). */
const reasonOf = (bytes: Uint8Array, options?: Parameters<typeof readPdfLayout>[1]) =>
  readPdfLayout(bytes, options).pipe(
    Effect.map(() => "read"),
    Effect.catchTag("PdfUnreadable", (e) => Effect.succeed(e.reason))
  )

/** A small valid form (one labelled field, one option group, one table row). */
const smallForm = () =>
  Effect.promise(async () =>
    (await FormPdf.create())
      .field("Quote:", "HTSF--QQ-001", { inline: true })
      .options("Device:", [["MinION", true], ["PromethION", false]], { style: "dot", shape: "circle" })
      .save()
  )


describe("tick boxes", () => {
  it.effect("reads every tick style in circles and squares, drawn plainly or under a scaling transform", () =>
    Effect.gen(function* () {
      const pdf = yield* Effect.promise(async () => {
        const form = await FormPdf.create()
        for (const transformed of [false, true]) {
          for (const shape of ["circle", "square"] as const) {
            for (const style of STYLES) {
              const tag = `${style}-${shape}${transformed ? "-t" : ""}`
              form.options(`Group ${tag}`, [[`${tag}-on`, true], [`${tag}-off`, false]], { style, shape, transformed })
            }
          }
        }
        return form.save()
      })
      const layout = yield* readPdfLayout(pdf)
      const boxes = layout.pages.flatMap((p) => p.boxes)
      expect(boxes).toHaveLength(2 * 2 * STYLES.length * 2)
      for (const b of boxes) {
        expect(b.label, JSON.stringify(b)).toMatch(/-(on|off)$/)
        expect(b.ticked, `${b.label} (${b.mark}, ink ${b.ink})`).toBe(b.label!.endsWith("-on"))
        expect(b.certainty).toBeGreaterThan(0.9)
      }
      expect(boxes.find((b) => b.label === "dot-circle-on")?.kind).toBe("radio")
      expect(boxes.find((b) => b.label === "x-square-on")?.kind).toBe("checkbox")
    }))

  it.effect("a box whose mark is painted over in white reads as empty; a pale background is not a tick", () =>
    Effect.gen(function* () {
      const pdf = yield* Effect.promise(async () => {
        const doc = await PDFDocument.create()
        const font = await doc.embedFont(StandardFonts.Helvetica)
        const page = doc.addPage([300, 200])
        page.drawRectangle({ x: 10, y: 150, width: 280, height: 30, color: rgb(0.9, 0.93, 0.97) })
        page.drawRectangle({ x: 20, y: 160, width: 9, height: 9, borderColor: rgb(0, 0, 0), borderWidth: 0.8 })
        page.drawText("pale", { x: 33, y: 161, size: 9, font })
        page.drawRectangle({ x: 20, y: 100, width: 9, height: 9, borderColor: rgb(0, 0, 0), borderWidth: 0.8 })
        page.drawRectangle({ x: 22, y: 102, width: 5, height: 5, color: rgb(0, 0, 0) })
        page.drawRectangle({ x: 21, y: 101, width: 7, height: 7, color: rgb(1, 1, 1) })
        page.drawText("erased", { x: 33, y: 101, size: 9, font })
        return doc.save()
      })
      const layout = yield* readPdfLayout(pdf)
      const boxes = layout.pages[0]!.boxes
      expect(boxes.map((b) => [b.label, b.ticked])).toEqual([
        ["pale", false],
        ["erased", false]
      ])
    }))

  it.effect("text items keep their positions; ligature fragments are joined into words", () =>
    Effect.gen(function* () {
      const layout = yield* readPdfLayout(yield* smallForm())
      const items = layout.pages[0]!.items
      expect(items.map((t) => t.str)).toContain("Quote: HTSF--QQ-001")
      const device = layout.pages[0]!.boxes.find((b) => b.label === "MinION")
      expect(device).toMatchObject({ ticked: true, kind: "radio" })
      const label = items.find((t) => t.str === "MinION")!
      expect(label.x).toBeGreaterThan(device!.x + device!.width)
    }))
})

describe("bad files", () => {
  it.effect("empty → empty", () => Effect.gen(function* () {
    expect(yield* reasonOf(new Uint8Array())).toBe("empty")
  }))

  it.effect("not a PDF (text, a PNG) → not_pdf", () => Effect.gen(function* () {
    expect(yield* reasonOf(new TextEncoder().encode("quote,name\nHTSF--QQ-1,x\n"))).toBe("not_pdf")
    expect(yield* reasonOf(greyPng(4, 4))).toBe("not_pdf")
  }))

  it.effect("cut short anywhere → truncated", () => Effect.gen(function* () {
    const bytes = readFileSync(new URL("../../test/fixtures/forms/dev/dev-a01-n3.pdf", import.meta.url))
    const generated = yield* smallForm()
    for (const source of [new Uint8Array(bytes), generated]) {
      for (const fraction of [0.2, 0.5, 0.9]) {
        expect(yield* reasonOf(source.subarray(0, Math.floor(source.length * fraction)))).toBe("truncated")
      }
    }
  }))

  it.effect("a password-protected PDF → encrypted", () => Effect.gen(function* () {
    const encrypted = [
      "%PDF-1.4",
      "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
      "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj",
      "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj",
      `4 0 obj << /Filter /Standard /V 1 /R 2 /O <${"a1".repeat(32)}> /U <${"b2".repeat(32)}> /P -4 >> endobj`,
      `trailer << /Root 1 0 R /Size 5 /Encrypt 4 0 R /ID [<${"c3".repeat(16)}> <${"c3".repeat(16)}>] >>`,
      "%%EOF",
      ""
    ].join("\n")
    expect(yield* reasonOf(new TextEncoder().encode(encrypted))).toBe("encrypted")
  }))

  it.effect("a header and an end marker around garbage → damaged", () => Effect.gen(function* () {
    expect(yield* reasonOf(new TextEncoder().encode("%PDF-1.7\nnot really a pdf\n%%EOF\n"))).toBe("damaged")
  }))

  it.effect("only drawn shapes, or only an image (a scan) → no_text_layer", () => Effect.gen(function* () {
    const shapes = yield* Effect.promise(async () => {
      const doc = await PDFDocument.create()
      const page = doc.addPage([300, 300])
      page.drawRectangle({ x: 20, y: 20, width: 100, height: 50, borderColor: rgb(0, 0, 0), borderWidth: 1 })
      page.drawCircle({ x: 200, y: 200, size: 10, color: rgb(0, 0, 0) })
      return doc.save()
    })
    expect(yield* reasonOf(shapes)).toBe("no_text_layer")
    const scan = yield* Effect.promise(async () => {
      const doc = await PDFDocument.create()
      const image = await doc.embedPng(greyPng(8, 8))
      doc.addPage([300, 300]).drawImage(image, { x: 0, y: 0, width: 300, height: 300 })
      return doc.save()
    })
    const error = yield* Effect.flip(readPdfLayout(scan))
    expect(error).toBeInstanceOf(PdfUnreadable)
    expect(error.reason).toBe("no_text_layer")
    expect(error.detail).toMatch(/scan/)
  }))

  it.effect("300 pages: the first 50 are read and the rest is noted; above a hard limit the file is refused", () => Effect.gen(function* () {
    const pdf = yield* Effect.promise(async () => {
      const doc = await PDFDocument.create()
      const font = await doc.embedFont(StandardFonts.Helvetica)
      for (let i = 1; i <= 300; i++) doc.addPage([300, 300]).drawText(`page ${i}`, { x: 40, y: 150, size: 12, font })
      return doc.save()
    })
    const layout = yield* readPdfLayout(pdf)
    expect(layout).toMatchObject({ pageCount: 300, pagesRead: 50 })
    expect(layout.pages).toHaveLength(50)
    expect(layout.notes).toEqual(["only the first 50 of 300 pages were read"])
    expect(yield* reasonOf(pdf, { refusePagesAbove: 100 })).toBe("too_many_pages")
  }))

  it.live("a time budget too small to read the file → timeout", () => Effect.gen(function* () {
    const bytes = new Uint8Array(readFileSync(new URL("../../test/fixtures/forms/dev/dev-a03-n96.pdf", import.meta.url)))
    expect(yield* reasonOf(bytes, { timeout: "1 millis" })).toBe("timeout")
  }))

  it.effect("any bytes, and any damage to a valid PDF, give a layout or a typed error, never a defect", () =>
    Effect.gen(function* () {
      const valid = yield* smallForm()
      const inputs = fc.sample(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.uint8Array({ maxLength: 200 }).map((tail) => new Uint8Array([...new TextEncoder().encode("%PDF-1.7\n"), ...tail])),
          fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: valid.length })).map(([at, byte, cut]) => {
            const copy = new Uint8Array(valid.subarray(0, Math.max(cut, at + 1)))
            copy[at] = byte
            return copy
          })
        ),
        { numRuns: 40, seed: 12 }
      )
      // A defect would fail the test here: only the typed error may come out.
      const outcomes = yield* Effect.forEach(inputs, (bytes) => Effect.either(readPdfLayout(bytes)))
      expect(outcomes).toHaveLength(40)
      for (const o of outcomes) if (Either.isLeft(o)) expect(o.left).toBeInstanceOf(PdfUnreadable)
    }))
})
