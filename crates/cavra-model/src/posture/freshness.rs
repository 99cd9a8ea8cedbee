//! Evidence freshness SLO (POSTURE.md, "Evidence freshness SLO").

use std::collections::BTreeSet;

use serde::Serialize;

use crate::decisions::SharedDecision;
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
    pub fn of<'a>(refs: impl IntoIterator<Item = &'a str, IntoIter: Clone>) -> RetentionStatus {
        const RETAINED: [&str; 5] = ["archive://", "immutable://", "s3://", "gs://", "azblob://"];
        let refs = refs.into_iter();
        if refs.clone().any(|r| RETAINED.iter().any(|p| r.starts_with(p))) {
            RetentionStatus::RetainedReference
        } else if refs.clone().any(|r| r.starts_with("sample://")) {
            RetentionStatus::SampleReference
        } else if refs.clone().next().is_some() {
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

/// One evidence item: a decision, or a session without decisions. A
/// decision's item refers to the stored decision rather than copying it.
#[derive(Debug, Clone, PartialEq)]
pub struct FreshnessItem {
    source: ItemSource,
    /// Freshness.
    pub freshness_status: FreshnessStatus,
    /// Whole hours since observation (half to even), clamped at 0.
    pub age_hours: Option<i64>,
    /// Retention.
    pub retention_status: RetentionStatus,
    /// SLO status.
    pub slo_status: SloStatus,
}

#[derive(Debug, Clone, PartialEq)]
enum ItemSource {
    Decision(SharedDecision),
    Session(Box<SessionItem>),
}

#[derive(Debug, Clone, PartialEq)]
struct SessionItem {
    /// Its position among the snapshot's sessions.
    index: usize,
    session_id: Text,
    agent_id: Text,
    observed_at: Timestamp,
}

impl FreshnessItem {
    /// Decision or session id.
    pub fn item_id(&self) -> &str {
        match &self.source {
            ItemSource::Decision(d) => d.get().decision_id(),
            ItemSource::Session(s) => &s.session_id,
        }
    }

    /// `decision` or `session`.
    pub fn item_type(&self) -> &'static str {
        match &self.source {
            ItemSource::Decision(_) => "decision",
            ItemSource::Session(_) => "session",
        }
    }

    /// Agent (`unknown-agent` for an empty id).
    pub fn agent_id(&self) -> Text {
        match &self.source {
            ItemSource::Decision(d) => super::agent_text(d.get().agent_id()),
            ItemSource::Session(s) => super::agent_text(&s.agent_id),
        }
    }

    /// When observed.
    pub fn observed_at(&self) -> Option<Timestamp> {
        match &self.source {
            ItemSource::Decision(d) => Some(d.get().timestamp()),
            ItemSource::Session(s) => Some(s.observed_at),
        }
    }

    /// What to do about it.
    pub fn recommended_action(&self) -> &'static str {
        recommended_action(self.freshness_status, self.retention_status)
    }
}

impl Serialize for FreshnessItem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FreshnessItem", 9)?;
        st.serialize_field("item_id", self.item_id())?;
        st.serialize_field("item_type", self.item_type())?;
        st.serialize_field("freshness_status", &self.freshness_status)?;
        st.serialize_field("age_hours", &self.age_hours)?;
        st.serialize_field("retention_status", &self.retention_status)?;
        st.serialize_field("recommended_action", self.recommended_action())?;
        st.serialize_field("slo_status", &self.slo_status)?;
        st.serialize_field("observed_at", &self.observed_at())?;
        st.serialize_field("agent_id", &self.agent_id())?;
        st.end()
    }
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

fn item<'a>(
    source: ItemSource,
    observed: Timestamp,
    refs: impl Iterator<Item = &'a str> + Clone,
    as_of: Timestamp,
) -> FreshnessItem {
    let age = Some(age_hours(as_of, observed));
    let f = FreshnessStatus::of(age);
    let r = RetentionStatus::of(refs);
    FreshnessItem { source, freshness_status: f, age_hours: age, retention_status: r, slo_status: SloStatus::of(f, r) }
}

impl Freshness {
    /// Computes the SLO over decisions and decision-less sessions.
    pub fn compute(snapshot: &Snapshot) -> Freshness {
        let as_of = snapshot.as_of;
        let decisions = &snapshot.decisions;
        let with_decisions: BTreeSet<&str> = decisions.iter().map(|d| d.session_id().as_str()).collect();
        let mut items: Vec<FreshnessItem> = Vec::with_capacity(decisions.len());
        for d in decisions {
            let source = ItemSource::Decision(decisions.share(d.index()).expect("an index below the length"));
            items.push(item(source, d.timestamp(), d.evidence_refs(), as_of));
        }
        for (index, s) in snapshot.sessions.iter().enumerate() {
            if with_decisions.contains(s.session_id.as_str()) {
                continue;
            }
            let source = ItemSource::Session(Box::new(SessionItem {
                index,
                session_id: s.session_id.clone(),
                agent_id: s.agent_id.clone(),
                observed_at: s.updated_at,
            }));
            items.push(item(source, s.updated_at, s.evidence_refs.iter().map(Text::as_str), as_of));
        }
        items.shrink_to_fit();
        // Breached, monitor, met; oldest first, no age last; then id. The
        // keys are made once per item, the ids borrowed from the snapshot
        // (looking each up through its item on every comparison cost
        // three cache misses a side at a million decisions).
        let id = |item: &FreshnessItem| -> &str {
            match &item.source {
                ItemSource::Decision(d) => decisions.get(d.index()).map_or("", |d| d.decision_id()),
                ItemSource::Session(s) => snapshot.sessions.get(s.index).map_or("", |x| x.session_id.as_str()),
            }
        };
        items.sort_by_cached_key(|item| {
            let age = match item.age_hours {
                Some(h) => (false, std::cmp::Reverse(h)),
                None => (true, std::cmp::Reverse(0)),
            };
            (item.slo_status.rank(), age, id(item))
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
