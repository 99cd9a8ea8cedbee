//! Writes a realistic operations snapshot (`cavra.ops_snapshot.v1`) of any
//! size to stdout, deterministic for its seed:
//!
//! ```text
//! cargo run -p cavra-ops --example ops_snapshot -- --jobs 100000 --access-events 20000 --seed 3 > ops.json
//! cavra-reports ops render --snapshot ops.json --out ops-reports
//! ```

use std::io::Write;

fn main() {
    let mut cfg = cavra_ops::synth::SynthConfig::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok());
        let Some(v) = value else {
            eprintln!("usage: ops_snapshot [--seed N] [--jobs N] [--approvals N] [--rooms N] [--access-events N] [--reports N] [--alerts N] [--exceptions N]");
            std::process::exit(2);
        };
        let n = usize::try_from(v).unwrap_or(usize::MAX);
        match pair[0].as_str() {
            "--seed" => cfg.seed = v,
            "--jobs" => cfg.jobs = n,
            "--approvals" => cfg.approvals = n,
            "--rooms" => cfg.rooms = n,
            "--access-events" => cfg.access_events = n,
            "--reports" => cfg.reports = n,
            "--alerts" => cfg.alerts = n,
            "--exceptions" => cfg.exceptions = n,
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    let snapshot = cavra_ops::synth::generate(&cfg);
    let mut out = std::io::stdout().lock();
    if out.write_all(snapshot.to_json().as_bytes()).is_err() {
        std::process::exit(1);
    }
}
