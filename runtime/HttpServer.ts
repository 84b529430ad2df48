/**
 * The HTTP side of a process: health probes and `/metrics` on every role; the REST bridge and `/rpc` where clients
 * are served (all-in-one and gateway). Every response carries an `X-Request-Id` (the client's, or a new one), which
 * also annotates the request's logs, with the trace id when tracing is on; request counts and latencies are metrics
 * by route and status.
 */
import { Sharding } from "@effect/cluster"
import { HttpLayerRouter, HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Cause, Duration, Effect, Layer, Metric, MetricBoundaries, MetricKey, Option, Redacted, Tracer } from "effect"
import { createServer, type IncomingMessage, Server, type ServerResponse } from "node:http"
import { memo } from "../actors/memo.ts"
import { taggedMetric } from "../actors/taggedMetric.ts"
import { sampleBacklog } from "../persistence/ClusterBacklog.ts"
import { AppSettings } from "./AppSettings.ts"
import { type DirectRouteOptions, type DirectRoutes, makeDirectRoutes } from "./DirectRoutes.ts"
import { door, refusal } from "./Door.ts"
import { currentRequestId, requestIdOf } from "./RequestId.ts"
import { PagesLive } from "./Pages.ts"
import { exposition } from "./Prometheus.ts"
import { RateLimiter } from "./RateLimiter.ts"
import { RestApiLive, routeTemplateOf } from "./RestApi.ts"
import { RpcRoutesLive } from "./RpcRoutes.ts"
import { APP_PAGES, WebAppLive } from "./WebApp.ts"

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

const LOOPBACK = /^(?:127\.|::1$|::ffff:127\.)/

/**
 * Prometheus scrape endpoint (the cluster's persisted-message backlog is read at each scrape). Reachable from loopback,
 * with `Authorization: Bearer <METRICS_TOKEN>`, or from anywhere when METRICS_PUBLIC=true (inside a private network).
 */
export const MetricsRoute = HttpLayerRouter.add("GET", "/metrics", Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const { door: settings } = yield* AppSettings
  const address = Option.getOrElse(request.remoteAddress, () => "")
  const token = Option.map(settings.metricsToken, Redacted.value)
  const allowed = settings.metricsPublic || LOOPBACK.test(address) ||
    (Option.isSome(token) && request.headers.authorization === `Bearer ${token.value}`)
  if (!allowed) return refusal(403, "Forbidden", "/metrics is served to loopback clients, or with Authorization: Bearer <METRICS_TOKEN>")
  const text = yield* Effect.zipRight(sampleBacklog, exposition)
  return HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
}))

/** The REST bridge (with its OpenAPI document and reference page) and the RPC server (`/rpc` and `/rpc/ws`). */
export const ApiRoutes = Layer.mergeAll(
  RestApiLive,
  RpcRoutesLive
)

const escaped = Metric.counter("poretrack_http_unhandled_failures_total", {
  description: "Requests whose failure no route turned into a response (answered 500 and logged)",
  incremental: true
})
const requests = MetricKey.counter("poretrack_http_requests_total", { description: "HTTP requests by route, method and status", incremental: true })
const latency = MetricKey.histogram(
  "poretrack_http_request_duration_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 16 }),
  "HTTP request latency by route and method"
)
/**
 * The metric handles of a route and method, made once, with their tags in their keys (actors/taggedMetric.ts): a
 * handle tagged at each update builds and hashes a new metric key every time. Bounded: routes are templates, methods
 * a handful, statuses a few dozen.
 */
const metricsOf = memo((route: string) =>
  memo((method) => ({
    latency: taggedMetric(latency, ["route", route], ["method", method]),
    requests: memo((status) => taggedMetric(requests, ["route", route], ["method", method], ["status", status]))
  }))
)
const OTHER_ROUTES = new Set(["/health/live", "/health/ready", "/metrics", "/setup"])
const APP_PAGE_PATTERNS = APP_PAGES.map((page) => new RegExp(`^${page.replace(/:[a-z]+/g, "[^/]+")}$`))
/** A route label from the declared templates, so the label set stays bounded whatever paths clients send. */
const routeOf = (url: string) => {
  const path = url.split("?")[0] ?? ""
  return routeTemplateOf(path) ?? (OTHER_ROUTES.has(path)
    ? path
    : path.startsWith("/assets/") ? "/assets/*" : APP_PAGE_PATTERNS.some((p) => p.test(path)) ? "app" : "unmatched")
}
/** What a browser gets at an address that is not a page of the app (a mistyped or old link). */
const NOT_FOUND_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Page not found · poretrack</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Page not found</h1><p>There is no page at this address. <a href="/">Go to poretrack's start page</a>.</p>
</body></html>`

/** A path no route serves (outside /api, whose own 404s name the route): a plain 404, not an error. */
const isRouteNotFound = (cause: Cause.Cause<unknown>) =>
  Option.exists(Cause.failureOption(cause), (e) => typeof e === "object" && e !== null && "_tag" in e && e._tag === "RouteNotFound")

/** A total effect seen as one the router may still fail (the router's middleware type wants that possibility kept). */
const mayFail = <A, R>(effect: Effect.Effect<A, never, R>): Effect.Effect<A, HttpLayerRouter.unhandled, R> => effect

/** Request ids, logs and metrics around everything else, the door's refusals included. */
const observed = <E, R>(httpApp: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const requestId = requestIdOf(request.headers["x-request-id"])
    const started = performance.now()
    // The span's service, not Effect.currentSpan: without a span that would fail with an Error (its stack captured).
    const span = Option.filter(yield* Effect.serviceOption(Tracer.ParentSpan), (s) => s._tag === "Span")
    const annotations: Record<string, string> = Option.match(span, {
      onNone: () => ({ requestId }),
      onSome: (s) => ({ requestId, traceId: s.traceId })
    })
    const response = yield* httpApp.pipe(
      // Nothing escapes as a bare 500: a failure no route turned into a response is logged and answered in JSON. A
      // request interrupted and nothing else is a client that went away (e.g. a WebSocket closed): 499, not an error.
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.succeed(HttpServerResponse.empty({ status: 499 })) : isRouteNotFound(cause)
        ? Effect.succeed(
          /\btext\/html\b/.test(request.headers.accept ?? "")
            ? HttpServerResponse.html(NOT_FOUND_PAGE).pipe(HttpServerResponse.setStatus(404))
            : HttpServerResponse.unsafeJson({ error: "NotFound", message: "nothing is served at this path", requestId }, { status: 404 })
        )
        : Effect.logError("request failed without a response", { method: request.method, route: routeOf(request.url) }, cause).pipe(
          Effect.zipRight(Metric.increment(escaped)),
          Effect.as(HttpServerResponse.unsafeJson({ error: "InternalError", message: "internal error; it has been logged", requestId }, { status: 500 }))
        )),
      Effect.annotateLogs(annotations),
      Effect.locally(currentRequestId, requestId)
    )
    if (response.status >= 500 && response.status !== 503) {
      yield* Effect.logError("request answered with a server error", { method: request.method, route: routeOf(request.url), status: response.status }).pipe(
        Effect.annotateLogs(annotations)
      )
    }
    const metrics = metricsOf(routeOf(request.url))(request.method)
    yield* Metric.update(metrics.requests(String(response.status)), 1)
    yield* Metric.update(metrics.latency, (performance.now() - started) / 1000)
    return HttpServerResponse.setHeader(response, "x-request-id", requestId)
  }).pipe(mayFail)

/** The door (runtime/Door.ts) in front of every route, inside the request-id and metrics middleware. */
const Front = Layer.unwrapEffect(Effect.map(AppSettings, (s) => HttpLayerRouter.middleware((app) => observed(door(s.door)(app)), { global: true })))

/** Counts a request in `poretrack_http_requests_total` and `poretrack_http_request_duration_seconds`. */
const observe = (route: string, method: string, status: number, seconds: number) => {
  const metrics = metricsOf(route)(method)
  metrics.requests(String(status)).unsafeUpdate(1, [])
  metrics.latency.unsafeUpdate(seconds, [])
}

/** An HTTP server whose requests meet `direct` first; those it does not take go to the platform's listener. */
class FrontedServer extends Server {
  constructor(private readonly direct: DirectRoutes) {
    super()
  }
  override emit(event: string | symbol, ...args: Array<unknown>): boolean {
    if (event === "request" && this.direct(args[0] as IncomingMessage, args[1] as ServerResponse)) return true
    // (Symbol-named events pass through as they are; the cast only quiets the overloads of http.Server.emit.)
    return super.emit(event as string, ...args)
  }
}

/**
 * Serves `routes` (plus request ids, metrics and the door) on HTTP_HOST:PORT; with `direct`, the direct routes
 * (runtime/DirectRoutes.ts) answer the requests they take first, unless HTTP_DIRECT_ROUTES=false or tracing is on.
 */
export const serveHttp = <E, R, E2 = never, R2 = never>(
  routes: Layer.Layer<never, E, R>,
  direct?: (options: DirectRouteOptions) => Effect.Effect<DirectRoutes, E2, R2>
) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const settings = yield* AppSettings
    const limiter = RateLimiter.make(settings.door.perPrincipal, settings.door.perAddress)
    const front = direct !== undefined && settings.door.directRoutes && Option.isNone(settings.otlpEndpoint)
      ? yield* direct({ ...settings.door, limiter, observe })
      : undefined
    const served = HttpLayerRouter.serve(Layer.mergeAll(routes, Front), { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provide(Layer.succeed(RateLimiter, limiter)),
      Layer.provide(NodeHttpServer.layer(() => (front === undefined ? createServer() : new FrontedServer(front)), {
        port: settings.port,
        host: settings.httpHost
      }))
    )
    // Without an OTLP endpoint no span is exported: the platform's request span (its URL parsed, its headers copied
    // and redacted) is not made at all.
    return Option.isNone(settings.otlpEndpoint) ? HttpMiddleware.withTracerDisabledWhen(served, () => true) : served
  }))

/** Everything a client-facing process serves. */
export const HttpServerLive = serveHttp(Layer.mergeAll(ApiRoutes, HealthRoutes, MetricsRoute, PagesLive, WebAppLive), makeDirectRoutes)

/** What a runner serves: probes and metrics only. */
export const RunnerHttpLive = serveHttp(Layer.mergeAll(HealthRoutes, MetricsRoute))
