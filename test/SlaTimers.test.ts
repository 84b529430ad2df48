/**
 * SLA timers are persisted messages the sample sends itself: they fire at or after their threshold, raise each event
 * once, and follow the workflow (a moved-on step's timer does nothing).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { defaultPolicy } from "../actors/WorkflowPolicy.ts"
import { CompleteStep, Hold, Receive } from "../rpc/Commands.ts"
import type { SampleEvent } from "../rpc/Workflow.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { metricSum } from "./Client.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"
import { collectUntil as collectLive } from "./Walk.ts"

// Sample QC is due 1.5 s after it is queued: at risk at 1.2 s, breached at 1.5 s. Library prep is due in 3 s.
const policy = {
  ...defaultPolicy,
  expectedMs: { ...defaultPolicy.expectedMs, sample_qc: 1_500, library_prep: 3_000 }
}

// For the tests that must act between the receipt and sample QC's first timer: at risk at 4.8 s, breached at 6 s (a
// loaded machine can take more than 1.2 s between two commands). Library prep is still due in 3 s.
const unhurried = {
  ...defaultPolicy,
  expectedMs: { ...defaultPolicy.expectedMs, sample_qc: 6_000, library_prep: 3_000 }
}

const newSample = Effect.flatMap(SampleApi, (api) =>
  api.createSubmission({
    submitterEmail: "ada@lab.example",
    source: "api",
    priority: "urgent",
    flowCellType: "R10.4.1",
    samples: [{ sampleName: "timed", libraryKit: "SQK-LSK114" }]
  }, "test")).pipe(Effect.map((c) => c.samples[0]!.id))

const collectUntil = (sampleId: string, done: (seen: ReadonlyArray<SampleEvent>) => boolean) => collectLive(sampleId, done, "20 seconds")

describe("SLA timers", () => {
  layer(TestSystem({ policy }), { excludeTestServices: true })((it) => {
    it.scoped("at risk at 80 % and breached at 100 %, each raised once, never early", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const id = yield* newSample
        const fiber = yield* collectUntil(id, (seen) => seen.some((e) => e.type === "SlaBreached" && (e.data as { scope: string }).scope === "step"))
        yield* Effect.yieldNow()
        const received = yield* api.execute(id, new Receive(), undefined, "t")
        const receivedAt = Date.parse(received.sample.receivedAt!)
        const events = yield* Fiber.join(fiber)
        const sla = events.filter((e) => e.type === "SlaAtRisk" || e.type === "SlaBreached")
        expect(sla.map((e) => e.type)).toEqual(["SlaAtRisk", "SlaBreached"])
        for (const e of sla) {
          const data = e.data as { thresholdAt: string; dueAt: string; scope: string; step: string }
          expect(data.scope).toBe("step")
          expect(data.step).toBe("sample_qc")
          expect(Date.parse(e.at)).toBeGreaterThanOrEqual(Date.parse(data.thresholdAt))
        }
        expect(Date.parse(sla[0]!.at)).toBeGreaterThanOrEqual(receivedAt + 1_200)
        expect(Date.parse(sla[1]!.at)).toBeGreaterThanOrEqual(receivedAt + 1_500)
        const rows = yield* Effect.promise(() =>
          query<{ type: string; n: number }>(databaseUrl, "SELECT type, count(*)::int AS n FROM sample_events WHERE sample_id = $1 AND type LIKE 'Sla%' GROUP BY type ORDER BY type", [id])
        )
        expect(rows).toEqual([{ type: "SlaAtRisk", n: 1 }, { type: "SlaBreached", n: 1 }])
        const view = yield* api.get(id)
        expect(view.sla.status).toBe("breached")
      }))
  })

  layer(TestSystem({ policy: unhurried }), { excludeTestServices: true })((it) => {
    it.scoped("a timer whose write is fenced by another writer checks again from the row: raised once, no restart", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const metric = (name: string, labels = "") => Effect.promise(() => metricSum(baseUrl, name, labels))
        const id = yield* newSample
        const fiber = yield* collectUntil(id, (seen) => seen.some((e) => e.type === "SlaAtRisk"))
        yield* Effect.yieldNow()
        const fencedBefore = yield* metric("poretrack_fencing_failures_total")
        const received = yield* api.execute(id, new Receive(), undefined, "t")
        // Another writer moves the row on behind the entity's back before the at-risk timer (4.8 s) fires: the timer's
        // commit, from the entity's copy at version 2, meets the fence.
        yield* Effect.promise(() =>
          query(databaseUrl, "UPDATE samples SET version = version + 1, state = jsonb_set(state, '{version}', to_jsonb(version + 1)) WHERE id = $1", [id])
        )
        const events = yield* Fiber.join(fiber)
        const atRisk = events.filter((e) => e.type === "SlaAtRisk")
        expect(atRisk).toHaveLength(1)
        // Written on top of the other writer's version, after the entity reloaded the row.
        expect(atRisk[0]!.version).toBe(received.sample.version + 2)
        expect(yield* metric("poretrack_fencing_failures_total")).toBe(fencedBefore + 1)
        // Handled as a typed, retried refusal: the timer never ended in a defect (which restarts the entity).
        expect(yield* metric("poretrack_entity_replies_total", 'message="Wake",outcome="defect"')).toBe(0)
        // The entity carries on from the row: the next command is accepted at the next version. (On a loaded machine
        // the breach timer, 1.2 s after the at-risk one, may fire before the hold.)
        const held = yield* api.execute(id, new Hold({ reason: "after the fence" }), undefined, "t")
        const log = yield* Effect.promise(() =>
          query<{ type: string; version: number }>(
            databaseUrl,
            "SELECT type, version FROM sample_events WHERE sample_id = $1 AND version > $2 AND type <> 'NotificationTriggered' ORDER BY seq",
            [id, received.sample.version]
          )
        )
        // At risk once, on top of the other writer's version; the breach, when it came first, in the same transition
        // or the next; then the hold, at the next version after the last of them.
        expect(log[0]).toEqual({ type: "SlaAtRisk", version: received.sample.version + 2 })
        const timers = log.slice(0, -1)
        expect(timers.map((e) => e.type)).toEqual(["SlaAtRisk", "SlaBreached"].slice(0, timers.length))
        expect(log.at(-1)).toEqual({ type: "SampleOnHold", version: held.sample.version })
        expect(held.sample.version).toBe(Math.max(...timers.map((e) => e.version)) + 1)
      }))

    it.scoped("a step completed in time never raises its timers; the next step gets its own clock", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const id = yield* newSample
        // The library-prep clock (3 s) raises at risk at 2.4 s; sample QC's timers (4.8 s, 6 s) must stay silent.
        const fiber = yield* collectUntil(id, (seen) => seen.some((e) => e.type === "SlaAtRisk"))
        yield* Effect.yieldNow()
        yield* api.execute(id, new Receive(), undefined, "t")
        yield* api.execute(id, new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } }), undefined, "t")
        const events = yield* Fiber.join(fiber)
        const atRisk = events.filter((e) => e.type === "SlaAtRisk")
        expect(atRisk).toHaveLength(1)
        expect((atRisk[0]!.data as { step: string }).step).toBe("library_prep")
        const rows = yield* Effect.promise(() =>
          query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE sample_id = $1 AND data->>'step' = 'sample_qc' AND type LIKE 'Sla%'", [id])
        )
        expect(rows[0]!.n).toBe(0)
      }))
  })
})
