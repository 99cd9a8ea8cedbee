//! Helpers shared by the binary's test files.
#![allow(dead_code)] // each test file uses a subset

use std::path::Path;
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cavra-reports"))
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

/// A minisign key pair written into `dir`: (secret key path, public key path, base64 public key).
pub fn keypair(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let (sk, pk) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.pub")));
    std::fs::write(&sk, kp.sk.to_box(None).unwrap().to_string()).unwrap();
    std::fs::write(&pk, kp.pk.to_box().unwrap().to_string()).unwrap();
    (sk, pk, kp.pk.to_base64())
}

/// Who acts in the delivery tests: a package signer, a real package it signed,
/// and the principals `cso-office` (role cso) and `approver` (role approver).
pub struct Identities {
    pub package: std::path::PathBuf,
    /// `--as` reference of the cso-office principal.
    pub cso: String,
    /// `--as` reference of the approver principal.
    pub approver: String,
    /// `--as` reference of the admin principal (manage_policy, schedule).
    pub admin: String,
    /// `[packages]`, `[roles.approver]` and `[principals.*]` for cavra.toml.
    pub toml: String,
}

/// Builds the sample SIEM export bundle signed with the secret key at `sk` into `out`; returns its path.
pub fn signed_package(sk: &Path, out: &Path) -> std::path::PathBuf {
    let key = format!("file:{}", sk.display());
    let built = run(&[
        "package",
        "--sample",
        "--types",
        "siem_export_bundle",
        "--signing-key",
        &key,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    out.join("siem_export_bundle.zip")
}

pub fn identities(dir: &Path) -> Identities {
    let (package_sk, _, package_pk) = keypair(dir, "package-signer");
    let (cso_sk, _, cso_pk) = keypair(dir, "cso");
    let (approver_sk, _, approver_pk) = keypair(dir, "approver");
    let (admin_sk, _, admin_pk) = keypair(dir, "admin");
    Identities {
        package: signed_package(&package_sk, &dir.join("packages")),
        cso: format!("file:{}", cso_sk.display()),
        approver: format!("file:{}", approver_sk.display()),
        admin: format!("file:{}", admin_sk.display()),
        toml: format!(
            "\n[roles.approver]\npermissions = [\"approve\"]\n\n[packages]\nsigning_public_key = \"{package_pk}\"\n\n[principals.cso-office]\npublic_key = \"{cso_pk}\"\nroles = [\"cso\"]\n\n[principals.approver]\npublic_key = \"{approver_pk}\"\nroles = [\"approver\"]\n\n[roles.admin]\npermissions = [\"manage_policy\", \"schedule\"]\n\n[principals.admin]\npublic_key = \"{admin_pk}\"\nroles = [\"admin\"]\n"
        ),
    }
}

/// Starts the scripted loopback SMTP server with `faults`; returns it and its port.
pub fn scripted_smtp(inbox: &Path, faults: &str) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cavra-deliver/tests/support/smtp_sink.py");
    let mut server = Command::new("python3")
        .arg(&script)
        .arg("scripted")
        .arg(inbox)
        .arg(faults)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (server, line.trim().parse().expect("server port"))
}

pub fn loop_setup(dir: &Path, port: u16) -> (Vec<String>, Identities) {
    let ids = identities(dir);
    let cfg = dir.join("cavra.toml");
    std::fs::write(
        &cfg,
        format!("[organisation]\nsender = \"reports@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[roles.cso]\npermissions = [\"send_internal\"]\n\n[retry]\nbackoff_seconds = 1\nmax_backoff_seconds = 2\n{}", ids.toml),
    )
    .unwrap();
    let common = ["--config", cfg.to_str().unwrap(), "--outbox", dir.join("outbox.db").to_str().unwrap()]
        .map(String::from)
        .to_vec();
    accept(&common, &ids.admin);
    (common, ids)
}

/// `policy accept` for the setup file and outbox in `common`, as `who`.
pub fn accept(common: &[String], who: &str) {
    let mut args = vec!["policy".to_string(), "accept".into(), "--as".into(), who.to_string()];
    args.extend(common.iter().cloned());
    let out = bin().args(&args).output().unwrap();
    assert!(out.status.success(), "policy accept: {}", String::from_utf8_lossy(&out.stderr));
}

/// A throw-away minisign key pair for audit logs: (secret key path, public key path).
pub fn audit_keys(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let (sk, pk) = (dir.join("audit.key"), dir.join("audit.pub"));
    std::fs::write(&sk, kp.sk.to_box(None).unwrap().to_string()).unwrap();
    std::fs::write(&pk, kp.pk.to_box().unwrap().to_string()).unwrap();
    (sk, pk)
}

pub fn audit_records(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// `deliver send` of `package` to `to` (comma-separated) as the principal key `who`, with `common` flags.
pub fn deliver_send(common: &[String], package: &Path, to: &str, who: &str) -> Output {
    let mut args = vec!["deliver".to_string(), "send".into()];
    args.extend(common.iter().cloned());
    args.extend(["--package", package.to_str().unwrap(), "--to", to, "--as", who].map(String::from));
    bin().args(&args).output().unwrap()
}

/// A fresh PostgreSQL database named after `name` on the server
/// `CAVRA_TEST_POSTGRES` points to (a URL whose user may create
/// databases), as a URL; `None` outside CI when it is not set, a failure in CI.
pub fn postgres_database(name: &str) -> Option<String> {
    let Ok(admin) = std::env::var("CAVRA_TEST_POSTGRES") else {
        assert!(std::env::var_os("CI").is_none(), "CAVRA_TEST_POSTGRES is required in CI; .ci/run starts a server");
        eprintln!("skipping: CAVRA_TEST_POSTGRES is not set");
        return None;
    };
    let db = format!("cavra_cli_{name}_{}", std::process::id());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connecting to CAVRA_TEST_POSTGRES");
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {db}")).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    let (base, query) = admin.split_once('?').map_or((admin.as_str(), None), |(b, q)| (b, Some(q)));
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    Some(match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    })
}

/// With `UPDATE_SCHEMAS` set, writes `doc` as the published example
/// `examples/contracts/<name>`: the contract documents the store and room
/// tests make from their records.
#[allow(dead_code)]
pub fn publish_example(name: &str, doc: &serde_json::Value) {
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/contracts").join(name);
        let mut text = serde_json::to_string_pretty(doc).unwrap();
        text.push('\n');
        std::fs::write(path, text).unwrap();
    }
}
