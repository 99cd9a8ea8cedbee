//! Loopback servers the delivery tests start (Python scripts beside this
//! file), stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running server: its port and the folder it records into.
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
