/**
 * The S3 storage against a real S3 protocol server (s3rver, started here on 127.0.0.1 with a random port and a temp
 * folder): multipart upload of a file over 5 MiB, presigned downloads fetched over HTTP, nothing visible before
 * completion or after a failure, retention.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Data, Effect, Exit, Layer, Option, Redacted, Stream, TestClock, TestContext } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable, Writable } from "node:stream"
import Papa from "papaparse"
import S3rver from "s3rver"
import { csvWriter } from "./CsvWriter.ts"
import { EXPORT_COLUMNS, rowOf } from "./ExportColumns.ts"
import { ExportObjectNotFound } from "./ExportErrors.ts"
import { ExportStorage } from "./ExportStorage.ts"
import { writeRows } from "./ExportWriter.ts"
import { S3ExportStorage } from "./S3ExportStorage.ts"
import { syntheticSample } from "./SyntheticSamples.ts"

const MIB = 1024 * 1024

/** The running s3rver: its endpoint and the S3 events it emitted (which tell a multipart upload from a PUT). */
class S3Server extends Context.Tag("test/S3Server")<S3Server, { readonly endpoint: string; readonly events: Array<string> }>() {}

const S3ServerLive = Layer.scoped(
  S3Server,
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "poretrack-s3rver-"))),
      (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
    )
    const events: Array<string> = []
    const server = new S3rver({ address: "127.0.0.1", port: 0, directory: dir, silent: true, configureBuckets: [{ name: "exports" }] })
    server.on("event", (e) => events.push(`${e.Records[0]?.eventName} ${e.Records[0]?.s3.object.key}`))
    const { port } = yield* Effect.acquireRelease(Effect.promise(() => server.run()), () => Effect.promise(() => server.close()))
    return { endpoint: `http://127.0.0.1:${port}`, events }
  })
)

const StorageLive = Layer.unwrapEffect(Effect.map(S3Server, ({ endpoint }) =>
  S3ExportStorage({
    bucket: "exports",
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: Redacted.make("S3RVER") },
    prefix: "poretrack/",
    partSizeBytes: 5 * MIB,
    presignExpiresInSeconds: 60
  })))

class JobCancelled extends Data.TaggedError("JobCancelled")<{}> {}

const writeText = (sink: Writable, text: string) =>
  Effect.async<void>((resume) => {
    sink.write(text, () => resume(Effect.void))
  })

const readAll = (stream: Readable) =>
  Effect.promise(async () => {
    const chunks: Array<Buffer> = []
    for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array))
    return Buffer.concat(chunks)
  })

describe("S3ExportStorage", () => {
  layer(Layer.provideMerge(StorageLive, S3ServerLive), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("a CSV export over 5 MiB goes up as a multipart upload, is invisible until complete, and downloads whole by a presigned URL", () =>
      Effect.gen(function*() {
        const storage = yield* ExportStorage
        const server = yield* S3Server
        const toRow = rowOf(EXPORT_COLUMNS)
        const count = 12_000
        const { object, result } = yield* storage.write("jobs/big.csv", "text/csv; charset=utf-8", (sink) =>
          Effect.gen(function*() {
            const rows = yield* writeRows(
              csvWriter(EXPORT_COLUMNS, sink),
              Stream.range(0, count - 1).pipe(Stream.rechunk(500), Stream.map((i) => toRow(syntheticSample(i))))
            )
            // Every row handed to the upload, the upload not completed: no object under the key.
            expect(yield* Effect.flip(storage.stat("jobs/big.csv"))).toStrictEqual(new ExportObjectNotFound({ key: "jobs/big.csv" }))
            return rows
          }))
        expect(result).toBe(count)
        expect(object.size).toBeGreaterThan(5 * MIB)
        expect(object.contentType).toBe("text/csv; charset=utf-8")
        expect(server.events).toContain("ObjectCreated:Post poretrack/jobs/big.csv")

        const link = yield* storage.presign("jobs/big.csv", { filename: "samples 2025-01-06.csv" })
        const { url, expiresAt } = Option.getOrThrow(link)
        expect(url.startsWith(`${server.endpoint}/exports/poretrack/jobs/big.csv?`)).toBe(true)
        expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe("60")
        expect(Math.abs(expiresAt.getTime() - (Date.now() + 60_000))).toBeLessThan(10_000)
        const response = yield* Effect.promise(() => fetch(url))
        expect(response.status).toBe(200)
        expect(response.headers.get("content-disposition")).toBe("attachment; filename=\"samples 2025-01-06.csv\"; filename*=UTF-8''samples%202025-01-06.csv")
        const body = Buffer.from(yield* Effect.promise(() => response.arrayBuffer()))
        expect(body.length).toBe(object.size)
        const parsed = Papa.parse<Array<string>>(body.toString("utf8"), { newline: "\r\n", skipEmptyLines: true })
        expect(parsed.errors).toEqual([])
        expect(parsed.data.length).toBe(count + 1)
        expect(parsed.data[count]![0]).toBe(syntheticSample(count - 1).state.id)

        // The same bytes through the stream API.
        const streamed = yield* Effect.scoped(Effect.flatMap(storage.read("jobs/big.csv"), (d) => readAll(d.stream)))
        expect(streamed.equals(body)).toBe(true)
        // Short-lived: a link signed two minutes ago (by the test clock) for 60 s is refused as expired.
        const old = yield* Effect.gen(function*() {
          yield* TestClock.setTime(Date.now() - 120_000)
          return yield* storage.presign("jobs/big.csv", { expiresInSeconds: 60 })
        }).pipe(Effect.provide(TestContext.TestContext))
        const expired = yield* Effect.promise(() => fetch(Option.getOrThrow(old).url))
        expect(expired.status).toBe(403)
        expect(yield* Effect.promise(() => expired.text())).toContain("Request has expired")
      }))

    it.effect("a small export is one PUT; a failed or interrupted write leaves no object; missing objects are ExportObjectNotFound", () =>
      Effect.gen(function*() {
        const storage = yield* ExportStorage
        const server = yield* S3Server
        const { object } = yield* storage.write("small.json", "application/json", (sink) => writeText(sink, "[]\n"))
        expect(object).toMatchObject({ key: "small.json", size: 3, contentType: "application/json" })
        expect(server.events).toContain("ObjectCreated:Put poretrack/small.json")

        const failed = yield* Effect.exit(storage.write("failed.csv", "text/csv", (sink) =>
          Effect.zipRight(writeText(sink, "x".repeat(6 * MIB)), Effect.fail(new JobCancelled()))))
        expect(failed).toStrictEqual(Exit.fail(new JobCancelled()))
        const interrupted = yield* Effect.exit(Effect.timeoutFail(
          storage.write("interrupted.csv", "text/csv", (sink) => Effect.zipRight(writeText(sink, "y".repeat(MIB)), Effect.never)),
          { duration: "1 second", onTimeout: () => new JobCancelled() }
        ))
        expect(interrupted).toStrictEqual(Exit.fail(new JobCancelled()))
        for (const key of ["failed.csv", "interrupted.csv", "never-written.csv"]) {
          expect(yield* Effect.flip(storage.stat(key))).toStrictEqual(new ExportObjectNotFound({ key }))
          expect(yield* Effect.flip(storage.presign(key))).toStrictEqual(new ExportObjectNotFound({ key }))
        }
        expect(server.events.filter((e) => e.includes("failed.csv") || e.includes("interrupted.csv"))).toEqual([])
      }))

    it.effect("retention lists and deletes exports older than the cut-off and keeps newer ones", () =>
      Effect.gen(function*() {
        const storage = yield* ExportStorage
        for (const key of ["r/one.csv", "r/two.xlsx"]) yield* storage.write(key, "text/csv", (sink) => writeText(sink, key))
        const past = new Date(Date.now() - 86_400_000)
        expect(yield* storage.deleteOlderThan(past)).toEqual([])
        const future = new Date(Date.now() + 86_400_000)
        const listed = (yield* storage.listOlderThan(future)).map((o) => o.key)
        expect(listed).toEqual(expect.arrayContaining(["r/one.csv", "r/two.xlsx"]))
        const deleted = yield* storage.deleteOlderThan(future)
        expect([...deleted].sort()).toEqual([...listed].sort())
        expect(yield* storage.listOlderThan(future)).toEqual([])
        expect(yield* Effect.flip(storage.stat("r/one.csv"))).toBeInstanceOf(ExportObjectNotFound)
        yield* storage.remove("r/one.csv")
      }))
  })
})
