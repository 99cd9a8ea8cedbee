//! Posture analytics: pure functions of a [`Snapshot`] and its `as_of`.
//!
//! Every formula follows the portal's rules so the numbers agree with it;
//! where we go further (the normalised score, deterministic tie-breaks, whole
//! window scope) the rule is documented in `docs/posture.md`.

mod agents;
mod classify;
mod confidence;
mod coverage;
mod freshness;

pub use agents::{AgentRisk, DriftSignal, RiskLevel};
pub use classify::{
    agent_key, agent_text, control_surface, decision_weight, display_target, is_finding, risk_classification,
    severity_weight, target_is_sensitive, DisplayTarget, RiskClassification, TARGET_LABELS,
};
pub use confidence::{decision_confidence, ConfidenceClass, ConfidenceLabel, EvidenceConfidence};
pub use coverage::{Coverage, CoverageStatus, HeatCell, HeatRow, SurfaceCoverage};
pub use freshness::{Freshness, FreshnessItem, FreshnessStatus, RetentionStatus, SloStatus};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decisions::{DecisionRef, DecisionView, SharedDecision};
use crate::input::{ControlSurface, DecisionKind, Severity, Timestamp};
use crate::Snapshot;
use crate::Text;

/// Largest penalty one decision can contribute: block (16) plus a critical
/// finding (30). The normalised score divides by it.
pub const MAX_PENALTY_PER_DECISION: u64 = 46;

/// A decision that needs attention, with its classifications. It refers
/// to the stored decision instead of copying its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    decision: SharedDecision,
    /// Risk classification.
    pub risk_classification: RiskClassification,
    /// Control surface (ours).
    pub control_surface: ControlSurface,
    /// Target after the redaction rule (ours).
    pub target: Text,
    /// Whether the target was redacted or cut (ours).
    pub target_redacted: bool,
}

impl Finding {
    /// The finding for the `index`-th of `decisions` (`None` past the end).
    pub fn of(decisions: &crate::decisions::Decisions, index: usize) -> Option<Finding> {
        let decision = decisions.share(index)?;
        let d = decision.get();
        let target = display_target(&d);
        Some(Finding {
            risk_classification: risk_classification(&d),
            control_surface: control_surface(&d),
            target: target.text,
            target_redacted: target.target_redacted,
            decision,
        })
    }

    /// The source decision.
    pub fn source(&self) -> DecisionRef<'_> {
        self.decision.get()
    }

    /// `finding-<decision_id>`.
    pub fn finding_id(&self) -> String {
        format!("finding-{}", self.decision_id())
    }
    /// Source decision id.
    pub fn decision_id(&self) -> &str {
        self.source().decision_id()
    }
    /// Session.
    pub fn session_id(&self) -> &Text {
        self.source().session_id()
    }
    /// Agent (`unknown-agent` for an empty id).
    pub fn agent_id(&self) -> Text {
        agent_text(self.source().agent_id())
    }
    /// Repository.
    pub fn repository(&self) -> &Text {
        self.source().repository()
    }
    /// Severity.
    pub fn severity(&self) -> Severity {
        self.source().severity()
    }
    /// Decision.
    pub fn decision(&self) -> DecisionKind {
        self.source().decision()
    }
    /// Rule.
    pub fn rule_id(&self) -> &Text {
        self.source().rule_id()
    }
    /// Policy reason.
    pub fn reason(&self) -> &Text {
        self.source().reason()
    }
    /// Evidence references.
    pub fn evidence_refs(&self) -> crate::decisions::EvidenceRefs<'_> {
        self.source().evidence_refs()
    }
    /// When decided.
    pub fn timestamp(&self) -> Timestamp {
        self.source().timestamp()
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Finding", 15)?;
        st.serialize_field("finding_id", &self.finding_id())?;
        st.serialize_field("decision_id", self.decision_id())?;
        st.serialize_field("session_id", self.session_id())?;
        st.serialize_field("agent_id", &self.agent_id())?;
        st.serialize_field("repository", self.repository())?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("risk_classification", &self.risk_classification)?;
        st.serialize_field("decision", &self.decision())?;
        st.serialize_field("rule_id", self.rule_id())?;
        st.serialize_field("reason", self.reason())?;
        st.serialize_field("evidence_refs", &crate::decisions::RefList(self.evidence_refs()))?;
        st.serialize_field("timestamp", &self.timestamp())?;
        st.serialize_field("control_surface", &self.control_surface)?;
        st.serialize_field("target", &self.target)?;
        st.serialize_field("target_redacted", &self.target_redacted)?;
        st.end()
    }
}

/// The headline figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// The portal's score: `clamp(100 − penalty, 0, 100)`.
    pub posture_score: i64,
    /// Level of `posture_score`.
    pub risk_level: RiskLevel,
    /// The non-saturating score (ours): `100 − 100·penalty / (46·decisions)`.
    pub normalised_score: i64,
    /// Level of `normalised_score` with the same thresholds.
    pub normalised_level: RiskLevel,
    /// The raw penalty.
    pub penalty: u64,
    /// Session records.
    pub total_sessions: usize,
    /// Decisions in the window.
    pub total_decisions: usize,
    /// Block decisions.
    pub blocked_actions: usize,
    /// Require-approval decisions.
    pub approval_required_actions: usize,
    /// Warn decisions.
    pub warned_actions: usize,
    /// Findings.
    pub risk_findings: usize,
    /// Aggregate evidence-confidence label.
    pub evidence_confidence: ConfidenceLabel,
    /// Mean evidence-confidence score.
    pub evidence_confidence_score: i64,
}

/// Everything the reports are built from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Posture {
    /// Headline figures.
    pub overview: Overview,
    /// Findings, newest first (ties by decision id).
    pub findings: Vec<Finding>,
    /// Agents in register order (blast radius desc, decisions desc, id).
    pub agents: Vec<AgentRisk>,
    /// Six-surface coverage and the heat map.
    pub coverage: Coverage,
    /// Evidence freshness SLO.
    pub freshness: Freshness,
    /// Evidence confidence.
    pub confidence: EvidenceConfidence,
    /// Decision counts per decision kind (every kind present, zero or not).
    pub decisions_by_kind: BTreeMap<DecisionKind, usize>,
    /// Decision counts per severity (every severity present).
    pub decisions_by_severity: BTreeMap<Severity, usize>,
    /// Finding counts per risk classification (every class present).
    pub findings_by_classification: BTreeMap<RiskClassification, usize>,
    /// `sha256:<hex>` of the snapshot's canonical content (what the reports
    /// were computed from; identical for inline and streamed decisions).
    pub snapshot_digest: String,
}

/// Digest of the snapshot's parsed content, in a fixed field order.
fn snapshot_digest(snapshot: &Snapshot) -> String {
    let mut h = SnapshotHasher::new(snapshot);
    for d in &snapshot.decisions {
        h.add(&d);
    }
    h.finish(snapshot)
}

/// Computes the snapshot digest with the decisions fed one at a time, so a
/// streamed decision file gives the same digest as decisions held in memory.
/// The bytes hashed are the compact JSON of each part, one per line, with the
/// decisions as one JSON array.
pub(crate) struct SnapshotHasher {
    w: std::io::BufWriter<HashWriter>,
    first: bool,
}

impl SnapshotHasher {
    /// Hashes the parts before the decisions (`snapshot.decisions` is ignored).
    pub fn new(snapshot: &Snapshot) -> Self {
        use std::io::Write;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, HashWriter(sha2::Sha256::default()));
        let parts: [&dyn erased::Ser; 6] = [
            &snapshot.tenant,
            &snapshot.as_of,
            &snapshot.window_start,
            &snapshot.window_end,
            &snapshot.data_provenance,
            &snapshot.sessions,
        ];
        for part in parts {
            part.write(&mut w);
            // Writing into a hasher cannot fail.
            let _ = w.write_all(b"\n");
        }
        let _ = w.write_all(b"[");
        SnapshotHasher { w, first: true }
    }

    /// Hashes the next in-window decision.
    pub fn add(&mut self, d: &impl Serialize) {
        use std::io::Write;
        if !self.first {
            let _ = self.w.write_all(b",");
        }
        self.first = false;
        erased::Ser::write(d, &mut self.w);
    }

    /// Hashes the parts after the decisions and returns `sha256:<hex>`.
    pub fn finish(mut self, snapshot: &Snapshot) -> String {
        use sha2::Digest;
        use std::io::Write;
        let _ = self.w.write_all(b"]\n");
        let parts: [&dyn erased::Ser; 3] = [&snapshot.exceptions, &snapshot.incidents, &snapshot.policy_baselines];
        for part in parts {
            part.write(&mut self.w);
            let _ = self.w.write_all(b"\n");
        }
        let _ = self.w.flush();
        let (hasher, _) = self.w.into_parts();
        format!("sha256:{:x}", hasher.0.finalize())
    }
}

struct HashWriter(sha2::Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(&mut self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

mod erased {
    /// Object-safe serialisation into a hasher.
    pub trait Ser {
        fn write(&self, w: &mut dyn std::io::Write);
    }
    impl<T: serde::Serialize> Ser for T {
        fn write(&self, w: &mut dyn std::io::Write) {
            // Serialising plain data into a hasher cannot fail.
            let _ = serde_json::to_writer(w, self);
        }
    }
}

/// Maps a score to a level: ≥85 low, ≥65 medium, ≥40 high, else critical.
pub fn posture_level(score: i64) -> RiskLevel {
    match score {
        85.. => RiskLevel::Low,
        65..=84 => RiskLevel::Medium,
        40..=64 => RiskLevel::High,
        _ => RiskLevel::Critical,
    }
}

/// The posture penalty over a set of decisions.
pub fn penalty<D: DecisionView>(decisions: impl IntoIterator<Item = D>) -> u64 {
    decisions
        .into_iter()
        .map(|d| decision_weight(d.decision()) + if is_finding(&d) { severity_weight(d.severity()) } else { 0 })
        .sum()
}

/// The normalised, non-saturating score: 100 minus the penalty as a
/// percentage of the largest penalty the same number of decisions could
/// carry, rounded half to even; 100 with no decisions.
pub fn normalised_score(penalty: u64, decisions: usize) -> i64 {
    if decisions == 0 {
        return 100;
    }
    let max = (MAX_PENALTY_PER_DECISION * decisions as u64) as f64;
    crate::round::half_even(100.0 - 100.0 * penalty as f64 / max).clamp(0, 100)
}

impl Posture {
    /// Computes every posture figure from a snapshot.
    ///
    /// ```
    /// let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
    ///   "tenant":{"ref":"tenant:demo","display_name":"Demo","timezone":"UTC"},
    ///   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
    /// let snap = cavra_model::Snapshot::from_json_str(text, &Default::default()).unwrap();
    /// let p = cavra_model::Posture::compute(&snap);
    /// assert_eq!(p.overview.posture_score, 100);
    /// assert_eq!(p.coverage.surfaces.len(), 6);
    /// ```
    pub fn compute(snapshot: &Snapshot) -> Posture {
        Posture::compute_on(snapshot, 1)
    }

    /// As [`Posture::compute`], on up to `jobs` threads (the result is the
    /// same whatever the number): the evidence-freshness items and the
    /// snapshot digest, the two passes that grow with the decisions, are
    /// computed beside the rest.
    ///
    /// ```
    /// # use cavra_model::{LoadOptions, Posture, Snapshot};
    /// # let snapshot = Snapshot::from_json_str(include_str!("../../../../examples/sample_snapshot.json"), &LoadOptions::default()).unwrap();
    /// assert_eq!(Posture::compute_on(&snapshot, 2), Posture::compute(&snapshot));
    /// ```
    pub fn compute_on(snapshot: &Snapshot, jobs: usize) -> Posture {
        let side = || (Freshness::compute(snapshot), snapshot_digest(snapshot));
        if jobs > 1 {
            std::thread::scope(|scope| {
                let other = scope.spawn(side);
                let main = Posture::main_part(snapshot);
                let (freshness, digest) = other.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                main.with(freshness, digest)
            })
        } else {
            let (freshness, digest) = side();
            Posture::main_part(snapshot).with(freshness, digest)
        }
    }

    fn main_part(snapshot: &Snapshot) -> MainPart {
        let decisions = &snapshot.decisions;
        // Newest first, then id: sorted on keys made once, so that a
        // comparison does not look the decision up.
        let mut keyed: Vec<(std::cmp::Reverse<Timestamp>, &str, usize)> = decisions
            .iter()
            .filter(is_finding)
            .map(|d| (std::cmp::Reverse(d.timestamp()), d.decision_id(), d.index()))
            .collect();
        keyed.sort_unstable();
        let findings: Vec<Finding> = keyed.into_iter().filter_map(|(_, _, i)| Finding::of(decisions, i)).collect();

        let mut by_kind: BTreeMap<DecisionKind, usize> = DecisionKind::ALL.iter().map(|k| (*k, 0)).collect();
        let mut by_severity: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|k| (*k, 0)).collect();
        for d in decisions {
            *by_kind.entry(d.decision()).or_default() += 1;
            *by_severity.entry(d.severity()).or_default() += 1;
        }
        let mut by_class: BTreeMap<RiskClassification, usize> =
            RiskClassification::ALL.iter().map(|k| (*k, 0)).collect();
        for f in &findings {
            *by_class.entry(f.risk_classification).or_default() += 1;
        }

        let confidence = EvidenceConfidence::compute(decisions.iter());
        let penalty = penalty(decisions);
        let posture_score = (100 - penalty.min(100) as i64).clamp(0, 100);
        let normalised = normalised_score(penalty, decisions.len());
        let overview = Overview {
            posture_score,
            risk_level: posture_level(posture_score),
            normalised_score: normalised,
            normalised_level: posture_level(normalised),
            penalty,
            total_sessions: snapshot.sessions.len(),
            total_decisions: decisions.len(),
            blocked_actions: by_kind[&DecisionKind::Block],
            approval_required_actions: by_kind[&DecisionKind::RequireApproval],
            warned_actions: by_kind[&DecisionKind::Warn],
            risk_findings: findings.len(),
            evidence_confidence: confidence.label,
            evidence_confidence_score: confidence.score,
        };
        MainPart {
            overview,
            findings,
            agents: agents::compute(snapshot),
            coverage: Coverage::compute(snapshot),
            confidence,
            by_kind,
            by_severity,
            by_class,
        }
    }
}

/// Everything but the freshness items and the snapshot digest.
struct MainPart {
    overview: Overview,
    findings: Vec<Finding>,
    agents: Vec<AgentRisk>,
    coverage: Coverage,
    confidence: EvidenceConfidence,
    by_kind: BTreeMap<DecisionKind, usize>,
    by_severity: BTreeMap<Severity, usize>,
    by_class: BTreeMap<RiskClassification, usize>,
}

impl MainPart {
    fn with(self, freshness: Freshness, snapshot_digest: String) -> Posture {
        Posture {
            overview: self.overview,
            findings: self.findings,
            agents: self.agents,
            coverage: self.coverage,
            freshness,
            confidence: self.confidence,
            decisions_by_kind: self.by_kind,
            decisions_by_severity: self.by_severity,
            findings_by_classification: self.by_class,
            snapshot_digest,
        }
    }
}

/// Builders for documentation examples and tests.
#[doc(hidden)]
pub mod tests_support {
    use crate::input::{Decision, DecisionKind, Severity, Timestamp};

    /// A plain `allow`/`low` shell-command decision to tweak in examples.
    pub fn decision() -> Decision {
        Decision {
            decision_id: "d-1".into(),
            session_id: "s-1".into(),
            agent_id: "agent-a".into(),
            actor: "dev-1".into(),
            repository: "repo-a".into(),
            action_type: "shell_command".into(),
            target: "cargo test".into(),
            requested_operation: "run tests".into(),
            policy_pack: "baseline".into(),
            rule_id: "runtime.allow".into(),
            decision: DecisionKind::Allow,
            severity: Severity::Low,
            reason: "allowed".into(),
            timestamp: Timestamp::parse("2026-11-01T00:00:00Z").expect("valid"),
            evidence_refs: Vec::new(),
            tool: None,
            approval_route: None,
            x_extensions: None,
        }
    }
}

#[cfg(test)]
mod tests;
