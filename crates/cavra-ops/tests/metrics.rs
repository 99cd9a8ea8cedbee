//! The operations measures against hand-computed values, the snapshot's
//! validation and gate, and determinism.

use cavra_model::report::OpsKind;
use cavra_model::sections::{MetricStatus, Sections};
use cavra_ops::metrics::{kpis, Targets};
use cavra_ops::snapshot::*;
use cavra_ops::OpsSnapshot;
use proptest::prelude::*;

fn t(s: &str) -> cavra_model::Timestamp {
    cavra_model::Timestamp::parse(s).unwrap()
}

fn job(id: &str, state: &str, audited: bool) -> JobRecord {
    JobRecord {
        job_id: id.into(),
        transport: "smtp".into(),
        recipient_class: "internal".into(),
        recipient_domain: "northwind.example".into(),
        state: state.into(),
        attempts: 1,
        requested_at: t("2026-10-10T09:00:00Z"),
        first_attempt_at: Some(t("2026-10-10T09:00:05Z")),
        next_attempt_at: t("2026-10-10T09:00:05Z"),
        possible_duplicate: false,
        approval_id: None,
        content: "package".into(),
        audited,
    }
}

fn approval(id: &str, decision: &str, requested: &str, decided: Option<&str>, expires: &str) -> ApprovalRecord {
    ApprovalRecord {
        approval_id: id.into(),
        decision: decision.into(),
        requested_at: t(requested),
        decided_at: decided.map(t),
        expires_at: t(expires),
        recipient_count: 1,
    }
}

/// A window of October 2026 with hand-countable records.
fn hand_snapshot() -> OpsSnapshot {
    let mut s = cavra_ops::synth::generate(&cavra_ops::synth::SynthConfig {
        jobs: 0,
        approvals: 0,
        rooms: 0,
        access_events: 0,
        reports: 3,
        window_end: t("2026-11-01T00:00:00Z").unix_seconds(),
        ..Default::default()
    });
    s.jobs = vec![
        // 8 sent (7 audited), 1 failed, 1 dead-lettered, 1 retrying, 1 blocked
        job("job-01", "sent", true),
        job("job-02", "sent", true),
        job("job-03", "sent", true),
        job("job-04", "sent", true),
        job("job-05", "sent", true),
        job("job-06", "sent", true),
        job("job-07", "sent", true),
        job("job-08", "sent", false),
        job("job-09", "failed", true),
        job("job-10", "dead_lettered", true),
        job("job-11", "retry_scheduled", true),
        job("job-12", "blocked", false),
    ];
    s.approvals = vec![
        // latencies (decided − requested): appr-1 24 h 10 min = 87000 s, appr-2 1 h = 3600 s,
        // appr-3 2 h = 7200 s, appr-4 25 h = 90000 s; appr-5 pending past its expiry, appr-6 pending in time
        approval("appr-1", "approved", "2026-10-01T10:00:00Z", Some("2026-10-02T10:10:00Z"), "2026-10-04T10:00:00Z"),
        approval("appr-2", "approved", "2026-10-05T10:00:00Z", Some("2026-10-05T11:00:00Z"), "2026-10-08T10:00:00Z"),
        approval("appr-3", "rejected", "2026-10-06T10:00:00Z", Some("2026-10-06T12:00:00Z"), "2026-10-09T10:00:00Z"),
        approval("appr-4", "approved", "2026-10-07T10:00:00Z", Some("2026-10-08T11:00:00Z"), "2026-10-10T10:00:00Z"),
        approval("appr-5", "pending", "2026-10-20T10:00:00Z", None, "2026-10-23T10:00:00Z"),
        approval("appr-6", "pending", "2026-10-31T10:00:00Z", None, "2026-11-03T10:00:00Z"),
    ];
    // the window is 2026-10-02 to 2026-11-01, its middle 2026-10-17: job-01 to job-04 fall in the second half
    for j in &mut s.jobs[..4] {
        j.requested_at = t("2026-10-20T09:00:00Z");
    }
    use cavra_ops::response::ResponseEvent as E;
    let incident = |opened: &str| E::IncidentClosed {
        opened_at: t(opened),
        severity: "high".into(),
        remediation_refs: vec![],
        lessons_learned: vec![],
        follow_up_tasks: vec![],
        packet_digest: None,
        manifest_digest: None,
    };
    let renew = |until: &str| E::ExceptionRenewed { until: t(until), reason: "compensating control".into() };
    let events = [
        ("2026-10-03T00:00:00Z", "exc:EXC-1", renew("2026-12-31T00:00:00Z")),
        ("2026-10-05T00:00:00Z", "exc:EXC-3", renew("2026-12-31T00:00:00Z")),
        ("2026-10-06T00:00:00Z", "exc:EXC-3", E::ExceptionRevoked { reason: "control failed".into() }),
        ("2026-10-11T00:00:00Z", "exc:EXC-2", renew("2026-12-31T00:00:00Z")),
        ("2026-10-12T00:00:00Z", "inc:INC-A", incident("2026-09-20T00:00:00Z")),
        ("2026-10-15T00:00:00Z", "inc:INC-B", incident("2026-08-01T00:00:00Z")),
    ];
    s.response = events
        .into_iter()
        .enumerate()
        .map(|(i, (at, subject, event))| ResponseRecord {
            seq: i as u64 + 1,
            at: t(at),
            subject: subject.into(),
            actor_key_id: "5F2A9C0E1B3D4A68".into(),
            digest: format!("sha256:{:064x}", i),
            audit_seq: Some(i as u64 + 10),
            event,
        })
        .collect();
    s
}

#[test]
fn kpis_equal_hand_computed_values() {
    let s = hand_snapshot();
    let m = kpis(&s, &Targets::default());
    let get = |id: &str| m.iter().find(|x| x.metric_id == id).unwrap_or_else(|| panic!("{id}"));
    // report volume: 3 stored reports in the window
    assert_eq!(get("report_volume").value, Some(3.0));
    // success: sent 8 ÷ (8 + failed 1 + dead-lettered 1) = 0.8 → 80.00 %, below 99 %
    let r = get("delivery_success_rate");
    assert_eq!(
        (r.value, r.numerator, r.denominator, r.status),
        (Some(80.0), Some(8), Some(10), MetricStatus::Breached)
    );
    // dead letters: 1, objective 0
    assert_eq!((get("dead_letters").value, get("dead_letters").status), (Some(1.0), MetricStatus::Breached));
    // latencies sorted: 3600, 7200, 87000, 90000 (n = 4)
    // median: rank ⌈0.5 × 4⌉ = 2 → 7200 s; p90: rank ⌈0.9 × 4⌉ = ⌈3.6⌉ = 4 → 90000 s > 86400 s objective
    assert_eq!(get("approval_latency_median").value, Some(7200.0));
    let p90 = get("approval_latency_p90");
    assert_eq!((p90.value, p90.denominator, p90.status), (Some(90_000.0), Some(4), MetricStatus::Breached));
    // past deadline: appr-5 (expired 2026-10-23 ≤ 2026-11-01); appr-6 expires after the window
    assert_eq!(get("approvals_past_deadline").value, Some(1.0));
    // audit coverage: finished jobs 10 (8 sent + 1 failed + 1 dead-lettered), audited 9 (job-08 is not)
    // 9 ÷ 10 = 90.00 %, below 100 %
    let a = get("audit_coverage");
    assert_eq!(
        (a.value, a.numerator, a.denominator, a.status),
        (Some(90.0), Some(9), Some(10), MetricStatus::Breached)
    );
    // no access events: the refusal rate is not measured, not 0
    assert_eq!(get("room_refusal_rate").status, MetricStatus::NotMeasured);
    assert_eq!(get("room_refusal_rate").value, None);
    assert_eq!(get("audit_chain_breaks").value, Some(0.0));
    // exception aging: active EXC-1 (first event 2026-10-03, 29 whole days to 2026-11-01) and EXC-2
    // (2026-10-11, 21 days); EXC-3 was revoked. Sorted 21, 29: median rank ⌈0.5 × 2⌉ = 1 → 21 days
    let e = get("exception_aging");
    assert_eq!((e.value, e.denominator), (Some(21.0), Some(2)));
    // incident closure: INC-A 22 days open (≤ 30), INC-B 75 days (> 30): 1 ÷ 2 = 50.00 %, below 90 %
    let i = get("incident_closure_slo");
    assert_eq!((i.value, i.numerator, i.denominator, i.status), (Some(50.0), Some(1), Some(2), MetricStatus::Breached));
    // audit readiness trend: first half, finished job-05 to job-10 = 6, audited 5 (job-08 is not):
    // 5 ÷ 6 = 83.33 %; second half job-01 to job-04, all audited: 100 %; 100 − 83.33 = +16.67 points
    assert_eq!(get("audit_readiness_trend").value, Some(16.67));
}

#[test]
fn percentages_truncate_to_two_decimals() {
    // 2 ÷ 3 = 0.6666… → 66.66 (truncated, not rounded); 1 ÷ 8 = 12.5 exactly
    assert_eq!(cavra_ops::metrics::percent(2, 3), Some(66.66));
    assert_eq!(cavra_ops::metrics::percent(1, 8), Some(12.5));
    // no overflow on huge counts
    assert_eq!(cavra_ops::metrics::percent(u64::MAX, u64::MAX), Some(100.0));
}

#[test]
fn the_report_carries_the_measures_and_is_deterministic() {
    let s = hand_snapshot();
    let a = cavra_ops::build_ops_report(OpsKind::ReportCenterKpis, &s, &Default::default(), &Default::default());
    let b = cavra_ops::build_ops_report(OpsKind::ReportCenterKpis, &s, &Default::default(), &Default::default());
    let (ja, jb) = (
        cavra_render::render(&a, cavra_render::Format::Json).unwrap().bytes,
        cavra_render::render(&b, cavra_render::Format::Json).unwrap().bytes,
    );
    assert_eq!(ja, jb);
    let Sections::Operations(ops) = &a.sections else { panic!("operations sections") };
    assert_eq!(ops.metrics.len(), 13);
    assert_eq!(a.meta.legal_footer, cavra_ops::OPS_FOOTER);
    let md = String::from_utf8(cavra_render::render(&a, cavra_render::Format::Markdown).unwrap().bytes).unwrap();
    // breached: success rate, dead letters, p90 latency, past deadline, audit coverage, incident closure
    assert!(md.contains("6 measure(s) outside their objective"), "{md}");
}

fn text_of(s: &OpsSnapshot) -> String {
    s.to_json()
}

#[test]
fn bad_snapshots_are_refused_with_their_path() {
    let good = text_of(&hand_snapshot());
    let cases = [
        (good.replace("\"sent\"", "\"delivered\""), "jobs[0].state: unknown state `delivered`"),
        (good.replace("job-02", "job-01"), "jobs[1]: duplicate id `job-01`"),
        (
            good.replace("cavra.ops_snapshot.v1", "cavra.ops_snapshot.v9"),
            "schema_version: expected cavra.ops_snapshot.v1",
        ),
        (
            good.replacen("\"northwind.example\"", "\"cso@northwind.example\"", 1),
            "jobs[0].recipient_domain: carries email",
        ),
        (
            good.replacen("\"attempts\": 1,", "\"attempts\": 1, \"subject\": \"x\",", 1),
            "jobs[0].subject: unknown field `subject`",
        ),
        (good.replacen("\"attempts\": 1,", "\"attempts\": -1,", 1), "jobs[0].attempts: invalid value"),
        (
            good.replacen("\"window_end\": \"2026-11-01T00:00:00Z\"", "\"window_end\": \"2026-09-01T00:00:00Z\"", 1),
            "window_start: after window_end",
        ),
    ];
    for (text, want) in cases {
        let e = OpsSnapshot::from_json_str(&text).unwrap_err().to_string();
        assert!(e.starts_with(want), "want `{want}`, got `{e}`");
    }
    assert!(OpsSnapshot::from_json_str(&good).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn generated_snapshots_round_trip_and_build(seed in any::<u64>(), jobs in 0usize..200, events in 0usize..100, rooms in 0usize..4) {
        let cfg = cavra_ops::synth::SynthConfig { seed, jobs, access_events: events, rooms, ..Default::default() };
        let s = cavra_ops::synth::generate(&cfg);
        let back = OpsSnapshot::from_json_str(&s.to_json()).unwrap();
        prop_assert_eq!(&back, &s);
        for kind in OpsKind::ALL {
            let r = cavra_ops::build_ops_report(*kind, &back, &Default::default(), &Default::default());
            prop_assert!(r.check_tables().is_ok());
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in ".{0,400}") {
        let _ = OpsSnapshot::from_json_str(&text);
    }
}
