//! Notices composed at send time: the requester signs the descriptor's
//! digest, the outbox holds a reference and never the secret, the message
//! is remade from the records at each attempt, and a changed record, a
//! withdrawn notice or a sender without a notice source sends nothing.

mod support;

use std::cell::RefCell;
use std::ops::ControlFlow;

use cavra_deliver::config::Config;
use cavra_deliver::outbox::{JobState, OutboxStore, SqliteOutbox};
use cavra_deliver::send::{plan_notice, run_pass, run_pass_with, Notice, Notices, PassContext, SendFailure, Transport};

const SECRET_LINK: &str = "https://rooms.northwind.example/rooms/room-1/crl1.lnk-1.1700000000.c2VjcmV0";

fn config(mode: &str) -> Config {
    Config::from_toml(&format!(
        "[organisation]\nsender = \"reports@northwind.example\"\nlegal_footer = \"Northwind Ltd, confidential.\"\n\
         [delivery]\nmode = \"{mode}\"\nhost = \"127.0.0.1\"\nendpoint = \"http://127.0.0.1:9/hook\"\nwebhook_secret = \"env:CAVRA_TEST_NOTICE_HOOK\"\n\
         [[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
         [roles.cso]\npermissions = [\"send_internal\"]\n{}",
        support::principal("cso-office", &support::keys().cso, &["cso"]) + &support::packages_section()
    ))
    .unwrap()
}

/// A notice source whose record can change or be withdrawn.
struct Records {
    descriptor: RefCell<Vec<u8>>,
    withdrawn: RefCell<bool>,
}

impl Notices for Records {
    fn notice(&self, reference: &str, _now: i64) -> Result<Notice, SendFailure> {
        assert_eq!(reference, "test-link:lnk-1");
        if *self.withdrawn.borrow() {
            return Err(SendFailure::new(false, "lnk-1 was revoked; the invitation is not sent"));
        }
        Ok(Notice {
            descriptor: self.descriptor.borrow().clone(),
            paragraphs: vec!["You are invited.".into(), format!("Open it at {SECRET_LINK}")],
            link: Some(SECRET_LINK.into()),
        })
    }
}

#[derive(Default)]
struct Capture(RefCell<Vec<(Vec<u8>, String)>>);

impl Transport for Capture {
    fn send(&self, _: &cavra_deliver::outbox::Job, _: &str, raw: &[u8], _: i64) -> Result<(), SendFailure> {
        self.0.borrow_mut().push((raw.to_vec(), String::new()));
        Ok(())
    }
    fn send_notice(
        &self,
        _: &cavra_deliver::outbox::Job,
        _: &str,
        raw: &[u8],
        text: &str,
        _: i64,
    ) -> Result<(), SendFailure> {
        self.0.borrow_mut().push((raw.to_vec(), text.to_string()));
        Ok(())
    }
}

fn queued(dir: &std::path::Path, cfg: &Config, descriptor: &[u8]) -> SqliteOutbox {
    let mut store = SqliteOutbox::open(&dir.join("outbox.db")).unwrap();
    let p = plan_notice(
        cfg,
        &support::cso(cfg),
        "ciso@northwind.example",
        "Invitation",
        "test-link:lnk-1",
        descriptor,
        1000,
    )
    .unwrap();
    assert_eq!(p.jobs.len(), 1);
    assert_eq!(p.jobs[0].attachment, "");
    assert_eq!(p.jobs[0].notice.as_deref(), Some("test-link:lnk-1"));
    assert_eq!(p.jobs[0].digest, cavra_package::manifest::sha256_tagged(descriptor));
    store.enqueue_plan(&p).unwrap();
    store
}

fn pass(cfg: &Config, store: &mut SqliteOutbox, transport: &dyn Transport, notices: &dyn Notices) {
    let clock = || (1000, "2026-11-01T00:00:00Z".to_string());
    let context = PassContext { transport, notices, clock: &clock, lease_seconds: 300 };
    run_pass_with(cfg, store, &context, None, &mut |_, _| ControlFlow::Continue(())).unwrap();
}

#[test]
fn a_notice_is_composed_when_sent_and_its_secret_is_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("smtp");
    let mut store = queued(dir.path(), &cfg, b"{\"link\":\"lnk-1\"}");
    let records =
        Records { descriptor: RefCell::new(b"{\"link\":\"lnk-1\"}".to_vec()), withdrawn: RefCell::new(false) };
    let capture = Capture::default();
    pass(&cfg, &mut store, &capture, &records);
    let job = &store.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::Sent, "{job:?}");
    let sent = capture.0.borrow();
    let (raw, text) = &sent[0];
    assert!(text.contains(SECRET_LINK) && text.contains("Northwind Ltd, confidential."), "{text}");
    let raw = String::from_utf8_lossy(raw).replace("=\r\n", "");
    assert!(raw.contains("crl1.lnk-1.1700000000.c2VjcmV0"), "the message carries the link");
    assert!(!raw.contains("Content-Disposition: attachment"), "a notice has no attachment");
    drop(store);
    let db = std::fs::read(dir.path().join("outbox.db")).unwrap();
    assert!(!db.windows(20).any(|w| w == &b"crl1.lnk-1.170000000"[..]), "the outbox never holds the link");
}

#[test]
fn a_changed_or_withdrawn_record_or_a_sender_without_notices_sends_nothing() {
    // (a changed or withdrawn record fails for good; a sender without a source retries)
    let cfg = config("smtp");
    // the record changed since the request was signed
    let dir = tempfile::tempdir().unwrap();
    let mut store = queued(dir.path(), &cfg, b"{\"room\":\"room-1\"}");
    let records =
        Records { descriptor: RefCell::new(b"{\"room\":\"room-2\"}".to_vec()), withdrawn: RefCell::new(false) };
    let capture = Capture::default();
    pass(&cfg, &mut store, &capture, &records);
    let job = &store.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::Failed);
    assert!(job.last_error.as_deref().unwrap().contains("the notice changed since it was requested"), "{job:?}");
    // the notice was withdrawn (a revoked link)
    let dir = tempfile::tempdir().unwrap();
    let mut store = queued(dir.path(), &cfg, b"d");
    *records.descriptor.borrow_mut() = b"d".to_vec();
    *records.withdrawn.borrow_mut() = true;
    pass(&cfg, &mut store, &capture, &records);
    let job = &store.jobs().unwrap()[0];
    assert_eq!((job.state, job.attempts), (JobState::Failed, 1), "permanent: not retried");
    assert!(job.last_error.as_deref().unwrap().contains("revoked"));
    // a sender with no notice source leaves the job for one that has it
    let dir = tempfile::tempdir().unwrap();
    let mut store = queued(dir.path(), &cfg, b"d");
    let clock = || (1000, "2026-11-01T00:00:00Z".to_string());
    run_pass(&cfg, &mut store, &capture, None, &clock, 300, &mut |_, _| ControlFlow::Continue(())).unwrap();
    let job = &store.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::RetryScheduled, "{job:?}");
    assert!(job.last_error.as_deref().unwrap().contains("no source for `test-link` notices"), "{job:?}");
    assert!(capture.0.borrow().is_empty(), "nothing was sent");
}

#[test]
fn the_gate_reads_a_notice_but_its_own_link_and_webhooks_get_none() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("smtp");
    let mut store = queued(dir.path(), &cfg, b"d");
    struct Leaky;
    impl Notices for Leaky {
        fn notice(&self, _: &str, _: i64) -> Result<Notice, SendFailure> {
            Ok(Notice {
                descriptor: b"d".to_vec(),
                paragraphs: vec![format!("Open it at {SECRET_LINK}"), "Questions to alice@northwind.example".into()],
                link: Some(SECRET_LINK.into()),
            })
        }
    }
    let capture = Capture::default();
    pass(&cfg, &mut store, &capture, &Leaky);
    let job = &store.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::Failed);
    assert!(job.last_error.as_deref().unwrap().contains("the notice carries email"), "{job:?}");
    assert!(capture.0.borrow().is_empty());
    let hook = config("webhook");
    let refused = plan_notice(&hook, &support::cso(&hook), "ciso@northwind.example", "Invitation", "x:1", b"d", 1000)
        .unwrap_err();
    assert!(refused.problems[0].contains("not to a webhook"), "{refused}");
}
