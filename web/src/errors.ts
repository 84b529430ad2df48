/** Server errors in words a technician understands: which field, what is allowed, what to do next. */
import { Cause } from "effect"
import { COMMAND_ROUTES } from "../../rpc/Commands.ts"

/** A field at fault, as the server names it (`path` is a JSON path such as `record.data.qubitNgUl`). */
export interface FieldProblem {
  readonly path: string
  readonly message: string
}

/** What the user reads: a sentence, and the fields at fault when there are any. */
export interface Problem {
  readonly title: string
  readonly fields: ReadonlyArray<FieldProblem>
}

const COMMAND_WORDS: Record<string, string> = {
  Receive: "receive",
  StartStep: "start the step",
  CompleteStep: "record and complete the step",
  FailStep: "fail the step",
  Rework: "send back for rework",
  SkipStep: "skip the step",
  Hold: "put on hold",
  Resume: "resume",
  Cancel: "cancel",
  Archive: "archive",
  ChangePriority: "change the priority",
  EditFields: "edit the fields"
}

const words = (tag: string) => COMMAND_WORDS[tag] ?? (tag in COMMAND_ROUTES ? tag : tag)

const tagged = (error: unknown): { readonly _tag?: unknown; readonly message?: unknown } & Record<string, unknown> =>
  typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {}

/** Turns a typed error (or a failed Cause) into a Problem. */
export const describe = (failure: unknown): Problem => {
  const error = Cause.isCause(failure) ? Cause.squash(failure) : failure
  const e = tagged(error)
  const message = typeof e.message === "string" ? e.message : ""
  switch (e._tag) {
    case "InvalidInput":
      return { title: "Some values are not allowed. Correct the fields marked below.", fields: (e.issues as Array<FieldProblem>) ?? [] }
    case "SubmissionRejected": {
      const rows = (e.rows as Array<{ row: number; issues: Array<FieldProblem> }>) ?? []
      return {
        title: `Nothing was saved: ${rows.length} row${rows.length === 1 ? "" : "s"} need correcting.`,
        fields: rows.flatMap((r) => r.issues.map((i) => ({ path: `row ${r.row}: ${i.path}`, message: i.message })))
      }
    }
    case "StepTransitionRefused": {
      const allowed = ((e.allowed as Array<string>) ?? []).map(words)
      return {
        title: `Cannot ${words(String(e.attempted))} now: ${String(e.reason)}.${allowed.length > 0 ? ` Possible now: ${allowed.join(", ")}.` : ""}`,
        fields: []
      }
    }
    case "VersionMismatch":
      return { title: "Someone else changed this sample meanwhile. The page shows the new state: check it and try again.", fields: [] }
    case "SampleNotFound":
      return { title: "No sample has this id (it may have been mistyped).", fields: [] }
    case "SubmissionNotFound":
      return { title: "No submission has this id.", fields: [] }
    case "Forbidden":
      return { title: `Not allowed for your account: ${message}`, fields: [] }
    case "Unauthenticated":
      return { title: `Please sign in again: ${message}`, fields: [] }
    case "RateLimited":
      return { title: `Too many requests: wait ${String(e.retryAfterSeconds ?? 1)} s and try again.`, fields: [] }
    case "SampleBusy":
      return { title: "The sample is moving between servers: try again in a moment (nothing was changed twice).", fields: [] }
    case "IdempotencyKeyReused":
      return { title: "This request was already used for another command: reload the page and retry.", fields: [] }
    case "SignInFailed":
      return { title: message || "Wrong e-mail or password.", fields: [] }
    case "RpcClientError":
    case "RequestError":
    case "ResponseError":
      return { title: "The server could not be reached. Check the connection; your input is kept.", fields: [] }
    default:
      return { title: message || "Something went wrong on the server; it has been logged.", fields: [] }
  }
}

/** The message for one field path (the last segment, or the whole path), if the problem names it. */
export const fieldMessage = (problem: Problem | undefined, field: string): string | undefined =>
  problem?.fields.find((f) => f.path === field || f.path.endsWith(`.${field}`) || f.path.endsWith(`[${JSON.stringify(field)}]`))?.message
