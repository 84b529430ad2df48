/**
 * The knowledge base shipped with poretrack: short passages about nanopore kits, flow cells and sample QC that the
 * validation stage retrieves and cites (each warning names the passage id it rests on). Figures are the facility's
 * working numbers after Oxford Nanopore's public product pages and protocols; a facility edits them here.
 */

/** One passage: a stable id (cited by warnings), a title and its text. */
export interface Passage {
  readonly id: string
  readonly title: string
  readonly text: string
}

/** Every passage, in no particular order; ids are stable because warnings stored in the database cite them. */
export const PASSAGES: ReadonlyArray<Passage> = [
  {
    id: "kit-lsk114",
    title: "Ligation Sequencing Kit V14 (SQK-LSK114)",
    text: "SQK-LSK114 is the ligation kit of Kit 14 for R10.4.1 flow cells. It sequences genomic DNA, amplicons and cDNA without barcodes, one sample per flow cell unless a separate barcoding expansion is used. Recommended input is about 1 µg (1000 ng) of gDNA, or about 100-200 fmol; less input gives lower yield. Best with high molecular weight (HMW) DNA for long reads; fragment size is preserved."
  },
  {
    id: "kit-nbd114",
    title: "Native Barcoding Kit 24 and 96 V14 (SQK-NBD114.24, SQK-NBD114.96)",
    text: "SQK-NBD114.24 multiplexes up to 24 samples and SQK-NBD114.96 up to 96 samples on one R10.4.1 flow cell with native barcodes barcode01 to barcode24 or barcode96. Input is about 400 ng gDNA per sample (per barcode), or 200 fmol for amplicons. Ligation based: preserves read length, suits gDNA and amplicons. More samples than barcodes in one pool is not possible."
  },
  {
    id: "kit-rad114",
    title: "Rapid Sequencing Kit V14 (SQK-RAD114)",
    text: "SQK-RAD114 is a transposase rapid kit: library preparation in about 10 minutes from about 100 ng of HMW gDNA, one sample per flow cell, no barcodes. Fragmentation shortens reads compared with ligation; not suited to amplicons or short fragmented DNA, and not for RNA."
  },
  {
    id: "kit-rbk114",
    title: "Rapid Barcoding Kit 24 and 96 V14 (SQK-RBK114.24, SQK-RBK114.96)",
    text: "SQK-RBK114.24 multiplexes up to 24 samples and SQK-RBK114.96 up to 96 samples with rapid barcodes. Input is about 50 ng gDNA per barcode (200 ng for the 96 kit pooled). Quick library preparation; suits bacterial and small genomes, plasmids. Transposase fragmentation: not for short amplicons under about 4 kb and not for RNA."
  },
  {
    id: "kit-ulk114",
    title: "Ultra-Long DNA Sequencing Kit V14 (SQK-ULK114)",
    text: "SQK-ULK114 gives ultra-long reads (N50 above 50 kb) from about 6 to 40 µg of ultra high molecular weight DNA extracted with a gentle protocol. Fragmented or degraded DNA and amplicons give no benefit; use SQK-LSK114 instead."
  },
  {
    id: "kit-pcb114",
    title: "cDNA-PCR Barcoding Kit V14 (SQK-PCB114.24)",
    text: "SQK-PCB114.24 sequences full-length cDNA from RNA with PCR amplification and up to 24 barcodes. Input is about 500 ng total RNA or 4 ng poly(A)+ RNA per sample. It is an RNA / cDNA kit: genomic DNA samples are not suitable."
  },
  {
    id: "kit-rna004",
    title: "Direct RNA Sequencing Kit (SQK-RNA004)",
    text: "SQK-RNA004 sequences native RNA directly and needs the RNA flow cells FLO-MIN004RA (MinION) or FLO-PRO004RA (PromethION); it does not run on DNA flow cells R10.4.1 or R9.4.1. Input about 1 µg total RNA or 300 ng poly(A) RNA. No barcodes: one sample per flow cell. DNA samples cannot be sequenced with it."
  },
  {
    id: "kit-discontinued",
    title: "Discontinued kits and chemistries",
    text: "Kit 9, Kit 10 and Kit 12 products are discontinued: SQK-LSK109, SQK-LSK110, SQK-LSK112, SQK-RBK004, SQK-RBK110.96, SQK-RAD004, SQK-NBD112.24, SQK-PBK004, SQK-RNA002, EXP-NBD104, EXP-NBD114. R9.4.1 flow cells (FLO-MIN106D, FLO-PRO002) are legacy. Current chemistry is Kit 14 on R10.4.1 flow cells; a Kit 14 kit on an R9.4.1 flow cell makes no sense."
  },
  {
    id: "flowcell-minion",
    title: "MinION / GridION flow cell R10.4.1 (FLO-MIN114)",
    text: "FLO-MIN114 runs on MinION and GridION devices. Typical output of a MinION flow cell is about 15-20 Gb in 72 hours with a ligation library of good HMW DNA (up to about 50 Gb theoretical). Warranty minimum 800 pores at flow cell check. The facility plans with 15 Gb per MinION flow cell."
  },
  {
    id: "flowcell-promethion",
    title: "PromethION flow cell R10.4.1 (FLO-PRO114M)",
    text: "FLO-PRO114M runs on PromethION P2 and P24/P48 devices. Typical output is about 100-150 Gb per flow cell in 72 hours (up to about 290 Gb theoretical). Warranty minimum 5000 pores. The facility plans with 100 Gb per PromethION flow cell; suits human and other large genomes at 30x coverage and above."
  },
  {
    id: "flowcell-flongle",
    title: "Flongle flow cell R10.4.1 (FLO-FLG114)",
    text: "FLO-FLG114 is a Flongle adapter flow cell for small tests, amplicons and plasmids: output about 1-2 Gb in 24 hours. Warranty minimum 50 pores. The facility plans with 1 Gb per Flongle flow cell; not for whole genomes larger than a few Mb at depth."
  },
  {
    id: "qc-a260-280",
    title: "Purity: A260/280 ratio",
    text: "Pure DNA has an A260/280 ratio of about 1.8 (1.8-2.0 accepted); pure RNA about 2.0. A lower A260/280 suggests protein or phenol contamination, a much higher one RNA in a DNA sample. Outside the range the sample may sequence poorly; clean up with beads or re-extract."
  },
  {
    id: "qc-a260-230",
    title: "Purity: A260/230 ratio",
    text: "The A260/230 ratio of clean nucleic acid is 2.0-2.2. A lower A260/230 indicates carry-over of salts, guanidine, carbohydrates, EDTA or phenol, which inhibit library preparation enzymes and block pores. Clean up with AMPure XP beads."
  },
  {
    id: "qc-quantification",
    title: "Quantification: Qubit versus Nanodrop",
    text: "Concentration for library input is measured by fluorometry (Qubit, ng/µL); Nanodrop absorbance overestimates concentration when RNA, free nucleotides or contaminants are present. A Nanodrop value far above the Qubit value (more than about 1.5-2 times) indicates contamination or RNA. Total amount in ng = Qubit concentration ng/µL × volume µL. A zero or missing Qubit reading means the sample cannot be quantified."
  },
  {
    id: "qc-input-amount",
    title: "Input amount per kit",
    text: "Input needs per library: ligation SQK-LSK114 about 1000 ng gDNA; native barcoding SQK-NBD114 about 400 ng per sample; rapid SQK-RAD114 about 100 ng; rapid barcoding SQK-RBK114 about 50 ng per sample; ultra-long SQK-ULK114 6-40 µg; cDNA SQK-PCB114.24 about 500 ng total RNA; direct RNA SQK-RNA004 about 1000 ng total RNA. Too little input is a QC fail; submit at least the kit's input plus a margin for QC (volume for Qubit and Nanodrop)."
  },
  {
    id: "qc-volume-units",
    title: "Volumes and concentration units",
    text: "Sample volumes are given in µL; typical submissions are 10-100 µL, rarely above 500 µL. Concentrations are in ng/µL (equal to µg/mL); a value in ng/mL or µg/µL is a unit mistake by a factor of 1000. Purity ratios are unitless numbers between about 0.5 and 3."
  },
  {
    id: "sample-type-kit",
    title: "Matching sample type and kit",
    text: "DNA samples (HMW DNA, fragmented DNA, amplicons) use DNA kits: LSK114, NBD114, RAD114, RBK114, ULK114. RNA samples use SQK-RNA004 (direct RNA) or SQK-PCB114.24 (cDNA); cDNA samples use SQK-LSK114 or NBD114. Amplicons need ligation kits (LSK114, NBD114) because rapid transposase kits fragment short amplicons. Ultra-long kit needs HMW DNA."
  },
  {
    id: "sample-names",
    title: "Sample names and barcodes",
    text: "Each sample in a submission needs a unique name; duplicate sample names make data delivery ambiguous. Names used in MinKNOW sample sheets allow only letters, digits, underscore, dot and hyphen. Barcodes barcode01-barcode96 are unique among samples pooled on one flow cell; the number of samples must not exceed the barcodes of the kit."
  },
  {
    id: "coverage-planning",
    title: "Planning flow cells from genome size and coverage",
    text: "Data needed (Gb) = genome size (Mb) × coverage × number of samples / 1000. Flow cells needed = data needed / expected output per flow cell (MinION 15 Gb, PromethION 100 Gb, Flongle 1 Gb), rounded up. Human genomes at 30x need about 90-100 Gb: one PromethION flow cell or several MinION flow cells. Bacterial genomes (about 5 Mb) at 100x need 0.5 Gb per sample: barcode many on one MinION flow cell."
  },
  {
    id: "basecalling-models",
    title: "Basecalling models and outputs",
    text: "Basecalling models fast, hac (high accuracy) and sup (super accuracy); sup adds days of turnaround on large runs. Methylation (5mC, 6mA) calling needs POD5 raw data or BAM with modified base tags. Outputs: POD5 (raw signal), FASTQ and BAM."
  }
]
