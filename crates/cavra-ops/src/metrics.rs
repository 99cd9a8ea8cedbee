//! The report center's measures, each a pure function of an
//! [`OpsSnapshot`]. The formulas are in `docs/operations.md`; rates are
//! in percent, truncated to two decimals; latencies in whole seconds;
//! percentiles by nearest rank (the value at position ⌈p·n⌉ of the sorted
//! list), so every figure can be checked by hand.

use cavra_deliver::access::{AccessOutcome, AccessType};
use cavra_model::sections::{Metric, MetricStatus};

use crate::OpsSnapshot;

/// The objectives the measures are held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// Maximum days from an incident's opening to its closure.
    pub incident_closure_days: i64,
    /// Maximum days from a remediation plan to its closure.
    pub remediation_closure_days: i64,
    /// Minimum share of incidents and of remediation plans closed within
    /// their objective's days, percent.
    pub closure_slo_percent: f64,
    /// Minimum delivery success rate, percent.
    pub delivery_success_percent: f64,
    /// Maximum approval latency at the 90th percentile, seconds.
    pub approval_p90_seconds: f64,
    /// Minimum share of finished jobs with a send event in the audit log, percent.
    pub audit_coverage_percent: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            incident_closure_days: 30,
            remediation_closure_days: 14,
            closure_slo_percent: 90.0,
            delivery_success_percent: 99.0,
            approval_p90_seconds: 86_400.0,
            audit_coverage_percent: 100.0,
        }
    }
}

/// `numerator / denominator` in percent, truncated to two decimals; `None` for an empty denominator.
///
/// ```
/// assert_eq!(cavra_ops::metrics::percent(2, 3), Some(66.66));
/// assert_eq!(cavra_ops::metrics::percent(0, 0), None);
/// ```
pub fn percent(numerator: u64, denominator: u64) -> Option<f64> {
    // In u128, so no count overflows; a value of at most 10 000 × 100 fits any float exactly.
    let hundredths = (u128::from(numerator) * 10_000 / u128::from(denominator.max(1))) as f64;
    (denominator > 0).then_some(hundredths / 100.0)
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of `values`.
///
/// ```
/// assert_eq!(cavra_ops::metrics::nearest_rank(&[5, 1, 3, 2, 4], 50), Some(3));
/// assert_eq!(cavra_ops::metrics::nearest_rank(&[5, 1, 3, 2, 4], 90), Some(5));
/// assert_eq!(cavra_ops::metrics::nearest_rank(&[], 90), None);
/// ```
pub fn nearest_rank(values: &[i64], p: u64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len() as u64;
    let rank = (p.clamp(1, 100) * n).div_ceil(100).max(1);
    v.get(usize::try_from(rank - 1).unwrap_or(0)).copied()
}

/// Jobs counted by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Sent.
    pub sent: u64,
    /// Failed for good (refused, or a permanent error).
    pub failed: u64,
    /// Retried until the window closed.
    pub dead_lettered: u64,
    /// Waiting to retry.
    pub retry_scheduled: u64,
    /// Queued or being sent.
    pub in_flight: u64,
    /// Waiting for approval.
    pub blocked: u64,
}

impl JobCounts {
    /// Counts of the jobs in `jobs`.
    pub fn of<'a>(jobs: impl IntoIterator<Item = &'a crate::snapshot::JobRecord>) -> JobCounts {
        let mut c = JobCounts::default();
        for j in jobs {
            match j.state.as_str() {
                "sent" => c.sent += 1,
                "failed" => c.failed += 1,
                "dead_lettered" => c.dead_lettered += 1,
                "retry_scheduled" => c.retry_scheduled += 1,
                "blocked" => c.blocked += 1,
                _ => c.in_flight += 1,
            }
        }
        c
    }

    /// Whether a job in `state` reached an end: sent, failed or dead-lettered.
    pub fn is_finished(state: &str) -> bool {
        matches!(state, "sent" | "failed" | "dead_lettered")
    }

    /// Jobs that reached an end: sent, failed or dead-lettered.
    pub fn finished(&self) -> u64 {
        self.sent + self.failed + self.dead_lettered
    }
}

pub(crate) fn metric(id: &str, label: &str, unit: &str, formula: &str) -> Metric {
    Metric {
        metric_id: id.into(),
        label: label.into(),
        value: None,
        unit: unit.into(),
        numerator: None,
        denominator: None,
        formula: formula.into(),
        target: None,
        status: MetricStatus::Informational,
    }
}

pub(crate) fn rate(mut m: Metric, numerator: u64, denominator: u64, target: Option<f64>) -> Metric {
    m.value = percent(numerator, denominator);
    m.numerator = Some(numerator);
    m.denominator = Some(denominator);
    m.target = target;
    m.status = match (m.value, target) {
        (None, _) => MetricStatus::NotMeasured,
        (Some(_), None) => MetricStatus::Informational,
        (Some(v), Some(t)) if v >= t => MetricStatus::Met,
        (Some(_), Some(_)) => MetricStatus::Breached,
    };
    m
}

pub(crate) fn count(mut m: Metric, n: u64, at_most: Option<u64>) -> Metric {
    m.value = Some(n as f64);
    m.target = at_most.map(|t| t as f64);
    m.status = match at_most {
        None => MetricStatus::Informational,
        Some(t) if n <= t => MetricStatus::Met,
        Some(_) => MetricStatus::Breached,
    };
    m
}

/// Decided approvals' latencies (decided − requested), seconds, for decisions made in the window.
pub fn approval_latencies(s: &OpsSnapshot) -> Vec<i64> {
    s.approvals
        .iter()
        .filter(|a| matches!(a.decision.as_str(), "approved" | "rejected"))
        .filter_map(|a| a.decided_at.map(|d| (a, d)))
        .filter(|(_, d)| s.window_start.is_none_or(|w| *d >= w) && *d <= s.window_end)
        .map(|(a, d)| d.unix_seconds() - a.requested_at.unix_seconds())
        .collect()
}

/// Pending approvals whose request expired before the window's end.
pub fn approvals_past_deadline(s: &OpsSnapshot) -> u64 {
    s.approvals.iter().filter(|a| a.decision == "pending" && a.expires_at <= s.window_end).count() as u64
}

/// Access events by type and outcome, for the rooms' visitors (operator commands excluded).
pub fn visitor_events(s: &OpsSnapshot, ty: Option<AccessType>, outcome: AccessOutcome) -> u64 {
    s.access_events
        .iter()
        .filter(|e| e.access.actor_class != "operator")
        .filter(|e| ty.is_none_or(|t| e.access.event_type == t) && e.access.outcome == outcome)
        .count() as u64
}

/// The nearest-rank `p`-th percentile of `latencies` as a measure held to
/// `target` (at most).
fn latency(latencies: &[i64], (id, label): (&str, &str), p: u64, target: Option<f64>) -> Metric {
    let formula = format!("nearest-rank p{p} of (decided_at − requested_at) over approvals decided in the window");
    let mut m = metric(id, label, "seconds", &formula);
    m.value = nearest_rank(latencies, p).map(|v| v as f64);
    m.denominator = Some(latencies.len() as u64);
    m.target = target;
    m.status = match (m.value, target) {
        (None, _) => MetricStatus::NotMeasured,
        (Some(_), None) => MetricStatus::Informational,
        (Some(v), Some(t)) if v <= t => MetricStatus::Met,
        (Some(_), Some(_)) => MetricStatus::Breached,
    };
    m
}

/// The `report-center-kpis` measures.
pub fn kpis(s: &OpsSnapshot, targets: &Targets) -> Vec<Metric> {
    kpis_with(s, &s.ledger(), targets)
}

/// [`kpis`] over a ledger already folded from `s`.
pub fn kpis_with(s: &OpsSnapshot, ledger: &crate::response::Ledger, targets: &Targets) -> Vec<Metric> {
    let jobs = JobCounts::of(&s.jobs);
    let audited = s.jobs.iter().filter(|j| JobCounts::is_finished(&j.state) && j.audited).count() as u64;
    let latencies = approval_latencies(s);
    let latency = |id: &str, label: &str, p: u64, target: Option<f64>| latency(&latencies, (id, label), p, target);
    let visitors = visitor_events(s, None, AccessOutcome::Allowed) + visitor_events(s, None, AccessOutcome::Denied);
    vec![
        count(
            metric("report_volume", "Reports stored", "count", "stored report artifacts created in the window"),
            s.reports.len() as u64,
            None,
        ),
        rate(
            metric(
                "delivery_success_rate",
                "Delivery success rate",
                "percent",
                "sent ÷ (sent + failed + dead-lettered) jobs",
            ),
            jobs.sent,
            jobs.finished(),
            Some(targets.delivery_success_percent),
        ),
        count(
            metric("dead_letters", "Dead-lettered sends", "count", "jobs retried until their retry window closed"),
            jobs.dead_lettered,
            Some(0),
        ),
        latency("approval_latency_median", "Approval latency, median", 50, None),
        latency("approval_latency_p90", "Approval latency, 90th percentile", 90, Some(targets.approval_p90_seconds)),
        count(
            metric(
                "approvals_past_deadline",
                "Approvals past their deadline",
                "count",
                "pending approval requests whose expiry is at or before the window's end",
            ),
            approvals_past_deadline(s),
            Some(0),
        ),
        count(
            metric(
                "room_downloads",
                "Evidence-room downloads",
                "count",
                "allowed download events by room visitors in the window",
            ),
            visitor_events(s, Some(AccessType::Download), AccessOutcome::Allowed),
            None,
        ),
        rate(
            metric(
                "room_refusal_rate",
                "Evidence-room refusal rate",
                "percent",
                "denied ÷ all access events by room visitors in the window",
            ),
            visitor_events(s, None, AccessOutcome::Denied),
            visitors,
            None,
        ),
        rate(
            metric(
                "audit_coverage",
                "Audited sends",
                "percent",
                "finished jobs with a send event in the verified audit log ÷ finished jobs",
            ),
            audited,
            jobs.finished(),
            Some(targets.audit_coverage_percent),
        ),
        count(
            metric(
                "audit_chain_breaks",
                "Audit chain breaks",
                "count",
                "0 when the whole audit log verifies against its key, else 1",
            ),
            u64::from(!s.audit.verified),
            Some(0),
        ),
        exception_aging(s, ledger),
        incident_closure_slo(s, ledger, targets),
        audit_readiness_trend(s),
    ]
}

/// Median days since their first lifecycle event of the exceptions still
/// active at the window's end (renewed, neither revoked, expired nor closed).
pub fn exception_aging(s: &OpsSnapshot, ledger: &crate::response::Ledger) -> Metric {
    let end = s.window_end.unix_seconds();
    let ages: Vec<i64> = ledger
        .exceptions
        .values()
        .filter(|e| e.status == crate::response::ExceptionStatus::Active)
        .map(|e| (end - e.first_at.unix_seconds()) / 86_400)
        .collect();
    median(
        metric(
            "exception_aging",
            "Exception aging, median",
            "days",
            "nearest-rank median of whole days from an active exception's first lifecycle event to the window's end",
        ),
        &ages,
    )
}

/// `m` with the nearest-rank median of `values`, counted in its denominator;
/// informational, or not measured when there is nothing to count.
pub(crate) fn median(mut m: Metric, values: &[i64]) -> Metric {
    m.value = nearest_rank(values, 50).map(|v| v as f64);
    m.denominator = Some(values.len() as u64);
    m.status = if m.value.is_some() { MetricStatus::Informational } else { MetricStatus::NotMeasured };
    m
}

/// Incidents closed in the window within the closure objective.
pub fn incident_closure_slo(s: &OpsSnapshot, ledger: &crate::response::Ledger, targets: &Targets) -> Metric {
    let closed: Vec<_> = ledger.incidents.values().filter(|i| s.in_window(i.closed_at)).collect();
    let limit = targets.incident_closure_days * 86_400;
    let within =
        closed.iter().filter(|i| i.closed_at.unix_seconds() - i.closure.opened_at.unix_seconds() <= limit).count();
    rate(
        metric(
            "incident_closure_slo",
            "Incidents closed within objective",
            "percent",
            &format!(
                "incidents closed in the window within {} days of opening ÷ incidents closed in the window",
                targets.incident_closure_days
            ),
        ),
        within as u64,
        closed.len() as u64,
        Some(targets.closure_slo_percent),
    )
}

/// Audit coverage of the window's second half minus that of its first, in
/// percentage points: positive when audit readiness improves.
pub fn audit_readiness_trend(s: &OpsSnapshot) -> Metric {
    let start = s.window_start.map_or_else(
        || s.jobs.iter().map(|j| j.requested_at.unix_seconds()).min().unwrap_or(s.window_end.unix_seconds()),
        |w| w.unix_seconds(),
    );
    let middle = start + (s.window_end.unix_seconds() - start) / 2;
    let half = |second: bool| {
        let jobs = s.jobs.iter().filter(|j| JobCounts::is_finished(&j.state));
        let jobs: Vec<_> = jobs.filter(|j| (j.requested_at.unix_seconds() > middle) == second).collect();
        percent(jobs.iter().filter(|j| j.audited).count() as u64, jobs.len() as u64)
    };
    let mut m = metric(
        "audit_readiness_trend",
        "Audit readiness trend",
        "points",
        "audited share of finished jobs requested in the window's second half − that of its first half, in percentage points",
    );
    m.value = match (half(false), half(true)) {
        (Some(a), Some(b)) => Some(((b - a) * 100.0).round() / 100.0),
        _ => None,
    };
    m.status = if m.value.is_some() { MetricStatus::Informational } else { MetricStatus::NotMeasured };
    m
}

/// Shows a measure's value in its unit.
///
/// ```
/// # use cavra_model::sections::{Metric, MetricStatus};
/// let mut m = Metric { metric_id: "x".into(), label: "X".into(), value: Some(93.5), unit: "percent".into(),
///     numerator: None, denominator: None, formula: String::new(), target: None, status: MetricStatus::Informational };
/// assert_eq!(cavra_ops::metrics::show(&m), "93.50%");
/// m.unit = "seconds".into();
/// m.value = Some(5400.0);
/// assert_eq!(cavra_ops::metrics::show(&m), "1 h 30 min");
/// m.value = None;
/// assert_eq!(cavra_ops::metrics::show(&m), "not measured");
/// ```
pub fn show(m: &Metric) -> String {
    let Some(v) = m.value else { return "not measured".into() };
    match m.unit.as_str() {
        "percent" => format!("{v:.2}%"),
        "seconds" => duration(v as i64),
        "days" => format!("{} d", v as i64),
        "points" => format!("{v:+.2} pts"),
        _ => format!("{}", v as i64),
    }
}

/// A duration in days, hours and minutes.
pub fn duration(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) if h > 0 => format!("{d} d {h} h"),
        (d, _, _) => format!("{d} d"),
    }
}
