/**
 * The notification contract under `/api/v1`: webhook endpoints and their delivery history, in-app notifications,
 * rules and templates (managers), delivery status per sample and the mail outbox (admins). The handlers live in
 * runtime/NotificationHandlers.ts; rules and template bodies are decoded there by the notifier's own schemas.
 * PoretrackApi adds this group behind its Authentication middleware.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { restError, SampleNotFoundBody } from "./HttpErrors.ts"
import { SafeText } from "./SafeText.ts"
import { EventType } from "./Workflow.ts"

const strict = { parseOptions: { onExcessProperty: "error" as const, errors: "all" as const } }

/**
 * The notifier's own schemas (actors/notify), by the names the served OpenAPI document gives them under
 * `components/schemas` (runtime/RestApi.ts adds them there; this contract does not depend on the notifier).
 */
export const NOTIFIER_SCHEMA_NAMES = ["NotificationRule", "NotificationTemplateDraft", "NotificationTemplate", "NotificationTemplatePreview"] as const
export type NotifierSchemaName = (typeof NOTIFIER_SCHEMA_NAMES)[number]

/** A JSON value decoded by the handler with the notifier's own schema `name`, documented by a reference to it. */
const Json = (name: NotifierSchemaName, description: string) =>
  Schema.declare((u: unknown): u is unknown => u !== undefined).annotations({
    jsonSchema: { $ref: `#/components/schemas/${name}`, description }
  })

/** Delivery status per recipient. */
export const DeliveryStatus = Schema.Literal("queued", "sent", "delivered", "failed", "dead")
export type DeliveryStatus = typeof DeliveryStatus.Type

/** The channel of a delivery. */
export const DeliveryChannel = Schema.Literal("email", "in_app", "webhook")
export type DeliveryChannel = typeof DeliveryChannel.Type

/** A webhook endpoint as listed (never its secret). */
export const WebhookEndpointView = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  events: Schema.Array(EventType),
  enabled: Schema.Boolean,
  disabledReason: Schema.NullOr(Schema.String),
  createdBy: Schema.String,
  createdAt: Schema.String
})
export type WebhookEndpointView = typeof WebhookEndpointView.Type

/** The answer to a new endpoint: its id and its `whsec_…` secret, shown this once. */
export const CreatedWebhook = Schema.Struct({ id: Schema.String, secret: Schema.String, endpoint: WebhookEndpointView })

/** One delivery: to whom, on which channel, its status and the reason of a failure (naming the recipient). */
export const DeliveryView = Schema.Struct({
  id: Schema.String,
  eventId: Schema.String,
  eventType: Schema.String,
  sampleId: Schema.NullOr(Schema.String),
  ruleId: Schema.String,
  channel: DeliveryChannel,
  recipient: Schema.String,
  status: DeliveryStatus,
  reason: Schema.NullOr(Schema.String),
  attempts: Schema.Number,
  nextAttemptAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  updatedAt: Schema.String
})
export type DeliveryView = typeof DeliveryView.Type

/** One webhook attempt: when, how long, the HTTP status (null without a response) and the verdict. */
export const WebhookAttemptView = Schema.Struct({
  deliveryId: Schema.String,
  eventId: Schema.String,
  eventType: Schema.String,
  attempt: Schema.Number,
  at: Schema.String,
  latencyMs: Schema.Number,
  httpStatus: Schema.NullOr(Schema.Number),
  outcome: Schema.String,
  error: Schema.NullOr(Schema.String)
})
export type WebhookAttemptView = typeof WebhookAttemptView.Type

/** An in-app notification of the caller. */
export const InAppNotificationView = Schema.Struct({
  id: Schema.String,
  title: Schema.String,
  body: Schema.String,
  sampleId: Schema.NullOr(Schema.String),
  eventType: Schema.String,
  createdAt: Schema.String,
  readAt: Schema.NullOr(Schema.String)
})
export type InAppNotificationView = typeof InAppNotificationView.Type

/** The caller's notifications, newest first, with the unread count. */
export const InAppPage = Schema.Struct({ unread: Schema.Number, items: Schema.Array(InAppNotificationView) })

/** A mail in the outbox folder (admins). */
export const OutboxEntryView = Schema.Struct({
  id: Schema.String,
  to: Schema.String,
  subject: Schema.String,
  date: Schema.String,
  sizeBytes: Schema.Number
})

/** The rules in force and their version (0: the shipped defaults). */
export const RuleSetView = Schema.Struct({ version: Schema.Number, rules: Schema.Array(Json("NotificationRule", "a rule: which events reach whom, on which channels")) })

/** 404: no webhook endpoint has this id. */
export class WebhookNotFound extends Schema.TaggedError<WebhookNotFound>()("WebhookNotFound", { webhookId: Schema.String }) {}
/** 404: no delivery has this id (or the caller may not see it). */
export class DeliveryNotFound extends Schema.TaggedError<DeliveryNotFound>()("DeliveryNotFound", { deliveryId: Schema.String }) {}
/** 404: no notification of the caller has this id. */
export class NotificationNotFound extends Schema.TaggedError<NotificationNotFound>()("NotificationNotFound", { notificationId: Schema.String }) {}
/** 409: only a dead letter can be replayed; names the delivery's status. */
export class DeliveryNotReplayable extends Schema.TaggedError<DeliveryNotReplayable>()("DeliveryNotReplayable", {
  deliveryId: Schema.String,
  status: DeliveryStatus
}) {}
/** 409: the rules were saved by someone else since `expectedVersion`. */
export class RulesVersionMismatch extends Schema.TaggedError<RulesVersionMismatch>()("RulesVersionMismatch", {
  expectedVersion: Schema.Number,
  currentVersion: Schema.Number
}) {}

export const WebhookNotFoundBody = restError(WebhookNotFound, "WebhookNotFound", 404, (e) => `no webhook endpoint ${e.webhookId}`, "No webhook endpoint has this id")
export const DeliveryNotFoundBody = restError(DeliveryNotFound, "DeliveryNotFound", 404, (e) => `no delivery ${e.deliveryId}`, "No delivery has this id")
export const NotificationNotFoundBody = restError(
  NotificationNotFound,
  "NotificationNotFound",
  404,
  (e) => `no notification ${e.notificationId}`,
  "None of your notifications has this id"
)
export const DeliveryNotReplayableBody = restError(
  DeliveryNotReplayable,
  "DeliveryNotReplayable",
  409,
  (e) => `delivery ${e.deliveryId} is ${e.status}; only a dead letter can be replayed`,
  "Only a dead letter can be replayed"
)
export const RulesVersionMismatchBody = restError(
  RulesVersionMismatch,
  "RulesVersionMismatch",
  409,
  (e) => `the rules are at version ${e.currentVersion}, not ${e.expectedVersion}; read them again, then retry`,
  "The rules were saved by someone else since expectedVersion"
)

const IdPath = Schema.Struct({ id: Schema.String.pipe(Schema.maxLength(100)) })

/** Webhooks, in-app notifications, rules, templates, delivery status and the outbox. */
export class NotificationsGroup extends HttpApiGroup.make("notifications")
  .add(
    HttpApiEndpoint.post("createWebhook", "/api/v1/webhooks")
      .setPayload(Schema.Struct({ url: SafeText.pipe(Schema.maxLength(2000)), events: Schema.Array(EventType).pipe(Schema.minItems(1), Schema.maxItems(50)) }).annotations(strict))
      .addSuccess(CreatedWebhook, { status: 201 })
      .annotate(OpenApi.Summary, "Register a webhook endpoint; its whsec_ secret is in this response only (managers, admins)")
  )
  .add(HttpApiEndpoint.get("listWebhooks", "/api/v1/webhooks").addSuccess(Schema.Array(WebhookEndpointView)).annotate(OpenApi.Summary, "Every webhook endpoint"))
  .add(
    HttpApiEndpoint.del("deleteWebhook", "/api/v1/webhooks/:id").setPath(IdPath).addSuccess(Schema.Void, { status: 204 }).addError(WebhookNotFoundBody)
      .annotate(OpenApi.Summary, "Remove a webhook endpoint")
  )
  .add(
    HttpApiEndpoint.get("webhookDeliveries", "/api/v1/webhooks/:id/deliveries").setPath(IdPath)
      .addSuccess(Schema.Struct({ deliveries: Schema.Array(DeliveryView), attempts: Schema.Array(WebhookAttemptView) }))
      .addError(WebhookNotFoundBody)
      .annotate(OpenApi.Summary, "An endpoint's deliveries and every attempt: time, latency, HTTP status, verdict")
  )
  .add(
    HttpApiEndpoint.post("replayDelivery", "/api/v1/webhooks/deliveries/:id/replay").setPath(IdPath)
      .addSuccess(DeliveryView, { status: 202 })
      .addError(DeliveryNotFoundBody)
      .addError(DeliveryNotReplayableBody)
      .annotate(OpenApi.Summary, "Send a dead letter again, from its first attempt")
  )
  .add(
    HttpApiEndpoint.get("listNotifications", "/api/v1/notifications")
      .setUrlParams(Schema.Struct({ unread: Schema.optional(Schema.Literal("true", "false")) }).annotations(strict))
      .addSuccess(InAppPage)
      .annotate(OpenApi.Summary, "My in-app notifications, newest first, and how many are unread")
  )
  .add(HttpApiEndpoint.get("unreadCount", "/api/v1/notifications/unread-count").addSuccess(Schema.Struct({ unread: Schema.Number }))
    .annotate(OpenApi.Summary, "How many of my notifications are unread"))
  .add(
    HttpApiEndpoint.post("markRead", "/api/v1/notifications/:id/read").setPath(IdPath).addSuccess(InAppNotificationView).addError(NotificationNotFoundBody)
      .annotate(OpenApi.Summary, "Mark one of my notifications read")
  )
  .add(HttpApiEndpoint.get("getRules", "/api/v1/notification-rules").addSuccess(RuleSetView).annotate(OpenApi.Summary, "The notification rules in force"))
  .add(
    HttpApiEndpoint.put("putRules", "/api/v1/notification-rules")
      .setPayload(Schema.Struct({ expectedVersion: Schema.Number.pipe(Schema.int(), Schema.nonNegative()), rules: Schema.Array(Json("NotificationRule", "a rule: which events reach whom, on which channels")).pipe(Schema.maxItems(200)) }).annotations(strict))
      .addSuccess(RuleSetView)
      .addError(RulesVersionMismatchBody)
      .annotate(OpenApi.Summary, "Replace the rules (managers, admins); 409 when someone saved since expectedVersion")
  )
  .add(
    HttpApiEndpoint.get("getTemplates", "/api/v1/notification-templates")
      .addSuccess(Schema.Struct({ templates: Schema.Array(Json("NotificationTemplate", "a template in force, with its version")), variables: Schema.Array(Schema.Struct({ name: Schema.String, description: Schema.String })) }))
      .annotate(OpenApi.Summary, "The templates in force (saved, else shipped) and the variables they may use")
  )
  .add(
    HttpApiEndpoint.put("putTemplate", "/api/v1/notification-templates")
      .setPayload(Schema.Struct({ template: Json("NotificationTemplateDraft", "a template draft: e-mail (subject, html, text) or in-app (title, body)") }).annotations(strict))
      .addSuccess(Schema.Struct({ template: Json("NotificationTemplate", "the saved template with its version") }))
      .annotate(OpenApi.Summary, "Save a template as its next version (managers, admins); unknown variables are refused")
  )
  .add(
    HttpApiEndpoint.post("previewTemplate", "/api/v1/notification-templates/preview")
      .setPayload(Schema.Struct({ template: Json("NotificationTemplateDraft", "a template draft"), sampleId: Schema.optional(Schema.String.pipe(Schema.maxLength(100))) }).annotations(strict))
      .addSuccess(Schema.Struct({ preview: Json("NotificationTemplatePreview", "the rendering and the variables it could not fill") }))
      .addError(SampleNotFoundBody)
      .annotate(OpenApi.Summary, "Render a template for an example (or a real sample's) event")
  )
  .add(
    HttpApiEndpoint.get("sampleNotifications", "/api/v1/samples/:id/notifications").setPath(IdPath)
      .addSuccess(Schema.Array(DeliveryView))
      .addError(SampleNotFoundBody)
      .annotate(OpenApi.Summary, "Delivery status per recipient of a sample's notifications")
  )
  .add(HttpApiEndpoint.get("mailOutbox", "/api/v1/mail-outbox").addSuccess(Schema.Array(OutboxEntryView))
    .annotate(OpenApi.Summary, "Mail written to the local outbox folder (admins)"))
{}
