/**
 * The dashboard in Chromium: empty at first (its empty states), then samples seeded through the REST API while it is
 * open (Sample QC due 3 s after queueing, so the untouched ones breach): what it shows equals what `Dashboard.Get`
 * answers, each at-risk or breached sample links to its page, a sample received through the API moves "Received
 * today" within a second without a reload, and axe finds nothing serious.
 */
import { Schema } from "effect"
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultPolicy } from "../../actors/WorkflowPolicy.ts"
import { Dashboard } from "../../rpc/Dashboard.ts"
import { STEP_NAMES } from "../../rpc/Workflow.ts"
import { adminAuth } from "../TestAuth.ts"
import { accessibilityViolations, screenshot, startBrowserSystem, type BrowserSystem } from "./Browser.ts"

const policy = { ...defaultPolicy, expectedMs: { ...defaultPolicy.expectedMs, sample_qc: 3_000 } }

let system: BrowserSystem
beforeAll(async () => {
  system = await startBrowserSystem({ policy })
}, 120_000)
afterAll(() => system?.close())

/** `Dashboard.Get` as the admin key, in `timeZone`, through the RPC endpoint (it has no REST twin). */
const dashboardRpc = async (timeZone: string): Promise<Dashboard> => {
  const res = await fetch(`${system.baseUrl}/rpc`, {
    method: "POST",
    headers: { "content-type": "application/ndjson", ...adminAuth },
    body: `${JSON.stringify({ _tag: "Request", id: "1", tag: "Dashboard.Get", payload: { timeZone }, headers: [] })}\n`
  })
  const exit = (await res.text()).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as { _tag: string; exit?: { _tag: string; value?: unknown } })
    .find((m) => m._tag === "Exit")
  if (exit?.exit?._tag !== "Success") throw new Error(`Dashboard.Get failed: ${JSON.stringify(exit)}`)
  return Schema.decodeUnknownSync(Dashboard)(exit.exit.value)
}

const ok = async (method: string, path: string, body?: unknown) => {
  const res = await system.api(method, path, body)
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

/** The figure a labelled stat shows. */
const stat = (page: Page, label: string) => page.getByRole("group", { name: label })
/** Waits until the page shows the answer to the newest request (not one in flight). */
const settled = (page: Page) => page.locator(".dashboard[data-ready=true]").waitFor({ timeout: 10_000 })

describe("dashboard", () => {
  it("shows the SLA watch list, today's counts, the load per step and the trends, live", async () => {
    await system.createUser("technician", "dana@lab.example", "Dana Tech")
    const { page } = await system.signedIn("dana@lab.example")
    expect(new URL(page.url()).pathname).toBe("/dashboard")
    await settled(page)
    // Nothing yet: every part says so.
    await page.getByText("No sample is at risk or past its due time.").waitFor()
    await page.getByText("No sample was completed in the last 8 weeks yet.").waitFor()
    await page.getByText("No sample was received or completed in the last 8 weeks yet.").waitFor()

    // Seeded while the page is open: 6 samples; 5 received; 2 of them past Sample QC; 1 started; 1 waits for receipt.
    const created = (await ok("POST", "/api/v1/submissions", {
      submitterEmail: "ada@lab.example",
      source: "api",
      priority: "normal",
      flowCellType: "R10.4.1",
      samples: ["urgent", "high", "normal", "normal", "low", "normal"].map((priority, i) => ({ sampleName: `DASH-${i + 1}`, priority, libraryKit: "SQK-LSK114" }))
    })) as { samples: Array<{ id: string; sampleName: string }> }
    const id = (n: number) => created.samples[n - 1]!.id
    for (const n of [1, 2, 3, 4, 5]) await ok("POST", `/api/v1/samples/${id(n)}/receive`)
    for (const n of [3, 4]) {
      await ok("POST", `/api/v1/samples/${id(n)}/workflow/advance`, { expectedStep: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } })
    }
    await ok("POST", `/api/v1/samples/${id(5)}/workflow/start`, { step: "sample_qc" })

    // Sample QC is due 3 s after queueing: DASH-1, 2 and 5 breach; the live feed brings each SLA event to the page.
    await page.getByRole("heading", { name: "SLA watch: 3 breached, 0 at risk" }).waitFor({ timeout: 20_000 })
    await settled(page)
    const timeZone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)
    const rpc = await dashboardRpc(timeZone)

    // The watch list: the same samples as the RPC, breached, each linking to its page.
    const watch = page.getByRole("region", { name: "SLA watch list", exact: true })
    expect(rpc.sla.items.map((i) => i.sampleName)).toEqual(["DASH-1", "DASH-2", "DASH-5"])
    for (const item of rpc.sla.items) {
      const row = watch.getByRole("row").filter({ has: page.getByRole("link", { name: item.sampleName, exact: true }) })
      expect(await row.getByRole("link").getAttribute("href")).toBe(`/samples/${item.sampleId}`)
      expect(await row.getByText("breached").count()).toBe(1)
      expect(await row.getByText(/overdue by/).count()).toBe(1)
      expect(await row.getByRole("cell", { name: STEP_NAMES.sample_qc }).count()).toBe(1)
    }

    // Today's counts and the SLA totals equal the RPC's.
    expect(rpc.today.received).toBe(5)
    expect(await stat(page, "Received today").textContent()).toContain(String(rpc.today.received))
    expect(await stat(page, "Completed today").textContent()).toContain(String(rpc.today.completed))
    expect(await stat(page, "SLA breached").textContent()).toContain(String(rpc.sla.breached))
    expect(await stat(page, "SLA at risk").textContent()).toContain(String(rpc.sla.atRisk))

    // The load per step: each row's numbers are the RPC's, and each step opens its queue.
    const steps = page.getByRole("table", { name: "Samples per step" })
    for (const s of rpc.byStep) {
      const row = steps.getByRole("row").filter({ has: page.getByRole("link", { name: STEP_NAMES[s.step], exact: true }) })
      expect(await row.getByRole("cell").allTextContents()).toEqual([s.queued, s.running, s.onHold, s.failed, s.total].map(String))
      expect(await row.getByRole("link").getAttribute("href")).toBe(`/queues/${s.step}`)
    }
    const qc = rpc.byStep.find((s) => s.step === "sample_qc")!
    expect([qc.queued, qc.running, qc.total]).toEqual([2, 1, 3])
    const statuses = page.getByRole("table", { name: "Samples per status" })
    expect(await statuses.getByRole("row", { name: /Awaiting receipt/ }).getByRole("cell").textContent()).toBe(String(rpc.byStatus.submitted))
    expect(await statuses.getByRole("row", { name: /In progress/ }).getByRole("cell").textContent()).toBe(String(rpc.byStatus.in_progress))

    // The charts: named figures with a summary; turnaround says there is nothing yet (no sample completed).
    await page.getByRole("img", { name: /Bar chart of the median and 90th percentile time each step took. Sample QC: median/ }).waitFor()
    await page.getByRole("img", { name: /Bar chart of samples received and completed per day: 5 received and 0 completed/ }).waitFor()
    await page.getByText("No sample was completed in the last 8 weeks yet.").waitFor()

    // Live: DASH-6 received through the API shows in "Received today" without a reload. When it shows is the throttle's
    // rule (at once after a quiet second, else at that second's end), pinned down on a fake clock in web/src/live.test.ts;
    // here, on two cores shared with other test files, only that it arrives through the feed. The time is logged.
    const navigations = await page.evaluate(() => performance.getEntriesByType("navigation").length)
    const t0 = Date.now()
    await ok("POST", `/api/v1/samples/${id(6)}/receive`)
    await stat(page, "Received today").getByText("6", { exact: true }).waitFor({ timeout: 10_000 })
    console.log(`"Received today" moved ${Date.now() - t0} ms after the REST receive`)
    expect(await page.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(navigations)
    expect((await dashboardRpc(timeZone)).today.received).toBe(6)

    // The numbers behind the charts are there for whoever cannot see them.
    await settled(page)
    for (const summary of await page.getByText("The numbers").all()) await summary.click()
    await page.getByRole("region", { name: /Throughput per day.*the numbers/ }).getByRole("cell", { name: "6", exact: true }).waitFor()
    expect(await accessibilityViolations(page)).toEqual([])
    await screenshot(page, "dashboard")
    // A tablet held upright: one column, nothing cut off.
    await page.setViewportSize({ width: 800, height: 1100 })
    await page.getByRole("heading", { name: "Samples per step" }).waitFor()
    // The charts redraw at their new width after the resize (measured once, right after it, 1,027 px were seen once):
    // wait until the page has laid itself out again, then check that nothing is cut off.
    await page.waitForFunction(() => document.documentElement.scrollWidth <= 800, undefined, { timeout: 10_000 }).catch(() => undefined)
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800)
    await screenshot(page, "dashboard-tablet")
  })

  it("is for staff: a submitter is told so", async () => {
    await system.createUser("submitter", "sam@lab.example", "Sam Submitter")
    const { page } = await system.signedIn("sam@lab.example")
    await page.goto("/dashboard")
    await page.getByRole("alert").getByText(/This page is for technician, manager, admin accounts/).waitFor()
  })
})
