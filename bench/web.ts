/**
 * The web app at 100,000 samples, in Debian's Chromium: (a) the dashboard's time to interactive, navigation start to
 * its figures and charts drawn and the main thread idle (median of 5 cold loads, each in a fresh browser context);
 * (b) live latency, from a REST command (receive a sample) to the change on open pages: the sample's own page and the
 * dashboard's "Received today" (median and max of 20); (c) the production bundle, gzip bytes of the JS and CSS that
 * signing in and opening the dashboard load. Serves the build in web/dist (or WEB_DIST): run `npm run build` first.
 * The database server is DATABASE_URL's (default the local 127.0.0.1:5432); a fresh database is made and dropped.
 * Samples are loaded by bench/lists.ts's loader. Run: `npm run build && npm run bench:web`. Never part of `npm test`.
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { cpus } from "node:os"
import { join, resolve } from "node:path"
import { gzipSync } from "node:zlib"
import pg from "pg"
import type { BrowserContext, Page } from "playwright-core"
import { launchChromium } from "../test/browser/Chromium.ts"
import { seedSamples, untilListening } from "./lists.ts"

const ADMIN = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const COUNT = Number(process.env.BENCH_WEB_SAMPLES ?? 100_000)
const COLD_LOADS = 5
const LIVE_ROUNDS = 20
const DIST = resolve(process.env.WEB_DIST ?? "web/dist")
const TOKEN = "bench-admin-token-0123456789abcdef"
const AUTH = { authorization: `Bearer ${TOKEN}` }
const EMAIL = "bench.tech@lab.example"
const PASSWORD = "bench password for the technician"
const VIEWPORT = { width: 1280, height: 800 }

const freePort = () => 20_000 + Math.floor(Math.random() * 12_000)
const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const ms = (n: number) => `${Math.round(n).toLocaleString("en-US")} ms`

/**
 * Runs in the page before its scripts: marks `__ready` when the dashboard says its data is in (data-ready) and every
 * chart that has data has drawn its axes, then `__tti` at the first idle period after that (the main thread free).
 */
const MEASURE_TTI = () => {
  const w = globalThis as unknown as { __ready?: number; __tti?: number; __cls?: number }
  // Layout shifts not caused by input, summed (the cumulative layout shift): "no layout jumps" is a figure near 0.
  w.__cls = 0
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { value: number; hadRecentInput: boolean }>) {
      if (!e.hadRecentInput) w.__cls = (w.__cls ?? 0) + e.value
    }
  }).observe({ type: "layout-shift", buffered: true })
  const drawn = () => {
    const root = document.querySelector(".dashboard[data-ready=true]")
    if (root === null) return false
    return [...root.querySelectorAll("figure[data-chart=drawn]")].every((f) => f.querySelector("svg.recharts-surface .recharts-cartesian-axis") !== null)
  }
  const observer = new MutationObserver(() => {
    if (w.__ready !== undefined || !drawn()) return
    w.__ready = performance.now()
    observer.disconnect()
    requestIdleCallback(() => {
      w.__tti = performance.now()
    })
  })
  observer.observe(document, { subtree: true, childList: true, attributes: true })
}

/** Resolves with the page's clock (Date.now) when `selector`'s text or `attribute` becomes `expected`. */
const whenShows = (page: Page, selector: string, expected: string, attribute?: string) =>
  page.evaluate(([selector, expected, attribute]) =>
    new Promise<number>((resolve) => {
      const read = () => {
        const el = document.querySelector(selector!)
        return el === null ? null : attribute ? el.getAttribute(attribute) : el.textContent
      }
      const check = () => {
        if (read() !== expected) return false
        observer.disconnect()
        resolve(Date.now())
        return true
      }
      const observer = new MutationObserver(check)
      observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true })
      check()
    }), [selector, expected, attribute] as const)

/** tsx keeps function names with a `__name` helper the page lacks; functions sent to the page get a no-op one. */
const NAME_SHIM = "globalThis.__name = globalThis.__name || ((f) => f)"

const RECEIVED_TODAY = ".dashboard [role=group][aria-label='Received today'] .stat"

const main = async () => {
  if (!existsSync(join(DIST, "index.html"))) {
    throw new Error(`${DIST}/index.html is missing: build the web app first (npm run build), or point WEB_DIST at a build`)
  }
  const dbName = `poretrack_bench_web_${randomUUID().replace(/-/g, "").slice(0, 10)}`
  const admin = new pg.Client({ connectionString: ADMIN })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${dbName}`)
  const url = new URL(ADMIN)
  url.pathname = `/${dbName}`
  const port = freePort()
  const child = spawn(process.execPath, ["--import", "tsx", "runtime/start.ts"], {
    env: {
      ...process.env, DATABASE_URL: url.toString(), PORT: String(port), RUNNER_PORT: String(freePort()), HTTP_HOST: "127.0.0.1",
      PORETRACK_ADMIN_TOKEN: TOKEN, WEB_DIST: DIST, LOG_LEVEL: "Warn",
      // Many fresh sign-ins from one address: the limits measure nothing here.
      RATE_LIMIT_PER_SECOND: "100000", RATE_LIMIT_BURST: "100000", RATE_LIMIT_ANONYMOUS_PER_SECOND: "100000", RATE_LIMIT_ANONYMOUS_BURST: "100000"
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  const base = `http://127.0.0.1:${port}`
  const browser = await launchChromium()
  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...AUTH, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 500)}`)
    return text === "" ? undefined : (JSON.parse(text) as unknown)
  }
  try {
    await untilListening(child)
    const seeded = await seedSamples(base, AUTH, url.toString(), COUNT)
    console.log(`loaded ${COUNT} samples and ${seeded.events} events in ${seeded.seconds.toFixed(1)} s`)
    await rest("POST", "/api/v1/users", { email: EMAIL, name: "Bench Technician", role: "technician", password: PASSWORD })
    // The samples the live rounds receive, waiting for receipt.
    const fresh = (await rest("POST", "/api/v1/submissions", {
      submitterEmail: "live@lab.example",
      source: "api",
      priority: "normal",
      flowCellType: "R10.4.1",
      samples: Array.from({ length: LIVE_ROUNDS }, (_, i) => ({ sampleName: `LIVE-${i + 1}`, libraryKit: "SQK-LSK114" }))
    })) as { samples: Array<{ id: string }> }

    /** A fresh context (empty cache) signed in through the API, as the sign-in form would. */
    const signedInContext = async (): Promise<BrowserContext> => {
      const context = await browser.newContext({ baseURL: base, viewport: VIEWPORT })
      await context.addInitScript({ content: NAME_SHIM })
      const res = await context.request.post("/api/v1/auth/login", { data: { email: EMAIL, password: PASSWORD } })
      if (!res.ok()) throw new Error(`sign-in → ${res.status()} ${await res.text()}`)
      return context
    }

    // (c) first, as a person does it: the sign-in page, the form, then the dashboard; every JS and CSS file fetched.
    const bundle = await (async () => {
      const context = await browser.newContext({ baseURL: base, viewport: VIEWPORT })
      const page = await context.newPage()
      const files = new Set<string>()
      page.on("response", (r) => {
        const path = new URL(r.url()).pathname
        if (/^\/assets\/.+\.(js|css)$/.test(path)) files.add(path)
      })
      await page.goto("/signin", { waitUntil: "networkidle" })
      const signIn = new Set(files)
      await page.getByLabel("E-mail").fill(EMAIL)
      await page.getByLabel("Password").fill(PASSWORD)
      await page.getByRole("button", { name: "Sign in" }).click()
      await page.locator(".dashboard[data-ready=true]").waitFor({ timeout: 120_000 })
      await page.waitForLoadState("networkidle")
      await context.close()
      const size = (path: string) => {
        const bytes = readFileSync(join(DIST, path))
        return { path, raw: bytes.length, gzip: gzipSync(bytes).length }
      }
      return { signIn: [...signIn].map(size), dashboard: [...files].filter((f) => !signIn.has(f)).map(size) }
    })()

    // (a) cold loads of the dashboard, signed in, each in a fresh context.
    const loads: Array<{ ready: number; tti: number; data: number; cls: number }> = []
    for (let i = 0; i < COLD_LOADS; i++) {
      const context = await signedInContext()
      await context.addInitScript(MEASURE_TTI)
      const page = await context.newPage()
      await page.goto("/dashboard")
      await page.waitForFunction(() => (globalThis as unknown as { __tti?: number }).__tti !== undefined, undefined, { timeout: 120_000 })
      const t = await page.evaluate(() => {
        const w = globalThis as unknown as { __ready: number; __tti: number; __cls: number }
        const rpc = performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/rpc")).map((e) => e.duration)
        return { ready: w.__ready, tti: w.__tti, data: Math.max(0, ...rpc), cls: w.__cls }
      })
      loads.push(t)
      await context.close()
    }

    // (b) live: a sample's page and the dashboard open; the sample received through the API; both pages change.
    const context = await signedInContext()
    const samplePage = await context.newPage()
    const dashboard = await context.newPage()
    await dashboard.goto("/dashboard")
    await dashboard.locator(".dashboard[data-ready=true]").waitFor({ timeout: 120_000 })
    const sampleMs: Array<number> = []
    const dashboardMs: Array<number> = []
    for (const { id } of fresh.samples) {
      await samplePage.goto(`/samples/${id}`)
      const version = await samplePage.locator("[data-sample-version]").getAttribute("data-sample-version", { timeout: 30_000 })
      await dashboard.locator(".dashboard[data-ready=true]").waitFor({ timeout: 120_000 })
      const before = Number(await dashboard.locator(RECEIVED_TODAY).textContent())
      const sampleSees = whenShows(samplePage, "[data-sample-version]", String(Number(version) + 1), "data-sample-version")
      const dashboardSees = whenShows(dashboard, RECEIVED_TODAY, String(before + 1))
      const t0 = Date.now()
      await rest("POST", `/api/v1/samples/${id}/receive`)
      sampleMs.push((await sampleSees) - t0)
      dashboardMs.push((await dashboardSees) - t0)
    }
    await context.close()

    const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`
    const sum = (xs: ReadonlyArray<{ gzip: number }>) => xs.reduce((n, x) => n + x.gzip, 0)
    console.log(`\n${cpus().length} cores, ${new Date().toISOString()}, ${COUNT} samples, Chromium ${browser.version()}, ${VIEWPORT.width}×${VIEWPORT.height}`)
    const rows: Array<[string, string]> = [
      [`dashboard ready: data drawn, charts drawn (median of ${COLD_LOADS} cold loads)`, ms(median(loads.map((l) => l.ready)))],
      [`dashboard time to interactive: then main thread idle (median of ${COLD_LOADS})`, ms(median(loads.map((l) => l.tti)))],
      ["  of which Dashboard.Get request (median)", ms(median(loads.map((l) => l.data)))],
      ["  each cold load, time to interactive", loads.map((l) => Math.round(l.tti)).join(", ") + " ms"],
      ["dashboard layout shift while loading (CLS, max of the loads; < 0.1 is good)", Math.max(...loads.map((l) => l.cls)).toFixed(3)],
      [`live: REST receive → sample page shows it (median / max of ${LIVE_ROUNDS})`, `${ms(median(sampleMs))} / ${ms(Math.max(...sampleMs))}`],
      [`live: REST receive → dashboard "Received today" +1 (median / max of ${LIVE_ROUNDS})`, `${ms(median(dashboardMs))} / ${ms(Math.max(...dashboardMs))}`],
      [`bundle: sign-in page, gzip (${bundle.signIn.length} files)`, kb(sum(bundle.signIn))],
      [`bundle: dashboard adds, gzip (${bundle.dashboard.length} files)`, kb(sum(bundle.dashboard))],
      ["bundle: sign-in + dashboard, gzip", kb(sum(bundle.signIn) + sum(bundle.dashboard))]
    ]
    const width = Math.max(...rows.map(([k]) => k.length))
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`)
    console.log("\nfiles (gzip / raw):")
    for (const f of [...bundle.signIn, ...bundle.dashboard]) console.log(`  ${f.path.padEnd(40)} ${kb(f.gzip).padStart(9)} / ${kb(f.raw)}`)
  } finally {
    await browser.close()
    if (child.exitCode === null) {
      child.kill("SIGTERM")
      await new Promise((r) => child.once("exit", r))
    }
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    await admin.end()
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
