//! The binary under hostile conditions: a closed stdout, endless or
//! oversized inputs, invalid UTF-8, a render killed mid-way, two senders on
//! one outbox, a maildir with junk in it.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Runs `args` with its stdout already closed by the reader; returns (exit code, stderr).
fn with_closed_stdout(args: &[&str]) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_cavra-reports");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    // `true` exits at once; the command starts after it, so every write meets a closed pipe.
    let script = format!("(sleep 0.3; '{bin}' {}; echo \"rc=$?\" >&2) | true", quoted.join(" "));
    let out = Command::new("bash").arg("-c").arg(script).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rc = stderr.lines().find_map(|l| l.strip_prefix("rc=")).and_then(|c| c.parse().ok()).unwrap_or(-1);
    (rc, stderr)
}

#[test]
fn a_closed_stdout_ends_quietly_and_the_work_is_done() {
    let (rc, stderr) = with_closed_stdout(&["catalog"]);
    assert_eq!(rc, 0, "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (rc, stderr) =
        with_closed_stdout(&["render", "--sample", "--out", out.to_str().unwrap(), "--formats", "md,csv"]);
    assert_eq!(rc, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 20, "every artifact was written");
}

#[test]
fn endless_and_oversized_inputs_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("p.zip");
    std::fs::write(&pkg, b"PK").unwrap();
    let v = run(&["verify", pkg.to_str().unwrap(), "--pubkey", "/dev/zero"]);
    assert_eq!(v.status.code(), Some(3), "{}", String::from_utf8_lossy(&v.stderr));
    assert!(String::from_utf8_lossy(&v.stderr).contains("limit"), "{}", String::from_utf8_lossy(&v.stderr));
    let r = run(&[
        "render",
        "--sample",
        "--out",
        dir.path().join("o").to_str().unwrap(),
        "--signing-key",
        "file:/dev/zero",
    ]);
    assert_eq!(r.status.code(), Some(3), "{}", String::from_utf8_lossy(&r.stderr));
    // a decisions file that is one endless line
    let snapshot = dir.path().join("s.json");
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../../examples/sample_snapshot.json")).unwrap();
    v.as_object_mut().unwrap().remove("decisions");
    std::fs::write(&snapshot, serde_json::to_string(&v).unwrap()).unwrap();
    let r = run(&["validate", "--input", snapshot.to_str().unwrap(), "--decisions", "/dev/zero"]);
    assert_eq!(r.status.code(), Some(3), "{}", String::from_utf8_lossy(&r.stderr));
    // a logo that never ends
    let theme = dir.path().join("theme.toml");
    std::fs::write(&theme, "[branding]\nlogo = \"/dev/zero\"\n").unwrap();
    let r = run(&[
        "render",
        "--sample",
        "--theme",
        theme.to_str().unwrap(),
        "--out",
        dir.path().join("t").to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(3), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("larger than the limit"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

#[test]
fn invalid_utf8_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("s.json");
    std::fs::write(&snapshot, b"{\"schema_version\": \"\xff\xfe\"}").unwrap();
    let r = run(&["validate", "--input", snapshot.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(3), "{}", String::from_utf8_lossy(&r.stderr));
    let cfg = dir.path().join("cavra.toml");
    std::fs::write(&cfg, b"[organisation]\nname = \"\xff\"\n").unwrap();
    let r = run(&["schedule", "list", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(3), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn staging_folders_of_killed_runs_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    // left by a run that died: its owner lock is free
    let dead = dir.path().join(".cavra-staging-dead");
    std::fs::create_dir(&dead).unwrap();
    std::fs::write(dead.join(".owner"), b"").unwrap();
    std::fs::write(dead.join("half.pdf"), b"%PDF-").unwrap();
    // held by a run still going: kept
    let live = dir.path().join(".cavra-staging-live");
    std::fs::create_dir(&live).unwrap();
    let owner = std::fs::File::create(live.join(".owner")).unwrap();
    owner.lock().unwrap();
    let out = dir.path().join("out");
    let r = run(&["render", "--sample", "--out", out.to_str().unwrap(), "--formats", "md"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(!dead.exists(), "an abandoned staging folder is removed on the next run");
    assert!(live.exists(), "a live run's staging folder is left alone");
    assert!(!out.join(".owner").exists(), "the lock file never reaches the output");
}

#[test]
fn two_senders_on_one_outbox_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let (mut server, port) = scripted_smtp(&inbox, "");
    let (common, ids) = loop_setup(dir.path(), port);
    let to: Vec<String> = (1..=8).map(|i| format!("r{i}@northwind.example")).collect();
    assert!(deliver_send(&common, &ids.package, &to.join(","), &ids.cso).status.success());
    let mut run_args = vec!["deliver".to_string(), "run".into()];
    run_args.extend(common.iter().cloned());
    let a = bin()
        .args(&run_args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = bin()
        .args(&run_args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let _ = server.kill();
    let _ = server.wait();
    for o in [&a, &b] {
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && !stderr.contains("locked"), "{stderr}");
    }
    let sent: usize = [&a, &b]
        .iter()
        .map(|o| {
            let line = String::from_utf8_lossy(&o.stdout).into_owned();
            line.split_whitespace().nth(1).and_then(|n| n.trim_end_matches(',').parse::<usize>().ok()).unwrap_or(0)
        })
        .sum();
    assert_eq!(sent, 8, "every job sent exactly once between the two senders");
    let eml = std::fs::read_dir(&inbox)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml"));
    assert_eq!(eml.count(), 8);
}

const DSN: &str = "From: MAILER-DAEMON@mx.northwind.example\r\nTo: reports@northwind.example\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.northwind.example\r\n\r\nFinal-Recipient: rfc822; gone@northwind.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b1--\r\n";

#[test]
fn a_maildir_with_junk_ingests_the_rest_and_names_the_junk() {
    let dir = tempfile::tempdir().unwrap();
    let (common, _) = loop_setup(dir.path(), 9);
    let maildir = dir.path().join("bounces");
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::write(maildir.join("new/1.eml"), DSN).unwrap();
    std::fs::write(maildir.join("new/2.junk"), b"\x00\x01 not a report").unwrap();
    let mut args = vec!["bounces".to_string(), "ingest".into()];
    args.extend(common.iter().cloned());
    args.push(maildir.display().to_string());
    let out = bin().args(&args).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(6), "some files were junk: {stderr}");
    assert!(stdout.contains("1 hard bounce(s)") && stdout.contains("1 skipped"), "{stdout}");
    assert!(stderr.contains("2.junk"), "{stderr}");
    let _ = Path::new(&maildir);
}
