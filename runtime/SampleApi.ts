/**
 * The operations behind both the REST bridge and the RPC server: reads from PostgreSQL, commands through the Sample
 * entities (one writer per sample), submissions created atomically.
 */
import { Cause, Chunk, Clock, Duration, Effect, Either, Metric, MetricKey, Option, Predicate, Schedule, Schema } from "effect"
import { createHash, randomFillSync, randomUUID } from "node:crypto"
import { EntityId, Sharding } from "@effect/cluster"
import { LocalSamples } from "../actors/LocalSamples.ts"
import { encodeCommand, Sample } from "../actors/Sample.ts"
import { toView, toWorkflowView } from "../actors/SampleViews.ts"
import { create } from "../actors/SampleWorkflow.ts"
import { Policy } from "../actors/WorkflowPolicy.ts"
import { decodePosition, encodePosition, EventLog } from "../persistence/EventLog.ts"
import { CommandWindow } from "../persistence/IdempotencyWindow.ts"
import { SampleRepo, SubmissionNumberTaken, type ListAfter, type SubmissionCounts, type SubmissionRow } from "../persistence/SampleRepo.ts"
import type {
  BatchCommand,
  BatchItem,
  BatchResult,
  CreatedSubmission,
  ListSamples,
  ListSubmissions,
  NewSampleInput,
  SamplePage,
  Submission,
  SubmissionDetail,
  SubmissionInput,
  SubmissionPage,
  SubmissionProgress
} from "../rpc/Api.ts"
import type { CommandResult, SampleCommand } from "../rpc/Commands.ts"
import {
  IdempotencyKeyReused,
  InvalidInput,
  SampleBusy,
  SampleNotFound,
  SubmissionNotFound,
  SubmissionRejected,
  type CommandError
} from "../rpc/Errors.ts"
import { SampleId, SubmissionId } from "../rpc/Ids.ts"
import { SafeText } from "../rpc/SafeText.ts"
import type { SampleDetails, StepId } from "../rpc/Workflow.ts"
import { taggedMetric } from "../actors/taggedMetric.ts"
import { annotateSpan, fnTraced } from "../actors/fnTraced.ts"

const DETAIL_KEYS: ReadonlyArray<keyof SampleDetails> = [
  "sampleType", "organism", "buffer", "volumeUl", "concentrationNgUl", "nanodropNgUl", "a260_280", "a260_230",
  "libraryKit", "basecallingModel", "genomeSizeMb", "targetCoverage", "humanDna", "control", "notes"
]

const pickDetails = (row: Partial<Record<keyof SampleDetails, unknown>>): SampleDetails =>
  Object.fromEntries(DETAIL_KEYS.filter((k) => row[k] !== undefined).map((k) => [k, row[k]])) as SampleDetails

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/** Random bytes for submission numbers, drawn from the system's generator 4 KiB at a time. */
const NUMBER_BYTES = 9
const randomPool = Buffer.alloc(NUMBER_BYTES * 455)
let randomUsed = randomPool.length
const randomNumberBytes = (): Buffer => {
  if (randomUsed + NUMBER_BYTES > randomPool.length) {
    randomFillSync(randomPool)
    randomUsed = 0
  }
  randomUsed += NUMBER_BYTES
  return randomPool.subarray(randomUsed - NUMBER_BYTES, randomUsed)
}

/**
 * A new submission number: `PT-<yyyymmdd>-` and 13 Crockford base32 characters (65 random bits: a chance collision
 * needs billions of submissions in one day); a collision is still drawn again by createSubmission.
 */
export const newSubmissionNumber = (now: number): string => {
  const d = new Date(now).toISOString().slice(0, 10).replace(/-/g, "")
  // Five bits at a time from 72 random bits, lowest first, in plain integers (a BigInt and a random-bytes call per
  // creation cost ~2 % of intake's CPU).
  const bytes = randomNumberBytes()
  let tail = ""
  let bits = 0
  let held = 0
  let next = bytes.length - 1
  for (let i = 0; i < 13; i++) {
    if (held < 5) {
      bits |= bytes[next--]! << held
      held += 8
    }
    tail += CROCKFORD[bits & 31]
    bits >>>= 5
    held -= 5
  }
  return `PT-${d}-${tail}`
}

/** How often a generated submission number is drawn again after it collided with an existing one. */
const NUMBER_ATTEMPTS = 3

/**
 * Runs `insert` with a generated submission number, drawing a new one when it collided with an existing number (at
 * most NUMBER_ATTEMPTS draws; a third collision in a row means the generator is broken: a defect).
 */
export const withFreshNumber = <A, E, R>(
  insert: (number: string) => Effect.Effect<A, E | SubmissionNumberTaken, R>,
  draw: () => string
): Effect.Effect<A, Exclude<E, SubmissionNumberTaken>, R> => {
  const taken = (e: E | SubmissionNumberTaken): e is SubmissionNumberTaken => e instanceof SubmissionNumberTaken
  const attempt = (left: number): Effect.Effect<A, Exclude<E, SubmissionNumberTaken>, R> =>
    Effect.suspend(() => insert(draw())).pipe(
      Effect.catchIf(taken, (e) => (left > 1 ? attempt(left - 1) : Effect.die(e)))
    )
  return attempt(NUMBER_ATTEMPTS)
}

/** JSON with object keys sorted at every level: the same request always gives the same text. */
const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

/** A digest of a creation request, to tell a replay from a different request under the same idempotency key. */
const requestFingerprint = (kind: "sample" | "submission", input: unknown): string =>
  createHash("sha256").update(`${kind}\n${canonicalJson(input)}`).digest("base64url")

const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
const decodeCursor = <A, I>(schema: Schema.Schema<A, I>, cursor: string) =>
  Either.try(() => JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown).pipe(
    Either.flatMap((raw) => Schema.decodeUnknownEither(schema)(raw)),
    Either.mapLeft(() => new InvalidInput({ message: "invalid cursor", issues: [{ path: "cursor", message: "not a cursor from a previous page" }] }))
  )
const ListCursor = Schema.Number.pipe(Schema.int(), Schema.positive())
/** A time as PostgreSQL wrote it into a cursor: UTC, microseconds (exact, unlike a JavaScript Date). */
const MicroTime = Schema.String.pipe(Schema.filter((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(s) && !Number.isNaN(Date.parse(s))))
/**
 * A sample list's cursor: the newest-first order keeps its plain `seq` (cursors of earlier versions stay valid); the
 * other orders carry their name, the last row's sort key and its `seq`.
 */
const SortedCursor = Schema.Union(
  ListCursor,
  Schema.Tuple(Schema.Literal("created_asc"), ListCursor),
  Schema.Tuple(Schema.Literal("name_asc"), SafeText.pipe(Schema.maxLength(120)), ListCursor),
  Schema.Tuple(Schema.Literal("priority"), Schema.Number.pipe(Schema.int(), Schema.between(0, 3)), ListCursor),
  Schema.Tuple(Schema.Literal("due_asc"), Schema.NullOr(MicroTime), ListCursor)
)
const afterOf = (c: typeof SortedCursor.Type): ListAfter => {
  if (typeof c === "number") return { sort: "created_desc", seq: c }
  switch (c[0]) {
    case "created_asc":
      return { sort: c[0], seq: c[1] }
    case "name_asc":
      return { sort: c[0], name: c[1], seq: c[2] }
    case "priority":
      return { sort: c[0], rank: c[1], seq: c[2] }
    case "due_asc":
      return { sort: c[0], due: c[1], seq: c[2] }
  }
}
const cursorOf = (a: ListAfter): typeof SortedCursor.Type => {
  switch (a.sort) {
    case "created_desc":
      return a.seq
    case "created_asc":
      return [a.sort, a.seq]
    case "name_asc":
      return [a.sort, a.name, a.seq]
    case "priority":
      return [a.sort, a.rank, a.seq]
    case "due_asc":
      return [a.sort, a.due, a.seq]
  }
}
/** A submissions cursor: the last submission's creation time (microseconds) and id. */
const SubmissionCursor = Schema.Tuple(MicroTime, Schema.UUID)

/** A submission row as the API shows it. */
const toSubmission = (r: SubmissionRow): Submission => ({
  id: SubmissionId.make(r.id),
  number: r.number,
  submitterEmail: r.submitter_email,
  source: r.source,
  sampleCount: r.sample_count,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  data: r.data
})

const NO_SAMPLES: SubmissionProgress["byStatus"] = { submitted: 0, in_progress: 0, on_hold: 0, failed: 0, completed: 0, cancelled: 0, archived: 0 }

/** Counts by status (every status, zero when none), delivered samples, and the latest due time among active ones. */
const progressOf = (counts: SubmissionCounts | undefined): SubmissionProgress => {
  const byStatus: SubmissionProgress["byStatus"] = { ...NO_SAMPLES, ...counts?.byStatus }
  return {
    sampleCount: Object.values(byStatus).reduce((n, k) => n + k, 0),
    byStatus,
    completed: byStatus.completed + byStatus.archived,
    estimatedCompletion: counts?.latestDue?.toISOString() ?? null
  }
}
const IsoTime = Schema.String.pipe(Schema.filter((s) => /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(s) && !Number.isNaN(Date.parse(s))))
const QueueCursor = Schema.Tuple(
  Schema.Number.pipe(Schema.int(), Schema.between(0, 3)),
  Schema.NullOr(IsoTime),
  Schema.NullOr(IsoTime),
  Schema.UUID
)

/**
 * Retries of a command whose shard is moving: quick at first, then every 250 ms (a handover takes a few hundred ms, and
 * a longer backoff would answer late after the shard is back), for at most 15 s.
 */
const MOVING_RETRY = Schedule.exponential(Duration.millis(50)).pipe(
  Schedule.union(Schedule.spaced(Duration.millis(250))),
  Schedule.upTo(Duration.seconds(15))
)

const requestsSent = taggedMetric(MetricKey.counter("poretrack_cluster_requests_total", {
  description: "Messages sent to Sample entities from this process (resends after a shard moved included)",
  incremental: true
}), ["entity_type", "Sample"], ["message", "Execute"])
const responses = MetricKey.counter("poretrack_cluster_responses_total", {
  description: "Commands answered by Sample entities, by outcome: success, refused (a typed refusal), busy (503), defect (500), unanswered (shard moving too long)",
  incremental: true
})
/** The counter of an outcome, made once with its tags in its key (actors/taggedMetric.ts). */
const responsesOf = (outcome: string) => taggedMetric(responses, ["entity_type", "Sample"], ["message", "Execute"], ["outcome", outcome])
const answeredBy = {
  success: responsesOf("success"),
  refused: responsesOf("refused"),
  busy: responsesOf("busy"),
  defect: responsesOf("defect")
}
const answered = (outcome: "success" | "refused" | "busy" | "defect") => answeredBy[outcome]
const unanswered = responsesOf("unanswered")

/**
 * Errors of @effect/cluster that mean the entity's shard is between runners, or its runner went away, and the
 * transport's own failures on the connection to a runner that is stopping or gone (a write to a closed socket): the
 * command may or may not have been delivered, and the same idempotency key makes the resend safe either way.
 */
const MOVING_DEFECTS: ReadonlySet<string> = new Set([
  "EntityNotAssignedToRunner",
  "RunnerUnavailable",
  "RunnerNotRegistered",
  "MailboxFull",
  "AlreadyProcessingMessage",
  "SocketError",
  "RpcClientError"
])

/**
 * True when a command ended without a typed answer because its shard is moving: the entity was interrupted (its
 * runner stopped or lost the shard) or the cluster could not reach an owner. Safe to resend with the same key. Any
 * other defect (a bug, a database error that is not an outage) is not: it surfaces at once.
 */
export const isShardMoving = (cause: Cause.Cause<unknown>): boolean => {
  if (Cause.isEmpty(cause) || Option.isSome(Cause.failureOption(cause))) return false
  const defects = Chunk.toReadonlyArray(Cause.defects(cause))
  if (defects.length === 0) return Cause.isInterrupted(cause)
  return defects.every((d) => Predicate.hasProperty(d, "_tag") && typeof d._tag === "string" && MOVING_DEFECTS.has(d._tag))
}

/**
 * A batch's commands in flight at once: the whole batch (at most 500 samples, rpc/PoretrackApi.ts). Its samples'
 * loads and commits then travel in the largest groups (group commit, ≤ 64 per statement): in the in-process probe of
 * 2026-11-30 (later, on a faster machine) a 500-sample batch receive took 0.52–0.61 s and 0.45–0.68 s of CPU at 500,
 * 0.51–0.73 s at 256 and 0.84–1.05 s (0.84–0.89 s of CPU) at 64. Earlier, on a slower machine, 64 had beaten 16
 * (2.0–2.2 s against 2.6–2.8 s) and 128 was no faster than 64.
 */
const BATCH_CONCURRENCY = 500

/** A one-line account of a command error, for batch results. */
export const describe = (e: CommandError): string => {
  switch (e._tag) {
    case "StepTransitionRefused":
      return e.reason
    case "SampleNotFound":
      return `no sample ${e.sampleId}`
    case "IdempotencyKeyReused":
      return `idempotency key ${e.idempotencyKey} was used for a different command`
    case "InvalidInput":
    case "SampleBusy":
    case "VersionMismatch":
      return e.message
  }
}

/** Application service over samples and submissions. */
export class SampleApi extends Effect.Service<SampleApi>()("poretrack/SampleApi", {
  effect: Effect.gen(function*() {
    const repo = yield* SampleRepo
    const policies = yield* Policy
    const log = yield* EventLog
    const entity = yield* Sample.client
    const local = yield* LocalSamples
    const sharding = yield* Sharding.Sharding

    const now = Clock.currentTimeMillis

    /** The shard of a sample's entity. */
    const shardOf = (id: string) => {
      const entityId = EntityId.make(id)
      return sharding.getShardId(entityId, Sample.getShardGroup(entityId))
    }

    /** The first result of a creation key, read back for a replay (the submission as it is now, same ids). */
    const replayCreation = (submissionId: SubmissionId) =>
      Effect.gen(function*() {
        const found = yield* submission(submissionId).pipe(Effect.catchTag("SubmissionNotFound", Effect.die))
        const warnings = yield* repo.creationWarnings(submissionId).pipe(Effect.orDie)
        const result: CreatedSubmission = { ...found, warnings, replayed: true }
        return result
      })

    /** Looks a creation key up: nothing, or the first result when the request is the same, else IdempotencyKeyReused. */
    const priorCreation = (principal: string, key: string, print: string) =>
      Effect.gen(function*() {
        const prior = yield* repo.creationKey(principal, key).pipe(Effect.orDie)
        if (Option.isNone(prior)) return Option.none<CreatedSubmission>()
        if (prior.value.fingerprint !== print) {
          return yield* new IdempotencyKeyReused({
            sampleId: "",
            idempotencyKey: key,
            firstCommand: `a different creation request (submission ${prior.value.submissionId})`
          })
        }
        return Option.some(yield* replayCreation(SubmissionId.make(prior.value.submissionId)))
      })

    /**
     * Creates a submission and its samples atomically. With an idempotency key (scoped to `principal`), a repeat of
     * the same request returns the first result (`replayed: true`) and writes nothing; the same key with a different
     * request (or a sample request under a submission's key) is IdempotencyKeyReused. A generated submission number
     * that collides is drawn again.
     */
    const createWith = (
      kind: "sample" | "submission",
      input: SubmissionInput,
      actor: string,
      principal: string,
      idempotencyKey: string | undefined
    ) => Effect.gen(function*() {
      const print = requestFingerprint(kind, input)
      const at = yield* now
      const submissionId = SubmissionId.make(randomUUID())
      const created = input.samples.map((row, i) =>
        create({
          id: SampleId.make(randomUUID()),
          submissionId,
          position: i + 1,
          sampleName: row.sampleName,
          submitterEmail: input.submitterEmail,
          priority: row.priority ?? input.priority,
          flowCellType: row.flowCellType ?? input.flowCellType,
          details: pickDetails(row)
        }, at)
      )
      const { samples: _samples, ...header } = input
      const rows = created.map((t) => ({ state: t.state, event: { id: randomUUID(), ...t.events[0]! } }))
      const creationKey = idempotencyKey === undefined ? undefined : { principal, key: idempotencyKey, fingerprint: print }
      const insert = (number: string) =>
        repo.createSubmission(
          { id: submissionId, number, submitterEmail: input.submitterEmail, source: input.source, data: header, actor, at },
          rows,
          creationKey
        ).pipe(Effect.catchTag("SqlError", Effect.die), Effect.map((written) => ({ number, written })))
      // A client's number that exists is refused; a generated one is drawn again (65 random bits: practically never).
      const { number, written } = input.number !== undefined
        ? yield* insert(input.number).pipe(
          Effect.catchTag("SubmissionNumberTaken", (e) =>
            Effect.fail(new SubmissionRejected({
              message: `submission ${e.number} already exists`,
              rows: [{ row: 0, issues: [{ path: "number", message: `${e.number} is already used by another submission` }] }]
            })))
        )
        : yield* withFreshNumber(insert, () => newSubmissionNumber(at))
      const policy = yield* policies.current
      if (creationKey !== undefined && !written) {
        // The key was taken (by an earlier request, or a concurrent one that committed first), and nothing of ours was
        // written: the first result again, or IdempotencyKeyReused. The key is not looked up before: a first request,
        // the usual case, makes one round trip.
        const prior = yield* priorCreation(creationKey.principal, creationKey.key, print)
        if (Option.isSome(prior)) return prior.value
        return yield* Effect.dieMessage(`creation key ${creationKey.key} was taken but is not stored`)
      }
      // Received at the desk right after they are entered, the new samples' first commands need not read their rows.
      if (local.hosts()) {
        yield* local.seed(created.map(({ state }) => ({
          sampleId: state.id,
          shardId: shardOf(state.id),
          loaded: { state, timerAt: null, commands: new CommandWindow([], true) }
        })))
      }
      const result: CreatedSubmission = {
        submission: {
          id: submissionId,
          number,
          submitterEmail: input.submitterEmail.toLowerCase(),
          source: input.source,
          sampleCount: created.length,
          createdAt: new Date(at).toISOString(),
          createdBy: actor,
          data: header
        },
        samples: created.map((t) => toView(t.state, at, policy)),
        warnings: created.flatMap((t, i) => {
          const w = t.events[0]?.data.warnings
          return Array.isArray(w) && w.length > 0 ? [{ row: i + 1, warnings: w.map(String) }] : []
        }),
        replayed: false
      }
      return result
    })

    /** A submission of 1–500 samples, all or nothing; idempotent per principal under `idempotencyKey`. */
    const createSubmission = fnTraced("SampleApi.createSubmission")(function*(
      input: SubmissionInput,
      actor: string,
      idempotencyKey: string | undefined = undefined,
      principal: string = actor
    ) {
      return yield* createWith("submission", input, actor, principal, idempotencyKey)
    })

    /** Creates one sample (a submission of one); idempotent under `idempotencyKey` like createSubmission. */
    const createSample = fnTraced("SampleApi.createSample")(function*(
      input: NewSampleInput,
      actor: string,
      idempotencyKey: string | undefined = undefined,
      principal: string = actor
    ) {
      const { flowCellType, priority, sampleName, submitterEmail, ...details } = input
      const created = yield* createWith("sample", {
        submitterEmail,
        source: "web",
        priority,
        flowCellType,
        samples: [{ sampleName, priority, flowCellType, ...details }]
      }, actor, principal, idempotencyKey)
      return { sample: created.samples[0]!, warnings: created.warnings[0]?.warnings ?? [], replayed: created.replayed ?? false }
    })

    const state = (id: SampleId) =>
      repo.get(id).pipe(
        Effect.orDie,
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new SampleNotFound({ sampleId: id })),
          onSome: Effect.succeed
        }))
      )

    const get = fnTraced("SampleApi.get")(function*(id: SampleId) {
      const s = yield* state(id)
      return toView(s, yield* now, yield* policies.current)
    })

    const workflow = fnTraced("SampleApi.workflow")(function*(id: SampleId) {
      const s = yield* state(id)
      return toWorkflowView(s, yield* now, yield* policies.current)
    })

    const events = fnTraced("SampleApi.events")(function*(id: SampleId) {
      yield* state(id)
      return yield* repo.events(id).pipe(Effect.orDie)
    })

    /** A page of samples in `q.sort`'s order; a cursor of another order is InvalidInput. */
    const list = fnTraced("SampleApi.list")(function*(q: ListSamples) {
      const sort = q.sort ?? "created_desc"
      const after = q.cursor === undefined ? undefined : afterOf(yield* decodeCursor(SortedCursor, q.cursor))
      if (after !== undefined && after.sort !== sort) {
        return yield* new InvalidInput({
          message: "invalid cursor",
          issues: [{ path: "cursor", message: `a cursor of the ${after.sort} order cannot continue the ${sort} order` }]
        })
      }
      const page = yield* repo.list({
        status: q.status,
        step: q.step,
        priority: q.priority,
        submissionId: q.submissionId,
        submitter: q.submitter,
        text: q.q,
        sort,
        after,
        withTotal: q.withTotal,
        limit: q.limit
      }).pipe(Effect.orDie)
      const t = yield* now
      const policy = yield* policies.current
      const out: SamplePage = {
        items: page.items.map((s) => toView(s, t, policy)),
        nextCursor: page.next === null ? null : encodeCursor(cursorOf(page.next)),
        ...(page.total !== undefined ? { total: page.total } : {})
      }
      return out
    })

    /** A page of submissions, newest first, each with its progress; `own` confines to a submitter's (and their samples). */
    const listSubmissions = fnTraced("SampleApi.listSubmissions")(function*(q: ListSubmissions, own: string | undefined) {
      const after = q.cursor === undefined ? undefined : yield* decodeCursor(SubmissionCursor, q.cursor)
      const page = yield* repo.submissions({ submitter: own, text: q.q, after, limit: q.limit }).pipe(Effect.orDie)
      const counts = yield* repo.submissionCounts(page.items.map((r) => SubmissionId.make(r.id)), own).pipe(Effect.orDie)
      const out: SubmissionPage = {
        items: page.items.map((r) => ({ submission: toSubmission(r), progress: progressOf(counts.get(r.id)) })),
        nextCursor: page.next === null ? null : encodeCursor(page.next)
      }
      return out
    })

    const queue = fnTraced("SampleApi.queue")(function*(step: StepId, cursor: string | undefined, limit: number | undefined) {
      const after = cursor === undefined ? undefined : yield* decodeCursor(QueueCursor, cursor)
      const page = yield* repo.queue({ step, after, limit: limit ?? 50 }).pipe(Effect.orDie)
      const total = yield* repo.queueLength(step).pipe(Effect.orDie)
      const t = yield* now
      const policy = yield* policies.current
      return {
        step,
        items: page.items.map((s) => toView(s, t, policy)),
        nextCursor: page.next === null ? null : encodeCursor(page.next),
        total
      }
    })

    const queueCounts = repo.queueCounts().pipe(Effect.orDie)

    /** Sends a command to the sample's entity (wherever its shard lives) and waits for the committed reply. */
    const execute = fnTraced("SampleApi.execute")(function*(
      id: SampleId,
      command: SampleCommand,
      idempotencyKey: string | undefined,
      actor: string,
      expectedVersion?: number
    ): Effect.fn.Return<CommandResult, CommandError> {
      yield* annotateSpan({ sampleId: id, command: command._tag })
      const payload = {
        command: encodeCommand(command),
        idempotencyKey: idempotencyKey ?? randomUUID(),
        actor,
        ...(expectedVersion !== undefined ? { expectedVersion } : {})
      }
      // A sample whose shard this runner holds goes straight to its actor here; any other, through the cluster to
      // the runner that holds it (LocalSamples.ts).
      const send = Effect.suspend(() => {
        const shardId = shardOf(id)
        return local.hosts() && sharding.hasShardId(shardId)
          ? local.use(id, shardId, (actor) => actor.execute(payload, command))
          : entity(id).Execute(payload)
      })
      const answer = send.pipe(
        Effect.catchTags({
          MailboxFull: () => Effect.fail(new SampleBusy({ sampleId: id, message: "the sample is busy; retry shortly" })),
          AlreadyProcessingMessage: () => Effect.fail(new SampleBusy({ sampleId: id, message: "the sample is busy; retry shortly" })),
          PersistenceError: (e) => Effect.die(e),
          // The entity hit a bug or bad data and logged it: a defect here (HTTP 500), never retried.
          CommandDefect: (e) => Effect.die(e)
        }),
        // A typed answer ends the retries below, so each command's answer is counted once here.
        Effect.tapBoth({
          onSuccess: () => Metric.update(answered("success"), 1),
          onFailure: (e) => Metric.update(answered(e._tag === "SampleBusy" ? "busy" : "refused"), 1)
        })
      )
      const defect = (cause: Cause.Cause<unknown>) =>
        Option.isNone(Cause.failureOption(cause)) && !Cause.isInterruptedOnly(cause) ? Metric.update(answered("defect"), 1) : Effect.void
      yield* Metric.update(requestsSent, 1)
      // Held here, the command's actor answers in this process: there is no message to lose on the way and nothing
      // to send again (the retries below cost ~36 Effect operations per command even when they never run).
      if (local.hosts() && sharding.hasShardId(shardOf(id))) return yield* Effect.tapErrorCause(answer, defect)
      // A command whose entity is moving between runners (a runner stopping or dying) ends without a typed answer.
      // It is safe to send again: the key makes a repeat return the first result. Bounded, then a clear 503.
      return yield* answer.pipe(
        Effect.sandbox,
        Effect.retry({ while: isShardMoving, schedule: MOVING_RETRY }),
        Effect.catchAll((cause) =>
          Option.match(Cause.failureOption(cause), {
            onSome: Effect.fail,
            onNone: () =>
              isShardMoving(cause)
                ? Effect.logWarning("command unanswered while its shard moved; giving up", { sampleId: id }, cause).pipe(
                  Effect.zipRight(Metric.update(unanswered, 1)),
                  Effect.zipRight(Effect.fail(new SampleBusy({ sampleId: id, message: "the sample is moving between runners; retry shortly" })))
                )
                : defect(cause).pipe(Effect.zipRight(Effect.failCause(cause)))
          })
        )
      )
    })

    /** The same command to many samples; each sample's outcome stands alone. */
    const batch = fnTraced("SampleApi.batch")(function*(
      sampleIds: ReadonlyArray<SampleId>,
      command: BatchCommand,
      idempotencyKey: string | undefined,
      actor: string
    ) {
      const key = idempotencyKey ?? randomUUID()
      const seen = new Set<string>()
      const duplicated = new Set<string>()
      for (const id of sampleIds) (seen.has(id) ? duplicated : seen).add(id)
      if (duplicated.size > 0) {
        const ids = [...duplicated].join(", ")
        return yield* new InvalidInput({
          message: "a batch names each sample once; nothing was executed",
          issues: [{ path: "sampleIds", message: `duplicated sample ids: ${ids}` }]
        })
      }
      const results = yield* Effect.forEach(sampleIds, (id) =>
        execute(id, command, `${key}:${id}`, actor).pipe(
          Effect.match({
            onSuccess: (result): BatchItem => ({ sampleId: id, ok: true, result }),
            onFailure: (e): BatchItem => ({
              sampleId: id,
              ok: false,
              error: {
                _tag: e._tag,
                message: describe(e),
                ...(e._tag === "StepTransitionRefused" ? { status: e.status, allowed: e.allowed } : {}),
                ...(e._tag === "InvalidInput" ? { issues: e.issues } : {})
              }
            })
          })
        ), { concurrency: BATCH_CONCURRENCY })
      const succeeded = results.filter((r) => r.ok).length
      const out: BatchResult = { succeeded, failed: results.length - succeeded, results }
      return out
    })

    /** A submission and its samples in row order (`own`: only that submitter's samples); SubmissionNotFound otherwise. */
    const submission = fnTraced("SampleApi.submission")(function*(id: SubmissionId, own?: string | undefined) {
      const row = yield* repo.submission(id).pipe(Effect.orDie)
      if (Option.isNone(row)) return yield* new SubmissionNotFound({ submissionId: id })
      const page = yield* list({ submissionId: id, ...(own !== undefined ? { submitter: own } : {}), limit: 500 }).pipe(Effect.catchTag("InvalidInput", Effect.die))
      return {
        submission: toSubmission(row.value),
        samples: [...page.items].sort((a, b) => a.position - b.position)
      }
    })

    /**
     * `Submissions.Get` and `GET /submissions/{id}`: the submission, its samples and its progress, confined like
     * lists when `own` is a submitter's e-mail (the caller refuses another submitter's submission).
     */
    const submissionDetail = fnTraced("SampleApi.submissionDetail")(function*(id: SubmissionId, own: string | undefined) {
      const found = yield* submission(id, own)
      const counts = yield* repo.submissionCounts([id], own).pipe(Effect.orDie)
      const out: SubmissionDetail = { ...found, progress: progressOf(counts.get(id)) }
      return out
    })

    /** The next events for `consumer` in `owner`'s namespace (consumers of different owners never meet). */
    const readEvents = Effect.fn("EventLog.consumerRead")(function*(owner: string, consumer: string, limit: number) {
      const batch = yield* log.read(owner, consumer, limit).pipe(Effect.orDie)
      return { consumer, events: batch.events, cursor: encodePosition(batch.position) }
    })

    /** Moves `owner`'s consumer to `cursor`: never back, never past the newest readable event. */
    const ackEvents = Effect.fn("EventLog.consumerAck")(function*(owner: string, consumer: string, cursor: string) {
      const position = decodePosition(cursor)
      if (Option.isNone(position)) {
        return yield* new InvalidInput({ message: "invalid cursor", issues: [{ path: "cursor", message: "not a cursor from Events.Read" }] })
      }
      yield* log.ack(owner, consumer, position.value).pipe(Effect.catchTag("SqlError", Effect.die))
    })

    return {
      createSubmission,
      createSample,
      get,
      workflow,
      events,
      list,
      listSubmissions,
      queue,
      queueCounts,
      execute,
      batch,
      submission,
      submissionDetail,
      readEvents,
      ackEvents,
      live: log.live
    } as const
  })
}) {}
