/** The REST bridge over real HTTP: status codes, bodies and headers exactly as an integrator sees them. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { BatchResult, CreatedSubmission, EventList, QueuePage, SamplePage } from "../rpc/Api.ts"
import { CommandResult } from "../rpc/Commands.ts"
import { FieldIssue } from "../rpc/Errors.ts"
import { priorityRank, SampleView, STEP_IDS, WorkflowView, type Priority, type StepId } from "../rpc/Workflow.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

// ---------------------------------------------------------------------------------------------------------------
// HTTP helpers

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: unknown
}

interface RequestOptions {
  /** A value sent as a JSON body. */
  readonly json?: unknown
  /** A body sent verbatim. */
  readonly raw?: string
  readonly headers?: Readonly<Record<string, string>>
}

const call = (method: string, path: string, options: RequestOptions = {}) =>
  Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
    Effect.promise(async (): Promise<Reply> => {
      const body = options.raw !== undefined ? options.raw : options.json !== undefined ? JSON.stringify(options.json) : undefined
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...adminAuth, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...options.headers },
        ...(body !== undefined ? { body } : {})
      })
      const text = await response.text()
      let parsed: unknown
      try {
        parsed = text.length > 0 ? JSON.parse(text) : undefined
      } catch {
        parsed = text
      }
      return { status: response.status, headers: response.headers, text, body: parsed }
    }))

const get = (path: string, headers?: Readonly<Record<string, string>>) => call("GET", path, headers ? { headers } : {})
const post = (path: string, json?: unknown, headers?: Readonly<Record<string, string>>) =>
  call("POST", path, { ...(json !== undefined ? { json } : {}), ...(headers ? { headers } : {}) })

/** Asserts the status (showing the body when it differs) and decodes the body with the contract's schema. */
const decode = <A, I>(schema: Schema.Schema<A, I>, reply: Reply, status: number): A => {
  expect(reply.status, `${reply.status} ${reply.text}`).toBe(status)
  return Schema.decodeUnknownSync(schema)(reply.body)
}

/** The error body every route answers with. */
const ErrorBody = Schema.Struct({
  error: Schema.String,
  message: Schema.String,
  issues: Schema.optional(Schema.Array(FieldIssue)),
  rows: Schema.optional(Schema.Array(Schema.Struct({ row: Schema.Number, issues: Schema.Array(FieldIssue) }))),
  status: Schema.optional(Schema.String),
  currentStep: Schema.optional(Schema.NullOr(Schema.String)),
  attempted: Schema.optional(Schema.String),
  allowed: Schema.optional(Schema.Array(Schema.String))
})
type ErrorBody = typeof ErrorBody.Type

const failure = (reply: Reply, status: number, tag: string): ErrorBody => {
  const body = decode(ErrorBody, reply, status)
  expect(body.error).toBe(tag)
  expect(body.message.length).toBeGreaterThan(0)
  return body
}

const issuePaths = (body: ErrorBody): Array<string> => (body.issues ?? []).map((i) => i.path)

/** A 422 whose `issues` name (at least) each of `paths`. */
const invalid = (reply: Reply, ...paths: Array<string>): ErrorBody => {
  const body = failure(reply, 422, "InvalidInput")
  expect(issuePaths(body)).toEqual(expect.arrayContaining(paths))
  return body
}

const CreatedSampleBody = Schema.Struct({ ...SampleView.fields, warnings: Schema.Array(Schema.String) })

// ---------------------------------------------------------------------------------------------------------------
// Domain builders

const token = () => randomUUID().replace(/-/g, "").slice(0, 10)

const newSample = (overrides: Readonly<Record<string, unknown>> = {}): Record<string, unknown> => ({
  sampleName: `S-${token()}`,
  submitterEmail: "ada@lab.example",
  flowCellType: "R10.4.1",
  libraryKit: "SQK-LSK114",
  sampleType: "gDNA",
  ...overrides
})

const createSample = (overrides: Readonly<Record<string, unknown>> = {}) =>
  Effect.map(post("/api/v1/samples", newSample(overrides)), (r) => decode(SampleView, r, 201))

const samplePath = (id: string, suffix = "") => `/api/v1/samples/${id}${suffix}`

const ok = (reply: Reply) => decode(CommandResult, reply, 200)

const receive = (id: string) => Effect.map(post(samplePath(id, "/receive")), ok)

const readSample = (id: string) => Effect.map(get(samplePath(id)), (r) => decode(SampleView, r, 200))

/** Valid, typed data for each step (a ligation run on a PromethION flow cell). */
const sampleQc = (qubitNgUl = 60, volumeUl = 30) => ({ qubitNgUl, volumeUl, nanodropNgUl: 66, a260_280: 1.86, a260_230: 2.08, din: 8.1 })
const libraryPrep = () => ({ kit: "SQK-LSK114", inputNg: 1000, operator: "J. Tech" })
const libraryQc = () => ({ libraryNgUl: 14.2, fmol: 48, meanFragmentLengthBp: 9200 })
const sequencingSetup = () => ({
  flowCellId: "PAW12345",
  flowCellProductCode: "FLO-PRO114M",
  poreCount: 7100,
  device: "P2 Solo",
  position: "P2S-1-A",
  runParameters: "400 bps, 72 h"
})
const sequencingRun = () => ({
  runId: `run-${token()}`,
  startedAt: "2026-03-02T09:00:00.000Z",
  endedAt: "2026-03-04T09:00:00.000Z",
  yieldGb: 92.4,
  reads: 11_800_000,
  n50: 18_300
})
const basecalling = () => ({ model: "sup", modifiedBases: ["5mC_5hmC"], softwareVersion: "dorado 0.9.1", passReadPercent: 91.5 })
const qualityAssessment = () => ({ meanQ: 19.4, coverage: 31.2, passed: true })
const dataDelivery = () => ({ method: "globus", location: "globus://facility/ada/run", retentionDays: 30 })

const STEP_DATA: { readonly [S in StepId]: () => Record<string, unknown> } = {
  sample_qc: () => sampleQc(),
  library_prep: libraryPrep,
  library_qc: libraryQc,
  sequencing_setup: sequencingSetup,
  sequencing_run: sequencingRun,
  basecalling,
  quality_assessment: qualityAssessment,
  data_delivery: dataDelivery
}

const HOUR = 3_600_000
const EXPECTED_HOURS: { readonly [S in StepId]: number } = {
  sample_qc: 1,
  library_prep: 4,
  library_qc: 1,
  sequencing_setup: 1,
  sequencing_run: 48,
  basecalling: 2,
  quality_assessment: 1,
  data_delivery: 1
}

const advance = (id: string, step: StepId, data: unknown = STEP_DATA[step](), headers?: Readonly<Record<string, string>>) =>
  post(samplePath(id, "/workflow/advance"), { expectedStep: step, data }, headers)

/** Advances a received sample through `steps`, each with valid data. */
const advanceThrough = (id: string, steps: ReadonlyArray<StepId>) =>
  Effect.forEach(steps, (step) => Effect.map(advance(id, step), ok))

const createSubmission = (body: Readonly<Record<string, unknown>>) =>
  Effect.map(post("/api/v1/submissions", body), (r) => decode(CreatedSubmission, r, 201))

const countRows = (databaseUrl: string, text: string, values: Array<unknown> = []) =>
  Effect.promise(() => query<{ n: number }>(databaseUrl, text, values)).pipe(Effect.map((rows) => rows[0]?.n ?? -1))

/** The sample's changes in its audit trail, in order (the notifier's NotificationTriggered events come asynchronously). */
const eventTypes = (id: string) =>
  Effect.map(get(samplePath(id, "/events")), (r) => decode(EventList, r, 200).map((e) => e.type).filter((t) => t !== "NotificationTriggered"))

// ---------------------------------------------------------------------------------------------------------------

describe("REST API over HTTP", () => {
  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.effect("health probes answer 200 once the system is up", () =>
      Effect.gen(function*() {
        const live = yield* get("/health/live")
        expect(live.status).toBe(200)
        expect(live.body).toEqual({ status: "live" })
        const ready = yield* get("/health/ready")
        expect(ready.status).toBe(200)
        expect(ready.body).toEqual({ status: "ready", database: true, cluster: true })
      }))

    it.effect("POST /samples creates a submitted sample with a Location; GET returns the same sample", () =>
      Effect.gen(function*() {
        const name = `Ecoli-K12 ${token()}`
        const reply = yield* post("/api/v1/samples", newSample({ sampleName: name, priority: "high", volumeUl: 30, concentrationNgUl: 55.5 }))
        const created = decode(CreatedSampleBody, reply, 201)
        expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        expect(created.status).toBe("submitted")
        expect(created.currentStep).toBeNull()
        expect(created.sampleName).toBe(name)
        expect(created.priority).toBe("high")
        expect(created.position).toBe(1)
        expect(created.version).toBe(1)
        expect(created.details).toEqual({ sampleType: "gDNA", libraryKit: "SQK-LSK114", volumeUl: 30, concentrationNgUl: 55.5 })
        expect(created.warnings).toEqual([])
        expect(reply.headers.get("location")).toBe(`/api/v1/samples/${created.id}`)

        const fetched = yield* get(reply.headers.get("location") ?? "")
        // the same sample (its estimated completion moves on with the clock while it waits)
        const { warnings: _warnings, estimatedCompletion: _created, ...sample } = created
        const { estimatedCompletion: _fetched, ...again } = decode(SampleView, fetched, 200)
        expect(again).toEqual(sample)

        // priority defaults to normal; a combination that makes no sense is accepted with a warning
        const legacy = decode(CreatedSampleBody, yield* post("/api/v1/samples", newSample({ flowCellType: "R9.4.1" })), 201)
        expect(legacy.priority).toBe("normal")
        expect(legacy.warnings.join(" ")).toContain("R9.4.1")
      }))

    it.effect("POST /samples rejects invalid input: 422 naming each field, 400 for a body that is not JSON", () =>
      Effect.gen(function*() {
        const missing = invalid(yield* post("/api/v1/samples", { libraryKit: "SQK-LSK114" }), "sampleName", "submitterEmail", "flowCellType")
        expect(missing.issues?.length).toBeGreaterThanOrEqual(3)

        invalid(
          yield* post("/api/v1/samples", newSample({ sampleName: "bad/name!", submitterEmail: "not-an-email", flowCellType: "R11", volumeUl: -3 })),
          "sampleName",
          "submitterEmail",
          "flowCellType",
          "volumeUl"
        )

        const typo = invalid(yield* post("/api/v1/samples", newSample({ prority: "urgent" })), "prority")
        expect(issuePaths(typo)).toEqual(["prority"])

        const priority = invalid(yield* post("/api/v1/samples", newSample({ priority: "asap" })), "priority")
        expect(new Set(issuePaths(priority))).toEqual(new Set(["priority"]))
        expect(priority.issues?.map((i) => i.message).join(" ")).toContain("urgent")

        failure(yield* call("POST", "/api/v1/samples", { raw: "{\"sampleName\": \"x\"," }), 400, "MalformedRequest")
        failure(yield* call("POST", "/api/v1/samples", { raw: "sampleName=x&submitterEmail=y" }), 400, "MalformedRequest")
        // valid JSON of the wrong shape is a 422, not a 400
        expect((yield* post("/api/v1/samples", [newSample()])).status).toBe(422)
        expect((yield* post("/api/v1/samples", null)).status).toBe(422)
      }))

    it.effect("GET /samples/{id}: an unknown or malformed id is 404; an unknown route is 404", () =>
      Effect.gen(function*() {
        const unknown = randomUUID()
        const missing = failure(yield* get(samplePath(unknown)), 404, "SampleNotFound")
        expect(missing.message).toContain(unknown)
        failure(yield* get(samplePath("not-a-uuid")), 404, "SampleNotFound")
        failure(yield* get(samplePath("12345")), 404, "SampleNotFound")
        failure(yield* get(samplePath(unknown, "/workflow")), 404, "SampleNotFound")
        failure(yield* get(samplePath(unknown, "/events")), 404, "SampleNotFound")
        failure(yield* post(samplePath(unknown, "/receive")), 404, "SampleNotFound")
        failure(yield* post(samplePath("nope", "/hold"), { reason: "x" }), 404, "SampleNotFound")
        failure(yield* get("/api/v1/nothing-here"), 404, "RouteNotFound")
      }))

    it.effect("a sample walks all eight steps over REST; workflow and audit trail follow it", () =>
      Effect.gen(function*() {
        const sample = yield* createSample()
        const received = yield* Effect.map(post(samplePath(sample.id, "/receive"), undefined, { "x-actor": "tech@facility" }), ok)
        expect(received.sample.status).toBe("in_progress")
        expect(received.sample.currentStep).toBe("sample_qc")
        expect(received.sample.stepState).toBe("queued")
        expect(received.sample.receivedAt).not.toBeNull()
        expect(received.events.map((e) => e.type)).toEqual(["SampleReceived"])

        // estimated completion = now + the expected durations of every remaining step (59 h in all)
        const before = Date.now()
        const fresh = decode(WorkflowView, yield* get(samplePath(sample.id, "/workflow")), 200)
        const after = Date.now()
        expect(fresh.progress).toBe(0)
        expect(fresh.totalSteps).toBe(8)
        expect(fresh.steps.map((s) => s.id)).toEqual([...STEP_IDS])
        const all = STEP_IDS.reduce((h, s) => h + EXPECTED_HOURS[s], 0) * HOUR
        const estimate = Date.parse(fresh.estimatedCompletion ?? "")
        expect(estimate).toBeGreaterThanOrEqual(before + all)
        expect(estimate).toBeLessThanOrEqual(after + all)

        let version = received.sample.version
        for (const [i, step] of STEP_IDS.entries()) {
          const result = ok(yield* advance(sample.id, step))
          expect(result.sample.version).toBe(version + 1)
          version = result.sample.version
          const next = STEP_IDS[i + 1]
          if (next !== undefined) {
            expect(result.sample.status).toBe("in_progress")
            expect(result.sample.currentStep).toBe(next)
            expect(result.sample.stepState).toBe("queued")
            expect(result.events.map((e) => e.type)).toEqual(["WorkflowStepCompleted"])
          } else {
            expect(result.sample.status).toBe("completed")
            expect(result.sample.currentStep).toBeNull()
            expect(result.sample.completedAt).not.toBeNull()
            expect(result.events.map((e) => e.type)).toEqual(["WorkflowStepCompleted", "SampleCompleted"])
          }
          if (step === "library_qc") {
            // three steps done: 53 h of expected work remain
            const t0 = Date.now()
            const mid = decode(WorkflowView, yield* get(samplePath(sample.id, "/workflow")), 200)
            const t1 = Date.now()
            expect(mid.progress).toBe(3)
            expect(mid.currentStep).toBe("sequencing_setup")
            const left = (1 + 48 + 2 + 1 + 1) * HOUR
            expect(Date.parse(mid.estimatedCompletion ?? "")).toBeGreaterThanOrEqual(t0 + left)
            expect(Date.parse(mid.estimatedCompletion ?? "")).toBeLessThanOrEqual(t1 + left)
          }
        }

        const done = decode(WorkflowView, yield* get(samplePath(sample.id, "/workflow")), 200)
        expect(done.status).toBe("completed")
        expect(done.progress).toBe(8)
        expect(done.totalSteps).toBe(8)
        expect(done.currentStep).toBeNull()
        expect(done.steps.every((s) => s.status === "completed" && s.attempt === 1 && s.finishedAt !== null)).toBe(true)
        expect(done.steps.find((s) => s.id === "sequencing_setup")?.data).toEqual(sequencingSetup())
        expect(done.estimatedCompletion).not.toBeNull()
        const final = yield* readSample(sample.id)
        expect(done.estimatedCompletion).toBe(final.completedAt)
        expect(final.status).toBe("completed")

        // The changes; the notifier's NotificationTriggered events (received, completed) come asynchronously.
        const events = decode(EventList, yield* get(samplePath(sample.id, "/events")), 200).filter((e) => e.type !== "NotificationTriggered")
        expect(events.map((e) => [e.type, e.version])).toEqual([
          ["SampleCreated", 1],
          ["SampleReceived", 2],
          ...STEP_IDS.map((_, i) => ["WorkflowStepCompleted", 3 + i]),
          ["SampleCompleted", 10]
        ])
        expect(events.filter((e) => e.type === "WorkflowStepCompleted").map((e) => {
          const data = e.data
          return typeof data === "object" && data !== null && "step" in data ? data.step : undefined
        })).toEqual([...STEP_IDS])
        expect([...new Set(events.map((e) => e.version))]).toEqual(Array.from({ length: final.version }, (_, i) => i + 1))
        const seqs = events.map((e) => e.seq)
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
        expect(new Set(seqs).size).toBe(seqs.length)
        expect(events.every((e) => e.sampleId === sample.id && e.submissionId === sample.submissionId)).toBe(true)
        // The authenticated principal is the actor; an X-Actor header is not trusted.
        expect(events[1]?.actor).toMatch(/^key:PORETRACK_ADMIN_TOKEN#[0-9a-f]{8}$/)
      }))

    it.effect("advance: the wrong step is a 409 naming state and allowed commands; bad data is a 422 naming data.<field>", () =>
      Effect.gen(function*() {
        const sample = yield* createSample()
        const early = failure(yield* advance(sample.id, "sample_qc"), 409, "StepTransitionRefused")
        expect(early.status).toBe("submitted")
        expect(early.currentStep).toBeNull()
        expect(early.allowed).toContain("POST /receive")
        expect(early.allowed).not.toContain("POST /workflow/advance")

        yield* receive(sample.id)
        const wrong = failure(yield* advance(sample.id, "library_prep"), 409, "StepTransitionRefused")
        expect(wrong.status).toBe("in_progress")
        expect(wrong.currentStep).toBe("sample_qc")
        expect(wrong.allowed).toEqual(expect.arrayContaining(["POST /workflow/start", "POST /workflow/advance", "POST /workflow/fail", "POST /hold", "POST /cancel"]))
        expect(wrong.allowed).not.toContain("POST /workflow/skip")
        expect(wrong.message).toContain("sample_qc")

        const bad = invalid(yield* advance(sample.id, "sample_qc", { qubitNgUl: "plenty", volumeUl: -5 }), "data.qubitNgUl", "data.volumeUl")
        expect(issuePaths(bad).every((p) => p.startsWith("data."))).toBe(true)
        invalid(yield* advance(sample.id, "sample_qc", { volumeUl: 30 }), "data.qubitNgUl")
        invalid(yield* advance(sample.id, "sample_qc", { ...sampleQc(), qubit: 60 }), "data.qubit")
        invalid(yield* advance(sample.id, "sample_qc", {}), "data.qubitNgUl", "data.volumeUl")
        invalid(yield* post(samplePath(sample.id, "/workflow/advance"), { expectedStep: "sample-qc", data: sampleQc() }), "expectedStep")
        invalid(yield* post(samplePath(sample.id, "/workflow/advance"), { data: sampleQc() }), "expectedStep")
        invalid(yield* post(samplePath(sample.id, "/workflow/advance"), { expectedStep: "sample_qc", data: sampleQc(), extra: 1 }), "extra")

        // nothing of the above moved the sample
        const still = yield* readSample(sample.id)
        expect(still.version).toBe(2)
        expect(still.currentStep).toBe("sample_qc")

        // a barcode outside the kit's set is refused by the state machine with the field named
        yield* advanceThrough(sample.id, ["sample_qc"])
        const barcode = invalid(
          yield* advance(sample.id, "library_prep", { kit: "SQK-NBD114.24", inputNg: 400, barcode: "barcode48" }),
          "data.barcode"
        )
        expect(barcode.message).toContain("library_prep")
        expect(ok(yield* advance(sample.id, "library_prep", { kit: "SQK-NBD114.24", inputNg: 400, barcode: "barcode07" })).sample.currentStep)
          .toBe("library_qc")
      }))

    it.effect("a failed QC gate is 200 with status failed and a reason; rework returns the sample to sample_qc", () =>
      Effect.gen(function*() {
        const sample = yield* createSample({ libraryKit: "SQK-LSK114" })
        yield* receive(sample.id)
        // 10 ng/µL × 50 µL = 500 ng, below the 1000 ng a ligation library needs
        const failed = ok(yield* advance(sample.id, "sample_qc", sampleQc(10, 50)))
        expect(failed.sample.status).toBe("failed")
        expect(failed.sample.currentStep).toBe("sample_qc")
        expect(failed.sample.stepState).toBe("failed")
        expect(failed.sample.failure?.step).toBe("sample_qc")
        expect(failed.sample.failure?.reason).toContain("500 ng")
        expect(failed.sample.failure?.reason).toContain("SQK-LSK114")
        expect(failed.events.map((e) => e.type)).toEqual(["QcFailed"])

        // a failed sample cannot advance; it may be reworked, but not forward past the failed step
        const refused = failure(yield* advance(sample.id, "sample_qc"), 409, "StepTransitionRefused")
        expect(refused.status).toBe("failed")
        expect(refused.allowed).toEqual(expect.arrayContaining(["POST /workflow/rework", "POST /cancel"]))
        failure(yield* post(samplePath(sample.id, "/workflow/rework"), { toStep: "library_prep", reason: "skip ahead" }), 409, "StepTransitionRefused")
        invalid(yield* post(samplePath(sample.id, "/workflow/rework"), { toStep: "sample_qc" }), "reason")
        invalid(yield* post(samplePath(sample.id, "/workflow/rework"), { toStep: "sample_qc", reason: "" }), "reason")

        const reworked = ok(yield* post(samplePath(sample.id, "/workflow/rework"), { toStep: "sample_qc", reason: "re-extract and re-quantify" }))
        expect(reworked.sample.status).toBe("in_progress")
        expect(reworked.sample.currentStep).toBe("sample_qc")
        expect(reworked.sample.stepState).toBe("queued")
        expect(reworked.sample.failure).toBeNull()

        // exactly 1000 ng passes the gate
        const passed = ok(yield* advance(sample.id, "sample_qc", sampleQc(20, 50)))
        expect(passed.sample.status).toBe("in_progress")
        expect(passed.sample.currentStep).toBe("library_prep")
        const workflow = decode(WorkflowView, yield* get(samplePath(sample.id, "/workflow")), 200)
        expect(workflow.steps[0]?.attempt).toBe(2)
        expect(workflow.progress).toBe(1)
        expect(yield* eventTypes(sample.id)).toEqual([
          "SampleCreated",
          "SampleReceived",
          "QcFailed",
          "SampleReworked",
          "WorkflowStepCompleted"
        ])
      }))

    it.effect("start, fail and skip follow the state machine", () =>
      Effect.gen(function*() {
        const sample = yield* createSample()
        yield* receive(sample.id)
        invalid(yield* post(samplePath(sample.id, "/workflow/start"), {}), "step")
        failure(yield* post(samplePath(sample.id, "/workflow/start"), { step: "library_prep" }), 409, "StepTransitionRefused")
        const started = ok(yield* post(samplePath(sample.id, "/workflow/start"), { step: "sample_qc" }))
        expect(started.sample.stepState).toBe("running")
        const again = failure(yield* post(samplePath(sample.id, "/workflow/start"), { step: "sample_qc" }), 409, "StepTransitionRefused")
        expect(again.allowed).not.toContain("POST /workflow/start")
        // sample QC may not be skipped; basecalling may
        failure(yield* post(samplePath(sample.id, "/workflow/skip"), { step: "sample_qc", reason: "no time" }), 409, "StepTransitionRefused")
        yield* advanceThrough(sample.id, ["sample_qc", "library_prep", "library_qc", "sequencing_setup", "sequencing_run"])
        const skipped = ok(yield* post(samplePath(sample.id, "/workflow/skip"), { step: "basecalling", reason: "POD5 only" }))
        expect(skipped.sample.currentStep).toBe("quality_assessment")
        const progress = decode(WorkflowView, yield* get(samplePath(sample.id, "/workflow")), 200)
        expect(progress.progress).toBe(6)
        expect(progress.steps.find((s) => s.id === "basecalling")?.status).toBe("skipped")
        expect(progress.steps.find((s) => s.id === "basecalling")?.reason).toBe("POD5 only")

        const failed = ok(yield* post(samplePath(sample.id, "/workflow/fail"), { step: "quality_assessment", reason: "coverage far below the request" }))
        expect(failed.sample.status).toBe("failed")
        expect(failed.sample.failure).toEqual({ step: "quality_assessment", reason: "coverage far below the request" })
        const back = ok(yield* post(samplePath(sample.id, "/workflow/rework"), { toStep: "sequencing_setup", reason: "sequence again" }))
        expect(back.sample.currentStep).toBe("sequencing_setup")
        expect(back.sample.status).toBe("in_progress")
      }))

    it.effect("hold, resume, cancel and archive behave as the state machine says", () =>
      Effect.gen(function*() {
        const sample = yield* createSample()
        yield* receive(sample.id)
        invalid(yield* post(samplePath(sample.id, "/hold"), {}), "reason")
        invalid(yield* post(samplePath(sample.id, "/hold"), { reason: "" }), "reason")
        invalid(yield* post(samplePath(sample.id, "/hold"), { reason: "x", until: "monday" }), "until")
        const held = ok(yield* post(samplePath(sample.id, "/hold"), { reason: "waiting for the PI" }))
        expect(held.sample.status).toBe("on_hold")
        expect(held.sample.hold?.reason).toBe("waiting for the PI")
        expect(held.sample.sla.status).toBe("paused")
        const blocked = failure(yield* advance(sample.id, "sample_qc"), 409, "StepTransitionRefused")
        expect(blocked.status).toBe("on_hold")
        expect(blocked.allowed).toEqual(expect.arrayContaining(["POST /resume", "POST /cancel"]))
        failure(yield* post(samplePath(sample.id, "/hold"), { reason: "again" }), 409, "StepTransitionRefused")
        invalid(yield* post(samplePath(sample.id, "/resume"), { why: "x" }), "why")
        invalid(yield* post(samplePath(sample.id, "/resume"), { reason: "" }), "reason")

        // A reason is optional on resume; when given it is recorded on the event.
        const resumed = ok(yield* post(samplePath(sample.id, "/resume"), { reason: "buffer exchanged" }))
        expect(resumed.sample.status).toBe("in_progress")
        expect(resumed.sample.currentStep).toBe("sample_qc")
        expect(resumed.sample.hold).toBeNull()
        failure(yield* post(samplePath(sample.id, "/resume")), 409, "StepTransitionRefused")
        const archiveEarly = failure(yield* post(samplePath(sample.id, "/archive")), 409, "StepTransitionRefused")
        expect(archiveEarly.status).toBe("in_progress")

        invalid(yield* post(samplePath(sample.id, "/cancel"), {}), "reason")
        const cancelled = ok(yield* post(samplePath(sample.id, "/cancel"), { reason: "sample tube broken" }))
        expect(cancelled.sample.status).toBe("cancelled")
        expect(cancelled.sample.cancelReason).toBe("sample tube broken")
        // cancelled is terminal: every command is refused with nothing allowed
        for (const [path, body] of [["/resume", {}], ["/hold", { reason: "x" }], ["/priority", { priority: "urgent" }], ["/receive", {}]] as const) {
          const terminal = failure(yield* post(samplePath(sample.id, path), body), 409, "StepTransitionRefused")
          expect(terminal.status).toBe("cancelled")
          expect(terminal.allowed).toEqual([])
        }

        // archive is for completed samples, and archived is terminal too
        const done = yield* createSample()
        yield* receive(done.id)
        yield* advanceThrough(done.id, STEP_IDS)
        invalid(yield* post(samplePath(done.id, "/archive"), { now: true }), "now")
        const archived = ok(yield* post(samplePath(done.id, "/archive")))
        expect(archived.sample.status).toBe("archived")
        const after = failure(yield* post(samplePath(done.id, "/archive")), 409, "StepTransitionRefused")
        expect(after.status).toBe("archived")
        expect(after.allowed).toEqual([])
        expect((yield* eventTypes(done.id)).slice(-2)).toEqual(["SampleCompleted", "SampleArchived"])
      }))

    it.effect("POST /priority changes the priority; the same priority is 409, an unknown one 422", () =>
      Effect.gen(function*() {
        const sample = yield* createSample()
        const changed = ok(yield* post(samplePath(sample.id, "/priority"), { priority: "urgent" }))
        expect(changed.sample.priority).toBe("urgent")
        expect(changed.events.map((e) => e.type)).toEqual(["PriorityChanged"])
        yield* receive(sample.id)
        const received = yield* readSample(sample.id)
        // urgent turns around in 24 h from receipt
        expect(Date.parse(received.sla.turnaroundDueAt ?? "") - Date.parse(received.receivedAt ?? "")).toBe(24 * HOUR)
        const same = failure(yield* post(samplePath(sample.id, "/priority"), { priority: "urgent" }), 409, "StepTransitionRefused")
        expect(same.message).toContain("urgent")
        invalid(yield* post(samplePath(sample.id, "/priority"), { priority: "critical" }), "priority")
        invalid(yield* post(samplePath(sample.id, "/priority"), {}), "priority")
        const high = ok(yield* post(samplePath(sample.id, "/priority"), { priority: "high" }))
        expect(Date.parse(high.sample.sla.turnaroundDueAt ?? "") - Date.parse(received.receivedAt ?? "")).toBe(48 * HOUR)
      }))

    it.effect("PATCH edits fields while allowed; a locked field after receive is 409", () =>
      Effect.gen(function*() {
        const sample = yield* createSample()
        const renamed = ok(yield* call("PATCH", samplePath(sample.id), { json: { sampleName: "Renamed-1", details: { organism: "E. coli" } } }))
        expect(renamed.sample.sampleName).toBe("Renamed-1")
        expect(renamed.sample.details.organism).toBe("E. coli")
        expect(renamed.events.map((e) => e.type)).toEqual(["SampleFieldsEdited"])
        invalid(yield* call("PATCH", samplePath(sample.id), { json: { sampleName: "Renamed-1" } }), "fields")
        invalid(yield* call("PATCH", samplePath(sample.id), { json: { samplename: "typo" } }), "samplename")
        invalid(yield* call("PATCH", samplePath(sample.id), { json: { submitterEmail: "nope" } }), "submitterEmail")
        invalid(yield* call("PATCH", samplePath(sample.id), { json: { details: { volumeUl: -1 } } }), "details.volumeUl")

        yield* receive(sample.id)
        const locked = failure(yield* call("PATCH", samplePath(sample.id), { json: { sampleName: "Too-late" } }), 409, "StepTransitionRefused")
        expect(locked.message).toContain("sampleName")
        expect(locked.status).toBe("in_progress")
        const lockedDetail = failure(yield* call("PATCH", samplePath(sample.id), { json: { details: { volumeUl: 10 } } }), 409, "StepTransitionRefused")
        expect(lockedDetail.message).toContain("details.volumeUl")
        // notes and the submitter's e-mail may still change
        const noted = ok(yield* call("PATCH", samplePath(sample.id), { json: { submitterEmail: "grace@lab.example", details: { notes: "keep at -80" } } }))
        expect(noted.sample.submitterEmail).toBe("grace@lab.example")
        expect(noted.sample.details.notes).toBe("keep at -80")
        expect((yield* readSample(sample.id)).sampleName).toBe("Renamed-1")
      }))

    it.effect("Idempotency-Key: a replay returns the same result with idempotent-replayed and writes one event", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const sample = yield* createSample()
        const key = `receive-${token()}`
        const first = yield* post(samplePath(sample.id, "/receive"), undefined, { "idempotency-key": key })
        const second = yield* post(samplePath(sample.id, "/receive"), undefined, { "idempotency-key": key })
        const a = ok(first)
        const b = ok(second)
        expect(first.headers.get("idempotency-key")).toBe(key)
        expect(first.headers.get("idempotent-replayed")).toBeNull()
        expect(second.headers.get("idempotent-replayed")).toBe("true")
        expect(a.replayed).toBe(false)
        expect(b.replayed).toBe(true)
        expect({ ...b, replayed: false }).toEqual(a)
        const received = yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE sample_id = $1 AND type = 'SampleReceived'", [sample.id])
        expect(received).toBe(1)
        expect((yield* readSample(sample.id)).version).toBe(2)

        // without a key, a second receive is a refused transition, not a replay
        failure(yield* post(samplePath(sample.id, "/receive")), 409, "StepTransitionRefused")
        // the same key for a different command is a conflict
        failure(yield* post(samplePath(sample.id, "/hold"), { reason: "x" }, { "idempotency-key": key }), 409, "IdempotencyKeyReused")

        // an advance replayed with its key: same data, one completion
        const qcKey = `qc-${token()}`
        const data = sampleQc()
        ok(yield* advance(sample.id, "sample_qc", data, { "idempotency-key": qcKey }))
        const replay = yield* advance(sample.id, "sample_qc", data, { "idempotency-key": qcKey })
        expect(ok(replay).replayed).toBe(true)
        expect(replay.headers.get("idempotent-replayed")).toBe("true")
        const completions = yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE sample_id = $1 AND type = 'WorkflowStepCompleted'", [sample.id])
        expect(completions).toBe(1)

        // invalid header values are 422 naming the header, and nothing is written
        invalid(yield* post(samplePath(sample.id, "/hold"), { reason: "x" }, { "idempotency-key": "has space" }), "idempotency-key")
        invalid(yield* post(samplePath(sample.id, "/hold"), { reason: "x" }, { "idempotency-key": "k".repeat(201) }), "idempotency-key")
        expect((yield* readSample(sample.id)).status).toBe("in_progress")
        const accepted = yield* post(samplePath(sample.id, "/hold"), { reason: "x" }, { "idempotency-key": "k".repeat(200) })
        expect(ok(accepted).sample.status).toBe("on_hold")
      }))

    it.effect("POST /submissions creates every row numbered 1..n; GET /submissions/{id} returns them", () =>
      Effect.gen(function*() {
        const number = `HTSF--JL-${token()}`
        const reply = yield* post("/api/v1/submissions", {
          number,
          submitterEmail: "ada@lab.example",
          lab: "Lovelace Lab",
          pi: "A. Lovelace",
          billing: { chartField: "CF-123" },
          service: { kit: "SQK-NBD114.24", notificationEmails: ["ada@lab.example"] },
          priority: "high",
          samples: [
            { sampleName: "A1", volumeUl: 30, concentrationNgUl: 50 },
            { sampleName: "A2", priority: "urgent" },
            { sampleName: "BLANK", control: "blank" }
          ]
        })
        const created = decode(CreatedSubmission, reply, 201)
        expect(reply.headers.get("location")).toBe(`/api/v1/submissions/${created.submission.id}`)
        expect(created.submission.number).toBe(number)
        expect(created.submission.sampleCount).toBe(3)
        expect(created.samples.map((s) => [s.position, s.sampleName, s.priority, s.status])).toEqual([
          [1, "A1", "high", "submitted"],
          [2, "A2", "urgent", "submitted"],
          [3, "BLANK", "high", "submitted"]
        ])
        expect(created.samples.every((s) => s.submissionId === created.submission.id)).toBe(true)
        expect(created.samples[2]?.details.control).toBe("blank")

        const Fetched = Schema.Struct({ submission: Schema.Struct({ id: Schema.String, number: Schema.String }), samples: Schema.Array(SampleView) })
        const fetched = decode(Fetched, yield* get(`/api/v1/submissions/${created.submission.id}`), 200)
        expect(fetched.submission.number).toBe(number)
        expect(fetched.samples.map((s) => s.id)).toEqual(created.samples.map((s) => s.id))
        failure(yield* get(`/api/v1/submissions/${randomUUID()}`), 404, "SubmissionNotFound")
        expect((yield* get("/api/v1/submissions/not-a-uuid")).status).toBe(404)
      }))

    it.effect("a submission with bad rows is rejected whole: 422 naming rows and fields, nothing created", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const samplesBefore = yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples")
        const submissionsBefore = yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM submissions")
        const eventsBefore = yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE type <> 'NotificationTriggered'")
        const prefix = `rej-${token()}`
        const number = `HTSF--JL-${token()}`
        const reply = yield* post("/api/v1/submissions", {
          number,
          submitterEmail: "ada@lab.example",
          samples: [
            { sampleName: `${prefix}-1` },
            { volumeUl: 20 },
            { sampleName: `${prefix}-3` },
            { sampleName: `${prefix}-4`, volumeUl: -1, control: "negative" },
            { sampleName: `${prefix}-5` }
          ]
        })
        const rejected = failure(reply, 422, "SubmissionRejected")
        expect(rejected.rows?.map((r) => r.row)).toEqual([2, 4])
        expect(new Set(rejected.rows?.[0]?.issues.map((i) => i.path))).toEqual(new Set(["sampleName"]))
        expect(new Set(rejected.rows?.[1]?.issues.map((i) => i.path))).toEqual(new Set(["control", "volumeUl"]))
        expect(rejected.message).toContain("2, 4")

        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples")).toBe(samplesBefore)
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM submissions")).toBe(submissionsBefore)
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE type <> 'NotificationTriggered'")).toBe(eventsBefore)
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples WHERE name LIKE $1", [`${prefix}%`])).toBe(0)
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM submissions WHERE number = $1", [number])).toBe(0)

        // a bad header field and a typo'd row field are named too
        const header = failure(yield* post("/api/v1/submissions", { submitterEmail: "nope", samples: [{ sampleName: "x", volumeul: 3 }] }), 422, "SubmissionRejected")
        expect(header.rows?.map((r) => [r.row, [...new Set(r.issues.map((i) => i.path))]])).toEqual([
          [0, ["submitterEmail"]],
          [1, ["volumeul"]]
        ])
        // duplicate sample names inside one submission name the later row
        const dup = failure(
          yield* post("/api/v1/submissions", { submitterEmail: "ada@lab.example", samples: [{ sampleName: "Same" }, { sampleName: "same" }] }),
          422,
          "SubmissionRejected"
        )
        expect(dup.rows).toEqual([{ row: 2, issues: [expect.objectContaining({ path: "sampleName" })] }])
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples")).toBe(samplesBefore)
      }))

    it.effect("a duplicate submission number is 422 naming number, and nothing is created", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const number = `HTSF--JL-${token()}`
        yield* createSubmission({ number, submitterEmail: "ada@lab.example", samples: [{ sampleName: "first" }] })
        const before = yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples")
        const dup = failure(
          yield* post("/api/v1/submissions", { number, submitterEmail: "bob@lab.example", samples: [{ sampleName: "second" }] }),
          422,
          "SubmissionRejected"
        )
        expect(dup.rows).toEqual([{ row: 0, issues: [expect.objectContaining({ path: "number" })] }])
        expect(dup.message).toContain(number)
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM submissions WHERE number = $1", [number])).toBe(1)
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples")).toBe(before)
      }))

    it.effect("submission size: 0 or 501 rows is 422 and creates nothing; 500 rows is accepted", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const before = yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples")
        const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ sampleName: `bulk-${i + 1}` }))
        const tooMany = failure(yield* post("/api/v1/submissions", { submitterEmail: "ada@lab.example", samples: rows(501) }), 422, "SubmissionRejected")
        expect(tooMany.rows?.flatMap((r) => r.issues.map((i) => i.path))).toContain("samples")
        const none = failure(yield* post("/api/v1/submissions", { submitterEmail: "ada@lab.example", samples: [] }), 422, "SubmissionRejected")
        expect(none.rows?.flatMap((r) => r.issues.map((i) => i.path))).toContain("samples")
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples")).toBe(before)

        const full = yield* createSubmission({ submitterEmail: "ada@lab.example", samples: rows(500) })
        expect(full.samples.map((s) => s.position)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
        expect(full.submission.number).toMatch(/^PT-\d{8}-[0-9A-HJKMNP-TV-Z]{13}$/)
        expect(yield* countRows(databaseUrl, "SELECT count(*)::int AS n FROM samples WHERE submission_id = $1", [full.submission.id])).toBe(500)
      }))

    it.effect("GET /samples filters by status, step, priority, submission and name", () =>
      Effect.gen(function*() {
        const tag = `flt${token()}`
        const created = yield* createSubmission({
          submitterEmail: "filter@lab.example",
          samples: [
            { sampleName: `${tag}-alpha`, priority: "low" },
            { sampleName: `${tag}-beta`, priority: "high" },
            { sampleName: `${tag}-gamma`, priority: "high" },
            { sampleName: `${tag}-delta`, priority: "urgent" }
          ]
        })
        const [alpha, beta, gamma, delta] = created.samples
        if (!alpha || !beta || !gamma || !delta) return expect.fail("four samples expected")
        yield* receive(beta.id)
        yield* receive(delta.id)
        yield* advanceThrough(delta.id, ["sample_qc"])
        const sub = created.submission.id
        const names = (q: string) =>
          Effect.map(get(`/api/v1/samples?${q}`), (r) => decode(SamplePage, r, 200).items.map((s) => s.sampleName).sort())

        expect(yield* names(`submissionId=${sub}`)).toEqual([alpha, beta, gamma, delta].map((s) => s.sampleName).sort())
        expect(yield* names(`submissionId=${sub}&status=in_progress`)).toEqual([beta.sampleName, delta.sampleName].sort())
        expect(yield* names(`submissionId=${sub}&status=submitted`)).toEqual([alpha.sampleName, gamma.sampleName].sort())
        expect(yield* names(`submissionId=${sub}&step=sample_qc`)).toEqual([beta.sampleName])
        expect(yield* names(`submissionId=${sub}&step=library_prep`)).toEqual([delta.sampleName])
        expect(yield* names(`submissionId=${sub}&priority=high`)).toEqual([beta.sampleName, gamma.sampleName].sort())
        expect(yield* names(`submissionId=${sub}&priority=high&status=submitted`)).toEqual([gamma.sampleName])
        expect(yield* names(`q=${tag}`)).toEqual([alpha, beta, gamma, delta].map((s) => s.sampleName).sort())
        expect(yield* names(`q=${tag.toUpperCase()}-GAM`)).toEqual([gamma.sampleName])
        expect(yield* names(`q=${tag}&status=completed`)).toEqual([])
        expect(yield* names(`submitter=FILTER@lab.example&q=${tag}-d`)).toEqual([delta.sampleName])
        // LIKE wildcards are matched literally: no sample name can contain % or _
        expect(yield* names("q=%25")).toEqual([])
        // newest first
        const page = decode(SamplePage, yield* get(`/api/v1/samples?submissionId=${sub}`), 200)
        expect(page.items.map((s) => s.position)).toEqual([4, 3, 2, 1])
        expect(page.nextCursor).toBeNull()

        invalid(yield* get("/api/v1/samples?status=lost"), "status")
        invalid(yield* get("/api/v1/samples?step=step9"), "step")
        invalid(yield* get("/api/v1/samples?priority=asap"), "priority")
        invalid(yield* get("/api/v1/samples?submissionId=abc"), "submissionId")
        invalid(yield* get("/api/v1/samples?statsu=failed"), "statsu")
        invalid(yield* get(`/api/v1/samples?q=${"x".repeat(121)}`), "q")
      }))

    it.effect("GET /samples paginates with an opaque cursor: every sample exactly once; bad cursor or limit is 422", () =>
      Effect.gen(function*() {
        const created = yield* createSubmission({
          submitterEmail: "pages@lab.example",
          samples: Array.from({ length: 7 }, (_, i) => ({ sampleName: `page-${i + 1}` }))
        })
        const sub = created.submission.id
        const seen: Array<string> = []
        const pageSizes: Array<number> = []
        let cursor: string | null = null
        let pages = 0
        do {
          const path: string = `/api/v1/samples?submissionId=${sub}&limit=3${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
          const page = decode(SamplePage, yield* get(path), 200)
          seen.push(...page.items.map((s) => s.id))
          pageSizes.push(page.items.length)
          cursor = page.nextCursor
          pages++
        } while (cursor !== null && pages < 10)
        expect(pageSizes).toEqual([3, 3, 1])
        expect(new Set(seen).size).toBe(seen.length)
        expect([...seen].sort()).toEqual(created.samples.map((s) => s.id).sort())

        // a page exactly filling the rest has no next cursor
        const exact = decode(SamplePage, yield* get(`/api/v1/samples?submissionId=${sub}&limit=7`), 200)
        expect(exact.items).toHaveLength(7)
        expect(exact.nextCursor).toBeNull()

        invalid(yield* get("/api/v1/samples?cursor=garbage"), "cursor")
        invalid(yield* get(`/api/v1/samples?cursor=${Buffer.from("\"x\"").toString("base64url")}`), "cursor")
        invalid(yield* get(`/api/v1/samples?cursor=${Buffer.from("-4").toString("base64url")}`), "cursor")
        invalid(yield* get("/api/v1/samples?limit=0"), "limit")
        invalid(yield* get("/api/v1/samples?limit=501"), "limit")
        invalid(yield* get("/api/v1/samples?limit=2.5"), "limit")
        invalid(yield* get("/api/v1/samples?limit=ten"), "limit")
      }))

    it.effect("GET /queues/{step} orders urgent > high > normal > low, then due time, then arrival", () =>
      Effect.gen(function*() {
        const priorities: ReadonlyArray<Priority> = ["low", "normal", "urgent", "high", "normal", "urgent", "low", "high"]
        const created = yield* createSubmission({
          submitterEmail: "queue@lab.example",
          samples: priorities.map((priority, i) => ({ sampleName: `queue-${i + 1}`, priority }))
        })
        // received one after the other: arrival order is position order
        for (const s of created.samples) yield* receive(s.id)
        const mine = new Set(created.samples.map((s) => s.id))
        const queue = decode(QueuePage, yield* get("/api/v1/queues/sample_qc?limit=500"), 200)
        expect(queue.step).toBe("sample_qc")
        expect(queue.total).toBe(queue.items.length)
        expect(queue.items.every((s) => s.status === "in_progress" && s.currentStep === "sample_qc")).toBe(true)
        expect(queue.items.filter((s) => mine.has(s.id)).map((s) => s.sampleName)).toEqual([
          "queue-3", // urgent, first to arrive
          "queue-6",
          "queue-4", // high
          "queue-8",
          "queue-2", // normal
          "queue-5",
          "queue-1", // low
          "queue-7"
        ])
        // the whole queue (other tests' samples included) is sorted by priority, then due time
        const keys = queue.items.map((s) => [-priorityRank(s.priority), Date.parse(s.sla.stepDueAt ?? "")] as const)
        const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1])
        expect(keys).toEqual(sorted)

        // a priority change re-orders the queue at once
        const last = created.samples[6]
        if (!last) return expect.fail("eight samples expected")
        ok(yield* post(samplePath(last.id, "/priority"), { priority: "urgent" }))
        const again = decode(QueuePage, yield* get("/api/v1/queues/sample_qc?limit=500"), 200)
        expect(again.items.filter((s) => mine.has(s.id)).map((s) => s.sampleName).slice(0, 3)).toEqual(["queue-3", "queue-6", "queue-7"])

        // the queue pages with its cursor, each sample once
        const walked: Array<string> = []
        let cursor: string | null = null
        let pages = 0
        do {
          const path: string = `/api/v1/queues/sample_qc?limit=3${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
          const page = decode(QueuePage, yield* get(path), 200)
          walked.push(...page.items.map((s) => s.id))
          cursor = page.nextCursor
          pages++
        } while (cursor !== null && pages < 500)
        expect(walked).toEqual(again.items.map((s) => s.id))

        const counts = decode(Schema.Record({ key: Schema.String, value: Schema.Number }), yield* get("/api/v1/queues"), 200)
        expect(Object.keys(counts).sort()).toEqual([...STEP_IDS].sort())
        expect(counts.sample_qc).toBe(again.total)

        invalid(yield* get("/api/v1/queues/sequencing"), "step")
        invalid(yield* get("/api/v1/queues/sample_qc?limit=0"), "limit")
        invalid(yield* get("/api/v1/queues/sample_qc?cursor=garbage"), "cursor")
        invalid(yield* get("/api/v1/queues/sample_qc?sort=due"), "sort")
      }))

    it.effect("batch receive: per-sample results, refusals typed, the others really received", () =>
      Effect.gen(function*() {
        const created = yield* createSubmission({
          submitterEmail: "batch@lab.example",
          samples: [{ sampleName: "b1" }, { sampleName: "b2" }, { sampleName: "b3" }, { sampleName: "b4" }]
        })
        const ids = created.samples.map((s) => s.id)
        const [b1, b2, b3, b4] = ids
        if (!b1 || !b2 || !b3 || !b4) return expect.fail("four samples expected")
        yield* receive(b2)
        const missing = randomUUID()
        const result = decode(BatchResult, yield* post("/api/v1/samples/batch/receive", { sampleIds: [b1, b2, b3, b4, missing] }), 200)
        expect(result.succeeded).toBe(3)
        expect(result.failed).toBe(2)
        const byId = new Map(result.results.map((r) => [r.sampleId, r]))
        expect(byId.size).toBe(5)
        for (const id of [b1, b3, b4]) {
          const item = byId.get(id)
          expect(item?.ok).toBe(true)
          if (item?.ok === true) expect(item.result.sample.status).toBe("in_progress")
        }
        const refused = byId.get(b2)
        expect(refused?.ok).toBe(false)
        if (refused?.ok === false) {
          expect(refused.error._tag).toBe("StepTransitionRefused")
          expect(refused.error.status).toBe("in_progress")
          expect(refused.error.allowed).not.toContain("Receive")
        }
        const unknown = byId.get(missing)
        expect(unknown?.ok === false && unknown.error._tag).toBe("SampleNotFound")

        for (const id of ids) {
          const s = yield* readSample(id)
          expect(s.status).toBe("in_progress")
          expect(s.version).toBe(2)
        }
      }))

    it.effect("batch priority, hold, advance; empty, non-UUID and unknown actions are 422", () =>
      Effect.gen(function*() {
        const created = yield* createSubmission({
          submitterEmail: "batch2@lab.example",
          samples: [{ sampleName: "p1" }, { sampleName: "p2", priority: "urgent" }, { sampleName: "p3" }]
        })
        const ids = created.samples.map((s) => s.id)
        const key = `batch-${token()}`
        const prio = yield* post("/api/v1/samples/batch/priority", { sampleIds: ids, priority: "urgent" }, { "idempotency-key": key })
        const result = decode(BatchResult, prio, 200)
        expect([result.succeeded, result.failed]).toEqual([2, 1])
        expect(result.results.find((r) => r.sampleId === ids[1])?.ok).toBe(false)
        for (const id of ids) expect((yield* readSample(id)).priority).toBe("urgent")
        // the same key again replays each sample's result
        const replay = decode(BatchResult, yield* post("/api/v1/samples/batch/priority", { sampleIds: ids, priority: "urgent" }, { "idempotency-key": key }), 200)
        expect(replay.results.filter((r) => r.ok && r.result.replayed).map((r) => r.sampleId).sort()).toEqual([ids[0], ids[2]].sort())

        const received = decode(BatchResult, yield* post("/api/v1/samples/batch/receive", { sampleIds: ids }), 200)
        expect(received.succeeded).toBe(3)
        const advanced = decode(BatchResult, yield* post("/api/v1/samples/batch/advance", { sampleIds: ids, expectedStep: "sample_qc", data: sampleQc() }), 200)
        expect(advanced.succeeded).toBe(3)
        for (const id of ids) expect((yield* readSample(id)).currentStep).toBe("library_prep")
        const held = decode(BatchResult, yield* post("/api/v1/samples/batch/hold", { sampleIds: ids, reason: "freezer move" }), 200)
        expect(held.succeeded).toBe(3)
        for (const id of ids) expect((yield* readSample(id)).status).toBe("on_hold")
        expect(decode(BatchResult, yield* post("/api/v1/samples/batch/resume", { sampleIds: ids }), 200).succeeded).toBe(3)

        invalid(yield* post("/api/v1/samples/batch/receive", { sampleIds: [] }), "sampleIds")
        invalid(yield* post("/api/v1/samples/batch/receive", {}), "sampleIds")
        invalid(yield* post("/api/v1/samples/batch/receive", { sampleIds: [ids[0], "not-a-uuid"] }), "sampleIds.1")
        invalid(yield* post("/api/v1/samples/batch/receive", { sampleIds: Array.from({ length: 501 }, () => randomUUID()) }), "sampleIds")
        invalid(yield* post("/api/v1/samples/batch/priority", { sampleIds: ids, priority: "asap" }), "priority")
        invalid(yield* post("/api/v1/samples/batch/hold", { sampleIds: ids }), "reason")
        invalid(yield* post("/api/v1/samples/batch/advance", { sampleIds: ids, expectedStep: "library_prep", data: { kit: "SQK-XYZ" } }), "data.kit")
        const action = failure(yield* post("/api/v1/samples/batch/explode", { sampleIds: ids }), 404, "RouteNotFound")
        expect(action.message).toContain("explode")
        // a batch names each sample once: duplicates are refused whole, nothing executed
        invalid(yield* post("/api/v1/samples/batch/hold", { sampleIds: [ids[0], ids[0]], reason: "twice" }), "sampleIds")
        // nothing of the refused batches changed the samples
        for (const id of ids) {
          const s = yield* readSample(id)
          expect(s.status).toBe("in_progress")
          expect(s.priority).toBe("urgent")
        }
      }))

    it.effect("bad input never answers 500", () =>
      Effect.gen(function*() {
        const sample = yield* createSample()
        const id = sample.id
        const queueCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
        const bodies: ReadonlyArray<RequestOptions> = [
          { raw: "not json" },
          { raw: "{" },
          { raw: "[1,2" },
          { raw: "\u0000\u0001" },
          { json: null },
          { json: [] },
          { json: "a string" },
          { json: 42 },
          { json: true },
          { raw: "{\"__proto__\": {\"polluted\": true}}" },
          { json: { constructor: { prototype: { x: 1 } } } },
          { json: { a: { b: { c: { d: { e: [[[[[]]]]] } } } } } },
          { json: { sampleIds: "all", expectedStep: 7, data: [], reason: { nested: true }, priority: null } },
          { raw: JSON.stringify({ reason: "x".repeat(100_000) }) },
          { raw: "{\"data\": 1e999, \"expectedStep\": \"sample_qc\"}" }
        ]
        const routes: ReadonlyArray<readonly [string, string]> = [
          ["POST", "/api/v1/samples"],
          ["POST", "/api/v1/submissions"],
          ["POST", samplePath(id, "/receive")],
          ["POST", samplePath(id, "/workflow/advance")],
          ["POST", samplePath(id, "/workflow/start")],
          ["POST", samplePath(id, "/workflow/fail")],
          ["POST", samplePath(id, "/workflow/skip")],
          ["POST", samplePath(id, "/workflow/rework")],
          ["POST", samplePath(id, "/hold")],
          ["POST", samplePath(id, "/resume")],
          ["POST", samplePath(id, "/cancel")],
          ["POST", samplePath(id, "/archive")],
          ["POST", samplePath(id, "/priority")],
          ["PATCH", samplePath(id)],
          ["POST", "/api/v1/samples/batch/receive"],
          ["POST", "/api/v1/samples/batch/advance"],
          ["POST", "/api/v1/samples/batch/priority"],
          ["POST", "/api/v1/events/ack"]
        ]
        const answers: Array<readonly [string, number, string]> = []
        for (const [method, path] of routes) {
          for (const options of bodies) {
            const reply = yield* call(method, path, options)
            answers.push([`${method} ${path} ${options.raw?.slice(0, 30) ?? JSON.stringify(options.json)}`, reply.status, reply.text.slice(0, 200)])
          }
        }
        const gets = [
          "/api/v1/samples?limit=-1",
          "/api/v1/samples?limit=1e400",
          "/api/v1/samples?limit=NaN",
          "/api/v1/samples?cursor=%00%01",
          `/api/v1/samples?cursor=${Buffer.from("1e400").toString("base64url")}`,
          `/api/v1/samples?cursor=${Buffer.from("99999999999999999999").toString("base64url")}`,
          `/api/v1/samples?cursor=${"A".repeat(201)}`,
          "/api/v1/samples?q=%27%3B%20DROP%20TABLE%20samples%3B--",
          "/api/v1/samples?q=%5C",
          "/api/v1/samples?submitter=%25",
          "/api/v1/samples?status=in_progress&status=failed",
          `/api/v1/queues/sample_qc?cursor=${queueCursor(["x", null, null, "y"])}`,
          "/api/v1/queues/%00",
          "/api/v1/queues/sample_qc?limit=abc",
          "/api/v1/samples/%E0%A4%A",
          `/api/v1/samples/${"9".repeat(5000)}`,
          `/api/v1/samples/${id}/workflow?x=1`,
          "/api/v1/submissions/%20",
          "/api/v1/events",
          "/api/v1/events?consumer=BAD%20NAME",
          "/api/v1/events?consumer=c1&limit=0"
        ]
        for (const path of gets) {
          const reply = yield* get(path)
          answers.push([`GET ${path.slice(0, 120)}`, reply.status, reply.text.slice(0, 200)])
        }
        const headerCases: ReadonlyArray<Readonly<Record<string, string>>> = [
          { "idempotency-key": "" },
          { "idempotency-key": "a b" },
          { "idempotency-key": "x".repeat(5000) },
          { "x-actor": "y".repeat(5000) },
          { "content-type": "text/plain" }
        ]
        for (const headers of headerCases) {
          const reply = yield* post(samplePath(id, "/hold"), { reason: "x" }, headers)
          answers.push([`POST hold ${JSON.stringify(headers).slice(0, 60)}`, reply.status, reply.text.slice(0, 200)])
          if (reply.status === 200) ok(yield* post(samplePath(id, "/resume")))
        }
        const serverErrors = answers.filter(([, status]) => status >= 500)
        expect(serverErrors).toEqual([])
        // and each is an answer a client can act on
        expect(answers.filter(([, status]) => ![200, 400, 404, 409, 413, 415, 422].includes(status))).toEqual([])
        // none of it moved the sample out of submitted
        expect((yield* readSample(id)).status).toBe("submitted")
      }))

    it.effect("a forged queue cursor is 422, never 500", () =>
      Effect.gen(function*() {
        const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
        // well-formed JSON tuples whose values the database cannot read: a bad timestamp, a rank out of range
        invalid(yield* get(`/api/v1/queues/sample_qc?cursor=${cursor([3, "not a date", null, randomUUID()])}`), "cursor")
        invalid(yield* get(`/api/v1/queues/sample_qc?cursor=${cursor([3, null, "2026-13-45T99:00:00Z", randomUUID()])}`), "cursor")
        invalid(yield* get(`/api/v1/queues/sample_qc?cursor=${cursor([1e300, null, null, randomUUID()])}`), "cursor")
      }))

    it.effect("commands without fields refuse a body with fields; batch actions name unknown fields", () =>
      Effect.gen(function*() {
        const sample = yield* createSample()
        invalid(yield* post(samplePath(sample.id, "/receive"), { force: true }), "force")
        expect((yield* post(samplePath(sample.id, "/receive"), 42)).status).toBe(422)
        expect((yield* post(samplePath(sample.id, "/receive"), [])).status).toBe(422)
        expect((yield* readSample(sample.id)).status).toBe("submitted")
        // an empty body and {} are both fine
        expect(ok(yield* call("POST", samplePath(sample.id, "/receive"), { raw: "" })).sample.status).toBe("in_progress")
        ok(yield* post(samplePath(sample.id, "/hold"), { reason: "wait" }))
        invalid(yield* post(samplePath(sample.id, "/resume"), { to: "in_progress" }), "to")
        expect(ok(yield* post(samplePath(sample.id, "/resume"), {})).sample.status).toBe("in_progress")

        const other = yield* createSample()
        const ids = [sample.id, other.id]
        invalid(yield* post("/api/v1/samples/batch/receive", { sampleIds: ids, force: true }), "force")
        const typo = invalid(yield* post("/api/v1/samples/batch/priority", { sampleIds: ids, prority: "urgent" }), "prority")
        expect(issuePaths(typo)).toContain("priority")
        invalid(yield* post("/api/v1/samples/batch/hold", { sampleIds: ids, reason: "x", until: "friday" }), "until")
        invalid(yield* post("/api/v1/samples/batch/cancel", { sampleIds: ids, reasons: "x" }), "reasons")
        expect((yield* readSample(other.id)).status).toBe("submitted")
        expect((yield* readSample(other.id)).priority).toBe("normal")
      }))
  })
})
