//! The typed sections of each report kind: the keys its JSON form carries
//! between the common head (`schema_version`, `generated_at`,
//! `data_provenance`) and the `report` metadata, in contract order.
//!
//! The JSON and signed-JSON forms serialise these structures directly, so
//! a section's field names and order are its wire format; the documents
//! and data formats draw on the same values through the report's blocks
//! and datasets.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::input::{DecisionKind, IncidentStatus, Severity, Timestamp};
use crate::posture::{ConfidenceLabel, Finding, RiskClassification, RiskLevel};

/// One kind's sections.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Sections {
    /// `executive-risk-brief`.
    ExecutiveRiskBrief(BriefSections),
    /// `board-kpi-pack`.
    BoardKpiPack(BoardSections),
    /// `soc2-audit-summary`.
    Soc2AuditSummary(Soc2Sections),
    /// `control-coverage`.
    ControlCoverage(CoverageSections),
    /// `evidence-freshness`.
    EvidenceFreshness(FreshnessSections),
    /// `agent-risk-register`.
    AgentRiskRegister(RegisterSections),
    /// `incident-packet`.
    IncidentPacket(IncidentSections),
    /// `exception-report`.
    ExceptionReport(ExceptionSections),
    /// `policy-drift-report`.
    PolicyDriftReport(DriftSections),
    /// `agent-activity-digest`.
    AgentActivityDigest(DigestSections),
    /// The operations kinds: their measures.
    Operations(OpsSections),
}

/// An operations report's sections: what it measured, each measure with
/// the formula it was computed by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpsSections {
    /// The measures, in the report's order.
    pub metrics: Vec<Metric>,
}

/// One measure of the report center's own operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Stable id (`delivery_success_rate`).
    pub metric_id: String,
    /// Human label.
    pub label: String,
    /// The value; `None` when the window holds nothing to measure.
    pub value: Option<f64>,
    /// `count`, `percent` or `seconds`.
    pub unit: String,
    /// The counted part, for a rate.
    pub numerator: Option<u64>,
    /// What it is counted out of, for a rate.
    pub denominator: Option<u64>,
    /// How it is computed (the formula in docs/operations.md).
    pub formula: String,
    /// The objective it is held to, if any.
    pub target: Option<f64>,
    /// `met`, `breached`, `not_measured` or `informational`.
    pub status: MetricStatus,
}

/// Where a measure stands against its objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricStatus {
    /// Within its objective.
    Met,
    /// Outside its objective.
    Breached,
    /// Nothing in the window to measure.
    NotMeasured,
    /// Reported without an objective.
    Informational,
}

impl MetricStatus {
    /// The status's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricStatus::Met => "met",
            MetricStatus::Breached => "breached",
            MetricStatus::NotMeasured => "not_measured",
            MetricStatus::Informational => "informational",
        }
    }
}

/// Named counts or scores serialised as one JSON object, keys in the order
/// given (not sorted), as the contracts list them.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures(pub Vec<(&'static str, i64)>);

impl Serialize for Figures {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The portal's overview object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortalOverview {
    /// The portal's (saturating) posture score.
    pub posture_score: i64,
    /// Its level.
    pub risk_level: RiskLevel,
    /// Session records.
    pub total_sessions: usize,
    /// Decisions in the window.
    pub total_decisions: usize,
    /// Block decisions.
    pub blocked_actions: usize,
    /// Require-approval decisions.
    pub approval_required_actions: usize,
    /// Findings.
    pub risk_findings: usize,
    /// Aggregate evidence-confidence label.
    pub evidence_confidence: ConfidenceLabel,
}

/// The brief's overview: the portal's object plus our figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefOverview {
    /// The portal's keys first.
    #[serde(flatten)]
    pub portal: PortalOverview,
    /// The non-saturating score.
    pub normalised_score: i64,
    /// Its level.
    pub normalised_level: RiskLevel,
    /// Warn decisions.
    pub warned_actions: usize,
    /// Mean evidence-confidence score.
    pub evidence_confidence_score: i64,
    /// Agents with activity.
    pub agent_count: usize,
    /// Control coverage score.
    pub coverage_score: i64,
    /// Evidence freshness score.
    pub evidence_freshness_score: i64,
}

impl BriefOverview {
    /// The figures: every whole-number entry, in the JSON form's key order
    /// (the rows of the brief's `overview` dataset, which this section
    /// holds).
    pub fn figures(&self) -> Vec<(&'static str, i64)> {
        let p = &self.portal;
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            ("posture_score", p.posture_score),
            ("total_sessions", n(p.total_sessions)),
            ("total_decisions", n(p.total_decisions)),
            ("blocked_actions", n(p.blocked_actions)),
            ("approval_required_actions", n(p.approval_required_actions)),
            ("risk_findings", n(p.risk_findings)),
            ("normalised_score", self.normalised_score),
            ("warned_actions", n(self.warned_actions)),
            ("evidence_confidence_score", self.evidence_confidence_score),
            ("agent_count", n(self.agent_count)),
            ("coverage_score", self.coverage_score),
            ("evidence_freshness_score", self.evidence_freshness_score),
        ]
    }
}

/// `executive-risk-brief`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefSections {
    /// Headline figures.
    pub overview: BriefOverview,
    /// Narrative paragraphs.
    pub executive_narrative: Vec<String>,
    /// The most severe findings, newest first within a severity.
    pub top_findings: Vec<Finding>,
    /// Numbered actions.
    pub recommended_actions: Vec<String>,
    /// What the data cannot show.
    pub limitations: Vec<String>,
}

/// One of the board's top risks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopRisk {
    /// Severity.
    pub severity: Severity,
    /// Classification.
    pub risk_classification: RiskClassification,
    /// Decision taken.
    pub decision: DecisionKind,
    /// Agent.
    pub agent_id: String,
    /// Repository.
    pub repository: String,
}

impl crate::report::TableRow for TopRisk {
    const COLUMNS: &'static [(&'static str, &'static str, crate::report::ColumnType)] = &[
        ("severity", "Severity", crate::report::ColumnType::Severity),
        ("risk_classification", "Risk classification", crate::report::ColumnType::Status),
        ("decision", "Decision", crate::report::ColumnType::Status),
        ("agent_id", "Agent", crate::report::ColumnType::Text),
        ("repository", "Repository", crate::report::ColumnType::Text),
    ];

    fn cells(&self) -> Vec<crate::report::Cell> {
        vec![
            self.severity.text().into(),
            self.risk_classification.text().into(),
            self.decision.text().into(),
            self.agent_id.as_str().into(),
            self.repository.as_str().into(),
        ]
    }
}

/// `board-kpi-pack` (the portal's `cavra.aispm.board_kpi_pack.v1` keys first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoardSections {
    /// The portal's overview.
    pub overview: PortalOverview,
    /// Agents with activity.
    pub agent_count: usize,
    /// Control surfaces observed (of six).
    pub control_surface_count: usize,
    /// Top risks by severity.
    pub top_risks: Vec<TopRisk>,
    /// Level of the normalised score.
    pub normalised_level: RiskLevel,
    /// Decisions per outcome.
    pub decisions_by_kind: BTreeMap<DecisionKind, usize>,
}

/// One SOC 2-style control area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlArea {
    /// Area name.
    pub control_area: String,
    /// Public-safe evidence.
    pub public_safe_evidence: String,
    /// What the data shows now.
    pub current_signal: String,
    /// Trust Services Criteria.
    pub trust_services_criteria: String,
    /// Notes for the auditor.
    pub auditor_notes: String,
}

impl crate::report::TableRow for ControlArea {
    const COLUMNS: &'static [(&'static str, &'static str, crate::report::ColumnType)] = &[
        ("control_area", "Control area", crate::report::ColumnType::Text),
        ("public_safe_evidence", "Public-safe evidence", crate::report::ColumnType::Text),
        ("current_signal", "Current signal", crate::report::ColumnType::Text),
        ("trust_services_criteria", "Trust Services Criteria", crate::report::ColumnType::Text),
        ("auditor_notes", "Auditor notes", crate::report::ColumnType::Text),
    ];

    fn cells(&self) -> Vec<crate::report::Cell> {
        vec![
            self.control_area.as_str().into(),
            self.public_safe_evidence.as_str().into(),
            self.current_signal.as_str().into(),
            self.trust_services_criteria.as_str().into(),
            self.auditor_notes.as_str().into(),
        ]
    }
}

/// `soc2-audit-summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Soc2Sections {
    /// Control areas.
    pub controls: Vec<ControlArea>,
}

/// `control-coverage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageSections {
    /// Coverage score 0–100.
    pub coverage_score: i64,
    /// Rows of the heat map.
    pub heat_map_rows: usize,
    /// Coverage gaps listed.
    pub gap_count: usize,
}

/// Evidence items by SLO state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloCounts {
    /// Past the SLO.
    pub breached: usize,
    /// Close to it.
    pub monitor: usize,
    /// Within it.
    pub met: usize,
}

/// `evidence-freshness`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FreshnessSections {
    /// Freshness score.
    pub freshness_score: i64,
    /// Retention score.
    pub retention_score: i64,
    /// Evidence items.
    pub items: usize,
    /// Items per SLO state.
    pub slo: SloCounts,
}

/// Agents per blast-radius level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelCounts {
    /// Critical.
    pub critical: usize,
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low.
    pub low: usize,
}

/// `agent-risk-register`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterSections {
    /// Agents.
    pub agent_count: usize,
    /// Agents per blast-radius level.
    pub blast_radius_levels: LevelCounts,
    /// Agents whose behaviour needs review.
    pub review_required: usize,
}

/// One incident's summary: one row of the packet's `incidents` dataset,
/// held once in the JSON form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentSummary {
    /// Incident reference.
    pub incident_ref: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Status.
    pub status: IncidentStatus,
    /// When opened.
    pub opened_at: Timestamp,
    /// When closed (`null` while open).
    pub closed_at: Option<Timestamp>,
    /// Owner role.
    pub owner_role: String,
    /// When the next review is due.
    pub review_due_at: Timestamp,
    /// Linked decisions found in the snapshot.
    pub linked_decisions: usize,
    /// Linked exceptions found in the snapshot.
    pub linked_exceptions: usize,
    /// Agents involved, sorted.
    pub affected_agents: Vec<String>,
    /// How many closure requirements are open.
    pub open_requirements: usize,
    /// What closure still needs.
    pub requirements: Vec<String>,
}

impl crate::report::TableRow for IncidentSummary {
    const COLUMNS: &'static [(&'static str, &'static str, crate::report::ColumnType)] = &[
        ("incident_ref", "Incident", crate::report::ColumnType::Text),
        ("title", "Title", crate::report::ColumnType::Text),
        ("severity", "Severity", crate::report::ColumnType::Severity),
        ("status", "Status", crate::report::ColumnType::Status),
        ("opened_at", "Opened", crate::report::ColumnType::DateTime),
        ("closed_at", "Closed", crate::report::ColumnType::DateTime),
        ("owner_role", "Owner role", crate::report::ColumnType::Text),
        ("review_due_at", "Review due", crate::report::ColumnType::DateTime),
        ("linked_decisions", "Linked decisions", crate::report::ColumnType::Integer),
        ("linked_exceptions", "Linked exceptions", crate::report::ColumnType::Integer),
        ("affected_agents", "Affected agents", crate::report::ColumnType::Text),
        ("open_requirements", "Open closure requirements", crate::report::ColumnType::Integer),
    ];

    fn cells(&self) -> Vec<crate::report::Cell> {
        vec![
            self.incident_ref.as_str().into(),
            self.title.as_str().into(),
            self.severity.text().into(),
            self.status.text().into(),
            self.opened_at.into(),
            crate::report::Cell::from(self.closed_at),
            self.owner_role.as_str().into(),
            self.review_due_at.into(),
            self.linked_decisions.into(),
            self.linked_exceptions.into(),
            self.affected_agents.join("; ").into(),
            self.open_requirements.into(),
        ]
    }
}

/// `incident-packet`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentSections {
    /// Incidents.
    pub incident_count: usize,
    /// Open or contained.
    pub open_incidents: usize,
    /// Per incident.
    pub incidents: Vec<IncidentSummary>,
}

/// `exception-report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionSections {
    /// Exceptions.
    pub exception_count: usize,
    /// Active or approved.
    pub in_force: usize,
    /// Exceptions carrying each flag.
    pub flags: Figures,
}

/// `policy-drift-report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftSections {
    /// Agents compared.
    pub agent_count: usize,
    /// Agents whose observed policy digest differs from the baseline.
    pub digest_drift: usize,
    /// Behaviour review required.
    pub behavior_review_required: usize,
    /// Unusual behaviour.
    pub behavior_unusual: usize,
    /// Whether the snapshot carries scope history.
    pub scope_history_available: bool,
    /// Scope items first seen in the window (`null` without history).
    pub new_scope_items: Option<usize>,
}

/// A rule and how many decisions cited it: one row of the digest's
/// `top_rules` dataset, held once in the JSON form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCount {
    /// Rule.
    pub rule_id: String,
    /// Decisions.
    pub decisions: usize,
    /// Of them, blocked.
    pub blocked: usize,
    /// Of them, held for approval.
    pub approval_required: usize,
    /// Of them, warned.
    pub warned: usize,
    /// Agents whose decisions cited it.
    pub agents: usize,
}

impl crate::report::TableRow for RuleCount {
    const COLUMNS: &'static [(&'static str, &'static str, crate::report::ColumnType)] = &[
        ("rule_id", "Rule", crate::report::ColumnType::Text),
        ("decisions", "Decisions", crate::report::ColumnType::Integer),
        ("blocked", "Blocked", crate::report::ColumnType::Integer),
        ("approval_required", "Approval required", crate::report::ColumnType::Integer),
        ("warned", "Warned", crate::report::ColumnType::Integer),
        ("agents", "Agents", crate::report::ColumnType::Integer),
    ];

    fn cells(&self) -> Vec<crate::report::Cell> {
        vec![
            self.rule_id.as_str().into(),
            self.decisions.into(),
            self.blocked.into(),
            self.approval_required.into(),
            self.warned.into(),
            self.agents.into(),
        ]
    }
}

/// `agent-activity-digest`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigestSections {
    /// Decisions.
    pub decision_count: usize,
    /// Active agents.
    pub agent_count: usize,
    /// Days with activity.
    pub day_count: usize,
    /// Near misses.
    pub near_misses: usize,
    /// Most cited rules.
    pub top_rules: Vec<RuleCount>,
}
