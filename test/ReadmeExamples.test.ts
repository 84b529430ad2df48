/**
 * The README's typed RPC client is the file docs/examples/rpc-client.ts (the README shows it line for line), and it
 * works: run as a process against the system with an API key, it prints the in-progress samples.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { Receive } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { TEST_ADMIN_TOKEN } from "./TestAuth.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

const code = (line: string) => line.replace(/\s+\/\/.*$/, "").trim()

describe("README examples", () => {
  it("the README's RPC snippet is the example file's code", () => {
    const readme = readFileSync("README.md", "utf8")
    const snippet = /\*\*Typed RPC from TypeScript\*\*[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? ""
    const file = new Set(readFileSync("docs/examples/rpc-client.ts", "utf8").split("\n").map(code))
    const lines = snippet.split("\n").map(code).filter((l) => l.length > 0)
    expect(lines.length).toBeGreaterThan(8)
    expect(lines.filter((l) => !file.has(l))).toEqual([])
  })

  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.effect("the typed RPC client of the README lists in-progress samples with an API key", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { baseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(2, { prefix: "readme" })
        yield* api.execute(samples[0]!.id, new Receive(), undefined, "test")
        const run = yield* Effect.promise(() =>
          new Promise<{ code: number | null; out: string }>((resolve) => {
            const child = spawn(process.execPath, ["--import", "tsx", "docs/examples/rpc-client.ts"], {
              env: { PATH: process.env.PATH ?? "", PORETRACK_URL: baseUrl, PORETRACK_API_KEY: TEST_ADMIN_TOKEN },
              stdio: ["ignore", "pipe", "pipe"]
            })
            let out = ""
            child.stdout.on("data", (c: Buffer) => (out += c.toString()))
            child.stderr.on("data", (c: Buffer) => (out += c.toString()))
            child.on("exit", (code) => resolve({ code, out }))
          }))
        expect(run.code, run.out).toBe(0)
        expect(run.out).toContain("readme-1 sample_qc on_track")
        expect(run.out).not.toContain("readme-2")
      }))
  })
})
