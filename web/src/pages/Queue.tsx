/**
 * One step's queue, in the server's order (urgent first, then the nearest due time, then arrival): start the next
 * sample, or open it to record the step. Keyboard: ↑/↓ move between rows, Enter opens, S starts the focused sample.
 */
import { useAtomValue } from "@effect-atom/atom-react"
import { Either, Schema } from "effect"
import { useRef, useState, type KeyboardEvent } from "react"
import { StartStep } from "../../../rpc/Commands.ts"
import { STEP_NAMES, StepId, type SampleView } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { Badge, Empty, ErrorBox, formatTime, Show } from "../components/ui.tsx"
import { Link, navigate } from "../router.tsx"
import { useSampleCommand } from "../sampleActions.ts"

const decodeStep = Schema.decodeUnknownEither(StepId)

export default function QueuePage({ step }: { readonly step: string }) {
  const parsed = decodeStep(step)
  if (Either.isLeft(parsed)) return <ErrorBox problem={{ title: `There is no step "${step}".`, fields: [] }} />
  return <Queue key={parsed.right} step={parsed.right} />
}

const PAGE = 100

const Queue = ({ step }: { readonly step: StepId }) => {
  const [limit, setLimit] = useState(PAGE)
  const queue = useAtomValue(Rpc.query("Queues.Get", { step, limit }, { reactivityKeys: ["queues"] }))
  const tbody = useRef<HTMLTableSectionElement>(null)
  const onKey = (e: KeyboardEvent<HTMLTableSectionElement>) => {
    const rows = [...(tbody.current?.querySelectorAll<HTMLTableRowElement>("tr") ?? [])]
    const at = rows.findIndex((r) => r.contains(document.activeElement))
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault()
      const next = rows[Math.max(0, Math.min(rows.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)))]
      next?.querySelector<HTMLAnchorElement>("a")?.focus()
    }
  }
  return (
    <div>
      <h1>{STEP_NAMES[step]} queue</h1>
      <Show result={queue} rows={8}>
        {(page) => page.items.length === 0 ? <Empty>No sample waits for {STEP_NAMES[step]}.</Empty> : (
          <section className="panel">
            <p className="hint" role="status">{page.total} sample{page.total === 1 ? "" : "s"} at this step, most urgent first. ↑/↓ move, Enter opens, S starts.</p>
            <table>
              <thead>
                <tr><th scope="col">Sample</th><th scope="col">Priority</th><th scope="col">State</th><th scope="col">SLA</th><th scope="col">Step due</th><th scope="col">Received</th><th scope="col"><span className="hint">Action</span></th></tr>
              </thead>
              <tbody ref={tbody} onKeyDown={onKey}>
                {page.items.map((s) => <Row key={s.id} sample={s} step={step} />)}
              </tbody>
            </table>
            {page.nextCursor !== null && (
              <div className="actions"><button type="button" className="secondary" onClick={() => setLimit((l) => Math.min(500, l + PAGE))} disabled={limit >= 500}>Show more</button></div>
            )}
          </section>
        )}
      </Show>
    </div>
  )
}

const Row = ({ sample, step }: { readonly sample: SampleView; readonly step: StepId }) => {
  const { busy, problem, run } = useSampleCommand(sample.id, sample.version)
  const start = () => run(new StartStep({ step }))
  return (
    <tr onKeyDown={(e) => {
      if ((e.key === "s" || e.key === "S") && sample.stepState === "queued") {
        e.preventDefault()
        void start()
      }
    }}>
      <td><Link to={`/samples/${sample.id}`}>{sample.sampleName}</Link></td>
      <td><Badge kind={sample.priority} /></td>
      <td><Badge kind={sample.stepState ?? "none"} /></td>
      <td><Badge kind={sample.sla.status} /></td>
      <td>{formatTime(sample.sla.stepDueAt)}</td>
      <td>{formatTime(sample.receivedAt)}</td>
      <td>
        {sample.stepState === "queued"
          ? <button type="button" disabled={busy} onClick={start} aria-label={`Start ${STEP_NAMES[step]} for ${sample.sampleName}`}>Start</button>
          : <button type="button" className="secondary" onClick={() => navigate(`/samples/${sample.id}`)} aria-label={`Record ${STEP_NAMES[step]} for ${sample.sampleName}`}>Record</button>}
        {problem && <ErrorBox problem={problem} />}
      </td>
    </tr>
  )
}
