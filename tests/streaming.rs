//! The streamed agent-activity digest: two passes over a decisions file give
//! exactly the artifacts the in-memory path gives, refuse what they cannot
//! stream, and notice a file that changes between the passes.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use cavra_reports::model::gate::GateMode;
use cavra_reports::model::input::{Decision, RawSnapshot};
use cavra_reports::model::stream::StreamedDigest;
use cavra_reports::model::{
    build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot, SnapshotErrorKind,
};
use cavra_reports::render::{render_streamed, render_to_writer, Format, RenderError, StreamedRows};
use cavra_reports::synth::{generate, SynthConfig};

/// Writes `raw` as a snapshot head plus decisions JSON Lines in report order.
fn split(raw: &RawSnapshot, dir: &Path) -> (PathBuf, PathBuf) {
    let mut head = raw.clone();
    let mut decisions = head.decisions.take().unwrap();
    decisions.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.decision_id.cmp(&b.decision_id)));
    write_split(&head, &decisions, dir)
}

fn write_split(head: &RawSnapshot, decisions: &[Decision], dir: &Path) -> (PathBuf, PathBuf) {
    let h = dir.join("head.json");
    std::fs::write(&h, serde_json::to_vec(head).unwrap()).unwrap();
    let d = dir.join("decisions.jsonl");
    let lines: Vec<String> = decisions.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
    std::fs::write(&d, lines.join("\n") + "\n").unwrap();
    (h, d)
}

fn streamed(digest: &StreamedDigest, format: Format) -> Result<Vec<u8>, RenderError> {
    let mut out = Cursor::new(Vec::new());
    match format {
        Format::Jsonl | Format::Csv | Format::Xlsx => {
            let mut rows = digest.rows().unwrap();
            let stream = StreamedRows { dataset: "decisions", row_count: digest.row_count(), rows: &mut rows };
            render_streamed(digest.report(), format, stream, &mut out)?;
        }
        _ => {
            render_to_writer(digest.report(), format, &mut out)?;
        }
    }
    Ok(out.into_inner())
}

fn in_memory(head: &Path, decisions: &Path, load: &LoadOptions, format: Format) -> Vec<u8> {
    let snap = Snapshot::load(head, Some(decisions), load).unwrap();
    let posture = Posture::compute(&snap);
    let report = build_report(ReportKind::AgentActivityDigest, &snap, &posture, &ReportOptions::default());
    let mut out = Vec::new();
    render_to_writer(&report, format, &mut out).unwrap();
    out
}

const FORMATS: [Format; 5] = [Format::Jsonl, Format::Csv, Format::Xlsx, Format::Markdown, Format::Html];

fn assert_same_as_in_memory(raw: &RawSnapshot, load: &LoadOptions) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let (h, d) = split(raw, dir.path());
    let digest = StreamedDigest::open(&h, &d, load, &ReportOptions::default()).unwrap();
    for format in FORMATS {
        let a = streamed(&digest, format).unwrap();
        let b = in_memory(&h, &d, load, format);
        assert!(a == b, "{format}: the streamed artifact differs from the in-memory one");
    }
    digest.row_count()
}

#[test]
fn streamed_digest_matches_the_in_memory_one() {
    let raw = generate(&SynthConfig { agents: 9, decisions: 700, seed: 11, ..SynthConfig::default() });
    let rows = assert_same_as_in_memory(&raw, &LoadOptions::default());
    assert!(rows > 500, "{rows}");
}

#[test]
fn streamed_digest_matches_above_the_constant_memory_threshold() {
    let n = cavra_reports::render::XLSX_CONSTANT_MEMORY_ROWS + 2_000;
    let raw = generate(&SynthConfig { agents: 40, decisions: n, seed: 5, ..SynthConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    let (h, d) = split(&raw, dir.path());
    let digest = StreamedDigest::open(&h, &d, &LoadOptions::default(), &ReportOptions::default()).unwrap();
    let rows = digest.row_count();
    assert!(rows > cavra_reports::render::XLSX_CONSTANT_MEMORY_ROWS, "{rows}");
    let xlsx = streamed(&digest, Format::Xlsx).unwrap();
    assert!(xlsx == in_memory(&h, &d, &LoadOptions::default(), Format::Xlsx));
    // The decisions sheet holds a header and every row.
    let mut zip = zip::ZipArchive::new(Cursor::new(xlsx)).unwrap();
    let mut most = 0;
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap();
        if part.name().unwrap().starts_with("xl/worksheets/sheet") {
            let mut xml = String::new();
            part.read_to_string(&mut xml).unwrap();
            most = most.max(xml.matches("<row ").count());
        }
    }
    assert_eq!(most, rows + 1);
    let jsonl = streamed(&digest, Format::Jsonl).unwrap();
    assert!(jsonl == in_memory(&h, &d, &LoadOptions::default(), Format::Jsonl));
    let text = String::from_utf8(jsonl).unwrap();
    assert_eq!(text.lines().filter(|l| l.contains(r#""_dataset":"decisions""#)).count(), rows);
}

#[test]
fn streamed_redaction_matches_the_in_memory_one() {
    let mut raw = generate(&SynthConfig { agents: 5, decisions: 200, seed: 2, ..SynthConfig::default() });
    let decisions = raw.decisions.as_mut().unwrap();
    decisions[10].reason = "mail ops@corp.example.com about it".into();
    decisions[20].repository = "repo at 10.1.2.3".into();
    let load = LoadOptions { gate: GateMode::Redact };
    assert_same_as_in_memory(&raw, &load);
    let dir = tempfile::tempdir().unwrap();
    let (h, d) = split(&raw, dir.path());
    let digest = StreamedDigest::open(&h, &d, &load, &ReportOptions::default()).unwrap();
    assert_eq!(digest.report().meta.redaction.total, 2);
    let csv = String::from_utf8(streamed(&digest, Format::Csv).unwrap()).unwrap();
    assert!(csv.contains("[redacted:ipv4]") && !csv.contains("10.1.2.3"));
}

#[test]
fn unsafe_decisions_fail_closed_with_line_and_path() {
    let mut raw = generate(&SynthConfig { agents: 3, decisions: 50, seed: 4, ..SynthConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    let mut head = raw.clone();
    head.decisions = None;
    let decisions = raw.decisions.as_mut().unwrap();
    decisions.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.decision_id.cmp(&b.decision_id)));
    decisions[7].reason = "key AKIAABCDEFGHIJKLMNOP leaked".into();
    let (h, d) = write_split(&head, decisions, dir.path());
    let err = StreamedDigest::open(&h, &d, &LoadOptions::default(), &ReportOptions::default()).unwrap_err();
    assert_eq!(err.kind, SnapshotErrorKind::Unsafe);
    assert_eq!(err.problems[0].json_path, "$.decisions[7].reason");
    assert_eq!(err.problems[0].line, Some(8));
    assert!(err.to_string().contains("decisions.jsonl:8"), "{err}");
}

#[test]
fn out_of_order_and_duplicate_decisions_are_refused() {
    let raw = generate(&SynthConfig { agents: 3, decisions: 60, seed: 8, ..SynthConfig::default() });
    let mut head = raw.clone();
    let mut decisions = head.decisions.take().unwrap();
    decisions.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.decision_id.cmp(&b.decision_id)));
    let dir = tempfile::tempdir().unwrap();

    let mut swapped = decisions.clone();
    swapped.swap(10, 11);
    let (h, d) = write_split(&head, &swapped, dir.path());
    let err = StreamedDigest::open(&h, &d, &LoadOptions::default(), &ReportOptions::default()).unwrap_err();
    assert_eq!(err.kind, SnapshotErrorKind::InvalidValue);
    assert_eq!(err.problems[0].line, Some(12));
    assert!(err.to_string().contains("report order"), "{err}");

    // The same id again, far from the first and at a later time.
    let mut doubled = decisions.clone();
    doubled[40].decision_id = doubled[5].decision_id.clone();
    doubled[40].timestamp = doubled[39].timestamp;
    doubled.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.decision_id.cmp(&b.decision_id)));
    let line = doubled.iter().rposition(|d| d.decision_id == decisions[5].decision_id).unwrap() + 1;
    let (h, d) = write_split(&head, &doubled, dir.path());
    let err = StreamedDigest::open(&h, &d, &LoadOptions::default(), &ReportOptions::default()).unwrap_err();
    assert_eq!(err.kind, SnapshotErrorKind::Duplicate);
    assert_eq!(err.problems[0].line, Some(line));

    // Inline decisions and a decisions file at once.
    let inline = dir.path().join("inline.json");
    std::fs::write(&inline, serde_json::to_vec(&raw).unwrap()).unwrap();
    let err = StreamedDigest::open(&inline, &d, &LoadOptions::default(), &ReportOptions::default()).unwrap_err();
    assert_eq!(err.kind, SnapshotErrorKind::Conflict);
}

#[test]
fn a_file_changed_between_the_passes_is_an_error() {
    let raw = generate(&SynthConfig { agents: 3, decisions: 40, seed: 9, ..SynthConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    let (h, d) = split(&raw, dir.path());
    let digest = StreamedDigest::open(&h, &d, &LoadOptions::default(), &ReportOptions::default()).unwrap();
    let text = std::fs::read_to_string(&d).unwrap();
    std::fs::write(&d, text.replacen("\"allow\"", "\"warn\"", 1)).unwrap();
    let err = streamed(&digest, Format::Csv).unwrap_err();
    match err {
        RenderError::Rows { source, .. } => assert_eq!(source.kind, SnapshotErrorKind::Conflict),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn formats_that_hold_every_row_refuse_to_stream() {
    let raw = generate(&SynthConfig { agents: 3, decisions: 20, seed: 1, ..SynthConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    let (h, d) = split(&raw, dir.path());
    let digest = StreamedDigest::open(&h, &d, &LoadOptions::default(), &ReportOptions::default()).unwrap();
    for format in [Format::Json, Format::SignedJson, Format::Pdf] {
        let mut rows = digest.rows().unwrap();
        let stream = StreamedRows { dataset: "decisions", row_count: digest.row_count(), rows: &mut rows };
        let err = render_streamed(digest.report(), format, stream, &mut Cursor::new(Vec::new())).unwrap_err();
        assert_eq!(err, RenderError::NotStreamable { format });
    }
    // A promise the rows do not keep is an error, not a short file.
    let mut rows = digest.rows().unwrap();
    let stream = StreamedRows { dataset: "decisions", row_count: digest.row_count() + 1, rows: &mut rows };
    assert!(render_streamed(digest.report(), Format::Jsonl, stream, &mut Cursor::new(Vec::new())).is_err());
}
