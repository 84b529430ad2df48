/** A small seeded PRNG (mulberry32): the same seed gives the same fault plan, targets, gaps and think times. */
export interface Prng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [lo, hi]. */
  readonly int: (lo: number, hi: number) => number
  /** Uniform in [lo, hi). */
  readonly between: (lo: number, hi: number) => number
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  readonly shuffle: <A>(items: ReadonlyArray<A>) => Array<A>
}

export const prng = (seed: number): Prng => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => {
    const item = items[int(0, items.length - 1)]
    if (item === undefined) throw new Error("pick from an empty list")
    return item
  }
  const shuffle = <A>(items: ReadonlyArray<A>): Array<A> => {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(0, i)
      const tmp = out[i]!
      out[i] = out[j]!
      out[j] = tmp
    }
    return out
  }
  return { next, int, between: (lo, hi) => lo + next() * (hi - lo), pick, shuffle }
}

/** An independent stream for one purpose (e.g. one sample's think times), so streams do not perturb each other. */
export const derive = (seed: number, salt: number): number => {
  let h = (seed ^ Math.imul(salt + 0x9e3779b9, 0x85ebca6b)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

/** The seed from FAULT_SEED (replay), otherwise a fresh one. */
export const seedFromEnv = (fallback?: number): number => {
  const raw = process.env.FAULT_SEED
  if (raw !== undefined && raw.trim() !== "") {
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`FAULT_SEED must be an integer in 0..4294967295, got "${raw}"`)
    return n
  }
  return fallback ?? Math.floor(Math.random() * 0xffffffff)
}
