//! The response workflows over the record store: every action is checked
//! against the acting principal's permissions and its subject's state, then
//! appended to the ledger as an event signed by that principal.
//!
//! - alerts: [`raise`], [`route_plans`] and [`routed`], [`escalate`],
//!   [`acknowledge`], [`suppress`], [`resolve`] (`respond`);
//! - remediation: [`plan`] and [`task_done`] (`respond`), [`close_plan`]
//!   (`approve`, by another principal than the planner: the final approval);
//! - [`close_incident`] (`approve`: the closure approval);
//! - exceptions: [`exception`] (`respond`) for renewal, revocation, expiry
//!   and closure, each a lifecycle event instead of an edit.
//!
//! Each returns the [`Recorded`] event; the caller appends [`audit_event`]
//! of it to the signed audit log, so every step is in both chains.

use cavra_deliver::audit::{AuditAction, AuditEvent, AuditStatus};
use cavra_deliver::config::{Config, Permission};
use cavra_deliver::identity::Signer;
use cavra_deliver::policy::RecipientPolicy;
use cavra_deliver::send::Plan;
use cavra_model::Timestamp;
use cavra_store::Store;
use sha2::{Digest, Sha256};

use super::alerts::Finding;
use super::fold::{AlertState, Ledger};
use super::{PlannedTask, Recorded, ResponseError, ResponseEvent, RiskLevel, RoutedJob};
use crate::snapshot::ResponseRecord;

/// The ledger's events as snapshot records (no audit link) and their fold.
///
/// # Errors
/// A ledger that does not verify or does not fold.
pub fn load(store: &mut Store, config: &Config) -> Result<(Vec<ResponseRecord>, Ledger), ResponseError> {
    let records: Vec<ResponseRecord> = super::read(store, config)?.into_iter().map(record_of).collect();
    let ledger = Ledger::fold(&records)
        .map_err(|m| ResponseError::Tampered { seq: records.get(m.index).map_or(0, |r| r.seq), reason: m.reason })?;
    Ok((records, ledger))
}

/// A verified event as a snapshot record.
pub fn record_of(r: Recorded) -> ResponseRecord {
    ResponseRecord {
        seq: r.statement.seq,
        at: r.statement.at,
        subject: r.statement.subject,
        actor_key_id: r.statement.actor_key_id,
        digest: r.digest,
        audit_seq: None,
        event: r.statement.event,
    }
}

/// The audit event of a ledger event: action `response`, the statement's
/// digest, the subject as evidence and the event's name as detail.
pub fn audit_event(r: &Recorded, signer: &Signer, at: &str) -> AuditEvent {
    AuditEvent::new(at, AuditAction::Response, AuditStatus::Accepted)
        .by(Some(signer.actor()))
        .digest(&r.digest)
        .evidence(&r.statement.subject)
        .detail(r.statement.event.name())
}

/// Checks `permission`, that `event` fits `subject`'s state, and appends it.
fn act(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    permission: Permission,
    subject: &str,
    event: ResponseEvent,
    now: i64,
) -> Result<Recorded, ResponseError> {
    signer.require(config, permission).map_err(|r| ResponseError::Refused(r.problems.join("; ")))?;
    let (mut records, _) = load(store, config)?;
    let at = Timestamp::from_unix_seconds(now).map_err(ResponseError::Invalid)?;
    records.push(ResponseRecord {
        seq: records.last().map_or(1, |r| r.seq + 1),
        at,
        subject: subject.to_string(),
        actor_key_id: signer.key_id(),
        digest: String::new(),
        audit_seq: None,
        event: event.clone(),
    });
    Ledger::fold(&records).map_err(|m| ResponseError::State(m.reason))?;
    super::append(store, signer, subject, event, now)
}

fn alert(store: &mut Store, config: &Config, id: &str) -> Result<AlertState, ResponseError> {
    let (_, ledger) = load(store, config)?;
    ledger.alerts.get(id).cloned().ok_or_else(|| ResponseError::NotFound(id.to_string()))
}

/// Raises `alert_id` for a finding.
///
/// # Errors
/// As every action: permission, state, store.
pub fn raise(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    alert_id: &str,
    f: &Finding,
    now: i64,
) -> Result<Recorded, ResponseError> {
    let event = ResponseEvent::AlertRaised {
        rule_id: f.rule_id.clone(),
        signal: f.signal.as_str().to_string(),
        dedupe_key: f.key.clone(),
        observed: f.observed.clone(),
        objective: f.objective.clone(),
    };
    act(store, config, signer, Permission::Respond, alert_id, event, now)
}

/// Raises an alert's level.
///
/// # Errors
/// As every action.
pub fn escalate(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    alert_id: &str,
    (from_level, to_level): (u32, u32),
    now: i64,
) -> Result<Recorded, ResponseError> {
    let event = ResponseEvent::AlertEscalated { from_level, to_level };
    act(store, config, signer, Permission::Respond, alert_id, event, now)
}

/// The prefix of an alert notice's reference.
pub const NOTICE_PREFIX: &str = "alert:";

/// The format of an alert notice's descriptor.
pub const NOTICE_FORMAT: &str = "cavra.alert_notice.v1";

/// The reference of the notice of `alert_id` at `level`.
pub fn notice_reference(alert_id: &str, level: u32) -> String {
    format!("{NOTICE_PREFIX}{alert_id}:{level}")
}

/// The bytes whose digest the routing principal signs: what the alert is
/// and the level routed.
pub fn notice_descriptor(a: &AlertState, level: u32) -> Vec<u8> {
    let d = serde_json::json!({
        "format": NOTICE_FORMAT,
        "alert_id": a.id,
        "level": level,
        "rule_id": a.rule_id,
        "signal": a.signal,
        "dedupe_key": a.dedupe_key,
        "observed": a.observed,
        "objective": a.objective,
        "raised_at": a.raised_at,
    });
    cavra_model::canonical::to_canonical_string(&d).into_bytes()
}

/// The subject line of an alert notice.
pub fn notice_subject(a: &AlertState, level: u32) -> String {
    format!("Report center alert {} (level {level}): rule {}", a.id, a.rule_id)
}

/// The outbox plan of routing `alert_id` at `level` to `route` (each a
/// recipient or `group:NAME`; an address named twice gets one job), signed
/// by `signer` and held to the recipient policy like any send. Queue it,
/// then record [`routed`].
///
/// # Errors
/// No such alert; the policy or the signer's permissions refuse a recipient.
pub fn route_plans(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    (alert_id, level): (&str, u32),
    route: &[String],
    now: i64,
) -> Result<Plan, ResponseError> {
    let a = alert(store, config, alert_id)?;
    let descriptor = notice_descriptor(&a, level);
    let reference = notice_reference(alert_id, level);
    let subject = notice_subject(&a, level);
    cavra_deliver::send::plan_notice_to(config, signer, route, (&subject, &reference), &descriptor, now)
        .map_err(|r| ResponseError::Refused(r.problems.join("; ")))
}

/// Records that `plans` were queued for `alert_id` at `level`: the jobs by
/// id, recipient class and domain.
///
/// # Errors
/// As every action.
pub fn routed(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    (alert_id, level): (&str, u32),
    plans: &[Plan],
    policy: &RecipientPolicy,
    now: i64,
) -> Result<Recorded, ResponseError> {
    let mut jobs: Vec<RoutedJob> = plans
        .iter()
        .flat_map(|p| &p.jobs)
        .map(|j| {
            let domain = cavra_deliver::policy::parse_address(&j.recipient).map(|a| a.domain).unwrap_or_default();
            let class = policy.classify_domain(&domain).map_or("unclassified", |c| c.as_str()).to_string();
            RoutedJob { job_id: j.id.clone(), recipient_class: class, recipient_domain: domain }
        })
        .collect();
    jobs.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    jobs.dedup();
    act(store, config, signer, Permission::Respond, alert_id, ResponseEvent::AlertRouted { level, jobs }, now)
}

/// Takes an alert on: it no longer escalates.
///
/// # Errors
/// As every action; an alert already acknowledged or resolved.
pub fn acknowledge(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    alert_id: &str,
    note: Option<&str>,
    now: i64,
) -> Result<Recorded, ResponseError> {
    let event = ResponseEvent::AlertAcknowledged { note: note.map(str::to_string) };
    act(store, config, signer, Permission::Respond, alert_id, event, now)
}

/// Pauses routing and escalation until `until`.
///
/// # Errors
/// As every action; a suppression that ends before it starts.
pub fn suppress(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    alert_id: &str,
    (until, reason): (Timestamp, &str),
    now: i64,
) -> Result<Recorded, ResponseError> {
    let event = ResponseEvent::AlertSuppressed { until, reason: reason.to_string() };
    act(store, config, signer, Permission::Respond, alert_id, event, now)
}

/// Closes an alert.
///
/// # Errors
/// As every action; an alert whose remediation plan is still open.
pub fn resolve(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    alert_id: &str,
    reason: &str,
    now: i64,
) -> Result<Recorded, ResponseError> {
    let (_, ledger) = load(store, config)?;
    if let Some(p) = ledger.alerts.get(alert_id).and_then(|a| a.plan.as_ref()) {
        if ledger.plans.get(p).is_some_and(|p| p.status == super::PlanStatus::Open) {
            return Err(ResponseError::State(format!("{alert_id} has open plan {p}: close it first")));
        }
    }
    let event = ResponseEvent::AlertResolved { reason: reason.to_string() };
    act(store, config, signer, Permission::Respond, alert_id, event, now)
}

/// What a remediation plan holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPlan {
    /// The incident it belongs to.
    pub incident_ref: Option<String>,
    /// Tasks: title, owner role, due date, whether completion needs approval.
    pub tasks: Vec<(String, String, Timestamp, bool)>,
    /// What must hold to close it.
    pub closure_criteria: Vec<String>,
    /// Controls to change.
    pub control_updates: Vec<String>,
    /// Who must be told.
    pub communications: Vec<String>,
}

/// The id of the plan for `alert_id` made at `now`.
pub fn plan_id(alert_id: &str, now: i64) -> String {
    let hex = format!("{:x}", Sha256::digest(format!("{alert_id}\n{now}").as_bytes()));
    format!("rem-{}", &hex[..16])
}

/// Plans the remediation of an alert (one plan per alert).
///
/// # Errors
/// As every action; an unknown owner role, a task due before `now`, an
/// alert that already has a plan or is resolved.
pub fn plan(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    alert_id: &str,
    new: &NewPlan,
    now: i64,
) -> Result<Recorded, ResponseError> {
    let a = alert(store, config, alert_id)?;
    if a.status == super::AlertStatus::Resolved {
        return Err(ResponseError::State(format!("{alert_id} is resolved")));
    }
    if let Some(i) = &new.incident_ref {
        super::check_ref(i)?;
    }
    let mut tasks = Vec::new();
    for (i, (title, role, due, approval)) in new.tasks.iter().enumerate() {
        if !config.roles.contains_key(role) {
            return Err(ResponseError::Invalid(format!("task {}: role `{role}` is not defined", i + 1)));
        }
        if due.unix_seconds() <= now {
            return Err(ResponseError::Invalid(format!("task {}: due in the past", i + 1)));
        }
        tasks.push(PlannedTask {
            task_id: format!("T{}", i + 1),
            title: title.clone(),
            owner_role: role.clone(),
            due_at: *due,
            approval_required: *approval,
        });
    }
    let event = ResponseEvent::RemediationPlanned {
        alert_id: alert_id.to_string(),
        incident_ref: new.incident_ref.clone(),
        tasks,
        closure_criteria: new.closure_criteria.clone(),
        control_updates: new.control_updates.clone(),
        communications: new.communications.clone(),
    };
    act(store, config, signer, Permission::Respond, &plan_id(alert_id, now), event, now)
}

/// Marks a task done. A task that needs approval is done only by a
/// principal with `approve`; the owner role's members or `respond` holders
/// otherwise.
///
/// # Errors
/// As every action; an unknown or finished task.
pub fn task_done(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    (plan_id, task_id): (&str, &str),
    evidence_ref: Option<&str>,
    now: i64,
) -> Result<Recorded, ResponseError> {
    let (_, ledger) = load(store, config)?;
    let p = ledger.plans.get(plan_id).ok_or_else(|| ResponseError::NotFound(plan_id.to_string()))?;
    let t = p
        .tasks
        .iter()
        .find(|t| t.task.task_id == task_id)
        .ok_or_else(|| ResponseError::NotFound(format!("{plan_id} {task_id}")))?;
    if let Some(e) = evidence_ref {
        super::check_ref(e.trim_start_matches("sha256:"))?;
    }
    let permission = if t.task.approval_required { Permission::Approve } else { Permission::Respond };
    let event =
        ResponseEvent::TaskDone { task_id: task_id.to_string(), evidence_ref: evidence_ref.map(str::to_string) };
    act(store, config, signer, permission, plan_id, event, now)
}

/// How a plan is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// The residual risk the signer accepts.
    pub residual_risk: RiskLevel,
    /// The post-incident review's outcome.
    pub review_outcome: String,
    /// Whether the communications were made.
    pub communications_status: String,
}

/// Closes a plan whose tasks are all done: the signer (with `approve`, not
/// the planner) gives the final approval and accepts the residual risk.
///
/// # Errors
/// As every action; open tasks; the planner closing their own plan.
pub fn close_plan(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    plan_id: &str,
    c: &Closure,
    now: i64,
) -> Result<Recorded, ResponseError> {
    let (_, ledger) = load(store, config)?;
    let p = ledger.plans.get(plan_id).ok_or_else(|| ResponseError::NotFound(plan_id.to_string()))?;
    if p.planned_by == signer.key_id() {
        return Err(ResponseError::Refused(format!(
            "{plan_id} was planned by this principal; its final approval needs another"
        )));
    }
    let event = ResponseEvent::RemediationClosed {
        completed_tasks: p.tasks.iter().map(|t| t.task.task_id.clone()).collect(),
        residual_risk: c.residual_risk,
        review_outcome: c.review_outcome.clone(),
        communications_status: c.communications_status.clone(),
    };
    act(store, config, signer, Permission::Approve, plan_id, event, now)
}

pub use super::fold::IncidentClosure;

/// The severities an incident may have.
pub const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];

/// Closes an incident: the signer (with `approve`) approves the closure.
///
/// # Errors
/// As every action; an incident closed already; a plan still open.
pub fn close_incident(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    incident_ref: &str,
    c: &IncidentClosure,
    now: i64,
) -> Result<Recorded, ResponseError> {
    super::check_ref(incident_ref)?;
    if !SEVERITIES.contains(&c.severity.as_str()) {
        return Err(ResponseError::Invalid(format!("severity `{}`: one of {}", c.severity, SEVERITIES.join(", "))));
    }
    for d in c.packet_digest.iter().chain(&c.manifest_digest) {
        let hex = d.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() != 64 || !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return Err(ResponseError::Invalid(format!("`{d}` is not a sha256: digest")));
        }
    }
    let event = ResponseEvent::IncidentClosed {
        opened_at: c.opened_at,
        severity: c.severity.clone(),
        remediation_refs: c.remediation_refs.clone(),
        lessons_learned: c.lessons_learned.clone(),
        follow_up_tasks: c.follow_up_tasks.clone(),
        packet_digest: c.packet_digest.clone(),
        manifest_digest: c.manifest_digest.clone(),
    };
    act(store, config, signer, Permission::Approve, &format!("inc:{incident_ref}"), event, now)
}

/// Records a lifecycle event of an exception (`ExceptionRenewed`,
/// `ExceptionRevoked`, `ExceptionExpired` or `ExceptionClosed`).
///
/// # Errors
/// As every action; an event of another kind; a revoked or closed
/// exception; a renewal into the past; an expiry before the date.
pub fn exception(
    store: &mut Store,
    config: &Config,
    signer: &Signer,
    exception_ref: &str,
    event: ResponseEvent,
    now: i64,
) -> Result<Recorded, ResponseError> {
    super::check_ref(exception_ref)?;
    if !event.name().starts_with("exception_") {
        return Err(ResponseError::Invalid(format!("{} is not an exception event", event.name())));
    }
    act(store, config, signer, Permission::Respond, &format!("exc:{exception_ref}"), event, now)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    incident: Option<String>,
    #[serde(default)]
    tasks: Vec<TaskFile>,
    #[serde(default)]
    closure_criteria: Vec<String>,
    #[serde(default)]
    control_updates: Vec<String>,
    #[serde(default)]
    communications: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskFile {
    title: String,
    owner_role: String,
    due: String,
    #[serde(default)]
    approval_required: bool,
}

impl NewPlan {
    /// Reads a plan file:
    ///
    /// ```
    /// let plan = cavra_ops::response::workflows::NewPlan::from_toml(r#"
    /// incident = "INC-2026-041"
    /// closure_criteria = ["two weeks without a dead letter"]
    /// control_updates = ["relay credentials rotate every 90 days"]
    /// communications = ["the CISO is told when the plan closes"]
    /// [[tasks]]
    /// title = "Rotate the relay credentials"
    /// owner_role = "secops"
    /// due = "2026-12-09T00:00:00Z"
    /// approval_required = true
    /// "#).unwrap();
    /// assert_eq!(plan.tasks.len(), 1);
    /// assert!(cavra_ops::response::workflows::NewPlan::from_toml("tasks = 1").is_err());
    /// ```
    ///
    /// # Errors
    /// [`ResponseError::Invalid`] with the line or the task.
    pub fn from_toml(text: &str) -> Result<NewPlan, ResponseError> {
        let f: PlanFile =
            toml::from_str(text).map_err(|e| ResponseError::Invalid(format!("plan file: {}", e.message())))?;
        let mut tasks = Vec::new();
        for (i, t) in f.tasks.into_iter().enumerate() {
            let due = Timestamp::parse(&t.due)
                .map_err(|e| ResponseError::Invalid(format!("plan file: tasks[{i}].due: {e}")))?;
            tasks.push((t.title, t.owner_role, due, t.approval_required));
        }
        if tasks.is_empty() {
            return Err(ResponseError::Invalid("plan file: at least one [[tasks]]".into()));
        }
        Ok(NewPlan {
            incident_ref: f.incident,
            tasks,
            closure_criteria: f.closure_criteria,
            control_updates: f.control_updates,
            communications: f.communications,
        })
    }
}
