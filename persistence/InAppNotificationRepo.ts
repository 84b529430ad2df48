/** In-app notifications: written once per in-app delivery, read and marked read by their own user only. */
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import type { InAppNotificationView } from "../rpc/NotificationsApi.ts"

interface Row {
  readonly id: string
  readonly title: string
  readonly body: string
  readonly sample_id: string | null
  readonly event_type: string
  readonly created_at: Date
  readonly read_at: Date | null
}

const toView = (r: Row): InAppNotificationView => ({
  id: r.id,
  title: r.title,
  body: r.body,
  sampleId: r.sample_id,
  eventType: r.event_type,
  createdAt: r.created_at.toISOString(),
  readAt: r.read_at === null ? null : r.read_at.toISOString()
})

/** Stores and reads in-app notifications. */
export class InAppNotificationRepo extends Effect.Service<InAppNotificationRepo>()("poretrack/InAppNotificationRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** Writes the notification of one delivery; a repeat (same delivery) writes nothing. */
    const insert = Effect.fn("InAppNotificationRepo.insert")(function*(n: {
      readonly id: string
      readonly deliveryId: string
      readonly userId: string
      readonly title: string
      readonly body: string
      readonly sampleId: string | null
      readonly eventType: string
    }) {
      yield* sql`
        INSERT INTO inapp_notifications (id, delivery_id, user_id, title, body, sample_id, event_type)
        VALUES (${n.id}, ${n.deliveryId}, ${n.userId}, ${n.title}, ${n.body}, ${n.sampleId}, ${n.eventType})
        ON CONFLICT (delivery_id) DO NOTHING`.pipe(Effect.orDie)
    })

    /** A user's notifications, newest first, and the unread count. */
    const list = Effect.fn("InAppNotificationRepo.list")(function*(userId: string, options: { readonly unreadOnly: boolean; readonly limit: number }) {
      const rows = yield* (options.unreadOnly
        ? sql<Row>`SELECT id, title, body, sample_id, event_type, created_at, read_at FROM inapp_notifications
            WHERE user_id = ${userId} AND read_at IS NULL ORDER BY created_at DESC, id LIMIT ${options.limit}`
        : sql<Row>`SELECT id, title, body, sample_id, event_type, created_at, read_at FROM inapp_notifications
            WHERE user_id = ${userId} ORDER BY created_at DESC, id LIMIT ${options.limit}`).pipe(Effect.orDie)
      return { unread: yield* unread(userId), items: rows.map(toView) }
    })

    const unread = Effect.fn("InAppNotificationRepo.unread")(function*(userId: string) {
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM inapp_notifications WHERE user_id = ${userId} AND read_at IS NULL`.pipe(Effect.orDie)
      return rows[0]?.n ?? 0
    })

    /** Marks one of `userId`'s notifications read (kept at its first reading); none when it is not theirs. */
    const markRead = Effect.fn("InAppNotificationRepo.markRead")(function*(userId: string, id: string) {
      const rows = yield* sql<Row>`
        UPDATE inapp_notifications SET read_at = COALESCE(read_at, now())
        WHERE id = ${id} AND user_id = ${userId}
        RETURNING id, title, body, sample_id, event_type, created_at, read_at`.pipe(Effect.orDie)
      return Option.map(Option.fromNullable(rows[0]), toView)
    })

    return { insert, list, unread, markRead } as const
  })
}) {}
