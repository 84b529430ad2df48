/**
 * An entity's mailbox, made observable. @effect/cluster queues an entity's messages inside the runner where nothing
 * can count them, so the Sample entity takes its messages from the cluster as they arrive (cluster concurrency
 * unbounded) and processes them here one at a time, in arrival order: the number waiting or in progress, the time a
 * message waited for its turn, and the messages and replies by outcome become metrics.
 */
import { Effect, Exit, MetricBoundaries, MetricKey, type MetricLabel } from "effect"
import { memo } from "./memo.ts"
import { taggedMetric } from "./taggedMetric.ts"

const depth = MetricKey.gauge("poretrack_mailbox_messages", {
  description: "Messages in resident entities' mailboxes on this runner, waiting or being processed"
})
const wait = MetricKey.histogram(
  "poretrack_mailbox_wait_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 16 }),
  "How long a message waited in its entity's mailbox before being processed"
)
const received = MetricKey.counter("poretrack_entity_messages_total", {
  description: "Messages received by entities on this runner, by entity type and message",
  incremental: true
})
const replied = MetricKey.counter("poretrack_entity_replies_total", {
  description: "Replies from entities on this runner, by entity type, message and outcome (success, failure, defect, interrupted)",
  incremental: true
})

const outcomeOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isSuccess(exit) ? "success" : Exit.isInterrupted(exit) ? "interrupted" : exit.cause._tag === "Fail" ? "failure" : "defect"


/** The metric handles of one entity type, made once per label set (actors/taggedMetric.ts). */
const metricsOf = memo((entityType: string) => ({
  depth: taggedMetric(depth, ["entity_type", entityType]),
  wait: taggedMetric(wait, ["entity_type", entityType]),
  received: memo((message) => taggedMetric(received, ["entity_type", entityType], ["message", message])),
  replied: memo((message) => memo((outcome) => taggedMetric(replied, ["entity_type", entityType], ["message", message], ["outcome", outcome])))
}))

const NO_LABELS: ReadonlyArray<MetricLabel.MetricLabel> = []

/** A message waiting for its turn; `granted` once the turn was handed to it. */
interface Waiter {
  readonly resume: () => void
  granted: boolean
}

/**
 * A mailbox for one entity: `process(tag, effect)` runs `effect` when every earlier message is done; `idle` waits until
 * the message in progress and those waiting before it are done. A class, so that a resident entity's mailbox is two
 * fields: every resident entity holds one (Effect's semaphore keeps seven closures and its effects per instance).
 */
export class Mailbox {
  private busy = false
  private queue: Array<Waiter> | undefined = undefined
  private readonly metrics: ReturnType<typeof metricsOf>

  constructor(entityType: string) {
    this.metrics = metricsOf(entityType)
  }

  process<A, E, R>(tag: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    // One uninterruptible region and one exit handler, the metrics updated in place (with no fiber labels, as
    // HttpServer.ts does): 22 Effect operations per message instead of 67 with acquireUseRelease, a nested mask and
    // an Effect per metric update.
    const metrics = this.metrics
    return Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        metrics.depth.unsafeModify(1, NO_LABELS)
        metrics.received(tag).unsafeUpdate(1, NO_LABELS)
        const arrived = performance.now()
        // Whether this message holds the turn (then its end passes the turn on); a message interrupted while it waits
        // never held it, or was handed it and passed it on at once (`turn`).
        let holding = false
        return Effect.onExit(
          Effect.flatMap(restore(this.turn()), () => {
            holding = true
            metrics.wait.unsafeUpdate((performance.now() - arrived) / 1000, NO_LABELS)
            return restore(effect)
          }),
          (exit) =>
            Effect.sync(() => {
              if (holding) this.pass()
              metrics.replied(tag)(outcomeOf(exit)).unsafeUpdate(1, NO_LABELS)
              metrics.depth.unsafeModify(-1, NO_LABELS)
            })
        )
      })
    )
  }

  /** Waits for the messages before it, then for none. */
  get idle(): Effect.Effect<void> {
    return this.inTurn(Effect.void)
  }

  /** Runs `effect` in its turn; the turn passes on however it ends (a waiting message may be interrupted). */
  private inTurn<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.zipRight(
        restore(this.turn()),
        Effect.ensuring(restore(effect), Effect.sync(() => this.pass()))
      )
    )
  }

  private turn(): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (!this.busy) {
        this.busy = true
        resume(Effect.void)
        return
      }
      const waiter: Waiter = { resume: () => resume(Effect.void), granted: false }
      ;(this.queue ??= []).push(waiter)
      // Interrupted while waiting: out of the queue; interrupted as the turn was handed over: passed on.
      return Effect.sync(() => {
        if (waiter.granted) return this.pass()
        const at = this.queue?.indexOf(waiter) ?? -1
        if (at >= 0) this.queue?.splice(at, 1)
      })
    })
  }

  private pass(): void {
    const next = this.queue?.shift()
    if (next === undefined) {
      this.busy = false
      return
    }
    next.granted = true
    next.resume()
  }
}
