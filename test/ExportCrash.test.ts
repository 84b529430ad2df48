/**
 * An export whose process is killed with kill -9 mid-way: it is never marked completed half-written, and after a
 * restart on the same database it finishes by itself (the persisted Start is delivered again) with a whole, correct
 * file.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { clusterEnv, startChild, type Child, until } from "./ChildSystem.ts"
import { freePort } from "./freePort.ts"
import { adminAuth } from "./TestAuth.ts"
import { createTestDatabase, query } from "./TestDatabase.ts"

const ROWS = 150_000


describe("export crash", () => {
  const children: Array<Child> = []
  afterAll(async () => {
    for (const c of children) await c.kill9().catch(() => undefined)
  })

  it("kill -9 mid-export: never completed half-written; after a restart the job finishes by itself with every row", { timeout: 240_000 }, async () => {
    const databaseUrl = await createTestDatabase()
    const env = { ...clusterEnv(databaseUrl), EXPORT_DIR: mkdtempSync(join(tmpdir(), "poretrack-export-crash-")) }
    const first = await startChild({ ...env, RUNNER_PORT: String(await freePort()) }, await freePort())
    children.push(first)
    const created = await fetch(`${first.baseUrl}/api/v1/submissions`, {
      method: "POST",
      headers: { ...adminAuth, "content-type": "application/json" },
      body: JSON.stringify({ submitterEmail: "big@lab.example", samples: [{ sampleName: "seed", libraryKit: "SQK-LSK114" }] })
    })
    expect(created.status).toBe(201)
    // Many samples copied from the seed (each with its own id and position, as its state says), 10,000 per statement:
    // one statement of 150,000 rows is a write transaction of several seconds, and while it runs every event log on
    // this PostgreSQL server waits (persistence/EventLog.ts reads below the oldest running transaction), which stalled
    // the live views of a browser test running beside this file.
    for (let from = 1; from < ROWS; from += 10_000) {
      await query(databaseUrl, `
        INSERT INTO samples (id, submission_id, position, name, submitter_email, priority, priority_rank, status, current_step,
          step_state, step_due_at, queued_at, turnaround_due_at, created_at, updated_at, version, timer_at, state)
        SELECT x.u, s.submission_id, 1 + g, s.name || '-' || g, s.submitter_email, s.priority, s.priority_rank, s.status,
          s.current_step, s.step_state, s.step_due_at, s.queued_at, s.turnaround_due_at, s.created_at, s.updated_at, s.version,
          s.timer_at, jsonb_set(jsonb_set(jsonb_set(s.state, '{id}', to_jsonb(x.u::text)), '{position}', to_jsonb(1 + g)), '{sampleName}', to_jsonb(s.name || '-' || g))
        FROM (SELECT * FROM samples ORDER BY seq LIMIT 1) s, generate_series($1::int, $2::int) g, LATERAL (SELECT gen_random_uuid() AS u, g AS n) x`,
        [from, Math.min(from + 9_999, ROWS - 1)])
    }
    const started = await fetch(`${first.baseUrl}/api/v1/exports`, {
      method: "POST",
      headers: { ...adminAuth, "content-type": "application/json" },
      body: JSON.stringify({ format: "csv", columns: ["sample_id", "sample_name"] })
    })
    expect(started.status).toBe(202)
    const { id } = (await started.json()) as { id: string }
    // Kill the process once the job is visibly under way.
    const underWay = await until(async () => {
      const r = await query<{ status: string; rows_done: string; error: string | null }>(databaseUrl, "SELECT status, rows_done, error FROM exports WHERE id = $1", [id])
      return r[0] !== undefined && (r[0].status !== "queued" && (r[0].status !== "running" || Number(r[0].rows_done) > 0)) ? r[0] : undefined
    }, 120_000)
    expect(underWay).toMatchObject({ status: "running", error: null })
    await first.kill9()
    const killed = await query<{ status: string; storage_key: string | null }>(databaseUrl, "SELECT status, storage_key FROM exports WHERE id = $1", [id])
    expect(killed[0]).toEqual({ status: "running", storage_key: null })
    // A new process on the same database takes the shard over and the job restarts by itself.
    const second = await startChild({ ...env, RUNNER_PORT: String(await freePort()) }, await freePort())
    children.push(second)
    const done = await until(async () => {
      const r = await fetch(`${second.baseUrl}/api/v1/exports/${id}`, { headers: adminAuth })
      const body = (await r.json()) as { status: string; rowsDone: number; rowsTotal: number }
      return body.status === "completed" || body.status === "failed" ? body : undefined
    }, 180_000)
    expect(done).toMatchObject({ status: "completed", rowsDone: ROWS, rowsTotal: ROWS })
    const attempts = await query<{ attempt: number }>(databaseUrl, "SELECT attempt FROM exports WHERE id = $1", [id])
    expect(attempts[0]!.attempt).toBeGreaterThanOrEqual(2)
    const file = await fetch(`${second.baseUrl}/api/v1/exports/${id}/download`, { headers: adminAuth })
    expect(file.status).toBe(200)
    const lines = (await file.text()).replace(/^\uFEFF/, "").split(/\r?\n/).filter((l) => l.length > 0)
    expect(lines.length).toBe(ROWS + 1)
    const ids = new Set(lines.slice(1).map((l) => l.split(",")[0]))
    const expected = await query<{ id: string }>(databaseUrl, "SELECT id::text AS id FROM samples")
    expect(ids.size).toBe(ROWS)
    expect(expected.every((r) => ids.has(r.id))).toBe(true)
  })
})
