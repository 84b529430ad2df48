/**
 * The event log as consumers see it: ordered reads with a durable cursor per consumer (at least once), and a live
 * feed woken by this process's commits and by PostgreSQL LISTEN/NOTIFY for other processes' (see EventSignal).
 *
 * Order is (tx, seq), tx being the writing transaction's xid8. An event becomes readable only below the horizon, the
 * oldest transaction still running: no event can later commit below it, so a consumer never moves its cursor past
 * an event that commits later.
 */
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Metric, Option, PubSub, Schedule, Scope, Stream } from "effect"
import { InvalidInput } from "../rpc/Errors.ts"
import type { SampleEvent } from "../rpc/Workflow.ts"
import { EVENTS_CHANNEL, EventSignal, Wakeup } from "./EventSignal.ts"
import { toEvent } from "./SampleRepo.ts"

/** A position in the log. `tx` is a PostgreSQL xid8, kept as text. */
export interface LogPosition {
  readonly tx: string
  readonly seq: number
}

export const START: LogPosition = { tx: "0", seq: 0 }

/** The owner of consumers read without a principal (before accounts): one shared namespace. */
export const ANONYMOUS_OWNER = ""

/**
 * Migration 6 "consumer_owner": consumers are namespaced by their owner (the principal that reads them), so a name
 * used by one owner is invisible to another. Existing consumers keep their cursor under the anonymous owner ('').
 * Idempotent DDL.
 */
export const CONSUMER_OWNER_DDL = `
ALTER TABLE event_consumers ADD COLUMN IF NOT EXISTS owner text NOT NULL DEFAULT '';
ALTER TABLE event_consumers DROP CONSTRAINT IF EXISTS event_consumers_pkey;
CREATE UNIQUE INDEX IF NOT EXISTS event_consumers_owner_name ON event_consumers (owner, name);
`

const after = (a: LogPosition, b: LogPosition) => BigInt(a.tx) > BigInt(b.tx) || (a.tx === b.tx && a.seq > b.seq)

/** Opaque cursor text for a position. */
export const encodePosition = (p: LogPosition): string => `${p.tx}.${p.seq}`
const MAX_XID8 = 18446744073709551615n
/**
 * The position in a cursor, or none when it is not one. Out-of-range numbers are refused here: PostgreSQL's xid8 input
 * saturates silently (`'99999999999999999999'::xid8` is the maximum xid8, which would park the consumer past every
 * future event), and a seq beyond a safe integer would lose precision or overflow bigint.
 */
export const decodePosition = (s: string): Option.Option<LogPosition> => {
  const m = /^(\d{1,20})\.(\d{1,19})$/.exec(s)
  if (!m) return Option.none()
  const tx = BigInt(m[1]!)
  const seq = Number(m[2])
  return tx <= MAX_XID8 && Number.isSafeInteger(seq) ? Option.some({ tx: tx.toString(), seq }) : Option.none()
}

/** Events the live feed reads at once. */
const FEED_BATCH = 500

/** Statements the live feed ran (it reads only while someone listens). */
export const feedReads = Metric.counter("poretrack_event_feed_reads_total", {
  description: "Reads of the event log by this process's live feed (none while nobody listens)",
  incremental: true
})

/** Event log reader and live feed. */
export class EventLog extends Effect.Service<EventLog>()("poretrack/EventLog", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pg = yield* PgClient.PgClient
    const signal = yield* EventSignal

    /**
     * Events after `from`, oldest first, only those below the horizon, in one statement (the horizon is taken from the
     * statement's own snapshot). Order by the xid8 column itself (`e.tx`), not by the text alias: as text, "1046"
     * sorts before "994". `settled`: no transaction was running, so every event committed so far was readable (none
     * is held back behind the horizon).
     */
    const readAfter = Effect.fn("EventLog.readAfter")(function*(from: LogPosition, limit: number) {
      const rows = yield* sql<{
        settled: boolean
        tx: string | null
        seq: string | null
        id: string
        sample_id: string
        submission_id: string
        type: string
        version: number
        actor: string
        at: Date
        data: unknown
      }>`
        WITH h AS (SELECT pg_snapshot_xmin(s) AS below, pg_snapshot_xmin(s) = pg_snapshot_xmax(s) AS settled FROM pg_current_snapshot() s)
        SELECT h.settled, e.tx::text AS tx, e.seq, e.id, e.sample_id, e.submission_id, e.type, e.version, e.actor, e.at, e.data
        FROM h LEFT JOIN LATERAL (
          SELECT * FROM sample_events e
          WHERE (e.tx, e.seq) > (${from.tx}::xid8, ${from.seq}) AND e.tx < h.below
          ORDER BY e.tx, e.seq LIMIT ${limit}
        ) e ON true
        ORDER BY e.tx, e.seq`
      const found = rows.filter((r) => r.tx !== null) as Array<typeof rows[number] & { readonly tx: string; readonly seq: string }>
      const last = found[found.length - 1]
      return {
        events: found.map(toEvent),
        position: last ? { tx: last.tx, seq: Number(last.seq) } : from,
        settled: rows[0]?.settled ?? false
      }
    })

    /** The durable cursor of `owner`'s consumer (the start of the log for a new one). */
    const position = Effect.fn("EventLog.position")(function*(owner: string, consumer: string) {
      const rows = yield* sql<{ tx: string; seq: string }>`
        SELECT tx::text AS tx, seq FROM event_consumers WHERE owner = ${owner} AND name = ${consumer}`
      const row = rows[0]
      return row ? { tx: row.tx, seq: Number(row.seq) } : START
    })

    /** The next batch for `owner`'s consumer, from its durable cursor. Nothing moves until `ack`. */
    const read = Effect.fn("EventLog.read")(function*(owner: string, consumer: string, limit: number) {
      const from = yield* position(owner, consumer)
      return yield* readAfter(from, limit)
    })

    /**
     * Moves `owner`'s consumer cursor forward (never back). A position beyond the newest readable event is refused:
     * it would park the consumer past events not yet written, which it would then never see.
     */
    const ack = Effect.fn("EventLog.ack")(function*(owner: string, consumer: string, to: LogPosition) {
      const newest = yield* head
      if (after(to, newest)) {
        return yield* new InvalidInput({
          message: "cursor beyond the end of the log",
          issues: [{ path: "cursor", message: "is beyond the newest event; ack only cursors returned by Events.Read" }]
        })
      }
      yield* sql`
        INSERT INTO event_consumers (owner, name, tx, seq, updated_at) VALUES (${owner}, ${consumer}, ${to.tx}::xid8, ${to.seq}, now())
        ON CONFLICT (owner, name) DO UPDATE SET tx = excluded.tx, seq = excluded.seq, updated_at = now()
        WHERE (event_consumers.tx, event_consumers.seq) < (excluded.tx, excluded.seq)`
    })

    /**
     * The newest readable position, where a live feed starts: the newest event below the horizon, the oldest
     * transaction still running on the server (pg_snapshot_xmin of the statement's own snapshot). Every event below it
     * has committed or never will, so a cursor that stays below it never passes an event that commits later. (Any long
     * transaction on the same server, in any database, holds the horizon back: give poretrack its own server.)
     */
    const head = Effect.gen(function*() {
      const rows = yield* sql<{ tx: string | null; seq: string | null }>`
        SELECT e.tx::text AS tx, e.seq FROM sample_events e
        WHERE e.tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY e.tx DESC, e.seq DESC LIMIT 1`
      const row = rows[0]
      return row && row.tx !== null && row.seq !== null ? { tx: row.tx, seq: Number(row.seq) } : START
    })

    // One reader per process feeds every live subscriber: woken by NOTIFY, with a slow poll as a safety net. It reads
    // only while someone listens: with no subscriber a wake costs nothing, and the first subscriber restarts the feed
    // from the head as it was just before it subscribed (so it misses nothing committed after it asked).
    const hub = yield* PubSub.unbounded<SampleEvent>()
    let cursor: LogPosition = START
    let subscribers = 0
    /** The feed stopped reading (no subscriber): the cursor is behind and restarts at `restartFrom`. */
    let idle = true
    let restartFrom: LogPosition | undefined = undefined
    // Raised by this process's commits (EventSignal), by other processes' NOTIFYs and every second (a safety net).
    const wake = new Wakeup()
    yield* signal.onCommit(() => wake.raise())
    /** Reads and publishes until the log is drained; whether it was settled (nothing held back) at the last read. */
    const drain: Effect.Effect<boolean> = Effect.gen(function*() {
      for (;;) {
        yield* Metric.increment(feedReads)
        const { events, position: to, settled } = yield* readAfter(cursor, FEED_BATCH)
        cursor = to
        if (events.length > 0) yield* hub.publishAll(events)
        // A short page reached the horizon: nothing more to read now.
        if (events.length < FEED_BATCH) return settled
      }
    }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("event feed read failed", cause).pipe(Effect.as(false))))

    /**
     * One wake-up of the feed: nothing without subscribers; else from where it is to the end. Leaving idleness it never
     * resumes its old cursor (that would replay the idle period): it restarts where the first subscriber asked, or at
     * the head when that subscriber could not read it.
     */
    const onWake: Effect.Effect<void> = Effect.gen(function*() {
      if (subscribers === 0) {
        idle = true
        restartFrom = undefined
        return
      }
      if (idle) {
        cursor = restartFrom ?? (yield* head)
        restartFrom = undefined
        idle = false
      }
      // A transaction older than the woken one may still hold events back: read again shortly after, unless nothing
      // was running at the last read.
      const settled = yield* drain
      if (!settled) yield* Effect.zipRight(Effect.sleep(Duration.millis(20)), drain)
    }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("event feed could not restart", cause)))

    const notifications = pg.listen(EVENTS_CHANNEL).pipe(
      // This process's own NOTIFYs: its feed was already woken by the local signal.
      Stream.filter((origin) => origin !== signal.origin),
      Stream.runForEach(() => Effect.sync(() => wake.raise())),
      Effect.retry(Schedule.spaced(Duration.seconds(1))),
      Effect.catchAllCause((cause) => Effect.logWarning("event feed LISTEN stopped", cause))
    )
    yield* Effect.forkScoped(notifications)
    yield* Effect.forkScoped(Effect.sync(() => wake.raise()).pipe(Effect.delay(Duration.seconds(1)), Effect.forever))
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(wake.next, onWake)))

    /**
     * Subscribes now (in the scope) to live events, optionally for one sample only. A subscriber that finds the feed
     * idle first reads the head: the feed restarts there, so every event committed after this returns is delivered (a
     * few committed just before may be too).
     */
    const subscribe = (filter?: { readonly sampleId?: string | undefined }): Effect.Effect<Stream.Stream<SampleEvent>, never, Scope.Scope> =>
      Effect.gen(function*() {
        // Counted and subscribed first: from here on the feed reads, and whatever it publishes reaches this subscriber.
        yield* Effect.acquireRelease(Effect.sync(() => subscribers++), () => Effect.sync(() => subscribers--))
        const subscription = yield* PubSub.subscribe(hub)
        if (idle) {
          // Unreadable (the database away): the feed restarts at the head when it next reads.
          const from = yield* Effect.option(head)
          if (idle && Option.isSome(from) && (restartFrom === undefined || after(restartFrom, from.value))) restartFrom = from.value
        }
        wake.raise()
        return Stream.fromQueue(subscription).pipe(
          Stream.filter((e) => filter?.sampleId === undefined || e.sampleId === filter.sampleId)
        )
      })

    /** Live events from when the stream starts, optionally for one sample only (see `subscribe`). */
    const live = (filter?: { readonly sampleId?: string | undefined }) => Stream.unwrapScoped(subscribe(filter))

    /** Live subscribers of this process (the feed reads only while there is one). */
    const liveSubscribers = () => subscribers

    return { read, readAfter, ack, position, live, subscribe, head, liveSubscribers } as const
  })
}) {}
