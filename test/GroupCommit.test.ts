/** Group commit over real PostgreSQL: concurrent samples' transitions in shared statements, each behind its own fence. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Metric, Option } from "effect"
import { randomUUID } from "node:crypto"
import { SampleRepo } from "../persistence/SampleRepo.ts"
import { Receive } from "../rpc/Commands.ts"
import type { SampleId } from "../rpc/Ids.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

/** A group histogram: how many statements, and how many items they carried. */
const sizesOf = (name: string) =>
  Metric.snapshot.pipe(Effect.map((pairs) => {
    const state = pairs.find((p) => p.metricKey.name === name)?.metricState
    return state !== undefined && "count" in state && "sum" in state ? { count: Number(state.count), sum: Number(state.sum) } : { count: 0, sum: 0 }
  }))
const groupSizes = sizesOf("poretrack_commit_group_size")
const loadSizes = sizesOf("poretrack_load_group_size")

describe("group commit on PostgreSQL", () => {
  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.effect("40 samples' transitions committed at once: each lands with its event and record, a stale fence fails alone", () =>
      Effect.gen(function*() {
        const repo = yield* SampleRepo
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(40, { prefix: "G" })
        const loaded = yield* Effect.forEach(samples, (s) => repo.load(s.id as SampleId).pipe(Effect.map(Option.getOrThrow)))
        const stale = 7
        const before = yield* groupSizes
        const outcomes = yield* Effect.forEach(loaded, ({ state }, i) =>
          repo.commit({
            // One writer lost the race: it expects a version the row no longer has.
            expectedVersion: i === stale ? state.version + 5 : state.version,
            state: { ...state, version: state.version + 1, updatedAt: state.updatedAt + 1 },
            events: [{ id: randomUUID(), type: "SampleOnHold", data: { reason: `group ${i}` } }],
            actor: "test",
            command: { key: `g-${i}`, tag: "Hold", fingerprint: `f-${i}`, result: { i } },
            timerAt: null
          }), { concurrency: "unbounded" })
        expect(outcomes.map((ok, i) => ok || i === stale)).toEqual(outcomes.map(() => true))
        expect(outcomes[stale]).toBe(false)

        const rows = yield* Effect.promise(() =>
          query<{ id: string; version: number; held: number; records: number }>(
            databaseUrl,
            `SELECT s.id, s.version,
               (SELECT count(*)::int FROM sample_events e WHERE e.sample_id = s.id AND e.type = 'SampleOnHold' AND e.version = s.version) AS held,
               (SELECT count(*)::int FROM sample_commands c WHERE c.sample_id = s.id AND c.version = s.version) AS records
             FROM samples s WHERE s.id = ANY($1::uuid[])`,
            [samples.map((s) => s.id)]
          )
        )
        const byId = new Map(rows.map((r) => [r.id, r]))
        samples.forEach((s, i) => {
          const row = byId.get(s.id)!
          expect(row).toEqual(i === stale
            ? { id: s.id, version: 1, held: 0, records: 0 }
            : { id: s.id, version: 2, held: 1, records: 1 })
        })
        // They travelled in groups: the 40 transitions took fewer statements (4 leave at once, the rest gather).
        const after = yield* groupSizes
        expect(after.sum - before.sum).toBe(40)
        expect(after.count - before.count).toBeLessThan(40)
      }))

    it.effect("a commit's columns hold the state's instants to the millisecond: clocks, queue time, timer, event and record", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const repo = yield* SampleRepo
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(3, { prefix: "T" })
        const ids = samples.map((s) => s.id as SampleId)
        yield* Effect.forEach(ids, (id, i) => api.execute(id, new Receive(), `t-${i}`, "t"), { concurrency: "unbounded" })
        const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`
        const rows = yield* Effect.promise(() =>
          query<Record<string, number | null> & { id: string }>(
            databaseUrl,
            `SELECT s.id, ${ms("s.updated_at")} AS updated, ${ms("s.step_due_at")} AS step_due, ${ms("s.queued_at")} AS queued,
               ${ms("s.turnaround_due_at")} AS turnaround_due, ${ms("s.timer_at")} AS timer,
               (SELECT ${ms("e.at")} FROM sample_events e WHERE e.sample_id = s.id AND e.type = 'SampleReceived') AS event_at,
               (SELECT ${ms("c.at")} FROM sample_commands c WHERE c.sample_id = s.id AND c.command = 'Receive') AS record_at
             FROM samples s WHERE s.id = ANY($1::uuid[])`,
            [ids]
          )
        )
        expect(rows).toHaveLength(3)
        for (const row of rows) {
          const { state, timerAt } = Option.getOrThrow(yield* repo.load(row.id as SampleId))
          const step = state.steps[state.current]!
          expect(state.sla.step?.dueAt).toBeTypeOf("number")
          expect(state.sla.turnaround?.dueAt).toBeTypeOf("number")
          expect(timerAt).toBeTypeOf("number")
          expect(row).toEqual({
            id: row.id,
            updated: state.updatedAt,
            step_due: state.sla.step?.dueAt,
            queued: step.queuedAt,
            turnaround_due: state.sla.turnaround?.dueAt,
            timer: timerAt,
            event_at: state.updatedAt,
            record_at: state.updatedAt
          })
        }
      }))

    it.effect("40 samples loaded at once: fewer statements, each sample its own row, an unknown one none", () =>
      Effect.gen(function*() {
        const repo = yield* SampleRepo
        const { samples } = yield* submitSamples(40, { prefix: "L" })
        const unknown = randomUUID() as SampleId
        const before = yield* loadSizes
        const loaded = yield* Effect.forEach([...samples.map((s) => s.id as SampleId), unknown], (id) => repo.load(id), { concurrency: "unbounded" })
        expect(Option.isNone(loaded[40]!)).toBe(true)
        samples.forEach((s, i) => {
          const row = Option.getOrThrow(loaded[i]!)
          expect(row.state.id).toBe(s.id)
          expect(row.state.sampleName).toBe(s.sampleName)
          expect(row.state.version).toBe(1)
          expect(row.commands.complete).toBe(true)
        })
        const after = yield* loadSizes
        expect(after.sum - before.sum).toBe(41)
        expect(after.count - before.count).toBeLessThan(41)
      }))
  })
})
