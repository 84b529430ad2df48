/**
 * A page's text items grouped into lines (same baseline), top to bottom, each line left to right. Page furniture
 * (running page numbers such as "Page 2 of 3") is left out so it cannot end up in a field or a table.
 */
import type { PageLayout, TextItem } from "./PdfLayout.ts"
import type { Evidence } from "./SubmissionForm.ts"

/** A text item with the page it is on and an id unique within the document. */
export interface PlacedItem extends TextItem {
  readonly page: number
  readonly id: number
}

/** Items sharing a baseline. `y` is the baseline of the first item, `height` the largest font size. */
export interface Line {
  readonly page: number
  readonly y: number
  readonly height: number
  readonly items: ReadonlyArray<PlacedItem>
}

/** A value with how sure the reader is of it and where it was read. */
export interface Reading<A> {
  readonly value: A
  readonly confidence: number
  readonly evidence: Evidence | null
}

const PAGE_FURNITURE = /^(page\s*\d+(\s*(of|\/)\s*\d+)?|\d+\s*(of|\/)\s*\d+|-\s*\d+\s*-|\d{1,3})$/i

/** Whether an item is a running page number in the top or bottom margin. */
const isFurniture = (t: TextItem, pageHeight: number) =>
  (t.y < Math.min(40, pageHeight * 0.05) || t.y > pageHeight - Math.min(30, pageHeight * 0.04)) && PAGE_FURNITURE.test(t.str.trim())

/** Lines of every page, in reading order; ids number items across the document. */
export const buildLines = (pages: ReadonlyArray<PageLayout>): Array<Line> => {
  const lines: Array<Line> = []
  let id = 0
  for (const page of pages) {
    const items = page.items
      .filter((t) => !isFurniture(t, page.height))
      .map((t): PlacedItem => ({ ...t, page: page.page, id: id++ }))
      .sort((a, b) => b.y - a.y || a.x - b.x)
    let current: Array<PlacedItem> = []
    let y = 0
    let height = 0
    const flush = () => {
      if (current.length > 0) lines.push({ page: page.page, y, height, items: current.sort((a, b) => a.x - b.x) })
      current = []
    }
    for (const t of items) {
      if (current.length > 0 && Math.abs(t.y - y) <= 0.3 * Math.max(height, t.height)) {
        current.push(t)
        height = Math.max(height, t.height)
      } else {
        flush()
        current = [t]
        y = t.y
        height = t.height
      }
    }
    flush()
  }
  return lines
}

/** Evidence pointing at one or more items of a page. */
export const evidenceOf = (items: ReadonlyArray<PlacedItem>, text?: string): Evidence | null => {
  const first = items[0]
  if (!first) return null
  return {
    page: first.page,
    text: text ?? items.map((t) => t.str).join(" "),
    x: Math.round(first.x * 10) / 10,
    y: Math.round(first.y * 10) / 10
  }
}

/** A text that looks like a number with an optional unit ("25", "1,88", "48.5 ng/µL", "n/a" does not). */
export const looksNumeric = (text: string): boolean => /^[~≈<>]?\s*-?\d[\d.,' ]*\s*[a-zµμ/%×]*\.?$/i.test(text.trim())
