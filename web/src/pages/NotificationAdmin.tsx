/**
 * Notification delivery for managers and admins: the webhook endpoints (register one — its `whsec_` secret is shown
 * once — or remove it), each endpoint's delivery history with every attempt (time, latency, HTTP status, verdict) and
 * the replay of a dead letter; and, for admins, the local mail outbox (what was "sent" while no SMTP server is set).
 */
import { Result, useAtomRefresh, useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Exit } from "effect"
import { useId, useState, type FormEvent } from "react"
import type { CreatedWebhook as CreatedWebhookSchema, DeliveryView, WebhookEndpointView } from "../../../rpc/NotificationsApi.ts"
import { EventType } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { eventWords } from "../components/SampleDeliveries.tsx"
import { Badge, Empty, ErrorBox, Field, formatTime, Show } from "../components/ui.tsx"
import { describe, fieldMessage, type Problem } from "../errors.ts"
import { usePolling } from "../poll.ts"
import { Link } from "../router.tsx"
import { roleOf, sessionAtom } from "../session.ts"

type CreatedWebhook = typeof CreatedWebhookSchema.Type

/** What an endpoint may subscribe to: every event but the notifications' own (they never notify anything). */
const EVENT_TYPES: ReadonlyArray<EventType> = EventType.literals.filter((t) => !t.startsWith("Notification"))
const webhooksAtom = Rpc.query("Webhooks.List", undefined, { reactivityKeys: ["webhooks"] })
const outboxAtom = Rpc.query("Mail.Outbox", undefined, { reactivityKeys: ["outbox"] })
const createAtom = Rpc.mutation("Webhooks.Create")
const deleteAtom = Rpc.mutation("Webhooks.Delete")
const replayAtom = Rpc.mutation("Webhooks.Replay")

const STATUS_KIND = { queued: "queued", sent: "ok", delivered: "completed", failed: "at_risk", dead: "failed" } as const

export default function NotificationAdminPage() {
  const session = useAtomValue(sessionAtom)
  const admin = Result.isSuccess(session) && roleOf(session.value.principal) === "admin"
  const [created, setCreated] = useState<CreatedWebhook | undefined>()
  const [open, setOpen] = useState<string | undefined>()
  const webhooks = useAtomValue(webhooksAtom)
  return (
    <div>
      <h1>Notification delivery</h1>
      <section className="panel" aria-labelledby="webhooks-title">
        <h2 id="webhooks-title">Webhook endpoints</h2>
        <p className="hint">Each delivery is a signed POST (Standard Webhooks: <code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>). A failing endpoint is retried for about 17 hours, then the delivery becomes a dead letter you can replay below.</p>
        {created ? <Secret created={created} onDone={() => setCreated(undefined)} /> : <NewWebhook onCreated={setCreated} />}
        <Show result={webhooks} rows={3}>
          {(list) => list.length === 0
            ? <Empty>No webhook endpoints.</Empty>
            : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Actions</th></tr>
                  </thead>
                  <tbody>
                    {list.map((w) => <EndpointRow key={w.id} endpoint={w} open={open === w.id} onToggle={() => setOpen(open === w.id ? undefined : w.id)} />)}
                  </tbody>
                </table>
              </div>
            )}
        </Show>
      </section>
      {open !== undefined && <History id={open} />}
      {admin ? <Outbox /> : <p className="hint">The local mail outbox is readable by admins.</p>}
    </div>
  )
}

const NewWebhook = ({ onCreated }: { readonly onCreated: (c: CreatedWebhook) => void }) => {
  const id = useId()
  const create = useAtomSet(createAtom, { mode: "promiseExit" })
  const [url, setUrl] = useState("")
  const [events, setEvents] = useState<ReadonlySet<EventType>>(new Set(["SampleReceived"]))
  const [problem, setProblem] = useState<Problem | undefined>()
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setProblem(undefined)
    const exit = await create({ payload: { url: url.trim(), events: [...events] }, reactivityKeys: ["webhooks"] })
    setBusy(false)
    if (Exit.isSuccess(exit)) {
      setUrl("")
      onCreated(exit.value)
    } else setProblem(describe(exit.cause))
  }
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Register an endpoint</h3>
      <Field label="URL" hint="https://… (http only inside the facility's network)" error={fieldMessage(problem, "url")}>
        {(p) => <input {...p} type="url" value={url} required maxLength={2000} style={{ width: "min(40rem, 100%)" }} onChange={(e) => setUrl(e.target.value)} placeholder="https://lims.example/hooks/poretrack" />}
      </Field>
      <fieldset style={{ border: "1px solid var(--line)", borderRadius: 6, margin: ".5rem 0", padding: ".25rem .75rem .5rem" }}>
        <legend>Events</legend>
        <div style={{ display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(14rem, 1fr))", gap: "0 1rem" }}>
          {EVENT_TYPES.map((t) => (
            <label key={t} style={{ fontWeight: 400, display: "flex", gap: ".4rem", alignItems: "center", margin: ".15rem 0" }}>
              <input type="checkbox" checked={events.has(t)} onChange={(e) => {
                const next = new Set(events)
                if (e.target.checked) next.add(t)
                else next.delete(t)
                setEvents(next)
              }} />
              {eventWords(t)}
            </label>
          ))}
        </div>
      </fieldset>
      {problem && <ErrorBox problem={problem} />}
      <div className="actions">
        <button type="submit" disabled={busy || events.size === 0 || url.trim() === ""}>{busy ? "Registering…" : "Register the endpoint"}</button>
      </div>
    </form>
  )
}

/** The endpoint's signing secret, once. */
const Secret = ({ created, onDone }: { readonly created: CreatedWebhook; readonly onDone: () => void }) => (
  <div className="alert ok" role="status">
    <p><strong>Endpoint registered: {created.endpoint.url}.</strong> Its signing secret is shown once: copy it into the receiving program now.</p>
    <div className="secret" data-testid="webhook-secret">{created.secret}</div>
    <div className="actions"><button type="button" className="secondary" onClick={onDone}>I have copied it</button></div>
  </div>
)

const EndpointRow = ({ endpoint, open, onToggle }: { readonly endpoint: WebhookEndpointView; readonly open: boolean; readonly onToggle: () => void }) => {
  const remove = useAtomSet(deleteAtom, { mode: "promiseExit" })
  const [confirming, setConfirming] = useState(false)
  const [problem, setProblem] = useState<Problem | undefined>()
  return (
    <tr>
      <td><code>{endpoint.url}</code>{problem && <ErrorBox problem={problem} />}</td>
      <td>{endpoint.events.map(eventWords).join(", ")}</td>
      <td>{endpoint.enabled ? <Badge kind="ok">enabled</Badge> : <><Badge kind="failed">disabled</Badge><div className="hint">{endpoint.disabledReason}</div></>}</td>
      <td>{formatTime(endpoint.createdAt)}<div className="hint">{endpoint.createdBy}</div></td>
      <td>
        <div className="actions" style={{ margin: 0 }}>
          <button type="button" className="secondary" aria-expanded={open} onClick={onToggle}>{open ? "Hide deliveries" : "Deliveries"}</button>
          {confirming
            ? (
              <>
                <button type="button" className="danger" onClick={async () => {
                  const exit = await remove({ payload: { id: endpoint.id }, reactivityKeys: ["webhooks"] })
                  setConfirming(false)
                  setProblem(Exit.isSuccess(exit) ? undefined : describe(exit.cause))
                }}>Remove it</button>
                <button type="button" className="secondary" onClick={() => setConfirming(false)}>Keep</button>
              </>
            )
            : <button type="button" className="secondary" onClick={() => setConfirming(true)}>Remove…</button>}
        </div>
      </td>
    </tr>
  )
}

/** One endpoint's deliveries (newest first) with every attempt; a dead letter can be replayed. */
const History = ({ id }: { readonly id: string }) => {
  const atom = Rpc.query("Webhooks.Deliveries", { id }, { reactivityKeys: ["webhooks", `webhook:${id}`] })
  const result = useAtomValue(atom)
  const refresh = useAtomRefresh(atom)
  usePolling(refresh, 3000)
  return (
    <section className="panel" aria-labelledby="history-title">
      <h2 id="history-title">Deliveries of this endpoint</h2>
      <Show result={result} rows={4}>
        {({ attempts, deliveries }) => deliveries.length === 0
          ? <Empty>Nothing was sent to this endpoint yet.</Empty>
          : (
            <div className="table-wrap">
              <table data-testid="webhook-deliveries">
                <thead>
                  <tr><th scope="col">Event</th><th scope="col">Sample</th><th scope="col">State</th><th scope="col">Attempts (time · latency · HTTP status)</th><th scope="col">Actions</th></tr>
                </thead>
                <tbody>
                  {deliveries.map((d) => (
                    <DeliveryRow key={d.id} delivery={d} attempts={attempts.filter((a) => a.deliveryId === d.id).sort((a, b) => a.attempt - b.attempt)} webhookId={id} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </Show>
    </section>
  )
}

const DeliveryRow = ({ attempts, delivery, webhookId }: {
  readonly delivery: DeliveryView
  readonly attempts: ReadonlyArray<{ readonly attempt: number; readonly at: string; readonly latencyMs: number; readonly httpStatus: number | null; readonly outcome: string; readonly error: string | null }>
  readonly webhookId: string
}) => {
  const replay = useAtomSet(replayAtom, { mode: "promiseExit" })
  const [problem, setProblem] = useState<Problem | undefined>()
  return (
    <tr data-status={delivery.status}>
      <td>{eventWords(delivery.eventType)}<div className="hint">{formatTime(delivery.createdAt)}</div></td>
      <td>{delivery.sampleId !== null ? <Link to={`/samples/${delivery.sampleId}`}>{delivery.sampleId.slice(0, 8)}…</Link> : "—"}</td>
      <td><Badge kind={STATUS_KIND[delivery.status]}>{delivery.status}</Badge>{delivery.reason !== null && <div className="hint">{delivery.reason}</div>}</td>
      <td>
        {attempts.length === 0 ? "—" : (
          <ol style={{ margin: 0, paddingLeft: "1.2rem" }}>
            {attempts.map((a) => (
              <li key={a.attempt}>{formatTime(a.at)} · {a.latencyMs} ms · {a.httpStatus !== null ? `HTTP ${a.httpStatus}` : `no response${a.error !== null ? ` (${a.error})` : ""}`}</li>
            ))}
          </ol>
        )}
      </td>
      <td>
        {delivery.status === "dead" && (
          <button type="button" onClick={async () => {
            const exit = await replay({ payload: { deliveryId: delivery.id }, reactivityKeys: [`webhook:${webhookId}`] })
            setProblem(Exit.isSuccess(exit) ? undefined : describe(exit.cause))
          }}>Replay</button>
        )}
        {problem && <ErrorBox problem={problem} />}
      </td>
    </tr>
  )
}

const Outbox = () => {
  const result = useAtomValue(outboxAtom)
  const refresh = useAtomRefresh(outboxAtom)
  usePolling(refresh, 5000)
  return (
    <section className="panel" aria-labelledby="outbox-title">
      <h2 id="outbox-title">Mail outbox</h2>
      <p className="hint">While no SMTP server is configured (<code>SMTP_URL</code>), e-mail is written here instead of being sent.</p>
      <Show result={result} rows={4}>
        {(mails) => mails.length === 0
          ? <Empty>The outbox is empty.</Empty>
          : (
            <div className="table-wrap">
              <table data-testid="mail-outbox">
                <thead><tr><th scope="col">Date</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Size</th></tr></thead>
                <tbody>
                  {mails.map((m) => (
                    <tr key={m.id}><td>{formatTime(m.date)}</td><td>{m.to}</td><td>{m.subject}</td><td>{(m.sizeBytes / 1024).toFixed(1)} KiB</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </Show>
    </section>
  )
}
