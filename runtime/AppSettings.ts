/** The process's configuration as a service, read once from the environment by `AppSettings.layer`. */
import { Context, Duration, Effect, Either, Layer, Option, Ref, Schedule, Schema, Stream } from "effect"
import { Policy, policyOfSettings } from "../actors/WorkflowPolicy.ts"
import { SettingsRepo } from "../persistence/SettingsRepo.ts"
import { EditablePolicy } from "../rpc/Settings.ts"
import { appConfig, type AppConfig } from "./Config.ts"

/** Which part of the system this process plays. */
export type Role = "all" | "runner" | "gateway"

export class AppSettings extends Context.Tag("poretrack/AppSettings")<AppSettings, AppConfig & { readonly role: Role }>() {
  /** Reads the environment once. */
  static layer = (role: Role) => Layer.effect(AppSettings, Effect.map(appConfig, (c) => ({ ...c, role })))
  /** Explicit settings (tests, tools). */
  static make = (settings: AppConfig & { readonly role: Role }) => Layer.succeed(AppSettings, settings)
}

/** How often the saved settings are re-read anyway, in case a NOTIFY was missed (while LISTEN reconnected). */
const POLICY_POLL = Duration.seconds(10)

/**
 * The workflow policy in force: the environment's (AppSettings), under the admins' newest saved settings when there
 * are any (persistence/SettingsRepo.ts). Loaded before the process serves anything, then reloaded on each save's
 * NOTIFY, by this process's own saves at once (`refresh`), and every POLICY_POLL as a safety net. Only a newer
 * version replaces the one held, so reloads that finish out of order never step back.
 */
export const PolicyLive = Layer.scoped(Policy, Effect.gen(function*() {
  const base = (yield* AppSettings).policy
  const repo = yield* SettingsRepo
  const held = yield* Ref.make({ version: 0, policy: base })
  const decode = Schema.decodeUnknownEither(EditablePolicy)
  const reload = Effect.gen(function*() {
    const saved = yield* repo.latest()
    if (Option.isNone(saved) || saved.value.version <= (yield* Ref.get(held)).version) return
    const settings = decode(saved.value.policy)
    if (Either.isLeft(settings)) {
      return yield* Effect.logError("saved settings do not decode; the policy in force is unchanged", { version: saved.value.version }, settings.left)
    }
    const next = { version: saved.value.version, policy: policyOfSettings(settings.right, base) }
    yield* Ref.update(held, (now) => (next.version > now.version ? next : now))
  }).pipe(Effect.withSpan("Policy.refresh"))
  const refresh = reload.pipe(Effect.catchAllCause((cause) => Effect.logWarning("settings reload failed", cause)))
  // LISTEN first, then the first load, so that a save between the two is not missed until the next poll.
  yield* repo.saved.pipe(
    Stream.runForEach(() => refresh),
    Effect.retry(Schedule.spaced(Duration.seconds(1))),
    Effect.catchAllCause((cause) => Effect.logWarning("settings LISTEN stopped", cause)),
    Effect.forkScoped
  )
  // At start a failure stops the process (it could not know its policy); later ones are logged and retried.
  yield* reload
  yield* refresh.pipe(Effect.delay(POLICY_POLL), Effect.forever, Effect.forkScoped)
  return { current: Effect.map(Ref.get(held), (h) => h.policy), refresh }
}))
