/**
 * Reading the values people write on forms: numbers with units or comma decimals, dates in the common orders,
 * e-mail addresses, genome sizes, coverages. Each parser returns null for blank or unreadable text, never throws.
 */

/** Placeholders that mean "left blank". */
const BLANK = /^(?:|-+|–|—|_+|\.+|n\/?a|none|nil|null|tbd|not provided|not applicable|\?)$/i

/** True when a cell or value holds nothing (or only a placeholder). */
export const isBlank = (text: string): boolean => BLANK.test(text.trim())

/** A label or header reduced to lower case words: "E-mail:" → "email", "Volume (µL)" → "volume (ul)". */
export const normalizeLabel = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[µμ]/g, "u")
    .replace(/e-mail/g, "email")
    .replace(/[*:]+\s*$/g, "")
    .replace(/\s+/g, " ")
    .trim()

/** Unit factors to µL, and to ng/µL, for units written in a header or a cell. */
const VOLUME_UNITS: Record<string, number> = { ul: 1, ml: 1000, nl: 0.001, l: 1e6 }
const CONCENTRATION_UNITS: Record<string, number> = { "ng/ul": 1, "ug/ml": 1, "ng/ml": 0.001, "ug/ul": 1000, "pg/ul": 0.001, "mg/ml": 1000 }

/** Rounds away binary noise (2.3 × 1000 = 2299.9999999999995). */
const tidy = (n: number) => Math.round(n * 1e9) / 1e9

/** How a document writes decimals: comma ("1,88") or point. Decided once per table from all its cells. */
export type DecimalStyle = "point" | "comma"

/** Guesses the decimal separator from cells such as "1,88" or "25,0" (a comma followed by 1, 2 or 4+ digits). */
export const detectDecimalStyle = (cells: ReadonlyArray<string>): DecimalStyle => {
  let comma = 0
  let point = 0
  for (const c of cells) {
    const t = c.trim()
    if (/^-?\d+,\d{1,2}(?!\d)/.test(t) || /^-?\d+,\d{4,}/.test(t) || /^-?\d{1,3}(\.\d{3})+,\d+/.test(t)) comma++
    else if (/^-?\d+\.\d+/.test(t)) point++
  }
  return comma > point ? "comma" : "point"
}

/**
 * A number from a cell: "48.5", "48,5" (comma decimal), "1,234.5" (thousands), "25 µL", "48.5 ng/µL", "~30".
 * `unitFactors` converts a unit written in the cell; an unknown unit leaves the number as written.
 */
export const parseNumber = (
  text: string,
  style: DecimalStyle = "point",
  unitFactors: Record<string, number> = {}
): number | null => {
  const t = text.trim().replace(/[\u2212\u2013]/g, "-").replace(/[µμ]/g, "u")
  if (isBlank(t)) return null
  const m = /^[~≈<>≤≥]?\s*(-?[\d.,' ]*\d)\s*([a-z/%×]*)\.?$/i.exec(t.replace(/\s+(?=[a-z/%])/gi, " "))
  if (!m) return null
  let digits = m[1]!.replace(/[' ]/g, "")
  if (style === "comma") digits = digits.replace(/\./g, "").replace(",", ".")
  else if (/^-?\d+,\d{1,2}$/.test(digits)) digits = digits.replace(",", ".")
  else digits = digits.replace(/,/g, "")
  if (!/^-?\d*\.?\d+$/.test(digits) && !/^-?\d+\.?$/.test(digits)) return null
  const value = Number(digits)
  if (!Number.isFinite(value)) return null
  const unit = m[2]!.toLowerCase()
  const factor = unit === "" ? 1 : unitFactors[unit]
  return tidy(factor === undefined ? value : value * factor)
}

/** The unit factor of a header such as "Volume (mL)" or "Conc. [ng/ul]"; 1 when none is written. */
export const headerUnitFactor = (header: string, kind: "volume" | "concentration"): number => {
  const h = normalizeLabel(header).replace(/\s+/g, "")
  const table = kind === "volume" ? VOLUME_UNITS : CONCENTRATION_UNITS
  const m = /[([]([a-z/]+)[)\]]/.exec(h)
  if (m && table[m[1]!] !== undefined) return table[m[1]!]!
  return 1
}

/** Units a volume cell may carry. */
export const volumeUnits = VOLUME_UNITS
/** Units a concentration cell may carry. */
export const concentrationUnits = CONCENTRATION_UNITS

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

const iso = (y: number, m: number, d: number): string | null => {
  if (m < 1 || m > 12 || d < 1 || d > 31) return null
  const date = new Date(Date.UTC(y, m - 1, d))
  if (date.getUTCMonth() !== m - 1) return null
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`
}

const fullYear = (y: number) => (y < 100 ? 2000 + y : y)

/**
 * An ISO date (YYYY-MM-DD) from "2026-03-15", "03/15/2026" (US order unless the first number exceeds 12),
 * "15.03.2026", "15 March 2026", "March 15, 2026", "2026/03/15".
 */
export const parseDate = (text: string): string | null => {
  const t = text.trim()
  let m = /(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})/.exec(t)
  if (m) return iso(Number(m[1]), Number(m[2]), Number(m[3]))
  m = /(\d{1,2})([/.-])(\d{1,2})\2(\d{2,4})/.exec(t)
  if (m) {
    const a = Number(m[1])
    const b = Number(m[3])
    const y = fullYear(Number(m[4]))
    // Dots are European (day first); slashes are US (month first) unless that cannot be a month.
    if (m[2] === "." || a > 12) return iso(y, b, a)
    return iso(y, a, b)
  }
  m = /(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3,})\.?,?\s+(\d{4})/i.exec(t)
  if (m) {
    const month = MONTHS.indexOf(m[2]!.slice(0, 3).toLowerCase())
    if (month >= 0) return iso(Number(m[3]), month + 1, Number(m[1]))
  }
  m = /([a-z]{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})/i.exec(t)
  if (m) {
    const month = MONTHS.indexOf(m[1]!.slice(0, 3).toLowerCase())
    if (month >= 0) return iso(Number(m[3]), month + 1, Number(m[2]))
  }
  return null
}

const EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g

/** Every e-mail address in a text, in order, without repeats. */
export const parseEmails = (text: string): Array<string> => {
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const m of text.matchAll(EMAIL)) {
    const e = m[0].replace(/\.$/, "")
    if (!seen.has(e.toLowerCase())) {
      seen.add(e.toLowerCase())
      out.push(e)
    }
  }
  return out
}

/** Genome size in Mb from "1400 Mb", "2.3 Gb", "4,6 Mbp", "5 kb", "3.1 Gbp"; a bare number is taken as Mb. */
export const parseGenomeSizeMb = (text: string, defaultUnit: "mb" | "gb" | "kb" = "mb"): number | null => {
  const t = text.trim().toLowerCase()
  if (isBlank(t)) return null
  const m = /(\d+(?:[.,]\d+)?)\s*(gb|gbp|g|mb|mbp|m|kb|kbp|k|bp)?\b/.exec(t)
  if (!m) return null
  const value = Number(m[1]!.replace(",", "."))
  if (!Number.isFinite(value)) return null
  const unit = (m[2] ?? defaultUnit).replace(/bp$/, "b")
  const factor = unit.startsWith("g") ? 1000 : unit.startsWith("k") ? 0.001 : unit === "b" ? 1e-6 : 1
  return tidy(value * factor)
}

/** Coverage from "30x", "30X", "30×", "30 fold", "30". */
export const parseCoverage = (text: string): number | null => {
  const m = /(\d+(?:[.,]\d+)?)\s*(?:x|×|-?fold)?/i.exec(text.trim())
  if (!m || isBlank(text)) return null
  return tidy(Number(m[1]!.replace(",", ".")))
}

/** A whole count ("3", "3 flow cells", "three" for one to ten). */
export const parseCount = (text: string): number | null => {
  const t = text.trim().toLowerCase()
  if (isBlank(t)) return null
  const m = /^(\d+)\b/.exec(t)
  if (m) return Number(m[1])
  const words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
  const w = words.indexOf(t.split(/\s+/)[0] ?? "")
  return w >= 0 ? w : null
}
