/**
 * Schema changes written but not yet in persistence/Migrations.ts (5 creation_keys, 6 consumer_owner): applied to the
 * test database after start-up. Their DDL is idempotent, so this stays harmless once the migrations exist.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { CONSUMER_OWNER_DDL } from "../persistence/EventLog.ts"
import { CREATION_KEYS_DDL } from "../persistence/SampleRepo.ts"

/** Applies the pending DDL with the system's own SQL client. */
export const PendingMigrations = Layer.effectDiscard(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(CREATION_KEYS_DDL)
  yield* sql.unsafe(CONSUMER_OWNER_DDL)
}).pipe(Effect.orDie))
