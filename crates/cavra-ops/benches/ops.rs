//! The operations reports at scale: parsing and validating a generated
//! operations snapshot of 100,000 jobs and 20,000 access events, building
//! each operations kind, and rendering the KPI report and the access log in
//! the heavier formats. Figures in `docs/performance.md`.

use cavra_model::report::OpsKind;
use cavra_ops::synth::{generate, SynthConfig};
use cavra_ops::OpsSnapshot;
use criterion::{criterion_group, criterion_main, Criterion};

fn big() -> String {
    let cfg = SynthConfig {
        jobs: 100_000,
        approvals: 5_000,
        rooms: 20,
        access_events: 20_000,
        reports: 10_000,
        ..Default::default()
    };
    generate(&cfg).to_json()
}

fn bench(c: &mut Criterion) {
    let text = big();
    let mut g = c.benchmark_group("ops");
    g.sample_size(10);
    g.bench_function("parse and validate 100k jobs, 20k access events", |b| {
        b.iter(|| OpsSnapshot::from_json_str(&text).unwrap())
    });
    let snapshot = OpsSnapshot::from_json_str(&text).unwrap();
    g.bench_function("digest of the canonical form", |b| b.iter(|| snapshot.digest()));
    g.bench_function("build all three kinds (one digest)", |b| {
        b.iter(|| cavra_ops::build_ops_reports(OpsKind::ALL, &snapshot, &Default::default(), &Default::default()))
    });
    for kind in OpsKind::ALL {
        g.bench_function(format!("build {kind}"), |b| {
            b.iter(|| cavra_ops::build_ops_report(*kind, &snapshot, &Default::default(), &Default::default()))
        });
    }
    let kpis =
        cavra_ops::build_ops_report(OpsKind::ReportCenterKpis, &snapshot, &Default::default(), &Default::default());
    let access =
        cavra_ops::build_ops_report(OpsKind::EvidenceRoomAccess, &snapshot, &Default::default(), &Default::default());
    for format in [cavra_render::Format::Pdf, cavra_render::Format::Xlsx] {
        g.bench_function(format!("render report-center-kpis as {format}"), |b| {
            b.iter(|| cavra_render::render(&kpis, format).unwrap())
        });
        g.bench_function(format!("render evidence-room-access (20k events) as {format}"), |b| {
            b.iter(|| cavra_render::render(&access, format).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
