//! `remediation …`, `incident close` and `exception …`: the response
//! workflows after an alert, each action signed into the response ledger
//! and recorded in the audit log.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cavra_model::Timestamp;
use cavra_ops::response::workflows::{self, Closure, IncidentClosure, NewPlan};
use cavra_ops::response::{ResponseEvent, RiskLevel};
use clap::Subcommand;

use crate::alerts_cmd::{act, ResponseCommon};
use crate::evidence::AsPrincipal;

#[derive(Debug, Subcommand)]
pub enum RemediationCommand {
    /// Plan an alert's remediation from a plan file (tasks with owner roles, due dates and
    /// approval requirements; closure criteria; control updates; communications).
    Plan {
        /// The alert.
        alert: String,
        /// The plan file (TOML; see docs/operations.md).
        #[arg(long, value_name = "PLAN.toml")]
        plan: PathBuf,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// A plan's tasks.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Close a plan whose tasks are done: the final approval (a principal with `approve`, not the
    /// planner) accepting the residual risk.
    Close {
        /// The plan.
        plan: String,
        /// The residual risk accepted: none, low, medium or high.
        #[arg(long, value_name = "LEVEL")]
        residual_risk: RiskLevel,
        /// The post-incident review's outcome.
        #[arg(long)]
        review: String,
        /// Whether the communications were made.
        #[arg(long)]
        communications: String,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Mark a task done (a task that needs approval: by a principal with `approve`).
    Done {
        /// The plan.
        plan: String,
        /// The task (`T1`…).
        task: String,
        /// Evidence of completion: `sha256:…` or a store item id.
        #[arg(long, value_name = "REF")]
        evidence: Option<String>,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
}

pub fn remediation(cmd: &RemediationCommand) -> Result<()> {
    let now = crate::deliver::now().0;
    match cmd {
        RemediationCommand::Plan { alert, plan, common, principal } => {
            let text = cavra_model::limits::read_text_bounded(plan, 1024 * 1024)
                .with_context(|| plan.display().to_string())?;
            let new = NewPlan::from_toml(&text).with_context(|| plan.display().to_string())?;
            act(common, principal, |st, c, s| workflows::plan(st, c, s, alert, &new, now))
        }
        RemediationCommand::Task(TaskCommand::Done { plan, task, evidence, common, principal }) => {
            act(common, principal, |st, c, s| workflows::task_done(st, c, s, (plan, task), evidence.as_deref(), now))
        }
        RemediationCommand::Close { plan, residual_risk, review, communications, common, principal } => {
            let closure = Closure {
                residual_risk: *residual_risk,
                review_outcome: review.clone(),
                communications_status: communications.clone(),
            };
            act(common, principal, |st, c, s| workflows::close_plan(st, c, s, plan, &closure, now))
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Close an incident: the closure approval (a principal with `approve`), with its remediation
    /// plans, lessons learned, follow-up tasks and the digests of its packet and closure manifest.
    Close {
        /// The incident's reference (as in the activity snapshot).
        incident: String,
        /// When it was opened (RFC 3339).
        #[arg(long, value_name = "TIME", value_parser = Timestamp::parse)]
        opened: Timestamp,
        /// low, medium, high or critical.
        #[arg(long)]
        severity: String,
        /// A remediation plan that closed it (repeatable; each must be closed).
        #[arg(long = "plan", value_name = "rem-…")]
        plans: Vec<String>,
        /// A lesson learned (repeatable).
        #[arg(long = "lesson")]
        lessons: Vec<String>,
        /// A follow-up task (repeatable).
        #[arg(long = "follow-up")]
        follow_ups: Vec<String>,
        /// The incident packet, recorded by its digest.
        #[arg(long, value_name = "FILE.zip")]
        packet: Option<PathBuf>,
        /// The closure manifest, recorded by its digest.
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
}

fn file_digest(path: &std::path::Path) -> Result<String> {
    let f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    cavra_package::manifest::sha256_tagged_reader(std::io::BufReader::new(f))
        .with_context(|| path.display().to_string())
}

pub fn incident(cmd: &IncidentCommand) -> Result<()> {
    let IncidentCommand::Close {
        incident,
        opened,
        severity,
        plans,
        lessons,
        follow_ups,
        packet,
        manifest,
        common,
        principal,
    } = cmd;
    let now = crate::deliver::now().0;
    let c = IncidentClosure {
        opened_at: *opened,
        severity: severity.clone(),
        remediation_refs: plans.clone(),
        lessons_learned: lessons.clone(),
        follow_up_tasks: follow_ups.clone(),
        packet_digest: packet.as_deref().map(file_digest).transpose()?,
        manifest_digest: manifest.as_deref().map(file_digest).transpose()?,
    };
    act(common, principal, |st, config, s| workflows::close_incident(st, config, s, incident, &c, now))
}

#[derive(Debug, Subcommand)]
pub enum ExceptionCommand {
    /// Renew an exception until a date.
    Renew {
        /// The exception's reference.
        exception: String,
        /// The new expiry (RFC 3339).
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
    /// Revoke an exception before its expiry.
    Revoke {
        /// The exception's reference.
        exception: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Record that an exception reached its expiry.
    Expire {
        /// The exception's reference.
        exception: String,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
    /// Close an exception: the control it excused now holds.
    Close {
        /// The exception's reference.
        exception: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: ResponseCommon,
        #[command(flatten)]
        principal: AsPrincipal,
    },
}

pub fn exception(cmd: &ExceptionCommand) -> Result<()> {
    let (exception, event, common, principal) = match cmd {
        ExceptionCommand::Renew { exception, until, reason, common, principal } => {
            (exception, ResponseEvent::ExceptionRenewed { until: *until, reason: reason.clone() }, common, principal)
        }
        ExceptionCommand::Revoke { exception, reason, common, principal } => {
            (exception, ResponseEvent::ExceptionRevoked { reason: reason.clone() }, common, principal)
        }
        ExceptionCommand::Expire { exception, common, principal } => {
            (exception, ResponseEvent::ExceptionExpired {}, common, principal)
        }
        ExceptionCommand::Close { exception, reason, common, principal } => {
            (exception, ResponseEvent::ExceptionClosed { reason: reason.clone() }, common, principal)
        }
    };
    let now = crate::deliver::now().0;
    act(common, principal, |st, c, s| workflows::exception(st, c, s, exception, event, now))
}
