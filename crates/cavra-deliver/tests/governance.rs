//! Recipient policy, setup-file validation, schedules across daylight-saving
//! changes and the tamper-evident audit log.

mod support;

use std::io::Cursor;

use cavra_deliver::audit::{verify_log, AuditAction, AuditEvent, AuditLog, AuditStatus, Head, RecipientSummary};
use cavra_deliver::config::{Config, Permission};
use cavra_deliver::policy::{parse_address, Classification, DomainRule, RecipientError, RecipientPolicy};
use cavra_deliver::schedule::{next_runs, Blackout, BlackoutPolicy, Cadence, RunKind, Schedule};
use cavra_model::Timestamp;
use cavra_render::signed::SigningKey;

fn policy() -> RecipientPolicy {
    RecipientPolicy {
        rules: vec![
            DomainRule::new("good.com", false, Classification::Internal).unwrap(),
            DomainRule::new("corp.example", true, Classification::Internal).unwrap(),
            DomainRule::new("audit.example", false, Classification::ExternalAuditor).unwrap(),
            DomainRule::new("bücher.de", false, Classification::ExternalPartner).unwrap(),
            DomainRule::new("leaky.corp.example", false, Classification::Blocked).unwrap(),
        ],
    }
}

#[test]
fn allowed_recipients_are_classified() {
    let p = policy();
    assert_eq!(p.classify("cso@good.com").unwrap(), Classification::Internal);
    assert_eq!(p.classify("cso@GOOD.com.").unwrap(), Classification::Internal);
    assert_eq!(p.classify("ciso@eu.corp.example").unwrap(), Classification::Internal);
    assert_eq!(p.classify("lead@audit.example").unwrap(), Classification::ExternalAuditor);
    // an IDN rule matches its punycode form and its Unicode form alike
    assert_eq!(p.classify("a@xn--bcher-kva.de").unwrap(), Classification::ExternalPartner);
    assert_eq!(p.classify("a@bücher.de").unwrap(), Classification::ExternalPartner);
    // the most specific rule wins: a blocked subdomain of an allowed one
    assert!(matches!(p.classify("x@leaky.corp.example"), Err(RecipientError::Blocked(_))));
}

#[test]
fn spoofing_forms_never_match() {
    let p = policy();
    for spoof in [
        "cso@good.com.evil.com",
        "cso@evilgood.com",
        "cso@sub.good.com",        // no subdomains for this rule
        "\"x@good.com\"@evil.com", // quoted local part
        "x@good.com@evil.com",
        "good.com <x@evil.com>", // display-name trick
        "Good Co <cso@good.com>",
        "<cso@good.com>",
        "cso@gооd.com", // Cyrillic о: a homoglyph domain
        "cso@good.com\r\nBcc: victim@evil.com",
        "cso@good.com\n",
        "cso(comment)@good.com",
        "cso@[127.0.0.1]",
        "cso@good..com",
        "@good.com",
        "cso@",
    ] {
        assert!(p.classify(spoof).is_err(), "{spoof:?} was accepted");
    }
    assert!(matches!(p.classify("cso@gооd.com"), Err(RecipientError::NotAllowed(d)) if d.starts_with("xn--")));
    assert_eq!(parse_address("a.b+tag@Good.COM").unwrap().domain, "good.com");
}

fn valid() -> String {
    VALID.to_string() + &support::packages_section()
}

const VALID: &str = r#"
[organisation]
name = "Northwind Security Office"
sender = "reports@northwind.example"
timezone = "America/New_York"

[delivery]
mode = "smtp"
host = "smtp.northwind.example"
port = 587
username = "env:SMTP_USER"
password = "file:/run/secrets/smtp"

[recipients]
roles_allowed_to_send = ["cso", "grc"]

[[recipients.domains]]
domain = "northwind.example"
subdomains = true
classification = "internal"

[[recipients.domains]]
domain = "audit.example"
classification = "external_auditor"

[recipients.groups]
board = ["chair@northwind.example", "lead@audit.example"]

[roles.cso]
permissions = ["render", "send_internal", "send_external", "approve"]

[roles.grc]
permissions = ["render", "send_internal"]

[roles.platform_security]
permissions = ["render", "send_internal"]
"#;

#[test]
fn a_valid_setup_file_loads_and_decides_permissions() {
    let c = Config::from_toml(&valid()).unwrap();
    assert!(c.allows("cso", Permission::SendExternal));
    assert!(!c.allows("grc", Permission::SendExternal));
    assert!(c.allows("grc", Permission::SendInternal));
    assert!(!c.allows("platform_security", Permission::SendInternal), "not among the roles allowed to send");
    assert!(!c.allows("intern", Permission::Render));
    assert_eq!(c.recipient_policy().unwrap().classify("lead@audit.example").unwrap(), Classification::ExternalAuditor);
}

#[test]
fn setup_files_are_validated_with_the_key_named() {
    let base = &format!("[organisation]\nsender = \"reports@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"smtp.northwind.example\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[roles.cso]\npermissions = [\"send_internal\"]\n{}", support::packages_section());
    assert!(Config::from_toml(base).is_ok());
    let schedule = |extra: &str| {
        format!("{base}\n[[schedules]]\nid = \"daily\"\ncadence = \"daily 08:00\"\npackage = \"p.zip\"\nto = [\"cso@northwind.example\"]\nrole = \"cso\"\n{extra}")
    };
    assert!(Config::from_toml(&schedule("")).is_ok());
    let key = support::keys().cso.public_key().base64();
    let cases: Vec<(String, &str, &str)> = vec![
        (base.replace("sender = \"reports@northwind.example\"\n", ""), "organisation.sender", "required"),
        (
            base.replace("[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n", ""),
            "recipients.domains",
            "at least one allowed domain",
        ),
        (
            base.replace(
                "host = \"smtp.northwind.example\"",
                "host = \"smtp.northwind.example\"\npassword = \"hunter2-Secret!\"",
            ),
            "delivery.password",
            "literal value is refused",
        ),
        (base.replace("mode = \"smtp\"", "mode = \"smtp\"\ncolour = \"blue\""), "line 6", "unknown field"),
        (base.replace("mode = \"smtp\"", "mode = \"carrier_pigeon\""), "line 5", "unknown variant"),
        (
            base.replace("host = \"smtp.northwind.example\"", "host = \"smtp.northwind.example\"\ntls = \"none\""),
            "delivery.tls",
            "loopback",
        ),
        (
            base.replace("reports@northwind.example", "Reports <reports@northwind.example>"),
            "organisation.sender",
            "not a plain address",
        ),
        (
            base.replace("[delivery]", "[schedule]\ntimezone = \"Mars/Base\"\n\n[delivery]"),
            "schedule.timezone",
            "not an IANA time zone",
        ),
        (
            base.replace("[delivery]", "[schedule]\ntimezone = \"EST5EDT\"\n\n[delivery]"),
            "schedule.timezone",
            "not an IANA time zone",
        ),
        (base.replace("host = \"smtp.northwind.example\"", "host = \"smtp.northwind.example\"\nport = 0"), "delivery.port", "port 0"),
        (schedule("\n[[schedules]]\nid = \"daily\"\ncadence = \"daily 09:00\"\npackage = \"p.zip\"\nto = []\nrole = \"cso\"\n"), "schedules[1].id", "used twice"),
        (schedule("").replace("to = [\"cso@northwind.example\"]", "to = [\"x@evil.example\"]"), "schedules[0].to[0]", "not allowed by the recipient policy"),
        (schedule("").replace("to = [\"cso@northwind.example\"]", "to = [\"group:nobody\"]"), "schedules[0].to[0]", "unknown group"),
        (schedule("").replace("daily 08:00", "cron 0 8 31 2 *"), "schedules[0]", "never fires"),
        (schedule("").replace("cadence = \"daily 08:00\"", "cadence = \"daily 08:00\"\nsubject = \"Mail ops@northwind.example\""), "schedules[0].subject", "safety gate"),
        (schedule("").replace("[[schedules.blackouts]]", "").replace("role = \"cso\"\n", "role = \"cso\"\n\n[[schedules.blackouts]]\nstart = \"2026-12-24 00:00\"\nend = \"2026-12-26T00:00\"\n"), "schedules[0]", "YYYY-MM-DDTHH:MM"),
        (
            base.replace("mode = \"smtp\"", "mode = \"webhook\"\nendpoint = \"http://hooks.northwind.example/in\"\nwebhook_secret = \"env:S\""),
            "delivery.endpoint",
            "only to a loopback address",
        ),
        (
            base.replace("mode = \"smtp\"", "mode = \"webhook\"\nendpoint = \"https://bot:hunter2@hooks.northwind.example/in\"\nwebhook_secret = \"env:S\""),
            "delivery.endpoint",
            "credentials in the URL",
        ),
        (format!("{base}\n[principals.a]\npublic_key = \"{key}\"\nroles = [\"auditor\"]\n"), "principals.a.roles", "not defined"),
        (
            format!("{base}\n[principals.a]\npublic_key = \"{key}\"\nroles = [\"cso\"]\n[principals.b]\npublic_key = \"{key}\"\nroles = [\"cso\"]\n"),
            "principals.b.public_key",
            "already principal `a`",
        ),
        (format!("{base}\n[principals.a]\npublic_key = \"RWQnotakey\"\nroles = [\"cso\"]\n"), "principals.a.public_key", "not a minisign public key"),
        (base.replace("[[recipients.domains]]", "[recipients]\nexternal_approvers = 0\n\n[[recipients.domains]]"), "recipients.external_approvers", "1 to 16"),
        (base.replace(&support::packages_section(), ""), "packages.signing_public_key", "required when delivery is enabled"),
        (
            base.replace("mode = \"smtp\"", "mode = \"webhook\"\nendpoint = \"http://127.0.0.1:9000/hook\""),
            "delivery.webhook_secret",
            "required",
        ),
        (base.replace("mode = \"smtp\"", "mode = \"ses\""), "delivery.region", "required for ses"),
        (format!("{base}\n[retry]\nmax_backoff_seconds = 9999999999\n"), "retry.max_backoff_seconds", "seven days"),
        (
            base.replace("mode = \"smtp\"", "mode = \"ses\"\nregion = \"EU West\""),
            "delivery.region",
            "not an AWS region",
        ),
        (
            base.replace("mode = \"smtp\"", "mode = \"ses\"\nregion = \"eu-west-1\"\naccess_key_id = \"env:ID\""),
            "delivery.secret_access_key",
            "required for ses",
        ),
        (
            base.replace(
                "mode = \"smtp\"",
                "mode = \"ses\"\nregion = \"eu-west-1\"\naccess_key_id = \"env:ID\"\nsecret_access_key = \"hunter2/K7MDENG\"",
            ),
            "delivery.secret_access_key",
            "literal value is refused",
        ),
        (
            base.replace(
                "mode = \"smtp\"",
                "mode = \"ses\"\nregion = \"eu-west-1\"\naccess_key_id = \"env:ID\"\nsecret_access_key = \"env:S\"\napi_key = \"env:K\"",
            ),
            "delivery.api_key",
            "not used by ses",
        ),
    ];
    for (text, key, reason) in cases {
        let e = Config::from_toml(&text).unwrap_err();
        assert_eq!(e.key, key, "{text}\n=> {e}");
        assert!(e.reason.contains(reason), "{text}\n=> {e}");
        assert!(!e.to_string().contains("hunter2"), "a refused secret was echoed: {e}");
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

#[test]
fn cron_across_the_new_york_dst_changes() {
    // 02:30 every day: on 2026-03-08 clocks spring from 02:00 to 03:00 (the
    // run moves to 03:30 EDT); on 2026-11-01 01:00–02:00 happens twice.
    let s = Schedule::new("nightly", Cadence::parse("cron 30 2 * * *").unwrap(), "America/New_York").unwrap();
    let runs = next_runs(&s, ts("2026-03-06T12:00:00Z"), 4);
    let at: Vec<String> = runs.iter().map(|r| r.at.to_string()).collect();
    assert_eq!(at, ["2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]);
    assert!(runs[1].local.starts_with("2026-03-08T03:30-04:00"), "{}", runs[1].local);

    // 01:30 on the fall-back day runs once, at its first occurrence (EDT).
    let s = Schedule::new("early", Cadence::parse("cron 30 1 * * *").unwrap(), "America/New_York").unwrap();
    let runs = next_runs(&s, ts("2026-10-31T12:00:00Z"), 3);
    let at: Vec<String> = runs.iter().map(|r| r.at.to_string()).collect();
    assert_eq!(at, ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"]);

    // 09:00 on weekdays keeps local time across the change.
    let s = Schedule::new("weekday", Cadence::parse("cron 0 9 * * mon-fri").unwrap(), "America/New_York").unwrap();
    let runs = next_runs(&s, ts("2026-10-29T00:00:00Z"), 4);
    let at: Vec<String> = runs.iter().map(|r| r.at.to_string()).collect();
    assert_eq!(at, ["2026-10-29T13:00:00Z", "2026-10-30T13:00:00Z", "2026-11-02T14:00:00Z", "2026-11-03T14:00:00Z"]);
}

#[test]
fn cadences_keys_and_purity() {
    let tz = "Europe/Berlin";
    let monthly = Schedule::new("m", Cadence::parse("monthly last 18:00").unwrap(), tz).unwrap();
    let runs = next_runs(&monthly, ts("2027-01-15T00:00:00Z"), 3);
    let at: Vec<String> = runs.iter().map(|r| r.at.to_string()).collect();
    assert_eq!(at, ["2027-01-31T17:00:00Z", "2027-02-28T17:00:00Z", "2027-03-31T16:00:00Z"]);
    let quarterly = Schedule::new("q", Cadence::parse("quarterly 1 07:00").unwrap(), tz).unwrap();
    let at: Vec<String> =
        next_runs(&quarterly, ts("2027-01-15T00:00:00Z"), 2).iter().map(|r| r.at.to_string()).collect();
    assert_eq!(at, ["2027-04-01T05:00:00Z", "2027-07-01T05:00:00Z"]);
    // pure: the same inputs, the same runs and keys; a run's key does not
    // depend on when the question is asked
    let a = next_runs(&monthly, ts("2027-01-15T00:00:00Z"), 3);
    let b = next_runs(&monthly, ts("2027-01-20T00:00:00Z"), 3);
    assert_eq!(a, next_runs(&monthly, ts("2027-01-15T00:00:00Z"), 3));
    assert_eq!(a[0].key, b[0].key);
    assert_eq!(a[0].key, "m@2027-01-31T17:00:00Z");
    for bad in
        ["cron 61 * * * *", "cron * * *", "weekly funday 08:00", "daily 25:00", "monthly 30 08:00", "cron */0 * * * *"]
    {
        assert!(Cadence::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn blackout_windows_defer_skip_or_need_approval() {
    let mut s = Schedule::new("daily", Cadence::parse("daily 08:00").unwrap(), "America/New_York").unwrap();
    let after = ts("2026-12-23T00:00:00Z");
    for (policy, expect) in [
        // the 24th to the 27th at 08:00 fall inside the window, which ends at 09:00 on the 27th
        (
            BlackoutPolicy::Defer,
            vec![
                "2026-12-23T13:00:00Z",
                "2026-12-27T14:00:00Z",
                "2026-12-27T14:00:00Z",
                "2026-12-27T14:00:00Z",
                "2026-12-27T14:00:00Z",
            ],
        ),
        (
            BlackoutPolicy::Skip,
            vec![
                "2026-12-23T13:00:00Z",
                "2026-12-28T13:00:00Z",
                "2026-12-29T13:00:00Z",
                "2026-12-30T13:00:00Z",
                "2026-12-31T13:00:00Z",
            ],
        ),
        (
            BlackoutPolicy::RequireManualApproval,
            vec![
                "2026-12-23T13:00:00Z",
                "2026-12-24T13:00:00Z",
                "2026-12-25T13:00:00Z",
                "2026-12-26T13:00:00Z",
                "2026-12-27T13:00:00Z",
            ],
        ),
    ] {
        s.blackouts = vec![Blackout::parse("2026-12-24T00:00", "2026-12-27T09:00", policy).unwrap()];
        let runs = next_runs(&s, after, 5);
        let at: Vec<String> = runs.iter().map(|r| r.at.to_string()).collect();
        assert_eq!(at, expect, "{policy:?}");
        match policy {
            BlackoutPolicy::Defer => {
                assert!(matches!(runs[1].kind, RunKind::Deferred { .. }));
                // deferred runs keep distinct keys from their planned instants
                assert_ne!(runs[1].key, runs[2].key);
            }
            BlackoutPolicy::RequireManualApproval => assert_eq!(runs[1].kind, RunKind::NeedsApproval),
            BlackoutPolicy::Skip => assert_eq!(runs[1].kind, RunKind::Normal),
        }
    }
}

fn event(i: usize) -> AuditEvent {
    let addresses = [parse_address("cso@northwind.example").unwrap(), parse_address("lead@audit.example").unwrap()];
    let status = if i.is_multiple_of(2) { AuditStatus::Sent } else { AuditStatus::RetryScheduled };
    AuditEvent::new(&format!("2026-11-01T12:{:02}:00Z", i % 60), AuditAction::Send, status)
        .recipients(RecipientSummary::of(&addresses))
        .digest(&format!("sha256:{i:064x}"))
}

fn write_log(n: usize, close: bool) -> (tempfile::TempDir, std::path::PathBuf, SigningKey) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let key = SigningKey::generate().unwrap();
    let mut log = AuditLog::open(&path, key.clone()).unwrap();
    for i in 0..n {
        log.append(&event(i)).unwrap();
    }
    if close {
        log.close().unwrap();
    }
    (dir, path, key)
}

fn check(text: &str, key: &SigningKey) -> cavra_deliver::audit::LogVerification {
    verify_log(Cursor::new(text.as_bytes()), &key.public_key(), None)
}

fn check_against(text: &str, key: &SigningKey, head: &Head) -> cavra_deliver::audit::LogVerification {
    verify_log(Cursor::new(text.as_bytes()), &key.public_key(), Some(head))
}

fn first_problem(v: &cavra_deliver::audit::LogVerification) -> &str {
    v.problems.first().map_or("", String::as_str)
}

/// A record as a forger would write it: right form, right chain, signed with
/// `key` (not the audit key) — or not signed at all.
fn forged_record(seq: u64, prev: &str, body: (&str, serde_json::Value), key: Option<&SigningKey>) -> (String, String) {
    let mut record = serde_json::json!({ "seq": seq, "prev": prev });
    record[body.0] = body.1;
    let hash = cavra_package::manifest::sha256_tagged(cavra_model::canonical::to_canonical_string(&record).as_bytes());
    let statement = cavra_deliver::audit::record_statement(seq, &hash);
    record["sig"] = serde_json::json!(match key {
        Some(k) => k.sign(Cursor::new(statement.as_bytes()), &statement).unwrap(),
        None => "untrusted comment: none\nRWQ\ntrusted comment: none\nAAAA\n".to_string(),
    });
    (cavra_model::canonical::to_canonical_string(&record), hash)
}

/// A whole log written by hand: genesis bound to `claimed`'s key id, then `n` events.
fn hand_written(n: usize, claimed: &SigningKey, signer: Option<&SigningKey>) -> String {
    let mut lines = Vec::new();
    let genesis = serde_json::json!({"format": cavra_deliver::audit::FORMAT, "key_id": claimed.key_id()});
    let (line, mut prev) = forged_record(1, cavra_deliver::audit::GENESIS, ("genesis", genesis), signer);
    lines.push(line);
    for i in 0..n {
        let value = serde_json::to_value(event(i)).unwrap();
        let (line, hash) = forged_record(i as u64 + 2, &prev, ("event", value), signer);
        lines.push(line);
        prev = hash;
    }
    lines.join("\n") + "\n"
}

#[test]
fn a_genuine_log_verifies_closes_and_holds_no_address() {
    let (_d, path, key) = write_log(7, false);
    let text = std::fs::read_to_string(&path).unwrap();
    let v = check(&text, &key);
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.events, v.records, v.closed), (7, 8, false)); // genesis + 7 events, every one signed
    assert!(!text.contains('@'), "an address reached the audit log");
    assert!(text.contains("\"domains\":[\"audit.example\",\"northwind.example\"]"));
    assert!(text.contains(&format!("\"immutable_store_ref\":\"cavra-audit:{}/3\"", key.key_id())));
    // reopening appends after verifying, then closing seals it
    let mut log = AuditLog::open(&path, key.clone()).unwrap();
    log.append(&event(7)).unwrap();
    log.close().unwrap();
    let v = check(&std::fs::read_to_string(&path).unwrap(), &key);
    assert!(v.ok() && v.closed && v.records == 10, "{:?}", v.problems);
    assert!(matches!(AuditLog::open(&path, key.clone()), Err(cavra_deliver::audit::AuditError::Closed(_))));
    // an event with an address in it is refused
    let (_d2, path2, key2) = write_log(1, false);
    let mut log = AuditLog::open(&path2, key2).unwrap();
    assert!(log.append(&event(0).detail("bounced for cso@northwind.example")).is_err());
    // another audit key is refused at the genesis
    let other = SigningKey::generate().unwrap();
    assert!(matches!(AuditLog::open(&path, other), Err(cavra_deliver::audit::AuditError::Broken { .. })));
}

#[test]
fn a_log_written_by_hand_without_the_key_is_refused_at_record_1() {
    let key = SigningKey::generate().unwrap();
    let forger = SigningKey::generate().unwrap();
    // right form and chain, genesis claiming the audit key, signed with another key
    let v = check(&hand_written(3, &key, Some(&forger)), &key);
    assert!(first_problem(&v).starts_with("record 1 (line 1)") && first_problem(&v).contains("signature"), "{v:?}");
    // or not signed at all
    let v = check(&hand_written(3, &key, None), &key);
    assert!(first_problem(&v).starts_with("record 1 (line 1)"), "{v:?}");
    // a genesis bound to the forger's key, properly signed by it: not the audit key's log
    let v = check(&hand_written(3, &forger, Some(&forger)), &key);
    assert!(first_problem(&v).contains("bound to key"), "{v:?}");
    // a log that does not start with a genesis at all
    let value = serde_json::to_value(event(0)).unwrap();
    let (line, _) = forged_record(1, cavra_deliver::audit::GENESIS, ("event", value), Some(&key));
    let v = check(&(line + "\n"), &key);
    assert!(first_problem(&v).contains("does not begin with a signed genesis"), "{v:?}");
    assert!(!check("", &key).ok(), "an empty log has no genesis");
}

#[test]
fn a_genuine_append_after_a_forged_prefix_is_refused() {
    let key = SigningKey::generate().unwrap();
    let forger = SigningKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, hand_written(2, &key, Some(&forger))).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = AuditLog::open(&path, key.clone()).unwrap_err();
    assert!(err.to_string().contains("does not verify") && err.to_string().contains("record 1"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing was signed over the forgery");
}

#[test]
fn edits_rewrites_cuts_and_reorderings_are_caught_and_named() {
    let (_d, path, key) = write_log(6, true);
    let text = std::fs::read_to_string(&path).unwrap();
    let owned: Vec<String> = text.lines().map(str::to_string).collect();
    let join = |l: &[String]| l.join("\n") + "\n";
    let last = owned.len(); // genesis + 6 events + close = 8

    // the last event edited (status flipped), everything else intact
    let mut edited = owned.clone();
    edited[last - 2] = edited[last - 2].replace("\"retry_scheduled\"", "\"sent\"");
    assert_ne!(edited, owned);
    let v = check(&join(&edited), &key);
    assert!(first_problem(&v).starts_with(&format!("record {} ", last - 1)), "{v:?}");

    // a re-chained rewrite: record 3 changed and every later hash recomputed, signatures kept or re-made with another key
    let forger = SigningKey::generate().unwrap();
    let mut rechained: Vec<String> = owned[..2].to_vec();
    let mut prev = {
        let r: serde_json::Value = serde_json::from_str(&owned[1]).unwrap();
        let mut r = r;
        r.as_object_mut().unwrap().remove("sig");
        cavra_package::manifest::sha256_tagged(cavra_model::canonical::to_canonical_string(&r).as_bytes())
    };
    for (i, line) in owned.iter().enumerate().skip(2) {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let (kind, mut body) = r
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| !["seq", "prev", "sig"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap();
        if i == 2 {
            body["status"] = serde_json::json!("failed");
        }
        let (line, hash) = forged_record(i as u64 + 1, &prev, (&kind, body), Some(&forger));
        rechained.push(line);
        prev = hash;
    }
    let v = check(&join(&rechained), &key);
    assert!(first_problem(&v).starts_with("record 3 ") && first_problem(&v).contains("signature"), "{v:?}");

    // deleted record 3
    let mut deleted = owned.clone();
    deleted.remove(2);
    assert!(first_problem(&check(&join(&deleted), &key)).starts_with("record 3 "));

    // reordered records 2 and 3
    let mut swapped = owned.clone();
    swapped.swap(1, 2);
    assert!(first_problem(&check(&join(&swapped), &key)).starts_with("record 2 "));

    // appended after the closing record
    let mut appended = owned.clone();
    appended.push(owned[1].clone());
    assert!(first_problem(&check(&join(&appended), &key)).contains("after the log was closed"));

    // cut mid-record
    let v = check(&text[..text.len() - 40], &key);
    assert!(first_problem(&v).starts_with(&format!("record {last} ")), "{v:?}");

    // the tail cut at a record boundary: every remaining record verifies, but the log is no longer closed …
    let cut = join(&owned[..last - 3]);
    let v = check(&cut, &key);
    assert!(v.ok() && !v.closed, "{v:?}");
    // … and a head kept earlier shows the cut
    let head = check(&text, &key).head.unwrap();
    let v = check_against(&cut, &key, &head);
    assert!(first_problem(&v).contains("records were cut from the end"), "{v:?}");
    assert!(check_against(&text, &key, &head).ok());

    // a kept head from before a rewrite of earlier records: the log diverges from it
    let (_d2, path2, key2) = write_log(3, false);
    let original = std::fs::read_to_string(&path2).unwrap();
    let head2 = check(&original, &key2).head.unwrap();
    std::fs::remove_file(&path2).unwrap();
    let mut log = AuditLog::open(&path2, key2.clone()).unwrap(); // the operator starts over, with the key
    for i in 10..14 {
        log.append(&event(i)).unwrap();
    }
    drop(log);
    let rewritten = std::fs::read_to_string(&path2).unwrap();
    assert!(check(&rewritten, &key2).ok(), "a fresh genuine log verifies on its own");
    let v = check_against(&rewritten, &key2, &head2);
    assert!(first_problem(&v).contains("differs from the kept head at record 4"), "{v:?}");

    // signed by another key
    let other = SigningKey::generate().unwrap();
    assert!(first_problem(&check(&text, &other)).starts_with("record 1 "));

    // an oversized record is refused at its limit, naming it, without reading it whole
    let huge = format!("{}{}\n", owned[0], " ".repeat(cavra_model::limits::AUDIT_RECORD_BYTES));
    let v = check(&huge, &key);
    assert!(first_problem(&v).starts_with("record 1 (line 1): cannot read: larger than the limit"), "{v:?}");
}

#[test]
fn heads_and_statements_verify_with_the_reference_tool() {
    let (_d, path, key) = write_log(2, false);
    let head = check(&std::fs::read_to_string(&path).unwrap(), &key).head.unwrap();
    assert!(head.verify(&key.public_key()).is_ok());
    let mut forged = head.clone();
    forged.seq += 1;
    assert!(forged.verify(&key.public_key()).is_err());
    if which("minisign") {
        let dir = tempfile::tempdir().unwrap();
        let statement = dir.path().join("statement");
        std::fs::write(&statement, cavra_deliver::audit::record_statement(head.seq, &head.hash)).unwrap();
        std::fs::write(dir.path().join("statement.minisig"), &head.signature).unwrap();
        std::fs::write(dir.path().join("audit.pub"), key.public_key_file()).unwrap();
        let out = std::process::Command::new("minisign")
            .args(["-V", "-p"])
            .arg(dir.path().join("audit.pub"))
            .arg("-m")
            .arg(&statement)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // a signed approval decision checks out the same way
        let approver = SigningKey::generate().unwrap();
        let body = cavra_deliver::statement::ApprovalStatement {
            format: cavra_deliver::statement::APPROVAL_FORMAT.into(),
            approval_id: "appr-0123456789abcdef0123".into(),
            package_digest: format!("sha256:{:064x}", 7),
            recipient_set_digest: cavra_deliver::statement::recipient_set_digest(&["lead@audit.example".into()]),
            decision: cavra_deliver::approval::ApprovalState::Approved,
            expires_at: 1_900_000_000,
            approver_key_id: approver.key_id(),
            decided_at: 1_800_000_000,
            reason: Some("quarterly board pack".into()),
        };
        let signed = cavra_deliver::statement::SignedStatement::sign(
            &approver,
            cavra_deliver::statement::APPROVAL_FORMAT,
            &body,
        )
        .unwrap();
        std::fs::write(dir.path().join("approval.json"), &signed.body).unwrap();
        std::fs::write(dir.path().join("approval.json.minisig"), &signed.signature).unwrap();
        std::fs::write(dir.path().join("approver.pub"), approver.public_key_file()).unwrap();
        let out = std::process::Command::new("minisign")
            .args(["-V", "-p"])
            .arg(dir.path().join("approver.pub"))
            .arg("-m")
            .arg(dir.path().join("approval.json"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("cavra-statement cavra.approval_decision.v1 sha256:"));
    }
}

fn which(tool: &str) -> bool {
    let found = std::process::Command::new(tool).arg("-v").output().is_ok();
    assert!(found || std::env::var_os("CI").is_none(), "{tool} is required in CI; .ci/run installs it");
    found
}

#[test]
fn run_due_fires_each_scheduled_run_at_most_once() {
    use cavra_deliver::outbox::{OutboxStore, SqliteOutbox};
    use cavra_deliver::schedule::run_due;
    let dir = tempfile::tempdir().unwrap();
    let (package, _) = support::write_package(dir.path());
    let text = format!(
        r#"
[organisation]
sender = "reports@northwind.example"
timezone = "America/New_York"

[delivery]
mode = "smtp"
host = "127.0.0.1"
tls = "none"

[[recipients.domains]]
domain = "northwind.example"
classification = "internal"

[roles.cso]
permissions = ["send_internal", "schedule"]
{}
[[schedules]]
id = "daily-brief"
cadence = "daily 08:00"
package = "{}"
to = ["cso@northwind.example", "ciso@northwind.example"]
role = "cso"

[[schedules.blackouts]]
start = "2026-12-24T00:00"
end = "2026-12-26T00:00"
policy = "skip"
"#,
        support::principal("cso-office", &support::keys().cso, &["cso"]) + &support::packages_section(),
        package.display()
    );
    let config = Config::from_toml(&text).unwrap();
    let db = dir.path().join("outbox.db");
    let mut store = SqliteOutbox::open(&db).unwrap();
    let day = 86_400;
    // 2026-12-22 09:00 EST: the 08:00 run of that day is due (and the one before, within the lookback).
    let now = ts("2026-12-22T14:00:00Z");
    let fired = run_due(&config, &support::cso(&config), &mut store, now, day).unwrap();
    let keys: Vec<&str> = fired.iter().map(|f| f.run.key.as_str()).collect();
    assert_eq!(keys, ["daily-brief@2026-12-22T13:00:00Z"]);
    assert_eq!(fired[0].queued, 2);
    assert!(
        run_due(&config, &support::cso(&config), &mut store, now, day).unwrap().is_empty(),
        "run-due twice fires nothing twice"
    );
    // after a restart (a new connection), still nothing twice
    drop(store);
    let mut store = SqliteOutbox::open(&db).unwrap();
    assert!(run_due(&config, &support::cso(&config), &mut store, now, day).unwrap().is_empty());
    assert_eq!(store.jobs().unwrap().len(), 2);
    // three days on: the 23rd fires, the 24th and 25th are skipped by the blackout
    let later = ts("2026-12-26T14:00:00Z");
    let keys: Vec<String> = run_due(&config, &support::cso(&config), &mut store, later, 4 * day)
        .unwrap()
        .into_iter()
        .map(|f| f.run.key)
        .collect();
    assert_eq!(keys, ["daily-brief@2026-12-23T13:00:00Z", "daily-brief@2026-12-26T13:00:00Z"]);
    assert_eq!(store.jobs().unwrap().len(), 6);
}

#[test]
fn a_schedule_whose_recipients_change_waits_for_approval() {
    use cavra_deliver::approval::ApprovalState;
    use cavra_deliver::outbox::{JobState, OutboxStore, SqliteOutbox};
    use cavra_deliver::schedule::run_due;
    let dir = tempfile::tempdir().unwrap();
    let (package, _) = support::write_package(dir.path());
    let principals = support::principal("cso-office", &support::keys().cso, &["cso"])
        + &support::principal("approver", &support::keys().approver, &["approver"])
        + &support::packages_section();
    let setup = |to: &str| {
        Config::from_toml(&format!(
            r#"
[organisation]
sender = "reports@northwind.example"

[delivery]
mode = "smtp"
host = "127.0.0.1"
tls = "none"

[recipients]
external_approval_required = true

[[recipients.domains]]
domain = "northwind.example"
classification = "internal"

[[recipients.domains]]
domain = "audit.example"
classification = "external_auditor"

[roles.cso]
permissions = ["send_internal", "send_external", "approve", "schedule"]

[roles.approver]
permissions = ["approve"]
{principals}
[[schedules]]
id = "weekly-board"
cadence = "daily 08:00"
timezone = "UTC"
package = "{}"
to = [{to}]
role = "cso"
"#,
            package.display()
        ))
        .unwrap()
    };
    let mut store = SqliteOutbox::open(&dir.path().join("outbox.db")).unwrap();
    let hour = 3600;
    let at = |d: u32| ts(&format!("2026-12-{d:02}T09:00:00Z"));
    let states = |store: &SqliteOutbox| -> Vec<JobState> { store.jobs().unwrap().iter().map(|j| j.state).collect() };

    // First run: the set becomes the baseline; internal recipients go straight out.
    let two = setup(r#""cso@northwind.example", "ciso@northwind.example""#);
    let fired = run_due(&two, &support::cso(&two), &mut store, at(1), 2 * hour).unwrap();
    assert_eq!((fired.len(), fired[0].queued, fired[0].approval.as_deref()), (1, 2, None));
    // Same set the next day: still no approval.
    let fired = run_due(&two, &support::cso(&two), &mut store, at(2), 2 * hour).unwrap();
    assert_eq!(fired[0].approval, None);

    // A recipient added (internal, even): the run's jobs wait for an approval of that package and set.
    let three = setup(r#""cso@northwind.example", "ciso@northwind.example", "cfo@northwind.example""#);
    let fired = run_due(&three, &support::cso(&three), &mut store, at(3), 2 * hour).unwrap();
    let approval = fired[0].approval.clone().expect("a changed recipient set needs approval");
    assert_eq!(fired[0].queued, 3);
    let request = store.approvals(0).unwrap().into_iter().find(|a| a.approval_id == approval).expect("stored");
    assert_eq!((request.decision, request.recipient_count), (ApprovalState::Pending, 3));
    assert!(request.reason.unwrap().contains("recipients changed"));
    assert_eq!(states(&store).iter().filter(|s| **s == JobState::Blocked).count(), 3);
    // Until approved, every run with the new set waits — here for the same
    // approval, since the package (digest) and set are the same.
    let fired = run_due(&three, &support::cso(&three), &mut store, at(4), 2 * hour).unwrap();
    assert_eq!(fired[0].approval.as_ref(), Some(&approval));
    assert_eq!(states(&store).iter().filter(|s| **s == JobState::Blocked).count(), 6);
    // Approving releases the jobs it covers and makes the new set the baseline.
    let approver = cavra_deliver::identity::Signer::authenticate(&three, support::keys().approver.clone()).unwrap();
    store.decide(&three, &approver, &approval, ApprovalState::Approved, None, at(4).unix_seconds()).unwrap();
    assert_eq!(states(&store).iter().filter(|s| **s == JobState::Blocked).count(), 0);
    let fired = run_due(&three, &support::cso(&three), &mut store, at(5), 2 * hour).unwrap();
    assert_eq!(fired[0].approval, None, "the approved set is the new baseline");

    // External recipients on a schedule: an approval request is stored with the jobs.
    let external =
        setup(r#""cso@northwind.example", "ciso@northwind.example", "cfo@northwind.example", "lead@audit.example""#);
    let fired = run_due(&external, &support::cso(&external), &mut store, at(6), 2 * hour).unwrap();
    let id = fired[0].approval.clone().unwrap();
    assert!(store.approvals(0).unwrap().iter().any(|a| a.approval_id == id && a.decision == ApprovalState::Pending));
}
