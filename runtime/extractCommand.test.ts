/** `poretrack extract` as a user runs it: a child process, JSON on stdout for a form, one line on stderr for a bad file. */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const bin = join(import.meta.dirname, "poretrack.mjs")
const fixture = join(import.meta.dirname, "../test/fixtures/forms/dev/dev-b04-n1.pdf")

const run = (...args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, "extract", ...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })
    )
  })

describe("poretrack extract", () => {
  it("prints the result, the confidence per field and the warnings as JSON", async () => {
    const { code, stderr, stdout } = await run(fixture)
    expect(stderr).toBe("")
    expect(code).toBe(0)
    const out = JSON.parse(stdout)
    expect(Object.keys(out)).toEqual(["result", "confidence", "warnings"])
    expect(out.result).toMatchObject({ quoteId: "HTSF--TM-160", device: "PromethION", kit: null, genomeSizeMb: 2300 })
    expect(out.result.samples).toHaveLength(1)
    expect(out.confidence["requester.email"]).toBeGreaterThan(0.9)
    expect(Array.isArray(out.warnings)).toBe(true)
  })

  it("--evidence adds where each value was read", async () => {
    const { code, stdout } = await run(fixture, "--evidence")
    expect(code).toBe(0)
    expect(JSON.parse(stdout).evidence.quoteId).toMatchObject({ page: 1, text: "HTSF--TM-160" })
  })

  it("a file that is not a PDF: exit 1, one line naming the reason, no stack trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "poretrack-extract-"))
    const file = join(dir, "form.pdf")
    writeFileSync(file, "name,volume\nS1,20\n")
    const { code, stderr, stdout } = await run(file)
    expect(code).toBe(1)
    expect(stdout).toBe("")
    expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(/^poretrack extract: cannot read the PDF \(not_pdf\): /)])
  })

  it("a missing file and a bad invocation are one line each, with their own exit codes", async () => {
    const missing = await run(join(tmpdir(), "no-such-form.pdf"))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^poretrack extract: cannot open .*no-such-form\.pdf: ENOENT\n$/)
    const usage = await run()
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/^poretrack extract: usage: /)
  })
})
