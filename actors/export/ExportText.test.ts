/** The text and time helpers every format shares. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { isSafeText } from "../../rpc/SafeText.ts"
import { cleanText, isoTime } from "./ExportText.ts"

/** XML 1.0's Char production, code point by code point. */
const xmlLegal = (s: string): boolean => {
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    const ok = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000
    if (!ok) return false
  }
  return true
}

describe("ExportText", () => {
  it("isoTime is toISOString for any instant, including leap days, year ends and years outside 0000-9999", () => {
    fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString())
    }), { numRuns: 20_000 })
    for (const s of ["2024-02-29T23:59:59.999Z", "2000-03-01T00:00:00.000Z", "1900-02-28T12:00:00.001Z", "1969-12-31T23:59:59.999Z", "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"]) {
      expect(isoTime(Date.parse(s))).toBe(s)
    }
  })

  it("cleanText leaves safe text alone and makes any string XML-legal and UTF-8 encodable, replacing only what it must", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => {
      const t = cleanText(s)
      expect(xmlLegal(t)).toBe(true)
      expect(Buffer.from(t, "utf8").toString("utf8")).toBe(t)
      expect(t.length).toBe(s.length)
      expect(cleanText(t)).toBe(t)
      if (isSafeText(s) && !/[\uFFFE\uFFFF]/.test(s)) expect(t).toBe(s)
    }), { numRuns: 5_000 })
    expect(cleanText("a\u0000b\uD800c\uDC00d\uFFFE")).toBe("a\uFFFDb\uFFFDc\uFFFDd\uFFFD")
  })
})
