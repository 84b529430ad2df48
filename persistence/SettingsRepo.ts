/**
 * The facility's saved settings (migration 8, `facility_settings`): one row per version, the newest in force, the
 * older ones its history. A save names the version it replaces and lands only if that is still the newest, and sends
 * a NOTIFY on `poretrack_settings` that PostgreSQL delivers when the save commits, so every process reloads it.
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Stream } from "effect"

/** The channel a saved version is announced on (payload: the version). */
export const SETTINGS_CHANNEL = "poretrack_settings"

/** Migration 8 "facility_settings". */
export const FACILITY_SETTINGS_DDL = `
-- The admins' edits of the workflow policy (SLA targets, QC thresholds), one row per version; none = the environment's.
CREATE TABLE facility_settings (
  version int PRIMARY KEY CHECK (version > 0),
  policy jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL
);
`

/** One saved version; `policy` is the settings' JSON as written (decoded by the caller). */
export interface SavedSettings {
  readonly version: number
  readonly policy: unknown
  readonly updatedAt: Date
  readonly updatedBy: string
}

interface Row {
  readonly version: number
  readonly policy: unknown
  readonly updated_at: Date
  readonly updated_by: string
}

const toSaved = (r: Row): SavedSettings => ({ version: r.version, policy: r.policy, updatedAt: r.updated_at, updatedBy: r.updated_by })

/** Reads and saves the settings; announces saves. */
export class SettingsRepo extends Effect.Service<SettingsRepo>()("poretrack/SettingsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pg = yield* PgClient.PgClient

    /** The newest saved version, or none while no admin has saved any. */
    const latest = Effect.fn("SettingsRepo.latest")(function*() {
      const rows = yield* sql<Row>`
        SELECT version, policy, updated_at, updated_by FROM facility_settings ORDER BY version DESC LIMIT 1`
      return Option.map(Option.fromNullable(rows[0]), toSaved)
    }, Effect.orDie)

    /**
     * Saves `policy` as version `expectedVersion + 1` when `expectedVersion` is the newest (0: none saved yet); none
     * when another save came first (two racing saves of the same version: the second finds the key taken). Run it in
     * the caller's transaction to write more with it; the NOTIFY goes out when that commits.
     */
    const save = Effect.fn("SettingsRepo.save")(function*(input: {
      readonly policy: unknown
      readonly expectedVersion: number
      readonly updatedBy: string
    }) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql<Row>`
          INSERT INTO facility_settings (version, policy, updated_by)
          SELECT ${input.expectedVersion + 1}, ${JSON.stringify(input.policy)}::jsonb, ${input.updatedBy}
          WHERE COALESCE((SELECT max(version) FROM facility_settings), 0) = ${input.expectedVersion}
          ON CONFLICT (version) DO NOTHING
          RETURNING version, policy, updated_at, updated_by`
        const row = rows[0]
        if (row === undefined) return Option.none<SavedSettings>()
        yield* sql`SELECT pg_notify(${SETTINGS_CHANNEL}, ${String(row.version)})`
        return Option.some(toSaved(row))
      }))
    }, Effect.orDie)

    /** A signal for each save committed by any process (LISTEN; a dropped connection ends it with an error). */
    const saved = pg.listen(SETTINGS_CHANNEL).pipe(Stream.as(undefined))

    return { latest, save, saved } as const
  })
}) {}
