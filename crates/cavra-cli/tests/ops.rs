//! `ops render` through the binary: every operations kind in every format
//! from the sample, and bad snapshots refused with their exit code, their
//! JSON path and no output.

mod common;

use common::*;

#[test]
fn the_sample_renders_every_operations_kind_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ops");
    let run_it = run(&["ops", "render", "--sample", "--out", out.to_str().unwrap()]);
    assert!(run_it.status.success(), "{}", String::from_utf8_lossy(&run_it.stderr));
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for kind in ["report-center-kpis", "delivery-operations-dashboard", "evidence-room-access"] {
        for ext in ["md", "csv", "json", "jsonl", "html", "xlsx", "docx", "pdf", "signed.json", "signed.json.minisig"] {
            assert!(names.contains(&format!("{kind}.{ext}")), "{kind}.{ext} in {names:?}");
        }
    }
    assert!(names.contains(&"sample-signing-key.pub".to_string()));
}

#[test]
fn bad_operations_snapshots_are_refused_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/contracts/ops_snapshot.v1.json"),
    )
    .unwrap();
    let cases = [
        (
            "state",
            example.replacen("\"state\": \"sent\"", "\"state\": \"delivered\"", 1),
            3,
            "unknown state `delivered`",
        ),
        (
            "email",
            example.replacen("Northwind Trading", "ops@northwind.example", 1),
            4,
            "organisation.display_name: carries email",
        ),
        (
            "field",
            example.replacen("\"attempts\":", "\"subject\": \"x\", \"attempts\":", 1),
            3,
            "unknown field `subject`",
        ),
        ("syntax", example[..example.len() / 2].to_string(), 3, "EOF"),
    ];
    // larger than the 256 MiB limit: refused at the limit, before memory is spent
    let out = dir.path().join("out-endless");
    let r = run(&["ops", "render", "--snapshot", "/dev/zero", "--out", out.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(3), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("larger than the limit of 268435456 bytes"));
    assert!(!out.exists());
    for (name, text, code, message) in cases {
        let input = dir.path().join(format!("{name}.json"));
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        let r = run(&["ops", "render", "--snapshot", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(code), "{name}: {stderr}");
        assert!(stderr.contains(message) && stderr.contains(input.to_str().unwrap()), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: nothing is written");
    }
}
