/**
 * What the live feed re-reads when events arrive: a change re-reads its sample, its submission and the lists; the
 * notifier's NotificationTriggered re-reads only its sample's page (its audit trail), so a burst of notifications does
 * not re-read every open list, queue and the dashboard; an export's events re-read the exports list and that job only.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import type { SampleEvent } from "../../rpc/Workflow.ts"
import { keysOf, makeThrottle, THROTTLE_MS } from "./live.ts"

const event = (type: SampleEvent["type"], sampleId: string, submissionId: string): SampleEvent =>
  ({ id: `e-${type}-${sampleId}`, seq: 1, sampleId, submissionId, type, version: 2, actor: "notifier", at: "2026-11-30T08:00:00.000Z", data: {} }) as unknown as SampleEvent

describe("live feed keys", () => {
  it("a notification alone re-reads only its sample's page", () => {
    expect(keysOf([event("NotificationTriggered", "s1", "sub1")])).toEqual(["sample:s1"])
  })

  it("a change re-reads its sample, its submission and the lists; notifications in the same batch add their samples", () => {
    expect(new Set(keysOf([event("SampleReceived", "s1", "sub1"), event("NotificationTriggered", "s2", "sub2")]))).toEqual(
      new Set(["sample:s1", "submission:sub1", "samples", "queues", "dashboard", "submissions", "sample:s2"])
    )
  })

  it("an export's events (no sample) re-read the exports list and that job, no sample, list or dashboard", () => {
    const nil = "00000000-0000-0000-0000-000000000000"
    const done = { ...event("ExportCompleted", nil, nil), data: { exportId: "x1", format: "csv" } } as SampleEvent
    expect(new Set(keysOf([done, event("ExportRequested", nil, nil)]))).toEqual(new Set(["exports", "export:x1"]))
  })
})

/**
 * The dashboard's re-reads (the only throttled key): a change after a quiet second shows at once; a burst costs one
 * re-read at once and one at the end of the second, however many events it holds; so no change waits more than a
 * second for its re-read.
 */
describe("dashboard re-read throttle", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 30, 8) })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("a change after a quiet second re-reads at once", () => {
    const throttle = makeThrottle(THROTTLE_MS)
    const runs: Array<number> = []
    throttle("dashboard", () => runs.push(Date.now()))
    expect(runs).toHaveLength(1)
    vi.advanceTimersByTime(THROTTLE_MS)
    throttle("dashboard", () => runs.push(Date.now()))
    expect(runs).toHaveLength(2)
    expect(runs[1]! - runs[0]!).toBe(THROTTLE_MS)
  })

  it("a burst within the second is one re-read at its end, which opens the next window", () => {
    const throttle = makeThrottle(THROTTLE_MS)
    const start = Date.now()
    const runs: Array<number> = []
    const run = () => runs.push(Date.now() - start)
    throttle("dashboard", run)
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(15)
      throttle("dashboard", run)
    }
    expect(runs).toEqual([0])
    vi.advanceTimersByTime(THROTTLE_MS)
    // One folded re-read, exactly at the end of the first window: the longest any of the 50 changes waited.
    expect(runs).toEqual([0, THROTTLE_MS])
    // A change just after it falls into the window that re-read opened.
    vi.advanceTimersByTime(10)
    throttle("dashboard", run)
    expect(runs).toEqual([0, THROTTLE_MS])
    vi.advanceTimersByTime(THROTTLE_MS)
    expect(runs).toEqual([0, THROTTLE_MS, 2 * THROTTLE_MS])
  })

  it("keys are throttled apart", () => {
    const throttle = makeThrottle(THROTTLE_MS)
    const runs: Array<string> = []
    throttle("dashboard", () => runs.push("dashboard"))
    throttle("other", () => runs.push("other"))
    throttle("dashboard", () => runs.push("dashboard again"))
    expect(runs).toEqual(["dashboard", "other"])
    vi.advanceTimersByTime(THROTTLE_MS)
    expect(runs).toEqual(["dashboard", "other", "dashboard again"])
  })
})
