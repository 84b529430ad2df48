/**
 * The handlers of rpc/ExportNotificationRpcs.ts, with the rules of the REST routes (runtime/ExportHandlers.ts,
 * runtime/NotificationHandlers.ts): a submitter exports and sees only their own samples and exports, reads only their
 * own notifications and the deliveries of their own samples addressed to them; managers and admins (and keys with
 * samples:write) manage webhooks; admins read the mail outbox. RpcHandlersLive spreads these into its handlers.
 */
import { randomUUID } from "node:crypto"
import type { Sharding } from "@effect/cluster"
import { Duration, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import { DEFAULT_COLUMN_IDS, EXPORT_COLUMNS } from "../actors/export/ExportColumns.ts"
import { MailOutbox } from "../actors/notify/MailOutbox.ts"
import { DeliverPayload, Notification } from "../actors/notify/Notification.ts"
import { generateSecret, validateWebhookUrl } from "../actors/notify/Webhook.ts"
import { deliveryView, DeliveryRepo } from "../persistence/DeliveryRepo.ts"
import { ExportRepo, type ExportJobRow } from "../persistence/ExportRepo.ts"
import { InAppNotificationRepo } from "../persistence/InAppNotificationRepo.ts"
import { publicView, WebhookRepo } from "../persistence/WebhookRepo.ts"
import { actorOf, type Principal } from "../rpc/Auth.ts"
import { InvalidInput } from "../rpc/Errors.ts"
import { ExportNotificationRpcs } from "../rpc/ExportNotificationRpcs.ts"
import { DeliveryNotFound, DeliveryNotReplayable, NotificationNotFound, WebhookNotFound } from "../rpc/NotificationsApi.ts"
import { CurrentPrincipal } from "../rpc/PoretrackApi.ts"
import { RpcAuthentication } from "../rpc/PoretrackRpcs.ts"
import { can, ownEmailOf, refuse, requirePermission, requireSampleRead } from "./Authorization.ts"
import { exportView, ownerOf, startRequested, visible } from "./ExportHandlers.ts"
import { SampleApi } from "./SampleApi.ts"

const isUuid = Schema.is(Schema.UUID)

/** How often a progress stream re-reads its job. */
const PROGRESS_POLL = Duration.millis(400)

const finished = (job: ExportJobRow) => job.status === "completed" || job.status === "failed" || job.status === "cancelled"

/** Managers and admins (and keys with samples:write) configure notifications (as over REST). */
const requireNotifyAdmin = (principal: Principal) =>
  ownEmailOf(principal) === undefined && can(principal, "samples:manage")
    ? Effect.void
    : refuse(principal, "only managers and admins (or keys with samples:write) configure notifications")

const manager = Effect.flatMap(CurrentPrincipal, (p) => Effect.as(requireNotifyAdmin(p), p))

/** The group as the server sees it (with its authentication), for typing the handlers. */
const Group = ExportNotificationRpcs.middleware(RpcAuthentication)

/** The documented columns, as the export dialog offers them. */
const COLUMNS = EXPORT_COLUMNS.map((c) => ({
  id: c.id,
  header: c.header,
  description: c.description,
  type: c.type,
  byDefault: DEFAULT_COLUMN_IDS.includes(c.id)
}))

/**
 * The handlers, built once with the services they use: the export repository and the cluster (jobs and deliveries
 * are started by messages to their entities), the notification repositories, the mail outbox and the samples.
 */
export const ExportNotificationRpcHandlers = Effect.gen(function*() {
  const exportsContext = yield* Effect.context<ExportRepo | Sharding.Sharding>()
  const exportRepo = yield* ExportRepo
  const deliveries = yield* DeliveryRepo
  const webhooks = yield* WebhookRepo
  const inApp = yield* InAppNotificationRepo
  const outbox = yield* MailOutbox
  const samples = yield* SampleApi
  const notifications = yield* Notification.client
  const job = (principal: Principal, id: string) => visible(principal, id).pipe(Effect.provide(exportsContext))

  return Group.of({
    "Exports.Columns": () => Effect.flatMap(CurrentPrincipal, (p) => Effect.as(requirePermission(p, "samples:read"), COLUMNS)),
    "Exports.Start": (payload) =>
      Effect.gen(function*() {
        const id = yield* startRequested(yield* CurrentPrincipal, payload).pipe(Effect.provide(exportsContext))
        return { id, status: "queued" as const }
      }),
    "Exports.Get": ({ id }) => Effect.flatMap(CurrentPrincipal, (p) => Effect.map(job(p, id), exportView)),
    "Exports.List": () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requirePermission(principal, "samples:read")
        return (yield* exportRepo.listOwn(ownerOf(principal)).pipe(Effect.orDie)).map(exportView)
      }),
    "Exports.Cancel": ({ id }) =>
      Effect.gen(function*() {
        const found = yield* job(yield* CurrentPrincipal, id)
        yield* exportRepo.requestCancel(found.id).pipe(Effect.orDie)
        const now = yield* exportRepo.get(found.id).pipe(Effect.orDie)
        return exportView(Option.getOrElse(now, () => found))
      }),
    "Exports.Progress": ({ id }) =>
      Stream.unwrap(Effect.gen(function*() {
        const first = yield* job(yield* CurrentPrincipal, id)
        // Each step emits the job as read, then (unless it is over) reads it again after a pause.
        return Stream.paginateEffect(first, (current) =>
          finished(current)
            ? Effect.succeed([current, Option.none<ExportJobRow>()] as const)
            : exportRepo.get(current.id).pipe(
              Effect.orDie,
              Effect.delay(PROGRESS_POLL),
              Effect.map((next) => [current, Option.some(Option.getOrElse(next, () => current))] as const)
            )).pipe(
            Stream.changesWith((a, b) => a.status === b.status && a.rowsDone === b.rowsDone && a.rowsTotal === b.rowsTotal),
            Stream.map(exportView)
          )
      })),
    "Notifications.List": ({ unreadOnly }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (principal._tag !== "User") return { unread: 0, items: [] }
        return yield* inApp.list(principal.id, { unreadOnly: unreadOnly === true, limit: 200 })
      }),
    "Notifications.UnreadCount": () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return { unread: principal._tag === "User" ? yield* inApp.unread(principal.id) : 0 }
      }),
    "Notifications.MarkRead": ({ id }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const marked = principal._tag === "User" && isUuid(id) ? yield* inApp.markRead(principal.id, id) : Option.none()
        if (Option.isNone(marked)) return yield* new NotificationNotFound({ notificationId: id.slice(0, 60) })
        return marked.value
      }),
    "Deliveries.ForSample": ({ sampleId }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const sample = yield* samples.get(sampleId)
        yield* requireSampleRead(principal, sample)
        const all = yield* deliveries.forSample(sampleId)
        const own = ownEmailOf(principal)
        // A submitter sees what was addressed to them (by e-mail or as their in-app notification), nothing else.
        const mine = own === undefined
          ? all
          : all.filter((d) => (d.channel !== "webhook" && d.recipient === own) || (principal._tag === "User" && d.userId === principal.id))
        return mine.map(deliveryView)
      }),
    "Webhooks.List": () => Effect.zipRight(manager, Effect.map(webhooks.list(), (all) => all.map(publicView))),
    "Webhooks.Create": ({ events, url }) =>
      Effect.gen(function*() {
        const principal = yield* manager
        const checked = validateWebhookUrl(url)
        if (Either.isLeft(checked)) return yield* new InvalidInput({ message: "invalid webhook", issues: [{ path: "url", message: checked.left.reason }] })
        const secret = generateSecret()
        const endpoint = yield* webhooks.create({ id: randomUUID(), url, events: [...new Set(events)], secret, createdBy: actorOf(principal) })
        return { id: endpoint.id, secret, endpoint: publicView(endpoint) }
      }),
    "Webhooks.Delete": ({ id }) =>
      Effect.gen(function*() {
        yield* manager
        if (!isUuid(id) || !(yield* webhooks.remove(id))) return yield* new WebhookNotFound({ webhookId: id.slice(0, 60) })
      }),
    "Webhooks.Deliveries": ({ id }) =>
      Effect.gen(function*() {
        yield* manager
        if (!isUuid(id) || Option.isNone(yield* webhooks.get(id))) return yield* new WebhookNotFound({ webhookId: id.slice(0, 60) })
        const sent = yield* deliveries.forEndpoint(id, 200)
        return { deliveries: sent.map(deliveryView), attempts: yield* webhooks.attempts(id, 1000) }
      }),
    "Webhooks.Replay": ({ deliveryId }) =>
      Effect.gen(function*() {
        yield* manager
        const current = isUuid(deliveryId) ? yield* deliveries.get(deliveryId) : Option.none()
        if (Option.isNone(current)) return yield* new DeliveryNotFound({ deliveryId: deliveryId.slice(0, 60) })
        const replayed = yield* deliveries.replay(deliveryId)
        if (Option.isNone(replayed)) return yield* new DeliveryNotReplayable({ deliveryId, status: current.value.status })
        yield* notifications(deliveryId).Deliver(new DeliverPayload({ generation: replayed.value.generation }), { discard: true }).pipe(Effect.orDie)
        return deliveryView(replayed.value)
      }),
    "Mail.Outbox": () =>
      Effect.gen(function*() {
        yield* requirePermission(yield* CurrentPrincipal, "admin")
        const entries = yield* outbox.list({ limit: 500 }).pipe(Effect.orDie)
        return entries.map((e) => ({ id: e.id, to: e.to, subject: e.subject, date: e.date, sizeBytes: e.size }))
      })
  })
}).pipe(Effect.provide(Layer.mergeAll(DeliveryRepo.Default, WebhookRepo.Default, InAppNotificationRepo.Default)))
