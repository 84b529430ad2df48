/**
 * The notification supervisor as a layer: the Notification entities (one per delivery) and their attempts, the
 * event-log consumer (a cluster Singleton), the shipped rules seeded, and the mailer (SMTP when SMTP_URL is set, else
 * the outbox folder). Runs where entities run (runner and all-in-one). The outbox folder is readable from every role
 * (admins list it).
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { Mailer } from "../actors/notify/Mailer.ts"
import { MailOutbox } from "../actors/notify/MailOutbox.ts"
import { NotificationConsumerLive, seedDefaultRules } from "../actors/notify/NotificationConsumer.ts"
import { DeliveryAttemptsLive, NotificationEntityLive } from "../actors/notify/NotificationEntity.ts"
import { DeliveryRepo } from "../persistence/DeliveryRepo.ts"
import { EventLog } from "../persistence/EventLog.ts"
import { ExportNoticeRepo } from "../persistence/ExportNoticeRepo.ts"
import { InAppNotificationRepo } from "../persistence/InAppNotificationRepo.ts"
import { NotificationRulesRepo } from "../persistence/NotificationRulesRepo.ts"
import { NotificationTemplateRepo } from "../persistence/NotificationTemplateRepo.ts"
import { WebhookRepo } from "../persistence/WebhookRepo.ts"
import { AppSettings } from "./AppSettings.ts"

/** The outbox folder (MAIL_OUTBOX_DIR, default ./data/outbox). */
export const MailOutboxLive = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) => MailOutbox.layer(s.notify.outboxDir))
).pipe(Layer.provide(NodeContext.layer))

/** SMTP_URL and MAIL_FROM; a malformed setting stops start-up with its name. */
const MailerLive = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) => Mailer.layer({ smtpUrl: Option.getOrUndefined(s.notify.smtpUrl), from: s.notify.mailFrom }))
)

const NotifyStorage = Layer.mergeAll(
  DeliveryRepo.Default,
  WebhookRepo.Default,
  InAppNotificationRepo.Default,
  NotificationTemplateRepo.Default,
  NotificationRulesRepo.Default,
  ExportNoticeRepo.Default,
  EventLog.Default
)

/** Entities, consumer and seeded rules. */
export const Notifier = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) => {
    const options = {
      render: { appUrl: s.notify.appUrl, facilityName: s.notify.facilityName },
      retryScale: s.notify.retryScale
    }
    return Layer.mergeAll(
      NotificationEntityLive(options),
      NotificationConsumerLive,
      Layer.effectDiscard(seedDefaultRules)
    ).pipe(Layer.provide(DeliveryAttemptsLive(options)))
  })
).pipe(Layer.provide(MailerLive), Layer.provide(NotifyStorage))
