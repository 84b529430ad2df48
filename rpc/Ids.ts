/** Branded identifiers shared by the browser, integrators and the server. */
import { Schema } from "effect"

/** A sample's id: a UUID, minted by the server when the sample is created. */
export const SampleId = Schema.UUID.pipe(Schema.brand("SampleId"))
export type SampleId = typeof SampleId.Type

/** A submission's id: a UUID. Its human-facing number (quote id) is a separate field. */
export const SubmissionId = Schema.UUID.pipe(Schema.brand("SubmissionId"))
export type SubmissionId = typeof SubmissionId.Type

/** An event's id, unique across the log: consumers de-duplicate on it. */
export const EventId = Schema.UUID.pipe(Schema.brand("EventId"))
export type EventId = typeof EventId.Type

/** A client-chosen key that makes a command safe to repeat: 1-200 printable characters. */
export const IdempotencyKey = Schema.String.pipe(
  Schema.pattern(/^[\x21-\x7e]{1,200}$/),
  Schema.brand("IdempotencyKey"),
  Schema.annotations({ description: "1-200 printable ASCII characters without spaces" })
)
export type IdempotencyKey = typeof IdempotencyKey.Type
