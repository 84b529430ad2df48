/**
 * The dashboard's three charts (turnaround per priority by week, time per step, throughput per day), each a <figure>
 * with a caption, a role="img" summary in words, a fixed height, and its numbers in a <details> table. Only the
 * dashboard imports this file, so recharts loads with the dashboard and never with sign-in.
 */
import type { ReactNode } from "react"
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts"
import type { DailyThroughput, StepDuration, WeeklyTurnaround } from "../../../rpc/Dashboard.ts"
import { PRIORITIES, STEP_NAMES, type Priority } from "../../../rpc/Workflow.ts"

/** Height of every chart's drawing area: the same before and after the data arrives. */
export const CHART_HEIGHT = 240

const PRIORITY_COLOURS: Record<Priority, string> = { urgent: "#a8201f", high: "#b86e00", normal: "#1f5fa8", low: "#55606e" }
const RECEIVED = "#1f5fa8"
const COMPLETED = "#1d6b32"
const P90 = "#8fb0d6"

/** Hours in words: "45 min", "12.5 h", "3.2 d". */
export const formatHours = (h: number | null): string => {
  if (h === null) return "—"
  if (h < 1) return `${Math.round(h * 60)} min`
  if (h < 48) return `${h.toFixed(1)} h`
  return `${(h / 24).toFixed(1)} d`
}

const shortDate = (ymd: string) => new Date(`${ymd}T12:00:00Z`).toLocaleDateString(undefined, { day: "numeric", month: "short", timeZone: "UTC" })

/** YYYY-MM-DD `days` after `ymd` (calendar arithmetic, no time zone involved). */
const addDays = (ymd: string, days: number) => new Date(Date.parse(`${ymd}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)

/** The local date (YYYY-MM-DD) of an instant in `timeZone`. */
const localDate = (iso: string, timeZone: string) =>
  new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso))

/** A chart in its figure: caption, a summary for screen readers, a reserved height, and the numbers as a table. */
const ChartFigure = ({ caption, summary, empty, chart, table, wide = false }: {
  readonly caption: string
  readonly wide?: boolean
  readonly summary: string
  readonly empty: string | undefined
  readonly chart: () => ReactNode
  readonly table: () => ReactNode
}) => (
  <figure className={`panel chart${wide ? " wide" : ""}`} data-chart={empty === undefined ? "drawn" : "empty"}>
    <figcaption><h3>{caption}</h3></figcaption>
    {empty !== undefined
      ? <div className="chart-area"><p className="empty">{empty}</p></div>
      : (
        <>
          <div className="chart-area" role="img" aria-label={summary}>{chart()}</div>
          <details>
            <summary>The numbers</summary>
            <div className="table-scroll" role="region" aria-label={`${caption}: the numbers`} tabIndex={0}>{table()}</div>
          </details>
        </>
      )}
  </figure>
)

/** Legend entries in the text colour (the swatch carries the series' colour; light text on white is unreadable). */
const legendText = (value: string) => <span style={{ color: "var(--ink)" }}>{value}</span>

const chartStyle = { width: "100%", height: CHART_HEIGHT } as const
const margin = { top: 8, right: 16, bottom: 4, left: 0 }

/** Median and 90th-percentile turnaround (received → completed) per priority, one point per ISO week of the window. */
export const TurnaroundChart = ({ rows, windowStart, weeks, timeZone }: {
  readonly rows: ReadonlyArray<WeeklyTurnaround>
  readonly windowStart: string
  readonly weeks: number
  readonly timeZone: string
}) => {
  const firstMonday = localDate(windowStart, timeZone)
  const mondays = Array.from({ length: weeks }, (_, k) => addDays(firstMonday, 7 * k))
  const present = [...PRIORITIES].reverse().filter((p) => rows.some((r) => r.priority === p && r.count > 0))
  const data = mondays.map((monday) => {
    const point: Record<string, string | number | null> = { week: shortDate(monday) }
    for (const p of present) {
      const row = rows.find((r) => r.weekStart === monday && r.priority === p)
      point[`${p} median`] = row?.medianHours ?? null
      point[`${p} p90`] = row?.p90Hours ?? null
    }
    return point
  })
  const done = rows.reduce((n, r) => n + r.count, 0)
  const summary = present.map((p) => {
    const mine = rows.filter((r) => r.priority === p && r.count > 0)
    const last = mine[mine.length - 1]
    return `${p}: ${mine.reduce((n, r) => n + r.count, 0)} completed, latest week median ${formatHours(last?.medianHours ?? null)}, 90th percentile ${formatHours(last?.p90Hours ?? null)}`
  }).join("; ")
  return (
    <ChartFigure
      caption={`Turnaround per priority, last ${weeks} weeks`}
      summary={`Line chart of turnaround from receipt to completion by week, median and 90th percentile. ${done} samples completed. ${summary}.`}
      empty={done === 0 ? `No sample was completed in the last ${weeks} weeks yet.` : undefined}
      chart={() => (
        <LineChart responsive style={chartStyle} data={data} margin={margin} accessibilityLayer={false}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e3e7ec" />
          <XAxis dataKey="week" fontSize={12} />
          <YAxis fontSize={12} width={44} unit=" h" />
          <Tooltip formatter={(v) => (typeof v === "number" ? formatHours(v) : String(v))} />
          <Legend wrapperStyle={{ fontSize: 12 }} formatter={legendText} />
          {present.flatMap((p) => [
            <Line key={`${p}m`} dataKey={`${p} median`} stroke={PRIORITY_COLOURS[p]} strokeWidth={2} dot={{ r: 2 }} connectNulls isAnimationActive={false} />,
            <Line key={`${p}9`} dataKey={`${p} p90`} stroke={PRIORITY_COLOURS[p]} strokeDasharray="5 4" dot={false} connectNulls isAnimationActive={false} />
          ])}
        </LineChart>
      )}
      table={() => (
        <table>
          <caption className="visually-hidden">Turnaround per week and priority</caption>
          <thead><tr><th scope="col">Week</th><th scope="col">Priority</th><th scope="col">Completed</th><th scope="col">Median</th><th scope="col">90th percentile</th></tr></thead>
          <tbody>
            {rows.filter((r) => r.count > 0).map((r) => (
              <tr key={`${r.week}-${r.priority}`}>
                <td>{r.week} ({shortDate(r.weekStart)})</td><td>{r.priority}</td><td>{r.count}</td><td>{formatHours(r.medianHours)}</td><td>{formatHours(r.p90Hours)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    />
  )
}

/** Median and 90th-percentile time spent in each step over the window. */
export const StepDurationChart = ({ rows, weeks }: { readonly rows: ReadonlyArray<StepDuration>; readonly weeks: number }) => {
  const measured = rows.filter((r) => r.count > 0)
  const data = rows.map((r) => ({ step: STEP_NAMES[r.step], median: r.medianHours, p90: r.p90Hours }))
  const slowest = [...measured].sort((a, b) => (b.medianHours ?? 0) - (a.medianHours ?? 0))[0]
  return (
    <ChartFigure
      caption={`Time spent per step, last ${weeks} weeks`}
      summary={`Bar chart of the median and 90th percentile time each step took. ${measured.map((r) => `${STEP_NAMES[r.step]}: median ${formatHours(r.medianHours)}, 90th percentile ${formatHours(r.p90Hours)}`).join("; ")}.${slowest ? ` Slowest by median: ${STEP_NAMES[slowest.step]}.` : ""}`}
      empty={measured.length === 0 ? `No step was completed in the last ${weeks} weeks yet.` : undefined}
      chart={() => (
        <BarChart responsive layout="vertical" style={chartStyle} data={data} margin={margin} accessibilityLayer={false} barGap={0}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e3e7ec" horizontal={false} />
          <XAxis type="number" fontSize={12} unit=" h" />
          <YAxis type="category" dataKey="step" fontSize={12} width={136} interval={0} />
          <Tooltip formatter={(v) => (typeof v === "number" ? formatHours(v) : String(v))} />
          <Legend wrapperStyle={{ fontSize: 12 }} formatter={legendText} />
          <Bar dataKey="median" name="median" fill={RECEIVED} isAnimationActive={false} />
          <Bar dataKey="p90" name="90th percentile" fill={P90} isAnimationActive={false} />
        </BarChart>
      )}
      table={() => (
        <table>
          <caption className="visually-hidden">Time spent per step</caption>
          <thead><tr><th scope="col">Step</th><th scope="col">Completed</th><th scope="col">Median</th><th scope="col">90th percentile</th></tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.step}><td>{STEP_NAMES[r.step]}</td><td>{r.count}</td><td>{formatHours(r.medianHours)}</td><td>{formatHours(r.p90Hours)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    />
  )
}

/** Samples received and completed per local day of the window. */
export const ThroughputChart = ({ rows, weeks }: { readonly rows: ReadonlyArray<DailyThroughput>; readonly weeks: number }) => {
  const received = rows.reduce((n, r) => n + r.received, 0)
  const completed = rows.reduce((n, r) => n + r.completed, 0)
  const data = rows.map((r) => ({ day: shortDate(r.day), received: r.received, completed: r.completed }))
  const busiest = [...rows].sort((a, b) => b.received - a.received)[0]
  return (
    <ChartFigure
      caption={`Throughput per day, last ${weeks} weeks`}
      wide
      summary={`Bar chart of samples received and completed per day: ${received} received and ${completed} completed over ${rows.length} days.${busiest && busiest.received > 0 ? ` Most received on ${shortDate(busiest.day)}: ${busiest.received}.` : ""}`}
      empty={received + completed === 0 ? `No sample was received or completed in the last ${weeks} weeks yet.` : undefined}
      chart={() => (
        <BarChart responsive style={chartStyle} data={data} margin={margin} accessibilityLayer={false} barGap={0}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e3e7ec" vertical={false} />
          <XAxis dataKey="day" fontSize={11} minTickGap={16} />
          <YAxis fontSize={12} width={44} allowDecimals={false} />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} formatter={legendText} />
          <Bar dataKey="received" fill={RECEIVED} isAnimationActive={false} />
          <Bar dataKey="completed" fill={COMPLETED} isAnimationActive={false} />
        </BarChart>
      )}
      table={() => (
        <table>
          <caption className="visually-hidden">Samples received and completed per day</caption>
          <thead><tr><th scope="col">Day</th><th scope="col">Received</th><th scope="col">Completed</th></tr></thead>
          <tbody>
            {rows.filter((r) => r.received + r.completed > 0).map((r) => (
              <tr key={r.day}><td>{r.day}</td><td>{r.received}</td><td>{r.completed}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    />
  )
}

/** The three charts' places while the figures are on their way: the same heights, so nothing jumps. */
export const ChartPlaceholders = () => (
  <>
    {["Turnaround per priority", "Time spent per step", "Throughput per day"].map((caption, i) => (
      <figure key={caption} className={`panel chart${i === 2 ? " wide" : ""}`} aria-busy="true">
        <figcaption><h3>{caption}</h3></figcaption>
        <div className="chart-area"><div className="skeleton" style={{ height: CHART_HEIGHT - 16 }} /></div>
      </figure>
    ))}
  </>
)
