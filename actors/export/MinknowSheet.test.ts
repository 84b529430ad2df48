/** The MinKNOW sample sheet: its rules (Dorado's limits, aliases, barcodes), refusals that name rows, the CSV itself. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit } from "effect"
import Papa from "papaparse"
import { MinknowSheetRefused, type MinknowIssue } from "./ExportErrors.ts"
import { writeMinknowSheet } from "./ExportWriter.ts"
import {
  MINKNOW_COLUMNS,
  minknowSampleOf,
  minknowSheet,
  type MinknowSample,
  type MinknowSheetRequest
} from "./MinknowSheet.ts"
import { syntheticSample, syntheticUuid } from "./SyntheticSamples.ts"
import { MemorySink } from "./TestSinks.ts"

const FLOW_CELL = "PAW12345"

/** A sample set up on FLOW_CELL with native barcoding, barcode `n`. */
const sample = (n: number, fields: Partial<MinknowSample> = {}): MinknowSample => ({
  sampleId: syntheticUuid(n),
  sampleName: `isolate ${n}`,
  flowCellId: FLOW_CELL,
  positionId: "1A",
  flowCellProductCode: "FLO-PRO114M",
  kit: "SQK-NBD114.24",
  barcodeKit: null,
  barcode: `barcode${String(n).padStart(2, "0")}`,
  control: null,
  ...fields
})

const request = (samples: ReadonlyArray<MinknowSample>, fields: Partial<MinknowSheetRequest> = {}): MinknowSheetRequest => ({
  flowCellId: FLOW_CELL,
  experimentId: "HTSF--JL-147",
  samples,
  ...fields
})

/** The issues of a refused sheet (fails the test when the sheet was accepted). */
const issuesOf = (r: MinknowSheetRequest): ReadonlyArray<MinknowIssue> =>
  Either.match(minknowSheet(r), {
    onLeft: (e) => e.issues,
    onRight: () => expect.fail("the sheet was accepted")
  })

/** Writes the sheet and parses it back as MinKNOW would: a header row, then records keyed by column. */
const sheetOf = async (r: MinknowSheetRequest) => {
  const sink = new MemorySink()
  const count = await Effect.runPromise(writeMinknowSheet(r, sink))
  const text = sink.text()
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true })
  expect(parsed.errors).toEqual([])
  return { text, count, header: parsed.meta.fields, records: parsed.data }
}

describe("MinknowSheet", () => {
  it("a pooled flow cell: one row per barcode in barcode order, MinKNOW's columns, one experiment_id and sample_id, LF line ends", async () => {
    const samples = [sample(3), sample(1, { control: "positive" }), sample(2, { control: "blank" })]
    const { text, count, header, records } = await sheetOf(request(samples, { sampleId: "pool_A" }))
    expect(count).toBe(3)
    expect(header).toEqual(["flow_cell_id", "position_id", "experiment_id", "sample_id", "flow_cell_product_code", "kit", "barcode", "alias", "type"])
    expect(MINKNOW_COLUMNS.map((c) => c.id)).toEqual(header)
    expect(text).not.toContain("\r")
    expect(records).toEqual([
      { flow_cell_id: FLOW_CELL, position_id: "1A", experiment_id: "HTSF--JL-147", sample_id: "pool_A", flow_cell_product_code: "FLO-PRO114M", kit: "SQK-NBD114-24", barcode: "barcode01", alias: "isolate_1", type: "positive_control" },
      { flow_cell_id: FLOW_CELL, position_id: "1A", experiment_id: "HTSF--JL-147", sample_id: "pool_A", flow_cell_product_code: "FLO-PRO114M", kit: "SQK-NBD114-24", barcode: "barcode02", alias: "isolate_2", type: "negative_control" },
      { flow_cell_id: FLOW_CELL, position_id: "1A", experiment_id: "HTSF--JL-147", sample_id: "pool_A", flow_cell_product_code: "FLO-PRO114M", kit: "SQK-NBD114-24", barcode: "barcode03", alias: "isolate_3", type: "test_sample" }
    ])
    // Every id field is within Dorado's limits.
    for (const r of records) {
      for (const f of ["experiment_id", "sample_id", "alias"]) expect(r[f]).toMatch(/^[A-Za-z0-9_-]{1,40}$/)
    }
  })

  it("one sample without a barcode: no barcode, alias or type, and its name as sample_id; the experiment id is the default for pools", async () => {
    const { records } = await sheetOf(request([sample(1, { barcode: null, kit: "SQK-LSK114", sampleName: "HG002 run.2" })]))
    expect(records).toEqual([
      { flow_cell_id: FLOW_CELL, position_id: "1A", experiment_id: "HTSF--JL-147", sample_id: "HG002_run_2", flow_cell_product_code: "FLO-PRO114M", kit: "SQK-LSK114", barcode: "", alias: "", type: "" }
    ])
    const pool = await sheetOf(request([sample(1), sample(2)]))
    expect(pool.records.map((r) => r["sample_id"])).toEqual(["HTSF--JL-147", "HTSF--JL-147"])
  })

  it("names are sanitised to [A-Za-z0-9_-] one character for one; a result over 40 characters is refused, never cut", () => {
    const forty = "a".repeat(40)
    expect(Either.isRight(minknowSheet(request([sample(1, { sampleName: forty })])))).toBe(true)
    const issues = issuesOf(request([sample(1, { sampleName: `${forty} x` }), sample(2)]))
    expect(issues).toEqual([{
      kind: "too_long",
      field: "alias",
      message: `alias "${forty}_x" has 42 characters; at most 40 are allowed`,
      rows: [{ row: 1, sampleId: syntheticUuid(1), sampleName: `${forty} x` }]
    }])
    expect(issuesOf(request([sample(1)], { experimentId: "e".repeat(41) })).map((i) => [i.kind, i.field])).toEqual([["too_long", "experiment_id"]])
  })

  it("an alias is never barcodeNN, unclassified or mixed, in any case", () => {
    const issues = issuesOf(request([
      sample(1, { sampleName: "barcode05" }),
      sample(2, { sampleName: "Unclassified" }),
      sample(3, { sampleName: "BARCODE7" }),
      sample(4, { sampleName: "mixed" }),
      sample(5, { sampleName: "barcode05b" })
    ]))
    expect(issues.map((i) => [i.kind, i.rows.map((r) => r.row)])).toEqual([
      ["alias_reserved", [1]],
      ["alias_reserved", [2]],
      ["alias_reserved", [3]],
      ["alias_reserved", [4]]
    ])
  })

  it("barcode collisions on one flow cell are refused with every colliding row named", () => {
    const refused = minknowSheet(request([sample(1), sample(2), sample(3, { barcode: "barcode01" }), sample(4, { barcode: "barcode02" })]))
    expect(Either.isLeft(refused)).toBe(true)
    const error = Either.getLeft(refused).pipe((o) => (o._tag === "Some" ? o.value : expect.fail("accepted")))
    expect(error).toBeInstanceOf(MinknowSheetRefused)
    expect(error.flowCellId).toBe(FLOW_CELL)
    expect(error.issues.map((i) => ({ kind: i.kind, rows: i.rows.map((r) => r.sampleName) }))).toEqual([
      { kind: "barcode_collision", rows: ["isolate 1", "isolate 3"] },
      { kind: "barcode_collision", rows: ["isolate 2", "isolate 4"] }
    ])
    expect(error.issues[0]!.message).toBe(`barcode01 is used by 2 samples on flow cell ${FLOW_CELL}: row 1 (isolate 1), row 3 (isolate 3)`)
    expect(error.message).toContain("barcode01 is used by 2 samples")
  })

  it("barcode and alias come both or neither: a pool needs every barcode, an alias needs a barcode, names that sanitise alike collide", () => {
    expect(issuesOf(request([sample(1), sample(2, { barcode: null })])).map((i) => [i.kind, i.rows.map((r) => r.row)]))
      .toEqual([["barcode_missing", [2]]])
    expect(issuesOf(request([sample(1, { barcode: null, alias: "mine" })])).map((i) => i.kind)).toEqual(["alias_without_barcode"])
    expect(issuesOf(request([sample(1, { sampleName: "a b" }), sample(2, { sampleName: "a.b" }), sample(3, { sampleName: "A_B" })])))
      .toEqual([{
        kind: "alias_collision",
        field: "alias",
        message: "alias \"a_b\" would name 3 samples (after sanitising)",
        rows: [1, 2, 3].map((n) => ({ row: n, sampleId: syntheticUuid(n), sampleName: ["a b", "a.b", "A_B"][n - 1]! }))
      }])
  })

  it("the flow cell's rows agree: every sample on this flow cell, one position, product and kit; barcodes within the kit's set", () => {
    const issues = issuesOf(request([
      sample(1),
      sample(2, { flowCellId: "PAW99999" }),
      sample(3, { positionId: "2B" }),
      sample(4, { kit: "SQK-RBK114.24" }),
      sample(30)
    ]))
    expect(issues.map((i) => [i.kind, i.field, i.rows.map((r) => r.row)])).toEqual([
      ["wrong_flow_cell", "flow_cell_id", [2]],
      ["conflicting_values", "position_id", [1, 2, 4, 5, 3]],
      ["conflicting_values", "kit", [1, 2, 3, 5, 4]]
    ])
    expect(issuesOf(request([sample(1), sample(30)])).map((i) => [i.kind, i.rows.map((r) => r.row)])).toEqual([["barcode_not_in_kit", [2]]])
    expect(issuesOf(request([])).map((i) => i.kind)).toEqual(["no_samples"])
    expect(issuesOf(request([sample(1, { kit: null })])).map((i) => [i.kind, i.field])).toEqual([["missing_value", "kit"]])
  })

  it("reads a sample's flow cell, position, kit and barcode from its recorded steps", () => {
    const s = syntheticSample(8)
    expect(s.state.status).toBe("completed")
    const m = minknowSampleOf(s.state)
    expect(m).toEqual({
      sampleId: s.state.id,
      sampleName: s.state.sampleName,
      flowCellId: "PAW00000",
      positionId: "9A",
      flowCellProductCode: "FLO-PRO114M",
      kit: "SQK-NBD114.96",
      barcodeKit: "SQK-NBD114.96",
      barcode: "barcode09",
      control: null
    })
  })

  it.effect("through the Effect entry point, a refused sheet is a typed failure and nothing is written", () =>
    Effect.gen(function*() {
      const sink = new MemorySink()
      const exit = yield* Effect.exit(writeMinknowSheet(request([sample(1), sample(1)]), sink))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(exit.cause.toString()).toContain("MinknowSheetRefused")
      expect(sink.bytes().length).toBe(0)
    }))
})
