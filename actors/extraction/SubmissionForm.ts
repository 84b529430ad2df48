/**
 * What the reader makes of a submission form: exactly the shape of the `*.truth.json` files in
 * `../shared/fixtures/forms/dev/` (same keys, units, enumerations, `null` for blank), plus the per-field confidence
 * and evidence that travel with it.
 *
 * Paths: `confidence` and `evidence` are flat maps keyed by a field's path in `result`: `quoteId`,
 * `requester.email`, `pis[0].name`, `samples[3].qubitNgUl` (the index in the `samples` array, not the row number).
 * A list of plain values (`basecalling`, `retrieval`, `notificationEmails`, `problems`) has one entry for the whole
 * list. Every leaf of `result` has a confidence in [0,1]; `samples` alone is the confidence that the sample table
 * was found at all. `evidence` has an entry for every value read from the page (not for derived `problems`).
 */
import { Schema } from "effect"
import { FORM_BASECALLING, FORM_BUFFERS, FORM_CONTROLS, FORM_DEVICES, FORM_FILE_FORMATS, FORM_RETRIEVAL, FORM_SAMPLE_TYPES } from "../../rpc/ExtractionRpcs.ts"
import { KIT_CODES } from "../../rpc/Workflow.ts"

/** Library kits the form offers (domain.md, "Nanopore facts"). */
export const Kit = Schema.Literal(...KIT_CODES)
export const SampleType = Schema.Literal(...FORM_SAMPLE_TYPES)
export const SampleBuffer = Schema.Literal(...FORM_BUFFERS)
export const Device = Schema.Literal(...FORM_DEVICES)
export const Basecalling = Schema.Literal(...FORM_BASECALLING)
export const FileFormat = Schema.Literal(...FORM_FILE_FORMATS)
export const Retrieval = Schema.Literal(...FORM_RETRIEVAL)
export const Control = Schema.Literal(...FORM_CONTROLS)

/** One row of the sample table; volumes in µL, concentrations in ng/µL, purities as ratios. */
export const SampleRow = Schema.Struct({
  row: Schema.Number,
  name: Schema.NullOr(Schema.String),
  volumeUl: Schema.NullOr(Schema.Number),
  qubitNgUl: Schema.NullOr(Schema.Number),
  nanodropNgUl: Schema.NullOr(Schema.Number),
  a260_280: Schema.NullOr(Schema.Number),
  a260_230: Schema.NullOr(Schema.Number),
  control: Schema.NullOr(Control)
})
export type SampleRow = typeof SampleRow.Type

export const Person = Schema.Struct({ name: Schema.NullOr(Schema.String), email: Schema.NullOr(Schema.String) })
export type Person = typeof Person.Type

/** The form's content, key for key as in the truth files. */
export const SubmissionForm = Schema.Struct({
  quoteId: Schema.NullOr(Schema.String),
  quoteDate: Schema.NullOr(Schema.String),
  expiresOn: Schema.NullOr(Schema.String),
  requester: Schema.Struct({
    name: Schema.NullOr(Schema.String),
    email: Schema.NullOr(Schema.String),
    phone: Schema.NullOr(Schema.String)
  }),
  lab: Schema.NullOr(Schema.String),
  pis: Schema.Array(Person),
  billingAccount: Schema.NullOr(Schema.String),
  kit: Schema.NullOr(Kit),
  sampleType: Schema.NullOr(SampleType),
  humanDna: Schema.NullOr(Schema.Boolean),
  organism: Schema.NullOr(Schema.String),
  buffer: Schema.NullOr(SampleBuffer),
  device: Schema.NullOr(Device),
  genomeSizeMb: Schema.NullOr(Schema.Number),
  coverage: Schema.NullOr(Schema.Number),
  flowCellCount: Schema.NullOr(Schema.Number),
  basecalling: Schema.Array(Basecalling),
  fileFormat: Schema.NullOr(FileFormat),
  notificationEmails: Schema.Array(Schema.String),
  retrieval: Schema.Array(Retrieval),
  samples: Schema.Array(SampleRow),
  problems: Schema.Array(Schema.String)
})
export type SubmissionForm = typeof SubmissionForm.Type

/** Where a value was read: the page, the text (or the option labels and their states) and its position. */
export const Evidence = Schema.Struct({
  page: Schema.Number,
  text: Schema.String,
  x: Schema.Number,
  y: Schema.Number,
  boxes: Schema.optional(
    Schema.Array(Schema.Struct({ label: Schema.NullOr(Schema.String), ticked: Schema.Boolean, x: Schema.Number, y: Schema.Number }))
  )
})
export type Evidence = typeof Evidence.Type

/** The rules stage's answer: the form, how sure it is of each path, where each value came from, what it could not read. */
export const FormExtraction = Schema.Struct({
  result: SubmissionForm,
  confidence: Schema.Record({ key: Schema.String, value: Schema.Number }),
  evidence: Schema.Record({ key: Schema.String, value: Evidence }),
  warnings: Schema.Array(Schema.String)
})
export type FormExtraction = typeof FormExtraction.Type
