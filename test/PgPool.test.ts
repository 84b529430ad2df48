/**
 * The database client under interruption (persistence/PgPool.ts): a request dropped mid-statement (a browser's
 * aborted read) must never fail another request's statement. Many short statements run side by side on a small pool,
 * half of them interrupted at random moments; every statement that was not interrupted succeeds, and transactions
 * interrupted mid-way leave nothing behind.
 */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Option, Redacted } from "effect"
import { pgClientLayer } from "../persistence/PgPool.ts"
import { createTestDatabase, query } from "./TestDatabase.ts"

const RUNS = 300

describe("PostgreSQL pool", () => {
  it.live("an interrupted statement never cancels another request's: every uninterrupted statement succeeds", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(createTestDatabase)
      const outcome = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const statement = sql`SELECT pg_sleep(0.003 * random())`
        const failures: Array<string> = []
        let succeeded = 0
        let interrupted = 0
        // A reader whose statements all run to their end.
        const reader = Effect.gen(function*() {
          for (let i = 0; i < RUNS; i++) {
            const r = yield* Effect.either(statement)
            if (Either.isLeft(r)) failures.push(String((r.left as { cause?: unknown }).cause))
            else succeeded++
          }
        })
        // A client that gives up on its statements after 0–3 ms: most are interrupted mid-statement.
        const impatient = Effect.gen(function*() {
          for (let i = 0; i < RUNS; i++) {
            const r = yield* Effect.timeoutOption(Effect.orDie(statement), Duration.millis(3 * Math.random()))
            if (Option.isNone(r)) interrupted++
          }
        })
        yield* Effect.all([reader, reader, reader, reader, impatient, impatient, impatient, impatient], { concurrency: "unbounded" })
        return { failures, succeeded, interrupted }
      }).pipe(Effect.provide(pgClientLayer({ url: Redacted.make(url), maxConnections: 4 })))
      expect(outcome.interrupted).toBeGreaterThan(RUNS / 2)
      expect(outcome.failures).toEqual([])
      expect(outcome.succeeded).toBe(4 * RUNS)
    }), 60_000)

  it.live("a transaction interrupted mid-way writes nothing, and its connection serves the next request", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(createTestDatabase)
      yield* Effect.promise(() => query(url, "CREATE TABLE t (n int)"))
      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        for (let i = 0; i < 20; i++) {
          yield* sql.withTransaction(Effect.gen(function*() {
            yield* sql`INSERT INTO t VALUES (${i})`
            yield* sql`SELECT pg_sleep(0.05)`
          })).pipe(Effect.timeoutOption(Duration.millis(10)))
        }
        return yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM t`
      }).pipe(Effect.provide(pgClientLayer({ url: Redacted.make(url), maxConnections: 1 })))
      expect(rows).toEqual([{ n: 0 }])
    }), 60_000)
})
