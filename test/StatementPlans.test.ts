/**
 * The plans PostgreSQL makes for the hot statements reach each sample by its key, whatever the tables hold and
 * whether or not they were ever analyzed: the commit and load statements are prepared once per connection and keep
 * their generic plan while the tables grow (autovacuum is off on the development machines), and a plan that scans
 * every sample or every armed timer makes each group commit slower as the facility's records grow.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import { commitStatement, LOAD_SQL } from "../persistence/SampleRepo.ts"
import { Receive } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

/** A plan node of `EXPLAIN (FORMAT JSON)`, the fields read here. */
interface PlanNode {
  readonly "Node Type": string
  readonly "Subplan Name"?: string
  readonly "Relation Name"?: string
  readonly "Index Name"?: string
  readonly "Actual Rows"?: number
  readonly "Actual Loops"?: number
  readonly Plans?: ReadonlyArray<PlanNode>
}

const nodesOf = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

/** Runs `f` on one connection of its own, inside a transaction that is rolled back: nothing it does stays. */
const rolledBack = <A>(databaseUrl: string, f: (client: pg.Client) => Promise<A>) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      await client.query("BEGIN")
      return await f(client)
    } finally {
      await client.query("ROLLBACK")
      await client.end()
    }
  })

const planOf = async (client: pg.Client, text: string, values: Array<unknown> = []) => {
  const result = await client.query<{ "QUERY PLAN": ReadonlyArray<{ Plan: PlanNode }> }>(text, values)
  return result.rows[0]!["QUERY PLAN"][0]!.Plan
}

/** The generic plan of `text` prepared with parameter types `types`: the plan a pooled connection ends up reusing. */
const genericPlan = (databaseUrl: string, types: string, text: string, args: string) =>
  rolledBack(databaseUrl, async (client) => {
    await client.query("SET LOCAL plan_cache_mode = force_generic_plan")
    await client.query(`PREPARE hot(${types}) AS ${text}`)
    return planOf(client, `EXPLAIN (FORMAT JSON) EXECUTE hot(${args})`)
  })

/** Sequential scans of `samples` in a plan, and whether its primary key is used. */
const samplesAccess = (plan: PlanNode) => {
  const nodes = nodesOf(plan).filter((n) => n["Relation Name"] === "samples")
  return {
    seqScans: nodes.filter((n) => n["Node Type"] === "Seq Scan").length,
    byKey: nodes.some((n) => n["Index Name"] === "samples_pkey")
  }
}

/**
 * The commit statement for `ids` as if each moved its timer (version + 1, its row otherwise unchanged), under EXPLAIN
 * ANALYZE: the plan with its row counts, and nothing written.
 */
const explainDisarm = (databaseUrl: string, ids: ReadonlyArray<string>) =>
  rolledBack(databaseUrl, async (client) => {
    const input = await client.query<{ items: unknown }>(`
      SELECT jsonb_agg(jsonb_build_object(
        'ord', s.n - 1, 'id', s.id, 'expected', s.version, 'version', s.version + 1, 'name', s.name,
        'submitter_email', s.submitter_email, 'priority', s.priority, 'priority_rank', s.priority_rank,
        'status', s.status, 'current_step', s.current_step, 'step_state', s.step_state,
        'step_due_ms', (extract(epoch FROM s.step_due_at) * 1000)::bigint, 'queued_ms', (extract(epoch FROM s.queued_at) * 1000)::bigint,
        'turnaround_due_ms', (extract(epoch FROM s.turnaround_due_at) * 1000)::bigint,
        'updated_ms', (extract(epoch FROM s.updated_at) * 1000)::bigint,
        'state', s.state, 'actor', 'test', 'events', '[]'::jsonb,
        'disarm', true, 'timer_ms', NULL)) AS items
      FROM (SELECT samples.*, row_number() OVER (ORDER BY id) AS n FROM samples WHERE id = ANY($1::uuid[])) s`, [ids])
    return planOf(client, `EXPLAIN (ANALYZE, FORMAT JSON) ${commitStatement([]).text}`, [JSON.stringify(input.rows[0]!.items)])
  })

const armedWakes = (databaseUrl: string) =>
  Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM cluster_messages WHERE tag = 'Wake' AND NOT processed"))
    .pipe(Effect.map((rows) => rows[0]!.n))

describe("the hot statements' plans", () => {
  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.scoped("prepared while the tables are small, the commit and load statements still reach samples by key", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        // A few samples: the table is small and was never analyzed, as when a new facility's first commits run.
        yield* submitSamples(3, { prefix: "first" })
        const commit = samplesAccess(yield* genericPlan(databaseUrl, "jsonb", commitStatement([]).text, "'[]'"))
        expect(commit).toEqual({ seqScans: 0, byKey: true })
        const load = samplesAccess(yield* genericPlan(databaseUrl, "uuid[], timestamptz, int", LOAD_SQL, "'{}', now(), 100"))
        expect(load).toEqual({ seqScans: 0, byKey: true })
      }))

    it.scoped("a group commit that moves 64 samples' timers reads their 64 wakes, not every sample's", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        // 400 received samples: 400 armed wakes. The tables have no statistics, as in a new database.
        const { samples } = yield* submitSamples(400, { prefix: "armed" })
        const ids = samples.map((s) => s.id)
        const received = yield* api.batch(ids, new Receive(), undefined, "t")
        expect(received.succeeded).toBe(400)
        expect(yield* armedWakes(databaseUrl)).toBe(400)

        const plan = yield* explainDisarm(databaseUrl, ids.slice(0, 64))
        const gone = nodesOf(plan).find((n) => n["Subplan Name"] === "CTE gone")!
        // Each of the 64 wakes deleted, and found through the index by its sample: a plan that joined the group with
        // every armed wake read all 400 (0.7 s for a group of 64 among 7,000 armed wakes).
        expect(gone["Actual Rows"]).toBe(64)
        const wakesRead = nodesOf(gone)
          .filter((n) => n["Node Type"].includes("Scan") && n["Relation Name"] === "cluster_messages" && n["Index Name"] !== "cluster_messages_pkey")
          .reduce((sum, n) => sum + (n["Actual Rows"] ?? 0) * (n["Actual Loops"] ?? 0), 0)
        expect(wakesRead).toBe(64)
        expect(samplesAccess(plan)).toEqual({ seqScans: 0, byKey: true })
        // The EXPLAIN's transaction was rolled back: every wake is still armed.
        expect(yield* armedWakes(databaseUrl)).toBe(400)
      }))

    it.scoped("the dashboard trigger's statement keeps one generic plan, and that plan reaches events by their sample", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(3, { prefix: "dash" })
        expect((yield* api.batch(samples.map((s) => s.id), new Receive(), undefined, "t")).succeeded).toBe(3)
        // Left to choose, PL/pgSQL planned the trigger's INSERT anew for every event (a quarter of PostgreSQL's CPU
        // under load). A later CREATE OR REPLACE of the function would drop this setting: this test would say so.
        const config = yield* Effect.promise(() =>
          query<{ proconfig: ReadonlyArray<string> | null }>(databaseUrl, "SELECT proconfig FROM pg_proc WHERE proname = 'poretrack_dashboard_events_insert'")
        )
        expect(config.map((r) => r.proconfig)).toEqual([["plan_cache_mode=force_generic_plan"]])
        // The plan it keeps: the event's fields are parameters, and every read of earlier events goes by sample.
        const rows = yield* Effect.promise(() =>
          query<{ row: string }>(databaseUrl, "SELECT e::text AS row FROM sample_events e WHERE type = 'SampleReceived' LIMIT 1")
        )
        const event = `'${rows[0]!.row.replaceAll("'", "''")}'`
        const plan = yield* genericPlan(databaseUrl, "sample_events", "SELECT * FROM poretrack_dashboard_event($1)", event)
        const reads = nodesOf(plan).filter((n) => n["Relation Name"] === "sample_events")
        expect(reads.length).toBeGreaterThan(0)
        expect(reads.filter((n) => n["Node Type"] === "Seq Scan")).toEqual([])
        const indexes = new Set(nodesOf(plan).filter((n) => n["Node Type"].includes("Index")).map((n) => n["Index Name"]))
        expect(indexes.has("sample_events_by_sample")).toBe(true)
      }))
  })
})
