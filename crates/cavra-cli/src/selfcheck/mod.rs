//! `selfcheck`: every path an operator must trust, run end to end against
//! loopback stand-ins this command starts itself, and the packets that say
//! what held.
//!
//! The setup file given is validated as it is. The paths then run, with
//! this binary, in a throw-away workspace: a stand-in setup with the
//! setup file's organisation and evidence-room link key (so a key that
//! does not resolve breaks the room paths as it would in service), fresh
//! keys for its principals, an SQLite outbox and record store, a signed
//! audit log, a loopback SMTP server ([`cavra_deliver::loopback`]) and the
//! room service on a loopback port. Nothing of the operator's records is
//! read or changed, and nothing leaves the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use cavra_deliver::config::Config;
use cavra_deliver::loopback::SmtpStandIn;
use cavra_ops::readiness::{to_json, Area, CheckResult, ValidationPacket};
use cavra_render::signed::SigningKey;
use clap::Args;

mod paths;

#[derive(Debug, Args)]
pub struct SelfcheckArgs {
    /// The setup file to check.
    #[arg(long, value_name = "cavra.toml", default_value = "cavra.toml")]
    config: PathBuf,
    /// Where the validation packet and the readiness packets are written.
    #[arg(long, value_name = "DIR", default_value = "selfcheck")]
    out: PathBuf,
}

/// The stand-in's domains and addresses.
const INTERNAL: &str = "selfcheck.example";
const AUDITOR: &str = "lead@audit.selfcheck.example";
const REFUSED: &str = "refused@selfcheck.example";
/// The link key a stand-in uses when the setup file has none.
const LINK_KEY_VAR: &str = "CAVRA_SELFCHECK_LINK_KEY";

/// The throw-away workspace and its stand-ins.
struct Bench {
    dir: tempfile::TempDir,
    exe: PathBuf,
    sink: SmtpStandIn,
    room_port: u16,
    env: Vec<(String, String)>,
}

/// What a check returns: its details, or why it failed.
type Step = std::result::Result<Vec<String>, String>;

impl Bench {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn text(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn key(&self, name: &str) -> String {
        format!("file:{}", self.text(&format!("{name}.key")))
    }

    /// The setup, outbox, store and audit flags most commands take.
    fn common(&self, outbox: bool, store: bool) -> Vec<String> {
        self.common_logged(outbox, store, "audit.jsonl")
    }

    /// As [`Bench::common`], appending to the audit log `log` (the room
    /// service holds its own log while it runs).
    fn common_logged(&self, outbox: bool, store: bool, log: &str) -> Vec<String> {
        let mut v = vec!["--config".to_string(), self.text("cavra.toml")];
        if outbox {
            v.extend(["--outbox".into(), self.text("outbox.db")]);
        }
        if store {
            v.extend(["--store".into(), format!("sqlite:{}", self.text("store.db"))]);
        }
        v.extend(["--audit-log".into(), self.text(log), "--audit-key".into(), self.key("audit")]);
        v
    }

    /// Runs this binary; the first line of its error, with the workspace's path hidden.
    fn run(&self, args: &[String]) -> std::result::Result<String, String> {
        let out = Command::new(&self.exe)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.exe.display()))?;
        let hide = |s: &str| s.replace(&self.dir.path().display().to_string(), "<workspace>");
        match out.status.code() {
            Some(0) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
            code => {
                let err = String::from_utf8_lossy(&out.stderr);
                let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
                let name: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
                Err(format!("`{}` exited {}: {}", name.join(" "), code.unwrap_or(-1), hide(first)))
            }
        }
    }

    fn cmd(&self, head: &[&str], outbox: bool, store: bool) -> std::result::Result<String, String> {
        let mut args: Vec<String> = head.iter().map(|s| s.to_string()).collect();
        args.extend(self.common(outbox, store));
        self.run(&args)
    }

    /// Sends every due job once; what it printed.
    fn deliver(&self) -> std::result::Result<String, String> {
        self.cmd(&["deliver", "run", "--store", &format!("sqlite:{}", self.text("store.db"))], true, false)
    }

    fn received_by(&self, address: &str) -> usize {
        self.sink.received().iter().filter(|m| m.recipients.iter().any(|r| r == address)).count()
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| path.display().to_string())
}

/// The stand-in setup: the operator's organisation and link key, everything else its own.
fn standin_setup(bench: &Bench, operator: Option<&Config>, keys: &[(&str, &SigningKey)]) -> String {
    let organisation = operator.and_then(|c| c.organisation.name.clone()).unwrap_or_else(|| "Self-check".into());
    let link_key = operator.and_then(|c| c.rooms.link_key.clone()).unwrap_or_else(|| format!("env:{LINK_KEY_VAR}"));
    let pk =
        |name: &str| keys.iter().find(|(n, _)| *n == name).map(|(_, k)| k.public_key().base64()).unwrap_or_default();
    let mut t = format!(
        "[organisation]\nname = {organisation:?}\nsender = \"reports@{INTERNAL}\"\n\
         [delivery]\nmode = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         [retry]\nbackoff_seconds = 1\nmax_backoff_seconds = 2\n\
         [packages]\nsigning_public_key = \"{}\"\n\
         [recipients]\nexternal_approval_required = true\n\
         [[recipients.domains]]\ndomain = \"{INTERNAL}\"\nclassification = \"internal\"\n\
         [[recipients.domains]]\ndomain = \"audit.{INTERNAL}\"\nclassification = \"external_auditor\"\n\
         [recipients.groups]\nsecops = [\"secops@{INTERNAL}\"]\nciso = [\"ciso@{INTERNAL}\"]\n\
         [roles.operator]\npermissions = [\"render\", \"send_internal\", \"send_external\", \"schedule\", \"respond\", \
         \"manage_rooms\", \"retrieve\", \"legal_hold\", \"apply_retention\"]\nclassifications = [\"internal\", \"confidential\"]\n\
         [roles.approver]\npermissions = [\"approve\", \"approve_retention\"]\n\
         [roles.admin]\npermissions = [\"manage_policy\", \"schedule\"]\n",
        bench.sink.port(),
        pk("package")
    );
    for name in ["operator", "approver", "admin"] {
        t.push_str(&format!("[principals.{name}]\npublic_key = \"{}\"\nroles = [\"{name}\"]\n", pk(name)));
    }
    t.push_str(&format!(
        "[rooms]\nlink_key = {link_key:?}\npublic_url = \"http://127.0.0.1:{}\"\n\
         [alerts]\nwindow_hours = 24\n\
         [[alerts.rules]]\nid = \"selfcheck-delivery\"\nsignal = \"measure_breached\"\nmeasure = \"delivery_success_rate\"\n\
         route = [\"group:secops\"]\nescalate = [{{ after_hours = 1, route = [\"group:ciso\"] }}]\n\
         [[schedules]]\nid = \"selfcheck-daily\"\ncadence = \"daily {}\"\ntimezone = \"UTC\"\npackage = {:?}\n\
         to = [\"group:secops\"]\nrole = \"operator\"\nsubject = \"Self-check scheduled run\"\n",
        bench.room_port,
        // A daily run a minute ago: exactly one is due within the last hour.
        (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1)).strftime("%H:%M"),
        bench.text("packages/board_and_audit_bundle.zip"),
    ));
    t
}

pub fn selfcheck(args: &SelfcheckArgs) -> Result<()> {
    let text = cavra_model::limits::read_text_bounded(&args.config, 1024 * 1024)
        .with_context(|| args.config.display().to_string())?;
    let setup_digest = cavra_package::manifest::sha256_tagged(text.as_bytes());
    let loaded = Config::from_toml(&text);
    let mut checks = vec![setup_check(&loaded)];
    let operator = loaded.as_ref().ok();
    let bench = start_bench()?;
    let keys: Vec<(&str, SigningKey)> = ["operator", "approver", "admin", "package", "audit"]
        .into_iter()
        .map(|n| SigningKey::generate().map(|k| (n, k)))
        .collect::<std::result::Result<_, _>>()?;
    for (name, key) in &keys {
        write(&bench.path(&format!("{name}.key")), &key.secret_key_file())?;
        write(&bench.path(&format!("{name}.pub")), &key.public_key_file())?;
    }
    let refs: Vec<(&str, &SigningKey)> = keys.iter().map(|(n, k)| (*n, k)).collect();
    write(&bench.path("cavra.toml"), &standin_setup(&bench, operator, &refs))?;
    checks.extend(run_paths(&bench));
    let organisation = operator.and_then(|c| c.organisation.name.clone()).unwrap_or_else(|| "Self-check".into());
    let packet = ValidationPacket::new(&organisation, &setup_digest, checks);
    write_packets(&args.out, &packet)?;
    for c in &packet.checks {
        let mark = match c.outcome {
            cavra_ops::readiness::Outcome::Passed => "pass",
            cavra_ops::readiness::Outcome::Failed => "FAIL",
        };
        crate::say!("{mark}  {:<15} {:<22} {}", c.area.as_str(), c.check_id, c.details.join("; "));
    }
    crate::say!("{} passed, {} failed; packets in {}", packet.passed, packet.failed, args.out.display());
    if packet.ready {
        Ok(())
    } else {
        Err(crate::commands::Outcome::CheckFailed(format!("{} check(s) failed", packet.failed)).into())
    }
}

fn write_packets(out: &Path, packet: &ValidationPacket) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    crate::write::atomic_write(&out.join("validation_packet.json"), to_json(packet).as_bytes())?;
    for r in packet.readiness() {
        let name = format!("readiness_{}.json", r.area.as_str());
        crate::write::atomic_write(&out.join(name), to_json(&r).as_bytes())?;
    }
    Ok(())
}

fn start_bench() -> Result<Bench> {
    let dir = tempfile::Builder::new().prefix("cavra-selfcheck.").tempdir()?;
    let exe = std::env::current_exe().context("finding this program")?;
    let sink = SmtpStandIn::start(&[REFUSED]).context("starting the loopback SMTP stand-in")?;
    let room_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut env = Vec::new();
    if std::env::var_os(LINK_KEY_VAR).is_none() {
        let hex: String = SigningKey::generate()?.key_id().repeat(4);
        env.push((LINK_KEY_VAR.to_string(), format!("selfcheck link key {hex}")));
    }
    Ok(Bench { dir, exe, sink, room_port, env })
}

fn setup_check(loaded: &std::result::Result<Config, cavra_deliver::config::ConfigError>) -> CheckResult {
    let title = "The setup file loads and validates";
    match loaded {
        Ok(c) => CheckResult::passed(
            "setup_validation",
            Area::DeliverySetup,
            title,
            vec![
                format!("delivery mode {}", c.delivery.mode.as_str()),
                format!("{} principal(s), {} role(s)", c.principals.len(), c.roles.len()),
                format!(
                    "{} recipient domain rule(s), {} group(s)",
                    c.recipients.domains.len(),
                    c.recipients.groups.len()
                ),
                format!("{} schedule(s), {} alert rule(s)", c.schedules.len(), c.alerts.rules.len()),
            ],
        ),
        Err(e) => CheckResult::failed("setup_validation", Area::DeliverySetup, title, vec![e.to_string()]),
    }
}

/// One path: its id, area, title, what it does and the paths it needs.
struct Check {
    id: &'static str,
    area: Area,
    title: &'static str,
    run: fn(&Bench, &mut State) -> Step,
    needs: &'static [&'static str],
}

/// What the paths hand on to each other.
#[derive(Default)]
struct State {
    link: Option<String>,
    link_id: Option<String>,
    alert: Option<String>,
    server: Option<paths::Server>,
    passed: Vec<&'static str>,
}

const PATHS: &[Check] = &[
    Check {
        id: "store_setup",
        area: Area::DeliverySetup,
        title: "The record store's schema is created",
        run: paths::store_setup,
        needs: &[],
    },
    Check {
        id: "setup_acceptance",
        area: Area::DeliverySetup,
        title: "A setup file is accepted for the outbox by a principal",
        run: paths::acceptance,
        needs: &[],
    },
    Check {
        id: "test_delivery",
        area: Area::DeliverySetup,
        title: "A test message reaches the transport",
        run: paths::test_delivery,
        needs: &["setup_acceptance"],
    },
    Check {
        id: "rendering",
        area: Area::Catalog,
        title: "Every report kind renders in every format",
        run: paths::rendering,
        needs: &[],
    },
    Check {
        id: "packaging",
        area: Area::Catalog,
        title: "Every package type builds and verifies",
        run: paths::packaging,
        needs: &[],
    },
    Check {
        id: "blocked_send",
        area: Area::Governance,
        title: "A send to a recipient outside the policy is refused",
        run: paths::blocked_send,
        needs: &["store_setup", "setup_acceptance", "packaging"],
    },
    Check {
        id: "approved_send",
        area: Area::Governance,
        title: "An external send waits for, and goes out after, an approval",
        run: paths::approved_send,
        needs: &["store_setup", "setup_acceptance", "packaging"],
    },
    Check {
        id: "scheduled_run",
        area: Area::Operations,
        title: "A due schedule fires once and its send goes out",
        run: paths::scheduled_run,
        needs: &["store_setup", "setup_acceptance", "packaging"],
    },
    Check {
        id: "evidence_room",
        area: Area::Assurance,
        title: "An evidence room opens to its link",
        run: paths::evidence_room,
        needs: &["store_setup", "packaging"],
    },
    Check {
        id: "revocation",
        area: Area::Assurance,
        title: "A revoked link opens nothing",
        run: paths::revocation,
        needs: &["evidence_room"],
    },
    Check {
        id: "retention",
        area: Area::Assurance,
        title: "An expired record is deleted under retention, leaving a tombstone",
        run: paths::retention,
        needs: &["store_setup", "rendering"],
    },
    Check {
        id: "alert_escalation",
        area: Area::Response,
        title: "A breach raises an alert, routed and escalated through the outbox",
        run: paths::alert_escalation,
        needs: &["store_setup", "setup_acceptance", "packaging"],
    },
    Check {
        id: "remediation_closure",
        area: Area::Response,
        title: "An alert is remediated, closed by another principal and resolved",
        run: paths::remediation_closure,
        needs: &["alert_escalation"],
    },
    Check {
        id: "operations_reports",
        area: Area::Operations,
        title: "The operations snapshot and the KPI report are made from the records",
        run: paths::operations_reports,
        needs: &["remediation_closure"],
    },
    Check {
        id: "digest_distribution",
        area: Area::Governance,
        title: "The executive digest is distributed in a verified package",
        run: paths::digest_distribution,
        needs: &["operations_reports"],
    },
    Check {
        id: "audit_chain",
        area: Area::Assurance,
        title: "The audit log of every step verifies",
        run: paths::audit_chain,
        needs: &[],
    },
];

fn run_paths(bench: &Bench) -> Vec<CheckResult> {
    let mut state = State::default();
    let mut out = Vec::new();
    for p in PATHS {
        let missing: Vec<&str> = p.needs.iter().copied().filter(|n| !state.passed.contains(n)).collect();
        let result = if missing.is_empty() {
            (p.run)(bench, &mut state)
        } else {
            Err(format!("not run: it needs {}", missing.join(", ")))
        };
        out.push(match result {
            Ok(details) => {
                state.passed.push(p.id);
                CheckResult::passed(p.id, p.area, p.title, details)
            }
            Err(why) => CheckResult::failed(p.id, p.area, p.title, vec![why]),
        });
    }
    out
}
