/**
 * The user's in-app notifications, newest first: unread ones stand out and are marked read one by one or all at once;
 * the list re-reads every few seconds (a notification is made after the event that triggers it, so the live feed's
 * event would come too early) and at once after a mark-read.
 */
import { Result, useAtomRefresh, useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Exit } from "effect"
import { useState } from "react"
import type { InAppNotificationView } from "../../../rpc/NotificationsApi.ts"
import { Rpc } from "../client.ts"
import { Badge, Empty, ErrorBox, formatTime, Show } from "../components/ui.tsx"
import { describe, type Problem } from "../errors.ts"
import { usePolling } from "../poll.ts"
import { Link } from "../router.tsx"

/** The key that re-reads notifications (a mark-read invalidates it). */
export const NOTIFICATION_KEYS = ["notifications"]

const listAtom = (unreadOnly: boolean) => Rpc.query("Notifications.List", { unreadOnly }, { reactivityKeys: NOTIFICATION_KEYS })
const markReadAtom = Rpc.mutation("Notifications.MarkRead")

/** How often the list and the bell re-read. */
export const NOTIFICATION_POLL_MS = 3000

export default function NotificationsPage() {
  const [unreadOnly, setUnreadOnly] = useState(false)
  const atom = listAtom(unreadOnly)
  const page = useAtomValue(atom)
  const refresh = useAtomRefresh(atom)
  usePolling(refresh, NOTIFICATION_POLL_MS)
  const markRead = useAtomSet(markReadAtom, { mode: "promiseExit" })
  const [problem, setProblem] = useState<Problem | undefined>()
  const [busy, setBusy] = useState(false)
  const mark = async (items: ReadonlyArray<InAppNotificationView>) => {
    setBusy(true)
    setProblem(undefined)
    for (const n of items) {
      const exit = await markRead({ payload: { id: n.id }, reactivityKeys: ["notifications"] })
      if (Exit.isFailure(exit)) {
        setProblem(describe(exit.cause))
        break
      }
    }
    setBusy(false)
  }
  const unread = Result.isSuccess(page) ? page.value.items.filter((n) => n.readAt === null) : []
  return (
    <div>
      <h1>Notifications</h1>
      <div className="actions" style={{ alignItems: "center" }}>
        <label style={{ fontWeight: 400, display: "flex", gap: ".4rem", alignItems: "center", margin: 0 }}>
          <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} /> Unread only
        </label>
        <button type="button" className="secondary" disabled={busy || unread.length === 0} onClick={() => void mark(unread)}>
          Mark all as read{unread.length > 0 ? ` (${unread.length})` : ""}
        </button>
      </div>
      {problem && <ErrorBox problem={problem} />}
      <section className="panel" aria-labelledby="notifications-title">
        <h2 id="notifications-title">
          <Show result={page} rows={1}>{(p) => <span role="status" aria-live="polite">{p.unread === 0 ? "Nothing unread" : `${p.unread} unread`}</span>}</Show>
        </h2>
        <Show result={page} rows={5}>
          {(p) => p.items.length === 0
            ? <Empty>{unreadOnly ? "No unread notifications." : "No notifications yet. You are told here when one of your samples is received, held, fails QC, completes, when its data is delivered, and when an export is ready."}</Empty>
            : (
              <ul className="notification-list" style={{ listStyle: "none", margin: 0, padding: 0 }}>
                {p.items.map((n) => <Item key={n.id} n={n} busy={busy} onRead={() => void mark([n])} />)}
              </ul>
            )}
        </Show>
      </section>
    </div>
  )
}

const Item = ({ n, busy, onRead }: { readonly n: InAppNotificationView; readonly busy: boolean; readonly onRead: () => void }) => (
  <li data-unread={n.readAt === null} style={{
    borderBottom: "1px solid var(--line)",
    padding: ".6rem .5rem",
    background: n.readAt === null ? "var(--info-bg)" : undefined,
    borderLeft: n.readAt === null ? "4px solid var(--accent)" : "4px solid transparent"
  }}>
    <div style={{ display: "flex", gap: ".75rem", alignItems: "baseline", flexWrap: "wrap" }}>
      <strong>{n.title}</strong>
      <Badge kind="info">{n.eventType.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()}</Badge>
      <span className="hint">{formatTime(n.createdAt)}</span>
      {n.readAt === null
        ? <button type="button" className="secondary" style={{ marginLeft: "auto" }} disabled={busy} onClick={onRead}>Mark as read</button>
        : <span className="hint" style={{ marginLeft: "auto" }}>read {formatTime(n.readAt)}</span>}
    </div>
    <div style={{ whiteSpace: "pre-wrap", margin: ".25rem 0" }}>{n.body}</div>
    {n.sampleId !== null && <Link to={`/samples/${n.sampleId}`}>Open the sample</Link>}
    {n.eventType === "ExportCompleted" && <Link to="/exports">Go to your exports to download it</Link>}
  </li>
)
