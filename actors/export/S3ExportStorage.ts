/**
 * Export storage in an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage …) through @aws-sdk/client-s3. Files are
 * streamed up with @aws-sdk/lib-storage's Upload: multipart in parts of `partSizeBytes` (at most `queueSize` parts in
 * memory), a single PUT when the whole file fits in one part. Either way the object appears only when the upload
 * completes, and a failed or interrupted write aborts the upload, so no half-written object is ever visible. (Parts an
 * aborted upload could not clean up, e.g. when the process is killed, are for the bucket's "abort incomplete multipart
 * uploads" lifecycle rule: docs/exports.md.) Downloads are short-lived presigned GET URLs.
 *
 * Checksums: recent AWS SDKs add CRC32 checksums to every request and validate them on responses by default, which
 * several S3-compatible servers refuse; by default this storage sends them only where the S3 API requires them
 * (`checksums: "when_required"`); `"when_supported"` restores the SDK's default for AWS itself.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { getSignedUrl } from "@aws-sdk/s3-request-presigner"
import { Clock, Effect, Layer, Option, Redacted } from "effect"
import { PassThrough, Readable, type Writable } from "node:stream"
import { ExportObjectNotFound, ExportStorageFailed } from "./ExportErrors.ts"
import {
  checkKey,
  ExportStorage,
  type ExportStorageShape,
  type PresignOptions,
  type StoredExport
} from "./ExportStorage.ts"

/** The bucket's settings (read in runtime/Config.ts and passed here). */
export interface S3ExportStorageConfig {
  readonly bucket: string
  readonly region: string
  /** The endpoint of an S3-compatible server (e.g. `http://127.0.0.1:9000`); none for AWS S3 itself. */
  readonly endpoint?: string | undefined
  /** Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need (default false). */
  readonly forcePathStyle?: boolean | undefined
  /** Static credentials; without them the SDK's default chain (environment, profile, instance role) is used. */
  readonly credentials?: {
    readonly accessKeyId: string
    readonly secretAccessKey: Redacted.Redacted<string>
    readonly sessionToken?: Redacted.Redacted<string> | undefined
  } | undefined
  /** A key prefix inside the bucket (e.g. `exports/`), so the bucket can hold other things. */
  readonly prefix?: string | undefined
  /** Multipart part size in bytes (default 8 MiB; S3's minimum is 5 MiB). */
  readonly partSizeBytes?: number | undefined
  /** Parts uploaded at once (default 2): memory is about `partSizeBytes × (queueSize + 1)`. */
  readonly queueSize?: number | undefined
  /** How long a presigned URL lives unless asked otherwise (default 300 s; at most 7 days). */
  readonly presignExpiresInSeconds?: number | undefined
  /** When to send and check CRC checksums (default "when_required": see above). */
  readonly checksums?: "when_required" | "when_supported" | undefined
}

const MIB = 1024 * 1024
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600

const messageOf = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))
const isNotFound = (e: unknown): boolean =>
  e instanceof S3ServiceException && (e.$metadata.httpStatusCode === 404 || e.name === "NotFound" || e.name === "NoSuchKey")

/** A Content-Disposition that names the file for any browser (ASCII fallback plus RFC 5987 UTF-8 name). */
const attachment = (filename: string): string => {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_")
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`
}

/** The S3 storage over one bucket; the client is destroyed when the scope closes. */
export const makeS3ExportStorage = Effect.fn("S3ExportStorage.make")(function*(config: S3ExportStorageConfig) {
  const checksums = config.checksums === "when_supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED"
  const client = yield* Effect.acquireRelease(
    Effect.sync(() =>
      new S3Client({
        region: config.region,
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
        forcePathStyle: config.forcePathStyle ?? false,
        ...(config.credentials === undefined ? {} : {
          credentials: {
            accessKeyId: config.credentials.accessKeyId,
            secretAccessKey: Redacted.value(config.credentials.secretAccessKey),
            ...(config.credentials.sessionToken === undefined ? {} : { sessionToken: Redacted.value(config.credentials.sessionToken) })
          }
        }),
        requestChecksumCalculation: checksums,
        responseChecksumValidation: checksums
      })
    ),
    (c) => Effect.sync(() => c.destroy())
  )
  const bucket = config.bucket
  const prefix = config.prefix ?? ""
  const partSize = Math.max(5 * MIB, config.partSizeBytes ?? 8 * MIB)
  const queueSize = Math.max(1, config.queueSize ?? 2)
  const objectKey = (key: string) => prefix + key

  const statKey = Effect.fn("ExportStorage.stat")(function*(key: string) {
    yield* checkKey(key)
    const head = yield* Effect.tryPromise({
      try: (signal) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }), { abortSignal: signal }),
      catch: (e) => (isNotFound(e) ? new ExportObjectNotFound({ key }) : new ExportStorageFailed({ operation: "stat", key, message: messageOf(e) }))
    })
    return {
      key,
      size: head.ContentLength ?? 0,
      contentType: head.ContentType ?? "application/octet-stream",
      lastModified: head.LastModified ?? new Date(0)
    } satisfies StoredExport
  })

  const write = <A, E, R>(key: string, contentType: string, body: (sink: Writable) => Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      yield* checkKey(key)
      const failed = (e: unknown) => new ExportStorageFailed({ operation: "write", key, message: messageOf(e) })
      const result = yield* Effect.acquireUseRelease(
        Effect.sync(() => {
          const sink = new PassThrough({ highWaterMark: MIB })
          const upload = new Upload({
            client,
            params: { Bucket: bucket, Key: objectKey(key), Body: sink, ContentType: contentType },
            partSize,
            queueSize,
            leavePartsOnError: false
          })
          // Started at once (it reads the sink as the body writes into it) and observed, so that an early failure
          // is not an unhandled rejection before it is awaited.
          const done = upload.done()
          done.catch(() => undefined)
          return { sink, upload, done }
        }),
        ({ done, sink }) =>
          Effect.gen(function*() {
            const result = yield* body(sink)
            sink.end()
            yield* Effect.tryPromise({ try: () => done, catch: failed })
            return result
          }),
        ({ sink, upload }, exit) =>
          exit._tag === "Success"
            ? Effect.void
            : Effect.promise(async () => {
              // Abort first, then end the body so that the uploader's loop finishes and aborts the multipart upload.
              await upload.abort()
              sink.end()
            })
      )
      const object = yield* statKey(key).pipe(
        Effect.catchTag("ExportObjectNotFound", () => Effect.fail(failed(new Error("the object is missing right after its upload completed"))))
      )
      return { object, result }
    }).pipe(Effect.withSpan("ExportStorage.write", { attributes: { key, storage: "s3" } }))

  const read = Effect.fn("ExportStorage.read")(function*(key: string) {
    yield* checkKey(key)
    const out = yield* Effect.tryPromise({
      try: () => client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) })),
      catch: (e) => (isNotFound(e) ? new ExportObjectNotFound({ key }) : new ExportStorageFailed({ operation: "read", key, message: messageOf(e) }))
    })
    const body = out.Body
    if (!(body instanceof Readable)) {
      return yield* new ExportStorageFailed({ operation: "read", key, message: "the object's body is not a Node stream" })
    }
    const stream = yield* Effect.acquireRelease(Effect.succeed(body), (s) => Effect.sync(() => s.destroy()))
    return {
      key,
      size: out.ContentLength ?? 0,
      contentType: out.ContentType ?? "application/octet-stream",
      lastModified: out.LastModified ?? new Date(0),
      stream
    }
  })

  const presign = Effect.fn("ExportStorage.presign")(function*(key: string, options?: PresignOptions) {
    const object = yield* statKey(key)
    const seconds = Math.min(MAX_PRESIGN_SECONDS, Math.max(1, Math.floor(options?.expiresInSeconds ?? config.presignExpiresInSeconds ?? 300)))
    const now = yield* Clock.currentTimeMillis
    const url = yield* Effect.tryPromise({
      try: () =>
        getSignedUrl(
          client,
          new GetObjectCommand({
            Bucket: bucket,
            Key: objectKey(key),
            ResponseContentType: object.contentType,
            ...(options?.filename === undefined ? {} : { ResponseContentDisposition: attachment(options.filename) })
          }),
          { expiresIn: seconds, signingDate: new Date(now) }
        ),
      catch: (e) => new ExportStorageFailed({ operation: "presign", key, message: messageOf(e) })
    })
    return Option.some({ url, expiresAt: new Date(now + seconds * 1000) })
  })

  const remove = Effect.fn("ExportStorage.remove")(function*(key: string) {
    yield* checkKey(key)
    yield* Effect.tryPromise({
      try: () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) })),
      catch: (e) => new ExportStorageFailed({ operation: "delete", key, message: messageOf(e) })
    })
  })

  /** Every object under the prefix, page by page (1,000 a page). */
  const listAll = Effect.gen(function*() {
    const out: Array<StoredExport> = []
    let token: string | undefined
    do {
      const page = yield* Effect.tryPromise({
        try: () =>
          client.send(new ListObjectsV2Command({
            Bucket: bucket,
            ...(prefix === "" ? {} : { Prefix: prefix }),
            ...(token === undefined ? {} : { ContinuationToken: token })
          })),
        catch: (e) => new ExportStorageFailed({ operation: "list", key: prefix, message: messageOf(e) })
      })
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(prefix)) continue
        out.push({
          key: o.Key.slice(prefix.length),
          size: o.Size ?? 0,
          contentType: "application/octet-stream",
          lastModified: o.LastModified ?? new Date(0)
        })
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined
    } while (token !== undefined)
    return out
  })

  const listOlderThan = Effect.fn("ExportStorage.listOlderThan")(function*(cutoff: Date) {
    const all = yield* listAll
    return all.filter((o) => o.lastModified.getTime() < cutoff.getTime()).sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime())
  })

  const deleteOlderThan = Effect.fn("ExportStorage.deleteOlderThan")(function*(cutoff: Date) {
    const old = yield* listOlderThan(cutoff)
    const deleted: Array<string> = []
    for (let i = 0; i < old.length; i += 1000) {
      const batch = old.slice(i, i + 1000)
      const out = yield* Effect.tryPromise({
        try: () =>
          client.send(new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((o) => ({ Key: objectKey(o.key) })), Quiet: false }
          })),
        catch: (e) => new ExportStorageFailed({ operation: "delete", key: batch[0]?.key ?? "", message: messageOf(e) })
      })
      const failure = out.Errors?.[0]
      if (failure !== undefined) {
        return yield* new ExportStorageFailed({
          operation: "delete",
          key: (failure.Key ?? "").slice(prefix.length),
          message: `${failure.Code ?? "error"}: ${failure.Message ?? "not deleted"}`
        })
      }
      for (const d of out.Deleted ?? []) if (d.Key !== undefined) deleted.push(d.Key.slice(prefix.length))
    }
    return deleted
  })

  return ExportStorage.of({
    kind: "s3",
    write,
    stat: statKey,
    read,
    presign,
    remove,
    listOlderThan,
    deleteOlderThan
  } satisfies ExportStorageShape)
})

/** ExportStorage over an S3-compatible bucket. */
export const S3ExportStorage = (config: S3ExportStorageConfig): Layer.Layer<ExportStorage> =>
  Layer.scoped(ExportStorage, makeS3ExportStorage(config))
