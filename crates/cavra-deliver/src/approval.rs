//! Approval requests: `pending → approved | rejected | needs_more_info`,
//! `needs_more_info → approved | rejected`, `approved → revoked` (while
//! jobs are still unsent), and `expired` once a pending request passes its
//! expiry. An approval covers exactly one attachment digest and recipient
//! set (its id is derived from them); approving releases the jobs that wait
//! for it, rejecting, revoking or expiring fails them.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::authorise::{valid_approvals, Covers};
use crate::config::{Config, Permission};
use crate::identity::{gate_free_text, Signer};
use crate::outbox::{OutboxError, SqliteOutbox};
use crate::statement::{recipient_set_digest, ApprovalStatement, SignedStatement, APPROVAL_FORMAT};

/// Approval states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS approvals (
  approval_id TEXT PRIMARY KEY, package_digest TEXT NOT NULL, recipient_domains TEXT NOT NULL,
  recipient_count INTEGER NOT NULL, requested_by_role TEXT NOT NULL, decision TEXT NOT NULL,
  decided_by_role TEXT, requested_at INTEGER NOT NULL, decided_at INTEGER, expires_at INTEGER NOT NULL, reason TEXT);";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Approval> {
    let domains: String = r.get(2)?;
    let decision: String = r.get(5)?;
    Ok(Approval {
        approval_id: r.get(0)?,
        package_digest: r.get(1)?,
        recipient_domains: domains.split(',').filter(|d| !d.is_empty()).map(str::to_string).collect(),
        recipient_count: r.get::<_, i64>(3)? as usize,
        requested_by_role: r.get(4)?,
        decision: ApprovalState::parse(&decision).unwrap_or(ApprovalState::Pending),
        decided_by_role: r.get(6)?,
        requested_at: r.get(7)?,
        decided_at: r.get(8)?,
        expires_at: r.get(9)?,
        reason: r.get(10)?,
    })
}

/// Inserts a request unless its id exists (inside the caller's transaction).
pub(crate) fn insert(c: &rusqlite::Connection, a: &Approval) -> rusqlite::Result<usize> {
    c.execute(
        "INSERT OR IGNORE INTO approvals VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
        params![
            a.approval_id,
            a.package_digest,
            a.recipient_domains.join(","),
            a.recipient_count as i64,
            a.requested_by_role,
            a.decision.as_str(),
            a.decided_by_role,
            a.requested_at,
            a.decided_at,
            a.expires_at,
            a.reason
        ],
    )
}

impl SqliteOutbox {
    /// Records a new request (an existing id is left as it is).
    ///
    /// # Errors
    /// Storage errors.
    pub fn request_approval(&mut self, a: &Approval) -> Result<(), OutboxError> {
        insert(self.connection(), a)?;
        Ok(())
    }

    /// Every request, after expiring the pending ones past their expiry at `now`.
    ///
    /// # Errors
    /// Storage errors.
    pub fn approvals(&mut self, now: i64) -> Result<Vec<Approval>, OutboxError> {
        let c = self.connection();
        let expired: Vec<String> = {
            let mut st =
                c.prepare("SELECT approval_id FROM approvals WHERE decision = 'pending' AND expires_at < ?1")?;
            let ids = st.query_map(params![now], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            ids
        };
        for id in expired {
            c.execute(
                "UPDATE approvals SET decision = 'expired', decided_at = ?2 WHERE approval_id = ?1",
                params![id, now],
            )?;
            c.execute(
                "UPDATE jobs SET state = 'failed', last_error = 'approval expired' WHERE state = 'blocked' AND approval = ?1",
                params![id],
            )?;
        }
        let mut st = c.prepare("SELECT * FROM approvals ORDER BY requested_at, approval_id")?;
        let all = st.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(all)
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
        let c = self.connection();
        let current: Option<(String, String)> = c
            .query_row("SELECT decision, package_digest FROM approvals WHERE approval_id = ?1", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(OutboxError::from)?;
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
        let (recipients, requesters) = request_parties(c, id)?;
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
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(OutboxError::from)?;
        tx.execute(
            "INSERT OR REPLACE INTO approval_statements VALUES (?1, ?2, ?3, ?4)",
            params![id, body.approver_key_id, signed.body, signed.signature],
        )
        .map_err(OutboxError::from)?;
        let covers = Covers { id, package_digest: &digest, recipient_set_digest: &set_digest, requesters: &requesters };
        // A standing rejection or revocation leaves nothing approved.
        let approvers = valid_approvals(config, &statements(&tx, id)?, covers, now).map_or(0, |a| a.len());
        let needed = config.recipients.external_approvers as usize;
        let state = match to {
            Approved if approvers < needed => from,
            other => other,
        };
        let changed = if state == from { 0 } else { apply(&tx, id, state, signer.name(), reason, now)? };
        tx.commit().map_err(OutboxError::from)?;
        Ok(Decided { state, changed, approvers, needed })
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
fn request_parties(c: &rusqlite::Connection, id: &str) -> Result<(Vec<String>, Vec<String>), OutboxError> {
    let mut st = c.prepare("SELECT recipient FROM jobs WHERE approval = ?1 ORDER BY recipient")?;
    let recipients = st.query_map(params![id], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
    let mut st = c.prepare(
        "SELECT DISTINCT r.body, r.signature FROM jobs JOIN job_requests j ON j.job_id = jobs.id
         JOIN send_requests r ON r.request_id = j.request_id WHERE jobs.approval = ?1",
    )?;
    let requesters = st
        .query_map(params![id], |r| Ok(SignedStatement { body: r.get(0)?, signature: r.get(1)? }))?
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .filter_map(SignedStatement::claimed_key_id)
        .collect();
    Ok((recipients, requesters))
}

/// The signed decisions stored for an approval id.
pub(crate) fn statements(c: &rusqlite::Connection, id: &str) -> Result<Vec<SignedStatement>, OutboxError> {
    let mut st =
        c.prepare("SELECT body, signature FROM approval_statements WHERE approval_id = ?1 ORDER BY approver_key_id")?;
    let all = st
        .query_map(params![id], |r| Ok(SignedStatement { body: r.get(0)?, signature: r.get(1)? }))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(all)
}

/// Stores the new state and moves the jobs.
fn apply(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    to: ApprovalState,
    by: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<usize, OutboxError> {
    use ApprovalState::*;
    tx.execute(
        "UPDATE approvals SET decision = ?2, decided_by_role = ?3, decided_at = ?4, reason = ?5 WHERE approval_id = ?1",
        params![id, to.as_str(), by, now, reason],
    )?;
    Ok(match to {
        Approved => {
            // A schedule's changed recipient set becomes its baseline once approved.
            tx.execute(
                "UPDATE schedule_recipients SET fingerprint = pending_fingerprint, pending_fingerprint = NULL,
                   pending_approval = NULL WHERE pending_approval = ?1",
                params![id],
            )?;
            tx.execute(
                "UPDATE jobs SET state = 'queued', next_attempt = ?2 WHERE state = 'blocked' AND approval = ?1",
                params![id, now],
            )?
        }
        Rejected => tx.execute(
            "UPDATE jobs SET state = 'failed', last_error = 'approval rejected' WHERE state = 'blocked' AND approval = ?1",
            params![id],
        )?,
        Revoked => tx.execute(
            "UPDATE jobs SET state = 'failed', last_error = 'approval revoked'
             WHERE state IN ('queued', 'retry_scheduled', 'blocked') AND approval = ?1",
            params![id],
        )?,
        Pending | NeedsMoreInfo | Expired => 0,
    })
}
