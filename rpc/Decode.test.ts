/** Boundary decoding: keys that reach a prototype and absurd nesting are typed refusals naming the path, never a crash. */
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import fc from "fast-check"
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

/** What the checks refuse, worked out the plain recursive way (the values here are small): each forbidden key's path, or
 * the first path that nests too deep. */
const reference = (value: unknown, max: number, keys: boolean): { readonly tooDeep: boolean; readonly paths: ReadonlyArray<string> } => {
  let tooDeep = false
  const paths: Array<string> = []
  const walk = (node: unknown, path: ReadonlyArray<string>) => {
    if (typeof node !== "object" || node === null) return
    if (path.length >= max) {
      tooDeep = true
      return
    }
    for (const [key, child] of Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node)) {
      if (keys && ["__proto__", "constructor", "prototype"].includes(key)) paths.push([...path, key].join("."))
      else walk(child, [...path, key])
    }
  }
  walk(value, [])
  return { tooDeep, paths }
}

describe("the body checks on any JSON", () => {
  // JSON with forbidden keys among the ordinary ones, at any depth, parsed as a request body would be.
  const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom("__proto__", "constructor", "prototype"))
  const { json } = fc.letrec((tie) => ({
    json: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.boolean(), fc.constant(null)),
      fc.array(tie("json"), { maxLength: 4 }),
      fc.array(fc.tuple(key, tie("json")), { maxLength: 4 }).map((entries) =>
        `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`
      ).map((text) => JSON.parse(text) as unknown)
    )
  }))

  it("refuse exactly what a plain recursive walk finds: forbidden keys with their paths, nesting past the limit", () => {
    fc.assert(fc.property(json, fc.integer({ min: 1, max: 6 }), (value, max) => {
      const keys = reference(value, Number.MAX_SAFE_INTEGER, true)
      expect(pathsOf(checkJsonBody(value, Number.MAX_SAFE_INTEGER)).slice().sort()).toEqual(keys.paths.slice().sort())
      expect(Either.isLeft(checkJsonDepth(value, max))).toBe(reference(value, max, false).tooDeep)
    }), { numRuns: 2000 })
  })
})
