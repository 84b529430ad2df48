/** Boxes typed as characters, as word processors write them, become boxes with labels like drawn ones. */
import { describe, expect, it } from "@effect/vitest"
import type { TextItem } from "./PdfLayout.ts"
import { typedTickBoxes } from "./TickBoxes.ts"

const item = (str: string, x: number, y = 500): TextItem => ({ str, x, y, width: str.length * 5, height: 9 })

describe("typedTickBoxes", () => {
  it("splits '☒ MinION ☐ PromethION' into two boxes with their labels as items", () => {
    const { boxes, items } = typedTickBoxes([item("Device:", 40), item("☒ MinION ☐ PromethION", 100)], [])
    expect(boxes.map((b) => [b.label, b.ticked])).toEqual([
      ["MinION", true],
      ["PromethION", false]
    ])
    expect(items.map((t) => t.str)).toEqual(["Device:", "MinION", "PromethION"])
    for (const b of boxes) expect(items.some((t) => Math.abs(t.x - b.labelX!) < 0.01)).toBe(true)
  })

  it("leaves a character inside a drawn box to that box, and plain text alone", () => {
    const drawn = [{ kind: "checkbox", x: 99, y: 498, width: 9, height: 9, ticked: true, mark: "glyph", ink: 1, certainty: 0.99, label: "HAC", labelX: 112 }] as const
    const { boxes, items } = typedTickBoxes([item("■", 101), item("HAC", 112), item("Nanopore sequencing", 200)], drawn)
    expect(boxes).toEqual([])
    expect(items).toHaveLength(3)
  })
})
