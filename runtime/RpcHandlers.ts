/**
 * The handlers of `PoretrackRpcs`, served at `/rpc` (Effect RPC over HTTP, NDJSON) and `/rpc/ws` (WebSocket), with
 * the same authentication and the same authorization rules as the REST bridge (runtime/Authorization.ts).
 */
import { Headers } from "@effect/platform"
import { Cookies } from "@effect/platform"
import { Clock, Effect, Layer, Stream } from "effect"
import { Policy } from "../actors/WorkflowPolicy.ts"
import { DashboardRepo } from "../persistence/DashboardRepo.ts"
import { actorOf, RateLimited, Unauthenticated } from "../rpc/Auth.ts"
import { CurrentPrincipal, SESSION_COOKIE } from "../rpc/PoretrackApi.ts"
import { PoretrackRpcs, RpcAuthentication } from "../rpc/PoretrackRpcs.ts"
import type { SampleId } from "../rpc/Ids.ts"
import { SubmissionInput } from "../rpc/Api.ts"
import { decodeSubmission } from "../rpc/Decode.ts"
import { Schema } from "effect"
import { Auth } from "./Auth.ts"
import { ExportNotificationRpcHandlers } from "./ExportNotificationRpcHandlers.ts"
import { ExtractionRpcHandlers } from "./ExtractionRpcHandlers.ts"
import { mayCommand, ownEmailOf, refuse, requireCommand, requireCreate, requirePermission, requireSampleRead, requireSubmissionRead } from "./Authorization.ts"
import { requireSettingsChange, requireSettingsRead } from "./Authorization.ts"
import { RateLimiter } from "./RateLimiter.ts"
import { SampleApi } from "./SampleApi.ts"
import { readSettings, updateSettings } from "./Settings.ts"

const encodeSubmission = Schema.encodeSync(SubmissionInput)

/**
 * Bearer key, else session cookie, then the principal's bucket. Over HTTP (every RPC is a POST) the cookie must come
 * with the session's X-CSRF-Token header. Over WebSocket the headers are those of the upgrade request (plus the
 * message's own), which a browser cannot extend: there the door has refused any upgrade from another origin
 * (runtime/Door.ts `sameOrigin`), so the cookie of an accepted socket is the app's own and needs no token.
 */
const rpcAuthentication = (transport: "http" | "websocket") => Layer.effect(
  RpcAuthentication,
  Effect.gen(function*() {
    const auth = yield* Auth
    const limiter = yield* RateLimiter
    return RpcAuthentication.of(({ headers }) =>
      Effect.gen(function*() {
        const authorization = Headers.get(headers, "authorization")
        const principal = authorization._tag === "Some" && authorization.value.startsWith("Bearer ")
          ? yield* auth.authenticateBearer(authorization.value.slice("Bearer ".length))
          : yield* Effect.gen(function*() {
            const cookie = Headers.get(headers, "cookie")
            const token = cookie._tag === "Some" ? Cookies.parseHeader(cookie.value)[SESSION_COOKIE] : undefined
            if (token === undefined) return yield* new Unauthenticated({ message: "sign in, or send Authorization: Bearer <API key>" })
            const session = yield* auth.authenticateSession(token)
            const csrf = Headers.get(headers, "x-csrf-token")
            if (transport === "http" && (csrf._tag === "None" || csrf.value !== session.csrfToken)) {
              return yield* new Unauthenticated({ message: "an RPC from a signed-in browser must carry the session's X-CSRF-Token header" })
            }
            return session.principal
          })
        const taken = limiter.principal(`${principal._tag}:${principal.id}`)
        if (!taken.allowed) {
          return yield* new RateLimited({ message: `rate limit reached; retry in ${taken.retryAfterSeconds} s`, retryAfterSeconds: taken.retryAfterSeconds })
        }
        return principal
      })
    )
  })
)

/** RpcAuthentication for `POST /rpc`: bearer key, or session cookie with its X-CSRF-Token. */
export const RpcAuthenticationLive = rpcAuthentication("http")

/** RpcAuthentication for `/rpc/ws`: bearer key or session cookie on the (same-origin) upgrade request. */
export const RpcAuthenticationWebSocketLive = rpcAuthentication("websocket")

/** Every RPC mapped onto the application service, after the principal's rights are checked. */
export const RpcHandlersLive = PoretrackRpcs.toLayer(
  Effect.gen(function*() {
    const api = yield* SampleApi
    const dashboard = yield* DashboardRepo
    const policies = yield* Policy
    const readable = (id: SampleId) =>
      Effect.gen(function*() {
        const sample = yield* api.get(id)
        yield* requireSampleRead(yield* CurrentPrincipal, sample)
        return sample
      })
    return {
      ...(yield* ExportNotificationRpcHandlers),
      ...ExtractionRpcHandlers,
      "Samples.Create": ({ idempotencyKey, ...input }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          yield* requireCreate(principal, input.submitterEmail)
          return yield* api.createSample(input, actorOf(principal), idempotencyKey)
        }),
      "Samples.Get": ({ id }) => readable(id),
      "Samples.List": (q) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          yield* requirePermission(principal, "samples:read")
          const own = ownEmailOf(principal)
          return yield* api.list(own !== undefined ? { ...q, submitter: own } : q)
        }),
      "Samples.Workflow": ({ id }) =>
        Effect.gen(function*() {
          const sample = yield* readable(id)
          const principal = yield* CurrentPrincipal
          const view = yield* api.workflow(id)
          // What this caller may send now: the state's commands that their role (or scopes) also allows.
          return { ...view, allowedCommands: view.allowedCommands.filter((tag) => mayCommand(principal, tag, sample)) }
        }),
      "Samples.Events": ({ id }) => Effect.zipRight(readable(id), api.events(id)),
      "Samples.Execute": ({ command, expectedVersion, id, idempotencyKey }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const sample = ownEmailOf(principal) !== undefined ? yield* api.get(id) : { id, submitterEmail: "", status: "in_progress" as const }
          yield* requireCommand(principal, command._tag, sample)
          return yield* api.execute(id, command, idempotencyKey, actorOf(principal), expectedVersion)
        }),
      "Samples.Batch": ({ command, idempotencyKey, sampleIds }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          if (ownEmailOf(principal) !== undefined) return yield* refuse(principal, "batch commands are for facility staff and keys with samples:write")
          yield* requireCommand(principal, command._tag, { id: "", submitterEmail: "", status: "in_progress" })
          return yield* api.batch(sampleIds, command, idempotencyKey, actorOf(principal))
        }),
      "Submissions.Create": ({ idempotencyKey, ...input }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          yield* requireCreate(principal, input.submitterEmail)
          // The same row rules as the REST bridge (names unique within the submission, …).
          const checked = yield* decodeSubmission(encodeSubmission(input))
          return yield* api.createSubmission(checked, actorOf(principal), idempotencyKey)
        }),
      "Submissions.List": (q) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          yield* requirePermission(principal, "samples:read")
          // A submitter's list is their own submissions, each counting only their own samples.
          return yield* api.listSubmissions(q, ownEmailOf(principal))
        }),
      "Submissions.Get": ({ id }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          yield* requirePermission(principal, "samples:read")
          const found = yield* api.submissionDetail(id, ownEmailOf(principal))
          yield* requireSubmissionRead(principal, found.submission)
          return found
        }),
      "Queues.Get": ({ cursor, limit, step }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          if (ownEmailOf(principal) !== undefined) return yield* refuse(principal, "the lab's queues are for facility staff")
          yield* requirePermission(principal, "samples:read")
          return yield* api.queue(step, cursor, limit)
        }),
      "Dashboard.Get": ({ timeZone, weeks }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          // Counts over every sample: a submitter's dashboard would show other submitters' work.
          if (ownEmailOf(principal) !== undefined) return yield* refuse(principal, "the facility dashboard is for facility staff")
          yield* requirePermission(principal, "samples:read")
          const now = yield* Clock.currentTimeMillis
          return yield* dashboard.get({ now, weeks, timeZone, policy: yield* policies.current })
        }),
      "Settings.Get": () =>
        Effect.gen(function*() {
          yield* requireSettingsRead(yield* CurrentPrincipal)
          return yield* readSettings()
        }),
      "Settings.Update": (update) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          yield* requireSettingsChange(principal)
          return yield* updateSettings(update, principal)
        }),
      "Events.Read": ({ consumer, limit }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          yield* requirePermission(principal, "events:read")
          return yield* api.readEvents(actorOf(principal), consumer, limit ?? 100)
        }),
      "Events.Ack": ({ consumer, cursor }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          yield* requirePermission(principal, "events:read")
          return yield* api.ackEvents(actorOf(principal), consumer, cursor)
        }),
      "Events.Watch": ({ sampleId }) =>
        Stream.unwrap(Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const own = ownEmailOf(principal)
          if (own !== undefined) {
            if (sampleId === undefined) {
              // A submitter's whole feed: only events of samples whose submitter e-mail is theirs (owners cached).
              const owners = new Map<string, boolean>()
              const mine = (id: SampleId) =>
                owners.has(id) ? Effect.succeed(owners.get(id)!) : api.get(id).pipe(
                  Effect.map((s) => s.submitterEmail.toLowerCase() === own),
                  Effect.orElseSucceed(() => false),
                  Effect.tap((yes) => Effect.sync(() => {
                    if (owners.size > 10_000) owners.clear()
                    owners.set(id, yes)
                  }))
                )
              return api.live({}).pipe(Stream.filterEffect((e) => mine(e.sampleId)))
            }
            yield* readable(sampleId)
          } else {
            yield* requirePermission(principal, "samples:read")
          }
          return api.live({ sampleId })
        }))
    }
  })
)
