//! `[store]` and `[retention]`: where the report center keeps its records,
//! and for how long.
//!
//! ```toml
//! [store]
//! url = "sqlite:records/store.db"          # or postgres://cavra@db.internal:5432/cavra
//! blobs = "records/blobs"                  # default: <database file stem>.blobs beside an SQLite file
//! password = "env:CAVRA_STORE_PASSWORD"    # PostgreSQL only, by reference
//!
//! [retention.classes.governance_record]
//! days = 365
//!
//! [retention.classes.audit_record]
//! days = 2555
//! deletion_approval = true
//!
//! [retention.kinds]
//! board_pack = "governance_record"         # rendered reports of a kind; default governance_record
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{bad, is_reference, ConfigError};

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `sqlite:PATH` or `postgres://user@host:port/database` (no password in it).
    pub url: Option<String>,
    /// The blob folder.
    pub blobs: Option<PathBuf>,
    /// The PostgreSQL password, by reference.
    pub password: Option<String>,
}

/// One `[retention.classes.<name>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionClassEntry {
    /// Days kept after the snapshot's `as_of`; absent: never expires by age.
    pub days: Option<u32>,
    /// Whether deleting an expired item needs a signed approval.
    #[serde(default)]
    pub deletion_approval: bool,
}

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Classes over the built-in four (operational_record 90 days,
    /// governance_record 365, audit_record 2,555 with deletion approval,
    /// legal_hold never).
    #[serde(default)]
    pub classes: BTreeMap<String, RetentionClassEntry>,
    /// The class a rendered report of each kind gets (default `governance_record`).
    #[serde(default)]
    pub kinds: BTreeMap<String, String>,
}

/// `[rooms]`: the evidence-room service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RoomsSection {
    /// The key that signs room links, by reference (at least 32 bytes).
    pub link_key: Option<String>,
    /// The service's public address, for the links `room invite` prints (`https://rooms.example`).
    pub public_url: Option<String>,
    /// The terms a room created with `--terms` shows, as a file path.
    pub terms_file: Option<PathBuf>,
    /// Failed attempts a source or a room may make in a minute (default 10).
    pub max_failures_per_minute: Option<usize>,
    /// A PEM certificate chain: with `tls_key`, the service speaks TLS itself.
    pub tls_certificate: Option<PathBuf>,
    /// The certificate's PEM private key, by reference (`file:PATH` or `env:NAME`).
    pub tls_key: Option<String>,
}

/// The classifications a role may be allowed to retrieve.
pub const CLASSIFICATIONS: &[&str] = &["public", "internal", "confidential"];

/// The default class of a rendered report.
pub const DEFAULT_REPORT_CLASS: &str = "governance_record";

/// Longest retention the setup file accepts (a century).
const MAX_DAYS: u32 = 36_525;

impl super::Config {
    /// The retention policy: the built-in classes with `[retention.classes]` over them.
    pub fn retention_policy(&self) -> cavra_store::retention::RetentionPolicy {
        let mut policy = cavra_store::retention::RetentionPolicy::default();
        for (name, c) in &self.retention.classes {
            policy.classes.insert(
                name.clone(),
                cavra_store::retention::ClassRule { days: c.days, deletion_approval: c.deletion_approval },
            );
        }
        policy
    }

    /// The retention class of a rendered report of `kind`.
    pub fn report_class(&self, kind: &str) -> String {
        self.retention.kinds.get(kind).cloned().unwrap_or_else(|| DEFAULT_REPORT_CLASS.to_string())
    }

    /// Whether `role` may retrieve items of `classification`.
    pub fn role_reads(&self, role: &str, classification: &str) -> bool {
        self.roles.get(role).is_some_and(|r| r.classifications.iter().any(|c| c == classification))
    }

    pub(super) fn validate_records(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.store.url {
            cavra_store::db::Location::parse(url).map_err(|e| bad("store.url", e.to_string()))?;
            if has_password(url) {
                return Err(bad("store.url", "a password in the URL is refused; give store.password as a reference"));
            }
        }
        if let Some(k) = &self.rooms.link_key {
            if !is_reference(k) {
                return Err(bad(
                    "rooms.link_key",
                    "a literal value is refused here; give a reference (env:NAME or file:PATH)",
                ));
            }
        }
        if let Some(k) = &self.rooms.tls_key {
            if !is_reference(k) {
                return Err(bad(
                    "rooms.tls_key",
                    "a literal value is refused here; give a reference (env:NAME or file:PATH)",
                ));
            }
        }
        if self.rooms.tls_key.is_some() != self.rooms.tls_certificate.is_some() {
            return Err(bad("rooms.tls_certificate", "give tls_certificate and tls_key together"));
        }
        if let Some(u) = &self.rooms.public_url {
            if !(u.starts_with("https://") || u.starts_with("http://127.0.0.1") || u.starts_with("http://localhost")) {
                return Err(bad("rooms.public_url", "links are served over https (plain http only on loopback)"));
            }
        }
        if let Some(p) = &self.store.password {
            if !is_reference(p) {
                return Err(bad(
                    "store.password",
                    "a literal value is refused here; give a reference (env:NAME or file:PATH)",
                ));
            }
        }
        for (name, c) in &self.retention.classes {
            let key = format!("retention.classes.{name}");
            if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_') {
                return Err(bad(&key, "a class name is lower-case letters, digits and `_`"));
            }
            if c.days.is_some_and(|d| d == 0 || d > MAX_DAYS) {
                return Err(bad(&format!("{key}.days"), format!("between 1 and {MAX_DAYS}")));
            }
        }
        let policy = self.retention_policy();
        for (kind, class) in &self.retention.kinds {
            if kind.parse::<cavra_model::ReportKind>().is_err() {
                return Err(bad(&format!("retention.kinds.{kind}"), "not a report kind"));
            }
            policy.class(class).map_err(|e| bad(&format!("retention.kinds.{kind}"), e))?;
        }
        for (name, role) in &self.roles {
            for c in &role.classifications {
                if !CLASSIFICATIONS.contains(&c.as_str()) {
                    return Err(bad(
                        &format!("roles.{name}.classifications"),
                        format!("`{c}` is not one of {}", CLASSIFICATIONS.join(", ")),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether a `postgres://user:password@…` URL carries a password.
pub fn has_password(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else { return false };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':')) || url.contains("password=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_store_urls_are_found() {
        assert!(has_password("postgres://cavra:secret@db/cavra"));
        assert!(has_password("postgres://cavra@db/cavra?password=secret"));
        assert!(!has_password("postgres://cavra@db:5432/cavra"));
        assert!(!has_password("sqlite:records/store.db"));
    }
}
