/**
 * The RPC surface as served: `POST /rpc` (HTTP, NDJSON: one JSON message per line) and `GET /rpc/ws` (WebSocket, one
 * JSON message per frame), the same PoretrackRpcs with the same handlers and authentication rules. What reaches the
 * RPC server has been checked: every line of an HTTP body by the door (runtime/Door.ts, 400 otherwise), every
 * WebSocket frame here (size, depth and shape; a bad frame closes the socket with 1009 or 1007 and a short reason),
 * and every request's payload against its RPC's schema (a typed InvalidInput failure of that request, never a defect
 * quoting the server's schemas).
 */
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse, Socket } from "@effect/platform"
import { RpcSerialization, RpcServer } from "@effect/rpc"
import type { FromClientEncoded, FromServerEncoded, RequestEncoded } from "@effect/rpc/RpcMessage"
import { Cause, Effect, Either, Layer, Mailbox, type ParseResult, Schema, Scope } from "effect"
import { checkJsonBody, issuesOf } from "../rpc/Decode.ts"
import { InvalidInput } from "../rpc/Errors.ts"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import { AppSettings } from "./AppSettings.ts"
import { jsonDepthOver, rpcFrame } from "./Door.ts"
import { RpcAuthenticationLive, RpcAuthenticationWebSocketLive, RpcHandlersLive } from "./RpcHandlers.ts"

/**
 * NDJSON for `POST /rpc`, whose parser decodes one whole body: blank lines are skipped, and a last line without its
 * newline is a message like the others (the stock parser would keep it buffered and answer nothing for it).
 */
const wholeBodyNdjson = RpcSerialization.RpcSerialization.of({
  contentType: RpcSerialization.ndjson.contentType,
  includesFraming: RpcSerialization.ndjson.includesFraming,
  unsafeMake: () => {
    const base = RpcSerialization.ndjson.unsafeMake()
    const decoder = new TextDecoder()
    return {
      encode: base.encode,
      decode: (data) =>
        (typeof data === "string" ? data : decoder.decode(data)).split("\n").filter((line) => line.trim() !== "").map((line): unknown => JSON.parse(line))
    }
  }
})

type PayloadDecoder = (payload: unknown) => Either.Either<unknown, ParseResult.ParseError>
const decoderOf = (schema: Schema.Schema.AnyNoContext): PayloadDecoder => Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })
const payloadDecoders = new Map<string, PayloadDecoder>(Array.from(PoretrackRpcs.requests, ([tag, rpc]) => [tag, decoderOf(rpc.payloadSchema)]))
const encodeInvalidInput = Schema.encodeSync(InvalidInput)

/** Why a request's payload is refused (prototype keys, nesting, the RPC's own payload schema), or undefined. */
const payloadProblem = (tag: string, payload: unknown, maxDepth: number): InvalidInput | undefined => {
  const decode = payloadDecoders.get(tag)
  if (decode === undefined) return new InvalidInput({ message: "unknown RPC", issues: [] })
  const keys = checkJsonBody(payload, maxDepth)
  if (Either.isLeft(keys)) return new InvalidInput({ message: `invalid payload for ${tag}`, issues: keys.left.issues.slice(0, 20) })
  const decoded = decode(payload)
  return Either.isLeft(decoded) ? new InvalidInput({ message: `invalid payload for ${tag}`, issues: issuesOf(decoded.left).slice(0, 20) }) : undefined
}

/** The answer to a request refused by the gate: its Exit, failed with InvalidInput (declared by RpcAuthentication). */
const refusedExit = (requestId: string, error: InvalidInput): FromServerEncoded => ({
  _tag: "Exit",
  requestId,
  exit: { _tag: "Failure", cause: { _tag: "Fail", error: encodeInvalidInput(error) } }
})

/**
 * The gate between a transport and the RPC server: a request whose payload fails its RPC's schema is answered with a
 * typed InvalidInput Exit (the server itself would answer a Die quoting its schemas) and never reaches the server.
 */
const gated = (protocol: RpcServer.Protocol["Type"], maxDepth: number): RpcServer.Protocol["Type"] => ({
  ...protocol,
  run: (f) =>
    protocol.run((clientId, message) => {
      if (message._tag !== "Request") return f(clientId, message)
      const problem = payloadProblem(message.tag, message.payload, maxDepth)
      return problem === undefined ? f(clientId, message) : protocol.send(clientId, refusedExit(message.id, problem))
    })
})

/** WebSocket close codes: 1007 a frame that is not an RPC message, 1009 a frame over the size limit. */
const closeWith = (code: 1007 | 1009, reason: string) => new Socket.CloseEvent(code, reason.length <= 120 ? reason : `${reason.slice(0, 119)}…`)

/**
 * The WebSocket transport of `/rpc/ws` (after @effect/rpc's socket protocol, with the door's limits on each frame).
 * A Request carries the upgrade request's headers before its own, so RpcAuthentication sees the upgrade's
 * Authorization or Cookie.
 */
const webSocketProtocol = (limits: { readonly maxBodyBytes: number; readonly maxJsonDepth: number }) =>
  Effect.gen(function*() {
    const disconnects = yield* Mailbox.make<number>()
    const clients = new Map<number, (response: FromServerEncoded) => Effect.Effect<void>>()
    let nextClientId = 0
    let writeRequest: (clientId: number, message: FromClientEncoded) => Effect.Effect<void> = () => Effect.void
    const protocol = yield* RpcServer.Protocol.make((write) => {
      writeRequest = write
      return Effect.succeed({
        disconnects,
        send: (clientId, response) => clients.get(clientId)?.(response) ?? Effect.void,
        end: () => Effect.void,
        clientIds: Effect.sync(() => new Set(clients.keys())),
        initialMessage: Effect.succeedNone,
        supportsAck: true,
        supportsTransferables: false,
        supportsSpanPropagation: true
      })
    })
    const decoder = new TextDecoder()

    const httpApp = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const socket = yield* request.upgrade
      const upgradeHeaders: ReadonlyArray<[string, string]> = Object.entries(request.headers)
      const id = nextClientId++
      const scope = yield* Effect.scope
      yield* Scope.addFinalizer(scope, Effect.suspend(() => {
        clients.delete(id)
        return disconnects.offer(id)
      }))
      const writeRaw = yield* socket.writer
      clients.set(id, (response) =>
        Effect.suspend(() => {
          try {
            return writeRaw(JSON.stringify(response))
          } catch {
            return writeRaw(closeWith(1007, "InternalError: a response could not be encoded"))
          }
        }).pipe(Effect.orDie))

      yield* socket.runRaw((data) => {
        const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength
        if (size > limits.maxBodyBytes) return writeRaw(closeWith(1009, `PayloadTooLarge: a message is over ${limits.maxBodyBytes} bytes`))
        const text = typeof data === "string" ? data : decoder.decode(data)
        if (jsonDepthOver(text, limits.maxJsonDepth)) return writeRaw(closeWith(1007, `MalformedRequest: nested more than ${limits.maxJsonDepth} levels`))
        const frame = rpcFrame(text)
        if (Either.isLeft(frame)) return writeRaw(closeWith(1007, `MalformedRequest: ${frame.left}`))
        const message = frame.right
        if (message._tag !== "Request") return writeRequest(id, message)
        const withHeaders: RequestEncoded = { ...message, headers: upgradeHeaders.concat(message.headers) }
        return writeRequest(id, withHeaders)
      }).pipe(
        Effect.interruptible,
        Effect.catchIf((error) => error.reason === "Close", () => Effect.void),
        Effect.orDie,
        // A socket that ends (closed by either side) ends the request normally, not as a server failure.
        Effect.catchAllCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.void : Effect.failCause(cause)))
      )
      return HttpServerResponse.empty()
    })
    return { protocol: gated(protocol, limits.maxJsonDepth), httpApp } as const
  })

/** The RPC server on `POST /rpc`: HTTP, NDJSON, each line checked by the door and each payload by the gate. */
const HttpRpc = (maxJsonDepth: number) =>
  RpcServer.layer(PoretrackRpcs).pipe(
    Layer.provide(Layer.effect(RpcServer.Protocol, Effect.map(RpcServer.makeProtocolHttpRouter({ path: "/rpc" }), (p) => gated(p, maxJsonDepth)))),
    Layer.provide(RpcAuthenticationLive),
    Layer.provide(Layer.succeed(RpcSerialization.RpcSerialization, wholeBodyNdjson))
  )

/** The RPC server on `GET /rpc/ws`: WebSocket, JSON frames, the door's size and depth limits on every frame. */
const WebSocketRpc = (limits: { readonly maxBodyBytes: number; readonly maxJsonDepth: number }) =>
  RpcServer.layer(PoretrackRpcs).pipe(
    Layer.provide(Layer.scoped(RpcServer.Protocol, Effect.gen(function*() {
      const router = yield* HttpLayerRouter.HttpRouter
      const { httpApp, protocol } = yield* webSocketProtocol(limits)
      yield* router.add("GET", "/rpc/ws", httpApp)
      return protocol
    }))),
    Layer.provide(RpcAuthenticationWebSocketLive)
  )

/** Both RPC transports, sharing the handlers; limits from the door settings. */
export const RpcRoutesLive = Layer.unwrapEffect(Effect.map(AppSettings, ({ door }) =>
  Layer.mergeAll(HttpRpc(door.maxJsonDepth), WebSocketRpc(door)).pipe(Layer.provide(RpcHandlersLive))))
