//! Evidence freshness SLO (POSTURE.md, "Evidence freshness SLO").

use std::collections::BTreeSet;

use serde::Serialize;

use crate::input::Timestamp;
use crate::Snapshot;
use crate::Text;

crate::input::string_enum! {
    /// How recent an item's evidence is.
    FreshnessStatus {
        /// No usable timestamp.
        TimestampMissing => "timestamp_missing",
        /// ≤ 24 hours.
        Fresh => "fresh",
        /// ≤ 168 hours.
        ReviewSoon => "review_soon",
        /// Older.
        Stale => "stale",
    }
}

crate::input::string_enum! {
    /// How an item's evidence is retained.
    RetentionStatus {
        /// An archive, immutable or object-store reference.
        RetainedReference => "retained_reference",
        /// A `sample://` reference.
        SampleReference => "sample_reference",
        /// Some other reference.
        EvidenceRefOnly => "evidence_ref_only",
        /// No reference.
        MetadataOnly => "metadata_only",
    }
}

crate::input::string_enum! {
    /// Service-level status of an item.
    SloStatus {
        /// Stale, timestamp missing or metadata only.
        Breached => "breached",
        /// Review soon, sample or reference only.
        Monitor => "monitor",
        /// Fresh and retained.
        Met => "met",
    }
}

impl FreshnessStatus {
    /// 100 fresh, 68 review soon, 18 stale, 0 missing.
    pub fn score(self) -> i64 {
        match self {
            FreshnessStatus::Fresh => 100,
            FreshnessStatus::ReviewSoon => 68,
            FreshnessStatus::Stale => 18,
            FreshnessStatus::TimestampMissing => 0,
        }
    }

    /// Status of an age in hours (`None` = no timestamp).
    pub fn of(age_hours: Option<i64>) -> FreshnessStatus {
        match age_hours {
            None => FreshnessStatus::TimestampMissing,
            Some(h) if h <= 24 => FreshnessStatus::Fresh,
            Some(h) if h <= 168 => FreshnessStatus::ReviewSoon,
            Some(_) => FreshnessStatus::Stale,
        }
    }
}

impl RetentionStatus {
    /// 100 retained, 45 sample, 38 reference only, 0 metadata only.
    pub fn score(self) -> i64 {
        match self {
            RetentionStatus::RetainedReference => 100,
            RetentionStatus::SampleReference => 45,
            RetentionStatus::EvidenceRefOnly => 38,
            RetentionStatus::MetadataOnly => 0,
        }
    }

    /// Retention of a set of references, strongest first.
    pub fn of(refs: &[Text]) -> RetentionStatus {
        const RETAINED: [&str; 5] = ["archive://", "immutable://", "s3://", "gs://", "azblob://"];
        if refs.iter().any(|r| RETAINED.iter().any(|p| r.starts_with(p))) {
            RetentionStatus::RetainedReference
        } else if refs.iter().any(|r| r.starts_with("sample://")) {
            RetentionStatus::SampleReference
        } else if !refs.is_empty() {
            RetentionStatus::EvidenceRefOnly
        } else {
            RetentionStatus::MetadataOnly
        }
    }
}

impl SloStatus {
    fn of(f: FreshnessStatus, r: RetentionStatus) -> SloStatus {
        if matches!(f, FreshnessStatus::Stale | FreshnessStatus::TimestampMissing) || r == RetentionStatus::MetadataOnly
        {
            SloStatus::Breached
        } else if f == FreshnessStatus::ReviewSoon
            || matches!(r, RetentionStatus::SampleReference | RetentionStatus::EvidenceRefOnly)
        {
            SloStatus::Monitor
        } else {
            SloStatus::Met
        }
    }

    fn rank(self) -> u8 {
        match self {
            SloStatus::Breached => 0,
            SloStatus::Monitor => 1,
            SloStatus::Met => 2,
        }
    }
}

/// One evidence item: a decision, or a session without decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FreshnessItem {
    /// Decision or session id.
    pub item_id: Text,
    /// `decision` or `session`.
    pub item_type: &'static str,
    /// Freshness.
    pub freshness_status: FreshnessStatus,
    /// Whole hours since observation (half to even), clamped at 0.
    pub age_hours: Option<i64>,
    /// Retention.
    pub retention_status: RetentionStatus,
    /// What to do about it.
    pub recommended_action: &'static str,
    /// SLO status.
    pub slo_status: SloStatus,
    /// When observed.
    pub observed_at: Option<Timestamp>,
    /// Agent.
    pub agent_id: Text,
}

/// Freshness over all items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Freshness {
    /// Items: breached, monitor, met; oldest first; no age last; then id.
    pub items: std::sync::Arc<Vec<FreshnessItem>>,
    /// Rounded mean freshness score.
    pub freshness_score: i64,
    /// Rounded mean retention score.
    pub retention_score: i64,
    /// Items breached.
    pub breached: usize,
    /// Items to monitor.
    pub monitor: usize,
    /// Items met.
    pub met: usize,
}

/// Age in whole hours, rounded half to even, never negative.
pub fn age_hours(as_of: Timestamp, observed: Timestamp) -> i64 {
    let secs = as_of.unix_seconds() - observed.unix_seconds();
    crate::round::half_even(secs as f64 / 3600.0).max(0)
}

fn recommended_action(f: FreshnessStatus, r: RetentionStatus) -> &'static str {
    match (f, r) {
        (FreshnessStatus::TimestampMissing, _) => "record an observation time for this item",
        (_, RetentionStatus::MetadataOnly) => "attach a retained evidence reference (archive or immutable store)",
        (FreshnessStatus::Stale, _) => "re-collect evidence; the latest observation is older than 7 days",
        (FreshnessStatus::ReviewSoon, _) => "review before the evidence turns stale",
        (FreshnessStatus::Fresh, RetentionStatus::SampleReference) => {
            "replace sample evidence with production evidence"
        }
        (FreshnessStatus::Fresh, RetentionStatus::EvidenceRefOnly) => "move the evidence into retained storage",
        (FreshnessStatus::Fresh, RetentionStatus::RetainedReference) => "no action needed",
    }
}

fn item(
    item_id: &Text,
    item_type: &'static str,
    agent_id: &Text,
    observed: Option<Timestamp>,
    refs: &[Text],
    as_of: Timestamp,
) -> FreshnessItem {
    let age = observed.map(|t| age_hours(as_of, t));
    let f = FreshnessStatus::of(age);
    let r = RetentionStatus::of(refs);
    FreshnessItem {
        item_id: item_id.clone(),
        item_type,
        freshness_status: f,
        age_hours: age,
        retention_status: r,
        recommended_action: recommended_action(f, r),
        slo_status: SloStatus::of(f, r),
        observed_at: observed,
        agent_id: super::agent_text(agent_id),
    }
}

impl Freshness {
    /// Computes the SLO over decisions and decision-less sessions.
    pub fn compute(snapshot: &Snapshot) -> Freshness {
        let as_of = snapshot.as_of;
        let with_decisions: BTreeSet<&str> = snapshot.decisions.iter().map(|d| d.session_id.as_str()).collect();
        let mut items: Vec<FreshnessItem> =
            snapshot
                .decisions
                .iter()
                .map(|d| item(&d.decision_id, "decision", &d.agent_id, Some(d.timestamp), &d.evidence_refs, as_of))
                .chain(
                    snapshot.sessions.iter().filter(|s| !with_decisions.contains(s.session_id.as_str())).map(|s| {
                        item(&s.session_id, "session", &s.agent_id, Some(s.updated_at), &s.evidence_refs, as_of)
                    }),
                )
                .collect();
        items.shrink_to_fit(); // the chain's size hint counts decisions only
        items.sort_by(|a, b| {
            a.slo_status
                .rank()
                .cmp(&b.slo_status.rank())
                .then_with(|| match (a.age_hours, b.age_hours) {
                    (Some(x), Some(y)) => y.cmp(&x),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then_with(|| a.item_id.cmp(&b.item_id))
        });
        let n = items.len();
        let fsum = items.iter().map(|i| i.freshness_status.score()).sum();
        let rsum = items.iter().map(|i| i.retention_status.score()).sum();
        let status_count = |s: SloStatus| items.iter().filter(|i| i.slo_status == s).count();
        Freshness {
            freshness_score: crate::round::mean(fsum, n),
            retention_score: crate::round::mean(rsum, n),
            breached: status_count(SloStatus::Breached),
            monitor: status_count(SloStatus::Monitor),
            met: status_count(SloStatus::Met),
            items: std::sync::Arc::new(items),
        }
    }
}
