/**
 * The operations behind both the REST bridge and the RPC server: reads from PostgreSQL, commands through the Sample
 * entities (one writer per sample), submissions created atomically.
 */
import { Cause, Clock, Duration, Effect, Either, Metric, Option, Schedule, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { encodeCommand, Sample } from "../actors/Sample.ts"
import { toView, toWorkflowView } from "../actors/SampleViews.ts"
import { create } from "../actors/SampleWorkflow.ts"
import { Policy } from "../actors/WorkflowPolicy.ts"
import { decodePosition, encodePosition, EventLog } from "../persistence/EventLog.ts"
import { SampleRepo } from "../persistence/SampleRepo.ts"
import type { BatchCommand, BatchItem, BatchResult, CreatedSubmission, ListSamples, NewSampleInput, SubmissionInput } from "../rpc/Api.ts"
import type { CommandResult, SampleCommand } from "../rpc/Commands.ts"
import {
  InvalidInput,
  SampleBusy,
  SampleNotFound,
  SubmissionNotFound,
  SubmissionRejected,
  type CommandError
} from "../rpc/Errors.ts"
import { SampleId, SubmissionId } from "../rpc/Ids.ts"
import type { SampleDetails, StepId } from "../rpc/Workflow.ts"

const DETAIL_KEYS: ReadonlyArray<keyof SampleDetails> = [
  "sampleType", "organism", "buffer", "volumeUl", "concentrationNgUl", "nanodropNgUl", "a260_280", "a260_230",
  "libraryKit", "basecallingModel", "genomeSizeMb", "targetCoverage", "humanDna", "control", "notes"
]

const pickDetails = (row: Partial<Record<keyof SampleDetails, unknown>>): SampleDetails =>
  Object.fromEntries(DETAIL_KEYS.filter((k) => row[k] !== undefined).map((k) => [k, row[k]])) as SampleDetails

const newSubmissionNumber = (now: number) => {
  const d = new Date(now).toISOString().slice(0, 10).replace(/-/g, "")
  return `PT-${d}-${randomUUID().slice(0, 6).toUpperCase()}`
}

const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
const decodeCursor = <A, I>(schema: Schema.Schema<A, I>, cursor: string) =>
  Either.try(() => JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown).pipe(
    Either.flatMap((raw) => Schema.decodeUnknownEither(schema)(raw)),
    Either.mapLeft(() => new InvalidInput({ message: "invalid cursor", issues: [{ path: "cursor", message: "not a cursor from a previous page" }] }))
  )
const ListCursor = Schema.Number.pipe(Schema.int(), Schema.positive())
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

const requestsSent = Metric.counter("poretrack_cluster_requests_total", {
  description: "Messages sent to Sample entities from this process (resends after a shard moved included)",
  incremental: true
}).pipe(Metric.tagged("entity_type", "Sample"), Metric.tagged("message", "Execute"))
const responses = Metric.counter("poretrack_cluster_responses_total", {
  description: "Commands answered by Sample entities, by outcome: success, refused (a typed refusal), busy (503), unanswered (shard moving too long)",
  incremental: true
}).pipe(Metric.tagged("entity_type", "Sample"), Metric.tagged("message", "Execute"))
const answered = (outcome: "success" | "refused" | "busy") => Metric.tagged(responses, "outcome", outcome)
const unanswered = Metric.tagged(responses, "outcome", "unanswered")

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
      return e.message
  }
}

/** Application service over samples and submissions. */
export class SampleApi extends Effect.Service<SampleApi>()("poretrack/SampleApi", {
  effect: Effect.gen(function*() {
    const repo = yield* SampleRepo
    const policy = yield* Policy
    const log = yield* EventLog
    const entity = yield* Sample.client

    const now = Clock.currentTimeMillis

    const createSubmission = Effect.fn("SampleApi.createSubmission")(function*(input: SubmissionInput, actor: string) {
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
      const number = input.number ?? newSubmissionNumber(at)
      yield* repo.createSubmission(
        { id: submissionId, number, submitterEmail: input.submitterEmail, source: input.source, data: header, actor, at },
        created.map((t) => ({ state: t.state, event: { id: randomUUID(), ...t.events[0]! } }))
      ).pipe(
        Effect.catchTag("SqlError", Effect.die),
        Effect.catchTag("SubmissionNumberTaken", (e) =>
          Effect.fail(new SubmissionRejected({
            message: `submission ${e.number} already exists`,
            rows: [{ row: 0, issues: [{ path: "number", message: `${e.number} is already used by another submission` }] }]
          })))
      )
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
        })
      }
      return result
    })

    const createSample = Effect.fn("SampleApi.createSample")(function*(input: NewSampleInput, actor: string) {
      const { flowCellType, priority, sampleName, submitterEmail, ...details } = input
      const created = yield* createSubmission({
        submitterEmail,
        source: "web",
        priority,
        flowCellType,
        samples: [{ sampleName, priority, flowCellType, ...details }]
      }, actor)
      return { sample: created.samples[0]!, warnings: created.warnings[0]?.warnings ?? [] }
    })

    const state = (id: SampleId) =>
      repo.get(id).pipe(
        Effect.orDie,
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new SampleNotFound({ sampleId: id })),
          onSome: Effect.succeed
        }))
      )

    const get = Effect.fn("SampleApi.get")(function*(id: SampleId) {
      const s = yield* state(id)
      return toView(s, yield* now, policy)
    })

    const workflow = Effect.fn("SampleApi.workflow")(function*(id: SampleId) {
      const s = yield* state(id)
      return toWorkflowView(s, yield* now, policy)
    })

    const events = Effect.fn("SampleApi.events")(function*(id: SampleId) {
      yield* state(id)
      return yield* repo.events(id).pipe(Effect.orDie)
    })

    const list = Effect.fn("SampleApi.list")(function*(q: ListSamples) {
      const after = q.cursor === undefined ? undefined : yield* decodeCursor(ListCursor, q.cursor)
      const page = yield* repo.list({
        status: q.status,
        step: q.step,
        priority: q.priority,
        submissionId: q.submissionId,
        submitter: q.submitter,
        text: q.q,
        after,
        limit: q.limit
      }).pipe(Effect.orDie)
      const t = yield* now
      return { items: page.items.map((s) => toView(s, t, policy)), nextCursor: page.next === null ? null : encodeCursor(page.next) }
    })

    const queue = Effect.fn("SampleApi.queue")(function*(step: StepId, cursor: string | undefined, limit: number | undefined) {
      const after = cursor === undefined ? undefined : yield* decodeCursor(QueueCursor, cursor)
      const page = yield* repo.queue({ step, after, limit: limit ?? 50 }).pipe(Effect.orDie)
      const total = yield* repo.queueLength(step).pipe(Effect.orDie)
      const t = yield* now
      return {
        step,
        items: page.items.map((s) => toView(s, t, policy)),
        nextCursor: page.next === null ? null : encodeCursor(page.next),
        total
      }
    })

    const queueCounts = repo.queueCounts().pipe(Effect.orDie)

    /** Sends a command to the sample's entity (wherever its shard lives) and waits for the committed reply. */
    const execute = Effect.fn("SampleApi.execute")(function*(
      id: SampleId,
      command: SampleCommand,
      idempotencyKey: string | undefined,
      actor: string
    ): Effect.fn.Return<CommandResult, CommandError> {
      yield* Effect.annotateCurrentSpan({ sampleId: id, command: command._tag })
      const payload = { command: encodeCommand(command), idempotencyKey: idempotencyKey ?? randomUUID(), actor }
      // A command whose entity is moving between runners (a runner stopping or dying) ends without a typed answer.
      // It is safe to send again: the key makes a repeat return the first result. Bounded, then a clear 503.
      return yield* Metric.update(requestsSent, 1).pipe(
        Effect.zipRight(entity(id).Execute(payload)),
        Effect.catchTags({
          MailboxFull: () => Effect.fail(new SampleBusy({ sampleId: id, message: "the sample is busy; retry shortly" })),
          AlreadyProcessingMessage: () => Effect.fail(new SampleBusy({ sampleId: id, message: "the sample is busy; retry shortly" })),
          PersistenceError: (e) => Effect.die(e)
        }),
        // A typed answer ends the retries below, so each command's answer is counted once here.
        Effect.tapBoth({
          onSuccess: () => Metric.update(answered("success"), 1),
          onFailure: (e) => Metric.update(answered(e._tag === "SampleBusy" ? "busy" : "refused"), 1)
        }),
        Effect.sandbox,
        Effect.retry({ while: (cause) => Option.isNone(Cause.failureOption(cause)), schedule: MOVING_RETRY }),
        Effect.catchAll((cause) =>
          Option.match(Cause.failureOption(cause), {
            onSome: Effect.fail,
            onNone: () =>
              Effect.logWarning("command unanswered while its shard moved; giving up", { sampleId: id }, cause).pipe(
                Effect.zipRight(Metric.update(unanswered, 1)),
                Effect.zipRight(Effect.fail(new SampleBusy({ sampleId: id, message: "the sample is moving between runners; retry shortly" })))
              )
          })
        )
      )
    })

    /** The same command to many samples; each sample's outcome stands alone. */
    const batch = Effect.fn("SampleApi.batch")(function*(
      sampleIds: ReadonlyArray<SampleId>,
      command: BatchCommand,
      idempotencyKey: string | undefined,
      actor: string
    ) {
      const key = idempotencyKey ?? randomUUID()
      const unique = [...new Set(sampleIds)]
      const results = yield* Effect.forEach(unique, (id) =>
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
        ), { concurrency: 16 })
      const succeeded = results.filter((r) => r.ok).length
      const out: BatchResult = { succeeded, failed: results.length - succeeded, results }
      return out
    })

    const submission = Effect.fn("SampleApi.submission")(function*(id: SubmissionId) {
      const row = yield* repo.submission(id).pipe(Effect.orDie)
      if (Option.isNone(row)) return yield* new SubmissionNotFound({ submissionId: id })
      const r = row.value
      const page = yield* list({ submissionId: id, limit: 500 })
      return {
        submission: {
          id: SubmissionId.make(r.id),
          number: r.number,
          submitterEmail: r.submitter_email,
          source: r.source,
          sampleCount: r.sample_count,
          createdAt: r.created_at.toISOString(),
          createdBy: r.created_by,
          data: r.data
        },
        samples: [...page.items].sort((a, b) => a.position - b.position)
      }
    })

    const readEvents = Effect.fn("EventLog.consumerRead")(function*(consumer: string, limit: number) {
      const batch = yield* log.read(consumer, limit).pipe(Effect.orDie)
      return { consumer, events: batch.events, cursor: encodePosition(batch.position) }
    })

    const ackEvents = Effect.fn("EventLog.consumerAck")(function*(consumer: string, cursor: string) {
      const position = decodePosition(cursor)
      if (Option.isNone(position)) {
        return yield* new InvalidInput({ message: "invalid cursor", issues: [{ path: "cursor", message: "not a cursor from Events.Read" }] })
      }
      yield* log.ack(consumer, position.value).pipe(Effect.orDie)
    })

    return {
      createSubmission,
      createSample,
      get,
      workflow,
      events,
      list,
      queue,
      queueCounts,
      execute,
      batch,
      submission,
      readEvents,
      ackEvents,
      live: log.live
    } as const
  })
}) {}
