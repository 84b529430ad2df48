/**
 * A local HTTP receiver for webhook tests and benchmarks (node:http on 127.0.0.1, random port). Its replies follow a
 * script: the n-th request gets `replies[n]` (the last one repeats), or whatever a function returns. `hang` leaves a
 * request unanswered until the receiver closes. Every request is kept with its headers and raw body (unless `keep`
 * is off), in arrival order, before it is answered.
 */
import { createServer, type IncomingMessage } from "node:http"
import { Effect } from "effect"

/** A request as received. */
export interface ReceivedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: string
}

/** How the receiver answers one request. */
export interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: string
  readonly hang?: boolean
}

const headersOf = (req: IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") out[k] = v
  return out
}

/** Starts the receiver for the scope. */
export const webhookReceiver = (
  replies: ReadonlyArray<Reply> | ((n: number, req: ReceivedRequest) => Reply),
  options: { readonly keep?: boolean } = {}
) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly requests: Array<ReceivedRequest>; readonly count: () => number; readonly close: (done: () => void) => void }>((resume) => {
      const requests: Array<ReceivedRequest> = []
      let n = 0
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const received: ReceivedRequest = {
            method: req.method ?? "",
            path: req.url ?? "",
            headers: headersOf(req),
            body: Buffer.concat(chunks).toString("utf8")
          }
          if (options.keep !== false) requests.push(received)
          const reply = typeof replies === "function" ? replies(n, received) : replies[Math.min(n, replies.length - 1)]!
          n++
          if (reply.hang === true) return
          res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers })
          res.end(reply.body ?? "")
        })
      })
      server.keepAliveTimeout = 30_000
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          url: `http://127.0.0.1:${port}/hooks/poretrack`,
          requests,
          count: () => n,
          close: (done) => {
            server.closeAllConnections()
            server.close(() => done())
          }
        }))
      })
      return Effect.sync(() => server.close())
    }),
    (r) =>
      Effect.async<void>((resume) => {
        r.close(() => resume(Effect.void))
      })
  )
