/** The process graphs: every layer of each role, composed in one place. */
import { Duration, Effect, Layer } from "effect"
import { LocalSamples } from "../actors/LocalSamples.ts"
import { SampleEntityLive } from "../actors/SampleEntity.ts"
import { ExtractionEntityLive } from "../actors/ExtractionEntity.ts"
import { ExtractionRepo } from "../persistence/ExtractionRepo.ts"
import { EXTRACTION_DEFAULTS } from "./Config.ts"
import { retentionJob } from "../persistence/ClusterRetention.ts"
import { idempotencyRetentionJob } from "../persistence/IdempotencyWindow.ts"
import { EventLog } from "../persistence/EventLog.ts"
import { DashboardRepo } from "../persistence/DashboardRepo.ts"
import { EventSignal } from "../persistence/EventSignal.ts"
import { SampleRepo } from "../persistence/SampleRepo.ts"
import { SettingsRepo } from "../persistence/SettingsRepo.ts"
import { AppSettings, PolicyLive } from "./AppSettings.ts"
import { Auth } from "./Auth.ts"
import { ClientClusterLive, RunnerClusterLive } from "./Cluster.ts"
import { DatabaseLive } from "./Database.ts"
import { HttpServerLive, RunnerHttpLive } from "./HttpServer.ts"
import { SampleApi } from "./SampleApi.ts"
import { ExportJobEntityLive } from "../actors/ExportJobEntity.ts"
import { ExportRepo } from "../persistence/ExportRepo.ts"
import { ExportCronsLive } from "./ExportCrons.ts"
import { exportSettingsOf, ExportStorageLive } from "./ExportStorageLive.ts"
import { Notifier, MailOutboxLive } from "./Notifier.ts"
import { NodeMetricsLive } from "./NodeMetrics.ts"

const Entities = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) =>
    SampleEntityLive({ maxIdleTime: s.entityMaxIdle, maxResident: s.maxResidentEntities }).pipe(
      Layer.merge(ExtractionEntityLive((s.extraction ?? EXTRACTION_DEFAULTS).ollama))
    ))
)

/**
 * Hourly deletion, where entities run, of processed persisted messages older than CLUSTER_MESSAGE_RETENTION and of
 * idempotency records older than IDEMPOTENCY_RETENTION.
 */
const Retention = Layer.scopedDiscard(
  Effect.flatMap(AppSettings, (s) =>
    Effect.zipRight(
      retentionJob(s.clusterMessageRetention, Duration.hours(1)),
      idempotencyRetentionJob(s.idempotencyRetention, Duration.hours(1))
    ))
)

/** Export jobs (one entity per job) and the export clocks (retention, schedules), where entities run. */
const Exports = Layer.unwrapEffect(
  Effect.map(AppSettings, (s) =>
    Layer.merge(ExportJobEntityLive({ retention: exportSettingsOf(s).retention }), ExportCronsLive({ retention: exportSettingsOf(s).retention, tick: exportSettingsOf(s).scheduleTick })))
)

/** Data access shared by every role. */
const Storage = Layer.mergeAll(SampleRepo.Default, ExtractionRepo.Default, ExportRepo.Default, ExportStorageLive, MailOutboxLive, PolicyLive.pipe(Layer.provideMerge(SettingsRepo.Default))).pipe(
  Layer.provideMerge(Layer.merge(EventSignal.Default, LocalSamples.Default))
)

/** What serves clients: the application service and the event log's live feed. */
const ClientFacing = Layer.merge(SampleApi.Default, DashboardRepo.Default).pipe(Layer.provideMerge(EventLog.Default))

/** Who is calling (keys, sessions, accounts, audit log); while no user exists, opens and logs the one-time setup link. */
const Accounts = Layer.effectDiscard(Effect.flatMap(Auth, (auth) => auth.openSetup())).pipe(Layer.provideMerge(Auth.Default))

/** One process: HTTP server + one runner hosting the entities + PostgreSQL (embedded unless DATABASE_URL is set). */
export const AllInOneLive = HttpServerLive.pipe(
  Layer.provideMerge(Layer.mergeAll(Entities, Exports, Notifier, ClientFacing, Retention, Accounts, NodeMetricsLive)),
  Layer.provideMerge(Storage),
  Layer.provideMerge(RunnerClusterLive),
  Layer.provideMerge(DatabaseLive)
)

/** A shard node: hosts Sample entities and their timers; serves probes and metrics only. */
export const RunnerLive = RunnerHttpLive.pipe(
  Layer.provideMerge(Layer.mergeAll(Entities, Exports, Notifier, Retention, NodeMetricsLive)),
  Layer.provideMerge(Storage),
  Layer.provideMerge(RunnerClusterLive),
  Layer.provideMerge(DatabaseLive)
)

/** A stateless gateway: a client-only cluster member serving REST, RPC, probes and metrics. */
export const GatewayLive = HttpServerLive.pipe(
  Layer.provideMerge(Layer.mergeAll(ClientFacing, Accounts, NodeMetricsLive)),
  Layer.provideMerge(Storage),
  Layer.provideMerge(ClientClusterLive),
  Layer.provideMerge(DatabaseLive)
)
