/** The Sample entity's protocol: one entity per sample, sharded by sample id. */
import { ClusterSchema, DeliverAt, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { DateTime, PrimaryKey, Schema } from "effect"
import { CommandResult, SampleCommand } from "../rpc/Commands.ts"
import { CommandError } from "../rpc/Errors.ts"

/** A sample command in its encoded form; `encodeCommand` and `decodeCommand` convert. */
export const EncodedCommand = Schema.encodedSchema(SampleCommand)
export type EncodedCommand = typeof EncodedCommand.Type
export const encodeCommand = Schema.encodeSync(SampleCommand)
export const decodeCommand = Schema.decodeEither(SampleCommand, { errors: "all" })

/**
 * The entity hit a bug or bad data (a database error that is not an outage, a stored record it cannot read). Internal
 * to the entity protocol: a real defect in the handler would restart the entity and run the same command again under
 * @effect/cluster's restart backoff while the caller waits; this reply ends the command at once, and the gateway turns
 * it into a defect (HTTP 500). Never part of a public contract.
 */
export class CommandDefect extends Schema.TaggedError<CommandDefect>()("CommandDefect", {
  sampleId: Schema.String,
  message: Schema.String,
  sqlState: Schema.optional(Schema.String)
}) {}

/**
 * A command for the sample. Volatile on purpose: the caller waits for the reply, and the idempotency record is written
 * in the same transaction as the state, so a lost message is retried by the caller with the same key.
 */
export const Execute = Rpc.make("Execute", {
  payload: {
    // The command travels in its encoded (JSON) form: the client validates a payload on every send, and a plain
    // schema keeps that validation on a memoised parser (a union of classes would rebuild its parser every time).
    command: EncodedCommand,
    idempotencyKey: Schema.String,
    actor: Schema.String,
    /** When set (from `If-Match`), the command applies only to this version: checked by the owner, in turn. */
    expectedVersion: Schema.optional(Schema.Number)
  },
  success: CommandResult,
  error: Schema.Union(CommandError, CommandDefect)
})

/** What an `Execute` message carries. */
export type ExecutePayload = typeof Execute.payloadSchema.Type

/**
 * An SLA timer: held in PostgreSQL until `at`, delivered at least once. Its primary key (de-duplicated per sample,
 * also against messages already processed) is its time and the version of the state that armed it: re-sending the
 * same arming is a no-op, and a later arming at the same time (a priority changed and back, a hold of no measurable
 * length) is a new timer.
 * Timers stored before the version was part of the key have none.
 */
export class WakeAt extends Schema.Class<WakeAt>("WakeAt")({ at: Schema.Number, version: Schema.optional(Schema.Number) }) {
  [PrimaryKey.symbol]() {
    return this.version === undefined ? `wake/${this.at}` : `wake/${this.at}/v${this.version}`
  }
  [DeliverAt.symbol]() {
    return DateTime.unsafeMake(this.at)
  }
}

/** The timer message the sample sends itself (persisted, so it survives restarts and moves with the shard). */
export const Wake = Rpc.make("Wake", { payload: WakeAt }).annotate(ClusterSchema.Persisted, true)

/** The Sample entity type. */
export const Sample = Entity.make("Sample", [Execute, Wake])
