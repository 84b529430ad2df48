/**
 * `npm run bench`: sample transitions per second, through HTTP (REST → Sample entity → one PostgreSQL statement)
 * and as bare PostgreSQL statements (the physical limit), at several concurrencies: the bare path runs the entity's own
 * commit statement (`commitStatement` of persistence/SampleRepo.ts) with the same parameters built the same way.
 * After each HTTP run it waits until the notifier has delivered what the run's transitions owe (a received and a
 * delivered e-mail per sample), and prints how long that trailed and the CPU per transition counting it.
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL   admin URL of the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres);
 *                        a database poretrack_bench_<random> is created there and dropped at the end
 *   BENCH_TARGET_URL     benchmark an already running server instead of starting one (e.g. http://127.0.0.1:3000)
 *   BENCH_CONCURRENCY    "1,16,64"
 *   BENCH_SAMPLES        samples per path and concurrency (1000); each walks 9 transitions
 *   BENCH_MAX_SECONDS    time budget of one measured run (20); workers take no new sample after it
 *   BENCH_WARMUP         samples driven untimed before the measured runs (50)
 *   BENCH_INTAKE_SAMPLES samples created + received one at a time per intake run, at c=16 and c=64 (2000; 0: skip the
 *                        intake runs); three 500-sample submissions are also created and batch-received
 *   BENCH_CHILD_NODE_OPTIONS  NODE_OPTIONS for the started server (e.g. "--require ./my-profiler.cjs"; Node 20 refuses
 *                        --cpu-prof in NODE_OPTIONS)
 *   BENCH_NO_NOTIFY=1    also run the bare statements with the sample_events NOTIFY trigger disabled ("bare-nn"):
 *                        every NOTIFY-ing commit takes one database-wide lock held through its WAL flush
 *
 * A measurement: exits 0 whether or not the targets are met; non-zero only when the run itself fails.
 */
import { ShardingConfig, SqlMessageStorage } from "@effect/cluster"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { spawn, type ChildProcess } from "node:child_process"
import { randomUUID } from "node:crypto"
import http from "node:http"
import { readdirSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { migrate } from "../persistence/Migrations.ts"
import { commitStatement, type NewEvent } from "../persistence/SampleRepo.ts"
import type { SampleState } from "../rpc/Workflow.ts"

// ---------------------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------------------

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost"])

const intEnv = (name: string, fallback: number, min: number, max: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in ${min}..${max}, got "${raw}"`)
  return n
}

const localUrl = (name: string, raw: string): URL => {
  const url = new URL(raw)
  if (!LOCAL_HOSTS.has(url.hostname)) throw new Error(`${name} must point at 127.0.0.1 (got ${url.hostname})`)
  return url
}

const settings = (() => {
  const concurrency = (process.env.BENCH_CONCURRENCY ?? "1,16,64").split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number)
  if (concurrency.length === 0 || concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > 512)) {
    throw new Error(`BENCH_CONCURRENCY must be a list of integers in 1..512, got "${process.env.BENCH_CONCURRENCY ?? ""}"`)
  }
  // A concurrency given twice would drive the same samples with the same idempotency keys: its second run would
  // measure replays, not transitions.
  if (new Set(concurrency).size !== concurrency.length) {
    throw new Error(`BENCH_CONCURRENCY must not repeat a concurrency, got "${process.env.BENCH_CONCURRENCY ?? ""}"`)
  }
  const target = process.env.BENCH_TARGET_URL
  return {
    adminUrl: localUrl("BENCH_DATABASE_URL", process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"),
    targetUrl: target === undefined || target === "" ? undefined : localUrl("BENCH_TARGET_URL", target),
    concurrency,
    samples: intEnv("BENCH_SAMPLES", 1000, 1, 100_000),
    /** Samples created + received one at a time per intake run (0: no intake runs). */
    intakeSamples: intEnv("BENCH_INTAKE_SAMPLES", 2000, 0, 100_000),
    intakeConcurrency: [16, 64],
    maxSeconds: intEnv("BENCH_MAX_SECONDS", 20, 1, 600),
    warmup: intEnv("BENCH_WARMUP", 50, 0, 10_000),
    poolSize: 20,
    childNodeOptions: process.env.BENCH_CHILD_NODE_OPTIONS,
    noNotify: process.env.BENCH_NO_NOTIFY === "1",
    /** The API key requests carry (the bootstrap admin token of the system the benchmark starts, or BENCH_API_KEY). */
    apiKey: process.env.BENCH_API_KEY ?? "bench-admin-token-0123456789abcdef"
  }
})()

// ---------------------------------------------------------------------------------------------------------------
// The workflow a sample walks: receive, then the eight steps with data that passes every gate
// ---------------------------------------------------------------------------------------------------------------

const KIT = "SQK-LSK114"

/** Details given at creation, the same on both paths (they end up in the state jsonb). */
const DETAILS = {
  sampleType: "gDNA",
  organism: "Homo sapiens",
  buffer: "EB",
  volumeUl: 30,
  concentrationNgUl: 60,
  libraryKit: KIT,
  basecallingModel: "hac",
  genomeSizeMb: 3100,
  targetCoverage: 30
} as const

const STEPS: ReadonlyArray<readonly [step: string, data: Record<string, unknown>]> = [
  ["sample_qc", { qubitNgUl: 60, volumeUl: 30, nanodropNgUl: 72, a260_280: 1.86, a260_230: 2.05, din: 8.4 }],
  ["library_prep", { kit: KIT, inputNg: 1000, operator: "bench" }],
  ["library_qc", { libraryNgUl: 12.5, fmol: 50, meanFragmentLengthBp: 8500 }],
  ["sequencing_setup", { flowCellId: "FAX12345", flowCellProductCode: "FLO-MIN114", poreCount: 1500, device: "MinION Mk1D", position: "MN40123" }],
  ["sequencing_run", { runId: "20250101_1200_MN40123_FAX12345_abcdef12", yieldGb: 12.5, reads: 1_250_000, n50: 15_000 }],
  ["basecalling", { model: "hac", softwareVersion: "dorado 0.9.1", passReadPercent: 92.5 }],
  ["quality_assessment", { meanQ: 18.2, coverage: 31.5, passed: true }],
  ["data_delivery", { method: "s3", location: "s3://facility-delivery/bench/run-0001/", retentionDays: 30 }]
]

/** Transitions per sample: receive + 8 advances. */
const TRANSITIONS = 1 + STEPS.length

// ---------------------------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------------------------

interface RunResult {
  readonly path: "http" | "bare" | "bare-nn"
  readonly concurrency: number
  readonly ok: number
  readonly errors: number
  readonly seconds: number
  readonly latencies: Float64Array
  readonly samplesStarted: number
  readonly samplesCompleted: number
  readonly newConnections: number
  readonly cutShort: boolean
  readonly cpu?: CpuSplit
  readonly waits?: string
  /** After an HTTP run: how long the notifier trailed it, and CPU per transition including the notifier's work. */
  readonly notifications?: { readonly trailingSeconds: number | undefined; readonly cpu: CpuSplit }
  /** During an HTTP run: the server's garbage-collection pauses and event-loop lag (its /metrics, before and after). */
  readonly runtime?: RuntimeDelta
}

const percentile = (sorted: Float64Array, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] ?? Number.NaN
}

class Latencies {
  private buf: Float64Array
  private n = 0
  constructor(capacity: number) {
    this.buf = new Float64Array(Math.max(16, capacity))
  }
  push(ms: number) {
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2)
      bigger.set(this.buf)
      this.buf = bigger
    }
    this.buf[this.n++] = ms
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort()
  }
}

/** The first few errors of a run in full, and a count of all of them by kind. */
class ErrorLog {
  private readonly byKind = new Map<string, number>()
  private shown = 0
  constructor(private readonly label: string) {}
  add(kind: string, detail: string) {
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1)
    if (this.shown < 10) {
      this.shown++
      console.log(`  ! ${this.label}: ${kind}: ${detail.slice(0, 400)}`)
    }
  }
  summary(): string {
    return [...this.byKind].map(([k, n]) => `${k} × ${n}`).join(", ")
  }
}

/** `workers` loops that each take the next sample until none is left or the time budget is spent. */
const drive = async (
  ids: ReadonlyArray<string>,
  workers: number,
  deadline: number,
  walk: (id: string, index: number) => Promise<boolean>
): Promise<{ started: number; completed: number; cutShort: boolean }> => {
  let next = 0
  let completed = 0
  let cutShort = false
  const worker = async () => {
    while (next < ids.length) {
      if (performance.now() > deadline) {
        cutShort = true
        return
      }
      const index = next++
      const id = ids[index]
      if (id === undefined) return
      if (await walk(id, index)) completed++
    }
  }
  await Promise.all(Array.from({ length: workers }, worker))
  return { started: next, completed, cutShort }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP path
// ---------------------------------------------------------------------------------------------------------------

interface HttpReply {
  readonly status: number
  readonly body: string
  readonly reused: boolean
}

const httpRequest = (
  agent: http.Agent,
  base: URL,
  method: string,
  pathname: string,
  body: string | undefined,
  headers: Record<string, string> = {}
): Promise<HttpReply> =>
  new Promise((resolve, reject) => {
    const req = http.request({
      host: base.hostname,
      port: base.port,
      method,
      path: pathname,
      agent,
      headers: {
        accept: "application/json",
        authorization: `Bearer ${settings.apiKey}`,
        ...(body !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {}),
        ...headers
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), reused: req.reusedSocket }))
      res.on("error", reject)
    })
    req.setTimeout(30_000, () => req.destroy(new Error("request timed out after 30 s")))
    req.on("error", reject)
    req.end(body)
  })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The server's runtime histograms (runtime/NodeMetrics.ts) as read from its /metrics: each series' value by line key. */
const scrapeRuntime = async (base: URL): Promise<Map<string, number>> => {
  const agent = new http.Agent({ keepAlive: false })
  try {
    const reply = await httpRequest(agent, base, "GET", "/metrics", undefined, { accept: "text/plain" })
    const values = new Map<string, number>()
    if (reply.status !== 200) return values
    for (const line of reply.body.split("\n")) {
      if (!line.startsWith("poretrack_gc_pause_seconds") && !line.startsWith("poretrack_event_loop_lag_seconds")) continue
      const at = line.lastIndexOf(" ")
      values.set(line.slice(0, at), Number(line.slice(at + 1)))
    }
    return values
  } catch {
    return new Map()
  } finally {
    agent.destroy()
  }
}

/** One histogram's observations during a run: how many, their sum, and the bucket bound the longest fell under. */
interface HistogramDelta {
  readonly count: number
  readonly sumSeconds: number
  /** The smallest bucket bound holding every observation ("+Inf" past the last). */
  readonly longestUnder: string
  /** Observations above 16 ms and above 64 ms. */
  readonly over16ms: number
  readonly over64ms: number
}

interface RuntimeDelta {
  readonly gc: ReadonlyMap<string, HistogramDelta>
  readonly lag: HistogramDelta | undefined
}

const histogramDelta = (before: Map<string, number>, after: Map<string, number>, name: string, labels: string): HistogramDelta | undefined => {
  const d = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0)
  const count = d(`${name}_count${labels}`)
  if (count <= 0) return undefined
  const sep = labels === "" ? "{" : `${labels.slice(0, -1)},`
  const buckets = [...after.keys()]
    .filter((k) => k.startsWith(`${name}_bucket${sep}le="`))
    .map((k) => ({ le: k.slice(k.lastIndexOf('le="') + 4, -2), n: d(k) }))
    .filter((b) => b.le !== "+Inf")
    .sort((a, b) => Number(a.le) - Number(b.le))
  const under = (seconds: number) => buckets.filter((b) => Number(b.le) <= seconds).reduce((n, b) => Math.max(n, b.n), 0)
  const holding = buckets.find((b) => b.n >= count)
  return {
    count,
    sumSeconds: d(`${name}_sum${labels}`),
    longestUnder: holding === undefined ? "+Inf" : `${fmt(Number(holding.le) * 1000, 0)} ms`,
    over16ms: count - under(0.016),
    over64ms: count - under(0.064)
  }
}

const runtimeDelta = (before: Map<string, number>, after: Map<string, number>): RuntimeDelta | undefined => {
  if (after.size === 0) return undefined
  const gc = new Map<string, HistogramDelta>()
  for (const kind of ["minor", "major", "incremental"]) {
    const h = histogramDelta(before, after, "poretrack_gc_pause_seconds", `{kind="${kind}"}`)
    if (h !== undefined) gc.set(kind, h)
  }
  return { gc, lag: histogramDelta(before, after, "poretrack_event_loop_lag_seconds", "") }
}

/** Creates `n` samples through POST /api/v1/submissions, 500 rows at a time; returns ids and submission ids. */
const createViaHttp = async (base: URL, n: number, label: string) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const ids: Array<string> = []
  const submissions: Array<string> = []
  try {
    for (let offset = 0; offset < n; offset += 500) {
      const count = Math.min(500, n - offset)
      const body = JSON.stringify({
        submitterEmail: "bench@facility.example",
        submitterName: "Bench Mark",
        lab: "Genomics core",
        source: "api",
        priority: "normal",
        flowCellType: "R10.4.1",
        samples: Array.from({ length: count }, (_, i) => ({ sampleName: `${label}-${offset + i + 1}`, ...DETAILS }))
      })
      const reply = await httpRequest(agent, base, "POST", "/api/v1/submissions", body, { "x-actor": "bench" })
      if (reply.status !== 201) throw new Error(`POST /api/v1/submissions → ${reply.status}: ${reply.body.slice(0, 500)}`)
      const parsed: unknown = JSON.parse(reply.body)
      if (!isRecord(parsed) || !Array.isArray(parsed.samples) || !isRecord(parsed.submission)) {
        throw new Error("unexpected submission reply")
      }
      submissions.push(String(parsed.submission.id))
      for (const s of parsed.samples) {
        if (isRecord(s) && typeof s.id === "string") ids.push(s.id)
      }
    }
  } finally {
    agent.destroy()
  }
  if (ids.length !== n) throw new Error(`expected ${n} samples, got ${ids.length}`)
  return { ids, submissions }
}

const httpRun = async (base: URL, ids: ReadonlyArray<string>, concurrency: number, runTag: string): Promise<RunResult> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })
  const latencies = new Latencies(ids.length * TRANSITIONS)
  const errors = new ErrorLog(`http c=${concurrency}`)
  let ok = 0
  let errorCount = 0
  let newConnections = 0
  const requests = [
    { path: "receive", body: "{}" },
    ...STEPS.map(([step, data]) => ({ path: "workflow/advance", body: JSON.stringify({ expectedStep: step, data }) }))
  ]
  const start = performance.now()
  const { completed, cutShort, started } = await drive(ids, concurrency, start + settings.maxSeconds * 1000, async (id) => {
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!
      const t0 = performance.now()
      let reply: HttpReply
      try {
        reply = await httpRequest(agent, base, "POST", `/api/v1/samples/${id}/${r.path}`, r.body, {
          "idempotency-key": `${runTag}-${id}-${i}`,
          "x-actor": "bench"
        })
      } catch (e) {
        errorCount++
        errors.add("network", `${id} #${i}: ${e instanceof Error ? e.message : String(e)}`)
        return false
      }
      const ms = performance.now() - t0
      if (!reply.reused) newConnections++
      if (reply.status < 200 || reply.status > 299) {
        errorCount++
        errors.add(`HTTP ${reply.status}`, `${id} #${i} ${r.path}: ${reply.body}`)
        return false
      }
      ok++
      latencies.push(ms)
      if (i === requests.length - 1) {
        const parsed: unknown = JSON.parse(reply.body)
        const status = isRecord(parsed) && isRecord(parsed.sample) ? parsed.sample.status : undefined
        if (status !== "completed") {
          errors.add("not completed", `${id}: final status ${String(status)}`)
          return false
        }
      }
    }
    return true
  })
  const seconds = (performance.now() - start) / 1000
  agent.destroy()
  if (errorCount > 0) console.log(`  http c=${concurrency} errors: ${errors.summary()}`)
  return {
    path: "http",
    concurrency,
    ok,
    errors: errorCount,
    seconds,
    latencies: latencies.sorted(),
    samplesStarted: started,
    samplesCompleted: completed,
    newConnections,
    cutShort
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Intake: samples created and received through HTTP
// ---------------------------------------------------------------------------------------------------------------

interface IntakeResult {
  readonly samples: number
  readonly errors: number
  readonly seconds: number
  readonly latencies: Float64Array
}

/** One sample at a time per worker: POST /api/v1/samples, then POST …/receive; a sample counts when both answered 2xx. */
const intakeRun = async (base: URL, n: number, concurrency: number, runTag: string): Promise<IntakeResult> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })
  const latencies = new Latencies(n)
  const errors = new ErrorLog(`intake c=${concurrency}`)
  let ok = 0
  let errorCount = 0
  const names = Array.from({ length: n }, (_, i) => `${runTag}-${i + 1}`)
  const start = performance.now()
  try {
    await drive(names, concurrency, start + settings.maxSeconds * 1000, async (name) => {
      const t0 = performance.now()
      const body = JSON.stringify({ sampleName: name, submitterEmail: "bench@facility.example", flowCellType: "R10.4.1", ...DETAILS })
      const created = await httpRequest(agent, base, "POST", "/api/v1/samples", body, { "idempotency-key": `${name}-c`, "x-actor": "bench" })
        .catch((e: unknown) => ({ status: 0, body: String(e), reused: false }))
      const parsed: unknown = created.status === 201 ? JSON.parse(created.body) : undefined
      if (!isRecord(parsed) || typeof parsed.id !== "string") {
        errorCount++
        errors.add(String(created.status), created.body.slice(0, 200))
        return false
      }
      const received = await httpRequest(agent, base, "POST", `/api/v1/samples/${parsed.id}/receive`, undefined, {
        "idempotency-key": `${name}-r`,
        "x-actor": "bench"
      }).catch((e: unknown) => ({ status: 0, body: String(e), reused: false }))
      if (received.status !== 200) {
        errorCount++
        errors.add(String(received.status), received.body.slice(0, 200))
        return false
      }
      ok++
      latencies.push(performance.now() - t0)
      return true
    })
  } finally {
    agent.destroy()
  }
  const seconds = (performance.now() - start) / 1000
  if (errorCount > 0) console.log(`  intake c=${concurrency} errors: ${errors.summary()}`)
  return { samples: ok, errors: errorCount, seconds, latencies: latencies.sorted() }
}

/** A 500-sample submission created (POST /api/v1/submissions) and received (POST /api/v1/samples/batch/receive). */
const submissionIntake = async (base: URL, size: number, label: string): Promise<{ createMs: number; receiveMs: number; received: number }> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    const t0 = performance.now()
    const created = await createViaHttp(base, size, label)
    const t1 = performance.now()
    const reply = await httpRequest(agent, base, "POST", "/api/v1/samples/batch/receive", JSON.stringify({ sampleIds: created.ids }), {
      "idempotency-key": `${label}-batch`,
      "x-actor": "bench"
    })
    const t2 = performance.now()
    if (reply.status !== 200) throw new Error(`batch receive → ${reply.status}: ${reply.body.slice(0, 300)}`)
    const parsed: unknown = JSON.parse(reply.body)
    const received = isRecord(parsed) && typeof parsed.succeeded === "number" ? parsed.succeeded : 0
    return { createMs: t1 - t0, receiveMs: t2 - t1, received }
  } finally {
    agent.destroy()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bare PostgreSQL path: the very statement SampleRepo.commit runs (commitStatement), imported, so it cannot drift
// ---------------------------------------------------------------------------------------------------------------

interface SimStep {
  step: string
  status: string
  attempt: number
  queuedAt?: number
  startedAt?: number
  finishedAt?: number
  data?: Record<string, unknown>
}

interface SimState {
  id: string
  submissionId: string
  position: number
  sampleName: string
  submitterEmail: string
  priority: string
  flowCellType: string
  details: typeof DETAILS
  status: string
  current: number
  steps: Array<SimStep>
  sla: { turnaround?: { key: string; startAt: number; dueAt: number }; step?: { key: string; startAt: number; dueAt: number }; raised: Array<string> }
  createdAt: number
  receivedAt?: number
  completedAt?: number
  updatedAt: number
  version: number
}

const HOUR = 3_600_000

const newSimState = (id: string, submissionId: string, position: number, name: string, now: number): SimState => ({
  id,
  submissionId,
  position,
  sampleName: name,
  submitterEmail: "bench@facility.example",
  priority: "normal",
  flowCellType: "R10.4.1",
  details: DETAILS,
  status: "submitted",
  current: 0,
  steps: STEPS.map(([step]) => ({ step, status: "pending", attempt: 0 })),
  sla: { raised: [] },
  createdAt: now,
  updatedAt: now,
  version: 1
})

/** Transition `i` (0 = receive, 1..8 = complete step i-1) of a simulated sample, as the entity would compute it. */
const simTransition = (s: SimState, i: number, now: number): { next: SimState; events: Array<{ id: string; type: string; data: Record<string, unknown> }> } => {
  const steps = s.steps.map((x) => ({ ...x }))
  const queueStep = (k: number) => {
    const st = steps[k]!
    steps[k] = { step: st.step, status: "queued", attempt: st.attempt + 1, queuedAt: now }
    return { key: `step:${st.step}#${st.attempt + 1}`, startAt: now, dueAt: now + HOUR }
  }
  if (i === 0) {
    const stepClock = queueStep(0)
    const next: SimState = {
      ...s, steps, status: "in_progress", current: 0, receivedAt: now,
      sla: { raised: [], turnaround: { key: "turnaround", startAt: now, dueAt: now + 120 * HOUR }, step: stepClock },
      updatedAt: now, version: s.version + 1
    }
    return { next, events: [{ id: randomUUID(), type: "SampleReceived", data: { step: STEPS[0]![0] } }] }
  }
  const k = i - 1
  const [stepName, data] = STEPS[k]!
  const cur = steps[k]!
  steps[k] = { ...cur, status: "completed", startedAt: now, finishedAt: now, data }
  const last = k === STEPS.length - 1
  const completedEvent = {
    id: randomUUID(),
    type: "WorkflowStepCompleted",
    data: { step: stepName, attempt: cur.attempt, data, nextStep: last ? null : STEPS[k + 1]![0] }
  }
  if (last) {
    const next: SimState = { ...s, steps, status: "completed", completedAt: now, sla: { raised: [] }, updatedAt: now, version: s.version + 1 }
    return { next, events: [completedEvent, { id: randomUUID(), type: "SampleCompleted", data: {} }] }
  }
  const stepClock = queueStep(k + 1)
  const next: SimState = { ...s, steps, current: k + 1, sla: { ...s.sla, step: stepClock }, updatedAt: now, version: s.version + 1 }
  return { next, events: [completedEvent] }
}

/** What the API would reply (and store as the idempotency record): the sample view, the event ids, the key. */
const simResult = (s: SimState, events: ReadonlyArray<{ id: string; type: string }>, key: string) => {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())
  const inFlow = s.status === "in_progress"
  return {
    sample: {
      id: s.id, submissionId: s.submissionId, position: s.position, sampleName: s.sampleName, submitterEmail: s.submitterEmail,
      priority: s.priority, flowCellType: s.flowCellType, details: s.details, status: s.status,
      currentStep: inFlow ? s.steps[s.current]!.step : null, stepState: inFlow ? s.steps[s.current]!.status : null,
      hold: null, failure: null, cancelReason: null,
      sla: { status: inFlow ? "on_track" : "none", turnaroundDueAt: iso(s.sla.turnaround?.dueAt), stepDueAt: iso(s.sla.step?.dueAt), raised: s.sla.raised },
      estimatedCompletion: iso(s.completedAt ?? s.updatedAt + 59 * HOUR), createdAt: iso(s.createdAt), receivedAt: iso(s.receivedAt),
      completedAt: iso(s.completedAt), updatedAt: iso(s.updatedAt), version: s.version
    },
    events: events.map((e) => ({ id: e.id, type: e.type })),
    idempotencyKey: key
  }
}

const PRIORITY_RANK = 1 // "normal"

/** Inserts `n` samples (one submission per 500) straight into the schema, with their SampleCreated events. */
const createBare = async (pool: pg.Pool, n: number, label: string) => {
  const states: Array<SimState> = []
  const submissions: Array<string> = []
  const now = Date.now()
  for (let offset = 0; offset < n; offset += 500) {
    const count = Math.min(500, n - offset)
    const submissionId = randomUUID()
    submissions.push(submissionId)
    const batch = Array.from({ length: count }, (_, i) => newSimState(randomUUID(), submissionId, i + 1, `${label}-${offset + i + 1}`, now))
    states.push(...batch)
    const rows = batch.map((s) => ({
      id: s.id, position: s.position, name: s.sampleName, submitter_email: s.submitterEmail, priority: s.priority,
      priority_rank: PRIORITY_RANK, status: s.status, state: s
    }))
    const events = batch.map((s) => ({
      id: randomUUID(), sample_id: s.id, position: s.position, type: "SampleCreated",
      data: { sampleName: s.sampleName, position: s.position, priority: s.priority, flowCellType: s.flowCellType, submitterEmail: s.submitterEmail }
    }))
    await pool.query(`
      WITH sub AS (
        INSERT INTO submissions (id, number, submitter_email, source, sample_count, data, created_by, created_at)
        VALUES ($1, $2, 'bench@facility.example', 'api', $3, '{}'::jsonb, 'bench', $4) RETURNING id
      ), smp AS (
        INSERT INTO samples (id, submission_id, position, name, submitter_email, priority, priority_rank, status, created_at, updated_at, version, state)
        SELECT r.id, sub.id, r.position, r.name, r.submitter_email, r.priority, r.priority_rank, r.status, $4, $4, 1, r.state
        FROM sub, jsonb_to_recordset($5::jsonb) AS r(id uuid, position int, name text, submitter_email text, priority text,
          priority_rank smallint, status text, state jsonb)
        RETURNING 1
      ), ev AS (
        INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
        SELECT e.id, e.sample_id, sub.id, e.type, 1, 'bench', $4, e.data
        FROM sub, jsonb_to_recordset($6::jsonb) AS e(id uuid, sample_id uuid, position int, type text, data jsonb)
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM smp)::int AS samples, (SELECT count(*) FROM ev)::int AS events`,
      [submissionId, `BENCH-${submissionId.slice(0, 13)}`, count, new Date(now), JSON.stringify(rows), JSON.stringify(events)])
  }
  return { states, submissions }
}

let wakeIds = Date.now() * 1000

const bareRun = async (pool: pg.Pool, states: ReadonlyArray<SimState>, concurrency: number, runTag: string, label: "bare" | "bare-nn" = "bare"): Promise<RunResult> => {
  const byId = new Map(states.map((s) => [s.id, s]))
  const latencies = new Latencies(states.length * TRANSITIONS)
  const errors = new ErrorLog(`bare c=${concurrency}`)
  let ok = 0
  let errorCount = 0
  const start = performance.now()
  const { completed, cutShort, started } = await drive(states.map((s) => s.id), concurrency, start + settings.maxSeconds * 1000, async (id) => {
    let state = byId.get(id)
    if (state === undefined) return false
    for (let i = 0; i < TRANSITIONS; i++) {
      const t0 = performance.now()
      // The work the entity does per transition in Node (compute, serialize) is part of this path too.
      const now = Date.now()
      const { events, next } = simTransition(state, i, now)
      const key = `${runTag}-${id}-${i}`
      // The simulated state and events have the shapes the entity writes (SampleState, NewEvent); the statement and its
      // parameters (projections, fence, events, idempotency record) are built by the entity's own code.
      const statement = commitStatement([{
        expectedVersion: state.version,
        state: next as unknown as SampleState,
        events: events as unknown as ReadonlyArray<NewEvent>,
        actor: "bench",
        command: { key, tag: i === 0 ? "Receive" : "CompleteStep", fingerprint: "fingerprint-" + key, result: simResult(next, events, key) },
        // An armed SLA timer, as the entity records one (its time differs: it arms the earliest threshold): the timer
        // row stored and the superseded ones deleted in the same statement.
        timerAt: next.sla.step?.dueAt ?? null,
        wake: next.sla.step === undefined ? null : {
          requestId: String(++wakeIds),
          messageId: `Sample/${id}/Wake/wake/${next.sla.step.dueAt}/v${next.version}`,
          shardId: "default:1",
          payload: JSON.stringify({ at: next.sla.step.dueAt, version: next.version })
        },
        disarm: true
      }])
      try {
        // The same prepared statement as the entity's (PgPool.ts prepares it on each connection by this name).
        const res = await pool.query<{ applied: Array<number> }>({ name: statement.name, text: statement.text, values: [...statement.values] })
        const ms = performance.now() - t0
        if (res.rows[0]?.applied.length !== 1) {
          errorCount++
          errors.add("fence", `${id} #${i}: version ${state.version} not found`)
          return false
        }
        ok++
        latencies.push(ms)
        state = next
      } catch (e) {
        errorCount++
        errors.add("sql", `${id} #${i}: ${e instanceof Error ? e.message : String(e)}`)
        return false
      }
    }
    return true
  })
  const seconds = (performance.now() - start) / 1000
  if (errorCount > 0) console.log(`  bare c=${concurrency} errors: ${errors.summary()}`)
  return {
    path: label,
    concurrency,
    ok,
    errors: errorCount,
    seconds,
    latencies: latencies.sorted(),
    samplesStarted: started,
    samplesCompleted: completed,
    newConnections: 0,
    cutShort
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc; absent elsewhere): who spent the CPU of a run
// ---------------------------------------------------------------------------------------------------------------

const CLK_TCK = 100

/** utime + stime of a process in ms, and its process group; undefined when it is gone or /proc is absent. */
const procStat = (pid: number): { cpuMs: number; pgrp: number } | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
    return Number.isFinite(cpuMs) ? { cpuMs, pgrp: Number(fields[2]) } : undefined
  } catch {
    return undefined
  }
}

/** The peak resident memory (VmHWM) of a process in MiB; undefined when it is gone or /proc is absent. */
const peakRssMiB = (pid: number): number | undefined => {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m ? Number(m[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

/** Pids of the process group `pgrp` (the started server: the node process `npm start` runs). */
const groupPids = (pgrp: number): Array<number> => {
  try {
    return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => procStat(pid)?.pgrp === pgrp)
  } catch {
    return []
  }
}

/** Busy and total CPU ticks of the whole machine. */
const machineTicks = (): { busy: number; total: number } | undefined => {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? ""
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number)
    const total = v.reduce((a, b) => a + b, 0)
    return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total }
  } catch {
    return undefined
  }
}

interface CpuSnapshot {
  readonly at: number
  readonly server: Map<number, number>
  readonly backends: Map<number, number>
  readonly client: NodeJS.CpuUsage
  readonly machine: { busy: number; total: number } | undefined
}

/** CPU ms per transition of each party, and how many cores the whole machine kept busy. */
interface CpuSplit {
  readonly serverMs: number | undefined
  readonly postgresMs: number | undefined
  readonly clientMs: number
  readonly machineBusyCores: number | undefined
}

const cpuOf = (pids: ReadonlyArray<number>) => {
  const out = new Map<number, number>()
  for (const pid of pids) {
    const st = procStat(pid)
    if (st !== undefined) out.set(pid, st.cpuMs)
  }
  return out
}

/** The PostgreSQL backends serving `database` (other than the asking one). */
const backendPids = async (admin: pg.Client, database: string): Promise<Array<number>> => {
  const r = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database])
  return r.rows.map((row) => row.pid)
}

/** Samples what the run database's active backends are doing (every 100 ms) until stopped. */
const sampleWaits = (admin: pg.Client, database: string) => {
  const tally = new Map<string, number>()
  let samples = 0
  let running = true
  const loop = (async () => {
    while (running) {
      try {
        const r = await admin.query<{ w: string; n: number }>(`
          SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, count(*)::int AS n
          FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1`, [database])
        samples++
        for (const row of r.rows) tally.set(row.w, (tally.get(row.w) ?? 0) + row.n)
      } catch {
        // sampling is best effort
      }
      await sleep(100)
    }
  })()
  return async (): Promise<string> => {
    running = false
    await loop
    if (samples === 0) return "-"
    const top = [...tally].sort((a, b) => b[1] - a[1]).slice(0, 4)
    return top.map(([w, n]) => `${w} ${fmt(n / samples, 1)}`).join(", ") || "idle"
  }
}

const cpuSnapshot = async (admin: pg.Client, database: string, serverPids: ReadonlyArray<number>): Promise<CpuSnapshot> => ({
  at: performance.now(),
  server: cpuOf(serverPids),
  backends: cpuOf(await backendPids(admin, database)),
  client: process.cpuUsage(),
  machine: machineTicks()
})

const cpuSplit = async (admin: pg.Client, database: string, serverPids: ReadonlyArray<number>, before: CpuSnapshot, transitions: number): Promise<CpuSplit> => {
  const after = await cpuSnapshot(admin, database, serverPids)
  const delta = (a: Map<number, number>, b: Map<number, number>) => {
    let sum = 0
    for (const [pid, ms] of a) sum += ms - (b.get(pid) ?? 0)
    return sum
  }
  const per = (ms: number) => ms / Math.max(1, transitions)
  const client = process.cpuUsage(before.client)
  const m0 = before.machine
  const m1 = after.machine
  const seconds = (after.at - before.at) / 1000
  return {
    serverMs: serverPids.length > 0 && after.server.size > 0 ? per(delta(after.server, before.server)) : undefined,
    postgresMs: after.backends.size > 0 ? per(delta(after.backends, before.backends)) : undefined,
    clientMs: per((client.user + client.system) / 1000),
    machineBusyCores: m0 !== undefined && m1 !== undefined && seconds > 0 ? (m1.busy - m0.busy) / CLK_TCK / seconds : undefined
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The system under test, its database, cleanup
// ---------------------------------------------------------------------------------------------------------------

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Waits until the notifier of the server's database has caught up (its cursor at the newest event, no delivery
 * queued): the seconds it took, or none after 120 s. The notifications a run's transitions owe are part of its work.
 */
const notificationsSettled = async (databaseUrl: string): Promise<number | undefined> => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const t0 = performance.now()
  try {
    while (performance.now() - t0 < 120_000) {
      const r = await client.query<{ queued: number; caught_up: boolean }>(`
        SELECT (SELECT count(*) FROM notification_deliveries WHERE status = 'queued')::int AS queued,
               coalesce((SELECT (c.tx, c.seq) >= (SELECT e.tx, e.seq FROM sample_events e ORDER BY e.tx DESC, e.seq DESC LIMIT 1)
                 FROM event_consumers c WHERE c.owner = 'system' AND c.name = 'notifications'), false) AS caught_up`)
      const row = r.rows[0]
      if (row !== undefined && row.queued === 0 && row.caught_up) return (performance.now() - t0) / 1000
      await sleep(50)
    }
    return undefined
  } finally {
    await client.end()
  }
}

const withAdmin = async <A>(f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: settings.adminUrl.toString() })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

interface Child {
  readonly process: ChildProcess
  readonly tail: Array<string>
  exited: boolean
  errorLines: number
}

/** The command line of package.json's `start` script, split into words (it has no quoting). */
const startCommand = (): Array<string> => {
  const manifest: unknown = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"))
  const start = isRecord(manifest) && isRecord(manifest.scripts) ? manifest.scripts.start : undefined
  if (typeof start !== "string" || start.trim() === "") throw new Error("package.json has no start script")
  return start.trim().split(/\s+/)
}

const startChild = (databaseUrl: string, port: number, runnerPort: number): Child => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HTTP_HOST: "127.0.0.1",
    RUNNER_PORT: String(runnerPort),
    RUNNER_HOST: "127.0.0.1",
    // Authentication stays on: every request carries this admin key. The per-key rate limit is raised so that the
    // benchmark measures the hot path, not the limiter's refusals.
    PORETRACK_ADMIN_TOKEN: settings.apiKey,
    RATE_LIMIT_PER_SECOND: "1000000",
    RATE_LIMIT_BURST: "1000000"
  }
  if (settings.childNodeOptions !== undefined) env.NODE_OPTIONS = settings.childNodeOptions
  else delete env.NODE_OPTIONS
  // Exactly what `npm start` runs (its node flags included), without npm's prestart build check.
  const [command, ...args] = startCommand()
  const proc = spawn(command === "node" ? process.execPath : command!, args, {
    cwd: ROOT,
    env,
    detached: true, // its own process group, so tsx and the node process under it stop together
    stdio: ["ignore", "pipe", "pipe"]
  })
  const child: Child = { process: proc, tail: [], exited: false, errorLines: 0 }
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim() === "") continue
      if (/\b(ERROR|Error|FATAL|level=Error)\b/.test(line)) child.errorLines++
      child.tail.push(line)
      if (child.tail.length > 60) child.tail.shift()
    }
  }
  proc.stdout?.on("data", collect)
  proc.stderr?.on("data", collect)
  proc.on("exit", () => {
    child.exited = true
  })
  return child
}

const waitReady = async (base: URL, child: Child | undefined, timeoutMs: number) => {
  const agent = new http.Agent({ keepAlive: false })
  const until = performance.now() + timeoutMs
  try {
    while (performance.now() < until) {
      if (child?.exited) throw new Error(`the server exited during start-up:\n${child.tail.join("\n")}`)
      try {
        const reply = await httpRequest(agent, base, "GET", "/health/ready", undefined)
        if (reply.status === 200) return
      } catch {
        // not listening yet
      }
      await sleep(200)
    }
  } finally {
    agent.destroy()
  }
  throw new Error(`GET /health/ready did not answer 200 within ${timeoutMs / 1000} s${child ? `:\n${child.tail.join("\n")}` : ""}`)
}

const stopChild = async (child: Child) => {
  const pid = child.process.pid
  if (child.exited || pid === undefined) return
  const exited = new Promise<void>((resolve) => child.process.once("exit", () => resolve()))
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig) // the group this script started
    } catch {
      // already gone
    }
  }
  signal("SIGTERM")
  const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000))
  if ((await Promise.race([exited, timer])) === "timeout") {
    console.log("server did not stop within 10 s of SIGTERM; sending SIGKILL")
    signal("SIGKILL")
    await Promise.race([exited, sleep(5_000)])
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------------

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-")
const pad = (s: string, w: number) => s.padStart(w)
const rate = (r: RunResult) => r.ok / r.seconds

const printTable = (results: ReadonlyArray<RunResult>) => {
  const head = ["path", "conc", "transitions", "errors", "samples", "seconds", "trans/s", "p50 ms", "p99 ms", "max ms", "HTTP/bare"]
  const widths = [7, 5, 12, 7, 10, 8, 9, 8, 8, 8, 10]
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => pad(c, widths[i] ?? 8)).join(" ")
  console.log("")
  console.log(line(head))
  console.log(widths.map((w) => "-".repeat(w)).join(" "))
  for (const c of settings.concurrency) {
    const http = results.find((r) => r.path === "http" && r.concurrency === c)
    const bare = results.find((r) => r.path === "bare" && r.concurrency === c)
    const nn = results.find((r) => r.path === "bare-nn" && r.concurrency === c)
    for (const r of [http, bare, nn]) {
      if (r === undefined) continue
      const ratio = r.path === "http" && bare !== undefined ? `${fmt((100 * rate(r)) / rate(bare), 0)} %` : ""
      console.log(line([
        r.path, String(c), String(r.ok), String(r.errors), `${r.samplesCompleted}/${r.samplesStarted}${r.cutShort ? "*" : ""}`,
        fmt(r.seconds, 1), fmt(rate(r), 0), fmt(percentile(r.latencies, 50), 2), fmt(percentile(r.latencies, 99), 2),
        fmt(percentile(r.latencies, 100), 1), ratio
      ]))
    }
  }
  if (results.some((r) => r.path === "bare-nn")) console.log("bare-nn: bare statements with the sample_events NOTIFY trigger disabled (diagnostic; not a target)")
  if (results.some((r) => r.cutShort)) console.log(`* the ${settings.maxSeconds} s budget of the run ended before every sample was driven`)
}

const printCpu = (results: ReadonlyArray<RunResult>) => {
  if (!results.some((r) => r.cpu !== undefined)) return
  console.log("")
  console.log("CPU per transition (ms) — server: the started node process; postgres: the backends of the run's database;")
  console.log("client: this script; machine: cores busy on average during the run (everything, other users included)")
  const head = ["path", "conc", "server", "postgres", "client", "machine", "  active backends by wait event (avg count)"]
  const widths = [7, 5, 8, 9, 8, 12, 0]
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => pad(c, widths[i] ?? 8)).join(" ")
  console.log(line(head))
  console.log(widths.map((w) => "-".repeat(w || 44)).join(" "))
  for (const r of results) {
    const c = r.cpu
    if (c === undefined) continue
    const f = (v: number | undefined) => (v === undefined ? "-" : fmt(v, 2))
    const m = c.machineBusyCores === undefined ? "-" : `${fmt(c.machineBusyCores, 2)} / ${os.cpus().length}`
    console.log(line([r.path, String(r.concurrency), f(c.serverMs), f(c.postgresMs), f(c.clientMs), m, `  ${r.waits ?? "-"}`]))
  }
}

const printNotifications = (results: ReadonlyArray<RunResult>) => {
  const runs = results.filter((r) => r.notifications !== undefined)
  if (runs.length === 0) return
  console.log("")
  console.log("notifications each HTTP run owed (a received and a delivered e-mail per sample): how long the notifier trailed")
  console.log("the run's last transition, and CPU per transition counting the notifier's work")
  const head = ["conc", "trailing s", "server", "postgres"]
  const widths = [5, 11, 8, 9]
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => pad(c, widths[i] ?? 8)).join(" ")
  console.log(line(head))
  console.log(widths.map((w) => "-".repeat(w)).join(" "))
  for (const r of runs) {
    const n = r.notifications!
    const f = (v: number | undefined) => (v === undefined ? "-" : fmt(v, 2))
    console.log(line([String(r.concurrency), n.trailingSeconds === undefined ? "> 120" : fmt(n.trailingSeconds, 1), f(n.cpu.serverMs), f(n.cpu.postgresMs)]))
  }
}

const printRuntime = (results: ReadonlyArray<RunResult>) => {
  const runs = results.filter((r) => r.runtime !== undefined)
  if (runs.length === 0) return
  console.log("")
  console.log("the server's runtime during each HTTP run (its /metrics): garbage-collection pauses by kind (count, total ms,")
  console.log("the bucket the longest fell under) and event-loop lag of a 20 ms timer (ticks late by > 16 ms and > 64 ms).")
  console.log("Every request in flight waits through a pause or a late tick, so they show in the p99 at c=64")
  const head = ["conc", "minor", "major", "incremental", "lag > 16 / 64 ms", "longest lag"]
  const widths = [5, 22, 22, 22, 17, 12]
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => pad(c, widths[i] ?? 8)).join(" ")
  console.log(line(head))
  console.log(widths.map((w) => "-".repeat(w)).join(" "))
  const gc = (h: HistogramDelta | undefined) => (h === undefined ? "0" : `${h.count}, ${fmt(h.sumSeconds * 1000, 0)} ms, ≤ ${h.longestUnder}`)
  for (const r of runs) {
    const t = r.runtime!
    console.log(line([
      String(r.concurrency), gc(t.gc.get("minor")), gc(t.gc.get("major")), gc(t.gc.get("incremental")),
      t.lag === undefined ? "-" : `${t.lag.over16ms} / ${t.lag.over64ms}`, t.lag === undefined ? "-" : `≤ ${t.lag.longestUnder}`
    ]))
  }
}

const printTargets = (results: ReadonlyArray<RunResult>) => {
  const top = settings.concurrency.includes(64) ? 64 : Math.max(...settings.concurrency)
  const http = results.find((r) => r.path === "http" && r.concurrency === top)
  const bare = results.find((r) => r.path === "bare" && r.concurrency === top)
  if (http === undefined) return
  const mark = (met: boolean) => (met ? "MET    " : "NOT MET")
  const tps = rate(http)
  const p99 = percentile(http.latencies, 99)
  console.log("")
  console.log(`targets (HTTP at concurrency ${top}${top !== 64 ? "; the targets are stated for 64" : ""}):`)
  console.log(`  ${mark(tps >= 1500)} ≥ 1,500 transitions/s          measured ${fmt(tps, 0)}/s`)
  console.log(`  ${mark(p99 < 50)} p99 < 50 ms                    measured ${fmt(p99, 2)} ms`)
  if (bare !== undefined) {
    const ratio = tps / rate(bare)
    console.log(`  ${mark(ratio >= 0.5)} ≥ 50 % of bare PostgreSQL       measured ${fmt(100 * ratio, 0)} % (bare ${fmt(rate(bare), 0)}/s)`)
  }
  const c16 = results.find((r) => r.path === "http" && r.concurrency === 16)
  if (c16 !== undefined && top !== 16) {
    console.log(`  ${mark(tps >= rate(c16))} no less at c=${top} than at c=16    ${fmt(tps, 0)}/s against ${fmt(rate(c16), 0)}/s`)
  }
  const c1 = results.find((r) => r.path === "http" && r.concurrency === 1)
  if (c1 !== undefined) {
    const p50 = percentile(c1.latencies, 50)
    console.log(`  ${mark(p50 <= 3)} c=1: p50 ≤ 3 ms                 measured ${fmt(p50, 2)} ms`)
  }
  const errors = results.filter((r) => r.path === "http").reduce((n, r) => n + r.errors, 0)
  console.log(`  ${mark(errors === 0)} no HTTP errors                 ${errors} non-2xx / failed requests`)
}

// ---------------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------------

const printIntake = (
  intake: ReadonlyArray<{ concurrency: number; result: IntakeResult }>,
  submissions: ReadonlyArray<{ createMs: number; receiveMs: number; received: number }>
) => {
  if (intake.length === 0) return
  console.log("")
  console.log("intake through HTTP (POST /api/v1/samples, then POST …/receive, per sample)")
  console.log(`${pad("conc", 5)} ${pad("samples", 8)} ${pad("errors", 7)} ${pad("seconds", 8)} ${pad("samples/s", 10)} ${pad("p50 ms", 8)} ${pad("p99 ms", 8)}`)
  for (const { concurrency, result: r } of intake) {
    console.log(`${pad(String(concurrency), 5)} ${pad(String(r.samples), 8)} ${pad(String(r.errors), 7)} ${pad(fmt(r.seconds, 1), 8)} ${pad(fmt(r.samples / r.seconds, 0), 10)} ${pad(fmt(percentile(r.latencies, 50), 2), 8)} ${pad(fmt(percentile(r.latencies, 99), 2), 8)}`)
  }
  const totals = submissions.map((t) => t.createMs + t.receiveMs).sort((a, b) => a - b)
  const median = totals[Math.floor(totals.length / 2)] ?? Number.NaN
  for (const [i, t] of submissions.entries()) {
    console.log(`submission of 500 #${i + 1}: create ${fmt(t.createMs, 0)} ms + batch receive ${fmt(t.receiveMs, 0)} ms = ${fmt(t.createMs + t.receiveMs, 0)} ms`)
  }
  const at64 = intake.find((i) => i.concurrency === 64)?.result
  console.log("targets (intake):")
  if (at64 !== undefined) {
    const perSecond = at64.samples / at64.seconds
    console.log(`  ${perSecond >= 1000 ? "MET    " : "NOT MET"} ≥ 1,000 samples/s created + received at c=64   measured ${fmt(perSecond, 0)}/s`)
  }
  console.log(`  ${median < 1000 ? "MET    " : "NOT MET"} 500-sample submission created + received < 1 s   measured ${fmt(median, 0)} ms (median of ${totals.length})`)
}

const main = async (): Promise<void> => {
  const cpus = os.cpus()
  const [load1, load5] = os.loadavg()
  console.log(`poretrack transition benchmark — ${new Date().toISOString()}`)
  console.log(`machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}; load average ${fmt(load1 ?? 0, 2)} / ${fmt(load5 ?? 0, 2)} (1 / 5 min) at start`)
  console.log(`settings: concurrency ${settings.concurrency.join(",")}, ${settings.samples} samples × ${TRANSITIONS} transitions per path and concurrency, ≤ ${settings.maxSeconds} s per run, warm-up ${settings.warmup} samples, pg pool ${settings.poolSize}`)

  const suffix = randomUUID().replace(/-/g, "").slice(0, 12)
  // Two databases of the same schema: the server's, and one for the bare statements (so the server's event feed,
  // woken by NOTIFY on every event insert, does not react to the bare path's writes).
  const serverDb = `poretrack_bench_${suffix}`
  const bareDb = `poretrack_bench_${suffix}_bare`
  const urlOf = (name: string) => {
    const u = new URL(settings.adminUrl.toString())
    u.pathname = `/${name}`
    return u.toString()
  }
  const created: Array<string> = []
  let child: Child | undefined
  let pool: pg.Pool | undefined
  let admin: pg.Client | undefined
  let cleaning: Promise<void> | undefined

  const cleanup = () => {
    cleaning ??= (async () => {
      if (child !== undefined) await stopChild(child)
      if (pool !== undefined) await pool.end().catch(() => undefined)
      if (admin !== undefined) await admin.end().catch(() => undefined)
      await sleep(200)
      for (const name of created) {
        await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
          .then(() => console.log(`dropped database ${name}`))
          .catch((e: unknown) => console.error(`could not drop database ${name}: ${String(e)}`))
      }
    })()
    return cleaning
  }
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\n${sig}: cleaning up`)
    void cleanup().finally(() => process.exit(130))
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)

  try {
    admin = new pg.Client({ connectionString: settings.adminUrl.toString(), application_name: "poretrack-bench-admin" })
    admin.on("error", (e) => console.error(`pg admin: ${e.message}`))
    await admin.connect()
    const version = await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")
    for (const name of [serverDb, bareDb]) {
      await admin.query(`CREATE DATABASE ${name}`)
      created.push(name)
      // The schema (the started server finds it applied).
      await Effect.runPromise(migrate.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(urlOf(name)) }))))
    }
    // The cluster's message table, where the bare path stores its SLA timers as the entity does (the server's
    // database gets it from the runner it starts).
    await Effect.runPromise(Effect.scoped(Layer.build(SqlMessageStorage.layer)).pipe(
      Effect.provide(Layer.merge(PgClient.layer({ url: Redacted.make(urlOf(bareDb)) }), ShardingConfig.layer()))
    ))
    console.log(`databases: ${serverDb}, ${bareDb} on ${settings.adminUrl.host} (PostgreSQL ${version.rows[0]?.v ?? "?"})`)

    let base: URL
    let serverPids: Array<number> = []
    if (settings.targetUrl !== undefined) {
      base = settings.targetUrl
      console.log(`target: ${base.origin} (already running; HTTP samples go to its own database, server CPU is not measured)`)
      await waitReady(base, undefined, 10_000)
    } else {
      const port = await freePort()
      const runnerPort = await freePort()
      base = new URL(`http://127.0.0.1:${port}`)
      const t0 = performance.now()
      child = startChild(urlOf(serverDb), port, runnerPort)
      await waitReady(base, child, 90_000)
      serverPids = child.process.pid === undefined ? [] : groupPids(child.process.pid)
      console.log(`server: ${base.origin}, runner port ${runnerPort}, pids ${serverPids.join(",") || "?"}, ready in ${fmt((performance.now() - t0) / 1000, 1)} s`)
    }

    pool = new pg.Pool({ connectionString: urlOf(bareDb), max: settings.poolSize, application_name: "poretrack-bench" })
    // An idle connection that the server drops must not crash the run (its next query fails and is counted).
    pool.on("error", (e) => console.error(`pg pool: ${e.message}`))

    // Samples first: creation is not timed as transitions.
    const t0 = performance.now()
    const httpSamples = new Map<number, ReadonlyArray<string>>()
    const httpSubmissions: Array<string> = []
    const bareSamples = new Map<number, ReadonlyArray<SimState>>()
    const nnSamples = new Map<number, ReadonlyArray<SimState>>()
    const bareSubmissions: Array<string> = []
    const warmHttp = settings.warmup > 0 ? await createViaHttp(base, settings.warmup, "warm") : undefined
    const warmBare = settings.warmup > 0 ? await createBare(pool, settings.warmup, "warm") : undefined
    for (const c of settings.concurrency) {
      const h = await createViaHttp(base, settings.samples, `c${c}`)
      httpSamples.set(c, h.ids)
      httpSubmissions.push(...h.submissions)
      const b = await createBare(pool, settings.samples, `bare-c${c}`)
      bareSamples.set(c, b.states)
      bareSubmissions.push(...b.submissions)
      if (settings.noNotify) nnSamples.set(c, (await createBare(pool, settings.samples, `nn-c${c}`)).states)
    }
    console.log(`created ${settings.concurrency.length * settings.samples + settings.warmup} samples per path in ${fmt((performance.now() - t0) / 1000, 1)} s`)

    const runTag = randomUUID().slice(0, 8)
    if (warmHttp !== undefined && warmBare !== undefined) {
      await httpRun(base, warmHttp.ids, 4, `${runTag}-warm`)
      await bareRun(pool, warmBare.states, 4, `${runTag}-warm`)
      console.log("warm-up done")
    }

    const adminClient = admin
    const results: Array<RunResult> = []
    const checkpoint = () => adminClient.query("CHECKPOINT").catch(() => undefined)
    for (const c of settings.concurrency) {
      await checkpoint()
      const hBefore = await cpuSnapshot(adminClient, serverDb, serverPids)
      const hWaits = settings.targetUrl === undefined ? sampleWaits(adminClient, serverDb) : undefined
      const runtimeBefore = await scrapeRuntime(base)
      const h = await httpRun(base, httpSamples.get(c) ?? [], c, `${runTag}-h${c}`)
      const runtime = runtimeDelta(runtimeBefore, await scrapeRuntime(base))
      const hCpu = await cpuSplit(adminClient, serverDb, serverPids, hBefore, h.ok)
      const waits = hWaits !== undefined ? await hWaits() : undefined
      // The run's notifications (received, delivered) are delivered while later runs would start: wait for them, so
      // that their work is counted here and does not slow the bare run that follows.
      const trailing = settings.targetUrl === undefined ? await notificationsSettled(urlOf(serverDb)) : undefined
      const withNotifications = settings.targetUrl === undefined ? await cpuSplit(adminClient, serverDb, serverPids, hBefore, h.ok) : undefined
      results.push({
        ...h,
        cpu: settings.targetUrl === undefined ? hCpu : { ...hCpu, serverMs: undefined, postgresMs: undefined },
        ...(waits !== undefined ? { waits } : {}),
        ...(withNotifications !== undefined ? { notifications: { trailingSeconds: trailing, cpu: withNotifications } } : {}),
        ...(runtime !== undefined ? { runtime } : {})
      })
      console.log(`http c=${c}: ${h.ok} transitions in ${fmt(h.seconds, 1)} s = ${fmt(rate(h), 0)}/s, p50 ${fmt(percentile(h.latencies, 50), 2)} ms, p99 ${fmt(percentile(h.latencies, 99), 2)} ms, ${h.errors} errors, ${h.newConnections} connections opened`)
      await checkpoint()
      const bBefore = await cpuSnapshot(adminClient, bareDb, [])
      const bWaits = sampleWaits(adminClient, bareDb)
      const b = await bareRun(pool, bareSamples.get(c) ?? [], c, `${runTag}-b${c}`)
      results.push({ ...b, cpu: await cpuSplit(adminClient, bareDb, [], bBefore, b.ok), waits: await bWaits() })
      console.log(`bare c=${c}: ${b.ok} transitions in ${fmt(b.seconds, 1)} s = ${fmt(rate(b), 0)}/s, p50 ${fmt(percentile(b.latencies, 50), 2)} ms, p99 ${fmt(percentile(b.latencies, 99), 2)} ms, ${b.errors} errors`)
      if (settings.noNotify) {
        await pool.query("ALTER TABLE sample_events DISABLE TRIGGER sample_events_notify")
        await checkpoint()
        const nBefore = await cpuSnapshot(adminClient, bareDb, [])
        const nWaits = sampleWaits(adminClient, bareDb)
        const n = await bareRun(pool, nnSamples.get(c) ?? [], c, `${runTag}-n${c}`, "bare-nn")
        results.push({ ...n, cpu: await cpuSplit(adminClient, bareDb, [], nBefore, n.ok), waits: await nWaits() })
        await pool.query("ALTER TABLE sample_events ENABLE TRIGGER sample_events_notify")
        console.log(`bare-nn c=${c}: ${n.ok} transitions in ${fmt(n.seconds, 1)} s = ${fmt(rate(n), 0)}/s, p50 ${fmt(percentile(n.latencies, 50), 2)} ms, p99 ${fmt(percentile(n.latencies, 99), 2)} ms, ${n.errors} errors`)
      }
    }

    // Intake through HTTP: create + receive one sample at a time, and a whole submission with its batch receive.
    const intake: Array<{ concurrency: number; result: IntakeResult }> = []
    const submissionsTimed: Array<{ createMs: number; receiveMs: number; received: number }> = []
    if (settings.intakeSamples > 0) {
      for (const c of settings.intakeConcurrency) {
        await checkpoint()
        const r = await intakeRun(base, settings.intakeSamples, c, `${runTag}-i${c}`)
        intake.push({ concurrency: c, result: r })
        console.log(`intake c=${c}: ${r.samples} samples created + received in ${fmt(r.seconds, 1)} s = ${fmt(r.samples / r.seconds, 0)}/s, p50 ${fmt(percentile(r.latencies, 50), 2)} ms, p99 ${fmt(percentile(r.latencies, 99), 2)} ms, ${r.errors} errors`)
      }
      for (let i = 0; i < 3; i++) {
        await checkpoint()
        const t = await submissionIntake(base, 500, `${runTag}-sub${i}`)
        submissionsTimed.push(t)
        console.log(`submission of 500: created in ${fmt(t.createMs, 0)} ms, batch-received in ${fmt(t.receiveMs, 0)} ms (${t.received} received)`)
      }
    }

    // Are the two paths writing rows of the same size?
    const sizes = async (db: string, submissions: ReadonlyArray<string>) => {
      const client = new pg.Client({ connectionString: urlOf(db) })
      await client.connect()
      try {
        const r = await client.query<{ state: number | null; result: number | null; event: number | null }>(`
          SELECT (SELECT avg(length(s.state::text)) FROM samples s WHERE s.submission_id = ANY($1::uuid[]) AND s.version > 1)::int AS state,
                 (SELECT avg(length(c.result::text)) FROM sample_commands c JOIN samples s ON s.id = c.sample_id
                   WHERE s.submission_id = ANY($1::uuid[]))::int AS result,
                 (SELECT avg(length(e.data::text)) FROM sample_events e WHERE e.submission_id = ANY($1::uuid[]) AND e.version > 1)::int AS event`,
          [submissions])
        const row = r.rows[0]
        return `state ${row?.state ?? "-"} B, idempotency result ${row?.result ?? "-"} B, event data ${row?.event ?? "-"} B`
      } finally {
        await client.end()
      }
    }
    console.log("")
    if (settings.targetUrl === undefined) console.log(`row sizes (avg JSON text) http: ${await sizes(serverDb, httpSubmissions)}`)
    console.log(`row sizes (avg JSON text) bare: ${await sizes(bareDb, bareSubmissions)}`)

    printTable(results)
    printCpu(results)
    printNotifications(results)
    printRuntime(results)
    printTargets(results)
    printIntake(intake, submissionsTimed)
    const [end1] = os.loadavg()
    console.log("")
    console.log(`load average at the end: ${fmt(end1 ?? 0, 2)} (1 min) on ${cpus.length} cores`)
    if (child !== undefined) {
      const peaks = serverPids.map(peakRssMiB).filter((m): m is number => m !== undefined)
      if (peaks.length > 0) console.log(`server peak resident memory: ${fmt(Math.max(...peaks), 0)} MiB`)
      console.log(`server log: ${child.errorLines} error lines${child.errorLines > 0 ? "; last lines:" : ""}`)
      if (child.errorLines > 0) console.log(child.tail.slice(-15).join("\n"))
    }
  } finally {
    await cleanup()
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error("benchmark crashed:", e instanceof Error ? e.stack ?? e.message : e)
    process.exit(1)
  }
)
