/** Placeholder while the page is built. */
export default function QueuePage(_props: Record<string, unknown>) {
  return <h1>Queue</h1>
}
