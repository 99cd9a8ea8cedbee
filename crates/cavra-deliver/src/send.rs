//! Planning a send (policy and roles decide before anything is queued),
//! building the message, the SMTP transport, retries with capped
//! exponential backoff and full jitter, and one pass over the due jobs.

use std::ops::ControlFlow;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::Transport as _;
use sha2::{Digest, Sha256};

use crate::approval::{Approval, ApprovalState};
use crate::audit::{ApprovalDecision, AuditAction, AuditEvent, AuditLog, AuditStatus, RecipientSummary, RetryState};
use crate::config::{resolve, Config, Mode, Permission, TlsMode};
use crate::identity::Signer;
pub use crate::message::{build_message, build_notice_message, media_type, summary_text};
use crate::outbox::{Job, JobState, OutboxError, OutboxStore};
use crate::policy::{parse_address, Address, Classification};
use crate::statement::{recipient_set_digest, SendRequestStatement, SignedStatement, SEND_REQUEST_FORMAT};

/// What a principal asks to send (the principal is the [`Signer`] given to [`plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// Addresses and `group:<name>` references.
    pub recipients: Vec<String>,
    /// The package or artifact to attach.
    pub attachment: std::path::PathBuf,
    /// Subject line.
    pub subject: String,
}

/// Why a request was refused before anything was queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused, nothing queued: {}", .problems.join("; "))]
pub struct Refused {
    /// Every reason (recipients are named by position, never echoed when malformed).
    pub problems: Vec<String>,
}

/// The jobs a request becomes, and the approval they wait for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One job per recipient.
    pub jobs: Vec<Job>,
    /// The approval request the jobs wait for, when external recipients
    /// need one (it covers exactly this attachment digest and recipient
    /// set); store it with the jobs, in the same transaction
    /// ([`OutboxStore::enqueue_gated`]).
    pub request: Option<Approval>,
    /// Recipients by count and domain, for the audit log.
    pub summary: RecipientSummary,
    /// The requester's signed statement of what it asked for (checked
    /// again before every attempt); store it with the jobs.
    pub statement: SignedStatement,
}

/// A notice made at send time: what the requester signed (the descriptor,
/// whose digest is the job's) and the message it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Canonical bytes describing the notice; their `sha256:` digest must
    /// be the digest the requester signed, so a changed record sends nothing.
    pub descriptor: Vec<u8>,
    /// The message's paragraphs.
    pub paragraphs: Vec<String>,
    /// The secret link the paragraphs carry, if any (exempt from the
    /// safety gate's reading, and never stored).
    pub link: Option<String>,
}

/// Makes notices from their references (`Job::notice`) when they are sent.
///
/// ```
/// use cavra_deliver::send::{Notice, Notices, SendFailure};
/// struct Greeting;
/// impl Notices for Greeting {
///     fn notice(&self, reference: &str, _now: i64) -> Result<Notice, SendFailure> {
///         match reference {
///             "greeting:1" => Ok(Notice { descriptor: b"greeting 1".to_vec(), paragraphs: vec!["Hello.".into()], link: None }),
///             other => Err(SendFailure::new(false, format!("no notice {other}"))),
///         }
///     }
/// }
/// assert!(Greeting.notice("greeting:1", 0).is_ok());
/// ```
pub trait Notices {
    /// The notice `reference` names, as of `now`.
    ///
    /// # Errors
    /// A permanent [`SendFailure`] when the notice no longer holds (a
    /// revoked or expired link), a transient one when its records cannot
    /// be read now.
    fn notice(&self, reference: &str, now: i64) -> Result<Notice, SendFailure>;
}

/// No notices: a sender without a notice source leaves notice jobs to be
/// retried (a worker given the record store may send them), and they are
/// dead-lettered, visibly, if none does within the retry window.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNotices;

impl Notices for NoNotices {
    fn notice(&self, reference: &str, _now: i64) -> Result<Notice, SendFailure> {
        let kind = reference.split(':').next().unwrap_or_default();
        Err(SendFailure::new(true, format!("no source for `{kind}` notices in this sender (give it the record store)")))
    }
}

/// Several notice sources, each for the references with its prefix
/// (`room-link:`, `alert:`). A reference no source claims is left to be
/// retried, as with [`NoNotices`]: a worker with that source may send it.
///
/// ```
/// use cavra_deliver::send::{NoNotices, Notices, ByPrefix};
/// let sources = ByPrefix::new(vec![("room-link:", Box::new(NoNotices) as Box<dyn Notices>)]);
/// assert!(sources.notice("room-link:lnk-1", 0).unwrap_err().transient);
/// assert!(sources.notice("alert:alt-1:1", 0).unwrap_err().transient);
/// ```
pub struct ByPrefix {
    sources: Vec<(&'static str, Box<dyn Notices>)>,
}

impl std::fmt::Debug for ByPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.sources.iter().map(|(p, _)| p)).finish()
    }
}

impl ByPrefix {
    /// Sources by prefix.
    pub fn new(sources: Vec<(&'static str, Box<dyn Notices>)>) -> ByPrefix {
        ByPrefix { sources }
    }
}

impl Notices for ByPrefix {
    fn notice(&self, reference: &str, now: i64) -> Result<Notice, SendFailure> {
        match self.sources.iter().find(|(p, _)| reference.starts_with(p)) {
            Some((_, source)) => source.notice(reference, now),
            None => NoNotices.notice(reference, now),
        }
    }
}

/// [`plan`] for a notice to one recipient: the requester signs the digest
/// of `descriptor`, and the job names `reference` instead of an attachment.
///
/// # Errors
/// As [`plan`].
pub fn plan_notice(
    config: &Config,
    signer: &Signer,
    recipient: &str,
    subject: &str,
    reference: &str,
    descriptor: &[u8],
    now: i64,
) -> Result<Plan, Refused> {
    plan_notice_to(config, signer, &[recipient.to_string()], (subject, reference), descriptor, now)
}

/// [`plan_notice`] for several recipients (addresses or `group:NAME`s):
/// one plan, one job per distinct address, however many entries name it.
///
/// # Errors
/// As [`plan`].
pub fn plan_notice_to(
    config: &Config,
    signer: &Signer,
    recipients: &[String],
    (subject, reference): (&str, &str),
    descriptor: &[u8],
    now: i64,
) -> Result<Plan, Refused> {
    let request = SendRequest {
        recipients: recipients.to_vec(),
        attachment: std::path::PathBuf::new(),
        subject: subject.to_string(),
    };
    if config.delivery.mode == Mode::Webhook {
        return Err(Refused {
            problems: vec!["a notice carries a personal link and goes by e-mail, not to a webhook".into()],
        });
    }
    let digest = cavra_package::manifest::sha256_tagged(descriptor);
    let mut p = plan(config, signer, &request, &digest, now)?;
    for j in &mut p.jobs {
        j.attachment = String::new();
        j.notice = Some(reference.to_string());
    }
    Ok(p)
}

fn hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Checks the principal's permissions and the recipient policy and turns a
/// request into jobs, with the principal's signed statement of the request.
///
/// # Errors
/// [`Refused`] with every problem: a principal without the permission, a
/// header value with CR/LF, a subject the safety gate refuses, an
/// unparseable, unknown, blocked or spoofed recipient, an unknown group, or
/// delivery disabled.
pub fn plan(config: &Config, signer: &Signer, request: &SendRequest, digest: &str, now: i64) -> Result<Plan, Refused> {
    let mut problems = Vec::new();
    if config.delivery.mode == Mode::Disabled {
        problems.push("delivery is disabled in the setup file".to_string());
    }
    if request.subject.contains(['\r', '\n']) || request.subject.chars().any(char::is_control) {
        problems.push("the subject contains CR, LF or other control characters".into());
    } else if let Err(why) = crate::identity::gate_free_text(&request.subject) {
        problems.push(format!("the subject {why}"));
    }
    let policy = config.recipient_policy().map_err(|e| Refused { problems: vec![e.to_string()] })?;
    let mut addresses: Vec<(Address, Classification)> = Vec::new();
    for (i, r) in request.recipients.iter().enumerate() {
        let members: Vec<String> = match r.strip_prefix("group:") {
            Some(name) => match config.recipients.groups.get(name) {
                Some(m) => m.clone(),
                None => {
                    problems.push(format!("recipient {}: unknown group `{name}`", i + 1));
                    continue;
                }
            },
            None => vec![r.clone()],
        };
        for m in members {
            match parse_address(&m).and_then(|a| policy.classify_domain(&a.domain).map(|c| (a, c))) {
                Ok((a, c)) => match config.channel_for(c) {
                    Err(e) => problems.push(format!("recipient {}: {e}", i + 1)),
                    Ok(_) if addresses.iter().any(|(x, _)| *x == a) => {}
                    Ok(_) => addresses.push((a, c)),
                },
                Err(e) => problems.push(format!("recipient {}: {e}", i + 1)),
            }
        }
    }
    if addresses.is_empty() && problems.is_empty() {
        problems.push("no recipients".into());
    }
    let external = addresses.iter().any(|(_, c)| c.is_external());
    let internal = addresses.iter().any(|(_, c)| !c.is_external());
    for (needed, permission) in [(external, Permission::SendExternal), (internal, Permission::SendInternal)] {
        if needed {
            if let Err(r) = signer.require(config, permission) {
                problems.extend(r.problems);
            }
        }
    }
    if !problems.is_empty() {
        return Err(Refused { problems });
    }
    addresses.sort();
    let summary = RecipientSummary::classified(addresses.iter().map(|(a, c)| (a, c.is_external())));
    let mut set: Vec<String> = addresses.iter().map(|(a, _)| a.to_string()).collect();
    set.sort(); // as text: the order the outbox and every digest use
    let approval = (external && config.recipients.external_approval_required).then(|| approval_id(digest, &set));
    let sender_domain = config
        .organisation
        .sender
        .as_deref()
        .and_then(|s| parse_address(s).ok())
        .map_or_else(|| "localhost".to_string(), |a| a.domain);
    let jobs = addresses
        .iter()
        .map(|(a, _)| {
            let id = format!("job-{}", &hex(format!("{digest}\n{a}\n{now}").as_bytes())[..24]);
            Job {
                message_id: format!("<{id}@{sender_domain}>"),
                id,
                recipient: a.to_string(),
                subject: request.subject.clone(),
                attachment: request.attachment.display().to_string(),
                digest: digest.to_string(),
                role: signer.name().to_string(),
                state: if approval.is_some() { JobState::Blocked } else { JobState::Queued },
                attempts: 0,
                first_attempt: None,
                next_attempt: now,
                lease_until: None,
                last_error: None,
                possible_duplicate: false,
                approval: approval.clone(),
                notice: None,
            }
        })
        .collect();
    let body = SendRequestStatement {
        format: SEND_REQUEST_FORMAT.into(),
        request_id: format!("req-{}", &hex(format!("{digest}\n{}\n{now}", set.join("\n")).as_bytes())[..20]),
        package_digest: digest.to_string(),
        recipient_set_digest: recipient_set_digest(&set),
        recipient_count: set.len(),
        requester_key_id: signer.key_id(),
        requested_at: now,
    };
    let statement = SignedStatement::sign(signer.key(), SEND_REQUEST_FORMAT, &body)
        .map_err(|e| Refused { problems: vec![format!("signing the request: {e}")] })?;
    let request = approval.as_ref().map(|id| pending(config, id, digest, &summary, signer.name(), now));
    Ok(Plan { jobs, request, summary, statement })
}

/// A new pending request, expiring after `recipients.approval_ttl_hours`.
fn pending(config: &Config, id: &str, digest: &str, summary: &RecipientSummary, role: &str, now: i64) -> Approval {
    Approval {
        approval_id: id.to_string(),
        package_digest: digest.to_string(),
        recipient_domains: summary.domains.clone(),
        recipient_count: summary.count,
        requested_by_role: role.to_string(),
        decision: ApprovalState::Pending,
        decided_by_role: None,
        requested_at: now,
        decided_at: None,
        expires_at: now + i64::from(config.recipients.approval_ttl_hours) * 3600,
        reason: None,
    }
}

/// The id of the approval covering exactly `digest` sent to `recipients`
/// (sorted addresses).
pub fn approval_id(digest: &str, recipients: &[String]) -> String {
    format!("appr-{}", &hex(format!("{digest}\n{}", recipients.join("\n")).as_bytes())[..20])
}

impl Plan {
    /// The id of the approval the jobs wait for, if any.
    pub fn approval(&self) -> Option<&str> {
        self.request.as_ref().map(|r| r.approval_id.as_str())
    }

    /// Makes the jobs wait for an approval even where the recipient policy
    /// alone would not (a schedule whose recipients changed), noting `why`
    /// on the request.
    pub fn require_approval(&mut self, config: &Config, role: &str, now: i64, why: &str) {
        if self.request.is_none() {
            let Some(digest) = self.jobs.first().map(|j| j.digest.clone()) else { return };
            let mut set: Vec<String> = self.jobs.iter().map(|j| j.recipient.clone()).collect();
            set.sort();
            let id = approval_id(&digest, &set);
            self.request = Some(pending(config, &id, &digest, &self.summary, role, now));
        }
        let Some(r) = self.request.as_mut() else { return };
        r.reason = Some(why.to_string());
        for j in &mut self.jobs {
            j.state = JobState::Blocked;
            j.approval = Some(r.approval_id.clone());
        }
    }
}

/// How an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// Whether trying again may succeed.
    pub transient: bool,
    /// What the server or connection said.
    pub message: String,
    /// Seconds the server asked us to wait (HTTP `Retry-After`).
    pub retry_after: Option<i64>,
}

impl SendFailure {
    /// A failure without a server-given delay.
    pub fn new(transient: bool, message: impl Into<String>) -> SendFailure {
        SendFailure { transient, message: message.into(), retry_after: None }
    }
}

/// Sends one job.
pub trait Transport {
    /// Sends `job`; `raw` is its complete RFC 5322 message and `now` the
    /// attempt's instant (Unix seconds).
    ///
    /// # Errors
    /// [`SendFailure`], transient or permanent.
    fn send(&self, job: &Job, from: &str, raw: &[u8], now: i64) -> Result<(), SendFailure>;

    /// Sends a notice job ([`Notices`]): `raw` is its complete message and
    /// `text` its plain-text body. By default the same as [`Transport::send`];
    /// a transport that builds its own body (an API's JSON) uses `text`,
    /// and one that must not carry a notice refuses it.
    ///
    /// # Errors
    /// [`SendFailure`], transient or permanent.
    fn send_notice(&self, job: &Job, from: &str, raw: &[u8], text: &str, now: i64) -> Result<(), SendFailure> {
        let _ = text;
        self.send(job, from, raw, now)
    }
}

/// SMTP through lettre: STARTTLS required unless the setup says otherwise.
pub struct Smtp {
    transport: lettre::SmtpTransport,
}

impl Smtp {
    /// A transport from the setup file's `[delivery]` section.
    ///
    /// # Errors
    /// A missing host, an unresolvable credential reference or TLS set-up failure.
    pub fn from_config(config: &Config) -> Result<Smtp, String> {
        let d = &config.delivery;
        let host = d.host.as_deref().ok_or("delivery.host is required")?;
        let mut b = lettre::SmtpTransport::builder_dangerous(host).timeout(Some(Duration::from_secs(20)));
        let tls = || -> Result<TlsParameters, String> {
            let mut params = TlsParameters::builder(host.to_string());
            if let Some(path) = &d.tls_ca_file {
                let pem = cavra_model::limits::read_bounded(path, cavra_model::limits::CA_BYTES)
                    .map_err(|e| format!("delivery.tls_ca_file: {}: {e}", path.display()))?;
                if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                    return Err(format!("delivery.tls_ca_file: {}: no PEM certificate in the file", path.display()));
                }
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("delivery.tls_ca_file: {}: not a PEM certificate: {e}", path.display()))?;
                params = params.add_root_certificate(cert);
            }
            params.build().map_err(|e| e.to_string())
        };
        b = match d.tls {
            TlsMode::Starttls => b.tls(Tls::Required(tls()?)).port(d.port.unwrap_or(587)),
            TlsMode::Implicit => b.tls(Tls::Wrapper(tls()?)).port(d.port.unwrap_or(465)),
            TlsMode::None => b.tls(Tls::None).port(d.port.unwrap_or(25)),
        };
        if let Some(user) = &d.username {
            let user = resolve("delivery.username", user).map_err(|e| e.to_string())?;
            let secret = match (&d.password, &d.oauth_token) {
                (_, Some(token)) if matches!(d.mode, Mode::Microsoft365 | Mode::GoogleWorkspace) => {
                    b = b.authentication(vec![Mechanism::Xoauth2]);
                    resolve("delivery.oauth_token", token).map_err(|e| e.to_string())?
                }
                (Some(p), _) => {
                    b = b.authentication(vec![Mechanism::Plain, Mechanism::Login]);
                    resolve("delivery.password", p).map_err(|e| e.to_string())?
                }
                _ => return Err("delivery.password or delivery.oauth_token is required with a user name".into()),
            };
            b = b.credentials(Credentials::new(user, secret));
        }
        Ok(Smtp { transport: b.build() })
    }
}

impl Transport for Smtp {
    fn send(&self, job: &Job, from: &str, raw: &[u8], _now: i64) -> Result<(), SendFailure> {
        let parse = |s: &str| s.parse::<lettre::Address>().map_err(|e| SendFailure::new(false, e.to_string()));
        let envelope = lettre::address::Envelope::new(Some(parse(from)?), vec![parse(&job.recipient)?])
            .map_err(|e| SendFailure::new(false, e.to_string()))?;
        // 5xx is permanent for this recipient; 4xx and lost connections are worth retrying.
        self.transport
            .send_raw(&envelope, raw)
            .map(|_| ())
            .map_err(|e| SendFailure::new(!e.is_permanent(), e.to_string()))
    }
}

/// Delay before attempt `attempt + 1`: capped exponential backoff with full
/// jitter, drawn from a hash of the job id and attempt so it is reproducible.
pub fn backoff(config: &Config, job_id: &str, attempt: u32) -> i64 {
    let r = &config.retry;
    let exp = r.backoff_seconds.saturating_mul(1u64 << attempt.saturating_sub(1).min(30));
    let cap = exp.min(r.max_backoff_seconds).max(1);
    let h = Sha256::digest(format!("{job_id}/{attempt}").as_bytes());
    let draw = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
    (draw % (cap + 1)) as i64
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunSummary {
    /// Sent.
    pub sent: usize,
    /// Scheduled for another attempt.
    pub retried: usize,
    /// Failed permanently.
    pub failed: usize,
    /// Given up.
    pub dead_lettered: usize,
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// The outbox could not be read or written.
    #[error(transparent)]
    Store(#[from] OutboxError),
    /// A job's outcome was stored but its audit event could not be written:
    /// the pass stops, and the command must not report a clean success.
    #[error("job {job}: the outcome is stored but its audit event could not be written: {source}")]
    Audit {
        /// The job.
        job: String,
        /// Why.
        source: crate::audit::AuditError,
    },
}

/// Sends every due job once. Each outcome is stored before the next job,
/// and audited when a log is given.
///
/// # Errors
/// Storage or audit-log errors (a failed send is an outcome, not an error).
pub fn run_once(
    config: &Config,
    store: &mut dyn OutboxStore,
    transport: &dyn Transport,
    audit: Option<&mut AuditLog>,
    now: i64,
    at: &str,
) -> Result<RunSummary, PassError> {
    run_once_leasing(config, store, transport, audit, now, at, DEFAULT_LEASE_SECONDS)
}

/// How long a sender holds a job before another may take it over.
pub const DEFAULT_LEASE_SECONDS: i64 = 300;

/// [`run_once`] with an explicit lease. Jobs are leased one at a time, so a
/// sender that dies holds at most the job it was sending.
///
/// # Errors
/// Storage or audit-log errors.
pub fn run_once_leasing(
    config: &Config,
    store: &mut dyn OutboxStore,
    transport: &dyn Transport,
    audit: Option<&mut AuditLog>,
    now: i64,
    at: &str,
    lease_seconds: i64,
) -> Result<RunSummary, PassError> {
    let clock = || (now, at.to_string());
    run_pass(config, store, transport, audit, &clock, lease_seconds, &mut |_, _| ControlFlow::Continue(()))
}

/// What an attempt's outcome means for the job, the summary and the log.
struct Outcome {
    status: AuditStatus,
    retry: Option<RetryState>,
    approval: Option<String>,
    decision: ApprovalDecision,
}

/// Reads the attachment once, checks the job against its signed evidence
/// ([`crate::authorise`]) and sends those same bytes.
#[allow(clippy::too_many_arguments)]
fn attempt(
    config: &Config,
    store: &dyn OutboxStore,
    transport: &dyn Transport,
    notices: &dyn Notices,
    job: &Job,
    from: &str,
    now: i64,
) -> Result<Option<String>, (bool, SendFailure)> {
    let refused = |m: String| (true, SendFailure::new(false, m));
    let evidence = store.evidence(job).map_err(|e| refused(format!("reading the job's evidence: {e}")))?;
    let notice = match job.notice.as_deref() {
        Some(r) => Some(notices.notice(r, now).map_err(|f| (!f.transient, f))?),
        None => None,
    };
    let bytes: std::borrow::Cow<'_, [u8]> = match &notice {
        Some(n) => std::borrow::Cow::Borrowed(&n.descriptor),
        None => std::borrow::Cow::Owned(
            cavra_model::limits::read_bounded(
                std::path::Path::new(&job.attachment),
                cavra_model::limits::PACKAGE_BYTES,
            )
            .map_err(|e| refused(format!("{}: {e}", job.attachment)))?,
        ),
    };
    let external = crate::message::is_external(config, job).map_err(refused)?;
    let ok = crate::authorise::authorise(config, job, &evidence, &bytes, external, now)
        .map_err(|m| refused(format!("not authorised: {m}")))?;
    let unsent = |m: String| (false, SendFailure::new(false, m));
    match &notice {
        Some(n) => {
            let raw = build_notice_message(config, job, n).map_err(unsent)?;
            let text = crate::message::notice_text(config, n);
            transport.send_notice(job, from, &raw, &text, now)
        }
        None => transport.send(job, from, &build_message(config, job, &bytes).map_err(unsent)?, now),
    }
    .map_err(|f| (false, f))?;
    Ok(ok.approval)
}

/// One pass over the due jobs with a clock read before every job (so a
/// long pass leases, signs and backs off at the right instants) and a
/// callback after every job, which may stop the pass early (a progress
/// display, a graceful shutdown). The clock returns Unix seconds and the
/// same instant as RFC 3339 text for the audit log.
///
/// Before each attempt the job is checked against its signed request, the
/// package signature and the signed approvals ([`crate::authorise`]); a job
/// that fails the check fails permanently with a `blocked_policy` event.
///
/// ```
/// # use cavra_deliver::{config::Config, outbox::{OutboxStore, SqliteOutbox}, send::*};
/// # use std::ops::ControlFlow;
/// # let config = Config::from_toml("").unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut store = SqliteOutbox::open(&dir.path().join("o.db")).unwrap();
/// struct Nowhere;
/// impl Transport for Nowhere {
///     fn send(&self, _: &cavra_deliver::outbox::Job, _: &str, _: &[u8], _: i64) -> Result<(), SendFailure> {
///         Err(SendFailure::new(true, "offline"))
///     }
/// }
/// let clock = || (1_800_000_000, "2027-01-15T08:00:00Z".to_string());
/// let summary = run_pass(&config, &mut store, &Nowhere, None, &clock, 300, &mut |job, so_far| {
///     println!("{} {}: {} sent so far", job.id, job.state.as_str(), so_far.sent);
///     ControlFlow::Continue(())
/// })
/// .unwrap();
/// assert_eq!(summary, RunSummary::default(), "an empty outbox");
/// ```
///
/// # Errors
/// Storage errors, or an audit event that could not be written (after the
/// job's outcome was stored).
pub fn run_pass(
    config: &Config,
    store: &mut dyn OutboxStore,
    transport: &dyn Transport,
    audit: Option<&mut AuditLog>,
    clock: &dyn Fn() -> (i64, String),
    lease_seconds: i64,
    after_job: &mut dyn FnMut(&Job, &RunSummary) -> ControlFlow<()>,
) -> Result<RunSummary, PassError> {
    let context = PassContext { transport, notices: &NoNotices, clock, lease_seconds };
    run_pass_with(config, store, &context, audit, after_job)
}

/// What a pass sends with: the transport, the notice source, the clock
/// and the lease.
pub struct PassContext<'a> {
    /// Where messages go.
    pub transport: &'a dyn Transport,
    /// Where notice jobs get their message ([`NoNotices`] when there are none).
    pub notices: &'a dyn Notices,
    /// Unix seconds and the same instant as RFC 3339 text.
    pub clock: &'a dyn Fn() -> (i64, String),
    /// Seconds a sender holds a job.
    pub lease_seconds: i64,
}

/// [`run_pass`] with a notice source, so notice jobs (evidence-room
/// invitations) are composed from their records as they are sent.
///
/// # Errors
/// As [`run_pass`].
pub fn run_pass_with(
    config: &Config,
    store: &mut dyn OutboxStore,
    context: &PassContext<'_>,
    mut audit: Option<&mut AuditLog>,
    after_job: &mut dyn FnMut(&Job, &RunSummary) -> ControlFlow<()>,
) -> Result<RunSummary, PassError> {
    let PassContext { transport, notices, clock, lease_seconds } = *context;
    let mut summary = RunSummary::default();
    let from = config.organisation.sender.clone().unwrap_or_default();
    loop {
        let (now, at) = clock();
        let Some(mut job) = store.lease_due(now, lease_seconds, 1)?.pop() else {
            break;
        };
        job.attempts += 1;
        job.first_attempt.get_or_insert(now);
        let result = attempt(config, &*store, transport, notices, &job, &from, now);
        let outcome = settle(config, &mut job, &mut summary, result, now);
        job.lease_until = None;
        store.record(&job)?;
        if let Some(log) = audit.as_deref_mut() {
            log.append(&job_event(&job, &at, &outcome))
                .map_err(|source| PassError::Audit { job: job.id.clone(), source })?;
        }
        if after_job(&job, &summary).is_break() {
            break;
        }
    }
    Ok(summary)
}

/// Applies an attempt's result to the job and the summary.
fn settle(
    config: &Config,
    job: &mut Job,
    summary: &mut RunSummary,
    result: Result<Option<String>, (bool, SendFailure)>,
    now: i64,
) -> Outcome {
    let max = config.retry.max_attempts;
    let retry = |next: Option<i64>, terminal| RetryState {
        attempt: job.attempts,
        max_attempts: max,
        next_attempt_at: next.and_then(|t| cavra_model::Timestamp::from_unix_seconds(t).ok()).map(|t| t.to_string()),
        terminal,
    };
    let pending = if job.approval.is_some() { ApprovalDecision::Pending } else { ApprovalDecision::NotRequired };
    match result {
        Ok(approval) => {
            job.state = JobState::Sent;
            job.last_error = None;
            summary.sent += 1;
            let decision = if approval.is_some() { ApprovalDecision::Approved } else { ApprovalDecision::NotRequired };
            Outcome { status: AuditStatus::Sent, retry: None, approval, decision }
        }
        Err((_, f)) if f.transient => {
            // A server-given Retry-After wins over our own backoff.
            // At least a second, so a job is never due again within the pass that failed it.
            // A server's Retry-After is capped at the retry window, so a hostile value cannot overflow.
            let window = i64::try_from(config.retry.window_hours.saturating_mul(3600)).unwrap_or(i64::MAX);
            let delay = f.retry_after.unwrap_or_else(|| backoff(config, &job.id, job.attempts)).clamp(1, window.max(1));
            let window_end = job.first_attempt.unwrap_or(now).saturating_add(window);
            job.last_error = Some(f.message);
            if job.attempts >= max || now.saturating_add(delay) > window_end {
                job.state = JobState::DeadLettered;
                summary.dead_lettered += 1;
                let r = retry(None, true);
                Outcome {
                    status: AuditStatus::Failed,
                    retry: Some(r),
                    approval: job.approval.clone(),
                    decision: pending,
                }
            } else {
                job.state = JobState::RetryScheduled;
                job.next_attempt = now.saturating_add(delay);
                summary.retried += 1;
                let r = retry(Some(job.next_attempt), false);
                Outcome {
                    status: AuditStatus::RetryScheduled,
                    retry: Some(r),
                    approval: job.approval.clone(),
                    decision: pending,
                }
            }
        }
        Err((policy, f)) => {
            job.state = JobState::Failed;
            job.last_error = Some(f.message);
            summary.failed += 1;
            let status = if policy { AuditStatus::BlockedPolicy } else { AuditStatus::Failed };
            Outcome { status, retry: None, approval: job.approval.clone(), decision: pending }
        }
    }
}

/// The audit event of one attempt: recipient domain only, the reply code
/// or the class of refusal only (server replies can quote the address).
fn job_event(job: &Job, at: &str, o: &Outcome) -> AuditEvent {
    let addresses: Vec<Address> = parse_address(&job.recipient).into_iter().collect();
    let mut event = AuditEvent::new(at, AuditAction::Send, o.status)
        .recipients(RecipientSummary::of(&addresses))
        .approval(o.approval.as_deref(), o.decision)
        .digest(&job.digest)
        .evidence(&job.id);
    event.retry = o.retry.clone();
    if o.status != AuditStatus::Sent {
        if let Some(e) = job.last_error.as_deref() {
            let short = if e.starts_with("not authorised") {
                e.split(':').take(2).collect::<Vec<_>>().join(":")
            } else {
                e.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
            };
            let short = short.replace('@', "(at)");
            event = event.detail(if job.possible_duplicate { format!("{short}; possible duplicate") } else { short });
        }
    }
    event
}

/// File name of the small text attachment a test delivery carries.
pub const TEST_ATTACHMENT: &str = "cavra-delivery-test.txt";

/// One recipient's result of a test delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// The recipient's domain (never the address, so it can be logged).
    pub domain: String,
    /// `Ok` when the transport accepted the message.
    pub result: Result<(), SendFailure>,
}

/// Sends a test message now — a short text attachment written into
/// `scratch` — to check the setup and the transport end to end. The same
/// roles and recipient policy apply as to a real send; nothing is queued,
/// and recipients that would need an approval are refused (test with an
/// internal recipient instead).
///
/// # Errors
/// [`Refused`] before anything is sent.
pub fn send_test(
    config: &Config,
    transport: &dyn Transport,
    signer: &Signer,
    recipients: &[String],
    scratch: &std::path::Path,
    now: i64,
) -> Result<Vec<TestOutcome>, Refused> {
    let org = config.organisation.name.clone().unwrap_or_else(|| "CAVRA Report Center".into());
    let text = format!("Delivery test from {org}.\nIf this arrived, the delivery setup works.\n");
    let path = scratch.join(TEST_ATTACHMENT);
    std::fs::write(&path, &text).map_err(|e| Refused { problems: vec![format!("{}: {e}", path.display())] })?;
    let digest = cavra_package::manifest::sha256_tagged(text.as_bytes());
    let request =
        SendRequest { recipients: recipients.to_vec(), attachment: path, subject: format!("{org}: delivery test") };
    let planned = plan(config, signer, &request, &digest, now)?;
    if planned.approval().is_some() {
        return Err(Refused {
            problems: vec!["external recipients need an approval; send the test to an internal recipient".into()],
        });
    }
    let from = config.organisation.sender.clone().unwrap_or_default();
    Ok(planned
        .jobs
        .iter()
        .map(|job| TestOutcome {
            domain: parse_address(&job.recipient).map(|a| a.domain).unwrap_or_default(),
            result: build_message(config, job, text.as_bytes())
                .map_err(|m| SendFailure::new(false, m))
                .and_then(|raw| transport.send(job, &from, &raw, now)),
        })
        .collect())
}
