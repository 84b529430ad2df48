/**
 * The facility's SLA targets and QC thresholds (`Settings.Get`, `Settings.Update`): staff read them, admins change
 * them. The form is checked with the contract's SettingsUpdate schema before it is sent, and the server's verdict is
 * shown on the field it names; a save over someone else's newer save is refused (version conflict) and said so.
 */
import { Result, useAtomRefresh, useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Cause, Either, Exit, Option, ParseResult, Schema } from "effect"
import { useEffect, useId, useRef, useState, type FormEvent } from "react"
import { type FacilitySettings, SettingsUpdate } from "../../../rpc/Settings.ts"
import { KIT_CODES, PRIORITIES, STEP_IDS, STEP_NAMES, type KitCode, type Priority, type StepId } from "../../../rpc/Workflow.ts"
import { Rpc } from "../client.ts"
import { ErrorBox, Field, formatTime, Show } from "../components/ui.tsx"
import { describe, type Problem } from "../errors.ts"
import { roleOf, sessionAtom } from "../session.ts"

const settingsAtom = Rpc.query("Settings.Get", undefined, { reactivityKeys: ["settings"] })
const updateAtom = Rpc.mutation("Settings.Update")

type Unit = "hours" | "businessDays"
type Pair = readonly [string, string]

/** The form as typed: text per number (a half-typed "0." stays as it is), converted when it is sent. */
interface Form {
  readonly turnaround: Readonly<Record<Priority, { readonly unit: Unit; readonly value: string }>>
  readonly expectedHours: Readonly<Record<StepId, string>>
  readonly atRiskFraction: string
  readonly minInputNg: Readonly<Record<"default" | KitCode, string>>
  readonly a260_280: Pair
  readonly a260_230: Pair
  readonly failOnPurity: boolean
  readonly minDin: string
  readonly minRin: string
  readonly minFragmentBp: string
  readonly minLibraryFmol: string
  readonly minLibraryFragmentBp: string
}

const text = (n: number | undefined) => (n === undefined ? "" : String(n))
const record = <K extends string, V>(keys: ReadonlyArray<K>, f: (k: K) => V) =>
  Object.fromEntries(keys.map((k) => [k, f(k)])) as Record<K, V>

const formOf = (s: FacilitySettings): Form => ({
  turnaround: record(PRIORITIES, (p) => {
    const t = s.turnaround[p]
    return "hours" in t ? { unit: "hours" as const, value: text(t.hours) } : { unit: "businessDays" as const, value: text(t.businessDays) }
  }),
  expectedHours: record(STEP_IDS, (step) => text(s.expectedHours[step])),
  atRiskFraction: text(s.atRiskFraction),
  minInputNg: { default: text(s.qc.minInputNg.default), ...record(KIT_CODES, (k) => text(s.qc.minInputNg[k])) },
  a260_280: [text(s.qc.a260_280[0]), text(s.qc.a260_280[1])],
  a260_230: [text(s.qc.a260_230[0]), text(s.qc.a260_230[1])],
  failOnPurity: s.qc.failOnPurity,
  minDin: text(s.qc.minDin),
  minRin: text(s.qc.minRin),
  minFragmentBp: text(s.qc.minFragmentBp),
  minLibraryFmol: text(s.qc.minLibraryFmol),
  minLibraryFragmentBp: text(s.qc.minLibraryFragmentBp)
})

/** Typed text as a number ("2,5" too); empty is absent (the schema says "is missing"), the rest NaN if not a number. */
const num = (s: string): number | undefined => {
  const t = s.trim().replace(",", ".")
  return t === "" ? undefined : Number(t)
}
const defined = <A,>(entries: ReadonlyArray<readonly [string, A | undefined]>) =>
  Object.fromEntries(entries.filter((e): e is readonly [string, A] => e[1] !== undefined))

/** What the form would send, before the contract checks it. */
const inputOf = (f: Form, expectedVersion: number): unknown => ({
  expectedVersion,
  turnaround: record(PRIORITIES, (p) => ({ [f.turnaround[p].unit]: num(f.turnaround[p].value) })),
  expectedHours: record(STEP_IDS, (step) => num(f.expectedHours[step])),
  atRiskFraction: num(f.atRiskFraction),
  qc: {
    // A kit left blank uses the default.
    minInputNg: { default: num(f.minInputNg.default), ...defined(KIT_CODES.map((k) => [k, num(f.minInputNg[k])] as const)) },
    a260_280: [num(f.a260_280[0]), num(f.a260_280[1])],
    a260_230: [num(f.a260_230[0]), num(f.a260_230[1])],
    failOnPurity: f.failOnPurity,
    minDin: num(f.minDin),
    minRin: num(f.minRin),
    minFragmentBp: num(f.minFragmentBp),
    minLibraryFmol: num(f.minLibraryFmol),
    minLibraryFragmentBp: num(f.minLibraryFragmentBp)
  }
})

const wording = (message: string) =>
  /^is missing|actual undefined$/.test(message) ? "is required"
  : /^Expected number, actual NaN/.test(message) ? "must be a number"
  : message

/** The form checked with SettingsUpdate: the update, or each field at fault (paths as the server names them). */
const check = (input: unknown): Either.Either<SettingsUpdate, Problem> =>
  Either.mapLeft(Schema.decodeUnknownEither(SettingsUpdate, { errors: "all" })(input), (error) => ({
    title: "Some values are not allowed. Correct the fields marked below.",
    fields: ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({ path: i.path.map(String).join("."), message: wording(i.message) }))
  }))

type Outcome =
  | { readonly _tag: "saved"; readonly version: number }
  | { readonly _tag: "conflict"; readonly currentVersion: number }
  | { readonly _tag: "problem"; readonly problem: Problem }

export default function SettingsPage() {
  const settings = useAtomValue(settingsAtom)
  const refresh = useAtomRefresh(settingsAtom)
  const session = useAtomValue(sessionAtom)
  const admin = Result.isSuccess(session) && roleOf(session.value.principal) === "admin"
  const [outcome, setOutcome] = useState<Outcome | undefined>()
  return (
    <div>
      <h1>SLA and QC settings</h1>
      {!admin && <p className="alert warn" role="note">Read only: only an admin can change these settings.</p>}
      <Show result={settings} rows={8}>
        {(s) => (
          <>
            <p className="hint" role="status">
              {s.version === 0
                ? "Version 0: the server's defaults (never saved here)."
                : `Version ${s.version}, saved ${formatTime(s.updatedAt)}${s.updatedBy ? ` by ${s.updatedBy.replace(/^user:/, "")}` : ""}.`}
            </p>
            {/* A new version (saved here or elsewhere, then read) starts the form afresh. */}
            <SettingsForm key={s.version} settings={s} admin={admin} outcome={outcome} setOutcome={setOutcome}
              onReload={() => {
                setOutcome(undefined)
                refresh()
              }} />
          </>
        )}
      </Show>
    </div>
  )
}

const SettingsForm = ({ settings, admin, outcome, setOutcome, onReload }: {
  readonly settings: FacilitySettings
  readonly admin: boolean
  readonly outcome: Outcome | undefined
  readonly setOutcome: (o: Outcome | undefined) => void
  readonly onReload: () => void
}) => {
  const save = useAtomSet(updateAtom, { mode: "promiseExit" })
  const [form, setForm] = useState<Form>(() => formOf(settings))
  const [busy, setBusy] = useState(false)
  const alertRef = useRef<HTMLDivElement>(null)
  const problem = outcome?._tag === "problem" ? outcome.problem : undefined
  useEffect(() => {
    if (outcome && outcome._tag !== "saved") alertRef.current?.focus()
  }, [outcome])
  const err = (path: string) => problem?.fields.find((f) => f.path === path)?.message
  /** A field's error: its own, or one of a value inside it (a tuple's element, a union's member). */
  const errUnder = (path: string, prefer?: string) =>
    (prefer !== undefined ? err(`${path}.${prefer}`) : undefined) ?? err(path) ?? problem?.fields.find((f) => f.path.startsWith(`${path}.`))?.message

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!admin) return
    const checked = check(inputOf(form, settings.version))
    if (Either.isLeft(checked)) return setOutcome({ _tag: "problem", problem: checked.left })
    setBusy(true)
    const exit = await save({ payload: checked.right, reactivityKeys: ["settings", "samples", "sample", "queues", "dashboard"] })
    setBusy(false)
    if (Exit.isSuccess(exit)) return setOutcome({ _tag: "saved", version: exit.value.version })
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && failure.value._tag === "SettingsVersionMismatch") {
      return setOutcome({ _tag: "conflict", currentVersion: failure.value.currentVersion })
    }
    setOutcome({ _tag: "problem", problem: describe(exit.cause) })
  }

  const setTurnaround = (p: Priority, change: Partial<{ unit: Unit; value: string }>) =>
    setForm((f) => ({ ...f, turnaround: { ...f.turnaround, [p]: { ...f.turnaround[p], ...change } } }))
  const setStep = (step: StepId, value: string) => setForm((f) => ({ ...f, expectedHours: { ...f.expectedHours, [step]: value } }))
  const setKit = (k: "default" | KitCode, value: string) => setForm((f) => ({ ...f, minInputNg: { ...f.minInputNg, [k]: value } }))
  type Scalar = "atRiskFraction" | "minDin" | "minRin" | "minFragmentBp" | "minLibraryFmol" | "minLibraryFragmentBp"
  const setScalar = (k: Scalar) => (value: string) => setForm((f) => ({ ...f, [k]: value }))
  const setPair = (k: "a260_280" | "a260_230", i: 0 | 1, value: string) =>
    setForm((f) => ({ ...f, [k]: i === 0 ? [value, f[k][1]] : [f[k][0], value] }))

  return (
    <form onSubmit={submit} noValidate aria-label="SLA and QC settings">
      <div ref={alertRef} tabIndex={-1} aria-live="polite">
        {outcome?._tag === "saved" && <p className="alert ok" role="status">Saved: version {outcome.version} is in force on every server. New clocks and QC gates use it; running clocks keep their due times.</p>}
        {outcome?._tag === "conflict" && (
          <div className="alert error" role="alert">
            <strong>Not saved: someone else saved the settings meanwhile (now version {outcome.currentVersion}; you started from version {settings.version}).</strong>{" "}
            Load their version, then make your change again.
            <div className="actions"><button type="button" className="secondary" onClick={onReload}>Load the current settings</button></div>
          </div>
        )}
        {problem && <ErrorBox problem={{ ...problem, fields: [] }} />}
      </div>
      <fieldset disabled={!admin || busy} className="settings">
        <fieldset className="panel">
          <legend>Turnaround target per priority (from receipt)</legend>
          <div className="form-grid">
            {PRIORITIES.map((p) => (
              <TurnaroundField key={p} priority={p} value={form.turnaround[p]} error={errUnder(`turnaround.${p}`, form.turnaround[p].unit)}
                onChange={(change) => setTurnaround(p, change)} />
            ))}
          </div>
        </fieldset>
        <fieldset className="panel">
          <legend>Expected hours per step (each step's SLA clock)</legend>
          <div className="form-grid">
            {STEP_IDS.map((step) => (
              <NumberField key={step} label={`${STEP_NAMES[step]} (hours)`} value={form.expectedHours[step]} error={err(`expectedHours.${step}`)}
                onChange={(v) => setStep(step, v)} />
            ))}
          </div>
        </fieldset>
        <fieldset className="panel">
          <legend>At risk</legend>
          <NumberField label="At risk after this fraction of a clock" value={form.atRiskFraction} error={err("atRiskFraction")}
            hint="Between 0 and 1: 0.8 marks a sample at risk once 80 % of its time is used." onChange={setScalar("atRiskFraction")} />
        </fieldset>
        <fieldset className="panel">
          <legend>QC thresholds</legend>
          <h3>Sample QC</h3>
          <div className="form-grid">
            <NumberField label="Minimum input (ng), any kit" value={form.minInputNg.default} error={err("qc.minInputNg.default")} onChange={(v) => setKit("default", v)} />
            <PairField label="A260/280 range" value={form.a260_280} error={errUnder("qc.a260_280")} onChange={(i, v) => setPair("a260_280", i, v)} />
            <PairField label="A260/230 range" value={form.a260_230} error={errUnder("qc.a260_230")} onChange={(i, v) => setPair("a260_230", i, v)} />
            <NumberField label="Minimum DIN" value={form.minDin} error={err("qc.minDin")} onChange={setScalar("minDin")} />
            <NumberField label="Minimum RIN" value={form.minRin} error={err("qc.minRin")} onChange={setScalar("minRin")} />
            <NumberField label="Minimum fragment size (bp)" value={form.minFragmentBp} error={err("qc.minFragmentBp")} onChange={setScalar("minFragmentBp")} />
          </div>
          <div className="check">
            <input id="fail-on-purity" type="checkbox" checked={form.failOnPurity} onChange={(e) => setForm((f) => ({ ...f, failOnPurity: e.target.checked }))} />
            <label htmlFor="fail-on-purity">Purity outside the ranges fails sample QC (otherwise it is a warning)</label>
          </div>
          <details className="kits">
            <summary>Minimum input per library kit</summary>
            <p className="hint">Blank: the minimum for any kit above.</p>
            <div className="form-grid">
              {KIT_CODES.map((k) => (
                <NumberField key={k} label={`${k} (ng)`} value={form.minInputNg[k]} error={err(`qc.minInputNg.${k}`)} onChange={(v) => setKit(k, v)} />
              ))}
            </div>
          </details>
          <h3>Library QC</h3>
          <div className="form-grid">
            <NumberField label="Minimum library (fmol)" value={form.minLibraryFmol} error={err("qc.minLibraryFmol")} onChange={setScalar("minLibraryFmol")} />
            <NumberField label="Minimum library fragment size (bp)" value={form.minLibraryFragmentBp} error={err("qc.minLibraryFragmentBp")} onChange={setScalar("minLibraryFragmentBp")} />
          </div>
        </fieldset>
        {admin && (
          <div className="actions">
            <button type="submit">{busy ? "Saving…" : "Save settings"}</button>
            <button type="button" className="secondary" onClick={() => {
              setForm(formOf(settings))
              setOutcome(undefined)
            }}>Undo my changes</button>
          </div>
        )}
      </fieldset>
    </form>
  )
}

const NumberField = ({ label, value, error, hint, onChange }: {
  readonly label: string
  readonly value: string
  readonly error: string | undefined
  readonly hint?: string
  readonly onChange: (value: string) => void
}) => (
  <Field label={label} error={error} hint={hint}>
    {(p) => <input {...p} inputMode="decimal" value={value} onChange={(e) => onChange(e.target.value)} />}
  </Field>
)

const PairField = ({ label, value, error, onChange }: {
  readonly label: string
  readonly value: Pair
  readonly error: string | undefined
  readonly onChange: (i: 0 | 1, value: string) => void
}) => {
  const id = useId()
  return (
    <div role="group" aria-labelledby={`${id}-label`}>
      <div id={`${id}-label`} className="group-label">{label}</div>
      <div className="pair">
        <label htmlFor={`${id}-min`} className="visually-hidden">{label}: minimum</label>
        <input id={`${id}-min`} inputMode="decimal" aria-invalid={error !== undefined} value={value[0]} onChange={(e) => onChange(0, e.target.value)}
          {...(error !== undefined ? { "aria-describedby": `${id}-error` } : {})} />
        <span aria-hidden="true">to</span>
        <label htmlFor={`${id}-max`} className="visually-hidden">{label}: maximum</label>
        <input id={`${id}-max`} inputMode="decimal" aria-invalid={error !== undefined} value={value[1]} onChange={(e) => onChange(1, e.target.value)}
          {...(error !== undefined ? { "aria-describedby": `${id}-error` } : {})} />
      </div>
      {error !== undefined && <div id={`${id}-error`} className="field-error">{error}</div>}
    </div>
  )
}

const PRIORITY_WORDS: Record<Priority, string> = { urgent: "Urgent", high: "High", normal: "Normal", low: "Low" }

const TurnaroundField = ({ priority, value, error, onChange }: {
  readonly priority: Priority
  readonly value: { readonly unit: Unit; readonly value: string }
  readonly error: string | undefined
  readonly onChange: (change: Partial<{ unit: Unit; value: string }>) => void
}) => {
  const id = useId()
  return (
    <div>
      <label htmlFor={`${id}-value`}>{PRIORITY_WORDS[priority]}</label>
      <div className="pair">
        <input id={`${id}-value`} inputMode="decimal" aria-invalid={error !== undefined} value={value.value} onChange={(e) => onChange({ value: e.target.value })}
          {...(error !== undefined ? { "aria-describedby": `${id}-error` } : {})} />
        <label htmlFor={`${id}-unit`} className="visually-hidden">Unit of the {priority} target</label>
        <select id={`${id}-unit`} value={value.unit} onChange={(e) => onChange({ unit: e.target.value === "businessDays" ? "businessDays" : "hours" })}>
          <option value="hours">hours</option>
          <option value="businessDays">business days</option>
        </select>
      </div>
      {error !== undefined && <div id={`${id}-error`} className="field-error">{error}</div>}
    </div>
  )
}
