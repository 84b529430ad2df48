/**
 * Batch commands on the selected samples (staff): receive, resume, archive, hold and cancel (with a reason), change
 * priority. Selections over 500 go in several `Samples.Batch` calls; the outcome is summed up per sample, and every
 * refused sample is listed with the reason in words and a link to it.
 */
import { useAtomSet } from "@effect-atom/atom-react"
import { Exit } from "effect"
import { useEffect, useId, useRef, useState } from "react"
import type { BatchCommand, BatchItem } from "../../../rpc/Api.ts"
import { Archive, Cancel, ChangePriority, Hold, Receive, Resume } from "../../../rpc/Commands.ts"
import type { SampleId } from "../../../rpc/Ids.ts"
import { PRIORITIES, type Priority } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { describe } from "../errors.ts"
import { Link } from "../router.tsx"
import { STATUS_WORDS } from "./SampleList.tsx"
import { newKey, ReasonDialog } from "./ui.tsx"

const batchAtom = Rpc.mutation("Samples.Batch")

/** The most ids one `Samples.Batch` call takes. */
export const BATCH_LIMIT = 500

/** What the summary shows after a batch. */
export interface BatchOutcome {
  readonly label: string
  readonly succeeded: number
  readonly refused: ReadonlyArray<{ readonly id: string; readonly name: string; readonly reason: string }>
}

/** A refused item's reason in words: the refusal as the sample page would say it. */
const reasonOf = (tag: BatchCommand["_tag"], item: Extract<BatchItem, { ok: false }>): string => {
  const e = item.error
  if (e._tag === "StepTransitionRefused") {
    // "Receive is not allowed while the sample is in_progress" says no more than the sample's state, in words.
    const reason = e.status !== undefined && /is not allowed while the sample is/.test(e.message) ? `the sample is ${STATUS_WORDS[e.status]}` : e.message
    return describe({ ...e, attempted: tag, reason, allowed: [] }).title
  }
  const problem = describe(e)
  const fields = problem.fields.map((f) => `${f.path}: ${f.message}`).join("; ")
  return fields === "" ? problem.title : `${problem.title} ${fields}`
}

const chunks = <A,>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

type Dialog = { readonly kind: "hold" } | { readonly kind: "cancel" } | undefined

/** The command buttons for `selected` (id → name); `onDone` gets the outcome once every chunk has answered. */
export const BatchBar = ({ selected, canManage, onDone, onClear }: {
  readonly selected: ReadonlyMap<SampleId, string>
  readonly canManage: boolean
  readonly onDone: (outcome: BatchOutcome) => void
  readonly onClear: () => void
}) => {
  const run = useAtomSet(batchAtom, { mode: "promiseExit" })
  const [busy, setBusy] = useState<{ readonly label: string; readonly done: number; readonly of: number } | undefined>()
  const [dialog, setDialog] = useState<Dialog>()
  const [priority, setPriority] = useState<Priority>("high")
  const id = useId()
  const n = selected.size
  const none = n === 0 || busy !== undefined

  const apply = async (label: string, command: BatchCommand) => {
    setDialog(undefined)
    const ids = [...selected.keys()]
    const names: ReadonlyMap<string, string> = selected
    setBusy({ label, done: 0, of: ids.length })
    let succeeded = 0
    const refused: Array<BatchOutcome["refused"][number]> = []
    let done = 0
    for (const part of chunks(ids, BATCH_LIMIT)) {
      const exit = await run({
        payload: { sampleIds: part, command, idempotencyKey: newKey("batch") },
        reactivityKeys: ["samples", "sample", "queues", "dashboard", "submissions"]
      })
      if (Exit.isSuccess(exit)) {
        succeeded += exit.value.succeeded
        for (const item of exit.value.results) {
          if (!item.ok) refused.push({ id: item.sampleId, name: names.get(item.sampleId) ?? item.sampleId, reason: reasonOf(command._tag, item) })
        }
      } else {
        const reason = describe(exit.cause).title
        for (const sampleId of part) refused.push({ id: sampleId, name: names.get(sampleId) ?? sampleId, reason })
      }
      done += part.length
      setBusy({ label, done, of: ids.length })
    }
    setBusy(undefined)
    onDone({ label, succeeded, refused })
  }

  return (
    <div className="batchbar panel" role="region" aria-label="Batch commands">
      <span className="count" aria-live="polite">
        {busy ? `${busy.label}: ${busy.done} of ${busy.of} sent…` : n === 0 ? "Select samples to apply a command to many at once." : `${n} selected`}
      </span>
      <div className="actions">
        <button type="button" disabled={none} onClick={() => apply("Receive", new Receive())}>Receive</button>
        <button type="button" disabled={none} onClick={() => apply("Resume", new Resume())}>Resume</button>
        <button type="button" disabled={none} className="secondary" onClick={() => setDialog({ kind: "hold" })}>Hold…</button>
        <button type="button" disabled={none} className="secondary" onClick={() => apply("Archive", new Archive())}>Archive</button>
        {canManage && (
          <>
            <span className="priority-pick">
              <label htmlFor={`${id}-priority`}>New priority</label>
              <select id={`${id}-priority`} value={priority} onChange={(e) => setPriority(PRIORITIES.find((p) => p === e.target.value) ?? "normal")}>
                {PRIORITIES.map((p) => <option key={p} value={p}>{p}</option>)}
              </select>
            </span>
            <button type="button" disabled={none} className="secondary" onClick={() => apply(`Change priority to ${priority}`, new ChangePriority({ priority }))}>Change priority</button>
            <button type="button" disabled={none} className="danger" onClick={() => setDialog({ kind: "cancel" })}>Cancel samples…</button>
          </>
        )}
        <button type="button" disabled={none} className="secondary" onClick={onClear}>Clear selection</button>
      </div>
      {dialog?.kind === "hold" && (
        <ReasonDialog title={`Put ${n} sample${n === 1 ? "" : "s"} on hold`} confirm="Put on hold"
          onConfirm={(reason) => apply("Hold", new Hold({ reason }))} onClose={() => setDialog(undefined)} />
      )}
      {dialog?.kind === "cancel" && (
        <ReasonDialog title={`Cancel ${n} sample${n === 1 ? "" : "s"} for good`} confirm="Cancel samples"
          onConfirm={(reason) => apply("Cancel", new Cancel({ reason }))} onClose={() => setDialog(undefined)} />
      )}
    </div>
  )
}

/** The result of the last batch: counts, and each refused sample with its reason. */
export const BatchSummary = ({ outcome, onDismiss }: { readonly outcome: BatchOutcome; readonly onDismiss: () => void }) => {
  const ref = useRef<HTMLHeadingElement>(null)
  useEffect(() => ref.current?.focus(), [outcome])
  const { succeeded, refused } = outcome
  return (
    <section className={`panel batch-summary ${refused.length > 0 ? "partial" : "ok"}`} aria-labelledby="batch-summary-title">
      <h2 id="batch-summary-title" ref={ref} tabIndex={-1}>
        {outcome.label}: {succeeded} succeeded, {refused.length} refused
      </h2>
      {refused.length > 0 && (
        <>
          <p className="hint">The refused samples stay selected.</p>
          <div className="summary-table">
            <table>
              <caption className="visually-hidden">Refused samples and why</caption>
              <thead><tr><th scope="col">Sample</th><th scope="col">Why it was refused</th></tr></thead>
              <tbody>
                {refused.map((r) => (
                  <tr key={r.id}>
                    <td><Link to={`/samples/${r.id}`}>{r.name}</Link></td>
                    <td>{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <div className="actions"><button type="button" className="secondary" onClick={onDismiss}>Dismiss</button></div>
    </section>
  )
}
