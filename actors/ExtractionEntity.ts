/**
 * The Extraction entity's behaviour: reads the stored PDF, runs the pipeline (actors/extraction/ExtractionPipeline.ts)
 * and stores the outcome. A finished row answers at once, so a redelivered `Run` never processes a file twice; a
 * file that cannot be read ends `failed` with its reason; database trouble is retried, then a defect (the message
 * stays and is redelivered).
 */
import { Duration, Effect, Option, Schedule } from "effect"
import { ExtractionRepo } from "../persistence/ExtractionRepo.ts"
import { runPipeline } from "./extraction/ExtractionPipeline.ts"
import type { OllamaSettings } from "./extraction/OllamaSettings.ts"
import { Extraction } from "./Extraction.ts"

const DB_RETRY = Schedule.exponential(Duration.millis(200)).pipe(Schedule.upTo(Duration.seconds(30)))

/** The entity layer; `ollama` comes from runtime/Config.ts (OLLAMA_HOST, OLLAMA_MODEL). */
export const ExtractionEntityLive = (ollama: OllamaSettings) =>
  Extraction.toLayer(
    Effect.gen(function*() {
      const repo = yield* ExtractionRepo
      return {
        Run: ({ payload }) =>
          Effect.gen(function*() {
            const id = payload.extractionId
            const row = yield* repo.find(id)
            if (Option.isNone(row)) return yield* Effect.dieMessage(`extraction ${id} is not stored`)
            if (row.value.status === "completed" || row.value.status === "failed") return { status: row.value.status }
            const stored = yield* repo.pdf(id)
            if (Option.isNone(stored)) return yield* Effect.dieMessage(`extraction ${id} has no file`)
            yield* repo.markRunning(id)
            const outcome = yield* Effect.either(runPipeline(new Uint8Array(stored.value.pdf), ollama))
            if (outcome._tag === "Left") {
              yield* repo.fail(id, `cannot read the PDF (${outcome.left.reason}): ${outcome.left.detail}`, {})
              return { status: "failed" as const }
            }
            const { confidence, evidence, result, warnings, stagesMs, ...details } = outcome.right
            yield* repo.complete(id, { result, confidence, evidence, warnings, stages: stagesMs, details })
            return { status: "completed" as const }
          }).pipe(
            Effect.retry({ schedule: DB_RETRY, while: (e) => e._tag === "SqlError" }),
            Effect.orDie
          )
      }
    }),
    { maxIdleTime: Duration.minutes(1) }
  )
