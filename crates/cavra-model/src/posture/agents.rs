//! Agents: the register, blast radius and behaviour drift (POSTURE.md, "Agents").

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::classify::{agent_key, control_surface};
use crate::decisions::{DecisionRef, DecisionView};
use crate::input::{ControlSurface, DecisionKind, Session, Severity, Timestamp};
use crate::Snapshot;

crate::input::string_enum! {
    /// A four-step risk level.
    RiskLevel {
        /// Critical.
        Critical => "critical",
        /// High.
        High => "high",
        /// Medium.
        Medium => "medium",
        /// Low.
        Low => "low",
    }
}

crate::input::string_enum! {
    /// Why an agent's behaviour drifted.
    DriftSignal {
        /// Some action was blocked.
        BlockedAction => "blocked_action",
        /// Some action needed approval.
        ApprovalGate => "approval_gate",
        /// Some action was warned.
        WarnedAction => "warned_action",
        /// Some decision was critical or high.
        CriticalOrHighDecision => "critical_or_high_decision",
        /// Touched sensitive data.
        SensitiveDataAccess => "sensitive_data_access",
        /// Changed infrastructure.
        InfrastructureChange => "infrastructure_change",
        /// Used MCP servers or tools.
        McpOrToolActivity => "mcp_or_tool_activity",
        /// More than one repository.
        MultiRepositoryActivity => "multi_repository_activity",
        /// More than one policy pack.
        MultiplePolicyPacks => "multiple_policy_packs",
        /// More than two action types.
        BroadActionProfile => "broad_action_profile",
        /// Decisions without any evidence reference.
        MetadataOnlyEvidence => "metadata_only_evidence",
    }
}

/// One agent's register row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRisk {
    /// Agent id (`unknown-agent` when missing).
    pub agent_id: String,
    /// `observed` with decisions, else `unknown`.
    pub coverage_status: &'static str,
    /// `review_required` with any block or approval, else `baseline`.
    pub drift_status: &'static str,
    /// Session records.
    pub session_count: usize,
    /// Decisions.
    pub decision_count: usize,
    /// Blocks.
    pub blocked_actions: usize,
    /// Approvals required.
    pub approval_required_actions: usize,
    /// Warnings.
    pub warned_actions: usize,
    /// Blast radius, 0–100.
    pub blast_radius_score: i64,
    /// Blast radius level.
    pub blast_radius_level: RiskLevel,
    /// Behaviour drift score, 0–100.
    pub drift_score: i64,
    /// `review_required`, `unusual_behavior` or `baseline`.
    pub behavior_drift_status: &'static str,
    /// Drift signals, in declaration order.
    pub drift_signals: Vec<DriftSignal>,
    /// Distinct non-empty repositories (decisions and sessions).
    pub repository_count: usize,
    /// Latest decision timestamp or session update.
    pub last_seen_at: Option<Timestamp>,
    /// Distinct control surfaces touched.
    pub surface_count: usize,
    /// Distinct tools used.
    pub tool_count: usize,
    /// Whether any decision carries an approval route or needed approval.
    pub has_approval_path: bool,
}

#[derive(Default)]
struct Acc<'a> {
    decisions: Vec<DecisionRef<'a>>,
    sessions: Vec<&'a Session>,
}

/// Blast radius level: ≥75 critical, ≥55 high, ≥30 medium, else low.
pub fn blast_level(score: i64) -> RiskLevel {
    match score {
        75.. => RiskLevel::Critical,
        55..=74 => RiskLevel::High,
        30..=54 => RiskLevel::Medium,
        _ => RiskLevel::Low,
    }
}

fn count(ds: &[DecisionRef<'_>], k: DecisionKind) -> usize {
    ds.iter().filter(|d| d.decision() == k).count()
}

fn sev(ds: &[DecisionRef<'_>], s: Severity) -> i64 {
    ds.iter().filter(|d| d.severity() == s).count() as i64
}

pub(super) fn compute(snapshot: &Snapshot) -> Vec<AgentRisk> {
    let mut by_agent: BTreeMap<&str, Acc> = BTreeMap::new();
    for d in &snapshot.decisions {
        by_agent.entry(agent_key(d.agent_id())).or_default().decisions.push(d);
    }
    for s in &snapshot.sessions {
        by_agent.entry(agent_key(&s.agent_id)).or_default().sessions.push(s);
    }
    let mut rows: Vec<AgentRisk> = by_agent.into_iter().map(|(id, acc)| agent_row(id, &acc)).collect();
    rows.sort_by(|a, b| {
        b.blast_radius_score
            .cmp(&a.blast_radius_score)
            .then(b.decision_count.cmp(&a.decision_count))
            .then_with(|| a.agent_id.cmp(&b.agent_id))
    });
    rows
}

fn agent_row(agent_id: &str, acc: &Acc) -> AgentRisk {
    let ds = &acc.decisions;
    let repos: BTreeSet<&str> = ds
        .iter()
        .map(|d| d.repository().as_str())
        .chain(acc.sessions.iter().map(|s| s.repository.as_str()))
        .filter(|r| !r.trim().is_empty())
        .collect();
    let surfaces: Vec<ControlSurface> = ds.iter().map(control_surface).collect();
    let distinct_surfaces: BTreeSet<ControlSurface> = surfaces.iter().copied().collect();
    let tools: BTreeSet<&str> =
        ds.iter().filter_map(|d| d.tool().map(|t| t.as_str())).filter(|t| !t.trim().is_empty()).collect();
    let packs: BTreeSet<&str> = ds
        .iter()
        .map(|d| d.policy_pack().as_str())
        .chain(acc.sessions.iter().map(|s| s.policy_pack.as_str()))
        .filter(|p| !p.trim().is_empty())
        .collect();
    let actions: BTreeSet<&str> = ds.iter().map(|d| d.action_type().as_str()).collect();

    let blocks = count(ds, DecisionKind::Block) as i64;
    let approvals = count(ds, DecisionKind::RequireApproval) as i64;
    let warns = count(ds, DecisionKind::Warn) as i64;
    let attestations = count(ds, DecisionKind::AllowWithAttestation) as i64;
    let sensitive = surfaces.iter().filter(|s| **s == ControlSurface::SensitiveData).count() as i64;
    let infra = surfaces.iter().filter(|s| **s == ControlSurface::InfrastructureIac).count() as i64;
    let mcp = surfaces.contains(&ControlSurface::McpTools);
    let (r, s, t) = (repos.len() as i64, distinct_surfaces.len() as i64, tools.len() as i64);
    let (p, a) = (packs.len() as i64, actions.len() as i64);
    let has_approval_path = ds.iter().any(|d| {
        d.decision() == DecisionKind::RequireApproval
            || d.approval_route().map(|t| t.as_str()).is_some_and(|r| !r.trim().is_empty())
    });

    let blast = (5
        + (6 * (r - 1).max(0)).min(16)
        + (5 * (s - 1).max(0)).min(14)
        + (3 * (t - 1).max(0)).min(10)
        + 18 * blocks
        + 12 * approvals
        + 5 * warns
        + (16 * sensitive).min(20)
        + (12 * infra).min(18)
        + if !has_approval_path && sensitive + infra + approvals > 0 { 8 } else { 0 })
    .clamp(0, 100);

    let critical = sev(ds, Severity::Critical);
    let high = sev(ds, Severity::High);
    let medium = sev(ds, Severity::Medium);
    let mut drift =
        20 * blocks + 14 * approvals + 8 * warns + 4 * attestations + 18 * critical + 10 * high + 4 * medium;
    if r > 1 {
        drift += (4 * (r - 1)).min(12);
    }
    if p > 1 {
        drift += (5 * (p - 1)).min(10);
    }
    if s > 1 {
        drift += (4 * (s - 1)).min(12);
    }
    if a > 2 {
        drift += (3 * (a - 2)).min(10);
    }
    let drift = drift.clamp(0, 100);

    let flags = [
        (DriftSignal::BlockedAction, blocks > 0),
        (DriftSignal::ApprovalGate, approvals > 0),
        (DriftSignal::WarnedAction, warns > 0),
        (DriftSignal::CriticalOrHighDecision, critical + high > 0),
        (DriftSignal::SensitiveDataAccess, sensitive > 0),
        (DriftSignal::InfrastructureChange, infra > 0),
        (DriftSignal::McpOrToolActivity, mcp),
        (DriftSignal::MultiRepositoryActivity, r > 1),
        (DriftSignal::MultiplePolicyPacks, p > 1),
        (DriftSignal::BroadActionProfile, a > 2),
        (DriftSignal::MetadataOnlyEvidence, !ds.is_empty() && ds.iter().all(|d| d.evidence_refs().is_empty())),
    ];
    let signals: Vec<DriftSignal> = flags.iter().filter(|(_, on)| *on).map(|(s, _)| *s).collect();
    let behavior = if blocks > 0 || approvals > 0 || drift >= 35 {
        "review_required"
    } else if !signals.is_empty() || drift >= 12 {
        "unusual_behavior"
    } else {
        "baseline"
    };
    let last_seen_at = ds.iter().map(|d| d.timestamp()).chain(acc.sessions.iter().map(|s| s.updated_at)).max();

    AgentRisk {
        agent_id: agent_id.to_string(),
        coverage_status: if ds.is_empty() { "unknown" } else { "observed" },
        drift_status: if blocks + approvals > 0 { "review_required" } else { "baseline" },
        session_count: acc.sessions.len(),
        decision_count: ds.len(),
        blocked_actions: blocks as usize,
        approval_required_actions: approvals as usize,
        warned_actions: warns as usize,
        blast_radius_score: blast,
        blast_radius_level: blast_level(blast),
        drift_score: drift,
        behavior_drift_status: behavior,
        drift_signals: signals,
        repository_count: repos.len(),
        last_seen_at,
        surface_count: distinct_surfaces.len(),
        tool_count: tools.len(),
        has_approval_path,
    }
}
