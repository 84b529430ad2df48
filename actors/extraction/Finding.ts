/** A validation or recommendation note on an extracted form, citing the knowledge-base passage it rests on. */
import { Schema } from "effect"

/** One finding: the field path at fault (as in `confidence`), what is wrong or advised, and the cited passage id. */
export const Finding = Schema.Struct({
  path: Schema.String,
  severity: Schema.Literal("warning", "info"),
  message: Schema.String,
  passageId: Schema.String
})
export type Finding = typeof Finding.Type

/** The one-line form of a finding used in `warnings`: `path: message [kb:passage]`. */
export const findingText = (f: Finding): string => `${f.path}: ${f.message} [kb:${f.passageId}]`
