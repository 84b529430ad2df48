/**
 * The reader on forms it has never seen: built here with pdf-lib in other layouts and wordings than the dev
 * fixtures (other labels, column orders, tick styles, page breaks with repeated headers, comma decimals, units in
 * cells, wrapped names, boxes under a transform), each checked field by field.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { PDFDocument, StandardFonts } from "pdf-lib"
import { FormPdf } from "../../test/FormPdfBuilder.ts"
import { readForm } from "./ReadForm.ts"
import type { SampleRow, SubmissionForm } from "./SubmissionForm.ts"

const read = (pdf: Uint8Array) => readForm(pdf)

const build = (f: (form: FormPdf) => FormPdf, options?: Parameters<typeof FormPdf.create>[0]) =>
  Effect.promise(async () => f(await FormPdf.create(options)).save())

const sample = (row: number, name: string, values: Partial<Omit<SampleRow, "row" | "name">> = {}): SampleRow => ({
  row,
  name,
  volumeUl: null,
  qubitNgUl: null,
  nanodropNgUl: null,
  a260_280: null,
  a260_230: null,
  control: null,
  ...values
})

/** Form A: "Label:" runs and label columns, X ticks in squares, a vertical list with check marks, typed X glyphs,
 *  boxes after their text, no row-number column, Qubit before volume, 230 before 280, 30 rows over three pages. */
const formA = (form: FormPdf) => {
  form
    .heading("Genomics Core - Long-read Sequencing Request")
    .field("Quote ID:", "HTSF--AB-412", { inline: true })
    .field("Date:", "04/05/2026", { inline: true })
    .field("Valid until:", "July 4, 2026", { inline: true })
    .heading("Contact")
    .field("Submitter name", "Ada Lovelace")
    .field("Contact e-mail", "ada@lab.example.org")
    .field("Telephone", "(919) 555-0100")
    .field("Laboratory", "Lovelace Lab")
    .field("Principal investigator(s)", ["Ada Lovelace (ada@lab.example.org); Charles", "Babbage"])
    .field("Chart string", "1-23456-7890")
    .heading("Library")
    .options("Library prep kit", [["SQK-LSK114", true], ["SQK-NBD114.96", false], ["SQK-RAD114", false], ["SQK-RBK114.24", false]], { style: "x", shape: "square" })
    .options("Sample type", [["High molecular weight gDNA", false], ["Sheared / fragmented DNA", false], ["Amplicons (PCR)", true], ["cDNA", false]], {
      style: "check",
      shape: "square",
      vertical: true
    })
    .options("Human DNA?", [["Yes", true], ["No", false]], { style: "fill", shape: "circle" })
    .field("Species", "Homo sapiens")
    .options("Storage buffer", [["EB", false], ["Nuclease-free water", false], ["TE", true]], { style: "dot", shape: "circle" })
    .options("Instrument", [["MinION", false], ["PromethION", true], ["Flongle", false]], { style: "square", shape: "square", transformed: true })
    .field("Estimated genome size (Gb)", "3.1")
    .field("Desired coverage", "25 x")
    .field("Flow cells requested", "2")
    .options("Basecalling model", [["Fast", false], ["HAC", false], ["SUP", true], ["5mC methylation", true]], { style: "glyph", shape: "square" })
    .options("Output format", [["FASTQ + BAM", false], ["POD5 raw", true]], { style: "dot", shape: "circle", boxAfter: true })
    .options("Data delivery", [["ITS /proj", false], ["URL download", true], ["Pre-arranged drive", false], ["Other", true]], {
      style: "check",
      shape: "square",
      perLine: 2
    })
    .field("Notify", ["ada@lab.example.org", "core@example.org"])
    .newPage()
    .heading("Samples")
  const rows = Array.from({ length: 30 }, (_, k) => {
    const n = k + 1
    return [`AL-${String(n).padStart(2, "0")}`, (10 + n * 1.5).toFixed(1), String(20 + n), n % 7 === 0 ? "" : (15 + n * 2).toFixed(1), "2.05", "1.85"]
  })
  rows[9] = ["AL-10 liver biopsy replicate two after bead clean-up and size selection", "12.0", "30", "14.4", "2.10", "1.90"]
  rows[28] = ["Positive control", "50.0", "25", "60.1", "2.00", "1.88"]
  rows[29] = ["Blank", "", "25", "", "", ""]
  form.table(
    [
      { header: "Sample ID", width: 170, align: "left" },
      { header: ["Conc. Qubit", "(ng/µL)"], width: 70, align: "right" },
      { header: ["Vol.", "(µL)"], width: 50, align: "right" },
      { header: ["Nanodrop", "(ng/µL)"], width: 70, align: "right" },
      { header: "260/230", width: 55, align: "center" },
      { header: "260/280", width: 55, align: "center" }
    ],
    rows,
    { rowsPerPage: 12 }
  )
  return form
}

const formASamples: Array<SampleRow> = Array.from({ length: 30 }, (_, k) => {
  const n = k + 1
  return sample(n, `AL-${String(n).padStart(2, "0")}`, {
    qubitNgUl: Number((10 + n * 1.5).toFixed(1)),
    volumeUl: 20 + n,
    nanodropNgUl: n % 7 === 0 ? null : Number((15 + n * 2).toFixed(1)),
    a260_230: 2.05,
    a260_280: 1.85
  })
})
formASamples[9] = sample(10, "AL-10 liver biopsy replicate two after bead clean-up and size selection", {
  qubitNgUl: 12,
  volumeUl: 30,
  nanodropNgUl: 14.4,
  a260_230: 2.1,
  a260_280: 1.9
})
formASamples[28] = sample(29, "Positive control", { qubitNgUl: 50, volumeUl: 25, nanodropNgUl: 60.1, a260_230: 2, a260_280: 1.88, control: "positive" })
formASamples[29] = sample(30, "Blank", { volumeUl: 25, control: "blank" })

const formAExpected: SubmissionForm = {
  quoteId: "HTSF--AB-412",
  quoteDate: "2026-04-05",
  expiresOn: "2026-07-04",
  requester: { name: "Ada Lovelace", email: "ada@lab.example.org", phone: "(919) 555-0100" },
  lab: "Lovelace Lab",
  pis: [
    { name: "Ada Lovelace", email: "ada@lab.example.org" },
    { name: "Charles Babbage", email: null }
  ],
  billingAccount: "1-23456-7890",
  kit: "SQK-LSK114",
  sampleType: "amplicon",
  humanDna: true,
  organism: "Homo sapiens",
  buffer: "TE",
  device: "PromethION",
  genomeSizeMb: 3100,
  coverage: 25,
  flowCellCount: 2,
  basecalling: ["sup", "methylation"],
  fileFormat: "pod5",
  notificationEmails: ["ada@lab.example.org", "core@example.org"],
  retrieval: ["url", "other"],
  samples: formASamples,
  problems: []
}

/** Form B: two label columns, numbered PIs, wrapped option lines, inner dots and inner squares, comma decimals,
 *  units inside cells, "n/a" cells, a row-number column with empty slots, an extra Barcode column, NTC control. */
const formB = (form: FormPdf) =>
  form
    .heading("Nanopore Sequenzierung - Probenauftrag / Sample submission")
    .pair(["Quote #", "HTSF--ZZ-007"], ["Date", "15.03.2026"])
    .pair(["Requester", "Jörg Müller"], ["E-mail", "j.mueller@uni.example.de"])
    .pair(["Phone", "+49 30 1234 5678"], ["Expires", "2026-04-14"])
    .pair(["Lab", "Müller Lab"], ["Billing account", "DE-4411-22"])
    .pair(["PI 1", "Jörg Müller"], ["PI 1 e-mail", "j.mueller@uni.example.de"])
    .pair(["PI 2", "Eva Schmidt"], ["PI 2 e-mail", ""])
    .pair(["Organism", "Arabidopsis thaliana"], ["Comments", "Please keep leftovers"])
    .options(
      "Kit",
      [["SQK-LSK114 (Ligation)", false], ["SQK-NBD114.24 (Native Barcoding 24)", false], ["SQK-RAD114 (Rapid)", false], ["SQK-ULK114 (Ultra-long)", true]],
      { style: "dot", shape: "circle", perLine: 2 }
    )
    .options("Sample type", [["HMW DNA / gDNA", true], ["fragmented DNA", false], ["PCR amplicons", false], ["cDNA", false]], { style: "dot", shape: "circle" })
    .options("Human DNA", [["Yes", false], ["No", true]], { style: "dot", shape: "circle" })
    .options("Buffer", [["EB (10 mM Tris-Cl)", true], ["Nuclease-free water", false]], { style: "dot", shape: "circle" })
    .options("Device", [["MinION", true], ["PromethION", false]], { style: "dot", shape: "circle" })
    .field("Genome size", "135 Mb", { at: 140 })
    .field("Target coverage", "50X", { at: 140 })
    .field("Flow cells (#)", "1", { at: 140 })
    .options("Basecalling", [["HAC", true], ["SUP", false], ["Methylation (5mC/5hmC)", false]], { style: "square", shape: "square" })
    .options("Output format", [["FASTQ / BAM", false], ["POD5", false]], { style: "square", shape: "square" })
    .options("Data delivery", [["ITS /proj space", true], ["URL download", false], ["Pre-arranged", false], ["Other", false]], { style: "fill", shape: "square" })
    .field("Notify", "j.mueller@uni.example.de, eva.schmidt@uni.example.de", { at: 140 })
    .heading("Samples")
    .table(
      [
        { header: "#", width: 24, align: "center" },
        { header: "Sample name", width: 150, align: "left" },
        { header: ["Vol", "(µL)"], width: 52, align: "right" },
        { header: ["Qubit", "(ng/µL)"], width: 60, align: "right" },
        { header: ["ND", "(ng/µL)"], width: 60, align: "right" },
        { header: "A260/280", width: 50, align: "right" },
        { header: "A260/230", width: 50, align: "right" },
        { header: "Barcode", width: 60, align: "left" }
      ],
      [
        ["1", "At-Col0 leaf replicate 1 - HMW extraction 2026-02-03", "25 µL", "48,2 ng/µL", "61,0", "1,85", "2,10", "barcode01"],
        ["2", "At-Col0 root", "30", "12,5", "n/a", "1,90", "2,05", "barcode02"],
        ["3", "At-Ler leaf", "", "0", "3,1", "1,70", "", "barcode03"],
        ["4", "At-Ler root", "22,5", "", "18,9", "1,88", "2,01", "barcode04"],
        ["5", "At-Cvi seed pool from three independent extractions", "40", "101,25", "150,7", "1,92", "2,15", "barcode05"],
        ["6", "At-Cvi root", "18", "7,75", "9,2", "1,81", "1,99", "barcode06"],
        ["7", "At-Bur leaf", "26", "33,0", "40,4", "1,86", "2,08", "barcode07"],
        ["8", "At-Bur root", "27", "31,9", "38,8", "1,87", "2,07", "barcode08"],
        ["9", "At-Kas leaf", "28", "29,4", "35,1", "1,89", "2,06", "barcode09"],
        ["10", "At-Kas root", "29", "28,8", "34,0", "1,90", "2,04", "barcode10"],
        ["11", "At-Sha leaf", "31", "27,1", "33,3", "1,91", "2,03", "barcode11"],
        ["12", "Positive control - lambda DNA", "25 µL", "50,0", "60,2", "1,88", "2,08", ""],
        ["13", "NTC", "25", "0", "", "", "", ""]
      ],
      { rowsPerPage: 8, emptySlots: 3, grid: true }
    )

const formBExpected: SubmissionForm = {
  quoteId: "HTSF--ZZ-007",
  quoteDate: "2026-03-15",
  expiresOn: "2026-04-14",
  requester: { name: "Jörg Müller", email: "j.mueller@uni.example.de", phone: "+49 30 1234 5678" },
  lab: "Müller Lab",
  pis: [
    { name: "Jörg Müller", email: "j.mueller@uni.example.de" },
    { name: "Eva Schmidt", email: null }
  ],
  billingAccount: "DE-4411-22",
  kit: "SQK-ULK114",
  sampleType: "hmw_dna",
  humanDna: false,
  organism: "Arabidopsis thaliana",
  buffer: "EB",
  device: "MinION",
  genomeSizeMb: 135,
  coverage: 50,
  flowCellCount: 1,
  basecalling: ["hac"],
  fileFormat: null,
  notificationEmails: ["j.mueller@uni.example.de", "eva.schmidt@uni.example.de"],
  retrieval: ["its_proj"],
  samples: [
    sample(1, "At-Col0 leaf replicate 1 - HMW extraction 2026-02-03", { volumeUl: 25, qubitNgUl: 48.2, nanodropNgUl: 61, a260_280: 1.85, a260_230: 2.1 }),
    sample(2, "At-Col0 root", { volumeUl: 30, qubitNgUl: 12.5, a260_280: 1.9, a260_230: 2.05 }),
    sample(3, "At-Ler leaf", { qubitNgUl: 0, nanodropNgUl: 3.1, a260_280: 1.7 }),
    sample(4, "At-Ler root", { volumeUl: 22.5, nanodropNgUl: 18.9, a260_280: 1.88, a260_230: 2.01 }),
    sample(5, "At-Cvi seed pool from three independent extractions", { volumeUl: 40, qubitNgUl: 101.25, nanodropNgUl: 150.7, a260_280: 1.92, a260_230: 2.15 }),
    sample(6, "At-Cvi root", { volumeUl: 18, qubitNgUl: 7.75, nanodropNgUl: 9.2, a260_280: 1.81, a260_230: 1.99 }),
    sample(7, "At-Bur leaf", { volumeUl: 26, qubitNgUl: 33, nanodropNgUl: 40.4, a260_280: 1.86, a260_230: 2.08 }),
    sample(8, "At-Bur root", { volumeUl: 27, qubitNgUl: 31.9, nanodropNgUl: 38.8, a260_280: 1.87, a260_230: 2.07 }),
    sample(9, "At-Kas leaf", { volumeUl: 28, qubitNgUl: 29.4, nanodropNgUl: 35.1, a260_280: 1.89, a260_230: 2.06 }),
    sample(10, "At-Kas root", { volumeUl: 29, qubitNgUl: 28.8, nanodropNgUl: 34, a260_280: 1.9, a260_230: 2.04 }),
    sample(11, "At-Sha leaf", { volumeUl: 31, qubitNgUl: 27.1, nanodropNgUl: 33.3, a260_280: 1.91, a260_230: 2.03 }),
    sample(12, "Positive control - lambda DNA", { volumeUl: 25, qubitNgUl: 50, nanodropNgUl: 60.2, a260_280: 1.88, a260_230: 2.08, control: "positive" }),
    sample(13, "NTC", { volumeUl: 25, qubitNgUl: 0, control: "blank" })
  ],
  problems: ["zero_concentration: row 3 (At-Ler leaf) Qubit = 0", "missing_concentration: row 4 (At-Ler root) Qubit blank"]
}

/** Form C: every value under its label, vertical option lists with filled circles, a "Control" column, volumes in
 *  mL, ratios 230 before 280, a grid, five rows a page. */
const formC = (form: FormPdf) => {
  const below = { below: true } as const
  const vertical = { style: "fill", shape: "circle", vertical: true } as const
  return form
    .heading("SEQUENCING CORE - SAMPLE INTAKE")
    .field("Reference number", "HTSF--CC-300", below)
    .field("Issue date", "2026-01-31", below)
    .field("Expiration date", "2026-03-01", below)
    .field("Contact name", "Grace Hopper", below)
    .field("Email address", "grace@navy.example.mil", below)
    .field("Phone number", "555 0199", below)
    .field("Research group", "Hopper Group", below)
    .field("PI", "Grace Hopper <grace@navy.example.mil>", below)
    .field("Account number", "ACC-99", below)
    .options("Kit", [["SQK-LSK114 Ligation", false], ["SQK-RBK114.96 Rapid Barcoding 96", true]], vertical)
    .options("Sample type:", [["Genomic DNA (HMW)", true], ["Amplicons", false]], vertical)
    .options("Human material?", [["Yes", false], ["No", true]], vertical)
    .field("Organism / species", "Escherichia coli K-12", below)
    .options("Elution buffer", [["EB", false], ["Water (nuclease-free)", true]], vertical)
    .newPage()
    .options("Flow cell type", [["MinION (FLO-MIN114)", false], ["PromethION (FLO-PRO114M)", true]], vertical)
    .field("Genome size", "4.6 Mb", below)
    .field("Coverage (x)", "60", below)
    .field("Number of flow cells", "1", below)
    .options("Basecalling", [["Fast", false], ["High accuracy (HAC)", true], ["Super accuracy (SUP)", false], ["Modified bases (5mC)", true]], {
      style: "x",
      shape: "square",
      vertical: true
    })
    .options("Data format", [["FASTQ/BAM", true], ["POD5", false]], vertical)
    .options("Delivery method", [["Download link (URL)", false], ["Project space on cluster (ITS /proj)", false], ["Hard drive (pre-arranged)", true]], {
      style: "check",
      shape: "square",
      vertical: true
    })
    .field("Notification e-mails", "grace@navy.example.mil", below)
    .heading("Samples")
    .table(
      [
        { header: "Row", width: 30, align: "center" },
        { header: "Sample", width: 120, align: "left" },
        { header: "Control", width: 50, align: "center" },
        { header: ["Volume", "(mL)"], width: 50, align: "right" },
        { header: ["Qubit", "(ng/µl)"], width: 50, align: "right" },
        { header: ["NanoDrop", "(ng/µl)"], width: 55, align: "right" },
        { header: "A260/A230", width: 55, align: "center" },
        { header: "A260/A280", width: 55, align: "center" }
      ],
      [
        ["1", "EC-1", "", "0.020", "35.5", "40.1", "2.1", "1.9"],
        ["2", "EC-2", "", "0.030", "0", "12.0", "1.8", "1.7"],
        ["3", "EC-3", "", "0.025", "22.25", "", "", "1.85"],
        ["4", "EC-4", "", "", "18", "20", "2.0", "1.8"],
        ["5", "EC-5", "", "0.015", "", "9.9", "2.2", "2.0"],
        ["6", "Lambda pos ctrl", "positive", "0.025", "50", "55", "2.1", "1.88"],
        ["7", "Water", "blank", "0.025", "", "", "", ""]
      ],
      { rowsPerPage: 5, grid: true }
    )
}

const formCExpected: SubmissionForm = {
  quoteId: "HTSF--CC-300",
  quoteDate: "2026-01-31",
  expiresOn: "2026-03-01",
  requester: { name: "Grace Hopper", email: "grace@navy.example.mil", phone: "555 0199" },
  lab: "Hopper Group",
  pis: [{ name: "Grace Hopper", email: "grace@navy.example.mil" }],
  billingAccount: "ACC-99",
  kit: "SQK-RBK114.96",
  sampleType: "hmw_dna",
  humanDna: false,
  organism: "Escherichia coli K-12",
  buffer: "nuclease_free_water",
  device: "PromethION",
  genomeSizeMb: 4.6,
  coverage: 60,
  flowCellCount: 1,
  basecalling: ["hac", "methylation"],
  fileFormat: "fastq_bam",
  notificationEmails: ["grace@navy.example.mil"],
  retrieval: ["prearranged"],
  samples: [
    sample(1, "EC-1", { volumeUl: 20, qubitNgUl: 35.5, nanodropNgUl: 40.1, a260_230: 2.1, a260_280: 1.9 }),
    sample(2, "EC-2", { volumeUl: 30, qubitNgUl: 0, nanodropNgUl: 12, a260_230: 1.8, a260_280: 1.7 }),
    sample(3, "EC-3", { volumeUl: 25, qubitNgUl: 22.25, a260_280: 1.85 }),
    sample(4, "EC-4", { qubitNgUl: 18, nanodropNgUl: 20, a260_230: 2, a260_280: 1.8 }),
    sample(5, "EC-5", { volumeUl: 15, nanodropNgUl: 9.9, a260_230: 2.2, a260_280: 2 }),
    sample(6, "Lambda pos ctrl", { volumeUl: 25, qubitNgUl: 50, nanodropNgUl: 55, a260_230: 2.1, a260_280: 1.88, control: "positive" }),
    sample(7, "Water", { volumeUl: 25, control: "blank" })
  ],
  problems: ["zero_concentration: row 2 (EC-2) Qubit = 0", "missing_concentration: row 5 (EC-5) Qubit blank"]
}

describe("FormRules on generated forms", () => {
  it.effect("form A: other wordings, X / check / glyph / inner-square ticks, transformed boxes, three-page table without row numbers", () =>
    Effect.gen(function* () {
      const { confidence, evidence, result } = yield* read(yield* build(formA))
      const { samples, ...fields } = result
      const { samples: expectedSamples, ...expectedFields } = formAExpected
      expect(fields).toEqual(expectedFields)
      expect(samples).toEqual(expectedSamples)
      expect(confidence.kit).toBeGreaterThan(0.9)
      expect(confidence["samples[9].name"]).toBeLessThan(confidence["samples[0].name"]!)
      expect(evidence.kit?.boxes?.filter((b) => b.ticked).map((b) => b.label)).toEqual(["SQK-LSK114"])
    }))

  it.effect("form B: two label columns, comma decimals, units in cells, n/a, empty slots, extra column, controls, problems", () =>
    Effect.gen(function* () {
      const { result, warnings } = yield* read(yield* build(formB))
      const { samples, ...fields } = result
      const { samples: expectedSamples, ...expectedFields } = formBExpected
      expect(fields).toEqual(expectedFields)
      expect(samples).toEqual(expectedSamples)
      expect(warnings.some((w) => w.includes("not a number"))).toBe(false)
    }))

  it.effect("form C: values under their labels, vertical option lists, a control column, volumes in mL", () =>
    Effect.gen(function* () {
      const { result } = yield* read(yield* build(formC))
      const { samples, ...fields } = result
      const { samples: expectedSamples, ...expectedFields } = formCExpected
      expect(fields).toEqual(expectedFields)
      expect(samples).toEqual(expectedSamples)
    }))

  it.effect("a fillable form (AcroForm text fields, radio group, check boxes) reads from the field values", () =>
    Effect.gen(function* () {
      const pdf = yield* Effect.promise(async () => {
        const doc = await PDFDocument.create()
        const font = await doc.embedFont(StandardFonts.Helvetica)
        const page = doc.addPage([595, 842])
        const form = doc.getForm()
        const text = (label: string, value: string, y: number) => {
          page.drawText(label, { x: 40, y, size: 10, font })
          const field = form.createTextField(label)
          field.setText(value)
          field.addToPage(page, { x: 200, y: y - 4, width: 250, height: 16, font })
        }
        text("Quote ID", "HTSF--FF-010", 780)
        text("Requester", "Rosalind Franklin", 760)
        text("E-mail", "rf@kings.example.ac.uk", 740)
        page.drawText("Device", { x: 40, y: 700, size: 10, font })
        const device = form.createRadioGroup("device")
        for (const [i, name] of ["MinION", "PromethION"].entries()) {
          device.addOptionToPage(name, page, { x: 200 + i * 90, y: 698, width: 10, height: 10 })
          page.drawText(name, { x: 214 + i * 90, y: 700, size: 10, font })
        }
        device.select("PromethION")
        page.drawText("Basecalling", { x: 40, y: 680, size: 10, font })
        for (const [i, [name, on]] of ([["HAC", true], ["SUP", false], ["Methylation", true]] as const).entries()) {
          const box = form.createCheckBox(`basecalling.${name}`)
          box.addToPage(page, { x: 200 + i * 90, y: 678, width: 10, height: 10 })
          if (on) box.check()
          page.drawText(name, { x: 214 + i * 90, y: 680, size: 10, font })
        }
        return doc.save()
      })
      const { result } = yield* read(pdf)
      expect(result).toMatchObject({
        quoteId: "HTSF--FF-010",
        requester: { name: "Rosalind Franklin", email: "rf@kings.example.ac.uk", phone: null },
        device: "PromethION",
        basecalling: ["hac", "methylation"]
      })
    }))

  it.effect("a table that goes on at the top of the next page without its header keeps its columns; what follows is no sample", () =>
    Effect.gen(function* () {
      const pdf = yield* Effect.promise(async () => {
        const doc = await PDFDocument.create()
        const font = await doc.embedFont(StandardFonts.Helvetica)
        let page = doc.addPage([595, 842])
        for (const [header, x] of [["#", 40], ["Sample name", 70], ["Volume (uL)", 200], ["Qubit (ng/uL)", 270], ["Nanodrop (ng/uL)", 350]] as const) {
          page.drawText(header, { x, y: 780, size: 9, font })
        }
        let y = 765
        for (let row = 1; row <= 70; row++) {
          if (y < 60) {
            page = doc.addPage([595, 842])
            y = 790
          }
          for (const [text, x] of [[String(row), 40], [`S-${row}`, 70], [String(20 + row), 200], [(row * 1.5).toFixed(1), 270]] as const) {
            page.drawText(text, { x, y, size: 9, font })
          }
          y -= 13
        }
        page = doc.addPage([595, 842])
        page.drawText("Flow cells", { x: 40, y: 790, size: 9, font })
        page.drawText("1", { x: 200, y: 790, size: 9, font })
        page.drawText("2", { x: 270, y: 790, size: 9, font })
        return doc.save()
      })
      const { result, warnings } = yield* read(pdf)
      expect(result.samples).toHaveLength(70)
      expect(result.samples[69]).toEqual(sample(70, "S-70", { volumeUl: 90, qubitNgUl: 105 }))
      expect(warnings).toContain("the sample table goes on at the top of page 2 without its header; the columns of page 1 were used")
    }))

  it.effect("every path of the result has a confidence in [0,1], and every value read from the page has evidence", () =>
    Effect.gen(function* () {
      const { confidence, evidence, result } = yield* read(yield* build(formB))
      const leaves = [
        "quoteId",
        "quoteDate",
        "expiresOn",
        "requester.name",
        "requester.email",
        "requester.phone",
        "lab",
        "billingAccount",
        "kit",
        "sampleType",
        "humanDna",
        "organism",
        "buffer",
        "device",
        "genomeSizeMb",
        "coverage",
        "flowCellCount",
        "basecalling",
        "fileFormat",
        "notificationEmails",
        "retrieval",
        "problems",
        ...result.pis.flatMap((_, i) => [`pis[${i}].name`, `pis[${i}].email`]),
        ...result.samples.flatMap((_, i) =>
          ["row", "name", "volumeUl", "qubitNgUl", "nanodropNgUl", "a260_280", "a260_230", "control"].map((k) => `samples[${i}].${k}`)
        )
      ]
      for (const path of leaves) {
        expect(confidence[path], path).toBeGreaterThanOrEqual(0)
        expect(confidence[path], path).toBeLessThanOrEqual(1)
      }
      expect(evidence.quoteId).toMatchObject({ page: 1, text: "HTSF--ZZ-007" })
      expect(evidence["samples[12].name"]?.page).toBe(2)
    }))

  it.effect("a form with nothing ticked reports null options, empty lists and the missing kit", () =>
    Effect.gen(function* () {
      const pdf = yield* build((form) =>
        form
          .field("Quote:", "HTSF--NO-001", { inline: true })
          .options("Library kit:", [["SQK-LSK114", false], ["SQK-RAD114", false]], { style: "dot", shape: "circle" })
          .options("Device:", [["MinION", false], ["PromethION", false]], { style: "dot", shape: "circle" })
          .options("Basecalling:", [["HAC", false], ["SUP", false]], { style: "x", shape: "square" })
          .table(
            [
              { header: "#", width: 24, align: "center" },
              { header: "Sample Name", width: 150, align: "left" },
              { header: "Volume (µL)", width: 60, align: "right" },
              { header: "Qubit (ng/µL)", width: 60, align: "right" }
            ],
            [["1", "S1", "20", ""]],
            { rowsPerPage: 20 }
          )
      )
      const { result } = yield* read(pdf)
      expect(result).toMatchObject({ quoteId: "HTSF--NO-001", kit: null, device: null, basecalling: [], retrieval: [] })
      expect(result.samples).toEqual([sample(1, "S1", { volumeUl: 20 })])
      expect(result.problems).toEqual(["missing_concentration: row 1 (S1) Qubit blank", "kit_not_selected: no library kit option is ticked"])
    }))
})
