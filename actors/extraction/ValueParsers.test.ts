/** Reading written values: numbers with units and comma decimals, dates in several orders, sizes, coverages. */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { detectDecimalStyle, parseCount, parseCoverage, parseDate, parseEmails, parseGenomeSizeMb, parseNumber, volumeUnits, concentrationUnits } from "./ValueParsers.ts"

describe("ValueParsers", () => {
  it("numbers: plain, comma decimals, thousands, units inside the cell, placeholders", () => {
    expect(parseNumber("48.5")).toBe(48.5)
    expect(parseNumber("1,88")).toBe(1.88)
    expect(parseNumber("1,88", "comma")).toBe(1.88)
    expect(parseNumber("1.234,5", "comma")).toBe(1234.5)
    expect(parseNumber("1,234.5")).toBe(1234.5)
    expect(parseNumber("25 µL", "point", volumeUnits)).toBe(25)
    expect(parseNumber("0.025 mL", "point", volumeUnits)).toBe(25)
    expect(parseNumber("48,2 ng/µL", "comma", concentrationUnits)).toBe(48.2)
    expect(parseNumber("48.2ng/ul", "point", concentrationUnits)).toBe(48.2)
    for (const blank of ["", " ", "-", "—", "n/a", "N/A", "na", "tbd"]) expect(parseNumber(blank)).toBeNull()
    expect(parseNumber("too low")).toBeNull()
  })

  it("decimal style is decided by the table's cells", () => {
    expect(detectDecimalStyle(["1,88", "25,0", "2,1"])).toBe("comma")
    expect(detectDecimalStyle(["1.88", "25", "1,234.5"])).toBe("point")
  })

  it("dates: ISO, US slashes, European dots, month names", () => {
    expect(parseDate("2026-03-15")).toBe("2026-03-15")
    expect(parseDate("03/15/2026")).toBe("2026-03-15")
    expect(parseDate("15/03/2026")).toBe("2026-03-15")
    expect(parseDate("15.03.2026")).toBe("2026-03-15")
    expect(parseDate("March 15, 2026")).toBe("2026-03-15")
    expect(parseDate("15 Mar 2026")).toBe("2026-03-15")
    expect(parseDate("2026-02-30")).toBeNull()
    expect(parseDate("soon")).toBeNull()
  })

  it("genome sizes in Mb, coverages, counts, e-mail lists", () => {
    expect(parseGenomeSizeMb("2.3 Gb")).toBe(2300)
    expect(parseGenomeSizeMb("143.7 Mb")).toBe(143.7)
    expect(parseGenomeSizeMb("4,6 Mbp")).toBe(4.6)
    expect(parseGenomeSizeMb("48 kb")).toBe(0.048)
    expect(parseGenomeSizeMb("3.1", "gb")).toBe(3100)
    expect(parseCoverage("30X")).toBe(30)
    expect(parseCoverage("100x")).toBe(100)
    expect(parseCoverage("25 fold")).toBe(25)
    expect(parseCount("3")).toBe(3)
    expect(parseCount("two")).toBe(2)
    expect(parseEmails("a@x.org, B@Y.example.edu; a@x.org")).toEqual(["a@x.org", "B@Y.example.edu"])
  })

  it("any text gives a value or null, never a throw", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        for (const v of [parseNumber(text), parseNumber(text, "comma", volumeUnits), parseGenomeSizeMb(text), parseCoverage(text), parseCount(text)]) {
          expect(v === null || Number.isFinite(v)).toBe(true)
        }
        expect(parseDate(text) === null || /^\d{4}-\d{2}-\d{2}$/.test(parseDate(text)!)).toBe(true)
      }),
      { numRuns: 300 }
    )
  })
})
