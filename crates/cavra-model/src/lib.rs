//! # cavra-model
//!
//! Reads an AI-agent activity snapshot, checks it (strict schema, forbidden
//! fields, the safety gate), computes posture analytics and builds the
//! format-neutral [`Report`] model that every renderer consumes.
//!
//! ```
//! use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
//! let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
//!   "tenant":{"ref":"tenant:demo","display_name":"Demo Co","timezone":"UTC"},
//!   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
//! let snapshot = Snapshot::from_json_str(text, &LoadOptions::default())?;
//! let posture = Posture::compute(&snapshot);
//! let report = build_report(ReportKind::ControlCoverage, &snapshot, &posture, &ReportOptions::default());
//! assert_eq!(report.datasets[0].rows.len(), 6);
//! # Ok::<(), cavra_model::SnapshotError>(())
//! ```

mod builders;
pub mod canonical;
pub mod decisions;
mod error;
pub mod frameworks;
pub mod gate;
pub mod input;
mod intake;
pub mod limits;
pub mod posture;
pub mod report;
pub mod rng;
pub mod round;
mod rows;
pub mod schema;
pub mod sections;
mod snapshot;
pub mod stream;
pub mod text;
pub mod theme;

pub use builders::{build_report, ReportOptions, NEAR_MISS_ROWS};
pub use error::{Located, SnapshotError, SnapshotErrorKind};
pub use input::{Timestamp, SNAPSHOT_SCHEMA_VERSION};
pub use posture::Posture;
pub use report::{Report, ReportKind};
pub use snapshot::{parse_raw, read_decisions_jsonl, LoadOptions, PriorActivity, Snapshot};
pub use text::Text;
