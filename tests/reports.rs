//! Whole-pipeline properties: determinism, inline vs streamed decisions,
//! the portal's CSV columns, injection safety and the safety gate.

mod common;

use cavra_reports::model::gate::GateMode;
use cavra_reports::model::{parse_raw, LoadOptions, Snapshot, SnapshotErrorKind};
use cavra_reports::synth::{generate, SynthConfig};

fn small() -> serde_json::Value {
    let raw = generate(&SynthConfig { agents: 4, decisions: 30, seed: 3, ..SynthConfig::default() });
    serde_json::to_value(raw).unwrap()
}

#[test]
fn rendering_is_deterministic() {
    let text = common::sample_text();
    let a = common::render_all(&common::load_text(&text, &LoadOptions::default()));
    let b = common::render_all(&common::load_text(&text, &LoadOptions::default()));
    assert_eq!(a, b);
    let names: std::collections::BTreeSet<_> = a.iter().map(|x| x.name.clone()).collect();
    assert_eq!(names.len(), cavra_reports::model::ReportKind::ALL.len() * cavra_reports::render::Format::ALL.len());
}

#[test]
fn inline_and_streamed_decisions_give_identical_reports() {
    let raw = generate(&SynthConfig { agents: 9, decisions: 700, seed: 11, ..SynthConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    let inline = dir.path().join("inline.json");
    std::fs::write(&inline, serde_json::to_vec(&raw).unwrap()).unwrap();
    let mut split = raw.clone();
    let decisions = split.decisions.take().unwrap();
    let bare = dir.path().join("bare.json");
    std::fs::write(&bare, serde_json::to_vec(&split).unwrap()).unwrap();
    let jsonl = dir.path().join("decisions.jsonl");
    let lines: Vec<String> = decisions.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();

    let a = Snapshot::load(&inline, None, &LoadOptions::default()).unwrap();
    let b = Snapshot::load(&bare, Some(&jsonl), &LoadOptions::default()).unwrap();
    assert_eq!(a, b);
    assert_eq!(common::render_all(&a), common::render_all(&b));

    // giving both is a conflict, not a silent merge
    let e = Snapshot::load(&inline, Some(&jsonl), &LoadOptions::default()).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::Conflict);
}

#[test]
fn csv_headers_start_with_the_portal_columns() {
    let artifacts = common::render_all(&common::load_text(&common::sample_text(), &LoadOptions::default()));
    let header = |name: &str| -> Vec<String> {
        let a = artifacts.iter().find(|a| a.name == name).unwrap();
        let mut r = csv::Reader::from_reader(a.bytes.as_slice());
        r.headers().unwrap().iter().map(String::from).collect()
    };
    let starts = |name: &str, seed: &[&str]| {
        let h = header(name);
        assert_eq!(&h[..seed.len()], seed, "{name}");
    };
    starts(
        "control-coverage.csv",
        &[
            "surface",
            "coverage_status",
            "decision_count",
            "blocked_actions",
            "approval_required_actions",
            "warned_actions",
            "evidence_confidence",
        ],
    );
    starts(
        "evidence-freshness.csv",
        &["item_id", "item_type", "freshness_status", "age_hours", "retention_status", "recommended_action"],
    );
    starts(
        "agent-risk-register.csv",
        &[
            "agent_id",
            "coverage_status",
            "drift_status",
            "session_count",
            "decision_count",
            "blocked_actions",
            "approval_required_actions",
            "warned_actions",
            "blast_radius_score",
            "blast_radius_level",
            "drift_score",
            "repository_count",
            "last_seen_at",
        ],
    );
    // the evidence-freshness CSV lists every item, not the portal's first 50
    let fresh = artifacts.iter().find(|a| a.name == "evidence-freshness.csv").unwrap();
    let rows = csv::Reader::from_reader(fresh.bytes.as_slice()).records().count();
    assert_eq!(rows, 400, "one row per decision (every sample session has decisions)");
}

#[test]
fn board_pack_json_keeps_the_portal_contract() {
    let artifacts = common::render_all(&common::load_text(&common::sample_text(), &LoadOptions::default()));
    let a = artifacts.iter().find(|a| a.name == "board-kpi-pack.json").unwrap();
    let v: serde_json::Value = serde_json::from_slice(&a.bytes).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys[..7],
        [
            "schema_version",
            "generated_at",
            "data_provenance",
            "overview",
            "agent_count",
            "control_surface_count",
            "top_risks"
        ]
    );
    assert_eq!(v["schema_version"], "cavra.aispm.board_kpi_pack.v1");
    let overview: Vec<&String> = v["overview"].as_object().unwrap().keys().collect();
    assert_eq!(
        overview,
        [
            "posture_score",
            "risk_level",
            "total_sessions",
            "total_decisions",
            "blocked_actions",
            "approval_required_actions",
            "risk_findings",
            "evidence_confidence"
        ]
    );
    assert_eq!(v["top_risks"].as_array().unwrap().len(), 5);
    let risk: Vec<&String> = v["top_risks"][0].as_object().unwrap().keys().collect();
    assert_eq!(risk, ["severity", "risk_classification", "decision", "agent_id", "repository"]);
}

const PAYLOADS: &[&str] = &[
    "=HYPERLINK(\"http://x.test\",\"y\")",
    "+1",
    "-1+2",
    "@SUM(A1)",
    "\tlead",
    "\rcr",
    // full-width forms and leading whitespace
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
    "  =1+1",
    "\u{3000}=1+1",
];

/// Whether a cell would start a formula in a spreadsheet.
fn formula_like(cell: &str) -> bool {
    let first = cell.trim_start_matches(|c: char| c.is_whitespace() && !matches!(c, '\t' | '\r' | '\n')).chars().next();
    cell.starts_with(['\t', '\r', '\n']) || matches!(first, Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠'))
}

#[test]
fn formula_payloads_are_neutralised_in_every_csv() {
    let mut v = small();
    for (i, p) in PAYLOADS.iter().enumerate() {
        let d = &mut v["decisions"][i];
        d["agent_id"] = serde_json::json!(format!("{p}agent{i}"));
        d["repository"] = serde_json::json!(format!("{p}repo{i}"));
        d["rule_id"] = serde_json::json!(format!("{p}rule{i}"));
        d["reason"] = serde_json::json!(format!("{p}reason{i}"));
        // make each one a finding so it reaches the findings tables
        d["decision"] = serde_json::json!("block");
        d["target"] = serde_json::json!("plain target");
    }
    let snapshot = common::load_text(&v.to_string(), &LoadOptions::default());
    let artifacts = common::render_all(&snapshot);
    let mut seen = 0;
    for a in artifacts.iter().filter(|a| a.name.ends_with(".csv")) {
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(a.bytes.as_slice());
        for rec in r.records() {
            for cell in rec.unwrap().iter() {
                if cell.starts_with('\'') {
                    seen += 1;
                }
                let numeric = cell.parse::<f64>().is_ok();
                assert!(!formula_like(cell) || numeric, "{}: formula cell {cell:?}", a.name);
            }
        }
    }
    assert!(seen >= PAYLOADS.len(), "payloads reached the CSVs neutralised ({seen})");
    let register = artifacts.iter().find(|a| a.name == "agent-risk-register.csv").unwrap();
    assert!(register.text().unwrap().contains("\"'=HYPERLINK(\"\"http://x.test\"\",\"\"y\"\")agent0\""));
}

#[test]
fn markdown_and_html_in_data_cannot_break_tables() {
    let mut v = small();
    for i in 0..6 {
        v["decisions"][i]["reason"] = serde_json::json!(
            "a | b <script>alert(1)</script> [x](y) *z*\nnext \"><img src=x onerror=alert(1)> ) Tj \u{7}"
        );
        v["decisions"][i]["decision"] = serde_json::json!("block");
        v["decisions"][i]["severity"] = serde_json::json!("critical");
    }
    let snapshot = common::load_text(&v.to_string(), &LoadOptions::default());
    let artifacts = common::render_all(&snapshot);
    for a in artifacts.iter().filter(|a| a.name.ends_with(".html")) {
        let text = a.text().unwrap();
        assert!(!text.contains("<script") && !text.contains("<img"), "{}", a.name);
        assert!(!text.contains('\u{7}'), "{}: control character passed through", a.name);
    }
    let brief = artifacts.iter().find(|a| a.name == "executive-risk-brief.html").unwrap();
    assert!(brief.text().unwrap().contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"), "escaped, still readable");
    for a in artifacts.iter().filter(|a| a.name.ends_with(".md")) {
        let text = a.text().unwrap();
        assert!(!text.contains("<script>"), "{}", a.name);
        // every table row has as many unescaped pipes as its header
        let mut width = None;
        for line in text.lines() {
            if !line.starts_with('|') {
                width = None;
                continue;
            }
            let pipes = line.replace("\\|", "").matches('|').count();
            match width {
                None => width = Some(pipes),
                Some(w) => assert_eq!(w, pipes, "{}: {line}", a.name),
            }
        }
    }
}

/// Where each free-text field lives and a fake secret to seed into it.
fn seeded_cases() -> Vec<(&'static str, String)> {
    // Built at test time from parts; none of these is a real credential.
    let secrets = [
        format!("{}@{}.test", "someone", "corp"),
        "203.0.113.77".to_string(),
        format!("AKIA{}", "ABCDEFGHIJKLMNOP"),
        format!("eyJ{}.eyJ{}.{}", "hbGciOiJIUzI1NiJ9", "zdWIiOiJ4In0xyzabc", "c2lnbmF0dXJlLXZhbHVl"),
        format!("ghp_{}", "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"),
        "https://files.test/o?X-Amz-Signature=deadbeef".to_string(),
        format!("pass{}=hunter2", "word"),
        "2001:db8::1".to_string(),
    ];
    let fields = [
        "/tenant/ref",
        "/tenant/display_name",
        "/sessions/0/session_id",
        "/sessions/0/agent_id",
        "/sessions/0/repository",
        "/sessions/0/policy_pack",
        "/sessions/0/evidence_refs/0",
        "/decisions/4/decision_id",
        "/decisions/4/session_id",
        "/decisions/4/agent_id",
        "/decisions/4/repository",
        "/decisions/4/action_type",
        "/decisions/4/target",
        "/decisions/4/policy_pack",
        "/decisions/4/rule_id",
        "/decisions/4/reason",
        "/decisions/4/evidence_refs/0",
        "/decisions/4/tool",
        "/decisions/4/approval_route",
        "/exceptions/0/exception_ref",
        "/exceptions/0/scope/agent_id",
        "/exceptions/0/scope/rule_id",
        "/exceptions/0/scope/repository",
        "/exceptions/0/approver_role",
        "/exceptions/0/justification_ref",
        "/incidents/0/incident_ref",
        "/incidents/0/title",
        "/incidents/0/owner_role",
        "/incidents/0/decision_ids/0",
        "/incidents/0/exception_refs/0",
        "/policy_baselines/0/agent_id",
        "/policy_baselines/0/policy_pack",
    ];
    fields.iter().enumerate().map(|(i, f)| (*f, secrets[i % secrets.len()].clone())).collect()
}

fn seed(v: &mut serde_json::Value, pointer: &str, secret: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let target = v.pointer_mut(parent).unwrap_or_else(|| panic!("{parent}"));
    match target {
        serde_json::Value::Array(items) => {
            items.clear();
            items.push(serde_json::json!(secret));
        }
        serde_json::Value::Object(map) => {
            map.insert(last.to_string(), serde_json::json!(secret));
        }
        other => panic!("{pointer}: {other}"),
    }
}

fn json_path(pointer: &str) -> String {
    let mut out = String::from("$");
    for part in pointer.trim_start_matches('/').split('/') {
        if part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            out.push('.');
            out.push_str(part);
        }
    }
    out
}

#[test]
fn seeded_secrets_in_every_free_text_field_fail_closed_or_are_redacted() {
    let base = small();
    assert!(parse_raw(&base.to_string()).is_ok());
    for (pointer, secret) in seeded_cases() {
        let mut v = base.clone();
        seed(&mut v, pointer, &secret);
        let text = v.to_string();
        let e = Snapshot::from_json_str(&text, &LoadOptions::default()).expect_err(pointer);
        assert_eq!(e.kind, SnapshotErrorKind::Unsafe, "{pointer}: {e}");
        let paths: Vec<&str> = e.problems.iter().map(|p| p.json_path.as_str()).collect();
        assert!(paths.contains(&json_path(pointer).as_str()), "{pointer}: {paths:?}");
        assert!(!e.to_string().contains(&secret), "{pointer}: the error echoes the secret");

        let snapshot = Snapshot::from_json_str(&text, &LoadOptions { gate: GateMode::Redact }).expect(pointer);
        assert!(snapshot.redaction.total >= 1, "{pointer}");
        // Every field through the text forms; the container forms (which the
        // model gate protects the same way) for a few fields, to keep the suite fast.
        let all = ["/decisions/4/reason", "/tenant/display_name", "/incidents/0/title"].contains(&pointer);
        for a in common::render_all_in(&snapshot, all) {
            let body = String::from_utf8_lossy(&a.bytes);
            assert!(!body.contains(&secret), "{pointer}: {} still holds the secret", a.name);
        }
    }
}

#[test]
fn redaction_is_counted_in_report_metadata() {
    let mut v = small();
    v["decisions"][3]["reason"] = serde_json::json!(format!("mail {}@{}.test", "ops", "corp"));
    let snapshot = Snapshot::from_json_str(&v.to_string(), &LoadOptions { gate: GateMode::Redact }).unwrap();
    let artifacts = common::render_all(&snapshot);
    let brief = artifacts.iter().find(|a| a.name == "executive-risk-brief.json").unwrap();
    let j: serde_json::Value = serde_json::from_slice(&brief.bytes).unwrap();
    assert_eq!(j["report"]["redaction"]["mode"], "redact");
    assert_eq!(j["report"]["redaction"]["total"], 1);
    assert_eq!(j["report"]["redaction"]["by_kind"]["email"], 1);
    let md = artifacts.iter().find(|a| a.name == "executive-risk-brief.md").unwrap();
    assert!(md.text().unwrap().contains("redacted 1 value"));
}

#[test]
fn data_quality_warnings_reach_every_report() {
    let mut v = small();
    v["decisions"][2]["session_id"] = serde_json::json!("sess-that-is-gone");
    v["incidents"][0]["decision_ids"] = serde_json::json!(["dec-none"]);
    let snapshot = common::load_text(&v.to_string(), &LoadOptions::default());
    assert_eq!(snapshot.warnings.len(), 2, "{:?}", snapshot.warnings);
    // CSV holds only the primary dataset; PDF text is glyph-encoded (its text is checked with pdftotext in tests/oracles.rs).
    for a in common::render_all(&snapshot).iter().filter(|a| !a.name.ends_with(".csv") && !a.name.ends_with(".pdf")) {
        let text = match a.text() {
            Some(t) => t.to_string(),
            None => {
                common::zip_parts(&a.bytes).into_iter().map(|(_, c)| String::from_utf8_lossy(&c).into_owned()).collect()
            }
        };
        assert!(text.contains("sess-that-is-gone") || text.contains("sess\\-that\\-is\\-gone"), "{}", a.name);
        assert!(text.contains("dec-none") || text.contains("dec\\-none"), "{}", a.name);
    }
}

#[test]
fn streaming_writer_gives_the_same_bytes_as_in_memory_rendering() {
    use cavra_reports::model::{build_report, Posture, ReportKind, ReportOptions};
    use cavra_reports::render::{render, render_to_writer, Format};
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let posture = Posture::compute(&snapshot);
    for kind in ReportKind::ALL {
        let report = build_report(*kind, &snapshot, &posture, &ReportOptions::default());
        for format in Format::ALL {
            let a = render(&report, *format).unwrap();
            let mut out = Vec::new();
            let w = render_to_writer(&report, *format, &mut out).unwrap();
            assert_eq!(out, a.bytes, "{}", a.name);
            assert_eq!(
                (w.name.as_str(), w.sha256.as_str(), w.bytes),
                (a.name.as_str(), a.sha256.as_str(), a.bytes.len() as u64)
            );
        }
    }
}

#[test]
fn streaming_writer_gates_each_line() {
    use cavra_reports::model::{build_report, Posture, ReportKind, ReportOptions};
    use cavra_reports::render::{render_to_writer, Format, RenderError};
    let snapshot = common::load_text(&small().to_string(), &LoadOptions::default());
    let posture = Posture::compute(&snapshot);
    let mut report = build_report(ReportKind::ControlCoverage, &snapshot, &posture, &ReportOptions::default());
    // a legal footer smuggling an address past the builders is caught by the model gate
    report.meta.legal_footer = format!("contact {}@{}.test", "legal", "corp");
    let e = render_to_writer(&report, Format::Markdown, &mut Vec::new()).unwrap_err();
    assert!(matches!(e, RenderError::UnsafeModel { .. }), "{e}");
}

#[test]
fn jsonl_has_a_header_then_one_line_per_row() {
    let artifacts = common::render_all(&common::load_text(&common::sample_text(), &LoadOptions::default()));
    for a in artifacts.iter().filter(|a| a.name.ends_with(".jsonl")) {
        let json = artifacts.iter().find(|j| j.name == a.name.replace(".jsonl", ".json")).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&json.bytes).unwrap();
        let lines: Vec<serde_json::Value> =
            a.text().unwrap().lines().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
        assert_eq!(lines[0]["_record"], "header");
        assert_eq!(lines[0]["schema_version"], "cavra.report_jsonl.v1");
        assert_eq!(lines[0]["report"], doc["report"], "{}", a.name);
        let total: usize =
            doc["datasets"].as_object().unwrap().values().map(|d| d["row_count"].as_u64().unwrap() as usize).sum();
        assert_eq!(lines.len(), 1 + total, "{}", a.name);
        // rows are the JSON form's rows, flattened, in dataset order
        let mut i = 1;
        for (name, d) in doc["datasets"].as_object().unwrap() {
            for row in &common::dataset_rows(&doc, d) {
                let line = lines[i].as_object().unwrap();
                assert_eq!(line["_dataset"], name.as_str());
                for (k, v) in row.as_object().unwrap() {
                    assert_eq!(&line[k], v, "{} {name} {k}", a.name);
                }
                i += 1;
            }
        }
    }
}

#[test]
fn xlsx_never_holds_formulas_and_quote_prefixes_formula_text() {
    let mut v = small();
    // the Summary sheet carries the tenant name
    v["tenant"]["display_name"] = serde_json::json!("＝cmd|' /C calc'!A0");
    for (i, p) in PAYLOADS.iter().enumerate() {
        v["decisions"][i]["agent_id"] = serde_json::json!(format!("{p}agent{i}"));
        v["decisions"][i]["decision"] = serde_json::json!("block");
    }
    let snapshot = common::load_text(&v.to_string(), &LoadOptions::default());
    for a in common::render_all(&snapshot).iter().filter(|a| a.name.ends_with(".xlsx")) {
        let parts = common::zip_parts(&a.bytes);
        for (name, content) in &parts {
            let text = String::from_utf8_lossy(content);
            assert!(!text.contains("<f>") && !text.contains("<f "), "{}: {name} holds a formula", a.name);
        }
        let styles = parts
            .iter()
            .find(|(n, _)| n == "xl/styles.xml")
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
            .unwrap();
        let strings = parts
            .iter()
            .find(|(n, _)| n == "xl/sharedStrings.xml")
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
            .unwrap_or_default();
        let summary = parts
            .iter()
            .find(|(n, _)| n == "xl/worksheets/sheet1.xml")
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
            .unwrap();
        let cells = format!("{strings}{summary}");
        assert!(cells.contains("'＝cmd"), "{}: the Summary sheet's tenant name is neutralised", a.name);
        if strings.contains("HYPERLINK") {
            let literal = strings.replace("&quot;", "\"");
            assert!(literal.contains("=HYPERLINK(\"http://x.test\",\"y\")agent0"), "{}", a.name);
            assert!(styles.contains("quotePrefix=\"1\""), "{}: no quote-prefix style", a.name);
        }
    }
}

#[test]
fn large_datasets_use_constant_memory_and_keep_every_row() {
    use cavra_reports::model::{build_report, Posture, ReportKind, ReportOptions};
    use cavra_reports::render::{render, Format};
    let raw = generate(&SynthConfig { agents: 20, decisions: 12_000, seed: 5, ..SynthConfig::default() });
    let snapshot = Snapshot::from_raw(raw, None, &LoadOptions::default()).unwrap();
    let posture = Posture::compute(&snapshot);
    let report = build_report(ReportKind::AgentActivityDigest, &snapshot, &posture, &ReportOptions::default());
    assert!(report.datasets[0].rows.len() > cavra_reports::render::XLSX_CONSTANT_MEMORY_ROWS);
    let a = render(&report, Format::Xlsx).unwrap();
    let parts = common::zip_parts(&a.bytes);
    let workbook = parts
        .iter()
        .find(|(n, _)| n == "xl/workbook.xml")
        .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
        .unwrap();
    // sheets: Summary, Charts, Decisions, …
    assert!(workbook.contains("name=\"Summary\"") && workbook.contains("name=\"Decisions\""));
    let sheet = parts
        .iter()
        .find(|(n, _)| n == "xl/worksheets/sheet3.xml")
        .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
        .unwrap();
    assert_eq!(sheet.matches("<row ").count(), 12_001, "header plus one row per decision");
    // constant-memory sheets store strings inline rather than in the shared table
    assert!(sheet.contains("t=\"inlineStr\""));
}

/// Deflated PDF streams are random-looking bytes; the final-bytes gate
/// reads the PDF as a reader does (strings, names, decoded page content),
/// so chance shapes in compressed data never fail a clean report. These
/// seeds produced such shapes in their compressed streams.
#[test]
fn compressed_pdf_streams_never_trip_the_gate() {
    for seed in [13, 17, 26, 90] {
        let raw = generate(&SynthConfig { agents: 12, decisions: 400, seed, ..SynthConfig::default() });
        let snapshot = Snapshot::from_raw(raw, None, &LoadOptions::default()).expect("valid");
        let posture = cavra_reports::model::Posture::compute(&snapshot);
        for kind in cavra_reports::model::ReportKind::ALL {
            let report = cavra_reports::model::build_report(*kind, &snapshot, &posture, &Default::default());
            cavra_reports::render::render(&report, cavra_reports::render::Format::Pdf)
                .unwrap_or_else(|e| panic!("seed {seed}, {kind}: {e}"));
        }
    }
}

/// Every picture in a DOCX and every chart in an XLSX carries a text
/// alternative that names its data, and DOCX pictures have distinct ids.
#[test]
fn pictures_and_charts_have_text_alternatives() {
    use std::io::Read;
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let part = |bytes: &[u8], name: &str| -> Option<String> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut f = zip.by_name(name).ok()?;
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        Some(s)
    };
    let (mut pictures, mut charts) = (0, 0);
    for a in common::render_all(&snapshot) {
        if a.name.ends_with(".docx") {
            let doc = part(&a.bytes, "word/document.xml").unwrap();
            let tags: Vec<&str> = doc.split("<wp:docPr ").skip(1).map(|t| &t[..t.find("/>").unwrap()]).collect();
            let mut ids = std::collections::BTreeSet::new();
            for t in &tags {
                let descr = t.split("descr=\"").nth(1).map(|d| &d[..d.find('"').unwrap()]).unwrap_or("");
                assert!(descr.contains(": "), "{}: picture without a data description: {t}", a.name);
                let id = t.split(" id=\"").nth(1).map(|d| &d[..d.find('"').unwrap()]).unwrap();
                assert!(ids.insert(id.to_string()), "{}: picture id {id} twice", a.name);
            }
            pictures += tags.len();
        } else if a.name.ends_with(".xlsx") {
            for i in 1.. {
                let Some(drawing) = part(&a.bytes, &format!("xl/drawings/drawing{i}.xml")) else { break };
                for t in drawing.split("<xdr:graphicFrame").skip(1) {
                    assert!(t.contains(" descr=\"") && t.contains(": "), "{}: chart without alternative text", a.name);
                    charts += 1;
                }
            }
        }
    }
    // One Word drawing per chart block but heat maps (which Word shows as
    // a tinted table) and one sheet chart per chart block (the sample sets
    // no logo).
    use cavra_reports::model::report::{Block, ChartKind};
    let posture = cavra_reports::model::Posture::compute(&snapshot);
    let (mut blocks, mut drawn) = (0, 0);
    for k in cavra_reports::model::ReportKind::ALL {
        let r = cavra_reports::model::build_report(*k, &snapshot, &posture, &Default::default());
        for b in &r.blocks {
            let Block::Chart(c) = b else { continue };
            blocks += 1;
            drawn += usize::from(c.kind != ChartKind::HeatMap);
        }
    }
    assert!(drawn > 0 && drawn < blocks, "{drawn} of {blocks}");
    assert_eq!((pictures, charts), (drawn, blocks));
}

/// Every PDF names its language and asks viewers to show its title.
#[test]
fn pdfs_name_their_language_and_show_their_title() {
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let mut checked = 0;
    for a in common::render_all(&snapshot).iter().filter(|a| a.name.ends_with(".pdf")) {
        let doc = lopdf::Document::load_mem(&a.bytes).unwrap();
        let catalog = doc.catalog().unwrap();
        assert_eq!(catalog.get(b"Lang").and_then(lopdf::Object::as_str).unwrap(), b"en", "{}", a.name);
        let prefs = catalog.get(b"ViewerPreferences").and_then(lopdf::Object::as_dict).unwrap();
        assert!(prefs.get(b"DisplayDocTitle").and_then(lopdf::Object::as_bool).unwrap(), "{}", a.name);
        checked += 1;
    }
    assert_eq!(checked, cavra_reports::model::ReportKind::ALL.len());
}
