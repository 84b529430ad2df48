/**
 * The app shell: sign-in when there is no session; otherwise the layout of the user's role (navigation, the search box
 * a barcode scanner types into, the live-feed state) around the page the address names.
 */
import { Result, useAtomMount, useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { lazy, Suspense, useEffect, useRef, useState, type FormEvent, type ReactNode } from "react"
import type { Role } from "../../rpc/Auth.ts"
import { SampleId } from "../../rpc/Ids.ts"
import { STEP_IDS, STEP_NAMES } from "../../rpc/Workflow.ts"
import { rememberCsrfToken } from "./client.ts"
import { Loading } from "./components/ui.tsx"
import { NotificationBell } from "./components/NotificationBell.tsx"
import { EXPORT_NOTIFICATION_NAV, EXPORT_NOTIFICATION_PAGES } from "./pages/ExportNotificationRoutes.tsx"
import { EXTRACTION_NAV_ITEMS, EXTRACTION_PAGES } from "./pages/ExtractionRoutes.tsx"
import { liveFeedAtom, liveStatusAtom } from "./live.ts"
import { Link, match, navigate, useLocation } from "./router.tsx"
import { roleOf, sessionAtom, signOutAtom } from "./session.ts"
import { SignInPage } from "./pages/SignIn.tsx"
import { Schema } from "effect"

const pages = {
  dashboard: () => import("./pages/Dashboard.tsx"),
  board: () => import("./pages/Board.tsx"),
  queue: () => import("./pages/Queue.tsx"),
  sample: () => import("./pages/Sample.tsx"),
  samples: () => import("./pages/Samples.tsx"),
  submissions: () => import("./pages/Submissions.tsx"),
  newSubmission: () => import("./pages/NewSubmission.tsx"),
  submission: () => import("./pages/Submission.tsx"),
  users: () => import("./pages/Users.tsx"),
  keys: () => import("./pages/Keys.tsx"),
  settings: () => import("./pages/Settings.tsx")
}
const DashboardPage = lazy(pages.dashboard)
const BoardPage = lazy(pages.board)
const QueuePage = lazy(pages.queue)
const SamplePage = lazy(pages.sample)
const SamplesPage = lazy(pages.samples)
const SubmissionsPage = lazy(pages.submissions)
const NewSubmissionPage = lazy(pages.newSubmission)
const SubmissionPage = lazy(pages.submission)
const UsersPage = lazy(pages.users)
const KeysPage = lazy(pages.keys)
const SettingsPage = lazy(pages.settings)

interface Page {
  readonly path: string
  readonly roles: ReadonlyArray<Role>
  readonly render: (params: Record<string, string>) => ReactNode
}

const STAFF: ReadonlyArray<Role> = ["technician", "manager", "admin"]
const EVERYONE: ReadonlyArray<Role> = ["submitter", ...STAFF]

const PAGES: ReadonlyArray<Page> = [
  { path: "/dashboard", roles: STAFF, render: () => <DashboardPage /> },
  { path: "/board", roles: STAFF, render: () => <BoardPage /> },
  { path: "/queues/:step", roles: STAFF, render: (p) => <QueuePage step={p.step!} /> },
  { path: "/samples", roles: EVERYONE, render: () => <SamplesPage /> },
  { path: "/samples/:id", roles: EVERYONE, render: (p) => <SamplePage id={p.id!} /> },
  { path: "/submissions", roles: EVERYONE, render: () => <SubmissionsPage /> },
  { path: "/submissions/new", roles: EVERYONE, render: () => <NewSubmissionPage /> },
  { path: "/submissions/:id", roles: EVERYONE, render: (p) => <SubmissionPage id={p.id!} /> },
  { path: "/admin/users", roles: ["admin"], render: () => <UsersPage /> },
  { path: "/admin/keys", roles: ["admin"], render: () => <KeysPage /> },
  { path: "/admin/settings", roles: STAFF, render: () => <SettingsPage /> },
  ...EXPORT_NOTIFICATION_PAGES,
  ...EXTRACTION_PAGES
]

// The page the address names starts loading now, beside the session check, not after it.
const PRELOAD: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
  ["/dashboard", pages.dashboard], ["/board", pages.board], ["/queues/:step", pages.queue], ["/samples", pages.samples],
  ["/samples/:id", pages.sample], ["/submissions", pages.submissions], ["/submissions/new", pages.newSubmission],
  ["/submissions/:id", pages.submission], ["/admin/users", pages.users], ["/admin/keys", pages.keys], ["/admin/settings", pages.settings]
]
if (typeof location !== "undefined") void PRELOAD.find(([pattern]) => match(pattern, location.pathname) !== undefined)?.[1]()

/** Where `/` leads: staff to the dashboard, submitters to their submissions. */
const homeOf = (role: Role) => (role === "submitter" ? "/submissions" : "/dashboard")

export const App = () => {
  const session = useAtomValue(sessionAtom)
  const { path } = useLocation()
  // While the session is (re-)read, e.g. right after signing in, nothing is decided yet.
  if (Result.isInitial(session) || (!Result.isSuccess(session) && Result.isWaiting(session))) return <Loading />
  if (!Result.isSuccess(session)) {
    if (path !== "/signin") {
      const next = path === "/" ? "" : `?next=${encodeURIComponent(location.pathname + location.search)}`
      queueMicrotask(() => navigate(`/signin${next}`, { replace: true }))
      return <Loading />
    }
    return <SignInPage />
  }
  rememberCsrfToken(session.value.csrfToken)
  const principal = session.value.principal
  const role = roleOf(principal)
  if (path === "/" || path === "/signin") {
    const next = path === "/signin" ? new URLSearchParams(location.search).get("next") : null
    const safe = next !== null && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/signin")
    queueMicrotask(() => navigate(safe ? next : homeOf(role), { replace: true }))
    return <Loading />
  }
  return <Shell role={role} name={principal._tag === "User" ? principal.name : principal.name} path={path} />
}

const NAV: ReadonlyArray<{ readonly group: string; readonly items: ReadonlyArray<{ to: string; label: string; roles: ReadonlyArray<Role> }> }> = [
  {
    group: "Lab",
    items: [
      { to: "/dashboard", label: "Dashboard", roles: STAFF },
      { to: "/board", label: "Board", roles: STAFF },
      ...STEP_IDS.map((s) => ({ to: `/queues/${s}`, label: STEP_NAMES[s], roles: STAFF }))
    ]
  },
  {
    group: "Samples",
    items: [
      { to: "/samples", label: "All samples", roles: STAFF },
      { to: "/samples", label: "My samples", roles: ["submitter"] },
      { to: "/submissions", label: "Submissions", roles: STAFF },
      { to: "/submissions", label: "My submissions", roles: ["submitter"] },
      { to: "/submissions/new", label: "New submission", roles: EVERYONE },
      ...EXTRACTION_NAV_ITEMS
    ]
  },
  EXPORT_NOTIFICATION_NAV,
  {
    group: "Admin",
    items: [
      { to: "/admin/users", label: "Users", roles: ["admin"] },
      { to: "/admin/keys", label: "API keys", roles: ["admin"] },
      { to: "/admin/settings", label: "SLA and QC settings", roles: STAFF }
    ]
  }
]

const LIVE_WORDS = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…" } as const

const Shell = ({ role, name, path }: { readonly role: Role; readonly name: string; readonly path: string }) => {
  useAtomMount(liveFeedAtom)
  const live = useAtomValue(liveStatusAtom)
  const signOut = useAtomSet(signOutAtom, { mode: "promiseExit" })
  const page = PAGES.map((p) => ({ p, params: match(p.path, path) })).find((m) => m.params !== undefined)
  const mainRef = useRef<HTMLElement>(null)
  useEffect(() => {
    document.title = `${titleOf(path)} · poretrack`
  }, [path])
  return (
    <div className="shell">
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <Link to={homeOf(role)} className="brand">poretrack</Link>
        <ScanSearch />
        <div className="who">
          <NotificationBell />
          <span className="live" data-status={live} role="status" aria-label={`Live updates: ${LIVE_WORDS[live]}`}>● {LIVE_WORDS[live]}</span>
          <span>{name} <span className="hint" style={{ color: "#cfe0f5" }}>({role})</span></span>
          <button type="button" onClick={async () => {
            await signOut({})
            location.assign("/signin")
          }}>Sign out</button>
        </div>
      </header>
      <nav className="side" aria-label="Main">
        {NAV.map((g) => {
          const items = g.items.filter((i) => i.roles.includes(role))
          if (items.length === 0) return null
          return (
            <div key={g.group}>
              <div className="group">{g.group}</div>
              {items.map((i) => (
                <Link key={i.label} to={i.to} aria-current={path === i.to ? "page" : undefined}>{i.label}</Link>
              ))}
            </div>
          )
        })}
      </nav>
      <main id="main" ref={mainRef} tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          {page === undefined
            ? <NotFound />
            : page.p.roles.includes(role)
            ? page.p.render(page.params!)
            : <p className="alert warn" role="alert">This page is for {page.p.roles.join(", ")} accounts.</p>}
        </Suspense>
      </main>
    </div>
  )
}

const titleOf = (path: string) => {
  if (path.startsWith("/queues/")) return STEP_NAMES[path.slice(8) as keyof typeof STEP_NAMES] ?? "Queue"
  if (path.startsWith("/samples/")) return "Sample"
  if (path.startsWith("/submissions/new")) return "New submission"
  if (path.startsWith("/submissions/")) return "Submission"
  if (path.startsWith("/extractions/")) return path === "/extractions/new" ? "Read a PDF form" : "Review a PDF form"
  return ({ "/dashboard": "Dashboard", "/board": "Board", "/samples": "Samples", "/submissions": "Submissions", "/admin/users": "Users", "/admin/keys": "API keys", "/admin/settings": "Settings" } as Record<string, string>)[path] ?? "poretrack"
}

const NotFound = () => (
  <div>
    <h1>Page not found</h1>
    <p>There is no page at this address. <Link to="/">Go to the start page</Link>.</p>
  </div>
)

const isSampleId = Schema.is(SampleId)

/**
 * The search box: a sample id (what a barcode scanner types, then Enter) opens the sample; anything else searches
 * samples by name. `/` focuses it from anywhere.
 */
const ScanSearch = () => {
  const [text, setText] = useState("")
  const ref = useRef<HTMLInputElement>(null)
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null
      if (e.key === "/" && !(target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
        e.preventDefault()
        ref.current?.focus()
      }
    }
    window.addEventListener("keydown", onKey)
    return () => window.removeEventListener("keydown", onKey)
  }, [])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const value = text.trim()
    if (value === "") return
    setText("")
    if (isSampleId(value)) navigate(`/samples/${value}`)
    else navigate(`/samples?q=${encodeURIComponent(value)}&open=1`)
  }
  return (
    <form role="search" onSubmit={submit}>
      <input ref={ref} type="search" aria-label="Find a sample: scan its barcode or type its id or name" placeholder="Scan or type a sample id or name  ( / )"
        value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" />
    </form>
  )
}
