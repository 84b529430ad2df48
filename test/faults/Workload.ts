/**
 * The fault run's workload: lanes of lab technicians driving samples through receive and the eight advances over the
 * gateway's REST API. Every command carries an idempotency key and is resent with the same key on 503, any 5xx,
 * a timeout or a connection error, until its deadline; what the gateway acknowledged (sample, key, version of the
 * reply) is the history the checker holds the database to.
 */
import { adminAuth } from "../TestAuth.ts"
import { randomUUID } from "node:crypto"
import { setTimeout as delay } from "node:timers/promises"
import { derive, prng } from "./Prng.ts"

export interface Acked {
  readonly sampleId: string
  readonly key: string
  readonly version: number
  readonly command: string
}

export interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
}

const KIT = "SQK-LSK114"

/** The eight steps with data that passes every gate. */
export const STEPS: ReadonlyArray<readonly [step: string, data: Record<string, unknown>]> = [
  ["sample_qc", { qubitNgUl: 60, volumeUl: 30, nanodropNgUl: 72, a260_280: 1.86, a260_230: 2.05, din: 8.4 }],
  ["library_prep", { kit: KIT, inputNg: 1000, operator: "faults" }],
  ["library_qc", { libraryNgUl: 12.5, fmol: 50, meanFragmentLengthBp: 8500 }],
  ["sequencing_setup", { flowCellId: "FAX12345", flowCellProductCode: "FLO-MIN114", poreCount: 1500, device: "MinION Mk1D", position: "MN40123" }],
  ["sequencing_run", { runId: "20250101_1200_MN40123_FAX12345_abcdef12", yieldGb: 12.5, reads: 1_250_000, n50: 15_000 }],
  ["basecalling", { model: "hac", softwareVersion: "dorado 0.9.1", passReadPercent: 92.5 }],
  ["quality_assessment", { meanQ: 18.2, coverage: 31.5, passed: true }],
  ["data_delivery", { method: "s3", location: "s3://facility-delivery/faults/run-0001/", retentionDays: 30 }]
]

/** One HTTP POST; status 0 for a connection error or a timeout. */
export const post = async (base: string, path: string, body: unknown, key: string | undefined, timeoutMs: number): Promise<Reply> => {
  try {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...adminAuth, ...(key !== undefined ? { "idempotency-key": key } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs)
    })
    const text = await res.text()
    let parsed: unknown = undefined
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = { text }
    }
    const record = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? { ...parsed } : { value: parsed }
    return { status: res.status, body: record }
  } catch (e) {
    return { status: 0, body: { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) } }
  }
}

const versionOf = (body: Record<string, unknown>): number | undefined => {
  const sample = body.sample
  if (typeof sample !== "object" || sample === null || !("version" in sample)) return undefined
  return typeof sample.version === "number" ? sample.version : undefined
}

export interface WorkloadOptions {
  readonly seed: number
  /** Concurrent lanes; also the size of each batch of new samples. */
  readonly lanes: number
  /** Think time between a sample's commands, in ms (uniform). */
  readonly thinkMs: readonly [number, number]
  /** How long one command may take, retries included, before the run counts it as a violation. */
  readonly commandDeadlineMs: number
  /** Whether to take more samples when a lane runs out (the fault plan is still running). */
  readonly wantMore: () => boolean
  readonly log: (line: string) => void
}

export interface Workload {
  readonly acked: Array<Acked>
  /** Samples whose receive was acknowledged. */
  readonly received: Set<string>
  readonly violations: Array<string>
  /** Every sample the workload created (all of them are driven to completion). */
  readonly sampleIds: Array<string>
  /** The first batch: the samples recovery probes address. */
  readonly firstBatch: () => ReadonlyArray<string>
  readonly counts: { commands: number; resends: number; replayed: number }
  /** When a command was answered with a failure the client had to retry (503, other 5xx, no answer), ms epoch. */
  readonly failures: Array<number>
  /** Resolves when every lane has finished. */
  readonly done: Promise<void>
  /** Resolves once the first batch exists. */
  readonly ready: Promise<void>
}

/** Starts the workload against `base` (a gateway); `query` reads the database when a creation reply was lost. */
export const startWorkload = (
  base: string,
  query: (text: string, values: Array<unknown>) => Promise<Array<Record<string, unknown>>>,
  options: WorkloadOptions
): Workload => {
  const acked: Array<Acked> = []
  const received = new Set<string>()
  const violations: Array<string> = []
  const sampleIds: Array<string> = []
  const counts = { commands: 0, resends: 0, replayed: 0 }
  const failures: Array<number> = []
  const pool: Array<{ id: string; ordinal: number }> = []
  let batches = 0
  let first: ReadonlyArray<string> = []

  /** Creates a batch as one submission with a fixed number, so a resend after a lost reply finds the first one. */
  const createBatch = async (): Promise<void> => {
    const n = ++batches
    const number = `FLT-${options.seed}-${n}`
    const deadline = Date.now() + options.commandDeadlineMs
    for (let attempt = 0; ; attempt++) {
      const res = await post(base, "/api/v1/submissions", {
        submitterEmail: "faults@lab.example",
        number,
        priority: "normal",
        flowCellType: "R10.4.1",
        samples: Array.from({ length: options.lanes }, (_, i) => ({ sampleName: `${number}-${i + 1}`, libraryKit: KIT, volumeUl: 30, concentrationNgUl: 60 }))
      }, undefined, 20_000)
      let ids: Array<string> | undefined
      if (res.status === 201 && Array.isArray(res.body.samples)) {
        ids = res.body.samples.map((s: unknown) => (typeof s === "object" && s !== null && "id" in s ? String(s.id) : ""))
      } else if (res.status === 422 && attempt > 0) {
        // The first attempt committed but its reply was lost: read what it created.
        const rows = await query(
          "SELECT s.id::text AS id FROM samples s JOIN submissions b ON b.id = s.submission_id WHERE b.number = $1 ORDER BY s.position",
          [number]
        ).catch(() => [])
        if (rows.length === options.lanes) ids = rows.map((r) => String(r.id))
      } else if (res.status !== 0 && res.status < 500) {
        throw new Error(`creating submission ${number}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`)
      }
      if (ids !== undefined) {
        const base0 = sampleIds.length
        sampleIds.push(...ids)
        ids.forEach((id, i) => pool.push({ id, ordinal: base0 + i }))
        if (n === 1) first = ids
        return
      }
      if (Date.now() > deadline) throw new Error(`creating submission ${number}: not answered in time (last ${res.status})`)
      await delay(Math.min(1_000, 100 * 2 ** attempt))
    }
  }

  let refilling: Promise<void> | undefined
  const take = async (): Promise<{ id: string; ordinal: number } | undefined> => {
    for (;;) {
      const next = pool.shift()
      if (next !== undefined) return next
      if (!options.wantMore()) return undefined
      refilling ??= createBatch().finally(() => {
        refilling = undefined
      })
      await refilling
    }
  }

  /** Sends one command until acknowledged (same key every time); a refusal or the deadline is a violation. */
  const command = async (sampleId: string, path: string, body: unknown, key: string): Promise<boolean> => {
    const deadline = Date.now() + options.commandDeadlineMs
    counts.commands++
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) counts.resends++
      const res = await post(base, `/api/v1/samples/${sampleId}${path}`, body, key, 20_000)
      if (res.status === 200) {
        const version = versionOf(res.body)
        if (version === undefined) {
          violations.push(`${sampleId} ${path} (${key}): 200 without a version: ${JSON.stringify(res.body).slice(0, 200)}`)
          return false
        }
        if (res.body.replayed === true) counts.replayed++
        acked.push({ sampleId, key, version, command: path })
        return true
      }
      if (res.status !== 0 && res.status !== 503 && res.status < 500) {
        violations.push(`${sampleId} ${path} (${key}, attempt ${attempt + 1}): ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`)
        return false
      }
      failures.push(Date.now())
      if (Date.now() > deadline) {
        violations.push(`${sampleId} ${path} (${key}): not acknowledged within ${options.commandDeadlineMs} ms (last ${res.status} ${JSON.stringify(res.body).slice(0, 200)})`)
        return false
      }
      await delay(Math.min(1_000, 100 * 2 ** attempt))
    }
  }

  const walk = async (id: string, ordinal: number) => {
    const rng = prng(derive(options.seed, ordinal))
    if (!(await command(id, "/receive", {}, `rcv-${id}`))) return
    received.add(id)
    for (const [step, data] of STEPS) {
      // The technician's time on the step: long enough, now and then, for the step's SLA clock to pass its thresholds.
      await delay(Math.round(rng.between(options.thinkMs[0], options.thinkMs[1])))
      if (!(await command(id, "/workflow/advance", { expectedStep: step, data }, `adv-${step}-${id}`))) return
    }
  }

  const lane = async () => {
    for (;;) {
      const next = await take()
      if (next === undefined) return
      await walk(next.id, next.ordinal)
    }
  }

  const ready = createBatch()
  const done = ready.then(() => Promise.all(Array.from({ length: options.lanes }, lane))).then(() => {
    options.log(`workload: ${sampleIds.length} samples, ${counts.commands} commands (${counts.resends} resends, ${counts.replayed} replayed)`)
  })
  return { acked, received, violations, sampleIds, firstBatch: () => first, counts, failures, done, ready }
}

/**
 * A probe that writes nothing, answered by the sample's entity wherever it lives: once the sample's receive was
 * acknowledged, that receive again with its key (the entity reads the stored result from PostgreSQL: a 200 with
 * `replayed` proves the entity and its database path work); before that, a Resume, which every state refuses (409).
 */
export const probe = async (base: string, sampleId: string, received: boolean, timeoutMs: number): Promise<"answered" | "retry" | string> => {
  const res = received
    ? await post(base, `/api/v1/samples/${sampleId}/receive`, {}, `rcv-${sampleId}`, timeoutMs)
    : await post(base, `/api/v1/samples/${sampleId}/resume`, {}, `probe-${randomUUID()}`, timeoutMs)
  if (received ? res.status === 200 && res.body.replayed === true : res.status === 409) return "answered"
  if (res.status === 0 || res.status === 503 || res.status >= 500) return "retry"
  return `${received ? "replayed receive" : "resume"}: unexpected ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`
}
