/**
 * The typed RPCs of exports and notifications over real HTTP (NDJSON, as the web app calls them), against the
 * all-in-one system on a real PostgreSQL: an export started, followed live to completion and downloaded; a submitter
 * confined to their own samples, exports and notifications; in-app notifications counted and marked read; delivery
 * status per recipient of a sample; webhooks dead-lettered and replayed; the mail outbox for admins only; and hostile
 * payloads answered with a typed InvalidInput.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Duration, Effect, Layer, Schedule, Stream } from "effect"
import { Receive } from "../rpc/Commands.ts"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import { NOTIFY_DEFAULTS } from "../runtime/Config.ts"
import { startExport } from "../runtime/ExportHandlers.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { webhookReceiver, type Reply } from "./notify/WebhookReceiver.ts"
import { adminAuth } from "./TestAuth.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

const PASSWORD = "correct horse battery"

const System = TestSystem({
  settings: {
    notify: {
      ...NOTIFY_DEFAULTS,
      outboxDir: `./data/test-outbox-rpc-${process.pid}-${Date.now()}`,
      // The webhook retry schedule (5 s … 10 h) in about 3 s of real time.
      retryScale: 0.00005
    }
  }
})

/** A typed client of the whole group sending `headers` on every call (a bearer key, or a session cookie + CSRF). */
const clientWith = (headers: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestEndpoint
    const protocol = yield* Layer.build(
      RpcClient.layerProtocolHttp({ url: `${baseUrl}/rpc`, transformClient: HttpClient.mapRequest(HttpClientRequest.setHeaders(headers)) }).pipe(
        Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
      )
    )
    return yield* RpcClient.make(PoretrackRpcs).pipe(Effect.provide(protocol))
  })

/** Creates a user with `role` and signs them in: their session headers, as the browser sends them. */
const signedIn = (role: string, email: string) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestEndpoint
    return yield* Effect.promise(async () => {
      const created = await fetch(`${baseUrl}/api/v1/users`, {
        method: "POST",
        headers: { ...adminAuth, "content-type": "application/json" },
        body: JSON.stringify({ email, name: role, role, password: PASSWORD })
      })
      if (created.status !== 201) throw new Error(`user ${email}: ${created.status} ${await created.text()}`)
      const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD })
      })
      const session = (await res.json()) as { csrfToken: string }
      return { cookie: (res.headers.get("set-cookie") ?? "").split(";")[0]!, "x-csrf-token": session.csrfToken }
    })
  })

/** Polls `check` until it gives a value (every 50 ms, at most 30 s): deliveries and jobs finish asynchronously. */
const eventually = <A, E, R>(what: string, check: Effect.Effect<A | undefined, E, R>) =>
  check.pipe(
    Effect.flatMap((a) => (a === undefined ? Effect.fail(what) : Effect.succeed(a))),
    Effect.retry(Schedule.spaced(Duration.millis(50))),
    Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => new Error(`timed out waiting for ${what}`) }),
    Effect.orDie
  )

const submission = (submitterEmail: string, names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const api = yield* SampleApi
    return yield* api.createSubmission({
      submitterEmail,
      source: "api",
      priority: "normal",
      flowCellType: "R10.4.1",
      samples: names.map((sampleName) => ({ sampleName, libraryKit: "SQK-LSK114" as const }))
    }, "test")
  })

const receive = (id: string) => Effect.flatMap(SampleApi, (api) => api.execute(id as never, new Receive(), undefined, "test"))

/** GETs a path with the given headers: status and text. */
const download = (path: string, headers: Readonly<Record<string, string>>) =>
  Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
    Effect.promise(async () => {
      const res = await fetch(`${baseUrl}${path}`, { headers })
      return { status: res.status, text: await res.text() }
    }))

/** Sends one raw NDJSON request to `/rpc` (bypassing the client's encoding) and returns its Exit's failure, if any. */
const rawFailure = (tag: string, payloadJson: string) =>
  Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
    Effect.promise(async () => {
      const response = await fetch(`${baseUrl}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/ndjson", ...adminAuth },
        body: `{"_tag":"Request","id":"1","tag":${JSON.stringify(tag)},"payload":${payloadJson},"headers":[]}\n`
      })
      const lines = (await response.text()).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
      const exit = lines.find((m) => m._tag === "Exit") as { exit: { _tag: string; cause?: { _tag: string; error?: { _tag: string; message: string; issues: ReadonlyArray<{ path: string }> } } } } | undefined
      return { status: response.status, exit: exit?.exit }
    }))

describe("export and notification RPCs", () => {
  layer(System, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.scoped("Exports.Start → Exports.Progress streams rows done up to the total → completed, listed, downloadable as CSV", () =>
      Effect.gen(function*() {
        const admin = yield* clientWith(adminAuth)
        const columns = yield* admin.Exports.Columns()
        expect(columns.map((c) => c.id)).toEqual(expect.arrayContaining(["sample_id", "sample_name", "status"]))
        expect(columns.find((c) => c.id === "sample_name")?.byDefault).toBe(true)
        const made = yield* submission("grace@lab.example", ["EXP-1", "EXP-2", "EXP-3"])
        const started = yield* admin.Exports.Start({ format: "csv", filter: { submissionId: made.submission.id }, columns: ["sample_name", "status"] })
        expect(started.status).toBe("queued")
        const seen = Chunk.toReadonlyArray(yield* Stream.runCollect(admin.Exports.Progress({ id: started.id })).pipe(Effect.timeout(Duration.seconds(30))))
        const last = seen[seen.length - 1]!
        expect(last.status).toBe("completed")
        expect(last.rowsDone).toBe(3)
        expect(last.rowsTotal).toBe(3)
        expect(seen.every((v, i) => i === 0 || v.rowsDone >= seen[i - 1]!.rowsDone)).toBe(true)
        const got = yield* admin.Exports.Get({ id: started.id })
        expect(got.downloadUrl).toBe(`/api/v1/exports/${started.id}/download`)
        expect((yield* admin.Exports.List()).map((e) => e.id)).toContain(started.id)
        const file = yield* download(got.downloadUrl!, adminAuth)
        expect(file.status).toBe(200)
        const [header, ...lines] = file.text.trim().split(/\r\n/)
        expect(header).toBe("Sample name,Status")
        expect(lines.sort()).toEqual(["EXP-1,submitted", "EXP-2,submitted", "EXP-3,submitted"])
        // Cancelling a finished export returns it unchanged.
        expect((yield* admin.Exports.Cancel({ id: started.id })).status).toBe("completed")
      }))

    it.scoped("an unknown column and a MinKNOW sheet without its flow cell are typed InvalidInput naming the field", () =>
      Effect.gen(function*() {
        const admin = yield* clientWith(adminAuth)
        const unknown = yield* admin.Exports.Start({ format: "csv", columns: ["sample_name", "shoe_size"] }).pipe(Effect.flip)
        if (unknown._tag !== "InvalidInput") return expect.fail(`expected InvalidInput, got ${unknown._tag}`)
        expect(unknown.message).toContain("shoe_size")
        expect(unknown.issues[0]?.path).toBe("columns")
        const minknow = yield* admin.Exports.Start({ format: "minknow" }).pipe(Effect.flip)
        if (minknow._tag !== "InvalidInput") return expect.fail(`expected InvalidInput, got ${minknow._tag}`)
        expect(minknow.issues[0]?.path).toBe("flowCellId")
        const missing = yield* admin.Exports.Get({ id: "00000000-0000-4000-8000-000000000000" }).pipe(Effect.flip)
        expect(missing._tag).toBe("ExportNotFound")
      }))

    it.scoped("a submitter exports only their own samples, cannot see another's export, and sees their own notifications and deliveries", () =>
      Effect.gen(function*() {
        const admin = yield* clientWith(adminAuth)
        const adaSession = yield* signedIn("submitter", "ada@lab.example")
        const ada = yield* clientWith(adaSession)
        const bob = yield* clientWith(yield* signedIn("submitter", "bob@lab.example"))
        const adas = yield* submission("ada@lab.example", ["ADA-1"])
        yield* submission("bob@lab.example", ["BOB-1"])

        const others = yield* ada.Exports.Start({ format: "csv", filter: { submitter: "bob@lab.example" } }).pipe(Effect.flip)
        expect(others._tag).toBe("Forbidden")
        const own = yield* ada.Exports.Start({ format: "json", columns: ["sample_name", "submitter_email"] })
        const done = yield* eventually("ada's export", Effect.map(ada.Exports.Get({ id: own.id }), (v) => (v.status === "completed" ? v : undefined)))
        // Only ada's sample is in her export (every sample of the system would be in an admin's).
        const file = yield* download(done.downloadUrl!, { cookie: adaSession.cookie })
        expect(file.status).toBe(200)
        expect(JSON.parse(file.text)).toEqual([{ sample_name: "ADA-1", submitter_email: "ada@lab.example" }])
        // Another submitter's session gets no file.
        expect((yield* download(done.downloadUrl!, { cookie: (yield* signedIn("submitter", "ada2@lab.example")).cookie })).status).toBe(404)
        expect((yield* ada.Exports.List()).map((e) => e.id)).toEqual([own.id])
        expect((yield* bob.Exports.Get({ id: own.id }).pipe(Effect.flip))._tag).toBe("ExportNotFound")
        expect((yield* bob.Exports.Cancel({ id: own.id }).pipe(Effect.flip))._tag).toBe("ExportNotFound")
        expect((yield* bob.Exports.List()).length).toBe(0)
        // Managers see any export (admin key).
        expect((yield* admin.Exports.Get({ id: own.id })).rowsDone).toBe(1)

        // The received sample notifies ada in-app: counted unread, listed, marked read.
        const sample = adas.samples[0]!
        yield* receive(sample.id)
        // Her export's result and the received sample both reach her in the app.
        const page = yield* eventually("ada's two unread notifications", Effect.map(ada.Notifications.List({ unreadOnly: true }), (p) =>
          p.items.some((n) => n.sampleId === sample.id) && p.items.some((n) => n.eventType === "ExportCompleted") ? p : undefined))
        expect(page.unread).toBe(2)
        expect((yield* ada.Notifications.UnreadCount()).unread).toBe(2)
        const ready = page.items.find((n) => n.eventType === "ExportCompleted")!
        expect(ready.title).toBe(`Export ${own.id} (json) is ready`)
        expect(ready.sampleId).toBeNull()
        const received = page.items.find((n) => n.sampleId === sample.id)!
        expect(received.title).toContain("ADA-1")
        const read = yield* ada.Notifications.MarkRead({ id: received.id })
        expect(read.readAt).not.toBeNull()
        expect((yield* ada.Notifications.UnreadCount()).unread).toBe(1)
        expect((yield* ada.Notifications.List({ unreadOnly: true })).items.map((n) => n.id)).toEqual([ready.id])
        expect((yield* bob.Notifications.List({})).items.length).toBe(0)
        expect((yield* bob.Notifications.MarkRead({ id: received.id }).pipe(Effect.flip))._tag).toBe("NotificationNotFound")

        // Delivery status per recipient: e-mail (the outbox) and in-app, both to ada; bob may not look.
        const deliveries = yield* eventually("ada's deliveries settled", Effect.map(ada.Deliveries.ForSample({ sampleId: sample.id }), (ds) => {
          const received = ds.filter((d) => d.eventType === "SampleReceived")
          return received.length === 2 && received.every((d) => d.status === "sent" || d.status === "delivered") ? received : undefined
        }))
        expect(deliveries.map((d) => [d.channel, d.recipient, d.status]).sort()).toEqual([["email", "ada@lab.example", "sent"], ["in_app", "ada@lab.example", "delivered"]])
        expect((yield* bob.Deliveries.ForSample({ sampleId: sample.id }).pipe(Effect.flip))._tag).toBe("Forbidden")

        // The mail outbox is the admins'.
        const outbox = yield* admin.Mail.Outbox()
        expect(outbox.some((m) => m.to.includes("ada@lab.example") && m.subject.includes("ADA-1"))).toBe(true)
        expect((yield* ada.Mail.Outbox().pipe(Effect.flip))._tag).toBe("Forbidden")
        expect((yield* ada.Webhooks.List().pipe(Effect.flip))._tag).toBe("Forbidden")
      }))

    it.scoped("a scheduled export's recipients get its result by e-mail, and nobody else does", () =>
      Effect.gen(function*() {
        const admin = yield* clientWith(adminAuth)
        yield* submission("erin@lab.example", ["SCHED-1", "SCHED-2"])
        // What the schedule's clock does on a tick (runtime/ExportCrons.ts): a job carrying the schedule's recipients.
        const id = yield* startExport({
          ownerPrincipal: "ApiKey:schedule-test",
          ownerEmail: null,
          format: "csv",
          filter: { submitter: "erin@lab.example" },
          columns: ["sample_name"],
          flowCellId: null,
          recipients: ["lab-office@facility.example", "pi@lab.example"]
        })
        yield* eventually("the scheduled export", Effect.map(admin.Exports.Get({ id }), (v) => (v.status === "completed" ? v : undefined)))
        const subject = `Export ${id} (csv) is ready`
        const mails = yield* eventually("both recipients' e-mails", Effect.map(admin.Mail.Outbox(), (all) => {
          const ours = all.filter((m) => m.subject === subject)
          return ours.length >= 2 ? ours : undefined
        }))
        // Exactly the recipients: the job's owner is an API key (no address), the samples' submitter is not told.
        expect(mails.map((m) => m.to).sort()).toEqual(["lab-office@facility.example", "pi@lab.example"])
      }))

    it.scoped("a failed export tells its requester why, by e-mail, and nobody else, not even a schedule's recipients", () =>
      Effect.gen(function*() {
        const admin = yield* clientWith(adminAuth)
        // A MinKNOW sheet for a flow cell no sample is set up on: refused, so the job fails with that reason.
        const id = yield* startExport({
          ownerPrincipal: "User:fail-test",
          ownerEmail: "fay@facility.example",
          format: "minknow",
          filter: {},
          columns: null,
          flowCellId: "FLO-NOWHERE1",
          recipients: ["lab-office@facility.example"]
        })
        const failed = yield* eventually("the failed export", Effect.map(admin.Exports.Get({ id }), (v) => (v.status === "failed" ? v : undefined)))
        expect(failed.error).toContain("no samples are set up on flow cell FLO-NOWHERE1")
        const subject = `Export ${id} (minknow) failed`
        const mail = yield* eventually("the requester's e-mail", Effect.map(admin.Mail.Outbox(), (all) => all.find((m) => m.subject === subject)))
        expect(mail.to).toBe("fay@facility.example")
        expect((yield* admin.Mail.Outbox()).filter((m) => m.subject === subject)).toHaveLength(1)
      }))

    it.scoped("Webhooks.Create shows the secret once; a failing endpoint's delivery goes dead, Webhooks.Replay delivers it", () =>
      Effect.gen(function*() {
        const admin = yield* clientWith(adminAuth)
        let failing = true
        const receiver = yield* webhookReceiver((): Reply => (failing ? { status: 500, body: "down" } : { status: 204 }))
        const bad = yield* admin.Webhooks.Create({ url: "ftp://127.0.0.1/x", events: ["SampleReceived"] }).pipe(Effect.flip)
        if (bad._tag !== "InvalidInput") return expect.fail(`expected InvalidInput, got ${bad._tag}`)
        expect(bad.issues[0]?.path).toBe("url")
        const created = yield* admin.Webhooks.Create({ url: receiver.url, events: ["SampleReceived"] })
        expect(created.secret).toMatch(/^whsec_/)
        expect(JSON.stringify(yield* admin.Webhooks.List())).not.toContain(created.secret)
        const made = yield* submission("carol@lab.example", ["HOOK-1"])
        yield* receive(made.samples[0]!.id)
        const history = yield* eventually("the dead letter", Effect.map(admin.Webhooks.Deliveries({ id: created.id }), (h) => (h.deliveries.some((d) => d.status === "dead") ? h : undefined)))
        expect(history.attempts.length).toBe(7)
        expect(history.attempts.every((a) => a.httpStatus === 500)).toBe(true)
        const dead = history.deliveries.find((d) => d.status === "dead")!
        expect(dead.reason).toContain(receiver.url)
        failing = false
        const replayed = yield* admin.Webhooks.Replay({ deliveryId: dead.id })
        expect(replayed.status).toBe("queued")
        yield* eventually("the replayed delivery", Effect.map(admin.Webhooks.Deliveries({ id: created.id }), (h) => h.deliveries.find((d) => d.id === dead.id && d.status === "delivered")))
        const again = yield* admin.Webhooks.Replay({ deliveryId: dead.id }).pipe(Effect.flip)
        expect(again._tag).toBe("DeliveryNotReplayable")
        expect((yield* admin.Webhooks.Replay({ deliveryId: "nope" }).pipe(Effect.flip))._tag).toBe("DeliveryNotFound")
        yield* admin.Webhooks.Delete({ id: created.id })
        expect((yield* admin.Webhooks.Deliveries({ id: created.id }).pipe(Effect.flip))._tag).toBe("WebhookNotFound")
      }))

    it.scoped("hostile payloads (wrong types, NUL, lone surrogates, huge strings, extra keys) are typed InvalidInput naming the field", () =>
      Effect.gen(function*() {
        const huge = "x".repeat(200_000)
        const cases: ReadonlyArray<readonly [string, string, string]> = [
          ["Exports.Start", `{"format":"pdf"}`, "format"],
          ["Exports.Start", `{"format":"csv","columns":"sample_name"}`, "columns"],
          ["Exports.Start", `{"format":"csv","columns":["sample\\u0000name"]}`, "columns"],
          ["Exports.Start", `{"format":"csv","filter":{"q":"\\ud800"}}`, "filter"],
          ["Exports.Start", `{"format":"csv","flowCellId":"${huge}"}`, "flowCellId"],
          ["Exports.Start", `{"format":"csv","admin":true}`, "admin"],
          ["Exports.Get", `{"id":42}`, "id"],
          ["Exports.Get", `{"id":"a\\u0000b"}`, "id"],
          ["Exports.Progress", `{"id":"\\udc00"}`, "id"],
          ["Exports.Cancel", `{"id":"${huge}"}`, "id"],
          ["Notifications.List", `{"unreadOnly":"yes"}`, "unreadOnly"],
          ["Notifications.MarkRead", `{"id":null}`, "id"],
          ["Deliveries.ForSample", `{"sampleId":"not-a-uuid"}`, "sampleId"],
          ["Webhooks.Create", `{"url":"http://127.0.0.1/\\u0000","events":["SampleReceived"]}`, "url"],
          ["Webhooks.Create", `{"url":"http://127.0.0.1/","events":["NoSuchEvent"]}`, "events"],
          ["Webhooks.Create", `{"url":"${huge}","events":["SampleReceived"]}`, "url"],
          ["Webhooks.Replay", `{"deliveryId":["x"]}`, "deliveryId"]
        ]
        for (const [tag, payload, field] of cases) {
          const { exit, status } = yield* rawFailure(tag, payload)
          const what = `${tag} ${payload.slice(0, 80)}`
          expect(status, what).toBe(200)
          expect(exit?._tag, what).toBe("Failure")
          expect(exit?.cause?.error?._tag, what).toBe("InvalidInput")
          expect(exit?.cause?.error?.issues.some((i) => i.path.startsWith(field)), `${what}: ${JSON.stringify(exit?.cause?.error?.issues)}`).toBe(true)
        }
        // The server still answers after all of it.
        expect((yield* (yield* clientWith(adminAuth)).Notifications.UnreadCount()).unread).toBe(0)
      }))
  })
})
