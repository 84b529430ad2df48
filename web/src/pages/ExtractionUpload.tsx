/**
 * Read a PDF form: pick or drop the facility's submission form; it is uploaded (`Extractions.Upload`, or the multipart
 * route for a file over the RPC limit) and the review page opens, which shows the job until it is done. The same file
 * again opens its earlier extraction. Below, the caller's recent extractions (a submitter: their own).
 */
import { useAtomSet, useAtomValue } from "@effect-atom/atom-react"
import { Cause, Exit } from "effect"
import { useState, type DragEvent } from "react"
import { MAX_RPC_PDF_BYTES } from "../../../rpc/ExtractionRpcs.ts"
import { Rpc } from "../client.ts"
import { Badge, Empty, ErrorBox, formatTime, Show } from "../components/ui.tsx"
import { describe, type Problem } from "../errors.ts"
import { Link, navigate } from "../router.tsx"
import { Result, sessionAtom } from "../session.ts"

const uploadAtom = Rpc.mutation("Extractions.Upload")

/** What a status means to the person waiting. */
export const STATUS_WORDS = { queued: "waiting for a worker", running: "being read", completed: "read: ready for review", failed: "could not be read" } as const

export default function ExtractionUploadPage() {
  const upload = useAtomSet(uploadAtom, { mode: "promiseExit" })
  const session = useAtomValue(sessionAtom)
  const csrf = Result.isSuccess(session) ? session.value.csrfToken : ""
  const [problem, setProblem] = useState<Problem | undefined>(undefined)
  const [busy, setBusy] = useState<string | undefined>(undefined)
  const [over, setOver] = useState(false)

  const send = async (file: File | undefined) => {
    if (file === undefined) return
    setProblem(undefined)
    if (file.size === 0) return setProblem({ title: `${file.name} is empty: choose the PDF form itself.`, fields: [] })
    setBusy(file.name)
    const bytes = new Uint8Array(await file.arrayBuffer())
    let accepted: { readonly id: string; readonly duplicate: boolean } | undefined
    if (bytes.byteLength <= MAX_RPC_PDF_BYTES) {
      const exit = await upload({ payload: { fileName: file.name.slice(0, 255) || "form.pdf", pdf: bytes }, reactivityKeys: ["extractions"] })
      if (Exit.isSuccess(exit)) accepted = exit.value
      else setProblem(describe(Cause.squash(exit.cause)))
    } else {
      // A large form goes through the multipart route, which has the larger limit.
      const form = new FormData()
      form.append("file", file, file.name)
      const response = await fetch("/api/v1/extractions", { method: "POST", body: form, headers: { "x-csrf-token": csrf } }).catch(() => undefined)
      const body = response === undefined ? {} : ((await response.json().catch(() => ({}))) as { id?: string; duplicate?: boolean; message?: string })
      if (response?.ok === true && typeof body.id === "string") accepted = { id: body.id, duplicate: body.duplicate === true }
      else setProblem({ title: body.message ?? "The server could not be reached. Check the connection and try again.", fields: [] })
    }
    setBusy(undefined)
    if (accepted !== undefined) navigate(`/extractions/${accepted.id}${accepted.duplicate ? "?duplicate=1" : ""}`)
  }

  const onDrop = (e: DragEvent<HTMLLabelElement>) => {
    e.preventDefault()
    setOver(false)
    void send(e.dataTransfer.files[0])
  }

  return (
    <div>
      <h1>Read a PDF form</h1>
      <p className="hint">
        Upload the facility's submission form as a PDF. It is read into a draft submission (every field, every sample row, how sure the reader is
        of each); you check it beside the PDF and create the submission. The same file uploaded again opens its earlier extraction.
      </p>
      <section className="panel" aria-labelledby="upload-title">
        <h2 id="upload-title">Upload</h2>
        <label
          className="button secondary file-button"
          onDragOver={(e) => {
            e.preventDefault()
            setOver(true)
          }}
          onDragLeave={() => setOver(false)}
          onDrop={onDrop}
          style={{ display: "block", padding: "2rem", textAlign: "center", border: `2px dashed ${over ? "var(--accent, #1f5fa8)" : "var(--line)"}`, cursor: "pointer" }}
        >
          {busy !== undefined ? `Uploading ${busy}…` : "Choose a PDF form, or drop it here"}
          <input
            type="file"
            className="visually-hidden"
            accept="application/pdf,.pdf"
            aria-label="PDF form"
            disabled={busy !== undefined}
            onChange={(e) => {
              const file = e.target.files?.[0]
              e.target.value = ""
              void send(file)
            }}
          />
        </label>
        <p className="hint" role="status">{busy !== undefined ? "Uploading…" : "PDF only; forms up to 20 MB."}</p>
        {problem !== undefined && <ErrorBox problem={problem} />}
      </section>
      <Recent />
    </div>
  )
}

const Recent = () => {
  const result = useAtomValue(Rpc.query("Extractions.List", { limit: 20 }, { reactivityKeys: ["extractions"] }))
  return (
    <section className="panel" aria-labelledby="recent-title">
      <h2 id="recent-title">Recent forms</h2>
      <Show result={result}>
        {(list) =>
          list.items.length === 0
            ? <Empty>No form has been uploaded yet.</Empty>
            : (
              <div className="table-scroll">
                <table>
                  <thead>
                    <tr><th scope="col">File</th><th scope="col">Uploaded</th><th scope="col">Status</th><th scope="col">Submission</th></tr>
                  </thead>
                  <tbody>
                    {list.items.map((x) => (
                      <tr key={x.id}>
                        <td><Link to={`/extractions/${x.id}`}>{x.fileName}</Link></td>
                        <td>{formatTime(x.createdAt)}</td>
                        <td>
                          {x.submissionId !== null ? <Badge kind="completed">confirmed</Badge> : <Badge kind={x.status}>{STATUS_WORDS[x.status]}</Badge>}
                          {x.error !== null && <div className="hint">{x.error}</div>}
                        </td>
                        <td>{x.submissionId !== null ? <Link to={`/submissions/${x.submissionId}`}>open the submission</Link> : "—"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
      </Show>
    </section>
  )
}
