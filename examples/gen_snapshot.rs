//! Writes a deterministic synthetic activity snapshot to standard output.
//!
//! ```text
//! cargo run --example gen_snapshot -- --agents 12 --decisions 400 --seed 7 > snapshot.json
//! cargo run --example gen_snapshot -- --agents 1000 --decisions 200000 --seed 1 \
//!     --decisions-jsonl decisions.jsonl > snapshot.json
//! ```
//!
//! With `--decisions-jsonl FILE` the decisions go to FILE as JSON Lines and
//! the snapshot carries none inline. `--report-order` sorts the decisions by
//! timestamp then id, the order `cavra-reports digest` streams.

use std::io::Write;
use std::process::ExitCode;

use cavra_reports::synth::{generate, SynthConfig};

fn parse_args() -> Result<(SynthConfig, Option<String>, bool), String> {
    let mut cfg = SynthConfig::default();
    let mut jsonl = None;
    let mut sorted = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--agents" => cfg.agents = value()?.parse().map_err(|e| format!("--agents: {e}"))?,
            "--decisions" => cfg.decisions = value()?.parse().map_err(|e| format!("--decisions: {e}"))?,
            "--seed" => cfg.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--window-days" => cfg.window_days = value()?.parse().map_err(|e| format!("--window-days: {e}"))?,
            "--not-sample" => cfg.sample = false,
            "--decisions-jsonl" => jsonl = Some(value()?),
            "--report-order" => sorted = true,
            "--help" | "-h" => {
                return Err("usage: gen_snapshot [--agents N] [--decisions M] [--seed S] [--window-days D] [--not-sample] [--decisions-jsonl FILE] [--report-order]".into())
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok((cfg, jsonl, sorted))
}

fn run() -> Result<(), String> {
    let (cfg, jsonl, sorted) = parse_args()?;
    let mut raw = generate(&cfg);
    if sorted {
        if let Some(d) = raw.decisions.as_mut() {
            d.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.decision_id.cmp(&b.decision_id)));
        }
    }
    if let Some(path) = jsonl {
        let decisions = raw.decisions.take().unwrap_or_default();
        let file = std::fs::File::create(&path).map_err(|e| format!("{path}: {e}"))?;
        let mut w = std::io::BufWriter::new(file);
        for d in &decisions {
            serde_json::to_writer(&mut w, d).map_err(|e| e.to_string())?;
            w.write_all(b"\n").map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| format!("{path}: {e}"))?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    serde_json::to_writer_pretty(&mut out, &raw).map_err(|e| e.to_string())?;
    out.write_all(b"\n").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_snapshot: {e}");
            ExitCode::FAILURE
        }
    }
}
