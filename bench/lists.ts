/**
 * Lists and queues at 100,000 samples: starts the system on a fresh database, loads BENCH_LIST_SAMPLES samples
 * (default 100,000, in submissions of 50) straight into the tables, then times the list, filter, search and queue
 * queries over HTTP, and the web app's RPC reads (dashboard, submissions list, sample list in every sort order).
 * Run: `npm run bench:lists`. Never part of `npm test`.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process"
import { randomUUID } from "node:crypto"
import { cpus } from "node:os"
import { pathToFileURL } from "node:url"
import pg from "pg"
import type { Readable } from "node:stream"

const ADMIN = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const COUNT = Number(process.env.BENCH_LIST_SAMPLES ?? 100_000)
const REPEAT = 30
/** The system under test runs with this bootstrap admin key; every request carries it. */
const TOKEN = "bench-admin-token-0123456789abcdef"
const AUTH = { authorization: `Bearer ${TOKEN}` }

const freePort = () => 20_000 + Math.floor(Math.random() * 12_000)

const percentile = (xs: Array<number>, p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0
}

/**
 * Loads `count` samples (in submissions of 50) and 8 weeks of their history straight into the tables of the system
 * running at `base` on `databaseUrl`; one real sample, made through its API, gives the shape of the state document
 * and the rest are variations of it. Also used by bench/web.ts. Returns the events the log then holds and the seconds.
 */
/** Resolves when a started server (stdout piped) says it listens; rejects if it exits first. */
export const untilListening = (child: ChildProcessByStdio<null, Readable, null>) =>
  new Promise<void>((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString()
      if (out.includes("poretrack listening on")) resolve()
    })
    child.once("exit", (code) => reject(new Error(`server exited ${code}`)))
  })

export const seedSamples = async (base: string, auth: Record<string, string>, databaseUrl: string, count: number) => {
  const created = await fetch(`${base}/api/v1/samples`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({ sampleName: "template", submitterEmail: "t@lab.example", flowCellType: "R10.4.1", libraryKit: "SQK-LSK114" })
  }).then((r) => r.json() as Promise<{ id: string; submissionId: string }>)
  await fetch(`${base}/api/v1/samples/${created.id}/receive`, { method: "POST", headers: auth })
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const t0 = Date.now()
  // Submissions of 50 samples each, submitter user<k % 500>: each submitter has count / 25,000 of them.
  await db.query(`
    INSERT INTO submissions (id, number, submitter_email, source, sample_count, data, created_by, created_at)
    SELECT gen_random_uuid(), 'BENCH-' || lpad(k::text, 6, '0'), 'user' || (k % 500) || '@lab.example', 'api', 50,
      jsonb_build_object('submitterName', 'User ' || (k % 500)), 'bench', now() - ($1::int - k * 50) * interval '1 second'
    FROM generate_series(0, ($1::int - 1) / 50) k`, [count])
  await db.query(`
    INSERT INTO samples (id, submission_id, position, name, submitter_email, priority, priority_rank, status,
      current_step, step_state, step_due_at, queued_at, turnaround_due_at, created_at, updated_at, version, state)
    SELECT g.id, b.id, 1 + (g.n - 1) % 50, g.name, b.submitter_email,
      (ARRAY['low','normal','high','urgent'])[1 + (g.n / 8) % 4], (g.n / 8) % 4,
      CASE WHEN g.n % 10 < 7 THEN 'in_progress' WHEN g.n % 10 < 9 THEN 'completed' ELSE 'submitted' END,
      CASE WHEN g.n % 10 < 7 THEN (ARRAY['sample_qc','library_prep','library_qc','sequencing_setup','sequencing_run','basecalling','quality_assessment','data_delivery'])[1 + g.n % 8] END,
      CASE WHEN g.n % 10 < 7 THEN 'queued' END,
      now() + (g.n % 1000) * interval '1 minute', now() - (g.n % 777) * interval '1 minute',
      CASE WHEN g.n % 10 < 7 THEN now() + interval '5 days' + (g.n % 4321) * interval '1 minute' END,
      now() - (${count} - g.n) * interval '1 second', now(), 2,
      jsonb_set(jsonb_set(jsonb_set(t.state, '{id}', to_jsonb(g.id::text)), '{sampleName}', to_jsonb(g.name)),
        '{priority}', to_jsonb((ARRAY['low','normal','high','urgent'])[1 + (g.n / 8) % 4]))
    FROM (SELECT n, gen_random_uuid() AS id, 'S' || n || '-' || md5(n::text) AS name FROM generate_series(1, $1::int) n) g
      JOIN submissions b ON b.number = 'BENCH-' || lpad(((g.n - 1) / 50)::text, 6, '0'),
      (SELECT state FROM samples WHERE id = $2) t`, [count, created.id])
  // History for the dashboard: every sample received over the last 8 weeks; the completed ones (20 %) with a start
  // and a completion of each of the eight steps and a SampleCompleted (about 18 events per completed sample).
  await db.query(`
    WITH s AS (
      SELECT id, submission_id, status, now() - (row_number() OVER (ORDER BY seq) % 56) * interval '1 day'
        - (row_number() OVER (ORDER BY seq) % 1440) * interval '1 minute' AS received_at
      FROM samples WHERE id <> $1
    ), steps AS (
      SELECT * FROM unnest(ARRAY['sample_qc','library_prep','library_qc','sequencing_setup','sequencing_run','basecalling','quality_assessment','data_delivery'])
        WITH ORDINALITY AS t(step, n)
    )
    INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
    SELECT gen_random_uuid(), s.id, s.submission_id, 'SampleReceived', 2, 'bench', s.received_at, '{"step":"sample_qc"}'::jsonb FROM s
    UNION ALL
    SELECT gen_random_uuid(), s.id, s.submission_id, e.type, 2, 'bench', s.received_at + (steps.n * 2 + e.k) * interval '1 hour',
      jsonb_build_object('step', steps.step, 'attempt', 1)
    FROM s, steps, (VALUES ('WorkflowStepStarted', 0), ('WorkflowStepCompleted', 1)) e(type, k) WHERE s.status = 'completed'
    UNION ALL
    SELECT gen_random_uuid(), s.id, s.submission_id, 'SampleCompleted', 2, 'bench', s.received_at + interval '18 hours', '{}'::jsonb
    FROM s WHERE s.status = 'completed'`, [created.id])
  await db.query("ANALYZE samples")
  await db.query("ANALYZE submissions")
  await db.query("ANALYZE sample_events")
  const events = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM sample_events")
  await db.end()
  return { events: events.rows[0]?.n ?? 0, seconds: (Date.now() - t0) / 1000 }
}

const main = async () => {
  const dbName = `poretrack_bench_lists_${randomUUID().replace(/-/g, "").slice(0, 10)}`
  const admin = new pg.Client({ connectionString: ADMIN })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${dbName}`)
  const url = new URL(ADMIN)
  url.pathname = `/${dbName}`
  const port = freePort()
  const child = spawn(process.execPath, ["--import", "tsx", "runtime/start.ts"], {
    env: { ...process.env, DATABASE_URL: url.toString(), PORT: String(port), RUNNER_PORT: String(freePort()), HTTP_HOST: "127.0.0.1", PORETRACK_ADMIN_TOKEN: TOKEN },
    stdio: ["ignore", "pipe", "inherit"]
  })
  const base = `http://127.0.0.1:${port}`
  try {
    await untilListening(child)
    const seeded = await seedSamples(base, AUTH, url.toString(), COUNT)
    console.log(`loaded ${COUNT} samples and ${seeded.events} events in ${seeded.seconds.toFixed(1)} s`)

    const time = async (label: string, path: string) => {
      const ms: Array<number> = []
      let items = 0
      for (let i = 0; i < REPEAT; i++) {
        const s = performance.now()
        const res = await fetch(`${base}${path}`, { headers: AUTH })
        const body = (await res.json()) as { items?: Array<unknown> }
        ms.push(performance.now() - s)
        if (!res.ok) throw new Error(`${path} → ${res.status}`)
        items = body.items?.length ?? 0
      }
      console.log(`${label.padEnd(44)} p50 ${percentile(ms, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(ms, 99).toFixed(1).padStart(6)} ms  (${items} items)`)
    }
    console.log(`\n${cpus().length} cores, ${new Date().toISOString()}, ${COUNT} samples, ${REPEAT} requests each, limit 50`)
    await time("list, newest first", "/api/v1/samples?limit=50")
    await time("list, status=in_progress", "/api/v1/samples?status=in_progress&limit=50")
    await time("list, step=basecalling&priority=urgent", "/api/v1/samples?step=basecalling&priority=urgent&limit=50")
    await time("list, submitter", "/api/v1/samples?submitter=user7%40lab.example&limit=50")
    await time("list, text search q=4242", "/api/v1/samples?q=4242&limit=50")
    await time("queue library_prep (first page)", "/api/v1/queues/library_prep?limit=50")
    // The web app's reads over typed RPC, as it calls them: one NDJSON request per call. Returns the last answer.
    const rpc = async (tag: string, payload: Record<string, unknown>, label = `${tag} ${JSON.stringify(payload)}`) => {
      const ms: Array<number> = []
      let value: { nextCursor?: string | null; items?: Array<unknown>; total?: number } = {}
      for (let i = 0; i < REPEAT; i++) {
        const s = performance.now()
        const res = await fetch(`${base}/rpc`, {
          method: "POST",
          headers: { "content-type": "application/ndjson", ...AUTH },
          body: `${JSON.stringify({ _tag: "Request", id: String(i), tag, payload, headers: [] })}\n`
        })
        const text = await res.text()
        ms.push(performance.now() - s)
        if (!res.ok || !text.includes('"_tag":"Success"')) throw new Error(`${tag} → ${res.status} ${text.slice(0, 300)}`)
        const exit = text.split("\n").map((l) => (l.trim() === "" ? {} : JSON.parse(l) as { _tag?: string; exit?: { value?: typeof value } })).find((m) => m._tag === "Exit")
        value = exit?.exit?.value ?? {}
      }
      const items = value.items === undefined ? "" : `  (${value.items.length} items${value.total === undefined ? "" : `, total ${value.total}`})`
      console.log(`${label.slice(0, 60).padEnd(60)} p50 ${percentile(ms, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(ms, 99).toFixed(1).padStart(6)} ms${items}`)
      return value
    }
    await rpc("Dashboard.Get", {})
    await rpc("Dashboard.Get", { weeks: 26, timeZone: "Europe/Berlin" })
    // The submissions page: newest first with progress, the next page, and searches by number and by submitter.
    const submissions = await rpc("Submissions.List", { limit: 50 })
    await rpc("Submissions.List", { limit: 50, cursor: submissions.nextCursor }, "Submissions.List, second page by cursor")
    await rpc("Submissions.List", { limit: 50, q: "BENCH-0012" })
    await rpc("Submissions.List", { limit: 50, q: "user7@lab.example" })
    await rpc("Submissions.List", { limit: 50, q: "nothing-matches-this" })
    const one = (submissions.items?.[0] as { submission?: { id?: string } } | undefined)?.submission?.id
    await rpc("Submissions.Get", { id: one }, "Submissions.Get (50 samples)")
    // The sample list in every order: first page, the page after it, filtered by status and by submitter.
    for (const sort of ["created_desc", "created_asc", "name_asc", "priority", "due_asc"]) {
      const first = await rpc("Samples.List", { sort, limit: 50 }, `Samples.List sort=${sort}`)
      await rpc("Samples.List", { sort, limit: 50, cursor: first.nextCursor }, `Samples.List sort=${sort}, second page`)
      await rpc("Samples.List", { sort, limit: 50, status: "in_progress" }, `Samples.List sort=${sort}, status=in_progress`)
      await rpc("Samples.List", { sort, limit: 50, submitter: "user7@lab.example" }, `Samples.List sort=${sort}, submitter`)
    }
    await rpc("Samples.List", { limit: 50, withTotal: true }, "Samples.List withTotal (all)")
    await rpc("Samples.List", { limit: 50, status: "in_progress", withTotal: true }, "Samples.List withTotal, status=in_progress")
    const page = (await fetch(`${base}/api/v1/samples?status=in_progress&limit=50`, { headers: AUTH }).then((r) => r.json())) as { nextCursor: string }
    await time("list, second page by cursor", `/api/v1/samples?status=in_progress&limit=50&cursor=${page.nextCursor}`)
  } finally {
    child.kill("SIGTERM")
    await new Promise((r) => child.once("exit", r))
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    await admin.end()
  }
}

// Run as a script (not when bench/web.ts imports the loader).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e)
    process.exit(1)
  })
}
