/** The typed refusal of the PDF reader: a file it cannot read, with the reason a person can act on. */
import { Schema } from "effect"

/** Why a file could not be read; each one is told apart so that the person uploading can fix the right thing. */
export const PdfUnreadableReason = Schema.Literal(
  "empty",
  "not_pdf",
  "truncated",
  "encrypted",
  "too_many_pages",
  "no_text_layer",
  "damaged",
  "timeout"
)
export type PdfUnreadableReason = typeof PdfUnreadableReason.Type

/** A PDF that yields no usable layout: never a crash, always one of the reasons above and a one-line detail. */
export class PdfUnreadable extends Schema.TaggedError<PdfUnreadable>()("PdfUnreadable", {
  reason: PdfUnreadableReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.reason}: ${this.detail}`
  }
}
