//! The record store's costs on SQLite (and on PostgreSQL when
//! `CAVRA_BENCH_POSTGRES` names a database URL): registering items,
//! registering them again (idempotent), paging through a tenant, and the
//! retention plan over the whole store. Figures in `docs/performance.md`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use cavra_store::query::{Cursor, Filter, Page};
use cavra_store::retention::{plan, RetentionPolicy};
use cavra_store::{NewItem, Store};

const ITEMS: usize = 10_000;

fn item(i: usize) -> NewItem {
    let formats = ["pdf", "csv", "html"];
    NewItem {
        tenant_ref: format!("tenant:t{:02}", i % 50),
        kind: "board-kpi-pack".into(),
        format: formats[i % 3].into(),
        name: format!("board-kpi-pack.{}", formats[i % 3]),
        report_id: Some(format!("rpt-{i}")),
        package: None,
        classification: "internal".into(),
        retention_class: "governance_record".into(),
        created_at: 1_800_000_000 + (i as i64 % 1000) * 3600,
    }
}

fn bytes(i: usize) -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b[..8].copy_from_slice(&(i as u64).to_le_bytes());
    b
}

/// A store holding `n` items: (store, its folder).
fn filled(url: Option<&str>, n: usize) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = url.map_or_else(|| format!("sqlite:{}", dir.path().join("s.db").display()), str::to_string);
    Store::migrate(&url, &[]).unwrap();
    let mut store = Store::open(&url, &dir.path().join("blobs")).unwrap();
    let policy = RetentionPolicy::default();
    for i in 0..n {
        store.register(&item(i), bytes(i).as_slice(), &policy, 1_800_000_000).unwrap();
    }
    (store, dir)
}

fn backend(c: &mut Criterion, name: &str, url: Option<&str>) {
    let policy = RetentionPolicy::default();
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    // Each iteration registers 1,000 items the store has not seen (a shared
    // PostgreSQL database keeps what earlier iterations added).
    let next = std::sync::atomic::AtomicUsize::new(ITEMS);
    g.bench_function("register 1,000 items", |b| {
        b.iter_batched(
            || (filled(url, 0), next.fetch_add(1000, std::sync::atomic::Ordering::Relaxed)),
            |((mut store, _dir), from)| {
                for i in from..from + 1000 {
                    assert!(store.register(&item(i), bytes(i).as_slice(), &policy, 1_800_000_000).unwrap().1);
                }
            },
            BatchSize::PerIteration,
        )
    });
    if url.is_some() {
        // one shared database: the later benches read what is there
        g.finish();
        return;
    }
    let (mut store, _dir) = filled(url, ITEMS);
    g.bench_function("register 1,000 items again (nothing added)", |b| {
        b.iter(|| {
            for i in 0..1000 {
                assert!(!store.register(&item(i), bytes(i).as_slice(), &policy, 1_800_000_000).unwrap().1);
            }
        })
    });
    g.bench_function("page through one tenant of 10,000 items, 100 a page", |b| {
        let filter = Filter { tenant_ref: Some("tenant:t07".into()), ..Filter::default() };
        b.iter(|| {
            let mut page = Page { limit: 100, after: None };
            let mut seen = 0;
            loop {
                let p = store.search(&filter, &page).unwrap();
                seen += p.items.len();
                match (p.next, p.items.last()) {
                    (Some(_), Some(last)) => page.after = Some(Cursor::of(last)),
                    _ => break,
                }
            }
            assert_eq!(seen, ITEMS / 50);
        })
    });
    g.bench_function("retention plan over 10,000 items", |b| {
        b.iter(|| {
            let all = store.all(&Filter::default()).unwrap();
            assert_eq!(plan(&policy, all, 1_800_000_000 + 3650 * 86_400, &mut |_| None).len(), ITEMS);
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    backend(c, "store/sqlite", None);
    if let Ok(url) = std::env::var("CAVRA_BENCH_POSTGRES") {
        backend(c, "store/postgres", Some(&url));
    }
}

criterion_group!(store, benches);
criterion_main!(store);
