/** Boundary decoding: keys that reach a prototype and absurd nesting are typed refusals naming the path, never a crash. */
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { Hold } from "./Commands.ts"
import { checkJsonBody, checkJsonDepth, decodeStrict, decodeSubmission } from "./Decode.ts"
import { StepData } from "./Workflow.ts"

const nestedArrays = (depth: number): unknown => JSON.parse("[".repeat(depth) + "]".repeat(depth))

const pathsOf = (r: Either.Either<unknown, { readonly issues: ReadonlyArray<{ readonly path: string }> }>) =>
  Either.isLeft(r) ? r.left.issues.map((i) => i.path) : []

describe("decodeStrict", () => {
  it("refuses __proto__, constructor and prototype keys anywhere, naming the path", () => {
    for (const key of ["__proto__", "constructor", "prototype"]) {
      const top = JSON.parse(`{"_tag":"Hold","reason":"x","${key}":{"polluted":true}}`)
      expect(pathsOf(decodeStrict(Hold, top, "hold request"))).toEqual([key])
      const nested = JSON.parse(`{"step":"sample_qc","data":{"qubitNgUl":1,"volumeUl":1,"x":[{"${key}":1}]}}`)
      const r = decodeStrict(StepData, nested, "data")
      expect(Either.isLeft(r) && r.left._tag).toBe("InvalidInput")
      expect(pathsOf(r)).toEqual([`data.x.0.${key}`])
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("refuses them in a submission's header and rows", () => {
    const r = decodeSubmission(JSON.parse(`{"submitterEmail":"a@b.example","__proto__":{"x":1},"samples":[{"sampleName":"s","constructor":1}]}`))
    if (Either.isRight(r)) return expect.fail("accepted")
    expect(r.left.rows.map((row) => [row.row, row.issues.map((i) => i.path)])).toEqual([[0, ["__proto__"]], [1, ["constructor"]]])
  })

  it("3,000-deep input is a typed InvalidInput, not a stack overflow", () => {
    const deep = { _tag: "Hold", reason: "x", extra: nestedArrays(3000) }
    const r = decodeStrict(Hold, deep, "hold request")
    expect(Either.isLeft(r) && r.left._tag).toBe("InvalidInput")
    expect(decodeStrict(Schema.Unknown, nestedArrays(100_000), "body").pipe(Either.isLeft)).toBe(true)
  })
})

describe("checkJsonBody", () => {
  it("refuses prototype keys of a batch body before a Record decode could swallow them", () => {
    const body = JSON.parse(`{"sampleIds":["a"],"reason":"x","__proto__":{"polluted":1},"data":{"prototype":2}}`)
    expect(pathsOf(checkJsonBody(body))).toEqual(["__proto__", "data.prototype"])
    expect(Either.isRight(checkJsonBody({ sampleIds: ["a"], reason: "x" }))).toBe(true)
    expect(Either.isLeft(checkJsonBody(nestedArrays(3000)))).toBe(true)
  })
})

describe("checkJsonDepth", () => {
  it("passes up to the limit and refuses beyond it with a typed error", () => {
    expect(Either.isRight(checkJsonDepth(nestedArrays(64)))).toBe(true)
    expect(Either.isRight(checkJsonDepth({ a: [{ b: "x" }] }))).toBe(true)
    expect(Either.isRight(checkJsonDepth("plain"))).toBe(true)
    const r = checkJsonDepth(nestedArrays(3000))
    if (Either.isRight(r)) return expect.fail("accepted")
    expect(r.left._tag).toBe("InvalidInput")
    expect(r.left.issues[0]?.message).toBe("nests deeper than 64 levels of objects and arrays")
    expect(Either.isLeft(checkJsonDepth(nestedArrays(65)))).toBe(true)
    expect(Either.isLeft(checkJsonDepth({ a: { b: { c: 1 } } }, 2))).toBe(true)
    expect(Either.isRight(checkJsonDepth({ a: { b: 1 } }, 2))).toBe(true)
  })
})
