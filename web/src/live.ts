/**
 * The live feed: one `Events.Watch` stream per open app. Every event invalidates what it changed (the sample, its
 * submission, the lists, queues and dashboard), batched over 150 ms, so each open query re-reads once. No polling:
 * the server pushes; a dropped stream reconnects with back-off and then re-reads everything once.
 */
import { Atom } from "@effect-atom/atom-react"
import { Reactivity } from "@effect/experimental"
import { Chunk, Effect, Schedule, Stream } from "effect"
import type { SampleEvent } from "../../rpc/Workflow.ts"
import { Rpc } from "./client.ts"

export type LiveStatus = "connecting" | "live" | "reconnecting"

/** The feed's state, shown in the header. */
export const liveStatusAtom = Atom.make<LiveStatus>("connecting").pipe(Atom.keepAlive)
/** The newest event seen (tests and the header read it). */
export const lastEventAtom = Atom.make<SampleEvent | null>(null).pipe(Atom.keepAlive)

/** The reactivity keys an event touches. */
export const keysOf = (events: Iterable<SampleEvent>): Array<string> => {
  const keys = new Set<string>(["samples", "queues", "dashboard", "submissions"])
  for (const e of events) {
    keys.add(`sample:${e.sampleId}`)
    keys.add(`submission:${e.submissionId}`)
  }
  return [...keys]
}

/** Mounted once by the app shell while signed in: `sampleId` narrows the feed (a submitter's page of one sample). */
export const liveFeedAtom = Rpc.runtime.atom((get) =>
  Effect.gen(function*() {
    const client = yield* Rpc
    const reactivity = yield* Reactivity.Reactivity
    let connectedBefore = false
    const connect = Effect.gen(function*() {
      get.set(liveStatusAtom, connectedBefore ? "reconnecting" : "connecting")
      yield* client("Events.Watch", {}).pipe(
        Stream.onStart(Effect.sync(() => {
          get.set(liveStatusAtom, "live")
          // After a gap, what happened meanwhile is read once.
          if (connectedBefore) reactivity.unsafeInvalidate(["samples", "queues", "dashboard", "submissions", "sample"])
          connectedBefore = true
        })),
        Stream.groupedWithin(500, "150 millis"),
        Stream.runForEach((chunk) =>
          Effect.sync(() => {
            const events = Chunk.toReadonlyArray(chunk)
            const last = events[events.length - 1]
            if (last !== undefined) get.set(lastEventAtom, last)
            reactivity.unsafeInvalidate(keysOf(events))
          }))
      )
    })
    return yield* connect.pipe(
      Effect.tapErrorCause(() => Effect.sync(() => get.set(liveStatusAtom, "reconnecting"))),
      Effect.retry(Schedule.exponential("500 millis").pipe(Schedule.union(Schedule.spaced("10 seconds")))),
      Effect.forever
    )
  }))
