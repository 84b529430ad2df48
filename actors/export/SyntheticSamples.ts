/**
 * Synthetic samples in the persisted shape (SampleState, as SampleRepo stores it), for the export tests and
 * bench/export.ts: deterministic from an index, spread over every status and step, with the step records a real walk
 * leaves (QC, library, flow cell, run, basecalling, QA, delivery), so that every export column has something to read.
 */
import type { SampleId, SubmissionId } from "../../rpc/Ids.ts"
import { PRIORITIES, STEP_IDS, type SampleState, type StepRecord } from "../../rpc/Workflow.ts"
import type { ExportSample } from "./ExportColumns.ts"

const HOUR = 3_600_000
/** Monday 2025-01-06 09:00 UTC. */
const T0 = Date.UTC(2025, 0, 6, 9)

const RUN_STARTED = new Date(T0 + 10 * HOUR).toISOString()
const RUN_ENDED = new Date(T0 + 58 * HOUR).toISOString()
const DELIVERED = new Date(T0 + 70 * HOUR).toISOString()

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")
/** A UUID (version 4 layout) that encodes `n`. */
export const syntheticUuid = (n: number, kind = 0): string => `${hex(kind, 8)}-0000-4000-8000-${hex(n, 12)}`

/** The data each step records, as a real walk would (SampleWorkflow's encoded records). */
const STEP_DATA = (i: number): Record<(typeof STEP_IDS)[number], Record<string, unknown>> => ({
  sample_qc: {
    qubitNgUl: 20 + (i % 80),
    volumeUl: 50,
    nanodropNgUl: 25 + (i % 70),
    a260_280: 1.85,
    a260_230: 2.05,
    ...(i % 4 === 3 ? { rin: 8.1 } : { din: 7.5, fragmentSizeBp: 12_000 + (i % 4000) })
  },
  library_prep: {
    kit: i % 3 === 0 ? "SQK-LSK114" : "SQK-NBD114.96",
    inputNg: 1000,
    ...(i % 3 === 0 ? {} : { barcodeKit: "SQK-NBD114.96", barcode: `barcode${String((i % 96) + 1).padStart(2, "0")}` }),
    operator: "tech@facility.example"
  },
  library_qc: { libraryNgUl: 12.5, fmol: 50 + (i % 40), meanFragmentLengthBp: 8000 + (i % 5000) },
  sequencing_setup: {
    flowCellId: `PAW${hex(Math.floor(i / 24), 5).toUpperCase()}`,
    flowCellProductCode: "FLO-PRO114M",
    poreCount: 7000 + (i % 900),
    device: "PromethION 24",
    position: `${(i % 24) + 1}A`
  },
  sequencing_run: {
    runId: `run_${hex(i, 8)}`,
    startedAt: RUN_STARTED,
    endedAt: RUN_ENDED,
    yieldGb: 80 + (i % 50) / 10,
    reads: 9_000_000 + i,
    n50: 15_000 + (i % 3000)
  },
  basecalling: { model: "hac", softwareVersion: "dorado 0.9.1", passReadPercent: 92.5 },
  quality_assessment: { meanQ: 18.2, coverage: 31.5, passed: i % 17 !== 0 },
  data_delivery: {
    method: "s3",
    location: `s3://delivery/HTSF--JL-${i % 1000}/sample_${i}/`,
    deliveredAt: DELIVERED,
    retentionDays: 90
  }
})

/** The full build of sample `i` (slow: every record made anew); `syntheticSample` reuses these as templates. */
const buildSample = (i: number): ExportSample => {
  const kind = i % 10
  const status: SampleState["status"] = kind === 0
    ? "submitted"
    : kind <= 5
    ? "in_progress"
    : kind === 6
    ? "on_hold"
    : kind === 7
    ? "failed"
    : i % 20 === 19
    ? "cancelled"
    : "completed"
  const createdAt = T0 + (i % 10_000) * 60_000
  const receivedAt = status === "submitted" ? undefined : createdAt + HOUR
  // The step reached: all eight done when completed, otherwise one that varies with i.
  const reached = status === "submitted"
    ? 0
    : status === "completed"
    ? STEP_IDS.length
    : status === "cancelled"
    ? 2
    : (i * 7) % STEP_IDS.length
  const data = STEP_DATA(i)
  const steps: Array<StepRecord> = STEP_IDS.map((step, k): StepRecord => {
    if (k < reached) {
      return {
        step,
        status: "completed",
        attempt: 1,
        queuedAt: createdAt + HOUR + k * HOUR,
        startedAt: createdAt + HOUR + k * HOUR + 60_000,
        finishedAt: createdAt + 2 * HOUR + k * HOUR,
        data: data[step]
      }
    }
    if (k === reached && (status === "in_progress" || status === "on_hold" || status === "failed")) {
      return { step, status: status === "failed" ? "failed" : i % 2 === 0 ? "running" : "queued", attempt: 1, queuedAt: createdAt + HOUR + k * HOUR }
    }
    return { step, status: "pending", attempt: 0 }
  })
  const current = Math.min(reached, STEP_IDS.length - 1)
  const running = status === "in_progress" || status === "on_hold" || status === "failed"
  const state: SampleState = {
    id: syntheticUuid(i) as SampleId,
    submissionId: syntheticUuid(Math.floor(i / 96), 1) as SubmissionId,
    position: (i % 96) + 1,
    sampleName: `S${String(i % 96 + 1).padStart(2, "0")}_isolate-${i}`,
    submitterEmail: `researcher${i % 500}@uni.example`,
    priority: PRIORITIES[i % PRIORITIES.length]!,
    flowCellType: "R10.4.1",
    details: {
      sampleType: i % 4 === 0 ? "HMW gDNA" : "gDNA",
      organism: i % 2 === 0 ? "Escherichia coli" : "Homo sapiens",
      volumeUl: 50,
      concentrationNgUl: 30 + (i % 50),
      libraryKit: "SQK-NBD114.96",
      basecallingModel: "hac",
      genomeSizeMb: i % 2 === 0 ? 4.6 : 3100,
      targetCoverage: 30,
      humanDna: i % 2 === 1,
      ...(i % 50 === 0 ? { control: "positive" as const } : {})
    },
    status,
    current,
    steps,
    ...(status === "on_hold" ? { hold: { reason: "waiting for the submitter's reply", since: createdAt + 3 * HOUR, resumeTo: "in_progress" as const } } : {}),
    ...(status === "failed" ? { failure: { step: STEP_IDS[current]!, reason: "library yield too low, \"re-extract\"" } } : {}),
    ...(status === "cancelled" ? { cancelReason: "withdrawn by the submitter" } : {}),
    sla: {
      ...(running ? { turnaround: { key: "turnaround", startAt: createdAt + HOUR, dueAt: createdAt + 121 * HOUR } } : {}),
      ...(status === "in_progress" ? { step: { key: `step:${STEP_IDS[current]}`, startAt: createdAt + 2 * HOUR, dueAt: createdAt + 6 * HOUR } } : {}),
      raised: []
    },
    createdAt,
    ...(receivedAt === undefined ? {} : { receivedAt }),
    ...(status === "completed" ? { completedAt: createdAt + 72 * HOUR } : {}),
    updatedAt: createdAt + 5 * HOUR,
    version: 3 + reached * 2
  }
  return { state, submissionNumber: `HTSF--JL-${Math.floor(i / 96)}` }
}

/** Samples that share status, step records and details with sample `i % VARIANTS` (every modulus above divides it). */
const VARIANTS = 4800
const templates: Array<SampleState | undefined> = []

/**
 * Sample `i` of a synthetic facility: statuses cycle (a tenth submitted, half in progress, a tenth each on hold and
 * failed, the rest completed or, one in twenty, cancelled), priorities and steps vary with `i`. Cheap enough for a
 * million rows: the step records and details are shared with one of 4,800 templates (they are never mutated), and
 * only the sample's own fields and times are made for it.
 */
export const syntheticSample = (i: number): ExportSample => {
  const v = i % VARIANTS
  const t = (templates[v] ??= buildSample(v).state)
  const by = ((i % 10_000) - (v % 10_000)) * 60_000
  const { receivedAt, completedAt, hold, sla } = t
  const state: SampleState = {
    ...t,
    id: syntheticUuid(i) as SampleId,
    submissionId: syntheticUuid(Math.floor(i / 96), 1) as SubmissionId,
    sampleName: `S${String(i % 96 + 1).padStart(2, "0")}_isolate-${i}`,
    createdAt: t.createdAt + by,
    updatedAt: t.updatedAt + by,
    ...(receivedAt === undefined ? {} : { receivedAt: receivedAt + by }),
    ...(completedAt === undefined ? {} : { completedAt: completedAt + by }),
    ...(hold === undefined ? {} : { hold: { ...hold, since: hold.since + by } }),
    sla: {
      raised: sla.raised,
      ...(sla.turnaround === undefined ? {} : { turnaround: { ...sla.turnaround, startAt: sla.turnaround.startAt + by, dueAt: sla.turnaround.dueAt + by } }),
      ...(sla.step === undefined ? {} : { step: { ...sla.step, startAt: sla.step.startAt + by, dueAt: sla.step.dueAt + by } })
    }
  }
  return { state, submissionNumber: `HTSF--JL-${Math.floor(i / 96)}` }
}

/** `count` synthetic samples from `from`, lazily. */
export function* syntheticSamples(count: number, from = 0): Generator<ExportSample> {
  for (let i = from; i < from + count; i++) yield syntheticSample(i)
}
