/** The Effect entry point: every format from an Effect Stream, progress, typed failures, interruption. */
import { describe, expect, it } from "@effect/vitest"
import ExcelJS from "exceljs"
import { Data, Deferred, Effect, Exit, Fiber, Ref, Stream } from "effect"
import Papa from "papaparse"
import { Readable } from "node:stream"
import { EXPORT_COLUMNS, rowOf, selectColumns, type ExportRow } from "./ExportColumns.ts"
import { ExportWriteFailed } from "./ExportErrors.ts"
import { TABLE_FORMATS, writeExport } from "./ExportWriter.ts"
import { syntheticSample } from "./SyntheticSamples.ts"
import { FailingSink, MemorySink } from "./TestSinks.ts"

class CursorLost extends Data.TaggedError("CursorLost")<{ readonly afterRows: number }> {}

/** Samples as a cursor would page them: chunks of 500 rows. */
const pages = (count: number, columns: Parameters<typeof rowOf>[0]): Stream.Stream<ExportRow> => {
  const toRow = rowOf(columns)
  return Stream.range(0, count - 1).pipe(Stream.rechunk(500), Stream.map((i) => toRow(syntheticSample(i))))
}

/** How many data rows a finished file holds, read with each format's own reader. */
const rowsIn = async (format: (typeof TABLE_FORMATS)[number], sink: MemorySink): Promise<number> => {
  const text = sink.text()
  switch (format) {
    case "csv":
      return Papa.parse(text, { skipEmptyLines: true }).data.length - 1
    case "json":
      return (JSON.parse(text) as Array<unknown>).length
    case "ndjson":
      return text.split("\n").filter((l) => l !== "").length
    case "xml":
      return text.split("<sample>").length - 1
    case "xlsx": {
      const workbook = new ExcelJS.Workbook()
      await workbook.xlsx.read(Readable.from([sink.bytes()]))
      return workbook.getWorksheet("Samples")!.rowCount - 1
    }
  }
}

describe("ExportWriter", () => {
  for (const format of TABLE_FORMATS) {
    it.effect(`${format}: every row of the stream is written, with progress after each chunk`, () =>
      Effect.gen(function*() {
        const columns = yield* selectColumns()
        const sink = new MemorySink()
        const seen = yield* Ref.make<ReadonlyArray<number>>([])
        const rows = yield* writeExport({
          format,
          columns,
          rows: pages(2_300, columns),
          sink,
          onProgress: (n) => Ref.update(seen, (s) => [...s, n])
        })
        expect(rows).toBe(2_300)
        const progress = yield* Ref.get(seen)
        expect(progress.slice(0, 5)).toEqual([500, 1000, 1500, 2000, 2300])
        expect(progress.at(-1)).toBe(2_300)
        expect(yield* Effect.promise(() => rowsIn(format, sink))).toBe(2_300)
      }))
  }

  it.effect("a failing row stream fails the export with the stream's own error", () =>
    Effect.gen(function*() {
      const rows = Stream.concat(pages(1_000, EXPORT_COLUMNS), Stream.fail(new CursorLost({ afterRows: 1_000 })))
      const exit = yield* Effect.exit(writeExport({ format: "xlsx", columns: EXPORT_COLUMNS, rows, sink: new MemorySink() }))
      expect(exit).toStrictEqual(Exit.fail(new CursorLost({ afterRows: 1_000 })))
    }))

  it.effect("a failing sink fails the export with ExportWriteFailed naming the format", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(writeExport({ format: "csv", columns: EXPORT_COLUMNS, rows: pages(5_000, EXPORT_COLUMNS), sink: new FailingSink(50_000) }))
      expect(failure).toBeInstanceOf(ExportWriteFailed)
      expect(failure).toMatchObject({ _tag: "ExportWriteFailed", format: "csv", message: "disk full" })
    }))

  it.live("an interrupted export ends at once: its fiber is interrupted and nothing more reaches the sink", () =>
    Effect.gen(function*() {
      const reached = yield* Deferred.make<void>()
      const endless = Stream.iterate(0, (i) => i + 1).pipe(
        Stream.rechunk(200),
        Stream.tap((i) => (i === 2_000 ? Deferred.succeed(reached, undefined) : Effect.void)),
        Stream.map((i) => rowOf(EXPORT_COLUMNS)(syntheticSample(i)))
      )
      const sink = new MemorySink(true)
      const fiber = yield* Effect.fork(writeExport({ format: "xlsx", columns: EXPORT_COLUMNS, rows: endless, sink }))
      yield* Deferred.await(reached)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      const written = sink.bytes().length
      // Let the event loop turn a few times: an aborted writer's zip must not keep feeding the sink.
      for (let k = 0; k < 5; k++) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      expect(sink.bytes().length).toBe(written)
    }))
})
