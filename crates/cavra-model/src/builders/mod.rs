//! One builder per report kind, all over the same [`Report`] model.

mod board;
mod brief;
mod coverage;
mod digest;
mod drift;
mod exceptions;
mod freshness;
mod incident;
mod register;
mod soc2;

pub use digest::NEAR_MISS_ROWS;
pub(crate) use digest::{decision_row, DigestAcc};

use sha2::{Digest, Sha256};

use crate::input::{ExceptionStatus, IncidentStatus};
use crate::posture::Finding;
use crate::report::{
    Block, Cell, Classification, ColumnType, Dataset, Kpi, Report, ReportKind, ReportMeta, RowFilter, TableRef,
};
use crate::sections::{PortalOverview, Sections};
use crate::{Posture, Snapshot};

/// Presentation options shared by every builder.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Branding line printed on every report.
    pub branding: String,
    /// Legal footer printed on every report.
    pub legal_footer: String,
    /// Overrides the kind's default classification.
    pub classification: Option<Classification>,
    /// Presentation: accent colour, logo, display time zone, paper size.
    pub theme: crate::theme::Theme,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            branding: "CAVRA Report Center".into(),
            legal_footer: "Built from AI-agent activity metadata only; no prompts, model reasoning, tool output or secrets are included.".into(),
            classification: None,
            theme: crate::theme::Theme::default(),
        }
    }
}

/// Builds one report kind from a snapshot and its posture.
///
/// The result is a pure function of the inputs: the same snapshot and options
/// always give an identical report.
pub fn build_report(kind: ReportKind, snapshot: &Snapshot, posture: &Posture, options: &ReportOptions) -> Report {
    let ctx = Ctx { snapshot, posture, options };
    let mut report = match kind {
        ReportKind::ExecutiveRiskBrief => brief::build(&ctx),
        ReportKind::BoardKpiPack => board::build(&ctx),
        ReportKind::Soc2AuditSummary => soc2::build(&ctx),
        ReportKind::ControlCoverage => coverage::build(&ctx),
        ReportKind::EvidenceFreshness => freshness::build(&ctx),
        ReportKind::AgentRiskRegister => register::build(&ctx),
        ReportKind::IncidentPacket => incident::build(&ctx),
        ReportKind::ExceptionReport => exceptions::build(&ctx),
        ReportKind::PolicyDriftReport => drift::build(&ctx),
        ReportKind::AgentActivityDigest => digest::build(&ctx),
    };
    closing_sections(&mut report, &ctx);
    report
}

/// The agent-activity digest from an accumulator fed with the decisions
/// (see [`crate::stream`]).
pub(crate) fn digest_report(snapshot: &Snapshot, posture: &Posture, options: &ReportOptions, acc: DigestAcc) -> Report {
    let ctx = Ctx { snapshot, posture, options };
    let mut report = digest::finish(&ctx, acc);
    closing_sections(&mut report, &ctx);
    report
}

pub(crate) struct Ctx<'a> {
    pub snapshot: &'a Snapshot,
    pub posture: &'a Posture,
    pub options: &'a ReportOptions,
}

impl Ctx<'_> {
    /// Metadata and an empty body for `kind`.
    pub fn start(
        &self,
        kind: ReportKind,
        schema_version: &str,
        audience: &str,
        classification: Classification,
    ) -> Draft {
        let s = self.snapshot;
        let mut h = Sha256::new();
        for part in [kind.as_str(), s.tenant.tenant_ref.as_str(), self.posture.snapshot_digest.as_str()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let hex = format!("{:x}", h.finalize());
        let meta = ReportMeta {
            report_id: format!("{}-{}", kind.as_str(), &hex[..16]),
            kind: kind.into(),
            title: kind.title().to_string(),
            schema_version: schema_version.to_string(),
            tenant_ref: s.tenant.tenant_ref.clone(),
            tenant_display_name: s.tenant.display_name.clone(),
            generated_at: s.as_of,
            window_start: s.window_start,
            window_end: s.window_end,
            audience: audience.to_string(),
            classification: self.options.classification.unwrap_or(classification),
            branding: self.options.branding.clone(),
            legal_footer: self.options.legal_footer.clone(),
            data_provenance: s.data_provenance,
            redaction: s.redaction.clone(),
            data_quality: s.warnings.clone(),
            snapshot_digest: self.posture.snapshot_digest.clone(),
        };
        let blocks = vec![heading(1, &format!("{} — {}", kind.title(), s.tenant.display_name))];
        let source = match s.data_provenance {
            crate::input::DataProvenance::LocalActivityStore => "the local activity store",
            crate::input::DataProvenance::SampleData => "sample data",
            crate::input::DataProvenance::ConnectorExport => "a connector export",
            crate::input::DataProvenance::ReportCenterRecords => "the report center's records",
        };
        let mut report = Draft { meta, blocks, datasets: Vec::new(), theme: self.options.theme.clone() };
        let intro = format!(
            "Reporting window {}; generated {} from {source}. Classification: {}.",
            report.window_label(),
            report.theme.show_time(s.as_of),
            report.meta.classification.as_str()
        );
        report.blocks.push(para(&intro));
        report
    }

    /// The portal's overview object.
    pub fn portal_overview(&self) -> PortalOverview {
        let o = &self.posture.overview;
        PortalOverview {
            posture_score: o.posture_score,
            risk_level: o.risk_level,
            total_sessions: o.total_sessions,
            total_decisions: o.total_decisions,
            blocked_actions: o.blocked_actions,
            approval_required_actions: o.approval_required_actions,
            risk_findings: o.risk_findings,
            evidence_confidence: o.evidence_confidence,
        }
    }

    /// The headline KPI tiles.
    pub fn overview_kpis(&self) -> Vec<Kpi> {
        let o = &self.posture.overview;
        vec![
            kpi(
                "Posture score (normalised)",
                format!("{}/100", o.normalised_score),
                format!("{} risk; penalty per decision volume", o.normalised_level),
            ),
            kpi(
                "Posture score (compatibility)",
                format!("{}/100", o.posture_score),
                format!("{} risk; saturates at 0", o.risk_level),
            ),
            kpi("Sessions", o.total_sessions.to_string(), "agent sessions in the snapshot".into()),
            kpi("Decisions", o.total_decisions.to_string(), "policy decisions in the window".into()),
            kpi("Blocked actions", o.blocked_actions.to_string(), "stopped by policy".into()),
            kpi("Approval required", o.approval_required_actions.to_string(), "held for an approver".into()),
            kpi("Risk findings", o.risk_findings.to_string(), "block, approval, warn, or critical/high".into()),
            kpi(
                "Evidence confidence",
                format!("{}/100", o.evidence_confidence_score),
                o.evidence_confidence.as_str().replace('_', " "),
            ),
        ]
    }

    pub fn open_incidents(&self) -> usize {
        self.snapshot
            .incidents
            .iter()
            .filter(|i| matches!(i.status, IncidentStatus::Open | IncidentStatus::Contained))
            .count()
    }

    pub fn active_exceptions(&self) -> usize {
        self.snapshot
            .exceptions
            .iter()
            .filter(|x| matches!(x.status, ExceptionStatus::Active | ExceptionStatus::Approved))
            .count()
    }

    /// Exceptions still in force although their expiry has passed.
    pub fn expired_but_active(&self) -> usize {
        self.snapshot
            .exceptions
            .iter()
            .filter(|x| {
                matches!(x.status, ExceptionStatus::Active | ExceptionStatus::Approved)
                    && x.expires_at < self.snapshot.as_of
            })
            .count()
    }
}

/// A report under construction: everything but the kind's sections, which
/// [`Draft::finish`] takes once the builder has computed them.
pub(crate) struct Draft {
    pub meta: ReportMeta,
    pub blocks: Vec<Block>,
    pub datasets: Vec<Dataset>,
    pub theme: crate::theme::Theme,
}

impl Draft {
    /// The reporting window as documents show it.
    pub fn window_label(&self) -> String {
        crate::report::window_label(&self.theme, &self.meta)
    }

    /// The finished report.
    ///
    /// # Panics
    /// When a table block names a dataset or column the report does not
    /// have ([`Report::check_tables`]): a builder bug, never caused by input.
    pub fn finish(self, sections: Sections) -> Report {
        let Draft { meta, blocks, datasets, theme } = self;
        let report = Report { meta, sections, blocks, datasets, theme };
        if let Err(e) = report.check_tables() {
            panic!("the {} builder made a table it cannot show: {e}", report.meta.kind);
        }
        report
    }
}

pub(crate) fn heading(level: u8, text: &str) -> Block {
    Block::Heading { level, text: text.into() }
}

pub(crate) fn para(text: &str) -> Block {
    Block::Paragraph { text: text.into() }
}

pub(crate) fn kpi(label: &str, value: String, note: String) -> Kpi {
    Kpi { label: label.into(), value, note }
}

pub(crate) fn list(ordered: bool, items: Vec<String>) -> Block {
    Block::List { ordered, items }
}

pub(crate) fn table(dataset: &str, max_rows: Option<usize>) -> Block {
    Block::Table(TableRef { dataset: dataset.into(), max_rows, columns: Vec::new(), filter: None })
}

/// A table of the rows of `dataset` whose `column` equals `equals`.
pub(crate) fn table_where(dataset: &str, columns: &[&str], column: &str, equals: &str) -> Block {
    Block::Table(TableRef {
        dataset: dataset.into(),
        max_rows: None,
        columns: columns.iter().map(|c| (*c).to_string()).collect(),
        filter: Some(RowFilter { column: column.into(), equals: equals.into() }),
    })
}

/// A table showing only some columns in documents.
pub(crate) fn table_columns(dataset: &str, max_rows: Option<usize>, columns: &[&str]) -> Block {
    Block::Table(TableRef {
        dataset: dataset.into(),
        max_rows,
        columns: columns.iter().map(|c| (*c).to_string()).collect(),
        filter: None,
    })
}

/// Findings as a dataset, portal columns first.
pub(crate) fn findings_dataset(name: &str, title: &str, findings: &[&Finding]) -> Dataset {
    Dataset::from_rows(name, title, findings.iter().copied())
}

/// A finding is one row: the portal's keys, then ours. In flat formats the
/// evidence references are joined with `; `; the JSON sections keep them
/// as an array.
impl crate::report::TableRow for Finding {
    const COLUMNS: &'static [(&'static str, &'static str, ColumnType)] = &[
        ("finding_id", "Finding", ColumnType::Text),
        ("decision_id", "Decision", ColumnType::Text),
        ("session_id", "Session", ColumnType::Text),
        ("agent_id", "Agent", ColumnType::Text),
        ("repository", "Repository", ColumnType::Text),
        ("severity", "Severity", ColumnType::Severity),
        ("risk_classification", "Risk classification", ColumnType::Status),
        ("decision", "Decision taken", ColumnType::Status),
        ("rule_id", "Rule", ColumnType::Text),
        ("reason", "Reason", ColumnType::Text),
        ("evidence_refs", "Evidence", ColumnType::Text),
        ("timestamp", "Time", ColumnType::DateTime),
        ("control_surface", "Control surface", ColumnType::Status),
        ("target", "Target", ColumnType::Text),
    ];

    fn cells(&self) -> Vec<Cell> {
        vec![
            self.finding_id().into(),
            self.decision_id().into(),
            self.session_id().clone().into(),
            self.agent_id().into(),
            self.repository().clone().into(),
            self.severity().text().into(),
            self.risk_classification.text().into(),
            self.decision().text().into(),
            self.rule_id().clone().into(),
            self.reason().clone().into(),
            self.evidence_refs().join("; ").into(),
            self.timestamp().into(),
            self.control_surface.text().into(),
            self.target.clone().into(),
        ]
    }
}

/// Data-quality and provenance sections every document ends with.
fn closing_sections(report: &mut Report, ctx: &Ctx) {
    let s = ctx.snapshot;
    report.blocks.push(heading(2, "Data quality"));
    let mut notes: Vec<String> = s.warnings.clone();
    if s.redaction.total > 0 {
        let kinds: Vec<String> = s.redaction.by_kind.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        notes.push(format!(
            "the safety gate redacted {} value(s) in the input ({}); they are marked [redacted:<kind>]",
            s.redaction.total,
            kinds.join(", ")
        ));
    }
    if notes.is_empty() {
        report.blocks.push(para("No data-quality problems were found: every link between decisions, sessions, incidents and exceptions resolves."));
    } else {
        report.blocks.push(list(false, notes));
    }
    report.blocks.push(heading(2, "About this report"));
    report.blocks.push(list(
        false,
        vec![
            format!("Report id: {}", report.meta.report_id),
            format!("Snapshot digest: {}", report.meta.snapshot_digest),
            format!("Audience: {}; classification: {}", report.meta.audience, report.meta.classification.as_str()),
            "People are never named: actors are not shown, and agent activity is reported per agent.".into(),
            report.meta.legal_footer.clone(),
        ],
    ));
}

pub(crate) fn cell_int(n: usize) -> Cell {
    Cell::from(n)
}
