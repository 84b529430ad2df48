/**
 * What the live feed re-reads when events arrive: a change re-reads its sample, its submission and the lists; the
 * notifier's NotificationTriggered re-reads only its sample's page (its audit trail), so a burst of notifications does
 * not re-read every open list, queue and the dashboard; an export's events re-read the exports list and that job only.
 */
import { describe, expect, it } from "vitest"
import type { SampleEvent } from "../../rpc/Workflow.ts"
import { keysOf } from "./live.ts"

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
