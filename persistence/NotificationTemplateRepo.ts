/**
 * Saved notification templates, every version kept (per trigger and channel); the shipped ones live in code. Stored
 * as JSON; the notifier decodes and validates them (actors/notify/Templates.ts).
 */
import { SqlClient } from "@effect/sql"
import { Deferred, Effect, Exit, FiberId, Metric } from "effect"

/** One saved template version as stored. */
export interface StoredTemplate {
  readonly triggerKey: string
  readonly channel: string
  readonly version: number
  readonly template: unknown
}

/** How long deliveries reuse the templates they read (a save elsewhere reaches them within this). */
const CACHE_MS = 1_000

const reads = Metric.counter("poretrack_notification_template_reads_total", {
  description: "Reads of the saved notification templates for rendering (at most one at a time and about one a second while deliveries are made)",
  incremental: true
})

/** Reads and saves template versions. */
export class NotificationTemplateRepo extends Effect.Service<NotificationTemplateRepo>()("poretrack/NotificationTemplateRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** The newest saved version of each (trigger, channel). */
    const latest = Effect.fn("NotificationTemplateRepo.latest")(function*() {
      const rows = yield* sql<{ trigger_key: string; channel: string; version: number; template: unknown }>`
        SELECT DISTINCT ON (trigger_key, channel) trigger_key, channel, version, template
        FROM notification_templates ORDER BY trigger_key, channel, version DESC`.pipe(Effect.orDie)
      return rows.map((r): StoredTemplate => ({ triggerKey: r.trigger_key, channel: r.channel, version: r.version, template: r.template }))
    })

    // What deliveries render with: the newest versions, kept for CACHE_MS so that a burst of deliveries reads them once,
    // and read once for all the deliveries that want them while a read is on its way (the notifier makes 16 attempts at
    // once: each read its own copy when the cache had run out, 34-55 reads in a c=64 benchmark run against 11-12 now). A save through this
    // process takes effect at once (a read on its way when it lands is neither kept nor joined); one through another
    // process within CACHE_MS.
    let cached: { readonly rows: ReadonlyArray<StoredTemplate>; readonly until: number } | undefined
    let reading: Deferred.Deferred<ReadonlyArray<StoredTemplate>> | undefined
    let saves = 0
    const forRendering: Effect.Effect<ReadonlyArray<StoredTemplate>> = Effect.suspend(() => {
      const now = Date.now()
      if (cached !== undefined && cached.until > now) return Effect.succeed(cached.rows)
      if (reading !== undefined) return Deferred.await(reading)
      const before = saves
      const read = Deferred.unsafeMake<ReadonlyArray<StoredTemplate>>(FiberId.none)
      reading = read
      // Uninterruptible, so that the deliveries waiting on it are always answered (a short read).
      return Effect.uninterruptible(Effect.exit(Effect.zipRight(Metric.increment(reads), latest()))).pipe(
        Effect.flatMap((exit) => {
          if (reading === read) reading = undefined
          // A save that landed while this read ran may not be in it: not kept.
          if (Exit.isSuccess(exit) && saves === before) cached = { rows: exit.value, until: now + CACHE_MS }
          Deferred.unsafeDone(read, exit)
          return exit
        })
      )
    })

    /** Stores one version; false when that version exists already (someone saved first). */
    const save = Effect.fn("NotificationTemplateRepo.save")(function*(t: StoredTemplate, by: string) {
      const rows = yield* sql<{ version: number }>`
        INSERT INTO notification_templates (trigger_key, channel, version, template, saved_by)
        VALUES (${t.triggerKey}, ${t.channel}, ${t.version}, ${JSON.stringify(t.template)}::jsonb, ${by})
        ON CONFLICT DO NOTHING RETURNING version`.pipe(Effect.orDie)
      saves++
      cached = undefined
      reading = undefined
      return rows.length > 0
    })

    return { latest, forRendering, save } as const
  })
}) {}
