/** The local-folder storage: nothing visible until complete, nothing left by a failed write, retention, safe keys. */
import { describe, expect, it } from "@effect/vitest"
import { Data, Effect, Exit, Fiber, Option, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable, Writable } from "node:stream"
import { csvWriter } from "./CsvWriter.ts"
import { EXPORT_COLUMNS, rowOf } from "./ExportColumns.ts"
import { ExportObjectNotFound, InvalidExportKey } from "./ExportErrors.ts"
import { ExportStorage, retentionCutoff } from "./ExportStorage.ts"
import { writeRows } from "./ExportWriter.ts"
import { LocalExportStorage } from "./LocalExportStorage.ts"
import { syntheticSample } from "./SyntheticSamples.ts"

class JobCancelled extends Data.TaggedError("JobCancelled")<{}> {}

/** A fresh folder and the storage over it, for one test. */
const withStorage = <A, E>(f: (dir: string) => Effect.Effect<A, E, ExportStorage>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "poretrack-exports-"))),
    (dir) => f(dir).pipe(Effect.provide(LocalExportStorage({ directory: dir }))),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

/** Every file under `dir`, hidden ones included. */
const filesIn = async (dir: string): Promise<Array<string>> =>
  (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort()

const writeText = (sink: Writable, text: string) =>
  Effect.async<void>((resume) => {
    sink.write(text, () => resume(Effect.void))
  })

const readAll = (stream: Readable) =>
  Effect.promise(async () => {
    const chunks: Array<Buffer> = []
    for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array))
    return Buffer.concat(chunks).toString("utf8")
  })

describe("LocalExportStorage", () => {
  it.live("an export becomes visible under its key only when completely written, and reads back whole", () =>
    withStorage((dir) =>
      Effect.gen(function*() {
        const storage = yield* ExportStorage
        const toRow = rowOf(EXPORT_COLUMNS)
        const { object, result } = yield* storage.write("jobs/job-1.csv", "text/csv", (sink) =>
          Effect.gen(function*() {
            const rows = yield* writeRows(
              csvWriter(EXPORT_COLUMNS, sink),
              Stream.range(0, 1_999).pipe(Stream.rechunk(250), Stream.map((i) => toRow(syntheticSample(i))))
            )
            // Half-way (everything handed to the file, nothing renamed yet): no object, no listing.
            expect(yield* Effect.flip(storage.stat("jobs/job-1.csv"))).toStrictEqual(new ExportObjectNotFound({ key: "jobs/job-1.csv" }))
            expect(yield* storage.listOlderThan(new Date(Date.now() + 86_400_000))).toEqual([])
            return rows
          }))
        expect(result).toBe(2_000)
        expect(object.key).toBe("jobs/job-1.csv")
        expect(object.contentType).toBe("text/csv; charset=utf-8")
        const onDisk = yield* Effect.promise(() => readFile(join(dir, "jobs", "job-1.csv"), "utf8"))
        expect(object.size).toBe(Buffer.byteLength(onDisk))
        expect(onDisk.split("\r\n").length).toBe(2_002)
        const read = yield* Effect.scoped(Effect.flatMap(storage.read("jobs/job-1.csv"), (d) => readAll(d.stream)))
        expect(read).toBe(onDisk)
        expect(yield* Effect.promise(() => filesIn(dir))).toEqual(["job-1.csv"])
        // The local folder cannot presign: downloads are streamed by the authenticated route.
        expect(yield* storage.presign("jobs/job-1.csv")).toEqual(Option.none())
      })
    ))

  it.live("a write that fails or is interrupted leaves nothing: no object, no temporary file", () =>
    withStorage((dir) =>
      Effect.gen(function*() {
        const storage = yield* ExportStorage
        const failed = yield* Effect.exit(storage.write("a.csv", "text/csv", (sink) =>
          Effect.zipRight(writeText(sink, "half a file"), Effect.fail(new JobCancelled()))))
        expect(failed).toStrictEqual(Exit.fail(new JobCancelled()))
        const started = yield* Effect.makeLatch(false)
        const fiber = yield* Effect.fork(storage.write("b.csv", "text/csv", (sink) =>
          Effect.zipRight(Effect.zipRight(writeText(sink, "half a file"), started.open), Effect.never)))
        yield* started.await
        yield* Fiber.interrupt(fiber)
        expect(yield* Effect.flip(storage.stat("a.csv"))).toBeInstanceOf(ExportObjectNotFound)
        expect(yield* Effect.flip(storage.stat("b.csv"))).toBeInstanceOf(ExportObjectNotFound)
        expect(yield* Effect.promise(() => filesIn(dir))).toEqual([])
      })
    ))

  it.live("retention deletes exports older than the cut-off and temporary files of writes that died, and keeps the rest", () =>
    withStorage((dir) =>
      Effect.gen(function*() {
        const storage = yield* ExportStorage
        for (const key of ["old-1.csv", "x/old-2.xlsx", "new.json"]) {
          yield* storage.write(key, "application/octet-stream", (sink) => writeText(sink, key))
        }
        const stale = join(dir, `.dead.csv.${randomUUID()}.part`)
        yield* Effect.promise(() => writeFile(stale, "a write that died"))
        const fortyDaysAgo = new Date(Date.now() - 40 * 86_400_000)
        for (const path of [join(dir, "old-1.csv"), join(dir, "x", "old-2.xlsx"), stale]) {
          yield* Effect.promise(() => utimes(path, fortyDaysAgo, fortyDaysAgo))
        }
        const cutoff = yield* retentionCutoff(30)
        expect((yield* storage.listOlderThan(cutoff)).map((o) => o.key).sort()).toEqual(["old-1.csv", "x/old-2.xlsx"])
        expect([...(yield* storage.deleteOlderThan(cutoff))].sort()).toEqual(["old-1.csv", "x/old-2.xlsx"])
        expect(yield* Effect.promise(() => filesIn(dir))).toEqual(["new.json"])
        expect((yield* storage.stat("new.json")).contentType).toBe("application/json")
        yield* storage.remove("new.json")
        yield* storage.remove("new.json")
        expect(yield* Effect.promise(() => filesIn(dir))).toEqual([])
      })
    ))

  it.live("keys that could leave the folder or name a hidden file are refused", () =>
    withStorage(() =>
      Effect.gen(function*() {
        const storage = yield* ExportStorage
        for (const key of ["../escape.csv", "a/../../b.csv", "/etc/passwd", ".hidden.csv", "a//b.csv", "a/.x.part", "", "a\\b.csv", "é.csv", "x".repeat(513)]) {
          const error = yield* Effect.flip(storage.write(key, "text/csv", () => Effect.void))
          expect(error, key).toBeInstanceOf(InvalidExportKey)
          expect(yield* Effect.flip(storage.stat(key))).toBeInstanceOf(InvalidExportKey)
        }
      })
    ))
})
