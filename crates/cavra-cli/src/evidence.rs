//! Audit evidence and principals for the commands.
//!
//! `--as file:PATH|env:NAME` names the principal a command acts as: its
//! minisign secret key, whose public half `cavra.toml` maps to roles. The
//! report-making commands (`render`, `digest`, `package`, `catalog`) take
//! `--config` and `--as` together: with them, the principal must hold the
//! `render` permission and is recorded in the audit events; without them
//! the run is unattributed (no setup file, no roles to check).
//!
//! With `--audit-log` and `--audit-key`, each artifact written becomes a
//! `rendered` event carrying its digest, and a failed run one `failed`
//! event naming the class of failure. Delivery commands append their own
//! events (see `deliver`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use cavra_deliver::audit::{AuditAction, AuditEvent, AuditLog, AuditStatus};
use cavra_deliver::config::{Config, Permission};
use cavra_deliver::identity::Signer;
use cavra_render::signed::SigningKey;
use cavra_render::Written;
use clap::Args;

/// Where audit events go.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Append audit events to this log (every record signed and hash-chained).
    #[arg(long, value_name = "FILE.jsonl", requires = "audit_key")]
    pub audit_log: Option<PathBuf>,
    /// minisign secret key that signs the audit records, by reference: `file:PATH` or `env:NAME`.
    #[arg(long, value_name = "REF", requires = "audit_log")]
    pub audit_key: Option<String>,
}

impl AuditArgs {
    /// Opens the log when one was asked for, verifying it first (an append
    /// to a log that does not verify is refused).
    pub fn open(&self) -> Result<Option<AuditLog>> {
        match (&self.audit_log, &self.audit_key) {
            (Some(path), Some(key)) => Ok(Some(AuditLog::open(path, load_key(key, None, "--audit-key")?)?)),
            _ => Ok(None),
        }
    }
}

/// Reads a minisign secret key given by reference, with an optional password reference.
pub fn load_key(reference: &str, password: Option<&str>, what: &str) -> Result<SigningKey> {
    let text = crate::commands::secret_ref(reference, what)?;
    let password = password
        .map(|r| crate::commands::secret_ref(r, &format!("{what}-password")))
        .transpose()?
        .map(|p| p.trim_end_matches(['\n', '\r']).to_string());
    SigningKey::from_secret_key_text(&text, password).with_context(|| what.to_string())
}

/// The principal a delivery command acts as (required).
#[derive(Debug, Args)]
pub struct AsPrincipal {
    /// The principal's minisign secret key, by reference: `file:PATH` or `env:NAME`.
    #[arg(long = "as", value_name = "REF", required = true)]
    pub key: String,
    /// Password of an encrypted principal key, by reference.
    #[arg(long = "as-password", value_name = "REF")]
    pub password: Option<String>,
}

impl AsPrincipal {
    /// Authenticates the key against the setup file's principals.
    pub fn signer(&self, config: &Config) -> Result<Signer> {
        let key = load_key(&self.key, self.password.as_deref(), "--as")?;
        Ok(Signer::authenticate(config, key)?)
    }
}

/// Options of the report-making commands: who acts, and the audit log.
#[derive(Debug, Args)]
pub struct ActionAudit {
    #[command(flatten)]
    pub log: AuditArgs,
    /// The setup file whose principals and roles apply (with --as).
    #[arg(long, value_name = "cavra.toml", requires = "as_key")]
    pub config: Option<PathBuf>,
    /// The principal's minisign secret key (needs the `render` permission), by reference.
    #[arg(long = "as", value_name = "REF", requires = "config")]
    pub as_key: Option<String>,
    /// Password of an encrypted principal key, by reference.
    #[arg(long = "as-password", value_name = "REF", requires = "as_key")]
    pub as_password: Option<String>,
}

impl ActionAudit {
    /// The acting principal, checked for `render`, when one is given.
    fn signer(&self) -> Result<Option<Signer>> {
        let (Some(config), Some(key)) = (&self.config, &self.as_key) else { return Ok(None) };
        let config = Config::load(config)?;
        let signer = AsPrincipal { key: key.clone(), password: self.as_password.clone() }.signer(&config)?;
        signer.require(&config, Permission::Render)?;
        Ok(Some(signer))
    }
}

/// A short, public-safe description of a failure: its class, never the
/// message (which may quote input).
pub fn failure_class(err: &anyhow::Error) -> String {
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

/// Passes `result` on; when it is an error, first appends `refusal` to the
/// log (if one is open), with the failure's class as its detail.
pub fn recorded<T>(log: &mut Option<AuditLog>, refusal: AuditEvent, result: Result<T>) -> Result<T> {
    if let (Err(e), Some(l)) = (&result, log.as_mut()) {
        l.append(&refusal.detail(failure_class(e)))?;
    }
    result
}

/// Runs `work` and records its outcome under `action`: one `rendered`
/// event per artifact (digest and file name), or one `failed` event. The
/// principal and the log are checked first, so a refused principal, a bad
/// log or key fails before any work.
pub fn audited(audit: &ActionAudit, action: AuditAction, work: impl FnOnce() -> Result<Vec<Written>>) -> Result<()> {
    let mut log = audit.log.open()?;
    let refusal = AuditEvent::new(&crate::deliver::now().1, action, AuditStatus::BlockedPolicy);
    let signer = recorded(&mut log, refusal, audit.signer())?;
    let outcome = work();
    if let Some(log) = log.as_mut() {
        let at = crate::deliver::now().1;
        let actor = signer.as_ref().map(Signer::actor);
        let event = |status| AuditEvent::new(&at, action, status).by(actor.clone());
        match &outcome {
            Ok(written) => {
                for w in written {
                    log.append(
                        &event(AuditStatus::Rendered).digest(&format!("sha256:{}", w.sha256)).evidence(&w.name),
                    )?;
                }
                if written.is_empty() {
                    log.append(&event(AuditStatus::Accepted).detail("listed"))?;
                }
            }
            Err(err) => {
                log.append(&event(AuditStatus::Failed).detail(failure_class(err)))?;
            }
        }
    }
    outcome.map(|_| ())
}
