/** The typed RPC surface served at `/rpc`: what the web app and RPC integrators call. */
import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import {
  BatchRequest,
  BatchResult,
  ConsumerName,
  CreatedSample,
  CreatedSubmission,
  EventBatch,
  EventList,
  ListSamples,
  NewSampleInput,
  QueuePage,
  SamplePage,
  SubmissionInput
} from "./Api.ts"
import { CommandResult, SampleCommand } from "./Commands.ts"
import { CommandError, InvalidInput, SampleNotFound, SubmissionRejected } from "./Errors.ts"
import { SampleId } from "./Ids.ts"
import { SampleEvent, SampleView, StepId, WorkflowView } from "./Workflow.ts"

/** Every RPC of poretrack, grouped under `Samples.*`, `Submissions.*`, `Queues.*` and `Events.*`. */
export class PoretrackRpcs extends RpcGroup.make(
  Rpc.make("Samples.Create", { payload: NewSampleInput, success: CreatedSample, error: Schema.Union(SubmissionRejected, InvalidInput) }),
  Rpc.make("Samples.Get", { payload: { id: SampleId }, success: SampleView, error: SampleNotFound }),
  Rpc.make("Samples.List", { payload: ListSamples, success: SamplePage, error: InvalidInput }),
  Rpc.make("Samples.Workflow", { payload: { id: SampleId }, success: WorkflowView, error: SampleNotFound }),
  Rpc.make("Samples.Events", { payload: { id: SampleId }, success: EventList, error: SampleNotFound }),
  Rpc.make("Samples.Execute", {
    payload: { id: SampleId, command: SampleCommand, idempotencyKey: Schema.optional(Schema.String.pipe(Schema.pattern(/^[\x21-\x7e]{1,200}$/))) },
    success: CommandResult,
    error: CommandError
  }),
  Rpc.make("Samples.Batch", {
    payload: { ...BatchRequest.fields, idempotencyKey: Schema.optional(Schema.String.pipe(Schema.pattern(/^[\x21-\x7e]{1,150}$/))) },
    success: BatchResult
  }),
  Rpc.make("Submissions.Create", { payload: SubmissionInput, success: CreatedSubmission, error: SubmissionRejected }),
  Rpc.make("Queues.Get", {
    payload: { step: StepId, cursor: Schema.optional(Schema.String), limit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 500))) },
    success: QueuePage,
    error: InvalidInput
  }),
  Rpc.make("Events.Read", { payload: { consumer: ConsumerName, limit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000))) }, success: EventBatch }),
  Rpc.make("Events.Ack", { payload: { consumer: ConsumerName, cursor: Schema.String }, success: Schema.Void, error: InvalidInput }),
  Rpc.make("Events.Watch", { payload: { sampleId: Schema.optional(SampleId) }, success: SampleEvent, stream: true })
) {}
