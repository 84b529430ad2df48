/**
 * An entity's mailbox, made observable. @effect/cluster queues an entity's messages inside the runner where nothing
 * can count them, so the Sample entity takes its messages from the cluster as they arrive (cluster concurrency
 * unbounded) and processes them here one at a time, in arrival order: the number waiting or in progress, the time a
 * message waited for its turn, and the messages and replies by outcome become metrics.
 */
import { Effect, Exit, Metric, MetricBoundaries } from "effect"

const depth = Metric.gauge("poretrack_mailbox_messages", {
  description: "Messages in resident entities' mailboxes on this runner, waiting or being processed"
})
const wait = Metric.histogram(
  "poretrack_mailbox_wait_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 16 }),
  "How long a message waited in its entity's mailbox before being processed"
)
const received = Metric.counter("poretrack_entity_messages_total", {
  description: "Messages received by entities on this runner, by entity type and message",
  incremental: true
})
const replied = Metric.counter("poretrack_entity_replies_total", {
  description: "Replies from entities on this runner, by entity type, message and outcome (success, failure, defect, interrupted)",
  incremental: true
})

const outcomeOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isSuccess(exit) ? "success" : Exit.isInterrupted(exit) ? "interrupted" : exit.cause._tag === "Fail" ? "failure" : "defect"

const memo = <A>(make: (key: string) => A) => {
  const cache = new Map<string, A>()
  return (key: string): A => {
    let value = cache.get(key)
    if (value === undefined) {
      value = make(key)
      cache.set(key, value)
    }
    return value
  }
}

/** The metric handles of one entity type (tagging builds a new metric key, so it is done once per label set). */
const metricsOf = memo((entityType: string) => ({
  depth: Metric.tagged(depth, "entity_type", entityType),
  wait: Metric.tagged(wait, "entity_type", entityType),
  received: memo((message) => Metric.tagged(Metric.tagged(received, "entity_type", entityType), "message", message)),
  replied: memo((message) =>
    memo((outcome) => Metric.tagged(Metric.tagged(Metric.tagged(replied, "entity_type", entityType), "message", message), "outcome", outcome))
  )
}))

/**
 * A mailbox for one entity: `process(tag, effect)` runs `effect` when every earlier message is done; `idle` waits until
 * the message in progress and those waiting before it are done.
 */
export const makeMailbox = (entityType: string) =>
  Effect.map(Effect.makeSemaphore(1), (turn) => {
    const metrics = metricsOf(entityType)
    const process = <A, E, R>(tag: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.acquireUseRelease(
        Metric.incrementBy(metrics.depth, 1).pipe(
          Effect.zipRight(Metric.update(metrics.received(tag), 1)),
          Effect.map(() => performance.now())
        ),
        (arrived) =>
          turn.withPermits(1)(Effect.suspend(() => Metric.update(metrics.wait, (performance.now() - arrived) / 1000)).pipe(Effect.zipRight(effect))).pipe(
            Effect.onExit((exit) => Metric.update(metrics.replied(tag)(outcomeOf(exit)), 1))
          ),
        () => Metric.incrementBy(metrics.depth, -1)
      )
    return { process, idle: turn.withPermits(1)(Effect.void) } as const
  })
