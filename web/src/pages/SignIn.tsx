/** Sign-in: e-mail and password; the server sets the session cookie and the app opens the page asked for. */
import { useAtomSet } from "@effect-atom/atom-react"
import { Exit } from "effect"
import { useState } from "react"
import { describe, type Problem } from "../errors.ts"
import { ErrorBox, Field } from "../components/ui.tsx"
import { signInAtom } from "../session.ts"

export const SignInPage = () => {
  const signIn = useAtomSet(signInAtom, { mode: "promiseExit" })
  const [email, setEmail] = useState("")
  const [password, setPassword] = useState("")
  const [problem, setProblem] = useState<Problem | undefined>()
  const [busy, setBusy] = useState(false)
  return (
    <main className="signin" id="main">
      <h1>Sign in to poretrack</h1>
      <form className="panel" onSubmit={async (e) => {
        e.preventDefault()
        setBusy(true)
        setProblem(undefined)
        const exit = await signIn({ payload: { email: email.trim(), password }, reactivityKeys: ["session"] })
        setBusy(false)
        if (Exit.isFailure(exit)) {
          setProblem(describe(exit.cause))
          return
        }
        // The app shell sends the signed-in user on to `?next=` (or their home page) once the session is read.
      }}>
        {problem && <ErrorBox problem={problem} />}
        <Field label="E-mail">
          {(p) => <input {...p} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} style={{ width: "100%" }} />}
        </Field>
        <Field label="Password">
          {(p) => <input {...p} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} style={{ width: "100%" }} />}
        </Field>
        <div className="actions">
          <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
        </div>
        <p className="hint">No account yet? Ask your facility's admin. First start of a new server: open the setup link it printed.</p>
        <p className="hint">Integrating a program? See the <a href="/api/docs">API reference</a>.</p>
      </form>
    </main>
  )
}
