#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Snapshot parse, posture analytics and every report kind in the three
//! portal formats (Markdown, CSV, JSON), for a 12-agent/400-decision and a
//! 1,000-agent/200,000-decision generated snapshot. Per-format figures are
//! in `benches/formats.rs`.
//!
//! ```text
//! cargo bench --bench render
//! ```

use std::hint::black_box;
use std::time::Duration;

use cavra_reports::model::{build_report, LoadOptions, Posture, ReportKind, ReportOptions, Snapshot};
use cavra_reports::render::{render_gated, Format, Gated};
use cavra_reports::synth::{generate, SynthConfig};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn sizes() -> [(&'static str, usize, usize); 2] {
    [("12x400", 12, 400), ("1000x200000", 1_000, 200_000)]
}

fn bench(c: &mut Criterion) {
    for (label, agents, decisions) in sizes() {
        let raw = generate(&SynthConfig { agents, decisions, seed: 1, ..SynthConfig::default() });
        let text = serde_json::to_string(&raw).expect("serialise");
        let snapshot = Snapshot::from_json_str(&text, &LoadOptions::default()).expect("valid");
        let posture = Posture::compute(&snapshot);

        let mut group = c.benchmark_group(format!("pipeline/{label}"));
        if decisions > 10_000 {
            group.sample_size(10).measurement_time(Duration::from_secs(20));
        }
        group.throughput(Throughput::Elements(decisions as u64));
        group.bench_function("parse_and_gate", |b| {
            b.iter(|| Snapshot::from_json_str(black_box(&text), &LoadOptions::default()).expect("valid"))
        });
        group.bench_function("analytics", |b| b.iter(|| Posture::compute(black_box(&snapshot))));
        for kind in ReportKind::ALL {
            group.bench_with_input(BenchmarkId::new("report_md_csv_json", kind.as_str()), kind, |b, kind| {
                // As the CLI does it: build, gate the model once, render and gate each format.
                b.iter(|| {
                    let report = build_report(*kind, &snapshot, &posture, &ReportOptions::default());
                    let gated = Gated::check(&report).expect("public-safe");
                    for format in [Format::Markdown, Format::Csv, Format::Json] {
                        black_box(render_gated(gated, format).expect("renders"));
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
