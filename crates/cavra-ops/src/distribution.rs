//! Distributing the remediation executive digest: the digest is sealed in
//! a signed package (a `board_and_audit_bundle` holding its PDF and JSON),
//! that package goes through the same intake verification, recipient
//! policy and approval gate as any send, and the distribution is recorded
//! in a public-safe contract document, `cavra.digest_distribution.v1`
//! ([`DistributionRecord`]): the approval, the recipient governance, the
//! delivery readiness, the signed-manifest requirement and the send
//! evidence.

use cavra_deliver::audit::RecipientSummary;
use cavra_model::report::OpsKind;
use cavra_model::ReportOptions;
use cavra_package::archive::Entry;
use cavra_package::{Header, ManifestArtifact, Package, PackageType, RetentionClass};
use cavra_render::signed::SigningKey;
use cavra_render::Format;
use serde::{Deserialize, Serialize};

use crate::metrics::Targets;
use crate::OpsSnapshot;

/// The record's schema id.
pub const DISTRIBUTION_SCHEMA_VERSION: &str = "cavra.digest_distribution.v1";

/// The JSON Schema of the record, generated from its types.
pub fn json_schema() -> String {
    cavra_model::schema::publish::<DistributionRecord>(
        "digest_distribution.v1.schema.json",
        DISTRIBUTION_SCHEMA_VERSION,
    )
}

/// Why the digest could not be packaged.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// Rendering or the safety gate.
    #[error("rendering the digest: {0}")]
    Render(#[from] cavra_render::RenderError),
    /// Sealing the package.
    #[error("sealing the digest's package: {0}")]
    Package(#[from] cavra_package::PackageError),
}

/// The signed package of the executive digest of `s`, and the digest's report id.
///
/// ```
/// let s = cavra_ops::synth::generate(&Default::default());
/// let key = cavra_render::signed::SigningKey::generate().unwrap();
/// let (report_id, p) = cavra_ops::distribution::digest_package(&s, &Default::default(), &Default::default(), &key).unwrap();
/// assert!(report_id.starts_with("remediation-executive-digest-"));
/// assert_eq!(p.manifest.artifacts.len(), 2);
/// ```
///
/// # Errors
/// [`DistributionError`].
pub fn digest_package(
    s: &OpsSnapshot,
    options: &ReportOptions,
    targets: &Targets,
    key: &SigningKey,
) -> Result<(String, Package), DistributionError> {
    let report = crate::build_ops_report(OpsKind::RemediationExecutiveDigest, s, options, targets);
    let mut entries = Vec::new();
    let mut artifacts = Vec::new();
    for format in [Format::Pdf, Format::Json] {
        let a = cavra_render::render(&report, format)?;
        let path = format!("digest/{}", a.name);
        let mut m = ManifestArtifact::for_bytes(&path, format.name(), a.media_type, &a.bytes);
        m.report_id = Some(report.meta.report_id.clone());
        artifacts.push(m);
        entries.push(Entry::new(&path, a.bytes));
    }
    let header = Header {
        package_id: format!("pkg-{}", report.meta.report_id),
        package_type: PackageType::BoardAndAuditBundle,
        retention_class: RetentionClass::GovernanceRecord,
        tenant_ref: s.organisation.org_ref.clone(),
        tenant_display_name: s.organisation.display_name.clone(),
        generated_at: s.window_end.to_string(),
        snapshot_digest: report.meta.snapshot_digest.clone(),
        delivery_targets: Vec::new(),
    };
    let package = cavra_package::seal(header, entries, artifacts, key)?;
    Ok((report.meta.report_id, package))
}

/// The package distributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageEvidence {
    /// Package id.
    pub package_id: String,
    /// `sha256:` of the package file: what the send request signs.
    pub package_digest: String,
    /// `sha256:` of its manifest.
    pub manifest_digest: String,
    /// Key id of the manifest's signer.
    pub manifest_signer_key_id: String,
}

/// The approval the send goes out under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalEvidence {
    /// Whether the recipient policy asks for one (external recipients).
    pub required: bool,
    /// The request's id when it does.
    pub approval_id: Option<String>,
    /// `pending` (the jobs wait for an approver) or `not_required`.
    pub state: String,
    /// Approvers the setup file asks for.
    pub approvers_required: u32,
}

/// Whether the send can go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryReadiness {
    /// `[delivery] mode`.
    pub mode: String,
    /// Whether the setup file is accepted for the outbox (always true: an
    /// unaccepted setup refuses the distribution).
    pub setup_accepted: bool,
    /// Jobs queued to go out now.
    pub jobs_queued: u32,
    /// Jobs held for the approval.
    pub jobs_blocked: u32,
}

/// What proves the send was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEvidence {
    /// `sha256:` of the requester's signed send-request statement.
    pub send_request_digest: String,
    /// The requester's key id.
    pub requester_key_id: String,
    /// The audit record of the send request, when a log was given.
    pub audit_record: Option<u64>,
    /// The outbox jobs.
    pub job_ids: Vec<String>,
}

/// The distribution record of an executive digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributionRecord {
    /// Always `cavra.digest_distribution.v1`.
    #[schemars(extend("const" = "cavra.digest_distribution.v1"))]
    pub schema_version: String,
    /// The digest's report id.
    pub report_id: String,
    /// The operations snapshot it was built from.
    pub snapshot_digest: String,
    /// The signed package.
    pub package: PackageEvidence,
    /// Always true: the package's manifest signature was verified against
    /// `[packages] signing_public_key` before anything was queued.
    pub signed_manifest_verified: bool,
    /// The approval.
    pub approval: ApprovalEvidence,
    /// Who receives it: counts and domains, never addresses.
    pub recipients: RecipientSummary,
    /// Whether it can go out.
    pub delivery: DeliveryReadiness,
    /// The send request and its jobs.
    pub evidence: SendEvidence,
}

impl DistributionRecord {
    /// The canonical JSON form (two-space indents, final newline).
    pub fn to_json(&self) -> String {
        // Strings, integers and booleans always serialise.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The record of `plan`, queued for `package` (whose file has
    /// `package_digest`) under `config`.
    pub fn of(
        (report_id, package, package_digest): (&str, &Package, &str),
        plan: &cavra_deliver::send::Plan,
        config: &cavra_deliver::config::Config,
        audit_record: Option<u64>,
    ) -> DistributionRecord {
        let blocked = plan.jobs.iter().filter(|j| j.state == cavra_deliver::outbox::JobState::Blocked).count();
        let requester = plan.statement.claimed_key_id().unwrap_or_default();
        DistributionRecord {
            schema_version: DISTRIBUTION_SCHEMA_VERSION.into(),
            report_id: report_id.to_string(),
            snapshot_digest: package.manifest.snapshot_digest.clone(),
            package: PackageEvidence {
                package_id: package.manifest.package_id.clone(),
                package_digest: package_digest.to_string(),
                manifest_digest: package.manifest.integrity.manifest_digest.clone(),
                manifest_signer_key_id: config.package_key().map(|k| k.key_id()).unwrap_or_default(),
            },
            signed_manifest_verified: true,
            approval: ApprovalEvidence {
                required: plan.approval().is_some(),
                approval_id: plan.approval().map(str::to_string),
                state: if plan.approval().is_some() { "pending" } else { "not_required" }.into(),
                approvers_required: config.recipients.external_approvers,
            },
            recipients: plan.summary.clone(),
            delivery: DeliveryReadiness {
                mode: config.delivery.mode.as_str().into(),
                setup_accepted: true,
                jobs_queued: (plan.jobs.len() - blocked) as u32,
                jobs_blocked: blocked as u32,
            },
            evidence: SendEvidence {
                send_request_digest: cavra_package::manifest::sha256_tagged(plan.statement.body.as_bytes()),
                requester_key_id: requester,
                audit_record,
                job_ids: plan.jobs.iter().map(|j| j.id.clone()).collect(),
            },
        }
    }
}
