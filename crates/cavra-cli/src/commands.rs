//! The subcommands.

use std::io::Write;

use anyhow::{Context, Result};
use cavra_model::{
    build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot, SnapshotError, SnapshotErrorKind,
};
use cavra_render::{render_to_writer, Format, RenderError, Written};

use crate::write::Staging;

use crate::{InputArgs, RenderArgs};

/// The bundled sample snapshot.
const SAMPLE: &str = include_str!("../../../examples/sample_snapshot.json");

/// Maps an error to the documented exit code.
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
    match err.downcast_ref::<RenderError>() {
        Some(RenderError::UnsafeModel { .. } | RenderError::UnsafeOutput { .. }) => 4,
        Some(RenderError::Backend { .. } | RenderError::Write { .. }) | None => 1,
    }
}

fn load(args: &InputArgs) -> Result<Snapshot> {
    let options = LoadOptions {
        gate: if args.redact { cavra_model::gate::GateMode::Redact } else { cavra_model::gate::GateMode::FailClosed },
    };
    let snapshot = match &args.input {
        Some(path) => Snapshot::load(path, args.decisions.as_deref(), &options)?,
        None => Snapshot::from_json_str(SAMPLE, &options)?,
    };
    Ok(snapshot)
}

/// Renders every requested (kind, format) straight into the staging folder;
/// nothing reaches the destination until all of them succeeded.
fn render_all(
    snapshot: &Snapshot,
    kinds: &[ReportKind],
    formats: &[Format],
    staging: &mut Staging,
) -> Result<Vec<Written>> {
    let posture = Posture::compute(snapshot);
    let options = ReportOptions::default();
    let mut written = Vec::with_capacity(kinds.len() * formats.len());
    for kind in kinds {
        let report = build_report(*kind, snapshot, &posture, &options);
        for format in formats {
            let name = format!("{}.{}", kind.as_str(), format.extension());
            let w = staging
                .write(&name, |out| render_to_writer(&report, *format, out))
                .with_context(|| format!("rendering {kind} as {format}"))?;
            written.push(w);
        }
    }
    Ok(written)
}

fn dedup<T: Copy + Ord>(requested: &[T], all: &[T]) -> Vec<T> {
    if requested.is_empty() {
        return all.to_vec();
    }
    // Keep catalog order so output does not depend on how flags were typed.
    all.iter().copied().filter(|x| requested.contains(x)).collect()
}

pub fn render(args: &RenderArgs) -> Result<()> {
    let snapshot = load(&args.input)?;
    let kinds = dedup(&args.kinds, ReportKind::ALL);
    let formats = dedup(&args.formats, Format::ALL);
    let mut staging = Staging::new(&args.out)?;
    let artifacts = render_all(&snapshot, &kinds, &formats, &mut staging)?;
    staging.commit()?;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let width = artifacts.iter().map(|a| a.name.len()).max().unwrap_or(8).max(8);
    writeln!(out, "{:<width$}  {:>9}  sha256", "artifact", "bytes")?;
    for a in &artifacts {
        writeln!(out, "{:<width$}  {:>9}  {}", a.name, a.bytes, a.sha256)?;
    }
    writeln!(out, "wrote {} artifacts to {}", artifacts.len(), args.out.display())?;
    if snapshot.redaction.total > 0 {
        writeln!(
            out,
            "redacted {} sensitive input value(s); see each report's data-quality section",
            snapshot.redaction.total
        )?;
    }
    Ok(())
}

pub fn validate(args: &InputArgs) -> Result<()> {
    let snapshot = load(args)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "ok: {} sessions, {} decisions in window ({} outside), {} exceptions, {} incidents, {} policy baselines",
        snapshot.sessions.len(),
        snapshot.decisions.len(),
        snapshot.decisions_outside_window,
        snapshot.exceptions.len(),
        snapshot.incidents.len(),
        snapshot.policy_baselines.len()
    )?;
    if snapshot.redaction.total > 0 {
        writeln!(out, "redacted {} sensitive value(s)", snapshot.redaction.total)?;
    }
    for w in &snapshot.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

pub fn catalog() -> Result<()> {
    let mut out = std::io::stdout().lock();
    let formats: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    writeln!(out, "{:<22}  {:<10}  formats", "kind", "tier")?;
    for k in ReportKind::ALL {
        let tier = match k.tier() {
            cavra_model::report::Tier::Community => "community",
            cavra_model::report::Tier::Enterprise => "enterprise",
        };
        writeln!(out, "{:<22}  {:<10}  {}", k.as_str(), tier, formats.join(", "))?;
    }
    writeln!(
        out,
        "{} kinds x {} formats = {} artifacts",
        ReportKind::ALL.len(),
        Format::ALL.len(),
        ReportKind::ALL.len() * Format::ALL.len()
    )?;
    Ok(())
}
