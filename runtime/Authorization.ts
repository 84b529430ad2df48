/**
 * Who may do what, in one place for the REST bridge and the RPC server alike. Users act by role, API keys by scope;
 * a submitter sees and acts only on samples whose submitter e-mail is their own. Every refusal is a typed Forbidden
 * and a `PermissionRefused` audit entry.
 */
import { Effect } from "effect"
import { actorOf, Forbidden, type ApiScope, type Principal, type Role } from "../rpc/Auth.ts"
import type { CommandTag } from "../rpc/Commands.ts"
import type { SampleStatus } from "../rpc/Workflow.ts"
import { Auth } from "./Auth.ts"

/** What an operation needs. */
export type Permission =
  | "samples:read"
  | "samples:create"
  | "samples:work"
  | "samples:manage"
  | "events:read"
  | "admin"

const ROLE_GRANTS: Record<Role, ReadonlyArray<Permission>> = {
  submitter: ["samples:read", "samples:create"],
  technician: ["samples:read", "samples:create", "samples:work"],
  manager: ["samples:read", "samples:create", "samples:work", "samples:manage"],
  admin: ["samples:read", "samples:create", "samples:work", "samples:manage", "events:read", "admin"]
}

const SCOPE_GRANTS: Record<ApiScope, ReadonlyArray<Permission>> = {
  "samples:read": ["samples:read"],
  "samples:write": ["samples:read", "samples:work", "samples:manage"],
  "submissions:write": ["samples:create"],
  "events:read": ["events:read"],
  "exports:read": [],
  "exports:write": [],
  admin: ["samples:read", "samples:create", "samples:work", "samples:manage", "events:read", "admin"]
}

/** Commands a manager (or a key with samples:write) gives; the rest are a technician's daily work. */
const MANAGER_COMMANDS: ReadonlySet<CommandTag> = new Set(["ChangePriority", "Rework", "Cancel"])

/** The permission a sample command needs. */
export const commandPermission = (tag: CommandTag): Permission => (MANAGER_COMMANDS.has(tag) ? "samples:manage" : "samples:work")

/** True when `principal` holds `permission`. */
export const can = (principal: Principal, permission: Permission): boolean =>
  principal._tag === "User"
    ? ROLE_GRANTS[principal.role].includes(permission)
    : principal.scopes.some((s) => SCOPE_GRANTS[s].includes(permission))

/** A submitter: sees only samples whose submitter e-mail is theirs. */
export const ownEmailOf = (principal: Principal): string | undefined =>
  principal._tag === "User" && principal.role === "submitter" ? principal.email.toLowerCase() : undefined

/** Before receipt, a submitter may still edit notes or cancel their own sample. */
const SUBMITTER_COMMANDS: ReadonlySet<CommandTag> = new Set(["EditFields", "Cancel"])

const describe = (permission: Permission): string => {
  switch (permission) {
    case "samples:read":
      return "read samples"
    case "samples:create":
      return "create samples or submissions"
    case "samples:work":
      return "work sample steps (technician, or an API key with samples:write)"
    case "samples:manage":
      return "change priorities, rework or cancel (manager, or an API key with samples:write)"
    case "events:read":
      return "read the event log (an API key with events:read, or an admin)"
    case "admin":
      return "manage users, keys, the facility's settings and the audit log (admin, or an API key with the admin scope)"
  }
}

/** Refuses with Forbidden (and records the refusal for admins). */
export const refuse = (principal: Principal, message: string, data: Record<string, unknown> = {}) =>
  Effect.flatMap(Auth, (auth) =>
    auth.audit("PermissionRefused", actorOf(principal), { message, ...data }).pipe(
      Effect.ignore,
      Effect.forkDaemon,
      Effect.zipRight(Effect.fail(new Forbidden({ message })))
    ))

/** Succeeds when `principal` holds `permission`, otherwise Forbidden. */
export const requirePermission = (principal: Principal, permission: Permission) =>
  can(principal, permission) ? Effect.void : refuse(principal, `not allowed to ${describe(permission)}`, { permission })

/** Reading one sample: staff and keys with samples:read see all; a submitter only their own. */
export const requireSampleRead = (principal: Principal, sample: { readonly id: string; readonly submitterEmail: string }) =>
  Effect.gen(function*() {
    yield* requirePermission(principal, "samples:read")
    const own = ownEmailOf(principal)
    if (own !== undefined && sample.submitterEmail.toLowerCase() !== own) {
      return yield* refuse(principal, "this sample belongs to another submitter", { sampleId: sample.id })
    }
  })

/** Reading one submission: staff and keys with samples:read see all; a submitter only their own. */
export const requireSubmissionRead = (principal: Principal, submission: { readonly id: string; readonly submitterEmail: string }) =>
  Effect.gen(function*() {
    yield* requirePermission(principal, "samples:read")
    const own = ownEmailOf(principal)
    if (own !== undefined && submission.submitterEmail.toLowerCase() !== own) {
      return yield* refuse(principal, "this submission belongs to another submitter", { submissionId: submission.id })
    }
  })

/** The same rule as `requireCommand`, as a predicate (what the app offers a user), with nothing audited. */
export const mayCommand = (
  principal: Principal,
  tag: CommandTag,
  sample: { readonly submitterEmail: string; readonly status: SampleStatus }
): boolean => {
  const own = ownEmailOf(principal)
  if (own === undefined) return can(principal, commandPermission(tag))
  return sample.submitterEmail.toLowerCase() === own && SUBMITTER_COMMANDS.has(tag) && sample.status === "submitted"
}

/** Sending `tag` to a sample in `status`: by role or scope; a submitter only to their own, before receipt. */
export const requireCommand = (
  principal: Principal,
  tag: CommandTag,
  sample: { readonly id: string; readonly submitterEmail: string; readonly status: SampleStatus }
) =>
  Effect.gen(function*() {
    const own = ownEmailOf(principal)
    if (own === undefined) return yield* requirePermission(principal, commandPermission(tag))
    if (sample.submitterEmail.toLowerCase() !== own) {
      return yield* refuse(principal, "this sample belongs to another submitter", { sampleId: sample.id, command: tag })
    }
    if (!SUBMITTER_COMMANDS.has(tag) || sample.status !== "submitted") {
      return yield* refuse(principal, `a submitter may only edit or cancel their own samples before the facility receives them`, {
        sampleId: sample.id,
        command: tag
      })
    }
  })

/** Reading the facility's settings (SLA targets, QC thresholds): staff and keys that read samples, not submitters. */
export const requireSettingsRead = (principal: Principal) =>
  ownEmailOf(principal) !== undefined
    ? refuse(principal, "the facility's settings are for facility staff")
    : requirePermission(principal, "samples:read")

/** Changing them: admins (and keys with the admin scope). */
export const requireSettingsChange = (principal: Principal) => requirePermission(principal, "admin")

/** Creating samples for `submitterEmail`: staff for anyone; a submitter only for themselves. */
export const requireCreate = (principal: Principal, submitterEmail: string) =>
  Effect.gen(function*() {
    yield* requirePermission(principal, "samples:create")
    const own = ownEmailOf(principal)
    if (own !== undefined && submitterEmail.toLowerCase() !== own) {
      return yield* refuse(principal, `a submitter submits samples under their own e-mail (${own})`, { submitterEmail })
    }
  })
