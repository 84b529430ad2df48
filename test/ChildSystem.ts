/** `runtime/start.ts` as a child process, for tests of restarts and of what `npm start` prints. */
import { spawn, type ChildProcess } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { TEST_ADMIN_TOKEN } from "./TestAuth.ts"

export interface Child {
  readonly baseUrl: string
  readonly pid: number
  readonly output: () => string
  /** kill -9: no shutdown hooks run. */
  readonly kill9: () => Promise<void>
  /** SIGTERM and wait for the exit code. */
  readonly stop: () => Promise<number | null>
  /** Sends a signal (e.g. SIGSTOP/SIGCONT) without waiting. */
  readonly signal: (signal: NodeJS.Signals) => void
  /** Resolves with the exit code when the process has exited, however it ended. */
  readonly exited: Promise<number | null>
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.once("exit", (code) => resolve(code))
  })

/** Settings of runners and gateways in the multi-process tests: loopback, and lock timings short enough for a test. */
export const clusterEnv = (databaseUrl: string): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  HTTP_HOST: "127.0.0.1",
  RUNNER_HOST: "127.0.0.1",
  SHARD_LOCK_REFRESH_INTERVAL: "1 second",
  SHARD_LOCK_EXPIRATION: "4 seconds",
  ENTITY_MESSAGE_POLL_INTERVAL: "200 millis",
  PORETRACK_ADMIN_TOKEN: TEST_ADMIN_TOKEN
})

/** Starts a role (all-in-one by default) and resolves when it prints that it listens (or rejects when it exits first). */
export const startChild = (
  env: Record<string, string>,
  port: number,
  timeoutMs = 90_000,
  role: "start" | "runner" | "gateway" = "start"
): Promise<Child> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", `runtime/${role}.ts`], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", PORETRACK_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let listening = false
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`no start-up banner within ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      // Once: the banner stays in `out`, and every later chunk must not build another handle (and exit listener).
      if (!listening && /poretrack( runner| gateway)? listening on/.test(out)) {
        listening = true
        clearTimeout(timer)
        resolve({
          baseUrl: `http://127.0.0.1:${port}`,
          pid: child.pid ?? 0,
          output: () => out,
          kill9: async () => {
            child.kill("SIGKILL")
            await exited(child)
          },
          stop: async () => {
            child.kill("SIGTERM")
            return exited(child)
          },
          signal: (signal) => {
            child.kill(signal)
          },
          exited: exited(child)
        })
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening:\n${out}`))
    })
  })

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Stops an embedded PostgreSQL left running under `dataDir` (a kill -9 of its parent leaves it behind) and waits,
 * at most 30 s, until it has exited: removing its folder while it still writes its shutdown checkpoint fails.
 */
export const stopEmbedded = async (dataDir: string) => {
  const pidFile = join(dataDir, "pg", "postmaster.pid")
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0])
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return
  process.kill(pid, "SIGINT")
  const deadline = Date.now() + 30_000
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
}

/** Polls `check` until it answers something (the system's own state, read again; no fixed sleep). */
export const until = async <A>(check: () => Promise<A | undefined>, timeoutMs: number): Promise<A> => {
  const end = Date.now() + timeoutMs
  for (;;) {
    const a = await check()
    if (a !== undefined) return a
    if (Date.now() > end) throw new Error("timed out")
    await new Promise((r) => setTimeout(r, 100)) // a poll interval, not a wait for something to happen
  }
}
