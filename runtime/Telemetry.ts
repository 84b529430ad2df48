/**
 * Traces through OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP, batched), else no spans at
 * all (they cost CPU on every call). Effect RPC carries the trace from the gateway into the runner's entity and its
 * SQL, so one request is one trace across processes.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Option } from "effect"
import { AppSettings } from "./AppSettings.ts"

export const TelemetryLive = Layer.unwrapEffect(Effect.map(AppSettings, (s) =>
  Option.match(s.otlpEndpoint, {
    onNone: () => Layer.setTracerEnabled(false),
    onSome: (endpoint) =>
      NodeSdk.layer(() => ({
        resource: { serviceName: `poretrack-${s.role}`, attributes: { "poretrack.role": s.role } },
        spanProcessor: new BatchSpanProcessor(
          new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, "")}/v1/traces` }),
          { scheduledDelayMillis: 500 }
        )
      }))
  })))
