/**
 * The header's bell: how many of the user's notifications are unread, re-read every few seconds (a notification is
 * made after the event that causes it, so the live feed's event would come too early; and a busy lab's feed would
 * re-read it many times a second) and at once after a mark-read; it links to the notifications page. A count of zero
 * shows the bell without a number.
 */
import { Result, useAtomRefresh, useAtomValue } from "@effect-atom/atom-react"
import { Rpc } from "../client.ts"
import { usePolling } from "../poll.ts"
import { Link } from "../router.tsx"

const unreadAtom = Rpc.query("Notifications.UnreadCount", undefined, { reactivityKeys: ["notifications"] })

export const NotificationBell = () => {
  const result = useAtomValue(unreadAtom)
  const refresh = useAtomRefresh(unreadAtom)
  usePolling(refresh, 3000)
  const unread = Result.isSuccess(result) ? result.value.unread : 0
  const label = unread === 0 ? "Notifications: none unread" : `Notifications: ${unread} unread`
  return (
    <Link to="/notifications" className="bell" aria-label={label} title={label} data-unread={unread}
      style={{ color: "#fff", textDecoration: "none", position: "relative", display: "inline-flex", alignItems: "center", gap: ".25rem" }}>
      <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
        <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
        <path d="M13.73 21a2 2 0 0 1-3.46 0" />
      </svg>
      {unread > 0 && (
        <span data-testid="unread-count" style={{
          background: "#c0392b",
          color: "#fff",
          borderRadius: 999,
          fontSize: ".72rem",
          fontWeight: 700,
          minWidth: "1.2rem",
          padding: "0 .35rem",
          textAlign: "center"
        }}>{unread > 99 ? "99+" : unread}</span>
      )}
    </Link>
  )
}
