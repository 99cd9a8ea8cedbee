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
    let posture = Posture::compute(snapshot);
    let mut out = Vec::new();
    for kind in ReportKind::ALL {
        let report = build_report(*kind, snapshot, &posture, &ReportOptions::default());
        for format in Format::ALL {
            out.push(render(&report, *format).unwrap_or_else(|e| panic!("{kind} as {format}: {e}")));
        }
    }
    out
}

pub fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}
