//! Audit evidence for the commands that make or list reports (`render`,
//! `digest`, `package`, `catalog`): with `--audit-log` and `--audit-key`,
//! each artifact written becomes a `rendered` event carrying its digest, and
//! a failed run becomes one `failed` event naming the kind of failure.
//! Delivery commands append their own events (see `deliver`).

use std::path::PathBuf;

use anyhow::Result;
use cavra_deliver::audit::{AuditEvent, AuditLog, AuditStatus};
use cavra_render::Written;
use clap::Args;

/// Where audit events go.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Append audit events to this log (hash-chained, signed checkpoints).
    #[arg(long, value_name = "FILE.jsonl", requires = "audit_key")]
    pub audit_log: Option<PathBuf>,
    /// minisign secret key for audit checkpoints, by reference: `file:PATH` or `env:NAME`.
    #[arg(long, value_name = "REF", requires = "audit_log")]
    pub audit_key: Option<String>,
}

impl AuditArgs {
    /// Opens the log when one was asked for, with a signed checkpoint every `every` records.
    pub fn open(&self, every: u64) -> Result<Option<AuditLog>> {
        match (&self.audit_log, &self.audit_key) {
            (Some(path), Some(key)) => {
                let text = crate::commands::secret_ref(key, "--audit-key")?;
                let key = cavra_render::signed::SigningKey::from_secret_key_text(&text, None)?;
                Ok(Some(AuditLog::open(path, key, every)?))
            }
            _ => Ok(None),
        }
    }
}

/// Audit options of the report-making commands: the log and the role recorded.
#[derive(Debug, Args)]
pub struct ActionAudit {
    #[command(flatten)]
    pub log: AuditArgs,
    /// Role recorded in the audit events.
    #[arg(long, value_name = "ROLE", default_value = "operator", requires = "audit_log")]
    pub audit_role: String,
}

/// A signed checkpoint every this many records, as in `cavra.toml`'s default.
const CHECKPOINT_EVERY: u64 = 100;

/// A short, public-safe description of a failure: its class, never the
/// message (which may quote input).
fn failure_class(err: &anyhow::Error) -> String {
    let code = crate::commands::exit_code(err);
    let class = match code {
        3 => "invalid input or setup file",
        4 => "refused by the safety gate or policy",
        5 => "verification failed",
        2 => "usage error",
        _ => "I/O or internal failure",
    };
    format!("{class} (exit {code})")
}

/// Runs `work` and records its outcome under `action`: one `rendered`
/// event per artifact (digest and file name), or one `failed` event. The
/// log is opened first, so a bad log or key fails before any work.
pub fn audited(audit: &ActionAudit, action: &str, work: impl FnOnce() -> Result<Vec<Written>>) -> Result<()> {
    let mut log = audit.log.open(CHECKPOINT_EVERY)?;
    let outcome = work();
    if let Some(log) = log.as_mut() {
        let (at, role) = (crate::deliver::now().1, audit.audit_role.clone());
        let event = |status, digest: Option<String>, detail: String| AuditEvent {
            at: at.clone(),
            action: action.to_string(),
            status,
            role: role.clone(),
            recipients: None,
            approval: None,
            retry: None,
            digest,
            detail: Some(detail),
        };
        match &outcome {
            Ok(written) => {
                for w in written {
                    log.append(&event(AuditStatus::Rendered, Some(format!("sha256:{}", w.sha256)), w.name.clone()))?;
                }
                if written.is_empty() {
                    log.append(&event(AuditStatus::Accepted, None, "listed".into()))?;
                }
            }
            Err(err) => {
                log.append(&event(AuditStatus::Failed, None, failure_class(err)))?;
            }
        }
    }
    outcome.map(|_| ())
}
