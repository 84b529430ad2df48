/**
 * The idempotency window of a Sample entity, and the retention of idempotency records.
 *
 * Every accepted command leaves a record in `sample_commands` (key, fingerprint, stored reply), written in the same
 * statement as the transition. A resident entity holds only the recent keys in memory: those of the last
 * `IDEMPOTENCY_MEMORY_WINDOW_MS` (24 h), at most `IDEMPOTENCY_MEMORY_KEYS` of them, newest kept. A key it does not hold
 * is looked up in PostgreSQL (one primary-key read) when the sample has records it does not hold, so the entity's
 * memory does not grow with the sample's history while a replay stays a replay for as long as its record is kept.
 * Records older than IDEMPOTENCY_RETENTION (30 days by default) are deleted by each runner, hourly, in batches; a key
 * reused after that runs as a new command (and the state machine refuses what no longer applies).
 */
import { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect, Metric, Schedule } from "effect"

/** Keys younger than this are held in memory (older ones are read from PostgreSQL on a miss). */
export const IDEMPOTENCY_MEMORY_WINDOW_MS = 24 * 3_600_000
/** At most this many keys are held in memory per entity, the newest. */
export const IDEMPOTENCY_MEMORY_KEYS = 64

/** One remembered command: its key's fingerprint and when it was accepted. */
interface Remembered {
  readonly fingerprint: string
  readonly at: number
}

/**
 * The keys an entity holds: the newest within the window, in acceptance order. `complete` is true while they are all
 * the sample's records, so a key not held is certainly new and needs no read.
 */
export class CommandWindow {
  private readonly keys = new Map<string, Remembered>()
  constructor(
    entries: ReadonlyArray<readonly [key: string, fingerprint: string, at: number]>,
    public complete: boolean
  ) {
    for (const [key, fingerprint, at] of entries) this.keys.set(key, { fingerprint, at })
  }

  /** The fingerprint of a held key. */
  get(key: string): string | undefined {
    return this.keys.get(key)?.fingerprint
  }

  get size(): number {
    return this.keys.size
  }

  /** Holds a newly accepted key, letting go of the oldest past the window or the bound. */
  remember(key: string, fingerprint: string, at: number): void {
    this.keys.delete(key)
    this.keys.set(key, { fingerprint, at })
    for (const [oldest, held] of this.keys) {
      if (this.keys.size <= IDEMPOTENCY_MEMORY_KEYS && held.at >= at - IDEMPOTENCY_MEMORY_WINDOW_MS) break
      this.keys.delete(oldest)
      this.complete = false
    }
  }
}

const pruned = Metric.counter("poretrack_idempotency_records_pruned_total", {
  description: "Idempotency records (sample_commands) deleted by the retention job",
  incremental: true
})

/**
 * Migration 11 "sample_commands_by_at": the acceptance-time index the retention job deletes by (without it each batch
 * would scan the whole table).
 */
export const SAMPLE_COMMANDS_BY_AT_DDL = `
CREATE INDEX sample_commands_by_at ON sample_commands (at);
`

/** Deletes idempotency records accepted more than `retention` ago; returns how many. */
export const pruneIdempotencyRecords = (retention: Duration.Duration, batchSize = 5_000) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const now = yield* Clock.currentTimeMillis
    const cutoff = new Date(now - Duration.toMillis(retention))
    let total = 0
    for (;;) {
      // SKIP LOCKED: runners pruning at the same moment take different rows instead of queueing on each other's.
      const rows = yield* sql<{ readonly n: number }>`
        WITH gone AS (
          DELETE FROM sample_commands
          WHERE (sample_id, key) IN (
            SELECT sample_id, key FROM sample_commands WHERE at < ${cutoff} LIMIT ${batchSize} FOR UPDATE SKIP LOCKED)
          RETURNING 1
        )
        SELECT count(*)::int AS n FROM gone`
      const n = rows[0]?.n ?? 0
      total += n
      if (n > 0) yield* Metric.update(pruned, n)
      if (n < batchSize) return total
    }
  })

/** Runs the idempotency retention every `every` (first run after one interval) for the life of the scope. */
export const idempotencyRetentionJob = (retention: Duration.Duration, every: Duration.Duration) =>
  pruneIdempotencyRecords(retention).pipe(
    Effect.tap((n) => (n > 0 ? Effect.logInfo("pruned idempotency records", { deleted: n, olderThan: Duration.format(retention) }) : Effect.void)),
    Effect.catchAllCause((cause) => Effect.logWarning("idempotency record retention failed; will retry", cause)),
    Effect.repeat(Schedule.spaced(every)),
    Effect.delay(every),
    Effect.forkScoped,
    Effect.asVoid
  )
