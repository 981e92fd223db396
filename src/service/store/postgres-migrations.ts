/**
 * The PostgreSQL schema, in order. A migration is applied once, inside one transaction, recorded in
 * schema_migrations; replicas starting together take an advisory lock first, so exactly one of them
 * applies each migration and the others find it recorded. Never edit a shipped migration: add one.
 */
export const MIGRATIONS: readonly {version: number; name: string; sql: string}[] = [
  {
    version: 1,
    name: 'jobs, tokens and results',
    sql: `
CREATE TABLE jobs (
  id text PRIMARY KEY,
  source_type text NOT NULL,
  config text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  progress double precision NOT NULL DEFAULT 0,
  error text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  run_after timestamptz NOT NULL,
  lease_until timestamptz,
  cancel_requested boolean NOT NULL DEFAULT false,
  result text,
  token_id text NOT NULL,
  idempotency_key text
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (token_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Claims walk queued jobs oldest first; the partial index holds only them.
CREATE INDEX jobs_queue ON jobs (created_at, id) WHERE status = 'queued';
-- Lease recovery looks only at running jobs.
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_created ON jobs (created_at, id);
CREATE INDEX jobs_owner ON jobs (token_id, created_at, id);
CREATE TABLE tokens (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  revoked_at timestamptz,
  scopes text NOT NULL
);
-- Small results live here, so any replica serves any result (large ones go to S3).
CREATE TABLE job_results (
  job_id text PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  data bytea NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'fair claims, queue quota and retention',
    sql: `
-- The tokens with queued jobs (a loose index scan), each one's oldest, and the queue quota's count.
CREATE INDEX jobs_fair ON jobs (token_id, created_at, id) WHERE status = 'queued';
-- Retention: ended jobs by when they ended.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('succeeded', 'failed', 'cancelled');
-- When each token was last served by a claim: the next claim starts with the oldest turn.
CREATE TABLE token_turns (token_id text PRIMARY KEY, turn bigint NOT NULL);
CREATE SEQUENCE token_turn_seq;
`,
  },
]

/** The advisory lock key every replica takes around migrations ('infra' + 'jobs' as a number). */
export const MIGRATION_LOCK_KEY = 0x696e667261_6a6f62n
