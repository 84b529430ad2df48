/**
 * AI intake in the browser: a technician uploads a dev form PDF, sees the review page beside the PDF with the fields
 * and sample rows filled in, corrects one field, accepts the rest, creates the submission and opens it with all its
 * samples; the same file again opens the earlier extraction. Screenshots under /tmp/shots/issue12-*.png.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { PDFDocument } from "pdf-lib"
import type { Page } from "playwright-core"
import { Duration } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { OLLAMA_DEFAULTS } from "../../actors/extraction/OllamaSettings.ts"
import { MAX_RPC_PDF_BYTES } from "../../rpc/ExtractionRpcs.ts"
import { EXTRACTION_DEFAULTS } from "../../runtime/Config.ts"
import { FormPdf } from "../FormPdfBuilder.ts"
import { accessibilityViolations, startBrowserSystem, type BrowserSystem } from "./Browser.ts"

const SHOTS = "/tmp/shots"
const FORM = join(import.meta.dirname, "../fixtures/forms/dev/dev-a01-n3.pdf")
const truth = JSON.parse(readFileSync(FORM.replace(/\.pdf$/, ".truth.json"), "utf8")) as { quoteId: string; samples: Array<{ name: string }> }
const TECH = "tess@facility.example"

let system: BrowserSystem

beforeAll(async () => {
  // Ollama is not reachable (a closed port, a short probe): the rules stage alone, as on a laptop.
  system = await startBrowserSystem({ extraction: { ...EXTRACTION_DEFAULTS, ollama: { ...OLLAMA_DEFAULTS, host: "http://127.0.0.1:9", probeTimeout: Duration.millis(300) } } })
  await system.createUser("technician", TECH, "Tess Tech")
  mkdirSync(SHOTS, { recursive: true })
}, 120_000)
afterAll(() => system?.close())

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `issue12-${name}.png`), fullPage: true })

describe("AI intake in the browser", () => {
  it("upload a PDF form → review beside the PDF → edit a field, accept the rest → create → the submission with its samples", async () => {
    const { context, page } = await system.signedIn(TECH)
    await page.getByRole("link", { name: "Read a PDF form" }).click()
    await page.getByRole("heading", { name: "Read a PDF form" }).waitFor()
    await page.getByText("No form has been uploaded yet.").waitFor()
    expect(await page.title()).toBe("Read a PDF form · poretrack")
    await shot(page, "1-upload")

    await page.getByLabel("PDF form").setInputFiles(FORM)
    await page.getByRole("heading", { name: "Review dev-a01-n3.pdf" }).waitFor()
    await page.getByRole("heading", { name: "Extracted form" }).waitFor({ timeout: 30_000 })
    expect(await page.getByLabel("Quote id", { exact: true }).inputValue()).toBe(truth.quoteId)
    for (const [i, s] of truth.samples.entries()) expect(await page.getByLabel(`Row ${i + 1} Sample name`).inputValue()).toBe(s.name)
    await expect.poll(() => page.locator("object[type='application/pdf']").getAttribute("data")).toMatch(/\/api\/v1\/extractions\/[0-9a-f-]{36}\/pdf#page=1$/)
    expect(await accessibilityViolations(page)).toEqual([])
    await shot(page, "2-review")
    // A field's evidence page opens that page of the PDF.
    await page.locator("[data-path='device']").getByRole("button", { name: "p. 3" }).click()
    await page.getByRole("heading", { name: "The PDF, page 3" }).waitFor()
    expect(await page.locator("object[type='application/pdf']").getAttribute("data")).toMatch(/#page=3$/)

    // Correct one field: the change is marked as an edit.
    const organism = page.getByLabel("Source organism", { exact: true })
    await organism.fill("Staphylococcus aureus USA300")
    await page.locator("[data-path='organism']").getByText("edited").waitFor()
    await page.getByRole("button", { name: /^Accept all high-confidence/ }).click()
    // Whatever the reader was unsure of is accepted one click each.
    for (let n = 0; n < 200; n++) {
      const accept = page.getByRole("button", { name: /^Accept (?!all)/ }).first()
      if ((await accept.count()) === 0) break
      await accept.click()
    }
    await page.getByText(/^Ready: the submission and its 3 samples/).waitFor()
    await shot(page, "3-accepted")

    await page.getByRole("button", { name: "Create submission" }).click()
    const created = page.getByRole("status").filter({ hasText: "Submission created with 3 samples" })
    await created.waitFor()
    await shot(page, "4-created")
    await created.getByRole("link", { name: truth.quoteId }).click()
    await page.getByRole("heading", { name: `Submission ${truth.quoteId}` }).waitFor()
    for (const s of truth.samples) await page.getByRole("link", { name: s.name, exact: true }).waitFor()
    await shot(page, "5-submission")

    // The edit reached the samples.
    const id = new URL(page.url()).pathname.split("/").pop()!
    const detail = await system.api("GET", `/api/v1/submissions/${id}`)
    expect(detail.status).toBe(200)
    const samples = (detail.body as { samples: Array<{ sampleName: string; details: { organism?: string } }> }).samples
    expect(samples.map((s) => s.sampleName).sort()).toEqual(truth.samples.map((s) => s.name).sort())
    expect(samples.every((s) => s.details.organism === "Staphylococcus aureus USA300")).toBe(true)

    // The same file again opens the earlier extraction, already confirmed.
    await page.getByRole("link", { name: "Read a PDF form" }).click()
    // The recent forms list it, confirmed, with a link to its submission.
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "dev-a01-n3.pdf" }) })
    await row.getByText("confirmed").waitFor()
    expect(await row.getByRole("link", { name: "open the submission" }).getAttribute("href")).toBe(`/submissions/${id}`)
    await shot(page, "6-recent")
    await page.getByLabel("PDF form").setInputFiles(FORM)
    await page.getByText(/This file was uploaded before/).waitFor()
    await page.getByRole("status").filter({ hasText: "Submission created" }).waitFor()
    expect(await page.getByRole("button", { name: "Create submission" }).count()).toBe(0)
    await shot(page, "7-duplicate")
    // The review page is an address of its own: a reload (or a link opened in a new tab) shows it again.
    await page.reload()
    await page.getByRole("heading", { name: "Review dev-a01-n3.pdf" }).waitFor()
    await page.getByRole("status").filter({ hasText: "Submission created" }).waitFor()
    await context.close()
  }, 120_000)

  it("a submitter reads a 24-sample form and creates the submission under their own e-mail", async () => {
    const sue = await system.createUser("submitter", "sue@lab.example", "Sue Submitter")
    const { context, page } = await system.signedIn(sue)
    await page.getByRole("link", { name: "Read a PDF form" }).click()
    await page.getByLabel("PDF form").setInputFiles(join(import.meta.dirname, "../fixtures/forms/dev/dev-a02-n24.pdf"))
    await page.getByRole("heading", { name: "Extracted form" }).waitFor({ timeout: 30_000 })
    expect(await page.getByLabel("Row 24 Sample name").inputValue()).not.toBe("")
    await page.getByRole("button", { name: /^Accept all high-confidence/ }).click()
    for (let n = 0; n < 200; n++) {
      const accept = page.getByRole("button", { name: /^Accept (?!all)/ }).first()
      if ((await accept.count()) === 0) break
      await accept.click()
    }
    await page.getByRole("button", { name: "Create submission" }).click()
    await page.getByRole("status").filter({ hasText: "Submission created with 24 samples" }).getByRole("link", { name: "HTSF--UH-485" }).click()
    await page.getByRole("heading", { name: "Submission HTSF--UH-485" }).waitFor()
    const id = new URL(page.url()).pathname.split("/").pop()!
    const detail = await system.api("GET", `/api/v1/submissions/${id}`)
    expect((detail.body as { submission: { submitterEmail: string; sampleCount: number } }).submission).toMatchObject({ submitterEmail: sue, sampleCount: 24 })
    await context.close()
  }, 60_000)

  it("sample names a sample record may not hold are marked before anything is sent, Create waits for them, and one click makes them valid", async () => {
    const { context, page } = await system.signedIn(TECH)
    await page.goto("/extractions/new")
    await page.getByLabel("PDF form").setInputFiles(join(import.meta.dirname, "../fixtures/forms/dev/dev-b05-n12.pdf"))
    await page.getByRole("heading", { name: "Extracted form" }).waitFor({ timeout: 30_000 })
    await page.getByRole("button", { name: /^Accept all high-confidence/ }).click()
    // Five of the form's names hold ">10 kb".
    await page.getByText("Check 5 sample names with characters a name may not hold first.").waitFor()
    expect(await page.getByRole("button", { name: "Create submission" }).isDisabled()).toBe(true)
    const first = page.getByLabel("Row 1 Sample name")
    expect(await first.getAttribute("aria-invalid")).toBe("true")
    await first.fill((await first.inputValue()).replace(">", "over "))
    expect(await first.getAttribute("aria-invalid")).toBe("false")
    await page.getByText("Check 4 sample names with characters a name may not hold first.").waitFor()
    // One click makes the other four valid, the comparison kept in words; then the submission can be created.
    const row2 = await page.getByLabel("Row 2 Sample name").inputValue()
    await shot(page, "10-invalid-names")
    await page.getByRole("button", { name: "Make 4 names valid" }).click()
    await page.getByText(/^Ready: the submission and its 12 samples are created together/).waitFor()
    const fixed = await Promise.all(Array.from({ length: 12 }, (_, i) => page.getByLabel(`Row ${i + 1} Sample name`).inputValue()))
    expect(fixed.filter((n) => n.includes(">"))).toEqual([])
    expect(fixed.filter((n) => n.includes("size-selected over 10 kb")).length).toBe(5)
    if (!row2.includes(">")) expect(fixed[1]).toBe(row2)
    await page.getByRole("button", { name: "Create submission" }).click()
    await page.getByRole("status").filter({ hasText: "Submission created with 12 samples" }).waitFor({ timeout: 30_000 })
    await shot(page, "11-names-made-valid-created")
    await context.close()
  }, 60_000)

  it("a confirm the server refuses creates nothing and says why on the field; corrected, it creates the submission", async () => {
    // The form's quote id is taken already: the batch create refuses the whole submission.
    const taken = await system.api("POST", "/api/v1/submissions", { submitterEmail: "early@lab.example", number: "HTSF--TM-160", samples: [{ sampleName: "early-1" }] })
    expect(taken.status).toBe(201)
    const { context, page } = await system.signedIn(TECH)
    await page.goto("/extractions/new")
    await page.getByLabel("PDF form").setInputFiles(join(import.meta.dirname, "../fixtures/forms/dev/dev-b04-n1.pdf"))
    await page.getByRole("heading", { name: "Extracted form" }).waitFor({ timeout: 30_000 })
    await page.getByRole("button", { name: /^Accept all high-confidence/ }).click()
    const count = async () => ((await system.api("GET", "/api/v1/submissions?limit=200")).body as { items: Array<unknown> }).items.length
    const before = await count()
    await page.getByRole("button", { name: "Create submission" }).click()
    await page.getByRole("alert").filter({ hasText: "Nothing was created" }).waitFor()
    const quote = page.locator("[data-path='quoteId']")
    await quote.locator(".field-error").waitFor()
    expect(await quote.getByRole("textbox").getAttribute("aria-invalid")).toBe("true")
    await shot(page, "8-refused")
    expect(await count()).toBe(before)

    await quote.getByRole("textbox").fill("HTSF--TM-161")
    expect(await quote.locator(".field-error").count()).toBe(0)
    await page.getByRole("button", { name: "Create submission" }).click()
    await page.getByRole("status").filter({ hasText: "Submission created with 1 sample" }).getByRole("link", { name: "HTSF--TM-161" }).waitFor()
    await context.close()
  }, 60_000)

  it("a form the reader is unsure of: unsure fields highlighted with their evidence, Create waits until each is accepted or edited; a file that is not a PDF is refused in words; a file over the RPC limit goes through the multipart route", async () => {
    const { context, page } = await system.signedIn(TECH)
    await page.goto("/extractions/new")
    await page.getByLabel("PDF form").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("meeting notes, not a form") })
    await page.getByRole("alert").filter({ hasText: "notes.txt is not a PDF" }).waitFor()

    // A sparse form in another layout: a quote id and two sample rows (one with a poor A260/280), most of the form missing.
    const pdf = await (await FormPdf.create())
      .field("Quote:", "HTSF--UN-007", { inline: true })
      .field("Organism", "Danio rerio", { below: true })
      .heading("Samples")
      .table(
        [
          { header: "#", width: 24, align: "center" },
          { header: "Sample name", width: 150, align: "left" },
          { header: "Volume (µL)", width: 60, align: "right" },
          { header: "Qubit (ng/µL)", width: 60, align: "right" },
          { header: "A260/280", width: 60, align: "right" }
        ],
        [["1", "ZF-1", "20", "50", "1.2"], ["2", "ZF-2", "25", "40", "1.9"]],
        { rowsPerPage: 20 }
      )
      .save()
    await page.getByLabel("PDF form").setInputFiles({ name: "sparse.pdf", mimeType: "application/pdf", buffer: Buffer.from(pdf) })
    await page.getByRole("heading", { name: "Extracted form" }).waitFor({ timeout: 30_000 })
    const unsure = page.locator("[data-unsure='true']")
    const before = await unsure.count()
    expect(before).toBeGreaterThan(0)
    await expect.poll(() => page.getByText(/unsure fields? to check/).first().textContent()).toContain(`${before} unsure`)
    expect(await page.getByRole("button", { name: "Create submission" }).isDisabled()).toBe(true)
    // The purity warning, with the knowledge-base passage it rests on.
    const warning = page.getByRole("list", { name: "Warnings" }).getByRole("listitem").filter({ hasText: "A260/280 1.2 is outside 1.8-2.0" })
    await warning.getByText(/^Source: /).click()
    await expect.poll(async () => (await warning.locator("blockquote").textContent())?.length ?? 0).toBeGreaterThan(40)
    await shot(page, "9-unsure")
    // One click accepts one field; typing into another accepts it as an edit.
    await unsure.first().getByRole("button", { name: /^Accept / }).click()
    await expect.poll(() => unsure.count()).toBe(before - 1)
    const next = unsure.first()
    const path = await next.getAttribute("data-path")
    await next.locator("input[type='text'], select").first().evaluate((e) => (e as HTMLElement).focus())
    await page.keyboard.type("1")
    await page.locator(`[data-path='${path}']`).getByText("edited").waitFor()
    await expect.poll(() => unsure.count()).toBe(before - 2)
    expect(await accessibilityViolations(page)).toEqual([])

    // A file over the RPC limit (here a form with a large attachment) goes through the multipart route, same page.
    const big = await PDFDocument.load(pdf)
    await big.attach(randomBytes(MAX_RPC_PDF_BYTES + 100_000), "raw-data.bin", { mimeType: "application/octet-stream" })
    const bigBytes = await big.save()
    expect(bigBytes.byteLength).toBeGreaterThan(MAX_RPC_PDF_BYTES)
    await page.goto("/extractions/new")
    await page.getByLabel("PDF form").setInputFiles({ name: "big.pdf", mimeType: "application/pdf", buffer: Buffer.from(bigBytes) })
    await page.getByRole("heading", { name: "Review big.pdf" }).waitFor()
    await page.getByRole("heading", { name: "Extracted form" }).waitFor({ timeout: 30_000 })
    expect(await page.getByLabel("Quote id", { exact: true }).inputValue()).toBe("HTSF--UN-007")
    await context.close()
  }, 60_000)
})
