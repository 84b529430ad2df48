/**
 * The deterministic PDF reading pipeline in one call: layout (text, drawing operators, tick boxes), then the rules
 * stage. Fails only with `PdfUnreadable`; a readable file always gives a full `FormExtraction`, with nulls, low
 * confidences and warnings where the form could not be read.
 */
import { Effect } from "effect"
import { formRules } from "./FormRules.ts"
import { type PdfLayoutOptions, readPdfLayout } from "./PdfLayout.ts"

/** Reads a submission form PDF into its result, confidence, evidence and warnings. */
export const readForm = Effect.fn("ReadForm.read")(function* (bytes: Uint8Array, options: PdfLayoutOptions = {}) {
  const layout = yield* readPdfLayout(bytes, options)
  return formRules(layout)
})
