/**
 * `npm run bench:extract [folder]`: the deterministic PDF pipeline (layout + rules, no LLM) over the dev forms
 * (`test/fixtures/forms/dev`, a copy of ../shared/fixtures/forms/dev, or EXTRACT_FORMS_DIR, or the first argument). Prints field-level accuracy per
 * field and overall, sample-row recall and precision, tick-box field accuracy, and seconds per form.
 */
import { Effect, Either, Schema } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { type FormScore, scoreForm, summarize } from "../actors/extraction/FormScore.ts"
import { readForm } from "../actors/extraction/ReadForm.ts"
import { SubmissionForm } from "../actors/extraction/SubmissionForm.ts"

const dir = resolve(process.argv[2] ?? process.env.EXTRACT_FORMS_DIR ?? join(import.meta.dirname, "../test/fixtures/forms/dev"))
const pdfs = readdirSync(dir).filter((f) => f.endsWith(".pdf")).sort()
if (pdfs.length === 0) {
  console.error(`no PDF forms in ${dir}`)
  process.exit(1)
}
const decodeTruth = Schema.decodeUnknownSync(SubmissionForm)
const pct = (x: number) => `${(x * 100).toFixed(2)} %`

// A first pass loads pdf.js and warms the JIT; it is timed apart (a cold start), so the per-form figures are the
// steady state of a running server.
const warmStart = performance.now()
await Effect.runPromise(Effect.either(readForm(readFileSync(join(dir, pdfs[0]!)))))
const firstForm = (performance.now() - warmStart) / 1000
for (const file of pdfs) await Effect.runPromise(Effect.either(readForm(readFileSync(join(dir, file)))))
const warmup = (performance.now() - warmStart) / 1000

const scores: Array<FormScore> = []
const times: Array<number> = []
const cpuTimes: Array<number> = []
console.log(`forms in ${dir}\n`)
for (const file of pdfs) {
  const bytes = readFileSync(join(dir, file))
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  const outcome = await Effect.runPromise(Effect.either(readForm(bytes)))
  const seconds = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpuStart)
  times.push(seconds)
  cpuTimes.push((cpu.user + cpu.system) / 1e6)
  if (Either.isLeft(outcome)) {
    console.log(`${file}: FAILED ${outcome.left.reason}: ${outcome.left.detail}`)
    continue
  }
  const truthFile = join(dir, file.replace(/\.pdf$/, ".truth.json"))
  let truth: SubmissionForm
  try {
    truth = decodeTruth(JSON.parse(readFileSync(truthFile, "utf8")))
  } catch {
    console.log(`${file}: ${seconds.toFixed(3)} s (no readable truth file, not scored)`)
    continue
  }
  const score = scoreForm(truth, outcome.right.result)
  scores.push(score)
  const wrong = score.checks.filter((c) => !c.ok)
  console.log(
    `${file}: ${seconds.toFixed(3)} s, ${score.checks.length - wrong.length}/${score.checks.length} fields, rows ${score.rowsMatched}/${score.rowsExpected} (found ${score.rowsFound})`
  )
  for (const w of wrong.slice(0, 12)) console.log(`   ✗ ${w.path}: expected ${JSON.stringify(w.expected)}, got ${JSON.stringify(w.actual)}`)
  if (wrong.length > 12) console.log(`   … and ${wrong.length - 12} more`)
}

const total = summarize(scores)
console.log("\naccuracy per field")
for (const g of total.perGroup) console.log(`  ${g.group.padEnd(22)} ${pct(g.accuracy).padStart(9)}  (${g.count})`)
console.log(`\noverall field accuracy   ${pct(total.overall)}  (${total.fields} fields, ${total.wrong.length} wrong)`)
console.log(`tick-box field accuracy  ${pct(total.tickBoxes)}  (${total.tickBoxFields} fields)`)
console.log(`sample-row recall        ${pct(total.rowRecall)}`)
console.log(`sample-row precision     ${pct(total.rowPrecision)}`)
const mean = times.reduce((a, b) => a + b, 0) / times.length
const cpuMean = cpuTimes.reduce((a, b) => a + b, 0) / cpuTimes.length
console.log(`seconds per form         ${mean.toFixed(3)} mean, ${Math.max(...times).toFixed(3)} max wall clock (cold start: first form ${firstForm.toFixed(2)} s with pdf.js loading, warm-up pass ${warmup.toFixed(2)} s)`)
console.log(`CPU seconds per form     ${cpuMean.toFixed(3)} mean, ${Math.max(...cpuTimes).toFixed(3)} max (the wall clock includes waiting for a shared CPU)`)
