/**
 * Export at scale: BENCH_EXPORT_ROWS (default 1,000,000) synthetic sample rows in the persisted shape
 * (actors/export/SyntheticSamples.ts) through the export's Effect entry point (ExportWriter.writeExport, fed by an
 * Effect Stream as the export job feeds it; 4,800 distinct documents made before the clock starts, cycled) to CSV and
 * to XLSX files on disk, the default column set (20 columns).
 * Then, unless BENCH_EXPORT_PG=0, the same rows read back from PostgreSQL by the export job's own path: a throwaway
 * database with poretrack's schema (every migration), its `submissions` and `samples` filled by
 * `INSERT … SELECT generate_series`, read by ExportRepo's projected cursor in its transaction (the columns' paths
 * extracted by PostgreSQL: what actors/ExportJobEntity.ts runs) into CSV and into XLSX.
 *
 * Each run is its own child process, so that its peak RSS (the kernel's maxRSS, not a sample) is its own. Reports
 * rows/s by the wall clock, rows per CPU-second (what the machine gives when shared), peak RSS and file size.
 * Targets (issue 11): peak RSS under 300 MB for every run; CSV at least 50,000 rows/s, from memory and from PostgreSQL.
 * Run: `npm run bench:export` (BENCH_EXPORT_PG=0 or BENCH_EXPORT_MEMORY=0 runs one half). Never part of `npm test`.
 */
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import { fork } from "node:child_process"
import { createWriteStream, readFileSync } from "node:fs"
import { mkdtemp, rm, stat } from "node:fs/promises"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import pg from "pg"
import { migrate } from "../persistence/Migrations.ts"
import { ExportRepo } from "../persistence/ExportRepo.ts"
import { EXPORT_COLUMNS, projectionOf, rowOf, selectColumns, type ExportSample } from "../actors/export/ExportColumns.ts"
import { writeExport, type TableFormat } from "../actors/export/ExportWriter.ts"
import { syntheticSample } from "../actors/export/SyntheticSamples.ts"

const ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000)
const ADMIN = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const FETCH = 5_000
/**
 * The V8 old-space cap of each export process, in MB (BENCH_EXPORT_HEAP_MB; 0 = V8's default). V8 grows its heap
 * lazily long before it must: uncapped, a 1,000,000-row export peaks at ~350 MB RSS although its live heap after a
 * collection stays ~50 MB whatever the row count. The cap shows the export's real bound; the report prints both the
 * peak and the live heap at the end.
 */
const HEAP_MB = Number(process.env.BENCH_EXPORT_HEAP_MB ?? 128)
/** Distinct state documents in the PostgreSQL table (every sample is one of them with its own id, name and number). */
const TEMPLATES = 4_800

type Phase = "csv" | "xlsx" | "pg-csv" | "pg-xlsx"

interface Result {
  readonly phase: Phase
  readonly rows: number
  readonly seconds: number
  readonly cpuSeconds: number
  readonly peakRssMb: number
  /** RSS before the first row (Node, the tsx loader, Effect, exceljs, pg loaded). */
  readonly baseRssMb: number
  /** Heap in use after the export and a full collection. */
  readonly liveHeapMb: number
  readonly fileMb: number
  readonly loadBefore: number
  /**
   * CPU seconds of the PostgreSQL backend that served the cursor (its /proc entry; PostgreSQL on this machine), or null
   * from memory or when it is not readable. What PostgreSQL alone costs per row bounds the job's rows/s.
   */
  readonly backendCpuSeconds: number | null
}

/** User + system CPU seconds of process `pid` from /proc, or null when it is not readable (another host, say). */
const processCpuSeconds = (pid: number): number | null => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return null
  }
}

/**
 * Samples from memory as an Effect Stream, chunked as a cursor would page them: TEMPLATES distinct synthetic documents
 * made before the clock starts and cycled, so the figure is the export's work (each row computed from a whole state,
 * encoded, written), not the generator's (making a document costs about as much as exporting it).
 */
const syntheticRows = (count: number): Stream.Stream<ExportSample> => {
  const pool = Array.from({ length: Math.min(TEMPLATES, count) }, (_, i) => syntheticSample(i))
  return Stream.range(0, count - 1, FETCH).pipe(Stream.mapChunks(Chunk.map((i) => pool[i % pool.length]!)))
}

/** Creates the throwaway database and fills it; returns its URL and a function that drops it. */
const makeDatabase = async (count: number) => {
  const name = `poretrack_bench_export_${process.pid}`
  const admin = new pg.Client({ connectionString: ADMIN })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${name}`)
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(ADMIN)
  url.pathname = `/${name}`
  const db = new pg.Client({ connectionString: url.toString() })
  await db.connect()
  const started = performance.now()
  // The real schema (every migration), so the job's own cursor query runs against the job's own tables and indexes.
  await Effect.runPromise(migrate.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url.toString()) }))))
  await db.query(`CREATE TEMP TABLE bench_templates (v int PRIMARY KEY, state jsonb NOT NULL)`)
  for (let from = 0; from < TEMPLATES; from += 400) {
    const states = Array.from({ length: Math.min(400, TEMPLATES - from) }, (_, k) => syntheticSample(from + k).state)
    await db.query(
      `INSERT INTO bench_templates (v, state) SELECT v, s FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(s, v0), LATERAL (SELECT $2::int + v0::int - 1 AS v) x`,
      [JSON.stringify(states), from]
    )
  }
  // Submissions of 96 samples; every sample its template's state with its own id, submission, name and number (as
  // syntheticSample makes them), its list columns filled from the state as the entity's commit fills them.
  await db.query(`
    INSERT INTO submissions (id, number, submitter_email, source, sample_count, data, created_by, created_at)
    SELECT ('00000001-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, 'HTSF--JL-' || k, 'bench@facility.example', 'api', 96, '{}'::jsonb, 'bench', now()
    FROM generate_series(0, ($1::int - 1) / 96) AS k`, [count])
  await db.query(`
    INSERT INTO samples (id, submission_id, position, name, submitter_email, priority, priority_rank, status, created_at, updated_at, version, state)
    SELECT (x.state->>'id')::uuid, (x.state->>'submissionId')::uuid, (g % 96) + 1, x.state->>'sampleName', x.state->>'submitterEmail',
      x.state->>'priority', 1, x.state->>'status', now(), now(), (x.state->>'version')::int, x.state
    FROM generate_series(0, $1::int - 1) AS g JOIN bench_templates t ON t.v = g % ${TEMPLATES},
      LATERAL (SELECT t.state || jsonb_build_object(
        'id', '00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'),
        'submissionId', '00000001-0000-4000-8000-' || lpad(to_hex(g / 96), 12, '0'),
        'sampleName', 'S' || lpad(((g % 96) + 1)::text, 2, '0') || '_isolate-' || g) AS state) x
    ORDER BY g`, [count])
  await db.query("ANALYZE samples")
  const seconds = (performance.now() - started) / 1000
  await db.end()
  return {
    url: url.toString(),
    seconds,
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    }
  }
}

/** One phase, in this (child) process: writes the file and reports. */
const runPhase = async (phase: Phase, dir: string, databaseUrl: string | undefined): Promise<Result> => {
  const columns = await Effect.runPromise(selectColumns())
  const toRow = rowOf(columns)
  const format: TableFormat = phase === "xlsx" || phase === "pg-xlsx" ? "xlsx" : "csv"
  const path = join(dir, `${phase}.${format}`)
  const memoryRows = databaseUrl === undefined ? syntheticRows(ROWS) : undefined
  let backendCpuSeconds: number | null = null
  const loadBefore = loadavg()[0] ?? 0
  global.gc?.()
  const baseRssMb = process.memoryUsage().rss / 1048576
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const sink = createWriteStream(path)
  const rows = await Effect.runPromise(
    databaseUrl === undefined
      ? writeExport({ format, columns, rows: Stream.mapChunks(memoryRows!, Chunk.map(toRow)), sink })
      // What the export job runs (actors/ExportJobEntity.ts): ExportRepo's cursor in its transaction over the paths
      // the columns read (extracted by PostgreSQL), every sample of the default filter, each row computed and written.
      : Effect.gen(function*() {
        const repo = yield* ExportRepo
        const sql = yield* SqlClient.SqlClient
        const projection = projectionOf(columns)
        return yield* Effect.gen(function*() {
          const pid = (yield* sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`)[0]?.pid ?? 0
          const before = processCpuSeconds(pid)
          const rows = yield* writeExport({ format, columns, rows: Stream.mapChunks(repo.projectedCursor({}, "bench_export", projection.paths), Chunk.map(projection.row)), sink })
          const after = processCpuSeconds(pid)
          backendCpuSeconds = before === null || after === null ? null : after - before
          return rows
        }).pipe(
          repo.withTransaction
        )
      }).pipe(
        Effect.provide(ExportRepo.Default.pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(databaseUrl) }))))
      )
  )
  await new Promise<void>((resolve, reject) => sink.end((e?: Error | null) => (e ? reject(e) : resolve())))
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  global.gc?.()
  const liveHeapMb = process.memoryUsage().heapUsed / 1048576
  return {
    phase,
    rows,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    baseRssMb,
    liveHeapMb,
    fileMb: (await stat(path)).size / 1048576,
    loadBefore,
    backendCpuSeconds
  }
}

/** Runs one phase in a child process (this file, with the same node flags) and waits for its result. */
const inChild = (phase: Phase, dir: string, databaseUrl?: string) =>
  new Promise<Result>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--phase", phase, dir, ...(databaseUrl ? [databaseUrl] : [])], {
      stdio: "inherit",
      execArgv: [...process.execArgv, ...(HEAP_MB > 0 ? [`--max-old-space-size=${HEAP_MB}`] : [])]
    })
    let result: Result | undefined
    child.on("message", (m) => {
      result = m as Result
    })
    child.on("error", reject)
    child.on("exit", (code) => (result !== undefined ? resolve(result) : reject(new Error(`phase ${phase} exited with ${code}`))))
  })

const report = (r: Result) =>
  console.log(
    `${r.phase.padEnd(7)} ${r.rows.toLocaleString("en")} rows in ${r.seconds.toFixed(1)} s: ` +
      `${Math.round(r.rows / r.seconds).toLocaleString("en")} rows/s (${Math.round(r.rows / r.cpuSeconds).toLocaleString("en")} per CPU-second), ` +
      `peak RSS ${r.peakRssMb.toFixed(0)} MB (${r.baseRssMb.toFixed(0)} MB before the first row, live heap after ${r.liveHeapMb.toFixed(0)} MB), ` +
      `file ${r.fileMb.toFixed(0)} MB, load average before ${r.loadBefore.toFixed(1)}` +
      (r.backendCpuSeconds === null ? "" : `; PostgreSQL's backend ${(r.backendCpuSeconds * 1e6 / r.rows).toFixed(1)} µs of CPU per row (alone, at most ${Math.round(r.rows / r.backendCpuSeconds).toLocaleString("en")} rows/s)`)
  )

const main = async () => {
  const phaseAt = process.argv.indexOf("--phase")
  if (phaseAt >= 0) {
    const phase = process.argv[phaseAt + 1] as Phase
    const result = await runPhase(phase, process.argv[phaseAt + 2]!, process.argv[phaseAt + 3])
    process.send?.(result)
    return
  }
  const dir = await mkdtemp(join(tmpdir(), "poretrack-bench-export-"))
  console.log(
    `bench:export: ${ROWS.toLocaleString("en")} rows, ${(await Effect.runPromise(selectColumns())).length} of ${EXPORT_COLUMNS.length} columns, ` +
      `${HEAP_MB > 0 ? `old space capped at ${HEAP_MB} MB` : "V8's default heap"}, files in ${dir}`
  )
  try {
    // BENCH_EXPORT_MEMORY=0 skips the runs from memory (to measure the PostgreSQL path alone).
    const results = process.env.BENCH_EXPORT_MEMORY === "0" ? [] : [await inChild("csv", dir), await inChild("xlsx", dir)]
    results.forEach(report)
    if (process.env.BENCH_EXPORT_PG !== "0") {
      const db = await makeDatabase(ROWS)
      console.log(`PostgreSQL: ${ROWS.toLocaleString("en")} state documents written by INSERT … SELECT generate_series in ${db.seconds.toFixed(1)} s`)
      try {
        for (const phase of ["pg-csv", "pg-xlsx"] as const) {
          const r = await inChild(phase, dir, db.url)
          results.push(r)
          report(r)
        }
      } finally {
        await db.drop()
      }
    }
    // The CSV target holds for the writer alone and for the job's whole path from PostgreSQL when that ran.
    const csvRuns = results.filter((r) => r.phase === "csv" || r.phase === "pg-csv")
    const ok = results.every((r) => r.peakRssMb < 300) && csvRuns.every((r) => r.rows / r.seconds >= 50_000)
    console.log(`targets (peak RSS < 300 MB for every run, CSV ≥ 50,000 rows/s from memory and from PostgreSQL): ${ok ? "met" : "NOT met"}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
