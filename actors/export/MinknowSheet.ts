/**
 * The MinKNOW sample sheet of one flow cell: a CSV (LF line ends, header row) with the columns `flow_cell_id,
 * position_id, experiment_id, sample_id, flow_cell_product_code, kit, barcode, alias, type`, one row per sample on the
 * flow cell (sorted by barcode number), as MinKNOW and Dorado read it. The sheet is checked as a whole and refused with
 * every problem named (MinknowSheetRefused, each issue with its input rows) rather than written half right:
 *
 * - `experiment_id` is the same on every row; `experiment_id`, `sample_id` and `alias` are at most 40 characters of
 *   `[A-Za-z0-9_-]` (Dorado refuses more). Sample names are **sanitised**: every other character (space, `.`) becomes
 *   `_`. A value still longer than 40 is **refused**, never cut (a cut alias could silently merge two samples' data).
 * - `sample_id` is one per flow cell (MinKNOW assigns one per position): the request's, else the only sample's name,
 *   else the experiment id. `alias` is the sample's name; an alias is never `barcodeNN`, `unclassified` or `mixed`
 *   (any case: Dorado's own output names), and two rows never share one after sanitising.
 * - `barcode` and `alias` come both or neither: a barcoded sample gets its name as alias, an alias without a barcode
 *   is refused. Several samples on one flow cell must all be barcoded; a barcode appears once per flow cell
 *   (collisions refused, naming the rows); a barcode must belong to its kit's set (…24 kits: barcode01-24).
 * - Every sample names this flow cell in its sequencing set-up; position, product code and kit agree across rows.
 *   `kit` is written as MinKNOW spells kits (`SQK-NBD114-24`, not `SQK-NBD114.24`), with a barcode expansion kit after
 *   a space when one differs from the kit. `type` is `test_sample`, `positive_control` or `negative_control` (a blank)
 *   on barcoded rows.
 */
import { Either } from "effect"
import type { Writable } from "node:stream"
import type { SampleState } from "../../rpc/Workflow.ts"
import { STEP_IDS } from "../../rpc/Workflow.ts"
import { csvEncoder } from "./CsvWriter.ts"
import type { ColumnSpec, ExportRow } from "./ExportColumns.ts"
import { MinknowSheetRefused, type MinknowIssue } from "./ExportErrors.ts"
import { pumpRows, TextRowWriter } from "./RowWriter.ts"

/** The sheet's columns, in MinKNOW's order. */
export const MINKNOW_COLUMNS: ReadonlyArray<ColumnSpec> = [
  "flow_cell_id",
  "position_id",
  "experiment_id",
  "sample_id",
  "flow_cell_product_code",
  "kit",
  "barcode",
  "alias",
  "type"
].map((id) => ({ id, header: id, type: "string", width: 16 }))

/** The most characters Dorado accepts in experiment_id, sample_id and alias. */
export const MINKNOW_MAX_ID = 40

/** What the sheet needs of one sample on the flow cell. */
export interface MinknowSample {
  readonly sampleId: string
  readonly sampleName: string
  readonly flowCellId: string | null
  readonly positionId: string | null
  readonly flowCellProductCode: string | null
  readonly kit: string | null
  readonly barcodeKit: string | null
  readonly barcode: string | null
  readonly control: "positive" | "blank" | null
  /** An alias other than the sample name (optional). */
  readonly alias?: string | undefined
}

/** One flow cell's sheet request. */
export interface MinknowSheetRequest {
  readonly flowCellId: string
  readonly experimentId: string
  /** The flow cell's sample_id (default: the only sample's name, else the experiment id). */
  readonly sampleId?: string | undefined
  readonly samples: ReadonlyArray<MinknowSample>
}

const text = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null)
const stepData = (state: SampleState, step: (typeof STEP_IDS)[number]): Readonly<Record<string, unknown>> => {
  const data = state.steps[STEP_IDS.indexOf(step)]?.data
  return typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {}
}

/** A sample's sheet fields, read from its library preparation and sequencing set-up records. */
export const minknowSampleOf = (state: SampleState): MinknowSample => {
  const prep = stepData(state, "library_prep")
  const setup = stepData(state, "sequencing_setup")
  return {
    sampleId: state.id,
    sampleName: state.sampleName,
    flowCellId: text(setup["flowCellId"]),
    positionId: text(setup["position"]),
    flowCellProductCode: text(setup["flowCellProductCode"]),
    kit: text(prep["kit"]),
    barcodeKit: text(prep["barcodeKit"]),
    barcode: text(prep["barcode"]),
    control: state.details.control ?? null
  }
}

/** `s` with every character outside `[A-Za-z0-9_-]` replaced by `_` (one for one; nothing cut). */
export const sanitiseMinknowId = (s: string): string => s.trim().replace(/[^A-Za-z0-9_-]/g, "_")

const RESERVED_ALIAS = /^(barcode\d+|unclassified|mixed)$/i
const BARCODE = /^barcode(\d+)$/
const KIT = /^[A-Z0-9-]+$/
const POSITION = /^[A-Za-z0-9_-]+$/
const FLOW_CELL = /^[A-Za-z0-9_-]+$/

/** A kit as MinKNOW spells it: `SQK-NBD114.24` → `SQK-NBD114-24`. */
export const minknowKit = (kit: string): string => kit.trim().toUpperCase().replace(/\./g, "-")

/** How many barcodes a kit's set has, when its name says (`…-24`, `…-96`, `…-12`). */
const barcodeSetSize = (kit: string): number | undefined => {
  const m = /-(12|24|96)$/.exec(kit)
  return m === null ? undefined : Number(m[1])
}

type RowRef = MinknowIssue["rows"][number]

/**
 * The sheet's rows for one flow cell, sorted by barcode number, or every reason it cannot be written. Pure: the
 * export job calls it before it opens any file.
 */
export const minknowSheet = (request: MinknowSheetRequest): Either.Either<ReadonlyArray<ExportRow>, MinknowSheetRefused> => {
  const issues: Array<MinknowIssue> = []
  const refs: Array<RowRef> = request.samples.map((s, i) => ({ row: i + 1, sampleId: s.sampleId, sampleName: s.sampleName }))
  const all = refs
  const issue = (kind: MinknowIssue["kind"], field: string, message: string, rows: ReadonlyArray<RowRef>) =>
    issues.push({ kind, field, message, rows: [...rows] })

  /** A sanitised id field, checked for emptiness and length. */
  const idField = (field: string, raw: string, rows: ReadonlyArray<RowRef>): string => {
    const v = sanitiseMinknowId(raw)
    if (v === "") issue("empty", field, `${field} is empty`, rows)
    else if (v.length > MINKNOW_MAX_ID) {
      issue("too_long", field, `${field} "${v}" has ${v.length} characters; at most ${MINKNOW_MAX_ID} are allowed`, rows)
    }
    return v
  }
  /** The one value a field has on every row, or an issue naming the rows of each differing value. */
  const agreed = (field: string, values: ReadonlyArray<string | null>, required: boolean): string | null => {
    const byValue = new Map<string, Array<RowRef>>()
    const missing: Array<RowRef> = []
    values.forEach((v, i) => {
      if (v === null) missing.push(refs[i]!)
      else byValue.set(v, [...(byValue.get(v) ?? []), refs[i]!])
    })
    if (required && missing.length > 0) issue("missing_value", field, `${field} is not recorded`, missing)
    if (byValue.size > 1) {
      issue("conflicting_values", field, `one flow cell has several ${field} values: ${[...byValue.keys()].join(", ")}`, [...byValue.values()].flat())
    }
    return byValue.size === 1 ? [...byValue.keys()][0]! : null
  }

  const samples = request.samples
  if (samples.length === 0) issue("no_samples", "flow_cell_id", `no samples are set up on flow cell ${request.flowCellId}`, [])

  const flowCellId = request.flowCellId.trim()
  if (!FLOW_CELL.test(flowCellId)) issue("invalid_characters", "flow_cell_id", `flow cell id "${flowCellId}" may contain only A-Z, a-z, 0-9, _ and -`, [])
  const elsewhere = refs.filter((_, i) => samples[i]!.flowCellId !== request.flowCellId)
  if (elsewhere.length > 0) issue("wrong_flow_cell", "flow_cell_id", `these samples are not set up on flow cell ${request.flowCellId}`, elsewhere)

  const experimentId = idField("experiment_id", request.experimentId, [])
  const only = samples.length === 1 ? samples[0] : undefined
  const sampleId = idField("sample_id", request.sampleId ?? only?.sampleName ?? request.experimentId, only ? all : [])

  const position = agreed("position_id", samples.map((s) => s.positionId?.trim() || null), false)
  if (position !== null && !POSITION.test(position)) {
    issue("invalid_characters", "position_id", `position "${position}" may contain only A-Z, a-z, 0-9, _ and -`, all)
  }
  const product = agreed("flow_cell_product_code", samples.map((s) => s.flowCellProductCode?.trim().toUpperCase() || null), true)
  if (product !== null && !KIT.test(product)) {
    issue("invalid_characters", "flow_cell_product_code", `product code "${product}" may contain only A-Z, 0-9 and -`, all)
  }
  const kits = samples.map((s) => {
    if (s.kit === null) return null
    const kit = minknowKit(s.kit)
    const extra = s.barcodeKit === null ? null : minknowKit(s.barcodeKit)
    return extra === null || extra === kit ? kit : `${kit} ${extra}`
  })
  const kit = agreed("kit", kits, true)
  if (kit !== null && !kit.split(" ").every((k) => KIT.test(k))) {
    issue("invalid_characters", "kit", `kit "${kit}" may contain only A-Z, 0-9 and -`, all)
  }

  // Barcodes: all or (for one sample) none; each once; inside the kit's set.
  const barcoded = refs.filter((_, i) => samples[i]!.barcode !== null)
  const pooled = samples.length > 1
  if (pooled && barcoded.length < samples.length) {
    issue("barcode_missing", "barcode", "several samples share this flow cell, so every one needs a barcode", refs.filter((_, i) => samples[i]!.barcode === null))
  }
  const byBarcode = new Map<string, Array<RowRef>>()
  const setSize = kit === null ? undefined : barcodeSetSize(kit.split(" ").at(-1)!)
  samples.forEach((s, i) => {
    if (s.barcode === null) return
    const m = BARCODE.exec(s.barcode)
    const n = m === null ? NaN : Number(m[1])
    if (m === null || n < 1) {
      issue("invalid_characters", "barcode", `"${s.barcode}" is not a barcode name (barcode01 … barcode96)`, [refs[i]!])
    } else if (setSize !== undefined && n > setSize) {
      issue("barcode_not_in_kit", "barcode", `${s.barcode} is not in the ${setSize}-barcode set of ${kit}`, [refs[i]!])
    }
    byBarcode.set(s.barcode, [...(byBarcode.get(s.barcode) ?? []), refs[i]!])
  })
  for (const [barcode, rows] of byBarcode) {
    if (rows.length > 1) {
      issue("barcode_collision", "barcode", `${barcode} is used by ${rows.length} samples on flow cell ${request.flowCellId}: ${rows.map((r) => `row ${r.row} (${r.sampleName})`).join(", ")}`, rows)
    }
  }

  // Aliases: only with a barcode, sanitised, never a reserved name, each once.
  const aliases = samples.map((s, i) => {
    const ref = refs[i]!
    if (s.barcode === null) {
      if (s.alias !== undefined) issue("alias_without_barcode", "alias", "an alias needs a barcode", [ref])
      return null
    }
    const alias = idField("alias", s.alias ?? s.sampleName, [ref])
    if (RESERVED_ALIAS.test(alias)) {
      issue("alias_reserved", "alias", `alias "${alias}" is a name Dorado uses for its own output (barcodeNN, unclassified, mixed)`, [ref])
    }
    return alias
  })
  const byAlias = new Map<string, Array<RowRef>>()
  aliases.forEach((a, i) => {
    if (a !== null && a !== "") byAlias.set(a.toLowerCase(), [...(byAlias.get(a.toLowerCase()) ?? []), refs[i]!])
  })
  for (const [alias, rows] of byAlias) {
    if (rows.length > 1) issue("alias_collision", "alias", `alias "${alias}" would name ${rows.length} samples (after sanitising)`, rows)
  }

  if (issues.length > 0) {
    return Either.left(new MinknowSheetRefused({
      flowCellId: request.flowCellId,
      message: `the MinKNOW sample sheet of flow cell ${request.flowCellId} cannot be written: ${issues.map((i) => i.message).join("; ")}`,
      issues
    }))
  }

  // In MINKNOW_COLUMNS order.
  const rows = samples.map((s, i): ExportRow => [
    flowCellId,
    position,
    experimentId,
    sampleId,
    product,
    kit,
    s.barcode,
    aliases[i] ?? null,
    s.barcode === null ? null : s.control === "positive" ? "positive_control" : s.control === "blank" ? "negative_control" : "test_sample"
  ])
  const barcodeNumber = (s: MinknowSample) => (s.barcode === null ? 0 : Number(BARCODE.exec(s.barcode)?.[1] ?? 0))
  const order = samples.map((s, i) => ({ n: barcodeNumber(s), i })).sort((a, b) => a.n - b.n || a.i - b.i)
  return Either.right(order.map(({ i }) => rows[i]!))
}

/** A writer of sheet rows (from `minknowSheet`) into `sink`: the CSV dialect MinKNOW reads (LF, no guard needed). */
export const minknowWriter = (sink: Writable): TextRowWriter =>
  new TextRowWriter("minknow", csvEncoder(MINKNOW_COLUMNS, { formulaGuard: false, newline: "\n" }), sink)

/** Writes checked sheet rows into `sink`; resolves with the row count. */
export const writeMinknowSheet = (rows: ReadonlyArray<ExportRow>, sink: Writable): Promise<number> =>
  pumpRows(minknowWriter(sink), rows)
