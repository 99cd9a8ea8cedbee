//! The JSON Schemas in `schemas/` are an independent statement of the
//! contracts: the input snapshot, the board KPI pack and every report's JSON
//! form. A separate validator checks our inputs and outputs against them.

mod common;

use cavra_reports::model::LoadOptions;
use cavra_reports::synth::{generate, SynthConfig};
use serde_json::Value;

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(common::root().join("schemas").join(name)).expect("schema file");
    let value: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options().should_validate_formats(true).build(&value).expect("schema compiles")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn sample_and_synthetic_snapshots_match_the_input_schema() {
    let v = schema("activity_snapshot.v1.schema.json");
    let sample: Value = serde_json::from_str(&common::sample_text()).unwrap();
    assert_eq!(errors(&v, &sample), Vec::<String>::new());
    let synthetic =
        serde_json::to_value(generate(&SynthConfig { agents: 30, decisions: 500, seed: 9, ..SynthConfig::default() }))
            .unwrap();
    assert_eq!(errors(&v, &synthetic), Vec::<String>::new());
}

#[test]
fn schema_and_parser_agree_on_rejections() {
    let v = schema("activity_snapshot.v1.schema.json");
    let base: Value = serde_json::from_str(&common::sample_text()).unwrap();
    let cases: [(&str, Value); 5] = [
        ("/schema_version", Value::from("cavra.activity_snapshot.v9")),
        ("/decisions/0/decision", Value::from("deny")),
        ("/decisions/0/timestamp", Value::from("yesterday")),
        ("/decisions/0/raw_prompt", Value::from("x")),
        ("/sessions/0/colour", Value::from("red")),
    ];
    for (pointer, value) in cases {
        let mut doc = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        doc.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(key.into(), value);
        assert!(!errors(&v, &doc).is_empty(), "schema accepts {pointer}");
        assert!(
            cavra_reports::model::Snapshot::from_json_str(&doc.to_string(), &LoadOptions::default()).is_err(),
            "parser accepts {pointer}"
        );
    }
}

#[test]
fn every_json_artifact_matches_the_report_schema() {
    let report = schema("report.v1.schema.json");
    let board = schema("board_kpi_pack.v1.schema.json");
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let mut checked = 0;
    for a in common::render_all(&snapshot).iter().filter(|a| a.name.ends_with(".json")) {
        let doc: Value = serde_json::from_slice(&a.bytes).unwrap();
        assert_eq!(errors(&report, &doc), Vec::<String>::new(), "{}", a.name);
        if a.name.starts_with("board-kpi-pack.") {
            assert_eq!(errors(&board, &doc), Vec::<String>::new());
        }
        checked += 1;
    }
    for a in common::render_ops().iter().filter(|a| a.name.ends_with(".json")) {
        let doc: Value = serde_json::from_slice(&a.bytes).unwrap();
        assert_eq!(errors(&report, &doc), Vec::<String>::new(), "{}", a.name);
        checked += 1;
    }
    // the JSON and the signed (canonical) JSON of every kind
    assert_eq!(checked, 2 * common::kind_count());
}

/// The operations snapshot's schema (generated from its types) accepts the
/// example the code writes and rejects what the parser rejects, by this
/// crate's validator and by Python's `jsonschema`, an independent one.
/// `UPDATE_SCHEMAS=1` rewrites the example after a deliberate change.
#[test]
fn the_operations_snapshot_example_matches_its_schema() {
    let v = schema("ops_snapshot.v1.schema.json");
    let path = common::root().join("examples/contracts/ops_snapshot.v1.json");
    let text = cavra_reports::ops::synth::generate(&Default::default()).to_json();
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        common::write(&path, text.as_bytes());
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap_or_default(), text, "{} is stale", path.display());
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
    let mut bad = doc.clone();
    bad["jobs"][0]["recipient"] = Value::from("x");
    assert!(!errors(&v, &bad).is_empty(), "an unknown field is refused");
    assert!(cavra_reports::ops::OpsSnapshot::from_json_str(&bad.to_string()).is_err());
    let mut bad = doc.clone();
    bad["window_end"] = Value::from("31/10/2026");
    assert!(!errors(&v, &bad).is_empty(), "a bad time is refused");
    if common::python_module("jsonschema") {
        let script = "import json, sys, jsonschema\n\
            schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))\n\
            jsonschema.Draft202012Validator.check_schema(schema)\n\
            jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)\n\
            print('ok')\n";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(common::root().join("schemas/ops_snapshot.v1.schema.json"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// A dataset held in a section names where its rows are, and they are
/// there with the same values the flat forms carry: an array of
/// `row_count` objects with every column key (a list joined with `; ` in
/// the flat forms), or, for a metric/value dataset, an object keyed by
/// metric. The JSON Lines form of the same report, which always carries
/// every row, is the reference.
#[test]
fn datasets_held_in_sections_point_at_their_rows() {
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let artifacts = common::render_all(&snapshot);
    let mut held = Vec::new();
    for a in artifacts.iter().filter(|a| a.name.ends_with(".json")) {
        let doc: Value = serde_json::from_slice(&a.bytes).unwrap();
        let lines_name = format!("{}.jsonl", a.name.trim_end_matches(".json").trim_end_matches(".signed"));
        let lines = &artifacts.iter().find(|x| x.name == lines_name).unwrap().bytes;
        let flat: Vec<Value> = lines
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        for (name, d) in doc["datasets"].as_object().unwrap() {
            let Some(section) = d["rows_in"].as_str() else { continue };
            assert!(d.get("rows").is_none(), "{} {name}: rows_in and rows", a.name);
            let expected: Vec<&Value> = flat.iter().filter(|r| r["_dataset"] == name.as_str()).collect();
            assert_eq!(expected.len() as u64, d["row_count"].as_u64().unwrap(), "{} {name}", a.name);
            let keys: Vec<&str> = d["columns"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
            match &doc[section] {
                Value::Array(rows) => {
                    assert_eq!(rows.len(), expected.len(), "{} {name}", a.name);
                    for (row, want) in rows.iter().zip(&expected) {
                        for key in &keys {
                            let got = match &row[*key] {
                                Value::Array(items) => Value::from(
                                    items
                                        .iter()
                                        .map(|i| i.as_str().unwrap().to_string())
                                        .collect::<Vec<_>>()
                                        .join("; "),
                                ),
                                Value::Null if row.get(*key).is_none() => panic!("{} {name}: no `{key}`", a.name),
                                other => other.clone(),
                            };
                            assert_eq!(got, want[*key], "{} {name}.{key}", a.name);
                        }
                    }
                }
                Value::Object(_) => {
                    // Its whole-number entries, in order, are the rows.
                    // The canonical (signed) form sorts object keys.
                    let mut rows = common::dataset_rows(&doc, d);
                    let mut want: Vec<Value> = expected
                        .iter()
                        .map(|w| serde_json::json!({"metric": w["metric"], "value": w["value"]}))
                        .collect();
                    if a.name.ends_with(".signed.json") {
                        let by_metric = |v: &Value| v["metric"].as_str().unwrap().to_string();
                        rows.sort_by_key(by_metric);
                        want.sort_by_key(by_metric);
                    }
                    assert_eq!(rows, want, "{} {name}", a.name);
                }
                other => panic!("{} {name}: `{section}` holds no rows: {other}", a.name),
            }
            held.push(format!("{}:{name}", a.name));
        }
    }
    held.sort();
    let kinds = [
        "agent-activity-digest:top_rules",
        "board-kpi-pack:top_risks",
        "executive-risk-brief:overview",
        "executive-risk-brief:top_findings",
        "incident-packet:incidents",
        "soc2-audit-summary:controls",
    ];
    let mut want: Vec<String> = kinds
        .iter()
        .flat_map(|k| {
            let (kind, name) = k.split_once(':').unwrap();
            [format!("{kind}.json:{name}"), format!("{kind}.signed.json:{name}")]
        })
        .collect();
    want.sort();
    assert_eq!(held, want);
}
