/**
 * Samples, submissions, events and idempotency records in PostgreSQL.
 * Every write is one statement (one round trip, atomic): the state row behind its version fence, the event rows and
 * the idempotency record land together or not at all.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { SqlErrorTypeId } from "@effect/sql/SqlError"
import { EventSignal } from "./EventSignal.ts"
import { makeGroupCommit } from "./GroupCommit.ts"
import { prepareStatement } from "./PgPool.ts"
import type { WakeRow } from "./WakeTimers.ts"
import { CommandWindow, IDEMPOTENCY_MEMORY_KEYS, IDEMPOTENCY_MEMORY_WINDOW_MS } from "./IdempotencyWindow.ts"
import { Clock, Effect, Metric, MetricBoundaries, Option, Schema } from "effect"
import type { SampleId, SubmissionId } from "../rpc/Ids.ts"
import {
  priorityRank,
  SampleState,
  STEP_IDS,
  type EventType,
  type Priority,
  type SampleEvent,
  type SampleStatus,
  type StepId
} from "../rpc/Workflow.ts"
import { fnTraced, withSpanTraced } from "../actors/fnTraced.ts"

/** An event ready to be written. */
export interface NewEvent {
  readonly id: string
  readonly type: EventType
  readonly data: Record<string, unknown>
}

/** What a Sample entity loads when it activates. */
export interface LoadedSample {
  readonly state: SampleState
  readonly timerAt: number | null
  /** The recent idempotency keys and their fingerprints (older ones are read on a miss: see IdempotencyWindow.ts). */
  readonly commands: CommandWindow
}

/** The idempotency record of one accepted command. */
export interface CommandRecord {
  readonly key: string
  readonly tag: string
  readonly fingerprint: string
  readonly result: unknown
}

/**
 * Where a sorted list resumes: after the row with this sort key and `seq` (the row's creation order, unique). Times are
 * PostgreSQL's own text with microseconds (a JavaScript Date would round them and skip rows); a null due time sorts last.
 */
export type ListAfter =
  | { readonly sort: "created_desc" | "created_asc"; readonly seq: number }
  | { readonly sort: "name_asc"; readonly name: string; readonly seq: number }
  | { readonly sort: "priority"; readonly rank: number; readonly seq: number }
  | { readonly sort: "due_asc"; readonly due: string | null; readonly seq: number }

/** The orders of a sample list (rpc/Api.ts SampleSort). */
export type ListSort = ListAfter["sort"]

/** A list query; every filter optional, keyset-paginated in the chosen order (creation, newest first, by default). */
export interface ListQuery {
  readonly status?: SampleStatus | undefined
  readonly step?: StepId | undefined
  readonly priority?: Priority | undefined
  readonly submissionId?: SubmissionId | undefined
  readonly submitter?: string | undefined
  readonly text?: string | undefined
  readonly sort?: ListSort | undefined
  /** Resume after this row; its `sort` must be the query's. */
  readonly after?: ListAfter | undefined
  /** Also count every row matching the filters. */
  readonly withTotal?: boolean | undefined
  readonly limit: number
}

/** A submissions query: newest first, keyset-paginated by (created_at, id). */
export interface SubmissionQuery {
  readonly submitter?: string | undefined
  readonly text?: string | undefined
  readonly after?: readonly [createdAt: string, id: string] | undefined
  readonly limit: number
}

/** A submission's header row. */
export interface SubmissionRow {
  readonly id: string
  readonly number: string
  readonly submitter_email: string
  readonly source: string
  readonly sample_count: number
  readonly data: unknown
  readonly created_at: Date
  readonly created_by: string
}

/** How many of a submission's samples are in each status, and the latest turnaround due time among the active ones. */
export interface SubmissionCounts {
  readonly byStatus: Partial<Record<SampleStatus, number>>
  readonly latestDue: Date | null
}

/** A queue query: one step, ordered urgent > high > normal > low, then due time, then arrival. */
export interface QueueQuery {
  readonly step: StepId
  readonly after?: readonly [rank: number, dueAt: string | null, queuedAt: string | null, id: string] | undefined
  readonly limit: number
}

export interface NewSubmission {
  readonly id: SubmissionId
  readonly number: string
  readonly submitterEmail: string
  readonly source: string
  readonly data: Record<string, unknown>
  readonly actor: string
  readonly at: number
}

/**
 * Migration 5 "creation_keys": idempotency keys of creations (samples, submissions), scoped per principal, with a
 * fingerprint of the request so that a different request under the same key is refused. Idempotent DDL.
 */
export const CREATION_KEYS_DDL = `
CREATE TABLE IF NOT EXISTS creation_keys (
  principal text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  submission_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal, key)
);
`

/** The text a submission search matches: number, submitter e-mail and name (indexed as written, migration 10). */
const SUBMISSION_SEARCH_SQL = "(number || ' ' || submitter_email || ' ' || coalesce(data ->> 'submitterName', ''))"

/**
 * Migration 10 "list_orders": the sample list's other orders (rpc/Api.ts SampleSort) and the submissions list. Each
 * index holds exactly the keyset of one order, so a page in that order, first or later, is one range scan; the
 * expressions are written as the queries below write them (three more indexes that every accepted command updates:
 * what sorting 100,000 samples per page would cost otherwise is a full scan). Submissions are found newest first and by
 * a trigram search of their number and submitter.
 */
export const LIST_ORDERS_DDL = `
CREATE INDEX samples_by_name_seq ON samples (name, seq);
CREATE INDEX samples_by_priority_seq ON samples ((-priority_rank), seq);
CREATE INDEX samples_by_turnaround_due_seq ON samples ((coalesce(turnaround_due_at, 'infinity'::timestamptz)), seq);
CREATE INDEX submissions_newest ON submissions (created_at DESC, id DESC);
CREATE INDEX submissions_search ON submissions
  USING gin (${SUBMISSION_SEARCH_SQL} gin_trgm_ops);
`

/** The idempotency record of a creation request. */
export interface CreationKey {
  readonly principal: string
  readonly key: string
  readonly fingerprint: string
}

/** One creation: the submission, its samples with their SampleCreated events, and its creation key if any. */
interface Creation {
  readonly submission: NewSubmission
  readonly samples: ReadonlyArray<{ readonly state: SampleState; readonly event: NewEvent }>
  readonly creationKey: CreationKey | undefined
}

/** A submission number that already exists. */
export class SubmissionNumberTaken extends Schema.TaggedError<SubmissionNumberTaken>()("SubmissionNumberTaken", {
  number: Schema.String
}) {}

const decodeState = Schema.decodeUnknown(SampleState)
/** A `samples.state` document as read from the database, decoded (a document that does not decode is a defect). */
export const decodeStoredState = (raw: unknown): Effect.Effect<SampleState> => decodeState(raw).pipe(Effect.orDie)

const ts = (ms: number | undefined | null): Date | null => (ms === undefined || ms === null ? null : new Date(ms))

/**
 * The indexed columns are projections of the state, computed in one place so they cannot drift from it. Instants are
 * epoch milliseconds, as in the state (the commit statement makes them timestamptz): a `Date` in the statement's JSON
 * cost its ISO text here and its parse in PostgreSQL, ~40 % of the statement's JSON.stringify with six per transition.
 */
const projection = (state: SampleState) => {
  const inWorkflow = state.status === "in_progress" || state.status === "on_hold" || state.status === "failed"
  const step = inWorkflow && state.receivedAt !== undefined ? state.steps[state.current] : undefined
  return {
    name: state.sampleName,
    submitter_email: state.submitterEmail.toLowerCase(),
    priority: state.priority,
    priority_rank: priorityRank(state.priority),
    status: state.status,
    current_step: step?.step ?? null,
    step_state: step?.status ?? null,
    step_due_ms: state.sla.step?.dueAt ?? null,
    queued_ms: step?.queuedAt ?? null,
    turnaround_due_ms: state.sla.turnaround?.dueAt ?? null,
    updated_ms: state.updatedAt,
    version: state.version
  }
}

interface EventRow {
  readonly seq: string
  readonly id: string
  readonly sample_id: string
  readonly submission_id: string
  readonly type: string
  readonly version: number
  readonly actor: string
  readonly at: Date
  readonly data: unknown
}

/** An event row as the API shows it. */
export const toEvent = (r: EventRow): SampleEvent => ({
  id: r.id as SampleEvent["id"],
  seq: Number(r.seq),
  sampleId: r.sample_id as SampleEvent["sampleId"],
  submissionId: r.submission_id as SampleEvent["submissionId"],
  type: r.type as SampleEvent["type"],
  version: r.version,
  actor: r.actor,
  at: r.at.toISOString(),
  data: r.data
})

/** An accepted transition to commit (see `commitStatement`). */
export interface CommitInput {
  readonly expectedVersion: number
  readonly state: SampleState
  readonly events: ReadonlyArray<NewEvent>
  readonly actor: string
  readonly command: CommandRecord | null
  readonly timerAt: number | null
  /** A newly armed SLA timer, stored as the cluster's persisted `Wake` message in the same statement (WakeTimers.ts). */
  readonly wake?: WakeRow | null | undefined
  /** The armed timer moved or was cleared: the sample's other unread wakes are deleted in the same statement. */
  readonly disarm?: boolean | undefined
}

/**
 * The one statement that commits transitions: for each, the state row (with its indexed projections) behind its own
 * version fence, its event rows, its idempotency record when there is a command, the SLA timer it arms and the
 * superseded timers it deletes; all of them or nothing. One parameter, a JSON array with one object per transition
 * (`commitItem`), so the text never changes: it is a prepared statement on every connection (PgPool.ts), parsed and
 * planned once. `applied` lists the `ord` of each transition whose fence held; the others wrote nothing.
 * Concurrent entities' commits travel together (group commit, `GroupCommit.ts`): one round trip and one WAL flush for
 * the group, each entity told its own outcome.
 * The superseded timers (`gone`) are looked up sample by sample in the wakes index: the LATERAL subquery with OFFSET 0
 * cannot be flattened into a join. Written as a plain join, tables without statistics (a new database, or autovacuum
 * off) were planned as one pass over every armed wake per sample of the group: 0.7 s for a group of 64 among 7,000
 * armed wakes, growing with the facility's open samples.
 */
const COMMIT_SQL = `
WITH i AS (
  SELECT r.*, to_timestamp(r.step_due_ms::float8 / 1000) AS step_due_at, to_timestamp(r.queued_ms::float8 / 1000) AS queued_at,
    to_timestamp(r.turnaround_due_ms::float8 / 1000) AS turnaround_due_at, to_timestamp(r.updated_ms::float8 / 1000) AS updated_at,
    to_timestamp(r.timer_ms::float8 / 1000) AS timer_at, to_timestamp(r.updated_ms::float8 / 1000) AS at
  FROM poretrack_items($1::jsonb) AS j, jsonb_to_record(j) AS r(
    ord int, id uuid, expected int, name text, submitter_email text, priority text, priority_rank smallint,
    status text, current_step text, step_state text, step_due_ms bigint, queued_ms bigint,
    turnaround_due_ms bigint, updated_ms bigint, version int, state jsonb,
    actor text, events jsonb, cmd_key text, cmd_tag text, cmd_fingerprint text, cmd_result jsonb,
    wake_request_id text, wake_message_id text, wake_shard_id text, wake_payload text, disarm boolean, timer_ms bigint)
), upd AS (
  UPDATE samples s SET
    name = i.name, submitter_email = i.submitter_email, priority = i.priority, priority_rank = i.priority_rank,
    status = i.status, current_step = i.current_step, step_state = i.step_state, step_due_at = i.step_due_at,
    queued_at = i.queued_at, turnaround_due_at = i.turnaround_due_at, updated_at = i.updated_at,
    version = i.version, timer_at = i.timer_at, state = i.state
  FROM i
  WHERE s.id = i.id AND s.version = i.expected
  RETURNING i.ord, s.id, s.submission_id
), done AS (
  SELECT i.*, upd.submission_id FROM i JOIN upd ON upd.ord = i.ord
), ev AS (
  INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
  SELECT e.id, d.id, d.submission_id, e.type, d.version, d.actor, d.at, e.data
  FROM done d, ROWS FROM (jsonb_to_recordset(d.events) AS (id uuid, type text, data jsonb))
    WITH ORDINALITY AS e(id, type, data, n)
  ORDER BY d.ord, e.n
  RETURNING 1
), cmd AS (
  INSERT INTO sample_commands (sample_id, key, command, fingerprint, version, result, at)
  SELECT d.id, d.cmd_key, d.cmd_tag, d.cmd_fingerprint, d.version, d.cmd_result, d.at
  FROM done d WHERE d.cmd_key IS NOT NULL
  RETURNING 1
), wake AS (
  INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, request_id, deliver_at)
  SELECT d.wake_request_id::bigint, d.wake_message_id, d.wake_shard_id, 'Sample', d.id::text, 0, 'Wake', d.wake_payload, '{}',
    d.wake_request_id::bigint, d.timer_ms
  FROM done d WHERE d.wake_message_id IS NOT NULL
  ON CONFLICT (message_id) DO NOTHING
  RETURNING 1
), gone AS (
  DELETE FROM cluster_messages m
  WHERE m.id IN (
    SELECT w.id FROM done d CROSS JOIN LATERAL (
      SELECT x.id FROM cluster_messages x
      WHERE x.entity_id = d.id::text AND x.processed = false AND x.entity_type = 'Sample' AND x.tag = 'Wake'
        AND x.last_read IS NULL AND x.deliver_at IS DISTINCT FROM d.timer_ms
      OFFSET 0
    ) w
    WHERE d.disarm
  )
  RETURNING 1
)
SELECT coalesce((SELECT array_agg(ord ORDER BY ord) FROM upd), '{}') AS applied`

/**
 * Migration 17 "row_estimates": the commit and load statements read their transitions (ids) through these functions,
 * which the planner counts as one row (a group is 1–64), so that it reaches each sample by its primary key at any
 * table size. Those statements are prepared (PgPool.ts), and PostgreSQL keeps a prepared statement's generic plan until
 * the tables' statistics change. Read through `jsonb_to_recordset` (100 rows to the planner), the commit was planned
 * as a hash join over a scan of every sample while the table was small, and the plan stayed as it grew, wherever
 * autovacuum is off (as on the development machines): each group commit read the whole table. STRICT keeps these SQL
 * functions from being inlined, which would bring back the 100-row guess.
 */
export const ROW_ESTIMATES_DDL = `
CREATE FUNCTION poretrack_items(items jsonb) RETURNS SETOF jsonb
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 1 AS $$ SELECT jsonb_array_elements(items) $$;
CREATE FUNCTION poretrack_ids(ids uuid[]) RETURNS SETOF uuid
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 1 AS $$ SELECT unnest(ids) $$;
`

/**
 * Group commit: commit statements on their way to PostgreSQL at once, and transitions in one statement at most. A
 * commit waits only while this many statements are in flight; measured in bench/transitions.ts (see README). With
 * groups gathered per turn of the event loop, 2 in flight gave larger groups and a shorter tail than 4 or 8
 * (2026-12-02, `npm run bench`, interleaved: c=64 1,959-2,427 vs 2,145-2,270/s, its p99 45-63 vs 54-89 ms, intake at
 * c=64 1,228-1,271 vs 1,119-1,215 samples/s); without gathering, 2 had been no better than 4.
 */
const COMMIT_GROUPS_IN_FLIGHT = 2
const COMMIT_GROUP_MAX = 64

/**
 * A submission and its samples and their SampleCreated events, in one statement, with its creation key when there is
 * one ($9–$11; null without): the key is inserted first and the rest only if it was new (a key taken by a concurrent
 * request leaves nothing written). One text for both cases, run as a prepared statement (PgPool.ts): parsed and
 * planned once per connection rather than at every creation.
 */
const CREATE_SQL = `
WITH ckey AS (
  INSERT INTO creation_keys (principal, key, fingerprint, submission_id, created_at)
  SELECT $9::text, $10::text, $11::text, $1::uuid, $8::timestamptz WHERE $9::text IS NOT NULL
  ON CONFLICT (principal, key) DO NOTHING
  RETURNING 1 AS taken
), sub AS (
  INSERT INTO submissions (id, number, submitter_email, source, sample_count, data, created_by, created_at)
  SELECT $1::uuid, $2::text, $3::text, $4::text, $5::int, $6::jsonb, $7::text, $8::timestamptz
  WHERE $9::text IS NULL OR EXISTS (SELECT 1 FROM ckey)
  RETURNING id
), smp AS (
  INSERT INTO samples (id, submission_id, position, name, submitter_email, priority, priority_rank, status,
    created_at, updated_at, version, state)
  SELECT r.id, sub.id, r.position, r.name, r.submitter_email, r.priority, r.priority_rank, r.status,
    $8::timestamptz, $8::timestamptz, 1, r.state
  FROM sub, jsonb_to_recordset($12::jsonb) AS r(id uuid, position int, name text, submitter_email text,
    priority text, priority_rank smallint, status text, state jsonb)
  ORDER BY r.position
  RETURNING 1
), ev AS (
  INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
  SELECT e.id, e.sample_id, sub.id, e.type, 1, $7::text, $8::timestamptz, e.data
  FROM sub, jsonb_to_recordset($13::jsonb) AS e(id uuid, sample_id uuid, position int, type text, data jsonb)
  ORDER BY e.position
  RETURNING 1
)
SELECT (SELECT count(*) FROM sub)::int AS submissions, (SELECT count(*) FROM smp)::int AS samples,
  (SELECT count(*) FROM ev)::int AS events`

prepareStatement("poretrack_create_v1", CREATE_SQL)

/**
 * Creations made at the same moment, in one statement (group commit, like the sample commits): each item as CREATE_SQL
 * writes one, its creation key first, the rest only when the key was new. Answers whether each item was written, in
 * order. A generated submission number that collides fails the group, which is then run one creation at a time
 * (CREATE_SQL, which names the number that was taken).
 */
const CREATE_GROUP_SQL = `
WITH items AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(idx int, id uuid, number text, submitter_email text, source text,
    sample_count int, data jsonb, actor text, at timestamptz, principal text, key text, fingerprint text,
    samples jsonb, events jsonb)
), ckey AS (
  INSERT INTO creation_keys (principal, key, fingerprint, submission_id, created_at)
  SELECT principal, key, fingerprint, id, at FROM items WHERE principal IS NOT NULL ORDER BY idx
  ON CONFLICT (principal, key) DO NOTHING
  RETURNING submission_id
), go AS (
  SELECT * FROM items WHERE principal IS NULL OR id IN (SELECT submission_id FROM ckey)
), sub AS (
  INSERT INTO submissions (id, number, submitter_email, source, sample_count, data, created_by, created_at)
  SELECT id, number, submitter_email, source, sample_count, data, actor, at FROM go ORDER BY idx
  RETURNING id
), smp AS (
  INSERT INTO samples (id, submission_id, position, name, submitter_email, priority, priority_rank, status,
    created_at, updated_at, version, state)
  SELECT r.id, go.id, r.position, r.name, r.submitter_email, r.priority, r.priority_rank, r.status, go.at, go.at, 1, r.state
  FROM go, jsonb_to_recordset(go.samples) AS r(id uuid, position int, name text, submitter_email text,
    priority text, priority_rank smallint, status text, state jsonb)
  ORDER BY go.idx, r.position
  RETURNING 1
), ev AS (
  INSERT INTO sample_events (id, sample_id, submission_id, type, version, actor, at, data)
  SELECT e.id, e.sample_id, go.id, e.type, 1, go.actor, go.at, e.data
  FROM go, jsonb_to_recordset(go.events) AS e(id uuid, sample_id uuid, position int, type text, data jsonb)
  ORDER BY go.idx, e.position
  RETURNING 1
)
SELECT array_agg(i.id IN (SELECT id FROM sub) ORDER BY i.idx) AS written,
  (SELECT count(*) FROM smp)::int AS samples, (SELECT count(*) FROM ev)::int AS events
FROM items i`

prepareStatement("poretrack_create_group_v1", CREATE_GROUP_SQL)

/** The name of the commit statement, prepared on each connection of the pool (PgPool.ts). */
export const COMMIT_STATEMENT = "poretrack_commit_v2"

prepareStatement(COMMIT_STATEMENT, COMMIT_SQL)

/**
 * What a Sample entity loads when it activates: state, armed timer, the idempotency keys of the memory window ($2: since,
 * $3: at most) and how many records the sample has. Prepared on each connection: its plan alone cost PostgreSQL ~2.5 ms
 * per activation.
 */
export const LOAD_SQL = `
SELECT s.id, s.state, s.timer_at,
  (SELECT coalesce(json_agg(json_build_array(r.key, r.fingerprint, r.ms) ORDER BY r.at), '[]'::json)
     FROM (SELECT c.key, c.fingerprint, c.at, (extract(epoch FROM c.at) * 1000)::float8 AS ms
           FROM sample_commands c WHERE c.sample_id = s.id AND c.at >= $2
           ORDER BY c.at DESC LIMIT $3) r) AS commands,
  (SELECT count(*)::int FROM sample_commands c WHERE c.sample_id = s.id) AS total
FROM poretrack_ids($1::uuid[]) AS k(id) JOIN samples s ON s.id = k.id`

prepareStatement("poretrack_load_v2", LOAD_SQL)

/** A loaded row as it comes from PostgreSQL. */
interface LoadRow {
  readonly id: string
  readonly state: unknown
  readonly timer_at: Date | null
  readonly commands: Array<[string, string, number]>
  readonly total: number
}

const createGroupSize = Metric.histogram(
  "poretrack_create_group_size",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 8 }),
  "Creations (submissions, a new sample being one) written together in one statement"
)

const loadGroupSize = Metric.histogram(
  "poretrack_load_group_size",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 8 }),
  "Samples loaded together in one statement (samples made resident at the same moment)"
)

/** One transition as an element of the commit statement's parameter. */
const commitItem = (input: CommitInput, ord: number) => {
  const cmd = input.command
  return {
    ord,
    id: input.state.id,
    expected: input.expectedVersion,
    ...projection(input.state),
    state: input.state,
    actor: input.actor,
    events: input.events,
    cmd_key: cmd?.key ?? null,
    cmd_tag: cmd?.tag ?? "",
    cmd_fingerprint: cmd?.fingerprint ?? "",
    cmd_result: cmd?.result ?? null,
    wake_request_id: input.wake?.requestId ?? null,
    wake_message_id: input.wake?.messageId ?? null,
    wake_shard_id: input.wake?.shardId ?? "",
    wake_payload: input.wake?.payload ?? "",
    disarm: input.disarm === true,
    timer_ms: input.timerAt
  }
}

/**
 * The commit statement of transitions (each of a different sample), as its name, text and values: what
 * `SampleRepo.commit` runs for each group, and what the benchmark's bare-PostgreSQL path runs for one transition
 * (bench/transitions.ts), so that the baseline cannot drift from it. `applied` holds the indexes of `inputs` whose
 * fence held.
 */
export const commitStatement = (inputs: ReadonlyArray<CommitInput>): {
  readonly name: string
  readonly text: string
  readonly values: ReadonlyArray<unknown>
} => ({ name: COMMIT_STATEMENT, text: COMMIT_SQL, values: [JSON.stringify(inputs.map(commitItem))] })

/** Data access for samples; the Sample entity is its only writer of existing samples. */
export class SampleRepo extends Effect.Service<SampleRepo>()("poretrack/SampleRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const signal = yield* EventSignal

    const states = (rows: ReadonlyArray<{ state: unknown }>) =>
      Effect.forEach(rows, (r) => decodeState(r.state).pipe(Effect.orDie))

    /**
     * Loads a sample for its entity: state, armed timer and the idempotency keys of the memory window (the newest
     * IDEMPOTENCY_MEMORY_KEYS of the last IDEMPOTENCY_MEMORY_WINDOW_MS, oldest first), and whether those are all of them.
     * Samples made resident at the same moment (a batch, a burst of intake) are read together, in one statement per
     * group, like the commits (GroupCommit.ts): a lone load leaves at once.
     */
    const loads = yield* makeGroupCommit<SampleId, LoadRow | undefined, SqlError.SqlError>({
      run: (ids) =>
        Effect.gen(function*() {
          const since = new Date((yield* Clock.currentTimeMillis) - IDEMPOTENCY_MEMORY_WINDOW_MS)
          const rows = yield* sql.unsafe<LoadRow>(LOAD_SQL, [ids, since, IDEMPOTENCY_MEMORY_KEYS])
          const byId = new Map(rows.map((row) => [row.id, row]))
          return ids.map((id) => byId.get(id))
        }),
      // A read fails for all or none of its samples.
      isolate: () => false,
      maxInFlight: COMMIT_GROUPS_IN_FLIGHT,
      maxGroup: COMMIT_GROUP_MAX,
      sizes: loadGroupSize
    })
    const load = fnTraced("SampleRepo.load")(function*(id: SampleId) {
      const row = yield* loads.commit(id)
      if (row === undefined) return Option.none<LoadedSample>()
      const state = yield* decodeState(row.state).pipe(Effect.orDie)
      return Option.some<LoadedSample>({
        state,
        timerAt: row.timer_at?.getTime() ?? null,
        commands: new CommandWindow(row.commands, row.total === row.commands.length)
      })
    })

    /** The idempotency record of an accepted command (its fingerprint and stored result), for a repeated key. */
    const commandResult = Effect.fn("SampleRepo.commandResult")(function*(id: SampleId, key: string) {
      const rows = yield* sql<{ fingerprint: string; result: unknown }>`
        SELECT fingerprint, result FROM sample_commands WHERE sample_id = ${id} AND key = ${key}`
      return Option.fromNullable(rows[0])
    })

    /** Concurrent entities' commits, grouped into one statement each (GroupCommit.ts). */
    const group = yield* makeGroupCommit<CommitInput, boolean, SqlError.SqlError>({
      run: (inputs) =>
        Effect.gen(function*() {
          const statement = commitStatement(inputs)
          const rows = yield* sql.unsafe<{ applied: ReadonlyArray<number> }>(statement.text, statement.values)
          const applied = new Set(rows[0]?.applied ?? [])
          if (inputs.some((input, i) => applied.has(i) && input.events.length > 0)) yield* signal.committed
          return inputs.map((_, i) => applied.has(i))
        }),
      isolate: (e) => !isDatabaseOutage(e),
      maxInFlight: COMMIT_GROUPS_IN_FLIGHT,
      maxGroup: COMMIT_GROUP_MAX
    })

    /**
     * Writes an accepted transition: state behind the version fence, events, idempotency record, armed timer; in a
     * group with other samples' transitions committed at the same moment (each behind its own fence).
     * Returns false (and writes nothing) when the fence fails: someone else wrote this sample since we read it.
     */
    const commit = (input: CommitInput) => group.commit(input).pipe(withSpanTraced("SampleRepo.commit"))

    /** Records a re-armed timer without a state change (no version bump). */
    const setTimer = Effect.fn("SampleRepo.setTimer")(function*(id: SampleId, version: number, timerAt: number | null) {
      yield* sql`UPDATE samples SET timer_at = ${ts(timerAt)} WHERE id = ${id} AND version = ${version}`
    })

    /**
     * Creates a submission and all its samples, with their SampleCreated events, in one statement. With a creation
     * key, the key is recorded in the same statement, and when it is already taken nothing is written and the result
     * is false (the caller replays the first creation).
     */
    /** The rows a creation writes, as both creation statements read them. */
    const creationRows = (samples: ReadonlyArray<{ readonly state: SampleState; readonly event: NewEvent }>) => ({
      rows: samples.map(({ state }) => {
        const p = projection(state)
        return {
          id: state.id,
          position: state.position,
          name: p.name,
          submitter_email: p.submitter_email,
          priority: p.priority,
          priority_rank: p.priority_rank,
          status: p.status,
          // As the commit writes it: a SampleState has no transformation, so it is its own encoding
          // (rpc/Commands.test.ts checks it).
          state
        }
      }),
      events: samples.map(({ event, state }) => ({ ...event, sample_id: state.id, position: state.position }))
    })

    /** One creation alone (CREATE_SQL): a number that is taken is SubmissionNumberTaken. */
    const createOne = (creation: Creation) =>
      Effect.gen(function*() {
        const { creationKey, samples, submission } = creation
        const { events, rows } = creationRows(samples)
        const result = yield* sql.unsafe<{ submissions: number }>(CREATE_SQL, [
          submission.id,
          submission.number,
          submission.submitterEmail.toLowerCase(),
          submission.source,
          samples.length,
          JSON.stringify(submission.data),
          submission.actor,
          new Date(submission.at),
          creationKey?.principal ?? null,
          creationKey?.key ?? null,
          creationKey?.fingerprint ?? null,
          JSON.stringify(rows),
          JSON.stringify(events)
        ]).pipe(
          Effect.catchIf(
            (e: SqlError.SqlError) => isUniqueViolation(e, "submissions_number_key"),
            () => Effect.fail(new SubmissionNumberTaken({ number: submission.number }))
          )
        )
        return (result[0]?.submissions ?? 0) === 1
      })

    /** Creations made at the same moment, in one statement (CREATE_GROUP_SQL); one alone goes as CREATE_SQL. */
    const creations = yield* makeGroupCommit<Creation, boolean, SqlError.SqlError | SubmissionNumberTaken>({
      run: (group) =>
        group.length === 1
          ? Effect.map(createOne(group[0]!), (written) => [written])
          : Effect.gen(function*() {
            const items = group.map(({ creationKey, samples, submission }, idx) => {
              const { events, rows } = creationRows(samples)
              return {
                idx,
                id: submission.id,
                number: submission.number,
                submitter_email: submission.submitterEmail.toLowerCase(),
                source: submission.source,
                sample_count: samples.length,
                data: submission.data,
                actor: submission.actor,
                at: new Date(submission.at).toISOString(),
                principal: creationKey?.principal ?? null,
                key: creationKey?.key ?? null,
                fingerprint: creationKey?.fingerprint ?? null,
                samples: rows,
                events
              }
            })
            const rows = yield* sql.unsafe<{ written: ReadonlyArray<boolean> }>(CREATE_GROUP_SQL, [JSON.stringify(items)])
            const written = rows[0]?.written ?? []
            return group.map((_, i) => written[i] === true)
          }),
      // A number taken (by another creation of the group, or before) fails the group: each then runs alone.
      isolate: (e) => e._tag === "SqlError" && !isDatabaseOutage(e),
      maxInFlight: COMMIT_GROUPS_IN_FLIGHT,
      maxGroup: COMMIT_GROUP_MAX,
      sizes: createGroupSize
    })

    /**
     * Creates a submission and all its samples, with their SampleCreated events, in one statement (shared with the
     * creations made at the same moment). With a creation key, the key is recorded in the same statement, and when it
     * is already taken nothing is written and the result is false (the caller replays the first creation).
     */
    const createSubmission = fnTraced("SampleRepo.createSubmission")(function*(
      submission: NewSubmission,
      samples: ReadonlyArray<{ readonly state: SampleState; readonly event: NewEvent }>,
      creationKey?: CreationKey | undefined
    ) {
      const written = yield* creations.commit({ submission, samples, creationKey })
      if (written) yield* signal.committed
      return written
    })

    /** The creation recorded under `principal`'s idempotency `key`, if any. */
    const creationKey = Effect.fn("SampleRepo.creationKey")(function*(principal: string, key: string) {
      const rows = yield* sql<{ fingerprint: string; submission_id: string }>`
        SELECT fingerprint, submission_id::text AS submission_id FROM creation_keys WHERE principal = ${principal} AND key = ${key}`
      const row = rows[0]
      return row === undefined ? Option.none() : Option.some({ fingerprint: row.fingerprint, submissionId: row.submission_id })
    })

    /** The warnings each sample of a submission was created with (rows 1-based, only rows with warnings). */
    const creationWarnings = Effect.fn("SampleRepo.creationWarnings")(function*(id: SubmissionId) {
      const rows = yield* sql<{ position: number; warnings: unknown }>`
        SELECT s.position, e.data -> 'warnings' AS warnings
        FROM sample_events e JOIN samples s ON s.id = e.sample_id
        WHERE e.submission_id = ${id} AND e.type = 'SampleCreated'
        ORDER BY s.position`
      return rows.flatMap((r) =>
        Array.isArray(r.warnings) && r.warnings.length > 0 ? [{ row: r.position, warnings: r.warnings.map(String) }] : []
      )
    })

    /** One sample's state, as last committed. */
    const get = fnTraced("SampleRepo.get")(function*(id: SampleId) {
      const rows = yield* sql<{ state: unknown }>`SELECT state FROM samples WHERE id = ${id}`
      const found = yield* states(rows)
      return Option.fromNullable(found[0])
    })

    /**
     * Samples matching the filters in the chosen order, with a keyset cursor (the last row's sort key and seq); each
     * order's key is a row comparison that its index (migration 10) answers as a range. With `withTotal`, one count
     * with the same filters.
     */
    const list = Effect.fn("SampleRepo.list")(function*(q: ListQuery) {
      const sort = q.sort ?? "created_desc"
      const after = q.after !== undefined && q.after.sort === sort ? q.after : undefined
      const filters = [
        ...(q.status ? [sql`status = ${q.status}`] : []),
        ...(q.step ? [sql`current_step = ${q.step}`] : []),
        ...(q.priority ? [sql`priority = ${q.priority}`] : []),
        ...(q.submissionId ? [sql`submission_id = ${q.submissionId}`] : []),
        ...(q.submitter ? [sql`submitter_email = ${q.submitter.toLowerCase()}`] : []),
        ...(q.text ? [sql`name ILIKE ${"%" + escapeLike(q.text) + "%"}`] : [])
      ]
      // The expressions are written exactly as in the indexes of migration 10, so that the planner matches them.
      const due = sql`coalesce(turnaround_due_at, 'infinity'::timestamptz)`
      const order = sort === "created_desc"
        ? sql`seq DESC`
        : sort === "created_asc"
        ? sql`seq`
        : sort === "name_asc"
        ? sql`name, seq`
        : sort === "priority"
        ? sql`(-priority_rank), seq`
        : sql`${due}, seq`
      const resume = (a: ListAfter) => {
        switch (a.sort) {
          case "created_desc":
            return sql`seq < ${a.seq}`
          case "created_asc":
            return sql`seq > ${a.seq}`
          case "name_asc":
            return sql`(name, seq) > (${a.name}::text, ${a.seq}::bigint)`
          case "priority":
            return sql`((-priority_rank), seq) > (${-a.rank}::smallint, ${a.seq}::bigint)`
          case "due_asc":
            return sql`(${due}, seq) > (${a.due ?? "infinity"}::timestamptz, ${a.seq}::bigint)`
        }
      }
      const where = after === undefined ? filters : [...filters, resume(after)]
      const pageRows = sql<{ seq: string; state: unknown; name: string; priority_rank: number; due: string | null }>`
        SELECT seq, state, name, priority_rank,
          to_char(turnaround_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS due
        FROM samples ${where.length > 0 ? sql`WHERE ${sql.and(where)}` : sql``}
        ORDER BY ${order} LIMIT ${q.limit + 1}`
      // The count (the filters without the cursor) runs beside the page, on a second connection.
      const count = q.withTotal
        ? Effect.map(
          sql<{ n: number }>`SELECT count(*)::int AS n FROM samples ${filters.length > 0 ? sql`WHERE ${sql.and(filters)}` : sql``}`,
          (r) => Option.some(r[0]?.n ?? 0)
        )
        : Effect.succeedNone
      const [rows, counted] = yield* Effect.all([pageRows, count], { concurrency: 2 })
      const page = rows.slice(0, q.limit)
      const items = yield* states(page)
      const last = page[page.length - 1]
      const next: ListAfter | null = rows.length > q.limit && last ? afterRow(sort, last) : null
      return { items, next, total: Option.getOrUndefined(counted) }
    })

    /** The queue of one step. */
    const queue = Effect.fn("SampleRepo.queue")(function*(q: QueueQuery) {
      const after = q.after
      const rows = yield* sql<{ state: unknown; priority_rank: number; step_due_at: Date | null; queued_at: Date | null; id: string }>`
        SELECT state, priority_rank, step_due_at, queued_at, id FROM samples
        WHERE status = 'in_progress' AND current_step = ${q.step}
        ${after ? sql`AND (-priority_rank, step_due_at, queued_at, id) > (${-after[0]}, ${after[1]}::timestamptz, ${after[2]}::timestamptz, ${after[3]}::uuid)` : sql``}
        ORDER BY priority_rank DESC, step_due_at, queued_at, id LIMIT ${q.limit + 1}`
      const page = rows.slice(0, q.limit)
      const items = yield* states(page)
      const last = page[page.length - 1]
      const next = rows.length > q.limit && last
        ? [last.priority_rank, last.step_due_at?.toISOString() ?? null, last.queued_at?.toISOString() ?? null, last.id] as const
        : null
      return { items, next }
    })

    /** The length of one step's queue (an index-only count on the queue index). */
    const queueLength = Effect.fn("SampleRepo.queueLength")(function*(step: StepId) {
      const rows = yield* sql<{ n: number }>`
        SELECT count(*)::int AS n FROM samples WHERE status = 'in_progress' AND current_step = ${step}`
      return rows[0]?.n ?? 0
    })

    /** Queue lengths of every step. */
    const queueCounts = Effect.fn("SampleRepo.queueCounts")(function*() {
      const rows = yield* sql<{ current_step: StepId; n: number }>`
        SELECT current_step, count(*)::int AS n FROM samples WHERE status = 'in_progress' GROUP BY current_step`
      const out = Object.fromEntries(STEP_IDS.map((s) => [s, 0])) as Record<StepId, number>
      for (const r of rows) out[r.current_step] = r.n
      return out
    })

    /** The audit trail of one sample, oldest first. */
    const events = Effect.fn("SampleRepo.events")(function*(id: SampleId) {
      const rows = yield* sql<EventRow>`
        SELECT seq, id, sample_id, submission_id, type, version, actor, at, data
        FROM sample_events WHERE sample_id = ${id} ORDER BY seq`
      return rows.map(toEvent)
    })

    /** Submissions: header row. */
    const submission = Effect.fn("SampleRepo.submission")(function*(id: SubmissionId) {
      const rows = yield* sql<SubmissionRow>`
        SELECT id, number, submitter_email, source, sample_count, data, created_at, created_by FROM submissions WHERE id = ${id}`
      return Option.fromNullable(rows[0])
    })

    /**
     * Submissions newest first (created_at, then id, both descending), with a keyset cursor; `submitter` confines to
     * one submitter's, `text` searches the number, the submitter's e-mail and name (the trigram index of migration 10).
     */
    const submissions = Effect.fn("SampleRepo.submissions")(function*(q: SubmissionQuery) {
      const where = [
        ...(q.submitter ? [sql`submitter_email = ${q.submitter.toLowerCase()}`] : []),
        ...(q.text ? [sql`${sql.literal(SUBMISSION_SEARCH_SQL)} ILIKE ${"%" + escapeLike(q.text) + "%"}`] : []),
        ...(q.after ? [sql`(created_at, id) < (${q.after[0]}::timestamptz, ${q.after[1]}::uuid)`] : [])
      ]
      const rows = yield* sql<SubmissionRow & { cursor_at: string }>`
        SELECT id, number, submitter_email, source, sample_count, data, created_at, created_by,
          to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
        FROM submissions ${where.length > 0 ? sql`WHERE ${sql.and(where)}` : sql``}
        ORDER BY created_at DESC, id DESC LIMIT ${q.limit + 1}`
      const page = rows.slice(0, q.limit)
      const last = page[page.length - 1]
      return { items: page, next: rows.length > q.limit && last ? [last.cursor_at, last.id] as const : null }
    })

    /**
     * Sample counts by status of each submission (only `submitter`'s samples when given), and the latest turnaround due
     * time among its samples still being worked, in one grouped read over the (submission_id, position) index.
     */
    const submissionCounts = Effect.fn("SampleRepo.submissionCounts")(function*(
      ids: ReadonlyArray<SubmissionId>,
      submitter?: string | undefined
    ) {
      const out = new Map<string, SubmissionCounts>(ids.map((id) => [id, { byStatus: {}, latestDue: null }]))
      if (ids.length === 0) return out
      const rows = yield* sql<{ submission_id: string; status: SampleStatus; n: number; due: Date | null }>`
        SELECT submission_id, status, count(*)::int AS n,
          max(turnaround_due_at) FILTER (WHERE status NOT IN ('submitted', 'completed', 'cancelled', 'archived')) AS due
        FROM samples
        WHERE submission_id IN ${sql.in(ids)}
          ${submitter ? sql`AND submitter_email = ${submitter.toLowerCase()}` : sql``}
        GROUP BY submission_id, status`
      for (const r of rows) {
        const prior = out.get(r.submission_id)
        if (prior === undefined) continue
        out.set(r.submission_id, {
          byStatus: { ...prior.byStatus, [r.status]: r.n },
          latestDue: r.due !== null && (prior.latestDue === null || r.due > prior.latestDue) ? r.due : prior.latestDue
        })
      }
      return out
    })

    return {
      load,
      commandResult,
      commit,
      setTimer,
      createSubmission,
      creationKey,
      creationWarnings,
      get,
      list,
      queue,
      queueLength,
      queueCounts,
      events,
      submission,
      submissions,
      submissionCounts
    } as const
  })
}) {}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)

/** The row a page ended on, as the cursor of the next page in `sort`. */
const afterRow = (
  sort: ListSort,
  row: { readonly seq: string; readonly name: string; readonly priority_rank: number; readonly due: string | null }
): ListAfter => {
  const seq = Number(row.seq)
  switch (sort) {
    case "created_desc":
    case "created_asc":
      return { sort, seq }
    case "name_asc":
      return { sort, name: row.name, seq }
    case "priority":
      return { sort, rank: row.priority_rank, seq }
    case "due_asc":
      return { sort, due: row.due, seq }
  }
}

/** True when `u` is an @effect/sql SqlError (for causes that arrive untyped, e.g. inside a cluster PersistenceError). */
export const isSqlError = (u: unknown): u is SqlError.SqlError =>
  typeof u === "object" && u !== null && SqlErrorTypeId in u && (u as { _tag?: unknown })._tag === "SqlError"

/**
 * The SQLSTATE of a PostgreSQL error, or undefined when the server never answered (a socket error, a timeout): five
 * digits or capitals, as the server sends them; Node's own codes (ECONNRESET, EPIPE …) start with E, no class does.
 */
export const sqlStateOf = (e: SqlError.SqlError): string | undefined => {
  const cause = e.cause
  if (typeof cause !== "object" || cause === null) return undefined
  const code = (cause as { code?: unknown }).code
  return typeof code === "string" && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code) ? code : undefined
}

/** SQLSTATEs that mean "try again shortly": the server is going away, full, or a transaction lost a race. */
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set(["57P01", "57P02", "57P03", "53300", "40001", "40P01"])

/**
 * True when `e` means PostgreSQL is (briefly) unavailable rather than that the statement is wrong: connection
 * exceptions (class 08), admin/crash shutdown and "cannot connect now" (57P01-57P03), too many connections (53300),
 * serialization failures and deadlocks (40001, 40P01), and errors without a SQLSTATE (the connection failed or timed
 * out before the server answered). Anything else (data exceptions 22xxx, integrity 23xxx, syntax 42xxx …) is a bug or
 * bad data that a retry cannot fix.
 */
export const isDatabaseOutage = (e: SqlError.SqlError): boolean => {
  const state = sqlStateOf(e)
  return state === undefined || state.startsWith("08") || TRANSIENT_SQLSTATES.has(state)
}

/** True when `e` is a unique-constraint violation (of `constraint`, when given). */
export const isUniqueViolation = (e: SqlError.SqlError, constraint?: string): boolean => {
  const cause = e.cause
  if (typeof cause !== "object" || cause === null) return false
  const code = (cause as { code?: unknown }).code
  const name = (cause as { constraint?: unknown }).constraint
  return code === "23505" && (constraint === undefined || name === constraint)
}
