/** The Sample actor over real PostgreSQL: durable writes, idempotency, refusals, the version fence. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either, Exit } from "effect"
import { CompleteStep, Hold, Receive, Resume, StartStep } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, submitSamples, TestSystem } from "./TestSystem.ts"

const submit = (n = 1) => submitSamples(n)

const qc = new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } })

describe("Sample entity on PostgreSQL", () => {
  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.effect("an accepted command is one durable transition: state, event and idempotency record", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        const result = yield* api.execute(id, new Receive(), "receive-1", "tech@facility")
        expect(result.sample.status).toBe("in_progress")
        expect(result.sample.currentStep).toBe("sample_qc")
        expect(result.sample.version).toBe(2)
        const rows = yield* Effect.promise(() => query(databaseUrl, "SELECT status, current_step, version FROM samples WHERE id = $1", [id]))
        expect(rows).toEqual([{ status: "in_progress", current_step: "sample_qc", version: 2 }])
        const events = yield* api.events(id)
        expect(events.map((e) => [e.type, e.version, e.actor])).toEqual([
          ["SampleCreated", 1, "test"],
          ["SampleReceived", 2, "tech@facility"]
        ])
      }))

    it.effect("a repeated idempotency key returns the first result and writes nothing", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        yield* api.execute(id, new Receive(), "r", "t")
        const first = yield* api.execute(id, qc, "qc-1", "t")
        const again = yield* api.execute(id, qc, "qc-1", "t")
        expect(first.replayed).toBe(false)
        expect(again.replayed).toBe(true)
        expect(again.sample).toEqual(first.sample)
        expect(again.events).toEqual(first.events)
        const count = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE sample_id = $1", [id]))
        expect(count[0]!.n).toBe(3)
        const reused = yield* api.execute(id, new Hold({ reason: "x" }), "qc-1", "t").pipe(Effect.either)
        expect(Either.isLeft(reused) && reused.left._tag).toBe("IdempotencyKeyReused")
      }))

    it.effect("a refused command writes nothing and names the state and the allowed commands", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        const refused = yield* api.execute(id, new StartStep({ step: "sample_qc" }), undefined, "t").pipe(Effect.either)
        expect(Either.isLeft(refused)).toBe(true)
        if (Either.isLeft(refused) && refused.left._tag === "StepTransitionRefused") {
          expect(refused.left.status).toBe("submitted")
          expect(refused.left.allowed).toContain("Receive")
          expect(refused.left.allowed).not.toContain("StartStep")
        } else {
          expect.fail("expected StepTransitionRefused")
        }
        const rows = yield* Effect.promise(() => query(databaseUrl, "SELECT version FROM samples WHERE id = $1", [id]))
        expect(rows).toEqual([{ version: 1 }])
        const commands = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM sample_commands WHERE sample_id = $1", [id]))
        expect(commands[0]!.n).toBe(0)
      }))

    it.effect("a write behind a stale version is fenced off and the entity recovers from the row", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        yield* api.execute(id, new Receive(), undefined, "t")
        // Another writer moves the row on behind the entity's back (what a stale owner would meet).
        yield* Effect.promise(() => query(databaseUrl, "UPDATE samples SET version = version + 1, state = jsonb_set(state, '{version}', to_jsonb(version + 1)) WHERE id = $1", [id]))
        const fenced = yield* api.execute(id, new Hold({ reason: "fence" }), "h1", "t").pipe(Effect.exit)
        expect(Exit.isFailure(fenced)).toBe(true)
        expect(JSON.stringify(fenced)).toContain("SampleBusy")
        const held = yield* api.execute(id, new Hold({ reason: "fence" }), "h2", "t")
        expect(held.sample.status).toBe("on_hold")
        expect(held.sample.version).toBe(4)
        const resumed = yield* api.execute(id, new Resume(), "h3", "t")
        expect(resumed.sample.status).toBe("in_progress")
      }))

    it.effect("an unknown sample is SampleNotFound", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const missing = yield* api.execute("00000000-0000-4000-8000-000000000000" as never, new Receive(), undefined, "t").pipe(Effect.either)
        expect(Either.isLeft(missing) && missing.left._tag).toBe("SampleNotFound")
      }))
  })
})
