//! Policy acceptance: the setup file's recipient policy, roles and
//! principals are what every other check trusts, so a change to them is
//! itself an act that needs a role. `policy accept` records, in the outbox,
//! a statement signed by a principal that holds `manage_policy` — or, when
//! only `[[schedules]]` changed, `schedule` — over the sha256 of the setup
//! file, chained to the previously accepted one. The signer must hold that
//! permission both in the accepted file and in the one accepted before it,
//! so nobody can grant themselves a role by editing the file. The delivery
//! commands refuse to act under a setup file that was not accepted.
//!
//! The first acceptance of an outbox is trust on first use: it is checked
//! against the file it accepts. Keep the audit log (which records every
//! acceptance) to show who accepted what, and when.
//!
//! ```
//! use cavra_deliver::acceptance::{accept, check};
//! use cavra_deliver::config::Config;
//! use cavra_deliver::identity::Signer;
//! use cavra_deliver::outbox::SqliteOutbox;
//! use cavra_render::signed::SigningKey;
//! let admin = SigningKey::generate().unwrap();
//! let text = format!(
//!     "[roles.admin]\npermissions = [\"manage_policy\"]\n[principals.admin]\npublic_key = \"{}\"\nroles = [\"admin\"]\n",
//!     admin.public_key().base64()
//! );
//! let config = Config::from_toml(&text).unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = SqliteOutbox::open(&dir.path().join("outbox.db")).unwrap();
//! assert!(check(&mut store, &text, &config).is_err(), "not accepted yet");
//! let signer = Signer::authenticate(&config, admin).unwrap();
//! accept(&mut store, &text, &config, &signer, 1_800_000_000).unwrap();
//! assert!(check(&mut store, &text, &config).is_ok());
//! ```

use serde::{Deserialize, Serialize};

use crate::config::{Config, Permission};
use crate::identity::Signer;
use crate::outbox::{OutboxError, SqliteOutbox};
use crate::statement::SignedStatement;

/// Format of an acceptance statement.
pub const ACCEPTANCE_FORMAT: &str = "cavra.policy_acceptance.v1";

/// What changed since the previous acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeScope {
    /// The first acceptance of this outbox.
    Initial,
    /// Only `[[schedules]]` differ (needs `schedule`).
    Schedules,
    /// Anything else: policy, roles, principals, transport (needs `manage_policy`).
    Policy,
}

impl ChangeScope {
    /// The permission a change of this scope needs.
    pub fn permission(self) -> Permission {
        match self {
            ChangeScope::Schedules => Permission::Schedule,
            ChangeScope::Initial | ChangeScope::Policy => Permission::ManagePolicy,
        }
    }
}

/// The JSON Schema of the acceptance statement's body, generated from
/// [`AcceptanceStatement`].
pub fn json_schema() -> String {
    cavra_model::schema::publish::<AcceptanceStatement>("policy_acceptance.v1.schema.json", ACCEPTANCE_FORMAT)
}

/// The signed body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceStatement {
    /// [`ACCEPTANCE_FORMAT`].
    pub format: String,
    /// `sha256:` of the accepted setup file's bytes.
    pub config_digest: String,
    /// The digest accepted before, if any.
    pub previous_digest: Option<String>,
    /// What changed.
    pub scope: ChangeScope,
    /// The accepting principal's key id.
    pub accepted_by_key_id: String,
    /// Unix seconds.
    pub accepted_at: i64,
}

/// Why a setup file is not (or cannot be) accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptanceError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] OutboxError),
    /// Refused: not accepted, or the signer lacks the permission.
    #[error("{0}")]
    Refused(String),
}

struct Accepted {
    digest: String,
    text: String,
    statement: SignedStatement,
}

fn latest(store: &SqliteOutbox) -> Result<Option<Accepted>, OutboxError> {
    store.with(|db| {
        let rows = db.query(
            "SELECT config_digest, config_text, body, signature FROM policy_acceptances ORDER BY seq DESC LIMIT 1",
            &[],
        )?;
        rows.first()
            .map(|r| {
                Ok(Accepted {
                    digest: r.text(0)?,
                    text: r.text(1)?,
                    statement: SignedStatement { body: r.text(2)?, signature: r.text(3)? },
                })
            })
            .transpose()
    })
}

fn previous(store: &SqliteOutbox, digest: &str) -> Result<Option<String>, OutboxError> {
    store.with(|db| {
        let rows = db.query(
            "SELECT config_text FROM policy_acceptances WHERE config_digest = ?1 ORDER BY seq DESC LIMIT 1",
            &[digest.into()],
        )?;
        Ok(rows.first().map(|r| r.text(0)).transpose()?)
    })
}

fn scope(previous: Option<&Config>, next: &Config) -> ChangeScope {
    match previous {
        None => ChangeScope::Initial,
        Some(p) => {
            let (mut a, mut b) = (p.clone(), next.clone());
            a.schedules.clear();
            b.schedules.clear();
            if a == b {
                ChangeScope::Schedules
            } else {
                ChangeScope::Policy
            }
        }
    }
}

/// Whether the principal with `key_id` holds `permission` under `config`.
fn holds(config: &Config, key_id: &str, permission: Permission) -> bool {
    config.principal_key(key_id).is_some_and(|(_, k)| config.key_allows(k, permission))
}

/// Records `signer`'s acceptance of the setup file `text` (already parsed
/// as `config`).
///
/// # Errors
/// The signer lacks the permission the change needs, here or in the file
/// accepted before; or storage.
pub fn accept(
    store: &mut SqliteOutbox,
    text: &str,
    config: &Config,
    signer: &Signer,
    now: i64,
) -> Result<AcceptanceStatement, AcceptanceError> {
    let head = latest(store)?;
    let digest = cavra_package::manifest::sha256_tagged(text.as_bytes());
    let prev = head
        .as_ref()
        .map(|h| {
            Config::from_toml(&h.text)
                .map_err(|e| AcceptanceError::Refused(format!("the accepted setup file no longer parses: {e}")))
        })
        .transpose()?;
    let scope = scope(prev.as_ref(), config);
    let needed = scope.permission();
    let key_id = signer.key_id();
    if !holds(config, &key_id, needed) || prev.as_ref().is_some_and(|p| !holds(p, &key_id, needed)) {
        return Err(AcceptanceError::Refused(format!(
            "principal `{}` needs `{}` in this setup file and in the one accepted before it",
            signer.name(),
            needed.as_str()
        )));
    }
    let body = AcceptanceStatement {
        format: ACCEPTANCE_FORMAT.into(),
        config_digest: digest.clone(),
        previous_digest: head.as_ref().map(|h| h.digest.clone()),
        scope,
        accepted_by_key_id: key_id,
        accepted_at: now,
    };
    let signed = SignedStatement::sign(signer.key(), ACCEPTANCE_FORMAT, &body)
        .map_err(|e| AcceptanceError::Refused(format!("signing the acceptance: {e}")))?;
    store.with(|db| {
        db.exec(
            "INSERT INTO policy_acceptances (config_digest, config_text, body, signature) VALUES (?1, ?2, ?3, ?4)",
            &[digest.as_str().into(), text.into(), (&signed.body).into(), (&signed.signature).into()],
        )?;
        Ok(())
    })?;
    Ok(body)
}

/// Checks that the setup file `text` is the latest accepted one, by a
/// signature that verifies with a principal holding the needed permission
/// in it and in the file accepted before it.
///
/// # Errors
/// Why the delivery commands must not act under this file.
pub fn check(store: &mut SqliteOutbox, text: &str, config: &Config) -> Result<(), AcceptanceError> {
    let digest = cavra_package::manifest::sha256_tagged(text.as_bytes());
    let refused = |why: String| Err(AcceptanceError::Refused(why));
    let Some(head) = latest(store)? else {
        return refused("this setup file has not been accepted for this outbox: run `cavra-reports policy accept --as <principal with manage_policy>`".into());
    };
    if head.digest != digest || head.text != text {
        return refused(format!(
            "the setup file changed since it was accepted ({digest}, accepted {}): run `cavra-reports policy accept`",
            head.digest
        ));
    }
    let key_id = head.statement.claimed_key_id().unwrap_or_default();
    let Some((_, key)) = config.principal_key(&key_id) else {
        return refused("the acceptance was signed by a key that is not a principal".into());
    };
    let body: AcceptanceStatement = head
        .statement
        .open(key, ACCEPTANCE_FORMAT)
        .map_err(|e| AcceptanceError::Refused(format!("the acceptance: {e}")))?;
    if body.config_digest != digest {
        return refused("the acceptance covers another setup file".into());
    }
    let prev = match &body.previous_digest {
        Some(d) => match previous(store, d)? {
            Some(t) if cavra_package::manifest::sha256_tagged(t.as_bytes()) == *d => {
                Some(Config::from_toml(&t).map_err(|e| AcceptanceError::Refused(e.to_string()))?)
            }
            _ => return refused("the setup file accepted before is missing or altered".into()),
        },
        None => None,
    };
    if scope(prev.as_ref(), config) != body.scope {
        return refused("the acceptance's scope does not match the change".into());
    }
    let needed = body.scope.permission();
    if !holds(config, &key_id, needed) || prev.as_ref().is_some_and(|p| !holds(p, &key_id, needed)) {
        return refused(format!("the acceptance was signed by a principal without `{}`", needed.as_str()));
    }
    Ok(())
}
