/** XML: checked well-formed by a strict parser (saxes, as exceljs uses), rows rebuilt and compared; hostile text. */
import { describe, expect, it } from "@effect/vitest"
import { SaxesParser } from "saxes"
import { EXPORT_COLUMNS, rowOf, type ColumnSpec, type ExportRow, type ExportValue } from "./ExportColumns.ts"
import { HOSTILE_TEXT } from "./HostileText.ts"
import { pumpRows } from "./RowWriter.ts"
import { syntheticSamples } from "./SyntheticSamples.ts"
import { MemorySink } from "./TestSinks.ts"
import { xmlWriter } from "./XmlWriter.ts"

interface Parsed {
  readonly root: { readonly name: string; readonly attributes: Readonly<Record<string, string>> }
  readonly columns: ReadonlyArray<{ readonly id: string; readonly type: string; readonly header: string }>
  readonly samples: ReadonlyArray<Readonly<Record<string, string>>>
  /** Element paths seen, to check the layout. */
  readonly paths: ReadonlySet<string>
}

/** Parses the document strictly (any well-formedness or character error throws) into its documented parts. */
const parseXml = (text: string): Parsed => {
  const parser = new SaxesParser()
  const stack: Array<string> = []
  const paths = new Set<string>()
  let root: Parsed["root"] | undefined
  const columns: Array<Parsed["columns"][number]> = []
  const samples: Array<Record<string, string>> = []
  let current: Record<string, string> | undefined
  let column: { id: string; type: string } | undefined
  let buffer = ""
  parser.on("error", (e) => {
    throw e
  })
  parser.on("opentag", (tag) => {
    stack.push(tag.name)
    paths.add(stack.join("/"))
    buffer = ""
    if (stack.length === 1) root = { name: tag.name, attributes: { ...tag.attributes } }
    if (tag.name === "sample") current = {}
    if (tag.name === "column") column = { id: tag.attributes["id"] ?? "", type: tag.attributes["type"] ?? "" }
  })
  parser.on("text", (t) => {
    buffer += t
  })
  parser.on("closetag", (tag) => {
    if (stack.length === 4 && current !== undefined) current[tag.name] = buffer
    if (tag.name === "sample" && current !== undefined) samples.push(current)
    if (tag.name === "column" && column !== undefined) columns.push({ ...column, header: buffer })
    stack.pop()
    buffer = ""
  })
  parser.write(text).close()
  if (root === undefined) throw new Error("no root element")
  return { root, columns, samples, paths }
}

const COLUMNS: ReadonlyArray<ColumnSpec> = [
  { id: "text", header: "Text <&> \"quoted\"", type: "string", width: 10 },
  { id: "n", header: "N", type: "number", width: 5 },
  { id: "at", header: "At", type: "date", width: 20 },
  { id: "ok", header: "OK", type: "boolean", width: 5 }
]

/** What a row must read back as: one element per non-null value, as text. */
const expectedXml = (columns: ReadonlyArray<ColumnSpec>, row: ExportRow, clean: (s: string) => string = (s) => s) =>
  Object.fromEntries(columns.flatMap((c, i) => {
    const v: ExportValue = row[i] ?? null
    if (v === null) return []
    return [[c.id, v instanceof Date ? v.toISOString() : typeof v === "string" ? clean(v) : String(v)]]
  }))

const write = async (columns: ReadonlyArray<ColumnSpec>, rows: Iterable<ExportRow>) => {
  const sink = new MemorySink()
  await pumpRows(xmlWriter(columns, sink), rows)
  return sink.text()
}

describe("XmlWriter", () => {
  it("is well-formed with the documented layout: export > columns > column, export > samples > sample > one element per value", async () => {
    const doc = parseXml(await write(COLUMNS, [["a", 1, null, true]]))
    expect(doc.root).toEqual({ name: "export", attributes: { format: "poretrack-samples", version: "1" } })
    expect(doc.columns).toEqual([
      { id: "text", type: "string", header: "Text <&> \"quoted\"" },
      { id: "n", type: "number", header: "N" },
      { id: "at", type: "date", header: "At" },
      { id: "ok", type: "boolean", header: "OK" }
    ])
    expect([...doc.paths].sort()).toEqual([
      "export",
      "export/columns",
      "export/columns/column",
      "export/samples",
      "export/samples/sample",
      "export/samples/sample/n",
      "export/samples/sample/ok",
      "export/samples/sample/text"
    ])
    // A null value has no element at all.
    expect(doc.samples).toEqual([{ text: "a", n: "1", ok: "true" }])
  })

  it("hostile text stays well-formed and reads back: markup escaped, CR kept, NUL, lone surrogates and U+FFFE/U+FFFF replaced", async () => {
    const rows = HOSTILE_TEXT.map(([text], i): ExportRow => [text, -i - 0.5, new Date(Date.UTC(2025, 0, 6, 9, i)), i % 2 === 0])
    const cleaned = new Map(HOSTILE_TEXT)
    const doc = parseXml(await write(COLUMNS, rows))
    expect(doc.samples).toEqual(rows.map((r) => expectedXml(COLUMNS, r, (s) => cleaned.get(s) ?? s)))
  })

  it("sample rows of every column come back row by row", async () => {
    const rows = Array.from(syntheticSamples(300), rowOf(EXPORT_COLUMNS))
    const doc = parseXml(await write(EXPORT_COLUMNS, rows))
    expect(doc.columns.map((c) => c.id)).toEqual(EXPORT_COLUMNS.map((c) => c.id))
    expect(doc.samples).toEqual(rows.map((r) => expectedXml(EXPORT_COLUMNS, r)))
  })

  it("an empty export is a well-formed document with no sample", async () => {
    const doc = parseXml(await write(COLUMNS, []))
    expect(doc.samples).toEqual([])
    expect(doc.paths.has("export/samples")).toBe(true)
  })

  it("a huge string (2 MiB of markup) is one intact value", async () => {
    const huge = "<a>&</a>\r\n".repeat(200 * 1024)
    const doc = parseXml(await write(COLUMNS.slice(0, 1), [[huge]]))
    expect(doc.samples[0]!["text"]).toBe(huge)
  })
})
