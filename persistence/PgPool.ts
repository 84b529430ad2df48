/**
 * The PostgreSQL client every process uses: @effect/sql-pg over a `pg` pool whose connections never receive a stray
 * cancel.
 *
 * @effect/sql-pg (0.53) answers an interrupted query by sending `SELECT pg_cancel_backend(pid)` on another connection,
 * best effort. When the query finishes first, its connection goes back to the pool at once and the cancel lands on
 * whatever statement that connection runs next: another request's, which then fails with "canceling statement due to
 * user request" (SQLSTATE 57014) although nobody cancelled it. Browsers interrupt requests all the time (a live page
 * re-reads a sample and drops the read it had in flight), so under load a signed-in user's page met a database error
 * that belonged to someone else's aborted read (test/PgPool.test.ts provokes it: dozens in two thousand statements).
 *
 * The library sends a cancel only for a connection whose backend process id it knows, so this pool hides that id: an
 * interrupted statement then runs to its end on the server (they are short, and a one-statement commit is atomic
 * either way) while its connection returns to the pool, where `pg` queues the next statement behind it.
 */
import { type SqlClient, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Redacted } from "effect"
import pg from "pg"

export interface PgPoolOptions {
  readonly url: Redacted.Redacted
  readonly maxConnections?: number | undefined
  readonly applicationName?: string | undefined
  /** How long the first connection may take (default 5 s, as @effect/sql-pg's own). */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/** Makes `client` unknown to @effect/sql-pg's cancel: it reads `processID` to address one. */
const hideBackendId = (client: pg.PoolClient) => {
  Object.defineProperty(client, "processID", { configurable: true, get: () => undefined, set: () => undefined })
}

/**
 * Statements run as named prepared statements (by their exact text): parsed and planned once per connection instead
 * of on every execution. Only a few hot statements with a fixed text are registered (the commit statement: its parse
 * and plan cost PostgreSQL over a millisecond each time); everything else runs unnamed as before.
 */
const prepared = new Map<string, string>()

/** Registers `text` to run as the prepared statement `name` on every connection of every pool made here. */
export const prepareStatement = (name: string, text: string): void => {
  prepared.set(text, name)
}

/** Makes `client` run the registered statements by name (`pg` prepares a named statement once per connection). */
const usePreparedStatements = (client: pg.PoolClient) => {
  const query = client.query.bind(client) as (...args: Array<unknown>) => unknown
  client.query = ((config: unknown, ...rest: Array<unknown>) => {
    const name = typeof config === "string" ? prepared.get(config) : undefined
    return query(name === undefined ? config : { name, text: config }, ...rest)
  }) as typeof client.query
}

/** PgClient and SqlClient over a pool without stray cancels; fails when the server cannot be reached. */
export const pgClientLayer = (options: PgPoolOptions): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError.SqlError> =>
  PgClient.layerFromPool({
    applicationName: options.applicationName,
    acquire: Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({
          connectionString: Redacted.value(options.url),
          max: options.maxConnections,
          application_name: options.applicationName ?? "poretrack"
        })
        // A broken idle connection is dropped by the pool; the statement that meets it fails on its own.
        pool.on("error", () => undefined)
        pool.on("connect", (client) => {
          hideBackendId(client)
          usePreparedStatements(client)
        })
        return pool
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
    ).pipe(
      Effect.tap((pool) =>
        Effect.tryPromise({
          try: () => pool.query("SELECT 1"),
          catch: (cause) => new SqlError.SqlError({ cause, message: "PgClient: Failed to connect" })
        }).pipe(
          Effect.timeoutFail({
            duration: options.connectTimeout ?? Duration.seconds(5),
            onTimeout: () => new SqlError.SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" })
          })
        )
      )
    )
  })
