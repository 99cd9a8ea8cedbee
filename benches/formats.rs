#![allow(missing_docs)] // criterion_group! generates undocumented items
//! One benchmark per output format: every report kind rendered in that
//! format (model gate, backend, final-bytes gate, as the CLI does it), on the
//! bundled sample (12 agents, 400 decisions) and on a generated 1,000-agent
//! snapshot with 20,000 decisions.
//!
//! ```text
//! cargo bench --bench formats
//! ```

use std::hint::black_box;
use std::time::Duration;

use cavra_reports::model::{build_report, LoadOptions, Posture, Report, ReportKind, ReportOptions, Snapshot};
use cavra_reports::render::{render_gated, Format, Gated};
use cavra_reports::synth::{generate, SynthConfig};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SAMPLE: &str = include_str!("../examples/sample_snapshot.json");

fn reports(snapshot: &Snapshot) -> Vec<Report> {
    let posture = Posture::compute(snapshot);
    ReportKind::ALL.iter().map(|k| build_report(*k, snapshot, &posture, &ReportOptions::default())).collect()
}

fn bench(c: &mut Criterion) {
    let sample = Snapshot::from_json_str(SAMPLE, &LoadOptions::default()).expect("valid sample");
    let raw = generate(&SynthConfig { agents: 1_000, decisions: 20_000, seed: 1, ..SynthConfig::default() });
    let large = Snapshot::from_raw(raw, None, &LoadOptions::default()).expect("valid");
    for (label, snapshot) in [("sample", &sample), ("1000x20000", &large)] {
        let reports = reports(snapshot);
        let mut group = c.benchmark_group(format!("format/{label}"));
        if label != "sample" {
            group.sample_size(10).measurement_time(Duration::from_secs(15));
        }
        group.throughput(Throughput::Elements(reports.len() as u64));
        for format in Format::ALL {
            group.bench_with_input(BenchmarkId::from_parameter(format.name()), format, |b, format| {
                b.iter(|| {
                    for report in &reports {
                        let gated = Gated::check(report).expect("public-safe");
                        black_box(render_gated(gated, *format).expect("renders"));
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
