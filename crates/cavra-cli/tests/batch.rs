//! `batch` end to end: 100 tenants with one malformed snapshot among them,
//! shards that cover every tenant once, identical output with 1 and 2 jobs.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::run;

/// 100 tenants: copies of the sample under other tenant refs, one of them broken.
fn tenants(dir: &Path) -> Vec<String> {
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../../../examples/sample_snapshot.json")).unwrap();
    let mut ids = Vec::new();
    for i in 0..100 {
        let id = format!("tenant-{i:03}");
        let mut v = sample.clone();
        v["tenant"]["ref"] = serde_json::json!(format!("tenant:{id}"));
        v["tenant"]["display_name"] = serde_json::json!(format!("Tenant {i}"));
        let text = if i == 42 {
            "{\"schema_version\": \"cavra.activity_snapshot.v1\", oops".to_string()
        } else {
            v.to_string()
        };
        std::fs::write(dir.join(format!("{id}.json")), text).unwrap();
        ids.push(id);
    }
    ids
}

fn batch(input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "batch",
        "--input-dir",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--kinds",
        "executive-risk-brief,agent-risk-register",
        "--formats",
        "md,csv,json",
    ];
    args.extend(extra);
    run(&args)
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("batch-summary.json")).unwrap()).unwrap()
}

#[test]
fn a_hundred_tenants_with_one_broken_give_99_outputs_and_one_clear_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let ids = tenants(&input);
    let out = dir.path().join("out");
    let r = batch(&input, &out, &["--jobs", "2"]);
    assert_eq!(r.status.code(), Some(6), "some failed: {}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("100 tenant(s), 99 succeeded, 1 failed"));
    let s = summary(&out);
    assert_eq!((s["tenants"].as_u64(), s["succeeded"].as_u64(), s["failed"].as_u64()), (Some(100), Some(99), Some(1)));
    let failed: Vec<&serde_json::Value> =
        s["results"].as_array().unwrap().iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["tenant"], "tenant-042");
    assert_eq!(failed[0]["failure"], "invalid_input");
    assert!(failed[0]["error"].as_str().unwrap().contains("tenant-042.json"), "{}", failed[0]["error"]);
    for id in &ids {
        let folder = out.join(id);
        if id == "tenant-042" {
            assert!(!folder.exists(), "a failed tenant writes nothing");
        } else {
            assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 6, "{id}");
        }
    }
    // the same run with one job: byte-identical files and summary
    let out1 = dir.path().join("out1");
    assert_eq!(batch(&input, &out1, &["--jobs", "1"]).status.code(), Some(6));
    assert_eq!(
        std::fs::read(out.join("batch-summary.json")).unwrap(),
        std::fs::read(out1.join("batch-summary.json")).unwrap()
    );
    for id in ids.iter().filter(|i| *i != "tenant-042") {
        for f in std::fs::read_dir(out.join(id)).unwrap() {
            let f = f.unwrap();
            assert_eq!(std::fs::read(f.path()).unwrap(), std::fs::read(out1.join(id).join(f.file_name())).unwrap());
        }
    }
}

#[test]
fn shards_cover_every_tenant_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let ids: BTreeSet<String> = tenants(&input).into_iter().collect();
    let mut seen: Vec<String> = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = dir.path().join(format!("out-{}", &shard[..1]));
        let r = batch(&input, &out, &["--shard", shard, "--formats", "md"]);
        assert!(matches!(r.status.code(), Some(0 | 6)), "{}", String::from_utf8_lossy(&r.stderr));
        let s = summary(&out);
        assert_eq!(s["shard"], shard);
        let mine: Vec<String> =
            s["results"].as_array().unwrap().iter().map(|r| r["tenant"].as_str().unwrap().to_string()).collect();
        assert!(!mine.is_empty() && mine.len() < 100, "{shard}: {}", mine.len());
        seen.extend(mine);
    }
    seen.sort();
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 100, "no tenant in both shards");
    assert_eq!(unique, ids, "every tenant in one shard");
    assert_eq!(run(&["batch", "--input-dir", ".", "--out", "/tmp/x", "--shard", "3/2"]).status.code(), Some(2));
}

#[test]
fn a_batch_registers_every_tenant_s_files_and_packages_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../../../examples/sample_snapshot.json")).unwrap();
    for i in 0..3 {
        let mut v = sample.clone();
        v["tenant"]["ref"] = serde_json::json!(format!("tenant:t{i}"));
        std::fs::write(input.join(format!("t{i}.json")), v.to_string()).unwrap();
    }
    let (sk, _, _) = common::keypair(dir.path(), "signer");
    let url = format!("sqlite:{}", dir.path().join("rec/store.db").display());
    assert!(run(&["store", "migrate", "--store", &url]).status.success());
    let out = dir.path().join("out");
    let key = format!("file:{}", sk.display());
    let r = batch(&input, &out, &["--package", "siem_export_bundle", "--signing-key", &key, "--store", &url]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let found =
        run(&["store", "search", "--store", &url, "--config", "/dev/null", "--format", "json", "--limit", "1000"]);
    let page: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    let items = page["items"].as_array().unwrap();
    // 3 tenants × (2 kinds × 3 formats + a package and the files inside it)
    let per_tenant = |t: &str| items.iter().filter(|i| i["tenant_ref"] == t).count();
    assert!(per_tenant("tenant:t0") > 7, "{}", per_tenant("tenant:t0"));
    assert_eq!(per_tenant("tenant:t0"), per_tenant("tenant:t2"));
    let reports: Vec<&serde_json::Value> = items.iter().filter(|i| i["package"].is_null()).collect();
    assert_eq!(reports.len(), 3 * 2 * 3);
    assert!(reports.iter().all(|i| i["report_id"].is_string() && i["classification"] == "internal"));
    // a second run registers no report twice; only the re-signed packages are new bytes
    let again = batch(&input, &out, &["--package", "siem_export_bundle", "--signing-key", &key, "--store", &url]);
    assert!(again.status.success());
    let found =
        run(&["store", "search", "--store", &url, "--config", "/dev/null", "--format", "json", "--limit", "1000"]);
    let page2: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    let packages =
        |p: &serde_json::Value| p["items"].as_array().unwrap().iter().filter(|i| i["format"] == "package").count();
    assert_eq!(packages(&page2), packages(&page) + 3, "a package's signature is fresh on every build");
    assert_eq!(page2["total"].as_u64().unwrap(), page["total"].as_u64().unwrap() + 3);
}
