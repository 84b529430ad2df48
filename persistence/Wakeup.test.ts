/** The event feed's wake-up: raises collapse while nobody waits, a waiter is woken once per raise, an interrupted one leaves. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Wakeup } from "./EventSignal.ts"

/** Lets other fibers run until `done` holds (a bounded number of scheduler turns). */
const until = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100 && !done(); i++) yield* Effect.yieldNow()
    expect(done()).toBe(true)
  })

describe("Wakeup", () => {
  it.effect("raises before anyone waits collapse into one return", () =>
    Effect.gen(function*() {
      const wake = new Wakeup()
      wake.raise()
      wake.raise()
      wake.raise()
      yield* wake.next
      // Nothing raised since: the next wait waits.
      const waiter = yield* Effect.fork(wake.next)
      yield* Effect.yieldNow()
      expect(waiter.unsafePoll()).toBeNull()
      wake.raise()
      yield* Fiber.join(waiter)
    }))

  it.effect("a waiter is woken by a raise after it started waiting", () =>
    Effect.gen(function*() {
      const wake = new Wakeup()
      let woken = 0
      const waiter = yield* Effect.fork(Effect.forever(Effect.zipRight(wake.next, Effect.sync(() => woken++))))
      yield* Effect.yieldNow()
      wake.raise()
      yield* until(() => woken === 1)
      wake.raise()
      yield* until(() => woken === 2)
      yield* Fiber.interrupt(waiter)
    }))

  it.effect("an interrupted waiter is not woken; the raise waits for the next one", () =>
    Effect.gen(function*() {
      const wake = new Wakeup()
      const first = yield* Effect.fork(wake.next)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      wake.raise()
      yield* wake.next
    }))
})
