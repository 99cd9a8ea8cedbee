//! The activity snapshot (v1): the typed input every report is computed from.
//!
//! The types mirror the snapshot format field for field. Every object denies
//! unknown fields except its optional `x_extensions` member, which is accepted
//! and ignored (but still scanned for forbidden field names).

use std::fmt;

pub use crate::text::Text;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The only accepted value of `schema_version`.
pub const SNAPSHOT_SCHEMA_VERSION: &str = "cavra.activity_snapshot.v1";

/// Field names that may only carry forbidden content (raw prompts, model
/// reasoning, tool output, credentials). They are rejected wherever they appear.
pub const FORBIDDEN_FIELDS: &[&str] = &[
    "prompt",
    "raw_prompt",
    "completion",
    "model_reasoning",
    "reasoning",
    "raw_tool_output",
    "tool_output",
    "password",
    "secret",
    "api_key",
    "private_key",
    "access_token",
];

/// Whether a field name is one of [`FORBIDDEN_FIELDS`], compared without
/// regard to case or separators (`Raw_Prompt`, `rawPrompt`, `raw-prompt`,
/// `toolOutput`, `apiKey`, `API_KEY` all match).
///
/// ```
/// use cavra_model::input::is_forbidden_field;
/// for name in ["raw_prompt", "Raw_Prompt", "rawPrompt", "toolOutput", "apiKey", "API-KEY", "Access Token"] {
///     assert!(is_forbidden_field(name), "{name}");
/// }
/// assert!(!is_forbidden_field("prompt_count") && !is_forbidden_field("reason"));
/// ```
pub fn is_forbidden_field(name: &str) -> bool {
    let fold = |s: &str| -> String { s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect() };
    let folded = fold(name);
    FORBIDDEN_FIELDS.iter().any(|f| fold(f) == folded)
}

/// Whether `text` has the shape the snapshot schema publishes for a
/// timestamp: `^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$`
/// (RFC 3339 parsers accept more, such as a space for the `T`).
fn matches_published_pattern(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// An RFC 3339 instant. Serialises in UTC with a `Z` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Parses an RFC 3339 date-time such as `2026-11-01T09:30:00Z`.
    ///
    /// # Errors
    /// Returns a description of the problem when `text` is not RFC 3339.
    ///
    /// ```
    /// use cavra_model::Timestamp;
    /// let t = Timestamp::parse("2026-11-01T10:30:00+01:00").unwrap();
    /// assert_eq!(t.to_string(), "2026-11-01T09:30:00Z");
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        if !matches_published_pattern(text) {
            return Err(format!(
                "`{text}` is not an RFC 3339 date-time of the published form YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)"
            ));
        }
        OffsetDateTime::parse(text, &Rfc3339)
            .map(|t| Timestamp(t.to_offset(time::UtcOffset::UTC)))
            .map_err(|e| format!("`{text}` is not an RFC 3339 date-time ({e})"))
    }

    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(OffsetDateTime::UNIX_EPOCH);

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Builds a timestamp from seconds since the Unix epoch (UTC).
    ///
    /// # Errors
    /// Returns an error when the value is outside the supported range.
    pub fn from_unix_seconds(secs: i64) -> Result<Self, String> {
        OffsetDateTime::from_unix_timestamp(secs).map(Timestamp).map_err(|e| e.to_string())
    }

    /// Seconds since the Unix epoch as RFC 3339 UTC text, for records that
    /// keep instants as numbers; a value outside the supported range is
    /// written as the number itself.
    ///
    /// ```
    /// assert_eq!(cavra_model::Timestamp::show_unix(1_800_000_000), "2027-01-15T08:00:00Z");
    /// ```
    pub fn show_unix(secs: i64) -> String {
        Timestamp::from_unix_seconds(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
    }

    /// Whole days from `self` to `later`, rounded down (negative when
    /// `later` is earlier): 1 day and 23 hours is 1, minus 1 hour is −1.
    ///
    /// ```
    /// use cavra_model::Timestamp;
    /// let a = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
    /// let b = Timestamp::parse("2026-11-02T23:00:00Z").unwrap();
    /// assert_eq!(a.days_until(b), 1);
    /// assert_eq!(b.days_until(a), -2);
    /// ```
    pub fn days_until(self, later: Timestamp) -> i64 {
        (later.unix_seconds() - self.unix_seconds()).div_euclid(86_400)
    }

    /// The calendar date in UTC as `YYYY-MM-DD`.
    pub fn date_string(self) -> String {
        date_string(self.0.date())
    }

    /// The calendar day (UTC), for grouping without formatting.
    pub(crate) fn day(self) -> time::Date {
        self.0.date()
    }
}

/// `YYYY-MM-DD` of a calendar day.
pub(crate) fn date_string(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let year = t.year();
        if t.nanosecond() == 0 && (0..=9999).contains(&year) {
            // Whole seconds, the common case: the RFC 3339 form written
            // directly, without the general formatter's allocation.
            let mut b = *b"0000-00-00T00:00:00Z";
            let put = |b: &mut [u8], mut n: u32| {
                for slot in b.iter_mut().rev() {
                    *slot = b'0' + (n % 10) as u8;
                    n /= 10;
                }
            };
            put(&mut b[0..4], year.unsigned_abs());
            put(&mut b[5..7], u32::from(u8::from(t.month())));
            put(&mut b[8..10], u32::from(t.day()));
            put(&mut b[11..13], u32::from(t.hour()));
            put(&mut b[14..16], u32::from(t.minute()));
            put(&mut b[17..19], u32::from(t.second()));
            return f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?);
        }
        let s = t.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
            "description": "RFC 3339 date-time"
        })
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The `schema_version` marker; deserialising anything but
/// [`SNAPSHOT_SCHEMA_VERSION`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SNAPSHOT_SCHEMA_VERSION)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text == SNAPSHOT_SCHEMA_VERSION {
            Ok(SchemaVersion)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported schema_version `{}`, expected `{SNAPSHOT_SCHEMA_VERSION}`",
                text.chars().take(80).collect::<String>()
            )))
        }
    }
}

/// An `x_extensions` object: ignored by every report, but scanned so that a
/// forbidden field cannot hide inside it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Extensions;

impl Serialize for Extensions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for Extensions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        if !value.is_object() {
            return Err(serde::de::Error::custom("x_extensions must be an object"));
        }
        if let Some(path) = find_forbidden(&value, String::new()) {
            return Err(serde::de::Error::custom(format!("forbidden field `{path}` inside x_extensions")));
        }
        Ok(Extensions)
    }
}

fn find_forbidden(value: &serde_json::Value, prefix: String) -> Option<String> {
    match value {
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if is_forbidden_field(k) {
                Some(path)
            } else {
                find_forbidden(v, path)
            }
        }),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| find_forbidden(v, format!("{prefix}[{i}]")))
        }
        serde_json::Value::Null
        | serde_json::Value::Bool(_)
        | serde_json::Value::Number(_)
        | serde_json::Value::String(_) => None,
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $variant,)+
        }
        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire name of this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
            /// The wire name as shared text, made once per process, so a
            /// cell showing it copies a pointer.
            pub fn text(self) -> $crate::text::Text {
                static TEXTS: ::std::sync::LazyLock<Vec<$crate::text::Text>> = ::std::sync::LazyLock::new(|| {
                    $name::ALL.iter().map(|v| $crate::text::Text::from(v.as_str())).collect()
                });
                TEXTS[self as usize].clone()
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({ "type": "string", "enum": [$($text),+] })
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// The policy decision taken on an attempted action.
    DecisionKind {
        /// The action was stopped.
        Block => "block",
        /// The action waits for an approver.
        RequireApproval => "require_approval",
        /// The action ran with a warning.
        Warn => "warn",
        /// The action ran and was only recorded.
        AuditOnly => "audit_only",
        /// The action ran with an attestation.
        AllowWithAttestation => "allow_with_attestation",
        /// The action was allowed.
        Allow => "allow",
    }
}

string_enum! {
    /// Severity of a decision or incident.
    Severity {
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

string_enum! {
    /// Where the snapshot's data came from.
    DataProvenance {
        /// Read from the local activity store (default).
        LocalActivityStore => "local_activity_store",
        /// Synthetic or demonstration data.
        SampleData => "sample_data",
        /// Exported by a connector.
        ConnectorExport => "connector_export",
        /// The report center's own records (an operations snapshot).
        ReportCenterRecords => "report_center_records",
    }
}

string_enum! {
    /// Session lifecycle state.
    SessionState {
        /// Still running.
        Active => "active",
        /// Finished.
        Completed => "completed",
    }
}

string_enum! {
    /// Policy exception (risk acceptance) status.
    ExceptionStatus {
        /// Requested, not yet approved.
        Requested => "requested",
        /// Approved, not yet in force.
        Approved => "approved",
        /// In force.
        Active => "active",
        /// Past its expiry.
        Expired => "expired",
        /// Withdrawn.
        Revoked => "revoked",
        /// Closed.
        Closed => "closed",
    }
}

string_enum! {
    /// Incident status.
    IncidentStatus {
        /// Open.
        Open => "open",
        /// Contained.
        Contained => "contained",
        /// Resolved.
        Resolved => "resolved",
        /// Closed.
        Closed => "closed",
    }
}

string_enum! {
    /// The six control surfaces coverage is measured on.
    ControlSurface {
        /// Secrets, credentials and sensitive files.
        SensitiveData => "sensitive_data",
        /// Infrastructure as code.
        InfrastructureIac => "infrastructure_iac",
        /// MCP servers and agent tools.
        McpTools => "mcp_tools",
        /// Git and pull requests.
        SourceControl => "source_control",
        /// Shell commands and scripts.
        RuntimeCommands => "runtime_commands",
        /// Everything else.
        GeneralPolicy => "general_policy",
    }
}

/// Tenant identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Opaque id such as `tenant:acme-prod`.
    #[serde(rename = "ref")]
    pub tenant_ref: String,
    /// Name shown on reports.
    pub display_name: String,
    /// IANA time zone name.
    pub timezone: String,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

/// The reporting window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start (inclusive).
    pub start: Timestamp,
    /// End (inclusive).
    pub end: Timestamp,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

/// An agent session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// Unique session id.
    pub session_id: Text,
    /// The agent that ran the session.
    pub agent_id: Text,
    /// Who drove the agent; never printed.
    pub actor: Text,
    /// Repository or workspace.
    pub repository: Text,
    /// Policy pack in force.
    pub policy_pack: Text,
    /// Lifecycle state.
    pub state: SessionState,
    /// Start instant.
    pub started_at: Timestamp,
    /// Last update instant.
    pub updated_at: Timestamp,
    /// Decision count as recorded by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_count: Option<u64>,
    /// Blocked count as recorded by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_count: Option<u64>,
    /// Approval-required count as recorded by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_required_count: Option<u64>,
    /// Evidence references.
    #[serde(default)]
    pub evidence_refs: Vec<Text>,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

/// A policy decision on one attempted agent action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Unique decision id.
    pub decision_id: String,
    /// Session link.
    pub session_id: Text,
    /// Agent link.
    pub agent_id: Text,
    /// Who drove the agent; never printed.
    pub actor: Text,
    /// Repository or workspace.
    pub repository: Text,
    /// Kind of action, e.g. `shell_command`.
    pub action_type: Text,
    /// What the action touched; shown only after target redaction.
    pub target: Text,
    /// Operation label; never printed.
    pub requested_operation: Text,
    /// Policy pack that matched.
    pub policy_pack: Text,
    /// Rule that matched.
    pub rule_id: Text,
    /// The decision.
    pub decision: DecisionKind,
    /// Severity.
    pub severity: Severity,
    /// Short policy reason (free text, gated).
    pub reason: Text,
    /// When decided.
    pub timestamp: Timestamp,
    /// Evidence references.
    #[serde(default)]
    pub evidence_refs: Vec<String>,
    /// Tool name for MCP/tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<Text>,
    /// Approval route or approver group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_route: Option<Text>,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

/// What a policy exception applies to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionScope {
    /// Agent in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Rule in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Repository in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Surface in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<ControlSurface>,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

/// A policy exception (risk acceptance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyException {
    /// Unique reference.
    pub exception_ref: String,
    /// Scope.
    pub scope: ExceptionScope,
    /// Status.
    pub status: ExceptionStatus,
    /// Opened.
    pub opened_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Next review.
    pub review_due_at: Timestamp,
    /// Renewals so far.
    pub renewal_count: u32,
    /// Renewals allowed.
    pub renewal_limit: u32,
    /// Approving role (never a person).
    pub approver_role: String,
    /// Reference to the justification record.
    pub justification_ref: String,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

/// An incident that links decisions and exceptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// Unique reference.
    pub incident_ref: String,
    /// Title (free text, gated).
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Status.
    pub status: IncidentStatus,
    /// Opened.
    pub opened_at: Timestamp,
    /// Closed, when closed.
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
    /// Linked decisions.
    #[serde(default)]
    pub decision_ids: Vec<String>,
    /// Linked exceptions.
    #[serde(default)]
    pub exception_refs: Vec<String>,
    /// Owning role.
    pub owner_role: String,
    /// Next review.
    pub review_due_at: Timestamp,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

/// Approved versus observed policy digest for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBaseline {
    /// Agent.
    pub agent_id: String,
    /// Policy pack.
    pub policy_pack: String,
    /// Approved digest (`sha256:<hex>`).
    pub baseline_digest: String,
    /// Observed digest (`sha256:<hex>`).
    pub observed_digest: String,
    /// When baselined.
    pub baselined_at: Timestamp,
    /// When observed.
    pub observed_at: Timestamp,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

/// A whole activity snapshot as it appears on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSnapshot {
    /// Always [`SNAPSHOT_SCHEMA_VERSION`].
    pub schema_version: SchemaVersion,
    /// Tenant.
    pub tenant: Tenant,
    /// The instant reports describe.
    pub as_of: Timestamp,
    /// Optional reporting window.
    #[serde(default)]
    pub window: Option<Window>,
    /// Provenance (default `local_activity_store`).
    #[serde(default)]
    pub data_provenance: Option<DataProvenance>,
    /// Sessions.
    pub sessions: Vec<Session>,
    /// Inline decisions; absent when streamed from JSON Lines.
    #[serde(default)]
    pub decisions: Option<Vec<Decision>>,
    /// Exceptions.
    #[serde(default)]
    pub exceptions: Vec<PolicyException>,
    /// Incidents.
    #[serde(default)]
    pub incidents: Vec<Incident>,
    /// Policy baselines.
    #[serde(default)]
    pub policy_baselines: Vec<PolicyBaseline>,
    /// Ignored extension data.
    #[serde(default, skip_serializing)]
    pub x_extensions: Option<Extensions>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_second_timestamps_print_as_the_general_rfc3339_formatter_does() {
        let mut secs: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
        while secs < 253_402_300_799 {
            let t = Timestamp::from_unix_seconds(secs).unwrap();
            assert_eq!(t.to_string(), t.0.format(&Rfc3339).unwrap(), "{secs}");
            secs += 7_777_777 + secs.rem_euclid(86_399);
        }
        let fractional = Timestamp::parse("2026-11-01T09:30:00.250Z").unwrap();
        assert_eq!(fractional.to_string(), "2026-11-01T09:30:00.25Z");
    }
}
