//! Delivery against real SMTP servers on loopback, started by the tests: an
//! aiosmtpd server, and a scripted server that injects faults. Time is
//! simulated (each pass is given its instant), the network is real.

mod support;

use std::path::{Path, PathBuf};

use cavra_deliver::audit::{verify_log, AuditLog};
use cavra_deliver::config::Config;
use cavra_deliver::outbox::{JobState, OutboxStore, SqliteOutbox};
use cavra_deliver::send::{plan, run_once, SendRequest, Smtp};
use cavra_render::signed::SigningKey;
use support::{python_module, Server};

fn start(mode: &str, out: &Path, faults: &str) -> Server {
    let out_arg = out.display().to_string();
    support::start("smtp_sink.py", &[mode, out_arg.as_str(), faults], out)
}

fn config(port: u16) -> Config {
    config_with(port, "tls = \"none\"")
}

fn config_with(port: u16, tls: &str) -> Config {
    Config::from_toml(&config_text(port, tls)).unwrap()
}

fn config_text(port: u16, tls: &str) -> String {
    format!(
        r#"
[organisation]
name = "Northwind Security Office"
sender = "reports@northwind.example"
legal_footer = "Confidential."

[delivery]
mode = "smtp"
host = "127.0.0.1"
port = {port}
{tls}

[recipients]
external_approval_required = true

[[recipients.domains]]
domain = "northwind.example"
subdomains = true
classification = "internal"

[[recipients.domains]]
domain = "audit.example"
classification = "external_auditor"

[roles.cso]
permissions = ["render", "send_internal", "send_external", "approve"]

[roles.approver]
permissions = ["approve"]

[roles.clerk]
permissions = ["render"]
{principals}

[retry]
max_attempts = 5
backoff_seconds = 30
max_backoff_seconds = 600
window_hours = 24
"#,
        principals = principals()
    )
}

fn principals() -> String {
    let k = support::keys();
    support::principal("cso-office", &k.cso, &["cso"])
        + &support::principal("approver-1", &k.approver, &["approver"])
        + &support::principal("approver-2", &k.approver2, &["approver"])
        + &support::principal("clerk", &k.clerk, &["clerk"])
        + &support::packages_section()
}

struct Fixture {
    dir: tempfile::TempDir,
    package: PathBuf,
    digest: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("board_and_audit_bundle.zip");
    // A real board pack.
    let snapshot = cavra_model::Snapshot::from_json_str(
        include_str!("../../../examples/sample_snapshot.json"),
        &Default::default(),
    )
    .unwrap();
    let posture = cavra_model::Posture::compute(&snapshot);
    let pkg = cavra_package_like::board(&snapshot, &posture, &support::keys().package);
    std::fs::write(&package, &pkg).unwrap();
    let digest = format!("sha256:{}", sha256(&pkg));
    Fixture { dir, package, digest }
}

fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(b))
}

/// The test builds a real package through the packager.
mod cavra_package_like {
    pub fn board(
        s: &cavra_model::Snapshot,
        p: &cavra_model::Posture,
        key: &cavra_render::signed::SigningKey,
    ) -> Vec<u8> {
        cavra_package::build_package(cavra_package::PackageType::BoardAndAuditBundle, s, p, &Default::default(), key)
            .unwrap()
            .bytes
    }
}

fn request(f: &Fixture, to: &[&str]) -> SendRequest {
    SendRequest {
        recipients: to.iter().map(|s| s.to_string()).collect(),
        attachment: f.package.clone(),
        subject: "Board pack, November".into(),
    }
}

/// Runs passes at simulated instants until nothing is due (or `max` passes).
fn drain(cfg: &Config, store: &mut SqliteOutbox, smtp: &Smtp, log: &mut AuditLog, start: i64) -> i64 {
    let mut now = start;
    for _ in 0..20 {
        run_once(cfg, store, smtp, Some(&mut *log), now, "2026-11-01T12:00:00Z").unwrap();
        let pending: Vec<i64> = store
            .jobs()
            .unwrap()
            .iter()
            .filter(|j| j.state == JobState::RetryScheduled)
            .map(|j| j.next_attempt)
            .collect();
        match pending.iter().min() {
            Some(next) => now = (*next).max(now + 1),
            None => break,
        }
    }
    now
}

fn received(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| {
            let rcpt = std::fs::read_to_string(e.path().with_extension("rcpt")).unwrap_or_default();
            (rcpt, std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn attachment_digest(eml: &[u8]) -> String {
    use base64::Engine;
    let text = String::from_utf8_lossy(eml);
    let start = text.find("Content-Type: application/zip").expect("an attachment");
    let body = &text[start..];
    let body = &body[body.find("\r\n\r\n").expect("part body") + 4..];
    let end = body.find("\r\n--").unwrap_or(body.len());
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64 attachment");
    format!("sha256:{}", sha256(&bytes))
}

/// The decoded text/plain part of a message.
fn plain_part(eml: &[u8]) -> String {
    let text = String::from_utf8_lossy(eml);
    let start = text.find("Content-Type: text/plain").expect("a text part");
    let part = &text[start..];
    let header_end = part.find("\r\n\r\n").expect("part headers") + 4;
    let body = &part[header_end..part.find("\r\n--").unwrap_or(part.len())];
    if part[..header_end].contains("quoted-printable") {
        let b = body.replace("=\r\n", "").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let escaped = (b[i] == b'=' && i + 2 < b.len())
                .then(|| std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
                .flatten();
            match escaped {
                Some(v) => {
                    out.push(v);
                    i += 3;
                }
                None => {
                    out.push(b[i]);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).replace("\r\n", "\n")
    } else if part[..header_end].contains("base64") {
        use base64::Engine;
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).replace("\r\n", "\n")
    } else {
        body.replace("\r\n", "\n")
    }
}

fn message_id(eml: &[u8]) -> String {
    let text = String::from_utf8_lossy(eml);
    text.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap_or_default().to_string()
}

#[test]
fn aiosmtpd_receives_a_board_pack_and_the_audit_log_holds_no_address() {
    if !python_module("aiosmtpd") {
        return;
    }
    let f = fixture();
    let server = start("aiosmtpd", &f.dir.path().join("inbox"), "");
    let cfg = config(server.port);
    let key = SigningKey::generate().unwrap();
    let mut store = SqliteOutbox::open(&f.dir.path().join("outbox.db")).unwrap();
    let log_path = f.dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&log_path, key.clone()).unwrap();
    let p = plan(
        &cfg,
        &support::cso(&cfg),
        &request(&f, &["cso@northwind.example", "ciso@eu.northwind.example"]),
        &f.digest,
        1_793_534_400,
    )
    .unwrap();
    assert!(p.approval().is_none());
    store.enqueue_plan(&p).unwrap();
    drain(&cfg, &mut store, &Smtp::from_config(&cfg).unwrap(), &mut log, 1_793_534_400);
    assert!(store.jobs().unwrap().iter().all(|j| j.state == JobState::Sent));
    let got = received(&server.out);
    assert_eq!(got.len(), 2);
    let manifest = cavra_deliver::message::package_manifest(&f.package).expect("a package manifest");
    for (_, eml) in &got {
        assert_eq!(attachment_digest(eml), f.digest, "the attachment arrives with the manifest's digest");
        // The summary is built from the package's manifest.
        let text = plain_part(eml);
        assert!(text.contains(&format!("Package {} (board_and_audit_bundle)", manifest.package_id)), "{text}");
        let reports: Vec<_> =
            manifest.artifacts.iter().filter(|a| a.report_id.is_some() && a.signs.is_none()).collect();
        assert!(!text.contains(".minisig ("), "signatures are supporting files: {text}");
        assert!(!reports.is_empty());
        for a in reports {
            assert!(text.contains(&format!("  - {} ({}, ", a.path, a.format)), "{} missing from:\n{text}", a.path);
        }
        assert!(text.contains(&f.digest) && text.contains("cavra-reports verify board_and_audit_bundle.zip"));
        assert!(text.contains("Confidential."), "the legal footer");
    }
    log.close().unwrap();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!text.contains('@'), "an address reached the audit log:\n{text}");
    assert!(verify_log(std::io::Cursor::new(text.as_bytes()), &key.public_key(), None).ok());
}

#[test]
fn transient_faults_are_retried_and_permanent_ones_fail_one_recipient() {
    let f = fixture();
    let server = start("scripted", &f.dir.path().join("inbox"), "greeting421,rcpt450,rcpt550:gone@northwind.example");
    let cfg = config(server.port);
    let key = SigningKey::generate().unwrap();
    let mut store = SqliteOutbox::open(&f.dir.path().join("outbox.db")).unwrap();
    let mut log = AuditLog::open(&f.dir.path().join("audit.jsonl"), key).unwrap();
    let p = plan(
        &cfg,
        &support::cso(&cfg),
        &request(&f, &["cso@northwind.example", "gone@northwind.example"]),
        &f.digest,
        1000,
    )
    .unwrap();
    store.enqueue_plan(&p).unwrap();
    drain(&cfg, &mut store, &Smtp::from_config(&cfg).unwrap(), &mut log, 1000);
    let jobs = store.jobs().unwrap();
    let ok = jobs.iter().find(|j| j.recipient == "cso@northwind.example").unwrap();
    let gone = jobs.iter().find(|j| j.recipient == "gone@northwind.example").unwrap();
    assert_eq!(gone.state, JobState::Failed, "550 is permanent for that recipient");
    assert_eq!(ok.state, JobState::Sent, "the other recipient is delivered: {ok:?}");
    assert!(ok.attempts >= 2, "the 421 and 450 were retried: {ok:?}");
    let got = received(&server.out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "cso@northwind.example");
}

#[test]
fn a_connection_dropped_after_data_is_retried_with_the_same_message_id() {
    let f = fixture();
    let server = start("scripted", &f.dir.path().join("inbox"), "dropdata");
    let cfg = config(server.port);
    let key = SigningKey::generate().unwrap();
    let mut store = SqliteOutbox::open(&f.dir.path().join("outbox.db")).unwrap();
    let mut log = AuditLog::open(&f.dir.path().join("audit.jsonl"), key).unwrap();
    let p = plan(&cfg, &support::cso(&cfg), &request(&f, &["cso@northwind.example"]), &f.digest, 1000).unwrap();
    store.enqueue_plan(&p).unwrap();
    drain(&cfg, &mut store, &Smtp::from_config(&cfg).unwrap(), &mut log, 1000);
    let job = &store.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::Sent);
    assert_eq!(job.attempts, 2);
    let got = received(&server.out);
    assert_eq!(got.len(), 2, "the server kept the dropped copy and the retry");
    assert_eq!(message_id(&got[0].1), message_id(&got[1].1));
    assert!(message_id(&got[0].1).contains(&job.id));
}

#[test]
fn refused_recipients_queue_nothing_and_external_ones_wait_for_approval() {
    let f = fixture();
    let cfg = config(9); // never connected to
    let mut store = SqliteOutbox::open(&f.dir.path().join("outbox.db")).unwrap();
    for bad in [
        vec!["cso@northwind.example", "x@evil.example"],
        vec!["cso@northwind.example.evil.com"],
        vec!["\"cso@northwind.example\"@evil.com"],
        vec!["Board <cso@northwind.example>"],
        vec!["cso@nоrthwind.example"],
    ] {
        let e = plan(&cfg, &support::cso(&cfg), &request(&f, &bad), &f.digest, 1000).unwrap_err();
        assert!(!e.problems.is_empty(), "{bad:?}");
    }
    let mut r = request(&f, &["cso@northwind.example"]);
    r.subject = "Board pack\r\nBcc: all@evil.example".into();
    assert!(plan(&cfg, &support::cso(&cfg), &r, &f.digest, 1000).is_err(), "CR/LF in a header value");
    assert!(store.jobs().unwrap().is_empty(), "nothing was queued");

    // An external auditor: blocked until the approval covering this digest and set.
    let p = plan(
        &cfg,
        &support::cso(&cfg),
        &request(&f, &["lead@audit.example", "cso@northwind.example"]),
        &f.digest,
        1000,
    )
    .unwrap();
    let approval = p.approval().expect("external recipients need an approval").to_string();
    store.enqueue_plan(&p).unwrap();
    assert!(store.lease_due(2000, 300, 10).unwrap().is_empty(), "nothing is sent before the approval");
    // The same set with another digest needs another approval.
    let other = plan(
        &cfg,
        &support::cso(&cfg),
        &request(&f, &["lead@audit.example", "cso@northwind.example"]),
        "sha256:other",
        1000,
    )
    .unwrap();
    assert_ne!(other.approval().unwrap(), approval);
    assert_eq!(store.release(&approval, 3000).unwrap(), 2);
    assert_eq!(store.lease_due(3000, 300, 10).unwrap().len(), 2);
}

#[test]
fn a_sender_that_died_mid_send_leaves_a_lease_that_expires() {
    let f = fixture();
    let cfg = config(9);
    let path = f.dir.path().join("outbox.db");
    let p = plan(&cfg, &support::cso(&cfg), &request(&f, &["cso@northwind.example"]), &f.digest, 1000).unwrap();
    {
        let mut store = SqliteOutbox::open(&path).unwrap();
        store.enqueue_plan(&p).unwrap();
        let leased = store.lease_due(1000, 300, 10).unwrap();
        assert_eq!(leased.len(), 1);
        // the process dies here: no outcome is recorded
    }
    let mut store = SqliteOutbox::open(&path).unwrap();
    assert!(store.lease_due(1200, 300, 10).unwrap().is_empty(), "still leased");
    let again = store.lease_due(1400, 300, 10).unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0].possible_duplicate, "sent again, so flagged");
    assert_eq!(again[0].message_id, p.jobs[0].message_id, "with the same Message-ID");
}

/// A private CA and a server certificate it issued for 127.0.0.1, written
/// as PEM files: (CA certificate, server certificate, server key).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Northwind test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server.subject_alt_names.push(SanType::IpAddress(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)));
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, server_cert.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    paths
}

#[test]
fn starttls_is_required_by_default_and_a_private_ca_can_be_trusted() {
    if !python_module("aiosmtpd") {
        return;
    }
    let f = fixture();
    let (ca, cert, key) = private_ca(f.dir.path());
    let inbox = f.dir.path().join("inbox");
    let args = ["aiosmtpd", inbox.to_str().unwrap(), cert.to_str().unwrap(), key.to_str().unwrap()];
    let tls_server = support::start("smtp_sink.py", &args, &inbox);
    let signing = SigningKey::generate().unwrap();
    let attempt = |cfg: &Config, db: &str| {
        let mut store = SqliteOutbox::open(&f.dir.path().join(db)).unwrap();
        let mut log = AuditLog::open(&f.dir.path().join(format!("{db}.jsonl")), signing.clone()).unwrap();
        let p = plan(cfg, &support::cso(cfg), &request(&f, &["cso@northwind.example"]), &f.digest, 1000).unwrap();
        store.enqueue_plan(&p).unwrap();
        run_once(cfg, &mut store, &Smtp::from_config(cfg).unwrap(), Some(&mut log), 1000, "2026-11-01T12:00:00Z")
            .unwrap();
        store.jobs().unwrap().remove(0)
    };

    // No `tls` key: STARTTLS is required. The server's certificate comes from
    // a CA the system does not know, so the send fails before any mail
    // command, and nothing reaches the server in the clear.
    let default_tls = config_with(tls_server.port, "");
    let job = attempt(&default_tls, "untrusted.db");
    assert_eq!(job.state, JobState::RetryScheduled, "{job:?}");
    assert!(job.last_error.as_deref().unwrap_or_default().to_lowercase().contains("certificate"), "{job:?}");
    assert!(received(&inbox).is_empty());

    // Trusting the private CA: delivered over TLS.
    let trusted = config_with(tls_server.port, &format!("tls_ca_file = \"{}\"", ca.display()));
    let job = attempt(&trusted, "trusted.db");
    assert_eq!(job.state, JobState::Sent, "{job:?}");
    let got = received(&inbox);
    assert_eq!(got.len(), 1);
    assert_eq!(attachment_digest(&got[0].1), f.digest);

    // A server that does not offer STARTTLS gets nothing: no downgrade to plain text.
    let plain_inbox = f.dir.path().join("plain");
    let plain = start("aiosmtpd", &plain_inbox, "");
    let job = attempt(&config_with(plain.port, &format!("tls_ca_file = \"{}\"", ca.display())), "plain.db");
    assert_ne!(job.state, JobState::Sent, "{job:?}");
    assert!(received(&plain_inbox).is_empty(), "nothing was sent without TLS");

    // A file that is not a certificate is a clear set-up error.
    let bogus = f.dir.path().join("bogus.pem");
    std::fs::write(&bogus, "not a certificate").unwrap();
    let err = Smtp::from_config(&config_with(tls_server.port, &format!("tls_ca_file = \"{}\"", bogus.display())))
        .err()
        .unwrap();
    assert!(err.contains("delivery.tls_ca_file") && err.contains("bogus.pem"), "{err}");
}

#[test]
fn a_summary_the_safety_gate_refuses_is_never_sent() {
    let f = fixture();
    let server = start("scripted", &f.dir.path().join("inbox"), "");
    let text = format!(
        "[organisation]\nsender = \"reports@northwind.example\"\nlegal_footer = \"Questions: legal@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[roles.cso]\npermissions = [\"send_internal\"]\n{}",
        server.port,
        support::principal("cso-office", &support::keys().cso, &["cso"]) + &support::packages_section()
    );
    let cfg = Config::from_toml(&text).unwrap();
    let mut store = SqliteOutbox::open(&f.dir.path().join("outbox.db")).unwrap();
    let p = plan(&cfg, &support::cso(&cfg), &request(&f, &["cso@northwind.example"]), &f.digest, 1000).unwrap();
    store.enqueue_plan(&p).unwrap();
    run_once(&cfg, &mut store, &Smtp::from_config(&cfg).unwrap(), None, 1000, "2026-11-01T12:00:00Z").unwrap();
    let job = store.jobs().unwrap().remove(0);
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert!(job.last_error.as_deref().unwrap().contains("email"), "{job:?}");
    assert!(received(&server.out).is_empty());
}

#[test]
fn smtp_auth_plain_and_xoauth2_happen_inside_tls() {
    if !python_module("aiosmtpd") {
        return;
    }
    let f = fixture();
    let (ca, cert, key) = private_ca(f.dir.path());
    let inbox = f.dir.path().join("inbox");
    let creds = "reports-bot:pw-for-tests:token-for-tests";
    let args = ["aiosmtpd", inbox.to_str().unwrap(), cert.to_str().unwrap(), key.to_str().unwrap(), creds];
    let server = support::start("smtp_sink.py", &args, &inbox);
    std::env::set_var("CAVRA_TEST_SMTP_USER", "reports-bot");
    std::env::set_var("CAVRA_TEST_SMTP_PASSWORD", "pw-for-tests");
    std::env::set_var("CAVRA_TEST_SMTP_TOKEN", "token-for-tests");
    std::env::set_var("CAVRA_TEST_SMTP_BAD", "wrong");
    let base = format!("tls_ca_file = \"{}\"\nusername = \"env:CAVRA_TEST_SMTP_USER\"", ca.display());
    let send = |text: String, db: &str| {
        let cfg = Config::from_toml(&text).unwrap();
        let mut store = SqliteOutbox::open(&f.dir.path().join(db)).unwrap();
        let p = plan(&cfg, &support::cso(&cfg), &request(&f, &["cso@northwind.example"]), &f.digest, 1000).unwrap();
        store.enqueue_plan(&p).unwrap();
        run_once(&cfg, &mut store, &Smtp::from_config(&cfg).unwrap(), None, 1000, "2026-11-01T12:00:00Z").unwrap();
        store.jobs().unwrap().remove(0)
    };
    let auth_files = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&inbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "auth"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        v.sort();
        v
    };

    // PLAIN (or LOGIN) with a password, after STARTTLS.
    let job =
        send(config_text(server.port, &format!("{base}\npassword = \"env:CAVRA_TEST_SMTP_PASSWORD\"")), "plain.db");
    assert_eq!(job.state, JobState::Sent, "{job:?}");
    assert_eq!(auth_files(), ["PLAIN reports-bot"]);

    // XOAUTH2 with a bearer token (Microsoft 365 / Google Workspace modes).
    let m365 = config_text(server.port, &format!("{base}\noauth_token = \"env:CAVRA_TEST_SMTP_TOKEN\""))
        .replace("mode = \"smtp\"", "mode = \"microsoft365\"");
    let job = send(m365, "xoauth2.db");
    assert_eq!(job.state, JobState::Sent, "{job:?}");
    assert_eq!(auth_files(), ["PLAIN reports-bot", "XOAUTH2 reports-bot"]);

    // Wrong credentials: refused (535, permanent), nothing delivered.
    let job = send(config_text(server.port, &format!("{base}\npassword = \"env:CAVRA_TEST_SMTP_BAD\"")), "bad.db");
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert_eq!(received(&inbox).len(), 2);
}

#[test]
fn channels_decide_attachment_or_notice_per_classification() {
    let f = fixture();
    let server = start("scripted", &f.dir.path().join("inbox"), "");
    let text = |partner_domain: bool| {
        format!(
            r#"
[organisation]
sender = "reports@northwind.example"

[delivery]
mode = "smtp"
host = "127.0.0.1"
port = {}
tls = "none"

[recipients]
external_approval_required = false

[recipients.channels]
external_partner = ["email_notice"]
external_auditor = []

[[recipients.domains]]
domain = "northwind.example"
classification = "internal"

[[recipients.domains]]
domain = "{}"
classification = "external_partner"

[[recipients.domains]]
domain = "audit.example"
classification = "external_auditor"

[roles.cso]
permissions = ["send_internal", "send_external"]
{}
"#,
            server.port,
            if partner_domain { "partner.example" } else { "other.example" },
            support::principal("cso-office", &support::keys().cso, &["cso"]) + &support::packages_section()
        )
    };
    let cfg = Config::from_toml(&text(true)).unwrap();
    // A classification allowed no channel is refused before anything is queued.
    let refused = plan(&cfg, &support::cso(&cfg), &request(&f, &["lead@audit.example"]), &f.digest, 1000).unwrap_err();
    assert!(
        refused.problems[0].contains("external_auditor recipients may not receive email_attachment or email_notice")
    );

    let mut store = SqliteOutbox::open(&f.dir.path().join("outbox.db")).unwrap();
    let p = plan(
        &cfg,
        &support::cso(&cfg),
        &request(&f, &["cso@northwind.example", "ops@partner.example"]),
        &f.digest,
        1000,
    )
    .unwrap();
    store.enqueue_plan(&p).unwrap();
    run_once(&cfg, &mut store, &Smtp::from_config(&cfg).unwrap(), None, 1000, "2026-11-01T12:00:00Z").unwrap();
    let got = received(&server.out);
    assert_eq!(got.len(), 2);
    for (rcpt, eml) in &got {
        let text = plain_part(eml);
        if rcpt.ends_with("@partner.example") {
            assert!(!String::from_utf8_lossy(eml).contains("application/zip"), "a partner gets no attachment");
            assert!(text.contains("is not attached") && text.contains(&f.digest), "{text}");
        } else {
            assert_eq!(attachment_digest(eml), f.digest, "internal recipients get the package");
        }
    }

    // The policy is checked again at send time: a recipient no longer allowed is not sent to.
    let p = plan(&cfg, &support::cso(&cfg), &request(&f, &["ops2@partner.example"]), &f.digest, 2000).unwrap();
    store.enqueue_plan(&p).unwrap();
    let changed = Config::from_toml(&text(false)).unwrap();
    run_once(&changed, &mut store, &Smtp::from_config(&changed).unwrap(), None, 2000, "2026-11-01T12:00:00Z").unwrap();
    let job = store.jobs().unwrap().into_iter().find(|j| j.recipient == "ops2@partner.example").unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(job.last_error.unwrap().contains("no longer allowed"));
    assert_eq!(received(&server.out).len(), 2);
}

/// Two approvers are needed for external recipients in this setup.
fn two_person_config(port: u16) -> Config {
    let text = config_text(port, "tls = \"none\"")
        .replace("external_approval_required = true", "external_approval_required = true\nexternal_approvers = 2");
    Config::from_toml(&text).unwrap()
}

fn signer(cfg: &Config, key: &SigningKey) -> cavra_deliver::identity::Signer {
    cavra_deliver::identity::Signer::authenticate(cfg, key.clone()).unwrap()
}

/// Plans a send to an external auditor into a fresh outbox; returns it and the approval id.
fn external(f: &Fixture, cfg: &Config, db: &str) -> (SqliteOutbox, String) {
    let mut store = SqliteOutbox::open(&f.dir.path().join(db)).unwrap();
    let p = plan(cfg, &support::cso(cfg), &request(f, &["lead@audit.example"]), &f.digest, 1000).unwrap();
    store.enqueue_plan(&p).unwrap();
    (store, p.approval().unwrap().to_string())
}

fn flip_to_queued(f: &Fixture, db: &str) {
    let c = rusqlite::Connection::open(f.dir.path().join(db)).unwrap();
    assert_eq!(c.execute("UPDATE jobs SET state = 'queued', next_attempt = 0 WHERE state = 'blocked'", []).unwrap(), 1);
}

#[test]
fn approvals_are_signed_by_distinct_approvers_and_checked_before_every_attempt() {
    use cavra_deliver::approval::{ApprovalError, ApprovalState};
    let f = fixture();
    let server = start("scripted", &f.dir.path().join("inbox"), "");
    let cfg = two_person_config(server.port);
    let k = support::keys();
    let smtp = Smtp::from_config(&cfg).unwrap();

    // The requester cannot approve its own request, even though its role holds `approve`;
    // a principal without `approve` cannot either.
    let (mut store, id) = external(&f, &cfg, "a.db");
    let own = store.decide(&cfg, &support::cso(&cfg), &id, ApprovalState::Approved, None, 1100);
    assert!(matches!(own, Err(ApprovalError::Policy(ref m)) if m.contains("cannot decide its own")), "{own:?}");
    let clerk = store.decide(&cfg, &signer(&cfg, &k.clerk), &id, ApprovalState::Approved, None, 1100);
    assert!(matches!(clerk, Err(ApprovalError::Policy(ref m)) if m.contains("approve")), "{clerk:?}");
    // One approver of two: still pending; a blocked job flipped to queued in outbox.db is refused when sent.
    let one = store.decide(&cfg, &signer(&cfg, &k.approver), &id, ApprovalState::Approved, None, 1100).unwrap();
    assert_eq!((one.state, one.approvers, one.needed, one.changed), (ApprovalState::Pending, 1, 2, 0));
    flip_to_queued(&f, "a.db");
    run_once(&cfg, &mut store, &smtp, None, 1200, "2026-11-01T12:00:00Z").unwrap();
    let job = store.jobs().unwrap().remove(0);
    assert_eq!(job.state, JobState::Failed);
    assert!(job.last_error.as_deref().unwrap().contains("1 valid approver signature(s) of 2"), "{job:?}");
    assert!(received(&server.out).is_empty(), "nothing was sent");

    // An approval signed for another digest does not count, even stored under the right id.
    let (mut store, id) = external(&f, &cfg, "b.db");
    store.decide(&cfg, &signer(&cfg, &k.approver), &id, ApprovalState::Approved, None, 1100).unwrap();
    let forged = cavra_deliver::statement::ApprovalStatement {
        format: cavra_deliver::statement::APPROVAL_FORMAT.into(),
        approval_id: id.clone(),
        package_digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000".into(),
        recipient_set_digest: cavra_deliver::statement::recipient_set_digest(&["lead@audit.example".to_string()]),
        decision: ApprovalState::Approved,
        expires_at: i64::MAX,
        approver_key_id: k.approver2.key_id(),
        decided_at: 1100,
        reason: None,
    };
    let signed = cavra_deliver::statement::SignedStatement::sign(
        &k.approver2,
        cavra_deliver::statement::APPROVAL_FORMAT,
        &forged,
    )
    .unwrap();
    let c = rusqlite::Connection::open(f.dir.path().join("b.db")).unwrap();
    c.execute(
        "INSERT INTO approval_statements VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![id, k.approver2.key_id(), signed.body, signed.signature],
    )
    .unwrap();
    flip_to_queued(&f, "b.db");
    run_once(&cfg, &mut store, &smtp, None, 1200, "2026-11-01T12:00:00Z").unwrap();
    assert_eq!(store.jobs().unwrap()[0].state, JobState::Failed, "an approval of another digest released the job");
    assert!(received(&server.out).is_empty());

    // Two distinct approvers: the job is queued and sent; a second run sends nothing more.
    let (mut store, id) = external(&f, &cfg, "c.db");
    store.decide(&cfg, &signer(&cfg, &k.approver), &id, ApprovalState::Approved, None, 1100).unwrap();
    let two = store.decide(&cfg, &signer(&cfg, &k.approver2), &id, ApprovalState::Approved, None, 1101).unwrap();
    assert_eq!((two.state, two.approvers, two.changed), (ApprovalState::Approved, 2, 1));
    let s = run_once(&cfg, &mut store, &smtp, None, 1200, "2026-11-01T12:00:00Z").unwrap();
    assert_eq!(s.sent, 1, "{:?}", store.jobs().unwrap());
    assert_eq!(received(&server.out).len(), 1);
    // Both signed decisions check out offline with the approvers' public keys.
    let c = rusqlite::Connection::open(f.dir.path().join("c.db")).unwrap();
    let mut st = c.prepare("SELECT approver_key_id, body, signature FROM approval_statements").unwrap();
    let rows: Vec<(String, String, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    for (key_id, body, sig) in rows {
        let (_, key) = cfg.principal_key(&key_id).unwrap();
        assert!(key.verify(body.as_bytes(), &sig).is_ok());
    }
}

#[test]
fn an_attachment_swapped_in_outbox_db_is_not_sent() {
    let f = fixture();
    let server = start("scripted", &f.dir.path().join("inbox"), "");
    let cfg = config(server.port);
    let mut store = SqliteOutbox::open(&f.dir.path().join("outbox.db")).unwrap();
    let p = plan(&cfg, &support::cso(&cfg), &request(&f, &["cso@northwind.example"]), &f.digest, 1000).unwrap();
    store.enqueue_plan(&p).unwrap();
    // Another genuine package, signed by the same key: still not the one requested.
    let (other, _) = support::write_package(f.dir.path());
    let c = rusqlite::Connection::open(f.dir.path().join("outbox.db")).unwrap();
    c.execute("UPDATE jobs SET attachment = ?1", [other.display().to_string()]).unwrap();
    run_once(&cfg, &mut store, &Smtp::from_config(&cfg).unwrap(), None, 1000, "2026-11-01T12:00:00Z").unwrap();
    let job = store.jobs().unwrap().remove(0);
    assert_eq!(job.state, JobState::Failed);
    assert!(job.last_error.as_deref().unwrap().contains("changed since it was queued"), "{job:?}");
    // The digest column edited to match the swapped file: the requester's signature no longer covers it.
    let c = rusqlite::Connection::open(f.dir.path().join("outbox.db")).unwrap();
    let digest = cavra_package::manifest::sha256_tagged(support::package_bytes());
    c.execute("UPDATE jobs SET state = 'queued', digest = ?1", [digest]).unwrap();
    run_once(&cfg, &mut store, &Smtp::from_config(&cfg).unwrap(), None, 1000, "2026-11-01T12:00:00Z").unwrap();
    let job = store.jobs().unwrap().remove(0);
    assert!(job.last_error.as_deref().unwrap().contains("not the one the requester signed"), "{job:?}");
    assert!(received(&server.out).is_empty());
}
