//! Approval requests: `pending → approved | rejected | needs_more_info`,
//! `needs_more_info → approved | rejected`, `approved → revoked` (while
//! jobs are still unsent), and `expired` once a pending request passes its
//! expiry. An approval covers exactly one attachment digest and recipient
//! set (its id is derived from them); approving releases the jobs that wait
//! for it, rejecting, revoking or expiring fails them.

use cavra_store::db::{Db, Row, Value};
use serde::{Deserialize, Serialize};

use crate::authorise::{valid_approvals, Covers};
use crate::config::{Config, Permission};
use crate::identity::{gate_free_text, Signer};
use crate::outbox::{OutboxError, SqliteOutbox};
use crate::statement::{recipient_set_digest, ApprovalStatement, SignedStatement, APPROVAL_FORMAT};

/// Approval states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting for a decision.
    Pending,
    /// Approved: its jobs are queued.
    Approved,
    /// Rejected: its jobs failed.
    Rejected,
    /// The approver asked for more information.
    NeedsMoreInfo,
    /// Passed its expiry without a decision.
    Expired,
    /// Withdrawn after approval; unsent jobs failed.
    Revoked,
}

impl ApprovalState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::NeedsMoreInfo => "needs_more_info",
            ApprovalState::Expired => "expired",
            ApprovalState::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Option<ApprovalState> {
        Some(match s {
            "pending" => ApprovalState::Pending,
            "approved" => ApprovalState::Approved,
            "rejected" => ApprovalState::Rejected,
            "needs_more_info" => ApprovalState::NeedsMoreInfo,
            "expired" => ApprovalState::Expired,
            "revoked" => ApprovalState::Revoked,
            _ => return None,
        })
    }
}

/// An approval request and its decision (the approval-decision vocabulary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// `appr-…`.
    pub approval_id: String,
    /// The attachment digest it covers.
    pub package_digest: String,
    /// Recipient domains (never addresses).
    pub recipient_domains: Vec<String>,
    /// How many recipients.
    pub recipient_count: usize,
    /// Principal that asked.
    pub requested_by_role: String,
    /// State.
    pub decision: ApprovalState,
    /// Principal whose decision changed the state last.
    pub decided_by_role: Option<String>,
    /// Unix seconds of the request.
    pub requested_at: i64,
    /// Unix seconds of the decision.
    pub decided_at: Option<i64>,
    /// Unix seconds after which a pending request expires.
    pub expires_at: i64,
    /// Reason given with the decision.
    pub reason: Option<String>,
}

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] OutboxError),
    /// No such request.
    #[error("no approval request `{0}`")]
    Unknown(String),
    /// The decider may not decide (no `approve` permission, the requester
    /// itself, a reason the gate refuses).
    #[error("refused: {0}")]
    Policy(String),
    /// Not allowed from the current state.
    #[error("approval `{id}` is {from}; it cannot become {to}")]
    Transition {
        /// Id.
        id: String,
        /// Current state.
        from: &'static str,
        /// Wanted state.
        to: &'static str,
    },
}

const COLUMNS: &str = "approval_id, package_digest, recipient_domains, recipient_count, requested_by_role, \
     decision, decided_by_role, requested_at, decided_at, expires_at, reason";

fn row(r: &Row) -> Result<Approval, OutboxError> {
    let domains = r.text(2)?;
    Ok(Approval {
        approval_id: r.text(0)?,
        package_digest: r.text(1)?,
        recipient_domains: domains.split(',').filter(|d| !d.is_empty()).map(str::to_string).collect(),
        recipient_count: usize::try_from(r.int(3)?).unwrap_or_default(),
        requested_by_role: r.text(4)?,
        decision: ApprovalState::parse(&r.text(5)?).unwrap_or(ApprovalState::Pending),
        decided_by_role: r.text_opt(6)?,
        requested_at: r.int(7)?,
        decided_at: r.int_opt(8)?,
        expires_at: r.int(9)?,
        reason: r.text_opt(10)?,
    })
}

/// Inserts a request unless its id exists (inside the caller's transaction).
pub(crate) fn insert(db: &mut dyn Db, a: &Approval) -> Result<u64, OutboxError> {
    Ok(db.exec(
        &format!(
            "INSERT INTO approvals ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) ON CONFLICT DO NOTHING"
        ),
        &[
            (&a.approval_id).into(),
            (&a.package_digest).into(),
            a.recipient_domains.join(",").as_str().into(),
            i64::try_from(a.recipient_count).unwrap_or(i64::MAX).into(),
            (&a.requested_by_role).into(),
            a.decision.as_str().into(),
            Value::text_opt(a.decided_by_role.as_deref()),
            a.requested_at.into(),
            Value::int_opt(a.decided_at),
            a.expires_at.into(),
            Value::text_opt(a.reason.as_deref()),
        ],
    )?)
}

impl SqliteOutbox {
    /// Records a new request (an existing id is left as it is).
    ///
    /// # Errors
    /// Storage errors.
    pub fn request_approval(&mut self, a: &Approval) -> Result<(), OutboxError> {
        self.with(|db| insert(db, a))?;
        Ok(())
    }

    /// Every request as stored, read only (nothing is expired; a report on
    /// the records must not change them), by request time then id.
    ///
    /// # Errors
    /// Storage errors.
    pub fn approval_requests(&self) -> Result<Vec<Approval>, OutboxError> {
        self.with(|db| {
            db.query(&format!("SELECT {COLUMNS} FROM approvals ORDER BY requested_at, approval_id"), &[])?
                .iter()
                .map(row)
                .collect()
        })
    }

    /// Every request, after expiring the pending ones past their expiry at `now`.
    ///
    /// # Errors
    /// Storage errors.
    pub fn approvals(&mut self, now: i64) -> Result<Vec<Approval>, OutboxError> {
        self.transaction(|db| {
            let expired = db.query(
                "SELECT approval_id FROM approvals WHERE decision = 'pending' AND expires_at < ?1 ORDER BY approval_id",
                &[now.into()],
            )?;
            for r in &expired {
                let id = r.text(0)?;
                db.exec(
                    "UPDATE approvals SET decision = 'expired', decided_at = ?2 WHERE approval_id = ?1",
                    &[id.as_str().into(), now.into()],
                )?;
                db.exec(
                    "UPDATE jobs SET state = 'failed', last_error = 'approval expired' WHERE state = 'blocked' AND approval = ?1",
                    &[id.as_str().into()],
                )?;
            }
            db.query(&format!("SELECT {COLUMNS} FROM approvals ORDER BY requested_at, approval_id"), &[])?
                .iter()
                .map(row)
                .collect()
        })
    }

    /// Decides a request as `signer`, who must hold the `approve`
    /// permission and must not be the requester. The decision is a signed
    /// [`ApprovalStatement`] stored with the request; approving queues the
    /// jobs once `recipients.external_approvers` distinct approvers have
    /// approved; rejecting or revoking fails the unsent ones. The jobs are
    /// checked against the signed statements again before every attempt, so
    /// the stored state is a convenience, not the authority.
    ///
    /// # Errors
    /// Unknown id, a signer without the permission or who asked for the
    /// send, a reason the safety gate refuses, or a transition the state
    /// machine does not allow.
    pub fn decide(
        &mut self,
        config: &Config,
        signer: &Signer,
        id: &str,
        to: ApprovalState,
        reason: Option<&str>,
        now: i64,
    ) -> Result<Decided, ApprovalError> {
        signer.require(config, Permission::Approve).map_err(|r| ApprovalError::Policy(r.problems.join("; ")))?;
        if let Some(r) = reason {
            gate_free_text(r).map_err(|why| ApprovalError::Policy(format!("the reason {why}")))?;
        }
        self.approvals(now)?;
        let current = self.with(|db| {
            let rows =
                db.query("SELECT decision, package_digest FROM approvals WHERE approval_id = ?1", &[id.into()])?;
            rows.first().map(|r| Ok((r.text(0)?, r.text(1)?))).transpose()
        })?;
        let (from, digest) = current
            .and_then(|(s, d)| ApprovalState::parse(&s).map(|s| (s, d)))
            .ok_or_else(|| ApprovalError::Unknown(id.into()))?;
        use ApprovalState::*;
        let allowed = matches!(
            (from, to),
            (Pending, Approved | Rejected | NeedsMoreInfo) | (NeedsMoreInfo, Approved | Rejected) | (Approved, Revoked)
        );
        if !allowed {
            return Err(ApprovalError::Transition { id: id.into(), from: from.as_str(), to: to.as_str() });
        }
        let (recipients, requesters) = self.with(|db| request_parties(db, id))?;
        if requesters.contains(&signer.key_id()) {
            return Err(ApprovalError::Policy(format!(
                "principal `{}` asked for this send and cannot decide its own request",
                signer.name()
            )));
        }
        let set_digest = recipient_set_digest(&recipients);
        let body = ApprovalStatement {
            format: APPROVAL_FORMAT.into(),
            approval_id: id.to_string(),
            package_digest: digest.clone(),
            recipient_set_digest: set_digest.clone(),
            decision: to,
            expires_at: now.saturating_add(i64::from(config.recipients.approval_ttl_hours) * 3600),
            approver_key_id: signer.key_id(),
            decided_at: now,
            reason: reason.map(str::to_string),
        };
        let signed = SignedStatement::sign(signer.key(), APPROVAL_FORMAT, &body)
            .map_err(|e| ApprovalError::Policy(format!("signing the decision: {e}")))?;
        let covers = Covers { id, package_digest: &digest, recipient_set_digest: &set_digest, requesters: &requesters };
        let needed = config.recipients.external_approvers as usize;
        let decided = self.transaction(|db| {
            db.exec(
                "INSERT INTO approval_statements (approval_id, approver_key_id, body, signature) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (approval_id, approver_key_id) DO UPDATE SET body = excluded.body, signature = excluded.signature",
                &[id.into(), (&body.approver_key_id).into(), (&signed.body).into(), (&signed.signature).into()],
            )?;
            // A standing rejection or revocation leaves nothing approved.
            let approvers = valid_approvals(config, &statements(db, id)?, covers, now).map_or(0, |a| a.len());
            let state = match to {
                Approved if approvers < needed => from,
                other => other,
            };
            let changed = if state == from { 0 } else { apply(db, id, state, signer.name(), reason, now)? };
            Ok(Decided { state, changed, approvers, needed })
        })?;
        Ok(decided)
    }
}

/// What [`SqliteOutbox::decide`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    /// The request's state afterwards.
    pub state: ApprovalState,
    /// Jobs whose state changed.
    pub changed: usize,
    /// Distinct valid approvals so far.
    pub approvers: usize,
    /// Approvals needed.
    pub needed: usize,
}

/// The sorted recipients of an approval's jobs and the key ids of the
/// principals who asked for them.
fn request_parties(db: &mut dyn Db, id: &str) -> Result<(Vec<String>, Vec<String>), OutboxError> {
    let recipients = db
        .query("SELECT recipient FROM jobs WHERE approval = ?1 ORDER BY recipient", &[id.into()])?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let requesters = db
        .query(
            "SELECT DISTINCT r.body, r.signature FROM jobs JOIN job_requests j ON j.job_id = jobs.id
             JOIN send_requests r ON r.request_id = j.request_id WHERE jobs.approval = ?1 ORDER BY r.body",
            &[id.into()],
        )?
        .iter()
        .map(|r| Ok(SignedStatement { body: r.text(0)?, signature: r.text(1)? }))
        .collect::<Result<Vec<_>, OutboxError>>()?
        .iter()
        .filter_map(SignedStatement::claimed_key_id)
        .collect();
    Ok((recipients, requesters))
}

/// The signed decisions stored for an approval id.
pub(crate) fn statements(db: &mut dyn Db, id: &str) -> Result<Vec<SignedStatement>, OutboxError> {
    db.query(
        "SELECT body, signature FROM approval_statements WHERE approval_id = ?1 ORDER BY approver_key_id",
        &[id.into()],
    )?
    .iter()
    .map(|r| Ok(SignedStatement { body: r.text(0)?, signature: r.text(1)? }))
    .collect()
}

/// Stores the new state and moves the jobs.
fn apply(
    tx: &mut dyn Db,
    id: &str,
    to: ApprovalState,
    by: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<usize, OutboxError> {
    use ApprovalState::*;
    tx.exec(
        "UPDATE approvals SET decision = ?2, decided_by_role = ?3, decided_at = ?4, reason = ?5 WHERE approval_id = ?1",
        &[id.into(), to.as_str().into(), by.into(), now.into(), Value::text_opt(reason)],
    )?;
    let moved = match to {
        Approved => {
            // A schedule's changed recipient set becomes its baseline once approved.
            tx.exec(
                "UPDATE schedule_recipients SET fingerprint = pending_fingerprint, pending_fingerprint = NULL,
                   pending_approval = NULL WHERE pending_approval = ?1",
                &[id.into()],
            )?;
            tx.exec(
                "UPDATE jobs SET state = 'queued', next_attempt = ?2 WHERE state = 'blocked' AND approval = ?1",
                &[id.into(), now.into()],
            )?
        }
        Rejected => tx.exec(
            "UPDATE jobs SET state = 'failed', last_error = 'approval rejected' WHERE state = 'blocked' AND approval = ?1",
            &[id.into()],
        )?,
        Revoked => tx.exec(
            "UPDATE jobs SET state = 'failed', last_error = 'approval revoked'
             WHERE state IN ('queued', 'retry_scheduled', 'blocked') AND approval = ?1",
            &[id.into()],
        )?,
        Pending | NeedsMoreInfo | Expired => 0,
    };
    Ok(usize::try_from(moved).unwrap_or(0))
}
