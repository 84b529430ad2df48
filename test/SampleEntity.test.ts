/** The Sample actor over real PostgreSQL: durable writes, idempotency, refusals, the version fence. */
import { describe, expect, layer } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Metric, Option } from "effect"
import { Sample } from "../actors/Sample.ts"
import { CompleteStep, Hold, Receive, Resume, StartStep } from "../rpc/Commands.ts"
import type { SampleId } from "../rpc/Ids.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, submitSamples, TestSystem } from "./TestSystem.ts"

const submit = (n = 1) => submitSamples(n)

/** Messages this process has sent to Sample entities (each resend counts). */
const requestsSent = Metric.snapshot.pipe(Effect.map((pairs) =>
  pairs
    .filter((p) => p.metricKey.name === "poretrack_cluster_requests_total")
    .reduce((n, p) => n + ("count" in p.metricState && typeof p.metricState.count === "number" ? p.metricState.count : 0), 0)
))

const qc = new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } } })

describe("Sample entity on PostgreSQL", () => {
  layer(TestSystem(), { excludeTestServices: true })((it) => {
    it.effect("an accepted command is one durable transition: state, event and idempotency record", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        const result = yield* api.execute(id, new Receive(), "receive-1", "tech@facility")
        expect(result.sample.status).toBe("in_progress")
        expect(result.sample.currentStep).toBe("sample_qc")
        expect(result.sample.version).toBe(2)
        const rows = yield* Effect.promise(() => query(databaseUrl, "SELECT status, current_step, version FROM samples WHERE id = $1", [id]))
        expect(rows).toEqual([{ status: "in_progress", current_step: "sample_qc", version: 2 }])
        // The sample's changes (the notifier's NotificationTriggered for the receipt comes asynchronously).
        const events = (yield* api.events(id)).filter((e) => e.type !== "NotificationTriggered")
        expect(events.map((e) => [e.type, e.version, e.actor])).toEqual([
          ["SampleCreated", 1, "test"],
          ["SampleReceived", 2, "tech@facility"]
        ])
      }))

    it.effect("a repeated idempotency key returns the first result and writes nothing", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        yield* api.execute(id, new Receive(), "r", "t")
        const first = yield* api.execute(id, qc, "qc-1", "t")
        const again = yield* api.execute(id, qc, "qc-1", "t")
        expect(first.replayed).toBe(false)
        expect(again.replayed).toBe(true)
        expect(again.sample).toEqual(first.sample)
        expect(again.events).toEqual(first.events)
        const count = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM sample_events WHERE sample_id = $1 AND type <> 'NotificationTriggered'", [id]))
        expect(count[0]!.n).toBe(3)
        const reused = yield* api.execute(id, new Hold({ reason: "x" }), "qc-1", "t").pipe(Effect.either)
        expect(Either.isLeft(reused) && reused.left._tag).toBe("IdempotencyKeyReused")
      }))

    it.effect("a refused command writes nothing and names the state and the allowed commands", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        const refused = yield* api.execute(id, new StartStep({ step: "sample_qc" }), undefined, "t").pipe(Effect.either)
        expect(Either.isLeft(refused)).toBe(true)
        if (Either.isLeft(refused) && refused.left._tag === "StepTransitionRefused") {
          expect(refused.left.status).toBe("submitted")
          expect(refused.left.allowed).toContain("Receive")
          expect(refused.left.allowed).not.toContain("StartStep")
        } else {
          expect.fail("expected StepTransitionRefused")
        }
        const rows = yield* Effect.promise(() => query(databaseUrl, "SELECT version FROM samples WHERE id = $1", [id]))
        expect(rows).toEqual([{ version: 1 }])
        const commands = yield* Effect.promise(() => query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM sample_commands WHERE sample_id = $1", [id]))
        expect(commands[0]!.n).toBe(0)
      }))

    it.effect("a write behind a stale version is fenced off and the entity recovers from the row", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        yield* api.execute(id, new Receive(), undefined, "t")
        // Another writer moves the row on behind the entity's back (what a stale owner would meet).
        yield* Effect.promise(() => query(databaseUrl, "UPDATE samples SET version = version + 1, state = jsonb_set(state, '{version}', to_jsonb(version + 1)) WHERE id = $1", [id]))
        const fenced = yield* api.execute(id, new Hold({ reason: "fence" }), "h1", "t").pipe(Effect.exit)
        expect(Exit.isFailure(fenced)).toBe(true)
        expect(JSON.stringify(fenced)).toContain("SampleBusy")
        const held = yield* api.execute(id, new Hold({ reason: "fence" }), "h2", "t")
        expect(held.sample.status).toBe("on_hold")
        expect(held.sample.version).toBe(4)
        const resumed = yield* api.execute(id, new Resume(), "h3", "t")
        expect(resumed.sample.status).toBe("in_progress")
      }))

    it.effect("an unknown sample is SampleNotFound", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const missing = yield* api.execute("00000000-0000-4000-8000-000000000000" as never, new Receive(), undefined, "t").pipe(Effect.either)
        expect(Either.isLeft(missing) && missing.left._tag).toBe("SampleNotFound")
      }))

    it.effect("a database error that is not an outage ends the command as a defect at once, writes nothing, and is not SampleBusy", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        yield* api.execute(id, new Receive(), "r", "t")
        // A constraint the next commit violates: 23514, bad data as far as the entity can tell, not an outage.
        yield* Effect.promise(() => query(databaseUrl, "ALTER TABLE samples ADD CONSTRAINT test_no_hold CHECK (status <> 'on_hold') NOT VALID"))
        const sent = yield* requestsSent
        const exit = yield* api.execute(id, new Hold({ reason: "check" }), "hold-1", "t").pipe(Effect.exit)
        yield* Effect.promise(() => query(databaseUrl, "ALTER TABLE samples DROP CONSTRAINT test_no_hold"))
        if (Exit.isSuccess(exit)) return expect.fail("the violating commit was accepted")
        expect(Option.isNone(Cause.failureOption(exit.cause))).toBe(true)
        const defect = Cause.squash(exit.cause)
        expect(defect).toMatchObject({ _tag: "CommandDefect", sampleId: id, sqlState: "23514" })
        expect(JSON.stringify(exit.cause)).not.toContain("SampleBusy")
        // Sent once: a defect is not resent as if the shard were moving.
        expect((yield* requestsSent) - sent).toBe(1)
        expect(yield* Effect.promise(() => query(databaseUrl, "SELECT version, status FROM samples WHERE id = $1", [id]))).toEqual([
          { version: 2, status: "in_progress" }
        ])
        const counts = yield* Effect.promise(() =>
          query<{ events: number; commands: number }>(databaseUrl, `SELECT
            (SELECT count(*)::int FROM sample_events WHERE sample_id = $1 AND type <> 'NotificationTriggered') AS events,
            (SELECT count(*)::int FROM sample_commands WHERE sample_id = $1 AND key = 'hold-1') AS commands`, [id])
        )
        expect(counts).toEqual([{ events: 2, commands: 0 }])
        // Nothing was recorded under the key: the same command runs once the data allows it.
        const held = yield* api.execute(id, new Hold({ reason: "check" }), "hold-1", "t")
        expect(held.replayed).toBe(false)
        expect(held.sample.status).toBe("on_hold")
        expect(held.sample.version).toBe(3)
      }))

    it.effect("a command that bypasses the contract (NUL in its encoded payload) is refused as InvalidInput by the entity", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit()
        const id = samples[0]!.id
        const client = yield* Sample.client
        const refused = yield* client(id).Execute({ command: { _tag: "Hold", reason: "a\u0000b" }, idempotencyKey: "nul-1", actor: "t" }).pipe(Effect.either)
        if (Either.isRight(refused)) return expect.fail("accepted")
        expect(refused.left).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "command.reason", message: "must not contain NUL, control characters or unpaired surrogates" }] })
        expect(yield* Effect.promise(() => query(databaseUrl, "SELECT version FROM samples WHERE id = $1", [id]))).toEqual([{ version: 1 }])
      }))

    it.effect("a batch naming a sample twice is refused whole (InvalidInput on sampleIds, naming the id) and runs nothing", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const { samples } = yield* submit(2)
        const [a, b] = samples.map((s) => s.id) as [SampleId, SampleId]
        const refused = yield* api.batch([a, b, a], new Receive(), undefined, "t").pipe(Effect.either)
        if (Either.isRight(refused)) return expect.fail("accepted")
        expect(refused.left._tag).toBe("InvalidInput")
        expect(refused.left.issues).toEqual([{ path: "sampleIds", message: `duplicated sample ids: ${a}` }])
        const rows = yield* Effect.promise(() => query<{ version: number }>(databaseUrl, "SELECT version FROM samples WHERE id = ANY($1::uuid[])", [[a, b]]))
        expect(rows.map((r) => r.version)).toEqual([1, 1])
        const ok = yield* api.batch([a, b], new Receive(), undefined, "t")
        expect(ok.succeeded).toBe(2)
      }))

    it.effect("creating with an idempotency key: a repeat replays the first sample, another body is refused, keys are per principal", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const input = { sampleName: "IDEM-1", submitterEmail: "ada@lab.example", priority: "normal" as const, flowCellType: "R10.4.1" as const }
        const first = yield* api.createSample(input, "alice", "create-1", "alice")
        const again = yield* api.createSample(input, "alice", "create-1", "alice")
        expect(first.replayed).toBe(false)
        expect(again.replayed).toBe(true)
        expect(again.sample.id).toBe(first.sample.id)
        expect(again.sample.submissionId).toBe(first.sample.submissionId)
        const other = yield* api.createSample({ ...input, sampleName: "IDEM-2" }, "alice", "create-1", "alice").pipe(Effect.either)
        expect(Either.isLeft(other) && other.left._tag).toBe("IdempotencyKeyReused")
        // The same key under another principal is another creation.
        const bobs = yield* api.createSample(input, "bob", "create-1", "bob")
        expect(bobs.replayed).toBe(false)
        expect(bobs.sample.id).not.toBe(first.sample.id)
        const rows = yield* Effect.promise(() =>
          query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM samples WHERE name = 'IDEM-1'")
        )
        expect(rows).toEqual([{ n: 2 }])
        // A sample request under a submission's key (same principal) is a different request.
        const asSubmission = yield* api.createSubmission({ ...input, source: "api", samples: [{ sampleName: "IDEM-1" }] }, "alice", "create-1", "alice").pipe(Effect.either)
        expect(Either.isLeft(asSubmission) && asSubmission.left._tag).toBe("IdempotencyKeyReused")
      }))

    it.effect("concurrent submissions with the same key create one submission and all answer with it", () =>
      Effect.gen(function*() {
        const api = yield* SampleApi
        const { databaseUrl } = yield* TestEndpoint
        const input = {
          submitterEmail: "ada@lab.example",
          source: "api" as const,
          priority: "normal" as const,
          flowCellType: "R10.4.1" as const,
          samples: [{ sampleName: "RACE-1" }, { sampleName: "RACE-2", organism: "E. coli" }]
        }
        const results = yield* Effect.all(Array.from({ length: 6 }, () => api.createSubmission(input, "lab", "sub-key-1", "lab")), { concurrency: "unbounded" })
        const ids = new Set(results.map((r) => r.submission.id))
        expect(ids.size).toBe(1)
        expect(results.filter((r) => r.replayed === false)).toHaveLength(1)
        for (const r of results) expect(r.samples.map((s) => s.sampleName)).toEqual(["RACE-1", "RACE-2"])
        const [row] = yield* Effect.promise(() =>
          query<{ submissions: number; samples: number; keys: number }>(databaseUrl, `SELECT
            (SELECT count(*)::int FROM submissions WHERE id = ANY($1::uuid[])) AS submissions,
            (SELECT count(*)::int FROM samples WHERE name LIKE 'RACE-%') AS samples,
            (SELECT count(*)::int FROM creation_keys WHERE principal = 'lab' AND key = 'sub-key-1') AS keys`, [[...ids]])
        )
        expect(row).toEqual({ submissions: 1, samples: 2, keys: 1 })
      }))
  })
})
