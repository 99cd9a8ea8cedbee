//! Bounces: RFC 3464 delivery-status notifications (files or a maildir) and
//! SendGrid / SES event JSON. A hard bounce (permanent, status 5.x.x, or a
//! provider's `bounce`/`Permanent`) suppresses the recipient for future
//! sends; a soft one (4.x.x, `deferred`, `Transient`) is recorded. Bounces
//! link back to jobs by Message-ID (or the job id a provider echoes).

use cavra_store::db::Value;

use crate::outbox::{OutboxError, SqliteOutbox};

/// Permanent or temporary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceKind {
    /// The address will not work: suppress it.
    Hard,
    /// Try again later: record only.
    Soft,
}

/// One bounced recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The recipient that bounced (lower-case).
    pub recipient: String,
    /// Hard or soft.
    pub kind: BounceKind,
    /// The status or reason given (e.g. `5.1.1`).
    pub status: String,
    /// Message-ID of the original message, when the report carries it.
    pub message_id: Option<String>,
    /// Job id, when a provider echoes it.
    pub job_id: Option<String>,
}

fn header_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let (k, v) = line.split_once(':')?;
    k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
}

/// Parses an RFC 3464 report (the whole message). Every per-recipient block
/// with `Action: failed` or `Action: delayed` becomes a bounce.
///
/// # Errors
/// When the text holds no delivery-status fields at all.
pub fn parse_dsn(text: &str) -> Result<Vec<Bounce>, String> {
    // Unfold continuation lines first.
    let mut lines: Vec<String> = Vec::new();
    for l in text.lines() {
        if (l.starts_with(' ') || l.starts_with('\t')) && !lines.is_empty() {
            if let Some(last) = lines.last_mut() {
                last.push(' ');
                last.push_str(l.trim());
            }
        } else {
            lines.push(l.to_string());
        }
    }
    let message_id = lines
        .iter()
        .filter_map(|l| header_value(l, "Message-ID").or_else(|| header_value(l, "Original-Message-ID")))
        .find(|v| v.starts_with('<'))
        .map(str::to_string);
    let mut out = Vec::new();
    let mut recipient: Option<String> = None;
    let mut action: Option<String> = None;
    let mut status: Option<String> = None;
    let mut flush = |recipient: &mut Option<String>, action: &mut Option<String>, status: &mut Option<String>| {
        if let (Some(r), Some(a)) = (recipient.take(), action.take()) {
            let st = status.take().unwrap_or_default();
            let kind = match (a.to_ascii_lowercase().as_str(), st.chars().next()) {
                ("failed", _) | (_, Some('5')) => Some(BounceKind::Hard),
                ("delayed", _) | (_, Some('4')) => Some(BounceKind::Soft),
                _ => None,
            };
            if let Some(kind) = kind {
                out.push(Bounce { recipient: r, kind, status: st, message_id: message_id.clone(), job_id: None });
            }
        }
        *status = None;
    };
    let mut seen_fields = false;
    for l in &lines {
        if l.trim().is_empty() {
            flush(&mut recipient, &mut action, &mut status);
            continue;
        }
        if let Some(v) = header_value(l, "Final-Recipient").or_else(|| header_value(l, "Original-Recipient")) {
            if recipient.is_none() || header_value(l, "Final-Recipient").is_some() {
                let addr = v.split_once(';').map_or(v, |(_, a)| a).trim().trim_matches(['<', '>']).to_ascii_lowercase();
                recipient = Some(addr);
            }
            seen_fields = true;
        } else if let Some(v) = header_value(l, "Action") {
            action = Some(v.to_string());
            seen_fields = true;
        } else if let Some(v) = header_value(l, "Status") {
            status = Some(v.split_whitespace().next().unwrap_or_default().to_string());
        }
    }
    flush(&mut recipient, &mut action, &mut status);
    if !seen_fields {
        return Err("no delivery-status fields (Final-Recipient, Action): not an RFC 3464 report".into());
    }
    Ok(out)
}

/// Parses SendGrid event webhook JSON (an array of events) or an SES bounce
/// (`notificationType: Bounce` notifications and `eventType: Bounce` event
/// publishing, bare or inside an SNS `Notification` envelope), linked by the
/// `cavra_job` tag when present and by the original Message-ID otherwise.
///
/// # Errors
/// Malformed JSON.
pub fn parse_provider_events(text: &str) -> Result<Vec<Bounce>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let mut out = Vec::new();
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    if let Some(events) = value.as_array() {
        for e in events {
            let kind = match e["event"].as_str() {
                Some("bounce") if e["type"].as_str() != Some("blocked") => BounceKind::Hard,
                Some("bounce") | Some("deferred") | Some("dropped") => BounceKind::Soft,
                _ => continue,
            };
            if let Some(r) = s(&e["email"]) {
                out.push(Bounce {
                    recipient: r.to_ascii_lowercase(),
                    kind,
                    status: s(&e["status"]).unwrap_or_else(|| e["event"].as_str().unwrap_or_default().to_string()),
                    message_id: s(&e["cavra_message_id"]),
                    job_id: s(&e["cavra_job"]),
                });
            }
        }
    } else if let Some(inner) = value["Message"].as_str().filter(|_| value["Type"] == "Notification") {
        // An SNS envelope around an SES notification.
        return parse_provider_events(inner);
    } else if value["notificationType"] == "Bounce" || value["eventType"] == "Bounce" {
        let b = &value["bounce"];
        let kind = if b["bounceType"] == "Permanent" { BounceKind::Hard } else { BounceKind::Soft };
        let message_id = value["mail"]["headers"]
            .as_array()
            .and_then(|h| h.iter().find(|x| x["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("Message-ID"))))
            .and_then(|x| s(&x["value"]));
        // The `cavra_job` message tag the SES transport sets.
        let job_id = s(&value["mail"]["tags"]["cavra_job"][0]);
        for r in b["bouncedRecipients"].as_array().into_iter().flatten() {
            if let Some(addr) = s(&r["emailAddress"]) {
                out.push(Bounce {
                    recipient: addr.to_ascii_lowercase(),
                    kind,
                    status: s(&r["status"]).unwrap_or_default(),
                    message_id: message_id.clone(),
                    job_id: job_id.clone(),
                });
            }
        }
    }
    Ok(out)
}

impl SqliteOutbox {
    /// Records bounces: hard ones suppress their recipient; each is linked
    /// to its job by Message-ID or job id when possible. Returns how many
    /// were linked to a job.
    ///
    /// # Errors
    /// Storage errors.
    pub fn record_bounces(&mut self, bounces: &[Bounce], now: i64) -> Result<usize, OutboxError> {
        self.transaction(|db| {
            let mut linked = 0;
            for b in bounces {
                let found = match (&b.job_id, &b.message_id) {
                    (Some(id), _) => db.query("SELECT id FROM jobs WHERE id = ?1", &[id.into()])?,
                    (None, Some(mid)) => {
                        db.query("SELECT id FROM jobs WHERE message_id = ?1 ORDER BY id LIMIT 1", &[mid.into()])?
                    }
                    (None, None) => Vec::new(),
                };
                let job = found.first().map(|r| r.text(0)).transpose()?;
                linked += usize::from(job.is_some());
                let kind = match b.kind {
                    BounceKind::Hard => "hard",
                    BounceKind::Soft => "soft",
                };
                db.exec(
                    "INSERT INTO bounces (recipient, kind, status, job_id, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    &[
                        (&b.recipient).into(),
                        kind.into(),
                        (&b.status).into(),
                        Value::text_opt(job.as_deref()),
                        now.into(),
                    ],
                )?;
                if b.kind == BounceKind::Hard {
                    db.exec(
                        "INSERT INTO suppressions (recipient, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        &[(&b.recipient).into(), now.into()],
                    )?;
                    if let Some(id) = &job {
                        db.exec(
                            "UPDATE jobs SET last_error = ?2 WHERE id = ?1",
                            &[id.into(), format!("bounced: {}", b.status).as_str().into()],
                        )?;
                    }
                }
            }
            Ok(linked)
        })
    }

    /// Whether a hard bounce suppressed `recipient`.
    ///
    /// # Errors
    /// Storage errors.
    pub fn is_suppressed(&mut self, recipient: &str) -> Result<bool, OutboxError> {
        self.with(|db| {
            let rows = db.query(
                "SELECT COUNT(*) FROM suppressions WHERE recipient = ?1",
                &[recipient.to_ascii_lowercase().as_str().into()],
            )?;
            Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) > 0)
        })
    }
}
