/**
 * A real SMTP server for tests and benchmarks (npm `smtp-server`) on 127.0.0.1 and a random port: plain text (no
 * STARTTLS), authentication optional but checked when offered, recipients refused on demand with a given reply code,
 * and every accepted mail kept with its envelope and, unless `parse` is off, parsed back by `mailparser`.
 */
import { simpleParser, type ParsedMail } from "mailparser"
import { SMTPServer } from "smtp-server"
import { Effect } from "effect"

/** One mail the server accepted. */
export interface ReceivedMail {
  readonly envelope: { readonly from: string; readonly to: ReadonlyArray<string> }
  /** The user that authenticated for it, if any. */
  readonly user: string | undefined
  readonly raw: Buffer
  /** The mail parsed back (absent when the receiver was started with `parse: false`). */
  readonly parsed: ParsedMail | undefined
}

export interface SmtpReceiverOptions {
  /** A reply code (e.g. 550) for a recipient the server refuses at RCPT TO, undefined to accept. */
  readonly refuse?: (address: string) => number | undefined
  /** The only user and password accepted when a client authenticates. */
  readonly credentials?: { readonly user: string; readonly pass: string }
  readonly parse?: boolean
}

/** Starts the receiver for the scope; `mails` fills as mails arrive (before the client sees its 250 reply). */
export const smtpReceiver = (options: SmtpReceiverOptions = {}) =>
  Effect.acquireRelease(
    Effect.async<{ readonly port: number; readonly mails: Array<ReceivedMail>; readonly server: SMTPServer }>((resume) => {
      const mails: Array<ReceivedMail> = []
      const server = new SMTPServer({
        authOptional: true,
        allowInsecureAuth: true,
        disabledCommands: ["STARTTLS"],
        logger: false,
        size: 10 * 1024 * 1024,
        onAuth(auth, _session, callback) {
          const c = options.credentials
          if (c === undefined || (auth.username === c.user && auth.password === c.pass)) {
            callback(null, { user: auth.username })
          } else {
            callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }))
          }
        },
        onRcptTo(address, _session, callback) {
          const code = options.refuse?.(address.address)
          if (code === undefined) callback()
          else callback(Object.assign(new Error(`5.1.1 <${address.address}>: mailbox unavailable`), { responseCode: code }))
        },
        onData(stream, session, callback) {
          const chunks: Array<Buffer> = []
          stream.on("data", (c: Buffer) => chunks.push(c))
          stream.on("end", () => {
            const raw = Buffer.concat(chunks)
            const envelope = {
              from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
              to: session.envelope.rcptTo.map((r) => r.address)
            }
            const user = typeof session.user === "string" ? session.user : undefined
            if (options.parse === false) {
              mails.push({ envelope, user, raw, parsed: undefined })
              callback()
              return
            }
            simpleParser(raw).then(
              (parsed) => {
                mails.push({ envelope, user, raw, parsed })
                callback()
              },
              (e: unknown) => callback(e instanceof Error ? e : new Error(String(e)))
            )
          })
        }
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ port, mails, server }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => server.close(() => resume(Effect.void)))
  )
