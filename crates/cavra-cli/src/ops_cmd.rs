//! `ops …`: the report center's report on itself — the operations
//! snapshot from its records, and the operations reports rendered from it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cavra_deliver::config::Config;
use cavra_model::report::OpsKind;
use cavra_model::Timestamp;
use cavra_ops::collect::{Sources, Window};
use cavra_ops::OpsSnapshot;
use clap::{Args, Subcommand};

use crate::records::StoreLocation;

#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// Assemble the operations snapshot (cavra.ops_snapshot.v1) of a window from the outbox, the
    /// record store and the verified audit log; nothing in them is changed.
    Snapshot(SnapshotArgs),
    /// Render the operations reports from a snapshot (or the bundled sample) into a folder, all or nothing.
    Render(OpsRenderArgs),
    /// Distribute the remediation executive digest: seal it in a signed package, verify it as any
    /// send is verified, queue it under the recipient policy and approval gate, and write its
    /// distribution record (cavra.digest_distribution.v1).
    Distribute(DistributeArgs),
}

#[derive(Debug, Args)]
pub struct DistributeArgs {
    /// The operations snapshot (JSON).
    #[arg(long, value_name = "SNAPSHOT", required_unless_present = "sample", conflicts_with = "sample")]
    snapshot: Option<PathBuf>,
    /// Use a generated sample snapshot.
    #[arg(long)]
    sample: bool,
    /// Recipients: addresses or `group:NAME` (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    to: Vec<String>,
    /// The package signer's key (its public half must be `[packages] signing_public_key`).
    #[command(flatten)]
    signing: crate::SigningArgs,
    /// Folder for the package and the distribution record.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The message's subject.
    #[arg(long, default_value = "Remediation executive digest")]
    subject: String,
    /// The setup file.
    #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
    config: PathBuf,
    /// The delivery outbox (the setup file must be accepted for it).
    #[arg(long, value_name = "FILE.db|URL", default_value = "outbox.db")]
    outbox: String,
    #[command(flatten)]
    audit: crate::evidence::AuditArgs,
    #[command(flatten)]
    principal: crate::evidence::AsPrincipal,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The setup file (organisation, delivery mode, recipient policy, `[store]`).
    #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
    config: PathBuf,
    /// The delivery outbox: an SQLite file or a store URL.
    #[arg(long, value_name = "FILE.db|URL")]
    outbox: Option<String>,
    #[command(flatten)]
    store: StoreLocation,
    /// The signed audit log (verified whole; only then are its events used).
    #[arg(long, value_name = "FILE.jsonl", requires = "audit_pubkey")]
    audit_log: Option<PathBuf>,
    /// The audit key's public key file.
    #[arg(long, value_name = "KEY.pub")]
    audit_pubkey: Option<PathBuf>,
    /// Start of the window (RFC 3339); default: the first record.
    #[arg(long, value_name = "TIME", value_parser = Timestamp::parse)]
    from: Option<Timestamp>,
    /// End of the window (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = Timestamp::parse)]
    to: Timestamp,
    /// Write the snapshot here (default: standard output).
    #[arg(long, value_name = "FILE.json")]
    out: Option<PathBuf>,
    /// Sign the snapshot: a detached minisign signature beside it, `FILE.json.minisig`.
    #[arg(long, value_name = "REF", requires = "out")]
    signing_key: Option<String>,
    /// Password of an encrypted signing key, by reference.
    #[arg(long, value_name = "REF", requires = "signing_key")]
    signing_key_password: Option<String>,
}

#[derive(Debug, Args)]
pub struct OpsRenderArgs {
    /// The operations snapshot (JSON).
    #[arg(long, value_name = "SNAPSHOT", required_unless_present = "sample", conflicts_with = "sample")]
    snapshot: Option<PathBuf>,
    /// Use a generated sample snapshot.
    #[arg(long)]
    sample: bool,
    /// Render only a snapshot signed by this key (its `SNAPSHOT.minisig` beside it, checked first).
    #[arg(long, value_name = "KEY.pub", requires = "snapshot")]
    snapshot_pubkey: Option<PathBuf>,
    /// Output folder; created if missing. Nothing is written unless every artifact renders.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Operations report kinds (comma-separated; default: all).
    #[arg(long, value_delimiter = ',', value_name = "KIND")]
    kinds: Vec<OpsKind>,
    /// Formats (comma-separated; default: all, with signed-json only when a key is available).
    #[arg(long, value_delimiter = ',', value_name = "FORMAT")]
    formats: Vec<cavra_render::Format>,
    #[command(flatten)]
    signing: crate::SigningArgs,
    /// Presentation setup file (TOML): organisation, colour, logo, legal footer, time zone, paper.
    #[arg(long, value_name = "FILE.toml")]
    theme: Option<PathBuf>,
    /// Paper of the paged documents: a4 or letter.
    #[arg(long, value_name = "PAPER")]
    paper: Option<cavra_model::theme::Paper>,
}

pub fn ops(cmd: &OpsCommand) -> Result<()> {
    match cmd {
        OpsCommand::Snapshot(args) => snapshot(args),
        OpsCommand::Render(args) => render(args),
        OpsCommand::Distribute(args) => distribute(args),
    }
}

/// Reads and validates an operations snapshot file.
pub(crate) fn load(path: &std::path::Path) -> Result<OpsSnapshot> {
    let text = cavra_model::limits::read_text_bounded(path, cavra_ops::MAX_SNAPSHOT_BYTES)
        .with_context(|| path.display().to_string())?;
    OpsSnapshot::from_json_str(&text).with_context(|| path.display().to_string())
}

fn snapshot(args: &SnapshotArgs) -> Result<()> {
    let config = Config::load(&args.config)?;
    let policy = config.recipient_policy()?;
    // As a worker opens it: never created or migrated, only read.
    let outbox = args.outbox.as_deref().map(|o| crate::deliver::open_outbox(&config, o, true)).transpose()?;
    let mut store = match args.store.url.is_some() || config.store.url.is_some() {
        true => Some(args.store.open(Some(&config))?),
        false => None,
    };
    let audit = match (&args.audit_log, &args.audit_pubkey) {
        (Some(log), Some(key)) => Some((log.as_path(), cavra_render::signed::PublicKey::from_file(key)?)),
        _ => None,
    };
    let sources = Sources {
        organisation: organisation(Some(&config)),
        transport: config.delivery.mode.as_str(),
        policy: &policy,
        outbox: outbox.as_ref(),
        store: store.as_mut(),
        principals: Some(&config),
        audit: audit.as_ref().map(|(p, k)| (*p, k)),
    };
    let s = cavra_ops::collect::assemble(sources, Window { start: args.from, end: args.to })?;
    let text = s.to_json();
    match &args.out {
        Some(path) => {
            if let Some(reference) = &args.signing_key {
                let key = crate::evidence::load_key(reference, args.signing_key_password.as_deref(), "--signing-key")?;
                let sig = cavra_ops::snapshot::sign(&text, &key)?;
                crate::write::atomic_write(&signature_path(path), sig.as_bytes())?;
            }
            crate::write::atomic_write(path, text.as_bytes())?;
        }
        None => crate::say!("{}", text.trim_end()),
    }
    Ok(())
}

/// Where a snapshot's detached signature is kept: `FILE.json.minisig`.
fn signature_path(snapshot: &std::path::Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// Reads a snapshot file and checks it against its signature and the
/// signer's key; its text, once it verifies.
fn verify_signed(path: &std::path::Path, key: &std::path::Path) -> Result<String> {
    let text = cavra_model::limits::read_text_bounded(path, cavra_ops::MAX_SNAPSHOT_BYTES)
        .with_context(|| path.display().to_string())?;
    let sig_path = signature_path(path);
    let sig = cavra_model::limits::read_text_bounded(&sig_path, cavra_model::limits::KEY_BYTES)
        .with_context(|| format!("{}: the snapshot's signature", sig_path.display()))?;
    let key = cavra_render::signed::PublicKey::from_file(key)?;
    cavra_ops::snapshot::verify(&text, &sig, &key).map_err(|why| {
        anyhow::Error::from(crate::commands::Outcome::NotVerified(format!(
            "{}: {why}; nothing was rendered",
            path.display()
        )))
    })?;
    Ok(text)
}

/// Who runs the report center, as the operations snapshot names it.
pub(crate) fn organisation(config: Option<&Config>) -> cavra_ops::snapshot::Organisation {
    let name = config.and_then(|c| c.organisation.name.clone()).unwrap_or_else(|| "CAVRA Report Center".into());
    cavra_ops::snapshot::Organisation {
        org_ref: format!("org:{}", slug(&name)),
        display_name: name,
        timezone: "UTC".into(),
    }
}

fn slug(name: &str) -> String {
    let s: String = name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-")
}

fn render(args: &OpsRenderArgs) -> Result<()> {
    use crate::commands::{dedup, formats_and_signing, print_summary, stage_reports, throwaway_key};
    let (formats, signing, mut notes) = formats_and_signing(&args.formats, &args.signing, args.sample)?;
    let options = crate::commands::options(args.theme.as_deref())?;
    let snapshot = match (&args.snapshot, &args.snapshot_pubkey) {
        // The bytes checked are the bytes parsed.
        (Some(path), Some(key)) => {
            let text = verify_signed(path, key)?;
            OpsSnapshot::from_json_str(&text).with_context(|| path.display().to_string())?
        }
        (Some(path), None) => load(path)?,
        (None, _) => cavra_ops::synth::generate(&Default::default()),
    };
    let kinds = dedup(&args.kinds, OpsKind::ALL);
    let targets = cavra_ops::metrics::Targets::default();
    let reports = cavra_ops::build_ops_reports(&kinds, &snapshot, &options, &targets);
    let mut staging = crate::write::Staging::new(&args.out)?;
    let pages = crate::commands::page_options(args.paper, None);
    let (mut artifacts, _) = stage_reports(&reports, &formats, signing.as_ref(), &pages, &mut staging, 0)?;
    throwaway_key(signing.as_ref(), &formats, &mut staging, &mut artifacts, &mut notes)?;
    staging.commit()?;
    print_summary(&artifacts, &args.out, &notes);
    Ok(())
}

/// The package's file name.
const DIGEST_PACKAGE: &str = "remediation_executive_digest.zip";

fn distribute(args: &DistributeArgs) -> Result<()> {
    let config = Config::load(&args.config)?;
    let mut outbox = crate::deliver::accepted_outbox(&config, &args.config, &args.outbox)?;
    let signer = args.principal.signer(&config)?;
    let key = crate::commands::signing_key(&args.signing)?
        .ok_or_else(|| anyhow::anyhow!("give --signing-key: the digest goes out only in a signed package"))?;
    let snapshot = match &args.snapshot {
        Some(path) => load(path)?,
        None => cavra_ops::synth::generate(&Default::default()),
    };
    let options = crate::commands::options(None)?;
    let targets = cavra_ops::metrics::Targets::default();
    let (report_id, package) = cavra_ops::distribution::digest_package(&snapshot, &options, &targets, &key)?;
    std::fs::create_dir_all(&args.out).with_context(|| args.out.display().to_string())?;
    let path = args.out.join(DIGEST_PACKAGE);
    crate::write::atomic_write(&path, &package.bytes)?;
    // The tool never sends what it cannot verify: the package is checked as `deliver send` checks it.
    let digest = match cavra_deliver::authorise::verify_intake(&config, &path) {
        Ok(d) => d,
        Err(problem) => {
            let _ = std::fs::remove_file(&path);
            return Err(cavra_deliver::send::Refused { problems: vec![problem] }.into());
        }
    };
    let request = cavra_deliver::send::SendRequest {
        recipients: args.to.clone(),
        attachment: std::fs::canonicalize(&path).unwrap_or(path.clone()),
        subject: args.subject.clone(),
    };
    let (t, at) = crate::deliver::now();
    let planned = cavra_deliver::send::plan(&config, &signer, &request, &digest, t).inspect_err(|_| {
        let _ = std::fs::remove_file(&path);
    })?;
    let mut log = args.audit.open()?;
    let seq = crate::deliver::queue(&config, &mut outbox, &mut log, &signer, &planned, &at).inspect_err(|_| {
        let _ = std::fs::remove_file(&path);
    })?;
    let record =
        cavra_ops::distribution::DistributionRecord::of((&report_id, &package, &digest), &planned, &config, seq);
    let text = record.to_json();
    crate::write::gate_document(&text, "distribution record")?;
    crate::write::atomic_write(&args.out.join("digest_distribution.json"), text.as_bytes())?;
    crate::say!("wrote {} and digest_distribution.json to {}", DIGEST_PACKAGE, args.out.display());
    Ok(())
}
