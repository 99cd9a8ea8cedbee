//! board-kpi-pack: the portal's board KPI contract plus our additions.

use super::{heading, para, table, Ctx};
use crate::posture::{severity_weight, CoverageStatus, Finding};
use crate::report::{Block, Chart, ChartKind, Classification, ColumnType, Dataset, Report, ReportKind, Series};
use crate::sections::{BoardSections, Sections, TopRisk};

const TOP_RISKS: usize = 5;

/// Findings ordered for the board: heaviest severity first, then newest.
pub(super) fn top_risks(findings: &[Finding], n: usize) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = findings.iter().collect();
    // `findings` is already newest first with id tie-breaks; a stable sort keeps that within a severity.
    v.sort_by_key(|f| std::cmp::Reverse(severity_weight(f.severity())));
    v.truncate(n);
    v
}

/// `n` and the noun for that many.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn build(ctx: &Ctx) -> Report {
    let p = ctx.posture;
    let o = &p.overview;
    let mut r = ctx.start(
        ReportKind::BoardKpiPack,
        "cavra.aispm.board_kpi_pack.v1",
        "board of directors",
        Classification::Confidential,
    );
    let observed_surfaces =
        p.coverage.surfaces.iter().filter(|s| s.coverage_status != CoverageStatus::NotObservedLocally).count();
    let risks = top_risks(&p.findings, TOP_RISKS);

    let kpis = [
        ("posture_score", "Posture score (compatibility)", o.posture_score, "points"),
        ("normalised_score", "Posture score (normalised)", o.normalised_score, "points"),
        ("total_sessions", "Agent sessions", o.total_sessions as i64, "count"),
        ("total_decisions", "Policy decisions", o.total_decisions as i64, "count"),
        ("blocked_actions", "Blocked actions", o.blocked_actions as i64, "count"),
        ("approval_required_actions", "Actions held for approval", o.approval_required_actions as i64, "count"),
        ("warned_actions", "Warned actions", o.warned_actions as i64, "count"),
        ("risk_findings", "Risk findings", o.risk_findings as i64, "count"),
        ("evidence_confidence_score", "Evidence confidence", o.evidence_confidence_score, "points"),
        ("agent_count", "Agents", p.agents.len() as i64, "count"),
        ("control_surface_count", "Control surfaces observed (of 6)", observed_surfaces as i64, "count"),
        ("coverage_score", "Control coverage", p.coverage.coverage_score, "points"),
        ("evidence_freshness_score", "Evidence freshness", p.freshness.freshness_score, "points"),
        ("evidence_retention_score", "Evidence retention", p.freshness.retention_score, "points"),
        ("open_incidents", "Open or contained incidents", ctx.open_incidents() as i64, "count"),
        ("active_exceptions", "Exceptions in force", ctx.active_exceptions() as i64, "count"),
        ("expired_exceptions_in_force", "Exceptions in force past expiry", ctx.expired_but_active() as i64, "count"),
    ];
    let sections = BoardSections {
        overview: ctx.portal_overview(),
        agent_count: p.agents.len(),
        control_surface_count: observed_surfaces,
        top_risks: risks
            .iter()
            .map(|f| TopRisk {
                severity: f.severity(),
                risk_classification: f.risk_classification,
                decision: f.decision(),
                agent_id: f.agent_id().to_string(),
                repository: f.repository().to_string(),
            })
            .collect(),
        normalised_level: o.normalised_level,
        decisions_by_kind: p.decisions_by_kind.clone(),
    };

    r.blocks.push(heading(2, "Key figures"));
    r.blocks.push(Block::Kpis { items: ctx.overview_kpis() });
    r.blocks.push(para(&format!(
        "{} {} active; {} of six control surfaces were observed, with a coverage score of {}/100. {} open or contained and {} in force ({} past expiry).",
        counted(p.agents.len(), "agent", "agents"),
        if p.agents.len() == 1 { "was" } else { "were" },
        observed_surfaces,
        p.coverage.coverage_score,
        match ctx.open_incidents() {
            1 => "1 incident is".to_string(),
            n => format!("{n} incidents are"),
        },
        match ctx.active_exceptions() {
            1 => "1 policy exception is".to_string(),
            n => format!("{n} policy exceptions are"),
        },
        ctx.expired_but_active()
    )));
    r.blocks.push(Block::Chart(Chart {
        kind: ChartKind::Donut,
        title: "Decisions by outcome".into(),
        categories: p.decisions_by_kind.keys().map(|k| k.as_str().replace('_', " ")).collect(),
        series: vec![Series {
            name: "decisions".into(),
            values: p.decisions_by_kind.values().map(|v| *v as f64).collect(),
        }],
    }));
    r.blocks.push(Block::Chart(Chart {
        kind: ChartKind::Bar,
        title: "Coverage heat score by control surface".into(),
        categories: p.coverage.surfaces.iter().map(|s| s.surface.as_str().replace('_', " ")).collect(),
        series: vec![Series {
            name: "heat score".into(),
            values: p.coverage.surfaces.iter().map(|s| s.heat_score as f64).collect(),
        }],
    }));
    r.blocks.push(heading(2, "All KPIs"));
    r.blocks.push(table("kpis", None));
    r.blocks.push(heading(2, "Top risks"));
    if risks.is_empty() {
        r.blocks.push(para("No findings in this window."));
    } else {
        r.blocks.push(table("top_risks", None));
    }

    let mut d = Dataset::new(
        "kpis",
        "Board KPIs",
        &[
            ("metric", "Metric", ColumnType::Text),
            ("label", "Label", ColumnType::Text),
            ("value", "Value", ColumnType::Integer),
            ("unit", "Unit", ColumnType::Text),
        ],
    );
    for (k, label, v, unit) in kpis {
        d.push(vec![k.into(), label.into(), v.into(), unit.into()]);
    }
    r.datasets.push(d);
    // Rows in rank order; the contract's `top_risks` section holds them.
    r.datasets.push(Dataset::from_rows("top_risks", "Top risks", &sections.top_risks).held_in("top_risks"));
    r.finish(Sections::BoardKpiPack(sections))
}
