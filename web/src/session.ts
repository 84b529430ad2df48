/** The browser's session: read once at start (the HttpOnly cookie is invisible to scripts), renewed by sign-in. */
import { Result } from "@effect-atom/atom-react"
import type { Principal, Role } from "../../rpc/Auth.ts"
import { Api } from "./client.ts"

/** The session the cookie names, or a failure when there is none. */
export const sessionAtom = Api.query("account", "session", { reactivityKeys: ["session"] })

/** Sign in (sets the cookie; the session query re-reads). */
export const signInAtom = Api.mutation("public", "signIn")
/** Sign out. */
export const signOutAtom = Api.mutation("account", "signOut")

/** The role of a principal (API keys do not use the app). */
export const roleOf = (principal: Principal): Role => (principal._tag === "User" ? principal.role : "admin")

export const isStaff = (role: Role) => role !== "submitter"
export const canManage = (role: Role) => role === "manager" || role === "admin"

export { Result }
