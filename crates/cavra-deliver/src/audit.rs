//! A tamper-evident audit log: JSON Lines, one event per line, each record
//! carrying its sequence number and the sha256 of the previous record, with
//! a minisign-signed checkpoint every N records and when the log is closed.
//!
//! [`verify_log`] recomputes the chain and checks every checkpoint: an
//! edited, deleted, reordered or inserted record breaks the chain at a named
//! sequence number; records appended after the closing checkpoint and a
//! truncated last line are reported too.
//!
//! A record line is the canonical JSON (RFC 8785) of
//! `{"seq":…,"prev":"sha256:…","event":{…}}` or, for a checkpoint,
//! `{"seq":…,"prev":…,"checkpoint":{"head":"sha256:…","records":…,"closed":…},"signature":"<minisig>"}`;
//! a record's hash is the sha256 of its line without the newline. The
//! signature covers `cavra-audit-checkpoint seq=<n> head=<hash of the previous record> closed=<bool>`.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use cavra_render::signed::SigningKey;

/// The `prev` of the first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Who asked for what, and what happened (the delivery-audit-event vocabulary).
/// Recipients are summarised by count and domain, never by address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// When (the caller's clock, RFC 3339 UTC).
    pub at: String,
    /// catalog, render, package, send, schedule, test_delivery, approve, bounce…
    pub action: String,
    /// accepted, rendered, sent, scheduled, test_passed, failed, retry_scheduled,
    /// blocked_requires_approval, blocked_policy.
    pub status: AuditStatus,
    /// Role that asked.
    pub role: String,
    /// Recipient counts and domains only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recipients: Option<RecipientSummary>,
    /// Approval request id, when one applies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub approval: Option<String>,
    /// Retry state (`attempt 2 of 5, next 2026-11-01T12:05:00Z`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retry: Option<String>,
    /// `sha256:` digest of the report or package concerned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub digest: Option<String>,
    /// Short reason for failures and blocks.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// Event statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Refused by policy.
    BlockedPolicy,
}

/// Recipients by count and domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientSummary {
    /// How many.
    pub count: usize,
    /// Their domains, sorted, each once.
    pub domains: Vec<String>,
}

impl RecipientSummary {
    /// Summarises addresses: the count and the sorted set of domains.
    pub fn of<'a>(addresses: impl IntoIterator<Item = &'a crate::policy::Address>) -> RecipientSummary {
        let mut count = 0;
        let mut domains = std::collections::BTreeSet::new();
        for a in addresses {
            count += 1;
            domains.insert(a.domain.clone());
        }
        RecipientSummary { count, domains: domains.into_iter().collect() }
    }
}

fn hash_line(line: &str) -> String {
    cavra_package::manifest::sha256_tagged(line.as_bytes())
}

fn checkpoint_message(seq: u64, head: &str, closed: bool) -> String {
    format!("cavra-audit-checkpoint seq={seq} head={head} closed={closed}")
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
    #[error("audit log {path} does not verify: {problem}")]
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
    #[error("signing a checkpoint: {0}")]
    Sign(#[from] cavra_render::signed::SigningError),
    /// The event carries something the safety gate refuses.
    #[error("the audit event carries {0} content")]
    Unsafe(String),
}

/// An append-only writer.
pub struct AuditLog {
    path: std::path::PathBuf,
    file: std::fs::File,
    key: SigningKey,
    every: u64,
    seq: u64,
    head: String,
    since_checkpoint: u64,
}

impl AuditLog {
    /// Opens (or creates) the log at `path`, verifying what is there first;
    /// a checkpoint is signed with `key` every `every` records.
    ///
    /// # Errors
    /// I/O, a log that does not verify, or one that was closed.
    pub fn open(path: &std::path::Path, key: SigningKey, every: u64) -> Result<AuditLog, AuditError> {
        let shown = path.display().to_string();
        let io = |source| AuditError::Io { path: shown.clone(), source };
        let (seq, head, since, closed) = if path.exists() {
            let file = std::fs::File::open(path).map_err(io)?;
            let v = verify_log(std::io::BufReader::new(file), &key.public_key_file());
            if let Some(p) = v.problems.first() {
                return Err(AuditError::Broken { path: shown, problem: p.clone() });
            }
            (v.records, v.head, v.records.saturating_sub(v.last_checkpoint.unwrap_or(0)), v.closed)
        } else {
            (0, GENESIS.to_string(), 0, false)
        };
        if closed {
            return Err(AuditError::Closed(shown));
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
        Ok(AuditLog { path: path.to_path_buf(), file, key, every: every.max(1), seq, head, since_checkpoint: since })
    }

    fn write_record(&mut self, mut record: Value) -> Result<(), AuditError> {
        record["seq"] = json!(self.seq + 1);
        record["prev"] = json!(self.head);
        let line = cavra_model::canonical::to_canonical_string(&record);
        let shown = self.path.display().to_string();
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| AuditError::Io { path: shown, source })?;
        self.seq += 1;
        self.head = hash_line(&line);
        Ok(())
    }

    /// Appends an event (and a checkpoint when one is due).
    ///
    /// # Errors
    /// I/O, signing, or an event the safety gate refuses (an e-mail address
    /// where only domains belong, a token…).
    pub fn append(&mut self, event: &AuditEvent) -> Result<u64, AuditError> {
        let value = serde_json::to_value(event).unwrap_or(Value::Null);
        if let Some((path, kind)) = cavra_model::gate::scan_json(&value).into_iter().next() {
            return Err(AuditError::Unsafe(format!("{kind} at {path}")));
        }
        self.write_record(json!({ "event": value }))?;
        let seq = self.seq;
        self.since_checkpoint += 1;
        if self.since_checkpoint >= self.every {
            self.checkpoint(false)?;
        }
        Ok(seq)
    }

    fn checkpoint(&mut self, closed: bool) -> Result<(), AuditError> {
        let seq = self.seq + 1;
        let message = checkpoint_message(seq, &self.head, closed);
        let signature = self.key.sign(std::io::Cursor::new(message.as_bytes()), &message)?;
        let records = self.seq;
        let head = self.head.clone();
        self.write_record(json!({
            "checkpoint": {"head": head, "records": records, "closed": closed},
            "signature": signature,
        }))?;
        self.since_checkpoint = 0;
        Ok(())
    }

    /// Writes the closing checkpoint; nothing may be appended afterwards.
    ///
    /// # Errors
    /// I/O or signing.
    pub fn close(mut self) -> Result<(), AuditError> {
        self.checkpoint(true)
    }
}

/// What [`verify_log`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogVerification {
    /// Records read (events and checkpoints).
    pub records: u64,
    /// Events among them.
    pub events: u64,
    /// Sequence number of the last valid checkpoint.
    pub last_checkpoint: Option<u64>,
    /// Whether the last checkpoint closed the log.
    pub closed: bool,
    /// Hash of the last record.
    pub head: String,
    /// Every problem, each naming the record (`record N` / `line N`).
    pub problems: Vec<String>,
    /// Events after the last checkpoint (not yet covered by a signature).
    pub unsigned_tail: u64,
}

impl LogVerification {
    /// Whether the log verified.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies a log against the checkpoint signer's public key file.
pub fn verify_log(reader: impl BufRead, public_key_file: &str) -> LogVerification {
    let mut v = LogVerification { head: GENESIS.to_string(), ..Default::default() };
    let mut lines = reader.split(b'\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                v.problems.push(format!("line {n}: cannot read: {e}"));
                break;
            }
        };
        let is_last = lines.peek().is_none();
        let Ok(text) = String::from_utf8(line) else {
            v.problems.push(format!("line {n}: not UTF-8"));
            break;
        };
        if text.is_empty() && is_last {
            break; // the newline that ends the last record
        }
        let record: Value = match serde_json::from_str(&text) {
            Ok(r) => r,
            Err(_) if is_last => {
                v.problems.push(format!("line {n}: truncated record (the log was cut mid-write)"));
                break;
            }
            Err(e) => {
                v.problems.push(format!("line {n}: not a JSON record: {e}"));
                break;
            }
        };
        let expected = v.records + 1;
        if v.closed {
            v.problems.push(format!("record {expected} (line {n}): appended after the log was closed"));
            break;
        }
        if cavra_model::canonical::to_canonical_string(&record) != text {
            v.problems.push(format!("record {expected} (line {n}): not in canonical form (edited by hand?)"));
        }
        if record["seq"].as_u64() != Some(expected) {
            v.problems.push(format!(
                "record {expected} (line {n}): carries sequence number {} (a record was deleted, inserted or moved)",
                record["seq"]
            ));
            break;
        }
        if record["prev"].as_str() != Some(v.head.as_str()) {
            v.problems.push(format!(
                "record {expected} (line {n}): does not chain to record {} (that record, or this one, was edited or moved)",
                expected - 1
            ));
            break;
        }
        if let Some(cp) = record.get("checkpoint") {
            let closed = cp["closed"].as_bool().unwrap_or(false);
            let message = checkpoint_message(expected, &v.head, closed);
            let sig = record["signature"].as_str().unwrap_or_default();
            let signed = cavra_render::signed::verify(public_key_file, message.as_bytes(), sig);
            let consistent = cp["head"].as_str() == Some(v.head.as_str()) && cp["records"].as_u64() == Some(v.records);
            match signed {
                Ok(comment) if comment == message && consistent => {
                    v.last_checkpoint = Some(expected);
                    v.closed = closed;
                    v.unsigned_tail = 0;
                }
                Ok(_) | Err(_) => {
                    v.problems.push(format!("record {expected} (line {n}): checkpoint signature does not verify"));
                    break;
                }
            }
        } else if record.get("event").is_some() {
            v.events += 1;
            v.unsigned_tail += 1;
        } else {
            v.problems.push(format!("record {expected} (line {n}): neither an event nor a checkpoint"));
            break;
        }
        v.records = expected;
        v.head = hash_line(&text);
    }
    v
}
