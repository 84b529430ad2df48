/**
 * Accounts, sessions, API keys, sign-in failures, setup tokens and the security audit log in PostgreSQL.
 * Secrets never reach this module in clear: sessions, keys and setup tokens arrive as sha256 digests and passwords as
 * scrypt strings. Database failures are defects (a 500), never part of a contract.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import type { ApiKeyId, ApiKeyView, ApiScope, AuditEntry, Role, UserId, UserView } from "../rpc/Auth.ts"

interface UserRow {
  readonly id: string
  readonly email: string
  readonly name: string
  readonly role: Role
  readonly password_hash: string
  readonly disabled: boolean
  readonly created_at: Date
  readonly last_sign_in_at: Date | null
}

interface KeyRow {
  readonly id: string
  readonly name: string
  readonly prefix: string
  readonly scopes: ReadonlyArray<ApiScope>
  readonly created_by: string
  readonly created_at: Date
  readonly last_used_at: Date | null
  readonly revoked_at: Date | null
}

interface AuditRow {
  readonly seq: string
  readonly type: AuditEntry["type"]
  readonly actor: string
  readonly at: Date
  readonly data: unknown
}

/** A stored account with its password hash (for verification only; never leaves the server). */
export interface StoredUser {
  readonly view: UserView
  readonly passwordHash: string
}

/** A live session joined with its user. */
export interface StoredSession {
  readonly user: UserView
  readonly csrfToken: string
  readonly expiresAt: Date
  /** True when the session was last seen more than a minute ago (time to slide its expiry). */
  readonly stale: boolean
}

/** A key as the bearer check needs it. */
export interface StoredKey {
  readonly id: ApiKeyId
  readonly name: string
  readonly scopes: ReadonlyArray<ApiScope>
  readonly revoked: boolean
}

/** The row of a new account. */
export interface NewUserRow {
  readonly id: string
  readonly email: string
  readonly name: string
  readonly role: Role
  readonly passwordHash: string
}

/** The outcome of an account change. */
export type UserChange =
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "LastAdmin" }
  | { readonly _tag: "Updated"; readonly before: UserView; readonly after: UserView }

/** The outcome of completing setup. */
export type SetupOutcome =
  | { readonly _tag: "InvalidToken" }
  | { readonly _tag: "AlreadySetUp" }
  | { readonly _tag: "EmailTaken" }
  | { readonly _tag: "Created"; readonly user: UserView }

/** Text PostgreSQL can store: NUL and unpaired surrogates (which text and jsonb refuse) become U+FFFD. */
const scrub = (s: string) => s.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")

const iso = (d: Date | null) => (d === null ? null : d.toISOString())

const toUser = (r: UserRow): UserView => ({
  id: r.id as UserId,
  email: r.email,
  name: r.name,
  role: r.role,
  disabled: r.disabled,
  createdAt: r.created_at.toISOString(),
  lastSignInAt: iso(r.last_sign_in_at)
})

const toKey = (r: KeyRow): ApiKeyView => ({
  id: r.id as ApiKeyId,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  lastUsedAt: iso(r.last_used_at),
  revokedAt: iso(r.revoked_at)
})

const toAudit = (r: AuditRow): AuditEntry => ({
  seq: Number(r.seq),
  type: r.type,
  actor: r.actor,
  at: r.at.toISOString(),
  data: r.data
})

/** Serialises the account changes that must keep at least one enabled admin, and the first-admin setup. */
const ADMIN_LOCK = 7243002

const USER_COLUMNS = "id, email, name, role, password_hash, disabled, created_at, last_sign_in_at"
const KEY_COLUMNS = "id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at"

/** Data access for the accounts side; the Auth service is its only user. */
export class AuthRepo extends Effect.Service<AuthRepo>()("poretrack/AuthRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const userCols = sql.literal(USER_COLUMNS)
    const keyCols = sql.literal(KEY_COLUMNS)
    const ms = (n: number) => sql`(${n}::double precision * interval '1 millisecond')`

    /** Inserts an account; none when the e-mail is taken. */
    const insertUser = Effect.fn("AuthRepo.insertUser")(function*(u: NewUserRow) {
      const rows = yield* sql<UserRow>`
        INSERT INTO users (id, email, name, role, password_hash) VALUES (${u.id}, ${u.email}, ${u.name}, ${u.role}, ${u.passwordHash})
        ON CONFLICT (email) DO NOTHING RETURNING ${userCols}`
      return Option.map(Option.fromNullable(rows[0]), toUser)
    }, Effect.orDie)

    const stored = (r: UserRow): StoredUser => ({ view: toUser(r), passwordHash: r.password_hash })

    /** An account by (lower-cased) e-mail. */
    const userByEmail = Effect.fn("AuthRepo.userByEmail")(function*(email: string) {
      const rows = yield* sql<UserRow>`SELECT ${userCols} FROM users WHERE email = ${email}`
      return Option.map(Option.fromNullable(rows[0]), stored)
    }, Effect.orDie)

    /** An account by id. */
    const userById = Effect.fn("AuthRepo.userById")(function*(id: string) {
      const rows = yield* sql<UserRow>`SELECT ${userCols} FROM users WHERE id = ${id}`
      return Option.map(Option.fromNullable(rows[0]), stored)
    }, Effect.orDie)

    /** Every account, by e-mail. */
    const listUsers = Effect.fn("AuthRepo.listUsers")(function*() {
      const rows = yield* sql<UserRow>`SELECT ${userCols} FROM users ORDER BY email`
      return rows.map(toUser)
    }, Effect.orDie)

    /** True once any account exists. */
    const hasUsers = Effect.fn("AuthRepo.hasUsers")(function*() {
      const rows = yield* sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM users) AS any`
      return rows[0]?.any === true
    }, Effect.orDie)

    /** Changes name, role or disabled; refuses to leave no enabled admin. */
    const updateUser = Effect.fn("AuthRepo.updateUser")(function*(
      id: string,
      patch: { readonly name?: string | undefined; readonly role?: Role | undefined; readonly disabled?: boolean | undefined }
    ) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`SELECT pg_advisory_xact_lock(${ADMIN_LOCK})`
        const current = yield* sql<UserRow>`SELECT ${userCols} FROM users WHERE id = ${id} FOR UPDATE`
        const before = current[0]
        if (before === undefined) return { _tag: "NotFound" } as const satisfies UserChange
        const staysAdmin = (patch.role ?? before.role) === "admin" && !(patch.disabled ?? before.disabled)
        if (before.role === "admin" && !before.disabled && !staysAdmin) {
          const others = yield* sql<{ n: number }>`
            SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND NOT disabled AND id <> ${id}`
          if ((others[0]?.n ?? 0) === 0) return { _tag: "LastAdmin" } as const satisfies UserChange
        }
        const rows = yield* sql<UserRow>`
          UPDATE users SET name = ${patch.name ?? before.name}, role = ${patch.role ?? before.role},
            disabled = ${patch.disabled ?? before.disabled}
          WHERE id = ${id} RETURNING ${userCols}`
        return { _tag: "Updated", before: toUser(before), after: toUser(rows[0]!) } as const satisfies UserChange
      }))
    }, Effect.orDie)

    /** Replaces an account's password hash. */
    const setPassword = Effect.fn("AuthRepo.setPassword")(function*(id: string, passwordHash: string) {
      yield* sql`UPDATE users SET password_hash = ${passwordHash} WHERE id = ${id}`
    }, Effect.orDie)

    /** Records a successful sign-in. */
    const touchSignIn = Effect.fn("AuthRepo.touchSignIn")(function*(id: string) {
      yield* sql`UPDATE users SET last_sign_in_at = now() WHERE id = ${id}`
    }, Effect.orDie)

    /** Opens a session that ends `ttlMs` from now (database time). */
    const insertSession = Effect.fn("AuthRepo.insertSession")(function*(tokenHash: string, userId: string, csrfToken: string, ttlMs: number) {
      const rows = yield* sql<{ expires_at: Date }>`
        INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
        VALUES (${tokenHash}, ${userId}, ${csrfToken}, now() + ${ms(ttlMs)}) RETURNING expires_at`
      return rows[0]!.expires_at
    }, Effect.orDie)

    /** A session that has not expired, with its user. */
    const sessionByHash = Effect.fn("AuthRepo.sessionByHash")(function*(tokenHash: string) {
      const rows = yield* sql<UserRow & { csrf_token: string; expires_at: Date; stale: boolean }>`
        SELECT u.id, u.email, u.name, u.role, u.password_hash, u.disabled, u.created_at, u.last_sign_in_at,
          s.csrf_token, s.expires_at, s.last_seen_at < now() - interval '1 minute' AS stale
        FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = ${tokenHash} AND s.expires_at > now()`
      const r = rows[0]
      return r === undefined
        ? Option.none<StoredSession>()
        : Option.some<StoredSession>({ user: toUser(r), csrfToken: r.csrf_token, expiresAt: r.expires_at, stale: r.stale })
    }, Effect.orDie)

    /** Slides a live session's expiry to `ttlMs` from now. */
    const extendSession = Effect.fn("AuthRepo.extendSession")(function*(tokenHash: string, ttlMs: number) {
      const rows = yield* sql<{ expires_at: Date }>`
        UPDATE sessions SET last_seen_at = now(), expires_at = now() + ${ms(ttlMs)}
        WHERE token_hash = ${tokenHash} AND expires_at > now() RETURNING expires_at`
      return Option.map(Option.fromNullable(rows[0]), (r) => r.expires_at)
    }, Effect.orDie)

    /** Ends one session; the e-mail of its user when it existed. */
    const deleteSession = Effect.fn("AuthRepo.deleteSession")(function*(tokenHash: string) {
      const rows = yield* sql<{ email: string }>`
        DELETE FROM sessions s USING users u WHERE s.token_hash = ${tokenHash} AND u.id = s.user_id RETURNING u.email`
      return Option.map(Option.fromNullable(rows[0]), (r) => r.email)
    }, Effect.orDie)

    /** Ends every session of a user, except the one whose hash is given. */
    const deleteSessionsOfUser = Effect.fn("AuthRepo.deleteSessionsOfUser")(function*(userId: string, exceptHash?: string) {
      yield* sql`DELETE FROM sessions WHERE user_id = ${userId} ${exceptHash === undefined ? sql`` : sql`AND token_hash <> ${exceptHash}`}`
    }, Effect.orDie)

    /** Stores a new key (by the hash of its secret). */
    const insertKey = Effect.fn("AuthRepo.insertKey")(function*(k: {
      readonly id: string
      readonly name: string
      readonly prefix: string
      readonly secretHash: string
      readonly scopes: ReadonlyArray<ApiScope>
      readonly createdBy: string
    }) {
      const rows = yield* sql<KeyRow>`
        INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, created_by)
        VALUES (${k.id}, ${k.name}, ${k.prefix}, ${k.secretHash}, ${k.scopes}::text[], ${k.createdBy})
        RETURNING ${keyCols}`
      return toKey(rows[0]!)
    }, Effect.orDie)

    /** A key by the sha256 of its secret. */
    const keyByHash = Effect.fn("AuthRepo.keyByHash")(function*(secretHash: string) {
      const rows = yield* sql<{ id: string; name: string; scopes: ReadonlyArray<ApiScope>; revoked: boolean }>`
        SELECT id, name, scopes, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE secret_hash = ${secretHash}`
      return Option.map(Option.fromNullable(rows[0]), (r): StoredKey => ({ id: r.id as ApiKeyId, name: r.name, scopes: r.scopes, revoked: r.revoked }))
    }, Effect.orDie)

    /** Every key, newest first. */
    const listKeys = Effect.fn("AuthRepo.listKeys")(function*() {
      const rows = yield* sql<KeyRow>`SELECT ${keyCols} FROM api_keys ORDER BY created_at DESC, id`
      return rows.map(toKey)
    }, Effect.orDie)

    /** Revokes a key; `revokedNow` is false when it was already revoked. */
    const revokeKey = Effect.fn("AuthRepo.revokeKey")(function*(id: string) {
      const revoked = yield* sql<KeyRow>`
        UPDATE api_keys SET revoked_at = now() WHERE id = ${id} AND revoked_at IS NULL RETURNING ${keyCols}`
      if (revoked[0] !== undefined) return Option.some({ key: toKey(revoked[0]), revokedNow: true })
      const rows = yield* sql<KeyRow>`SELECT ${keyCols} FROM api_keys WHERE id = ${id}`
      return Option.map(Option.fromNullable(rows[0]), (r) => ({ key: toKey(r), revokedNow: false }))
    }, Effect.orDie)

    /** Records a key's use, at most once a minute whatever the number of processes. */
    const touchKey = Effect.fn("AuthRepo.touchKey")(function*(id: string) {
      yield* sql`UPDATE api_keys SET last_used_at = now()
        WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`
    }, Effect.orDie)

    /** Records a failed sign-in for the throttle. */
    const recordFailure = Effect.fn("AuthRepo.recordFailure")(function*(email: string, clientAddress: string) {
      yield* sql`INSERT INTO sign_in_failures (email, client_address) VALUES (${email}, ${clientAddress})`
    }, Effect.orDie)

    /** Forgets an e-mail's failures (after a successful sign-in). */
    const clearFailures = Effect.fn("AuthRepo.clearFailures")(function*(email: string) {
      yield* sql`DELETE FROM sign_in_failures WHERE email = ${email}`
    }, Effect.orDie)

    /**
     * Seconds until sign-in is allowed again for this e-mail and address: 0 unless the e-mail has `emailLimit` or the
     * address `addressLimit` failures within the window; then until the failure that reached the limit leaves it.
     */
    const throttledFor = Effect.fn("AuthRepo.throttledFor")(function*(
      email: string,
      clientAddress: string,
      windowMs: number,
      emailLimit: number,
      addressLimit: number
    ) {
      const rows = yield* sql<{ seconds: number | null }>`
        WITH recent AS (
          SELECT email, client_address, at FROM sign_in_failures
          WHERE at > now() - ${ms(windowMs)} AND (email = ${email} OR client_address = ${clientAddress})
        ), limits AS (
          SELECT (SELECT at FROM recent WHERE email = ${email} ORDER BY at DESC OFFSET ${emailLimit - 1} LIMIT 1) AS by_email,
                 (SELECT at FROM recent WHERE client_address = ${clientAddress} ORDER BY at DESC OFFSET ${addressLimit - 1} LIMIT 1) AS by_address
        )
        SELECT ceil(extract(epoch FROM greatest(by_email, by_address) + ${ms(windowMs)} - now()))::int AS seconds FROM limits`
      return Math.max(0, rows[0]?.seconds ?? 0)
    }, Effect.orDie)

    /** Stores a setup token's hash, valid for `ttlMs`. */
    const insertSetupToken = Effect.fn("AuthRepo.insertSetupToken")(function*(tokenHash: string, ttlMs: number) {
      yield* sql`INSERT INTO setup_tokens (token_hash, expires_at) VALUES (${tokenHash}, now() + ${ms(ttlMs)})`
    }, Effect.orDie)

    /** Creates the first admin with a valid setup token, once: every setup token is consumed with it. */
    const completeSetup = Effect.fn("AuthRepo.completeSetup")(function*(tokenHash: string, user: NewUserRow) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`SELECT pg_advisory_xact_lock(${ADMIN_LOCK})`
        const token = yield* sql`SELECT 1 FROM setup_tokens WHERE token_hash = ${tokenHash} AND expires_at > now()`
        if (token.length === 0) return { _tag: "InvalidToken" } as const satisfies SetupOutcome
        if (yield* hasUsers()) {
          yield* sql`DELETE FROM setup_tokens`
          return { _tag: "AlreadySetUp" } as const satisfies SetupOutcome
        }
        const created = yield* insertUser(user)
        if (Option.isNone(created)) return { _tag: "EmailTaken" } as const satisfies SetupOutcome
        yield* sql`DELETE FROM setup_tokens`
        return { _tag: "Created", user: created.value } as const satisfies SetupOutcome
      }))
    }, Effect.orDie)

    /** Appends a security event. */
    const insertAudit = Effect.fn("AuthRepo.insertAudit")(function*(type: AuditEntry["type"], actor: string, data: unknown) {
      yield* sql`INSERT INTO audit_events (type, actor, data)
        VALUES (${type}, ${scrub(actor)}, ${JSON.stringify(data ?? {}, (_, v: unknown) => (typeof v === "string" ? scrub(v) : v))}::jsonb)`
    }, Effect.orDie)

    /** Security events, newest first, before `before` (a seq) when given. */
    const auditLog = Effect.fn("AuthRepo.auditLog")(function*(limit: number, before?: number) {
      const rows = yield* sql<AuditRow>`
        SELECT seq, type, actor, at, data FROM audit_events
        ${before === undefined ? sql`` : sql`WHERE seq < ${before}`}
        ORDER BY seq DESC LIMIT ${limit}`
      return rows.map(toAudit)
    }, Effect.orDie)

    /** Deletes what no longer matters: expired sessions and setup tokens, failures older than the throttle window. */
    const purge = Effect.fn("AuthRepo.purge")(function*(failureWindowMs: number) {
      yield* sql`DELETE FROM sessions WHERE expires_at < now()`
      yield* sql`DELETE FROM setup_tokens WHERE expires_at < now()`
      yield* sql`DELETE FROM sign_in_failures WHERE at < now() - ${ms(failureWindowMs)}`
    }, Effect.orDie)

    return {
      insertUser,
      userByEmail,
      userById,
      listUsers,
      hasUsers,
      updateUser,
      setPassword,
      touchSignIn,
      insertSession,
      sessionByHash,
      extendSession,
      deleteSession,
      deleteSessionsOfUser,
      insertKey,
      keyByHash,
      listKeys,
      revokeKey,
      touchKey,
      recordFailure,
      clearFailures,
      throttledFor,
      insertSetupToken,
      completeSetup,
      insertAudit,
      auditLog,
      purge
    } as const
  })
}) {}
