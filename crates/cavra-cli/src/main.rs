//! `cavra-reports`: render AI-agent security-posture reports from an
//! activity snapshot.
//!
//! Exit codes: 0 success; 1 I/O or internal failure; 2 usage error;
//! 3 invalid input (parse or validation); 4 rejected by the safety gate;
//! 5 a package or audit log failed verification (or an audit log that does
//! not verify was to be appended to); 6 some items of a batch failed (the
//! others succeeded).

mod alerts_cmd;
mod audit_cmd;
mod batch;
mod commands;
mod deliver;
mod evidence;
mod init;
mod ops_cmd;
mod records;
mod response_cmd;
mod room_cmd;
mod run_loop;
mod selfcheck;
mod write;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Render AI-agent security-posture reports from an activity snapshot.
#[derive(Debug, Parser)]
#[command(name = "cavra-reports", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render reports for a snapshot into a folder (all or nothing).
    Render(RenderArgs),
    /// Render the agent-activity digest of a decisions file too large for
    /// memory: two passes over the JSON Lines file (in time order), rows
    /// streamed into JSON Lines, CSV and XLSX (all or nothing).
    Digest(DigestArgs),
    /// Build signed packages (board pack, GRC upload, SIEM bundle, evidence room, incident packet).
    Package(PackageArgs),
    /// Render (and package) many tenants' snapshots from a folder or a list, on every core, one shard per machine.
    Batch(batch::BatchArgs),
    /// Verify a package: signature, every digest, completeness, BagIt manifests.
    Verify(VerifyArgs),
    /// Write a validated cavra.toml (a wizard on a terminal, flags for scripts).
    Init(init::InitArgs),
    /// Queue and send packages under the recipient policy.
    #[command(subcommand)]
    Deliver(deliver::DeliverCommand),
    /// Approve pending external sends.
    #[command(subcommand)]
    Approvals(deliver::ApprovalsCommand),
    /// Ingest bounce reports.
    #[command(subcommand)]
    Bounces(deliver::BouncesCommand),
    /// List, preview and fire schedules.
    #[command(subcommand)]
    Schedule(deliver::ScheduleCommand),
    /// Verify, keep the head of, or close the audit log.
    #[command(subcommand)]
    Audit(deliver::AuditCommand),
    /// Accept a changed setup file (policy, roles, principals, schedules) for an outbox.
    #[command(subcommand)]
    Policy(deliver::PolicyCommand),
    /// The record store: migrate its schema, register, search, retrieve, report.
    #[command(subcommand)]
    Store(records::StoreCommand),
    /// Retention: plan, apply, approvals, legal holds, the lifecycle report.
    #[command(subcommand)]
    Retention(records::RetentionCommand),
    /// Evidence rooms: create, invite, revoke, close, list, serve, export access events.
    #[command(subcommand)]
    Room(room_cmd::RoomCommand),
    /// The report center's report on itself: the operations snapshot and the operations reports.
    #[command(subcommand)]
    Ops(ops_cmd::OpsCommand),
    /// Alerts over the report center's records: evaluate the rules, acknowledge, suppress, resolve.
    #[command(subcommand)]
    Alerts(alerts_cmd::AlertsCommand),
    /// Remediation plans for alerts: plan, complete tasks, close with a final approval.
    #[command(subcommand)]
    Remediation(response_cmd::RemediationCommand),
    /// Close incidents with their closure approval.
    #[command(subcommand)]
    Incident(response_cmd::IncidentCommand),
    /// Exception lifecycle events: renew, revoke, expire, close.
    #[command(subcommand)]
    Exception(response_cmd::ExceptionCommand),
    /// Run every path an operator must trust against loopback stand-ins and write the validation
    /// packet and one readiness packet per area; exit 7 when a path fails.
    Selfcheck(selfcheck::SelfcheckArgs),
    /// Parse a snapshot and run the safety gate without rendering.
    Validate(InputArgs),
    /// List report kinds and formats.
    Catalog(evidence::ActionAudit),
}

#[derive(Debug, Args)]
struct InputArgs {
    /// The activity snapshot (JSON).
    #[arg(long, value_name = "SNAPSHOT", required_unless_present = "sample", conflicts_with = "sample")]
    input: Option<PathBuf>,
    /// Decisions as JSON Lines, when the snapshot does not carry them inline.
    #[arg(long, value_name = "FILE.jsonl", requires = "input")]
    decisions: Option<PathBuf>,
    /// Use the bundled sample snapshot.
    #[arg(long)]
    sample: bool,
    /// Redact sensitive input values with a visible marker instead of failing.
    #[arg(long)]
    redact: bool,
}

#[derive(Debug, Args)]
struct RenderArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output folder; created if missing. Nothing is written unless every artifact renders.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Report kinds (comma-separated; default: all).
    #[arg(long, value_delimiter = ',', value_name = "KIND")]
    kinds: Vec<cavra_model::ReportKind>,
    /// Formats (comma-separated; default: all, with signed-json only when a key is available).
    #[arg(long, value_delimiter = ',', value_name = "FORMAT")]
    formats: Vec<cavra_render::Format>,
    #[command(flatten)]
    signing: SigningArgs,
    /// Presentation setup file (TOML): organisation, colour, logo, legal footer, time zone, paper.
    #[arg(long, value_name = "FILE.toml")]
    theme: Option<PathBuf>,
    /// Paper of the PDF, DOCX, HTML (print) and XLSX (print) documents, over the setup file's: a4 or letter.
    #[arg(long, value_name = "PAPER")]
    paper: Option<cavra_model::theme::Paper>,
    /// Tables too wide for upright pages: `landscape` (turn their pages, the default) or `upright` (share the upright width).
    #[arg(long, value_name = "HOW")]
    wide_tables: Option<cavra_render::options::WideTables>,
    /// Threads rendering kinds × formats at once (default: the available cores); the output is the same for any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    jobs: Option<u16>,
    /// Register what is written in the record store (its retention classes come from --config when given).
    #[command(flatten)]
    store: records::StoreLocation,
    #[command(flatten)]
    audit: evidence::ActionAudit,
}

/// The signing key (signed JSON, package manifests).
#[derive(Debug, Args)]
struct SigningArgs {
    /// minisign secret key, by reference: `file:PATH` or `env:NAME` (signs signed JSON and package manifests).
    #[arg(long, value_name = "REF")]
    signing_key: Option<String>,
    /// Password of an encrypted signing key, by reference: `env:NAME` or `file:PATH`.
    #[arg(long, value_name = "REF", requires = "signing_key")]
    signing_key_password: Option<String>,
}

#[derive(Debug, Args)]
struct PackageArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output folder; created if missing. Nothing is written unless every package builds.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Package types (comma-separated; default: all).
    #[arg(long = "types", value_delimiter = ',', value_name = "TYPE")]
    types: Vec<cavra_package::PackageType>,
    /// Retention class (operational_record, governance_record, audit_record, legal_hold); default per type.
    #[arg(long, value_name = "CLASS")]
    retention: Option<cavra_package::RetentionClass>,
    /// A delivery target (recipient group or channel name) to list in the manifests; repeatable.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// Evidence-room audience, shown in its watermark and bag-info.txt.
    #[arg(long, value_name = "TEXT", default_value = "external auditor")]
    audience: String,
    /// Evidence-room reference (default: derived from the package id).
    #[arg(long, value_name = "REF")]
    reference: Option<String>,
    /// Days an evidence room is kept after the snapshot's as_of (its expiry date).
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    room_retention_days: u32,
    #[command(flatten)]
    signing: SigningArgs,
    /// Presentation setup file (TOML) for the reports inside.
    #[arg(long, value_name = "FILE.toml")]
    theme: Option<PathBuf>,
    /// Register the packages (and the files inside them) in the record store.
    #[command(flatten)]
    store: records::StoreLocation,
    /// Classification the stored packages get: public, internal or confidential.
    #[arg(long, default_value = "confidential", requires = "url")]
    store_classification: String,
    #[command(flatten)]
    audit: evidence::ActionAudit,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The package (zip).
    package: PathBuf,
    /// The signer's minisign public key file.
    #[arg(long, value_name = "KEY.pub")]
    pubkey: PathBuf,
    /// Record the verification (the package's digest and its outcome) in this signed audit log.
    #[command(flatten)]
    audit: evidence::AuditArgs,
}

#[derive(Debug, Args)]
struct DigestArgs {
    /// The activity snapshot (JSON, without inline decisions).
    #[arg(long, value_name = "SNAPSHOT")]
    input: PathBuf,
    /// Decisions as JSON Lines, sorted by timestamp then decision id.
    #[arg(long, value_name = "FILE.jsonl")]
    decisions: PathBuf,
    /// Output folder; created if missing. Nothing is written unless every artifact renders.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Formats (comma-separated; default: jsonl, csv, xlsx, md, html, docx, pdf).
    #[arg(long, value_delimiter = ',', value_name = "FORMAT")]
    formats: Vec<cavra_render::Format>,
    /// Redact sensitive input values with a visible marker instead of failing.
    #[arg(long)]
    redact: bool,
    /// Presentation setup file (TOML): organisation, colour, logo, legal footer, time zone, paper.
    #[arg(long, value_name = "FILE.toml")]
    theme: Option<PathBuf>,
    /// Register what is written in the record store.
    #[command(flatten)]
    store: records::StoreLocation,
    #[command(flatten)]
    audit: evidence::ActionAudit,
}

/// Set once standard output is closed by its reader (`| head -1`): the
/// command finishes its work and prints nothing more.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes one line to standard output; a closed stdout is not an error
/// (unlike `println!`, which panics on it).
pub fn say_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if out.write_fmt(args).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// `println!` that survives a closed standard output.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::say_line(format_args!($($arg)*)) };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Render(args) => commands::render(&args),
        Command::Digest(args) => commands::digest(&args),
        Command::Package(args) => commands::package(&args),
        Command::Verify(args) => commands::verify(&args),
        Command::Batch(args) => batch::batch(&args),
        Command::Init(args) => init::init(&args),
        Command::Deliver(cmd) => deliver::deliver(&cmd),
        Command::Approvals(cmd) => deliver::approvals(&cmd),
        Command::Schedule(cmd) => deliver::schedule(&cmd),
        Command::Bounces(cmd) => deliver::bounces(&cmd),
        Command::Audit(cmd) => audit_cmd::audit(&cmd),
        Command::Policy(cmd) => deliver::policy(&cmd),
        Command::Store(cmd) => records::store(&cmd),
        Command::Retention(cmd) => records::retention(&cmd),
        Command::Room(cmd) => room_cmd::room(&cmd),
        Command::Ops(cmd) => ops_cmd::ops(&cmd),
        Command::Alerts(cmd) => alerts_cmd::alerts(&cmd),
        Command::Remediation(cmd) => response_cmd::remediation(&cmd),
        Command::Incident(cmd) => response_cmd::incident(&cmd),
        Command::Exception(cmd) => response_cmd::exception(&cmd),
        Command::Selfcheck(args) => selfcheck::selfcheck(&args),
        Command::Validate(args) => commands::validate(&args),
        Command::Catalog(audit) => commands::catalog(&audit),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(commands::exit_code(&err))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
