/**
 * Who is calling: API keys (bearer secrets), browser sessions (sign-in with e-mail and password), the admin bootstrap
 * token, accounts, keys and the security audit log. Secrets are stored only as hashes: passwords with scrypt (slow,
 * memory-hard), session tokens, key secrets and setup tokens with sha256 (32 random bytes each, nothing to guess).
 * Authorisation (who may call which method) is the HTTP layer's; this service trusts the `by` it is given.
 */
import { Clock, Duration, Effect, Either, Option, Redacted, Schedule, Schema } from "effect"
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from "node:crypto"
import { AuthRepo, type NewUserRow } from "../persistence/AuthRepo.ts"
import {
  ApiKeyId,
  ApiKeyNotFound,
  FirstAdmin,
  NewApiKey,
  NewUser,
  Password,
  RateLimited,
  SCOPES,
  Unauthenticated,
  UserId,
  UserNotFound,
  UserUpdate,
  actorOf,
  type ApiKeyView,
  type ApiScope,
  type AuditEntry,
  type CreatedApiKey,
  type KeyPrincipal,
  type Principal,
  type SignIn,
  type UserPrincipal,
  type UserView
} from "../rpc/Auth.ts"
import { decodeStrict } from "../rpc/Decode.ts"
import { InvalidInput, type FieldIssue } from "../rpc/Errors.ts"
import { Email } from "../rpc/Workflow.ts"
import { AppSettings } from "./AppSettings.ts"
import { fnTraced } from "../actors/fnTraced.ts"

/** Who acts on accounts: a principal from a request, or the system itself (the CLI, the setup link). */
export type Actor = Principal | { readonly _tag: "System"; readonly name: string }

/** The audit actor string of `by`: `user:<email>`, `key:<name>#<id prefix>` or `system:<name>`. */
export const actorName = (by: Actor): string => (by._tag === "System" ? `system:${by.name}` : actorOf(by))

/** The cost of a new password hash: N = 2^15 (32 MiB, ~100 ms a core), r = 8, p = 1, 16-byte salt, 64-byte key. */
export const SCRYPT = { N: 2 ** 15, r: 8, p: 1, saltBytes: 16, keyBytes: 64 } as const

/** Failed sign-ins that throttle: 5 per e-mail or 20 per client address within 15 minutes. */
export const THROTTLE = { windowMs: 15 * 60_000, perEmail: 5, perAddress: 20 } as const

/** How long a bearer check is cached in memory: a revoked key stops working on every process within this (+ a query). */
export const KEY_CACHE_MS = 1_000

/** A key's `last_used_at` is written at most this often. */
const TOUCH_EVERY_MS = 60_000
const CACHE_MAX = 10_000
const SETUP_TTL_MS = 24 * 3_600_000
const TOKEN = /^[A-Za-z0-9_-]{43}$/
const KEY_SECRET = /^ptk_[A-Za-z0-9_-]{43}$/
const UNKNOWN_KEY = "unknown or revoked API key"

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex")
const newToken = () => randomBytes(32).toString("base64url")

/** Runs scrypt off the main thread (libuv pool); a failure is a defect (bad parameters are ours, not the caller's). */
const scryptKey = (password: string, salt: Buffer, N: number, r: number, p: number, keyBytes: number) =>
  Effect.async<Buffer>((resume) => {
    scrypt(password.normalize("NFC"), salt, keyBytes, { N, r, p, maxmem: 256 * N * r * p }, (error, key) =>
      resume(error === null ? Effect.succeed(key) : Effect.die(error)))
  })

/** A new password hash: `scrypt$N$r$p$salt$hash` (base64). */
export const hashPassword = (password: string) =>
  Effect.gen(function*() {
    const salt = randomBytes(SCRYPT.saltBytes)
    const key = yield* scryptKey(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyBytes)
    return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64")}$${key.toString("base64")}`
  })

/** True when `password` matches `stored`; a malformed hash never matches (the work is still done). */
export const verifyPassword = (password: string, stored: string) =>
  Effect.gen(function*() {
    const parts = stored.split("$")
    const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
    const wellFormed = parts.length === 6 && parts[0] === "scrypt" && Number.isInteger(N) && N >= 2 && N <= 2 ** 20 &&
      (N & (N - 1)) === 0 && Number.isInteger(r) && r >= 1 && r <= 32 && Number.isInteger(p) && p >= 1 && p <= 16
    const expected = Buffer.from(parts[5] ?? "", "base64")
    if (!wellFormed || expected.length < 16) {
      yield* scryptKey(password, randomBytes(SCRYPT.saltBytes), SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyBytes)
      return false
    }
    const key = yield* scryptKey(password, Buffer.from(parts[4] ?? "", "base64"), N, r, p, expected.length)
    return timingSafeEqual(key, expected)
  })

/** Every string field of `input` that holds a NUL or an unpaired surrogate (PostgreSQL cannot store either). */
export const textIssues = (input: Readonly<Record<string, unknown>>): Array<FieldIssue> =>
  Object.entries(input).flatMap(([path, value]) => {
    if (typeof value !== "string") return []
    if (value.includes("\u0000")) return [{ path, message: "must not contain NUL characters" }]
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
      return [{ path, message: "must not contain unpaired surrogates" }]
    }
    return []
  })

/** Refuses unsafe text in any field, then decodes strictly with `schema`. */
const decodeInput = <A, I>(schema: Schema.Schema<A, I>, input: Readonly<Record<string, unknown>>, what: string) => {
  const issues = textIssues(input)
  return issues.length > 0
    ? Either.left(new InvalidInput({ message: `invalid ${what}`, issues }))
    : decodeStrict(schema, input, what)
}

/** The principal of the bootstrap token: a fixed UUID derived from the token's hash, every scope. */
export const adminTokenPrincipal = (token: Redacted.Redacted): KeyPrincipal => {
  const h = sha256(`poretrack-admin-token:${Redacted.value(token)}`)
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
  return {
    _tag: "ApiKey",
    id: ApiKeyId.make(uuid),
    name: "PORETRACK_ADMIN_TOKEN",
    scopes: ["admin", ...SCOPES.filter((s): s is Exclude<ApiScope, "admin"> => s !== "admin")]
  }
}

const userPrincipal = (u: UserView): UserPrincipal => ({ _tag: "User", id: u.id, email: u.email, name: u.name, role: u.role })

interface CachedKey {
  readonly principal: Option.Option<KeyPrincipal>
  readonly until: number
}

/** Authentication and the accounts side: keys, sessions, users, setup and the audit log. */
export class Auth extends Effect.Service<Auth>()("poretrack/Auth", {
  scoped: Effect.gen(function*() {
    const repo = yield* AuthRepo
    const settings = yield* AppSettings
    const scope = yield* Effect.scope
    const ttlMs = Duration.toMillis(settings.sessionTtl)
    const admin = Option.map(settings.adminToken, (token) => ({
      digest: createHash("sha256").update(Redacted.value(token), "utf8").digest(),
      principal: adminTokenPrincipal(token)
    }))
    const keyCache = new Map<string, CachedKey>()
    const touched = new Map<string, number>()
    let setup: Option.Option<string> = Option.none()
    // Work done for unknown e-mails so that they take as long as known ones.
    const dummyHash = yield* Effect.cached(hashPassword(newToken()))

    /** Records a security event (also for callers outside this service, e.g. permission refusals). */
    const audit = Effect.fn("Auth.audit")(function*(type: AuditEntry["type"], actor: string, data: Readonly<Record<string, unknown>> = {}) {
      yield* repo.insertAudit(type, actor, data)
    })

    const touch = (id: string, now: number) =>
      (touched.get(id) ?? 0) + TOUCH_EVERY_MS > now
        ? Effect.void
        : Effect.sync(() => touched.set(id, now)).pipe(
          Effect.zipRight(repo.touchKey(id)),
          Effect.catchAllCause((cause) => Effect.logWarning("could not record an API key's use", cause)),
          Effect.forkIn(scope),
          Effect.asVoid
        )

    /** The key principal of a bearer secret (an API key or PORETRACK_ADMIN_TOKEN); cached ≤ 1 s, so revocation holds within 2 s everywhere. */
    const authenticateBearer = fnTraced("Auth.authenticateBearer")(function*(secret: string) {
      // One digest serves both: the comparison with the bootstrap token and the key's lookup.
      const digest = createHash("sha256").update(secret, "utf8").digest()
      if (Option.isSome(admin) && timingSafeEqual(digest, admin.value.digest)) return admin.value.principal
      if (!KEY_SECRET.test(secret)) return yield* new Unauthenticated({ message: UNKNOWN_KEY })
      const hash = digest.toString("hex")
      const now = yield* Clock.currentTimeMillis
      const cached = keyCache.get(hash)
      let principal: Option.Option<KeyPrincipal>
      if (cached !== undefined && cached.until > now) {
        principal = cached.principal
      } else {
        const stored = yield* repo.keyByHash(hash)
        principal = Option.flatMap(stored, (k) =>
          k.revoked ? Option.none() : Option.some<KeyPrincipal>({ _tag: "ApiKey", id: k.id, name: k.name, scopes: k.scopes }))
        if (keyCache.size >= CACHE_MAX) keyCache.clear()
        keyCache.set(hash, { principal, until: now + KEY_CACHE_MS })
      }
      if (Option.isNone(principal)) return yield* new Unauthenticated({ message: UNKNOWN_KEY })
      yield* touch(principal.value.id, now)
      return principal.value
    })

    /** The user of a live session cookie and its CSRF token; each use slides the expiry (written at most once a minute). */
    const authenticateSession = fnTraced("Auth.authenticateSession")(function*(token: string) {
      if (!TOKEN.test(token)) return yield* new Unauthenticated({ message: "no session: sign in" })
      const hash = sha256(token)
      const found = yield* repo.sessionByHash(hash)
      if (Option.isNone(found)) return yield* new Unauthenticated({ message: "the session has expired or was ended: sign in again" })
      const session = found.value
      if (session.user.disabled) return yield* new Unauthenticated({ message: "this account is disabled" })
      const expiresAt = session.stale
        ? Option.getOrElse(yield* repo.extendSession(hash, ttlMs), () => session.expiresAt)
        : session.expiresAt
      return { principal: userPrincipal(session.user), csrfToken: session.csrfToken, expiresAt: expiresAt.toISOString() }
    })

    /** The seconds an e-mail or address must still wait, or 0. */
    const throttled = (email: string, clientAddress: string) =>
      repo.throttledFor(email, clientAddress, THROTTLE.windowMs, THROTTLE.perEmail, THROTTLE.perAddress)

    const rateLimited = (seconds: number) =>
      new RateLimited({ message: `too many failed sign-ins: try again in ${Math.ceil(seconds / 60)} minute(s)`, retryAfterSeconds: seconds })

    /** Opens a session for a verified user. */
    const openSession = (user: UserView) =>
      Effect.gen(function*() {
        const token = newToken()
        const csrfToken = newToken()
        const expiresAt = yield* repo.insertSession(sha256(token), user.id, csrfToken, ttlMs)
        return { token, session: { principal: userPrincipal(user), csrfToken, expiresAt: expiresAt.toISOString() } }
      })

    /**
     * Checks e-mail and password and opens a session. Throttled (5 failures per e-mail, 20 per address, 15 minutes)
     * before the password is looked at; unknown e-mails cost the same scrypt work as known ones.
     */
    const signIn = Effect.fn("Auth.signIn")(function*(input: SignIn, clientAddress: string) {
      const issues = textIssues({ email: input.email, password: input.password })
      if (issues.length > 0) return yield* new InvalidInput({ message: "invalid sign-in", issues })
      const email = input.email.toLowerCase()
      const address = clientAddress.slice(0, 100).replace(/[^\x20-\x7e]/g, "?")
      const wait = yield* throttled(email, address)
      if (wait > 0) return yield* rateLimited(wait)
      const stored = yield* repo.userByEmail(email)
      const hash = Option.isSome(stored) ? stored.value.passwordHash : yield* dummyHash
      const matches = yield* verifyPassword(input.password, hash)
      if (Option.isSome(stored) && matches && stored.value.view.disabled) {
        yield* audit("SignInFailed", "anonymous", { email, clientAddress: address, reason: "account disabled" })
        return yield* new Unauthenticated({ message: "this account is disabled: ask an admin" })
      }
      if (Option.isNone(stored) || !matches) {
        yield* repo.recordFailure(email, address)
        yield* audit("SignInFailed", "anonymous", {
          email,
          clientAddress: address,
          reason: Option.isNone(stored) ? "unknown e-mail" : "wrong password"
        })
        return yield* new Unauthenticated({ message: "wrong e-mail or password" })
      }
      const user = stored.value.view
      yield* repo.clearFailures(email)
      yield* repo.touchSignIn(user.id)
      const opened = yield* openSession(user)
      yield* audit("SignedIn", actorOf(opened.session.principal), { clientAddress: address })
      return opened
    })

    /** Ends a session (nothing happens for an unknown token). */
    const signOut = Effect.fn("Auth.signOut")(function*(token: string) {
      if (!TOKEN.test(token)) return
      const ended = yield* repo.deleteSession(sha256(token))
      if (Option.isSome(ended)) yield* audit("SignedOut", `user:${ended.value}`, {})
    })

    /**
     * Changes the signed-in user's password after checking the current one (wrong attempts count towards the sign-in
     * throttle); every other session of the user ends, the one whose token is given stays.
     */
    const changePassword = Effect.fn("Auth.changePassword")(function*(user: UserPrincipal, current: string, next: string, keepSessionToken?: string) {
      const decoded = decodeInput(Schema.Struct({ current: Schema.String, next: Password }), { current, next }, "password change")
      if (Either.isLeft(decoded)) return yield* decoded.left
      const address = `user:${user.id}`
      const wait = yield* throttled(user.email, address)
      if (wait > 0) return yield* rateLimited(wait)
      const stored = yield* repo.userById(user.id)
      if (Option.isNone(stored) || stored.value.view.disabled) return yield* new Unauthenticated({ message: "this account no longer exists or is disabled" })
      if (!(yield* verifyPassword(current, stored.value.passwordHash))) {
        yield* repo.recordFailure(user.email, address)
        return yield* new Unauthenticated({ message: "the current password is wrong" })
      }
      yield* repo.setPassword(user.id, yield* hashPassword(next))
      yield* repo.deleteSessionsOfUser(user.id, keepSessionToken === undefined ? undefined : sha256(keepSessionToken))
      yield* audit("PasswordChanged", actorOf(user), { userId: user.id })
    })

    /** Sets a user's password without the current one (admin CLI); ends all their sessions and clears their throttle. */
    const resetPassword = Effect.fn("Auth.resetPassword")(function*(email: string, password: string, by: Actor) {
      const decoded = decodeInput(Schema.Struct({ email: Email, password: Password }), { email, password }, "password reset")
      if (Either.isLeft(decoded)) return yield* decoded.left
      const stored = yield* repo.userByEmail(email.toLowerCase())
      if (Option.isNone(stored)) {
        return yield* new InvalidInput({ message: "no such user", issues: [{ path: "email", message: "no user has this e-mail" }] })
      }
      const user = stored.value.view
      yield* repo.setPassword(user.id, yield* hashPassword(password))
      yield* repo.deleteSessionsOfUser(user.id)
      yield* repo.clearFailures(user.email)
      yield* audit("PasswordChanged", actorName(by), { userId: user.id, email: user.email, reset: true })
      return user
    })

    const newUserRow = (input: { readonly email: string; readonly name: string; readonly role: NewUserRow["role"] }, passwordHash: string): NewUserRow => ({
      id: randomUUID(),
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      passwordHash
    })

    const emailTaken = () =>
      new InvalidInput({ message: "a user with this e-mail already exists", issues: [{ path: "email", message: "already used by another account" }] })

    /** Creates an account (e-mail unique, stored lower-cased). */
    const createUser = Effect.fn("Auth.createUser")(function*(input: NewUser, by: Actor) {
      const decoded = decodeInput(NewUser, input, "user")
      if (Either.isLeft(decoded)) return yield* decoded.left
      const created = yield* repo.insertUser(newUserRow(decoded.right, yield* hashPassword(decoded.right.password)))
      if (Option.isNone(created)) return yield* emailTaken()
      const user = created.value
      yield* audit("UserCreated", actorName(by), { userId: user.id, email: user.email, role: user.role })
      return user
    })

    /** Every account, by e-mail. */
    const listUsers = Effect.fn("Auth.listUsers")(function*() {
      return yield* repo.listUsers()
    })

    /** Renames, re-roles, disables or enables an account; disabling ends its sessions; the last enabled admin stays. */
    const updateUser = Effect.fn("Auth.updateUser")(function*(id: string, patch: UserUpdate, by: Actor) {
      if (!Schema.is(UserId)(id)) return yield* new UserNotFound({ userId: id })
      const decoded = decodeInput(UserUpdate, patch, "user change")
      if (Either.isLeft(decoded)) return yield* decoded.left
      const change = yield* repo.updateUser(id, decoded.right)
      if (change._tag === "NotFound") return yield* new UserNotFound({ userId: id })
      if (change._tag === "LastAdmin") {
        return yield* new InvalidInput({
          message: "the last enabled admin cannot be disabled or lose the admin role",
          issues: [{ path: decoded.right.disabled === true ? "disabled" : "role", message: "would leave no enabled admin" }]
        })
      }
      if (change.after.disabled && !change.before.disabled) yield* repo.deleteSessionsOfUser(id)
      yield* audit("UserUpdated", actorName(by), { userId: id, email: change.after.email, ...decoded.right })
      return change.after
    })

    /** Creates an API key; its secret (`ptk_` + 32 random bytes, base64url) is returned here only. */
    const createApiKey = Effect.fn("Auth.createApiKey")(function*(input: NewApiKey, by: Actor) {
      const decoded = decodeInput(NewApiKey, input, "API key")
      if (Either.isLeft(decoded)) return yield* decoded.left
      const secret = `ptk_${newToken()}`
      const key = yield* repo.insertKey({
        id: randomUUID(),
        name: decoded.right.name,
        prefix: secret.slice(4, 12),
        secretHash: sha256(secret),
        scopes: SCOPES.filter((s) => decoded.right.scopes.includes(s)),
        createdBy: actorName(by)
      })
      yield* audit("ApiKeyCreated", actorName(by), { apiKeyId: key.id, name: key.name, prefix: key.prefix, scopes: key.scopes })
      return { key, secret } satisfies CreatedApiKey
    })

    /** Every key, newest first (never their secrets). */
    const listApiKeys = Effect.fn("Auth.listApiKeys")(function*() {
      return yield* repo.listKeys()
    })

    /** Revokes a key (repeatable): refused at once here, and within KEY_CACHE_MS on every other process. */
    const revokeApiKey = Effect.fn("Auth.revokeApiKey")(function*(id: string, by: Actor) {
      if (!Schema.is(ApiKeyId)(id)) return yield* new ApiKeyNotFound({ apiKeyId: id })
      const revoked = yield* repo.revokeKey(id)
      if (Option.isNone(revoked)) return yield* new ApiKeyNotFound({ apiKeyId: id })
      for (const [hash, entry] of keyCache) {
        if (Option.isSome(entry.principal) && entry.principal.value.id === id) keyCache.delete(hash)
      }
      const key: ApiKeyView = revoked.value.key
      if (revoked.value.revokedNow) yield* audit("ApiKeyRevoked", actorName(by), { apiKeyId: key.id, name: key.name, prefix: key.prefix })
      return key
    })

    /** Security events, newest first; `before` is the `seq` of the last entry of the previous page. */
    const auditLog = Effect.fn("Auth.auditLog")(function*(query: { readonly limit: number; readonly before?: number | undefined }) {
      const limit = Math.min(500, Math.max(1, Math.floor(query.limit)))
      return yield* repo.auditLog(limit, query.before)
    })

    /**
     * While no user exists: makes a one-time setup token (24 h, stored hashed), logs the one line that tells a newcomer
     * how to get in, and returns the link. Nothing when users exist. Called at start-up by roles that serve HTTP.
     */
    const openSetup = Effect.fn("Auth.openSetup")(function*() {
      if (yield* repo.hasUsers()) return Option.none<string>()
      const token = newToken()
      yield* repo.insertSetupToken(sha256(token), SETUP_TTL_MS)
      const host = settings.httpHost === "0.0.0.0" || settings.httpHost === "::" ? "localhost" : settings.httpHost
      const link = `http://${host}:${settings.port}/setup?token=${token}`
      setup = Option.some(link)
      yield* Effect.logWarning(
        `no user yet: open ${link} (valid 24 h) to create the first admin, or run: npx poretrack admin create --email you@lab.example`
      )
      return Option.some(link)
    })

    /** The setup link made by `openSetup`, while no user exists yet. */
    const setupLink = Effect.fn("Auth.setupLink")(function*() {
      if (Option.isNone(setup)) return Option.none<string>()
      if (yield* repo.hasUsers()) {
        setup = Option.none()
        return Option.none<string>()
      }
      return setup
    })

    /** Creates the first admin with a setup token; works once (every setup token is consumed) and only while no user exists. */
    const completeSetup = Effect.fn("Auth.completeSetup")(function*(token: string, input: FirstAdmin) {
      const decoded = decodeInput(FirstAdmin, input, "first admin")
      if (Either.isLeft(decoded)) return yield* decoded.left
      if (!TOKEN.test(token)) return yield* new Unauthenticated({ message: "unknown, expired or already used setup link" })
      const row = newUserRow({ ...decoded.right, role: "admin" }, yield* hashPassword(decoded.right.password))
      const outcome = yield* repo.completeSetup(sha256(token), row)
      switch (outcome._tag) {
        case "InvalidToken":
          return yield* new Unauthenticated({ message: "unknown, expired or already used setup link" })
        case "AlreadySetUp":
          return yield* new Unauthenticated({ message: "setup is already complete: sign in, or ask an admin for an account" })
        case "EmailTaken":
          return yield* emailTaken()
        case "Created":
          setup = Option.none()
          yield* audit("UserCreated", "system:setup-link", { userId: outcome.user.id, email: outcome.user.email, role: "admin" })
          return outcome.user
      }
    })

    // Expired sessions and setup tokens, and failures older than the throttle window, are deleted every 10 minutes.
    yield* repo.purge(THROTTLE.windowMs).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("auth purge failed", cause)),
      Effect.repeat(Schedule.spaced(Duration.minutes(10))),
      Effect.delay(Duration.seconds(30)),
      Effect.forkScoped
    )

    return {
      authenticateBearer,
      authenticateSession,
      signIn,
      signOut,
      changePassword,
      resetPassword,
      createUser,
      listUsers,
      updateUser,
      createApiKey,
      listApiKeys,
      revokeApiKey,
      audit,
      auditLog,
      openSetup,
      setupLink,
      completeSetup
    } as const
  }),
  dependencies: [AuthRepo.Default]
}) {}
