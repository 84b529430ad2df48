/** Placeholder while the page is built. */
export default function BoardPage(_props: Record<string, unknown>) {
  return <h1>Board</h1>
}
