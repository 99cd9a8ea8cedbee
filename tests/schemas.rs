//! The JSON Schemas in `schemas/` are an independent statement of the
//! contracts: the input snapshot, the board KPI pack and every report's JSON
//! form. A separate validator checks our inputs and outputs against them.

mod common;

use cavra_reports::model::LoadOptions;
use cavra_reports::synth::{generate, SynthConfig};
use serde_json::Value;

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(common::root().join("schemas").join(name)).expect("schema file");
    let value: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options().should_validate_formats(true).build(&value).expect("schema compiles")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn sample_and_synthetic_snapshots_match_the_input_schema() {
    let v = schema("activity_snapshot.v1.schema.json");
    let sample: Value = serde_json::from_str(&common::sample_text()).unwrap();
    assert_eq!(errors(&v, &sample), Vec::<String>::new());
    let synthetic =
        serde_json::to_value(generate(&SynthConfig { agents: 30, decisions: 500, seed: 9, ..SynthConfig::default() }))
            .unwrap();
    assert_eq!(errors(&v, &synthetic), Vec::<String>::new());
}

#[test]
fn schema_and_parser_agree_on_rejections() {
    let v = schema("activity_snapshot.v1.schema.json");
    let base: Value = serde_json::from_str(&common::sample_text()).unwrap();
    let cases: [(&str, Value); 5] = [
        ("/schema_version", Value::from("cavra.activity_snapshot.v9")),
        ("/decisions/0/decision", Value::from("deny")),
        ("/decisions/0/timestamp", Value::from("yesterday")),
        ("/decisions/0/raw_prompt", Value::from("x")),
        ("/sessions/0/colour", Value::from("red")),
    ];
    for (pointer, value) in cases {
        let mut doc = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        doc.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(key.into(), value);
        assert!(!errors(&v, &doc).is_empty(), "schema accepts {pointer}");
        assert!(
            cavra_reports::model::Snapshot::from_json_str(&doc.to_string(), &LoadOptions::default()).is_err(),
            "parser accepts {pointer}"
        );
    }
}

#[test]
fn every_json_artifact_matches_the_report_schema() {
    let report = schema("report.v1.schema.json");
    let board = schema("board_kpi_pack.v1.schema.json");
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let mut checked = 0;
    for a in common::render_all(&snapshot).iter().filter(|a| a.name.ends_with(".json")) {
        let doc: Value = serde_json::from_slice(&a.bytes).unwrap();
        assert_eq!(errors(&report, &doc), Vec::<String>::new(), "{}", a.name);
        if a.name.starts_with("board-kpi-pack.") {
            assert_eq!(errors(&board, &doc), Vec::<String>::new());
        }
        checked += 1;
    }
    for a in common::render_ops().iter().filter(|a| a.name.ends_with(".json")) {
        let doc: Value = serde_json::from_slice(&a.bytes).unwrap();
        assert_eq!(errors(&report, &doc), Vec::<String>::new(), "{}", a.name);
        checked += 1;
    }
    // the JSON and the signed (canonical) JSON of every kind
    assert_eq!(checked, 2 * common::kind_count());
}

/// The operations snapshot's schema rejects what its parser rejects.
#[test]
fn the_operations_snapshot_schema_and_parser_agree_on_rejections() {
    let v = schema("ops_snapshot.v1.schema.json");
    let doc = serde_json::to_value(cavra_reports::ops::synth::generate(&Default::default())).unwrap();
    let mut bad = doc.clone();
    bad["jobs"][0]["recipient"] = Value::from("x");
    assert!(!errors(&v, &bad).is_empty(), "an unknown field is refused");
    assert!(cavra_reports::ops::OpsSnapshot::from_json_str(&bad.to_string()).is_err());
    let mut bad = doc.clone();
    bad["window_end"] = Value::from("31/10/2026");
    assert!(!errors(&v, &bad).is_empty(), "a bad time is refused");
    assert!(cavra_reports::ops::OpsSnapshot::from_json_str(&bad.to_string()).is_err());
}

/// One generated contract: its schema file, the schema its types generate,
/// the example the code writes, and the fields an example may vary in (what
/// a throw-away signing key changes: a signature, a digest over it, a key id).
struct Contract {
    schema: &'static str,
    generated: String,
    example: &'static str,
    document: Value,
    volatile: &'static [&'static str],
}

fn sample_package() -> (cavra_reports::package::Package, cavra_reports::render::signed::SigningKey) {
    let snapshot = common::load_text(&common::sample_text(), &LoadOptions::default());
    let posture = cavra_reports::model::Posture::compute(&snapshot);
    let key = cavra_reports::render::signed::SigningKey::generate().unwrap();
    let package = cavra_reports::package::build_package(
        cavra_reports::package::PackageType::BoardAndAuditBundle,
        &snapshot,
        &posture,
        &Default::default(),
        &key,
    )
    .unwrap();
    (package, key)
}

fn contracts() -> Vec<Contract> {
    use cavra_reports::deliver::audit::{ApprovalDecision, AuditAction, AuditEvent, AuditStatus, RecipientSummary};
    let (package, key) = sample_package();
    let digest = cavra_reports::package::manifest::sha256_tagged(&package.bytes);
    let recipients = vec!["lead@audit.example".to_string()];
    let approval_id = cavra_reports::deliver::send::approval_id(&digest, &recipients);
    let address = cavra_reports::deliver::policy::parse_address(&recipients[0]).unwrap();
    let event = AuditEvent::new("2026-11-01T12:05:00Z", AuditAction::Send, AuditStatus::Sent)
        .recipients(RecipientSummary::classified([(&address, true)]))
        .approval(Some(&approval_id), ApprovalDecision::Approved)
        .digest(&digest)
        .evidence("job-0123456789abcdef01234567");
    let statement = cavra_reports::deliver::statement::ApprovalStatement {
        format: cavra_reports::deliver::statement::APPROVAL_FORMAT.into(),
        approval_id: approval_id.clone(),
        package_digest: digest.clone(),
        recipient_set_digest: cavra_reports::deliver::statement::recipient_set_digest(&recipients),
        decision: cavra_reports::deliver::approval::ApprovalState::Approved,
        expires_at: 1_793_880_000,
        approver_key_id: key.key_id(),
        decided_at: 1_793_707_200,
        reason: None,
    };
    let setup = setup_file();
    vec![
        Contract {
            schema: "ops_snapshot.v1.schema.json",
            generated: cavra_reports::ops::snapshot::json_schema(),
            example: "ops_snapshot.v1.json",
            document: serde_json::to_value(cavra_reports::ops::synth::generate(&Default::default())).unwrap(),
            volatile: &[],
        },
        Contract {
            schema: "export_package_manifest.v1.schema.json",
            generated: cavra_reports::package::manifest::json_schema(),
            example: "export_package_manifest.v1.json",
            document: serde_json::from_slice(&package.manifest.to_bytes()).unwrap(),
            volatile: &["/integrity/signature"],
        },
        Contract {
            schema: "delivery_audit_event.v1.schema.json",
            generated: cavra_reports::deliver::audit::event_json_schema(),
            example: "delivery_audit_event.v1.json",
            document: serde_json::to_value(&event).unwrap(),
            // the package's digest covers its signature, by a throw-away key
            volatile: &["/approval/id", "/evidence/report_digest_ref"],
        },
        Contract {
            schema: "approval_decision.v1.schema.json",
            generated: cavra_reports::deliver::statement::approval_json_schema(),
            example: "approval_decision.v1.json",
            document: serde_json::to_value(&statement).unwrap(),
            volatile: &["/approval_id", "/package_digest", "/approver_key_id"],
        },
        Contract {
            schema: "digest_distribution.v1.schema.json",
            generated: cavra_reports::ops::distribution::json_schema(),
            example: "digest_distribution.v1.json",
            document: distribution(),
            // the package's signature, its digest and the keys are fresh on every run
            volatile: &[
                "/package/package_digest",
                "/package/manifest_signer_key_id",
                "/approval/approval_id",
                "/evidence/send_request_digest",
                "/evidence/requester_key_id",
                "/evidence/job_ids/0",
                "/evidence/job_ids/1",
            ],
        },
        Contract {
            schema: "delivery_setup.v1.schema.json",
            generated: cavra_reports::deliver::contracts::setup_json_schema(),
            example: "delivery_setup.v1.json",
            document: serde_json::to_value(cavra_reports::deliver::contracts::setup(&setup.0, &setup.1)).unwrap(),
            volatile: &["/principals/0/key_id", "/principals/1/key_id", "/package_signer_key_id"],
        },
        Contract {
            schema: "policy_acceptance.v1.schema.json",
            generated: cavra_reports::deliver::acceptance::json_schema(),
            example: "policy_acceptance.v1.json",
            document: serde_json::to_value(cavra_reports::deliver::acceptance::AcceptanceStatement {
                format: cavra_reports::deliver::acceptance::ACCEPTANCE_FORMAT.into(),
                config_digest: setup.1.clone(),
                previous_digest: None,
                scope: cavra_reports::deliver::acceptance::ChangeScope::Initial,
                accepted_by_key_id: setup.0.principal_key_of("cso-office").map(|k| k.key_id()).unwrap_or_default(),
                accepted_at: 1_793_491_200,
            })
            .unwrap(),
            volatile: &["/accepted_by_key_id"],
        },
        Contract {
            schema: "recipient_policy.v1.schema.json",
            generated: cavra_reports::deliver::contracts::recipient_json_schema(),
            example: "recipient_policy.v1.json",
            document: serde_json::to_value(cavra_reports::deliver::contracts::recipient_policy(&setup.0, &setup.1))
                .unwrap(),
            volatile: &[],
        },
        Contract {
            schema: "schedule_policy.v1.schema.json",
            generated: cavra_reports::deliver::contracts::schedule_json_schema(),
            example: "schedule_policy.v1.json",
            document: serde_json::to_value(cavra_reports::deliver::contracts::schedule_policy(&setup.0, &setup.1))
                .unwrap(),
            volatile: &[],
        },
        Contract {
            schema: "validation_packet.v1.schema.json",
            generated: cavra_reports::ops::readiness::validation_json_schema(),
            example: "validation_packet.v1.json",
            document: serde_json::to_value(validation_packet()).unwrap(),
            volatile: &[],
        },
        Contract {
            schema: "readiness_packet.v1.schema.json",
            generated: cavra_reports::ops::readiness::readiness_json_schema(),
            example: "readiness_packet.v1.json",
            document: serde_json::to_value(&validation_packet().readiness()[4]).unwrap(),
            volatile: &[],
        },
        Contract {
            schema: "response_event.v1.schema.json",
            generated: cavra_reports::ops::response::json_schema(),
            example: "response_event.v1.json",
            document: response_statement(),
            volatile: &[],
        },
    ]
}

/// A distribution record, made by the code: the sample's executive digest
/// sealed and planned for one internal and one external recipient under a
/// setup file whose external sends need an approval.
fn distribution() -> Value {
    use cavra_reports::render::signed::SigningKey;
    let (package_key, cso_key) = (SigningKey::generate().unwrap(), SigningKey::generate().unwrap());
    let toml = format!(
        "[organisation]\nname = \"Northwind\"\nsender = \"reports@northwind.example\"\n\
         [delivery]\nmode = \"smtp\"\nhost = \"smtp.northwind.example\"\n\
         [packages]\nsigning_public_key = \"{}\"\n\
         [[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
         [[recipients.domains]]\ndomain = \"board.example\"\nclassification = \"external_partner\"\n\
         [roles.cso]\npermissions = [\"send_internal\", \"send_external\"]\n\
         [principals.cso-office]\npublic_key = \"{}\"\nroles = [\"cso\"]\n",
        package_key.public_key().base64(),
        cso_key.public_key().base64()
    );
    let config = cavra_reports::deliver::config::Config::from_toml(&toml).unwrap();
    let signer = cavra_reports::deliver::identity::Signer::authenticate(&config, cso_key).unwrap();
    let s = cavra_reports::ops::synth::generate(&Default::default());
    let (report_id, package) =
        cavra_reports::ops::distribution::digest_package(&s, &Default::default(), &Default::default(), &package_key)
            .unwrap();
    let digest = cavra_reports::package::manifest::sha256_tagged(&package.bytes);
    let request = cavra_reports::deliver::send::SendRequest {
        recipients: vec!["ciso@northwind.example".into(), "chair@board.example".into()],
        attachment: "remediation_executive_digest.zip".into(),
        subject: "Remediation executive digest".into(),
    };
    let plan = cavra_reports::deliver::send::plan(&config, &signer, &request, &digest, 1_793_491_200).unwrap();
    let record = cavra_reports::ops::distribution::DistributionRecord::of(
        (&report_id, &package, &digest),
        &plan,
        &config,
        Some(42),
    );
    serde_json::to_value(record).unwrap()
}

/// A setup file with every governed part: SMTP with secrets by reference,
/// principals and roles, domain rules, groups, channels, a schedule with a
/// blackout, a store, rooms and an alert rule.
fn setup_file() -> (cavra_reports::deliver::config::Config, String) {
    use cavra_reports::render::signed::SigningKey;
    let keys: Vec<SigningKey> = (0..3).map(|_| SigningKey::generate().unwrap()).collect();
    let text = format!(
        "[organisation]\nname = \"Northwind\"\nsender = \"reports@northwind.example\"\ntimezone = \"Europe/Berlin\"\n\
         [delivery]\nmode = \"smtp\"\nhost = \"smtp.northwind.example\"\nport = 587\n\
         username = \"env:CAVRA_SMTP_USER\"\npassword = \"file:/run/secrets/smtp\"\n\
         [packages]\nsigning_public_key = \"{}\"\n\
         [recipients]\nexternal_approvers = 2\n\
         [[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
         [[recipients.domains]]\ndomain = \"audit.example\"\nsubdomains = true\nclassification = \"external_auditor\"\n\
         [[recipients.domains]]\ndomain = \"competitor.example\"\nclassification = \"blocked\"\n\
         [recipients.groups]\nboard = [\"chair@northwind.example\", \"lead@audit.example\"]\nsecops = [\"secops@northwind.example\"]\n\
         [recipients.channels]\nexternal_auditor = [\"email_attachment\"]\n\
         [roles.cso]\npermissions = [\"render\", \"send_internal\", \"send_external\", \"schedule\", \"respond\"]\n\
         [roles.approver]\npermissions = [\"approve\"]\n[roles.admin]\npermissions = [\"manage_policy\"]\n\
         [principals.cso-office]\npublic_key = \"{}\"\nroles = [\"cso\"]\n\
         [principals.approver]\npublic_key = \"{}\"\nroles = [\"approver\"]\n\
         [[schedules]]\nid = \"board-monthly\"\ncadence = \"monthly 1 08:00\"\npackage = \"/srv/packages/board_and_audit_bundle.zip\"\n\
         to = [\"group:board\"]\nrole = \"cso\"\n\
         blackouts = [{{ start = \"2026-12-24T00:00\", end = \"2026-12-27T00:00\", policy = \"skip\" }}]\n\
         [store]\nurl = \"postgres://cavra@db.northwind.example:5432/cavra\"\npassword = \"env:CAVRA_STORE_PASSWORD\"\n\
         [rooms]\nlink_key = \"env:CAVRA_ROOM_LINK_KEY\"\npublic_url = \"https://rooms.northwind.example\"\n\
         [[alerts.rules]]\nid = \"delivery-success\"\nsignal = \"measure_breached\"\nmeasure = \"delivery_success_rate\"\n\
         route = [\"group:secops\"]\n",
        keys[0].public_key().base64(),
        keys[1].public_key().base64(),
        keys[2].public_key().base64()
    );
    let config = cavra_reports::deliver::config::Config::from_toml(&text).unwrap();
    let digest = cavra_reports::package::manifest::sha256_tagged(b"the setup file");
    (config, digest)
}

/// A validation packet as `selfcheck` writes it, with the assurance area's
/// revocation failed (its room did not open).
fn validation_packet() -> cavra_reports::ops::readiness::ValidationPacket {
    use cavra_reports::ops::readiness::{Area, CheckResult, ValidationPacket};
    let checks = vec![
        CheckResult::passed(
            "setup_validation",
            Area::DeliverySetup,
            "The setup file loads and validates",
            vec!["delivery mode smtp".into(), "3 principal(s), 3 role(s)".into()],
        ),
        CheckResult::passed("rendering", Area::Catalog, "Every report kind renders in every format", vec![]),
        CheckResult::passed(
            "scheduled_run",
            Area::Operations,
            "A due schedule fires once and its send goes out",
            vec![],
        ),
        CheckResult::passed("approved_send", Area::Governance, "An external send waits for an approval", vec![]),
        CheckResult::failed(
            "evidence_room",
            Area::Assurance,
            "An evidence room opens to its link",
            vec!["`room invite` exited 3: rooms.link_key: environment variable ROOM_KEY is not set".into()],
        ),
        CheckResult::passed("alert_escalation", Area::Response, "A breach raises an alert", vec![]),
    ];
    ValidationPacket::new("Northwind", &cavra_reports::package::manifest::sha256_tagged(b"[organisation]\n"), checks)
}

/// The sample ledger's remediation plan, as the statement its planner signs.
fn response_statement() -> Value {
    use cavra_reports::ops::response::{ResponseEvent, ResponseStatement, RESPONSE_FORMAT};
    let s = cavra_reports::ops::synth::generate(&Default::default());
    let r = s.response.iter().find(|r| matches!(r.event, ResponseEvent::RemediationPlanned { .. })).unwrap();
    let previous = s.response.iter().rev().find(|x| x.subject == r.subject && x.seq < r.seq);
    serde_json::to_value(ResponseStatement {
        format: RESPONSE_FORMAT.into(),
        seq: r.seq,
        subject: r.subject.clone(),
        at: r.at,
        actor_key_id: r.actor_key_id.clone(),
        previous: previous.map(|p| p.digest.clone()),
        event: r.event.clone(),
    })
    .unwrap()
}

fn masked(mut v: Value, volatile: &[&str]) -> Value {
    for p in volatile {
        if let Some(x) = v.pointer_mut(p) {
            *x = Value::from("<varies>");
        }
    }
    v
}

/// The record documents' schemas are generated from their types too; their
/// examples are written by the store and room tests from real records
/// (`UPDATE_SCHEMAS=1 cargo test -p cavra-cli --test store --test rooms`),
/// so here they are validated, by this crate's validator and Python's.
#[test]
fn record_schemas_match_their_types_and_their_examples_validate() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let docs = [
        ("retention_lifecycle.v1", cavra_reports::deliver::records::documents::retention_json_schema()),
        ("search_retrieval.v1", cavra_reports::deliver::records::documents::retrieval_json_schema()),
        ("evidence_rooms.v1", cavra_reports::room::rooms::json_schema()),
        ("room_access_events.v1", cavra_reports::room::events::json_schema()),
    ];
    let mut pairs = Vec::new();
    for (name, generated) in docs {
        let schema_path = common::root().join("schemas").join(format!("{name}.schema.json"));
        if update {
            common::write(&schema_path, generated.as_bytes());
        }
        assert_eq!(std::fs::read_to_string(&schema_path).unwrap(), generated, "{name}: run UPDATE_SCHEMAS=1");
        let example = common::root().join("examples/contracts").join(format!("{name}.json"));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&example).unwrap()).unwrap();
        let errors = errors(&schema(&format!("{name}.schema.json")), &doc);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        pairs.push((schema_path, example));
    }
    if common::python_module("jsonschema") {
        let script = "import json, sys, jsonschema\n\
            a = sys.argv[1:]\n\
            for s, d in zip(a[::2], a[1::2]):\n\
            \x20   jsonschema.Draft202012Validator(json.load(open(s)), format_checker=jsonschema.FormatChecker()).validate(json.load(open(d)))\n";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .args(pairs.iter().flat_map(|(s, d)| [s.as_os_str(), d.as_os_str()]))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Every generated contract: the published schema is the one its types
/// generate, the example is the one the code writes (up to the fields that
/// vary run to run), and the example validates against the schema with
/// this crate's validator and with Python's `jsonschema`.
/// `UPDATE_SCHEMAS=1 cargo test --test schemas` rewrites both.
#[test]
fn generated_contracts_match_their_types_and_examples() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut problems = Vec::new();
    let mut pairs = Vec::new();
    for c in contracts() {
        let schema_path = common::root().join("schemas").join(c.schema);
        let example_path = common::root().join("examples/contracts").join(c.example);
        let mut text = serde_json::to_string_pretty(&c.document).unwrap();
        text.push('\n');
        if update {
            common::write(&schema_path, c.generated.as_bytes());
            common::write(&example_path, text.as_bytes());
        }
        if std::fs::read_to_string(&schema_path).unwrap_or_default() != c.generated {
            problems.push(format!("schemas/{} is stale: run UPDATE_SCHEMAS=1", c.schema));
        }
        let published: Value =
            serde_json::from_str(&std::fs::read_to_string(&example_path).unwrap_or_default()).unwrap_or_default();
        if masked(published.clone(), c.volatile) != masked(c.document.clone(), c.volatile) {
            problems.push(format!("examples/contracts/{} is stale: run UPDATE_SCHEMAS=1", c.example));
        }
        let v = schema(c.schema);
        for e in errors(&v, &published) {
            problems.push(format!("{}: {e}", c.example));
        }
        pairs.push((schema_path, example_path));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if common::python_module("jsonschema") {
        let script = "import json, sys, jsonschema\n\
            args = sys.argv[1:]\n\
            for s, d in zip(args[::2], args[1::2]):\n\
            \x20   schema = json.load(open(s)); jsonschema.Draft202012Validator.check_schema(schema)\n\
            \x20   jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(d)))\n\
            \x20   print('ok', d)\n";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .args(pairs.iter().flat_map(|(s, d)| [s.as_os_str(), d.as_os_str()]))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), pairs.len());
    }
}
