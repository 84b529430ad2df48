/**
 * The RPC surface under hostile input and over WebSocket, on a real server: every garbage body on `POST /rpc` is a 400
 * `{error:"MalformedRequest",message:"line N: …"}` (never a 200 with a Defect quoting internal errors), a last line
 * without its newline is served, a payload failing its schema is a typed InvalidInput failure of that request;
 * `/rpc/ws` serves the same group to a bearer key or a same-origin session cookie, refuses other origins, and closes
 * on frames that are not RPC messages (1007) or over the size limit (1009).
 */
import { Socket } from "@effect/platform"
import { RpcClient, RpcSerialization, type RpcClientError } from "@effect/rpc"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Data, Effect, Layer, Queue, Ref, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { request as httpRequest } from "node:http"
import { WebSocket } from "ws"
import { ChangePriority, Receive } from "../rpc/Commands.ts"
import { SampleId } from "../rpc/Ids.ts"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import type { SampleEvent } from "../rpc/Workflow.ts"
import { adminAuth } from "./TestAuth.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

const UNKNOWN = "00000000-0000-4000-8000-000000000000"
const PASSWORD = "a long enough password"

interface Reply {
  readonly status: number
  readonly text: string
  readonly lines: ReadonlyArray<unknown>
}

/** POSTs `body` to /rpc as NDJSON with the admin key; the answer's status, text and (when NDJSON) parsed lines. */
const post = async (base: string, body: string, headers: Record<string, string> = {}): Promise<Reply> => {
  const res = await fetch(`${base}/rpc`, { method: "POST", headers: { "content-type": "application/ndjson", ...adminAuth, ...headers }, body })
  const text = await res.text()
  const lines = text.split("\n").filter((l) => l.trim() !== "").map((l): unknown => JSON.parse(l))
  return { status: res.status, text, lines }
}

const request = (id: string, tag: string, payload: unknown) => JSON.stringify({ _tag: "Request", id, tag, payload, headers: [] })

/** The Exit line of `requestId` among an NDJSON answer's lines. */
const exitOf = (lines: ReadonlyArray<unknown>, requestId: string) =>
  lines.find((m) => typeof m === "object" && m !== null && "_tag" in m && m._tag === "Exit" && "requestId" in m && m.requestId === requestId)

/** The status of a WebSocket upgrade of /rpc/ws sent with `headers` (101 when accepted). */
const upgradeStatus = (base: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const url = new URL(`${base}/rpc/ws`)
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      agent: false, // a fresh connection each time: a refused upgrade's connection is closed by the server
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64"), ...headers }
    })
    req.on("upgrade", (res, socket) => {
      socket.destroy()
      resolve(res.statusCode ?? 0)
    })
    req.on("response", (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on("error", (e) => reject(new Error(`upgrade with ${Object.keys(headers).join(", ")} (origin ${headers.origin ?? "none"}): ${e.message}`)))
    req.end()
  })

interface SocketRun {
  readonly messages: ReadonlyArray<unknown>
  readonly close: { readonly code: number; readonly reason: string } | undefined
}

/** Opens /rpc/ws with `headers`, sends `frames`, and collects what comes back until `until` holds or the close (at most 20 s: every run here ends with one of them). */
const rawSocket = (base: string, frames: ReadonlyArray<string | Uint8Array>, headers: Record<string, string>, until: (messages: ReadonlyArray<unknown>) => boolean = () => false) =>
  new Promise<SocketRun>((resolve) => {
    const socket = new WebSocket(`${base.replace(/^http/, "ws")}/rpc/ws`, undefined, { headers })
    const messages: Array<unknown> = []
    let settled = false
    const done = (close: SocketRun["close"]) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.close()
      resolve({ messages, close })
    }
    const timer = setTimeout(() => done(undefined), 20_000)
    socket.addEventListener("open", () => frames.forEach((f) => socket.send(f)))
    socket.addEventListener("message", (e: MessageEvent<string>) => {
      messages.push(JSON.parse(e.data))
      if (until(messages)) done(undefined)
    })
    socket.addEventListener("close", (e) => done({ code: e.code, reason: e.reason }))
  })

/** A typed client of the group over /rpc/ws, whose upgrade request carries `headers`. */
class WsClient extends Context.Tag("test/RpcWsClient")<WsClient, RpcClient.FromGroup<typeof PoretrackRpcs, RpcClientError.RpcClientError>>() {}

const wsClient = (headers: Record<string, string>) =>
  Layer.scoped(WsClient, RpcClient.make(PoretrackRpcs)).pipe(
    Layer.provide(RpcClient.layerProtocolSocket({ retryTransientErrors: false })),
    Layer.provide(Layer.unwrapEffect(Effect.map(TestEndpoint, ({ baseUrl }) =>
      Layer.scoped(Socket.Socket, Socket.makeWebSocket(`${baseUrl.replace(/^http/, "ws")}/rpc/ws`)).pipe(
        Layer.provide(Layer.succeed(Socket.WebSocketConstructor, (url, protocols) => new WebSocket(url, protocols, { headers })))
      )))),
    Layer.provide(RpcSerialization.layerJson)
  )

/** Runs `use` with a WebSocket client whose upgrade carries `headers`. */
const withWsClient = <A, E>(headers: Record<string, string>, use: (client: WsClient["Type"]) => Effect.Effect<A, E>) =>
  Effect.flatMap(WsClient, use).pipe(Effect.provide(wsClient(headers)))

/** The live feed did not deliver an expected event in time. */
class LiveFeedMiss extends Data.TaggedError("LiveFeedMiss")<{ readonly message: string }> {}

/** A person signed in through the REST bridge: their session cookie (`name=value`) and CSRF token. */
const signIn = async (base: string, email: string) => {
  const created = await fetch(`${base}/api/v1/users`, {
    method: "POST",
    headers: { ...adminAuth, "content-type": "application/json" },
    body: JSON.stringify({ email, name: "Ws", role: "admin", password: PASSWORD })
  })
  expect(created.status).toBe(201)
  const signedIn = await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) })
  expect(signedIn.status).toBe(200)
  return (signedIn.headers.get("set-cookie") ?? "").split(";")[0] ?? ""
}

describe("the RPC door", () => {
  layer(TestSystem(), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("garbage on POST /rpc is a 400 MalformedRequest naming the line, never a Defect or a silent 200", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
            ["not JSON", "not json\n", /^line 1: not JSON: "not json"$/],
            ["an array", "[]\n", /^line 1: expected a JSON object, got an array$/],
            ["a number", "42\n", /^line 1: expected a JSON object, got number$/],
            ["a bare Request", '{"_tag":"Request"}\n', /^line 1: id: is missing$/],
            ["an unknown _tag", '{"_tag":"Teleport"}\n', /^line 1: _tag must be one of Request, Ack, Interrupt, Ping, Eof$/],
            ["headers as an object", '{"_tag":"Request","id":"1","tag":"Samples.Get","payload":{},"headers":{"a":1}}\n', /^line 1: headers: /],
            ["a header that is not a pair of strings", '{"_tag":"Request","id":"1","tag":"Samples.Get","payload":{},"headers":[["a",1]]}\n', /^line 1: headers\.0\.1: /],
            ["an unknown RPC", `${request("1", "Samples.Teleport", {})}\n`, /^line 1: tag: is not an RPC of this server: "Samples.Teleport"$/],
            ["a request id that is not a number", `${request("abc", "Samples.Get", { id: UNKNOWN })}\n`, /^line 1: id: must be a decimal request id$/],
            ["an unknown field", '{"_tag":"Ping","extra":true}\n', /^line 1: extra: /],
            ["NUL bytes", "\u0000\u0000\u0000\n", /^line 1: not JSON: "\\u0000\\u0000\\u0000"$/],
            ["a good line then a bad one", `${request("1", "Samples.Get", { id: UNKNOWN })}\n{"_tag":"Request","id":"2"}\n`, /^line 2: tag: is missing$/],
            ["a long line of garbage", `${"x".repeat(100_000)}\n`, /^line 1: not JSON: "x{24}…"$/],
            ["a 3,000-deep array", `${"[".repeat(3_000)}${"]".repeat(3_000)}\n`, /^the JSON is nested more than 32 levels deep$/],
            ["blank lines only", "\n\n  \n", /^line|^the body holds no RPC message/],
            ["an empty body", "", /^the body holds no RPC message/]
          ]
          for (const [what, body, message] of cases) {
            const res = await post(baseUrl, body)
            expect(res.status, `${what}: ${res.text}`).toBe(400)
            const answer = JSON.parse(res.text) as { error: string; message: string }
            expect(answer.error, what).toBe("MalformedRequest")
            expect(answer.message, what).toMatch(message)
            expect(res.text.length, what).toBeLessThan(400)
            expect(res.text, what).not.toMatch(/Defect|SyntaxError|at .*\.ts:\d+/)
          }
        })
      }))

    it.effect("a last line without its newline is served; a payload failing its schema is a typed InvalidInput of that request only", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          const unterminated = await post(baseUrl, request("7", "Samples.Get", { id: UNKNOWN }))
          expect(unterminated.status).toBe(200)
          expect(exitOf(unterminated.lines, "7")).toMatchObject({ exit: { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "SampleNotFound" } } } })

          const mixed = await post(baseUrl, [
            request("1", "Samples.Get", { id: "not-a-uuid" }),
            request("2", "Samples.List", { status: "lost_in_the_post", limit: 10 }),
            request("3", "Samples.Execute", { id: UNKNOWN, command: { _tag: "Teleport" } }),
            request("4", "Samples.Get", { id: UNKNOWN, extra: 1 }),
            JSON.stringify({ _tag: "Request", id: "5", tag: "Samples.Get", payload: JSON.parse(`{"id":"${UNKNOWN}","__proto__":{"admin":true}}`) as unknown, headers: [] }),
            request("6", "Samples.Get", { id: UNKNOWN })
          ].join("\n") + "\n")
          expect(mixed.status).toBe(200)
          expect(mixed.text).not.toMatch(/"Die"|"Defect"|ParseError|Universally Unique Identifier.*not-a-uuid.*\n.*└/)
          for (const [id, path] of [["1", "id"], ["2", "status"], ["3", "command"], ["4", "extra"], ["5", "__proto__"]] as const) {
            const exit = exitOf(mixed.lines, id)
            expect(exit, `request ${id}: ${mixed.text}`).toMatchObject({ exit: { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "InvalidInput" } } } })
            expect(JSON.stringify(exit), `request ${id}`).toContain(`"path":"${path}`)
          }
          // the others in the same body are served as usual
          expect(exitOf(mixed.lines, "6")).toMatchObject({ exit: { cause: { _tag: "Fail", error: { _tag: "SampleNotFound" } } } })
        })
      }))

    it.effect("WebSocket: a bearer key on the upgrade calls RPCs and streams Events.Watch; no credentials is Unauthenticated", () =>
      Effect.gen(function*() {
        yield* withWsClient(adminAuth, (client) =>
          Effect.scoped(Effect.gen(function*() {
            const { sample } = yield* client.Samples.Create({ sampleName: "WS-1", submitterEmail: "ada@lab.example", priority: "normal", flowCellType: "R10.4.1" })
            const read = yield* client.Samples.Get({ id: sample.id })
            expect(read.sampleName).toBe("WS-1")
            const missing = yield* client.Samples.Get({ id: SampleId.make(UNKNOWN) }).pipe(Effect.flip)
            expect(missing._tag).toBe("SampleNotFound")

            const arrivals = yield* Queue.unbounded<SampleEvent>()
            yield* client.Events.Watch({ sampleId: sample.id }).pipe(Stream.runForEach((e) => Queue.offer(arrivals, e)), Effect.forkScoped)
            const arrivalOf = (eventId: string): Effect.Effect<SampleEvent> =>
              Effect.flatMap(Queue.take(arrivals), (e) => (e.id === eventId ? Effect.succeed(e) : arrivalOf(eventId)))
            // The subscription starts server-side with no reply of its own: probe until a command's event comes through.
            const probes = yield* Ref.make(0)
            yield* Effect.gen(function*() {
              const n = yield* Ref.updateAndGet(probes, (k) => k + 1)
              const reply = yield* client.Samples.Execute({ id: sample.id, command: new ChangePriority({ priority: n % 2 === 1 ? "high" : "normal" }) })
              const eventId = reply.events[0]?.id ?? ""
              yield* arrivalOf(eventId).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new LiveFeedMiss({ message: "probe event not seen yet" }) }))
            }).pipe(Effect.retry({ times: 9 }))
            const received = yield* client.Samples.Execute({ id: sample.id, command: new Receive() })
            const event = yield* arrivalOf(received.events[0]?.id ?? "").pipe(
              Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new LiveFeedMiss({ message: "SampleReceived never arrived" }) })
            )
            expect(event.type).toBe("SampleReceived")
            expect(event.actor).toMatch(/^key:PORETRACK_ADMIN_TOKEN#/)
          })))

        const anonymous = yield* withWsClient({}, (client) => client.Samples.Get({ id: SampleId.make(UNKNOWN) }).pipe(Effect.flip))
        expect(anonymous._tag).toBe("Unauthenticated")
        const forged = yield* withWsClient({ authorization: "Bearer not-a-key" }, (client) => client.Samples.Get({ id: SampleId.make(UNKNOWN) }).pipe(Effect.flip))
        expect(forged._tag).toBe("Unauthenticated")
      }))

    it.effect("WebSocket: a session cookie works from the same origin (no CSRF header) and the upgrade is refused from another", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        const cookie = yield* Effect.promise(() => signIn(baseUrl, "ws-browser@lab.example"))
        const sameOrigin = yield* withWsClient({ cookie, origin: baseUrl }, (client) => client.Samples.List({ limit: 1 }))
        expect(sameOrigin.items.length).toBeLessThanOrEqual(1)
        const noOrigin = yield* withWsClient({ cookie }, (client) => client.Samples.Get({ id: SampleId.make(UNKNOWN) }).pipe(Effect.flip))
        expect(noOrigin._tag).toBe("SampleNotFound")
        yield* Effect.promise(async () => {
          expect(await upgradeStatus(baseUrl, { cookie, origin: baseUrl })).toBe(101)
          expect(await upgradeStatus(baseUrl, { cookie, origin: "https://evil.example" })).toBe(403)
          expect(await upgradeStatus(baseUrl, { ...adminAuth, origin: "null" })).toBe(403)
          expect(await upgradeStatus(baseUrl, { cookie, origin: baseUrl.replace("127.0.0.1", "localhost") })).toBe(403)
          // A plain GET is told to upgrade.
          const plain = await fetch(`${baseUrl}/rpc/ws`, { headers: adminAuth })
          expect(plain.status).toBe(426)
          expect(((await plain.json()) as { error: string }).error).toBe("UpgradeRequired")
          // Over HTTP the cookie alone is still not enough: a browser's POST needs the session's X-CSRF-Token.
          const noCsrf = await fetch(`${baseUrl}/rpc`, { method: "POST", headers: { "content-type": "application/ndjson", cookie }, body: `${request("1", "Samples.Get", { id: UNKNOWN })}\n` })
          expect(await noCsrf.text()).toContain("Unauthenticated")
        })
      }))

    it.effect("WebSocket frames: garbage closes with 1007, a frame over the size limit with 1009, a bad payload is a typed InvalidInput", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        yield* Effect.promise(async () => {
          for (const [frame, reason] of [
            ["not json", /^MalformedRequest: not JSON/],
            ["[]", /^MalformedRequest: expected a JSON object, got an array$/],
            ['{"_tag":"Request"}', /^MalformedRequest: id: is missing$/],
            ['{"_tag":"Request","id":"1","tag":"Samples.Get","payload":{},"headers":{"a":1}}', /^MalformedRequest: headers: /],
            [request("1", "Nope", {}), /^MalformedRequest: tag: is not an RPC of this server/],
            [`${"[".repeat(3_000)}${"]".repeat(3_000)}`, /^MalformedRequest: nested more than 32 levels$/]
          ] as const) {
            const run = await rawSocket(baseUrl, [frame], adminAuth)
            expect(run.close?.code, frame.slice(0, 40)).toBe(1007)
            expect(run.close?.reason, frame.slice(0, 40)).toMatch(reason)
            expect(run.messages).toEqual([])
          }
          const big = await rawSocket(baseUrl, [JSON.stringify({ _tag: "Request", id: "1", tag: "Samples.Get", payload: { id: "x".repeat(1_100_000) }, headers: [] })], adminAuth)
          expect(big.close?.code).toBe(1009)
          expect(big.close?.reason).toMatch(/^PayloadTooLarge/)

          const bad = await rawSocket(baseUrl, [request("1", "Samples.Get", { id: "not-a-uuid" }), request("2", "Samples.Get", { id: UNKNOWN })], adminAuth, (m) => m.length >= 2)
          expect(bad.close).toBeUndefined()
          expect(exitOf(bad.messages, "1")).toMatchObject({ exit: { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "InvalidInput", issues: [{ path: "id" }] } } } })
          expect(exitOf(bad.messages, "2")).toMatchObject({ exit: { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "SampleNotFound" } } } })
        })
      }))
  })
})
