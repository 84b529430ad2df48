/** Placeholder while the page is built. */
export default function SamplePage(_props: Record<string, unknown>) {
  return <h1>Sample</h1>
}
