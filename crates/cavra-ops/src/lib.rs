//! # cavra-ops
//!
//! The report center's report on itself. Its own records — delivery jobs
//! and approvals, schedule runs, bounces, stored reports, store events,
//! evidence rooms and the signed audit log — are assembled into one
//! canonical, validated, public-safe document, the operations snapshot
//! (`cavra.ops_snapshot.v1`), and every operations report is a pure
//! function of it, built on the same report model as the posture reports
//! and rendered by the same renderers in every format.
//!
//! - [`snapshot`]: the snapshot's types, parsing and validation;
//! - [`collect`]: assembling it from the records;
//! - [`metrics`]: the measures, each with its formula;
//! - [`build_ops_report`]: the operations report kinds
//!   ([`cavra_model::report::OpsKind`]);
//! - [`synth`]: realistic snapshots of any size for tests and benchmarks.
//!
//! ```
//! use cavra_model::report::OpsKind;
//! let snapshot = cavra_ops::synth::generate(&Default::default());
//! let report = cavra_ops::build_ops_report(OpsKind::DeliveryOperationsDashboard, &snapshot, &Default::default(), &Default::default());
//! let csv = cavra_render::render(&report, cavra_render::Format::Csv).unwrap();
//! assert!(String::from_utf8(csv.bytes).unwrap().starts_with("transport,jobs,sent,"));
//! ```

mod build;
mod build_alerts;
mod build_response;
pub mod collect;
pub mod distribution;
pub mod metrics;
pub mod readiness;
pub mod response;
pub mod snapshot;
pub mod synth;

pub use build::{build_ops_report, build_ops_reports, ACCESS_ROWS, DOCUMENT_ROWS, OPS_FOOTER};
pub use snapshot::{OpsSnapshot, SnapshotError, MAX_SNAPSHOT_BYTES, OPS_SCHEMA_VERSION};
