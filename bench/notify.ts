/**
 * Notification throughput on this machine, all on 127.0.0.1: e-mails/s through the pooled SMTP mailer into a local
 * smtp-server (BENCH_MAILS, default 2,000; BENCH_SMTP_CONNECTIONS pool size, default 5), e-mails/s into the local
 * outbox folder (each file written, synced and renamed), and signed webhook deliveries/s into a local node:http
 * receiver (BENCH_WEBHOOKS, default 5,000). Every mail is a rendered default template; BENCH_CONCURRENCY (default 32)
 * sends are in flight at once. The SMTP server and the HTTP receiver run in a child process (this file with
 * `--receivers`), as they would on a real network, so sender and receiver do not share one event loop.
 * Run: `npm run bench:notify`. Never part of `npm test`.
 */
import { NodeContext } from "@effect/platform-node"
import { Context, Effect, Layer, Redacted } from "effect"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { mkdtemp, rm } from "node:fs/promises"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { MailOutbox } from "../actors/notify/MailOutbox.ts"
import { Mailer, type OutgoingMail } from "../actors/notify/Mailer.ts"
import { DEFAULT_TEMPLATES, renderEmail, type SampleEventContext } from "../actors/notify/Templates.ts"
import { deliverOnce, generateSecret, webhookMessage } from "../actors/notify/Webhook.ts"
import { EventId, SampleId, SubmissionId } from "../rpc/Ids.ts"
import { smtpReceiver } from "../test/notify/SmtpReceiver.ts"
import { webhookReceiver } from "../test/notify/WebhookReceiver.ts"

const MAILS = Number(process.env.BENCH_MAILS ?? 2000)
const WEBHOOKS = Number(process.env.BENCH_WEBHOOKS ?? 5000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)
const SMTP_CONNECTIONS = Number(process.env.BENCH_SMTP_CONNECTIONS ?? 5)
const FROM = "HTSF Nanopore Core <noreply@facility.example.org>"

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0
}

/** A QC-failed event of sample i, with its sample. */
const contextOf = (i: number): SampleEventContext => ({
  event: {
    id: EventId.make(crypto.randomUUID()),
    type: "QcFailed",
    at: new Date().toISOString(),
    actor: "user:tech@facility.example.org",
    data: { step: "sample_qc", attempt: 1, reasons: ["insufficient DNA: 30 ng total (Qubit 1 ng/µL × 30 µL) is below the 1000 ng SQK-LSK114 input"] }
  },
  sample: {
    id: SampleId.make(crypto.randomUUID()),
    submissionId: SubmissionId.make(crypto.randomUUID()),
    position: (i % 96) + 1,
    sampleName: `bench_sample_${i}`,
    submitterEmail: `submitter${i % 50}@lab.example.org`,
    priority: "normal",
    flowCellType: "R10.4.1",
    status: "failed"
  }
})

const template = DEFAULT_TEMPLATES.find((t) => t.channel === "email" && t.trigger.eventType === "QcFailed")
if (template === undefined || template.channel !== "email") throw new Error("no QcFailed e-mail template")
const options = { appUrl: "https://poretrack.example.org", facilityName: "HTSF Nanopore Core" }

const mails: ReadonlyArray<OutgoingMail> = Array.from({ length: MAILS }, (_, i) => {
  const ctx = contextOf(i)
  return { to: ctx.sample!.submitterEmail, ...renderEmail(template, ctx, options), dedupKey: `${ctx.event.id}/qc-failed/${i}` }
})

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const cpu = process.cpuUsage()
    const value = yield* effect
    const used = process.cpuUsage(cpu)
    return { value, seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 }
  })

/** The sender's own CPU per item: a figure that a busy machine distorts less than the wall-clock rate. */
const perCpu = (n: number, t: { readonly cpuSeconds: number }) =>
  `; sender CPU ${((t.cpuSeconds * 1000) / n).toFixed(2)} ms each`

const sendAll = (layer: Layer.Layer<Mailer, unknown>) =>
  Effect.gen(function*() {
    const mailer = Context.get(yield* Layer.build(layer), Mailer)
    yield* mailer.send(mails[0]!) // opens the pool (or the folder) before the clock starts
    return yield* timed(Effect.forEach(mails, (m) => mailer.send(m), { concurrency: CONCURRENCY, discard: true }))
  })

interface Receivers {
  readonly smtpPort: number
  readonly webhookUrl: string
}

/** The child: an SMTP server and an HTTP receiver; prints where they listen, then counts until stdin closes. */
const receivers = Effect.gen(function*() {
  const smtp = yield* smtpReceiver({ parse: false })
  const hooks = yield* webhookReceiver([{ status: 204 }], { keep: false })
  const where: Receivers = { smtpPort: smtp.port, webhookUrl: hooks.url }
  console.log(JSON.stringify(where))
  yield* Effect.async<void>((resume) => {
    process.stdin.resume()
    process.stdin.on("end", () => resume(Effect.void))
  })
  console.log(JSON.stringify({ mails: smtp.mails.length, webhooks: hooks.count() }))
})

/** Starts the child and reads where it listens; at the end closes its stdin and reads what it received. */
const child = Effect.acquireRelease(
  Effect.async<{ readonly where: Receivers; readonly finish: () => Promise<{ mails: number; webhooks: number }> }>((resume) => {
    const proc = spawn(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--receivers"], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const lines = createInterface({ input: proc.stdout })
    const queue: Array<(line: string) => void> = []
    lines.on("line", (line) => queue.shift()?.(line))
    const next = () => new Promise<string>((r) => queue.push(r))
    next().then((line) => {
      const where = JSON.parse(line) as Receivers
      resume(Effect.succeed({
        where,
        finish: () => {
          const counts = next().then((l) => JSON.parse(l) as { mails: number; webhooks: number })
          proc.stdin.end()
          return counts
        }
      }))
    })
    proc.once("exit", (code) => resume(Effect.die(new Error(`receivers exited with ${code}`))))
  }),
  (c) => Effect.promise(() => c.finish()).pipe(Effect.timeout("10 seconds"), Effect.ignore)
)

const program = Effect.gen(function*() {
  console.log(`notify bench: ${MAILS} e-mails, ${WEBHOOKS} webhook deliveries, concurrency ${CONCURRENCY}, node ${process.version}`)
  const receiver = yield* child

  const viaSmtp = yield* sendAll(Mailer.smtp({
    url: Redacted.make(`smtp://127.0.0.1:${receiver.where.smtpPort}`),
    from: FROM,
    maxConnections: SMTP_CONNECTIONS
  }))
  console.log(`e-mail via SMTP (pool of ${SMTP_CONNECTIONS}): ${MAILS} in ${viaSmtp.seconds.toFixed(2)} s = ${Math.round(MAILS / viaSmtp.seconds)} mails/s${perCpu(MAILS, viaSmtp)}`)

  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "poretrack-bench-outbox-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const viaOutbox = yield* sendAll(Mailer.outbox({ from: FROM }).pipe(Layer.provide(MailOutbox.layer(dir)), Layer.provide(NodeContext.layer)))
  console.log(`e-mail into the outbox folder: ${MAILS} in ${viaOutbox.seconds.toFixed(2)} s = ${Math.round(MAILS / viaOutbox.seconds)} mails/s${perCpu(MAILS, viaOutbox)}`)

  const target = { url: receiver.where.webhookUrl, secret: generateSecret() }
  const messages = Array.from({ length: WEBHOOKS }, (_, i) => {
    const ctx = contextOf(i)
    return webhookMessage({ ...ctx.event, sampleId: ctx.sample!.id, submissionId: ctx.sample!.submissionId })
  })
  yield* deliverOnce(target, messages[0]!)
  const hooks = yield* timed(Effect.forEach(messages, (m) => deliverOnce(target, m), { concurrency: CONCURRENCY }))
  const delivered = hooks.value.filter((a) => a.outcome === "delivered").length
  if (delivered !== WEBHOOKS) throw new Error(`${WEBHOOKS - delivered} webhook deliveries failed: ${hooks.value.find((a) => a.outcome !== "delivered")?.error}`)
  const latencies = hooks.value.map((a) => a.latencyMs)
  console.log(
    `webhooks (signed, c=${CONCURRENCY}): ${WEBHOOKS} in ${hooks.seconds.toFixed(2)} s = ${Math.round(WEBHOOKS / hooks.seconds)} deliveries/s` +
      ` (latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms)${perCpu(WEBHOOKS, hooks)}`
  )
  const received = yield* Effect.promise(() => receiver.finish())
  if (received.mails !== MAILS + 1 || received.webhooks !== WEBHOOKS + 1) {
    throw new Error(`the receivers counted ${received.mails} mails and ${received.webhooks} webhooks, expected ${MAILS + 1} and ${WEBHOOKS + 1}`)
  }
})

const main = process.argv.includes("--receivers") ? receivers : program.pipe(
  Effect.tap(() => Effect.sync(() => console.log(`load average while running: ${loadavg().map((l) => l.toFixed(1)).join(" ")} on ${cpus().length} cores`)))
)
Effect.runPromise(main.pipe(Effect.scoped)).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  }
)
