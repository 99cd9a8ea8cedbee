//! The setup file as three published contract documents, written from a
//! validated [`Config`] (`policy show`): the delivery setup
//! (`cavra.delivery_setup.v1`), the recipient policy
//! (`cavra.recipient_policy.v1`) and the schedule policy
//! (`cavra.schedule_policy.v1`). Each names the digest of the setup file it
//! describes. They are public-safe by construction: addresses appear as
//! counts and domains, secrets as the kind of reference that holds them
//! (never the reference's name or value), hosts not at all.
//!
//! ```
//! let config = cavra_deliver::config::Config::from_toml(
//!     "[[recipients.domains]]\ndomain = \"northwind.example\"\nclassification = \"internal\"\n\
//!      [recipients.groups]\nsecops = [\"secops@northwind.example\"]\n").unwrap();
//! let doc = cavra_deliver::contracts::recipient_policy(&config, "sha256:ab");
//! assert_eq!(doc.groups[0].members, 1);
//! assert!(!serde_json::to_string(&doc).unwrap().contains('@'));
//! ```

use serde::Serialize;

use crate::config::{Config, Permission};

/// Schema id of the delivery-setup document.
pub const SETUP_SCHEMA: &str = "cavra.delivery_setup.v1";
/// Schema id of the recipient-policy document.
pub const RECIPIENT_SCHEMA: &str = "cavra.recipient_policy.v1";
/// Schema id of the schedule-policy document.
pub const SCHEDULE_SCHEMA: &str = "cavra.schedule_policy.v1";

/// The delivery-setup document's JSON Schema, generated from its types.
pub fn setup_json_schema() -> String {
    cavra_model::schema::publish::<SetupContract>("delivery_setup.v1.schema.json", SETUP_SCHEMA)
}

/// The recipient-policy document's JSON Schema.
pub fn recipient_json_schema() -> String {
    cavra_model::schema::publish::<RecipientPolicyDocument>("recipient_policy.v1.schema.json", RECIPIENT_SCHEMA)
}

/// The schedule-policy document's JSON Schema.
pub fn schedule_json_schema() -> String {
    cavra_model::schema::publish::<SchedulePolicyDocument>("schedule_policy.v1.schema.json", SCHEDULE_SCHEMA)
}

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The setup-file key (`delivery.password`).
    pub key: String,
    /// `env` or `file`: the reference's kind, never its name or value.
    pub source: String,
}

/// A principal: its key id and roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrincipalView {
    /// Name in the setup file.
    pub name: String,
    /// The minisign key id.
    pub key_id: String,
    /// Roles.
    pub roles: Vec<String>,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleView {
    /// Name.
    pub name: String,
    /// Permissions.
    pub permissions: Vec<String>,
    /// Classifications of stored items it may retrieve.
    pub classifications: Vec<String>,
}

/// How deliveries go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransportView {
    /// `disabled`, `smtp`, `microsoft365`, `google_workspace`, `ses`, `sendgrid` or `webhook`.
    pub mode: String,
    /// SMTP TLS: `starttls`, `implicit` or `none` (loopback only).
    pub tls: String,
    /// Whether artifacts are attached (else a digest-only notice).
    pub attachments: bool,
    /// The sender's domain.
    pub sender_domain: Option<String>,
    /// Secrets, by the kind of reference that holds each.
    pub secrets: Vec<SecretRef>,
}

/// The delivery setup: transport, principals and roles, controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupContract {
    /// Always `cavra.delivery_setup.v1`.
    #[schemars(extend("const" = "cavra.delivery_setup.v1"))]
    pub schema_version: String,
    /// `sha256:` of the setup file.
    pub setup_digest: String,
    /// The organisation's name.
    pub organisation: Option<String>,
    /// Transport.
    pub transport: TransportView,
    /// Principals.
    pub principals: Vec<PrincipalView>,
    /// Roles.
    pub roles: Vec<RoleView>,
    /// Key id of `[packages] signing_public_key`: only packages that verify against it are sent.
    pub package_signer_key_id: Option<String>,
    /// Whether the record store is configured, and its kind (`sqlite` or `postgres`).
    pub store: Option<String>,
    /// Whether the evidence-room service has a link key and public address.
    pub rooms_configured: bool,
    /// Alert rules by id.
    pub alert_rules: Vec<String>,
    /// The permissions this release knows.
    pub permissions_known: Vec<String>,
}

/// One domain rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainRuleView {
    /// Domain.
    pub domain: String,
    /// Whether subdomains match.
    pub subdomains: bool,
    /// `internal`, `external_auditor`, `external_partner` or `blocked`.
    pub classification: String,
}

/// One group: its size and domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupView {
    /// Name (`group:<name>` in recipients).
    pub name: String,
    /// Members.
    pub members: u32,
    /// Their domains, sorted, each once.
    pub domains: Vec<String>,
}

/// Channels a classification may receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRule {
    /// The classification.
    pub classification: String,
    /// `email_attachment`, `email_notice` or `webhook`.
    pub channels: Vec<String>,
}

/// The recipient policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientPolicyDocument {
    /// Always `cavra.recipient_policy.v1`.
    #[schemars(extend("const" = "cavra.recipient_policy.v1"))]
    pub schema_version: String,
    /// `sha256:` of the setup file; the accepted file is the active policy.
    pub setup_digest: String,
    /// Domain rules, in file order (the most specific match wins; an unknown domain is refused).
    pub domains: Vec<DomainRuleView>,
    /// Groups.
    pub groups: Vec<GroupView>,
    /// Whether external recipients need an approval.
    pub external_approval_required: bool,
    /// Distinct approvers an external send needs (none of them the requester).
    pub external_approvers: u32,
    /// Hours a pending approval request stays open.
    pub approval_ttl_hours: u32,
    /// Roles allowed to send (empty: any role with a send permission).
    pub roles_allowed_to_send: Vec<String>,
    /// Channel rules (a classification not listed may receive any).
    pub channels: Vec<ChannelRule>,
}

/// One blackout window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlackoutView {
    /// Local start, `YYYY-MM-DDTHH:MM`.
    pub start: String,
    /// Local end.
    pub end: String,
    /// `defer`, `skip` or `require_manual_approval`.
    pub policy: String,
}

/// One schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleView {
    /// Id.
    pub id: String,
    /// Cadence as written (`weekly mon 08:00`, `cron …`).
    pub cadence: String,
    /// IANA time zone it runs in.
    pub timezone: String,
    /// The package's file name.
    pub package: String,
    /// Recipients: how many, and their domains.
    pub recipient_count: u32,
    /// Domains.
    pub recipient_domains: Vec<String>,
    /// The role the sends are made as.
    pub role: String,
    /// Blackout windows.
    pub blackouts: Vec<BlackoutView>,
}

/// The retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryView {
    /// Attempts before a job is dead-lettered.
    pub max_attempts: u32,
    /// First backoff, seconds (capped exponential with full jitter).
    pub backoff_seconds: u64,
    /// Backoff cap, seconds.
    pub max_backoff_seconds: u64,
}

/// The schedule policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePolicyDocument {
    /// Always `cavra.schedule_policy.v1`.
    #[schemars(extend("const" = "cavra.schedule_policy.v1"))]
    pub schema_version: String,
    /// `sha256:` of the setup file.
    pub setup_digest: String,
    /// Schedules.
    pub schedules: Vec<ScheduleView>,
    /// What happens to runs inside a blackout by default.
    pub default_blackout_policy: String,
    /// Retries.
    pub retry: RetryView,
}

fn domain_of(address: &str) -> Option<String> {
    crate::policy::parse_address(address).ok().map(|a| a.domain)
}

/// Members of `recipients` (addresses or `group:NAME`) as a count and sorted domains.
fn summarise(config: &Config, recipients: &[String]) -> (u32, Vec<String>) {
    let mut members: Vec<&str> = Vec::new();
    for r in recipients {
        match r.strip_prefix("group:").and_then(|g| config.recipients.groups.get(g)) {
            Some(m) => members.extend(m.iter().map(String::as_str)),
            None => members.push(r),
        }
    }
    members.sort_unstable();
    members.dedup();
    let mut domains: Vec<String> = members.iter().filter_map(|m| domain_of(m)).collect();
    domains.sort();
    domains.dedup();
    (members.len() as u32, domains)
}

fn source(reference: &str) -> String {
    reference.split(':').next().unwrap_or_default().to_string()
}

/// The delivery-setup document.
pub fn setup(config: &Config, setup_digest: &str) -> SetupContract {
    let d = &config.delivery;
    let secrets = d
        .secrets()
        .into_iter()
        .chain([("store.password", &config.store.password), ("rooms.link_key", &config.rooms.link_key)])
        .filter_map(|(k, v)| v.as_deref().map(|r| SecretRef { key: k.into(), source: source(r) }))
        .collect();
    let principals = config
        .principals
        .iter()
        .map(|(name, p)| PrincipalView {
            name: name.clone(),
            key_id: config.principal_key_of(name).map(|k| k.key_id()).unwrap_or_default(),
            roles: p.roles.clone(),
        })
        .collect();
    let roles = config
        .roles
        .iter()
        .map(|(name, r)| RoleView {
            name: name.clone(),
            permissions: r.permissions.iter().map(|p| p.as_str().to_string()).collect(),
            classifications: r.classifications.clone(),
        })
        .collect();
    let store =
        config.store.url.as_deref().map(|u| if u.starts_with("postgres") { "postgres" } else { "sqlite" }.into());
    SetupContract {
        schema_version: SETUP_SCHEMA.into(),
        setup_digest: setup_digest.into(),
        organisation: config.organisation.name.clone(),
        transport: TransportView {
            mode: d.mode.as_str().into(),
            tls: format!("{:?}", d.tls).to_lowercase(),
            attachments: d.attachments,
            sender_domain: config.organisation.sender.as_deref().and_then(domain_of),
            secrets,
        },
        principals,
        roles,
        package_signer_key_id: config.package_key().map(|k| k.key_id()),
        store,
        rooms_configured: config.rooms.link_key.is_some() && config.rooms.public_url.is_some(),
        alert_rules: config.alerts.rules.iter().map(|r| r.id.clone()).collect(),
        permissions_known: Permission::ALL.iter().map(|p| p.as_str().to_string()).collect(),
    }
}

/// The recipient-policy document.
pub fn recipient_policy(config: &Config, setup_digest: &str) -> RecipientPolicyDocument {
    let r = &config.recipients;
    RecipientPolicyDocument {
        schema_version: RECIPIENT_SCHEMA.into(),
        setup_digest: setup_digest.into(),
        domains: r
            .domains
            .iter()
            .map(|d| DomainRuleView {
                domain: d.domain.clone(),
                subdomains: d.subdomains,
                classification: d.classification.as_str().into(),
            })
            .collect(),
        groups: r
            .groups
            .keys()
            .map(|name| {
                let (members, domains) = summarise(config, &[format!("group:{name}")]);
                GroupView { name: name.clone(), members, domains }
            })
            .collect(),
        external_approval_required: r.external_approval_required,
        external_approvers: r.external_approvers,
        approval_ttl_hours: r.approval_ttl_hours,
        roles_allowed_to_send: r.roles_allowed_to_send.clone(),
        channels: r
            .channels
            .iter()
            .map(|(c, ch)| ChannelRule {
                classification: c.as_str().into(),
                channels: ch.iter().map(|x| x.as_str().to_string()).collect(),
            })
            .collect(),
    }
}

/// The schedule-policy document.
pub fn schedule_policy(config: &Config, setup_digest: &str) -> SchedulePolicyDocument {
    let default_policy = config.schedule.blackout_policy.clone().unwrap_or_else(|| "defer".into());
    let zone = |z: &Option<String>| {
        z.clone()
            .or_else(|| config.schedule.timezone.clone())
            .or_else(|| config.organisation.timezone.clone())
            .unwrap_or_else(|| "UTC".into())
    };
    SchedulePolicyDocument {
        schema_version: SCHEDULE_SCHEMA.into(),
        setup_digest: setup_digest.into(),
        schedules: config
            .schedules
            .iter()
            .map(|e| {
                let (recipient_count, recipient_domains) = summarise(config, &e.to);
                ScheduleView {
                    id: e.id.clone(),
                    cadence: e.cadence.clone(),
                    timezone: zone(&e.timezone),
                    package: std::path::Path::new(&e.package)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    recipient_count,
                    recipient_domains,
                    role: e.role.clone(),
                    blackouts: e
                        .blackouts
                        .iter()
                        .map(|b| BlackoutView {
                            start: b.start.clone(),
                            end: b.end.clone(),
                            policy: b.policy.clone().unwrap_or_else(|| default_policy.clone()),
                        })
                        .collect(),
                }
            })
            .collect(),
        default_blackout_policy: default_policy.clone(),
        retry: RetryView {
            max_attempts: config.retry.max_attempts,
            backoff_seconds: config.retry.backoff_seconds,
            max_backoff_seconds: config.retry.max_backoff_seconds,
        },
    }
}
