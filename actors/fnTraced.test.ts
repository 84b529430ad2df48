/** Hot-path functions make their span while tracing is on, and none (with the same outcome) while it is off. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Tracer } from "effect"
import { annotateSpan, fnTraced, withSpanTraced } from "./fnTraced.ts"

/** A tracer that records the names of the spans made through it (Effect's own tracer makes them). */
const recording = Effect.map(Effect.tracer, (base) => {
  const names: Array<string> = []
  const tracer = Tracer.make({
    span: (name, ...rest) => {
      names.push(name)
      return base.span(name, ...rest)
    },
    context: base.context
  })
  return { names, tracer }
})

const double = fnTraced("Test.double")(function*(n: number) {
  if (n < 0) return yield* Effect.fail("negative" as const)
  const span = yield* Effect.option(Effect.currentSpan)
  return { doubled: n * 2, inSpan: Option.map(span, (s) => s.name) }
})

describe("fnTraced", () => {
  it.effect("with tracing on, a call runs inside its span; with tracing off, the same answer and no span", () =>
    Effect.gen(function*() {
      const on = yield* recording
      const traced = yield* double(21).pipe(Effect.withTracer(on.tracer))
      expect(traced).toEqual({ doubled: 42, inSpan: Option.some("Test.double") })
      expect(on.names).toEqual(["Test.double"])

      const off = yield* recording
      const untraced = yield* double(21).pipe(Effect.withTracer(off.tracer), Effect.withTracerEnabled(false))
      expect(untraced).toEqual({ doubled: 42, inSpan: Option.none() })
      expect(off.names).toEqual([])

      expect(yield* Effect.exit(double(-1).pipe(Effect.withTracerEnabled(false)))).toEqual(Exit.fail("negative"))
    }))

  it.effect("withSpanTraced wraps in a span only while tracing is on", () =>
    Effect.gen(function*() {
      const on = yield* recording
      yield* Effect.succeed(1).pipe(withSpanTraced("Test.commit"), Effect.withTracer(on.tracer))
      expect(on.names).toEqual(["Test.commit"])
      const off = yield* recording
      yield* Effect.succeed(1).pipe(withSpanTraced("Test.commit"), Effect.withTracer(off.tracer), Effect.withTracerEnabled(false))
      expect(off.names).toEqual([])
    }))

  it.effect("annotateSpan sets attributes on the current span, and does nothing (no failure) without one", () =>
    Effect.gen(function*() {
      const attributes = yield* annotateSpan({ sampleId: "s-1", command: "Receive" }).pipe(
        Effect.zipRight(Effect.currentSpan),
        Effect.map((span) => Object.fromEntries(span.attributes)),
        Effect.withSpan("Test.annotated")
      )
      expect(attributes).toMatchObject({ sampleId: "s-1", command: "Receive" })
      expect(yield* Effect.exit(annotateSpan({ sampleId: "s-1" }))).toEqual(Exit.void)
    }))
})
