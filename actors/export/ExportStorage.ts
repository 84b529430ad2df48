/**
 * Where finished export files live: an S3-compatible bucket (S3ExportStorage.ts) or a local folder
 * (LocalExportStorage.ts) when no S3 endpoint is configured. Both keep one promise: an object is visible under its key
 * only once it is completely written (a multipart upload completes, or a temporary file is renamed), so a job that
 * dies half-way never leaves a file that looks done.
 */
import { Clock, Context, Effect, type Option, type Scope } from "effect"
import type { Readable, Writable } from "node:stream"
import {
  type ExportObjectNotFound,
  type ExportStorageFailed,
  InvalidExportKey
} from "./ExportErrors.ts"

/** A stored export: its key, size in bytes, media type and last change. */
export interface StoredExport {
  readonly key: string
  readonly size: number
  readonly contentType: string
  readonly lastModified: Date
}

/** An open download: the bytes as a Node stream, which the caller consumes (or destroys) exactly once. */
export interface ExportDownload extends StoredExport {
  readonly stream: Readable
}

/** A short-lived link that downloads an export without further authentication. */
export interface PresignedDownload {
  readonly url: string
  readonly expiresAt: Date
}

/** What presigning takes: how long the link lives (default 300 s), and the file name the browser saves as. */
export interface PresignOptions {
  readonly expiresInSeconds?: number | undefined
  readonly filename?: string | undefined
}

/** The storage operations the export job and the download routes use. */
export interface ExportStorageShape {
  /** "s3" or "local": the download route redirects to a presigned URL for the first and streams for the second. */
  readonly kind: "s3" | "local"
  /**
   * Writes the object `key`: `body` writes into the sink it is given (and must not end it). When `body` succeeds the
   * sink is ended and the object completed and made visible; when it fails or is interrupted the partial upload or
   * temporary file is discarded and nothing appears under `key`. Succeeds with the stored object and body's result.
   */
  readonly write: <A, E, R>(
    key: string,
    contentType: string,
    body: (sink: Writable) => Effect.Effect<A, E, R>
  ) => Effect.Effect<{ readonly object: StoredExport; readonly result: A }, E | ExportStorageFailed | InvalidExportKey, R>
  /** The stored object's size, type and time. */
  readonly stat: (key: string) => Effect.Effect<StoredExport, ExportObjectNotFound | ExportStorageFailed | InvalidExportKey>
  /**
   * Opens the object for reading (the authenticated-stream download); the stream is destroyed when `Scope` closes, so
   * serve it inside the scope of the response.
   */
  readonly read: (key: string) => Effect.Effect<ExportDownload, ExportObjectNotFound | ExportStorageFailed | InvalidExportKey, Scope.Scope>
  /** A short-lived presigned GET URL (S3), or none when the storage cannot presign (the local folder: stream it). */
  readonly presign: (
    key: string,
    options?: PresignOptions
  ) => Effect.Effect<Option.Option<PresignedDownload>, ExportObjectNotFound | ExportStorageFailed | InvalidExportKey>
  /** Deletes the object; deleting a missing object succeeds. */
  readonly remove: (key: string) => Effect.Effect<void, ExportStorageFailed | InvalidExportKey>
  /** Stored objects last changed before `cutoff`, oldest first (what a retention run would delete). */
  readonly listOlderThan: (cutoff: Date) => Effect.Effect<ReadonlyArray<StoredExport>, ExportStorageFailed>
  /**
   * Retention: deletes every object last changed before `cutoff` (and, for the local folder, temporary files of writes
   * that died before it); succeeds with the deleted keys.
   */
  readonly deleteOlderThan: (cutoff: Date) => Effect.Effect<ReadonlyArray<string>, ExportStorageFailed>
}

/** The export storage service. */
export class ExportStorage extends Context.Tag("poretrack/ExportStorage")<ExportStorage, ExportStorageShape>() {}

const MAX_KEY = 512
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * Checks an object key: 1-512 characters, `/`-separated segments of `[A-Za-z0-9._-]` that start with a letter or
 * digit (so no `..`, no hidden or temporary names, no absolute paths). The same keys are safe as S3 keys and as paths
 * under the local folder.
 */
export const checkKey = (key: string): Effect.Effect<string, InvalidExportKey> => {
  if (key.length === 0 || key.length > MAX_KEY) {
    return Effect.fail(new InvalidExportKey({ key, reason: `a key has 1 to ${MAX_KEY} characters` }))
  }
  const bad = key.split("/").find((s) => !SEGMENT.test(s))
  return bad === undefined
    ? Effect.succeed(key)
    : Effect.fail(new InvalidExportKey({
      key,
      reason: `segment "${bad}" must start with a letter or digit and contain only A-Z, a-z, 0-9, '.', '_' and '-'`
    }))
}

/** The retention cut-off `days` days before now (by the Effect clock, so tests can move it). */
export const retentionCutoff = (days: number): Effect.Effect<Date> =>
  Effect.map(Clock.currentTimeMillis, (now) => new Date(now - days * 86_400_000))
