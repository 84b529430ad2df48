/**
 * The dashboard's figures, each one SQL statement over `samples` and `sample_events` (indexes of migration 7). Local
 * days and ISO weeks are PostgreSQL's, in the asked IANA zone (`AT TIME ZONE`), so DST shifts are handled where the
 * data is; "now" is the caller's clock, passed in, so that every figure is computed at the same instant.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { turnaroundDue, type WorkflowPolicy } from "../actors/WorkflowPolicy.ts"
import type {
  DailyThroughput,
  Dashboard,
  SlaAlert,
  SlaSummary,
  StatusCounts,
  StepDuration,
  StepLoad,
  WeeklyTurnaround
} from "../rpc/Dashboard.ts"
import { InvalidInput } from "../rpc/Errors.ts"
import type { SampleId } from "../rpc/Ids.ts"
import { PRIORITIES, STEP_IDS, type Priority, type SampleStatus, type StepId } from "../rpc/Workflow.ts"
import { sqlStateOf } from "./SampleRepo.ts"

/** What one dashboard read needs: the instant, the window in ISO weeks, the zone, and the SLA policy in force. */
export interface DashboardInput {
  readonly now: number
  readonly weeks: number
  readonly timeZone: string
  readonly policy: WorkflowPolicy
}

const DAY = 86_400_000

/**
 * The longest step clock and the longest turnaround clock the policy can start (business days over a weekend included:
 * the longest of seven consecutive start days). A clock's at-risk instant is at most `(1 - atRiskFraction) × length`
 * before its due time, which bounds the SLA candidates by the indexed due columns.
 */
export const longestClocks = (policy: WorkflowPolicy): { readonly stepMs: number; readonly turnaroundMs: number } => {
  const monday = Date.UTC(2024, 0, 1)
  const turnarounds = PRIORITIES.flatMap((p) =>
    Array.from({ length: 7 }, (_, d) => turnaroundDue(policy, p, monday + d * DAY) - (monday + d * DAY))
  )
  return { stepMs: Math.max(...Object.values(policy.expectedMs)), turnaroundMs: Math.max(...turnarounds) }
}

/** PostgreSQL's tz database may lack a zone Intl knows: its "invalid parameter value" becomes the caller's InvalidInput. */
const unknownZone = (timeZone: string) => (e: SqlError.SqlError) =>
  sqlStateOf(e) === "22023"
    ? Effect.fail(new InvalidInput({ message: `unknown time zone ${timeZone}`, issues: [{ path: "timeZone", message: "unknown time zone" }] }))
    : Effect.die(e)

const hours = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000)

/** Read-only queries behind `Dashboard.Get`. */
export class DashboardRepo extends Effect.Service<DashboardRepo>()("poretrack/DashboardRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** Samples by status, and by current step and step state: one grouped pass over `samples` (80 ms at 100,000 rows). */
    const counts = Effect.fn("DashboardRepo.counts")(function*() {
      const rows = yield* sql<{ status: SampleStatus; current_step: StepId | null; step_state: string | null; n: number }>`
        SELECT status, current_step, step_state, count(*)::int AS n FROM samples GROUP BY status, current_step, step_state`
      const byStatus: { -readonly [K in keyof StatusCounts]: number } = {
        submitted: 0, in_progress: 0, on_hold: 0, failed: 0, completed: 0, cancelled: 0, archived: 0
      }
      const byStep = new Map(STEP_IDS.map((step) => [step, { step, queued: 0, running: 0, onHold: 0, failed: 0, total: 0 }]))
      for (const r of rows) {
        byStatus[r.status] += r.n
        const load = r.current_step === null ? undefined : byStep.get(r.current_step)
        if (load === undefined) continue
        if (r.status === "on_hold") load.onHold += r.n
        else if (r.status === "failed") load.failed += r.n
        else if (r.step_state === "running") load.running += r.n
        else if (r.step_state === "queued") load.queued += r.n
        else continue
        load.total += r.n
      }
      const steps: ReadonlyArray<StepLoad> = Array.from(byStep.values())
      return { byStatus, byStep: steps }
    })

    /**
     * The samples at risk or breached at `now`, decided exactly as actors/SampleViews.ts `slaView` does: the clocks
     * of the state (their start and due shift on every resume, so neither `queued_at` nor `received_at` is their start),
     * the step clock only while in progress, the turnaround clock while in progress or failed, none while on hold,
     * completed, cancelled or archived; at risk from start + ceil((due - start) × fraction), breached from due. The
     * indexed due columns narrow the rows first: a clock at risk now is due before now + (1 - fraction) × its length.
     * Every breached clock passes that filter, so a sample its page shows as breached is always listed here.
     */
    const sla = Effect.fn("DashboardRepo.sla")(function*(input: DashboardInput) {
      const f = input.policy.atRiskFraction
      const longest = longestClocks(input.policy)
      const stepHorizon = new Date(input.now + Math.ceil((1 - f) * longest.stepMs) + 1000)
      const turnaroundHorizon = new Date(input.now + Math.ceil((1 - f) * longest.turnaroundMs) + 1000)
      const rows = yield* sql<{
        id: string
        name: string
        priority: Priority
        current_step: StepId | null
        clock: "step" | "turnaround"
        due_ms: number
        sla_status: "at_risk" | "breached"
        breached: number
        at_risk: number
      }>`
        WITH candidates AS (
          SELECT id, name, priority, current_step, status, state -> 'sla' AS sla FROM samples
          WHERE (status = 'in_progress' AND step_due_at <= ${stepHorizon})
             OR (status IN ('in_progress', 'failed') AND turnaround_due_at <= ${turnaroundHorizon})
        ), clocks AS (
          SELECT c.id, c.name, c.priority, c.current_step, k.clock, k.start_ms, k.due_ms
          FROM candidates c CROSS JOIN LATERAL (VALUES
            ('step', (c.sla #>> '{step,startAt}')::float8, (c.sla #>> '{step,dueAt}')::float8, c.status = 'in_progress'),
            ('turnaround', (c.sla #>> '{turnaround,startAt}')::float8, (c.sla #>> '{turnaround,dueAt}')::float8, true)
          ) AS k(clock, start_ms, due_ms, active)
          WHERE k.active AND k.due_ms IS NOT NULL
        ), judged AS (
          SELECT *, CASE
              WHEN due_ms <= ${input.now}::float8 THEN 'breached'
              WHEN start_ms + ceil((due_ms - start_ms) * ${f}::float8) <= ${input.now}::float8 THEN 'at_risk'
            END AS sla_status
          FROM clocks
        ), worst AS (
          SELECT DISTINCT ON (id) * FROM judged WHERE sla_status IS NOT NULL
          ORDER BY id, (sla_status = 'breached') DESC, due_ms
        )
        SELECT id, name, priority, current_step, clock, due_ms, sla_status,
          (count(*) FILTER (WHERE sla_status = 'breached') OVER ())::int AS breached,
          (count(*) FILTER (WHERE sla_status = 'at_risk') OVER ())::int AS at_risk
        FROM worst ORDER BY (sla_status = 'breached') DESC, due_ms, id LIMIT 50`
      const items: ReadonlyArray<SlaAlert> = rows.map((r) => ({
        sampleId: r.id as SampleId,
        sampleName: r.name,
        priority: r.priority,
        currentStep: r.current_step,
        clock: r.clock,
        dueAt: new Date(r.due_ms).toISOString(),
        status: r.sla_status
      }))
      return { items, breached: rows[0]?.breached ?? 0, atRisk: rows[0]?.at_risk ?? 0 } satisfies SlaSummary
    })

    /** The window's first instant: local midnight of the Monday `weeks - 1` ISO weeks before the current one. */
    const bounds = (input: DashboardInput) => sql`
      SELECT date_trunc('week', ${new Date(input.now)}::timestamptz AT TIME ZONE ${input.timeZone}::text)
          - (${input.weeks}::int - 1) * interval '1 week' AS first_local,
        date_trunc('day', ${new Date(input.now)}::timestamptz AT TIME ZONE ${input.timeZone}::text) AS today_local`

    /**
     * Received and completed samples per local day of the window (the last row is today); distinct samples, from the
     * SampleReceived and SampleCompleted events by `sample_events_by_type_at`.
     */
    const throughput = Effect.fn("DashboardRepo.throughput")(function*(input: DashboardInput) {
      const tz = input.timeZone
      const rows = yield* sql<{ day: string; since: Date; received: number; completed: number }>`
        WITH b AS (${bounds(input)}),
        days AS (SELECT generate_series(b.first_local, b.today_local, interval '1 day') AS day_local FROM b),
        ev AS (
          SELECT date_trunc('day', e.at AT TIME ZONE ${tz}::text) AS day_local, e.type, e.sample_id
          FROM sample_events e, b
          WHERE e.type IN ('SampleReceived', 'SampleCompleted')
            AND e.at >= b.first_local AT TIME ZONE ${tz}::text AND e.at <= ${new Date(input.now)}
        )
        SELECT to_char(d.day_local, 'YYYY-MM-DD') AS day, d.day_local AT TIME ZONE ${tz}::text AS since,
          (count(DISTINCT ev.sample_id) FILTER (WHERE ev.type = 'SampleReceived'))::int AS received,
          (count(DISTINCT ev.sample_id) FILTER (WHERE ev.type = 'SampleCompleted'))::int AS completed
        FROM days d LEFT JOIN ev ON ev.day_local = d.day_local
        GROUP BY d.day_local ORDER BY d.day_local`.pipe(Effect.catchTag("SqlError", unknownZone(tz)))
      return rows
    })

    /**
     * Median and 90th percentile of turnaround hours (first SampleReceived → SampleCompleted, wall clock, holds
     * included) per local ISO week and priority; every week × priority of the window is present, empty ones with
     * count 0 and null percentiles.
     */
    const turnaround = Effect.fn("DashboardRepo.turnaround")(function*(input: DashboardInput) {
      const tz = input.timeZone
      const rows = yield* sql<{ week: string; week_start: string; priority: Priority; n: number; median: number | null; p90: number | null }>`
        WITH b AS (${bounds(input)}),
        weeks AS (
          SELECT generate_series(b.first_local, b.first_local + (${input.weeks}::int - 1) * interval '1 week', interval '1 week') AS week_local
          FROM b
        ),
        done AS (
          SELECT date_trunc('week', c.at AT TIME ZONE ${tz}::text) AS week_local, s.priority,
            extract(epoch FROM c.at - r.at)::float8 / 3600 AS hours
          FROM b, sample_events c
          JOIN samples s ON s.id = c.sample_id
          CROSS JOIN LATERAL (
            SELECT e.at FROM sample_events e WHERE e.sample_id = c.sample_id AND e.type = 'SampleReceived' ORDER BY e.seq LIMIT 1
          ) r
          WHERE c.type = 'SampleCompleted' AND c.at >= b.first_local AT TIME ZONE ${tz}::text AND c.at <= ${new Date(input.now)}
        )
        SELECT to_char(w.week_local, 'IYYY-"W"IW') AS week, to_char(w.week_local, 'YYYY-MM-DD') AS week_start, p.priority,
          count(d.hours)::int AS n,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY d.hours) AS median,
          percentile_cont(0.9) WITHIN GROUP (ORDER BY d.hours) AS p90
        FROM weeks w CROSS JOIN unnest(${[...PRIORITIES]}::text[]) WITH ORDINALITY AS p(priority, rank)
        LEFT JOIN done d ON d.week_local = w.week_local AND d.priority = p.priority
        GROUP BY w.week_local, p.priority, p.rank ORDER BY w.week_local, p.rank DESC`.pipe(Effect.catchTag("SqlError", unknownZone(tz)))
      return rows.map((r): WeeklyTurnaround => ({
        week: r.week,
        weekStart: r.week_start,
        priority: r.priority,
        count: r.n,
        medianHours: hours(r.median),
        p90Hours: hours(r.p90)
      }))
    })

    /**
     * Median and p90 of each step's duration over the window, from the events, one per completed attempt: the
     * WorkflowStepCompleted events in the window (by `sample_events_by_type_at`), each with its attempt's
     * WorkflowStepStarted, or, when the attempt was never started, the event that queued it (SampleReceived for the
     * first step, the previous step's completion or skip, a rework); both found by `sample_events_by_sample`. The
     * state's step records cannot serve: they keep only the last attempt, and a step completed without a start
     * records `startedAt` = completion (zero time), and reading them means decoding every sample's state.
     * Cost: two index probes per completion (about 1.2 s for 160,000 completions in the window on 2 cores); a
     * per-attempt duration written with the completion event would make this a range scan.
     */
    const stepDurations = Effect.fn("DashboardRepo.stepDurations")(function*(input: DashboardInput) {
      const tz = input.timeZone
      const rows = yield* sql<{ step: StepId; n: number; median: number | null; p90: number | null }>`
        WITH b AS (${bounds(input)}),
        done AS (
          SELECT c.sample_id, c.seq, c.at, c.data ->> 'step' AS step, c.data -> 'attempt' AS attempt
          FROM sample_events c, b
          WHERE c.type = 'WorkflowStepCompleted' AND c.at >= b.first_local AT TIME ZONE ${tz}::text AND c.at <= ${new Date(input.now)}
        ), took AS (
          SELECT d.step, extract(epoch FROM d.at - coalesce(st.at, q.at))::float8 / 3600 AS hours
          FROM done d
          LEFT JOIN LATERAL (
            SELECT e.at FROM sample_events e
            WHERE e.sample_id = d.sample_id AND e.seq < d.seq AND e.type = 'WorkflowStepStarted'
              AND e.data ->> 'step' = d.step AND e.data -> 'attempt' = d.attempt
            ORDER BY e.seq DESC LIMIT 1
          ) st ON true
          LEFT JOIN LATERAL (
            SELECT e.at FROM sample_events e
            WHERE st.at IS NULL AND e.sample_id = d.sample_id AND e.seq < d.seq
              AND e.type IN ('SampleReceived', 'WorkflowStepCompleted', 'WorkflowStepSkipped', 'SampleReworked')
              AND CASE e.type WHEN 'SampleReceived' THEN e.data ->> 'step' WHEN 'SampleReworked' THEN e.data ->> 'toStep'
                  ELSE e.data ->> 'nextStep' END = d.step
            ORDER BY e.seq DESC LIMIT 1
          ) q ON true
        )
        SELECT step, count(hours)::int AS n,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median,
          percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90
        FROM took GROUP BY step`.pipe(Effect.catchTag("SqlError", unknownZone(tz)))
      const byStep = new Map(rows.map((r) => [r.step, r]))
      return STEP_IDS.map((step): StepDuration => {
        const r = byStep.get(step)
        return { step, count: r?.n ?? 0, medianHours: hours(r?.median ?? null), p90Hours: hours(r?.p90 ?? null) }
      })
    })

    /** Every figure of the dashboard at `input.now`, the statements run side by side on the pool. */
    const get = Effect.fn("DashboardRepo.get")(function*(input: DashboardInput) {
      const [load, alerts, days, weeks, steps] = yield* Effect.all(
        [counts(), sla(input), throughput(input), turnaround(input), stepDurations(input)],
        { concurrency: 3 }
      )
      const last = days[days.length - 1]
      const first = days[0]
      const dailies: ReadonlyArray<DailyThroughput> = days.map((d) => ({ day: d.day, received: d.received, completed: d.completed }))
      return {
        generatedAt: new Date(input.now).toISOString(),
        timeZone: input.timeZone,
        weeks: input.weeks,
        windowStart: (first?.since ?? new Date(input.now)).toISOString(),
        byStep: load.byStep,
        byStatus: load.byStatus,
        sla: alerts,
        today: {
          since: (last?.since ?? new Date(input.now)).toISOString(),
          received: last?.received ?? 0,
          completed: last?.completed ?? 0
        },
        turnaround: weeks,
        stepDurations: steps,
        throughput: dailies
      } satisfies Dashboard
    }, Effect.catchTag("SqlError", Effect.die))

    return { counts, sla, throughput, turnaround, stepDurations, get } as const
  })
}) {}
