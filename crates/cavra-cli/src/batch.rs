//! `batch`: many tenants' reports (and packages) in one run, on every core,
//! a deterministic shard of them per machine.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use cavra_batch::{discover, run, BatchOptions, Shard, Source, TenantResult, TenantStatus};
use clap::Args;

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// A folder of snapshots: every `*.json` is a tenant (its id the file stem), with `<id>.decisions.jsonl` beside it if any.
    #[arg(long, value_name = "DIR", required_unless_present = "list", conflicts_with = "list")]
    input_dir: Option<PathBuf>,
    /// A list file: one `SNAPSHOT[,DECISIONS.jsonl]` per line (paths relative to the list).
    #[arg(long, value_name = "FILE")]
    list: Option<PathBuf>,
    /// Output folder: one folder per tenant, and `batch-summary.json`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Report kinds (comma-separated; default: all).
    #[arg(long, value_delimiter = ',', value_name = "KIND")]
    kinds: Vec<cavra_model::ReportKind>,
    /// Formats (comma-separated; default: all, with signed-json only when a key is given).
    #[arg(long, value_delimiter = ',', value_name = "FORMAT")]
    formats: Vec<cavra_render::Format>,
    /// Package types to build for every tenant too (comma-separated).
    #[arg(long = "package", value_delimiter = ',', value_name = "TYPE")]
    packages: Vec<cavra_package::PackageType>,
    #[command(flatten)]
    signing: crate::SigningArgs,
    /// Presentation setup file (TOML).
    #[arg(long, value_name = "FILE.toml")]
    theme: Option<PathBuf>,
    /// Redact sensitive input values instead of failing the tenant.
    #[arg(long)]
    redact: bool,
    /// Worker threads (default: the available cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Do shard I of N (1-based): a tenant's shard depends on its id only, so N machines share the work with no coordination.
    #[arg(long, value_name = "I/N", default_value = "1/1", value_parser = parse_shard)]
    shard: Shard,
    /// Where to write the JSON summary (default: OUT/batch-summary.json).
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Register every tenant's files in the record store.
    #[command(flatten)]
    store: crate::records::StoreLocation,
    /// The setup file whose retention classes (and `[store]`) apply to what is stored.
    #[arg(long, value_name = "cavra.toml")]
    config: Option<PathBuf>,
    /// Classification the stored packages get: public, internal or confidential.
    #[arg(long, default_value = "confidential")]
    store_classification: String,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text).map_err(|e| e.to_string())
}

/// One line per tenant, or a progress bar on a terminal.
fn reporter(total: usize) -> impl Fn(&TenantResult) + Sync {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tenants  {elapsed_precise}  {msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    move |r: &TenantResult| {
        let line = match r.status {
            TenantStatus::Succeeded => format!("{}: {} file(s)", r.tenant, r.files.len()),
            TenantStatus::Failed => format!("{}: FAILED ({})", r.tenant, r.failure.unwrap_or("error")),
        };
        match &bar {
            Some(b) => {
                b.set_message(line);
                b.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }
}

pub fn batch(args: &BatchArgs) -> Result<()> {
    let source = match (&args.input_dir, &args.list) {
        (Some(d), _) => Source::Folder(d.clone()),
        (None, Some(l)) => Source::List(l.clone()),
        (None, None) => anyhow::bail!("give --input-dir or --list"),
    };
    let tenants = discover(&source, args.shard)?;
    let signing = crate::commands::signing_key(&args.signing)?;
    let report = crate::commands::options(args.theme.as_deref())?;
    let options = BatchOptions {
        kinds: args.kinds.clone(),
        formats: args.formats.clone(),
        packages: args.packages.clone(),
        signing,
        report,
        redact: args.redact,
        jobs: args.jobs.map_or(0, usize::from),
        shard: args.shard,
    };
    let public_key = options.signing.as_ref().map(|k| k.public_key_file());
    let summary = run(&tenants, &args.out, &options, &reporter(tenants.len()));
    if args.store.url.is_some() {
        let stored = crate::records::register_batch(
            &args.store,
            args.config.as_deref(),
            &args.out,
            &summary.results,
            public_key.as_deref(),
            &args.store_classification,
        )?;
        crate::say!("stored {stored} item(s)");
    }
    let path = args.summary.clone().unwrap_or_else(|| args.out.join("batch-summary.json"));
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?;
    std::fs::write(&path, summary.to_json()).with_context(|| format!("{}: cannot write", path.display()))?;
    crate::say!(
        "shard {}: {} tenant(s), {} succeeded, {} failed; summary {}",
        summary.shard,
        summary.tenants,
        summary.succeeded,
        summary.failed,
        path.display()
    );
    if summary.failed > 0 {
        let why = format!("{} of {} tenant(s) failed; see the summary", summary.failed, summary.tenants);
        return Err(crate::commands::Outcome::SomeFailed(why).into());
    }
    Ok(())
}
