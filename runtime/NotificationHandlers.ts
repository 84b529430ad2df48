/**
 * The handlers of the notification routes (rpc/NotificationsApi.ts). Managers and admins (and keys with
 * samples:write) edit rules, templates and webhooks; every signed-in user reads their own in-app notifications; a
 * submitter sees the deliveries of their own samples that were addressed to them, nobody else's.
 */
import { randomUUID } from "node:crypto"
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, Layer, Option, Schema } from "effect"
import { MailOutbox } from "../actors/notify/MailOutbox.ts"
import { DeliverPayload, Notification } from "../actors/notify/Notification.ts"
import { rulesInForce } from "../actors/notify/NotificationConsumer.ts"
import { NotificationRule } from "../actors/notify/Rules.ts"
import {
  DEFAULT_TEMPLATES,
  NotificationTemplate,
  preview,
  saveTemplate,
  TemplateDraft,
  variablesFor,
  type SampleEventContext
} from "../actors/notify/Templates.ts"
import { triggerKey } from "../actors/notify/Trigger.ts"
import { generateSecret, validateWebhookUrl } from "../actors/notify/Webhook.ts"
import { deliveryView, DeliveryRepo } from "../persistence/DeliveryRepo.ts"
import { InAppNotificationRepo } from "../persistence/InAppNotificationRepo.ts"
import { NotificationRulesRepo } from "../persistence/NotificationRulesRepo.ts"
import { NotificationTemplateRepo } from "../persistence/NotificationTemplateRepo.ts"
import { publicView, WebhookRepo } from "../persistence/WebhookRepo.ts"
import { actorOf, type Principal } from "../rpc/Auth.ts"
import { decodeStrict } from "../rpc/Decode.ts"
import { InvalidInput, SampleNotFound } from "../rpc/Errors.ts"
import { SampleId } from "../rpc/Ids.ts"
import { DeliveryNotFound, DeliveryNotReplayable, NotificationNotFound, WebhookNotFound } from "../rpc/NotificationsApi.ts"
import { CurrentPrincipal, PoretrackApi } from "../rpc/PoretrackApi.ts"
import { isSafeText, UNSAFE_TEXT_MESSAGE } from "../rpc/SafeText.ts"
import { can, ownEmailOf, refuse, requirePermission, requireSampleRead } from "./Authorization.ts"
import { SampleApi } from "./SampleApi.ts"
import { AppSettings } from "./AppSettings.ts"

const isUuid = Schema.is(Schema.UUID)

/** Managers and admins (and keys with samples:write) configure notifications. */
const requireNotifyAdmin = (principal: Principal) =>
  ownEmailOf(principal) === undefined && can(principal, "samples:manage")
    ? Effect.void
    : refuse(principal, "only managers and admins (or keys with samples:write) configure notifications")

const manager = Effect.flatMap(CurrentPrincipal, (p) => Effect.as(requireNotifyAdmin(p), p))

/** Every string in `value` must be storable text; the first few offenders are named. */
const requireSafeStrings = (value: unknown, what: string) => {
  const issues: Array<{ path: string; message: string }> = []
  const walk = (v: unknown, path: string) => {
    if (issues.length >= 20) return
    if (typeof v === "string") {
      if (!isSafeText(v)) issues.push({ path, message: UNSAFE_TEXT_MESSAGE })
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, path === "" ? String(i) : `${path}.${i}`))
    } else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (!isSafeText(k)) issues.push({ path, message: `a key ${UNSAFE_TEXT_MESSAGE}` })
        walk(x, path === "" ? k.slice(0, 60) : `${path}.${k.slice(0, 60)}`)
      }
    }
  }
  walk(value, "")
  return issues.length === 0 ? Effect.void : Effect.fail(new InvalidInput({ message: `invalid ${what}`, issues }))
}

const decodeTemplate = Schema.decodeUnknownOption(NotificationTemplate)

/** The templates in force: the newest saved version per trigger and channel, else the shipped one. */
const templatesInForce = Effect.gen(function*() {
  const saved = (yield* (yield* NotificationTemplateRepo).latest()).flatMap((s) => Option.toArray(decodeTemplate(s.template)))
  const savedKeys = new Set(saved.map((t) => `${triggerKey(t.trigger)}/${t.channel}`))
  return [...saved, ...DEFAULT_TEMPLATES.filter((t) => !savedKeys.has(`${triggerKey(t.trigger)}/${t.channel}`))]
})

/** An example event for previews: a real sample's newest event of the template's type when given, else made up. */
const exampleContext = (draft: TemplateDraft, sampleId: string | undefined) =>
  Effect.gen(function*() {
    const at = new Date().toISOString()
    const event = { id: randomUUID() as SampleEventContext["event"]["id"], type: draft.trigger.eventType, at, actor: "preview", data: draft.trigger.step === undefined ? {} : { step: draft.trigger.step } }
    if (sampleId === undefined) return { event } satisfies SampleEventContext
    const id = Schema.decodeUnknownEither(SampleId)(sampleId)
    if (Either.isLeft(id)) return yield* new SampleNotFound({ sampleId: sampleId.slice(0, 60) })
    const sample = yield* (yield* SampleApi).get(id.right)
    yield* requireSampleRead(yield* CurrentPrincipal, sample)
    return { event, sample } satisfies SampleEventContext
  })

export const NotificationHandlersLive = HttpApiBuilder.group(PoretrackApi, "notifications", (handlers) =>
  handlers
    .handle("createWebhook", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* manager
        const url = validateWebhookUrl(payload.url)
        if (Either.isLeft(url)) return yield* new InvalidInput({ message: "invalid webhook", issues: [{ path: "url", message: url.left.reason }] })
        const secret = generateSecret()
        const endpoint = yield* (yield* WebhookRepo).create({ id: randomUUID(), url: payload.url, events: [...new Set(payload.events)], secret, createdBy: actorOf(principal) })
        return { id: endpoint.id, secret, endpoint: publicView(endpoint) }
      }))
    .handle("listWebhooks", () =>
      Effect.gen(function*() {
        yield* manager
        return (yield* (yield* WebhookRepo).list()).map(publicView)
      }))
    .handle("deleteWebhook", ({ path }) =>
      Effect.gen(function*() {
        yield* manager
        if (!isUuid(path.id) || !(yield* (yield* WebhookRepo).remove(path.id))) return yield* new WebhookNotFound({ webhookId: path.id.slice(0, 60) })
      }))
    .handle("webhookDeliveries", ({ path }) =>
      Effect.gen(function*() {
        yield* manager
        const repo = yield* WebhookRepo
        if (!isUuid(path.id) || Option.isNone(yield* repo.get(path.id))) return yield* new WebhookNotFound({ webhookId: path.id.slice(0, 60) })
        const deliveries = yield* (yield* DeliveryRepo).forEndpoint(path.id, 200)
        return { deliveries: deliveries.map(deliveryView), attempts: yield* repo.attempts(path.id, 1000) }
      }))
    .handle("replayDelivery", ({ path }) =>
      Effect.gen(function*() {
        yield* manager
        const repo = yield* DeliveryRepo
        const current = isUuid(path.id) ? yield* repo.get(path.id) : Option.none()
        if (Option.isNone(current)) return yield* new DeliveryNotFound({ deliveryId: path.id.slice(0, 60) })
        const replayed = yield* repo.replay(path.id)
        if (Option.isNone(replayed)) return yield* new DeliveryNotReplayable({ deliveryId: path.id, status: current.value.status })
        const client = yield* Notification.client
        yield* client(path.id).Deliver(new DeliverPayload({ generation: replayed.value.generation }), { discard: true }).pipe(Effect.orDie)
        return deliveryView(replayed.value)
      }))
    .handle("listNotifications", ({ urlParams }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (principal._tag !== "User") return { unread: 0, items: [] }
        return yield* (yield* InAppNotificationRepo).list(principal.id, { unreadOnly: urlParams.unread === "true", limit: 200 })
      }))
    .handle("unreadCount", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return { unread: principal._tag === "User" ? yield* (yield* InAppNotificationRepo).unread(principal.id) : 0 }
      }))
    .handle("markRead", ({ path }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const marked = principal._tag === "User" && isUuid(path.id) ? yield* (yield* InAppNotificationRepo).markRead(principal.id, path.id) : Option.none()
        if (Option.isNone(marked)) return yield* new NotificationNotFound({ notificationId: path.id.slice(0, 60) })
        return marked.value
      }))
    .handle("getRules", () =>
      Effect.gen(function*() {
        yield* manager
        return yield* rulesInForce
      }))
    .handle("putRules", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* manager
        yield* requireSafeStrings(payload.rules, "rules")
        const rules = yield* decodeStrict(Schema.Array(NotificationRule), payload.rules, "rules")
        const ids = rules.map((r) => r.id)
        const dup = ids.find((id, i) => ids.indexOf(id) !== i)
        if (dup !== undefined) return yield* new InvalidInput({ message: "invalid rules", issues: [{ path: "rules", message: `rule id ${dup} is used twice` }] })
        return yield* (yield* NotificationRulesRepo).save(payload.expectedVersion, rules, actorOf(principal))
      }))
    .handle("getTemplates", () =>
      Effect.gen(function*() {
        yield* manager
        const templates = yield* templatesInForce
        const names = new Map<string, string>()
        for (const t of templates) for (const v of variablesFor(t.trigger)) names.set(v.name, v.description)
        return { templates, variables: [...names].map(([name, description]) => ({ name, description })) }
      }))
    .handle("putTemplate", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* manager
        yield* requireSafeStrings(payload.template, "template")
        const draft = yield* decodeStrict(TemplateDraft, payload.template, "template")
        const repo = yield* NotificationTemplateRepo
        const key = triggerKey(draft.trigger)
        const current = (yield* repo.latest()).find((s) => s.triggerKey === key && s.channel === draft.channel)
        const currentTemplate = current === undefined ? undefined : Option.getOrUndefined(decodeTemplate(current.template))
        const saved = saveTemplate(draft, currentTemplate)
        if (Either.isLeft(saved)) {
          return yield* new InvalidInput({
            message: saved.left.message,
            issues: saved.left.issues.map((i) => ({ path: `template.${i.part}`, message: i.message }))
          })
        }
        const stored = yield* repo.save({ triggerKey: key, channel: draft.channel, version: saved.right.version, template: saved.right }, actorOf(principal))
        if (!stored) {
          return yield* new InvalidInput({ message: "someone saved this template first", issues: [{ path: "template", message: "read the templates again, then retry" }] })
        }
        return { template: saved.right }
      }))
    .handle("previewTemplate", ({ payload }) =>
      Effect.gen(function*() {
        yield* manager
        yield* requireSafeStrings(payload.template, "template")
        const draft = yield* decodeStrict(TemplateDraft, payload.template, "template")
        const settings = yield* AppSettings
        const ctx = yield* exampleContext(draft, payload.sampleId)
        return { preview: preview(draft, ctx, { appUrl: settings.notify.appUrl, facilityName: settings.notify.facilityName }) }
      }))
    .handle("sampleNotifications", ({ path }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const id = Schema.decodeUnknownEither(SampleId)(path.id)
        if (Either.isLeft(id)) return yield* new SampleNotFound({ sampleId: path.id.slice(0, 60) })
        const sample = yield* (yield* SampleApi).get(id.right)
        yield* requireSampleRead(principal, sample)
        const all = yield* (yield* DeliveryRepo).forSample(id.right)
        const own = ownEmailOf(principal)
        const visible = own === undefined
          ? all
          : all.filter((d) => (d.channel !== "webhook" && d.recipient === own) || (principal._tag === "User" && d.userId === principal.id))
        return visible.map(deliveryView)
      }))
    .handle("mailOutbox", () =>
      Effect.gen(function*() {
        yield* requirePermission(yield* CurrentPrincipal, "admin")
        const entries = yield* (yield* MailOutbox).list({ limit: 500 }).pipe(Effect.orDie)
        return entries.map((e) => ({ id: e.id, to: e.to, subject: e.subject, date: e.date, sizeBytes: e.size }))
      })))

/** The notification routes' handlers with the storage they read. */
export const NotificationHandlersLayer = NotificationHandlersLive.pipe(Layer.provide(Layer.mergeAll(
  WebhookRepo.Default,
  DeliveryRepo.Default,
  InAppNotificationRepo.Default,
  NotificationRulesRepo.Default,
  NotificationTemplateRepo.Default
)))
