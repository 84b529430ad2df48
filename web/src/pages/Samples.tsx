/** Placeholder while the page is built. */
export default function SamplesPage(_props: Record<string, unknown>) {
  return <h1>Samples</h1>
}
