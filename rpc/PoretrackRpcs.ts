/** The typed RPC surface served at `/rpc` (HTTP) and `/rpc/ws` (WebSocket): what the web app and RPC integrators call. */
import { Rpc, RpcGroup, RpcMiddleware } from "@effect/rpc"
import { Schema } from "effect"
import { Forbidden, RateLimited, Unauthenticated } from "./Auth.ts"
import { CurrentPrincipal } from "./PoretrackApi.ts"
import {
  BatchRequest,
  BatchResult,
  ConsumerName,
  CreatedSample,
  CreatedSubmission,
  EventBatch,
  EventList,
  ListSamples,
  ListSubmissions,
  NewSampleInput,
  QueuePage,
  SamplePage,
  SubmissionDetail,
  SubmissionInput,
  SubmissionPage
} from "./Api.ts"
import { CommandResult, SampleCommand } from "./Commands.ts"
import { ExportNotificationRpcs } from "./ExportNotificationRpcs.ts"
import { ExtractionRpcs } from "./ExtractionRpcs.ts"
import { Dashboard, DashboardQuery } from "./Dashboard.ts"
import { CommandError, IdempotencyKeyReused, InvalidInput, SampleNotFound, SubmissionNotFound, SubmissionRejected } from "./Errors.ts"
import { SampleId, SubmissionId } from "./Ids.ts"
import { FacilitySettings, SettingsUpdate, SettingsVersionMismatch } from "./Settings.ts"
import { SampleEvent, SampleView, StepId, WorkflowView } from "./Workflow.ts"

/**
 * Every RPC needs a principal: an API key (`Authorization: Bearer …`) or a signed-in browser's session cookie with its
 * `X-CSRF-Token` (over WebSocket, the cookie of a same-origin upgrade). Refusals are typed: Unauthenticated, Forbidden
 * (role, scope or another submitter's sample), RateLimited; and InvalidInput, which the server's gate answers for a
 * request whose payload fails the RPC's schema before it reaches authentication (declared here so that every RPC's
 * error type carries it).
 */
export class RpcAuthentication extends RpcMiddleware.Tag<RpcAuthentication>()("RpcAuthentication", {
  provides: CurrentPrincipal,
  failure: Schema.Union(Unauthenticated, Forbidden, RateLimited, InvalidInput)
}) {}

const Key = (max: number) => Schema.optional(Schema.String.pipe(Schema.pattern(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`))))

/** Every RPC of poretrack, grouped under `Samples.*`, `Submissions.*`, `Queues.*`, `Dashboard.*`, `Settings.*` and `Events.*`. */
export class PoretrackRpcs extends RpcGroup.make(
  Rpc.make("Samples.Create", {
    payload: { ...NewSampleInput.fields, idempotencyKey: Key(200) },
    success: CreatedSample,
    error: Schema.Union(SubmissionRejected, InvalidInput, IdempotencyKeyReused, Forbidden)
  }),
  Rpc.make("Samples.Get", { payload: { id: SampleId }, success: SampleView, error: Schema.Union(SampleNotFound, Forbidden) }),
  Rpc.make("Samples.List", { payload: ListSamples, success: SamplePage, error: Schema.Union(InvalidInput, Forbidden) }),
  Rpc.make("Samples.Workflow", { payload: { id: SampleId }, success: WorkflowView, error: Schema.Union(SampleNotFound, Forbidden) }),
  Rpc.make("Samples.Events", { payload: { id: SampleId }, success: EventList, error: Schema.Union(SampleNotFound, Forbidden) }),
  Rpc.make("Samples.Execute", {
    payload: { id: SampleId, command: SampleCommand, idempotencyKey: Key(200), expectedVersion: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())) },
    success: CommandResult,
    error: Schema.Union(CommandError, Forbidden)
  }),
  Rpc.make("Samples.Batch", {
    payload: { ...BatchRequest.fields, idempotencyKey: Key(150) },
    success: BatchResult,
    error: Schema.Union(InvalidInput, Forbidden)
  }),
  Rpc.make("Submissions.Create", {
    payload: { ...SubmissionInput.fields, idempotencyKey: Key(200) },
    success: CreatedSubmission,
    error: Schema.Union(SubmissionRejected, InvalidInput, IdempotencyKeyReused, Forbidden)
  }),
  Rpc.make("Submissions.List", { payload: ListSubmissions, success: SubmissionPage, error: Schema.Union(InvalidInput, Forbidden) }),
  Rpc.make("Submissions.Get", { payload: { id: SubmissionId }, success: SubmissionDetail, error: Schema.Union(SubmissionNotFound, Forbidden) }),
  Rpc.make("Queues.Get", {
    payload: { step: StepId, cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(400))), limit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 500))) },
    success: QueuePage,
    error: Schema.Union(InvalidInput, Forbidden)
  }),
  Rpc.make("Dashboard.Get", { payload: DashboardQuery, success: Dashboard, error: Schema.Union(InvalidInput, Forbidden) }),
  Rpc.make("Settings.Get", { success: FacilitySettings, error: Forbidden }),
  Rpc.make("Settings.Update", { payload: SettingsUpdate, success: FacilitySettings, error: Schema.Union(InvalidInput, SettingsVersionMismatch, Forbidden) }),
  Rpc.make("Events.Read", {
    payload: { consumer: ConsumerName, limit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000))) },
    success: EventBatch,
    error: Schema.Union(InvalidInput, Forbidden)
  }),
  Rpc.make("Events.Ack", { payload: { consumer: ConsumerName, cursor: Schema.String.pipe(Schema.maxLength(60)) }, success: Schema.Void, error: Schema.Union(InvalidInput, Forbidden) }),
  Rpc.make("Events.Watch", { payload: { sampleId: Schema.optional(SampleId) }, success: SampleEvent, error: Schema.Union(SampleNotFound, Forbidden), stream: true })
).merge(ExportNotificationRpcs, ExtractionRpcs).middleware(RpcAuthentication) {}
