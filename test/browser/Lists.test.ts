/**
 * The samples list in a browser: filters and search in the address, pages read as the user scrolls, a batch command
 * with a partial refusal summed up per sample, and the top search box opening a sample by its name (a scanner).
 */
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { accessibilityViolations, screenshot, startBrowserSystem, type BrowserSystem } from "./Browser.ts"

let system: BrowserSystem
let page: Page
/** Sample name → id, as created. */
const ids = new Map<string, string>()
const name = (n: number) => `LST-${String(n).padStart(3, "0")}`

beforeAll(async () => {
  system = await startBrowserSystem()
  const created = await system.api("POST", "/api/v1/submissions", {
    submitterEmail: "sam@lab.example",
    number: "LISTS-1",
    samples: Array.from({ length: 60 }, (_, i) => ({ sampleName: name(i + 1) }))
  }, { "idempotency-key": "lists-seed" })
  expect(created.status).toBe(201)
  const body = created.body as { samples: Array<{ id: string; sampleName: string }> }
  for (const s of body.samples) ids.set(s.sampleName, s.id)
  // Five are received already: a batch "receive" over them is refused.
  const received = await system.api("POST", "/api/v1/samples/batch/receive", { sampleIds: [1, 2, 3, 4, 5].map((n) => ids.get(name(n))) }, { "idempotency-key": "lists-receive" })
  expect(received.status).toBe(200)
  expect((received.body as { succeeded: number }).succeeded).toBe(5)
  await system.createUser("technician", "tina@lab.example", "Tina Tech")
  page = (await system.signedIn("tina@lab.example")).page
}, 120_000)
afterAll(() => system?.close())

const countLine = () => page.locator(".list-count")
const rows = () => page.getByTestId("sample-rows")

describe("samples list", () => {
  it("shows the samples, reads more pages as the user scrolls", async () => {
    await page.goto("/samples?pageSize=20")
    await page.getByRole("heading", { name: "Samples" }).waitFor()
    await countLine().filter({ hasText: "20 of 60 samples loaded" }).waitFor()
    // Newest first: the last created is on top.
    await page.getByRole("link", { name: name(60), exact: true }).waitFor()
    expect(await page.getByRole("link", { name: name(1), exact: true }).count()).toBe(0)
    await rows().evaluate((el) => el.scrollTo(0, el.scrollHeight))
    await countLine().filter({ hasText: "40 of 60 samples loaded" }).waitFor()
    await rows().evaluate((el) => el.scrollTo(0, el.scrollHeight))
    await countLine().filter({ hasText: "60 of 60 samples loaded" }).waitFor()
    await rows().evaluate((el) => el.scrollTo(0, el.scrollHeight))
    await page.getByRole("link", { name: name(1), exact: true }).waitFor()
    // Virtual rows: only what is on screen (and a few around it) exists in the page.
    expect(await rows().getByRole("row").count()).toBeLessThan(45)
    expect(await accessibilityViolations(page)).toEqual([])
  })

  it("filters by status and searches by name, the view kept in the address", async () => {
    await page.goto("/samples?pageSize=20")
    await countLine().filter({ hasText: "of 60 samples" }).waitFor()
    await page.getByLabel("Status").selectOption("in_progress")
    await countLine().filter({ hasText: "5 of 5 samples loaded" }).waitFor()
    expect(new URL(page.url()).searchParams.get("status")).toBe("in_progress")
    for (const n of [1, 2, 3, 4, 5]) await page.getByRole("link", { name: name(n), exact: true }).waitFor()
    // The address reproduces the view.
    await page.reload()
    await countLine().filter({ hasText: "5 of 5 samples loaded" }).waitFor()
    await expect(page.getByLabel("Status").inputValue()).resolves.toBe("in_progress")

    await page.getByRole("button", { name: "Clear filters" }).click()
    await countLine().filter({ hasText: "of 60 samples" }).waitFor()
    await page.getByLabel("Search by name").fill("LST-042")
    await countLine().filter({ hasText: "1 of 1 sample loaded" }).waitFor()
    await page.getByRole("link", { name: "LST-042", exact: true }).waitFor()
    expect(new URL(page.url()).searchParams.get("q")).toBe("LST-042")
  })

  it("shows a change made elsewhere without a reload", async () => {
    await page.goto("/samples?q=LST-050")
    const row = rows().getByRole("row").filter({ has: page.getByRole("link", { name: "LST-050", exact: true }) })
    await row.getByText("submitted").waitFor()
    const res = await system.api("POST", `/api/v1/samples/${ids.get("LST-050")}/receive`, undefined, { "idempotency-key": "lists-live" })
    expect(res.status).toBe(200)
    await row.getByText("in progress").waitFor({ timeout: 5_000 })
  })

  it("applies a batch command and shows what each sample answered", async () => {
    await page.goto("/samples?pageSize=20&sort=name_asc")
    await page.getByRole("link", { name: name(1), exact: true }).waitFor()
    // LST-001 … LST-008 by a click and a shift-click: five were received already, three were not.
    await page.getByRole("checkbox", { name: `Select ${name(1)}` }).check()
    await page.getByRole("checkbox", { name: `Select ${name(8)}` }).click({ modifiers: ["Shift"] })
    await page.getByText("8 selected").waitFor()
    await page.getByRole("button", { name: "Receive", exact: true }).click()
    const summary = page.getByRole("region", { name: /Receive: 3 succeeded, 5 refused/ })
    await summary.waitFor()
    const refused = summary.getByRole("row")
    expect(await refused.count()).toBe(6) // the header and five samples
    for (const n of [1, 2, 3, 4, 5]) {
      const row = summary.getByRole("row").filter({ has: page.getByRole("link", { name: name(n), exact: true }) })
      await expect(row.textContent()).resolves.toMatch(/Cannot receive now: the sample is in progress/)
      await expect(row.getByRole("link").getAttribute("href")).resolves.toBe(`/samples/${ids.get(name(n))}`)
    }
    // The refused stay selected; the received ones now read "in progress".
    await page.getByText("5 selected").waitFor()
    const row8 = rows().getByRole("row").filter({ has: page.getByRole("link", { name: name(8), exact: true }) })
    await row8.getByText("in progress").waitFor()
    expect(await accessibilityViolations(page)).toEqual([])
    await screenshot(page, "samples-list")
  })

  it("fits a tablet", async () => {
    const { page: tablet, context } = await system.signedIn("tina@lab.example", { viewport: { width: 800, height: 1100 } })
    await tablet.goto("/samples?status=in_progress")
    await tablet.locator(".list-count").filter({ hasText: "9 of 9 samples loaded" }).waitFor()
    // No sideways scrolling: the table fits the width.
    expect(await tablet.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    expect(await accessibilityViolations(tablet)).toEqual([])
    await screenshot(tablet, "samples-list-tablet")
    await context.close()
  })

  it("opens a sample whose name is typed into the top search box", async () => {
    await page.goto("/dashboard")
    const search = page.getByRole("searchbox", { name: /Find a sample/ })
    await search.fill(name(33))
    await search.press("Enter")
    await page.waitForURL(`**/samples/${ids.get(name(33))}`)
    // Back leads to where the user was, not to the list that opened it.
    await page.goBack()
    await page.waitForURL("**/dashboard")
  })
})
