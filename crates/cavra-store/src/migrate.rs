//! Versioned schema migrations. Each component (the store, the delivery
//! outbox) numbers its migrations from 1; a database records which it has
//! applied in `cavra_schema`. Migrations run only when asked
//! (`cavra store migrate`): a store or worker that finds its schema behind
//! refuses to start and says so, and one that finds it ahead (written by a
//! newer release) refuses too.

/// One schema change, in each backend's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The component it belongs to (`store`, `outbox`).
    pub component: &'static str,
    /// Its number within the component, from 1, without gaps.
    pub version: u32,
    /// What it does, in a few words.
    pub name: &'static str,
    /// The SQLite statements (empty: nothing to do on SQLite).
    pub sqlite: &'static str,
    /// The PostgreSQL statements.
    pub postgres: &'static str,
}

/// The table that records applied migrations (the same on both backends).
pub(crate) const SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS cavra_schema (
  component TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (component, version))";

/// The store's migrations.
pub const STORE_MIGRATIONS: &[Migration] = &[Migration {
    component: "store",
    version: 1,
    name: "items, tombstones, retention approvals, store events",
    sqlite: "CREATE TABLE items (
  id TEXT PRIMARY KEY, tenant_ref TEXT NOT NULL, kind TEXT NOT NULL, format TEXT NOT NULL, name TEXT NOT NULL,
  report_id TEXT, package TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL, classification TEXT NOT NULL,
  retention_class TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER,
  hold_reason TEXT, hold_since INTEGER, hold_by TEXT, state TEXT NOT NULL);
CREATE INDEX items_order ON items (created_at, id);
CREATE INDEX items_tenant ON items (tenant_ref, created_at, id);
CREATE INDEX items_digest ON items (sha256);
CREATE INDEX items_package ON items (package);
CREATE TABLE tombstones (
  item_id TEXT PRIMARY KEY, tenant_ref TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  retention_class TEXT NOT NULL, expired_at INTEGER NOT NULL, deleted_at INTEGER NOT NULL, approval TEXT);
CREATE TABLE retention_approvals (
  id TEXT PRIMARY KEY, item_id TEXT NOT NULL, action TEXT NOT NULL, approver_key_id TEXT NOT NULL,
  body TEXT NOT NULL, signature TEXT NOT NULL);
CREATE INDEX retention_approvals_item ON retention_approvals (item_id, action);
CREATE TABLE store_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL,
  item_id TEXT, tenant_ref TEXT, actor_key_id TEXT, detail TEXT);
CREATE INDEX store_events_item ON store_events (item_id, seq);",
    postgres: "CREATE TABLE items (
  id TEXT PRIMARY KEY, tenant_ref TEXT NOT NULL, kind TEXT NOT NULL, format TEXT NOT NULL, name TEXT NOT NULL,
  report_id TEXT, package TEXT, sha256 TEXT NOT NULL, size BIGINT NOT NULL, classification TEXT NOT NULL,
  retention_class TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT,
  hold_reason TEXT, hold_since BIGINT, hold_by TEXT, state TEXT NOT NULL);
CREATE INDEX items_order ON items (created_at, id);
CREATE INDEX items_tenant ON items (tenant_ref, created_at, id);
CREATE INDEX items_digest ON items (sha256);
CREATE INDEX items_package ON items (package);
CREATE TABLE tombstones (
  item_id TEXT PRIMARY KEY, tenant_ref TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL,
  retention_class TEXT NOT NULL, expired_at BIGINT NOT NULL, deleted_at BIGINT NOT NULL, approval TEXT);
CREATE TABLE retention_approvals (
  id TEXT PRIMARY KEY, item_id TEXT NOT NULL, action TEXT NOT NULL, approver_key_id TEXT NOT NULL,
  body TEXT NOT NULL, signature TEXT NOT NULL);
CREATE INDEX retention_approvals_item ON retention_approvals (item_id, action);
CREATE TABLE store_events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, action TEXT NOT NULL,
  outcome TEXT NOT NULL, item_id TEXT, tenant_ref TEXT, actor_key_id TEXT, detail TEXT);
CREATE INDEX store_events_item ON store_events (item_id, seq);",
}];

/// Where a database stands against a set of migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `(component, highest applied version)` for every component the set names.
    pub applied: Vec<(&'static str, u32)>,
    /// Migrations not yet applied, in order.
    pub pending: Vec<Migration>,
}

impl Status {
    /// Compares what a database has applied with `set`.
    ///
    /// # Errors
    /// [`crate::StoreError::SchemaAhead`] when the database holds a version
    /// this release does not know.
    pub fn of(set: &[Migration], applied: &[(String, u32)]) -> Result<Status, crate::StoreError> {
        let mut components: Vec<&'static str> = set.iter().map(|m| m.component).collect();
        components.dedup();
        let mut status = Status { applied: Vec::new(), pending: Vec::new() };
        for c in components {
            let have = applied.iter().filter(|(n, _)| n == c).map(|(_, v)| *v).max().unwrap_or(0);
            let known = set.iter().filter(|m| m.component == c).map(|m| m.version).max().unwrap_or(0);
            if have > known {
                return Err(crate::StoreError::SchemaAhead { component: c.to_string(), found: have, known });
            }
            status.applied.push((c, have));
            status.pending.extend(set.iter().filter(|m| m.component == c && m.version > have).copied());
        }
        Ok(status)
    }

    /// Refuses when anything is pending.
    ///
    /// # Errors
    /// [`crate::StoreError::NotMigrated`].
    pub fn require_current(&self) -> Result<(), crate::StoreError> {
        match self.pending.first() {
            None => Ok(()),
            Some(m) => Err(crate::StoreError::NotMigrated {
                component: m.component.to_string(),
                found: m.version - 1,
                wanted: self
                    .pending
                    .iter()
                    .filter(|p| p.component == m.component)
                    .map(|p| p.version)
                    .max()
                    .unwrap_or(0),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        let mut last = ("", 0);
        for m in STORE_MIGRATIONS {
            if m.component != last.0 {
                last = (m.component, 0);
            }
            assert_eq!(m.version, last.1 + 1, "{} {}", m.component, m.version);
            last.1 = m.version;
        }
    }

    #[test]
    fn status_reports_pending_and_refuses_a_newer_schema() {
        let s = Status::of(STORE_MIGRATIONS, &[]).unwrap();
        assert_eq!(s.pending.len(), STORE_MIGRATIONS.len());
        assert!(matches!(s.require_current(), Err(crate::StoreError::NotMigrated { found: 0, .. })));
        let all: Vec<(String, u32)> = STORE_MIGRATIONS.iter().map(|m| (m.component.to_string(), m.version)).collect();
        assert!(Status::of(STORE_MIGRATIONS, &all).unwrap().require_current().is_ok());
        let ahead = vec![("store".to_string(), 99)];
        assert!(matches!(Status::of(STORE_MIGRATIONS, &ahead), Err(crate::StoreError::SchemaAhead { found: 99, .. })));
    }
}
