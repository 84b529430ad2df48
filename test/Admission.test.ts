/** Admission control: a runner keeps at most MAX_RESIDENT_ENTITIES sample entities in memory; more wait their turn. */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, Schedule } from "effect"
import { Receive } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { metricSum } from "./Client.ts"
import { holdingEveryShard, TestEndpoint, TestSystem } from "./TestSystem.ts"

describe("admission control", () => {
  layer(TestSystem({ settings: { maxResidentEntities: 3, entityMaxIdle: Duration.millis(1500) } }), { excludeTestServices: true })((it) => {
    it.effect("past the cap, activations wait for idle entities to be passivated, and every command is answered", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { baseUrl } = yield* TestEndpoint
        const metric = (name: string) => Effect.promise(() => metricSum(baseUrl, name))
        yield* holdingEveryShard
        const { samples } = yield* api.createSubmission({
          submitterEmail: "ada@lab.example",
          source: "api",
          priority: "normal",
          flowCellType: "R10.4.1",
          samples: Array.from({ length: 5 }, (_, i) => ({ sampleName: `A-${i + 1}` }))
        }, "test")
        const ids = samples.map((s) => s.id)
        // Created here, the first three are made resident at once; past the cap the rest are left to load later (the
        // creation never waits for a place).
        expect(yield* metric("poretrack_entity_seeded_total")).toBe(3)
        expect(yield* metric("poretrack_resident_entities")).toBe(3)
        yield* Effect.forEach(ids.slice(0, 3), (id) => api.execute(id, new Receive(), undefined, "t"), { concurrency: 3 })
        // Sample entities only: the cluster's own count also takes in the notifier's entity delivering the receipt e-mails.
        expect(yield* metric("poretrack_resident_entities")).toBe(3)
        expect(yield* metric("poretrack_entity_stops_total")).toBe(0)

        const late = yield* Effect.fork(Effect.forEach(ids.slice(3), (id) => api.execute(id, new Receive(), undefined, "t"), { concurrency: 2 }))
        // Both newcomers wait for a place (a state read off the gauge, polled until it holds) and are not answered yet.
        yield* metric("poretrack_entity_admissions_waiting").pipe(
          Effect.filterOrFail((n) => n === 2, () => "not waiting yet"),
          Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(10))))
        )
        expect(Option.isNone(yield* Fiber.poll(late))).toBe(true)
        expect(yield* metric("poretrack_resident_entities")).toBe(3)

        const results = yield* Fiber.join(late)
        expect(results.map((r) => r.sample.status)).toEqual(["in_progress", "in_progress"])
        // They were admitted only after idle entities were passivated: two stops made the two places.
        expect(yield* metric("poretrack_entity_stops_total")).toBeGreaterThanOrEqual(2)
        expect(yield* metric("poretrack_entity_admissions_waiting")).toBe(0)
        expect(yield* metric("poretrack_resident_entities")).toBeLessThanOrEqual(3)
      }))
  })
})
