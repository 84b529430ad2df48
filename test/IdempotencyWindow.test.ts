/**
 * The idempotency window: an entity holds only its recent keys (24 h, at most IDEMPOTENCY_MEMORY_KEYS); an older key
 * is answered from PostgreSQL as a replay and writes nothing; records past the retention are pruned. Times are
 * explicit timestamps written into the rows (no sleeps).
 */
import { describe, expect, it as plain, layer } from "@effect/vitest"
import { Duration, Effect, Either, Exit, Option } from "effect"
import {
  CommandWindow,
  IDEMPOTENCY_MEMORY_KEYS,
  IDEMPOTENCY_MEMORY_WINDOW_MS,
  pruneIdempotencyRecords
} from "../persistence/IdempotencyWindow.ts"
import { LocalSamples } from "../actors/LocalSamples.ts"
import { SampleRepo } from "../persistence/SampleRepo.ts"
import { CompleteStep, Hold, Receive, Resume } from "../rpc/Commands.ts"
import type { SampleId } from "../rpc/Ids.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** What one sample has written: its version, events and idempotency records. */
const written = (databaseUrl: string, id: string) =>
  Effect.promise(() =>
    query<{ version: number; events: number; commands: number }>(databaseUrl, `SELECT s.version,
      (SELECT count(*)::int FROM sample_events e WHERE e.sample_id = s.id AND e.type <> 'NotificationTriggered') AS events,
      (SELECT count(*)::int FROM sample_commands c WHERE c.sample_id = s.id) AS commands
      FROM samples s WHERE s.id = $1`, [id])
  ).pipe(Effect.map((rows) => rows[0]))

/** Past idempotency records written straight into the table: `count` keys `prefix-i`, the i-th accepted `ageMs(i)` ago. */
const insertPast = (databaseUrl: string, id: string, prefix: string, count: number, ageMs: (i: number) => number) =>
  Effect.promise(() =>
    query(databaseUrl, `INSERT INTO sample_commands (sample_id, key, command, fingerprint, version, result, at)
      SELECT $1, $2 || '-' || i, 'Hold', 'fp-' || i, 1, '{}'::jsonb, to_timestamp((($3::float8[])[i + 1]) / 1000)
      FROM generate_series(0, $4 - 1) AS i`, [id, prefix, Array.from({ length: count }, (_, i) => Date.now() - ageMs(i)), count])
  )

describe("idempotency window", () => {
  plain("the window lets go of keys past 24 h and beyond the bound, and then is no longer complete", () => {
    const t0 = 1_700_000_000_000
    const window = new CommandWindow([["a", "fa", t0], ["b", "fb", t0 + HOUR]], true)
    window.remember("c", "fc", t0 + 2 * HOUR)
    expect([window.get("a"), window.get("c"), window.size, window.complete]).toEqual(["fa", "fc", 3, true])
    // 24 h after "a" and "b": both leave the window.
    window.remember("d", "fd", t0 + HOUR + IDEMPOTENCY_MEMORY_WINDOW_MS + 1)
    expect([window.get("a"), window.get("b"), window.get("c"), window.size, window.complete]).toEqual([undefined, undefined, "fc", 2, false])
    const bounded = new CommandWindow([], true)
    for (let i = 0; i < IDEMPOTENCY_MEMORY_KEYS + 10; i++) bounded.remember(`k${i}`, `f${i}`, t0 + i)
    expect(bounded.size).toBe(IDEMPOTENCY_MEMORY_KEYS)
    expect([bounded.get("k0"), bounded.get("k9"), bounded.get("k10"), bounded.complete]).toEqual([undefined, undefined, "f10", false])
  })

  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.effect("a replayed key older than the in-memory window is answered from PostgreSQL as a replay and writes nothing", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const repo = yield* SampleRepo
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(1, { prefix: "IW" })
        const id = samples[0]!.id
        const first = yield* api.execute(id, new Receive(), "receive-old", "t")
        // The command was accepted two days ago, as far as its record says.
        yield* Effect.promise(() =>
          query(databaseUrl, "UPDATE sample_commands SET at = now() - interval '2 days' WHERE sample_id = $1 AND key = 'receive-old'", [id])
        )
        // Make the entity read the sample again (as after passivation): a write behind its back fences its next command off.
        yield* Effect.promise(() =>
          query(databaseUrl, "UPDATE samples SET version = version + 1, state = jsonb_set(state, '{version}', to_jsonb(version + 1)) WHERE id = $1", [id])
        )
        const fenced = yield* api.execute(id, new Hold({ reason: "fence" }), "fence", "t").pipe(Effect.exit)
        expect(Exit.isFailure(fenced) && JSON.stringify(fenced)).toContain("SampleBusy")
        // What the entity holds once it reloads: not the two-day-old key, and it knows that older records exist.
        const loaded = Option.getOrThrow(yield* repo.load(id as SampleId))
        expect([loaded.commands.get("receive-old"), loaded.commands.size, loaded.commands.complete]).toEqual([undefined, 0, false])
        const before = yield* written(databaseUrl, id)
        // A Receive of an in-progress sample would be refused: only the stored reply can answer this.
        const again = yield* api.execute(id, new Receive(), "receive-old", "t")
        expect(again.replayed).toBe(true)
        expect(again.sample).toEqual(first.sample)
        expect(again.events).toEqual(first.events)
        expect(yield* written(databaseUrl, id)).toEqual(before)
        // The same key with a different command is still refused as a reused key.
        const reused = yield* api.execute(id, new Hold({ reason: "other" }), "receive-old", "t").pipe(Effect.either)
        expect(Either.isLeft(reused) && reused.left._tag).toBe("IdempotencyKeyReused")
        expect(yield* written(databaseUrl, id)).toEqual(before)
        // A new key still runs as a new command (after a read that finds no record).
        const held = yield* api.execute(id, new Hold({ reason: "new" }), "hold-new", "t")
        expect([held.replayed, held.sample.status]).toEqual([false, "on_hold"])
      }))

    it.effect("a key pushed out of a resident entity's memory by newer ones is still replayed", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(1, { prefix: "IB" })
        const id = samples[0]!.id
        yield* api.execute(id, new Receive(), "receive", "t")
        const qc = new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } })
        const first = yield* api.execute(id, qc, "qc", "t")
        for (let i = 0; i < IDEMPOTENCY_MEMORY_KEYS / 2 + 1; i++) {
          yield* api.execute(id, new Hold({ reason: `h${i}` }), `hold-${i}`, "t")
          yield* api.execute(id, new Resume(), `resume-${i}`, "t")
        }
        const before = yield* written(databaseUrl, id)
        const again = yield* api.execute(id, qc, "qc", "t")
        expect(again.replayed).toBe(true)
        expect(again.sample).toEqual(first.sample)
        expect(yield* written(databaseUrl, id)).toEqual(before)
      }))

    it.effect("an entity with 1,000 past commands activates holding only the window", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const repo = yield* SampleRepo
        const local = yield* LocalSamples
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(2, { prefix: "IH" })
        const [spread, busy] = [samples[0]!.id, samples[1]!.id]
        // One record every 30 minutes for 500 hours: 47 of them in the last 24 h (ages 30 min … 23.5 h).
        yield* insertPast(databaseUrl, spread, "past", 1_000, (i) => (i + 1) * 30 * 60_000)
        const loaded = Option.getOrThrow(yield* repo.load(spread as SampleId))
        expect([loaded.commands.size, loaded.commands.complete]).toEqual([47, false])
        expect([loaded.commands.get("past-0"), loaded.commands.get("past-46"), loaded.commands.get("past-47")]).toEqual(["fp-0", "fp-46", undefined])
        // 1,000 in the last hour: only the newest IDEMPOTENCY_MEMORY_KEYS.
        yield* insertPast(databaseUrl, busy, "recent", 1_000, (i) => (i + 1) * 1_000)
        const recent = Option.getOrThrow(yield* repo.load(busy as SampleId))
        expect(recent.commands.size).toBe(IDEMPOTENCY_MEMORY_KEYS)
        expect([recent.commands.get("recent-0"), recent.commands.get(`recent-${IDEMPOTENCY_MEMORY_KEYS - 1}`), recent.commands.get(`recent-${IDEMPOTENCY_MEMORY_KEYS}`)])
          .toEqual(["fp-0", `fp-${IDEMPOTENCY_MEMORY_KEYS - 1}`, undefined])
        // The sample is resident since its creation here, holding the empty history it was created with: once it
        // leaves (as when idle), it activates on that history and works: a new command runs, an old key is still known.
        yield* local.release(spread)
        expect(local.get(spread)).toBeUndefined()
        const received = yield* api.execute(spread, new Receive(), "receive", "t")
        expect(received.replayed).toBe(false)
        const reused = yield* api.execute(spread, new Receive(), "past-900", "t").pipe(Effect.either)
        expect(Either.isLeft(reused) && reused.left._tag).toBe("IdempotencyKeyReused")
      }))

    it.effect("pruning removes records past the retention and keeps recent ones", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(1, { prefix: "IP" })
        const id = samples[0]!.id
        const ages = [40 * DAY, 31 * DAY, 29 * DAY, HOUR]
        yield* insertPast(databaseUrl, id, "aged", ages.length, (i) => ages[i]!)
        // Batches of one: the job loops until a batch comes back short.
        expect(yield* pruneIdempotencyRecords(Duration.days(30), 1)).toBe(2)
        const left = yield* Effect.promise(() =>
          query<{ key: string }>(databaseUrl, "SELECT key FROM sample_commands WHERE sample_id = $1 ORDER BY at", [id])
        )
        expect(left.map((r) => r.key)).toEqual(["aged-2", "aged-3"])
        expect(yield* pruneIdempotencyRecords(Duration.days(30))).toBe(0)
      }))
  })
})
