/** The ExportJob entity's protocol: one entity per export job, sharded by the job id. */
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"

/**
 * Runs the job to its end (persisted: a runner that dies mid-job leaves the message unprocessed, and the shard's new
 * owner delivers it again, which restarts the job from the start into a fresh temporary object). Succeeds with the
 * job's final status; a job already finished answers its status without running again.
 */
export const Start = Rpc.make("Start", {
  payload: { exportId: Schema.String },
  primaryKey: (p) => `start/${p.exportId}`,
  success: Schema.String
}).annotate(ClusterSchema.Persisted, true)

/** The ExportJob entity type (its id is the export id). */
export const ExportJob = Entity.make("ExportJob", [Start])
