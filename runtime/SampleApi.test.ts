/** The gateway's pure parts: which causes are resent as a moving shard, submission numbers and their redraw. */
import { EntityNotAssignedToRunner, MailboxFull, RunnerUnavailable } from "@effect/cluster/ClusterError"
import { EntityAddress } from "@effect/cluster/EntityAddress"
import { EntityId } from "@effect/cluster/EntityId"
import { EntityType } from "@effect/cluster/EntityType"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as ShardId from "@effect/cluster/ShardId"
import { Socket } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, FiberId } from "effect"
import { CommandDefect } from "../actors/Sample.ts"
import { SubmissionNumberTaken } from "../persistence/SampleRepo.ts"
import { SampleBusy } from "../rpc/Errors.ts"
import { isShardMoving, newSubmissionNumber, withFreshNumber } from "./SampleApi.ts"

const address = EntityAddress.make({ shardId: ShardId.make("default", 1), entityType: EntityType.make("Sample"), entityId: EntityId.make("x") })

describe("isShardMoving", () => {
  it("resends interruptions and the cluster's own moving-shard errors", () => {
    expect(isShardMoving(Cause.interrupt(FiberId.none))).toBe(true)
    expect(isShardMoving(Cause.die(new EntityNotAssignedToRunner({ address })))).toBe(true)
    expect(isShardMoving(Cause.die(new RunnerUnavailable({ address: RunnerAddress.make("h", 1) })))).toBe(true)
    expect(isShardMoving(Cause.die(new MailboxFull({ address })))).toBe(true)
    // A write to the socket of a runner that is stopping (EPIPE): resent with the same key.
    expect(isShardMoving(Cause.die(new Socket.SocketGenericError({ reason: "Write", cause: new Error("write EPIPE") })))).toBe(true)
    expect(isShardMoving(Cause.sequential(Cause.interrupt(FiberId.none), Cause.die(new EntityNotAssignedToRunner({ address }))))).toBe(true)
  })

  it("never resends a defect of the entity, a bug, or a typed answer", () => {
    expect(isShardMoving(Cause.die(new CommandDefect({ sampleId: "s", message: "database error 23514", sqlState: "23514" })))).toBe(false)
    expect(isShardMoving(Cause.die(new Error("bug")))).toBe(false)
    expect(isShardMoving(Cause.sequential(Cause.interrupt(FiberId.none), Cause.die(new Error("bug"))))).toBe(false)
    expect(isShardMoving(Cause.fail(new SampleBusy({ sampleId: "s", message: "busy" })))).toBe(false)
    expect(isShardMoving(Cause.empty)).toBe(false)
  })
})

describe("submission numbers", () => {
  it("are PT-<date>- and 13 Crockford base32 characters, 65 random bits, distinct", () => {
    const at = Date.UTC(2026, 10, 29)
    const numbers = Array.from({ length: 20_000 }, () => newSubmissionNumber(at))
    for (const n of numbers.slice(0, 100)) expect(n).toMatch(/^PT-20261129-[0-9A-HJKMNP-TV-Z]{13}$/)
    expect(new Set(numbers).size).toBe(numbers.length)
    // Every position varies (no constant bits); the first character carries the 65th bit's neighbours too.
    for (let i = 12; i < 25; i++) expect(new Set(numbers.map((n) => n[i])).size).toBe(32)
  })

  it.effect("a generated number that collides is drawn again; a client's is never redrawn here", () =>
    Effect.gen(function*() {
      const drawn: Array<string> = []
      let calls = 0
      const draw = () => {
        calls++
        return `N${calls}`
      }
      const insert = (number: string) =>
        Effect.suspend(() => {
          drawn.push(number)
          return drawn.length < 3 ? Effect.fail(new SubmissionNumberTaken({ number })) : Effect.succeed(number)
        })
      expect(yield* withFreshNumber(insert, draw)).toBe("N3")
      expect(drawn).toEqual(["N1", "N2", "N3"])
      const always = yield* withFreshNumber((number: string) => Effect.fail(new SubmissionNumberTaken({ number })), draw).pipe(Effect.exit)
      expect(Exit.isFailure(always) && Cause.isDie(always.cause)).toBe(true)
    }))
})
