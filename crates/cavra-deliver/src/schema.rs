//! The delivery outbox's schema, as versioned migrations of the `outbox`
//! component (see `cavra_store::migrate`). Version 1 is the schema the
//! embedded outbox has always had; on SQLite its statements create only
//! what is missing, so an outbox file written before migrations were
//! recorded is adopted as it is.

use cavra_store::migrate::Migration;

/// The outbox's migrations, in order.
pub const OUTBOX_MIGRATIONS: &[Migration] = &[
    Migration {
        component: "outbox",
        version: 1,
        name: "jobs, requests, approvals, schedule runs, bounces, setup acceptances",
        sqlite: "CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, message_id TEXT NOT NULL, recipient TEXT NOT NULL, subject TEXT NOT NULL,
  attachment TEXT NOT NULL, digest TEXT NOT NULL, role TEXT NOT NULL, state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, first_attempt INTEGER, next_attempt INTEGER NOT NULL, lease_until INTEGER,
  last_error TEXT, possible_duplicate INTEGER NOT NULL DEFAULT 0, approval TEXT);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_attempt);
CREATE TABLE IF NOT EXISTS bounces (recipient TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
  job_id TEXT, recorded_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS suppressions (recipient TEXT PRIMARY KEY, since INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schedule_recipients (
  schedule_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, pending_fingerprint TEXT, pending_approval TEXT);
CREATE TABLE IF NOT EXISTS send_requests (request_id TEXT PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job_requests (job_id TEXT PRIMARY KEY, request_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS approval_statements (
  approval_id TEXT NOT NULL, approver_key_id TEXT NOT NULL, body TEXT NOT NULL, signature TEXT NOT NULL,
  PRIMARY KEY (approval_id, approver_key_id));
CREATE TABLE IF NOT EXISTS schedule_runs (key TEXT PRIMARY KEY, state TEXT NOT NULL, claimed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS approvals (
  approval_id TEXT PRIMARY KEY, package_digest TEXT NOT NULL, recipient_domains TEXT NOT NULL,
  recipient_count INTEGER NOT NULL, requested_by_role TEXT NOT NULL, decision TEXT NOT NULL,
  decided_by_role TEXT, requested_at INTEGER NOT NULL, decided_at INTEGER, expires_at INTEGER NOT NULL, reason TEXT);
CREATE TABLE IF NOT EXISTS policy_acceptances (
  seq INTEGER PRIMARY KEY, config_digest TEXT NOT NULL, config_text TEXT NOT NULL,
  body TEXT NOT NULL, signature TEXT NOT NULL);",
        postgres: "CREATE TABLE jobs (
  id TEXT PRIMARY KEY, message_id TEXT NOT NULL, recipient TEXT NOT NULL, subject TEXT NOT NULL,
  attachment TEXT NOT NULL, digest TEXT NOT NULL, role TEXT NOT NULL, state TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0, first_attempt BIGINT, next_attempt BIGINT NOT NULL, lease_until BIGINT,
  last_error TEXT, possible_duplicate BIGINT NOT NULL DEFAULT 0, approval TEXT);
CREATE INDEX jobs_due ON jobs (state, next_attempt);
CREATE INDEX jobs_message_id ON jobs (message_id);
CREATE TABLE bounces (recipient TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
  job_id TEXT, recorded_at BIGINT NOT NULL);
CREATE TABLE suppressions (recipient TEXT PRIMARY KEY, since BIGINT NOT NULL);
CREATE TABLE schedule_recipients (
  schedule_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, pending_fingerprint TEXT, pending_approval TEXT);
CREATE TABLE send_requests (request_id TEXT PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE job_requests (job_id TEXT PRIMARY KEY, request_id TEXT NOT NULL);
CREATE TABLE approval_statements (
  approval_id TEXT NOT NULL, approver_key_id TEXT NOT NULL, body TEXT NOT NULL, signature TEXT NOT NULL,
  PRIMARY KEY (approval_id, approver_key_id));
CREATE TABLE schedule_runs (key TEXT PRIMARY KEY, state TEXT NOT NULL, claimed_at BIGINT NOT NULL);
CREATE TABLE approvals (
  approval_id TEXT PRIMARY KEY, package_digest TEXT NOT NULL, recipient_domains TEXT NOT NULL,
  recipient_count BIGINT NOT NULL, requested_by_role TEXT NOT NULL, decision TEXT NOT NULL,
  decided_by_role TEXT, requested_at BIGINT NOT NULL, decided_at BIGINT, expires_at BIGINT NOT NULL, reason TEXT);
CREATE TABLE policy_acceptances (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, config_digest TEXT NOT NULL, config_text TEXT NOT NULL,
  body TEXT NOT NULL, signature TEXT NOT NULL);",
    },
    Migration {
        component: "outbox",
        version: 2,
        name: "jobs.notice: notices composed at send time (evidence-room invitations)",
        sqlite: "ALTER TABLE jobs ADD COLUMN notice TEXT;",
        postgres: "ALTER TABLE jobs ADD COLUMN notice TEXT;",
    },
];
