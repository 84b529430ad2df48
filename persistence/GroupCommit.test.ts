/** Group commit: who travels together, who is told what, and a failing group's items isolated. */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber } from "effect"
import { makeGroupCommit } from "./GroupCommit.ts"

class Broken {
  readonly _tag = "Broken"
  constructor(readonly item: number | undefined, readonly outage: boolean) {}
}

/** A committer over a fake statement: records each group, holds the first one until `release`, fails on item 13. */
const harness = (maxInFlight: number) =>
  Effect.gen(function*() {
    const groups: Array<ReadonlyArray<number>> = []
    const release = yield* Deferred.make<void>()
    const firstSent = yield* Deferred.make<void>()
    const committer = yield* makeGroupCommit<number, boolean, Broken>({
      run: (items) =>
        Effect.gen(function*() {
          groups.push(items)
          if (groups.length === 1) {
            yield* Deferred.succeed(firstSent, undefined)
            yield* Deferred.await(release)
          }
          if (items.includes(13)) return yield* Effect.fail(new Broken(items.length === 1 ? 13 : undefined, items.includes(99)))
          // Even items "fail their fence": the statement succeeds, the item is told false.
          return items.map((i) => i % 2 === 1)
        }),
      isolate: (e) => !e.outage,
      maxInFlight,
      maxGroup: 3
    })
    return { groups, release, firstSent, committer } as const
  })

describe("GroupCommit", () => {
  it.effect("a lone commit leaves at once; commits arriving while a group is in flight leave together, each told its own outcome", () =>
    Effect.gen(function*() {
      const { committer, firstSent, groups, release } = yield* harness(1)
      const first = yield* Effect.fork(committer.commit(1))
      yield* Deferred.await(firstSent)
      expect(groups).toEqual([[1]])
      const rest = yield* Effect.fork(Effect.all([2, 3, 5, 7, 8].map((i) => committer.commit(i)), { concurrency: "unbounded" }))
      while (committer.waiting() < 5) yield* Effect.yieldNow()
      // Nothing else leaves while the one group allowed in flight is there.
      expect(groups).toEqual([[1]])
      yield* Deferred.succeed(release, undefined)
      expect(yield* Fiber.join(first)).toBe(true)
      expect(yield* Fiber.join(rest)).toEqual([false, true, true, true, false])
      // The waiting five left as groups of at most three, in arrival order.
      expect(groups).toEqual([[1], [2, 3, 5], [7, 8]])
    }))

  it.effect("a group failing on a non-outage error is re-run item by item: only the item at fault fails", () =>
    Effect.gen(function*() {
      const { committer, firstSent, groups, release } = yield* harness(1)
      const first = yield* Effect.fork(committer.commit(1))
      yield* Deferred.await(firstSent)
      const rest = yield* Effect.fork(Effect.all([3, 13, 5].map((i) => committer.commit(i).pipe(Effect.either)), { concurrency: "unbounded" }))
      while (committer.waiting() < 3) yield* Effect.yieldNow()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      const [a, b, c] = yield* Fiber.join(rest)
      expect(a).toEqual(Either.right(true))
      expect(Either.isLeft(b!) && b.left.item).toBe(13)
      expect(c).toEqual(Either.right(true))
      expect(groups).toEqual([[1], [3, 13, 5], [3], [13], [5]])
    }))

  it.effect("an outage fails every item of the group, none re-run", () =>
    Effect.gen(function*() {
      const { committer, firstSent, groups, release } = yield* harness(1)
      const first = yield* Effect.fork(committer.commit(1))
      yield* Deferred.await(firstSent)
      const rest = yield* Effect.fork(Effect.all([13, 99].map((i) => committer.commit(i).pipe(Effect.either)), { concurrency: "unbounded" }))
      while (committer.waiting() < 2) yield* Effect.yieldNow()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      const outcomes = yield* Fiber.join(rest)
      expect(outcomes.map((o) => Either.isLeft(o) && o.left.outage)).toEqual([true, true])
      expect(groups).toEqual([[1], [13, 99]])
    }))

  it.effect("with room for more groups in flight, a commit does not wait for another group", () =>
    Effect.gen(function*() {
      const { committer, firstSent, groups, release } = yield* harness(2)
      const first = yield* Effect.fork(committer.commit(1))
      yield* Deferred.await(firstSent)
      // The first group is still held, yet the second leaves and answers.
      expect(yield* committer.commit(3)).toBe(true)
      expect(groups).toEqual([[1], [3]])
      yield* Deferred.succeed(release, undefined)
      expect(yield* Fiber.join(first)).toBe(true)
    }))

  it.effect("writers that start together leave as one group even when nothing is in flight", () =>
    Effect.gen(function*() {
      const { committer, groups, release } = yield* harness(1)
      yield* Deferred.succeed(release, undefined)
      // Three writers started at the same moment (the notifier's first attempts): without gathering the first would
      // leave alone and the other two after it.
      expect(yield* Effect.all([1, 3, 5].map((i) => committer.commit(i)), { concurrency: "unbounded" })).toEqual([true, true, true])
      expect(groups).toEqual([[1, 3, 5]])
      // A lone writer still leaves, and is told its outcome.
      expect(yield* committer.commit(8)).toBe(false)
      expect(groups).toEqual([[1, 3, 5], [8]])
    }))
})
