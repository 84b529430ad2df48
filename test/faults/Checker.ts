/**
 * Holds the database to what the workload saw acknowledged, after the faults healed:
 * - every acknowledged command is stored exactly once (a sample_commands row with its key and the reply's version),
 *   and its events landed at that version; nothing is stored that was never acknowledged;
 * - versions are gap-free per sample: sample_events versions, in commit order, are 1..n ascending and n is
 *   samples.version; every transition of the walk is there once (received, each step completed, completed);
 * - no two writers landed writes for one sample: all events of one (sample, version) come from one transaction;
 * - SLA events fired at or after their threshold (event `at` ≥ data.thresholdAt), for the step the sample was at,
 *   and at most once per (sample, type, scope, step, attempt); at least one SlaAtRisk and one SlaBreached fired
 *   (otherwise these checks would be vacuous);
 * - every sample reached `completed`.
 */
import type { Acked } from "./Workload.ts"
import { STEPS } from "./Workload.ts"

export interface Verdict {
  readonly ok: boolean
  readonly violations: ReadonlyArray<string>
  readonly stats: {
    readonly samples: number
    readonly completed: number
    readonly events: number
    readonly commands: number
    readonly slaAtRisk: number
    readonly slaBreached: number
    /** How late SLA events fired after their threshold, in ms (p50, p99, max). */
    readonly slaLateMs: readonly [number, number, number]
  }
}

type Query = (text: string, values: Array<unknown>) => Promise<Array<Record<string, unknown>>>

interface EventRow {
  readonly id: string
  readonly sample_id: string
  readonly seq: number
  readonly tx: string
  readonly type: string
  readonly version: number
  readonly actor: string
  readonly at: Date
  readonly data: Record<string, unknown>
}

export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

const str = (v: unknown): string => (typeof v === "string" ? v : String(v))

export const check = async (query: Query, acked: ReadonlyArray<Acked>, sampleIds: ReadonlyArray<string>): Promise<Verdict> => {
  const violations: Array<string> = []
  const add = (v: string) => {
    if (violations.length < 200) violations.push(v)
    else if (violations.length === 200) violations.push("… more violations not listed")
  }
  const ids = [...sampleIds]

  // 1. Acknowledged commands: present exactly once, at the acknowledged version; nothing stored unacknowledged.
  const commandRows = await query(
    "SELECT sample_id::text AS sample_id, key, version, count(*) OVER (PARTITION BY sample_id, key)::int AS n FROM sample_commands WHERE sample_id = ANY($1::uuid[])",
    [ids]
  )
  const stored = new Map<string, { version: number; n: number }>()
  for (const r of commandRows) stored.set(`${str(r.sample_id)}/${str(r.key)}`, { version: Number(r.version), n: Number(r.n) })
  const ackedKeys = new Map<string, number>()
  for (const a of acked) {
    const k = `${a.sampleId}/${a.key}`
    const before = ackedKeys.get(k)
    if (before !== undefined && before !== a.version) add(`${k}: acknowledged twice with different versions ${before} and ${a.version}`)
    ackedKeys.set(k, a.version)
    const row = stored.get(k)
    if (row === undefined) add(`${k} (${a.command}): acknowledged at version ${a.version} but not stored`)
    else if (row.n !== 1) add(`${k}: stored ${row.n} times`)
    else if (row.version !== a.version) add(`${k}: acknowledged at version ${a.version}, stored at ${row.version}`)
  }
  for (const k of stored.keys()) if (!ackedKeys.has(k)) add(`${k}: stored but never acknowledged`)

  // 2.–4. Events per sample in commit order.
  const eventRows = await query(
    `SELECT id::text AS id, sample_id::text AS sample_id, seq::bigint AS seq, tx::text AS tx, type, version, actor, at, data
     FROM sample_events WHERE sample_id = ANY($1::uuid[]) ORDER BY sample_id, seq`,
    [ids]
  )
  const events = new Map<string, Array<EventRow>>()
  for (const r of eventRows) {
    const e: EventRow = {
      id: str(r.id),
      sample_id: str(r.sample_id),
      seq: Number(r.seq),
      tx: str(r.tx),
      type: str(r.type),
      version: Number(r.version),
      actor: str(r.actor),
      at: r.at instanceof Date ? r.at : new Date(str(r.at)),
      data: typeof r.data === "object" && r.data !== null ? { ...r.data } : {}
    }
    const list = events.get(e.sample_id) ?? []
    list.push(e)
    events.set(e.sample_id, list)
  }
  const sampleRows = await query("SELECT id::text AS id, version, status FROM samples WHERE id = ANY($1::uuid[])", [ids])
  const samples = new Map(sampleRows.map((r) => [str(r.id), { version: Number(r.version), status: str(r.status) }]))
  const commandVersions = new Map<string, Set<number>>()
  for (const r of commandRows) {
    const set = commandVersions.get(str(r.sample_id)) ?? new Set<number>()
    set.add(Number(r.version))
    commandVersions.set(str(r.sample_id), set)
  }

  let slaAtRisk = 0
  let slaBreached = 0
  const late: Array<number> = []
  let completed = 0
  for (const id of ids) {
    const sample = samples.get(id)
    if (sample === undefined) {
      add(`${id}: no samples row`)
      continue
    }
    if (sample.status === "completed") completed++
    else add(`${id}: ended ${sample.status}, not completed (version ${sample.version})`)
    // The notifier's NotificationTriggered events change no state (they sit at their cause's version): each names a
    // change of this sample at its own version, by the notifier, at most once per cause. The rest is checked without them.
    const all = events.get(id) ?? []
    const list = all.filter((e) => e.type !== "NotificationTriggered")
    const notified = new Set<string>()
    for (const n of all.filter((e) => e.type === "NotificationTriggered")) {
      const causeId = str(n.data.causeId)
      const cause = list.find((e) => e.id === causeId)
      if (n.actor !== "notifier") add(`${id}: NotificationTriggered v${n.version} by ${n.actor}, not the notifier`)
      if (cause === undefined) add(`${id}: NotificationTriggered v${n.version} names no event of this sample (${causeId})`)
      else if (cause.version !== n.version || cause.type !== n.data.causeType) add(`${id}: NotificationTriggered v${n.version} does not match its cause ${cause.type} v${cause.version}`)
      if (notified.has(causeId)) add(`${id}: NotificationTriggered twice for ${causeId}`)
      notified.add(causeId)
    }

    // Gap-free versions, ascending in commit order, ending at samples.version.
    const distinct: Array<number> = []
    const txOfVersion = new Map<number, string>()
    for (const e of list) {
      const last = distinct[distinct.length - 1]
      if (last === undefined || e.version !== last) {
        if (last !== undefined && e.version < last) add(`${id}: version ${e.version} (seq ${e.seq}) after version ${last}`)
        distinct.push(e.version)
      }
      const tx = txOfVersion.get(e.version)
      if (tx === undefined) txOfVersion.set(e.version, e.tx)
      else if (tx !== e.tx) add(`${id}: version ${e.version} written by two transactions (${tx}, ${e.tx}): conflicting writers`)
    }
    const expected = Array.from({ length: distinct.length }, (_, i) => i + 1)
    if (distinct.join(",") !== expected.join(",")) add(`${id}: event versions ${distinct.join(",")} are not 1..${distinct.length}`)
    if (distinct.length !== sample.version) add(`${id}: ${distinct.length} event versions but samples.version ${sample.version}`)

    // Each acknowledged command's events are at its version, written by a person, not by the SLA timer.
    for (const v of commandVersions.get(id) ?? []) {
      if (!list.some((e) => e.version === v && e.actor !== "system:sla")) add(`${id}: command stored at version ${v} but no command event there`)
    }

    // The walk's transitions, each exactly once.
    const count = (type: string, step?: string) => list.filter((e) => e.type === type && (step === undefined || e.data.step === step)).length
    if (count("SampleReceived") !== 1) add(`${id}: SampleReceived ${count("SampleReceived")} times`)
    for (const [step] of STEPS) if (count("WorkflowStepCompleted", step) !== 1) add(`${id}: ${step} completed ${count("WorkflowStepCompleted", step)} times`)
    if (count("SampleCompleted") !== 1) add(`${id}: SampleCompleted ${count("SampleCompleted")} times`)

    // SLA events: never early, for the current step, once per clock threshold.
    const attempt = new Map<string, number>()
    let current: string | undefined
    const raised = new Map<string, number>()
    for (const e of list) {
      if (e.type === "SampleCreated") {
        if (e.version !== 1) add(`${id}: SampleCreated at version ${e.version}`)
      } else if (e.type === "SampleReceived") {
        current = str(e.data.step)
        attempt.set(current, (attempt.get(current) ?? 0) + 1)
      } else if (e.type === "WorkflowStepCompleted") {
        const next = e.data.nextStep
        current = typeof next === "string" ? next : undefined
        if (current !== undefined) attempt.set(current, (attempt.get(current) ?? 0) + 1)
      } else if (e.type === "SampleCompleted") {
        current = undefined
      } else if (e.type === "SlaAtRisk" || e.type === "SlaBreached") {
        if (e.type === "SlaAtRisk") slaAtRisk++
        else slaBreached++
        if (e.actor !== "system:sla") add(`${id}: ${e.type} v${e.version} by ${e.actor}, not the SLA timer`)
        const thresholdAt = Date.parse(str(e.data.thresholdAt))
        if (Number.isNaN(thresholdAt)) add(`${id}: ${e.type} v${e.version} without data.thresholdAt`)
        else if (e.at.getTime() < thresholdAt) add(`${id}: ${e.type} v${e.version} at ${e.at.toISOString()} before its threshold ${str(e.data.thresholdAt)}`)
        else late.push(e.at.getTime() - thresholdAt)
        const scope = str(e.data.scope)
        const step = scope === "step" ? str(e.data.step) : ""
        if (scope === "step" && step !== current) add(`${id}: ${e.type} for step ${step} while the sample was at ${current ?? "no step"}`)
        const key = `${e.type}/${scope}/${step}/${scope === "step" ? attempt.get(step) ?? 0 : 1}`
        raised.set(key, (raised.get(key) ?? 0) + 1)
      } else {
        add(`${id}: unexpected event ${e.type} v${e.version} (the workload sends no such command)`)
      }
    }
    for (const [key, n] of raised) if (n > 1) add(`${id}: ${key} raised ${n} times`)
  }
  if (slaAtRisk === 0 || slaBreached === 0) {
    add(`SLA checks were vacuous: ${slaAtRisk} SlaAtRisk and ${slaBreached} SlaBreached events (both must fire during the run)`)
  }
  return {
    ok: violations.length === 0,
    violations,
    stats: {
      samples: ids.length,
      completed,
      events: eventRows.length,
      commands: commandRows.length,
      slaAtRisk,
      slaBreached,
      slaLateMs: [percentile(late, 50), percentile(late, 99), late.length === 0 ? Number.NaN : Math.max(...late)]
    }
  }
}
