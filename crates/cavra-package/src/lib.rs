//! # cavra-package
//!
//! Bundles rendered reports into packages an auditor can verify: board
//! packs, GRC upload packages (OSCAL), SIEM export bundles, evidence rooms
//! (BagIt bags) and incident review packets. Every package is a
//! deterministic zip holding its artifacts, a `manifest.json` with a
//! `sha256:` digest per artifact, and `manifest.json.minisig`, a minisign
//! signature whose trusted comment repeats the package id and the manifest
//! digest. [`verify::verify_package`] checks all of it while reading the
//! archive defensively.
//!
//! ```
//! use cavra_model::{LoadOptions, Posture, Snapshot};
//! use cavra_package::{build_package, verify, PackageOptions, PackageType};
//! use cavra_render::signed::SigningKey;
//! let text = r#"{"schema_version":"cavra.activity_snapshot.v1",
//!   "tenant":{"ref":"tenant:demo","display_name":"Demo Co","timezone":"UTC"},
//!   "as_of":"2026-11-01T00:00:00Z","sessions":[],"decisions":[]}"#;
//! let snapshot = Snapshot::from_json_str(text, &LoadOptions::default()).unwrap();
//! let posture = Posture::compute(&snapshot);
//! let key = SigningKey::generate().unwrap();
//! let package =
//!     build_package(PackageType::SiemExportBundle, &snapshot, &posture, &PackageOptions::default(), &key).unwrap();
//! let report = verify::verify_package(
//!     std::io::Cursor::new(&package.bytes),
//!     &key.public_key_file(),
//!     &verify::Limits::default(),
//! )
//! .unwrap();
//! assert!(report.ok(), "{report}");
//! ```

pub mod archive;
pub mod bagit;
pub(crate) mod contents;
pub mod layout;
pub mod manifest;
pub mod oscal;
pub mod verify;

use cavra_model::{Posture, ReportOptions, Snapshot};
use cavra_render::signed::SigningKey;
use sha2::{Digest, Sha256};

pub use bagit::EvidenceRoom;
pub use manifest::{Manifest, ManifestArtifact, RetentionClass};

/// The package types (the export-package-manifest vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackageType {
    /// Executive brief (PDF, DOCX), board KPI pack (XLSX, signed JSON), SOC 2-style summary (PDF).
    BoardAndAuditBundle,
    /// OSCAL Assessment Results and POA&M, control-coverage and evidence-freshness CSVs.
    GrcUploadPackage,
    /// Agent-activity digest JSON Lines and a field dictionary.
    SiemExportBundle,
    /// A BagIt bag of watermarked audit evidence.
    EvidenceRoomBundle,
    /// Incident packet (PDF, JSON), linked decisions, chain of custody.
    IncidentReviewPacket,
}

impl PackageType {
    /// Every type, in catalog order.
    pub const ALL: &'static [PackageType] = &[
        PackageType::BoardAndAuditBundle,
        PackageType::GrcUploadPackage,
        PackageType::SiemExportBundle,
        PackageType::EvidenceRoomBundle,
        PackageType::IncidentReviewPacket,
    ];

    /// The package's file name, `<contract name>.zip`.
    ///
    /// ```
    /// assert_eq!(cavra_package::PackageType::SiemExportBundle.file_name(), "siem_export_bundle.zip");
    /// ```
    pub fn file_name(self) -> String {
        format!("{}.zip", self.as_str())
    }

    /// The contract name, e.g. `board_and_audit_bundle`.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::BoardAndAuditBundle => "board_and_audit_bundle",
            PackageType::GrcUploadPackage => "grc_upload_package",
            PackageType::SiemExportBundle => "siem_export_bundle",
            PackageType::EvidenceRoomBundle => "evidence_room_bundle",
            PackageType::IncidentReviewPacket => "incident_review_packet",
        }
    }

    /// The retention class a package of this type gets unless told otherwise.
    pub fn default_retention(self) -> RetentionClass {
        match self {
            PackageType::BoardAndAuditBundle => RetentionClass::GovernanceRecord,
            PackageType::GrcUploadPackage | PackageType::EvidenceRoomBundle | PackageType::IncidentReviewPacket => {
                RetentionClass::AuditRecord
            }
            PackageType::SiemExportBundle => RetentionClass::OperationalRecord,
        }
    }
}

impl std::fmt::Display for PackageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PackageType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.replace('-', "_");
        PackageType::ALL.iter().copied().find(|t| t.as_str() == wanted).ok_or_else(|| {
            let names: Vec<&str> = PackageType::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown package type `{s}` (known: {})", names.join(", "))
        })
    }
}

/// How packages are made.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackageOptions {
    /// Branding and theme of the reports inside.
    pub report: ReportOptions,
    /// Overrides the type's default retention class.
    pub retention: Option<RetentionClass>,
    /// Recipient groups or channels the package is meant for (listed in the manifest).
    pub delivery_targets: Vec<String>,
    /// Evidence-room audience, reference and retention.
    pub room: EvidenceRoom,
}

/// A built package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// File name: `<package_type>.zip`.
    pub file_name: String,
    /// The zip.
    pub bytes: Vec<u8>,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Why a package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A report did not render (or the safety gate refused it).
    #[error("rendering {what}: {source}")]
    Render {
        /// Which artifact.
        what: String,
        /// The renderer's error.
        source: cavra_render::RenderError,
    },
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(#[from] cavra_render::signed::SigningError),
    /// The zip could not be written.
    #[error("archive: {0}")]
    Archive(String),
    /// The options are not usable.
    #[error("options: {0}")]
    Options(String),
}

/// A stable package id: the type and a digest of everything it is built from.
fn package_id(ptype: PackageType, snapshot: &Snapshot, posture: &Posture, options: &PackageOptions) -> String {
    let mut h = Sha256::new();
    let retention = options.retention.unwrap_or(ptype.default_retention());
    let parts = [
        ptype.as_str(),
        snapshot.tenant.tenant_ref.as_str(),
        posture.snapshot_digest.as_str(),
        retention.as_str(),
        options.report.branding.as_str(),
        options.report.legal_footer.as_str(),
        options.room.audience.as_str(),
        options.room.reference.as_str(),
    ];
    for p in parts.iter().chain(options.delivery_targets.iter().map(String::as_str).collect::<Vec<_>>().iter()) {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("pkg-{}-{}", ptype.as_str().replace('_', "-"), &format!("{:x}", h.finalize())[..16])
}

/// Builds one package: renders its reports, writes the manifest, signs it
/// with `key` and zips everything deterministically.
///
/// # Errors
/// [`PackageError`] when a report fails to render or pass the safety gate,
/// signing fails, or the options are unusable (e.g. a delivery target with
/// a line break).
pub fn build_package(
    ptype: PackageType,
    snapshot: &Snapshot,
    posture: &Posture,
    options: &PackageOptions,
    key: &SigningKey,
) -> Result<Package, PackageError> {
    let (manifest, out) = build_package_to(ptype, snapshot, posture, options, key, std::io::Cursor::new(Vec::new()))?;
    Ok(Package { file_name: ptype.file_name(), bytes: out.into_inner(), manifest })
}

/// As [`build_package`], writing the zip (named [`PackageType::file_name`])
/// into `out` instead of memory; returns the manifest and `out`.
///
/// ```
/// # use cavra_model::{LoadOptions, Posture, Snapshot};
/// # use cavra_package::{build_package, build_package_to, PackageOptions, PackageType};
/// # let snapshot = Snapshot::from_json_str(include_str!("../../../examples/sample_snapshot.json"), &LoadOptions::default()).unwrap();
/// # let posture = Posture::compute(&snapshot);
/// # let key = cavra_render::signed::SigningKey::generate().unwrap();
/// let ptype = PackageType::IncidentReviewPacket;
/// let (manifest, file) = build_package_to(ptype, &snapshot, &posture, &PackageOptions::default(), &key, tempfile::tempfile()?)?;
/// assert!(file.metadata()?.len() > 0);
/// assert_eq!(manifest.package_type, "incident_review_packet");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`build_package`], and `out`'s I/O errors.
pub fn build_package_to<W: std::io::Write + std::io::Seek>(
    ptype: PackageType,
    snapshot: &Snapshot,
    posture: &Posture,
    options: &PackageOptions,
    key: &SigningKey,
    out: W,
) -> Result<(Manifest, W), PackageError> {
    for t in &options.delivery_targets {
        if t.trim().is_empty() || t.chars().any(char::is_control) {
            return Err(PackageError::Options(format!("delivery target {t:?} is empty or holds control characters")));
        }
    }
    let id = package_id(ptype, snapshot, posture, options);
    let mut options = options.clone();
    if options.room.reference.trim().is_empty() {
        options.room.reference = format!("ER-{}", &id[id.len() - 12..]);
    }
    let built = contents::build(ptype, snapshot, posture, &options, &id, key)?;
    let header = Header {
        package_id: id,
        package_type: ptype,
        retention_class: options.retention.unwrap_or(ptype.default_retention()),
        tenant_ref: snapshot.tenant.tenant_ref.clone(),
        tenant_display_name: snapshot.tenant.display_name.clone(),
        generated_at: snapshot.as_of.to_string(),
        snapshot_digest: posture.snapshot_digest.clone(),
        delivery_targets: options.delivery_targets.clone(),
    };
    seal_to(header, built.entries, built.artifacts, key, out)
}

/// What a manifest says about the package as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Package id.
    pub package_id: String,
    /// Package type.
    pub package_type: PackageType,
    /// Retention class.
    pub retention_class: RetentionClass,
    /// Tenant reference.
    pub tenant_ref: String,
    /// Tenant display name.
    pub tenant_display_name: String,
    /// RFC 3339 instant the contents describe.
    pub generated_at: String,
    /// Digest of the snapshot the contents were built from.
    pub snapshot_digest: String,
    /// Delivery targets.
    pub delivery_targets: Vec<String>,
}

/// Seals files into a package: writes the manifest (`artifacts` must list
/// every entry), signs it and zips everything deterministically. Use it to
/// package artifacts of your own; [`build_package`] calls it.
///
/// # Errors
/// Signing or archive errors, an entry the manifest does not list, or a
/// manifest the safety gate refuses.
pub fn seal(
    header: Header,
    entries: Vec<archive::Entry>,
    artifacts: Vec<ManifestArtifact>,
    key: &SigningKey,
) -> Result<Package, PackageError> {
    let file_name = header.package_type.file_name();
    let (manifest, out) = seal_to(header, entries, artifacts, key, std::io::Cursor::new(Vec::new()))?;
    Ok(Package { file_name, bytes: out.into_inner(), manifest })
}

/// As [`seal`], writing the zip into `out` instead of memory: with members
/// spooled or read from files ([`archive::Spool`]), a package larger than
/// memory is sealed in memory that does not grow with it. Returns the
/// manifest and `out`; the bytes written are those [`seal`] returns.
///
/// # Errors
/// As [`seal`], and `out`'s I/O errors.
pub fn seal_to<W: std::io::Write + std::io::Seek>(
    header: Header,
    mut entries: Vec<archive::Entry>,
    mut artifacts: Vec<ManifestArtifact>,
    key: &SigningKey,
    out: W,
) -> Result<(Manifest, W), PackageError> {
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    for e in &entries {
        if artifacts.binary_search_by(|a| a.path.as_str().cmp(e.path.as_str())).is_err() {
            return Err(PackageError::Archive(format!("entry `{}` is not listed in the manifest", e.path)));
        }
    }
    let ptype = header.package_type;
    let id = header.package_id.clone();
    let mut manifest = Manifest {
        schema_version: manifest::MANIFEST_SCHEMA_VERSION.into(),
        package_id: header.package_id,
        package_type: ptype.as_str().into(),
        retention_class: header.retention_class,
        tenant_ref: header.tenant_ref,
        tenant_display_name: header.tenant_display_name,
        generated_at: header.generated_at,
        snapshot_digest: header.snapshot_digest,
        artifacts,
        delivery_targets: header.delivery_targets,
        integrity: manifest::Integrity {
            algorithm: "sha256".into(),
            manifest_digest: String::new(),
            signature: manifest::SIGNATURE_PATH.into(),
            signature_algorithm: "minisign-ed25519-prehashed".into(),
        },
    };
    manifest.integrity.manifest_digest = manifest.compute_digest();
    let manifest_bytes = manifest.to_bytes();
    cavra_render::gate_bytes(manifest::MANIFEST_PATH, cavra_render::Format::Json, &manifest_bytes)
        .map_err(|source| PackageError::Render { what: manifest::MANIFEST_PATH.into(), source })?;
    let comment = manifest::trusted_comment(&id, &manifest.integrity.manifest_digest);
    let signature = key.sign(std::io::Cursor::new(&manifest_bytes), &comment)?;
    let manifest_entry = archive::Entry::new(manifest::MANIFEST_PATH, manifest_bytes);
    if entries.iter().any(|e| e.path == "bagit.txt") {
        // The tag manifest covers the bag's tag files and manifest.json (not
        // the signature, whose bytes differ on every run).
        let tags: Vec<&archive::Entry> = entries
            .iter()
            .filter(|e| matches!(e.path.as_str(), "bagit.txt" | "bag-info.txt" | "manifest-sha256.txt"))
            .chain([&manifest_entry])
            .collect();
        let tag_manifest = bagit::tag_manifest(&tags);
        entries.push(tag_manifest);
    }
    entries.push(manifest_entry);
    entries.push(archive::Entry::new(manifest::SIGNATURE_PATH, signature.into_bytes()));
    let out = archive::write_zip_to(entries, 0, out)?;
    Ok((manifest, out))
}
