/**
 * The export supervisor's clocks, each a ClusterCron (one run per tick across the cluster): retention (hourly:
 * expired exports' files and rows, and dead temporary files) and the schedule driver (every `tick`: each enabled
 * schedule whose cron matches the tick, in its time zone, starts one export job). A tick delivered twice starts no
 * second job: the job id is derived from (schedule, tick) and the schedule's last tick is claimed in PostgreSQL.
 */
import { ClusterCron } from "@effect/cluster"
import { Clock, Cron, Duration, Effect, Either, Layer } from "effect"
import { createHash } from "node:crypto"
import { ExportStorage } from "../actors/export/ExportStorage.ts"
import { ExportRepo } from "../persistence/ExportRepo.ts"
import { startExport } from "./ExportHandlers.ts"

/** A stable uuid-shaped id for one schedule's tick (the same tick always names the same job). */
export const scheduledJobId = (scheduleId: string, tick: Date): string => {
  const h = createHash("sha256").update(`${scheduleId}/${tick.toISOString()}`).digest("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** Deletes expired exports: each file, then its row; then anything in storage older than the retention. */
export const exportRetention = (retention: Duration.Duration) =>
  Effect.gen(function*() {
    const repo = yield* ExportRepo
    const storage = yield* ExportStorage
    const now = new Date(yield* Clock.currentTimeMillis)
    for (const job of yield* repo.expired(now)) {
      if (job.storageKey !== null) yield* storage.remove(job.storageKey).pipe(Effect.catchAll((e) => Effect.logWarning("export file not removed", e)))
      yield* repo.remove(job.id)
    }
    yield* storage.deleteOlderThan(new Date(now.getTime() - Duration.toMillis(retention)))
  }).pipe(Effect.withSpan("ExportRetention.run"), Effect.catchAllCause((cause) => Effect.logError("export retention failed", cause)))

/** One tick of the schedule driver at `tick` (seconds precision): starts each due schedule's job once. */
export const runSchedules = (tick: Date) =>
  Effect.gen(function*() {
    const repo = yield* ExportRepo
    for (const s of yield* repo.listSchedules()) {
      if (!s.enabled) continue
      const cron = Cron.parse(s.cron, s.timeZone)
      if (Either.isLeft(cron) || !Cron.match(cron.right, tick)) continue
      if (!(yield* repo.claimTick(s.id, tick))) continue
      const id = yield* startExport({
        id: scheduledJobId(s.id, tick),
        actor: "scheduler",
        ownerPrincipal: s.ownerPrincipal,
        ownerEmail: s.ownerEmail,
        format: s.format,
        filter: s.filter,
        columns: s.columns,
        flowCellId: null,
        scheduleId: s.id,
        recipients: s.recipients
      })
      yield* Effect.logInfo("scheduled export started", { scheduleId: s.id, exportId: id, tick: tick.toISOString() })
    }
  }).pipe(Effect.withSpan("ExportSchedules.tick"), Effect.catchAllCause((cause) => Effect.logError("export schedules tick failed", cause)))

/**
 * Both crons. `tick` is the driver's cron (EXPORT_SCHEDULE_TICK; every minute by default). A tick is floored to the
 * minute, or to the second when the driver's cron names seconds.
 */
export const ExportCronsLive = (options: { readonly retention: Duration.Duration; readonly tick?: Cron.Cron | undefined }) =>
  Layer.mergeAll(
    ClusterCron.make({
      name: "ExportRetention",
      cron: Cron.unsafeParse("17 * * * *"),
      execute: exportRetention(options.retention),
      skipIfOlderThan: Duration.hours(1)
    }),
    ClusterCron.make({
      name: "ExportSchedules",
      cron: options.tick ?? Cron.unsafeParse("* * * * *"),
      // The tick's time, floored to the driver's precision (a tick is delivered a little after its time).
      execute: Effect.flatMap(Clock.currentTimeMillis, (ms) => {
        const unit = options.tick === undefined || (options.tick.seconds.size === 1 && options.tick.seconds.has(0)) ? 60_000 : 1000
        return runSchedules(new Date(Math.floor(ms / unit) * unit))
      }),
      skipIfOlderThan: Duration.minutes(5)
    })
  )
