/**
 * Export storage in a local folder (the single-process default when no S3 endpoint is set). A write goes to a hidden
 * temporary file `.<name>.<uuid>.part` beside its target, is flushed to disk, and is renamed to the key's path only
 * when complete: rename is atomic, so a reader sees the whole file or none, and a write that dies leaves only a
 * temporary file that no key can name (keys never start with `.`) and that retention removes. Downloads are streams
 * (no presigned URLs): the HTTP layer authenticates the caller and pipes `read`'s stream.
 */
import { Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import { mkdir, readdir, rename, rm, stat, unlink } from "node:fs/promises"
import { basename, dirname, join, relative, sep } from "node:path"
import type { Writable } from "node:stream"
import { ExportObjectNotFound, ExportStorageFailed } from "./ExportErrors.ts"
import { checkKey, ExportStorage, type ExportStorageShape, type StoredExport } from "./ExportStorage.ts"

/** The local folder's settings. */
export interface LocalExportStorageConfig {
  /** The folder exports are kept in (created when missing). */
  readonly directory: string
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  csv: "text/csv; charset=utf-8",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  json: "application/json",
  ndjson: "application/x-ndjson",
  xml: "application/xml"
}
/** The media type of a stored file, from its extension (the folder keeps no metadata beside the bytes). */
const contentTypeOf = (key: string): string => CONTENT_TYPES[key.slice(key.lastIndexOf(".") + 1).toLowerCase()] ?? "application/octet-stream"

const TEMP = /^\..+\.[0-9a-f-]{36}\.part$/

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))
const codeOf = (e: unknown): unknown => (typeof e === "object" && e !== null ? Reflect.get(e, "code") : undefined)

/** Resolves when the file stream has flushed, synced and closed; rejects on its error. */
const closed = (out: Writable): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    out.once("error", reject)
    out.once("close", resolve)
    out.end()
  })

/** Every regular file under `dir`, recursively, as paths relative to it. */
const walk = async (dir: string, base = dir): Promise<Array<string>> => {
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: unknown) => {
    if (codeOf(e) === "ENOENT") return []
    throw e
  })
  const out: Array<string> = []
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await walk(path, base)))
    else if (e.isFile()) out.push(relative(base, path))
  }
  return out
}

/** The local-folder storage over `config.directory`. */
export const makeLocalExportStorage = Effect.fn("LocalExportStorage.make")(function*(config: LocalExportStorageConfig) {
  const root = config.directory
  yield* Effect.tryPromise({
    try: () => mkdir(root, { recursive: true }),
    catch: (e) => new ExportStorageFailed({ operation: "write", key: "", message: `cannot create ${root}: ${messageOf(e)}` })
  })
  const pathOf = (key: string) => join(root, ...key.split("/"))
  const keyOf = (rel: string) => rel.split(sep).join("/")

  const statKey = Effect.fn("ExportStorage.stat")(function*(key: string) {
    yield* checkKey(key)
    const s = yield* Effect.tryPromise({
      try: () => stat(pathOf(key)),
      catch: (e) =>
        codeOf(e) === "ENOENT" || codeOf(e) === "ENOTDIR"
          ? new ExportObjectNotFound({ key })
          : new ExportStorageFailed({ operation: "stat", key, message: messageOf(e) })
    })
    if (!s.isFile()) return yield* new ExportObjectNotFound({ key })
    return { key, size: s.size, contentType: contentTypeOf(key), lastModified: s.mtime } satisfies StoredExport
  })

  const write = <A, E, R>(key: string, _contentType: string, body: (sink: Writable) => Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      yield* checkKey(key)
      const target = pathOf(key)
      const temp = join(dirname(target), `.${basename(target)}.${randomUUID()}.part`)
      const failed = (e: unknown) => new ExportStorageFailed({ operation: "write", key, message: messageOf(e) })
      yield* Effect.tryPromise({ try: () => mkdir(dirname(target), { recursive: true }), catch: failed })
      const result = yield* Effect.acquireUseRelease(
        Effect.sync(() => createWriteStream(temp, { flags: "wx", flush: true })),
        (sink) =>
          Effect.gen(function*() {
            const result = yield* body(sink)
            yield* Effect.tryPromise({ try: () => closed(sink), catch: failed })
            yield* Effect.tryPromise({ try: () => rename(temp, target), catch: failed })
            return result
          }),
        (sink, exit) =>
          exit._tag === "Success"
            ? Effect.void
            : Effect.promise(async () => {
              sink.destroy()
              await unlink(temp).catch(() => undefined)
            })
      )
      const object = yield* statKey(key).pipe(
        Effect.catchTag("ExportObjectNotFound", () => Effect.fail(failed(new Error("the file vanished right after it was written"))))
      )
      return { object, result }
    }).pipe(Effect.withSpan("ExportStorage.write", { attributes: { key, storage: "local" } }))

  const read = Effect.fn("ExportStorage.read")(function*(key: string) {
    const object = yield* statKey(key)
    const stream = yield* Effect.acquireRelease(
      Effect.sync(() => createReadStream(pathOf(key))),
      (s) => Effect.sync(() => s.destroy())
    )
    return { ...object, stream }
  })

  const presign = Effect.fn("ExportStorage.presign")(function*(key: string) {
    yield* statKey(key)
    return Option.none()
  })

  const remove = Effect.fn("ExportStorage.remove")(function*(key: string) {
    yield* checkKey(key)
    yield* Effect.tryPromise({
      try: () => rm(pathOf(key), { force: true }),
      catch: (e) => new ExportStorageFailed({ operation: "delete", key, message: messageOf(e) })
    })
  })

  /** Every file with its time: stored objects, and temporary files of unfinished writes. */
  const files = Effect.tryPromise({
    try: async () => {
      const rels = await walk(root)
      const found = await Promise.all(rels.map(async (rel) => {
        const s = await stat(join(root, rel)).catch(() => undefined)
        return s === undefined ? [] : [{ rel, temp: TEMP.test(basename(rel)), size: s.size, mtime: s.mtime }]
      }))
      return found.flat()
    },
    catch: (e) => new ExportStorageFailed({ operation: "list", key: "", message: messageOf(e) })
  })

  const listOlderThan = Effect.fn("ExportStorage.listOlderThan")(function*(cutoff: Date) {
    const all = yield* files
    return all
      .filter((f) => !f.temp && f.mtime.getTime() < cutoff.getTime())
      .sort((a, b) => a.mtime.getTime() - b.mtime.getTime())
      .map((f): StoredExport => ({ key: keyOf(f.rel), size: f.size, contentType: contentTypeOf(f.rel), lastModified: f.mtime }))
  })

  const deleteOlderThan = Effect.fn("ExportStorage.deleteOlderThan")(function*(cutoff: Date) {
    const all = yield* files
    const old = all.filter((f) => f.mtime.getTime() < cutoff.getTime())
    yield* Effect.forEach(old, (f) =>
      Effect.tryPromise({
        try: () => rm(join(root, f.rel), { force: true }),
        catch: (e) => new ExportStorageFailed({ operation: "delete", key: keyOf(f.rel), message: messageOf(e) })
      }), { concurrency: 8, discard: true })
    return old.filter((f) => !f.temp).map((f) => keyOf(f.rel))
  })

  return ExportStorage.of({
    kind: "local",
    write,
    stat: statKey,
    read,
    presign,
    remove,
    listOlderThan,
    deleteOlderThan
  } satisfies ExportStorageShape)
})

/** ExportStorage over a local folder. */
export const LocalExportStorage = (config: LocalExportStorageConfig): Layer.Layer<ExportStorage, ExportStorageFailed> =>
  Layer.effect(ExportStorage, makeLocalExportStorage(config))
