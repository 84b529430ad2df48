/**
 * The local-entity path: Sample entities resident on this runner, callable without @effect/cluster's message path.
 *
 * A command to a sample whose entity lives in this process would otherwise travel through the cluster's client and
 * the entity's RPC server (a request id, envelope, reply, several fibers and queues per message): measured at a fifth
 * of the process's CPU per transition. Here a resident entity registers its command handler when it activates and
 * withdraws it when it stops; a command for a registered sample goes straight into the entity's mailbox, in turn with
 * the messages the cluster delivers (SLA timers, commands from other processes), and runs the same handler. A sample
 * with no resident entity here (not activated yet, passivated, or on another runner), or whose shard this runner no
 * longer holds (the entity is about to be stopped), goes through the cluster, which routes it where the shard lives.
 *
 * Nothing of the spine's guarantees moves: the entity is still the only writer of its sample in this process (one
 * mailbox), every commit is behind the version fence (a stale entity's write after its shard moved is refused), and
 * an entity that stops first lets the commands in its mailbox finish, so the shard's next owner loads what they wrote.
 */
import type { ShardId } from "@effect/cluster"
import { Effect } from "effect"
import type { CommandResult } from "../rpc/Commands.ts"
import type { CommandError } from "../rpc/Errors.ts"
import type { CommandDefect, ExecutePayload } from "./Sample.ts"

/** A resident entity: its shard (the path is taken only while this runner holds it) and its command handler. */
export interface LocalSample {
  readonly shardId: ShardId.ShardId
  /** The command, through the entity's mailbox. */
  execute(payload: ExecutePayload): Effect.Effect<CommandResult, CommandError | CommandDefect>
}

export class LocalSamples extends Effect.Service<LocalSamples>()("poretrack/LocalSamples", {
  sync: () => {
    const resident = new Map<string, LocalSample>()
    return {
      /** The handler of the sample's entity when it is resident in this process. */
      get: (sampleId: string): LocalSample | undefined => resident.get(sampleId),
      /** Registers a resident entity (synchronous: a resident entity costs one map entry here). */
      register: (sampleId: string, entity: LocalSample): void => {
        resident.set(sampleId, entity)
      },
      /** Withdraws an entity that stops (a restarted entity has replaced it by then, and its own stays). */
      withdraw: (sampleId: string, entity: LocalSample): void => {
        if (resident.get(sampleId) === entity) resident.delete(sampleId)
      },
      /** Resident entities registered (for tests and metrics). */
      size: (): number => resident.size
    } as const
  }
}) {}
