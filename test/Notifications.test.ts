/**
 * Notifications end to end, on a real PostgreSQL with real protocol servers on 127.0.0.1: the event log → the
 * consumer Singleton → one delivery row per (event, rule, recipient) → Notification entities → SMTP (parsed back
 * with mailparser), in-app rows, and webhooks signed per Standard Webhooks (verified with the `standardwebhooks`
 * package), retried on the persisted schedule (shortened by retryScale), dead-lettered, replayed, disabled on 410.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Option, Redacted, Schedule } from "effect"
import { Webhook as StandardWebhook } from "standardwebhooks"
import { Receive } from "../rpc/Commands.ts"
import { NOTIFY_DEFAULTS } from "../runtime/Config.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { smtpReceiver, type ReceivedMail } from "./notify/SmtpReceiver.ts"
import { webhookReceiver, type Reply } from "./notify/WebhookReceiver.ts"
import { metricSum } from "./Client.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

class Smtp extends Context.Tag("test/Smtp")<Smtp, { readonly port: number; readonly mails: Array<ReceivedMail> }>() {}

const PASSWORD = "correct horse battery"

const System = Layer.unwrapScoped(Effect.map(smtpReceiver(), (smtp) =>
  TestSystem({
    settings: {
      notify: {
        ...NOTIFY_DEFAULTS,
        smtpUrl: Option.some(Redacted.make(`smtp://127.0.0.1:${smtp.port}`)),
        mailFrom: "poretrack <noreply@facility.example>",
        outboxDir: `./data/test-outbox-${process.pid}`,
        // 5 s … 10 h becomes 0.25 ms … 1.8 s: the whole schedule in about 3 s of real time.
        retryScale: 0.00005
      }
    }
  }).pipe(Layer.merge(Layer.succeed(Smtp, smtp)))))

interface Answer {
  readonly status: number
  readonly body: unknown
}

type Who = { readonly _tag: "Admin" } | { readonly _tag: "Session"; readonly cookie: string; readonly csrf: string }
const ADMIN: Who = { _tag: "Admin" }

const call = (base: string, who: Who, method: string, path: string, body?: unknown, raw?: string) =>
  Effect.promise(async (): Promise<Answer> => {
    const headers: Record<string, string> = who._tag === "Admin" ? { ...adminAuth } : { cookie: who.cookie, "x-csrf-token": who.csrf }
    if (body !== undefined || raw !== undefined) headers["content-type"] = "application/json"
    const res = await fetch(`${base}${path}`, { method, headers, ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}) })
    const text = await res.text()
    return { status: res.status, body: text === "" ? null : JSON.parse(text) as unknown }
  })

const person = (base: string, role: string, email: string) =>
  Effect.gen(function*() {
    const created = yield* call(base, ADMIN, "POST", "/api/v1/users", { email, name: role, role, password: PASSWORD })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    return yield* Effect.promise(async (): Promise<Who> => {
      const res = await fetch(`${base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD })
      })
      const session = (await res.json()) as { csrfToken: string }
      return { _tag: "Session", cookie: (res.headers.get("set-cookie") ?? "").split(";")[0]!, csrf: session.csrfToken }
    })
  })

/** Polls `check` until it gives a value (every 50 ms, at most 30 s): deliveries happen asynchronously. */
const eventually = <A>(what: string, check: Effect.Effect<A | undefined>) =>
  check.pipe(
    Effect.flatMap((a) => (a === undefined ? Effect.fail(what) : Effect.succeed(a))),
    Effect.retry(Schedule.spaced(Duration.millis(50))),
    Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => new Error(`timed out waiting for ${what}`) }),
    Effect.orDie
  )

/**
 * Waits until the notifier's cursor stands at the newest event of the log (the samples' and the NotificationTriggered
 * entries it appended). Then no batch of it is in flight whose ack would carry the cursor past a reset the test makes
 * next (an ack moves the cursor forward from wherever it stands).
 */
const consumerCaughtUp = (databaseUrl: string) =>
  eventually("the notifier caught up with the log", Effect.map(
    Effect.promise(() =>
      query<{ caught: boolean }>(databaseUrl, `SELECT (c.tx, c.seq) = (e.tx, e.seq) AS caught
        FROM event_consumers c, (SELECT tx, seq FROM sample_events ORDER BY tx DESC, seq DESC LIMIT 1) e
        WHERE c.owner = 'system' AND c.name = 'notifications'`)),
    (rows) => (rows[0]?.caught === true ? true : undefined)
  ))

const newSample = (submitterEmail: string, name: string) =>
  Effect.gen(function*() {
    const api = yield* SampleApi
    const created = yield* api.createSubmission({
      submitterEmail,
      source: "api",
      priority: "normal",
      flowCellType: "R10.4.1",
      samples: [{ sampleName: name, libraryKit: "SQK-LSK114" }]
    }, "test")
    return created.samples[0]!
  })

const receive = (id: string) => Effect.flatMap(SampleApi, (api) => api.execute(id as never, new Receive(), undefined, "test"))

interface Delivery {
  readonly id: string
  readonly channel: string
  readonly recipient: string
  readonly status: string
  readonly reason: string | null
  readonly eventType: string
  readonly attempts: number
}

const deliveriesOf = (base: string, who: Who, sampleId: string) =>
  Effect.map(call(base, who, "GET", `/api/v1/samples/${sampleId}/notifications`), (a) => a.body as ReadonlyArray<Delivery>)

const mailsTo = (mails: ReadonlyArray<ReceivedMail>, address: string, subjectPart: string) =>
  mails.filter((m) => m.envelope.to.includes(address) && (m.parsed?.subject ?? "").includes(subjectPart))

describe("Notifications", () => {
  layer(System, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.scoped("a received sample e-mails its submitter (SMTP, subject, text and HTML) and notifies them in-app; consumed twice, still one e-mail", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const smtp = yield* Smtp
        const ada = yield* person(baseUrl, "submitter", "ada@lab.example")
        const sample = yield* newSample("ada@lab.example", "ADA-received-1")
        yield* receive(sample.id)
        const mail = yield* eventually("the received e-mail", Effect.sync(() => mailsTo(smtp.mails, "ada@lab.example", "ADA-received-1")[0]))
        expect(mail.envelope.from).toBe("noreply@facility.example")
        expect(mail.parsed?.text).toContain("ADA-received-1")
        expect(typeof mail.parsed?.html === "string" && mail.parsed.html.includes("ADA-received-1")).toBe(true)
        const statuses = yield* eventually("email sent and in-app delivered", Effect.map(deliveriesOf(baseUrl, ADMIN, sample.id), (ds) => {
          const received = ds.filter((d) => d.eventType === "SampleReceived")
          return received.length === 2 && received.every((d) => d.status === "sent" || d.status === "delivered") ? received : undefined
        }))
        expect(statuses.map((d) => [d.channel, d.recipient, d.status]).sort()).toEqual([["email", "ada@lab.example", "sent"], ["in_app", "ada@lab.example", "delivered"]])
        // In-app: listed, counted unread, marked read.
        const page = (yield* call(baseUrl, ada, "GET", "/api/v1/notifications")).body as { unread: number; items: ReadonlyArray<{ id: string; title: string; sampleId: string }> }
        expect(page.unread).toBe(1)
        expect(page.items[0]!.title).toContain("ADA-received-1")
        expect(page.items[0]!.sampleId).toBe(sample.id)
        const read = yield* call(baseUrl, ada, "POST", `/api/v1/notifications/${page.items[0]!.id}/read`)
        expect(read.status).toBe(200)
        expect(((yield* call(baseUrl, ada, "GET", "/api/v1/notifications/unread-count")).body as { unread: number }).unread).toBe(0)
        // The whole log consumed again (cursor back to the start): nothing is sent twice.
        const before = mailsTo(smtp.mails, "ada@lab.example", "ADA-received-1").length
        yield* consumerCaughtUp(databaseUrl)
        yield* Effect.promise(() => query(databaseUrl, "UPDATE event_consumers SET tx = '0', seq = 0 WHERE owner = 'system' AND name = 'notifications'"))
        yield* eventually("the log re-read", Effect.promise(async () => {
          const rows = await query<{ behind: boolean }>(databaseUrl, `SELECT (c.tx, c.seq) < (SELECT tx, seq FROM sample_events ORDER BY tx DESC, seq DESC LIMIT 1) AS behind
            FROM event_consumers c WHERE owner = 'system' AND name = 'notifications'`)
          return rows[0]?.behind === false ? true : undefined
        }))
        const count = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM notification_deliveries WHERE sample_id = $1 AND event_type = 'SampleReceived'", [sample.id]))
        expect(count[0]!.n).toBe(2)
        expect(mailsTo(smtp.mails, "ada@lab.example", "ADA-received-1").length).toBe(before)
        // The sample's history says it notified people, once, naming the cause and counting per channel, no address.
        const history = (yield* call(baseUrl, ADMIN, "GET", `/api/v1/samples/${sample.id}/events`)).body as ReadonlyArray<{ id: string; type: string; actor: string; version: number; data: unknown }>
        const receivedEvent = history.find((e) => e.type === "SampleReceived")!
        const triggered = history.filter((e) => e.type === "NotificationTriggered")
        expect(triggered.map((e) => ({ actor: e.actor, version: e.version, data: e.data }))).toEqual([{
          actor: "notifier",
          version: receivedEvent.version,
          data: { causeId: receivedEvent.id, causeType: "SampleReceived", rules: ["received"], deliveries: 2, channels: { email: 1, in_app: 1, webhook: 0 } }
        }])
        expect(JSON.stringify(triggered)).not.toContain("ada@lab.example")
      }))

    it.scoped("a first attempt is made by the consumer on its runner, with no message stored; one a crash cut short is made again", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const smtp = yield* Smtp
        const sample = yield* newSample("lin@lab.example", "LIN-local-1")
        yield* receive(sample.id)
        yield* eventually("the received e-mail", Effect.sync(() => mailsTo(smtp.mails, "lin@lab.example", "LIN-local-1")[0]))
        const [email] = yield* eventually("the e-mail delivery sent", Effect.map(deliveriesOf(baseUrl, ADMIN, sample.id), (ds) => {
          const sent = ds.filter((d) => d.eventType === "SampleReceived" && d.channel === "email" && d.status === "sent")
          return sent.length === 1 ? sent : undefined
        }))
        expect(email!.attempts).toBe(1)
        // Made here: its Notification entity got no persisted message (no row, no activation).
        const messages = (id: string) =>
          Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM cluster_messages WHERE entity_type = 'Notification' AND entity_id = $1", [id]))
        expect((yield* messages(email!.id))[0]!.n).toBe(0)
        yield* consumerCaughtUp(databaseUrl)
        // The process died during that first attempt: the row says attempt 1 began and nothing was recorded after it.
        yield* Effect.promise(() => query(databaseUrl, "UPDATE notification_deliveries SET status = 'queued', reason = NULL WHERE id = $1", [email!.id]))
        yield* Effect.promise(() => query(databaseUrl, "UPDATE event_consumers SET tx = '0', seq = 0 WHERE owner = 'system' AND name = 'notifications'"))
        // The consumer, reading the event again, makes the attempt again: the e-mail is sent (again) and recorded.
        yield* eventually("the e-mail sent again", Effect.sync(() => mailsTo(smtp.mails, "lin@lab.example", "LIN-local-1")[1]))
        const again = yield* eventually("the delivery recorded as sent", Effect.map(deliveriesOf(baseUrl, ADMIN, sample.id), (ds) => {
          const d = ds.find((x) => x.id === email!.id)
          return d?.status === "sent" ? d : undefined
        }))
        expect(again.attempts).toBe(1)
        expect(mailsTo(smtp.mails, "lin@lab.example", "LIN-local-1")).toHaveLength(2)
      }))

    it.scoped("a batch's receipt e-mails are each sent once, their attempts counted and recorded a group per statement", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const smtp = yield* Smtp
        const api = yield* SampleApi
        const metric = (name: string) => Effect.promise(() => metricSum(baseUrl, name))
        const statementsBefore = yield* metric("poretrack_delivery_group_size_count")
        const writesBefore = yield* metric("poretrack_delivery_group_size_sum")
        const templateReadsBefore = yield* metric("poretrack_notification_template_reads_total")
        const started = Date.now()
        const created = yield* api.createSubmission({
          submitterEmail: "grace@lab.example",
          source: "api",
          priority: "normal",
          flowCellType: "R10.4.1",
          samples: Array.from({ length: 40 }, (_, i) => ({ sampleName: `GRACE-${i + 1}-x`, libraryKit: "SQK-LSK114" as const }))
        }, "test")
        const received = yield* api.batch(created.samples.map((s) => s.id), new Receive(), undefined, "test")
        expect(received.succeeded).toBe(40)
        const sent = yield* eventually("40 receipts sent", Effect.map(
          Effect.promise(() =>
            query<{ status: string; attempts: number }>(databaseUrl, `SELECT d.status, d.attempts FROM notification_deliveries d
              JOIN samples s ON s.id = d.sample_id
              WHERE s.submission_id = $1 AND d.event_type = 'SampleReceived' AND d.channel = 'email'`, [created.submission.id])),
          (rows) => (rows.length === 40 && rows.every((r) => r.status === "sent") ? rows : undefined)
        ))
        expect(sent.every((r) => r.attempts === 1)).toBe(true)
        for (const s of created.samples) expect(mailsTo(smtp.mails, "grace@lab.example", s.sampleName)).toHaveLength(1)
        // Each attempt was counted before it was made and recorded after (two writes per delivery at least), and
        // statements carried several deliveries: one statement per write before. How many share one depends on the
        // machine's load (29–34 statements for 80 writes on a quiet one, 61 once in a full `npm test`), so the check
        // is that some did: the attempts started together queue behind the one statement in flight.
        const writes = (yield* metric("poretrack_delivery_group_size_sum")) - writesBefore
        const statements = (yield* metric("poretrack_delivery_group_size_count")) - statementsBefore
        expect(writes).toBeGreaterThanOrEqual(80)
        expect(statements).toBeLessThan(writes)
        // The 40 renderings read the saved templates at most about once a second (they are kept a second; none at all
        // when the test before rendered less than a second ago), never once per e-mail: attempts made together wait
        // for the one read on its way.
        const templateReads = (yield* metric("poretrack_notification_template_reads_total")) - templateReadsBefore
        expect(templateReads).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1)
      }))

    it.scoped("a QC-failed event reaches the submitter and every manager, each once; a submitter sees only their own", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const smtp = yield* Smtp
        yield* person(baseUrl, "manager", "mia@lab.example")
        yield* person(baseUrl, "manager", "max@lab.example")
        const bob = yield* person(baseUrl, "submitter", "bob@lab.example")
        const sample = yield* newSample("cleo@lab.example", "CLEO-qc-1")
        yield* receive(sample.id)
        yield* Effect.promise(() =>
          query(databaseUrl, `INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
            SELECT gen_random_uuid(), id, submission_id, 'QcFailed', 99, 'test', now(), '{"step":"sample_qc","reason":"DIN below 7"}'::jsonb FROM samples WHERE id = $1`, [sample.id])
        )
        for (const to of ["cleo@lab.example", "mia@lab.example", "max@lab.example"]) {
          yield* eventually(`QC-failed mail to ${to}`, Effect.sync(() => mailsTo(smtp.mails, to, "CLEO-qc-1").find((m) => /qc/i.test(m.parsed?.subject ?? ""))))
        }
        const qc = (yield* deliveriesOf(baseUrl, ADMIN, sample.id)).filter((d) => d.eventType === "QcFailed" && d.channel === "email")
        expect(qc.map((d) => d.recipient).sort()).toEqual(["cleo@lab.example", "max@lab.example", "mia@lab.example"])
        // Bob sees neither the sample's deliveries nor anyone's notifications.
        const theirs = yield* call(baseUrl, bob, "GET", `/api/v1/samples/${sample.id}/notifications`)
        expect([403, 404]).toContain(theirs.status)
        expect(((yield* call(baseUrl, bob, "GET", "/api/v1/notifications")).body as { items: ReadonlyArray<unknown> }).items).toEqual([])
        expect(mailsTo(smtp.mails, "bob@lab.example", "CLEO").length).toBe(0)
        // A submitter may not configure notifications.
        expect((yield* call(baseUrl, bob, "POST", "/api/v1/webhooks", { url: "http://127.0.0.1:1/x", events: ["SampleReceived"] })).status).toBe(403)
        expect((yield* call(baseUrl, bob, "GET", "/api/v1/notification-rules")).status).toBe(403)
      }))

    it.scoped("a sample's assignees are the staff who worked it: the technician who received it hears of its QC failure, another does not", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const smtp = yield* Smtp
        const tess = yield* person(baseUrl, "technician", "tess@lab.example")
        yield* person(baseUrl, "technician", "theo@lab.example")
        const sample = yield* newSample("dina@lab.example", "DINA-assigned-1")
        const received = yield* call(baseUrl, tess, "POST", `/api/v1/samples/${sample.id}/receive`)
        expect(received.status, JSON.stringify(received.body)).toBe(200)
        yield* Effect.promise(() =>
          query(databaseUrl, `INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
            SELECT gen_random_uuid(), id, submission_id, 'QcFailed', 99, 'test', now(), '{"step":"sample_qc","reason":"DIN below 7"}'::jsonb FROM samples WHERE id = $1`, [sample.id])
        )
        yield* eventually("QC-failed mail to the technician who received the sample", Effect.sync(() => mailsTo(smtp.mails, "tess@lab.example", "DINA-assigned-1")[0]))
        const qc = (yield* deliveriesOf(baseUrl, ADMIN, sample.id)).filter((d) => d.eventType === "QcFailed")
        expect(qc.filter((d) => d.recipient === "tess@lab.example").map((d) => d.channel).sort()).toEqual(["email", "in_app"])
        expect(qc.some((d) => d.recipient === "theo@lab.example")).toBe(false)
        expect(mailsTo(smtp.mails, "theo@lab.example", "DINA").length).toBe(0)
      }))

    it.scoped("webhooks: signed deliveries verified with standardwebhooks; retries on the schedule, dead letter, replay delivers", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        let failing = true
        const receiver = yield* webhookReceiver((): Reply => (failing ? { status: 500, body: "down" } : { status: 204 }))
        const created = yield* call(baseUrl, ADMIN, "POST", "/api/v1/webhooks", { url: receiver.url, events: ["SampleReceived"] })
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        const { id, secret } = created.body as { id: string; secret: string }
        expect(secret).toMatch(/^whsec_/)
        const listed = (yield* call(baseUrl, ADMIN, "GET", "/api/v1/webhooks")).body as ReadonlyArray<Record<string, unknown>>
        expect(listed.find((e) => e.id === id)).toBeDefined()
        expect(JSON.stringify(listed)).not.toContain(secret)
        const sample = yield* newSample("dora@lab.example", "DORA-hook-1")
        yield* receive(sample.id)
        const history = yield* eventually("the dead letter", Effect.map(call(baseUrl, ADMIN, "GET", `/api/v1/webhooks/${id}/deliveries`), (a) => {
          const body = a.body as { deliveries: ReadonlyArray<Delivery>; attempts: ReadonlyArray<{ at: string; httpStatus: number | null; latencyMs: number; attempt: number }> }
          return body.deliveries.some((d) => d.status === "dead") ? body : undefined
        }))
        // Seven attempts (the first and six retries), each recorded with its time, latency and status, in order.
        const attempts = [...history.attempts].sort((a, b) => a.attempt - b.attempt)
        expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7])
        expect(attempts.every((a) => a.httpStatus === 500 && a.latencyMs >= 0)).toBe(true)
        const gaps = attempts.slice(1).map((a, i) => Date.parse(a.at) - Date.parse(attempts[i]!.at))
        // The last waits are 2 h, 5 h and 10 h scaled: 360 ms, 900 ms, 1.8 s (±10 %), never early.
        expect(gaps[3]!).toBeGreaterThanOrEqual(320)
        expect(gaps[4]!).toBeGreaterThanOrEqual(800)
        expect(gaps[5]!).toBeGreaterThanOrEqual(1_600)
        expect(receiver.count()).toBe(7)
        for (const got of receiver.requests) {
          const payload = new StandardWebhook(secret).verify(got.body, got.headers) as { type: string; sampleId: string; id: string; at: string }
          expect(payload.type).toBe("SampleReceived")
          expect(payload.sampleId).toBe(sample.id)
        }
        const dead = history.deliveries.find((d) => d.status === "dead")!
        expect(dead.reason).toContain(receiver.url)
        // Replay from the API: delivered this time.
        failing = false
        const replay = yield* call(baseUrl, ADMIN, "POST", `/api/v1/webhooks/deliveries/${dead.id}/replay`)
        expect(replay.status, JSON.stringify(replay.body)).toBe(202)
        yield* eventually("the replayed delivery", Effect.map(deliveriesOf(baseUrl, ADMIN, sample.id), (ds) => ds.find((d) => d.id === dead.id && d.status === "delivered")))
        expect(receiver.count()).toBe(8)
        // Only a dead letter can be replayed.
        expect((yield* call(baseUrl, ADMIN, "POST", `/api/v1/webhooks/deliveries/${dead.id}/replay`)).status).toBe(409)
        expect((yield* call(baseUrl, ADMIN, "DELETE", `/api/v1/webhooks/${id}`)).status).toBe(204)
        expect((yield* call(baseUrl, ADMIN, "DELETE", `/api/v1/webhooks/${id}`)).status).toBe(404)
      }))

    it.scoped("a 410 Gone disables the endpoint and fails its delivery with the reason", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        const receiver = yield* webhookReceiver([{ status: 410 }])
        const created = yield* call(baseUrl, ADMIN, "POST", "/api/v1/webhooks", { url: receiver.url, events: ["SampleReceived"] })
        const { id } = created.body as { id: string }
        const sample = yield* newSample("eve@lab.example", "EVE-gone-1")
        yield* receive(sample.id)
        const endpoint = yield* eventually("the endpoint disabled", Effect.map(call(baseUrl, ADMIN, "GET", "/api/v1/webhooks"), (a) =>
          (a.body as ReadonlyArray<{ id: string; enabled: boolean; disabledReason: string | null }>).find((e) => e.id === id && !e.enabled)))
        expect(endpoint.disabledReason).toContain("410")
        const d = yield* eventually("the failed delivery", Effect.map(deliveriesOf(baseUrl, ADMIN, sample.id), (ds) => ds.find((x) => x.channel === "webhook" && x.status === "failed" && x.recipient === receiver.url)))
        expect(d.reason).toContain("disabled")
        expect(receiver.count()).toBe(1)
        yield* call(baseUrl, ADMIN, "DELETE", `/api/v1/webhooks/${id}`)
      }))

    it.scoped("hostile input on the new routes is a typed 4xx and writes nothing", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const count = (table: string) => Effect.promise(() => query<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM ${table}`)).pipe(Effect.map((r) => r[0]!.n))
        const endpoints = yield* count("webhook_endpoints")
        const ruleSets = yield* count("notification_rule_sets")
        const templates = yield* count("notification_templates")
        const bad: ReadonlyArray<readonly [string, string, string]> = [
          ["POST", "/api/v1/webhooks", JSON.stringify({ url: "http://127.0.0.1/\u0000", events: ["SampleReceived"] })],
          ["POST", "/api/v1/webhooks", `{"url":"http://127.0.0.1/\\ud800","events":["SampleReceived"]}`],
          ["POST", "/api/v1/webhooks", JSON.stringify({ url: 42, events: "SampleReceived" })],
          ["POST", "/api/v1/webhooks", JSON.stringify({ url: "ftp://x.example/", events: ["SampleReceived"] })],
          ["POST", "/api/v1/webhooks", JSON.stringify({ url: "http://127.0.0.1/x", events: ["NoSuchEvent"] })],
          ["POST", "/api/v1/webhooks", JSON.stringify({ url: "x".repeat(3_000_000), events: ["SampleReceived"] })],
          ["POST", "/api/v1/webhooks", "[".repeat(5_000) + "]".repeat(5_000)],
          ["POST", "/api/v1/webhooks", "{not json"],
          ["PUT", "/api/v1/notification-rules", JSON.stringify({ expectedVersion: 0, rules: [{ id: "x", name: "a\u0000b", on: [{ eventType: "SampleReceived" }], to: [{ _tag: "Submitter" }], channels: ["email"], enabled: true }] })],
          ["PUT", "/api/v1/notification-rules", JSON.stringify({ expectedVersion: "0", rules: {} })],
          ["PUT", "/api/v1/notification-rules", JSON.stringify({ expectedVersion: 0, rules: [{ id: "UPPER CASE" }] })],
          ["PUT", "/api/v1/notification-templates", JSON.stringify({ template: { channel: "email", trigger: { eventType: "SampleReceived" }, subject: "{{nope}}", html: "x", text: "y" } })],
          ["PUT", "/api/v1/notification-templates", `{"template":{"channel":"in_app","trigger":{"eventType":"SampleReceived"},"title":"\\udc00","body":"b"}}`],
          ["POST", "/api/v1/notification-templates/preview", JSON.stringify({ template: 7 })],
          ["POST", "/api/v1/notifications/not-a-uuid/read", ""],
          ["DELETE", "/api/v1/webhooks/%00", ""],
          ["GET", "/api/v1/webhooks/not-a-uuid/deliveries", ""],
          ["POST", "/api/v1/webhooks/deliveries/00000000-0000-0000-0000-000000000000/replay", ""],
          ["GET", "/api/v1/samples/not-a-uuid/notifications", ""]
        ]
        for (const [method, path, raw] of bad) {
          const answer = yield* call(baseUrl, ADMIN, method, path, undefined, raw === "" ? undefined : raw)
          expect([400, 404, 413, 422], `${method} ${path} ${raw.slice(0, 80)} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`).toContain(answer.status)
          expect(typeof (answer.body as { error?: unknown }).error).toBe("string")
        }
        expect(yield* count("webhook_endpoints")).toBe(endpoints)
        expect(yield* count("notification_rule_sets")).toBe(ruleSets)
        expect(yield* count("notification_templates")).toBe(templates)
      }))
  })
})
