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
    let kinds = [
        "report-center-kpis",
        "delivery-operations-dashboard",
        "evidence-room-access",
        "alert-operations-dashboard",
        "alert-drilldown",
        "alert-remediation-plan",
        "alert-remediation-closure",
        "remediation-closure-dashboard",
        "remediation-executive-digest",
        "incident-closure",
        "exception-lifecycle",
    ];
    for kind in kinds {
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

#[test]
fn the_executive_digest_is_distributed_in_a_verified_package_under_the_approval_gate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inbox = d.join("inbox");
    let (mut server, port) = scripted_smtp(&inbox, "");
    let ids = identities(d);
    let cfg = d.join("cavra.toml");
    std::fs::write(
        &cfg,
        format!(
            "[organisation]\nname = \"Northwind\"\nsender = \"reports@northwind.example\"\n\
             [delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             [[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
             [[recipients.domains]]\ndomain = \"board.example\"\nclassification = \"external_partner\"\n\
             [roles.cso]\npermissions = [\"send_internal\", \"send_external\"]\n{}",
            ids.toml
        ),
    )
    .unwrap();
    let outbox = d.join("outbox.db");
    let common = ["--config", cfg.to_str().unwrap(), "--outbox", outbox.to_str().unwrap()].map(String::from).to_vec();
    accept(&common, &ids.admin);
    let (audit_sk, audit_pub) = audit_keys(d);
    let log = d.join("audit.jsonl");
    let distribute = |key: &std::path::Path, out: &std::path::Path| {
        bin()
            .args(["ops", "distribute", "--sample", "--to", "ciso@northwind.example,chair@board.example"])
            .args(["--signing-key", &format!("file:{}", key.display()), "--out", out.to_str().unwrap()])
            .args(&common)
            .args(["--audit-log", log.to_str().unwrap(), "--audit-key", &format!("file:{}", audit_sk.display())])
            .args(["--as", &ids.cso])
            .output()
            .unwrap()
    };
    // a package signed by a key the setup file does not name is never queued
    let (stranger, _, _) = keypair(d, "stranger");
    let refused = distribute(&stranger, &d.join("refused"));
    assert_eq!(refused.status.code(), Some(4), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(std::fs::read_dir(d.join("refused")).map_or(true, |mut e| e.next().is_none()), "nothing is left behind");

    let out = d.join("digest");
    let ok = distribute(&d.join("package-signer.key"), &out);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let verified = run(&[
        "verify",
        out.join("remediation_executive_digest.zip").to_str().unwrap(),
        "--pubkey",
        d.join("package-signer.pub").to_str().unwrap(),
    ]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    let text = std::fs::read_to_string(out.join("digest_distribution.json")).unwrap();
    assert!(!text.contains('@'), "no address in the record: {text}");
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/digest_distribution.v1.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    assert!(v.is_valid(&record), "{record}");
    // the external recipient needs an approval: both jobs wait for it
    assert_eq!(record["approval"]["required"], true);
    assert_eq!(
        (record["delivery"]["jobs_blocked"].as_u64(), record["delivery"]["jobs_queued"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(record["recipients"]["domains"], serde_json::json!(["board.example", "northwind.example"]));
    // the send request is in the audit log, at the record the distribution names
    let n = record["evidence"]["audit_record"].as_u64().unwrap();
    let rec = audit_records(&log).into_iter().find(|r| r["seq"] == n).unwrap();
    assert_eq!(rec["event"]["action"], "send");
    assert_eq!(rec["event"]["evidence"]["report_digest_ref"], record["package"]["package_digest"]);
    // approved, then sent
    let approval = record["approval"]["approval_id"].as_str().unwrap();
    let mut approve =
        vec!["approvals".to_string(), "approve".into(), approval.into(), "--as".into(), ids.approver.clone()];
    approve.extend(common.iter().cloned());
    let a = bin().args(&approve).output().unwrap();
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let mut send = vec!["deliver".to_string(), "run".into()];
    send.extend(common.iter().cloned());
    let sent = bin().args(&send).output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(String::from_utf8_lossy(&sent.stdout).contains("sent 2,"), "{}", String::from_utf8_lossy(&sent.stderr));
    // a verification is recorded with the package's digest; a tampered copy's failure is what an alert rule sees
    let zip = out.join("remediation_executive_digest.zip");
    let mut bytes = std::fs::read(&zip).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let tampered = d.join("tampered.zip");
    std::fs::write(&tampered, &bytes).unwrap();
    let key_pub = d.join("package-signer.pub");
    let audit_args = ["--audit-log", log.to_str().unwrap(), "--audit-key", &format!("file:{}", audit_sk.display())];
    let bad = bin()
        .args(["verify", tampered.to_str().unwrap(), "--pubkey", key_pub.to_str().unwrap()])
        .args(audit_args)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(5));
    let good = bin()
        .args(["verify", zip.to_str().unwrap(), "--pubkey", key_pub.to_str().unwrap()])
        .args(audit_args)
        .output()
        .unwrap();
    assert!(good.status.success());
    let snap = d.join("ops.json");
    let (snap_sk, snap_pub, _) = keypair(d, "ops-signer");
    let made = bin()
        .args(["ops", "snapshot", "--config", cfg.to_str().unwrap(), "--audit-log", log.to_str().unwrap()])
        .args(["--audit-pubkey", audit_pub.to_str().unwrap(), "--to", "2100-01-01T00:00:00Z"])
        .args(["--out", snap.to_str().unwrap(), "--signing-key", &format!("file:{}", snap_sk.display())])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let ops: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    let v: Vec<(bool, &str)> = ops["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["verified"].as_bool().unwrap(), x["package_digest"].as_str().unwrap()))
        .collect();
    let tampered_digest = format!("sha256:{}", sha256_hex(&bytes));
    assert_eq!(v, [(false, tampered_digest.as_str()), (true, record["package"]["package_digest"].as_str().unwrap())]);
    // the snapshot is signed: the reference tool checks it, and render refuses an edited copy
    let sig = d.join("ops.json.minisig");
    let has_minisign = std::process::Command::new("minisign").arg("-v").output().is_ok();
    assert!(has_minisign || std::env::var_os("CI").is_none(), "minisign is required in CI; .ci/run installs it");
    if has_minisign {
        let checked = std::process::Command::new("minisign")
            .args(["-V", "-p", snap_pub.to_str().unwrap(), "-m", snap.to_str().unwrap(), "-x", sig.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    }
    let render_signed = |out: &std::path::Path| {
        bin()
            .args([
                "ops",
                "render",
                "--snapshot",
                snap.to_str().unwrap(),
                "--snapshot-pubkey",
                snap_pub.to_str().unwrap(),
            ])
            .args(["--formats", "json", "--kinds", "report-center-kpis", "--out", out.to_str().unwrap()])
            .output()
            .unwrap()
    };
    assert!(render_signed(&d.join("signed-ok")).status.success());
    let original = std::fs::read_to_string(&snap).unwrap();
    std::fs::write(&snap, original.replacen("\"verified\": false", "\"verified\": true", 1)).unwrap();
    let refused = render_signed(&d.join("signed-edited"));
    assert_eq!(refused.status.code(), Some(5), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(!d.join("signed-edited").exists(), "nothing rendered");
    std::fs::write(&snap, original).unwrap();
    let chain = run(&["audit", "verify", log.to_str().unwrap(), "--pubkey", audit_pub.to_str().unwrap()]);
    assert!(chain.status.success(), "{}", String::from_utf8_lossy(&chain.stderr));

    // an edited audit log counts nothing: not the verifications, not a job as audited
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replacen("\"status\":\"failed\"", "\"status\":\"accepted\"", 1)).unwrap();
    let edited = bin()
        .args(["ops", "snapshot", "--config", cfg.to_str().unwrap(), "--outbox", outbox.to_str().unwrap()])
        .args(["--audit-log", log.to_str().unwrap(), "--audit-pubkey", audit_pub.to_str().unwrap()])
        .args(["--to", "2100-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert!(edited.status.success(), "{}", String::from_utf8_lossy(&edited.stderr));
    let ops: serde_json::Value = serde_json::from_slice(&edited.stdout).unwrap();
    assert_eq!(ops["audit"]["verified"], false, "{}", ops["audit"]);
    assert_eq!(ops["verifications"].as_array().map_or(0, Vec::len), 0);
    let jobs = ops["jobs"].as_array().unwrap();
    assert!(!jobs.is_empty() && jobs.iter().all(|j| j["audited"] == false), "{jobs:?}");
}
