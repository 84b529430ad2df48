/**
 * The recommendation stage: flow cells needed for the requested genome size × coverage × samples, kit suitability,
 * and warnings for discontinued or mismatched products named anywhere on the form. Each finding cites its passage.
 */
import type { Finding } from "./Finding.ts"
import { citeFor, type PassageEmbeddings } from "./KnowledgeRetriever.ts"
import type { SubmissionForm } from "./SubmissionForm.ts"

/** Planned output per flow cell in Gb (knowledge base `flowcell-*`). */
export const FLOW_CELL_OUTPUT_GB: Readonly<Record<string, number>> = { MinION: 15, GridION: 15, PromethION: 100, Flongle: 1 }

/** Product codes no longer sold (knowledge base `kit-discontinued`). */
export const DISCONTINUED = [
  "SQK-LSK109", "SQK-LSK110", "SQK-LSK112", "SQK-RBK004", "SQK-RBK110.96", "SQK-RAD004", "SQK-NBD112.24", "SQK-NBD112.96",
  "SQK-PBK004", "SQK-RNA002", "EXP-NBD104", "EXP-NBD114", "FLO-MIN106D", "FLO-MIN106", "FLO-PRO002", "R9.4.1"
] as const

/** What the facility would plan: data, flow cells and the suggested device; null where the form lacks the numbers. */
export interface Plan {
  readonly dataGb: number | null
  readonly flowCellsNeeded: number | null
  readonly suggestedDevice: string | null
}

/** The plan for the form's request. */
export const planFor = (form: SubmissionForm): Plan => {
  const samples = Math.max(1, form.samples.filter((s) => s.control === null).length)
  if (form.genomeSizeMb === null || form.coverage === null) return { dataGb: null, flowCellsNeeded: null, suggestedDevice: null }
  const dataGb = Math.round(form.genomeSizeMb * form.coverage * samples / 1000 * 100) / 100
  const device = form.device ?? (dataGb > 45 ? "PromethION" : "MinION")
  const perCell = FLOW_CELL_OUTPUT_GB[device] ?? 15
  return { dataGb, flowCellsNeeded: Math.max(1, Math.ceil(dataGb / perCell)), suggestedDevice: dataGb > 45 ? "PromethION" : dataGb < 1 ? "Flongle" : "MinION" }
}

/** Recommendations and product warnings for the form; `documentText` is the PDF's text, searched for old codes. */
export const recommend = (form: SubmissionForm, documentText: string, embeddings: PassageEmbeddings | null = null): { plan: Plan; findings: Array<Finding> } => {
  const findings: Array<Finding> = []
  const add = (path: string, message: string, question: string, fallback: string, severity: Finding["severity"] = "warning") =>
    findings.push({ path, severity, message, passageId: citeFor(question, fallback, embeddings) })
  const plan = planFor(form)
  if (plan.dataGb !== null && plan.flowCellsNeeded !== null) {
    const device = form.device ?? plan.suggestedDevice ?? "MinION"
    const perCell = FLOW_CELL_OUTPUT_GB[device] ?? 15
    const text = `${form.genomeSizeMb} Mb × ${form.coverage}x needs about ${plan.dataGb} Gb: ${plan.flowCellsNeeded} ${device} flow cell(s) at ~${perCell} Gb each`
    if (form.flowCellCount !== null && form.flowCellCount < plan.flowCellsNeeded) {
      add("flowCellCount", `${text}; ${form.flowCellCount} requested is too few`, `flow cells needed genome size coverage ${device} output Gb`, "coverage-planning")
    } else {
      add("flowCellCount", text, `flow cells needed genome size coverage ${device} output Gb`, "coverage-planning", "info")
    }
    if (device === "Flongle" && plan.dataGb > 2) add("device", `a Flongle gives ~1 Gb; ${plan.dataGb} Gb needs MinION or PromethION`, "Flongle output small tests not whole genomes", "flowcell-flongle")
    if (device !== "PromethION" && plan.dataGb > 60) add("device", `${plan.dataGb} Gb is PromethION scale (~100 Gb per flow cell)`, "PromethION large genomes human 30x output", "flowcell-promethion", "info")
  }
  const real = form.samples.filter((s) => s.control === null).length
  if (form.kit === "SQK-LSK114" && real > 1) {
    add("kit", `${real} samples with SQK-LSK114 (no barcodes) need a flow cell each; a native barcoding kit (SQK-NBD114.24/.96) pools them`, "native barcoding multiplex samples one flow cell", "kit-nbd114", "info")
  }
  if (form.kit === null && form.sampleType !== null) {
    const suggestion = form.sampleType === "rna" ? "SQK-RNA004 or SQK-PCB114.24" : form.sampleType === "amplicon" ? "SQK-NBD114.24" : real > 1 ? "SQK-NBD114.24 or SQK-RBK114.24" : "SQK-LSK114"
    add("kit", `no kit chosen; for ${form.sampleType} consider ${suggestion}`, `matching sample type ${form.sampleType} and kit`, "sample-type-kit", "info")
  }
  const upper = documentText.toUpperCase()
  for (const code of DISCONTINUED) {
    const at = upper.indexOf(code)
    if (at >= 0 && !/[A-Z0-9]/.test(upper.charAt(at + code.length))) add("kit", `${code} is discontinued or legacy; current chemistry is Kit 14 on R10.4.1`, `discontinued ${code} legacy`, "kit-discontinued")
  }
  return { plan, findings }
}
