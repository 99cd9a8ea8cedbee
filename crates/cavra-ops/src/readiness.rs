//! The self-check's packets: the validation packet
//! (`cavra.validation_packet.v1`), which lists every check `selfcheck` ran
//! and its outcome, and one readiness packet (`cavra.readiness_packet.v1`)
//! per area — catalog, delivery setup, operations, governance, assurance,
//! response. Both are public-safe: a check's details are short texts of
//! its own, passed through the safety gate, never a command's raw output.
//!
//! ```
//! use cavra_ops::readiness::*;
//! let checks = vec![
//!     CheckResult::passed("rendering", Area::Catalog, "Rendering", vec!["12 artifacts".into()]),
//!     CheckResult::failed("evidence_room", Area::Assurance, "Evidence room", vec!["the link key is not set".into()]),
//! ];
//! let packet = ValidationPacket::new("Northwind", "sha256:ab", checks);
//! assert!(!packet.ready);
//! let areas = packet.readiness();
//! assert_eq!(areas.len(), Area::ALL.len());
//! assert!(areas.iter().find(|a| a.area == Area::Catalog).unwrap().ready);
//! ```

use serde::{Deserialize, Serialize};

/// The validation packet's schema id.
pub const VALIDATION_SCHEMA_VERSION: &str = "cavra.validation_packet.v1";
/// A readiness packet's schema id.
pub const READINESS_SCHEMA_VERSION: &str = "cavra.readiness_packet.v1";

/// The validation packet's JSON Schema, generated from its types.
pub fn validation_json_schema() -> String {
    cavra_model::schema::publish::<ValidationPacket>("validation_packet.v1.schema.json", VALIDATION_SCHEMA_VERSION)
}

/// A readiness packet's JSON Schema, generated from its types.
pub fn readiness_json_schema() -> String {
    cavra_model::schema::publish::<ReadinessPacket>("readiness_packet.v1.schema.json", READINESS_SCHEMA_VERSION)
}

/// What part of the report center a check vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Report kinds, formats and packages.
    Catalog,
    /// The setup file and the transport.
    DeliverySetup,
    /// Schedules and the report center's own reports.
    Operations,
    /// Recipient policy, approvals and distribution.
    Governance,
    /// Evidence rooms, revocation, retention and the audit chain.
    Assurance,
    /// Alerts and remediation.
    Response,
}

impl Area {
    /// Every area, in packet order.
    pub const ALL: &'static [Area] =
        &[Area::Catalog, Area::DeliverySetup, Area::Operations, Area::Governance, Area::Assurance, Area::Response];

    /// The recorded name.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Catalog => "catalog",
            Area::DeliverySetup => "delivery_setup",
            Area::Operations => "operations",
            Area::Governance => "governance",
            Area::Assurance => "assurance",
            Area::Response => "response",
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It held.
    Passed,
    /// It did not.
    Failed,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckResult {
    /// Stable id (`approved_send`).
    pub check_id: String,
    /// Its area.
    pub area: Area,
    /// What it checks.
    pub title: String,
    /// How it ended.
    pub outcome: Outcome,
    /// What it saw (short, public-safe).
    pub details: Vec<String>,
}

fn gated(details: Vec<String>) -> Vec<String> {
    details
        .into_iter()
        .map(|d| match cavra_model::gate::scan_text(&d).first() {
            Some(found) => format!("(a detail was withheld: it carried {})", found.kind.as_str()),
            None => d,
        })
        .collect()
}

impl CheckResult {
    /// A check that held.
    pub fn passed(id: &str, area: Area, title: &str, details: Vec<String>) -> CheckResult {
        CheckResult {
            check_id: id.into(),
            area,
            title: title.into(),
            outcome: Outcome::Passed,
            details: gated(details),
        }
    }

    /// A check that did not.
    pub fn failed(id: &str, area: Area, title: &str, details: Vec<String>) -> CheckResult {
        CheckResult {
            check_id: id.into(),
            area,
            title: title.into(),
            outcome: Outcome::Failed,
            details: gated(details),
        }
    }
}

/// Every check `selfcheck` ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationPacket {
    /// Always `cavra.validation_packet.v1`.
    #[schemars(extend("const" = "cavra.validation_packet.v1"))]
    pub schema_version: String,
    /// The organisation the setup file names.
    pub organisation: String,
    /// `sha256:` of the setup file checked.
    pub setup_digest: String,
    /// The checks, in the order they ran.
    pub checks: Vec<CheckResult>,
    /// Checks that held.
    pub passed: u32,
    /// Checks that did not.
    pub failed: u32,
    /// Whether every check held.
    pub ready: bool,
}

/// The checks of one area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadinessPacket {
    /// Always `cavra.readiness_packet.v1`.
    #[schemars(extend("const" = "cavra.readiness_packet.v1"))]
    pub schema_version: String,
    /// The area.
    pub area: Area,
    /// `sha256:` of the setup file checked.
    pub setup_digest: String,
    /// The area's checks.
    pub checks: Vec<CheckResult>,
    /// Whether the area has checks and every one held.
    pub ready: bool,
}

impl ValidationPacket {
    /// The packet of `checks`.
    pub fn new(organisation: &str, setup_digest: &str, checks: Vec<CheckResult>) -> ValidationPacket {
        let passed = checks.iter().filter(|c| c.outcome == Outcome::Passed).count() as u32;
        let failed = checks.len() as u32 - passed;
        ValidationPacket {
            schema_version: VALIDATION_SCHEMA_VERSION.into(),
            organisation: organisation.into(),
            setup_digest: setup_digest.into(),
            ready: failed == 0 && passed > 0,
            checks,
            passed,
            failed,
        }
    }

    /// One readiness packet per area, in [`Area::ALL`] order.
    pub fn readiness(&self) -> Vec<ReadinessPacket> {
        Area::ALL
            .iter()
            .map(|area| {
                let checks: Vec<CheckResult> = self.checks.iter().filter(|c| c.area == *area).cloned().collect();
                ReadinessPacket {
                    schema_version: READINESS_SCHEMA_VERSION.into(),
                    area: *area,
                    setup_digest: self.setup_digest.clone(),
                    ready: !checks.is_empty() && checks.iter().all(|c| c.outcome == Outcome::Passed),
                    checks,
                }
            })
            .collect()
    }
}

/// The canonical JSON form of a packet (two-space indents, final newline).
pub fn to_json(packet: &impl Serialize) -> String {
    // These types always serialise.
    let mut text = serde_json::to_string_pretty(packet).unwrap_or_default();
    text.push('\n');
    text
}
