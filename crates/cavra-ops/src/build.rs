//! The operations report kinds, on the shared report model: the same
//! renderers, gate and formats as the posture reports.

use std::collections::BTreeMap;

use cavra_deliver::access::{AccessOutcome, AccessType, WatermarkState};
use cavra_model::report::{
    Block, Cell, Classification, ColumnType, Dataset, Kind, Kpi, OpsKind, Report, ReportMeta, Rows, TableRef, Tone,
};
use cavra_model::sections::{Metric, MetricStatus, OpsSections, Sections};
use cavra_model::ReportOptions;
use sha2::{Digest, Sha256};

use crate::metrics::{self, JobCounts, Targets};
use crate::OpsSnapshot;

/// Builds an operations report kind from a snapshot: a pure function of
/// its inputs.
///
/// ```
/// use cavra_model::report::OpsKind;
/// let s = cavra_ops::synth::generate(&cavra_ops::synth::SynthConfig::default());
/// let r = cavra_ops::build_ops_report(OpsKind::ReportCenterKpis, &s, &Default::default(), &Default::default());
/// assert_eq!(r.meta.kind.as_str(), "report-center-kpis");
/// assert!(r.check_tables().is_ok());
/// ```
pub fn build_ops_report(kind: OpsKind, s: &OpsSnapshot, options: &ReportOptions, targets: &Targets) -> Report {
    build_with_digest(kind, (s, &s.ledger()), &s.digest(), options, targets)
}

/// [`build_ops_report`] for several kinds, hashing the snapshot once.
///
/// ```
/// use cavra_model::report::OpsKind;
/// let s = cavra_ops::synth::generate(&Default::default());
/// let reports = cavra_ops::build_ops_reports(OpsKind::ALL, &s, &Default::default(), &Default::default());
/// assert_eq!(reports.len(), OpsKind::ALL.len());
/// assert!(reports.iter().all(|r| r.meta.snapshot_digest == s.digest()));
/// ```
pub fn build_ops_reports(
    kinds: &[OpsKind],
    s: &OpsSnapshot,
    options: &ReportOptions,
    targets: &Targets,
) -> Vec<Report> {
    let (digest, ledger) = (s.digest(), s.ledger());
    kinds.iter().map(|k| build_with_digest(*k, (s, &ledger), &digest, options, targets)).collect()
}

fn build_with_digest(
    kind: OpsKind,
    (s, l): (&OpsSnapshot, &crate::response::Ledger),
    digest: &str,
    options: &ReportOptions,
    targets: &Targets,
) -> Report {
    let start = |audience: &str| start(kind, s, digest, options, audience);
    let (mut draft, metrics) = match kind {
        OpsKind::ReportCenterKpis => kpis(start("report center operators and GRC"), (s, l), targets),
        OpsKind::DeliveryOperationsDashboard => delivery(start("delivery operators"), (s, l), targets),
        OpsKind::EvidenceRoomAccess => rooms(start("auditors and the evidence desk"), s),
        OpsKind::AlertOperationsDashboard => crate::build_alerts::alert_dashboard(start("security operations"), (s, l)),
        OpsKind::AlertDrilldown => crate::build_alerts::drilldown(start("security operations and auditors"), (s, l)),
        OpsKind::AlertRemediationPlan => crate::build_response::plans(start("remediation owners"), (s, l)),
        OpsKind::AlertRemediationClosure => crate::build_response::closures(start("approvers and auditors"), (s, l)),
        OpsKind::RemediationClosureDashboard => {
            crate::build_response::closure_dashboard(start("security leadership"), (s, l), targets)
        }
        OpsKind::RemediationExecutiveDigest => {
            crate::build_response::executive_digest(start("the CSO and the board"), (s, l), targets)
        }
        OpsKind::IncidentClosure => {
            crate::build_response::incidents(start("incident owners and auditors"), (s, l), targets)
        }
        OpsKind::ExceptionLifecycle => crate::build_response::exceptions(start("GRC and control owners"), (s, l)),
    };
    closing(&mut draft);
    draft.sections = Sections::Operations(OpsSections { metrics });
    debug_assert!(draft.check_tables().is_ok(), "{:?}", draft.check_tables());
    draft
}

/// Data quality and the report's identity, as every report closes.
fn closing(r: &mut Report) {
    r.blocks.push(heading(2, "Data quality"));
    if r.meta.data_quality.is_empty() {
        r.blocks.push(para("The audit log verified against its key; every figure counts the records in the window."));
    } else {
        r.blocks.push(Block::List { ordered: false, items: r.meta.data_quality.clone() });
    }
    r.blocks.push(heading(2, "About this report"));
    let items = vec![
        format!("Report id: {}", r.meta.report_id),
        format!("Operations snapshot digest: {} ({})", r.meta.snapshot_digest, crate::OPS_SCHEMA_VERSION),
        format!("Audience: {}; classification: {}", r.meta.audience, r.meta.classification.as_str()),
        "Recipients appear as their class and domain, principals as key ids and links as link ids; \
         no address, token or link is shown."
            .into(),
        "Every figure is a pure function of the snapshot; the formulas are in docs/operations.md.".into(),
        r.meta.legal_footer.clone(),
    ];
    r.blocks.push(Block::List { ordered: false, items });
}

fn start(kind: OpsKind, s: &OpsSnapshot, digest: &str, options: &ReportOptions, audience: &str) -> Report {
    let mut h = Sha256::new();
    for part in [kind.as_str(), s.organisation.org_ref.as_str(), digest] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex = format!("{:x}", h.finalize());
    let mut data_quality = Vec::new();
    if !s.audit.verified {
        data_quality.push("the audit log did not verify against its key; audited figures count nothing".into());
    }
    let meta = ReportMeta {
        report_id: format!("{}-{}", kind.as_str(), &hex[..16]),
        kind: Kind::Operations(kind),
        title: kind.title().to_string(),
        schema_version: format!("cavra.{}.v1", kind.as_str().replace('-', "_")),
        tenant_ref: s.organisation.org_ref.clone(),
        tenant_display_name: s.organisation.display_name.clone(),
        generated_at: s.window_end,
        window_start: s.window_start,
        window_end: s.window_end,
        audience: audience.to_string(),
        classification: options.classification.unwrap_or(Classification::Internal),
        branding: options.branding.clone(),
        legal_footer: footer(options),
        data_provenance: s.data_provenance,
        redaction: Default::default(),
        data_quality,
        snapshot_digest: digest.to_string(),
    };
    let mut report = Report {
        meta,
        sections: Sections::Operations(OpsSections { metrics: Vec::new() }),
        blocks: Vec::new(),
        datasets: Vec::new(),
        theme: options.theme.clone(),
    };
    report.blocks.push(heading(1, &format!("{} — {}", kind.title(), s.organisation.display_name)));
    let intro = format!(
        "Reporting window {}; from the report center's own records. Classification: {}.",
        report.window_label(),
        report.meta.classification.as_str()
    );
    report.blocks.push(para(&intro));
    report
}

/// The footer of an operations report: the one given, except that the
/// posture reports' default (which speaks of agent activity) becomes
/// [`OPS_FOOTER`].
fn footer(options: &ReportOptions) -> String {
    if options.legal_footer == ReportOptions::default().legal_footer {
        OPS_FOOTER.to_string()
    } else {
        options.legal_footer.clone()
    }
}

/// The default footer of an operations report.
pub const OPS_FOOTER: &str = "Built from the report center's own records only; no addresses, tokens, links, \
     message content or error texts are included.";

pub(crate) fn heading(level: u8, text: &str) -> Block {
    Block::Heading { level, text: text.into() }
}

pub(crate) fn para(text: &str) -> Block {
    Block::Paragraph { text: text.into() }
}

/// Rows a document (PDF, DOCX, HTML, Markdown) shows of a long table; the
/// data forms (CSV, JSON, JSON Lines, XLSX) hold every row, and a note under
/// the table says so.
pub const DOCUMENT_ROWS: usize = 200;

/// Rows of one room's access events a document shows.
pub const ACCESS_ROWS: usize = 200;

pub(crate) fn table(dataset: &str) -> Block {
    Block::Table(TableRef { dataset: dataset.into(), max_rows: Some(DOCUMENT_ROWS), columns: Vec::new(), filter: None })
}

/// A long table shown in documents with only `columns` (the data forms hold every column).
pub(crate) fn table_of(dataset: &str, columns: &[&str]) -> Block {
    Block::Table(TableRef {
        dataset: dataset.into(),
        max_rows: Some(DOCUMENT_ROWS),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        filter: None,
    })
}

pub(crate) fn kpi(label: &str, value: String, note: &str) -> Kpi {
    Kpi { label: label.into(), value, note: note.into() }
}

pub(crate) fn dataset(name: &str, title: &str, columns: &[(&str, &str, ColumnType)], rows: Vec<Vec<Cell>>) -> Dataset {
    let mut d = Dataset::new(name, title, columns);
    d.rows = Rows::Held(rows);
    d
}

pub(crate) fn opt_time(t: Option<cavra_model::Timestamp>) -> Cell {
    t.map_or(Cell::Null, Cell::from)
}

pub(crate) fn int(n: u64) -> Cell {
    Cell::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The measures as a table, with their objectives and status.
pub(crate) fn metrics_dataset(metrics: &[Metric]) -> Dataset {
    let rows = metrics
        .iter()
        .map(|m| {
            vec![
                Cell::from(m.label.as_str()),
                Cell::from(metrics::show(m)),
                m.numerator.map_or(Cell::Null, int),
                m.denominator.map_or(Cell::Null, int),
                match m.target {
                    Some(t) => Cell::from(metrics::show(&Metric { value: Some(t), ..m.clone() })),
                    None => Cell::Null,
                },
                Cell::from(m.status.as_str().replace('_', " ")),
            ]
        })
        .collect();
    dataset(
        "measures",
        "Measures",
        &[
            ("measure", "Measure", ColumnType::Text),
            ("value", "Value", ColumnType::Text),
            ("numerator", "Counted", ColumnType::Integer),
            ("denominator", "Out of", ColumnType::Integer),
            ("objective", "Objective", ColumnType::Text),
            ("status", "Status", ColumnType::Text),
        ],
        rows,
    )
}

pub(crate) fn breaches(r: &mut Report, metrics: &[Metric]) {
    let breached: Vec<&str> =
        metrics.iter().filter(|m| m.status == MetricStatus::Breached).map(|m| m.label.as_str()).collect();
    let (tone, text) = match breached.len() {
        0 => (Tone::Info, "Every measure with an objective is within it.".to_string()),
        n => (Tone::Critical, format!("{n} measure(s) outside their objective: {}.", breached.join("; "))),
    };
    r.blocks.push(Block::Callout { tone, text });
}

fn kpis(mut r: Report, (s, l): (&OpsSnapshot, &crate::response::Ledger), targets: &Targets) -> (Report, Vec<Metric>) {
    let metrics = metrics::kpis_with(s, l, targets);
    breaches(&mut r, &metrics);
    r.blocks.push(Block::Kpis {
        items: metrics.iter().map(|m| kpi(&m.label, metrics::show(m), &m.status.as_str().replace('_', " "))).collect(),
    });
    r.blocks.push(heading(2, "Measures and objectives"));
    r.blocks.push(table("measures"));
    r.datasets.push(metrics_dataset(&metrics));
    r.blocks.push(heading(2, "How each measure is computed"));
    r.blocks.push(Block::List {
        ordered: false,
        items: metrics.iter().map(|m| format!("{}: {}.", m.label, m.formula)).collect(),
    });
    let mut volume: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for rep in &s.reports {
        *volume.entry((rep.kind.as_str(), rep.format.as_str())).or_default() += 1;
    }
    r.blocks.push(heading(2, "Report volume by kind and format"));
    r.blocks.push(table("report_volume"));
    r.datasets.push(dataset(
        "report_volume",
        "Report volume",
        &[
            ("kind", "Kind", ColumnType::Text),
            ("format", "Format", ColumnType::Text),
            ("reports", "Reports", ColumnType::Integer),
        ],
        volume.into_iter().map(|((k, f), n)| vec![Cell::from(k), Cell::from(f), int(n)]).collect(),
    ));
    (r, metrics)
}

fn delivery(
    mut r: Report,
    (s, l): (&OpsSnapshot, &crate::response::Ledger),
    targets: &Targets,
) -> (Report, Vec<Metric>) {
    let all = metrics::kpis_with(s, l, targets);
    let keep = ["delivery_success_rate", "dead_letters", "approvals_past_deadline", "audit_coverage"];
    let metrics: Vec<Metric> = all.into_iter().filter(|m| keep.contains(&m.metric_id.as_str())).collect();
    breaches(&mut r, &metrics);
    let c = JobCounts::of(&s.jobs);
    r.blocks.push(Block::Kpis {
        items: vec![
            kpi("Sent", c.sent.to_string(), "jobs delivered"),
            kpi("Failed", c.failed.to_string(), "refused or permanent errors"),
            kpi("Dead-lettered", c.dead_lettered.to_string(), "retried until the window closed"),
            kpi("Retrying", c.retry_scheduled.to_string(), "waiting for their next attempt"),
            kpi("In flight", c.in_flight.to_string(), "queued or being sent"),
            kpi("Awaiting approval", c.blocked.to_string(), "held for an approver"),
        ],
    });
    r.blocks.push(heading(2, "Delivery health by transport"));
    r.blocks.push(table("transports"));
    r.datasets.push(transports(s));
    let failed: Vec<_> = s.jobs.iter().filter(|j| matches!(j.state.as_str(), "failed" | "dead_lettered")).collect();
    r.blocks.push(heading(2, "Failed sends and dead letters"));
    r.blocks.push(table("failed_sends"));
    r.datasets.push(jobs_dataset("failed_sends", "Failed sends", &failed));
    let retrying: Vec<_> = s.jobs.iter().filter(|j| j.state == "retry_scheduled").collect();
    r.blocks.push(heading(2, "Retry queue"));
    r.blocks.push(table("retry_queue"));
    r.datasets.push(jobs_dataset("retry_queue", "Retry queue", &retrying));
    r.blocks.push(heading(2, "Approval bottlenecks"));
    r.blocks.push(table("pending_approvals"));
    r.datasets.push(pending_approvals(s));
    r.blocks.push(heading(2, "Scheduled report runs"));
    r.blocks.push(table("schedule_runs"));
    r.datasets.push(dataset(
        "schedule_runs",
        "Schedule runs",
        &[
            ("run", "Run", ColumnType::Text),
            ("state", "State", ColumnType::Text),
            ("claimed_at", "Claimed", ColumnType::DateTime),
        ],
        s.schedule_runs
            .iter()
            .map(|x| vec![Cell::from(x.run_key.as_str()), Cell::from(x.state.as_str()), Cell::from(x.claimed_at)])
            .collect(),
    ));
    r.blocks.push(heading(2, "Immutable audit coverage"));
    r.blocks.push(table("measures"));
    r.datasets.push(metrics_dataset(&metrics));
    (r, metrics)
}

fn transports(s: &OpsSnapshot) -> Dataset {
    let mut by: BTreeMap<&str, Vec<&crate::snapshot::JobRecord>> = BTreeMap::new();
    for j in &s.jobs {
        by.entry(j.transport.as_str()).or_default().push(j);
    }
    let rows = by
        .into_iter()
        .map(|(t, jobs)| {
            let c = JobCounts::of(jobs.iter().copied());
            let rate = metrics::percent(c.sent, c.finished()).map_or(Cell::Null, Cell::Decimal);
            vec![
                Cell::from(t),
                int(jobs.len() as u64),
                int(c.sent),
                int(c.failed),
                int(c.dead_lettered),
                int(c.retry_scheduled),
                rate,
            ]
        })
        .collect();
    dataset(
        "transports",
        "Delivery by transport",
        &[
            ("transport", "Transport", ColumnType::Text),
            ("jobs", "Jobs", ColumnType::Integer),
            ("sent", "Sent", ColumnType::Integer),
            ("failed", "Failed", ColumnType::Integer),
            ("dead_lettered", "Dead-lettered", ColumnType::Integer),
            ("retrying", "Retrying", ColumnType::Integer),
            ("success_rate", "Success rate (%)", ColumnType::Percent),
        ],
        rows,
    )
}

fn jobs_dataset(name: &str, title: &str, jobs: &[&crate::snapshot::JobRecord]) -> Dataset {
    dataset(
        name,
        title,
        &[
            ("job", "Job", ColumnType::Text),
            ("transport", "Transport", ColumnType::Text),
            ("recipient_class", "Recipient class", ColumnType::Text),
            ("recipient_domain", "Domain", ColumnType::Text),
            ("state", "State", ColumnType::Text),
            ("attempts", "Attempts", ColumnType::Integer),
            ("next_attempt_at", "Next attempt", ColumnType::DateTime),
        ],
        jobs.iter()
            .map(|j| {
                vec![
                    Cell::from(j.job_id.as_str()),
                    Cell::from(j.transport.as_str()),
                    Cell::from(j.recipient_class.replace('_', " ")),
                    Cell::from(j.recipient_domain.as_str()),
                    Cell::from(j.state.replace('_', " ")),
                    int(u64::from(j.attempts)),
                    Cell::from(j.next_attempt_at),
                ]
            })
            .collect(),
    )
}

fn pending_approvals(s: &OpsSnapshot) -> Dataset {
    let end = s.window_end.unix_seconds();
    dataset(
        "pending_approvals",
        "Pending approvals",
        &[
            ("approval", "Approval", ColumnType::Text),
            ("requested_at", "Requested", ColumnType::DateTime),
            ("waiting", "Waiting", ColumnType::Text),
            ("expires_at", "Expires", ColumnType::DateTime),
            ("past_deadline", "Past deadline", ColumnType::Text),
        ],
        s.approvals
            .iter()
            .filter(|a| a.decision == "pending")
            .map(|a| {
                vec![
                    Cell::from(a.approval_id.as_str()),
                    Cell::from(a.requested_at),
                    Cell::from(metrics::duration(end - a.requested_at.unix_seconds())),
                    Cell::from(a.expires_at),
                    Cell::from(if a.expires_at <= s.window_end { "yes" } else { "no" }),
                ]
            })
            .collect(),
    )
}

fn rooms(mut r: Report, s: &OpsSnapshot) -> (Report, Vec<Metric>) {
    let visitor = |t, o| metrics::visitor_events(s, Some(t), o);
    let watermarked =
        s.access_events.iter().filter(|e| e.access.watermark_state == WatermarkState::Applied).count() as u64;
    let denied = metrics::visitor_events(s, None, AccessOutcome::Denied);
    let figures = [
        (
            "room_views",
            "Views",
            visitor(AccessType::View, AccessOutcome::Allowed),
            "allowed view events by room visitors",
        ),
        (
            "room_downloads",
            "Downloads",
            visitor(AccessType::Download, AccessOutcome::Allowed),
            "allowed download events by room visitors",
        ),
        ("room_refusals", "Refusals", denied, "denied access events by room visitors"),
        ("watermarked_downloads", "Watermarked copies", watermarked, "events whose download carried a watermark"),
    ];
    let metrics: Vec<Metric> = figures
        .iter()
        .map(|(id, label, n, formula)| Metric {
            metric_id: (*id).into(),
            label: (*label).into(),
            value: Some(*n as f64),
            unit: "count".into(),
            numerator: None,
            denominator: None,
            formula: (*formula).into(),
            target: None,
            status: MetricStatus::Informational,
        })
        .collect();
    r.blocks.push(Block::Kpis { items: figures.iter().map(|(_, l, n, f)| kpi(l, n.to_string(), f)).collect() });
    r.blocks.push(para(
        "Each event below is a record of the signed audit log, named by its sequence number; \
         `cavra-reports audit verify` checks the chain offline with the audit key's public key.",
    ));
    r.blocks.push(heading(2, "Rooms"));
    r.blocks.push(table("rooms"));
    r.datasets.push(room_dataset(s));
    r.blocks.push(heading(2, "Access events"));
    let mut in_log: Vec<&str> = s.access_events.iter().filter_map(|e| e.access.room_ref.as_deref()).collect();
    in_log.sort_unstable();
    in_log.dedup();
    if in_log.is_empty() {
        r.blocks.push(para("No access event in the window."));
    }
    for room in in_log {
        r.blocks.push(heading(3, &format!("Room {room}")));
        r.blocks.push(Block::Table(TableRef {
            dataset: "access_events".into(),
            max_rows: Some(ACCESS_ROWS),
            columns: [
                "seq",
                "at",
                "event_type",
                "outcome",
                "actor_class",
                "mfa",
                "link_state",
                "watermark",
                "access_id",
            ]
            .map(String::from)
            .to_vec(),
            filter: Some(cavra_model::report::RowFilter { column: "room".into(), equals: room.to_string() }),
        }));
    }
    r.datasets.push(access_dataset(s));
    (r, metrics)
}

fn room_dataset(s: &OpsSnapshot) -> Dataset {
    dataset(
        "rooms",
        "Rooms",
        &[
            ("room", "Room", ColumnType::Text),
            ("audience", "Audience", ColumnType::Text),
            ("package", "Package", ColumnType::Text),
            ("created_at", "Created", ColumnType::DateTime),
            ("expires_at", "Expires", ColumnType::DateTime),
            ("closed_at", "Closed", ColumnType::DateTime),
            ("links_issued", "Links issued", ColumnType::Integer),
            ("links_revoked", "Links revoked", ColumnType::Integer),
        ],
        s.rooms
            .iter()
            .map(|x| {
                vec![
                    Cell::from(x.room_id.as_str()),
                    Cell::from(x.audience.as_str()),
                    Cell::from(x.package_id.as_str()),
                    Cell::from(x.created_at),
                    Cell::from(x.expires_at),
                    opt_time(x.closed_at),
                    int(u64::from(x.links_issued)),
                    int(u64::from(x.links_revoked)),
                ]
            })
            .collect(),
    )
}

pub(crate) fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(|s| s.replace('_', " "))).unwrap_or_default()
}

fn access_dataset(s: &OpsSnapshot) -> Dataset {
    dataset(
        "access_events",
        "Access events",
        &[
            ("seq", "Record", ColumnType::Integer),
            ("at", "At", ColumnType::DateTime),
            ("event_type", "Event", ColumnType::Text),
            ("outcome", "Outcome", ColumnType::Text),
            ("room", "Room", ColumnType::Text),
            ("actor_class", "Actor", ColumnType::Text),
            ("mfa", "Second factor", ColumnType::Text),
            ("link", "Link id", ColumnType::Text),
            ("link_state", "Link", ColumnType::Text),
            ("watermark", "Watermark", ColumnType::Text),
            ("access_id", "Access id", ColumnType::Text),
        ],
        s.access_events
            .iter()
            .map(|e| {
                let a = &e.access;
                vec![
                    int(e.seq),
                    Cell::from(e.at),
                    Cell::from(name(&a.event_type)),
                    Cell::from(name(&a.outcome)),
                    Cell::from(a.room_ref.clone().unwrap_or_default()),
                    Cell::from(a.actor_class.replace('_', " ")),
                    Cell::from(name(&a.mfa_status)),
                    a.signed_link.link_ref.as_deref().map_or(Cell::Null, Cell::from),
                    Cell::from(name(&a.signed_link.state)),
                    Cell::from(name(&a.watermark_state)),
                    a.access_id.as_deref().map_or(Cell::Null, Cell::from),
                ]
            })
            .collect(),
    )
}
