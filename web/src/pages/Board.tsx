/** The board: all eight step queues side by side, each with its count and its most urgent samples. */
import { useAtomValue } from "@effect-atom/atom-react"
import { STEP_IDS, STEP_NAMES, type StepId } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { Badge, Show } from "../components/ui.tsx"
import { Link } from "../router.tsx"

const SHOWN = 12

export default function BoardPage() {
  return (
    <div>
      <h1>Board</h1>
      <div className="board">
        {STEP_IDS.map((step) => <Column key={step} step={step} />)}
      </div>
    </div>
  )
}

const Column = ({ step }: { readonly step: StepId }) => {
  const queue = useAtomValue(Rpc.query("Queues.Get", { step, limit: SHOWN }, { reactivityKeys: ["queues"] }))
  return (
    <section aria-labelledby={`col-${step}`}>
      <h2 id={`col-${step}`}><Link to={`/queues/${step}`}>{STEP_NAMES[step]}</Link></h2>
      <Show result={queue} rows={3}>
        {(page) => (
          <>
            <p className="hint">{page.total} waiting or running</p>
            {page.items.map((s) => (
              <Link key={s.id} to={`/samples/${s.id}`} className="card">
                {s.sampleName}
                <small><Badge kind={s.priority} /> <Badge kind={s.stepState ?? "none"} /> {s.sla.status !== "on_track" && <Badge kind={s.sla.status} />}</small>
              </Link>
            ))}
            {page.total > page.items.length && <Link to={`/queues/${step}`}>+{page.total - page.items.length} more</Link>}
          </>
        )}
      </Show>
    </section>
  )
}
