/** Who may do what: roles, API-key scopes, the authenticated principal, and the errors of the door. */
import { Schema } from "effect"
import { Email, JsonValue, oneOf } from "./Workflow.ts"

/** People (domain.md): a submitter sees only their own samples; technicians work steps; managers also re-prioritise,
 * rework and cancel; admins also manage users and keys. */
export const ROLES = ["submitter", "technician", "manager", "admin"] as const
export const Role = oneOf(...ROLES)
export type Role = typeof Role.Type

/** What an integrator's API key may do. */
export const SCOPES = [
  "samples:read",
  "samples:write",
  "submissions:write",
  "events:read",
  "exports:read",
  "exports:write",
  "admin"
] as const
export const ApiScope = oneOf(...SCOPES)
export type ApiScope = typeof ApiScope.Type

/** A user account's id (UUID). */
export const UserId = Schema.UUID.pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

/** An API key's id (UUID); the secret itself is shown once and stored only as a hash. */
export const ApiKeyId = Schema.UUID.pipe(Schema.brand("ApiKeyId"))
export type ApiKeyId = typeof ApiKeyId.Type

/** A signed-in person. */
export const UserPrincipal = Schema.TaggedStruct("User", {
  id: UserId,
  email: Schema.String,
  name: Schema.String,
  role: Role
})
export type UserPrincipal = typeof UserPrincipal.Type

/** A program calling with an API key. */
export const KeyPrincipal = Schema.TaggedStruct("ApiKey", {
  id: ApiKeyId,
  name: Schema.String,
  scopes: Schema.Array(ApiScope)
})
export type KeyPrincipal = typeof KeyPrincipal.Type

/** Whoever made the request: recorded as the actor of every event it causes. */
export const Principal = Schema.Union(UserPrincipal, KeyPrincipal)
export type Principal = typeof Principal.Type

/** The actor name written on events: `user:<email>` or `key:<name>#<id prefix>`. */
export const actorOf = (p: Principal): string =>
  p._tag === "User" ? `user:${p.email}` : `key:${p.name}#${p.id.slice(0, 8)}`

/** A password: 10–200 characters (length, not composition rules, is what resists guessing). */
export const Password = Schema.String.pipe(
  Schema.minLength(10, { message: () => "a password has at least 10 characters" }),
  Schema.maxLength(200, { message: () => "a password has at most 200 characters" })
)

/** A display name. */
export const PersonName = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(120))

/** A user as admins see it. */
export const UserView = Schema.Struct({
  id: UserId,
  email: Email,
  name: Schema.String,
  role: Role,
  disabled: Schema.Boolean,
  createdAt: Schema.String,
  lastSignInAt: Schema.NullOr(Schema.String)
})
export type UserView = typeof UserView.Type

/** An API key as admins see it (never its secret). */
export const ApiKeyView = Schema.Struct({
  id: ApiKeyId,
  name: Schema.String,
  prefix: Schema.String,
  scopes: Schema.Array(ApiScope),
  createdAt: Schema.String,
  createdBy: Schema.String,
  lastUsedAt: Schema.NullOr(Schema.String),
  revokedAt: Schema.NullOr(Schema.String)
})
export type ApiKeyView = typeof ApiKeyView.Type

/** A new key: the secret appears here once and nowhere else. */
export const CreatedApiKey = Schema.Struct({ key: ApiKeyView, secret: Schema.String })
export type CreatedApiKey = typeof CreatedApiKey.Type

/** A security event (sign-ins, failed sign-ins, keys created or revoked, permission refusals, settings changed), visible to admins. */
export const AuditEntry = Schema.Struct({
  seq: Schema.Number,
  type: oneOf(
    "SignedIn",
    "SignInFailed",
    "SignedOut",
    "PasswordChanged",
    "UserCreated",
    "UserUpdated",
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "PermissionRefused",
    "SettingsChanged"
  ),
  actor: Schema.String,
  at: Schema.String,
  data: JsonValue
})
export type AuditEntry = typeof AuditEntry.Type

/** 401: no credentials, or credentials that are wrong, expired or revoked. */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()("Unauthenticated", {
  message: Schema.String
}) {}

/** 403: authenticated, but this principal may not do this (or not to this sample). */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}) {}

/** 429: too many requests from this key or address; retry after the given seconds. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {}

/** Login input. */
export const SignIn = Schema.Struct({ email: Email, password: Schema.String.pipe(Schema.maxLength(200)) })
export type SignIn = typeof SignIn.Type

/** What a signed-in browser learns: who it is and the CSRF token to echo on writes. */
export const Session = Schema.Struct({ principal: Principal, csrfToken: Schema.String, expiresAt: Schema.String })
export type Session = typeof Session.Type

/** 404: no user has this id. */
export class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", {
  userId: Schema.String
}) {}

/** 404: no API key has this id. */
export class ApiKeyNotFound extends Schema.TaggedError<ApiKeyNotFound>()("ApiKeyNotFound", {
  apiKeyId: Schema.String
}) {}

/** An admin's request for a new account (the password is set by the admin and changed by its owner). */
export const NewUser = Schema.Struct({ email: Email, name: PersonName, role: Role, password: Password })
export type NewUser = typeof NewUser.Type

/** An admin's change to an account; absent fields stay as they are. */
export const UserUpdate = Schema.Struct({
  name: Schema.optional(PersonName),
  role: Schema.optional(Role),
  disabled: Schema.optional(Schema.Boolean)
})
export type UserUpdate = typeof UserUpdate.Type

/** An admin's request for a new API key. */
export const NewApiKey = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(120)),
  scopes: Schema.Array(ApiScope).pipe(Schema.minItems(1))
})
export type NewApiKey = typeof NewApiKey.Type

/** The first admin, created through the one-time setup link. */
export const FirstAdmin = Schema.Struct({ email: Email, name: PersonName, password: Password })
export type FirstAdmin = typeof FirstAdmin.Type

/** A password change by the signed-in user. */
export const PasswordChange = Schema.Struct({ current: Schema.String.pipe(Schema.maxLength(200)), next: Password })
export type PasswordChange = typeof PasswordChange.Type
