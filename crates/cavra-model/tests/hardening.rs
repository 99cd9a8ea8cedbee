//! The gate and the reader against evasion and hostile input: encoded,
//! split and full-width forms of every shape, the shapes added for common
//! credentials, bidi and control characters, forbidden field names in any
//! spelling, over-long fields and lines, malformed timestamps, endless files.

use cavra_model::gate::{redact_text, scan_text};
use cavra_model::{read_decisions_jsonl, LoadOptions, Snapshot, SnapshotErrorKind};
use serde_json::{json, Value};

mod common;
use common::base;

fn kinds(text: &str) -> Vec<&'static str> {
    scan_text(text).iter().map(|d| d.kind.as_str()).collect()
}

fn assert_found(kind: &str, text: &str) {
    assert!(kinds(text).contains(&kind), "{kind} not found in {text:?}: {:?}", kinds(text));
}

#[test]
fn the_added_shapes_are_found() {
    // Fake credentials assembled at test time; none is real.
    let cases = [
        ("bearer_token", format!("Authorization: Bearer {}", "eyJhbGciOi.abc.def-ghijk123")),
        ("bearer_token", format!("sent bearer {}", "0a1b2c3d4e5f6a7b8c9d0e1f2a3b")),
        ("secret_assignment", r#"{"password": "hunter2-Secret"}"#.to_string()),
        ("secret_assignment", format!("aws_secret_access_key={}", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")),
        ("email", "write to jürgen@bücher.de".to_string()),
        ("email", r#"write to "john doe"@example.org"#.to_string()),
        ("stripe_key", format!("sk_{}_{}", "live", "4eC39HqLyjWDarjtT1zdp7dc")),
        ("stripe_key", format!("rk_{}_{}", "live", "4eC39HqLyjWDarjtT1zdp7dc")),
        ("google_api_key", format!("AIza{}", "SyD-EXAMPLEexampleEXAMPLEexample1234")),
        ("openai_key", format!("sk-proj-{}", "abcdefghijklmnopqrstuvwxyz012345")),
        ("openai_key", format!("sk-{}", "abcdefghijklmnopqrstuvwxyzABCDEF01234567")),
        ("slack_token", format!("https://hooks.slack.com/services/{}", "T000/B000/XXXX")),
        ("private_key", format!("pem {}", "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==")),
        ("signed_url", "https://files.example.test/report.pdf#sig=abcdef".to_string()),
    ];
    for (kind, text) in &cases {
        assert_found(kind, text);
    }
}

#[test]
fn encoded_split_and_full_width_forms_are_found() {
    for (kind, text) in [
        ("email", "ops%40example.test"),
        ("email", "ops%2540example.test"), // double-encoded
        ("email", "ops&#64;example&#46;test"),
        ("email", "ops&commat;example&period;test"),
        ("email", "ｏｐｓ＠ｅｘａｍｐｌｅ．ｔｅｓｔ"),
        ("email", "ops@exa\u{200B}mple.test"),
        ("email", "ops\u{00AD}@example.test"),
        ("secret_assignment", "pass\u{200D}word=hunter2"),
        ("secret_assignment", "ＰＡＳＳＷＯＲＤ＝ｈｕｎｔｅｒ２"),
        ("ipv4", "１０．１．２．３"),
        ("signed_url", "https://x.test/f%3Fsig%3Dabcdef"),
    ] {
        assert_found(kind, text);
        // fail closed, and redaction leaves nothing behind
        let (clean, found) = redact_text(text);
        assert!(!found.is_empty() && scan_text(&clean).is_empty(), "{text:?} → {clean:?}");
    }
}

#[test]
fn ordinary_report_text_stays_clean() {
    for text in [
        "Bearer tokens rotate every 90 days",
        "sk-learn model in ops",
        "Résumé of the quarter: 3 findings & 2 exceptions",
        "100% of sessions; 50% coverage",
        "agent codex-payments blocked a push",
    ] {
        assert!(scan_text(text).is_empty(), "false positive on {text:?}: {:?}", kinds(text));
    }
}

fn load(v: &Value) -> Result<Snapshot, cavra_model::SnapshotError> {
    Snapshot::from_json_str(&serde_json::to_string(v).unwrap(), &LoadOptions::default())
}

#[test]
fn bidi_and_control_characters_are_removed_from_input() {
    let mut v = base();
    v["decisions"][0]["reason"] = json!("allowed \u{202E}txt.exe\u{202C} \u{2066}x\u{2069}\u{7}\u{1b}[31m done\r");
    v["tenant"]["display_name"] = json!("North\u{200F}wind\u{0}");
    let s = load(&v).unwrap();
    let reason = s.decisions.get(0).unwrap().reason();
    assert_eq!(reason, "allowed txt.exe x[31m done");
    assert_eq!(s.tenant.display_name, "Northwind");
}

#[test]
fn forbidden_field_names_match_in_any_spelling() {
    for name in ["Raw_Prompt", "rawPrompt", "RAW-PROMPT", "toolOutput", "apiKey", "Model_Reasoning", "accessToken"] {
        let mut v = base();
        v["decisions"][0]["x_extensions"] = json!({ "vendor": { name: "x" } });
        let e = load(&v).unwrap_err();
        assert_eq!(e.kind, SnapshotErrorKind::ForbiddenField, "{name}: {e}");
        let mut v = base();
        v["decisions"][0][name] = json!("x");
        let e = load(&v).unwrap_err();
        assert_eq!(e.kind, SnapshotErrorKind::ForbiddenField, "{name} at the top of a decision: {e}");
    }
}

#[test]
fn an_over_long_free_text_field_is_refused_with_its_path() {
    let mut v = base();
    v["decisions"][0]["reason"] = json!("a".repeat(cavra_model::limits::FREE_TEXT_CHARS + 1));
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::InvalidValue, "{e}");
    assert!(e.to_string().contains("$.decisions[0].reason") && e.to_string().contains("65536"), "{e}");
    let mut v = base();
    v["decisions"][0]["reason"] = json!("a".repeat(cavra_model::limits::FREE_TEXT_CHARS));
    assert!(load(&v).is_ok(), "exactly at the limit is accepted");
}

#[test]
fn timestamps_must_have_the_published_form() {
    for bad in [
        "2026-10-31 00:30:00Z",
        "2026-10-31T00:30Z",
        "2026-10-31T00:30:00",
        "2026-10-31T00:30:00+0100",
        "2026-10-31T00:30:00.Z",
    ] {
        let mut v = base();
        v["decisions"][0]["timestamp"] = json!(bad);
        let e = load(&v).unwrap_err();
        assert_eq!(e.kind, SnapshotErrorKind::InvalidValue, "{bad}: {e}");
    }
    for good in ["2026-10-31T00:30:00Z", "2026-10-31t00:30:00.123z", "2026-10-31T01:30:00+01:00"] {
        let mut v = base();
        v["decisions"][0]["timestamp"] = json!(good);
        assert!(load(&v).is_ok(), "{good}");
    }
}

#[test]
fn endless_and_unterminated_inputs_fail_at_their_limit() {
    // an unterminated JSON Lines line longer than the limit
    let line = format!("{{\"decision_id\":\"{}", "x".repeat(cavra_model::limits::LINE_BYTES + 10));
    let e = read_decisions_jsonl(std::io::Cursor::new(line.into_bytes())).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::InvalidValue, "{e}");
    assert!(e.to_string().contains("longer than the limit"), "{e}");
    // /dev/zero as a decisions file: refused at the line limit, not by exhausting memory
    let e = read_decisions_jsonl(std::io::BufReader::new(std::fs::File::open("/dev/zero").unwrap())).unwrap_err();
    assert!(matches!(e.kind, SnapshotErrorKind::InvalidValue | SnapshotErrorKind::Syntax), "{e}");
    // invalid UTF-8 is invalid input, not an I/O failure
    let e = read_decisions_jsonl(std::io::Cursor::new(b"{\"decision_id\":\"\xff\"}\n".to_vec())).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::Syntax, "{e}");
    // /dev/zero as a snapshot
    let e = Snapshot::load(std::path::Path::new("/dev/zero"), None, &LoadOptions::default()).unwrap_err();
    assert_ne!(e.kind, SnapshotErrorKind::Io, "{e}");
}

#[test]
fn equal_input_strings_are_stored_once_and_a_shared_unsafe_one_is_reported_at_every_use() {
    let mut v = base();
    let first = v["decisions"][0].clone();
    let mut second = first.clone();
    second["decision_id"] = json!("d-second");
    v["decisions"] = json!([first, second]);
    let s = load(&v).unwrap();
    let (a, b) = (s.decisions.get(0).unwrap(), s.decisions.get(1).unwrap());
    assert!(cavra_model::Text::ptr_eq(a.agent_id(), b.agent_id()), "one copy of an agent id two decisions name");
    assert!(cavra_model::Text::ptr_eq(a.rule_id(), b.rule_id()));
    // The gate remembers shared texts it found clean; one that is not clean
    // is still refused at each place that holds it.
    v["decisions"][0]["reason"] = json!("mail ops@example.test");
    v["decisions"][1]["reason"] = json!("mail ops@example.test");
    let e = load(&v).unwrap_err();
    assert_eq!(e.kind, SnapshotErrorKind::Unsafe, "{e}");
    let paths: Vec<&str> = e.problems.iter().map(|p| p.json_path.as_str()).collect();
    assert!(paths.contains(&"$.decisions[0].reason") && paths.contains(&"$.decisions[1].reason"), "{paths:?}");
}
