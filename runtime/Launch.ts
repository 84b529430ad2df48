/** Runs one role as a process: settings from the environment, logging, a start-up banner, graceful shutdown. */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Layer, Logger, Option } from "effect"
import { EmbeddedPostgresError } from "../persistence/EmbeddedPostgres.ts"
import { AppSettings, type Role } from "./AppSettings.ts"
import { AllInOneLive, GatewayLive, RunnerLive } from "./Main.ts"
import { TelemetryLive } from "./Telemetry.ts"
import { exportSettingsOf, exportStorageBanner } from "./ExportStorageLive.ts"

import { EXTRACTION_DEFAULTS } from "./Config.ts"

const GRAPHS = { all: AllInOneLive, runner: RunnerLive, gateway: GatewayLive } as const

const banner = Effect.gen(function*() {
  const s = yield* AppSettings
  const host = s.httpHost === "0.0.0.0" ? "localhost" : s.httpHost
  const what = s.role === "all" ? "poretrack" : `poretrack ${s.role}`
  yield* Console.log(`${what} listening on http://${host}:${s.port}  (HTTP_HOST=${s.httpHost}, PORT=${s.port})`)
  yield* Console.log(
    Option.isSome(s.databaseUrl)
      ? "  database: DATABASE_URL"
      : `  database: embedded PostgreSQL, data under ${s.dataDir}/pg, port ${s.embeddedPgPort} (default; set DATABASE_URL to use your own server)`
  )
  if (s.role !== "gateway") {
    yield* Console.log(
      Option.isSome(s.notify.smtpUrl)
        ? `  e-mail:   SMTP_URL, from ${s.notify.mailFrom} (MAIL_FROM)`
        : `  e-mail:   outbox folder ${s.notify.outboxDir} (default; set SMTP_URL and MAIL_FROM to send through your mail server)`
    )
    const ai = (s.extraction ?? EXTRACTION_DEFAULTS).ollama
    yield* Console.log(`  AI intake: Ollama ${ai.model} at ${ai.host} (OLLAMA_HOST/OLLAMA_MODEL; skipped with a status when it does not answer: rules alone)`)
    yield* Console.log(`  runner:   ${s.runnerHost}:${s.runnerPort} (RUNNER_HOST/RUNNER_PORT), timers polled every ${s.entityMessagePollInterval.toString()}`)
  }
  yield* Console.log(exportStorageBanner(exportSettingsOf(s)))
  yield* Console.log(
    s.role === "runner"
      ? `  probes:   http://${host}:${s.port}/health/ready   metrics: /metrics`
      : `  REST:     http://${host}:${s.port}/api/v1   RPC: http://${host}:${s.port}/rpc   health: /health/ready   metrics: /metrics`
  )
})

/** The scaled roles share one PostgreSQL: an embedded one per process would make separate clusters. */
const requireSharedDatabase = Effect.gen(function*() {
  const s = yield* AppSettings
  if (s.role !== "all" && Option.isNone(s.databaseUrl)) {
    return yield* Effect.dieMessage(`the ${s.role} role needs DATABASE_URL: every runner and gateway must share one PostgreSQL`)
  }
})

/** Starts `role` and runs until SIGINT/SIGTERM. */
export const launch = (role: Role) => {
  const Settings = AppSettings.layer(role)
  const LoggerLive = Layer.unwrapEffect(Effect.map(AppSettings, (s) =>
    Layer.merge(s.logFormat === "json" ? Logger.json : Logger.pretty, Logger.minimumLogLevel(s.logLevel))))
  const Main = Layer.effectDiscard(banner).pipe(
    Layer.provideMerge(GRAPHS[role]),
    Layer.provideMerge(Layer.effectDiscard(requireSharedDatabase)),
    Layer.provide(TelemetryLive),
    Layer.provideMerge(LoggerLive),
    Layer.provideMerge(Settings)
  )
  Layer.launch(Main).pipe(
    Effect.tapErrorCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.void
        : Option.match(startFailure(cause), { onSome: Console.error, onNone: () => Effect.logError(cause) })
    ),
    NodeRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: true })
  )
}

/**
 * A start-up failure that explains itself in one line (an EmbeddedPostgresError without a cause: the folder the
 * `postgres` user cannot enter, and what to set instead): printed as that line, with no stack trace.
 */
const startFailure = <E>(cause: Cause.Cause<E>): Option.Option<string> =>
  Cause.failureOption(cause).pipe(
    Option.filter((e): e is E & EmbeddedPostgresError => e instanceof EmbeddedPostgresError && e.cause === undefined),
    Option.map((e) => e.message)
  )
