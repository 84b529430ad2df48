/**
 * One submission: its header (who, lab, billing, service), where its samples are (a bar by status, the expected
 * completion) and each sample's progress (current step, status, SLA, expected completion) linking to the sample.
 * A submitter sees only their own; live events refresh it (keys `submission:<id>` and "submissions").
 */
import { useAtomValue } from "@effect-atom/atom-react"
import { Option, Schema } from "effect"
import { SubmissionHeader, type SubmissionDetail } from "../../../rpc/Api.ts"
import { SubmissionId } from "../../../rpc/Ids.ts"
import { STEP_NAMES, type SampleView } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { Badge, Empty, ErrorBox, formatTime, Show } from "../components/ui.tsx"
import { Link } from "../router.tsx"
import { estimateWords, ProgressBar, ProgressLegend, progressWords } from "./Submissions.tsx"

const parseId = Schema.decodeUnknownOption(SubmissionId)
const readHeader = Schema.decodeUnknownOption(SubmissionHeader)

export default function SubmissionPage({ id }: { readonly id: string }) {
  const parsed = parseId(id)
  if (Option.isNone(parsed)) {
    return (
      <div>
        <h1>Submission</h1>
        <ErrorBox problem={{ title: "This address names no submission (the id is not valid).", fields: [] }} />
        <p><Link to="/submissions">Back to the submissions</Link></p>
      </div>
    )
  }
  return <Detail id={parsed.value} />
}

const Detail = ({ id }: { readonly id: SubmissionId }) => {
  const result = useAtomValue(Rpc.query("Submissions.Get", { id }, { reactivityKeys: [`submission:${id}`, "submissions"] }))
  return (
    <Show result={result} rows={6}>
      {(detail) => <View detail={detail} />}
    </Show>
  )
}

const SLA_WORDS: Record<SampleView["sla"]["status"], string> = {
  none: "no clock yet",
  on_track: "on track",
  at_risk: "at risk",
  breached: "breached",
  paused: "paused"
}

const STATUS_WORDS: Record<SampleView["status"], string> = {
  submitted: "not yet received",
  in_progress: "in progress",
  on_hold: "on hold",
  failed: "failed",
  completed: "completed",
  cancelled: "cancelled",
  archived: "archived"
}

/** Where a sample is, in words: its current step and that step's state, or why it has none. */
const whereWords = (s: SampleView) =>
  s.currentStep !== null
    ? `${STEP_NAMES[s.currentStep]}${s.stepState !== null ? ` (${s.stepState})` : ""}`
    : s.status === "submitted"
    ? "awaiting receipt"
    : s.status === "completed" || s.status === "archived"
    ? "all steps done"
    : "—"

const View = ({ detail }: { readonly detail: SubmissionDetail }) => {
  const { submission: s, samples, progress } = detail
  const header = Option.getOrUndefined(readHeader(s.data))
  const service = header?.service
  const billing = [header?.billing?.chartField, header?.billing?.account].filter((v) => v !== undefined).join(" · ")
  return (
    <div>
      <p className="crumbs"><Link to="/submissions">Submissions</Link> / {s.number}</p>
      <h1>Submission {s.number}</h1>
      <div className="grid cols-2">
        <section className="panel" aria-labelledby="sub-details">
          <h2 id="sub-details">Details</h2>
          <dl className="fields">
            <dt>Submitter</dt><dd>{header?.submitterName !== undefined ? `${header.submitterName} <${s.submitterEmail}>` : s.submitterEmail}</dd>
            <dt>Created</dt><dd>{formatTime(s.createdAt)} by {s.createdBy.replace(/^user:/, "")}, from {s.source === "csv" ? "a CSV file" : s.source === "web" ? "the web form" : s.source}</dd>
            {header?.lab !== undefined && <><dt>Lab</dt><dd>{header.lab}</dd></>}
            {header?.pi !== undefined && <><dt>PI</dt><dd>{header.pi}</dd></>}
            {billing !== "" && <><dt>Billing</dt><dd>{billing}</dd></>}
            {header !== undefined && <><dt>Defaults</dt><dd>priority {header.priority}, flow cell {header.flowCellType}</dd></>}
            {service?.kit !== undefined && <><dt>Kit</dt><dd>{service.kit}</dd></>}
            {service?.device !== undefined && <><dt>Device</dt><dd>{service.device}</dd></>}
            {service?.basecalling !== undefined && <><dt>Basecalling</dt><dd>{service.basecalling}</dd></>}
            {service?.outputFormat !== undefined && <><dt>Output format</dt><dd>{service.outputFormat}</dd></>}
            {service?.deliveryMethod !== undefined && <><dt>Data delivery</dt><dd>{service.deliveryMethod}</dd></>}
            {service?.notificationEmails !== undefined && <><dt>Also notified</dt><dd>{service.notificationEmails.join(", ")}</dd></>}
          </dl>
        </section>
        <section className="panel" aria-labelledby="sub-progress">
          <h2 id="sub-progress">Progress</h2>
          <p className="stat">{progress.completed} <span className="stat-label">of {progress.sampleCount} samples done</span></p>
          <ProgressBar progress={progress} />
          <p>{progressWords(progress)}.</p>
          <p><strong>Estimated completion:</strong> {estimateWords(progress)}</p>
          <ProgressLegend />
        </section>
      </div>
      <section aria-labelledby="sub-samples">
        <h2 id="sub-samples">Samples ({samples.length})</h2>
        {samples.length === 0
          ? <Empty>No sample of this submission is visible to your account.</Empty>
          : (
            <div className="table-wrap">
              <table>
                <caption className="visually-hidden">Samples of submission {s.number}, in row order</caption>
                <thead>
                  <tr>
                    <th scope="col" className="num">#</th>
                    <th scope="col">Sample</th>
                    <th scope="col">Current step</th>
                    <th scope="col">Status</th>
                    <th scope="col">SLA</th>
                    <th scope="col">Estimated completion</th>
                    <th scope="col">Priority</th>
                  </tr>
                </thead>
                <tbody>
                  {samples.map((x) => (
                    <tr key={x.id}>
                      <td className="num">{x.position}</td>
                      <th scope="row"><Link to={`/samples/${x.id}`}>{x.sampleName}</Link></th>
                      <td>{whereWords(x)}</td>
                      <td><Badge kind={x.status}>{STATUS_WORDS[x.status]}</Badge></td>
                      <td>{x.sla.status === "none" ? <span className="hint">{SLA_WORDS.none}</span> : <Badge kind={x.sla.status}>{SLA_WORDS[x.sla.status]}</Badge>}</td>
                      <td>{x.estimatedCompletion !== null ? formatTime(x.estimatedCompletion) : x.status === "submitted" ? "after receipt" : "—"}</td>
                      <td><Badge kind={x.priority} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </section>
    </div>
  )
}
