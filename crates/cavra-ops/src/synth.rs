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
    let jobs = jobs(cfg, &mut rng, &approvals, &mut when);
    let rooms = rooms(cfg, &mut rng, start);
    let access_events = access(cfg, &mut rng, &rooms, start);
    OpsSnapshot {
        response: Vec::new(),
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
