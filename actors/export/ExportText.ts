/**
 * Text every export format can carry the same way. XML 1.0 cannot hold C0 control characters other than tab, line
 * feed and carriage return, nor U+FFFE/U+FFFF; UTF-8 cannot hold an unpaired surrogate. Each of these is replaced with
 * U+FFFD (the replacement character) in every format, so that all formats of one export carry the same text and a
 * reader sees where something was replaced (rather than silently losing it).
 */

const UNCARRIABLE =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const UNCARRIABLE_ALL = new RegExp(UNCARRIABLE.source, "g")

/** `s` with every character no format can carry replaced by U+FFFD (the same string when there is none). */
export const cleanText = (s: string): string => (UNCARRIABLE.test(s) ? s.replace(UNCARRIABLE_ALL, "\uFFFD") : s)

const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"))
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"))
const DAY_MS = 86_400_000
/** 0000-01-01T00:00:00.000Z and 10000-01-01T00:00:00.000Z: the range of four-digit years. */
const MIN_MS = -62_167_219_200_000
const MAX_MS = 253_402_300_800_000

/**
 * `new Date(ms).toISOString()`, several times faster (a million dates per export column): the civil date from the
 * day number by integer arithmetic (H. Hinnant's days-to-civil), the time of day from lookup tables. Outside years
 * 0000-9999 it defers to toISOString.
 */
export const isoTime = (ms: number): string => {
  if (!(ms >= MIN_MS && ms < MAX_MS)) return new Date(ms).toISOString()
  const days = Math.floor(ms / DAY_MS)
  let rest = ms - days * DAY_MS
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  const h = Math.floor(rest / 3_600_000)
  rest -= h * 3_600_000
  const m = Math.floor(rest / 60_000)
  rest -= m * 60_000
  const s = Math.floor(rest / 1000)
  const milli = Math.floor(rest - s * 1000)
  return `${PAD2[Math.floor(year / 100)]}${PAD2[year % 100]}-${PAD2[month]}-${PAD2[day]}T${PAD2[h]}:${PAD2[m]}:${PAD2[s]}.${PAD3[milli]}Z`
}
