/**
 * The sample state machine, pure: state + command → new state + events, or a typed refusal.
 * No I/O and no Effect services; the Sample entity persists what this decides.
 * Invariants: steps complete in order and at most once per attempt; cancelled and archived are terminal;
 * every accepted command raises the version by exactly one.
 */
import { Either, Schema } from "effect"
import type { CommandTag, EditableFields, SampleCommand } from "../rpc/Commands.ts"
import { InvalidInput, StepTransitionRefused, type FieldIssue } from "../rpc/Errors.ts"
import type { SampleId, SubmissionId } from "../rpc/Ids.ts"
import {
  STEP_IDS,
  type EventType,
  type FlowCellType,
  type Priority,
  type SampleDetails,
  type SampleState,
  type SampleStatus,
  type SlaClock,
  StepData as StepDataSchema,
  type StepId,
  type StepRecord
} from "../rpc/Workflow.ts"
import { turnaroundDue, type WorkflowPolicy } from "./WorkflowPolicy.ts"

/** The timer's command: re-check the SLA clocks at `now`. Internal, never sent by clients. */
export class SlaCheck extends Schema.TaggedClass<SlaCheck>()("SlaCheck", {}) {}

export type WorkflowCommand = SampleCommand | SlaCheck

/** Time and policy: the only inputs besides state and command. */
export interface Context {
  readonly now: number
  readonly policy: WorkflowPolicy
}

/** An event before the entity gives it an id, actor and time. */
export interface Emitted {
  readonly type: EventType
  readonly data: Record<string, unknown>
}

/** An accepted command's outcome. `events` is empty only for an SLA check that found nothing due. */
export interface Transition {
  readonly state: SampleState
  readonly events: ReadonlyArray<Emitted>
}

export type Refusal = StepTransitionRefused | InvalidInput

/** What a new sample is made from. */
export interface NewSample {
  readonly id: SampleId
  readonly submissionId: SubmissionId
  readonly position: number
  readonly sampleName: string
  readonly submitterEmail: string
  readonly priority: Priority
  readonly flowCellType: FlowCellType
  readonly details: SampleDetails
}

export const LAST_STEP = STEP_IDS.length - 1

export const stepIndex = (step: StepId): number => STEP_IDS.indexOf(step)

const stepAt = (i: number): StepId => STEP_IDS[Math.max(0, Math.min(LAST_STEP, i))]!

/** The current step's id, when the sample is somewhere in the workflow. */
export const currentStep = (state: SampleState): StepId | null =>
  state.status === "submitted" || state.status === "completed" || state.status === "archived" ||
    (state.status === "cancelled" && state.receivedAt === undefined) ||
    (state.status === "on_hold" && state.hold?.resumeTo === "submitted")
    ? null
    : stepAt(state.current)

/** Warnings for combinations that make no sense (domain.md: chemistry facts). */
export const combinationWarnings = (flowCellType: FlowCellType, details: SampleDetails): Array<string> => {
  const warnings: Array<string> = []
  const kit = details.libraryKit
  if (flowCellType === "R9.4.1" && kit !== undefined && /114(\.\d+)?$/.test(kit)) {
    warnings.push(`Kit 14 (${kit}) is not compatible with an R9.4.1 flow cell; use R10.4.1`)
  }
  const rnaSample = details.sampleType === "total RNA" || details.sampleType === "mRNA"
  if (kit === "SQK-RNA004" && details.sampleType !== undefined && !rnaSample) {
    warnings.push(`direct-RNA kit SQK-RNA004 chosen for a ${details.sampleType} sample`)
  }
  if (rnaSample && kit !== undefined && kit !== "SQK-RNA004" && kit !== "SQK-PCB114.24") {
    warnings.push(`${kit} is a DNA kit but the sample is ${details.sampleType}`)
  }
  return warnings
}

/** A new sample in state `submitted`, version 1, with its SampleCreated event. */
export const create = (input: NewSample, now: number): Transition => {
  const steps: Array<StepRecord> = STEP_IDS.map((step) => ({ step, status: "pending", attempt: 0 }))
  const state: SampleState = {
    ...input,
    status: "submitted",
    current: 0,
    steps,
    sla: { raised: [] },
    createdAt: now,
    updatedAt: now,
    version: 1
  }
  const warnings = combinationWarnings(input.flowCellType, input.details)
  return {
    state,
    events: [{
      type: "SampleCreated",
      data: {
        sampleName: input.sampleName,
        position: input.position,
        priority: input.priority,
        flowCellType: input.flowCellType,
        submitterEmail: input.submitterEmail,
        ...(warnings.length > 0 ? { warnings } : {})
      }
    }]
  }
}

/** The commands the sample accepts in its current state. */
export const allowedCommands = (state: SampleState, policy: WorkflowPolicy): Array<CommandTag> => {
  switch (state.status) {
    case "submitted":
      return ["Receive", "Hold", "Cancel", "ChangePriority", "EditFields"]
    case "in_progress": {
      const step = state.steps[state.current]
      const out: Array<CommandTag> = []
      if (step?.status === "queued") out.push("StartStep")
      out.push("CompleteStep", "FailStep")
      if (policy.skippable.includes(stepAt(state.current))) out.push("SkipStep")
      out.push("Hold", "Cancel", "ChangePriority", "EditFields")
      return out
    }
    case "on_hold":
      return ["Resume", "Cancel", "ChangePriority", "EditFields"]
    case "failed":
      return ["Rework", "Hold", "Cancel", "ChangePriority", "EditFields"]
    case "completed":
      return ["Archive"]
    case "cancelled":
    case "archived":
      return []
  }
}

const refuse = (state: SampleState, policy: WorkflowPolicy, attempted: string, reason: string) =>
  Either.left(
    new StepTransitionRefused({
      sampleId: state.id,
      status: state.status,
      currentStep: currentStep(state),
      attempted,
      allowed: allowedCommands(state, policy),
      reason
    })
  )

const invalid = (message: string, issues: ReadonlyArray<FieldIssue>) =>
  Either.left(new InvalidInput({ message, issues: [...issues] }))

const accept = (state: SampleState, next: SampleState, now: number, events: ReadonlyArray<Emitted>) =>
  Either.right<Transition>({ state: { ...next, version: state.version + 1, updatedAt: now }, events })

const setStep = (steps: ReadonlyArray<StepRecord>, i: number, f: (s: StepRecord) => StepRecord) =>
  steps.map((s, j) => (j === i ? f(s) : s))

const stepClock = (step: StepRecord, now: number, policy: WorkflowPolicy): SlaClock => ({
  key: `step:${step.step}#${step.attempt}`,
  startAt: now,
  dueAt: now + policy.expectedMs[step.step]
})

/** Queues step `i` (a new attempt) and starts its SLA clock. */
const queue = (state: SampleState, i: number, now: number, policy: WorkflowPolicy): SampleState => {
  const steps = setStep(state.steps, i, (s) => ({ step: s.step, status: "queued", attempt: s.attempt + 1, queuedAt: now }))
  return {
    ...state,
    status: "in_progress",
    current: i,
    steps,
    sla: { ...state.sla, step: stepClock(steps[i]!, now, policy) }
  }
}

/** After step `i` completed or was skipped: queue the next one, or complete the sample. */
const moveOn = (state: SampleState, i: number, now: number, policy: WorkflowPolicy): [SampleState, Array<Emitted>] => {
  if (i >= LAST_STEP) {
    const { step: _step, turnaround: _turnaround, ...restSla } = state.sla
    return [{ ...state, status: "completed", completedAt: now, sla: restSla }, [{ type: "SampleCompleted", data: {} }]]
  }
  return [queue(state, i + 1, now, policy), []]
}

interface GateResult {
  readonly failures: Array<string>
  readonly warnings: Array<string>
}

const inRange = (v: number | undefined, [lo, hi]: readonly [number, number]) => v === undefined || (v >= lo && v <= hi)

/** The gates: sample QC, library QC and quality assessment decide pass/fail from the recorded metrics. */
export const gate = (state: SampleState, record: StepDataSchema, policy: WorkflowPolicy): GateResult => {
  const failures: Array<string> = []
  const warnings: Array<string> = []
  const qc = policy.qc
  switch (record.step) {
    case "sample_qc": {
      const d = record.data
      const totalNg = d.qubitNgUl * d.volumeUl
      const kit = state.details.libraryKit
      const need = (kit !== undefined ? qc.minInputNg[kit] : undefined) ?? qc.minInputNg.default
      if (totalNg < need) {
        failures.push(
          `insufficient DNA: ${round(totalNg)} ng total (Qubit ${d.qubitNgUl} ng/µL × ${d.volumeUl} µL) is below the ${need} ng ${kit ?? "default"} input`
        )
      }
      const purity: Array<string> = []
      if (!inRange(d.a260_280, qc.a260_280)) purity.push(`A260/280 ${d.a260_280} outside ${qc.a260_280.join("–")}`)
      if (!inRange(d.a260_230, qc.a260_230)) purity.push(`A260/230 ${d.a260_230} outside ${qc.a260_230.join("–")}`)
      ;(qc.failOnPurity ? failures : warnings).push(...purity)
      const rna = state.details.sampleType === "total RNA" || state.details.sampleType === "mRNA"
      if (rna && d.rin !== undefined && d.rin < qc.minRin) failures.push(`RIN ${d.rin} is below ${qc.minRin}`)
      if (!rna && d.din !== undefined && d.din < qc.minDin) warnings.push(`DIN ${d.din} is below ${qc.minDin}`)
      if (state.details.sampleType === "HMW gDNA" && d.fragmentSizeBp !== undefined && d.fragmentSizeBp < qc.minFragmentBp) {
        warnings.push(`fragment size ${d.fragmentSizeBp} bp is below ${qc.minFragmentBp} bp for HMW gDNA`)
      }
      break
    }
    case "library_qc": {
      const d = record.data
      if (d.fmol < qc.minLibraryFmol) failures.push(`library ${d.fmol} fmol is below ${qc.minLibraryFmol} fmol`)
      if (d.meanFragmentLengthBp < qc.minLibraryFragmentBp) {
        failures.push(`mean fragment length ${d.meanFragmentLengthBp} bp is below ${qc.minLibraryFragmentBp} bp`)
      }
      break
    }
    case "sequencing_setup": {
      const d = record.data
      const min = d.flowCellProductCode === "FLO-FLG114" ? 50 : d.flowCellProductCode.startsWith("FLO-PRO") ? 5000 : 800
      if (d.poreCount < min) warnings.push(`${d.poreCount} pores is below the ${min}-pore warranty minimum of ${d.flowCellProductCode}`)
      break
    }
    case "quality_assessment": {
      if (!record.data.passed) failures.push("quality assessment did not pass against the request")
      break
    }
    default:
      break
  }
  return { failures, warnings }
}

/** Step data as stored and shown: the schema's encoded (JSON) form. */
const encodeRecord = Schema.encodeSync(StepDataSchema)

const round = (n: number) => Math.round(n * 100) / 100

const BARCODE_SETS: Record<string, number> = {
  "SQK-NBD114.24": 24,
  "SQK-NBD114.96": 96,
  "SQK-RBK114.24": 24,
  "SQK-RBK114.96": 96,
  "SQK-PCB114.24": 24
}

/** Checks of step data that the schema alone cannot express. */
const validateRecord = (record: StepDataSchema): Array<FieldIssue> => {
  if (record.step === "library_prep" && record.data.barcode !== undefined) {
    const size = BARCODE_SETS[record.data.kit]
    const n = Number(record.data.barcode.slice("barcode".length))
    if (size === undefined) {
      return [{ path: "data.barcode", message: `${record.data.kit} is not a barcoding kit` }]
    }
    if (n > size) {
      return [{ path: "data.barcode", message: `${record.data.barcode} is not in the barcode set of ${record.data.kit} (barcode01–barcode${size})` }]
    }
  }
  if (record.step === "sequencing_run" && record.data.startedAt !== undefined && record.data.endedAt !== undefined) {
    if (record.data.endedAt.epochMillis < record.data.startedAt.epochMillis) {
      return [{ path: "data.endedAt", message: "the run cannot end before it started" }]
    }
  }
  return []
}

const checkCurrent = (state: SampleState, policy: WorkflowPolicy, attempted: string, step: StepId) =>
  stepIndex(step) === state.current
    ? undefined
    : refuse(state, policy, attempted, `${step} is not the current step; the sample is at ${stepAt(state.current)}`)

/** Fields that may still change in `state`, and why others may not. */
const lockedFields = (state: SampleState, fields: EditableFields): Array<string> => {
  if (state.status === "submitted" || (state.status === "on_hold" && state.hold?.resumeTo === "submitted")) return []
  const locked: Array<string> = []
  if (fields.sampleName !== undefined) locked.push("sampleName")
  if (fields.flowCellType !== undefined && state.current >= stepIndex("sequencing_setup") &&
    state.steps[stepIndex("sequencing_setup")]?.status !== "pending") {
    locked.push("flowCellType")
  }
  for (const key of Object.keys(fields.details ?? {})) {
    if (key !== "notes") locked.push(`details.${key}`)
  }
  return locked
}

const changes = (state: SampleState, fields: EditableFields) => {
  const out: Record<string, { from: unknown; to: unknown }> = {}
  if (fields.sampleName !== undefined && fields.sampleName !== state.sampleName) {
    out.sampleName = { from: state.sampleName, to: fields.sampleName }
  }
  if (fields.submitterEmail !== undefined && fields.submitterEmail !== state.submitterEmail) {
    out.submitterEmail = { from: state.submitterEmail, to: fields.submitterEmail }
  }
  if (fields.flowCellType !== undefined && fields.flowCellType !== state.flowCellType) {
    out.flowCellType = { from: state.flowCellType, to: fields.flowCellType }
  }
  for (const [k, v] of Object.entries(fields.details ?? {})) {
    const before = (state.details as Record<string, unknown>)[k]
    if (v !== before) out[`details.${k}`] = { from: before ?? null, to: v }
  }
  return out
}

/** Active clocks: both while in progress, only the turnaround while failed (the facility still owes it). */
const activeClocks = (state: SampleState): Array<{ scope: "turnaround" | "step"; clock: SlaClock }> => {
  const out: Array<{ scope: "turnaround" | "step"; clock: SlaClock }> = []
  if (state.status !== "in_progress" && state.status !== "failed") return out
  if (state.sla.turnaround) out.push({ scope: "turnaround", clock: state.sla.turnaround })
  if (state.status === "in_progress" && state.sla.step) out.push({ scope: "step", clock: state.sla.step })
  return out
}

/** Every SLA threshold of the running clocks: at risk at `atRiskFraction`, breached at due. */
export const thresholds = (state: SampleState, policy: WorkflowPolicy) =>
  activeClocks(state).flatMap(({ clock, scope }) => [
    {
      key: `${clock.key}:at_risk`,
      type: "SlaAtRisk" as const,
      scope,
      clock,
      at: clock.startAt + Math.ceil((clock.dueAt - clock.startAt) * policy.atRiskFraction)
    },
    { key: `${clock.key}:breached`, type: "SlaBreached" as const, scope, clock, at: clock.dueAt }
  ])

/** When the sample next needs its SLA timer: the earliest threshold not yet raised. */
export const nextWake = (state: SampleState, policy: WorkflowPolicy): number | undefined => {
  let min: number | undefined
  for (const t of thresholds(state, policy)) {
    if (!state.sla.raised.includes(t.key) && (min === undefined || t.at < min)) min = t.at
  }
  return min
}

const shiftClock = (clock: SlaClock | undefined, by: number): SlaClock | undefined =>
  clock === undefined ? undefined : { ...clock, startAt: clock.startAt + by, dueAt: clock.dueAt + by }

/** The transition function. */
export const decide = (
  state: SampleState,
  command: WorkflowCommand,
  ctx: Context
): Either.Either<Transition, Refusal> => {
  const { now, policy } = ctx
  if (command._tag === "SlaCheck") {
    const due = thresholds(state, policy).filter((t) => t.at <= now && !state.sla.raised.includes(t.key))
    if (due.length === 0) return Either.right({ state, events: [] })
    const events: Array<Emitted> = due.map((t) => ({
      type: t.type,
      data: {
        scope: t.scope,
        ...(t.scope === "step" ? { step: stepAt(state.current) } : {}),
        priority: state.priority,
        thresholdAt: new Date(t.at).toISOString(),
        dueAt: new Date(t.clock.dueAt).toISOString()
      }
    }))
    return accept(state, { ...state, sla: { ...state.sla, raised: [...state.sla.raised, ...due.map((t) => t.key)] } }, now, events)
  }
  if (!allowedCommands(state, policy).includes(command._tag)) {
    // Skipping a step the facility does not let be skipped: blame the step, not the sample's status.
    if (command._tag === "SkipStep" && state.status === "in_progress") {
      return refuse(state, policy, command._tag, `${stepAt(state.current)} cannot be skipped; the facility allows skipping only ${policy.skippable.join(", ") || "no step"}`)
    }
    return refuse(state, policy, command._tag, `${command._tag} is not allowed while the sample is ${state.status}`)
  }
  switch (command._tag) {
    case "Receive": {
      const received: SampleState = {
        ...state,
        receivedAt: now,
        sla: {
          ...state.sla,
          turnaround: { key: "turnaround", startAt: now, dueAt: turnaroundDue(policy, state.priority, now) }
        }
      }
      return accept(state, queue(received, 0, now, policy), now, [{ type: "SampleReceived", data: { step: STEP_IDS[0] } }])
    }
    case "StartStep": {
      const wrong = checkCurrent(state, policy, command._tag, command.step)
      if (wrong) return wrong
      const steps = setStep(state.steps, state.current, (s) => ({ ...s, status: "running", startedAt: now }))
      const attempt = steps[state.current]!.attempt
      return accept(state, { ...state, steps }, now, [{ type: "WorkflowStepStarted", data: { step: command.step, attempt } }])
    }
    case "CompleteStep": {
      const record = command.record
      const wrong = checkCurrent(state, policy, command._tag, record.step)
      if (wrong) return wrong
      const issues = validateRecord(record)
      if (issues.length > 0) return invalid(`invalid ${record.step} data`, issues)
      const i = state.current
      const result = gate(state, record, policy)
      const data = encodeRecord(record).data
      const started = state.steps[i]!.startedAt ?? now
      const attempt = state.steps[i]!.attempt
      if (result.failures.length > 0) {
        const reason = result.failures.join("; ")
        const steps = setStep(state.steps, i, (s) => ({
          ...s,
          status: "failed",
          startedAt: started,
          finishedAt: now,
          data,
          reason,
          warnings: result.warnings
        }))
        const { step: _step, ...restSla } = state.sla
        return accept(state, { ...state, status: "failed", steps, failure: { step: record.step, reason }, sla: restSla }, now, [
          { type: "QcFailed", data: { step: record.step, attempt, reasons: result.failures, warnings: result.warnings, data } }
        ])
      }
      const steps = setStep(state.steps, i, (s) => ({
        ...s,
        status: "completed",
        startedAt: started,
        finishedAt: now,
        data,
        ...(result.warnings.length > 0 ? { warnings: result.warnings } : {})
      }))
      const [next, more] = moveOn({ ...state, steps }, i, now, policy)
      return accept(state, next, now, [
        {
          type: "WorkflowStepCompleted",
          data: {
            step: record.step,
            attempt,
            data,
            ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
            nextStep: next.status === "in_progress" ? stepAt(next.current) : null
          }
        },
        ...more
      ])
    }
    case "FailStep": {
      const wrong = checkCurrent(state, policy, command._tag, command.step)
      if (wrong) return wrong
      const i = state.current
      const steps = setStep(state.steps, i, (s) => ({ ...s, status: "failed", finishedAt: now, reason: command.reason }))
      const { step: _step, ...restSla } = state.sla
      return accept(state, { ...state, status: "failed", steps, failure: { step: command.step, reason: command.reason }, sla: restSla }, now, [
        { type: "WorkflowStepFailed", data: { step: command.step, attempt: steps[i]!.attempt, reason: command.reason } }
      ])
    }
    case "SkipStep": {
      const wrong = checkCurrent(state, policy, command._tag, command.step)
      if (wrong) return wrong
      const i = state.current
      const steps = setStep(state.steps, i, (s) => ({ ...s, status: "skipped", finishedAt: now, reason: command.reason }))
      const [next, more] = moveOn({ ...state, steps }, i, now, policy)
      return accept(state, next, now, [
        {
          type: "WorkflowStepSkipped",
          data: { step: command.step, reason: command.reason, nextStep: next.status === "in_progress" ? stepAt(next.current) : null }
        },
        ...more
      ])
    }
    case "Rework": {
      const failedAt = state.failure ? stepIndex(state.failure.step) : state.current
      const to = stepIndex(command.toStep)
      if (to > failedAt) {
        return refuse(state, policy, command._tag, `rework must go back to ${stepAt(failedAt)} or an earlier step, not ${command.toStep}`)
      }
      const steps = state.steps.map((s, j): StepRecord => (j >= to && j <= failedAt ? { step: s.step, status: "pending", attempt: s.attempt } : s))
      const { failure: _failure, ...rest } = state
      const next = queue({ ...rest, steps }, to, now, policy)
      return accept(state, next, now, [
        { type: "SampleReworked", data: { fromStep: stepAt(failedAt), toStep: command.toStep, reason: command.reason } }
      ])
    }
    case "Hold":
      return accept(state, { ...state, status: "on_hold", hold: { reason: command.reason, since: now, resumeTo: state.status } }, now, [
        { type: "SampleOnHold", data: { reason: command.reason, from: state.status } }
      ])
    case "Resume": {
      const hold = state.hold!
      const heldMs = Math.max(0, now - hold.since)
      const { hold: _hold, ...rest } = state
      const turnaround = shiftClock(state.sla.turnaround, heldMs)
      const step = shiftClock(state.sla.step, heldMs)
      // Time on hold is not time worked: the running step's estimate discounts it.
      const steps = hold.resumeTo === "in_progress"
        ? setStep(state.steps, state.current, (s) => (s.status === "running" ? { ...s, heldMs: (s.heldMs ?? 0) + heldMs } : s))
        : state.steps
      return accept(state, {
        ...rest,
        steps,
        status: hold.resumeTo,
        sla: { raised: state.sla.raised, ...(turnaround ? { turnaround } : {}), ...(step ? { step } : {}) }
      }, now, [{ type: "SampleResumed", data: { to: hold.resumeTo, heldMs, ...(command.reason !== undefined ? { reason: command.reason } : {}) } }])
    }
    case "Cancel": {
      const { step: _step, turnaround: _turnaround, ...restSla } = state.sla
      const { hold: _hold, ...rest } = state
      return accept(state, { ...rest, status: "cancelled", cancelReason: command.reason, sla: restSla }, now, [
        { type: "SampleCancelled", data: { reason: command.reason, from: state.status } }
      ])
    }
    case "Archive":
      return accept(state, { ...state, status: "archived" }, now, [{ type: "SampleArchived", data: {} }])
    case "ChangePriority": {
      if (command.priority === state.priority) {
        return refuse(state, policy, command._tag, `the priority is already ${state.priority}`)
      }
      const t = state.sla.turnaround
      // A new priority is a new commitment: its clock has a new key, so its at-risk and breach are raised afresh.
      const turnaround = t === undefined
        ? undefined
        : { key: `turnaround#${state.version + 1}`, startAt: t.startAt, dueAt: turnaroundDue(policy, command.priority, t.startAt) }
      return accept(state, {
        ...state,
        priority: command.priority,
        sla: { ...state.sla, ...(turnaround ? { turnaround } : {}) }
      }, now, [{ type: "PriorityChanged", data: { from: state.priority, to: command.priority } }])
    }
    case "EditFields": {
      const fields = command.fields
      const locked = lockedFields(state, fields)
      if (locked.length > 0) {
        return refuse(state, policy, command._tag, `${locked.join(", ")} can no longer change once the sample has been received`)
      }
      const diff = changes(state, fields)
      if (Object.keys(diff).length === 0) return invalid("nothing to change", [{ path: "fields", message: "no field differs from the sample" }])
      return accept(state, {
        ...state,
        ...(fields.sampleName !== undefined ? { sampleName: fields.sampleName } : {}),
        ...(fields.submitterEmail !== undefined ? { submitterEmail: fields.submitterEmail } : {}),
        ...(fields.flowCellType !== undefined ? { flowCellType: fields.flowCellType } : {}),
        details: { ...state.details, ...(fields.details ?? {}) }
      }, now, [{ type: "SampleFieldsEdited", data: { changes: diff } }])
    }
  }
}

/** Statuses from which no command is accepted. */
export const TERMINAL: ReadonlyArray<SampleStatus> = ["cancelled", "archived"]
