/**
 * Example-based tests of the pure sample state machine (SampleWorkflow.ts) and its read models (SampleViews.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Either, Schema } from "effect"
import {
  Archive,
  Cancel,
  ChangePriority,
  COMMAND_TAGS,
  CompleteStep,
  EditFields,
  FailStep,
  Hold,
  Receive,
  Resume,
  Rework,
  SkipStep,
  StartStep,
  type CommandTag,
  type EditableFields,
  type SampleCommand
} from "../rpc/Commands.ts"
import { InvalidInput, StepTransitionRefused } from "../rpc/Errors.ts"
import { SampleId, SubmissionId } from "../rpc/Ids.ts"
import {
  STEP_IDS,
  type Priority,
  type SampleDetails,
  type SampleState,
  type StepData,
  type StepId
} from "../rpc/Workflow.ts"
import { slaView, toView, toWorkflowView } from "./SampleViews.ts"
import {
  allowedCommands,
  create,
  currentStep,
  decide,
  gate,
  nextWake,
  SlaCheck,
  thresholds,
  type NewSample,
  type Refusal,
  type Transition,
  type WorkflowCommand
} from "./SampleWorkflow.ts"
import { defaultPolicy, type WorkflowPolicy } from "./WorkflowPolicy.ts"

// ---------------------------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------------------------

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** Monday 2025-01-06 09:00 UTC. */
const T0 = Date.UTC(2025, 0, 6, 9)
/** Friday 2025-01-03 10:00 UTC. */
const FRIDAY = Date.UTC(2025, 0, 3, 10)

const policy = defaultPolicy
const withQc = (qc: Partial<WorkflowPolicy["qc"]>): WorkflowPolicy => ({ ...policy, qc: { ...policy.qc, ...qc } })

const newSample = (overrides: Partial<NewSample> = {}): NewSample => ({
  id: Schema.decodeSync(SampleId)(crypto.randomUUID()),
  submissionId: Schema.decodeSync(SubmissionId)(crypto.randomUUID()),
  position: 1,
  sampleName: "ecoli_K12-01",
  submitterEmail: "ada@lab.example.org",
  priority: "normal",
  flowCellType: "R10.4.1",
  details: { sampleType: "gDNA", libraryKit: "SQK-LSK114", organism: "E. coli" },
  ...overrides
})

type DataOf<S extends StepId> = Extract<StepData, { readonly step: S }>["data"]

const sampleQc = (d: Partial<DataOf<"sample_qc">> = {}): StepData => ({
  step: "sample_qc",
  data: { qubitNgUl: 50, volumeUl: 30, nanodropNgUl: 55, a260_280: 1.9, a260_230: 2.1, ...d }
})
const libraryPrep = (d: Partial<DataOf<"library_prep">> = {}): StepData => ({
  step: "library_prep",
  data: { kit: "SQK-LSK114", inputNg: 1000, operator: "jdoe", ...d }
})
const libraryQc = (d: Partial<DataOf<"library_qc">> = {}): StepData => ({
  step: "library_qc",
  data: { libraryNgUl: 12, fmol: 50, meanFragmentLengthBp: 8000, ...d }
})
const sequencingSetup = (d: Partial<DataOf<"sequencing_setup">> = {}): StepData => ({
  step: "sequencing_setup",
  data: { flowCellId: "PAW12345", flowCellProductCode: "FLO-MIN114", poreCount: 1500, device: "GridION", position: "X1", ...d }
})
const sequencingRun = (d: Partial<DataOf<"sequencing_run">> = {}): StepData => ({
  step: "sequencing_run",
  data: { runId: "run-20250106-01", yieldGb: 12.5, reads: 2_000_000, n50: 15_000, ...d }
})
const basecalling = (d: Partial<DataOf<"basecalling">> = {}): StepData => ({
  step: "basecalling",
  data: { model: "hac", passReadPercent: 92, softwareVersion: "dorado 0.9", ...d }
})
const qualityAssessment = (d: Partial<DataOf<"quality_assessment">> = {}): StepData => ({
  step: "quality_assessment",
  data: { meanQ: 18, coverage: 60, passed: true, ...d }
})
const dataDelivery = (d: Partial<DataOf<"data_delivery">> = {}): StepData => ({
  step: "data_delivery",
  data: { method: "s3", location: "s3://facility-delivery/run-20250106-01", retentionDays: 30, ...d }
})

/** Valid data for every step that passes every gate without warnings. */
const goodRecord = (step: StepId): StepData => {
  switch (step) {
    case "sample_qc":
      return sampleQc()
    case "library_prep":
      return libraryPrep()
    case "library_qc":
      return libraryQc()
    case "sequencing_setup":
      return sequencingSetup()
    case "sequencing_run":
      return sequencingRun()
    case "basecalling":
      return basecalling()
    case "quality_assessment":
      return qualityAssessment()
    case "data_delivery":
      return dataDelivery()
  }
}

const complete = (record: StepData) => new CompleteStep({ record })

type Result = Either.Either<Transition, Refusal>

const run = (state: SampleState, command: WorkflowCommand, now: number, p: WorkflowPolicy = policy): Result =>
  decide(state, command, { now, policy: p })

/** Asserts acceptance and returns the transition. */
const accepted = (result: Result): Transition => {
  if (Either.isLeft(result)) {
    throw new Error(`expected the command to be accepted, got ${result.left._tag}: ${JSON.stringify(result.left)}`)
  }
  return result.right
}
/** Asserts a StepTransitionRefused and returns it. */
const refusedTransition = (result: Result): StepTransitionRefused => {
  if (Either.isRight(result)) throw new Error(`expected a refusal, got events ${JSON.stringify(result.right.events)}`)
  expect(result.left).toBeInstanceOf(StepTransitionRefused)
  if (result.left._tag !== "StepTransitionRefused") throw new Error(result.left.message)
  return result.left
}
/** Asserts an InvalidInput and returns it. */
const invalidInput = (result: Result): InvalidInput => {
  if (Either.isRight(result)) throw new Error(`expected a refusal, got events ${JSON.stringify(result.right.events)}`)
  expect(result.left).toBeInstanceOf(InvalidInput)
  if (result.left._tag !== "InvalidInput") throw new Error(result.left.reason)
  return result.left
}

const apply = (state: SampleState, command: WorkflowCommand, now: number, p: WorkflowPolicy = policy): SampleState =>
  accepted(run(state, command, now, p)).state

const created = (overrides: Partial<NewSample> = {}, at = T0): SampleState => create(newSample(overrides), at).state
const received = (overrides: Partial<NewSample> = {}, at = T0): SampleState => apply(created(overrides, at), new Receive(), at)

/** Completes the current step with good data (one hour later each) until `step` is current. */
const advanceTo = (state: SampleState, step: StepId, from: number): { state: SampleState; now: number } => {
  let s = state
  let now = from
  while (currentStep(s) !== step) {
    const cur = currentStep(s)
    if (cur === null || s.status !== "in_progress") throw new Error(`cannot advance to ${step} from ${s.status}`)
    now += HOUR
    s = apply(s, complete(goodRecord(cur)), now)
  }
  return { state: s, now }
}

const completedSample = (): { state: SampleState; now: number } => {
  let s = received()
  let now = T0
  for (const step of STEP_IDS) {
    now += HOUR
    s = apply(s, complete(goodRecord(step)), now)
  }
  return { state: s, now }
}

const stepStatuses = (state: SampleState) => state.steps.map((s) => s.status)

// ---------------------------------------------------------------------------------------------------------------
// Happy path
// ---------------------------------------------------------------------------------------------------------------

describe("happy path", () => {
  it("create → Receive → 8 × CompleteStep → completed → Archive → archived", () => {
    const input = newSample()
    const c = create(input, T0)
    expect(c.state.status).toBe("submitted")
    expect(c.state.version).toBe(1)
    expect(c.state.current).toBe(0)
    expect(c.state.createdAt).toBe(T0)
    expect(c.state.updatedAt).toBe(T0)
    expect(c.state.sla).toEqual({ raised: [] })
    expect(c.state.steps).toEqual(STEP_IDS.map((step) => ({ step, status: "pending", attempt: 0 })))
    expect(currentStep(c.state)).toBeNull()
    expect(c.events).toEqual([{
      type: "SampleCreated",
      data: {
        sampleName: input.sampleName,
        position: 1,
        priority: "normal",
        flowCellType: "R10.4.1",
        submitterEmail: input.submitterEmail
      }
    }])

    let now = T0 + 2 * HOUR
    const r = accepted(run(c.state, new Receive(), now))
    expect(r.events).toEqual([{ type: "SampleReceived", data: { step: "sample_qc" } }])
    expect(r.state.version).toBe(2)
    expect(r.state.status).toBe("in_progress")
    expect(r.state.receivedAt).toBe(now)
    expect(r.state.updatedAt).toBe(now)
    expect(currentStep(r.state)).toBe("sample_qc")
    expect(r.state.steps[0]).toEqual({ step: "sample_qc", status: "queued", attempt: 1, queuedAt: now })
    expect(stepStatuses(r.state)).toEqual(["queued", "pending", "pending", "pending", "pending", "pending", "pending", "pending"])
    // Monday 11:00 + 5 business days = next Monday 11:00
    expect(r.state.sla.turnaround).toEqual({ key: "turnaround", startAt: now, dueAt: now + 7 * DAY })
    expect(r.state.sla.step).toEqual({ key: "step:sample_qc#1", startAt: now, dueAt: now + HOUR })

    let state = r.state
    STEP_IDS.forEach((step, i) => {
      now += policy.expectedMs[step] / 2
      const record = goodRecord(step)
      const t = accepted(run(state, complete(record), now))
      const next = STEP_IDS[i + 1]
      expect(t.state.version).toBe(state.version + 1)
      expect(t.state.updatedAt).toBe(now)
      expect(t.events[0]).toEqual({
        type: "WorkflowStepCompleted",
        data: { step, attempt: 1, data: record.data, nextStep: next ?? null }
      })
      expect(t.state.steps[i]).toEqual({
        step,
        status: "completed",
        attempt: 1,
        queuedAt: state.steps[i]!.queuedAt,
        startedAt: now,
        finishedAt: now,
        data: record.data
      })
      if (next !== undefined) {
        expect(t.events).toHaveLength(1)
        expect(t.state.status).toBe("in_progress")
        expect(t.state.current).toBe(i + 1)
        expect(currentStep(t.state)).toBe(next)
        expect(t.state.steps[i + 1]).toEqual({ step: next, status: "queued", attempt: 1, queuedAt: now })
        expect(stepStatuses(t.state)).toEqual(STEP_IDS.map((_, j) => (j <= i ? "completed" : j === i + 1 ? "queued" : "pending")))
        expect(t.state.sla.step).toEqual({ key: `step:${next}#1`, startAt: now, dueAt: now + policy.expectedMs[next] })
        expect(t.state.sla.turnaround).toEqual(r.state.sla.turnaround)
      } else {
        expect(t.events).toEqual([t.events[0], { type: "SampleCompleted", data: {} }])
        expect(t.state.status).toBe("completed")
        expect(t.state.completedAt).toBe(now)
        expect(currentStep(t.state)).toBeNull()
        expect(stepStatuses(t.state)).toEqual(STEP_IDS.map(() => "completed"))
        expect(t.state.sla).toEqual({ raised: [] })
        expect(allowedCommands(t.state, policy)).toEqual(["Archive"])
      }
      state = t.state
    })
    expect(state.version).toBe(10)

    now += DAY
    const a = accepted(run(state, new Archive(), now))
    expect(a.events).toEqual([{ type: "SampleArchived", data: {} }])
    expect(a.state.status).toBe("archived")
    expect(a.state.version).toBe(11)
    expect(a.state.completedAt).toBe(state.completedAt)
    expect(currentStep(a.state)).toBeNull()
    expect(allowedCommands(a.state, policy)).toEqual([])
  })

  it("StartStep moves the current step from queued to running and is then no longer allowed", () => {
    const s = received()
    expect(allowedCommands(s, policy)).toContain("StartStep")
    const t = accepted(run(s, new StartStep({ step: "sample_qc" }), T0 + 10 * MINUTE))
    expect(t.events).toEqual([{ type: "WorkflowStepStarted", data: { step: "sample_qc", attempt: 1 } }])
    expect(t.state.steps[0]).toMatchObject({ status: "running", startedAt: T0 + 10 * MINUTE, attempt: 1 })
    expect(t.state.version).toBe(s.version + 1)
    expect(allowedCommands(t.state, policy)).not.toContain("StartStep")
    // completing keeps the real start time
    const done = apply(t.state, complete(sampleQc()), T0 + 40 * MINUTE)
    expect(done.steps[0]).toMatchObject({ status: "completed", startedAt: T0 + 10 * MINUTE, finishedAt: T0 + 40 * MINUTE })
  })

  it("create warns about a Kit 14 kit on an R9.4.1 flow cell and about a DNA kit for RNA", () => {
    const r9 = create(newSample({ flowCellType: "R9.4.1", details: { libraryKit: "SQK-NBD114.24" } }), T0)
    expect(r9.events[0]?.data["warnings"]).toEqual(["Kit 14 (SQK-NBD114.24) is not compatible with an R9.4.1 flow cell; use R10.4.1"])
    const rna = create(newSample({ details: { sampleType: "mRNA", libraryKit: "SQK-LSK114" } }), T0)
    expect(rna.events[0]?.data["warnings"]).toEqual(["SQK-LSK114 is a DNA kit but the sample is mRNA"])
    const drna = create(newSample({ details: { sampleType: "gDNA", libraryKit: "SQK-RNA004" } }), T0)
    expect(drna.events[0]?.data["warnings"]).toEqual(["direct-RNA kit SQK-RNA004 chosen for a gDNA sample"])
    expect(create(newSample(), T0).events[0]?.data).not.toHaveProperty("warnings")
  })
})

// ---------------------------------------------------------------------------------------------------------------
// The transition table: every status × every command
// ---------------------------------------------------------------------------------------------------------------

/** A command of `tag` that the state machine accepts whenever the tag is allowed in `state`. */
const commandFor = (tag: CommandTag, state: SampleState): SampleCommand => {
  const step = currentStep(state) ?? "sample_qc"
  switch (tag) {
    case "Receive":
      return new Receive()
    case "StartStep":
      return new StartStep({ step })
    case "CompleteStep":
      return complete(goodRecord(step))
    case "FailStep":
      return new FailStep({ step, reason: "flow cell dropped" })
    case "Rework":
      return new Rework({ toStep: state.failure?.step ?? step, reason: "repeat" })
    case "SkipStep":
      return new SkipStep({ step, reason: "POD5 only" })
    case "Hold":
      return new Hold({ reason: "waiting for the PI" })
    case "Resume":
      return new Resume()
    case "Cancel":
      return new Cancel({ reason: "withdrawn by the submitter" })
    case "Archive":
      return new Archive()
    case "ChangePriority":
      return new ChangePriority({ priority: state.priority === "urgent" ? "low" : "urgent" })
    case "EditFields":
      return new EditFields({ fields: { details: { notes: `note at version ${state.version}` } } })
  }
}

interface StatusCase {
  readonly name: string
  readonly state: SampleState
  readonly status: SampleState["status"]
  readonly currentStep: StepId | null
  readonly allowed: ReadonlyArray<CommandTag>
}

const statusCases = (): ReadonlyArray<StatusCase> => {
  const inProgress = received()
  const running = apply(inProgress, new StartStep({ step: "sample_qc" }), T0 + MINUTE)
  const heldInProgress = apply(running, new Hold({ reason: "instrument down" }), T0 + 2 * MINUTE)
  const heldSubmitted = apply(created(), new Hold({ reason: "paperwork" }), T0)
  const failed = apply(inProgress, new FailStep({ step: "sample_qc", reason: "tube cracked" }), T0 + MINUTE)
  const done = completedSample()
  const cancelled = apply(inProgress, new Cancel({ reason: "withdrawn" }), T0 + MINUTE)
  const archived = apply(done.state, new Archive(), done.now + HOUR)
  const atBasecalling = advanceTo(received(), "basecalling", T0).state
  const client = ["Hold", "Cancel", "ChangePriority", "EditFields"] as const
  return [
    { name: "submitted", state: created(), status: "submitted", currentStep: null, allowed: ["Receive", ...client] },
    {
      name: "in_progress (queued)",
      state: inProgress,
      status: "in_progress",
      currentStep: "sample_qc",
      allowed: ["StartStep", "CompleteStep", "FailStep", ...client]
    },
    {
      name: "in_progress (running)",
      state: running,
      status: "in_progress",
      currentStep: "sample_qc",
      allowed: ["CompleteStep", "FailStep", ...client]
    },
    {
      name: "in_progress (queued, skippable step)",
      state: atBasecalling,
      status: "in_progress",
      currentStep: "basecalling",
      allowed: ["StartStep", "CompleteStep", "FailStep", "SkipStep", ...client]
    },
    {
      name: "on_hold (from in_progress)",
      state: heldInProgress,
      status: "on_hold",
      currentStep: "sample_qc",
      allowed: ["Resume", "Cancel", "ChangePriority", "EditFields"]
    },
    {
      name: "on_hold (from submitted)",
      state: heldSubmitted,
      status: "on_hold",
      currentStep: null,
      allowed: ["Resume", "Cancel", "ChangePriority", "EditFields"]
    },
    { name: "failed", state: failed, status: "failed", currentStep: "sample_qc", allowed: ["Rework", ...client] },
    { name: "completed", state: done.state, status: "completed", currentStep: null, allowed: ["Archive"] },
    { name: "cancelled", state: cancelled, status: "cancelled", currentStep: "sample_qc", allowed: [] },
    { name: "archived", state: archived, status: "archived", currentStep: null, allowed: [] }
  ]
}

describe("transition table", () => {
  for (const c of statusCases()) {
    describe(c.name, () => {
      it("has the expected status, current step and allowed commands", () => {
        expect(c.state.status).toBe(c.status)
        expect(currentStep(c.state)).toBe(c.currentStep)
        expect(allowedCommands(c.state, policy)).toEqual(c.allowed)
      })
      if (c.allowed.includes("ChangePriority")) {
        it("ChangePriority to the same priority is refused", () => {
          const e = refusedTransition(run(c.state, new ChangePriority({ priority: c.state.priority }), c.state.updatedAt))
          expect(e.status).toBe(c.status)
          expect(e.reason).toBe(`the priority is already ${c.state.priority}`)
        })
      }
      for (const tag of COMMAND_TAGS) {
        const allowed = c.allowed.includes(tag)
        it(`${tag} is ${allowed ? "accepted" : "refused"}`, () => {
          const now = c.state.updatedAt + HOUR
          const result = run(c.state, commandFor(tag, c.state), now)
          if (allowed) {
            const t = accepted(result)
            expect(t.events.length).toBeGreaterThan(0)
            expect(t.state.version).toBe(c.state.version + 1)
            expect(t.state.updatedAt).toBe(now)
          } else {
            const e = refusedTransition(result)
            expect(e.sampleId).toBe(c.state.id)
            expect(e.status).toBe(c.status)
            expect(e.currentStep).toBe(c.currentStep)
            expect(e.attempted).toBe(tag)
            expect(e.allowed).toEqual(c.allowed)
            expect(e.reason).toBe(tag === "SkipStep" && c.status === "in_progress"
              ? `${c.currentStep} cannot be skipped; the facility allows skipping only ${defaultPolicy.skippable.join(", ")}`
              : `${tag} is not allowed while the sample is ${c.status}`)
          }
        })
      }
    })
  }
})

// ---------------------------------------------------------------------------------------------------------------
// QC gates
// ---------------------------------------------------------------------------------------------------------------

describe("sample QC gate", () => {
  it("fails with a recorded reason when Qubit × volume is below the kit's minimum input", () => {
    const s = received()
    const now = T0 + 30 * MINUTE
    const record = sampleQc({ qubitNgUl: 20, volumeUl: 40 }) // 800 ng < 1000 ng for SQK-LSK114
    const t = accepted(run(s, complete(record), now))
    const reason = "insufficient DNA: 800 ng total (Qubit 20 ng/µL × 40 µL) is below the 1000 ng SQK-LSK114 input"
    expect(t.events).toEqual([{
      type: "QcFailed",
      data: { step: "sample_qc", attempt: 1, reasons: [reason], warnings: [], data: record.data }
    }])
    expect(t.state.status).toBe("failed")
    expect(t.state.version).toBe(s.version + 1)
    expect(t.state.failure).toEqual({ step: "sample_qc", reason })
    expect(t.state.steps[0]).toMatchObject({ status: "failed", reason, finishedAt: now, data: record.data })
    expect(t.state.sla.step).toBeUndefined()
    expect(t.state.sla.turnaround).toEqual(s.sla.turnaround)
    expect(currentStep(t.state)).toBe("sample_qc")
    expect(allowedCommands(t.state, policy)).toEqual(["Rework", "Hold", "Cancel", "ChangePriority", "EditFields"])
  })

  it("passes at exactly the minimum input", () => {
    const t = accepted(run(received(), complete(sampleQc({ qubitNgUl: 25, volumeUl: 40 })), T0 + HOUR))
    expect(t.state.status).toBe("in_progress")
    expect(t.state.steps[0]?.status).toBe("completed")
    expect(t.events.map((e) => e.type)).toEqual(["WorkflowStepCompleted"])
  })

  it("uses the per-kit minimum and the default for samples without a kit", () => {
    const rapid = received({ details: { sampleType: "gDNA", libraryKit: "SQK-RBK114.24" } })
    expect(accepted(run(rapid, complete(sampleQc({ qubitNgUl: 2, volumeUl: 30 })), T0 + HOUR)).state.status).toBe("in_progress")
    expect(accepted(run(rapid, complete(sampleQc({ qubitNgUl: 1, volumeUl: 30 })), T0 + HOUR)).state.status).toBe("failed")

    const noKit = received({ details: { sampleType: "gDNA" } })
    const t = accepted(run(noKit, complete(sampleQc({ qubitNgUl: 30, volumeUl: 30 })), T0 + HOUR))
    expect(t.state.status).toBe("failed")
    expect(t.state.failure?.reason).toBe(
      "insufficient DNA: 900 ng total (Qubit 30 ng/µL × 30 µL) is below the 1000 ng default input"
    )

    const custom = withQc({ minInputNg: { ...policy.qc.minInputNg, "SQK-LSK114": 500 } })
    expect(accepted(run(received(), complete(sampleQc({ qubitNgUl: 20, volumeUl: 30 })), T0 + HOUR, custom)).state.status)
      .toBe("in_progress")
  })

  it("treats purity outside range as a warning by default", () => {
    const record = sampleQc({ a260_280: 1.5, a260_230: 2.5 })
    const t = accepted(run(received(), complete(record), T0 + HOUR))
    const warnings = ["A260/280 1.5 outside 1.8–2", "A260/230 2.5 outside 2–2.2"]
    expect(t.state.status).toBe("in_progress")
    expect(t.state.steps[0]).toMatchObject({ status: "completed", warnings })
    expect(t.events[0]).toEqual({
      type: "WorkflowStepCompleted",
      data: { step: "sample_qc", attempt: 1, data: record.data, warnings, nextStep: "library_prep" }
    })
  })

  it("fails on purity outside range with failOnPurity", () => {
    const strict = withQc({ failOnPurity: true })
    const t = accepted(run(received(), complete(sampleQc({ a260_280: 2.3 })), T0 + HOUR, strict))
    expect(t.state.status).toBe("failed")
    expect(t.events[0]?.type).toBe("QcFailed")
    expect(t.events[0]?.data["reasons"]).toEqual(["A260/280 2.3 outside 1.8–2"])
    expect(t.state.failure).toEqual({ step: "sample_qc", reason: "A260/280 2.3 outside 1.8–2" })
    // in range still passes
    expect(accepted(run(received(), complete(sampleQc()), T0 + HOUR, strict)).state.status).toBe("in_progress")
  })

  it("fails RNA below the minimum RIN and passes at or above it", () => {
    const rna = received({ details: { sampleType: "total RNA", libraryKit: "SQK-RNA004" } })
    const low = accepted(run(rna, complete(sampleQc({ rin: 6.5 })), T0 + HOUR))
    expect(low.state.status).toBe("failed")
    expect(low.events[0]).toMatchObject({ type: "QcFailed", data: { reasons: ["RIN 6.5 is below 7"] } })
    expect(low.state.failure?.reason).toBe("RIN 6.5 is below 7")
    expect(accepted(run(rna, complete(sampleQc({ rin: 7 })), T0 + HOUR)).state.status).toBe("in_progress")
  })

  it("only warns about low DIN for DNA and short fragments for HMW gDNA", () => {
    const hmw = received({ details: { sampleType: "HMW gDNA", libraryKit: "SQK-LSK114" } })
    const t = accepted(run(hmw, complete(sampleQc({ din: 6, fragmentSizeBp: 8000 })), T0 + HOUR))
    expect(t.state.status).toBe("in_progress")
    expect(t.state.steps[0]?.warnings).toEqual(["DIN 6 is below 7", "fragment size 8000 bp is below 10000 bp for HMW gDNA"])
    const result = gate(hmw, sampleQc({ din: 6, fragmentSizeBp: 8000 }), policy)
    expect(result.failures).toEqual([])
  })

  it("records every failure and warning together", () => {
    const strict = withQc({ failOnPurity: true })
    const t = accepted(run(received(), complete(sampleQc({ qubitNgUl: 1, volumeUl: 10, a260_230: 1.2, din: 5 })), T0 + HOUR, strict))
    expect(t.events[0]?.data["reasons"]).toEqual([
      "insufficient DNA: 10 ng total (Qubit 1 ng/µL × 10 µL) is below the 1000 ng SQK-LSK114 input",
      "A260/230 1.2 outside 2–2.2"
    ])
    expect(t.events[0]?.data["warnings"]).toEqual(["DIN 5 is below 7"])
    expect(t.state.failure?.reason).toBe(
      "insufficient DNA: 10 ng total (Qubit 1 ng/µL × 10 µL) is below the 1000 ng SQK-LSK114 input; A260/230 1.2 outside 2–2.2"
    )
  })
})

describe("library QC gate", () => {
  const atLibraryQc = () => advanceTo(received(), "library_qc", T0)

  it("fails on low fmol", () => {
    const { state, now } = atLibraryQc()
    const t = accepted(run(state, complete(libraryQc({ fmol: 4 })), now + HOUR))
    expect(t.state.status).toBe("failed")
    expect(t.events).toEqual([expect.objectContaining({ type: "QcFailed" })])
    expect(t.events[0]?.data).toMatchObject({ step: "library_qc", attempt: 1, reasons: ["library 4 fmol is below 5 fmol"] })
    expect(t.state.failure).toEqual({ step: "library_qc", reason: "library 4 fmol is below 5 fmol" })
    expect(t.state.steps[2]?.status).toBe("failed")
  })

  it("fails on short fragments", () => {
    const { state, now } = atLibraryQc()
    const t = accepted(run(state, complete(libraryQc({ meanFragmentLengthBp: 150 })), now + HOUR))
    expect(t.state.status).toBe("failed")
    expect(t.state.failure).toEqual({ step: "library_qc", reason: "mean fragment length 150 bp is below 200 bp" })
  })

  it("passes at the thresholds", () => {
    const { state, now } = atLibraryQc()
    const t = accepted(run(state, complete(libraryQc({ fmol: 5, meanFragmentLengthBp: 200 })), now + HOUR))
    expect(t.state.status).toBe("in_progress")
    expect(currentStep(t.state)).toBe("sequencing_setup")
  })
})

describe("quality assessment and sequencing setup", () => {
  it("fails the sample when quality_assessment did not pass", () => {
    const { state, now } = advanceTo(received(), "quality_assessment", T0)
    const t = accepted(run(state, complete(qualityAssessment({ passed: false })), now + HOUR))
    expect(t.state.status).toBe("failed")
    expect(t.events[0]).toMatchObject({
      type: "QcFailed",
      data: { step: "quality_assessment", reasons: ["quality assessment did not pass against the request"] }
    })
    expect(t.state.failure).toEqual({ step: "quality_assessment", reason: "quality assessment did not pass against the request" })
  })

  it("warns (does not fail) below the flow cell's warranty pore count", () => {
    const { state, now } = advanceTo(received(), "sequencing_setup", T0)
    const t = accepted(run(state, complete(sequencingSetup({ flowCellProductCode: "FLO-PRO114M", poreCount: 4000 })), now + HOUR))
    expect(t.state.status).toBe("in_progress")
    expect(t.state.steps[3]?.warnings).toEqual(["4000 pores is below the 5000-pore warranty minimum of FLO-PRO114M"])
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Validation of step data and step ids
// ---------------------------------------------------------------------------------------------------------------

describe("step ids and step data", () => {
  it("refuses a command for a step that is not current, naming the current step", () => {
    const s = received()
    for (const command of [
      complete(libraryPrep()),
      new StartStep({ step: "library_prep" }),
      new FailStep({ step: "data_delivery", reason: "x" })
    ]) {
      const e = refusedTransition(run(s, command, T0 + HOUR))
      expect(e.currentStep).toBe("sample_qc")
      expect(e.status).toBe("in_progress")
      expect(e.attempted).toBe(command._tag)
      expect(e.reason).toMatch(/is not the current step; the sample is at sample_qc$/)
    }
  })

  it("rejects a barcode outside the kit's barcode set as InvalidInput naming data.barcode", () => {
    const { state, now } = advanceTo(received(), "library_prep", T0)
    const e = invalidInput(run(state, complete(libraryPrep({ kit: "SQK-NBD114.24", barcode: "barcode25" })), now + HOUR))
    expect(e.issues).toEqual([{
      path: "data.barcode",
      message: "barcode25 is not in the barcode set of SQK-NBD114.24 (barcode01–barcode24)"
    }])
    const noBarcodes = invalidInput(run(state, complete(libraryPrep({ kit: "SQK-LSK114", barcode: "barcode01" })), now + HOUR))
    expect(noBarcodes.issues.map((i) => i.path)).toEqual(["data.barcode"])
    // inside the set is fine
    const ok = accepted(run(state, complete(libraryPrep({ kit: "SQK-NBD114.24", barcode: "barcode24" })), now + HOUR))
    expect(ok.state.steps[1]?.status).toBe("completed")
    const big = accepted(run(state, complete(libraryPrep({ kit: "SQK-NBD114.96", barcode: "barcode96" })), now + HOUR))
    expect(big.state.steps[1]?.status).toBe("completed")
  })

  it("rejects a sequencing run that ends before it started", () => {
    const { state, now } = advanceTo(received(), "sequencing_run", T0)
    const startedAt = DateTime.unsafeMake(now)
    const e = invalidInput(run(state, complete(sequencingRun({ startedAt, endedAt: DateTime.unsafeMake(now - HOUR) })), now + HOUR))
    expect(e.issues.map((i) => i.path)).toEqual(["data.endedAt"])
    const ok = accepted(run(state, complete(sequencingRun({ startedAt, endedAt: DateTime.unsafeMake(now + DAY) })), now + DAY))
    expect(ok.state.steps[4]?.status).toBe("completed")
    // step data is kept in its encoded (JSON) form
    expect(ok.state.steps[4]?.data).toMatchObject({ startedAt: new Date(now).toISOString(), endedAt: new Date(now + DAY).toISOString() })
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Rework, skip, fail
// ---------------------------------------------------------------------------------------------------------------

describe("rework", () => {
  const failedAtLibraryQc = () => {
    const { state, now } = advanceTo(received(), "library_qc", T0)
    return { state: apply(state, complete(libraryQc({ fmol: 1 })), now + HOUR), now: now + HOUR }
  }

  it("goes back to an earlier step with a new attempt and resets the steps in between", () => {
    const { state, now } = failedAtLibraryQc()
    const t = accepted(run(state, new Rework({ toStep: "library_prep", reason: "re-prep with more input" }), now + HOUR))
    expect(t.events).toEqual([{
      type: "SampleReworked",
      data: { fromStep: "library_qc", toStep: "library_prep", reason: "re-prep with more input" }
    }])
    expect(t.state.status).toBe("in_progress")
    expect(t.state.failure).toBeUndefined()
    expect(currentStep(t.state)).toBe("library_prep")
    expect(t.state.steps[0]).toMatchObject({ status: "completed", attempt: 1 })
    expect(t.state.steps[1]).toEqual({ step: "library_prep", status: "queued", attempt: 2, queuedAt: now + HOUR })
    expect(t.state.steps[2]).toEqual({ step: "library_qc", status: "pending", attempt: 1 })
    expect(t.state.sla.step).toEqual({ key: "step:library_prep#2", startAt: now + HOUR, dueAt: now + HOUR + 4 * HOUR })
    expect(t.state.version).toBe(state.version + 1)

    const again = accepted(run(t.state, complete(libraryPrep({ inputNg: 1500 })), now + 3 * HOUR))
    expect(again.events[0]?.data).toMatchObject({ step: "library_prep", attempt: 2, nextStep: "library_qc" })
    expect(again.state.steps[2]).toMatchObject({ status: "queued", attempt: 2 })
  })

  it("may repeat the same step", () => {
    const { state, now } = failedAtLibraryQc()
    const t = accepted(run(state, new Rework({ toStep: "library_qc", reason: "re-measure" }), now + HOUR))
    expect(currentStep(t.state)).toBe("library_qc")
    expect(t.state.steps[2]).toMatchObject({ status: "queued", attempt: 2 })
    expect(t.state.steps[1]).toMatchObject({ status: "completed", attempt: 1 })
  })

  it("is refused for a later step", () => {
    const { state, now } = failedAtLibraryQc()
    const e = refusedTransition(run(state, new Rework({ toStep: "sequencing_setup", reason: "skip ahead" }), now + HOUR))
    expect(e.status).toBe("failed")
    expect(e.currentStep).toBe("library_qc")
    expect(e.allowed).toEqual(["Rework", "Hold", "Cancel", "ChangePriority", "EditFields"])
    expect(e.reason).toBe("rework must go back to library_qc or an earlier step, not sequencing_setup")
  })

  it("follows a FailStep as well as a failed gate", () => {
    const { state, now } = advanceTo(received(), "sequencing_run", T0)
    const f = accepted(run(state, new FailStep({ step: "sequencing_run", reason: "pores blocked" }), now + HOUR))
    expect(f.events).toEqual([{ type: "WorkflowStepFailed", data: { step: "sequencing_run", attempt: 1, reason: "pores blocked" } }])
    expect(f.state.status).toBe("failed")
    expect(f.state.failure).toEqual({ step: "sequencing_run", reason: "pores blocked" })
    expect(f.state.steps[4]).toMatchObject({ status: "failed", reason: "pores blocked", finishedAt: now + HOUR })
    expect(f.state.sla.step).toBeUndefined()
    const r = accepted(run(f.state, new Rework({ toStep: "sequencing_setup", reason: "new flow cell" }), now + 2 * HOUR))
    expect(currentStep(r.state)).toBe("sequencing_setup")
    expect(stepStatuses(r.state)).toEqual(["completed", "completed", "completed", "queued", "pending", "pending", "pending", "pending"])
    expect(r.state.steps[3]?.attempt).toBe(2)
    expect(r.state.steps[4]?.attempt).toBe(1)
  })
})

describe("skip", () => {
  it("skips basecalling by default and queues the next step", () => {
    const { state, now } = advanceTo(received(), "basecalling", T0)
    const t = accepted(run(state, new SkipStep({ step: "basecalling", reason: "POD5 only" }), now + HOUR))
    expect(t.events).toEqual([{
      type: "WorkflowStepSkipped",
      data: { step: "basecalling", reason: "POD5 only", nextStep: "quality_assessment" }
    }])
    expect(t.state.steps[5]).toMatchObject({ status: "skipped", reason: "POD5 only", finishedAt: now + HOUR })
    expect(currentStep(t.state)).toBe("quality_assessment")
    expect(t.state.version).toBe(state.version + 1)
  })

  it("is refused on every other step", () => {
    let s = received()
    let now = T0
    for (const step of STEP_IDS) {
      if (step !== "basecalling") {
        const e = refusedTransition(run(s, new SkipStep({ step, reason: "not needed" }), now))
        expect(e.currentStep).toBe(step)
        expect(e.allowed).not.toContain("SkipStep")
      }
      now += HOUR
      s = apply(s, complete(goodRecord(step)), now)
    }
    expect(s.status).toBe("completed")
  })

  it("refuses skipping a step that is not current even when the current one is skippable", () => {
    const { state, now } = advanceTo(received(), "basecalling", T0)
    const e = refusedTransition(run(state, new SkipStep({ step: "quality_assessment", reason: "x" }), now))
    expect(e.reason).toBe("quality_assessment is not the current step; the sample is at basecalling")
  })

  it("completes the sample when the skipped step is the last one", () => {
    const p: WorkflowPolicy = { ...policy, skippable: ["data_delivery"] }
    const { state, now } = advanceTo(received(), "data_delivery", T0)
    const t = accepted(run(state, new SkipStep({ step: "data_delivery", reason: "collected in person" }), now + HOUR, p))
    expect(t.events.map((e) => e.type)).toEqual(["WorkflowStepSkipped", "SampleCompleted"])
    expect(t.events[0]?.data["nextStep"]).toBeNull()
    expect(t.state.status).toBe("completed")
    expect(toWorkflowView(t.state, now + HOUR, p).progress).toBe(8)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Hold, resume, cancel, terminal states
// ---------------------------------------------------------------------------------------------------------------

describe("hold and resume", () => {
  it("resumes to in_progress and shifts both SLA clocks by the held time", () => {
    const s = apply(received(), new StartStep({ step: "sample_qc" }), T0 + 10 * MINUTE)
    const h = accepted(run(s, new Hold({ reason: "instrument down" }), T0 + 20 * MINUTE))
    expect(h.events).toEqual([{ type: "SampleOnHold", data: { reason: "instrument down", from: "in_progress" } }])
    expect(h.state.status).toBe("on_hold")
    expect(h.state.hold).toEqual({ reason: "instrument down", since: T0 + 20 * MINUTE, resumeTo: "in_progress" })
    expect(currentStep(h.state)).toBe("sample_qc")

    const r = accepted(run(h.state, new Resume(), T0 + 20 * MINUTE + 5 * HOUR))
    expect(r.events).toEqual([{ type: "SampleResumed", data: { to: "in_progress", heldMs: 5 * HOUR } }])
    expect(r.state.status).toBe("in_progress")
    expect(r.state.hold).toBeUndefined()
    // the running step records the held time, so its estimate does not count it as work done
    expect(r.state.steps).toEqual(s.steps.map((st, i) => (i === 0 ? { ...st, heldMs: 5 * HOUR } : st)))
    expect(r.state.sla.step).toEqual({ key: "step:sample_qc#1", startAt: T0 + 5 * HOUR, dueAt: T0 + 6 * HOUR })
    expect(r.state.sla.turnaround).toEqual({ key: "turnaround", startAt: T0 + 5 * HOUR, dueAt: T0 + 7 * DAY + 5 * HOUR })
    expect(r.state.version).toBe(s.version + 2)
  })

  it("resumes to submitted", () => {
    const h = apply(created(), new Hold({ reason: "missing form" }), T0)
    expect(h.hold?.resumeTo).toBe("submitted")
    const r = accepted(run(h, new Resume(), T0 + DAY))
    expect(r.state.status).toBe("submitted")
    expect(r.state.sla).toEqual({ raised: [] })
    expect(r.events[0]?.data).toEqual({ to: "submitted", heldMs: DAY })
  })

  it("resumes to failed, with only the turnaround clock shifted", () => {
    const f = apply(received(), new FailStep({ step: "sample_qc", reason: "degraded" }), T0 + HOUR)
    const h = apply(f, new Hold({ reason: "ask the PI" }), T0 + 2 * HOUR)
    expect(h.hold?.resumeTo).toBe("failed")
    const r = apply(h, new Resume(), T0 + 5 * HOUR)
    expect(r.status).toBe("failed")
    expect(r.failure).toEqual(f.failure)
    expect(r.sla.step).toBeUndefined()
    expect(r.sla.turnaround).toEqual({ key: "turnaround", startAt: T0 + 3 * HOUR, dueAt: T0 + 7 * DAY + 3 * HOUR })
    expect(allowedCommands(r, policy)).toContain("Rework")
  })

  it("refuses a second Hold and a Resume that is not on hold", () => {
    const h = apply(received(), new Hold({ reason: "a" }), T0)
    expect(refusedTransition(run(h, new Hold({ reason: "b" }), T0)).status).toBe("on_hold")
    expect(refusedTransition(run(received(), new Resume(), T0)).allowed).not.toContain("Resume")
  })
})

describe("cancel", () => {
  const nonTerminal = (): ReadonlyArray<[string, SampleState]> => {
    const inProgress = received()
    return [
      ["submitted", created()],
      ["in_progress (queued)", inProgress],
      ["in_progress (running)", apply(inProgress, new StartStep({ step: "sample_qc" }), T0)],
      ["on_hold", apply(inProgress, new Hold({ reason: "wait" }), T0)],
      ["failed", apply(inProgress, new FailStep({ step: "sample_qc", reason: "bad" }), T0)]
    ]
  }

  for (const [name, state] of nonTerminal()) {
    it(`cancels from ${name}`, () => {
      const t = accepted(run(state, new Cancel({ reason: "withdrawn" }), T0 + HOUR))
      expect(t.events).toEqual([{ type: "SampleCancelled", data: { reason: "withdrawn", from: state.status } }])
      expect(t.state.status).toBe("cancelled")
      expect(t.state.cancelReason).toBe("withdrawn")
      expect(t.state.sla.step).toBeUndefined()
      expect(t.state.sla.turnaround).toBeUndefined()
      expect(nextWake(t.state, policy)).toBeUndefined()
      expect(allowedCommands(t.state, policy)).toEqual([])
    })
  }

  it("does not cancel a completed sample", () => {
    const e = refusedTransition(run(completedSample().state, new Cancel({ reason: "too late" }), T0 + DAY))
    expect(e.status).toBe("completed")
    expect(e.allowed).toEqual(["Archive"])
  })
})

describe("terminal states", () => {
  const terminal = (): ReadonlyArray<[string, SampleState]> => {
    const done = completedSample()
    return [
      ["cancelled", apply(received(), new Cancel({ reason: "withdrawn" }), T0 + HOUR)],
      ["cancelled before receipt", apply(created(), new Cancel({ reason: "withdrawn" }), T0)],
      ["archived", apply(done.state, new Archive(), done.now + HOUR)]
    ]
  }
  for (const [name, state] of terminal()) {
    it(`${name} refuses every command and its SLA check emits nothing`, () => {
      for (const tag of COMMAND_TAGS) {
        const e = refusedTransition(run(state, commandFor(tag, state), state.updatedAt + DAY))
        expect(e.status).toBe(state.status)
        expect(e.allowed).toEqual([])
      }
      const t = accepted(run(state, new SlaCheck(), state.updatedAt + 365 * DAY))
      expect(t.events).toEqual([])
      expect(t.state).toBe(state)
      expect(nextWake(state, policy)).toBeUndefined()
    })
  }
})

// ---------------------------------------------------------------------------------------------------------------
// Priority
// ---------------------------------------------------------------------------------------------------------------

describe("ChangePriority", () => {
  it("refuses the same priority", () => {
    const e = refusedTransition(run(received(), new ChangePriority({ priority: "normal" }), T0))
    expect(e.attempted).toBe("ChangePriority")
    expect(e.reason).toBe("the priority is already normal")
  })

  it("computes turnaround due from a Friday start, skipping weekends for business days", () => {
    const expected: Record<Priority, number> = {
      urgent: FRIDAY + 24 * HOUR, // Saturday 10:00 (hours count on the clock)
      high: FRIDAY + 48 * HOUR, // Sunday 10:00
      normal: Date.UTC(2025, 0, 10, 10), // next Friday
      low: Date.UTC(2025, 0, 17, 10) // the Friday after
    }
    for (const priority of ["urgent", "high", "normal", "low"] as const) {
      const s = received({ priority }, FRIDAY)
      expect(s.sla.turnaround).toEqual({ key: "turnaround", startAt: FRIDAY, dueAt: expected[priority] })
    }
  })

  it("recomputes the turnaround due from the clock's start", () => {
    const s = received({}, FRIDAY)
    let state = s
    let now = FRIDAY
    for (const [from, to, due] of [
      ["normal", "urgent", FRIDAY + 24 * HOUR],
      ["urgent", "high", FRIDAY + 48 * HOUR],
      ["high", "low", Date.UTC(2025, 0, 17, 10)],
      ["low", "normal", Date.UTC(2025, 0, 10, 10)]
    ] as const) {
      now += HOUR
      const t = accepted(run(state, new ChangePriority({ priority: to }), now))
      expect(t.events).toEqual([{ type: "PriorityChanged", data: { from, to } }])
      expect(t.state.priority).toBe(to)
      // a new priority is a new commitment: a fresh clock key, so its at-risk and breach are raised anew
      expect(t.state.sla.turnaround).toEqual({ key: `turnaround#${state.version + 1}`, startAt: FRIDAY, dueAt: due })
      expect(t.state.sla.step).toEqual(s.sla.step)
      expect(t.state.version).toBe(state.version + 1)
      state = t.state
    }
  })

  it("before receipt only changes the priority; Receive then uses it", () => {
    const t = accepted(run(created({}, FRIDAY), new ChangePriority({ priority: "low" }), FRIDAY))
    expect(t.state.priority).toBe("low")
    expect(t.state.sla).toEqual({ raised: [] })
    const r = apply(t.state, new Receive(), FRIDAY)
    expect(r.sla.turnaround?.dueAt).toBe(Date.UTC(2025, 0, 17, 10))
  })
})

// ---------------------------------------------------------------------------------------------------------------
// EditFields
// ---------------------------------------------------------------------------------------------------------------

describe("EditFields", () => {
  const edit = (fields: EditableFields) => new EditFields({ fields })

  it("edits every field while submitted", () => {
    const s = created()
    const details: SampleDetails = { organism: "S. cerevisiae", libraryKit: "SQK-RAD114", notes: "rush" }
    const t = accepted(run(s, edit({ sampleName: "yeast-2", submitterEmail: "bo@lab.example.org", flowCellType: "R10.5.1", details }), T0 + HOUR))
    expect(t.events).toEqual([{
      type: "SampleFieldsEdited",
      data: {
        changes: {
          sampleName: { from: s.sampleName, to: "yeast-2" },
          submitterEmail: { from: s.submitterEmail, to: "bo@lab.example.org" },
          flowCellType: { from: "R10.4.1", to: "R10.5.1" },
          "details.organism": { from: "E. coli", to: "S. cerevisiae" },
          "details.libraryKit": { from: "SQK-LSK114", to: "SQK-RAD114" },
          "details.notes": { from: null, to: "rush" }
        }
      }
    }])
    expect(t.state).toMatchObject({
      sampleName: "yeast-2",
      submitterEmail: "bo@lab.example.org",
      flowCellType: "R10.5.1",
      details: { sampleType: "gDNA", organism: "S. cerevisiae", libraryKit: "SQK-RAD114", notes: "rush" },
      version: s.version + 1
    })
  })

  it("edits every field while on hold before receipt", () => {
    const h = apply(created(), new Hold({ reason: "x" }), T0)
    expect(accepted(run(h, edit({ sampleName: "renamed", details: { organism: "M. musculus" } }), T0)).state.sampleName).toBe("renamed")
  })

  it("after Receive allows notes, submitterEmail and flowCellType before sequencing setup", () => {
    const s = received()
    const t = accepted(run(s, edit({ submitterEmail: "new@lab.example.org", flowCellType: "R10.5.1", details: { notes: "n" } }), T0 + HOUR))
    expect(Object.keys(t.events[0]?.data["changes"] ?? {})).toEqual(["submitterEmail", "flowCellType", "details.notes"])
    expect(t.state.details.notes).toBe("n")
    const { state, now } = advanceTo(s, "library_qc", T0)
    expect(accepted(run(state, edit({ flowCellType: "R9.4.1" }), now)).state.flowCellType).toBe("R9.4.1")
  })

  it("after Receive refuses locked fields, naming them", () => {
    const s = received()
    const e = refusedTransition(run(s, edit({ sampleName: "other", submitterEmail: "x@y.org", details: { organism: "x", notes: "ok" } }), T0))
    expect(e.attempted).toBe("EditFields")
    expect(e.status).toBe("in_progress")
    expect(e.reason).toBe("sampleName, details.organism can no longer change once the sample has been received")
    const kit = refusedTransition(run(s, edit({ details: { libraryKit: "SQK-RAD114" } }), T0))
    expect(kit.reason).toContain("details.libraryKit")
    const failed = apply(s, new FailStep({ step: "sample_qc", reason: "x" }), T0)
    expect(refusedTransition(run(failed, edit({ sampleName: "other" }), T0)).reason).toContain("sampleName")
  })

  it("locks flowCellType from sequencing setup on", () => {
    const { state, now } = advanceTo(received(), "sequencing_setup", T0)
    const e = refusedTransition(run(state, edit({ flowCellType: "R10.5.1" }), now))
    expect(e.reason).toBe("flowCellType can no longer change once the sample has been received")
    expect(e.currentStep).toBe("sequencing_setup")
    const later = advanceTo(state, "basecalling", now)
    expect(refusedTransition(run(later.state, edit({ flowCellType: "R10.5.1" }), later.now)).reason).toContain("flowCellType")
    // notes are still fine
    expect(accepted(run(later.state, edit({ details: { notes: "late note" } }), later.now)).state.details.notes).toBe("late note")
  })

  it("is InvalidInput when nothing changes", () => {
    const s = created()
    const e = invalidInput(run(s, edit({ sampleName: s.sampleName }), T0))
    expect(e.issues).toEqual([{ path: "fields", message: "no field differs from the sample" }])
    expect(invalidInput(run(s, edit({}), T0)).message).toBe("nothing to change")
  })
})

// ---------------------------------------------------------------------------------------------------------------
// SLA
// ---------------------------------------------------------------------------------------------------------------

describe("SLA", () => {
  it("has thresholds at 80 % and 100 % of the step and turnaround clocks", () => {
    const s = received()
    const ts = thresholds(s, policy).map((t) => ({ key: t.key, type: t.type, scope: t.scope, at: t.at }))
    expect(ts).toEqual([
      { key: "turnaround:at_risk", type: "SlaAtRisk", scope: "turnaround", at: T0 + Math.ceil(7 * DAY * 0.8) },
      { key: "turnaround:breached", type: "SlaBreached", scope: "turnaround", at: T0 + 7 * DAY },
      { key: "step:sample_qc#1:at_risk", type: "SlaAtRisk", scope: "step", at: T0 + 48 * MINUTE },
      { key: "step:sample_qc#1:breached", type: "SlaBreached", scope: "step", at: T0 + HOUR }
    ])
    expect(thresholds(created(), policy)).toEqual([])
  })

  it("raises at-risk then breached once each, never early", () => {
    const s = received()
    expect(nextWake(s, policy)).toBe(T0 + 48 * MINUTE)

    const early = accepted(run(s, new SlaCheck(), T0 + 48 * MINUTE - 1))
    expect(early.events).toEqual([])
    expect(early.state).toBe(s)
    expect(early.state.version).toBe(s.version)

    const risk = accepted(run(s, new SlaCheck(), T0 + 48 * MINUTE))
    expect(risk.events).toEqual([{
      type: "SlaAtRisk",
      data: {
        scope: "step",
        step: "sample_qc",
        priority: "normal",
        thresholdAt: new Date(T0 + 48 * MINUTE).toISOString(),
        dueAt: new Date(T0 + HOUR).toISOString()
      }
    }])
    expect(risk.state.version).toBe(s.version + 1)
    expect(risk.state.sla.raised).toEqual(["step:sample_qc#1:at_risk"])
    expect(nextWake(risk.state, policy)).toBe(T0 + HOUR)

    const again = accepted(run(risk.state, new SlaCheck(), T0 + 48 * MINUTE))
    expect(again.events).toEqual([])
    expect(again.state).toBe(risk.state)

    const breach = accepted(run(risk.state, new SlaCheck(), T0 + 2 * HOUR))
    expect(breach.events.map((e) => [e.type, e.data["scope"]])).toEqual([["SlaBreached", "step"]])
    expect(breach.state.sla.raised).toEqual(["step:sample_qc#1:at_risk", "step:sample_qc#1:breached"])
    expect(accepted(run(breach.state, new SlaCheck(), T0 + 3 * HOUR)).events).toEqual([])
    expect(nextWake(breach.state, policy)).toBe(T0 + Math.ceil(7 * DAY * 0.8))
  })

  it("raises every passed threshold at once when checked late, turnaround included", () => {
    const s = received()
    const t = accepted(run(s, new SlaCheck(), T0 + 8 * DAY))
    expect(t.events.map((e) => `${e.type}:${String(e.data["scope"])}`)).toEqual([
      "SlaAtRisk:turnaround",
      "SlaBreached:turnaround",
      "SlaAtRisk:step",
      "SlaBreached:step"
    ])
    expect(t.state.version).toBe(s.version + 1)
    expect(nextWake(t.state, policy)).toBeUndefined()
    expect(accepted(run(t.state, new SlaCheck(), T0 + 9 * DAY)).events).toEqual([])
  })

  it("starts a fresh step clock on the next step and on a rework attempt", () => {
    const s = apply(received(), new SlaCheck(), T0 + 2 * HOUR)
    const next = apply(s, complete(sampleQc()), T0 + 2 * HOUR)
    expect(nextWake(next, policy)).toBe(T0 + 2 * HOUR + Math.ceil(4 * HOUR * 0.8))
    const failed = apply(next, new FailStep({ step: "library_prep", reason: "spill" }), T0 + 3 * HOUR)
    // failed: only the turnaround clock runs
    expect(thresholds(failed, policy).map((t) => t.scope)).toEqual(["turnaround", "turnaround"])
    expect(nextWake(failed, policy)).toBe(T0 + Math.ceil(7 * DAY * 0.8))
    const reworked = apply(failed, new Rework({ toStep: "library_prep", reason: "again" }), T0 + 4 * HOUR)
    expect(reworked.sla.step?.key).toBe("step:library_prep#2")
    expect(nextWake(reworked, policy)).toBe(T0 + 4 * HOUR + Math.ceil(4 * HOUR * 0.8))
  })

  it("pauses while on hold: no wake, no events, and thresholds move by the held time", () => {
    const s = received()
    const h = apply(s, new Hold({ reason: "instrument down" }), T0 + 30 * MINUTE)
    expect(nextWake(h, policy)).toBeUndefined()
    expect(thresholds(h, policy)).toEqual([])
    const quiet = accepted(run(h, new SlaCheck(), T0 + 30 * DAY))
    expect(quiet.events).toEqual([])
    expect(quiet.state).toBe(h)
    const r = apply(h, new Resume(), T0 + 30 * MINUTE + 10 * HOUR)
    expect(nextWake(r, policy)).toBe(T0 + 48 * MINUTE + 10 * HOUR)
    expect(accepted(run(r, new SlaCheck(), T0 + 48 * MINUTE + 10 * HOUR - 1)).events).toEqual([])
    expect(accepted(run(r, new SlaCheck(), T0 + 48 * MINUTE + 10 * HOUR)).events.map((e) => e.type)).toEqual(["SlaAtRisk"])
  })

  it("has no wake when submitted, completed or cancelled", () => {
    expect(nextWake(created(), policy)).toBeUndefined()
    expect(nextWake(completedSample().state, policy)).toBeUndefined()
    expect(nextWake(apply(received(), new Cancel({ reason: "x" }), T0), policy)).toBeUndefined()
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------------------------

const EXPECTED_TOTAL = STEP_IDS.reduce((sum, step) => sum + policy.expectedMs[step], 0)

describe("views", () => {
  it("a submitted sample: no progress, all eight steps to go, no SLA", () => {
    const s = created()
    const v = toWorkflowView(s, T0, policy)
    expect(v.sampleId).toBe(s.id)
    expect(v.progress).toBe(0)
    expect(v.totalSteps).toBe(8)
    expect(v.currentStep).toBeNull()
    expect(v.estimatedCompletion).toBe(new Date(T0 + EXPECTED_TOTAL).toISOString())
    expect(EXPECTED_TOTAL).toBe(59 * HOUR)
    expect(v.sla.status).toBe("none")
    expect(v.steps.map((st) => [st.id, st.order, st.status])).toEqual(STEP_IDS.map((id, i) => [id, i + 1, "pending"]))
    expect(v.steps[0]?.name).toBe("Sample QC")
  })

  it("counts completed and skipped steps and estimates now + the remaining expected durations", () => {
    const s = received()
    let now = T0
    let state = apply(s, complete(sampleQc()), (now += HOUR))
    state = apply(state, complete(libraryPrep()), (now += HOUR))
    const queued = toWorkflowView(state, now, policy)
    expect(queued.progress).toBe(2)
    expect(queued.totalSteps).toBe(8)
    expect(queued.currentStep).toBe("library_qc")
    expect(queued.estimatedCompletion).toBe(new Date(now + 54 * HOUR).toISOString())

    // a running step counts only the time it still has
    state = apply(state, new StartStep({ step: "library_qc" }), now)
    const later = now + 20 * MINUTE
    expect(toWorkflowView(state, later, policy).estimatedCompletion).toBe(new Date(later + 53 * HOUR + 40 * MINUTE).toISOString())
    // overrunning the current step counts it as zero
    expect(toWorkflowView(state, now + 3 * HOUR, policy).estimatedCompletion).toBe(new Date(now + 3 * HOUR + 53 * HOUR).toISOString())

    const atBasecalling = advanceTo(state, "basecalling", now)
    const skipped = apply(atBasecalling.state, new SkipStep({ step: "basecalling", reason: "POD5" }), atBasecalling.now)
    const v = toWorkflowView(skipped, atBasecalling.now, policy)
    expect(v.progress).toBe(6)
    expect(v.steps[5]).toMatchObject({ status: "skipped", reason: "POD5" })
    expect(v.estimatedCompletion).toBe(new Date(atBasecalling.now + 2 * HOUR).toISOString())
  })

  it("reports the step data, attempts and warnings of each step", () => {
    const s = apply(received(), complete(sampleQc({ a260_280: 1.6 })), T0 + HOUR)
    const v = toWorkflowView(s, T0 + HOUR, policy)
    expect(v.steps[0]).toMatchObject({
      status: "completed",
      attempt: 1,
      finishedAt: new Date(T0 + HOUR).toISOString(),
      warnings: ["A260/280 1.6 outside 1.8–2"],
      data: sampleQc({ a260_280: 1.6 }).data
    })
    expect(v.steps[1]).toMatchObject({ status: "queued", attempt: 1, queuedAt: new Date(T0 + HOUR).toISOString(), data: null })
  })

  it("a completed sample reports its completion time and full progress", () => {
    const { state, now } = completedSample()
    const v = toWorkflowView(state, now + DAY, policy)
    expect(v.progress).toBe(8)
    expect(v.estimatedCompletion).toBe(new Date(now).toISOString())
    expect(v.sla.status).toBe("none")
    expect(toWorkflowView(apply(received(), new Cancel({ reason: "x" }), T0), T0, policy).estimatedCompletion).toBeNull()
  })

  it("SLA status is on_track, at_risk, breached, then paused while held", () => {
    const s = received()
    expect(slaView(s, T0 + 47 * MINUTE, policy)).toEqual({
      status: "on_track",
      turnaroundDueAt: new Date(T0 + 7 * DAY).toISOString(),
      stepDueAt: new Date(T0 + HOUR).toISOString(),
      raised: []
    })
    expect(toWorkflowView(s, T0 + 48 * MINUTE, policy).sla.status).toBe("at_risk")
    expect(toWorkflowView(s, T0 + HOUR, policy).sla.status).toBe("breached")
    expect(toWorkflowView(s, T0 + 6 * DAY, policy).sla.status).toBe("breached")
    const held = apply(s, new Hold({ reason: "x" }), T0 + 30 * MINUTE)
    expect(toWorkflowView(held, T0 + 30 * DAY, policy).sla.status).toBe("paused")
    const failed = apply(s, new FailStep({ step: "sample_qc", reason: "x" }), T0 + 30 * MINUTE)
    expect(slaView(failed, T0 + 2 * HOUR, policy)).toMatchObject({ status: "on_track", stepDueAt: null })
    expect(slaView(failed, T0 + 6 * DAY, policy).status).toBe("at_risk")
  })

  it("toView mirrors the state", () => {
    const s = apply(received(), new StartStep({ step: "sample_qc" }), T0 + MINUTE)
    const v = toView(s, T0 + MINUTE, policy)
    expect(v).toMatchObject({
      id: s.id,
      status: "in_progress",
      currentStep: "sample_qc",
      stepState: "running",
      hold: null,
      failure: null,
      cancelReason: null,
      receivedAt: new Date(T0).toISOString(),
      completedAt: null,
      version: s.version
    })
  })
})
