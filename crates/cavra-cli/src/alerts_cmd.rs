//! `alerts …`: evaluate the `[alerts]` rules over the report center's
//! records, and acknowledge, suppress, resolve or list alerts.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cavra_deliver::audit::AuditLog;
use cavra_deliver::config::Config;
use cavra_deliver::identity::Signer;
use cavra_model::Timestamp;
use cavra_ops::collect::{Sources, Window};
use cavra_ops::response::alerts::{self, Action};
use cavra_ops::response::{workflows, Recorded};
use clap::{Args, Subcommand};

use crate::evidence::{AsPrincipal, AuditArgs};
use crate::records::StoreLocation;

/// The setup file, the record store and the audit log.
#[derive(Debug, Args)]
pub struct ResponseCommon {
    /// The setup file (principals, roles, `[alerts]`, `[store]`).
    #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub store: StoreLocation,
    #[command(flatten)]
    pub audit: AuditArgs,
}

impl ResponseCommon {
    pub fn load(&self) -> Result<(Config, cavra_store::Store, Option<AuditLog>)> {
        let config = Config::load(&self.config)?;
        let mut store = self.store.open(Some(&config))?;
        store.require(cavra_ops::response::RESPONSE_MIGRATIONS)?;
        let log = self.audit.open()?;
        Ok((config, store, log))
    }
}

/// Runs one ledger action as the principal: the setup file, the store and
/// the audit log opened, the principal authenticated, the event appended
/// and audited.
pub fn act(
    common: &ResponseCommon,
    principal: &AsPrincipal,
    action: impl FnOnce(&mut cavra_store::Store, &Config, &Signer) -> Result<Recorded, cavra_ops::response::ResponseError>,
) -> Result<()> {
    let (config, mut store, mut log) = common.load()?;
    let signer = principal.signer(&config)?;
    let r = action(&mut store, &config, &signer)?;
    recorded(&mut log, &signer, &r)
}

/// Appends a ledger event's audit record, and says what was recorded.
pub fn recorded(log: &mut Option<AuditLog>, signer: &Signer, r: &Recorded) -> Result<()> {
    if let Some(l) = log.as_mut() {
        l.append(&workflows::audit_event(r, signer, &crate::deliver::now().1))?;
    }
    crate::say!("{}  {}  event {}  {}", r.statement.subject, r.statement.event.name(), r.statement.seq, r.digest);
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Evaluate the rules over the window before --at: raise new alerts, count repeats against the
    /// open ones, route unrouted levels through the outbox and escalate what waited too long.
    Evaluate {
        #[command(flatten)]
        common: ResponseCommon,
        /// The delivery outbox the notices are queued in (the setup file must be accepted for it).
        #[arg(long, value_name = "FILE.db|URL", default_value = "outbox.db")]
        outbox: String,
        /// Evaluate as of this instant (RFC 3339; default: now).
        #[arg(long, value_name = "TIME", value_parser = Timestamp::parse)]
        at: Option<Timestamp>,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Take an alert on: it stops escalating.
    Ack {
        /// The alert.
        id: String,
        /// A short note.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Pause an alert's routing and escalation until a time.
    Suppress {
        /// The alert.
        id: String,
        /// The end of the suppression (RFC 3339).
        #[arg(long, value_name = "TIME", value_parser = Timestamp::parse)]
        until: Timestamp,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Close an alert (its remediation plan, if any, must be closed).
    Resolve {
        /// The alert.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// List the alerts of the verified ledger.
    List {
        #[command(flatten)]
        common: ResponseCommon,
    },
}

pub fn alerts(cmd: &AlertsCommand) -> Result<()> {
    let now = crate::deliver::now().0;
    match cmd {
        AlertsCommand::Evaluate { common, outbox, at, principal } => evaluate(common, outbox, *at, principal),
        AlertsCommand::Ack { id, note, common, principal } => {
            act(common, principal, |st, c, s| workflows::acknowledge(st, c, s, id, note.as_deref(), now))
        }
        AlertsCommand::Suppress { id, until, reason, common, principal } => {
            act(common, principal, |st, c, s| workflows::suppress(st, c, s, id, (*until, reason), now))
        }
        AlertsCommand::Resolve { id, reason, common, principal } => {
            act(common, principal, |st, c, s| workflows::resolve(st, c, s, id, reason, now))
        }
        AlertsCommand::List { common } => {
            let (config, mut store, _) = common.load()?;
            let (_, ledger) = workflows::load(&mut store, &config)?;
            for a in ledger.alerts.values() {
                crate::say!(
                    "{}  level {}  {}  rule {}  about {}  raised {}{}",
                    a.id,
                    a.level,
                    a.status.as_str(),
                    a.rule_id,
                    a.dedupe_key,
                    a.raised_at,
                    a.plan.as_deref().map(|p| format!("  plan {p}")).unwrap_or_default()
                );
            }
            crate::say!("{} alert(s)", ledger.alerts.len());
            Ok(())
        }
    }
}

/// What an evaluation did.
#[derive(Default)]
struct Tally {
    raised: usize,
    deduplicated: usize,
    escalated: usize,
    jobs: usize,
}

fn evaluate(common: &ResponseCommon, outbox: &str, at: Option<Timestamp>, principal: &AsPrincipal) -> Result<()> {
    let (config, mut store, _) = common.load()?;
    let signer = principal.signer(&config)?;
    let now = match at {
        Some(t) => t,
        None => Timestamp::from_unix_seconds(crate::deliver::now().0).map_err(anyhow::Error::msg)?,
    };
    let mut queue = crate::deliver::accepted_outbox(&config, &common.config, outbox)?;
    let policy = config.recipient_policy()?;
    let audit_key = match (&common.audit.audit_log, &common.audit.audit_key) {
        (Some(_), Some(k)) => Some(crate::evidence::load_key(k, None, "--audit-key")?.public_key()),
        _ => None,
    };
    let start = Timestamp::from_unix_seconds(now.unix_seconds() - config.alerts.window_seconds())
        .map_err(anyhow::Error::msg)?;
    let snapshot = {
        let sources = Sources {
            organisation: crate::ops_cmd::organisation(Some(&config)),
            transport: config.delivery.mode.as_str(),
            policy: &policy,
            outbox: Some(&queue),
            store: Some(&mut store),
            principals: Some(&config),
            audit: common.audit.audit_log.as_deref().zip(audit_key.as_ref()),
        };
        cavra_ops::collect::assemble(sources, Window { start: Some(start), end: now })
            .context("assembling the records to evaluate")?
    };
    let targets = cavra_ops::metrics::Targets::default();
    let actions = alerts::evaluate(&config.alerts.rules, &snapshot, &snapshot.ledger(), &targets, now);
    let mut log = common.audit.open()?;
    let t = now.unix_seconds();
    let mut tally = Tally::default();
    for action in &actions {
        match action {
            Action::Raise { alert_id, finding } => {
                let r = workflows::raise(&mut store, &config, &signer, alert_id, finding, t)?;
                recorded(&mut log, &signer, &r)?;
                tally.raised += 1;
            }
            Action::Deduplicated { .. } => tally.deduplicated += 1,
            Action::Escalate { alert_id, from_level, to_level } => {
                let r = workflows::escalate(&mut store, &config, &signer, alert_id, (*from_level, *to_level), t)?;
                recorded(&mut log, &signer, &r)?;
                tally.escalated += 1;
            }
            Action::Route { alert_id, level, route } => {
                // The notices are due at once, whatever instant the evaluation is as of.
                let due = crate::deliver::now().0;
                let plan = workflows::route_plans(&mut store, &config, &signer, (alert_id, *level), route, due)?;
                crate::deliver::queue(&config, &mut queue, &mut log, &signer, &plan, &crate::deliver::now().1)?;
                tally.jobs += plan.jobs.len();
                let plans = std::slice::from_ref(&plan);
                let r = workflows::routed(&mut store, &config, &signer, (alert_id, *level), plans, &policy, t)?;
                recorded(&mut log, &signer, &r)?;
            }
        }
    }
    crate::say!(
        "{} rule(s) evaluated as of {now}: {} raised, {} deduplicated, {} escalated, {} notice job(s) queued",
        config.alerts.rules.len(),
        tally.raised,
        tally.deduplicated,
        tally.escalated,
        tally.jobs
    );
    Ok(())
}
