//! Classification rules: control surface, risk classification, weights and
//! target redaction (POSTURE.md, "Classification" and "Target redaction").

use crate::decisions::DecisionView;
use crate::input::{ControlSurface, DecisionKind, Severity};
use crate::Text;

crate::input::string_enum! {
    /// Risk classification of a decision.
    RiskClassification {
        /// Secrets and sensitive files.
        CredentialOrSensitiveDataExposure => "credential_or_sensitive_data_exposure",
        /// Infrastructure changes.
        InfrastructureChangeRisk => "infrastructure_change_risk",
        /// MCP and tool governance.
        ToolOrMcpGovernanceRisk => "tool_or_mcp_governance_risk",
        /// Source control.
        SourceControlRisk => "source_control_risk",
        /// Runtime commands.
        RuntimeCommandRisk => "runtime_command_risk",
        /// Any other policy violation.
        PolicyViolation => "policy_violation",
    }
}

/// Weight of a decision in the posture penalty.
pub fn decision_weight(d: DecisionKind) -> u64 {
    match d {
        DecisionKind::Block => 16,
        DecisionKind::RequireApproval => 10,
        DecisionKind::Warn => 5,
        DecisionKind::AuditOnly => 2,
        DecisionKind::AllowWithAttestation => 1,
        DecisionKind::Allow => 0,
    }
}

/// Weight of a finding's severity in the posture penalty.
pub fn severity_weight(s: Severity) -> u64 {
    match s {
        Severity::Critical => 30,
        Severity::High => 18,
        Severity::Medium => 9,
        Severity::Low => 3,
    }
}

/// A decision is a finding when it is block, require_approval or warn, or
/// its severity is critical or high.
pub fn is_finding(d: &(impl DecisionView + ?Sized)) -> bool {
    matches!(d.decision(), DecisionKind::Block | DecisionKind::RequireApproval | DecisionKind::Warn)
        || matches!(d.severity(), Severity::Critical | Severity::High)
}

/// Case-insensitive substring test with lowercase ASCII needles. ASCII text
/// is compared without allocating; other text is lower-cased in full first,
/// so Unicode case rules (e.g. the Kelvin sign) still apply.
pub(crate) fn has(haystack: &str, needles: &[&str]) -> bool {
    if haystack.is_ascii() {
        let h = haystack.as_bytes();
        needles.iter().any(|n| {
            let n = n.as_bytes();
            n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
        })
    } else {
        let lower = haystack.to_lowercase();
        needles.iter().any(|n| lower.contains(n))
    }
}

/// The control surface of a decision (first matching rule wins).
///
/// ```
/// use cavra_model::posture::control_surface;
/// # let mut d = cavra_model::posture::tests_support::decision();
/// d.target = "deploy/.env".into();
/// assert_eq!(control_surface(&d).as_str(), "sensitive_data");
/// ```
pub fn control_surface(d: &(impl DecisionView + ?Sized)) -> ControlSurface {
    if has(d.target(), &["secret", ".env"]) || has(d.rule_id(), &["credential", "secret"]) {
        ControlSurface::SensitiveData
    } else if has(d.target(), &["terraform", "tofu", "kubernetes"]) || has(d.rule_id(), &["iac"]) {
        ControlSurface::InfrastructureIac
    } else if has(d.action_type(), &["mcp", "tool"]) || has(d.rule_id(), &["mcp"]) {
        ControlSurface::McpTools
    } else if has(d.action_type(), &["git", "pull_request"]) || has(d.target(), &["branch"]) {
        ControlSurface::SourceControl
    } else if has(d.action_type(), &["command", "shell", "script"]) {
        ControlSurface::RuntimeCommands
    } else {
        ControlSurface::GeneralPolicy
    }
}

/// The risk classification of a decision (first matching rule wins).
pub fn risk_classification(d: &(impl DecisionView + ?Sized)) -> RiskClassification {
    if has(d.target(), &["secret", ".env"]) || has(d.rule_id(), &["secret"]) {
        RiskClassification::CredentialOrSensitiveDataExposure
    } else if has(d.target(), &["terraform", "tofu"]) || has(d.rule_id(), &["iac"]) {
        RiskClassification::InfrastructureChangeRisk
    } else if has(d.action_type(), &["mcp"]) || has(d.rule_id(), &["mcp"]) {
        RiskClassification::ToolOrMcpGovernanceRisk
    } else if has(d.action_type(), &["git"]) {
        RiskClassification::SourceControlRisk
    } else if has(d.action_type(), &["command"]) {
        RiskClassification::RuntimeCommandRisk
    } else {
        RiskClassification::PolicyViolation
    }
}

/// Whether the target-redaction rule hides this decision's target.
pub fn target_is_sensitive(d: &(impl DecisionView + ?Sized)) -> bool {
    has(d.target(), &["secret", ".env", "token"])
        || has(d.requested_operation(), &["secret", ".env", "token"])
        || has(d.rule_id(), &["credential"])
}

/// The fixed labels [`display_target`] shows instead of a target.
pub const TARGET_LABELS: [&str; 2] = [SENSITIVE_TARGET, TARGET_NOT_RECORDED];
const SENSITIVE_TARGET: &str = "sensitive target redacted";
const TARGET_NOT_RECORDED: &str = "target not recorded";

/// A target as it may be shown, and whether it was redacted or cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayTarget {
    /// The text to show.
    pub text: Text,
    /// True when the target was hidden or shortened.
    pub target_redacted: bool,
}

/// Applies the target-redaction rule: sensitive targets are hidden, long
/// ones cut to 117 characters plus `...`, empty ones marked as not recorded.
///
/// ```
/// use cavra_model::posture::display_target;
/// # let mut d = cavra_model::posture::tests_support::decision();
/// d.target = "x".repeat(130).into();
/// let t = display_target(&d);
/// assert_eq!(t.text.chars().count(), 120);
/// assert!(t.target_redacted);
/// ```
pub fn display_target(d: &(impl DecisionView + ?Sized)) -> DisplayTarget {
    if target_is_sensitive(d) {
        DisplayTarget { text: Text::from_static(SENSITIVE_TARGET), target_redacted: true }
    } else if d.target().trim().is_empty() {
        DisplayTarget { text: Text::from_static(TARGET_NOT_RECORDED), target_redacted: false }
    } else if d.target().chars().count() > 120 {
        let cut: String = d.target().chars().take(117).collect();
        DisplayTarget { text: format!("{cut}...").into(), target_redacted: true }
    } else {
        DisplayTarget { text: d.target().clone(), target_redacted: false }
    }
}

/// Agent id as reported: empty ids become `unknown-agent`.
pub fn agent_key(agent_id: &str) -> &str {
    if agent_id.trim().is_empty() {
        "unknown-agent"
    } else {
        agent_id
    }
}

/// As [`agent_key`], sharing the id's bytes.
pub fn agent_text(agent_id: &Text) -> Text {
    if agent_id.trim().is_empty() {
        Text::from_static("unknown-agent")
    } else {
        agent_id.clone()
    }
}
