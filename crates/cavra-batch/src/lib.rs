//! # cavra-batch
//!
//! Renders, and optionally packages, many tenants' snapshots in one run:
//! tenants come from a folder or a list ([`discover`]), a [`Shard`] picks a
//! deterministic share of them so N machines split the work without
//! coordinating, [`run`] works through them on `jobs` threads, and one
//! tenant's bad input never stops the others — each gets a
//! [`TenantResult`] in the [`Summary`].
//!
//! Each tenant's files go to `<out>/<tenant id>/`, written into a staging
//! folder beside it and moved into place only when all of them were
//! written, so a tenant has all of its files or none. Output is
//! byte-identical whatever the number of jobs: tenants are independent and
//! the summary lists them in id order.
//!
//! ```
//! use cavra_batch::{discover, run, BatchOptions, Shard, Source};
//! let input = tempfile::tempdir().unwrap();
//! let sample = include_str!("../../../examples/sample_snapshot.json");
//! std::fs::write(input.path().join("northwind.json"), sample).unwrap();
//! std::fs::write(input.path().join("broken.json"), "{ not json").unwrap();
//! let tenants = discover(&Source::Folder(input.path().to_path_buf()), Shard::ALL).unwrap();
//! assert_eq!(tenants.len(), 2);
//! let out = tempfile::tempdir().unwrap();
//! let options = BatchOptions {
//!     kinds: vec![cavra_model::ReportKind::ExecutiveRiskBrief],
//!     formats: vec![cavra_render::Format::Markdown],
//!     ..BatchOptions::default()
//! };
//! let summary = run(&tenants, out.path(), &options, &|_| {});
//! assert_eq!((summary.succeeded, summary.failed), (1, 1));
//! assert!(out.path().join("northwind/executive-risk-brief.md").exists());
//! assert!(!out.path().join("broken").exists(), "a failed tenant writes nothing");
//! ```

mod discover;
mod tenant;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use discover::{discover, Source};

use cavra_model::{ReportKind, ReportOptions};
use cavra_package::PackageType;
use cavra_render::signed::SigningKey;
use cavra_render::Format;

/// Format of the summary.
pub const SUMMARY_FORMAT: &str = "cavra.batch_summary.v1";

/// One tenant to render: its id (a file-name stem) and input files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tenant {
    /// Id: letters, digits, `-`, `_` and `.`; the output folder's name.
    pub id: String,
    /// The snapshot.
    pub snapshot: PathBuf,
    /// Decisions as JSON Lines, when kept apart.
    pub decisions: Option<PathBuf>,
}

/// A deterministic share of the tenants: shard `index` of `count`
/// (1-based). A tenant belongs to shard `1 + (sha256(id) mod count)`, so
/// its shard never changes when other tenants are added or removed, and
/// the shards `1/N … N/N` together cover every tenant exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// From 1.
    pub index: u32,
    /// At least 1.
    pub count: u32,
}

impl Shard {
    /// Every tenant.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Parses `I/N`.
    ///
    /// ```
    /// use cavra_batch::Shard;
    /// assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
    /// for bad in ["0/2", "3/2", "1/0", "1", "a/b"] {
    ///     assert!(Shard::parse(bad).is_err(), "{bad}");
    /// }
    /// ```
    ///
    /// # Errors
    /// Not of the form `I/N` with `1 ≤ I ≤ N`.
    pub fn parse(text: &str) -> Result<Shard, BatchError> {
        let bad = || BatchError::Shard(text.to_string());
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the tenant `id` is in this shard.
    pub fn contains(self, id: &str) -> bool {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(id.as_bytes());
        let n = u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
        n % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why a batch could not start (a tenant's own failure is a [`TenantResult`]).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The folder or list cannot be read.
    #[error("{path}: {reason}")]
    Source {
        /// The folder or list.
        path: String,
        /// Why.
        reason: String,
    },
    /// A shard that is not `I/N`.
    #[error("shard `{0}`: expected I/N with 1 <= I <= N")]
    Shard(String),
}

/// What to make for every tenant.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Report kinds (empty: all).
    pub kinds: Vec<ReportKind>,
    /// Formats (empty: all but signed JSON, which needs a key).
    pub formats: Vec<Format>,
    /// Package types to build as well.
    pub packages: Vec<PackageType>,
    /// Signs signed JSON and packages.
    pub signing: Option<SigningKey>,
    /// Branding and theme.
    pub report: ReportOptions,
    /// Redact sensitive input instead of failing the tenant.
    pub redact: bool,
    /// Worker threads (0: the available cores).
    pub jobs: usize,
    /// The shard the tenants were picked for (named in the summary).
    pub shard: Shard,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            kinds: Vec::new(),
            formats: Vec::new(),
            packages: Vec::new(),
            signing: None,
            report: ReportOptions::default(),
            redact: false,
            jobs: 0,
            shard: Shard::ALL,
        }
    }
}

/// One file written for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Name inside the tenant's folder.
    pub name: String,
    /// Size.
    pub bytes: u64,
    /// `sha256:` digest.
    pub sha256: String,
    /// What it is, for registering it in the record store (not in the summary).
    #[serde(skip)]
    pub origin: Option<FileOrigin>,
}

/// What a written file is: a report artifact (its kind, format, report id
/// and classification) or a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOrigin {
    /// Report kind, or package type.
    pub kind: String,
    /// Format name, or `package`.
    pub format: String,
    /// The report's id (absent for packages).
    pub report_id: Option<String>,
    /// The report's handling classification.
    pub classification: String,
}

/// How a tenant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Every file written.
    Succeeded,
    /// Nothing written.
    Failed,
}

/// One tenant's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantResult {
    /// The tenant id.
    pub tenant: String,
    /// How it ended.
    pub status: TenantStatus,
    /// Class of failure (`invalid_input`, `unsafe_content`, `render`, `io`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<&'static str>,
    /// The error, naming file and JSON path (never input values the gate refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Files written, in name order.
    pub files: Vec<FileEntry>,
    /// The snapshot's tenant reference and `as_of` (Unix seconds), when it
    /// was read (not in the summary).
    #[serde(skip)]
    pub snapshot: Option<(String, i64)>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// [`SUMMARY_FORMAT`].
    pub format: &'static str,
    /// The shard this run did (`1/1` for all).
    pub shard: String,
    /// Tenants in this shard.
    pub tenants: usize,
    /// Of which succeeded.
    pub succeeded: usize,
    /// Of which failed.
    pub failed: usize,
    /// Each tenant, in id order.
    pub results: Vec<TenantResult>,
}

impl Summary {
    /// The summary as pretty JSON (deterministic).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

pub use cavra_render::parallel::effective_jobs;

/// Renders (and packages) every tenant into `out/<id>/` on
/// [`effective_jobs`] threads, calling `progress` as each tenant finishes.
pub fn run(
    tenants: &[Tenant],
    out: &Path,
    options: &BatchOptions,
    progress: &(dyn Fn(&TenantResult) + Sync),
) -> Summary {
    let mut results = cavra_render::parallel::map_ordered(tenants, options.jobs, |t| {
        let r = tenant::render_tenant(t, out, options);
        progress(&r);
        r
    });
    results.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    let failed = results.iter().filter(|r| r.status == TenantStatus::Failed).count();
    Summary {
        format: SUMMARY_FORMAT,
        shard: options.shard.to_string(),
        tenants: results.len(),
        succeeded: results.len() - failed,
        failed,
        results,
    }
}
