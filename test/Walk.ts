/** What integration tests share to drive a sample: a valid record for each of the eight steps, and a latch on its live events. */
import { Chunk, Duration, Effect, Stream } from "effect"
import { EventLog } from "../persistence/EventLog.ts"
import type { SampleEvent, StepData } from "../rpc/Workflow.ts"

/** A passing record of every step, in order (each QC gate passes for SQK-LSK114). */
export const STEP_RECORDS: ReadonlyArray<StepData> = [
  { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30, nanodropNgUl: 66, a260_280: 1.86, a260_230: 2.08 } },
  { step: "library_prep", data: { kit: "SQK-LSK114", inputNg: 1000, operator: "J. Tech" } },
  { step: "library_qc", data: { libraryNgUl: 14.2, fmol: 48, meanFragmentLengthBp: 9200 } },
  { step: "sequencing_setup", data: { flowCellId: "PAW12345", flowCellProductCode: "FLO-PRO114M", poreCount: 7100, device: "P2 Solo", position: "P2S-1-A" } },
  { step: "sequencing_run", data: { runId: "run-walk", yieldGb: 92.4, reads: 11_800_000, n50: 18_300 } },
  { step: "basecalling", data: { model: "sup", softwareVersion: "dorado 0.9.1", passReadPercent: 91.5 } },
  { step: "quality_assessment", data: { meanQ: 19.4, coverage: 31.2, passed: true } },
  { step: "data_delivery", data: { method: "globus", location: "globus://facility/ada/run", retentionDays: 30 } }
]

/** The record of one step. */
export const stepRecord = (step: StepData["step"]): StepData => STEP_RECORDS.find((r) => r.step === step)!

/**
 * Collects a sample's live events until `done` says stop (a latch on the live feed, no sleeping), in a scoped fiber;
 * fails after `timeout` naming what it saw.
 */
export const collectUntil = (sampleId: string, done: (seen: ReadonlyArray<SampleEvent>) => boolean, timeout: Duration.DurationInput = "30 seconds") =>
  Effect.gen(function*() {
    const log = yield* EventLog
    const seen: Array<SampleEvent> = []
    return yield* log.live({ sampleId }).pipe(
      Stream.takeUntil((e) => {
        seen.push(e)
        return done(seen)
      }),
      Stream.runCollect,
      Effect.map(Chunk.toArray),
      Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`timed out; saw ${seen.map((e) => e.type).join(",")}`) }),
      Effect.forkScoped
    )
  })
