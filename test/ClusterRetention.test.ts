/**
 * Retention of persisted cluster messages: processed ones older than the retention go, with their replies; pending
 * ones stay whatever their age, and so do recent ones. Real timers that fired are pruned the same way.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule, Stream } from "effect"
import { defaultPolicy } from "../actors/WorkflowPolicy.ts"
import { SNOWFLAKE_EPOCH_MS } from "../persistence/ClusterBacklog.ts"
import { pruneProcessedMessages } from "../persistence/ClusterRetention.ts"
import { EventLog } from "../persistence/EventLog.ts"
import { Receive } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

// Sample QC is due 1 s after it is queued: its timers fire 0.8 s (at risk) and 1 s (breached) after receipt; the
// turnaround clock's timers are days away.
const policy = { ...defaultPolicy, expectedMs: { ...defaultPolicy.expectedMs, sample_qc: 1_000 } }
const DAY = 86_400_000

/** A snowflake id for a message sent `ageMs` ago (sequence `n` keeps ids unique). */
const idAged = (ageMs: number, n: number) => ((BigInt(Date.now() - ageMs - SNOWFLAKE_EPOCH_MS) << 22n) | BigInt(n)).toString()

describe("cluster message retention", () => {
  layer(TestSystem({ policy }), { excludeTestServices: true })((it) => {
    it.effect("deletes processed messages past the retention with their replies; keeps pending and recent ones", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        // Rows on a shard group no runner serves, so that only the retention job touches them.
        const rows: Array<[name: string, ageMs: number, processed: boolean]> = [
          ["old-done", 10 * DAY, true],
          ["old-done-2", 8 * DAY, true],
          ["old-pending", 30 * DAY, false],
          ["recent-done", 1 * DAY, true]
        ]
        yield* Effect.promise(async () => {
          for (const [i, [name, age, processed]] of rows.entries()) {
            const id = idAged(age, i)
            await query(databaseUrl, `INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, processed, request_id)
              VALUES ($1, $2, 'retention-test:1', 'Ghost', $2, 0, 'Wake', '{}', '{}', $3, $1)`, [id, name, processed])
            await query(databaseUrl, `INSERT INTO cluster_replies (id, kind, request_id, payload) VALUES ($1, 0, $1, '{}')`, [id])
          }
        })
        const deleted = yield* pruneProcessedMessages(Duration.days(7), 1)
        expect(deleted).toBe(2)
        const left = yield* Effect.promise(() =>
          query<{ message_id: string; replies: number }>(databaseUrl, `SELECT m.message_id, (SELECT count(*)::int FROM cluster_replies r WHERE r.request_id = m.request_id) AS replies
            FROM cluster_messages m WHERE m.shard_id = 'retention-test:1' ORDER BY m.message_id`)
        )
        expect(left).toEqual([{ message_id: "old-pending", replies: 1 }, { message_id: "recent-done", replies: 1 }])
        const orphanReplies = yield* Effect.promise(() =>
          query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM cluster_replies r WHERE NOT EXISTS (SELECT 1 FROM cluster_messages m WHERE m.request_id = r.request_id)")
        )
        expect(orphanReplies[0]!.n).toBe(0)
        // Nothing more to do: a second run deletes nothing.
        expect(yield* pruneProcessedMessages(Duration.days(7))).toBe(0)
      }))

    it.scoped("a fired SLA timer is pruned once past the retention; the sample's pending timers stay", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const log = yield* EventLog
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(1, { prefix: "R" })
        const id = samples[0]!.id
        const breached = yield* log.live({ sampleId: id }).pipe(
          Stream.filter((e) => e.type === "SlaBreached"),
          Stream.take(1),
          Stream.runDrain,
          Effect.timeout(Duration.seconds(20)),
          Effect.forkScoped
        )
        yield* Effect.yieldNow()
        yield* api.execute(id, new Receive(), `rcv-${id}`, "t")
        yield* Fiber.join(breached)
        const count = (processed: boolean) =>
          Effect.promise(() =>
            query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM cluster_messages WHERE entity_id = $1 AND processed = $2", [id, processed])
          ).pipe(Effect.map((r) => r[0]!.n))
        // A timer's row is marked processed right after its commit: wait until no due timer of the sample is left.
        const dueLeft = Effect.promise(() =>
          query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM cluster_messages WHERE entity_id = $1 AND NOT processed AND deliver_at <= $2", [id, Date.now()])
        ).pipe(Effect.map((r) => r[0]!.n))
        yield* dueLeft.pipe(Effect.repeat({ until: (n) => n === 0, schedule: Schedule.spaced(Duration.millis(50)) }), Effect.timeout(Duration.seconds(10)))
        expect(yield* count(true)).toBeGreaterThanOrEqual(1)
        const pending = yield* count(false)
        // With a zero retention every processed message is past it; pending timers are never touched.
        expect(yield* pruneProcessedMessages(Duration.zero)).toBeGreaterThanOrEqual(1)
        expect(yield* count(true)).toBe(0)
        expect(yield* count(false)).toBe(pending)
      }))
  })
})
