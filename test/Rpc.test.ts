/** The typed RPC surface at `/rpc` over real HTTP (NDJSON), as the browser uses it: typed results, typed errors, live feed. */
import { describe, expect, layer } from "@effect/vitest"
import { Data, Effect, Layer, Queue, Ref, Stream } from "effect"
import type { NewSampleInput } from "../rpc/Api.ts"
import { ChangePriority, CompleteStep, Hold, Receive, Resume, StartStep } from "../rpc/Commands.ts"
import { SampleId } from "../rpc/Ids.ts"
import type { SampleEvent } from "../rpc/Workflow.ts"
import { adminAuth } from "./TestAuth.ts"
import { query } from "./TestDatabase.ts"
import { ClientLive, Poretrack } from "./RpcTestClient.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"


const newSample = (sampleName: string): NewSampleInput => ({
  sampleName,
  submitterEmail: "ada@lab.example",
  priority: "normal",
  flowCellType: "R10.4.1",
  libraryKit: "SQK-LSK114"
})

const qc = new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } })

const UNKNOWN = SampleId.make("00000000-0000-4000-8000-000000000000")

/** The live feed did not deliver an expected event in time. */
class LiveFeedMiss extends Data.TaggedError("LiveFeedMiss")<{ readonly message: string }> {}

/** Sends NDJSON lines to `/rpc` by hand, bypassing the client's encoding, and returns the parsed response lines. */
const rawRpc = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestEndpoint
    return yield* Effect.promise(async () => {
      const response = await fetch(`${baseUrl}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/ndjson", ...adminAuth },
        body: lines.map((l) => `${l}\n`).join("")
      })
      const text = await response.text()
      const parsed: Array<unknown> = text.split("\n").filter((l) => l.trim().length > 0).map((l): unknown => JSON.parse(l))
      return { status: response.status, messages: parsed }
    })
  })

/** The `Exit` message among the response lines. */
const exitOf = (messages: ReadonlyArray<unknown>) =>
  messages.find((m) => typeof m === "object" && m !== null && "_tag" in m && m._tag === "Exit")

const request = (id: string, tag: string, payload: unknown) =>
  JSON.stringify({ _tag: "Request", id, tag, payload, headers: [] })

describe("typed RPC over HTTP", () => {
  layer(ClientLive.pipe(Layer.provideMerge(TestSystem())), { excludeTestServices: true })((it) => {
    it.effect("Samples.Create returns the new sample, Samples.Get reads it back", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const created = yield* client.Samples.Create(newSample("RPC-1"))
        expect(created.sample.sampleName).toBe("RPC-1")
        expect(created.sample.status).toBe("submitted")
        expect(created.sample.version).toBe(1)
        expect(created.sample.details.libraryKit).toBe("SQK-LSK114")
        expect(created.warnings).toEqual([])
        const read = yield* client.Samples.Get({ id: created.sample.id })
        expect(read.id).toBe(created.sample.id)
        expect(read.submissionId).toBe(created.sample.submissionId)
        expect(read.status).toBe("submitted")
      }))

    it.effect("Submissions.Create makes every row a sample of one submission", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const created = yield* client.Submissions.Create({
          submitterEmail: "Grace@Lab.Example",
          source: "api",
          priority: "high",
          flowCellType: "R10.4.1",
          lab: "Genomics",
          samples: [{ sampleName: "SUB-A" }, { sampleName: "SUB-B", priority: "urgent" }, { sampleName: "SUB-C" }]
        })
        expect(created.submission.sampleCount).toBe(3)
        expect(created.submission.submitterEmail).toBe("grace@lab.example")
        expect(created.submission.createdBy).toMatch(/^key:PORETRACK_ADMIN_TOKEN#/)
        expect(created.samples.map((s) => [s.sampleName, s.position, s.priority])).toEqual([
          ["SUB-A", 1, "high"],
          ["SUB-B", 2, "urgent"],
          ["SUB-C", 3, "high"]
        ])
        expect(new Set(created.samples.map((s) => s.submissionId))).toEqual(new Set([created.submission.id]))
        const listed = yield* client.Samples.List({ submissionId: created.submission.id, limit: 10 })
        expect(new Set(listed.items.map((s) => s.id))).toEqual(new Set(created.samples.map((s) => s.id)))
      }))

    it.effect("a taken submission number is a typed SubmissionRejected naming the field", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const created = yield* client.Submissions.Create({
          submitterEmail: "grace@lab.example",
          source: "api",
          priority: "normal",
          flowCellType: "R10.4.1",
          samples: [{ sampleName: "FIRST" }]
        })
        const taken = yield* client.Submissions.Create({
          number: created.submission.number,
          submitterEmail: "grace@lab.example",
          source: "api",
          priority: "normal",
          flowCellType: "R10.4.1",
          samples: [{ sampleName: "DUP" }]
        }).pipe(Effect.flip)
        if (taken._tag !== "SubmissionRejected") return expect.fail(`expected SubmissionRejected, got ${taken._tag}`)
        expect(taken.rows[0]?.issues[0]?.path).toBe("number")
      }))

    it.effect("Samples.Execute with Receive then CompleteStep (typed step data) advances the sample", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const { sample } = yield* client.Samples.Create(newSample("RPC-ADV"))
        const received = yield* client.Samples.Execute({ id: sample.id, command: new Receive() })
        expect(received.replayed).toBe(false)
        expect(received.sample.status).toBe("in_progress")
        expect(received.sample.currentStep).toBe("sample_qc")
        expect(received.sample.stepState).toBe("queued")
        expect(received.events.map((e) => e.type)).toEqual(["SampleReceived"])
        const done = yield* client.Samples.Execute({ id: sample.id, command: qc })
        expect(done.sample.currentStep).toBe("library_prep")
        expect(done.sample.version).toBe(3)
        expect(done.events.map((e) => e.type)).toContain("WorkflowStepCompleted")
        const workflow = yield* client.Samples.Workflow({ id: sample.id })
        const step1 = workflow.steps.find((s) => s.id === "sample_qc")
        expect(step1?.status).toBe("completed")
        expect(step1?.data).toMatchObject({ qubitNgUl: 60, volumeUl: 30 })
        const events = (yield* client.Samples.Events({ id: sample.id })).filter((e) => e.type !== "NotificationTriggered")
        expect(events.map((e) => e.type).slice(0, 3)).toEqual(["SampleCreated", "SampleReceived", "WorkflowStepCompleted"])
        expect(events.map((e) => e.id)).toEqual(expect.arrayContaining([...received.events, ...done.events].map((e) => e.id)))
      }))

    it.effect("a refused command is a typed StepTransitionRefused with the status and the allowed commands", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const { sample } = yield* client.Samples.Create(newSample("RPC-REFUSE"))
        const error = yield* client.Samples.Execute({ id: sample.id, command: new StartStep({ step: "sample_qc" }) }).pipe(Effect.flip)
        if (error._tag !== "StepTransitionRefused") return expect.fail(`expected StepTransitionRefused, got ${error._tag}`)
        expect(error.sampleId).toBe(sample.id)
        expect(error.status).toBe("submitted")
        expect(error.attempted).toBe("StartStep")
        expect(error.allowed).toContain("Receive")
        expect(error.allowed).not.toContain("StartStep")
        // The error is matchable with catchTag as a typed failure, not a defect.
        const handled = yield* client.Samples.Execute({ id: sample.id, command: new StartStep({ step: "sample_qc" }) }).pipe(
          Effect.map(() => "accepted"),
          Effect.catchTag("StepTransitionRefused", (e) => Effect.succeed(`refused while ${e.status}`))
        )
        expect(handled).toBe("refused while submitted")
        const unchanged = yield* client.Samples.Get({ id: sample.id })
        expect(unchanged.version).toBe(1)
      }))

    it.effect("unknown ids fail with a typed SampleNotFound", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const get = yield* client.Samples.Get({ id: UNKNOWN }).pipe(Effect.flip)
        if (get._tag !== "SampleNotFound") return expect.fail(`expected SampleNotFound, got ${get._tag}`)
        expect(get.sampleId).toBe(UNKNOWN)
        const exec = yield* client.Samples.Execute({ id: UNKNOWN, command: new Receive() }).pipe(Effect.flip)
        expect(exec._tag).toBe("SampleNotFound")
      }))

    it.effect("a repeated idempotencyKey replays the first result and writes nothing more", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const { databaseUrl } = yield* TestEndpoint
        const { sample } = yield* client.Samples.Create(newSample("RPC-IDEM"))
        const first = yield* client.Samples.Execute({ id: sample.id, command: new Receive(), idempotencyKey: "rpc-receive-1" })
        const again = yield* client.Samples.Execute({ id: sample.id, command: new Receive(), idempotencyKey: "rpc-receive-1" })
        expect(first.replayed).toBe(false)
        expect(again.replayed).toBe(true)
        expect(again.idempotencyKey).toBe("rpc-receive-1")
        expect(again.events).toEqual(first.events)
        expect(again.sample.version).toBe(first.sample.version)
        const count = yield* Effect.promise(() =>
          query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE sample_id = $1 AND type <> 'NotificationTriggered'", [sample.id])
        )
        expect(count[0]?.n).toBe(2)
        const reused = yield* client.Samples.Execute({ id: sample.id, command: new Hold({ reason: "x" }), idempotencyKey: "rpc-receive-1" }).pipe(
          Effect.flip
        )
        expect(reused._tag).toBe("IdempotencyKeyReused")
      }))

    it.effect("Samples.List filters and pages; Queues.Get shows received samples at their step", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const created = yield* client.Submissions.Create({
          submitterEmail: "list@lab.example",
          source: "api",
          priority: "normal",
          flowCellType: "R10.4.1",
          samples: [{ sampleName: "L-1" }, { sampleName: "L-2" }, { sampleName: "L-3" }]
        })
        const ids = created.samples.map((s) => s.id)
        const page1 = yield* client.Samples.List({ submissionId: created.submission.id, limit: 2 })
        expect(page1.items).toHaveLength(2)
        expect(page1.nextCursor).not.toBeNull()
        const page2 = yield* client.Samples.List({ submissionId: created.submission.id, limit: 2, cursor: page1.nextCursor ?? "" })
        expect(page2.items).toHaveLength(1)
        expect(new Set([...page1.items, ...page2.items].map((s) => s.id))).toEqual(new Set(ids))
        const badCursor = yield* client.Samples.List({ limit: 2, cursor: "not-a-cursor" }).pipe(Effect.flip)
        expect(badCursor._tag).toBe("InvalidInput")

        const before = yield* client.Queues.Get({ step: "sample_qc", limit: 500 })
        expect(before.items.map((s) => s.id)).not.toContain(ids[0])
        yield* Effect.forEach(ids.slice(0, 2), (id) => client.Samples.Execute({ id, command: new Receive() }), { concurrency: 2 })
        const after = yield* client.Queues.Get({ step: "sample_qc", limit: 500 })
        expect(after.step).toBe("sample_qc")
        expect(after.total).toBe(before.total + 2)
        expect(after.items.map((s) => s.id)).toEqual(expect.arrayContaining(ids.slice(0, 2)))
        expect(after.items.map((s) => s.id)).not.toContain(ids[2])
        const inProgress = yield* client.Samples.List({ submissionId: created.submission.id, status: "in_progress", limit: 50 })
        expect(new Set(inProgress.items.map((s) => s.id))).toEqual(new Set(ids.slice(0, 2)))
      }))

    it.effect("Samples.Batch with a partial refusal returns one result per sample", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        const created = yield* client.Submissions.Create({
          submitterEmail: "batch@lab.example",
          source: "api",
          priority: "normal",
          flowCellType: "R10.4.1",
          samples: [{ sampleName: "B-1" }, { sampleName: "B-2" }, { sampleName: "B-3" }]
        })
        const [a, b, c] = created.samples.map((s) => s.id)
        if (a === undefined || b === undefined || c === undefined) return expect.fail("three samples expected")
        yield* client.Samples.Execute({ id: b, command: new Receive() })
        const result = yield* client.Samples.Batch({ sampleIds: [a, b, c, UNKNOWN], command: new Receive() })
        expect(result.succeeded).toBe(2)
        expect(result.failed).toBe(2)
        expect(result.results).toHaveLength(4)
        const byId = new Map(result.results.map((r) => [r.sampleId, r]))
        for (const id of [a, c]) {
          const r = byId.get(id)
          if (r === undefined || !r.ok) return expect.fail(`expected ${id} to succeed`)
          expect(r.result.sample.status).toBe("in_progress")
        }
        const refused = byId.get(b)
        if (refused === undefined || refused.ok) return expect.fail("expected the received sample to be refused")
        expect(refused.error._tag).toBe("StepTransitionRefused")
        expect(refused.error.status).toBe("in_progress")
        expect(refused.error.allowed).toContain("CompleteStep")
        const missing = byId.get(UNKNOWN)
        if (missing === undefined || missing.ok) return expect.fail("expected the unknown sample to fail")
        expect(missing.error._tag).toBe("SampleNotFound")
        // The same batch key again replays each sample's own outcome.
        const keyed = yield* client.Samples.Batch({ sampleIds: [a, c], command: new ChangePriority({ priority: "high" }), idempotencyKey: "batch-1" })
        const replay = yield* client.Samples.Batch({ sampleIds: [a, c], command: new ChangePriority({ priority: "high" }), idempotencyKey: "batch-1" })
        expect(keyed.succeeded).toBe(2)
        expect(replay.results.map((r) => r.ok && r.result.replayed)).toEqual([true, true])
      }))

    it.effect("an invalid payload fails that request with a typed InvalidInput and the server keeps serving", () =>
      Effect.gen(function*() {
        const client = yield* Poretrack
        // The payload is checked against the RPC's own schema before the server sees it: a typed failure naming the field.
        const badId = yield* rawRpc([request("1", "Samples.Get", { id: "not-a-uuid" })])
        expect(badId.status).toBe(200)
        const exit1 = exitOf(badId.messages)
        expect(exit1).toMatchObject({ _tag: "Exit", requestId: "1", exit: { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "InvalidInput", issues: [{ path: "id" }] } } } })

        const badEnum = yield* rawRpc([request("2", "Samples.List", { status: "lost_in_the_post", limit: 10 })])
        const exit2 = exitOf(badEnum.messages)
        expect(exit2).toMatchObject({ _tag: "Exit", requestId: "2", exit: { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "InvalidInput" } } } })
        expect(JSON.stringify(exit2)).toContain("lost_in_the_post")

        const badCommand = yield* rawRpc([request("3", "Samples.Execute", { id: UNKNOWN, command: { _tag: "Teleport" } })])
        const exit3 = exitOf(badCommand.messages)
        expect(exit3).toMatchObject({ _tag: "Exit", requestId: "3", exit: { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "InvalidInput" } } } })

        // Not even a request: the door answers 400 naming the line (test/RpcDoor.test.ts has every case), and stays up.
        const garbage = yield* rawRpc(["{ this is not json"])
        expect(garbage.status).toBe(400)
        expect(garbage.messages).toEqual([{ error: "MalformedRequest", message: 'line 1: not JSON: "{ this is not json"' }])

        // A well-formed request by hand succeeds, and so does the typed client afterwards.
        const ok = yield* rawRpc([request("4", "Samples.Get", { id: UNKNOWN })])
        const exit4 = exitOf(ok.messages)
        expect(exit4).toMatchObject({ exit: { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "SampleNotFound" } } } })
        const created = yield* client.Samples.Create(newSample("RPC-AFTER-BAD"))
        const read = yield* client.Samples.Get({ id: created.sample.id })
        expect(read.sampleName).toBe("RPC-AFTER-BAD")
      }))

    it.effect("Events.Watch streams one sample's events live, in commit order, and only that sample's", () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* Poretrack
        const { sample } = yield* client.Samples.Create(newSample("LIVE-1"))
        const other = yield* client.Samples.Create(newSample("LIVE-OTHER"))
        const id = sample.id

        type Arrival = { readonly event: SampleEvent }
        const arrivals = yield* Queue.unbounded<Arrival>()
        const seen = yield* Ref.make<ReadonlyArray<SampleEvent>>([])
        yield* client.Events.Watch({ sampleId: id }).pipe(
          Stream.runForEach((event) =>
            Effect.zipRight(Ref.update(seen, (s) => [...s, event]), Queue.offer(arrivals, { event }))
          ),
          Effect.forkScoped
        )
        const arrivalOf = (eventId: string): Effect.Effect<Arrival> =>
          Effect.flatMap(Queue.take(arrivals), (a) => (a.event.id === eventId ? Effect.succeed(a) : arrivalOf(eventId)))
        const awaitEvent = (eventId: string) =>
          arrivalOf(eventId).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new LiveFeedMiss({ message: `event ${eventId} never arrived` }) }))
        const eventIdOf = (events: ReadonlyArray<{ readonly id: string }>) =>
          Effect.fromNullable(events[0]?.id).pipe(Effect.orElseFail(() => new LiveFeedMiss({ message: "the command raised no event" })))

        // Readiness handshake: the subscription is made server-side when the stream starts, with no reply of its own, so
        // send harmless commands until one of their events comes through (normally the first).
        const probes = yield* Ref.make(0)
        yield* Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(probes, (k) => k + 1)
          const reply = yield* client.Samples.Execute({ id, command: new ChangePriority({ priority: n % 2 === 1 ? "high" : "normal" }) })
          yield* arrivalOf(yield* eventIdOf(reply.events)).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new LiveFeedMiss({ message: "probe event not seen yet" }) }))
        }).pipe(Effect.retry({ times: 9 }))

        // Another sample's events must not come through this filtered feed.
        yield* client.Samples.Execute({ id: other.sample.id, command: new Receive() })

        const timed = (command: Receive | Hold | Resume) =>
          Effect.gen(function*() {
            const reply = yield* client.Samples.Execute({ id, command })
            const arrival = yield* awaitEvent(yield* eventIdOf(reply.events))
            expect(arrival.event.sampleId).toBe(id)
            expect(arrival.event.version).toBe(reply.sample.version)
            return arrival.event
          })

        const received = yield* timed(new Receive())
        expect(received.type).toBe("SampleReceived")
        expect(received.actor).toMatch(/^key:PORETRACK_ADMIN_TOKEN#/)
        for (let i = 0; i < 10; i++) {
          const event = yield* timed(i % 2 === 0 ? new Hold({ reason: `live ${i}` }) : new Resume())
          expect(event.type).toBe(i % 2 === 0 ? "SampleOnHold" : "SampleResumed")
        }
        const all = yield* Ref.get(seen)
        expect(all.every((e) => e.sampleId === id)).toBe(true)
        expect(all.filter((e) => e.type === "SampleReceived")).toHaveLength(1)
        // Versions arrive in the order they were committed, each once (latency is measured by `npm run bench`). The
        // notifier's NotificationTriggered events come through too, later, at their cause's version.
        const versions = all.filter((e) => e.type !== "NotificationTriggered").map((e) => e.version)
        expect(versions).toEqual([...new Set(versions)].sort((x, y) => x - y))
      })))
  })
})
