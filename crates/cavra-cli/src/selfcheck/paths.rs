//! The paths `selfcheck` runs, each through this binary's own commands
//! against the stand-ins of [`super::Bench`].

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};

use super::{Bench, State, Step, AUDITOR, INTERNAL, REFUSED};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn secops() -> String {
    format!("secops@{INTERNAL}")
}

fn ciso() -> String {
    format!("ciso@{INTERNAL}")
}

fn package(b: &Bench, name: &str) -> String {
    b.text(&format!("packages/{name}.zip"))
}

fn store_url(b: &Bench) -> String {
    format!("sqlite:{}", b.text("store.db"))
}

/// An RFC 3339 instant `hours` from now.
fn from_now(hours: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours)).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn expect(ok: bool, why: impl FnOnce() -> String) -> std::result::Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(why())
    }
}

pub(super) fn store_setup(b: &Bench, _: &mut State) -> Step {
    let out = b.run(&s(&["store", "migrate", "--store", &store_url(b)]))?;
    Ok(vec![out.lines().last().unwrap_or_default().trim().to_string()])
}

pub(super) fn acceptance(b: &Bench, _: &mut State) -> Step {
    b.cmd(&["policy", "accept", "--as", &b.key("admin")], true, false)?;
    Ok(vec!["the stand-in setup was accepted by a principal with manage_policy".into()])
}

pub(super) fn test_delivery(b: &Bench, _: &mut State) -> Step {
    b.cmd(&["deliver", "test", "--to", &secops(), "--as", &b.key("operator")], true, false)?;
    expect(b.received_by(&secops()) == 1, || "the loopback server received no test message".into())?;
    Ok(vec!["one test message reached the loopback SMTP server".into()])
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()).filter(|e| e.path().is_file()).count()).unwrap_or(0)
}

pub(super) fn rendering(b: &Bench, _: &mut State) -> Step {
    b.run(&s(&["render", "--sample", "--out", &b.text("render")]))?;
    b.run(&s(&["ops", "render", "--sample", "--out", &b.text("ops-render")]))?;
    let (posture, ops) = (count_files(&b.path("render")), count_files(&b.path("ops-render")));
    expect(posture > 0 && ops > 0, || "nothing was written".into())?;
    Ok(vec![format!("{posture} posture artifacts and {ops} operations artifacts rendered")])
}

pub(super) fn packaging(b: &Bench, _: &mut State) -> Step {
    b.run(&s(&["package", "--sample", "--signing-key", &b.key("package"), "--out", &b.text("packages")]))?;
    let mut zips: Vec<_> = std::fs::read_dir(b.path("packages"))
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    zips.sort();
    for z in &zips {
        b.run(&s(&["verify", &z.display().to_string(), "--pubkey", &b.text("package.pub")]))?;
    }
    expect(zips.len() == cavra_package::PackageType::ALL.len(), || format!("{} packages built", zips.len()))?;
    Ok(vec![format!("{} packages built, each verified against its signer's public key", zips.len())])
}

pub(super) fn blocked_send(b: &Bench, _: &mut State) -> Step {
    let before = b.sink.received().len();
    let refused = b.cmd(
        &["deliver", "send", "--package", &package(b, "board_and_audit_bundle"), "--to", "someone@unlisted.invalid"],
        true,
        false,
    );
    let refused = match refused {
        Ok(_) => return Err("a recipient outside the policy was queued".into()),
        Err(e) => e,
    };
    expect(refused.contains("exited 2") || refused.contains("exited 4"), || refused.clone())?;
    let _ = b.deliver()?;
    expect(b.sink.received().len() == before, || "something was sent".into())?;
    Ok(vec!["refused before anything was queued; nothing was sent".into()])
}

pub(super) fn approved_send(b: &Bench, _: &mut State) -> Step {
    let out = b.cmd(
        &[
            "deliver",
            "send",
            "--package",
            &package(b, "board_and_audit_bundle"),
            "--to",
            AUDITOR,
            "--as",
            &b.key("operator"),
        ],
        true,
        false,
    )?;
    let approval = out
        .split_whitespace()
        .find(|w| w.starts_with("appr-"))
        .ok_or("the external send did not wait for an approval")?
        .to_string();
    let early = b.deliver()?;
    expect(b.received_by(AUDITOR) == 0, || format!("sent before the approval: {}", early.trim()))?;
    let own = b.cmd(&["approvals", "approve", &approval, "--as", &b.key("operator")], true, false);
    expect(own.is_err(), || "the requester approved its own send".into())?;
    b.cmd(&["approvals", "approve", &approval, "--as", &b.key("approver")], true, false)?;
    b.deliver()?;
    expect(b.received_by(AUDITOR) == 1, || "the approved send did not arrive".into())?;
    Ok(vec![
        "held for approval; the requester could not approve it".into(),
        "sent after another principal's approval".into(),
    ])
}

pub(super) fn scheduled_run(b: &Bench, _: &mut State) -> Step {
    let before = b.received_by(&secops());
    let fired = b.cmd(&["schedule", "run-due", "--lookback-hours", "1", "--as", &b.key("operator")], true, false)?;
    let again = b.cmd(&["schedule", "run-due", "--lookback-hours", "1", "--as", &b.key("operator")], true, false)?;
    b.deliver()?;
    let got = b.received_by(&secops()) - before;
    let last = |t: &str| t.lines().last().unwrap_or_default().trim().to_string();
    expect(got == 1, || format!("{got} scheduled message(s) arrived ({}, then {})", last(&fired), last(&again)))?;
    Ok(vec!["the due run fired once (a second run-due fired nothing) and its send arrived".into()])
}

/// The room service, stopped when dropped.
pub(super) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The status code of a GET of a loopback `http://` URL.
fn get(url: &str) -> std::result::Result<(u16, String), String> {
    let rest = url.strip_prefix("http://").ok_or("not an http URL")?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut c = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    c.set_read_timeout(Some(std::time::Duration::from_secs(20))).map_err(|e| e.to_string())?;
    write!(c, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    c.take(8 * 1024 * 1024).read_to_end(&mut body).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let code = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or("no HTTP status")?;
    Ok((code, text))
}

pub(super) fn evidence_room(b: &Bench, st: &mut State) -> Step {
    let created = b.cmd(
        &[
            "room",
            "create",
            "--package",
            &package(b, "evidence_room_bundle"),
            "--pubkey",
            &b.text("package.pub"),
            "--allow-domain",
            &format!("audit.{INTERNAL}"),
            "--as",
            &b.key("operator"),
        ],
        false,
        true,
    )?;
    let room = created.split_whitespace().next().unwrap_or_default().to_string();
    let invited =
        b.cmd(&["room", "invite", &room, "--to", AUDITOR, "--print-link", "--as", &b.key("operator")], false, true)?;
    let link_id = invited.split_whitespace().next().unwrap_or_default().to_string();
    let link = invited.lines().find(|l| l.starts_with("http://")).ok_or("no link was printed")?.trim().to_string();
    let mut args = s(&["room", "serve", "--listen", &format!("127.0.0.1:{}", b.room_port)]);
    args.extend(b.common_logged(false, true, "access.jsonl"));
    let child = Command::new(&b.exe)
        .args(&args)
        .envs(b.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    st.server = Some(Server(child));
    let mut answer = Err("the room service did not answer".to_string());
    for _ in 0..100 {
        answer = get(&link);
        if answer.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, page) = answer?;
    expect(code == 200 && page.contains("Files in this room"), || format!("the link answered {code}"))?;
    st.link = Some(link);
    st.link_id = Some(link_id);
    Ok(vec![format!("{room} created from a verified package; its link opened the room (200)")])
}

pub(super) fn revocation(b: &Bench, st: &mut State) -> Step {
    let (link, id) = (st.link.clone().unwrap_or_default(), st.link_id.clone().unwrap_or_default());
    b.cmd(&["room", "revoke", &id, "--as", &b.key("operator")], false, true)?;
    let (code, _) = get(&link)?;
    st.server = None;
    expect(code != 200, || "the revoked link still opened the room".into())?;
    Ok(vec![format!("after revocation the link answered {code}")])
}

pub(super) fn retention(b: &Bench, _: &mut State) -> Step {
    let probe = b.path("render").join("board-kpi-pack.pdf");
    b.cmd(
        &[
            "store",
            "register",
            &probe.display().to_string(),
            "--tenant",
            "tenant:selfcheck",
            "--kind",
            "board-kpi-pack",
            "--format",
            "pdf",
            "--classification",
            "internal",
            "--as-of",
            &from_now(-24 * 100),
            "--retention",
            "operational_record",
        ],
        false,
        true,
    )?;
    let applied = b.cmd(&["retention", "apply", "--as", &b.key("operator")], false, true)?;
    let report = b.cmd(&["retention", "report", "--format", "json"], false, true)?;
    let doc: serde_json::Value = serde_json::from_str(&report).map_err(|e| format!("the retention report: {e}"))?;
    let tombstones = doc["tombstones"].as_array().map_or(0, Vec::len);
    expect(tombstones == 1, || format!("{tombstones} tombstone(s) after `{}`", applied.trim()))?;
    Ok(vec!["a report kept as an operational record, past its 90 days, was deleted; its tombstone is in the retention report".into()])
}

pub(super) fn alert_escalation(b: &Bench, st: &mut State) -> Step {
    b.cmd(
        &[
            "deliver",
            "send",
            "--package",
            &package(b, "board_and_audit_bundle"),
            "--to",
            REFUSED,
            "--as",
            &b.key("operator"),
        ],
        true,
        false,
    )?;
    b.deliver()?;
    let evaluate = |at: Option<&str>| {
        let mut args = s(&["alerts", "evaluate", "--outbox", &b.text("outbox.db"), "--as", &b.key("operator")]);
        if let Some(t) = at {
            args.extend(s(&["--at", t]));
        }
        args.extend(b.common(false, true));
        b.run(&args)
    };
    let raised = evaluate(None)?;
    let alert = raised.split_whitespace().find(|w| w.starts_with("alt-")).ok_or("no alert was raised")?.to_string();
    b.deliver()?;
    let notice = |to: &str, level: u32| {
        let needle = format!("Alert {alert} (level {level})");
        b.sink
            .received()
            .iter()
            .any(|m| m.recipients.iter().any(|r| r == to) && String::from_utf8_lossy(&m.data).contains(&needle))
    };
    expect(notice(&secops(), 1), || "the level-1 notice did not arrive".into())?;
    let escalated = evaluate(Some(&from_now(2)))?;
    expect(escalated.contains("1 escalated"), || escalated.trim().to_string())?;
    b.deliver()?;
    expect(notice(&ciso(), 2), || "the level-2 notice did not arrive".into())?;
    st.alert = Some(alert.clone());
    Ok(vec![format!("{alert} raised from a refused send, routed, then escalated after the hour; both notices arrived")])
}

pub(super) fn remediation_closure(b: &Bench, st: &mut State) -> Step {
    let alert = st.alert.clone().unwrap_or_default();
    b.cmd(&["alerts", "ack", &alert, "--as", &b.key("operator")], false, true)?;
    let plan_file = b.path("plan.toml");
    let plan_text = format!(
        "closure_criteria = [\"a week of sends within objective\"]\n\
         [[tasks]]\ntitle = \"Remove the refused recipient\"\nowner_role = \"operator\"\ndue = \"{}\"\n",
        from_now(72)
    );
    std::fs::write(&plan_file, plan_text).map_err(|e| e.to_string())?;
    let planned = b.cmd(
        &["remediation", "plan", &alert, "--plan", &plan_file.display().to_string(), "--as", &b.key("operator")],
        false,
        true,
    )?;
    let plan = planned.split_whitespace().next().unwrap_or_default().to_string();
    b.cmd(&["remediation", "task", "done", &plan, "T1", "--as", &b.key("operator")], false, true)?;
    let close = |who: &str| {
        b.cmd(
            &[
                "remediation",
                "close",
                &plan,
                "--residual-risk",
                "low",
                "--review",
                "self-check review",
                "--communications",
                "self-check notice",
                "--as",
                &b.key(who),
            ],
            false,
            true,
        )
    };
    expect(close("operator").is_err(), || "the planner gave its own final approval".into())?;
    close("approver")?;
    b.cmd(&["alerts", "resolve", &alert, "--reason", "remediated", "--as", &b.key("operator")], false, true)?;
    Ok(vec![format!("{plan} carried out, closed by another principal; the alert resolved")])
}

pub(super) fn operations_reports(b: &Bench, st: &mut State) -> Step {
    let mut args = s(&["ops", "snapshot", "--config", &b.text("cavra.toml"), "--outbox", &b.text("outbox.db")]);
    args.extend(s(&["--store", &store_url(b), "--audit-log", &b.text("audit.jsonl")]));
    args.extend(s(&["--audit-pubkey", &b.text("audit.pub"), "--to", &from_now(24), "--out", &b.text("ops.json")]));
    b.run(&args)?;
    let kinds = "report-center-kpis,alert-drilldown";
    b.run(&s(&[
        "ops",
        "render",
        "--snapshot",
        &b.text("ops.json"),
        "--kinds",
        kinds,
        "--formats",
        "json",
        "--out",
        &b.text("ops-out"),
    ]))?;
    let read = |name: &str| -> std::result::Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(b.path("ops-out").join(name)).map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    };
    let drill = read("alert-drilldown.json")?;
    let alert = st.alert.clone().unwrap_or_default();
    let rows: Vec<&serde_json::Value> = drill["datasets"]["timeline"]["rows"]
        .as_array()
        .map(|r| r.iter().filter(|x| x["alert"] == alert.as_str()).collect())
        .unwrap_or_default();
    let unaudited = rows.iter().filter(|r| r["audit_record"].is_null()).count();
    expect(rows.len() >= 8 && unaudited == 0, || format!("{} step(s), {unaudited} not in the audit log", rows.len()))?;
    let kpis = read("report-center-kpis.json")?;
    let rate = kpis["metrics"].as_array().and_then(|m| m.iter().find(|x| x["metric_id"] == "delivery_success_rate"));
    expect(rate.is_some_and(|r| r["value"].is_number()), || "the delivery success rate was not measured".into())?;
    Ok(vec![format!("the drilldown shows {} steps of the alert, each in the verified audit log", rows.len())])
}

pub(super) fn digest_distribution(b: &Bench, _: &mut State) -> Step {
    let before = b.received_by(&secops());
    let mut args = s(&["ops", "distribute", "--snapshot", &b.text("ops.json"), "--to", "group:secops"]);
    args.extend(s(&["--signing-key", &b.key("package"), "--out", &b.text("digest"), "--as", &b.key("operator")]));
    args.extend(b.common(true, false));
    b.run(&args)?;
    let record =
        std::fs::read_to_string(b.path("digest").join("digest_distribution.json")).map_err(|e| e.to_string())?;
    let record: serde_json::Value = serde_json::from_str(&record).map_err(|e| e.to_string())?;
    expect(record["signed_manifest_verified"] == true, || "the package was not verified".into())?;
    b.deliver()?;
    expect(b.received_by(&secops()) == before + 1, || "the digest did not arrive".into())?;
    Ok(vec!["sealed, verified, queued under the policy and delivered; its distribution record was written".into()])
}

pub(super) fn audit_chain(b: &Bench, _: &mut State) -> Step {
    let mut details = Vec::new();
    for log in ["audit.jsonl", "access.jsonl"] {
        if !b.path(log).exists() {
            continue;
        }
        let out = b.run(&s(&["audit", "verify", &b.text(log), "--pubkey", &b.text("audit.pub")]))?;
        let what = if log == "audit.jsonl" { "the operations log" } else { "the room service's access log" };
        details.push(format!("{what}: {}", out.lines().next().unwrap_or("verified").trim()));
    }
    Ok(details)
}
