/** The commands a Sample accepts: each one is a transition of its state machine. */
import { Schema } from "effect"
import { SafeText } from "./SafeText.ts"
import { type CommandName, COMMAND_NAMES, Email, FlowCellType, Priority, SampleDetails, SampleName, SampleView, StepData, StepId } from "./Workflow.ts"

const Reason = SafeText.pipe(
  Schema.minLength(1, { message: () => "a reason is required" }),
  Schema.maxLength(2000)
)

/** Take the sample in at the facility: queues step 1 and starts the turnaround clock. */
export class Receive extends Schema.TaggedClass<Receive>()("Receive", {}) {}
/** Start work on the current step (queued → running). */
export class StartStep extends Schema.TaggedClass<StartStep>()("StartStep", { step: StepId }) {}
/** Record the current step's results and complete it; QC gates run on steps 1 and 3. */
export class CompleteStep extends Schema.TaggedClass<CompleteStep>()("CompleteStep", { record: StepData }) {}
/** Mark the current step failed (a run that failed, a spilled library). */
export class FailStep extends Schema.TaggedClass<FailStep>()("FailStep", { step: StepId, reason: Reason }) {}
/** Send a failed sample back to an earlier (or the same) step. */
export class Rework extends Schema.TaggedClass<Rework>()("Rework", { toStep: StepId, reason: Reason }) {}
/** Skip the current step where the facility allows it. */
export class SkipStep extends Schema.TaggedClass<SkipStep>()("SkipStep", { step: StepId, reason: Reason }) {}
/** Put the sample on hold; SLA clocks pause. */
export class Hold extends Schema.TaggedClass<Hold>()("Hold", { reason: Reason }) {}
/** Take the sample off hold, back where it was (the reason, when given, is recorded on the event). */
export class Resume extends Schema.TaggedClass<Resume>()("Resume", { reason: Schema.optional(Reason) }) {}
/** Stop all work on the sample for good. */
export class Cancel extends Schema.TaggedClass<Cancel>()("Cancel", { reason: Reason }) {}
/** Archive a completed sample. */
export class Archive extends Schema.TaggedClass<Archive>()("Archive", {}) {}
/** Change the sample's queue priority and turnaround target. */
export class ChangePriority extends Schema.TaggedClass<ChangePriority>()("ChangePriority", { priority: Priority }) {}

/** Fields that may be edited, each only while the sample's state allows it. */
export const EditableFields = Schema.Struct({
  sampleName: Schema.optional(SampleName),
  submitterEmail: Schema.optional(Email),
  flowCellType: Schema.optional(FlowCellType),
  details: Schema.optional(SampleDetails)
})
export type EditableFields = typeof EditableFields.Type
/** Edit fields of the sample. */
export class EditFields extends Schema.TaggedClass<EditFields>()("EditFields", { fields: EditableFields }) {}

/** Every command a client may send to a sample. */
export const SampleCommand = Schema.Union(
  Receive,
  StartStep,
  CompleteStep,
  FailStep,
  Rework,
  SkipStep,
  Hold,
  Resume,
  Cancel,
  Archive,
  ChangePriority,
  EditFields
)
export type SampleCommand = typeof SampleCommand.Type
export type CommandTag = SampleCommand["_tag"]
export const COMMAND_TAGS: ReadonlyArray<CommandTag> = COMMAND_NAMES
// The command union and the published list of names are the same set (a compile error otherwise).
export const commandNamesMatch: [CommandTag, CommandName] extends [CommandName, CommandTag] ? true : never = true

/** Where each command is sent over REST (relative to `/api/v1/samples/{id}`): refusals name routes, not commands. */
export const COMMAND_ROUTES: Record<CommandTag, string> = {
  Receive: "POST /receive",
  StartStep: "POST /workflow/start",
  CompleteStep: "POST /workflow/advance",
  FailStep: "POST /workflow/fail",
  SkipStep: "POST /workflow/skip",
  Rework: "POST /workflow/rework",
  Hold: "POST /hold",
  Resume: "POST /resume",
  Cancel: "POST /cancel",
  Archive: "POST /archive",
  ChangePriority: "POST /priority",
  EditFields: "PATCH"
}

/** A command's reply: the sample after it, the events it raised, and whether this was a replay of a used key. */
export const CommandResult = Schema.Struct({
  sample: SampleView,
  events: Schema.Array(Schema.Struct({ id: Schema.String, type: Schema.String })),
  idempotencyKey: Schema.String,
  replayed: Schema.Boolean
})
export type CommandResult = typeof CommandResult.Type
