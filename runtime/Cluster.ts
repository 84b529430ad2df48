/**
 * The @effect/cluster layer on PostgreSQL (SqlRunnerStorage + SqlMessageStorage, tables cluster_*), with a socket
 * transport between runners. The sharding config is built here from our settings and never from the environment,
 * so an HTTP `PORT` cannot silently become the runner port.
 */
import { MessageStorage, RunnerAddress, RunnerHealth, Runners, ShardingConfig, SocketRunner, SqlMessageStorage, SqlRunnerStorage } from "@effect/cluster"
import type { Sharding } from "@effect/cluster"
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node/NodeClusterSocket"
import { RpcSerialization } from "@effect/rpc"
import type { SqlClient } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import { AppSettings } from "./AppSettings.ts"

const shardingConfig = Layer.effect(
  ShardingConfig.ShardingConfig,
  Effect.map(AppSettings, (s) => ({
    ...ShardingConfig.defaults,
    runnerAddress: s.role === "gateway" ? Option.none() : Option.some(RunnerAddress.make(s.runnerHost, s.runnerPort)),
    runnerListenAddress: s.role === "gateway" ? Option.none() : Option.some(RunnerAddress.make("0.0.0.0", s.runnerPort)),
    entityMessagePollInterval: s.entityMessagePollInterval,
    shardLockRefreshInterval: s.shardLockRefreshInterval,
    shardLockExpiration: s.shardLockExpiration,
    entityMaxIdleTime: s.entityMaxIdle,
    simulateRemoteSerialization: false
  }))
)

const storage = Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer), Layer.orDie(SqlRunnerStorage.layer))

/** A shard node: hosts entities and listens on RUNNER_HOST:RUNNER_PORT. */
export const RunnerClusterLive: Layer.Layer<Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage, never, SqlClient.SqlClient | AppSettings> =
  Layer.provide(SocketRunner.layer, [Layer.orDie(layerSocketServer), layerClientProtocol]).pipe(
    Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))),
    Layer.provideMerge(storage),
    Layer.provide(shardingConfig),
    Layer.provide(RpcSerialization.layerMsgPack)
  )

/** A client-only member (gateway): sends to entities, hosts none. */
export const ClientClusterLive: Layer.Layer<Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage, never, SqlClient.SqlClient | AppSettings> =
  Layer.provide(SocketRunner.layerClientOnly, layerClientProtocol).pipe(
    Layer.provideMerge(storage),
    Layer.provide(shardingConfig),
    Layer.provide(RpcSerialization.layerMsgPack)
  )
