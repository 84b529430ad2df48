/**
 * Exports and notifications in a real browser: a submitter exports her samples as CSV, watches the job finish,
 * downloads the file and gets the "export ready" notification; a sample of hers is received and the header's bell counts the new notification, which the
 * notifications page lists and marks read; the sample page shows each recipient's delivery state; an admin registers
 * a webhook that fails until it is a dead letter, replays it, and reads the mail outbox. Screenshots of each screen go
 * to /tmp/shots/issue11-*.png.
 */
import { mkdirSync, readFileSync } from "node:fs"
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { NOTIFY_DEFAULTS } from "../../runtime/Config.ts"
import { webhookReceiver, type Reply } from "../notify/WebhookReceiver.ts"
import { Effect, Exit, Scope } from "effect"
import { accessibilityViolations, startBrowserSystem, type BrowserSystem } from "./Browser.ts"

const SHOTS = "/tmp/shots"
const shot = async (page: Page, name: string) => {
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: `${SHOTS}/issue11-${name}.png`, fullPage: true })
}

let system: BrowserSystem
let samples: Array<{ id: string; sampleName: string }> = []
let failing = true
let receiver: { readonly url: string; readonly count: () => number }
let scope: Scope.CloseableScope

beforeAll(async () => {
  system = await startBrowserSystem({
    // The webhook retry schedule (5 s … 10 h) in about 3 s of real time.
    notify: { ...NOTIFY_DEFAULTS, outboxDir: `./data/test-outbox-browser-${process.pid}-${Date.now()}`, retryScale: 0.00005 }
  })
  scope = Effect.runSync(Scope.make())
  receiver = await Effect.runPromise(Scope.extend(webhookReceiver((): Reply => (failing ? { status: 500, body: "down" } : { status: 204 })), scope))
  await system.createUser("submitter", "ada@lab.example", "Ada Submitter")
  await system.createUser("admin", "root@lab.example", "Rita Admin")
  const created = await system.api("POST", "/api/v1/submissions", {
    submitterEmail: "ada@lab.example",
    samples: [{ sampleName: "EXPO-1", libraryKit: "SQK-LSK114" }, { sampleName: "EXPO-2", libraryKit: "SQK-LSK114" }, { sampleName: "EXPO-3", libraryKit: "SQK-LSK114" }]
  }, { "idempotency-key": "issue11-browser" })
  expect(created.status).toBe(201)
  samples = (created.body as { samples: Array<{ id: string; sampleName: string }> }).samples
  // Someone else's sample, which ada's export must not hold.
  expect((await system.api("POST", "/api/v1/submissions", { submitterEmail: "bob@lab.example", samples: [{ sampleName: "BOB-1" }] }, { "idempotency-key": "issue11-browser-bob" })).status).toBe(201)
}, 120_000)
afterAll(async () => {
  await system?.close()
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
})

const receive = async (id: string) => expect((await system.api("POST", `/api/v1/samples/${id}/receive`)).status).toBe(200)

describe("exports and notifications in the web app", () => {
  it("a submitter exports her samples as CSV, sees the job complete, downloads the file and is notified that it is ready", async () => {
    const { page } = await system.signedIn("ada@lab.example")
    // From her sample list, searched: the export page starts with the same filters.
    await page.goto("/samples?q=EXPO")
    await page.getByRole("link", { name: /^Export these samples/ }).click()
    await page.getByRole("heading", { name: "New export" }).waitFor()
    await expect(page.getByLabel("Name contains").inputValue()).resolves.toBe("EXPO")
    await page.getByLabel("Format").selectOption("csv")
    await page.getByRole("button", { name: "None", exact: true }).click()
    await page.getByRole("checkbox", { name: "Sample name", exact: true }).check()
    await page.getByRole("checkbox", { name: "Status", exact: true }).check()
    await expect(page.getByText("Columns (2 of").isVisible()).resolves.toBe(true)
    await page.getByRole("button", { name: "Start the export" }).click()
    const job = page.locator("[data-export-id]")
    await job.locator(".export-job[data-status=completed]").waitFor({ timeout: 20_000 })
    await expect(job.getByTestId("export-rows").textContent()).resolves.toBe("3")
    await expect(job.getByText("of 3 rows").isVisible()).resolves.toBe(true)
    // The list of past exports shows it as ready, too.
    await page.getByRole("region", { name: "Your exports" }).getByText("ready").waitFor({ timeout: 10_000 })
    await expect(accessibilityViolations(page)).resolves.toEqual([])
    await shot(page, "exports")
    const [download] = await Promise.all([page.waitForEvent("download"), job.getByRole("link", { name: "Download the file" }).click()])
    const text = readFileSync((await download.path())!, "utf8")
    const [header, ...rows] = text.trim().split(/\r\n/)
    expect(header).toBe("Sample name,Status")
    expect(rows.sort()).toEqual(["EXPO-1,submitted", "EXPO-2,submitted", "EXPO-3,submitted"])
    // The "export ready" notification reaches her: the bell counts it, the notifications page lists it.
    const bell = page.getByRole("link", { name: /^Notifications: / })
    await page.getByTestId("unread-count").filter({ hasText: "1" }).waitFor({ timeout: 15_000 })
    await bell.click()
    const ready = page.locator("li[data-unread=true]").filter({ hasText: /Export .* \(csv\) is ready/ })
    await ready.waitFor()
    await expect(ready.getByRole("link", { name: "Open the sample" }).count()).resolves.toBe(0)
    await expect(ready.getByRole("link", { name: "Go to your exports to download it" }).getAttribute("href")).resolves.toBe("/exports")
    await page.getByRole("button", { name: /^Mark all as read/ }).click()
    await page.getByText("Nothing unread").waitFor()
    await page.getByTestId("unread-count").waitFor({ state: "detached", timeout: 10_000 })
    await page.context().close()
  })

  it("a received sample raises the bell's unread count; the notification is listed and marked read; the sample page shows its deliveries", async () => {
    const { page } = await system.signedIn("ada@lab.example")
    const bell = page.getByRole("link", { name: /^Notifications: / })
    await expect(bell.getAttribute("data-unread")).resolves.toBe("0")
    await receive(samples[0]!.id)
    await page.getByTestId("unread-count").filter({ hasText: "1" }).waitFor({ timeout: 15_000 })
    await expect(bell.getAttribute("aria-label")).resolves.toBe("Notifications: 1 unread")
    await shot(page, "bell")
    await bell.click()
    await page.getByRole("heading", { name: "Notifications", exact: true }).waitFor()
    const item = page.locator("li[data-unread=true]").filter({ hasText: "EXPO-1" })
    await item.waitFor()
    await expect(accessibilityViolations(page)).resolves.toEqual([])
    await shot(page, "notifications")
    await item.getByRole("button", { name: "Mark as read" }).click()
    await page.getByText("Nothing unread").waitFor()
    await page.locator("li[data-unread=false]").filter({ hasText: "EXPO-1" }).waitFor()
    await page.getByTestId("unread-count").waitFor({ state: "detached", timeout: 10_000 })

    // The sample page: each recipient's delivery state (e-mail to the outbox: sent; in the app: delivered).
    await page.locator("li").filter({ hasText: "EXPO-1" }).getByRole("link", { name: "Open the sample" }).click()
    const section = page.getByRole("region", { name: "Notifications" })
    const table = section.getByTestId("sample-deliveries")
    await table.locator("tr[data-status=sent]").filter({ hasText: "ada@lab.example" }).filter({ hasText: "e-mail" }).waitFor({ timeout: 15_000 })
    await table.locator("tr[data-status=delivered]").filter({ hasText: "ada@lab.example" }).filter({ hasText: "in the app" }).waitFor({ timeout: 15_000 })
    // The audit trail says the receipt notified people (counts, by the notifier), pushed in by the live feed.
    const audit = page.getByRole("region", { name: "Audit trail" })
    await audit.locator("tr").filter({ hasText: "People notified" }).filter({ hasText: "Received: 1 e-mail, 1 in-app" }).filter({ hasText: "notifier" }).waitFor({ timeout: 15_000 })
    await expect(accessibilityViolations(page)).resolves.toEqual([])
    await section.scrollIntoViewIfNeeded()
    await shot(page, "sample-notifications")
    await page.context().close()
  })

  it("an admin registers a webhook, sees its delivery go dead, replays it, and reads the mail outbox", async () => {
    const { page } = await system.signedIn("root@lab.example")
    await page.getByRole("link", { name: "Webhooks and mail" }).click()
    await page.getByRole("heading", { name: "Notification delivery" }).waitFor()
    await page.getByLabel("URL", { exact: true }).fill(receiver.url)
    await page.getByRole("button", { name: "Register the endpoint" }).click()
    await expect(page.getByTestId("webhook-secret").textContent()).resolves.toMatch(/^whsec_/)
    await page.getByRole("button", { name: "I have copied it" }).click()
    await receive(samples[1]!.id)
    await page.getByRole("button", { name: "Deliveries", exact: true }).click()
    const deliveries = page.getByTestId("webhook-deliveries")
    const dead = deliveries.locator("tr[data-status=dead]")
    await dead.waitFor({ timeout: 30_000 })
    await expect(dead.locator("li").count()).resolves.toBe(7)
    await expect(dead.textContent()).resolves.toContain(receiver.url)
    // The outbox holds the e-mails to ada (received samples).
    await page.getByTestId("mail-outbox").getByText("ada@lab.example").first().waitFor({ timeout: 10_000 })
    await expect(accessibilityViolations(page)).resolves.toEqual([])
    await shot(page, "admin-notifications")
    failing = false
    await dead.getByRole("button", { name: "Replay" }).click()
    await deliveries.locator("tr[data-status=delivered]").waitFor({ timeout: 15_000 })
    expect(receiver.count()).toBe(8)
    await page.context().close()
  })
})
