/**
 * The Sample entity's behaviour: the only writer of an existing sample.
 * Each accepted command is one PostgreSQL statement (state behind the version fence + events + idempotency record),
 * then the reply. SLA timers are persisted `WakeAt` messages the sample sends itself; one is armed at a time, at the
 * earliest threshold not yet raised, and a firing re-checks the clocks and arms the next. A command's commit statement
 * also stores the timer it arms and deletes the superseded ones before they fire (WakeTimers.ts), so one round trip
 * does it all and a superseded timer never wakes the sample.
 */
import { Entity, Sharding } from "@effect/cluster"
import type { ClusterError, ShardId } from "@effect/cluster"
import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Duration, Effect, Either, Layer, Metric, Option, PrimaryKey, Schedule, Schema, Scope } from "effect"
import { createHash, randomUUID } from "node:crypto"
import { CommandResult, type SampleCommand } from "../rpc/Commands.ts"
import { issuesOf } from "../rpc/Decode.ts"
import { IdempotencyKeyReused, InvalidInput, SampleBusy, SampleNotFound, VersionMismatch } from "../rpc/Errors.ts"
import { SampleId } from "../rpc/Ids.ts"
import type { SampleState } from "../rpc/Workflow.ts"
import { isDatabaseOutage, isSqlError, SampleRepo, sqlStateOf, type LoadedSample, type NewEvent } from "../persistence/SampleRepo.ts"
import { disarmSupersededWakes, type WakeRow } from "../persistence/WakeTimers.ts"
import { CommandDefect, decodeCommand, Sample, WakeAt, type EncodedCommand, type ExecutePayload } from "./Sample.ts"
import { LocalSamples, type Resident } from "./LocalSamples.ts"
import { SampleMetrics } from "./SampleMetrics.ts"
import { toView } from "./SampleViews.ts"
import { decide, nextWake, SlaCheck, type Emitted } from "./SampleWorkflow.ts"
import { Mailbox } from "./Mailbox.ts"
import { Policy, type PolicyInForce, type WorkflowPolicy } from "./WorkflowPolicy.ts"
import { annotateSpan, fnTraced } from "./fnTraced.ts"

/** Retries of a timer whose database work failed: quick at first, then every 2 s, for at most 30 s, then a defect. */
const WAKE_RETRY = Schedule.exponential(Duration.millis(200)).pipe(
  Schedule.union(Schedule.spaced(Duration.seconds(2))),
  Schedule.upTo(Duration.seconds(30))
)

const decodeStored = Schema.decodeUnknown(CommandResult.pipe(Schema.omit("replayed")))

/** A stable digest of a command, to tell a replay from a different command under the same key. */
const fingerprint = (encoded: EncodedCommand): string =>
  createHash("sha256").update(JSON.stringify(encoded)).digest("base64url")

const encodeWakeAt = Schema.encodeSync(WakeAt)

const withIds = (events: ReadonlyArray<Emitted>): Array<NewEvent> => events.map((e) => ({ id: randomUUID(), ...e }))

/** What the Sample entities of a runner share, resolved once when the entity layer is built. */
interface Shared {
  readonly repo: SampleRepo
  readonly sql: SqlClient.SqlClient
  readonly policies: PolicyInForce
  readonly sharding: Sharding.Sharding["Type"]
  /** The entity's client to itself, made each time a timer is armed rather than held by every resident entity. */
  readonly client: (entityId: string) => { readonly Wake: (payload: WakeAt, options: { readonly discard: true }) => Effect.Effect<void, unknown> }
}

/**
 * One resident sample (LocalSamples.ts): its in-memory copy of the row and its mailbox. Its behaviour is in the
 * functions below, shared by all: a resident sample holds this object, its mailbox and its copy, and no closures of
 * its own.
 */
class SampleActor implements Resident {
  /** The in-memory copy of this sample's row; the row is the truth and this actor its only writer here. */
  loaded: LoadedSample | undefined = undefined
  readonly mailbox = new Mailbox("Sample")
  readonly sampleId: Option.Option<SampleId>

  constructor(readonly entityId: string, readonly shardId: ShardId.ShardId, readonly shared: Shared, loaded?: LoadedSample) {
    this.sampleId = Schema.decodeOption(SampleId)(entityId)
    this.loaded = loaded
  }

  execute(payload: ExecutePayload, command?: SampleCommand) {
    return this.mailbox.process("Execute", execute(this, payload, command))
  }

  wake(payload: WakeAt) {
    return this.mailbox.process("Wake", wake(this, payload))
  }

  get idle() {
    return this.mailbox.idle
  }
}

const ensureLoaded = (actor: SampleActor): Effect.Effect<Option.Option<LoadedSample>, SqlError.SqlError> =>
  Effect.suspend(() => {
    if (actor.loaded !== undefined) return Effect.succeedSome(actor.loaded)
    if (Option.isNone(actor.sampleId)) return Effect.succeedNone
    return Effect.tap(actor.shared.repo.load(actor.sampleId.value), (row) =>
      Effect.sync(() => {
        if (Option.isSome(row)) actor.loaded = row.value
      }))
  })

/**
 * PostgreSQL did not answer (outage, restart, a killed session): a typed, retryable refusal instead of a defect.
 * A defect restarts the entity under @effect/cluster's restart backoff, which is shared by every sample of the
 * runner and grows to 10 s, and holds the caller's request unanswered meanwhile (over 20 s after a short
 * PostgreSQL restart). A commit that failed may still have landed, so the copy is dropped and reloaded: the
 * caller's retry with the same key then replays the first result or runs the command once.
 * Any other database error (bad data, a violated constraint, a syntax error) is a bug: retrying cannot help, so
 * it is logged with its SQLSTATE and the command ends as a CommandDefect (the gateway's 500), never SampleBusy.
 */
const databaseError = (actor: SampleActor, error: SqlError.SqlError | ClusterError.PersistenceError) =>
  Effect.gen(function*() {
    actor.loaded = undefined
    const sqlError = error._tag === "SqlError" ? error : isSqlError(error.cause) ? error.cause : undefined
    if (sqlError === undefined || isDatabaseOutage(sqlError)) {
      yield* Effect.logWarning("database unavailable; command refused as busy", { sampleId: actor.entityId }, error)
      return yield* new SampleBusy({ sampleId: actor.entityId, message: "the database is unavailable; retry shortly" })
    }
    const sqlState = sqlStateOf(sqlError)
    yield* Effect.logError("database error that is not an outage; command ended as a defect", {
      sampleId: actor.entityId,
      sqlState: sqlState ?? "none"
    }, error)
    return yield* new CommandDefect({
      sampleId: actor.entityId,
      message: `database error${sqlState === undefined ? "" : ` ${sqlState}`}: ${sqlError.message}`,
      ...(sqlState === undefined ? {} : { sqlState })
    })
  })

/** A defect in the handler: logged, the copy dropped, and the command ended at once (see CommandDefect). */
const defect = (actor: SampleActor, cause: unknown) =>
  Effect.gen(function*() {
    actor.loaded = undefined
    yield* Effect.logError("defect while executing a command; command ended as a defect", { sampleId: actor.entityId }, cause)
    return yield* new CommandDefect({ sampleId: actor.entityId, message: `defect: ${String(cause)}` })
  })

/**
 * Arms a timer for the next threshold unless it is the one armed; returns the armed time (null: no clock runs).
 * Keyed by time and `state.version`: a retry of the same transition re-sends the same message (a no-op), and a
 * later arming at the same time is never taken for one already processed.
 */
const armFor = (actor: SampleActor, state: SampleState, armed: number | null, policy: WorkflowPolicy) =>
  Effect.gen(function*() {
    const want = nextWake(state, policy) ?? null
    if (want === armed) return armed
    // Sent before the state commits: if the commit fails, the timer fires, re-checks and does nothing.
    if (want !== null) yield* actor.shared.client(actor.entityId).Wake(new WakeAt({ at: want, version: state.version }), { discard: true })
    return want
  })

/**
 * The timer a transition arms, written by its commit statement (WakeTimers.ts `WakeRow`): the same row, with the
 * same primary key, that sending `Wake` with `DeliverAt` would store, but behind the version fence and in the one
 * round trip of the commit. `armed` is the timer's time (null: no clock runs); `disarm` when it moved or cleared.
 */
const planWake = (
  actor: SampleActor,
  state: SampleState,
  current: number | null,
  policy: WorkflowPolicy
): Effect.Effect<{ readonly armed: number | null; readonly wake: WakeRow | null; readonly disarm: boolean }> =>
  Effect.gen(function*() {
    const armed = nextWake(state, policy) ?? null
    if (armed === current) return { armed, wake: null, disarm: false }
    if (armed === null) return { armed, wake: null, disarm: true }
    // Both numbers are ours (a computed time, the state's version): the constructor need not validate them.
    const payload = new WakeAt({ at: armed, version: state.version }, true)
    const wake: WakeRow = {
      requestId: String(yield* actor.shared.sharding.getSnowflake),
      messageId: `Sample/${actor.entityId}/Wake/${PrimaryKey.value(payload)}`,
      shardId: actor.shardId.toString(),
      payload: JSON.stringify(encodeWakeAt(payload))
    }
    return { armed, wake, disarm: true }
  })

/**
 * After a commit that moved or cleared the timer: the superseded wakes are deleted before a runner reads them, so
 * they never fire nor load the sample (WakeTimers.ts). In the mailbox, before the next message can arm another.
 * Best effort: a wake that survives (the delete failed, or it was already being delivered) fires as a no-op.
 */
const disarm = (actor: SampleActor, armed: number | null) =>
  disarmSupersededWakes(actor.entityId, armed).pipe(
    Effect.provideService(SqlClient.SqlClient, actor.shared.sql),
    Effect.catchAllCause((cause) =>
      Effect.logWarning("superseded SLA timers not disarmed; they will fire as no-ops", { sampleId: actor.entityId }, cause)
    ),
    Effect.asVoid
  )

const fenceLost = (actor: SampleActor, state: SampleState) =>
  Effect.gen(function*() {
    actor.loaded = undefined
    yield* Metric.increment(SampleMetrics.fencingFailures)
    yield* Effect.logError("version fence failed: another owner wrote this sample; reloading", {
      sampleId: state.id,
      expectedVersion: state.version
    })
    return yield* new SampleBusy({ sampleId: state.id, message: "the sample moved to another owner; retry" })
  })

const executeCommand = fnTraced("Sample.Execute")(function*(actor: SampleActor, payload: ExecutePayload, given?: SampleCommand) {
  const { repo } = actor.shared
  const { actor: by, idempotencyKey } = payload
  const decoded = given === undefined ? decodeCommand(payload.command) : Either.right(given)
  // The gateway validates every command; one that still fails here bypassed it (or comes from another version).
  if (Either.isLeft(decoded)) {
    return yield* new InvalidInput({ message: "invalid command", issues: issuesOf(decoded.left, "command") })
  }
  const command = decoded.right
  yield* annotateSpan({ sampleId: actor.entityId, command: command._tag })
  const current = yield* ensureLoaded(actor)
  if (Option.isNone(current)) return yield* new SampleNotFound({ sampleId: actor.entityId })
  const { commands, state, timerAt } = current.value
  const print = fingerprint(payload.command)
  // Recent keys are held in memory; an older one (the sample has records the entity does not hold) is read
  // from PostgreSQL, so that a replay is answered as one for as long as its record is kept (IdempotencyWindow.ts).
  const used = commands.get(idempotencyKey)
  if (used !== undefined && used !== print) {
    return yield* new IdempotencyKeyReused({ sampleId: state.id, idempotencyKey, firstCommand: "a different command" })
  }
  if (used !== undefined || !commands.complete) {
    const stored = yield* repo.commandResult(state.id, idempotencyKey)
    if (Option.isSome(stored)) {
      if (stored.value.fingerprint !== print) {
        return yield* new IdempotencyKeyReused({ sampleId: state.id, idempotencyKey, firstCommand: "a different command" })
      }
      const first = yield* decodeStored(stored.value.result).pipe(Effect.orDie)
      return { ...first, replayed: true }
    }
  }
  const expected = payload.expectedVersion
  if (expected !== undefined && expected !== state.version) {
    return yield* new VersionMismatch({
      message: `the command expects version ${expected}; the sample is at version ${state.version}`,
      sampleId: state.id,
      currentVersion: state.version
    })
  }
  const now = yield* Clock.currentTimeMillis
  const policy = yield* actor.shared.policies.current
  const decision = decide(state, command, { now, policy })
  if (decision._tag === "Left") return yield* decision.left
  const { state: next, events } = decision.right
  const planned = yield* planWake(actor, next, timerAt, policy)
  const armed = planned.armed
  const stored = withIds(events)
  const result = {
    sample: toView(next, now, policy),
    events: stored.map((e) => ({ id: e.id, type: e.type })),
    idempotencyKey
  }
  // The commit and the copy's update happen together or not at all: an interruption (the caller gave up, the
  // shard moved) waits for the statement, so the copy never lags behind a write that landed.
  const ok = yield* Effect.uninterruptible(repo.commit({
    expectedVersion: state.version,
    state: next,
    events: stored,
    actor: by,
    command: { key: idempotencyKey, tag: command._tag, fingerprint: print, result },
    timerAt: armed,
    wake: planned.wake,
    disarm: planned.disarm
  }).pipe(Effect.tap((ok) =>
    Effect.sync(() => {
      if (!ok) return
      commands.remember(idempotencyKey, print, now)
      actor.loaded = { state: next, timerAt: armed, commands }
    })
  )))
  if (!ok) return yield* fenceLost(actor, state)
  yield* SampleMetrics.recordTransition(command, state, next, events, now)
  return { ...result, replayed: false }
})

const execute = (actor: SampleActor, payload: ExecutePayload, command?: SampleCommand) =>
  executeCommand(actor, payload, command).pipe(
    Effect.catchTags({ SqlError: (error) => databaseError(actor, error) }),
    Effect.catchAllDefect((cause) => defect(actor, cause))
  )

const wake = Effect.fn("Sample.Wake")(function*(actor: SampleActor, payload: WakeAt) {
  const { repo } = actor.shared
  const current = yield* ensureLoaded(actor)
  if (Option.isNone(current)) return
  const { commands, state } = current.value
  const firedAt = payload.at
  // The armed timer has fired unless a later one replaced it.
  const timerAt = current.value.timerAt !== null && current.value.timerAt <= firedAt ? null : current.value.timerAt
  const now = yield* Clock.currentTimeMillis
  const policy = yield* actor.shared.policies.current
  const decision = decide(state, new SlaCheck(), { now, policy })
  if (decision._tag === "Left") return
  const { state: next, events } = decision.right
  const armed = yield* armFor(actor, next, timerAt, policy)
  if (events.length === 0) {
    if (armed !== current.value.timerAt) {
      yield* repo.setTimer(state.id, state.version, armed)
      actor.loaded = { state, timerAt: armed, commands }
      yield* disarm(actor, armed)
    }
    return
  }
  const ok = yield* Effect.uninterruptible(repo.commit({
    expectedVersion: state.version,
    state: next,
    events: withIds(events),
    actor: "system:sla",
    command: null,
    timerAt: armed
  }).pipe(Effect.tap((ok) =>
    Effect.sync(() => {
      if (ok) actor.loaded = { state: next, timerAt: armed, commands }
    })
  )))
  // Fenced like a command: the copy is dropped and the check runs again from the row (the retry below). If
  // this runner really lost the shard, the retry is interrupted when the entity stops, and the timer, still
  // unprocessed, is delivered to the new owner.
  if (!ok) return yield* fenceLost(actor, state)
  if (armed !== current.value.timerAt) yield* disarm(actor, armed)
  yield* SampleMetrics.recordSla(events)
}, (effect, actor) =>
  effect.pipe(
    // PostgreSQL briefly unreachable, or the version fence lost to another writer: check again from the row
    // rather than defect. A defect would restart the entity under the shared, growing restart backoff (and
    // could keep restarting every 10 s, holding up the runner's shutdown); a typed failure would end the
    // persisted timer. A commit that failed may have landed, so the copy is reloaded: the state then shows the
    // thresholds already raised, and nothing fires twice.
    Effect.tapError(() =>
      Effect.sync(() => {
        actor.loaded = undefined
      })
    ),
    Effect.retry(WAKE_RETRY),
    Effect.orDie
  ))

/**
 * The Sample entity layer: the runner hosts the Sample actors (LocalSamples.ts), and the Sample entity is the cluster's
 * door to them: SLA timers and commands from other processes arrive as its messages and go to the sample's actor.
 * Idle entities are passivated after `maxIdleTime`; the actor stays as long as it is used (LocalSamples.ts).
 */
export const SampleEntityLive = (options: { readonly maxIdleTime: Duration.Duration; readonly maxResident: number }) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const sharding = yield* Sharding.Sharding
    const shared: Shared = {
      repo: yield* SampleRepo,
      sql: yield* SqlClient.SqlClient,
      policies: yield* Policy,
      sharding,
      client: yield* Sample.client
    }
    const local = yield* LocalSamples
    yield* local.host({
      make: (sampleId, shardId, loaded) => new SampleActor(sampleId, shardId, shared, loaded),
      holds: (shardId) => sharding.hasShardId(shardId),
      maxResident: options.maxResident,
      maxIdle: options.maxIdleTime
    })
    // At most as many entities as actors: a backlog of timers for many samples activates them at that pace.
    const places = yield* Effect.makeSemaphore(options.maxResident)
    return Sample.toLayer(
      Effect.gen(function*() {
        const address = yield* Entity.CurrentAddress
        const scope = yield* Effect.scope
        yield* Effect.uninterruptible(Effect.zipRight(places.take(1), Scope.addFinalizer(scope, places.release(1))))
        const { entityId, shardId } = address
        // Stopped because its shard left: the actor's mailbox finishes, then the actor leaves (LocalSamples.ts).
        // Scope.addFinalizer, not Effect.addFinalizer: the latter keeps a copy of the fiber's FiberRefs per entity.
        yield* Scope.addFinalizer(scope, Effect.suspend(() => sharding.hasShardId(shardId) ? Effect.void : local.release(entityId)))
        return Sample.of({
          Execute: (envelope) => local.use(entityId, shardId, (actor) => actor.execute(envelope.payload)),
          Wake: (envelope) => local.use(entityId, shardId, (actor) => actor.wake(envelope.payload))
        })
      }),
      // The cluster hands every message over as it arrives; the actor's mailbox processes them one at a time.
      { maxIdleTime: options.maxIdleTime, concurrency: "unbounded" }
    )
  }))
