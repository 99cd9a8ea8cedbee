//! Explicit mapping from control surfaces and risk classifications to
//! framework clauses, so coverage can be shown per framework.
//!
//! The clause ids are those the portal's packs used. The mapping itself is
//! ours; `docs/posture.md` lists it with the reasoning for each row.

use crate::input::ControlSurface;
use crate::posture::RiskClassification;

/// A framework the clauses belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Framework {
    /// NIST AI RMF 1.0.
    NistAiRmf,
    /// ISO/IEC 42001.
    Iso42001,
    /// OWASP Top 10 for LLM and GenAI applications.
    OwaspLlm,
    /// NIST SSDF SP 800-218.
    NistSsdf,
    /// EU AI Act.
    EuAiAct,
}

impl Framework {
    /// Every framework, in display order.
    pub const ALL: &'static [Framework] =
        &[Framework::NistAiRmf, Framework::Iso42001, Framework::OwaspLlm, Framework::NistSsdf, Framework::EuAiAct];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Framework::NistAiRmf => "NIST AI RMF 1.0",
            Framework::Iso42001 => "ISO/IEC 42001",
            Framework::OwaspLlm => "OWASP LLM/GenAI",
            Framework::NistSsdf => "NIST SSDF SP 800-218",
            Framework::EuAiAct => "EU AI Act",
        }
    }
}

/// A clause reference.
pub type Clause = (Framework, &'static str);

/// Clauses a control surface supports evidence for.
///
/// ```
/// use cavra_model::frameworks::{surface_clauses, Framework};
/// use cavra_model::input::ControlSurface;
/// let c = surface_clauses(ControlSurface::SensitiveData);
/// assert!(c.contains(&(Framework::OwaspLlm, "LLM02")));
/// ```
pub fn surface_clauses(surface: ControlSurface) -> &'static [Clause] {
    use Framework::*;
    match surface {
        ControlSurface::SensitiveData => &[
            (NistAiRmf, "MANAGE-1.3"),
            (Iso42001, "8.2"),
            (OwaspLlm, "LLM02"),
            (NistSsdf, "PS.3.1"),
            (EuAiAct, "Art. 10"),
        ],
        ControlSurface::InfrastructureIac => &[
            (NistAiRmf, "MANAGE-1.3"),
            (Iso42001, "6.1.2"),
            (OwaspLlm, "LLM06"),
            (NistSsdf, "PO.1.1"),
            (EuAiAct, "Art. 9"),
        ],
        ControlSurface::McpTools => &[
            (NistAiRmf, "MAP-1.1"),
            (Iso42001, "8.2"),
            (OwaspLlm, "LLM06"),
            (NistSsdf, "PW.4.1"),
            (EuAiAct, "Art. 14"),
        ],
        ControlSurface::SourceControl => &[
            (NistAiRmf, "GOVERN-1.1"),
            (Iso42001, "8.2"),
            (OwaspLlm, "LLM05"),
            (NistSsdf, "PW.7.2"),
            (EuAiAct, "Art. 12"),
        ],
        ControlSurface::RuntimeCommands => &[
            (NistAiRmf, "MEASURE-2.2"),
            (Iso42001, "9.1"),
            (OwaspLlm, "LLM01"),
            (NistSsdf, "RV.1.2"),
            (EuAiAct, "Art. 14"),
        ],
        ControlSurface::GeneralPolicy => &[
            (NistAiRmf, "GOVERN-1.1"),
            (NistAiRmf, "GOVERN-5.1"),
            (Iso42001, "4.3"),
            (Iso42001, "5.3"),
            (OwaspLlm, "LLM08"),
            (NistSsdf, "PO.1.1"),
            (EuAiAct, "Art. 11"),
        ],
    }
}

/// Clauses a risk classification bears on.
pub fn risk_clauses(class: RiskClassification) -> &'static [Clause] {
    use Framework::*;
    match class {
        RiskClassification::CredentialOrSensitiveDataExposure => surface_clauses(ControlSurface::SensitiveData),
        RiskClassification::InfrastructureChangeRisk => surface_clauses(ControlSurface::InfrastructureIac),
        RiskClassification::ToolOrMcpGovernanceRisk => surface_clauses(ControlSurface::McpTools),
        RiskClassification::SourceControlRisk => surface_clauses(ControlSurface::SourceControl),
        RiskClassification::RuntimeCommandRisk => surface_clauses(ControlSurface::RuntimeCommands),
        RiskClassification::PolicyViolation => &[
            (NistAiRmf, "GOVERN-1.1"),
            (Iso42001, "5.3"),
            (OwaspLlm, "LLM08"),
            (NistSsdf, "PO.1.1"),
            (EuAiAct, "Art. 9"),
        ],
    }
}

/// Clauses of one framework, joined with `; `, e.g. for a table cell.
pub fn clause_list(clauses: &[Clause], framework: Framework) -> String {
    clauses.iter().filter(|(f, _)| *f == framework).map(|(_, c)| *c).collect::<Vec<_>>().join("; ")
}

/// Every clause as `Framework clause`, joined with `; `.
pub fn describe(clauses: &[Clause]) -> String {
    clauses.iter().map(|(f, c)| format!("{} {c}", f.name())).collect::<Vec<_>>().join("; ")
}
