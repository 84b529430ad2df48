/** The whole system in the test process, on a fresh database and free ports, for integration tests. */
import { EntityId, Sharding, ShardingConfig, ShardId } from "@effect/cluster"
import { Context, Duration, Effect, Layer, LogLevel, Option, Redacted, Schedule } from "effect"
import { Sample } from "../actors/Sample.ts"
import { defaultPolicy, type WorkflowPolicy } from "../actors/WorkflowPolicy.ts"
import { AppSettings } from "../runtime/AppSettings.ts"
import { SampleApi } from "../runtime/SampleApi.ts"
import { DOOR_DEFAULTS, NOTIFY_DEFAULTS, type AppConfig } from "../runtime/Config.ts"
import { AllInOneLive } from "../runtime/Main.ts"
import { rm } from "node:fs/promises"
import { freePort } from "./freePort.ts"
import { TEST_ADMIN_TOKEN } from "./TestAuth.ts"
import { createTestDatabase } from "./TestDatabase.ts"

/** Where the system under test answers. */
export class TestEndpoint extends Context.Tag("test/TestEndpoint")<TestEndpoint, {
  readonly baseUrl: string
  readonly databaseUrl: string
}>() {}

/** Settings for a test process; ports are free ones, the database is new. */
export const testSettings = async (overrides: Partial<AppConfig> = {}): Promise<AppConfig> => {
  const databaseUrl = overrides.databaseUrl ?? Option.some(Redacted.make(await createTestDatabase()))
  return {
    port: await freePort(),
    httpHost: "127.0.0.1",
    databaseUrl,
    dataDir: "./data",
    embeddedPgPort: 0,
    pgPoolMax: 10,
    runnerHost: "127.0.0.1",
    runnerPort: await freePort(),
    runnerListenHost: Option.none(),
    entityMessagePollInterval: Duration.millis(200),
    shardLockRefreshInterval: Duration.seconds(2),
    shardLockExpiration: Duration.seconds(6),
    refreshAssignmentsInterval: Duration.millis(500),
    entityMaxIdle: Duration.minutes(1),
    clusterMessageRetention: Duration.days(7),
    idempotencyRetention: Duration.days(30),
    maxResidentEntities: 20_000,
    logFormat: "pretty",
    logLevel: LogLevel.Info,
    otlpEndpoint: Option.none(),
    policy: defaultPolicy,
    adminToken: Option.some(Redacted.make(TEST_ADMIN_TOKEN)),
    sessionTtl: Duration.hours(12),
    // Tests send many requests with one key from one address: limits high, /metrics open.
    door: { ...DOOR_DEFAULTS, perPrincipal: { perSecond: 10_000, burst: 10_000 }, perAddress: { perSecond: 1_000, burst: 1_000 }, metricsPublic: true },
    notify: { ...NOTIFY_DEFAULTS, outboxDir: `./data/test-outbox-${process.pid}-${Date.now()}` },
    ...overrides
  }
}

/** The all-in-one system plus its endpoint, on a fresh database; its mail outbox folder is removed when it closes. */
export const TestSystem = (options: { readonly policy?: WorkflowPolicy; readonly settings?: Partial<AppConfig> } = {}) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const settings = yield* Effect.promise(() => testSettings({ ...(options.policy ? { policy: options.policy } : {}), ...options.settings }))
    const databaseUrl = Option.getOrThrow(settings.databaseUrl)
    // A test's own outbox (./data/test-outbox…) goes when the system has stopped writing mails: the finalizer is added
    // first, so it runs after the system's (built in this scope).
    if (settings.notify.outboxDir.startsWith("./data/test-outbox")) {
      yield* Effect.addFinalizer(() => Effect.promise(() => rm(settings.notify.outboxDir, { recursive: true, force: true })))
    }
    return Layer.succeed(TestEndpoint, {
      baseUrl: `http://127.0.0.1:${settings.port}`,
      databaseUrl: Redacted.value(databaseUrl)
    }).pipe(
      Layer.merge(AllInOneLive),
      Layer.provideMerge(AppSettings.make({ ...settings, role: "all" }))
    )
  }))

/**
 * Waits (at most 30 s) until this process's runner holds every shard of the Sample entities. A sample created before
 * then, whose shard the runner does not hold yet, is not made resident at its creation (LocalSamples.seed).
 */
export const holdingEveryShard = Effect.gen(function*() {
  const sharding = yield* Sharding.Sharding
  // The system's sharding config is the library's defaults but for timings (runtime/Cluster.ts).
  const { shardsPerGroup } = ShardingConfig.defaults
  const group = Sample.getShardGroup(EntityId.make("any"))
  const shards = Array.from({ length: shardsPerGroup }, (_, i) => ShardId.make(group, i + 1))
  yield* Effect.suspend(() => (shards.every((shard) => sharding.hasShardId(shard)) ? Effect.void : Effect.fail("shards not all held yet"))).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(50)).pipe(Schedule.upTo(Duration.seconds(30)))),
    Effect.orDie
  )
})

/** A web submission of `n` samples named `<prefix>-1…n` (with a library kit unless told otherwise). */
export const submitSamples = (n: number, options: { readonly prefix?: string; readonly withKit?: boolean } = {}) =>
  Effect.flatMap(SampleApi, (api) =>
    api.createSubmission({
      submitterEmail: "ada@lab.example",
      source: "api",
      priority: "normal",
      flowCellType: "R10.4.1",
      samples: Array.from({ length: n }, (_, i) => ({
        sampleName: `${options.prefix ?? "S"}-${i + 1}`,
        ...(options.withKit === false ? {} : { libraryKit: "SQK-LSK114" as const })
      }))
    }, "test"))
