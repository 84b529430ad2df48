/** The workflow vocabulary: steps, priorities, step data, the persisted sample state and its public views. */
import { Schema } from "effect"
import { EventId, SampleId, SubmissionId } from "./Ids.ts"
import { SafeText } from "./SafeText.ts"

/** A closed set of literals whose error message lists the choices once. */
export const oneOf = <const L extends ReadonlyArray<string>>(...values: L) =>
  Schema.Literal(...values).annotations({ message: () => `must be one of ${values.join(", ")}` })

/** Any JSON value (recorded data, event payloads), documented once as such in the OpenAPI document. */
export const JsonValue = Schema.Unknown.annotations({
  jsonSchema: {
    description: "any JSON value",
    anyOf: [{ type: "object" }, { type: "array" }, { type: "string" }, { type: "number" }, { type: "boolean" }, { type: "null" }]
  }
})

/** The eight lab steps, in the order every sample walks them. */
export const STEP_IDS = [
  "sample_qc",
  "library_prep",
  "library_qc",
  "sequencing_setup",
  "sequencing_run",
  "basecalling",
  "quality_assessment",
  "data_delivery"
] as const
export const StepId = oneOf(...STEP_IDS)
export type StepId = typeof StepId.Type

/** Display names of the steps. */
export const STEP_NAMES: Record<StepId, string> = {
  sample_qc: "Sample QC",
  library_prep: "Library preparation",
  library_qc: "Library QC",
  sequencing_setup: "Sequencing setup",
  sequencing_run: "Sequencing run",
  basecalling: "Basecalling",
  quality_assessment: "Quality assessment",
  data_delivery: "Data delivery"
}

/** Queue priority: urgent > high > normal > low. */
export const PRIORITIES = ["low", "normal", "high", "urgent"] as const
export const Priority = oneOf(...PRIORITIES)
export type Priority = typeof Priority.Type
/** Sort rank of a priority (higher is served first). */
export const priorityRank = (p: Priority): number => PRIORITIES.indexOf(p)

export const FlowCellType = oneOf("R9.4.1", "R10.4.1", "R10.5.1")
export type FlowCellType = typeof FlowCellType.Type

export const KIT_CODES = [
  "SQK-LSK114",
  "SQK-NBD114.24",
  "SQK-NBD114.96",
  "SQK-RAD114",
  "SQK-RBK114.24",
  "SQK-RBK114.96",
  "SQK-ULK114",
  "SQK-PCB114.24",
  "SQK-RNA004"
] as const
export const KitCode = oneOf(...KIT_CODES)
export type KitCode = typeof KitCode.Type

export const FlowCellProduct = oneOf("FLO-MIN114", "FLO-PRO114M", "FLO-FLG114", "FLO-MIN004RA", "FLO-PRO004RA")
export type FlowCellProduct = typeof FlowCellProduct.Type

export const SampleType = oneOf("gDNA", "HMW gDNA", "amplicon", "cDNA", "total RNA", "mRNA", "other")
export type SampleType = typeof SampleType.Type

export const Control = oneOf("positive", "blank")
export type Control = typeof Control.Type

export const Barcode = SafeText.pipe(
  Schema.pattern(/^barcode(0[1-9]|[1-8][0-9]|9[0-6])$/),
  Schema.annotations({ description: "barcode01 … barcode96" })
)

/** A measured quantity: finite, within [0, max] (a lab value beyond max is a typo, not a sample). */
const Measure = (max: number, unit: string) =>
  Schema.Number.pipe(
    Schema.finite(),
    Schema.nonNegative(),
    Schema.lessThanOrEqualTo(max, { message: () => `must be at most ${max} ${unit}` })
  )
/** The same, strictly above zero. */
const PositiveMeasure = (max: number, unit: string) => Measure(max, unit).pipe(Schema.positive())
/** A count within [0, max]. */
const Count = (max: number, unit: string) => Measure(max, unit).pipe(Schema.int())
const Text = (max: number) => SafeText.pipe(Schema.minLength(1), Schema.maxLength(max))

// Domain ranges, generous on purpose: they refuse nonsense (1e308 µL), never a real sample.
const VolumeUl = PositiveMeasure(100_000, "µL")
const NgPerUl = Measure(100_000, "ng/µL")
const PurityRatio = Measure(10, "(absorbance ratio)")
const Integrity = Measure(10, "(DIN/RIN scale)")
const LengthBp = PositiveMeasure(10_000_000, "bp")

export const SampleName = SafeText.pipe(
  Schema.minLength(1, { message: () => "sampleName must not be empty" }),
  Schema.maxLength(120),
  Schema.pattern(/^[A-Za-z0-9_.\- ]+$/, {
    message: () => "sampleName may contain only letters, digits, space, '_', '.' and '-'"
  })
)

export const Email = SafeText.pipe(
  Schema.maxLength(254),
  Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: () => "must be an e-mail address" })
)

/** Step 1 record: concentration by Qubit, purity by Nanodrop. */
export const SampleQcData = Schema.Struct({
  qubitNgUl: NgPerUl,
  volumeUl: VolumeUl,
  nanodropNgUl: Schema.optional(NgPerUl),
  a260_280: Schema.optional(PurityRatio),
  a260_230: Schema.optional(PurityRatio),
  din: Schema.optional(Integrity),
  rin: Schema.optional(Integrity),
  fragmentSizeBp: Schema.optional(LengthBp)
})
/** Step 2 record. */
export const LibraryPrepData = Schema.Struct({
  kit: KitCode,
  inputNg: PositiveMeasure(10_000_000, "ng"),
  barcodeKit: Schema.optional(Text(40)),
  barcode: Schema.optional(Barcode),
  operator: Schema.optional(Text(120))
})
/** Step 3 record; the library QC gate reads it. */
export const LibraryQcData = Schema.Struct({
  libraryNgUl: NgPerUl,
  fmol: Measure(1_000_000, "fmol"),
  meanFragmentLengthBp: LengthBp
})
/** Step 4 record. */
export const SequencingSetupData = Schema.Struct({
  flowCellId: SafeText.pipe(Schema.pattern(/^[A-Za-z0-9_-]{3,32}$/)),
  flowCellProductCode: FlowCellProduct,
  poreCount: Count(20_000, "pores"),
  device: Text(80),
  position: Text(40),
  runParameters: Schema.optional(Text(2000))
})
/** Step 5 record (also posted by instruments when a run finishes). */
export const SequencingRunData = Schema.Struct({
  runId: Text(120),
  startedAt: Schema.optional(Schema.DateTimeUtc),
  endedAt: Schema.optional(Schema.DateTimeUtc),
  yieldGb: Measure(100_000, "Gb"),
  reads: Count(1e12, "reads"),
  n50: Count(10_000_000, "bp")
})
/** Step 6 record. */
export const BasecallingData = Schema.Struct({
  model: oneOf("fast", "hac", "sup"),
  modifiedBases: Schema.optional(Schema.Array(Text(40))),
  softwareVersion: Schema.optional(Text(80)),
  passReadPercent: Measure(100, "%")
})
/** Step 7 record. */
export const QualityAssessmentData = Schema.Struct({
  meanQ: Measure(100, "(Phred)"),
  coverage: Schema.optional(Measure(1_000_000, "×")),
  passed: Schema.Boolean,
  notes: Schema.optional(Text(2000))
})
/** Step 8 record. */
export const DataDeliveryData = Schema.Struct({
  method: oneOf("download", "s3", "globus", "drive", "other"),
  location: Text(1000),
  checksumManifest: Schema.optional(Text(20000)),
  deliveredAt: Schema.optional(Schema.DateTimeUtc),
  retentionDays: Schema.optional(Count(36_500, "days"))
})

/** The data schema recorded by each step. */
export const STEP_DATA = {
  sample_qc: SampleQcData,
  library_prep: LibraryPrepData,
  library_qc: LibraryQcData,
  sequencing_setup: SequencingSetupData,
  sequencing_run: SequencingRunData,
  basecalling: BasecallingData,
  quality_assessment: QualityAssessmentData,
  data_delivery: DataDeliveryData
} as const

/** A completed step's typed data, discriminated by step. */
export const StepData = Schema.Union(
  Schema.Struct({ step: Schema.Literal("sample_qc"), data: SampleQcData }),
  Schema.Struct({ step: Schema.Literal("library_prep"), data: LibraryPrepData }),
  Schema.Struct({ step: Schema.Literal("library_qc"), data: LibraryQcData }),
  Schema.Struct({ step: Schema.Literal("sequencing_setup"), data: SequencingSetupData }),
  Schema.Struct({ step: Schema.Literal("sequencing_run"), data: SequencingRunData }),
  Schema.Struct({ step: Schema.Literal("basecalling"), data: BasecallingData }),
  Schema.Struct({ step: Schema.Literal("quality_assessment"), data: QualityAssessmentData }),
  Schema.Struct({ step: Schema.Literal("data_delivery"), data: DataDeliveryData })
)
export type StepData = typeof StepData.Type

/** Fields a submitter gives for a sample beyond name, e-mail, priority and flow cell. */
export const SampleDetails = Schema.Struct({
  sampleType: Schema.optional(SampleType),
  organism: Schema.optional(Text(200)),
  buffer: Schema.optional(Text(100)),
  volumeUl: Schema.optional(VolumeUl),
  concentrationNgUl: Schema.optional(NgPerUl),
  nanodropNgUl: Schema.optional(NgPerUl),
  a260_280: Schema.optional(PurityRatio),
  a260_230: Schema.optional(PurityRatio),
  libraryKit: Schema.optional(KitCode),
  basecallingModel: Schema.optional(oneOf("fast", "hac", "sup")),
  genomeSizeMb: Schema.optional(PositiveMeasure(1_000_000, "Mb")),
  targetCoverage: Schema.optional(PositiveMeasure(1_000_000, "×")),
  humanDna: Schema.optional(Schema.Boolean),
  control: Schema.optional(Control),
  notes: Schema.optional(SafeText.pipe(Schema.maxLength(4000)))
})
export type SampleDetails = typeof SampleDetails.Type

/** Where a sample is in its life. `status` in every view is exactly this. */
export const SampleStatus = oneOf(
  "submitted",
  "in_progress",
  "on_hold",
  "failed",
  "completed",
  "cancelled",
  "archived"
)
export type SampleStatus = typeof SampleStatus.Type

export const StepStatus = Schema.Literal("pending", "queued", "running", "completed", "skipped", "failed")
export type StepStatus = typeof StepStatus.Type

/** One step's record inside a sample. Times are epoch milliseconds. */
export const StepRecord = Schema.Struct({
  step: StepId,
  status: StepStatus,
  attempt: Schema.Number,
  queuedAt: Schema.optional(Schema.Number),
  startedAt: Schema.optional(Schema.Number),
  finishedAt: Schema.optional(Schema.Number),
  heldMs: Schema.optional(Schema.Number),
  data: Schema.optional(JsonValue),
  reason: Schema.optional(Schema.String),
  warnings: Schema.optional(Schema.Array(Schema.String))
})
export type StepRecord = typeof StepRecord.Type

/** A running SLA clock: 80 % of the way from start to due is at risk, 100 % is breached. */
export const SlaClock = Schema.Struct({
  key: Schema.String,
  startAt: Schema.Number,
  dueAt: Schema.Number
})
export type SlaClock = typeof SlaClock.Type

/** The sample state owned by the Sample actor and persisted as one row. */
export const SampleState = Schema.Struct({
  id: SampleId,
  submissionId: SubmissionId,
  position: Schema.Number,
  sampleName: Schema.String,
  submitterEmail: Schema.String,
  priority: Priority,
  flowCellType: FlowCellType,
  details: SampleDetails,
  status: SampleStatus,
  current: Schema.Number,
  steps: Schema.Array(StepRecord),
  hold: Schema.optional(
    Schema.Struct({ reason: Schema.String, since: Schema.Number, resumeTo: SampleStatus })
  ),
  failure: Schema.optional(Schema.Struct({ step: StepId, reason: Schema.String })),
  cancelReason: Schema.optional(Schema.String),
  sla: Schema.Struct({
    turnaround: Schema.optional(SlaClock),
    step: Schema.optional(SlaClock),
    raised: Schema.Array(Schema.String)
  }),
  createdAt: Schema.Number,
  receivedAt: Schema.optional(Schema.Number),
  completedAt: Schema.optional(Schema.Number),
  updatedAt: Schema.Number,
  version: Schema.Number
})
export type SampleState = typeof SampleState.Type

/** The audit-trail event types (domain.md), plus the workflow's own. */
export const EventType = Schema.Literal(
  "SampleCreated",
  "SampleReceived",
  "WorkflowStepStarted",
  "WorkflowStepCompleted",
  "WorkflowStepSkipped",
  "WorkflowStepFailed",
  "QcFailed",
  "SampleOnHold",
  "SampleResumed",
  "SampleReworked",
  "SampleCancelled",
  "SampleCompleted",
  "SampleArchived",
  "PriorityChanged",
  "SampleFieldsEdited",
  "SlaAtRisk",
  "SlaBreached",
  "ExportRequested",
  "ExportCompleted",
  "ExportFailed",
  "NotificationTriggered",
  "NotificationDelivered",
  "NotificationFailed"
)
export type EventType = typeof EventType.Type

/** One durable event of the log, with its position (`seq`) and its id for de-duplication. */
export const SampleEvent = Schema.Struct({
  id: EventId,
  seq: Schema.Number,
  sampleId: SampleId,
  submissionId: SubmissionId,
  type: EventType,
  version: Schema.Number,
  actor: Schema.String,
  at: Schema.String,
  data: JsonValue
})
export type SampleEvent = typeof SampleEvent.Type

/** The SLA picture of a sample at the time of reading. */
export const SlaView = Schema.Struct({
  status: Schema.Literal("none", "on_track", "at_risk", "breached", "paused"),
  turnaroundDueAt: Schema.NullOr(Schema.String),
  stepDueAt: Schema.NullOr(Schema.String),
  raised: Schema.Array(Schema.String)
})
export type SlaView = typeof SlaView.Type

/** One step as shown to users. */
export const StepView = Schema.Struct({
  id: StepId,
  name: Schema.String,
  order: Schema.Number,
  status: StepStatus,
  attempt: Schema.Number,
  queuedAt: Schema.NullOr(Schema.String),
  startedAt: Schema.NullOr(Schema.String),
  finishedAt: Schema.NullOr(Schema.String),
  data: Schema.NullOr(JsonValue),
  reason: Schema.NullOr(Schema.String),
  warnings: Schema.Array(Schema.String)
})
export type StepView = typeof StepView.Type

/** A sample as the API shows it. */
export const SampleView = Schema.Struct({
  id: SampleId,
  submissionId: SubmissionId,
  position: Schema.Number,
  sampleName: Schema.String,
  submitterEmail: Schema.String,
  priority: Priority,
  flowCellType: FlowCellType,
  details: SampleDetails,
  status: SampleStatus,
  currentStep: Schema.NullOr(StepId),
  stepState: Schema.NullOr(StepStatus),
  hold: Schema.NullOr(Schema.Struct({ reason: Schema.String, since: Schema.String })),
  failure: Schema.NullOr(Schema.Struct({ step: StepId, reason: Schema.String })),
  cancelReason: Schema.NullOr(Schema.String),
  sla: SlaView,
  estimatedCompletion: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  receivedAt: Schema.NullOr(Schema.String),
  completedAt: Schema.NullOr(Schema.String),
  updatedAt: Schema.String,
  version: Schema.Number
})
export type SampleView = typeof SampleView.Type

/** The names of the commands a sample accepts (rpc/Commands.ts checks that its union has exactly these tags). */
export const COMMAND_NAMES = [
  "Receive",
  "StartStep",
  "CompleteStep",
  "FailStep",
  "Rework",
  "SkipStep",
  "Hold",
  "Resume",
  "Cancel",
  "Archive",
  "ChangePriority",
  "EditFields"
] as const
export const CommandName = oneOf(...COMMAND_NAMES)
export type CommandName = typeof CommandName.Type

/** `GET /samples/{id}/workflow`. */
export const WorkflowView = Schema.Struct({
  sampleId: SampleId,
  status: SampleStatus,
  currentStep: Schema.NullOr(StepId),
  progress: Schema.Number,
  totalSteps: Schema.Number,
  estimatedCompletion: Schema.NullOr(Schema.String),
  steps: Schema.Array(StepView),
  sla: SlaView,
  /** The commands the sample's state accepts now (the caller's role may still refuse some). */
  allowedCommands: Schema.Array(CommandName)
})
export type WorkflowView = typeof WorkflowView.Type
