//! Evidence rooms through the binary: `room create` from a verified
//! package, `room invite` queued in the outbox and sent by `deliver run` to
//! a loopback SMTP server (the link reaches the recipient and is stored
//! nowhere), `room serve` on a loopback port, the room page in
//! headless Chromium (screenshot, the artifact list, axe-core), `room events`
//! and `room list` checked against their JSON Schemas, and `room revoke`.

mod common;

use std::path::Path;
use std::process::{Child, Command};

use common::*;
use serde_json::Value;

const KEY_VAR: &str = "CAVRA_TEST_ROOM_LINK_KEY";
const KEY: &str = "a test link key for the room service, 32+ bytes";

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas").join(name)).unwrap();
    jsonschema::options().should_validate_formats(true).build(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn valid(v: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = v.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn tool(name: &str, arg: &str) -> bool {
    let ok = Command::new(name).arg(arg).output().is_ok_and(|o| o.status.success());
    assert!(ok || std::env::var_os("CI").is_none(), "`{name}` is required in CI; .ci/run installs it");
    ok
}

#[test]
fn a_room_is_created_served_opened_in_a_browser_and_its_events_exported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (desk_sk, _, desk_pk) = keypair(d, "desk");
    let (pkg_sk, pkg_pub, pkg_pk) = keypair(d, "package-signer");
    let (audit_sk, audit_pub) = audit_keys(d);
    let (admin_sk, _, admin_pk) = keypair(d, "admin");
    let inbox = d.join("inbox");
    let (sink, smtp_port) = scripted_smtp(&inbox, "");
    let _sink = Server(sink);
    let port = free_port();
    let cfg = d.join("cavra.toml");
    std::fs::write(
        &cfg,
        format!(
            "[organisation]\nname = \"Northwind\"\nsender = \"reports@northwind.example\"\n\
             [delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n\
             [packages]\nsigning_public_key = \"{pkg_pk}\"\n\
             [recipients]\nexternal_approval_required = false\n\
             [[recipients.domains]]\ndomain = \"audit.example\"\nclassification = \"external_auditor\"\n\
             [roles.rooms]\npermissions = [\"manage_rooms\", \"send_external\"]\n\
             [principals.evidence-desk]\npublic_key = \"{desk_pk}\"\nroles = [\"rooms\"]\n\
             [roles.admin]\npermissions = [\"manage_policy\"]\n\
             [principals.admin]\npublic_key = \"{admin_pk}\"\nroles = [\"admin\"]\n\
             [rooms]\nlink_key = \"env:{KEY_VAR}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let outbox = d.join("outbox.db");
    let delivery = ["--config", cfg.to_str().unwrap(), "--outbox", outbox.to_str().unwrap()].map(String::from);
    accept(&delivery, &format!("file:{}", admin_sk.display()));
    let url = format!("sqlite:{}", d.join("store.db").display());
    let cmd = |args: &[&str], log: &str| -> std::process::Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--config".into(), cfg.display().to_string(), "--store".into(), url.clone()]);
        all.extend(["--audit-log".into(), d.join(log).display().to_string()]);
        all.extend(["--audit-key".into(), format!("file:{}", audit_sk.display())]);
        bin().env(KEY_VAR, KEY).args(&all).output().unwrap()
    };
    let ok = |out: std::process::Output| -> String {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    ok(run(&["store", "migrate", "--store", &url]));
    let pkgs = d.join("pkgs");
    let pkg_key = format!("file:{}", pkg_sk.display());
    ok(run(&[
        "package",
        "--sample",
        "--types",
        "evidence_room_bundle",
        "--signing-key",
        &pkg_key,
        "--out",
        pkgs.to_str().unwrap(),
    ]));
    let package = pkgs.join("evidence_room_bundle.zip");
    let desk = format!("file:{}", desk_sk.display());
    // a package that does not verify against the key given opens no room
    let (other_sk, other_pub, _) = keypair(d, "other");
    let _ = other_sk;
    let wrong = cmd(
        &[
            "room",
            "create",
            "--package",
            package.to_str().unwrap(),
            "--pubkey",
            other_pub.to_str().unwrap(),
            "--allow-domain",
            "audit.example",
            "--as",
            &desk,
        ],
        "ops.jsonl",
    );
    assert_eq!(wrong.status.code(), Some(4), "{}", String::from_utf8_lossy(&wrong.stderr));
    let created = ok(cmd(
        &[
            "room",
            "create",
            "--package",
            package.to_str().unwrap(),
            "--pubkey",
            pkg_pub.to_str().unwrap(),
            "--allow-domain",
            "audit.example",
            "--expires",
            "14d",
            "--as",
            &desk,
        ],
        "ops.jsonl",
    ));
    let room = created.split_whitespace().next().unwrap().to_string();
    let invite = |to: &str| {
        cmd(&["room", "invite", &room, "--to", to, "--outbox", outbox.to_str().unwrap(), "--as", &desk], "ops.jsonl")
    };
    let invited = ok(invite("lead@audit.example"));
    let link_id = invited.split_whitespace().next().unwrap().to_string();
    assert!(invited.contains("queued 1 job(s)") && !invited.contains("crl1."), "{invited}");
    let outsider = invite("someone@elsewhere.example");
    assert_eq!(outsider.status.code(), Some(4), "only the room's domains get links");
    // a second invitation, revoked before it is sent, is never sent
    let second = ok(invite("second@audit.example"));
    let second_id = second.split_whitespace().next().unwrap().to_string();
    ok(cmd(&["room", "revoke", &second_id, "--as", &desk], "ops.jsonl"));
    let mut send = vec!["deliver".to_string(), "run".into()];
    send.extend(delivery.iter().cloned());
    send.extend(["--store".into(), url.clone(), "--audit-log".into(), d.join("sends.jsonl").display().to_string()]);
    send.extend(["--audit-key".into(), format!("file:{}", audit_sk.display())]);
    let sent = ok(bin().env(KEY_VAR, KEY).args(&send).output().unwrap());
    assert!(sent.contains("sent 1,") && sent.contains("failed 1"), "{sent}");
    let mails: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(mails.len(), 1, "only the valid invitation is sent");
    assert_eq!(std::fs::read_to_string(mails[0].path().with_extension("rcpt")).unwrap().trim(), "lead@audit.example");
    let mail = std::fs::read_to_string(mails[0].path()).unwrap().replace("=\r\n", "").replace("=\n", "");
    let prefix = format!("http://127.0.0.1:{port}/rooms/{room}/crl1.");
    let at = mail.find(&prefix).expect("the message carries the link");
    let link: String = mail[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || ":/._-".contains(*c)).collect();
    assert!(link.len() > prefix.len() + 40, "{link}");
    assert!(mail.contains("Subject: Evidence room"), "{mail}");
    // the token is in the message only: not in the outbox, the store or any log
    let token = link.rsplit('/').next().unwrap();
    for file in [outbox.clone(), d.join("store.db"), d.join("ops.jsonl"), d.join("sends.jsonl")] {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "{} holds the token", file.display());
    }
    let sends = audit_records(&d.join("sends.jsonl"));
    assert_eq!(sends.iter().filter(|r| r["event"]["status"] == "sent").count(), 1, "{sends:?}");

    // the report center's own records, as an operations snapshot and its reports
    let snap = d.join("ops.json");
    ok(bin()
        .args(["ops", "snapshot", "--config", cfg.to_str().unwrap(), "--outbox", outbox.to_str().unwrap()])
        .args(["--store", &url, "--audit-log", d.join("sends.jsonl").to_str().unwrap()])
        .args(["--audit-pubkey", audit_pub.to_str().unwrap(), "--to", "2100-01-01T00:00:00Z"])
        .args(["--out", snap.to_str().unwrap()])
        .output()
        .unwrap());
    let ops: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    assert_eq!(ops["data_provenance"], "report_center_records");
    let jobs = ops["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{ops}");
    let states: Vec<(&str, bool, &str)> = jobs
        .iter()
        .map(|j| (j["state"].as_str().unwrap(), j["audited"].as_bool().unwrap(), j["content"].as_str().unwrap()))
        .collect();
    assert!(states.contains(&("sent", true, "room_invitation")), "{states:?}");
    assert!(states.contains(&("failed", true, "room_invitation")), "{states:?}");
    assert!(jobs
        .iter()
        .all(|j| j["recipient_domain"] == "audit.example" && j["recipient_class"] == "external_auditor"));
    assert_eq!(ops["rooms"][0]["links_issued"], 2);
    assert_eq!(ops["audit"]["verified"], true);
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(!text.contains('@') && !text.contains("crl1."), "no address or token in the snapshot");
    let rendered = d.join("ops-reports");
    ok(run(&[
        "ops",
        "render",
        "--snapshot",
        snap.to_str().unwrap(),
        "--formats",
        "json,pdf",
        "--out",
        rendered.to_str().unwrap(),
    ]));
    let kpis: Value =
        serde_json::from_str(&std::fs::read_to_string(rendered.join("report-center-kpis.json")).unwrap()).unwrap();
    let rate = kpis["metrics"].as_array().unwrap().iter().find(|m| m["metric_id"] == "delivery_success_rate").unwrap();
    // 1 sent ÷ (1 sent + 1 failed) = 50 %
    assert_eq!(
        (rate["value"].as_f64(), rate["numerator"].as_u64(), rate["denominator"].as_u64()),
        (Some(50.0), Some(1), Some(2))
    );

    // serve, and open the room
    let mut args: Vec<String> = ["room", "serve", "--listen"].map(String::from).to_vec();
    args.push(format!("127.0.0.1:{port}"));
    args.extend(["--config".into(), cfg.display().to_string(), "--store".into(), url.clone()]);
    args.extend(["--audit-log".into(), d.join("access.jsonl").display().to_string()]);
    args.extend(["--audit-key".into(), format!("file:{}", audit_sk.display())]);
    let server = Server(bin().env(KEY_VAR, KEY).args(&args).stderr(std::process::Stdio::null()).spawn().unwrap());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut page = None;
    for _ in 0..100 {
        if let Ok(mut res) = agent.get(&link).call() {
            page = Some((res.status().as_u16(), res.body_mut().read_to_string().unwrap()));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (status, html) = page.expect("the service answers");
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Files in this room"));

    if tool("node", "--version") && tool("chromium", "--version") {
        let shots = d.join("shots");
        std::fs::create_dir_all(&shots).unwrap();
        let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/check.mjs");
        let out = Command::new("node").arg(check).arg("--screenshots").arg(&shots).arg(&link).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<Value> =
            String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "two widths");
        for r in &lines {
            assert_eq!(r["status"], 200);
            assert!(r["captions"].as_array().unwrap().iter().any(|c| c == "Files in this room"), "{r}");
            assert!(r["scrollWidth"].as_u64() <= r["clientWidth"].as_u64(), "no horizontal overflow: {r}");
            for v in r["violations"].as_array().unwrap() {
                assert!(!matches!(v["impact"].as_str(), Some("serious" | "critical")), "{v}");
            }
        }
        let shot = std::fs::read_dir(&shots)
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.path().extension().is_some_and(|x| x == "png"));
        let shot = shot.expect("a screenshot").path();
        assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "a real picture");
    }
    drop(server);

    // the access events and the rooms, as documents
    let events: Value = serde_json::from_str(&ok(bin()
        .args([
            "room",
            "events",
            &room,
            "--log",
            d.join("access.jsonl").to_str().unwrap(),
            "--pubkey",
            audit_pub.to_str().unwrap(),
        ])
        .output()
        .unwrap()))
    .unwrap();
    valid(&schema("room_access_events.v1.schema.json"), &events);
    assert!(events["events"].as_array().unwrap().iter().any(|e| e["access"]["event_type"] == "view"));
    let csv = ok(bin()
        .args([
            "room",
            "events",
            &room,
            "--log",
            d.join("access.jsonl").to_str().unwrap(),
            "--pubkey",
            audit_pub.to_str().unwrap(),
            "--format",
            "csv",
        ])
        .output()
        .unwrap());
    assert!(csv.starts_with("seq,at,event_type,") && csv.contains(",view,allowed,external_auditor,"), "{csv}");
    let pdf = d.join("access.pdf");
    ok(bin()
        .args(["room", "events", &room, "--log", d.join("access.jsonl").to_str().unwrap()])
        .args(["--pubkey", audit_pub.to_str().unwrap(), "--format", "pdf", "--out", pdf.to_str().unwrap()])
        .args(["--store", &url, "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap());
    if tool("pdftotext", "-v") {
        let out = Command::new("pdftotext").args(["-layout", pdf.to_str().unwrap(), "-"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Evidence-room access log") && text.contains("Northwind"), "{text}");
        assert!(text.contains(&room[..12]) && text.contains("view") && text.contains("allowed"), "{text}");
    }
    let no_out = bin()
        .args(["room", "events", &room, "--log", d.join("access.jsonl").to_str().unwrap()])
        .args(["--pubkey", audit_pub.to_str().unwrap(), "--format", "pdf"])
        .output()
        .unwrap();
    assert!(!no_out.status.success() && String::from_utf8_lossy(&no_out.stderr).contains("--out"));
    let ops: Value = serde_json::from_str(&ok(bin()
        .args([
            "room",
            "events",
            &room,
            "--log",
            d.join("ops.jsonl").to_str().unwrap(),
            "--pubkey",
            audit_pub.to_str().unwrap(),
        ])
        .output()
        .unwrap()))
    .unwrap();
    valid(&schema("room_access_events.v1.schema.json"), &ops);
    publish_example("room_access_events.v1.json", &ops);
    let kinds: Vec<&str> =
        ops["events"].as_array().unwrap().iter().filter_map(|e| e["access"]["event_type"].as_str()).collect();
    assert_eq!(kinds, ["room_created", "link_issued", "link_issued", "revocation"]);

    ok(cmd(&["room", "revoke", &link_id, "--as", &desk], "ops.jsonl"));
    let listed: Value = serde_json::from_str(&ok(cmd(&["room", "list", "--format", "json"], "ops.jsonl"))).unwrap();
    valid(&schema("evidence_rooms.v1.schema.json"), &listed);
    publish_example("evidence_rooms.v1.json", &listed);
    assert_eq!(listed["rooms"][0]["links"][0]["state"], "revoked");
    assert!(listed["rooms"][0]["files"].as_array().unwrap().len() > 3);
    // a tampered log is not exported
    let log = d.join("access.jsonl");
    let text = std::fs::read_to_string(&log).unwrap().replace("\"view\"", "\"download\"");
    std::fs::write(&log, text).unwrap();
    let broken = bin()
        .args(["room", "events", &room, "--log", log.to_str().unwrap(), "--pubkey", audit_pub.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(5));
}
