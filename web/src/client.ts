/**
 * The app's two typed clients, both built from the contracts in rpc/ (no JSON shape is written by hand here): the RPC
 * group over HTTP (`/rpc`, NDJSON, streams included) for everything samples, queues, submissions and the live feed,
 * and the REST bridge's HttpApi client for the account and admin routes (sign-in sets the session cookie). A signed-in
 * browser echoes its session's CSRF token on every call.
 */
import { AtomHttpApi, AtomRpc } from "@effect-atom/atom-react"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { Layer } from "effect"
import { PoretrackApi } from "../../rpc/PoretrackApi.ts"
import { PoretrackRpcs } from "../../rpc/PoretrackRpcs.ts"

let csrfToken = ""
/** Called with the token of the session the browser holds (sign-in, or the session read at start). */
export const rememberCsrfToken = (token: string) => {
  csrfToken = token
}

const withCsrf = HttpClient.mapRequest((request) =>
  csrfToken === "" ? request : HttpClientRequest.setHeader(request, "x-csrf-token", csrfToken))

/** The RPC group as atoms: `Rpc.query(tag, payload, { reactivityKeys })` and `Rpc.mutation(tag)`. */
export class Rpc extends AtomRpc.Tag<Rpc>()("Rpc", {
  group: PoretrackRpcs,
  protocol: RpcClient.layerProtocolHttp({ url: `${globalThis.location?.origin ?? "http://localhost"}/rpc`, transformClient: withCsrf }).pipe(
    Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
  )
}) {}

/** The REST bridge as atoms: `Api.query(group, endpoint, request)` and `Api.mutation(group, endpoint)`. */
export class Api extends AtomHttpApi.Tag<Api>()("Api", {
  api: PoretrackApi,
  httpClient: FetchHttpClient.layer,
  transformClient: withCsrf,
  baseUrl: globalThis.location?.origin ?? "http://localhost"
}) {}
