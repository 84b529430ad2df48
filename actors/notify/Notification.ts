/**
 * The Notification entity's protocol: one entity per delivery id. `Deliver` starts (or, after a replay, restarts) a
 * delivery; `Retry` is the timer a delivery sends itself (held in PostgreSQL until `at`). Both are persisted and
 * de-duplicated by their primary key, so a consumer that hands the same delivery over twice starts it once.
 */
import { ClusterSchema, DeliverAt, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { DateTime, PrimaryKey, Schema } from "effect"

/** Start the delivery's `generation` (0 first, +1 per replay of a dead letter). */
export class DeliverPayload extends Schema.Class<DeliverPayload>("DeliverPayload")({ generation: Schema.Number }) {
  [PrimaryKey.symbol]() {
    return `deliver/${this.generation}`
  }
}

/** Make attempt `attempt` of `generation` at `at` (epoch ms). */
export class RetryPayload extends Schema.Class<RetryPayload>("RetryPayload")({
  generation: Schema.Number,
  attempt: Schema.Number,
  at: Schema.Number
}) {
  [PrimaryKey.symbol]() {
    return `retry/${this.generation}/${this.attempt}`
  }
  [DeliverAt.symbol]() {
    return DateTime.unsafeMake(this.at)
  }
}

export const Deliver = Rpc.make("Deliver", { payload: DeliverPayload }).annotate(ClusterSchema.Persisted, true)
export const Retry = Rpc.make("Retry", { payload: RetryPayload }).annotate(ClusterSchema.Persisted, true)

/** One entity per delivery id. */
export const Notification = Entity.make("Notification", [Deliver, Retry])
