//! # cavra-store
//!
//! The report center's records. Every artifact and package the report
//! center writes can be registered here: its bytes go into a
//! content-addressed blob folder ([`blobs`]), its metadata into a database —
//! embedded SQLite (`sqlite:PATH`, the default) or a PostgreSQL server
//! (`postgres://…`) that several workers and hosts share ([`db`]). On top:
//! search with stable ordering and paging ([`query`]), legal holds,
//! retention classes, the retention plan and tombstones ([`retention`]),
//! and an append-only table of store events. Who may do what — roles,
//! signed approvals, classifications a principal may retrieve — is decided
//! by the governance layer above (the delivery crate's records module);
//! this crate keeps the records and refuses what no rule can allow (a held
//! item is never deleted, whatever the caller asks).
//!
//! Schemas are versioned ([`migrate`]) and applied only by
//! [`Store::migrate`]; [`Store::open`] refuses a database that is behind.
//!
//! ```
//! use cavra_store::{NewItem, Store, retention::RetentionPolicy, query::{Filter, Page}};
//! let dir = tempfile::tempdir().unwrap();
//! let url = format!("sqlite:{}", dir.path().join("store.db").display());
//! let blobs = dir.path().join("blobs");
//! assert!(Store::open(&url, &blobs).is_err()); // not migrated yet
//! Store::migrate(&url, &[]).unwrap();
//! let mut store = Store::open(&url, &blobs).unwrap();
//! let new = NewItem {
//!     tenant_ref: "tenant:northwind".into(), kind: "board_pack".into(), format: "pdf".into(),
//!     name: "board_pack.pdf".into(), report_id: Some("rpt-1".into()), package: None,
//!     classification: "confidential".into(), retention_class: "governance_record".into(),
//!     created_at: 1_800_000_000,
//! };
//! let policy = RetentionPolicy::default();
//! let (item, added) = store.register(&new, &b"%PDF-1.7 ..."[..], &policy, 1_800_000_100).unwrap();
//! assert!(added);
//! // the same bytes again: the same item, nothing added
//! assert_eq!(store.register(&new, &b"%PDF-1.7 ..."[..], &policy, 1_800_000_200).unwrap(), (item.clone(), false));
//! let page = store.search(&Filter { format: Some("pdf".into()), ..Filter::default() }, &Page::default()).unwrap();
//! assert_eq!(page.items, vec![item]);
//! ```

pub mod blobs;
pub mod db;
pub mod migrate;
mod model;
pub mod query;
pub mod retention;
mod store;
pub mod watermark;

pub use model::{
    item_id, ApprovalAction, EventAction, Hold, Item, ItemState, NewItem, Outcome, StoreEvent, StoredApproval,
    Tombstone, ITEM_ID_PREFIX,
};
pub use store::{applied, migrate_db, require_migrated, HoldTarget, SearchPage, Store};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or refused a statement.
    #[error("store database: {0}")]
    Db(String),
    /// The store URL is not one this release reads.
    #[error("store URL: {0}")]
    Url(String),
    /// The schema is behind this release.
    #[error("the store's `{component}` schema is at version {found}, this release needs {wanted}: run `cavra store migrate` first")]
    NotMigrated {
        /// Component.
        component: String,
        /// Version found.
        found: u32,
        /// Version needed.
        wanted: u32,
    },
    /// The schema is ahead of this release.
    #[error("the store's `{component}` schema is at version {found}, newer than this release knows ({known}); use a newer release")]
    SchemaAhead {
        /// Component.
        component: String,
        /// Version found.
        found: u32,
        /// Highest version known.
        known: u32,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A blob's bytes no longer match their digest.
    #[error("blob {sha256} was altered on disk (its bytes hash to {found}); it is not served")]
    Altered {
        /// Its name.
        sha256: String,
        /// What its bytes hash to.
        found: String,
    },
    /// No such item.
    #[error("no item `{0}` in the store")]
    NotFound(String),
    /// The request is not valid (a bad digest, class or value).
    #[error("{0}")]
    Invalid(String),
    /// The store refuses the operation whatever the caller's rights (a
    /// held item's deletion, a release without a hold).
    #[error("refused: {0}")]
    Refused(String),
    /// Stored data is not what this release writes.
    #[error("store data: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> StoreError {
        StoreError::Io { path: path.display().to_string(), source }
    }
}
