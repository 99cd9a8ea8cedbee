//! One tenant: load, render every kind in every format, build packages,
//! and move the files into place only when all were written.

use std::io::Write;
use std::path::Path;

use cavra_model::{build_report, LoadOptions, Posture, ReportKind, Snapshot, SnapshotErrorKind};
use cavra_render::{render_gated, Format, Gated, RenderError};
use sha2::{Digest, Sha256};

use crate::{BatchOptions, FileEntry, FileOrigin, Tenant, TenantResult, TenantStatus};

/// A file built for a tenant: its name, bytes and what it is.
type Built = (String, Vec<u8>, Option<FileOrigin>);

/// A tenant's failure: its class and message.
struct Failure(&'static str, String);

impl From<cavra_model::SnapshotError> for Failure {
    fn from(e: cavra_model::SnapshotError) -> Failure {
        let class = match e.kind {
            SnapshotErrorKind::Unsafe => "unsafe_content",
            SnapshotErrorKind::Io => "io",
            _ => "invalid_input",
        };
        Failure(class, e.to_string())
    }
}

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Failure {
        let class = match e {
            RenderError::UnsafeModel { .. } | RenderError::UnsafeOutput { .. } => "unsafe_content",
            RenderError::InvalidModel { .. }
            | RenderError::Write { .. }
            | RenderError::Rows { .. }
            | RenderError::NotStreamable { .. }
            | RenderError::Backend { .. } => "render",
        };
        Failure(class, e.to_string())
    }
}

fn io(what: &Path, e: std::io::Error) -> Failure {
    Failure("io", format!("{}: {e}", what.display()))
}

/// The files of one tenant, in memory until written.
fn build(t: &Tenant, options: &BatchOptions) -> Result<(Vec<Built>, (String, i64)), Failure> {
    let load = LoadOptions {
        gate: if options.redact {
            cavra_model::gate::GateMode::Redact
        } else {
            cavra_model::gate::GateMode::FailClosed
        },
    };
    let snapshot = Snapshot::load(&t.snapshot, t.decisions.as_deref(), &load)?;
    let posture = Posture::compute(&snapshot);
    let kinds = if options.kinds.is_empty() { ReportKind::ALL.to_vec() } else { options.kinds.clone() };
    let formats: Vec<Format> = if options.formats.is_empty() {
        Format::ALL.iter().copied().filter(|f| !f.is_signed() || options.signing.is_some()).collect()
    } else {
        options.formats.clone()
    };
    let mut files = Vec::new();
    for kind in kinds {
        let report = build_report(kind, &snapshot, &posture, &options.report);
        let gated = Gated::check(&report)?;
        let origin = |format: &str| FileOrigin {
            kind: kind.as_str().to_string(),
            format: format.to_string(),
            report_id: Some(report.meta.report_id.clone()),
            classification: report.meta.classification.as_str().to_string(),
        };
        for format in &formats {
            let artifact = render_gated(gated, *format)?;
            if format.is_signed() {
                let key =
                    options.signing.as_ref().ok_or(Failure("render", "signed-json needs a signing key".into()))?;
                let sig = cavra_render::signed::sign_artifact(
                    key,
                    &report.meta.report_id,
                    kind.as_str(),
                    &artifact.sha256,
                    artifact.bytes.as_slice(),
                )
                .map_err(|e| Failure("render", e.to_string()))?;
                files.push((format!("{}.minisig", artifact.name), sig.into_bytes(), None));
            }
            files.push((artifact.name, artifact.bytes, Some(origin(format.name()))));
        }
    }
    for ptype in &options.packages {
        let key = options.signing.as_ref().ok_or(Failure("render", "packages need a signing key".into()))?;
        let package_options = cavra_package::PackageOptions { report: options.report.clone(), ..Default::default() };
        let p = cavra_package::build_package(*ptype, &snapshot, &posture, &package_options, key)
            .map_err(|e| Failure("render", e.to_string()))?;
        let origin = FileOrigin {
            kind: ptype.as_str().to_string(),
            format: "package".into(),
            report_id: None,
            classification: String::new(),
        };
        files.push((p.file_name, p.bytes, Some(origin)));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((files, (snapshot.tenant.tenant_ref.clone(), snapshot.as_of.unix_seconds())))
}

/// Writes the files into a staging folder beside `out/<id>` and moves it
/// into place (replacing an earlier run's folder).
fn write(t: &Tenant, out: &Path, files: &[Built]) -> Result<Vec<FileEntry>, Failure> {
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let staging =
        tempfile::Builder::new().prefix(&format!(".{}.staging-", t.id)).tempdir_in(out).map_err(|e| io(out, e))?;
    let mut entries = Vec::with_capacity(files.len());
    for (name, bytes, origin) in files {
        let path = staging.path().join(name);
        std::fs::File::create(&path).and_then(|mut f| f.write_all(bytes)).map_err(|e| io(&path, e))?;
        entries.push(FileEntry {
            name: name.clone(),
            bytes: bytes.len() as u64,
            sha256: format!("sha256:{:x}", Sha256::digest(bytes)),
            origin: origin.clone(),
        });
    }
    let dest = out.join(&t.id);
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|e| io(&dest, e))?;
    }
    std::fs::rename(staging.keep(), &dest).map_err(|e| io(&dest, e))?;
    Ok(entries)
}

/// Renders one tenant; a failure is an outcome, never a panic or an abort.
pub(crate) fn render_tenant(t: &Tenant, out: &Path, options: &BatchOptions) -> TenantResult {
    match build(t, options).and_then(|(files, snapshot)| Ok((write(t, out, &files)?, snapshot))) {
        Ok((files, snapshot)) => TenantResult {
            tenant: t.id.clone(),
            status: TenantStatus::Succeeded,
            failure: None,
            error: None,
            files,
            snapshot: Some(snapshot),
        },
        Err(Failure(class, message)) => TenantResult {
            tenant: t.id.clone(),
            status: TenantStatus::Failed,
            failure: Some(class),
            error: Some(message),
            files: Vec::new(),
            snapshot: None,
        },
    }
}
