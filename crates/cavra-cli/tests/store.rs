//! The record store through the binary, on SQLite and on PostgreSQL:
//! packages registered with `--store`, search, audited and watermarked
//! retrieval, holds, retention apply with tombstones, and the two contract
//! documents checked against their JSON Schemas.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

struct Setup {
    dir: tempfile::TempDir,
    cfg: PathBuf,
    store: Vec<String>,
    keeper: String,
    approver: String,
    janitor: String,
    auditor: String,
    signing: String,
    log: PathBuf,
    audit_key: PathBuf,
}

impl Setup {
    fn new(url: Option<String>) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let mut toml = String::from(
            "[roles.keeper]\npermissions = [\"legal_hold\"]\n[roles.approver]\npermissions = [\"approve_retention\"]\n\
             [roles.janitor]\npermissions = [\"apply_retention\"]\n\
             [roles.auditor]\npermissions = [\"retrieve\"]\nclassifications = [\"internal\"]\n",
        );
        let mut refs = Vec::new();
        for name in ["keeper", "approver", "janitor", "auditor"] {
            let (sk, _, pk) = keypair(dir.path(), name);
            toml.push_str(&format!("[principals.{name}]\npublic_key = \"{pk}\"\nroles = [\"{name}\"]\n"));
            refs.push(format!("file:{}", sk.display()));
        }
        let cfg = dir.path().join("cavra.toml");
        std::fs::write(&cfg, toml).unwrap();
        let (signing_sk, _, _) = keypair(dir.path(), "package-signer");
        let (audit_key, _) = audit_keys(dir.path());
        let url = url.unwrap_or_else(|| format!("sqlite:{}", dir.path().join("records/store.db").display()));
        let blobs = dir.path().join("blobs").display().to_string();
        let store = ["--store".to_string(), url, "--blobs".into(), blobs].to_vec();
        let [keeper, approver, janitor, auditor]: [String; 4] = refs.try_into().unwrap();
        let log = dir.path().join("audit.jsonl");
        Setup {
            cfg,
            store,
            keeper,
            approver,
            janitor,
            auditor,
            signing: format!("file:{}", signing_sk.display()),
            log,
            audit_key,
            dir,
        }
    }

    /// Runs the binary with `args`, the setup file, the store and the audit log.
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--config".to_string(), self.cfg.display().to_string()]);
        all.extend(self.store.iter().cloned());
        all.extend(["--audit-log".to_string(), self.log.display().to_string()]);
        all.extend(["--audit-key".to_string(), format!("file:{}", self.audit_key.display())]);
        bin().args(&all).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas").join(name)).unwrap();
    jsonschema::options().should_validate_formats(true).build(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn valid(v: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = v.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn lifecycle_through_the_binary(s: &Setup) {
    let mut migrate = vec!["store", "migrate"];
    let store: Vec<&str> = s.store.iter().map(String::as_str).collect();
    migrate.extend(&store[..2]);
    let m = run(&migrate);
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    // a package built with --store: the package and every file inside it
    let out = s.dir.path().join("out");
    let mut package = vec!["package", "--sample", "--types", "board_and_audit_bundle", "--signing-key", &s.signing];
    let out_s = out.display().to_string();
    package.extend(["--out", &out_s, "--store-classification", "internal"]);
    package.extend(&store);
    let built = bin().args(&package).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let found: Value =
        serde_json::from_str(&s.ok(&["store", "search", "--format", "json", "--limit", "1000"])).unwrap();
    let items = found["items"].as_array().unwrap();
    assert!(items.len() > 5, "the package and its files");
    assert!(items.iter().all(|i| i["package"] == items[0]["package"]));
    let pdf = items.iter().find(|i| i["format"] == "pdf").unwrap()["id"].as_str().unwrap().to_string();
    // an old confidential CSV, registered by hand, long expired
    let csv = s.dir.path().join("old.csv");
    std::fs::write(&csv, "k,v\n1,2\n").unwrap();
    let csv_s = csv.display().to_string();
    let reg = s.ok(&[
        "store",
        "register",
        &csv_s,
        "--tenant",
        "tenant:northwind-prod",
        "--kind",
        "agent-risk-register",
        "--format",
        "csv",
        "--as-of",
        "2020-01-01T00:00:00Z",
        "--retention",
        "operational_record",
    ]);
    let old = reg.split_whitespace().next().unwrap().to_string();
    assert!(s
        .ok(&[
            "store",
            "register",
            &csv_s,
            "--tenant",
            "tenant:northwind-prod",
            "--kind",
            "agent-risk-register",
            "--format",
            "csv",
            "--as-of",
            "2020-01-01T00:00:00Z",
            "--retention",
            "operational_record"
        ])
        .contains("already there"));

    // what the gate refuses, or what is not a report artifact, is not registered
    let leaky = s.dir.path().join("leaky.csv");
    std::fs::write(&leaky, "owner\njane.doe@northwind.example\n").unwrap();
    let leaky_s = leaky.display().to_string();
    let common = ["--tenant", "tenant:northwind-prod", "--format", "csv", "--as-of", "2020-01-01T00:00:00Z"];
    let mut args = vec!["store", "register", &leaky_s, "--kind", "agent-risk-register"];
    args.extend(common);
    let refused = s.cmd(&args);
    assert_eq!(refused.status.code(), Some(4), "{}", String::from_utf8_lossy(&refused.stderr));
    let mut args = vec!["store", "register", &csv_s, "--kind", "secret-dossier"];
    args.extend(common);
    assert_eq!(s.cmd(&args).status.code(), Some(4));

    // retrieval: served and watermarked for the auditor; refused for a confidential item
    let copy = s.dir.path().join("copy.pdf");
    let copy_s = copy.display().to_string();
    s.ok(&["store", "get", &pdf, "--out", &copy_s, "--as", &s.auditor]);
    let doc = lopdf::Document::load(&copy).unwrap();
    let text = doc.extract_text(&[1]).unwrap();
    assert!(text.contains("Retrieved copy for auditor recipients"), "{text:.200}");
    let again = s.cmd(&["store", "get", &pdf, "--out", &copy_s, "--as", &s.auditor]);
    assert!(!again.status.success(), "an existing file is never overwritten");
    let refused =
        s.cmd(&["store", "get", &old, "--out", &s.dir.path().join("x.csv").display().to_string(), "--as", &s.auditor]);
    assert_eq!(refused.status.code(), Some(4), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("may not retrieve confidential"));
    assert!(!s.dir.path().join("x.csv").exists());

    // a hold keeps the expired item through retention apply; release needs another principal's approval
    s.ok(&["retention", "hold", &old, "--reason", "MATTER-7", "--as", &s.keeper]);
    let plan = s.ok(&["retention", "plan"]);
    assert!(plan.contains("under legal hold: kept"), "{plan}");
    assert!(s.ok(&["retention", "apply", "--as", &s.janitor]).contains("0 deleted, 1 kept"));
    let unapproved = s.cmd(&["retention", "release", &old, "--as", &s.keeper]);
    assert_eq!(unapproved.status.code(), Some(4), "{}", String::from_utf8_lossy(&unapproved.stderr));
    s.ok(&["retention", "approve", &old, "--action", "release", "--reason", "MATTER-7 closed", "--as", &s.approver]);
    s.ok(&["retention", "release", &old, "--as", &s.keeper]);
    let applied = s.ok(&["retention", "apply", "--as", &s.janitor]);
    assert!(applied.contains(&format!("{old}  deleted")) && applied.contains("1 deleted, 0 kept"), "{applied}");

    // the contract documents
    let life: Value = serde_json::from_str(&s.ok(&["retention", "report", "--format", "json"])).unwrap();
    valid(&schema("retention_lifecycle.v1.schema.json"), &life);
    publish_example("retention_lifecycle.v1.json", &life);
    assert_eq!(life["summary"]["deleted"], 1);
    assert_eq!(life["tombstones"][0]["item_id"], old.as_str());
    let found: Value =
        serde_json::from_str(&s.ok(&["store", "report", "--format", "json", "--include-deleted"])).unwrap();
    valid(&schema("search_retrieval.v1.schema.json"), &found);
    publish_example("search_retrieval.v1.json", &found);
    let decisions = found["access_decisions"].as_array().unwrap();
    assert_eq!(decisions.iter().filter(|d| d["outcome"] == "served").count(), 1);
    assert_eq!(decisions.iter().filter(|d| d["outcome"] == "refused").count(), 1);
    let md = s.ok(&["retention", "report", "--format", "md"]);
    assert!(md.starts_with("# Retention lifecycle"));

    // the signed audit log carries every step and verifies
    let records = audit_records(&s.log);
    let actions: Vec<&str> = records.iter().filter_map(|r| r["event"]["action"].as_str()).collect();
    for a in ["register", "retrieve", "legal_hold", "retention"] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
    assert!(records.iter().any(|r| r["event"]["action"] == "retrieve" && r["event"]["status"] == "blocked_policy"));
}

#[test]
fn records_through_the_binary_on_sqlite() {
    lifecycle_through_the_binary(&Setup::new(None));
}

#[test]
fn records_through_the_binary_on_postgres() {
    if let Some(url) = postgres_database("store") {
        lifecycle_through_the_binary(&Setup::new(Some(url)));
    }
}

#[test]
fn a_store_that_is_not_migrated_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    let out = dir.path().join("out");
    let r = run(&["render", "--sample", "--out", out.to_str().unwrap(), "--formats", "csv", "--store", &url]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("store migrate"), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(!out.exists(), "no partial output");
}
