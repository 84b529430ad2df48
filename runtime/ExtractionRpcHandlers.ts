/**
 * The handlers of `Extractions.*` (rpc/ExtractionRpcs.ts): the REST routes' own logic (runtime/ExtractionHandlers.ts)
 * behind the RPC contract, with the same rules: uploading needs samples:create, and a submitter uploads, reads, lists
 * and confirms only their own extractions (another's is not found).
 */
import { Effect } from "effect"
import { ExtractionRepo } from "../persistence/ExtractionRepo.ts"
import { actorOf } from "../rpc/Auth.ts"
import { InvalidInput } from "../rpc/Errors.ts"
import { ExtractionRpcs } from "../rpc/ExtractionRpcs.ts"
import { CurrentPrincipal } from "../rpc/PoretrackApi.ts"
import { AppSettings } from "./AppSettings.ts"
import { ownEmailOf, requirePermission } from "./Authorization.ts"
import { EXTRACTION_DEFAULTS } from "./Config.ts"
import { confirmReviewed, looksLikePdf, storeUpload, view, visible } from "./ExtractionHandlers.ts"

const refusePdf = (message: string) => new InvalidInput({ message, issues: [{ path: "pdf", message }] })

/**
 * Every intake RPC mapped onto the REST handlers' logic; runtime/RpcHandlers.ts spreads them into the handlers of
 * `PoretrackRpcs`, whose RpcAuthentication provides CurrentPrincipal.
 */
export const ExtractionRpcHandlers = ExtractionRpcs.of({
  "Extractions.Upload": ({ fileName, pdf }) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      yield* requirePermission(principal, "samples:create")
      const limit = ((yield* AppSettings).extraction ?? EXTRACTION_DEFAULTS).maxUploadBytes
      if (pdf.byteLength === 0) return yield* refusePdf("the file is empty")
      if (pdf.byteLength > limit) return yield* refusePdf(`the PDF is over the limit of ${limit} bytes`)
      if (!looksLikePdf(pdf)) return yield* refusePdf(`${fileName} is not a PDF (no %PDF- header)`)
      return yield* storeUpload(principal, fileName, pdf)
    }),
  "Extractions.Get": ({ id }) => Effect.flatMap(CurrentPrincipal, (principal) => Effect.map(visible(principal, id), view)),
  "Extractions.List": ({ limit }) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      yield* requirePermission(principal, "samples:read")
      const owner = ownEmailOf(principal) !== undefined ? actorOf(principal) : undefined
      const rows = yield* (yield* ExtractionRepo).list(owner, limit).pipe(Effect.orDie)
      return {
        items: rows.map((r) => ({ id: r.id, fileName: r.fileName, status: r.status, error: r.error, submissionId: r.submissionId, createdAt: r.createdAt.toISOString() }))
      }
    }),
  "Extractions.Confirm": ({ id, ...payload }) => Effect.flatMap(CurrentPrincipal, (principal) => confirmReviewed(principal, id, payload))
})
