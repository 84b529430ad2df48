/**
 * Sends one e-mail to one recipient: over SMTP (nodemailer, a pooled transport configured from a URL such as
 * `smtp://user:pass@mail.example:587`) or, when no SMTP server is configured, into the local outbox folder.
 * Every mail's Message-ID is derived from its de-duplication key, so a resend of the same notification carries the
 * same Message-ID (recognisable by the recipient's mail system, and by the outbox, which then writes nothing).
 * Failures are typed and name the recipient and the reason: an SMTP reply (`SMTP 550 for x@y: …`) or what broke.
 */
import { createHash } from "node:crypto"
import nodemailer from "nodemailer"
import type { SendMailOptions } from "nodemailer"
import { Context, Duration, Effect, Either, Layer, Redacted, Schema } from "effect"
import { Email } from "../../rpc/Workflow.ts"
import { MailOutbox, OutboxMailId } from "./MailOutbox.ts"
import { annotateSpan, fnTraced } from "../fnTraced.ts"

/** One e-mail to one recipient, rendered, with the key that makes it recognisable when sent again. */
export interface OutgoingMail {
  readonly to: string
  readonly subject: string
  readonly html: string
  readonly text: string
  /** The notification's de-duplication key `(event id, rule id, recipient)`; the Message-ID is derived from it. */
  readonly dedupKey: string
}

/** A mail handed over: to the SMTP server (its final reply) or to the outbox (the file). */
export interface MailSent {
  readonly recipient: string
  readonly messageId: string
  readonly via: "smtp" | "outbox"
  /** The SMTP server's final reply, or where the outbox put the file. */
  readonly response: string
  /** False when the outbox already held this very mail (a resend): nothing new was written. */
  readonly created: boolean
}

/** The server refused the mail for this recipient (RCPT TO or DATA): its reply code and text. Permanent on 5xx. */
export class MailRecipientRejected extends Schema.TaggedError<MailRecipientRejected>()("MailRecipientRejected", {
  recipient: Schema.String,
  messageId: Schema.String,
  code: Schema.Number,
  command: Schema.String,
  response: Schema.String,
  permanent: Schema.Boolean
}) {
  override get message(): string {
    return `SMTP ${this.code} for ${this.recipient}: ${this.response}`
  }
}

/** The mail to this recipient could not be handed over at all (connection, time-out, authentication, outbox disk). */
export class MailDeliveryFailed extends Schema.TaggedError<MailDeliveryFailed>()("MailDeliveryFailed", {
  recipient: Schema.String,
  messageId: Schema.String,
  reason: Schema.String,
  /** True when trying again later may work (the server or network was unavailable); false for configuration faults. */
  transient: Schema.Boolean
}) {
  override get message(): string {
    return `could not send to ${this.recipient}: ${this.reason}`
  }
}

/** The recipient is not an e-mail address: nothing was tried. */
export class MailAddressInvalid extends Schema.TaggedError<MailAddressInvalid>()("MailAddressInvalid", {
  recipient: Schema.String
}) {
  override get message(): string {
    return `'${this.recipient}' is not an e-mail address`
  }
}

/** The mail settings are unusable: which setting and why (never the password). */
export class MailConfigInvalid extends Schema.TaggedError<MailConfigInvalid>()("MailConfigInvalid", {
  setting: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.setting}: ${this.reason}`
  }
}

/** Every way a send can fail. */
export type MailError = MailRecipientRejected | MailDeliveryFailed | MailAddressInvalid

/** SMTP connection settings read from an `smtp://` or `smtps://` URL. */
export interface SmtpSettings {
  readonly host: string
  readonly port: number
  /** TLS from the first byte (smtps, port 465); otherwise STARTTLS when the server offers it. */
  readonly secure: boolean
  readonly user?: string
  readonly pass?: Redacted.Redacted<string>
  /** `?requireTLS=true`: refuse to send unless STARTTLS succeeds. */
  readonly requireTLS: boolean
  /** `?ignoreTLS=true`: never STARTTLS (a relay on a trusted network). */
  readonly ignoreTLS: boolean
  /** `?rejectUnauthorized=false`: accept a self-signed certificate. */
  readonly rejectUnauthorized: boolean
}

const bool = (params: URLSearchParams, name: string, fallback: boolean): Either.Either<boolean, MailConfigInvalid> => {
  const v = params.get(name)
  if (v === null) return Either.right(fallback)
  if (v === "true" || v === "1") return Either.right(true)
  if (v === "false" || v === "0") return Either.right(false)
  return Either.left(new MailConfigInvalid({ setting: "SMTP_URL", reason: `${name} must be true or false, not '${v}'` }))
}

/** Reads `smtp://[user[:pass]@]host[:port][?requireTLS=…&ignoreTLS=…&rejectUnauthorized=…]` (or `smtps://`). */
export const parseSmtpUrl = (url: string): Either.Either<SmtpSettings, MailConfigInvalid> => {
  const invalid = (reason: string) => Either.left(new MailConfigInvalid({ setting: "SMTP_URL", reason }))
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return invalid("is not a URL (expected smtp://user:pass@host:587)")
  }
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:") return invalid(`scheme must be smtp or smtps, not ${u.protocol.replace(/:$/, "")}`)
  if (u.hostname === "") return invalid("names no host")
  const secure = u.protocol === "smtps:"
  const port = u.port === "" ? (secure ? 465 : 587) : Number(u.port)
  const flags = Either.all([
    bool(u.searchParams, "requireTLS", false),
    bool(u.searchParams, "ignoreTLS", false),
    bool(u.searchParams, "rejectUnauthorized", true)
  ])
  if (Either.isLeft(flags)) return Either.left(flags.left)
  const [requireTLS, ignoreTLS, rejectUnauthorized] = flags.right
  const user = decodeURIComponent(u.username)
  const pass = decodeURIComponent(u.password)
  return Either.right({
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    secure,
    requireTLS,
    ignoreTLS,
    rejectUnauthorized,
    ...(user !== "" ? { user } : {}),
    ...(pass !== "" ? { pass: Redacted.make(pass) } : {})
  })
}

/** The address inside a From setting (`Facility <noreply@x.org>` or `noreply@x.org`), or none. */
export const addressOf = (from: string): string | undefined => {
  const inBrackets = /<([^<>\s]+)>\s*$/.exec(from)
  const candidate = (inBrackets?.[1] ?? from).trim()
  return Schema.is(Email)(candidate) ? candidate : undefined
}

/** `<32 hex digits of SHA-256(key)>@<domain>`: the same key always gives the same Message-ID (without brackets). */
export const messageIdFor = (dedupKey: string, domain: string): string =>
  `${createHash("sha256").update(dedupKey).digest("hex").slice(0, 32)}@${domain}`

const hashOf = (messageId: string): OutboxMailId => OutboxMailId.make(messageId.slice(0, 32))

/** What the SMTP mailer needs: the URL (it holds the password), the From setting, and pool and time-out sizes. */
export interface SmtpConfig {
  readonly url: Redacted.Redacted<string>
  readonly from: string
  /** Open connections at most (default 5). */
  readonly maxConnections?: number
  /** A send that has not finished by then fails as transient (default 60 s). */
  readonly timeout?: Duration.DurationInput
}

/** What the outbox mailer needs: the From setting (the folder is the MailOutbox's). */
export interface OutboxConfig {
  readonly from: string
}

/** The mail settings as configured: SMTP when `smtpUrl` is set, the outbox otherwise. */
export interface MailConfig {
  readonly smtpUrl?: Redacted.Redacted<string> | undefined
  readonly from: string
  readonly maxConnections?: number
  readonly timeout?: Duration.DurationInput
}

interface NodemailerErrorFields {
  readonly message: string
  readonly code?: string
  readonly command?: string
  readonly response?: string
  readonly responseCode?: number
  readonly recipient?: string
}

const fieldsOf = (e: unknown): NodemailerErrorFields => {
  if (typeof e !== "object" || e === null) return { message: String(e) }
  const get = (k: string): unknown => (k in e ? (e as Record<string, unknown>)[k] : undefined)
  const str = (k: string) => {
    const v = get(k)
    return typeof v === "string" ? v : undefined
  }
  const code = str("code")
  const command = str("command")
  const response = str("response")
  const recipient = str("recipient")
  const responseCode = get("responseCode")
  return {
    message: str("message") ?? String(e),
    ...(code !== undefined ? { code } : {}),
    ...(command !== undefined ? { command } : {}),
    ...(response !== undefined ? { response } : {}),
    ...(recipient !== undefined ? { recipient } : {}),
    ...(typeof responseCode === "number" ? { responseCode } : {})
  }
}

/** Commands whose refusal is about the recipient or the message to them, not about the connection or sender. */
const RECIPIENT_COMMANDS = /^(RCPT TO|DATA|\.|BDAT)/i

/** An SMTP or transport error as a typed error naming `recipient`. */
const classify = (e: unknown, recipient: string, messageId: string, server: string): MailError => {
  const f = fieldsOf(e)
  if (f.responseCode !== undefined && (f.command === undefined || RECIPIENT_COMMANDS.test(f.command) || f.code === "EENVELOPE")) {
    return new MailRecipientRejected({
      recipient: f.recipient ?? recipient,
      messageId,
      code: f.responseCode,
      command: f.command ?? "",
      // The reply without its leading code (the message puts the code first already).
      response: (f.response ?? f.message).trim().replace(/^\d{3}[ -]/, ""),
      permanent: f.responseCode >= 500 && f.responseCode !== 503
    })
  }
  const reply = f.responseCode !== undefined ? ` (SMTP ${f.responseCode}${f.command !== undefined ? ` to ${f.command}` : ""})` : ""
  const what = f.code === "EAUTH"
    ? `authentication at ${server} failed${reply}: ${f.message}`
    : f.code === "ECONNECTION" || f.code === "ESOCKET" || f.code === "EDNS"
    ? `no connection to ${server}: ${f.message}`
    : f.code === "ETIMEDOUT"
    ? `${server} did not answer in time: ${f.message}`
    : `${server}${reply}: ${f.message}`
  const transient = f.code !== "EAUTH" && f.code !== "ENOAUTH" && f.code !== "ECONFIG" &&
    (f.responseCode === undefined || (f.responseCode >= 400 && f.responseCode < 500))
  return new MailDeliveryFailed({ recipient, messageId, reason: `${what}${f.code !== undefined ? ` [${f.code}]` : ""}`, transient })
}

const baseOptions = (from: string, mail: OutgoingMail, messageId: string): SendMailOptions => ({
  from,
  to: mail.to,
  subject: mail.subject,
  html: mail.html,
  text: mail.text,
  messageId: `<${messageId}>`,
  headers: { "Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All" }
})

/** Sends e-mail. */
export class Mailer extends Context.Tag("poretrack/notify/Mailer")<Mailer, {
  /** Where mail goes, for the start-up line: `SMTP mail.example:587 as noreply@…` or `outbox /path`. Never a password. */
  readonly describe: string
  readonly via: "smtp" | "outbox"
  /** Sends one mail to one recipient; the error names the recipient and the reason. */
  readonly send: (mail: OutgoingMail) => Effect.Effect<MailSent, MailError>
}>() {
  /** SMTP through a pooled nodemailer transport, closed with the layer's scope. */
  static smtp = (config: SmtpConfig) =>
    Layer.scoped(
      Mailer,
      Effect.gen(function*() {
        const settings = yield* parseSmtpUrl(Redacted.value(config.url))
        const fromAddress = addressOf(config.from)
        if (fromAddress === undefined) {
          return yield* new MailConfigInvalid({ setting: "MAIL_FROM", reason: `'${config.from}' holds no e-mail address` })
        }
        const domain = fromAddress.slice(fromAddress.lastIndexOf("@") + 1)
        const server = `${settings.host}:${settings.port}`
        const timeout = Duration.decode(config.timeout ?? Duration.seconds(60))
        const transport = yield* Effect.acquireRelease(
          Effect.sync(() =>
            nodemailer.createTransport({
              pool: true,
              host: settings.host,
              port: settings.port,
              secure: settings.secure,
              requireTLS: settings.requireTLS,
              ignoreTLS: settings.ignoreTLS,
              tls: { rejectUnauthorized: settings.rejectUnauthorized },
              maxConnections: config.maxConnections ?? 5,
              maxMessages: Infinity,
              connectionTimeout: 15_000,
              greetingTimeout: 15_000,
              socketTimeout: Duration.toMillis(timeout),
              ...(settings.user !== undefined
                ? { auth: { user: settings.user, pass: settings.pass === undefined ? "" : Redacted.value(settings.pass) } }
                : {})
            })
          ),
          (t) => Effect.sync(() => t.close())
        )

        const send = fnTraced("Mailer.send")(function*(mail: OutgoingMail) {
          yield* annotateSpan({ "mail.recipient": mail.to, "mail.via": "smtp" })
          const messageId = messageIdFor(mail.dedupKey, domain)
          if (!Schema.is(Email)(mail.to)) return yield* new MailAddressInvalid({ recipient: mail.to })
          const info = yield* Effect.tryPromise({
            try: (signal) => transport.sendMail({ ...baseOptions(config.from, mail, messageId), signal }),
            catch: (e) => classify(e, mail.to, messageId, server)
          }).pipe(
            Effect.timeoutFail({
              duration: timeout,
              onTimeout: () =>
                new MailDeliveryFailed({
                  recipient: mail.to,
                  messageId,
                  reason: `${server} did not finish within ${Duration.format(timeout)}`,
                  transient: true
                })
            })
          )
          // With one recipient a refusal is an error above; a server that accepts the message but lists the
          // recipient as rejected is a refusal all the same.
          const refused = info.rejectedErrors?.[0]
          if (info.rejected.length > 0) {
            return yield* refused !== undefined
              ? classify(refused, mail.to, messageId, server)
              : new MailRecipientRejected({
                recipient: mail.to,
                messageId,
                code: 550,
                command: "RCPT TO",
                response: "recipient rejected",
                permanent: true
              })
          }
          return { recipient: mail.to, messageId, via: "smtp", response: info.response, created: true } satisfies MailSent
        })

        return {
          describe: `SMTP ${server}${settings.secure ? " (TLS)" : ""} as ${fromAddress}`,
          via: "smtp",
          send
        } as const
      })
    )

  /** Into the local outbox folder (the MailOutbox service), composed exactly as it would go over SMTP. */
  static outbox = (config: OutboxConfig) =>
    Layer.effect(
      Mailer,
      Effect.gen(function*() {
        const outbox = yield* MailOutbox
        const fromAddress = addressOf(config.from)
        if (fromAddress === undefined) {
          return yield* new MailConfigInvalid({ setting: "MAIL_FROM", reason: `'${config.from}' holds no e-mail address` })
        }
        const domain = fromAddress.slice(fromAddress.lastIndexOf("@") + 1)
        const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" })

        const send = fnTraced("Mailer.send")(function*(mail: OutgoingMail) {
          yield* annotateSpan({ "mail.recipient": mail.to, "mail.via": "outbox" })
          const messageId = messageIdFor(mail.dedupKey, domain)
          if (!Schema.is(Email)(mail.to)) return yield* new MailAddressInvalid({ recipient: mail.to })
          const composed = yield* Effect.tryPromise({
            try: () => composer.sendMail(baseOptions(config.from, mail, messageId)),
            catch: (e) =>
              new MailDeliveryFailed({ recipient: mail.to, messageId, reason: `could not compose the mail: ${fieldsOf(e).message}`, transient: false })
          })
          const raw = composed.message
          if (!Buffer.isBuffer(raw)) {
            return yield* new MailDeliveryFailed({ recipient: mail.to, messageId, reason: "the composer gave no message", transient: false })
          }
          const written = yield* outbox.write(hashOf(messageId), raw).pipe(
            Effect.mapError((e) =>
              new MailDeliveryFailed({ recipient: mail.to, messageId, reason: `outbox: ${e.message}`, transient: true })
            )
          )
          return {
            recipient: mail.to,
            messageId,
            via: "outbox",
            response: written.created ? `written to ${written.path}` : `already in the outbox as ${written.path}`,
            created: written.created
          } satisfies MailSent
        })

        return { describe: `outbox ${outbox.dir} as ${fromAddress}`, via: "outbox", send } as const
      })
    )

  /**
   * SMTP when `smtpUrl` is set, the outbox otherwise. Needs MailOutbox either way: the runtime always provides it, so
   * admins can read what went to the outbox before an SMTP server was configured.
   */
  static layer = (config: MailConfig) =>
    config.smtpUrl === undefined
      ? Mailer.outbox({ from: config.from })
      : Mailer.smtp({
        url: config.smtpUrl,
        from: config.from,
        ...(config.maxConnections !== undefined ? { maxConnections: config.maxConnections } : {}),
        ...(config.timeout !== undefined ? { timeout: config.timeout } : {})
      })
}
