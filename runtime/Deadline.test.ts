/**
 * The door's request deadline, driven by a hand-fired timer (no waiting): work that ends in time keeps its answer,
 * headers and failures; work past its deadline is interrupted (its finalizers run) and answered by `onTimeout`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, FiberRef } from "effect"
import { withDeadline, type Schedule } from "./Deadline.ts"

/** A timer the test fires by hand; it records whether the deadline cancelled it. */
const manualTimer = () => {
  const timer = { fire: () => {}, ms: 0, armed: false, cancelled: false }
  const schedule: Schedule = (fire, ms) => {
    Object.assign(timer, { fire, ms, armed: true })
    return () => {
      timer.cancelled = true
    }
  }
  return { timer, schedule }
}

const header = FiberRef.unsafeMake<ReadonlyArray<string>>([])

describe("withDeadline", () => {
  it.effect("work that ends in time keeps its answer and the FiberRefs it set; the timer is cancelled", () =>
    Effect.gen(function*() {
      const { timer, schedule } = manualTimer()
      const answer = yield* withDeadline(FiberRef.update(header, (h) => [...h, "etag: \"3\""]).pipe(Effect.as("ok")), 30_000, () => "late", schedule)
      expect(answer).toBe("ok")
      expect(yield* FiberRef.get(header)).toEqual(["etag: \"3\""])
      expect(timer.ms).toBe(30_000)
      expect(timer.cancelled).toBe(true)
    }))

  it.effect("work past its deadline is interrupted, its finalizer runs, and the answer is onTimeout's", () =>
    Effect.gen(function*() {
      const { timer, schedule } = manualTimer()
      const started = yield* Deferred.make<void>()
      let released = false
      const stuck = Deferred.succeed(started, undefined).pipe(
        Effect.zipRight(Effect.never),
        Effect.ensuring(Effect.sync(() => {
          released = true
        }))
      )
      const request = yield* Effect.fork(withDeadline(stuck, 50, () => "503 RequestTimeout", schedule))
      yield* Deferred.await(started)
      expect(timer.armed).toBe(true)
      timer.fire()
      expect(yield* Fiber.join(request)).toBe("503 RequestTimeout")
      expect(released).toBe(true)
    }))

  it.effect("failures and defects pass through unchanged, before or after the timer fired", () =>
    Effect.gen(function*() {
      const { schedule } = manualTimer()
      const failed = yield* Effect.exit(withDeadline(Effect.fail("refused" as const), 50, () => "late", schedule))
      expect(failed).toEqual(Exit.fail("refused"))
      const died = yield* Effect.exit(withDeadline(Effect.die("bug"), 50, () => "late", schedule))
      expect(Exit.isFailure(died) && !Exit.isInterrupted(died)).toBe(true)

      // A failure raised while the work is being interrupted (a finalizer that fails) is not hidden by onTimeout.
      const late = manualTimer()
      const started = yield* Deferred.make<void>()
      const request = yield* Effect.fork(withDeadline(
        Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never), Effect.onInterrupt(() => Effect.die("finalizer bug"))),
        50,
        () => "late",
        late.schedule
      ))
      yield* Deferred.await(started)
      late.timer.fire()
      const exit = yield* Fiber.await(request)
      expect(Exit.isFailure(exit)).toBe(true)
    }))

  it.effect("interrupting the caller interrupts the work and cancels the timer", () =>
    Effect.gen(function*() {
      const { timer, schedule } = manualTimer()
      const started = yield* Deferred.make<void>()
      let released = false
      const request = yield* Effect.fork(withDeadline(
        Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never), Effect.ensuring(Effect.sync(() => {
          released = true
        }))),
        50,
        () => "late",
        schedule
      ))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(request)
      expect(released).toBe(true)
      expect(timer.cancelled).toBe(true)
    }))
})
