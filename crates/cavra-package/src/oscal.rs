//! OSCAL 1.1.2 documents for GRC tools: Assessment Results (one observation
//! and one finding per posture finding, targeted at the framework clauses
//! `cavra_model::frameworks` maps its risk class to) and a Plan of Action and
//! Milestones (one item per open finding, with a remediation milestone due
//! by severity). Every UUID is a version-5 UUID of a stable name, never random.

use cavra_model::frameworks::{risk_clauses, Framework};
use cavra_model::input::Severity;
use cavra_model::posture::Finding;
use cavra_model::{Posture, Snapshot, Timestamp};
use serde_json::{json, Value};
use uuid::Uuid;

/// OSCAL version the documents declare.
pub const OSCAL_VERSION: &str = "1.1.2";

/// Namespace for property names of ours.
const NS: &str = "urn:cavra:oscal";

/// Days to remediate an open finding, by severity.
pub fn remediation_days(s: Severity) -> i64 {
    match s {
        Severity::Critical => 7,
        Severity::High => 30,
        Severity::Medium => 90,
        Severity::Low => 180,
    }
}

/// A name-based (v5) UUID under the package's namespace.
fn uuid(scope: &str, name: &str) -> String {
    let ns = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:cavra-report-center:oscal");
    Uuid::new_v5(&ns, format!("{scope}\u{1f}{name}").as_bytes()).to_string()
}

fn framework_slug(f: Framework) -> &'static str {
    match f {
        Framework::NistAiRmf => "nist-ai-rmf",
        Framework::Iso42001 => "iso-iec-42001",
        Framework::OwaspLlm => "owasp-llm",
        Framework::NistSsdf => "nist-ssdf",
        Framework::EuAiAct => "eu-ai-act",
    }
}

/// An OSCAL token (letters, digits, `.`, `-`, `_`; starting with a letter).
fn token(framework: Framework, clause: &str) -> String {
    let clause: String =
        clause.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
    format!("{}_{}", framework_slug(framework), clause.trim_matches('_'))
}

/// A property value: OSCAL forbids leading/trailing whitespace and empty values.
fn value(text: &str) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        "none".into()
    } else {
        t
    }
}

fn prop(name: &str, v: &str) -> Value {
    json!({"name": name, "ns": NS, "value": value(v)})
}

fn metadata(title: &str, snapshot: &Snapshot, tenant: &str) -> Value {
    json!({
        "title": title,
        "last-modified": snapshot.as_of.to_string(),
        "version": snapshot.as_of.date_string(),
        "oscal-version": OSCAL_VERSION,
        "props": [prop("tenant", tenant)],
    })
}

fn finding_text(f: &Finding) -> String {
    format!(
        "Agent {} ran `{}` under rule {} in {}: decision {}, severity {}. Policy reason: {}",
        f.agent_id,
        f.target,
        f.rule_id,
        if f.repository.is_empty() { "no repository" } else { &f.repository },
        f.decision.as_str(),
        f.severity.as_str(),
        if f.reason.trim().is_empty() { "none recorded" } else { f.reason.trim() }
    )
}

/// The Assessment Results document.
pub fn assessment_results(snapshot: &Snapshot, posture: &Posture, package_id: &str) -> Value {
    let tenant = snapshot.tenant.tenant_ref.as_str();
    let scope = format!("{tenant}/{}", posture.snapshot_digest);
    let mut observations = Vec::with_capacity(posture.findings.len());
    let mut findings = Vec::with_capacity(posture.findings.len());
    for f in &posture.findings {
        let obs_uuid = uuid(&scope, &format!("observation/{}", f.finding_id));
        let clauses = risk_clauses(f.risk_classification);
        let mut props = vec![
            prop("decision-id", &f.decision_id),
            prop("agent-id", &f.agent_id),
            prop("rule-id", &f.rule_id),
            prop("severity", f.severity.as_str()),
            prop("risk-classification", f.risk_classification.as_str()),
            prop("control-surface", f.control_surface.as_str()),
        ];
        props.extend(clauses.iter().map(|(fw, c)| prop("framework-clause", &format!("{} {c}", fw.name()))));
        observations.push(json!({
            "uuid": obs_uuid,
            "title": format!("Policy decision {}", f.decision_id),
            "description": finding_text(f),
            "props": props,
            "methods": ["TEST"],
            "types": ["finding"],
            "collected": f.timestamp.to_string(),
        }));
        let (fw, clause) = clauses.first().copied().unwrap_or((Framework::NistAiRmf, "GOVERN-1.1"));
        findings.push(json!({
            "uuid": uuid(&scope, &format!("finding/{}", f.finding_id)),
            "title": format!("{} ({} severity)", f.risk_classification.as_str().replace('_', " "), f.severity.as_str()),
            "description": finding_text(f),
            "props": clauses.iter().map(|(fw, c)| prop("framework-clause", &format!("{} {c}", fw.name()))).collect::<Vec<_>>(),
            "target": {
                "type": "objective-id",
                "target-id": token(fw, clause),
                "status": {"state": "not-satisfied"},
            },
            "related-observations": [{"observation-uuid": obs_uuid}],
        }));
    }
    let start = snapshot.window_start.unwrap_or(snapshot.window_end);
    let mut result = json!({
        "uuid": uuid(&scope, "result"),
        "title": format!("AI-agent policy posture, {}", snapshot.tenant.display_name),
        "description": format!(
            "Findings from {} policy decisions of AI agents between {start} and {}: blocked, held, warned or audited actions with high-risk classifications. Posture score {}/100 (normalised {}/100).",
            posture.overview.total_decisions,
            snapshot.window_end,
            posture.overview.posture_score,
            posture.overview.normalised_score
        ),
        "start": start.to_string(),
        "end": snapshot.window_end.to_string(),
        "props": [prop("snapshot-digest", &posture.snapshot_digest), prop("package-id", package_id)],
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
    });
    if !observations.is_empty() {
        result["observations"] = Value::Array(observations);
        result["findings"] = Value::Array(findings);
    }
    json!({
        "assessment-results": {
            "uuid": uuid(&scope, "assessment-results"),
            "metadata": metadata(&format!("AI-agent assessment results — {}", snapshot.tenant.display_name), snapshot, tenant),
            "import-ap": {"href": format!("#{}", uuid(&scope, "assessment-plan"))},
            "results": [result],
        }
    })
}

fn due(at: Timestamp, days: i64) -> String {
    Timestamp::from_unix_seconds(at.unix_seconds() + days * 86_400).map_or_else(|_| at.to_string(), |t| t.to_string())
}

/// The Plan of Action and Milestones document.
pub fn poam(snapshot: &Snapshot, posture: &Posture) -> Value {
    let tenant = snapshot.tenant.tenant_ref.as_str();
    let scope = format!("{tenant}/{}", posture.snapshot_digest);
    let mut risks = Vec::with_capacity(posture.findings.len());
    let mut items = Vec::with_capacity(posture.findings.len());
    for f in &posture.findings {
        let risk_uuid = uuid(&scope, &format!("risk/{}", f.finding_id));
        let days = remediation_days(f.severity);
        let deadline = due(snapshot.as_of, days);
        let clauses = risk_clauses(f.risk_classification);
        risks.push(json!({
            "uuid": risk_uuid,
            "title": format!("{} by agent {}", f.risk_classification.as_str().replace('_', " "), f.agent_id),
            "description": finding_text(f),
            "statement": format!(
                "Open until rule {} no longer fires for agent {} at {} severity, or an approved exception covers it.",
                f.rule_id, f.agent_id, f.severity.as_str()
            ),
            "props": clauses.iter().map(|(fw, c)| prop("framework-clause", &format!("{} {c}", fw.name()))).collect::<Vec<_>>(),
            "status": "open",
            "deadline": deadline,
            "remediations": [{
                "uuid": uuid(&scope, &format!("remediation/{}", f.finding_id)),
                "lifecycle": "planned",
                "title": "Tighten the policy or the agent's permissions",
                "description": format!(
                    "Review rule {} for agent {}; remove the capability or route it through approval. Due within {days} days of {} ({} severity).",
                    f.rule_id, f.agent_id, snapshot.as_of.date_string(), f.severity.as_str()
                ),
                "tasks": [{
                    "uuid": uuid(&scope, &format!("milestone/{}", f.finding_id)),
                    "type": "milestone",
                    "title": format!("Remediated by {}", &deadline[..10]),
                    "timing": {"on-date": {"date": deadline}},
                }],
            }],
        }));
        items.push(json!({
            "uuid": uuid(&scope, &format!("poam-item/{}", f.finding_id)),
            "title": format!("Remediate {} ({})", f.finding_id, f.severity.as_str()),
            "description": finding_text(f),
            "props": [prop("decision-id", &f.decision_id), prop("severity", f.severity.as_str())],
            "related-risks": [{"risk-uuid": risk_uuid}],
        }));
    }
    if items.is_empty() {
        // OSCAL requires at least one item; say plainly that nothing is open.
        items.push(json!({
            "uuid": uuid(&scope, "poam-item/none"),
            "title": "No open findings",
            "description": format!("No policy decision in the window up to {} is an open finding.", snapshot.window_end),
        }));
    }
    let mut doc = json!({
        "uuid": uuid(&scope, "poam"),
        "metadata": metadata(&format!("AI-agent plan of action and milestones — {}", snapshot.tenant.display_name), snapshot, tenant),
        "system-id": {"identifier-type": "https://ietf.org/rfc/rfc4122", "id": uuid(tenant, "system")},
        "poam-items": items,
    });
    if !risks.is_empty() {
        doc["risks"] = Value::Array(risks);
    }
    json!({"plan-of-action-and-milestones": doc})
}
