//! `manifest.json`: the export-package manifest every package carries, and
//! the digest its signature's trusted comment repeats.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Schema id of the manifest.
pub const MANIFEST_SCHEMA_VERSION: &str = "cavra.export_package_manifest.v1";
/// The manifest's path inside a package.
pub const MANIFEST_PATH: &str = "manifest.json";
/// The manifest signature's path inside a package.
pub const SIGNATURE_PATH: &str = "manifest.json.minisig";

/// How long a package must be kept, and under which regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionClass {
    /// Day-to-day operations data (SIEM feeds).
    OperationalRecord,
    /// Board and management records.
    GovernanceRecord,
    /// Audit evidence.
    AuditRecord,
    /// Kept until a legal hold is lifted.
    LegalHold,
}

impl RetentionClass {
    /// Every class, in contract order.
    pub const ALL: &'static [RetentionClass] = &[
        RetentionClass::OperationalRecord,
        RetentionClass::GovernanceRecord,
        RetentionClass::AuditRecord,
        RetentionClass::LegalHold,
    ];

    /// The contract name, e.g. `audit_record`.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionClass::OperationalRecord => "operational_record",
            RetentionClass::GovernanceRecord => "governance_record",
            RetentionClass::AuditRecord => "audit_record",
            RetentionClass::LegalHold => "legal_hold",
        }
    }
}

impl std::str::FromStr for RetentionClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RetentionClass::ALL.iter().copied().find(|c| c.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = RetentionClass::ALL.iter().map(|c| c.as_str()).collect();
            format!("unknown retention class `{s}` (known: {})", names.join(", "))
        })
    }
}

/// One file of a package, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestArtifact {
    /// Path inside the package (relative, `/`-separated).
    pub path: String,
    /// The report it was rendered from, when it is a report artifact.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub report_id: Option<String>,
    /// Format name (`pdf`, `csv`, `oscal-assessment-results`, `bagit-tag`, `minisig`…).
    pub format: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes; absent for detached signatures, which are verified
    /// against the file they sign rather than compared (their bytes carry
    /// fresh randomness).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub size: Option<u64>,
    /// `sha256:<hex>`; absent for detached signatures.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
    /// For a detached signature: the path of the file it signs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub signs: Option<String>,
}

impl ManifestArtifact {
    /// A manifest entry for `bytes` at `path`.
    pub fn for_bytes(path: &str, format: &str, media_type: &str, bytes: &[u8]) -> ManifestArtifact {
        ManifestArtifact {
            path: path.into(),
            report_id: None,
            format: format.into(),
            media_type: media_type.into(),
            size: Some(bytes.len() as u64),
            sha256: Some(sha256_tagged(bytes)),
            signs: None,
        }
    }

    /// An artifact entry for a package member, its digest read from the
    /// member (a spooled or file-backed one is read, not loaded).
    ///
    /// ```
    /// use cavra_package::{archive::Entry, ManifestArtifact};
    /// let e = Entry::new("data/a.jsonl", b"{}\n".to_vec());
    /// let a = ManifestArtifact::for_entry(&e, "jsonl", "application/jsonl")?;
    /// assert_eq!(a, ManifestArtifact::for_bytes("data/a.jsonl", "jsonl", "application/jsonl", b"{}\n"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The member's I/O error.
    pub fn for_entry(
        entry: &crate::archive::Entry,
        format: &str,
        media_type: &str,
    ) -> std::io::Result<ManifestArtifact> {
        Ok(ManifestArtifact {
            path: entry.path.clone(),
            report_id: None,
            format: format.into(),
            media_type: media_type.into(),
            size: Some(entry.len()),
            sha256: Some(format!("sha256:{}", entry.sha256_hex()?)),
            signs: None,
        })
    }
}

/// The integrity block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Integrity {
    /// Always `sha256`.
    pub algorithm: String,
    /// `sha256:<hex>` of the manifest's RFC 8785 canonical JSON with this
    /// field left out; the signature's trusted comment repeats it.
    pub manifest_digest: String,
    /// Path of the detached minisign signature over `manifest.json`.
    pub signature: String,
    /// Signature scheme.
    pub signature_algorithm: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_SCHEMA_VERSION`].
    pub schema_version: String,
    /// Stable id derived from the package type, tenant, snapshot and options.
    pub package_id: String,
    /// The package type (`board_and_audit_bundle`…).
    pub package_type: String,
    /// Retention class.
    pub retention_class: RetentionClass,
    /// Tenant reference.
    pub tenant_ref: String,
    /// Tenant display name.
    pub tenant_display_name: String,
    /// The snapshot's `as_of`: the package's only notion of time.
    pub generated_at: String,
    /// Digest of the snapshot the reports were built from.
    pub snapshot_digest: String,
    /// Every file of the package except the manifest and its signature,
    /// sorted by path.
    pub artifacts: Vec<ManifestArtifact>,
    /// Where the package is meant to go (recipient group or channel names).
    pub delivery_targets: Vec<String>,
    /// Digest and signature.
    pub integrity: Integrity,
}

/// The JSON Schema of `manifest.json`, generated from [`Manifest`]
/// (`schemas/export_package_manifest.v1.schema.json`).
pub fn json_schema() -> String {
    cavra_model::schema::publish::<Manifest>("export_package_manifest.v1.schema.json", MANIFEST_SCHEMA_VERSION)
}

/// `sha256:<hex>` of everything `reader` yields, streamed.
///
/// # Errors
/// When reading fails.
pub fn sha256_tagged_reader(mut reader: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher)?;
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_tagged(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

impl Manifest {
    /// The digest the integrity block and the trusted comment carry: the
    /// canonical JSON of the manifest with `integrity.manifest_digest` left out.
    pub fn compute_digest(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(i) = value.get_mut("integrity").and_then(|v| v.as_object_mut()) {
            i.remove("manifest_digest");
        }
        sha256_tagged(cavra_model::canonical::to_canonical_string(&value).as_bytes())
    }

    /// The manifest file's bytes: pretty JSON, keys in contract order, LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// The trusted comment of a manifest signature.
pub fn trusted_comment(package_id: &str, manifest_digest: &str) -> String {
    format!("package_id:{package_id} manifest_digest:{manifest_digest}")
}

/// Reads `package_id` and `manifest_digest` back from a trusted comment.
pub fn parse_trusted_comment(comment: &str) -> Option<(String, String)> {
    let mut id = None;
    let mut digest = None;
    for part in comment.split_whitespace() {
        if let Some(v) = part.strip_prefix("package_id:") {
            id = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("manifest_digest:") {
            digest = Some(v.to_string());
        }
    }
    Some((id?, digest?))
}
