/** The documented column list: choice by id, typed values read from the persisted sample state. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { readFile } from "node:fs/promises"
import { STEP_IDS } from "../../rpc/Workflow.ts"
import {
  DEFAULT_COLUMN_IDS,
  EXPORT_COLUMN_IDS,
  EXPORT_COLUMNS,
  rowOf,
  selectColumns,
  type ColumnType,
  type ExportRow,
  type ExportValue
} from "./ExportColumns.ts"
import { UnknownExportColumn } from "./ExportErrors.ts"
import { syntheticSample } from "./SyntheticSamples.ts"

const typeOf = (v: ExportValue): ColumnType | "null" =>
  v === null ? "null" : v instanceof Date ? "date" : typeof v === "string" ? "string" : typeof v === "number" ? "number" : "boolean"

describe("ExportColumns", () => {
  it("ids are unique, lower-case snake_case (valid XML names and JSON keys) and every column is documented", () => {
    expect(new Set(EXPORT_COLUMN_IDS).size).toBe(EXPORT_COLUMN_IDS.length)
    for (const c of EXPORT_COLUMNS) {
      expect(c.id).toMatch(/^[a-z][a-z0-9_]*$/)
      expect(c.header.length).toBeGreaterThan(0)
      expect(c.description.length).toBeGreaterThan(0)
      expect(c.width).toBeGreaterThan(0)
    }
    for (const id of DEFAULT_COLUMN_IDS) expect(EXPORT_COLUMN_IDS).toContain(id)
  })

  it("docs/exports.md documents every column, with its header and type", async () => {
    const doc = await readFile(new URL("../../docs/exports.md", import.meta.url), "utf8")
    for (const c of EXPORT_COLUMNS) expect(doc, c.id).toContain(`| \`${c.id}\` | ${c.header} | ${c.type} |`)
  })

  it.effect("no choice gives the default columns; a choice keeps its order and drops repeats", () =>
    Effect.gen(function*() {
      expect((yield* selectColumns()).map((c) => c.id)).toEqual(DEFAULT_COLUMN_IDS)
      expect((yield* selectColumns([])).map((c) => c.id)).toEqual(DEFAULT_COLUMN_IDS)
      const chosen = yield* selectColumns(["status", "sample_name", "status", "yield_gb"])
      expect(chosen.map((c) => c.id)).toEqual(["status", "sample_name", "yield_gb"])
    }))

  it.effect("unknown columns fail the choice with UnknownExportColumn naming each of them once", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(selectColumns(["sample_name", "colour", "DROP TABLE", "colour"]))
      expect(exit).toStrictEqual(Exit.fail(new UnknownExportColumn({ columns: ["colour", "DROP TABLE"], known: EXPORT_COLUMN_IDS })))
    }))

  it("every value has its column's type or is null, across every status and step", () => {
    const seen = new Map<string, Set<string>>()
    const all = rowOf(EXPORT_COLUMNS)
    for (let i = 0; i < 60; i++) {
      const row = all(syntheticSample(i))
      for (const [k, c] of EXPORT_COLUMNS.entries()) {
        const t = typeOf(row[k] ?? null)
        expect([c.type, "null"]).toContain(t)
        seen.set(c.id, (seen.get(c.id) ?? new Set()).add(t))
      }
    }
    // Every column has real values somewhere in the synthetic facility (else the test proves nothing about it).
    for (const c of EXPORT_COLUMNS) {
      expect(seen.get(c.id)?.has(c.type), c.id).toBe(true)
    }
  })

  it("reads the sample state as the sample list shows it: current step only while being worked, times as instants", () => {
    const completed = syntheticSample(8)
    expect(completed.state.status).toBe("completed")
    const running = syntheticSample(3)
    expect(running.state.status).toBe("in_progress")
    const at = (row: ExportRow, id: string) => row[EXPORT_COLUMN_IDS.indexOf(id)]
    const toRow = rowOf(EXPORT_COLUMNS)
    const done = toRow(completed)
    expect(at(done, "current_step")).toBeNull()
    expect(at(done, "completed_at")).toEqual(new Date(completed.state.completedAt!))
    expect(at(done, "qa_passed")).toBe(true)
    expect(at(done, "delivered_at")).toBeInstanceOf(Date)
    const busy = toRow(running)
    expect(at(busy, "current_step")).toBe(STEP_IDS[running.state.current])
    expect(at(busy, "due_at")).toEqual(new Date(running.state.sla.turnaround!.dueAt))
    expect(at(busy, "submission")).toBe(running.submissionNumber)
  })

  it("a recorded value of the wrong type is exported as empty, never as something else", () => {
    const sample = syntheticSample(8)
    const steps = sample.state.steps.map((s) =>
      s.step === "sequencing_run" ? { ...s, data: { runId: 42, yieldGb: "lots", reads: Number.NaN, startedAt: "not a date" } } : s
    )
    const chosen = ["run_id", "yield_gb", "reads", "run_started_at", "n50"]
    const row = rowOf(EXPORT_COLUMNS.filter((c) => chosen.includes(c.id)))({ ...sample, state: { ...sample.state, steps } })
    expect(row).toEqual([null, null, null, null, null])
  })
})
