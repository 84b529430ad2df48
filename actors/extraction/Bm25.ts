/**
 * A small BM25 ranker (Okapi, k1 1.2, b 0.75) over the knowledge base: lower-cased word and product-code tokens,
 * no stemming. Pure and deterministic: the same query always ranks the passages the same way.
 */

/** Splits text into lower-case tokens; product codes (SQK-LSK114, R10.4.1, FLO-MIN114) stay whole and in parts. */
export const tokenize = (text: string): Array<string> => {
  const lower = text.toLowerCase()
  const whole = lower.match(/[a-z0-9]+(?:[.\-/][a-z0-9]+)*/g) ?? []
  const tokens: Array<string> = []
  for (const w of whole) {
    tokens.push(w)
    if (/[.\-/]/.test(w)) for (const part of w.split(/[.\-/]/)) if (part.length > 1) tokens.push(part)
  }
  return tokens
}

/** A ranked hit: the document's index and its score (higher is better). */
export interface Ranked {
  readonly index: number
  readonly score: number
}

/** Builds a BM25 index over `documents`; `rank(query)` returns every document with a positive score, best first. */
export const bm25 = (documents: ReadonlyArray<string>, k1 = 1.2, b = 0.75) => {
  const docs = documents.map(tokenize)
  const avgLength = docs.reduce((s, d) => s + d.length, 0) / Math.max(1, docs.length)
  const frequencies = docs.map((d) => {
    const f = new Map<string, number>()
    for (const t of d) f.set(t, (f.get(t) ?? 0) + 1)
    return f
  })
  const documentFrequency = new Map<string, number>()
  for (const f of frequencies) for (const t of f.keys()) documentFrequency.set(t, (documentFrequency.get(t) ?? 0) + 1)
  const idf = (t: string) => {
    const n = documentFrequency.get(t) ?? 0
    return Math.log(1 + (docs.length - n + 0.5) / (n + 0.5))
  }
  return {
    rank: (query: string): Array<Ranked> => {
      const terms = [...new Set(tokenize(query))]
      return frequencies
        .map((f, index) => {
          let score = 0
          const length = docs[index]!.length
          for (const t of terms) {
            const tf = f.get(t) ?? 0
            if (tf === 0) continue
            score += idf(t) * (tf * (k1 + 1)) / (tf + k1 * (1 - b + b * length / avgLength))
          }
          return { index, score }
        })
        .filter((r) => r.score > 0)
        .sort((x, y) => y.score - x.score || x.index - y.index)
    }
  }
}
