/** A typed client of the whole RPC group over HTTP, as the web app builds it, authenticated as the test admin key. */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { RpcClient, RpcSerialization, type RpcClientError } from "@effect/rpc"
import { Context, Effect, Layer } from "effect"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import { TEST_ADMIN_TOKEN } from "./TestAuth.ts"
import { TestEndpoint } from "./TestSystem.ts"

/** The client. */
export class Poretrack extends Context.Tag("test/PoretrackRpcClient")<
  Poretrack,
  RpcClient.FromGroup<typeof PoretrackRpcs, RpcClientError.RpcClientError>
>() {}

/** The client against the test system's endpoint. */
export const ClientLive = Layer.scoped(Poretrack, RpcClient.make(PoretrackRpcs)).pipe(
  Layer.provide(Layer.unwrapEffect(Effect.map(TestEndpoint, ({ baseUrl }) =>
    RpcClient.layerProtocolHttp({ url: `${baseUrl}/rpc`, transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(TEST_ADMIN_TOKEN)) })))),
  Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
)
