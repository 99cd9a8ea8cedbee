//! soc2-audit-summary: control areas with public-safe evidence, the current
//! signal, the Trust Services Criteria each row supports and auditor notes.

use super::{heading, para, table, Ctx};
use crate::frameworks::{surface_clauses, Framework};
use crate::input::{ControlSurface, IncidentStatus};
use crate::posture::{CoverageStatus, SurfaceCoverage};
use crate::report::{Block, Classification, ColumnType, Dataset, Report, ReportKind};
use crate::sections::{ControlArea, Sections, Soc2Sections};

struct Row {
    area: &'static str,
    evidence: String,
    signal: String,
    criteria: &'static str,
    notes: String,
}

fn surface<'a>(ctx: &'a Ctx, s: ControlSurface) -> &'a SurfaceCoverage {
    let i = ControlSurface::ALL.iter().position(|x| *x == s).unwrap_or_default();
    &ctx.posture.coverage.surfaces[i]
}

fn describe(s: &SurfaceCoverage) -> String {
    format!(
        "{}: {} decisions ({} blocked, {} approval-gated, {} warned), {}",
        s.surface.as_str().replace('_', " "),
        s.decision_count,
        s.blocked_actions,
        s.approval_required_actions,
        s.warned_actions,
        s.coverage_status.as_str().replace('_', " ")
    )
}

fn rows(ctx: &Ctx) -> Vec<Row> {
    let p = ctx.posture;
    let sc = surface(ctx, ControlSurface::SourceControl);
    let iac = surface(ctx, ControlSurface::InfrastructureIac);
    let sd = surface(ctx, ControlSurface::SensitiveData);
    let mcp = surface(ctx, ControlSurface::McpTools);
    let gated =
        |s: &SurfaceCoverage| matches!(s.coverage_status, CoverageStatus::Enforced | CoverageStatus::ApprovalGated);
    let incidents = &ctx.snapshot.incidents;
    let closed =
        incidents.iter().filter(|i| matches!(i.status, IncidentStatus::Resolved | IncidentStatus::Closed)).count();
    let overdue = incidents
        .iter()
        .filter(|i| {
            matches!(i.status, IncidentStatus::Open | IncidentStatus::Contained) && i.review_due_at < ctx.snapshot.as_of
        })
        .count();
    vec![
        Row {
            area: "Change management",
            evidence: format!("{}; {}", describe(sc), describe(iac)),
            signal: if gated(sc) && gated(iac) {
                "agent changes to code and infrastructure pass an enforcing or approval gate".into()
            } else {
                "at least one change surface lacks an enforcing or approval gate".into()
            },
            criteria: "CC8.1",
            notes: "Sample the approval-gated decisions and match them to approval records in the change system."
                .into(),
        },
        Row {
            area: "Logical access",
            evidence: format!("{}; {}", describe(sd), describe(mcp)),
            signal: if gated(sd) {
                "agent access to credentials and sensitive files is blocked or approval-gated".into()
            } else {
                "sensitive-data access is not enforced by policy in this window".into()
            },
            criteria: "CC6.1; CC6.3",
            notes: "Targets touching secrets are redacted in every report; confirm the rule set that classifies them."
                .into(),
        },
        Row {
            area: "Monitoring",
            evidence: format!(
                "{} decisions over {} sessions from {} agents; coverage score {}/100",
                p.overview.total_decisions,
                p.overview.total_sessions,
                p.agents.len(),
                p.coverage.coverage_score
            ),
            signal: format!(
                "{} of 6 control surfaces observed; {} gap cells in the heat map",
                p.coverage.surfaces.iter().filter(|s| s.coverage_status != CoverageStatus::NotObservedLocally).count(),
                p.coverage.top_gaps.len()
            ),
            criteria: "CC7.2; CC4.1",
            notes: "Unobserved surfaces mean no local decisions were recorded, not that activity was absent.".into(),
        },
        Row {
            area: "Evidence integrity",
            evidence: format!(
                "evidence confidence {}/100 ({}); retention score {}/100",
                p.confidence.score,
                p.confidence.label.as_str().replace('_', " "),
                p.freshness.retention_score
            ),
            signal: format!(
                "freshness {}/100; {} items breach the SLO, {} to monitor",
                p.freshness.freshness_score, p.freshness.breached, p.freshness.monitor
            ),
            criteria: "CC2.1; CC7.2",
            notes: format!("Snapshot digest {} identifies the data these figures come from.", p.snapshot_digest),
        },
        Row {
            area: "Incident response",
            evidence: format!("{} incidents recorded, {} resolved or closed", incidents.len(), closed),
            signal: format!("{} open or contained; {} past their review date", ctx.open_incidents(), overdue),
            criteria: "CC7.3; CC7.4; CC7.5",
            notes: "Incident packets list linked decisions by digest for chain of custody.".into(),
        },
    ]
}

pub(super) fn build(ctx: &Ctx) -> Report {
    let mut r = ctx.start(
        ReportKind::Soc2AuditSummary,
        "cavra.report.soc2_audit_summary.v2",
        "external and internal auditors",
        Classification::Confidential,
    );
    let rows = rows(ctx);
    let sections = Soc2Sections {
        controls: rows
            .iter()
            .map(|x| ControlArea {
                control_area: x.area.to_string(),
                public_safe_evidence: x.evidence.clone(),
                current_signal: x.signal.clone(),
                trust_services_criteria: x.criteria.to_string(),
                auditor_notes: x.notes.clone(),
            })
            .collect(),
    };
    r.blocks.push(heading(2, "Scope"));
    r.blocks.push(para(
        "This summary maps AI-agent policy activity to SOC 2-style control areas. Evidence is public-safe metadata: counts, statuses and digests. It supports, and does not replace, the auditor's own testing.",
    ));
    r.blocks.push(heading(2, "Control areas"));
    r.blocks.push(table("controls", None));
    r.blocks.push(heading(2, "Framework coverage"));
    r.blocks.push(para("Each framework clause is shown with the control surfaces that provide evidence for it and the strongest status among them."));
    r.blocks.push(table("framework_coverage", None));
    r.blocks.push(Block::Callout {
        tone: crate::report::Tone::Info,
        text: "Trust Services Criteria references indicate which criteria each row supports; they are not an opinion on design or operating effectiveness.".into(),
    });

    r.datasets
        .push(Dataset::from_rows("controls", "SOC 2-style control areas", &sections.controls).held_in("controls"));

    use ColumnType::*;
    let mut fc = Dataset::new(
        "framework_coverage",
        "Framework coverage",
        &[
            ("framework", "Framework", Text),
            ("clause", "Clause", Text),
            ("surfaces", "Surfaces", Text),
            ("status", "Strongest status", Status),
        ],
    );
    for fw in Framework::ALL {
        let mut clauses: Vec<&str> = ControlSurface::ALL
            .iter()
            .flat_map(|s| surface_clauses(*s).iter().filter(|(f, _)| f == fw).map(|(_, c)| *c))
            .collect();
        clauses.sort_unstable();
        clauses.dedup();
        for clause in clauses {
            let surfaces: Vec<&SurfaceCoverage> = ctx
                .posture
                .coverage
                .surfaces
                .iter()
                .filter(|s| surface_clauses(s.surface).contains(&(*fw, clause)))
                .collect();
            let best = surfaces
                .iter()
                .map(|s| s.coverage_status)
                .max_by_key(|s| s.heat_score())
                .unwrap_or(CoverageStatus::NotObservedLocally);
            fc.push(vec![
                fw.name().into(),
                clause.into(),
                surfaces.iter().map(|s| s.surface.as_str()).collect::<Vec<_>>().join("; ").into(),
                best.as_str().into(),
            ]);
        }
    }
    r.datasets.push(fc);
    r.finish(Sections::Soc2AuditSummary(sections))
}
