/**
 * Option groups: each tick box is tied to a group (kit, sample type, …) by the group's label (same line to the left,
 * or the nearest label above for options that wrap or are listed under it), or failing that by its own option text.
 * Radio groups give one value, check-box groups a list, in the order the options are printed.
 */
import type { Line, Reading } from "./FormLines.ts"
import type { PageLayout, TickBox } from "./PdfLayout.ts"
import { Schema } from "effect"
import { SubmissionForm } from "./SubmissionForm.ts"
import { normalizeLabel } from "./ValueParsers.ts"

/** The tick-box fields of the form. */
export type OptionField = "kit" | "sampleType" | "humanDna" | "buffer" | "device" | "basecalling" | "fileFormat" | "retrieval"

type Value<F extends OptionField> = SubmissionForm[F] extends ReadonlyArray<infer A> ? A : NonNullable<SubmissionForm[F]>

interface GroupSpec<F extends OptionField> {
  readonly field: F
  readonly multi: boolean
  readonly label: RegExp
  readonly option: (label: string) => Value<F> | null
}

const KITS = new Set(["SQK-LSK114", "SQK-NBD114.24", "SQK-NBD114.96", "SQK-RAD114", "SQK-RBK114.24", "SQK-RBK114.96", "SQK-ULK114", "SQK-PCB114.24", "SQK-RNA004"])

const first = <A>(label: string, table: ReadonlyArray<readonly [RegExp, A]>): A | null => {
  for (const [re, value] of table) if (re.test(label)) return value
  return null
}

const spec = <F extends OptionField>(s: GroupSpec<F>) => s

/** Every group the reader knows, with the wordings of its label and of its options. */
export const GROUPS = [
  spec({
    field: "kit",
    multi: false,
    label: /^((library|sequencing|ont) )?(prep )?kit( choice| requested| type)?\??$|^library( prep(aration)?)?( kit)?$|^chemistry$/,
    option: (l) => {
      const m = /sqk-?\s?([a-z]{3})\s?(\d{3})(\.\d{2})?/i.exec(l)
      if (!m) return null
      const kit = `SQK-${m[1]!.toUpperCase()}${m[2]}${m[3] ?? ""}` as Value<"kit">
      return KITS.has(kit) ? kit : null
    }
  }),
  spec({
    field: "sampleType",
    multi: false,
    label: /^(sample|material|nucleic acid|input|dna|template)( type| material)?\??$|^type of (sample|material)$/,
    option: (l) =>
      first<Value<"sampleType">>(l, [
        [/\bcdna\b|complementary/, "cdna"],
        [/\bhmw\b|high[- ]molecular|\bgdna\b|genomic/, "hmw_dna"],
        [/fragment|sheared|short/, "fragmented_dna"],
        [/amplicon|\bpcr\b/, "amplicon"],
        [/\brna\b/, "rna"]
      ])
  }),
  spec({
    field: "humanDna",
    multi: false,
    label: /^(contains )?human( dna| material| samples?| origin)?\??$|^is (this|the sample) human/,
    option: (l) => first<boolean>(l, [[/^(yes|y|true)\b/, true], [/^(no|n|false)\b/, false]])
  }),
  spec({
    field: "buffer",
    multi: false,
    label: /^(storage |elution |sample )?buffer\??$|^(dissolved|eluted|suspended) in$|^solvent$/,
    option: (l) =>
      first<Value<"buffer">>(l, [
        [/^eb\b|elution buffer|tris-?cl|10 mm tris/, "EB"],
        [/nuclease[- ]free|water|h2o/, "nuclease_free_water"],
        [/^te\b|tris-edta/, "TE"],
        [/^other/, "other"]
      ])
  }),
  spec({
    field: "device",
    multi: false,
    label: /^(flow ?cell|sequencing)?\s*(device|instrument|platform|type)\??$|^flow ?cell( type)?\??$|^sequencer$/,
    option: (l) =>
      first<Value<"device">>(l, [
        [/promethion|\bp2\b|\bp24\b|\bp48\b/, "PromethION"],
        [/gridion/, "GridION"],
        [/flongle/, "Flongle"],
        [/minion|mk1/, "MinION"]
      ])
  }),
  spec({
    field: "basecalling",
    multi: true,
    label: /^base ?calling( model| mode| options?)?\??$|^(basecaller|model)$/,
    option: (l) =>
      first<Value<"basecalling">>(l, [
        [/\bsup\b|super/, "sup"],
        [/\bhac\b|high[- ]acc/, "hac"],
        [/methyl|5mc|5hmc|modified|\bmods?\b/, "methylation"],
        [/\bfast\b/, "fast"]
      ])
  }),
  spec({
    field: "fileFormat",
    multi: false,
    label: /^((output|file|data|delivery) )?(file )?format(s)?\??$|^output( files?)?$|^deliverables?$/,
    option: (l) =>
      first<Value<"fileFormat">>(l, [
        [/pod5|raw|fast5/, "pod5"],
        [/fastq|bam/, "fastq_bam"]
      ])
  }),
  spec({
    field: "retrieval",
    multi: true,
    label: /^(data )?(retrieval|delivery|transfer|pick-?up)( method)?\??$|^(how (will|should) (you|we) (get|receive|deliver) (the )?data)\??$|^delivery method$/,
    option: (l) =>
      first<Value<"retrieval">>(l, [
        [/\bits\b|\/proj|project (space|folder)|cluster/, "its_proj"],
        [/\burl\b|download|link|web/, "url"],
        [/pre-?arranged|hard ?drive|drive|in person|pick ?up/, "prearranged"],
        [/^other\b/, "other"]
      ])
  })
] as const

type AnySpec = (typeof GROUPS)[number]

const specOf = (field: OptionField): AnySpec => GROUPS.find((g) => g.field === field)!

/** The group a label text names, if any. */
export const groupOfLabel = (text: string): OptionField | null => {
  const t = normalizeLabel(text)
  return GROUPS.find((g) => g.label.test(t))?.field ?? null
}

const optionValue = (field: OptionField, label: string): unknown => specOf(field).option(normalizeLabel(label))

/** A box placed on its page with the group it belongs to. */
interface PlacedBox {
  readonly page: number
  readonly box: TickBox
  readonly field: OptionField
  readonly value: unknown
  readonly byLabel: boolean
}

/** Readings of the option groups, the item ids used as group and option labels, and what was odd. */
export interface OptionReadings {
  readonly values: { readonly [F in OptionField]: Reading<SubmissionForm[F]> }
  readonly found: ReadonlySet<OptionField>
  readonly labelItems: ReadonlySet<number>
  readonly warnings: ReadonlyArray<string>
}

const center = (b: TickBox) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 })

/** Reads every option group from the boxes of each page, using the page's lines to find group labels. */
export const readOptionGroups = (pages: ReadonlyArray<PageLayout>, lines: ReadonlyArray<Line>): OptionReadings => {
  const warnings: Array<string> = []
  const labelItems = new Set<number>()
  const placed: Array<PlacedBox> = []
  for (const page of pages) {
    const pageLines = lines.filter((l) => l.page === page.page)
    // Items that label a box (the option text) are not group labels and not field values.
    const optionItems = new Set<number>()
    for (const b of page.boxes) {
      const c = center(b)
      for (const l of pageLines) {
        if (Math.abs(l.y + l.height * 0.3 - c.y) > Math.max(b.height, l.height) * 0.75) continue
        for (const t of l.items) {
          if (b.labelX !== null && Math.abs(t.x - b.labelX) < 0.5) optionItems.add(t.id)
        }
      }
    }
    for (const id of optionItems) labelItems.add(id)
    const groupLabels = pageLines.flatMap((l) =>
      l.items
        .filter((t) => !optionItems.has(t.id))
        .map((t) => ({ item: t, field: groupOfLabel(t.str) }))
        .filter((g): g is { item: (typeof l.items)[number]; field: OptionField } => g.field !== null)
    )
    for (const g of groupLabels) labelItems.add(g.item.id)
    for (const b of page.boxes) {
      if (b.label === null) {
        warnings.push(`page ${page.page}: a ${b.kind} at (${b.x.toFixed(0)}, ${b.y.toFixed(0)}) has no label`)
        continue
      }
      const optionLabel = b.label
      const c = center(b)
      const sameLine = groupLabels
        .filter((g) => Math.abs(g.item.y + g.item.height * 0.3 - c.y) <= Math.max(b.height, g.item.height) * 0.75 && g.item.x < b.x)
        .sort((a, z) => z.item.x - a.item.x)
      const above = groupLabels
        .filter((g) => g.item.y + g.item.height * 0.3 > c.y && g.item.y - c.y < 8 * g.item.height && g.item.x <= b.x + 1)
        .sort((a, z) => a.item.y - z.item.y || z.item.x - a.item.x)
      const owner = sameLine[0] ?? above[0]
      let field: OptionField | null = null
      let value: unknown = null
      if (owner) {
        const v = optionValue(owner.field, b.label)
        if (v !== null) {
          field = owner.field
          value = v
        }
      }
      if (field === null) {
        // No group label (or its options do not fit): the option text alone, when only one group accepts it.
        const fits = GROUPS.filter((g) => g.field !== "humanDna" && g.option(normalizeLabel(optionLabel)) !== null)
        if (fits.length === 1) {
          field = fits[0]!.field
          value = optionValue(field, b.label)
        }
      }
      if (field === null) {
        if (b.ticked) warnings.push(`page ${page.page}: ticked option "${b.label}" belongs to no known group`)
        continue
      }
      placed.push({ page: page.page, box: b, field, value, byLabel: owner?.field === field })
    }
  }

  const found = new Set<OptionField>()
  const read = (field: OptionField): Reading<unknown> => {
    const s = specOf(field)
    const boxes = placed.filter((p) => p.field === field)
    const ticked = boxes.filter((p) => p.box.ticked)
    const certainty = boxes.reduce((m, p) => Math.min(m, p.box.certainty), 1)
    const groupSure = boxes.every((p) => p.byLabel) ? 1 : 0.9
    const evidence =
      boxes.length === 0
        ? null
        : {
            page: boxes[0]!.page,
            text: boxes.map((p) => `${p.box.ticked ? "[x]" : "[ ]"} ${p.box.label}`).join("  "),
            x: Math.round(boxes[0]!.box.x * 10) / 10,
            y: Math.round(boxes[0]!.box.y * 10) / 10,
            boxes: boxes.map((p) => ({ label: p.box.label, ticked: p.box.ticked, x: Math.round(p.box.x * 10) / 10, y: Math.round(p.box.y * 10) / 10 }))
          }
    if (boxes.length > 0) found.add(field)
    const values = [...new Set(ticked.map((p) => p.value))]
    if (s.multi) return { value: values, confidence: boxes.length === 0 ? 0.2 : 0.98 * certainty * groupSure, evidence }
    if (values.length > 1) {
      warnings.push(`${field}: ${values.length} options are ticked (${ticked.map((p) => p.box.label).join(", ")}); the first is kept`)
      return { value: values[0], confidence: 0.4, evidence }
    }
    const confidence = boxes.length === 0 ? 0.2 : values.length === 0 ? 0.9 * certainty * groupSure : 0.98 * certainty * groupSure
    return { value: values[0] ?? null, confidence, evidence }
  }
  /** Narrows a reading to its field's type (the option tables only produce valid values; this proves it). */
  const typed = <A>(schema: Schema.Schema<A>, r: Reading<unknown>, fallback: A): Reading<A> =>
    Schema.is(schema)(r.value) ? { ...r, value: r.value } : { ...r, value: fallback, confidence: 0 }
  const f = SubmissionForm.fields
  const values = {
    kit: typed(f.kit, read("kit"), null),
    sampleType: typed(f.sampleType, read("sampleType"), null),
    humanDna: typed(f.humanDna, read("humanDna"), null),
    buffer: typed(f.buffer, read("buffer"), null),
    device: typed(f.device, read("device"), null),
    basecalling: typed(f.basecalling, read("basecalling"), []),
    fileFormat: typed(f.fileFormat, read("fileFormat"), null),
    retrieval: typed(f.retrieval, read("retrieval"), [])
  }
  for (const g of GROUPS) if (!found.has(g.field)) warnings.push(`no tick boxes were found for ${g.field}`)
  return { values, found, labelItems, warnings }
}
