//! Each formula pinned with small hand-computed cases; the arithmetic is in
//! the comment beside each expected value.

use super::*;
use crate::input::{
    Decision, DecisionKind as K, RawSnapshot, SchemaVersion, Session, SessionState, Severity as S, Tenant, Timestamp,
};
use crate::posture::tests_support::decision;
use crate::{LoadOptions, Snapshot};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn d(id: &str, kind: K, sev: S) -> Decision {
    let mut x = decision();
    x.decision_id = id.into();
    x.decision = kind;
    x.severity = sev;
    x
}

fn session(id: &str, agent: &str, repo: &str, updated: &str) -> Session {
    Session {
        session_id: id.into(),
        agent_id: agent.into(),
        actor: "dev".into(),
        repository: repo.into(),
        policy_pack: "baseline".into(),
        state: SessionState::Completed,
        started_at: t(updated),
        updated_at: t(updated),
        decision_count: None,
        blocked_count: None,
        approval_required_count: None,
        evidence_refs: Vec::new(),
        x_extensions: None,
    }
}

fn snapshot(decisions: Vec<Decision>, sessions: Vec<Session>) -> Snapshot {
    let raw = RawSnapshot {
        schema_version: SchemaVersion,
        tenant: Tenant {
            tenant_ref: "tenant:t".into(),
            display_name: "T".into(),
            timezone: "UTC".into(),
            x_extensions: None,
        },
        as_of: t("2026-11-01T00:00:00Z"),
        window: None,
        data_provenance: None,
        sessions,
        decisions: Some(decisions),
        exceptions: Vec::new(),
        incidents: Vec::new(),
        policy_baselines: Vec::new(),
        x_extensions: None,
    };
    Snapshot::from_raw(raw, None, &LoadOptions::default()).unwrap()
}

#[test]
fn score_and_level_block_critical_plus_approval_high() {
    let mut a = d("a", K::Block, S::Critical);
    a.timestamp = t("2026-10-31T00:00:00Z");
    let b = d("b", K::RequireApproval, S::High);
    let p = Posture::compute(&snapshot(vec![a, b], vec![]));
    // penalty 16+10 for the decisions + 30+18 for the two findings = 74
    assert_eq!(p.overview.penalty, 74);
    // score 100 − 74 = 26, below 40 → critical
    assert_eq!(p.overview.posture_score, 26);
    assert_eq!(p.overview.risk_level, RiskLevel::Critical);
    // normalised: 100 − 100·74/(46·2) = 100 − 80.43 = 19.57 → 20
    assert_eq!(p.overview.normalised_score, 20);
    assert_eq!(p.overview.risk_findings, 2);
    // newest first: b (2026-11-01) before a (2026-10-31)
    assert_eq!(p.findings[0].finding_id(), "finding-b");
}

#[test]
fn non_findings_add_only_decision_weight() {
    // allow/low: 0; audit_only/medium: 2 (not a finding); attestation/low: 1 → penalty 3, score 97
    let p = Posture::compute(&snapshot(
        vec![d("a", K::Allow, S::Low), d("b", K::AuditOnly, S::Medium), d("c", K::AllowWithAttestation, S::Low)],
        vec![],
    ));
    assert_eq!(p.overview.penalty, 3);
    assert_eq!(p.overview.posture_score, 97);
    assert_eq!(p.overview.risk_findings, 0);
    // warn/low is a finding: 5 + 3 = 8 → 92, low
    let p = Posture::compute(&snapshot(vec![d("w", K::Warn, S::Low)], vec![]));
    assert_eq!(p.overview.posture_score, 92);
    assert_eq!(p.overview.risk_level, RiskLevel::Low);
    // allow/high is a finding by severity: 0 + 18 = 18 → 82, medium
    let p = Posture::compute(&snapshot(vec![d("h", K::Allow, S::High)], vec![]));
    assert_eq!(p.overview.posture_score, 82);
    assert_eq!(p.overview.risk_level, RiskLevel::Medium);
}

#[test]
fn score_saturates_but_normalised_does_not() {
    // 10 block/critical decisions: penalty 10·(16+30) = 460 → clamp(100−460) = 0
    let ds: Vec<Decision> = (0..10).map(|i| d(&format!("d{i}"), K::Block, S::Critical)).collect();
    let p = Posture::compute(&snapshot(ds, vec![]));
    assert_eq!(p.overview.posture_score, 0);
    // every decision at the maximum: 100 − 100·460/460 = 0
    assert_eq!(p.overview.normalised_score, 0);
    // 9 allow/low + 1 block/critical: penalty 46, compat 54; normalised 100 − 100·46/460 = 90
    let mut ds: Vec<Decision> = (0..9).map(|i| d(&format!("d{i}"), K::Allow, S::Low)).collect();
    ds.push(d("x", K::Block, S::Critical));
    let p = Posture::compute(&snapshot(ds, vec![]));
    assert_eq!(p.overview.posture_score, 54);
    assert_eq!(p.overview.normalised_score, 90);
    assert_eq!(normalised_score(0, 0), 100);
}

#[test]
fn level_thresholds() {
    // ≥85 low, ≥65 medium, ≥40 high, else critical
    for (score, level) in [
        (100, RiskLevel::Low),
        (85, RiskLevel::Low),
        (84, RiskLevel::Medium),
        (65, RiskLevel::Medium),
        (64, RiskLevel::High),
        (40, RiskLevel::High),
        (39, RiskLevel::Critical),
        (0, RiskLevel::Critical),
    ] {
        assert_eq!(posture_level(score), level, "{score}");
    }
}

#[test]
fn classification_rules_first_match_wins() {
    let mut x = decision();
    x.target = "terraform/.ENV".into(); // secret/.env beats terraform (case-insensitive)
    assert_eq!(control_surface(&x), ControlSurface::SensitiveData);
    assert_eq!(risk_classification(&x), RiskClassification::CredentialOrSensitiveDataExposure);
    x.target = "k8s".into();
    x.rule_id = "iac.prod".into();
    assert_eq!(control_surface(&x), ControlSurface::InfrastructureIac);
    assert_eq!(risk_classification(&x), RiskClassification::InfrastructureChangeRisk);
    x.rule_id = "r".into();
    x.target = "kubernetes/deploy".into(); // kubernetes is infra for the surface, not for the risk class
    x.action_type = "shell_command".into();
    assert_eq!(control_surface(&x), ControlSurface::InfrastructureIac);
    assert_eq!(risk_classification(&x), RiskClassification::RuntimeCommandRisk);
    x.target = "x".into();
    x.action_type = "mcp_tool_call".into();
    assert_eq!(control_surface(&x), ControlSurface::McpTools);
    assert_eq!(risk_classification(&x), RiskClassification::ToolOrMcpGovernanceRisk);
    x.action_type = "pull_request".into(); // source control surface, but no `git` → policy violation
    assert_eq!(control_surface(&x), ControlSurface::SourceControl);
    assert_eq!(risk_classification(&x), RiskClassification::PolicyViolation);
    x.action_type = "file_write".into();
    x.target = "feature branch".into();
    assert_eq!(control_surface(&x), ControlSurface::SourceControl);
    x.target = "src/lib.rs".into();
    assert_eq!(control_surface(&x), ControlSurface::GeneralPolicy);
    x.rule_id = "credential.scan".into(); // credential in rule → sensitive surface
    assert_eq!(control_surface(&x), ControlSurface::SensitiveData);
    assert_eq!(risk_classification(&x), RiskClassification::PolicyViolation);
}

#[test]
fn target_redaction() {
    let mut x = decision();
    x.requested_operation = "refresh TOKEN".into();
    assert_eq!(display_target(&x), DisplayTarget { text: "sensitive target redacted".into(), target_redacted: true });
    x.requested_operation = "run".into();
    x.target = Default::default();
    assert_eq!(display_target(&x).text, "target not recorded");
    x.target = "a".repeat(121).into();
    let shown = display_target(&x);
    // 121 > 120 → 117 characters + "..." = 120
    assert_eq!(shown.text, format!("{}...", "a".repeat(117)));
    assert!(shown.target_redacted);
    x.target = "a".repeat(120).into(); // exactly 120 is kept
    assert_eq!(display_target(&x).text.len(), 120);
}

#[test]
fn blast_radius_and_drift() {
    let mut a = d("a", K::Block, S::Critical);
    a.target = "app/.env".into();
    a.action_type = "file_read".into();
    a.repository = "repo-a".into();
    let mut b = d("b", K::RequireApproval, S::High);
    b.target = "terraform/main.tf".into();
    b.action_type = "terraform_apply".into();
    b.repository = "repo-b".into();
    b.tool = Some("tf".into());
    let p = Posture::compute(&snapshot(vec![a, b], vec![]));
    let ag = &p.agents[0];
    // R=2, S=2 (sensitive, infra), T=1: 5 + min(16,6·1)=6 + min(14,5·1)=5 + min(10,0)=0
    // + 18·1 block + 12·1 approval + 0 warns + min(20,16·1)=16 + min(18,12·1)=12
    // + 0 (the approval decision is an approval path) = 74 → high (55–74)
    assert_eq!(ag.blast_radius_score, 74);
    assert_eq!(ag.blast_radius_level, RiskLevel::High);
    // drift: 20·1 + 14·1 + 18·1 critical + 10·1 high = 62; R=2 → +min(12,4)=4;
    // P=1 → 0; S=2 → +min(12,4)=4; A=2 → 0; total 70
    assert_eq!(ag.drift_score, 70);
    assert_eq!(ag.behavior_drift_status, "review_required");
    assert_eq!(ag.drift_status, "review_required");
    assert_eq!(ag.repository_count, 2);

    let mut w = d("w", K::Warn, S::Low);
    w.target = "deploy/secret.yaml".into();
    let p = Posture::compute(&snapshot(vec![w], vec![]));
    let ag = &p.agents[0];
    // 5 + 0 + 0 + 0 + 0 + 0 + 5·1 warn + min(20,16) + 0 + 8 (sensitive, no approval path) = 34 → medium
    assert_eq!(ag.blast_radius_score, 34);
    assert_eq!(ag.blast_radius_level, RiskLevel::Medium);
    // drift 8·1 warn = 8 (< 12) but signals exist → unusual_behavior
    assert_eq!(ag.drift_score, 8);
    assert_eq!(ag.behavior_drift_status, "unusual_behavior");
    assert_eq!(
        ag.drift_signals,
        vec![DriftSignal::WarnedAction, DriftSignal::SensitiveDataAccess, DriftSignal::MetadataOnlyEvidence]
    );
    assert_eq!(ag.drift_status, "baseline");

    // an agent with only a session: blast 5, level low, coverage unknown
    let p = Posture::compute(&snapshot(vec![], vec![session("s", "quiet", "r", "2026-10-30T00:00:00Z")]));
    assert_eq!(p.agents[0].blast_radius_score, 5);
    assert_eq!(p.agents[0].coverage_status, "unknown");
    assert_eq!(p.agents[0].behavior_drift_status, "baseline");
}

#[test]
fn register_order_and_unknown_agent() {
    let mut a = d("a", K::Allow, S::Low);
    a.agent_id = Default::default();
    let mut b = d("b", K::Block, S::Low);
    b.agent_id = "zeta".into();
    let p = Posture::compute(&snapshot(vec![a, b], vec![]));
    // zeta: 5 + 18 = 23 beats unknown-agent: 5
    assert_eq!(p.agents[0].agent_id, "zeta");
    assert_eq!(p.agents[1].agent_id, "unknown-agent");
}

#[test]
fn coverage_status_heat_and_score() {
    let mut a = d("a", K::Block, S::Low);
    a.target = "x/.env".into();
    let p = Posture::compute(&snapshot(vec![a], vec![session("s2", "agent-b", "repo-z", "2026-10-30T00:00:00Z")]));
    let c = &p.coverage;
    assert_eq!(c.surfaces.len(), 6);
    assert_eq!(c.surfaces[0].coverage_status, CoverageStatus::Enforced);
    assert_eq!(c.surfaces[1].coverage_status, CoverageStatus::NotObservedLocally);
    assert_eq!(c.heat_rows.len(), 2);
    // 12 cells: one enforced (100), eleven not observed (0): 100/12 = 8.33 → 8
    assert_eq!(c.coverage_score, 8);
    // gaps: 11 not-observed cells
    assert_eq!(c.top_gaps.len(), 11);
    // precedence: approval beats warn and attestation
    let ds = [d("1", K::Warn, S::Low), d("2", K::RequireApproval, S::Low), d("3", K::AllowWithAttestation, S::Low)];
    assert_eq!(CoverageStatus::of(ds.iter()), CoverageStatus::ApprovalGated);
    assert_eq!(CoverageStatus::of(ds[2..].iter()), CoverageStatus::Attested);
    assert_eq!(CoverageStatus::of([d("4", K::AuditOnly, S::Low)].iter()), CoverageStatus::Observed);
}

#[test]
fn freshness_slo() {
    let mut fresh = d("a-fresh", K::Allow, S::Low);
    fresh.timestamp = t("2026-10-31T21:30:00Z"); // 2.5 h → 2 (half to even)
    fresh.evidence_refs = vec!["archive://x".into()];
    let mut soon = d("b-soon", K::Allow, S::Low);
    soon.timestamp = t("2026-10-30T00:00:00Z"); // 48 h
    soon.evidence_refs = vec!["sample://x".into()];
    let mut stale = d("c-stale", K::Allow, S::Low);
    stale.timestamp = t("2026-10-23T16:00:00Z"); // 200 h
    let sessions = vec![
        session("s-1", "agent-a", "repo-a", "2026-10-01T00:00:00Z"), // has decisions → not an item
        session("s-quiet", "agent-a", "repo-a", "2026-10-22T00:00:00Z"), // 240 h, no refs
    ];
    let p = Posture::compute(&snapshot(vec![fresh, soon, stale], sessions));
    let f = &p.freshness;
    let ids: Vec<&str> = f.items.iter().map(|i| i.item_id()).collect();
    // breached first (oldest first: s-quiet 240 h, c-stale 200 h), then monitor, then met
    assert_eq!(ids, ["s-quiet", "c-stale", "b-soon", "a-fresh"]);
    assert_eq!(f.items[3].age_hours, Some(2));
    assert_eq!(f.items[3].slo_status, SloStatus::Met);
    assert_eq!(f.items[2].freshness_status, FreshnessStatus::ReviewSoon);
    assert_eq!(f.items[2].retention_status, RetentionStatus::SampleReference);
    // freshness: (18 + 18 + 68 + 100) / 4 = 51
    assert_eq!(f.freshness_score, 51);
    // retention: (0 + 0 + 45 + 100) / 4 = 36.25 → 36
    assert_eq!(f.retention_score, 36);
    assert_eq!((f.breached, f.monitor, f.met), (2, 1, 1));
    // a future observation counts as age 0
    assert_eq!(freshness::age_hours(t("2026-11-01T00:00:00Z"), t("2026-11-02T00:00:00Z")), 0);
    // 3.5 h → 4 (half to even)
    assert_eq!(freshness::age_hours(t("2026-11-01T00:00:00Z"), t("2026-10-31T20:30:00Z")), 4);
}

#[test]
fn evidence_confidence() {
    let mut a = d("a", K::Allow, S::Low);
    a.evidence_refs = vec!["ticket://1".into(), "https://x/build.SIG".into()]; // .sig (any case) → signed 100
    let mut b = d("b", K::Allow, S::Low);
    b.evidence_refs = vec!["sample://1".into(), "ticket://2".into()]; // sample beats other refs → 45
    let c = EvidenceConfidence::compute([&a, &b].into_iter());
    // (100 + 45) / 2 = 72.5 → 72 (half to even)
    assert_eq!(c.score, 72);
    // the aggregate label looks only for `signed://` or `signature`: neither here → refs
    assert_eq!(c.label, ConfidenceLabel::ActivityEvidenceRefs);
    let mut s = d("s", K::Allow, S::Low);
    s.evidence_refs = vec!["signed://e/1".into()];
    let none = d("n", K::Allow, S::Low);
    let c = EvidenceConfidence::compute([&s, &none].into_iter());
    // (100 + 28) / 2 = 64
    assert_eq!(c.score, 64);
    assert_eq!(c.label, ConfidenceLabel::SignedEvidence);
    let empty: [&Decision; 0] = [];
    assert_eq!(EvidenceConfidence::compute(empty.into_iter()).label, ConfidenceLabel::SampleOrEmpty);
    assert_eq!(decision_confidence(&none), ConfidenceClass::ActivityMetadataOnly);
}
