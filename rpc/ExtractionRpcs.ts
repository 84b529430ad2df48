/**
 * AI intake of PDF forms as typed RPCs (`Extractions.*`), the same operations as the REST routes of
 * rpc/ExtractionsApi.ts: upload a PDF, read a job, list the caller's jobs, confirm the reviewed form into a submission
 * (all or nothing). The group carries no middleware of its own: rpc/PoretrackRpcs.ts merges it before applying
 * `RpcAuthentication` to every RPC (importing that tag here would make the two modules import each other).
 */
import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { Forbidden } from "./Auth.ts"
import { CreatedSubmission } from "./Api.ts"
import { IdempotencyKeyReused, InvalidInput, SubmissionRejected } from "./Errors.ts"
import { ConfirmExtraction, ExtractionAccepted, ExtractionNotConfirmable, ExtractionNotFound, ExtractionStatus, ExtractionView } from "./ExtractionsApi.ts"
import { SafeText } from "./SafeText.ts"

/**
 * The largest PDF an RPC upload carries: 700 KiB, whose base64 text (under 1 MB) fits the door's default body limit
 * of `/rpc`; larger forms go through the multipart `POST /api/v1/extractions` (up to EXTRACTION_MAX_UPLOAD_BYTES).
 */
export const MAX_RPC_PDF_BYTES = 700 * 1024

/** The PDF's bytes, base64 on the wire (a third larger, not four times as a JSON array of numbers would be). */
export const PdfBytes = Schema.compose(
  Schema.String.pipe(Schema.maxLength(Math.ceil(MAX_RPC_PDF_BYTES / 3) * 4, { message: () => `the PDF is over the RPC limit of ${MAX_RPC_PDF_BYTES} bytes; upload larger files to POST /api/v1/extractions` })),
  Schema.Uint8ArrayFromBase64
)

/** The choices of the facility form's option groups (actors/extraction/SubmissionForm.ts builds its schema on them). */
export const FORM_SAMPLE_TYPES = ["hmw_dna", "fragmented_dna", "amplicon", "cdna", "rna"] as const
export const FORM_BUFFERS = ["EB", "nuclease_free_water", "TE", "other"] as const
export const FORM_DEVICES = ["MinION", "PromethION", "GridION", "Flongle"] as const
export const FORM_BASECALLING = ["fast", "hac", "sup", "methylation"] as const
export const FORM_FILE_FORMATS = ["fastq_bam", "pod5"] as const
export const FORM_RETRIEVAL = ["its_proj", "url", "prearranged", "other"] as const
export const FORM_CONTROLS = ["positive", "blank"] as const

/** A file name as shown on the review page. */
const FileName = SafeText.pipe(Schema.minLength(1), Schema.maxLength(255))

/** An extraction id (UUID). */
const ExtractionIdField = Schema.UUID

/** One extraction in a list: no result, only what a list row shows. */
export const ExtractionSummary = Schema.Struct({
  id: Schema.String,
  fileName: Schema.String,
  status: ExtractionStatus,
  error: Schema.NullOr(Schema.String),
  submissionId: Schema.NullOr(Schema.String),
  createdAt: Schema.String
})
export type ExtractionSummary = typeof ExtractionSummary.Type

/** How many of the newest extractions to list (50 by default). */
export const ListExtractions = Schema.Struct({ limit: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 200)), { default: () => 50 }) })

/** The caller's extractions (a submitter: their own), newest first. */
export const ExtractionList = Schema.Struct({ items: Schema.Array(ExtractionSummary) })

/** Every intake RPC; handlers in runtime/ExtractionRpcHandlers.ts. */
export class ExtractionRpcs extends RpcGroup.make(
  Rpc.make("Extractions.Upload", {
    payload: { fileName: FileName, pdf: PdfBytes },
    success: ExtractionAccepted,
    error: Schema.Union(InvalidInput, Forbidden)
  }),
  Rpc.make("Extractions.Get", { payload: { id: ExtractionIdField }, success: ExtractionView, error: Schema.Union(ExtractionNotFound, Forbidden) }),
  Rpc.make("Extractions.List", {
    payload: ListExtractions,
    success: ExtractionList,
    error: Schema.Union(InvalidInput, Forbidden)
  }),
  Rpc.make("Extractions.Confirm", {
    payload: { id: ExtractionIdField, ...ConfirmExtraction.fields },
    success: CreatedSubmission,
    error: Schema.Union(ExtractionNotFound, ExtractionNotConfirmable, SubmissionRejected, InvalidInput, IdempotencyKeyReused, Forbidden)
  })
) {}
