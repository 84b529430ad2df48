import { adminAuth } from "./TestAuth.ts"

/** An HTTP client of the REST bridge for the multi-process tests, with the retry discipline of a careful integrator. */

export interface Acked {
  readonly sampleId: string
  readonly key: string
  readonly version: number
}

export interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
}

/** One POST; status 0 when there was no answer (connection error, timeout). */
export const post = async (base: string, path: string, body: unknown, key?: string): Promise<Reply> => {
  try {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...adminAuth, ...(key ? { "idempotency-key": key } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000)
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  } catch (e) {
    return { status: 0, body: { error: String(e) } }
  }
}

/** Resends a command with the same idempotency key until it is answered (200); a refusal or the deadline throws. */
export const command = async (base: string, sampleId: string, path: string, body: unknown, key: string, deadline: number) => {
  const statuses: Array<number> = []
  for (;;) {
    const started = Date.now()
    const res = await post(base, `/api/v1/samples/${sampleId}${path}`, body, key)
    statuses.push(res.status)
    if (res.status === 200) {
      const sample = res.body.sample as { version: number }
      return { acked: { sampleId, key, version: sample.version }, attempts: statuses.length, statuses, replayed: res.body.replayed === true, lastLatency: Date.now() - started }
    }
    if (res.status !== 503 && res.status !== 0 && res.status < 500) throw new Error(`${path} ${sampleId}: ${res.status} ${JSON.stringify(res.body)}`)
    if (Date.now() > deadline) throw new Error(`${path} ${sampleId}: not answered in time (last ${res.status})`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** The sum of a metric's series in a process's /metrics, filtered by a label substring. */
export const metricSum = async (base: string, name: string, labelPart = ""): Promise<number> => {
  const text = await fetch(`${base}/metrics`).then((r) => r.text())
  return text.split("\n")
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labelPart))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0)
}
