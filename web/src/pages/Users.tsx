/**
 * Users (admins): every account with its role and state, a form for a new one (checked with the contract's own
 * NewUser schema as the admin submits, then the server's verdict per field), a role picker and disable/enable per
 * row. Disabling ends the account's sessions; the server keeps at least one enabled admin.
 */
import { Result, useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Either, Exit, ParseResult, Schema } from "effect"
import { useId, useState, type FormEvent } from "react"
import { NewUser, Role, ROLES, type UserView } from "../../../rpc/Auth.ts"
import { Api } from "../client.ts"
import { Empty, ErrorBox, Field, formatTime, Show } from "../components/ui.tsx"
import { describe, fieldMessage, type Problem } from "../errors.ts"
import { sessionAtom } from "../session.ts"

const usersAtom = Api.query("admin", "listUsers", { reactivityKeys: ["users"] })
const createUserAtom = Api.mutation("admin", "createUser")
const updateUserAtom = Api.mutation("admin", "updateUser")

const ROLE_WORDS: Record<Role, string> = {
  submitter: "submitter (sends samples, sees their own)",
  technician: "technician (works the steps)",
  manager: "manager (also priorities, rework, cancel)",
  admin: "admin (also users, keys, settings)"
}

/** A form's values checked with a contract schema: the value, or each field at fault in words. */
const check = <A, I>(schema: Schema.Schema<A, I>, input: unknown): Either.Either<A, Problem> =>
  Either.mapLeft(Schema.decodeUnknownEither(schema, { errors: "all" })(input), (error) => ({
    title: "Some values are not allowed. Correct the fields marked below.",
    fields: ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({
      path: i.path.map(String).join("."),
      message: /^Expected a string at least 1 character/.test(i.message) ? "is required" : i.message
    }))
  }))

export default function UsersPage() {
  const users = useAtomValue(usersAtom)
  const session = useAtomValue(sessionAtom)
  const me = Result.isSuccess(session) && session.value.principal._tag === "User" ? session.value.principal.id : undefined
  return (
    <div>
      <h1>Users</h1>
      <NewUserForm />
      <section className="panel" aria-labelledby="users-title">
        <h2 id="users-title">Accounts</h2>
        <Show result={users} rows={4}>
          {(list) => list.length === 0
            ? <Empty>No accounts yet.</Empty>
            : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Last sign-in</th><th scope="col">Actions</th></tr>
                  </thead>
                  <tbody>{list.map((u) => <UserRow key={u.id} user={u} self={u.id === me} />)}</tbody>
                </table>
              </div>
            )}
        </Show>
      </section>
    </div>
  )
}

const UserRow = ({ user, self }: { readonly user: UserView; readonly self: boolean }) => {
  const update = useAtomSet(updateUserAtom, { mode: "promiseExit" })
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<Problem | undefined>()
  const [note, setNote] = useState<string | undefined>()
  const id = useId()
  const send = async (patch: { readonly role?: Role; readonly disabled?: boolean }, done: string) => {
    setBusy(true)
    setProblem(undefined)
    setNote(undefined)
    const exit = await update({ path: { id: user.id }, payload: patch, reactivityKeys: ["users"] })
    setBusy(false)
    if (Exit.isFailure(exit)) setProblem(describe(exit.cause))
    else setNote(done)
  }
  return (
    <tr className={user.disabled ? "disabled-user" : undefined}>
      <th scope="row">{user.name}{self && <span className="hint"> (you)</span>}</th>
      <td>{user.email}</td>
      <td>
        <label htmlFor={`${id}-role`} className="visually-hidden">Role of {user.name}</label>
        <select id={`${id}-role`} value={user.role} disabled={busy}
          onChange={(e) => {
            const role = ROLES.find((r) => r === e.target.value)
            if (role !== undefined) void send({ role }, `${user.name} is now ${role}.`)
          }}>
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </td>
      <td>{user.disabled ? <span className="badge cancelled">disabled</span> : <span className="badge ok">active</span>}</td>
      <td>{formatTime(user.lastSignInAt)}</td>
      <td>
        <button type="button" className={user.disabled ? "secondary" : "danger"} disabled={busy}
          onClick={() => send({ disabled: !user.disabled }, user.disabled ? `${user.name} can sign in again.` : `${user.name} is disabled and signed out.`)}>
          {user.disabled ? "Enable" : "Disable"}<span className="visually-hidden"> {user.name}</span>
        </button>
        <div aria-live="polite">
          {note && <div className="hint">{note}</div>}
          {problem && <div className="field-error" role="alert">{problem.fields.length > 0 ? problem.fields.map((f) => f.message).join("; ") : problem.title}</div>}
        </div>
      </td>
    </tr>
  )
}

const EMPTY: Readonly<Record<"email" | "name" | "role" | "password", string>> = { email: "", name: "", role: "technician", password: "" }

const NewUserForm = () => {
  const create = useAtomSet(createUserAtom, { mode: "promiseExit" })
  const [form, setForm] = useState(EMPTY)
  const [problem, setProblem] = useState<Problem | undefined>()
  const [created, setCreated] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const set = (k: keyof typeof EMPTY) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }))
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setCreated(undefined)
    const checked = check(NewUser, { ...form, email: form.email.trim(), name: form.name.trim() })
    if (Either.isLeft(checked)) return setProblem(checked.left)
    setBusy(true)
    setProblem(undefined)
    const exit = await create({ payload: checked.right, headers: {}, reactivityKeys: ["users"] })
    setBusy(false)
    if (Exit.isFailure(exit)) return setProblem(describe(exit.cause))
    setCreated(`${exit.value.name} (${exit.value.email}) can now sign in as ${exit.value.role}.`)
    setForm(EMPTY)
  }
  // Problems the form's fields show are not repeated in the box above them.
  const unplaced = problem && { ...problem, fields: problem.fields.filter((f) => !["email", "name", "role", "password"].includes(f.path)) }
  return (
    <form className="panel" aria-labelledby="new-user-title" onSubmit={submit} noValidate>
      <h2 id="new-user-title">New user</h2>
      {unplaced && <ErrorBox problem={unplaced} />}
      {created && <p className="alert ok" role="status">{created}</p>}
      <div className="form-grid">
        <Field label="E-mail" error={fieldMessage(problem, "email")}>
          {(p) => <input {...p} type="email" autoComplete="off" value={form.email} onChange={set("email")} />}
        </Field>
        <Field label="Name" error={fieldMessage(problem, "name")}>
          {(p) => <input {...p} autoComplete="off" value={form.name} onChange={set("name")} />}
        </Field>
        <Field label="Role" error={fieldMessage(problem, "role")}>
          {(p) => (
            <select {...p} value={form.role} onChange={set("role")}>
              {ROLES.map((r) => <option key={r} value={r}>{ROLE_WORDS[r]}</option>)}
            </select>
          )}
        </Field>
        <Field label="Initial password" error={fieldMessage(problem, "password")} hint="At least 10 characters; its owner should change it.">
          {(p) => <input {...p} type="password" autoComplete="new-password" value={form.password} onChange={set("password")} />}
        </Field>
      </div>
      <div className="actions"><button type="submit" disabled={busy}>{busy ? "Creating…" : "Create user"}</button></div>
    </form>
  )
}
