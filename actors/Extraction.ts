/**
 * The Extraction entity's protocol: one entity per extraction id. `Run` is persisted, so a job sent before a runner
 * crash is delivered again to the runner that takes the shard over, and the job resumes from its stored row.
 */
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"

/** Runs the pipeline for the extraction (idempotent: a finished extraction answers its stored status). */
export const Run = Rpc.make("Run", {
  payload: { extractionId: Schema.String },
  primaryKey: (p) => `run/${p.extractionId}`,
  success: Schema.Struct({ status: Schema.Literal("completed", "failed") })
}).annotate(ClusterSchema.Persisted, true)

/** The AI intake worker: entity id = extraction id. */
export const Extraction = Entity.make("Extraction", [Run])
