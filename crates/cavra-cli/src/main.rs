//! `cavra-reports`: render AI-agent security-posture reports from an
//! activity snapshot.
//!
//! Exit codes: 0 success; 1 I/O or internal failure; 2 usage error;
//! 3 invalid input (parse or validation); 4 rejected by the safety gate.

mod commands;
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
    /// Parse a snapshot and run the safety gate without rendering.
    Validate(InputArgs),
    /// List report kinds and formats.
    Catalog,
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
    /// minisign secret key for signed JSON, by reference: `file:PATH` or `env:NAME`.
    #[arg(long, value_name = "REF")]
    signing_key: Option<String>,
    /// Password of an encrypted signing key, by reference: `env:NAME` or `file:PATH`.
    #[arg(long, value_name = "REF", requires = "signing_key")]
    signing_key_password: Option<String>,
    /// Presentation setup file (TOML): organisation, colour, logo, legal footer, time zone, paper.
    #[arg(long, value_name = "FILE.toml")]
    theme: Option<PathBuf>,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Render(args) => commands::render(&args),
        Command::Digest(args) => commands::digest(&args),
        Command::Validate(args) => commands::validate(&args),
        Command::Catalog => commands::catalog(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(commands::exit_code(&err))
        }
    }
}
