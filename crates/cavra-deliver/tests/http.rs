//! SendGrid, Amazon SES and webhook transports against loopback HTTP servers started by
//! the tests: well-formed, signed requests; 429 with Retry-After and 500
//! storms behave as specified; the webhook signature verifies on the
//! receiving side.

mod support;

use std::path::{Path, PathBuf};

use base64::Engine;
use cavra_deliver::config::Config;
use cavra_deliver::http::{webhook_signature, SendGrid, SendGridWith, Webhook};
use cavra_deliver::outbox::{JobState, OutboxStore, SqliteOutbox};
use cavra_deliver::send::{plan, run_once, SendRequest};
use cavra_deliver::ses::Ses;
use sha2::Digest;
use support::Server;

fn start(out: &Path, script: &str, secret: Option<&str>) -> Server {
    let out_arg = out.display().to_string();
    let mut args = vec![out_arg.as_str(), script];
    if let Some(s) = secret {
        args.push(s);
    }
    support::start("http_sink.py", &args, out)
}

fn requests(out: &Path) -> Vec<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()).collect()
}

const SECRET: &str = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=";

fn config(mode: &str, port: u16, extra: &str) -> Config {
    Config::from_toml(&format!(
        r#"
[organisation]
sender = "reports@northwind.example"

[delivery]
mode = "{mode}"
endpoint = "http://127.0.0.1:{port}/hook"
{extra}

[[recipients.domains]]
domain = "northwind.example"
classification = "internal"

[roles.cso]
permissions = ["send_internal"]
{principals}

[retry]
max_attempts = 4
backoff_seconds = 10
max_backoff_seconds = 60
window_hours = 1
"#,
        principals = support::principal("cso-office", &support::keys().cso, &["cso"]) + &support::packages_section()
    ))
    .unwrap()
}

fn queue(dir: &Path, cfg: &Config) -> (SqliteOutbox, Vec<u8>) {
    let (package, digest) = support::write_package(dir);
    let req = SendRequest {
        recipients: vec!["cso@northwind.example".into()],
        attachment: package,
        subject: "Reports".into(),
    };
    let mut store = SqliteOutbox::open(&dir.join("outbox.db")).unwrap();
    store.enqueue_plan(&plan(cfg, &support::cso(cfg), &req, &digest, 1000).unwrap()).unwrap();
    (store, support::package_bytes().to_vec())
}

/// Runs passes, jumping to each job's next attempt; returns the instants of the passes.
fn drain(cfg: &Config, store: &mut SqliteOutbox, t: &dyn cavra_deliver::send::Transport) -> Vec<i64> {
    let mut now = 1000;
    let mut passes = Vec::new();
    for _ in 0..10 {
        passes.push(now);
        run_once(cfg, store, t, None, now, "2026-11-01T00:00:00Z").unwrap();
        let next =
            store.jobs().unwrap().iter().filter(|j| j.state == JobState::RetryScheduled).map(|j| j.next_attempt).min();
        match next {
            Some(n) => now = n.max(now),
            None => break,
        }
    }
    passes
}

#[test]
fn webhooks_are_signed_and_429_retry_after_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("in"), "429:7", Some(SECRET));
    std::env::set_var("CAVRA_TEST_WEBHOOK_SECRET", SECRET);
    let cfg = config("webhook", server.port, "webhook_secret = \"env:CAVRA_TEST_WEBHOOK_SECRET\"");
    let (mut store, _) = queue(dir.path(), &cfg);
    let passes = drain(&cfg, &mut store, &Webhook::from_config(&cfg).unwrap());
    assert_eq!(passes, vec![1000, 1007], "the second attempt waits exactly the Retry-After");
    let job = &store.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::Sent);
    let reqs = requests(&server.out);
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r["signature"], "sig_ok", "the receiver verifies the signature: {r}");
        let body: serde_json::Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["digest"], job.digest);
        assert!(!r["body"].as_str().unwrap().contains('@') || body["message_id"].as_str().unwrap().contains('@'));
    }
    // our signer agrees with an independent one (the Python receiver) and with itself
    let key = base64::engine::general_purpose::STANDARD.decode(&SECRET[6..]).unwrap();
    assert!(webhook_signature(&key, "id", 1, b"{}").starts_with("v1,"));
}

#[test]
fn a_hostile_retry_after_is_capped_at_the_retry_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("in"), "429:9223372036854775807", Some(SECRET));
    std::env::set_var("CAVRA_TEST_WEBHOOK_SECRET3", SECRET);
    let cfg = config("webhook", server.port, "webhook_secret = \"env:CAVRA_TEST_WEBHOOK_SECRET3\"");
    let (mut store, _) = queue(dir.path(), &cfg);
    let passes = drain(&cfg, &mut store, &Webhook::from_config(&cfg).unwrap());
    assert_eq!(passes, vec![1000, 4600], "waits at most the one-hour retry window, then is sent");
    assert_eq!(store.jobs().unwrap()[0].state, JobState::Sent);
}

#[test]
fn a_500_storm_is_retried_then_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("in"), "500,503,500,502,500", Some(SECRET));
    std::env::set_var("CAVRA_TEST_WEBHOOK_SECRET2", SECRET);
    let cfg = config("webhook", server.port, "webhook_secret = \"env:CAVRA_TEST_WEBHOOK_SECRET2\"");
    let (mut store, _) = queue(dir.path(), &cfg);
    drain(&cfg, &mut store, &Webhook::from_config(&cfg).unwrap());
    let job = &store.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::DeadLettered, "{job:?}");
    assert_eq!(job.attempts, 4, "max_attempts");
    assert_eq!(requests(&server.out).len(), 4);
}

#[test]
fn sendgrid_requests_are_well_formed_and_4xx_is_permanent() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("in"), "500", None);
    std::env::set_var("CAVRA_TEST_SENDGRID_KEY", "SG.test-key");
    let cfg = config("sendgrid", server.port, "api_key = \"env:CAVRA_TEST_SENDGRID_KEY\"");
    let (mut store, bytes) = queue(dir.path(), &cfg);
    let t = SendGridWith { transport: SendGrid::from_config(&cfg).unwrap(), config: &cfg };
    drain(&cfg, &mut store, &t);
    assert_eq!(store.jobs().unwrap()[0].state, JobState::Sent);
    let reqs = requests(&server.out);
    assert_eq!(reqs.len(), 2, "the 500 was retried");
    let r = &reqs[1];
    assert_eq!(r["headers"]["authorization"], "Bearer SG.test-key");
    let body: serde_json::Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["personalizations"][0]["to"][0]["email"], "cso@northwind.example");
    assert_eq!(body["from"]["email"], "reports@northwind.example");
    let attached =
        base64::engine::general_purpose::STANDARD.decode(body["attachments"][0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(attached, bytes);

    // a 400 is permanent: no retry
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("in"), "400", None);
    let cfg = config("sendgrid", server.port, "api_key = \"env:CAVRA_TEST_SENDGRID_KEY\"");
    let (mut store, _) = queue(dir.path(), &cfg);
    let t = SendGridWith { transport: SendGrid::from_config(&cfg).unwrap(), config: &cfg };
    drain(&cfg, &mut store, &t);
    assert_eq!(store.jobs().unwrap()[0].state, JobState::Failed);
    assert_eq!(requests(&server.out).len(), 1);
}

const AWS_ID: &str = "AKIDEXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// One job sent through the SES transport to a receiver that checks SigV4
/// with botocore for [`AWS_ID`]/[`AWS_SECRET`]; we sign with `secret`.
struct SesRun {
    _dir: tempfile::TempDir,
    server: Server,
    store: SqliteOutbox,
    passes: Vec<i64>,
    bytes: Vec<u8>,
}

fn ses_run(script: &str, prefix: &str, secret: &str, token: Option<&str>) -> SesRun {
    let dir = tempfile::tempdir().unwrap();
    let oracle = format!("aws4:{AWS_ID}:{AWS_SECRET}:eu-west-1:ses");
    let server = start(&dir.path().join("in"), script, Some(&oracle));
    std::env::set_var(format!("{prefix}_ID"), AWS_ID);
    std::env::set_var(format!("{prefix}_SECRET"), secret);
    let mut extra = format!(
        "region = \"eu-west-1\"\naccess_key_id = \"env:{prefix}_ID\"\nsecret_access_key = \"env:{prefix}_SECRET\"\n"
    );
    if let Some(t) = token {
        std::env::set_var(format!("{prefix}_TOKEN"), t);
        extra.push_str(&format!("session_token = \"env:{prefix}_TOKEN\"\n"));
    }
    let cfg = config("ses", server.port, &extra);
    let (mut store, bytes) = queue(dir.path(), &cfg);
    let passes = drain(&cfg, &mut store, &Ses::from_config(&cfg).unwrap());
    SesRun { _dir: dir, server, store, passes, bytes }
}

#[test]
fn ses_requests_are_sigv4_signed_and_carry_the_raw_message() {
    if !support::python_module("botocore") {
        return;
    }
    // Keep the whole run (its folder) alive while reading what arrived.
    let run = ses_run("429:3,500", "CAVRA_TEST_SES", AWS_SECRET, None);
    let (server, store, passes, bytes) = (&run.server, &run.store, &run.passes, &run.bytes);
    assert_eq!(&passes[..2], &[1000, 1003], "429 waits its Retry-After; then the 500 is retried");
    let job = &store.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::Sent);
    let reqs = requests(&server.out);
    assert_eq!(reqs.len(), 3);
    for (r, at) in reqs.iter().zip(passes) {
        assert_eq!(r["signature"], "sig_ok", "botocore recomputes the same SigV4 signature: {r}");
        let date = jiff::Timestamp::from_second(*at).unwrap().strftime("%Y%m%dT%H%M%SZ").to_string();
        assert_eq!(r["headers"]["x-amz-date"], date, "signed at the attempt's instant");
        let auth = r["headers"]["authorization"].as_str().unwrap();
        assert!(auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={AWS_ID}/19700101/eu-west-1/ses/aws4_request")));
        assert!(!auth.contains(AWS_SECRET));
    }
    let body: serde_json::Value = serde_json::from_str(reqs[2]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["FromEmailAddress"], "reports@northwind.example");
    assert_eq!(body["Destination"]["ToAddresses"], serde_json::json!(["cso@northwind.example"]));
    assert_eq!(body["EmailTags"], serde_json::json!([{"Name": "cavra_job", "Value": job.id}]));
    let raw =
        base64::engine::general_purpose::STANDARD.decode(body["Content"]["Raw"]["Data"].as_str().unwrap()).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.contains(&format!("Message-ID: {}", job.message_id)), "{raw}");
    assert!(
        raw.contains("Content-Type: application/zip") && raw.contains("siem_export_bundle.zip"),
        "the package is attached"
    );
    assert!(raw.replace("=\r\n", "").contains(&job.digest), "the summary names the package digest");
    assert_eq!(format!("sha256:{:x}", sha2::Sha256::digest(bytes)), job.digest);
}

#[test]
fn ses_session_tokens_are_signed_and_a_wrong_key_fails_the_receivers_check() {
    if !support::python_module("botocore") {
        return;
    }
    let with_token = ses_run("", "CAVRA_TEST_SES2", AWS_SECRET, Some("session-token-value"));
    let r = &requests(&with_token.server.out)[0];
    assert_eq!(r["signature"], "sig_ok", "{r}");
    assert_eq!(r["headers"]["x-amz-security-token"], "session-token-value");
    assert!(r["headers"]["authorization"].as_str().unwrap().contains("x-amz-security-token"));

    // The receiver's check is real: a different secret fails it.
    let wrong = ses_run("", "CAVRA_TEST_SES3", "not-the-secret", None);
    assert_eq!(requests(&wrong.server.out)[0]["signature"], "sig_bad");
}
