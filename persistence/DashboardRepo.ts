/**
 * The dashboard's figures, each one SQL statement: the current ones over `samples` (indexes of migration 7), the
 * history over `dashboard_events` (migration 9), a narrow copy of the events it counts with the durations they end,
 * worked out when each event is written. Local days and ISO weeks are PostgreSQL's, in the asked IANA zone
 * (`AT TIME ZONE`), so DST shifts are handled where the data is; "now" is the caller's clock, passed in, so that every
 * figure is computed at the same instant.
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

/**
 * Migration 9 "dashboard_events": what the dashboard's history reads, one narrow row per SampleReceived,
 * WorkflowStepCompleted and SampleCompleted event, written by a trigger in the very statement that writes the event
 * (whoever writes it: a sample's fenced commit, a test, a bulk load), so that an event never lands without its row.
 * `hours` is what the dashboard used to work out by pairing events on every read: for a step completion, its attempt's
 * duration (from the attempt's WorkflowStepStarted, or, when it was never started, from the event that queued it:
 * SampleReceived for the first step, the previous step's completion or skip, a rework); for a sample's completion,
 * its turnaround (from its first SampleReceived), with the sample's priority, final once completed (a completed
 * sample only accepts Archive). `repeated` marks every receipt (completion) of a sample received (completed) more than
 * once, so that daily counts of distinct samples need to de-duplicate those rows only: a second one marks the first. A sample's events are written one
 * commit at a time (its version fence), so every row sees the events before it, exactly as a read-time pairing would;
 * events are never updated or deleted, so the copy cannot drift. Existing events are copied by the same function.
 * The dashboard no longer reads `sample_events` by type and time: that index of migration 7 goes.
 */
export const DASHBOARD_EVENTS_DDL = `
CREATE TABLE dashboard_events (
  seq bigint PRIMARY KEY,
  sample_id uuid NOT NULL,
  type text NOT NULL,
  at timestamptz NOT NULL,
  step text,
  priority text,
  hours float8,
  repeated boolean
);

CREATE FUNCTION poretrack_dashboard_event(e sample_events) RETURNS SETOF dashboard_events LANGUAGE sql STABLE ROWS 1 AS $$
  SELECT e.seq, e.sample_id, e.type, e.at,
    CASE WHEN e.type = 'WorkflowStepCompleted' THEN e.data ->> 'step' END,
    CASE WHEN e.type = 'SampleCompleted' THEN (SELECT s.priority FROM samples s WHERE s.id = e.sample_id) END,
    extract(epoch FROM e.at - CASE e.type
      WHEN 'WorkflowStepCompleted' THEN coalesce(
        (SELECT p.at FROM sample_events p
         WHERE p.sample_id = e.sample_id AND p.seq < e.seq AND p.type = 'WorkflowStepStarted'
           AND p.data ->> 'step' = e.data ->> 'step' AND p.data -> 'attempt' = e.data -> 'attempt'
         ORDER BY p.seq DESC LIMIT 1),
        (SELECT p.at FROM sample_events p
         WHERE p.sample_id = e.sample_id AND p.seq < e.seq
           AND p.type IN ('SampleReceived', 'WorkflowStepCompleted', 'WorkflowStepSkipped', 'SampleReworked')
           AND CASE p.type WHEN 'SampleReceived' THEN p.data ->> 'step' WHEN 'SampleReworked' THEN p.data ->> 'toStep'
               ELSE p.data ->> 'nextStep' END = e.data ->> 'step'
         ORDER BY p.seq DESC LIMIT 1))
      WHEN 'SampleCompleted' THEN
        (SELECT p.at FROM sample_events p WHERE p.sample_id = e.sample_id AND p.type = 'SampleReceived' ORDER BY p.seq LIMIT 1)
    END)::float8 / 3600,
    CASE WHEN e.type IN ('SampleReceived', 'SampleCompleted') THEN
      EXISTS (SELECT 1 FROM sample_events p WHERE p.sample_id = e.sample_id AND p.type = e.type AND p.seq <> e.seq)
    END
$$;

CREATE FUNCTION poretrack_dashboard_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  again boolean;
BEGIN
  INSERT INTO dashboard_events SELECT * FROM poretrack_dashboard_event(NEW) RETURNING repeated INTO again;
  IF again THEN
    UPDATE dashboard_events d SET repeated = true FROM sample_events p
    WHERE p.sample_id = NEW.sample_id AND p.type = NEW.type AND p.seq < NEW.seq AND d.seq = p.seq AND NOT d.repeated;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER sample_events_dashboard BEFORE INSERT ON sample_events FOR EACH ROW
  WHEN (NEW.type IN ('SampleReceived', 'WorkflowStepCompleted', 'SampleCompleted'))
  EXECUTE FUNCTION poretrack_dashboard_events_insert();

-- The events written before (the function is inlined here: one pass, index probes per event). CREATE TRIGGER's lock
-- on sample_events holds new events back until this commits.
INSERT INTO dashboard_events
SELECT d.* FROM sample_events e CROSS JOIN LATERAL poretrack_dashboard_event(e) d
WHERE e.type IN ('SampleReceived', 'WorkflowStepCompleted', 'SampleCompleted');

-- The history's reads: one event type over a time window, an index range.
CREATE INDEX dashboard_events_by_type_at ON dashboard_events (type, at);
DROP INDEX sample_events_by_type_at;
`

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

    /**
     * The window's first instant: local midnight of the Monday `weeks - 1` ISO weeks before the current one. Used as
     * `WITH b AS MATERIALIZED (…)`, so that the bound is worked out once and is an index range's key, not a filter
     * computed on every row.
     */
    const bounds = (input: DashboardInput) => sql`
      SELECT date_trunc('week', ${new Date(input.now)}::timestamptz AT TIME ZONE ${input.timeZone}::text)
          - (${input.weeks}::int - 1) * interval '1 week' AS first_local,
        date_trunc('day', ${new Date(input.now)}::timestamptz AT TIME ZONE ${input.timeZone}::text) AS today_local`

    /**
     * Received and completed samples per local day of the window (the last row is today); distinct samples, from the
     * SampleReceived and SampleCompleted rows of `dashboard_events` (a range of `dashboard_events_by_type_at`). A
     * sample with one receipt (completion) counts once on its day, so those rows are only counted; only the rows of
     * the few samples with several (`repeated`) are grouped by sample, which counts each of them once a day. That is
     * count(DISTINCT) without sorting or hashing every row by sample.
     */
    const throughput = Effect.fn("DashboardRepo.throughput")(function*(input: DashboardInput) {
      const tz = input.timeZone
      const rows = yield* sql<{ day: string; since: Date; received: number; completed: number }>`
        WITH b AS MATERIALIZED (${bounds(input)}),
        days AS (SELECT generate_series(b.first_local, b.today_local, interval '1 day') AS day_local FROM b),
        per_day AS (
          SELECT date_trunc('day', e.at AT TIME ZONE ${tz}::text) AS day_local, e.type,
            CASE WHEN e.repeated THEN e.sample_id END AS repeated_sample, count(*) AS n
          FROM b, dashboard_events e
          WHERE e.type IN ('SampleReceived', 'SampleCompleted')
            AND e.at >= b.first_local AT TIME ZONE ${tz}::text AND e.at <= ${new Date(input.now)}
          GROUP BY 1, 2, 3
        ), counted AS (
          SELECT day_local,
            sum(CASE WHEN repeated_sample IS NULL THEN n ELSE 1 END) FILTER (WHERE type = 'SampleReceived') AS received,
            sum(CASE WHEN repeated_sample IS NULL THEN n ELSE 1 END) FILTER (WHERE type = 'SampleCompleted') AS completed
          FROM per_day GROUP BY day_local
        )
        SELECT to_char(d.day_local, 'YYYY-MM-DD') AS day, d.day_local AT TIME ZONE ${tz}::text AS since,
          coalesce(c.received, 0)::int AS received, coalesce(c.completed, 0)::int AS completed
        FROM days d LEFT JOIN counted c ON c.day_local = d.day_local
        ORDER BY d.day_local`.pipe(Effect.catchTag("SqlError", unknownZone(tz)))
      return rows
    })

    /**
     * Median and 90th percentile of turnaround hours (first SampleReceived → SampleCompleted, wall clock, holds
     * included) per local ISO week and priority; every week × priority of the window is present, empty ones with
     * count 0 and null percentiles. The turnaround and the priority are on the completion's `dashboard_events` row.
     */
    const turnaround = Effect.fn("DashboardRepo.turnaround")(function*(input: DashboardInput) {
      const tz = input.timeZone
      const rows = yield* sql<{ week: string; week_start: string; priority: Priority; n: number; median: number | null; p90: number | null }>`
        WITH b AS MATERIALIZED (${bounds(input)}),
        weeks AS (
          SELECT generate_series(b.first_local, b.first_local + (${input.weeks}::int - 1) * interval '1 week', interval '1 week') AS week_local
          FROM b
        ),
        done AS (
          SELECT date_trunc('week', c.at AT TIME ZONE ${tz}::text) AS week_local, c.priority, c.hours
          FROM b, dashboard_events c
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
     * Median and p90 of each step's duration over the window, one per completed attempt: the `hours` of the
     * WorkflowStepCompleted rows of `dashboard_events` in the window (a range of `dashboard_events_by_type_at`), each
     * measured when the completion was written, from its attempt's start or, never started, from when it was queued
     * (migration 9). The state's step records cannot serve: they keep only the last attempt, and a step completed
     * without a start records `startedAt` = completion (zero time). The durations are gathered into one array per
     * step in a single aggregate (FILTER, not GROUP BY: never a sort of every row by step, whatever the planner
     * estimates), and each step's array is sorted once, by its percentiles.
     */
    const stepDurations = Effect.fn("DashboardRepo.stepDurations")(function*(input: DashboardInput) {
      const tz = input.timeZone
      const column = (i: number) => sql(`h${i}`)
      const rows = yield* sql<{ step: StepId; n: number; median: number | null; p90: number | null }>`
        WITH b AS MATERIALIZED (${bounds(input)}),
        by_step AS (
          SELECT ${sql.csv(STEP_IDS.map((step, i) => sql`array_agg(d.hours) FILTER (WHERE d.step = ${step}) AS ${column(i)}`))}
          FROM b, dashboard_events d
          WHERE d.type = 'WorkflowStepCompleted' AND d.at >= b.first_local AT TIME ZONE ${tz}::text AND d.at <= ${new Date(input.now)}
        )
        SELECT s.step, p.n, p.median, p.p90
        FROM by_step g
        CROSS JOIN LATERAL (VALUES ${sql.csv(STEP_IDS.map((step, i) => sql`(${step}::text, g.${column(i)})`))}) AS s(step, hours)
        CROSS JOIN LATERAL (
          SELECT count(h)::int AS n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY h) AS median,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY h) AS p90
          FROM unnest(s.hours) AS h
        ) p`.pipe(Effect.catchTag("SqlError", unknownZone(tz)))
      const byStep = new Map(rows.map((r) => [r.step, r]))
      return STEP_IDS.map((step): StepDuration => {
        const r = byStep.get(step)
        return { step, count: r?.n ?? 0, medianHours: hours(r?.median ?? null), p90Hours: hours(r?.p90 ?? null) }
      })
    })

    /**
     * Every figure of the dashboard at `input.now`, the statements run side by side on the pool, the longest first (the
     * SLA list and the counts pass over the wide `samples` rows; the history reads narrow rows by time range).
     */
    const get = Effect.fn("DashboardRepo.get")(function*(input: DashboardInput) {
      const [alerts, load, steps, days, weeks] = yield* Effect.all(
        [sla(input), counts(), stepDurations(input), throughput(input), turnaround(input)],
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
