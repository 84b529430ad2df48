/**
 * API keys (admins): every key (never a secret), a form for a new one (name and scopes), its secret shown once right
 * after creation (kept only in this page's memory: leaving the page loses it), and revocation after a confirmation.
 */
import { useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Exit } from "effect"
import { useEffect, useId, useRef, useState, type FormEvent } from "react"
import { SCOPES, type ApiKeyView, type ApiScope, type CreatedApiKey } from "../../../rpc/Auth.ts"
import { Api } from "../client.ts"
import { Empty, ErrorBox, Field, formatTime, Show } from "../components/ui.tsx"
import { describe, fieldMessage, type Problem } from "../errors.ts"

const keysAtom = Api.query("admin", "listKeys", { reactivityKeys: ["keys"] })
const createKeyAtom = Api.mutation("admin", "createKey")
const revokeKeyAtom = Api.mutation("admin", "revokeKey")

const SCOPE_WORDS: Record<ApiScope, string> = {
  "samples:read": "read samples, queues and submissions",
  "samples:write": "send sample commands (receive, steps, hold, priority, cancel)",
  "submissions:write": "create submissions and samples",
  "events:read": "read the event log as a consumer",
  "exports:read": "read exports",
  "exports:write": "request exports",
  admin: "everything, including users, keys and settings"
}

export default function KeysPage() {
  const keys = useAtomValue(keysAtom)
  const [created, setCreated] = useState<CreatedApiKey | undefined>()
  return (
    <div>
      <h1>API keys</h1>
      <p className="hint">Programs (a LIMS, an instrument, a script) call the API with a key: <code>Authorization: Bearer &lt;secret&gt;</code>.</p>
      {created ? <Secret created={created} onDone={() => setCreated(undefined)} /> : <NewKeyForm onCreated={setCreated} />}
      <section className="panel" aria-labelledby="keys-title">
        <h2 id="keys-title">Keys</h2>
        <Show result={keys} rows={4}>
          {(list) => list.length === 0
            ? <Empty>No API keys yet.</Empty>
            : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th></tr>
                  </thead>
                  <tbody>{list.map((k) => <KeyRow key={k.id} apiKey={k} />)}</tbody>
                </table>
              </div>
            )}
        </Show>
      </section>
    </div>
  )
}

/** The new key's secret, once: copy it now; it is not stored anywhere the app can read it back. */
const Secret = ({ created, onDone }: { readonly created: CreatedApiKey; readonly onDone: () => void }) => {
  const [copied, setCopied] = useState<"yes" | "no" | undefined>()
  const ref = useRef<HTMLHeadingElement>(null)
  useEffect(() => ref.current?.focus(), [])
  return (
    <section className="panel alert ok" aria-labelledby="secret-title">
      <h2 id="secret-title" ref={ref} tabIndex={-1}>Key “{created.key.name}” created</h2>
      <p><strong>Its secret is shown once.</strong> Copy it now into the program that will use it: it cannot be shown again (leaving this page loses it). If it is lost, revoke the key and create another.</p>
      <p className="secret-label">Secret:</p>
      <div className="secret" data-testid="api-key-secret">{created.secret}</div>
      <div className="actions">
        <button type="button" onClick={async () => {
          try {
            await navigator.clipboard.writeText(created.secret)
            setCopied("yes")
          } catch {
            setCopied("no")
          }
        }}>Copy the secret</button>
        <button type="button" className="secondary" onClick={onDone}>I have copied it</button>
        <span role="status" aria-live="polite">
          {copied === "yes" ? "Copied to the clipboard." : copied === "no" ? "The browser refused to copy: select the secret and copy it by hand." : ""}
        </span>
      </div>
    </section>
  )
}

const NewKeyForm = ({ onCreated }: { readonly onCreated: (created: CreatedApiKey) => void }) => {
  const create = useAtomSet(createKeyAtom, { mode: "promiseExit" })
  const [name, setName] = useState("")
  const [scopes, setScopes] = useState<ReadonlySet<ApiScope>>(new Set(["samples:read"]))
  const [problem, setProblem] = useState<Problem | undefined>()
  const [busy, setBusy] = useState(false)
  const id = useId()
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const fields = [
      ...(name.trim() === "" ? [{ path: "name", message: "give the key a name that says who uses it" }] : []),
      ...(name.trim().length > 120 ? [{ path: "name", message: "at most 120 characters" }] : []),
      ...(scopes.size === 0 ? [{ path: "scopes", message: "choose at least one scope" }] : [])
    ]
    if (fields.length > 0) return setProblem({ title: "Some values are missing.", fields })
    setBusy(true)
    setProblem(undefined)
    const exit = await create({ payload: { name: name.trim(), scopes: SCOPES.filter((s) => scopes.has(s)) }, headers: {}, reactivityKeys: ["keys"] })
    setBusy(false)
    if (Exit.isFailure(exit)) return setProblem(describe(exit.cause))
    setName("")
    setScopes(new Set(["samples:read"]))
    onCreated(exit.value)
  }
  const scopesError = fieldMessage(problem, "scopes")
  const unplaced = problem && { ...problem, fields: problem.fields.filter((f) => f.path !== "name" && f.path !== "scopes") }
  return (
    <form className="panel" aria-labelledby="new-key-title" onSubmit={submit} noValidate>
      <h2 id="new-key-title">New API key</h2>
      {unplaced && <ErrorBox problem={unplaced} />}
      <Field label="Name" error={fieldMessage(problem, "name")} hint="Who or what uses it, e.g. “LIMS import” or “PromethION 2”.">
        {(p) => <input {...p} value={name} maxLength={120} onChange={(e) => setName(e.target.value)} style={{ width: "min(28rem, 100%)" }} />}
      </Field>
      <fieldset className="scopes" aria-describedby={scopesError ? `${id}-scopes-error` : undefined}>
        <legend>Scopes: what the key may do</legend>
        {SCOPES.map((s) => (
          <div key={s} className="check">
            <input id={`${id}-${s}`} type="checkbox" checked={scopes.has(s)} onChange={(e) => {
              const next = new Set(scopes)
              if (e.target.checked) next.add(s)
              else next.delete(s)
              setScopes(next)
            }} />
            <label htmlFor={`${id}-${s}`}><code>{s}</code> <span className="hint">{SCOPE_WORDS[s]}</span></label>
          </div>
        ))}
        {scopesError && <div id={`${id}-scopes-error`} className="field-error">{scopesError}</div>}
      </fieldset>
      <div className="actions"><button type="submit" disabled={busy}>{busy ? "Creating…" : "Create key"}</button></div>
    </form>
  )
}

const KeyRow = ({ apiKey }: { readonly apiKey: ApiKeyView }) => {
  const revoke = useAtomSet(revokeKeyAtom, { mode: "promiseExit" })
  const [confirming, setConfirming] = useState(false)
  const [problem, setProblem] = useState<Problem | undefined>()
  const [busy, setBusy] = useState(false)
  return (
    <tr>
      <th scope="row">{apiKey.name}</th>
      <td><code>{apiKey.prefix}…</code></td>
      <td>{apiKey.scopes.map((s) => <span key={s} className="badge">{s}</span>)}</td>
      <td>{formatTime(apiKey.createdAt)}<div className="hint">{apiKey.createdBy}</div></td>
      <td>{formatTime(apiKey.lastUsedAt)}</td>
      <td>
        {apiKey.revokedAt !== null
          ? <span><span className="badge cancelled">revoked</span> <span className="hint">{formatTime(apiKey.revokedAt)}</span></span>
          : (
            <>
              <span className="badge ok">active</span>{" "}
              <button type="button" className="danger" onClick={() => setConfirming(true)}>Revoke<span className="visually-hidden"> {apiKey.name}</span></button>
            </>
          )}
        {problem && <div className="field-error" role="alert">{problem.title}</div>}
        {confirming && (
          <ConfirmDialog title={`Revoke the key “${apiKey.name}”?`} confirm="Revoke the key" busy={busy}
            onClose={() => setConfirming(false)}
            onConfirm={async () => {
              setBusy(true)
              const exit = await revoke({ path: { id: apiKey.id }, reactivityKeys: ["keys"] })
              setBusy(false)
              setConfirming(false)
              setProblem(Exit.isFailure(exit) ? describe(exit.cause) : undefined)
            }}>
            Programs using it are refused within seconds, on every server. This cannot be undone.
          </ConfirmDialog>
        )}
      </td>
    </tr>
  )
}

const ConfirmDialog = ({ title, confirm, busy, onConfirm, onClose, children }: {
  readonly title: string
  readonly confirm: string
  readonly busy: boolean
  readonly onConfirm: () => void
  readonly onClose: () => void
  readonly children: string
}) => {
  const id = useId()
  const back = useRef<HTMLButtonElement>(null)
  useEffect(() => back.current?.focus(), [])
  return (
    <div className="dialog" role="alertdialog" aria-modal="true" aria-labelledby={`${id}-title`} aria-describedby={`${id}-text`}
      onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <div>
        <h2 id={`${id}-title`}>{title}</h2>
        <p id={`${id}-text`}>{children}</p>
        <div className="actions">
          <button type="button" className="danger" disabled={busy} onClick={onConfirm}>{confirm}</button>
          <button type="button" ref={back} className="secondary" onClick={onClose}>Back</button>
        </div>
      </div>
    </div>
  )
}
