/**
 * The Notification entity's behaviour: one delivery (one recipient on one channel) per entity. Each attempt is
 * counted in the delivery row before it is made and its outcome recorded before the handler returns; a message for
 * an attempt already made, or for an older generation, does nothing. So a redelivered message re-sends only when the
 * process died between the send and the record (docs/notifications.md). Retries are persisted `Retry` messages the
 * entity sends itself with a delivery time: no scheduler beside the cluster's.
 */
import { randomUUID } from "node:crypto"
import { Entity } from "@effect/cluster"
import { Context, Effect, Layer, Option, Random, Schema } from "effect"
import { DeliveryRepo, type StoredDelivery } from "../../persistence/DeliveryRepo.ts"
import { ExportNoticeRepo, isExportEvent } from "../../persistence/ExportNoticeRepo.ts"
import { InAppNotificationRepo } from "../../persistence/InAppNotificationRepo.ts"
import { NotificationTemplateRepo, type StoredTemplate } from "../../persistence/NotificationTemplateRepo.ts"
import { decodeStoredState } from "../../persistence/SampleRepo.ts"
import { WebhookRepo } from "../../persistence/WebhookRepo.ts"
import type { SampleEvent } from "../../rpc/Workflow.ts"
import { Mailer } from "./Mailer.ts"
import { Notification, RetryPayload } from "./Notification.ts"
import { NotificationTemplate, renderEmail, renderInApp, templateFor, type RenderOptions, type SampleEventContext } from "./Templates.ts"
import { deliverOnce, nextStep, WebhookSecret, webhookMessage } from "./Webhook.ts"
import { annotateSpan, fnTraced } from "../fnTraced.ts"

/** How the entity renders and paces its deliveries. */
export interface NotificationEntityOptions {
  readonly render: RenderOptions
  /** Multiplies every retry wait (1 in production). */
  readonly retryScale: number
  readonly maxIdleTime?: number
}

const decodeTemplate = Schema.decodeUnknownOption(NotificationTemplate)

/** Delivery attempts: one function for the whole process, run by the Notification entities and the consumer. */
export class DeliveryAttempts extends Context.Tag("poretrack/DeliveryAttempts")<DeliveryAttempts, {
  /**
   * Makes attempt `attempt` of the delivery's `generation` unless it moved on (a later attempt, another generation, or
   * a final status). The same attempt again (after a crash) is made again: the only window for a duplicate is between
   * the send and the record of its outcome.
   */
  readonly attempt: (deliveryId: string, generation: number, attempt: number) => Effect.Effect<void>
}>() {}

/** The attempts, with their repositories, mailer and renderer resolved once. */
export const DeliveryAttemptsLive = (options: NotificationEntityOptions) =>
  Layer.effect(
    DeliveryAttempts,
    Effect.gen(function*() {
      const deliveries = yield* DeliveryRepo
      const webhooks = yield* WebhookRepo
      const inApp = yield* InAppNotificationRepo
      const templates = yield* NotificationTemplateRepo
      const exportNotices = yield* ExportNoticeRepo
      const mailer = yield* Mailer
      const makeClient = yield* Notification.client

      /** The event with its sample (its state as read with the delivery), as templates read it. */
      const contextOf = fnTraced("Notification.context")(function*(event: SampleEvent, sampleState: Option.Option<unknown>) {
        const sample = isExportEvent(event) || Option.isNone(sampleState) ? undefined : yield* decodeStoredState(sampleState.value)
        const ctx: SampleEventContext = { event, sample }
        return ctx
      })

      // Decoded once per read of the saved templates (the same rows are served for a second), not once per delivery.
      let decoded: { readonly stored: ReadonlyArray<StoredTemplate>; readonly templates: ReadonlyArray<NotificationTemplate> } | undefined
      const savedTemplates = templates.forRendering.pipe(
        Effect.map((stored) => {
          if (decoded?.stored !== stored) decoded = { stored, templates: stored.flatMap((s) => Option.toArray(decodeTemplate(s.template))) }
          return decoded.templates
        })
      )

      /** After a failed attempt: the next one as a timer message, or the dead letter once the schedule is spent. */
      const afterFailure = Effect.fn("Notification.afterFailure")(function*(d: StoredDelivery, generation: number, attempt: number, reason: string, retryAfterMs?: number) {
        const step = nextStep(attempt, { outcome: "retry", ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }, yield* Random.next)
        if (step._tag !== "RetryIn") {
          return yield* deliveries.settle(d.id, "dead", `${reason} (gave up after ${attempt} attempts)`, null)
        }
        const at = Date.now() + Math.max(1, Math.round(step.delayMs * options.retryScale))
        // The timer is stored first: if the record below is lost, the retry still comes.
        yield* makeClient(d.id).Retry(new RetryPayload({ generation, attempt: step.attempt, at }), { discard: true }).pipe(Effect.orDie)
        yield* deliveries.settle(d.id, "failed", `${reason}; attempt ${step.attempt} at ${new Date(at).toISOString()}`, new Date(at))
      })

      const email = fnTraced("Notification.email")(function*(d: StoredDelivery, event: SampleEvent, sampleState: Option.Option<unknown>, generation: number, attempt: number) {
        const ctx = yield* contextOf(event, sampleState)
        const template = templateFor(yield* savedTemplates, "email", event)
        if (template.channel !== "email") return yield* Effect.dieMessage("templateFor gave a template of another channel")
        const rendered = renderEmail(template, ctx, options.render)
        const sent = yield* mailer.send({ to: d.recipient, ...rendered, dedupKey: d.dedupKey }).pipe(Effect.either)
        if (sent._tag === "Right") return yield* deliveries.settle(d.id, "sent", null, null)
        const e = sent.left
        const transient = e._tag === "MailDeliveryFailed" ? e.transient : e._tag === "MailRecipientRejected" ? !e.permanent : false
        if (!transient) return yield* deliveries.settle(d.id, "failed", e.message, null)
        return yield* afterFailure(d, generation, attempt, e.message)
      })

      const inAppNote = fnTraced("Notification.inApp")(function*(d: StoredDelivery, event: SampleEvent, sampleState: Option.Option<unknown>) {
        if (d.userId === null) return yield* deliveries.settle(d.id, "failed", `in-app delivery to ${d.recipient} names no account`, null)
        const ctx = yield* contextOf(event, sampleState)
        const template = templateFor(yield* savedTemplates, "in_app", event)
        if (template.channel !== "in_app") return yield* Effect.dieMessage("templateFor gave a template of another channel")
        const rendered = renderInApp(template, ctx, options.render)
        yield* inApp.insert({
          id: randomUUID(),
          deliveryId: d.id,
          userId: d.userId,
          title: rendered.title,
          body: rendered.body,
          sampleId: isExportEvent(event) ? null : event.sampleId,
          eventType: event.type
        })
        yield* deliveries.settle(d.id, "delivered", null, null)
      })

      const webhook = Effect.fn("Notification.webhook")(function*(d: StoredDelivery, event: SampleEvent, generation: number, attempt: number) {
        const endpoint = d.endpointId === null ? Option.none() : yield* webhooks.get(d.endpointId)
        if (Option.isNone(endpoint)) return yield* deliveries.settle(d.id, "failed", `webhook endpoint ${d.recipient} was removed`, null)
        if (!endpoint.value.enabled) {
          return yield* deliveries.settle(d.id, "failed", `webhook endpoint ${endpoint.value.url} is disabled: ${endpoint.value.disabledReason ?? "by a manager"}`, null)
        }
        const secret = Schema.decodeUnknownOption(WebhookSecret)(endpoint.value.secret)
        if (Option.isNone(secret)) return yield* deliveries.settle(d.id, "failed", `webhook endpoint ${endpoint.value.url} has no usable secret`, null)
        const result = yield* deliverOnce({ url: endpoint.value.url, secret: secret.value }, webhookMessage(event))
        yield* webhooks.recordAttempt({
          deliveryId: d.id,
          endpointId: endpoint.value.id,
          attempt,
          at: result.at,
          latencyMs: result.latencyMs,
          status: result.status,
          outcome: result.outcome,
          error: result.error ?? null
        })
        const what = `${endpoint.value.url}: ${result.error ?? `HTTP ${result.status ?? "no response"}`}`
        switch (result.outcome) {
          case "delivered":
            return yield* deliveries.settle(d.id, "delivered", null, null)
          case "disable": {
            yield* webhooks.disable(endpoint.value.id, `${result.error ?? "410 Gone"} at ${new Date(result.at).toISOString()}`)
            return yield* deliveries.settle(d.id, "failed", `endpoint disabled: ${what}`, null)
          }
          case "retry":
            return yield* afterFailure(d, generation, attempt, what, result.retryAfterMs)
        }
      })

      const attemptDelivery = fnTraced("Notification.attempt")(function*(deliveryId: string, generation: number, attempt: number) {
        // Counted before sending: a sent, delivered or dead delivery, another generation, or a later attempt is not
        // repeated (none is counted, and nothing is sent).
        const begun = yield* deliveries.beginAttempt(deliveryId, generation, attempt)
        if (Option.isNone(begun)) return
        const { delivery: d, sampleState } = begun.value
        // An export's result is no sample event: it is read from the export's row (persistence/ExportNoticeRepo.ts).
        const event = isExportEvent({ type: d.eventType }) ? yield* exportNotices.resultEvent(d.eventId) : begun.value.event
        if (Option.isNone(event)) return yield* deliveries.settle(d.id, "failed", `event ${d.eventId} is no longer in the log`, null)
        yield* annotateSpan({ "notification.channel": d.channel, "notification.recipient": d.recipient, attempt })
        switch (d.channel) {
          case "email":
            return yield* email(d, event.value, sampleState, generation, attempt)
          case "in_app":
            return yield* inAppNote(d, event.value, sampleState)
          case "webhook":
            return yield* webhook(d, event.value, generation, attempt)
        }
      })

      return { attempt: attemptDelivery }
    })
  )

/** The Notification entity's handlers: its delivery's attempts (DeliveryAttempts, provided by the notifier). */
export const NotificationEntityLive = (options: NotificationEntityOptions) =>
  Notification.toLayer(
    Effect.gen(function*() {
      const attempts = yield* DeliveryAttempts
      const deliveryId = (yield* Entity.CurrentAddress).entityId
      return {
        Deliver: (request) => attempts.attempt(deliveryId, request.payload.generation, 1),
        Retry: (request) => attempts.attempt(deliveryId, request.payload.generation, request.payload.attempt)
      }
    }),
    options.maxIdleTime !== undefined ? { maxIdleTime: options.maxIdleTime } : {}
  )
