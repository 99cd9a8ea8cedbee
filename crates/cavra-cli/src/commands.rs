//! The subcommands.

use anyhow::{Context, Result};
use cavra_deliver::audit::{AuditAction, AuditEvent, AuditStatus};
use cavra_model::theme::Paper;
use cavra_model::{
    build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot, SnapshotError, SnapshotErrorKind,
};
use cavra_render::options::{DocxOptions, HtmlOptions, PdfOptions, RenderOptions, WideTables, XlsxOptions};
use cavra_render::signed::SigningKey;
use cavra_render::{
    render_streamed, render_to_writer, write_gated_seekable_with, Format, Gated, RenderError, StreamedRows, Written,
};

use crate::write::Staging;

use crate::{DigestArgs, InputArgs, PackageArgs, RenderArgs, VerifyArgs};

/// The bundled sample snapshot.
const SAMPLE: &str = include_str!("../../../examples/sample_snapshot.json");

/// Maps an error to the documented exit code.
fn response_code(e: &cavra_ops::response::ResponseError) -> u8 {
    use cavra_ops::response::ResponseError as R;
    match e {
        R::Refused(_) | R::Unsafe(_) => 4,
        R::Tampered { .. } => 5,
        R::State(_) | R::NotFound(_) | R::Invalid(_) => 3,
        R::Store(_) => 1,
    }
}

fn ops_snapshot_code(e: &cavra_ops::SnapshotError) -> u8 {
    match e {
        cavra_ops::SnapshotError::Invalid { .. } => 3,
        cavra_ops::SnapshotError::Unsafe { .. } => 4,
    }
}

pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(e) = err.downcast_ref::<SnapshotError>() {
        return if e.kind == SnapshotErrorKind::Unsafe {
            4
        } else if e.kind == SnapshotErrorKind::Io {
            1
        } else {
            3
        };
    }
    if err.downcast_ref::<cavra_render::setup::SetupError>().is_some() {
        return 3;
    }
    if let Some(e) = err.downcast_ref::<cavra_ops::SnapshotError>() {
        return ops_snapshot_code(e);
    }
    if let Some(e) = err.downcast_ref::<cavra_ops::collect::CollectError>() {
        use cavra_ops::collect::CollectError as C;
        return match e {
            C::Snapshot(s) => ops_snapshot_code(s),
            C::Record(_) => 3,
            C::Response(r) => response_code(r),
            C::Outbox(_) | C::Store(_) | C::Room(_) => 1,
        };
    }
    if let Some(e) = err.downcast_ref::<cavra_ops::response::ResponseError>() {
        return response_code(e);
    }
    if let Some(e) = err.downcast_ref::<Outcome>() {
        return e.code();
    }
    if let Some(e) = err.downcast_ref::<cavra_batch::BatchError>() {
        return match e {
            cavra_batch::BatchError::Source { .. } => 3,
            cavra_batch::BatchError::Shard(_) => 2,
        };
    }
    if err.downcast_ref::<cavra_deliver::send::Refused>().is_some() {
        return 4;
    }
    let store_code = |e: &cavra_store::StoreError| -> u8 {
        use cavra_store::StoreError as S;
        match e {
            S::Refused(_) => 4,
            S::Altered { .. } => 5,
            S::Url(_) | S::NotMigrated { .. } | S::SchemaAhead { .. } | S::NotFound(_) | S::Invalid(_) => 3,
            S::Db(_) | S::Io { .. } | S::Corrupt(_) => 1,
        }
    };
    if let Some(e) = err.downcast_ref::<cavra_deliver::records::RecordsError>() {
        return match e {
            cavra_deliver::records::RecordsError::Refused(_) => 4,
            cavra_deliver::records::RecordsError::Store(s) => store_code(s),
        };
    }
    if let Some(e) = err.downcast_ref::<cavra_store::StoreError>() {
        return store_code(e);
    }
    if let Some(e) = err.downcast_ref::<cavra_room::RoomError>() {
        return match e {
            cavra_room::RoomError::Refused(_) => 4,
            cavra_room::RoomError::Invalid(_) | cavra_room::RoomError::NotFound(_) => 3,
            cavra_room::RoomError::Store(s) => store_code(s),
            cavra_room::RoomError::Audit(_) => 1,
        };
    }
    if let Some(cavra_deliver::outbox::OutboxError::Db(e)) = err.downcast_ref::<cavra_deliver::outbox::OutboxError>() {
        return store_code(e);
    }
    if let Some(e) = err.downcast_ref::<cavra_deliver::approval::ApprovalError>() {
        return match e {
            cavra_deliver::approval::ApprovalError::Policy(_) => 4,
            cavra_deliver::approval::ApprovalError::Unknown(_)
            | cavra_deliver::approval::ApprovalError::Transition { .. } => 3,
            cavra_deliver::approval::ApprovalError::Store(_) => 1,
        };
    }
    if let Some(e) = err.downcast_ref::<cavra_deliver::audit::AuditError>() {
        return match e {
            cavra_deliver::audit::AuditError::Broken { .. } | cavra_deliver::audit::AuditError::Closed(_) => 5,
            cavra_deliver::audit::AuditError::Unsafe(_) => 4,
            cavra_deliver::audit::AuditError::Io { .. } | cavra_deliver::audit::AuditError::Sign(_) => 1,
        };
    }
    if let Some(cavra_deliver::send::PassError::Audit { .. }) = err.downcast_ref::<cavra_deliver::send::PassError>() {
        return 1;
    }
    if err.downcast_ref::<cavra_deliver::schedule::ScheduleError>().is_some() {
        return 3;
    }
    if let Some(e) = err.downcast_ref::<cavra_render::signed::SigningError>() {
        return match e {
            cavra_render::signed::SigningError::Key(_) => 3,
            cavra_render::signed::SigningError::Sign(_) | cavra_render::signed::SigningError::Verify(_) => 1,
        };
    }
    // An input over its limit, or not UTF-8, is invalid input.
    if err.chain().any(|c| {
        c.downcast_ref::<cavra_model::limits::LimitError>().is_some_and(|l| match l {
            cavra_model::limits::LimitError::TooLarge { .. } => true,
            cavra_model::limits::LimitError::Io(e) => e.kind() == std::io::ErrorKind::InvalidData,
        })
    }) {
        return 3;
    }
    if err
        .chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::InvalidData))
    {
        return 3;
    }
    if err.downcast_ref::<cavra_deliver::config::ConfigError>().is_some() {
        return 3;
    }
    match err.downcast_ref::<RenderError>() {
        Some(RenderError::UnsafeModel { .. } | RenderError::UnsafeOutput { .. }) => 4,
        Some(RenderError::Rows { source, .. }) => match source.kind {
            SnapshotErrorKind::Unsafe => 4,
            SnapshotErrorKind::Io => 1,
            _ => 3,
        },
        Some(RenderError::NotStreamable { .. }) => 2,
        Some(RenderError::Backend { .. } | RenderError::InvalidModel { .. } | RenderError::Write { .. }) | None => 1,
    }
}

/// Loads the input; `jobs` threads may share the parsing (0: the cores).
fn load(args: &InputArgs, jobs: usize) -> Result<Snapshot> {
    let options = LoadOptions {
        gate: if args.redact { cavra_model::gate::GateMode::Redact } else { cavra_model::gate::GateMode::FailClosed },
    };
    let snapshot = match &args.input {
        Some(path) => Snapshot::load_on(path, args.decisions.as_deref(), &options, jobs)?,
        None => Snapshot::from_json_str(SAMPLE, &options)?,
    };
    Ok(snapshot)
}

/// What was written to `file`, read back from its start.
fn hashed(name: &str, file: &mut std::fs::File) -> Result<Written> {
    use sha2::{Digest, Sha256};
    use std::io::Seek;
    file.rewind().with_context(|| format!("{name}: cannot read back"))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(file, &mut hasher).with_context(|| format!("{name}: cannot read back"))?;
    Ok(Written { name: name.to_string(), bytes, sha256: format!("{:x}", hasher.finalize()) })
}

/// Resolves a secret reference: `env:NAME` or `file:PATH`. Literal secrets
/// are refused so they never end up in shell history or process lists.
pub fn secret_ref(reference: &str, what: &str) -> Result<String> {
    if let Some(name) = reference.strip_prefix("env:") {
        std::env::var(name).with_context(|| format!("{what}: environment variable {name} is not set"))
    } else if let Some(path) = reference.strip_prefix("file:") {
        cavra_model::limits::read_text_bounded(std::path::Path::new(path), cavra_model::limits::KEY_BYTES)
            .with_context(|| format!("{what}: cannot read {path}"))
    } else {
        anyhow::bail!("{what} must be a reference such as `file:PATH` or `env:NAME`, not a literal value")
    }
}

/// Where signatures come from for this run.
pub(crate) enum Signing {
    Key(SigningKey),
    /// A throw-away key made for a sample run; its public key is written out.
    Throwaway(SigningKey),
}

impl Signing {
    fn key(&self) -> &SigningKey {
        match self {
            Signing::Key(k) | Signing::Throwaway(k) => k,
        }
    }
}

/// The signing key given by `--signing-key` (and its password), if any.
pub fn signing_key(args: &crate::SigningArgs) -> Result<Option<SigningKey>> {
    args.signing_key
        .as_deref()
        .map(|r| crate::evidence::load_key(r, args.signing_key_password.as_deref(), "--signing-key"))
        .transpose()
}

fn signing(args: &crate::SigningArgs, sample: bool) -> Result<Option<Signing>> {
    if let Some(key) = signing_key(args)? {
        return Ok(Some(Signing::Key(key)));
    }
    if sample {
        return Ok(Some(Signing::Throwaway(SigningKey::generate()?)));
    }
    Ok(None)
}

/// Public key file written beside sample output signed with a throw-away key.
pub const SAMPLE_PUBLIC_KEY: &str = "sample-signing-key.pub";

/// Renders every requested (kind, format) straight into the staging folder
/// on `jobs` threads; nothing reaches the destination until all of them
/// succeeded. The files, their order and the first error reported do not
/// depend on the number of threads.
fn render_all(
    snapshot: &Snapshot,
    kinds: &[ReportKind],
    formats: &[Format],
    signing: Option<&Signing>,
    (options, pages): (&ReportOptions, &RenderOptions),
    staging: &mut Staging,
    jobs: usize,
) -> Result<(Vec<Written>, Vec<crate::records::Origin>)> {
    use cavra_render::parallel::map_ordered;
    let posture = Posture::compute_on(snapshot, jobs);
    let reports = map_ordered(kinds, jobs, |kind| build_report(*kind, snapshot, &posture, options));
    stage_reports(&reports, formats, signing, pages, staging, jobs)
}

/// Renders every (report, format) straight into the staging folder on
/// `jobs` threads, each report through the safety gate first, signed JSON
/// with its detached signature; returns the files and their store origins.
pub(crate) fn stage_reports(
    reports: &[cavra_model::Report],
    formats: &[Format],
    signing: Option<&Signing>,
    pages: &RenderOptions,
    staging: &mut Staging,
    jobs: usize,
) -> Result<(Vec<Written>, Vec<crate::records::Origin>)> {
    use cavra_render::parallel::{map_heaviest_first, map_ordered};
    let indices: Vec<usize> = (0..reports.len()).collect();
    let gated = map_ordered(&indices, jobs, |i| {
        let r = &reports[*i];
        Gated::check(r).with_context(|| format!("rendering {}", r.meta.kind))
    })
    .into_iter()
    .collect::<Result<Vec<Gated>>>()?;
    let tasks: Vec<(usize, Format)> = (0..reports.len()).flat_map(|i| formats.iter().map(move |f| (i, *f))).collect();
    let staged: &Staging = staging;
    let weight = |(_, format): &(usize, Format)| cavra_render::parallel::format_weight(*format);
    let outcomes = map_heaviest_first(&tasks, jobs, weight, |(i, format)| -> Result<Vec<Written>> {
        let report = &reports[*i];
        let kind = report.meta.kind;
        let name = cavra_render::artifact_name(report, *format);
        let w = staged
            .write_file_unlisted(&name, |out| Ok(write_gated_seekable_with(gated[*i], *format, pages, out)?))
            .with_context(|| format!("rendering {kind} as {format}"))?;
        if !format.is_signed() {
            return Ok(vec![w]);
        }
        let key = signing.context("signed JSON needs a signing key")?.key();
        let sig = cavra_render::signed::sign_artifact(
            key,
            &report.meta.report_id,
            kind.as_str(),
            &w.sha256,
            staged.open(&name)?,
        )?;
        let signature = staged.write_bytes_unlisted(&format!("{name}.minisig"), sig.as_bytes())?;
        Ok(vec![w, signature])
    });
    let mut written = Vec::with_capacity(tasks.len());
    for outcome in outcomes {
        for w in outcome? {
            staging.list(&w.name);
            written.push(w);
        }
    }
    let origins = tasks
        .iter()
        .map(|(i, format)| {
            let report = &reports[*i];
            crate::records::Origin {
                name: cavra_render::artifact_name(report, *format),
                kind: report.meta.kind.as_str().to_string(),
                format: format.name().to_string(),
                report_id: Some(report.meta.report_id.clone()),
                classification: report.meta.classification.as_str().to_string(),
            }
        })
        .collect();
    Ok((written, origins))
}

/// The formats to write (default: all, signed JSON only with a key) and the
/// signing key (a throw-away one for the bundled sample), with notes for the summary.
pub(crate) fn formats_and_signing(
    requested: &[Format],
    args: &crate::SigningArgs,
    sample: bool,
) -> Result<(Vec<Format>, Option<Signing>, Vec<String>)> {
    let mut formats = dedup(requested, Format::ALL);
    cavra_render::warm_up(&formats);
    let signing = signing(args, sample)?;
    let mut notes = Vec::new();
    if signing.is_none() && formats.iter().any(|f| f.is_signed()) {
        if requested.is_empty() {
            formats.retain(|f| !f.is_signed());
            notes.push("signed-json skipped: no --signing-key given".to_string());
        } else {
            anyhow::bail!("signed-json needs --signing-key file:PATH or env:NAME (a minisign secret key)");
        }
    }
    Ok((formats, signing, notes))
}

/// Writes the public half of a throw-away signing key beside what it signed.
pub(crate) fn throwaway_key(
    signing: Option<&Signing>,
    formats: &[Format],
    staging: &mut Staging,
    artifacts: &mut Vec<Written>,
    notes: &mut Vec<String>,
) -> Result<()> {
    if let Some(Signing::Throwaway(key)) = signing {
        if formats.iter().any(|f| f.is_signed()) {
            let text = key.public_key_file();
            artifacts.push(staging.write_bytes(SAMPLE_PUBLIC_KEY, text.as_bytes())?);
            notes.push(format!(
                "signed with a throw-away key generated for this run; verify with {SAMPLE_PUBLIC_KEY} (the secret key was not kept)"
            ));
        }
    }
    Ok(())
}

pub(crate) fn dedup<T: Copy + Ord>(requested: &[T], all: &[T]) -> Vec<T> {
    if requested.is_empty() {
        return all.to_vec();
    }
    // Keep catalog order so output does not depend on how flags were typed.
    all.iter().copied().filter(|x| requested.contains(x)).collect()
}

/// The paged backends' options from `--paper` and `--wide-tables` (each
/// unset one keeps its default: the setup file's paper, landscape pages).
pub(crate) fn page_options(paper: Option<Paper>, wide: Option<WideTables>) -> RenderOptions {
    let wide_tables = wide.unwrap_or_default();
    RenderOptions {
        pdf: PdfOptions { paper, wide_tables, ..PdfOptions::default() },
        docx: DocxOptions { paper, wide_tables },
        html: HtmlOptions { paper },
        xlsx: XlsxOptions { paper },
    }
}

/// Report options from the setup file, or the defaults.
pub fn options(theme: Option<&std::path::Path>) -> Result<ReportOptions> {
    match theme {
        Some(path) => Ok(cavra_render::setup::load(path)?),
        None => Ok(ReportOptions::default()),
    }
}

pub fn render(args: &RenderArgs) -> Result<()> {
    crate::evidence::audited(&args.audit, cavra_deliver::audit::AuditAction::Render, || render_artifacts(args))
}

fn render_artifacts(args: &RenderArgs) -> Result<Vec<Written>> {
    let (formats, signing, mut notes) = formats_and_signing(&args.formats, &args.signing, args.input.sample)?;
    let options = options(args.theme.as_deref())?;
    let snapshot = load(&args.input, args.jobs.map_or(0, usize::from))?;
    let kinds = dedup(&args.kinds, ReportKind::ALL);
    let mut staging = Staging::new(&args.out)?;
    let jobs = args.jobs.map_or(0, usize::from);
    let pages = page_options(args.paper, args.wide_tables);
    let (mut artifacts, origins) =
        render_all(&snapshot, &kinds, &formats, signing.as_ref(), (&options, &pages), &mut staging, jobs)?;
    throwaway_key(signing.as_ref(), &formats, &mut staging, &mut artifacts, &mut notes)?;
    // Registered from the staging folder, so a store that refuses leaves no output behind.
    if args.store.url.is_some() {
        let as_of = snapshot.as_of.unix_seconds();
        crate::records::register_rendered(
            &args.store,
            args.audit.config.as_deref(),
            staging.dir(),
            &snapshot.tenant.tenant_ref,
            as_of,
            &origins,
        )?;
    }
    staging.commit()?;

    print_summary(&artifacts, &args.out, &notes);
    if snapshot.redaction.total > 0 {
        crate::say!(
            "redacted {} sensitive input value(s); see each report's data-quality section",
            snapshot.redaction.total
        );
    }
    Ok(artifacts)
}

pub(crate) fn print_summary(artifacts: &[Written], out_dir: &std::path::Path, notes: &[String]) {
    let width = artifacts.iter().map(|a| a.name.len()).max().unwrap_or(8).max(8);
    crate::say!("{:<width$}  {:>9}  sha256", "artifact", "bytes");
    for a in artifacts {
        crate::say!("{:<width$}  {:>9}  {}", a.name, a.bytes, a.sha256);
    }
    crate::say!("wrote {} files to {}", artifacts.len(), out_dir.display());
    for n in notes {
        crate::say!("note: {n}");
    }
}

/// Formats the streamed digest writes by default.
const DIGEST_FORMATS: &[Format] =
    &[Format::Jsonl, Format::Csv, Format::Xlsx, Format::Markdown, Format::Html, Format::Docx, Format::Pdf];

pub fn digest(args: &DigestArgs) -> Result<()> {
    crate::evidence::audited(&args.audit, cavra_deliver::audit::AuditAction::Digest, || digest_artifacts(args))
}

fn digest_artifacts(args: &DigestArgs) -> Result<Vec<Written>> {
    let formats = dedup(&args.formats, Format::ALL);
    let formats = if args.formats.is_empty() { DIGEST_FORMATS.to_vec() } else { formats };
    if let Some(f) = formats.iter().find(|f| !DIGEST_FORMATS.contains(f)) {
        return Err(RenderError::NotStreamable { format: *f }).context(
            "the streamed digest writes jsonl, csv, xlsx, md, html, docx and pdf; `render` writes the JSON forms in memory",
        );
    }
    let load = LoadOptions {
        gate: if args.redact { cavra_model::gate::GateMode::Redact } else { cavra_model::gate::GateMode::FailClosed },
    };
    let options = options(args.theme.as_deref())?;
    let digest = cavra_model::stream::StreamedDigest::open(&args.input, &args.decisions, &load, &options)?;
    let report = digest.report();
    let mut staging = Staging::new(&args.out)?;
    let mut artifacts = Vec::with_capacity(formats.len());
    for format in &formats {
        let name = cavra_render::artifact_name(report, *format);
        let w = match format {
            Format::Jsonl | Format::Csv | Format::Xlsx => staging.write_file(&name, |file| {
                let mut rows = digest.rows()?;
                let stream = StreamedRows { dataset: "decisions", row_count: digest.row_count(), rows: &mut rows };
                Ok(render_streamed(report, *format, stream, file)?)
            }),
            _ => staging.write(&name, |out| render_to_writer(report, *format, out)),
        }
        .with_context(|| format!("rendering {} as {format}", report.meta.kind))?;
        artifacts.push(w);
    }
    if args.store.url.is_some() {
        let origins: Vec<crate::records::Origin> = formats
            .iter()
            .map(|f| crate::records::Origin {
                name: cavra_render::artifact_name(report, *f),
                kind: report.meta.kind.as_str().to_string(),
                format: f.name().to_string(),
                report_id: Some(report.meta.report_id.clone()),
                classification: report.meta.classification.as_str().to_string(),
            })
            .collect();
        let (tenant, as_of) = (&report.meta.tenant_ref, report.meta.generated_at.unix_seconds());
        crate::records::register_rendered(
            &args.store,
            args.audit.config.as_deref(),
            staging.dir(),
            tenant,
            as_of,
            &origins,
        )?;
    }
    staging.commit()?;
    let mut notes = vec![format!("{} decisions streamed from {}", digest.row_count(), args.decisions.display())];
    if report.meta.redaction.total > 0 {
        notes.push(format!("redacted {} sensitive input value(s)", report.meta.redaction.total));
    }
    print_summary(&artifacts, &args.out, &notes);
    Ok(artifacts)
}

/// A command that ran to its end without full success; the message says
/// what the output above already listed.
#[derive(Debug)]
pub enum Outcome {
    /// A package or audit log failed verification (exit code 5).
    NotVerified(String),
    /// Some items failed, the others succeeded (exit code 6).
    SomeFailed(String),
    /// `selfcheck`: a path an operator must trust failed (exit code 7).
    CheckFailed(String),
}

impl Outcome {
    /// The exit code of the README's table.
    pub fn code(&self) -> u8 {
        match self {
            Outcome::NotVerified(_) => 5,
            Outcome::SomeFailed(_) => 6,
            Outcome::CheckFailed(_) => 7,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::NotVerified(m) | Outcome::SomeFailed(m) | Outcome::CheckFailed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Outcome {}

pub fn package(args: &PackageArgs) -> Result<()> {
    crate::evidence::audited(&args.audit, cavra_deliver::audit::AuditAction::Package, || package_artifacts(args))
}

fn package_artifacts(args: &PackageArgs) -> Result<Vec<Written>> {
    let report = options(args.theme.as_deref())?;
    let snapshot = load(&args.input, 0)?;
    let signing = signing(&args.signing, args.input.sample)?
        .context("packages are signed: give --signing-key file:PATH or env:NAME (a minisign secret key)")?;
    let types = dedup(&args.types, cavra_package::PackageType::ALL);
    let options = cavra_package::PackageOptions {
        report,
        retention: args.retention,
        delivery_targets: args.targets.clone(),
        room: cavra_package::EvidenceRoom {
            audience: args.audience.clone(),
            reference: args.reference.clone().unwrap_or_default(),
            retention_days: args.room_retention_days,
        },
    };
    let posture = Posture::compute(&snapshot);
    let mut staging = Staging::new(&args.out)?;
    let mut written = Vec::new();
    let mut ids = Vec::new();
    for t in &types {
        // Written straight into its staging file: a package is never held
        // in memory whole.
        let name = t.file_name();
        let w = staging.write_file(&name, |file| {
            let (manifest, file) =
                cavra_package::build_package_to(*t, &snapshot, &posture, &options, signing.key(), file)
                    .with_context(|| format!("building {t}"))?;
            ids.push(format!(
                "{name}: {} ({} artifacts, {})",
                manifest.package_id,
                manifest.artifacts.len(),
                manifest.retention_class.as_str()
            ));
            hashed(&name, file)
        })?;
        written.push(w);
    }
    let mut notes = ids;
    let pub_name = if args.input.sample { SAMPLE_PUBLIC_KEY } else { "package-signing-key.pub" };
    written.push(staging.write_bytes(pub_name, signing.key().public_key_file().as_bytes())?);
    if let Signing::Throwaway(_) = &signing {
        notes.push(format!(
            "signed with a throw-away key generated for this run; verify with {pub_name} (the secret key was not kept)"
        ));
    }
    if args.store.url.is_some() {
        let packages: Vec<std::path::PathBuf> = types.iter().map(|t| staging.dir().join(t.file_name())).collect();
        crate::records::register_packages(
            &args.store,
            args.audit.config.as_deref(),
            &packages,
            &signing.key().public_key_file(),
            &args.store_classification,
        )?;
    }
    staging.commit()?;
    print_summary(&written, &args.out, &notes);
    Ok(written)
}

pub fn verify(args: &VerifyArgs) -> Result<()> {
    let key = cavra_render::signed::PublicKey::from_file(&args.pubkey)?.file_text();
    let file =
        std::fs::File::open(&args.package).with_context(|| format!("{}: cannot read", args.package.display()))?;
    let result = cavra_package::verify::verify_package(
        std::io::BufReader::new(file),
        &key,
        &cavra_package::verify::Limits::default(),
    )
    .with_context(|| format!("{}", args.pubkey.display()))?;
    crate::say!("{result}");
    if let Some(log) = args.audit.open()?.as_mut() {
        // The package's own bytes, so an alert rule can name what failed.
        let f = std::fs::File::open(&args.package).with_context(|| args.package.display().to_string())?;
        let digest = cavra_package::manifest::sha256_tagged_reader(std::io::BufReader::new(f))?;
        let status = if result.ok() { AuditStatus::Accepted } else { AuditStatus::Failed };
        let mut event = AuditEvent::new(&crate::deliver::now().1, AuditAction::Verify, status).digest(&digest);
        if !result.ok() {
            event = event.detail("the package failed verification");
        }
        log.append(&event)?;
    }
    if result.ok() {
        Ok(())
    } else {
        Err(Outcome::NotVerified(format!("{}: package failed verification", args.package.display())).into())
    }
}

pub fn validate(args: &InputArgs) -> Result<()> {
    let snapshot = load(args, 0)?;
    crate::say!(
        "ok: {} sessions, {} decisions in window ({} outside), {} exceptions, {} incidents, {} policy baselines",
        snapshot.sessions.len(),
        snapshot.decisions.len(),
        snapshot.decisions_outside_window,
        snapshot.exceptions.len(),
        snapshot.incidents.len(),
        snapshot.policy_baselines.len()
    );
    if snapshot.redaction.total > 0 {
        crate::say!("redacted {} sensitive value(s)", snapshot.redaction.total);
    }
    for w in &snapshot.warnings {
        crate::say!("warning: {w}");
    }
    Ok(())
}

pub fn catalog(audit: &crate::evidence::ActionAudit) -> Result<()> {
    crate::evidence::audited(audit, cavra_deliver::audit::AuditAction::Catalog, || {
        catalog_listing().map(|()| Vec::new())
    })
}

fn catalog_listing() -> Result<()> {
    let formats: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    crate::say!("{:<22}  {:<10}  formats", "kind", "tier");
    for k in ReportKind::ALL {
        let tier = match k.tier() {
            cavra_model::report::Tier::Community => "community",
            cavra_model::report::Tier::Enterprise => "enterprise",
        };
        crate::say!("{:<22}  {:<10}  {}", k.as_str(), tier, formats.join(", "));
    }
    crate::say!(
        "{} kinds x {} formats = {} artifacts",
        ReportKind::ALL.len(),
        Format::ALL.len(),
        ReportKind::ALL.len() * Format::ALL.len()
    );
    Ok(())
}
