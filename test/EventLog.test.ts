/** The consumer API of the event log over real PostgreSQL: ordered reads, at-least-once redelivery, durable cursors. */
import { describe, expect, layer } from "@effect/vitest"
import { randomUUID } from "node:crypto"
import pg from "pg"
import { Effect, Either, Fiber, Metric, Option, ParseResult, Ref, Schema, Stream } from "effect"
import { decodePosition, EventLog, feedReads, START, type LogPosition } from "../persistence/EventLog.ts"
import { EventBatch } from "../rpc/Api.ts"
import { Receive } from "../rpc/Commands.ts"
import type { SampleId } from "../rpc/Ids.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

/**
 * These tests compare the log with the table event by event, so the facility here notifies nobody (a manager's empty
 * rule set): the notifier appends no NotificationTriggered events behind their backs. Idempotent.
 */
const notifyNobody = Effect.gen(function*() {
  const { databaseUrl } = yield* TestEndpoint
  yield* Effect.promise(() =>
    query(databaseUrl, "INSERT INTO notification_rule_sets (version, rules, saved_by) VALUES (1, '[]', 'test') ON CONFLICT DO NOTHING")
  )
})

const submit = (n: number, prefix: string) => Effect.zipRight(notifyNobody, submitSamples(n, { prefix, withKit: false }))

const receiveAll = (ids: ReadonlyArray<SampleId>, concurrency: number) =>
  Effect.flatMap(SampleApi, (api) => Effect.forEach(ids, (id) => api.execute(id, new Receive(), undefined, "tech"), { concurrency }))

/** Raw HTTP against the system under test: status and parsed JSON body (null when empty). */
const http = (method: "GET" | "POST", path: string, body?: unknown) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestEndpoint
    return yield* Effect.promise(async () => {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...adminAuth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      const text = await response.text()
      const json: unknown = text.length === 0 ? null : JSON.parse(text)
      return { status: response.status, body: json }
    })
  })

/** The owner (principal) whose consumer namespace these tests read in. */
const OWNER = "test-owner"

/** One batch for a consumer through the consumer API, decoded with the published schema. */
const restRead = (consumer: string, limit: number, owner = OWNER) =>
  Effect.gen(function*() {
    const api = yield* SampleApi
    return yield* Schema.decodeUnknown(EventBatch)(yield* api.readEvents(owner, consumer, limit))
  })

/** An ack through the consumer API, as the HTTP status it maps to (204, or 422 for InvalidInput) and the error body. */
const restAck = (consumer: string, cursor: string, owner = OWNER) =>
  Effect.gen(function*() {
    const api = yield* SampleApi
    const result = yield* api.ackEvents(owner, consumer, cursor).pipe(Effect.either)
    return Either.isRight(result)
      ? { status: 204, body: null as unknown }
      : { status: 422, body: { error: result.left._tag, issues: result.left.issues } as unknown }
  })

/** Every event in the table, in log order, optionally within (after, upTo]. */
const tableEvents = (databaseUrl: string, after: LogPosition = START, upTo?: LogPosition) =>
  Effect.promise(() =>
    query<{ id: string; type: string; sample_id: string; pos: string }>(
      databaseUrl,
      `SELECT id::text AS id, type, sample_id::text AS sample_id, tx::text || '.' || seq AS pos FROM sample_events
       WHERE (tx, seq) > ($1::xid8, $2::bigint) AND (tx, seq) <= ($3::xid8, $4::bigint)
       ORDER BY tx, seq`,
      [after.tx, String(after.seq), upTo?.tx ?? "18446744073709551615", upTo === undefined ? "9223372036854775807" : String(upTo.seq)]
    )
  )

const storedCursor = (databaseUrl: string, consumer: string) =>
  Effect.promise(() =>
    query<{ pos: string }>(databaseUrl, "SELECT tx::text || '.' || seq AS pos FROM event_consumers WHERE owner = $1 AND name = $2", [OWNER, consumer])
  ).pipe(Effect.map((rows) => rows.map((r) => r.pos)))

const positionOf = (cursor: string) =>
  Option.match(decodePosition(cursor), {
    onNone: () => Effect.dieMessage(`not a cursor: ${cursor}`),
    onSome: Effect.succeed
  })

/**
 * After an empty page: the live feed's next event, or 100 ms at most. Events become readable only once every older
 * transaction on the PostgreSQL server has ended (in any database: the snapshot xmin is server-wide), which another
 * test file's transactions can delay.
 */
const nextWake = Effect.flatMap(EventLog, (log) =>
  log.live().pipe(Stream.take(1), Stream.runDrain, Effect.timeoutOption("100 millis"), Effect.asVoid))

const atOrAfter = (a: LogPosition, b: LogPosition) => BigInt(a.tx) > BigInt(b.tx) || (a.tx === b.tx && a.seq >= b.seq)

/** Waits until every event now in the table is readable, so the assertions below do not race open transactions. */
const settled = (databaseUrl: string) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    const rows = yield* Effect.promise(() =>
      query<{ tx: string; seq: string }>(databaseUrl, "SELECT tx::text AS tx, seq::text AS seq FROM sample_events ORDER BY tx DESC, seq DESC LIMIT 1")
    )
    const last = rows[0]
    const target: LogPosition = last === undefined ? START : { tx: last.tx, seq: Number(last.seq) }
    const loop = (): Effect.Effect<void, never, EventLog> =>
      Effect.flatMap(log.head.pipe(Effect.orDie), (head) => (atOrAfter(head, target) ? Effect.void : Effect.zipRight(nextWake, loop())))
    yield* loop().pipe(Effect.timeout("30 seconds"), Effect.orDie)
  })

describe("event log consumers", () => {
  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.effect("a new consumer reads the whole log from the start, in (tx, seq) order", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const log = yield* EventLog
        const { samples } = yield* submit(3, "START")
        yield* receiveAll(samples.map((s) => s.id), 1)
        expect(yield* log.position(OWNER, "c-start")).toEqual(START)
        yield* settled(databaseUrl)
        const batch = yield* restRead("c-start", 1000)
        const table = yield* tableEvents(databaseUrl)
        expect(table).toHaveLength(6)
        expect(batch.consumer).toBe("c-start")
        expect(batch.events.map((e) => e.id)).toEqual(table.map((r) => r.id))
        expect(batch.cursor).toBe(table[table.length - 1]?.pos)
        // The submission's SampleCreated events share one transaction and keep their row order; receives follow.
        expect(batch.events.map((e) => [e.type, e.sampleId])).toEqual([
          ...samples.map((s) => ["SampleCreated", s.id]),
          ...samples.map((s) => ["SampleReceived", s.id])
        ])
        const seqs = batch.events.slice(0, 3).map((e) => e.seq)
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
        // Reading moves nothing.
        expect(yield* storedCursor(databaseUrl, "c-start")).toEqual([])
      }))

    it.effect("reading again without an ack returns the same events (at least once)", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const log = yield* EventLog
        yield* submit(2, "AGAIN")
        yield* settled(databaseUrl)
        const first = yield* restRead("c-again", 3)
        const second = yield* restRead("c-again", 3)
        expect(first.events).toHaveLength(3)
        expect(second.events).toEqual(first.events)
        expect(second.cursor).toBe(first.cursor)
        const viaService = yield* log.read(OWNER, "c-again", 3)
        expect(viaService.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id))
      }))

    it.effect("after an ack the consumer continues after the cursor, and the cursor is durable", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const log = yield* EventLog
        yield* settled(databaseUrl)
        const table = yield* tableEvents(databaseUrl)
        expect(table.length).toBeGreaterThanOrEqual(6)
        const page1 = yield* restRead("c-ack", 2)
        expect(page1.events.map((e) => e.id)).toEqual(table.slice(0, 2).map((r) => r.id))
        const acked = yield* restAck("c-ack", page1.cursor)
        expect(acked.status).toBe(204)
        // The cursor is in the table, and an independent read path (the service, not HTTP) sees it.
        expect(yield* storedCursor(databaseUrl, "c-ack")).toEqual([page1.cursor])
        expect(yield* log.position(OWNER, "c-ack")).toEqual(yield* positionOf(page1.cursor))
        const page2 = yield* restRead("c-ack", 3)
        expect(page2.events.map((e) => e.id)).toEqual(table.slice(2, 5).map((r) => r.id))
        const viaService = yield* log.read(OWNER, "c-ack", 3)
        expect(viaService.events.map((e) => e.id)).toEqual(page2.events.map((e) => e.id))
        // An ack never moves a cursor back.
        expect((yield* restAck("c-ack", "0.0")).status).toBe(204)
        expect(yield* storedCursor(databaseUrl, "c-ack")).toEqual([page1.cursor])
        expect((yield* restAck("c-ack", page2.cursor)).status).toBe(204)
        const page3 = yield* restRead("c-ack", 1)
        expect(page3.events.map((e) => e.id)).toEqual(table.slice(5, 6).map((r) => r.id))
      }))

    it.effect("two consumers keep independent cursors", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        yield* settled(databaseUrl)
        const table = yield* tableEvents(databaseUrl)
        const a1 = yield* restRead("c-indep-a", 3)
        expect((yield* restAck("c-indep-a", a1.cursor)).status).toBe(204)
        const b1 = yield* restRead("c-indep-b", 1)
        expect(b1.events.map((e) => e.id)).toEqual(table.slice(0, 1).map((r) => r.id))
        expect((yield* restAck("c-indep-b", b1.cursor)).status).toBe(204)
        const a2 = yield* restRead("c-indep-a", 2)
        const b2 = yield* restRead("c-indep-b", 2)
        expect(a2.events.map((e) => e.id)).toEqual(table.slice(3, 5).map((r) => r.id))
        expect(b2.events.map((e) => e.id)).toEqual(table.slice(1, 3).map((r) => r.id))
        expect(yield* storedCursor(databaseUrl, "c-indep-a")).toEqual([a1.cursor])
        expect(yield* storedCursor(databaseUrl, "c-indep-b")).toEqual([b1.cursor])
      }))

    it.effect("events of concurrent commands on 50 samples are delivered exactly once across pages, with no gaps", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const log = yield* EventLog
        const consumer = "c-concurrent"
        const start = yield* log.head.pipe(Effect.orDie)
        yield* log.ack(OWNER, consumer, start).pipe(Effect.orDie)

        const { samples } = yield* submit(50, "CONC")
        const ids = samples.map((s) => s.id)
        const seen = yield* Ref.make<ReadonlyArray<{ readonly id: string; readonly type: string; readonly sampleId: string }>>([])
        const pages = yield* Ref.make(0)
        const ours = new Set<string>(ids)
        const receivedOf = (events: ReadonlyArray<{ readonly type: string; readonly sampleId: string }>) =>
          events.filter((e) => e.type === "SampleReceived" && ours.has(e.sampleId)).length

        // The consumer pages (and acks) while the commands commit. On an empty page it waits for the next live event.
        const consume: Effect.Effect<string, ParseResult.ParseError, EventLog | SampleApi> = Effect.gen(function*() {
          const batch = yield* restRead(consumer, 7)
          if (batch.events.length > 0) {
            yield* Ref.update(seen, (s) => [...s, ...batch.events])
            yield* Ref.update(pages, (n) => n + 1)
            const ack = yield* restAck(consumer, batch.cursor)
            expect(ack.status).toBe(204)
          }
          if (receivedOf(yield* Ref.get(seen)) === ids.length) return batch.cursor
          if (batch.events.length === 0) {
            yield* nextWake
          }
          return yield* consume
        })
        const consumer$ = yield* Effect.fork(consume)
        const results = yield* receiveAll(ids, 50)
        const replyIds = results.flatMap((r) => r.events.filter((e) => e.type === "SampleReceived").map((e) => e.id))
        const finalCursor = yield* Fiber.join(consumer$).pipe(Effect.timeout("30 seconds"))

        const delivered = yield* Ref.get(seen)
        const deliveredIds = delivered.map((e) => e.id)
        expect(new Set(deliveredIds).size).toBe(deliveredIds.length)
        const received = delivered.filter((e) => e.type === "SampleReceived" && ours.has(e.sampleId))
        expect(received).toHaveLength(50)
        expect(new Set(received.map((e) => e.sampleId))).toEqual(new Set(ids))
        expect(new Set(received.map((e) => e.id))).toEqual(new Set(replyIds))
        const tableReceived = yield* Effect.promise(() =>
          query<{ id: string }>(
            databaseUrl,
            "SELECT id::text AS id FROM sample_events WHERE type = 'SampleReceived' AND sample_id = ANY($1::uuid[])",
            [ids]
          )
        )
        expect(new Set(received.map((e) => e.id))).toEqual(new Set(tableReceived.map((r) => r.id)))
        // No gaps: what was delivered is exactly the table between the starting and the final cursor, in order.
        const between = yield* tableEvents(databaseUrl, start, yield* positionOf(finalCursor))
        expect(deliveredIds).toEqual(between.map((r) => r.id))
        expect(yield* Ref.get(pages)).toBeGreaterThanOrEqual(Math.ceil(100 / 7))
        expect(yield* storedCursor(databaseUrl, consumer)).toEqual([finalCursor])
      }))

    it.effect("an event committed late by an older transaction is not skipped: the cursor never passes it", () =>
      Effect.scoped(Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const log = yield* EventLog
        const consumer = "c-late"
        const start = yield* log.head.pipe(Effect.orDie)
        yield* log.ack(OWNER, consumer, start).pipe(Effect.orDie)
        const { samples } = yield* submit(10, "LATE")
        const ids = samples.map((s) => s.id)
        const first = samples[0]
        if (first === undefined) return expect.fail("no sample")
        // Another writer (say, a notifier) opens a transaction and writes an event, but commits only later.
        const writer = yield* Effect.acquireRelease(
          Effect.promise(async () => {
            const client = new pg.Client({ connectionString: databaseUrl })
            await client.connect()
            return client
          }),
          (client) => Effect.promise(() => client.end())
        )
        const lateId = randomUUID()
        const held = yield* Effect.promise(async () => {
          await writer.query("BEGIN")
          const r = await writer.query<{ tx: string }>(
            `INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
             VALUES ($1, $2, $3, 'NotificationTriggered', 1, 'notifier', now(), '{}') RETURNING tx::text AS tx`,
            [lateId, first.id, first.submissionId]
          )
          return r.rows[0]?.tx ?? ""
        })
        // Newer transactions commit first.
        const results = yield* receiveAll(ids, 10)
        const receivedIds = results.flatMap((r) => r.events.map((e) => e.id))
        const newer = yield* Effect.promise(() =>
          query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE tx > $1::xid8 AND id = ANY($2::uuid[])", [held, receivedIds])
        )
        expect(newer[0]?.n).toBe(10)
        const whileHeld = yield* restRead(consumer, 100)
        expect(whileHeld.events.filter((e) => receivedIds.includes(e.id))).toEqual([])
        expect((yield* restAck(consumer, whileHeld.cursor)).status).toBe(204)
        const cursorWhileHeld = yield* positionOf(whileHeld.cursor)
        expect(BigInt(cursorWhileHeld.tx) < BigInt(held)).toBe(true)

        yield* Effect.promise(() => writer.query("COMMIT"))
        const seen = yield* Ref.make<ReadonlyArray<string>>([])
        const page: Effect.Effect<string, ParseResult.ParseError, SampleApi | EventLog> = Effect.gen(function*() {
          const batch = yield* restRead(consumer, 4)
          yield* Ref.update(seen, (s) => [...s, ...batch.events.map((e) => e.id)])
          if (batch.events.length > 0) expect((yield* restAck(consumer, batch.cursor)).status).toBe(204)
          const all = yield* Ref.get(seen)
          if (all.includes(lateId) && receivedIds.every((id) => all.includes(id))) return batch.cursor
          return yield* Effect.zipRight(batch.events.length === 0 ? nextWake : Effect.void, page)
        })
        const finalCursor = yield* page.pipe(Effect.timeout("10 seconds"))
        const delivered = yield* Ref.get(seen)
        expect(new Set(delivered).size).toBe(delivered.length)
        // The late event comes before every event of the newer transactions (events older than it that other
        // transactions on the server held back may come first: the horizon is server-wide).
        const lateAt = delivered.indexOf(lateId)
        expect(lateAt).toBeGreaterThanOrEqual(0)
        for (const id of receivedIds) expect(delivered.indexOf(id)).toBeGreaterThan(lateAt)
        const between = yield* tableEvents(databaseUrl, cursorWhileHeld, yield* positionOf(finalCursor))
        expect(delivered).toEqual(between.map((r) => r.id))
      })))

    it.effect("an ack with a bad cursor is a typed InvalidInput (422 over REST) and moves nothing", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const api = yield* SampleApi
        const page = yield* restRead("c-bad", 2)
        expect((yield* restAck("c-bad", page.cursor)).status).toBe(204)
        const bad = [
          "not-a-cursor",
          "",
          "12",
          "1.2.3",
          "-1.0",
          "1.-2",
          "abc.1",
          // Well formed, but beyond an xid8 and a bigint.
          "99999999999999999999.1",
          "1.9999999999999999999"
        ]
        for (const cursor of bad) {
          const res = yield* restAck("c-bad", cursor)
          expect({ cursor, status: res.status }).toEqual({ cursor, status: 422 })
          expect(res.body).toMatchObject({ error: "InvalidInput" })
          const typed = yield* api.ackEvents(OWNER, "c-bad", cursor).pipe(Effect.either)
          if (Either.isRight(typed)) return expect.fail(`cursor ${JSON.stringify(cursor)} was accepted`)
          expect(typed.left._tag).toBe("InvalidInput")
          expect(typed.left.issues.map((i) => i.path)).toEqual(["cursor"])
        }
        const missing = yield* http("POST", "/api/v1/events/ack", { consumer: "c-bad" })
        expect(missing.status).toBe(422)
        expect(missing.body).toMatchObject({ error: "InvalidInput" })
        const badName = yield* http("GET", "/api/v1/events?consumer=Not%20A%20Name")
        expect(badName.status).toBe(422)
        expect(yield* storedCursor(databaseUrl, "c-bad")).toEqual([page.cursor])
        const next = yield* restRead("c-bad", 1)
        const table = yield* tableEvents(databaseUrl)
        expect(next.events.map((e) => e.id)).toEqual(table.slice(2, 3).map((r) => r.id))
      }))

    it.effect("an ack beyond the newest event is InvalidInput on cursor and moves nothing", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const log = yield* EventLog
        yield* submit(1, "PAST")
        yield* settled(databaseUrl)
        const page = yield* restRead("c-past", 1)
        expect((yield* restAck("c-past", page.cursor)).status).toBe(204)
        const head = yield* log.head.pipe(Effect.orDie)
        const beyond = [
          `${head.tx}.${head.seq + 1}`,
          `${BigInt(head.tx) + 1n}.0`,
          "18446744073709551615.9007199254740991"
        ]
        for (const cursor of beyond) {
          const res = yield* restAck("c-past", cursor)
          expect({ cursor, status: res.status }).toEqual({ cursor, status: 422 })
          expect(res.body).toMatchObject({ error: "InvalidInput", issues: [{ path: "cursor" }] })
          const direct = yield* log.ack(OWNER, "c-past", yield* positionOf(cursor)).pipe(Effect.either)
          expect(Either.isLeft(direct) && direct.left._tag).toBe("InvalidInput")
        }
        expect(yield* storedCursor(databaseUrl, "c-past")).toEqual([page.cursor])
        // The head itself is a valid cursor.
        expect((yield* restAck("c-past", `${head.tx}.${head.seq}`)).status).toBe(204)
        expect(yield* storedCursor(databaseUrl, "c-past")).toEqual([`${head.tx}.${head.seq}`])
      }))

    it.effect("consumers are namespaced by owner: the same name under another owner is another cursor", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        yield* settled(databaseUrl)
        const table = yield* tableEvents(databaseUrl)
        const mine = yield* restRead("shared-name", 2, "alice")
        expect((yield* restAck("shared-name", mine.cursor, "alice")).status).toBe(204)
        // Bob's consumer of the same name starts from the beginning and does not see Alice's cursor.
        const theirs = yield* restRead("shared-name", 2, "bob")
        expect(theirs.events.map((e) => e.id)).toEqual(table.slice(0, 2).map((r) => r.id))
        expect((yield* restAck("shared-name", table[0]!.pos, "bob")).status).toBe(204)
        const rows = yield* Effect.promise(() =>
          query<{ owner: string; pos: string }>(databaseUrl, "SELECT owner, tx::text || '.' || seq AS pos FROM event_consumers WHERE name = 'shared-name' ORDER BY owner")
        )
        expect(rows).toEqual([{ owner: "alice", pos: mine.cursor }, { owner: "bob", pos: table[0]!.pos }])
        const aliceNext = yield* restRead("shared-name", 1, "alice")
        expect(aliceNext.events.map((e) => e.id)).toEqual(table.slice(2, 3).map((r) => r.id))
        const bobNext = yield* restRead("shared-name", 1, "bob")
        expect(bobNext.events.map((e) => e.id)).toEqual(table.slice(1, 2).map((r) => r.id))
      }))

    it.effect("the live feed reads nothing while nobody listens; a new subscriber gets what commits after it", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const log = yield* EventLog
        const { samples } = yield* submit(41, "IDLE")
        const ids = samples.map((s) => s.id)
        yield* settled(databaseUrl)
        expect(log.liveSubscribers()).toBe(0)
        const before = (yield* Metric.value(feedReads)).count
        // 40 commits one at a time, each waking the feed, with nobody listening.
        yield* receiveAll(ids.slice(0, 40), 1)
        // At most the drain that was under way when the last subscriber left (a page or two, and its follow-up 20 ms
        // later while another transaction held the horizon back); before, each of the 40 wakes read.
        expect((yield* Metric.value(feedReads)).count - before).toBeLessThanOrEqual(5)
        // The feed restarts at the head read when the subscriber came (below any transaction still running on the
        // server, in any database: other test files' may hold it back, so some of the idle period may come too).
        const received = yield* Effect.scoped(Effect.gen(function*() {
          const events = yield* log.subscribe()
          expect(log.liveSubscribers()).toBe(1)
          yield* receiveAll([ids[40]!], 1)
          return yield* events.pipe(
            Stream.filter((e) => e.type === "SampleReceived" && e.sampleId === ids[40]),
            Stream.take(1),
            Stream.runHead,
            Effect.timeout("30 seconds"),
            Effect.orDie
          )
        }))
        expect(Option.map(received, (e) => e.sampleId)).toEqual(Option.some(ids[40]))
        expect(log.liveSubscribers()).toBe(0)
      }))
  })
})
