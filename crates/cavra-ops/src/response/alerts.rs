//! Alert rules over the operations snapshot.
//!
//! [`evaluate`] is a pure function of the rules, the snapshot, the ledger
//! and the instant: for each rule it finds what fires ([`findings`]: a
//! breached measure, a room with repeated failed authentications, a
//! dead-lettered job, an approval pending past its deadline, a package whose
//! recorded verification failed), raises an
//! alert when no open alert of that rule is about the same thing (and
//! otherwise counts the finding against the open one: deduplicated), routes
//! an alert whose current level has not been routed, and escalates an open,
//! unacknowledged, unsuppressed alert whose level has waited longer than
//! its rule's next step allows. The same records and instant always give
//! the same actions and the same alert ids.
//!
//! ```
//! use cavra_deliver::config::{AlertRule, Signal};
//! use cavra_ops::response::alerts::{evaluate, Action};
//! let s = cavra_ops::synth::generate(&Default::default());
//! let rule = AlertRule { id: "dead".into(), signal: Signal::DeadLetter, measure: None, threshold: None,
//!     route: vec!["group:secops".into()], escalate: vec![] };
//! let fresh = cavra_ops::OpsSnapshot { response: vec![], ..s.clone() };
//! let actions = evaluate(&[rule], &fresh, &fresh.ledger(), &Default::default(), fresh.window_end);
//! assert!(actions.iter().any(|a| matches!(a, Action::Raise { .. })));
//! ```

use cavra_deliver::access::{AccessOutcome, AccessType};
use cavra_deliver::config::{AlertRule, Signal};
use cavra_model::sections::MetricStatus;
use cavra_model::Timestamp;
use sha2::{Digest, Sha256};

use super::fold::{AlertStatus, Ledger};
use crate::metrics::{self, Targets};
use crate::OpsSnapshot;

/// What a rule found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule_id: String,
    /// Its signal.
    pub signal: Signal,
    /// What it is about: a measure id, a room, a job or an approval.
    pub key: String,
    /// What was observed.
    pub observed: String,
    /// What the rule holds it to.
    pub objective: String,
}

/// One thing an evaluation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Raise a new alert.
    Raise {
        /// Its id.
        alert_id: String,
        /// Why.
        finding: Finding,
    },
    /// A finding an open alert already covers: nothing is recorded.
    Deduplicated {
        /// The open alert.
        alert_id: String,
    },
    /// Send notices of an alert's current level.
    Route {
        /// The alert.
        alert_id: String,
        /// Its level.
        level: u32,
        /// Recipients or groups.
        route: Vec<String>,
    },
    /// Raise an alert's level.
    Escalate {
        /// The alert.
        alert_id: String,
        /// From.
        from_level: u32,
        /// To.
        to_level: u32,
    },
}

/// The id of the alert raised by `rule` about `key` at `at`.
///
/// ```
/// let t = cavra_model::Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
/// let a = cavra_ops::response::alerts::alert_id("r", "k", t);
/// assert!(a.starts_with("alt-") && a.len() == 20);
/// assert_eq!(a, cavra_ops::response::alerts::alert_id("r", "k", t));
/// ```
pub fn alert_id(rule: &str, key: &str, at: Timestamp) -> String {
    let mut h = Sha256::new();
    for part in [rule, key, &at.unix_seconds().to_string()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("alt-{}", &format!("{:x}", h.finalize())[..16])
}

/// What each rule finds in the snapshot, in rule order and then by key.
pub fn findings(rules: &[AlertRule], s: &OpsSnapshot, targets: &Targets) -> Vec<Finding> {
    let measures = metrics::kpis(s, targets);
    let mut out = Vec::new();
    for rule in rules {
        let mut found: Vec<(String, String, String)> = match rule.signal {
            Signal::MeasureBreached => measures
                .iter()
                .filter(|m| Some(&m.metric_id) == rule.measure.as_ref() && m.status == MetricStatus::Breached)
                .map(|m| {
                    let objective =
                        m.target.map(|t| metrics::show(&cavra_model::sections::Metric { value: Some(t), ..m.clone() }));
                    (m.metric_id.clone(), format!("{}: {}", m.label, metrics::show(m)), objective.unwrap_or_default())
                })
                .collect(),
            Signal::RoomAuthFailures => room_failures(s, rule.threshold.unwrap_or(3)),
            Signal::DeadLetter => s
                .jobs
                .iter()
                .filter(|j| j.state == "dead_lettered")
                .map(|j| {
                    (
                        j.job_id.clone(),
                        format!("{} job dead-lettered after {} attempt(s)", j.content.replace('_', " "), j.attempts),
                        "delivered within the retry window".into(),
                    )
                })
                .collect(),
            Signal::ApprovalOverdue => s
                .approvals
                .iter()
                .filter(|a| a.decision == "pending" && a.expires_at <= s.window_end)
                .map(|a| {
                    (
                        a.approval_id.clone(),
                        format!("pending since {}, deadline {}", a.requested_at, a.expires_at),
                        "decided before its deadline".into(),
                    )
                })
                .collect(),
            Signal::PackageVerifyFailed => verification_failures(s),
        };
        found.sort();
        out.extend(found.into_iter().map(|(key, observed, objective)| Finding {
            rule_id: rule.id.clone(),
            signal: rule.signal,
            key,
            observed,
            objective,
        }));
    }
    out
}

fn verification_failures(s: &OpsSnapshot) -> Vec<(String, String, String)> {
    let mut by_package: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for v in s.verifications.iter().filter(|v| !v.verified) {
        *by_package.entry(v.package_digest.as_str()).or_default() += 1;
    }
    by_package
        .into_iter()
        .map(|(d, n)| (d.to_string(), format!("{n} failed verification(s)"), "every verification passes".into()))
        .collect()
}

fn room_failures(s: &OpsSnapshot, threshold: u32) -> Vec<(String, String, String)> {
    let mut by_room: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for e in &s.access_events {
        if e.access.event_type == AccessType::FailedAuthentication && e.access.outcome == AccessOutcome::Denied {
            if let Some(room) = e.access.room_ref.as_deref() {
                *by_room.entry(room).or_default() += 1;
            }
        }
    }
    by_room
        .into_iter()
        .filter(|(_, n)| *n >= threshold)
        .map(|(room, n)| (room.to_string(), format!("{n} failed authentications"), format!("fewer than {threshold}")))
        .collect()
}

/// The actions an evaluation at `now` takes (see the module's description).
pub fn evaluate(
    rules: &[AlertRule],
    s: &OpsSnapshot,
    ledger: &Ledger,
    targets: &Targets,
    now: Timestamp,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut raised = std::collections::BTreeSet::new();
    for f in findings(rules, s, targets) {
        match ledger.open_alert(&f.rule_id, &f.key) {
            Some(a) => actions.push(Action::Deduplicated { alert_id: a.id.clone() }),
            None if raised.insert((f.rule_id.clone(), f.key.clone())) => {
                let alert_id = alert_id(&f.rule_id, &f.key, now);
                let route = rules.iter().find(|r| r.id == f.rule_id).map(|r| r.route.clone()).unwrap_or_default();
                actions.push(Action::Raise { alert_id: alert_id.clone(), finding: f });
                actions.push(Action::Route { alert_id, level: 1, route });
            }
            None => {}
        }
    }
    for a in ledger.alerts.values() {
        let Some(rule) = rules.iter().find(|r| r.id == a.rule_id) else { continue };
        if a.status == AlertStatus::Resolved || a.suppressed_at(now) {
            continue;
        }
        let route_of = |level: u32| match level {
            1 => Some(rule.route.clone()),
            n => rule.escalate.get(usize::try_from(n - 2).unwrap_or(usize::MAX)).map(|s| s.route.clone()),
        };
        if !a.routed_levels.contains(&a.level) {
            if let Some(route) = route_of(a.level) {
                actions.push(Action::Route { alert_id: a.id.clone(), level: a.level, route });
            }
            continue;
        }
        let Some(step) = rule.escalate.get(usize::try_from(a.level - 1).unwrap_or(usize::MAX)) else { continue };
        let due = a.level_since.unix_seconds() + i64::from(step.after_hours) * 3600;
        if a.status == AlertStatus::Open && now.unix_seconds() >= due {
            actions.push(Action::Escalate { alert_id: a.id.clone(), from_level: a.level, to_level: a.level + 1 });
            actions.push(Action::Route { alert_id: a.id.clone(), level: a.level + 1, route: step.route.clone() });
        }
    }
    actions
}
