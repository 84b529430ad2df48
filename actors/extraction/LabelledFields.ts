/**
 * Labelled fields: a label ("Requester", "E-mail:", "Valid until") and its value, written to its right on the same
 * line, inside the same text run after a colon ("Quote: HTSF--QQ-977"), on the lines just below it when the value
 * wraps (addresses, several PIs, several e-mails), or under the label when the form stacks them.
 */
import type { Line, PlacedItem } from "./FormLines.ts"
import { normalizeLabel } from "./ValueParsers.ts"

/** The labelled fields the reader knows; `boundary` labels only end the value before them. */
export type FieldKey =
  | "quoteId"
  | "quoteDate"
  | "expiresOn"
  | "requesterName"
  | "requesterEmail"
  | "requesterPhone"
  | "lab"
  | "billingAccount"
  | "pis"
  | "piName"
  | "piEmail"
  | "organism"
  | "genomeSize"
  | "coverage"
  | "flowCellCount"
  | "notificationEmails"
  | "boundary"

interface LabelSpec {
  readonly key: FieldKey
  readonly label: RegExp
  /** Whether the value may go on over the next lines. */
  readonly multiline: boolean
}

/** Label wordings, tried in order on the normalized label text (the whole label must match). */
const LABELS: ReadonlyArray<LabelSpec> = [
  { key: "piEmail", label: /^(pi|principal investigator)\s*(\d)?\s*email( address)?$/, multiline: false },
  { key: "piName", label: /^(pi|principal investigator)\s*(\d)( name)?$/, multiline: false },
  { key: "pis", label: /^(pi\(s\)|pis|pi|pi name|pi\/s|pi\(s\) name|principal investigators?|principal investigator\(s\))$/, multiline: true },
  {
    key: "quoteId",
    label: /^(quote|quote (id|no\.?|number|#|ref(erence)?)|quote ?#|quote no\.?|facility quote( (id|#|no\.?|number))?|quotation( (id|no\.?|number|#))?|ref(erence)?( (no\.?|number|#))?)$/,
    multiline: false
  },
  {
    key: "quoteDate",
    label: /^(date|as of|quote date|dated|issued( on)?|date issued|issue date|date of quote|quotation date|submission date|submitted on|date submitted|form date)$/,
    multiline: false
  },
  { key: "expiresOn", label: /^(expires|expires on|expiry( date)?|expiration( date)?|valid until|valid through|valid to|good through|quote valid until|valid till)$/, multiline: false },
  {
    key: "requesterEmail",
    label: /^(email|requester email|requestor email|email address|contact email|submitter email|your email|requester's email)$/,
    multiline: false
  },
  { key: "requesterPhone", label: /^(phone|telephone|tel\.?|phone (number|no\.?)|contact phone|requester phone|mobile|phone #)$/, multiline: false },
  {
    key: "requesterName",
    label: /^(requester|requester name|requested by|requestor|requestor name|submitter|submitter name|submitted by|name|contact|contact name|contact person|researcher|customer|client|your name)$/,
    multiline: false
  },
  { key: "lab", label: /^(lab|laboratory|lab name|group|research group|lab \/ group|lab\/group|lab or group)$/, multiline: false },
  {
    key: "billingAccount",
    label: /^(billing account( \(chart ?field\))?|billing account \/ chart ?field|chart ?field|chart string|account|account (no\.?|number|#)|billing (no\.?|number|#|code)|cost cent(er|re)|fund(ing)? (code|account|source)|po( number| #)?|billing|chartfield \/ account)$/,
    multiline: false
  },
  { key: "organism", label: /^(source organism|organism|species|source species|organism \/ species|organism\/species|source)$/, multiline: false },
  { key: "genomeSize", label: /^(approx\.? |approximate |estimated |expected )?genome size( \((mb|gb|kb|mbp|gbp)\))?$/, multiline: false },
  {
    key: "coverage",
    label: /^((target|desired|requested|approx\.?|expected|required) )?(coverage|depth)( \(x\)| depth| \(fold\))?$/,
    multiline: false
  },
  {
    key: "flowCellCount",
    label: /^(number of flow ?cells|flow ?cells( \(#\)| requested| needed| #)?|# (of )?flow ?cells|no\.? of flow ?cells|flow ?cell count|flowcells( requested)?|(number of )?flow cells required)$/,
    multiline: false
  },
  {
    key: "notificationEmails",
    label: /^(notification emails?|notify|notifications?|notification email addresses|cc|email notifications?( to)?|send notifications to|notify emails?|emails? to notify)$/,
    multiline: true
  },
  {
    key: "boundary",
    label: /^(service|services?( requested)?|billing address|address|financial contact|finance contact|comments?|notes?|department|institution|signature|date received|received by|special instructions|remarks)$/,
    multiline: true
  }
]

/** A label found on a page, with the inline value that followed its colon, if any. */
export interface FoundLabel {
  readonly key: FieldKey
  readonly item: PlacedItem
  readonly lineIndex: number
  readonly inline: string | null
  readonly number: number | null
}

const specFor = (text: string): { spec: LabelSpec; number: number | null } | null => {
  const t = normalizeLabel(text)
  for (const spec of LABELS) {
    const m = spec.label.exec(t)
    if (m) {
      const n = /\b(\d)\b/.exec(t)
      return { spec, number: n ? Number(n[1]) : null }
    }
  }
  return null
}

/** Recognizes a label item, or a "Label: value" item (split at its first colon). */
export const matchLabel = (text: string): { key: FieldKey; inline: string | null; number: number | null } | null => {
  const whole = specFor(text)
  if (whole) return { key: whole.spec.key, inline: null, number: whole.number }
  const colon = text.indexOf(":")
  if (colon > 0) {
    const head = specFor(text.slice(0, colon))
    const rest = text.slice(colon + 1).trim()
    if (head && rest !== "") return { key: head.spec.key, inline: rest, number: head.number }
  }
  const hash = /^(quote\s*#)\s*(\S.*)$/i.exec(text)
  if (hash) return { key: "quoteId", inline: hash[2]!.trim(), number: null }
  return null
}

/** A field's value: its text, the items it came from, and whether it was found by the label's side or below. */
export interface FieldValue {
  readonly key: FieldKey
  readonly number: number | null
  readonly label: PlacedItem
  readonly text: string
  readonly lines: ReadonlyArray<string>
  readonly items: ReadonlyArray<PlacedItem>
  readonly placement: "inline" | "right" | "below" | "none"
}

const multilineOf = (key: FieldKey) => LABELS.find((s) => s.key === key)?.multiline ?? false

/**
 * Reads every labelled field. `skip` holds item ids that belong elsewhere (the sample table, option labels):
 * they are never a label nor a value, but they do end a value.
 */
export const readLabelledFields = (lines: ReadonlyArray<Line>, skip: ReadonlySet<number>): Array<FieldValue> => {
  const labels: Array<FoundLabel> = []
  lines.forEach((line, lineIndex) => {
    for (const item of line.items) {
      if (skip.has(item.id)) continue
      const m = matchLabel(item.str)
      if (m) labels.push({ key: m.key, item, lineIndex, inline: m.inline, number: m.number })
    }
  })
  const labelIds = new Set(labels.map((l) => l.item.id))
  const isStop = (t: PlacedItem) => labelIds.has(t.id) || skip.has(t.id)
  const out: Array<FieldValue> = []
  for (const label of labels) {
    const line = lines[label.lineIndex]!
    const nextLabelX = line.items
      .filter((t) => t.x > label.item.x && isStop(t))
      .reduce((min, t) => Math.min(min, t.x), Infinity)
    const right = line.items.filter((t) => t.x > label.item.x && t.x < nextLabelX && !isStop(t))
    const parts: Array<string> = []
    const items: Array<PlacedItem> = []
    let placement: FieldValue["placement"] = "none"
    if (label.inline !== null) {
      parts.push(label.inline)
      items.push(label.item)
      placement = "inline"
    }
    if (right.length > 0) {
      parts.push(right.map((t) => t.str).join(" "))
      items.push(...right)
      if (placement === "none") placement = "right"
    }
    const texts = parts.length > 0 ? [parts.join(" ")] : []
    // Lines under the label that carry no label: a wrapped value, or a value written under its label.
    const labelXs = line.items.filter((t) => labelIds.has(t.id)).map((t) => t.x).sort((a, b) => a - b)
    const ownX = label.item.x
    const nextOwnerX = labelXs.find((x) => x > ownX + 1) ?? Infinity
    const wraps = multilineOf(label.key) || placement === "none"
    let previousY = line.y
    for (let k = label.lineIndex + 1; wraps && k < lines.length; k++) {
      const next = lines[k]!
      if (next.page !== line.page || previousY - next.y > 1.6 * Math.max(line.height, next.height)) break
      if (next.items.some((t) => labelIds.has(t.id) && t.x <= nextOwnerX)) break
      const mine = next.items.filter((t) => !skip.has(t.id) && t.x >= ownX - 2 && t.x < nextOwnerX - 1)
      if (next.items.some((t) => skip.has(t.id) && t.x >= ownX - 2 && t.x < nextOwnerX - 1)) break
      if (mine.length === 0) break
      texts.push(mine.map((t) => t.str).join(" "))
      items.push(...mine)
      if (placement === "none") placement = "below"
      previousY = next.y
      if (!multilineOf(label.key)) break
    }
    out.push({ key: label.key, number: label.number, label: label.item, text: texts.join(" ").trim(), lines: texts, items, placement })
  }
  return out
}
