/**
 * The admin pages in a browser: users (field errors, create, role, disable), API keys (the secret shown once and
 * working, gone after a reload, refused once revoked) and the SLA/QC settings (saved by an admin, a version conflict
 * said in words, read-only for a technician).
 */
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { accessibilityViolations, PASSWORD, screenshot, startBrowserSystem, type BrowserSystem } from "./Browser.ts"

let system: BrowserSystem
let admin: Page

beforeAll(async () => {
  system = await startBrowserSystem()
  await system.createUser("admin", "ada@lab.example", "Ada Admin")
  admin = (await system.signedIn("ada@lab.example")).page
}, 120_000)
afterAll(() => system?.close())

const me = (secret: string) => fetch(`${system.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } })

describe("admin pages", () => {
  it("creates a technician, with field errors in words, changes the role, disables and enables", async () => {
    await admin.goto("/admin/users")
    await admin.getByRole("heading", { name: "Users", level: 1 }).waitFor()
    await admin.getByRole("row").filter({ hasText: "ada@lab.example" }).waitFor()
    await admin.getByLabel("E-mail").fill("tom@lab.example")
    await admin.getByLabel("Name", { exact: true }).fill("Tom Tech")
    await admin.getByLabel("Role", { exact: true }).selectOption("technician")
    await admin.getByLabel("Initial password").fill("short")
    await admin.getByRole("button", { name: "Create user" }).click()
    await admin.getByText("a password has at least 10 characters").waitFor()
    await expect(admin.getByLabel("Initial password").getAttribute("aria-invalid")).resolves.toBe("true")

    await admin.getByLabel("Initial password").fill(PASSWORD)
    await admin.getByRole("button", { name: "Create user" }).click()
    await admin.getByText("Tom Tech (tom@lab.example) can now sign in as technician.").waitFor()
    const tom = admin.getByRole("row").filter({ hasText: "tom@lab.example" })
    await tom.waitFor()
    await expect(admin.getByLabel("Role of Tom Tech").inputValue()).resolves.toBe("technician")

    // The same e-mail again: the server's refusal lands on the field.
    await admin.getByLabel("E-mail").fill("tom@lab.example")
    await admin.getByLabel("Name", { exact: true }).fill("Tom Again")
    await admin.getByLabel("Initial password").fill(PASSWORD)
    await admin.getByRole("button", { name: "Create user" }).click()
    await admin.getByText("already used by another account").waitFor()
    await expect(admin.getByLabel("E-mail").getAttribute("aria-invalid")).resolves.toBe("true")
    expect(await accessibilityViolations(admin)).toEqual([])

    await admin.getByLabel("Role of Tom Tech").selectOption("manager")
    await admin.getByText("Tom Tech is now manager.").waitFor()
    await admin.reload()
    await admin.getByLabel("Role of Tom Tech").waitFor()
    await expect(admin.getByLabel("Role of Tom Tech").inputValue()).resolves.toBe("manager")
    await admin.getByLabel("Role of Tom Tech").selectOption("technician")
    await admin.getByText("Tom Tech is now technician.").waitFor()

    await admin.getByRole("button", { name: "Disable Tom Tech" }).click()
    await tom.getByText("disabled", { exact: true }).waitFor()
    await admin.getByRole("button", { name: "Enable Tom Tech" }).click()
    await tom.getByText("active", { exact: true }).waitFor()
    await screenshot(admin, "admin-users")
  })

  it("creates an API key whose secret is shown once and works, then revokes it", async () => {
    await admin.goto("/admin/keys")
    await admin.getByRole("heading", { name: "API keys", level: 1 }).waitFor()
    await admin.getByLabel("Name", { exact: true }).fill("LIMS import")
    await expect(admin.getByRole("checkbox", { name: /samples:read/ }).isChecked()).resolves.toBe(true)
    await admin.getByRole("checkbox", { name: /events:read/ }).check()
    await admin.getByRole("button", { name: "Create key" }).click()
    await admin.getByText("shown once", { exact: false }).waitFor()
    const secret = (await admin.getByTestId("api-key-secret").textContent())?.trim() ?? ""
    expect(secret.length).toBeGreaterThan(20)
    await admin.getByRole("button", { name: "Copy the secret" }).waitFor()
    expect(await accessibilityViolations(admin)).toEqual([])
    await screenshot(admin, "admin-keys-secret")

    const res = await me(secret)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ _tag: "ApiKey", name: "LIMS import", scopes: ["samples:read", "events:read"] })

    // Shown once: a reload does not bring it back.
    await admin.reload()
    const row = admin.getByRole("row").filter({ hasText: "LIMS import" })
    await row.waitFor()
    expect(await admin.getByText(secret).count()).toBe(0)
    expect(await admin.getByText("shown once").count()).toBe(0)

    await admin.getByRole("button", { name: "Revoke LIMS import" }).click()
    const dialog = admin.getByRole("alertdialog", { name: "Revoke the key “LIMS import”?" })
    await dialog.waitFor()
    expect(await accessibilityViolations(admin)).toEqual([])
    await dialog.getByRole("button", { name: "Revoke the key" }).click()
    await row.getByText("revoked").waitFor()
    await vi.waitFor(async () => expect((await me(secret)).status).toBe(401), { timeout: 15_000, interval: 250 })
  })

  it("saves a QC threshold, says when someone else saved first, and shows it read-only to a technician", async () => {
    await admin.goto("/admin/settings")
    const din = admin.getByLabel("Minimum DIN")
    await din.waitFor()
    // A value out of range is refused with the contract's words, on its field.
    await din.fill("12")
    await admin.getByRole("button", { name: "Save settings" }).click()
    await admin.getByText("must be between 0 and 10 (DIN/RIN scale)").waitFor()
    await expect(din.getAttribute("aria-invalid")).resolves.toBe("true")
    await din.fill("7.5")
    await admin.getByRole("button", { name: "Save settings" }).click()
    await admin.getByText(/Saved: version 1 is in force/).waitFor()
    await admin.getByText(/Version 1, saved .* by ada@lab\.example/).waitFor()
    await expect(admin.getByLabel("Minimum DIN").inputValue()).resolves.toBe("7.5")
    expect(await accessibilityViolations(admin)).toEqual([])
    await screenshot(admin, "admin-settings")

    // Someone saves version 2 through the API while the page still shows version 1.
    const current = await system.api("GET", "/api/v1/settings")
    const { version, updatedAt: _at, updatedBy: _by, ...policy } = current.body as { version: number; updatedAt: string; updatedBy: string; qc: Record<string, unknown> }
    const put = await system.api("PUT", "/api/v1/settings", { ...policy, qc: { ...policy.qc, minRin: 6 }, expectedVersion: version })
    expect(put.status).toBe(200)
    await admin.getByLabel("Minimum RIN").fill("8")
    await admin.getByRole("button", { name: "Save settings" }).click()
    await admin.getByText(/Not saved: someone else saved the settings meanwhile \(now version 2/).waitFor()
    await admin.getByRole("button", { name: "Load the current settings" }).click()
    await admin.getByText(/Version 2, saved/).waitFor()
    await expect(admin.getByLabel("Minimum RIN").inputValue()).resolves.toBe("6")

    await system.createUser("technician", "tess@lab.example", "Tess Tech")
    const { page: tech } = await system.signedIn("tess@lab.example")
    await tech.goto("/admin/settings")
    await tech.getByText("Read only: only an admin can change these settings.").waitFor()
    const techDin = tech.getByLabel("Minimum DIN")
    await techDin.waitFor()
    await expect(techDin.inputValue()).resolves.toBe("7.5")
    await expect(techDin.isDisabled()).resolves.toBe(true)
    expect(await tech.getByRole("button", { name: "Save settings" }).count()).toBe(0)
    expect(await accessibilityViolations(tech)).toEqual([])
  })
})
