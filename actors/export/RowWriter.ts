/**
 * The contract every format writer keeps, and the loops that feed one from an async iterable. A writer writes into a
 * Node Writable it does not own: it never ends it, and after `finish()` resolves every byte of the document has been
 * handed to it. Memory stays bounded because `write` returns a promise whenever the sink is behind, and callers wait.
 */
import type { Writable } from "node:stream"
import type { ExportRow } from "./ExportColumns.ts"
import { TextSink } from "./TextSink.ts"

/** A streaming writer of one export document. */
export interface RowWriter {
  /** The format's name, for errors and logs. */
  readonly format: string
  /** Rows written so far. */
  readonly rowsWritten: number
  /** Writes rows; a returned promise means the sink is behind: wait for it before writing more. */
  write(rows: Iterable<ExportRow>): Promise<void> | undefined
  /** Ends the document; resolves when all of it has been handed to the sink (which stays open). */
  finish(): Promise<void>
  /** Gives up: releases what the writer holds. The sink is left as it is, for its owner to discard. */
  abort(): void
}

/** A text format as three pure functions: what comes before the rows, one row, and what comes after them. */
export interface TextEncoder {
  readonly head: () => string
  readonly row: (row: ExportRow, index: number) => string
  readonly tail: (rows: number) => string
}

/** A RowWriter for a text format (CSV, JSON, NDJSON, XML, the MinKNOW sheet). */
export class TextRowWriter implements RowWriter {
  private readonly text: TextSink
  private started = false
  private count = 0

  constructor(readonly format: string, private readonly encoder: TextEncoder, sink: Writable) {
    this.text = new TextSink(sink)
  }

  get rowsWritten(): number {
    return this.count
  }

  write(rows: Iterable<ExportRow>): Promise<void> | undefined {
    if (!this.started) {
      this.started = true
      this.text.push(this.encoder.head())
    }
    // Text goes to the sink every ~64 KiB, even inside one large batch: small strings die young (cheap to collect);
    // the sink buffers what it cannot take yet, and the caller waits once for the whole batch.
    let behind = false
    for (const row of rows) {
      this.text.push(this.encoder.row(row, this.count))
      this.count++
      if (this.text.full) behind = !this.text.hand() || behind
    }
    if (this.text.full) behind = !this.text.hand() || behind
    return behind ? this.text.drained() : undefined
  }

  async finish(): Promise<void> {
    if (!this.started) {
      this.started = true
      this.text.push(this.encoder.head())
    }
    this.text.push(this.encoder.tail(this.count))
    await this.text.flush()
    this.text.release()
  }

  abort(): void {
    this.text.release()
  }
}

/** Options of the async-iterable loop. */
export interface PumpOptions {
  /** Called after each batch handed to the writer, with the rows written so far (for progress). */
  readonly onRows?: ((rowsWritten: number) => void) | undefined
  /** Stops the loop (the writer is aborted and the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal | undefined
  /** Rows handed to the writer at once (default 500). */
  readonly batch?: number | undefined
}

/**
 * Writes every row of `rows` with `writer` and finishes the document; resolves with the row count. On any failure
 * (the rows, the sink, an abort) the writer is aborted and the promise rejects.
 */
export const pumpRows = async (
  writer: RowWriter,
  rows: AsyncIterable<ExportRow> | Iterable<ExportRow>,
  options: PumpOptions = {}
): Promise<number> => {
  const size = options.batch ?? 500
  let batch: Array<ExportRow> = []
  // Rows from a synchronous source arrive in microtasks only; the loop lets the event loop turn every 20 ms so that
  // I/O callbacks (the sink's, compression's) and timers run during a long export.
  let lastTurn = performance.now()
  const hand = async () => {
    options.signal?.throwIfAborted()
    const wait = writer.write(batch)
    batch = []
    if (wait !== undefined) {
      await wait
      lastTurn = performance.now()
    } else if (performance.now() - lastTurn >= 20) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      lastTurn = performance.now()
    }
    options.onRows?.(writer.rowsWritten)
  }
  try {
    for await (const row of rows) {
      batch.push(row)
      if (batch.length >= size) await hand()
    }
    if (batch.length > 0) await hand()
    options.signal?.throwIfAborted()
    await writer.finish()
    options.onRows?.(writer.rowsWritten)
    return writer.rowsWritten
  } catch (e) {
    writer.abort()
    throw e
  }
}
