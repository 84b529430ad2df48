/** The local-entity path: a resident sample's commands skip the cluster's message path, and it follows the entity's life. */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Metric } from "effect"
import { LocalSamples } from "../actors/LocalSamples.ts"
import { CompleteStep, Receive, StartStep } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

/** Messages Sample entities on this runner took from their mailboxes (whichever path brought them). */
const mailboxMessages = Metric.snapshot.pipe(Effect.map((pairs) =>
  pairs
    .filter((p) => p.metricKey.name === "poretrack_entity_messages_total" && p.metricKey.tags.some((t) => t.key === "entity_type" && t.value === "Sample"))
    .reduce((n, p) => n + ("count" in p.metricState && typeof p.metricState.count === "number" ? p.metricState.count : 0), 0)
))

describe("local-entity path", () => {
  layer(TestSystem({ settings: { entityMaxIdle: Duration.seconds(1) } }), { excludeTestServices: true })((it) => {
    it.effect("commands to a resident sample go straight to its mailbox, in order; once passivated, the next one activates it again", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const local = yield* LocalSamples
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(1)
        const id = samples[0]!.id
        expect(local.get(id)).toBeUndefined()

        // The first command activates the entity through the cluster; it registers itself.
        yield* api.execute(id, new Receive(), "r-1", "tech")
        expect(local.get(id)).toBeDefined()

        // Commands from this process now reach the entity through its mailbox (counted there like any message), each
        // committed in turn behind the fence: concurrent senders of the same steps get one answer each.
        const before = yield* mailboxMessages
        const started = yield* api.execute(id, new StartStep({ step: "sample_qc" }), "s-1", "tech")
        const [a, b] = yield* Effect.all([
          api.execute(id, new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } }), "c-1", "tech"),
          api.execute(id, new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } }), "c-1", "tech")
        ], { concurrency: "unbounded" })
        expect(started.sample.version).toBe(3)
        expect([a.replayed, b.replayed].sort()).toEqual([false, true])
        expect(a.sample.version).toBe(4)
        expect(b.sample.version).toBe(4)
        expect((yield* mailboxMessages) - before).toBe(3)

        // Idle past ENTITY_MAX_IDLE, the entity is passivated and withdraws; the next command activates it again.
        while (local.get(id) !== undefined) yield* Effect.sleep(Duration.millis(100))
        const next = yield* api.execute(id, new StartStep({ step: "library_prep" }), "s-2", "tech")
        expect(next.sample.version).toBe(5)
        expect(local.get(id)).toBeDefined()
        const rows = yield* Effect.promise(() =>
          query<{ version: number }>(databaseUrl, "SELECT version FROM sample_events WHERE sample_id = $1 AND type <> 'NotificationTriggered' ORDER BY seq", [id])
        )
        expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5])
      }), { timeout: 60_000 })
  })
})
