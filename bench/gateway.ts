/**
 * The door under load, from a second process (autocannon on 127.0.0.1): requests/s and latency of the bare HTTP stack
 * (`/health/live`), of authentication + rate limiting alone (`GET /api/v1/me`), of `GET /api/v1/samples/{id}` and of an
 * authenticated advance (each of BENCH_GATEWAY_SAMPLES received samples completes sample QC once). Starts `npm start`
 * on a fresh database of BENCH_DATABASE_URL (default the local server). Run: `npm run bench:gateway`.
 */
import autocannon from "autocannon"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import pg from "pg"

const ADMIN = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const SAMPLES = Number(process.env.BENCH_GATEWAY_SAMPLES ?? 3000)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const TOKEN = "bench-admin-token-0123456789abcdef"
const AUTH = { authorization: `Bearer ${TOKEN}` }
const JSON_HEADERS = { ...AUTH, "content-type": "application/json" }

const port = 20_000 + Math.floor(Math.random() * 10_000)
const base = `http://127.0.0.1:${port}`

interface Row {
  readonly what: string
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly non2xx: number
  readonly errors: number
}

const run = (what: string, options: autocannon.Options): Promise<Row> =>
  new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, ...options }, (error, result) => {
      if (error) return reject(error)
      resolve({
        what,
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts
      })
    })
  })

const main = async () => {
  const dbName = `poretrack_bench_gateway_${randomUUID().replace(/-/g, "").slice(0, 10)}`
  const admin = new pg.Client({ connectionString: ADMIN })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${dbName}`)
  const url = new URL(ADMIN)
  url.pathname = `/${dbName}`
  const child = spawn(process.execPath, ["--import", "tsx", "runtime/start.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: url.toString(),
      PORT: String(port),
      RUNNER_PORT: String(port + 1),
      RUNNER_HOST: "127.0.0.1",
      HTTP_HOST: "127.0.0.1",
      PORETRACK_ADMIN_TOKEN: TOKEN,
      // The limiter still runs on every request (its cost is measured); its limit is set above what this load reaches.
      RATE_LIMIT_PER_SECOND: "1000000",
      RATE_LIMIT_BURST: "1000000",
      LOG_LEVEL: "Warn"
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ""
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes("poretrack listening on")) resolve()
      })
      child.once("exit", (code) => reject(new Error(`server exited ${code}`)))
    })
    // Samples to read and to advance, created and received through the API in submissions of 500.
    const ids: Array<string> = []
    for (let made = 0; made < SAMPLES; made += 500) {
      const n = Math.min(500, SAMPLES - made)
      const res = await fetch(`${base}/api/v1/submissions`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ submitterEmail: "bench@lab.example", samples: Array.from({ length: n }, (_, i) => ({ sampleName: `g-${made + i}`, libraryKit: "SQK-LSK114" })) })
      })
      const body = (await res.json()) as { samples: Array<{ id: string }> }
      const batch = body.samples.map((s) => s.id)
      await fetch(`${base}/api/v1/samples/batch/receive`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ sampleIds: batch }) })
      ids.push(...batch)
    }
    const one = ids[0]!
    const rows: Array<Row> = []
    const duration = SECONDS
    rows.push(await run("GET /health/live (no auth: the HTTP stack)", { url: `${base}/health/live`, duration }))
    rows.push(await run("GET /api/v1/me (door + HttpApi + API key + rate limit)", { url: `${base}/api/v1/me`, headers: AUTH, duration }))
    rows.push(await run("GET /api/v1/samples/{id}", { url: `${base}/api/v1/samples/${one}`, headers: AUTH, duration }))
    let next = 0
    rows.push(await run(`POST …/workflow/advance (${ids.length} samples, each once)`, {
      url: base,
      amount: ids.length,
      requests: [{
        method: "POST",
        headers: JSON_HEADERS,
        setupRequest: (request) => {
          const id = ids[next++ % ids.length]!
          return { ...request, path: `/api/v1/samples/${id}/workflow/advance`, body: JSON.stringify({ expectedStep: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } }) }
        }
      }]
    }))
    const check = await fetch(`${base}/api/v1/samples?step=library_prep&limit=1`, { headers: AUTH }).then((r) => r.json() as Promise<{ items: Array<unknown> }>)
    console.log(`\ngateway under load: ${CONNECTIONS} connections, ${SECONDS} s per read route (node ${process.version})`)
    console.log("| route | requests/s | p50 ms | p99 ms | non-2xx | errors |")
    console.log("|---|---|---|---|---|---|")
    for (const r of rows) console.log(`| ${r.what} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`)
    console.log(`advanced samples now in library_prep: ${check.items.length > 0 ? "yes" : "NO"}`)
  } finally {
    child.kill("SIGTERM")
    await new Promise((resolve) => child.once("exit", resolve))
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined)
    await admin.end()
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e)
  process.exit(1)
})
