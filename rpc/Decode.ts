/** Boundary decoding that names every field at fault; shared by the server and the browser. */
import { Either, ParseResult, Schema } from "effect"
import { SubmissionHeader, SubmissionRow, type SubmissionInput } from "./Api.ts"
import { InvalidInput, SubmissionRejected, type FieldIssue } from "./Errors.ts"

/** A parse error as a list of `path: message` issues. */
export const issuesOf = (error: ParseResult.ParseError, prefix = ""): Array<FieldIssue> => {
  const raw = ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((s) => s.length > 0).join("."),
    message: i.message
  }))
  // A closed set of choices fails once per choice ("Expected \"a\", actual …"); say it once, listing the choices.
  const byPath = new Map<string, Array<string>>()
  for (const i of raw) byPath.set(i.path, [...(byPath.get(i.path) ?? []), i.message])
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

/** Decodes `input` strictly (unknown fields are errors), or an InvalidInput naming each field. */
export const decodeStrict = <A, I>(schema: Schema.Schema<A, I>, input: unknown, what: string): Either.Either<A, InvalidInput> =>
  Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(input).pipe(
    Either.mapLeft((e) => new InvalidInput({ message: `invalid ${what}`, issues: issuesOf(e) }))
  )

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
