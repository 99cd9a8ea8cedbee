//! The operations snapshot, `cavra.ops_snapshot.v1`: the report center's
//! own records for a window, in one canonical, validated, public-safe JSON
//! document. Every operations report is a pure function of it.
//!
//! Nothing in it names a person: recipients appear as their class and
//! domain, principals as key ids, links as link ids, never as an address,
//! a token or a URL. [`OpsSnapshot::from_json_str`] refuses unknown fields,
//! records out of order or outside the window, duplicate ids, and any text
//! the safety gate flags.

use cavra_deliver::access::AccessEvent;
use cavra_model::input::DataProvenance;
use cavra_model::Timestamp;
use serde::{Deserialize, Serialize};

/// The JSON Schema of the snapshot, generated from these types (the file
/// `schemas/ops_snapshot.v1.schema.json` is this, and a test fails when
/// they drift apart).
pub fn json_schema() -> String {
    cavra_model::schema::publish::<OpsSnapshot>("ops_snapshot.v1.schema.json", OPS_SCHEMA_VERSION)
}

/// The schema id.
pub const OPS_SCHEMA_VERSION: &str = "cavra.ops_snapshot.v1";

/// The largest operations snapshot read, in bytes.
pub const MAX_SNAPSHOT_BYTES: u64 = 256 * 1024 * 1024;

/// The organisation running the report center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Stable reference (`org:northwind`).
    #[serde(rename = "ref")]
    pub org_ref: String,
    /// Display name.
    pub display_name: String,
    /// IANA time zone for display.
    pub timezone: String,
}

/// A stored report artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRecord {
    /// Store item id.
    pub item_id: String,
    /// Tenant.
    pub tenant_ref: String,
    /// Report kind slug, or `package`.
    pub kind: String,
    /// Format (`pdf`, `zip`…).
    pub format: String,
    /// Classification.
    pub classification: String,
    /// When it was made (its data's `as_of`).
    pub created_at: Timestamp,
    /// Whether it is under legal hold.
    pub legal_hold: bool,
}

/// One delivery job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRecord {
    /// Job id.
    pub job_id: String,
    /// `smtp`, `ses`, `sendgrid` or `webhook`.
    pub transport: String,
    /// The recipient's class under the recipient policy.
    pub recipient_class: String,
    /// The recipient's domain.
    pub recipient_domain: String,
    /// `queued`, `sending`, `sent`, `retry_scheduled`, `failed`, `dead_lettered` or `blocked`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was requested.
    pub requested_at: Timestamp,
    /// The first attempt.
    pub first_attempt_at: Option<Timestamp>,
    /// When it is due next.
    pub next_attempt_at: Timestamp,
    /// Sent again after a lease expired.
    pub possible_duplicate: bool,
    /// The approval it waits for or went out under.
    pub approval_id: Option<String>,
    /// `package`, `room_invitation` or `alert_notice`.
    pub content: String,
    /// Whether a send event for it is in the verified audit log.
    pub audited: bool,
}

/// One approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRecord {
    /// Approval id.
    pub approval_id: String,
    /// `pending`, `approved`, `rejected`, `revoked` or `expired`.
    pub decision: String,
    /// Requested.
    pub requested_at: Timestamp,
    /// Decided.
    pub decided_at: Option<Timestamp>,
    /// Expiry of the request.
    pub expires_at: Timestamp,
    /// Recipients covered.
    pub recipient_count: u32,
}

/// One claimed schedule run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRunRecord {
    /// The run's key (schedule and instant).
    pub run_key: String,
    /// `claimed`, `queued` or `failed`.
    pub state: String,
    /// When it was claimed.
    pub claimed_at: Timestamp,
}

/// One bounce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BounceRecord {
    /// The recipient's domain.
    pub recipient_domain: String,
    /// `hard` or `soft`.
    pub kind: String,
    /// The DSN status (`5.1.1`).
    pub status: String,
    /// Recorded.
    pub recorded_at: Timestamp,
}

/// One evidence room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomRecord {
    /// Room id.
    pub room_id: String,
    /// Audience.
    pub audience: String,
    /// The package it shares.
    pub package_id: String,
    /// Created.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Closed.
    pub closed_at: Option<Timestamp>,
    /// Links issued.
    pub links_issued: u32,
    /// Links revoked.
    pub links_revoked: u32,
    /// Whether links need a second factor.
    pub mfa: bool,
    /// Whether recipients accept terms.
    pub terms: bool,
}

/// One evidence-room access event from the verified audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRecord {
    /// The audit record's sequence number.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// The hash of the record before it (the chain).
    pub record_hash_prev: String,
    /// The event.
    pub access: AccessEvent,
}

/// One store event (registration, retrieval, hold, retention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreEventRecord {
    /// Sequence number in the store.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// What (`register`, `retrieve`, `legal_hold`, `delete`…).
    pub action: String,
    /// `allowed` or `refused`.
    pub outcome: String,
    /// The item.
    pub item_id: String,
}

/// One package verification recorded in the verified audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRecord {
    /// The audit record's sequence number.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// `sha256:` of the package file.
    pub package_digest: String,
    /// Whether it verified.
    pub verified: bool,
}

/// One event of the response ledger (alerts, remediation, incidents,
/// exceptions), verified against its principal's key when collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseRecord {
    /// The event's number in the ledger.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// `alt-…`, `rem-…`, `inc:REF` or `exc:REF`.
    pub subject: String,
    /// The acting principal's key id.
    pub actor_key_id: String,
    /// `sha256:` of the signed statement.
    pub digest: String,
    /// The audit record that carries that digest, when the verified log has one.
    pub audit_seq: Option<u64>,
    /// What happened.
    pub event: crate::response::ResponseEvent,
}

/// What the audit log shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSummary {
    /// Whether the whole log verified against its key.
    pub verified: bool,
    /// Records in the log.
    pub records: u64,
    /// Records in the window.
    pub records_in_window: u64,
    /// The hash of the last record, if any.
    pub head: Option<String>,
}

/// The operations snapshot: the report center's own records for a window
/// (delivery jobs, approvals, schedule runs, bounces, stored reports, store
/// events, evidence rooms and their access events, and what the audit log
/// shows), public-safe by construction. Every operations report is a pure
/// function of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpsSnapshot {
    /// Always `cavra.ops_snapshot.v1`.
    #[schemars(extend("const" = "cavra.ops_snapshot.v1"))]
    pub schema_version: String,
    /// Who runs the report center.
    pub organisation: Organisation,
    /// Start of the window (none: from the beginning of the records).
    pub window_start: Option<Timestamp>,
    /// End of the window.
    pub window_end: Timestamp,
    /// `report_center_records` or `sample_data`.
    pub data_provenance: DataProvenance,
    /// Stored report artifacts made in the window.
    #[serde(default)]
    pub reports: Vec<ReportRecord>,
    /// Delivery jobs requested up to the window's end.
    #[serde(default)]
    pub jobs: Vec<JobRecord>,
    /// Approval requests made up to the window's end.
    #[serde(default)]
    pub approvals: Vec<ApprovalRecord>,
    /// Schedule runs claimed in the window.
    #[serde(default)]
    pub schedule_runs: Vec<ScheduleRunRecord>,
    /// Bounces recorded in the window.
    #[serde(default)]
    pub bounces: Vec<BounceRecord>,
    /// Evidence rooms created up to the window's end.
    #[serde(default)]
    pub rooms: Vec<RoomRecord>,
    /// Evidence-room access events in the window.
    #[serde(default)]
    pub access_events: Vec<AccessRecord>,
    /// Store events in the window.
    #[serde(default)]
    pub store_events: Vec<StoreEventRecord>,
    /// Package verifications in the window, in log order.
    #[serde(default)]
    pub verifications: Vec<VerificationRecord>,
    /// The response ledger up to the window's end, in ledger order.
    #[serde(default)]
    pub response: Vec<ResponseRecord>,
    /// The audit log.
    pub audit: AuditSummary,
}

/// The trusted comment of a snapshot's signature: its format and digest.
fn trusted_comment(digest: &str) -> String {
    format!("cavra-ops-snapshot {OPS_SCHEMA_VERSION} {digest}")
}

/// Signs a snapshot's canonical text: a detached minisign signature whose
/// trusted comment names the schema and the text's digest, so
/// `minisign -V -p KEY.pub -m ops.json` checks it with the reference tool.
///
/// ```
/// let s = cavra_ops::synth::generate(&Default::default());
/// let key = cavra_render::signed::SigningKey::generate().unwrap();
/// let text = s.to_json();
/// let sig = cavra_ops::snapshot::sign(&text, &key).unwrap();
/// assert!(cavra_ops::snapshot::verify(&text, &sig, &key.public_key()).is_ok());
/// assert!(cavra_ops::snapshot::verify(&text.replace("Northwind", "Southwind"), &sig, &key.public_key()).is_err());
/// ```
///
/// # Errors
/// Signing.
pub fn sign(text: &str, key: &cavra_render::signed::SigningKey) -> Result<String, cavra_render::signed::SigningError> {
    let digest = cavra_package::manifest::sha256_tagged(text.as_bytes());
    key.sign(std::io::Cursor::new(text.as_bytes()), &trusted_comment(&digest))
}

/// Checks a snapshot's text against its detached signature and the
/// signer's public key.
///
/// # Errors
/// A message saying what does not verify.
pub fn verify(text: &str, minisig: &str, key: &cavra_render::signed::PublicKey) -> Result<(), String> {
    let digest = cavra_package::manifest::sha256_tagged(text.as_bytes());
    match key.verify(text.as_bytes(), minisig) {
        Ok(c) if c == trusted_comment(&digest) => Ok(()),
        Ok(_) => Err("the signature's trusted comment does not name this snapshot".into()),
        Err(_) => Err(format!("the signature does not verify with key {}", key.key_id())),
    }
}

/// Why an operations snapshot was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not JSON, or not this schema: the JSON path and the reason.
    #[error("{path}: {reason}")]
    Invalid {
        /// JSON path.
        path: String,
        /// Reason.
        reason: String,
    },
    /// The safety gate found something no report may carry.
    #[error("{path}: carries {kind}; operations snapshots are public-safe by construction")]
    Unsafe {
        /// JSON path of the text.
        path: String,
        /// What was found.
        kind: &'static str,
    },
}

fn invalid(path: impl Into<String>, reason: impl Into<String>) -> SnapshotError {
    SnapshotError::Invalid { path: path.into(), reason: reason.into() }
}

impl OpsSnapshot {
    /// A snapshot of the window with no records yet.
    pub fn empty(
        organisation: Organisation,
        window_start: Option<Timestamp>,
        window_end: Timestamp,
        data_provenance: DataProvenance,
        audit: AuditSummary,
    ) -> OpsSnapshot {
        OpsSnapshot {
            schema_version: OPS_SCHEMA_VERSION.into(),
            organisation,
            window_start,
            window_end,
            data_provenance,
            reports: Vec::new(),
            jobs: Vec::new(),
            approvals: Vec::new(),
            schedule_runs: Vec::new(),
            bounces: Vec::new(),
            rooms: Vec::new(),
            access_events: Vec::new(),
            store_events: Vec::new(),
            verifications: Vec::new(),
            response: Vec::new(),
            audit,
        }
    }

    /// Parses and validates a snapshot.
    ///
    /// ```
    /// let text = r#"{"schema_version":"cavra.ops_snapshot.v1",
    ///   "organisation":{"ref":"org:demo","display_name":"Demo","timezone":"UTC"},
    ///   "window_start":null,"window_end":"2026-11-01T00:00:00Z","data_provenance":"sample_data",
    ///   "audit":{"verified":true,"records":0,"records_in_window":0,"head":null}}"#;
    /// let s = cavra_ops::OpsSnapshot::from_json_str(text).unwrap();
    /// assert!(s.jobs.is_empty());
    /// let e = cavra_ops::OpsSnapshot::from_json_str(&text.replace("\"head\":null", "\"head\":null,\"x\":1")).unwrap_err();
    /// assert!(e.to_string().starts_with("audit.x: unknown field `x`"), "{e}");
    /// ```
    ///
    /// # Errors
    /// [`SnapshotError`] with the JSON path.
    pub fn from_json_str(text: &str) -> Result<OpsSnapshot, SnapshotError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let s: OpsSnapshot = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let reason = e.into_inner().to_string();
            invalid(if path == "." { "$".into() } else { path }, reason)
        })?;
        s.validate()?;
        gate_text(text)?;
        Ok(s)
    }

    /// The canonical JSON form (two-space indents, fixed key order, final newline).
    pub fn to_json(&self) -> String {
        // Strings, integers, booleans and timestamps always serialise.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The `sha256:` digest of the canonical form ([`OpsSnapshot::to_json`]),
    /// hashed as it is written, without holding the text.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        struct Hashing(sha2::Sha256);
        impl std::io::Write for Hashing {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut h = Hashing(sha2::Sha256::new());
        // Writing into a hasher cannot fail, and these types always serialise.
        let _ = serde_json::to_writer_pretty(&mut h, self);
        h.0.update(b"\n");
        format!("sha256:{:x}", h.0.finalize())
    }

    fn validate(&self) -> Result<(), SnapshotError> {
        if self.schema_version != OPS_SCHEMA_VERSION {
            return Err(invalid("schema_version", format!("expected {OPS_SCHEMA_VERSION}")));
        }
        if self.window_start.is_some_and(|s| s > self.window_end) {
            return Err(invalid("window_start", "after window_end"));
        }
        let end = self.window_end;
        let in_window = |t: Timestamp| self.in_window(t);
        unique("jobs", self.jobs.iter().map(|j| j.job_id.as_str()))?;
        unique("approvals", self.approvals.iter().map(|a| a.approval_id.as_str()))?;
        unique("rooms", self.rooms.iter().map(|r| r.room_id.as_str()))?;
        unique("reports", self.reports.iter().map(|r| r.item_id.as_str()))?;
        for (i, j) in self.jobs.iter().enumerate() {
            if !JOB_STATES.contains(&j.state.as_str()) {
                return Err(invalid(format!("jobs[{i}].state"), format!("unknown state `{}`", j.state)));
            }
            if j.requested_at > end {
                return Err(invalid(format!("jobs[{i}].requested_at"), "after the window"));
            }
        }
        for (i, a) in self.approvals.iter().enumerate() {
            if !DECISIONS.contains(&a.decision.as_str()) {
                return Err(invalid(format!("approvals[{i}].decision"), format!("unknown decision `{}`", a.decision)));
            }
            if a.decided_at.is_some_and(|d| d < a.requested_at) {
                return Err(invalid(format!("approvals[{i}].decided_at"), "before it was requested"));
            }
        }
        for (i, r) in self.reports.iter().enumerate() {
            if !in_window(r.created_at) {
                return Err(invalid(format!("reports[{i}].created_at"), "outside the window"));
            }
        }
        let mut last = 0;
        for (i, e) in self.access_events.iter().enumerate() {
            if e.seq <= last && i > 0 {
                return Err(invalid(format!("access_events[{i}].seq"), "not in log order"));
            }
            last = e.seq;
            if !in_window(e.at) {
                return Err(invalid(format!("access_events[{i}].at"), "outside the window"));
            }
        }
        self.validate_response()
    }

    fn validate_response(&self) -> Result<(), SnapshotError> {
        let mut last = 0;
        for (i, v) in self.verifications.iter().enumerate() {
            if v.seq <= last && i > 0 {
                return Err(invalid(format!("verifications[{i}].seq"), "not in log order"));
            }
            last = v.seq;
            if !self.in_window(v.at) {
                return Err(invalid(format!("verifications[{i}].at"), "outside the window"));
            }
        }
        let mut last = 0;
        for (i, r) in self.response.iter().enumerate() {
            if r.seq <= last {
                return Err(invalid(format!("response[{i}].seq"), "not in ledger order"));
            }
            last = r.seq;
            if r.at > self.window_end {
                return Err(invalid(format!("response[{i}].at"), "after the window"));
            }
        }
        crate::response::Ledger::fold(&self.response)
            .map(|_| ())
            .map_err(|m| invalid(format!("response[{}]", m.index), m.reason))
    }

    /// Whether `t` falls in the snapshot's window.
    pub fn in_window(&self, t: Timestamp) -> bool {
        self.window_start.is_none_or(|s| t >= s) && t <= self.window_end
    }

    /// The state of every alert, plan, incident and exception in the snapshot.
    pub fn ledger(&self) -> crate::response::Ledger {
        // Validated when the snapshot was read or made.
        crate::response::Ledger::fold(&self.response).unwrap_or_default()
    }
}

/// The job states of the outbox.
pub const JOB_STATES: &[&str] = &["queued", "sending", "sent", "retry_scheduled", "failed", "dead_lettered", "blocked"];

/// The decisions of an approval.
pub const DECISIONS: &[&str] = &["pending", "approved", "rejected", "revoked", "expired"];

fn unique<'a>(what: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), SnapshotError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, id) in ids.enumerate() {
        if !seen.insert(id) {
            return Err(invalid(format!("{what}[{i}]"), format!("duplicate id `{id}`")));
        }
    }
    Ok(())
}

/// One step of a JSON path, kept until a detection needs the path as text.
enum Step {
    Key(String),
    Index(usize),
}

fn path_text(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Every string in the JSON `text` (keys' values, decoded from their
/// escapes) through the safety gate, read as a stream: no tree of the
/// document is built, and the path is written out only for the string that
/// fails. Fails closed.
fn gate_text(text: &str) -> Result<(), SnapshotError> {
    use serde::de::DeserializeSeed;
    let mut steps = Vec::new();
    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let walked = Walk { steps: &mut steps, found: &mut found }.deserialize(&mut de);
    match (found, walked) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(invalid("$", e.to_string())),
        (None, Ok(())) => Ok(()),
    }
}

struct Walk<'s> {
    steps: &'s mut Vec<Step>,
    found: &'s mut Option<SnapshotError>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        match cavra_model::gate::scan_text(v).first() {
            Some(d) => {
                *self.found = Some(SnapshotError::Unsafe { path: path_text(self.steps), kind: d.kind.as_str() });
                Err(E::custom("refused by the safety gate"))
            }
            None => Ok(()),
        }
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            self.steps.push(Step::Index(i));
            let next = seq.next_element_seed(Walk { steps: &mut *self.steps, found: &mut *self.found });
            self.steps.pop();
            if next?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            self.steps.push(Step::Key(key));
            let value = map.next_value_seed(Walk { steps: &mut *self.steps, found: &mut *self.found });
            self.steps.pop();
            value?;
        }
        Ok(())
    }
}
