/** The runner's cluster port is bound to RUNNER_HOST, never to every interface. */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Option } from "effect"
import { shardingConfigOf } from "./Cluster.ts"

const settings = (role: "all" | "runner" | "gateway", runnerHost: string) => ({
  role,
  runnerHost,
  runnerPort: 34431,
  runnerListenHost: Option.none<string>(),
  entityMessagePollInterval: Duration.seconds(1),
  shardLockRefreshInterval: Duration.seconds(2),
  shardLockExpiration: Duration.seconds(6),
  refreshAssignmentsInterval: Duration.millis(500),
  entityMaxIdle: Duration.minutes(1)
})

describe("sharding config", () => {
  it("a runner listens where it is reached (RUNNER_HOST), not on 0.0.0.0", () => {
    for (const host of ["10.1.2.3", "runner-1", "localhost"]) {
      const config = shardingConfigOf(settings("runner", host))
      expect(Option.map(config.runnerListenAddress, (a) => `${a.host}:${a.port}`)).toEqual(Option.some(`${host}:34431`))
      expect(Option.map(config.runnerAddress, (a) => `${a.host}:${a.port}`)).toEqual(Option.some(`${host}:34431`))
    }
  })

  it("RUNNER_LISTEN_HOST, when an operator sets it (a container), is where it listens; others still reach RUNNER_HOST", () => {
    const config = shardingConfigOf({ ...settings("runner", "runner-1"), runnerListenHost: Option.some("0.0.0.0") })
    expect(Option.map(config.runnerListenAddress, (a) => `${a.host}:${a.port}`)).toEqual(Option.some("0.0.0.0:34431"))
    expect(Option.map(config.runnerAddress, (a) => `${a.host}:${a.port}`)).toEqual(Option.some("runner-1:34431"))
  })

  it("a gateway listens nowhere", () => {
    const config = shardingConfigOf(settings("gateway", "10.1.2.3"))
    expect(Option.isNone(config.runnerListenAddress)).toBe(true)
    expect(Option.isNone(config.runnerAddress)).toBe(true)
  })
})
