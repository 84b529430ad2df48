/**
 * The validation stage: domain rules over a merged form (units and ranges, purity ratios, kit vs device vs sample
 * type, duplicate sample names, barcodes vs samples, total amount vs the kit's input need). Every finding cites the
 * knowledge-base passage retrieved for its question. Pure: the same form gives the same findings.
 */
import type { Finding } from "./Finding.ts"
import { citeFor, type PassageEmbeddings } from "./KnowledgeRetriever.ts"
import type { SubmissionForm } from "./SubmissionForm.ts"

/** Input a kit needs per sample, in ng (knowledge base `qc-input-amount`). */
export const KIT_INPUT_NG: Readonly<Record<string, number>> = {
  "SQK-LSK114": 1000,
  "SQK-NBD114.24": 400,
  "SQK-NBD114.96": 400,
  "SQK-RAD114": 100,
  "SQK-RBK114.24": 50,
  "SQK-RBK114.96": 50,
  "SQK-ULK114": 6000,
  "SQK-PCB114.24": 500,
  "SQK-RNA004": 1000
}

/** Samples one library of the kit can hold (barcodes), 1 for kits without barcodes. */
export const KIT_BARCODES: Readonly<Record<string, number>> = {
  "SQK-NBD114.24": 24,
  "SQK-NBD114.96": 96,
  "SQK-RBK114.24": 24,
  "SQK-RBK114.96": 96,
  "SQK-PCB114.24": 24
}

const RNA_KITS = new Set(["SQK-RNA004", "SQK-PCB114.24"])
const RAPID_KITS = new Set(["SQK-RAD114", "SQK-RBK114.24", "SQK-RBK114.96"])

/** Checks the form; `embeddings` (Ollama) only changes which passage is ranked first, never which rules fire. */
export const validateForm = (form: SubmissionForm, embeddings: PassageEmbeddings | null = null): Array<Finding> => {
  const findings: Array<Finding> = []
  const add = (path: string, message: string, question: string, fallback: string, severity: Finding["severity"] = "warning") =>
    findings.push({ path, severity, message, passageId: citeFor(question, fallback, embeddings) })
  const kit = form.kit
  const real = form.samples.map((s, i) => ({ s, i })).filter(({ s }) => s.control === null)

  form.samples.forEach((s, i) => {
    const at = (field: string) => `samples[${i}].${field}`
    const who = s.name ?? `row ${s.row}`
    if (s.control !== null) return
    if (s.a260_280 !== null && (s.a260_280 < 1.7 || s.a260_280 > 2.1)) {
      add(at("a260_280"), `${who}: A260/280 ${s.a260_280} is outside 1.8-2.0 (protein or RNA contamination)`, "A260/280 purity ratio protein contamination", "qc-a260-280")
    }
    if (s.a260_230 !== null && (s.a260_230 < 1.8 || s.a260_230 > 2.4)) {
      add(at("a260_230"), `${who}: A260/230 ${s.a260_230} is outside 2.0-2.2 (salt or solvent carry-over)`, "A260/230 ratio salts guanidine carry-over", "qc-a260-230")
    }
    for (const [field, value] of [["a260_280", s.a260_280], ["a260_230", s.a260_230]] as const) {
      if (value !== null && (value <= 0 || value > 5)) add(at(field), `${who}: ${value} is not a plausible purity ratio`, "purity ratios unitless numbers units", "qc-volume-units")
    }
    if (s.volumeUl !== null && (s.volumeUl <= 0 || s.volumeUl > 1000)) {
      add(at("volumeUl"), `${who}: a volume of ${s.volumeUl} µL is implausible (unit mistake?)`, "sample volume µL units mistake", "qc-volume-units")
    }
    if (s.qubitNgUl !== null && s.qubitNgUl > 2000) {
      add(at("qubitNgUl"), `${who}: ${s.qubitNgUl} ng/µL is implausibly high (ng/mL or µg/µL?)`, "concentration ng/µL unit mistake factor 1000", "qc-volume-units")
    }
    if (s.qubitNgUl === null || s.qubitNgUl === 0) {
      add(at("qubitNgUl"), `${who}: no Qubit concentration, the sample cannot be quantified`, "Qubit concentration zero missing quantified", "qc-quantification")
    } else if (s.nanodropNgUl !== null && s.nanodropNgUl > 2 * s.qubitNgUl) {
      add(at("nanodropNgUl"), `${who}: Nanodrop ${s.nanodropNgUl} ng/µL is more than twice Qubit ${s.qubitNgUl} ng/µL (contamination or RNA)`, "Nanodrop far above Qubit contamination", "qc-quantification")
    }
    const need = kit === null ? undefined : KIT_INPUT_NG[kit]
    if (need !== undefined && s.qubitNgUl !== null && s.qubitNgUl > 0 && s.volumeUl !== null) {
      const total = Math.round(s.qubitNgUl * s.volumeUl)
      if (total < need) {
        add(at("qubitNgUl"), `${who}: ${total} ng in total (Qubit × volume) is below the ~${need} ng ${kit} needs`, `input amount ${kit} ng total too little`, "qc-input-amount")
      }
    }
  })

  const seen = new Map<string, number>()
  form.samples.forEach((s, i) => {
    if (s.name === null || s.control !== null) return
    const key = s.name.trim().toLowerCase()
    const first = seen.get(key)
    if (first !== undefined) add(`samples[${i}].name`, `sample name "${s.name}" repeats row ${form.samples[first]!.row}`, "duplicate sample names unique", "sample-names")
    else seen.set(key, i)
  })

  if (kit !== null) {
    const barcodes = KIT_BARCODES[kit]
    if (barcodes !== undefined && real.length > barcodes) {
      add("kit", `${real.length} samples do not fit the ${barcodes} barcodes of ${kit}`, `barcodes samples ${kit} number exceed`, "sample-names")
    }
    const type = form.sampleType
    if (type !== null) {
      if (type === "rna" && !RNA_KITS.has(kit)) add("kit", `${kit} is a DNA kit but the sample type is RNA`, `RNA samples kit ${kit} DNA kit sample type`, "sample-type-kit")
      if (type !== "rna" && type !== "cdna" && RNA_KITS.has(kit)) add("kit", `${kit} is an RNA kit but the sample type is ${type}`, `${kit} RNA kit DNA samples not suitable`, "sample-type-kit")
      if (type === "amplicon" && RAPID_KITS.has(kit)) add("kit", `${kit} fragments short amplicons: use a ligation kit (SQK-LSK114, SQK-NBD114)`, `amplicons rapid transposase kits ${kit}`, "sample-type-kit")
      if (kit === "SQK-ULK114" && type !== "hmw_dna") add("kit", `SQK-ULK114 needs ultra-HMW DNA, not ${type}`, "ultra-long kit HMW DNA fragmented", "kit-ulk114")
    }
    if (kit === "SQK-RNA004" && form.device !== null) {
      add("device", `SQK-RNA004 needs an RNA flow cell (FLO-MIN004RA / FLO-PRO004RA), not the R10.4.1 DNA flow cell of ${form.device}`, "direct RNA RNA flow cells FLO-MIN004RA DNA flow cells", "kit-rna004", "info")
    }
  }
  if (form.basecalling.includes("methylation") && form.fileFormat === "fastq_bam") {
    add("fileFormat", "methylation calling needs BAM with modified-base tags or POD5; FASTQ alone loses it", "methylation POD5 BAM modified base", "basecalling-models", "info")
  }
  return findings
}
