/** `npm start`: the whole system in one process. */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Logger, Option } from "effect"
import { AppSettings } from "./AppSettings.ts"
import { AllInOneLive } from "./Main.ts"

const banner = Effect.gen(function*() {
  const s = yield* AppSettings
  const host = s.httpHost === "0.0.0.0" ? "localhost" : s.httpHost
  yield* Console.log(`poretrack listening on http://${host}:${s.port}  (HTTP_HOST=${s.httpHost}, PORT=${s.port})`)
  yield* Console.log(
    Option.isSome(s.databaseUrl)
      ? "  database: DATABASE_URL"
      : `  database: embedded PostgreSQL, data under ${s.dataDir}/pg, port ${s.embeddedPgPort} (default; set DATABASE_URL to use your own server)`
  )
  yield* Console.log(`  runner:   ${s.runnerHost}:${s.runnerPort} (RUNNER_HOST/RUNNER_PORT), timers polled every ${s.entityMessagePollInterval.toString()}`)
  yield* Console.log(`  REST:     http://${host}:${s.port}/api/v1   RPC: http://${host}:${s.port}/rpc   health: /health/ready`)
})

const LoggerLive = Layer.unwrapEffect(Effect.map(AppSettings, (s) => (s.logFormat === "json" ? Logger.json : Logger.pretty)))

// Spans cost CPU on every call; they are recorded only when a trace exporter is configured (issue: telemetry).
const Main = Layer.effectDiscard(banner).pipe(
  Layer.provideMerge(AllInOneLive),
  Layer.provide(Layer.setTracerEnabled(false)),
  Layer.provideMerge(LoggerLive),
  Layer.provideMerge(AppSettings.layer("all"))
)

Layer.launch(Main).pipe(NodeRuntime.runMain({ disablePrettyLogger: true }))
