//! One tenant: load, render every kind in every format, build packages,
//! and move the files into place only when all were written.

use std::io::Write;
use std::path::Path;

use cavra_model::{build_report, LoadOptions, Posture, ReportKind, Snapshot, SnapshotErrorKind};
use cavra_render::{render_gated, Format, Gated, RenderError};
use sha2::{Digest, Sha256};

use crate::{BatchOptions, FileEntry, Tenant, TenantResult, TenantStatus};

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
fn build(t: &Tenant, options: &BatchOptions) -> Result<Vec<(String, Vec<u8>)>, Failure> {
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
                files.push((format!("{}.minisig", artifact.name), sig.into_bytes()));
            }
            files.push((artifact.name, artifact.bytes));
        }
    }
    for ptype in &options.packages {
        let key = options.signing.as_ref().ok_or(Failure("render", "packages need a signing key".into()))?;
        let package_options = cavra_package::PackageOptions { report: options.report.clone(), ..Default::default() };
        let p = cavra_package::build_package(*ptype, &snapshot, &posture, &package_options, key)
            .map_err(|e| Failure("render", e.to_string()))?;
        files.push((p.file_name, p.bytes));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Writes the files into a staging folder beside `out/<id>` and moves it
/// into place (replacing an earlier run's folder).
fn write(t: &Tenant, out: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<FileEntry>, Failure> {
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let staging =
        tempfile::Builder::new().prefix(&format!(".{}.staging-", t.id)).tempdir_in(out).map_err(|e| io(out, e))?;
    let mut entries = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let path = staging.path().join(name);
        std::fs::File::create(&path).and_then(|mut f| f.write_all(bytes)).map_err(|e| io(&path, e))?;
        entries.push(FileEntry {
            name: name.clone(),
            bytes: bytes.len() as u64,
            sha256: format!("sha256:{:x}", Sha256::digest(bytes)),
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
    match build(t, options).and_then(|files| write(t, out, &files)) {
        Ok(files) => {
            TenantResult { tenant: t.id.clone(), status: TenantStatus::Succeeded, failure: None, error: None, files }
        }
        Err(Failure(class, message)) => TenantResult {
            tenant: t.id.clone(),
            status: TenantStatus::Failed,
            failure: Some(class),
            error: Some(message),
            files: Vec::new(),
        },
    }
}
