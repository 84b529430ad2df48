/**
 * Retrieval over the shipped knowledge base: BM25 always, fused (reciprocal rank) with embedding similarity when an
 * embedder is given (Ollama's `/api/embed` when reachable). The citation of a warning is the top passage for its
 * question, so the same question cites the same passage on every run without embeddings.
 */
import { bm25 } from "./Bm25.ts"
import { type Passage, PASSAGES } from "./KnowledgeBase.ts"

/** Vectors for the query and every passage (same order as `PASSAGES`), or none when embeddings are unavailable. */
export interface PassageEmbeddings {
  readonly passages: ReadonlyArray<ReadonlyArray<number>>
  readonly embedQuery: (query: string) => ReadonlyArray<number> | null
}

const index = bm25(PASSAGES.map((p) => `${p.title} ${p.title} ${p.text}`))

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let dot = 0, na = 0, nb = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}

/** The best passages for `query`, best first (at most `k`); an unknown query gives none. */
export const retrieve = (query: string, k = 3, embeddings: PassageEmbeddings | null = null): Array<Passage> => {
  const lexical = index.rank(query)
  const fused = new Map<number, number>()
  lexical.forEach((r, rank) => fused.set(r.index, 1 / (60 + rank)))
  const q = embeddings?.embedQuery(query) ?? null
  if (embeddings !== null && q !== null) {
    embeddings.passages
      .map((v, i) => ({ i, s: cosine(q, v) }))
      .sort((x, y) => y.s - x.s)
      .forEach((r, rank) => fused.set(r.i, (fused.get(r.i) ?? 0) + 1 / (60 + rank)))
  }
  return [...fused.entries()]
    .sort((x, y) => y[1] - x[1] || x[0] - y[0])
    .slice(0, k)
    .map(([i]) => PASSAGES[i]!)
}

/** The id of the passage a warning about `query` rests on (the top hit); `fallback` when nothing matches. */
export const citeFor = (query: string, fallback: string, embeddings: PassageEmbeddings | null = null): string =>
  retrieve(query, 1, embeddings)[0]?.id ?? fallback
