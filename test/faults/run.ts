/**
 * `npm run test:faults`: every fault kind, repeated (FAULT_REPEAT, default 2), in a seeded random order.
 * `npm run soak`: random faults at random times for SOAK_MINUTES (default 10).
 * FAULT_KILLS=n: n kill -9s of a random runner, for failover times. FAULT_PLAN=kill9,sigstop,…: exactly these faults.
 * FAULT_RUNNERS (3) and FAULT_SAMPLES (40, the workload's lanes and batch size) size the run; FAULT_LOG_DIR keeps
 * every process's output (written to a temporary folder anyway when there is a violation).
 *
 * FAULT_SEED replays a run's plan. Prints the seed, recovery times per fault kind (p50/p99) and the checker's
 * verdict; exits 1 on a violation.
 */
import { FAULT_KINDS, report, runFaults, stopAllRuns, type FaultKind, type FaultPlan } from "./FaultRun.ts"
import { prng, seedFromEnv } from "./Prng.ts"

const intEnv = (name: string, fallback: number, min: number, max: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in ${min}..${max}, got "${raw}"`)
  return n
}

const main = async () => {
  const soak = process.argv.includes("--soak")
  const seed = seedFromEnv()
  const kills = intEnv("FAULT_KILLS", 0, 0, 500)
  const custom = (process.env.FAULT_PLAN ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "").map((s): FaultKind => {
    const kind = FAULT_KINDS.find((k) => k === s)
    if (kind === undefined) throw new Error(`FAULT_PLAN: unknown fault "${s}" (one of ${FAULT_KINDS.join(", ")})`)
    return kind
  })
  let plan: FaultPlan
  let mode: string
  if (soak) {
    const minutes = intEnv("SOAK_MINUTES", 10, 1, 24 * 60)
    plan = { _tag: "soak", minutes, kinds: FAULT_KINDS }
    mode = `soak for ${minutes} min`
  } else if (custom.length > 0) {
    plan = { _tag: "list", faults: custom }
    mode = "the faults in FAULT_PLAN"
  } else if (kills > 0) {
    plan = { _tag: "list", faults: Array.from({ length: kills }, (): FaultKind => "kill9") }
    mode = `${kills} kill -9s`
  } else {
    const repeat = intEnv("FAULT_REPEAT", 2, 1, 100)
    // The order comes from a stream of its own, so the run's fault targets and gaps still follow `seed` alone.
    plan = { _tag: "list", faults: prng(seed ^ 0x5eed).shuffle(FAULT_KINDS.flatMap((k) => Array.from({ length: repeat }, () => k))) }
    mode = `every fault kind × ${repeat}`
  }
  console.log(`poretrack fault suite: ${mode}, seed ${seed}`)
  if (plan._tag === "list") console.log(`plan: ${plan.faults.join(", ")}`)
  const result = await runFaults({
    seed,
    plan,
    runners: intEnv("FAULT_RUNNERS", 3, 2, 8),
    lanes: intEnv("FAULT_SAMPLES", 40, 1, 500),
    ...(process.env.FAULT_LOG_DIR ? { logDir: process.env.FAULT_LOG_DIR } : {})
  })
  console.log(`\n${report(result)}`)
  process.exitCode = result.violations.length === 0 ? 0 : 1
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every process of the run`)
    void stopAllRuns().finally(() => process.exit(130))
  })
}

main().catch(async (e: unknown) => {
  console.error(e)
  await stopAllRuns()
  process.exit(2)
})
