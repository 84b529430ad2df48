/**
 * Group commit: concurrent writers' commits merged into one statement. Each writer hands over its item and waits; a
 * group is sent once the current turn of the event loop has ended (`setImmediate`) and fewer than `maxInFlight`
 * groups are on their way to the database, so a lone writer's commit leaves at once (it waits microseconds for the
 * turn to end: no added latency when the system is quiet) and, under load, the commits that arrived in the same turn
 * (the requests read from their sockets together, the notifier's attempts started together) or while earlier groups
 * were in flight leave together, up to `maxGroup` at a time: one round trip, one parse and plan, one WAL flush for all
 * of them. Each writer is told its own outcome.
 *
 * Waiting for the turn's end, rather than sending the first writer of a burst alone and the rest after it, was
 * measured on 2026-12-02 (`npm run bench`, two pairs): statements for 9,000 transitions and 4,000 intakes 9,749 ->
 * 6,020, intake at c=16 480-630 -> 807-824 samples/s and at c=64 957-1,170 -> 1,254-1,263/s, c=1's p50 1.47-1.50 ->
 * 1.32-1.38 ms.
 *
 * A group that fails on a database error that is not an outage (a bug, bad data) is re-run one item at a time, so
 * that the item at fault fails alone and the others commit; an outage fails every item of the group (each writer
 * treats it as it treated its own failed commit: the commit may have landed, so it reloads).
 */
import { Effect, Exit, Metric, MetricBoundaries, Option, Runtime, Tracer } from "effect"

const groupSize = Metric.histogram(
  "poretrack_commit_group_size",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 8 }),
  "Transitions committed together in one statement (group commit)"
)

export interface GroupCommitOptions<I, O, E> {
  /** Runs one group: one outcome per item, in order. */
  readonly run: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>
  /** Whether a failed group should be re-run item by item (the failure may belong to one item only). */
  readonly isolate: (error: E) => boolean
  /** Groups on their way to the database at once. */
  readonly maxInFlight: number
  /** Items in one group at most. */
  readonly maxGroup: number
  /** The histogram of group sizes (default `poretrack_commit_group_size`). */
  readonly sizes?: Metric.Metric.Histogram<number>
}

interface Waiting<I, O, E> {
  readonly item: I
  /** The committing writer's span: the group's statement is traced under its first writer's. */
  readonly span: Option.Option<Tracer.AnySpan>
  readonly resume: (exit: Exit.Exit<O, E>) => void
}

const traced = <A, E>(effect: Effect.Effect<A, E>, span: Option.Option<Tracer.AnySpan>) =>
  Option.isSome(span) ? Effect.withParentSpan(effect, span.value) : effect

/** A committer: `commit(item)` joins the next group and succeeds or fails with that item's own outcome. */
export const makeGroupCommit = <I, O, E>(options: GroupCommitOptions<I, O, E>) =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const queue: Array<Waiting<I, O, E>> = []
    let inFlight = 0
    const runFork = Runtime.runFork(runtime)

    const settle = (group: ReadonlyArray<Waiting<I, O, E>>, exit: Exit.Exit<ReadonlyArray<O>, E>) => {
      if (Exit.isSuccess(exit)) group.forEach((w, i) => w.resume(Exit.succeed(exit.value[i]!)))
      else group.forEach((w) => w.resume(exit as Exit.Exit<never, E>))
    }

    const one = (w: Waiting<I, O, E>) =>
      traced(options.run([w.item]), w.span).pipe(Effect.exit, Effect.map((exit) => settle([w], exit)))

    const sizes = options.sizes ?? groupSize
    const send = (group: ReadonlyArray<Waiting<I, O, E>>): Effect.Effect<void> =>
      Metric.update(sizes, group.length).pipe(
        Effect.zipRight(traced(options.run(group.map((w) => w.item)), group[0]!.span)),
        Effect.exit,
        Effect.flatMap((exit) => {
          if (Exit.isFailure(exit) && group.length > 1) {
            const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            if (failure !== undefined && options.isolate(failure)) return Effect.forEach(group, one, { discard: true })
          }
          return Effect.sync(() => settle(group, exit))
        })
      )

    const pump = (): void => {
      while (inFlight < options.maxInFlight && queue.length > 0) {
        const group = queue.splice(0, options.maxGroup)
        inFlight++
        runFork(send(group).pipe(
          Effect.catchAllCause((cause) => Effect.sync(() => settle(group, Exit.failCause(cause) as Exit.Exit<never, E>))),
          Effect.ensuring(Effect.sync(() => {
            inFlight--
            pump()
          }))
        ))
      }
    }

    // One pump at the end of the turn in which writers handed over, however many did.
    let gathering = false
    const gathered = () => {
      gathering = false
      pump()
    }
    const handedOver = () => {
      if (gathering) return
      gathering = true
      setImmediate(gathered)
    }

    /** Commits `item` with the next group; not interruptible once handed over (the statement runs to its end). */
    const commit = (item: I): Effect.Effect<O, E> =>
      Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) =>
        Effect.async<O, E>((resume) => {
          queue.push({ item, span, resume })
          handedOver()
        }))

    /** Commits handed over and not yet on their way (waiting for a group to leave). */
    const waiting = (): number => queue.length

    return { commit, waiting } as const
  })
