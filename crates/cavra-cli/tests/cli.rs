//! The binary end to end: output, exit codes and all-or-nothing writes.

use std::path::Path;

const KINDS: usize = 10;
/// Kinds × formats in the catalog.
const CATALOG: usize = KINDS * 9;
/// A sample run's files: every artifact, a signature per signed JSON, and the throw-away public key.
const FILES: usize = CATALOG + KINDS + 1;

mod common;

use common::run;

fn sample() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample_snapshot.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The summary table's rows: `name bytes sha256`.
fn hashes(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() == 3 && cols[2].len() == 64 && cols[2].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .map(String::from)
        .collect()
}

/// Rows whose bytes are deterministic (signatures and the throw-away public key are fresh each run).
fn stable(rows: &[String]) -> Vec<String> {
    rows.iter().filter(|r| !r.contains(".minisig ") && !r.contains(".pub ")).cloned().collect()
}

#[test]
fn render_sample_writes_every_artifact_with_stable_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let first = run(&["render", "--sample", "--out", a.to_str().unwrap()]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = run(&["render", "--sample", "--out", b.to_str().unwrap()]);
    assert!(second.status.success());
    let h1 = hashes(&first.stdout);
    assert_eq!(h1.len(), FILES, "{h1:?}");
    // the Community kinds in Markdown, CSV and JSON are all there
    for kind in [
        "executive-risk-brief",
        "board-kpi-pack",
        "soc2-audit-summary",
        "control-coverage",
        "evidence-freshness",
        "agent-risk-register",
    ] {
        for ext in ["md", "csv", "json"] {
            assert!(h1.iter().any(|l| l.starts_with(&format!("{kind}.{ext} "))), "{kind}.{ext}");
        }
    }
    let h2 = hashes(&second.stdout);
    assert_eq!(stable(&h1), stable(&h2));
    assert_eq!(stable(&h1).len(), CATALOG);
    assert_eq!(std::fs::read_dir(&a).unwrap().count(), FILES);
    // every signature verifies with the public key written beside them
    let public = std::fs::read_to_string(a.join("sample-signing-key.pub")).unwrap();
    for sig in h1.iter().filter(|l| l.contains(".minisig ")) {
        let name = sig.split_whitespace().next().unwrap();
        let data = std::fs::read(a.join(name.trim_end_matches(".minisig"))).unwrap();
        let text = std::fs::read_to_string(a.join(name)).unwrap();
        let comment = cavra_render::signed::verify(&public, &data, &text).unwrap();
        assert!(comment.contains(&format!("sha256:{:x}", <sha2::Sha256 as sha2::Digest>::digest(&data))), "{comment}");
    }
    for line in &h1 {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let bytes = std::fs::read(a.join(cols[0])).unwrap();
        assert_eq!(bytes.len().to_string(), cols[1]);
        assert_eq!(cols[2].len(), 64);
    }
    // no staging folder is left behind
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".cavra-staging"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn email_in_reason_fails_closed_and_redact_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = sample();
    let address = format!("{}@{}.test", "alice.auditor", "northwind");
    v["decisions"][17]["reason"] = serde_json::json!(format!("escalate to {address}"));
    let input = dir.path().join("snap.json");
    std::fs::write(&input, v.to_string()).unwrap();
    let out = dir.path().join("out");

    let failed = run(&["render", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(4));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(err.contains("$.decisions[17].reason"), "{err}");
    assert!(err.contains("snap.json"), "{err}");
    assert!(!err.contains(&address), "the error must not echo the address");
    assert!(!out.exists(), "nothing is written on failure");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no staging folder left");

    let ok = run(&["render", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--redact"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let mut count = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&address));
        count += 1;
    }
    assert_eq!(count, CATALOG - KINDS, "no signed JSON without a key");
}

#[test]
fn bad_input_exits_3_with_path_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    type Mutation = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        ("schema", Box::new(|v| v["schema_version"] = serde_json::json!("v0")), "$.schema_version"),
        ("unknown", Box::new(|v| v["decisions"][2]["colour"] = serde_json::json!("red")), "$.decisions[2].colour"),
        (
            "forbidden",
            Box::new(|v| v["decisions"][2]["raw_prompt"] = serde_json::json!("x")),
            "$.decisions[2].raw_prompt",
        ),
        ("timestamp", Box::new(|v| v["as_of"] = serde_json::json!("yesterday")), "$.as_of"),
        ("enum", Box::new(|v| v["decisions"][0]["severity"] = serde_json::json!("urgent")), "$.decisions[0].severity"),
    ];
    for (name, mutate, path) in cases {
        let mut v = sample();
        mutate(&mut v);
        let input = dir.path().join(format!("{name}.json"));
        std::fs::write(&input, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        let out = dir.path().join(format!("{name}-out"));
        let o = run(&["render", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(3), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(path), "{name}: {err}");
        assert!(err.contains(&format!("{name}.json:")), "{name}: {err}");
        assert!(!out.exists(), "{name}");
    }
    let input = dir.path().join("broken.json");
    std::fs::write(&input, "{\"schema_version\": ").unwrap();
    let o = run(&["validate", "--input", input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("malformed JSON"));
    let o = run(&["validate", "--input", dir.path().join("missing.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn kinds_formats_validate_and_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = run(&[
        "render",
        "--sample",
        "--out",
        out.to_str().unwrap(),
        "--kinds",
        "board-kpi-pack,control-coverage",
        "--formats",
        "csv",
    ]);
    assert!(o.status.success());
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["board-kpi-pack.csv", "control-coverage.csv"]);

    let o = run(&["render", "--sample", "--out", out.to_str().unwrap(), "--kinds", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown report kind `nope`"));

    let o = run(&["validate", "--sample"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("ok: "));

    let o = run(&["catalog"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("executive-risk-brief") && text.contains(&format!("= {CATALOG} artifacts")), "{text}");
}

#[test]
fn signing_keys_come_by_reference_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = run(&["render", "--sample", "--out", out.to_str().unwrap(), "--signing-key", "RWQ-not-a-reference"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("must be a reference"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());

    // an explicit signed-json request without a key is an error, not a silent skip
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sample_snapshot.json");
    let o = run(&[
        "render",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--formats",
        "signed-json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());

    // a key file given by reference signs, and the signature verifies with its public key
    // the CLI reads minisign's own secret key file format
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let key_path = dir.path().join("cavra.key");
    std::fs::write(&key_path, kp.sk.to_box(None).unwrap().into_string()).unwrap();
    let public = kp.pk.to_box().unwrap().into_string();
    let key_ref = format!("file:{}", key_path.display());
    let o = run(&[
        "render",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--kinds",
        "board-kpi-pack",
        "--formats",
        "signed-json",
        "--signing-key",
        &key_ref,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let data = std::fs::read(out.join("board-kpi-pack.signed.json")).unwrap();
    let sig = std::fs::read_to_string(out.join("board-kpi-pack.signed.json.minisig")).unwrap();
    let comment = cavra_render::signed::verify(&public, &data, &sig).unwrap();
    assert!(
        comment.starts_with("report_id:board-kpi-pack-") && comment.contains(" kind:board-kpi-pack sha256:"),
        "{comment}"
    );
    assert!(!out.join("sample-signing-key.pub").exists());
}

/// The sample as a snapshot head and a decisions file in report order.
fn sample_split(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut snap = sample();
    let mut decisions = snap["decisions"].as_array().unwrap().clone();
    snap.as_object_mut().unwrap().remove("decisions");
    decisions.sort_by(|a, b| {
        let key = |d: &serde_json::Value| (d["timestamp"].as_str().unwrap().to_string(), d["decision_id"].to_string());
        key(a).cmp(&key(b))
    });
    let head = dir.join("head.json");
    std::fs::write(&head, serde_json::to_vec(&snap).unwrap()).unwrap();
    let jsonl = dir.join("decisions.jsonl");
    let lines: Vec<String> = decisions.iter().map(|d| d.to_string()).collect();
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    (head, jsonl)
}

#[test]
fn digest_streams_the_same_artifacts_as_render() {
    let dir = tempfile::tempdir().unwrap();
    let (head, jsonl) = sample_split(dir.path());
    let (h, d) = (head.to_str().unwrap(), jsonl.to_str().unwrap());
    let streamed = dir.path().join("streamed");
    let out = run(&["digest", "--input", h, "--decisions", d, "--out", streamed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut a = hashes(&out.stdout);
    assert_eq!(a.len(), 7);
    let held = dir.path().join("held");
    let formats = "jsonl,csv,xlsx,md,html,docx,pdf";
    let out = run(&[
        "render",
        "--input",
        h,
        "--decisions",
        d,
        "--kinds",
        "agent-activity-digest",
        "--formats",
        formats,
        "--out",
        held.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut b = hashes(&out.stdout);
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn digest_refuses_json_and_unordered_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (head, jsonl) = sample_split(dir.path());
    let (h, d) = (head.to_str().unwrap(), jsonl.to_str().unwrap());
    let target = dir.path().join("out");
    let out = run(&["digest", "--input", h, "--decisions", d, "--formats", "json", "--out", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot stream"));
    assert!(!target.exists());

    let text = std::fs::read_to_string(&jsonl).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.reverse();
    std::fs::write(&jsonl, lines.join("\n")).unwrap();
    let out = run(&["digest", "--input", h, "--decisions", d, "--out", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("decisions.jsonl:2") && err.contains("report order"), "{err}");
    assert!(!target.exists());
}

#[test]
fn init_writes_a_valid_setup_file_and_refuses_literal_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cavra.toml");
    let o = out.to_str().unwrap();
    let ok = run(&[
        "init",
        "--non-interactive",
        "--out",
        o,
        "--org",
        "Northwind",
        "--timezone",
        "America/New_York",
        "--mode",
        "smtp",
        "--sender",
        "reports@northwind.example",
        "--host",
        "127.0.0.1",
        "--username",
        "env:SMTP_USER",
        "--secret",
        "env:SMTP_PASSWORD",
        "--domain",
        "northwind.example:internal:subdomains",
        "--domain",
        "audit.example:external_auditor",
        "--package-key",
        "RWS87NyaqhhyDnFcbRMd1deeuR9MnC6kNaJSxTtuZ3O4VWQmEhKYm/9E",
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("password = \"env:SMTP_PASSWORD\"") && text.contains("classification = \"external_auditor\"")
    );
    let again = run(&["init", "--non-interactive", "--out", o]);
    assert!(!again.status.success(), "an existing file is not replaced without --force");
    let bad = run(&[
        "init",
        "--non-interactive",
        "--force",
        "--out",
        o,
        "--mode",
        "smtp",
        "--sender",
        "reports@northwind.example",
        "--host",
        "smtp.northwind.example",
        "--username",
        "env:U",
        "--secret",
        "hunter2-literal",
        "--domain",
        "northwind.example",
    ]);
    assert_eq!(bad.status.code(), Some(3), "{}", String::from_utf8_lossy(&bad.stderr));
    assert!(!String::from_utf8_lossy(&bad.stderr).contains("hunter2"), "the refused secret is echoed");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "nothing written on refusal");

    // Amazon SES: region and AWS credentials by reference.
    let ses = |key_id: &str| {
        run(&[
            "init",
            "--non-interactive",
            "--force",
            "--out",
            o,
            "--mode",
            "ses",
            "--sender",
            "reports@northwind.example",
            "--region",
            "eu-west-1",
            "--access-key-id",
            key_id,
            "--secret",
            "env:AWS_SECRET_ACCESS_KEY",
            "--domain",
            "northwind.example",
            "--package-key",
            "RWS87NyaqhhyDnFcbRMd1deeuR9MnC6kNaJSxTtuZ3O4VWQmEhKYm/9E",
        ])
    };
    let literal = ses("AKIAIOSFODNN7EXAMPLE");
    assert_eq!(literal.status.code(), Some(3), "{}", String::from_utf8_lossy(&literal.stderr));
    assert!(String::from_utf8_lossy(&literal.stderr).contains("delivery.access_key_id"));
    assert!(!String::from_utf8_lossy(&literal.stderr).contains("AKIAIOSFODNN7EXAMPLE"));
    let ok = ses("env:AWS_ACCESS_KEY_ID");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("mode = \"ses\"\nregion = \"eu-west-1\"\naccess_key_id = \"env:AWS_ACCESS_KEY_ID\"\nsecret_access_key = \"env:AWS_SECRET_ACCESS_KEY\"\n"), "{text}");
}

#[test]
fn one_or_two_jobs_write_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("one"), dir.path().join("two"));
    let one = run(&["render", "--sample", "--jobs", "1", "--out", a.to_str().unwrap()]);
    let two = run(&["render", "--sample", "--jobs", "2", "--out", b.to_str().unwrap()]);
    assert!(one.status.success() && two.status.success(), "{}", String::from_utf8_lossy(&two.stderr));
    let (h1, h2) = (stable(&hashes(&one.stdout)), stable(&hashes(&two.stdout)));
    assert_eq!(h1.len(), CATALOG, "every artifact but the signatures and the key");
    assert_eq!(h1, h2, "the same files, in the same order, with the same bytes");
    for row in &h1 {
        let name = row.split_whitespace().next().unwrap();
        assert_eq!(std::fs::read(a.join(name)).unwrap(), std::fs::read(b.join(name)).unwrap(), "{name}");
    }
    assert_eq!(run(&["render", "--sample", "--jobs", "0", "--out", a.to_str().unwrap()]).status.code(), Some(2));
}

#[test]
fn paper_and_wide_tables_flags_reach_the_paged_documents() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "render",
        "--sample",
        "--kinds",
        "agent-risk-register",
        "--formats",
        "pdf,docx",
        "--paper",
        "letter",
        "--wide-tables",
        "upright",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pdf = std::fs::read(out.join("agent-risk-register.pdf")).unwrap();
    // Every page's media box: Letter, upright (the register's table would
    // otherwise turn its page).
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    for id in doc.get_pages().into_values() {
        let media = doc.get_dictionary(id).unwrap().get(b"MediaBox").unwrap().as_array().unwrap().clone();
        let (w, h) = (media[2].as_float().unwrap(), media[3].as_float().unwrap());
        assert!((w - 612.0).abs() < 0.5 && (h - 792.0).abs() < 0.5, "{w} x {h}");
    }
    let docx = std::fs::read(out.join("agent-risk-register.docx")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml).unwrap();
    assert!(xml.contains(r#"w:w="12240" w:h="15840""#) && !xml.contains("landscape"), "Letter, upright");

    let bad =
        run(&["render", "--sample", "--wide-tables", "sideways", "--out", dir.path().join("x").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("known: landscape, upright"));
    assert!(!dir.path().join("x").exists(), "nothing written");
}
