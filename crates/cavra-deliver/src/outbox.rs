//! The durable outbox: every message is written here before any network
//! call, one job per recipient, and moves through
//! `queued → sending → sent | retry_scheduled | failed | dead_lettered`
//! (`blocked` while it waits for an approval).
//!
//! A job is leased while it is being sent. A job found in `sending` after its
//! lease expired (the sender died mid-send) is sent again with the same
//! Message-ID and flagged as a possible duplicate, since the first attempt
//! may have reached the server. The store sits behind [`OutboxStore`];
//! [`SqliteOutbox`] (embedded SQLite) is the default.

use crate::approval::Approval;
use crate::statement::SignedStatement;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Job states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting to be sent.
    Queued,
    /// Leased by a sender.
    Sending,
    /// Accepted by the server.
    Sent,
    /// Failed transiently; due again at `next_attempt`.
    RetryScheduled,
    /// Failed permanently for this recipient.
    Failed,
    /// Gave up after the retry policy's attempts or window.
    DeadLettered,
    /// Waiting for an approval.
    Blocked,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Sending => "sending",
            JobState::Sent => "sent",
            JobState::RetryScheduled => "retry_scheduled",
            JobState::Failed => "failed",
            JobState::DeadLettered => "dead_lettered",
            JobState::Blocked => "blocked",
        }
    }

    fn parse(s: &str) -> Result<JobState, OutboxError> {
        Ok(match s {
            "queued" => JobState::Queued,
            "sending" => JobState::Sending,
            "sent" => JobState::Sent,
            "retry_scheduled" => JobState::RetryScheduled,
            "failed" => JobState::Failed,
            "dead_lettered" => JobState::DeadLettered,
            "blocked" => JobState::Blocked,
            other => return Err(OutboxError::Corrupt(format!("unknown job state `{other}`"))),
        })
    }
}

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Job id (stable: derived from the request and recipient).
    pub id: String,
    /// Message-ID, kept across retries.
    pub message_id: String,
    /// Recipient address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Path of the package or artifact attached.
    pub attachment: String,
    /// `sha256:` digest of the attachment when queued.
    pub digest: String,
    /// The principal that asked (its name in `cavra.toml`).
    pub role: String,
    /// State.
    pub state: JobState,
    /// Attempts made.
    pub attempts: u32,
    /// Unix seconds of the first attempt.
    pub first_attempt: Option<i64>,
    /// Unix seconds when it is due.
    pub next_attempt: i64,
    /// Unix seconds until which a sender holds it.
    pub lease_until: Option<i64>,
    /// The last error.
    pub last_error: Option<String>,
    /// Sent again after a lease expired: the recipient may get it twice.
    pub possible_duplicate: bool,
    /// Approval it waits for.
    pub approval: Option<String>,
}

/// Outbox errors.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed.
    #[error("outbox database: {0}")]
    Db(#[from] rusqlite::Error),
    /// Stored data is not what this version writes.
    #[error("outbox data: {0}")]
    Corrupt(String),
}

/// What is left to do in an outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Jobs waiting for their first attempt.
    pub queued: usize,
    /// Jobs waiting for another attempt.
    pub retry_scheduled: usize,
    /// Jobs a sender holds (or held, until its lease runs out).
    pub sending: usize,
    /// Jobs waiting for an approval.
    pub blocked: usize,
    /// The earliest instant (Unix seconds) a queued, retrying or leased job
    /// becomes due; `None` when there is none.
    pub next_due: Option<i64>,
}

impl Backlog {
    /// Whether nothing can become due without outside action (new sends
    /// or approvals).
    pub fn is_idle(&self) -> bool {
        self.queued + self.retry_scheduled + self.sending == 0
    }

    /// Tallies jobs.
    pub fn of<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> Backlog {
        let mut b = Backlog::default();
        for j in jobs {
            // A leased job is taken over once its lease has run out (`lease_until < now`).
            let due = if j.state == JobState::Sending { j.lease_until.map(|l| l + 1) } else { Some(j.next_attempt) };
            b.add(j.state, 1, due);
        }
        b
    }

    /// Adds `count` jobs in `state`, the earliest due at `due`.
    fn add(&mut self, state: JobState, count: usize, due: Option<i64>) {
        let counter = match state {
            JobState::Queued => &mut self.queued,
            JobState::RetryScheduled => &mut self.retry_scheduled,
            JobState::Sending => &mut self.sending,
            JobState::Blocked => {
                self.blocked += count;
                return;
            }
            JobState::Sent | JobState::Failed | JobState::DeadLettered => return,
        };
        *counter += count;
        self.next_due = match (self.next_due, due) {
            (Some(a), Some(d)) => Some(a.min(d)),
            (a, d) => a.or(d),
        };
    }
}

/// A scheduled run to claim (see [`OutboxStore::claim_run`]).
#[derive(Debug, Clone, Copy)]
pub struct RunClaim<'a> {
    /// The run key (`<schedule id>@<instant>`).
    pub key: &'a str,
    /// What happened: `fired`, `needs_approval`, `refused`, `failed`.
    pub state: &'a str,
    /// Unix seconds of the claim.
    pub now: i64,
    /// The jobs the run queues.
    pub jobs: &'a [Job],
    /// The approval request they wait for, if any.
    pub approval: Option<&'a Approval>,
    /// The schedule id and the fingerprint of this run's recipient set: it
    /// becomes the schedule's baseline on its first run; a different one is
    /// kept pending until `approval` is approved.
    pub recipients: Option<(&'a str, &'a str)>,
    /// The signed request the jobs come from.
    pub request: Option<&'a SignedStatement>,
}

/// A job store.
pub trait OutboxStore {
    /// Adds jobs and, when they wait for one, their approval request, in
    /// one transaction (all or none); existing ids are left untouched.
    ///
    /// # Errors
    /// Storage errors.
    fn enqueue_gated(
        &mut self,
        jobs: &[Job],
        approval: Option<&Approval>,
        request: Option<&SignedStatement>,
    ) -> Result<usize, OutboxError>;
    /// Adds a planned send: its jobs, its approval request and the
    /// requester's signed statement, in one transaction.
    ///
    /// # Errors
    /// Storage errors.
    fn enqueue_plan(&mut self, plan: &crate::send::Plan) -> Result<usize, OutboxError> {
        self.enqueue_gated(&plan.jobs, plan.request.as_ref(), Some(&plan.statement))
    }
    /// Adds jobs without a signed request. Such jobs are kept (bounces link
    /// to them, status lists them) but never sent: every attempt checks the
    /// signed request first.
    ///
    /// # Errors
    /// Storage errors.
    fn enqueue(&mut self, jobs: &[Job]) -> Result<usize, OutboxError> {
        self.enqueue_gated(jobs, None, None)
    }
    /// The signed evidence a job is checked against before each attempt.
    ///
    /// # Errors
    /// Storage errors.
    fn evidence(&self, job: &Job) -> Result<crate::authorise::JobEvidence, OutboxError>;
    /// Leases up to `limit` due jobs until `now + lease_seconds`; jobs whose
    /// lease expired are taken again and flagged as possible duplicates.
    ///
    /// # Errors
    /// Storage errors.
    fn lease_due(&mut self, now: i64, lease_seconds: i64, limit: usize) -> Result<Vec<Job>, OutboxError>;
    /// Records the outcome of an attempt.
    ///
    /// # Errors
    /// Storage errors.
    fn record(&mut self, job: &Job) -> Result<(), OutboxError>;
    /// Every job, by id.
    ///
    /// # Errors
    /// Storage errors.
    fn jobs(&self) -> Result<Vec<Job>, OutboxError>;
    /// Releases the jobs waiting for `approval` into the queue.
    ///
    /// # Errors
    /// Storage errors.
    fn release(&mut self, approval: &str, now: i64) -> Result<usize, OutboxError>;
    /// Claims a scheduled run by its key, together with the jobs it queues,
    /// their approval request and the schedule's recipient baseline, in one
    /// transaction: `false` (and nothing changed) when the run was claimed
    /// before, so a run fires at most once even across restarts.
    ///
    /// # Errors
    /// Storage errors.
    fn claim_run(&mut self, claim: &RunClaim<'_>) -> Result<bool, OutboxError>;
    /// The fingerprint of a schedule's approved recipient set, once it has run.
    ///
    /// # Errors
    /// Storage errors.
    fn schedule_baseline(&self, schedule_id: &str) -> Result<Option<String>, OutboxError>;
    /// What is left to do. The default tallies [`OutboxStore::jobs`]; a
    /// store with an index should answer directly.
    ///
    /// # Errors
    /// Storage errors.
    fn backlog(&self) -> Result<Backlog, OutboxError> {
        Ok(Backlog::of(&self.jobs()?))
    }
}

/// The embedded SQLite store.
pub struct SqliteOutbox {
    conn: Connection,
}

const COLUMNS: &str = "id, message_id, recipient, subject, attachment, digest, role, state, attempts, first_attempt, next_attempt, lease_until, last_error, possible_duplicate, approval";

fn row_to_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Job, String)> {
    let state: String = r.get(7)?;
    Ok((
        Job {
            id: r.get(0)?,
            message_id: r.get(1)?,
            recipient: r.get(2)?,
            subject: r.get(3)?,
            attachment: r.get(4)?,
            digest: r.get(5)?,
            role: r.get(6)?,
            state: JobState::Queued,
            attempts: r.get(8)?,
            first_attempt: r.get(9)?,
            next_attempt: r.get(10)?,
            lease_until: r.get(11)?,
            last_error: r.get(12)?,
            possible_duplicate: r.get::<_, i64>(13)? != 0,
            approval: r.get(14)?,
        },
        state,
    ))
}

fn finish(rows: Vec<(Job, String)>) -> Result<Vec<Job>, OutboxError> {
    rows.into_iter()
        .map(|(mut j, s)| {
            j.state = JobState::parse(&s)?;
            Ok(j)
        })
        .collect()
}

impl SqliteOutbox {
    pub(crate) fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Opens (or creates) the outbox database at `path`, in WAL mode with
    /// full synchronous writes so a committed state survives a crash.
    ///
    /// # Errors
    /// When the database cannot be opened or created.
    pub fn open(path: &std::path::Path) -> Result<SqliteOutbox, OutboxError> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS jobs (
               id TEXT PRIMARY KEY,
               message_id TEXT NOT NULL,
               recipient TEXT NOT NULL,
               subject TEXT NOT NULL,
               attachment TEXT NOT NULL,
               digest TEXT NOT NULL,
               role TEXT NOT NULL,
               state TEXT NOT NULL,
               attempts INTEGER NOT NULL DEFAULT 0,
               first_attempt INTEGER,
               next_attempt INTEGER NOT NULL,
               lease_until INTEGER,
               last_error TEXT,
               possible_duplicate INTEGER NOT NULL DEFAULT 0,
               approval TEXT
             );
             CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_attempt);
             CREATE TABLE IF NOT EXISTS bounces (recipient TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
               job_id TEXT, recorded_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS suppressions (recipient TEXT PRIMARY KEY, since INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS schedule_recipients (
               schedule_id TEXT PRIMARY KEY,
               fingerprint TEXT NOT NULL,
               pending_fingerprint TEXT,
               pending_approval TEXT
             );
             CREATE TABLE IF NOT EXISTS send_requests (
               request_id TEXT PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS job_requests (job_id TEXT PRIMARY KEY, request_id TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS approval_statements (
               approval_id TEXT NOT NULL, approver_key_id TEXT NOT NULL, body TEXT NOT NULL, signature TEXT NOT NULL,
               PRIMARY KEY (approval_id, approver_key_id));
             CREATE TABLE IF NOT EXISTS schedule_runs (
               key TEXT PRIMARY KEY,
               state TEXT NOT NULL,
               claimed_at INTEGER NOT NULL
             );",
        )?;
        conn.execute_batch(crate::approval::SCHEMA)?;
        conn.execute_batch(crate::acceptance::SCHEMA)?;
        Ok(SqliteOutbox { conn })
    }
}

/// Stores a signed request and links each job to it.
fn insert_request(tx: &rusqlite::Transaction<'_>, jobs: &[Job], r: &SignedStatement) -> Result<(), OutboxError> {
    let body: serde_json::Value = serde_json::from_str(&r.body).map_err(|e| OutboxError::Corrupt(e.to_string()))?;
    let id = body["request_id"].as_str().ok_or_else(|| OutboxError::Corrupt("a request without request_id".into()))?;
    tx.execute("INSERT OR IGNORE INTO send_requests VALUES (?1, ?2, ?3)", params![id, r.body, r.signature])?;
    for j in jobs {
        tx.execute("INSERT OR IGNORE INTO job_requests VALUES (?1, ?2)", params![j.id, id])?;
    }
    Ok(())
}

/// Inserts a job unless its id exists; returns rows added.
fn insert_job(tx: &rusqlite::Transaction<'_>, j: &Job) -> Result<usize, OutboxError> {
    Ok(tx.execute(
        &format!("INSERT OR IGNORE INTO jobs ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"),
        params![
            j.id,
            j.message_id,
            j.recipient,
            j.subject,
            j.attachment,
            j.digest,
            j.role,
            j.state.as_str(),
            j.attempts,
            j.first_attempt,
            j.next_attempt,
            j.lease_until,
            j.last_error,
            i64::from(j.possible_duplicate),
            j.approval
        ],
    )?)
}

impl OutboxStore for SqliteOutbox {
    fn enqueue_gated(
        &mut self,
        jobs: &[Job],
        approval: Option<&Approval>,
        request: Option<&SignedStatement>,
    ) -> Result<usize, OutboxError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        for j in jobs {
            added += insert_job(&tx, j)?;
        }
        if let Some(a) = approval {
            crate::approval::insert(&tx, a)?;
        }
        if let Some(r) = request {
            insert_request(&tx, jobs, r)?;
        }
        tx.commit()?;
        Ok(added)
    }

    fn evidence(&self, job: &Job) -> Result<crate::authorise::JobEvidence, OutboxError> {
        let c = &self.conn;
        let request: Option<(String, String, String)> = c
            .query_row(
                "SELECT r.request_id, r.body, r.signature FROM job_requests j JOIN send_requests r USING (request_id)
                 WHERE j.job_id = ?1",
                params![job.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((request_id, body, signature)) = request else {
            return Ok(crate::authorise::JobEvidence::default());
        };
        let mut st = c.prepare(
            "SELECT jobs.recipient FROM job_requests JOIN jobs ON jobs.id = job_requests.job_id
             WHERE job_requests.request_id = ?1 ORDER BY jobs.recipient",
        )?;
        let recipients = st.query_map(params![request_id], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        let approvals = crate::approval::statements(c, &crate::send::approval_id(&job.digest, &recipients))?;
        Ok(crate::authorise::JobEvidence { request: Some(SignedStatement { body, signature }), recipients, approvals })
    }

    fn lease_due(&mut self, now: i64, lease_seconds: i64, limit: usize) -> Result<Vec<Job>, OutboxError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows = {
            let mut st = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM jobs
                 WHERE (state IN ('queued', 'retry_scheduled') AND next_attempt <= ?1)
                    OR (state = 'sending' AND lease_until < ?1)
                 ORDER BY next_attempt, id LIMIT ?2"
            ))?;
            let rows = st.query_map(params![now, limit as i64], row_to_job)?.collect::<Result<Vec<_>, _>>()?;
            rows
        };
        let mut jobs = finish(rows)?;
        for j in &mut jobs {
            if j.state == JobState::Sending {
                j.possible_duplicate = true;
            }
            j.state = JobState::Sending;
            j.lease_until = Some(now.saturating_add(lease_seconds));
            tx.execute(
                "UPDATE jobs SET state = 'sending', lease_until = ?2, possible_duplicate = ?3 WHERE id = ?1",
                params![j.id, j.lease_until, i64::from(j.possible_duplicate)],
            )?;
        }
        tx.commit()?;
        Ok(jobs)
    }

    fn record(&mut self, j: &Job) -> Result<(), OutboxError> {
        self.conn.execute(
            "UPDATE jobs SET state = ?2, attempts = ?3, first_attempt = ?4, next_attempt = ?5, lease_until = ?6,
               last_error = ?7, possible_duplicate = ?8 WHERE id = ?1",
            params![
                j.id,
                j.state.as_str(),
                j.attempts,
                j.first_attempt,
                j.next_attempt,
                j.lease_until,
                j.last_error,
                i64::from(j.possible_duplicate)
            ],
        )?;
        Ok(())
    }

    fn jobs(&self) -> Result<Vec<Job>, OutboxError> {
        let mut st = self.conn.prepare(&format!("SELECT {COLUMNS} FROM jobs ORDER BY id"))?;
        let rows = st.query_map([], row_to_job)?.collect::<Result<Vec<_>, _>>()?;
        finish(rows)
    }

    fn claim_run(&mut self, c: &RunClaim<'_>) -> Result<bool, OutboxError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claimed = tx.execute(
            "INSERT OR IGNORE INTO schedule_runs (key, state, claimed_at) VALUES (?1, ?2, ?3)",
            params![c.key, c.state, c.now],
        )? == 1;
        if claimed {
            for j in c.jobs {
                insert_job(&tx, j)?;
            }
            if let Some(a) = c.approval {
                crate::approval::insert(&tx, a)?;
            }
            if let Some(r) = c.request {
                insert_request(&tx, c.jobs, r)?;
            }
            if let Some((schedule, fingerprint)) = c.recipients {
                let baseline: Option<String> = tx
                    .query_row(
                        "SELECT fingerprint FROM schedule_recipients WHERE schedule_id = ?1",
                        params![schedule],
                        |r| r.get(0),
                    )
                    .optional()?;
                match baseline {
                    None => {
                        tx.execute(
                            "INSERT INTO schedule_recipients (schedule_id, fingerprint) VALUES (?1, ?2)",
                            params![schedule, fingerprint],
                        )?;
                    }
                    Some(b) if b != fingerprint => {
                        tx.execute(
                            "UPDATE schedule_recipients SET pending_fingerprint = ?2, pending_approval = ?3
                             WHERE schedule_id = ?1",
                            params![schedule, fingerprint, c.approval.map(|a| a.approval_id.as_str())],
                        )?;
                    }
                    Some(_) => {}
                }
            }
        }
        tx.commit()?;
        Ok(claimed)
    }

    fn schedule_baseline(&self, schedule_id: &str) -> Result<Option<String>, OutboxError> {
        Ok(self
            .conn
            .query_row(
                "SELECT fingerprint FROM schedule_recipients WHERE schedule_id = ?1",
                params![schedule_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn backlog(&self) -> Result<Backlog, OutboxError> {
        let mut st = self.conn.prepare(
            "SELECT state, COUNT(*), MIN(CASE state WHEN 'sending' THEN lease_until + 1 ELSE next_attempt END)
             FROM jobs WHERE state IN ('queued', 'retry_scheduled', 'sending', 'blocked') GROUP BY state",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut b = Backlog::default();
        for (state, count, due) in rows {
            b.add(JobState::parse(&state)?, usize::try_from(count).unwrap_or_default(), due);
        }
        Ok(b)
    }

    fn release(&mut self, approval: &str, now: i64) -> Result<usize, OutboxError> {
        Ok(self.conn.execute(
            "UPDATE jobs SET state = 'queued', next_attempt = ?2 WHERE state = 'blocked' AND approval = ?1",
            params![approval, now],
        )?)
    }
}

/// Looks one job up.
///
/// # Errors
/// Storage errors.
pub fn job(store: &SqliteOutbox, id: &str) -> Result<Option<Job>, OutboxError> {
    let row = store
        .conn
        .query_row(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), params![id], row_to_job)
        .optional()?;
    Ok(finish(row.into_iter().collect())?.pop())
}
