/**
 * Templates: safe rendering (HTML escaping, no code, unknown names empty), validation at save time, versions, and
 * every shipped template filled from events the real sample state machine emits.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { CompleteStep, Hold, Receive, StartStep } from "../../rpc/Commands.ts"
import { EventId, SampleId, SubmissionId } from "../../rpc/Ids.ts"
import { STEP_IDS, type EventType, type SampleState, type StepData, type StepId } from "../../rpc/Workflow.ts"
import { create, decide, SlaCheck, type WorkflowCommand } from "../SampleWorkflow.ts"
import { defaultPolicy } from "../WorkflowPolicy.ts"
import {
  DEFAULT_TEMPLATES,
  escapeHtml,
  NotificationTemplate,
  preview,
  renderEmail,
  renderInApp,
  saveTemplate,
  TemplateInvalid,
  templateFor,
  variablesFor,
  type EmailTemplate,
  type EmailTemplateDraft,
  type RenderOptions,
  type SampleEventContext,
  type TemplateEvent
} from "./Templates.ts"
import { DEFAULT_TRIGGERS, triggerKey, triggerMatches } from "./Trigger.ts"

// ---------------------------------------------------------------------------------------------------------------
// Builders: events come from the real state machine, so templates see the fields the log really holds.

const OPTIONS: RenderOptions = { appUrl: "https://poretrack.example.org/", facilityName: "HTSF Nanopore Core" }
const T0 = Date.UTC(2025, 0, 6, 9)
const MINUTE = 60_000

const newState = (sampleName = "ecoli_K12-01"): SampleState =>
  create({
    id: Schema.decodeSync(SampleId)(crypto.randomUUID()),
    submissionId: Schema.decodeSync(SubmissionId)(crypto.randomUUID()),
    position: 3,
    sampleName,
    submitterEmail: "ada@lab.example.org",
    priority: "high",
    flowCellType: "R10.4.1",
    details: { sampleType: "gDNA", libraryKit: "SQK-LSK114" }
  }, T0).state

const GOOD: Record<StepId, StepData> = {
  sample_qc: { step: "sample_qc", data: { qubitNgUl: 50, volumeUl: 30, a260_280: 1.9, a260_230: 2.1 } },
  library_prep: { step: "library_prep", data: { kit: "SQK-LSK114", inputNg: 1000 } },
  library_qc: { step: "library_qc", data: { libraryNgUl: 12, fmol: 50, meanFragmentLengthBp: 8000 } },
  sequencing_setup: {
    step: "sequencing_setup",
    data: { flowCellId: "PAW12345", flowCellProductCode: "FLO-MIN114", poreCount: 1500, device: "GridION", position: "X1" }
  },
  sequencing_run: { step: "sequencing_run", data: { runId: "run-01", yieldGb: 12.5, reads: 2_000_000, n50: 15_000 } },
  basecalling: { step: "basecalling", data: { model: "hac", passReadPercent: 92 } },
  quality_assessment: { step: "quality_assessment", data: { meanQ: 18, passed: true } },
  data_delivery: {
    step: "data_delivery",
    data: { method: "s3", location: "s3://facility-delivery/run-01", retentionDays: 30 }
  }
}

interface Walk {
  state: SampleState
  now: number
  readonly events: Array<{ readonly event: TemplateEvent; readonly state: SampleState }>
}

/** Applies commands to a sample, keeping every event it emits as a log event (with id, time and actor). */
const walk = (state: SampleState) => {
  const w: Walk = { state, now: T0, events: [] }
  const apply = (command: WorkflowCommand, advanceMs = MINUTE) => {
    w.now += advanceMs
    const t = decide(w.state, command, { now: w.now, policy: defaultPolicy })
    if (Either.isLeft(t)) throw new Error(`refused: ${t.left.message}`)
    w.state = t.right.state
    for (const e of t.right.events) {
      w.events.push({
        state: w.state,
        event: {
          id: Schema.decodeSync(EventId)(crypto.randomUUID()),
          type: e.type,
          at: new Date(w.now).toISOString(),
          actor: "user:tech@facility.example.org",
          data: e.data
        }
      })
    }
    return api
  }
  const api = { apply, w }
  return api
}

/** One sample event of each kind the shipped templates are for, as the state machine writes them. */
const sampleEvents = (sampleName = "ecoli_K12-01"): Array<SampleEventContext> => {
  const happy = walk(newState(sampleName)).apply(new Receive())
  happy.apply(new SlaCheck(), 50 * MINUTE) // step clock of sample QC (1 h): at risk at 48 min
  happy.apply(new SlaCheck(), 30 * MINUTE) // and breached at 60 min
  for (const step of STEP_IDS) happy.apply(new StartStep({ step })).apply(new CompleteStep({ record: GOOD[step] }))
  const failing = walk(newState(sampleName)).apply(new Receive())
  failing.apply(new CompleteStep({ record: { step: "sample_qc", data: { qubitNgUl: 1, volumeUl: 30 } } }))
  const held = walk(newState(sampleName)).apply(new Hold({ reason: "waiting for <b>buffer</b> details" }))
  const exportDone: SampleEventContext = {
    event: {
      id: Schema.decodeSync(EventId)(crypto.randomUUID()),
      type: "ExportCompleted",
      at: new Date(T0).toISOString(),
      actor: "user:manager@facility.example.org",
      data: { exportId: "exp-42", format: "xlsx", rowsDone: 96, downloadUrl: "https://poretrack.example.org/exports/exp-42/download" }
    }
  }
  const exportFailed: SampleEventContext = {
    event: {
      id: Schema.decodeSync(EventId)(crypto.randomUUID()),
      type: "ExportFailed",
      at: new Date(T0).toISOString(),
      actor: "user:manager@facility.example.org",
      data: { exportId: "exp-43", format: "minknow", rowsDone: 0, reason: "MinknowSheetRefused: barcode01 on rows 2 and 5" }
    }
  }
  return [...happy.w.events, ...failing.w.events, ...held.w.events]
    .map(({ event, state }): SampleEventContext => ({ event, sample: state }))
    .concat([exportDone, exportFailed])
}

const eventOf = (all: ReadonlyArray<SampleEventContext>, type: EventType, step?: StepId) => {
  const found = all.find((c) => triggerMatches(step === undefined ? { eventType: type } : { eventType: type, step }, c.event))
  if (found === undefined) throw new Error(`no ${type} event in the walk`)
  return found
}

const draft = (overrides: Partial<EmailTemplateDraft> = {}): EmailTemplateDraft => ({
  channel: "email",
  trigger: DEFAULT_TRIGGERS.qc_failed,
  subject: "QC failed for {{sample.name}}",
  html: "<p>{{sample.name}}: {{reasons}}</p>",
  text: "{{sample.name}}: {{reasons}}",
  ...overrides
})

const asEmail = (t: NotificationTemplate): EmailTemplate => {
  if (t.channel !== "email") throw new Error("not an e-mail template")
  return t
}

// ---------------------------------------------------------------------------------------------------------------

describe("rendering is safe", () => {
  it("keeps markup in a sample name as text in the HTML part, and as it is in the plain-text part", () => {
    const ctx = eventOf(sampleEvents("<script>alert(1)</script>"), "QcFailed")
    const out = renderEmail(draft(), ctx, OPTIONS)
    expect(out.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    expect(out.html).not.toContain("<script>")
    expect(out.text).toContain("<script>alert(1)</script>:")
    expect(out.subject).toBe("QC failed for <script>alert(1)</script>")
  })

  it("escapes quotes so a value cannot leave an attribute", () => {
    const ctx = eventOf(sampleEvents(), "SampleOnHold")
    const out = renderEmail(draft({ trigger: DEFAULT_TRIGGERS.on_hold, html: `<a title="{{reason}}">x</a>` }), ctx, OPTIONS)
    expect(out.html).toBe(`<a title="waiting for &lt;b&gt;buffer&lt;/b&gt; details">x</a>`)
    expect(escapeHtml(`"' onmouseover='x`)).toBe("&quot;&#39; onmouseover=&#39;x")
  })

  it("flattens a value with line breaks to one subject line (no header injection)", () => {
    const ctx = eventOf(sampleEvents(), "SampleOnHold")
    const held = { ...ctx, event: { ...ctx.event, data: { reason: "late\r\nBcc: everyone@example.org" } } }
    const out = renderEmail(draft({ trigger: DEFAULT_TRIGGERS.on_hold, subject: "Hold: {{reason}}" }), held, OPTIONS)
    expect(out.subject).toBe("Hold: late Bcc: everyone@example.org")
  })

  it("runs no code: expressions and non-names stay literal text, prototype names are unknown, so empty", () => {
    const ctx = eventOf(sampleEvents(), "QcFailed")
    const t = draft({ text: `a{{ constructor.constructor("return 1")() }}b{{constructor}}c{{__proto__}}d{{toString}}e` })
    expect(renderEmail(t, ctx, OPTIONS).text).toBe(`a{{ constructor.constructor("return 1")() }}bc{{__proto__}}de`)
  })

  it("renders unknown variables as empty text, and the preview names them", () => {
    const ctx = eventOf(sampleEvents(), "QcFailed")
    const t = draft({ text: "[{{sample.colour}}] {{sample.name}} {{step}}" })
    expect(renderEmail(t, ctx, OPTIONS).text).toBe("[] ecoli_K12-01 sample_qc")
    const p = preview(t, ctx, OPTIONS)
    expect(p.unknownVariables).toEqual(["sample.colour"])
  })
})

describe("saving a template", () => {
  it("refuses unknown variables, naming each with its part", () => {
    const r = saveTemplate(draft({ subject: "{{sample.colour}}", text: "{{reasons}} {{delivery.location}}" }))
    expect(Either.isLeft(r)).toBe(true)
    const e = Either.getLeft(r).pipe((o) => o._tag === "Some" ? o.value : undefined)
    expect(e).toBeInstanceOf(TemplateInvalid)
    expect(e?.trigger).toBe("QcFailed")
    expect(e?.issues).toEqual([
      { part: "subject", variable: "sample.colour", message: "unknown variable 'sample.colour' for QcFailed" },
      { part: "text", variable: "delivery.location", message: "unknown variable 'delivery.location' for QcFailed" }
    ])
    expect(e?.message).toContain("subject: unknown variable 'sample.colour'")
  })

  it("accepts a variable only for the trigger that has it (delivery.* only when data delivery completes)", () => {
    const delivered = draft({ trigger: DEFAULT_TRIGGERS.data_delivered, subject: "x", html: "{{delivery.location}}", text: "{{delivery.method}}" })
    expect(Either.isRight(saveTemplate(delivered))).toBe(true)
    const anyStep = { ...delivered, trigger: { eventType: "WorkflowStepCompleted" as const } }
    expect(Either.isLeft(saveTemplate(anyStep))).toBe(true)
  })

  it("refuses unclosed and non-name placeholders, empty parts (every HTML mail has a text part) and scripts", () => {
    const r = saveTemplate(draft({ subject: "{{sample.name", html: "<script>x()</script>{{ 1 + 1 }}", text: "  " }))
    const issues = Either.isLeft(r) ? r.left.issues : []
    expect(issues.map((i) => i.part).sort()).toEqual(["html", "html", "subject", "text"])
    expect(issues.find((i) => i.part === "text")?.message).toBe("must not be empty")
    expect(issues.find((i) => i.part === "subject")?.message).toContain("never closed")
  })

  it("numbers versions: the first save is 1, each later save of the same template one more", () => {
    const v1 = Either.getOrThrow(saveTemplate(draft()))
    const v2 = Either.getOrThrow(saveTemplate(draft({ subject: "QC: {{sample.name}}" }), v1))
    expect([v1.version, v2.version]).toEqual([1, 2])
    const other = saveTemplate(draft({ trigger: DEFAULT_TRIGGERS.on_hold, html: "x", text: "x" }), v2)
    expect(Either.isLeft(other)).toBe(true)
  })

  it("decodes a saved template from JSON and refuses a version that is not a positive integer", () => {
    const decode = Schema.decodeUnknownEither(Schema.parseJson(NotificationTemplate))
    const shipped = DEFAULT_TEMPLATES[0]!
    expect(decode(JSON.stringify(shipped))).toEqual(Either.right(shipped))
    expect(Either.isLeft(decode(JSON.stringify({ ...shipped, version: 0 })))).toBe(true)
    expect(Either.isLeft(decode(JSON.stringify({ ...shipped, subject: "a\u0000b" })))).toBe(true)
  })
})

describe("the shipped templates", () => {
  const all = sampleEvents()

  it("cover e-mail and in-app for the nine default triggers, and pass their own validation", () => {
    expect(DEFAULT_TEMPLATES).toHaveLength(18)
    for (const t of DEFAULT_TEMPLATES) {
      const { version: _v, ...d } = t
      expect(Either.isRight(saveTemplate(d)), `${t.channel} ${triggerKey(t.trigger)}`).toBe(true)
    }
  })

  it("each renders for a real sample event: every variable filled, no placeholder left, a text part for the HTML", () => {
    for (const t of DEFAULT_TEMPLATES) {
      const { eventType, step } = { step: undefined, ...t.trigger }
      const ctx = eventOf(all, eventType, step)
      const p = preview(t, ctx, OPTIONS)
      expect(p.unknownVariables, triggerKey(t.trigger)).toEqual([])
      expect(p.emptyVariables, triggerKey(t.trigger)).toEqual([])
      const parts = p.channel === "email" ? [p.rendered.subject, p.rendered.html, p.rendered.text] : [p.rendered.title, p.rendered.body]
      for (const part of parts) {
        expect(part).not.toMatch(/\{\{|\}\}/)
        expect(part.trim()).not.toBe("")
      }
    }
  })

  it("say what happened in the facility's words", () => {
    const email = (type: EventType, step?: StepId) => {
      const ctx = eventOf(all, type, step)
      return renderEmail(asEmail(templateFor([], "email", ctx.event)), ctx, OPTIONS)
    }
    const qc = email("QcFailed")
    expect(qc.subject).toBe("QC failed: ecoli_K12-01 at Sample QC")
    expect(qc.text).toContain("Reasons: insufficient DNA: 30 ng total")
    expect(qc.html).toContain(`<a href="https://poretrack.example.org/samples/`)
    const delivered = email("WorkflowStepCompleted", "data_delivery")
    expect(delivered.subject).toBe("Your data for ecoli_K12-01 is ready")
    expect(delivered.text).toContain("Location: s3://facility-delivery/run-01")
    expect(delivered.text).toContain("Retention: 30 days")
    const risk = email("SlaAtRisk")
    expect(risk.subject).toBe("SLA at risk: ecoli_K12-01 (high)")
    expect(risk.text).toMatch(/used 80 % of its (turnaround|Sample QC step) time/)
    const exported = email("ExportCompleted")
    expect(exported.text).toContain("Export exp-42 finished with 96 rows")
    expect(exported.text).not.toContain("/samples/")
    const failedExport = email("ExportFailed")
    expect(failedExport.subject).toBe("Export exp-43 (minknow) failed")
    expect(failedExport.text).toContain("Reason: MinknowSheetRefused: barcode01 on rows 2 and 5")
    expect(failedExport.text).not.toContain("/samples/")
    const inApp = templateFor([], "in_app", eventOf(all, "SampleOnHold").event)
    expect(inApp.channel === "in_app" && renderInApp(inApp, eventOf(all, "SampleOnHold"), OPTIONS).body)
      .toBe("On hold: waiting for <b>buffer</b> details")
  })
})

describe("choosing a template", () => {
  const all = sampleEvents()

  it("prefers the step-specific trigger, then a saved template over the default, then the latest version", () => {
    const delivered = eventOf(all, "WorkflowStepCompleted", "data_delivery").event
    const anyStep = Either.getOrThrow(saveTemplate(draft({ trigger: { eventType: "WorkflowStepCompleted" }, subject: "step {{step}}", html: "x", text: "x" })))
    expect(asEmail(templateFor([anyStep], "email", delivered)).subject).toBe("Your data for {{sample.name}} is ready")
    const mine1 = Either.getOrThrow(saveTemplate(draft({ trigger: DEFAULT_TRIGGERS.data_delivered, subject: "v1", html: "x", text: "x" })))
    const mine2 = Either.getOrThrow(saveTemplate(draft({ trigger: DEFAULT_TRIGGERS.data_delivered, subject: "v2", html: "x", text: "x" }), mine1))
    expect(asEmail(templateFor([mine2, anyStep, mine1], "email", delivered)).subject).toBe("v2")
    const otherStep = eventOf(all, "WorkflowStepCompleted", "library_qc").event
    expect(asEmail(templateFor([anyStep], "email", otherStep)).subject).toBe("step {{step}}")
  })

  it("falls back to a generic template that still renders for an event type without one", () => {
    const started = eventOf(all, "WorkflowStepStarted")
    const t = asEmail(templateFor([], "email", started.event))
    expect(renderEmail(t, started, OPTIONS).subject).toBe("ecoli_K12-01: WorkflowStepStarted")
  })

  it("lists the variables an editor may use for a trigger, each described", () => {
    const names = variablesFor(DEFAULT_TRIGGERS.sla_breached).map((v) => v.name)
    expect(names).toEqual(expect.arrayContaining(["sample.name", "event.type", "step", "deadline", "dueAt"]))
    expect(names).not.toContain("reasons")
    expect(variablesFor(DEFAULT_TRIGGERS.sla_breached).every((v) => v.description.length > 0)).toBe(true)
  })
})
