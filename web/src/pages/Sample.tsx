/**
 * One sample: its fields, the eight steps as a timeline (who, when, how long), the SLA clocks counting down, the audit
 * trail, and only the actions its state allows this user (the server says which). Hold, fail, rework, skip and cancel
 * ask for a reason; the current step's record is a form made from that step's schema; the QC gate's verdict shows.
 */
import { Result, useAtomValue } from "@effect-atom/atom-react"
import { Either, Option, Schema } from "effect"
import { useState } from "react"
import { Archive, Cancel, ChangePriority, CompleteStep, FailStep, Hold, Receive, Resume, Rework, SkipStep, StartStep } from "../../../rpc/Commands.ts"
import { SampleId } from "../../../rpc/Ids.ts"
import { PRIORITIES, STEP_IDS, STEP_NAMES, type CommandName, type Priority, type SampleEvent, type SampleView, type StepId, type StepView, type WorkflowView } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { describe } from "../errors.ts"
import { FIELD_LABELS, StepForm } from "../components/StepForm.tsx"
import { Badge, Countdown, Empty, ErrorBox, formatDuration, formatTime, ReasonDialog, Show } from "../components/ui.tsx"
import { Link } from "../router.tsx"
import { SampleDeliveries } from "../components/SampleDeliveries.tsx"
import { useSampleCommand } from "../sampleActions.ts"

const decodeId = Schema.decodeUnknownEither(SampleId)

export default function SamplePage({ id }: { readonly id: string }) {
  const parsed = decodeId(id)
  if (Either.isLeft(parsed)) {
    return (
      <div>
        <h1>Sample not available</h1>
        <ErrorBox problem={{ title: `"${id}" is not a sample id: a sample id is a UUID such as 0b7c…-…`, fields: [] }} />
        <p><Link to="/samples">Back to the samples list</Link></p>
      </div>
    )
  }
  return <SampleById id={parsed.right} />
}

const keys = (id: SampleId) => ["sample", `sample:${id}`]

const SampleById = ({ id }: { readonly id: SampleId }) => {
  const sample = useAtomValue(Rpc.query("Samples.Get", { id }, { reactivityKeys: keys(id) }))
  const workflow = useAtomValue(Rpc.query("Samples.Workflow", { id }, { reactivityKeys: keys(id) }))
  const events = useAtomValue(Rpc.query("Samples.Events", { id }, { reactivityKeys: keys(id) }))
  // Only a sample never read is "not available": a re-read that fails keeps the page under Show's "Could not refresh".
  if (Result.isFailure(sample) && Option.isNone(sample.previousSuccess)) {
    return (
      <div>
        <h1>Sample not available</h1>
        <ErrorBox problem={describe(sample.cause)} />
        <p><Link to="/samples">Back to the samples list</Link>, or scan or type another id in the search box.</p>
      </div>
    )
  }
  return (
    <Show result={sample} rows={6}>
      {(s) => (
        <div data-sample-version={s.version}>
          <Header sample={s} />
          <Show result={workflow} rows={4}>
            {(w) => (
              <>
                <Actions sample={s} workflow={w} />
                <div className="grid cols-2">
                  <section className="panel" aria-labelledby="steps-title">
                    <h2 id="steps-title">Steps</h2>
                    <Show result={events}>{(ev) => <Timeline workflow={w} events={ev} />}</Show>
                  </section>
                  <section className="panel" aria-labelledby="fields-title">
                    <h2 id="fields-title">Sample</h2>
                    <Fields sample={s} />
                  </section>
                </div>
              </>
            )}
          </Show>
          <section className="panel" aria-labelledby="audit-title">
            <h2 id="audit-title">Audit trail</h2>
            <Show result={events}>{(ev) => <Audit events={ev} />}</Show>
          </section>
          <SampleDeliveries id={s.id} />
        </div>
      )}
    </Show>
  )
}

const Header = ({ sample }: { readonly sample: SampleView }) => (
  <header className="panel">
    <h1>{sample.sampleName}</h1>
    <div className="actions" style={{ alignItems: "center" }}>
      <span>Status: <Badge kind={sample.status} /></span>
      <span>Step: <strong>{sample.currentStep ? `${STEP_NAMES[sample.currentStep]} (${sample.stepState})` : "—"}</strong></span>
      <span>Priority: <Badge kind={sample.priority} /></span>
      <span>SLA: <Badge kind={sample.sla.status} /></span>
    </div>
    <div className="actions">
      <Countdown label="Turnaround" dueAt={sample.sla.status === "paused" ? null : sample.sla.turnaroundDueAt} />
      <span aria-hidden="true">·</span>
      <Countdown label="Current step" dueAt={sample.sla.status === "paused" ? null : sample.sla.stepDueAt} />
      {sample.estimatedCompletion && <span>· Estimated completion {formatTime(sample.estimatedCompletion)}</span>}
    </div>
    {sample.hold && <p className="alert warn">On hold since {formatTime(sample.hold.since)}: {sample.hold.reason}</p>}
    {sample.failure && <p className="alert error" role="status">Failed at {STEP_NAMES[sample.failure.step]}: {sample.failure.reason}</p>}
    {sample.cancelReason && <p className="alert warn">Cancelled: {sample.cancelReason}</p>}
  </header>
)

type Dialog =
  | { readonly _tag: "Hold" }
  | { readonly _tag: "Resume" }
  | { readonly _tag: "Cancel" }
  | { readonly _tag: "FailStep"; readonly step: StepId }
  | { readonly _tag: "SkipStep"; readonly step: StepId }
  | { readonly _tag: "Rework" }

const Actions = ({ sample, workflow }: { readonly sample: SampleView; readonly workflow: WorkflowView }) => {
  const { busy, problem, run } = useSampleCommand(sample.id, sample.version)
  const [dialog, setDialog] = useState<Dialog | undefined>()
  const [notice, setNotice] = useState<string | undefined>()
  const allowed = new Set<CommandName>(workflow.allowedCommands)
  const step = sample.currentStep
  const send = async (command: Parameters<typeof run>[0], what: string) => {
    setDialog(undefined)
    const result = await run(command)
    if (result !== undefined) setNotice(verdictOf(result.sample, result.events, what, step))
  }
  if (allowed.size === 0) {
    return problem ? <ErrorBox problem={problem} /> : null
  }
  return (
    <section className="panel" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      {problem && <ErrorBox problem={problem} />}
      {notice && !problem && <p className="alert ok" role="status">{notice}</p>}
      <div className="actions">
        {allowed.has("Receive") && <button type="button" disabled={busy} onClick={() => send(new Receive(), "Received")}>Receive sample</button>}
        {allowed.has("StartStep") && step && (
          <button type="button" disabled={busy} onClick={() => send(new StartStep({ step }), `${STEP_NAMES[step]} started`)}>Start {STEP_NAMES[step]}</button>
        )}
        {allowed.has("Resume") && <button type="button" disabled={busy} onClick={() => setDialog({ _tag: "Resume" })}>Resume…</button>}
        {allowed.has("Archive") && <button type="button" className="secondary" disabled={busy} onClick={() => send(new Archive(), "Archived")}>Archive</button>}
        {allowed.has("Rework") && <button type="button" disabled={busy} onClick={() => setDialog({ _tag: "Rework" })}>Send back for rework…</button>}
        {allowed.has("SkipStep") && step && <button type="button" className="secondary" disabled={busy} onClick={() => setDialog({ _tag: "SkipStep", step })}>Skip {STEP_NAMES[step]}…</button>}
        {allowed.has("FailStep") && step && <button type="button" className="secondary" disabled={busy} onClick={() => setDialog({ _tag: "FailStep", step })}>Fail {STEP_NAMES[step]}…</button>}
        {allowed.has("Hold") && <button type="button" className="secondary" disabled={busy} onClick={() => setDialog({ _tag: "Hold" })}>Put on hold…</button>}
        {allowed.has("Cancel") && <button type="button" className="danger" disabled={busy} onClick={() => setDialog({ _tag: "Cancel" })}>Cancel sample…</button>}
        {allowed.has("ChangePriority") && <PriorityPicker current={sample.priority} busy={busy} onChange={(p) => send(new ChangePriority({ priority: p }), `Priority is now ${p}`)} />}
      </div>
      {allowed.has("CompleteStep") && step && (
        <div>
          <h3>Record {STEP_NAMES[step]}</h3>
          {/* Keyed by the step, not the version: a change that leaves the step running (an SLA timer's event, a priority
              change, a refused record) keeps what the technician typed; the form is new when the step is. */}
          <StepForm key={step} step={step} busy={busy} problem={problem}
            onSubmit={(record) => send(new CompleteStep({ record }), `${STEP_NAMES[step]} completed`)} />
        </div>
      )}
      {dialog?._tag === "Hold" && <ReasonDialog title="Put the sample on hold" confirm="Put on hold" onClose={() => setDialog(undefined)} onConfirm={(reason) => send(new Hold({ reason }), "On hold: its SLA clocks are paused")} />}
      {dialog?._tag === "Resume" && <ReasonDialog title="Resume work on the sample" confirm="Resume" onClose={() => setDialog(undefined)} onConfirm={(reason) => send(new Resume({ reason }), "Resumed: its SLA clocks run again")} />}
      {dialog?._tag === "Cancel" && <ReasonDialog title="Cancel the sample for good" confirm="Cancel sample" onClose={() => setDialog(undefined)} onConfirm={(reason) => send(new Cancel({ reason }), "Cancelled")} />}
      {dialog?._tag === "FailStep" && <ReasonDialog title={`Fail ${STEP_NAMES[dialog.step]}`} confirm="Fail step" onClose={() => setDialog(undefined)} onConfirm={(reason) => send(new FailStep({ step: dialog.step, reason }), "Step failed")} />}
      {dialog?._tag === "SkipStep" && <ReasonDialog title={`Skip ${STEP_NAMES[dialog.step]}`} confirm="Skip step" onClose={() => setDialog(undefined)} onConfirm={(reason) => send(new SkipStep({ step: dialog.step, reason }), "Step skipped")} />}
      {dialog?._tag === "Rework" && <ReworkDialog failedAt={sample.failure?.step ?? step ?? "sample_qc"} onClose={() => setDialog(undefined)} onConfirm={(toStep, reason) => send(new Rework({ toStep, reason }), `Back to ${STEP_NAMES[toStep]}`)} />}
    </section>
  )
}

/** The outcome in words, with the QC gate's verdict when a gate ran. */
const verdictOf = (sample: SampleView, events: ReadonlyArray<{ readonly type: string }>, what: string, before: StepId | null): string => {
  if (events.some((e) => e.type === "QcFailed")) return `QC gate failed: ${sample.failure?.reason ?? "see the step"}`
  const next = sample.currentStep && sample.currentStep !== before ? ` Next: ${STEP_NAMES[sample.currentStep]}.` : ""
  if (events.some((e) => e.type === "SampleCompleted")) return `${what}. The sample is complete.`
  return `${what}.${next}`
}

const PriorityPicker = ({ current, busy, onChange }: { readonly current: Priority; readonly busy: boolean; readonly onChange: (p: Priority) => void }) => {
  const [value, setValue] = useState<Priority>(current)
  return (
    <span style={{ display: "inline-flex", gap: ".4rem", alignItems: "center" }}>
      <label htmlFor="priority-select" style={{ margin: 0 }}>Priority</label>
      <select id="priority-select" value={value} onChange={(e) => setValue(e.target.value as Priority)}>
        {[...PRIORITIES].reverse().map((p) => <option key={p} value={p}>{p}</option>)}
      </select>
      <button type="button" className="secondary" disabled={busy || value === current} onClick={() => onChange(value)}>Change priority</button>
    </span>
  )
}

const ReworkDialog = ({ failedAt, onClose, onConfirm }: { readonly failedAt: StepId; readonly onClose: () => void; readonly onConfirm: (to: StepId, reason: string) => void }) => {
  const upTo = STEP_IDS.slice(0, STEP_IDS.indexOf(failedAt) + 1)
  const [to, setTo] = useState<StepId>(failedAt)
  return (
    <ReasonDialog title="Send back for rework" confirm="Send back" onClose={onClose} onConfirm={(reason) => onConfirm(to, reason)} extra={
      <>
        <label htmlFor="rework-step">Back to step</label>
        <select id="rework-step" value={to} onChange={(e) => setTo(e.target.value as StepId)}>
          {upTo.map((s) => <option key={s} value={s}>{STEP_NAMES[s]}</option>)}
        </select>
      </>
    } />
  )
}

/** Who acted on a step last, from the audit trail. */
const actorOf = (events: ReadonlyArray<SampleEvent>, step: StepId): string | undefined => {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!
    const data = e.data as { step?: unknown } | null
    if (data !== null && typeof data === "object" && data.step === step) return e.actor.replace(/^user:/, "")
  }
  return undefined
}

const Timeline = ({ workflow, events }: { readonly workflow: WorkflowView; readonly events: ReadonlyArray<SampleEvent> }) => (
  <>
    <p className="hint">{workflow.progress} of {workflow.totalSteps} steps done</p>
    <ol className="timeline" aria-label="Workflow steps">
      {workflow.steps.map((s) => <StepItem key={s.id} step={s} actor={actorOf(events, s.id)} />)}
    </ol>
  </>
)

const StepItem = ({ step, actor }: { readonly step: StepView; readonly actor: string | undefined }) => {
  const took = step.startedAt && step.finishedAt ? Date.parse(step.finishedAt) - Date.parse(step.startedAt) : undefined
  return (
    <li className={step.status}>
      <span className="dot" aria-hidden="true">{step.order}</span>
      <div>
        <strong>{step.name}</strong> <Badge kind={step.status} />{step.attempt > 1 && <span className="hint"> attempt {step.attempt}</span>}
        <div className="hint">
          {step.startedAt && <>started {formatTime(step.startedAt)} </>}
          {step.finishedAt && <>· finished {formatTime(step.finishedAt)} </>}
          {took !== undefined && <>· took {formatDuration(took)} </>}
          {actor && <>· by {actor}</>}
        </div>
        {step.reason && <div className="field-error">{step.reason}</div>}
        {step.warnings.length > 0 && <div className="hint" style={{ color: "var(--warn)" }}>Warnings: {step.warnings.join("; ")}</div>}
        {step.data !== null && typeof step.data === "object" && <DataSummary data={step.data as Record<string, unknown>} />}
      </div>
    </li>
  )
}

const DataSummary = ({ data }: { readonly data: Record<string, unknown> }) => (
  <div className="hint">
    {Object.entries(data).map(([k, v]) => `${FIELD_LABELS[k] ?? k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`).join(" · ")}
  </div>
)

const DETAIL_LABELS: Record<string, string> = {
  sampleType: "Sample type", organism: "Organism", buffer: "Buffer", volumeUl: "Volume (µL)", concentrationNgUl: "Concentration (ng/µL)",
  nanodropNgUl: "Nanodrop (ng/µL)", a260_280: "A260/280", a260_230: "A260/230", libraryKit: "Library kit", basecallingModel: "Basecalling model",
  genomeSizeMb: "Genome size (Mb)", targetCoverage: "Target coverage (×)", humanDna: "Human DNA"
}

const Fields = ({ sample }: { readonly sample: SampleView }) => (
  <dl className="fields">
    <dt>Sample id</dt><dd><code>{sample.id}</code></dd>
    <dt>Submitter</dt><dd>{sample.submitterEmail}</dd>
    <dt>Submission</dt><dd><Link to={`/submissions/${sample.submissionId}`}>open (row {sample.position})</Link></dd>
    <dt>Flow cell type</dt><dd>{sample.flowCellType}</dd>
    <dt>Created</dt><dd>{formatTime(sample.createdAt)}</dd>
    <dt>Received</dt><dd>{formatTime(sample.receivedAt)}</dd>
    <dt>Completed</dt><dd>{formatTime(sample.completedAt)}</dd>
    {Object.entries(sample.details).map(([k, v]) => (
      <Detail key={k} label={DETAIL_LABELS[k] ?? k} value={typeof v === "boolean" ? (v ? "yes" : "no") : String(v)} />
    ))}
  </dl>
)

const Detail = ({ label, value }: { readonly label: string; readonly value: string }) => <><dt>{label}</dt><dd>{value}</dd></>

const EVENT_WORDS: Partial<Record<SampleEvent["type"], string>> = {
  SampleCreated: "Created", SampleReceived: "Received", WorkflowStepStarted: "Step started", WorkflowStepCompleted: "Step completed",
  WorkflowStepSkipped: "Step skipped", WorkflowStepFailed: "Step failed", QcFailed: "QC gate failed", SampleOnHold: "Put on hold",
  SampleResumed: "Resumed", SampleReworked: "Sent back for rework", SampleCancelled: "Cancelled", SampleCompleted: "Completed",
  SampleArchived: "Archived", PriorityChanged: "Priority changed", SampleFieldsEdited: "Fields edited", SlaAtRisk: "SLA at risk", SlaBreached: "SLA breached",
  NotificationTriggered: "People notified"
}

const CHANNEL_WORDS: ReadonlyArray<readonly [string, string, string]> = [["email", "e-mail", "e-mails"], ["in_app", "in-app", "in-app"], ["webhook", "webhook", "webhooks"]]

/** "Sample received: 1 e-mail, 1 in-app" for a NotificationTriggered event. */
const notifiedSummary = (d: Record<string, unknown>): string => {
  const cause = typeof d.causeType === "string" ? EVENT_WORDS[d.causeType as SampleEvent["type"]] ?? d.causeType : ""
  const channels = (typeof d.channels === "object" && d.channels !== null ? d.channels : {}) as Record<string, unknown>
  const counts = CHANNEL_WORDS.flatMap(([key, one, many]) => {
    const n = channels[key]
    return typeof n === "number" && n > 0 ? [`${n} ${n === 1 ? one : many}`] : []
  })
  return [cause, counts.join(", ")].filter((p) => p !== "").join(": ")
}

const summary = (e: SampleEvent): string => {
  const d = e.data as Record<string, unknown> | null
  if (d === null || typeof d !== "object") return ""
  if (e.type === "NotificationTriggered") return notifiedSummary(d)
  const parts: Array<string> = []
  if (typeof d.step === "string") parts.push(STEP_NAMES[d.step as StepId] ?? d.step)
  if (typeof d.reason === "string") parts.push(d.reason)
  if (Array.isArray(d.reasons)) parts.push(d.reasons.join("; "))
  if (typeof d.toStep === "string") parts.push(`to ${STEP_NAMES[d.toStep as StepId] ?? d.toStep}`)
  if (typeof d.priority === "string") parts.push(d.priority)
  if (typeof d.scope === "string") parts.push(d.scope)
  return parts.join(" · ")
}

const Audit = ({ events }: { readonly events: ReadonlyArray<SampleEvent> }) =>
  events.length === 0 ? <Empty>No events yet.</Empty> : (
    <table>
      <caption className="hint" style={{ textAlign: "left" }}>Every change to this sample and every notification it caused, oldest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Details</th></tr></thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id}>
            <td>{formatTime(e.at)}</td>
            <td>{EVENT_WORDS[e.type] ?? e.type}</td>
            <td>{e.actor.replace(/^user:/, "")}</td>
            <td>{summary(e)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
