//! exception-report: every policy exception with its age, expiry, review and
//! renewal state, and the flags that need action.

use super::{heading, para, Ctx};
use crate::input::{ExceptionStatus, PolicyException};
use crate::report::{Block, Chart, ChartKind, Classification, ColumnType, Dataset, Kpi, Report, ReportKind, Series};
use crate::sections::{ExceptionSections, Figures, Sections};

/// Exceptions in force: approved or active.
fn in_force(x: &PolicyException) -> bool {
    matches!(x.status, ExceptionStatus::Active | ExceptionStatus::Approved)
}

/// Exceptions that are not finished (everything but expired, revoked, closed).
fn live(x: &PolicyException) -> bool {
    matches!(x.status, ExceptionStatus::Requested | ExceptionStatus::Approved | ExceptionStatus::Active)
}

struct Row<'a> {
    x: &'a PolicyException,
    age_days: i64,
    days_to_expiry: i64,
    flags: Vec<&'static str>,
}

pub(super) const FLAGS: [&str; 4] =
    ["expired_but_active", "expiring_within_7_days", "renewal_limit_exceeded", "review_overdue"];

fn row<'a>(ctx: &Ctx, x: &'a PolicyException) -> Row<'a> {
    let as_of = ctx.snapshot.as_of;
    let days_to_expiry = as_of.days_until(x.expires_at);
    let mut flags = Vec::new();
    if in_force(x) && x.expires_at < as_of {
        flags.push(FLAGS[0]);
    }
    if in_force(x) && x.expires_at >= as_of && days_to_expiry <= 7 {
        flags.push(FLAGS[1]);
    }
    if x.renewal_count > x.renewal_limit {
        flags.push(FLAGS[2]);
    }
    if live(x) && x.review_due_at < as_of {
        flags.push(FLAGS[3]);
    }
    Row { x, age_days: x.opened_at.days_until(as_of), days_to_expiry, flags }
}

fn scope_text(x: &PolicyException) -> String {
    let s = &x.scope;
    let mut parts = Vec::new();
    if let Some(v) = &s.agent_id {
        parts.push(format!("agent {v}"));
    }
    if let Some(v) = &s.rule_id {
        parts.push(format!("rule {v}"));
    }
    if let Some(v) = &s.repository {
        parts.push(format!("repository {v}"));
    }
    if let Some(v) = s.surface {
        parts.push(format!("surface {v}"));
    }
    if parts.is_empty() {
        "unscoped".into()
    } else {
        parts.join("; ")
    }
}

pub(super) fn build(ctx: &Ctx) -> Report {
    let mut r = ctx.start(
        ReportKind::ExceptionReport,
        "cavra.report.exception_report.v1",
        "GRC and risk owners",
        Classification::Internal,
    );
    let mut rows: Vec<Row> = ctx.snapshot.exceptions.iter().map(|x| row(ctx, x)).collect();
    // Most flags first, then soonest expiry, then reference.
    rows.sort_by(|a, b| {
        b.flags
            .len()
            .cmp(&a.flags.len())
            .then(a.days_to_expiry.cmp(&b.days_to_expiry))
            .then_with(|| a.x.exception_ref.cmp(&b.x.exception_ref))
    });
    let count = |flag: &str| rows.iter().filter(|r| r.flags.contains(&flag)).count();
    let in_force_n = rows.iter().filter(|r| in_force(r.x)).count();

    let sections = ExceptionSections {
        exception_count: rows.len(),
        in_force: in_force_n,
        flags: Figures(FLAGS.iter().map(|f| (*f, i64::try_from(count(f)).unwrap_or(i64::MAX))).collect()),
    };

    r.blocks.push(heading(2, "Summary"));
    r.blocks.push(Block::Kpis {
        items: vec![
            Kpi { label: "Exceptions".into(), value: rows.len().to_string(), note: format!("{in_force_n} in force") },
            Kpi {
                label: "Expired but in force".into(),
                value: count(FLAGS[0]).to_string(),
                note: "past expiry, still active or approved".into(),
            },
            Kpi {
                label: "Expiring within 7 days".into(),
                value: count(FLAGS[1]).to_string(),
                note: "renew or let lapse".into(),
            },
            Kpi {
                label: "Renewal limit exceeded".into(),
                value: count(FLAGS[2]).to_string(),
                note: "renewed more often than allowed".into(),
            },
            Kpi {
                label: "Review overdue".into(),
                value: count(FLAGS[3]).to_string(),
                note: "review date passed".into(),
            },
        ],
    });
    r.blocks.push(Block::Chart(Chart {
        kind: ChartKind::Bar,
        title: "Exceptions by status".into(),
        categories: ExceptionStatus::ALL.iter().map(|s| s.as_str().to_string()).collect(),
        series: vec![Series {
            name: "exceptions".into(),
            values: ExceptionStatus::ALL
                .iter()
                .map(|s| rows.iter().filter(|r| r.x.status == *s).count() as f64)
                .collect(),
        }],
    }));
    r.blocks.push(para(
        "Days are whole days from the report's as-of instant, rounded down; a negative days-to-expiry means the exception has already expired. Flagged exceptions are listed first.",
    ));
    r.blocks.push(heading(2, "Exceptions"));
    if rows.is_empty() {
        r.blocks.push(para("No policy exceptions are recorded in this snapshot."));
    } else {
        r.blocks.push(super::table_columns(
            "exceptions",
            Some(100),
            &["exception_ref", "status", "scope", "age_days", "days_to_expiry", "review_due_at", "renewals", "flags"],
        ));
    }

    use ColumnType::*;
    let mut d = Dataset::new(
        "exceptions",
        "Policy exceptions",
        &[
            ("exception_ref", "Exception", Text),
            ("status", "Status", Status),
            ("scope", "Scope", Text),
            ("approver_role", "Approver role", Text),
            ("opened_at", "Opened", DateTime),
            ("expires_at", "Expires", DateTime),
            ("review_due_at", "Review due", DateTime),
            ("age_days", "Age (days)", Integer),
            ("days_to_expiry", "Days to expiry", Integer),
            ("renewal_count", "Renewals", Integer),
            ("renewal_limit", "Renewal limit", Integer),
            ("renewals", "Renewals used", Text),
            ("flags", "Flags", Text),
            ("expired_but_active", "Expired but active", Status),
            ("expiring_within_7_days", "Expiring ≤ 7 days", Status),
            ("renewal_limit_exceeded", "Renewal limit exceeded", Status),
            ("review_overdue", "Review overdue", Status),
            ("justification_ref", "Justification", Text),
        ],
    );
    for row in &rows {
        let x = row.x;
        let yes = |f: &str| if row.flags.contains(&f) { "yes" } else { "no" };
        d.push(vec![
            x.exception_ref.clone().into(),
            x.status.as_str().into(),
            scope_text(x).into(),
            x.approver_role.clone().into(),
            x.opened_at.into(),
            x.expires_at.into(),
            x.review_due_at.into(),
            row.age_days.into(),
            row.days_to_expiry.into(),
            i64::from(x.renewal_count).into(),
            i64::from(x.renewal_limit).into(),
            format!("{} of {}", x.renewal_count, x.renewal_limit).into(),
            row.flags.join("; ").into(),
            yes(FLAGS[0]).into(),
            yes(FLAGS[1]).into(),
            yes(FLAGS[2]).into(),
            yes(FLAGS[3]).into(),
            x.justification_ref.clone().into(),
        ]);
    }
    r.datasets.push(d);
    r.finish(Sections::ExceptionReport(sections))
}
