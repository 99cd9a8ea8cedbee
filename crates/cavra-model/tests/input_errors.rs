//! Bad input gets a clear error: kind, JSON path, line/column, reason.

use cavra_model::gate::GateMode;
use cavra_model::{read_decisions_jsonl, LoadOptions, Snapshot, SnapshotErrorKind};
use serde_json::{json, Value};

mod common;
use common::{base, decision};

fn load(v: &Value) -> Result<Snapshot, cavra_model::SnapshotError> {
    Snapshot::from_json_str(&serde_json::to_string_pretty(v).unwrap(), &LoadOptions::default())
}

#[test]
fn base_is_valid() {
    let s = load(&base()).unwrap();
    assert_eq!(s.decisions.len(), 2);
    assert!(s.warnings.is_empty());
}

#[test]
fn malformed_json_names_line_and_column() {
    let text = "{\n  \"schema_version\": \"cavra.activity_snapshot.v1\",\n  \"tenant\": {,\n}";
    let e = Snapshot::from_json_str(text, &LoadOptions::default()).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::Syntax);
    assert_eq!(e.problems[0].line, Some(3));
    assert!(e.to_string().contains(":3:"), "{e}");
}

#[test]
fn wrong_schema_version() {
    let mut v = base();
    v["schema_version"] = json!("cavra.activity_snapshot.v2");
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::SchemaVersion);
    assert_eq!(e.json_path(), "$.schema_version");
    assert!(e.to_string().contains("expected `cavra.activity_snapshot.v1`"));
}

#[test]
fn unknown_field_is_named() {
    let mut v = base();
    v["decisions"][1]["severty"] = json!("low");
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::UnknownField);
    assert_eq!(e.json_path(), "$.decisions[1].severty");
    assert!(e.problems[0].line.is_some());
}

#[test]
fn forbidden_fields_anywhere() {
    for field in cavra_model::input::FORBIDDEN_FIELDS {
        let mut v = base();
        v["sessions"][0][*field] = json!("x");
        let e = load(&v).unwrap_err();
        assert_eq!(e.kind, SnapshotErrorKind::ForbiddenField, "{field}");
        assert_eq!(e.json_path(), format!("$.sessions[0].{field}"));
    }
    // even under x_extensions, which is otherwise ignored
    let mut v = base();
    v["decisions"][0]["x_extensions"] = json!({"vendor": {"raw_prompt": "x"}});
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::ForbiddenField);
    assert_eq!(e.json_path(), "$.decisions[0].x_extensions.vendor.raw_prompt");
    let mut v = base();
    v["x_extensions"] = json!({"vendor": {"note": "fine"}});
    assert!(load(&v).is_ok());
}

#[test]
fn bad_timestamp() {
    let mut v = base();
    v["decisions"][0]["timestamp"] = json!("31/10/2026 10:00");
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::InvalidValue);
    assert_eq!(e.json_path(), "$.decisions[0].timestamp");
    assert!(e.to_string().contains("RFC 3339"), "{e}");
}

#[test]
fn bad_enum_value() {
    let mut v = base();
    v["decisions"][1]["decision"] = json!("deny");
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::InvalidValue);
    assert_eq!(e.json_path(), "$.decisions[1].decision");
    assert!(e.to_string().contains("unknown variant `deny`"), "{e}");
}

#[test]
fn missing_field_and_missing_decisions() {
    let mut v = base();
    v["decisions"][0].as_object_mut().unwrap().remove("reason");
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::MissingField);
    assert_eq!(e.json_path(), "$.decisions[0]");
    let mut v = base();
    v.as_object_mut().unwrap().remove("decisions");
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::MissingField);
    assert_eq!(e.json_path(), "$.decisions");
}

#[test]
fn duplicates_and_bad_digest_and_window() {
    let mut v = base();
    v["decisions"][1]["decision_id"] = json!("d1");
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::Duplicate);
    assert_eq!(e.json_path(), "$.decisions[1].decision_id");

    let mut v = base();
    v["policy_baselines"] = json!([{
        "agent_id": "a1", "policy_pack": "p", "baseline_digest": "sha256:abc",
        "observed_digest": format!("sha256:{}", "0".repeat(64)),
        "baselined_at": "2026-10-01T00:00:00Z", "observed_at": "2026-10-02T00:00:00Z"
    }]);
    let e = load(&v).unwrap_err();
    assert_eq!(e.json_path(), "$.policy_baselines[0].baseline_digest");

    let mut v = base();
    v["window"] = json!({"start": "2026-11-01T00:00:00Z", "end": "2026-10-01T00:00:00Z"});
    assert_eq!(load(&v).unwrap_err().json_path(), "$.window");
}

#[test]
fn dangling_links_become_warnings_and_window_filters() {
    let mut v = base();
    v["decisions"][0]["session_id"] = json!("s-missing");
    v["incidents"] = json!([{
        "incident_ref": "inc-1", "title": "t", "severity": "high", "status": "open",
        "opened_at": "2026-10-31T00:00:00Z", "closed_at": null, "decision_ids": ["d1", "d-nope"],
        "exception_refs": ["exc-nope"], "owner_role": "sre", "review_due_at": "2026-11-05T00:00:00Z"
    }]);
    v["decisions"][1]["timestamp"] = json!("2026-11-02T00:00:00Z"); // after as_of → outside the default window
    let s = load(&v).unwrap();
    assert_eq!(s.decisions.len(), 1);
    assert_eq!(s.decisions_outside_window, 1);
    let joined = s.warnings.join("\n");
    assert!(joined.contains("session `s-missing`"), "{joined}");
    assert!(joined.contains("unknown decision `d-nope`"), "{joined}");
    assert!(joined.contains("unknown exception `exc-nope`"), "{joined}");
    assert!(joined.contains("outside the reporting window"), "{joined}");
}

#[test]
fn jsonl_errors_carry_line_numbers() {
    let good = serde_json::to_string(&decision("d1")).unwrap();
    let mut bad = decision("d2");
    bad["severity"] = json!("severe");
    let text = format!("{good}\n\n{}\n", serde_json::to_string(&bad).unwrap());
    let e = read_decisions_jsonl(text.as_bytes()).unwrap_err();
    assert_eq!(e.problems[0].line, Some(3));
    assert_eq!(e.json_path(), "$.decisions[1].severity");
    let ok = read_decisions_jsonl(format!("{good}\n").as_bytes()).unwrap();
    assert_eq!(ok.len(), 1);
}

#[test]
fn gate_lists_every_offending_path_or_redacts() {
    let mut v = base();
    v["decisions"][0]["reason"] = json!("contact ops@example.test");
    v["decisions"][1]["repository"] = json!("clone from 10.20.30.40");
    v["decisions"][1]["actor"] = json!("someone@example.test"); // never printed: not gated
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::Unsafe);
    let paths: Vec<&str> = e.problems.iter().map(|p| p.json_path.as_str()).collect();
    assert_eq!(paths, ["$.decisions[0].reason", "$.decisions[1].repository"]);
    assert!(!e.to_string().contains("ops@example.test"), "errors never echo the secret: {e}");

    let text = serde_json::to_string(&v).unwrap();
    let s = Snapshot::from_json_str(&text, &LoadOptions { gate: GateMode::Redact }).unwrap();
    assert_eq!(s.decisions.get(0).unwrap().reason(), "contact [redacted:email]");
    assert_eq!(s.redaction.total, 2);
    assert_eq!(s.redaction.by_kind.get("ipv4"), Some(&1));
}

#[test]
fn streamed_errors_name_the_decisions_file_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut snap = base();
    snap.as_object_mut().unwrap().remove("decisions");
    let snap_path = dir.path().join("snap.json");
    std::fs::write(&snap_path, snap.to_string()).unwrap();
    let mut bad = decision("d2");
    bad["reason"] = json!(format!("ping {}@{}.test", "ops", "corp"));
    let jsonl = format!("{}\n\n{}\n", decision("d1"), bad);
    let jsonl_path = dir.path().join("decisions.jsonl");
    std::fs::write(&jsonl_path, jsonl).unwrap();
    let e = Snapshot::load(&snap_path, Some(&jsonl_path), &LoadOptions::default()).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::Unsafe);
    assert_eq!(e.file.as_deref(), Some(jsonl_path.as_path()));
    // the blank line is skipped but still counted: the bad record is on line 3
    assert_eq!(e.problems[0].line, Some(3));
    assert_eq!(e.json_path(), "$.decisions[1].reason");
    assert!(e.to_string().contains("decisions.jsonl:3: $.decisions[1].reason"), "{e}");
}

#[test]
fn a_decisions_file_parsed_on_its_own_thread_gives_the_same_snapshot_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut snap = base();
    snap.as_object_mut().unwrap().remove("decisions");
    let snap_path = dir.path().join("snap.json");
    std::fs::write(&snap_path, snap.to_string()).unwrap();
    let jsonl_path = dir.path().join("decisions.jsonl");
    // More decisions than one hand-over batch, so several batches cross.
    let lines: String = (0..2500).map(|i| format!("{}\n", decision(&format!("d{i}")))).collect();
    std::fs::write(&jsonl_path, &lines).unwrap();
    let load = |jobs| Snapshot::load_on(&snap_path, Some(&jsonl_path), &LoadOptions::default(), jobs);
    let (serial, piped) = (load(1).unwrap(), load(2).unwrap());
    assert_eq!(serial.decisions.len(), 2500);
    assert_eq!(serial, piped);
    // A syntax error after a batch was handed over, and a duplicate before it:
    // the syntax error wins on either path, at the same line.
    let broken = format!("{}{}\n{{\"decision_id\":\n", lines, decision("d7"));
    std::fs::write(&jsonl_path, broken).unwrap();
    let (a, b) = (load(1).unwrap_err(), load(2).unwrap_err());
    assert_eq!(a.kind, SnapshotErrorKind::Syntax, "{a}");
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(a.problems[0].line, Some(2502));
    // Without the syntax error, the duplicate is reported the same way.
    std::fs::write(&jsonl_path, format!("{}{}\n", lines, decision("d7"))).unwrap();
    let (a, b) = (load(1).unwrap_err(), load(2).unwrap_err());
    assert_eq!(a.kind, SnapshotErrorKind::Duplicate, "{a}");
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(a.json_path(), "$.decisions[2500].decision_id");
}
