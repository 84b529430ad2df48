/** Small building blocks every page uses: result states, error boxes, labelled fields, badges, the reason dialog. */
import { Result } from "@effect-atom/atom-react"
import { Option } from "effect"
import { useEffect, useId, useRef, useState, type ReactNode } from "react"
import { describe, type Problem } from "../errors.ts"

/**
 * Renders a query's result: a skeleton while the first answer is on its way, the error in words, or the value. A
 * re-read that fails after an answer was shown keeps that answer on screen under the error (the next change re-reads
 * again), so a passing failure does not take a page's actions away from the person using it.
 */
export const Show = <A, E>({ result, children, rows = 3 }: {
  readonly result: Result.Result<A, E>
  readonly children: (value: A, waiting: boolean) => ReactNode
  readonly rows?: number
}) =>
  Result.match(result, {
    onInitial: () => <Loading rows={rows} />,
    onFailure: (f) =>
      Option.match(f.previousSuccess, {
        onNone: () => <ErrorBox problem={describe(f.cause)} />,
        onSome: (previous) => (
          <>
            <ErrorBox problem={{ ...describe(f.cause), title: `Could not refresh: ${describe(f.cause).title}` }} />
            {children(previous.value, false)}
          </>
        )
      }),
    onSuccess: (s) => <>{children(s.value, s.waiting)}</>
  })

export const Loading = ({ rows = 3 }: { readonly rows?: number }) => (
  <div className="loading" role="status" aria-live="polite" aria-label="Loading">
    {Array.from({ length: rows }, (_, i) => <div key={i} className="skeleton" style={{ width: `${90 - i * 12}%` }} />)}
  </div>
)

export const ErrorBox = ({ problem }: { readonly problem: Problem }) => (
  <div className="alert error" role="alert">
    <strong>{problem.title}</strong>
    {problem.fields.length > 0 && (
      <ul>{problem.fields.map((f, i) => <li key={i}><code>{f.path}</code>: {f.message}</li>)}</ul>
    )}
  </div>
)

export const Empty = ({ children }: { readonly children: ReactNode }) => <p className="empty">{children}</p>

/** A label, its control and the server's message for it; the control gets the id and the invalid state. */
export const Field = ({ label, error, hint, children }: {
  readonly label: string
  readonly error?: string | undefined
  readonly hint?: string | undefined
  readonly children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode
}) => {
  const id = useId()
  const described = error !== undefined ? `${id}-error` : hint !== undefined ? `${id}-hint` : undefined
  return (
    <div>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error !== undefined, ...(described ? { "aria-describedby": described } : {}) })}
      {hint !== undefined && error === undefined && <div id={`${id}-hint`} className="hint">{hint}</div>}
      {error !== undefined && <div id={`${id}-error`} className="field-error">{error}</div>}
    </div>
  )
}

export const Badge = ({ kind, children }: { readonly kind: string; readonly children?: ReactNode }) => (
  <span className={`badge ${kind}`}>{children ?? kind.replace(/_/g, " ")}</span>
)

/** Asks for a reason (hold, fail, rework, cancel, skip) before the command is sent. */
export const ReasonDialog = ({ title, confirm, onConfirm, onClose, extra }: {
  readonly title: string
  readonly confirm: string
  readonly onConfirm: (reason: string) => void
  readonly onClose: () => void
  readonly extra?: ReactNode
}) => {
  const [reason, setReason] = useState("")
  const ref = useRef<HTMLTextAreaElement>(null)
  useEffect(() => ref.current?.focus(), [])
  const id = useId()
  return (
    <div className="dialog" role="dialog" aria-modal="true" aria-labelledby={`${id}-title`} onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <div>
        <h2 id={`${id}-title`}>{title}</h2>
        <form onSubmit={(e) => {
          e.preventDefault()
          if (reason.trim() !== "") onConfirm(reason.trim())
        }}>
          {extra}
          <label htmlFor={`${id}-reason`}>Reason (recorded in the audit trail)</label>
          <textarea id={`${id}-reason`} ref={ref} rows={3} style={{ width: "100%" }} value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={2000} />
          <div className="actions">
            <button type="submit" disabled={reason.trim() === ""}>{confirm}</button>
            <button type="button" className="secondary" onClick={onClose}>Back</button>
          </div>
        </form>
      </div>
    </div>
  )
}

const pad = (n: number) => String(n).padStart(2, "0")

/** "3 h 05 min", "2 d 4 h", "45 s". */
export const formatDuration = (ms: number): string => {
  const s = Math.round(Math.abs(ms) / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ${pad(m % 60)} min`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}

/** A local date and time, short. */
export const formatTime = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—"

/** The current time, re-rendered every second while mounted (display of clocks only; no request is made). */
export const useNow = (everyMs = 1000) => {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(t)
  }, [everyMs])
  return now
}

/** An SLA clock counting down to `dueAt` ("due in 3 h 05 min", "overdue by 20 min"). */
export const Countdown = ({ dueAt, label }: { readonly dueAt: string | null; readonly label: string }) => {
  const now = useNow()
  if (dueAt === null) return <span className="clock">{label}: none</span>
  const left = Date.parse(dueAt) - now
  return (
    <span className="clock" title={formatTime(dueAt)}>
      {label}: {left >= 0 ? `due in ${formatDuration(left)}` : <strong style={{ color: "var(--bad)" }}>overdue by {formatDuration(left)}</strong>}
    </span>
  )
}

/** A fresh idempotency key for one user action (a retried click sends the same one). */
export const newKey = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
