/** The PostgreSQL layer: `DATABASE_URL` when set, otherwise an embedded server under DATA_DIR; migrations applied. */
import { Effect, Layer, Option, Redacted } from "effect"
import { startEmbeddedPostgres } from "../persistence/EmbeddedPostgres.ts"
import { migrate } from "../persistence/Migrations.ts"
import { pgClientLayer } from "../persistence/PgPool.ts"
import { AppSettings } from "./AppSettings.ts"

/** PgClient for this process, with the schema migrated before anything else uses it. */
export const DatabaseLive = Layer.unwrapScoped(
  Effect.gen(function*() {
    const config = yield* AppSettings
    const url = Option.isSome(config.databaseUrl)
      ? config.databaseUrl.value
      : Redacted.make(yield* startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort }))
    const client = pgClientLayer({
      url,
      maxConnections: config.pgPoolMax,
      // Which process a session belongs to, in pg_stat_activity: a runner by its runner address.
      applicationName: config.role === "gateway" ? "poretrack-gateway" : `poretrack-${config.role} ${config.runnerHost}:${config.runnerPort}`.slice(0, 63)
    })
    return Layer.effectDiscard(migrate).pipe(Layer.provideMerge(client))
  })
)
