/**
 * What every browser test needs: the whole system on a fresh database (test/TestSystem.ts), Debian's Chromium driven
 * by playwright-core, accounts of each role made through the admin API, signing in through the app's own form, an
 * axe-core accessibility check, and screenshots under test-results/screenshots (the folder `.ci/run` prints).
 */
import { LogLevel, ManagedRuntime } from "effect"
import { mkdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import type { Browser, BrowserContext, Page } from "playwright-core"
import type { Role } from "../../rpc/Auth.ts"
import type { AppConfig } from "../../runtime/Config.ts"
import { adminAuth } from "../TestAuth.ts"
import { CHROMIUM_FLAGS, launchChromium } from "./Chromium.ts"
import { TestEndpoint, TestSystem } from "../TestSystem.ts"

export { CHROMIUM_FLAGS, launchChromium }

/** The password every test account gets. */
export const PASSWORD = "correct horse battery staple"

export const SCREENSHOTS = join(process.cwd(), "test-results", "screenshots")

/** A running system, a browser, and helpers bound to them. */
export interface BrowserSystem {
  readonly baseUrl: string
  readonly databaseUrl: string
  readonly browser: Browser
  /** Makes an account (through `POST /api/v1/users` as the bootstrap admin key); returns its e-mail. */
  readonly createUser: (role: Role, email: string, name?: string) => Promise<string>
  /** A new browser context (own cookies) signed in as `email` through the sign-in form, on the page it lands on. */
  readonly signedIn: (email: string, options?: { readonly viewport?: { width: number; height: number } }) => Promise<{ context: BrowserContext; page: Page }>
  /** Calls the REST API as the bootstrap admin key. */
  readonly api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: unknown }>
  readonly close: () => Promise<void>
}

/** Starts the system (with `settings` overrides) and Chromium. */
export const startBrowserSystem = async (settings: Partial<AppConfig> = {}): Promise<BrowserSystem> => {
  const runtime = ManagedRuntime.make(TestSystem({ settings: { logLevel: LogLevel.Warning, ...settings } }))
  const { baseUrl, databaseUrl } = await runtime.runPromise(TestEndpoint)
  const browser = await launchChromium()
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...adminAuth, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    })
    const text = await res.text()
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined }
  }
  const createUser = async (role: Role, email: string, name = email.split("@")[0]!) => {
    const res = await api("POST", "/api/v1/users", { email, name, role, password: PASSWORD })
    if (res.status !== 201 && res.status !== 200) throw new Error(`could not create ${email}: ${res.status} ${JSON.stringify(res.body)}`)
    return email
  }
  const signedIn = async (email: string, options: { readonly viewport?: { width: number; height: number } } = {}) => {
    const context = await browser.newContext({ baseURL: baseUrl, viewport: options.viewport ?? { width: 1280, height: 800 } })
    const page = await context.newPage()
    await page.goto("/signin")
    await page.getByLabel("E-mail").fill(email)
    await page.getByLabel("Password").fill(PASSWORD)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("button", { name: "Sign out" }).waitFor()
    return { context, page }
  }
  return {
    baseUrl,
    databaseUrl,
    browser,
    createUser,
    signedIn,
    api,
    close: async () => {
      await browser.close()
      await runtime.dispose()
    }
  }
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

/** axe-core's serious and critical violations on the page as it is now (id, impact, and the first offending nodes). */
export const accessibilityViolations = async (page: Page): Promise<Array<{ id: string; impact: string; help: string; nodes: Array<string> }>> => {
  // Evaluated through the DevTools protocol: the app's CSP (script-src 'self') stays as it is for the check.
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: Array<string> }> }> }> } }).axe
    const r = await axe.run(document, { resultTypes: ["violations"] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }))
  })
  return result.filter((v) => v.impact === "serious" || v.impact === "critical")
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png. */
export const screenshot = async (page: Page, name: string) => {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}
