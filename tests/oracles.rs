//! Independent oracles: the reference `minisign` tool verifies our
//! signatures. CI installs it (`.ci/run`); where it is missing these tests
//! fail when `CI` is set and are skipped, loudly, elsewhere.

mod common;

use std::process::Command;

use cavra_reports::model::LoadOptions;
use cavra_reports::render::signed::{trusted_comment, SigningKey};
use cavra_reports::render::Format;

/// Whether an external tool is available; panics in CI when it is not.
fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("-v").output().is_ok();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "`{name}` is required in CI; .ci/run installs it");
        eprintln!("SKIPPED: `{name}` is not installed; install it to run this oracle test");
    }
    found
}

#[test]
fn minisign_verifies_every_signed_json() {
    if !tool("minisign") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let public = dir.path().join("key.pub");
    std::fs::write(&public, key.public_key_file()).unwrap();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let mut checked = 0;
    for a in common::render_every_kind(&snapshot).iter().filter(|a| a.name.ends_with(".signed.json")) {
        let kind = a.name.trim_end_matches(".signed.json");
        let doc: serde_json::Value = serde_json::from_slice(&a.bytes).unwrap();
        let report_id = doc["report"]["report_id"].as_str().unwrap();
        let comment = trusted_comment(report_id, kind, &a.sha256);
        let path = dir.path().join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        let sig = key.sign(a.bytes.as_slice(), &comment).unwrap();
        std::fs::write(dir.path().join(format!("{}.minisig", a.name)), &sig).unwrap();

        let out = Command::new("minisign").arg("-V").arg("-p").arg(&public).arg("-m").arg(&path).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {stdout} {}", a.name, String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("Trusted comment: {comment}")), "{stdout}");

        // one flipped byte and the reference tool refuses it
        let mut tampered = a.bytes.clone();
        tampered[10] ^= 1;
        std::fs::write(&path, &tampered).unwrap();
        let out = Command::new("minisign").arg("-V").arg("-p").arg(&public).arg("-m").arg(&path).output().unwrap();
        assert!(!out.status.success(), "{} verified after tampering", a.name);
        checked += 1;
    }
    assert_eq!(checked, common::kind_count());
}

#[test]
fn keys_made_by_the_reference_tool_sign_what_it_verifies() {
    if !tool("minisign") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (public, secret) = (dir.path().join("ref.pub"), dir.path().join("ref.key"));
    // A password-less key pair from `minisign -G -W` (its checksum is left zero).
    let out = Command::new("minisign")
        .args(["-G", "-W", "-p", public.to_str().unwrap(), "-s", secret.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = SigningKey::from_file(&secret, None).expect("a reference password-less key loads");
    let data = dir.path().join("data.json");
    std::fs::write(&data, b"{\"a\":1}").unwrap();
    std::fs::write(dir.path().join("data.json.minisig"), key.sign(&b"{\"a\":1}"[..], "report_id:r kind:k").unwrap())
        .unwrap();
    let out = Command::new("minisign").arg("-V").arg("-p").arg(&public).arg("-m").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(key.public_key_file().lines().nth(1), std::fs::read_to_string(&public).unwrap().lines().nth(1));

    // A damaged key is still refused: one flipped bit in the secret half.
    let text = std::fs::read_to_string(&secret).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(&lines[1]).unwrap();
    bytes[70] ^= 1;
    lines[1] = engine.encode(&bytes);
    assert!(SigningKey::from_secret_key_text(&(lines.join("\n") + "\n"), None).is_err());
}

#[test]
fn signed_json_is_the_canonical_form_of_the_json_artifact() {
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let artifacts = common::render_all(&snapshot);
    for a in artifacts.iter().filter(|a| a.name.ends_with(".signed.json")) {
        let plain = artifacts.iter().find(|p| p.name == a.name.replace(".signed.json", ".json")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&plain.bytes).unwrap();
        let canonical = cavra_reports::model::canonical::to_canonical_string(&v);
        assert_eq!(canonical.as_bytes(), a.bytes.as_slice(), "{}", a.name);
        assert!(!a.bytes.contains(&b'\n'));
    }
}

#[test]
fn our_verifier_rejects_tampering_and_foreign_keys() {
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let data = br#"{"a":1}"#;
    let sig = key.sign(&data[..], "report_id:x kind:y sha256:z").unwrap();
    let verify = cavra_reports::render::signed::verify;
    assert_eq!(verify(&key.public_key_file(), data, &sig).unwrap(), "report_id:x kind:y sha256:z");
    assert!(verify(&key.public_key_file(), br#"{"a":2}"#, &sig).is_err());
    assert!(verify(&other.public_key_file(), data, &sig).is_err());
    let edited = sig.replace("kind:y", "kind:w");
    assert!(verify(&key.public_key_file(), data, &edited).is_err(), "an edited trusted comment must not verify");
    assert!(key.sign(&data[..], "two\nlines").is_err());
    let debug = format!("{key:?}");
    assert!(
        debug.starts_with("SigningKey { public_key: ") && debug.ends_with(", .. }"),
        "Debug shows only the public key: {debug}"
    );
}

use common::python_module;

#[test]
fn html5lib_parses_every_html_artifact_strictly() {
    if !python_module("html5lib") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let mut paths = Vec::new();
    for a in common::render_every_kind(&snapshot).iter().filter(|a| a.name.ends_with(".html")) {
        let text = a.text().unwrap();
        assert!(!text.to_ascii_lowercase().contains("<script"), "{}", a.name);
        assert!(!text.contains("http://") || !text.contains("src=\"http"), "{}: remote resource", a.name);
        let path = dir.path().join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        paths.push(path);
    }
    assert_eq!(paths.len(), common::kind_count());
    let script = "import sys, html5lib\nfor p in sys.argv[1:]:\n    html5lib.HTMLParser(strict=True).parse(open(p, 'rb').read())\n    print('ok', p)\n";
    let out = Command::new("python3").arg("-c").arg(script).args(&paths).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), paths.len());
}

#[test]
fn openpyxl_reads_every_workbook_with_typed_cells() {
    if !python_module("openpyxl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let artifacts = common::render_every_kind(&snapshot);
    let mut expected = serde_json::Map::new();
    for a in artifacts.iter().filter(|a| a.name.ends_with(".xlsx")) {
        let json = artifacts.iter().find(|j| j.name == a.name.replace(".xlsx", ".json")).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&json.bytes).unwrap();
        let sheets: Vec<serde_json::Value> = doc["datasets"]
            .as_object()
            .unwrap()
            .values()
            .map(|d| {
                let rows = common::dataset_rows(&doc, d);
                serde_json::json!({"title": d["title"], "rows": d["row_count"], "first": rows.first(), "columns": d["columns"]})
            })
            .collect();
        let path = dir.path().join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        expected.insert(path.display().to_string(), serde_json::Value::Array(sheets));
    }
    let spec = dir.path().join("expected.json");
    std::fs::write(&spec, serde_json::Value::Object(expected).to_string()).unwrap();
    let script = r#"
import json, sys, datetime, openpyxl
spec = json.load(open(sys.argv[1]))
for path, sheets in spec.items():
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Summary", wb.sheetnames
    for s in sheets:
        ws = wb[s["title"][:31]]
        assert ws.max_row == s["rows"] + 1 or (s["rows"] == 0 and ws.max_row == 1), (path, s["title"], ws.max_row, s["rows"])
        assert [c.value for c in ws[1]] == [c["label"] for c in s["columns"]], (path, s["title"])
        if s["first"] is None:
            continue
        for i, col in enumerate(s["columns"]):
            want, got = s["first"][col["key"]], ws.cell(row=2, column=i + 1).value
            if want is None or want == "":
                assert got in (None, ""), (path, col["key"], got)
            elif col["type"] in ("integer", "decimal"):
                assert isinstance(got, (int, float)) and got == want, (path, col["key"], got, want)
            elif col["type"] == "percent":
                assert isinstance(got, (int, float)) and abs(got * 100 - want) < 1e-9, (path, col["key"], got, want)
            elif col["type"] == "date_time":
                assert isinstance(got, datetime.datetime) and got.isoformat() + "Z" == want, (path, col["key"], got, want)
            else:
                assert got == want, (path, col["key"], got, want)
    print("ok", path)
"#;
    let out = Command::new("python3").arg("-c").arg(script).arg(&spec).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), common::kind_count());
}

#[test]
fn python_docx_reads_headings_tables_and_pictures() {
    if !python_module("docx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let artifacts = common::render_every_kind(&snapshot);
    let mut paths = Vec::new();
    for a in artifacts.iter().filter(|a| a.name.ends_with(".docx")) {
        let path = dir.path().join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        paths.push(path);
    }
    let script = r#"
import sys, docx
for p in sys.argv[1:]:
    d = docx.Document(p)
    heads = [x.text for x in d.paragraphs if x.style is not None and x.style.name == "Heading 1"]
    assert "Data quality" in heads and "About this report" in heads, (p, heads)
    assert d.core_properties.created.isoformat().startswith(("2026-11-01T12:00:00", "2026-11-01T00:00:00")), d.core_properties.created
    assert len(d.tables) >= 1, p
    for t in d.tables:
        assert len(t.columns) >= 1 and len(t.rows) >= 1, p
        assert t.rows[0]._tr.trPr is not None and t.rows[0]._tr.trPr.xpath("./w:tblHeader"), (p, "header row does not repeat")
    print("ok", p, len(heads), len(d.tables), len(d.inline_shapes))
"#;
    let out = Command::new("python3").arg("-c").arg(script).args(&paths).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), common::kind_count());
}

#[test]
fn libreoffice_opens_every_workbook_and_document() {
    if !tool_runs("soffice", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let mut inputs = Vec::new();
    for a in
        common::render_every_kind(&snapshot).iter().filter(|a| a.name.ends_with(".xlsx") || a.name.ends_with(".docx"))
    {
        let path = dir.path().join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        inputs.push(path);
    }
    let out_dir = dir.path().join("pdf");
    let profile = format!("-env:UserInstallation=file://{}", dir.path().join("lo-profile").display());
    let out = Command::new("soffice")
        .arg(&profile)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&out_dir)
        .args(&inputs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for input in &inputs {
        let pdf = out_dir.join(input.file_name().unwrap()).with_extension("pdf");
        let size = std::fs::metadata(&pdf).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{} did not convert ({size} bytes)", input.display());
    }
}

use common::tool_runs;

#[test]
fn pdfs_pass_qpdf_and_their_text_extracts() {
    if !tool_runs("qpdf", &["--version"]) || !tool_runs("pdftotext", &["-v"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let artifacts = common::render_every_kind(&snapshot);
    let mut checked = 0;
    for a in artifacts.iter().filter(|a| a.name.ends_with(".pdf")) {
        let path = dir.path().join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        let check = Command::new("qpdf").arg("--check").arg(&path).output().unwrap();
        assert!(check.status.success(), "{}: {}", a.name, String::from_utf8_lossy(&check.stdout));
        let text = Command::new("pdftotext").args(["-layout"]).arg(&path).arg("-").output().unwrap();
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        let json = artifacts.iter().find(|j| j.name == a.name.replace(".pdf", ".json")).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&json.bytes).unwrap();
        assert!(text.contains(doc["report"]["title"].as_str().unwrap()), "{}: title", a.name);
        assert!(text.contains(doc["report"]["tenant_display_name"].as_str().unwrap()), "{}: tenant", a.name);
        assert!(text.contains("page 1 of "), "{}: page numbers", a.name);
        // a value from each table the document shows: the first row's first cell
        let report = common::report_of(doc["report"]["kind"].as_str().unwrap(), &snapshot);
        for b in &report.blocks {
            if let cavra_reports::model::report::Block::Table(t) = b {
                let v = report.table_view(t).unwrap();
                if let Some(first) = v.rows.first().and_then(|r| r.first()) {
                    let want = first.to_text();
                    // a cell may wrap inside its column: probe the start of its first word
                    let probe: String = want.split_whitespace().next().unwrap_or_default().chars().take(8).collect();
                    assert!(text.contains(&probe), "{}: table {} value {probe:?} not found", a.name, t.dataset);
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, common::kind_count());
}

#[test]
fn hostile_text_stays_literal_in_pdf_docx_and_xlsx() {
    if !tool_runs("pdftotext", &["-v"]) {
        return;
    }
    let mut v: serde_json::Value = serde_json::from_str(&common::sample_text()).unwrap();
    let hostile = "x) Tj ET BT (y <script>alert(1)</script> \"><img onerror=1> =SUM(A1) | [l](j)";
    for i in 0..12 {
        v["decisions"][i]["reason"] = serde_json::json!(hostile);
        v["decisions"][i]["decision"] = serde_json::json!("block");
        v["decisions"][i]["severity"] = serde_json::json!("critical");
    }
    let snapshot = common::load_text(&v.to_string(), &LoadOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let artifacts = common::render_all(&snapshot);
    let brief = artifacts.iter().find(|a| a.name == "executive-risk-brief.pdf").unwrap();
    let path = dir.path().join(&brief.name);
    std::fs::write(&path, &brief.bytes).unwrap();
    let text = Command::new("pdftotext").arg("-raw").arg(&path).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).replace('\n', " ");
    assert!(text.contains("x) Tj ET BT (y"), "PDF operators in data print as text: {text}");
    for a in artifacts.iter().filter(|a| {
        a.name.starts_with("executive-risk-brief.") && (a.name.ends_with(".docx") || a.name.ends_with(".xlsx"))
    }) {
        let xml: String =
            common::zip_parts(&a.bytes).into_iter().map(|(_, c)| String::from_utf8_lossy(&c).into_owned()).collect();
        assert!(xml.contains("&lt;script&gt;") && !xml.contains("<script"), "{}: markup must be escaped", a.name);
    }
}

#[test]
fn themed_documents_pass_the_reference_tools() {
    if !tool_runs("qpdf", &["--version"]) || !tool_runs("pdftotext", &["-v"]) || !tool_runs("soffice", &["--version"]) {
        return;
    }
    let options = cavra_reports::render::setup::load(&common::root().join("examples/theme/theme.toml")).unwrap();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let posture = cavra_reports::model::Posture::compute(&snapshot);
    let report = cavra_reports::model::build_report(
        cavra_reports::model::ReportKind::ExecutiveRiskBrief,
        &snapshot,
        &posture,
        &options,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for format in [Format::Pdf, Format::Docx, Format::Xlsx] {
        let a = cavra_reports::render::render(&report, format).unwrap();
        let path = dir.path().join(&a.name);
        std::fs::write(&path, &a.bytes).unwrap();
        inputs.push(path);
    }
    let pdf = &inputs[0];
    let check = Command::new("qpdf").arg("--check").arg(pdf).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let text = Command::new("pdftotext").arg(pdf).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for want in ["Northwind Security Office", "Confidential: prepared for Northwind", "EST", "page 1 of"] {
        assert!(text.contains(want), "{want:?} not in the themed PDF");
    }
    let info = Command::new("pdfinfo").arg(pdf).output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("(letter)"), "Letter paper");
    let out_dir = dir.path().join("converted");
    let profile = format!("-env:UserInstallation=file://{}", dir.path().join("lo-profile").display());
    let out = Command::new("soffice")
        .arg(&profile)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&out_dir)
        .args(&inputs[1..])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for input in &inputs[1..] {
        let converted = out_dir.join(input.file_name().unwrap()).with_extension("pdf");
        let text = Command::new("pdftotext").arg(&converted).arg("-").output().unwrap();
        assert!(
            String::from_utf8_lossy(&text.stdout).contains("Northwind Security Office"),
            "{}: branding lost in conversion",
            input.display()
        );
    }
}

/// The sample packaged as `ptype`, with its key.
fn sample_package(ptype: cavra_reports::package::PackageType) -> (cavra_reports::package::Package, SigningKey) {
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let posture = cavra_reports::model::Posture::compute(&snapshot);
    let key = SigningKey::generate().unwrap();
    let options = cavra_reports::package::PackageOptions::default();
    (cavra_reports::package::build_package(ptype, &snapshot, &posture, &options, &key).unwrap(), key)
}

/// Unzips a package into `dir` (for the reference tools only; our verifier never extracts).
fn unzip(bytes: &[u8], dir: &std::path::Path) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let path = dir.join(f.enclosed_name().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut out = std::fs::File::create(&path).unwrap();
        std::io::copy(&mut f, &mut out).unwrap();
    }
}

#[test]
fn minisign_verifies_every_package_manifest() {
    if !tool("minisign") {
        return;
    }
    for ptype in cavra_reports::package::PackageType::ALL {
        let (pkg, key) = sample_package(*ptype);
        let dir = tempfile::tempdir().unwrap();
        unzip(&pkg.bytes, dir.path());
        let pubkey = dir.path().join("key.pub");
        std::fs::write(&pubkey, key.public_key_file()).unwrap();
        let out = Command::new("minisign")
            .arg("-V")
            .arg("-p")
            .arg(&pubkey)
            .arg("-m")
            .arg(dir.path().join("manifest.json"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{ptype}: {text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(&format!("package_id:{}", pkg.manifest.package_id)), "{text}");
        assert!(text.contains(&pkg.manifest.integrity.manifest_digest), "{text}");
    }
}

#[test]
fn bagit_python_validates_the_evidence_room() {
    if !python_module("bagit") {
        return;
    }
    let (pkg, _) = sample_package(cavra_reports::package::PackageType::EvidenceRoomBundle);
    let dir = tempfile::tempdir().unwrap();
    unzip(&pkg.bytes, dir.path());
    let out = Command::new("python3").args(["-m", "bagit", "--validate"]).arg(dir.path()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("is valid"), "{text}");
    // and it notices a changed payload file
    let target = dir.path().join("data/reports/control-coverage.csv");
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&target, bytes).unwrap();
    let out = Command::new("python3").args(["-m", "bagit", "--validate"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn trestle_loads_both_oscal_documents() {
    if !python_module("trestle") {
        return;
    }
    let (pkg, _) = sample_package(cavra_reports::package::PackageType::GrcUploadPackage);
    let dir = tempfile::tempdir().unwrap();
    unzip(&pkg.bytes, dir.path());
    let script = r#"
import pathlib, sys
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.poam import PlanOfActionAndMilestones
ar = AssessmentResults.oscal_read(pathlib.Path(sys.argv[1]))
poam = PlanOfActionAndMilestones.oscal_read(pathlib.Path(sys.argv[2]))
print(len(ar.results[0].observations or []), len(ar.results[0].findings or []), len(poam.poam_items), len(poam.risks or []))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.path().join("oscal/assessment-results.json"))
        .arg(dir.path().join("oscal/poam.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let counts: Vec<usize> = text.split_whitespace().map(|n| n.parse().unwrap()).collect();
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let findings = cavra_reports::model::Posture::compute(&snapshot).findings.len();
    assert_eq!(counts, vec![findings, findings, findings, findings]);
}
