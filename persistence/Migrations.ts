/** Schema migrations, applied in order under an advisory lock so that several processes may start at once. */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { DASHBOARD_EVENTS_DDL } from "./DashboardRepo.ts"
import { CONSUMER_OWNER_DDL } from "./EventLog.ts"
import { CREATION_KEYS_DDL, LIST_ORDERS_DDL } from "./SampleRepo.ts"
import { FACILITY_SETTINGS_DDL } from "./SettingsRepo.ts"
import { SAMPLE_COMMANDS_BY_AT_DDL } from "./IdempotencyWindow.ts"
import { EXTRACTIONS_DDL } from "./ExtractionRepo.ts"
import { EXPORTS_DDL } from "./ExportRepo.ts"
import { EXPORT_NOTICES_DDL } from "./ExportNoticeRepo.ts"
import { NOTIFICATIONS_DDL, NOTIFIER_CURSOR_DDL } from "./NotificationSchema.ts"
import { ROW_ESTIMATES_DDL } from "./SampleRepo.ts"

const MIGRATIONS: ReadonlyArray<readonly [id: number, name: string, sql: string]> = [
  [1, "core", `
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE submissions (
  id uuid PRIMARY KEY,
  number text NOT NULL UNIQUE,
  submitter_email text NOT NULL,
  source text NOT NULL,
  sample_count int NOT NULL,
  data jsonb NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX submissions_submitter ON submissions (submitter_email, created_at DESC);

CREATE TABLE samples (
  seq bigserial UNIQUE,
  id uuid PRIMARY KEY,
  submission_id uuid NOT NULL REFERENCES submissions (id),
  position int NOT NULL,
  name text NOT NULL,
  submitter_email text NOT NULL,
  priority text NOT NULL,
  priority_rank smallint NOT NULL,
  status text NOT NULL,
  current_step text,
  step_state text,
  step_due_at timestamptz,
  queued_at timestamptz,
  turnaround_due_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  version int NOT NULL,
  timer_at timestamptz,
  state jsonb NOT NULL,
  UNIQUE (submission_id, position)
);
-- A step's queue: urgent > high > normal > low, then due time, then arrival.
CREATE INDEX samples_queue ON samples (current_step, priority_rank DESC, step_due_at, queued_at, id)
  WHERE status = 'in_progress';
CREATE INDEX samples_by_status ON samples (status, seq DESC);
CREATE INDEX samples_by_step ON samples (current_step, seq DESC);
CREATE INDEX samples_by_priority ON samples (priority, seq DESC);
CREATE INDEX samples_by_submitter ON samples (submitter_email, seq DESC);
CREATE INDEX samples_by_name ON samples USING gin (name gin_trgm_ops);

CREATE TABLE sample_events (
  seq bigserial PRIMARY KEY,
  tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id uuid NOT NULL UNIQUE,
  sample_id uuid NOT NULL,
  submission_id uuid NOT NULL,
  type text NOT NULL,
  version int NOT NULL,
  actor text NOT NULL,
  at timestamptz NOT NULL,
  data jsonb NOT NULL
);
CREATE INDEX sample_events_by_sample ON sample_events (sample_id, seq);
-- Consumers read in (tx, seq) order below the oldest running transaction, so no commit is ever skipped.
CREATE INDEX sample_events_by_tx ON sample_events (tx, seq);

CREATE TABLE sample_commands (
  sample_id uuid NOT NULL,
  key text NOT NULL,
  command text NOT NULL,
  fingerprint text NOT NULL,
  version int NOT NULL,
  result jsonb NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (sample_id, key)
);

CREATE TABLE event_consumers (
  name text PRIMARY KEY,
  tx xid8 NOT NULL DEFAULT '0',
  seq bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION poretrack_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A non-empty payload: clients drop notifications without one.
  PERFORM pg_notify('poretrack_events', 'events');
  RETURN NULL;
END $$;
CREATE TRIGGER sample_events_notify AFTER INSERT ON sample_events
  FOR EACH STATEMENT EXECUTE FUNCTION poretrack_notify_events();
`],
  [2, "notify_off_commit_path", `
-- NOTIFY inside every commit serialised all commits on one lock; writers now signal after commit (EventSignal).
DROP TRIGGER sample_events_notify ON sample_events;
DROP FUNCTION poretrack_notify_events();
`],
  [3, "list_step_priority", `
-- Lists filtered by step and priority together (a technician's "urgent samples in basecalling").
CREATE INDEX samples_by_step_priority ON samples (current_step, priority, seq DESC);
`],
  [4, "auth", `
-- People: e-mails stored lower-cased (unique), passwords as scrypt$N$r$p$salt$hash, never in clear.
CREATE TABLE users (
  id uuid PRIMARY KEY,
  email text NOT NULL UNIQUE CHECK (email = lower(email)),
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('submitter', 'technician', 'manager', 'admin')),
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at timestamptz
);

-- Browser sessions: only the sha256 of the random token is stored.
CREATE TABLE sessions (
  token_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Integrators' keys: the secret is shown once; only its sha256 (high-entropy secret, so a fast hash) is stored.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  prefix text NOT NULL,
  secret_hash text NOT NULL UNIQUE,
  scopes text[] NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

-- Security events, read newest first by admins.
CREATE TABLE audit_events (
  seq bigserial PRIMARY KEY,
  type text NOT NULL,
  actor text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  data jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_newest ON audit_events (seq DESC);

-- Failed sign-ins of the last minutes: the throttle counts them by e-mail and by client address.
CREATE TABLE sign_in_failures (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  client_address text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_by_email ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_by_address ON sign_in_failures (client_address, at);

-- One-time links that create the first admin while no user exists (hashed, 24 h).
CREATE TABLE setup_tokens (
  token_hash text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
`],
  [5, "creation_keys", CREATION_KEYS_DDL],
  [6, "consumer_owner", CONSUMER_OWNER_DDL],
  [7, "dashboard", `
-- The dashboard's history (persistence/DashboardRepo.ts): events of one type in a time range; sample_id included so
-- that daily counts of distinct samples read the index alone.
CREATE INDEX sample_events_by_type_at ON sample_events (type, at) INCLUDE (sample_id);
-- Its SLA watch list: samples whose step or turnaround clock is due before a horizon, among those whose clocks run.
CREATE INDEX samples_step_due ON samples (step_due_at) WHERE status = 'in_progress';
CREATE INDEX samples_turnaround_due ON samples (turnaround_due_at) WHERE status IN ('in_progress', 'failed');
`],
  [8, "facility_settings", FACILITY_SETTINGS_DDL],
  [9, "dashboard_events", DASHBOARD_EVENTS_DDL],
  [10, "list_orders", LIST_ORDERS_DDL],
  [11, "sample_commands_by_at", SAMPLE_COMMANDS_BY_AT_DDL],
  [12, "exports", EXPORTS_DDL],
  [13, "notifications", NOTIFICATIONS_DDL + NOTIFIER_CURSOR_DDL],
  [14, "extractions", EXTRACTIONS_DDL],
  [15, "export_notices", EXPORT_NOTICES_DDL],
  [16, "state_lz4", `
-- A sample's state document is compressed with LZ4 where the server has it (PostgreSQL 14+ built --with-lz4, as
-- Debian's and the official images are): reading it back (every export row, every entity activation) costs a
-- fraction of pglz's decompression, and writing it (every transition) less compression time. Documents are
-- recompressed as they are next written. A server without LZ4 keeps pglz.
DO $$
BEGIN
  ALTER TABLE samples ALTER COLUMN state SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server; sample states stay compressed with pglz';
END $$;
`],
  [17, "row_estimates", ROW_ESTIMATES_DDL],
  [18, "dashboard_trigger_generic_plan", `
-- The dashboard trigger (migration 9) runs one INSERT ... SELECT for nearly every transition's event. PL/pgSQL caches
-- its plan but, left to choose, planned it anew for every row (its generic plan's estimate looked dearer than a custom
-- one): a quarter of PostgreSQL's CPU under load went to planning it. Its generic plan reads the same indexes (by
-- sample, then seq), so it is used from the first row: 5,000 events' inserts 1.6-1.8 s -> 0.6-0.7 s.
ALTER FUNCTION poretrack_dashboard_events_insert() SET plan_cache_mode = force_generic_plan;
`]
]

/** Applies every migration not yet applied; safe when several processes start together. */
export const migrate = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(7243001)`
    yield* sql`CREATE TABLE IF NOT EXISTS poretrack_migrations (
      id int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
    const done = yield* sql<{ id: number }>`SELECT id FROM poretrack_migrations`
    const applied = new Set(done.map((r) => r.id))
    for (const [id, name, text] of MIGRATIONS) {
      if (applied.has(id)) continue
      yield* sql.unsafe(text)
      yield* sql`INSERT INTO poretrack_migrations (id, name) VALUES (${id}, ${name})`
      yield* Effect.logInfo(`migration ${id}_${name} applied`)
    }
  }))
}).pipe(Effect.withSpan("migrate"))
