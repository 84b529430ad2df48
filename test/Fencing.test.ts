/**
 * Dual activation, provoked across processes: runner A is mid-write on a sample (its UPDATE waits on a row lock the
 * test holds) when it is paused and its shard-lock session is terminated with pg_terminate_backend, so it loses its
 * shard locks while it still believes it owns them. Runner B takes the shards over and writes the same sample from the
 * same version. Both writes reach PostgreSQL; the version fence lets exactly one land: the other is refused, logged,
 * counted in poretrack_fencing_failures_total, its entity drops its copy, and the client's retry (same key) is
 * answered from what actually landed. Nothing is applied twice, versions stay gap-free.
 */
import pg from "pg"
import { afterAll, describe, expect, it } from "vitest"
import { clusterEnv, startChild, type Child } from "./ChildSystem.ts"
import { command, metricSum, post } from "./Client.ts"
import { freePort } from "./freePort.ts"
import { startPostgres, type FaultPostgres } from "./faults/Postgres.ts"
import { query } from "./TestDatabase.ts"

const SHARD_LOCKS = "l.locktype = 'advisory' AND l.granted AND l.objid BETWEEN 1000001 AND 1000300"

/** Polls `check` (a database or metrics read, not a sleep) every 50 ms until it holds; throws after `ms`. */
const until = async (what: string, ms: number, check: () => Promise<boolean>) => {
  const t = Date.now()
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  console.log(`${what}: ${Date.now() - t} ms`)
}

describe("fencing across processes", () => {
  const children: Array<Child> = []
  let server: FaultPostgres | undefined
  afterAll(async () => {
    for (const c of children) {
      c.signal("SIGCONT")
      await c.kill9().catch(() => undefined)
    }
    await server?.dispose()
  })

  it("a runner that lost its shard locks mid-write and the new owner: one write lands, the other is fenced", async () => {
    // Its own PostgreSQL server: the test holds a row lock in an open transaction for many seconds, and an open
    // transaction holds back the event log's read horizon of every database on its server (persistence/EventLog.ts),
    // which would stall the live feeds of the test files running beside this one.
    server = await startPostgres()
    const databaseUrl = server.url
    const common = clusterEnv(databaseUrl)
    const ports = [await freePort(), await freePort()]
    const runners: Array<Child> = []
    for (const port of ports) {
      const runner = await startChild({ ...common, RUNNER_PORT: String(port) }, await freePort(), 90_000, "runner")
      children.push(runner)
      runners.push(runner)
    }
    const gateway = await startChild(common, await freePort(), 90_000, "gateway")
    children.push(gateway)
    const base = gateway.baseUrl
    const deadline = Date.now() + 120_000

    const created = await post(base, "/api/v1/submissions", {
      submitterEmail: "ada@lab.example",
      samples: [{ sampleName: "contested", libraryKit: "SQK-LSK114" }]
    })
    expect(created.status).toBe(201)
    const id = (created.body.samples as Array<{ id: string }>)[0]!.id
    const received = await command(base, id, "/receive", {}, `rcv-${id}`, deadline)

    // A is the runner that owns the sample: the one that answered the receive.
    const answered = await Promise.all(runners.map((r) => metricSum(r.baseUrl, "poretrack_entity_replies_total", 'outcome="success"')))
    const a = answered[0]! > 0 ? 0 : 1
    const [runnerA, runnerB] = [runners[a]!, runners[1 - a]!]
    const appA = `poretrack-runner 127.0.0.1:${ports[a]}`
    const appB = `poretrack-runner 127.0.0.1:${ports[1 - a]}`

    const locker = new pg.Client({ connectionString: databaseUrl })
    await locker.connect()
    let first: ReturnType<typeof command> | undefined
    let second: ReturnType<typeof command> | undefined
    let heldByA = 0
    try {
      // 1. A starts a write that cannot finish yet: the test holds the sample's row lock.
      await locker.query("BEGIN")
      await locker.query("SELECT 1 FROM samples WHERE id = $1 FOR UPDATE", [id])
      // A runner's transition commit (SampleRepo's one statement) waiting on a lock. Only that statement, from that
      // runner, counts: counting any two lock waiters in the database once let another wait (B's cluster storage
      // meeting rows of A's queued statement is one candidate) release the row before B's write was queued, and B
      // then loaded A's landed write and was never fenced.
      const commitWaits = async (app: string) =>
        (await query<{ n: number }>(
          databaseUrl,
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
           AND application_name = $1 AND query LIKE '%UPDATE samples s SET%'`,
          [app]
        ))[0]!.n >= 1
      const qcData = { expectedStep: "sample_qc", data: { qubitNgUl: 60, volumeUl: 30 } }
      first = command(base, id, "/workflow/advance", qcData, `qc-${id}`, deadline)
      await until("A's write waits on the row lock", 20_000, () => commitWaits(appA))

      // 2. A is paused, and its shard-lock session terminated: its advisory locks are gone while it still holds its
      //    copy of the sample and its write is queued in PostgreSQL. Every entity A has activated so far (the
      //    contested sample's among them) is counted first: those are the copies A must give up.
      heldByA = await metricSum(runnerA.baseUrl, "poretrack_entity_activations_total")
      expect(heldByA).toBeGreaterThanOrEqual(1)
      runnerA.signal("SIGSTOP")
      const terminated = await query<{ n: number }>(
        databaseUrl,
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid))::int AS n FROM pg_stat_activity a
         WHERE a.application_name = $1 AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND ${SHARD_LOCKS})`,
        [appA]
      )
      expect(terminated[0]!.n).toBe(1)

      // 3. A's heartbeat lapses; B takes every shard over, the sample's included.
      // (A liveness bound: A's heartbeat must lapse (4 s) and B's pings to the frozen A time out before the shards are
      // reassigned; on a loaded two-core machine that has taken over 27 s.)
      await until("B holds every shard lock", 60_000, async () =>
        (await query<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM pg_locks l WHERE ${SHARD_LOCKS}`))[0]!.n === 300)

      // 4. B writes the same sample from the same version: a priority change, accepted in any state after receipt.
      second = command(base, id, "/priority", { priority: "high" }, `prio-${id}`, deadline)
      await until("B's write waits behind A's", 20_000, () => commitWaits(appB))
    } finally {
      // 5. The row lock goes: A's write (first in the queue) lands, B's finds the version moved on.
      await locker.query("ROLLBACK").catch(() => undefined)
      await locker.end()
    }
    await until("B counts a fencing failure", 20_000, async () => (await metricSum(runnerB.baseUrl, "poretrack_fencing_failures_total")) >= 1)
    expect(runnerB.output()).toMatch(/version fence failed: another owner wrote this sample/)
    runnerA.signal("SIGCONT")

    // A, resumed, finds its shard locks gone at its next lock refresh and stops every entity it held: the stale copy of
    // the sample is dropped. (Not "A hosts no entity": once A heartbeats again the cluster rebalances, A may own the
    // sample's shard again and legitimately activate a fresh copy loaded from the row. Nor the cluster's entity gauge,
    // which is sampled once a second.)
    await until("A stopped every entity it held before the pause", 30_000, async () =>
      (await metricSum(runnerA.baseUrl, "poretrack_entity_stops_total")) >= heldByA)

    // Both clients are answered (the fenced one after its retry with the same key), each command applied once.
    const t = Date.now()
    const [qc, prio] = await Promise.all([first!, second!])
    console.log(`both answered ${Date.now() - t} ms after the fence; HTTP statuses seen: advance ${qc.statuses.join(",")}, priority ${prio.statuses.join(",")}`)
    const acked = [received.acked, qc.acked, prio.acked]
    const commands = await query<{ key: string; version: number }>(databaseUrl, "SELECT key, version FROM sample_commands WHERE sample_id = $1 ORDER BY version", [id])
    expect(commands.map((c) => c.key).sort()).toEqual(acked.map((c) => c.key).sort())
    for (const c of acked) expect(commands.find((s) => s.key === c.key)?.version).toBe(c.version)
    const events = await query<{ version: number; type: string }>(databaseUrl, "SELECT version, type FROM sample_events WHERE sample_id = $1 AND type <> 'NotificationTriggered' ORDER BY seq", [id])
    const versions = [...new Set(events.map((e) => e.version))]
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1))
    expect(events.filter((e) => e.type === "WorkflowStepCompleted")).toHaveLength(1)
    expect(events.filter((e) => e.type === "PriorityChanged")).toHaveLength(1)
    const [row] = await query<{ version: number; priority: string }>(databaseUrl, "SELECT version, priority FROM samples WHERE id = $1", [id])
    expect(row).toEqual({ version: versions.at(-1), priority: "high" })
    // A's write was first in PostgreSQL's queue, so it is the one that landed; B's entity reloaded and then applied
    // the priority change on top of it.
    expect(qc.acked.version).toBeLessThan(prio.acked.version)
  }, 240_000)
})
