/**
 * Rules: who an event reaches under the shipped rules, that nobody is reached twice for one event, that submitters
 * hear only of their own samples, and that the de-duplication key is stable across repeated reads of the log.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { UserId, type Role } from "../../rpc/Auth.ts"
import { EventId } from "../../rpc/Ids.ts"
import type { EventType, SampleEvent } from "../../rpc/Workflow.ts"
import {
  DEFAULT_RULES,
  needsSample,
  NotificationRule,
  resolveRecipients,
  RuleId,
  type Directory,
  type NotifyUser,
  type RuleSample,
  type WebhookEndpointRef
} from "./Rules.ts"

const userId = () => Schema.decodeSync(UserId)(crypto.randomUUID())
const user = (email: string, role: Role, disabled = false): NotifyUser => ({ id: userId(), email, role, disabled })
const event = (type: EventType, data: unknown = {}): Pick<SampleEvent, "id" | "type" | "data"> => ({
  id: Schema.decodeSync(EventId)(crypto.randomUUID()),
  type,
  data
})

const ada = user("Ada@Lab.example.org", "submitter")
const bob = user("bob@otherlab.example.org", "submitter")
const tess = user("tess@facility.example.org", "technician")
const mona = user("mona@facility.example.org", "manager")
const max = user("max@facility.example.org", "manager", true)
const root = user("root@facility.example.org", "admin")
const hook: WebhookEndpointRef = { id: "wh-1", url: "https://lims.example.org/hooks", events: ["QcFailed", "SampleReceived"], enabled: true }
const offHook: WebhookEndpointRef = { id: "wh-2", url: "https://old.example.org/hooks", events: ["QcFailed"], enabled: false }
const directory: Directory = { users: [ada, bob, tess, mona, max, root], endpoints: [hook, offHook] }
const sample: RuleSample = { submitterEmail: "ada@lab.example.org", assignees: [tess.id, mona.id] }

const who = (deliveries: ReturnType<typeof resolveRecipients>) =>
  deliveries.map((d) => `${d.ruleId} ${d.recipient._tag === "Email" ? `email:${d.recipient.address}` : d.recipient._tag === "InApp" ? `in_app:${d.recipient.userId}` : `webhook:${d.recipient.endpointId}`}`)

describe("default rules", () => {
  it("tell the submitter their sample was received, by e-mail and in the app, and subscribed webhooks", () => {
    expect(who(resolveRecipients(DEFAULT_RULES, event("SampleReceived", { step: "sample_qc" }), sample, directory))).toEqual([
      "received email:ada@lab.example.org",
      `received in_app:${ada.id}`,
      "webhooks webhook:wh-1"
    ])
  })

  it("reach submitter, assignees and managers on a QC failure, each person once", () => {
    expect(who(resolveRecipients(DEFAULT_RULES, event("QcFailed", { step: "library_qc" }), sample, directory))).toEqual([
      "qc-failed email:ada@lab.example.org",
      `qc-failed in_app:${ada.id}`,
      "qc-failed email:tess@facility.example.org",
      `qc-failed in_app:${tess.id}`,
      "qc-failed email:mona@facility.example.org",
      `qc-failed in_app:${mona.id}`,
      "webhooks webhook:wh-1"
    ])
  })

  it("keep SLA warnings inside the facility", () => {
    const out = who(resolveRecipients(DEFAULT_RULES, event("SlaBreached", { scope: "turnaround" }), sample, directory))
    expect(out.some((r) => r.includes("ada@"))).toBe(false)
    expect(out).toContain("sla-breached email:tess@facility.example.org")
  })

  it("send data delivery only on the data delivery step, not on other completed steps", () => {
    const delivered = resolveRecipients(DEFAULT_RULES, event("WorkflowStepCompleted", { step: "data_delivery" }), sample, directory)
    expect(who(delivered)).toEqual(["data-delivered email:ada@lab.example.org", `data-delivered in_app:${ada.id}`])
    expect(resolveRecipients(DEFAULT_RULES, event("WorkflowStepCompleted", { step: "library_qc" }), sample, directory)).toEqual([])
  })

  it("tell an export's requester and its recipients that it is ready, without any sample", () => {
    const done = event("ExportCompleted", { requestedBy: "mona@facility.example.org", recipients: ["billing@uni.example.org", "not an address"] })
    expect(who(resolveRecipients(DEFAULT_RULES, done, undefined, directory))).toEqual([
      "export-ready email:mona@facility.example.org",
      `export-ready in_app:${mona.id}`,
      "export-ready email:billing@uni.example.org"
    ])
  })

  it("tell only an export's requester that it failed", () => {
    const failed = event("ExportFailed", { requestedBy: "mona@facility.example.org", reason: "the sheet was refused" })
    expect(who(resolveRecipients(DEFAULT_RULES, failed, undefined, directory))).toEqual([
      "export-failed email:mona@facility.example.org",
      `export-failed in_app:${mona.id}`
    ])
  })

  it("never notify about the notification events themselves", () => {
    const everything = NotificationRule.make({
      id: RuleId.make("all"),
      name: "all",
      on: [{ eventType: "NotificationDelivered" }],
      to: [{ _tag: "Managers" }],
      channels: ["email"],
      enabled: true
    })
    expect(resolveRecipients([everything], event("NotificationDelivered"), sample, directory)).toEqual([])
  })
})

describe("who may be reached", () => {
  it("reaches a submitter only for their own sample, even when listed as an assignee", () => {
    const out = who(resolveRecipients(DEFAULT_RULES, event("QcFailed"), { ...sample, assignees: [bob.id] }, directory))
    expect(out.some((r) => r.includes("bob@") || r.includes(bob.id))).toBe(false)
  })

  it("skips disabled accounts, disabled rules and disabled endpoints", () => {
    const out = who(resolveRecipients(DEFAULT_RULES, event("QcFailed"), sample, directory))
    expect(out.some((r) => r.includes("max@") || r.includes("wh-2"))).toBe(false)
    const off = DEFAULT_RULES.map((r) => ({ ...r, enabled: false }))
    expect(resolveRecipients(off, event("QcFailed"), sample, directory)).toEqual([])
    const leftLab = { ...directory, users: [user("ada@lab.example.org", "submitter", true), tess] }
    expect(who(resolveRecipients(DEFAULT_RULES, event("SampleReceived"), sample, leftLab))).toEqual(["webhooks webhook:wh-1"])
  })

  it("e-mails a submitter without an account, with no in-app notification", () => {
    const out = who(resolveRecipients(DEFAULT_RULES, event("SampleReceived"), { submitterEmail: "new@lab.example.org", assignees: [] }, directory))
    expect(out).toEqual(["received email:new@lab.example.org", "webhooks webhook:wh-1"])
  })

  it("reaches fixed addresses by e-mail and a named endpoint whatever it subscribed to", () => {
    const rule = Schema.decodeUnknownSync(NotificationRule)({
      id: "billing",
      name: "Billing hears of cancellations",
      on: [{ eventType: "SampleCancelled" }],
      to: [{ _tag: "Address", email: "Billing@Uni.example.org" }, { _tag: "Webhook", endpointId: "wh-1" }],
      channels: ["email"],
      enabled: true
    })
    expect(who(resolveRecipients([rule], event("SampleCancelled"), sample, directory))).toEqual([
      "billing email:billing@uni.example.org",
      "billing webhook:wh-1"
    ])
  })

  it("refuses a rule that reaches nobody or has a bad id or address", () => {
    const decode = Schema.decodeUnknownEither(NotificationRule)
    const base = { id: "x", name: "x", on: [{ eventType: "QcFailed" }], to: [{ _tag: "Managers" }], channels: ["email"], enabled: true }
    expect(Either.isRight(decode(base))).toBe(true)
    expect(Either.isLeft(decode({ ...base, to: [] }))).toBe(true)
    expect(Either.isLeft(decode({ ...base, id: "Has Spaces" }))).toBe(true)
    expect(Either.isLeft(decode({ ...base, to: [{ _tag: "Address", email: "nobody" }] }))).toBe(true)
    expect(Either.isLeft(decode({ ...base, on: [{ eventType: "SampleExploded" }] }))).toBe(true)
  })
})

describe("de-duplication keys", () => {
  it("are (event id, rule id, recipient): the same for a repeated read of the event, distinct per recipient", () => {
    const e = event("QcFailed")
    const first = resolveRecipients(DEFAULT_RULES, e, sample, directory).map((d) => d.key)
    const again = resolveRecipients(DEFAULT_RULES, e, sample, directory).map((d) => d.key)
    expect(again).toEqual(first)
    expect(new Set(first).size).toBe(first.length)
    expect(first[0]).toBe(`${e.id}/qc-failed/email:ada@lab.example.org`)
    const other = resolveRecipients(DEFAULT_RULES, event("QcFailed"), sample, directory).map((d) => d.key)
    expect(other.some((k) => first.includes(k))).toBe(false)
  })

  it("treat one mailbox written in different cases as one recipient", () => {
    const rule = Schema.decodeUnknownSync(NotificationRule)({
      id: "twice",
      name: "twice",
      on: [{ eventType: "SampleReceived" }],
      to: [{ _tag: "Submitter" }, { _tag: "Address", email: "ADA@lab.example.org" }],
      channels: ["email"],
      enabled: true
    })
    expect(who(resolveRecipients([rule], event("SampleReceived"), sample, directory))).toEqual(["twice email:ada@lab.example.org"])
  })
})

describe("needsSample", () => {
  it("looks the sample up only for events a rule sends to the sample's own people", () => {
    expect(needsSample(DEFAULT_RULES, event("SampleReceived"))).toBe(true)
    expect(needsSample(DEFAULT_RULES, event("QcFailed", { step: "sample_qc" }))).toBe(true)
    expect(needsSample(DEFAULT_RULES, event("SlaAtRisk"))).toBe(true)
    // A step started or completed mid-way reaches nobody through the sample under the shipped rules.
    expect(needsSample(DEFAULT_RULES, event("WorkflowStepStarted", { step: "library_prep" }))).toBe(false)
    expect(needsSample(DEFAULT_RULES, event("WorkflowStepCompleted", { step: "library_prep" }))).toBe(false)
    expect(needsSample(DEFAULT_RULES, event("NotificationDelivered"))).toBe(false)
    // A disabled rule needs nothing.
    expect(needsSample(DEFAULT_RULES.map((r) => ({ ...r, enabled: false })), event("SampleReceived"))).toBe(false)
  })
})
