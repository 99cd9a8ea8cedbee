//! Delivery commands: send, run, approvals, schedule preview, audit verify.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cavra_deliver::audit::{ApprovalDecision, AuditAction, AuditEvent, AuditLog, AuditStatus, RecipientSummary};
use cavra_deliver::config::{Config, Permission};
use cavra_deliver::outbox::{OutboxStore, SqliteOutbox};
use cavra_deliver::send::{plan, SendRequest};
use clap::{Args, Subcommand};

use crate::evidence::{recorded, AsPrincipal};

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
    /// The outbox: an SQLite file for one machine (created or brought up to date when a command other
    /// than `deliver run` opens it), or a shared store database, `sqlite:PATH` or
    /// `postgres://user@host:port/db`, which only `store migrate` changes.
    #[arg(long, value_name = "FILE.db|URL", default_value = "outbox.db")]
    outbox: String,
    #[command(flatten)]
    audit: crate::evidence::AuditArgs,
}

#[derive(Debug, Subcommand)]
pub enum DeliverCommand {
    /// Queue a package for recipients after policy and role checks (nothing is queued on refusal).
    Send {
        #[command(flatten)]
        common: Common,
        /// The package to send: it must verify against `packages.signing_public_key`.
        #[arg(long, value_name = "FILE")]
        package: PathBuf,
        /// Recipients: addresses or `group:<name>` (comma-separated or repeated).
        #[arg(long = "to", value_delimiter = ',', required = true)]
        to: Vec<String>,
        #[command(flatten)]
        principal: AsPrincipal,
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
        /// The record store holding evidence rooms, for invitations queued by `room invite`
        /// (default: `[store] url`; with `[rooms] link_key` and `public_url` set).
        #[command(flatten)]
        rooms: crate::records::StoreLocation,
    },
    /// Send a test message now (a short text attachment) to check the setup and transport; roles and policy apply, nothing is queued.
    Test {
        #[command(flatten)]
        common: Common,
        /// Recipients: addresses or `group:<name>` (comma-separated or repeated); internal ones.
        #[arg(long = "to", value_delimiter = ',', required = true)]
        to: Vec<String>,
        #[command(flatten)]
        principal: AsPrincipal,
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
    /// The deciding principal (needs the `approve` permission; never the requester).
    #[command(flatten)]
    principal: AsPrincipal,
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
        /// The principal the runs are requested as (needs `schedule` and each schedule's role).
        #[command(flatten)]
        principal: AsPrincipal,
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
    /// Verify an audit log: genesis, chain and every record's signature.
    Verify {
        /// The log.
        log: PathBuf,
        /// The audit key's minisign public key.
        #[arg(long, value_name = "KEY.pub")]
        pubkey: PathBuf,
        /// Require the log to end with its closing record.
        #[arg(long)]
        closed: bool,
        /// A head printed earlier by `audit head`: the log must reach it and agree with it.
        #[arg(long, value_name = "HEAD.json")]
        expect_head: Option<PathBuf>,
    },
    /// Print the latest signed head (sequence number, hash, signature) as JSON, for keeping elsewhere.
    Head {
        /// The log.
        log: PathBuf,
        /// The audit key's minisign public key.
        #[arg(long, value_name = "KEY.pub")]
        pubkey: PathBuf,
    },
    /// Verify the log and append its closing record; nothing may be appended afterwards.
    Close {
        /// The log.
        log: PathBuf,
        /// The audit key, by reference: `file:PATH` or `env:NAME`.
        #[arg(long, value_name = "REF")]
        audit_key: String,
    },
}

/// Whether `--outbox` names a shared store database rather than an embedded file.
fn is_url(outbox: &str) -> bool {
    cavra_store::db::Location::parse(outbox).is_ok()
}

/// Opens the outbox `--outbox` names. An embedded file is created or
/// migrated unless `worker` (a sender never changes a schema); a store URL
/// is only connected to, with `[store] password` when one is set.
pub(crate) fn open_outbox(config: &Config, outbox: &str, worker: bool) -> Result<SqliteOutbox> {
    let shown = if is_url(outbox) { "the outbox database".to_string() } else { outbox.to_string() };
    let password = match &config.store.password {
        Some(r) if is_url(outbox) => Some(cavra_deliver::config::resolve("store.password", r)?),
        _ => None,
    };
    let store = if is_url(outbox) {
        SqliteOutbox::connect_with(outbox, password.as_deref())
    } else if worker {
        SqliteOutbox::connect(&format!("sqlite:{outbox}"))
    } else {
        SqliteOutbox::open(std::path::Path::new(outbox))
    };
    store.with_context(|| shown)
}

fn open_as(common: &Common, worker: bool) -> Result<(Config, SqliteOutbox, Option<AuditLog>)> {
    let config = Config::load(&common.config)?;
    let store = open_outbox(&config, &common.outbox, worker)?;
    let log = common.audit.open()?;
    Ok((config, store, log))
}

fn open(common: &Common) -> Result<(Config, SqliteOutbox, Option<AuditLog>)> {
    open_as(common, false)
}

/// The setup file's text, read once (its digest is what an acceptance covers).
fn setup_text(path: &std::path::Path) -> Result<String> {
    Ok(cavra_model::limits::read_text_bounded(path, cavra_model::limits::SETUP_BYTES)
        .map_err(|e| cavra_deliver::config::ConfigError { key: path.display().to_string(), reason: e.to_string() })?)
}

/// [`open`] for commands that act: the setup file must be the one last
/// accepted for this outbox (`policy accept`).
fn open_accepted(common: &Common) -> Result<(Config, SqliteOutbox, Option<AuditLog>)> {
    open_accepted_as(common, false)
}

fn open_accepted_as(common: &Common, worker: bool) -> Result<(Config, SqliteOutbox, Option<AuditLog>)> {
    let text = setup_text(&common.config)?;
    let (config, mut store, log) = open_as(common, worker)?;
    check_accepted(&mut store, &text, &config, &common.config)?;
    Ok((config, store, log))
}

fn check_accepted(store: &mut SqliteOutbox, text: &str, config: &Config, path: &std::path::Path) -> Result<()> {
    if let Err(e) = cavra_deliver::acceptance::check(store, text, config) {
        return Err(cavra_deliver::send::Refused { problems: vec![format!("{}: {e}", path.display())] }.into());
    }
    Ok(())
}

/// The outbox at `outbox` for a command that queues, with the setup file
/// at `config_path` (already loaded as `config`) accepted for it.
pub(crate) fn accepted_outbox(config: &Config, config_path: &std::path::Path, outbox: &str) -> Result<SqliteOutbox> {
    let text = setup_text(config_path)?;
    let mut store = open_outbox(config, outbox, false)?;
    check_accepted(&mut store, &text, config, config_path)?;
    Ok(store)
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print a contract document of the setup file as JSON: `setup` (cavra.delivery_setup.v1),
    /// `recipients` (cavra.recipient_policy.v1) or `schedules` (cavra.schedule_policy.v1).
    Show {
        /// The setup file.
        #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
        config: PathBuf,
        /// Which document.
        #[arg(long, default_value = "setup", value_parser = ["setup", "recipients", "schedules"])]
        document: String,
    },
    /// Accept the setup file for this outbox: a statement over its digest signed by a principal
    /// with `manage_policy` (or `schedule`, when only schedules changed) here and in the file accepted before.
    Accept {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        principal: AsPrincipal,
    },
}

pub fn policy(cmd: &PolicyCommand) -> Result<()> {
    let (common, principal) = match cmd {
        PolicyCommand::Accept { common, principal } => (common, principal),
        PolicyCommand::Show { config, document } => return show_policy(config, document),
    };
    let text = setup_text(&common.config)?;
    let (config, mut store, mut log) = open(common)?;
    let (t, at) = now();
    let accepted = principal.signer(&config).and_then(|signer| {
        let body = cavra_deliver::acceptance::accept(&mut store, &text, &config, &signer, t).map_err(|e| match e {
            cavra_deliver::acceptance::AcceptanceError::Refused(m) => {
                anyhow::Error::from(cavra_deliver::send::Refused { problems: vec![m] })
            }
            other => other.into(),
        })?;
        Ok((signer, body))
    });
    let refusal = AuditEvent::new(&at, AuditAction::Policy, AuditStatus::BlockedPolicy);
    let (signer, body) = recorded(&mut log, refusal, accepted)?;
    let event = AuditEvent::new(&at, AuditAction::Policy, AuditStatus::Accepted)
        .by(Some(signer.actor()))
        .digest(&body.config_digest)
        .detail(format!("{:?} change accepted", body.scope).to_lowercase());
    record(&mut log, &event)?;
    crate::say!("accepted {} ({}) as {}", common.config.display(), body.config_digest, signer.name());
    Ok(())
}

/// `policy show`: a contract document of the setup file, public-safe.
fn show_policy(path: &std::path::Path, document: &str) -> Result<()> {
    let text = setup_text(path)?;
    let config = Config::from_toml(&text).with_context(|| path.display().to_string())?;
    let digest = cavra_package::manifest::sha256_tagged(text.as_bytes());
    let value = match document {
        "setup" => serde_json::to_value(cavra_deliver::contracts::setup(&config, &digest)),
        "recipients" => serde_json::to_value(cavra_deliver::contracts::recipient_policy(&config, &digest)),
        _ => serde_json::to_value(cavra_deliver::contracts::schedule_policy(&config, &digest)),
    }?;
    let json = serde_json::to_string_pretty(&value)?;
    crate::write::gate_document(&json, &format!("{document} document"))?;
    crate::say!("{json}");
    Ok(())
}

/// Appends an event when a log is open.
fn record(log: &mut Option<AuditLog>, event: &AuditEvent) -> Result<()> {
    if let Some(l) = log.as_mut() {
        l.append(event)?;
    }
    Ok(())
}

/// `deliver send`: authenticate, verify the package, plan, queue, audit.
fn send(
    common: &Common,
    package: &std::path::Path,
    to: &[String],
    principal: &AsPrincipal,
    subject: &str,
) -> Result<()> {
    let (config, mut store, mut log) = open_accepted(common)?;
    let (t, at) = now();
    let blocked = |detail: String| AuditEvent::new(&at, AuditAction::Send, AuditStatus::BlockedPolicy).detail(detail);
    let refusal = AuditEvent::new(&at, AuditAction::Send, AuditStatus::BlockedPolicy);
    let signer = recorded(&mut log, refusal, principal.signer(&config))?;
    let digest = match cavra_deliver::authorise::verify_intake(&config, package) {
        Ok(d) => d,
        Err(problem) => {
            record(&mut log, &blocked("the package does not verify".into()).by(Some(signer.actor())))?;
            return Err(cavra_deliver::send::Refused { problems: vec![problem] }.into());
        }
    };
    let request =
        SendRequest { recipients: to.to_vec(), attachment: package.to_path_buf(), subject: subject.to_string() };
    let planned = match plan(&config, &signer, &request, &digest, t) {
        Ok(p) => p,
        Err(refused) => {
            let event =
                blocked(format!("{} problem(s)", refused.problems.len())).by(Some(signer.actor())).digest(&digest);
            record(&mut log, &event)?;
            return Err(refused.into());
        }
    };
    queue(&config, &mut store, &mut log, &signer, &planned, &at).map(|_| ())
}

/// Queues a plan (refused when a recipient is suppressed after a hard
/// bounce) and records it in the audit log.
pub(crate) fn queue(
    config: &Config,
    store: &mut SqliteOutbox,
    log: &mut Option<AuditLog>,
    signer: &cavra_deliver::identity::Signer,
    planned: &cavra_deliver::send::Plan,
    at: &str,
) -> Result<Option<u64>> {
    let digest = planned.jobs.first().map(|j| j.digest.clone()).unwrap_or_default();
    let suppressed: Vec<usize> = planned
        .jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| store.is_suppressed(&j.recipient).map(|s| s.then_some(i + 1)).transpose())
        .collect::<Result<_, _>>()?;
    if !suppressed.is_empty() {
        return Err(cavra_deliver::send::Refused {
            problems: suppressed.iter().map(|i| format!("recipient {i}: suppressed after a hard bounce")).collect(),
        }
        .into());
    }
    store.enqueue_plan(planned)?;
    let (status, decision) = match planned.approval() {
        Some(_) => (AuditStatus::BlockedRequiresApproval, ApprovalDecision::Pending),
        None => (AuditStatus::Accepted, ApprovalDecision::NotRequired),
    };
    let event = AuditEvent::new(at, AuditAction::Send, status)
        .by(Some(signer.actor()))
        .recipients(planned.summary.clone())
        .approval(planned.approval(), decision)
        .digest(&digest);
    let seq = match log.as_mut() {
        Some(l) => Some(l.append(&event)?),
        None => None,
    };
    crate::say!(
        "queued {} job(s) for {} recipient(s) in {} domain(s); digest {digest}",
        planned.jobs.len(),
        planned.summary.count,
        planned.summary.domains.len()
    );
    if let Some(a) = planned.approval() {
        crate::say!(
            "waiting for approval {a} by {} approver(s): `cavra-reports approvals approve {a} --as file:<approver key>`",
            config.recipients.external_approvers
        );
    }
    Ok(seq)
}

/// Where notices are composed at send time: invitations from the room
/// store (when `[rooms]` has a link key and public URL), alert notices
/// from the response ledger, both in the record store when one is given
/// or configured.
fn room_notices(
    config: &Config,
    rooms: &crate::records::StoreLocation,
) -> Result<Box<dyn cavra_deliver::send::Notices>> {
    use cavra_deliver::send::{ByPrefix, Notices};
    if rooms.url.is_none() && config.store.url.is_none() {
        return Ok(Box::new(cavra_deliver::send::NoNotices));
    }
    let mut sources: Vec<(&'static str, Box<dyn Notices>)> = Vec::new();
    if let (Some(base), Some(_)) = (config.rooms.public_url.as_deref(), config.rooms.link_key.as_deref()) {
        let mut store = rooms.open(Some(config))?;
        store.require(cavra_room::ROOM_MIGRATIONS)?;
        match crate::room_cmd::link_key(config) {
            Ok(key) => {
                let organisation = config.organisation.name.as_deref().unwrap_or("CAVRA Report Center");
                let invitations = cavra_room::invitation::RoomNotices::new(store, key, base, organisation);
                sources.push((cavra_room::invitation::NOTICE_PREFIX, Box::new(invitations)));
            }
            // Packages and alert notices still go out; invitations wait (and are retried) until the key resolves.
            Err(e) => eprintln!("warning: room invitations are not sent by this worker: {e:#}"),
        }
    }
    let mut store = rooms.open(Some(config))?;
    if store.require(cavra_ops::response::RESPONSE_MIGRATIONS).is_ok() {
        let alerts = cavra_ops::response::AlertNotices::new(store, config.clone());
        sources.push((cavra_ops::response::workflows::NOTICE_PREFIX, Box::new(alerts)));
    }
    Ok(Box::new(ByPrefix::new(sources)))
}

/// `deliver test`.
fn test(common: &Common, to: &[String], principal: &AsPrincipal) -> Result<()> {
    let config = Config::load(&common.config)?;
    let mut log = common.audit.open()?;
    let (t, at) = now();
    let event = |status| AuditEvent::new(&at, AuditAction::TestDelivery, status);
    let signer = recorded(&mut log, event(AuditStatus::BlockedPolicy), principal.signer(&config))?;
    let transport = crate::run_loop::transport(&config, &common.config)?;
    let scratch = tempfile::tempdir().context("creating a scratch folder")?;
    let outcomes = match cavra_deliver::send::send_test(&config, transport.as_ref(), &signer, to, scratch.path(), t) {
        Ok(o) => o,
        Err(refused) => {
            let e = event(AuditStatus::BlockedPolicy).by(Some(signer.actor()));
            record(&mut log, &e.detail(format!("{} problem(s)", refused.problems.len())))?;
            return Err(refused.into());
        }
    };
    let mut failed = 0;
    for (i, o) in outcomes.iter().enumerate() {
        let base = event(AuditStatus::TestPassed).by(Some(signer.actor())).recipients(RecipientSummary::one(&o.domain));
        let e = match &o.result {
            Ok(()) => {
                crate::say!("recipient {} ({}): test passed", i + 1, o.domain);
                base
            }
            Err(f) => {
                failed += 1;
                crate::say!("recipient {} ({}): test failed: {}", i + 1, o.domain, f.message);
                // Server replies can quote the address; keep the reply code only.
                let code = f.message.split_whitespace().take(2).collect::<Vec<_>>().join(" ").replace('@', "(at)");
                AuditEvent { status: AuditStatus::Failed, ..base }.detail(code)
            }
        };
        record(&mut log, &e)?;
    }
    if failed > 0 {
        bail!("{failed} of {} test deliveries failed", outcomes.len());
    }
    Ok(())
}

pub fn deliver(cmd: &DeliverCommand) -> Result<()> {
    match cmd {
        DeliverCommand::Send { common, package, to, principal, subject } => {
            send(common, package, to, principal, subject)
        }
        DeliverCommand::Test { common, to, principal } => test(common, to, principal),
        DeliverCommand::Status { common } => {
            let (_, store, _) = open(common)?;
            let jobs = store.jobs()?;
            for j in &jobs {
                crate::say!(
                    "{}  {}  attempts {}{}  {}",
                    j.id,
                    j.state.as_str(),
                    j.attempts,
                    if j.possible_duplicate { "  possible-duplicate" } else { "" },
                    j.message_id
                );
            }
            crate::say!("{} job(s)", jobs.len());
            Ok(())
        }
        DeliverCommand::Run { common, lease_seconds, keep_running, until_idle, poll_seconds, rooms } => {
            let (config, mut store, mut log) = open_accepted_as(common, true)?;
            let notices = room_notices(&config, rooms)?;
            let options = crate::run_loop::LoopOptions {
                lease_seconds: *lease_seconds,
                keep_running: *keep_running,
                until_idle: *until_idle,
                poll_seconds: *poll_seconds,
            };
            let s = crate::run_loop::run(&config, &common.config, &mut store, notices.as_ref(), log.as_mut(), options)?;
            crate::say!(
                "sent {}, retry scheduled {}, failed {}, dead-lettered {}",
                s.sent,
                s.retried,
                s.failed,
                s.dead_lettered
            );
            Ok(())
        }
    }
}

fn list_approvals(cmd: &ApprovalsCommand, common: &Common) -> Result<()> {
    let (_, mut store, _) = open(common)?;
    let all = store.approvals(now().0)?;
    for a in &all {
        if matches!(cmd, ApprovalsCommand::Export { .. }) {
            crate::say!("{}", serde_json::to_string(a)?);
        } else {
            crate::say!(
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
        crate::say!("{} request(s)", all.len());
    }
    Ok(())
}

pub fn approvals(cmd: &ApprovalsCommand) -> Result<()> {
    use cavra_deliver::approval::ApprovalState;
    let (d, to) = match cmd {
        ApprovalsCommand::Approve(d) => (d, ApprovalState::Approved),
        ApprovalsCommand::Reject(d) => (d, ApprovalState::Rejected),
        ApprovalsCommand::NeedsMoreInfo(d) => (d, ApprovalState::NeedsMoreInfo),
        ApprovalsCommand::Revoke(d) => (d, ApprovalState::Revoked),
        ApprovalsCommand::List { common } | ApprovalsCommand::Export { common } => return list_approvals(cmd, common),
    };
    let (config, mut store, mut log) = open_accepted(&d.common)?;
    let (t, at) = now();
    let outcome = d.principal.signer(&config).and_then(|signer| {
        let decided = store.decide(&config, &signer, &d.id, to, d.reason.as_deref(), t)?;
        Ok((signer, decided))
    });
    let refusal = AuditEvent::new(&at, AuditAction::Approve, AuditStatus::BlockedPolicy)
        .approval(Some(&d.id), ApprovalDecision::Pending);
    let (signer, decided) = recorded(&mut log, refusal, outcome)?;
    let decision = match decided.state {
        ApprovalState::Approved => ApprovalDecision::Approved,
        ApprovalState::Pending => ApprovalDecision::Pending,
        ApprovalState::Rejected | ApprovalState::Revoked => ApprovalDecision::Denied,
        ApprovalState::NeedsMoreInfo => ApprovalDecision::NeedsMoreInfo,
        ApprovalState::Expired => ApprovalDecision::Expired,
    };
    let status = if to == ApprovalState::Approved { AuditStatus::Accepted } else { AuditStatus::BlockedPolicy };
    let event = AuditEvent::new(&at, AuditAction::Approve, status)
        .by(Some(signer.actor()))
        .approval(Some(&d.id), decision)
        .detail(format!(
            "{} signed; {} of {} approval(s); {} job(s) changed",
            to.as_str(),
            decided.approvers,
            decided.needed,
            decided.changed
        ));
    record(&mut log, &event)?;
    crate::say!(
        "{}: {} signed by {}; now {} ({} of {} approval(s)); {} job(s) changed",
        d.id,
        to.as_str(),
        signer.name(),
        decided.state.as_str(),
        decided.approvers,
        decided.needed,
        decided.changed
    );
    Ok(())
}

/// The files a bounce path names: a file, or a maildir's messages.
fn bounce_files(paths: &[PathBuf]) -> Vec<PathBuf> {
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
    files
}

pub fn bounces(cmd: &BouncesCommand) -> Result<()> {
    let BouncesCommand::Ingest { common, paths } = cmd;
    let (_, mut store, mut log) = open(common)?;
    let files = bounce_files(paths);
    let (t, at) = now();
    let (mut hard, mut soft, mut linked, mut junk) = (0, 0, 0, 0);
    for f in &files {
        let parsed = cavra_model::limits::read_text_bounded(f, cavra_model::limits::BOUNCE_BYTES)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                if f.extension().is_some_and(|e| e == "json") {
                    cavra_deliver::bounce::parse_provider_events(&text)
                } else {
                    cavra_deliver::bounce::parse_dsn(&text)
                }
                .map_err(|e| e.to_string())
            });
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                junk += 1;
                eprintln!("skipped {}: {e}", f.display());
                continue;
            }
        };
        linked += store.record_bounces(&parsed, t)?;
        for b in &parsed {
            match b.kind {
                cavra_deliver::bounce::BounceKind::Hard => hard += 1,
                cavra_deliver::bounce::BounceKind::Soft => soft += 1,
            }
            let domain = b.recipient.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
            let event = AuditEvent::new(&at, AuditAction::Bounce, AuditStatus::Failed)
                .recipients(RecipientSummary::one(&domain))
                .detail(format!("{:?} bounce {}", b.kind, b.status).to_lowercase());
            record(&mut log, &event)?;
        }
    }
    crate::say!(
        "{} file(s): {hard} hard bounce(s) (suppressed), {soft} soft; {linked} linked to jobs; {junk} skipped",
        files.len()
    );
    if junk > 0 {
        let why = format!("{junk} file(s) were not bounce reports (listed above); the others were ingested");
        return Err(crate::commands::Outcome::SomeFailed(why).into());
    }
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
                crate::say!("{}  {}  {}  next {when}", s.id, e.cadence, s.timezone);
            }
            crate::say!("{} schedule(s)", config.schedules.len());
            Ok(())
        }
        ScheduleCommand::RunDue { common, principal, lookback_hours } => run_due(common, principal, *lookback_hours),
        ScheduleCommand::Next { cadence, timezone, count, after } => {
            let cadence = cavra_deliver::schedule::Cadence::parse(cadence)?;
            let s = cavra_deliver::schedule::Schedule::new("preview", cadence, timezone)?;
            let after = match after {
                Some(a) => cavra_model::Timestamp::parse(a).map_err(anyhow::Error::msg)?,
                None => cavra_model::Timestamp::from_unix_seconds(now().0).map_err(anyhow::Error::msg)?,
            };
            for r in cavra_deliver::schedule::next_runs(&s, after, *count) {
                crate::say!("{}  {}  {:?}", r.at, r.local, r.kind);
            }
            Ok(())
        }
    }
}

fn run_due(common: &Common, principal: &AsPrincipal, lookback_hours: i64) -> Result<()> {
    let (config, mut store, mut log) = open_accepted(common)?;
    let (t, at) = now();
    let signer = principal.signer(&config).and_then(|s| {
        s.require(&config, Permission::Schedule)?;
        Ok(s)
    });
    let signer = recorded(&mut log, AuditEvent::new(&at, AuditAction::Schedule, AuditStatus::BlockedPolicy), signer)?;
    let now_ts = cavra_model::Timestamp::from_unix_seconds(t).map_err(anyhow::Error::msg)?;
    let fired = cavra_deliver::schedule::run_due(&config, &signer, &mut store, now_ts, lookback_hours * 3600)?;
    for f in &fired {
        crate::say!(
            "{}  queued {}{}",
            f.run.key,
            f.queued,
            f.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default()
        );
        let (status, decision) = match (&f.approval, f.queued) {
            (Some(_), _) => (AuditStatus::BlockedRequiresApproval, ApprovalDecision::Pending),
            (None, 0) => (AuditStatus::BlockedPolicy, ApprovalDecision::NotRequired),
            (None, _) => (AuditStatus::Scheduled, ApprovalDecision::NotRequired),
        };
        let event = AuditEvent::new(&at, AuditAction::Schedule, status)
            .by(Some(signer.actor()))
            .approval(f.approval.as_deref(), decision)
            .evidence(&f.run.key);
        record(&mut log, &event)?;
    }
    crate::say!("{} run(s) fired", fired.len());
    Ok(())
}
