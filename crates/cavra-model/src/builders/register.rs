//! agent-risk-register: one row per agent, portal columns first.

use super::{cell_int, heading, para, table_columns, Ctx};

/// The register's columns a document shows, in order: who the agent is,
/// how it is governed, what it did and how far it reaches. The data forms
/// hold every column (sessions, surfaces, tools, repositories, drift
/// signals among them).
const AGENTS_VIEW: &[&str] = &[
    "agent_id",
    "coverage_status",
    "drift_status",
    "decision_count",
    "blocked_actions",
    "approval_required_actions",
    "warned_actions",
    "blast_radius_score",
    "blast_radius_level",
    "drift_score",
    "last_seen_at",
    "has_approval_path",
];
use crate::posture::RiskLevel;
use crate::report::{
    Block, Cell, Chart, ChartKind, Classification, ColumnType, Dataset, Kpi, Report, ReportKind, Series,
};
use crate::sections::{LevelCounts, RegisterSections, Sections};

const CHART_AGENTS: usize = 12;

pub(super) fn build(ctx: &Ctx) -> Report {
    let p = ctx.posture;
    let mut r = ctx.start(
        ReportKind::AgentRiskRegister,
        "cavra.report.agent_risk_register.v1",
        "security and platform owners",
        Classification::Internal,
    );
    let level_count = |l: RiskLevel| p.agents.iter().filter(|a| a.blast_radius_level == l).count();
    let review = p.agents.iter().filter(|a| a.behavior_drift_status == "review_required").count();
    let sections = RegisterSections {
        agent_count: p.agents.len(),
        blast_radius_levels: LevelCounts {
            critical: level_count(RiskLevel::Critical),
            high: level_count(RiskLevel::High),
            medium: level_count(RiskLevel::Medium),
            low: level_count(RiskLevel::Low),
        },
        review_required: review,
    };

    r.blocks.push(heading(2, "Summary"));
    r.blocks.push(Block::Kpis {
        items: vec![
            Kpi {
                label: "Agents".into(),
                value: p.agents.len().to_string(),
                note: "with sessions or decisions".into(),
            },
            Kpi {
                label: "Critical blast radius".into(),
                value: level_count(RiskLevel::Critical).to_string(),
                note: "score ≥ 75".into(),
            },
            Kpi {
                label: "High blast radius".into(),
                value: level_count(RiskLevel::High).to_string(),
                note: "score 55–74".into(),
            },
            Kpi {
                label: "Behaviour review required".into(),
                value: review.to_string(),
                note: "blocks, approvals or drift ≥ 35".into(),
            },
        ],
    });
    r.blocks.push(para(
        "Blast radius (0–100) grows with the repositories, control surfaces and tools an agent reaches, its blocked, approval-gated and warned actions, and its sensitive-data and infrastructure activity; it rises further when such an agent has no approval path. The register is sorted by blast radius, then decision count, then agent id.",
    ));
    let shown: Vec<_> = p.agents.iter().take(CHART_AGENTS).collect();
    r.blocks.push(Block::Chart(Chart {
        kind: ChartKind::Bar,
        title: format!("Blast radius, top {} agents", shown.len()),
        categories: shown.iter().map(|a| a.agent_id.clone()).collect(),
        series: vec![Series {
            name: "blast radius".into(),
            values: shown.iter().map(|a| a.blast_radius_score as f64).collect(),
        }],
    }));
    r.blocks.push(heading(2, "Register"));
    r.blocks.push(table_columns("agents", Some(50), AGENTS_VIEW));

    use ColumnType::*;
    let mut d = Dataset::new(
        "agents",
        "Agent risk register",
        &[
            ("agent_id", "Agent", Text),
            ("coverage_status", "Coverage", Status),
            ("drift_status", "Drift", Status),
            ("session_count", "Sessions", Integer),
            ("decision_count", "Decisions", Integer),
            ("blocked_actions", "Blocked", Integer),
            ("approval_required_actions", "Approval required", Integer),
            ("warned_actions", "Warned", Integer),
            ("blast_radius_score", "Blast radius", Integer),
            ("blast_radius_level", "Blast level", Severity),
            ("drift_score", "Drift score", Integer),
            ("repository_count", "Repositories", Integer),
            ("last_seen_at", "Last seen", DateTime),
            ("behavior_drift_status", "Behaviour drift", Status),
            ("drift_signals", "Drift signals", Text),
            ("surface_count", "Surfaces", Integer),
            ("tool_count", "Tools", Integer),
            ("has_approval_path", "Approval path", Status),
        ],
    );
    for a in &p.agents {
        d.push(vec![
            a.agent_id.clone().into(),
            a.coverage_status.into(),
            a.drift_status.into(),
            cell_int(a.session_count),
            cell_int(a.decision_count),
            cell_int(a.blocked_actions),
            cell_int(a.approval_required_actions),
            cell_int(a.warned_actions),
            a.blast_radius_score.into(),
            a.blast_radius_level.as_str().into(),
            a.drift_score.into(),
            cell_int(a.repository_count),
            Cell::from(a.last_seen_at),
            a.behavior_drift_status.into(),
            a.drift_signals.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ").into(),
            cell_int(a.surface_count),
            cell_int(a.tool_count),
            if a.has_approval_path { "yes" } else { "no" }.into(),
        ]);
    }
    r.datasets.push(d);
    r.finish(Sections::AgentRiskRegister(sections))
}
