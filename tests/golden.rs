//! Golden files: every (kind, format) of the bundled sample, byte for byte,
//! and every operations kind of the generated sample operations snapshot.
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites them.

mod common;

use cavra_reports::model::{LoadOptions, ReportKind};
use cavra_reports::render::Format;

#[test]
fn sample_matches_golden_files() {
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let artifacts = common::render_all(&snapshot);
    assert_eq!(artifacts.len(), ReportKind::ALL.len() * Format::ALL.len(), "every kind in every format");
    compare(&artifacts, &common::golden_dir());
}

#[test]
fn operations_sample_matches_golden_files() {
    use cavra_reports::model::report::OpsKind;
    let snapshot = cavra_reports::ops::synth::generate(&Default::default());
    let mut artifacts = Vec::new();
    for kind in OpsKind::ALL {
        let report = cavra_reports::ops::build_ops_report(*kind, &snapshot, &Default::default(), &Default::default());
        for format in Format::ALL {
            artifacts.push(cavra_reports::render::render(&report, *format).unwrap());
        }
    }
    assert_eq!(artifacts.len(), OpsKind::ALL.len() * Format::ALL.len(), "every kind in every format");
    compare(&artifacts, &common::root().join("tests/golden-ops"));
}

fn compare(artifacts: &[cavra_reports::render::Artifact], dir: &std::path::Path) {
    let dir = dir.to_path_buf();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for a in artifacts {
        let path = dir.join(&a.name);
        if update {
            common::write(&path, &a.bytes);
            continue;
        }
        match std::fs::read(&path) {
            Ok(expected) if expected == a.bytes => {}
            Ok(_) if a.format == Format::Pdf => {
                failures.push(format!("{}: differs from the golden file", a.name));
            }
            Ok(expected) if !a.format.is_text() => {
                // Containers are compared part by part, so a failure names the part.
                if let Some(diff) = common::zip_difference(&expected, &a.bytes) {
                    failures.push(format!("{}: {diff}", a.name));
                }
            }
            Ok(expected) => {
                let line = expected
                    .split(|b| *b == b'\n')
                    .zip(a.bytes.split(|b| *b == b'\n'))
                    .position(|(x, y)| x != y)
                    .map_or(0, |i| i + 1);
                failures.push(format!("{}: differs from the golden file (first at line {line})", a.name));
            }
            Err(e) => failures.push(format!("{}: no golden file ({e}); run with UPDATE_GOLDEN=1", a.name)),
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    on_disk.sort();
    let mut expected: Vec<String> = artifacts.iter().map(|a| a.name.clone()).collect();
    expected.sort();
    if !update && on_disk != expected {
        failures.push(format!("golden folder holds {on_disk:?}, expected {expected:?}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
