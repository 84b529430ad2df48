/**
 * Property-based tests of the pure sample state machine: arbitrary command sequences folded through `decide`,
 * with the machine's invariants checked after every command.
 */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Either, Schema } from "effect"
import fc from "fast-check"
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
import { SampleId, SubmissionId } from "../rpc/Ids.ts"
import {
  KIT_CODES,
  PRIORITIES,
  STEP_IDS,
  type FlowCellType,
  type Priority,
  type SampleDetails,
  type SampleState,
  type SampleStatus,
  type StepData,
  type StepId
} from "../rpc/Workflow.ts"
import { toWorkflowView } from "./SampleViews.ts"
import {
  allowedCommands,
  create,
  currentStep,
  decide,
  nextWake,
  SlaCheck,
  TERMINAL,
  thresholds,
  type NewSample,
  type WorkflowCommand
} from "./SampleWorkflow.ts"
import { defaultPolicy, type WorkflowPolicy } from "./WorkflowPolicy.ts"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const NUM_RUNS = 300

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------------------

const FLOW_CELL_TYPES: ReadonlyArray<FlowCellType> = ["R9.4.1", "R10.4.1", "R10.5.1"]

const reasonArb = fc.constantFrom("pores blocked", "library spilled", "waiting for the PI", "x", "re-run with more input")
const stepIdArb = fc.constantFrom(...STEP_IDS)
const priorityArb = fc.constantFrom(...PRIORITIES)
const flowCellTypeArb = fc.constantFrom(...FLOW_CELL_TYPES)
const kitArb = fc.constantFrom(...KIT_CODES)

const detailsArb: fc.Arbitrary<SampleDetails> = fc.record(
  {
    sampleType: fc.constantFrom("gDNA", "HMW gDNA", "amplicon", "cDNA", "total RNA", "mRNA", "other"),
    libraryKit: kitArb,
    organism: fc.constantFrom("E. coli", "H. sapiens"),
    notes: fc.constantFrom("", "fragile", "keep cold")
  },
  { requiredKeys: [] }
)

const newSampleArb: fc.Arbitrary<NewSample> = fc.record({
  position: fc.integer({ min: 1, max: 96 }),
  sampleName: fc.constantFrom("S1", "ecoli_K12-01", "BLANK"),
  submitterEmail: fc.constantFrom("ada@lab.example.org", "bo@uni.example.edu"),
  priority: priorityArb,
  flowCellType: flowCellTypeArb,
  details: detailsArb
}).map((r) => ({
  ...r,
  id: Schema.decodeSync(SampleId)(crypto.randomUUID()),
  submissionId: Schema.decodeSync(SubmissionId)(crypto.randomUUID())
}))

const policyArb: fc.Arbitrary<WorkflowPolicy> = fc.record({
  failOnPurity: fc.boolean(),
  skippable: fc.oneof(
    { arbitrary: fc.constant<Array<StepId>>(["basecalling"]), weight: 3 },
    { arbitrary: fc.subarray([...STEP_IDS]), weight: 1 }
  )
}).map(({ failOnPurity, skippable }) => ({ ...defaultPolicy, skippable, qc: { ...defaultPolicy.qc, failOnPurity } }))

/** Mostly data that passes, sometimes arbitrary schema-valid data (which may fail a gate or validation). */
const mostlyGood = <A>(good: A, random: fc.Arbitrary<A>): fc.Arbitrary<A> =>
  fc.oneof({ arbitrary: fc.constant(good), weight: 3 }, { arbitrary: random, weight: 2 })

const ratioArb = fc.integer({ min: 140, max: 240 }).map((n) => n / 100)

const sampleQcArb: fc.Arbitrary<StepData> = mostlyGood<StepData>(
  { step: "sample_qc", data: { qubitNgUl: 250, volumeUl: 30, a260_280: 1.9, a260_230: 2.1 } },
  fc.record(
    {
      qubitNgUl: fc.integer({ min: 0, max: 300 }),
      volumeUl: fc.integer({ min: 1, max: 60 }),
      a260_280: ratioArb,
      a260_230: ratioArb,
      din: fc.integer({ min: 0, max: 10 }),
      rin: fc.integer({ min: 0, max: 10 }),
      fragmentSizeBp: fc.integer({ min: 500, max: 60_000 })
    },
    { requiredKeys: ["qubitNgUl", "volumeUl"] }
  ).map((data) => ({ step: "sample_qc", data }))
)

const libraryPrepArb: fc.Arbitrary<StepData> = mostlyGood<StepData>(
  { step: "library_prep", data: { kit: "SQK-LSK114", inputNg: 1000 } },
  fc.record(
    {
      kit: kitArb,
      inputNg: fc.integer({ min: 1, max: 5000 }),
      barcode: fc.constantFrom("barcode01", "barcode12", "barcode24", "barcode25", "barcode96"),
      operator: fc.constant("jdoe")
    },
    { requiredKeys: ["kit", "inputNg"] }
  ).map((data) => ({ step: "library_prep", data }))
)

const libraryQcArb: fc.Arbitrary<StepData> = mostlyGood<StepData>(
  { step: "library_qc", data: { libraryNgUl: 12, fmol: 50, meanFragmentLengthBp: 8000 } },
  fc.record({
    libraryNgUl: fc.integer({ min: 0, max: 50 }),
    fmol: fc.integer({ min: 0, max: 60 }),
    meanFragmentLengthBp: fc.integer({ min: 50, max: 20_000 })
  }).map((data) => ({ step: "library_qc", data }))
)

const sequencingSetupArb: fc.Arbitrary<StepData> = mostlyGood<StepData>(
  {
    step: "sequencing_setup",
    data: { flowCellId: "PAW12345", flowCellProductCode: "FLO-MIN114", poreCount: 1500, device: "GridION", position: "X1" }
  },
  fc.record({
    flowCellProductCode: fc.constantFrom("FLO-MIN114", "FLO-PRO114M", "FLO-FLG114", "FLO-MIN004RA", "FLO-PRO004RA"),
    poreCount: fc.integer({ min: 0, max: 8000 })
  }).map(({ flowCellProductCode, poreCount }) => ({
    step: "sequencing_setup",
    data: { flowCellId: "PAW99999", flowCellProductCode, poreCount, device: "P24", position: "1A" }
  }))
)

const sequencingRunArb: fc.Arbitrary<StepData> = mostlyGood<StepData>(
  { step: "sequencing_run", data: { runId: "run-1", yieldGb: 12, reads: 2_000_000, n50: 15_000 } },
  fc.record({
    times: fc.option(fc.tuple(fc.integer({ min: 0, max: 100 * HOUR }), fc.integer({ min: 0, max: 100 * HOUR }))),
    yieldGb: fc.integer({ min: 0, max: 200 }),
    reads: fc.integer({ min: 0, max: 10_000_000 }),
    n50: fc.integer({ min: 0, max: 50_000 })
  }).map(({ times, yieldGb, reads, n50 }) => ({
    step: "sequencing_run",
    data: {
      runId: "run-2",
      yieldGb,
      reads,
      n50,
      ...(times === null
        ? {}
        : { startedAt: DateTime.unsafeMake(Date.UTC(2025, 0, 1) + times[0]), endedAt: DateTime.unsafeMake(Date.UTC(2025, 0, 1) + times[1]) })
    }
  }))
)

const basecallingArb: fc.Arbitrary<StepData> = mostlyGood<StepData>(
  { step: "basecalling", data: { model: "hac", passReadPercent: 92 } },
  fc.record({ model: fc.constantFrom("fast", "hac", "sup"), passReadPercent: fc.integer({ min: 0, max: 100 }) })
    .map((data) => ({ step: "basecalling", data }))
)

const qualityAssessmentArb: fc.Arbitrary<StepData> = mostlyGood<StepData>(
  { step: "quality_assessment", data: { meanQ: 18, passed: true } },
  fc.record({ meanQ: fc.integer({ min: 0, max: 40 }), passed: fc.boolean() }).map((data) => ({ step: "quality_assessment", data }))
)

const dataDeliveryArb: fc.Arbitrary<StepData> = mostlyGood<StepData>(
  { step: "data_delivery", data: { method: "s3", location: "s3://bucket/run-1" } },
  fc.record({ method: fc.constantFrom("download", "s3", "globus", "drive", "other"), retentionDays: fc.integer({ min: 0, max: 365 }) })
    .map(({ method, retentionDays }) => ({ step: "data_delivery", data: { method, location: "https://example.org/d", retentionDays } }))
)

type Records = Readonly<Record<StepId, StepData>>
const recordsArb: fc.Arbitrary<Records> = fc.record({
  sample_qc: sampleQcArb,
  library_prep: libraryPrepArb,
  library_qc: libraryQcArb,
  sequencing_setup: sequencingSetupArb,
  sequencing_run: sequencingRunArb,
  basecalling: basecallingArb,
  quality_assessment: qualityAssessmentArb,
  data_delivery: dataDeliveryArb
})

const editFieldsArb: fc.Arbitrary<EditableFields> = fc.record(
  {
    sampleName: fc.constantFrom("S1", "renamed-2"),
    submitterEmail: fc.constantFrom("ada@lab.example.org", "new@lab.example.org"),
    flowCellType: flowCellTypeArb,
    details: fc.record(
      {
        notes: fc.constantFrom("fragile", "updated note"),
        organism: fc.constantFrom("E. coli", "M. musculus"),
        libraryKit: kitArb
      },
      { requiredKeys: [] }
    )
  },
  { requiredKeys: [] }
)

/** A step named outright, or "whatever is current when the command is sent". */
type StepRef = StepId | "current"
const stepRefArb = (currentWeight: number): fc.Arbitrary<StepRef> =>
  fc.oneof({ arbitrary: fc.constant<StepRef>("current"), weight: currentWeight }, { arbitrary: stepIdArb, weight: 1 })

/** A command to send, resolved against the state at the time it is sent. */
type Intent =
  | { readonly _tag: "Receive" }
  | { readonly _tag: "StartStep"; readonly step: StepRef }
  | { readonly _tag: "CompleteStep"; readonly step: StepRef; readonly records: Records }
  | { readonly _tag: "FailStep"; readonly step: StepRef; readonly reason: string }
  | { readonly _tag: "Rework"; readonly toStep: StepId | { readonly back: number }; readonly reason: string }
  | { readonly _tag: "SkipStep"; readonly step: StepRef; readonly reason: string }
  | { readonly _tag: "Hold"; readonly reason: string }
  | { readonly _tag: "Resume" }
  | { readonly _tag: "Cancel"; readonly reason: string }
  | { readonly _tag: "Archive" }
  | { readonly _tag: "ChangePriority"; readonly priority: Priority }
  | { readonly _tag: "EditFields"; readonly fields: EditableFields }
  | { readonly _tag: "SlaCheck" }
  /** Whatever a diligent operator would send next: Receive, complete the current step, Rework, Resume, Archive. */
  | { readonly _tag: "Advance"; readonly records: Records }

const w = <A>(arbitrary: fc.Arbitrary<A>, weight: number) => ({ arbitrary, weight })

/** Commands with weights: `progress` raises the share of "complete the current step", so that runs get far. */
const intentsArb = (progress: number): fc.Arbitrary<Intent> => fc.oneof(
  w(fc.constant<Intent>({ _tag: "Receive" }), 3),
  w(stepRefArb(4).map((step): Intent => ({ _tag: "StartStep", step })), 4),
  w(fc.record({ step: stepRefArb(10), records: recordsArb }).map((r): Intent => ({ _tag: "CompleteStep", ...r })), 16),
  w(recordsArb.map((records): Intent => ({ _tag: "Advance", records })), progress),
  w(fc.record({ step: stepRefArb(4), reason: reasonArb }).map((r): Intent => ({ _tag: "FailStep", ...r })), 2),
  w(
    fc.record({
      toStep: fc.oneof(w(fc.integer({ min: -2, max: 3 }).map((back) => ({ back })), 4), w(stepIdArb, 1)),
      reason: reasonArb
    }).map((r): Intent => ({ _tag: "Rework", ...r })),
    4
  ),
  w(fc.record({ step: stepRefArb(4), reason: reasonArb }).map((r): Intent => ({ _tag: "SkipStep", ...r })), 3),
  w(reasonArb.map((reason): Intent => ({ _tag: "Hold", reason })), 2),
  w(fc.constant<Intent>({ _tag: "Resume" }), 3),
  w(reasonArb.map((reason): Intent => ({ _tag: "Cancel", reason })), 1),
  w(fc.constant<Intent>({ _tag: "Archive" }), 2),
  w(priorityArb.map((priority): Intent => ({ _tag: "ChangePriority", priority })), 2),
  w(editFieldsArb.map((fields): Intent => ({ _tag: "EditFields", fields })), 2),
  w(fc.constant<Intent>({ _tag: "SlaCheck" }), 5)
)
const intentArb = intentsArb(5)

/** Time between two commands: mostly minutes to hours, sometimes days; never backwards. */
const gapArb = fc.oneof(w(fc.integer({ min: 0, max: 3 * HOUR }), 5), w(fc.integer({ min: 0, max: 5 * DAY }), 1))

const scenarioArb = fc.record({
  sample: newSampleArb,
  policy: policyArb,
  start: fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2026, 0, 1) }),
  steps: fc.oneof(w(fc.constant(0), 1), w(fc.constant(20), 1), w(fc.constant(60), 1))
    .chain((progress) => fc.array(fc.tuple(gapArb, intentsArb(progress)), { maxLength: 60, size: "max" }))
})

// ---------------------------------------------------------------------------------------------------------------
// Resolving intents into commands
// ---------------------------------------------------------------------------------------------------------------

const stepAt = (i: number): StepId => STEP_IDS[Math.max(0, Math.min(STEP_IDS.length - 1, i))]!
const resolve = (ref: StepRef, state: SampleState): StepId => (ref === "current" ? currentStep(state) ?? "sample_qc" : ref)

const toCommand = (intent: Intent, state: SampleState): WorkflowCommand => {
  switch (intent._tag) {
    case "Receive":
      return new Receive()
    case "StartStep":
      return new StartStep({ step: resolve(intent.step, state) })
    case "CompleteStep":
      return new CompleteStep({ record: intent.records[resolve(intent.step, state)] })
    case "FailStep":
      return new FailStep({ step: resolve(intent.step, state), reason: intent.reason })
    case "Rework": {
      const from = state.failure ? STEP_IDS.indexOf(state.failure.step) : state.current
      const toStep = typeof intent.toStep === "string" ? intent.toStep : stepAt(from - intent.toStep.back)
      return new Rework({ toStep, reason: intent.reason })
    }
    case "SkipStep":
      return new SkipStep({ step: resolve(intent.step, state), reason: intent.reason })
    case "Hold":
      return new Hold({ reason: intent.reason })
    case "Resume":
      return new Resume()
    case "Cancel":
      return new Cancel({ reason: intent.reason })
    case "Archive":
      return new Archive()
    case "ChangePriority":
      return new ChangePriority({ priority: intent.priority })
    case "EditFields":
      return new EditFields({ fields: intent.fields })
    case "SlaCheck":
      return new SlaCheck()
    case "Advance":
      switch (state.status) {
        case "submitted":
          return new Receive()
        case "on_hold":
          return new Resume()
        case "failed":
          return new Rework({ toStep: state.failure?.step ?? "sample_qc", reason: "try again" })
        case "completed":
        case "cancelled":
        case "archived":
          return new Archive()
        case "in_progress":
          return new CompleteStep({ record: intent.records[resolve("current", state)] })
      }
  }
}

const GOOD: Records = {
  sample_qc: { step: "sample_qc", data: { qubitNgUl: 250, volumeUl: 30, a260_280: 1.9, a260_230: 2.1 } },
  library_prep: { step: "library_prep", data: { kit: "SQK-LSK114", inputNg: 1000 } },
  library_qc: { step: "library_qc", data: { libraryNgUl: 12, fmol: 50, meanFragmentLengthBp: 8000 } },
  sequencing_setup: {
    step: "sequencing_setup",
    data: { flowCellId: "PAW12345", flowCellProductCode: "FLO-MIN114", poreCount: 1500, device: "GridION", position: "X1" }
  },
  sequencing_run: { step: "sequencing_run", data: { runId: "run-1", yieldGb: 12, reads: 2_000_000, n50: 15_000 } },
  basecalling: { step: "basecalling", data: { model: "hac", passReadPercent: 92 } },
  quality_assessment: { step: "quality_assessment", data: { meanQ: 18, passed: true } },
  data_delivery: { step: "data_delivery", data: { method: "s3", location: "s3://bucket/run-1" } }
}

/** A command of `tag` that the machine must accept whenever `tag` is allowed (and refuse otherwise). */
const canonical = (tag: CommandTag, state: SampleState): SampleCommand => {
  const step = currentStep(state) ?? "sample_qc"
  switch (tag) {
    case "Receive":
      return new Receive()
    case "StartStep":
      return new StartStep({ step })
    case "CompleteStep":
      return new CompleteStep({ record: GOOD[step] })
    case "FailStep":
      return new FailStep({ step, reason: "failed" })
    case "Rework":
      return new Rework({ toStep: state.failure?.step ?? step, reason: "again" })
    case "SkipStep":
      return new SkipStep({ step, reason: "not needed" })
    case "Hold":
      return new Hold({ reason: "hold" })
    case "Resume":
      return new Resume()
    case "Cancel":
      return new Cancel({ reason: "cancel" })
    case "Archive":
      return new Archive()
    case "ChangePriority":
      return new ChangePriority({ priority: state.priority === "urgent" ? "low" : "urgent" })
    case "EditFields":
      return new EditFields({ fields: { details: { notes: `note v${state.version}` } } })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------------------------

const DONE = new Set(["completed", "skipped"])

/** The shape every state of a given status must have. */
const checkShape = (state: SampleState, policy: WorkflowPolicy, status: SampleStatus = state.status): void => {
  expect(state.steps.map((s) => s.step)).toEqual([...STEP_IDS])
  expect(new Set(state.sla.raised).size).toBe(state.sla.raised.length)
  expect(state.current).toBeGreaterThanOrEqual(0)
  expect(state.current).toBeLessThan(STEP_IDS.length)
  const before = state.steps.slice(0, state.current)
  const after = state.steps.slice(state.current + 1)
  const here = state.steps[state.current]!
  switch (status) {
    case "submitted":
      expect(state.receivedAt).toBeUndefined()
      expect(state.steps.every((s) => s.status === "pending" && s.attempt === 0)).toBe(true)
      expect(state.sla.turnaround).toBeUndefined()
      expect(state.sla.step).toBeUndefined()
      break
    case "in_progress":
      expect(before.every((s) => DONE.has(s.status))).toBe(true)
      expect(["queued", "running"]).toContain(here.status)
      expect(after.every((s) => s.status === "pending")).toBe(true)
      expect(here.attempt).toBeGreaterThanOrEqual(1)
      expect(state.sla.step?.key).toBe(`step:${here.step}#${here.attempt}`)
      expect(state.sla.turnaround).toBeDefined()
      expect(state.failure).toBeUndefined()
      break
    case "failed":
      expect(before.every((s) => DONE.has(s.status))).toBe(true)
      expect(here.status).toBe("failed")
      expect(after.every((s) => s.status === "pending")).toBe(true)
      expect(state.failure?.step).toBe(here.step)
      expect(state.sla.step).toBeUndefined()
      expect(state.sla.turnaround).toBeDefined()
      break
    case "on_hold":
      expect(state.hold).toBeDefined()
      expect(["submitted", "in_progress", "failed"]).toContain(state.hold?.resumeTo)
      if (state.hold !== undefined && state.hold.resumeTo !== "on_hold") checkShape(state, policy, state.hold.resumeTo)
      expect(thresholds(state, policy)).toEqual([])
      expect(nextWake(state, policy)).toBeUndefined()
      break
    case "completed":
      expect(state.steps.every((s) => DONE.has(s.status))).toBe(true)
      expect(state.completedAt).toBeDefined()
      expect(currentStep(state)).toBeNull()
      break
    case "cancelled":
    case "archived":
      expect(allowedCommands(state, policy)).toEqual([])
      break
  }
  if (status === "completed" || status === "cancelled" || status === "archived") {
    expect(state.sla.step).toBeUndefined()
    expect(state.sla.turnaround).toBeUndefined()
    expect(nextWake(state, policy)).toBeUndefined()
  }
  // only a sample on hold has a hold record (a cancelled one drops it)
  if (state.status !== "on_hold") expect(state.hold).toBeUndefined()
  const view = toWorkflowView(state, state.updatedAt, policy)
  expect(view.totalSteps).toBe(8)
  expect(view.progress).toBe(state.steps.filter((s) => DONE.has(s.status)).length)
}

/** `allowedCommands` agrees with `decide`, both ways, for a canonical command of every tag. */
const checkAllowedAgrees = (state: SampleState, now: number, policy: WorkflowPolicy): void => {
  const allowed = allowedCommands(state, policy)
  for (const tag of COMMAND_TAGS) {
    const result = decide(state, canonical(tag, state), { now, policy })
    if (allowed.includes(tag)) {
      expect(Either.isRight(result), `${tag} allowed in ${state.status} but refused`).toBe(true)
    } else {
      expect(Either.isLeft(result), `${tag} not allowed in ${state.status} but accepted`).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("StepTransitionRefused")
        if (result.left._tag === "StepTransitionRefused") {
          expect(result.left.attempted).toBe(tag)
          expect(result.left.allowed).toEqual(allowed)
        }
      }
    }
  }
}

/** The allowed commands, written from the domain description rather than from the implementation. */
const specAllowed = (state: SampleState, policy: WorkflowPolicy): ReadonlyArray<CommandTag> => {
  const edits = ["Cancel", "ChangePriority", "EditFields"] as const
  switch (state.status) {
    case "submitted":
      return ["Receive", "Hold", ...edits]
    case "in_progress": {
      const here = state.steps[state.current]!
      return [
        ...(here.status === "queued" ? ["StartStep" as const] : []),
        "CompleteStep",
        "FailStep",
        ...(policy.skippable.includes(here.step) ? ["SkipStep" as const] : []),
        "Hold",
        ...edits
      ]
    }
    case "on_hold":
      return ["Resume", ...edits]
    case "failed":
      return ["Rework", "Hold", ...edits]
    case "completed":
      return ["Archive"]
    case "cancelled":
    case "archived":
      return []
  }
}

/** Hold then Resume returns to the same place with the SLA clocks moved by the held time. */
const checkHoldRoundTrip = (state: SampleState, now: number, policy: WorkflowPolicy): void => {
  if (!allowedCommands(state, policy).includes("Hold")) return
  const held = decide(state, new Hold({ reason: "pause" }), { now, policy })
  if (Either.isLeft(held)) throw new Error(`Hold refused: ${JSON.stringify(held.left)}`)
  expect(nextWake(held.right.state, policy)).toBeUndefined()
  const heldMs = 7 * HOUR + 13 * MINUTE
  const resumed = decide(held.right.state, new Resume(), { now: now + heldMs, policy })
  if (Either.isLeft(resumed)) throw new Error(`Resume refused: ${JSON.stringify(resumed.left)}`)
  const back = resumed.right.state
  const shift = (c: SampleState["sla"]["step"]) => (c === undefined ? undefined : { ...c, startAt: c.startAt + heldMs, dueAt: c.dueAt + heldMs })
  expect(back.status).toBe(state.status)
  expect(back.hold).toBeUndefined()
  expect(back.version).toBe(state.version + 2)
  expect(back.sla.step).toEqual(shift(state.sla.step))
  expect(back.sla.turnaround).toEqual(shift(state.sla.turnaround))
  // Only the running step learns how long it was held (its estimate discounts that time); nothing else changes.
  const withoutHeld = (st: SampleState) => st.steps.map(({ heldMs: _heldMs, ...rest }) => rest)
  expect(withoutHeld(back)).toEqual(withoutHeld(state))
  back.steps.forEach((s, i) => {
    const before = state.steps[i]!.heldMs ?? 0
    expect(s.heldMs ?? 0).toBe(state.status === "in_progress" && i === state.current && s.status === "running" ? before + heldMs : before)
  })
  expect({ ...back, steps: null, sla: null, version: 0, updatedAt: 0 }).toEqual({ ...state, steps: null, sla: null, version: 0, updatedAt: 0 })
  const wake = nextWake(state, policy)
  expect(nextWake(back, policy)).toBe(wake === undefined ? undefined : wake + heldMs)
}

/** The turnaround clock runs from Receive: hours on the clock, or business days landing on a weekday. */
const checkTurnaround = (state: SampleState, policy: WorkflowPolicy): void => {
  const t = state.sla.turnaround
  if (t === undefined) return
  const target = policy.turnaround[state.priority]
  if ("hours" in target) {
    expect(t.dueAt - t.startAt).toBe(target.hours * HOUR)
    return
  }
  expect((t.dueAt - t.startAt) % DAY).toBe(0)
  const weekday = (ms: number) => ![0, 6].includes(new Date(ms).getUTCDay())
  expect(weekday(t.dueAt)).toBe(true)
  let weekdays = 0
  for (let d = t.startAt + DAY; d <= t.dueAt; d += DAY) if (weekday(d)) weekdays++
  expect(weekdays).toBe(target.businessDays)
}

/** The SLA timer never fires early and fires exactly at nextWake. */
const checkWake = (state: SampleState, policy: WorkflowPolicy): void => {
  const wake = nextWake(state, policy)
  if (wake === undefined) return
  const early = decide(state, new SlaCheck(), { now: wake - 1, policy })
  expect(Either.isRight(early) && early.right.events.length === 0 && early.right.state === state).toBe(true)
  const onTime = decide(state, new SlaCheck(), { now: wake, policy })
  expect(Either.isRight(onTime) && onTime.right.events.length > 0).toBe(true)
}

interface Run {
  readonly statuses: Set<SampleStatus>
  accepted: number
  refused: number
}

const CLIENT_EVENT: Record<CommandTag, ReadonlyArray<string>> = {
  Receive: ["SampleReceived"],
  StartStep: ["WorkflowStepStarted"],
  CompleteStep: ["WorkflowStepCompleted", "QcFailed"],
  FailStep: ["WorkflowStepFailed"],
  Rework: ["SampleReworked"],
  SkipStep: ["WorkflowStepSkipped"],
  Hold: ["SampleOnHold"],
  Resume: ["SampleResumed"],
  Cancel: ["SampleCancelled"],
  Archive: ["SampleArchived"],
  ChangePriority: ["PriorityChanged"],
  EditFields: ["SampleFieldsEdited"]
}

/** Folds one scenario through `decide`, checking every invariant after every command. */
const runScenario = (
  scenario: { sample: NewSample; policy: WorkflowPolicy; start: number; steps: ReadonlyArray<readonly [number, Intent]> },
  stats: Run
): void => {
  const { policy } = scenario
  let now = scenario.start
  let state = create(scenario.sample, now).state
  let acceptedWithEvents = 0
  const completedAttempts = new Set<string>()
  let everHeld = false
  checkShape(state, policy)
  stats.statuses.add(state.status)

  for (const [gap, intent] of scenario.steps) {
    now += gap
    const command = toCommand(intent, state)
    const allowed = allowedCommands(state, policy)
    const snapshot = JSON.stringify(state)
    const result = decide(state, command, { now, policy })
    // decide never mutates its input
    expect(JSON.stringify(state)).toBe(snapshot)

    if (Either.isLeft(result)) {
      stats.refused++
      const e = result.left
      expect(command._tag).not.toBe("SlaCheck")
      if (e._tag === "StepTransitionRefused") {
        expect(e.sampleId).toBe(state.id)
        expect(e.status).toBe(state.status)
        expect(e.currentStep).toBe(currentStep(state))
        expect(e.attempted).toBe(command._tag)
        expect(e.allowed).toEqual(allowed)
      } else {
        // InvalidInput only for step data or edits, and only once the tag itself is allowed
        expect(["CompleteStep", "EditFields"]).toContain(command._tag)
        expect(e.issues.length).toBeGreaterThan(0)
      }
      if (command._tag !== "SlaCheck" && !allowed.includes(command._tag)) expect(e._tag).toBe("StepTransitionRefused")
      // the state is untouched: the fold keeps `state` as it is
      continue
    }

    const { state: next, events } = result.right
    if (command._tag === "SlaCheck") {
      const due = thresholds(state, policy).filter((t) => t.at <= now && !state.sla.raised.includes(t.key))
      expect(events.length).toBe(due.length)
      expect(events.map((e) => e.type)).toEqual(due.map((t) => t.type))
      if (events.length === 0) {
        expect(next).toBe(state)
      } else {
        expect(next.sla.raised).toEqual([...state.sla.raised, ...due.map((t) => t.key)])
        expect({ ...next, sla: next.sla.raised, version: 0, updatedAt: 0 }).toEqual({ ...state, sla: next.sla.raised, version: 0, updatedAt: 0 })
      }
      // nothing due is left unraised after a check
      expect(thresholds(next, policy).filter((t) => t.at <= now && !next.sla.raised.includes(t.key))).toEqual([])
      if (TERMINAL.includes(state.status)) expect(events).toEqual([])
    } else {
      stats.accepted++
      expect(allowed).toContain(command._tag)
      expect(TERMINAL).not.toContain(state.status)
      expect(events.length).toBeGreaterThan(0)
      expect(CLIENT_EVENT[command._tag]).toContain(events[0]?.type)
      expect(next.sla.raised.slice(0, state.sla.raised.length)).toEqual(state.sla.raised)
    }

    if (events.length > 0) {
      acceptedWithEvents++
      expect(next.version).toBe(state.version + 1)
      expect(next.updatedAt).toBe(now)
    } else {
      expect(next.version).toBe(state.version)
    }
    expect(next.version).toBe(1 + acceptedWithEvents)
    expect(next.id).toBe(state.id)
    expect(next.createdAt).toBe(state.createdAt)

    for (const e of events) {
      if (e.type === "WorkflowStepCompleted") {
        const key = `${String(e.data["step"])}#${String(e.data["attempt"])}`
        expect(completedAttempts.has(key), `${key} completed twice`).toBe(false)
        completedAttempts.add(key)
      }
      if (e.type === "SampleCompleted") expect(next.status).toBe("completed")
    }
    if (next.status === "completed" && state.status !== "completed") {
      expect(events.map((e) => e.type)).toContain("SampleCompleted")
    }
    if (next.status === "archived") expect(["completed", "archived"]).toContain(state.status)

    state = next
    stats.statuses.add(state.status)
    checkShape(state, policy)
    checkAllowedAgrees(state, now, policy)
    expect(allowedCommands(state, policy)).toEqual(specAllowed(state, policy))
    checkWake(state, policy)
    checkHoldRoundTrip(state, now, policy)
    // a hold moves the clocks by the held milliseconds, which may land the due time on a weekend
    if (state.status === "on_hold") everHeld = true
    if (!everHeld && (state.status === "in_progress" || state.status === "failed")) checkTurnaround(state, policy)
    // the same priority is always refused
    if (allowedCommands(state, policy).includes("ChangePriority")) {
      expect(Either.isLeft(decide(state, new ChangePriority({ priority: state.priority }), { now, policy }))).toBe(true)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------------------

describe("SampleWorkflow properties", () => {
  it("every invariant holds after every command of an arbitrary sequence", () => {
    const stats: Run = { statuses: new Set(), accepted: 0, refused: 0 }
    fc.assert(fc.property(scenarioArb, (scenario) => runScenario(scenario, stats)), { numRuns: NUM_RUNS })
    // the generator reaches every status, with both acceptances and refusals
    expect([...stats.statuses].sort()).toEqual(["archived", "cancelled", "completed", "failed", "in_progress", "on_hold", "submitted"])
    expect(stats.accepted).toBeGreaterThan(0)
    expect(stats.refused).toBeGreaterThan(0)
  })

  it("cancelled and archived refuse every client command for good", () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.constantFrom<SampleStatus>("cancelled", "archived"),
        fc.array(fc.tuple(gapArb, intentArb), { minLength: 1, maxLength: 20 }),
        (scenario, terminal, afterwards) => {
          // drive to the terminal status with good data, then throw arbitrary commands at it
          const { policy } = scenario
          let now = scenario.start
          let state = create(scenario.sample, now).state
          const push = (command: WorkflowCommand) => {
            const r = decide(state, command, { now, policy })
            if (Either.isLeft(r)) throw new Error(`${command._tag} refused: ${JSON.stringify(r.left)}`)
            state = r.right.state
          }
          if (terminal === "cancelled") {
            push(new Receive())
            push(new Cancel({ reason: "withdrawn" }))
          } else {
            push(new Receive())
            for (const step of STEP_IDS) {
              now += HOUR
              push(new CompleteStep({ record: GOOD[step] }))
            }
            push(new Archive())
          }
          expect(state.status).toBe(terminal)
          for (const [gap, intent] of afterwards) {
            now += gap
            const command = toCommand(intent, state)
            const r = decide(state, command, { now, policy })
            if (command._tag === "SlaCheck") {
              expect(Either.isRight(r) && r.right.events.length === 0 && r.right.state === state).toBe(true)
            } else {
              expect(Either.isLeft(r)).toBe(true)
              if (Either.isLeft(r)) {
                expect(r.left._tag).toBe("StepTransitionRefused")
                if (r.left._tag === "StepTransitionRefused") {
                  expect(r.left.status).toBe(terminal)
                  expect(r.left.allowed).toEqual([])
                }
              }
            }
          }
        }
      ),
      { numRuns: 100 }
    )
  })

  it("decide is deterministic: replaying a sequence gives the same states and events", () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const replay = () => {
          let now = scenario.start
          let state = create(scenario.sample, now).state
          const out: Array<string> = []
          for (const [gap, intent] of scenario.steps) {
            now += gap
            const r = decide(state, toCommand(intent, state), { now, policy: scenario.policy })
            if (Either.isRight(r)) {
              state = r.right.state
              out.push(JSON.stringify(r.right))
            } else {
              out.push(r.left._tag)
            }
          }
          return out
        }
        expect(replay()).toEqual(replay())
      }),
      { numRuns: 100 }
    )
  })
})
