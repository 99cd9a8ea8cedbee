//! Batch generation: a folder of tenants' snapshots rendered on every core,
//! one tenant's bad input never stopping the others, a JSON summary.
//!
//! ```sh
//! cargo run --release --example batch -- 20      # 20 generated tenants
//! ```

use cavra_reports::batch::{discover, run, BatchOptions, Shard, Source, TenantStatus};
use cavra_reports::synth::{generate, SynthConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let input = tempfile::tempdir()?;
    for seed in 0..count {
        let raw = generate(&SynthConfig { agents: 12, decisions: 400, seed, ..SynthConfig::default() });
        std::fs::write(input.path().join(format!("tenant-{seed:03}.json")), serde_json::to_string(&raw)?)?;
    }
    // one broken snapshot: reported, the others still rendered
    std::fs::write(input.path().join("tenant-broken.json"), "{ not json")?;

    let tenants = discover(&Source::Folder(input.path().to_path_buf()), Shard::ALL)?;
    let out = tempfile::tempdir()?;
    let options = BatchOptions { jobs: 0, ..BatchOptions::default() }; // 0: every core
    let summary = run(&tenants, out.path(), &options, &|r| {
        let state = match r.status {
            TenantStatus::Succeeded => format!("{} files", r.files.len()),
            TenantStatus::Failed => format!("failed: {}", r.error.as_deref().unwrap_or_default()),
        };
        eprintln!("{}: {state}", r.tenant);
    });
    println!("{} tenants: {} succeeded, {} failed", summary.tenants, summary.succeeded, summary.failed);
    assert_eq!(summary.failed, 1);
    Ok(())
}
