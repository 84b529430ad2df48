/**
 * Notification rule sets, versioned: each save is a new row, the newest is in force. Version 0 is the shipped
 * defaults, written at start-up (`seed`) when absent. Rules are stored as JSON; the notifier decodes them.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { RulesVersionMismatch } from "../rpc/NotificationsApi.ts"

/** The rule set in force: its version and its rules as stored (JSON). */
export interface StoredRuleSet {
  readonly version: number
  readonly rules: ReadonlyArray<unknown>
}

/** Reads and saves notification rule sets. */
export class NotificationRulesRepo extends Effect.Service<NotificationRulesRepo>()("poretrack/NotificationRulesRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** The newest rule set, if any was stored. */
    const latest = Effect.fn("NotificationRulesRepo.latest")(function*() {
      const rows = yield* sql<{ version: number; rules: unknown }>`
        SELECT version, rules FROM notification_rule_sets ORDER BY version DESC LIMIT 1`.pipe(Effect.orDie)
      const row = rows[0]
      return row === undefined ? Option.none<StoredRuleSet>() : Option.some({ version: row.version, rules: Array.isArray(row.rules) ? row.rules : [] })
    })

    /**
     * Stores `rules` (the shipped defaults) as version 0; while nobody has saved rules of their own, version 0 follows
     * the shipped defaults of the running release (idempotent; every process may call it at start).
     */
    const seed = Effect.fn("NotificationRulesRepo.seed")(function*(rules: ReadonlyArray<unknown>) {
      yield* sql`INSERT INTO notification_rule_sets (version, rules, saved_by) VALUES (0, ${JSON.stringify(rules)}::jsonb, 'poretrack')
        ON CONFLICT (version) DO UPDATE SET rules = EXCLUDED.rules
        WHERE NOT EXISTS (SELECT 1 FROM notification_rule_sets WHERE version > 0)`.pipe(Effect.orDie)
    })

    /** Saves `rules` as `expectedVersion + 1`; refused when another save came first. */
    const save = Effect.fn("NotificationRulesRepo.save")(function*(expectedVersion: number, rules: ReadonlyArray<unknown>, by: string) {
      const inserted = yield* sql<{ version: number }>`
        INSERT INTO notification_rule_sets (version, rules, saved_by)
        SELECT ${expectedVersion + 1}, ${JSON.stringify(rules)}::jsonb, ${by}
        WHERE COALESCE((SELECT max(version) FROM notification_rule_sets), 0) = ${expectedVersion}
        ON CONFLICT (version) DO NOTHING
        RETURNING version`.pipe(Effect.orDie)
      if (inserted.length === 0) {
        const current = Option.match(yield* latest(), { onNone: () => 0, onSome: (s) => s.version })
        return yield* new RulesVersionMismatch({ expectedVersion, currentVersion: current })
      }
      return { version: expectedVersion + 1, rules } satisfies StoredRuleSet
    })

    return { latest, seed, save } as const
  })
}) {}
