/** Free text at the contract: NUL, C0 controls and unpaired surrogates are refused with a named field, never stored. */
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import fc from "fast-check"
import { NewSampleInput, ListSamples } from "./Api.ts"
import { Cancel, EditableFields, FailStep, Hold, Rework, SkipStep } from "./Commands.ts"
import { decodeStrict, decodeSubmission } from "./Decode.ts"
import { isSafeText, SafeText, UNSAFE_TEXT_MESSAGE } from "./SafeText.ts"
import { StepData } from "./Workflow.ts"

const BAD = ["a\u0000b", "\u0000", "x\u0001", "\u001b[31m", "\u007f\u0008", "lone \ud800 high", "lone \udc00 low", "end \ud83d", "\udc00\ud800"]
const GOOD = ["", "plain", "tab\there", "lines\r\nand\n", "emoji 🧬 ok", "\u007f del is fine", "ünïcödé", "\ud83d\ude00"]

/** The issues of a strict decode, as `path: message`. */
const issues = <A, I>(schema: Schema.Schema<A, I>, input: unknown) => {
  const r = decodeStrict(schema, input, "test")
  return Either.isLeft(r) ? r.left.issues.map((i) => `${i.path}: ${i.message}`) : []
}

describe("SafeText", () => {
  it("refuses NUL, C0 controls other than tab/LF/CR and unpaired surrogates; accepts the rest", () => {
    for (const s of BAD) expect({ s, ok: isSafeText(s) }).toEqual({ s, ok: false })
    for (const s of GOOD) expect({ s, ok: isSafeText(s) }).toEqual({ s, ok: true })
    expect(Schema.decodeUnknownEither(SafeText)("a\u0000").pipe(Either.isLeft)).toBe(true)
  })

  it("agrees with a UTF-8 round trip and the C0 rule on any string", () => {
    const unit = fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), fc.constantFrom("\ud83d\ude00", "\t", "\u0000"))
    fc.assert(fc.property(fc.string({ unit }), (s) => {
      const wellFormed = Buffer.from(s, "utf8").toString("utf8") === s
      const controls = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(s)
      expect(isSafeText(s)).toBe(wellFormed && !controls)
    }), { numRuns: 2000 })
  })

  it("every free-text field of commands, step data, details, submissions and list filters names the field", () => {
    const msg = UNSAFE_TEXT_MESSAGE
    expect(issues(Hold, { _tag: "Hold", reason: "a\u0000" })).toEqual([`reason: ${msg}`])
    expect(issues(Cancel, { _tag: "Cancel", reason: "\ud800" })).toEqual([`reason: ${msg}`])
    expect(issues(FailStep, { _tag: "FailStep", step: "sample_qc", reason: "\u0000" })).toEqual([`reason: ${msg}`])
    expect(issues(SkipStep, { _tag: "SkipStep", step: "basecalling", reason: "\u0001" })).toEqual([`reason: ${msg}`])
    expect(issues(Rework, { _tag: "Rework", toStep: "sample_qc", reason: "\udfff" })).toEqual([`reason: ${msg}`])
    expect(issues(EditableFields, { details: { notes: "n\u0000", organism: "\u0000", buffer: "b\u0002" } })).toEqual([
      `details.organism: ${msg}`,
      `details.buffer: ${msg}`,
      `details.notes: ${msg}`
    ])
    expect(issues(EditableFields, { sampleName: "S\u0000", submitterEmail: "a\u0000@b.example" })).toEqual([
      `sampleName: ${msg}`,
      `submitterEmail: ${msg}`
    ])
    const step = (step: string, data: Record<string, unknown>) => issues(StepData, { step, data })
    expect(step("library_prep", { kit: "SQK-LSK114", inputNg: 1, operator: "o\u0000", barcodeKit: "\u0000" })).toEqual([
      `data.barcodeKit: ${msg}`,
      `data.operator: ${msg}`
    ])
    expect(step("sequencing_setup", {
      flowCellId: "FAX123",
      flowCellProductCode: "FLO-MIN114",
      poreCount: 1,
      device: "d\u0000",
      position: "\u0000",
      runParameters: "\ud800"
    })).toEqual([`data.device: ${msg}`, `data.position: ${msg}`, `data.runParameters: ${msg}`])
    expect(step("sequencing_run", { runId: "r\u0000", yieldGb: 1, reads: 1, n50: 1 })).toEqual([`data.runId: ${msg}`])
    expect(step("basecalling", { model: "hac", passReadPercent: 1, softwareVersion: "\u0000", modifiedBases: ["5mC", "\u0000"] })).toEqual([
      `data.modifiedBases.1: ${msg}`,
      `data.softwareVersion: ${msg}`
    ])
    expect(step("quality_assessment", { meanQ: 1, passed: true, notes: "\u0000" })).toEqual([`data.notes: ${msg}`])
    expect(step("data_delivery", { method: "s3", location: "\u0000", checksumManifest: "\udc00" })).toEqual([
      `data.location: ${msg}`,
      `data.checksumManifest: ${msg}`
    ])
    expect(issues(NewSampleInput, { sampleName: "ok", submitterEmail: "a@b.example", flowCellType: "R10.4.1", notes: "\u0000" })).toEqual([
      `notes: ${msg}`
    ])
    expect(issues(ListSamples, { q: "\u0000", submitter: "\ud800" })).toEqual([`submitter: ${msg}`, `q: ${msg}`])
  })

  it("a submission names the header and row fields", () => {
    const r = decodeSubmission({
      submitterEmail: "a@b.example",
      lab: "l\u0000",
      service: { device: "\ud800" },
      samples: [{ sampleName: "ok", organism: "\u0000" }]
    })
    if (Either.isRight(r)) return expect.fail("accepted")
    expect(r.left.rows).toEqual([
      { row: 0, issues: [{ path: "lab", message: UNSAFE_TEXT_MESSAGE }, { path: "service.device", message: UNSAFE_TEXT_MESSAGE }] },
      { row: 1, issues: [{ path: "organism", message: UNSAFE_TEXT_MESSAGE }] }
    ])
  })

  it("keeps the existing limits", () => {
    expect(issues(Hold, { _tag: "Hold", reason: "" })).toEqual(["reason: a reason is required"])
    expect(issues(Hold, { _tag: "Hold", reason: "x".repeat(2001) })[0]).toMatch(/^reason: /)
    expect(issues(EditableFields, { details: { notes: "x".repeat(4001) } })[0]).toMatch(/^details\.notes: /)
  })
})
