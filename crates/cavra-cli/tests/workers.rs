//! Several `deliver run` workers on one PostgreSQL outbox: every job is
//! claimed by one worker (`FOR UPDATE SKIP LOCKED`), and a worker killed
//! mid-batch loses nothing — its job is taken over once its lease runs out.
//!
//! Needs `CAVRA_TEST_POSTGRES` (a URL to a server where the user may create
//! databases; `.ci/run` starts one). In CI a missing server fails the test.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};

use common::*;

const JOBS: usize = 500;
const WORKERS: usize = 4;

/// A setup file for the sink at `port`, the outbox migrated and the file
/// accepted, and 500 jobs queued: returns the `--config/--outbox` flags.
fn queued_outbox(dir: &Path, port: u16, url: &str) -> Vec<String> {
    let ids = identities(dir);
    let cfg = dir.join("cavra.toml");
    std::fs::write(
        &cfg,
        format!("[organisation]\nsender = \"reports@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[roles.cso]\npermissions = [\"send_internal\"]\n{}", ids.toml),
    )
    .unwrap();
    let common: Vec<String> = ["--config", cfg.to_str().unwrap(), "--outbox", url].map(String::from).to_vec();
    // a worker never migrates: before `store migrate` it refuses to start
    let mut run_args = vec!["deliver".to_string(), "run".into()];
    run_args.extend(common.iter().cloned());
    let early = bin().args(&run_args).output().unwrap();
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("store migrate"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    let migrated = run(&["store", "migrate", "--store", url]);
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    accept(&common, &ids.admin);
    let to: Vec<String> = (1..=JOBS).map(|i| format!("r{i}@northwind.example")).collect();
    let sent = deliver_send(&common, &ids.package, &to.join(","), &ids.cso);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    common
}

fn worker(common: &[String], lease_seconds: u32) -> Child {
    let mut args = vec!["deliver".to_string(), "run".into(), "--loop".into(), "--until-idle".into()];
    args.extend(["--poll-seconds", "1", "--lease-seconds", &lease_seconds.to_string()].map(String::from));
    args.extend(common.iter().cloned());
    bin().args(&args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap()
}

/// Message-ID → how many copies reached the sink.
fn arrivals(inbox: &Path) -> BTreeMap<String, usize> {
    let mut by_id = BTreeMap::new();
    for e in std::fs::read_dir(inbox).unwrap().filter_map(|e| e.ok()) {
        if e.path().extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        let id = text.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap().to_string();
        *by_id.entry(id.split_once(':').unwrap().1.trim().to_string()).or_default() += 1;
    }
    by_id
}

fn status(common: &[String]) -> Vec<String> {
    let mut args = vec!["deliver".to_string(), "status".into()];
    args.extend(common.iter().cloned());
    let out = bin().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("job-")).map(String::from).collect()
}

fn sink(dir: &Path, faults: &str) -> (Child, u16, std::path::PathBuf) {
    let inbox = dir.join("inbox");
    let (server, port) = scripted_smtp(&inbox, faults);
    (server, port, inbox)
}

#[test]
fn four_workers_share_a_postgres_outbox_and_send_every_job_exactly_once() {
    let Some(url) = postgres_database("exactly_once") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port, inbox) = sink(dir.path(), "slowdata:0.005");
    let common = queued_outbox(dir.path(), port, &url);
    let workers: Vec<Child> = (0..WORKERS).map(|_| worker(&common, 300)).collect();
    let mut sent_by = Vec::new();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        sent_by.push(String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(" sent ")).count());
    }
    let _ = server.kill();
    let _ = server.wait();
    let at_sink = arrivals(&inbox);
    assert_eq!(at_sink.len(), JOBS, "every job arrived");
    assert!(
        at_sink.values().all(|n| *n == 1),
        "no job arrived twice: {:?}",
        at_sink.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let jobs = status(&common);
    assert_eq!(jobs.len(), JOBS);
    assert!(jobs.iter().all(|l| l.contains("  sent  ") && !l.contains("possible-duplicate")));
    assert_eq!(sent_by.iter().sum::<usize>(), JOBS, "each job was sent by exactly one worker: {sent_by:?}");
    assert!(sent_by.iter().filter(|n| **n > 0).count() > 1, "the work was shared: {sent_by:?}");
}

#[test]
fn a_worker_killed_mid_batch_loses_nothing() {
    let Some(url) = postgres_database("killed_worker") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port, inbox) = sink(dir.path(), "slowdata:0.02");
    let common = queued_outbox(dir.path(), port, &url);
    let mut workers: Vec<Child> = (0..WORKERS).map(|_| worker(&common, 3)).collect();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let mut victim = workers.remove(0);
    victim.kill().unwrap(); // SIGKILL, mid-batch: it holds a lease it will never record
    victim.wait().unwrap();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let _ = server.kill();
    let _ = server.wait();
    let jobs = status(&common);
    assert_eq!(jobs.len(), JOBS);
    assert!(
        jobs.iter().all(|l| l.contains("  sent  ")),
        "nothing lost: {:?}",
        jobs.iter().filter(|l| !l.contains("  sent  ")).collect::<Vec<_>>()
    );
    let at_sink = arrivals(&inbox);
    assert_eq!(at_sink.len(), JOBS, "every job arrived");
    // Only the job in the killed worker's hands can have arrived twice, and it is flagged.
    let flagged: Vec<&String> = jobs.iter().filter(|l| l.contains("possible-duplicate")).collect();
    eprintln!("taken over after the kill: {flagged:?}");
    assert!(flagged.len() <= 1, "{flagged:?}");
    for (id, n) in &at_sink {
        if *n > 1 {
            assert_eq!(*n, 2, "{id}");
            assert!(flagged.iter().any(|l| l.contains(id.as_str())), "a duplicate at the sink is flagged");
        }
    }
}

#[test]
fn the_postgres_outbox_refuses_a_url_with_a_password() {
    let out = Command::new(env!("CARGO_BIN_EXE_cavra-reports"))
        .args(["store", "migrate", "--store", "postgres://cavra:hunter2@127.0.0.1:1/cavra"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("password") && !err.contains("hunter2"), "{err}");
}
