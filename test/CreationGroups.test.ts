/**
 * Creations made at the same moment share one statement (persistence/SampleRepo.ts, CREATE_GROUP_SQL) and each keeps
 * its own outcome: a burst of creations with their own keys, repeats of a key with the same request (one submission,
 * replayed), a key reused for another request (IdempotencyKeyReused), and client numbers taken within the burst (one
 * wins, the others are refused naming the number). Nothing is half written, and the groups were larger than one.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import type { SubmissionInput } from "../rpc/Api.ts"
import { Receive } from "../rpc/Commands.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { query } from "./TestDatabase.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

const metricSum = async (base: string, name: string): Promise<number> => {
  const text = await (await fetch(`${base}/metrics`)).text()
  return text.split("\n").filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0)
}

const submission = (name: string, number?: string): SubmissionInput => ({
  submitterEmail: "lin@lab.example",
  source: "api",
  priority: "normal",
  flowCellType: "R10.4.1",
  ...(number !== undefined ? { number } : {}),
  samples: [{ sampleName: `${name}-a`, libraryKit: "SQK-LSK114" }, { sampleName: `${name}-b`, libraryKit: "SQK-LSK114" }]
})

describe("creations in groups", () => {
  layer(TestSystem(), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("a burst of creations: each its own outcome, keys and numbers honoured, nothing half written", () =>
      Effect.gen(function*() {
        const { baseUrl, databaseUrl } = yield* TestEndpoint
        const api = yield* SampleApi
        const statementsBefore = yield* Effect.promise(() => metricSum(baseUrl, "poretrack_create_group_size_count"))
        const creationsBefore = yield* Effect.promise(() => metricSum(baseUrl, "poretrack_create_group_size_sum"))
        const create = (input: SubmissionInput, key?: string) => Effect.either(api.createSubmission(input, "test", key))
        const outcomes = yield* Effect.all([
          // 30 new ones, each with a key of its own
          ...Array.from({ length: 30 }, (_, i) => create(submission(`own-${i}`), `own-${i}`)),
          // the same request three times under one key
          ...Array.from({ length: 3 }, () => create(submission("same"), "same")),
          // one key, two different requests
          create(submission("first"), "clash"),
          create(submission("second"), "clash")
        ], { concurrency: "unbounded" })
        // Then a burst in which one client number is wanted three times (its group fails and runs one by one).
        const numbered = yield* Effect.all(
          Array.from({ length: 3 }, (_, i) => create(submission(`numbered-${i}`, "LAB-2026-001"))),
          { concurrency: "unbounded" }
        )
        const [own, same, clash] = [outcomes.slice(0, 30), outcomes.slice(30, 33), outcomes.slice(33, 35)]
        expect(own.every(Either.isRight)).toBe(true)
        expect(new Set(own.map((o) => Either.getOrThrow(o).submission.id)).size).toBe(30)
        // One submission for the three, two of them replays of it.
        const sameIds = same.map((o) => Either.getOrThrow(o).submission.id)
        expect(new Set(sameIds).size).toBe(1)
        expect(same.filter((o) => Either.getOrThrow(o).replayed === true)).toHaveLength(2)
        // One of the two requests under "clash" won; the other is told the key was used for another request.
        expect(clash.filter(Either.isRight)).toHaveLength(1)
        expect(clash.filter(Either.isLeft).map((o) => Either.isLeft(o) ? o.left._tag : "")).toEqual(["IdempotencyKeyReused"])
        // One of the three numbered submissions has the number; the others are refused naming it.
        expect(numbered.filter(Either.isRight)).toHaveLength(1)
        const refused = numbered.flatMap((o) => (Either.isLeft(o) ? [o.left] : []))
        expect(refused.map((e) => e._tag)).toEqual(["SubmissionRejected", "SubmissionRejected"])
        expect(JSON.stringify(refused)).toContain("LAB-2026-001 is already used")
        // 30 + 1 + 1 + 1 submissions, two samples and two SampleCreated events each, nothing else.
        const [counts] = yield* Effect.promise(() =>
          query<{ submissions: number; samples: number; events: number }>(databaseUrl, `SELECT
            (SELECT count(*) FROM submissions WHERE submitter_email = 'lin@lab.example')::int AS submissions,
            (SELECT count(*) FROM samples WHERE submitter_email = 'lin@lab.example')::int AS samples,
            (SELECT count(*) FROM sample_events e JOIN samples s ON s.id = e.sample_id
              WHERE s.submitter_email = 'lin@lab.example' AND e.type = 'SampleCreated')::int AS events`))
        expect(counts).toEqual({ submissions: 33, samples: 66, events: 66 })
        // Every sample created is there to work on: each is received.
        const created = [...outcomes, ...numbered].flatMap((o) => (Either.isRight(o) && o.right.replayed !== true ? o.right.samples : []))
        expect(created).toHaveLength(66)
        const received = yield* Effect.all(created.map((s) => Effect.either(api.execute(s.id, new Receive(), undefined, "test"))), { concurrency: 16 })
        expect(received.filter(Either.isRight)).toHaveLength(66)
        // Creations shared statements: fewer statements than creations (the 38 started together).
        const statements = (yield* Effect.promise(() => metricSum(baseUrl, "poretrack_create_group_size_count"))) - statementsBefore
        const creations = (yield* Effect.promise(() => metricSum(baseUrl, "poretrack_create_group_size_sum"))) - creationsBefore
        expect(creations).toBeGreaterThanOrEqual(38)
        // The first burst's 35 started together: at least one of its statements held several (each one's own).
        expect(statements).toBeLessThan(creations)
      }))
  })
})
