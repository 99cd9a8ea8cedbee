//! The report center's response records: alerts, remediation plans,
//! incident closures and exception lifecycle events.
//!
//! Every change is an event appended to one ledger in the record store
//! (component `response`), never an edit: a [`ResponseStatement`] of
//! canonical JSON, signed by the acting principal's key (a detached
//! minisign signature whose trusted comment names the body's digest, as
//! for approval decisions), numbered, and linked to the previous event of
//! the same subject by that event's digest. The state of an alert, a plan,
//! an incident or an exception is the fold of its events ([`fold`]); an
//! event that does not verify against its principal's key, is out of
//! sequence or breaks its subject's chain stops every reader.
//!
//! - [`alerts`]: rules over the operations snapshot, evaluation (raise,
//!   dedupe, escalate), routing through the delivery outbox, and the alert
//!   notices composed at send time;
//! - [`workflows`]: acknowledge, suppress, resolve; remediation plans,
//!   tasks and closure; incident closure; exception renewal, revocation,
//!   expiry and closure.

use cavra_deliver::config::Config;
use cavra_deliver::identity::Signer;
use cavra_deliver::statement::SignedStatement;
use cavra_model::Timestamp;
use cavra_store::db::Value;
use cavra_store::migrate::Migration;
use cavra_store::Store;
use serde::{Deserialize, Serialize};

pub mod alerts;
pub mod fold;
pub mod notices;
pub mod workflows;

pub use fold::{
    AlertState, AlertStatus, ExceptionState, ExceptionStatus, IncidentState, Ledger, PlanState, PlanStatus,
};
pub use notices::AlertNotices;

/// The JSON Schema of a ledger event's signed statement, generated from
/// [`ResponseStatement`].
pub fn json_schema() -> String {
    cavra_model::schema::publish::<ResponseStatement>("response_event.v1.schema.json", RESPONSE_FORMAT)
}

/// The signed statement's format.
pub const RESPONSE_FORMAT: &str = "cavra.response_event.v1";

/// The ledger's migrations.
pub const RESPONSE_MIGRATIONS: &[Migration] = &[Migration {
    component: "response",
    version: 1,
    name: "the response ledger: alerts, remediation, incidents and exceptions",
    sqlite: "CREATE TABLE response_events (
  seq INTEGER PRIMARY KEY, subject TEXT NOT NULL, at INTEGER NOT NULL, actor_key_id TEXT NOT NULL,
  body TEXT NOT NULL, signature TEXT NOT NULL);
CREATE INDEX response_events_subject ON response_events (subject, seq);",
    postgres: "CREATE TABLE response_events (
  seq BIGINT PRIMARY KEY, subject TEXT NOT NULL, at BIGINT NOT NULL, actor_key_id TEXT NOT NULL,
  body TEXT NOT NULL, signature TEXT NOT NULL);
CREATE INDEX response_events_subject ON response_events (subject, seq);",
}];

/// Why a response action or a ledger read failed.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The store failed.
    #[error("the record store: {0}")]
    Store(#[from] cavra_store::StoreError),
    /// The principal may not do this, or the setup file refuses it.
    #[error("refused: {0}")]
    Refused(String),
    /// The action does not fit the subject's state (acknowledging a
    /// resolved alert, closing a plan with open tasks…).
    #[error("{0}")]
    State(String),
    /// No such alert, plan, incident or exception.
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored event does not verify: the ledger was changed outside the tool.
    #[error("the response ledger does not verify at event {seq}: {reason}")]
    Tampered {
        /// The event's sequence number.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// A value given (a reference, a text, a time) is refused.
    #[error("{0}")]
    Invalid(String),
    /// A text the safety gate refuses (an address, a secret, a control character).
    #[error("{0}")]
    Unsafe(String),
}

/// A residual-risk level accepted at closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Nothing remains.
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl RiskLevel {
    /// The recorded name.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

impl std::str::FromStr for RiskLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(RiskLevel::None),
            "low" => Ok(RiskLevel::Low),
            "medium" => Ok(RiskLevel::Medium),
            "high" => Ok(RiskLevel::High),
            other => Err(format!("unknown risk level `{other}` (none, low, medium, high)")),
        }
    }
}

/// A delivery job an alert was routed to: class and domain only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutedJob {
    /// The outbox job.
    pub job_id: String,
    /// The recipient's class under the recipient policy.
    pub recipient_class: String,
    /// The recipient's domain.
    pub recipient_domain: String,
}

/// One task of a remediation plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTask {
    /// `T1`, `T2`… in plan order.
    pub task_id: String,
    /// What is to be done.
    pub title: String,
    /// The role that owns it.
    pub owner_role: String,
    /// When it is due.
    pub due_at: Timestamp,
    /// Whether its completion needs a principal with `approve`.
    pub approval_required: bool,
}

/// What happened to a subject: the body of one ledger event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseEvent {
    /// A rule fired with no open alert for its key.
    AlertRaised {
        /// The rule.
        rule_id: String,
        /// What it watches (`measure_breached`…).
        signal: String,
        /// What the alert is about (a measure, a room, a job, an approval).
        dedupe_key: String,
        /// What was observed.
        observed: String,
        /// What the rule holds it to.
        objective: String,
    },
    /// Notices of the alert's current level were queued.
    AlertRouted {
        /// The level routed.
        level: u32,
        /// The jobs queued.
        jobs: Vec<RoutedJob>,
    },
    /// The alert went up a level, unacknowledged past its rule's interval.
    AlertEscalated {
        /// The level before.
        from_level: u32,
        /// The level now.
        to_level: u32,
    },
    /// A principal took the alert on: no further escalation.
    AlertAcknowledged {
        /// A short note (gated).
        note: Option<String>,
    },
    /// Routing and escalation paused until `until`.
    AlertSuppressed {
        /// The end of the suppression.
        until: Timestamp,
        /// Why (gated).
        reason: String,
    },
    /// The alert is closed.
    AlertResolved {
        /// Why (gated).
        reason: String,
    },
    /// A plan for an alert.
    RemediationPlanned {
        /// The alert.
        alert_id: String,
        /// The incident it belongs to, if any.
        incident_ref: Option<String>,
        /// The tasks.
        tasks: Vec<PlannedTask>,
        /// What must hold to close it.
        closure_criteria: Vec<String>,
        /// Controls to change.
        control_updates: Vec<String>,
        /// Who must be told.
        communications: Vec<String>,
    },
    /// A task was completed.
    TaskDone {
        /// The task.
        task_id: String,
        /// Evidence of completion (`sha256:…` or a store item id).
        evidence_ref: Option<String>,
    },
    /// The plan was closed and its residual risk accepted by the signer.
    RemediationClosed {
        /// The tasks completed.
        completed_tasks: Vec<String>,
        /// The residual risk accepted.
        residual_risk: RiskLevel,
        /// The post-incident review's outcome (gated).
        review_outcome: String,
        /// Whether the communications were made (gated).
        communications_status: String,
    },
    /// An incident was closed, its closure approved by the signer.
    IncidentClosed {
        /// When the incident was opened.
        opened_at: Timestamp,
        /// Its severity (`low`, `medium`, `high`, `critical`).
        severity: String,
        /// The remediation plans that closed it.
        remediation_refs: Vec<String>,
        /// Lessons learned (gated).
        lessons_learned: Vec<String>,
        /// Follow-up tasks (gated).
        follow_up_tasks: Vec<String>,
        /// The digest of the incident packet, if one was made.
        packet_digest: Option<String>,
        /// The digest of the closure manifest, if one was made.
        manifest_digest: Option<String>,
    },
    /// An exception was renewed until `until`.
    ExceptionRenewed {
        /// The new expiry.
        until: Timestamp,
        /// Why (gated).
        reason: String,
    },
    /// An exception was revoked before its expiry.
    ExceptionRevoked {
        /// Why (gated).
        reason: String,
    },
    /// An exception reached its expiry.
    ExceptionExpired {},
    /// An exception was closed: the control it excused now holds.
    ExceptionClosed {
        /// Why (gated).
        reason: String,
    },
}

impl ResponseEvent {
    /// The event's name (`alert_raised`…).
    pub fn name(&self) -> &'static str {
        match self {
            ResponseEvent::AlertRaised { .. } => "alert_raised",
            ResponseEvent::AlertRouted { .. } => "alert_routed",
            ResponseEvent::AlertEscalated { .. } => "alert_escalated",
            ResponseEvent::AlertAcknowledged { .. } => "alert_acknowledged",
            ResponseEvent::AlertSuppressed { .. } => "alert_suppressed",
            ResponseEvent::AlertResolved { .. } => "alert_resolved",
            ResponseEvent::RemediationPlanned { .. } => "remediation_planned",
            ResponseEvent::TaskDone { .. } => "task_done",
            ResponseEvent::RemediationClosed { .. } => "remediation_closed",
            ResponseEvent::IncidentClosed { .. } => "incident_closed",
            ResponseEvent::ExceptionRenewed { .. } => "exception_renewed",
            ResponseEvent::ExceptionRevoked { .. } => "exception_revoked",
            ResponseEvent::ExceptionExpired {} => "exception_expired",
            ResponseEvent::ExceptionClosed { .. } => "exception_closed",
        }
    }

    /// Every free text the event carries, for the safety gate.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            ResponseEvent::AlertRaised { observed, objective, dedupe_key, .. } => {
                vec![observed, objective, dedupe_key]
            }
            ResponseEvent::AlertAcknowledged { note } => note.iter().map(String::as_str).collect(),
            ResponseEvent::AlertSuppressed { reason, .. }
            | ResponseEvent::AlertResolved { reason }
            | ResponseEvent::ExceptionRenewed { reason, .. }
            | ResponseEvent::ExceptionRevoked { reason }
            | ResponseEvent::ExceptionClosed { reason } => vec![reason],
            ResponseEvent::RemediationPlanned { tasks, closure_criteria, control_updates, communications, .. } => tasks
                .iter()
                .flat_map(|t| [t.title.as_str(), t.owner_role.as_str()])
                .chain(closure_criteria.iter().chain(control_updates).chain(communications).map(String::as_str))
                .collect(),
            ResponseEvent::RemediationClosed { review_outcome, communications_status, .. } => {
                vec![review_outcome, communications_status]
            }
            ResponseEvent::IncidentClosed { lessons_learned, follow_up_tasks, .. } => {
                lessons_learned.iter().chain(follow_up_tasks).map(String::as_str).collect()
            }
            ResponseEvent::AlertRouted { .. }
            | ResponseEvent::AlertEscalated { .. }
            | ResponseEvent::TaskDone { .. }
            | ResponseEvent::ExceptionExpired {} => Vec::new(),
        }
    }
}

/// The signed body of a ledger event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseStatement {
    /// Always `cavra.response_event.v1`.
    pub format: String,
    /// The event's number in the ledger (from 1, without gaps).
    pub seq: u64,
    /// `alt-…`, `rem-…`, `inc:REF` or `exc:REF`.
    pub subject: String,
    /// When.
    pub at: Timestamp,
    /// The acting principal's key id.
    pub actor_key_id: String,
    /// The digest of the subject's previous event's body (none for its first).
    pub previous: Option<String>,
    /// What happened.
    pub event: ResponseEvent,
}

/// A verified ledger event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The statement.
    pub statement: ResponseStatement,
    /// `sha256:` of its canonical body: what the audit log records.
    pub digest: String,
}

/// Checks a reference given on the command line (an incident or exception
/// id of the activity snapshot): 1 to 64 letters, digits, `.`, `_`, `-`.
///
/// ```
/// assert!(cavra_ops::response::check_ref("INC-2026-041").is_ok());
/// assert!(cavra_ops::response::check_ref("a b").is_err());
/// ```
///
/// # Errors
/// [`ResponseError::Invalid`].
pub fn check_ref(r: &str) -> Result<(), ResponseError> {
    let ok = !r.is_empty() && r.len() <= 64 && r.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ResponseError::Invalid(format!("`{r}`: a reference is 1 to 64 letters, digits, `.`, `_` or `-`")))
    }
}

fn gate(event: &ResponseEvent) -> Result<(), ResponseError> {
    for t in event.texts() {
        if t.chars().count() > 2000 {
            return Err(ResponseError::Invalid("a text is longer than 2,000 characters".into()));
        }
        cavra_deliver::identity::gate_free_text(t).map_err(|why| ResponseError::Unsafe(format!("a text {why}")))?;
    }
    Ok(())
}

/// Appends one event for `subject`, signed by `signer`: numbered after the
/// last, linked to the subject's previous event. The caller has checked
/// that the event fits the subject's state (see [`workflows`]).
///
/// # Errors
/// A text the gate refuses; the store.
pub fn append(
    store: &mut Store,
    signer: &Signer,
    subject: &str,
    event: ResponseEvent,
    now: i64,
) -> Result<Recorded, ResponseError> {
    gate(&event)?;
    store.require(RESPONSE_MIGRATIONS)?;
    let at = Timestamp::from_unix_seconds(now).map_err(ResponseError::Invalid)?;
    let signed = cavra_store::db::transaction(store.db(), |db| {
        let rows = db.query("SELECT COALESCE(MAX(seq), 0) FROM response_events", &[])?;
        let last = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
        let previous = db
            .query("SELECT body FROM response_events WHERE subject = ?1 ORDER BY seq DESC LIMIT 1", &[subject.into()])?
            .first()
            .map(|r| r.text(0))
            .transpose()?
            .map(|b| cavra_package::manifest::sha256_tagged(b.as_bytes()));
        let statement = ResponseStatement {
            format: RESPONSE_FORMAT.into(),
            seq: u64::try_from(last).unwrap_or(0) + 1,
            subject: subject.to_string(),
            at,
            actor_key_id: signer.key_id(),
            previous,
            event,
        };
        let signed = SignedStatement::sign(signer.key(), RESPONSE_FORMAT, &statement)
            .map_err(|e| ResponseError::Refused(format!("signing the event: {e}")))?;
        db.exec(
            "INSERT INTO response_events (seq, subject, at, actor_key_id, body, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                Value::Int(i64::try_from(statement.seq).unwrap_or(i64::MAX)),
                subject.into(),
                Value::Int(now),
                (&statement.actor_key_id).into(),
                (&signed.body).into(),
                (&signed.signature).into(),
            ],
        )?;
        Ok::<_, ResponseError>((statement, signed))
    })?;
    let (statement, signed) = signed;
    let digest = cavra_package::manifest::sha256_tagged(signed.body.as_bytes());
    Ok(Recorded { statement, digest })
}

/// The number of the ledger's last event (0 when it has none or was never created).
///
/// # Errors
/// The store.
pub fn last_seq(store: &mut Store) -> Result<u64, ResponseError> {
    if store.require(RESPONSE_MIGRATIONS).is_err() {
        return Ok(0);
    }
    let rows = store.db().query("SELECT COALESCE(MAX(seq), 0) FROM response_events", &[])?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

/// Reads and verifies the whole ledger: every signature against its
/// principal's key in `config`, the numbering, and each subject's chain.
/// A store whose ledger was never created has no events; any other failure
/// to read it is an error, never an empty ledger.
///
/// # Errors
/// [`ResponseError::Tampered`] at the first event that does not verify.
pub fn read(store: &mut Store, config: &Config) -> Result<Vec<Recorded>, ResponseError> {
    match store.require(RESPONSE_MIGRATIONS) {
        Ok(()) => {}
        // Never created: no response work was ever recorded here.
        Err(cavra_store::StoreError::NotMigrated { found: 0, .. }) => return Ok(Vec::new()),
        // Anything else (a database error, a schema ahead) is not an empty ledger.
        Err(e) => return Err(e.into()),
    }
    let rows = store.db().query("SELECT seq, actor_key_id, body, signature FROM response_events ORDER BY seq", &[])?;
    let mut out: Vec<Recorded> = Vec::with_capacity(rows.len());
    let mut heads: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for r in rows {
        let seq = u64::try_from(r.int(0)?).unwrap_or(0);
        let bad = |reason: String| ResponseError::Tampered { seq, reason };
        let key_id = r.text(1)?;
        let signed = SignedStatement { body: r.text(2)?, signature: r.text(3)? };
        let (_, key) = config
            .principal_key(&key_id)
            .ok_or_else(|| bad(format!("signed by key {key_id}, which is not a principal of the setup file")))?;
        let statement: ResponseStatement = signed.open(key, RESPONSE_FORMAT).map_err(bad)?;
        if statement.seq != seq || statement.seq != out.len() as u64 + 1 {
            return Err(bad("the events are not numbered in order".into()));
        }
        if statement.actor_key_id != key_id {
            return Err(bad("the statement names another principal than its row".into()));
        }
        if statement.previous.as_ref() != heads.get(&statement.subject) {
            return Err(bad(format!("{} does not follow its previous event", statement.subject)));
        }
        let digest = cavra_package::manifest::sha256_tagged(signed.body.as_bytes());
        heads.insert(statement.subject.clone(), digest.clone());
        out.push(Recorded { statement, digest });
    }
    Ok(out)
}
