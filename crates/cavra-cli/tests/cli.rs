//! The binary end to end: output, exit codes and all-or-nothing writes.

use std::path::Path;
use std::process::{Command, Output};

const KINDS: usize = 10;
/// Kinds × formats in the catalog.
const CATALOG: usize = KINDS * 9;
/// A sample run's files: every artifact, a signature per signed JSON, and the throw-away public key.
const FILES: usize = CATALOG + KINDS + 1;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cavra-reports"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

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

/// A minisign key pair written into `dir`: (secret key path, public key path, base64 public key).
fn keypair(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let (sk, pk) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.pub")));
    std::fs::write(&sk, kp.sk.to_box(None).unwrap().to_string()).unwrap();
    std::fs::write(&pk, kp.pk.to_box().unwrap().to_string()).unwrap();
    (sk, pk, kp.pk.to_base64())
}

/// Who acts in the delivery tests: a package signer, a real package it signed,
/// and the principals `cso-office` (role cso) and `approver` (role approver).
struct Identities {
    package: std::path::PathBuf,
    /// `--as` reference of the cso-office principal.
    cso: String,
    /// `--as` reference of the approver principal.
    approver: String,
    /// `[packages]`, `[roles.approver]` and `[principals.*]` for cavra.toml.
    toml: String,
}

fn identities(dir: &Path) -> Identities {
    let (package_sk, _, package_pk) = keypair(dir, "package-signer");
    let (cso_sk, _, cso_pk) = keypair(dir, "cso");
    let (approver_sk, _, approver_pk) = keypair(dir, "approver");
    let out = dir.join("packages");
    let built = run(&[
        "package",
        "--sample",
        "--types",
        "siem_export_bundle",
        "--signing-key",
        &format!("file:{}", package_sk.display()),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    Identities {
        package: out.join("siem_export_bundle.zip"),
        cso: format!("file:{}", cso_sk.display()),
        approver: format!("file:{}", approver_sk.display()),
        toml: format!(
            "\n[roles.approver]\npermissions = [\"approve\"]\n\n[packages]\nsigning_public_key = \"{package_pk}\"\n\n[principals.cso-office]\npublic_key = \"{cso_pk}\"\nroles = [\"cso\"]\n\n[principals.approver]\npublic_key = \"{approver_pk}\"\nroles = [\"approver\"]\n"
        ),
    }
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
fn deliver_refuses_before_queueing_and_audit_verify_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let ids = identities(dir.path());
    let cfg = dir.path().join("cavra.toml");
    std::fs::write(
        &cfg,
        "[organisation]\nsender = \"reports@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[[recipients.domains]]\ndomain = \"audit.example\"\nclassification = \"external_auditor\"\n\n[roles.cso]\npermissions = [\"send_internal\", \"send_external\", \"approve\"]\n".to_string() + &ids.toml,
    )
    .unwrap();
    let pkg = ids.package.clone();
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let sk = dir.path().join("audit.key");
    std::fs::write(&sk, kp.sk.to_box(None).unwrap().to_string()).unwrap();
    let pk = dir.path().join("audit.pub");
    std::fs::write(&pk, kp.pk.to_box().unwrap().to_string()).unwrap();
    let log = dir.path().join("audit.jsonl");
    let db = dir.path().join("outbox.db");
    let common = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--config".into(),
            cfg.display().to_string(),
            "--outbox".into(),
            db.display().to_string(),
            "--audit-log".into(),
            log.display().to_string(),
            "--audit-key".into(),
            format!("file:{}", sk.display()),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let send_as = |package: &Path, to: &str, who: &str| {
        let mut args = vec!["deliver".to_string(), "send".into()];
        args.extend(common(&["--package", package.to_str().unwrap(), "--to", to, "--as", who]));
        bin().args(&args).output().unwrap()
    };
    let send = |to: &str| send_as(&pkg, to, &ids.cso);
    let refused = send("cso@northwind.example.evil.com");
    assert_eq!(refused.status.code(), Some(4), "{}", String::from_utf8_lossy(&refused.stderr));
    // a plain file, or a package signed by another key, is refused with nothing queued
    let plain = send_as(Path::new("/etc/hostname"), "cso@northwind.example", &ids.cso);
    assert_eq!(plain.status.code(), Some(4), "{}", String::from_utf8_lossy(&plain.stderr));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("does not verify"));
    let (other_sk, _, _) = keypair(dir.path(), "other-signer");
    let other_dir = dir.path().join("other");
    let built = run(&[
        "package",
        "--sample",
        "--types",
        "siem_export_bundle",
        "--signing-key",
        &format!("file:{}", other_sk.display()),
        "--out",
        other_dir.to_str().unwrap(),
    ]);
    assert!(built.status.success());
    let foreign = send_as(&other_dir.join("siem_export_bundle.zip"), "cso@northwind.example", &ids.cso);
    assert_eq!(foreign.status.code(), Some(4), "{}", String::from_utf8_lossy(&foreign.stderr));
    // a key that is no principal, and the flag that used to grant a role, grant nothing
    let nobody = send_as(&pkg, "cso@northwind.example", &format!("file:{}", other_sk.display()));
    assert_eq!(nobody.status.code(), Some(4), "{}", String::from_utf8_lossy(&nobody.stderr));
    let mut by_flag = vec!["deliver".to_string(), "send".into()];
    by_flag.extend(common(&["--package", pkg.to_str().unwrap(), "--to", "cso@northwind.example", "--role", "cso"]));
    assert_eq!(bin().args(&by_flag).output().unwrap().status.code(), Some(2), "--role is gone");
    assert!(
        !db.exists()
            || run(&["deliver", "status", "--config", cfg.to_str().unwrap(), "--outbox", db.to_str().unwrap()])
                .stdout
                .ends_with(b"0 job(s)\n")
    );
    let queued = send("cso@northwind.example");
    assert!(queued.status.success(), "{}", String::from_utf8_lossy(&queued.stderr));
    assert!(String::from_utf8_lossy(&queued.stdout).contains("queued 1 job(s)"));
    // an external send waits; its requester cannot approve it, the approver can
    let external = send("lead@audit.example");
    assert!(external.status.success(), "{}", String::from_utf8_lossy(&external.stderr));
    let stdout = String::from_utf8_lossy(&external.stdout).into_owned();
    let id = stdout.split_whitespace().find(|w| w.starts_with("appr-")).unwrap().to_string();
    let decide = |who: &str| {
        let mut args = vec!["approvals".to_string(), "approve".into(), id.clone()];
        args.extend(common(&["--as", who, "--reason", "board pack for the audit"]));
        bin().args(&args).output().unwrap()
    };
    let own = decide(&ids.cso);
    assert_eq!(own.status.code(), Some(4), "{}", String::from_utf8_lossy(&own.stderr));
    assert!(String::from_utf8_lossy(&own.stderr).contains("cannot decide its own request"));
    let approved = decide(&ids.approver);
    assert!(approved.status.success(), "{}", String::from_utf8_lossy(&approved.stderr));
    assert!(String::from_utf8_lossy(&approved.stdout).contains("now approved (1 of 1 approval(s)); 1 job(s) changed"));

    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", log.to_str().unwrap(), "--pubkey", pk.to_str().unwrap()];
        args.extend(extra);
        run(&args)
    };
    let ok = verify(&[]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("northwind.example.evil.com") && !text.contains("cso@"), "no address in the audit log");
    assert_eq!(verify(&["--closed"]).status.code(), Some(5), "the log is still open");
    // keep the head, close the log, and check both
    let head = run(&["audit", "head", log.to_str().unwrap(), "--pubkey", pk.to_str().unwrap()]);
    assert!(head.status.success(), "{}", String::from_utf8_lossy(&head.stderr));
    let head_file = dir.path().join("head.json");
    std::fs::write(&head_file, &head.stdout).unwrap();
    let closed = run(&["audit", "close", log.to_str().unwrap(), "--audit-key", &format!("file:{}", sk.display())]);
    assert!(closed.status.success(), "{}", String::from_utf8_lossy(&closed.stderr));
    assert!(verify(&["--closed", "--expect-head", head_file.to_str().unwrap()]).status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    // a log cut below the kept head fails
    let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, &cut).unwrap();
    let short = verify(&["--expect-head", head_file.to_str().unwrap()]);
    assert_eq!(short.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&short.stdout).contains("records were cut"),
        "{}",
        String::from_utf8_lossy(&short.stdout)
    );
    // an edit is named by record, and nothing more is appended to a log that does not verify
    std::fs::write(&log, text.replacen("blocked_policy", "accepted", 1)).unwrap();
    let bad = verify(&[]);
    assert_eq!(bad.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("FAIL  record 2"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
    let refused_append = send("cso@northwind.example");
    assert_eq!(refused_append.status.code(), Some(5), "{}", String::from_utf8_lossy(&refused_append.stderr));

    let next = run(&[
        "schedule",
        "next",
        "--cadence",
        "cron 30 2 * * *",
        "--timezone",
        "America/New_York",
        "--after",
        "2026-03-07T12:00:00Z",
        "--count",
        "1",
    ]);
    assert!(String::from_utf8_lossy(&next.stdout).starts_with("2026-03-08T07:30:00Z  2026-03-08T03:30-04:00 EDT"));
}

#[test]
fn a_sender_killed_mid_batch_resumes_and_every_job_is_sent_once_or_flagged() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cavra-deliver/tests/support/smtp_sink.py");
    let mut server = Command::new("python3")
        .arg(&script)
        .arg("scripted")
        .arg(&inbox)
        .arg("slowdata:0.6")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().expect("server port");
    let ids = identities(dir.path());
    let cfg = dir.path().join("cavra.toml");
    std::fs::write(
        &cfg,
        format!("[organisation]\nsender = \"reports@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[roles.cso]\npermissions = [\"send_internal\"]\n{}", ids.toml),
    )
    .unwrap();
    let pkg = ids.package.clone();
    let common = ["--config", cfg.to_str().unwrap(), "--outbox", dir.path().join("outbox.db").to_str().unwrap()]
        .map(String::from);
    let to: Vec<String> = (1..=5).map(|i| format!("r{i}@northwind.example")).collect();
    let mut send = vec!["deliver".to_string(), "send".into()];
    send.extend(common.iter().cloned());
    send.extend([
        "--package".into(),
        pkg.display().to_string(),
        "--to".into(),
        to.join(","),
        "--as".into(),
        ids.cso.clone(),
    ]);
    assert!(bin().args(&send).output().unwrap().status.success());

    let mut run_args = vec!["deliver".to_string(), "run".into(), "--lease-seconds".into(), "2".into()];
    run_args.extend(common.iter().cloned());
    // Kill the sender while it waits for the server's answer to a message.
    let mut sender = bin().args(&run_args).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    sender.kill().unwrap(); // SIGKILL
    sender.wait().unwrap();
    // After the lease has run out, a new sender finishes the batch.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let out = bin().args(&run_args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut status = vec!["deliver".to_string(), "status".into()];
    status.extend(common.iter().cloned());
    let listing = String::from_utf8_lossy(&bin().args(&status).output().unwrap().stdout).into_owned();
    let _ = server.kill();
    let _ = server.wait();

    let jobs: Vec<&str> = listing.lines().filter(|l| l.starts_with("job-")).collect();
    assert_eq!(jobs.len(), 5, "{listing}");
    assert!(jobs.iter().all(|l| l.contains("  sent  ")), "{listing}");
    // At the sink: every job once, except the one killed after DATA, which may be there twice, flagged.
    let mut by_id: std::collections::BTreeMap<String, usize> = Default::default();
    for e in std::fs::read_dir(&inbox)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let id = text.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap().to_string();
        *by_id.entry(id).or_default() += 1;
    }
    eprintln!("{listing}{by_id:?}");
    assert_eq!(by_id.len(), 5, "{by_id:?}");
    let flagged: Vec<&&str> = jobs.iter().filter(|l| l.contains("possible-duplicate")).collect();
    for (id, n) in &by_id {
        if *n > 1 {
            assert_eq!(*n, 2, "{id}");
            let mid = id.split_once(':').unwrap().1.trim();
            assert!(flagged.iter().any(|l| l.contains(mid)), "a duplicate at the sink is flagged: {listing}");
        }
    }
    assert_eq!(flagged.len(), 1, "exactly the job in flight when the sender died is flagged: {listing}");
}

/// Starts the scripted loopback SMTP server with `faults`; returns it and its port.
fn scripted_smtp(inbox: &Path, faults: &str) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cavra-deliver/tests/support/smtp_sink.py");
    let mut server = Command::new("python3")
        .arg(&script)
        .arg("scripted")
        .arg(inbox)
        .arg(faults)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (server, line.trim().parse().expect("server port"))
}

fn loop_setup(dir: &Path, port: u16) -> (Vec<String>, Identities) {
    let ids = identities(dir);
    let cfg = dir.join("cavra.toml");
    std::fs::write(
        &cfg,
        format!("[organisation]\nsender = \"reports@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[roles.cso]\npermissions = [\"send_internal\"]\n\n[retry]\nbackoff_seconds = 1\nmax_backoff_seconds = 2\n{}", ids.toml),
    )
    .unwrap();
    let common = ["--config", cfg.to_str().unwrap(), "--outbox", dir.join("outbox.db").to_str().unwrap()]
        .map(String::from)
        .to_vec();
    (common, ids)
}

#[test]
fn deliver_run_loop_retries_until_idle_and_shows_progress_without_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let (mut server, port) = scripted_smtp(&inbox, "greeting421,rcpt450");
    let (common, ids) = loop_setup(dir.path(), port);
    let pkg = ids.package.clone();
    let mut send = vec!["deliver".to_string(), "send".into()];
    send.extend(common.iter().cloned());
    send.extend(
        ["--package", pkg.to_str().unwrap(), "--to", "a@northwind.example,b@northwind.example", "--as", &ids.cso]
            .map(String::from),
    );
    assert!(bin().args(&send).output().unwrap().status.success());

    let mut bad_lease = vec!["deliver".to_string(), "run".into(), "--lease-seconds".into(), "-5".into()];
    bad_lease.extend(common.iter().cloned());
    assert_eq!(bin().args(&bad_lease).output().unwrap().status.code(), Some(2), "a lease must be 1 s to a day");

    let mut run_args = vec!["deliver".to_string(), "run".into(), "--loop".into(), "--until-idle".into()];
    run_args.extend(["--poll-seconds", "1"].map(String::from));
    run_args.extend(common.iter().cloned());
    let out = bin().args(&run_args).output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "sent 2, retry scheduled 2, failed 0, dead-lettered 0", "{stderr}");
    // one progress line per attempt: two retried, two sent
    assert_eq!(stderr.lines().filter(|l| l.contains(" retry_scheduled (attempt 1)")).count(), 2, "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.contains(" sent (attempt 2)")).count(), 2, "{stderr}");
    assert!(!stderr.contains('@'), "progress never shows an address: {stderr}");
    let eml = std::fs::read_dir(&inbox)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml"));
    assert_eq!(eml.count(), 2);
}

#[test]
fn deliver_run_loop_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (common, _) = loop_setup(dir.path(), 9);
    let mut run_args = vec!["deliver".to_string(), "run".into(), "--loop".into()];
    run_args.extend(common.iter().cloned());
    let mut sender = bin()
        .args(&run_args)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(sender.try_wait().unwrap().is_none(), "a looping sender keeps running");
    let killed = Command::new("kill").arg("-TERM").arg(sender.id().to_string()).status().unwrap();
    assert!(killed.success());
    // Wait (up to about 10 s) for it to finish the loop and exit.
    for _ in 0..200 {
        if sender.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(sender.try_wait().unwrap().is_some(), "the sender did not stop on SIGTERM");
    let out = sender.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("stopped; sent 0"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sent 0, retry scheduled 0, failed 0, dead-lettered 0");
}

/// A throw-away minisign key pair for audit logs: (secret key path, public key path).
fn audit_keys(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let (sk, pk) = (dir.join("audit.key"), dir.join("audit.pub"));
    std::fs::write(&sk, kp.sk.to_box(None).unwrap().to_string()).unwrap();
    std::fs::write(&pk, kp.pk.to_box().unwrap().to_string()).unwrap();
    (sk, pk)
}

fn audit_records(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn deliver_test_sends_a_test_message_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let (mut server, port) = scripted_smtp(&inbox, "");
    let (mut common, ids) = loop_setup(dir.path(), port);
    let (sk, pk) = audit_keys(dir.path());
    let log = dir.path().join("audit.jsonl");
    common.extend([
        "--audit-log".into(),
        log.display().to_string(),
        "--audit-key".into(),
        format!("file:{}", sk.display()),
    ]);
    let test = |to: &str| {
        let mut args =
            vec!["deliver".to_string(), "test".into(), "--to".into(), to.into(), "--as".into(), ids.cso.clone()];
        args.extend(common.iter().cloned());
        bin().args(&args).output().unwrap()
    };
    let ok = test("cso@northwind.example");
    let _ = server.kill();
    let _ = server.wait();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "recipient 1 (northwind.example): test passed");
    let eml: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(eml.len(), 1);
    let text = std::fs::read_to_string(&eml[0]).unwrap();
    assert!(text.contains("cavra-delivery-test.txt") && text.contains("delivery test"), "{text}");
    assert!(!dir.path().join("outbox.db").exists(), "a test delivery queues nothing");

    let refused = test("cso@northwind.example.evil.com");
    assert_eq!(refused.status.code(), Some(4));
    let records = audit_records(&log);
    let events: Vec<(&str, &str)> =
        records.iter().filter_map(|r| Some((r["event"]["action"].as_str()?, r["event"]["status"].as_str()?))).collect();
    assert_eq!(events, [("test_delivery", "test_passed"), ("test_delivery", "blocked_policy")]);
    assert_eq!(records[1]["event"]["actor"]["principal"], "cso-office", "the principal is recorded");
    assert!(!std::fs::read_to_string(&log).unwrap().contains('@'));
    assert!(run(&["audit", "verify", log.to_str().unwrap(), "--pubkey", pk.to_str().unwrap()]).status.success());
}

#[test]
fn render_package_and_catalog_append_audit_events() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = audit_keys(dir.path());
    let log = dir.path().join("audit.jsonl");
    let key = format!("file:{}", sk.display());
    let ids = identities(dir.path());
    let cfg = dir.path().join("cavra.toml");
    std::fs::write(
        &cfg,
        format!(
            "[roles.grc]\npermissions = [\"render\"]\n[roles.cso]\npermissions = [\"send_internal\"]{}",
            ids.toml.replace("roles = [\"cso\"]", "roles = [\"grc\"]")
        ),
    )
    .unwrap();
    let audit = [
        "--audit-log",
        log.to_str().unwrap(),
        "--audit-key",
        key.as_str(),
        "--config",
        cfg.to_str().unwrap(),
        "--as",
        ids.cso.as_str(),
    ];
    let out = dir.path().join("out");
    let mut args = vec![
        "render",
        "--sample",
        "--out",
        out.to_str().unwrap(),
        "--kinds",
        "executive-risk-brief",
        "--formats",
        "md,csv",
    ];
    args.extend(audit);
    let rendered = run(&args);
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    let mut args = vec!["catalog"];
    args.extend(audit);
    assert!(run(&args).status.success());
    let mut args = vec!["render", "--input", "/nonexistent/snapshot.json", "--out", out.to_str().unwrap()];
    args.extend(audit);
    assert_eq!(run(&args).status.code(), Some(1));

    let records = audit_records(&log);
    let events: Vec<&serde_json::Value> =
        records.iter().filter(|r| r.get("event").is_some()).map(|r| &r["event"]).collect();
    assert_eq!(events.len(), 4, "{records:?}");
    for (e, name) in events.iter().zip(["executive-risk-brief.md", "executive-risk-brief.csv"]) {
        assert_eq!(
            (e["action"].as_str(), e["status"].as_str(), e["actor"]["roles"][0].as_str()),
            (Some("render"), Some("rendered"), Some("grc"))
        );
        assert_eq!(e["actor"]["principal"], "cso-office");
        assert_eq!(e["evidence"]["evidence_refs"][0], name);
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert_eq!(
            e["evidence"]["report_digest_ref"].as_str().unwrap(),
            format!("sha256:{}", sha256_hex(&bytes)),
            "the artifact's digest"
        );
    }
    assert_eq!((events[2]["action"].as_str(), events[2]["status"].as_str()), (Some("catalog"), Some("accepted")));
    assert_eq!((events[3]["action"].as_str(), events[3]["status"].as_str()), (Some("render"), Some("failed")));
    assert_eq!(events[3]["detail"], "I/O or internal failure (exit 1)");
    assert!(run(&["audit", "verify", log.to_str().unwrap(), "--pubkey", pk.to_str().unwrap()]).status.success());
    // a principal without `render` is refused, and the refusal is recorded
    let approver = [
        "--audit-log",
        log.to_str().unwrap(),
        "--audit-key",
        key.as_str(),
        "--config",
        cfg.to_str().unwrap(),
        "--as",
        ids.approver.as_str(),
    ];
    let mut args = vec!["catalog"];
    args.extend(approver);
    assert_eq!(run(&args).status.code(), Some(4));
    let last = audit_records(&log).pop().unwrap();
    assert_eq!(
        (last["event"]["action"].as_str(), last["event"]["status"].as_str()),
        (Some("catalog"), Some("blocked_policy"))
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}
