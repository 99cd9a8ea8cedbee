//! The state of every alert, plan, incident and exception: the fold of its
//! ledger events, in order, refusing any event that does not fit the state
//! its subject is in.

use std::collections::BTreeMap;

use cavra_model::Timestamp;

use super::{PlannedTask, ResponseEvent, RiskLevel, RoutedJob};
use crate::snapshot::ResponseRecord;

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertStatus {
    /// Raised, nobody has taken it on.
    Open,
    /// A principal took it on; it no longer escalates.
    Acknowledged,
    /// Closed.
    Resolved,
}

impl AlertStatus {
    /// The shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertState {
    /// `alt-…`.
    pub id: String,
    /// The rule that raised it.
    pub rule_id: String,
    /// The rule's signal.
    pub signal: String,
    /// What it is about.
    pub dedupe_key: String,
    /// What was observed.
    pub observed: String,
    /// The objective.
    pub objective: String,
    /// Raised.
    pub raised_at: Timestamp,
    /// The level (1 at raise, one more for each escalation).
    pub level: u32,
    /// When its current level was last routed (or raised).
    pub level_since: Timestamp,
    /// Where it stands.
    pub status: AlertStatus,
    /// First acknowledgement.
    pub acknowledged_at: Option<Timestamp>,
    /// The end of the latest suppression.
    pub suppressed_until: Option<Timestamp>,
    /// Resolved.
    pub resolved_at: Option<Timestamp>,
    /// Every job it was routed to, with the level.
    pub routed: Vec<(u32, RoutedJob)>,
    /// The levels it was routed at.
    pub routed_levels: Vec<u32>,
    /// Its remediation plan.
    pub plan: Option<String>,
    /// Indices of its events in the records.
    pub events: Vec<usize>,
}

impl AlertState {
    /// Whether routing and escalation are paused at `t`.
    pub fn suppressed_at(&self, t: Timestamp) -> bool {
        self.suppressed_until.is_some_and(|u| t < u)
    }
}

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStatus {
    /// Tasks are being carried out.
    Open,
    /// Closed, its residual risk accepted.
    Closed,
}

/// One task and its completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    /// The task.
    pub task: PlannedTask,
    /// When it was done.
    pub done_at: Option<Timestamp>,
    /// Who did it (key id).
    pub done_by: Option<String>,
    /// Its evidence.
    pub evidence_ref: Option<String>,
}

/// One remediation plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanState {
    /// `rem-…`.
    pub id: String,
    /// The alert.
    pub alert_id: String,
    /// The incident, if any.
    pub incident_ref: Option<String>,
    /// Planned.
    pub planned_at: Timestamp,
    /// By (key id).
    pub planned_by: String,
    /// Tasks in plan order.
    pub tasks: Vec<TaskState>,
    /// Closure criteria.
    pub closure_criteria: Vec<String>,
    /// Control updates.
    pub control_updates: Vec<String>,
    /// Communications requirements.
    pub communications: Vec<String>,
    /// Where it stands.
    pub status: PlanStatus,
    /// Closed.
    pub closed_at: Option<Timestamp>,
    /// The final approver (key id).
    pub closed_by: Option<String>,
    /// Accepted residual risk.
    pub residual_risk: Option<RiskLevel>,
    /// The post-incident review's outcome.
    pub review_outcome: Option<String>,
    /// The communications status.
    pub communications_status: Option<String>,
    /// Indices of its events.
    pub events: Vec<usize>,
}

/// One closed incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentState {
    /// The incident's reference.
    pub id: String,
    /// Closed.
    pub closed_at: Timestamp,
    /// The closure's approver (key id).
    pub closed_by: String,
    /// What the closure recorded.
    pub closure: IncidentClosure,
    /// Index of its event.
    pub event: usize,
}

/// What an incident closure holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentClosure {
    /// When the incident was opened.
    pub opened_at: Timestamp,
    /// Its severity.
    pub severity: String,
    /// The remediation plans that closed it (each closed already).
    pub remediation_refs: Vec<String>,
    /// Lessons learned.
    pub lessons_learned: Vec<String>,
    /// Follow-up tasks.
    pub follow_up_tasks: Vec<String>,
    /// The incident packet's digest.
    pub packet_digest: Option<String>,
    /// The closure manifest's digest.
    pub manifest_digest: Option<String>,
}

/// Where an exception stands after its lifecycle events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionStatus {
    /// Renewed until a date.
    Active,
    /// Reached its expiry.
    Expired,
    /// Revoked.
    Revoked,
    /// Closed.
    Closed,
}

impl ExceptionStatus {
    /// The shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionStatus::Active => "active",
            ExceptionStatus::Expired => "expired",
            ExceptionStatus::Revoked => "revoked",
            ExceptionStatus::Closed => "closed",
        }
    }
}

/// One exception's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionState {
    /// The exception's reference.
    pub id: String,
    /// Where it stands.
    pub status: ExceptionStatus,
    /// Its first recorded event.
    pub first_at: Timestamp,
    /// Its latest.
    pub last_at: Timestamp,
    /// Renewals.
    pub renewals: u32,
    /// The current expiry, from its latest renewal.
    pub until: Option<Timestamp>,
    /// Indices of its events.
    pub events: Vec<usize>,
}

/// Every subject's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Alerts by id.
    pub alerts: BTreeMap<String, AlertState>,
    /// Plans by id.
    pub plans: BTreeMap<String, PlanState>,
    /// Closed incidents by reference.
    pub incidents: BTreeMap<String, IncidentState>,
    /// Exceptions by reference.
    pub exceptions: BTreeMap<String, ExceptionState>,
    /// The open alert of each (rule, subject).
    open: BTreeMap<(String, String), String>,
}

/// Why an event does not fit: its index and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    /// Index of the event in the records.
    pub index: usize,
    /// Why.
    pub reason: String,
}

impl Ledger {
    /// Folds `records` (in ledger order) into states.
    ///
    /// # Errors
    /// The first event that does not fit its subject's state.
    pub fn fold(records: &[ResponseRecord]) -> Result<Ledger, Misfit> {
        let mut l = Ledger::default();
        for (i, r) in records.iter().enumerate() {
            l.apply(i, r).map_err(|reason| Misfit { index: i, reason })?;
        }
        Ok(l)
    }

    /// The open (unresolved) alert of `rule` about `key`, if any.
    pub fn open_alert(&self, rule: &str, key: &str) -> Option<&AlertState> {
        let id = self.open.get(&(rule.to_string(), key.to_string()))?;
        self.alerts.get(id)
    }

    fn apply(&mut self, i: usize, r: &ResponseRecord) -> Result<(), String> {
        type Step = fn(&mut Ledger, usize, &ResponseRecord) -> Result<(), String>;
        // Each event's subject prefix and the step that folds it.
        let (prefix, step): (&str, Step) = match &r.event {
            ResponseEvent::AlertRaised { .. } => ("alt-", Ledger::raise),
            ResponseEvent::AlertRouted { .. }
            | ResponseEvent::AlertEscalated { .. }
            | ResponseEvent::AlertAcknowledged { .. }
            | ResponseEvent::AlertSuppressed { .. }
            | ResponseEvent::AlertResolved { .. } => ("alt-", Ledger::alert_step),
            ResponseEvent::RemediationPlanned { .. } => ("rem-", Ledger::plan),
            ResponseEvent::TaskDone { .. } | ResponseEvent::RemediationClosed { .. } => ("rem-", Ledger::plan_step),
            ResponseEvent::IncidentClosed { .. } => ("inc:", Ledger::incident),
            ResponseEvent::ExceptionRenewed { .. }
            | ResponseEvent::ExceptionRevoked { .. }
            | ResponseEvent::ExceptionExpired {}
            | ResponseEvent::ExceptionClosed { .. } => ("exc:", Ledger::exception),
        };
        if !r.subject.starts_with(prefix) {
            return Err(format!("a {} event cannot be about `{}`", r.event.name(), r.subject));
        }
        step(self, i, r)
    }

    fn raise(&mut self, i: usize, r: &ResponseRecord) -> Result<(), String> {
        let ResponseEvent::AlertRaised { rule_id, signal, dedupe_key, observed, objective } = &r.event else {
            return Err("not a raise".into());
        };
        if self.alerts.contains_key(&r.subject) {
            return Err(format!("{} was raised twice", r.subject));
        }
        if self.open_alert(rule_id, dedupe_key).is_some() {
            return Err(format!("an alert of rule {rule_id} about {dedupe_key} is already open"));
        }
        let a = AlertState {
            id: r.subject.clone(),
            rule_id: rule_id.clone(),
            signal: signal.clone(),
            dedupe_key: dedupe_key.clone(),
            observed: observed.clone(),
            objective: objective.clone(),
            raised_at: r.at,
            level: 1,
            level_since: r.at,
            status: AlertStatus::Open,
            acknowledged_at: None,
            suppressed_until: None,
            resolved_at: None,
            routed: Vec::new(),
            routed_levels: Vec::new(),
            plan: None,
            events: vec![i],
        };
        self.open.insert((rule_id.clone(), dedupe_key.clone()), r.subject.clone());
        self.alerts.insert(r.subject.clone(), a);
        Ok(())
    }

    fn alert_step(&mut self, i: usize, r: &ResponseRecord) -> Result<(), String> {
        let a = self.alerts.get_mut(&r.subject).ok_or_else(|| format!("{} was never raised", r.subject))?;
        if a.status == AlertStatus::Resolved {
            return Err(format!("{} is resolved", a.id));
        }
        match &r.event {
            ResponseEvent::AlertRouted { level, jobs } => {
                if *level != a.level {
                    return Err(format!("{} is at level {}, not {level}", a.id, a.level));
                }
                a.routed.extend(jobs.iter().map(|j| (*level, j.clone())));
                a.routed_levels.push(*level);
                a.level_since = r.at;
            }
            ResponseEvent::AlertEscalated { from_level, to_level } => {
                if a.status != AlertStatus::Open || *from_level != a.level || *to_level != a.level + 1 {
                    return Err(format!("{} cannot go from level {from_level} to {to_level} now", a.id));
                }
                a.level = *to_level;
                a.level_since = r.at;
            }
            ResponseEvent::AlertAcknowledged { .. } => {
                if a.status != AlertStatus::Open {
                    return Err(format!("{} is already acknowledged", a.id));
                }
                a.status = AlertStatus::Acknowledged;
                a.acknowledged_at = Some(r.at);
            }
            ResponseEvent::AlertSuppressed { until, .. } => {
                if *until <= r.at {
                    return Err("a suppression must end after it starts".into());
                }
                a.suppressed_until = Some(*until);
            }
            ResponseEvent::AlertResolved { .. } => {
                a.status = AlertStatus::Resolved;
                a.resolved_at = Some(r.at);
                self.open.remove(&(a.rule_id.clone(), a.dedupe_key.clone()));
            }
            _ => return Err("not an alert event".into()),
        }
        a.events.push(i);
        Ok(())
    }

    fn plan(&mut self, i: usize, r: &ResponseRecord) -> Result<(), String> {
        let ResponseEvent::RemediationPlanned {
            alert_id,
            incident_ref,
            tasks,
            closure_criteria,
            control_updates,
            communications,
        } = &r.event
        else {
            return Err("not a plan".into());
        };
        if self.plans.contains_key(&r.subject) {
            return Err(format!("{} was planned twice", r.subject));
        }
        let alert = self.alerts.get_mut(alert_id).ok_or_else(|| format!("no alert {alert_id}"))?;
        if let Some(p) = &alert.plan {
            return Err(format!("{alert_id} already has plan {p}"));
        }
        if tasks.is_empty() {
            return Err("a plan needs at least one task".into());
        }
        alert.plan = Some(r.subject.clone());
        let p = PlanState {
            id: r.subject.clone(),
            alert_id: alert_id.clone(),
            incident_ref: incident_ref.clone(),
            planned_at: r.at,
            planned_by: r.actor_key_id.clone(),
            tasks: tasks
                .iter()
                .map(|t| TaskState { task: t.clone(), done_at: None, done_by: None, evidence_ref: None })
                .collect(),
            closure_criteria: closure_criteria.clone(),
            control_updates: control_updates.clone(),
            communications: communications.clone(),
            status: PlanStatus::Open,
            closed_at: None,
            closed_by: None,
            residual_risk: None,
            review_outcome: None,
            communications_status: None,
            events: vec![i],
        };
        self.plans.insert(r.subject.clone(), p);
        Ok(())
    }

    fn plan_step(&mut self, i: usize, r: &ResponseRecord) -> Result<(), String> {
        let p = self.plans.get_mut(&r.subject).ok_or_else(|| format!("{} was never planned", r.subject))?;
        if p.status == PlanStatus::Closed {
            return Err(format!("{} is closed", p.id));
        }
        match &r.event {
            ResponseEvent::TaskDone { task_id, evidence_ref } => {
                let t = p
                    .tasks
                    .iter_mut()
                    .find(|t| t.task.task_id == *task_id)
                    .ok_or_else(|| format!("{} has no task {task_id}", p.id))?;
                if t.done_at.is_some() {
                    return Err(format!("{task_id} of {} is already done", p.id));
                }
                t.done_at = Some(r.at);
                t.done_by = Some(r.actor_key_id.clone());
                t.evidence_ref = evidence_ref.clone();
            }
            ResponseEvent::RemediationClosed {
                completed_tasks,
                residual_risk,
                review_outcome,
                communications_status,
            } => {
                let all: Vec<&str> = p.tasks.iter().map(|t| t.task.task_id.as_str()).collect();
                if let Some(t) = p.tasks.iter().find(|t| t.done_at.is_none()) {
                    return Err(format!("{} of {} is not done", t.task.task_id, p.id));
                }
                if completed_tasks.iter().map(String::as_str).collect::<Vec<_>>() != all {
                    return Err(format!("the closure of {} does not list its tasks", p.id));
                }
                p.status = PlanStatus::Closed;
                p.closed_at = Some(r.at);
                p.closed_by = Some(r.actor_key_id.clone());
                p.residual_risk = Some(*residual_risk);
                p.review_outcome = Some(review_outcome.clone());
                p.communications_status = Some(communications_status.clone());
            }
            _ => return Err("not a plan event".into()),
        }
        p.events.push(i);
        Ok(())
    }

    fn incident(&mut self, i: usize, r: &ResponseRecord) -> Result<(), String> {
        let ResponseEvent::IncidentClosed {
            opened_at,
            severity,
            remediation_refs,
            lessons_learned,
            follow_up_tasks,
            packet_digest,
            manifest_digest,
        } = &r.event
        else {
            return Err("not an incident closure".into());
        };
        let id = r.subject.trim_start_matches("inc:").to_string();
        if self.incidents.contains_key(&id) {
            return Err(format!("incident {id} was closed twice"));
        }
        if *opened_at > r.at {
            return Err(format!("incident {id} is closed before it was opened"));
        }
        for p in remediation_refs {
            match self.plans.get(p) {
                Some(plan) if plan.status == PlanStatus::Closed => {}
                Some(_) => return Err(format!("{p} is still open")),
                None => return Err(format!("no plan {p}")),
            }
        }
        let closure = IncidentClosure {
            opened_at: *opened_at,
            severity: severity.clone(),
            remediation_refs: remediation_refs.clone(),
            lessons_learned: lessons_learned.clone(),
            follow_up_tasks: follow_up_tasks.clone(),
            packet_digest: packet_digest.clone(),
            manifest_digest: manifest_digest.clone(),
        };
        let state =
            IncidentState { id: id.clone(), closed_at: r.at, closed_by: r.actor_key_id.clone(), closure, event: i };
        self.incidents.insert(id, state);
        Ok(())
    }

    fn exception(&mut self, i: usize, r: &ResponseRecord) -> Result<(), String> {
        let id = r.subject.trim_start_matches("exc:").to_string();
        let e = self.exceptions.entry(id.clone()).or_insert(ExceptionState {
            id: id.clone(),
            status: ExceptionStatus::Active,
            first_at: r.at,
            last_at: r.at,
            renewals: 0,
            until: None,
            events: Vec::new(),
        });
        if matches!(e.status, ExceptionStatus::Revoked | ExceptionStatus::Closed) {
            return Err(format!("exception {id} is {}", e.status.as_str()));
        }
        match &r.event {
            ResponseEvent::ExceptionRenewed { until, .. } => {
                if *until <= r.at {
                    return Err(format!("exception {id} is renewed to a past date"));
                }
                e.status = ExceptionStatus::Active;
                e.renewals += 1;
                e.until = Some(*until);
            }
            ResponseEvent::ExceptionRevoked { .. } => e.status = ExceptionStatus::Revoked,
            ResponseEvent::ExceptionExpired {} => {
                if e.status == ExceptionStatus::Expired || e.until.is_some_and(|u| u > r.at) {
                    return Err(format!("exception {id} has not reached an expiry"));
                }
                e.status = ExceptionStatus::Expired;
            }
            ResponseEvent::ExceptionClosed { .. } => e.status = ExceptionStatus::Closed,
            _ => return Err("not an exception event".into()),
        }
        e.last_at = r.at;
        e.events.push(i);
        Ok(())
    }
}
