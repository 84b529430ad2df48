/**
 * `poretrack extract FORM.pdf [--evidence]`: reads a submission form with the deterministic pipeline (layout and
 * rules, no LLM) and prints `{"result", "confidence", "warnings"}` as JSON on stdout (`--evidence` adds where each
 * value was read). A file that cannot be read exits 1 with one line on stderr naming the reason; usage errors exit 2.
 * Never a stack trace.
 */
import { Cause, Data, Effect, Exit, Option } from "effect"
import { readFile } from "node:fs/promises"
import { PdfUnreadable } from "../actors/extraction/PdfUnreadable.ts"
import { readForm } from "../actors/extraction/ReadForm.ts"

/** A file that could not be opened at all (missing, a folder, no permission). */
class FileUnopenable extends Data.TaggedError("FileUnopenable")<{ readonly path: string; readonly detail: string }> {}

const USAGE = "usage: poretrack extract FORM.pdf [--evidence]"

const program = (path: string, withEvidence: boolean) =>
  Effect.gen(function* () {
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (error) =>
        new FileUnopenable({
          path,
          detail: error instanceof Error && "code" in error ? String(error.code) : error instanceof Error ? error.message : String(error)
        })
    })
    const { confidence, evidence, result, warnings } = yield* readForm(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    return JSON.stringify(withEvidence ? { result, confidence, evidence, warnings } : { result, confidence, warnings }, null, 2)
  })

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim()

const describe = (cause: Cause.Cause<PdfUnreadable | FileUnopenable>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    if (e instanceof PdfUnreadable) return `cannot read the PDF (${e.reason}): ${e.detail}`
    return `cannot open ${e.path}: ${e.detail}`
  }
  const defect = Cause.squash(cause)
  return `internal error: ${defect instanceof Error ? defect.message : String(defect)}`
}

const writeOut = (text: string) => new Promise<void>((resolve) => process.stdout.write(text, () => resolve()))

/** Runs the command; resolves to the process exit code. */
export const extractCommand = async (args: ReadonlyArray<string>): Promise<number> => {
  const flags = args.filter((a) => a.startsWith("--"))
  const files = args.filter((a) => !a.startsWith("--"))
  const unknown = flags.filter((f) => f !== "--evidence")
  if (files.length !== 1 || unknown.length > 0) {
    process.stderr.write(`poretrack extract: ${unknown.length > 0 ? `unknown option ${unknown[0]}; ` : ""}${USAGE}\n`)
    return 2
  }
  const exit = await Effect.runPromiseExit(program(files[0]!, flags.includes("--evidence")))
  if (Exit.isSuccess(exit)) {
    await writeOut(`${exit.value}\n`)
    return 0
  }
  process.stderr.write(`poretrack extract: ${oneLine(describe(exit.cause))}\n`)
  return 1
}
