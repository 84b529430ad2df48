/**
 * Migration 13 "notifications": the tables of the notification supervisor. Rules and templates are versioned
 * (a save is a new row; the newest version is in force); deliveries are one row per (event, rule, recipient) under a
 * UNIQUE de-duplication key, so a re-read event owes nothing new; every webhook attempt is kept for the history.
 */
export const NOTIFICATIONS_DDL = `
-- Rule sets: each save is a new version of the whole list; version 0 is the shipped defaults (seeded at start-up).
CREATE TABLE notification_rule_sets (
  version int PRIMARY KEY,
  rules jsonb NOT NULL,
  saved_by text NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);

-- Templates per trigger and channel, every version kept; the newest is in force (the shipped ones live in code).
CREATE TABLE notification_templates (
  trigger_key text NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email', 'in_app')),
  version int NOT NULL,
  template jsonb NOT NULL,
  saved_by text NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trigger_key, channel, version)
);

-- Webhook endpoints; the secret is kept (it signs every delivery) and shown to the creator once.
CREATE TABLE webhook_endpoints (
  id uuid PRIMARY KEY,
  url text NOT NULL,
  events text[] NOT NULL,
  secret text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  disabled_reason text,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One delivery per (event, rule, recipient): the UNIQUE key makes a re-read event insert nothing.
CREATE TABLE notification_deliveries (
  id uuid PRIMARY KEY,
  dedup_key text NOT NULL UNIQUE,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  sample_id uuid,
  submitter_email text,
  rule_id text NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email', 'in_app', 'webhook')),
  recipient text NOT NULL,
  user_id uuid,
  endpoint_id uuid,
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'failed', 'dead')),
  reason text,
  attempts int NOT NULL DEFAULT 0,
  generation int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_deliveries_by_sample ON notification_deliveries (sample_id, created_at);
CREATE INDEX notification_deliveries_by_endpoint ON notification_deliveries (endpoint_id, created_at DESC);
CREATE INDEX notification_deliveries_by_event ON notification_deliveries (event_id);

-- Every webhook attempt: when, how long, the HTTP status (null without a response), the verdict.
CREATE TABLE webhook_attempts (
  id bigserial PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES notification_deliveries (id) ON DELETE CASCADE,
  endpoint_id uuid NOT NULL,
  attempt int NOT NULL,
  at timestamptz NOT NULL,
  latency_ms double precision NOT NULL,
  http_status int,
  outcome text NOT NULL,
  error text
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id DESC);

-- In-app notifications: one per in-app delivery, read by their user only.
CREATE TABLE inapp_notifications (
  id uuid PRIMARY KEY,
  delivery_id uuid NOT NULL UNIQUE,
  user_id uuid NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  sample_id uuid,
  event_type text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  read_at timestamptz
);
CREATE INDEX inapp_notifications_by_user ON inapp_notifications (user_id, created_at DESC);
CREATE INDEX inapp_notifications_unread ON inapp_notifications (user_id) WHERE read_at IS NULL;
`


/**
 * The notifier's cursor starts at the end of the log as it is when notifications are installed: history already
 * written is not notified (nobody wants last year's "sample received" e-mails on upgrade).
 */
export const NOTIFIER_CURSOR_DDL = `
INSERT INTO event_consumers (owner, name, tx, seq)
SELECT 'system', 'notifications', COALESCE(last.tx, '0'::xid8), COALESCE(last.seq, 0)
FROM (SELECT 1) one LEFT JOIN (SELECT tx, seq FROM sample_events ORDER BY tx DESC, seq DESC LIMIT 1) last ON true
ON CONFLICT (owner, name) DO NOTHING;
`

/** The owner and name of the notifier's event-log cursor. */
export const NOTIFIER_CONSUMER = { owner: "system", name: "notifications" } as const
