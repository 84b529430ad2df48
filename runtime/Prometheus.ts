/** Every Effect metric of this process (ours and @effect/cluster's) in the Prometheus text exposition format. */
import { Effect, Metric, MetricState, Option } from "effect"
import type { MetricPair } from "effect"

const name = (raw: string) => raw.replace(/[^a-zA-Z0-9_:]/g, "_")
const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')
const labels = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>, extra: Record<string, string> = {}) => {
  const all = [...tags.map((t) => [t.key, t.value] as const), ...Object.entries(extra)]
  return all.length === 0 ? "" : `{${all.map(([k, v]) => `${name(k)}="${escape(v)}"`).join(",")}}`
}
const num = (n: number | bigint) => (typeof n === "bigint" ? n.toString() : Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN")

/** Renders metric pairs; one HELP/TYPE header per metric name. */
export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const byName = new Map<string, { help: string; type: string; lines: Array<string> }>()
  const entry = (n: string, help: string, type: string) => {
    let e = byName.get(n)
    if (!e) {
      e = { help, type, lines: [] }
      byName.set(n, e)
    }
    return e
  }
  for (const pair of pairs) {
    const key = pair.metricKey
    const n = name(key.name)
    const help = Option.getOrElse(key.description, () => key.name)
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      entry(n, help, "counter").lines.push(`${n}${labels(key.tags)} ${num(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      entry(n, help, "gauge").lines.push(`${n}${labels(key.tags)} ${num(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      const e = entry(n, help, "histogram")
      // Effect's boundaries end with +Inf already; a histogram must still have exactly one +Inf bucket.
      for (const [le, count] of state.buckets) {
        if (le !== Number.POSITIVE_INFINITY) e.lines.push(`${n}_bucket${labels(key.tags, { le: num(le) })} ${count}`)
      }
      e.lines.push(`${n}_bucket${labels(key.tags, { le: "+Inf" })} ${state.count}`)
      e.lines.push(`${n}_sum${labels(key.tags)} ${num(state.sum)}`)
      e.lines.push(`${n}_count${labels(key.tags)} ${state.count}`)
    } else if (MetricState.isFrequencyState(state)) {
      const e = entry(n, help, "counter")
      for (const [value, count] of state.occurrences) e.lines.push(`${n}${labels(key.tags, { value })} ${count}`)
    } else if (MetricState.isSummaryState(state)) {
      const e = entry(n, help, "summary")
      for (const [q, v] of state.quantiles) e.lines.push(`${n}${labels(key.tags, { quantile: String(q) })} ${Option.match(v, { onNone: () => "NaN", onSome: num })}`)
      e.lines.push(`${n}_sum${labels(key.tags)} ${num(state.sum)}`)
      e.lines.push(`${n}_count${labels(key.tags)} ${state.count}`)
    }
  }
  const out: Array<string> = []
  for (const [n, e] of [...byName.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`# HELP ${n} ${escape(e.help)}`, `# TYPE ${n} ${e.type}`, ...e.lines)
  }
  return out.join("\n") + "\n"
}

/** The current exposition text. */
export const exposition = Effect.map(Metric.snapshot, render)
