/**
 * The pages of AI intake of PDF forms as the app shell lists them: their addresses, who may open them, and their
 * navigation entry (App.tsx adds these to its own lists). `/extractions/new` comes before `/extractions/:id`.
 */
import { lazy, type ReactNode } from "react"
import type { Role } from "../../../rpc/Auth.ts"

const UploadPage = lazy(() => import("./ExtractionUpload.tsx"))
const ReviewPage = lazy(() => import("./ExtractionReview.tsx"))

const EVERYONE: ReadonlyArray<Role> = ["submitter", "technician", "manager", "admin"]

/** Pages: upload a PDF form (with the recent ones), and review one extraction. */
export const EXTRACTION_PAGES: ReadonlyArray<{
  readonly path: string
  readonly roles: ReadonlyArray<Role>
  readonly render: (params: Record<string, string>) => ReactNode
}> = [
  { path: "/extractions/new", roles: EVERYONE, render: () => <UploadPage /> },
  { path: "/extractions/:id", roles: EVERYONE, render: (p) => <ReviewPage id={p.id ?? ""} /> }
]

/** The navigation entry, beside "New submission". */
export const EXTRACTION_NAV_ITEMS = [{ to: "/extractions/new", label: "Read a PDF form", roles: EVERYONE }]
