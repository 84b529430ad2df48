/** Placeholder while the page is built. */
export default function SubmissionPage(_props: Record<string, unknown>) {
  return <h1>Submission</h1>
}
