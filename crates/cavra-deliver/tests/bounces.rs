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
        notice: None,
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

    // Event publishing inside an SNS envelope, linked by the job tag.
    let event = serde_json::json!({"eventType": "Bounce",
        "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "Box@Northwind.example"}]},
        "mail": {"tags": {"cavra_job": ["job-abc"]}}});
    let sns = serde_json::json!({"Type": "Notification", "Message": event.to_string()}).to_string();
    let b = parse_provider_events(&sns).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].kind, b[0].job_id.as_deref(), b[0].recipient.as_str()),
        (BounceKind::Soft, Some("job-abc"), "box@northwind.example")
    );
    assert_eq!(store.record_bounces(&b, 400).unwrap(), 1, "linked by the cavra_job tag");
    assert!(!store.is_suppressed("box@northwind.example").unwrap(), "a transient bounce only records");
}

#[test]
fn approvals_follow_their_state_machine() {
    use cavra_deliver::approval::{Approval, ApprovalState};
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteOutbox::open(&dir.path().join("outbox.db")).unwrap();
    let approver = cavra_render::signed::SigningKey::generate().unwrap();
    let config = cavra_deliver::config::Config::from_toml(&format!(
        "[roles.cso]\npermissions = [\"approve\"]\n[principals.cso-office]\npublic_key = \"{}\"\nroles = [\"cso\"]\n",
        approver.public_key().base64()
    ))
    .unwrap();
    let cso = cavra_deliver::identity::Signer::authenticate(&config, approver).unwrap();
    let request = |id: &str, expires| Approval {
        approval_id: id.into(),
        package_digest: "sha256:1".into(),
        recipient_domains: vec!["audit.example".into()],
        recipient_count: 1,
        requested_by_role: "grc".into(),
        decision: ApprovalState::Pending,
        decided_by_role: None,
        requested_at: 0,
        decided_at: None,
        expires_at: expires,
        reason: None,
    };
    let blocked = |id: &str, approval: &str| {
        let mut j = job(id, "lead@audit.example");
        j.state = JobState::Blocked;
        j.approval = Some(approval.into());
        j
    };
    store.enqueue(&[blocked("j1", "appr-a"), blocked("j2", "appr-b"), blocked("j3", "appr-c")]).unwrap();
    for id in ["appr-a", "appr-b"] {
        store.request_approval(&request(id, 1000)).unwrap();
    }
    store.request_approval(&request("appr-c", 10)).unwrap();

    assert_eq!(
        store.decide(&config, &cso, "appr-a", ApprovalState::NeedsMoreInfo, Some("which window?"), 5).unwrap().changed,
        0
    );
    assert_eq!(store.decide(&config, &cso, "appr-a", ApprovalState::Approved, None, 6).unwrap().changed, 1);
    assert!(
        store.decide(&config, &cso, "appr-a", ApprovalState::Rejected, None, 7).is_err(),
        "approved cannot be rejected"
    );
    assert_eq!(
        store.decide(&config, &cso, "appr-a", ApprovalState::Revoked, Some("wrong pack"), 8).unwrap().changed,
        1
    );
    assert_eq!(store.decide(&config, &cso, "appr-b", ApprovalState::Rejected, None, 9).unwrap().changed, 1);
    assert!(store.decide(&config, &cso, "appr-zzz", ApprovalState::Approved, None, 9).is_err());
    // appr-c expired at 10; deciding it afterwards is refused
    assert!(store.decide(&config, &cso, "appr-c", ApprovalState::Approved, None, 20).is_err());
    let states: Vec<(String, ApprovalState)> =
        store.approvals(20).unwrap().into_iter().map(|a| (a.approval_id, a.decision)).collect();
    assert_eq!(
        states,
        vec![
            ("appr-a".to_string(), ApprovalState::Revoked),
            ("appr-b".to_string(), ApprovalState::Rejected),
            ("appr-c".to_string(), ApprovalState::Expired),
        ]
    );
    let jobs = store.jobs().unwrap();
    assert!(jobs.iter().all(|j| j.state == JobState::Failed), "{jobs:?}");
    // exported in the approval-decision vocabulary, without addresses
    let line = serde_json::to_string(&store.approvals(20).unwrap()[0]).unwrap();
    assert!(
        line.contains("\"decision\":\"revoked\"")
            && line.contains("\"decided_by_role\":\"cso-office\"")
            && !line.contains('@')
    );
}
