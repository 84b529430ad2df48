/**
 * The facility dashboard (staff): what needs attention first (samples whose SLA is breached or at risk), today's
 * intake and output, the load of each step now, and the trends of the last weeks, all from one `Dashboard.Get` in the
 * browser's time zone. The live feed refreshes it ("dashboard" key). `data-ready` on the page says the figures shown
 * are the latest answer, drawn (the web benchmark and tests wait for it).
 */
import { Result, useAtomValue } from "@effect-atom/atom-react"
import { Option, Schema } from "effect"
import type { ReactNode } from "react"
import { TimeZoneName, type Dashboard, type SlaSummary, type StatusCounts, type StepLoad } from "../../../rpc/Dashboard.ts"
import { STEP_NAMES } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { ChartPlaceholders, StepDurationChart, ThroughputChart, TurnaroundChart } from "../components/DashboardCharts.tsx"
import { Badge, Countdown, Empty, ErrorBox, Loading, formatTime } from "../components/ui.tsx"
import { describe } from "../errors.ts"
import { Link } from "../router.tsx"

/** The browser's IANA zone when the server's schema takes it; otherwise the server's default (UTC). */
const browserTimeZone = (): { readonly timeZone?: string } => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  return Schema.is(TimeZoneName)(zone) ? { timeZone: zone } : {}
}

const STATUS_WORDS: ReadonlyArray<readonly [keyof StatusCounts, string]> = [
  ["submitted", "Awaiting receipt"],
  ["in_progress", "In progress"],
  ["on_hold", "On hold"],
  ["failed", "Failed"],
  ["completed", "Completed"],
  ["cancelled", "Cancelled"],
  ["archived", "Archived"]
]

export default function DashboardPage() {
  const result = useAtomValue(Rpc.query("Dashboard.Get", browserTimeZone(), { reactivityKeys: ["dashboard"] }))
  const data = Option.getOrUndefined(Result.value(result))
  const ready = Result.isSuccess(result) && !result.waiting
  return (
    <div className="dashboard" data-ready={ready ? "true" : undefined} aria-busy={data === undefined}>
      <div className="page-head">
        <h1>Dashboard</h1>
        <span className="hint" aria-live="off">
          {data ? `Figures of ${formatTime(data.generatedAt)} (${data.timeZone})${Result.isWaiting(result) ? ", updating…" : ""}` : "Loading figures…"}
        </span>
      </div>
      {Result.isFailure(result) && <ErrorBox problem={describe(result.cause)} />}
      <SlaWatch sla={data?.sla} />
      <section aria-labelledby="dash-now">
        <h2 id="dash-now">Today and now</h2>
        <div className="grid cols-4">
          <Stat label="Received today" value={data?.today.received} />
          <Stat label="Completed today" value={data?.today.completed} />
          <Stat label="SLA breached" value={data?.sla.breached} />
          <Stat label="SLA at risk" value={data?.sla.atRisk} />
        </div>
        <div className="grid now-tables">
          <StepTable steps={data?.byStep} />
          <StatusTable counts={data?.byStatus} />
        </div>
      </section>
      <section aria-labelledby="dash-trends">
        <h2 id="dash-trends">Trends{data ? `, since ${formatTime(data.windowStart)}` : ""}</h2>
        <div className="grid trends">
          {data === undefined ? <ChartPlaceholders /> : <Trends data={data} />}
        </div>
      </section>
    </div>
  )
}

const Trends = ({ data }: { readonly data: Dashboard }) => (
  <>
    <TurnaroundChart rows={data.turnaround} windowStart={data.windowStart} weeks={data.weeks} timeZone={data.timeZone} />
    <StepDurationChart rows={data.stepDurations} weeks={data.weeks} />
    <ThroughputChart rows={data.throughput} weeks={data.weeks} />
  </>
)

/** One figure with its label; the label names the group, so "Received today" reads as one thing. */
const Stat = ({ label, value }: { readonly label: string; readonly value: number | undefined }) => (
  <div className="panel" role="group" aria-label={label}>
    <div className="stat-label">{label}</div>
    <div className="stat">{value ?? "–"}</div>
  </div>
)

const Panel = ({ title, id, children }: { readonly title: string; readonly id: string; readonly children: ReactNode }) => (
  <div className="panel">
    <h3 id={id}>{title}</h3>
    {children}
  </div>
)

/** Breached first, then by due time, as the server orders them; the list scrolls so the page below keeps its place. */
const SlaWatch = ({ sla }: { readonly sla: SlaSummary | undefined }) => (
  <section aria-labelledby="dash-sla" className="panel">
    <h2 id="dash-sla" style={{ marginTop: 0 }}>
      SLA watch{sla ? `: ${sla.breached} breached, ${sla.atRisk} at risk` : ""}
    </h2>
    {sla === undefined
      ? <Loading rows={3} />
      : sla.items.length === 0
      ? <Empty>No sample is at risk or past its due time.</Empty>
      : (
        <div className="sla-list" role="region" aria-label="SLA watch list" tabIndex={0}>
          <table>
            <thead>
              <tr><th scope="col">Sample</th><th scope="col">Priority</th><th scope="col">Step</th><th scope="col">Status</th><th scope="col">Due</th></tr>
            </thead>
            <tbody>
              {sla.items.map((item) => (
                <tr key={item.sampleId}>
                  <td><Link to={`/samples/${item.sampleId}`}>{item.sampleName}</Link></td>
                  <td><Badge kind={item.priority} /></td>
                  <td>{item.currentStep ? STEP_NAMES[item.currentStep] : "—"}</td>
                  <td><Badge kind={item.status}>{item.status === "breached" ? "breached" : "at risk"}</Badge></td>
                  {/* Remounted when the verdict changes: its clock restarts at now, never a tick behind the server's "breached". */}
                  <td><Countdown key={item.status} dueAt={item.dueAt} label={item.clock === "step" ? "Step" : "Turnaround"} /></td>
                </tr>
              ))}
            </tbody>
          </table>
          {sla.items.length < sla.breached + sla.atRisk && (
            <p className="hint">The first {sla.items.length} of {sla.breached + sla.atRisk} are listed.</p>
          )}
        </div>
      )}
  </section>
)

/** The samples at each step now, by step state; each step opens its queue. */
const StepTable = ({ steps }: { readonly steps: ReadonlyArray<StepLoad> | undefined }) => (
  <Panel title="Samples per step" id="dash-steps">
    <table aria-labelledby="dash-steps" className="numbers">
      <thead>
        <tr><th scope="col">Step</th><th scope="col">Queued</th><th scope="col">Running</th><th scope="col">On hold</th><th scope="col">Failed</th><th scope="col">Total</th></tr>
      </thead>
      <tbody>
        {(steps ?? Object.keys(STEP_NAMES).map((): undefined => undefined)).map((s, i) => (
          <tr key={s?.step ?? i}>
            <th scope="row">{s ? <Link to={`/queues/${s.step}`}>{STEP_NAMES[s.step]}</Link> : <span aria-hidden="true">…</span>}</th>
            <td>{s?.queued ?? "–"}</td>
            <td>{s?.running ?? "–"}</td>
            <td>{s?.onHold ?? "–"}</td>
            <td>{s?.failed ?? "–"}</td>
            <td><strong>{s?.total ?? "–"}</strong></td>
          </tr>
        ))}
      </tbody>
    </table>
  </Panel>
)

/** Every sample by status now. */
const StatusTable = ({ counts }: { readonly counts: StatusCounts | undefined }) => (
  <Panel title="Samples per status" id="dash-status">
    <table aria-labelledby="dash-status" className="numbers">
      <thead><tr><th scope="col">Status</th><th scope="col">Samples</th></tr></thead>
      <tbody>
        {STATUS_WORDS.map(([key, words]) => (
          <tr key={key}><th scope="row">{words}</th><td>{counts?.[key] ?? "–"}</td></tr>
        ))}
      </tbody>
    </table>
  </Panel>
)
