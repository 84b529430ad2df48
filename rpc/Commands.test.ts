/**
 * A command's reply and a created sample go out as plain JSON (runtime/ApiHandlers.ts), not through their schemas'
 * encoders: that holds only while `CommandResult` and the create endpoint's success schema have no transformation, so
 * that their JSON is their encoding. The same for a sample's state, which the commit and creation statements write as
 * it is (persistence/SampleRepo.ts). Checked here.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema, SchemaAST } from "effect"
import { CommandResult } from "./Commands.ts"
import { SamplesGroup } from "./PoretrackApi.ts"
import { SampleState } from "./Workflow.ts"

/** The transformations and declarations anywhere in `ast` (by path). */
const encodingSteps = (ast: SchemaAST.AST, path = "", seen = new Set<SchemaAST.AST>()): Array<string> => {
  if (seen.has(ast)) return []
  seen.add(ast)
  switch (ast._tag) {
    case "Transformation":
    case "Declaration":
      return [`${path || "(root)"}: ${ast._tag}`]
    case "Refinement":
      return encodingSteps(ast.from, path, seen)
    case "Suspend":
      return encodingSteps(ast.f(), path, seen)
    case "Union":
      return ast.types.flatMap((t, i) => encodingSteps(t, `${path}|${i}`, seen))
    case "TupleType":
      return [...ast.elements.map((e) => e.type), ...ast.rest.map((r) => r.type)].flatMap((t, i) => encodingSteps(t, `${path}[${i}]`, seen))
    case "TypeLiteral":
      return [
        ...ast.propertySignatures.flatMap((p) => encodingSteps(p.type, `${path}.${String(p.name)}`, seen)),
        ...ast.indexSignatures.flatMap((s) => encodingSteps(s.type, `${path}[*]`, seen))
      ]
    default:
      return []
  }
}

describe("CommandResult", () => {
  it("has no transformation anywhere, so a reply's JSON is its encoding", () => {
    expect(encodingSteps(CommandResult.ast)).toEqual([])
    // The check sees one where there is one, however deep.
    const nested = Schema.Struct({ a: Schema.Array(Schema.Struct({ at: Schema.NullOr(Schema.DateFromString) })) })
    expect(encodingSteps(nested.ast)).toEqual([".a[0].at|0: Transformation"])
  })

  it("a reply encodes to itself", () => {
    const reply: CommandResult = Schema.decodeUnknownSync(CommandResult)({
      sample: {
        id: "0092503c-4dfa-4333-a87e-524545ddf93a",
        submissionId: "f4256ff3-2110-4450-92c8-67ec89e5305d",
        position: 2,
        sampleName: "warm-2",
        submitterEmail: "bench@facility.example",
        priority: "normal",
        flowCellType: "R10.4.1",
        details: { sampleType: "gDNA", organism: "Homo sapiens", volumeUl: 30, libraryKit: "SQK-LSK114" },
        status: "in_progress",
        currentStep: "library_prep",
        stepState: "queued",
        hold: null,
        failure: null,
        cancelReason: null,
        sla: { status: "on_track", turnaroundDueAt: "2026-12-07T21:04:12.946Z", stepDueAt: "2026-12-01T01:04:12.979Z", raised: [] },
        estimatedCompletion: "2026-12-03T07:04:12.979Z",
        createdAt: "2026-11-30T21:04:12.808Z",
        receivedAt: "2026-11-30T21:04:12.946Z",
        completedAt: null,
        updatedAt: "2026-11-30T21:04:12.979Z",
        version: 3
      },
      events: [{ id: "ba10cd56-ce69-47b8-b8f9-c8e65b48f41b", type: "WorkflowStepCompleted" }],
      idempotencyKey: "key-1",
      replayed: false
    })
    expect(JSON.parse(JSON.stringify(Schema.encodeSync(CommandResult)(reply)))).toEqual(JSON.parse(JSON.stringify(reply)))
  })
})

describe("POST /api/v1/samples", () => {
  it("its reply (a sample view and its warnings) has no transformation anywhere either", () => {
    const create = SamplesGroup.endpoints.create
    expect(create).toBeDefined()
    expect(encodingSteps(create!.successSchema.ast)).toEqual([])
  })
})

describe("SampleState", () => {
  it("has no transformation anywhere, so the statements store a state as it is and load it back the same", () => {
    expect(encodingSteps(SampleState.ast)).toEqual([])
  })
})
