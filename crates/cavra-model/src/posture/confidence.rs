//! Evidence confidence (POSTURE.md, "Evidence confidence").

use serde::Serialize;

use crate::decisions::DecisionView;

crate::input::string_enum! {
    /// Confidence class of one decision's evidence.
    ConfidenceClass {
        /// A signed reference.
        SignedEvidence => "signed_evidence",
        /// Only sample references.
        SampleEvidenceRefs => "sample_evidence_refs",
        /// Other references.
        ActivityEvidenceRefs => "activity_evidence_refs",
        /// No references at all.
        ActivityMetadataOnly => "activity_metadata_only",
    }
}

crate::input::string_enum! {
    /// Aggregate evidence-confidence label of a set of decisions.
    ConfidenceLabel {
        /// No decisions.
        SampleOrEmpty => "sample_or_empty",
        /// Some `signed://` or `signature` reference.
        SignedEvidence => "signed_evidence",
        /// Some reference.
        ActivityEvidenceRefs => "activity_evidence_refs",
        /// No reference at all.
        ActivityMetadataOnly => "activity_metadata_only",
    }
}

impl ConfidenceClass {
    /// Score of the class: 100, 45, 74 or 28.
    pub fn score(self) -> i64 {
        match self {
            ConfidenceClass::SignedEvidence => 100,
            ConfidenceClass::SampleEvidenceRefs => 45,
            ConfidenceClass::ActivityEvidenceRefs => 74,
            ConfidenceClass::ActivityMetadataOnly => 28,
        }
    }
}

fn starts_with_ci(r: &str, prefix: &str) -> bool {
    r.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn is_signed_ref(r: &str) -> bool {
    starts_with_ci(r, "signed://")
        || super::classify::has(r, &["signature", "sigstore"])
        || r.len() >= 4 && r.get(r.len() - 4..).is_some_and(|e| e.eq_ignore_ascii_case(".sig"))
}

/// The confidence class of one decision, by precedence over all its refs.
pub fn decision_confidence(d: &(impl DecisionView + ?Sized)) -> ConfidenceClass {
    if d.evidence_refs().any(is_signed_ref) {
        ConfidenceClass::SignedEvidence
    } else if d.evidence_refs().any(|r| starts_with_ci(r, "sample://")) {
        ConfidenceClass::SampleEvidenceRefs
    } else if !d.evidence_refs().is_empty() {
        ConfidenceClass::ActivityEvidenceRefs
    } else {
        ConfidenceClass::ActivityMetadataOnly
    }
}

/// Evidence confidence over a set of decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EvidenceConfidence {
    /// Rounded mean of the per-decision scores (0 with no decisions).
    pub score: i64,
    /// Aggregate label.
    pub label: ConfidenceLabel,
}

impl EvidenceConfidence {
    /// Computes score and label over `decisions`.
    pub fn compute<D: DecisionView>(decisions: impl Iterator<Item = D>) -> EvidenceConfidence {
        let (mut sum, mut n, mut signed, mut any_ref) = (0i64, 0usize, false, false);
        for d in decisions {
            sum += decision_confidence(&d).score();
            n += 1;
            for r in d.evidence_refs() {
                any_ref = true;
                if r.starts_with("signed://") || r.contains("signature") {
                    signed = true;
                }
            }
        }
        let label = if n == 0 {
            ConfidenceLabel::SampleOrEmpty
        } else if signed {
            ConfidenceLabel::SignedEvidence
        } else if any_ref {
            ConfidenceLabel::ActivityEvidenceRefs
        } else {
            ConfidenceLabel::ActivityMetadataOnly
        };
        EvidenceConfidence { score: crate::round::mean(sum, n), label }
    }
}
