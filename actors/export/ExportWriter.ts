/**
 * The Effect face of the format writers, for the export job: pick a writer by format, feed it an Effect Stream of rows
 * (a PostgreSQL cursor's pages, say) chunk by chunk with back-pressure, report progress, and make sure a failed or
 * interrupted export aborts its writer. Errors are typed: the row stream's own, or ExportWriteFailed; a MinKNOW sheet
 * that breaks its rules is MinknowSheetRefused before any byte is written.
 */
import { Chunk, Effect, Exit, Stream } from "effect"
import type { Writable } from "node:stream"
import { csvWriter } from "./CsvWriter.ts"
import type { ColumnSpec, ExportRow } from "./ExportColumns.ts"
import { ExportWriteFailed } from "./ExportErrors.ts"
import { jsonWriter, ndjsonWriter } from "./JsonWriter.ts"
import { minknowSheet, minknowWriter, type MinknowSheetRequest } from "./MinknowSheet.ts"
import type { RowWriter } from "./RowWriter.ts"
import { xlsxWriter } from "./XlsxWriter.ts"
import { xmlWriter } from "./XmlWriter.ts"

/** The formats of a sample export (the MinKNOW sheet, which has its own rows, is `writeMinknowSheet`). */
export const TABLE_FORMATS = ["csv", "xlsx", "json", "ndjson", "xml"] as const
export type TableFormat = (typeof TABLE_FORMATS)[number]

/** Every export format, as the API names them. */
export const EXPORT_FORMATS = [...TABLE_FORMATS, "minknow"] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** The media type and file extension of each format (for storage and downloads). */
export const FORMAT_FILES: Readonly<Record<ExportFormat, { readonly contentType: string; readonly extension: string }>> = {
  csv: { contentType: "text/csv; charset=utf-8", extension: "csv" },
  xlsx: { contentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", extension: "xlsx" },
  json: { contentType: "application/json", extension: "json" },
  ndjson: { contentType: "application/x-ndjson", extension: "ndjson" },
  xml: { contentType: "application/xml", extension: "xml" },
  minknow: { contentType: "text/csv; charset=utf-8", extension: "csv" }
}

/** A streaming writer of `format` for `columns` into `sink` (defaults of each format: CSV guarded, CRLF, no BOM). */
export const rowWriter = (format: TableFormat, columns: ReadonlyArray<ColumnSpec>, sink: Writable): RowWriter => {
  switch (format) {
    case "csv":
      return csvWriter(columns, sink)
    case "xlsx":
      return xlsxWriter(columns, sink)
    case "json":
      return jsonWriter(columns, sink)
    case "ndjson":
      return ndjsonWriter(columns, sink)
    case "xml":
      return xmlWriter(columns, sink)
  }
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Writes every row of `rows` with `writer` and finishes the document; succeeds with the row count. Each chunk of the
 * stream is written at once, then the next is pulled only when the sink has taken it. `onProgress` runs after each
 * chunk with the rows written so far. On failure or interruption the writer is aborted; the sink is left to its owner.
 */
export const writeRows = <E, R, R2 = never>(
  writer: RowWriter,
  rows: Stream.Stream<ExportRow, E, R>,
  onProgress?: ((rowsWritten: number) => Effect.Effect<void, never, R2>) | undefined
): Effect.Effect<number, E | ExportWriteFailed, R | R2> => {
  const failed = (e: unknown) =>
    new ExportWriteFailed({ format: writer.format, rowsWritten: writer.rowsWritten, message: messageOf(e) })
  const waitFor = (wait: Promise<void> | undefined) => {
    if (wait === undefined) return Effect.void
    // Observed at once: a rejection that lands before the fiber awaits it is not reported as unhandled.
    wait.catch(() => undefined)
    return Effect.tryPromise({ try: () => wait, catch: failed })
  }
  const progress = () => (onProgress === undefined ? Effect.void : onProgress(writer.rowsWritten))
  return rows.pipe(
    Stream.runForEachChunk((chunk) =>
      Effect.try({ try: () => writer.write(Chunk.toReadonlyArray(chunk)), catch: failed }).pipe(
        Effect.flatMap(waitFor),
        Effect.zipRight(Effect.suspend(progress))
      )
    ),
    Effect.zipRight(Effect.tryPromise({ try: () => writer.finish(), catch: failed })),
    Effect.zipRight(Effect.suspend(progress)),
    Effect.map(() => writer.rowsWritten),
    Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => writer.abort()))),
    Effect.withSpan("ExportWriter.writeRows", { attributes: { format: writer.format } })
  )
}

/** Options of one sample export. */
export interface WriteExport<E, R, R2> {
  readonly format: TableFormat
  readonly columns: ReadonlyArray<ColumnSpec>
  readonly rows: Stream.Stream<ExportRow, E, R>
  readonly sink: Writable
  readonly onProgress?: ((rowsWritten: number) => Effect.Effect<void, never, R2>) | undefined
}

/** Writes a sample export of `format` into `sink` (which is not ended); succeeds with the row count. */
export const writeExport = <E, R, R2 = never>(
  options: WriteExport<E, R, R2>
): Effect.Effect<number, E | ExportWriteFailed, R | R2> =>
  Effect.suspend(() =>
    writeRows(rowWriter(options.format, options.columns, options.sink), options.rows, options.onProgress)
  )

/**
 * Checks the MinKNOW sheet of one flow cell and writes it into `sink` (not ended); succeeds with the row count, or
 * fails with MinknowSheetRefused (nothing written) or ExportWriteFailed.
 */
export const writeMinknowSheet = Effect.fn("ExportWriter.writeMinknowSheet")(function*(
  request: MinknowSheetRequest,
  sink: Writable
) {
  const rows = yield* minknowSheet(request)
  return yield* writeRows(minknowWriter(sink), Stream.fromIterable(rows))
})
