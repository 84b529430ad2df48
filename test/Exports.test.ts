/**
 * Export jobs through the REST API, on the whole system: each format started, followed to completion, downloaded,
 * parsed back and compared row by row with the samples; a submitter confined to their own samples and exports;
 * typed 4xx for bad and hostile input with nothing written; cancel; schedules for managers only.
 */
import { describe, expect, layer } from "@effect/vitest"
import ExcelJS from "exceljs"
import { SaxesParser } from "saxes"
import { Effect, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import { EXPORT_COLUMN_IDS, EXPORT_COLUMNS, rowOf } from "../actors/export/ExportColumns.ts"
import { jsonValue } from "../actors/export/JsonWriter.ts"
import { syntheticSamples } from "../actors/export/SyntheticSamples.ts"
import { ExportRepo } from "../persistence/ExportRepo.ts"
import { runSchedules } from "../runtime/ExportCrons.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly bytes: Buffer
  readonly body: Record<string, unknown>
}

type Credential = Readonly<Record<string, string>>

const call = async (base: string, who: Credential, method: string, path: string, body?: unknown, raw?: string): Promise<Reply> => {
  const headers: Record<string, string> = { ...who }
  const payload = raw ?? (body !== undefined ? JSON.stringify(body) : undefined)
  if (payload !== undefined) headers["content-type"] = "application/json"
  const res = await fetch(`${base}${path}`, { method, headers, redirect: "manual", ...(payload !== undefined ? { body: payload } : {}) })
  const bytes = Buffer.from(await res.arrayBuffer())
  let parsed: Record<string, unknown> = {}
  try {
    parsed = bytes.length > 0 ? (JSON.parse(bytes.toString("utf8")) as Record<string, unknown>) : {}
  } catch {
    parsed = {}
  }
  return { status: res.status, headers: res.headers, bytes, body: parsed }
}

const PASSWORD = "a long enough password"

/** A signed-in submitter's credential (session cookie + CSRF token on writes). */
const submitter = async (base: string, email: string): Promise<{ read: Credential; write: Credential }> => {
  const created = await call(base, adminAuth, "POST", "/api/v1/users", { email, name: "Sub", role: "submitter", password: PASSWORD })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const res = await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) })
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!
  const { csrfToken } = (await res.json()) as { csrfToken: string }
  return { read: { cookie }, write: { cookie, "x-csrf-token": csrfToken } }
}

const submit = async (base: string, email: string, names: ReadonlyArray<string>) => {
  const created = await call(base, adminAuth, "POST", "/api/v1/submissions", { submitterEmail: email, samples: names.map((sampleName) => ({ sampleName, libraryKit: "SQK-LSK114" })) })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  return (created.body.samples as Array<{ id: string; sampleName: string }>).map((s) => ({ id: s.id, name: s.sampleName }))
}

/** Follows an export until it has finished (the API's own progress reads; no fixed sleep). */
const finished = (base: string, who: Credential, id: string) =>
  Effect.promise(() => call(base, who, "GET", `/api/v1/exports/${id}`)).pipe(
    Effect.filterOrFail((r) => r.status !== 200 || ["completed", "failed", "cancelled"].includes(String(r.body.status)), () => "still running"),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeout("60 seconds"),
    Effect.orDie
  )

const COLUMNS = ["sample_id", "sample_name", "submitter_email"]

interface LoggedEvent {
  readonly id: string
  readonly sampleId: string
  readonly submissionId: string
  readonly type: string
  readonly version: number
  readonly actor: string
  readonly data: Record<string, unknown>
}

/** The whole event log as an integrator reads it: the consumer API from a new cursor, acked page by page. */
const wholeLog = async (base: string): Promise<Array<LoggedEvent>> => {
  const consumer = `log-${randomUUID()}`
  const out: Array<LoggedEvent> = []
  for (;;) {
    const page = await call(base, adminAuth, "GET", `/api/v1/events?consumer=${consumer}&limit=1000`)
    expect(page.status, JSON.stringify(page.body)).toBe(200)
    const events = page.body.events as Array<LoggedEvent>
    if (events.length === 0) return out
    out.push(...events)
    expect((await call(base, adminAuth, "POST", "/api/v1/events/ack", { consumer, cursor: page.body.cursor })).status).toBe(204)
  }
}

const NIL = "00000000-0000-0000-0000-000000000000"

/** The rows of a downloaded file as [id, name, submitter] triples, whatever the format. */
const rowsOf = async (format: string, bytes: Buffer): Promise<Array<[string, string, string]>> => {
  const text = bytes.toString("utf8").replace(/^\uFEFF/, "")
  switch (format) {
    case "csv": {
      const lines = text.split(/\r?\n/).filter((l) => l.length > 0)
      return lines.slice(1).map((l) => l.split(",") as [string, string, string])
    }
    case "json": {
      const parsed = JSON.parse(text) as unknown
      const rows = Array.isArray(parsed) ? parsed : (parsed as { samples: Array<unknown> }).samples
      return (rows as Array<Record<string, string>>).map((r) => [r.sample_id!, r.sample_name!, r.submitter_email!])
    }
    case "ndjson":
      return text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, string>)
        .filter((r) => r.sample_id !== undefined).map((r) => [r.sample_id!, r.sample_name!, r.submitter_email!])
    case "xml": {
      // A well-formedness-checking parser: each <sample> becomes its child elements' text by name.
      const rows: Array<Record<string, string>> = []
      let current: Record<string, string> | undefined
      let field: string | undefined
      const parser = new SaxesParser()
      parser.on("opentag", (t) => {
        if (t.name === "sample") current = {}
        else if (current !== undefined) field = t.name
      })
      parser.on("text", (t) => {
        if (current !== undefined && field !== undefined) current[field] = (current[field] ?? "") + t
      })
      parser.on("closetag", (t) => {
        if (t.name === "sample" && current !== undefined) {
          rows.push(current)
          current = undefined
        }
        field = undefined
      })
      parser.write(text).close()
      return rows.map((r) => [r.sample_id ?? "", r.sample_name ?? "", r.submitter_email ?? ""])
    }
    case "xlsx": {
      const wb = new ExcelJS.Workbook()
      await wb.xlsx.load(bytes as unknown as ArrayBuffer)
      const sheet = wb.worksheets[0]!
      const out: Array<[string, string, string]> = []
      sheet.eachRow((row, n) => {
        if (n === 1) return
        const v = (i: number) => String(row.getCell(i).value ?? "")
        out.push([v(1), v(2), v(3)])
      })
      return out
    }
  }
  throw new Error(`no parser for ${format}`)
}

describe("exports", () => {
  layer(TestSystem(), { excludeTestServices: true, timeout: 180_000 })((it) => {
    it.effect("every table format: started (202 + Location), followed to completion, downloaded and parsed back row by row", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        const ada = yield* Effect.promise(() => submit(baseUrl, "ada.exp@lab.example", Array.from({ length: 25 }, (_, i) => `ada-${i + 1}`)))
        yield* Effect.promise(() => submit(baseUrl, "bob.exp@lab.example", ["bob-1", "bob-2"]))
        const expected = ada.map((s) => [s.id, s.name, "ada.exp@lab.example"]).sort((a, b) => a[0]!.localeCompare(b[0]!))
        for (const format of ["csv", "json", "ndjson", "xml", "xlsx"]) {
          const started = yield* Effect.promise(() =>
            call(baseUrl, adminAuth, "POST", "/api/v1/exports", { format, filter: { submitter: "ada.exp@lab.example" }, columns: COLUMNS }))
          expect(started.status, JSON.stringify(started.body)).toBe(202)
          const id = String(started.body.id)
          expect(started.headers.get("location")).toBe(`/api/v1/exports/${id}`)
          const done = yield* finished(baseUrl, adminAuth, id)
          expect(done.body, format).toMatchObject({ id, format, status: "completed", rowsDone: 25, rowsTotal: 25, downloadUrl: `/api/v1/exports/${id}/download` })
          const file = yield* Effect.promise(() => call(baseUrl, adminAuth, "GET", `/api/v1/exports/${id}/download`))
          expect(file.status).toBe(200)
          const rows = yield* Effect.promise(() => rowsOf(format, file.bytes))
          expect(rows.map((r) => [...r]).sort((a, b) => a[0]!.localeCompare(b[0]!)), format).toEqual(expected)
        }
        const mine = yield* Effect.promise(() => call(baseUrl, adminAuth, "GET", "/api/v1/exports"))
        expect(mine.status).toBe(200)
      }))

    it.effect("a submitter exports only their own samples and cannot read or download another's export", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        const cy = yield* Effect.promise(() => submitter(baseUrl, "cy.exp@lab.example"))
        const cySamples = yield* Effect.promise(() => submit(baseUrl, "cy.exp@lab.example", ["cy-1", "cy-2", "cy-3"]))
        // Asking for another submitter's samples is refused; no filter means one's own.
        const refused = yield* Effect.promise(() => call(baseUrl, cy.write, "POST", "/api/v1/exports", { format: "csv", filter: { submitter: "ada.exp@lab.example" } }))
        expect(refused.status).toBe(403)
        const own = yield* Effect.promise(() => call(baseUrl, cy.write, "POST", "/api/v1/exports", { format: "csv", columns: COLUMNS }))
        expect(own.status, JSON.stringify(own.body)).toBe(202)
        const done = yield* finished(baseUrl, cy.read, String(own.body.id))
        expect(done.body.status).toBe("completed")
        const file = yield* Effect.promise(() => call(baseUrl, cy.read, "GET", `/api/v1/exports/${String(own.body.id)}/download`))
        const rows = yield* Effect.promise(() => rowsOf("csv", file.bytes))
        expect(rows.map((r) => r[0]).sort()).toEqual(cySamples.map((s) => s.id).sort())
        // The admin's export is not found for the submitter, and neither is its file.
        const adminExport = yield* Effect.promise(() => call(baseUrl, adminAuth, "POST", "/api/v1/exports", { format: "json" }))
        const adminId = String(adminExport.body.id)
        expect((yield* Effect.promise(() => call(baseUrl, cy.read, "GET", `/api/v1/exports/${adminId}`))).status).toBe(404)
        expect((yield* Effect.promise(() => call(baseUrl, cy.read, "GET", `/api/v1/exports/${adminId}/download`))).status).toBe(404)
        expect((yield* Effect.promise(() => call(baseUrl, cy.write, "POST", `/api/v1/exports/${adminId}/cancel`))).status).toBe(404)
        // Schedules are for managers.
        expect((yield* Effect.promise(() => call(baseUrl, cy.read, "GET", "/api/v1/export-schedules"))).status).toBe(403)
      }))

    it.effect("bad and hostile input on every new route: typed 4xx naming the field, nothing written", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const before = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM exports"))
        const bad = [
          { format: "pdf" },
          { format: "csv", columns: ["sample_id", "no_such_column"] },
          { format: "csv", filter: { status: "sleeping" } },
          { format: "csv", filter: { q: "a\u0000b" } },
          { format: "csv", filter: { submitter: "\ud800" } },
          { format: "csv", filter: { nested: { a: 1 } } },
          { format: 7 },
          { format: "csv", columns: "sample_id" },
          { format: "minknow" },
          { format: "csv", extra: true },
          { format: "csv", columns: Array.from({ length: 5000 }, () => "sample_id") }
        ]
        for (const body of bad) {
          const r = yield* Effect.promise(() => call(baseUrl, adminAuth, "POST", "/api/v1/exports", body))
          expect(r.status, JSON.stringify(body).slice(0, 100)).toBe(422)
        }
        const unknown = yield* Effect.promise(() => call(baseUrl, adminAuth, "POST", "/api/v1/exports", { format: "csv", columns: ["no_such_column"] }))
        expect(JSON.stringify(unknown.body)).toContain("no_such_column")
        expect(JSON.stringify(unknown.body)).toContain("columns")
        const deep = "[".repeat(5000) + "]".repeat(5000)
        for (const raw of [deep, "{\"format\":", "x".repeat(3_000_000)]) {
          const r = yield* Effect.promise(() => call(baseUrl, adminAuth, "POST", "/api/v1/exports", undefined, raw))
          expect(r.status).toBeGreaterThanOrEqual(400)
          expect(r.status).toBeLessThan(500)
        }
        expect([404, 422]).toContain((yield* Effect.promise(() => call(baseUrl, adminAuth, "GET", "/api/v1/exports/%00"))).status)
        for (const path of ["/api/v1/exports/not-a-uuid", "/api/v1/exports/00000000-0000-4000-8000-000000000000/download"]) {
          expect((yield* Effect.promise(() => call(baseUrl, adminAuth, "GET", path))).status).toBe(404)
        }
        const badSchedules = [
          { name: "x", cron: "not a cron", format: "csv", recipients: [] },
          { name: "x", cron: "0 2 * * *", timeZone: "Mars/Olympus", format: "csv", recipients: [] },
          { name: "x", cron: "0 2 * * *", format: "csv", recipients: ["not-an-address"] },
          { name: "\u0000", cron: "0 2 * * *", format: "csv", recipients: [] }
        ]
        for (const body of badSchedules) {
          const r = yield* Effect.promise(() => call(baseUrl, adminAuth, "POST", "/api/v1/export-schedules", body))
          expect(r.status, JSON.stringify(body)).toBe(422)
        }
        expect((yield* Effect.promise(() => call(baseUrl, adminAuth, "DELETE", "/api/v1/export-schedules/not-a-uuid"))).status).toBe(404)
        const after = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM exports"))
        expect(after[0]!.n).toBe(before[0]!.n)
        const schedules = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM export_schedules"))
        expect(schedules[0]!.n).toBe(0)
      }))

    it.effect("a schedule's tick starts exactly one export, however many times the tick is delivered; a tick its cron does not match starts none", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        // The system's own schedule driver ticks every minute of the real clock: a cron it could match while the test
        // runs (an hourly one, at the top of the hour) would start a job of its own. This one matches 10:00 and 11:00 on
        // 1 January only.
        const created = yield* Effect.promise(() =>
          call(baseUrl, adminAuth, "POST", "/api/v1/export-schedules", { name: "new year's morning", cron: "0 10,11 1 1 *", timeZone: "Europe/London", format: "csv", recipients: ["lab@facility.example"] }))
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        const scheduleId = String(created.body.id)
        // Two runners delivering the same tick at once, then once more late: one job.
        const tick = new Date("2030-01-01T10:00:00.000Z")
        yield* Effect.all([runSchedules(tick), runSchedules(tick), runSchedules(tick)], { concurrency: "unbounded" })
        yield* runSchedules(tick)
        yield* runSchedules(new Date("2030-01-01T10:30:00.000Z"))
        const jobs = yield* Effect.promise(() =>
          query<{ id: string; recipients: Array<string> }>(databaseUrl, "SELECT id, recipients FROM exports WHERE schedule_id = $1", [scheduleId]))
        expect(jobs.length).toBe(1)
        expect(jobs[0]!.recipients).toEqual(["lab@facility.example"])
        const done = yield* finished(baseUrl, adminAuth, jobs[0]!.id)
        expect(done.body.status).toBe("completed")
        // The next matching tick starts the next job.
        yield* runSchedules(new Date("2030-01-01T11:00:00.000Z"))
        const after = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM exports WHERE schedule_id = $1", [scheduleId]))
        expect(after[0]!.n).toBe(2)
        yield* Effect.promise(() => call(baseUrl, adminAuth, "DELETE", `/api/v1/export-schedules/${scheduleId}`))
      }))

    it.effect("every column read by the export job's projection (paths extracted in PostgreSQL) equals the column read from the whole state, across every status and step", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        // 240 synthetic samples in the persisted shape (every status, step, hold, failure and step record), stored
        // under one submission as the entity would store them.
        const samples = Array.from(syntheticSamples(240, 7000))
        const submissionId = "00000009-0000-4000-8000-000000000001"
        yield* Effect.promise(() => query(databaseUrl, `INSERT INTO submissions (id, number, submitter_email, source, sample_count, data, created_by, created_at)
          VALUES ($1, 'HTSF--PJ-1', 'proj@lab.example', 'api', 240, '{}', 'test', now())`, [submissionId]))
        yield* Effect.promise(() => query(databaseUrl, `INSERT INTO samples (id, submission_id, position, name, submitter_email, priority, priority_rank, status, created_at, updated_at, version, state)
          SELECT (x->>'id')::uuid, $1, n, x->>'sampleName', x->>'submitterEmail', x->>'priority', 1, x->>'status', now(), now(), (x->>'version')::int, x
          FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(x, n)`, [submissionId, JSON.stringify(samples.map((s) => s.state))]))
        const started = yield* Effect.promise(() =>
          call(baseUrl, adminAuth, "POST", "/api/v1/exports", { format: "ndjson", filter: { submissionId, sort: "created_asc" }, columns: EXPORT_COLUMN_IDS }))
        expect(started.status, JSON.stringify(started.body)).toBe(202)
        const done = yield* finished(baseUrl, adminAuth, String(started.body.id))
        expect(done.body.status).toBe("completed")
        const file = yield* Effect.promise(() => call(baseUrl, adminAuth, "GET", `/api/v1/exports/${String(started.body.id)}/download`))
        const exported = file.bytes.toString("utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
        const toRow = rowOf(EXPORT_COLUMNS)
        const expected = samples.map((s) => {
          const row = toRow({ ...s, submissionNumber: "HTSF--PJ-1" })
          return Object.fromEntries(EXPORT_COLUMNS.map((c, i) => [c.id, JSON.parse(jsonValue(row[i] ?? null)) as unknown]))
        })
        expect(exported.length).toBe(240)
        expect(exported).toEqual(expected)
        // The samples cover what the columns can hold: each column has a value somewhere.
        for (const c of EXPORT_COLUMNS) expect(exported.some((r) => r[c.id] !== null), c.id).toBe(true)
      }))

    it.effect("a job's ExportRequested and ExportCompleted, or ExportFailed, are in the event log once, belonging to no sample", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(() => submit(baseUrl, "eve.exp@lab.example", ["eve-1", "eve-2"]))
        const started = yield* Effect.promise(() =>
          call(baseUrl, adminAuth, "POST", "/api/v1/exports", { format: "csv", filter: { submitter: "eve.exp@lab.example" }, columns: COLUMNS }))
        expect(started.status, JSON.stringify(started.body)).toBe(202)
        const id = String(started.body.id)
        expect((yield* finished(baseUrl, adminAuth, id)).body.status).toBe("completed")
        // A job that fails (as the job's supervisor records a failure), failed twice: the second changes nothing.
        const repo = yield* ExportRepo
        const failedId = randomUUID()
        yield* repo.create({ id: failedId, ownerPrincipal: "user:eve.exp@lab.example", ownerEmail: "eve.exp@lab.example", format: "csv", filter: {}, columns: null, flowCellId: null })
        yield* repo.create({ id: failedId, ownerPrincipal: "user:eve.exp@lab.example", ownerEmail: "eve.exp@lab.example", format: "csv", filter: {}, columns: null, flowCellId: null })
        yield* repo.fail(failedId, "the storage refused the file")
        yield* repo.fail(failedId, "a second failure")
        const ofJob = (log: ReadonlyArray<LoggedEvent>, exportId: string) => log.filter((e) => e.data.exportId === exportId)
        const log = yield* Effect.promise(() => wholeLog(baseUrl)).pipe(
          Effect.filterOrFail((l) => ofJob(l, id).length >= 2 && ofJob(l, failedId).length >= 2, () => "not in the log yet"),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeout("20 seconds"),
          Effect.orDie
        )
        const done = ofJob(log, id)
        expect(done.map((e) => e.type)).toEqual(["ExportRequested", "ExportCompleted"])
        // Requested by the principal that asked (as every event names it), completed by the export supervisor.
        expect(done[0]!.actor).toMatch(/^key:PORETRACK_ADMIN_TOKEN#/)
        expect(done[1]!.actor).toBe("exporter")
        for (const e of [...done, ...ofJob(log, failedId)]) expect(e).toMatchObject({ sampleId: NIL, submissionId: NIL, version: 0 })
        // The result's id is the export's: the id the notifier gives the same result.
        expect(done[1]!.id).toBe(id)
        expect(done[1]!.data).toMatchObject({ exportId: id, format: "csv", rowsDone: 2, downloadUrl: `/api/v1/exports/${id}/download` })
        expect(ofJob(log, failedId).map((e) => [e.type, e.data.reason ?? null])).toEqual([
          ["ExportRequested", null],
          ["ExportFailed", "the storage refused the file"]
        ])
      }))

    it.effect("a sample whose stored state is damaged exports its unreadable values as empty cells, never as something else", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const [good, bad] = yield* Effect.promise(() => submit(baseUrl, "dora.exp@lab.example", ["dora-1", "dora-2"]))
        // The row's state loses its name and gets a position of the wrong type (what a bad manual edit would do).
        yield* Effect.promise(() => query(databaseUrl, `UPDATE samples SET state = (state - 'sampleName') || '{"position": "second"}'::jsonb WHERE id = $1`, [bad!.id]))
        const started = yield* Effect.promise(() =>
          call(baseUrl, adminAuth, "POST", "/api/v1/exports", { format: "csv", filter: { submitter: "dora.exp@lab.example", sort: "created_asc" }, columns: ["sample_id", "sample_name", "position"] }))
        expect(started.status, JSON.stringify(started.body)).toBe(202)
        const done = yield* finished(baseUrl, adminAuth, String(started.body.id))
        expect(done.body.status).toBe("completed")
        const file = yield* Effect.promise(() => call(baseUrl, adminAuth, "GET", `/api/v1/exports/${String(started.body.id)}/download`))
        const lines = file.bytes.toString("utf8").split("\r\n").filter((l) => l !== "")
        expect(lines).toEqual(["Sample ID,Sample name,Position", `${good!.id},dora-1,1`, `${bad!.id},,`])
      }))

    it.effect("a cancelled export ends cancelled with no file; a manager's schedule is stored, listed and deleted", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const started = yield* Effect.promise(() => call(baseUrl, adminAuth, "POST", "/api/v1/exports", { format: "csv" }))
        const id = String(started.body.id)
        const cancelled = yield* Effect.promise(() => call(baseUrl, adminAuth, "POST", `/api/v1/exports/${id}/cancel`))
        expect(cancelled.status).toBe(200)
        const done = yield* finished(baseUrl, adminAuth, id)
        // A job that had already finished before the cancel arrived stays completed; otherwise it is cancelled.
        if (done.body.status === "cancelled") {
          expect((yield* Effect.promise(() => call(baseUrl, adminAuth, "GET", `/api/v1/exports/${id}/download`))).status).toBe(409)
        } else {
          expect(done.body.status).toBe("completed")
        }
        const created = yield* Effect.promise(() =>
          call(baseUrl, adminAuth, "POST", "/api/v1/export-schedules", { name: "nightly", cron: "0 2 * * *", timeZone: "Europe/London", format: "xlsx", recipients: ["lab@facility.example"] }))
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        const listed = yield* Effect.promise(() => call(baseUrl, adminAuth, "GET", "/api/v1/export-schedules"))
        expect(JSON.stringify(listed.body)).toContain("nightly")
        const deleted = yield* Effect.promise(() => call(baseUrl, adminAuth, "DELETE", `/api/v1/export-schedules/${String(created.body.id)}`))
        expect(deleted.status).toBe(204)
        const left = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM export_schedules"))
        expect(left[0]!.n).toBe(0)
      }))
  })
})
