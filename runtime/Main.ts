/** The process graphs: every layer of a role, composed in one place. */
import { Layer } from "effect"
import { SampleEntityLive } from "../actors/SampleEntity.ts"
import { EventLog } from "../persistence/EventLog.ts"
import { EventSignal } from "../persistence/EventSignal.ts"
import { SampleRepo } from "../persistence/SampleRepo.ts"
import { AppSettings, PolicyLive } from "./AppSettings.ts"
import { RunnerClusterLive } from "./Cluster.ts"
import { DatabaseLive } from "./Database.ts"
import { HttpServerLive } from "./HttpServer.ts"
import { SampleApi } from "./SampleApi.ts"
import { Duration, Effect } from "effect"

const Entities = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) => SampleEntityLive({ maxIdleTime: Duration.toMillis(s.entityMaxIdle) }))
)

const Domain = Layer.mergeAll(Entities, SampleApi.Default).pipe(
  Layer.provideMerge(Layer.mergeAll(SampleRepo.Default, EventLog.Default, PolicyLive)),
  Layer.provideMerge(EventSignal.Default)
)

/** One process: HTTP server + one runner hosting the entities + PostgreSQL (embedded unless DATABASE_URL is set). */
export const AllInOneLive = HttpServerLive.pipe(
  Layer.provideMerge(Domain),
  Layer.provideMerge(RunnerClusterLive),
  Layer.provideMerge(DatabaseLive)
)

/** The all-in-one graph with settings from the environment. */
export const AllInOneFromEnv = AllInOneLive.pipe(Layer.provideMerge(AppSettings.layer("all")))
