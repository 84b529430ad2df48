/**
 * The "new events were committed" signal. Writers raise it after each commit; it wakes this process's live feed at
 * once and, at most every `notifyEvery`, sends one PostgreSQL NOTIFY so that other processes' feeds wake too.
 * NOTIFY is kept off the commit path on purpose: a NOTIFY inside a transaction serialises every commit on one
 * database-wide lock held through the WAL flush. Events themselves are rows; the signal is only a wake-up.
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, PubSub, Schedule, Stream } from "effect"
import { randomUUID } from "node:crypto"

/** The channel other processes LISTEN on. */
export const EVENTS_CHANNEL = "poretrack_events"

export class EventSignal extends Effect.Service<EventSignal>()("poretrack/EventSignal", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const local = yield* PubSub.sliding<void>(1)
    let dirty = false
    const notifyEvery = Duration.millis(50)
    // The payload of this process's NOTIFYs, so that its own listener can tell them from other processes'.
    const origin = randomUUID()

    yield* Effect.gen(function*() {
      if (!dirty) return
      dirty = false
      yield* sql`SELECT pg_notify(${EVENTS_CHANNEL}, ${origin})`
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("event NOTIFY failed", cause)),
      Effect.repeat(Schedule.spaced(notifyEvery)),
      Effect.forkScoped
    )

    return {
      /** Raised after a commit that wrote events. */
      committed: Effect.suspend(() => {
        dirty = true
        return local.publish(undefined)
      }),
      /** What this process's NOTIFYs carry. */
      origin,
      /** Local wake-ups (commits of this process). */
      localWakes: Stream.fromPubSub(local)
    } as const
  })
}) {}
