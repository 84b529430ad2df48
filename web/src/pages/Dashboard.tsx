/** Placeholder while the page is built. */
export default function DashboardPage(_props: Record<string, unknown>) {
  return <h1>Dashboard</h1>
}
