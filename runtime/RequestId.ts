/** The current request's id (`X-Request-Id`), set by the HTTP layer for everything the request runs. */
import { FiberRef } from "effect"

/** "unknown" outside a request. */
export const currentRequestId = FiberRef.unsafeMake("unknown")
