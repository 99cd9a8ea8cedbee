//! incident-packet: one section per incident with its timeline, linked
//! decisions (metadata only, targets redacted), linked exceptions, affected
//! agents, a chain-of-custody table and the closure requirements still open.

use std::collections::{BTreeMap, BTreeSet};

use super::{heading, list, para, table_where, Ctx};

/// The incident columns a document shows: what happened, how bad, who owns
/// it, when it is due, and how much it links to (closing dates, linked
/// exception counts and the requirement texts are in the data forms and
/// the per-incident sections).
const INCIDENTS_VIEW: &[&str] = &[
    "incident_ref",
    "title",
    "severity",
    "status",
    "opened_at",
    "owner_role",
    "review_due_at",
    "linked_decisions",
    "affected_agents",
    "open_requirements",
];
use crate::canonical::canonical_sha256;
use crate::decisions::{DecisionRef, DecisionView};
use crate::input::{ExceptionStatus, Incident, IncidentStatus, PolicyException};
use crate::posture::{agent_key, display_target};
use crate::report::{Block, Classification, ColumnType, Dataset, Kpi, Report, ReportKind};
use crate::sections::{IncidentSections, IncidentSummary, Sections};

fn open(i: &Incident) -> bool {
    matches!(i.status, IncidentStatus::Open | IncidentStatus::Contained)
}

/// Closure requirements that still stand for an incident.
fn open_requirements(
    ctx: &Ctx,
    inc: &Incident,
    decisions: &[DecisionRef<'_>],
    exceptions: &[&PolicyException],
) -> Vec<String> {
    let as_of = ctx.snapshot.as_of;
    let mut out = Vec::new();
    match inc.status {
        IncidentStatus::Open => out.push("contain and resolve the incident".to_string()),
        IncidentStatus::Contained => out.push("resolve the incident and record the fix".to_string()),
        IncidentStatus::Resolved => out.push("close the incident after the post-incident review".to_string()),
        IncidentStatus::Closed => {}
    }
    if inc.status == IncidentStatus::Closed && inc.closed_at.is_none() {
        out.push("record when the incident was closed".into());
    }
    if open(inc) && inc.review_due_at < as_of {
        out.push(format!("review overdue since {}", inc.review_due_at));
    }
    for d in decisions.iter().filter(|d| d.evidence_refs().is_empty()) {
        out.push(format!("attach evidence for decision {}", d.decision_id()));
    }
    let known: BTreeSet<&str> = decisions.iter().map(|d| d.decision_id()).collect();
    for id in inc.decision_ids.iter().filter(|id| !known.contains(id.as_str())) {
        out.push(format!("locate linked decision {id} (not in this snapshot)"));
    }
    for x in exceptions.iter().filter(|x| matches!(x.status, ExceptionStatus::Active | ExceptionStatus::Approved)) {
        out.push(format!("confirm linked exception {} should stay in force", x.exception_ref));
    }
    out
}

pub(super) fn build(ctx: &Ctx) -> Report {
    let s = ctx.snapshot;
    let mut r = ctx.start(
        ReportKind::IncidentPacket,
        "cavra.report.incident_packet.v2",
        "incident response and audit",
        Classification::Confidential,
    );
    // Only the decisions an incident names are looked up.
    let named: BTreeSet<&str> = s.incidents.iter().flat_map(|i| i.decision_ids.iter().map(String::as_str)).collect();
    let by_id: BTreeMap<&str, DecisionRef<'_>> = if named.is_empty() {
        BTreeMap::new()
    } else {
        s.decisions.iter().filter(|d| named.contains(d.decision_id())).map(|d| (d.decision_id(), d)).collect()
    };
    let exceptions: BTreeMap<&str, &PolicyException> =
        s.exceptions.iter().map(|x| (x.exception_ref.as_str(), x)).collect();
    let mut incidents: Vec<&Incident> = s.incidents.iter().collect();
    // Open first, then by severity, then newest, then reference.
    incidents.sort_by(|a, b| {
        open(b)
            .cmp(&open(a))
            .then(a.severity.cmp(&b.severity))
            .then(b.opened_at.cmp(&a.opened_at))
            .then_with(|| a.incident_ref.cmp(&b.incident_ref))
    });

    use ColumnType::*;
    let mut linked = Dataset::new(
        "linked_decisions",
        "Linked decisions",
        &[
            ("incident_ref", "Incident", Text),
            ("decision_id", "Decision", Text),
            ("timestamp", "Time", DateTime),
            ("agent_id", "Agent", Text),
            ("repository", "Repository", Text),
            ("action_type", "Action", Text),
            ("target", "Target", Text),
            ("rule_id", "Rule", Text),
            ("decision", "Decision taken", Status),
            ("severity", "Severity", Severity),
            ("reason", "Reason", Text),
            ("evidence_refs", "Evidence", Text),
        ],
    );
    let mut linked_x = Dataset::new(
        "linked_exceptions",
        "Linked exceptions",
        &[
            ("incident_ref", "Incident", Text),
            ("exception_ref", "Exception", Text),
            ("status", "Status", Status),
            ("expires_at", "Expires", DateTime),
            ("approver_role", "Approver role", Text),
        ],
    );
    let mut custody = Dataset::new(
        "chain_of_custody",
        "Chain of custody",
        &[
            ("incident_ref", "Incident", Text),
            ("record_type", "Record", Status),
            ("record_id", "Id", Text),
            ("sha256", "sha256 of canonical JSON", Text),
        ],
    );
    let mut sections = Vec::new();
    let mut summaries = Vec::new();
    for inc in &incidents {
        let mut decisions: Vec<DecisionRef<'_>> =
            inc.decision_ids.iter().filter_map(|id| by_id.get(id.as_str()).copied()).collect();
        decisions.sort_by(|a, b| a.timestamp().cmp(&b.timestamp()).then_with(|| a.decision_id().cmp(b.decision_id())));
        decisions.dedup_by(|a, b| a.decision_id() == b.decision_id());
        let xs: Vec<&PolicyException> =
            inc.exception_refs.iter().filter_map(|x| exceptions.get(x.as_str()).copied()).collect();
        let agents: BTreeSet<&str> = decisions.iter().map(|d| agent_key(d.agent_id())).collect();
        let agents_text = agents.iter().copied().collect::<Vec<_>>().join("; ");
        let requirements = open_requirements(ctx, inc, &decisions, &xs);
        custody.push(vec![
            inc.incident_ref.clone().into(),
            "incident".into(),
            inc.incident_ref.clone().into(),
            canonical_sha256(inc).unwrap_or_default().into(),
        ]);
        for d in &decisions {
            linked.push(vec![
                inc.incident_ref.clone().into(),
                d.decision_id().into(),
                d.timestamp().into(),
                agent_key(d.agent_id()).into(),
                d.repository().clone().into(),
                d.action_type().clone().into(),
                display_target(d).text.into(),
                d.rule_id().clone().into(),
                d.decision().as_str().into(),
                d.severity().as_str().into(),
                d.reason().clone().into(),
                d.evidence_refs().join("; ").into(),
            ]);
            custody.push(vec![
                inc.incident_ref.clone().into(),
                "decision".into(),
                d.decision_id().into(),
                canonical_sha256(d).unwrap_or_default().into(),
            ]);
        }
        for x in &xs {
            linked_x.push(vec![
                inc.incident_ref.clone().into(),
                x.exception_ref.clone().into(),
                x.status.as_str().into(),
                x.expires_at.into(),
                x.approver_role.clone().into(),
            ]);
            custody.push(vec![
                inc.incident_ref.clone().into(),
                "exception".into(),
                x.exception_ref.clone().into(),
                canonical_sha256(x).unwrap_or_default().into(),
            ]);
        }

        let mut timeline =
            vec![format!("{} opened ({} severity, owner {})", inc.opened_at, inc.severity, inc.owner_role)];
        timeline.extend(decisions.iter().map(|d| {
            format!(
                "{} decision {}: {} / {} by agent {} on {}",
                d.timestamp(),
                d.decision_id(),
                d.decision(),
                d.severity(),
                agent_key(d.agent_id()),
                d.repository()
            )
        }));
        if let Some(c) = inc.closed_at {
            timeline.push(format!("{c} closed"));
        }
        timeline.push(format!("{} review due", inc.review_due_at));
        timeline.sort();

        sections.push(heading(2, &format!("{} — {}", inc.incident_ref, inc.title)));
        sections.push(Block::Kpis {
            items: vec![
                Kpi { label: "Severity".into(), value: inc.severity.as_str().into(), note: String::new() },
                Kpi { label: "Status".into(), value: inc.status.as_str().into(), note: String::new() },
                Kpi {
                    label: "Linked decisions".into(),
                    value: decisions.len().to_string(),
                    note: format!("{} exceptions", xs.len()),
                },
                Kpi {
                    label: "Review due".into(),
                    value: inc.review_due_at.date_string(),
                    note: format!("owner {}", inc.owner_role),
                },
            ],
        });
        sections.push(para(&format!(
            "Affected agents: {}.",
            if agents_text.is_empty() { "none recorded".to_string() } else { agents_text.replace("; ", ", ") }
        )));
        sections.push(heading(3, "Timeline"));
        sections.push(list(false, timeline));
        if !decisions.is_empty() {
            sections.push(heading(3, "Linked decisions"));
            sections.push(table_where(
                "linked_decisions",
                &["decision_id", "timestamp", "agent_id", "action_type", "target", "decision", "severity", "reason"],
                "incident_ref",
                &inc.incident_ref,
            ));
        }
        if !xs.is_empty() {
            sections.push(heading(3, "Linked exceptions"));
            sections.push(table_where(
                "linked_exceptions",
                &["exception_ref", "status", "expires_at", "approver_role"],
                "incident_ref",
                &inc.incident_ref,
            ));
        }
        sections.push(heading(3, "Chain of custody"));
        sections.push(table_where(
            "chain_of_custody",
            &["record_type", "record_id", "sha256"],
            "incident_ref",
            &inc.incident_ref,
        ));
        sections.push(heading(3, "Open closure requirements"));
        if requirements.is_empty() {
            sections.push(para("None: the incident is closed with its evidence in place."));
        } else {
            sections.push(list(false, requirements.clone()));
        }
        summaries.push(IncidentSummary {
            incident_ref: inc.incident_ref.clone(),
            title: inc.title.clone(),
            severity: inc.severity,
            status: inc.status,
            opened_at: inc.opened_at,
            closed_at: inc.closed_at,
            owner_role: inc.owner_role.clone(),
            review_due_at: inc.review_due_at,
            linked_decisions: decisions.len(),
            linked_exceptions: xs.len(),
            affected_agents: agents.iter().map(|a| a.to_string()).collect(),
            open_requirements: requirements.len(),
            requirements,
        });
    }

    let open_count = incidents.iter().filter(|i| open(i)).count();
    let typed = IncidentSections { incident_count: incidents.len(), open_incidents: open_count, incidents: summaries };
    let summary = Dataset::from_rows("incidents", "Incidents", &typed.incidents).held_in("incidents");
    r.blocks.push(heading(2, "Summary"));
    r.blocks.push(Block::Kpis {
        items: vec![
            Kpi { label: "Incidents".into(), value: incidents.len().to_string(), note: "in this snapshot".into() },
            Kpi { label: "Open or contained".into(), value: open_count.to_string(), note: "still need action".into() },
            Kpi {
                label: "Linked decisions".into(),
                value: linked.rows.len().to_string(),
                note: "metadata only, targets redacted".into(),
            },
        ],
    });
    r.blocks.push(para(
        "Each record linked to an incident is identified by the sha256 of its canonical JSON (RFC 8785, extension data excluded), so the packet can be matched to the source records without carrying them.",
    ));
    if incidents.is_empty() {
        r.blocks.push(para("No incidents are recorded in this snapshot."));
    } else {
        r.blocks.push(super::table_columns("incidents", None, INCIDENTS_VIEW));
    }
    r.blocks.extend(sections);
    r.datasets.extend([summary, linked, linked_x, custody]);
    r.finish(Sections::IncidentPacket(typed))
}
