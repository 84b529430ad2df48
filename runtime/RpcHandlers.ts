/** The handlers of `PoretrackRpcs`, served at `/rpc` (Effect RPC over HTTP, NDJSON). */
import { Effect } from "effect"
import { PoretrackRpcs } from "../rpc/PoretrackRpcs.ts"
import { SampleApi } from "./SampleApi.ts"

const RPC_ACTOR = "rpc"

/** Every RPC mapped onto the application service. */
export const RpcHandlersLive = PoretrackRpcs.toLayer(
  Effect.gen(function*() {
    const api = yield* SampleApi
    return {
      "Samples.Create": (input) => api.createSample(input, RPC_ACTOR),
      "Samples.Get": ({ id }) => api.get(id),
      "Samples.List": (q) => api.list(q),
      "Samples.Workflow": ({ id }) => api.workflow(id),
      "Samples.Events": ({ id }) => api.events(id),
      "Samples.Execute": ({ command, id, idempotencyKey }) => api.execute(id, command, idempotencyKey, RPC_ACTOR),
      "Samples.Batch": ({ command, idempotencyKey, sampleIds }) => api.batch(sampleIds, command, idempotencyKey, RPC_ACTOR),
      "Submissions.Create": (input) => api.createSubmission(input, RPC_ACTOR),
      "Queues.Get": ({ cursor, limit, step }) => api.queue(step, cursor, limit),
      "Events.Read": ({ consumer, limit }) => api.readEvents(consumer, limit ?? 100),
      "Events.Ack": ({ consumer, cursor }) => api.ackEvents(consumer, cursor),
      "Events.Watch": ({ sampleId }) => api.live({ sampleId })
    }
  })
)
