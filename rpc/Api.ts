/** Inputs and outputs of the public API, shared by REST, RPC and the browser. */
import { Schema } from "effect"
import { Archive, Cancel, ChangePriority, CommandResult, CompleteStep, Hold, Receive, Resume } from "./Commands.ts"
import { FieldIssue } from "./Errors.ts"
import { SampleId, SubmissionId } from "./Ids.ts"
import { SafeText } from "./SafeText.ts"
import {
  Email,
  FlowCellType,
  JsonValue,
  Priority,
  SampleDetails,
  SampleEvent,
  SampleName,
  SampleStatus,
  SampleView,
  StepId
} from "./Workflow.ts"

/** One sample as a client submits it: the core fields plus any details of domain.md, flat. */
export const NewSampleInput = Schema.Struct({
  ...SampleDetails.fields,
  sampleName: SampleName,
  submitterEmail: Email,
  priority: Schema.optionalWith(Priority, { default: () => "normal" as const }),
  flowCellType: FlowCellType,
})
export type NewSampleInput = typeof NewSampleInput.Type

/** A sample row inside a submission: e-mail, priority and flow cell default to the submission's. */
export const SubmissionRow = Schema.Struct({
  ...SampleDetails.fields,
  sampleName: SampleName,
  priority: Schema.optional(Priority),
  flowCellType: Schema.optional(FlowCellType)
})
export type SubmissionRow = typeof SubmissionRow.Type

/** The submission header: who, lab, billing, requested service. */
export const SubmissionHeader = Schema.Struct({
  number: Schema.optional(SafeText.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$/))),
  submitterEmail: Email,
  submitterName: Schema.optional(SafeText.pipe(Schema.maxLength(200))),
  lab: Schema.optional(SafeText.pipe(Schema.maxLength(200))),
  pi: Schema.optional(SafeText.pipe(Schema.maxLength(200))),
  billing: Schema.optional(Schema.Struct({
    chartField: Schema.optional(SafeText.pipe(Schema.maxLength(100))),
    account: Schema.optional(SafeText.pipe(Schema.maxLength(100)))
  })),
  service: Schema.optional(Schema.Struct({
    kit: Schema.optional(SafeText.pipe(Schema.maxLength(60))),
    device: Schema.optional(SafeText.pipe(Schema.maxLength(60))),
    basecalling: Schema.optional(SafeText.pipe(Schema.maxLength(60))),
    outputFormat: Schema.optional(SafeText.pipe(Schema.maxLength(60))),
    deliveryMethod: Schema.optional(SafeText.pipe(Schema.maxLength(60))),
    notificationEmails: Schema.optional(Schema.Array(Email).pipe(Schema.maxItems(20)))
  })),
  source: Schema.optionalWith(Schema.Literal("web", "csv", "pdf", "api"), { default: () => "api" as const }),
  priority: Schema.optionalWith(Priority, { default: () => "normal" as const }),
  flowCellType: Schema.optionalWith(FlowCellType, { default: () => "R10.4.1" as const })
})
export type SubmissionHeader = typeof SubmissionHeader.Type

/** A submission with its rows, decoded row by row so errors can name the row. */
export const SubmissionInput = Schema.Struct({
  ...SubmissionHeader.fields,
  samples: Schema.Array(SubmissionRow).pipe(Schema.minItems(1), Schema.maxItems(500))
})
export type SubmissionInput = typeof SubmissionInput.Type

export const Submission = Schema.Struct({
  id: SubmissionId,
  number: Schema.String,
  submitterEmail: Schema.String,
  source: Schema.String,
  sampleCount: Schema.Number,
  createdAt: Schema.String,
  createdBy: Schema.String,
  data: JsonValue
})
export type Submission = typeof Submission.Type

/** A created sample, with warnings about combinations that make no sense; `replayed` when an idempotency key repeated. */
export const CreatedSample = Schema.Struct({
  sample: SampleView,
  warnings: Schema.Array(Schema.String),
  replayed: Schema.optional(Schema.Boolean)
})
export type CreatedSample = typeof CreatedSample.Type

export const CreatedSubmission = Schema.Struct({
  submission: Submission,
  samples: Schema.Array(SampleView),
  warnings: Schema.Array(Schema.Struct({ row: Schema.Number, warnings: Schema.Array(Schema.String) })),
  /** True when this answers a repeated idempotency key: the first request's submission, nothing written. */
  replayed: Schema.optional(Schema.Boolean)
})
export type CreatedSubmission = typeof CreatedSubmission.Type

/** List filters; `cursor` is opaque, from a previous page. */
export const ListSamples = Schema.Struct({
  status: Schema.optional(SampleStatus),
  step: Schema.optional(StepId),
  priority: Schema.optional(Priority),
  submissionId: Schema.optional(SubmissionId),
  submitter: Schema.optional(SafeText.pipe(Schema.maxLength(254))),
  q: Schema.optional(SafeText.pipe(Schema.minLength(1), Schema.maxLength(120))),
  cursor: Schema.optional(SafeText.pipe(Schema.maxLength(200))),
  limit: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 500)), { default: () => 50 })
})
export type ListSamples = typeof ListSamples.Type

export const SamplePage = Schema.Struct({ items: Schema.Array(SampleView), nextCursor: Schema.NullOr(Schema.String) })
export type SamplePage = typeof SamplePage.Type

export const QueuePage = Schema.Struct({
  step: StepId,
  items: Schema.Array(SampleView),
  nextCursor: Schema.NullOr(Schema.String),
  total: Schema.Number
})
export type QueuePage = typeof QueuePage.Type

/** Commands that may be sent to many samples at once. */
export const BatchCommand = Schema.Union(Receive, CompleteStep, ChangePriority, Hold, Resume, Cancel, Archive)
export type BatchCommand = typeof BatchCommand.Type

export const BatchRequest = Schema.Struct({
  sampleIds: Schema.Array(SampleId).pipe(Schema.minItems(1), Schema.maxItems(500)),
  command: BatchCommand
})
export type BatchRequest = typeof BatchRequest.Type

/** One sample's outcome in a batch: its result, or the typed error that refused it. */
export const BatchItem = Schema.Union(
  Schema.Struct({ sampleId: Schema.String, ok: Schema.Literal(true), result: CommandResult }),
  Schema.Struct({
    sampleId: Schema.String,
    ok: Schema.Literal(false),
    error: Schema.Struct({
      _tag: Schema.String,
      message: Schema.String,
      status: Schema.optional(SampleStatus),
      allowed: Schema.optional(Schema.Array(Schema.String)),
      issues: Schema.optional(Schema.Array(FieldIssue))
    })
  })
)
export type BatchItem = typeof BatchItem.Type

export const BatchResult = Schema.Struct({
  succeeded: Schema.Number,
  failed: Schema.Number,
  results: Schema.Array(BatchItem)
})
export type BatchResult = typeof BatchResult.Type

export const EventList = Schema.Array(SampleEvent)

/** Consumer API: a batch of events after a consumer's durable cursor. */
export const EventBatch = Schema.Struct({
  consumer: Schema.String,
  events: Schema.Array(SampleEvent),
  cursor: Schema.String
})
export type EventBatch = typeof EventBatch.Type

export const ConsumerName = SafeText.pipe(Schema.pattern(/^[a-z0-9][a-z0-9_.-]{0,62}$/))
