/**
 * Submissions in the browser: a submitter pastes 24 rows from a spreadsheet and creates them; the list shows it; a
 * second submitter sees none of it (list, sample page, submission page refuse in words); a bad value is flagged on its
 * cell as it is typed and Create is refused; a CSV file with errors gets a row-by-row report and nothing is saved.
 */
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { accessibilityViolations, screenshot, startBrowserSystem, type BrowserSystem } from "./Browser.ts"

let system: BrowserSystem
const SAM = "sam@uni.example"
const BEA = "bea@other.example"

beforeAll(async () => {
  system = await startBrowserSystem()
  await system.createUser("submitter", SAM, "Sam Submitter")
  await system.createUser("submitter", BEA, "Bea Other")
}, 120_000)
afterAll(() => system?.close())

/** Pastes `text` into the focused element as a spreadsheet's clipboard would (a ClipboardEvent with a DataTransfer). */
const paste = (page: Page, text: string) =>
  page.evaluate((t) => {
    const data = new DataTransfer()
    data.setData("text/plain", t)
    const target = document.activeElement ?? document.body
    target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }))
  }, text)

/** The submissions the admin API lists (every submitter's). */
const allSubmissions = async () => {
  const res = await system.api("GET", "/api/v1/submissions?limit=200")
  expect(res.status).toBe(200)
  return (res.body as { items: Array<{ submission: { id: string; number: string; sampleCount: number } }> }).items
}

const cell = (page: Page, column: string, row: number) => page.getByLabel(`${column}, row ${row}`, { exact: true })

let firstSubmission: { id: string; number: string; sampleId: string } | undefined

describe("submissions", () => {
  it("a submitter creates a 24-sample submission by pasting from a spreadsheet, and sees it listed", async () => {
    const { page, context } = await system.signedIn(SAM)
    await page.getByRole("heading", { name: "My submissions" }).waitFor()
    await page.getByText("No submissions yet.").waitFor()
    expect(await accessibilityViolations(page)).toEqual([])

    await page.getByRole("link", { name: "New submission" }).first().click()
    await page.getByRole("heading", { name: "New submission" }).waitFor()
    expect(await page.getByLabel("Submitter e-mail").inputValue()).toBe(SAM)
    await page.getByLabel("Lab", { exact: true }).fill("Genome Lab")
    await page.getByLabel("Principal investigator (PI)").fill("Dr. Pi")

    const header = ["Sample name", "Sample type", "Organism", "Volume (µL)", "Qubit (ng/µL)", "A260/280"].join("\t")
    const lines = Array.from({ length: 24 }, (_, i) =>
      [`SAM-${String(i + 1).padStart(2, "0")}`, i % 2 === 0 ? "gDNA" : "hmw gdna", "E. coli", `${20 + i}`, "35,5", "1,9"].join("\t"))
    await cell(page, "Sample name", 1).click()
    await paste(page, [header, ...lines].join("\r\n") + "\r\n")
    await page.getByText("Pasted 24 rows into rows 1–24, columns matched by the header line.").waitFor()
    expect(await cell(page, "Sample name", 24).inputValue()).toBe("SAM-24")
    expect(await cell(page, "Sample type", 2).inputValue()).toBe("HMW gDNA")
    expect(await cell(page, "A260/280", 7).inputValue()).toBe("1,9")
    await page.getByText("Ready: 24 samples will be created.").waitFor()
    const create = page.getByRole("button", { name: "Create submission" })
    expect(await create.isEnabled()).toBe(true)
    expect(await accessibilityViolations(page)).toEqual([])
    await screenshot(page, "submission-form")

    await create.click()
    await page.waitForURL(/\/submissions\/[0-9a-f-]{36}$/)
    await page.getByRole("heading", { name: "Samples (24)" }).waitFor()
    const id = new URL(page.url()).pathname.split("/")[2]!
    const number = (await page.getByRole("heading", { level: 1 }).innerText()).replace(/^Submission /, "")
    expect(await page.getByRole("link", { name: /^SAM-\d\d$/ }).count()).toBe(24)
    const href = await page.getByRole("link", { name: "SAM-01" }).getAttribute("href")
    firstSubmission = { id, number, sampleId: href!.split("/")[2]! }
    await page.getByText("Genome Lab").waitFor()
    await page.getByText("24 samples: 24 not yet received.").waitFor()
    expect(await accessibilityViolations(page)).toEqual([])

    // Saved: the admin's API sees it with its 24 samples, from the web form.
    const saved = (await allSubmissions()).find((s) => s.submission.id === id)
    expect(saved?.submission.sampleCount).toBe(24)

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My submissions" }).click()
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: number }) })
    await row.waitFor()
    expect(await row.getByRole("cell").nth(1).innerText()).toBe("24")
    expect(await row.getByRole("img", { name: "24 samples: 24 not yet received" }).count()).toBe(1)
    expect(await accessibilityViolations(page)).toEqual([])
    await context.close()
  }, 60_000)

  it("a second submitter sees none of the first one's submissions or samples", async () => {
    expect(firstSubmission).toBeDefined()
    const own = await system.api("POST", "/api/v1/submissions", {
      submitterEmail: BEA,
      lab: "Other Lab",
      samples: [{ sampleName: "BEA-1" }, { sampleName: "BEA-2" }]
    }, { "idempotency-key": "bea-own-submission" })
    expect(own.status).toBe(201)
    const ownNumber = (own.body as { submission: { number: string } }).submission.number
    const { page, context } = await system.signedIn(BEA)
    await page.getByRole("heading", { name: "My submissions" }).waitFor()
    // Her own submission only, counted with her own samples.
    const table = page.getByRole("table", { name: "Submissions, newest first" })
    await table.getByRole("link", { name: ownNumber }).waitFor()
    expect(await table.getByRole("row").count()).toBe(2)
    expect(await page.getByText(firstSubmission!.number).count()).toBe(0)

    await page.goto(`/samples/${firstSubmission!.sampleId}`)
    await page.getByRole("alert").filter({ hasText: "Not allowed for your account" }).waitFor()
    expect(await page.getByText("SAM-01").count()).toBe(0)

    await page.goto(`/submissions/${firstSubmission!.id}`)
    await page.getByRole("alert").filter({ hasText: "Not allowed for your account" }).waitFor()
    expect(await page.getByText("SAM-01").count()).toBe(0)
    expect(await page.getByText("Genome Lab").count()).toBe(0)
    await context.close()
  }, 30_000)

  it("flags a bad value on its cell while it is typed, and refuses to create", async () => {
    const { page, context } = await system.signedIn(SAM)
    await page.goto("/submissions/new")
    await cell(page, "Sample name", 1).fill("Typed-1")
    await cell(page, "Volume (µL)", 1).fill("-5")
    const volume = cell(page, "Volume (µL)", 1)
    await page.getByText("must not be negative (got -5)").waitFor()
    expect(await volume.getAttribute("aria-invalid")).toBe("true")
    // The cell is described by its message.
    const describedBy = await volume.getAttribute("aria-describedby")
    expect(await page.locator(`[id="${describedBy}"]`).innerText()).toBe("must not be negative (got -5)")
    expect(await page.getByRole("button", { name: "Create submission" }).isDisabled()).toBe(true)
    await page.getByText("Nothing can be saved while 1 problem remains").waitFor()

    // Moving with Enter and the arrow keys, typing a word where a number belongs, and a duplicate name.
    await volume.press("ArrowRight")
    await page.keyboard.type("12,5")
    expect(await cell(page, "Qubit (ng/µL)", 1).inputValue()).toBe("12,5")
    await cell(page, "A260/280", 1).fill("abc")
    await page.getByText("\"abc\" is not a number (write e.g. 12.5 or 12,5)").waitFor()
    await cell(page, "Sample name", 1).press("Enter")
    await page.keyboard.type("typed-1")
    await page.getByText("the same name is used in row 2").waitFor()
    expect(await cell(page, "Sample name", 2).getAttribute("aria-invalid")).toBe("true")
    expect(await page.getByRole("button", { name: "Create submission" }).isDisabled()).toBe(true)

    // Corrected, the cell is valid again and Create is offered.
    await volume.fill("1,9")
    await cell(page, "A260/280", 1).fill("1.85")
    await cell(page, "Sample name", 2).fill("Typed-2")
    await page.getByText("Ready: 2 samples will be created.").waitFor()
    expect(await volume.getAttribute("aria-invalid")).toBe("false")
    expect(await page.getByRole("button", { name: "Create submission" }).isEnabled()).toBe(true)

    // The server's refusal is shown where it belongs: a number already in use, on the number field; nothing saved.
    const before = (await allSubmissions()).length
    await page.getByLabel("Submission number").fill(firstSubmission!.number)
    await page.getByRole("button", { name: "Create submission" }).click()
    await page.getByRole("alert").filter({ hasText: "Nothing was saved" }).waitFor()
    expect(await page.getByLabel("Submission number").getAttribute("aria-invalid")).toBe("true")
    await page.getByText(`${firstSubmission!.number} is already used by another submission`).first().waitFor()
    expect((await allSubmissions()).length).toBe(before)
    await context.close()
  }, 30_000)

  it("staff see every submitter's submissions, with who submitted them", async () => {
    await system.createUser("technician", "tech@lab.example", "Tess Tech")
    const { page, context } = await system.signedIn("tech@lab.example")
    await page.goto("/submissions")
    const table = page.getByRole("table", { name: "Submissions, newest first" })
    await table.getByRole("link", { name: firstSubmission!.number }).waitFor()
    await table.getByRole("cell", { name: BEA }).waitFor()
    await table.getByRole("cell", { name: SAM }).waitFor()
    await page.getByLabel("Number or submitter").fill("bea@")
    await page.getByRole("button", { name: "Search" }).click()
    await table.getByRole("cell", { name: SAM }).waitFor({ state: "detached" })
    // The old rows may leave before the new page is drawn (a load in between): the filtered page settles on Bea's one.
    await table.getByRole("cell", { name: BEA }).waitFor()
    await expect.poll(() => table.getByRole("cell", { name: BEA }).count(), { timeout: 10_000 }).toBe(1)
    await context.close()
  }, 30_000)

  it("a CSV upload with errors shows a row-by-row report and saves nothing", async () => {
    const before = (await allSubmissions()).length
    const { page, context } = await system.signedIn(SAM)
    await page.goto("/submissions/new")
    const csv = [
      "sampleName,sampleType,volumeUl,concentrationNgUl,a260_280,notes",
      "CSV-1,gDNA,30,12.5,1.8,fine",
      "CSV-2,plasma,30,12.5,1.8,",
      "CSV-3,gDNA,-1,12.5,abc,",
      "csv-1,cDNA,20,\"1,5\",1.9,\"a note, with a comma\"",
      "CSV-5,gDNA,20,8,2.0,"
    ].join("\n")
    await page.getByLabel("Upload CSV").setInputFiles({ name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from(csv) })
    const report = page.getByRole("region", { name: /^bad\.csv: / })
    await report.getByRole("heading", { name: "bad.csv: 5 problems in 4 of 5 rows. Nothing has been saved." }).waitFor()
    const rows = await report.getByRole("row").allInnerTexts()
    expect(rows.slice(1).map((r) => r.split("\t").map((s) => s.trim()))).toEqual([
      ["1", "Sample name", "the same name is used in row 4"],
      ["2", "Sample type", "must be one of gDNA, HMW gDNA, amplicon, cDNA, total RNA, mRNA, other; got \"plasma\""],
      ["3", "Volume (µL)", "must not be negative (got -1)"],
      ["3", "A260/280", "\"abc\" is not a number (write e.g. 12.5 or 12,5)"],
      ["4", "Sample name", "the same name is used in row 1"]
    ])
    // The grid holds the file's rows (a decimal comma read as such), each bad cell marked.
    expect(await cell(page, "Qubit (ng/µL)", 4).inputValue()).toBe("1,5")
    expect(await cell(page, "Volume (µL)", 3).getAttribute("aria-invalid")).toBe("true")
    const create = page.getByRole("button", { name: "Create submission" })
    expect(await create.isDisabled()).toBe(true)
    // Even a forced submit of the form sends nothing.
    await page.evaluate(() => document.querySelector<HTMLFormElement>("form[aria-labelledby=new-submission-title]")?.requestSubmit())
    expect(await accessibilityViolations(page)).toEqual([])
    expect((await allSubmissions()).length).toBe(before)

    // The corrected file checks clean, and only then is it saved, as a CSV-made submission.
    const fixed = csv.replace("plasma", "amplicon").replace(",-1,", ",15,").replace(",abc,", ",1.7,").replace("csv-1,", "CSV-4,")
    await page.getByLabel("Upload CSV").setInputFiles({ name: "fixed.csv", mimeType: "text/csv", buffer: Buffer.from(fixed) })
    await page.getByRole("heading", { name: "fixed.csv: all 5 rows are valid. Nothing is saved until you press Create submission." }).waitFor()
    expect((await allSubmissions()).length).toBe(before)
    await page.getByRole("button", { name: "Create submission" }).click()
    await page.getByRole("heading", { name: "Samples (5)" }).waitFor()
    await page.getByText("from a CSV file").waitFor()
    expect((await allSubmissions()).length).toBe(before + 1)
    await context.close()
  }, 30_000)
})
