/**
 * The sample page's "Notifications" section: every notification sent about the sample, one row per recipient and
 * channel, with its state (queued, sent, delivered, failed with the reason, dead) and attempts. A submitter sees only
 * what was addressed to them (the server filters). Re-read on the sample's live events and every few seconds while a
 * delivery is still on its way.
 */
import { Result, useAtomRefresh, useAtomValue } from "@effect-atom/atom-react"
import type { SampleId } from "../../../rpc/Ids.ts"
import type { DeliveryView } from "../../../rpc/NotificationsApi.ts"
import { Rpc } from "../client.ts"
import { usePolling } from "../poll.ts"
import { Badge, Empty, formatTime, Show } from "./ui.tsx"

const CHANNEL_WORDS = { email: "e-mail", in_app: "in the app", webhook: "webhook" } as const
const STATUS_KIND = { queued: "queued", sent: "ok", delivered: "completed", failed: "at_risk", dead: "failed" } as const

const settled = (d: DeliveryView) => d.status === "sent" || d.status === "delivered" || d.status === "dead"

/** Event types as words: `SampleReceived` → "sample received". */
export const eventWords = (type: string) => type.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()

export const SampleDeliveries = ({ id }: { readonly id: SampleId }) => {
  const atom = Rpc.query("Deliveries.ForSample", { sampleId: id }, { reactivityKeys: ["sample", `sample:${id}`, "notifications"] })
  const result = useAtomValue(atom)
  const refresh = useAtomRefresh(atom)
  usePolling(refresh, 2000, Result.isSuccess(result) && result.value.some((d) => !settled(d)))
  return (
    <section className="panel" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Notifications</h2>
      <Show result={result}>
        {(deliveries) => deliveries.length === 0
          ? <Empty>No notification has been sent about this sample yet.</Empty>
          : (
            <div className="table-wrap">
              <table data-testid="sample-deliveries">
                <thead>
                  <tr><th scope="col">Event</th><th scope="col">Recipient</th><th scope="col">Channel</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Updated</th></tr>
                </thead>
                <tbody>
                  {deliveries.map((d) => (
                    <tr key={d.id} data-status={d.status}>
                      <td>{eventWords(d.eventType)}</td>
                      <td>{d.recipient}</td>
                      <td>{CHANNEL_WORDS[d.channel]}</td>
                      <td>
                        <Badge kind={STATUS_KIND[d.status]}>{d.status}</Badge>
                        {d.reason !== null && <div className="hint">{d.reason}</div>}
                        {d.status === "failed" && d.nextAttemptAt !== null && <div className="hint">next attempt {formatTime(d.nextAttemptAt)}</div>}
                      </td>
                      <td>{d.attempts}</td>
                      <td>{formatTime(d.updatedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </Show>
    </section>
  )
}
