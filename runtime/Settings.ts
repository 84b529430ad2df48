/**
 * Reading and changing the facility's settings (SLA targets and QC thresholds), for `Settings.*` over RPC and
 * `/api/v1/settings` over REST alike; who may call which is the handlers' (runtime/Authorization.ts). A change is one
 * transaction (the new version and its `SettingsChanged` audit entry), then this process's policy is reloaded at once
 * and every other process's on the save's NOTIFY (AppSettings.ts `PolicyLive`).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { Policy, settingsOfPolicy } from "../actors/WorkflowPolicy.ts"
import { SettingsRepo, type SavedSettings } from "../persistence/SettingsRepo.ts"
import { actorOf, type Principal } from "../rpc/Auth.ts"
import { EditablePolicy, type FacilitySettings, SettingsVersionMismatch, type SettingsUpdate } from "../rpc/Settings.ts"
import { AppSettings } from "./AppSettings.ts"
import { Auth } from "./Auth.ts"

const decodeSaved = Schema.decodeUnknown(EditablePolicy)
const encodePolicy = Schema.encodeSync(EditablePolicy)

/** The settings of a saved version, or the environment's as version 0 while none is saved. */
const viewOf = (saved: Option.Option<SavedSettings>) =>
  Effect.gen(function*() {
    if (Option.isNone(saved)) {
      return { ...settingsOfPolicy((yield* AppSettings).policy), version: 0, updatedAt: null, updatedBy: null } satisfies FacilitySettings
    }
    const { updatedAt, updatedBy, version } = saved.value
    // A saved version that no longer decodes is a bug of a migration, not the caller's: a defect.
    const policy = yield* decodeSaved(saved.value.policy).pipe(Effect.orDie)
    return { ...policy, version, updatedAt: updatedAt.toISOString(), updatedBy } satisfies FacilitySettings
  })

/** The settings in force. */
export const readSettings = Effect.fn("Settings.read")(function*() {
  return yield* viewOf(yield* (yield* SettingsRepo).latest())
})

/** Every leaf that differs between two JSON values, as `path: {from, to}` (for the audit entry). */
const changedLeaves = (before: unknown, after: unknown, path = "", out: Record<string, { from: unknown; to: unknown }> = {}) => {
  const isObject = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === "object" && v !== null && !Array.isArray(v)
  if (isObject(before) && isObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      changedLeaves(before[key], after[key], path === "" ? key : `${path}.${key}`, out)
    }
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    out[path] = { from: before ?? null, to: after ?? null }
  }
  return out
}

/**
 * Saves `update` (the whole editable policy) as the next version when `expectedVersion` is still the newest, else
 * SettingsVersionMismatch and nothing changes. The values were decoded by the route's schema already.
 */
export const updateSettings = Effect.fn("Settings.update")(function*(update: SettingsUpdate, principal: Principal) {
  const { expectedVersion, ...fields } = update
  const policy = encodePolicy(fields)
  const sql = yield* SqlClient.SqlClient
  const repo = yield* SettingsRepo
  const auth = yield* Auth
  const actor = actorOf(principal)
  const saved = yield* sql.withTransaction(Effect.gen(function*() {
    const before = yield* viewOf(yield* repo.latest())
    const mismatch = (currentVersion: number) =>
      new SettingsVersionMismatch({
        message: `the settings are at version ${currentVersion}, not ${expectedVersion}: read them again and reapply the change`,
        expectedVersion,
        currentVersion
      })
    if (before.version !== expectedVersion) return yield* mismatch(before.version)
    const row = yield* repo.save({ policy, expectedVersion, updatedBy: actor })
    // Another save of the same version committed in between.
    if (Option.isNone(row)) return yield* mismatch(Option.match(yield* repo.latest(), { onNone: () => 0, onSome: (s) => s.version }))
    const { updatedAt: _at, updatedBy: _by, version: _version, ...previous } = before
    yield* auth.audit("SettingsChanged", actor, { version: row.value.version, changes: changedLeaves(previous, policy) })
    return row.value
  })).pipe(Effect.catchTag("SqlError", Effect.die))
  yield* (yield* Policy).refresh
  return yield* viewOf(Option.some(saved))
})
