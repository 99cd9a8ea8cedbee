//! An alert's whole life through the binary: a seeded breach (a send the
//! server refuses, so the delivery success rate falls below its
//! objective) raises an alert; it is routed through the outbox to a
//! loopback SMTP sink, deduplicated on a second evaluation, escalated when
//! nobody acknowledges it, acknowledged, remediated under a plan whose
//! approval-gated task and final approval need another principal, and
//! resolved; the incident is closed and an exception goes through its
//! lifecycle. The drilldown shows the ordered timeline, and every step is
//! in the verified audit chain.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

struct Sink(std::process::Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mails(inbox: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(inbox)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| {
            let rcpt = std::fs::read_to_string(e.path().with_extension("rcpt")).unwrap().trim().to_string();
            let body = std::fs::read_to_string(e.path()).unwrap().replace("=\r\n", "").replace("=\n", "");
            (rcpt, body)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_seeded_breach_is_raised_routed_escalated_acknowledged_remediated_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inbox = d.join("inbox");
    let (sink, port) = scripted_smtp(&inbox, "rcpt550:ghost@northwind.example");
    let _sink = Sink(sink);
    let ids = identities(d);
    let (audit_sk, audit_pub) = audit_keys(d);
    let cfg = d.join("cavra.toml");
    std::fs::write(
        &cfg,
        format!(
            "[organisation]\nname = \"Northwind\"\nsender = \"reports@northwind.example\"\n\
             [delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             [[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
             [recipients.groups]\nsecops = [\"secops@northwind.example\"]\nciso = [\"ciso@northwind.example\"]\n\
             [roles.cso]\npermissions = [\"send_internal\", \"respond\"]\n\
             [alerts]\nwindow_hours = 48\n\
             [[alerts.rules]]\nid = \"delivery-success\"\nsignal = \"measure_breached\"\n\
             measure = \"delivery_success_rate\"\nroute = [\"group:secops\"]\n\
             escalate = [{{ after_hours = 1, route = [\"group:ciso\"] }}]\n{}",
            ids.toml
        ),
    )
    .unwrap();
    let outbox = d.join("outbox.db");
    let common = ["--config", cfg.to_str().unwrap(), "--outbox", outbox.to_str().unwrap()].map(String::from).to_vec();
    accept(&common, &ids.admin);
    let store = format!("sqlite:{}", d.join("store.db").display());
    let log = d.join("audit.jsonl");
    let audit = [
        "--audit-log".to_string(),
        log.display().to_string(),
        "--audit-key".into(),
        format!("file:{}", audit_sk.display()),
    ];
    let ok = |args: &[&str], extra: &[String]| -> String {
        let out = bin().args(args).args(extra).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let respond = |args: &[&str]| -> std::process::Output {
        bin().args(args).args(["--config", cfg.to_str().unwrap(), "--store", &store]).args(&audit).output().unwrap()
    };
    let done = |args: &[&str]| -> String {
        let out = respond(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&["store", "migrate", "--store", &store], &[]);

    // the seeded breach: one of two sends is refused for good, so 1 ÷ 2 = 50 % < 99 %
    let sent = deliver_send(&common, &ids.package, "ok@northwind.example,ghost@northwind.example", &ids.cso);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    let mut run = vec!["deliver".to_string(), "run".into(), "--store".into(), store.clone()];
    run.extend(common.iter().cloned());
    run.extend(audit.iter().cloned());
    let first = ok(&[], &run);
    assert!(first.contains("sent 1,") && first.contains("failed 1"), "{first}");

    let evaluate = |at: Option<&str>| -> String {
        let mut args = vec!["alerts", "evaluate", "--outbox", outbox.to_str().unwrap(), "--as", &ids.cso];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        done(&args)
    };
    let raised = evaluate(None);
    assert!(raised.contains(": 1 raised, 0 deduplicated, 0 escalated, 1 notice job(s) queued"), "{raised}");
    let alert = raised.split_whitespace().find(|w| w.starts_with("alt-")).unwrap().to_string();
    let again = evaluate(None);
    assert!(again.contains(": 0 raised, 1 deduplicated, 0 escalated, 0 notice job(s) queued"), "{again}");

    // routed to the loopback sink: the notice is composed from the ledger when it is sent
    let second = ok(&[], &run);
    assert!(second.contains("sent 1,"), "{second}");
    let m = mails(&inbox);
    let to_secops: Vec<_> = m.iter().filter(|(r, _)| r == "secops@northwind.example").collect();
    assert_eq!(to_secops.len(), 1, "{m:?}");
    assert!(to_secops[0].1.contains(&format!("Alert {alert} (level 1)")), "{}", to_secops[0].1);
    assert!(to_secops[0].1.contains("Delivery success rate: 50.00%"), "{}", to_secops[0].1);

    // nobody acknowledged it within the hour: level 2, to the CISO
    let later = |hours: i64| {
        let t = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours);
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    let escalated = evaluate(Some(&later(2)));
    assert!(escalated.contains("1 escalated, 1 notice job(s) queued"), "{escalated}");
    ok(&[], &run);
    let m = mails(&inbox);
    let to_ciso: Vec<_> = m.iter().filter(|(r, _)| r == "ciso@northwind.example").collect();
    assert_eq!(to_ciso.len(), 1, "{m:?}");
    assert!(to_ciso[0].1.contains("escalated to level 2"), "{}", to_ciso[0].1);

    // acknowledged: no further escalation, even much later
    done(&["alerts", "ack", &alert, "--note", "taking it", "--as", &ids.cso]);
    let twice = respond(&["alerts", "ack", &alert, "--as", &ids.cso]);
    assert_eq!(twice.status.code(), Some(3), "acknowledged once");
    let quiet = evaluate(Some(&later(8)));
    assert!(quiet.contains("0 escalated"), "{quiet}");

    // the plan: T2 needs an approver; the planner cannot give the final approval
    let due = later(72);
    let plan_file = d.join("plan.toml");
    std::fs::write(
        &plan_file,
        format!(
            "incident = \"INC-2026-041\"\nclosure_criteria = [\"a week of sends within objective\"]\n\
             control_updates = [\"refused recipients are reviewed weekly\"]\n\
             communications = [\"the CISO is told when the plan closes\"]\n\
             [[tasks]]\ntitle = \"Remove the refused address\"\nowner_role = \"cso\"\ndue = \"{due}\"\n\
             [[tasks]]\ntitle = \"Approve the recipient list\"\nowner_role = \"approver\"\ndue = \"{due}\"\n\
             approval_required = true\n"
        ),
    )
    .unwrap();
    let planned = done(&["remediation", "plan", &alert, "--plan", plan_file.to_str().unwrap(), "--as", &ids.cso]);
    let plan = planned.split_whitespace().next().unwrap().to_string();
    assert!(plan.starts_with("rem-"), "{planned}");
    let early = respond(&["alerts", "resolve", &alert, "--reason", "fixed", "--as", &ids.cso]);
    assert_eq!(early.status.code(), Some(3), "an alert with an open plan stays open");
    done(&["remediation", "task", "done", &plan, "T1", "--evidence", "sha256:ab12", "--as", &ids.cso]);
    let gated = respond(&["remediation", "task", "done", &plan, "T2", "--as", &ids.cso]);
    assert_eq!(gated.status.code(), Some(4), "T2 needs an approver");
    done(&["remediation", "task", "done", &plan, "T2", "--as", &ids.approver]);
    let own = respond(&[
        "remediation",
        "close",
        &plan,
        "--residual-risk",
        "low",
        "--review",
        "held",
        "--communications",
        "sent",
        "--as",
        &ids.cso,
    ]);
    assert_eq!(own.status.code(), Some(4), "the planner holds no approve permission");
    done(&[
        "remediation",
        "close",
        &plan,
        "--residual-risk",
        "low",
        "--review",
        "held; the recipient list is reviewed weekly",
        "--communications",
        "the CISO was told",
        "--as",
        &ids.approver,
    ]);
    done(&["alerts", "resolve", &alert, "--reason", "remediated", "--as", &ids.cso]);
    done(&[
        "incident",
        "close",
        "INC-2026-041",
        "--opened",
        &later(-1),
        "--severity",
        "medium",
        "--plan",
        &plan,
        "--lesson",
        "a refused address stayed in a board pack's list",
        "--as",
        &ids.approver,
    ]);
    done(&["exception", "renew", "EXC-7", "--until", &later(24 * 30), "--reason", "vendor fix due", "--as", &ids.cso]);
    done(&["exception", "close", "EXC-7", "--reason", "the fix is in", "--as", &ids.cso]);
    let after = respond(&["exception", "renew", "EXC-7", "--until", &later(48), "--reason", "again", "--as", &ids.cso]);
    assert_eq!(after.status.code(), Some(3), "a closed exception is not renewed");

    // the audit chain verifies, and holds every ledger event
    let verify = ok(&["audit", "verify", log.to_str().unwrap(), "--pubkey", audit_pub.to_str().unwrap()], &[]);
    assert!(verify.contains("verified"), "{verify}");

    // the snapshot and the drilldown: the ordered timeline, each step with its audit record
    let snap = d.join("ops.json");
    ok(
        &[
            "ops",
            "snapshot",
            "--config",
            cfg.to_str().unwrap(),
            "--outbox",
            outbox.to_str().unwrap(),
            "--store",
            &store,
        ],
        &[
            "--audit-log".into(),
            log.display().to_string(),
            "--audit-pubkey".into(),
            audit_pub.display().to_string(),
            "--to".into(),
            later(24 * 365),
            "--out".into(),
            snap.display().to_string(),
        ],
    );
    let out = d.join("reports");
    ok(
        &[
            "ops",
            "render",
            "--snapshot",
            snap.to_str().unwrap(),
            "--formats",
            "json,md",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let drill: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("alert-drilldown.json")).unwrap()).unwrap();
    let timeline = &drill["datasets"]["timeline"];
    let rows: Vec<&Value> =
        timeline["rows"].as_array().unwrap().iter().filter(|r| r["alert"] == alert.as_str()).collect();
    let steps: Vec<&str> = rows.iter().map(|r| r["step"].as_str().unwrap()).collect();
    assert_eq!(
        steps,
        [
            "alert raised",
            "alert routed",
            "alert escalated",
            "alert routed",
            "alert acknowledged",
            "remediation planned",
            "task done",
            "task done",
            "remediation closed",
            "alert resolved",
            "incident closed",
        ],
        "{timeline}"
    );
    let seqs: Vec<u64> = rows.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in ledger order: {seqs:?}");
    let records = audit_records(&log);
    for r in &rows {
        let n = r["audit_record"].as_u64().unwrap_or_else(|| panic!("{r} has no audit record"));
        let rec = records.iter().find(|x| x["seq"] == n).unwrap();
        assert_eq!(rec["event"]["action"], "response", "{rec}");
        assert_eq!(rec["event"]["detail"].as_str().unwrap().replace('_', " "), r["step"].as_str().unwrap());
    }
    let routing = &drill["datasets"]["routing"];
    let states: Vec<&str> = routing["rows"].as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["sent", "sent"], "{routing}");
    let lifecycle = std::fs::read_to_string(out.join("exception-lifecycle.md")).unwrap();
    assert!(lifecycle.contains("EXC-7") && lifecycle.contains("closed"), "{lifecycle}");
    let incident = std::fs::read_to_string(out.join("incident-closure.md")).unwrap();
    assert!(incident.contains("INC-2026-041") && incident.contains(&plan), "{incident}");
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(!text.contains('@'), "no address in the snapshot");

    // an edited ledger row stops every reader
    let db = rusqlite::Connection::open(d.join("store.db")).unwrap();
    db.execute("UPDATE response_events SET body = replace(body, 'taking it', 'edited') WHERE seq = 5", []).unwrap();
    let tampered = respond(&["alerts", "list"]);
    assert_eq!(tampered.status.code(), Some(5), "{}", String::from_utf8_lossy(&tampered.stderr));
}
