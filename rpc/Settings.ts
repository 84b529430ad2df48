/**
 * The facility's settings as admins read and change them (`Settings.Get`, `Settings.Update`, `/api/v1/settings`):
 * SLA targets and QC thresholds of the workflow policy, in a person's units (hours, business days, ng). Every range is
 * closed on purpose: a value outside it is a typo, and a typo here would move every sample's clock or gate.
 */
import { ParseResult, Schema } from "effect"
import { KIT_CODES, PRIORITIES, STEP_IDS, type KitCode, type Priority, type StepId } from "./Workflow.ts"

/** The longest step or turnaround target in hours: one year. */
export const MAX_HOURS = 8_760

const number = Schema.Number.pipe(Schema.finite({ message: () => "must be a finite number" }))
/** A number within [min, max]. */
const within = (min: number, max: number, unit: string) =>
  number.pipe(Schema.between(min, max, { message: () => `must be between ${min} and ${max}${unit}` }))

/** Hours above zero, at most a year. */
const Hours = number.pipe(
  Schema.greaterThan(0, { message: () => "must be more than 0 hours" }),
  Schema.lessThanOrEqualTo(MAX_HOURS, { message: () => `must be at most ${MAX_HOURS} hours (a year)` })
)
const Ng = within(0, 1_000_000, " ng")
const Scale = within(0, 10, " (DIN/RIN scale)")
const Bp = within(0, 10_000_000, " bp").pipe(Schema.int({ message: () => "must be a whole number of bp" }))
const Ratio = within(0, 10, " (absorbance ratio)")

/** An absorbance-ratio range `[min, max]` with min below max. */
export const PurityRange = Schema.Tuple(Ratio, Ratio).pipe(
  Schema.filter(([min, max]) => min < max || "the minimum (first) must be below the maximum (second)")
)

const BusinessDays = number.pipe(
  Schema.int({ message: () => "must be a whole number of business days" }),
  Schema.between(1, 260, { message: () => "must be between 1 and 260 business days" })
)

/**
 * A turnaround target: on the clock (`{"hours": 24}`) or in business days, Monday–Friday UTC (`{"businessDays": 5}`).
 * Read as one object with either field, so that a bad value is named by its own field, not by every choice.
 */
export const TurnaroundTarget = Schema.transformOrFail(
  Schema.Struct({ hours: Schema.optionalWith(Hours, { exact: true }), businessDays: Schema.optionalWith(BusinessDays, { exact: true }) }),
  Schema.Union(Schema.Struct({ hours: Schema.Number }), Schema.Struct({ businessDays: Schema.Number })),
  {
    strict: true,
    decode: (t, _, ast) =>
      t.hours !== undefined && t.businessDays === undefined
        ? ParseResult.succeed({ hours: t.hours })
        : t.businessDays !== undefined && t.hours === undefined
        ? ParseResult.succeed({ businessDays: t.businessDays })
        : ParseResult.fail(new ParseResult.Type(ast, t, "give either hours or businessDays (one of them)")),
    encode: (t) => ParseResult.succeed(t)
  }
)

const byKey = <K extends string, S extends Schema.Schema.Any>(keys: ReadonlyArray<K>, schema: S) =>
  Object.fromEntries(keys.map((k) => [k, schema])) as { readonly [P in K]: S }
const byKit = <S extends Schema.Schema.Any>(schema: S) =>
  Object.fromEntries(KIT_CODES.map((k) => [k, Schema.optionalWith(schema, { exact: true })])) as {
    readonly [P in KitCode]: Schema.optionalWith<S, { exact: true }>
  }

/** The QC gates' thresholds. */
export const QcThresholds = Schema.Struct({
  /** Minimum total input (Qubit × volume) per library kit; `default` for kits not listed. */
  minInputNg: Schema.Struct({ default: Ng, ...byKit(Ng) }),
  a260_280: PurityRange,
  a260_230: PurityRange,
  /** When true, purity outside the ranges fails sample QC; otherwise it is a warning. */
  failOnPurity: Schema.Boolean,
  minDin: Scale,
  minRin: Scale,
  minFragmentBp: Bp,
  minLibraryFmol: within(0, 1_000_000, " fmol"),
  minLibraryFragmentBp: Bp
})

/** The editable part of the workflow policy (which steps may be skipped stays the environment's). */
export const EditablePolicy = Schema.Struct({
  /** Expected duration of each step, in hours: a step's SLA clock. */
  expectedHours: Schema.Struct(byKey<StepId, typeof Hours>(STEP_IDS, Hours)),
  /** Turnaround target of each priority, from receipt. */
  turnaround: Schema.Struct(byKey<Priority, typeof TurnaroundTarget>(PRIORITIES, TurnaroundTarget)),
  /** Fraction of a clock after which a sample is at risk, strictly between 0 and 1. */
  atRiskFraction: number.pipe(
    Schema.greaterThan(0, { message: () => "must be strictly between 0 and 1" }),
    Schema.lessThan(1, { message: () => "must be strictly between 0 and 1" })
  ),
  qc: QcThresholds
}).annotations({ identifier: "EditablePolicy" })
export type EditablePolicy = typeof EditablePolicy.Type

/** The settings in force: the policy, its version (0 = the environment's, never saved), when and by whom it was saved. */
export const FacilitySettings = Schema.Struct({
  ...EditablePolicy.fields,
  version: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  updatedAt: Schema.NullOr(Schema.String),
  updatedBy: Schema.NullOr(Schema.String)
}).annotations({ identifier: "FacilitySettings" })
export type FacilitySettings = typeof FacilitySettings.Type

/** An admin's change: the whole policy, and the version it was read at (optimistic concurrency). */
export const SettingsUpdate = Schema.Struct({
  ...EditablePolicy.fields,
  expectedVersion: Schema.Number.pipe(Schema.int(), Schema.between(0, 2_000_000_000))
}).annotations({ identifier: "SettingsUpdate" })
export type SettingsUpdate = typeof SettingsUpdate.Type

/** 409: the settings were saved by someone else since `expectedVersion` was read; nothing changed. */
export class SettingsVersionMismatch extends Schema.TaggedError<SettingsVersionMismatch>()("SettingsVersionMismatch", {
  message: Schema.String,
  expectedVersion: Schema.Number,
  currentVersion: Schema.Number
}) {}
