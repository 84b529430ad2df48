/** Placeholder while the page is built. */
export default function UsersPage(_props: Record<string, unknown>) {
  return <h1>Users</h1>
}
