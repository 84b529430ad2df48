/** A small router over the History API: pages are real URLs (the server answers each with the app), links are `<Link>`. */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react"

const listeners = new Set<() => void>()
const notify = () => listeners.forEach((l) => l())
globalThis.addEventListener?.("popstate", notify)

/** Goes to `to` (a path with an optional query), adding to the history unless `replace`. */
export const navigate = (to: string, options: { readonly replace?: boolean } = {}) => {
  if (options.replace) history.replaceState(null, "", to)
  else history.pushState(null, "", to)
  window.scrollTo(0, 0)
  notify()
}

const subscribe = (listener: () => void) => {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
const snapshot = () => location.pathname + location.search

/** The current path and query, re-rendering on navigation. */
export const useLocation = () => {
  const href = useSyncExternalStore(subscribe, snapshot)
  const url = new URL(href, location.origin)
  return { path: url.pathname, query: url.searchParams }
}

/** Matches `path` against a pattern with `:name` segments; the named segments, or undefined. */
export const match = (pattern: string, path: string): Record<string, string> | undefined => {
  const a = pattern.split("/")
  const b = path.replace(/\/+$/, "").split("/")
  if (pattern === "/" && (path === "/" || path === "")) return {}
  if (a.length !== b.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!
    const v = b[i]!
    if (p.startsWith(":")) params[p.slice(1)] = decodeURIComponent(v)
    else if (p !== v) return undefined
  }
  return params
}

/** Replaces some query parameters of the current page (an empty value removes it), without a new history entry. */
export const setQuery = (changes: Record<string, string | undefined>) => {
  const url = new URL(location.href)
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === "") url.searchParams.delete(k)
    else url.searchParams.set(k, v)
  }
  navigate(url.pathname + url.search, { replace: true })
}

/** An in-app link: a plain `<a href>` (open in a new tab works) that navigates without a reload. */
export const Link = ({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { readonly to: string }) => (
  <a
    {...rest}
    href={to}
    onClick={(event: MouseEvent<HTMLAnchorElement>) => {
      onClick?.(event)
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
      event.preventDefault()
      navigate(to)
    }}
  />
)
