//! Realistic operations snapshots of any size, for tests, benchmarks and
//! the bundled sample: deterministic for a seed (a splitmix64 stream, no
//! clock, no system randomness).

use cavra_deliver::access::{
    AccessEvent, AccessOutcome, AccessType, CheckState, LinkState, LinkUse, MfaStatus, WatermarkState,
};
use cavra_model::input::DataProvenance;
use cavra_model::Timestamp;

use crate::snapshot::*;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    /// The stream's seed.
    pub seed: u64,
    /// Delivery jobs.
    pub jobs: usize,
    /// Approval requests.
    pub approvals: usize,
    /// Evidence rooms.
    pub rooms: usize,
    /// Access events.
    pub access_events: usize,
    /// Stored reports.
    pub reports: usize,
    /// Alerts, each with its routing, escalation, acknowledgement and most
    /// with a remediation plan.
    pub alerts: usize,
    /// Exceptions with lifecycle events.
    pub exceptions: usize,
    /// Unix seconds of the window's end.
    pub window_end: i64,
    /// Length of the window, seconds.
    pub window: i64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 7,
            jobs: 60,
            approvals: 12,
            rooms: 2,
            access_events: 40,
            reports: 30,
            alerts: 6,
            exceptions: 4,
            window_end: 1_793_491_200, // 2026-11-01T00:00:00Z
            window: 30 * 86_400,
        }
    }
}

use cavra_model::rng::SplitMix64 as Rng;

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len())]
}

fn id(rng: &mut Rng, prefix: &str) -> String {
    format!("{prefix}{:016x}", rng.next())
}

fn below(rng: &mut Rng, n: u64) -> u64 {
    rng.below(usize::try_from(n).unwrap_or(usize::MAX)) as u64
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Generates an operations snapshot.
///
/// ```
/// let cfg = cavra_ops::synth::SynthConfig { jobs: 500, ..Default::default() };
/// let s = cavra_ops::synth::generate(&cfg);
/// assert_eq!(s.jobs.len(), 500);
/// assert_eq!(s, cavra_ops::synth::generate(&cfg), "deterministic");
/// cavra_ops::OpsSnapshot::from_json_str(&s.to_json()).unwrap();
/// ```
pub fn generate(cfg: &SynthConfig) -> OpsSnapshot {
    let mut rng = Rng(cfg.seed);
    let start = cfg.window_end - cfg.window;
    let mut when =
        |rng: &mut Rng| start + i64::try_from(below(rng, u64::try_from(cfg.window).unwrap_or(1))).unwrap_or(0);
    let mut reports: Vec<ReportRecord> = (0..cfg.reports)
        .map(|_| ReportRecord {
            item_id: id(&mut rng, "itm-"),
            tenant_ref: pick(&mut rng, &["tenant:northwind", "tenant:contoso"]).into(),
            kind: pick(&mut rng, &["board-kpi-pack", "executive-risk-brief", "soc2-audit-summary", "package"]).into(),
            format: pick(&mut rng, &["pdf", "xlsx", "docx", "zip"]).into(),
            classification: pick(&mut rng, &["internal", "confidential"]).into(),
            created_at: at(when(&mut rng)),
            legal_hold: below(&mut rng, 20) == 0,
        })
        .collect();
    reports.sort_by(|a, b| (a.created_at, &a.item_id).cmp(&(b.created_at, &b.item_id)));
    let approvals: Vec<ApprovalRecord> = (0..cfg.approvals)
        .map(|i| {
            let requested = when(&mut rng);
            let decision =
                if i % 5 == 4 { "pending" } else { pick(&mut rng, &["approved", "approved", "approved", "rejected"]) };
            ApprovalRecord {
                approval_id: id(&mut rng, "appr-"),
                decision: decision.into(),
                requested_at: at(requested),
                decided_at: (decision != "pending").then(|| {
                    at((requested + 600 + i64::try_from(below(&mut rng, 40_000)).unwrap_or(0)).min(cfg.window_end))
                }),
                expires_at: at(requested + 72 * 3600),
                recipient_count: 1 + u32::try_from(below(&mut rng, 4)).unwrap_or(0),
            }
        })
        .collect();
    let mut jobs = jobs(cfg, &mut rng, &approvals, &mut when);
    let rooms = rooms(cfg, &mut rng, start);
    let access_events = access(cfg, &mut rng, &rooms, start);
    let response = response(cfg, &mut rng, start);
    // The alerts' notices are among the configured number of jobs.
    let notices = notice_jobs(&response);
    let k = notices.len().min(jobs.len());
    jobs.truncate(jobs.len() - k);
    jobs.extend(notices.into_iter().take(k));
    let verifications = verifications(cfg, &mut rng, start);
    OpsSnapshot {
        verifications,
        response,
        schema_version: OPS_SCHEMA_VERSION.into(),
        organisation: Organisation {
            org_ref: "org:northwind".into(),
            display_name: "Northwind Trading".into(),
            timezone: "UTC".into(),
        },
        window_start: Some(at(start)),
        window_end: at(cfg.window_end),
        data_provenance: DataProvenance::SampleData,
        reports,
        jobs,
        approvals,
        schedule_runs: (0..4)
            .map(|i| ScheduleRunRecord {
                run_key: format!("board-monthly@{}", at(start + i * 7 * 86_400)),
                state: if i == 3 { "failed".into() } else { "queued".into() },
                claimed_at: at(start + i * 7 * 86_400),
            })
            .collect(),
        bounces: Vec::new(),
        audit: AuditSummary {
            verified: true,
            records: (cfg.jobs + cfg.access_events) as u64 + 12,
            records_in_window: (cfg.jobs + cfg.access_events) as u64,
            head: Some(format!("sha256:{:016x}{:016x}{:016x}{:016x}", rng.next(), rng.next(), rng.next(), rng.next())),
        },
        rooms,
        access_events,
        store_events: Vec::new(),
    }
}

fn jobs(
    cfg: &SynthConfig,
    rng: &mut Rng,
    approvals: &[ApprovalRecord],
    when: &mut dyn FnMut(&mut Rng) -> i64,
) -> Vec<JobRecord> {
    let mut jobs: Vec<JobRecord> = (0..cfg.jobs)
        .map(|i| {
            let requested = when(rng);
            let roll = below(rng, 100);
            let state = match roll {
                0..=84 => "sent",
                85..=88 => "failed",
                89..=91 => "dead_lettered",
                92..=95 => "retry_scheduled",
                96..=97 => "blocked",
                _ => "queued",
            };
            let external = below(rng, 3) == 0;
            JobRecord {
                job_id: id(rng, "job-"),
                transport: pick(rng, &["smtp", "smtp", "ses", "sendgrid"]).into(),
                recipient_class: if external { "external_auditor".into() } else { "internal".into() },
                recipient_domain: if external { "audit.example".into() } else { "northwind.example".into() },
                state: state.into(),
                attempts: match state {
                    "queued" | "blocked" => 0,
                    "sent" => 1 + u32::from(roll.is_multiple_of(7)),
                    "dead_lettered" => 8,
                    _ => 1 + u32::try_from(below(rng, 3)).unwrap_or(0),
                },
                requested_at: at(requested),
                first_attempt_at: (!matches!(state, "queued" | "blocked")).then(|| at(requested + 5)),
                next_attempt_at: at(requested + if state == "retry_scheduled" { 900 } else { 5 }),
                possible_duplicate: i % 97 == 13,
                approval_id: (external && !approvals.is_empty())
                    .then(|| approvals[i % approvals.len()].approval_id.clone()),
                content: if i % 11 == 0 { "room_invitation".into() } else { "package".into() },
                audited: !matches!(state, "queued" | "blocked"),
            }
        })
        .collect();
    jobs.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    jobs
}

fn rooms(cfg: &SynthConfig, rng: &mut Rng, start: i64) -> Vec<RoomRecord> {
    (0..cfg.rooms)
        .map(|i| {
            let created = start + i64::try_from(i).unwrap_or(0) * 86_400;
            RoomRecord {
                room_id: id(rng, "room-"),
                audience: "external auditor".into(),
                package_id: id(rng, "pkg-"),
                created_at: at(created),
                expires_at: at(created + 14 * 86_400),
                closed_at: (i % 3 == 2).then(|| at(created + 10 * 86_400)),
                links_issued: 1 + u32::try_from(below(rng, 4)).unwrap_or(0),
                links_revoked: u32::from(i % 2 == 1),
                mfa: i % 2 == 0,
                terms: true,
            }
        })
        .collect()
}

fn access(cfg: &SynthConfig, rng: &mut Rng, rooms: &[RoomRecord], start: i64) -> Vec<AccessRecord> {
    if rooms.is_empty() {
        return Vec::new();
    }
    let step = (cfg.window / i64::try_from(cfg.access_events.max(1)).unwrap_or(1)).max(1);
    (0..cfg.access_events)
        .map(|i| {
            let room = &rooms[i % rooms.len()];
            let roll = below(rng, 10);
            let (ty, outcome) = match roll {
                0..=3 => (AccessType::View, AccessOutcome::Allowed),
                4..=6 => (AccessType::Download, AccessOutcome::Allowed),
                7 => (AccessType::FailedAuthentication, AccessOutcome::Denied),
                8 => (AccessType::FailedPolicyDecision, AccessOutcome::Denied),
                _ => (AccessType::TermsAcceptance, AccessOutcome::Allowed),
            };
            let seq = 100 + i as u64;
            let mut e = AccessEvent::new(ty, outcome, &room.room_id).actor("external_auditor");
            e.mfa_status = if room.mfa { MfaStatus::Verified } else { MfaStatus::NotRequired };
            e.signed_link = LinkUse {
                link_ref: Some(format!("lnk-{:016x}{:08x}", rng.next(), rng.next() >> 32)),
                state: if outcome == AccessOutcome::Denied { LinkState::Tampered } else { LinkState::Valid },
            };
            e.retention_check = CheckState::Passed;
            if ty == AccessType::Download {
                e.watermark_state = WatermarkState::Applied;
                e.access_id = Some(format!("acc-{seq}"));
                e.artifact_refs.push(format!("itm-{:016x}", rng.next()));
            }
            AccessRecord {
                seq,
                at: at(start + i64::try_from(i).unwrap_or(0) * step + 60),
                record_hash_prev: format!(
                    "sha256:{:016x}{:016x}{:016x}{:016x}",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                ),
                access: e,
            }
        })
        .collect()
}

/// The outbox jobs of the alerts' notices, sent and audited.
fn notice_jobs(response: &[ResponseRecord]) -> Vec<JobRecord> {
    let mut out = Vec::new();
    for r in response {
        let crate::response::ResponseEvent::AlertRouted { jobs, .. } = &r.event else { continue };
        out.extend(jobs.iter().map(|j| JobRecord {
            job_id: j.job_id.clone(),
            transport: "smtp".into(),
            recipient_class: j.recipient_class.clone(),
            recipient_domain: j.recipient_domain.clone(),
            state: "sent".into(),
            attempts: 1,
            requested_at: r.at,
            first_attempt_at: Some(r.at),
            next_attempt_at: r.at,
            possible_duplicate: false,
            approval_id: None,
            content: "alert_notice".into(),
            audited: true,
        }));
    }
    out
}

/// Package verifications recorded in the audit log: one in ten reports'
/// packages checked, every third check failing.
fn verifications(cfg: &SynthConfig, rng: &mut Rng, start: i64) -> Vec<VerificationRecord> {
    let n = (cfg.reports / 10).max(1);
    let mut times: Vec<i64> = (0..n)
        .map(|_| start + i64::try_from(below(rng, u64::try_from(cfg.window).unwrap_or(1))).unwrap_or(0))
        .collect();
    times.sort_unstable();
    times
        .into_iter()
        .enumerate()
        .map(|(i, t)| VerificationRecord {
            seq: 1_000 + i as u64 * 5,
            at: at(t),
            package_digest: cavra_package::manifest::sha256_tagged(format!("package {}", i % 5).as_bytes()),
            verified: i % 3 != 2,
        })
        .collect()
}

const KEYS: &[&str] = &["5F2A9C0E1B3D4A68", "A04C7E11D9B25F33", "C3E8B7104F6A9D21"];

/// A ledger of alerts, plans, incident closures and exception lifecycles
/// that folds: each alert is raised and routed; some escalate; most are
/// acknowledged and planned; most plans are carried out and closed, their
/// alerts resolved, and one incident is closed over the first closed plan.
fn response(cfg: &SynthConfig, rng: &mut Rng, start: i64) -> Vec<ResponseRecord> {
    use crate::response::{PlannedTask, ResponseEvent as E, RiskLevel, RoutedJob};
    let mut out: Vec<ResponseRecord> = Vec::new();
    let push = |out: &mut Vec<ResponseRecord>, t: i64, subject: &str, event: E| {
        let seq = out.len() as u64 + 1;
        let digest = format!("sha256:{:064x}", u128::from(seq) * 0x9e37_79b9_7f4a_7c15 + 0x1234);
        out.push(ResponseRecord {
            seq,
            at: at(t.min(cfg.window_end)),
            subject: subject.to_string(),
            actor_key_id: KEYS[usize::try_from(seq).unwrap_or(0) % KEYS.len()].to_string(),
            digest,
            audit_seq: Some(seq * 3),
            event,
        });
    };
    let rules = [
        ("delivery-success", "measure_breached", "delivery_success_rate", "Delivery success rate: 96.40%", "99.00%"),
        ("room-auth", "room_auth_failures", "room-7c1e", "4 failed authentications", "fewer than 3"),
        (
            "dead-letter",
            "dead_letter",
            "job-3f9a",
            "package job dead-lettered after 8 attempt(s)",
            "delivered within the retry window",
        ),
        (
            "approval-overdue",
            "approval_overdue",
            "appr-5d20",
            "pending past its deadline",
            "decided before its deadline",
        ),
    ];
    let step = (cfg.window / (cfg.alerts.max(1) as i64 + 1)).max(60);
    let mut closed_plan = None;
    for i in 0..cfg.alerts {
        let (rule, signal, key, observed, objective) = rules[i % rules.len()];
        let t0 = start + step * i as i64 + i64::try_from(below(rng, 3600)).unwrap_or(0);
        let alert = crate::response::alerts::alert_id(rule, &format!("{key}-{i}"), at(t0));
        push(
            &mut out,
            t0,
            &alert,
            E::AlertRaised {
                rule_id: rule.into(),
                signal: signal.into(),
                dedupe_key: format!("{key}-{i}"),
                observed: observed.into(),
                objective: objective.into(),
            },
        );
        let job = |level: u32, domain: &str| RoutedJob {
            job_id: format!("job-{:024x}", (i as u128 + 1) * 7919 + u128::from(level)),
            recipient_class: "internal".into(),
            recipient_domain: domain.into(),
        };
        push(&mut out, t0 + 5, &alert, E::AlertRouted { level: 1, jobs: vec![job(1, "northwind.example")] });
        let mut t = t0 + 5;
        if i % 3 == 1 {
            t += 4 * 3600;
            push(&mut out, t, &alert, E::AlertEscalated { from_level: 1, to_level: 2 });
            push(&mut out, t + 5, &alert, E::AlertRouted { level: 2, jobs: vec![job(2, "northwind.example")] });
        }
        if i % 6 == 5 {
            continue; // still open and unacknowledged at the window's end
        }
        t += 1800 + i64::try_from(below(rng, 7200)).unwrap_or(0);
        push(&mut out, t, &alert, E::AlertAcknowledged { note: Some("investigating".into()) });
        if i % 6 == 4 {
            push(&mut out, t + 60, &alert, E::AlertResolved { reason: "a known maintenance window".into() });
            continue;
        }
        let plan = crate::response::workflows::plan_id(&alert, t + 600);
        let tasks: Vec<PlannedTask> = (0..2 + i % 2)
            .map(|k| PlannedTask {
                task_id: format!("T{}", k + 1),
                title: ["Find the cause", "Fix the control", "Confirm with a test send"][k].into(),
                owner_role: ["secops", "platform", "secops"][k].into(),
                due_at: at(t + 600 + 86_400 * (k as i64 + 2)),
                approval_required: k == 1,
            })
            .collect();
        let n = tasks.len();
        push(
            &mut out,
            t + 600,
            &plan,
            E::RemediationPlanned {
                alert_id: alert.clone(),
                incident_ref: (i == 0).then(|| "INC-2026-041".to_string()),
                tasks,
                closure_criteria: vec!["the measure is within its objective for seven days".into()],
                control_updates: vec!["the relay's credentials rotate every 90 days".into()],
                communications: vec!["the CISO is told when the plan closes".into()],
            },
        );
        if i % 6 == 3 {
            continue; // an open plan, no task done yet
        }
        for k in 0..n {
            let done = t + 600 + 86_400 * (k as i64 + 1);
            push(
                &mut out,
                done,
                &plan,
                E::TaskDone { task_id: format!("T{}", k + 1), evidence_ref: Some(format!("itm-{:016x}", k + i)) },
            );
        }
        let close = t + 600 + 86_400 * (n as i64 + 1);
        push(
            &mut out,
            close,
            &plan,
            E::RemediationClosed {
                completed_tasks: (1..=n).map(|k| format!("T{k}")).collect(),
                residual_risk: [RiskLevel::Low, RiskLevel::None, RiskLevel::Medium][i % 3],
                review_outcome: "held; two control changes agreed".into(),
                communications_status: "the CISO and the control owners were told".into(),
            },
        );
        push(&mut out, close + 60, &alert, E::AlertResolved { reason: "remediated".into() });
        closed_plan.get_or_insert((plan, close));
    }
    if let Some((plan, close)) = closed_plan {
        push(
            &mut out,
            close + 3600,
            "inc:INC-2026-041",
            E::IncidentClosed {
                opened_at: at(start),
                severity: "high".into(),
                remediation_refs: vec![plan],
                lessons_learned: vec!["relay credentials had no owner".into()],
                follow_up_tasks: vec!["add the relay to the quarterly access review".into()],
                packet_digest: Some(format!("sha256:{:064x}", 41)),
                manifest_digest: None,
            },
        );
    }
    for i in 0..cfg.exceptions {
        let ex = format!("exc:EXC-{:03}", i + 1);
        let t0 = start + 3600 * (i as i64 + 1);
        push(
            &mut out,
            t0,
            &ex,
            E::ExceptionRenewed { until: at(t0 + 90 * 86_400), reason: "compensating control in place".into() },
        );
        match i % 4 {
            1 => push(
                &mut out,
                t0 + 86_400,
                &ex,
                E::ExceptionRevoked { reason: "the compensating control failed".into() },
            ),
            2 => push(&mut out, t0 + 2 * 86_400, &ex, E::ExceptionClosed { reason: "the control now holds".into() }),
            3 => push(
                &mut out,
                t0 + 86_400,
                &ex,
                E::ExceptionRenewed { until: at(t0 + 120 * 86_400), reason: "vendor fix scheduled".into() },
            ),
            _ => {}
        }
    }
    // In time order, as a ledger is written, numbered again.
    out.sort_by_key(|r| r.at);
    for (i, r) in out.iter_mut().enumerate() {
        let seq = i as u64 + 1;
        r.seq = seq;
        r.actor_key_id = KEYS[i % KEYS.len()].to_string();
        r.digest = cavra_package::manifest::sha256_tagged(format!("response event {seq}").as_bytes());
        r.audit_seq = Some(seq * 3);
    }
    out
}
