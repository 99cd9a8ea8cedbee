//! A room's access events, read back from the signed audit log: the log is
//! verified whole first, then the records whose `room_access` names the
//! room are kept, typed, in order (`cavra.room_access_events.v1`).
//!
//! ```
//! use cavra_deliver::access::{AccessEvent, AccessOutcome, AccessType};
//! use cavra_deliver::audit::AuditLog;
//! use cavra_render::signed::SigningKey;
//! let dir = tempfile::tempdir().unwrap();
//! let key = SigningKey::generate().unwrap();
//! let path = dir.path().join("access.jsonl");
//! let mut log = AuditLog::open(&path, key.clone()).unwrap();
//! let e = AccessEvent::new(AccessType::View, AccessOutcome::Allowed, "room-0123456789abcdef");
//! log.append(&e.audit_event("2027-01-15T08:00:00Z")).unwrap();
//! drop(log);
//! let text = std::fs::read_to_string(&path).unwrap();
//! let events = cavra_room::events::read(&text, &key.public_key(), "room-0123456789abcdef").unwrap();
//! assert_eq!(events.events.len(), 1);
//! assert!(events.csv().unwrap().starts_with("seq,at,event_type,"));
//! ```

use cavra_deliver::access::AccessEvent;
use cavra_render::signed::PublicKey;
use serde::Serialize;

/// The document's schema id.
pub const SCHEMA: &str = "cavra.room_access_events.v1";

/// The document's JSON Schema, generated from its types
/// (`schemas/room_access_events.v1.schema.json`).
pub fn json_schema() -> String {
    cavra_model::schema::publish::<RoomEvents>("room_access_events.v1.schema.json", SCHEMA)
}

/// One access event and its place in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Row {
    /// The record's sequence number.
    pub seq: u64,
    /// When (RFC 3339).
    pub at: String,
    /// The hash of the record before it (the chain).
    pub record_hash_prev: String,
    /// The event.
    pub access: AccessEvent,
}

/// One room's access events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RoomEvents {
    /// [`SCHEMA`].
    pub schema_version: &'static str,
    /// The room.
    pub room_ref: String,
    /// Its events, in log order.
    pub events: Vec<Row>,
}

/// Reads `room`'s events from the log text, after verifying the whole log
/// against `key`.
///
/// # Errors
/// The log does not verify (the problems, joined), or a record is not one this release writes.
pub fn read(log: &str, key: &PublicKey, room: &str) -> Result<RoomEvents, String> {
    let v = cavra_deliver::audit::verify_log(std::io::BufReader::new(log.as_bytes()), key, None);
    if !v.ok() {
        return Err(v.problems.join("; "));
    }
    let mut events = Vec::new();
    for (i, line) in log.lines().enumerate() {
        let r: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("record {}: {e}", i + 1))?;
        let access = &r["event"]["room_access"];
        if access["room_ref"] != room {
            continue;
        }
        events.push(Row {
            seq: r["seq"].as_u64().unwrap_or_default(),
            at: r["event"]["at"].as_str().unwrap_or_default().to_string(),
            record_hash_prev: r["prev"].as_str().unwrap_or_default().to_string(),
            access: serde_json::from_value(access.clone()).map_err(|e| format!("record {}: {e}", i + 1))?,
        });
    }
    Ok(RoomEvents { schema_version: SCHEMA, room_ref: room.to_string(), events })
}

fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl RoomEvents {
    /// The document as pretty JSON.
    ///
    /// # Errors
    /// Serialisation.
    pub fn json(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self).map_err(|e| e.to_string())
    }

    /// One CSV row per event (formula prefixes neutralised).
    ///
    /// # Errors
    /// Writing the CSV.
    pub fn csv(&self) -> Result<String, String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header = [
            "seq",
            "at",
            "event_type",
            "outcome",
            "actor_class",
            "mfa_status",
            "link_ref",
            "link_state",
            "artifact_refs",
            "watermark_state",
            "access_id",
            "policy_refs",
        ];
        w.write_record(header).map_err(|e| e.to_string())?;
        for r in &self.events {
            let a = &r.access;
            let cells = [
                r.seq.to_string(),
                r.at.clone(),
                name(&a.event_type),
                name(&a.outcome),
                a.actor_class.clone(),
                name(&a.mfa_status),
                a.signed_link.link_ref.clone().unwrap_or_default(),
                name(&a.signed_link.state),
                a.artifact_refs.join(" "),
                name(&a.watermark_state),
                a.access_id.clone().unwrap_or_default(),
                a.policy_refs.join(" "),
            ];
            w.write_record(cells.iter().map(|c| cavra_render::neutralise_formula(c).into_owned()))
                .map_err(|e| e.to_string())?;
        }
        String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    }
}
