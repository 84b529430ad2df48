/**
 * Event ids derived from what caused them (UUID v5-shaped: SHA-1 of a name): writing the same event again derives the
 * same id, which the event log's UNIQUE id then refuses, so an event appended by a retried step is appended once.
 */
import { createHash } from "node:crypto"

/** The id of the `kind` event of `of` (an event id, an export id …). */
export const derivedEventId = (kind: string, of: string): string => {
  const h = createHash("sha1").update(`poretrack/${kind}/${of}`).digest()
  h[6] = (h[6]! & 0x0f) | 0x50
  h[8] = (h[8]! & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString("hex")
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`
}
