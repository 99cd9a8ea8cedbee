//! `cavra.toml`: organisation, delivery, recipient governance, roles,
//! schedule defaults, retry policy and audit settings, validated.
//!
//! Credentials are only ever references — `env:NAME` or `file:PATH` — and a
//! literal value where a reference belongs is refused without being echoed.
//! Unknown keys are errors.
//!
//! ```
//! let text = r#"
//! [organisation]
//! name = "Northwind Security Office"
//! sender = "reports@northwind.example"
//! timezone = "America/New_York"
//!
//! [delivery]
//! mode = "smtp"
//! host = "smtp.northwind.example"
//! port = 587
//! username = "env:SMTP_USER"
//! password = "env:SMTP_PASSWORD"
//!
//! [[recipients.domains]]
//! domain = "northwind.example"
//! subdomains = true
//! classification = "internal"
//!
//! [packages]
//! signing_public_key = "RWS87NyaqhhyDnFcbRMd1deeuR9MnC6kNaJSxTtuZ3O4VWQmEhKYm/9E"
//! "#;
//! let config = cavra_deliver::config::Config::from_toml(text).unwrap();
//! assert_eq!(config.delivery.port, Some(587));
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::policy::{parse_address, Classification, DomainRule, RecipientPolicy};

mod alerts;
mod records;
mod validate;
pub use alerts::{AlertRule, AlertsSection, EscalationStep, Signal, MEASURES};
pub use records::{
    has_password as has_store_password, RetentionClassEntry, RetentionSection, RoomsSection, StoreSection,
    CLASSIFICATIONS, DEFAULT_REPORT_CLASS,
};
pub use validate::check_endpoint;
use validate::is_loopback;

/// Why a setup file was refused: the key and the reason (never the value of
/// a refused secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    /// Dotted key, or `line N` for syntax errors.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

fn bad(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), reason: reason.into() }
}

/// Delivery modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Nothing is sent.
    #[default]
    Disabled,
    /// SMTP with PLAIN/LOGIN.
    Smtp,
    /// SMTP to Microsoft 365 with XOAUTH2.
    Microsoft365,
    /// SMTP to Google Workspace with XOAUTH2.
    GoogleWorkspace,
    /// Amazon SES HTTP API.
    Ses,
    /// SendGrid HTTP API.
    Sendgrid,
    /// Signed webhooks.
    Webhook,
}

impl Mode {
    /// The setup-file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disabled => "disabled",
            Mode::Smtp => "smtp",
            Mode::Microsoft365 => "microsoft365",
            Mode::GoogleWorkspace => "google_workspace",
            Mode::Ses => "ses",
            Mode::Sendgrid => "sendgrid",
            Mode::Webhook => "webhook",
        }
    }
}

/// How SMTP connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// STARTTLS, required (the default).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: loopback hosts only (tests, local relays).
    None,
}

/// `[organisation]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Display name.
    pub name: Option<String>,
    /// Sender address.
    pub sender: Option<String>,
    /// Reply-to address.
    pub reply_to: Option<String>,
    /// IANA time zone for schedules and documents.
    pub timezone: Option<String>,
    /// Days delivered reports are kept.
    pub retention_days: Option<u32>,
    /// Presentation setup file (see `cavra_render::setup`).
    pub branding_profile: Option<String>,
    /// Legal footer.
    pub legal_footer: Option<String>,
}

/// `[delivery]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Mode.
    #[serde(default)]
    pub mode: Mode,
    /// SMTP host.
    pub host: Option<String>,
    /// SMTP port.
    pub port: Option<u16>,
    /// TLS mode.
    #[serde(default)]
    pub tls: TlsMode,
    /// HTTP endpoint (SES, SendGrid, webhook); defaults to the provider's.
    pub endpoint: Option<String>,
    /// User name, by reference.
    pub username: Option<String>,
    /// Password, by reference.
    pub password: Option<String>,
    /// OAuth2 access token (XOAUTH2), by reference.
    pub oauth_token: Option<String>,
    /// API key (SendGrid), by reference.
    pub api_key: Option<String>,
    /// AWS region (SES), e.g. `eu-west-1`.
    pub region: Option<String>,
    /// AWS access key id (SES), by reference.
    pub access_key_id: Option<String>,
    /// AWS secret access key (SES), by reference.
    pub secret_access_key: Option<String>,
    /// AWS session token for temporary credentials (SES), by reference.
    pub session_token: Option<String>,
    /// Extra root certificates (PEM) to trust for SMTP TLS, for a server
    /// whose certificate comes from a private CA.
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// Webhook signing secret, by reference.
    pub webhook_secret: Option<String>,
    /// Attach artifacts, or send a digest-only notice.
    #[serde(default = "yes")]
    pub attachments: bool,
}

fn yes() -> bool {
    true
}

impl Delivery {
    /// Every secret of `[delivery]` with its setup-file key (each, when set,
    /// a reference: `env:NAME` or `file:PATH`).
    pub fn secrets(&self) -> [(&'static str, &Option<String>); 8] {
        [
            ("delivery.username", &self.username),
            ("delivery.password", &self.password),
            ("delivery.oauth_token", &self.oauth_token),
            ("delivery.api_key", &self.api_key),
            ("delivery.access_key_id", &self.access_key_id),
            ("delivery.secret_access_key", &self.secret_access_key),
            ("delivery.session_token", &self.session_token),
            ("delivery.webhook_secret", &self.webhook_secret),
        ]
    }
}

/// One `[[recipients.domains]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainEntry {
    /// Domain.
    pub domain: String,
    /// Whether subdomains match.
    #[serde(default)]
    pub subdomains: bool,
    /// Classification.
    pub classification: Classification,
}

/// `[recipients]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipients {
    /// Domain rules.
    #[serde(default)]
    pub domains: Vec<DomainEntry>,
    /// Whether external recipients need an approval.
    #[serde(default = "yes")]
    pub external_approval_required: bool,
    /// Roles allowed to send at all.
    #[serde(default)]
    pub roles_allowed_to_send: Vec<String>,
    /// Named groups of addresses.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Distinct approvers (none of them the requester) an external send needs.
    #[serde(default = "one")]
    pub external_approvers: u32,
    /// Hours a pending approval request stays open before it expires.
    #[serde(default = "default_ttl")]
    pub approval_ttl_hours: u32,
    /// Channels each classification may receive (`[recipients.channels]`,
    /// e.g. `external_partner = ["email_notice"]`); a classification not
    /// listed may receive any.
    #[serde(default)]
    pub channels: BTreeMap<Classification, Vec<Channel>>,
}

/// How a recipient receives a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An e-mail with the package attached.
    EmailAttachment,
    /// A digest-only e-mail notice (no attachment).
    EmailNotice,
    /// A signed webhook notice.
    Webhook,
}

impl Channel {
    /// The setup-file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::EmailAttachment => "email_attachment",
            Channel::EmailNotice => "email_notice",
            Channel::Webhook => "webhook",
        }
    }
}

fn one() -> u32 {
    1
}

impl Default for Recipients {
    /// The same values as an empty `[recipients]` table: external recipients
    /// need one approval, requests expire after 72 hours.
    fn default() -> Self {
        Recipients {
            domains: Vec::new(),
            external_approval_required: yes(),
            roles_allowed_to_send: Vec::new(),
            groups: BTreeMap::new(),
            external_approvers: one(),
            approval_ttl_hours: default_ttl(),
            channels: BTreeMap::new(),
        }
    }
}

fn default_ttl() -> u32 {
    72
}

/// `[roles.<name>]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Permissions.
    pub permissions: Vec<Permission>,
    /// Classifications (`public`, `internal`, `confidential`) of stored
    /// items a principal holding this role may retrieve; none by default.
    #[serde(default)]
    pub classifications: Vec<String>,
}

/// What a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Render reports.
    Render,
    /// Send to internal recipients.
    SendInternal,
    /// Send to external recipients.
    SendExternal,
    /// Decide approval requests.
    Approve,
    /// Create and change schedules.
    Schedule,
    /// Change recipient policy.
    ManagePolicy,
    /// Retrieve stored items (of the role's classifications).
    Retrieve,
    /// Place and release legal holds.
    LegalHold,
    /// Sign retention approvals (deleting an item whose class requires it,
    /// releasing a legal hold).
    ApproveRetention,
    /// Carry out the retention plan (delete expired items' bytes).
    ApplyRetention,
    /// Create, invite to, revoke and close evidence rooms.
    ManageRooms,
    /// Evaluate, acknowledge, suppress and resolve alerts; plan and carry out
    /// remediation; close incidents; renew, revoke, expire and close exceptions.
    Respond,
}

impl Permission {
    /// Every permission, in setup-file order.
    pub const ALL: &'static [Permission] = &[
        Permission::Render,
        Permission::SendInternal,
        Permission::SendExternal,
        Permission::Approve,
        Permission::Schedule,
        Permission::ManagePolicy,
        Permission::Retrieve,
        Permission::LegalHold,
        Permission::ApproveRetention,
        Permission::ApplyRetention,
        Permission::ManageRooms,
        Permission::Respond,
    ];

    /// The setup-file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Render => "render",
            Permission::SendInternal => "send_internal",
            Permission::SendExternal => "send_external",
            Permission::Approve => "approve",
            Permission::Schedule => "schedule",
            Permission::ManagePolicy => "manage_policy",
            Permission::Retrieve => "retrieve",
            Permission::LegalHold => "legal_hold",
            Permission::ApproveRetention => "approve_retention",
            Permission::ApplyRetention => "apply_retention",
            Permission::ManageRooms => "manage_rooms",
            Permission::Respond => "respond",
        }
    }
}

/// `[schedule]` defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDefaults {
    /// Time zone (defaults to the organisation's).
    pub timezone: Option<String>,
    /// `defer`, `skip` or `require_manual_approval`.
    pub blackout_policy: Option<String>,
}

/// One `[[schedules]]` entry: send a package on a cadence.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntry {
    /// Stable id (part of every run key).
    pub id: String,
    /// Cadence, as [`crate::schedule::Cadence::parse`] reads it.
    pub cadence: String,
    /// IANA time zone (defaults to `[schedule]`, then `[organisation]`, then UTC).
    pub timezone: Option<String>,
    /// The package file to send (produced by the packaging job).
    pub package: String,
    /// Recipients: addresses or `group:<name>`.
    pub to: Vec<String>,
    /// The role the sends are made as.
    pub role: String,
    /// Subject line.
    pub subject: Option<String>,
    /// Blackout windows.
    #[serde(default)]
    pub blackouts: Vec<BlackoutEntry>,
}

/// A blackout window of a schedule, in its local time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackoutEntry {
    /// `YYYY-MM-DDTHH:MM`.
    pub start: String,
    /// `YYYY-MM-DDTHH:MM`.
    pub end: String,
    /// `defer`, `skip` or `require_manual_approval` (default: `[schedule]`'s, then `defer`).
    pub policy: Option<String>,
}

/// `[retry]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts before a job is dead-lettered.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First backoff, seconds.
    #[serde(default = "default_backoff")]
    pub backoff_seconds: u64,
    /// Backoff cap, seconds.
    #[serde(default = "default_cap")]
    pub max_backoff_seconds: u64,
    /// Give up after this many hours from the first attempt.
    #[serde(default = "default_window")]
    pub window_hours: u64,
}

fn default_attempts() -> u32 {
    5
}
fn default_backoff() -> u64 {
    60
}
fn default_cap() -> u64 {
    3600
}
fn default_window() -> u64 {
    24
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: default_attempts(),
            backoff_seconds: default_backoff(),
            max_backoff_seconds: default_cap(),
            window_hours: default_window(),
        }
    }
}

/// `[audit]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// Days audit records are kept.
    #[serde(default = "default_audit_days")]
    pub retention_days: u32,
    /// Folder the audit log and exports go to.
    #[serde(default = "default_audit_folder")]
    pub export_folder: String,
}

fn default_audit_days() -> u32 {
    730
}
fn default_audit_folder() -> String {
    "audit".into()
}

impl Default for Audit {
    fn default() -> Self {
        Audit { retention_days: default_audit_days(), export_folder: default_audit_folder() }
    }
}

/// `[principals.<name>]`: a principal is a minisign key; its roles say what
/// it may do. Commands that need a role take the principal's secret key
/// (`--as file:PATH|env:NAME`) and sign what they do with it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalEntry {
    /// The minisign public key: its base64 line (`RW…`) or `file:PATH` to a `.pub` file.
    pub public_key: String,
    /// Roles it holds (each defined under `[roles]`).
    pub roles: Vec<String>,
}

/// `[packages]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Packages {
    /// The package signer's minisign public key (base64 line or `file:PATH`):
    /// `deliver send` accepts only packages that verify against it, and every
    /// attempt re-verifies the package before sending.
    pub signing_public_key: Option<String>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Organisation.
    #[serde(default)]
    pub organisation: Organisation,
    /// Delivery.
    #[serde(default)]
    pub delivery: Delivery,
    /// Recipient governance.
    #[serde(default)]
    pub recipients: Recipients,
    /// Roles.
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    /// Schedule defaults.
    #[serde(default)]
    pub schedule: ScheduleDefaults,
    /// Retry policy.
    #[serde(default)]
    pub retry: Retry,
    /// Audit.
    #[serde(default)]
    pub audit: Audit,
    /// Scheduled sends.
    #[serde(default)]
    pub schedules: Vec<ScheduleEntry>,
    /// Principals: keys and their roles.
    #[serde(default)]
    pub principals: BTreeMap<String, PrincipalEntry>,
    /// Package verification.
    #[serde(default)]
    pub packages: Packages,
    /// The record store.
    #[serde(default)]
    pub store: StoreSection,
    /// Retention classes and per-kind defaults.
    #[serde(default)]
    pub retention: RetentionSection,
    /// The evidence-room service.
    #[serde(default)]
    pub rooms: RoomsSection,
    /// Alert rules over the report center's own records.
    #[serde(default)]
    pub alerts: AlertsSection,
    /// The principals' and the package signer's public keys, read when the
    /// file is validated ([`Config::from_toml`]).
    #[serde(skip)]
    pub(crate) keys: ResolvedKeys,
}

/// Public keys read from `[principals]` and `[packages]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ResolvedKeys {
    /// Each principal's name and key, in name order.
    pub(crate) principals: Vec<(String, cavra_render::signed::PublicKey)>,
    /// `packages.signing_public_key`.
    pub(crate) package: Option<cavra_render::signed::PublicKey>,
}

/// Whether `value` is a reference (`env:NAME` with a valid name, or `file:PATH`).
pub fn is_reference(value: &str) -> bool {
    if let Some(name) = value.strip_prefix("env:") {
        return !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    }
    value.strip_prefix("file:").is_some_and(|p| !p.trim().is_empty())
}

/// Resolves a reference to its value.
///
/// # Errors
/// An unset variable or unreadable file (the value itself is never shown).
pub fn resolve(key: &str, reference: &str) -> Result<String, ConfigError> {
    if let Some(name) = reference.strip_prefix("env:") {
        return std::env::var(name).map_err(|_| bad(key, format!("environment variable {name} is not set")));
    }
    if let Some(path) = reference.strip_prefix("file:") {
        return cavra_model::limits::read_text_bounded(std::path::Path::new(path), cavra_model::limits::KEY_BYTES)
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|e| bad(key, format!("cannot read {path}: {e}")));
    }
    Err(bad(key, "expected a reference (env:NAME or file:PATH)"))
}

impl Config {
    /// Parses and validates a setup file's text.
    ///
    /// # Errors
    /// The first problem, with its key.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map_or(1, |s| text.as_bytes()[..s.start.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1);
            // Never echo input: a refused value could be a secret.
            bad(&format!("line {line}"), e.message().to_string())
        })?;
        // The keys are read once here, and every later check uses them.
        let keys = config.validate_principals()?;
        config.validate()?;
        Ok(Config { keys, ..config })
    }

    /// Reads and validates a setup file (at most
    /// [`cavra_model::limits::SETUP_BYTES`]).
    ///
    /// # Errors
    /// I/O or validation, with the file named.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = cavra_model::limits::read_text_bounded(path, cavra_model::limits::SETUP_BYTES)
            .map_err(|e| bad(&path.display().to_string(), e.to_string()))?;
        Config::from_toml(&text).map_err(|e| bad(&format!("{}: {}", path.display(), e.key), e.reason))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let d = &self.delivery;
        for (key, value) in d.secrets() {
            if let Some(v) = value {
                if !is_reference(v) {
                    return Err(bad(key, "a literal value is refused here; give a reference (env:NAME or file:PATH)"));
                }
            }
        }
        let o = &self.organisation;
        for (key, v) in [("organisation.sender", &o.sender), ("organisation.reply_to", &o.reply_to)] {
            if let Some(v) = v {
                parse_address(v).map_err(|e| bad(key, e.to_string()))?;
            }
        }
        for (key, tz) in [("organisation.timezone", &o.timezone), ("schedule.timezone", &self.schedule.timezone)] {
            if let Some(tz) = tz {
                crate::schedule::check_zone(tz).map_err(|e| bad(key, e.0))?;
            }
        }
        if let Some(p) = &self.schedule.blackout_policy {
            p.parse::<crate::schedule::BlackoutPolicy>().map_err(|e| bad("schedule.blackout_policy", e.0))?;
        }
        let policy = self.recipient_policy()?;
        for (name, members) in &self.recipients.groups {
            for (i, m) in members.iter().enumerate() {
                policy.classify(m).map_err(|e| bad(&format!("recipients.groups.{name}[{i}]"), e.to_string()))?;
            }
        }
        let known_roles: Vec<&String> = self.roles.keys().collect();
        for r in &self.recipients.roles_allowed_to_send {
            if !self.roles.is_empty() && !self.roles.contains_key(r) {
                return Err(bad(
                    "recipients.roles_allowed_to_send",
                    format!("role `{r}` is not defined (roles: {known_roles:?})"),
                ));
            }
        }
        for (i, e) in self.schedules.iter().enumerate() {
            self.schedule(e).map_err(|err| bad(&format!("schedules[{i}]"), err.0))?;
            if !self.roles.is_empty() && !self.roles.contains_key(&e.role) {
                return Err(bad(&format!("schedules[{i}].role"), format!("role `{}` is not defined", e.role)));
            }
        }
        if self.retry.max_attempts == 0 {
            return Err(bad("retry.max_attempts", "must be at least 1"));
        }
        if self.retry.backoff_seconds == 0 || self.retry.max_backoff_seconds < self.retry.backoff_seconds {
            return Err(bad("retry.backoff_seconds", "must be positive and at most retry.max_backoff_seconds"));
        }
        if self.retry.max_backoff_seconds > 7 * 86_400 {
            return Err(bad("retry.max_backoff_seconds", "at most 604800 (seven days)"));
        }
        self.validate_schedules_and_values()?;
        self.validate_records()?;
        self.alerts.validate(&self.recipients.groups)?;
        if d.mode == Mode::Disabled {
            return Ok(());
        }
        if o.sender.is_none() {
            return Err(bad("organisation.sender", "required when delivery is enabled"));
        }
        if self.packages.signing_public_key.is_none() {
            return Err(bad(
                "packages.signing_public_key",
                "required when delivery is enabled: only packages that verify against it are sent",
            ));
        }
        if let Some(endpoint) = &d.endpoint {
            check_endpoint(endpoint).map_err(|why| bad("delivery.endpoint", why))?;
        }
        if !policy.rules.iter().any(|r| r.classification != Classification::Blocked) {
            return Err(bad(
                "recipients.domains",
                "at least one allowed domain is required before anything is delivered",
            ));
        }
        match d.mode {
            Mode::Smtp | Mode::Microsoft365 | Mode::GoogleWorkspace => {
                let host = d.host.as_deref().ok_or_else(|| bad("delivery.host", "required for SMTP delivery"))?;
                if d.tls == TlsMode::None && !is_loopback(host) {
                    return Err(bad("delivery.tls", "`none` is only allowed for a loopback host"));
                }
                if matches!(d.mode, Mode::Microsoft365 | Mode::GoogleWorkspace) && d.oauth_token.is_none() {
                    return Err(bad("delivery.oauth_token", "required for XOAUTH2 (env:NAME or file:PATH)"));
                }
            }
            Mode::Sendgrid => {
                if d.api_key.is_none() {
                    return Err(bad("delivery.api_key", "required for sendgrid (env:NAME or file:PATH)"));
                }
            }
            Mode::Ses => {
                let region = d.region.as_deref().ok_or_else(|| bad("delivery.region", "required for ses"))?;
                if region.is_empty()
                    || !region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    return Err(bad("delivery.region", "not an AWS region name (like `eu-west-1`)"));
                }
                for (key, value) in
                    [("delivery.access_key_id", &d.access_key_id), ("delivery.secret_access_key", &d.secret_access_key)]
                {
                    if value.is_none() {
                        return Err(bad(key, "required for ses (env:NAME or file:PATH)"));
                    }
                }
                if d.api_key.is_some() {
                    return Err(bad("delivery.api_key", "not used by ses; give access_key_id and secret_access_key"));
                }
            }
            Mode::Webhook => {
                if d.endpoint.is_none() {
                    return Err(bad("delivery.endpoint", "required for webhooks"));
                }
                if d.webhook_secret.is_none() {
                    return Err(bad(
                        "delivery.webhook_secret",
                        "required: webhooks are signed (env:NAME or file:PATH)",
                    ));
                }
            }
            Mode::Disabled => {}
        }
        Ok(())
    }

    /// The recipient policy the domain rules describe.
    ///
    /// # Errors
    /// A rule whose domain is not a valid domain name.
    pub fn recipient_policy(&self) -> Result<RecipientPolicy, ConfigError> {
        let mut rules = Vec::new();
        for (i, e) in self.recipients.domains.iter().enumerate() {
            rules.push(
                DomainRule::new(&e.domain, e.subdomains, e.classification)
                    .map_err(|err| bad(&format!("recipients.domains[{i}].domain"), err.to_string()))?,
            );
        }
        Ok(RecipientPolicy { rules })
    }

    /// The schedule an entry describes, with the defaults filled in.
    ///
    /// # Errors
    /// A bad cadence, time zone, id or blackout window.
    pub fn schedule(&self, e: &ScheduleEntry) -> Result<crate::schedule::Schedule, crate::schedule::ScheduleError> {
        use crate::schedule::{Blackout, BlackoutPolicy, Cadence, Schedule};
        let tz = e
            .timezone
            .as_deref()
            .or(self.schedule.timezone.as_deref())
            .or(self.organisation.timezone.as_deref())
            .unwrap_or("UTC");
        let mut s = Schedule::new(&e.id, Cadence::parse(&e.cadence)?, tz)?;
        for b in &e.blackouts {
            let policy: BlackoutPolicy =
                b.policy.as_deref().or(self.schedule.blackout_policy.as_deref()).unwrap_or("defer").parse()?;
            s.blackouts.push(Blackout::parse(&b.start, &b.end, policy)?);
        }
        Ok(s)
    }

    /// The channel a recipient of `classification` gets under this setup:
    /// a webhook notice in webhook mode; otherwise the package attached
    /// when `delivery.attachments` is on and the classification may
    /// receive attachments, else a digest-only notice.
    ///
    /// # Errors
    /// The classification may receive none of the channels this setup offers.
    pub fn channel_for(&self, classification: Classification) -> Result<Channel, String> {
        let allowed = |c: Channel| self.recipients.channels.get(&classification).is_none_or(|list| list.contains(&c));
        let offered: &[Channel] = match (self.delivery.mode, self.delivery.attachments) {
            (Mode::Webhook, _) => &[Channel::Webhook],
            (_, true) => &[Channel::EmailAttachment, Channel::EmailNotice],
            (_, false) => &[Channel::EmailNotice],
        };
        offered.iter().copied().find(|c| allowed(*c)).ok_or_else(|| {
            let names: Vec<&str> = offered.iter().map(|c| c.as_str()).collect();
            format!("{} recipients may not receive {}", classification.as_str(), names.join(" or "))
        })
    }

    /// Whether `role` holds `permission` (and, for sends, may send at all).
    pub fn allows(&self, role: &str, permission: Permission) -> bool {
        let sending = matches!(permission, Permission::SendInternal | Permission::SendExternal);
        if sending
            && !self.recipients.roles_allowed_to_send.is_empty()
            && !self.recipients.roles_allowed_to_send.iter().any(|r| r == role)
        {
            return false;
        }
        self.roles.get(role).is_some_and(|r| r.permissions.contains(&permission))
    }
}
