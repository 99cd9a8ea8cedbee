//! The response ledger against a real store: each workflow's permission
//! and state checks, the signed chain (an edited, removed or reordered
//! event stops every reader), alert evaluation's dedupe and escalation,
//! and a property test that no sequence of events panics the fold.

use cavra_deliver::config::{AlertRule, Config, EscalationStep, Signal};
use cavra_deliver::identity::Signer;
use cavra_model::Timestamp;
use cavra_ops::response::alerts::{evaluate, Action, Finding};
use cavra_ops::response::workflows::{self, Closure, NewPlan};
use cavra_ops::response::{Ledger, ResponseError, ResponseEvent, RiskLevel, RESPONSE_MIGRATIONS};
use cavra_ops::snapshot::ResponseRecord;
use cavra_render::signed::SigningKey;
use cavra_store::Store;
use proptest::prelude::*;

const T0: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    config: Config,
    responder: Signer,
    approver: Signer,
    outsider: Signer,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<SigningKey> = (0..3).map(|_| SigningKey::generate().unwrap()).collect();
    let config = Config::from_toml(&format!(
        "[roles.secops]\npermissions = [\"respond\"]\n[roles.approver]\npermissions = [\"approve\"]\n\
         [roles.reader]\npermissions = [\"render\"]\n\
         [principals.responder]\npublic_key = \"{}\"\nroles = [\"secops\"]\n\
         [principals.approver]\npublic_key = \"{}\"\nroles = [\"approver\"]\n\
         [principals.reader]\npublic_key = \"{}\"\nroles = [\"reader\"]\n",
        keys[0].public_key().base64(),
        keys[1].public_key().base64(),
        keys[2].public_key().base64()
    ))
    .unwrap();
    let mut s = keys.into_iter().map(|k| Signer::authenticate(&config, k).unwrap());
    let (responder, approver, outsider) = (s.next().unwrap(), s.next().unwrap(), s.next().unwrap());
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    Store::migrate(&url, RESPONSE_MIGRATIONS).unwrap();
    let store = Store::open(&url, &dir.path().join("blobs")).unwrap();
    World { _dir: dir, store, config, responder, approver, outsider }
}

fn finding() -> Finding {
    Finding {
        rule_id: "delivery-success".into(),
        signal: Signal::MeasureBreached,
        key: "delivery_success_rate".into(),
        observed: "Delivery success rate: 50.00%".into(),
        objective: "99.00%".into(),
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

#[test]
fn each_action_needs_its_permission_and_fits_its_state() {
    let mut w = world();
    let (c, r, a) = (&w.config, &w.responder, &w.approver);
    let alert = "alt-0000000000000001";
    let refused = workflows::raise(&mut w.store, c, &w.outsider, alert, &finding(), T0);
    assert!(matches!(refused, Err(ResponseError::Refused(_))), "{refused:?}");
    workflows::raise(&mut w.store, c, r, alert, &finding(), T0).unwrap();
    let twice = workflows::raise(&mut w.store, c, r, "alt-0000000000000002", &finding(), T0 + 1);
    assert!(matches!(twice, Err(ResponseError::State(_))), "one open alert per rule and key: {twice:?}");
    workflows::acknowledge(&mut w.store, c, r, alert, Some("taking it"), T0 + 60).unwrap();
    assert!(matches!(workflows::acknowledge(&mut w.store, c, r, alert, None, T0 + 61), Err(ResponseError::State(_))));
    let note = workflows::suppress(&mut w.store, c, r, alert, (t(T0 + 3600), "ask cso@northwind.example"), T0 + 62);
    assert!(matches!(note, Err(ResponseError::Unsafe(_))), "the gate refuses an address: {note:?}");
    let plan = NewPlan {
        tasks: vec![
            ("Fix the relay".into(), "secops".into(), t(T0 + 86_400), false),
            ("Approve the change".into(), "approver".into(), t(T0 + 86_400), true),
        ],
        ..Default::default()
    };
    let unknown = NewPlan { tasks: vec![("x".into(), "nobody".into(), t(T0 + 86_400), false)], ..Default::default() };
    assert!(matches!(workflows::plan(&mut w.store, c, r, alert, &unknown, T0 + 100), Err(ResponseError::Invalid(_))));
    let p = workflows::plan(&mut w.store, c, r, alert, &plan, T0 + 100).unwrap().statement.subject;
    assert!(matches!(workflows::resolve(&mut w.store, c, r, alert, "done", T0 + 110), Err(ResponseError::State(_))));
    workflows::task_done(&mut w.store, c, r, (&p, "T1"), Some("sha256:ab12"), T0 + 200).unwrap();
    let gated = workflows::task_done(&mut w.store, c, r, (&p, "T2"), None, T0 + 201);
    assert!(matches!(gated, Err(ResponseError::Refused(_))), "T2 needs an approver: {gated:?}");
    let closure =
        Closure { residual_risk: RiskLevel::Low, review_outcome: "held".into(), communications_status: "sent".into() };
    let early = workflows::close_plan(&mut w.store, c, a, &p, &closure, T0 + 202);
    assert!(matches!(early, Err(ResponseError::State(_))), "T2 is open: {early:?}");
    workflows::task_done(&mut w.store, c, a, (&p, "T2"), None, T0 + 203).unwrap();
    let own = workflows::close_plan(&mut w.store, c, r, &p, &closure, T0 + 204);
    assert!(matches!(own, Err(ResponseError::Refused(_))), "{own:?}");
    workflows::close_plan(&mut w.store, c, a, &p, &closure, T0 + 205).unwrap();
    workflows::resolve(&mut w.store, c, r, alert, "remediated", T0 + 206).unwrap();
    let (records, ledger) = workflows::load(&mut w.store, c).unwrap();
    assert_eq!(records.len(), 7);
    assert_eq!(ledger.plans[&p].closed_by.as_deref(), Some(a.key_id().as_str()));
    // a closed exception takes no further event; an expiry needs its date
    let renew = ResponseEvent::ExceptionRenewed { until: t(T0 + 30 * 86_400), reason: "vendor fix".into() };
    workflows::exception(&mut w.store, c, r, "EXC-1", renew, T0 + 300).unwrap();
    let expire = workflows::exception(&mut w.store, c, r, "EXC-1", ResponseEvent::ExceptionExpired {}, T0 + 301);
    assert!(matches!(expire, Err(ResponseError::State(_))), "{expire:?}");
    let close = ResponseEvent::ExceptionClosed { reason: "fixed".into() };
    workflows::exception(&mut w.store, c, r, "EXC-1", close.clone(), T0 + 302).unwrap();
    assert!(matches!(workflows::exception(&mut w.store, c, r, "EXC-1", close, T0 + 303), Err(ResponseError::State(_))));
    assert!(matches!(
        workflows::exception(&mut w.store, c, r, "EXC 1", ResponseEvent::ExceptionExpired {}, T0),
        Err(ResponseError::Invalid(_))
    ));
}

fn three_events(w: &mut World) {
    let (c, r) = (&w.config, &w.responder);
    workflows::raise(&mut w.store, c, r, "alt-0000000000000001", &finding(), T0).unwrap();
    workflows::acknowledge(&mut w.store, c, r, "alt-0000000000000001", Some("taking it"), T0 + 1).unwrap();
    workflows::resolve(&mut w.store, c, r, "alt-0000000000000001", "fixed", T0 + 2).unwrap();
}

fn tampered(w: &mut World, sql: &str) -> ResponseError {
    w.store.db().exec(sql, &[]).unwrap();
    workflows::load(&mut w.store, &w.config).unwrap_err()
}

#[test]
fn an_edited_removed_or_reordered_event_stops_every_reader() {
    let mut w = world();
    three_events(&mut w);
    let e = tampered(&mut w, "UPDATE response_events SET body = replace(body, 'taking it', 'edited') WHERE seq = 2");
    assert!(matches!(e, ResponseError::Tampered { seq: 2, .. }), "{e:?}");

    let mut w = world();
    three_events(&mut w);
    let e = tampered(&mut w, "DELETE FROM response_events WHERE seq = 2");
    assert!(matches!(e, ResponseError::Tampered { seq: 3, .. }), "a gap: {e:?}");

    let mut w = world();
    three_events(&mut w);
    w.store.db().exec("UPDATE response_events SET seq = 10 WHERE seq = 2", &[]).unwrap();
    let e = tampered(&mut w, "UPDATE response_events SET seq = 2 WHERE seq = 3");
    assert!(matches!(e, ResponseError::Tampered { seq: 2, .. }), "reordered: {e:?}");

    // an event signed by a key that is no principal any more
    let mut w = world();
    three_events(&mut w);
    let stranger = SigningKey::generate().unwrap();
    let other = Config::from_toml(&format!(
        "[roles.secops]\npermissions = [\"respond\"]\n[principals.someone]\npublic_key = \"{}\"\nroles = [\"secops\"]\n",
        stranger.public_key().base64()
    ))
    .unwrap();
    let e = workflows::load(&mut w.store, &other).unwrap_err();
    assert!(matches!(e, ResponseError::Tampered { seq: 1, .. }), "{e:?}");
}

#[test]
fn evaluation_raises_once_dedupes_routes_and_escalates_on_time() {
    let mut w = world();
    let mut s = cavra_ops::synth::generate(&Default::default());
    s.response.clear();
    let rule = AlertRule {
        id: "dead".into(),
        signal: Signal::DeadLetter,
        measure: None,
        threshold: None,
        route: vec!["group:secops".into()],
        escalate: vec![EscalationStep { after_hours: 4, route: vec!["group:ciso".into()] }],
    };
    let now = s.window_end;
    let first = evaluate(std::slice::from_ref(&rule), &s, &s.ledger(), &Default::default(), now);
    let raised: Vec<&Action> = first.iter().filter(|a| matches!(a, Action::Raise { .. })).collect();
    assert!(!raised.is_empty());
    assert_eq!(
        first,
        evaluate(std::slice::from_ref(&rule), &s, &s.ledger(), &Default::default(), now),
        "deterministic"
    );
    // record the raises and their routing in the ledger, as `alerts evaluate` does
    for a in &first {
        match a {
            Action::Raise { alert_id, finding } => {
                workflows::raise(&mut w.store, &w.config, &w.responder, alert_id, finding, now.unix_seconds()).unwrap();
            }
            Action::Route { alert_id, level, .. } => {
                workflows::routed(
                    &mut w.store,
                    &w.config,
                    &w.responder,
                    (alert_id, *level),
                    &[],
                    &empty_policy(),
                    now.unix_seconds(),
                )
                .unwrap();
            }
            other => panic!("{other:?}"),
        }
    }
    let (records, ledger) = workflows::load(&mut w.store, &w.config).unwrap();
    let s2 = cavra_ops::OpsSnapshot { response: records, ..s.clone() };
    let again = evaluate(std::slice::from_ref(&rule), &s2, &ledger, &Default::default(), now);
    assert!(again.iter().all(|a| matches!(a, Action::Deduplicated { .. })), "{again:?}");
    assert_eq!(again.len(), raised.len());
    let later = t(now.unix_seconds() + 4 * 3600);
    let escalations = evaluate(std::slice::from_ref(&rule), &s2, &ledger, &Default::default(), later);
    let up = escalations.iter().filter(|a| matches!(a, Action::Escalate { from_level: 1, to_level: 2, .. })).count();
    assert_eq!(up, raised.len(), "every unacknowledged alert escalates after 4 h: {escalations:?}");
    let almost = t(now.unix_seconds() + 4 * 3600 - 1);
    let none = evaluate(std::slice::from_ref(&rule), &s2, &ledger, &Default::default(), almost);
    assert!(!none.iter().any(|a| matches!(a, Action::Escalate { .. })), "not a second early");
}

fn empty_policy() -> cavra_deliver::policy::RecipientPolicy {
    Config::from_toml("").unwrap().recipient_policy().unwrap()
}

fn event() -> impl Strategy<Value = ResponseEvent> {
    let ts = (0i64..1000).prop_map(|d| t(T0 + d));
    prop_oneof![
        Just(ResponseEvent::AlertRaised {
            rule_id: "r".into(),
            signal: "dead_letter".into(),
            dedupe_key: "k".into(),
            observed: "o".into(),
            objective: "x".into(),
        }),
        (1u32..4).prop_map(|level| ResponseEvent::AlertRouted { level, jobs: vec![] }),
        (1u32..4, 1u32..5).prop_map(|(from_level, to_level)| ResponseEvent::AlertEscalated { from_level, to_level }),
        Just(ResponseEvent::AlertAcknowledged { note: None }),
        ts.clone().prop_map(|until| ResponseEvent::AlertSuppressed { until, reason: "r".into() }),
        Just(ResponseEvent::AlertResolved { reason: "r".into() }),
        Just(ResponseEvent::TaskDone { task_id: "T1".into(), evidence_ref: None }),
        Just(ResponseEvent::RemediationClosed {
            completed_tasks: vec!["T1".into()],
            residual_risk: RiskLevel::Low,
            review_outcome: "r".into(),
            communications_status: "c".into(),
        }),
        ts.clone().prop_map(|until| ResponseEvent::ExceptionRenewed { until, reason: "r".into() }),
        Just(ResponseEvent::ExceptionExpired {}),
        Just(ResponseEvent::ExceptionClosed { reason: "r".into() }),
        ts.prop_map(|opened_at| ResponseEvent::IncidentClosed {
            opened_at,
            severity: "high".into(),
            remediation_refs: vec!["rem-1".into()],
            lessons_learned: vec![],
            follow_up_tasks: vec![],
            packet_digest: None,
            manifest_digest: None,
        }),
    ]
}

proptest! {
    /// Any sequence of events folds or is refused with the index of the
    /// first that does not fit, never a panic; and every kind builds from
    /// the prefix that folds.
    #[test]
    fn no_sequence_of_events_panics_the_fold(
        events in proptest::collection::vec((0usize..6, 0i64..5000, event()), 0..40)
    ) {
        let subjects = ["alt-1", "alt-2", "rem-1", "inc:I-1", "exc:E-1", "exc:E-2"];
        let records: Vec<ResponseRecord> = events
            .into_iter()
            .enumerate()
            .map(|(i, (s, d, event))| ResponseRecord {
                seq: i as u64 + 1,
                at: t(T0 + d),
                subject: subjects[s].into(),
                actor_key_id: "K".into(),
                digest: format!("sha256:{i:064x}"),
                audit_seq: None,
                event,
            })
            .collect();
        let good = match Ledger::fold(&records) {
            Ok(_) => records.len(),
            Err(m) => {
                prop_assert!(m.index < records.len());
                m.index
            }
        };
        let mut s = cavra_ops::synth::generate(&cavra_ops::synth::SynthConfig { jobs: 5, approvals: 2, ..Default::default() });
        s.response = records[..good].to_vec();
        s.window_end = t(T0 + 6000);
        let text = s.to_json();
        let back = cavra_ops::OpsSnapshot::from_json_str(&text);
        prop_assert!(back.is_ok(), "{:?}", back.err());
        for r in cavra_ops::build_ops_reports(cavra_model::report::OpsKind::ALL, &s, &Default::default(), &Default::default()) {
            prop_assert!(r.check_tables().is_ok());
        }
    }
}

#[test]
fn a_failed_recorded_verification_fires_its_rule_per_package() {
    use cavra_ops::response::alerts::findings;
    use cavra_ops::snapshot::VerificationRecord;
    let mut s = cavra_ops::synth::generate(&Default::default());
    let v = |seq: u64, digest: &str, verified: bool| VerificationRecord {
        seq,
        at: s.window_end,
        package_digest: digest.into(),
        verified,
    };
    let (good, bad) = (format!("sha256:{:064x}", 1), format!("sha256:{:064x}", 2));
    let records = vec![v(1, &good, true), v(2, &bad, false), v(3, &bad, false), v(4, &good, true)];
    s.verifications = records;
    let rule = AlertRule {
        id: "tampered".into(),
        signal: Signal::PackageVerifyFailed,
        measure: None,
        threshold: None,
        route: vec!["group:secops".into()],
        escalate: vec![],
    };
    let f = findings(&[rule], &s, &Default::default());
    // two failures of one package make one finding about that package; the good one none
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].key.as_str(), f[0].observed.as_str()), (bad.as_str(), "2 failed verification(s)"));
    let text = s.to_json();
    assert!(cavra_ops::OpsSnapshot::from_json_str(&text).is_ok());
    s.verifications.swap(0, 1);
    let e = cavra_ops::OpsSnapshot::from_json_str(&s.to_json()).unwrap_err();
    assert!(e.to_string().starts_with("verifications[1].seq: not in log order"), "{e}");
}

#[test]
fn an_address_named_twice_in_a_route_gets_one_notice() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let config = Config::from_toml(&format!(
        "[organisation]\nsender = \"reports@northwind.example\"\n\
         [delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\ntls = \"none\"\n\
         [packages]\nsigning_public_key = \"{}\"\n\
         [[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
         [recipients.groups]\nsecops = [\"secops@northwind.example\", \"lead@northwind.example\"]\n\
         [roles.secops]\npermissions = [\"respond\", \"send_internal\"]\n\
         [principals.responder]\npublic_key = \"{}\"\nroles = [\"secops\"]\n",
        SigningKey::generate().unwrap().public_key().base64(),
        key.public_key().base64()
    ))
    .unwrap();
    let signer = Signer::authenticate(&config, key).unwrap();
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    Store::migrate(&url, RESPONSE_MIGRATIONS).unwrap();
    let mut store = Store::open(&url, &dir.path().join("blobs")).unwrap();
    let alert = "alt-0000000000000001";
    workflows::raise(&mut store, &config, &signer, alert, &finding(), T0).unwrap();
    let route = vec!["group:secops".to_string(), "secops@northwind.example".to_string()];
    let plan = workflows::route_plans(&mut store, &config, &signer, (alert, 1), &route, T0).unwrap();
    let mut to: Vec<&str> = plan.jobs.iter().map(|j| j.recipient.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["lead@northwind.example", "secops@northwind.example"]);
    assert!(plan.jobs.iter().all(|j| j.notice.as_deref() == Some("alert:alt-0000000000000001:1")));
}
