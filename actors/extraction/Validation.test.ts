/** Validation, retrieval and recommendations: each rule fires on the form a facility would flag, citing its passage. */
import { describe, expect, it } from "@effect/vitest"
import { bm25, tokenize } from "./Bm25.ts"
import { PASSAGES } from "./KnowledgeBase.ts"
import { retrieve } from "./KnowledgeRetriever.ts"
import { planFor, recommend } from "./Recommendations.ts"
import type { SampleRow, SubmissionForm } from "./SubmissionForm.ts"
import { validateForm } from "./Validation.ts"

const row = (n: number, over: Partial<SampleRow> = {}): SampleRow => ({
  row: n, name: `S${n}`, volumeUl: 30, qubitNgUl: 50, nanodropNgUl: 60, a260_280: 1.85, a260_230: 2.1, control: null, ...over
})
const form = (over: Partial<SubmissionForm> = {}): SubmissionForm => ({
  quoteId: null, quoteDate: null, expiresOn: null, requester: { name: null, email: null, phone: null }, lab: null, pis: [],
  billingAccount: null, kit: "SQK-LSK114", sampleType: "hmw_dna", humanDna: false, organism: null, buffer: "EB", device: "MinION",
  genomeSizeMb: null, coverage: null, flowCellCount: null, basecalling: ["hac"], fileFormat: "fastq_bam", notificationEmails: [],
  retrieval: [], samples: [row(1)], problems: [], ...over
})
const ids = new Set(PASSAGES.map((p) => p.id))

describe("knowledge base retrieval", () => {
  it("keeps product codes whole and in parts", () => {
    expect(tokenize("SQK-RBK114.24 on R10.4.1")).toEqual(expect.arrayContaining(["sqk-rbk114.24", "rbk114", "r10.4.1"]))
  })
  it("ranks the passage about the asked product first", () => {
    expect(retrieve("SQK-RNA004 direct RNA flow cell")[0]?.id).toBe("kit-rna004")
    expect(retrieve("A260/230 salt carry-over")[0]?.id).toBe("qc-a260-230")
    expect(retrieve("PromethION output Gb")[0]?.id).toBe("flowcell-promethion")
    expect(bm25(["a b", "c d"]).rank("zzz")).toEqual([])
  })
})

describe("validation", () => {
  it("a clean form gives no warnings", () => {
    expect(validateForm(form({ kit: "SQK-RBK114.24", samples: [row(1), row(2)] })).filter((f) => f.severity === "warning")).toEqual([])
  })
  it("flags purity, units, quantification, input amount and duplicate names, each citing a real passage", () => {
    const findings = validateForm(form({
      samples: [
        row(1, { a260_280: 1.4 }),
        row(2, { a260_230: 1.2, name: "S1" }),
        row(3, { volumeUl: 5000 }),
        row(4, { qubitNgUl: 0 }),
        row(5, { qubitNgUl: 10, nanodropNgUl: 90, volumeUl: 20 }),
        row(6, { name: "BLANK", qubitNgUl: 0, control: "blank" })
      ]
    }))
    const by = (path: string) => findings.filter((f) => f.path === path).map((f) => f.passageId)
    expect(by("samples[0].a260_280")).toEqual(["qc-a260-280"])
    expect(by("samples[1].a260_230")).toEqual(["qc-a260-230"])
    expect(by("samples[1].name")).toEqual(["sample-names"])
    expect(by("samples[2].volumeUl")).toEqual(["qc-volume-units"])
    expect(by("samples[3].qubitNgUl")).toEqual(["qc-quantification"])
    expect(by("samples[4].nanodropNgUl")).toEqual(["qc-quantification"])
    expect(by("samples[4].qubitNgUl")).toEqual(["qc-input-amount"])
    expect(findings.some((f) => f.path.startsWith("samples[5]"))).toBe(false)
    for (const f of findings) expect(ids.has(f.passageId)).toBe(true)
  })
  it("flags kit vs sample type and too many samples for the barcodes", () => {
    const rnaOnDna = validateForm(form({ kit: "SQK-LSK114", sampleType: "rna" }))
    expect(rnaOnDna.map((f) => f.message)).toContain("SQK-LSK114 is a DNA kit but the sample type is RNA")
    const dnaOnRna = validateForm(form({ kit: "SQK-RNA004", sampleType: "hmw_dna" }))
    expect(dnaOnRna.find((f) => f.path === "kit")?.message).toBe("SQK-RNA004 is an RNA kit but the sample type is hmw_dna")
    const many = validateForm(form({ kit: "SQK-RBK114.24", samples: Array.from({ length: 30 }, (_, i) => row(i + 1)) }))
    expect(many.find((f) => f.path === "kit")?.message).toBe("30 samples do not fit the 24 barcodes of SQK-RBK114.24")
  })
})

describe("recommendations", () => {
  it("plans flow cells from genome size × coverage × samples and warns when too few are requested", () => {
    const human = form({ genomeSizeMb: 3100, coverage: 30, device: "PromethION", flowCellCount: 1 })
    expect(planFor(human)).toEqual({ dataGb: 93, flowCellsNeeded: 1, suggestedDevice: "PromethION" })
    const onMinion = recommend(form({ genomeSizeMb: 3100, coverage: 30, device: "MinION", flowCellCount: 2 }), "")
    const warning = onMinion.findings.find((f) => f.path === "flowCellCount")
    expect(warning?.severity).toBe("warning")
    expect(warning?.message).toContain("7 MinION flow cell(s)")
    expect(warning?.passageId).toBe("coverage-planning")
  })
  it("warns about discontinued products named on the form", () => {
    const { findings } = recommend(form(), "Kit: SQK-LSK109 on FLO-MIN106D")
    expect(findings.filter((f) => f.passageId === "kit-discontinued").map((f) => f.message.split(" ")[0])).toEqual(["SQK-LSK109", "FLO-MIN106D"])
  })
})
