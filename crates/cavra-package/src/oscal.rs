//! OSCAL 1.1.2 documents for GRC tools: Assessment Results (one observation
//! and one finding per posture finding, targeted at the framework clauses
//! `cavra_model::frameworks` maps its risk class to) and a Plan of Action and
//! Milestones (one item per open finding, with a remediation milestone due
//! by severity). Every UUID is a version-5 UUID of a stable name, never random.

use cavra_model::frameworks::{risk_clauses, Framework};
use cavra_model::input::Severity;
use cavra_model::posture::Finding;
use cavra_model::{Posture, Snapshot, Timestamp};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
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
        f.agent_id(),
        f.target,
        f.rule_id(),
        if f.repository().is_empty() { "no repository" } else { f.repository() },
        f.decision().as_str(),
        f.severity().as_str(),
        if f.reason().trim().is_empty() { "none recorded" } else { f.reason().trim() }
    )
}

/// A JSON array whose elements are made one at a time as it is written, so
/// a document with 50,000 findings never holds them all as values.
struct Each<'a, T, F>(&'a [T], F);

impl<T, F: Fn(&T) -> Value> Serialize for Each<'_, T, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for x in self.0 {
            seq.serialize_element(&(self.1)(x))?;
        }
        seq.end()
    }
}

/// A JSON object: `head`'s members in order, then the streamed arrays that
/// are present.
#[derive(Serialize)]
struct WithArrays<A: Serialize, B: Serialize> {
    #[serde(flatten)]
    head: Value,
    #[serde(flatten)]
    arrays: Option<A>,
    #[serde(flatten)]
    more: Option<B>,
}

fn observation(scope: &str, f: &Finding) -> Value {
    let clauses = risk_clauses(f.risk_classification);
    let mut props = vec![
        prop("decision-id", f.decision_id()),
        prop("agent-id", &f.agent_id()),
        prop("rule-id", f.rule_id()),
        prop("severity", f.severity().as_str()),
        prop("risk-classification", f.risk_classification.as_str()),
        prop("control-surface", f.control_surface.as_str()),
    ];
    props.extend(clauses.iter().map(|(fw, c)| prop("framework-clause", &format!("{} {c}", fw.name()))));
    json!({
        "uuid": uuid(scope, &format!("observation/{}", f.finding_id())),
        "title": format!("Policy decision {}", f.decision_id()),
        "description": finding_text(f),
        "props": props,
        "methods": ["TEST"],
        "types": ["finding"],
        "collected": f.timestamp().to_string(),
    })
}

fn assessment_finding(scope: &str, f: &Finding) -> Value {
    let clauses = risk_clauses(f.risk_classification);
    let (fw, clause) = clauses.first().copied().unwrap_or((Framework::NistAiRmf, "GOVERN-1.1"));
    json!({
        "uuid": uuid(scope, &format!("finding/{}", f.finding_id())),
        "title": format!("{} ({} severity)", f.risk_classification.as_str().replace('_', " "), f.severity().as_str()),
        "description": finding_text(f),
        "props": clauses.iter().map(|(fw, c)| prop("framework-clause", &format!("{} {c}", fw.name()))).collect::<Vec<_>>(),
        "target": {
            "type": "objective-id",
            "target-id": token(fw, clause),
            "status": {"state": "not-satisfied"},
        },
        "related-observations": [{"observation-uuid": uuid(scope, &format!("observation/{}", f.finding_id()))}],
    })
}

/// `observations` and `findings` of a result, one element per posture finding.
#[derive(Serialize)]
struct ResultArrays<O: Serialize, F: Serialize> {
    observations: O,
    findings: F,
}

/// The Assessment Results document, serialised as it is written (one
/// observation and one finding per posture finding).
pub fn assessment_results<'a>(snapshot: &'a Snapshot, posture: &'a Posture, package_id: &str) -> impl Serialize + 'a {
    let tenant = snapshot.tenant.tenant_ref.as_str();
    let scope = format!("{tenant}/{}", posture.snapshot_digest);
    let start = snapshot.window_start.unwrap_or(snapshot.window_end);
    let head = json!({
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
    let findings = &posture.findings[..];
    let (s1, s2) = (scope.clone(), scope.clone());
    let arrays = (!findings.is_empty()).then_some(ResultArrays {
        observations: Each(findings, move |f: &Finding| observation(&s1, f)),
        findings: Each(findings, move |f: &Finding| assessment_finding(&s2, f)),
    });
    let result = WithArrays { head, arrays, more: None::<Value> };
    let top = json!({
        "uuid": uuid(&scope, "assessment-results"),
        "metadata": metadata(&format!("AI-agent assessment results — {}", snapshot.tenant.display_name), snapshot, tenant),
        "import-ap": {"href": format!("#{}", uuid(&scope, "assessment-plan"))},
    });
    #[derive(Serialize)]
    struct Results<R: Serialize> {
        results: [R; 1],
    }
    #[derive(Serialize)]
    struct Doc<R: Serialize> {
        #[serde(rename = "assessment-results")]
        inner: WithArrays<Results<R>, Value>,
    }
    Doc { inner: WithArrays { head: top, arrays: Some(Results { results: [result] }), more: None } }
}

fn due(at: Timestamp, days: i64) -> String {
    Timestamp::from_unix_seconds(at.unix_seconds() + days * 86_400).map_or_else(|_| at.to_string(), |t| t.to_string())
}

fn poam_risk(scope: &str, snapshot: &Snapshot, f: &Finding) -> Value {
    let days = remediation_days(f.severity());
    let deadline = due(snapshot.as_of, days);
    let clauses = risk_clauses(f.risk_classification);
    json!({
        "uuid": uuid(scope, &format!("risk/{}", f.finding_id())),
        "title": format!("{} by agent {}", f.risk_classification.as_str().replace('_', " "), f.agent_id()),
        "description": finding_text(f),
        "statement": format!(
            "Open until rule {} no longer fires for agent {} at {} severity, or an approved exception covers it.",
            f.rule_id(), f.agent_id(), f.severity().as_str()
        ),
        "props": clauses.iter().map(|(fw, c)| prop("framework-clause", &format!("{} {c}", fw.name()))).collect::<Vec<_>>(),
        "status": "open",
        "deadline": deadline,
        "remediations": [{
            "uuid": uuid(scope, &format!("remediation/{}", f.finding_id())),
            "lifecycle": "planned",
            "title": "Tighten the policy or the agent's permissions",
            "description": format!(
                "Review rule {} for agent {}; remove the capability or route it through approval. Due within {days} days of {} ({} severity).",
                f.rule_id(), f.agent_id(), snapshot.as_of.date_string(), f.severity().as_str()
            ),
            "tasks": [{
                "uuid": uuid(scope, &format!("milestone/{}", f.finding_id())),
                "type": "milestone",
                "title": format!("Remediated by {}", deadline.get(..10).unwrap_or(&deadline)),
                "timing": {"on-date": {"date": deadline}},
            }],
        }],
    })
}

fn poam_item(scope: &str, f: &Finding) -> Value {
    json!({
        "uuid": uuid(scope, &format!("poam-item/{}", f.finding_id())),
        "title": format!("Remediate {} ({})", f.finding_id(), f.severity().as_str()),
        "description": finding_text(f),
        "props": [prop("decision-id", f.decision_id()), prop("severity", f.severity().as_str())],
        "related-risks": [{"risk-uuid": uuid(scope, &format!("risk/{}", f.finding_id()))}],
    })
}

/// The Plan of Action and Milestones document, serialised as it is written
/// (one item and one risk per open finding).
pub fn poam<'a>(snapshot: &'a Snapshot, posture: &'a Posture) -> impl Serialize + 'a {
    let tenant = snapshot.tenant.tenant_ref.as_str();
    let scope = format!("{tenant}/{}", posture.snapshot_digest);
    let mut head = json!({
        "uuid": uuid(&scope, "poam"),
        "metadata": metadata(&format!("AI-agent plan of action and milestones — {}", snapshot.tenant.display_name), snapshot, tenant),
        "system-id": {"identifier-type": "https://ietf.org/rfc/rfc4122", "id": uuid(tenant, "system")},
    });
    let findings = &posture.findings[..];
    #[derive(Serialize)]
    struct Items<I: Serialize> {
        #[serde(rename = "poam-items")]
        items: I,
    }
    #[derive(Serialize)]
    struct Risks<R: Serialize> {
        risks: R,
    }
    if findings.is_empty() {
        // OSCAL requires at least one item; say plainly that nothing is open.
        head["poam-items"] = json!([{
            "uuid": uuid(&scope, "poam-item/none"),
            "title": "No open findings",
            "description": format!("No policy decision in the window up to {} is an open finding.", snapshot.window_end),
        }]);
    }
    let (s1, s2) = (scope.clone(), scope);
    let items = (!findings.is_empty()).then_some(Items { items: Each(findings, move |f: &Finding| poam_item(&s1, f)) });
    let risks = (!findings.is_empty())
        .then_some(Risks { risks: Each(findings, move |f: &Finding| poam_risk(&s2, snapshot, f)) });
    #[derive(Serialize)]
    struct Doc<I: Serialize, R: Serialize> {
        #[serde(rename = "plan-of-action-and-milestones")]
        inner: WithArrays<I, R>,
    }
    Doc { inner: WithArrays { head, arrays: items, more: risks } }
}
