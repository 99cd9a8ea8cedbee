//! # CAVRA Report Center
//!
//! Turns AI-agent security-posture data (an activity snapshot) into the
//! reports CSOs, boards, auditors and GRC teams read. This facade re-exports
//! the workspace crates:
//!
//! - [`model`] (`cavra-model`): snapshot parsing and validation, the safety
//!   gate, posture analytics and the format-neutral report model;
//! - [`render`] (`cavra-render`): one backend per output format;
//! - [`package`] (`cavra-package`): signed packages and their verification;
//! - [`deliver`] (`cavra-deliver`): governed delivery and the sealed audit log;
//! - [`batch`] (`cavra-batch`): many tenants on every core, sharded across machines;
//! - [`ops`] (`cavra-ops`): the report center's report on itself, from its own records;
//! - [`synth`]: a deterministic synthetic snapshot generator for demos,
//!   tests and benchmarks.
//!
//! ```
//! use cavra_reports::model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
//! use cavra_reports::render::{render, Format};
//! use cavra_reports::synth::{generate, SynthConfig};
//!
//! let raw = generate(&SynthConfig { agents: 3, decisions: 40, seed: 1, ..SynthConfig::default() });
//! let snapshot = Snapshot::from_raw(raw, None, &LoadOptions::default()).unwrap();
//! let posture = Posture::compute(&snapshot);
//! let brief = build_report(ReportKind::ExecutiveRiskBrief, &snapshot, &posture, &ReportOptions::default());
//! let md = render(&brief, Format::Markdown).unwrap();
//! assert!(md.text().unwrap().starts_with("# Executive risk brief"));
//! ```

pub use cavra_batch as batch;
pub use cavra_deliver as deliver;
pub use cavra_model as model;
pub use cavra_ops as ops;
pub use cavra_package as package;
pub use cavra_render as render;
pub use cavra_room as room;

pub mod synth;

/// The README's Rust example, compiled and run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
