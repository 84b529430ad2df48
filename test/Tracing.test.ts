/**
 * Traces follow one request from the gateway through the runner's Sample entity down to SQL, with the sample id on
 * the spans, exported over OTLP/HTTP. A small HTTP server stands in for the OpenTelemetry collector.
 */
import { createServer, type Server } from "node:http"
import { afterAll, describe, expect, it } from "vitest"
import { startChild, type Child } from "./ChildSystem.ts"
import { adminAuth } from "./TestAuth.ts"
import { freePort } from "./freePort.ts"
import { createTestDatabase } from "./TestDatabase.ts"

interface Span {
  readonly service: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly name: string
  readonly attributes: Record<string, unknown>
}

interface OtlpAttribute {
  readonly key: string
  readonly value: { readonly stringValue?: string; readonly intValue?: string | number; readonly boolValue?: boolean }
}
interface OtlpBody {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: { readonly attributes?: ReadonlyArray<OtlpAttribute> }
    readonly scopeSpans?: ReadonlyArray<{
      readonly spans?: ReadonlyArray<{ traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: ReadonlyArray<OtlpAttribute> }>
    }>
  }>
}

const attrs = (list: ReadonlyArray<OtlpAttribute> | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.boolValue]))

/** An OTLP/HTTP (JSON) receiver that resolves `until` once the predicate holds over what it has received. */
const collector = (port: number) => {
  const spans: Array<Span> = []
  const waiters: Array<{ pred: (s: ReadonlyArray<Span>) => boolean; resolve: () => void }> = []
  const server: Server = createServer((req, res) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString()))
    req.on("end", () => {
      const parsed = JSON.parse(body) as OtlpBody
      for (const rs of parsed.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)["service.name"])
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({ service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? "", name: s.name, attributes: attrs(s.attributes) })
          }
        }
      }
      for (const w of waiters.splice(0)) {
        if (w.pred(spans)) w.resolve()
        else waiters.push(w)
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  server.listen(port, "127.0.0.1")
  return {
    spans,
    until: (pred: (s: ReadonlyArray<Span>) => boolean) =>
      new Promise<void>((resolve) => (pred(spans) ? resolve() : waiters.push({ pred, resolve }))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

describe("tracing across processes", () => {
  const children: Array<Child> = []
  const closers: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const c of children) await c.kill9().catch(() => undefined)
    for (const c of closers) await c()
  })

  it("one command is one trace: gateway span → runner entity span → SQL, with the sample id", async () => {
    const otlpPort = await freePort()
    const otlp = collector(otlpPort)
    closers.push(otlp.close)
    const common = {
      DATABASE_URL: await createTestDatabase(),
      HTTP_HOST: "127.0.0.1",
      RUNNER_HOST: "127.0.0.1",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`
    }
    const runner = await startChild({ ...common, RUNNER_PORT: String(await freePort()) }, await freePort(), 90_000, "runner")
    children.push(runner)
    const gateway = await startChild(common, await freePort(), 90_000, "gateway")
    children.push(gateway)

    // Every gateway serves the web app too: its pages and its assets.
    const app = await fetch(`${gateway.baseUrl}/samples/${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`)
    expect(app.status).toBe(200)
    expect(app.headers.get("content-type")).toContain("text/html")

    const created = (await fetch(`${gateway.baseUrl}/api/v1/samples`, {
      method: "POST",
      headers: { "content-type": "application/json", ...adminAuth },
      body: JSON.stringify({ sampleName: "traced", submitterEmail: "ada@lab.example", flowCellType: "R10.4.1" })
    }).then((r) => r.json())) as { id: string }
    const res = await fetch(`${gateway.baseUrl}/api/v1/samples/${created.id}/receive`, { method: "POST", headers: { "x-request-id": "trace-me-1", ...adminAuth } })
    expect(res.status).toBe(200)
    expect(res.headers.get("x-request-id")).toBe("trace-me-1")

    const entitySpan = (s: Span) => s.service === "poretrack-runner" && s.attributes.sampleId === created.id && s.name === "Sample.Execute"
    await otlp.until((spans) => {
      const e = spans.find(entitySpan)
      // Spans arrive in export batches as they end (a parent after its children): wait for the ones asserted below.
      return e !== undefined && spans.some((s) => s.service === "poretrack-gateway" && s.traceId === e.traceId && s.attributes.sampleId === created.id) &&
        spans.some((s) => s.service === "poretrack-runner" && s.traceId === e.traceId && s.name.startsWith("sql"))
    })
    const e = otlp.spans.find(entitySpan)!
    const trace = otlp.spans.filter((s) => s.traceId === e.traceId)
    const gatewaySpans = trace.filter((s) => s.service === "poretrack-gateway")
    expect(gatewaySpans.some((s) => s.attributes.sampleId === created.id)).toBe(true)
    expect(trace.some((s) => s.service === "poretrack-runner" && s.name.startsWith("sql"))).toBe(true)
  }, 180_000)
})
