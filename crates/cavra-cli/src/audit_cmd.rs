//! `audit verify`, `audit head`, `audit close`.

use anyhow::{Context, Result};
use cavra_deliver::audit::{verify_log, AuditLog, Head};
use cavra_render::signed::PublicKey;

use crate::deliver::AuditCommand;

fn not_verified() -> anyhow::Error {
    crate::commands::Outcome::NotVerified("audit log failed verification".into()).into()
}

fn read_head(path: &std::path::Path) -> Result<Head> {
    let text = cavra_model::limits::read_text_bounded(path, cavra_model::limits::KEY_BYTES)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not an audit head (cavra.audit_head.v1)", path.display()))
}

fn open_log(log: &std::path::Path) -> Result<std::io::BufReader<std::fs::File>> {
    let file = std::fs::File::open(log).with_context(|| format!("{}: cannot read", log.display()))?;
    Ok(std::io::BufReader::new(file))
}

pub fn audit(cmd: &AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Verify { log, pubkey, closed, expect_head } => {
            let key = PublicKey::from_file(pubkey)?;
            let expect = expect_head.as_deref().map(read_head).transpose()?;
            let v = verify_log(open_log(log)?, &key, expect.as_ref());
            for p in &v.problems {
                crate::say!("FAIL  {p}");
            }
            let mut ok = v.ok();
            if *closed && !v.closed && ok {
                crate::say!(
                    "FAIL  the log does not end with its closing record (records cut from the end, or still open)"
                );
                ok = false;
            }
            crate::say!(
                "{} record(s) verified ({} event(s)), every one signed by key {}; {}",
                v.records,
                v.events,
                key.key_id(),
                if v.closed { "closed" } else { "open" }
            );
            if ok {
                Ok(())
            } else {
                Err(not_verified())
            }
        }
        AuditCommand::Head { log, pubkey } => {
            let key = PublicKey::from_file(pubkey)?;
            let v = verify_log(open_log(log)?, &key, None);
            for p in &v.problems {
                eprintln!("FAIL  {p}");
            }
            match (v.ok(), v.head) {
                (true, Some(head)) => {
                    crate::say!("{}", serde_json::to_string(&head)?);
                    Ok(())
                }
                _ => Err(not_verified()),
            }
        }
        AuditCommand::Close { log, audit_key } => {
            let key = crate::evidence::load_key(audit_key, None, "--audit-key")?;
            let seq = AuditLog::open(log, key)?.close()?;
            crate::say!("closed {} with record {seq}", log.display());
            Ok(())
        }
    }
}
