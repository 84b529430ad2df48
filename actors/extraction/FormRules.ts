/**
 * The rules stage: from a PDF's layout to the submission form (the truth files' shape), with a confidence and the
 * evidence for every field, the domain problems the form shows (zero or missing Qubit, no kit ticked), and warnings
 * for what could not be read. Pure and deterministic: the same layout always gives the same answer.
 */
import { buildLines, evidenceOf, type Reading } from "./FormLines.ts"
import { type FieldValue, readLabelledFields } from "./LabelledFields.ts"
import { readOptionGroups } from "./OptionGroups.ts"
import type { PdfLayout } from "./PdfLayout.ts"
import { readSampleTable } from "./SampleTable.ts"
import type { Evidence, FormExtraction, Person, SampleRow, SubmissionForm } from "./SubmissionForm.ts"
import { isBlank, parseCount, parseCoverage, parseDate, parseEmails, parseGenomeSizeMb } from "./ValueParsers.ts"

const QUOTE_ID = /\b[A-Z]{2,8}--?[A-Z0-9]{1,6}-\d{1,6}\b/

const none = <A>(value: A, confidence: number): Reading<A> => ({ value, confidence, evidence: null })

const from = <A>(field: FieldValue, value: A, confidence: number): Reading<A> => ({
  value,
  confidence,
  evidence: evidenceOf(field.items.length > 0 ? field.items : [field.label], field.text === "" ? field.label.str : field.text)
})

/** A text value: the trimmed text, null when blank. */
const text = (field: FieldValue | undefined, missing = 0.5): Reading<string | null> => {
  if (!field) return none(null, missing)
  if (isBlank(field.text)) return from(field, null, 0.9)
  return from(field, field.text.replace(/\s+/g, " ").trim(), field.placement === "below" ? 0.8 : 0.95)
}

/** A parsed value; unreadable text gives null, a low confidence and a warning. */
const parsed = <A>(
  field: FieldValue | undefined,
  parse: (text: string) => A | null,
  what: string,
  warnings: Array<string>,
  missing = 0.5
): Reading<A | null> => {
  if (!field) return none(null, missing)
  if (isBlank(field.text)) return from(field, null, 0.9)
  const value = parse(field.text)
  if (value === null) {
    warnings.push(`${what}: cannot read "${field.text}"`)
    return from(field, null, 0.3)
  }
  return from(field, value, field.placement === "below" ? 0.8 : 0.95)
}

/** "Name (email); Name2 (email2)", "Name <email>", "Name, email" → people, in order. */
export const parsePeople = (value: string): Array<Person> => {
  const parts = value
    .split(/;|\)\s*,\s*|>\s*,\s*|\n|\s+&\s+|\s+and\s+/)
    .map((p) => p.trim())
    .filter((p) => p !== "" && !isBlank(p))
  return parts.map((p) => {
    const email = parseEmails(p)[0] ?? null
    const name = p
      .replace(/[(<[]?\s*[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\s*[)>\]]?/g, "")
      .replace(/[(),<>[\]]/g, " ")
      .replace(/\s+/g, " ")
      .trim()
      .replace(/[,;:-]$/, "")
      .trim()
    return { name: name === "" ? null : name, email }
  })
}

/** The requester's name without an e-mail address written beside it. */
const personName = (r: Reading<string | null>): Reading<string | null> =>
  r.value === null ? r : { ...r, value: parsePeople(r.value)[0]?.name ?? r.value }

/** The facility's problems with a form, in the truth files' wording and order. */
export const problemsOf = (samples: ReadonlyArray<SampleRow>, kit: string | null): Array<string> => {
  const label = (s: SampleRow) => `row ${s.row} (${s.name ?? ""})`
  const tracked = samples.filter((s) => s.control === null)
  return [
    ...tracked.filter((s) => s.qubitNgUl === 0).map((s) => `zero_concentration: ${label(s)} Qubit = 0`),
    ...tracked.filter((s) => s.qubitNgUl === null).map((s) => `missing_concentration: ${label(s)} Qubit blank`),
    ...(kit === null ? ["kit_not_selected: no library kit option is ticked"] : [])
  ]
}

/** Reads a form from its layout. Never fails: what cannot be read is null, with a low confidence and a warning. */
export const formRules = (layout: PdfLayout): FormExtraction => {
  const warnings: Array<string> = [...layout.notes]
  const lines = buildLines(layout.pages)
  const table = readSampleTable(lines)
  const options = readOptionGroups(layout.pages, lines)
  const skip = new Set<number>([...table.usedItems, ...options.labelItems])
  const fields = readLabelledFields(lines, skip)
  const firstOf = (key: FieldValue["key"]) => fields.find((f) => f.key === key && !isBlank(f.text)) ?? fields.find((f) => f.key === key)

  // Quote id: its label, else anything in the document shaped like a facility quote id.
  let quoteId = text(firstOf("quoteId"), 0.3)
  if (quoteId.value !== null) {
    const m = QUOTE_ID.exec(quoteId.value)
    quoteId = m ? { ...quoteId, value: m[0], confidence: 0.97 } : { ...quoteId, value: quoteId.value.split(/\s+/)[0] ?? null, confidence: 0.7 }
  } else if (!firstOf("quoteId")) {
    const hit = lines.flatMap((l) => l.items).find((t) => QUOTE_ID.test(t.str))
    if (hit) quoteId = { value: QUOTE_ID.exec(hit.str)![0], confidence: 0.7, evidence: evidenceOf([hit]) }
  }

  const requesterEmailField = firstOf("requesterEmail")
  const requesterEmail = parsed(requesterEmailField, (t) => parseEmails(t)[0] ?? null, "requester.email", warnings)

  // PIs: one "PI(s)" field listing them all, or numbered "PI 1" / "PI 1 e-mail" pairs.
  let pis: Array<{ name: Reading<string | null>; email: Reading<string | null> }> = []
  const pisField = firstOf("pis")
  if (pisField && !isBlank(pisField.text)) {
    pis = parsePeople(pisField.text).map((p) => ({
      name: from(pisField, p.name, p.name === null ? 0.5 : 0.92),
      email: from(pisField, p.email, p.email === null ? 0.85 : 0.95)
    }))
  }
  const numbered = fields.filter((f) => f.key === "piName" || (f.key === "piEmail" && f.number !== null))
  if (pis.length === 0 && numbered.length > 0) {
    const numbers = [...new Set(numbered.map((f) => f.number ?? 1))].sort((a, b) => a - b)
    pis = numbers
      .map((n) => {
        const name = fields.find((f) => f.key === "piName" && (f.number ?? 1) === n)
        const email = fields.find((f) => f.key === "piEmail" && (f.number ?? 1) === n)
        return {
          name: personName(text(name, 0.6)),
          email: parsed(email, (t) => parseEmails(t)[0] ?? null, `pis[${n - 1}].email`, warnings, 0.6)
        }
      })
      .filter((p) => p.name.value !== null || p.email.value !== null)
  }
  if (pis.length === 0) {
    const lone = fields.find((f) => f.key === "piEmail")
    if (lone && !isBlank(lone.text)) pis = [{ name: none(null, 0.4), email: parsed(lone, (t) => parseEmails(t)[0] ?? null, "pis[0].email", warnings) }]
  }

  const genomeField = firstOf("genomeSize")
  const genomeUnit = genomeField && /\((gb|gbp)\)/i.test(genomeField.label.str) ? "gb" : genomeField && /\((kb|kbp)\)/i.test(genomeField.label.str) ? "kb" : "mb"

  const notifyField = firstOf("notificationEmails")
  const notificationEmails: Reading<ReadonlyArray<string>> = notifyField
    ? from(notifyField, parseEmails(notifyField.text), isBlank(notifyField.text) ? 0.9 : 0.95)
    : none([], 0.4)

  const quoteDate = parsed(firstOf("quoteDate"), parseDate, "quoteDate", warnings)
  const expiresOn = parsed(firstOf("expiresOn"), parseDate, "expiresOn", warnings)
  const requesterName = personName(text(firstOf("requesterName")))
  const requesterPhone = text(firstOf("requesterPhone"))
  const lab = text(firstOf("lab"))
  const billingAccount = text(firstOf("billingAccount"))
  const organism = text(firstOf("organism"))
  const genomeSizeMb = parsed(genomeField, (t) => parseGenomeSizeMb(t, genomeUnit), "genomeSizeMb", warnings)
  const coverage = parsed(firstOf("coverage"), parseCoverage, "coverage", warnings)
  const flowCellCount = parsed(firstOf("flowCellCount"), parseCount, "flowCellCount", warnings)
  const o = options.values
  const samples = table.rows
  const sampleRows: Array<SampleRow> = samples.map((r) => ({
    row: r.row.value,
    name: r.fields.name.value,
    volumeUl: r.fields.volumeUl.value,
    qubitNgUl: r.fields.qubitNgUl.value,
    nanodropNgUl: r.fields.nanodropNgUl.value,
    a260_280: r.fields.a260_280.value,
    a260_230: r.fields.a260_230.value,
    control: r.fields.control.value
  }))
  const finished: SubmissionForm = {
    quoteId: quoteId.value,
    quoteDate: quoteDate.value,
    expiresOn: expiresOn.value,
    requester: { name: requesterName.value, email: requesterEmail.value, phone: requesterPhone.value },
    lab: lab.value,
    pis: pis.map((p) => ({ name: p.name.value, email: p.email.value })),
    billingAccount: billingAccount.value,
    kit: o.kit.value,
    sampleType: o.sampleType.value,
    humanDna: o.humanDna.value,
    organism: organism.value,
    buffer: o.buffer.value,
    device: o.device.value,
    genomeSizeMb: genomeSizeMb.value,
    coverage: coverage.value,
    flowCellCount: flowCellCount.value,
    basecalling: o.basecalling.value,
    fileFormat: o.fileFormat.value,
    notificationEmails: notificationEmails.value,
    retrieval: o.retrieval.value,
    samples: sampleRows,
    problems: problemsOf(sampleRows, o.kit.value)
  }
  const readings: Record<string, Reading<unknown>> = {
    quoteId,
    quoteDate,
    expiresOn,
    "requester.name": requesterName,
    "requester.email": requesterEmail,
    "requester.phone": requesterPhone,
    lab,
    billingAccount,
    organism,
    genomeSizeMb,
    coverage,
    flowCellCount,
    notificationEmails,
    ...o
  }
  pis.forEach((p, i) => {
    readings[`pis[${i}].name`] = p.name
    readings[`pis[${i}].email`] = p.email
  })
  samples.forEach((r, i) => {
    readings[`samples[${i}].row`] = r.row
    for (const [key, reading] of Object.entries(r.fields)) readings[`samples[${i}].${key}`] = reading
  })
  const tableConfidence = samples.reduce((m, r) => Math.min(m, r.fields.qubitNgUl.confidence), 1)
  readings.problems = { value: finished.problems, confidence: Math.min(tableConfidence, options.values.kit.confidence), evidence: null }
  readings.samples = { value: null, confidence: table.found ? 0.95 : 0.1, evidence: null }

  const confidence: Record<string, number> = {}
  const evidence: Record<string, Evidence> = {}
  for (const [path, r] of Object.entries(readings)) {
    confidence[path] = Math.round(Math.max(0, Math.min(1, r.confidence)) * 1000) / 1000
    if (r.evidence) evidence[path] = r.evidence
  }
  for (const [path, c] of Object.entries(confidence)) {
    if (c < 0.5 && !path.startsWith("samples[")) warnings.push(`low confidence for ${path}`)
  }
  return { result: finished, confidence, evidence, warnings: [...warnings, ...table.warnings, ...options.warnings] }
}
