/**
 * The HTTP side of a process: health probes and `/metrics` on every role; the REST bridge and `/rpc` where clients
 * are served (all-in-one and gateway). Every response carries an `X-Request-Id` (the client's, or a new one), which
 * also annotates the request's logs, with the trace id when tracing is on; request counts and latencies are metrics
 * by route and status.
 */
import { Sharding } from "@effect/cluster"
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { RpcSerialization, RpcServer } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Metric, MetricBoundaries, Option } from "effect"
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { sampleBacklog } from "../persistence/ClusterBacklog.ts"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import { AppSettings } from "./AppSettings.ts"
import { exposition } from "./Prometheus.ts"
import { RestRoutes } from "./RestRoutes.ts"
import { RpcHandlersLive } from "./RpcHandlers.ts"

/** `/health/live` (the process runs) and `/health/ready` (database and cluster answer). */
export const HealthRoutes = HttpLayerRouter.addAll([
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

/** Prometheus scrape endpoint (the cluster's persisted-message backlog is read at each scrape). */
export const MetricsRoute = HttpLayerRouter.add("GET", "/metrics", Effect.zipRight(sampleBacklog, exposition).pipe(Effect.map((text) =>
  HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))))

/** The REST bridge and the RPC server. */
export const ApiRoutes = Layer.mergeAll(
  RestRoutes,
  RpcServer.layerHttpRouter({ group: PoretrackRpcs, path: "/rpc", protocol: "http" }).pipe(
    Layer.provide(RpcHandlersLive),
    Layer.provide(RpcSerialization.layerNdjson)
  )
)

const requests = Metric.counter("poretrack_http_requests_total", { description: "HTTP requests by route, method and status", incremental: true })
const latency = Metric.histogram(
  "poretrack_http_request_duration_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 16 }),
  "HTTP request latency by route and method"
)
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi
/** A route label without ids or query, so the label set stays small. */
const routeOf = (url: string) => url.split("?")[0]!.replace(UUID, ":id").slice(0, 80)
const RequestIdPattern = /^[\x21-\x7e]{1,128}$/

const Observe = HttpLayerRouter.middleware((httpApp) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const given = request.headers["x-request-id"]
    const requestId = given !== undefined && RequestIdPattern.test(given) ? given : randomUUID()
    const started = performance.now()
    const span = yield* Effect.option(Effect.currentSpan)
    const annotations: Record<string, string> = Option.match(span, {
      onNone: () => ({ requestId }),
      onSome: (s) => ({ requestId, traceId: s.traceId })
    })
    const response = yield* httpApp.pipe(Effect.annotateLogs(annotations))
    const route = routeOf(request.url)
    yield* Metric.update(
      Metric.tagged(Metric.tagged(Metric.tagged(requests, "route", route), "method", request.method), "status", String(response.status)),
      1
    )
    yield* Metric.update(Metric.tagged(Metric.tagged(latency, "route", route), "method", request.method), (performance.now() - started) / 1000)
    return HttpServerResponse.setHeader(response, "x-request-id", requestId)
  }), { global: true })

/** Serves `routes` (plus request ids and metrics) on HTTP_HOST:PORT. */
export const serveHttp = <E, R>(routes: Layer.Layer<never, E, R>) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const settings = yield* AppSettings
    return HttpLayerRouter.serve(Layer.mergeAll(routes, Observe), { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: settings.port, host: settings.httpHost }))
    )
  }))

/** Everything a client-facing process serves. */
export const HttpServerLive = serveHttp(Layer.mergeAll(ApiRoutes, HealthRoutes, MetricsRoute))

/** What a runner serves: probes and metrics only. */
export const RunnerHttpLive = serveHttp(Layer.mergeAll(HealthRoutes, MetricsRoute))
