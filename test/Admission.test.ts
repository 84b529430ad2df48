/** Admission control: a runner keeps at most MAX_RESIDENT_ENTITIES sample entities in memory; more wait their turn. */
import { Sharding } from "@effect/cluster"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { Receive } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { TestSystem } from "./TestSystem.ts"

describe("admission control", () => {
  layer(TestSystem({ settings: { maxResidentEntities: 3, entityMaxIdle: Duration.millis(1500) } }), { excludeTestServices: true })((it) => {
    it.effect("past the cap, activations wait for idle entities to be passivated, and every command is answered", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const sharding = yield* Sharding.Sharding
        const { samples } = yield* api.createSubmission({
          submitterEmail: "ada@lab.example",
          source: "api",
          priority: "normal",
          flowCellType: "R10.4.1",
          samples: Array.from({ length: 5 }, (_, i) => ({ sampleName: `A-${i + 1}` }))
        }, "test")
        const ids = samples.map((s) => s.id)
        yield* Effect.forEach(ids.slice(0, 3), (id) => api.execute(id, new Receive(), undefined, "t"), { concurrency: 3 })
        expect(yield* sharding.activeEntityCount).toBe(3)

        const started = Date.now()
        const late = yield* Effect.fork(Effect.forEach(ids.slice(3), (id) => api.execute(id, new Receive(), undefined, "t"), { concurrency: 2 }))
        const results = yield* Fiber.join(late)
        // The two newcomers were admitted only once the first three had been idle for ENTITY_MAX_IDLE.
        expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
        expect(results.map((r) => r.sample.status)).toEqual(["in_progress", "in_progress"])
        expect(yield* sharding.activeEntityCount).toBeLessThanOrEqual(3)
      }))
  })
})
