/**
 * XML, streamed, always well-formed. The element layout (also in docs/exports.md):
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <export format="poretrack-samples" version="1">
 *     <columns>
 *       <column id="sample_id" type="string">Sample ID</column>        one per chosen column, in order
 *       …
 *     </columns>
 *     <samples>
 *       <sample><sample_id>…</sample_id><created_at>2025-01-06T09:00:00.000Z</created_at>…</sample>
 *       …                                                               one line per row
 *     </samples>
 *   </export>
 *
 * Inside `<sample>`, one element per chosen column, named by the column id, in column order; a null value has no
 * element. Values: text as is (escaped: `&amp; &lt; &gt;`, and CR as `&#13;` so that a parser does not turn CRLF into
 * LF), numbers as JavaScript prints them (an xs:double), booleans `true`/`false`, dates ISO 8601 in UTC. Characters
 * XML 1.0 cannot hold (NUL and other C0 controls, U+FFFE/U+FFFF, lone surrogates) are replaced with U+FFFD, as in every
 * format (ExportText.ts). Column ids are lower-case snake_case, so always valid element names.
 */
import type { Writable } from "node:stream"
import type { ColumnSpec, ExportValue } from "./ExportColumns.ts"
import { cleanText, isoTime } from "./ExportText.ts"
import { TextRowWriter, type TextEncoder } from "./RowWriter.ts"

const TEXT_SPECIAL = /[&<>\r]/
const TEXT_SPECIAL_ALL = /[&<>\r]/g
const ATTR_SPECIAL_ALL = /[&<>"\t\n\r]/g
const ENTITY: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\"": "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;"
}
const entity = (c: string) => ENTITY[c] ?? c

/** Text as XML element content: cleaned and escaped. */
export const xmlText = (s: string): string => {
  const t = cleanText(s)
  return TEXT_SPECIAL.test(t) ? t.replace(TEXT_SPECIAL_ALL, entity) : t
}

/** Text as an XML attribute value (inside double quotes). */
export const xmlAttribute = (s: string): string => cleanText(s).replace(ATTR_SPECIAL_ALL, entity)

/** One value as element content; undefined for null (no element). */
export const xmlValue = (v: ExportValue): string | undefined => {
  if (v === null) return undefined
  if (typeof v === "string") return xmlText(v)
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : undefined
  if (typeof v === "boolean") return v ? "true" : "false"
  const ms = v.getTime()
  return Number.isNaN(ms) ? undefined : isoTime(ms)
}

/** An XML element name is what a column id must be (checked once per writer, not per row). */
const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/

/** The XML encoder of `columns`. */
export const xmlEncoder = (columns: ReadonlyArray<ColumnSpec>): TextEncoder => {
  for (const c of columns) {
    if (!ELEMENT_NAME.test(c.id) || c.id.toLowerCase().startsWith("xml")) {
      throw new Error(`column id ${JSON.stringify(c.id)} is not a valid XML element name`)
    }
  }
  const ids = columns.map((c) => c.id)
  const open = ids.map((id) => `<${id}>`)
  const close = ids.map((id) => `</${id}>`)
  const n = ids.length
  return {
    head: () =>
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<export format=\"poretrack-samples\" version=\"1\">\n<columns>\n" +
      columns.map((c) => `<column id="${xmlAttribute(c.id)}" type="${c.type}">${xmlText(c.header)}</column>\n`).join("") +
      "</columns>\n<samples>\n",
    row: (row) => {
      let out = "<sample>"
      for (let i = 0; i < n; i++) {
        const v = row[i]
        const text = xmlValue(v === undefined ? null : v)
        if (text !== undefined) out += open[i]! + text + close[i]!
      }
      return out + "</sample>\n"
    },
    tail: () => "</samples>\n</export>\n"
  }
}

/** A streaming XML writer of `columns` into `sink`. */
export const xmlWriter = (columns: ReadonlyArray<ColumnSpec>, sink: Writable): TextRowWriter =>
  new TextRowWriter("xml", xmlEncoder(columns), sink)
