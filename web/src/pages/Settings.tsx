/** Placeholder while the page is built. */
export default function SettingsPage(_props: Record<string, unknown>) {
  return <h1>Settings</h1>
}
