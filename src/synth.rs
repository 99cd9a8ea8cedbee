//! Deterministic synthetic activity snapshots.
//!
//! The same [`SynthConfig`] always gives the same snapshot, on every machine:
//! the generator draws from its own SplitMix64 stream, never from the clock
//! or the operating system. Content is realistic in shape (agents, sessions,
//! every decision, severity and control surface, exceptions, incidents,
//! baselines) and public-safe by construction: no addresses, no secrets.

use cavra_model::input::{
    ControlSurface, DataProvenance, Decision, DecisionKind, ExceptionScope, ExceptionStatus, Incident, IncidentStatus,
    PolicyBaseline, PolicyException, RawSnapshot, SchemaVersion, Session, SessionState, Severity, Tenant, Window,
};
use cavra_model::Timestamp;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    /// Number of agents.
    pub agents: usize,
    /// Number of decisions.
    pub decisions: usize,
    /// Seed of the random stream.
    pub seed: u64,
    /// `as_of`, in seconds since the Unix epoch.
    pub as_of_unix: i64,
    /// Length of the window before `as_of`, in days.
    pub window_days: i64,
    /// Mark the data as sample data.
    pub sample: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            agents: 12,
            decisions: 400,
            seed: 7,
            // 2026-11-01T12:00:00Z
            as_of_unix: 1_793_534_400,
            window_days: 14,
            sample: true,
        }
    }
}

use cavra_model::rng::SplitMix64 as Rng;

const AGENT_NAMES: &[&str] = &[
    "codex-payments",
    "claude-platform",
    "copilot-web",
    "devin-data",
    "aider-mobile",
    "cursor-auth",
    "release-bot",
    "triage-bot",
    "infra-agent",
    "docs-writer",
    "ml-trainer",
    "sre-runbook",
];
const REPOS: &[&str] = &[
    "payments-api",
    "web-frontend",
    "infra-live",
    "data-pipeline",
    "mobile-app",
    "auth-service",
    "docs-site",
    "ml-platform",
];
const PACKS: &[&str] = &["baseline-v3", "strict-prod-v2", "oss-contrib-v1"];

/// An action template: action type, target, rule, tool, reason.
struct Template {
    action: &'static str,
    target: &'static str,
    rule: &'static str,
    tool: Option<&'static str>,
    reason: &'static str,
    operation: &'static str,
}

const TEMPLATES: &[(ControlSurface, Template)] = &[
    (
        ControlSurface::SensitiveData,
        Template {
            action: "file_read",
            target: "config/.env.production",
            rule: "secrets.credential-file-access",
            tool: None,
            reason: "Read of a credential file outside the approved secret store",
            operation: "read environment file",
        },
    ),
    (
        ControlSurface::SensitiveData,
        Template {
            action: "shell_command",
            target: "vault read kv/payments (secret path)",
            rule: "secrets.vault-read",
            tool: None,
            reason: "Direct secret-store read by an agent",
            operation: "read vault path",
        },
    ),
    (
        ControlSurface::InfrastructureIac,
        Template {
            action: "terraform_apply",
            target: "terraform/prod/network.tf",
            rule: "iac.prod-apply",
            tool: None,
            reason: "Production infrastructure change requires a human approver",
            operation: "apply plan",
        },
    ),
    (
        ControlSurface::InfrastructureIac,
        Template {
            action: "shell_command",
            target: "kubernetes deployment scale web=0",
            rule: "iac.k8s-mutation",
            tool: None,
            reason: "Cluster mutation outside a change window",
            operation: "scale deployment",
        },
    ),
    (
        ControlSurface::McpTools,
        Template {
            action: "mcp_tool_call",
            target: "issue tracker create_issue",
            rule: "mcp.tool-allowlist",
            tool: Some("tracker-mcp"),
            reason: "Tool call to an allow-listed MCP server",
            operation: "create issue",
        },
    ),
    (
        ControlSurface::McpTools,
        Template {
            action: "mcp_tool_call",
            target: "browser navigate external site",
            rule: "mcp.untrusted-server",
            tool: Some("browser-mcp"),
            reason: "MCP server is not on the approved list",
            operation: "open page",
        },
    ),
    (
        ControlSurface::SourceControl,
        Template {
            action: "git_push",
            target: "branch main",
            rule: "git.protected-branch",
            tool: None,
            reason: "Direct push to a protected branch",
            operation: "push commits",
        },
    ),
    (
        ControlSurface::SourceControl,
        Template {
            action: "pull_request",
            target: "merge feature/retry-logic",
            rule: "scm.review-required",
            tool: None,
            reason: "Merge requires an independent review",
            operation: "merge pull request",
        },
    ),
    (
        ControlSurface::RuntimeCommands,
        Template {
            action: "shell_command",
            target: "npm install left-pad",
            rule: "runtime.package-install",
            tool: None,
            reason: "New dependency installed from a public registry",
            operation: "install package",
        },
    ),
    (
        ControlSurface::RuntimeCommands,
        Template {
            action: "shell_command",
            target: "curl installer | sh",
            rule: "runtime.remote-script",
            tool: None,
            reason: "Piping a remote script into a shell",
            operation: "run installer",
        },
    ),
    (
        ControlSurface::GeneralPolicy,
        Template {
            action: "file_write",
            target: "src/lib.rs",
            rule: "general.write-scope",
            tool: None,
            reason: "Write inside the agent's declared scope",
            operation: "edit source",
        },
    ),
    (
        ControlSurface::GeneralPolicy,
        Template {
            action: "web_fetch",
            target: "package documentation page",
            rule: "general.egress",
            tool: None,
            reason: "Outbound fetch to a documentation site",
            operation: "fetch docs",
        },
    ),
];

fn ts(unix: i64) -> Timestamp {
    // Every instant generated here lies between 1970 and 9999.
    Timestamp::from_unix_seconds(unix)
        .unwrap_or_else(|_| Timestamp::parse("2026-01-01T00:00:00Z").expect("valid literal"))
}

fn agent_name(i: usize) -> String {
    match AGENT_NAMES.get(i) {
        Some(n) => (*n).to_string(),
        None => format!("agent-{i:05}"),
    }
}

fn pick_weighted(rng: &mut Rng, weights: &[u64], total: u64) -> usize {
    let mut x = rng.next() % total.max(1);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn hex64(rng: &mut Rng) -> String {
    (0..4).map(|_| format!("{:016x}", rng.next())).collect()
}

/// Generates a snapshot. Decisions are inline; write them as JSON Lines
/// yourself to exercise the streamed path.
///
/// ```
/// use cavra_reports::synth::{generate, SynthConfig};
/// let a = generate(&SynthConfig { agents: 4, decisions: 50, ..SynthConfig::default() });
/// let b = generate(&SynthConfig { agents: 4, decisions: 50, ..SynthConfig::default() });
/// assert_eq!(a, b);
/// assert_eq!(a.decisions.as_ref().map(Vec::len), Some(50));
/// ```
pub fn generate(cfg: &SynthConfig) -> RawSnapshot {
    let mut rng = Rng(cfg.seed);
    let agents = cfg.agents.max(1);
    let as_of = cfg.as_of_unix;
    let start = as_of - cfg.window_days.max(1) * 86_400;
    let span = (as_of - start) as u64;

    // Each agent works in one to three repositories and keeps a few sessions.
    let repo_pool: Vec<String> = if agents <= 12 {
        REPOS.iter().map(|r| (*r).to_string()).collect()
    } else {
        (0..(agents / 3).max(REPOS.len())).map(|i| format!("repo-{i:04}")).collect()
    };
    let mut sessions = Vec::new();
    let mut agent_sessions: Vec<Vec<usize>> = Vec::with_capacity(agents);
    let sessions_per_agent = (cfg.decisions / agents / 12).clamp(1, 40);
    for a in 0..agents {
        let repos: Vec<String> = (0..1 + rng.below(3)).map(|_| rng.pick(&repo_pool).clone()).collect();
        let pack = rng.pick(PACKS).to_string();
        let mut mine = Vec::new();
        for s in 0..sessions_per_agent + usize::from(rng.chance(30)) {
            let started = start + (rng.next() % span) as i64;
            let updated = (started + 600 + (rng.next() % 7200) as i64).min(as_of);
            let idx = sessions.len();
            sessions.push(Session {
                session_id: format!("sess-{a:05}-{s:03}").into(),
                agent_id: agent_name(a).into(),
                actor: format!("dev-{:03}", rng.below(40)).into(),
                repository: rng.pick(&repos).clone().into(),
                policy_pack: if rng.chance(10) { rng.pick(PACKS).to_string() } else { pack.clone() }.into(),
                state: if updated >= as_of - 3600 { SessionState::Active } else { SessionState::Completed },
                started_at: ts(started),
                updated_at: ts(updated),
                decision_count: None,
                blocked_count: None,
                approval_required_count: None,
                evidence_refs: if rng.chance(50) {
                    vec![format!("archive://sessions/{a:05}-{s:03}.json").into()]
                } else {
                    Vec::new()
                },
                x_extensions: None,
            });
            mine.push(idx);
        }
        agent_sessions.push(mine);
    }

    // Activity is skewed: agent i is drawn with weight 1/(i+1), and agents
    // differ in temperament (every fourth agent is risky, the rest calmer).
    let weights: Vec<u64> = (0..agents).map(|i| 1_000_000 / (i as u64 + 1)).collect();
    let total_weight: u64 = weights.iter().sum();
    let mut decisions = Vec::with_capacity(cfg.decisions);
    for i in 0..cfg.decisions {
        // Guarantee every surface, decision and severity appears early on.
        let (surface_template, decision, severity, a) = if i < 12 {
            (i, DecisionKind::ALL[i % 6], Severity::ALL[i % 4], (i * 4) % agents)
        } else {
            let a = pick_weighted(&mut rng, &weights, total_weight);
            let roll = rng.below(100);
            let d = match (a % 4, roll) {
                (0, 0..=44) | (1..=3, 0..=59) => DecisionKind::Allow,
                (0, 45..=59) | (1..=3, 60..=79) => DecisionKind::AuditOnly,
                (0, 60..=71) | (1, 80..=89) | (2..=3, 80..=85) => DecisionKind::Warn,
                (0, 72..=79) | (1, 90..=93) | (2..=3, 86..=97) => DecisionKind::AllowWithAttestation,
                (0, 80..=91) | (1, 94..=98) => DecisionKind::RequireApproval,
                (0 | 1, _) => DecisionKind::Block,
                _ => DecisionKind::AuditOnly,
            };
            let s = match (d, rng.below(100)) {
                (DecisionKind::Block, 0..=39) => Severity::Critical,
                (DecisionKind::Block | DecisionKind::RequireApproval, 0..=69) => Severity::High,
                (_, 0..=9) => Severity::High,
                (_, 10..=44) => Severity::Medium,
                _ => Severity::Low,
            };
            let t = if a.is_multiple_of(4) { rng.below(TEMPLATES.len()) } else { 4 + rng.below(TEMPLATES.len() - 4) };
            (t, d, s, a)
        };
        let t = &TEMPLATES[surface_template].1;
        let sess = &sessions[*rng.pick(&agent_sessions[a])];
        let at = start + (rng.next() % span) as i64;
        let id = format!("dec-{i:07}");
        let evidence_refs = match rng.below(10) {
            0..=2 => vec![format!("signed://evidence/{id}.json")],
            3..=4 => vec![format!("archive://decisions/{}/{id}.json", ts(at).date_string())],
            5 => vec![format!("s3://cavra-evidence/{id}.json")],
            6 => vec![format!("sample://{id}")],
            7 => vec![format!("ticket://CHG-{}", 1000 + rng.below(9000))],
            _ => Vec::new(),
        };
        decisions.push(Decision {
            decision_id: id,
            session_id: sess.session_id.clone(),
            agent_id: sess.agent_id.clone(),
            actor: sess.actor.clone(),
            repository: sess.repository.clone(),
            action_type: t.action.into(),
            target: t.target.into(),
            requested_operation: t.operation.into(),
            policy_pack: sess.policy_pack.clone(),
            rule_id: t.rule.into(),
            decision,
            severity,
            reason: t.reason.into(),
            timestamp: ts(at),
            evidence_refs,
            tool: t.tool.map(Into::into),
            approval_route: (decision == DecisionKind::RequireApproval || rng.chance(10))
                .then(|| (*rng.pick(&["platform-security", "release-managers", "data-owners"])).into()),
            x_extensions: None,
        });
    }

    let exceptions: Vec<PolicyException> = (0..(agents / 3).clamp(1, 200))
        .map(|i| {
            let opened = start - 86_400 * (10 + rng.below(60) as i64);
            let expires = opened + 86_400 * (20 + rng.below(70) as i64);
            let status = *rng.pick(&[
                ExceptionStatus::Active,
                ExceptionStatus::Active,
                ExceptionStatus::Approved,
                ExceptionStatus::Expired,
                ExceptionStatus::Requested,
                ExceptionStatus::Closed,
            ]);
            let limit = 2 + rng.below(2) as u32;
            PolicyException {
                exception_ref: format!("exc-{i:04}"),
                scope: ExceptionScope {
                    agent_id: Some(agent_name(rng.below(agents))),
                    rule_id: Some(rng.pick(TEMPLATES).1.rule.to_string()),
                    repository: None,
                    surface: None,
                    x_extensions: None,
                },
                status,
                opened_at: ts(opened),
                expires_at: ts(expires),
                review_due_at: ts(expires - 7 * 86_400),
                renewal_count: rng.below(limit as usize + 2) as u32,
                renewal_limit: limit,
                approver_role: rng.pick(&["ciso", "platform_security", "grc"]).to_string(),
                justification_ref: format!("grc://justifications/exc-{i:04}"),
                x_extensions: None,
            }
        })
        .collect();

    let blocks: Vec<&Decision> = decisions.iter().filter(|d| d.decision == DecisionKind::Block).collect();
    let incidents: Vec<Incident> = (0..(blocks.len() / 8).clamp(usize::from(!blocks.is_empty()), 50))
        .map(|i| {
            let linked: Vec<String> =
                (0..1 + rng.below(3)).map(|_| rng.pick(&blocks).decision_id.to_string()).collect();
            let mut linked = linked;
            linked.sort();
            linked.dedup();
            let opened = start + (rng.next() % span) as i64;
            let status = *rng.pick(IncidentStatus::ALL);
            Incident {
                incident_ref: format!("inc-{i:04}"),
                title: rng
                    .pick(&[
                        "Agent attempted credential access",
                        "Unreviewed push to protected branch",
                        "Production apply outside change window",
                        "Untrusted MCP server contacted",
                    ])
                    .to_string(),
                severity: *rng.pick(&[Severity::Critical, Severity::High, Severity::Medium]),
                status,
                opened_at: ts(opened),
                closed_at: matches!(status, IncidentStatus::Closed).then(|| ts((opened + 86_400).min(as_of))),
                decision_ids: linked,
                exception_refs: if exceptions.is_empty() || rng.chance(60) {
                    Vec::new()
                } else {
                    vec![rng.pick(&exceptions).exception_ref.clone()]
                },
                owner_role: rng.pick(&["platform_security", "sre", "appsec"]).to_string(),
                review_due_at: ts(opened + 5 * 86_400),
                x_extensions: None,
            }
        })
        .collect();

    let policy_baselines: Vec<PolicyBaseline> = (0..agents.min(5_000))
        .map(|a| {
            let base = hex64(&mut rng);
            let observed = if rng.chance(25) { hex64(&mut rng) } else { base.clone() };
            PolicyBaseline {
                agent_id: agent_name(a),
                policy_pack: rng.pick(PACKS).to_string(),
                baseline_digest: format!("sha256:{base}"),
                observed_digest: format!("sha256:{observed}"),
                baselined_at: ts(start - 30 * 86_400),
                observed_at: ts(as_of - 3600),
                x_extensions: None,
            }
        })
        .collect();

    RawSnapshot {
        schema_version: SchemaVersion,
        tenant: Tenant {
            tenant_ref: "tenant:northwind-prod".into(),
            display_name: "Northwind Robotics".into(),
            timezone: "Europe/Berlin".into(),
            x_extensions: None,
        },
        as_of: ts(as_of),
        window: Some(Window { start: ts(start), end: ts(as_of), x_extensions: None }),
        data_provenance: Some(if cfg.sample { DataProvenance::SampleData } else { DataProvenance::ConnectorExport }),
        sessions,
        decisions: Some(decisions),
        exceptions,
        incidents,
        policy_baselines,
        x_extensions: None,
    }
}
