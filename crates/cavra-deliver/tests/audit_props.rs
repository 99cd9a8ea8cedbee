//! Properties of the sealed audit log: any change to a record's signed
//! content is caught at that record, and arbitrary input never verifies or
//! panics.

use std::io::Cursor;
use std::sync::OnceLock;

use cavra_deliver::audit::{verify_log, AuditAction, AuditEvent, AuditLog, AuditStatus};
use cavra_render::signed::SigningKey;
use proptest::prelude::*;

/// A genuine six-record log and its key, written once.
fn log() -> &'static (String, SigningKey) {
    static LOG: OnceLock<(String, SigningKey)> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let key = SigningKey::generate().unwrap();
        let mut log = AuditLog::open(&path, key.clone()).unwrap();
        for i in 0..4 {
            let e = AuditEvent::new(&format!("2026-11-01T12:0{i}:00Z"), AuditAction::Send, AuditStatus::Sent)
                .digest(&format!("sha256:{i:064x}"));
            log.append(&e).unwrap();
        }
        log.close().unwrap();
        (std::fs::read_to_string(&path).unwrap(), key)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_byte_changed_in_a_records_signed_content_is_caught_at_that_record(line in 0usize..6, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (text, key) = log();
        let mut lines: Vec<Vec<u8>> = text.lines().map(|l| l.as_bytes().to_vec()).collect();
        // the signed content is everything before `,"sig":` (canonical JSON puts `sig` last)
        let end = lines[line].windows(7).position(|w| w == b",\"sig\":").unwrap();
        let i = at.index(end);
        lines[line][i] ^= 1 << bit;
        let mut edited = lines.join(&b'\n');
        edited.push(b'\n');
        let v = verify_log(Cursor::new(edited), &key.public_key(), None);
        prop_assert!(!v.ok());
        let first = v.problems[0].clone();
        prop_assert!(first.starts_with(&format!("record {} ", line + 1)) || first.starts_with(&format!("record {} ", line)), "{}", first);
    }

    #[test]
    fn arbitrary_input_never_verifies_or_panics(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (_, key) = log();
        prop_assert!(!verify_log(Cursor::new(data), &key.public_key(), None).ok());
    }

    #[test]
    fn arbitrary_lines_never_verify(lines in prop::collection::vec("\\PC{0,200}", 0..8)) {
        let (_, key) = log();
        let text = lines.join("\n");
        prop_assert!(!verify_log(Cursor::new(text.into_bytes()), &key.public_key(), None).ok());
    }
}
