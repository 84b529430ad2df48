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

/**
 * The reactivity keys events touch. The notifier's NotificationTriggered changes no sample: it touches only its
 * sample's page (the audit trail), so a burst of notifications re-reads no list, queue or dashboard. An export's
 * events belong to no sample: they touch the exports list and that job.
 */
export const keysOf = (events: Iterable<SampleEvent>): Array<string> => {
  const keys = new Set<string>()
  for (const e of events) {
    if (e.type.startsWith("Export")) {
      const exportId = (e.data as { readonly exportId?: unknown } | null)?.exportId
      keys.add("exports")
      if (typeof exportId === "string") keys.add(`export:${exportId}`)
      continue
    }
    keys.add(`sample:${e.sampleId}`)
    if (e.type === "NotificationTriggered") continue
    keys.add(`submission:${e.submissionId}`)
    for (const k of ["samples", "queues", "dashboard", "submissions"]) keys.add(k)
  }
  return [...keys]
}

/**
 * Keys whose queries are costly to re-read (the dashboard aggregates the whole facility): the first event re-reads at
 * once, later ones within a second are folded into one re-read at the end of that second.
 */
const THROTTLED = new Set(["dashboard"])
export const THROTTLE_MS = 1000

/**
 * A throttle per key: `run` at once when the key's last run is `ms` or more ago, else once at the end of that window
 * (however many calls fell into it); that run opens the next window.
 */
export const makeThrottle = (ms: number) => {
  const windows = new Map<string, { until: number; pending: boolean }>()
  return (key: string, run: () => void): void => {
    const now = Date.now()
    const w = windows.get(key)
    if (w === undefined || now >= w.until) {
      windows.set(key, { until: now + ms, pending: false })
      run()
      return
    }
    if (w.pending) return
    w.pending = true
    setTimeout(() => {
      windows.set(key, { until: Date.now() + ms, pending: false })
      run()
    }, w.until - now)
  }
}
const throttled = makeThrottle(THROTTLE_MS)

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
            const keys = keysOf(events)
            reactivity.unsafeInvalidate(keys.filter((k) => !THROTTLED.has(k)))
            for (const k of keys) if (THROTTLED.has(k)) throttled(k, () => reactivity.unsafeInvalidate([k]))
          }))
      )
    })
    return yield* connect.pipe(
      Effect.tapErrorCause(() => Effect.sync(() => get.set(liveStatusAtom, "reconnecting"))),
      Effect.retry(Schedule.exponential("500 millis").pipe(Schedule.union(Schedule.spaced("10 seconds")))),
      Effect.forever
    )
  }))
