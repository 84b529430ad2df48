/** The HTTP server: REST bridge, RPC at `/rpc`, health probes. */
import { Sharding } from "@effect/cluster"
import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { RpcSerialization, RpcServer } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import { AppSettings } from "./AppSettings.ts"
import { RestRoutes } from "./RestRoutes.ts"
import { RpcHandlersLive } from "./RpcHandlers.ts"

const HealthRoutes = HttpLayerRouter.addAll([
  HttpLayerRouter.route("GET", "/health/live", HttpServerResponse.unsafeJson({ status: "live" })),
  HttpLayerRouter.route("GET", "/health/ready", Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const sharding = yield* Sharding.Sharding
    const database = yield* sql`SELECT 1`.pipe(Effect.timeout(Duration.seconds(2)), Effect.as(true), Effect.orElseSucceed(() => false))
    const cluster = !(yield* sharding.isShutdown)
    const ready = database && cluster
    return HttpServerResponse.unsafeJson({ status: ready ? "ready" : "not_ready", database, cluster }, { status: ready ? 200 : 503 })
  }))
])

const RpcRoute = RpcServer.layerHttpRouter({ group: PoretrackRpcs, path: "/rpc", protocol: "http" }).pipe(
  Layer.provide(RpcHandlersLive),
  Layer.provide(RpcSerialization.layerNdjson)
)

/** Serves every route on HTTP_HOST:PORT. */
export const HttpServerLive = Layer.unwrapEffect(Effect.gen(function*() {
  const settings = yield* AppSettings
  return HttpLayerRouter.serve(Layer.mergeAll(RestRoutes, HealthRoutes, RpcRoute), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: settings.port, host: settings.httpHost }))
  )
}))
