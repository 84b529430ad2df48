/**
 * The lab's day in a real browser: a technician receives a sample and walks it through all eight steps, through a
 * failed sample-QC gate and a manager's rework; a second browser (the manager's) shows every change live, without a
 * reload. Screens are checked with axe-core and saved as screenshots.
 */
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { accessibilityViolations, PASSWORD, screenshot, startBrowserSystem, type BrowserSystem } from "./Browser.ts"

let system: BrowserSystem
beforeAll(async () => {
  system = await startBrowserSystem()
  await system.createUser("technician", "tess@lab.example", "Tess Tech")
  await system.createUser("manager", "mia@lab.example", "Mia Manager")
}, 120_000)
afterAll(() => system?.close())

/**
 * How long the other browser may take to show a change it was pushed (it never reloads or polls the sample): well
 * under a second on an idle machine; the bound leaves room for CI, where the server, two browsers and other test
 * files share two cores (one run in CI exceeded 5 s).
 */
const LIVE = { timeout: 15_000 }

/** Fills a step's record form: text and numbers by label, choices by option, check boxes by `true`. */
const record = async (page: Page, step: string, values: Record<string, string | boolean>) => {
  const form = page.getByRole("form", { name: `${step} record` })
  for (const [label, value] of Object.entries(values)) {
    const control = form.getByLabel(label, { exact: false }).first()
    const tag = await control.evaluate((el) => el.tagName)
    if (value === true) await control.check()
    else if (tag === "SELECT") await control.selectOption(String(value))
    else await control.fill(String(value))
  }
  await form.getByRole("button", { name: `Record and complete ${step}` }).click()
}

describe("a sample's walk through the lab, seen live", () => {
  it("receives, fails the sample-QC gate, is reworked, and completes all eight steps", async () => {
    const created = await system.api("POST", "/api/v1/submissions", {
      submitterEmail: "ada@lab.example",
      samples: [{ sampleName: "WALK-1", libraryKit: "SQK-LSK114", sampleType: "gDNA" }]
    }, { "idempotency-key": "walk-submission" })
    expect(created.status).toBe(201)
    const sampleId = (created.body as { samples: Array<{ id: string }> }).samples[0]!.id

    const tech = (await system.signedIn("tess@lab.example")).page
    const manager = (await system.signedIn("mia@lab.example")).page
    await tech.goto(`/samples/${sampleId}`)
    await manager.goto(`/samples/${sampleId}`)
    await manager.getByRole("heading", { name: "WALK-1" }).waitFor()
    // The technician's page is checked once its actions are drawn (they come with the sample's workflow).
    await tech.getByRole("button", { name: "Receive sample" }).waitFor()
    await expect(accessibilityViolations(tech)).resolves.toEqual([])

    // Only what the state allows: before receipt there is nothing to start or record.
    await expect(tech.getByRole("button", { name: /^Start / }).count()).resolves.toBe(0)
    await tech.getByRole("button", { name: "Receive sample" }).click()
    await manager.getByText("Step: Sample QC (queued)").waitFor(LIVE)

    // Sample QC with too little DNA: the gate fails and says why.
    await tech.getByRole("button", { name: "Start Sample QC" }).click()
    await manager.getByText("Step: Sample QC (running)").waitFor(LIVE)
    // A value the schema refuses shows on its field before anything is sent.
    const qc = tech.getByRole("form", { name: "Sample QC record" })
    await qc.getByLabel("Volume (µL)", { exact: false }).fill("-4")
    await qc.getByRole("button", { name: "Record and complete Sample QC" }).click()
    await qc.getByText("Correct the marked fields first.").waitFor()
    await record(tech, "Sample QC", { "Qubit concentration": "1", "Volume (µL)": "10", "A260/280": "1,85" })
    // The notice of the reply, with the gate's reason (the audit trail, re-read meanwhile, names the gate too).
    await tech.getByText(/QC gate failed: insufficient DNA/).waitFor()
    await manager.getByText(/Failed at Sample QC/).waitFor(LIVE)
    // A technician cannot send a sample back; a manager can (with a reason).
    await expect(tech.getByRole("button", { name: /rework/ }).count()).resolves.toBe(0)
    await manager.getByRole("button", { name: "Send back for rework…" }).click()
    const dialog = manager.getByRole("dialog", { name: "Send back for rework" })
    await dialog.getByLabel("Back to step").selectOption("sample_qc")
    await dialog.getByLabel(/Reason/).fill("re-quantify after clean-up")
    await dialog.getByRole("button", { name: "Send back" }).click()
    await tech.getByText("Step: Sample QC (queued)").waitFor(LIVE)
    await expect(accessibilityViolations(manager)).resolves.toEqual([])

    const steps: ReadonlyArray<[string, Record<string, string | boolean>]> = [
      ["Sample QC", { "Qubit concentration": "50", "Volume (µL)": "30", "A260/280": "1.86" }],
      ["Library preparation", { "Library kit": "SQK-LSK114", "Input (ng)": "1000" }],
      ["Library QC", { "Library concentration": "12", "Library amount (fmol)": "50", "Mean fragment length (bp)": "8000" }],
      ["Sequencing setup", { "Flow cell ID": "FAX12345", "Flow cell product": "FLO-MIN114", "Pore count": "1450", "Device": "MinION Mk1D", "Position": "X1" }],
      ["Sequencing run", { "Run ID": "run-2026-11-29", "Yield (Gb)": "12.5", "Reads": "1200000", "Read N50 (bp)": "15000" }],
      ["Basecalling", { "Basecalling model": "hac", "Pass reads (%)": "92" }],
      ["Quality assessment", { "Mean Q score": "18", "Passed assessment": true }],
      ["Data delivery", { "Delivery method": "download", "Delivery location": "https://data.lab.example/WALK-1" }]
    ]
    for (const [i, [step, values]] of steps.entries()) {
      await tech.getByRole("button", { name: `Start ${step}` }).click()
      await manager.getByText(`Step: ${step} (running)`).waitFor(LIVE)
      if (i === 1) await screenshot(tech, "sample-page")
      await record(tech, step, values)
      const next = steps[i + 1]
      if (next !== undefined) {
        await tech.getByText(`${step} completed. Next: ${next[0]}.`).waitFor()
        await manager.getByText(`Step: ${next[0]} (queued)`).waitFor(LIVE)
      }
    }
    await tech.getByText("The sample is complete.").waitFor()
    await manager.getByRole("status").filter({ hasText: "" }).first().waitFor()
    await manager.locator(".badge.completed").first().waitFor(LIVE)
    // The timeline names every step done, with the retried attempt, and the audit trail the rework's reason. The
    // timeline is its own query, re-read beside the badge's: it may show the last step done a moment later.
    const done = manager.getByRole("list", { name: "Workflow steps" }).getByText("completed")
    await done.nth(7).waitFor(LIVE)
    await expect(done.count()).resolves.toBe(8)
    await expect(manager.getByText("attempt 2").count()).resolves.toBeGreaterThan(0)
    await expect(manager.getByRole("cell", { name: /re-quantify after clean-up/ }).count()).resolves.toBe(1)
    await expect(manager.getByRole("cell", { name: "tess@lab.example" }).count()).resolves.toBeGreaterThan(8)
  })

  it("shows a step's queue in the server's order and the board across all eight steps", async () => {
    const created = await system.api("POST", "/api/v1/submissions", {
      submitterEmail: "ada@lab.example",
      samples: [{ sampleName: "Q-low", priority: "low" }, { sampleName: "Q-urgent", priority: "urgent" }, { sampleName: "Q-normal" }]
    }, { "idempotency-key": "queue-submission" })
    const ids = (created.body as { samples: Array<{ id: string }> }).samples.map((s) => s.id)
    for (const id of ids) expect((await system.api("POST", `/api/v1/samples/${id}/receive`, undefined, { "idempotency-key": `r-${id}` })).status).toBe(200)
    const { page } = await system.signedIn("tess@lab.example")
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sample QC" }).click()
    await page.getByRole("heading", { name: "Sample QC queue" }).waitFor()
    // The heading is drawn before the queue's query answers: the rows are waited for themselves before they are read.
    for (const n of ["Q-urgent", "Q-normal", "Q-low"]) await page.getByRole("link", { name: n, exact: true }).waitFor()
    const names = await page.getByRole("row").locator("td:first-child").allInnerTexts()
    expect(names.filter((n) => n.startsWith("Q-"))).toEqual(["Q-urgent", "Q-normal", "Q-low"])
    await expect(accessibilityViolations(page)).resolves.toEqual([])
    await screenshot(page, "queue")
    // Keyboard: focus the first sample, S starts it.
    await page.getByRole("link", { name: "Q-urgent" }).focus()
    await page.keyboard.press("s")
    await page.getByRole("button", { name: "Record Sample QC for Q-urgent" }).waitFor()

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Board", exact: true }).click()
    await page.getByRole("heading", { name: "Board", exact: true }).waitFor()
    await expect(page.getByRole("heading", { level: 2 }).count()).resolves.toBe(8)
    await page.getByRole("link", { name: /Q-urgent/ }).waitFor()
    await expect(accessibilityViolations(page)).resolves.toEqual([])
  })

  it("sign-in says what went wrong in words, and is accessible", async () => {
    const context = await system.browser.newContext({ baseURL: system.baseUrl })
    const page = await context.newPage()
    await page.goto("/board")
    // Signed out, a page of the app leads to sign-in, which returns to it afterwards.
    await page.getByRole("heading", { name: "Sign in to poretrack" }).waitFor()
    await expect(accessibilityViolations(page)).resolves.toEqual([])
    await page.getByLabel("E-mail").fill("tess@lab.example")
    await page.getByLabel("Password").fill("not the password")
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("alert").waitFor()
    await expect(page.getByRole("alert").innerText()).resolves.toMatch(/password/i)
    await page.getByLabel("Password").fill(PASSWORD)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("heading", { name: "Board", exact: true }).waitFor()
    await context.close()
  })

  it("opens a sample from its id typed or scanned into the search box", async () => {
    const created = await system.api("POST", "/api/v1/submissions", {
      submitterEmail: "ada@lab.example",
      samples: [{ sampleName: "SCAN-1" }]
    }, { "idempotency-key": "scan-submission" })
    const id = (created.body as { samples: Array<{ id: string }> }).samples[0]!.id
    const { page } = await system.signedIn("tess@lab.example")
    await page.keyboard.press("/")
    await page.keyboard.type(`${id}\n`)
    await page.getByRole("heading", { name: "SCAN-1" }).waitFor()
    expect(new URL(page.url()).pathname).toBe(`/samples/${id}`)
  })
})
