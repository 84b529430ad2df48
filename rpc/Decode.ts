/** Boundary decoding that names every field at fault; shared by the server and the browser. */
import { Either, ParseResult, Schema } from "effect"
import { SubmissionHeader, SubmissionRow, type SubmissionInput } from "./Api.ts"
import { InvalidInput, SubmissionRejected, type FieldIssue } from "./Errors.ts"

/** A parse error as a list of `path: message` issues. */
export const issuesOf = (error: ParseResult.ParseError, prefix = ""): Array<FieldIssue> =>
  formatIssues(ParseResult.ArrayFormatter.formatErrorSync(error), prefix)

/** At most `max` characters of `s`: an error names what is wrong, it never echoes a large input back. */
const excerpt = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`)

/** Formatted parse issues (ArrayFormatter's) as `path: message` issues, one message per closed set of choices. */
export const formatIssues = (
  issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>,
  prefix = ""
): Array<FieldIssue> => {
  const raw = issues.map((i) => ({
    path: excerpt([prefix, ...i.path.map(String)].filter((s) => s.length > 0).join("."), 200),
    message: excerpt(i.message, 300)
  }))
  // A closed set of choices fails once per choice ("Expected \"a\", actual …"); say it once, listing the choices.
  const byPath = new Map<string, Array<string>>()
  // An optional struct with a bad field also fails as "Expected undefined" at the struct itself: the field says it.
  const nested = (path: string) => raw.some((j) => j.path.startsWith(`${path}.`) || (path === "" && j.path !== ""))
  for (const i of raw) {
    if (/^Expected undefined, actual /.test(i.message) && nested(i.path)) continue
    byPath.set(i.path, [...(byPath.get(i.path) ?? []), i.message])
  }
  const out: Array<FieldIssue> = []
  for (const [path, messages] of byPath) {
    const choices = messages.map((m) => /^Expected "([^"]*)", actual (.*)$/.exec(m)).filter((m) => m !== null)
    const rest = messages.filter((m) => !/^Expected "([^"]*)", actual /.test(m) && !/^Expected undefined, actual /.test(m))
    if (choices.length > 1) {
      out.push({ path, message: `must be one of ${choices.map((m) => m[1]).join(", ")}; got ${choices[0]![2]}` })
      for (const m of rest) out.push({ path, message: m })
    } else {
      for (const m of messages.length > 1 ? messages.filter((m) => !/^Expected undefined, actual /.test(m)) : messages) out.push({ path, message: m })
    }
  }
  return out
}

/** Object keys that could reach an object's prototype when copied or merged; refused anywhere in a request. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"])

/** How deep a request body may nest (objects and arrays); far beyond any valid request. */
export const MAX_JSON_DEPTH = 64

const joinPath = (path: ReadonlyArray<string | number>) => path.map(String).join(".")

/**
 * Whether `value` passes `inspect` (no nesting deeper than `max`, and with `keys` no forbidden own key), walked
 * without recursion and without building a path per node: every body that comes in goes through this, and nearly all
 * of them pass; `inspect` then names what is wrong in the rare one that does not.
 */
const passes = (value: unknown, max: number, keys: boolean): boolean => {
  const nodes: Array<unknown> = [value]
  const depths: Array<number> = [0]
  while (nodes.length > 0) {
    const node = nodes.pop()
    const depth = depths.pop()!
    if (typeof node !== "object" || node === null) continue
    if (depth >= max) return false
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i]
        if (typeof child === "object" && child !== null) {
          nodes.push(child)
          depths.push(depth + 1)
        }
      }
      continue
    }
    for (const key of Object.keys(node)) {
      if (keys && FORBIDDEN_KEYS.has(key)) return false
      const child = (node as Record<string, unknown>)[key]
      if (typeof child === "object" && child !== null) {
        nodes.push(child)
        depths.push(depth + 1)
      }
    }
  }
  return true
}

/**
 * Walks `value` without recursion (so no input can overflow the stack) and returns the issues: nesting deeper than
 * `max`, and (when `keys` is set) an own key `__proto__`, `constructor` or `prototype` in any object, with its path.
 */
const inspect = (value: unknown, max: number, keys: boolean): Array<FieldIssue> => (passes(value, max, keys) ? [] : issuesIn(value, max, keys))

/** `inspect`'s issues, each with its path (see `passes` for the walk that finds whether there is any). */
const issuesIn = (value: unknown, max: number, keys: boolean): Array<FieldIssue> => {
  const issues: Array<FieldIssue> = []
  const stack: Array<{ readonly value: unknown; readonly path: ReadonlyArray<string | number> }> = [{ value, path: [] }]
  while (stack.length > 0) {
    const { path, value: node } = stack.pop()!
    if (typeof node !== "object" || node === null) continue
    if (path.length >= max) {
      return [{ path: joinPath(path.slice(0, max)), message: `nests deeper than ${max} levels of objects and arrays` }]
    }
    const entries: Array<readonly [string | number, unknown]> = Array.isArray(node)
      ? node.map((v, i) => [i, v] as const)
      : Object.keys(node).map((k) => [k, (node as Record<string, unknown>)[k]] as const)
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!
      if (keys && typeof key === "string" && FORBIDDEN_KEYS.has(key)) {
        issues.push({ path: joinPath([...path, key]), message: `the key ${key} is not allowed` })
        continue
      }
      stack.push({ value: child, path: [...path, key] })
    }
  }
  return issues
}

/**
 * Refuses a parsed JSON value that nests deeper than `max` (a typed InvalidInput naming where, never a stack
 * overflow); the HTTP layer calls it on every body before decoding.
 */
export const checkJsonDepth = (value: unknown, max = MAX_JSON_DEPTH): Either.Either<unknown, InvalidInput> => {
  const issues = inspect(value, max, false)
  return issues.length === 0
    ? Either.right(value)
    : Either.left(new InvalidInput({ message: `the request nests deeper than ${max} levels`, issues }))
}

/**
 * Both checks of decodeStrict on a raw JSON body, for bodies decoded otherwise (e.g. a batch body whose extra fields
 * are a Record): Schema copies a `__proto__` key of a Record by assignment, which sets the copy's prototype and hides
 * the key from any later check. Call it on the parsed body first.
 */
export const checkJsonBody = (value: unknown, max = MAX_JSON_DEPTH): Either.Either<unknown, InvalidInput> => {
  const issues = inspect(value, max, true)
  return issues.length === 0 ? Either.right(value) : Either.left(new InvalidInput({ message: "invalid request body", issues }))
}

/**
 * Decodes `input` strictly (unknown fields are errors), or an InvalidInput naming each field. Keys that could reach a
 * prototype (`__proto__`, `constructor`, `prototype`) are refused anywhere in the input, as is nesting deeper than 64.
 */
export const decodeStrict = <A, I>(schema: Schema.Schema<A, I>, input: unknown, what: string): Either.Either<A, InvalidInput> => {
  const issues = inspect(input, MAX_JSON_DEPTH, true)
  if (issues.length > 0) return Either.left(new InvalidInput({ message: `invalid ${what}`, issues }))
  return Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(input).pipe(
    Either.mapLeft((e) => new InvalidInput({ message: `invalid ${what}`, issues: issuesOf(e) }))
  )
}

/**
 * Decodes a submission row by row: any bad row rejects the whole submission, naming every row (1-based) and field.
 */
export const decodeSubmission = (input: unknown): Either.Either<SubmissionInput, SubmissionRejected> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(new SubmissionRejected({ message: "a submission must be a JSON object", rows: [] }))
  }
  const { samples, ...header } = input as Record<string, unknown>
  const rows: Array<{ row: number; issues: Array<FieldIssue> }> = []
  const headerResult = decodeStrict(SubmissionHeader, header, "submission")
  if (Either.isLeft(headerResult)) rows.push({ row: 0, issues: headerResult.left.issues.slice() })
  if (!Array.isArray(samples) || samples.length === 0 || samples.length > 500) {
    rows.push({ row: 0, issues: [{ path: "samples", message: "a submission holds 1 to 500 samples" }] })
    return Either.left(new SubmissionRejected({ message: "submission rejected", rows }))
  }
  const decoded: Array<typeof SubmissionRow.Type> = []
  const seen = new Map<string, number>()
  samples.forEach((raw, i) => {
    const r = decodeStrict(SubmissionRow, raw, `row ${i + 1}`)
    if (Either.isLeft(r)) {
      rows.push({ row: i + 1, issues: r.left.issues.slice() })
      return
    }
    const name = r.right.sampleName.toLowerCase()
    const first = seen.get(name)
    if (first !== undefined) {
      rows.push({ row: i + 1, issues: [{ path: "sampleName", message: `duplicates the name of row ${first}` }] })
      return
    }
    seen.set(name, i + 1)
    decoded.push(r.right)
  })
  if (rows.length > 0 || Either.isLeft(headerResult)) {
    const bad = rows.filter((r) => r.row > 0).map((r) => r.row)
    return Either.left(new SubmissionRejected({
      message: bad.length > 0 ? `submission rejected: rows ${bad.join(", ")} are invalid; nothing was created` : "submission rejected; nothing was created",
      rows
    }))
  }
  return Either.right({ ...headerResult.right, samples: decoded })
}
