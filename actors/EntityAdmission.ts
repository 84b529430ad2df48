/**
 * Admission control for resident entities on this runner: an entity takes a place when it activates and gives it
 * back when it stops (passivated, or its shard left), so at most `maxResident` sample entities live in memory at
 * once. Activations and stops are counted, so "every entity this runner held has stopped" can be observed exactly.
 * Past the cap, an activation waits for an idle entity to be passivated: a backlog of persisted messages for many
 * distinct samples is then worked through at the pace of passivation instead of materialising every entity at once.
 */
import { Context, Effect, Layer, Metric, Scope } from "effect"

const resident = Metric.gauge("poretrack_resident_entities", { description: "Sample entities resident on this runner" })
const waiting = Metric.gauge("poretrack_entity_admissions_waiting", { description: "Entity activations waiting for a place" })
const activations = Metric.counter("poretrack_entity_activations_total", {
  description: "Sample entities activated on this runner (each activation loads the sample from its row)",
  incremental: true
})
const stops = Metric.counter("poretrack_entity_stops_total", {
  description: "Sample entities stopped on this runner: passivated when idle, or stopped because their shard left (lost lock, rebalance, shutdown)",
  incremental: true
})

export class EntityAdmission extends Context.Tag("poretrack/EntityAdmission")<EntityAdmission, {
  /** Takes a place for the current entity until its scope closes (passivation). */
  readonly admit: Effect.Effect<void, never, Scope.Scope>
}>() {
  /** At most `maxResident` entities at once. */
  static layer = (maxResident: number) =>
    Layer.effect(EntityAdmission, Effect.gen(function*() {
      const places = yield* Effect.makeSemaphore(maxResident)
      let inside = 0
      let queued = 0
      const release = places.release(1).pipe(
        Effect.zipRight(Effect.suspend(() => Metric.set(resident, --inside))),
        Effect.zipRight(Metric.increment(stops))
      )
      // Scope.addFinalizer, not acquireRelease: the latter keeps a copy of the activating fiber's FiberRefs in every
      // entity's scope until it stops (~6 KiB per resident entity in bench:memory).
      const admit = Effect.flatMap(Effect.scope, (scope) =>
        Effect.uninterruptible(
          Effect.suspend(() => {
            queued++
            return Metric.set(waiting, queued).pipe(
              Effect.zipRight(places.take(1)),
              Effect.ensuring(Effect.suspend(() => {
                queued--
                return Metric.set(waiting, queued)
              }))
            )
          }).pipe(
            Effect.zipRight(Effect.suspend(() => Metric.set(resident, ++inside))),
            Effect.zipRight(Metric.increment(activations)),
            Effect.zipRight(Scope.addFinalizer(scope, release))
          )
        ))
      return { admit }
    }))
}
