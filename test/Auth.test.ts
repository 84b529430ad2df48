/** The door over real PostgreSQL: passwords, throttling, sessions, API keys across processes, setup, audit, the CLI. */
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Either, Layer, Option, Redacted, Schedule } from "effect"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { SCOPES, type Principal } from "../rpc/Auth.ts"
import type { InvalidInput } from "../rpc/Errors.ts"
import { AppSettings } from "../runtime/AppSettings.ts"
import { adminTokenPrincipal, Auth, hashPassword, verifyPassword } from "../runtime/Auth.ts"
import { appConfig, type AppConfig } from "../runtime/Config.ts"
import { DatabaseLive } from "../runtime/Database.ts"
import { createTestDatabase, query } from "./TestDatabase.ts"
import { testSettings } from "./TestSystem.ts"

const ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
const PASSWORD = "correct horse battery"

/** The test database and the settings the service under test was built with. */
class TestDb extends Context.Tag("test/AuthTestDb")<TestDb, { readonly url: string; readonly settings: AppConfig }>() {}

/** An Auth service (with its own connection pool, like another process) on `settings`' database. */
const authOn = (settings: AppConfig) =>
  Auth.Default.pipe(Layer.provideMerge(DatabaseLive), Layer.provideMerge(AppSettings.make({ ...settings, role: "gateway" })))

const AuthTest = Layer.unwrapEffect(Effect.promise(async () => {
  const settings = await testSettings({ adminToken: Option.some(Redacted.make(ADMIN_TOKEN)), pgPoolMax: 4 })
  const url = Redacted.value(Option.getOrThrow(settings.databaseUrl))
  return Layer.merge(authOn(settings), Layer.succeed(TestDb, { url, settings }))
}))

/** Another Auth instance on the same database, as a second gateway process would have. */
const secondInstance = Effect.gen(function*() {
  const { settings } = yield* TestDb
  const context = yield* Layer.build(authOn(settings))
  return Context.get(context, Auth)
})

const SYSTEM = { _tag: "System", name: "test" } as const
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex")
const sql = <R extends Record<string, unknown>>(text: string, values: Array<unknown> = []) =>
  Effect.flatMap(TestDb, ({ url }) => Effect.promise(() => query<R>(url, text, values)))

let counter = 0
/** A new user with the test password; a unique e-mail per call. */
const newUser = (role: "submitter" | "technician" | "manager" | "admin" = "technician") =>
  Effect.flatMap(Auth, (auth) => auth.createUser({ email: `Person${++counter}@Lab.example`, name: `Person ${counter}`, role, password: PASSWORD }, SYSTEM))

/** Repeats `check` every 50 ms until it holds or `ms` pass, then returns whether it held. */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, ms: number) =>
  check.pipe(
    Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced(Duration.millis(50)) }),
    Effect.timeoutTo({ duration: Duration.millis(ms), onSuccess: () => true, onTimeout: () => false })
  )

describe("Auth on PostgreSQL", () => {
  layer(AuthTest, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("passwords are scrypt hashes that verify only the right password", () =>
      Effect.gen(function*() {
        const hash = yield* hashPassword(PASSWORD)
        expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
        expect(yield* verifyPassword(PASSWORD, hash)).toBe(true)
        expect(yield* verifyPassword("correct horse battery!", hash)).toBe(false)
        expect(yield* verifyPassword(PASSWORD, "not a hash")).toBe(false)

        const auth = yield* Auth
        const user = yield* newUser()
        expect(user.email).toBe(user.email.toLowerCase())
        const [row] = yield* sql<{ password_hash: string }>("SELECT password_hash FROM users WHERE id = $1", [user.id])
        expect(row!.password_hash.startsWith("scrypt$")).toBe(true)
        expect(row!.password_hash).not.toContain(PASSWORD)
        const { session, token } = yield* auth.signIn({ email: user.email.toUpperCase(), password: PASSWORD }, "10.0.0.1")
        expect(session.principal).toEqual({ _tag: "User", id: user.id, email: user.email, name: user.name, role: "technician" })
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
        const wrong = yield* Effect.flip(auth.signIn({ email: user.email, password: "wrong password 1" }, "10.0.0.1"))
        expect(wrong._tag).toBe("Unauthenticated")
        const unknown = yield* Effect.flip(auth.signIn({ email: "nobody@lab.example", password: PASSWORD }, "10.0.0.1"))
        expect(unknown).toMatchObject({ _tag: "Unauthenticated", message: wrong._tag === "Unauthenticated" ? wrong.message : "" })
        const duplicate = yield* Effect.flip(auth.createUser({ email: user.email.toUpperCase(), name: "Again", role: "admin", password: PASSWORD }, SYSTEM))
        expect(duplicate).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "email" }] })
      }))

    it.effect("five failures for an e-mail throttle it: even the right password is refused with RateLimited", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const user = yield* newUser()
        for (let i = 0; i < 5; i++) {
          const e = yield* Effect.flip(auth.signIn({ email: user.email, password: `wrong password ${i}` }, "10.0.1.1"))
          expect(e._tag).toBe("Unauthenticated")
        }
        const refused = yield* Effect.flip(auth.signIn({ email: user.email, password: PASSWORD }, "10.0.1.2"))
        expect(refused._tag).toBe("RateLimited")
        if (refused._tag === "RateLimited") {
          expect(refused.retryAfterSeconds).toBeGreaterThan(0)
          expect(refused.retryAfterSeconds).toBeLessThanOrEqual(15 * 60)
        }
        // Another account from the same address is not affected (the address limit is 20).
        const other = yield* newUser()
        yield* auth.signIn({ email: other.email, password: PASSWORD }, "10.0.1.1")
        // Once the failures leave the window, the right password works again.
        yield* sql("UPDATE sign_in_failures SET at = at - interval '16 minutes' WHERE email = $1", [user.email])
        yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.1.2")
      }))

    it.effect("twenty failures from one address throttle that address", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        for (let i = 0; i < 20; i++) {
          yield* Effect.flip(auth.signIn({ email: `guess${i}@lab.example`, password: "wrong password" }, "10.0.2.1"))
        }
        const user = yield* newUser()
        const refused = yield* Effect.flip(auth.signIn({ email: user.email, password: PASSWORD }, "10.0.2.1"))
        expect(refused._tag).toBe("RateLimited")
        yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.2.2")
      }))

    it.effect("sessions slide, expire, end on sign-out, and disabled users are refused", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const user = yield* newUser()
        const { token, session } = yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.3.1")
        const ok = yield* auth.authenticateSession(token)
        expect(ok.principal.id).toBe(user.id)
        expect(ok.csrfToken).toBe(session.csrfToken)
        const [stored] = yield* sql<{ n: number }>("SELECT count(*)::int AS n FROM sessions WHERE token_hash = $1", [sha256(token)])
        expect(stored!.n).toBe(1)

        // Used after a minute: the expiry moves to SESSION_TTL from now.
        yield* sql("UPDATE sessions SET last_seen_at = now() - interval '2 minutes', expires_at = now() + interval '1 minute' WHERE token_hash = $1", [sha256(token)])
        const slid = yield* auth.authenticateSession(token)
        expect(Date.parse(slid.expiresAt) - Date.now()).toBeGreaterThan(11 * 3_600_000)

        yield* sql("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [sha256(token)])
        expect((yield* Effect.flip(auth.authenticateSession(token)))._tag).toBe("Unauthenticated")

        const second = yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.3.1")
        yield* auth.signOut(second.token)
        expect((yield* Effect.flip(auth.authenticateSession(second.token)))._tag).toBe("Unauthenticated")

        const third = yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.3.1")
        const disabled = yield* auth.updateUser(user.id, { disabled: true }, SYSTEM)
        expect(disabled.disabled).toBe(true)
        expect((yield* Effect.flip(auth.authenticateSession(third.token)))._tag).toBe("Unauthenticated")
        expect((yield* Effect.flip(auth.signIn({ email: user.email, password: PASSWORD }, "10.0.3.1")))._tag).toBe("Unauthenticated")
        yield* auth.updateUser(user.id, { disabled: false }, SYSTEM)
        yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.3.1")
      }))

    it.effect("changing the password needs the current one and ends the user's other sessions", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const user = yield* newUser()
        const here = yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.4.1")
        const elsewhere = yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.4.2")
        const principal = here.session.principal
        if (principal._tag !== "User") return expect.fail("a user principal")
        expect((yield* Effect.flip(auth.changePassword(principal, "not my password", "a new password 1", here.token)))._tag).toBe("Unauthenticated")
        yield* auth.changePassword(principal, PASSWORD, "a new password 1", here.token)
        yield* auth.authenticateSession(here.token)
        expect((yield* Effect.flip(auth.authenticateSession(elsewhere.token)))._tag).toBe("Unauthenticated")
        expect((yield* Effect.flip(auth.signIn({ email: user.email, password: PASSWORD }, "10.0.4.1")))._tag).toBe("Unauthenticated")
        yield* auth.signIn({ email: user.email, password: "a new password 1" }, "10.0.4.1")
      }))

    it.scoped("an API key authenticates, is stored only as a hash, and once revoked is refused by every instance within 2 s", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const other = yield* secondInstance
        const admin: Principal = { _tag: "User", id: (yield* newUser("admin")).id, email: "boss@lab.example", name: "Boss", role: "admin" }
        const { key, secret } = yield* auth.createApiKey({ name: "LIMS sync", scopes: ["samples:read", "events:read"] }, admin)
        expect(secret).toMatch(/^ptk_[A-Za-z0-9_-]{43}$/)
        expect(key.prefix).toBe(secret.slice(4, 12))
        expect(key.createdBy).toBe("user:boss@lab.example")

        const [row] = yield* sql<{ secret_hash: string; whole: string }>("SELECT secret_hash, row_to_json(k)::text AS whole FROM api_keys k WHERE id = $1", [key.id])
        expect(row!.secret_hash).toBe(sha256(secret))
        expect(row!.whole).not.toContain(secret.slice(4))
        expect(JSON.stringify(yield* auth.listApiKeys())).not.toContain(secret.slice(4))

        const principal = yield* auth.authenticateBearer(secret)
        expect(principal).toEqual({ _tag: "ApiKey", id: key.id, name: "LIMS sync", scopes: ["samples:read", "events:read"] })
        expect(yield* other.authenticateBearer(secret)).toEqual(principal)
        // Use is recorded (in the background), and not on every request.
        const lastUsed = () => sql<{ last_used_at: Date | null }>("SELECT last_used_at FROM api_keys WHERE id = $1", [key.id])
        expect(yield* eventually(Effect.map(lastUsed(), (r) => r[0]!.last_used_at !== null), 5_000)).toBe(true)
        const first = (yield* lastUsed())[0]!.last_used_at!.getTime()
        for (let i = 0; i < 3; i++) yield* auth.authenticateBearer(secret)
        expect((yield* lastUsed())[0]!.last_used_at!.getTime()).toBe(first)

        expect((yield* Effect.flip(auth.authenticateBearer(`ptk_${"A".repeat(43)}`))).message).toBe("unknown or revoked API key")

        const revoked = yield* auth.revokeApiKey(key.id, admin)
        expect(revoked.revokedAt).not.toBeNull()
        expect((yield* Effect.flip(auth.authenticateBearer(secret)))._tag).toBe("Unauthenticated")
        // The other instance had the key cached; it must stop accepting it within 2 seconds.
        const refusedElsewhere = other.authenticateBearer(secret).pipe(Effect.as(false), Effect.orElseSucceed(() => true))
        expect(yield* eventually(refusedElsewhere, 2_000)).toBe(true)
        expect(yield* refusedElsewhere).toBe(true)
        const unknownId = yield* Effect.flip(auth.revokeApiKey("00000000-0000-4000-8000-000000000000", admin))
        expect(unknownId._tag).toBe("ApiKeyNotFound")
      }))

    it.effect("PORETRACK_ADMIN_TOKEN authenticates as an admin key with every scope; a short one stops start-up", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const principal = yield* auth.authenticateBearer(ADMIN_TOKEN)
        expect(principal.name).toBe("PORETRACK_ADMIN_TOKEN")
        expect(principal.scopes[0]).toBe("admin")
        expect([...principal.scopes].sort()).toEqual([...SCOPES].sort())
        expect(principal.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect(principal).toEqual(adminTokenPrincipal(Redacted.make(ADMIN_TOKEN)))
        expect((yield* Effect.flip(auth.authenticateBearer(ADMIN_TOKEN.replace(/f$/, "e"))))._tag).toBe("Unauthenticated")

        const read = (env: Record<string, string>) =>
          Effect.either(Effect.withConfigProvider(appConfig, ConfigProvider.fromMap(new Map(Object.entries(env)))))
        const short = yield* read({ PORETRACK_ADMIN_TOKEN: "too-short" })
        expect(Either.isLeft(short) && String(short.left)).toContain("PORETRACK_ADMIN_TOKEN must be at least 24 characters")
        const unset = yield* read({})
        expect(Either.isRight(unset) && Option.isNone(unset.right.adminToken)).toBe(true)
        expect(Either.isRight(unset) && Duration.toHours(unset.right.sessionTtl)).toBe(12)
      }))

    it.scoped("with no user, the setup link creates the first admin exactly once", () =>
      Effect.gen(function*() {
        const { settings } = yield* TestDb
        const url = yield* Effect.promise(createTestDatabase)
        const fresh = Context.get(yield* Layer.build(authOn({ ...settings, databaseUrl: Option.some(Redacted.make(url)) })), Auth)
        const link = yield* fresh.openSetup()
        expect(Option.isSome(link)).toBe(true)
        const parsed = new URL(Option.getOrThrow(link))
        expect(parsed.pathname).toBe("/setup")
        const token = parsed.searchParams.get("token")!
        expect(yield* fresh.setupLink()).toEqual(link)
        const [stored] = yield* Effect.promise(() => query<{ token_hash: string }>(url, "SELECT token_hash FROM setup_tokens"))
        expect(stored!.token_hash).toBe(sha256(token))

        expect((yield* Effect.flip(fresh.completeSetup("x".repeat(43), { email: "first@lab.example", name: "First", password: PASSWORD })))._tag).toBe("Unauthenticated")
        const attempts = yield* Effect.all([
          Effect.either(fresh.completeSetup(token, { email: "first@lab.example", name: "First", password: PASSWORD })),
          Effect.either(fresh.completeSetup(token, { email: "second@lab.example", name: "Second", password: PASSWORD }))
        ], { concurrency: 2 })
        const created = attempts.filter(Either.isRight).map((a) => a.right)
        expect(created).toHaveLength(1)
        expect(created[0]!.role).toBe("admin")
        expect(attempts.filter(Either.isLeft).map((a) => a.left._tag)).toEqual(["Unauthenticated"])
        expect((yield* fresh.listUsers()).map((u) => u.email)).toEqual([created[0]!.email])
        expect(yield* fresh.setupLink()).toEqual(Option.none())
        expect(yield* fresh.openSetup()).toEqual(Option.none())
        yield* fresh.signIn({ email: created[0]!.email, password: PASSWORD }, "10.0.5.1")
      }))

    it.effect("sign-ins, failures and key changes are in the audit log, newest first, never with a password", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const user = yield* newUser("admin")
        yield* Effect.flip(auth.signIn({ email: user.email, password: "wrong password x" }, "10.0.6.1"))
        const { session } = yield* auth.signIn({ email: user.email, password: PASSWORD }, "10.0.6.1")
        const { key } = yield* auth.createApiKey({ name: "audit me", scopes: ["samples:read"] }, session.principal)
        yield* auth.revokeApiKey(key.id, session.principal)
        yield* auth.audit("PermissionRefused", "key:x#1", { path: "/api/v1/users", odd: "nul\u0000 and \uD800" })
        const log = yield* auth.auditLog({ limit: 10 })
        expect(log.slice(0, 5).map((e) => e.type)).toEqual(["PermissionRefused", "ApiKeyRevoked", "ApiKeyCreated", "SignedIn", "SignInFailed"])
        expect(log.map((e) => e.seq)).toEqual([...log.map((e) => e.seq)].sort((a, b) => b - a))
        expect(log[1]).toMatchObject({ actor: `user:${user.email}`, data: { apiKeyId: key.id } })
        expect(log[4]).toMatchObject({ actor: "anonymous", data: { email: user.email, clientAddress: "10.0.6.1", reason: "wrong password" } })
        expect(JSON.stringify(log)).not.toContain(PASSWORD)
        expect(JSON.stringify(log)).not.toContain("wrong password x")
        const older = yield* auth.auditLog({ limit: 2, before: log[1]!.seq })
        expect(older.map((e) => e.seq)).toEqual([log[2]!.seq, log[3]!.seq])
      }))

    it.effect("NUL and unpaired surrogates are InvalidInput naming the field", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const cases: Array<Effect.Effect<unknown, InvalidInput>> = [
          auth.createUser({ email: "nul@lab.example", name: "a\u0000b", role: "technician", password: PASSWORD }, SYSTEM),
          auth.createUser({ email: "sur@lab.example", name: "x\uD800y", role: "technician", password: PASSWORD }, SYSTEM),
          auth.createUser({ email: "low@lab.example", name: "x\uDC00", role: "technician", password: PASSWORD }, SYSTEM),
          auth.createApiKey({ name: "key\uDBFF", scopes: ["samples:read"] }, SYSTEM)
        ]
        for (const attempt of cases) {
          expect(yield* Effect.flip(attempt)).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "name" }] })
        }
        const user = yield* newUser()
        expect(yield* Effect.flip(auth.updateUser(user.id, { name: "\u0000" }, SYSTEM))).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "name" }] })
        expect(yield* Effect.flip(auth.signIn({ email: "a\u0000@lab.example", password: PASSWORD }, "10.0.7.1"))).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "email" }] })
        // A valid pair stays valid.
        const emoji = yield* auth.createUser({ email: "emoji@lab.example", name: "Ada 🧬", role: "technician", password: PASSWORD }, SYSTEM)
        expect(emoji.name).toBe("Ada 🧬")
        // Nothing half-written.
        const [n] = yield* sql<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE email IN ('nul@lab.example', 'sur@lab.example', 'low@lab.example')")
        expect(n!.n).toBe(0)
      }))

    it.effect("the last enabled admin can be neither disabled nor demoted", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const admins = (yield* auth.listUsers()).filter((u) => u.role === "admin" && !u.disabled)
        for (const a of admins.slice(1)) yield* auth.updateUser(a.id, { role: "manager" }, SYSTEM)
        const last = admins[0] ?? (yield* newUser("admin"))
        expect(yield* Effect.flip(auth.updateUser(last.id, { disabled: true }, SYSTEM))).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "disabled" }] })
        expect(yield* Effect.flip(auth.updateUser(last.id, { role: "technician" }, SYSTEM))).toMatchObject({ _tag: "InvalidInput", issues: [{ path: "role" }] })
        expect((yield* Effect.flip(auth.updateUser("00000000-0000-4000-8000-000000000000", { name: "x" }, SYSTEM)))._tag).toBe("UserNotFound")
      }))

    it.effect("`poretrack admin create` makes an account that can sign in; errors are one line and exit 1", () =>
      Effect.gen(function*() {
        const auth = yield* Auth
        const { url } = yield* TestDb
        const run = (args: Array<string>, password: string) =>
          Effect.promise(() =>
            new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
              const child = spawn(process.execPath, ["--import", "tsx", "runtime/cli.ts", "admin", ...args], {
                cwd: process.cwd(),
                env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", DATABASE_URL: url, PORETRACK_ADMIN_PASSWORD: password },
                stdio: ["ignore", "pipe", "pipe"]
              })
              let stdout = ""
              let stderr = ""
              child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
              child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
              child.on("exit", (code) => resolve({ code, stdout, stderr }))
            }))
        const ok = yield* run(["create", "--email", "CLI@Lab.example", "--name", "Cli Admin"], "cli password 123")
        expect(ok.stderr).toBe("")
        expect(ok.code).toBe(0)
        expect(ok.stdout.trim().split("\n")).toHaveLength(1)
        expect(ok.stdout).toContain("created admin cli@lab.example")
        const { session } = yield* auth.signIn({ email: "cli@lab.example", password: "cli password 123" }, "10.0.8.1")
        expect(session.principal).toMatchObject({ _tag: "User", role: "admin", name: "Cli Admin" })

        const again = yield* run(["create", "--email", "cli@lab.example"], "cli password 123")
        expect(again.code).toBe(1)
        expect(again.stdout).toBe("")
        expect(again.stderr.trim().split("\n")).toHaveLength(1)
        expect(again.stderr).toContain("already")
        const weak = yield* run(["create", "--email", "weak@lab.example"], "short")
        expect(weak.code).toBe(1)
        expect(weak.stderr).toContain("password")

        const reset = yield* run(["reset-password", "--email", "cli@lab.example"], "another password 9")
        expect(reset.code).toBe(0)
        yield* auth.signIn({ email: "cli@lab.example", password: "another password 9" }, "10.0.8.1")
      }), 60_000)
  })
})
