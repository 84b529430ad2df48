/**
 * Debian's Chromium as the browser tests and the web benchmark drive it (playwright-core, never a downloaded browser).
 * Its own module so that a plain Node script (bench/web.ts) can launch it without the test harness's vitest imports.
 */
import { existsSync } from "node:fs"
import { chromium, type Browser } from "playwright-core"

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run"
]

/** Launches Debian's Chromium (CHROMIUM_PATH, or /usr/bin/chromium). */
export const launchChromium = (): Promise<Browser> => {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
  if (!existsSync(executablePath)) {
    return Promise.reject(new Error(`no Chromium at ${executablePath}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`))
  }
  return chromium.launch({ executablePath, args: CHROMIUM_FLAGS, headless: true })
}
