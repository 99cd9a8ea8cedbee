//! Delivery end to end through the binary: principals, verified intake,
//! approvals, the outbox under a killed sender, the sending loop, test
//! deliveries and the audit log.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn deliver_refuses_before_queueing_and_audit_verify_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let ids = identities(dir.path());
    let cfg = dir.path().join("cavra.toml");
    std::fs::write(
        &cfg,
        "[organisation]\nsender = \"reports@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[[recipients.domains]]\ndomain = \"audit.example\"\nclassification = \"external_auditor\"\n\n[roles.cso]\npermissions = [\"send_internal\", \"send_external\", \"approve\"]\n".to_string() + &ids.toml,
    )
    .unwrap();
    let pkg = ids.package.clone();
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let sk = dir.path().join("audit.key");
    std::fs::write(&sk, kp.sk.to_box(None).unwrap().to_string()).unwrap();
    let pk = dir.path().join("audit.pub");
    std::fs::write(&pk, kp.pk.to_box().unwrap().to_string()).unwrap();
    let log = dir.path().join("audit.jsonl");
    let db = dir.path().join("outbox.db");
    let common = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--config".into(),
            cfg.display().to_string(),
            "--outbox".into(),
            db.display().to_string(),
            "--audit-log".into(),
            log.display().to_string(),
            "--audit-key".into(),
            format!("file:{}", sk.display()),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let send_as = |package: &Path, to: &str, who: &str| {
        let mut args = vec!["deliver".to_string(), "send".into()];
        args.extend(common(&["--package", package.to_str().unwrap(), "--to", to, "--as", who]));
        bin().args(&args).output().unwrap()
    };
    let send = |to: &str| send_as(&pkg, to, &ids.cso);
    // nothing acts under a setup file nobody with manage_policy accepted
    let unaccepted = send("cso@northwind.example");
    assert_eq!(unaccepted.status.code(), Some(4), "{}", String::from_utf8_lossy(&unaccepted.stderr));
    assert!(String::from_utf8_lossy(&unaccepted.stderr).contains("has not been accepted"));
    let mut by_cso = vec!["policy".to_string(), "accept".into(), "--as".into(), ids.cso.clone()];
    by_cso.extend(common(&[]));
    assert_eq!(bin().args(&by_cso).output().unwrap().status.code(), Some(4), "cso lacks manage_policy");
    accept(&common(&[]), &ids.admin);
    let refused = send("cso@northwind.example.evil.com");
    assert_eq!(refused.status.code(), Some(4), "{}", String::from_utf8_lossy(&refused.stderr));
    // a plain file, or a package signed by another key, is refused with nothing queued
    let plain = send_as(Path::new("/etc/hostname"), "cso@northwind.example", &ids.cso);
    assert_eq!(plain.status.code(), Some(4), "{}", String::from_utf8_lossy(&plain.stderr));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("does not verify"));
    let (other_sk, _, _) = keypair(dir.path(), "other-signer");
    let foreign = send_as(&signed_package(&other_sk, &dir.path().join("other")), "cso@northwind.example", &ids.cso);
    assert_eq!(foreign.status.code(), Some(4), "{}", String::from_utf8_lossy(&foreign.stderr));
    // a key that is no principal, and the flag that used to grant a role, grant nothing
    let nobody = send_as(&pkg, "cso@northwind.example", &format!("file:{}", other_sk.display()));
    assert_eq!(nobody.status.code(), Some(4), "{}", String::from_utf8_lossy(&nobody.stderr));
    let mut by_flag = vec!["deliver".to_string(), "send".into()];
    by_flag.extend(common(&["--package", pkg.to_str().unwrap(), "--to", "cso@northwind.example", "--role", "cso"]));
    assert_eq!(bin().args(&by_flag).output().unwrap().status.code(), Some(2), "--role is gone");
    assert!(
        !db.exists()
            || run(&["deliver", "status", "--config", cfg.to_str().unwrap(), "--outbox", db.to_str().unwrap()])
                .stdout
                .ends_with(b"0 job(s)\n")
    );
    let queued = send("cso@northwind.example");
    assert!(queued.status.success(), "{}", String::from_utf8_lossy(&queued.stderr));
    assert!(String::from_utf8_lossy(&queued.stdout).contains("queued 1 job(s)"));
    // an external send waits; its requester cannot approve it, the approver can
    let external = send("lead@audit.example");
    assert!(external.status.success(), "{}", String::from_utf8_lossy(&external.stderr));
    let stdout = String::from_utf8_lossy(&external.stdout).into_owned();
    let id = stdout.split_whitespace().find(|w| w.starts_with("appr-")).unwrap().to_string();
    let decide = |who: &str| {
        let mut args = vec!["approvals".to_string(), "approve".into(), id.clone()];
        args.extend(common(&["--as", who, "--reason", "board pack for the audit"]));
        bin().args(&args).output().unwrap()
    };
    let own = decide(&ids.cso);
    assert_eq!(own.status.code(), Some(4), "{}", String::from_utf8_lossy(&own.stderr));
    assert!(String::from_utf8_lossy(&own.stderr).contains("cannot decide its own request"));
    let approved = decide(&ids.approver);
    assert!(approved.status.success(), "{}", String::from_utf8_lossy(&approved.stderr));
    assert!(String::from_utf8_lossy(&approved.stdout).contains("now approved (1 of 1 approval(s)); 1 job(s) changed"));

    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", log.to_str().unwrap(), "--pubkey", pk.to_str().unwrap()];
        args.extend(extra);
        run(&args)
    };
    let ok = verify(&[]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("northwind.example.evil.com") && !text.contains("cso@"), "no address in the audit log");
    assert_eq!(verify(&["--closed"]).status.code(), Some(5), "the log is still open");
    // keep the head, close the log, and check both
    let head = run(&["audit", "head", log.to_str().unwrap(), "--pubkey", pk.to_str().unwrap()]);
    assert!(head.status.success(), "{}", String::from_utf8_lossy(&head.stderr));
    let head_file = dir.path().join("head.json");
    std::fs::write(&head_file, &head.stdout).unwrap();
    let closed = run(&["audit", "close", log.to_str().unwrap(), "--audit-key", &format!("file:{}", sk.display())]);
    assert!(closed.status.success(), "{}", String::from_utf8_lossy(&closed.stderr));
    assert!(verify(&["--closed", "--expect-head", head_file.to_str().unwrap()]).status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    // a log cut below the kept head fails
    let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, &cut).unwrap();
    let short = verify(&["--expect-head", head_file.to_str().unwrap()]);
    assert_eq!(short.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&short.stdout).contains("records were cut"),
        "{}",
        String::from_utf8_lossy(&short.stdout)
    );
    // an edit is named by record, and nothing more is appended to a log that does not verify
    std::fs::write(&log, text.replacen("blocked_policy", "accepted", 1)).unwrap();
    let bad = verify(&[]);
    assert_eq!(bad.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("FAIL  record 2"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
    let refused_append = send("cso@northwind.example");
    assert_eq!(refused_append.status.code(), Some(5), "{}", String::from_utf8_lossy(&refused_append.stderr));

    let next = run(&[
        "schedule",
        "next",
        "--cadence",
        "cron 30 2 * * *",
        "--timezone",
        "America/New_York",
        "--after",
        "2026-03-07T12:00:00Z",
        "--count",
        "1",
    ]);
    assert!(String::from_utf8_lossy(&next.stdout).starts_with("2026-03-08T07:30:00Z  2026-03-08T03:30-04:00 EDT"));
}

#[test]
fn a_sender_killed_mid_batch_resumes_and_every_job_is_sent_once_or_flagged() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cavra-deliver/tests/support/smtp_sink.py");
    let mut server = Command::new("python3")
        .arg(&script)
        .arg("scripted")
        .arg(&inbox)
        .arg("slowdata:0.6")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().expect("server port");
    let ids = identities(dir.path());
    let cfg = dir.path().join("cavra.toml");
    std::fs::write(
        &cfg,
        format!("[organisation]\nsender = \"reports@northwind.example\"\n\n[delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\n[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\n[roles.cso]\npermissions = [\"send_internal\"]\n{}", ids.toml),
    )
    .unwrap();
    let pkg = ids.package.clone();
    let common = ["--config", cfg.to_str().unwrap(), "--outbox", dir.path().join("outbox.db").to_str().unwrap()]
        .map(String::from);
    accept(&common, &ids.admin);
    let to: Vec<String> = (1..=5).map(|i| format!("r{i}@northwind.example")).collect();
    assert!(deliver_send(&common, &pkg, &to.join(","), &ids.cso).status.success());

    let mut run_args = vec!["deliver".to_string(), "run".into(), "--lease-seconds".into(), "2".into()];
    run_args.extend(common.iter().cloned());
    // Kill the sender while it waits for the server's answer to a message.
    let mut sender = bin().args(&run_args).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    sender.kill().unwrap(); // SIGKILL
    sender.wait().unwrap();
    // After the lease has run out, a new sender finishes the batch.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let out = bin().args(&run_args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut status = vec!["deliver".to_string(), "status".into()];
    status.extend(common.iter().cloned());
    let listing = String::from_utf8_lossy(&bin().args(&status).output().unwrap().stdout).into_owned();
    let _ = server.kill();
    let _ = server.wait();

    let jobs: Vec<&str> = listing.lines().filter(|l| l.starts_with("job-")).collect();
    assert_eq!(jobs.len(), 5, "{listing}");
    assert!(jobs.iter().all(|l| l.contains("  sent  ")), "{listing}");
    // At the sink: every job once, except the one killed after DATA, which may be there twice, flagged.
    let mut by_id: std::collections::BTreeMap<String, usize> = Default::default();
    for e in std::fs::read_dir(&inbox)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let id = text.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap().to_string();
        *by_id.entry(id).or_default() += 1;
    }
    eprintln!("{listing}{by_id:?}");
    assert_eq!(by_id.len(), 5, "{by_id:?}");
    let flagged: Vec<&&str> = jobs.iter().filter(|l| l.contains("possible-duplicate")).collect();
    for (id, n) in &by_id {
        if *n > 1 {
            assert_eq!(*n, 2, "{id}");
            let mid = id.split_once(':').unwrap().1.trim();
            assert!(flagged.iter().any(|l| l.contains(mid)), "a duplicate at the sink is flagged: {listing}");
        }
    }
    assert_eq!(flagged.len(), 1, "exactly the job in flight when the sender died is flagged: {listing}");
}

#[test]
fn deliver_run_loop_retries_until_idle_and_shows_progress_without_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let (mut server, port) = scripted_smtp(&inbox, "greeting421,rcpt450");
    let (common, ids) = loop_setup(dir.path(), port);
    let pkg = ids.package.clone();
    assert!(deliver_send(&common, &pkg, "a@northwind.example,b@northwind.example", &ids.cso).status.success());

    let mut bad_lease = vec!["deliver".to_string(), "run".into(), "--lease-seconds".into(), "-5".into()];
    bad_lease.extend(common.iter().cloned());
    assert_eq!(bin().args(&bad_lease).output().unwrap().status.code(), Some(2), "a lease must be 1 s to a day");

    let mut run_args = vec!["deliver".to_string(), "run".into(), "--loop".into(), "--until-idle".into()];
    run_args.extend(["--poll-seconds", "1"].map(String::from));
    run_args.extend(common.iter().cloned());
    let out = bin().args(&run_args).output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "sent 2, retry scheduled 2, failed 0, dead-lettered 0", "{stderr}");
    // one progress line per attempt: two retried, two sent
    assert_eq!(stderr.lines().filter(|l| l.contains(" retry_scheduled (attempt 1)")).count(), 2, "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.contains(" sent (attempt 2)")).count(), 2, "{stderr}");
    assert!(!stderr.contains('@'), "progress never shows an address: {stderr}");
    let eml = std::fs::read_dir(&inbox)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml"));
    assert_eq!(eml.count(), 2);
}

#[test]
fn deliver_run_loop_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (common, _) = loop_setup(dir.path(), 9);
    let mut run_args = vec!["deliver".to_string(), "run".into(), "--loop".into()];
    run_args.extend(common.iter().cloned());
    let mut sender = bin()
        .args(&run_args)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(sender.try_wait().unwrap().is_none(), "a looping sender keeps running");
    let killed = Command::new("kill").arg("-TERM").arg(sender.id().to_string()).status().unwrap();
    assert!(killed.success());
    // Wait (up to about 10 s) for it to finish the loop and exit.
    for _ in 0..200 {
        if sender.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(sender.try_wait().unwrap().is_some(), "the sender did not stop on SIGTERM");
    let out = sender.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("stopped; sent 0"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sent 0, retry scheduled 0, failed 0, dead-lettered 0");
}

#[test]
fn deliver_test_sends_a_test_message_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let (mut server, port) = scripted_smtp(&inbox, "");
    let (mut common, ids) = loop_setup(dir.path(), port);
    let (sk, pk) = audit_keys(dir.path());
    let log = dir.path().join("audit.jsonl");
    common.extend([
        "--audit-log".into(),
        log.display().to_string(),
        "--audit-key".into(),
        format!("file:{}", sk.display()),
    ]);
    let test = |to: &str| {
        let mut args =
            vec!["deliver".to_string(), "test".into(), "--to".into(), to.into(), "--as".into(), ids.cso.clone()];
        args.extend(common.iter().cloned());
        bin().args(&args).output().unwrap()
    };
    let ok = test("cso@northwind.example");
    let _ = server.kill();
    let _ = server.wait();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "recipient 1 (northwind.example): test passed");
    let eml: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(eml.len(), 1);
    let text = std::fs::read_to_string(&eml[0]).unwrap();
    assert!(text.contains("cavra-delivery-test.txt") && text.contains("delivery test"), "{text}");
    let mut status = vec!["deliver".to_string(), "status".into()];
    status.extend(common[..4].iter().cloned()); // --config and --outbox, without the audit log
    let listing = bin().args(&status).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&listing.stdout).trim(), "0 job(s)", "a test delivery queues nothing");

    let refused = test("cso@northwind.example.evil.com");
    assert_eq!(refused.status.code(), Some(4));
    let records = audit_records(&log);
    let events: Vec<(&str, &str)> =
        records.iter().filter_map(|r| Some((r["event"]["action"].as_str()?, r["event"]["status"].as_str()?))).collect();
    assert_eq!(events, [("test_delivery", "test_passed"), ("test_delivery", "blocked_policy")]);
    assert_eq!(records[1]["event"]["actor"]["principal"], "cso-office", "the principal is recorded");
    assert!(!std::fs::read_to_string(&log).unwrap().contains('@'));
    assert!(run(&["audit", "verify", log.to_str().unwrap(), "--pubkey", pk.to_str().unwrap()]).status.success());
}

#[test]
fn render_package_and_catalog_append_audit_events() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = audit_keys(dir.path());
    let log = dir.path().join("audit.jsonl");
    let key = format!("file:{}", sk.display());
    let ids = identities(dir.path());
    let cfg = dir.path().join("cavra.toml");
    std::fs::write(
        &cfg,
        format!(
            "[roles.grc]\npermissions = [\"render\"]\n[roles.cso]\npermissions = [\"send_internal\"]{}",
            ids.toml.replace("roles = [\"cso\"]", "roles = [\"grc\"]")
        ),
    )
    .unwrap();
    let acting_as = |who: &str| -> [String; 8] {
        ["--audit-log", log.to_str().unwrap(), "--audit-key", &key, "--config", cfg.to_str().unwrap(), "--as", who]
            .map(String::from)
    };
    let cso = acting_as(&ids.cso);
    let audit = cso.each_ref().map(String::as_str);
    let out = dir.path().join("out");
    let mut args = vec![
        "render",
        "--sample",
        "--out",
        out.to_str().unwrap(),
        "--kinds",
        "executive-risk-brief",
        "--formats",
        "md,csv",
    ];
    args.extend(audit);
    let rendered = run(&args);
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    let mut args = vec!["catalog"];
    args.extend(audit);
    assert!(run(&args).status.success());
    let mut args = vec!["render", "--input", "/nonexistent/snapshot.json", "--out", out.to_str().unwrap()];
    args.extend(audit);
    assert_eq!(run(&args).status.code(), Some(1));

    let records = audit_records(&log);
    let events: Vec<&serde_json::Value> =
        records.iter().filter(|r| r.get("event").is_some()).map(|r| &r["event"]).collect();
    assert_eq!(events.len(), 4, "{records:?}");
    for (e, name) in events.iter().zip(["executive-risk-brief.md", "executive-risk-brief.csv"]) {
        assert_eq!(
            (e["action"].as_str(), e["status"].as_str(), e["actor"]["roles"][0].as_str()),
            (Some("render"), Some("rendered"), Some("grc"))
        );
        assert_eq!(e["actor"]["principal"], "cso-office");
        assert_eq!(e["evidence"]["evidence_refs"][0], name);
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert_eq!(
            e["evidence"]["report_digest_ref"].as_str().unwrap(),
            format!("sha256:{}", sha256_hex(&bytes)),
            "the artifact's digest"
        );
    }
    assert_eq!((events[2]["action"].as_str(), events[2]["status"].as_str()), (Some("catalog"), Some("accepted")));
    assert_eq!((events[3]["action"].as_str(), events[3]["status"].as_str()), (Some("render"), Some("failed")));
    assert_eq!(events[3]["detail"], "I/O or internal failure (exit 1)");
    assert!(run(&["audit", "verify", log.to_str().unwrap(), "--pubkey", pk.to_str().unwrap()]).status.success());
    // a principal without `render` is refused, and the refusal is recorded
    let approver_args = acting_as(&ids.approver);
    let approver = approver_args.each_ref().map(String::as_str);
    let mut args = vec!["catalog"];
    args.extend(approver);
    assert_eq!(run(&args).status.code(), Some(4));
    let last = audit_records(&log).pop().unwrap();
    assert_eq!(
        (last["event"]["action"].as_str(), last["event"]["status"].as_str()),
        (Some("catalog"), Some("blocked_policy"))
    );
}

#[test]
fn a_changed_setup_file_needs_a_new_acceptance_by_a_policy_manager() {
    let dir = tempfile::tempdir().unwrap();
    let (common, ids) = loop_setup(dir.path(), 9);
    let cfg = std::path::PathBuf::from(&common[1]);
    let send = || deliver_send(&common, &ids.package, "cso@northwind.example", &ids.cso);
    assert!(send().status.success(), "{}", String::from_utf8_lossy(&send().stderr));
    // cso-office grants itself the admin role by editing the file
    let text = std::fs::read_to_string(&cfg).unwrap();
    let escalated = text.replacen("roles = [\"cso\"]", "roles = [\"cso\", \"admin\"]", 1);
    std::fs::write(&cfg, &escalated).unwrap();
    let refused = send();
    assert_eq!(refused.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("changed since it was accepted"));
    // … and cannot accept the change itself: it held no manage_policy in the file accepted before
    let mut own = vec!["policy".to_string(), "accept".into(), "--as".into(), ids.cso.clone()];
    own.extend(common.iter().cloned());
    let out = bin().args(&own).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    // the policy manager accepts it; sends go on
    accept(&common, &ids.admin);
    assert!(send().status.success());
    // a schedule-only change can be accepted with `schedule` (admin holds it too)
    std::fs::write(&cfg, format!("{escalated}\n[[schedules]]\nid = \"weekly\"\ncadence = \"weekly mon 08:00\"\npackage = \"{}\"\nto = [\"cso@northwind.example\"]\nrole = \"cso\"\n", ids.package.display())).unwrap();
    assert_eq!(send().status.code(), Some(4));
    accept(&common, &ids.admin);
    assert!(send().status.success());
}
