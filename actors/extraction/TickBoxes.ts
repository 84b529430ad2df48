/**
 * Radio buttons and check boxes found among a page's painted shapes, whether each is ticked, and its option label.
 * A box is ticked when its inside is darker than the page behind it: a filled dot or square, an inner mark, two
 * crossing lines, a check mark, or a glyph such as "X" typed into it. Decided by sampling the inside of the box
 * after replaying every shape that touches it in paint order, so a white fill over a dark one reads as empty.
 */
import type { Point, Rect, Shape } from "./PageDrawing.ts"
import type { TextItem, TickBox } from "./PdfLayout.ts"

const MIN_BOX = 3.5
const MAX_BOX = 28
const GRID = 9
/** Darkness at which a sampled point counts as ink. */
const INK = 0.42
/** Fraction of inner samples that must be ink for a tick. */
const TICK_RATIO = 0.05

const width = (r: Rect) => r.x1 - r.x0
const height = (r: Rect) => r.y1 - r.y0
const center = (r: Rect): Point => ({ x: (r.x0 + r.x1) / 2, y: (r.y0 + r.y1) / 2 })
const contains = (r: Rect, p: Point, slack = 0) =>
  p.x >= r.x0 - slack && p.x <= r.x1 + slack && p.y >= r.y0 - slack && p.y <= r.y1 + slack
const intersects = (a: Rect, b: Rect) => a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1

/** A closed outline the size and shape of a box: a rectangle or a circle, not a line or a table border. */
const isBoxOutline = (s: Shape) => {
  const w = width(s.bbox)
  const h = height(s.bbox)
  if (w < MIN_BOX || h < MIN_BOX || w > MAX_BOX || h > MAX_BOX) return false
  if (w / h < 0.7 || w / h > 1.43) return false
  if (s.pointCount > 400) return false
  const first = s.subpaths[0]
  if (!first || first.points.length < 4) return false
  const a = first.points[0]!
  const b = first.points[first.points.length - 1]!
  const closed = first.closed || Math.hypot(a.x - b.x, a.y - b.y) < 0.2 * w
  if (!closed) return false
  // A filled outline only counts when it can be seen as a box: a stroke, or a fill that is not white.
  return s.stroke ? s.strokeInk > 0.15 || s.fillInk > 0.15 : s.fillInk > 0.15
}

const distanceToSegment = (p: Point, a: Point, b: Point) => {
  const dx = b.x - a.x
  const dy = b.y - a.y
  const len2 = dx * dx + dy * dy
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2))
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy))
}

/** Non-zero or even-odd winding, over all subpaths of a filled shape. */
const insideFill = (s: Shape, p: Point) => {
  let winding = 0
  let crossings = 0
  for (const sub of s.subpaths) {
    const pts = sub.points
    for (let i = 0; i < pts.length; i++) {
      const a = pts[i]!
      const b = pts[(i + 1) % pts.length]!
      if (a.y <= p.y !== b.y <= p.y) {
        const x = a.x + ((p.y - a.y) / (b.y - a.y)) * (b.x - a.x)
        if (x > p.x) {
          crossings++
          winding += b.y > a.y ? 1 : -1
        }
      }
    }
  }
  return s.evenOdd ? crossings % 2 === 1 : winding !== 0
}

const onStroke = (s: Shape, p: Point, tolerance: number) => {
  const reach = Math.max(s.lineWidth / 2, 0) + tolerance
  for (const sub of s.subpaths) {
    const pts = sub.points
    const n = sub.closed ? pts.length : pts.length - 1
    for (let i = 0; i < n; i++) {
      if (distanceToSegment(p, pts[i]!, pts[(i + 1) % pts.length]!) <= reach) return true
    }
  }
  return false
}

/** Glyphs people type into a box to tick it. */
const TICK_GLYPH = /^[xX✓✔✗✘■●◼⬛•☒☑*+]$/u

interface Candidate {
  readonly outline: Shape
  readonly members: Array<Shape>
}

/** Sample points inside the box, away from its border (a circle only inside its disc). */
const samplePoints = (box: Rect, round: boolean, border: number): Array<Point> => {
  const size = Math.min(width(box), height(box))
  const inset = border + 0.14 * size
  const inner: Rect = { x0: box.x0 + inset, y0: box.y0 + inset, x1: box.x1 - inset, y1: box.y1 - inset }
  if (width(inner) <= 0 || height(inner) <= 0) return [center(box)]
  const c = center(box)
  const rx = width(box) / 2 - inset
  const ry = height(box) / 2 - inset
  const points: Array<Point> = []
  for (let i = 0; i < GRID; i++) {
    for (let j = 0; j < GRID; j++) {
      const p = { x: inner.x0 + (width(inner) * i) / (GRID - 1), y: inner.y0 + (height(inner) * j) / (GRID - 1) }
      if (round && ((p.x - c.x) / rx) ** 2 + ((p.y - c.y) / ry) ** 2 > 1.0001) continue
      points.push(p)
    }
  }
  return points
}

/** How much of the inside of the box is ink, against the page behind it. */
const inkRatio = (candidate: Candidate, shapes: ReadonlyArray<Shape>): { ratio: number; innerMark: boolean; lines: boolean } => {
  const { outline } = candidate
  const box = outline.bbox
  const border = outline.stroke ? outline.lineWidth : 0
  const points = samplePoints(box, outline.curved, border)
  const spacing = Math.min(width(box), height(box)) / GRID
  const touching = shapes.filter((s) => intersects(s.bbox, box))
  /** Darkness at a point from the page behind the box (before) and after everything is painted. */
  const paintAt = (p: Point) => {
    let before = 0
    let after = 0
    for (const s of touching) {
      let value: number | null = null
      if (s.fill && insideFill(s, p)) value = s.fillInk
      if (s.stroke && s !== outline && onStroke(s, p, spacing * 0.5)) value = s.strokeInk
      if (value === null) continue
      if (s.order < outline.order) before = value
      after = value
    }
    return after >= INK && after - before >= 0.3
  }
  let inked = 0
  let lines = false
  for (const p of points) if (paintAt(p)) inked++
  // Stroked lines that cross inside the box (an X or a check mark), counted apart from filled marks.
  for (const s of touching) {
    if (s === outline || !s.stroke || s.fill || s.order < outline.order) continue
    if (s.strokeInk < INK) continue
    if (s.subpaths.some((sub) => sub.points.some((q) => contains(box, q, 0.5)))) lines = true
  }
  // A dark filled shape wholly inside the box, however small: an inner dot or square.
  const innerMark = touching.some(
    (s) =>
      s !== outline &&
      s.fill &&
      s.fillInk >= INK &&
      s.order > outline.order &&
      s.bbox.x0 >= box.x0 - 0.5 &&
      s.bbox.x1 <= box.x1 + 0.5 &&
      s.bbox.y0 >= box.y0 - 0.5 &&
      s.bbox.y1 <= box.y1 + 0.5 &&
      width(s.bbox) < width(box) * 0.95 &&
      width(s.bbox) > 0.5 &&
      // Still visible: not painted over by something lighter.
      [0.3, 0.5, 0.7].some((fx) => [0.3, 0.5, 0.7].some((fy) => paintAt({ x: s.bbox.x0 + fx * width(s.bbox), y: s.bbox.y0 + fy * height(s.bbox) })))
  )
  return { ratio: points.length === 0 ? 0 : inked / points.length, innerMark, lines }
}

const itemRect = (t: TextItem): Rect => ({ x0: t.x, y0: t.y - t.height * 0.2, x1: t.x + t.width, y1: t.y + t.height * 0.8 })

/**
 * The label of a box: the text items to its right on the same line, up to the next box or a wide gap.
 * Falls back to the text just left of it when nothing is on the right (forms that put the box after the label).
 */
const labelOf = (box: Rect, items: ReadonlyArray<TextItem>, boxes: ReadonlyArray<Rect>): { text: string; item: TextItem } | null => {
  const cy = center(box).y
  const size = height(box)
  const sameLine = items
    .filter((t) => {
      const r = itemRect(t)
      const mid = (r.y0 + r.y1) / 2
      return Math.abs(mid - cy) <= Math.max(size, t.height) * 0.6 && !contains(box, center(r))
    })
    .sort((a, b) => a.x - b.x)
  const right = sameLine.filter((t) => t.x >= box.x1 - 1)
  const nextBox = boxes
    .filter((b) => b !== box && Math.abs(center(b).y - cy) < size && b.x0 > box.x1)
    .reduce((min, b) => Math.min(min, b.x0), Infinity)
  const previousBox = boxes
    .filter((b) => b !== box && Math.abs(center(b).y - cy) < size && b.x1 < box.x0)
    .reduce((max, b) => Math.max(max, b.x1), -Infinity)
  const first = right[0]
  const left = sameLine.filter((t) => t.x + t.width <= box.x0 + 1 && t.x > previousBox).pop()
  const gapRight = first && first.x < nextBox ? first.x - box.x1 : Infinity
  const gapLeft = left ? box.x0 - (left.x + left.width) : Infinity
  // The option text hugs its box: on the right as a rule, on the left when it is clearly closer there.
  if (gapLeft < Math.max(2 * size, 16) && gapLeft < 0.6 * gapRight && left) return { text: left.str.trim(), item: left }
  if (first && gapRight <= Math.max(3 * size, 24)) {
    const parts = [first]
    let end = first.x + first.width
    for (const t of right.slice(1)) {
      if (t.x >= nextBox || t.x - end > Math.max(t.height, 6) * 1.2) break
      parts.push(t)
      end = t.x + t.width
    }
    return { text: parts.map((p) => p.str).join(" ").replace(/\s+/g, " ").trim(), item: first }
  }
  if (left && gapLeft <= Math.max(2 * size, 16)) return { text: left.str.trim(), item: left }
  return null
}

/** Every box on a page with its state, the darkness measure behind it, and its label. */
export const findTickBoxes = (shapes: ReadonlyArray<Shape>, items: ReadonlyArray<TextItem>): Array<TickBox> => {
  const outlines = shapes.filter(isBoxOutline).sort((a, b) => width(b.bbox) * height(b.bbox) - width(a.bbox) * height(a.bbox))
  const candidates: Array<Candidate> = []
  for (const s of outlines) {
    const c = center(s.bbox)
    const owner = candidates.find((k) => contains(k.outline.bbox, c, 1))
    if (owner) owner.members.push(s)
    else candidates.push({ outline: s, members: [] })
  }
  // Among same-sized outlines of one box (a fill and a stroke of the same circle), the earliest is the box.
  for (const k of candidates) {
    const same = [k.outline, ...k.members].filter(
      (s) => Math.abs(width(s.bbox) - width(k.outline.bbox)) < 0.6 && Math.abs(height(s.bbox) - height(k.outline.bbox)) < 0.6
    )
    const earliest = same.reduce((a, b) => (b.order < a.order ? b : a))
    if (earliest !== k.outline) {
      k.members.splice(k.members.indexOf(earliest), 1)
      k.members.push(k.outline)
      Object.assign(k, { outline: earliest })
    }
  }
  const rects = candidates.map((k) => k.outline.bbox)
  return candidates
    .map((k): TickBox => {
      const box = k.outline.bbox
      const { innerMark, lines, ratio } = inkRatio(k, shapes)
      const glyph = items.find((t) => TICK_GLYPH.test(t.str.trim()) && contains(box, center(itemRect(t)), 0.5))
      const ticked = ratio >= TICK_RATIO || innerMark || glyph !== undefined
      const mark = glyph ? "glyph" : innerMark || (ratio >= TICK_RATIO && !lines) ? "fill" : lines && ratio >= TICK_RATIO ? "lines" : "none"
      const clear = ratio === 0 || ratio >= 0.15 || glyph !== undefined || innerMark
      const label = labelOf(box, items.filter((t) => t !== glyph), rects)
      return {
        kind: k.outline.curved ? "radio" : "checkbox",
        x: box.x0,
        y: box.y0,
        width: width(box),
        height: height(box),
        ticked,
        mark,
        ink: Math.round(ratio * 1000) / 1000,
        certainty: clear ? 0.99 : 0.7,
        label: label?.text ?? null,
        labelX: label?.item.x ?? null
      }
    })
    .sort(byReadingOrder)
}

/** Top to bottom, then left to right; boxes whose centres are within half a box height share a line. */
export const byReadingOrder = (a: TickBox, b: TickBox): number => {
  const dy = b.y + b.height / 2 - (a.y + a.height / 2)
  return Math.abs(dy) > 0.5 * Math.min(a.height, b.height) ? dy : a.x - b.x
}

const BALLOT_TICKED = "☑☒■▣◼⬛●◉⦿⊠✓✔✗✘"
const BALLOT_EMPTY = "☐□▢◻⬜○◯◎⊡"
const BALLOT = new RegExp(`[${BALLOT_TICKED}${BALLOT_EMPTY}]`, "u")

/**
 * Boxes typed as characters ("☒ MinION ☐ PromethION", as word processors write them): each ballot character
 * becomes a box (ticked or not by the character), and the text after it its label, split into its own item.
 * Characters inside a drawn box are marks of that box, not boxes of their own.
 */
export const typedTickBoxes = (
  items: ReadonlyArray<TextItem>,
  drawn: ReadonlyArray<TickBox>
): { readonly items: Array<TextItem>; readonly boxes: Array<TickBox> } => {
  const outItems: Array<TextItem> = []
  const boxes: Array<TickBox> = []
  for (const t of items) {
    const chars = [...t.str]
    const inDrawn = drawn.some((b) => contains({ x0: b.x, y0: b.y, x1: b.x + b.width, y1: b.y + b.height }, center(itemRect(t)), 0.5))
    if (inDrawn || !BALLOT.test(t.str) || chars.length < 2) {
      outItems.push(t)
      continue
    }
    const charWidth = t.width / chars.length
    let segment = ""
    let segmentStart = 0
    const flush = (end: number) => {
      const text = segment.trim()
      if (text !== "") {
        const lead = segment.length - segment.trimStart().length
        outItems.push({ str: text, x: t.x + (segmentStart + lead) * charWidth, y: t.y, width: text.length * charWidth, height: t.height })
      }
      segment = ""
      segmentStart = end
    }
    chars.forEach((ch, i) => {
      if (!BALLOT.test(ch)) {
        segment += ch
        return
      }
      flush(i + 1)
      const next = chars.slice(i + 1).join("")
      const label = next.split(BALLOT)[0]!.trim()
      const lead = next.length - next.trimStart().length
      boxes.push({
        kind: "○◯◎●◉⦿".includes(ch) ? "radio" : "checkbox",
        x: t.x + i * charWidth,
        y: t.y - 0.05 * t.height,
        width: charWidth,
        height: 0.75 * t.height,
        ticked: BALLOT_TICKED.includes(ch),
        mark: BALLOT_TICKED.includes(ch) ? "glyph" : "none",
        ink: BALLOT_TICKED.includes(ch) ? 1 : 0,
        certainty: 0.95,
        label: label === "" ? null : label,
        labelX: label === "" ? null : t.x + (i + 1 + lead) * charWidth
      })
    })
    flush(chars.length)
  }
  return { items: outItems, boxes }
}

/** Gives boxes found elsewhere (form widgets) their option labels from the page text, as drawn boxes get theirs. */
export const attachLabels = (boxes: ReadonlyArray<TickBox>, items: ReadonlyArray<TextItem>, others: ReadonlyArray<TickBox>): Array<TickBox> => {
  const rect = (b: TickBox): Rect => ({ x0: b.x, y0: b.y, x1: b.x + b.width, y1: b.y + b.height })
  const rects = [...boxes, ...others].map(rect)
  return boxes.map((b) => {
    const own = rects[boxes.indexOf(b)]!
    const label = labelOf(own, items, rects)
    return label ? { ...b, label: label.text, labelX: label.item.x } : b
  })
}
