/**
 * Superseded SLA timers are disarmed: a transition that moves or clears a sample's timer deletes the old wake before
 * it fires, so it never loads the sample; and a timer armed again at a time whose wake was already processed (the
 * cluster de-duplicates by primary key, also against processed messages) still fires.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule } from "effect"
import { defaultPolicy } from "../actors/WorkflowPolicy.ts"
import { Cancel, ChangePriority, CompleteStep, Hold, Receive, Resume } from "../rpc/Commands.ts"
import type { SampleId } from "../rpc/Ids.ts"
import type { SampleEvent } from "../rpc/Workflow.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { metricSum } from "./Client.ts"
import { query } from "./TestDatabase.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"
import { collectUntil, STEP_RECORDS } from "./Walk.ts"



const isSla = (type: string, scope: string) => (e: SampleEvent) => e.type === type && (e.data as { scope: string }).scope === scope

/** The sample's wakes in the cluster's message table. */
const wakes = (databaseUrl: string, id: string) =>
  Effect.promise(() =>
    query<{ deliver_at: string; processed: boolean }>(
      databaseUrl,
      "SELECT deliver_at::text, processed FROM cluster_messages WHERE entity_type = 'Sample' AND entity_id = $1 AND tag = 'Wake' ORDER BY deliver_at",
      [id]
    )
  )

describe("superseded SLA timers", () => {
  // Sample QC is due 12 s after it is queued (at risk at 9.6 s), library prep 16 s (at risk at 12.8 s). Idle entities
  // are passivated after 1 s, on the cluster's reaper tick (every 5 s): all of them are passivated before 9.6 s.
  const slow = {
    ...defaultPolicy,
    expectedMs: { ...defaultPolicy.expectedMs, sample_qc: 12_000, library_prep: 16_000 }
  }
  layer(TestSystem({ policy: slow, settings: { entityMaxIdle: Duration.seconds(1) } }), { excludeTestServices: true })((it) => {
    it.scoped("completion, cancel, hold and a later threshold delete the old wake: it never fires nor loads the sample", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const metric = (name: string, labels = "") => Effect.promise(() => metricSum(baseUrl, name, labels))
        const { samples } = yield* submitSamples(4, { prefix: "timed" })
        const [held, cancelled, moved, completed] = samples.map((s) => s.id) as [SampleId, SampleId, SampleId, SampleId]
        const stopsBefore = yield* metric("poretrack_entity_stops_total")
        // Each is received (arming sample QC's at-risk timer at 9.6 s), then leaves that timer behind.
        for (const id of samples.map((s) => s.id)) yield* api.execute(id, new Receive(), undefined, "t")
        yield* api.execute(held, new Hold({ reason: "waiting for the submitter" }), undefined, "t")
        yield* api.execute(cancelled, new Cancel({ reason: "withdrawn" }), undefined, "t")
        // Library prep's later threshold replaces sample QC's.
        const next = yield* api.execute(moved, new CompleteStep({ record: STEP_RECORDS[0]! }), undefined, "t")
        let last = next
        for (const record of STEP_RECORDS) last = yield* api.execute(completed, new CompleteStep({ record }), undefined, "t")
        expect(last.sample.status).toBe("completed")

        // Nothing left armed but the moved sample's new timer (library prep at risk, 12.8 s after its queueing).
        for (const id of [held, cancelled, completed]) expect(yield* wakes(databaseUrl, id)).toEqual([])
        const armed = yield* wakes(databaseUrl, moved)
        expect(armed).toHaveLength(1)
        expect(armed[0]!.processed).toBe(false)
        // Library prep is due 16 s after it was queued, at risk 3.2 s before.
        expect(Number(armed[0]!.deliver_at)).toBe(Date.parse(next.sample.sla.stepDueAt!) - 3_200)

        // Wait (a latch on the metric, no sleeping) until the four entities are passivated.
        yield* metric("poretrack_entity_stops_total").pipe(
          Effect.repeat({ schedule: Schedule.spaced(Duration.millis(100)), until: (n) => n >= stopsBefore + 4 }),
          Effect.timeout(Duration.seconds(20))
        )
        const activationsBefore = yield* metric("poretrack_entity_activations_total")
        const wakesBefore = yield* metric("poretrack_entity_replies_total", 'message="Wake"')
        // The moved sample's own timer, due after every superseded one (9.6 s and 12 s), is the latch.
        const fiber = yield* collectUntil(moved, (seen) => seen.some(isSla("SlaAtRisk", "step")))
        const events = yield* Fiber.join(fiber)
        expect((events.find(isSla("SlaAtRisk", "step"))!.data as { step: string }).step).toBe("library_prep")
        // One activation and one timer delivered in the meantime: that latch's. A superseded timer firing would have
        // loaded its passivated sample again. The timer's reply is counted as its mailbox lets it go, which can be just
        // after its event reached the live feed: waited for (a latch on the metric), then counted exactly.
        expect((yield* metric("poretrack_entity_activations_total")) - activationsBefore).toBe(1)
        yield* metric("poretrack_entity_replies_total", 'message="Wake"').pipe(
          Effect.repeat({ schedule: Schedule.spaced(Duration.millis(20)), until: (n) => n > wakesBefore }),
          Effect.timeout(Duration.seconds(10))
        )
        expect((yield* metric("poretrack_entity_replies_total", 'message="Wake"')) - wakesBefore).toBe(1)
        for (const id of [held, cancelled, completed]) expect(yield* wakes(databaseUrl, id)).toEqual([])
        const rows = yield* Effect.promise(() =>
          query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE sample_id = ANY($1) AND type LIKE 'Sla%'", [[held, cancelled, completed]])
        )
        expect(rows[0]!.n).toBe(0)
      }))
  })

  // Sample QC is due 6 s after it is queued (at risk at 4.8 s): the hold must come before that timer, and a loaded
  // machine can take more than a second between two commands.
  const unhurried = { ...defaultPolicy, expectedMs: { ...defaultPolicy.expectedMs, sample_qc: 6_000 } }
  layer(TestSystem({ policy: unhurried }), { excludeTestServices: true })((it) => {
    it.scoped("hold deletes the armed wake; resume arms it again and it fires: at risk and breached raised once each", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(1, { prefix: "held" })
        const id = samples[0]!.id
        const fiber = yield* collectUntil(id, (seen) => seen.some(isSla("SlaBreached", "step")))
        yield* Effect.yieldNow()
        const received = yield* api.execute(id, new Receive(), undefined, "t")
        expect(yield* wakes(databaseUrl, id)).toHaveLength(1)
        yield* api.execute(id, new Hold({ reason: "short hold" }), undefined, "t")
        expect(yield* wakes(databaseUrl, id)).toEqual([])
        const resumed = yield* api.execute(id, new Resume({}), undefined, "t")
        const events = yield* Fiber.join(fiber)
        const heldMs = (events.find((e) => e.type === "SampleResumed")!.data as { heldMs: number }).heldMs
        const sla = events.filter((e) => e.type === "SlaAtRisk" || e.type === "SlaBreached")
        expect(sla.map((e) => e.type)).toEqual(["SlaAtRisk", "SlaBreached"])
        const receivedAt = Date.parse(received.sample.receivedAt!)
        expect(Date.parse((sla[0]!.data as { thresholdAt: string }).thresholdAt)).toBe(receivedAt + 4_800 + heldMs)
        expect(resumed.sample.version).toBeLessThan(sla[0]!.version)
        const rows = yield* Effect.promise(() =>
          query<{ type: string; n: number }>(databaseUrl, "SELECT type, count(*)::int AS n FROM sample_events WHERE sample_id = $1 AND type LIKE 'Sla%' GROUP BY type ORDER BY type", [id])
        )
        expect(rows).toEqual([{ type: "SlaAtRisk", n: 1 }, { type: "SlaBreached", n: 1 }])
      }))
  })

  // Sample QC is due 1.5 s after it is queued (at risk at 1.2 s); an urgent turnaround is due 0.9 s after receipt (at
  // risk at 0.72 s), a high one in an hour.
  const fast = {
    ...defaultPolicy,
    expectedMs: { ...defaultPolicy.expectedMs, sample_qc: 1_500 },
    turnaround: { ...defaultPolicy.turnaround, urgent: { hours: 0.00025 }, high: { hours: 1 } }
  }
  layer(TestSystem({ policy: fast }), { excludeTestServices: true })((it) => {
    it.scoped("a timer armed again at the time of one already processed fires (priority changed and back)", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const created = yield* api.createSubmission({
          submitterEmail: "ada@lab.example",
          source: "api",
          priority: "urgent",
          flowCellType: "R10.4.1",
          samples: [{ sampleName: "rushed", libraryKit: "SQK-LSK114" }]
        }, "test")
        const id = created.samples[0]!.id
        // Until every clock has breached: no timer is left armed that could raise the thresholds below by the way.
        const first = yield* collectUntil(id, (seen) => seen.some(isSla("SlaBreached", "turnaround")) && seen.some(isSla("SlaBreached", "step")))
        yield* Effect.yieldNow()
        const received = yield* api.execute(id, new Receive(), undefined, "t")
        const firstEvents = yield* Fiber.join(first)
        const atRiskAt = Date.parse(received.sample.receivedAt!) + 720
        // The urgent turnaround's at-risk wake was the first armed, and it has been processed.
        expect((yield* wakes(databaseUrl, id)).filter((w) => Number(w.deliver_at) === atRiskAt)).toEqual([
          { deliver_at: String(atRiskAt), processed: true }
        ])
        // A new commitment and back: the urgent clock returns with the same due time, and its thresholds are raised
        // afresh, so the timer is armed again at the same (past) time.
        const second = yield* collectUntil(id, (seen) => seen.some(isSla("SlaBreached", "turnaround")))
        yield* Effect.yieldNow()
        yield* api.execute(id, new ChangePriority({ priority: "high" }), undefined, "t")
        yield* api.execute(id, new ChangePriority({ priority: "urgent" }), undefined, "t")
        const secondEvents = yield* Fiber.join(second)
        const dueOf = (events: ReadonlyArray<SampleEvent>) => (events.find(isSla("SlaBreached", "turnaround"))!.data as { dueAt: string }).dueAt
        expect(dueOf(secondEvents)).toBe(dueOf(firstEvents))
        expect(secondEvents.filter(isSla("SlaAtRisk", "turnaround"))).toHaveLength(1)
        // The re-armed wake is a second row (not dropped as a duplicate), and it is delivered: its processed mark is
        // written after the handler's commit, so it is read until set (bounded), not at the moment the event shows.
        const atRiskWakes = Effect.map(wakes(databaseUrl, id), (ws) => ws.filter((w) => Number(w.deliver_at) === atRiskAt))
        yield* atRiskWakes.pipe(
          Effect.filterOrFail((ws) => ws.length === 2 && ws.every((w) => w.processed)),
          Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 150 }),
          Effect.ignore
        )
        expect(yield* atRiskWakes).toEqual([
          { deliver_at: String(atRiskAt), processed: true },
          { deliver_at: String(atRiskAt), processed: true }
        ])
        const rows = yield* Effect.promise(() =>
          query<{ type: string; n: number }>(databaseUrl, "SELECT type, count(*)::int AS n FROM sample_events WHERE sample_id = $1 AND type LIKE 'Sla%' AND data->>'scope' = 'turnaround' GROUP BY type ORDER BY type", [id])
        )
        expect(rows).toEqual([{ type: "SlaAtRisk", n: 2 }, { type: "SlaBreached", n: 2 }])
      }))
  })
})
