import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startBrowserSystem, type BrowserSystem } from "./Browser.ts"

let system: BrowserSystem
beforeAll(async () => {
  system = await startBrowserSystem()
}, 120_000)
afterAll(() => system?.close())

describe("app shell", () => {
  it("signs in", async () => {
    await system.createUser("technician", "tess@lab.example", "Tess Tech")
    const { page } = await system.signedIn("tess@lab.example")
    expect(new URL(page.url()).pathname).toBe("/dashboard")
    await expect(page.getByText("Tess Tech").isVisible()).resolves.toBe(true)
  })
})
