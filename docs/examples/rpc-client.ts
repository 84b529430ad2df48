// A typed RPC client of poretrack: the contracts come from rpc/, the server checks every payload against the same schemas.
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { Effect, Layer } from "effect"
import { PoretrackRpcs } from "../../rpc/PoretrackRpcs.ts"

const program = Effect.gen(function*() {
  const client = yield* RpcClient.make(PoretrackRpcs)
  const page = yield* client.Samples.List({ status: "in_progress", limit: 5 })
  for (const s of page.items) console.log(s.sampleName, s.currentStep, s.sla.status)
}).pipe(Effect.scoped)

const Protocol = RpcClient.layerProtocolHttp({
  url: `${process.env.PORETRACK_URL ?? "http://localhost:3000"}/rpc`,
  transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(process.env.PORETRACK_API_KEY ?? ""))
}).pipe(Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson]))

Effect.runPromise(Effect.provide(program, Protocol))
