//! Loads a store with synthetic items and pages through them: the figures
//! in `docs/performance.md` come from this.
//!
//! ```sh
//! cargo run --release -p cavra-store --example store_load -- sqlite:/tmp/load/store.db /tmp/load/blobs 20000
//! cargo run --release -p cavra-store --example store_load -- postgres://cavra@127.0.0.1:5432/load /tmp/load/blobs 20000
//! ```
//!
//! It registers N items (each 4 KiB of distinct bytes, 50 tenants, three
//! formats), registers them all again (idempotent: nothing added), pages
//! through one tenant 100 at a time, and makes the retention plan ten years
//! on; it prints how long each step took.

use std::time::Instant;

use cavra_store::query::{Cursor, Filter, Page};
use cavra_store::retention::{plan, RetentionPolicy};
use cavra_store::{NewItem, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(blobs)) = (args.next(), args.next()) else {
        return Err("usage: store_load URL BLOB_DIR [N]".into());
    };
    let n: usize = args.next().map_or(Ok(10_000), |s| s.parse())?;
    Store::migrate(&url, &[])?;
    let mut store = Store::open(&url, std::path::Path::new(&blobs))?;
    let policy = RetentionPolicy::default();
    let formats = ["pdf", "csv", "html"];
    let item = |i: usize| NewItem {
        tenant_ref: format!("tenant:t{:02}", i % 50),
        kind: "board-kpi-pack".into(),
        format: formats[i % 3].into(),
        name: format!("board-kpi-pack.{}", formats[i % 3]),
        report_id: Some(format!("rpt-{i}")),
        package: None,
        classification: "internal".into(),
        retention_class: "governance_record".into(),
        created_at: 1_800_000_000 + (i as i64 % 1000) * 3600,
    };
    let bytes = |i: usize| {
        let mut b = vec![0u8; 4096];
        b[..8].copy_from_slice(&(i as u64).to_le_bytes());
        b
    };
    for pass in ["register", "register again"] {
        let t = Instant::now();
        let mut added = 0;
        for i in 0..n {
            added += usize::from(store.register(&item(i), bytes(i).as_slice(), &policy, 1_800_000_000)?.1);
        }
        println!(
            "{pass}: {n} items, {added} added, {:.2} s ({:.0} items/s)",
            t.elapsed().as_secs_f64(),
            n as f64 / t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    let filter = Filter { tenant_ref: Some("tenant:t07".into()), ..Filter::default() };
    let mut page = Page { limit: 100, after: None };
    let (mut pages, mut seen) = (0, 0);
    loop {
        let p = store.search(&filter, &page)?;
        pages += 1;
        seen += p.items.len();
        match (p.next, p.items.last()) {
            (Some(_), Some(last)) => page.after = Some(Cursor::of(last)),
            _ => break,
        }
    }
    println!("search one tenant: {seen} items in {pages} pages, {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let all = store.all(&Filter::default())?;
    let entries = plan(&policy, all, 1_800_000_000 + 3650 * 86_400, &mut |_| None);
    println!("retention plan: {} expired of {n}, {:.3} s", entries.len(), t.elapsed().as_secs_f64());
    Ok(())
}
