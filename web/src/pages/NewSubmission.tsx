/** Placeholder while the page is built. */
export default function NewSubmissionPage(_props: Record<string, unknown>) {
  return <h1>NewSubmission</h1>
}
