/**
 * `Dashboard.Get` over real HTTP on a real database: current counts and the SLA list from samples driven through the
 * API (their clocks then set in SQL to chosen instants), history (turnaround, step durations, throughput) from events
 * written in SQL at chosen times, percentiles checked against values computed here, local days and weeks in a zone.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Cancel, CompleteStep, FailStep, Hold, Receive, Rework, SkipStep, StartStep } from "../rpc/Commands.ts"
import type { Dashboard } from "../rpc/Dashboard.ts"
import type { SampleId } from "../rpc/Ids.ts"
import type { Priority } from "../rpc/Workflow.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { ClientLive, Poretrack } from "./RpcTestClient.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"
import { stepRecord } from "./Walk.ts"


const HOUR = 3_600_000
const DAY = 24 * HOUR

/** percentile_cont: linear interpolation between the closest ranks. */
const percentileCont = (xs: ReadonlyArray<number>, p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  const pos = (s.length - 1) * p
  const lo = s[Math.floor(pos)]!
  const hi = s[Math.ceil(pos)]!
  return lo + (hi - lo) * (pos - Math.floor(pos))
}

/** Monday 00:00 UTC of the ISO week of `ms`. */
const mondayUtc = (ms: number): number => {
  const day = Math.floor(ms / DAY) * DAY
  return day - ((new Date(day).getUTCDay() + 6) % 7) * DAY
}

/** The ISO week label (2025-W03) of the UTC date of `ms`. */
const isoWeek = (ms: number): string => {
  const t = new Date(Math.floor(ms / DAY) * DAY)
  t.setUTCDate(t.getUTCDate() + 4 - (t.getUTCDay() || 7))
  const year = t.getUTCFullYear()
  const week = Math.ceil(((t.getTime() - Date.UTC(year, 0, 1)) / DAY + 1) / 7)
  return `${year}-W${String(week).padStart(2, "0")}`
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** Creates `names.length` samples in one submission (per-row priorities), returning their ids and the submission's. */
const createSamples = (prefix: string, priorities: ReadonlyArray<Priority>) =>
  Effect.gen(function*() {
    const client = yield* Poretrack
    const created = yield* client.Submissions.Create({
      submitterEmail: "dash@lab.example",
      source: "api",
      priority: "normal",
      flowCellType: "R10.4.1",
      samples: priorities.map((priority, i) => ({ sampleName: `${prefix}-${i + 1}`, priority, libraryKit: "SQK-LSK114" as const }))
    })
    return { ids: created.samples.map((s) => s.id), submissionId: created.submission.id }
  })

/** Writes events of one sample in the given order (so their seq follows it), each at its chosen instant. */
const writeEvents = (sampleId: string, submissionId: string, events: ReadonlyArray<readonly [type: string, at: number, data: Record<string, unknown>]>) =>
  Effect.gen(function*() {
    const { databaseUrl } = yield* TestEndpoint
    for (const [type, at, data] of events) {
      yield* Effect.promise(() =>
        query(databaseUrl, `INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
          VALUES (gen_random_uuid(), $1, $2, $3, 100, 'test', $4, $5)`, [sampleId, submissionId, type, new Date(at), JSON.stringify(data)]))
    }
  })

/** Sets one SLA clock of a sample's stored state (and its indexed due column) to chosen instants. */
const setClock = (id: SampleId, clock: "step" | "turnaround", startAt: number, dueAt: number) =>
  Effect.gen(function*() {
    const { databaseUrl } = yield* TestEndpoint
    const column = clock === "step" ? "step_due_at" : "turnaround_due_at"
    yield* Effect.promise(() =>
      query(databaseUrl, `UPDATE samples SET
          state = jsonb_set(jsonb_set(state, '{sla,${clock},startAt}', to_jsonb($2::bigint)), '{sla,${clock},dueAt}', to_jsonb($3::bigint)),
          ${column} = to_timestamp($3::bigint / 1000.0)
        WHERE id = $1`, [id, startAt, dueAt]))
  })

/** Sends one `Dashboard.Get` by hand with the given headers and payload; returns its Exit message. */
const rawDashboard = (headers: Record<string, string>, payload: unknown) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestEndpoint
    return yield* Effect.promise(async () => {
      const response = await fetch(`${baseUrl}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/ndjson", ...headers },
        body: `${JSON.stringify({ _tag: "Request", id: "1", tag: "Dashboard.Get", payload, headers: [] })}\n`
      })
      const lines = (await response.text()).split("\n").filter((l) => l.trim().length > 0).map((l): unknown => JSON.parse(l))
      const exit = lines.find((m): m is { _tag: "Exit"; exit: { _tag: string; cause?: { error?: { _tag?: string } } } } =>
        typeof m === "object" && m !== null && "_tag" in m && m._tag === "Exit")
      return { status: exit?.exit._tag, error: exit?.exit.cause?.error?._tag }
    })
  })

const rest = (method: string, path: string, body: unknown, headers: Record<string, string> = adminAuth) =>
  Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
    Effect.promise(async () => {
      const res = await fetch(`${baseUrl}${path}`, { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
    }))

const dayRow = (d: Dashboard, day: string) => d.throughput.find((r) => r.day === day) ?? { day, received: 0, completed: 0 }

/** Valid data for each step, in order (every gate passes). */
const record = stepRecord

/**
 * The reference: how the dashboard computed its history before migration 9, pairing events at read time. A step
 * completion's duration runs from its attempt's WorkflowStepStarted, or, never started, from the event that queued
 * it; a turnaround from the sample's first SampleReceived.
 */
const PAIRED_STEP_HOURS = `
  SELECT c.seq, c.at, c.data ->> 'step' AS step, extract(epoch FROM c.at - coalesce(st.at, q.at))::float8 / 3600 AS hours
  FROM sample_events c
  LEFT JOIN LATERAL (
    SELECT e.at FROM sample_events e
    WHERE e.sample_id = c.sample_id AND e.seq < c.seq AND e.type = 'WorkflowStepStarted'
      AND e.data ->> 'step' = c.data ->> 'step' AND e.data -> 'attempt' = c.data -> 'attempt'
    ORDER BY e.seq DESC LIMIT 1
  ) st ON true
  LEFT JOIN LATERAL (
    SELECT e.at FROM sample_events e
    WHERE st.at IS NULL AND e.sample_id = c.sample_id AND e.seq < c.seq
      AND e.type IN ('SampleReceived', 'WorkflowStepCompleted', 'WorkflowStepSkipped', 'SampleReworked')
      AND CASE e.type WHEN 'SampleReceived' THEN e.data ->> 'step' WHEN 'SampleReworked' THEN e.data ->> 'toStep'
          ELSE e.data ->> 'nextStep' END = c.data ->> 'step'
    ORDER BY e.seq DESC LIMIT 1
  ) q ON true
  WHERE c.type = 'WorkflowStepCompleted'`
const PAIRED_TURNAROUND_HOURS = `
  SELECT c.seq, c.at, s.priority, extract(epoch FROM c.at - r.at)::float8 / 3600 AS hours
  FROM sample_events c
  JOIN samples s ON s.id = c.sample_id
  CROSS JOIN LATERAL (
    SELECT e.at FROM sample_events e WHERE e.sample_id = c.sample_id AND e.type = 'SampleReceived' ORDER BY e.seq LIMIT 1
  ) r
  WHERE c.type = 'SampleCompleted'`

/** The history figures of `dash` as the read-time pairing gives them, over the same window, zone and instant. */
const pairedHistory = (dash: Dashboard) =>
  Effect.gen(function*() {
    const { databaseUrl } = yield* TestEndpoint
    const args = [dash.windowStart, dash.generatedAt, dash.timeZone]
    const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000)
    const steps = yield* Effect.promise(() =>
      query<{ step: string; n: number; median: number | null; p90: number | null }>(databaseUrl, `
        SELECT step, count(hours)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median,
          percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90
        FROM (${PAIRED_STEP_HOURS}) t WHERE at >= $1::timestamptz AND at <= $2::timestamptz
        GROUP BY step`, args.slice(0, 2)))
    const weeks = yield* Effect.promise(() =>
      query<{ week_start: string; priority: string; n: number; median: number | null; p90: number | null }>(databaseUrl, `
        SELECT to_char(date_trunc('week', at AT TIME ZONE $3::text), 'YYYY-MM-DD') AS week_start, priority, count(hours)::int AS n,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median, percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90
        FROM (${PAIRED_TURNAROUND_HOURS}) t WHERE at >= $1::timestamptz AND at <= $2::timestamptz
        GROUP BY 1, 2`, args))
    const days = yield* Effect.promise(() =>
      query<{ day: string; received: number; completed: number }>(databaseUrl, `
        SELECT to_char(date_trunc('day', at AT TIME ZONE $3::text), 'YYYY-MM-DD') AS day,
          (count(DISTINCT sample_id) FILTER (WHERE type = 'SampleReceived'))::int AS received,
          (count(DISTINCT sample_id) FILTER (WHERE type = 'SampleCompleted'))::int AS completed
        FROM sample_events WHERE type IN ('SampleReceived', 'SampleCompleted') AND at >= $1::timestamptz AND at <= $2::timestamptz
        GROUP BY 1`, args))
    return {
      stepDurations: dash.stepDurations.map((d) => {
        const r = steps.find((x) => x.step === d.step)
        return { step: d.step, count: r?.n ?? 0, medianHours: round(r?.median ?? null), p90Hours: round(r?.p90 ?? null) }
      }),
      turnaround: dash.turnaround.map((w) => {
        const r = weeks.find((x) => x.week_start === w.weekStart && x.priority === w.priority)
        return { ...w, count: r?.n ?? 0, medianHours: round(r?.median ?? null), p90Hours: round(r?.p90 ?? null) }
      }),
      throughput: dash.throughput.map((d) => {
        const r = days.find((x) => x.day === d.day)
        return { day: d.day, received: r?.received ?? 0, completed: r?.completed ?? 0 }
      })
    }
  })

describe("Dashboard.Get", () => {
  layer(ClientLive.pipe(Layer.provideMerge(TestSystem())), { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect("counts samples by status and by current step and step state", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const before = yield* client.Dashboard.Get({})
        const { ids } = yield* createSamples("CNT", ["normal", "normal", "normal", "normal", "normal", "normal"])
        const [submitted, queued, running, held, failed, cancelled] = ids
        for (const id of [queued!, running!, held!, failed!, cancelled!]) yield* client.Samples.Execute({ id, command: new Receive() })
        yield* client.Samples.Execute({ id: running!, command: new StartStep({ step: "sample_qc" }) })
        yield* client.Samples.Execute({ id: held!, command: new Hold({ reason: "waiting for the submitter" }) })
        yield* client.Samples.Execute({ id: failed!, command: new FailStep({ step: "sample_qc", reason: "tube cracked" }) })
        yield* client.Samples.Execute({ id: cancelled!, command: new Cancel({ reason: "withdrawn" }) })
        expect(submitted).toBeDefined()
        const after = yield* client.Dashboard.Get({})
        const delta = (k: keyof Dashboard["byStatus"]) => after.byStatus[k] - before.byStatus[k]
        expect([delta("submitted"), delta("in_progress"), delta("on_hold"), delta("failed"), delta("cancelled"), delta("completed"), delta("archived")])
          .toEqual([1, 2, 1, 1, 1, 0, 0])
        const qc = (d: Dashboard) => d.byStep.find((s) => s.step === "sample_qc")!
        expect({
          queued: qc(after).queued - qc(before).queued,
          running: qc(after).running - qc(before).running,
          onHold: qc(after).onHold - qc(before).onHold,
          failed: qc(after).failed - qc(before).failed,
          total: qc(after).total - qc(before).total
        }).toEqual({ queued: 1, running: 1, onHold: 1, failed: 1, total: 4 })
        expect(after.byStep.map((s) => s.step)).toEqual([
          "sample_qc", "library_prep", "library_qc", "sequencing_setup", "sequencing_run", "basecalling", "quality_assessment", "data_delivery"
        ])
        for (const s of after.byStep) expect(s.total).toBe(s.queued + s.running + s.onHold + s.failed)
        // Received today (UTC), whatever else the file wrote.
        expect(after.today.received - before.today.received).toBe(5)
        expect(after.timeZone).toBe("UTC")
        expect(after.weeks).toBe(8)
      }))

    it.effect("lists at-risk and breached samples, breached first then by due time, as their pages show them", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const { ids } = yield* createSamples("SLA", ["urgent", "high", "normal", "low", "normal", "high", "normal"])
        const [stepBreached, turnaroundBreached, stepAtRisk, turnaroundAtRisk, heldBreached, failedBreached, onTrack] = ids
        for (const id of ids) yield* client.Samples.Execute({ id, command: new Receive() })
        yield* client.Samples.Execute({ id: heldBreached!, command: new Hold({ reason: "paused" }) })
        yield* client.Samples.Execute({ id: failedBreached!, command: new FailStep({ step: "sample_qc", reason: "spilled" }) })
        const now = Date.now()
        // Step clock breached 2 h ago; its turnaround merely at risk: the breached clock is the one shown.
        yield* setClock(stepBreached!, "step", now - 10 * HOUR, now - 2 * HOUR)
        yield* setClock(stepBreached!, "turnaround", now - 20 * HOUR, now + 4 * HOUR)
        yield* setClock(turnaroundBreached!, "turnaround", now - 49 * HOUR, now - 1 * HOUR)
        yield* setClock(stepAtRisk!, "step", now - 9 * HOUR, now + 1 * HOUR)
        yield* setClock(turnaroundAtRisk!, "turnaround", now - 40 * HOUR, now + 8 * HOUR)
        // On hold: paused, never listed, however late.
        yield* setClock(heldBreached!, "turnaround", now - 49 * HOUR, now - 5 * HOUR)
        // Failed: the turnaround still runs.
        yield* setClock(failedBreached!, "turnaround", now - 49 * HOUR, now - 30 * 60_000)
        // 70 % of the way: on track.
        yield* setClock(onTrack!, "step", now - 7 * HOUR, now + 3 * HOUR)

        const dash = yield* client.Dashboard.Get({ weeks: 1 })
        const mine = dash.sla.items.filter((i) => ids.includes(i.sampleId))
        expect(mine.map((i) => [i.sampleId, i.status, i.clock])).toEqual([
          [stepBreached, "breached", "step"],
          [turnaroundBreached, "breached", "turnaround"],
          [failedBreached, "breached", "turnaround"],
          [stepAtRisk, "at_risk", "step"],
          [turnaroundAtRisk, "at_risk", "turnaround"]
        ])
        expect(mine[0]).toMatchObject({ sampleName: "SLA-1", priority: "urgent", currentStep: "sample_qc", dueAt: new Date(now - 2 * HOUR).toISOString() })
        // The whole list: breached first, then by due time.
        const rank = (i: (typeof dash.sla.items)[number]) => [i.status === "breached" ? 0 : 1, Date.parse(i.dueAt)] as const
        for (let k = 1; k < dash.sla.items.length; k++) {
          const [a, b] = [rank(dash.sla.items[k - 1]!), rank(dash.sla.items[k]!)]
          expect(a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1])).toBe(true)
        }
        // Consistent with every sample's own page: the same verdict, sample by sample, and the same totals.
        const all = yield* client.Samples.List({ limit: 500 })
        const listed = new Map(dash.sla.items.map((i) => [i.sampleId, i.status]))
        const pages = all.items.filter((s) => s.sla.status === "at_risk" || s.sla.status === "breached")
        expect(new Map(pages.map((s) => [s.id, s.sla.status]))).toEqual(listed)
        expect(dash.sla.breached).toBe(pages.filter((s) => s.sla.status === "breached").length)
        expect(dash.sla.atRisk).toBe(pages.filter((s) => s.sla.status === "at_risk").length)
        expect(all.items.find((s) => s.id === heldBreached)?.sla.status).toBe("paused")
      }))

    it.effect("turnaround and step durations per week: medians and 90th percentiles of events at chosen times", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const lastMonday = mondayUtc(Date.now()) - 7 * DAY
        const saturday = lastMonday + 5 * DAY
        const high = [10, 20, 30, 40, 100]
        const normal = [24, 48]
        const t = yield* createSamples("TAT", [...high.map((): Priority => "high"), ...normal.map((): Priority => "normal")])
        const hoursOf = [...high, ...normal]
        for (const [i, id] of t.ids.entries()) {
          const done = saturday - 3 * HOUR - i * 60_000
          yield* writeEvents(id, t.submissionId, [
            ["SampleReceived", done - hoursOf[i]! * HOUR, { step: "sample_qc" }],
            ["SampleCompleted", done, {}]
          ])
        }
        // Step durations: one per completed attempt, from its start, or from when it was queued when never started.
        const h = yield* createSamples("DUR", ["normal", "normal", "normal"])
        const base = lastMonday + DAY
        yield* writeEvents(h.ids[0]!, h.submissionId, [
          ["SampleReceived", base, { step: "sample_qc" }],
          ["WorkflowStepCompleted", base + 1 * HOUR, { step: "sample_qc", attempt: 1, nextStep: "library_prep" }], // queued → completed: 1 h
          ["WorkflowStepStarted", base + 2 * HOUR, { step: "library_prep", attempt: 1 }],
          ["WorkflowStepFailed", base + 3 * HOUR, { step: "library_prep", attempt: 1, reason: "spilled" }],
          ["SampleReworked", base + 4 * HOUR, { fromStep: "library_prep", toStep: "library_prep", reason: "again" }],
          ["WorkflowStepCompleted", base + 7 * HOUR, { step: "library_prep", attempt: 2, nextStep: "library_qc" }], // from the rework: 3 h
          ["WorkflowStepCompleted", base + 9 * HOUR, { step: "library_qc", attempt: 1, nextStep: "sequencing_setup" }] // 2 h
        ])
        yield* writeEvents(h.ids[1]!, h.submissionId, [
          ["SampleReceived", base, { step: "sample_qc" }],
          ["WorkflowStepStarted", base + 0.5 * HOUR, { step: "sample_qc", attempt: 1 }],
          ["WorkflowStepCompleted", base + 1 * HOUR, { step: "sample_qc", attempt: 1, nextStep: "library_prep" }], // 0.5 h
          ["WorkflowStepStarted", base + 1.5 * HOUR, { step: "library_prep", attempt: 1 }],
          ["WorkflowStepCompleted", base + 5.5 * HOUR, { step: "library_prep", attempt: 1, nextStep: "library_qc" }] // 4 h
        ])
        yield* writeEvents(h.ids[2]!, h.submissionId, [
          ["WorkflowStepStarted", base, { step: "library_prep", attempt: 1 }],
          ["WorkflowStepCompleted", base + 6 * HOUR, { step: "library_prep", attempt: 1, nextStep: "library_qc" }] // 6 h
        ])

        // Three weeks, so that last week (UTC) is in the window in Berlin too, even just after Berlin's Monday midnight.
        for (const timeZone of ["UTC", "Europe/Berlin"]) {
          const dash = yield* client.Dashboard.Get({ weeks: 3, timeZone })
          expect(dash.turnaround.map((r) => r.priority)).toEqual(
            [1, 2, 3].flatMap(() => ["urgent", "high", "normal", "low"])
          )
          const mondays = [...new Set(dash.turnaround.map((r) => r.weekStart))]
          expect(mondays).toContain(utcDay(lastMonday))
          expect(mondays.map((m) => Date.parse(m) - Date.parse(mondays[0]!))).toEqual([0, 7 * DAY, 14 * DAY])
          const row = (p: Priority) => dash.turnaround.find((r) => r.weekStart === utcDay(lastMonday) && r.priority === p)!
          expect(row("high")).toMatchObject({ week: isoWeek(lastMonday), count: 5 })
          expect(row("high").medianHours).toBeCloseTo(percentileCont(high, 0.5), 3)
          expect(row("high").p90Hours).toBeCloseTo(percentileCont(high, 0.9), 3)
          expect(row("normal").count).toBe(2)
          expect(row("normal").medianHours).toBeCloseTo(percentileCont(normal, 0.5), 3)
          expect(row("normal").p90Hours).toBeCloseTo(percentileCont(normal, 0.9), 3)
          expect(row("urgent")).toMatchObject({ count: 0, medianHours: null, p90Hours: null })
          expect(dash.turnaround.filter((r) => r.weekStart !== utcDay(lastMonday)).every((r) => r.count === 0)).toBe(true)

          const step = (s: string) => dash.stepDurations.find((d) => d.step === s)!
          expect(dash.stepDurations).toHaveLength(8)
          expect(step("sample_qc")).toMatchObject({ count: 2 })
          expect(step("sample_qc").medianHours).toBeCloseTo(percentileCont([1, 0.5], 0.5), 3)
          expect(step("sample_qc").p90Hours).toBeCloseTo(percentileCont([1, 0.5], 0.9), 3)
          expect(step("library_prep")).toMatchObject({ count: 3 })
          expect(step("library_prep").medianHours).toBeCloseTo(percentileCont([3, 4, 6], 0.5), 3)
          expect(step("library_prep").p90Hours).toBeCloseTo(percentileCont([3, 4, 6], 0.9), 3)
          expect(step("library_qc")).toMatchObject({ count: 1, medianHours: 2, p90Hours: 2 })
          expect(step("sequencing_run")).toMatchObject({ count: 0, medianHours: null, p90Hours: null })
          // Completed on last week's Friday, about 21:00 UTC: Friday in Berlin too.
          expect(dayRow(dash, utcDay(saturday - DAY)).completed).toBe(7)
        }
      }))

    it.effect("local days: a sample received at 23:30 UTC counts for the next day in Europe/Berlin", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const day = Math.floor(Date.now() / DAY) * DAY - 2 * DAY
        const before = { utc: yield* client.Dashboard.Get({ weeks: 2 }), berlin: yield* client.Dashboard.Get({ weeks: 2, timeZone: "Europe/Berlin" }) }
        const s = yield* createSamples("TZ", ["normal"])
        yield* writeEvents(s.ids[0]!, s.submissionId, [["SampleReceived", day + 23.5 * HOUR, { step: "sample_qc" }]])
        const utc = yield* client.Dashboard.Get({ weeks: 2 })
        const berlin = yield* client.Dashboard.Get({ weeks: 2, timeZone: "Europe/Berlin" })
        const delta = (a: Dashboard, b: Dashboard, d: number) => dayRow(a, utcDay(d)).received - dayRow(b, utcDay(d)).received
        expect([delta(utc, before.utc, day), delta(utc, before.utc, day + DAY)]).toEqual([1, 0])
        expect([delta(berlin, before.berlin, day), delta(berlin, before.berlin, day + DAY)]).toEqual([0, 1])
        // One row per local day from the window's Monday to today; today starts at local midnight.
        const berlinToday = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date())
        expect(berlin.throughput[0]?.day).toBe(utcDay(mondayUtc(Date.parse(berlinToday)) - 7 * DAY))
        expect(berlin.throughput.at(-1)?.day).toBe(berlinToday)
        const midnight = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
        expect(midnight.format(new Date(berlin.today.since))).toBe("00:00")
        expect(berlin.today.received).toBe(berlin.throughput.at(-1)?.received)
      }))

    it.effect("history figures equal the read-time pairing of the events: restarts, reworks, skips, never-started attempts", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const { databaseUrl } = yield* TestEndpoint
        // Through the entity (its fenced commits write the events): library_prep completed without a start; library_qc
        // started, failed, reworked back to library_prep (attempt 2, started), then library_qc attempt 2 completed
        // without a start: its duration runs from library_prep's completion, not from attempt 1's start.
        const a = yield* createSamples("PAIR", ["high"])
        const id = a.ids[0]!
        const run = (command: Parameters<typeof client.Samples.Execute>[0]["command"]) => client.Samples.Execute({ id, command })
        yield* run(new Receive())
        yield* run(new StartStep({ step: "sample_qc" }))
        yield* run(new CompleteStep({ record: record("sample_qc") }))
        yield* run(new CompleteStep({ record: record("library_prep") }))
        yield* run(new StartStep({ step: "library_qc" }))
        yield* run(new FailStep({ step: "library_qc", reason: "adapter dimers" }))
        yield* run(new Rework({ toStep: "library_prep", reason: "again" }))
        yield* run(new StartStep({ step: "library_prep" }))
        yield* run(new CompleteStep({ record: record("library_prep") }))
        yield* run(new CompleteStep({ record: record("library_qc") }))
        yield* run(new CompleteStep({ record: record("sequencing_setup") }))
        yield* run(new CompleteStep({ record: record("sequencing_run") }))
        yield* run(new SkipStep({ step: "basecalling", reason: "delivered as raw signal" }))
        yield* run(new StartStep({ step: "quality_assessment" }))
        yield* run(new CompleteStep({ record: record("quality_assessment") }))
        yield* run(new CompleteStep({ record: record("data_delivery") }))
        const mine = yield* Effect.promise(() =>
          query<{ type: string; step: string | null; hours: number | null; priority: string | null }>(databaseUrl,
            "SELECT type, step, hours, priority FROM dashboard_events WHERE sample_id = $1 ORDER BY seq", [id]))
        expect(mine.map((r) => [r.type, r.step])).toEqual([
          ["SampleReceived", null],
          ...["sample_qc", "library_prep", "library_prep", "library_qc", "sequencing_setup", "sequencing_run", "quality_assessment", "data_delivery"]
            .map((step) => ["WorkflowStepCompleted", step]),
          ["SampleCompleted", null]
        ])
        expect(mine.at(-1)?.priority).toBe("high")

        // Written in SQL at chosen times: sample_qc restarted after a rework (1.25 h from the second start, not 5.25 h
        // from the first), library_prep never started (1.75 h from sample_qc's completion), library_qc skipped,
        // sequencing_setup never started (0.5 h from the skip); turnaround 10 h; received again the same day and the
        // next (a sample counted once a day).
        const b = yield* createSamples("PAIR-SQL", ["urgent"])
        const t0 = mondayUtc(Date.now()) - 7 * DAY + 2 * DAY + 2 * HOUR
        yield* writeEvents(b.ids[0]!, b.submissionId, [
          ["SampleReceived", t0, { step: "sample_qc" }],
          ["WorkflowStepStarted", t0 + 1 * HOUR, { step: "sample_qc", attempt: 1 }],
          ["QcFailed", t0 + 2 * HOUR, { step: "sample_qc", attempt: 1, reasons: ["low yield"] }],
          ["SampleReworked", t0 + 3 * HOUR, { fromStep: "sample_qc", toStep: "sample_qc", reason: "again" }],
          ["WorkflowStepStarted", t0 + 5 * HOUR, { step: "sample_qc", attempt: 2 }],
          ["WorkflowStepCompleted", t0 + 6.25 * HOUR, { step: "sample_qc", attempt: 2, nextStep: "library_prep" }],
          ["WorkflowStepCompleted", t0 + 8 * HOUR, { step: "library_prep", attempt: 1, nextStep: "library_qc" }],
          ["WorkflowStepSkipped", t0 + 9 * HOUR, { step: "library_qc", reason: "skip", nextStep: "sequencing_setup" }],
          ["WorkflowStepCompleted", t0 + 9.5 * HOUR, { step: "sequencing_setup", attempt: 1, nextStep: "sequencing_run" }],
          ["SampleCompleted", t0 + 10 * HOUR, {}],
          ["SampleReceived", t0 + 11 * HOUR, { step: "sample_qc" }],
          ["SampleReceived", t0 + DAY, { step: "sample_qc" }]
        ])
        const sql = yield* Effect.promise(() =>
          query<{ type: string; hours: number | null; repeated: boolean | null }>(databaseUrl,
            "SELECT type, hours, repeated FROM dashboard_events WHERE sample_id = $1 ORDER BY seq", [b.ids[0]!]))
        expect(sql.map((r) => [r.type, r.hours, r.repeated])).toEqual([
          ["SampleReceived", null, true],
          ["WorkflowStepCompleted", 1.25, null],
          ["WorkflowStepCompleted", 1.75, null],
          ["WorkflowStepCompleted", 0.5, null],
          ["SampleCompleted", 10, false],
          ["SampleReceived", null, true],
          ["SampleReceived", null, true]
        ])

        // Every event of this file's database, whoever wrote it: its row holds exactly what the pairing gives (same
        // float8), and recomputing the rows as migration 9 copies existing events gives the same rows.
        const [check] = yield* Effect.promise(() =>
          query<{ events: number; missing: number; different: number; recomputed: number; extra: number }>(databaseUrl, `
            WITH ref AS (
              SELECT seq, hours FROM (${PAIRED_STEP_HOURS}) s
              UNION ALL SELECT seq, hours FROM (${PAIRED_TURNAROUND_HOURS}) t
              UNION ALL SELECT seq, NULL FROM sample_events WHERE type = 'SampleReceived'
            )
            SELECT (SELECT count(*) FROM ref)::int AS events,
              (SELECT count(*) FROM ref LEFT JOIN dashboard_events d USING (seq) WHERE d.seq IS NULL)::int AS missing,
              (SELECT count(*) FROM ref JOIN dashboard_events d USING (seq) WHERE d.hours IS DISTINCT FROM ref.hours)::int AS different,
              (SELECT count(*) FROM (
                SELECT d.* FROM sample_events e CROSS JOIN LATERAL poretrack_dashboard_event(e) d
                WHERE e.type IN ('SampleReceived', 'WorkflowStepCompleted', 'SampleCompleted')
                EXCEPT SELECT * FROM dashboard_events) x)::int AS recomputed,
              (SELECT count(*) FROM dashboard_events)::int - (SELECT count(*) FROM ref)::int AS extra`))
        expect(check).toMatchObject({ missing: 0, different: 0, recomputed: 0, extra: 0 })
        expect(check!.events).toBeGreaterThanOrEqual(mine.length + sql.length)

        // And the figures: the dashboard's history equals the pairing's over the same window, in two zones.
        for (const timeZone of ["UTC", "Pacific/Chatham"]) {
          const dash = yield* client.Dashboard.Get({ weeks: 3, timeZone })
          const paired = yield* pairedHistory(dash)
          expect(dash.stepDurations).toEqual(paired.stepDurations)
          expect(dash.turnaround).toEqual(paired.turnaround)
          expect(dash.throughput).toEqual(paired.throughput)
          expect(dash.stepDurations.find((d) => d.step === "sample_qc")!.count).toBeGreaterThanOrEqual(2)
        }
      }))

    it.effect("a submitter and keys without samples:read are refused; a bad time zone or window is InvalidInput", () =>
      Effect.gen(function*() {
        const email = "sub-dash@lab.example"
        const password = "a long enough password"
        expect((yield* rest("POST", "/api/v1/users", { email, name: "Sub", role: "submitter", password })).status).toBe(201)
        const login = yield* rest("POST", "/api/v1/auth/login", { email, password }, {})
        const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!
        const submitter = { cookie, "x-csrf-token": String(login.body.csrfToken) }
        expect(yield* rawDashboard(submitter, {})).toEqual({ status: "Failure", error: "Forbidden" })
        const key = (scope: string) =>
          Effect.map(rest("POST", "/api/v1/keys", { name: `dash ${scope}`, scopes: [scope] }), (r) => ({ authorization: `Bearer ${String(r.body.secret)}` }))
        expect(yield* rawDashboard(yield* key("submissions:write"), {})).toEqual({ status: "Failure", error: "Forbidden" })
        expect(yield* rawDashboard(yield* key("events:read"), {})).toEqual({ status: "Failure", error: "Forbidden" })
        expect((yield* rawDashboard(yield* key("samples:read"), { weeks: 1 })).status).toBe("Success")
        expect((yield* rawDashboard(yield* key("samples:write"), {})).status).toBe("Success")
        for (const payload of [{ timeZone: "Mars/Olympus_Mons" }, { timeZone: "+01:00" }, { timeZone: "" }, { weeks: 27 }, { weeks: 0 }, { weeks: 2.5 }]) {
          expect(yield* rawDashboard(adminAuth, payload)).toEqual({ status: "Failure", error: "InvalidInput" })
        }
        expect((yield* rawDashboard(adminAuth, { weeks: 26, timeZone: "America/New_York" })).status).toBe("Success")
      }))
  })
})
