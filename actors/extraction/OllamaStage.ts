/**
 * The LLM stage: asks Ollama (chat API, JSON-schema structured output through `format`) for the fields the rules
 * could not read with confidence, and only those. Not reachable → status `skipped` with the reason; time-outs and
 * answers that do not decode are retried, then the stage ends `failed` with the reason. It never fails the pipeline:
 * the rules' values stand whenever the LLM has nothing usable.
 */
import { Duration, Effect, JSONSchema, Option, Schedule, Schema } from "effect"
import { Ollama } from "ollama"
import type { OllamaSettings } from "./OllamaSettings.ts"
import { Basecalling, Device, FileFormat, Kit, Retrieval, SampleBuffer, SampleRow, SampleType, type FormExtraction } from "./SubmissionForm.ts"

/** A call to Ollama that did not give a usable answer (refused, timed out, or not JSON matching the schema). */
export class OllamaCallFailed extends Schema.TaggedError<OllamaCallFailed>()("OllamaCallFailed", {
  host: Schema.String,
  detail: Schema.String
}) {}

/** Confidence below which a rules value is asked of the LLM. */
export const LLM_ASK_BELOW = 0.8

const NullableString = Schema.NullOr(Schema.String)
const NullableNumber = Schema.NullOr(Schema.Number)

/** The top-level fields the LLM may be asked, by path, with the schema its answer must decode with. */
export const LLM_FIELDS: ReadonlyArray<readonly [path: string, schema: Schema.Schema.AnyNoContext, hint: string]> = [
  ["quoteId", NullableString, "facility quote id, e.g. HTSF--JL-147"],
  ["quoteDate", NullableString, "quote date as YYYY-MM-DD"],
  ["expiresOn", NullableString, "expiry date as YYYY-MM-DD"],
  ["requester.name", NullableString, "the requester's name"],
  ["requester.email", NullableString, "the requester's e-mail"],
  ["requester.phone", NullableString, "the requester's phone"],
  ["lab", NullableString, "the lab"],
  ["billingAccount", NullableString, "billing account / chart field"],
  ["kit", Schema.NullOr(Kit), "the ticked library kit"],
  ["sampleType", Schema.NullOr(SampleType), "the ticked sample type"],
  ["humanDna", Schema.NullOr(Schema.Boolean), "whether human DNA is ticked yes"],
  ["organism", NullableString, "source organism"],
  ["buffer", Schema.NullOr(SampleBuffer), "the ticked buffer"],
  ["device", Schema.NullOr(Device), "the ticked flow cell / device"],
  ["genomeSizeMb", NullableNumber, "genome size in Mb"],
  ["coverage", NullableNumber, "requested coverage (x)"],
  ["flowCellCount", NullableNumber, "number of flow cells"],
  ["basecalling", Schema.Array(Basecalling), "ticked basecalling options"],
  ["fileFormat", Schema.NullOr(FileFormat), "the ticked file format"],
  ["notificationEmails", Schema.Array(Schema.String), "notification e-mails"],
  ["retrieval", Schema.Array(Retrieval), "ticked data retrieval methods"],
  [
    "samples",
    Schema.Array(SampleRow),
    "every row of the sample table, in order: row number, sample name, volume in µL, Qubit and Nanodrop concentrations in ng/µL, A260/280, A260/230, and control (positive or blank) or null for a real sample"
  ]
]

const keyOf = (path: string) => path.replace(/\./g, "_")

/** What the stage did: `answers` holds decoded values by path (only for asked fields that decoded). */
export interface LlmOutcome {
  readonly status: "skipped" | "completed" | "failed" | "not_needed"
  readonly detail: string
  readonly asked: ReadonlyArray<string>
  readonly answers: Readonly<Record<string, unknown>>
  readonly model: string
}

/** The paths the LLM is asked: fields whose rules confidence is below `LLM_ASK_BELOW`, and the sample table when the rules read no row. */
export const fieldsToAsk = (rules: FormExtraction): Array<string> =>
  LLM_FIELDS.map(([path]) => path).filter((path) =>
    // The sample table is asked for whole when the rules found none of its rows (a layout they do not know).
    path === "samples" ? rules.result.samples.length === 0 : (rules.confidence[path] ?? 0) < LLM_ASK_BELOW
  )

/** The JSON schema sent as `format`: one property per asked field, all required (null when absent on the form). */
export const answerSchema = (paths: ReadonlyArray<string>) => {
  const fields: Record<string, Schema.Schema.AnyNoContext> = {}
  for (const [path, schema] of LLM_FIELDS) if (paths.includes(path)) fields[keyOf(path)] = schema
  const { $schema: _ignored, ...json } = JSONSchema.make(Schema.Struct(fields))
  return { json, decode: Schema.decodeUnknownEither(Schema.parseJson(Schema.Struct(fields))) }
}

const client = (settings: OllamaSettings, signal: AbortSignal) =>
  new Ollama({ host: settings.host, fetch: (input, init) => fetch(input, { ...init, signal }) })

const failed = (settings: OllamaSettings, error: unknown) =>
  new OllamaCallFailed({ host: settings.host, detail: error instanceof Error ? error.message.slice(0, 300) : String(error).slice(0, 300) })

/** Whether Ollama answers at the configured host within the probe time. */
export const probeOllama = Effect.fn("OllamaStage.probe")(function*(settings: OllamaSettings) {
  return yield* Effect.tryPromise({ try: (signal) => client(settings, signal).list(), catch: (e) => failed(settings, e) }).pipe(
    Effect.timeoutFail({ duration: settings.probeTimeout, onTimeout: () => new OllamaCallFailed({ host: settings.host, detail: `no answer within ${Duration.format(settings.probeTimeout)}` }) }),
    Effect.as(true)
  )
})

/** Embeds `texts` with the embedding model; fails when Ollama cannot. */
export const embedTexts = Effect.fn("OllamaStage.embed")(function*(settings: OllamaSettings, model: string, texts: ReadonlyArray<string>) {
  const answer = yield* Effect.tryPromise({ try: (signal) => client(settings, signal).embed({ model, input: [...texts] }), catch: (e) => failed(settings, e) }).pipe(
    Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => new OllamaCallFailed({ host: settings.host, detail: "embedding timed out" }) })
  )
  return answer.embeddings
})

const PROMPT = `You read a sequencing facility's submission form. Answer only from the form's text below. Use null (or an empty list) when the form does not say. Dates as YYYY-MM-DD. Use exactly the allowed values of the JSON schema.`

/** Runs the stage over the document's text for the uncertain fields of `rules`. */
export const llmStage = Effect.fn("OllamaStage.run")(function*(settings: OllamaSettings, documentText: string, rules: FormExtraction) {
  const asked = fieldsToAsk(rules)
  const noAnswers: Readonly<Record<string, unknown>> = {}
  const base = { asked, answers: noAnswers, model: settings.model }
  if (asked.length === 0) return { ...base, status: "not_needed", detail: "every field was read by the rules with confidence" } satisfies LlmOutcome
  const reachable = yield* Effect.either(probeOllama(settings))
  if (reachable._tag === "Left") {
    return { ...base, status: "skipped", detail: `Ollama not reachable at ${settings.host} (${reachable.left.detail}); set OLLAMA_HOST to use it` } satisfies LlmOutcome
  }
  const { decode, json } = answerSchema(asked)
  const hints = LLM_FIELDS.filter(([p]) => asked.includes(p)).map(([p, , hint]) => `- ${keyOf(p)}: ${hint}`).join("\n")
  const call = Effect.tryPromise({
    try: (signal) =>
      client(settings, signal).chat({
        model: settings.model,
        stream: false,
        format: json,
        options: { temperature: 0 },
        messages: [
          { role: "system", content: PROMPT },
          { role: "user", content: `Fields:\n${hints}\n\nForm text:\n${documentText.slice(0, 24_000)}` }
        ]
      }),
    catch: (e) => failed(settings, e)
  }).pipe(
    Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => new OllamaCallFailed({ host: settings.host, detail: `no answer within ${Duration.format(settings.timeout)}` }) }),
    Effect.flatMap((response) =>
      Effect.mapError(decode(response.message.content), () =>
        new OllamaCallFailed({ host: settings.host, detail: `the answer does not match the requested schema: ${response.message.content.slice(0, 120)}` })))
  )
  const answer = yield* Effect.either(call.pipe(Effect.retry(Schedule.recurs(settings.retries))))
  if (answer._tag === "Left") {
    return { ...base, status: "failed", detail: `Ollama at ${settings.host} gave no usable answer after ${settings.retries + 1} attempt(s): ${answer.left.detail}` } satisfies LlmOutcome
  }
  const answers: Record<string, unknown> = {}
  const decoded: Record<string, unknown> = answer.right
  for (const path of asked) {
    const value = Option.fromNullable(decoded[keyOf(path)])
    answers[path] = Option.getOrNull(value)
  }
  return { ...base, answers, status: "completed", detail: `${settings.model} answered ${asked.length} field(s)` } satisfies LlmOutcome
})
