//! The alert report kinds: the alert operations dashboard and the alert
//! drilldown, each a pure function of the operations snapshot's response
//! ledger.

use cavra_model::report::{Block, Cell, ColumnType, Dataset, Report};
use cavra_model::sections::Metric;

use crate::build::{breaches, dataset, heading, int, kpi, metrics_dataset, opt_time, para, table, table_of};

/// The routing table's columns in documents (the job ids are in the data forms).
const ROUTING_COLUMNS: &[&str] = &["alert", "level", "recipient_class", "recipient_domain", "state", "audited"];
use crate::build_response::{detail, filtered, median_seconds, none_yet, plan_status, short, SUBJECTS};
use crate::metrics::{self, count, metric};
use crate::response::{AlertStatus, Ledger};
use crate::OpsSnapshot;

/// The alert measures.
pub fn alert_measures(s: &OpsSnapshot, l: &Ledger) -> Vec<Metric> {
    let alerts: Vec<_> = l.alerts.values().collect();
    let raised = alerts.iter().filter(|a| s.in_window(a.raised_at)).count() as u64;
    let open = alerts.iter().filter(|a| a.status != AlertStatus::Resolved).count() as u64;
    let unacknowledged = alerts.iter().filter(|a| a.status == AlertStatus::Open).count() as u64;
    let escalated = alerts.iter().filter(|a| a.level > 1 && s.in_window(a.raised_at)).count() as u64;
    let ack: Vec<i64> = alerts
        .iter()
        .filter_map(|a| {
            a.acknowledged_at.filter(|t| s.in_window(*t)).map(|t| t.unix_seconds() - a.raised_at.unix_seconds())
        })
        .collect();
    let resolve: Vec<i64> = alerts
        .iter()
        .filter_map(|a| {
            a.resolved_at.filter(|t| s.in_window(*t)).map(|t| t.unix_seconds() - a.raised_at.unix_seconds())
        })
        .collect();
    vec![
        count(metric("alerts_raised", "Alerts raised", "count", "alerts raised in the window"), raised, None),
        count(metric("alerts_open", "Alerts open", "count", "alerts not resolved at the window's end"), open, None),
        count(
            metric("alerts_unacknowledged", "Alerts unacknowledged", "count", "open alerts nobody acknowledged"),
            unacknowledged,
            Some(0),
        ),
        count(
            metric("alerts_escalated", "Alerts escalated", "count", "alerts raised in the window above level 1"),
            escalated,
            None,
        ),
        median_seconds(
            "alert_ack_median",
            "Time to acknowledge, median",
            "nearest-rank median of (acknowledged_at − raised_at) over alerts acknowledged in the window",
            &ack,
        ),
        median_seconds(
            "alert_resolve_median",
            "Time to resolve, median",
            "nearest-rank median of (resolved_at − raised_at) over alerts resolved in the window",
            &resolve,
        ),
    ]
}

/// The ledger's events of `indices` as timeline rows, with the alert they concern.
fn timeline_dataset(s: &OpsSnapshot, rows: &[(String, usize)]) -> Dataset {
    dataset(
        "timeline",
        "Timeline",
        &[
            ("alert", "Alert", ColumnType::Text),
            ("seq", "Event", ColumnType::Integer),
            ("at", "At", ColumnType::DateTime),
            ("step", "Step", ColumnType::Text),
            ("subject", "Subject", ColumnType::Text),
            ("detail", "Detail", ColumnType::Text),
            ("actor", "Signed by", ColumnType::Text),
            ("statement", "Statement", ColumnType::Text),
            ("audit_record", "Audit record", ColumnType::Integer),
        ],
        rows.iter()
            .filter_map(|(alert, i)| s.response.get(*i).map(|r| (alert, r)))
            .map(|(alert, r)| {
                vec![
                    Cell::from(alert.as_str()),
                    int(r.seq),
                    Cell::from(r.at),
                    Cell::from(r.event.name().replace('_', " ")),
                    Cell::from(r.subject.as_str()),
                    Cell::from(detail(&r.event)),
                    Cell::from(r.actor_key_id.as_str()),
                    Cell::from(short(&r.digest)),
                    r.audit_seq.map_or(Cell::Null, int),
                ]
            })
            .collect(),
    )
}

fn alerts_dataset(l: &Ledger) -> Dataset {
    dataset(
        "alerts",
        "Alerts",
        &[
            ("alert", "Alert", ColumnType::Text),
            ("rule", "Rule", ColumnType::Text),
            ("about", "About", ColumnType::Text),
            ("level", "Level", ColumnType::Integer),
            ("status", "Status", ColumnType::Text),
            ("raised_at", "Raised", ColumnType::DateTime),
            ("acknowledged_at", "Acknowledged", ColumnType::DateTime),
            ("resolved_at", "Resolved", ColumnType::DateTime),
            ("plan", "Plan", ColumnType::Text),
        ],
        recent_alerts(l, usize::MAX)
            .into_iter()
            .map(|a| {
                vec![
                    Cell::from(a.id.as_str()),
                    Cell::from(a.rule_id.as_str()),
                    Cell::from(a.dedupe_key.as_str()),
                    int(u64::from(a.level)),
                    Cell::from(a.status.as_str()),
                    Cell::from(a.raised_at),
                    opt_time(a.acknowledged_at),
                    opt_time(a.resolved_at),
                    a.plan.as_deref().map_or(Cell::Null, Cell::from),
                ]
            })
            .collect(),
    )
}

fn recent_alerts(l: &Ledger, n: usize) -> Vec<&crate::response::AlertState> {
    let mut v: Vec<_> = l.alerts.values().collect();
    v.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then(a.id.cmp(&b.id)));
    v.truncate(n);
    v
}

pub(crate) fn alert_dashboard(mut r: Report, (s, l): (&OpsSnapshot, &Ledger)) -> (Report, Vec<Metric>) {
    let m = alert_measures(s, l);
    breaches(&mut r, &m);
    r.blocks.push(Block::Kpis { items: m.iter().map(|x| kpi(&x.label, metrics::show(x), &x.formula)).collect() });
    r.blocks.push(heading(2, "Alerts"));
    r.blocks.push(table_of("alerts", &["alert", "rule", "level", "status", "raised_at", "resolved_at"]));
    r.datasets.push(alerts_dataset(l));
    let mut by_rule: std::collections::BTreeMap<&str, [u64; 4]> = Default::default();
    for a in l.alerts.values() {
        let e = by_rule.entry(a.rule_id.as_str()).or_default();
        e[0] += 1;
        e[1] += u64::from(a.status != AlertStatus::Resolved);
        e[2] += u64::from(a.level > 1);
        e[3] += a.routed.len() as u64;
    }
    r.blocks.push(heading(2, "By rule"));
    r.blocks.push(table("rules"));
    r.datasets.push(dataset(
        "rules",
        "Alerts by rule",
        &[
            ("rule", "Rule", ColumnType::Text),
            ("alerts", "Alerts", ColumnType::Integer),
            ("open", "Open", ColumnType::Integer),
            ("escalated", "Escalated", ColumnType::Integer),
            ("notices", "Notices queued", ColumnType::Integer),
        ],
        by_rule.into_iter().map(|(k, v)| vec![Cell::from(k), int(v[0]), int(v[1]), int(v[2]), int(v[3])]).collect(),
    ));
    r.blocks.push(heading(2, "Routing and delivery"));
    r.blocks.push(table_of("routing", ROUTING_COLUMNS));
    r.datasets.push(routing_dataset(s, l));
    r.blocks.push(heading(2, "Recorded package verifications"));
    r.blocks.push(table("verifications"));
    r.datasets.push(verifications_dataset(s));
    r.blocks.push(heading(2, "Measures"));
    r.blocks.push(table("measures"));
    r.datasets.push(metrics_dataset(&m));
    (r, m)
}

fn routing_dataset(s: &OpsSnapshot, l: &Ledger) -> Dataset {
    let jobs: std::collections::BTreeMap<&str, &crate::snapshot::JobRecord> =
        s.jobs.iter().map(|j| (j.job_id.as_str(), j)).collect();
    let state = |job: &str| jobs.get(job).copied();
    dataset(
        "routing",
        "Alert routing",
        &[
            ("alert", "Alert", ColumnType::Text),
            ("level", "Level", ColumnType::Integer),
            ("job", "Job", ColumnType::Text),
            ("recipient_class", "Recipient class", ColumnType::Text),
            ("recipient_domain", "Domain", ColumnType::Text),
            ("state", "Delivery", ColumnType::Text),
            ("audited", "In audit log", ColumnType::Text),
        ],
        l.alerts
            .values()
            .flat_map(|a| a.routed.iter().map(move |(lv, j)| (a, lv, j)))
            .map(|(a, lv, j)| {
                let job = state(&j.job_id);
                vec![
                    Cell::from(a.id.as_str()),
                    int(u64::from(*lv)),
                    Cell::from(j.job_id.as_str()),
                    Cell::from(j.recipient_class.replace('_', " ")),
                    Cell::from(j.recipient_domain.as_str()),
                    Cell::from(job.map_or("not in the outbox".to_string(), |x| x.state.replace('_', " "))),
                    Cell::from(match job {
                        Some(x) if x.audited => "yes",
                        _ => "no",
                    }),
                ]
            })
            .collect(),
    )
}

/// The timeline's columns in documents: the signing key of each step is
/// in the data forms, and the alert's signers are listed above its table.
const TIMELINE_COLUMNS: &[&str] = &["seq", "at", "step", "detail", "audit_record"];

pub(crate) fn drilldown(mut r: Report, (s, l): (&OpsSnapshot, &Ledger)) -> (Report, Vec<Metric>) {
    let m = alert_measures(s, l);
    r.blocks.push(para(
        "Each alert's steps in ledger order: every step is an event signed by the principal who took it \
         (key id), linked to the step before, and carried by the audit record named beside it.",
    ));
    let alerts = recent_alerts(l, SUBJECTS);
    if alerts.is_empty() {
        none_yet(&mut r, "alert");
    }
    let mut rows = Vec::new();
    for a in recent_alerts(l, usize::MAX) {
        let mut steps: Vec<usize> = a.events.clone();
        if let Some(p) = a.plan.as_ref().and_then(|p| l.plans.get(p)) {
            steps.extend(&p.events);
            let incident = l.incidents.values().find(|i| i.closure.remediation_refs.contains(&p.id));
            steps.extend(incident.map(|i| i.event));
        }
        steps.sort_unstable();
        rows.extend(steps.into_iter().map(|i| (a.id.clone(), i)));
    }
    for a in &alerts {
        r.blocks.push(heading(2, &format!("Alert {}", a.id)));
        let mut facts = vec![
            format!("Rule {} ({}), about {}", a.rule_id, a.signal.replace('_', " "), a.dedupe_key),
            format!("Observed: {}; objective: {}", a.observed, a.objective),
            format!("Raised {}; level {}; {}", a.raised_at, a.level, a.status.as_str()),
        ];
        if let Some(p) = a.plan.as_ref().and_then(|p| l.plans.get(p)) {
            let inc = p.incident_ref.as_deref().map(|i| format!("; incident {i}")).unwrap_or_default();
            facts.push(format!("Remediation plan {} ({}){inc}", p.id, plan_status(p)));
        }
        let mut signers: Vec<&str> =
            rows.iter().filter(|(x, _)| *x == a.id).map(|(_, i)| s.response[*i].actor_key_id.as_str()).collect();
        signers.sort_unstable();
        signers.dedup();
        facts.push(format!("Signed by key(s) {}", signers.join(", ")));
        let unaudited = rows.iter().filter(|(x, i)| *x == a.id && s.response[*i].audit_seq.is_none()).count();
        facts.push(match unaudited {
            0 => "Evidence chain: every step is in the verified audit log.".to_string(),
            n => format!("Evidence chain: {n} step(s) have no record in the verified audit log."),
        });
        r.blocks.push(Block::List { ordered: false, items: facts });
        r.blocks.push(filtered("timeline", "alert", &a.id, TIMELINE_COLUMNS));
    }
    r.datasets.push(timeline_dataset(s, &rows));
    r.blocks.push(heading(2, "Routing and delivery"));
    r.blocks.push(table_of("routing", ROUTING_COLUMNS));
    r.datasets.push(routing_dataset(s, l));
    (r, m)
}

/// Recorded verifications by package: checks, failures, the latest.
fn verifications_dataset(s: &OpsSnapshot) -> Dataset {
    let mut by: std::collections::BTreeMap<&str, (u64, u64, cavra_model::Timestamp)> = Default::default();
    for v in &s.verifications {
        let e = by.entry(v.package_digest.as_str()).or_insert((0, 0, v.at));
        e.0 += 1;
        e.1 += u64::from(!v.verified);
        e.2 = e.2.max(v.at);
    }
    dataset(
        "verifications",
        "Recorded package verifications",
        &[
            ("package", "Package", ColumnType::Text),
            ("checks", "Checks", ColumnType::Integer),
            ("failed", "Failed", ColumnType::Integer),
            ("latest", "Latest", ColumnType::DateTime),
        ],
        by.into_iter().map(|(d, (n, f, t))| vec![Cell::from(short(d)), int(n), int(f), Cell::from(t)]).collect(),
    )
}
