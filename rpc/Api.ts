/** Inputs and outputs of the public API, shared by REST, RPC and the browser. */
import { Schema } from "effect"
import { Archive, Cancel, ChangePriority, CommandResult, CompleteStep, Hold, Receive, Resume } from "./Commands.ts"
import { StatusCounts } from "./Dashboard.ts"
import { FieldIssue } from "./Errors.ts"
import { SampleId, SubmissionId } from "./Ids.ts"
import { SafeText } from "./SafeText.ts"
import {
  Email,
  FlowCellType,
  JsonValue,
  oneOf,
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

/** The orders a sample list can be read in; every one pages by a cursor of its own sort key and the row. */
export const SAMPLE_SORTS = ["created_desc", "created_asc", "name_asc", "priority", "due_asc"] as const
/**
 * A sample list's order: `created_desc` newest first (the default), `created_asc` oldest first, `name_asc` by sample
 * name (then oldest first), `priority` urgent > high > normal > low (then oldest first, as the queues serve them),
 * `due_asc` nearest turnaround due time first (samples without a running turnaround clock, i.e. not yet received or
 * finished, last; then oldest first).
 */
export const SampleSort = oneOf(...SAMPLE_SORTS).annotations({
  description: "created_desc (default) | created_asc | name_asc | priority (urgent first, then oldest) | due_asc (nearest turnaround due first, none last)"
})
export type SampleSort = typeof SampleSort.Type

/**
 * List filters; `cursor` is opaque, from a previous page of the same `sort` (a cursor of another order is refused).
 * `withTotal: true` adds the exact number of samples matching the filters (one extra count).
 */
export const ListSamples = Schema.Struct({
  status: Schema.optional(SampleStatus),
  step: Schema.optional(StepId),
  priority: Schema.optional(Priority),
  submissionId: Schema.optional(SubmissionId),
  submitter: Schema.optional(SafeText.pipe(Schema.maxLength(254))),
  q: Schema.optional(SafeText.pipe(Schema.minLength(1), Schema.maxLength(120))),
  sort: Schema.optional(SampleSort),
  withTotal: Schema.optional(Schema.Boolean),
  cursor: Schema.optional(SafeText.pipe(Schema.maxLength(400))),
  limit: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 500)), { default: () => 50 })
})
export type ListSamples = typeof ListSamples.Type

/** One page of samples; `total` (all pages, same filters) only when the request asked `withTotal: true`. */
export const SamplePage = Schema.Struct({
  items: Schema.Array(SampleView),
  nextCursor: Schema.NullOr(Schema.String),
  total: Schema.optional(Schema.Number)
})
export type SamplePage = typeof SamplePage.Type

/**
 * Where a submission's samples are, as the principal may see them (a submitter counts only their own samples).
 * `completed` counts samples whose data was delivered (status completed or archived).
 */
export const SubmissionProgress = Schema.Struct({
  sampleCount: Schema.Number,
  byStatus: StatusCounts,
  completed: Schema.Number,
  estimatedCompletion: Schema.NullOr(Schema.String).annotations({
    description: "When the facility has committed to finish the samples still being worked: the latest turnaround due " +
      "time (ISO 8601) among the submission's samples that are received and not yet completed, cancelled or archived " +
      "(each sample's SLA turnaround clock, SampleView.sla.turnaroundDueAt). A sample on hold counts with its due time " +
      "as of the hold; resuming moves it later by the time held. Null when no sample has a running turnaround clock " +
      "(none received yet, or all finished)."
  })
})
export type SubmissionProgress = typeof SubmissionProgress.Type

/** `Submissions.List` filters: `q` searches the number and the submitter (e-mail or name); `cursor` from a previous page. */
export const ListSubmissions = Schema.Struct({
  q: Schema.optional(SafeText.pipe(Schema.minLength(1), Schema.maxLength(120))),
  cursor: Schema.optional(SafeText.pipe(Schema.maxLength(200))),
  limit: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 200)), { default: () => 50 })
})
export type ListSubmissions = typeof ListSubmissions.Type

/** A submission in a list: its header and its progress. */
export const SubmissionSummary = Schema.Struct({ submission: Submission, progress: SubmissionProgress })
export type SubmissionSummary = typeof SubmissionSummary.Type

/** One page of submissions, newest first. */
export const SubmissionPage = Schema.Struct({ items: Schema.Array(SubmissionSummary), nextCursor: Schema.NullOr(Schema.String) })
export type SubmissionPage = typeof SubmissionPage.Type

/** One submission with its samples (in row order; a submitter sees only their own) and its progress. */
export const SubmissionDetail = Schema.Struct({ submission: Submission, samples: Schema.Array(SampleView), progress: SubmissionProgress })
export type SubmissionDetail = typeof SubmissionDetail.Type

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
