/**
 * Sinks for the export tests: one that keeps every byte, one that takes bytes slowly (to prove writers wait for it),
 * and one that fails after a number of bytes.
 */
import { Writable } from "node:stream"

/** A Writable that keeps what it is given; `text()` and `bytes()` read it back. */
export class MemorySink extends Writable {
  readonly chunks: Array<Buffer> = []
  /** The most bytes ever waiting in the sink's buffer at once. */
  maxBuffered = 0

  constructor(private readonly delayed = false, highWaterMark = 16 * 1024) {
    super({ highWaterMark })
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk)
    this.maxBuffered = Math.max(this.maxBuffered, this.writableLength)
    if (this.delayed) setImmediate(callback)
    else callback()
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks)
  }

  text(): string {
    return this.bytes().toString("utf8")
  }
}

/** A Writable that fails with `message` once more than `limit` bytes were written to it. */
export class FailingSink extends Writable {
  private written = 0

  constructor(private readonly limit: number, private readonly message = "disk full") {
    super({ highWaterMark: 1024 })
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.written += chunk.length
    callback(this.written > this.limit ? new Error(this.message) : null)
  }
}
