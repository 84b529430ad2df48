/**
 * `npm start` end to end, as a process: embedded PostgreSQL when DATABASE_URL is unset, what it prints, and that a
 * kill -9 loses nothing: samples, events, idempotency records and pending SLA timers survive, and timers fire once.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { SampleEvent } from "../rpc/Workflow.ts"
import { startChild, stopEmbedded, type Child } from "./ChildSystem.ts"
import { freePort } from "./freePort.ts"
import { adminAuth } from "./TestAuth.ts"

const post = async (base: string, path: string, body: unknown, key?: string) => {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...adminAuth, ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body)
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
}
const get = async (base: string, path: string) => {
  const res = await fetch(`${base}${path}`, { headers: adminAuth })
  return { status: res.status, body: (await res.json()) as unknown }
}

/** One sample's audit trail, read every 100 ms until `done` holds (at most 60 s). */
const untilEvents = async (base: string, sampleId: string, done: (events: Array<SampleEvent>) => boolean) => {
  const deadline = Date.now() + 60_000
  for (;;) {
    const events = (await get(base, `/api/v1/samples/${sampleId}/events`)).body as Array<SampleEvent>
    if (done(events)) return events
    if (Date.now() > deadline) throw new Error(`the audit trail never met the condition: ${events.map((e) => e.type).join(", ")}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe("npm start as a process", () => {
  const dirs: Array<string> = []
  const children: Array<Child> = []
  afterAll(async () => {
    for (const c of children) await c.kill9()
    for (const d of dirs) {
      await stopEmbedded(d)
      await rm(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
    }
  })

  it("survives kill -9: state, events, idempotency and timers persist; timers fire once and never early", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "poretrack-restart-"))
    dirs.push(dataDir)
    const env = {
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      RUNNER_HOST: "127.0.0.1",
      RUNNER_PORT: String(await freePort()),
      HTTP_HOST: "127.0.0.1",
      ENTITY_MESSAGE_POLL_INTERVAL: "200 millis",
      STEP_EXPECTED_DURATIONS: "sample_qc=10s"
    }
    const port = await freePort()
    const first = await startChild(env, port)
    children.push(first)
    expect(first.output()).toContain(`poretrack listening on http://127.0.0.1:${port}`)
    expect(first.output()).toContain("embedded PostgreSQL")

    const created = await post(first.baseUrl, "/api/v1/samples", {
      sampleName: "durable-1", submitterEmail: "ada@lab.example", priority: "urgent", flowCellType: "R10.4.1", libraryKit: "SQK-LSK114"
    })
    expect(created.status).toBe(201)
    const x = String(created.body.id)
    const other = await post(first.baseUrl, "/api/v1/samples", {
      sampleName: "durable-2", submitterEmail: "ada@lab.example", flowCellType: "R10.4.1", libraryKit: "SQK-LSK114"
    })
    const y = String(other.body.id)
    const received = await post(first.baseUrl, `/api/v1/samples/${x}/receive`, {}, "receive-x")
    expect(received.status).toBe(200)
    const receivedAt = Date.parse(String((received.body.sample as Record<string, unknown>).receivedAt))
    await post(first.baseUrl, `/api/v1/samples/${y}/receive`, {}, "receive-y")
    const advanced = await post(first.baseUrl, `/api/v1/samples/${y}/workflow/advance`, {
      expectedStep: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 }
    }, "qc-y")
    expect(advanced.status).toBe(200)

    await first.kill9()
    const second = await startChild(env, port)
    children.push(second)

    const sx = await get(second.baseUrl, `/api/v1/samples/${x}`)
    // Version 2 (received), or more if its SLA timer already fired on the new process (a slow restart).
    expect(sx.body).toMatchObject({ status: "in_progress", currentStep: "sample_qc" })
    expect((sx.body as { version: number }).version).toBeGreaterThanOrEqual(2)
    const sy = await get(second.baseUrl, `/api/v1/samples/${y}`)
    expect(sy.body).toMatchObject({ status: "in_progress", currentStep: "library_prep", version: 3 })
    const replay = await post(second.baseUrl, `/api/v1/samples/${x}/receive`, {}, "receive-x")
    expect(replay.status).toBe(200)
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect(replay.body.sample).toEqual(received.body.sample)

    // The timer armed before the kill fires on the new process: at risk at 8 s, breached at 10 s after receipt.
    // Read the audit trail (a state) until the breach is in it: watching the live feed after a first read would miss
    // a breach committed between the read and the subscription.
    const events = await untilEvents(second.baseUrl, x, (all) => all.some((e) => e.type === "SlaBreached"))
    const sla = events.filter((e) => e.type.startsWith("Sla"))
    expect(sla.map((e) => e.type)).toEqual(["SlaAtRisk", "SlaBreached"])
    expect(Date.parse(sla[0]!.at)).toBeGreaterThanOrEqual(receivedAt + 8_000)
    expect(Date.parse(sla[1]!.at)).toBeGreaterThanOrEqual(receivedAt + 10_000)
    // One transition per version, gap-free; a timer that fires late (after the restart) raises both in one transition.
    const versions = [...new Set(events.map((e) => e.version))]
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1))
    expect(versions.length).toBeGreaterThanOrEqual(3)

    const code = await second.stop()
    expect(code).toBe(0)
  }, 180_000)
})
