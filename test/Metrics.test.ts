/**
 * What an operator reads off `/metrics`: the mailboxes of resident samples (depth, waits), messages and replies by
 * outcome on both sides of the cluster, and the persisted-message backlog with the age of its oldest due message.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Schedule, Stream } from "effect"
import { defaultPolicy } from "../actors/WorkflowPolicy.ts"
import { EventLog } from "../persistence/EventLog.ts"
import { EditFields, Receive } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

// Sample QC is due 3 s after it is queued: its at-risk timer (80 %) is due 2.4 s after receipt. Only the backlog test
// runs under it: in the mailbox test that timer's Wake, landing in the sample's mailbox when the commands take longer
// than 2.4 s (a loaded machine), would be one more message waited for than the test counts.
const policy = { ...defaultPolicy, expectedMs: { ...defaultPolicy.expectedMs, sample_qc: 3_000 } }

/** The value of one series (`name{labels}`), or undefined when the process does not expose it. */
const series = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== "{" && rest[0] !== " ") continue
    const labelText = rest[0] === "{" ? rest.slice(1, rest.indexOf("}")) : ""
    const found = Object.fromEntries(labelText.split(",").filter((p) => p !== "").map((p) => {
      const [k, v] = p.split("=") as [string, string]
      return [k, v.replace(/^"|"$/g, "")]
    }))
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.split(" ").pop())
  }
  return undefined
}

const scrape = Effect.flatMap(TestEndpoint, ({ baseUrl }) =>
  Effect.promise(() => fetch(`${baseUrl}/metrics`).then((r) => r.text())))

/** Scrapes until `ready` holds (the state comes from other fibers' clocks: the runner's poller), at most 15 s. */
const scrapeUntil = (ready: (text: string) => boolean) =>
  scrape.pipe(
    Effect.filterOrFail(ready, () => "not yet" as const),
    Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(15)))),
    Effect.orElse(() => scrape)
  )

const newSamples = (n: number) => submitSamples(n, { prefix: "m" }).pipe(Effect.map((c) => c.samples.map((s) => s.id)))

describe("metrics", () => {
  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.effect("mailbox depth and waits, messages and replies by outcome, on the runner and the sending side", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const [id] = yield* newSamples(1)
        const before = yield* scrape
        const repliedBefore = series(before, "poretrack_entity_replies_total", { entity_type: "Sample", message: "Execute", outcome: "success" }) ?? 0
        const waitsBefore = series(before, "poretrack_mailbox_wait_seconds_count", { entity_type: "Sample" }) ?? 0
        const refusedBefore = series(before, "poretrack_cluster_responses_total", { outcome: "refused" }) ?? 0

        // Twenty commands at once to one sample: they queue in its mailbox and are processed one at a time.
        yield* api.execute(id!, new Receive(), `rcv-${id}`, "t")
        yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => api.execute(id!, new EditFields({ fields: { details: { notes: `note ${i}` } } }), `note-${i}`, "t"),
          { concurrency: "unbounded" }
        )
        // One refusal: a second receive under a new key.
        const refused = yield* Effect.flip(api.execute(id!, new Receive(), "rcv-again", "t"))
        expect(refused._tag).toBe("StepTransitionRefused")

        const after = yield* scrape
        expect(series(after, "poretrack_entity_replies_total", { entity_type: "Sample", message: "Execute", outcome: "success" })).toBe(repliedBefore + 21)
        expect(series(after, "poretrack_entity_replies_total", { entity_type: "Sample", message: "Execute", outcome: "failure" })).toBeGreaterThanOrEqual(1)
        expect(series(after, "poretrack_entity_messages_total", { entity_type: "Sample", message: "Execute" })).toBeGreaterThanOrEqual(repliedBefore + 22)
        expect(series(after, "poretrack_mailbox_wait_seconds_count", { entity_type: "Sample" })).toBe(waitsBefore + 22)
        // Waiting behind nineteen others takes longer than the fastest bucket: some waits landed above it.
        const fastest = series(after, "poretrack_mailbox_wait_seconds_bucket", { entity_type: "Sample", le: "0.0005" }) ?? 0
        expect(fastest).toBeLessThan(waitsBefore + 22)
        // Every message was answered, so nothing is left in a mailbox.
        expect(series(after, "poretrack_mailbox_messages", { entity_type: "Sample" })).toBe(0)
        expect(series(after, "poretrack_cluster_requests_total", { entity_type: "Sample", message: "Execute" })).toBeGreaterThanOrEqual(22)
        expect(series(after, "poretrack_cluster_responses_total", { outcome: "success" })).toBeGreaterThanOrEqual(21)
        expect(series(after, "poretrack_cluster_responses_total", { outcome: "refused" })).toBe(refusedBefore + 1)
        expect(series(after, "poretrack_transitions_total", { command: "EditFields", priority: "normal" })).toBe(20)
        // A valid exposition: every series once, every histogram with one +Inf bucket equal to its count.
        const samples = after.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.slice(0, l.lastIndexOf(" ")))
        expect(samples.length).toBe(new Set(samples).size)
        expect(series(after, "poretrack_mailbox_wait_seconds_bucket", { entity_type: "Sample", le: "+Inf" }))
          .toBe(series(after, "poretrack_mailbox_wait_seconds_count", { entity_type: "Sample" }))
      }))
  })

  layer(TestSystem({ policy }), { excludeTestServices: true })((it) => {
    it.scoped("the persisted-message backlog: an armed timer is scheduled; a due one nobody takes ages until it is taken", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const log = yield* EventLog
        const { databaseUrl } = yield* TestEndpoint
        const [id] = yield* newSamples(1)
        const atRisk = yield* log.live({ sampleId: id! }).pipe(
          Stream.filter((e) => e.type === "SlaAtRisk"),
          Stream.take(1),
          Stream.runCollect,
          Effect.map(Chunk.toArray),
          Effect.forkScoped
        )
        yield* Effect.yieldNow()
        yield* api.execute(id!, new Receive(), `rcv-${id}`, "t")
        // The runner would take the timer when due; mark it as read by another runner, as a runner that died would.
        const claimed = yield* Effect.promise(() =>
          query<{ n: number }>(databaseUrl, `WITH u AS (UPDATE cluster_messages SET last_read = now() WHERE entity_id = $1 AND processed = false RETURNING 1) SELECT count(*)::int AS n FROM u`, [id])
        )
        expect(claimed[0]!.n).toBe(1)
        const armed = yield* scrape
        expect(series(armed, "poretrack_cluster_messages_scheduled")).toBeGreaterThanOrEqual(1)

        // Once due, the unclaimed timer shows as due, and its age grows (scraped until it does, at most 15 s).
        const stuck = yield* scrapeUntil((text) => (series(text, "poretrack_cluster_oldest_unprocessed_message_age_seconds") ?? 0) >= 1)
        expect(series(stuck, "poretrack_cluster_messages_due")).toBeGreaterThanOrEqual(1)
        expect(series(stuck, "poretrack_cluster_oldest_unprocessed_message_age_seconds")).toBeGreaterThanOrEqual(1)

        // Released, the runner takes it: the at-risk event is raised and the backlog drains.
        yield* Effect.promise(() => query(databaseUrl, `UPDATE cluster_messages SET last_read = NULL WHERE entity_id = $1 AND processed = false`, [id]))
        // (Bounded from the release, not from the start: the steps before may be slow on a loaded machine.)
        const raised = yield* Fiber.join(atRisk).pipe(Effect.timeout(Duration.seconds(30)))
        expect(raised.map((e) => e.type)).toEqual(["SlaAtRisk"])
        // (The message is marked processed just after the handler's commit, which the live feed already reported.)
        const drained = yield* scrapeUntil((text) => series(text, "poretrack_cluster_messages_due") === 0)
        expect(series(drained, "poretrack_cluster_messages_due")).toBe(0)
        expect(series(drained, "poretrack_cluster_oldest_unprocessed_message_age_seconds")).toBe(0)
      }))
  })
})
