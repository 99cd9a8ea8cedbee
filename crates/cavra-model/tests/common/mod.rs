//! The minimal valid snapshot the input tests start from.
#![allow(dead_code)] // each test file uses a subset

use serde_json::{json, Value};

pub fn base() -> Value {
    json!({
        "schema_version": "cavra.activity_snapshot.v1",
        "tenant": {"ref": "tenant:t", "display_name": "T", "timezone": "UTC"},
        "as_of": "2026-11-01T00:00:00Z",
        "sessions": [{
            "session_id": "s1", "agent_id": "a1", "actor": "dev-1", "repository": "r1",
            "policy_pack": "p", "state": "completed",
            "started_at": "2026-10-31T00:00:00Z", "updated_at": "2026-10-31T01:00:00Z"
        }],
        "decisions": [decision("d1"), decision("d2")]
    })
}

pub fn decision(id: &str) -> Value {
    json!({
        "decision_id": id, "session_id": "s1", "agent_id": "a1", "actor": "dev-1",
        "repository": "r1", "action_type": "shell_command", "target": "cargo test",
        "requested_operation": "run tests", "policy_pack": "p", "rule_id": "runtime.ok",
        "decision": "allow", "severity": "low", "reason": "allowed",
        "timestamp": "2026-10-31T00:30:00Z", "evidence_refs": []
    })
}
