/** An entity's mailbox: one message at a time, in arrival order, whatever happens to the messages waiting. */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { Mailbox } from "./Mailbox.ts"

/** Forks `process` for a message that records when it starts and finishes once `release` is completed. */
const message = (mailbox: Mailbox, log: Array<string>, name: string) =>
  Effect.gen(function*() {
    const release = yield* Deferred.make<void>()
    const started = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(mailbox.process("Test", Effect.gen(function*() {
      log.push(`start ${name}`)
      yield* Deferred.succeed(started, undefined)
      yield* Deferred.await(release)
      log.push(`end ${name}`)
      return name
    })))
    yield* Effect.yieldNow()
    return { release, started, fiber }
  })

describe("mailbox", () => {
  it.effect("messages run one at a time, in arrival order", () =>
    Effect.gen(function*() {
      const mailbox = new Mailbox("Test")
      const log: Array<string> = []
      const a = yield* message(mailbox, log, "a")
      const b = yield* message(mailbox, log, "b")
      const c = yield* message(mailbox, log, "c")
      yield* Deferred.await(a.started)
      expect(log).toEqual(["start a"])
      yield* Deferred.succeed(c.release, undefined)
      yield* Deferred.succeed(b.release, undefined)
      yield* Deferred.succeed(a.release, undefined)
      expect(yield* Fiber.join(a.fiber)).toBe("a")
      expect(yield* Fiber.join(b.fiber)).toBe("b")
      expect(yield* Fiber.join(c.fiber)).toBe("c")
      expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"])
    }))

  it.effect("a waiting message that is interrupted leaves the queue; the ones behind it still get their turn", () =>
    Effect.gen(function*() {
      const mailbox = new Mailbox("Test")
      const log: Array<string> = []
      const a = yield* message(mailbox, log, "a")
      const b = yield* message(mailbox, log, "b")
      const c = yield* message(mailbox, log, "c")
      yield* Deferred.await(a.started)
      yield* Fiber.interrupt(b.fiber)
      yield* Deferred.succeed(c.release, undefined)
      yield* Deferred.succeed(a.release, undefined)
      expect(yield* Fiber.join(c.fiber)).toBe("c")
      expect(Exit.isInterrupted(yield* Fiber.await(b.fiber))).toBe(true)
      expect(log).toEqual(["start a", "end a", "start c", "end c"])
    }))

  it.effect("a message that fails or dies passes the turn on", () =>
    Effect.gen(function*() {
      const mailbox = new Mailbox("Test")
      expect(yield* Effect.flip(mailbox.process("Test", Effect.fail("refused")))).toBe("refused")
      expect(Exit.isFailure(yield* Effect.exit(mailbox.process("Test", Effect.die("bug"))))).toBe(true)
      expect(yield* mailbox.process("Test", Effect.succeed("next"))).toBe("next")
    }))

  it.effect("idle waits for the message in progress and those before it", () =>
    Effect.gen(function*() {
      const mailbox = new Mailbox("Test")
      const log: Array<string> = []
      const a = yield* message(mailbox, log, "a")
      const idle = yield* Effect.fork(Effect.tap(mailbox.idle, () => Effect.sync(() => log.push("idle"))))
      yield* Deferred.await(a.started)
      yield* Effect.yieldNow()
      expect(log).toEqual(["start a"])
      yield* Deferred.succeed(a.release, undefined)
      yield* Fiber.join(idle)
      expect(log).toEqual(["start a", "end a", "idle"])
      // An idle mailbox answers at once.
      yield* mailbox.idle
    }))
})
