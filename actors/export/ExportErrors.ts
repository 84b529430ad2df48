/**
 * Typed errors of the export writers and export storage. Each carries what a caller (the export entity, the HTTP
 * layer) needs to tell the user what went wrong; none wraps a raw library error into the contract.
 */
import { Schema } from "effect"

/** The user asked for columns that are not in the documented list (ExportColumns.ts); every unknown one is named. */
export class UnknownExportColumn extends Schema.TaggedError<UnknownExportColumn>()("UnknownExportColumn", {
  columns: Schema.Array(Schema.String),
  known: Schema.Array(Schema.String)
}) {}

/** Writing the file failed (the sink errored or closed early, or the writer was aborted); nothing is marked done. */
/** A stored sample state the export cannot read as a sample's (a damaged row): the export fails naming its sample. */
export class ExportRowUnreadable extends Schema.TaggedError<ExportRowUnreadable>()("ExportRowUnreadable", {
  sampleId: Schema.NullOr(Schema.String),
  message: Schema.String
}) {}

export class ExportWriteFailed extends Schema.TaggedError<ExportWriteFailed>()("ExportWriteFailed", {
  format: Schema.String,
  rowsWritten: Schema.Number,
  message: Schema.String
}) {}

/** One reason a MinKNOW sample sheet cannot be written, with the sheet rows (1-based, input order) it concerns. */
export const MinknowIssue = Schema.Struct({
  kind: Schema.Literal(
    "barcode_collision",
    "alias_collision",
    "alias_reserved",
    "too_long",
    "empty",
    "invalid_characters",
    "barcode_missing",
    "barcode_not_in_kit",
    "alias_without_barcode",
    "conflicting_values",
    "missing_value",
    "wrong_flow_cell",
    "no_samples"
  ),
  field: Schema.String,
  message: Schema.String,
  rows: Schema.Array(Schema.Struct({ row: Schema.Number, sampleId: Schema.String, sampleName: Schema.String }))
})
export type MinknowIssue = typeof MinknowIssue.Type

/** A MinKNOW sample sheet was refused as a whole: every issue found is listed, each naming its rows. */
export class MinknowSheetRefused extends Schema.TaggedError<MinknowSheetRefused>()("MinknowSheetRefused", {
  flowCellId: Schema.String,
  message: Schema.String,
  issues: Schema.Array(MinknowIssue)
}) {}

/** A storage key that is not a safe object name (`[A-Za-z0-9._-]` segments joined by `/`, none starting with `.`). */
export class InvalidExportKey extends Schema.TaggedError<InvalidExportKey>()("InvalidExportKey", {
  key: Schema.String,
  reason: Schema.String
}) {}

/** No stored export under this key (never written, not finished, or cleaned up by retention). */
export class ExportObjectNotFound extends Schema.TaggedError<ExportObjectNotFound>()("ExportObjectNotFound", {
  key: Schema.String
}) {}

/** The storage backend failed an operation (network, permissions, disk full …); `operation` says which. */
export class ExportStorageFailed extends Schema.TaggedError<ExportStorageFailed>()("ExportStorageFailed", {
  operation: Schema.Literal("write", "read", "stat", "presign", "list", "delete"),
  key: Schema.String,
  message: Schema.String
}) {}
