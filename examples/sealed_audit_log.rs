//! A sealed audit log and a kept head: every record is signed as it is
//! written; a head kept elsewhere later shows a log that was cut.
//!
//! ```sh
//! cargo run --example sealed_audit_log
//! ```

use cavra_reports::deliver::audit::{verify_log, AuditAction, AuditEvent, AuditLog, AuditStatus};
use cavra_reports::render::signed::SigningKey;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.jsonl");
    let key = SigningKey::generate()?; // in production: `--audit-key file:PATH`
    let mut log = AuditLog::open(&path, key.clone())?;
    for (i, status) in [AuditStatus::Accepted, AuditStatus::Sent].into_iter().enumerate() {
        let event = AuditEvent::new(&format!("2027-01-15T08:0{i}:00Z"), AuditAction::Send, status)
            .digest("sha256:7a3c0000000000000000000000000000000000000000000000000000000000ff");
        log.append(&event)?;
    }
    drop(log);

    let read = || std::io::BufReader::new(std::fs::File::open(&path).expect("the log"));
    let v = verify_log(read(), &key.public_key(), None);
    println!("{} records, every one signed by {}; ok: {}", v.records, key.key_id(), v.ok());
    let head = v.head.expect("a head");
    println!("keep this head elsewhere: {}", serde_json::to_string(&head)?);

    // Someone cuts the last record: alone, the shorter log still verifies …
    let text = std::fs::read_to_string(&path)?;
    let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, cut)?;
    println!("cut log alone: ok {}", verify_log(read(), &key.public_key(), None).ok());
    // … but not against the kept head.
    let v = verify_log(read(), &key.public_key(), Some(&head));
    println!("cut log against the kept head: {}", v.problems.join("; "));
    assert!(!v.ok());
    Ok(())
}
