//! Shared helpers for the workspace tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cavra_reports::model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
use cavra_reports::render::{render, Artifact, Format};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample_path() -> PathBuf {
    root().join("examples/sample_snapshot.json")
}

pub fn sample_text() -> String {
    std::fs::read_to_string(sample_path()).expect("sample snapshot is readable")
}

pub fn load_text(text: &str, options: &LoadOptions) -> Snapshot {
    Snapshot::from_json_str(text, options).expect("snapshot loads")
}

/// Every (kind, format) artifact for a snapshot, in catalog order.
pub fn render_all(snapshot: &Snapshot) -> Vec<Artifact> {
    render_all_in(snapshot, true)
}

/// Every kind in every format, or only in the text formats.
pub fn render_all_in(snapshot: &Snapshot, containers: bool) -> Vec<Artifact> {
    let posture = Posture::compute(snapshot);
    let mut out = Vec::new();
    for kind in ReportKind::ALL {
        let report = build_report(*kind, snapshot, &posture, &ReportOptions::default());
        for format in Format::ALL.iter().filter(|f| containers || f.is_text()) {
            out.push(render(&report, *format).unwrap_or_else(|e| panic!("{kind} as {format}: {e}")));
        }
    }
    out
}

/// The operations reports of the generated sample operations snapshot.
pub fn ops_reports() -> Vec<cavra_reports::model::Report> {
    let snapshot = cavra_reports::ops::synth::generate(&Default::default());
    cavra_reports::model::report::OpsKind::ALL
        .iter()
        .map(|k| cavra_reports::ops::build_ops_report(*k, &snapshot, &Default::default(), &Default::default()))
        .collect()
}

/// Every operations kind in every format.
pub fn render_ops() -> Vec<Artifact> {
    let mut out = Vec::new();
    for report in ops_reports() {
        for format in Format::ALL {
            out.push(render(&report, *format).unwrap_or_else(|e| panic!("{} as {format}: {e}", report.meta.kind)));
        }
    }
    out
}

/// Every posture kind of `snapshot` and every operations kind of the sample, in every format.
pub fn render_every_kind(snapshot: &Snapshot) -> Vec<Artifact> {
    let mut out = render_all(snapshot);
    out.extend(render_ops());
    out
}

/// How many kinds there are, posture and operations.
pub fn kind_count() -> usize {
    ReportKind::ALL.len() + cavra_reports::model::report::OpsKind::ALL.len()
}

/// The report an artifact of `kind` was rendered from.
pub fn report_of(kind: &str, snapshot: &Snapshot) -> cavra_reports::model::Report {
    match kind.parse::<cavra_reports::model::report::Kind>().unwrap() {
        cavra_reports::model::report::Kind::Posture(k) => {
            build_report(k, snapshot, &Posture::compute(snapshot), &ReportOptions::default())
        }
        cavra_reports::model::report::Kind::Operations(k) => {
            ops_reports().into_iter().find(|r| r.meta.kind == k).unwrap()
        }
    }
}

pub fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The parts of a zip archive, in archive order, with their bytes.
pub fn zip_parts(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    (0..zip.len())
        .map(|i| {
            let mut part = zip.by_index(i).unwrap();
            let name = part.name().unwrap().to_string();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut part, &mut content).unwrap();
            (name, content)
        })
        .collect()
}

/// How two zip archives differ structurally, if they do.
pub fn zip_difference(expected: &[u8], actual: &[u8]) -> Option<String> {
    let (e, a) = (zip_parts(expected), zip_parts(actual));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(&e) != names(&a) {
        return Some(format!("parts differ: expected {:?}, got {:?}", names(&e), names(&a)));
    }
    e.iter().zip(&a).find(|(x, y)| x.1 != y.1).map(|(x, _)| format!("part {} differs", x.0))
}

/// The rows of a JSON form's dataset as the flat formats carry them: its
/// own `rows`, or those of the section it names in `rows_in`, keeping only
/// the dataset's columns and joining lists with `; `.
#[allow(dead_code)]
pub fn dataset_rows(doc: &serde_json::Value, dataset: &serde_json::Value) -> Vec<serde_json::Value> {
    if let Some(rows) = dataset["rows"].as_array() {
        return rows.clone();
    }
    let section = dataset["rows_in"].as_str().expect("a dataset has rows or rows_in");
    let keys: Vec<&str> = dataset["columns"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    if let Some(figures) = doc[section].as_object() {
        // A metric/value dataset: the object's whole-number entries, in order.
        assert_eq!(keys, ["metric", "value"], "an object holds metric/value rows only");
        return figures
            .iter()
            .filter(|(_, v)| v.is_i64() || v.is_u64())
            .map(|(k, v)| serde_json::json!({"metric": k, "value": v}))
            .collect();
    }
    doc[section]
        .as_array()
        .unwrap_or_else(|| panic!("rows_in names `{section}`, which is neither an array nor an object"))
        .iter()
        .map(|o| {
            let flat = keys.iter().map(|k| {
                let v = match &o[*k] {
                    serde_json::Value::Array(items) => serde_json::Value::String(
                        items.iter().map(|i| i.as_str().unwrap_or_default().to_string()).collect::<Vec<_>>().join("; "),
                    ),
                    other => other.clone(),
                };
                ((*k).to_string(), v)
            });
            serde_json::Value::Object(flat.collect())
        })
        .collect()
}

/// Whether a command runs; panics in CI when it does not.
pub fn tool_runs(name: &str, args: &[&str]) -> bool {
    let ok = std::process::Command::new(name).args(args).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "`{name}` is required in CI; .ci/run installs it");
        eprintln!("SKIPPED: `{name}` is not installed");
    }
    ok
}

/// Whether a Python module is importable; panics in CI when it is not.
pub fn python_module(module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("import {module}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "python module `{module}` is required in CI; .ci/run installs it");
        eprintln!("SKIPPED: python module `{module}` is not installed");
    }
    ok
}
