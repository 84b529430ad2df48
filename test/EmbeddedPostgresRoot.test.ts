/**
 * First run as root where the `postgres` system user cannot enter a parent of DATA_DIR: one line saying what to set,
 * exit code 1, no stack trace (initdb used to die with an uncaught EACCES).
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { blockedFolder } from "../persistence/EmbeddedPostgres.ts"
import { freePort } from "./freePort.ts"

const asRoot = process.getuid?.() === 0

describe("embedded PostgreSQL as root", () => {
  it("blockedFolder follows the owner, group, others rule of the first folder without search permission", () => {
    const folders: Record<string, { mode: number; uid: number; gid: number }> = {
      "/": { mode: 0o755, uid: 0, gid: 0 },
      "/home": { mode: 0o751, uid: 0, gid: 0 },
      "/home/ada": { mode: 0o710, uid: 1000, gid: 50 },
      "/home/ada/lab": { mode: 0o700, uid: 101, gid: 0 },
      "/home/ada/lab/data": { mode: 0o755, uid: 0, gid: 0 }
    }
    const stat = (p: string) => folders[p]
    const postgres = { uid: 101, gids: [104] }
    // Others may enter /home (x), not /home/ada (0710: group only).
    expect(blockedFolder("/home/ada/lab/data", postgres, stat)).toEqual({ path: "/home/ada", mode: 0o710 })
    // In group 50 it may enter /home/ada; it owns /home/ada/lab (0700: owner x).
    expect(blockedFolder("/home/ada/lab/data", { uid: 101, gids: [104, 50] }, stat)).toBeUndefined()
    // A user that does not exist yet only has the others bits; missing folders are skipped.
    expect(blockedFolder("/home/new/data", { uid: undefined, gids: [] }, stat)).toBeUndefined()
    expect(blockedFolder("/home/ada/x", { uid: undefined, gids: [] }, stat)).toEqual({ path: "/home/ada", mode: 0o710 })
  })

  it.skipIf(!asRoot)("npm start as root with DATA_DIR under a 0700 folder prints one line and exits 1", async () => {
    const root = await mkdtemp(join(tmpdir(), "poretrack-root-"))
    try {
      await chmod(root, 0o755)
      const locked = join(root, "locked")
      await mkdir(locked, { mode: 0o700 })
      await chmod(locked, 0o700)
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: join(locked, "data"),
        PORT: String(await freePort()),
        EMBEDDED_PG_PORT: String(await freePort()),
        RUNNER_HOST: "127.0.0.1",
        RUNNER_PORT: String(await freePort()),
        LOG_FORMAT: "pretty"
      }
      delete env.DATABASE_URL
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, ["--import", "tsx", "runtime/start.ts"], { env, timeout: 60_000 }, (_error, stdout, stderr) =>
          resolve({ code: child.exitCode, stdout, stderr }))
      })
      expect(result.code).toBe(1)
      expect(result.stderr.trim()).toBe(
        `cannot run the embedded PostgreSQL: the postgres system user cannot enter ${locked} (mode 0700). ` +
          "Set DATA_DIR to a folder it can reach (e.g. DATA_DIR=/var/lib/poretrack) or set DATABASE_URL."
      )
      expect(`${result.stdout}\n${result.stderr}`).not.toMatch(/EACCES|\n\s+at /)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
