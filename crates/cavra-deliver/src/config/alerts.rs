//! `[alerts]`: the rules the report center watches its own records with.
//!
//! ```toml
//! [alerts]
//! window_hours = 24                     # the records each evaluation looks at (default 24)
//!
//! [[alerts.rules]]
//! id = "delivery-success"
//! signal = "measure_breached"           # a report-center measure misses its objective
//! measure = "delivery_success_rate"
//! route = ["group:secops"]              # recipients or groups, under the recipient policy
//! escalate = [{ after_hours = 4, route = ["group:ciso"] }]
//!
//! [[alerts.rules]]
//! id = "room-auth"
//! signal = "room_auth_failures"         # failed authentications on one room
//! threshold = 3
//! route = ["group:secops"]
//! ```
//!
//! Signals: `measure_breached` (with `measure`, a measure id of the
//! report-center KPI report), `room_auth_failures` (with `threshold`, per
//! room), `dead_letter` (per dead-lettered job), `approval_overdue` (per
//! approval still pending past its deadline), `package_verify_failed` (per
//! package whose recorded verification failed: `verify --audit-log`).

use serde::{Deserialize, Serialize};

use super::{bad, ConfigError};

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// A measure of the KPI report is breached.
    MeasureBreached,
    /// Failed authentications on one evidence room reach the threshold.
    RoomAuthFailures,
    /// A delivery job was dead-lettered.
    DeadLetter,
    /// An approval request is still pending past its deadline.
    ApprovalOverdue,
    /// A package failed a recorded verification (`verify --audit-log`).
    PackageVerifyFailed,
}

impl Signal {
    /// The setup-file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::MeasureBreached => "measure_breached",
            Signal::RoomAuthFailures => "room_auth_failures",
            Signal::DeadLetter => "dead_letter",
            Signal::ApprovalOverdue => "approval_overdue",
            Signal::PackageVerifyFailed => "package_verify_failed",
        }
    }
}

/// One escalation step: after this long unacknowledged, the alert goes up
/// one level and to these recipients.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// Hours since the previous level was routed.
    pub after_hours: u32,
    /// Recipients or `group:NAME`s.
    pub route: Vec<String>,
}

/// One `[[alerts.rules]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Stable id (letters, digits, `-`).
    pub id: String,
    /// What it watches.
    pub signal: Signal,
    /// The measure, for `measure_breached`.
    pub measure: Option<String>,
    /// The count that fires it, for `room_auth_failures` (default 3).
    pub threshold: Option<u32>,
    /// Recipients or `group:NAME`s of the first level.
    pub route: Vec<String>,
    /// Further levels, in order.
    #[serde(default)]
    pub escalate: Vec<EscalationStep>,
}

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// Hours of records each evaluation looks at (default 24).
    pub window_hours: Option<u32>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<AlertRule>,
}

/// The measures a `measure_breached` rule may name.
pub const MEASURES: &[&str] = &[
    "report_volume",
    "delivery_success_rate",
    "dead_letters",
    "approval_latency_median",
    "approval_latency_p90",
    "approvals_past_deadline",
    "room_downloads",
    "room_refusal_rate",
    "audit_coverage",
    "audit_chain_breaks",
    "exception_aging",
    "incident_closure_slo",
    "audit_readiness_trend",
];

impl AlertsSection {
    /// The evaluation window in seconds.
    pub fn window_seconds(&self) -> i64 {
        i64::from(self.window_hours.unwrap_or(24)) * 3600
    }

    /// Checks ids, signals' parameters and routes (groups must exist).
    pub(super) fn validate(&self, groups: &std::collections::BTreeMap<String, Vec<String>>) -> Result<(), ConfigError> {
        if self.window_hours == Some(0) {
            return Err(bad("alerts.window_hours", "must be at least 1"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            let key = |field: &str| format!("alerts.rules[{i}].{field}");
            if r.id.is_empty() || r.id.len() > 64 || !r.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(bad(&key("id"), "1 to 64 letters, digits or `-`"));
            }
            if !seen.insert(r.id.as_str()) {
                return Err(bad(&key("id"), format!("`{}` is used twice", r.id)));
            }
            match (r.signal, &r.measure) {
                (Signal::MeasureBreached, Some(m)) if MEASURES.contains(&m.as_str()) => {}
                (Signal::MeasureBreached, Some(m)) => {
                    return Err(bad(&key("measure"), format!("unknown measure `{m}` (known: {})", MEASURES.join(", "))))
                }
                (Signal::MeasureBreached, None) => return Err(bad(&key("measure"), "required for measure_breached")),
                (_, Some(_)) => return Err(bad(&key("measure"), "only for measure_breached")),
                (_, None) => {}
            }
            if r.threshold.is_some() && r.signal != Signal::RoomAuthFailures {
                return Err(bad(&key("threshold"), "only for room_auth_failures"));
            }
            if r.threshold == Some(0) {
                return Err(bad(&key("threshold"), "must be at least 1"));
            }
            let routes = std::iter::once(("route".to_string(), &r.route))
                .chain(r.escalate.iter().enumerate().map(|(j, s)| (format!("escalate[{j}].route"), &s.route)));
            for (field, route) in routes {
                if route.is_empty() {
                    return Err(bad(&key(&field), "at least one recipient or group"));
                }
                for g in route.iter().filter_map(|m| m.strip_prefix("group:")) {
                    if !groups.contains_key(g) {
                        return Err(bad(&key(&field), format!("unknown group `{g}`")));
                    }
                }
            }
            for (j, s) in r.escalate.iter().enumerate() {
                if s.after_hours == 0 {
                    return Err(bad(&key(&format!("escalate[{j}].after_hours")), "must be at least 1"));
                }
            }
        }
        Ok(())
    }
}
