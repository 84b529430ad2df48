/**
 * Exports stored in an S3-compatible bucket (s3rver on 127.0.0.1): the download route answers a 302 to a short-lived
 * pre-signed URL, which fetched without credentials gives the whole file.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted, Schedule } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import S3rver from "s3rver"
import { adminAuth } from "./TestAuth.ts"
import { TestEndpoint, TestSystem } from "./TestSystem.ts"

/** The whole system with its exports in a bucket of a local s3rver. */
const System = Layer.unwrapScoped(Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "poretrack-s3rver-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const server = new S3rver({ address: "127.0.0.1", port: 0, directory: dir, silent: true, configureBuckets: [{ name: "exports" }] })
  const { port } = yield* Effect.acquireRelease(Effect.promise(() => server.run()), () => Effect.promise(() => server.close()))
  return TestSystem({
    settings: {
      exports: {
        dir: join(dir, "unused"),
        retention: Duration.days(7),
        s3: Option.some({
          endpoint: `http://127.0.0.1:${port}`,
          bucket: "exports",
          region: "us-east-1",
          accessKeyId: "S3RVER",
          secretAccessKey: Redacted.make("S3RVER"),
          forcePathStyle: true
        })
      }
    }
  })
}))

const json = (base: string, method: string, path: string, body?: unknown) =>
  Effect.promise(async () => {
    const res = await fetch(`${base}${path}`, {
      method,
      redirect: "manual",
      headers: { ...adminAuth, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    })
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: (text.startsWith("{") ? JSON.parse(text) : {}) as Record<string, unknown> }
  })

describe("exports to S3", () => {
  layer(System, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("a completed export downloads through a 302 to a pre-signed URL that serves the whole file", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestEndpoint
        const created = yield* json(baseUrl, "POST", "/api/v1/submissions", {
          submitterEmail: "s3@lab.example",
          samples: Array.from({ length: 12 }, (_, i) => ({ sampleName: `s3-${i + 1}`, libraryKit: "SQK-LSK114" }))
        })
        expect(created.status).toBe(201)
        const ids = (created.body.samples as Array<{ id: string }>).map((s) => s.id).sort()
        const started = yield* json(baseUrl, "POST", "/api/v1/exports", { format: "ndjson", filter: { submitter: "s3@lab.example" }, columns: ["sample_id"] })
        expect(started.status).toBe(202)
        const id = String(started.body.id)
        const done = yield* json(baseUrl, "GET", `/api/v1/exports/${id}`).pipe(
          Effect.filterOrFail((r) => ["completed", "failed", "cancelled"].includes(String(r.body.status)), () => "running"),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeout("60 seconds"),
          Effect.orDie
        )
        expect(done.body).toMatchObject({ status: "completed", rowsDone: 12 })
        const redirect = yield* json(baseUrl, "GET", `/api/v1/exports/${id}/download`)
        expect(redirect.status).toBe(302)
        const location = redirect.headers.get("location") ?? ""
        expect(location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exports\/.*X-Amz-Signature=/)
        const file = yield* Effect.promise(() => fetch(location).then(async (r) => ({ status: r.status, text: await r.text() })))
        expect(file.status).toBe(200)
        const got = file.text.split("\n").filter((l) => l.length > 0).map((l) => (JSON.parse(l) as { sample_id: string }).sample_id).sort()
        expect(got).toEqual(ids)
      }))
  })
})
