//! The Enterprise report kinds on small hand-made snapshots, each expected
//! value worked out by hand.

use cavra_model::canonical::canonical_sha256;
use cavra_model::report::{Cell, Dataset, Report};
use cavra_model::sections::Sections;
use cavra_model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
use serde_json::{json, Value};

fn decision(id: &str, agent: &str, repo: &str, at: &str, kind: &str, sev: &str) -> Value {
    json!({
        "decision_id": id, "session_id": "s1", "agent_id": agent, "actor": "dev-1", "repository": repo,
        "action_type": "mcp_tool_call", "target": "tracker create_issue", "requested_operation": "create",
        "policy_pack": "p", "rule_id": "mcp.allowlist", "decision": kind, "severity": sev,
        "reason": "tool call", "timestamp": at, "evidence_refs": [], "tool": "tracker"
    })
}

fn exception(r: &str, status: &str, expires: &str, review: &str, count: u32, limit: u32) -> Value {
    json!({
        "exception_ref": r, "scope": {"agent_id": "a1", "rule_id": "mcp.allowlist"}, "status": status,
        "opened_at": "2026-10-01T00:00:00Z", "expires_at": expires, "review_due_at": review,
        "renewal_count": count, "renewal_limit": limit, "approver_role": "grc", "justification_ref": "grc://j/1"
    })
}

fn snapshot(extra: Value) -> Snapshot {
    let mut v = json!({
        "schema_version": "cavra.activity_snapshot.v1",
        "tenant": {"ref": "tenant:t", "display_name": "T", "timezone": "UTC"},
        "as_of": "2026-11-01T00:00:00Z",
        "window": {"start": "2026-10-25T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
        "sessions": [{"session_id": "s1", "agent_id": "a1", "actor": "dev-1", "repository": "r1", "policy_pack": "p",
                      "state": "completed", "started_at": "2026-10-20T00:00:00Z", "updated_at": "2026-10-31T00:00:00Z"}],
        "decisions": [
            decision("d0", "a1", "r1", "2026-10-20T00:00:00Z", "allow", "low"),
            decision("d1", "a1", "r1", "2026-10-30T10:00:00Z", "block", "critical"),
            decision("d2", "a1", "r2", "2026-10-31T09:00:00Z", "warn", "high"),
        ],
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    Snapshot::from_json_str(&v.to_string(), &LoadOptions::default()).unwrap()
}

fn build(kind: ReportKind, s: &Snapshot) -> Report {
    build_report(kind, s, &Posture::compute(s), &ReportOptions::default())
}

fn col(d: &Dataset, row: usize, key: &str) -> Cell {
    let i = d.columns.iter().position(|c| c.key == key).unwrap_or_else(|| panic!("{key}"));
    d.rows.get(row).unwrap_or_else(|| panic!("row {row}"))[i].clone()
}

#[test]
fn exception_flags_days_and_order() {
    let s = snapshot(json!({"exceptions": [
        // in force, expired 2 days ago: expired_but_active; days_to_expiry floor(−2) = −2
        exception("exc-a", "active", "2026-10-30T00:00:00Z", "2026-11-20T00:00:00Z", 0, 2),
        // in force, 4 days left: expiring_within_7_days
        exception("exc-b", "approved", "2026-11-05T00:00:00Z", "2026-11-20T00:00:00Z", 1, 2),
        // closed: renewal_limit_exceeded (4 > 3) only; a passed review does not count once closed
        exception("exc-c", "closed", "2026-12-01T00:00:00Z", "2026-10-01T00:00:00Z", 4, 3),
        // requested with a passed review: review_overdue; 36 h to expiry rounds down to 1 day
        exception("exc-d", "requested", "2026-11-02T12:00:00Z", "2026-10-15T00:00:00Z", 0, 1),
        // nothing to flag
        exception("exc-e", "expired", "2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z", 0, 1),
    ]}));
    let r = build(ReportKind::ExceptionReport, &s);
    let d = &r.datasets[0];
    let order: Vec<String> = d.rows.iter().map(|row| row[0].to_text()).collect();
    // one flag each for a–d, ordered by days to expiry (−2, 1, 4, 30), then exc-e (no flags, −31)
    assert_eq!(order, ["exc-a", "exc-d", "exc-b", "exc-c", "exc-e"]);
    assert_eq!(col(d, 0, "days_to_expiry"), Cell::Integer(-2));
    assert_eq!(col(d, 0, "flags").to_text(), "expired_but_active");
    assert_eq!(col(d, 1, "days_to_expiry"), Cell::Integer(1));
    assert_eq!(col(d, 1, "flags").to_text(), "review_overdue");
    assert_eq!(col(d, 2, "flags").to_text(), "expiring_within_7_days");
    assert_eq!(col(d, 3, "flags").to_text(), "renewal_limit_exceeded");
    assert_eq!(col(d, 3, "renewals").to_text(), "4 of 3");
    assert_eq!(col(d, 4, "flags").to_text(), "");
    // age: 2026-10-01 to 2026-11-01 = 31 days
    assert_eq!(col(d, 0, "age_days"), Cell::Integer(31));
    let Sections::ExceptionReport(x) = &r.sections else { panic!("exception-report sections") };
    assert!(x.flags.0.contains(&("review_overdue", 1)), "{:?}", x.flags);
    assert_eq!(x.in_force, 2);
}

#[test]
fn incident_packet_requirements_and_custody() {
    let s = snapshot(json!({
        "exceptions": [exception("exc-a", "active", "2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z", 0, 1)],
        "incidents": [{
            "incident_ref": "inc-1", "title": "Blocked tool call", "severity": "critical", "status": "contained",
            "opened_at": "2026-10-30T11:00:00Z", "closed_at": null, "decision_ids": ["d1", "d-missing"],
            "exception_refs": ["exc-a"], "owner_role": "appsec", "review_due_at": "2026-10-31T00:00:00Z"
        }]
    }));
    let r = build(ReportKind::IncidentPacket, &s);
    let Sections::IncidentPacket(x) = &r.sections else { panic!("incident-packet sections") };
    let reqs = &x.incidents[0].requirements;
    assert_eq!(x.incidents[0].open_requirements, reqs.len());
    let reqs: Vec<&str> = reqs.iter().map(String::as_str).collect();
    assert_eq!(
        reqs,
        [
            "resolve the incident and record the fix",
            "review overdue since 2026-10-31T00:00:00Z",
            "attach evidence for decision d1",
            "locate linked decision d-missing (not in this snapshot)",
            "confirm linked exception exc-a should stay in force",
        ]
    );
    let custody = r.dataset("chain_of_custody").unwrap();
    let d1 = s.decisions.iter().find(|d| d.decision_id() == "d1").unwrap();
    assert_eq!(custody.rows.len(), 3, "incident, d1, exc-a");
    assert_eq!(custody.rows.get(1).unwrap()[3].to_text(), canonical_sha256(&d1).unwrap());
    assert_eq!(custody.rows.get(0).unwrap()[3].to_text(), canonical_sha256(&s.incidents[0]).unwrap());
    // the unknown decision is also a data-quality warning
    assert!(r.meta.data_quality.iter().any(|w| w.contains("d-missing")));
}

#[test]
fn policy_drift_compares_with_activity_before_the_window() {
    let s = snapshot(json!({"policy_baselines": [{
        "agent_id": "a1", "policy_pack": "p",
        "baseline_digest": format!("sha256:{}", "a".repeat(64)), "observed_digest": format!("sha256:{}", "b".repeat(64)),
        "baselined_at": "2026-10-01T00:00:00Z", "observed_at": "2026-10-31T00:00:00Z"
    }]}));
    let r = build(ReportKind::PolicyDriftReport, &s);
    let d = r.dataset("agents").unwrap();
    assert_eq!(col(d, 0, "digest_drift").to_text(), "drifted");
    // before the window a1 used r1 and the tracker tool on mcp_tools; in the window r1 and r2:
    // one new repository (r2), no new surface, no new tool
    assert_eq!(col(d, 0, "new_repositories"), Cell::Integer(1));
    assert_eq!(col(d, 0, "new_surfaces"), Cell::Integer(0));
    assert_eq!(col(d, 0, "new_tools"), Cell::Integer(0));
    let scope = r.dataset("scope").unwrap();
    let r2 = scope.rows.iter().find(|row| row[2].to_text() == "r2").unwrap();
    assert_eq!(r2[4].to_text(), "yes");
    assert_eq!(r2[3].to_text(), "2026-10-31T09:00:00Z");
    let Sections::PolicyDriftReport(x) = &r.sections else { panic!("policy-drift-report sections") };
    assert_eq!(x.new_scope_items, Some(1));
}

#[test]
fn activity_digest_counts_days_rules_and_near_misses() {
    let s = snapshot(json!({}));
    let r = build(ReportKind::AgentActivityDigest, &s);
    // d0 is before the window: two decisions remain
    assert_eq!(r.datasets[0].rows.len(), 2);
    let daily = r.dataset("daily").unwrap();
    assert_eq!(daily.rows.len(), 2, "two days for a1");
    assert_eq!(col(daily, 0, "date").to_text(), "2026-10-30");
    assert_eq!(col(daily, 0, "block"), Cell::Integer(1));
    assert_eq!(col(daily, 1, "warn"), Cell::Integer(1));
    assert_eq!(col(daily, 1, "surface_mcp_tools"), Cell::Integer(1));
    // a warned high-severity action is a near miss; the blocked critical one is not
    let misses = r.dataset("near_misses").unwrap();
    assert_eq!(misses.rows.len(), 1);
    assert_eq!(misses.rows.get(0).unwrap()[1].to_text(), "d2");
    let rules = r.dataset("top_rules").unwrap();
    assert_eq!(
        (
            rules.rows.get(0).unwrap()[1].clone(),
            rules.rows.get(0).unwrap()[2].clone(),
            rules.rows.get(0).unwrap()[4].clone()
        ),
        (Cell::Integer(2), Cell::Integer(1), Cell::Integer(1))
    );
}
