//! executive-risk-brief: summary, narrative, top findings, actions, limitations.

use super::{findings_dataset, heading, list, para, table_columns, Ctx};
use crate::posture::{CoverageStatus, RiskLevel};
use crate::report::{Block, Chart, ChartKind, Classification, ColumnType, Dataset, Report, ReportKind, Series};
use crate::sections::{BriefOverview, BriefSections, Sections};

pub(super) const TOP_FINDINGS: usize = 8;

pub(super) fn build(ctx: &Ctx) -> Report {
    let p = ctx.posture;
    let o = &p.overview;
    let mut r = ctx.start(
        ReportKind::ExecutiveRiskBrief,
        "cavra.report.executive_risk_brief.v3",
        "executive leadership (CSO, CISO)",
        Classification::Internal,
    );
    let narrative = narrative(ctx, &r.window_label());
    let actions = recommended_actions(ctx);
    let limitations = limitations(ctx);
    // Ours: the brief ranks findings by severity, then newest, so the worst come first.
    let top = super::board::top_risks(&p.findings, TOP_FINDINGS);

    let overview = BriefOverview {
        portal: ctx.portal_overview(),
        normalised_score: o.normalised_score,
        normalised_level: o.normalised_level,
        warned_actions: o.warned_actions,
        evidence_confidence_score: o.evidence_confidence_score,
        agent_count: p.agents.len(),
        coverage_score: p.coverage.coverage_score,
        evidence_freshness_score: p.freshness.freshness_score,
    };

    r.blocks.push(heading(2, "Summary"));
    r.blocks.push(Block::Kpis { items: ctx.overview_kpis() });
    r.blocks.push(heading(2, "Executive narrative"));
    r.blocks.extend(narrative.iter().map(|t| para(t)));
    r.blocks.push(Block::Chart(Chart {
        kind: ChartKind::Bar,
        title: "Findings by risk classification".into(),
        categories: p.findings_by_classification.keys().map(|k| k.as_str().replace('_', " ")).collect(),
        series: vec![Series {
            name: "findings".into(),
            values: p.findings_by_classification.values().map(|v| *v as f64).collect(),
        }],
    }));
    r.blocks.push(heading(2, "Top findings"));
    if top.is_empty() {
        r.blocks.push(para("No findings in this window."));
    } else {
        r.blocks.push(para(&format!(
            "The {} most severe of {} findings, newest first within a severity (findings are block, require-approval and warn decisions, and any critical or high severity decision).",
            top.len(),
            p.findings.len()
        )));
        r.blocks.push(table_columns(
            "top_findings",
            Some(TOP_FINDINGS),
            &["severity", "decision", "agent_id", "repository", "rule_id", "reason", "timestamp"],
        ));
    }
    r.blocks.push(heading(2, "Recommended actions"));
    r.blocks.push(list(true, actions.clone()));
    r.blocks.push(heading(2, "Limitations"));
    r.blocks.push(list(false, limitations.clone()));

    r.datasets.push(findings_dataset("top_findings", "Top findings", &top).held_in("top_findings"));
    let mut metrics = Dataset::new(
        "overview",
        "Overview metrics",
        &[("metric", "Metric", ColumnType::Text), ("value", "Value", ColumnType::Integer)],
    );
    for (k, v) in overview.figures() {
        metrics.push(vec![k.into(), v.into()]);
    }
    // The `overview` section holds these figures, in this order.
    r.datasets.push(metrics.held_in("overview"));
    r.finish(Sections::ExecutiveRiskBrief(BriefSections {
        overview,
        executive_narrative: narrative,
        top_findings: top.into_iter().cloned().collect(),
        recommended_actions: actions,
        limitations,
    }))
}

fn narrative(ctx: &Ctx, window: &str) -> Vec<String> {
    let p = ctx.posture;
    let o = &p.overview;
    let mut out = vec![format!(
        "Across {} agent sessions and {} policy decisions ({}), {} agents were active. Policy blocked {} actions, held {} for approval and warned on {}.",
        o.total_sessions,
        o.total_decisions,
        window,
        p.agents.len(),
        o.blocked_actions,
        o.approval_required_actions,
        o.warned_actions
    )];
    out.push(format!(
        "The normalised posture score is {}/100 ({} risk): the policy penalty as a share of the worst penalty the same volume of decisions could carry. The compatibility score, which subtracts the raw penalty of {} from 100, stands at {}/100 ({} risk); it reaches 0 for any busy tenant and is kept for continuity with earlier reports.",
        o.normalised_score, o.normalised_level, o.penalty, o.posture_score, o.risk_level
    ));
    if let Some((class, n)) = p.findings_by_classification.iter().filter(|(_, n)| **n > 0).max_by_key(|(_, n)| **n) {
        out.push(format!(
            "{} decisions are findings; the largest group is {} ({n}).",
            o.risk_findings,
            class.as_str().replace('_', " ")
        ));
    }
    if let Some(a) = p.agents.first() {
        let critical = p.agents.iter().filter(|a| a.blast_radius_level == RiskLevel::Critical).count();
        out.push(format!(
            "The widest blast radius belongs to agent {} ({}/100, {}); {critical} of {} agents are at critical blast radius.",
            a.agent_id,
            a.blast_radius_score,
            a.blast_radius_level,
            p.agents.len()
        ));
    }
    let unobserved =
        p.coverage.surfaces.iter().filter(|s| s.coverage_status == CoverageStatus::NotObservedLocally).count();
    out.push(format!(
        "Control coverage scores {}/100 over six control surfaces ({unobserved} without local observations). Evidence freshness scores {}/100 and retention {}/100; {} evidence items breach the freshness SLO.",
        p.coverage.coverage_score, p.freshness.freshness_score, p.freshness.retention_score, p.freshness.breached
    ));
    out
}

fn recommended_actions(ctx: &Ctx) -> Vec<String> {
    let p = ctx.posture;
    let o = &p.overview;
    let mut out = Vec::new();
    if o.blocked_actions > 0 {
        out.push(format!(
            "Review the {} blocked actions with the owning teams: confirm each block was expected and remove the cause that led the agent there.",
            o.blocked_actions
        ));
    }
    if o.approval_required_actions > 0 {
        out.push(format!(
            "Confirm that the {} actions held for approval reached a named approver role and were decided within policy.",
            o.approval_required_actions
        ));
    }
    let critical: Vec<&str> = p
        .agents
        .iter()
        .filter(|a| a.blast_radius_level == RiskLevel::Critical)
        .take(3)
        .map(|a| a.agent_id.as_str())
        .collect();
    if !critical.is_empty() {
        out.push(format!(
            "Narrow the scope of the agents with critical blast radius (starting with {}): fewer repositories, tools and sensitive targets per agent.",
            critical.join(", ")
        ));
    }
    let gaps: Vec<String> = p
        .coverage
        .surfaces
        .iter()
        .filter(|s| s.coverage_status.is_gap())
        .map(|s| s.surface.as_str().replace('_', " "))
        .collect();
    if !gaps.is_empty() {
        out.push(format!(
            "Extend enforcing policy to the surfaces that are unobserved or warning-only: {}.",
            gaps.join(", ")
        ));
    }
    if p.freshness.breached > 0 {
        out.push(format!(
            "Attach retained, current evidence to the {} items that breach the evidence freshness SLO.",
            p.freshness.breached
        ));
    }
    let expired = ctx.expired_but_active();
    if expired > 0 {
        out.push(format!(
            "Close or formally renew the {expired} policy exceptions that are still in force after their expiry."
        ));
    }
    let open = ctx.open_incidents();
    if open > 0 {
        out.push(format!(
            "Drive the {open} open or contained incidents to resolution and record the closure evidence."
        ));
    }
    if out.is_empty() {
        out.push(
            "Keep the current controls in place and compare against this brief after the next reporting window.".into(),
        );
    }
    out
}

fn limitations(ctx: &Ctx) -> Vec<String> {
    let s = ctx.snapshot;
    let mut out = vec![
        "Built from activity metadata only: prompts, model reasoning, tool output and secrets are never collected or shown.".to_string(),
        format!(
            "Covers the {} decisions inside the reporting window{}.",
            s.decisions.len(),
            if s.decisions_outside_window > 0 {
                format!("; {} decisions outside it were ignored", s.decisions_outside_window)
            } else {
                String::new()
            }
        ),
        "The compatibility posture score saturates at 0 once the penalty exceeds 100; compare periods with the normalised score.".to_string(),
        "Evidence confidence reflects the references recorded with each decision; references are not dereferenced or verified here.".to_string(),
    ];
    if s.data_provenance == crate::input::DataProvenance::SampleData {
        out.push("This report was generated from sample data, not from production activity.".into());
    }
    out
}
