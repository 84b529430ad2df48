/**
 * Webhook endpoints and the history of every attempt. The secret is stored because it signs every delivery; it is
 * returned by `create` only, never listed.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import type { WebhookAttemptView, WebhookEndpointView } from "../rpc/NotificationsApi.ts"
import type { EventType } from "../rpc/Workflow.ts"

interface EndpointRow {
  readonly id: string
  readonly url: string
  readonly events: ReadonlyArray<string>
  readonly secret: string
  readonly enabled: boolean
  readonly disabled_reason: string | null
  readonly created_by: string
  readonly created_at: Date
}

/** An endpoint with its secret, as the deliverer needs it. */
export interface StoredEndpoint extends WebhookEndpointView {
  readonly secret: string
}

const toEndpoint = (r: EndpointRow): StoredEndpoint => ({
  id: r.id,
  url: r.url,
  events: r.events as ReadonlyArray<EventType>,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  secret: r.secret
})

/** Without the secret. */
export const publicView = ({ secret: _secret, ...view }: StoredEndpoint): WebhookEndpointView => view

/** One attempt to record. */
export interface AttemptRecord {
  readonly deliveryId: string
  readonly endpointId: string
  readonly attempt: number
  readonly at: number
  readonly latencyMs: number
  readonly status: number | null
  readonly outcome: string
  readonly error: string | null
}

/** Stores webhook endpoints and attempts. */
export class WebhookRepo extends Effect.Service<WebhookRepo>()("poretrack/WebhookRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const create = Effect.fn("WebhookRepo.create")(function*(e: { readonly id: string; readonly url: string; readonly events: ReadonlyArray<string>; readonly secret: string; readonly createdBy: string }) {
      const rows = yield* sql<EndpointRow>`
        INSERT INTO webhook_endpoints (id, url, events, secret, created_by)
        VALUES (${e.id}, ${e.url}, ${e.events}::text[], ${e.secret}, ${e.createdBy}) RETURNING id, url, events, secret, enabled, disabled_reason, created_by, created_at`.pipe(Effect.orDie)
      return toEndpoint(rows[0]!)
    })

    const list = Effect.fn("WebhookRepo.list")(function*() {
      const rows = yield* sql<EndpointRow>`SELECT id, url, events, secret, enabled, disabled_reason, created_by, created_at FROM webhook_endpoints ORDER BY created_at, id`.pipe(Effect.orDie)
      return rows.map(toEndpoint)
    })

    const get = Effect.fn("WebhookRepo.get")(function*(id: string) {
      const rows = yield* sql<EndpointRow>`SELECT id, url, events, secret, enabled, disabled_reason, created_by, created_at FROM webhook_endpoints WHERE id = ${id}`.pipe(Effect.orDie)
      return Option.map(Option.fromNullable(rows[0]), toEndpoint)
    })

    /** Deletes the endpoint and its attempt history; true when it existed. */
    const remove = Effect.fn("WebhookRepo.remove")(function*(id: string) {
      const rows = yield* sql<{ id: string }>`DELETE FROM webhook_endpoints WHERE id = ${id} RETURNING id`.pipe(Effect.orDie)
      yield* sql`DELETE FROM webhook_attempts WHERE endpoint_id = ${id}`.pipe(Effect.orDie)
      return rows.length > 0
    })

    const disable = Effect.fn("WebhookRepo.disable")(function*(id: string, reason: string) {
      yield* sql`UPDATE webhook_endpoints SET enabled = false, disabled_reason = ${reason} WHERE id = ${id}`.pipe(Effect.orDie)
    })

    const recordAttempt = Effect.fn("WebhookRepo.recordAttempt")(function*(a: AttemptRecord) {
      yield* sql`
        INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempt, at, latency_ms, http_status, outcome, error)
        VALUES (${a.deliveryId}, ${a.endpointId}, ${a.attempt}, ${new Date(a.at)}, ${a.latencyMs}, ${a.status}, ${a.outcome}, ${a.error})`.pipe(Effect.orDie)
    })

    /** An endpoint's attempts, newest first (at most `limit`). */
    const attempts = Effect.fn("WebhookRepo.attempts")(function*(endpointId: string, limit: number) {
      const rows = yield* sql<{ delivery_id: string; event_id: string; event_type: string; attempt: number; at: Date; latency_ms: number; http_status: number | null; outcome: string; error: string | null }>`
        SELECT a.delivery_id, d.event_id, d.event_type, a.attempt, a.at, a.latency_ms, a.http_status, a.outcome, a.error
        FROM webhook_attempts a JOIN notification_deliveries d ON d.id = a.delivery_id
        WHERE a.endpoint_id = ${endpointId} ORDER BY a.id DESC LIMIT ${limit}`.pipe(Effect.orDie)
      return rows.map((r): WebhookAttemptView => ({
        deliveryId: r.delivery_id,
        eventId: r.event_id,
        eventType: r.event_type,
        attempt: r.attempt,
        at: r.at.toISOString(),
        latencyMs: Number(r.latency_ms),
        httpStatus: r.http_status,
        outcome: r.outcome,
        error: r.error
      }))
    })

    return { create, list, get, remove, disable, recordAttempt, attempts } as const
  })
}) {}
