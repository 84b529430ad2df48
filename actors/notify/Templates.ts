/**
 * Notification templates: one per trigger and channel (e-mail: subject, HTML and plain-text parts; in-app: title and
 * body; webhooks send JSON and have none), versioned, with `{{variable}}` placeholders filled from the event and the
 * sample. The renderer only substitutes known names: no expressions, no code, no prototype lookups. Values are
 * HTML-escaped in HTML parts and flattened to one line in subjects. Unknown names are refused when a template is saved
 * and render as empty text. Pure: no Effect services.
 */
import { Either, Schema } from "effect"
import type { SampleEvent, SampleView } from "../../rpc/Workflow.ts"
import { STEP_NAMES, STEP_IDS, type StepId } from "../../rpc/Workflow.ts"
import { SafeText } from "../../rpc/SafeText.ts"
import { DEFAULT_TRIGGERS, Trigger, triggerKey, triggerMatches, stepOf, type DefaultTriggerName } from "./Trigger.ts"

// ---------------------------------------------------------------------------------------------------------------
// Records

/** The channels with a template. */
export const TemplateChannel = Schema.Literal("email", "in_app")
export type TemplateChannel = typeof TemplateChannel.Type

const Part = (max: number) => SafeText.pipe(Schema.maxLength(max))

/** An e-mail template as edited, before it has a version. */
export const EmailTemplateDraft = Schema.Struct({
  channel: Schema.Literal("email"),
  trigger: Trigger,
  subject: Part(500),
  html: Part(100_000),
  text: Part(100_000)
})
export type EmailTemplateDraft = typeof EmailTemplateDraft.Type

/** An in-app template as edited, before it has a version. */
export const InAppTemplateDraft = Schema.Struct({
  channel: Schema.Literal("in_app"),
  trigger: Trigger,
  title: Part(200),
  body: Part(2_000)
})
export type InAppTemplateDraft = typeof InAppTemplateDraft.Type

export const TemplateDraft = Schema.Union(EmailTemplateDraft, InAppTemplateDraft)
export type TemplateDraft = typeof TemplateDraft.Type

const Version = Schema.Number.pipe(Schema.int(), Schema.positive())

/** A saved e-mail template: every save of the same trigger and channel is a new version (1, 2, …). */
export const EmailTemplate = Schema.Struct({ ...EmailTemplateDraft.fields, version: Version })
export type EmailTemplate = typeof EmailTemplate.Type

/** A saved in-app template. */
export const InAppTemplate = Schema.Struct({ ...InAppTemplateDraft.fields, version: Version })
export type InAppTemplate = typeof InAppTemplate.Type

/** A saved template of either channel; `channel` tells which. */
export const NotificationTemplate = Schema.Union(EmailTemplate, InAppTemplate)
export type NotificationTemplate = typeof NotificationTemplate.Type

/** One fault of a template: the part, what is wrong, and the placeholder when one is at fault. */
export const TemplateIssue = Schema.Struct({
  part: Schema.String,
  message: Schema.String,
  variable: Schema.optional(Schema.String)
})
export type TemplateIssue = typeof TemplateIssue.Type

/** 422: a template cannot be saved; every fault is listed with its part (unknown variables by name). */
export class TemplateInvalid extends Schema.TaggedError<TemplateInvalid>()("TemplateInvalid", {
  trigger: Schema.String,
  channel: TemplateChannel,
  issues: Schema.Array(TemplateIssue)
}) {
  override get message(): string {
    return `${this.channel} template for ${this.trigger}: ` +
      this.issues.map((i) => `${i.part}: ${i.message}`).join("; ")
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What a template is filled from

/** The sample fields templates may show (a SampleView or a SampleState both fit). */
export type TemplateSample = Pick<
  SampleView,
  "id" | "submissionId" | "position" | "sampleName" | "submitterEmail" | "priority" | "flowCellType" | "status"
>

/** The event fields templates may show. */
export type TemplateEvent = Pick<SampleEvent, "id" | "type" | "at" | "actor" | "data">

/** An event with the sample it is about (none for events that concern no single sample, such as an export). */
export interface SampleEventContext {
  readonly event: TemplateEvent
  readonly sample?: TemplateSample | undefined
}

/** Settings of the installation that templates may show: the web app's public address and the facility's name. */
export interface RenderOptions {
  /** Public base URL of the web app, e.g. `https://poretrack.example.org`; links in e-mails are built on it. */
  readonly appUrl: string
  readonly facilityName: string
}

type Fill = (ctx: SampleEventContext, options: RenderOptions) => string

/** A variable a template may use: its name, what it shows, and how it is read. */
export interface TemplateVariable {
  readonly name: string
  readonly description: string
  readonly fill: Fill
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A JSON value as text: strings as they are, numbers in full, lists joined by "; ", anything else empty. */
const asText = (v: unknown): string => {
  if (typeof v === "string") return v
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : ""
  if (typeof v === "boolean") return v ? "yes" : "no"
  if (Array.isArray(v)) return v.map(asText).filter((s) => s !== "").join("; ")
  return ""
}

const dataField = (ctx: SampleEventContext, ...path: ReadonlyArray<string>): unknown => {
  let at: unknown = ctx.event.data
  for (const key of path) {
    if (!isRecord(at) || !Object.hasOwn(at, key)) return undefined
    at = at[key]
  }
  return at
}

const isStep = (s: unknown): s is StepId => STEP_IDS.some((id) => id === s)
const stepName = (s: unknown): string => (isStep(s) ? STEP_NAMES[s] : asText(s))

/** An ISO time as `2025-03-04 14:05 UTC`; anything that is not a time stays as it is. */
export const formatTime = (iso: string): string => {
  const ms = Date.parse(iso)
  if (!Number.isFinite(ms)) return iso
  const d = new Date(ms).toISOString()
  return `${d.slice(0, 10)} ${d.slice(11, 16)} UTC`
}

const v = (name: string, description: string, fill: Fill): TemplateVariable => ({ name, description, fill })
const data = (name: string, description: string, ...path: ReadonlyArray<string>) =>
  v(name, description, (ctx) => asText(dataField(ctx, ...path)))
const dataTime = (name: string, description: string, key: string) =>
  v(name, description, (ctx) => {
    const t = asText(dataField(ctx, key))
    return t === "" ? "" : formatTime(t)
  })
const sampleField = (name: string, description: string, read: (s: TemplateSample) => string | number) =>
  v(name, description, (ctx) => (ctx.sample === undefined ? "" : String(read(ctx.sample))))

const COMMON: ReadonlyArray<TemplateVariable> = [
  sampleField("sample.id", "the sample's id", (s) => s.id),
  sampleField("sample.name", "the sample's name", (s) => s.sampleName),
  sampleField("sample.position", "the sample's number within its submission", (s) => s.position),
  sampleField("sample.submissionId", "the id of the sample's submission", (s) => s.submissionId),
  sampleField("sample.submitterEmail", "the submitter's e-mail address", (s) => s.submitterEmail),
  sampleField("sample.priority", "low, normal, high or urgent", (s) => s.priority),
  sampleField("sample.status", "the sample's status when the notification was made", (s) => s.status),
  sampleField("sample.flowCellType", "the requested flow cell type", (s) => s.flowCellType),
  v("sample.url", "link to the sample's page in the web app", (ctx, o) =>
    ctx.sample === undefined ? "" : `${o.appUrl.replace(/\/+$/, "")}/samples/${encodeURIComponent(ctx.sample.id)}`),
  v("event.id", "the event's id", (ctx) => ctx.event.id),
  v("event.type", "the event type, e.g. QcFailed", (ctx) => ctx.event.type),
  v("event.at", "when it happened (UTC)", (ctx) => formatTime(ctx.event.at)),
  v("event.actor", "who caused it (user:… or key:…)", (ctx) => ctx.event.actor),
  v("facility.name", "the facility's name", (_ctx, o) => o.facilityName)
]

const STEP = data("step", "the step's id, e.g. library_qc", "step")
const STEP_NAME = v("stepName", "the step's name, e.g. Library QC", (ctx) => stepName(dataField(ctx, "step")))
const ATTEMPT = data("attempt", "the attempt number of the step", "attempt")
const REASON = data("reason", "the reason given", "reason")
const WARNINGS = data("warnings", "warnings, separated by '; '", "warnings")
const NEXT_STEP = v("nextStepName", "the step queued next (empty after the last)", (ctx) => stepName(dataField(ctx, "nextStep")))
const SLA: ReadonlyArray<TemplateVariable> = [
  STEP,
  STEP_NAME,
  data("scope", "turnaround or step", "scope"),
  v("deadline", "which deadline: 'turnaround' or '<step name> step'", (ctx) =>
    dataField(ctx, "scope") === "step" ? `${stepName(dataField(ctx, "step"))} step` : "turnaround"),
  dataTime("dueAt", "when the deadline is (UTC)", "dueAt"),
  dataTime("thresholdAt", "when the threshold was reached (UTC)", "thresholdAt")
]
const EXPORT: ReadonlyArray<TemplateVariable> = [
  v("export.id", "the export job's id", (ctx) => asText(dataField(ctx, "exportId")) || asText(dataField(ctx, "id"))),
  data("export.format", "csv, xlsx, json, ndjson, xml or minknow", "format"),
  v("export.rows", "rows written", (ctx) => asText(dataField(ctx, "rowsDone")) || asText(dataField(ctx, "rows"))),
  data("export.url", "where to download it", "downloadUrl")
]

/** Variables per event type, besides the common ones. */
const BY_EVENT: Partial<Record<TemplateEvent["type"], ReadonlyArray<TemplateVariable>>> = {
  SampleReceived: [STEP, STEP_NAME],
  WorkflowStepStarted: [STEP, STEP_NAME, ATTEMPT],
  WorkflowStepCompleted: [STEP, STEP_NAME, ATTEMPT, WARNINGS, NEXT_STEP],
  WorkflowStepSkipped: [STEP, STEP_NAME, REASON, NEXT_STEP],
  WorkflowStepFailed: [STEP, STEP_NAME, ATTEMPT, REASON],
  QcFailed: [STEP, STEP_NAME, ATTEMPT, data("reasons", "why the gate failed, separated by '; '", "reasons"), WARNINGS],
  SampleOnHold: [REASON, data("from", "the status it was in", "from")],
  SampleResumed: [REASON, data("to", "the status it returns to", "to")],
  SampleReworked: [
    REASON,
    v("fromStepName", "the step that failed", (ctx) => stepName(dataField(ctx, "fromStep"))),
    v("toStepName", "the step it goes back to", (ctx) => stepName(dataField(ctx, "toStep")))
  ],
  SampleCancelled: [REASON, data("from", "the status it was in", "from")],
  PriorityChanged: [data("from", "the former priority", "from"), data("to", "the new priority", "to")],
  SlaAtRisk: SLA,
  SlaBreached: SLA,
  ExportRequested: EXPORT,
  ExportCompleted: EXPORT,
  ExportFailed: [...EXPORT, REASON]
}

/** Variables of the data delivery step (its recorded data), for `WorkflowStepCompleted` of `data_delivery`. */
const DELIVERY: ReadonlyArray<TemplateVariable> = [
  data("delivery.method", "download, s3, globus, drive or other", "data", "method"),
  data("delivery.location", "where the data is", "data", "location"),
  v("delivery.retention", "how long the data is kept", (ctx) => {
    const days = asText(dataField(ctx, "data", "retentionDays"))
    return days === "" ? "the facility's standard retention period" : `${days} days`
  }),
  v("delivery.deliveredAt", "when it was delivered (UTC)", (ctx) => {
    const t = asText(dataField(ctx, "data", "deliveredAt"))
    return t === "" ? formatTime(ctx.event.at) : formatTime(t)
  })
]

/** The variables a template for `trigger` may use, with what each shows (for the editor and for validation). */
export const variablesFor = (trigger: Trigger): ReadonlyArray<TemplateVariable> => {
  const steps = trigger.eventType === "WorkflowStepCompleted" && trigger.step === "data_delivery" ? DELIVERY : []
  return [...COMMON, ...(BY_EVENT[trigger.eventType] ?? []), ...steps]
}

/** The trigger an event fits most closely (its step included when it names one), for choosing variables. */
const triggerOfEvent = (event: TemplateEvent): Trigger => {
  const step = stepOf(event)
  return step === undefined ? { eventType: event.type } : { eventType: event.type, step }
}

/** The values of every variable for this event, by name. */
export const valuesOf = (ctx: SampleEventContext, options: RenderOptions): ReadonlyMap<string, string> =>
  new Map(variablesFor(triggerOfEvent(ctx.event)).map((x) => [x.name, x.fill(ctx, options)]))

// ---------------------------------------------------------------------------------------------------------------
// Parsing and rendering

type Token =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Var"; readonly name: string }

interface Parsed {
  readonly tokens: ReadonlyArray<Token>
  /** Syntax faults: a `{{` never closed, or a placeholder that is not a name. */
  readonly faults: ReadonlyArray<{ readonly message: string; readonly variable?: string }>
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/

/** Splits a template into text and `{{name}}` placeholders. Anything else between braces stays literal text. */
const parse = (source: string): Parsed => {
  const tokens: Array<Token> = []
  const faults: Array<{ message: string; variable?: string }> = []
  let i = 0
  while (i < source.length) {
    const open = source.indexOf("{{", i)
    if (open < 0) {
      tokens.push({ _tag: "Text", text: source.slice(i) })
      break
    }
    const close = source.indexOf("}}", open + 2)
    if (close < 0) {
      faults.push({ message: `'{{' at character ${open + 1} is never closed with '}}'` })
      tokens.push({ _tag: "Text", text: source.slice(i) })
      break
    }
    if (open > i) tokens.push({ _tag: "Text", text: source.slice(i, open) })
    const inner = source.slice(open + 2, close).trim()
    if (NAME.test(inner)) {
      tokens.push({ _tag: "Var", name: inner })
    } else {
      faults.push({ message: `'{{${inner}}}' is not a variable name (only names like sample.name are allowed)`, variable: inner })
      tokens.push({ _tag: "Text", text: source.slice(open, close + 2) })
    }
    i = close + 2
  }
  return { tokens, faults }
}

/** Escapes text for HTML element content and quoted attribute values. */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;")

/** How a part's values are written: escaped for HTML, flattened for a header line, as they are for plain text. */
type PartKind = "html" | "line" | "text"

const oneLine = (s: string): string => s.replace(/[\r\n\t\u2028\u2029]+/g, " ")

const substitute = (source: string, values: ReadonlyMap<string, string>, kind: PartKind): string => {
  let out = ""
  for (const t of parse(source).tokens) {
    if (t._tag === "Text") {
      out += t.text
    } else {
      const value = values.get(t.name) ?? ""
      out += kind === "html" ? escapeHtml(value) : kind === "line" ? oneLine(value) : value
    }
  }
  return kind === "line" ? oneLine(out).trim() : out
}

/** A rendered e-mail: subject, HTML, and its plain-text alternative. */
export interface RenderedEmail {
  readonly subject: string
  readonly html: string
  readonly text: string
}

/** A rendered in-app notification (plain text: the web app shows it as text). */
export interface RenderedInApp {
  readonly title: string
  readonly body: string
}

/** Fills an e-mail template for one event; unknown variables become empty text. */
export const renderEmail = (template: EmailTemplateDraft, ctx: SampleEventContext, options: RenderOptions): RenderedEmail => {
  const values = valuesOf(ctx, options)
  return {
    subject: substitute(template.subject, values, "line"),
    html: substitute(template.html, values, "html"),
    text: substitute(template.text, values, "text")
  }
}

/** Fills an in-app template for one event; unknown variables become empty text. */
export const renderInApp = (template: InAppTemplateDraft, ctx: SampleEventContext, options: RenderOptions): RenderedInApp => {
  const values = valuesOf(ctx, options)
  return { title: substitute(template.title, values, "line"), body: substitute(template.body, values, "text") }
}

const Variables = Schema.Array(Schema.String)
/** What the template editor shows: the rendered parts, and the placeholders that were unknown or empty. */
export const Preview = Schema.Union(
  Schema.Struct({
    channel: Schema.Literal("email"),
    rendered: Schema.Struct({ subject: Schema.String, html: Schema.String, text: Schema.String }),
    unknownVariables: Variables,
    emptyVariables: Variables
  }),
  Schema.Struct({
    channel: Schema.Literal("in_app"),
    rendered: Schema.Struct({ title: Schema.String, body: Schema.String }),
    unknownVariables: Variables,
    emptyVariables: Variables
  })
)
export type Preview = typeof Preview.Type

const partsOf = (t: TemplateDraft): ReadonlyArray<readonly [string, string]> =>
  t.channel === "email" ? [["subject", t.subject], ["html", t.html], ["text", t.text]] : [["title", t.title], ["body", t.body]]

const namesIn = (t: TemplateDraft): ReadonlyArray<string> => {
  const names = new Set<string>()
  for (const [, source] of partsOf(t)) {
    for (const token of parse(source).tokens) if (token._tag === "Var") names.add(token.name)
  }
  return [...names]
}

/** Renders `template` for a real or example sample event, naming the variables it could not fill. */
export const preview = (template: TemplateDraft, sampleEvent: SampleEventContext, options: RenderOptions): Preview => {
  const values = valuesOf(sampleEvent, options)
  const names = namesIn(template)
  const unknownVariables = names.filter((n) => !values.has(n))
  const emptyVariables = names.filter((n) => values.get(n) === "")
  return template.channel === "email"
    ? { channel: "email", rendered: renderEmail(template, sampleEvent, options), unknownVariables, emptyVariables }
    : { channel: "in_app", rendered: renderInApp(template, sampleEvent, options), unknownVariables, emptyVariables }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation and versions

/** Every fault of a draft: syntax, unknown variables for its trigger, empty required parts, scripts in HTML. */
export const templateIssues = (draft: TemplateDraft): ReadonlyArray<TemplateIssue> => {
  const known = new Set(variablesFor(draft.trigger).map((x) => x.name))
  const issues: Array<TemplateIssue> = []
  for (const [part, source] of partsOf(draft)) {
    if (source.trim() === "") issues.push({ part, message: "must not be empty" })
    const parsed = parse(source)
    for (const f of parsed.faults) issues.push({ part, ...f })
    for (const t of parsed.tokens) {
      if (t._tag === "Var" && !known.has(t.name)) {
        issues.push({
          part,
          variable: t.name,
          message: `unknown variable '${t.name}' for ${triggerKey(draft.trigger)}`
        })
      }
    }
  }
  if (draft.channel === "email" && /<\s*script\b/i.test(draft.html)) {
    issues.push({ part: "html", message: "scripts are not allowed in e-mail HTML" })
  }
  return issues
}

/**
 * The draft saved as the next version after `current` (version 1 when there is none), or every fault at once.
 * `current` must be the latest version of the same trigger and channel.
 */
export const saveTemplate = (
  draft: TemplateDraft,
  current?: NotificationTemplate
): Either.Either<NotificationTemplate, TemplateInvalid> => {
  const issues = [...templateIssues(draft)]
  if (current !== undefined && (current.channel !== draft.channel || triggerKey(current.trigger) !== triggerKey(draft.trigger))) {
    issues.push({ part: "trigger", message: `replaces a ${current.channel} template for ${triggerKey(current.trigger)}` })
  }
  if (issues.length > 0) {
    return Either.left(new TemplateInvalid({ trigger: triggerKey(draft.trigger), channel: draft.channel, issues }))
  }
  return Either.right({ ...draft, version: (current?.version ?? 0) + 1 })
}

// ---------------------------------------------------------------------------------------------------------------
// Defaults

const SAMPLE_LINK = `<p style="margin:24px 0"><a href="{{sample.url}}" style="color:#0b5cad">Open {{sample.name}} in poretrack</a></p>\n`

const layout = (heading: string, body: string, link: boolean): string => `<!doctype html>
<html lang="en">
<body style="margin:0;padding:24px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1f2328">
<h1 style="margin:0 0 16px;font-size:20px">${heading}</h1>
${body}
${link ? SAMPLE_LINK : ""}<p style="margin:0;color:#59636e;font-size:12px">{{facility.name}} · {{event.type}} · {{event.at}} · event {{event.id}}</p>
</body>
</html>
`

const footer = (link: boolean): string =>
  (link ? "\n\nOpen the sample: {{sample.url}}" : "") + "\n\n-- \n{{facility.name}} · {{event.type}} · {{event.at}} · event {{event.id}}\n"

interface DefaultText {
  readonly subject: string
  readonly heading: string
  readonly paragraphs: ReadonlyArray<string>
  readonly inApp: string
}

const DEFAULT_TEXTS: Record<DefaultTriggerName, DefaultText> = {
  received: {
    subject: "Sample {{sample.name}} received",
    heading: "Sample {{sample.name}} received",
    paragraphs: [
      "The facility received your sample {{sample.name}} (number {{sample.position}} of its submission) on {{event.at}}.",
      "It is queued for {{stepName}} at priority {{sample.priority}}."
    ],
    inApp: "{{sample.name}} was received and is queued for {{stepName}}."
  },
  qc_failed: {
    subject: "QC failed: {{sample.name}} at {{stepName}}",
    heading: "{{stepName}} failed for {{sample.name}}",
    paragraphs: [
      "{{stepName}} of sample {{sample.name}} did not pass (attempt {{attempt}}).",
      "Reasons: {{reasons}}",
      "The facility will contact you about a rework or a new sample."
    ],
    inApp: "{{stepName}} failed: {{reasons}}"
  },
  on_hold: {
    subject: "Sample {{sample.name}} is on hold",
    heading: "Sample {{sample.name}} is on hold",
    paragraphs: [
      "Sample {{sample.name}} was put on hold on {{event.at}}.",
      "Reason: {{reason}}",
      "Turnaround clocks are paused while it is on hold."
    ],
    inApp: "On hold: {{reason}}"
  },
  sla_at_risk: {
    subject: "SLA at risk: {{sample.name}} ({{sample.priority}})",
    heading: "The {{deadline}} deadline of {{sample.name}} is close",
    paragraphs: [
      "Sample {{sample.name}} (priority {{sample.priority}}) has used 80 % of its {{deadline}} time.",
      "Due: {{dueAt}}"
    ],
    inApp: "{{deadline}} due {{dueAt}}"
  },
  sla_breached: {
    subject: "SLA breached: {{sample.name}} ({{sample.priority}})",
    heading: "The {{deadline}} deadline of {{sample.name}} has passed",
    paragraphs: [
      "Sample {{sample.name}} (priority {{sample.priority}}) missed its {{deadline}} deadline.",
      "Was due: {{dueAt}}"
    ],
    inApp: "{{deadline}} deadline missed (due {{dueAt}})"
  },
  completed: {
    subject: "Sample {{sample.name}} completed",
    heading: "Sample {{sample.name}} completed",
    paragraphs: ["All eight steps of sample {{sample.name}} are done ({{event.at}})."],
    inApp: "{{sample.name}} completed all steps."
  },
  data_delivered: {
    subject: "Your data for {{sample.name}} is ready",
    heading: "Data for {{sample.name}} delivered",
    paragraphs: [
      "The sequencing data of sample {{sample.name}} was delivered on {{delivery.deliveredAt}} by {{delivery.method}}.",
      "Location: {{delivery.location}}",
      "Retention: {{delivery.retention}}"
    ],
    inApp: "Data delivered by {{delivery.method}}: {{delivery.location}}"
  },
  export_ready: {
    subject: "Export {{export.id}} ({{export.format}}) is ready",
    heading: "Your {{export.format}} export is ready",
    paragraphs: [
      "Export {{export.id}} finished with {{export.rows}} rows on {{event.at}}.",
      "Download: {{export.url}}"
    ],
    inApp: "Export {{export.id}} ({{export.format}}) is ready."
  },
  export_failed: {
    subject: "Export {{export.id}} ({{export.format}}) failed",
    heading: "Your {{export.format}} export failed",
    paragraphs: [
      "Export {{export.id}} stopped on {{event.at}} after {{export.rows}} rows; no file was kept.",
      "Reason: {{reason}}",
      "Start it again once the reason is dealt with."
    ],
    inApp: "Export {{export.id}} ({{export.format}}) failed: {{reason}}"
  }
}

const defaultsFor = (name: DefaultTriggerName): [EmailTemplate, InAppTemplate] => {
  const t = DEFAULT_TEXTS[name]
  const trigger = DEFAULT_TRIGGERS[name]
  // An export concerns no single sample: its e-mail links to the download only.
  const link = name !== "export_ready" && name !== "export_failed"
  const html = layout(t.heading, t.paragraphs.map((p) => `<p style="margin:0 0 12px">${p}</p>`).join("\n"), link)
  const text = t.paragraphs.join("\n\n") + footer(link)
  return [
    { channel: "email", trigger, version: 1, subject: t.subject, html, text },
    { channel: "in_app", trigger, version: 1, title: t.subject, body: t.inApp }
  ]
}

/** The templates shipped with poretrack (version 1): e-mail and in-app for each default trigger. */
export const DEFAULT_TEMPLATES: ReadonlyArray<NotificationTemplate> = (Object.keys(DEFAULT_TRIGGERS) as Array<DefaultTriggerName>)
  .flatMap(defaultsFor)

/** The fallback for a trigger without a template of its own (a rule a manager added for another event type). */
export const genericTemplate = (channel: TemplateChannel, trigger: Trigger): NotificationTemplate =>
  channel === "email"
    ? {
      channel,
      trigger,
      version: 1,
      subject: "{{sample.name}}: {{event.type}}",
      html: layout("{{sample.name}}: {{event.type}}", "<p style=\"margin:0 0 12px\">{{event.type}} by {{event.actor}} on {{event.at}}.</p>", true),
      text: "{{event.type}} by {{event.actor}} on {{event.at}}." + footer(true)
    }
    : { channel, trigger, version: 1, title: "{{sample.name}}: {{event.type}}", body: "{{event.type}} on {{event.at}}." }

/**
 * The template to use for `event` on `channel`: the most specific matching trigger wins (step-specific before
 * event-type-wide); among equals a saved template before the shipped default, and the latest version; the generic
 * template when nothing matches.
 */
export const templateFor = (
  templates: ReadonlyArray<NotificationTemplate>,
  channel: TemplateChannel,
  event: Pick<SampleEvent, "type" | "data">
): NotificationTemplate => {
  let best: { template: NotificationTemplate; rank: number } | undefined
  const consider = (t: NotificationTemplate, saved: boolean) => {
    if (t.channel !== channel || !triggerMatches(t.trigger, event)) return
    const rank = (t.trigger.step !== undefined ? 2 : 0) + (saved ? 1 : 0)
    if (best === undefined || rank > best.rank || (rank === best.rank && t.version > best.template.version)) {
      best = { template: t, rank }
    }
  }
  for (const t of templates) consider(t, true)
  for (const t of DEFAULT_TEMPLATES) consider(t, false)
  return best?.template ?? genericTemplate(channel, { eventType: event.type })
}
