//! The response report kinds after an alert: remediation plans
//! and closures, the closure dashboard, the executive digest, incident
//! closures and exception lifecycles — each a pure function of the
//! operations snapshot's response ledger.

use cavra_model::report::{Block, Cell, ColumnType, Dataset, Report, RowFilter, TableRef, Tone};
use cavra_model::sections::Metric;

use crate::build::{breaches, dataset, heading, int, kpi, metrics_dataset, opt_time, table, table_of, DOCUMENT_ROWS};
use crate::metrics::{self, count, metric, rate, Targets};
use crate::response::fold::{ExceptionStatus, TaskState};
use crate::response::{AlertStatus, Ledger, PlanState, PlanStatus, ResponseEvent};
use crate::OpsSnapshot;

/// Subjects a document describes one by one (the most recent first); the
/// data forms hold them all.
pub const SUBJECTS: usize = 20;

pub(crate) fn median_seconds(id: &str, label: &str, formula: &str, values: &[i64]) -> Metric {
    metrics::median(metric(id, label, "seconds", formula), values)
}

fn overdue(s: &OpsSnapshot, t: &TaskState) -> bool {
    t.done_at.is_none() && t.task.due_at < s.window_end
}

/// The remediation measures.
pub fn remediation_measures(s: &OpsSnapshot, l: &Ledger, targets: &Targets) -> Vec<Metric> {
    let plans: Vec<&PlanState> = l.plans.values().collect();
    let closed: Vec<&&PlanState> = plans.iter().filter(|p| p.closed_at.is_some_and(|t| s.in_window(t))).collect();
    let limit = targets.remediation_closure_days * 86_400;
    let within = closed
        .iter()
        .filter(|p| p.closed_at.is_some_and(|c| c.unix_seconds() - p.planned_at.unix_seconds() <= limit))
        .count() as u64;
    let open_tasks = plans.iter().filter(|p| p.status == PlanStatus::Open).flat_map(|p| &p.tasks);
    let overdue_tasks = open_tasks.clone().filter(|t| overdue(s, t)).count() as u64;
    let waiting_approval = open_tasks.filter(|t| t.done_at.is_none() && t.task.approval_required).count() as u64;
    let reviewed =
        closed.iter().filter(|p| p.review_outcome.as_deref().is_some_and(|r| !r.trim().is_empty())).count() as u64;
    let end = s.window_end.unix_seconds();
    let risk_age: Vec<i64> = closed
        .iter()
        .filter(|p| p.residual_risk.is_some_and(|r| r != crate::response::RiskLevel::None))
        .filter_map(|p| p.closed_at.map(|c| (end - c.unix_seconds()) / 86_400))
        .collect();
    let aging = metrics::median(
        metric(
            "residual_risk_aging",
            "Residual-risk aging, median",
            "days",
            "nearest-rank median of whole days since closure of plans closed in the window with residual risk above none",
        ),
        &risk_age,
    );
    vec![
        count(
            metric("plans_closed", "Plans closed", "count", "remediation plans closed in the window"),
            closed.len() as u64,
            None,
        ),
        count(
            metric("plans_open", "Plans open", "count", "remediation plans open at the window's end"),
            plans.iter().filter(|p| p.status == PlanStatus::Open).count() as u64,
            None,
        ),
        count(
            metric(
                "tasks_overdue",
                "Tasks overdue",
                "count",
                "open plans' tasks not done and due before the window's end",
            ),
            overdue_tasks,
            Some(0),
        ),
        count(
            metric(
                "tasks_awaiting_approval",
                "Tasks awaiting approval",
                "count",
                "open plans' tasks not done whose completion needs an approver",
            ),
            waiting_approval,
            None,
        ),
        rate(
            metric(
                "remediation_closure_slo",
                "Plans closed within objective",
                "percent",
                &format!(
                    "plans closed in the window within {} days of planning ÷ plans closed in the window",
                    targets.remediation_closure_days
                ),
            ),
            within,
            closed.len() as u64,
            Some(targets.closure_slo_percent),
        ),
        rate(
            metric(
                "review_completion",
                "Post-incident reviews completed",
                "percent",
                "plans closed in the window with a review outcome ÷ plans closed in the window",
            ),
            reviewed,
            closed.len() as u64,
            Some(100.0),
        ),
        aging,
    ]
}

pub(crate) fn short(digest: &str) -> String {
    digest.trim_start_matches("sha256:").chars().take(16).collect()
}

pub(crate) fn detail(e: &ResponseEvent) -> String {
    match e {
        ResponseEvent::AlertRaised { observed, objective, .. } => format!("{observed}; objective {objective}"),
        ResponseEvent::AlertRouted { level, jobs } => format!("level {level} to {} recipient(s)", jobs.len()),
        ResponseEvent::AlertEscalated { from_level, to_level } => format!("level {from_level} to {to_level}"),
        ResponseEvent::AlertAcknowledged { note } => note.clone().unwrap_or_default(),
        ResponseEvent::AlertSuppressed { until, reason } => format!("until {until}: {reason}"),
        ResponseEvent::AlertResolved { reason }
        | ResponseEvent::ExceptionRevoked { reason }
        | ResponseEvent::ExceptionClosed { reason } => reason.clone(),
        ResponseEvent::RemediationPlanned { tasks, incident_ref, .. } => match incident_ref {
            Some(i) => format!("{} task(s); incident {i}", tasks.len()),
            None => format!("{} task(s)", tasks.len()),
        },
        ResponseEvent::TaskDone { task_id, evidence_ref } => match evidence_ref {
            Some(e) => format!("{task_id}; evidence {e}"),
            None => task_id.clone(),
        },
        ResponseEvent::RemediationClosed { residual_risk, review_outcome, .. } => {
            format!("residual risk {}; review: {review_outcome}", residual_risk.as_str())
        }
        ResponseEvent::IncidentClosed { severity, remediation_refs, .. } => {
            format!("{severity}; {} plan(s)", remediation_refs.len())
        }
        ResponseEvent::ExceptionRenewed { until, reason } => format!("until {until}: {reason}"),
        ResponseEvent::ExceptionExpired {} => String::new(),
    }
}

pub(crate) fn filtered(name: &str, column: &str, equals: &str, columns: &[&str]) -> Block {
    Block::Table(TableRef {
        dataset: name.into(),
        max_rows: Some(DOCUMENT_ROWS),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        filter: Some(RowFilter { column: column.into(), equals: equals.into() }),
    })
}

pub(crate) fn none_yet(r: &mut Report, what: &str) {
    r.blocks
        .push(Block::Callout { tone: Tone::Info, text: format!("No {what} in the records up to the window's end.") });
}

pub(crate) fn plan_status(p: &PlanState) -> &'static str {
    match p.status {
        PlanStatus::Open => "open",
        PlanStatus::Closed => "closed",
    }
}

fn tasks_dataset(s: &OpsSnapshot, l: &Ledger) -> Dataset {
    dataset(
        "tasks",
        "Tasks",
        &[
            ("plan", "Plan", ColumnType::Text),
            ("task", "Task", ColumnType::Text),
            ("title", "What", ColumnType::Text),
            ("owner_role", "Owner", ColumnType::Text),
            ("due_at", "Due", ColumnType::DateTime),
            ("approval", "Approval", ColumnType::Text),
            ("status", "Status", ColumnType::Text),
            ("done_at", "Done", ColumnType::DateTime),
            ("evidence", "Evidence", ColumnType::Text),
        ],
        l.plans
            .values()
            .flat_map(|p| p.tasks.iter().map(move |t| (p, t)))
            .map(|(p, t)| {
                let status = match (t.done_at, overdue(s, t)) {
                    (Some(_), _) => "done",
                    (None, true) => "overdue",
                    (None, false) => "open",
                };
                vec![
                    Cell::from(p.id.as_str()),
                    Cell::from(t.task.task_id.as_str()),
                    Cell::from(t.task.title.as_str()),
                    Cell::from(t.task.owner_role.as_str()),
                    Cell::from(t.task.due_at),
                    Cell::from(if t.task.approval_required { "required" } else { "not required" }),
                    Cell::from(status),
                    opt_time(t.done_at),
                    t.evidence_ref.as_deref().map_or(Cell::Null, Cell::from),
                ]
            })
            .collect(),
    )
}

fn recent_plans(l: &Ledger, closed: Option<bool>) -> Vec<&PlanState> {
    let mut v: Vec<&PlanState> =
        l.plans.values().filter(|p| closed.is_none_or(|c| (p.status == PlanStatus::Closed) == c)).collect();
    v.sort_by(|a, b| b.planned_at.cmp(&a.planned_at).then(a.id.cmp(&b.id)));
    v
}

fn list(r: &mut Report, title: &str, items: &[String]) {
    r.blocks.push(heading(3, title));
    let items = if items.is_empty() { vec!["None recorded.".to_string()] } else { items.to_vec() };
    r.blocks.push(Block::List { ordered: false, items });
}

pub(crate) fn plans(mut r: Report, (s, l): (&OpsSnapshot, &Ledger)) -> (Report, Vec<Metric>) {
    let m = remediation_measures(s, l, &Targets::default());
    let plans = recent_plans(l, None);
    if plans.is_empty() {
        none_yet(&mut r, "remediation plan");
    }
    for p in plans.iter().take(SUBJECTS) {
        r.blocks.push(heading(2, &format!("Plan {} for alert {}", p.id, p.alert_id)));
        let mut facts = vec![
            format!("Planned {} by key {}; {}", p.planned_at, p.planned_by, plan_status(p)),
            format!(
                "{} of {} task(s) done; {} need an approver to complete",
                p.tasks.iter().filter(|t| t.done_at.is_some()).count(),
                p.tasks.len(),
                p.tasks.iter().filter(|t| t.task.approval_required).count()
            ),
        ];
        if let Some(i) = &p.incident_ref {
            facts.push(format!("Incident {i}"));
        }
        r.blocks.push(Block::List { ordered: false, items: facts });
        r.blocks.push(filtered(
            "tasks",
            "plan",
            &p.id,
            &["task", "title", "owner_role", "due_at", "approval", "status"],
        ));
        list(&mut r, "Closure criteria", &p.closure_criteria);
        list(&mut r, "Control updates", &p.control_updates);
        list(&mut r, "Communications", &p.communications);
    }
    r.datasets.push(tasks_dataset(s, l));
    (r, m)
}

pub(crate) fn closures(mut r: Report, (s, l): (&OpsSnapshot, &Ledger)) -> (Report, Vec<Metric>) {
    let m = remediation_measures(s, l, &Targets::default());
    let closed = recent_plans(l, Some(true));
    if closed.is_empty() {
        none_yet(&mut r, "closed remediation plan");
    }
    for p in closed.iter().take(SUBJECTS) {
        r.blocks.push(heading(2, &format!("Plan {} for alert {}", p.id, p.alert_id)));
        r.blocks.push(Block::List {
            ordered: false,
            items: vec![
                format!(
                    "Closed {} with the final approval of key {}",
                    p.closed_at.map(|t| t.to_string()).unwrap_or_default(),
                    p.closed_by.as_deref().unwrap_or_default()
                ),
                format!(
                    "Completed tasks: {}",
                    p.tasks.iter().map(|t| t.task.task_id.as_str()).collect::<Vec<_>>().join(", ")
                ),
                format!("Residual risk accepted: {}", p.residual_risk.map_or("", |x| x.as_str())),
                format!("Post-incident review: {}", p.review_outcome.as_deref().unwrap_or_default()),
                format!("Communications: {}", p.communications_status.as_deref().unwrap_or_default()),
            ],
        });
        r.blocks.push(filtered("tasks", "plan", &p.id, &["task", "title", "owner_role", "done_at", "evidence"]));
    }
    r.datasets.push(tasks_dataset(s, l));
    (r, m)
}

pub(crate) fn closure_dashboard(
    mut r: Report,
    (s, l): (&OpsSnapshot, &Ledger),
    targets: &Targets,
) -> (Report, Vec<Metric>) {
    let m = remediation_measures(s, l, targets);
    breaches(&mut r, &m);
    r.blocks.push(Block::Kpis { items: m.iter().map(|x| kpi(&x.label, metrics::show(x), &x.formula)).collect() });
    r.blocks.push(heading(2, "Plans"));
    r.blocks.push(table_of("plans", &["plan", "alert", "status", "age_days", "tasks_done", "tasks", "residual_risk"]));
    r.datasets.push(plans_dataset(s, l));
    r.blocks.push(heading(2, "Overdue work and approval bottlenecks"));
    r.blocks.push(Block::Table(TableRef {
        dataset: "tasks".into(),
        max_rows: Some(DOCUMENT_ROWS),
        columns: ["plan", "task", "owner_role", "due_at", "approval", "status"].map(String::from).to_vec(),
        filter: Some(RowFilter { column: "status".into(), equals: "overdue".into() }),
    }));
    r.datasets.push(tasks_dataset(s, l));
    r.blocks.push(heading(2, "Measures"));
    r.blocks.push(table("measures"));
    r.datasets.push(metrics_dataset(&m));
    (r, m)
}

fn plans_dataset(s: &OpsSnapshot, l: &Ledger) -> Dataset {
    let end = s.window_end.unix_seconds();
    dataset(
        "plans",
        "Remediation plans",
        &[
            ("plan", "Plan", ColumnType::Text),
            ("alert", "Alert", ColumnType::Text),
            ("status", "Status", ColumnType::Text),
            ("planned_at", "Planned", ColumnType::DateTime),
            ("closed_at", "Closed", ColumnType::DateTime),
            ("age_days", "Age (days)", ColumnType::Integer),
            ("tasks_done", "Tasks done", ColumnType::Integer),
            ("tasks", "Tasks", ColumnType::Integer),
            ("residual_risk", "Residual risk", ColumnType::Text),
        ],
        recent_plans(l, None)
            .into_iter()
            .map(|p| {
                let until = p.closed_at.map_or(end, |c| c.unix_seconds());
                vec![
                    Cell::from(p.id.as_str()),
                    Cell::from(p.alert_id.as_str()),
                    Cell::from(plan_status(p)),
                    Cell::from(p.planned_at),
                    opt_time(p.closed_at),
                    Cell::Integer((until - p.planned_at.unix_seconds()) / 86_400),
                    int(p.tasks.iter().filter(|t| t.done_at.is_some()).count() as u64),
                    int(p.tasks.len() as u64),
                    p.residual_risk.map_or(Cell::Null, |x| Cell::from(x.as_str())),
                ]
            })
            .collect(),
    )
}

pub(crate) fn executive_digest(
    mut r: Report,
    (s, l): (&OpsSnapshot, &Ledger),
    targets: &Targets,
) -> (Report, Vec<Metric>) {
    let all = crate::metrics::kpis_with(s, l, targets);
    let rem = remediation_measures(s, l, targets);
    let plans = l.plans.len() as u64;
    let closed = l.plans.values().filter(|p| p.status == PlanStatus::Closed).count() as u64;
    let readiness = rate(
        metric("closure_readiness", "Closure readiness", "percent", "closed plans ÷ all plans up to the window's end"),
        closed,
        plans,
        None,
    );
    let pick = |id: &str| all.iter().chain(&rem).find(|m| m.metric_id == id).cloned();
    let mut m = vec![readiness];
    m.extend(
        ["tasks_overdue", "residual_risk_aging", "audit_coverage", "audit_chain_breaks", "incident_closure_slo"]
            .iter()
            .filter_map(|id| pick(id)),
    );
    breaches(&mut r, &m);
    r.blocks.push(Block::Kpis { items: m.iter().map(|x| kpi(&x.label, metrics::show(x), &x.formula)).collect() });
    r.blocks.push(heading(2, "Talking points"));
    r.blocks.push(Block::List { ordered: true, items: talking_points(s, l, &m) });
    let mut risk: std::collections::BTreeMap<&str, u64> = Default::default();
    for p in l.plans.values() {
        if let Some(x) = p.residual_risk {
            *risk.entry(x.as_str()).or_default() += 1;
        }
    }
    r.blocks.push(heading(2, "Residual risk accepted"));
    r.blocks.push(table("residual_risk"));
    r.datasets.push(dataset(
        "residual_risk",
        "Residual risk accepted at closure",
        &[("level", "Level", ColumnType::Text), ("plans", "Plans", ColumnType::Integer)],
        risk.into_iter().map(|(k, n)| vec![Cell::from(k), int(n)]).collect(),
    ));
    r.blocks.push(heading(2, "Measures"));
    r.blocks.push(table("measures"));
    r.datasets.push(metrics_dataset(&m));
    (r, m)
}

fn talking_points(s: &OpsSnapshot, l: &Ledger, m: &[Metric]) -> Vec<String> {
    let show = |id: &str| m.iter().find(|x| x.metric_id == id).map(metrics::show).unwrap_or_default();
    let open_alerts = l.alerts.values().filter(|a| a.status != AlertStatus::Resolved).count();
    let high = l.plans.values().filter(|p| p.residual_risk == Some(crate::response::RiskLevel::High)).count();
    vec![
        format!(
            "{} of {} remediation plan(s) are closed ({}); {} alert(s) remain open.",
            l.plans.values().filter(|p| p.status == PlanStatus::Closed).count(),
            l.plans.len(),
            show("closure_readiness"),
            open_alerts
        ),
        format!("{} task(s) are past their due date.", show("tasks_overdue")),
        match high {
            0 => "No plan was closed with high residual risk.".to_string(),
            n => format!("{n} plan(s) were closed with high residual risk, accepted by an approver's signature."),
        },
        format!(
            "Audit readiness: {} of finished sends are in the signed audit log, which {}.",
            show("audit_coverage"),
            if s.audit.verified { "verifies against its key" } else { "does not verify" }
        ),
    ]
}

pub(crate) fn incidents(mut r: Report, (s, l): (&OpsSnapshot, &Ledger), targets: &Targets) -> (Report, Vec<Metric>) {
    let m = vec![metrics::incident_closure_slo(s, l, targets)];
    breaches(&mut r, &m);
    let mut closed: Vec<_> = l.incidents.values().collect();
    closed.sort_by(|a, b| b.closed_at.cmp(&a.closed_at).then(a.id.cmp(&b.id)));
    if closed.is_empty() {
        none_yet(&mut r, "incident closure");
    }
    r.blocks.push(heading(2, "Closed incidents"));
    r.blocks.push(table_of("incidents", &["incident", "severity", "opened_at", "closed_at", "days_open"]));
    r.datasets.push(dataset(
        "incidents",
        "Closed incidents",
        &[
            ("incident", "Incident", ColumnType::Text),
            ("severity", "Severity", ColumnType::Text),
            ("opened_at", "Opened", ColumnType::DateTime),
            ("closed_at", "Closed", ColumnType::DateTime),
            ("days_open", "Days open", ColumnType::Integer),
            ("approved_by", "Closure approved by", ColumnType::Text),
            ("plans", "Plans", ColumnType::Text),
        ],
        closed
            .iter()
            .map(|i| {
                vec![
                    Cell::from(i.id.as_str()),
                    Cell::from(i.closure.severity.as_str()),
                    Cell::from(i.closure.opened_at),
                    Cell::from(i.closed_at),
                    Cell::Integer((i.closed_at.unix_seconds() - i.closure.opened_at.unix_seconds()) / 86_400),
                    Cell::from(i.closed_by.as_str()),
                    Cell::from(i.closure.remediation_refs.join(", ")),
                ]
            })
            .collect(),
    ));
    for i in closed.iter().take(SUBJECTS) {
        r.blocks.push(heading(2, &format!("Incident {}", i.id)));
        let digest = |d: &Option<String>| d.as_deref().map_or("not recorded".to_string(), short);
        r.blocks.push(Block::List {
            ordered: false,
            items: vec![
                format!("Incident packet: {}", digest(&i.closure.packet_digest)),
                format!("Closure manifest: {}", digest(&i.closure.manifest_digest)),
                format!("Closure digest: {}", short(&s.response[i.event].digest)),
                format!("Closure approved by key {}; plans: {}", i.closed_by, i.closure.remediation_refs.join(", ")),
            ],
        });
        list(&mut r, "Lessons learned", &i.closure.lessons_learned);
        list(&mut r, "Follow-up tasks", &i.closure.follow_up_tasks);
    }
    r.blocks.push(heading(2, "Measures"));
    r.blocks.push(table("measures"));
    r.datasets.push(metrics_dataset(&m));
    (r, m)
}

pub(crate) fn exceptions(mut r: Report, (s, l): (&OpsSnapshot, &Ledger)) -> (Report, Vec<Metric>) {
    let m = vec![metrics::exception_aging(s, l)];
    if l.exceptions.is_empty() {
        none_yet(&mut r, "exception lifecycle event");
    }
    let mut by: std::collections::BTreeMap<&str, u64> = Default::default();
    for e in l.exceptions.values() {
        *by.entry(e.status.as_str()).or_default() += 1;
    }
    r.blocks.push(Block::Kpis {
        items: [
            (ExceptionStatus::Active, "Active"),
            (ExceptionStatus::Expired, "Expired"),
            (ExceptionStatus::Revoked, "Revoked"),
            (ExceptionStatus::Closed, "Closed"),
        ]
        .iter()
        .map(|(st, label)| kpi(label, by.get(st.as_str()).copied().unwrap_or(0).to_string(), "exceptions"))
        .chain(m.iter().map(|x| kpi(&x.label, metrics::show(x), "active exceptions")))
        .collect(),
    });
    r.blocks.push(heading(2, "Exceptions"));
    r.blocks.push(table("exceptions"));
    r.datasets.push(dataset(
        "exceptions",
        "Exceptions",
        &[
            ("exception", "Exception", ColumnType::Text),
            ("status", "Status", ColumnType::Text),
            ("first_at", "First event", ColumnType::DateTime),
            ("last_at", "Latest event", ColumnType::DateTime),
            ("renewals", "Renewals", ColumnType::Integer),
            ("until", "Valid until", ColumnType::DateTime),
        ],
        l.exceptions
            .values()
            .map(|e| {
                vec![
                    Cell::from(e.id.as_str()),
                    Cell::from(e.status.as_str()),
                    Cell::from(e.first_at),
                    Cell::from(e.last_at),
                    int(u64::from(e.renewals)),
                    opt_time(e.until),
                ]
            })
            .collect(),
    ));
    r.blocks.push(heading(2, "Lifecycle events"));
    r.blocks.push(table_of("exception_events", &["exception", "at", "event", "detail", "audit_record"]));
    let rows = l
        .exceptions
        .values()
        .flat_map(|e| e.events.iter().map(move |i| (e, *i)))
        .filter_map(|(e, i)| s.response.get(i).map(|x| (e, x)))
        .map(|(e, x)| {
            vec![
                Cell::from(e.id.as_str()),
                int(x.seq),
                Cell::from(x.at),
                Cell::from(x.event.name().trim_start_matches("exception_").to_string()),
                Cell::from(detail(&x.event)),
                Cell::from(x.actor_key_id.as_str()),
                x.audit_seq.map_or(Cell::Null, int),
            ]
        })
        .collect();
    r.datasets.push(dataset(
        "exception_events",
        "Exception lifecycle events",
        &[
            ("exception", "Exception", ColumnType::Text),
            ("seq", "Event", ColumnType::Integer),
            ("at", "At", ColumnType::DateTime),
            ("event", "What", ColumnType::Text),
            ("detail", "Detail", ColumnType::Text),
            ("actor", "Signed by", ColumnType::Text),
            ("audit_record", "Audit record", ColumnType::Integer),
        ],
        rows,
    ));
    (r, m)
}
