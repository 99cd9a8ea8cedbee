//! Loopback servers the delivery tests start (Python scripts beside this
//! file), stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running server: its port and the folder it records into.
#[allow(dead_code)] // not every test file starts servers
pub struct Server {
    child: Child,
    /// Loopback port.
    pub port: u16,
    /// Where it saves what it receives.
    pub out: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tests/support/<script>` with `args`; the script prints its port first.
#[allow(dead_code)]
pub fn start(script: &str, args: &[&str], out: &Path) -> Server {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support").join(script);
    let mut child = Command::new("python3")
        .arg(path)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).expect("server output");
    let port = line.trim().parse().unwrap_or_else(|_| panic!("{script} did not start: {line:?}"));
    Server { child, port, out: out.to_path_buf() }
}

/// Whether a Python module is importable; in CI its absence is a failure.
#[allow(dead_code)] // not every test file needs it
pub fn python_module(module: &str) -> bool {
    let ok =
        Command::new("python3").arg("-c").arg(format!("import {module}")).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "python module `{module}` is required in CI; .ci/run installs it");
        eprintln!("SKIPPED: python module `{module}` is not installed");
    }
    ok
}

/// The keys the delivery tests use: the package signer and principals.
#[allow(dead_code)] // not every test file needs every key
pub struct Keys {
    /// Signs packages (`packages.signing_public_key`).
    pub package: cavra_render::signed::SigningKey,
    /// The requesting principal `cso-office`.
    pub cso: cavra_render::signed::SigningKey,
    /// An approver.
    pub approver: cavra_render::signed::SigningKey,
    /// A second approver.
    pub approver2: cavra_render::signed::SigningKey,
    /// A principal without the approve permission.
    pub clerk: cavra_render::signed::SigningKey,
}

/// One set of keys per test binary.
#[allow(dead_code)]
pub fn keys() -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let k = || cavra_render::signed::SigningKey::generate().unwrap();
        Keys { package: k(), cso: k(), approver: k(), approver2: k(), clerk: k() }
    })
}

/// `[principals.<name>]` for a key and roles.
#[allow(dead_code)]
pub fn principal(name: &str, key: &cavra_render::signed::SigningKey, roles: &[&str]) -> String {
    let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
    format!("\n[principals.{name}]\npublic_key = \"{}\"\nroles = [{}]\n", key.public_key().base64(), roles.join(", "))
}

/// `[packages]` trusting the test package signer.
#[allow(dead_code)]
pub fn packages_section() -> String {
    format!("\n[packages]\nsigning_public_key = \"{}\"\n", keys().package.public_key().base64())
}

/// A real, signed SIEM export bundle (the smallest package type), built once.
#[allow(dead_code)]
pub fn package_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let snapshot = cavra_model::Snapshot::from_json_str(
            include_str!("../../../../examples/sample_snapshot.json"),
            &Default::default(),
        )
        .unwrap();
        let posture = cavra_model::Posture::compute(&snapshot);
        cavra_package::build_package(
            cavra_package::PackageType::SiemExportBundle,
            &snapshot,
            &posture,
            &Default::default(),
            &keys().package,
        )
        .unwrap()
        .bytes
    })
}

/// Writes the test package into `dir`; returns its path and `sha256:` digest.
#[allow(dead_code)]
pub fn write_package(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("siem_export_bundle.zip");
    std::fs::write(&path, package_bytes()).unwrap();
    (path, cavra_package::manifest::sha256_tagged(package_bytes()))
}

/// The `cso-office` principal as a signer under `config`.
#[allow(dead_code)]
pub fn cso(config: &cavra_deliver::config::Config) -> cavra_deliver::identity::Signer {
    cavra_deliver::identity::Signer::authenticate(config, keys().cso.clone()).unwrap()
}
