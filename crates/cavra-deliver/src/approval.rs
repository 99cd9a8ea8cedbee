//! Approval requests: `pending → approved | rejected | needs_more_info`,
//! `needs_more_info → approved | rejected`, `approved → revoked` (while
//! jobs are still unsent), and `expired` once a pending request passes its
//! expiry. An approval covers exactly one attachment digest and recipient
//! set (its id is derived from them); approving releases the jobs that wait
//! for it, rejecting, revoking or expiring fails them.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::outbox::{OutboxError, SqliteOutbox};

/// Approval states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Role that asked.
    pub requested_by_role: String,
    /// State.
    pub decision: ApprovalState,
    /// Role that decided.
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

    /// Decides a request. Approving queues its jobs; rejecting, revoking
    /// fails the unsent ones.
    ///
    /// # Errors
    /// Unknown id, or a transition the state machine does not allow.
    pub fn decide(
        &mut self,
        id: &str,
        to: ApprovalState,
        role: &str,
        reason: Option<&str>,
        now: i64,
    ) -> Result<usize, ApprovalError> {
        self.approvals(now)?;
        let c = self.connection();
        let current: Option<String> = c
            .query_row("SELECT decision FROM approvals WHERE approval_id = ?1", params![id], |r| r.get(0))
            .optional()
            .map_err(OutboxError::from)?;
        let from = current.and_then(|s| ApprovalState::parse(&s)).ok_or_else(|| ApprovalError::Unknown(id.into()))?;
        use ApprovalState::*;
        let allowed = matches!(
            (from, to),
            (Pending, Approved | Rejected | NeedsMoreInfo) | (NeedsMoreInfo, Approved | Rejected) | (Approved, Revoked)
        );
        if !allowed {
            return Err(ApprovalError::Transition { id: id.into(), from: from.as_str(), to: to.as_str() });
        }
        let tx = c.transaction().map_err(OutboxError::from)?;
        tx.execute(
            "UPDATE approvals SET decision = ?2, decided_by_role = ?3, decided_at = ?4, reason = ?5 WHERE approval_id = ?1",
            params![id, to.as_str(), role, now, reason],
        )
        .map_err(OutboxError::from)?;
        let changed = match to {
            Approved => {
                // A schedule's changed recipient set becomes its baseline once approved.
                tx.execute(
                    "UPDATE schedule_recipients SET fingerprint = pending_fingerprint, pending_fingerprint = NULL,
                       pending_approval = NULL WHERE pending_approval = ?1",
                    params![id],
                )
                .map_err(OutboxError::from)?;
                tx.execute(
                    "UPDATE jobs SET state = 'queued', next_attempt = ?2 WHERE state = 'blocked' AND approval = ?1",
                    params![id, now],
                )
            }
            Rejected => tx.execute(
                "UPDATE jobs SET state = 'failed', last_error = 'approval rejected' WHERE state = 'blocked' AND approval = ?1",
                params![id],
            ),
            Revoked => tx.execute(
                "UPDATE jobs SET state = 'failed', last_error = 'approval revoked'
                 WHERE state IN ('queued', 'retry_scheduled', 'blocked') AND approval = ?1",
                params![id],
            ),
            Pending | NeedsMoreInfo | Expired => Ok(0),
        }
        .map_err(OutboxError::from)?;
        tx.commit().map_err(OutboxError::from)?;
        Ok(changed)
    }
}
