/**
 * Fillable PDF forms (AcroForm widgets): a filled text field becomes a text item where the field sits, a check box
 * or radio button becomes a tick box whose state is the field's value, not its appearance. pdf.js keeps widget
 * values out of the page text, so without this a filled-in fillable form would read as blank.
 */
import type { TextItem, TickBox } from "./PdfLayout.ts"

const WIDGET = 20

/** A widget annotation as pdf.js describes it (only the fields read here; everything arrives untyped). */
interface Widget {
  readonly fieldType: string
  readonly rect: readonly [number, number, number, number]
  readonly fieldValue: unknown
  readonly checkBox: boolean
  readonly radioButton: boolean
  readonly exportValue: unknown
  readonly buttonValue: unknown
  readonly fontSize: number
  readonly alternativeText: string | null
  readonly hidden: boolean
}

const asWidget = (a: unknown): Widget | null => {
  if (typeof a !== "object" || a === null) return null
  const get = (key: string): unknown => (key in a ? (a as Record<string, unknown>)[key] : undefined)
  if (get("annotationType") !== WIDGET) return null
  const rect = get("rect")
  if (!Array.isArray(rect) || rect.length !== 4 || !rect.every((n) => typeof n === "number" && Number.isFinite(n))) return null
  const [x1, y1, x2, y2] = rect as [number, number, number, number]
  const appearance = get("defaultAppearanceData")
  const size =
    typeof appearance === "object" && appearance !== null && "fontSize" in appearance && typeof appearance.fontSize === "number"
      ? appearance.fontSize
      : 0
  const alt = get("alternativeText")
  return {
    fieldType: String(get("fieldType") ?? ""),
    rect: [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)],
    fieldValue: get("fieldValue"),
    checkBox: get("checkBox") === true,
    radioButton: get("radioButton") === true,
    exportValue: get("exportValue"),
    buttonValue: get("buttonValue"),
    fontSize: size,
    alternativeText: typeof alt === "string" && alt.trim() !== "" ? alt.trim() : null,
    hidden: get("hidden") === true
  }
}

const textOf = (value: unknown): string =>
  typeof value === "string" ? value : Array.isArray(value) ? value.filter((v) => typeof v === "string").join(", ") : ""

/** Text items and unlabelled tick boxes from a page's annotations (labels are attached with the page text later). */
export const widgetLayout = (annotations: ReadonlyArray<unknown>): { readonly items: Array<TextItem>; readonly boxes: Array<TickBox> } => {
  const items: Array<TextItem> = []
  const boxes: Array<TickBox> = []
  for (const a of annotations) {
    const w = asWidget(a)
    if (!w || w.hidden) continue
    const [x0, y0, x1, y1] = w.rect
    const h = y1 - y0
    if (w.fieldType === "Btn" && (w.checkBox || w.radioButton)) {
      const value = w.fieldValue
      const on = w.radioButton
        ? value !== null && value !== undefined && value === w.buttonValue
        : typeof value === "string" && value !== "Off" && (typeof w.exportValue !== "string" || value === w.exportValue)
      boxes.push({
        kind: w.radioButton ? "radio" : "checkbox",
        x: x0,
        y: y0,
        width: x1 - x0,
        height: h,
        ticked: on,
        mark: on ? "fill" : "none",
        ink: on ? 1 : 0,
        certainty: 0.99,
        label: w.alternativeText,
        labelX: null
      })
    } else if (w.fieldType === "Tx" || w.fieldType === "Ch") {
      const text = textOf(w.fieldValue).trim()
      if (text === "") continue
      const size = w.fontSize > 0 ? w.fontSize : Math.min(Math.max(h * 0.6, 6), 12)
      const lines = text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== "")
      const top = lines.length > 1 ? y1 - size * 1.1 : y0 + (h - size) / 2 + size * 0.15
      lines.forEach((line, k) =>
        items.push({ str: line.trim(), x: x0 + 2, y: top - k * size * 1.15, width: Math.min(x1 - x0 - 2, line.trim().length * size * 0.5), height: size })
      )
    }
  }
  return { items, boxes }
}
