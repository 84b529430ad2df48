/**
 * The local outbox: where e-mail goes when no SMTP server is configured. One `<id>.eml` file per mail (RFC 5322, as
 * it would have gone over SMTP), `<id>` being the hash in its Message-ID, so a resend of the same notification finds
 * its file and writes nothing. Files appear atomically (written beside, synced, then renamed), so a reader never sees
 * half a mail. Admins list and read the outbox through `list` and `read`.
 */
import { FileSystem, Path } from "@effect/platform"
import { access, closeSync, fsync, open, rename, unlink, writeSync } from "node:fs"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { fnTraced } from "../fnTraced.ts"

/** A mail's id in the outbox: 32 lower-case hex digits (the hash part of its Message-ID). */
export const OutboxMailId = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{32}$/, { message: () => "an outbox mail id is 32 hexadecimal digits" }),
  Schema.brand("OutboxMailId")
)
export type OutboxMailId = typeof OutboxMailId.Type

/** One mail as the outbox list shows it (headers decoded). */
export interface OutboxEntry {
  readonly id: OutboxMailId
  readonly messageId: string
  readonly from: string
  readonly to: string
  readonly subject: string
  readonly date: string
  /** When the file was written (epoch ms). */
  readonly writtenAt: number
  readonly size: number
}

/** One mail with its full source. */
export interface OutboxMail extends OutboxEntry {
  readonly raw: string
}

/** The outbox folder could not be written: the path and the operating system's reason. */
export class OutboxWriteFailed extends Schema.TaggedError<OutboxWriteFailed>()("OutboxWriteFailed", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `could not write ${this.path}: ${this.reason}`
  }
}

/** The outbox folder could not be read. */
export class OutboxUnreadable extends Schema.TaggedError<OutboxUnreadable>()("OutboxUnreadable", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `could not read ${this.path}: ${this.reason}`
  }
}

/** 404: no mail with this id is in the outbox. */
export class OutboxMailNotFound extends Schema.TaggedError<OutboxMailNotFound>()("OutboxMailNotFound", {
  id: Schema.String
}) {
  override get message(): string {
    return `no mail ${this.id} in the outbox`
  }
}

const FILE = /^([0-9a-f]{32})\.eml$/

/** Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`) as nodemailer writes them. */
export const decodeHeader = (value: string): string =>
  value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (whole, charset: string, enc: string, text: string) => {
      const bytes = enc.toUpperCase() === "B"
        ? Buffer.from(text, "base64")
        : Buffer.from(
          text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
          "latin1"
        )
      const cs = charset.toLowerCase()
      return cs === "utf-8" || cs === "utf8" ? bytes.toString("utf8") : cs === "iso-8859-1" || cs === "us-ascii" ? bytes.toString("latin1") : whole
    })

/** The header fields of a message source, names lower-cased, folded lines joined, encoded words decoded. */
export const parseHeaders = (raw: string): ReadonlyMap<string, string> => {
  const end = raw.search(/\r?\n\r?\n/)
  const head = (end < 0 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, " ")
  const out = new Map<string, string>()
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    if (!out.has(name)) out.set(name, decodeHeader(line.slice(colon + 1).trim()))
  }
  return out
}

/** Reads and writes the outbox folder. */
export class MailOutbox extends Context.Tag("poretrack/notify/MailOutbox")<MailOutbox, {
  /** The folder, absolute. */
  readonly dir: string
  /** Writes the mail `id` atomically; `created` is false when it was already there (nothing is rewritten). */
  readonly write: (id: OutboxMailId, raw: Uint8Array) => Effect.Effect<{ readonly path: string; readonly created: boolean }, OutboxWriteFailed>
  /** The newest mails first, at most `limit` (default 100). */
  readonly list: (options?: { readonly limit?: number }) => Effect.Effect<ReadonlyArray<OutboxEntry>, OutboxUnreadable>
  /** One mail with its source. */
  readonly read: (id: string) => Effect.Effect<OutboxMail, OutboxMailNotFound | OutboxUnreadable>
}>() {
  /** The outbox in folder `dir` (created when missing). */
  static layer = (dir: string) =>
    Layer.effect(
      MailOutbox,
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const root = path.resolve(dir)
        const fileOf = (id: string) => path.join(root, `${id}.eml`)
        yield* fs.makeDirectory(root, { recursive: true }).pipe(
          Effect.mapError((e) => new OutboxWriteFailed({ path: root, reason: e.message }))
        )

        /**
         * One chain of node:fs callbacks per mail: is it there, create, write, sync, close, rename. The calls that touch
         * the folder (which can wait on the file system's journal while other mails are synced) and the sync go to
         * libuv's thread pool; writing the bytes into the page cache and closing the file are made synchronously, on
         * the open file only (each hand-over to the pool and back cost ~40 µs of CPU on the 2-core benchmark
         * machine). Same files, same order, same guarantees: the mail is complete and on disk before its name appears.
         */
        const write = fnTraced("MailOutbox.write")(function*(id: OutboxMailId, raw: Uint8Array) {
          const target = fileOf(id)
          const tmp = path.join(root, `.${id}.${crypto.randomUUID()}.tmp`)
          // Not interruptible once asked for: the callbacks close the file and finish or undo the write, whatever
          // happens to the caller.
          return yield* Effect.async<{ readonly path: string; readonly created: boolean }, OutboxWriteFailed>((resume) => {
            const fail = (e: NodeJS.ErrnoException | Error, created: boolean) => {
              const failed = () => resume(Effect.fail(new OutboxWriteFailed({ path: target, reason: e.message })))
              if (created) unlink(tmp, failed)
              else failed()
            }
            access(target, (missing) => {
              if (missing === null) return resume(Effect.succeed({ path: target, created: false }))
              if (missing.code !== "ENOENT") return fail(missing, false)
              open(tmp, "wx", (opened, fd) => {
                if (opened !== null) return fail(opened, false)
                try {
                  for (let at = 0; at < raw.byteLength;) at += writeSync(fd, raw, at)
                } catch (e) {
                  closeSync(fd)
                  return fail(e as Error, true)
                }
                fsync(fd, (synced) => {
                  try {
                    closeSync(fd)
                  } catch (e) {
                    return fail(e as Error, true)
                  }
                  if (synced !== null) return fail(synced, true)
                  rename(tmp, target, (renamed) => {
                    if (renamed !== null) return fail(renamed, true)
                    resume(Effect.succeed({ path: target, created: true }))
                  })
                })
              })
            })
          })
        })

        const entryOf = (id: OutboxMailId, raw: string, writtenAt: number, size: number): OutboxEntry => {
          const h = parseHeaders(raw)
          return {
            id,
            messageId: h.get("message-id") ?? "",
            from: h.get("from") ?? "",
            to: h.get("to") ?? "",
            subject: h.get("subject") ?? "",
            date: h.get("date") ?? "",
            writtenAt,
            size
          }
        }

        const unreadable = (p: string) => (e: { readonly message: string }) => new OutboxUnreadable({ path: p, reason: e.message })

        const list = Effect.fn("MailOutbox.list")(function*(options?: { readonly limit?: number }) {
          const names = yield* fs.readDirectory(root).pipe(Effect.mapError(unreadable(root)))
          const files = yield* Effect.forEach(
            names.flatMap((n) => {
              const m = FILE.exec(n)
              return m === null ? [] : [OutboxMailId.make(m[1]!)]
            }),
            (id) =>
              fs.stat(fileOf(id)).pipe(
                Effect.map((info) => Option.some({ id, writtenAt: Option.getOrElse(info.mtime, () => new Date(0)).getTime(), size: Number(info.size) })),
                // Removed between listing and stat (an admin cleaning up): not an error, just gone.
                Effect.catchIf(
                  (e) => e._tag === "SystemError" && e.reason === "NotFound",
                  () => Effect.succeed(Option.none())
                ),
                Effect.mapError(unreadable(fileOf(id)))
              ),
            { concurrency: 8 }
          )
          const newest = files.flatMap(Option.toArray).sort((a, b) => b.writtenAt - a.writtenAt || a.id.localeCompare(b.id))
            .slice(0, Math.max(0, options?.limit ?? 100))
          return yield* Effect.forEach(newest, (f) =>
            fs.readFileString(fileOf(f.id)).pipe(
              Effect.map((raw) => entryOf(f.id, raw, f.writtenAt, f.size)),
              Effect.mapError(unreadable(fileOf(f.id)))
            ), { concurrency: 8 })
        })

        const read = Effect.fn("MailOutbox.read")(function*(id: string) {
          if (!Schema.is(OutboxMailId)(id)) return yield* new OutboxMailNotFound({ id })
          const file = fileOf(id)
          const info = yield* fs.stat(file).pipe(
            Effect.mapError((e) =>
              e._tag === "SystemError" && e.reason === "NotFound" ? new OutboxMailNotFound({ id }) : unreadable(file)(e)
            )
          )
          const raw = yield* fs.readFileString(file).pipe(Effect.mapError(unreadable(file)))
          return { ...entryOf(id, raw, Option.getOrElse(info.mtime, () => new Date(0)).getTime(), Number(info.size)), raw }
        })

        return { dir: root, write, list, read }
      })
    )
}
