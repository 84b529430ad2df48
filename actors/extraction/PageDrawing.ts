/**
 * The drawing operators of one PDF page (pdf.js operator list) replayed into painted shapes in page space.
 * Pure: keeps the graphics state stack (save/restore, transform, form XObjects, annotations), so every shape's
 * points are where a viewer would paint them, whatever matrices the producer used.
 */

/** A point in PDF page space (origin bottom-left, y up). */
export interface Point {
  readonly x: number
  readonly y: number
}

/** An axis-aligned rectangle in page space. */
export interface Rect {
  readonly x0: number
  readonly y0: number
  readonly x1: number
  readonly y1: number
}

/** One subpath, already flattened (curves become short lines). */
export interface Subpath {
  readonly points: ReadonlyArray<Point>
  readonly closed: boolean
}

/**
 * A painted path. `fillInk`/`strokeInk` are darkness in [0,1] (1 − luminance, times alpha): what matters for a tick
 * is how dark the mark is, not its hue.
 */
export interface Shape {
  readonly order: number
  readonly fill: boolean
  readonly evenOdd: boolean
  readonly stroke: boolean
  readonly fillInk: number
  readonly strokeInk: number
  readonly lineWidth: number
  readonly subpaths: ReadonlyArray<Subpath>
  readonly bbox: Rect
  readonly curved: boolean
  readonly pointCount: number
}

/** The operator numbers this interpreter needs, as pdf.js's `OPS` table names them. */
export type OpCodes = Readonly<Record<string, number>>

/** What one page's drawing yields: the shapes, and how many images (a scan is an image and no text). */
export interface PageDrawing {
  readonly shapes: ReadonlyArray<Shape>
  readonly imageCount: number
  readonly truncated: boolean
}

type Matrix = readonly [number, number, number, number, number, number]

const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0]

/** m1 ∘ m2: apply m2 first, then m1 (pdf.js `Util.transform`). */
const multiply = (m1: Matrix, m2: Matrix): Matrix => [
  m1[0] * m2[0] + m1[2] * m2[1],
  m1[1] * m2[0] + m1[3] * m2[1],
  m1[0] * m2[2] + m1[2] * m2[3],
  m1[1] * m2[2] + m1[3] * m2[3],
  m1[0] * m2[4] + m1[2] * m2[5] + m1[4],
  m1[1] * m2[4] + m1[3] * m2[5] + m1[5]
]

const apply = (m: Matrix, x: number, y: number): Point => ({ x: m[0] * x + m[2] * y + m[4], y: m[1] * x + m[3] * y + m[5] })

interface GraphicsState {
  ctm: Matrix
  fillInk: number
  strokeInk: number
  fillAlpha: number
  strokeAlpha: number
  lineWidth: number
}

const isNumberArray = (value: unknown, length: number): value is ReadonlyArray<number> =>
  (Array.isArray(value) || ArrayBuffer.isView(value)) &&
  (value as ArrayLike<unknown>).length >= length &&
  Array.from({ length }, (_, i) => (value as ArrayLike<unknown>)[i]).every((n) => typeof n === "number" && Number.isFinite(n))

const toMatrix = (value: unknown): Matrix | null =>
  isNumberArray(value, 6) ? [value[0]!, value[1]!, value[2]!, value[3]!, value[4]!, value[5]!] : null

/** Darkness of a colour given as `#rrggbb` (pdf.js converts every colour space to that), else null. */
export const inkOfColor = (value: unknown): number | null => {
  if (typeof value === "string") {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value)
    if (!m) return null
    const [r, g, b] = [m[1]!, m[2]!, m[3]!].map((h) => parseInt(h, 16) / 255) as [number, number, number]
    return 1 - (0.2126 * r + 0.7152 * g + 0.0722 * b)
  }
  if (isNumberArray(value, 3)) {
    const scale = Math.max(value[0]!, value[1]!, value[2]!) > 1 ? 255 : 1
    return 1 - (0.2126 * value[0]! + 0.7152 * value[1]! + 0.0722 * value[2]!) / scale
  }
  return null
}

const CURVE_STEPS = 8

interface PathBuilder {
  subpaths: Array<{ points: Array<Point>; closed: boolean }>
  curved: boolean
  count: number
}

const flattenCubic = (
  out: Array<Point>,
  m: Matrix,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  x3: number,
  y3: number
) => {
  for (let i = 1; i <= CURVE_STEPS; i++) {
    const t = i / CURVE_STEPS
    const u = 1 - t
    const x = u * u * u * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t * t * t * x3
    const y = u * u * u * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t * t * t * y3
    out.push(apply(m, x, y))
  }
}

/** pdf.js ≥ 4.x `constructPath` data: [code, coords…] with moveTo 0, lineTo 1, curveTo 2, quadraticCurveTo 3, closePath 4. */
const buildPath = (data: ArrayLike<number>, m: Matrix, maxPoints: number): PathBuilder => {
  const path: PathBuilder = { subpaths: [], curved: false, count: 0 }
  let current: { points: Array<Point>; closed: boolean } | null = null
  let cx = 0
  let cy = 0
  let sx = 0
  let sy = 0
  let i = 0
  const at = (k: number) => data[k] ?? 0
  let done = 0
  while (i < data.length && done + (current?.points.length ?? 0) < maxPoints) {
    const code = data[i]
    if (code === 0) {
      cx = sx = at(i + 1)
      cy = sy = at(i + 2)
      done += current?.points.length ?? 0
      current = { points: [apply(m, cx, cy)], closed: false }
      path.subpaths.push(current)
      i += 3
    } else if (code === 1) {
      cx = at(i + 1)
      cy = at(i + 2)
      if (!current) path.subpaths.push((current = { points: [apply(m, sx, sy)], closed: false }))
      current.points.push(apply(m, cx, cy))
      i += 3
    } else if (code === 2) {
      if (!current) path.subpaths.push((current = { points: [apply(m, cx, cy)], closed: false }))
      flattenCubic(current.points, m, cx, cy, at(i + 1), at(i + 2), at(i + 3), at(i + 4), at(i + 5), at(i + 6))
      cx = at(i + 5)
      cy = at(i + 6)
      path.curved = true
      i += 7
    } else if (code === 3) {
      if (!current) path.subpaths.push((current = { points: [apply(m, cx, cy)], closed: false }))
      const [qx, qy, ex, ey] = [at(i + 1), at(i + 2), at(i + 3), at(i + 4)]
      flattenCubic(
        current.points,
        m,
        cx,
        cy,
        cx + (2 / 3) * (qx - cx),
        cy + (2 / 3) * (qy - cy),
        ex + (2 / 3) * (qx - ex),
        ey + (2 / 3) * (qy - ey),
        ex,
        ey
      )
      cx = ex
      cy = ey
      path.curved = true
      i += 5
    } else if (code === 4) {
      if (current) {
        current.closed = true
        done += current.points.length
        current = null
      }
      cx = sx
      cy = sy
      i += 1
    } else {
      break
    }
  }
  path.count = path.subpaths.reduce((n, s) => n + s.points.length, 0)
  return path
}

const bboxOf = (subpaths: ReadonlyArray<Subpath>): Rect => {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (const s of subpaths) {
    for (const p of s.points) {
      if (p.x < x0) x0 = p.x
      if (p.y < y0) y0 = p.y
      if (p.x > x1) x1 = p.x
      if (p.y > y1) y1 = p.y
    }
  }
  return { x0, y0, x1, y1 }
}

/** Limits that keep a hostile page from costing unbounded time or memory. */
export interface DrawingLimits {
  readonly maxShapes: number
  readonly maxPointsPerShape: number
}

const DEFAULT_LIMITS: DrawingLimits = { maxShapes: 20_000, maxPointsPerShape: 4_000 }

/**
 * Replays an operator list. Unknown operators are skipped; malformed arguments end that operator, not the page.
 * Stops (and says so) after `maxShapes` painted paths.
 */
export const interpretOperators = (
  fnArray: ReadonlyArray<number>,
  argsArray: ReadonlyArray<unknown>,
  ops: OpCodes,
  limits: DrawingLimits = DEFAULT_LIMITS
): PageDrawing => {
  const op = (name: string) => ops[name] ?? -1
  const OP = {
    save: op("save"),
    restore: op("restore"),
    transform: op("transform"),
    setLineWidth: op("setLineWidth"),
    setGState: op("setGState"),
    constructPath: op("constructPath"),
    formBegin: op("paintFormXObjectBegin"),
    formEnd: op("paintFormXObjectEnd"),
    annotationBegin: op("beginAnnotation"),
    annotationEnd: op("endAnnotation"),
    stroke: op("stroke"),
    closeStroke: op("closeStroke"),
    fill: op("fill"),
    eoFill: op("eoFill"),
    fillStroke: op("fillStroke"),
    eoFillStroke: op("eoFillStroke"),
    closeFillStroke: op("closeFillStroke"),
    closeEOFillStroke: op("closeEOFillStroke"),
    fillTransparent: op("setFillTransparent"),
    strokeTransparent: op("setStrokeTransparent")
  }
  const fillColorOps = new Set(
    ["setFillRGBColor", "setFillGray", "setFillCMYKColor", "setFillColor", "setFillColorN"].map(op)
  )
  const strokeColorOps = new Set(
    ["setStrokeRGBColor", "setStrokeGray", "setStrokeCMYKColor", "setStrokeColor", "setStrokeColorN"].map(op)
  )
  const imageOps = new Set(
    [
      "paintImageXObject",
      "paintInlineImageXObject",
      "paintImageMaskXObject",
      "paintImageXObjectRepeat",
      "paintInlineImageXObjectGroup",
      "paintImageMaskXObjectGroup"
    ].map(op)
  )
  const fills = new Set([OP.fill, OP.eoFill, OP.fillStroke, OP.eoFillStroke, OP.closeFillStroke, OP.closeEOFillStroke])
  const strokes = new Set([OP.stroke, OP.closeStroke, OP.fillStroke, OP.eoFillStroke, OP.closeFillStroke, OP.closeEOFillStroke])
  const evenOdds = new Set([OP.eoFill, OP.eoFillStroke, OP.closeEOFillStroke])

  let gs: GraphicsState = { ctm: IDENTITY, fillInk: 1, strokeInk: 1, fillAlpha: 1, strokeAlpha: 1, lineWidth: 1 }
  const stack: Array<GraphicsState> = []
  const shapes: Array<Shape> = []
  let imageCount = 0
  let truncated = false
  const push = () => {
    stack.push(gs)
    gs = { ...gs }
  }
  const pop = () => {
    gs = stack.pop() ?? gs
  }

  for (let i = 0; i < fnArray.length; i++) {
    const fn = fnArray[i]
    const args: unknown = argsArray[i]
    const list: ReadonlyArray<unknown> = Array.isArray(args) ? args : []
    if (fn === OP.save) push()
    else if (fn === OP.restore) pop()
    else if (fn === OP.transform) {
      const m = toMatrix(list)
      if (m) gs.ctm = multiply(gs.ctm, m)
    } else if (fn === OP.formBegin) {
      push()
      const m = toMatrix(list[0])
      if (m) gs.ctm = multiply(gs.ctm, m)
    } else if (fn === OP.formEnd) pop()
    else if (fn === OP.annotationBegin) {
      push()
      const t = toMatrix(list[2])
      const m = toMatrix(list[3])
      if (t) gs.ctm = multiply(gs.ctm, t)
      if (m) gs.ctm = multiply(gs.ctm, m)
    } else if (fn === OP.annotationEnd) pop()
    else if (fn === OP.setLineWidth) {
      if (typeof list[0] === "number") gs.lineWidth = list[0]
    } else if (fn === OP.setGState) {
      const entries: ReadonlyArray<unknown> = Array.isArray(list[0]) ? list[0] : []
      for (const entry of entries) {
        if (!Array.isArray(entry)) continue
        const [key, value]: ReadonlyArray<unknown> = entry
        if (typeof value !== "number") continue
        if (key === "LW") gs.lineWidth = value
        else if (key === "ca") gs.fillAlpha = value
        else if (key === "CA") gs.strokeAlpha = value
      }
    } else if (fillColorOps.has(fn ?? -2)) {
      const ink = inkOfColor(list.length === 1 ? list[0] : list)
      if (ink !== null) gs.fillInk = ink
    } else if (strokeColorOps.has(fn ?? -2)) {
      const ink = inkOfColor(list.length === 1 ? list[0] : list)
      if (ink !== null) gs.strokeInk = ink
    } else if (fn === OP.fillTransparent) gs.fillInk = 0
    else if (fn === OP.strokeTransparent) gs.strokeInk = 0
    else if (imageOps.has(fn ?? -2)) imageCount++
    else if (fn === OP.constructPath) {
      const paint = list[0]
      if (typeof paint !== "number") continue
      const fill = fills.has(paint)
      const stroke = strokes.has(paint)
      if (!fill && !stroke) continue
      if (shapes.length >= limits.maxShapes) {
        truncated = true
        continue
      }
      const holder = list[1]
      const data: unknown = Array.isArray(holder) ? holder[0] : holder
      if (!(ArrayBuffer.isView(data) || Array.isArray(data))) continue
      const path = buildPath(data as ArrayLike<number>, gs.ctm, limits.maxPointsPerShape)
      if (path.subpaths.length === 0) continue
      const scale = Math.sqrt(Math.abs(gs.ctm[0] * gs.ctm[3] - gs.ctm[1] * gs.ctm[2]))
      shapes.push({
        order: shapes.length,
        fill,
        evenOdd: evenOdds.has(paint),
        stroke,
        fillInk: gs.fillInk * gs.fillAlpha,
        strokeInk: gs.strokeInk * gs.strokeAlpha,
        lineWidth: Math.max(gs.lineWidth, 0) * scale,
        subpaths: path.subpaths,
        bbox: bboxOf(path.subpaths),
        curved: path.curved,
        pointCount: path.count
      })
    }
  }
  return { shapes, imageCount, truncated }
}
