//! Library use end to end: load the sample snapshot, compute posture, build
//! every report kind and write each format into a folder.
//!
//! ```text
//! cargo run --example render_sample -- /tmp/cavra-sample
//! ```

use std::path::PathBuf;

use cavra_reports::model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
use cavra_reports::render::{render, Format};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "cavra-sample".into()));
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sample_snapshot.json");
    let snapshot = Snapshot::load(&sample, None, &LoadOptions::default())?;
    let posture = Posture::compute(&snapshot);
    println!(
        "{}: posture {}/100 (normalised {}/100), {} findings",
        snapshot.tenant.display_name,
        posture.overview.posture_score,
        posture.overview.normalised_score,
        posture.overview.risk_findings
    );
    std::fs::create_dir_all(&out)?;
    for kind in ReportKind::ALL {
        let report = build_report(*kind, &snapshot, &posture, &ReportOptions::default());
        for format in Format::ALL {
            let artifact = render(&report, *format)?;
            std::fs::write(out.join(&artifact.name), &artifact.bytes)?;
            println!("{:<28} {:>8} bytes  {}", artifact.name, artifact.bytes.len(), artifact.sha256);
        }
    }
    Ok(())
}
