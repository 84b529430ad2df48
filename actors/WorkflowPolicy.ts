/** The facility's workflow policy: expected durations, turnaround targets, QC thresholds, skippable steps. */
import { Context, type Effect } from "effect"
import type { EditablePolicy } from "../rpc/Settings.ts"
import type { KitCode, Priority, StepId } from "../rpc/Workflow.ts"

const HOUR = 3_600_000

/** A turnaround target: hours on the clock, or business days (Mon–Fri). */
export type Turnaround = { readonly hours: number } | { readonly businessDays: number }

/** Everything the pure state machine needs to know about the facility. */
export interface WorkflowPolicy {
  readonly expectedMs: Readonly<Record<StepId, number>>
  readonly turnaround: Readonly<Record<Priority, Turnaround>>
  /** Fraction of a clock after which a sample is at risk (0.8). */
  readonly atRiskFraction: number
  readonly skippable: ReadonlyArray<StepId>
  readonly qc: {
    /** Minimum total ng (Qubit × volume) per library kit; `default` for kits not listed. */
    readonly minInputNg: Readonly<Partial<Record<KitCode, number>>> & { readonly default: number }
    readonly a260_280: readonly [number, number]
    readonly a260_230: readonly [number, number]
    /** When true, purity outside the ranges fails the gate; otherwise it is a warning. */
    readonly failOnPurity: boolean
    readonly minDin: number
    readonly minRin: number
    readonly minFragmentBp: number
    readonly minLibraryFmol: number
    readonly minLibraryFragmentBp: number
  }
}

/** Facility defaults from domain.md. */
export const defaultPolicy: WorkflowPolicy = {
  expectedMs: {
    sample_qc: 1 * HOUR,
    library_prep: 4 * HOUR,
    library_qc: 1 * HOUR,
    sequencing_setup: 1 * HOUR,
    sequencing_run: 48 * HOUR,
    basecalling: 2 * HOUR,
    quality_assessment: 1 * HOUR,
    data_delivery: 1 * HOUR
  },
  turnaround: {
    urgent: { hours: 24 },
    high: { hours: 48 },
    normal: { businessDays: 5 },
    low: { businessDays: 10 }
  },
  atRiskFraction: 0.8,
  skippable: ["basecalling"],
  qc: {
    minInputNg: {
      default: 1000,
      "SQK-LSK114": 1000,
      "SQK-NBD114.24": 400,
      "SQK-NBD114.96": 400,
      "SQK-RAD114": 100,
      "SQK-RBK114.24": 50,
      "SQK-RBK114.96": 50,
      "SQK-ULK114": 6000,
      "SQK-PCB114.24": 1,
      "SQK-RNA004": 300
    },
    a260_280: [1.8, 2.0],
    a260_230: [2.0, 2.2],
    failOnPurity: false,
    minDin: 7,
    minRin: 7,
    minFragmentBp: 10_000,
    minLibraryFmol: 5,
    minLibraryFragmentBp: 200
  }
}

const DAY = 24 * HOUR

/** Adds `days` business days (Monday–Friday, UTC) to `from`, keeping the time of day. */
export const addBusinessDays = (from: number, days: number): number => {
  let t = from
  let left = days
  while (left > 0) {
    t += DAY
    const wd = new Date(t).getUTCDay()
    if (wd !== 0 && wd !== 6) left--
  }
  return t
}

/** When a turnaround clock started at `start` is due for `priority`. */
export const turnaroundDue = (policy: WorkflowPolicy, priority: Priority, start: number): number => {
  const target = policy.turnaround[priority]
  return "hours" in target ? start + target.hours * HOUR : addBusinessDays(start, target.businessDays)
}

/** The editable part of `policy` in a person's units (hours per step), as `Settings.Get` shows it. */
export const settingsOfPolicy = (policy: WorkflowPolicy): EditablePolicy => ({
  expectedHours: mapValues(policy.expectedMs, (ms) => ms / HOUR),
  turnaround: policy.turnaround,
  atRiskFraction: policy.atRiskFraction,
  qc: policy.qc
})

/** `base` (the environment's policy) with the admins' settings over it; what they cannot edit stays `base`'s. */
export const policyOfSettings = (settings: EditablePolicy, base: WorkflowPolicy): WorkflowPolicy => ({
  ...base,
  expectedMs: mapValues(settings.expectedHours, (hours) => Math.round(hours * HOUR)),
  turnaround: settings.turnaround,
  atRiskFraction: settings.atRiskFraction,
  qc: settings.qc
})

const mapValues = <K extends string, A, B>(record: Readonly<Record<K, A>>, f: (a: A) => B): Record<K, B> => {
  const out: Partial<Record<K, B>> = {}
  for (const key of Object.keys(record) as Array<K>) out[key] = f(record[key])
  return out as Record<K, B>
}

/**
 * The policy in force. Read it where it is applied (`yield* policies.current` in each command, timer or view), never
 * once at start: an admin's change (Settings.Update) reaches every process without a restart. Clocks already running
 * keep the due times they started with; new clocks, gates, at-risk thresholds and views use the current policy.
 */
export interface PolicyInForce {
  /** The policy now. */
  readonly current: Effect.Effect<WorkflowPolicy>
  /** Re-reads the saved settings at once (this process saved them; other processes learn by NOTIFY). */
  readonly refresh: Effect.Effect<void>
}

/** The policy in force, provided by runtime/ (AppSettings.ts `PolicyLive`): the environment's, under admins' saved settings. */
export class Policy extends Context.Tag("poretrack/Policy")<Policy, PolicyInForce>() {}
