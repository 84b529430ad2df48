/**
 * The documented list of exportable sample columns (docs/exports.md reproduces it): each has a stable id (what users
 * choose and what JSON keys and XML element names are), a header (CSV and XLSX), a type that every format honours,
 * and a getter that reads it from a sample's persisted state. Values are read defensively: a recorded value of the
 * wrong type is exported as empty, never as something else.
 */
import { Effect } from "effect"
import type { SampleState, StepId } from "../../rpc/Workflow.ts"
import { STEP_IDS } from "../../rpc/Workflow.ts"
import { UnknownExportColumn } from "./ExportErrors.ts"

/** The type of a column's values, kept by every format (XLSX cell types, JSON types, CSV/XML text forms). */
export type ColumnType = "string" | "number" | "date" | "boolean"

/** One exported value; `null` is an empty cell (CSV empty field, JSON null, XML element omitted). */
export type ExportValue = string | number | boolean | Date | null

/**
 * One exported row: its values in the order of the columns it was made for (an array, not a record keyed by id: a
 * million records of twenty keys cost more than writing them).
 */
export type ExportRow = ReadonlyArray<ExportValue>

/** A column as writers see it: no getter, so that rows may come from anywhere (a cursor, a test, a benchmark). */
export interface ColumnSpec {
  readonly id: string
  readonly header: string
  readonly type: ColumnType
  /** Suggested display width in characters (XLSX column widths). */
  readonly width: number
}

/** What a sample row is exported from: the persisted state and its submission's human-facing number. */
export interface ExportSample {
  readonly state: SampleState
  readonly submissionNumber?: string | undefined
}

/**
 * Where a column reads in a sample: property names from the state's root (array indexes as digits), with two
 * markers: `$current` stands for the state's `current` step index, and `$submission` (alone) for the submission's
 * number. The export job asks PostgreSQL for exactly these (`state #> path`), never for the whole document.
 */
export type ReadPath = ReadonlyArray<string>

/** A documented, exportable column of a sample. */
export interface ExportColumn extends ColumnSpec {
  readonly description: string
  /** What the column reads, in the order `compute` takes them. */
  readonly reads: ReadonlyArray<ReadPath>
  /**
   * The value from what it read (each read value is whatever the path holds, or undefined/null when absent). It must
   * not keep `values`: the export job refills the same array for every row.
   */
  readonly compute: (values: ReadonlyArray<unknown>) => ExportValue
  /** The value from a whole sample: `compute` of the paths looked up in it. */
  readonly get: (sample: ExportSample) => ExportValue
}

/** What `path` holds in `sample` (undefined when any step of it is missing). */
export const readAt = (sample: ExportSample, path: ReadPath): unknown => {
  if (path[0] === "$submission") return sample.submissionNumber
  let at: unknown = sample.state
  for (const segment of path) {
    if (typeof at !== "object" || at === null) return undefined
    const key = segment === "$current" ? String((sample.state as { current?: unknown }).current) : segment
    at = (at as Record<string, unknown>)[key]
  }
  return at
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null)
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null)
const bool = (v: unknown): boolean | null => (typeof v === "boolean" ? v : null)
/** Epoch milliseconds (state times) or ISO text (DateTimeUtc in step data) as a Date; anything else is empty. */
const date = (v: unknown): Date | null => {
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v)
  if (typeof v === "string") {
    const d = new Date(v)
    return Number.isNaN(d.getTime()) ? null : d
  }
  return null
}

const STEP_INDEX = Object.fromEntries(STEP_IDS.map((s, i) => [s, i])) as Record<StepId, number>

const readerOf = (type: ColumnType): (v: unknown) => ExportValue =>
  type === "string" ? str : type === "number" ? num : type === "boolean" ? bool : date

const make = (
  id: string,
  header: string,
  type: ColumnType,
  width: number,
  description: string,
  reads: ReadonlyArray<ReadPath>,
  compute: (values: ReadonlyArray<unknown>) => ExportValue
): ExportColumn => ({
  id,
  header,
  type,
  width,
  description,
  reads,
  compute,
  get: (sample) => compute(reads.map((p) => readAt(sample, p)))
})

/** A column of one value of the state (a dotted path from its root), read as the column's type. */
const column = (id: string, header: string, type: ColumnType, width: number, description: string, path: string): ExportColumn => {
  const read = readerOf(type)
  return make(id, header, type, width, description, [path.split(".")], (v) => read(v[0]))
}

/**
 * A field of the step a sample is at while it is being worked (in progress, on hold or failed, after receipt), as the
 * sample list shows it; empty otherwise.
 */
const currentStepColumn = (id: string, header: string, width: number, description: string, field: "step" | "status"): ExportColumn =>
  make(id, header, "string", width, description, [["status"], ["receivedAt"], ["steps", "$current", field]], ([status, receivedAt, value]) =>
    (status === "in_progress" || status === "on_hold" || status === "failed") && receivedAt !== undefined && receivedAt !== null ? str(value) : null)

/** A column of one step's recorded data (its last attempt). */
const stepColumn = (
  id: string,
  header: string,
  type: ColumnType,
  width: number,
  step: StepId,
  field: string,
  description: string
): ExportColumn => {
  const read = readerOf(type)
  return make(id, header, type, width, description, [["steps", String(STEP_INDEX[step]), "data", field]], (v) => read(v[0]))
}

/**
 * Every exportable column, in the order a "select all" export lists them. Ids are lower-case snake_case (valid XML
 * element names, stable across releases); times are exported as instants (UTC).
 */
export const EXPORT_COLUMNS: ReadonlyArray<ExportColumn> = [
  column("sample_id", "Sample ID", "string", 38, "The sample's UUID.", "id"),
  column("sample_name", "Sample name", "string", 24, "The name the submitter gave the sample.", "sampleName"),
  column("submission_id", "Submission ID", "string", 38, "The submission's UUID.", "submissionId"),
  column("submission", "Submission", "string", 18, "The submission's number (the facility quote id when there is one).", "$submission"),
  column("position", "Position", "number", 9, "The sample's row number inside its submission (1..n).", "position"),
  column("submitter_email", "Submitter", "string", 28, "The submitter's e-mail address.", "submitterEmail"),
  column("priority", "Priority", "string", 9, "low | normal | high | urgent.", "priority"),
  column("status", "Status", "string", 12, "submitted | in_progress | on_hold | failed | completed | cancelled | archived.", "status"),
  currentStepColumn("current_step", "Current step", 18, "The step being worked (sample_qc … data_delivery); empty before receipt and after the last step.", "step"),
  currentStepColumn("step_state", "Step state", 10, "The current step's state: queued | running | failed ….", "status"),
  column("flow_cell_type", "Flow cell type", "string", 10, "The requested flow-cell chemistry (R9.4.1 | R10.4.1 | R10.5.1).", "flowCellType"),
  column("sample_type", "Sample type", "string", 12, "gDNA, HMW gDNA, amplicon, cDNA, total RNA, mRNA or other.", "details.sampleType"),
  column("organism", "Organism", "string", 20, "Source organism, as submitted.", "details.organism"),
  column("control", "Control", "string", 9, "positive | blank for control rows; empty for real samples.", "details.control"),
  column("requested_kit", "Requested kit", "string", 14, "The library kit the submitter asked for.", "details.libraryKit"),
  column("requested_basecalling", "Requested basecalling", "string", 10, "fast | hac | sup, as asked.", "details.basecallingModel"),
  column("submitted_volume_ul", "Submitted volume (µL)", "number", 10, "Volume declared at submission.", "details.volumeUl"),
  column("submitted_concentration_ng_ul", "Submitted concentration (ng/µL)", "number", 12, "Concentration declared at submission.", "details.concentrationNgUl"),
  column("genome_size_mb", "Genome size (Mb)", "number", 10, "Expected genome size.", "details.genomeSizeMb"),
  column("target_coverage", "Target coverage (×)", "number", 10, "Coverage asked for.", "details.targetCoverage"),
  column("human_dna", "Human DNA", "boolean", 8, "Whether the sample contains human DNA.", "details.humanDna"),
  column("created_at", "Created", "date", 20, "When the sample was submitted.", "createdAt"),
  column("received_at", "Received", "date", 20, "When the facility took the sample in (first receipt).", "receivedAt"),
  column("due_at", "Due", "date", 20, "The turnaround due time, while the turnaround clock runs.", "sla.turnaround.dueAt"),
  column("step_due_at", "Step due", "date", 20, "The current step's due time, while its clock runs.", "sla.step.dueAt"),
  column("completed_at", "Completed", "date", 20, "When the last step was completed.", "completedAt"),
  column("updated_at", "Updated", "date", 20, "The sample's last change.", "updatedAt"),
  column("hold_reason", "Hold reason", "string", 24, "Why the sample is on hold.", "hold.reason"),
  column("failure_step", "Failed step", "string", 14, "The step that failed.", "failure.step"),
  column("failure_reason", "Failure reason", "string", 30, "Why it failed.", "failure.reason"),
  column("cancel_reason", "Cancel reason", "string", 24, "Why the sample was cancelled.", "cancelReason"),
  stepColumn("qc_qubit_ng_ul", "QC Qubit (ng/µL)", "number", 10, "sample_qc", "qubitNgUl", "Sample QC: concentration by Qubit."),
  stepColumn("qc_nanodrop_ng_ul", "QC Nanodrop (ng/µL)", "number", 10, "sample_qc", "nanodropNgUl", "Sample QC: concentration by Nanodrop."),
  stepColumn("qc_volume_ul", "QC volume (µL)", "number", 10, "sample_qc", "volumeUl", "Sample QC: volume."),
  stepColumn("qc_a260_280", "A260/280", "number", 8, "sample_qc", "a260_280", "Sample QC: purity A260/280."),
  stepColumn("qc_a260_230", "A260/230", "number", 8, "sample_qc", "a260_230", "Sample QC: purity A260/230."),
  stepColumn("qc_din", "DIN", "number", 6, "sample_qc", "din", "Sample QC: DNA integrity number."),
  stepColumn("qc_rin", "RIN", "number", 6, "sample_qc", "rin", "Sample QC: RNA integrity number."),
  stepColumn("qc_fragment_size_bp", "Fragment size (bp)", "number", 10, "sample_qc", "fragmentSizeBp", "Sample QC: fragment size."),
  stepColumn("library_kit", "Library kit", "string", 14, "library_prep", "kit", "Library preparation: kit used."),
  stepColumn("barcode_kit", "Barcode kit", "string", 14, "library_prep", "barcodeKit", "Library preparation: barcode kit."),
  stepColumn("barcode", "Barcode", "string", 10, "library_prep", "barcode", "Library preparation: barcode (barcode01 … barcode96)."),
  stepColumn("library_input_ng", "Library input (ng)", "number", 10, "library_prep", "inputNg", "Library preparation: input mass."),
  stepColumn("library_operator", "Library operator", "string", 16, "library_prep", "operator", "Library preparation: who prepared it."),
  stepColumn("library_ng_ul", "Library (ng/µL)", "number", 10, "library_qc", "libraryNgUl", "Library QC: concentration."),
  stepColumn("library_fmol", "Library (fmol)", "number", 10, "library_qc", "fmol", "Library QC: molarity."),
  stepColumn("library_mean_length_bp", "Library mean length (bp)", "number", 12, "library_qc", "meanFragmentLengthBp", "Library QC: mean fragment length."),
  stepColumn("flow_cell_id", "Flow cell", "string", 12, "sequencing_setup", "flowCellId", "Sequencing setup: flow cell id."),
  stepColumn("flow_cell_product_code", "Flow cell product", "string", 14, "sequencing_setup", "flowCellProductCode", "Sequencing setup: flow cell product code."),
  stepColumn("pore_count", "Pores at check", "number", 9, "sequencing_setup", "poreCount", "Sequencing setup: pores at flow cell check."),
  stepColumn("device", "Device", "string", 14, "sequencing_setup", "device", "Sequencing setup: device."),
  stepColumn("device_position", "Device position", "string", 10, "sequencing_setup", "position", "Sequencing setup: position on the device."),
  stepColumn("run_id", "Run ID", "string", 24, "sequencing_run", "runId", "Sequencing run: run id."),
  stepColumn("run_started_at", "Run started", "date", 20, "sequencing_run", "startedAt", "Sequencing run: start."),
  stepColumn("run_ended_at", "Run ended", "date", 20, "sequencing_run", "endedAt", "Sequencing run: end."),
  stepColumn("yield_gb", "Yield (Gb)", "number", 9, "sequencing_run", "yieldGb", "Sequencing run: yield."),
  stepColumn("reads", "Reads", "number", 12, "sequencing_run", "reads", "Sequencing run: read count."),
  stepColumn("n50", "N50 (bp)", "number", 10, "sequencing_run", "n50", "Sequencing run: read N50."),
  stepColumn("basecalling_model", "Basecalling model", "string", 10, "basecalling", "model", "Basecalling: fast | hac | sup."),
  stepColumn("basecalling_software", "Basecaller version", "string", 14, "basecalling", "softwareVersion", "Basecalling: software version."),
  stepColumn("pass_read_percent", "Pass reads (%)", "number", 9, "basecalling", "passReadPercent", "Basecalling: share of reads passing."),
  stepColumn("mean_q", "Mean Q", "number", 7, "quality_assessment", "meanQ", "Quality assessment: mean Phred quality."),
  stepColumn("coverage", "Coverage (×)", "number", 9, "quality_assessment", "coverage", "Quality assessment: achieved coverage."),
  stepColumn("qa_passed", "QA passed", "boolean", 8, "quality_assessment", "passed", "Quality assessment: pass/fail against the request."),
  stepColumn("delivery_method", "Delivery method", "string", 10, "data_delivery", "method", "Data delivery: download | s3 | globus | drive | other."),
  stepColumn("delivery_location", "Delivery location", "string", 40, "data_delivery", "location", "Data delivery: where the data is."),
  stepColumn("delivered_at", "Delivered", "date", 20, "data_delivery", "deliveredAt", "Data delivery: when."),
  stepColumn("retention_days", "Retention (days)", "number", 9, "data_delivery", "retentionDays", "Data delivery: how long the data is kept."),
  column("version", "Version", "number", 8, "The sample's state version (every accepted change adds one).", "version")
]

const BY_ID: ReadonlyMap<string, ExportColumn> = new Map(EXPORT_COLUMNS.map((c) => [c.id, c]))

/** The ids every column list accepts, in documented order. */
export const EXPORT_COLUMN_IDS: ReadonlyArray<string> = EXPORT_COLUMNS.map((c) => c.id)

/** The columns of an export that names none: what a sample list shows, plus the main lab results. */
export const DEFAULT_COLUMN_IDS: ReadonlyArray<string> = [
  "sample_id",
  "sample_name",
  "submission",
  "position",
  "submitter_email",
  "priority",
  "status",
  "current_step",
  "step_state",
  "created_at",
  "received_at",
  "due_at",
  "completed_at",
  "qc_qubit_ng_ul",
  "library_kit",
  "barcode",
  "flow_cell_id",
  "yield_gb",
  "n50",
  "qa_passed"
]

/**
 * The columns a user chose, in their order, each once (a repeated id is kept at its first place). None chosen means
 * the default columns. Any unknown id fails the whole choice with UnknownExportColumn naming every unknown id.
 */
export const selectColumns = Effect.fn("ExportColumns.select")(function*(ids?: ReadonlyArray<string> | undefined) {
  const chosen = ids === undefined || ids.length === 0 ? DEFAULT_COLUMN_IDS : ids
  const unknown = chosen.filter((id) => !BY_ID.has(id))
  if (unknown.length > 0) {
    return yield* new UnknownExportColumn({ columns: [...new Set(unknown)], known: EXPORT_COLUMN_IDS })
  }
  const out: Array<ExportColumn> = []
  const seen = new Set<string>()
  for (const id of chosen) {
    const c = BY_ID.get(id)
    if (c === undefined || seen.has(id)) continue
    seen.add(id)
    out.push(c)
  }
  return out as ReadonlyArray<ExportColumn>
})

/** A function that turns one sample into the row of `columns`. */
export const rowOf = (columns: ReadonlyArray<ExportColumn>) => {
  const getters = columns.map((c) => c.get)
  const n = getters.length
  return (sample: ExportSample): ExportRow => {
    const row: Array<ExportValue> = new Array(n)
    for (let i = 0; i < n; i++) row[i] = getters[i]!(sample)
    return row
  }
}

/**
 * What a cursor must read for `columns` (each distinct path once) and how a row is made from the values read, in that
 * order: the export job's way, which never loads a whole state document.
 */
export const projectionOf = (columns: ReadonlyArray<ExportColumn>) => {
  const paths: Array<ReadPath> = []
  const at = new Map<string, number>()
  const indexes = columns.map((c) =>
    c.reads.map((p) => {
      const key = p.join("\u0000")
      let i = at.get(key)
      if (i === undefined) {
        i = paths.length
        at.set(key, i)
        paths.push(p)
      }
      return i
    })
  )
  const computes = columns.map((c) => c.compute)
  // One argument array per column, refilled for every row (a compute reads its values and keeps nothing): twenty
  // short-lived arrays fewer per row for the collector.
  const args = indexes.map((ix) => new Array<unknown>(ix.length))
  const n = columns.length
  return {
    paths: paths as ReadonlyArray<ReadPath>,
    row: (values: ReadonlyArray<unknown>): ExportRow => {
      const row: Array<ExportValue> = new Array(n)
      for (let i = 0; i < n; i++) {
        const ix = indexes[i]!
        const a = args[i]!
        for (let k = 0; k < ix.length; k++) a[k] = values[ix[k]!]
        row[i] = computes[i]!(a)
      }
      return row
    }
  }
}

/** The row of `columns` from values keyed by column id (a missing id is null): for rows built by hand. */
export const rowFromRecord = (columns: ReadonlyArray<ColumnSpec>, values: Readonly<Record<string, ExportValue>>): ExportRow =>
  columns.map((c) => values[c.id] ?? null)
