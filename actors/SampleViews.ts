/** Read models of a sample: the API's sample and workflow views, computed from the one state at a given time. */
import { STEP_IDS, STEP_NAMES, type SampleState, type SampleView, type SlaView, type WorkflowView } from "../rpc/Workflow.ts"
import { allowedCommands, currentStep, thresholds } from "./SampleWorkflow.ts"
import type { WorkflowPolicy } from "./WorkflowPolicy.ts"

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString())

/** The SLA status at `now`, from the clocks themselves (the raised events may lag by one timer poll). */
export const slaView = (state: SampleState, now: number, policy: WorkflowPolicy): SlaView => {
  const turnaroundDueAt = iso(state.sla.turnaround?.dueAt)
  const stepDueAt = state.status === "in_progress" || state.status === "on_hold" ? iso(state.sla.step?.dueAt) : null
  const base = { turnaroundDueAt, stepDueAt, raised: state.sla.raised }
  if (state.status === "on_hold" && (state.sla.turnaround || state.sla.step)) return { status: "paused", ...base }
  const ts = thresholds(state, policy)
  if (ts.length === 0) return { status: "none", ...base }
  const passed = ts.filter((t) => t.at <= now)
  const status = passed.some((t) => t.type === "SlaBreached")
    ? "breached"
    : passed.some((t) => t.type === "SlaAtRisk")
    ? "at_risk"
    : "on_track"
  return { status, ...base }
}

/** Now + the expected durations of the remaining steps (the current one less the time it has run). */
export const estimatedCompletion = (state: SampleState, now: number, policy: WorkflowPolicy): number | null => {
  switch (state.status) {
    case "completed":
    case "archived":
      return state.completedAt ?? null
    case "cancelled":
      return null
    default: {
      const from = currentStep(state) === null ? 0 : state.current
      let remaining = 0
      for (let i = from; i < STEP_IDS.length; i++) {
        const step = state.steps[i]!
        const expected = policy.expectedMs[step.step]
        if (i === from && step.status === "running" && step.startedAt !== undefined && state.status === "in_progress") {
          remaining += Math.max(0, expected - (now - step.startedAt - (step.heldMs ?? 0)))
        } else {
          remaining += expected
        }
      }
      return now + remaining
    }
  }
}

/** The sample as the API shows it. */
export const toView = (state: SampleState, now: number, policy: WorkflowPolicy): SampleView => {
  const step = currentStep(state)
  return {
    id: state.id,
    submissionId: state.submissionId,
    position: state.position,
    sampleName: state.sampleName,
    submitterEmail: state.submitterEmail,
    priority: state.priority,
    flowCellType: state.flowCellType,
    details: state.details,
    status: state.status,
    currentStep: step,
    stepState: step === null ? null : state.steps[state.current]!.status,
    hold: state.hold ? { reason: state.hold.reason, since: new Date(state.hold.since).toISOString() } : null,
    failure: state.failure ?? null,
    cancelReason: state.cancelReason ?? null,
    sla: slaView(state, now, policy),
    estimatedCompletion: iso(estimatedCompletion(state, now, policy) ?? undefined),
    createdAt: new Date(state.createdAt).toISOString(),
    receivedAt: iso(state.receivedAt),
    completedAt: iso(state.completedAt),
    updatedAt: new Date(state.updatedAt).toISOString(),
    version: state.version
  }
}

/** `GET /samples/{id}/workflow`: progress counts completed (and skipped) steps. */
export const toWorkflowView = (state: SampleState, now: number, policy: WorkflowPolicy): WorkflowView => ({
  sampleId: state.id,
  status: state.status,
  currentStep: currentStep(state),
  progress: state.steps.filter((s) => s.status === "completed" || s.status === "skipped").length,
  totalSteps: STEP_IDS.length,
  estimatedCompletion: iso(estimatedCompletion(state, now, policy) ?? undefined),
  steps: state.steps.map((s, i) => ({
    id: s.step,
    name: STEP_NAMES[s.step],
    order: i + 1,
    status: s.status,
    attempt: s.attempt,
    queuedAt: iso(s.queuedAt),
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
    data: s.data ?? null,
    reason: s.reason ?? null,
    warnings: s.warnings ?? []
  })),
  sla: slaView(state, now, policy),
  allowedCommands: allowedCommands(state, policy)
})
