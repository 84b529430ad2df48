/**
 * The pages of exports and notifications as the app shell lists them: their addresses, who may open them, and their
 * navigation entries (App.tsx adds these to its own lists).
 */
import { lazy, type ReactNode } from "react"
import type { Role } from "../../../rpc/Auth.ts"

const ExportsPage = lazy(() => import("./Exports.tsx"))
const NotificationsPage = lazy(() => import("./Notifications.tsx"))
const NotificationAdminPage = lazy(() => import("./NotificationAdmin.tsx"))

const EVERYONE: ReadonlyArray<Role> = ["submitter", "technician", "manager", "admin"]
const MANAGERS: ReadonlyArray<Role> = ["manager", "admin"]

/** Pages: the export page, the user's notifications, and webhook endpoints and the mail outbox (managers, admins). */
export const EXPORT_NOTIFICATION_PAGES: ReadonlyArray<{
  readonly path: string
  readonly roles: ReadonlyArray<Role>
  readonly render: (params: Record<string, string>) => ReactNode
}> = [
  { path: "/exports", roles: EVERYONE, render: () => <ExportsPage /> },
  { path: "/notifications", roles: EVERYONE, render: () => <NotificationsPage /> },
  { path: "/admin/notifications", roles: MANAGERS, render: () => <NotificationAdminPage /> }
]

/** The navigation group of these pages. */
export const EXPORT_NOTIFICATION_NAV = {
  group: "Exports and notifications",
  items: [
    { to: "/exports", label: "Exports", roles: EVERYONE },
    { to: "/notifications", label: "Notifications", roles: EVERYONE },
    { to: "/admin/notifications", label: "Webhooks and mail", roles: MANAGERS }
  ]
}
