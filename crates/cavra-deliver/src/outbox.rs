//! The durable outbox: every message is written here before any network
//! call, one job per recipient, and moves through
//! `queued → sending → sent | retry_scheduled | failed | dead_lettered`
//! (`blocked` while it waits for an approval).
//!
//! A job is leased while it is being sent. A job found in `sending` after its
//! lease expired (the sender died mid-send) is sent again with the same
//! Message-ID and flagged as a possible duplicate, since the first attempt
//! may have reached the server. The store sits behind [`OutboxStore`];
//! [`Outbox`] keeps it in the report center's database — an embedded
//! SQLite file on one machine, or a PostgreSQL server that workers on
//! several processes and hosts share. There, a worker claims due jobs with
//! `SELECT … FOR UPDATE SKIP LOCKED` and a lease, so two workers never hold
//! the same job, and a job whose worker died is taken over once its lease
//! runs out.

use std::cell::RefCell;

use cavra_store::db::{Db, Dialect, Row, Value};
use cavra_store::migrate::Migration;

use crate::approval::Approval;
use crate::statement::SignedStatement;

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
    /// A notice composed when it is sent (`room-link:lnk-…`) instead of an
    /// attachment: its body holds what must never be stored, such as a
    /// signed link, and is remade from the records by a
    /// [`crate::send::Notices`] source at every attempt. `attachment` is
    /// then empty and `digest` is the digest of the notice's descriptor.
    pub notice: Option<String>,
}

/// Outbox errors.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed, or its schema is not this release's.
    #[error("outbox {0}")]
    Db(#[from] cavra_store::StoreError),
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

/// The outbox, in the report center's database (see the module docs).
pub struct Outbox {
    db: RefCell<Box<dyn Db>>,
}

/// The outbox under its former name: the embedded SQLite file is one of
/// [`Outbox`]'s two backends.
pub type SqliteOutbox = Outbox;

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("dialect", &self.dialect()).finish()
    }
}

const COLUMNS: &str = "id, message_id, recipient, subject, attachment, digest, role, state, attempts, first_attempt, next_attempt, lease_until, last_error, possible_duplicate, approval, notice";

fn job_of(r: &Row) -> Result<Job, OutboxError> {
    Ok(Job {
        id: r.text(0)?,
        message_id: r.text(1)?,
        recipient: r.text(2)?,
        subject: r.text(3)?,
        attachment: r.text(4)?,
        digest: r.text(5)?,
        role: r.text(6)?,
        state: JobState::parse(&r.text(7)?)?,
        attempts: u32::try_from(r.int(8)?).map_err(|_| OutboxError::Corrupt("a bad attempt count".into()))?,
        first_attempt: r.int_opt(9)?,
        next_attempt: r.int(10)?,
        lease_until: r.int_opt(11)?,
        last_error: r.text_opt(12)?,
        possible_duplicate: r.int(13)? != 0,
        approval: r.text_opt(14)?,
        notice: r.text_opt(15)?,
    })
}

fn jobs_of(rows: &[Row]) -> Result<Vec<Job>, OutboxError> {
    rows.iter().map(job_of).collect()
}

impl Outbox {
    /// Opens the embedded outbox file at `path`, creating it or bringing
    /// its schema up to date (an embedded file belongs to the one machine
    /// that opens it). A shared outbox is opened with [`Outbox::connect`].
    ///
    /// # Errors
    /// When the database cannot be opened, created or migrated.
    pub fn open(path: &std::path::Path) -> Result<Outbox, OutboxError> {
        let mut db: Box<dyn Db> = Box::new(cavra_store::db::SqliteDb::open(path)?);
        cavra_store::migrate_db(db.as_mut(), crate::schema::OUTBOX_MIGRATIONS)?;
        Ok(Outbox { db: RefCell::new(db) })
    }

    /// Connects to the outbox in the store database at `url` (`sqlite:PATH`
    /// or `postgres://…`). Its schema is never changed here: one that is
    /// behind this release is refused until `cavra store migrate` has run.
    ///
    /// # Errors
    /// Connection errors; a schema behind or ahead of this release.
    pub fn connect(url: &str) -> Result<Outbox, OutboxError> {
        Outbox::connect_with(url, None)
    }

    /// [`Outbox::connect`] with the PostgreSQL password given apart from the URL.
    ///
    /// # Errors
    /// As [`Outbox::connect`].
    pub fn connect_with(url: &str, password: Option<&str>) -> Result<Outbox, OutboxError> {
        let mut db = cavra_store::db::open_with(url, password)?;
        cavra_store::require_migrated(db.as_mut(), crate::schema::OUTBOX_MIGRATIONS)?;
        Ok(Outbox { db: RefCell::new(db) })
    }

    /// Claimed schedule runs: (run key, state, claimed at), by claim time then key.
    ///
    /// # Errors
    /// Database errors.
    pub fn schedule_runs(&self) -> Result<Vec<(String, String, i64)>, OutboxError> {
        self.with(|db| {
            db.query("SELECT key, state, claimed_at FROM schedule_runs ORDER BY claimed_at, key", &[])?
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?)))
                .collect()
        })
    }

    /// Recorded bounces: (recipient domain, kind, status, recorded at), in
    /// order. Only the domain of the recipient leaves the outbox.
    ///
    /// # Errors
    /// Database errors.
    pub fn bounces(&self) -> Result<Vec<(String, String, String, i64)>, OutboxError> {
        self.with(|db| {
            db.query("SELECT recipient, kind, status, recorded_at FROM bounces ORDER BY recorded_at, recipient", &[])?
                .iter()
                .map(|r| {
                    let recipient = r.text(0)?;
                    let domain = recipient.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
                    Ok((domain, r.text(1)?, r.text(2)?, r.int(3)?))
                })
                .collect()
        })
    }

    /// When each job's signed send request was made (Unix seconds, from the
    /// request's body), in one query: job id to instant.
    ///
    /// # Errors
    /// Database errors; a request body that is not JSON.
    pub fn request_times(&self) -> Result<std::collections::BTreeMap<String, i64>, OutboxError> {
        self.with(|db| {
            db.query(
                "SELECT j.job_id, r.body FROM job_requests j JOIN send_requests r ON r.request_id = j.request_id",
                &[],
            )?
            .iter()
            .map(|r| {
                let body: serde_json::Value =
                    serde_json::from_str(&r.text(1)?).map_err(|e| OutboxError::Corrupt(e.to_string()))?;
                Ok((r.text(0)?, body["requested_at"].as_i64().unwrap_or_default()))
            })
            .collect()
        })
    }

    /// Which database it is in.
    pub fn dialect(&self) -> Dialect {
        self.db.borrow().dialect()
    }

    /// Runs `f` on the database.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T, OutboxError>) -> Result<T, OutboxError> {
        let mut db = self.db.borrow_mut();
        f(db.as_mut())
    }

    /// Runs `f` in one transaction.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> Result<T, OutboxError>,
    ) -> Result<T, OutboxError> {
        cavra_store::db::transaction(self.db.borrow_mut().as_mut(), f)
    }
}

/// The migrations the outbox needs, for `store migrate`.
pub fn migrations() -> &'static [Migration] {
    crate::schema::OUTBOX_MIGRATIONS
}

/// Stores a signed request and links each job to it.
fn insert_request(db: &mut dyn Db, jobs: &[Job], r: &SignedStatement) -> Result<(), OutboxError> {
    let body: serde_json::Value = serde_json::from_str(&r.body).map_err(|e| OutboxError::Corrupt(e.to_string()))?;
    let id = body["request_id"].as_str().ok_or_else(|| OutboxError::Corrupt("a request without request_id".into()))?;
    db.exec(
        "INSERT INTO send_requests (request_id, body, signature) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        &[id.into(), (&r.body).into(), (&r.signature).into()],
    )?;
    for j in jobs {
        db.exec(
            "INSERT INTO job_requests (job_id, request_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &[(&j.id).into(), id.into()],
        )?;
    }
    Ok(())
}

/// A job's changing columns, in [`COLUMNS`] order (`state` to `possible_duplicate`).
fn progress(j: &Job) -> [Value; 7] {
    [
        j.state.as_str().into(),
        i64::from(j.attempts).into(),
        Value::int_opt(j.first_attempt),
        j.next_attempt.into(),
        Value::int_opt(j.lease_until),
        Value::text_opt(j.last_error.as_deref()),
        i64::from(j.possible_duplicate).into(),
    ]
}

/// Inserts a job unless its id exists; returns rows added.
fn insert_job(db: &mut dyn Db, j: &Job) -> Result<usize, OutboxError> {
    let n = db.exec(
        &format!(
            "INSERT INTO jobs ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16) ON CONFLICT DO NOTHING"
        ),
        &[
            (&j.id).into(),
            (&j.message_id).into(),
            (&j.recipient).into(),
            (&j.subject).into(),
            (&j.attachment).into(),
            (&j.digest).into(),
            (&j.role).into(),
        ]
        .into_iter()
        .chain(progress(j))
        .chain([Value::text_opt(j.approval.as_deref()), Value::text_opt(j.notice.as_deref())])
        .collect::<Vec<_>>(),
    )?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Records a schedule run's recipient set: the baseline on its first run, a
/// pending change (until `approval` is approved) when it differs.
fn note_recipients(
    db: &mut dyn Db,
    schedule: &str,
    fingerprint: &str,
    approval: Option<&str>,
) -> Result<(), OutboxError> {
    let baseline =
        db.query("SELECT fingerprint FROM schedule_recipients WHERE schedule_id = ?1", &[schedule.into()])?;
    match baseline.first().map(|r| r.text(0)).transpose()? {
        None => {
            db.exec(
                "INSERT INTO schedule_recipients (schedule_id, fingerprint) VALUES (?1, ?2)",
                &[schedule.into(), fingerprint.into()],
            )?;
        }
        Some(b) if b != fingerprint => {
            db.exec(
                "UPDATE schedule_recipients SET pending_fingerprint = ?2, pending_approval = ?3 WHERE schedule_id = ?1",
                &[schedule.into(), fingerprint.into(), Value::text_opt(approval)],
            )?;
        }
        Some(_) => {}
    }
    Ok(())
}

impl OutboxStore for Outbox {
    fn enqueue_gated(
        &mut self,
        jobs: &[Job],
        approval: Option<&Approval>,
        request: Option<&SignedStatement>,
    ) -> Result<usize, OutboxError> {
        self.transaction(|db| {
            let mut added = 0;
            for j in jobs {
                added += insert_job(db, j)?;
            }
            if let Some(a) = approval {
                crate::approval::insert(db, a)?;
            }
            if let Some(r) = request {
                insert_request(db, jobs, r)?;
            }
            Ok(added)
        })
    }

    fn evidence(&self, job: &Job) -> Result<crate::authorise::JobEvidence, OutboxError> {
        self.with(|db| {
            let request = db.query(
                "SELECT r.request_id, r.body, r.signature FROM job_requests j JOIN send_requests r ON r.request_id = j.request_id
                 WHERE j.job_id = ?1",
                &[(&job.id).into()],
            )?;
            let Some(r) = request.first() else {
                return Ok(crate::authorise::JobEvidence::default());
            };
            let (request_id, body, signature) = (r.text(0)?, r.text(1)?, r.text(2)?);
            let recipients = db
                .query(
                    "SELECT jobs.recipient FROM job_requests JOIN jobs ON jobs.id = job_requests.job_id
                     WHERE job_requests.request_id = ?1 ORDER BY jobs.recipient",
                    &[request_id.as_str().into()],
                )?
                .iter()
                .map(|r| r.text(0))
                .collect::<Result<Vec<_>, _>>()?;
            let approvals = crate::approval::statements(db, &crate::send::approval_id(&job.digest, &recipients))?;
            Ok(crate::authorise::JobEvidence { request: Some(SignedStatement { body, signature }), recipients, approvals })
        })
    }

    fn lease_due(&mut self, now: i64, lease_seconds: i64, limit: usize) -> Result<Vec<Job>, OutboxError> {
        // On PostgreSQL the rows are locked as they are chosen and rows
        // another worker holds are skipped; SQLite's write lock (taken at
        // BEGIN IMMEDIATE) serialises workers on one file.
        let lock = match self.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        self.transaction(|db| {
            let rows = db.query(
                &format!(
                    "SELECT {COLUMNS} FROM jobs
                     WHERE (state IN ('queued', 'retry_scheduled') AND next_attempt <= ?1)
                        OR (state = 'sending' AND lease_until < ?1)
                     ORDER BY next_attempt, id LIMIT ?2{lock}"
                ),
                &[now.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
            )?;
            let mut jobs = jobs_of(&rows)?;
            for j in &mut jobs {
                if j.state == JobState::Sending {
                    j.possible_duplicate = true;
                }
                j.state = JobState::Sending;
                j.lease_until = Some(now.saturating_add(lease_seconds));
                db.exec(
                    "UPDATE jobs SET state = 'sending', lease_until = ?2, possible_duplicate = ?3 WHERE id = ?1",
                    &[(&j.id).into(), Value::int_opt(j.lease_until), i64::from(j.possible_duplicate).into()],
                )?;
            }
            Ok(jobs)
        })
    }

    fn record(&mut self, j: &Job) -> Result<(), OutboxError> {
        self.with(|db| {
            db.exec(
                "UPDATE jobs SET state = ?2, attempts = ?3, first_attempt = ?4, next_attempt = ?5, lease_until = ?6,
                   last_error = ?7, possible_duplicate = ?8 WHERE id = ?1",
                &[(&j.id).into()].into_iter().chain(progress(j)).collect::<Vec<_>>(),
            )?;
            Ok(())
        })
    }

    fn jobs(&self) -> Result<Vec<Job>, OutboxError> {
        self.with(|db| jobs_of(&db.query(&format!("SELECT {COLUMNS} FROM jobs ORDER BY id"), &[])?))
    }

    fn claim_run(&mut self, c: &RunClaim<'_>) -> Result<bool, OutboxError> {
        self.transaction(|db| {
            let claimed = db.exec(
                "INSERT INTO schedule_runs (key, state, claimed_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                &[c.key.into(), c.state.into(), c.now.into()],
            )? == 1;
            if claimed {
                for j in c.jobs {
                    insert_job(db, j)?;
                }
                if let Some(a) = c.approval {
                    crate::approval::insert(db, a)?;
                }
                if let Some(r) = c.request {
                    insert_request(db, c.jobs, r)?;
                }
                if let Some((schedule, fingerprint)) = c.recipients {
                    note_recipients(db, schedule, fingerprint, c.approval.map(|a| a.approval_id.as_str()))?;
                }
            }
            Ok(claimed)
        })
    }

    fn schedule_baseline(&self, schedule_id: &str) -> Result<Option<String>, OutboxError> {
        self.with(|db| {
            let rows =
                db.query("SELECT fingerprint FROM schedule_recipients WHERE schedule_id = ?1", &[schedule_id.into()])?;
            Ok(rows.first().map(|r| r.text(0)).transpose()?)
        })
    }

    fn backlog(&self) -> Result<Backlog, OutboxError> {
        let rows = self.with(|db| {
            Ok(db.query(
                "SELECT state, COUNT(*), MIN(CASE state WHEN 'sending' THEN lease_until + 1 ELSE next_attempt END)
                 FROM jobs WHERE state IN ('queued', 'retry_scheduled', 'sending', 'blocked') GROUP BY state ORDER BY state",
                &[],
            )?)
        })?;
        let mut b = Backlog::default();
        for r in rows {
            b.add(JobState::parse(&r.text(0)?)?, usize::try_from(r.int(1)?).unwrap_or_default(), r.int_opt(2)?);
        }
        Ok(b)
    }

    fn release(&mut self, approval: &str, now: i64) -> Result<usize, OutboxError> {
        let n = self.with(|db| {
            Ok(db.exec(
                "UPDATE jobs SET state = 'queued', next_attempt = ?2 WHERE state = 'blocked' AND approval = ?1",
                &[approval.into(), now.into()],
            )?)
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

/// Looks one job up.
///
/// # Errors
/// Storage errors.
pub fn job(store: &Outbox, id: &str) -> Result<Option<Job>, OutboxError> {
    store.with(|db| Ok(jobs_of(&db.query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), &[id.into()])?)?.pop()))
}
