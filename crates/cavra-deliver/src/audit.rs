//! A sealed audit log: JSON Lines, one record per line, every record
//! signed, chained to the one before and rooted in a signed genesis bound
//! to the audit key.
//!
//! Format `cavra.audit_log.v2`. A record line is the canonical JSON (RFC
//! 8785) of `{"seq":N,"prev":"sha256:…",<body>,"sig":"<minisig>"}` where the
//! body is one of
//! - `"genesis":{"format":"cavra.audit_log.v2","key_id":"<audit key id>"}` —
//!   record 1, and only record 1;
//! - `"event":{…}` — an [`AuditEvent`];
//! - `"close":{"records":N}` — the closing record; nothing may follow it.
//!
//! A record's hash is the `sha256:` of its canonical JSON *without* `sig`;
//! the next record's `prev` is that hash (the first record's is
//! [`GENESIS`]). `sig` is a minisign signature by the audit key over the
//! statement `cavra-audit-record seq=<N> hash=<hash>`, which is also its
//! trusted comment. So every record is covered by a signature the moment it
//! is written — there is no unsigned tail — and anyone holding the public
//! key can check any record, or a kept [`Head`], with the reference tool:
//!
//! ```text
//! printf 'cavra-audit-record seq=7 hash=sha256:…' > statement
//! minisign -V -p audit.pub -m statement -x record7.minisig
//! ```
//!
//! [`verify_log`] checks canonical form, sequence, chain and every
//! signature, names the first record that fails, and, given a [`Head`] kept
//! from an earlier look, refuses a log that is shorter than it or diverges
//! from it (truncation and rewrite detection in the manner of RFC 6962's
//! consistency check). [`AuditLog::open`] verifies the whole log, under an
//! exclusive lock, before it appends anything: the tool never signs over
//! what it cannot verify.
//!
//! ```
//! use cavra_deliver::audit::*;
//! use cavra_render::signed::SigningKey;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("audit.jsonl");
//! let key = SigningKey::generate().unwrap();
//! let mut log = AuditLog::open(&path, key.clone()).unwrap();
//! log.append(&AuditEvent::new("2027-01-15T08:00:00Z", AuditAction::Render, AuditStatus::Rendered)).unwrap();
//! log.close().unwrap();
//! let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
//! let v = verify_log(file, &key.public_key(), None);
//! assert!(v.ok() && v.closed, "{:?}", v.problems);
//! assert_eq!((v.records, v.events), (3, 1)); // genesis, the event, close
//! ```

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use cavra_render::signed::{PublicKey, SigningKey};

/// The `prev` of the first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The log format this module writes and reads.
pub const FORMAT: &str = "cavra.audit_log.v2";

/// The format of a kept head (`audit head`).
pub const HEAD_FORMAT: &str = "cavra.audit_head.v1";

/// What was done (the delivery-audit-event action vocabulary, plus the
/// report center's own actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Listing report kinds and formats.
    Catalog,
    /// Rendering reports.
    Render,
    /// Rendering the streamed activity digest.
    Digest,
    /// Building packages.
    Package,
    /// Queueing or sending a delivery.
    Send,
    /// A scheduled run.
    Schedule,
    /// A test delivery.
    TestDelivery,
    /// An approval decision.
    Approve,
    /// A bounce report.
    Bounce,
    /// A setup-file (policy, roles, schedules) acceptance.
    Policy,
    /// Registering an item in the record store.
    Register,
    /// Retrieving a stored item.
    Retrieve,
    /// Placing or releasing a legal hold.
    LegalHold,
    /// Retention approvals and deletions.
    Retention,
    /// An evidence-room access event (see [`crate::access`]).
    RoomAccess,
    /// A response-ledger event (alerts, remediation, incidents, exceptions):
    /// its digest and subject.
    Response,
    /// A package verified (`verify --audit-log`): its digest, and whether
    /// it verified (`accepted`) or not (`failed`).
    Verify,
}

impl AuditAction {
    /// The recorded name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Catalog => "catalog",
            AuditAction::Render => "render",
            AuditAction::Digest => "digest",
            AuditAction::Package => "package",
            AuditAction::Send => "send",
            AuditAction::Schedule => "schedule",
            AuditAction::TestDelivery => "test_delivery",
            AuditAction::Approve => "approve",
            AuditAction::Bounce => "bounce",
            AuditAction::Policy => "policy",
            AuditAction::Register => "register",
            AuditAction::Retrieve => "retrieve",
            AuditAction::LegalHold => "legal_hold",
            AuditAction::Retention => "retention",
            AuditAction::RoomAccess => "room_access",
            AuditAction::Response => "response",
            AuditAction::Verify => "verify",
        }
    }
}

/// Event statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditStatus {
    /// Accepted for processing.
    Accepted,
    /// Rendered.
    Rendered,
    /// Sent.
    Sent,
    /// Scheduled.
    Scheduled,
    /// A test delivery passed.
    TestPassed,
    /// Failed.
    Failed,
    /// Will be retried.
    RetryScheduled,
    /// Waiting for an approval.
    BlockedRequiresApproval,
    /// Refused by policy (a role, a recipient, a signature, a package).
    BlockedPolicy,
    /// Registered in the record store.
    Registered,
    /// A stored item was handed out.
    Served,
    /// Placed under legal hold.
    Held,
    /// Released from legal hold.
    Released,
    /// Deleted under retention (a tombstone remains).
    Deleted,
}

/// Who asked: the principal whose key signed the request, its key id and
/// the roles it held. Never a name of a person or an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The principal's name in `cavra.toml`.
    pub principal: String,
    /// Its minisign key id.
    pub key_id: String,
    /// The roles it held for this action.
    pub roles: Vec<String>,
}

/// Recipients by count and domain (addresses are never recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientSummary {
    /// How many.
    pub count: usize,
    /// Their domains, sorted, each once.
    pub domains: Vec<String>,
    /// How many of those domains are external.
    #[serde(default)]
    pub external_domain_count: usize,
    /// Always true: addresses are summarised, never recorded.
    #[serde(default = "yes")]
    pub addresses_redacted: bool,
}

fn yes() -> bool {
    true
}

impl RecipientSummary {
    /// Summarises addresses: the count and the sorted set of domains.
    pub fn of<'a>(addresses: impl IntoIterator<Item = &'a crate::policy::Address>) -> RecipientSummary {
        RecipientSummary::classified(addresses.into_iter().map(|a| (a, false)))
    }

    /// Summarises addresses with whether each is external.
    pub fn classified<'a>(addresses: impl IntoIterator<Item = (&'a crate::policy::Address, bool)>) -> RecipientSummary {
        let mut count = 0;
        let mut domains = std::collections::BTreeMap::new();
        for (a, external) in addresses {
            count += 1;
            *domains.entry(a.domain.clone()).or_insert(false) |= external;
        }
        RecipientSummary {
            count,
            external_domain_count: domains.values().filter(|e| **e).count(),
            domains: domains.into_keys().collect(),
            addresses_redacted: true,
        }
    }

    /// One recipient in `domain`.
    pub fn one(domain: &str) -> RecipientSummary {
        RecipientSummary {
            count: 1,
            domains: vec![domain.to_string()],
            external_domain_count: 0,
            addresses_redacted: true,
        }
    }
}

/// Where the approval stands (the contract's approval decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// No approval applies.
    NotRequired,
    /// Waiting for approvers.
    Pending,
    /// Approved by enough distinct approvers.
    Approved,
    /// Rejected or revoked.
    Denied,
    /// Passed its expiry.
    Expired,
    /// An approver asked for more information.
    NeedsMoreInfo,
}

/// The approval an event is linked to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalLink {
    /// The approval id (`appr-…`), when one applies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// Its state.
    pub decision: ApprovalDecision,
}

/// Retry state of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryState {
    /// This attempt's number (from 1).
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When the next attempt is due (RFC 3339), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_attempt_at: Option<String>,
    /// Whether no further attempt will be made.
    pub terminal: bool,
}

/// References to the evidence an event concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRefs {
    /// Other evidence (artifact names, run keys, package ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence_refs: Vec<String>,
    /// `sha256:` digest of the report or package concerned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub report_digest_ref: Option<String>,
    /// This record's place in the signed log (`cavra-audit:<key id>/<seq>`),
    /// filled in by [`AuditLog::append`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub immutable_store_ref: Option<String>,
}

/// What the log guarantees about every event, checked by [`AuditLog::append`]
/// (the safety gate runs over the whole event before it is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactionGuarantees {
    /// Recipients appear as counts and domains only.
    pub addresses_redacted: bool,
    /// Secrets appear only as references (`env:`, `file:`), never as values.
    pub secrets_excluded: bool,
    /// Free text passed the safety gate.
    pub free_text_gated: bool,
}

impl RedactionGuarantees {
    /// What every event written by [`AuditLog::append`] holds.
    pub const ENFORCED: RedactionGuarantees =
        RedactionGuarantees { addresses_redacted: true, secrets_excluded: true, free_text_gated: true };
}

impl Default for RedactionGuarantees {
    fn default() -> Self {
        RedactionGuarantees::ENFORCED
    }
}

/// Who asked for what, and what happened (the delivery-audit-event
/// contract's record kinds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// When (the caller's clock, RFC 3339 UTC).
    pub at: String,
    /// What was done.
    pub action: AuditAction,
    /// What happened.
    pub status: AuditStatus,
    /// Who asked (absent for unattributed report runs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actor: Option<Actor>,
    /// Recipient counts and domains only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recipients: Option<RecipientSummary>,
    /// The approval the action is linked to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub approval: Option<ApprovalLink>,
    /// Retry state.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retry: Option<RetryState>,
    /// Evidence references.
    #[serde(default)]
    pub evidence: EvidenceRefs,
    /// Short reason for failures and blocks (gated; never a server reply).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
    /// What the record guarantees about its content.
    #[serde(default)]
    pub redaction: RedactionGuarantees,
    /// An evidence-room access event, for [`AuditAction::RoomAccess`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub room_access: Option<crate::access::AccessEvent>,
}

impl AuditEvent {
    /// An event with nothing but its instant, action and status.
    pub fn new(at: &str, action: AuditAction, status: AuditStatus) -> AuditEvent {
        AuditEvent {
            at: at.to_string(),
            action,
            status,
            actor: None,
            recipients: None,
            approval: None,
            retry: None,
            evidence: EvidenceRefs::default(),
            detail: None,
            redaction: RedactionGuarantees::ENFORCED,
            room_access: None,
        }
    }

    /// With the acting principal.
    #[must_use]
    pub fn by(mut self, actor: Option<Actor>) -> AuditEvent {
        self.actor = actor;
        self
    }

    /// With a recipient summary.
    #[must_use]
    pub fn recipients(mut self, summary: RecipientSummary) -> AuditEvent {
        self.recipients = Some(summary);
        self
    }

    /// With an approval link.
    #[must_use]
    pub fn approval(mut self, id: Option<&str>, decision: ApprovalDecision) -> AuditEvent {
        self.approval = Some(ApprovalLink { id: id.map(str::to_string), decision });
        self
    }

    /// With the digest of the report or package concerned.
    #[must_use]
    pub fn digest(mut self, digest: &str) -> AuditEvent {
        self.evidence.report_digest_ref = Some(digest.to_string());
        self
    }

    /// With a further evidence reference.
    #[must_use]
    pub fn evidence(mut self, reference: &str) -> AuditEvent {
        self.evidence.evidence_refs.push(reference.to_string());
        self
    }

    /// With a retry state.
    #[must_use]
    pub fn retry(mut self, retry: RetryState) -> AuditEvent {
        self.retry = Some(retry);
        self
    }

    /// With a short detail.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> AuditEvent {
        self.detail = Some(detail.into());
        self
    }
}

/// The statement a record's signature covers.
pub fn record_statement(seq: u64, hash: &str) -> String {
    format!("cavra-audit-record seq={seq} hash={hash}")
}

/// The latest signed head of a log, for keeping elsewhere: a later
/// `verify_log` with it refuses a log that was cut below it or rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// [`HEAD_FORMAT`].
    pub format: String,
    /// The audit key's id.
    pub key_id: String,
    /// Sequence number of the last record.
    pub seq: u64,
    /// That record's hash.
    pub hash: String,
    /// Its signature (over [`record_statement`]).
    pub signature: String,
}

impl Head {
    /// Checks the head's own signature with the audit public key.
    ///
    /// # Errors
    /// A message saying what does not match.
    pub fn verify(&self, key: &PublicKey) -> Result<(), String> {
        if self.format != HEAD_FORMAT {
            return Err(format!("not a {HEAD_FORMAT} head"));
        }
        if self.key_id != key.key_id() {
            return Err(format!("the head is for key {}, not {}", self.key_id, key.key_id()));
        }
        let statement = record_statement(self.seq, &self.hash);
        match key.verify(statement.as_bytes(), &self.signature) {
            Ok(comment) if comment == statement => Ok(()),
            _ => Err("the head's signature does not verify".into()),
        }
    }
}

/// Why the log cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// I/O.
    #[error("audit log {path}: {source}")]
    Io {
        /// The log file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The existing log does not verify, so nothing may be appended.
    #[error("audit log {path} does not verify, so nothing is appended to it: {problem}")]
    Broken {
        /// The log file.
        path: String,
        /// The first problem.
        problem: String,
    },
    /// The log was closed.
    #[error("audit log {0} is closed; start a new one")]
    Closed(String),
    /// Signing failed.
    #[error("signing an audit record: {0}")]
    Sign(#[from] cavra_render::signed::SigningError),
    /// The event carries something the safety gate refuses.
    #[error("the audit event carries {0} content")]
    Unsafe(String),
}

/// An append-only writer holding an exclusive lock on the log.
pub struct AuditLog {
    path: std::path::PathBuf,
    file: std::fs::File,
    key: SigningKey,
    seq: u64,
    head: String,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("path", &self.path).field("seq", &self.seq).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (or creates, with a signed genesis) the log at `path`, taking
    /// an exclusive lock (another writer waits) and verifying every record
    /// against `key`'s public half first.
    ///
    /// # Errors
    /// I/O, a log that does not verify (or was signed by another key), or
    /// one that was closed.
    pub fn open(path: &std::path::Path, key: SigningKey) -> Result<AuditLog, AuditError> {
        let shown = path.display().to_string();
        let io = |source| AuditError::Io { path: shown.clone(), source };
        let mut file = std::fs::OpenOptions::new().create(true).read(true).append(true).open(path).map_err(io)?;
        file.lock().map_err(io)?;
        let empty = file.metadata().map_err(io)?.len() == 0;
        let v = if empty {
            LogVerification::default()
        } else {
            verify_log(std::io::BufReader::new(&mut file), &key.public_key(), None)
        };
        if let Some(p) = v.problems.first() {
            return Err(AuditError::Broken { path: shown, problem: p.clone() });
        }
        if v.closed {
            return Err(AuditError::Closed(shown));
        }
        let (seq, head) = v.head.map_or((0, GENESIS.to_string()), |h| (h.seq, h.hash));
        let mut log = AuditLog { path: path.to_path_buf(), file, key, seq, head };
        if log.seq == 0 {
            let key_id = log.key.key_id();
            log.write_record("genesis", json!({ "format": FORMAT, "key_id": key_id }))?;
        }
        Ok(log)
    }

    fn write_record(&mut self, kind: &str, body: Value) -> Result<u64, AuditError> {
        let seq = self.seq + 1;
        let mut record = json!({ "seq": seq, "prev": self.head });
        record[kind] = body;
        let hash = hash_record(&record);
        let statement = record_statement(seq, &hash);
        record["sig"] = json!(self.key.sign(std::io::Cursor::new(statement.as_bytes()), &statement)?);
        let line = cavra_model::canonical::to_canonical_string(&record);
        let shown = self.path.display().to_string();
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| AuditError::Io { path: shown, source })?;
        self.seq = seq;
        self.head = hash;
        Ok(seq)
    }

    /// Appends a signed event and returns its sequence number. The event's
    /// `immutable_store_ref` is set to its place in this log.
    ///
    /// # Errors
    /// I/O, signing, or an event the safety gate refuses (an e-mail address
    /// where only domains belong, a token…).
    pub fn append(&mut self, event: &AuditEvent) -> Result<u64, AuditError> {
        let mut event = event.clone();
        event.evidence.immutable_store_ref = Some(format!("cavra-audit:{}/{}", self.key.key_id(), self.seq + 1));
        event.redaction = RedactionGuarantees::ENFORCED;
        let value = serde_json::to_value(&event).map_err(|e| AuditError::Unsafe(format!("unserialisable: {e}")))?;
        if let Some((path, kind)) = cavra_model::gate::scan_json(&value).into_iter().next() {
            return Err(AuditError::Unsafe(format!("{kind} at {path}")));
        }
        self.write_record("event", value)
    }

    /// Writes the closing record; nothing may be appended afterwards.
    ///
    /// # Errors
    /// I/O or signing.
    pub fn close(mut self) -> Result<u64, AuditError> {
        let records = self.seq;
        self.write_record("close", json!({ "records": records }))
    }
}

fn hash_record(record: &Value) -> String {
    let mut unsigned = record.clone();
    if let Some(map) = unsigned.as_object_mut() {
        map.remove("sig");
    }
    cavra_package::manifest::sha256_tagged(cavra_model::canonical::to_canonical_string(&unsigned).as_bytes())
}

/// What [`verify_log`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogVerification {
    /// Records that verified (genesis, events, close).
    pub records: u64,
    /// Events among them.
    pub events: u64,
    /// Whether the log ends with its closing record.
    pub closed: bool,
    /// The last verified record as a head, if any.
    pub head: Option<Head>,
    /// Every problem, each naming the record (`record N (line N)`).
    pub problems: Vec<String>,
}

impl LogVerification {
    /// Whether the log verified.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One record's checks: form, sequence, chain, body and signature.
fn check_record(text: &str, expected: u64, prev: &str, key: &PublicKey) -> Result<(Value, String), String> {
    let record: Value = serde_json::from_str(text).map_err(|e| format!("not a JSON record: {e}"))?;
    if cavra_model::canonical::to_canonical_string(&record) != text {
        return Err("not in canonical form (edited by hand?)".into());
    }
    let Some(map) = record.as_object() else { return Err("not a JSON object".into()) };
    if record["seq"].as_u64() != Some(expected) {
        return Err(format!("carries sequence number {} (a record was deleted, inserted or moved)", record["seq"]));
    }
    if record["prev"].as_str() != Some(prev) {
        return Err(if expected == 1 {
            "does not start from the genesis value".to_string()
        } else {
            format!("does not chain to record {} (that record, or this one, was edited or moved)", expected - 1)
        });
    }
    let bodies: Vec<&str> = map.keys().map(String::as_str).filter(|k| !matches!(*k, "seq" | "prev" | "sig")).collect();
    match (expected, bodies.as_slice()) {
        (1, ["genesis"]) => {
            let g = &record["genesis"];
            if g["format"].as_str() != Some(FORMAT) {
                return Err(format!("the genesis is not of format {FORMAT}"));
            }
            if g["key_id"].as_str() != Some(key.key_id().as_str()) {
                return Err(format!(
                    "the genesis is bound to key {}, not to the audit key {}",
                    g["key_id"],
                    key.key_id()
                ));
            }
        }
        (1, _) => return Err("the log does not begin with a signed genesis record".into()),
        (_, ["event"]) => {
            serde_json::from_value::<AuditEvent>(record["event"].clone())
                .map_err(|e| format!("not an audit event: {e}"))?;
        }
        (_, ["close"]) => {
            if record["close"]["records"].as_u64() != Some(expected - 1) {
                return Err("the closing record counts the wrong number of records".into());
            }
        }
        (_, ["genesis"]) => return Err("a second genesis record".into()),
        _ => return Err("neither an event nor a closing record".into()),
    }
    let hash = hash_record(&record);
    let statement = record_statement(expected, &hash);
    let sig = record["sig"].as_str().ok_or("has no signature")?;
    // The untrusted comment is outside what minisign signs: pin it, so no byte of a record changes unseen.
    if !sig.starts_with("untrusted comment: signature from cavra-reports\n") {
        return Err("its signature's untrusted comment was changed".into());
    }
    match key.verify(statement.as_bytes(), sig) {
        Ok(comment) if comment == statement => Ok((record, hash)),
        Ok(_) => Err("its signature's trusted comment does not match the record".into()),
        Err(_) => Err("its signature does not verify with the audit key (written without the key, or edited)".into()),
    }
}

/// The JSON Schema of a delivery audit event (the `event` of each audit
/// record), generated from [`AuditEvent`] (`schemas/delivery_audit_event.v1.schema.json`).
pub fn event_json_schema() -> String {
    cavra_model::schema::publish::<AuditEvent>("delivery_audit_event.v1.schema.json", "cavra.delivery_audit_event.v1")
}

/// Verifies a log against the audit public key; with `expect`, a head kept
/// earlier, also refuses a log shorter than it or diverging from it.
pub fn verify_log(mut reader: impl BufRead, key: &PublicKey, expect: Option<&Head>) -> LogVerification {
    let mut v = LogVerification::default();
    if let Some(h) = expect {
        if let Err(e) = h.verify(key) {
            v.problems.push(format!("the kept head: {e}"));
            return v;
        }
    }
    let mut prev = GENESIS.to_string();
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        n += 1;
        let expected = v.records + 1;
        let at = format!("record {expected} (line {n})");
        match cavra_model::limits::read_line_bounded(&mut reader, &mut buf, cavra_model::limits::AUDIT_RECORD_BYTES) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                v.problems.push(format!("{at}: cannot read: {e}"));
                return v;
            }
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            v.problems.push(format!("{at}: not UTF-8"));
            return v;
        };
        if v.closed {
            v.problems.push(format!("{at}: appended after the log was closed"));
            return v;
        }
        match check_record(text, expected, &prev, key) {
            Ok((record, hash)) => {
                if record.get("event").is_some() {
                    v.events += 1;
                }
                v.closed = record.get("close").is_some();
                v.records = expected;
                v.head = Some(Head {
                    format: HEAD_FORMAT.into(),
                    key_id: key.key_id(),
                    seq: expected,
                    hash: hash.clone(),
                    signature: record["sig"].as_str().unwrap_or_default().to_string(),
                });
                if let Some(h) = expect.filter(|h| h.seq == expected && h.hash != hash) {
                    v.problems
                        .push(format!("{at}: differs from the kept head at record {} (the log was rewritten)", h.seq));
                    return v;
                }
                prev = hash;
            }
            Err(problem) => {
                v.problems.push(format!("{at}: {problem}"));
                return v;
            }
        }
    }
    if let Some(h) = expect.filter(|h| h.seq > v.records) {
        v.problems.push(format!(
            "the log has {} record(s) but a head kept earlier reaches record {} (records were cut from the end)",
            v.records, h.seq
        ));
    }
    if v.records == 0 && v.problems.is_empty() {
        v.problems.push("the log is empty (no signed genesis record)".into());
    }
    v
}
