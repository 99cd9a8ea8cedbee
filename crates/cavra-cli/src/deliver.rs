//! Delivery commands: send, run, approvals, schedule preview, audit verify.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cavra_deliver::audit::{verify_log, AuditEvent, AuditLog, AuditStatus};
use cavra_deliver::config::{Config, Permission};
use cavra_deliver::outbox::{OutboxStore, SqliteOutbox};
use cavra_deliver::send::{plan, SendRequest};
use clap::{Args, Subcommand};

/// The wall clock. Reports never read it (they take time from the
/// snapshot); delivery must, to know what is due.
pub(crate) fn now() -> (i64, String) {
    let t = jiff::Timestamp::now();
    (t.as_second(), jiff::Timestamp::from_second(t.as_second()).unwrap_or(t).to_string())
}

#[derive(Debug, Args)]
pub struct Common {
    /// The setup file.
    #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
    config: PathBuf,
    /// The outbox database (created if missing).
    #[arg(long, value_name = "FILE.db", default_value = "outbox.db")]
    outbox: PathBuf,
    #[command(flatten)]
    audit: crate::evidence::AuditArgs,
}

#[derive(Debug, Subcommand)]
pub enum DeliverCommand {
    /// Queue a package for recipients after policy and role checks (nothing is queued on refusal).
    Send {
        #[command(flatten)]
        common: Common,
        /// The package or artifact to send.
        #[arg(long, value_name = "FILE")]
        package: PathBuf,
        /// Recipients: addresses or `group:<name>` (comma-separated or repeated).
        #[arg(long = "to", value_delimiter = ',', required = true)]
        to: Vec<String>,
        /// The role asking.
        #[arg(long)]
        role: String,
        /// Subject line.
        #[arg(long, default_value = "AI-agent security posture reports")]
        subject: String,
    },
    /// Send every due job once, or keep sending with `--loop`.
    Run {
        #[command(flatten)]
        common: Common,
        /// Seconds a sender holds a job; a job still `sending` after its lease (the sender died) is sent again, flagged as a possible duplicate.
        #[arg(long, default_value_t = cavra_deliver::send::DEFAULT_LEASE_SECONDS, value_parser = clap::value_parser!(i64).range(1..=86_400))]
        lease_seconds: i64,
        /// Keep running: send what is due, wait for the next due job or new work, show progress; Ctrl-C or SIGTERM stop after the job in hand.
        #[arg(long = "loop")]
        keep_running: bool,
        /// With --loop: stop once nothing is queued, retrying or in flight (jobs awaiting approval do not count).
        #[arg(long, requires = "keep_running")]
        until_idle: bool,
        /// With --loop: look for new work at least this often (seconds).
        #[arg(long, default_value_t = 30, requires = "keep_running")]
        poll_seconds: u64,
    },
    /// Send a test message now (a short text attachment) to check the setup and transport; roles and policy apply, nothing is queued.
    Test {
        #[command(flatten)]
        common: Common,
        /// Recipients: addresses or `group:<name>` (comma-separated or repeated); internal ones.
        #[arg(long = "to", value_delimiter = ',', required = true)]
        to: Vec<String>,
        /// The role asking.
        #[arg(long)]
        role: String,
    },
    /// List the outbox's jobs with their state, attempts and flags.
    Status {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Approve a request: its blocked jobs are queued.
    Approve(Decision),
    /// Reject a request: its jobs fail.
    Reject(Decision),
    /// Ask for more information before deciding.
    NeedsMoreInfo(Decision),
    /// Withdraw an approval: unsent jobs fail.
    Revoke(Decision),
    /// List requests (pending ones past their expiry become expired).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Print every request and decision as JSON Lines (the approval-decision vocabulary).
    Export {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Args)]
pub struct Decision {
    #[command(flatten)]
    common: Common,
    /// Approval id (`appr-…`).
    id: String,
    /// The deciding role (needs the `approve` permission).
    #[arg(long)]
    role: String,
    /// Reason recorded with the decision.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BouncesCommand {
    /// Read RFC 3464 reports (files, or maildir folders) and SendGrid/SES event JSON (`.json` files).
    Ingest {
        #[command(flatten)]
        common: Common,
        /// Files or maildir folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// List the configured schedules and their next run.
    List {
        /// The setup file.
        #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
        config: PathBuf,
    },
    /// Fire every due run not fired before (at most once per run key), queueing its sends.
    RunDue {
        #[command(flatten)]
        common: Common,
        /// Catch up runs missed up to this many hours ago.
        #[arg(long, default_value_t = 24)]
        lookback_hours: i64,
    },
    /// Print a cadence's next runs (a pure computation).
    Next {
        /// `daily HH:MM`, `weekly DAY HH:MM`, `monthly DAY HH:MM`, `quarterly DAY HH:MM` or `cron M H DOM MON DOW`.
        #[arg(long)]
        cadence: String,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// How many runs.
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// Start after this instant (RFC 3339; default: now).
        #[arg(long)]
        after: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify an audit log's chain and checkpoint signatures.
    Verify {
        /// The log.
        log: PathBuf,
        /// The checkpoint signer's minisign public key.
        #[arg(long, value_name = "KEY.pub")]
        pubkey: PathBuf,
        /// Require the log to end with its closing checkpoint.
        #[arg(long)]
        closed: bool,
    },
}

fn open(common: &Common) -> Result<(Config, SqliteOutbox, Option<AuditLog>)> {
    let config = Config::load(&common.config)?;
    let store = SqliteOutbox::open(&common.outbox).with_context(|| common.outbox.display().to_string())?;
    let log = common.audit.open(config.audit.checkpoint_every)?;
    Ok((config, store, log))
}

pub fn deliver(cmd: &DeliverCommand) -> Result<()> {
    match cmd {
        DeliverCommand::Send { common, package, to, role, subject } => {
            let (config, mut store, mut log) = open(common)?;
            let bytes = std::fs::read(package).with_context(|| format!("{}: cannot read", package.display()))?;
            let digest = cavra_package::manifest::sha256_tagged(&bytes);
            let (t, at) = now();
            let request = SendRequest {
                role: role.clone(),
                recipients: to.clone(),
                attachment: package.clone(),
                subject: subject.clone(),
            };
            let planned = match plan(&config, &request, &digest, t) {
                Ok(p) => p,
                Err(refused) => {
                    if let Some(l) = log.as_mut() {
                        l.append(&AuditEvent {
                            at,
                            action: "send".into(),
                            status: AuditStatus::BlockedPolicy,
                            role: role.clone(),
                            recipients: None,
                            approval: None,
                            retry: None,
                            digest: Some(digest),
                            detail: Some(format!("{} problem(s)", refused.problems.len())),
                        })?;
                    }
                    return Err(refused.into());
                }
            };
            let suppressed: Vec<usize> = planned
                .jobs
                .iter()
                .enumerate()
                .filter_map(|(i, j)| store.is_suppressed(&j.recipient).map(|s| s.then_some(i + 1)).transpose())
                .collect::<Result<_, _>>()?;
            if !suppressed.is_empty() {
                return Err(cavra_deliver::send::Refused {
                    problems: suppressed
                        .iter()
                        .map(|i| format!("recipient {i}: suppressed after a hard bounce"))
                        .collect(),
                }
                .into());
            }
            store.enqueue_gated(&planned.jobs, planned.request.as_ref())?;
            let status =
                if planned.approval().is_some() { AuditStatus::BlockedRequiresApproval } else { AuditStatus::Accepted };
            if let Some(l) = log.as_mut() {
                l.append(&AuditEvent {
                    at,
                    action: "send".into(),
                    status,
                    role: role.clone(),
                    recipients: Some(planned.summary.clone()),
                    approval: planned.approval().map(str::to_string),
                    retry: None,
                    digest: Some(digest.clone()),
                    detail: None,
                })?;
            }
            println!(
                "queued {} job(s) for {} recipient(s) in {} domain(s); digest {digest}",
                planned.jobs.len(),
                planned.summary.count,
                planned.summary.domains.len()
            );
            if let Some(a) = planned.approval() {
                println!("waiting for approval {a}: `cavra-reports approvals approve {a} --role <approver>`");
            }
            Ok(())
        }
        DeliverCommand::Test { common, to, role } => {
            let config = Config::load(&common.config)?;
            let mut log = common.audit.open(config.audit.checkpoint_every)?;
            let transport = crate::run_loop::transport(&config, &common.config)?;
            let scratch = tempfile::tempdir().context("creating a scratch folder")?;
            let (t, at) = now();
            let event = |status, recipients, detail| AuditEvent {
                at: at.clone(),
                action: "test_delivery".into(),
                status,
                role: role.clone(),
                recipients,
                approval: None,
                retry: None,
                digest: None,
                detail,
            };
            let outcomes =
                match cavra_deliver::send::send_test(&config, transport.as_ref(), role, to, scratch.path(), t) {
                    Ok(o) => o,
                    Err(refused) => {
                        if let Some(l) = log.as_mut() {
                            l.append(&event(
                                AuditStatus::BlockedPolicy,
                                None,
                                Some(format!("{} problem(s)", refused.problems.len())),
                            ))?;
                        }
                        return Err(refused.into());
                    }
                };
            let mut failed = 0;
            for (i, o) in outcomes.iter().enumerate() {
                let summary = cavra_deliver::audit::RecipientSummary { count: 1, domains: vec![o.domain.clone()] };
                let (status, detail) = match &o.result {
                    Ok(()) => {
                        println!("recipient {} ({}): test passed", i + 1, o.domain);
                        (AuditStatus::TestPassed, None)
                    }
                    Err(f) => {
                        failed += 1;
                        println!("recipient {} ({}): test failed: {}", i + 1, o.domain, f.message);
                        // Server replies can quote the address; keep the reply code only.
                        (AuditStatus::Failed, Some(f.message.split_whitespace().take(2).collect::<Vec<_>>().join(" ")))
                    }
                };
                if let Some(l) = log.as_mut() {
                    l.append(&event(status, Some(summary), detail.map(|d| d.replace('@', "(at)"))))?;
                }
            }
            if failed > 0 {
                bail!("{failed} of {} test deliveries failed", outcomes.len());
            }
            Ok(())
        }
        DeliverCommand::Status { common } => {
            let (_, store, _) = open(common)?;
            let jobs = store.jobs()?;
            for j in &jobs {
                println!(
                    "{}  {}  attempts {}{}  {}",
                    j.id,
                    j.state.as_str(),
                    j.attempts,
                    if j.possible_duplicate { "  possible-duplicate" } else { "" },
                    j.message_id
                );
            }
            println!("{} job(s)", jobs.len());
            Ok(())
        }
        DeliverCommand::Run { common, lease_seconds, keep_running, until_idle, poll_seconds } => {
            let (config, mut store, mut log) = open(common)?;
            let options = crate::run_loop::LoopOptions {
                lease_seconds: *lease_seconds,
                keep_running: *keep_running,
                until_idle: *until_idle,
                poll_seconds: *poll_seconds,
            };
            let s = crate::run_loop::run(&config, &common.config, &mut store, log.as_mut(), options)?;
            println!(
                "sent {}, retry scheduled {}, failed {}, dead-lettered {}",
                s.sent, s.retried, s.failed, s.dead_lettered
            );
            Ok(())
        }
    }
}

pub fn approvals(cmd: &ApprovalsCommand) -> Result<()> {
    use cavra_deliver::approval::ApprovalState;
    let (d, to) = match cmd {
        ApprovalsCommand::Approve(d) => (d, ApprovalState::Approved),
        ApprovalsCommand::Reject(d) => (d, ApprovalState::Rejected),
        ApprovalsCommand::NeedsMoreInfo(d) => (d, ApprovalState::NeedsMoreInfo),
        ApprovalsCommand::Revoke(d) => (d, ApprovalState::Revoked),
        ApprovalsCommand::List { common } | ApprovalsCommand::Export { common } => {
            let (_, mut store, _) = open(common)?;
            let all = store.approvals(now().0)?;
            for a in &all {
                if matches!(cmd, ApprovalsCommand::Export { .. }) {
                    println!("{}", serde_json::to_string(a)?);
                } else {
                    println!(
                        "{}  {}  {} recipient(s) in {}  {}",
                        a.approval_id,
                        a.decision.as_str(),
                        a.recipient_count,
                        a.recipient_domains.join(", "),
                        a.package_digest
                    );
                }
            }
            if matches!(cmd, ApprovalsCommand::List { .. }) {
                println!("{} request(s)", all.len());
            }
            return Ok(());
        }
    };
    let (config, mut store, mut log) = open(&d.common)?;
    if !config.allows(&d.role, Permission::Approve) {
        bail!("role `{}` may not decide approvals", d.role);
    }
    let (t, at) = now();
    let n = store.decide(&d.id, to, &d.role, d.reason.as_deref(), t)?;
    if let Some(l) = log.as_mut() {
        l.append(&AuditEvent {
            at,
            action: "approve".into(),
            status: if to == ApprovalState::Approved { AuditStatus::Accepted } else { AuditStatus::BlockedPolicy },
            role: d.role.clone(),
            recipients: None,
            approval: Some(d.id.clone()),
            retry: None,
            digest: None,
            detail: Some(format!("{}; {n} job(s) changed", to.as_str())),
        })?;
    }
    println!("{}: {}; {n} job(s) changed", d.id, to.as_str());
    Ok(())
}

pub fn bounces(cmd: &BouncesCommand) -> Result<()> {
    let BouncesCommand::Ingest { common, paths } = cmd;
    let (_, mut store, mut log) = open(common)?;
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            for sub in ["new", "cur", "."] {
                if let Ok(entries) = std::fs::read_dir(p.join(sub)) {
                    let mut v: Vec<PathBuf> =
                        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|f| f.is_file()).collect();
                    v.sort();
                    files.extend(v);
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    let (t, at) = now();
    let (mut hard, mut soft, mut linked) = (0, 0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
        let parsed = if f.extension().is_some_and(|e| e == "json") {
            cavra_deliver::bounce::parse_provider_events(&text)
        } else {
            cavra_deliver::bounce::parse_dsn(&text)
        }
        .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        linked += store.record_bounces(&parsed, t)?;
        for b in &parsed {
            match b.kind {
                cavra_deliver::bounce::BounceKind::Hard => hard += 1,
                cavra_deliver::bounce::BounceKind::Soft => soft += 1,
            }
            if let Some(l) = log.as_mut() {
                let domain = b.recipient.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
                l.append(&AuditEvent {
                    at: at.clone(),
                    action: "bounce".into(),
                    status: AuditStatus::Failed,
                    role: "system".into(),
                    recipients: Some(cavra_deliver::audit::RecipientSummary { count: 1, domains: vec![domain] }),
                    approval: None,
                    retry: None,
                    digest: None,
                    detail: Some(format!("{:?} bounce {}", b.kind, b.status).to_lowercase()),
                })?;
            }
        }
    }
    println!("{} file(s): {hard} hard bounce(s) (suppressed), {soft} soft; {linked} linked to jobs", files.len());
    Ok(())
}

pub fn schedule(cmd: &ScheduleCommand) -> Result<()> {
    match cmd {
        ScheduleCommand::List { config } => {
            let config = Config::load(config)?;
            let after = cavra_model::Timestamp::from_unix_seconds(now().0).map_err(anyhow::Error::msg)?;
            for e in &config.schedules {
                let s = config.schedule(e)?;
                let next = cavra_deliver::schedule::next_runs(&s, after, 1);
                let when = next.first().map_or("never".to_string(), |r| format!("{} ({})", r.at, r.local));
                println!("{}  {}  {}  next {when}", s.id, e.cadence, s.timezone);
            }
            println!("{} schedule(s)", config.schedules.len());
            Ok(())
        }
        ScheduleCommand::RunDue { common, lookback_hours } => {
            let (config, mut store, mut log) = open(common)?;
            let (t, at) = now();
            let now_ts = cavra_model::Timestamp::from_unix_seconds(t).map_err(anyhow::Error::msg)?;
            let fired = cavra_deliver::schedule::run_due(&config, &mut store, now_ts, lookback_hours * 3600)?;
            for f in &fired {
                println!(
                    "{}  queued {}{}",
                    f.run.key,
                    f.queued,
                    f.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default()
                );
                if let Some(l) = log.as_mut() {
                    l.append(&AuditEvent {
                        at: at.clone(),
                        action: "schedule".into(),
                        status: match (&f.approval, f.queued) {
                            (Some(_), _) => AuditStatus::BlockedRequiresApproval,
                            (None, 0) => AuditStatus::BlockedPolicy,
                            (None, _) => AuditStatus::Scheduled,
                        },
                        role: "scheduler".into(),
                        recipients: None,
                        approval: f.approval.clone(),
                        retry: None,
                        digest: None,
                        detail: Some(f.run.key.clone()),
                    })?;
                }
            }
            println!("{} run(s) fired", fired.len());
            Ok(())
        }
        ScheduleCommand::Next { cadence, timezone, count, after } => {
            let cadence = cavra_deliver::schedule::Cadence::parse(cadence)?;
            let s = cavra_deliver::schedule::Schedule::new("preview", cadence, timezone)?;
            let after = match after {
                Some(a) => cavra_model::Timestamp::parse(a).map_err(anyhow::Error::msg)?,
                None => cavra_model::Timestamp::from_unix_seconds(now().0).map_err(anyhow::Error::msg)?,
            };
            for r in cavra_deliver::schedule::next_runs(&s, after, *count) {
                println!("{}  {}  {:?}", r.at, r.local, r.kind);
            }
            Ok(())
        }
    }
}

/// An audit log failed verification (exit code 5).
#[derive(Debug)]
pub struct LogNotVerified;

impl std::fmt::Display for LogNotVerified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("audit log failed verification")
    }
}

impl std::error::Error for LogNotVerified {}

pub fn audit(cmd: &AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Verify { log, pubkey, closed } => {
            let key = std::fs::read_to_string(pubkey).with_context(|| format!("{}: cannot read", pubkey.display()))?;
            let file = std::fs::File::open(log).with_context(|| format!("{}: cannot read", log.display()))?;
            let v = verify_log(std::io::BufReader::new(file), &key);
            for p in &v.problems {
                println!("FAIL  {p}");
            }
            let mut ok = v.ok();
            if *closed && !v.closed {
                println!("FAIL  the log does not end with its closing checkpoint (records removed from the end, or still open)");
                ok = false;
            }
            println!(
                "{} records ({} events); last checkpoint {}; {} event(s) after it; {}",
                v.records,
                v.events,
                v.last_checkpoint.map_or("none".to_string(), |c| format!("at record {c}")),
                v.unsigned_tail,
                if v.closed { "closed" } else { "open" }
            );
            if ok {
                Ok(())
            } else {
                Err(LogNotVerified.into())
            }
        }
    }
}
