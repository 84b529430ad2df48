/**
 * Re-reading a query on a clock, for what the live feed does not push (export progress, new notifications): only while
 * `enabled` and while the tab is visible, so a finished job or a hidden tab costs no requests.
 */
import { useEffect } from "react"

/** Calls `refresh` every `everyMs` while `enabled` and the document is visible. */
export const usePolling = (refresh: () => void, everyMs: number, enabled = true) => {
  useEffect(() => {
    if (!enabled) return
    const t = setInterval(() => {
      if (document.visibilityState !== "hidden") refresh()
    }, everyMs)
    return () => clearInterval(t)
  }, [refresh, everyMs, enabled])
}
