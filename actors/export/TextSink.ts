/**
 * A buffered text writer over a Node Writable that keeps memory bounded: text is gathered into chunks of about
 * `highWaterMark` characters, and a flush that the sink cannot take at once returns a promise that settles when the
 * sink has drained (or rejects when it fails or closes). The sink itself is never ended here: its owner ends it.
 */
import type { Writable } from "node:stream"

/** Resolves when `out` drains; rejects when it errors or closes first. */
export const drained = (out: Writable): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      out.off("drain", onDrain)
      out.off("error", onError)
      out.off("close", onClose)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onDrain = () => done()
    const onError = (e: Error) => done(e)
    const onClose = () => done(new Error("the export sink closed before the export was written"))
    out.on("drain", onDrain)
    out.on("error", onError)
    out.on("close", onClose)
  })

/** Gathers text and hands it to a Writable in chunks, honouring its back-pressure. */
export class TextSink {
  private parts: Array<string> = []
  private size = 0
  private failure: Error | undefined
  private readonly onError = (e: Error) => {
    this.failure ??= e
  }

  constructor(readonly out: Writable, readonly highWaterMark: number = 64 * 1024) {
    out.on("error", this.onError)
  }

  /** Appends text (not yet written). */
  push(text: string): void {
    this.parts.push(text)
    this.size += text.length
  }

  /** True when enough text is gathered to be worth a write. */
  get full(): boolean {
    return this.size >= this.highWaterMark
  }

  /**
   * Writes what is gathered. Returns undefined when the sink took it, or a promise to wait for before pushing more:
   * it settles when the sink has drained and rejects when the sink failed or closed.
   */
  flush(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.out.destroyed || this.out.writableEnded) {
      return Promise.reject(new Error("the export sink was closed before the export was written"))
    }
    return this.hand() ? undefined : drained(this.out)
  }

  /**
   * Hands what is gathered to the sink without waiting; true when the sink took it, false when it is behind (or
   * failed: the next `flush` or `drained` says so). For writing inside a batch, with one wait at its end.
   */
  hand(): boolean {
    if (this.failure !== undefined || this.out.destroyed || this.out.writableEnded) return false
    if (this.size === 0) return !this.out.writableNeedDrain
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join("")
    this.parts = []
    this.size = 0
    return this.out.write(text, "utf8")
  }

  /** Settles when the sink has drained (at once when it is not behind); rejects when it failed or closed. */
  drained(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.out.destroyed || this.out.writableEnded) {
      return Promise.reject(new Error("the export sink was closed before the export was written"))
    }
    return this.out.writableNeedDrain ? drained(this.out) : Promise.resolve()
  }

  /** Stops listening to the sink (after the last flush, or on abort). */
  release(): void {
    this.parts = []
    this.size = 0
    this.out.off("error", this.onError)
  }
}
