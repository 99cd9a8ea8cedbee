//! policy-drift-report: agents whose observed policy digest differs from
//! the approved baseline, behaviour drift per agent, and the scope each agent
//! reached in the window (repositories, surfaces and tools, with the ones
//! first seen in the window marked).

use std::collections::BTreeMap;

use super::{cell_int, heading, para, table, table_columns, Ctx};
use crate::input::{PolicyBaseline, Timestamp};
use crate::posture::{agent_key, control_surface, AgentRisk};
use crate::report::{Block, Cell, Classification, ColumnType, Dataset, Kpi, Report, ReportKind};
use crate::sections::{DriftSections, Sections};

struct Row<'a> {
    agent_id: &'a str,
    risk: Option<&'a AgentRisk>,
    baselines: Vec<&'a PolicyBaseline>,
}

impl Row<'_> {
    fn digest_drift(&self) -> bool {
        self.baselines.iter().any(|b| b.baseline_digest != b.observed_digest)
    }
    fn latest(&self) -> Option<&PolicyBaseline> {
        self.baselines
            .iter()
            .copied()
            .max_by(|a, b| a.observed_at.cmp(&b.observed_at).then_with(|| a.policy_pack.cmp(&b.policy_pack)))
    }
}

fn short(digest: &str) -> String {
    digest.strip_prefix("sha256:").map_or_else(|| digest.to_string(), |h| format!("sha256:{}", &h[..h.len().min(12)]))
}

/// One (agent, kind, value) item first seen at a time inside the window.
pub(super) type ScopeItems = BTreeMap<(String, &'static str, String), Timestamp>;

pub(super) fn scope_items(ctx: &Ctx) -> ScopeItems {
    let mut items: ScopeItems = BTreeMap::new();
    let mut see = |agent: &str, kind: &'static str, value: String, at: Timestamp| {
        let e = items.entry((agent.to_string(), kind, value)).or_insert(at);
        if at < *e {
            *e = at;
        }
    };
    for d in &ctx.snapshot.decisions {
        let agent = agent_key(d.agent_id());
        if !d.repository().trim().is_empty() {
            see(agent, "repository", d.repository().to_string(), d.timestamp());
        }
        see(agent, "surface", control_surface(&d).as_str().to_string(), d.timestamp());
        if let Some(t) = d.tool().filter(|t| !t.trim().is_empty()) {
            see(agent, "tool", t.to_string(), d.timestamp());
        }
    }
    items
}

/// Whether the snapshot carries activity from before the window to compare with.
pub(super) fn has_history(ctx: &Ctx) -> bool {
    ctx.snapshot.window_start.is_some() && !ctx.snapshot.prior_activity.is_empty()
}

/// Whether an agent's scope item is new in the window; `None` without history.
pub(super) fn is_new(ctx: &Ctx, agent: &str, kind: &str, value: &str) -> Option<bool> {
    if !has_history(ctx) {
        return None;
    }
    Some(match (ctx.snapshot.prior_activity.get(agent), kind) {
        (None, _) => true,
        (Some(p), "repository") => !p.repositories.contains(value),
        (Some(p), "surface") => !p.surfaces.iter().any(|x| x.as_str() == value),
        (Some(p), _) => !p.tools.contains(value),
    })
}

pub(super) fn build(ctx: &Ctx) -> Report {
    let p = ctx.posture;
    let s = ctx.snapshot;
    let mut r = ctx.start(
        ReportKind::PolicyDriftReport,
        "cavra.report.policy_drift_report.v1",
        "platform security and policy owners",
        Classification::Internal,
    );
    let mut by_agent: BTreeMap<&str, Row> = BTreeMap::new();
    for a in &p.agents {
        by_agent
            .insert(a.agent_id.as_str(), Row { agent_id: a.agent_id.as_str(), risk: Some(a), baselines: Vec::new() });
    }
    for b in &s.policy_baselines {
        let key = agent_key(&b.agent_id);
        by_agent.entry(key).or_insert(Row { agent_id: key, risk: None, baselines: Vec::new() }).baselines.push(b);
    }
    let mut rows: Vec<Row> = by_agent.into_values().collect();
    rows.sort_by(|a, b| {
        b.digest_drift()
            .cmp(&a.digest_drift())
            .then(b.risk.map_or(0, |r| r.drift_score).cmp(&a.risk.map_or(0, |r| r.drift_score)))
            .then(b.risk.map_or(0, |r| r.blast_radius_score).cmp(&a.risk.map_or(0, |r| r.blast_radius_score)))
            .then_with(|| a.agent_id.cmp(b.agent_id))
    });

    let history = has_history(ctx);
    let items = scope_items(ctx);
    let is_new = |agent: &str, kind: &str, value: &str| is_new(ctx, agent, kind, value);

    use ColumnType::*;
    let mut d = Dataset::new(
        "agents",
        "Policy and behaviour drift by agent",
        &[
            ("agent_id", "Agent", Text),
            ("digest_drift", "Digest drift", Status),
            ("policy_pack", "Policy pack", Text),
            ("baseline_digest", "Baseline digest", Text),
            ("observed_digest", "Observed digest", Text),
            ("baselined_at", "Baselined", DateTime),
            ("observed_at", "Observed", DateTime),
            ("drift_score", "Drift score", Integer),
            ("behavior_drift_status", "Behaviour drift", Status),
            ("drift_signals", "Drift signals", Text),
            ("blast_radius_score", "Blast radius", Integer),
            ("decision_count", "Decisions", Integer),
            ("new_repositories", "New repositories", Integer),
            ("new_surfaces", "New surfaces", Integer),
            ("new_tools", "New tools", Integer),
        ],
    );
    let new_count = |agent: &str, kind: &str| -> Cell {
        if !history {
            return Cell::Null;
        }
        let n = items.keys().filter(|(a, k, v)| a == agent && *k == kind && is_new(a, k, v) == Some(true)).count();
        cell_int(n)
    };
    for row in &rows {
        let latest = row.latest();
        d.push(vec![
            row.agent_id.into(),
            match (row.baselines.is_empty(), row.digest_drift()) {
                (true, _) => "no_baseline",
                (false, true) => "drifted",
                (false, false) => "matches_baseline",
            }
            .into(),
            Cell::from(latest.map(|b| b.policy_pack.clone())),
            Cell::from(latest.map(|b| short(&b.baseline_digest))),
            Cell::from(latest.map(|b| short(&b.observed_digest))),
            Cell::from(latest.map(|b| b.baselined_at)),
            Cell::from(latest.map(|b| b.observed_at)),
            row.risk.map_or(0, |r| r.drift_score).into(),
            row.risk.map_or("baseline", |r| r.behavior_drift_status).into(),
            row.risk
                .map(|r| r.drift_signals.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; "))
                .unwrap_or_default()
                .into(),
            row.risk.map_or(0, |r| r.blast_radius_score).into(),
            cell_int(row.risk.map_or(0, |r| r.decision_count)),
            new_count(row.agent_id, "repository"),
            new_count(row.agent_id, "surface"),
            new_count(row.agent_id, "tool"),
        ]);
    }
    let mut scope = Dataset::new(
        "scope",
        "Scope reached in the window",
        &[
            ("agent_id", "Agent", Text),
            ("scope_type", "Type", Status),
            ("value", "Value", Text),
            ("first_seen_at", "First seen", DateTime),
            ("new_in_window", "New in window", Status),
        ],
    );
    for ((agent, kind, value), at) in &items {
        let new = match is_new(agent, kind, value) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        scope.push(vec![agent.clone().into(), (*kind).into(), value.clone().into(), (*at).into(), new.into()]);
    }

    let drifted = rows.iter().filter(|r| r.digest_drift()).count();
    let review = rows.iter().filter(|r| r.risk.is_some_and(|x| x.behavior_drift_status == "review_required")).count();
    let unusual = rows.iter().filter(|r| r.risk.is_some_and(|x| x.behavior_drift_status == "unusual_behavior")).count();
    let new_items = items.keys().filter(|(a, k, v)| is_new(a, k, v) == Some(true)).count();
    let sections = DriftSections {
        agent_count: rows.len(),
        digest_drift: drifted,
        behavior_review_required: review,
        behavior_unusual: unusual,
        scope_history_available: history,
        new_scope_items: history.then_some(new_items),
    };

    r.blocks.push(heading(2, "Summary"));
    r.blocks.push(Block::Kpis {
        items: vec![
            Kpi {
                label: "Policy digest drift".into(),
                value: drifted.to_string(),
                note: "observed policy differs from the approved baseline".into(),
            },
            Kpi {
                label: "Behaviour review required".into(),
                value: review.to_string(),
                note: "blocks, approvals or drift ≥ 35".into(),
            },
            Kpi {
                label: "Unusual behaviour".into(),
                value: unusual.to_string(),
                note: "drift signals below review level".into(),
            },
            Kpi {
                label: "New scope items".into(),
                value: if history { new_items.to_string() } else { "n/a".into() },
                note: "repositories, surfaces, tools first seen in the window".into(),
            },
        ],
    });
    r.blocks.push(para(if history {
        "Scope changes compare each agent's activity in the window with its decisions before the window start that the snapshot carries."
    } else {
        "The snapshot carries no decisions before the reporting window, so whether a repository, surface or tool is new cannot be told; the scope table lists what each agent reached and when it was first seen in the window."
    }));
    r.blocks.push(heading(2, "Agents by drift risk"));
    r.blocks.push(table_columns(
        "agents",
        Some(50),
        &[
            "agent_id",
            "digest_drift",
            "policy_pack",
            "baseline_digest",
            "observed_digest",
            "drift_score",
            "behavior_drift_status",
            "blast_radius_score",
        ],
    ));
    r.blocks.push(heading(2, "Scope reached in the window"));
    r.blocks.push(table("scope", Some(60)));
    r.datasets.push(d);
    r.datasets.push(scope);
    r.finish(Sections::PolicyDriftReport(sections))
}
