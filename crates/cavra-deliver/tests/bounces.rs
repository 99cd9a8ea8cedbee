//! Bounce ingestion: RFC 3464 reports and provider events, linked to jobs
//! by Message-ID or job id; hard bounces suppress, soft ones are recorded.

use cavra_deliver::bounce::{parse_dsn, parse_provider_events, BounceKind};
use cavra_deliver::outbox::{Job, JobState, OutboxStore, SqliteOutbox};

const DSN: &str = "From: MAILER-DAEMON@mx.northwind.example\r
To: reports@northwind.example\r
Subject: Undelivered Mail Returned to Sender\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r
\r
--b1\r
Content-Type: text/plain\r
\r
Your message could not be delivered.\r
\r
--b1\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.northwind.example\r
Arrival-Date: Sun, 1 Nov 2026 12:00:00 +0000\r
\r
Final-Recipient: rfc822; gone@northwind.example\r
Original-Recipient: rfc822;gone@northwind.example\r
Action: failed\r
Status: 5.1.1\r
Diagnostic-Code: smtp; 550 5.1.1 User unknown\r
\r
Final-Recipient: rfc822; full@northwind.example\r
Action: delayed\r
Status: 4.2.2\r
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full\r
\r
--b1\r
Content-Type: text/rfc822-headers\r
\r
From: reports@northwind.example\r
Message-ID: <job-abc@northwind.example>\r
Subject: Board pack\r
\r
--b1--\r
";

fn job(id: &str, to: &str) -> Job {
    Job {
        id: id.into(),
        message_id: format!("<{id}@northwind.example>"),
        recipient: to.into(),
        subject: "s".into(),
        attachment: "a.zip".into(),
        digest: "sha256:0".into(),
        role: "cso".into(),
        state: JobState::Sent,
        attempts: 1,
        first_attempt: Some(1),
        next_attempt: 1,
        lease_until: None,
        last_error: None,
        possible_duplicate: false,
        approval: None,
    }
}

#[test]
fn rfc3464_reports_are_parsed_per_recipient() {
    let b = parse_dsn(DSN).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(
        (b[0].recipient.as_str(), b[0].kind, b[0].status.as_str()),
        ("gone@northwind.example", BounceKind::Hard, "5.1.1")
    );
    assert_eq!((b[1].recipient.as_str(), b[1].kind), ("full@northwind.example", BounceKind::Soft));
    assert_eq!(b[0].message_id.as_deref(), Some("<job-abc@northwind.example>"));
    assert!(parse_dsn("Subject: hello\r\n\r\nnot a report").is_err());
}

#[test]
fn hard_bounces_suppress_and_link_to_their_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteOutbox::open(&dir.path().join("outbox.db")).unwrap();
    store.enqueue(&[job("job-abc", "gone@northwind.example"), job("job-def", "sg@northwind.example")]).unwrap();
    let linked = store.record_bounces(&parse_dsn(DSN).unwrap(), 100).unwrap();
    assert_eq!(linked, 2, "both blocks name the original Message-ID");
    assert!(store.is_suppressed("gone@northwind.example").unwrap());
    assert!(store.is_suppressed("GONE@northwind.example").unwrap());
    assert!(!store.is_suppressed("full@northwind.example").unwrap(), "soft bounces only record");
    let jobs = store.jobs().unwrap();
    assert!(jobs.iter().any(|j| j.id == "job-abc" && j.last_error.as_deref() == Some("bounced: 5.1.1")));

    let sendgrid = r#"[{"event":"delivered","email":"ok@northwind.example"},
        {"event":"bounce","type":"bounce","status":"5.0.0","email":"sg@northwind.example","cavra_job":"job-def"},
        {"event":"deferred","email":"later@northwind.example"}]"#;
    let b = parse_provider_events(sendgrid).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(store.record_bounces(&b, 200).unwrap(), 1);
    assert!(store.is_suppressed("sg@northwind.example").unwrap());
    assert!(!store.is_suppressed("later@northwind.example").unwrap());

    let ses = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
        "bouncedRecipients":[{"emailAddress":"ses@northwind.example","status":"5.1.1"}]},
        "mail":{"headers":[{"name":"Message-ID","value":"<job-xyz@northwind.example>"}]}}"#;
    let b = parse_provider_events(ses).unwrap();
    assert_eq!((b[0].kind, b[0].message_id.as_deref()), (BounceKind::Hard, Some("<job-xyz@northwind.example>")));
    store.record_bounces(&b, 300).unwrap();
    assert!(store.is_suppressed("ses@northwind.example").unwrap());
}
