/** Placeholder while the page is built. */
export default function KeysPage(_props: Record<string, unknown>) {
  return <h1>Keys</h1>
}
