/** The process's configuration as a service, read once from the environment by `AppSettings.layer`. */
import { Context, Effect, Layer } from "effect"
import { Policy } from "../actors/WorkflowPolicy.ts"
import { appConfig, type AppConfig } from "./Config.ts"

/** Which part of the system this process plays. */
export type Role = "all" | "runner" | "gateway"

export class AppSettings extends Context.Tag("poretrack/AppSettings")<AppSettings, AppConfig & { readonly role: Role }>() {
  /** Reads the environment once. */
  static layer = (role: Role) => Layer.effect(AppSettings, Effect.map(appConfig, (c) => ({ ...c, role })))
  /** Explicit settings (tests, tools). */
  static make = (settings: AppConfig & { readonly role: Role }) => Layer.succeed(AppSettings, settings)
}

/** The workflow policy from the settings. */
export const PolicyLive = Layer.effect(Policy, Effect.map(AppSettings, (s) => s.policy))
