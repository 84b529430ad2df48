/** Placeholder while the page is built. */
export default function SubmissionsPage(_props: Record<string, unknown>) {
  return <h1>Submissions</h1>
}
