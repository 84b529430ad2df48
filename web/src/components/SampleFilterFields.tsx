/**
 * The sample list's filters as form fields (status, current step, priority, order), shared by the sample list and the
 * export page so that an export offers exactly the list's choices, in the same words.
 */
import { Schema } from "effect"
import { SAMPLE_SORTS, type SampleSort } from "../../../rpc/Api.ts"
import { PRIORITIES, SampleStatus, STEP_IDS, STEP_NAMES } from "../../../rpc/Workflow.ts"
import { STATUS_WORDS } from "./SampleList.tsx"

/** The words of each order of the sample list. */
export const SORT_WORDS: Record<SampleSort, string> = {
  created_desc: "Newest first",
  created_asc: "Oldest first",
  name_asc: "Name (A–Z)",
  priority: "Priority (urgent first)",
  due_asc: "Turnaround due (soonest first)"
}

const STATUSES = Object.keys(STATUS_WORDS).filter(Schema.is(SampleStatus))

/** What the fields show: each filter's value, absent for "any". */
export interface FilterValues {
  readonly status?: string | undefined
  readonly step?: string | undefined
  readonly priority?: string | undefined
  readonly sort?: string | undefined
}

/** The status, step, priority and order fields; `onChange` gets the changed filter ("" for any, or the default order). */
export const SampleFilterFields = ({ id, values, onChange, sortLabel = "Order" }: {
  readonly id: string
  readonly values: FilterValues
  readonly onChange: (patch: Readonly<Record<string, string>>) => void
  readonly sortLabel?: string
}) => (
  <>
    <div>
      <label htmlFor={`${id}-status`}>Status</label>
      <select id={`${id}-status`} value={values.status ?? ""} onChange={(e) => onChange({ status: e.target.value })}>
        <option value="">Any status</option>
        {STATUSES.map((s) => <option key={s} value={s}>{STATUS_WORDS[s]}</option>)}
      </select>
    </div>
    <div>
      <label htmlFor={`${id}-step`}>Current step</label>
      <select id={`${id}-step`} value={values.step ?? ""} onChange={(e) => onChange({ step: e.target.value })}>
        <option value="">Any step</option>
        {STEP_IDS.map((s) => <option key={s} value={s}>{STEP_NAMES[s]}</option>)}
      </select>
    </div>
    <div>
      <label htmlFor={`${id}-priority`}>Priority</label>
      <select id={`${id}-priority`} value={values.priority ?? ""} onChange={(e) => onChange({ priority: e.target.value })}>
        <option value="">Any priority</option>
        {PRIORITIES.map((p) => <option key={p} value={p}>{p}</option>)}
      </select>
    </div>
    <div>
      <label htmlFor={`${id}-sort`}>{sortLabel}</label>
      <select id={`${id}-sort`} value={values.sort ?? "created_desc"} onChange={(e) => onChange({ sort: e.target.value === "created_desc" ? "" : e.target.value })}>
        {SAMPLE_SORTS.map((s) => <option key={s} value={s}>{SORT_WORDS[s]}</option>)}
      </select>
    </div>
  </>
)
