/**
 * Resident samples: the Sample actors this process hosts, each the only writer of its sample here, and the local path
 * to them.
 *
 * A sample's actor (SampleEntity.ts) is a small object: its in-memory copy of the row and its mailbox. The runner
 * hosts one per sample it has touched recently, for the samples of the shards it holds. Two doors lead to it:
 * - **the local path**: a command from this process (the all-in-one `npm start`, where the HTTP API and the entities
 *   share a process) for a sample whose shard this runner holds goes straight to the actor, created on the spot if
 *   the sample is not resident. No @effect/cluster entity is activated and no cluster message is sent: an entity's
 *   activation (its RPC server, scopes, latches, fibers) cost ~3.5 ms of CPU and ~25 KiB of memory per sample,
 *   several times what the command itself costs;
 * - **the cluster**: SLA timers and commands from other processes (gateways) arrive as @effect/cluster messages to the
 *   sample's entity, which hands them to the same actor.
 * Either way, one actor per sample per process and one mailbox: commands and timers are processed one at a time, in
 * arrival order. A sample this process has just created is made resident at once with the row it wrote (`seed`), so
 * its first command (a receipt at the desk, a batch receive) reads no row; past the cap it is left to load later.
 *
 * Residency: an actor stays while it is used and leaves after ENTITY_MAX_IDLE without messages, or as soon as the
 * runner no longer holds its shard (checked every second, and when the sample's entity stops because its shard left:
 * then its mailbox is let finish first, at most 5 s). At most MAX_RESIDENT_ENTITIES actors at once: past the cap, a
 * new one waits for an idle one to leave. `poretrack_resident_entities`, `poretrack_entity_activations_total` and
 * `poretrack_entity_stops_total` count the actors.
 *
 * Nothing of the spine's guarantees moves: every commit is behind the version fence (an actor that kept a stale copy
 * after its shard moved is refused and reloads), and a sample without a resident actor is loaded from its row.
 */
import type { ShardId } from "@effect/cluster"
import { Duration, Effect, Metric, Schedule, type Scope } from "effect"
import type { CommandResult, SampleCommand } from "../rpc/Commands.ts"
import type { CommandError } from "../rpc/Errors.ts"
import type { LoadedSample } from "../persistence/SampleRepo.ts"
import type { CommandDefect, ExecutePayload, WakeAt } from "./Sample.ts"

const residentGauge = Metric.gauge("poretrack_resident_entities", { description: "Sample actors resident on this runner" })
const waiting = Metric.gauge("poretrack_entity_admissions_waiting", {
  description: "Sample actors (and Sample entities) waiting for a place under MAX_RESIDENT_ENTITIES"
})
const activations = Metric.counter("poretrack_entity_activations_total", {
  description: "Sample actors made resident on this runner (each loads the sample from its row)",
  incremental: true
})
const seeded = Metric.counter("poretrack_entity_seeded_total", {
  description: "Sample actors made resident on this runner by the sample's creation here (with the row just written, not read)",
  incremental: true
})
const stops = Metric.counter("poretrack_entity_stops_total", {
  description: "Sample actors that left this runner: idle past ENTITY_MAX_IDLE, or their shard left (lost lock, rebalance, shutdown)",
  incremental: true
})

/** A resident sample's actor. */
export interface Resident {
  /**
   * A command, through the actor's mailbox. `command` is the payload's command already decoded, when the caller holds
   * it (the local path): the actor then skips decoding what was just encoded.
   */
  execute(payload: ExecutePayload, command?: SampleCommand): Effect.Effect<CommandResult, CommandError | CommandDefect>
  /** An SLA timer, through the actor's mailbox. */
  wake(payload: WakeAt): Effect.Effect<void>
  /** Waits for the messages in the mailbox. */
  readonly idle: Effect.Effect<void>
  /** The actor's copy of the sample's row, if it holds one (read from the row, or given when it was created here). */
  readonly loaded: LoadedSample | undefined
}

interface Entry {
  readonly resident: Resident
  readonly shardId: ShardId.ShardId
  /** Messages taken for this actor and not finished (waiting in its mailbox or in progress). */
  pending: number
  lastActive: number
}

/** How the runner hosts actors (SampleEntity.ts). */
export interface Hosting {
  /** A new actor; with `loaded`, its copy of the row is that (a sample this process has just created), not yet read. */
  readonly make: (sampleId: string, shardId: ShardId.ShardId, loaded?: LoadedSample) => Resident
  /** Whether this runner holds the shard. */
  readonly holds: (shardId: ShardId.ShardId) => boolean
  readonly maxResident: number
  readonly maxIdle: Duration.Duration
}

/**
 * The places under MAX_RESIDENT_ENTITIES, one held by each resident actor. Like a semaphore of that many permits, and
 * it can also give a place only if one is free now (`tryTake`), which seeding needs: it must never wait.
 */
class Places {
  private readonly waiters = new Set<() => void>()
  constructor(private free: number) {}

  /** A place if one is free and nobody waits for one. */
  tryTake(): boolean {
    if (this.free <= 0 || this.waiters.size > 0) return false
    this.free--
    return true
  }

  /** Takes the place in the fiber that goes on with it (an interrupted waiter takes none). */
  private readonly grab: Effect.Effect<void> = Effect.suspend(() => {
    if (this.free <= 0) return this.take
    this.free--
    return Effect.void
  })

  /** Waits for a place and takes it. */
  readonly take: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.free > 0 && this.waiters.size === 0) {
      resume(this.grab)
      return
    }
    const waiter = () => {
      if (this.free <= 0) return
      this.waiters.delete(waiter)
      resume(this.grab)
    }
    this.waiters.add(waiter)
    return Effect.sync(() => {
      this.waiters.delete(waiter)
    })
  })

  /** Gives `n` places back and wakes waiters, first come first served, while places are free. */
  release(n: number): void {
    this.free += n
    for (const waiter of this.waiters) {
      if (this.free <= 0) break
      waiter()
    }
  }
}

/** How often residents are checked for idleness and for a shard that left. */
const SWEEP = Duration.seconds(1)
/** How long a leaving actor's mailbox may take to finish. */
const DRAIN = Duration.seconds(5)

export class LocalSamples extends Effect.Service<LocalSamples>()("poretrack/LocalSamples", {
  sync: () => {
    const entries = new Map<string, Entry>()
    let hosting: Hosting | undefined = undefined
    let places = new Places(0)
    let now = () => Date.now()

    const leave = (sampleId: string, entry: Entry, count: { n: number }) => {
      if (entries.get(sampleId) !== entry || entry.pending > 0) return
      entries.delete(sampleId)
      count.n++
    }
    const left = (count: { n: number }) =>
      count.n === 0 ? Effect.void : Effect.sync(() => places.release(count.n)).pipe(
        Effect.zipRight(Metric.incrementBy(stops, count.n)),
        Effect.zipRight(Effect.suspend(() => Metric.set(residentGauge, entries.size))),
        Effect.asVoid
      )

    /**
     * Takes the sample's actor for one message: the resident one, or a new one once there is a place. Runs
     * uninterruptibly but for the wait for a place (`restore`), so a taken actor is always given back.
     */
    const take = (
      sampleId: string,
      shardId: ShardId.ShardId,
      host: Hosting,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    ): Effect.Effect<Entry> =>
      Effect.suspend(() => {
        const entry = entries.get(sampleId)
        if (entry !== undefined) {
          entry.pending++
          return Effect.succeed(entry)
        }
        return Effect.gen(function*() {
          yield* Metric.increment(waiting)
          yield* restore(places.take).pipe(Effect.ensuring(Metric.incrementBy(waiting, -1)))
          // Another message may have made the actor resident while this one waited: the place goes back.
          const raced = entries.get(sampleId)
          if (raced !== undefined) {
            raced.pending++
            places.release(1)
            return raced
          }
          const made: Entry = { resident: host.make(sampleId, shardId), shardId, pending: 1, lastActive: now() }
          entries.set(sampleId, made)
          yield* Metric.increment(activations)
          yield* Metric.set(residentGauge, entries.size)
          return made
        })
      })

    /** Runs `f` on the sample's actor; the actor counts the message as pending until it is done. */
    const use = <A, E>(sampleId: string, shardId: ShardId.ShardId, f: (resident: Resident) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        const host = hosting
        if (host === undefined) return Effect.die(new Error("this process hosts no Sample actors"))
        return Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(take(sampleId, shardId, host, restore), (entry) =>
            restore(f(entry.resident)).pipe(Effect.ensuring(Effect.sync(() => {
              entry.pending--
              entry.lastActive = now()
            }))))
        )
      })

    /** Actors idle past ENTITY_MAX_IDLE, or whose shard this runner no longer holds, leave. */
    const sweep = (host: Hosting) =>
      Effect.suspend(() => {
        const idleSince = now() - Duration.toMillis(host.maxIdle)
        const count = { n: 0 }
        for (const [sampleId, entry] of entries) {
          if (entry.pending === 0 && (entry.lastActive <= idleSince || !host.holds(entry.shardId))) leave(sampleId, entry, count)
        }
        return left(count)
      })

    return {
      /** Whether this process hosts Sample actors (a gateway does not: its commands go through the cluster). */
      hosts: (): boolean => hosting !== undefined,
      /** The resident actor of a sample, if any. */
      get: (sampleId: string): Resident | undefined => entries.get(sampleId)?.resident,
      /** Resident actors. */
      size: (): number => entries.size,
      use,
      /**
       * Samples this process has just created (their rows committed as `loaded` says), made resident with that copy, so
       * their first command reads no row: a submission received at the desk right after it is entered, a batch of
       * intake. Only for shards this runner holds and while there are places under MAX_RESIDENT_ENTITIES (a
       * sample left out is loaded by its first command, as always); never waits. A sample already resident keeps its
       * actor. Whatever is seeded stays behind the version fence like every copy.
       */
      seed: (samples: ReadonlyArray<{ readonly sampleId: string; readonly shardId: ShardId.ShardId; readonly loaded: LoadedSample }>): Effect.Effect<void> =>
        Effect.suspend(() => {
          const host = hosting
          if (host === undefined) return Effect.void
          let made = 0
          for (const { loaded, sampleId, shardId } of samples) {
            if (entries.has(sampleId) || !host.holds(shardId)) continue
            if (!places.tryTake()) break
            entries.set(sampleId, { resident: host.make(sampleId, shardId, loaded), shardId, pending: 0, lastActive: now() })
            made++
          }
          if (made === 0) return Effect.void
          return Metric.incrementBy(seeded, made).pipe(
            Effect.zipRight(Effect.suspend(() => Metric.set(residentGauge, entries.size))),
            Effect.asVoid
          )
        }),
      /**
       * The sample's shard left this runner (its entity stops): the actor's mailbox is let finish (at most 5 s), so
       * the shard's next owner loads what it wrote, and the actor leaves.
       */
      release: (sampleId: string): Effect.Effect<void> =>
        Effect.suspend(() => {
          const entry = entries.get(sampleId)
          if (entry === undefined) return Effect.void
          return Effect.interruptible(entry.resident.idle).pipe(
            Effect.timeoutOption(DRAIN),
            Effect.zipRight(Effect.suspend(() => {
              const count = { n: 0 }
              leave(sampleId, entry, count)
              return left(count)
            }))
          )
        }),
      /**
       * Hosts actors for the scope's life (the entity layer's): idle ones and those of shards that left are swept out
       * every second. When the scope closes, the mailboxes are let finish (at most 5 s).
       */
      host: (options: Hosting): Effect.Effect<void, never, Scope.Scope> =>
        Effect.gen(function*() {
          const clock = yield* Effect.clock
          now = () => clock.unsafeCurrentTimeMillis()
          places = new Places(options.maxResident)
          hosting = options
          yield* sweep(options).pipe(Effect.repeat(Schedule.spaced(SWEEP)), Effect.forkScoped)
          // On shutdown the commands in progress are let finish. Actors still serve the cluster's messages until the
          // runner has stopped its entities and handed its shards over (Sharding closes after this layer).
          yield* Effect.addFinalizer(() =>
            Effect.suspend(() => {
              const draining = [...entries.values()].map((entry) => entry.resident.idle)
              return Effect.all(draining, { concurrency: "unbounded", discard: true }).pipe(Effect.timeoutOption(DRAIN), Effect.asVoid)
            })
          )
        })
    } as const
  }
}) {}
