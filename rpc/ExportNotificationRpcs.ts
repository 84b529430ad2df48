/**
 * The typed RPCs of exports and notifications (issue 11): the same operations and the same rules as the REST routes
 * of rpc/ExportsApi.ts and rpc/NotificationsApi.ts, for the web app and RPC integrators. PoretrackRpcs merges this
 * group before it adds RpcAuthentication (defined there), so every RPC here needs a principal like the others, and its
 * payload is checked by the server's gate (a bad one is a typed InvalidInput).
 */
import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { Forbidden } from "./Auth.ts"
import { InvalidInput, SampleNotFound } from "./Errors.ts"
import { ExportNotFound, ExportRequest, ExportView, StartedExport } from "./ExportsApi.ts"
import { SampleId } from "./Ids.ts"
import {
  CreatedWebhook,
  DeliveryNotFound,
  DeliveryNotReplayable,
  DeliveryView,
  InAppNotificationView,
  InAppPage,
  NotificationNotFound,
  OutboxEntryView,
  WebhookAttemptView,
  WebhookEndpointView,
  WebhookNotFound
} from "./NotificationsApi.ts"
import { SafeText } from "./SafeText.ts"
import { EventType } from "./Workflow.ts"

/** An id as a caller sends it: storable text of bounded length (an unknown one is not found, never a crash). */
const AnyId = SafeText.pipe(Schema.minLength(1), Schema.maxLength(100))

/** A documented export column (actors/export/ExportColumns.ts): what the export dialog offers. */
export const ExportColumnView = Schema.Struct({
  id: Schema.String,
  header: Schema.String,
  description: Schema.String,
  type: Schema.Literal("string", "number", "date", "boolean"),
  byDefault: Schema.Boolean
})
export type ExportColumnView = typeof ExportColumnView.Type

/** An endpoint's deliveries and every attempt (time, latency, HTTP status, verdict). */
export const WebhookHistory = Schema.Struct({ deliveries: Schema.Array(DeliveryView), attempts: Schema.Array(WebhookAttemptView) })

/** `Exports.*`, `Notifications.*`, `Deliveries.*`, `Webhooks.*` and `Mail.*`. */
export class ExportNotificationRpcs extends RpcGroup.make(
  Rpc.make("Exports.Columns", { success: Schema.Array(ExportColumnView), error: Forbidden }),
  Rpc.make("Exports.Start", { payload: ExportRequest, success: StartedExport, error: Schema.Union(InvalidInput, Forbidden) }),
  Rpc.make("Exports.Get", { payload: { id: AnyId }, success: ExportView, error: Schema.Union(ExportNotFound, Forbidden) }),
  Rpc.make("Exports.List", { success: Schema.Array(ExportView), error: Forbidden }),
  Rpc.make("Exports.Cancel", { payload: { id: AnyId }, success: ExportView, error: Schema.Union(ExportNotFound, Forbidden) }),
  /** The job's view whenever its progress or status changes, ending after it completes, fails or is cancelled. */
  Rpc.make("Exports.Progress", { payload: { id: AnyId }, success: ExportView, error: Schema.Union(ExportNotFound, Forbidden), stream: true }),
  Rpc.make("Notifications.List", {
    payload: { unreadOnly: Schema.optional(Schema.Boolean) },
    success: InAppPage,
    error: Forbidden
  }),
  Rpc.make("Notifications.UnreadCount", { success: Schema.Struct({ unread: Schema.Number }), error: Forbidden }),
  Rpc.make("Notifications.MarkRead", { payload: { id: AnyId }, success: InAppNotificationView, error: Schema.Union(NotificationNotFound, Forbidden) }),
  Rpc.make("Deliveries.ForSample", { payload: { sampleId: SampleId }, success: Schema.Array(DeliveryView), error: Schema.Union(SampleNotFound, Forbidden) }),
  Rpc.make("Webhooks.List", { success: Schema.Array(WebhookEndpointView), error: Forbidden }),
  Rpc.make("Webhooks.Create", {
    payload: { url: SafeText.pipe(Schema.minLength(1), Schema.maxLength(2000)), events: Schema.Array(EventType).pipe(Schema.minItems(1), Schema.maxItems(50)) },
    success: CreatedWebhook,
    error: Schema.Union(InvalidInput, Forbidden)
  }),
  Rpc.make("Webhooks.Delete", { payload: { id: AnyId }, success: Schema.Void, error: Schema.Union(WebhookNotFound, Forbidden) }),
  Rpc.make("Webhooks.Deliveries", { payload: { id: AnyId }, success: WebhookHistory, error: Schema.Union(WebhookNotFound, Forbidden) }),
  Rpc.make("Webhooks.Replay", {
    payload: { deliveryId: AnyId },
    success: DeliveryView,
    error: Schema.Union(DeliveryNotFound, DeliveryNotReplayable, Forbidden)
  }),
  Rpc.make("Mail.Outbox", { success: Schema.Array(OutboxEntryView), error: Forbidden })
) {}
