/**
 * A runner killed with kill -9 in the middle of an extraction: the job is left `running`, never half-stored, and
 * after a restart on the same database the persisted Run is delivered again and the job completes by itself.
 * The job is held mid-way deterministically: its LLM stage asks a stand-in for Ollama that takes the question and
 * never answers; the restarted process has no Ollama, so the stage is skipped and the rules' result stands.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { clusterEnv, startChild, type Child, until } from "./ChildSystem.ts"
import { FormPdf } from "./FormPdfBuilder.ts"
import { freePort } from "./freePort.ts"
import { adminAuth } from "./TestAuth.ts"
import { createTestDatabase, query } from "./TestDatabase.ts"


/** An Ollama that lists its models and takes a chat request without ever answering it; `asked` resolves on the first. */
const silentOllama = async () => {
  let onAsked: () => void = () => undefined
  const asked = new Promise<void>((resolve) => {
    onAsked = resolve
  })
  const server: Server = createServer((req, res) => {
    if (req.url === "/api/tags") {
      res.setHeader("content-type", "application/json")
      return res.end(JSON.stringify({ models: [] }))
    }
    if (req.url === "/api/chat") {
      req.resume()
      onAsked()
      return // never answers: the job stays in its LLM stage until the process dies
    }
    res.statusCode = 404
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, close: () => {
    server.closeAllConnections()
    server.close()
  } }
}

describe("extraction crash", () => {
  const children: Array<Child> = []
  const cleanups: Array<() => void> = []
  afterAll(async () => {
    for (const c of children) await c.kill9().catch(() => undefined)
    for (const f of cleanups) f()
  })

  it("kill -9 mid-job: left running, never half-stored; after a restart the job completes by itself", { timeout: 60_000 }, async () => {
    const databaseUrl = await createTestDatabase()
    const ollama = await silentOllama()
    cleanups.push(ollama.close)
    // A sparse form: the rules are unsure of most fields, so the LLM stage is asked about them.
    const pdf = await (await FormPdf.create()).field("Quote:", "HTSF--CR-042", { inline: true }).field("Source organism:", "Danio rerio", { inline: true }).save()
    const env = { ...clusterEnv(databaseUrl), OLLAMA_TIMEOUT: "10 minutes" }
    const first = await startChild({ ...env, OLLAMA_HOST: ollama.host, RUNNER_PORT: String(await freePort()) }, await freePort())
    children.push(first)
    const form = new FormData()
    form.append("file", new Blob([new Uint8Array(pdf)], { type: "application/pdf" }), "sparse.pdf")
    const accepted = await fetch(`${first.baseUrl}/api/v1/extractions`, { method: "POST", headers: adminAuth, body: form })
    expect(accepted.status).toBe(202)
    const { id } = (await accepted.json()) as { id: string }

    // The job is in its LLM stage (or the process died first: fail with what it printed).
    await Promise.race([ollama.asked, first.exited.then((code) => Promise.reject(new Error(`exited with ${code}:\n${first.output()}`)))])
    await first.kill9()
    const killed = await query<{ status: string; result: unknown }>(databaseUrl, "SELECT status, result FROM extractions WHERE id = $1", [id])
    expect(killed[0]).toEqual({ status: "running", result: null })

    // A new process on the same database takes the shard over; the persisted Run is delivered again.
    const second = await startChild({ ...env, OLLAMA_HOST: "http://127.0.0.1:9", RUNNER_PORT: String(await freePort()) }, await freePort())
    children.push(second)
    const done = await until(async () => {
      const r = await fetch(`${second.baseUrl}/api/v1/extractions/${id}`, { headers: adminAuth })
      const body = (await r.json()) as { status: string; result: { quoteId: string | null; organism: string | null } | null; details: { llm: { status: string } } | null }
      return body.status === "completed" || body.status === "failed" ? body : undefined
    }, 40_000)
    expect(done.status).toBe("completed")
    expect(done.result).toMatchObject({ quoteId: "HTSF--CR-042", organism: "Danio rerio" })
    expect(done.details?.llm.status).toBe("skipped")
  })
})
