/** The current request's id (`X-Request-Id`), set by the HTTP layer for everything the request runs. */
import { FiberRef } from "effect"
import { randomUUID } from "node:crypto"

const RequestIdPattern = /^[\x21-\x7e]{1,128}$/

/** The client's `X-Request-Id` when it is 1-128 printable ASCII characters, otherwise a new one. */
export const requestIdOf = (given: string | ReadonlyArray<string> | undefined): string =>
  typeof given === "string" && RequestIdPattern.test(given) ? given : randomUUID()

/** "unknown" outside a request. */
export const currentRequestId = FiberRef.unsafeMake("unknown")
