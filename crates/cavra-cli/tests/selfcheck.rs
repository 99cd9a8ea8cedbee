//! `selfcheck` through the binary: on a sound setup file every path passes
//! against the loopback stand-ins and the packets validate against their
//! generated schemas (this crate's validator and Python's `jsonschema`);
//! with one path broken — an evidence-room link key that does not resolve —
//! exactly that path and the one built on it fail, the command exits 7, and
//! the packets say so.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas").join(name)).unwrap();
    jsonschema::options().should_validate_formats(true).build(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn setup(dir: &Path, extra: &str) -> std::path::PathBuf {
    let (_, _, pk) = keypair(dir, "package-signer");
    let cfg = dir.join(format!("cavra{}.toml", extra.len()));
    std::fs::write(
        &cfg,
        format!(
            "[organisation]\nname = \"Northwind\"\nsender = \"reports@northwind.example\"\n\
             [delivery]\nmode = \"smtp\"\nhost = \"smtp.northwind.example\"\n\
             [[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
             [packages]\nsigning_public_key = \"{pk}\"\n{extra}"
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn selfcheck_passes_on_a_sound_setup_and_names_the_path_that_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = setup(d, "");
    let out = d.join("packets");
    let run_it =
        bin().args(["selfcheck", "--config", good.to_str().unwrap(), "--out", out.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&run_it.stdout);
    assert!(run_it.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run_it.stderr));
    let packet = read(&out.join("validation_packet.json"));
    let ids: Vec<&str> = packet["checks"].as_array().unwrap().iter().map(|c| c["check_id"].as_str().unwrap()).collect();
    for id in [
        "setup_validation",
        "rendering",
        "blocked_send",
        "approved_send",
        "scheduled_run",
        "evidence_room",
        "alert_escalation",
        "remediation_closure",
        "digest_distribution",
        "revocation",
        "retention",
        "audit_chain",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert_eq!((packet["ready"].as_bool(), packet["failed"].as_u64()), (Some(true), Some(0)), "{packet}");
    let validation = schema("validation_packet.v1.schema.json");
    let readiness = schema("readiness_packet.v1.schema.json");
    assert!(validation.is_valid(&packet), "{packet}");
    let mut pairs = vec![(d.join("v.schema.json"), out.join("validation_packet.json"))];
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/validation_packet.v1.schema.json"),
        &pairs[0].0,
    )
    .unwrap();
    let rs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/readiness_packet.v1.schema.json");
    for area in ["catalog", "delivery_setup", "operations", "governance", "assurance", "response"] {
        let path = out.join(format!("readiness_{area}.json"));
        let r = read(&path);
        assert!(readiness.is_valid(&r), "{r}");
        assert_eq!(r["ready"], true, "{r}");
        assert!(!r["checks"].as_array().unwrap().is_empty(), "{area} has checks");
        pairs.push((rs.clone(), path));
    }
    for (_, p) in &pairs {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(!text.contains('@') && !text.contains(d.to_str().unwrap()), "public-safe: {text}");
    }
    let python = std::process::Command::new("python3").args(["-c", "import jsonschema"]).output();
    let has_python = python.is_ok_and(|o| o.status.success());
    assert!(has_python || std::env::var_os("CI").is_none(), "Python jsonschema is required in CI; .ci/run installs it");
    if has_python {
        let script = "import json, sys, jsonschema\n\
            a = sys.argv[1:]\n\
            for s, d in zip(a[::2], a[1::2]):\n\
            \x20   jsonschema.Draft202012Validator(json.load(open(s)), format_checker=jsonschema.FormatChecker()).validate(json.load(open(d)))\n";
        let checked = std::process::Command::new("python3")
            .args(["-c", script])
            .args(pairs.iter().flat_map(|(s, p)| [s.as_os_str(), p.as_os_str()]))
            .output()
            .unwrap();
        assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    }

    // one path broken: the link key does not resolve
    let broken = setup(d, "[rooms]\nlink_key = \"env:CAVRA_TEST_LINK_KEY_NEVER_SET\"\n");
    let out2 = d.join("broken");
    let failed = bin()
        .env_remove("CAVRA_TEST_LINK_KEY_NEVER_SET")
        .args(["selfcheck", "--config", broken.to_str().unwrap(), "--out", out2.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(7), "{}", String::from_utf8_lossy(&failed.stdout));
    let packet = read(&out2.join("validation_packet.json"));
    assert!(validation.is_valid(&packet));
    let failing: Vec<&str> = packet["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "failed")
        .map(|c| c["check_id"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["evidence_room", "revocation"], "{packet}");
    assert_eq!(read(&out2.join("readiness_assurance.json"))["ready"], false);
    assert_eq!(read(&out2.join("readiness_response.json"))["ready"], true);
}
