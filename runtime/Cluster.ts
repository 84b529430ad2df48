/**
 * The @effect/cluster layer on PostgreSQL (SqlRunnerStorage + SqlMessageStorage, tables cluster_*), with a socket
 * transport between runners. The sharding config is built here from our settings and never from the environment,
 * so an HTTP `PORT` cannot silently become the runner port.
 */
import { MessageStorage, RunnerAddress, RunnerHealth, Runners, ShardingConfig, SocketRunner, SqlMessageStorage, SqlRunnerStorage } from "@effect/cluster"
import type { Sharding } from "@effect/cluster"
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node/NodeClusterSocket"
import { RpcSerialization } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { Effect, Exit, Layer, Option, Scope } from "effect"
import { BACKLOG_INDEX_DDL } from "../persistence/ClusterBacklog.ts"
import { WAKE_INDEX_DDL } from "../persistence/WakeTimers.ts"
import { AppSettings } from "./AppSettings.ts"

/**
 * The sharding config of a process. A runner listens on RUNNER_HOST itself, not on every interface: the runner port
 * takes unauthenticated cluster messages, so it stays on the network the other members use (the pod IP in
 * Kubernetes, the service's container address in compose, loopback on a laptop).
 */
export const shardingConfigOf = (s: Pick<
  typeof AppSettings.Service,
  | "role"
  | "runnerHost"
  | "runnerPort"
  | "runnerListenHost"
  | "entityMessagePollInterval"
  | "shardLockRefreshInterval"
  | "shardLockExpiration"
  | "refreshAssignmentsInterval"
  | "entityMaxIdle"
>): ShardingConfig.ShardingConfig["Type"] => ({
  ...ShardingConfig.defaults,
  runnerAddress: s.role === "gateway" ? Option.none() : Option.some(RunnerAddress.make(s.runnerHost, s.runnerPort)),
  runnerListenAddress: s.role === "gateway"
    ? Option.none()
    : Option.some(RunnerAddress.make(Option.getOrElse(s.runnerListenHost, () => s.runnerHost), s.runnerPort)),
  entityMessagePollInterval: s.entityMessagePollInterval,
  shardLockRefreshInterval: s.shardLockRefreshInterval,
  shardLockExpiration: s.shardLockExpiration,
  refreshAssignmentsInterval: s.refreshAssignmentsInterval,
  entityMaxIdleTime: s.entityMaxIdle,
  simulateRemoteSerialization: false,
  // A stopping runner stays registered until its entities have stopped, then unregisters and releases its shard
  // locks together, so the others find the locks free when they notice (preemptive unregistering made them try
  // while the locks were still held and wait a second before trying again: SIGTERM handover p50 1.4 s → 0.8 s).
  preemptiveShutdown: false
})

const shardingConfig = Layer.effect(ShardingConfig.ShardingConfig, Effect.map(AppSettings, shardingConfigOf))

const storage = Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer), Layer.orDie(SqlRunnerStorage.layer))

/**
 * Builds `layer` while holding a PostgreSQL advisory lock: the cluster storage creates its tables on first use without
 * a lock of its own, so processes starting together on a fresh database would race ("cluster_migrations already
 * exists").
 */
const oneAtATime = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R | SqlClient.SqlClient> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // The lock's connection goes back to the pool once the layer is built; the layer itself lives in the outer scope.
    const lockScope = yield* Scope.make()
    const connection = yield* Effect.orDie(sql.reserve.pipe(Scope.extend(lockScope)))
    yield* Effect.orDie(connection.executeRaw("SELECT pg_advisory_lock(7243002)", []))
    const context = yield* Layer.build(layer).pipe(
      // The cluster tables exist now: add the partial indexes the backlog metrics (ClusterBacklog.ts) and the
      // disarming of superseded SLA timers (WakeTimers.ts) read.
      Effect.tap(() => Effect.orDie(connection.executeRaw(BACKLOG_INDEX_DDL, []))),
      Effect.tap(() => Effect.orDie(connection.executeRaw(WAKE_INDEX_DDL, []))),
      Effect.ensuring(
        Effect.ignore(connection.executeRaw("SELECT pg_advisory_unlock(7243002)", [])).pipe(
          Effect.zipRight(Scope.close(lockScope, Exit.void))
        )
      )
    )
    return Layer.succeedContext(context)
  }))

/** A shard node: hosts entities and listens on RUNNER_HOST:RUNNER_PORT. */
export const RunnerClusterLive: Layer.Layer<Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage, never, SqlClient.SqlClient | AppSettings> =
  oneAtATime(Layer.provide(SocketRunner.layer, [Layer.orDie(layerSocketServer), layerClientProtocol]).pipe(
    Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))),
    Layer.provideMerge(storage),
    Layer.provide(shardingConfig),
    Layer.provide(RpcSerialization.layerMsgPack)
  ))

/** A client-only member (gateway): sends to entities, hosts none. */
export const ClientClusterLive: Layer.Layer<Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage, never, SqlClient.SqlClient | AppSettings> =
  oneAtATime(Layer.provide(SocketRunner.layerClientOnly, layerClientProtocol).pipe(
    Layer.provideMerge(storage),
    Layer.provide(shardingConfig),
    Layer.provide(RpcSerialization.layerMsgPack)
  ))
