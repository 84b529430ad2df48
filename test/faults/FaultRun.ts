/**
 * A seeded fault run: its own embedded PostgreSQL, N runners and one gateway as child processes on 127.0.0.1, a
 * workload over the gateway's REST API, and faults injected at random (seeded) times:
 *
 * - kill9       kill -9 of a random runner mid-step, then a replacement runner
 * - sigterm     SIGTERM of a random runner (graceful handover), then a replacement runner
 * - join        a new runner joins (shards rebalance onto it)
 * - pgTerminate pg_terminate_backend of every session of ONE runner: its PostgreSQL backends are found by matching
 *               pg_stat_activity.client_port against the local ports of that process's TCP connections to the server
 *               (/proc/<pid>/fd socket inodes joined with /proc/net/tcp); the shard-lock connection is among them,
 *               so its advisory locks are released while it still believes it owns its shards
 * - sigstop     SIGSTOP of a random runner for longer than SHARD_LOCK_EXPIRATION, then SIGCONT
 * - pgRestart   the PostgreSQL server stopped (fast shutdown), left down 0.5–3 s, and started again
 *
 * After each fault the run measures recovery: from the fault's start until every sample of the first batch has
 * answered a command again (its receive resent with the same key: the entity answers with the stored first result,
 * read from PostgreSQL, and writes nothing) and answers stay prompt for 3 s (a disruption that shows up at the next
 * lock refresh still counts). Probing starts once the fault is fully in place (process gone, process resumed,
 * server back). The seed fixes the fault plan, targets, gaps, pause lengths and the workload's think times; timing of the
 * processes themselves still varies from run to run.
 */
import { mkdir, mkdtemp, readdir, readFile, readlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as delay } from "node:timers/promises"
import { startChild, type Child } from "../ChildSystem.ts"
import { freePort } from "../freePort.ts"
import { check, percentile, type Verdict } from "./Checker.ts"
import { startPostgres, type FaultPostgres } from "./Postgres.ts"
import { prng, type Prng } from "./Prng.ts"
import { probe, startWorkload } from "./Workload.ts"

export const FAULT_KINDS = ["kill9", "sigterm", "join", "pgTerminate", "sigstop", "pgRestart"] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export type FaultPlan =
  | { readonly _tag: "list"; readonly faults: ReadonlyArray<FaultKind> }
  | { readonly _tag: "soak"; readonly minutes: number; readonly kinds: ReadonlyArray<FaultKind> }

export interface FaultRunOptions {
  readonly seed: number
  readonly plan: FaultPlan
  readonly runners?: number
  readonly lanes?: number
  /** Random gap before each fault, ms. */
  readonly gapMs?: readonly [number, number]
  /** Workload think time between a sample's commands, ms. */
  readonly thinkMs?: readonly [number, number]
  /** How long a SIGSTOP lasts, ms (must exceed SHARD_LOCK_EXPIRATION, 4 s). */
  readonly pauseMs?: readonly [number, number]
  /** How long PostgreSQL stays down in a restart, ms. */
  readonly pgDownMs?: readonly [number, number]
  readonly log?: (line: string) => void
  /** Where to write every process's output at the end (also written to a temporary folder on a violation). */
  readonly logDir?: string
}

export interface FaultOutcome {
  readonly index: number
  readonly kind: FaultKind
  readonly target: string
  /** When the fault started, ms since the run started. */
  readonly atMs: number
  /** From the fault's start until every probed sample answered again. */
  readonly recoveryMs: number
  /** From the moment the fault was fully in place (e.g. SIGCONT sent, server back) until every sample answered. */
  readonly afterSettledMs: number
  /** SIGTERM: from the signal until the other runners held every shard. */
  readonly handoverMs?: number | undefined
  /** Requests answered with a failure the client had to retry (503, other 5xx, no answer) from the fault's start until recovery: the workload's and the probes'. */
  readonly failedRequests: number
  readonly detail: string
}

export interface FaultRunResult {
  readonly seed: number
  readonly faults: ReadonlyArray<FaultOutcome>
  readonly verdict: Verdict
  /** Checker violations plus the workload's and the harness's (refusals, deadlines, unanswered probes, crashes). */
  readonly violations: ReadonlyArray<string>
  /** "version fence failed" lines in the runners' logs: a stale owner tried to write. */
  readonly fencingFailures: number
  readonly durationMs: number
  readonly samples: number
  readonly commands: number
  readonly resends: number
}

// Settings of every process. Step clocks of 2 s: a think time above 1.6 s raises SlaAtRisk, above 2 s SlaBreached;
// the turnaround (20 s for normal priority) runs out for samples that a fault held up.
const STEP_EXPECTED_DURATIONS =
  "sample_qc=2s,library_prep=2s,library_qc=2s,sequencing_setup=2s,sequencing_run=2s,basecalling=2s,quality_assessment=2s,data_delivery=2s"
const PROBE_DEADLINE_MS = 60_000
/** A probe answered slower than this, or only after a resend, means the fault still disrupts. */
const SLOW_MS = 1_000
/** How long answers must stay prompt before a fault counts as healed (three lock refresh intervals). */
const STABLE_MS = 3_000
const SETTLE_DEADLINE_MS = 30_000
const COMMAND_DEADLINE_MS = 90_000
const SHARDS = 300

interface RunnerProc {
  readonly name: string
  readonly child: Child
  expectedExit: boolean
}

/** Cleanups of runs in progress, for a caller that must stop everything on SIGINT/SIGTERM. */
const running = new Set<() => Promise<void>>()
export const stopAllRuns = async () => {
  await Promise.all([...running].map((f) => f()))
}

/** Local ports of `pid`'s TCP connections to `port` (from its socket inodes and /proc/net/tcp). */
const clientPortsOf = async (pid: number, port: number): Promise<Array<number>> => {
  const inodes = new Set<string>()
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")
    const m = /^socket:\[(\d+)\]$/.exec(link)
    if (m?.[1] !== undefined) inodes.add(m[1])
  }
  const ports: Array<number> = []
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(file, "utf8").catch(() => "")
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/)
      const local = cols[1]
      const remote = cols[2]
      const inode = cols[9]
      if (local === undefined || remote === undefined || inode === undefined || !inodes.has(inode)) continue
      if (Number.parseInt(remote.split(":").pop() ?? "", 16) !== port) continue
      ports.push(Number.parseInt(local.split(":").pop() ?? "", 16))
    }
  }
  return ports
}

export const summarize = (faults: ReadonlyArray<FaultOutcome>) =>
  FAULT_KINDS.flatMap((kind) => {
    const of = faults.filter((f) => f.kind === kind)
    const ms = of.map((f) => f.recoveryMs)
    const failed = of.reduce((n, f) => n + f.failedRequests, 0)
    const handover = of.flatMap((f) => (f.handoverMs === undefined ? [] : [f.handoverMs]))
    return ms.length === 0 ? [] : [{
      kind,
      n: ms.length,
      p50: percentile(ms, 50),
      p99: percentile(ms, 99),
      max: Math.max(...ms),
      failed,
      handover: handover.length === 0 ? undefined : { p50: percentile(handover, 50), p99: percentile(handover, 99), max: Math.max(...handover) }
    }]
  })

export const runFaults = async (options: FaultRunOptions): Promise<FaultRunResult> => {
  const log = options.log ?? ((line: string) => console.log(line))
  const seed = options.seed
  const rng: Prng = prng(seed)
  const runnerCount = options.runners ?? 3
  const lanes = options.lanes ?? 40
  const gapMs = options.gapMs ?? [1_000, 4_000]
  const pauseMs = options.pauseMs ?? [5_000, 7_000]
  const downMs = options.pgDownMs ?? [500, 3_000]
  const started = Date.now()
  const since = () => Date.now() - started
  log(`fault run: seed ${seed} (replay with FAULT_SEED=${seed}), ${runnerCount} runners, ${lanes} lanes`)

  const children: Array<{ readonly name: string; readonly child: Child }> = []
  const harness: Array<string> = []
  let pg: FaultPostgres | undefined
  let cleaned = false
  const cleanup = async () => {
    if (cleaned) return
    cleaned = true
    await Promise.all(children.map((c) => c.child.kill9().catch(() => undefined)))
    await pg?.dispose().catch(() => undefined)
  }
  running.add(cleanup)
  try {
    pg = await startPostgres()
    const db = pg
    const query = (text: string, values: Array<unknown>) => db.query(text, values)
    const env = {
      DATABASE_URL: db.url,
      HTTP_HOST: "127.0.0.1",
      RUNNER_HOST: "127.0.0.1",
      SHARD_LOCK_REFRESH_INTERVAL: "1 second",
      SHARD_LOCK_EXPIRATION: "4 seconds",
      ENTITY_MESSAGE_POLL_INTERVAL: "200 millis",
      STEP_EXPECTED_DURATIONS,
      TURNAROUND_TARGETS: "normal=20s",
      PG_POOL_MAX: "10",
      LOG_FORMAT: "json",
      // The workload and the probes all use the one admin key: the door's per-key limit (200/s by default) would
      // answer 429 to a full-size run, which measures resilience to faults, not the limiter.
      RATE_LIMIT_PER_SECOND: "100000",
      RATE_LIMIT_BURST: "100000"
    }

    const runners: Array<RunnerProc> = []
    let runnerSeq = 0
    const startRunner = async (): Promise<RunnerProc> => {
      const name = `runner-${++runnerSeq}`
      const child = await startChild({ ...env, RUNNER_PORT: String(await freePort()) }, await freePort(), 120_000, "runner")
      children.push({ name, child })
      const proc: RunnerProc = { name, child, expectedExit: false }
      void child.exited.then((code) => {
        if (!proc.expectedExit && !cleaned) harness.push(`${name} exited by itself (code ${code}) at ${since()} ms`)
      })
      runners.push(proc)
      return proc
    }
    const retire = (proc: RunnerProc) => {
      proc.expectedExit = true
      runners.splice(runners.indexOf(proc), 1)
    }
    /**
     * Shard locks each runner holds: advisory locks granted to its PostgreSQL sessions (the effect_cluster_shards
     * gauge is not lowered when a runner releases shards, so it cannot tell a handover from a stale count).
     */
    const shardLocks = async (procs: ReadonlyArray<RunnerProc>): Promise<Array<number | undefined>> => {
      try {
        const rows = await db.query<{ port: number; n: number }>(
          `SELECT a.client_port AS port, count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'poretrack-runner %'
             AND l.objid NOT IN (7243001, 7243002)
           GROUP BY a.client_port`
        )
        const byPort = new Map(rows.map((r) => [r.port, r.n]))
        return await Promise.all(procs.map(async (p) =>
          (await clientPortsOf(p.child.pid, db.port).catch(() => [])).reduce((n, port) => n + (byPort.get(port) ?? 0), 0)
        ))
      } catch {
        return procs.map(() => undefined)
      }
    }
    /** Waits until every runner holds shards and together they hold all of them. */
    const settled = async (): Promise<number> => {
      const t0 = Date.now()
      for (;;) {
        const counts = await shardLocks(runners)
        const total = counts.reduce<number>((n, c) => n + (c ?? 0), 0)
        if (counts.every((c) => c !== undefined && c > 0) && total === SHARDS) return Date.now() - t0
        if (Date.now() - t0 > SETTLE_DEADLINE_MS) {
          log(`  (shards not settled after ${SETTLE_DEADLINE_MS} ms: ${runners.map((r, i) => `${r.name}=${counts[i] ?? "?"}`).join(" ")})`)
          return Date.now() - t0
        }
        await delay(200)
      }
    }

    // Runners one after the other (each builds the cluster tables' layer under a lock anyway), then the gateway.
    for (let i = 0; i < runnerCount; i++) await startRunner()
    const gateway = await startChild(env, await freePort(), 120_000, "gateway")
    children.push({ name: "gateway", child: gateway })
    void gateway.exited.then((code) => {
      if (!cleaned) harness.push(`gateway exited by itself (code ${code}) at ${since()} ms`)
    })
    log(`  cluster up in ${since()} ms; shards settled in ${await settled()} ms`)

    let faultsDone = false
    const workload = startWorkload(gateway.baseUrl, query, {
      seed,
      lanes,
      thinkMs: options.thinkMs ?? [200, 2_600],
      commandDeadlineMs: COMMAND_DEADLINE_MS,
      wantMore: () => !faultsDone,
      log
    })
    await workload.ready

    /**
     * Probes every sample of the first batch in rounds until the answers have been prompt (each first try answered
     * within SLOW_MS) for STABLE_MS in a row; returns the end of the last round that was not (or of the first round),
     * so that a disruption that shows up a refresh interval after the fault still counts.
     */
    let slowest = { ms: 0, what: "" }
    const probeFailures: Array<number> = []
    const recovered = async (): Promise<{ at: number; unanswered: number }> => {
      const ids = workload.firstBatch()
      const deadline = Date.now() + PROBE_DEADLINE_MS
      let disruptedUntil: number | undefined
      let firstRoundEnd: number | undefined
      let cleanSince: number | undefined
      slowest = { ms: 0, what: "" }
      for (;;) {
        const roundStart = Date.now()
        let clean = true
        let unanswered = 0
        await Promise.all(ids.map(async (id) => {
          for (let attempt = 0; ; attempt++) {
            const sent = Date.now()
            const answer = await probe(gateway.baseUrl, id, workload.received.has(id), 20_000)
            if (Date.now() - sent > slowest.ms) slowest = { ms: Date.now() - sent, what: `${id} ${answer}` }
            if (answer === "answered") {
              if (attempt > 0 || Date.now() - sent > SLOW_MS) clean = false
              return
            }
            clean = false
            if (answer === "retry") probeFailures.push(Date.now())
            if (answer !== "retry") {
              harness.push(`probe of ${id}: ${answer}`)
              return
            }
            if (Date.now() > deadline) {
              unanswered++
              return
            }
            await delay(100)
          }
        }))
        const roundEnd = Date.now()
        firstRoundEnd ??= roundEnd
        if (unanswered > 0) return { at: roundEnd, unanswered }
        if (!clean) {
          disruptedUntil = roundEnd
          cleanSince = undefined
        } else {
          cleanSince ??= roundStart
          if (roundEnd - cleanSince >= STABLE_MS) return { at: disruptedUntil ?? firstRoundEnd, unanswered: 0 }
        }
        if (roundEnd > deadline) {
          harness.push(`answers still slow or resent ${PROBE_DEADLINE_MS} ms after a fault was in place`)
          return { at: roundEnd, unanswered: 0 }
        }
      }
    }

    const outcomes: Array<FaultOutcome> = []
    const inject = async (index: number, kind: FaultKind): Promise<FaultOutcome> => {
      let target = ""
      let detail = ""
      let t0 = Date.now()
      let settledAt = t0
      let handoverMs: number | undefined = undefined
      const replace = async () => {
        if (runners.length >= runnerCount) return
        const t = Date.now()
        const r = await startRunner()
        log(`    replacement ${r.name} up in ${Date.now() - t} ms, shards settled ${await settled()} ms later`)
      }
      switch (kind) {
        case "kill9": {
          const victim = rng.pick(runners)
          target = victim.name
          retire(victim)
          t0 = Date.now()
          await victim.child.kill9()
          settledAt = Date.now()
          break
        }
        case "sigterm": {
          const victim = rng.pick(runners)
          target = victim.name
          retire(victim)
          t0 = Date.now()
          const exiting = victim.child.stop()
          // The handover: from the signal until the remaining runners hold every shard's lock.
          const handover = (async () => {
            for (;;) {
              const counts = await shardLocks(runners)
              if (counts.reduce<number>((n, c) => n + (c ?? 0), 0) === SHARDS) return Date.now() - t0
              if (Date.now() - t0 > SETTLE_DEADLINE_MS) return undefined
              await delay(25)
            }
          })()
          const code = await exiting
          settledAt = Date.now()
          handoverMs = await handover
          detail = `exited ${code} after ${settledAt - t0} ms, shards held by the others ${handoverMs ?? "never"} ms after the signal`
          if (handoverMs === undefined) harness.push(`${victim.name}: its shards were not taken over within ${SETTLE_DEADLINE_MS} ms of SIGTERM`)
          if (code !== 0) harness.push(`${victim.name}: SIGTERM exit code ${code}`)
          break
        }
        case "join": {
          if (runners.length >= runnerCount + 2) {
            const oldest = runners[0]!
            retire(oldest)
            await oldest.child.stop()
            detail = `${oldest.name} stopped first (at most ${runnerCount + 2} runners); `
            await settled()
          }
          const r = await startRunner()
          target = r.name
          t0 = Date.now()
          for (;;) {
            const [shards] = await shardLocks([r])
            if ((shards !== undefined && shards > 0) || Date.now() - t0 > SETTLE_DEADLINE_MS) break
            await delay(100)
          }
          settledAt = Date.now()
          detail += `holds shards ${settledAt - t0} ms after its banner`
          break
        }
        case "pgTerminate": {
          const victim = rng.pick(runners)
          target = victim.name
          const ports = await clientPortsOf(victim.child.pid, db.port)
          t0 = Date.now()
          const rows = await db.query<{ n: number }>(
            `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
             WHERE client_port = ANY($1::int[]) AND application_name LIKE 'poretrack-runner %'`,
            [ports]
          )
          settledAt = Date.now()
          const n = rows[0]?.n ?? 0
          detail = `${n} sessions terminated`
          if (n === 0) harness.push(`pgTerminate #${index}: no session of ${victim.name} found (ports ${ports.join(",")})`)
          break
        }
        case "sigstop": {
          const victim = rng.pick(runners)
          target = victim.name
          const pause = rng.int(pauseMs[0], pauseMs[1])
          t0 = Date.now()
          victim.child.signal("SIGSTOP")
          await delay(pause)
          victim.child.signal("SIGCONT")
          settledAt = Date.now()
          detail = `paused ${pause} ms`
          break
        }
        case "pgRestart": {
          target = "postgres"
          const down = rng.int(downMs[0], downMs[1])
          t0 = Date.now()
          await db.stop()
          const stopped = Date.now()
          // The server stays down a while (a real restart or failover is not instant), then comes back.
          await delay(down)
          const starting = Date.now()
          await db.start()
          settledAt = Date.now()
          detail = `stop ${stopped - t0} ms, down ${down} ms, start ${settledAt - starting} ms`
          break
        }
      }
      const { at: done, unanswered } = await recovered()
      if (slowest.ms > SLOW_MS) detail += `${detail === "" ? "" : "; "}slowest probe ${slowest.ms} ms (${slowest.what})`
      if (unanswered > 0) harness.push(`${kind} #${index} (${target}): ${unanswered} samples did not answer within ${PROBE_DEADLINE_MS} ms`)
      const outcome: FaultOutcome = {
        index,
        kind,
        target,
        atMs: t0 - started,
        recoveryMs: done - t0,
        afterSettledMs: done - settledAt,
        ...(handoverMs !== undefined ? { handoverMs } : {}),
        failedRequests: [...workload.failures, ...probeFailures].filter((at) => at >= t0 && at <= done).length,
        detail
      }
      log(`  fault ${index} ${kind} ${target} at ${outcome.atMs} ms: recovered in ${outcome.recoveryMs} ms (${outcome.afterSettledMs} ms after it was in place), ${outcome.failedRequests} failed requests; ${detail}`)
      if (kind === "kill9" || kind === "sigterm") await replace()
      return outcome
    }

    const plan = options.plan
    const until = plan._tag === "soak" ? started + plan.minutes * 60_000 : Number.POSITIVE_INFINITY
    for (let index = 1; ; index++) {
      const kind = plan._tag === "list" ? plan.faults[index - 1] : Date.now() < until ? rng.pick(plan.kinds) : undefined
      if (kind === undefined) break
      await delay(rng.int(gapMs[0], gapMs[1]))
      outcomes.push(await inject(index, kind))
    }
    faultsDone = true
    log(`  faults done at ${since()} ms; waiting for the workload to finish`)
    await workload.done

    const verdict = await check(query, workload.acked, workload.sampleIds)
    const fencingFailures = children.reduce((n, c) => n + (c.child.output().match(/version fence failed/g)?.length ?? 0), 0)
    const violations = [...verdict.violations, ...workload.violations, ...harness]
    const dir = options.logDir ?? (violations.length > 0 ? await mkdtemp(join(tmpdir(), `poretrack-faults-${seed}-`)) : undefined)
    if (dir !== undefined) {
      await mkdir(dir, { recursive: true })
      for (const c of children) await writeFile(join(dir, `${c.name}.log`), c.child.output())
      log(`  process logs in ${dir}`)
    }
    return {
      seed,
      faults: outcomes,
      verdict,
      violations,
      fencingFailures,
      durationMs: since(),
      samples: workload.sampleIds.length,
      commands: workload.counts.commands,
      resends: workload.counts.resends
    }
  } finally {
    await cleanup()
    running.delete(cleanup)
  }
}

/** The run's report: seed, recovery per fault kind, checker verdict. */
export const report = (result: FaultRunResult): string => {
  const lines = [
    `seed ${result.seed} (FAULT_SEED=${result.seed} replays the plan)`,
    `${result.faults.length} faults in ${(result.durationMs / 1000).toFixed(1)} s; ${result.samples} samples, ${result.commands} commands, ${result.resends} resends`,
    "recovery per fault kind (ms, from the fault's start until every probed sample answered):",
    ...summarize(result.faults).map((s) => `  ${s.kind.padEnd(12)} n=${String(s.n).padEnd(3)} p50 ${String(s.p50).padStart(6)}  p99 ${String(s.p99).padStart(6)}  max ${String(s.max).padStart(6)}  failed requests ${s.failed}${s.handover === undefined ? "" : `; shards handed over p50 ${s.handover.p50} p99 ${s.handover.p99} max ${s.handover.max}`}`),
    `SLA events: ${result.verdict.stats.slaAtRisk} SlaAtRisk, ${result.verdict.stats.slaBreached} SlaBreached; late after threshold p50 ${result.verdict.stats.slaLateMs[0]} ms, p99 ${result.verdict.stats.slaLateMs[1]} ms, max ${result.verdict.stats.slaLateMs[2]} ms`,
    `fencing failures (version fence failed in runner logs): ${result.fencingFailures}`,
    `checker: ${result.verdict.stats.completed}/${result.verdict.stats.samples} samples completed, ${result.verdict.stats.events} events, ${result.verdict.stats.commands} stored commands`,
    result.violations.length === 0 ? "verdict: OK, no violations" : `verdict: ${result.violations.length} VIOLATIONS\n${result.violations.map((v) => `  - ${v}`).join("\n")}`
  ]
  return lines.join("\n")
}
