/**
 * The event log as consumers see it: ordered reads with a durable cursor per consumer (at least once), and a live
 * feed woken by PostgreSQL LISTEN/NOTIFY.
 *
 * Order is (tx, seq): an event becomes readable only once every transaction older than the reader's snapshot has
 * finished, so a consumer never moves its cursor past an event that commits later.
 */
import { PgClient } from "@effect/sql-pg"
import { SqlClient, SqlError } from "@effect/sql"
import { Duration, Effect, Option, PubSub, Redacted, Ref, Schedule, Stream } from "effect"
import Pg from "pg"
import type { SampleEvent } from "../rpc/Workflow.ts"
import { toEvent } from "./SampleRepo.ts"

/** A position in the log. `tx` is a PostgreSQL xid8, kept as text. */
export interface LogPosition {
  readonly tx: string
  readonly seq: number
}

export const START: LogPosition = { tx: "0", seq: 0 }

/** Opaque cursor text for a position. */
export const encodePosition = (p: LogPosition): string => `${p.tx}.${p.seq}`
export const decodePosition = (s: string): Option.Option<LogPosition> => {
  const m = /^(\d{1,20})\.(\d{1,19})$/.exec(s)
  return m ? Option.some({ tx: m[1]!, seq: Number(m[2]) }) : Option.none()
}

/**
 * Wake-ups from `LISTEN channel` on a dedicated connection, one per notification plus one per (re)connect.
 *
 * Not `PgClient.listen`: it drops notifications whose payload is empty (`if (msg.payload)`), and the
 * `sample_events_notify` trigger sends exactly that (`pg_notify('poretrack_events', '')`), so the feed only ever
 * woke on its one-second safety poll.
 */
const listenWakes = (config: PgClient.PgClientConfig, channel: string): Stream.Stream<void, SqlError.SqlError> =>
  Stream.asyncPush<void, SqlError.SqlError>((emit) =>
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const client = new Pg.Client({
            connectionString: config.url ? Redacted.value(config.url) : undefined,
            user: config.username,
            host: config.host,
            database: config.database,
            password: config.password ? Redacted.value(config.password) : undefined,
            ssl: config.ssl,
            port: config.port,
            application_name: `${config.applicationName ?? "poretrack"}-listen`
          })
          client.on("notification", (msg) => {
            if (msg.channel === channel) emit.single(undefined)
          })
          client.on("error", (cause) => emit.fail(new SqlError.SqlError({ cause, message: "LISTEN connection failed" })))
          try {
            await client.connect()
            await client.query(`LISTEN ${Pg.escapeIdentifier(channel)}`)
          } catch (cause) {
            await client.end().catch(() => undefined)
            throw cause
          }
          // Anything committed while no connection listened is read now.
          emit.single(undefined)
          return client
        },
        catch: (cause) => new SqlError.SqlError({ cause, message: `Failed to LISTEN ${channel}` })
      }),
      (client) => Effect.promise(() => client.end().catch(() => undefined)).pipe(Effect.timeoutOption(1000))
    )
  )

/** Event log reader and live feed. */
export class EventLog extends Effect.Service<EventLog>()("poretrack/EventLog", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pg = yield* PgClient.PgClient

    /** Events after `from`, oldest first, only those no running transaction can still precede. */
    const readAfter = Effect.fn("EventLog.readAfter")(function*(from: LogPosition, limit: number) {
      const rows = yield* sql<{ tx: string; seq: string; id: string; sample_id: string; submission_id: string; type: string; version: number; actor: string; at: Date; data: unknown }>`
        SELECT tx::text AS tx, seq, id, sample_id, submission_id, type, version, actor, at, data
        FROM sample_events
        WHERE (tx, seq) > (${from.tx}::xid8, ${from.seq})
          AND tx < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY tx, seq LIMIT ${limit}`
      const last = rows[rows.length - 1]
      return {
        events: rows.map(toEvent),
        position: last ? { tx: last.tx, seq: Number(last.seq) } : from
      }
    })

    /** The durable cursor of a consumer (the start of the log for a new one). */
    const position = Effect.fn("EventLog.position")(function*(consumer: string) {
      const rows = yield* sql<{ tx: string; seq: string }>`SELECT tx::text AS tx, seq FROM event_consumers WHERE name = ${consumer}`
      const row = rows[0]
      return row ? { tx: row.tx, seq: Number(row.seq) } : START
    })

    /** The next batch for a consumer, from its durable cursor. Nothing moves until `ack`. */
    const read = Effect.fn("EventLog.read")(function*(consumer: string, limit: number) {
      const from = yield* position(consumer)
      return yield* readAfter(from, limit)
    })

    /** Moves a consumer's cursor forward (never back). */
    const ack = Effect.fn("EventLog.ack")(function*(consumer: string, to: LogPosition) {
      yield* sql`
        INSERT INTO event_consumers (name, tx, seq, updated_at) VALUES (${consumer}, ${to.tx}::xid8, ${to.seq}, now())
        ON CONFLICT (name) DO UPDATE SET tx = excluded.tx, seq = excluded.seq, updated_at = now()
        WHERE (event_consumers.tx, event_consumers.seq) < (excluded.tx, excluded.seq)`
    })

    /** The newest readable position, where a live feed starts. */
    const head = Effect.gen(function*() {
      const rows = yield* sql<{ tx: string | null; seq: string | null }>`
        SELECT tx::text AS tx, seq FROM sample_events
        WHERE tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx DESC, seq DESC LIMIT 1`
      const row = rows[0]
      return row && row.tx !== null && row.seq !== null ? { tx: row.tx, seq: Number(row.seq) } : START
    })

    // One reader per process feeds every live subscriber: woken by NOTIFY, with a slow poll as a safety net.
    const hub = yield* PubSub.unbounded<SampleEvent>()
    const cursor = yield* Ref.make(yield* head.pipe(Effect.orDie))
    const wake = yield* PubSub.sliding<void>(1)
    const drain: Effect.Effect<void> = Effect.gen(function*() {
      for (;;) {
        const from = yield* Ref.get(cursor)
        const { events, position: to } = yield* readAfter(from, 500)
        if (events.length === 0) return
        yield* Ref.set(cursor, to)
        yield* hub.publishAll(events)
      }
    }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("event feed read failed", cause)))

    const notifications = listenWakes(pg.config, "poretrack_events").pipe(
      Stream.runForEach(() => wake.publish(undefined)),
      Effect.retry(Schedule.spaced(Duration.seconds(1))),
      Effect.catchAllCause((cause) => Effect.logWarning("event feed LISTEN stopped", cause))
    )
    yield* Effect.forkScoped(notifications)
    yield* Effect.forkScoped(
      Stream.fromPubSub(wake).pipe(
        Stream.merge(Stream.tick(Duration.seconds(1))),
        // A transaction older than the woken one may still hold events back: read again shortly after.
        Stream.runForEach(() => drain.pipe(Effect.zipRight(Effect.sleep(Duration.millis(20))), Effect.zipRight(drain)))
      )
    )

    /** Live events from now on, optionally for one sample only. */
    const live = (filter?: { readonly sampleId?: string | undefined }) =>
      Stream.fromPubSub(hub, { scoped: false }).pipe(
        Stream.filter((e) => filter?.sampleId === undefined || e.sampleId === filter.sampleId)
      )

    return { read, readAfter, ack, position, live, head } as const
  })
}) {}
