/**
 * `poretrack admin create --email E [--name N] [--role R]` and `poretrack admin reset-password --email E`: account
 * work from a shell, on the same database as `npm start` (DATABASE_URL, or the embedded PostgreSQL under DATA_DIR,
 * reused when `npm start` is running). The password comes from PORETRACK_ADMIN_PASSWORD, else a hidden prompt (twice)
 * on a terminal, else one line of stdin. One line of output; errors are one line on stderr and exit code 1.
 */
import { Cause, Config, Console, Data, Effect, Either, Exit, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { ROLES, type Role } from "../rpc/Auth.ts"
import { AppSettings } from "./AppSettings.ts"
import { Auth } from "./Auth.ts"
import { appConfig } from "./Config.ts"
import { DatabaseLive } from "./Database.ts"

/** A usage or input problem of the command line, told in one line. */
class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

const USAGE = "usage: poretrack admin create --email E [--name N] [--role submitter|technician|manager|admin]  |  poretrack admin reset-password --email E"

/** `--flag value` and `--flag=value` pairs; anything else is a usage error. */
const parseFlags = (args: ReadonlyArray<string>, allowed: ReadonlyArray<string>) => {
  const flags = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!m || !allowed.includes(m[1]!)) return Either.left(`unexpected argument "${arg}"`)
    const value = m[2] ?? args[++i]
    if (value === undefined) return Either.left(`--${m[1]} needs a value`)
    flags.set(m[1]!, value)
  }
  return Either.right(flags)
}

/** Reads a line from a terminal without echoing it. */
const promptHidden = (question: string) =>
  new Promise<string>((resolvePrompt, reject) => {
    const stdin = process.stdin
    process.stderr.write(question)
    let line = ""
    const done = (error?: Error) => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.removeListener("data", onData)
      process.stderr.write("\n")
      if (error) reject(error)
      else resolvePrompt(line)
    }
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done()
        if (ch === "\u0003" || ch === "\u0004") return done(new Error("cancelled"))
        if (ch === "\u007f" || ch === "\b") line = [...line].slice(0, -1).join("")
        else line += ch
      }
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on("data", onData)
  })

/** The first line of stdin (a pipe or a file). */
const readLine = () =>
  new Promise<string>((resolveLine, reject) => {
    let text = ""
    const stdin = process.stdin
    const finish = () => {
      stdin.removeAllListeners("data")
      stdin.pause()
      resolveLine(text.split(/\r?\n/)[0] ?? "")
    }
    stdin.setEncoding("utf8")
    stdin.on("data", (chunk: string) => {
      text += chunk
      if (text.includes("\n")) finish()
    })
    stdin.once("end", finish)
    stdin.once("error", reject)
  })

/** The new password: PORETRACK_ADMIN_PASSWORD, a hidden prompt twice on a terminal, or one line of stdin. */
const readPassword = Effect.gen(function*() {
  const fromEnv = yield* Config.option(Config.redacted("PORETRACK_ADMIN_PASSWORD"))
  if (Option.isSome(fromEnv) && Redacted.value(fromEnv.value).length > 0) return Redacted.value(fromEnv.value)
  const fail = (cause: unknown) => new CliError({ message: cause instanceof Error ? cause.message : String(cause) })
  if (process.stdin.isTTY) {
    const first = yield* Effect.tryPromise({ try: () => promptHidden("new password: "), catch: fail })
    const again = yield* Effect.tryPromise({ try: () => promptHidden("again: "), catch: fail })
    if (first !== again) return yield* new CliError({ message: "the two passwords differ; nothing was changed" })
    return first
  }
  const line = yield* Effect.tryPromise({ try: readLine, catch: fail })
  if (line.length === 0) return yield* new CliError({ message: "no password: set PORETRACK_ADMIN_PASSWORD or pipe it on stdin" })
  return line
})

const isPostmasterRunning = (pgDir: string) => {
  const pidFile = join(pgDir, "postmaster.pid")
  if (!existsSync(pidFile)) return false
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0])
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * The settings of `npm start`; when DATABASE_URL is unset and its embedded PostgreSQL is already running (npm start
 * is up), that server is used as it is instead of being started (or stopped) a second time.
 */
const Settings = Layer.unwrapEffect(Effect.map(appConfig, (c) => {
  const running = Option.isNone(c.databaseUrl) && isPostmasterRunning(resolve(c.dataDir, "pg"))
  const databaseUrl = running ? Option.some(Redacted.make(`postgres://postgres:postgres@127.0.0.1:${c.embeddedPgPort}/postgres`)) : c.databaseUrl
  return AppSettings.make({ ...c, databaseUrl, role: "all" })
}))

const CLI: { readonly _tag: "System"; readonly name: string } = { _tag: "System", name: "cli" }

const program = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const [sub, ...rest] = args
    if (sub !== "create" && sub !== "reset-password") return yield* new CliError({ message: USAGE })
    const flags = yield* Either.match(parseFlags(rest, sub === "create" ? ["email", "name", "role"] : ["email"]), {
      onLeft: (message) => Effect.fail(new CliError({ message: `${message}; ${USAGE}` })),
      onRight: Effect.succeed
    })
    const email = flags.get("email")
    if (email === undefined) return yield* new CliError({ message: `--email is required; ${USAGE}` })
    const role = flags.get("role") ?? "admin"
    if (!ROLES.some((r) => r === role)) return yield* new CliError({ message: `--role must be one of ${ROLES.join(", ")}` })
    const password = yield* readPassword
    const auth = yield* Auth
    if (sub === "create") {
      const user = yield* auth.createUser({ email, name: flags.get("name") ?? email.split("@")[0]!, role: role as Role, password }, CLI)
      yield* Console.log(`created ${user.role} ${user.email} (id ${user.id}): sign in with this e-mail and the password given`)
    } else {
      const user = yield* auth.resetPassword(email, password, CLI)
      yield* Console.log(`password of ${user.email} reset; their sessions were ended`)
    }
  })

/** One line for whatever went wrong: a typed error's message (and fields), or a defect's message without its stack. */
const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const error: unknown = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  if (typeof error === "object" && error !== null) {
    const e = error as { readonly message?: unknown; readonly issues?: ReadonlyArray<{ readonly path: string; readonly message: string }> }
    const issues = Array.isArray(e.issues) && e.issues.length > 0 ? `: ${e.issues.map((i) => `${i.path} ${i.message}`).join("; ")}` : ""
    if (typeof e.message === "string" && e.message.length > 0) return `${e.message}${issues}`
  }
  return String(error)
}

/** Runs `poretrack admin …` and resolves with the exit code. */
export const adminCommand = async (args: ReadonlyArray<string>): Promise<number> => {
  const exit = await Effect.runPromiseExit(program(args).pipe(
    Effect.provide(Auth.Default.pipe(
      Layer.provideMerge(DatabaseLive),
      Layer.provideMerge(Settings),
      Layer.provideMerge(Logger.minimumLogLevel(LogLevel.None))
    ))
  ))
  if (Exit.isSuccess(exit)) return 0
  process.stderr.write(`poretrack admin: ${describeFailure(exit.cause).replace(/\s*\n\s*/g, " ")}\n`)
  return 1
}
