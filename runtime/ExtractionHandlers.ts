/**
 * The handlers of the AI intake routes (rpc/ExtractionsApi.ts). A submitter uploads, reads and confirms only their
 * own extractions; staff (and keys with submissions:write) any. An upload is stored once per owner and content hash
 * and handed to its Extraction entity by a persisted message; confirming maps the reviewed form onto the batch
 * create (all or nothing) and records the edited fields.
 */
import { HttpApiBuilder, HttpIncomingMessage, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Option, Schema } from "effect"
import { createHash, randomUUID } from "node:crypto"
import { Extraction } from "../actors/Extraction.ts"
import { PASSAGES } from "../actors/extraction/KnowledgeBase.ts"
import { SubmissionForm } from "../actors/extraction/SubmissionForm.ts"
import { ExtractionRepo, type ExtractionRow } from "../persistence/ExtractionRepo.ts"
import { actorOf, type Principal } from "../rpc/Auth.ts"
import { decodeSubmission, issuesOf } from "../rpc/Decode.ts"
import { InvalidInput, MalformedRequest } from "../rpc/Errors.ts"
import { type ConfirmExtraction, ExtractionNotConfirmable, ExtractionNotFound } from "../rpc/ExtractionsApi.ts"
import { PayloadTooLarge, UnsupportedMediaType } from "../rpc/HttpErrors.ts"
import { CurrentPrincipal, PoretrackApi } from "../rpc/PoretrackApi.ts"
import { AppSettings } from "./AppSettings.ts"
import { ownEmailOf, requireCreate, requirePermission } from "./Authorization.ts"
import { EXTRACTION_DEFAULTS } from "./Config.ts"
import { SampleApi } from "./SampleApi.ts"

/** The `file` part of a multipart body: its name and bytes, or why there is none. */
export const fileFromMultipart = (body: Uint8Array, contentType: string): Either.Either<{ name: string; bytes: Uint8Array }, string> => {
  const boundary = /boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType)
  if (!boundary) return Either.left("the multipart body has no boundary")
  const marker = Buffer.from(`--${boundary[1] ?? boundary[2]}`)
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  let at = buffer.indexOf(marker)
  while (at >= 0) {
    const headerStart = at + marker.length + 2
    const headerEnd = buffer.indexOf("\r\n\r\n", headerStart)
    if (headerEnd < 0) break
    const next = buffer.indexOf(marker, headerEnd + 4)
    if (next < 0) break
    const headers = buffer.subarray(headerStart, headerEnd).toString("latin1")
    if (/name="file"/i.test(headers)) {
      const name = /filename="([^"]{0,255})"/i.exec(headers)?.[1] ?? "form.pdf"
      return Either.right({ name: name.replace(/[^\x20-\x7e]/g, "_"), bytes: new Uint8Array(buffer.subarray(headerEnd + 4, Math.max(headerEnd + 4, next - 2))) })
    }
    at = next
  }
  return Either.left("the multipart body has no part named `file`")
}

const isUuid = Schema.is(Schema.UUID)

/** The extraction, when the caller may see it (a submitter: their own); otherwise not found. */
export const visible = (principal: Principal, id: string) =>
  Effect.gen(function*() {
    yield* requirePermission(principal, "samples:read")
    const notFound = new ExtractionNotFound({ extractionId: id.slice(0, 60) })
    if (!isUuid(id)) return yield* Effect.fail(notFound)
    const row = yield* (yield* ExtractionRepo).find(id).pipe(Effect.orDie)
    if (Option.isNone(row)) return yield* Effect.fail(notFound)
    if (ownEmailOf(principal) !== undefined && row.value.owner !== actorOf(principal)) return yield* Effect.fail(notFound)
    return row.value
  })

/** The stored details with the knowledge-base passages their findings cite (`passages`: id → title and text), for the review page. */
const withPassages = (details: unknown) => {
  if (typeof details !== "object" || details === null || Array.isArray(details)) return details ?? null
  const findings: unknown = (details as { findings?: unknown }).findings
  const cited = new Set(Array.isArray(findings) ? findings.map((f: unknown) => (typeof f === "object" && f !== null ? String((f as { passageId?: unknown }).passageId) : "")) : [])
  const passages = Object.fromEntries(PASSAGES.filter((p) => cited.has(p.id)).map((p) => [p.id, { title: p.title, text: p.text }]))
  return { ...details, passages }
}

/** A row as `ExtractionView` (REST and RPC alike). */
export const view = (r: ExtractionRow) => ({
  id: r.id,
  fileName: r.fileName,
  status: r.status,
  result: r.result ?? null,
  confidence: (r.confidence ?? null) as Record<string, number> | null,
  evidence: r.evidence ?? null,
  warnings: Array.isArray(r.warnings) ? r.warnings.map(String) : [],
  details: withPassages(r.details),
  stagesMs: r.stages ?? null,
  error: r.error,
  submissionId: r.submissionId,
  createdAt: r.createdAt.toISOString()
})

/** The form's sample types in the sample record's words. */
const SAMPLE_TYPES = { hmw_dna: "HMW gDNA", fragmented_dna: "gDNA", amplicon: "amplicon", cdna: "cDNA", rna: "total RNA" } as const

/** The reviewed form as the batch create's input (nulls left out; the first basecalling model fast/hac/sup). */
const toSubmission = (form: SubmissionForm, submitterEmail: string) => {
  const some = <A>(v: A | null | undefined): v is A => v !== null && v !== undefined
  const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => some(v)))
  const model = form.basecalling.find((b) => b === "fast" || b === "hac" || b === "sup")
  return {
    ...strip({
      number: form.quoteId,
      submitterName: form.requester.name,
      lab: form.lab,
      pi: form.pis.map((p) => p.name).filter(some).join("; ") || null
    }),
    submitterEmail,
    source: "pdf",
    billing: strip({ account: form.billingAccount }),
    service: strip({
      kit: form.kit,
      device: form.device,
      basecalling: form.basecalling.join(",") || null,
      outputFormat: form.fileFormat,
      deliveryMethod: form.retrieval.join(",") || null,
      notificationEmails: form.notificationEmails.length > 0 ? form.notificationEmails : null
    }),
    samples: form.samples.map((s) => strip({
      sampleName: s.name ?? `row-${s.row}`,
      sampleType: form.sampleType === null ? null : SAMPLE_TYPES[form.sampleType],
      organism: form.organism,
      buffer: form.buffer,
      volumeUl: s.volumeUl,
      concentrationNgUl: s.qubitNgUl,
      nanodropNgUl: s.nanodropNgUl,
      a260_280: s.a260_280,
      a260_230: s.a260_230,
      libraryKit: form.kit,
      basecallingModel: model,
      genomeSizeMb: form.genomeSizeMb,
      targetCoverage: form.coverage,
      humanDna: form.humanDna,
      control: s.control
    }))
  }
}

/** The extraction routes. */
export const ExtractionHandlersLive = HttpApiBuilder.group(PoretrackApi, "extractions", (handlers) =>
  handlers
    .handleRaw("upload", ({ request }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requirePermission(principal, "samples:create")
        const settings = (yield* AppSettings).extraction ?? EXTRACTION_DEFAULTS
        const contentType = request.headers["content-type"] ?? ""
        if (!/^multipart\/form-data/i.test(contentType)) {
          return yield* Effect.fail(new UnsupportedMediaType({ message: "upload the PDF as multipart/form-data with a `file` field" }))
        }
        const body = yield* HttpIncomingMessage.withMaxBodySize(request.arrayBuffer, Option.some(settings.maxUploadBytes)).pipe(
          Effect.mapError(() => new PayloadTooLarge({ message: `the upload is over the limit of ${settings.maxUploadBytes} bytes`, limitBytes: settings.maxUploadBytes }))
        )
        const file = yield* Either.mapLeft(fileFromMultipart(new Uint8Array(body), contentType), (message) => new MalformedRequest({ message }))
        if (file.bytes.byteLength === 0) return yield* Effect.fail(new InvalidInput({ message: "the file is empty", issues: [{ path: "file", message: "the file is empty" }] }))
        if (!looksLikePdf(file.bytes)) {
          return yield* Effect.fail(new UnsupportedMediaType({ message: `${file.name} is not a PDF (no %PDF- header)` }))
        }
        const accepted = yield* storeUpload(principal, file.name, file.bytes)
        return HttpServerResponse.unsafeJson(accepted, {
          status: accepted.duplicate ? 200 : 202,
          headers: { location: `/api/v1/extractions/${accepted.id}` }
        })
      }))
    .handle("get", ({ path }) => Effect.flatMap(CurrentPrincipal, (p) => Effect.map(visible(p, path.id), view)))
    .handleRaw("pdf", ({ path }) =>
      Effect.gen(function*() {
        const row = yield* visible(yield* CurrentPrincipal, path.id)
        const file = yield* (yield* ExtractionRepo).pdf(row.id).pipe(Effect.orDie)
        if (Option.isNone(file)) return yield* Effect.fail(new ExtractionNotFound({ extractionId: row.id }))
        return HttpServerResponse.uint8Array(new Uint8Array(file.value.pdf), {
          contentType: "application/pdf",
          headers: { "content-disposition": `inline; filename="${row.fileName.replace(/["\\]/g, "_")}"`, "x-content-type-options": "nosniff" }
        })
      }))
    .handle("confirm", ({ path, payload }) => Effect.flatMap(CurrentPrincipal, (principal) => confirmReviewed(principal, path.id, payload))))

/** Whether the bytes carry a PDF header in their first KiB. */
export const looksLikePdf = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 1024)).indexOf("%PDF-") >= 0

/**
 * Stores a checked upload once per owner and content hash and hands a queued or running job to its Extraction
 * entity (a persisted message keyed by the extraction id: a repeat of this send is stored once).
 */
export const storeUpload = (principal: Principal, fileName: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const sha256 = createHash("sha256").update(bytes).digest("hex")
    const { created, row } = yield* (yield* ExtractionRepo).createOrFind({ id: randomUUID(), owner: actorOf(principal), fileName, sha256, pdf: bytes }).pipe(Effect.orDie)
    if (row.status === "queued" || row.status === "running") {
      yield* (yield* Extraction.client)(row.id).Run({ extractionId: row.id }, { discard: true }).pipe(Effect.orDie)
    }
    return { id: row.id, status: row.status, duplicate: !created }
  })

/** Confirms the reviewed form of a completed extraction the caller may see: the batch create (all or nothing), then the edits recorded. */
export const confirmReviewed = (principal: Principal, id: string, payload: typeof ConfirmExtraction.Type) =>
  Effect.gen(function*() {
    const row = yield* visible(principal, id)
    if (row.status !== "completed" || row.submissionId !== null) {
      return yield* Effect.fail(new ExtractionNotConfirmable({
        extractionId: row.id,
        status: row.status,
        reason: row.submissionId !== null ? `extraction ${row.id} was confirmed already (submission ${row.submissionId})` : `extraction ${row.id} is ${row.status}, not completed`
      }))
    }
    const form = yield* Schema.decodeUnknown(SubmissionForm, { onExcessProperty: "error" })(payload.result).pipe(
      Effect.mapError((e) => new InvalidInput({ message: "the reviewed result does not have the form's shape", issues: issuesOf(e, "result").slice(0, 50) }))
    )
    const email = payload.submitterEmail ?? form.requester.email ?? ownEmailOf(principal)
    if (email === undefined || email === null) {
      return yield* Effect.fail(new InvalidInput({ message: "no submitter e-mail", issues: [{ path: "submitterEmail", message: "give submitterEmail or requester.email" }] }))
    }
    const input = yield* decodeSubmission(toSubmission(form, email))
    yield* requireCreate(principal, input.submitterEmail)
    const created = yield* (yield* SampleApi).createSubmission(input, actorOf(principal), `extraction:${row.id}`)
    yield* (yield* ExtractionRepo).confirm(row.id, created.submission.id, { editedFields: payload.editedFields, by: actorOf(principal) }).pipe(Effect.orDie)
    return created
  })
