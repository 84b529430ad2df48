/** All configuration, read once from the environment. Domain code never reads `process.env`. */
import { Config, ConfigError, Cron, Duration, Either, LogLevel, Option, Redacted } from "effect"
import { defaultPolicy, type Turnaround, type WorkflowPolicy } from "../actors/WorkflowPolicy.ts"
import { OLLAMA_DEFAULTS, type OllamaSettings } from "../actors/extraction/OllamaSettings.ts"
import { PRIORITIES, STEP_IDS, type Priority, type StepId } from "../rpc/Workflow.ts"

/** The settings of one process. */
export interface AppConfig {
  readonly port: number
  readonly httpHost: string
  readonly databaseUrl: Option.Option<Redacted.Redacted>
  readonly dataDir: string
  readonly embeddedPgPort: number
  readonly pgPoolMax: number
  readonly runnerHost: string
  readonly runnerPort: number
  /** Where the runner's cluster port listens (defaults to RUNNER_HOST); e.g. 0.0.0.0 in a container. */
  readonly runnerListenHost: Option.Option<string>
  readonly entityMessagePollInterval: Duration.Duration
  readonly shardLockRefreshInterval: Duration.Duration
  readonly shardLockExpiration: Duration.Duration
  /** How often every process re-reads the runner list: how soon a departed or new runner is noticed. */
  readonly refreshAssignmentsInterval: Duration.Duration
  readonly entityMaxIdle: Duration.Duration
  /** Processed persisted cluster messages (fired timers) are deleted after this. */
  readonly clusterMessageRetention: Duration.Duration
  /** Idempotency records (sample_commands) are deleted this long after their command was accepted. */
  readonly idempotencyRetention: Duration.Duration
  /** Admission control: at most this many sample entities resident per runner. */
  readonly maxResidentEntities: number
  readonly logFormat: "pretty" | "json"
  readonly logLevel: LogLevel.LogLevel
  /** OTLP/HTTP collector base URL (e.g. http://collector:4318); traces are recorded only when it is set. */
  readonly otlpEndpoint: Option.Option<string>
  readonly policy: WorkflowPolicy
  /** A bootstrap bearer secret (≥ 24 characters) that acts as an admin API key: for scripts, tests and first setup. */
  readonly adminToken: Option.Option<Redacted.Redacted>
  /** How long a browser session lives without use; each use (at most once a minute) extends it by this much. */
  readonly sessionTtl: Duration.Duration
  /** The door's limits (runtime/Door.ts) and who may read /metrics. */
  readonly door: DoorSettings
  /** AI intake of PDF forms: where Ollama is (absent: the defaults, Ollama skipped when it does not answer). */
  readonly extraction?: ExtractionSettings
  /** Where notifications go: SMTP or the local outbox, the sender, and the webhook retry pace. */
  readonly notify: NotifySettings
  /** Where export files go (S3 or the local folder) and how long they are kept; absent: EXPORT_DEFAULTS. */
  readonly exports?: ExportSettings | undefined
}

/** Export storage: an S3-compatible bucket when S3_ENDPOINT or S3_BUCKET is set, else the folder EXPORT_DIR. */
export interface ExportSettings {
  readonly dir: string
  readonly s3: Option.Option<{
    readonly endpoint: string | undefined
    readonly bucket: string
    readonly region: string
    readonly accessKeyId: string | undefined
    readonly secretAccessKey: Redacted.Redacted | undefined
    readonly forcePathStyle: boolean
  }>
  /** How long a finished export is kept (files and rows), EXPORT_RETENTION. */
  readonly retention: Duration.Duration
  /**
   * The schedule driver's clock, EXPORT_SCHEDULE_TICK: a cron whose ticks are the only times schedules are checked
   * ("* * * * *", every minute, by default; a six-field cron with seconds makes second-precision schedules possible).
   */
  readonly scheduleTick?: Cron.Cron | undefined
}

/** The export defaults (a laptop: files under ./data/exports, kept 7 days). */
export const EXPORT_DEFAULTS: ExportSettings = { dir: "./data/exports", s3: Option.none(), retention: Duration.days(7) }

/** EXPORT_DIR, S3_ENDPOINT, S3_BUCKET, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE, EXPORT_RETENTION. */
export const exportConfig: Config.Config<ExportSettings> = Config.all({
  dir: Config.string("EXPORT_DIR").pipe(Config.withDefault(EXPORT_DEFAULTS.dir)),
  endpoint: Config.option(Config.string("S3_ENDPOINT")),
  bucket: Config.option(Config.string("S3_BUCKET")),
  region: Config.string("S3_REGION").pipe(Config.withDefault("us-east-1")),
  accessKeyId: Config.option(Config.string("S3_ACCESS_KEY_ID")),
  secretAccessKey: Config.option(Config.redacted("S3_SECRET_ACCESS_KEY")),
  forcePathStyle: Config.boolean("S3_FORCE_PATH_STYLE").pipe(Config.withDefault(false)),
  retention: Config.duration("EXPORT_RETENTION").pipe(Config.withDefault(EXPORT_DEFAULTS.retention)),
  scheduleTick: Config.option(Config.string("EXPORT_SCHEDULE_TICK").pipe(
    Config.mapOrFail((text) =>
      Either.mapLeft(Cron.parse(text), (e) => ConfigError.InvalidData([], `EXPORT_SCHEDULE_TICK is not a cron expression: ${e.message}`)))
  ))
}).pipe(Config.map((c): ExportSettings => ({
  dir: c.dir,
  retention: c.retention,
  scheduleTick: Option.getOrUndefined(c.scheduleTick),
  s3: Option.isNone(c.endpoint) && Option.isNone(c.bucket) ? Option.none() : Option.some({
    endpoint: Option.getOrUndefined(c.endpoint),
    bucket: Option.getOrElse(c.bucket, () => "poretrack-exports"),
    region: c.region,
    accessKeyId: Option.getOrUndefined(c.accessKeyId),
    secretAccessKey: Option.getOrUndefined(c.secretAccessKey),
    forcePathStyle: c.forcePathStyle
  })
})))

/** Notification settings: SMTP_URL (unset: the outbox folder), MAIL_FROM, MAIL_OUTBOX_DIR, APP_URL for links. */
export interface NotifySettings {
  /** `smtp://user:pass@host:587` or `smtps://…`; none means e-mail is written to `outboxDir` instead. */
  readonly smtpUrl: Option.Option<Redacted.Redacted>
  readonly mailFrom: string
  readonly outboxDir: string
  /** The web app's public address, for links in e-mails. */
  readonly appUrl: string
  readonly facilityName: string
  /** Multiplies every webhook and mail retry wait (1 in production; tests and drills shorten the schedule). */
  readonly retryScale: number
}

/** The notification defaults (a laptop: the outbox under ./data/outbox). */
export const NOTIFY_DEFAULTS: NotifySettings = {
  smtpUrl: Option.none(),
  mailFrom: "poretrack <noreply@poretrack.local>",
  outboxDir: "./data/outbox",
  appUrl: "http://localhost:3000",
  facilityName: "Sequencing facility",
  retryScale: 1
}

/** SMTP_URL, MAIL_FROM, MAIL_OUTBOX_DIR, APP_URL, FACILITY_NAME. */
export const notifyConfig: Config.Config<NotifySettings> = Config.all({
  smtpUrl: Config.option(Config.redacted("SMTP_URL")).pipe(Config.map(Option.filter((r) => Redacted.value(r).trim().length > 0))),
  mailFrom: Config.string("MAIL_FROM").pipe(Config.withDefault(NOTIFY_DEFAULTS.mailFrom)),
  outboxDir: Config.string("MAIL_OUTBOX_DIR").pipe(Config.withDefault(NOTIFY_DEFAULTS.outboxDir)),
  appUrl: Config.string("APP_URL").pipe(Config.withDefault(NOTIFY_DEFAULTS.appUrl)),
  facilityName: Config.string("FACILITY_NAME").pipe(Config.withDefault(NOTIFY_DEFAULTS.facilityName)),
  retryScale: Config.succeed(1)
})

/** AI intake settings: OLLAMA_HOST, OLLAMA_MODEL, OLLAMA_EMBED_MODEL, OLLAMA_TIMEOUT, EXTRACTION_MAX_UPLOAD_BYTES. */
export interface ExtractionSettings {
  readonly ollama: OllamaSettings
  /** The largest PDF `POST /api/v1/extractions` accepts. */
  readonly maxUploadBytes: number
}

/** A laptop's defaults: Ollama on its own port (skipped when it does not answer), 20 MB uploads. */
export const EXTRACTION_DEFAULTS: ExtractionSettings = { ollama: OLLAMA_DEFAULTS, maxUploadBytes: 20 * 1024 * 1024 }

/** Reads the AI intake settings. */
export const extractionConfig: Config.Config<ExtractionSettings> = Config.all({
  ollama: Config.all({
    host: Config.string("OLLAMA_HOST").pipe(Config.withDefault(OLLAMA_DEFAULTS.host)),
    model: Config.string("OLLAMA_MODEL").pipe(Config.withDefault(OLLAMA_DEFAULTS.model)),
    embedModel: Config.option(Config.string("OLLAMA_EMBED_MODEL")).pipe(Config.map(Option.getOrNull)),
    timeout: Config.duration("OLLAMA_TIMEOUT").pipe(Config.withDefault(OLLAMA_DEFAULTS.timeout)),
    retries: Config.succeed(OLLAMA_DEFAULTS.retries),
    probeTimeout: Config.succeed(OLLAMA_DEFAULTS.probeTimeout)
  }),
  maxUploadBytes: Config.integer("EXTRACTION_MAX_UPLOAD_BYTES").pipe(Config.withDefault(EXTRACTION_DEFAULTS.maxUploadBytes))
})

/** Limits every request to /api and /rpc meets before any route; per gateway process. */
export interface DoorSettings {
  readonly maxBodyBytes: number
  readonly maxJsonDepth: number
  readonly requestTimeout: Duration.Duration
  /** Token bucket per API key or user: sustained requests per second and burst. */
  readonly perPrincipal: { readonly perSecond: number; readonly burst: number }
  /** Token bucket per client address for requests without credentials (sign-in included). */
  readonly perAddress: { readonly perSecond: number; readonly burst: number }
  /** A bearer token that may read /metrics from anywhere; without it, only loopback clients may (unless public). */
  readonly metricsToken: Option.Option<Redacted.Redacted>
  /** /metrics open to every client (inside a private network). */
  readonly metricsPublic: boolean
  /** The hot command routes answered directly from node's request event (runtime/DirectRoutes.ts). */
  readonly directRoutes: boolean
}

const positive = (setting: Config.Config<number>, name: string, fallback: number) =>
  setting.pipe(Config.withDefault(fallback), Config.validate({ message: `${name} must be a positive number`, validation: (n) => n > 0 }))

/** The door's defaults (documented in the README's configuration table). */
export const DOOR_DEFAULTS: DoorSettings = {
  maxBodyBytes: 1_048_576,
  maxJsonDepth: 32,
  requestTimeout: Duration.seconds(30),
  perPrincipal: { perSecond: 200, burst: 400 },
  perAddress: { perSecond: 10, burst: 40 },
  metricsToken: Option.none(),
  metricsPublic: false,
  directRoutes: true
}

/** The door's settings, all optional. */
export const doorConfig: Config.Config<DoorSettings> = Config.all({
  maxBodyBytes: Config.integer("MAX_BODY_BYTES").pipe(Config.withDefault(DOOR_DEFAULTS.maxBodyBytes), Config.validate({ message: "MAX_BODY_BYTES must be at least 1024", validation: (n) => n >= 1024 })),
  maxJsonDepth: Config.integer("MAX_JSON_DEPTH").pipe(Config.withDefault(DOOR_DEFAULTS.maxJsonDepth), Config.validate({ message: "MAX_JSON_DEPTH must be between 4 and 256", validation: (n) => n >= 4 && n <= 256 })),
  requestTimeout: Config.duration("REQUEST_TIMEOUT").pipe(Config.withDefault(DOOR_DEFAULTS.requestTimeout)),
  perPrincipal: Config.all({
    perSecond: positive(Config.number("RATE_LIMIT_PER_SECOND"), "RATE_LIMIT_PER_SECOND", DOOR_DEFAULTS.perPrincipal.perSecond),
    burst: positive(Config.number("RATE_LIMIT_BURST"), "RATE_LIMIT_BURST", DOOR_DEFAULTS.perPrincipal.burst)
  }),
  perAddress: Config.all({
    perSecond: positive(Config.number("RATE_LIMIT_ANONYMOUS_PER_SECOND"), "RATE_LIMIT_ANONYMOUS_PER_SECOND", DOOR_DEFAULTS.perAddress.perSecond),
    burst: positive(Config.number("RATE_LIMIT_ANONYMOUS_BURST"), "RATE_LIMIT_ANONYMOUS_BURST", DOOR_DEFAULTS.perAddress.burst)
  }),
  metricsToken: Config.option(Config.redacted("METRICS_TOKEN")),
  metricsPublic: Config.boolean("METRICS_PUBLIC").pipe(Config.withDefault(DOOR_DEFAULTS.metricsPublic)),
  directRoutes: Config.boolean("HTTP_DIRECT_ROUTES").pipe(Config.withDefault(DOOR_DEFAULTS.directRoutes))
})

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses "name=1h,other=30m" into milliseconds by name. */
const durations = (raw: string, what: string): Either.Either<Record<string, number>, string> => {
  const out: Record<string, number> = {}
  for (const pair of raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^([a-z_]+)\s*=\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(pair)
    if (!m) return Either.left(`${what}: cannot read "${pair}" (expected name=duration, e.g. sample_qc=1h)`)
    out[m[1]!] = Number(m[2]) * UNITS[m[3]!]!
  }
  return Either.right(out)
}

interface RawPolicy {
  readonly steps: string
  readonly turnaround: string
  readonly skippable: string
  readonly atRisk: number
  readonly failOnPurity: boolean
  readonly minInputNg: number
  readonly minLibraryFmol: number
}

/** The facility policy from its settings, or the first setting at fault. */
export const parsePolicy = (raw: RawPolicy): Either.Either<WorkflowPolicy, string> =>
  Either.gen(function*() {
    const steps = yield* durations(raw.steps, "STEP_EXPECTED_DURATIONS")
    const turnaroundRaw = yield* durations(raw.turnaround, "TURNAROUND_TARGETS")
    const unknownStep = Object.keys(steps).find((k) => !STEP_IDS.includes(k as StepId))
    if (unknownStep) return yield* Either.left(`STEP_EXPECTED_DURATIONS: unknown step "${unknownStep}"`)
    const unknownPriority = Object.keys(turnaroundRaw).find((k) => !PRIORITIES.includes(k as Priority))
    if (unknownPriority) return yield* Either.left(`TURNAROUND_TARGETS: unknown priority "${unknownPriority}"`)
    const skippable = raw.skippable.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
    const badSkip = skippable.find((s) => !STEP_IDS.includes(s as StepId))
    if (badSkip) return yield* Either.left(`SKIPPABLE_STEPS: unknown step "${badSkip}"`)
    if (!(raw.atRisk > 0 && raw.atRisk < 1)) return yield* Either.left("SLA_AT_RISK_FRACTION must be between 0 and 1")
    const turnaround = Object.fromEntries(
      PRIORITIES.map((p): [Priority, Turnaround] => {
        const ms = turnaroundRaw[p]
        return [p, ms !== undefined ? { hours: ms / 3_600_000 } : defaultPolicy.turnaround[p]]
      })
    ) as Record<Priority, Turnaround>
    return {
      ...defaultPolicy,
      expectedMs: { ...defaultPolicy.expectedMs, ...steps },
      turnaround,
      atRiskFraction: raw.atRisk,
      skippable: skippable as Array<StepId>,
      qc: {
        ...defaultPolicy.qc,
        failOnPurity: raw.failOnPurity,
        minLibraryFmol: raw.minLibraryFmol,
        minInputNg: { ...defaultPolicy.qc.minInputNg, default: raw.minInputNg }
      }
    }
  })

const policyConfig = Config.all({
  steps: Config.string("STEP_EXPECTED_DURATIONS").pipe(Config.withDefault("")),
  turnaround: Config.string("TURNAROUND_TARGETS").pipe(Config.withDefault("")),
  skippable: Config.string("SKIPPABLE_STEPS").pipe(Config.withDefault(defaultPolicy.skippable.join(","))),
  atRisk: Config.number("SLA_AT_RISK_FRACTION").pipe(Config.withDefault(defaultPolicy.atRiskFraction)),
  failOnPurity: Config.boolean("QC_FAIL_ON_PURITY").pipe(Config.withDefault(defaultPolicy.qc.failOnPurity)),
  minInputNg: Config.number("QC_MIN_INPUT_NG").pipe(Config.withDefault(defaultPolicy.qc.minInputNg.default)),
  minLibraryFmol: Config.number("QC_MIN_LIBRARY_FMOL").pipe(Config.withDefault(defaultPolicy.qc.minLibraryFmol))
}).pipe(
  Config.mapOrFail((raw) => Either.mapLeft(parsePolicy(raw), (message) => ConfigError.InvalidData([], message)))
)

/** The minimum length of PORETRACK_ADMIN_TOKEN: shorter secrets could be guessed. */
export const ADMIN_TOKEN_MIN_LENGTH = 24

/** PORETRACK_ADMIN_TOKEN: unset or empty means none; a short one stops start-up instead of being silently weak. */
const adminTokenConfig = Config.option(Config.redacted("PORETRACK_ADMIN_TOKEN")).pipe(
  Config.map(Option.filter((r) => Redacted.value(r).length > 0)),
  Config.mapOrFail((token) =>
    Option.isSome(token) && Redacted.value(token.value).length < ADMIN_TOKEN_MIN_LENGTH
      ? Either.left(ConfigError.InvalidData(["PORETRACK_ADMIN_TOKEN"], `PORETRACK_ADMIN_TOKEN must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters (got ${Redacted.value(token.value).length}); generate one with: openssl rand -base64 32`))
      : Either.right(token))
)

/** Reads the configuration; every value has a default that suits a laptop. */
export const appConfig: Config.Config<AppConfig> = Config.all({
  port: Config.port("PORT").pipe(Config.withDefault(3000)),
  httpHost: Config.string("HTTP_HOST").pipe(Config.withDefault("0.0.0.0")),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault("./data")),
  embeddedPgPort: Config.port("EMBEDDED_PG_PORT").pipe(Config.withDefault(54329)),
  pgPoolMax: Config.integer("PG_POOL_MAX").pipe(Config.withDefault(20)),
  runnerHost: Config.string("RUNNER_HOST").pipe(Config.withDefault("localhost")),
  runnerPort: Config.port("RUNNER_PORT").pipe(Config.withDefault(34431)),
  runnerListenHost: Config.option(Config.string("RUNNER_LISTEN_HOST")),
  entityMessagePollInterval: Config.duration("ENTITY_MESSAGE_POLL_INTERVAL").pipe(Config.withDefault(Duration.seconds(1))),
  shardLockRefreshInterval: Config.duration("SHARD_LOCK_REFRESH_INTERVAL").pipe(Config.withDefault(Duration.seconds(2))),
  shardLockExpiration: Config.duration("SHARD_LOCK_EXPIRATION").pipe(Config.withDefault(Duration.seconds(6))),
  refreshAssignmentsInterval: Config.duration("REFRESH_ASSIGNMENTS_INTERVAL").pipe(Config.withDefault(Duration.millis(500))),
  entityMaxIdle: Config.duration("ENTITY_MAX_IDLE").pipe(Config.withDefault(Duration.minutes(1))),
  clusterMessageRetention: Config.duration("CLUSTER_MESSAGE_RETENTION").pipe(Config.withDefault(Duration.days(7))),
  idempotencyRetention: Config.duration("IDEMPOTENCY_RETENTION").pipe(Config.withDefault(Duration.days(30)), Config.validate({
    message: "IDEMPOTENCY_RETENTION must be at least 1 day (the keys an entity holds in memory are those of the last 24 h)",
    validation: (d) => Duration.greaterThanOrEqualTo(d, Duration.days(1))
  })),
  maxResidentEntities: Config.integer("MAX_RESIDENT_ENTITIES").pipe(Config.withDefault(20_000), Config.validate({
    message: "MAX_RESIDENT_ENTITIES must be at least 1",
    validation: (n) => n >= 1
  })),
  logFormat: Config.literal("pretty", "json")("LOG_FORMAT").pipe(Config.withDefault("pretty" as const)),
  logLevel: Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info)),
  otlpEndpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
  policy: policyConfig,
  adminToken: adminTokenConfig,
  sessionTtl: Config.duration("SESSION_TTL").pipe(Config.withDefault(Duration.hours(12)), Config.validate({
    message: "SESSION_TTL must be at least 1 minute",
    validation: (d) => Duration.greaterThanOrEqualTo(d, Duration.minutes(1))
  })),
  door: doorConfig,
  extraction: extractionConfig,
  notify: notifyConfig,
  exports: exportConfig
})
