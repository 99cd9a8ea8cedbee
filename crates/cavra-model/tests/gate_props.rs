//! Property tests: the parser and the gate never panic, and redaction leaves
//! nothing the gate would still find.

use cavra_model::gate::{redact_text, scan_bytes, scan_text, SensitiveKind};
use cavra_model::{LoadOptions, Snapshot};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encoded_and_full_width_addresses_are_caught_and_redacted(user in "[a-z]{1,8}", host in "[a-z]{1,8}", form in 0usize..4) {
        let plain = format!("{user}@{host}.example");
        let hidden = match form {
            0 => plain.replace('@', "%40"),
            1 => plain.replace('@', "&#64;").replace('.', "&period;"),
            2 => plain.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).filter(|_| c.is_ascii_graphic()).unwrap_or(c)).collect(),
            _ => plain.replace('@', "\u{200B}@\u{00AD}"),
        };
        let text = format!("note {hidden} end");
        prop_assert!(scan_text(&text).iter().any(|d| d.kind.as_str() == "email"), "{:?}", text);
        let (clean, _) = redact_text(&text);
        prop_assert!(scan_text(&clean).is_empty(), "{:?}", clean);
    }

    #[test]
    fn scan_never_panics_and_ranges_are_in_bounds(s in "\\PC*") {
        for d in scan_text(&s) {
            prop_assert!(d.range.end <= s.len());
            prop_assert!(s.is_char_boundary(d.range.start) && s.is_char_boundary(d.range.end));
        }
    }

    #[test]
    fn redaction_is_complete(prefix in "[a-z ]{0,12}", user in "[a-z]{1,8}", host in "[a-z]{1,8}", octet in 0u8..=255) {
        let text = format!("{prefix} {user}@{host}.test and 10.{octet}.0.1 and AKIA{}", "ABCDEFGHIJKLMNOP");
        let (clean, kinds) = redact_text(&text);
        prop_assert_eq!(kinds.len(), 3);
        prop_assert!(scan_text(&clean).is_empty(), "{}", clean);
    }

    /// The gate tries some patterns only near what every match contains (a
    /// keyword stem, a digit-dot-digit, an `@`): it must still find every
    /// match a plain search over the whole text finds.
    #[test]
    fn targeted_search_finds_what_a_whole_text_search_finds(parts in proptest::collection::vec(fragment(), 1..12)) {
        let text = parts.concat();
        let found = scan_text(&text);
        for (kind, re) in plain_patterns() {
            for m in re.find_iter(&text) {
                if kind == SensitiveKind::Ipv4 && !m.as_str().split('.').all(|o| o.parse::<u8>().is_ok()) {
                    continue;
                }
                prop_assert!(
                    found.iter().any(|d| d.range.start < m.end() && m.start() < d.range.end),
                    "{kind:?} at {:?} in {text:?} not found: {found:?}", m.range()
                );
            }
        }
    }

    /// Binary bytes: every printable run is scanned, with byte offsets.
    #[test]
    fn binary_runs_are_scanned(noise in proptest::collection::vec(any::<u8>(), 0..40), user in "[a-z]{1,8}") {
        let mut bytes = vec![0xff, 0x00];
        bytes.extend(&noise);
        bytes.push(0x01);
        let at = bytes.len();
        bytes.extend(format!("{user}@example.test").as_bytes());
        bytes.extend([0x00, 0xfe]);
        let found = scan_bytes(&bytes);
        prop_assert!(found.iter().any(|d| d.kind == SensitiveKind::Email && d.range.end == at + user.len() + 13), "{found:?}");
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,200}") {
        let _ = Snapshot::from_json_str(&s, &LoadOptions::default());
    }

    #[test]
    fn parser_never_panics_on_json_shapes(v in json_value(3)) {
        let _ = Snapshot::from_json_str(&v.to_string(), &LoadOptions::default());
    }
}

fn json_value(depth: u32) -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        "[a-z_]{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(depth, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("schema_version".to_string()),
                    Just("tenant".to_string()),
                    Just("decisions".to_string()),
                    Just("sessions".to_string()),
                    "[a-z_]{1,10}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn detects_every_kind() {
    // Fake credentials assembled at test time; none is real.
    let pem = format!("-----BEGIN {} KEY-----\nMIIB\n-----END {} KEY-----", "RSA PRIVATE", "RSA PRIVATE");
    let jwt = format!(
        "eyJ{}.eyJ{}.{}",
        "hbGciOiJIUzI1NiJ9", "zdWIiOiIxMjM0NTY3ODkwIn0", "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    );
    let cases = [
        ("email", "reach me at jo.doe@corp.example.test".to_string()),
        ("ipv4", "host 192.168.10.200 down".to_string()),
        ("ipv6", "peer 2001:db8::8a2e:370:7334 seen".to_string()),
        ("ipv6", "loopback ::1 only".to_string()),
        ("signed_url", "https://b.s3.test/o?X-Amz-Signature=abc123&x=1".to_string()),
        ("signed_url", "https://x.test/f?sig=abcdef".to_string()),
        ("signed_url", "https://x.test/f?X-Goog-Signature=abcdef".to_string()),
        ("signed_url", "https://x.test/f?a=1&token=abcdef".to_string()),
        ("private_key", pem),
        ("jwt", jwt),
        ("aws_access_key", format!("key AKIA{}", "IOSFODNN7EXAMPLE")),
        ("github_token", format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8")),
        ("github_token", format!("github_pat_{}", "11ABCDEFG0123456789_abcdefghijklmnop")),
        ("slack_token", format!("xoxb-{}", "123456789012-abcdefABCDEF")),
        ("secret_assignment", "db password=hunter2".to_string()),
        ("secret_assignment", "SECRET: s3cr3t".replace(": ", ":")),
        ("secret_assignment", "api_key = abc123".to_string()),
    ];
    for (kind, text) in &cases {
        let found = scan_text(text);
        assert!(found.iter().any(|d| d.kind.as_str() == *kind), "{kind} not found in {text:?}: {found:?}");
    }
}

#[test]
fn no_false_positives_on_report_vocabulary() {
    for text in [
        "2026-11-01T12:00:00Z",
        "sha256:20fd9c6bc633633c251b59f0a852686afbdfd861caa450869d3171504936384c",
        "std::fs::write in src/lib.rs",
        "signed://evidence/dec-0000001.json",
        "archive://decisions/2026-10-31/dec-1.json",
        "secrets.credential-file-access",
        "Read of a credential file outside the approved secret store",
        "version 1.2.3 of the tool",
        "cavra.aispm.board_kpi_pack.v1",
        "[redacted:email]",
        "NIST AI RMF 1.0; ISO/IEC 42001 6.1.2",
    ] {
        assert!(scan_text(text).is_empty(), "false positive on {text:?}: {:?}", scan_text(text));
    }
}

fn plain_patterns() -> Vec<(SensitiveKind, regex::Regex)> {
    SensitiveKind::ALL.iter().filter_map(|k| k.pattern().map(|p| (*k, regex::Regex::new(p).unwrap()))).collect()
}

/// Pieces that make near-misses and matches of the anchored patterns.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("password".to_string()),
        Just("PassWd".to_string()),
        Just("x-api-key".to_string()),
        Just("aws_secret_access_key".to_string()),
        Just("refresh_token".to_string()),
        Just("my_secret".to_string()),
        Just("=".to_string()),
        Just(": ".to_string()),
        Just("\"".to_string()),
        Just(".".to_string()),
        Just("@".to_string()),
        Just("::".to_string()),
        "[0-9]{1,4}".prop_map(|s| s),
        "[a-z]{1,6}".prop_map(|s| s),
        "[ _é-]{1,2}".prop_map(|s| s),
    ]
}
