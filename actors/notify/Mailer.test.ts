/**
 * The mailer against a real SMTP server (smtp-server on 127.0.0.1, mails parsed back with mailparser) and the local
 * outbox folder: content and recipients, stable Message-IDs, and failures that name the recipient and the reason.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Exit, Layer, Redacted } from "effect"
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { simpleParser } from "mailparser"
import { smtpReceiver } from "../../test/notify/SmtpReceiver.ts"
import { freePort } from "../../test/freePort.ts"
import { UserId } from "../../rpc/Auth.ts"
import { EventId, SampleId, SubmissionId } from "../../rpc/Ids.ts"
import { MailOutbox } from "./MailOutbox.ts"
import { DEFAULT_RULES, resolveRecipients, type Directory } from "./Rules.ts"
import { renderEmail, templateFor, type SampleEventContext } from "./Templates.ts"
import {
  addressOf,
  MailAddressInvalid,
  MailDeliveryFailed,
  Mailer,
  MailRecipientRejected,
  messageIdFor,
  parseSmtpUrl,
  type OutgoingMail
} from "./Mailer.ts"

const FROM = "HTSF Nanopore Core <noreply@facility.example.org>"

const mail = (overrides: Partial<OutgoingMail> = {}): OutgoingMail => ({
  to: "ada@lab.example.org",
  subject: "QC failed: ecoli_K12-01 at Sample QC — 30 µL",
  html: "<p>Sample QC of <strong>ecoli_K12-01</strong> did not pass.</p>",
  text: "Sample QC of ecoli_K12-01 did not pass.",
  dedupKey: "0b6f2b8e-6a57-4f3c-9d7a-0d3e1f0c9a11/qc-failed/email:ada@lab.example.org",
  ...overrides
})

const smtpMailer = (port: number, credentials = "notify:s3cr%40t") =>
  Mailer.smtp({ url: Redacted.make(`smtp://${credentials}@127.0.0.1:${port}`), from: FROM, timeout: "20 seconds" })

/** The mailer of `layer`, kept open until the test's scope closes (the SMTP pool closes with it). */
const use = <E>(layer: Layer.Layer<Mailer, E>) => Layer.build(layer).pipe(Effect.map(Context.get(Mailer)))

const tempDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "poretrack-outbox-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

describe("SMTP", () => {
  it.scopedLive("delivers from, to, subject, HTML and text, authenticated with the URL's credentials", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpReceiver({ credentials: { user: "notify", pass: "s3cr@t" } })
      const mailer = yield* use(smtpMailer(smtp.port))
      const sent = yield* mailer.send(mail())
      expect(sent.via).toBe("smtp")
      expect(sent.response).toMatch(/^250/)
      expect(smtp.mails).toHaveLength(1)
      const got = smtp.mails[0]!
      expect(got.user).toBe("notify")
      expect(got.envelope).toEqual({ from: "noreply@facility.example.org", to: ["ada@lab.example.org"] })
      const parsed = got.parsed!
      expect(parsed.from?.value).toEqual([{ address: "noreply@facility.example.org", name: "HTSF Nanopore Core" }])
      expect(parsed.to !== undefined && !Array.isArray(parsed.to) ? parsed.to.value : []).toEqual([{ address: "ada@lab.example.org", name: "" }])
      expect(parsed.subject).toBe("QC failed: ecoli_K12-01 at Sample QC — 30 µL")
      expect(parsed.html).toBe("<p>Sample QC of <strong>ecoli_K12-01</strong> did not pass.</p>")
      expect(parsed.text?.trim()).toBe("Sample QC of ecoli_K12-01 did not pass.")
      expect(parsed.headers.get("auto-submitted")).toBe("auto-generated")
      expect(parsed.messageId).toBe(`<${sent.messageId}>`)
      expect(sent.messageId).toBe(messageIdFor(mail().dedupKey, "facility.example.org"))
    }))

  it.scopedLive("gives a resend of the same notification the same Message-ID, and another notification another", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpReceiver()
      const mailer = yield* use(smtpMailer(smtp.port))
      yield* mailer.send(mail())
      yield* mailer.send(mail())
      yield* mailer.send(mail({ dedupKey: "another-event/qc-failed/email:ada@lab.example.org" }))
      const ids = smtp.mails.map((m) => m.parsed?.messageId)
      expect(ids[0]).toBe(ids[1])
      expect(ids[2]).not.toBe(ids[0])
      expect(ids[0]).toMatch(/^<[0-9a-f]{32}@facility\.example\.org>$/)
    }))

  it.scopedLive("names the refused recipient and the server's reply (SMTP 550), and still sends to the others", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpReceiver({ refuse: (a) => (a === "gone@lab.example.org" ? 550 : a === "full@lab.example.org" ? 452 : undefined) })
      const mailer = yield* use(smtpMailer(smtp.port))
      const refused = yield* mailer.send(mail({ to: "gone@lab.example.org" })).pipe(Effect.flip)
      expect(refused).toBeInstanceOf(MailRecipientRejected)
      expect(refused).toMatchObject({ recipient: "gone@lab.example.org", code: 550, permanent: true, command: "RCPT TO" })
      expect(refused.message).toBe("SMTP 550 for gone@lab.example.org: 5.1.1 <gone@lab.example.org>: mailbox unavailable")
      const full = yield* mailer.send(mail({ to: "full@lab.example.org" })).pipe(Effect.flip)
      expect(full).toMatchObject({ _tag: "MailRecipientRejected", code: 452, permanent: false })
      yield* mailer.send(mail({ to: "ada@lab.example.org" }))
      expect(smtp.mails.map((m) => m.envelope.to)).toEqual([["ada@lab.example.org"]])
    }))

  it.scopedLive("names the recipient and the server when no connection can be made", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const mailer = yield* use(smtpMailer(port))
      const e = yield* mailer.send(mail()).pipe(Effect.flip)
      expect(e).toBeInstanceOf(MailDeliveryFailed)
      expect(e).toMatchObject({ recipient: "ada@lab.example.org", transient: true })
      expect(e.message).toContain(`could not send to ada@lab.example.org: no connection to 127.0.0.1:${port}`)
    }))

  it.scopedLive("reports refused credentials as an authentication failure, not a transient one", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpReceiver({ credentials: { user: "notify", pass: "right" } })
      const mailer = yield* use(smtpMailer(smtp.port, "notify:wrong"))
      const e = yield* mailer.send(mail()).pipe(Effect.flip)
      expect(e).toMatchObject({ _tag: "MailDeliveryFailed", transient: false })
      expect(e.message).toContain(`authentication at 127.0.0.1:${smtp.port} failed`)
      expect(e.message).not.toContain("wrong")
    }))

  it.scopedLive("refuses a recipient that is not an address without trying", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpReceiver()
      const mailer = yield* use(smtpMailer(smtp.port))
      const e = yield* mailer.send(mail({ to: "ada@lab.example.org, eve@evil.example" })).pipe(Effect.flip)
      expect(e).toBeInstanceOf(MailAddressInvalid)
      expect(smtp.mails).toHaveLength(0)
    }))
})

describe("SMTP settings", () => {
  it("reads host, port, TLS and credentials from the URL, with the usual default ports", () => {
    const plain = Either.getOrThrow(parseSmtpUrl("smtp://user%40x:p%3Ass@mail.example:2525?requireTLS=true"))
    expect(plain).toMatchObject({ host: "mail.example", port: 2525, secure: false, user: "user@x", requireTLS: true, ignoreTLS: false })
    expect(plain.pass !== undefined && Redacted.value(plain.pass)).toBe("p:ss")
    expect(Either.getOrThrow(parseSmtpUrl("smtp://mail.example"))).toMatchObject({ port: 587, secure: false })
    expect(Either.getOrThrow(parseSmtpUrl("smtps://mail.example"))).toMatchObject({ port: 465, secure: true })
  })

  it("refuses other schemes and nonsense, naming SMTP_URL", () => {
    for (const bad of ["http://mail.example", "mail.example:587", "smtp://mail.example?ignoreTLS=perhaps"]) {
      const r = parseSmtpUrl(bad)
      expect(Either.isLeft(r) && r.left.setting).toBe("SMTP_URL")
    }
  })

  it("fails to start with a From setting that holds no address, and never shows the password", () =>
    Effect.gen(function*() {
      const bad = yield* Layer.build(Mailer.smtp({ url: Redacted.make("smtp://u:hunter2@127.0.0.1:25"), from: "Facility" })).pipe(Effect.scoped, Effect.exit)
      expect(Exit.isFailure(bad)).toBe(true)
      const mailer = yield* use(Mailer.smtp({ url: Redacted.make("smtp://u:hunter2@127.0.0.1:25"), from: FROM }))
      expect(mailer.describe).toBe("SMTP 127.0.0.1:25 as noreply@facility.example.org")
      expect(addressOf("noreply@x.example.org")).toBe("noreply@x.example.org")
    }).pipe(Effect.scoped, Effect.runPromise))
})

describe("outbox", () => {
  const outboxMailer = (dir: string) =>
    Mailer.outbox({ from: FROM }).pipe(Layer.provideMerge(MailOutbox.layer(dir)), Layer.provide(NodeContext.layer))

  it.scopedLive("writes one .eml per mail that parses back as it would have been sent, and lists it for admins", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { mailer, outbox } = yield* Effect.all({ mailer: Mailer, outbox: MailOutbox }).pipe(Effect.provide(outboxMailer(join(dir, "outbox"))))
      expect(mailer.describe).toBe(`outbox ${join(dir, "outbox")} as noreply@facility.example.org`)
      const sent = yield* mailer.send(mail())
      yield* mailer.send(mail({ to: "tess@facility.example.org", dedupKey: "e1/qc-failed/email:tess@facility.example.org", subject: "Second" }))
      expect(sent).toMatchObject({ via: "outbox", created: true })
      const files = yield* Effect.promise(() => readdir(join(dir, "outbox")))
      expect(files.sort()).toHaveLength(2)
      expect(files.every((f) => /^[0-9a-f]{32}\.eml$/.test(f))).toBe(true)

      const list = yield* outbox.list()
      expect(list.map((e) => e.to).sort()).toEqual(["ada@lab.example.org", "tess@facility.example.org"])
      const first = list.find((e) => e.to === "ada@lab.example.org")!
      expect(first.subject).toBe("QC failed: ecoli_K12-01 at Sample QC — 30 µL")
      expect(first.messageId).toBe(`<${sent.messageId}>`)
      expect(first.from).toBe(FROM)

      const read = yield* outbox.read(first.id)
      const parsed = yield* Effect.promise(() => simpleParser(read.raw))
      expect(parsed.subject).toBe("QC failed: ecoli_K12-01 at Sample QC — 30 µL")
      expect(parsed.html).toBe("<p>Sample QC of <strong>ecoli_K12-01</strong> did not pass.</p>")
      expect(parsed.text?.trim()).toBe("Sample QC of ecoli_K12-01 did not pass.")
      expect(parsed.messageId).toBe(`<${sent.messageId}>`)
    }))

  it.scopedLive("writes nothing for a resend of the same notification", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const mailer = yield* Mailer.pipe(Effect.provide(outboxMailer(dir)))
      const first = yield* mailer.send(mail())
      const again = yield* mailer.send(mail({ subject: "changed in between" }))
      expect(again).toMatchObject({ created: false, messageId: first.messageId })
      expect(again.response).toContain("already in the outbox")
      const files = yield* Effect.promise(() => readdir(dir))
      expect(files).toHaveLength(1)
    }))

  it.scopedLive("lists newest first with a limit, skips foreign files, and refuses ids that are not outbox ids", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { mailer, outbox } = yield* Effect.all({ mailer: Mailer, outbox: MailOutbox }).pipe(Effect.provide(outboxMailer(dir)))
      for (const i of [1, 2, 3]) yield* mailer.send(mail({ dedupKey: `k${i}`, subject: `mail ${i}` }))
      yield* Effect.promise(() => writeFile(join(dir, "notes.txt"), "not a mail"))
      const list = yield* outbox.list({ limit: 2 })
      expect(list).toHaveLength(2)
      expect(list[0]!.writtenAt).toBeGreaterThanOrEqual(list[1]!.writtenAt)
      for (const id of ["../../etc/passwd", "notes", "0".repeat(32)]) {
        const e = yield* outbox.read(id).pipe(Effect.flip)
        expect(e).toMatchObject({ _tag: "OutboxMailNotFound", id })
      }
    }))

  it.scopedLive("names the recipient and the file when the outbox cannot be written, and leaves no partial file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const box = join(dir, "box")
      const mailer = yield* Mailer.pipe(Effect.provide(outboxMailer(box)))
      yield* Effect.promise(() => rm(box, { recursive: true }))
      const e = yield* mailer.send(mail()).pipe(Effect.flip)
      expect(e).toBeInstanceOf(MailDeliveryFailed)
      expect(e.message).toMatch(new RegExp(`^could not send to ada@lab\\.example\\.org: outbox: could not write ${box}/[0-9a-f]{32}\\.eml`))
      const left = yield* Effect.promise(() => readdir(dir))
      expect(left).toEqual([])
    }))
})

describe("a notification, end to end", () => {
  it.scopedLive("reaches each recipient of the QC-failed rule with the rendered template, and nobody else", () =>
    Effect.gen(function*() {
      const smtp = yield* smtpReceiver()
      const dir = yield* tempDir
      const mailer = yield* use(
        Mailer.layer({ smtpUrl: Redacted.make(`smtp://127.0.0.1:${smtp.port}`), from: FROM }).pipe(
          Layer.provide(MailOutbox.layer(dir)),
          Layer.provide(NodeContext.layer)
        )
      )
      expect(mailer.via).toBe("smtp")
      const id = () => UserId.make(crypto.randomUUID())
      const tess = { id: id(), email: "tess@facility.example.org", role: "technician", disabled: false } as const
      const directory: Directory = {
        users: [
          { id: id(), email: "ada@lab.example.org", role: "submitter", disabled: false },
          { id: id(), email: "bob@otherlab.example.org", role: "submitter", disabled: false },
          tess,
          { id: id(), email: "mona@facility.example.org", role: "manager", disabled: false }
        ],
        endpoints: []
      }
      const ctx: SampleEventContext = {
        event: {
          id: EventId.make(crypto.randomUUID()),
          type: "QcFailed",
          at: "2025-01-06T09:02:00.000Z",
          actor: "user:tess@facility.example.org",
          data: { step: "library_qc", attempt: 1, reasons: ["library too dilute: 2 fmol < 10 fmol"], warnings: [] }
        },
        sample: {
          id: SampleId.make(crypto.randomUUID()),
          submissionId: SubmissionId.make(crypto.randomUUID()),
          position: 7,
          sampleName: "<b>ecoli</b>",
          submitterEmail: "ada@lab.example.org",
          priority: "urgent",
          flowCellType: "R10.4.1",
          status: "failed"
        }
      }
      const deliveries = resolveRecipients(DEFAULT_RULES, ctx.event, { submitterEmail: "ada@lab.example.org", assignees: [tess.id] }, directory)
      const template = templateFor([], "email", ctx.event)
      if (template.channel !== "email") throw new Error("expected an e-mail template")
      const rendered = renderEmail(template, ctx, { appUrl: "https://poretrack.example.org", facilityName: "HTSF" })
      for (const d of deliveries) {
        if (d.recipient._tag === "Email") yield* mailer.send({ to: d.recipient.address, ...rendered, dedupKey: d.key })
      }
      expect(smtp.mails.map((m) => m.envelope.to[0]).sort()).toEqual([
        "ada@lab.example.org",
        "mona@facility.example.org",
        "tess@facility.example.org"
      ])
      for (const m of smtp.mails) {
        expect(m.parsed?.subject).toBe("QC failed: <b>ecoli</b> at Library QC")
        expect(m.parsed?.html).toContain("&lt;b&gt;ecoli&lt;/b&gt;")
        expect(m.parsed?.text).toContain("Reasons: library too dilute: 2 fmol < 10 fmol")
      }
      expect(new Set(smtp.mails.map((m) => m.parsed?.messageId)).size).toBe(3)
    }))

  it.scopedLive("goes to the outbox when no SMTP URL is set", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const mailer = yield* use(Mailer.layer({ from: FROM }).pipe(Layer.provide(MailOutbox.layer(dir)), Layer.provide(NodeContext.layer)))
      expect(mailer.via).toBe("outbox")
      expect((yield* mailer.send(mail())).response).toMatch(/^written to .*\.eml$/)
    }))
})
