/** Resident samples: commands from this process go straight to the sample's actor; the cluster's messages reach the same one. */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Metric, Option } from "effect"
import { metricSum } from "./Client.ts"
import { LocalSamples } from "../actors/LocalSamples.ts"
import { encodeCommand, Sample } from "../actors/Sample.ts"
import { CompleteStep, Receive, StartStep } from "../rpc/Commands.ts"
import { SampleRepo } from "../persistence/SampleRepo.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { holdingEveryShard, submitSamples, TestEndpoint, TestSystem } from "./TestSystem.ts"

/** Messages Sample entities on this runner took from their mailboxes (whichever path brought them). */
const mailboxMessages = Metric.snapshot.pipe(Effect.map((pairs) =>
  pairs
    .filter((p) => p.metricKey.name === "poretrack_entity_messages_total" && p.metricKey.tags.some((t) => t.key === "entity_type" && t.value === "Sample"))
    .reduce((n, p) => n + ("count" in p.metricState && typeof p.metricState.count === "number" ? p.metricState.count : 0), 0)
))

/** Statements that loaded samples for their actors (each reads one or more rows). */
const loadStatements = Metric.snapshot.pipe(Effect.map((pairs) =>
  pairs
    .filter((p) => p.metricKey.name === "poretrack_load_group_size")
    .reduce((n, p) => n + ("count" in p.metricState && typeof p.metricState.count === "number" ? p.metricState.count : 0), 0)
))

describe("resident samples", () => {
  layer(TestSystem({ settings: { entityMaxIdle: Duration.seconds(1) } }), { excludeTestServices: true })((it) => {
    it.effect("commands to a resident sample go straight to its mailbox, in order; once idle it leaves, and the next command loads it again", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const local = yield* LocalSamples
        const { databaseUrl } = yield* TestEndpoint
        yield* holdingEveryShard
        const { samples } = yield* submitSamples(1)
        const id = samples[0]!.id
        // Created here (its shard is this runner's), the sample is resident at once: its first command reads no row.
        expect(local.get(id)).toBeDefined()
        const loadsBefore = yield* loadStatements
        yield* api.execute(id, new Receive(), "r-1", "tech")
        expect(yield* loadStatements).toBe(loadsBefore)

        // Commands from this process now reach the entity through its mailbox (counted there like any message), each
        // committed in turn behind the fence: concurrent senders of the same steps get one answer each.
        const before = yield* mailboxMessages
        const started = yield* api.execute(id, new StartStep({ step: "sample_qc" }), "s-1", "tech")
        const [a, b] = yield* Effect.all([
          api.execute(id, new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } }), "c-1", "tech"),
          api.execute(id, new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } }), "c-1", "tech")
        ], { concurrency: "unbounded" })
        expect(started.sample.version).toBe(3)
        expect([a.replayed, b.replayed].sort()).toEqual([false, true])
        expect(a.sample.version).toBe(4)
        expect(b.sample.version).toBe(4)
        expect((yield* mailboxMessages) - before).toBe(3)

        // Idle past ENTITY_MAX_IDLE, the actor leaves; the next command makes it resident again, loaded from the row.
        while (local.get(id) !== undefined) yield* Effect.sleep(Duration.millis(100))
        const next = yield* api.execute(id, new StartStep({ step: "library_prep" }), "s-2", "tech")
        expect(next.sample.version).toBe(5)
        expect(local.get(id)).toBeDefined()
        const rows = yield* Effect.promise(() =>
          query<{ version: number }>(databaseUrl, "SELECT version FROM sample_events WHERE sample_id = $1 AND type <> 'NotificationTriggered' ORDER BY seq", [id])
        )
        expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5])
      }), { timeout: 60_000 })
  })

  layer(TestSystem({ settings: { entityMaxIdle: Duration.minutes(5) } }), { excludeTestServices: true })((it) => {
    it.effect("a command through the cluster reaches the same actor as the local ones: one copy, one mailbox, no fencing", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const local = yield* LocalSamples
        const client = yield* Sample.client
        const { baseUrl } = yield* TestEndpoint
        const { samples } = yield* submitSamples(1, { prefix: "doors" })
        const id = samples[0]!.id
        const fencedBefore = yield* Effect.promise(() => metricSum(baseUrl, "poretrack_fencing_failures_total"))
        yield* api.execute(id, new Receive(), "d-1", "tech")
        const actor = local.get(id)
        expect(actor).toBeDefined()
        // The way a gateway's command or an SLA timer arrives: as a message to the sample's cluster entity.
        const viaCluster = yield* client(id).Execute({
          command: encodeCommand(new StartStep({ step: "sample_qc" })),
          idempotencyKey: "d-2",
          actor: "tech"
        })
        expect(viaCluster.sample.version).toBe(3)
        expect(local.get(id)).toBe(actor)
        // Had the cluster's message gone to a second copy, this one's copy would be a version behind and be fenced.
        const after = yield* api.execute(id, new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } }), "d-3", "tech")
        expect(after.sample.version).toBe(4)
        expect(after.replayed).toBe(false)
        expect(yield* Effect.promise(() => metricSum(baseUrl, "poretrack_fencing_failures_total"))).toBe(fencedBefore)
      }), { timeout: 60_000 })

    it.effect("a sample created here holds exactly the copy its row gives: state, no timer, no idempotency keys", () =>
      Effect.gen(function*() {
        const local = yield* LocalSamples
        const repo = yield* SampleRepo
        const api = yield* SampleApi
        // Details of every kind, a per-row priority and flow cell, an address in capitals (the row's column is lower case).
        yield* holdingEveryShard
        const { samples } = yield* api.createSubmission({
          submitterEmail: "Ada.Lovelace@Lab.Example",
          source: "csv",
          priority: "normal",
          flowCellType: "R10.4.1",
          samples: [
            { sampleName: "copy-1", libraryKit: "SQK-LSK114", sampleType: "gDNA", organism: "Homo sapiens", concentrationNgUl: 55.5, volumeUl: 30, genomeSizeMb: 3100 },
            { sampleName: "copy-2", priority: "urgent", flowCellType: "R9.4.1" },
            { sampleName: "copy-3 with spaces and ünïcode" }
          ]
        }, "test")
        for (const created of samples) {
          const seeded = local.get(created.id)?.loaded
          expect(seeded).toBeDefined()
          const row = Option.getOrThrow(yield* repo.load(created.id))
          expect(seeded!.state).toEqual(row.state)
          expect(seeded!.timerAt).toBe(row.timerAt)
          expect([seeded!.commands.size, seeded!.commands.complete]).toEqual([row.commands.size, row.commands.complete])
        }
        // Its first command runs on that copy and commits behind the fence, like one on a loaded copy.
        const received = yield* api.execute(samples[0]!.id, new Receive(), "copy-r", "tech")
        expect([received.sample.version, received.sample.status, received.replayed]).toEqual([2, "in_progress", false])
        expect(Option.getOrThrow(yield* repo.load(samples[0]!.id)).state).toEqual(local.get(samples[0]!.id)?.loaded?.state)
      }), { timeout: 60_000 })
  })
})
