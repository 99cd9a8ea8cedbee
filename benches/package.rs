#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Packaging and verifying a 1 GiB payload: eight 128 MiB JSON Lines files
//! (deterministic synthetic rows), sealed into a signed package (digests,
//! manifest, signature, deflate) and verified again.
//!
//! The payload is also written to `target/bench-payload/` so the same bytes
//! can be timed with `sha256sum`:
//!
//! ```text
//! cargo bench --bench package
//! time sha256sum target/bench-payload/*.jsonl
//! ```

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use cavra_reports::package::archive::Entry;
use cavra_reports::package::verify::{verify_package, Limits};
use cavra_reports::package::{seal, Header, ManifestArtifact, PackageType, RetentionClass};
use cavra_reports::render::signed::SigningKey;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const FILES: usize = 8;
const FILE_BYTES: usize = 128 * 1024 * 1024;

/// Deterministic JSON Lines rows, like a SIEM export.
fn payload_file(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(FILE_BYTES + 512);
    let mut i: u64 = 0;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ n as u64;
    while out.len() < FILE_BYTES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        writeln!(
            out,
            r#"{{"_record":"row","_dataset":"decisions","timestamp":"2026-10-{:02}T{:02}:{:02}:{:02}Z","decision_id":"dec-{n}-{i:09}","agent_id":"agent-{:05}","rule_id":"rule.{:03}","decision":"{}","severity":"{}","near_miss":"no"}}"#,
            1 + x % 28,
            x % 24,
            (x >> 8) % 60,
            (x >> 16) % 60,
            (x >> 24) % 1000,
            (x >> 34) % 120,
            ["allow", "block", "warn", "require_approval"][(x >> 44) as usize % 4],
            ["low", "medium", "high", "critical"][(x >> 50) as usize % 4],
        )
        .expect("write to memory");
        i += 1;
    }
    out.truncate(FILE_BYTES);
    out
}

fn bench(c: &mut Criterion) {
    let files: Vec<Vec<u8>> = (0..FILES).map(payload_file).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-payload");
    std::fs::create_dir_all(&dir).expect("payload folder");
    for (i, f) in files.iter().enumerate() {
        std::fs::write(dir.join(format!("part-{i}.jsonl")), f).expect("payload file");
    }
    let key = SigningKey::generate().expect("key");
    let header = Header {
        package_id: "pkg-bench-1gib".into(),
        package_type: PackageType::SiemExportBundle,
        retention_class: RetentionClass::OperationalRecord,
        tenant_ref: "tenant:bench".into(),
        tenant_display_name: "Bench".into(),
        generated_at: "2026-11-01T00:00:00Z".into(),
        snapshot_digest: "sha256:0".into(),
        delivery_targets: Vec::new(),
    };
    let package = |files: &[Vec<u8>]| {
        let artifacts = files
            .iter()
            .enumerate()
            .map(|(i, b)| ManifestArtifact::for_bytes(&format!("siem/part-{i}.jsonl"), "jsonl", "application/jsonl", b))
            .collect();
        let entries: Vec<Entry> =
            files.iter().enumerate().map(|(i, b)| Entry::new(format!("siem/part-{i}.jsonl"), b.clone())).collect();
        seal(header.clone(), entries, artifacts, &key).expect("seals")
    };
    let sealed = package(&files);
    eprintln!("1 GiB payload packaged into {} bytes", sealed.bytes.len());

    let mut group = c.benchmark_group("package_1gib");
    group.sample_size(10).measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Bytes((FILES * FILE_BYTES) as u64));
    group.bench_function("sha256_only", |b| {
        b.iter(|| {
            for f in &files {
                black_box(cavra_reports::package::manifest::sha256_tagged(f));
            }
        })
    });
    group.bench_function("seal", |b| b.iter(|| black_box(package(&files))));
    group.bench_function("verify", |b| {
        b.iter(|| {
            let v = verify_package(std::io::Cursor::new(&sealed.bytes), &key.public_key_file(), &Limits::default())
                .expect("key");
            assert!(v.ok());
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
