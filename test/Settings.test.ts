/**
 * The facility's settings (SLA targets, QC thresholds) over real HTTP and RPC: staff read them, admins change them
 * with optimistic concurrency, every change is audited, bad input changes nothing, and a change reaches the samples'
 * clocks and gates at once, here and (by NOTIFY) in another process's policy.
 */
import { PgClient } from "@effect/sql-pg"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { Policy } from "../actors/WorkflowPolicy.ts"
import { SettingsRepo } from "../persistence/SettingsRepo.ts"
import { AuditEntry } from "../rpc/Auth.ts"
import { CommandResult } from "../rpc/Commands.ts"
import { FieldIssue } from "../rpc/Errors.ts"
import { FacilitySettings, type SettingsUpdate } from "../rpc/Settings.ts"
import { SampleView } from "../rpc/Workflow.ts"
import { AppSettings, PolicyLive } from "../runtime/AppSettings.ts"
import { ClientLive, Poretrack } from "./RpcTestClient.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, testSettings, TestSystem } from "./TestSystem.ts"

const HOUR = 3_600_000
const PASSWORD = "a long enough password"

interface Reply {
  readonly status: number
  readonly text: string
  readonly body: unknown
}

/** A request with the admin key, or with `headers` instead (a session's cookie and CSRF token). */
const call = (method: string, path: string, options: { readonly json?: unknown; readonly raw?: string; readonly headers?: Readonly<Record<string, string>> } = {}) =>
  Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
    Effect.promise(async (): Promise<Reply> => {
      const body = options.raw ?? (options.json !== undefined ? JSON.stringify(options.json) : undefined)
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(options.headers ?? adminAuth), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body } : {})
      })
      const text = await response.text()
      let parsed: unknown = text
      try {
        parsed = text.length > 0 ? JSON.parse(text) : undefined
      } catch {
        // not JSON: kept as text
      }
      return { status: response.status, text, body: parsed }
    }))

const decode = <A, I>(schema: Schema.Schema<A, I>, reply: Reply, status: number): A => {
  expect(reply.status, `${reply.status} ${reply.text.slice(0, 400)}`).toBe(status)
  return Schema.decodeUnknownSync(schema)(reply.body)
}

const ErrorBody = Schema.Struct({
  error: Schema.String,
  message: Schema.String,
  issues: Schema.optional(Schema.Array(FieldIssue)),
  currentVersion: Schema.optional(Schema.Number)
})

const readSettings = (headers?: Readonly<Record<string, string>>) =>
  Effect.map(call("GET", "/api/v1/settings", headers ? { headers } : {}), (r) => decode(FacilitySettings, r, 200))

/** The settings as an update body: what was read, changed by `change`, at the version read. */
const updateOf = (read: FacilitySettings, change: (s: SettingsUpdate) => SettingsUpdate = (s) => s): SettingsUpdate => {
  const { updatedAt: _at, updatedBy: _by, version, ...policy } = read
  return change({ ...policy, expectedVersion: version })
}

const put = (body: unknown, headers?: Readonly<Record<string, string>>) => call("PUT", "/api/v1/settings", { json: body, ...(headers ? { headers } : {}) })

/** A 422 InvalidInput whose issues name `path` (exactly, or a field under it). */
const refusedAt = (reply: Reply, path: string) => {
  const body = decode(ErrorBody, reply, 422)
  expect(body.error).toBe("InvalidInput")
  const paths = (body.issues ?? []).map((i) => i.path)
  expect(paths.some((p) => p === path || p.startsWith(`${path}.`)), `${path} in ${JSON.stringify(body.issues)}`).toBe(true)
  return body
}

const settingRows = (databaseUrl: string) =>
  Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM facility_settings")).pipe(Effect.map((r) => r[0]!.n))

/** A new sample (ligation kit: 1000 ng minimum input by default), received. */
const receivedSample = (priority: "normal" | "urgent" = "normal") =>
  Effect.gen(function*() {
    const created = decode(
      Schema.Struct({ id: Schema.String }),
      yield* call("POST", "/api/v1/samples", {
        json: { sampleName: `S-${randomUUID().slice(0, 8)}`, submitterEmail: "ada@lab.example", flowCellType: "R10.4.1", libraryKit: "SQK-LSK114", sampleType: "gDNA", priority }
      }),
      201
    )
    return decode(CommandResult, yield* call("POST", `/api/v1/samples/${created.id}/receive`), 200).sample
  })

/** Sample QC of 5 ng/µL × 50 µL = 250 ng. */
const qcOf250ng = (id: string) =>
  Effect.map(
    call("POST", `/api/v1/samples/${id}/workflow/advance`, { json: { expectedStep: "sample_qc", data: { qubitNgUl: 5, volumeUl: 50 } } }),
    (r) => decode(CommandResult, r, 200)
  )

/** A signed-in person of `role`: the headers of their browser session (cookie and CSRF token). */
const signedIn = (role: "technician" | "submitter") =>
  Effect.gen(function*() {
    const email = `${role}-${randomUUID().slice(0, 8)}@facility.example`
    decode(Schema.Unknown, yield* call("POST", "/api/v1/users", { json: { email, name: role, role, password: PASSWORD } }), 201)
    const { baseUrl } = yield* TestEndpoint
    return yield* Effect.promise(async () => {
      const res = await fetch(`${baseUrl}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) })
      const session = (await res.json()) as { csrfToken: string }
      return { email, headers: { cookie: (res.headers.get("set-cookie") ?? "").split(";")[0]!, "x-csrf-token": session.csrfToken } }
    })
  })

/** Waits (at most 5 s) until `check` holds; fails the test otherwise. */
const eventually = <E, R>(check: () => Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5_000
    while (!(yield* check())) {
      if (Date.now() > deadline) return yield* Effect.dieMessage("the condition did not hold within 5 s")
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
    }
  })

/** The application name of the second process's connections. */
const OTHER_PROCESS = "settings-test-other-process"

describe("facility settings", () => {
  layer(ClientLive.pipe(Layer.provideMerge(TestSystem())), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("staff read the environment's policy as version 0, in hours, over REST and RPC alike", () =>
      Effect.gen(function*() {
        const read = yield* readSettings()
        expect(read.version).toBe(0)
        expect(read.updatedAt).toBeNull()
        expect(read.updatedBy).toBeNull()
        expect(read.expectedHours.sample_qc).toBe(1)
        expect(read.expectedHours.sequencing_run).toBe(48)
        expect(read.turnaround.urgent).toEqual({ hours: 24 })
        expect(read.turnaround.normal).toEqual({ businessDays: 5 })
        expect(read.atRiskFraction).toBe(0.8)
        expect(read.qc.minInputNg.default).toBe(1000)
        expect(read.qc.minInputNg["SQK-LSK114"]).toBe(1000)
        expect(read.qc.a260_280).toEqual([1.8, 2.0])
        const client = yield* Poretrack
        expect(yield* client.Settings.Get()).toEqual(read)
        // A technician reads them too; a submitter does not.
        expect((yield* readSettings((yield* signedIn("technician")).headers)).version).toBe(read.version)
        expect((yield* call("GET", "/api/v1/settings", { headers: (yield* signedIn("submitter")).headers })).status).toBe(403)
      }))

    it.effect("an admin lowers a kit's minimum input: a QC that failed now passes, the change is versioned and audited", () =>
      Effect.gen(function*() {
        const before = yield* receivedSample()
        expect((yield* qcOf250ng(before.id)).sample.status).toBe("failed")

        const read = yield* readSettings()
        const saved = decode(FacilitySettings, yield* put(updateOf(read, (s) => ({ ...s, qc: { ...s.qc, minInputNg: { ...s.qc.minInputNg, "SQK-LSK114": 200 } } }))), 200)
        expect(saved.version).toBe(read.version + 1)
        expect(saved.qc.minInputNg["SQK-LSK114"]).toBe(200)
        expect(saved.updatedBy).toMatch(/^key:/)
        expect(Date.parse(saved.updatedAt ?? "")).toBeGreaterThan(Date.now() - 60_000)
        expect(yield* readSettings()).toEqual(saved)

        // The next sample's gate uses it (no restart).
        const after = yield* receivedSample()
        const passed = yield* qcOf250ng(after.id)
        expect(passed.sample.status).toBe("in_progress")
        expect(passed.sample.currentStep).toBe("library_prep")

        const audit = yield* Schema.decodeUnknown(Schema.Array(AuditEntry))((yield* call("GET", "/api/v1/audit?limit=50")).body)
        const entry = audit.find((e) => e.type === "SettingsChanged")
        expect(entry?.actor).toBe(saved.updatedBy)
        expect(entry?.data).toEqual({ version: saved.version, changes: { "qc.minInputNg.SQK-LSK114": { from: 1000, to: 200 } } })
      }))

    it.effect("a shorter urgent turnaround (over RPC) moves the due time of the next urgent sample", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const read = yield* client.Settings.Get()
        const saved = yield* client.Settings.Update(updateOf(read, (s) => ({ ...s, turnaround: { ...s.turnaround, urgent: { hours: 6 } } })))
        expect(saved.turnaround.urgent).toEqual({ hours: 6 })
        const sample = yield* receivedSample("urgent")
        expect(Date.parse(sample.sla.turnaroundDueAt ?? "") - Date.parse(sample.receivedAt ?? "")).toBe(6 * HOUR)
        const view = decode(SampleView, yield* call("GET", `/api/v1/samples/${sample.id}`), 200)
        expect(view.sla.turnaroundDueAt).toBe(sample.sla.turnaroundDueAt)
      }))

    it.effect("a technician may read but not change them (403 over REST, Forbidden over RPC); nothing changes", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const { email, headers: tech } = yield* signedIn("technician")
        const read = yield* readSettings(tech)
        const rows = yield* settingRows(databaseUrl)
        const refused = decode(ErrorBody, yield* put(updateOf(read, (s) => ({ ...s, atRiskFraction: 0.5 })), tech), 403)
        expect(refused.error).toBe("Forbidden")
        const rpc = yield* Effect.promise(async () => {
          const res = await fetch(`${baseUrl}/rpc`, {
            method: "POST",
            headers: { "content-type": "application/ndjson", ...tech },
            body: `${JSON.stringify({ _tag: "Request", id: "1", tag: "Settings.Update", payload: updateOf(read), headers: [] })}\n`
          })
          return res.text()
        })
        expect(rpc).toContain("\"_tag\":\"Forbidden\"")
        expect(yield* settingRows(databaseUrl)).toBe(rows)
        expect(yield* readSettings()).toEqual(read)
        const audit = yield* Schema.decodeUnknown(Schema.Array(AuditEntry))((yield* call("GET", "/api/v1/audit?limit=20")).body)
        expect(audit.some((e) => e.type === "SettingsChanged" && e.actor === `user:${email}`)).toBe(false)
        // Both refusals are audited (written beside the answer, so shortly after it).
        yield* eventually(() =>
          Effect.map(
            Effect.flatMap(call("GET", "/api/v1/audit?limit=20"), (r) => Schema.decodeUnknown(Schema.Array(AuditEntry))(r.body)),
            (entries) => entries.filter((e) => e.type === "PermissionRefused" && e.actor === `user:${email}`).length === 2
          ))
      }))

    it.effect("invalid values are refused naming the field (422), unreadable or huge bodies too; nothing changes", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const read = yield* readSettings()
        const rows = yield* settingRows(databaseUrl)
        const base = updateOf(read)
        const withQc = (qc: Record<string, unknown>) => ({ ...base, qc: { ...base.qc, ...qc } })
        refusedAt(yield* put(withQc({ a260_280: [2.0, 1.8] })), "qc.a260_280")
        refusedAt(yield* put(withQc({ a260_230: [2.1, 2.1] })), "qc.a260_230")
        refusedAt(yield* put(withQc({ a260_280: [1.8] })), "qc.a260_280")
        refusedAt(yield* put(withQc({ minDin: -1 })), "qc.minDin")
        refusedAt(yield* put(withQc({ minRin: 11 })), "qc.minRin")
        refusedAt(yield* put(withQc({ minDin: "NaN" })), "qc.minDin")
        refusedAt(yield* put(withQc({ minFragmentBp: "10000" })), "qc.minFragmentBp")
        refusedAt(yield* put(withQc({ minLibraryFmol: -0.5 })), "qc.minLibraryFmol")
        refusedAt(yield* put(withQc({ failOnPurity: "yes" })), "qc.failOnPurity")
        refusedAt(yield* put(withQc({ minInputNg: { ...base.qc.minInputNg, default: -1 } })), "qc.minInputNg.default")
        refusedAt(yield* put(withQc({ minInputNg: { ...base.qc.minInputNg, "SQK-LSK114\u0000": 5 } })), "qc.minInputNg")
        refusedAt(yield* put(withQc({ minDin: "7\u0000" })), "qc.minDin")
        refusedAt(yield* put({ ...base, atRiskFraction: 1 }), "atRiskFraction")
        refusedAt(yield* put({ ...base, atRiskFraction: 0 }), "atRiskFraction")
        refusedAt(yield* put({ ...base, expectedHours: { ...base.expectedHours, sample_qc: 0 } }), "expectedHours.sample_qc")
        refusedAt(yield* put({ ...base, expectedHours: { ...base.expectedHours, sequencing_run: 1e308 } }), "expectedHours.sequencing_run")
        refusedAt(yield* put({ ...base, turnaround: { ...base.turnaround, urgent: { hours: 24, businessDays: 1 } } }), "turnaround.urgent")
        refusedAt(yield* put({ ...base, turnaround: { ...base.turnaround, low: { businessDays: 2.5 } } }), "turnaround.low")
        refusedAt(yield* put({ ...base, expectedVersion: "0" }), "expectedVersion")
        refusedAt(yield* put({ ...base, skippable: ["sample_qc"] }), "skippable")
        const { qc: _qc, ...withoutQc } = base
        refusedAt(yield* put(withoutQc), "qc")
        expect((yield* put([base])).status).toBe(422)
        expect((yield* put(null)).status).toBe(422)
        // Not JSON (a bare NaN), and over the 1 MiB limit.
        expect(decode(ErrorBody, yield* call("PUT", "/api/v1/settings", { raw: JSON.stringify(base).replace("\"minDin\":7", "\"minDin\":NaN") }), 400).error).toBe("MalformedRequest")
        const huge = { ...base, padding: "x".repeat(2 * 1024 * 1024) }
        expect((yield* put(huge)).status).toBe(413)
        // The same over RPC (sent raw: the typed client refuses to encode it): typed InvalidInput naming the field.
        const overRpc = yield* call("POST", "/rpc", {
          raw: `${JSON.stringify({ _tag: "Request", id: "7", tag: "Settings.Update", payload: withQc({ a260_230: [2.2, 2.0] }), headers: [] })}\n`
        })
        expect(overRpc.text).toContain("\"_tag\":\"InvalidInput\"")
        expect(overRpc.text).toContain("qc.a260_230")

        expect(yield* settingRows(databaseUrl)).toBe(rows)
        expect(yield* readSettings()).toEqual(read)
      }))

    it.effect("a stale expectedVersion is refused (409 / SettingsVersionMismatch); of two racing saves one wins", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const read = yield* readSettings()
        const change = (s: SettingsUpdate): SettingsUpdate => ({ ...s, qc: { ...s.qc, minLibraryFmol: s.qc.minLibraryFmol + 1 } })
        decode(FacilitySettings, yield* put(updateOf(read, change)), 200)
        const rows = yield* settingRows(databaseUrl)
        const stale = decode(ErrorBody, yield* put(updateOf(read, change)), 409)
        expect(stale.error).toBe("SettingsVersionMismatch")
        expect(stale.currentVersion).toBe(read.version + 1)
        const client = yield* Poretrack
        const overRpc = yield* Effect.flip(client.Settings.Update(updateOf(read, change)))
        expect(overRpc._tag).toBe("SettingsVersionMismatch")
        expect(yield* settingRows(databaseUrl)).toBe(rows)

        const current = yield* readSettings()
        const raced = yield* Effect.all([put(updateOf(current, change)), put(updateOf(current, change)), put(updateOf(current, change))], { concurrency: "unbounded" })
        expect(raced.map((r) => r.status).sort()).toEqual([200, 409, 409])
        expect((yield* readSettings()).version).toBe(current.version + 1)
      }))

    it.effect("another process's policy follows a save within moments (NOTIFY), without a restart", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        // Another process's policy: its own settings (the environment's defaults), its own connections to the database.
        const otherProcess = Layer.unwrapEffect(Effect.promise(async () => {
          const url = Redacted.make(databaseUrl)
          const settings = await testSettings({ databaseUrl: Option.some(url) })
          return PolicyLive.pipe(
            Layer.provide(SettingsRepo.Default),
            Layer.provide(PgClient.layer({ url, maxConnections: 2, applicationName: OTHER_PROCESS })),
            Layer.provide(AppSettings.make({ ...settings, role: "runner" }))
          )
        }))
        yield* Effect.gen(function*() {
          const policy = yield* Policy
          // Its LISTEN is under way (a save before it would reach that process by its poll, not by NOTIFY).
          yield* eventually(() =>
            Effect.promise(() =>
              query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [OTHER_PROCESS])
            ).pipe(Effect.map((r) => r[0]!.n === 1)))
          const read = yield* readSettings()
          expect((yield* policy.current).qc.minDin).toBe(read.qc.minDin)
          decode(FacilitySettings, yield* put(updateOf(read, (s) => ({ ...s, qc: { ...s.qc, minDin: 4.5 } }))), 200)
          // Well before its next safety-net poll (10 s after it started): the NOTIFY brought it.
          yield* eventually(() => Effect.map(policy.current, (p) => p.qc.minDin === 4.5))
        }).pipe(Effect.provide(otherProcess))
      }))
  })
})
