/**
 * The "new events were committed" signal. Writers raise it after each commit; it wakes this process's live feed at
 * once and, at most every `notifyEvery`, sends one PostgreSQL NOTIFY so that other processes' feeds wake too.
 * NOTIFY is kept off the commit path on purpose: a NOTIFY inside a transaction serialises every commit on one
 * database-wide lock held through the WAL flush. Events themselves are rows; the signal is only a wake-up.
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Schedule, type Scope } from "effect"
import { randomUUID } from "node:crypto"

/** The channel other processes LISTEN on. */
export const EVENTS_CHANNEL = "poretrack_events"

export class EventSignal extends Effect.Service<EventSignal>()("poretrack/EventSignal", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const listeners = new Set<() => void>()
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
        for (const listener of listeners) listener()
        return Effect.void
      }),
      /** What this process's NOTIFYs carry. */
      origin,
      /** Calls `listener` after each commit of this process that wrote events, for the scope's life. */
      onCommit: (listener: () => void): Effect.Effect<void, never, Scope.Scope> =>
        Effect.acquireRelease(Effect.sync(() => listeners.add(listener)), () => Effect.sync(() => listeners.delete(listener)))
    } as const
  })
}) {}

/**
 * A wake-up that collapses: raised any number of times while nobody waits, the next `next` returns at once, once.
 * What a sliding PubSub of one element read as a stream did, without a stream: merged with another stream, each
 * element had cost a race of two fibers and a few hundred Effect operations, once per commit group.
 */
export class Wakeup {
  private raised = false
  private waiting: (() => void) | undefined = undefined

  /** Wakes the waiter, or the next one to wait. */
  raise(): void {
    const waiting = this.waiting
    if (waiting === undefined) {
      this.raised = true
      return
    }
    this.waiting = undefined
    waiting()
  }

  /** Returns once raised (at once if raised since the last return); one waiter at a time. */
  readonly next: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.raised) {
      this.raised = false
      resume(Effect.void)
      return
    }
    this.waiting = () => resume(Effect.void)
    return Effect.sync(() => {
      this.waiting = undefined
    })
  })
}
