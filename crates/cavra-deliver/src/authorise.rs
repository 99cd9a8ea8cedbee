//! The check made before every attempt: nothing in the outbox is trusted on
//! its own. A job is sent only when
//! - the requester's signed statement verifies with a principal's key that
//!   holds the send permission for this recipient, and covers exactly this
//!   package digest and the recipient set of the jobs it created;
//! - the package still verifies against `packages.signing_public_key` and
//!   its bytes have the queued digest;
//! - where an approval is needed (external recipients under
//!   `recipients.external_approval_required`, or a job queued waiting for
//!   one), enough distinct approvers — principals with the `approve`
//!   permission, none of them the requester — signed an approval of this
//!   digest and recipient set that has not expired, and none of them
//!   rejected or revoked it.
//!
//! So editing `outbox.db` — flipping a blocked job to queued, swapping the
//! attachment, adding a recipient, forging an approval row — releases
//! nothing.

use crate::approval::ApprovalState;
use crate::config::{Config, Permission};
use crate::outbox::Job;
use crate::statement::{
    recipient_set_digest, ApprovalStatement, SendRequestStatement, SignedStatement, APPROVAL_FORMAT,
    SEND_REQUEST_FORMAT,
};

/// What the outbox holds for a job besides the job itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobEvidence {
    /// The signed request that created the job.
    pub request: Option<SignedStatement>,
    /// The recipients of every job that request created, sorted.
    pub recipients: Vec<String>,
    /// Signed approval decisions for the job's approval id.
    pub approvals: Vec<SignedStatement>,
}

/// The outcome of [`authorise`] when it passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorised {
    /// The approval that released the job, if one was needed.
    pub approval: Option<String>,
    /// Key ids of the approvers whose signatures count.
    pub approvers: Vec<String>,
}

fn open_request(config: &Config, ev: &JobEvidence) -> Result<SendRequestStatement, String> {
    let request = ev.request.as_ref().ok_or("no signed send request for this job")?;
    let claimed = request.claimed_key_id().ok_or("the send request names no requester key")?;
    let (_, key) = config
        .principal_key(&claimed)
        .ok_or_else(|| format!("the request was signed by key {claimed}, not a principal"))?;
    request.open(key, SEND_REQUEST_FORMAT).map_err(|e| format!("the send request: {e}"))
}

/// The attachment bytes have the queued digest and verify as a package.
/// The bytes still have the digest the requester signed; an attachment
/// must also still verify as a package. A notice's bytes are its descriptor,
/// remade from the records at every attempt, so a changed record (another
/// room, a later expiry) changes its digest.
fn check_bytes(config: &Config, job: &Job, bytes: &[u8]) -> Result<(), String> {
    let (digest, queued) = (cavra_package::manifest::sha256_tagged(bytes), &job.digest);
    match (digest == *queued, job.notice.is_some()) {
        (true, true) => Ok(()),
        (true, false) => verify_signed_package(config, std::io::Cursor::new(bytes)),
        (false, true) => Err(format!("the notice changed since it was requested (digest {digest}, signed {queued})")),
        (false, false) => Err(format!("the attachment changed since it was queued (digest {digest}, queued {queued})")),
    }
}

/// The package verifies against `packages.signing_public_key`.
fn verify_signed_package(config: &Config, archive: impl std::io::Read + std::io::Seek) -> Result<(), String> {
    let key = config.package_key().ok_or("packages.signing_public_key is not set, so no package can be verified")?;
    let v = cavra_package::verify::verify_package(archive, &key.file_text(), &cavra_package::verify::Limits::default())
        .map_err(|e| format!("the package does not verify: {e}"))?;
    if let Some(f) = v.failures().next() {
        return Err(format!("the package does not verify: {}: {}", f.path, f.problem.as_deref().unwrap_or_default()));
    }
    if !v.ok() {
        return Err("the package does not verify: nothing to check".into());
    }
    Ok(())
}

/// Checks a job against its signed evidence just before an attempt.
/// `bytes` are the attachment's bytes, read once; `external` says whether
/// the recipient is external under the current policy.
///
/// # Errors
/// Why the job may not be sent.
pub fn authorise(
    config: &Config,
    job: &Job,
    ev: &JobEvidence,
    bytes: &[u8],
    external: bool,
    now: i64,
) -> Result<Authorised, String> {
    let request = open_request(config, ev)?;
    if request.package_digest != job.digest {
        return Err("the job's digest is not the one the requester signed".into());
    }
    if !ev.recipients.contains(&job.recipient) || recipient_set_digest(&ev.recipients) != request.recipient_set_digest {
        return Err("the recipient set is not the one the requester signed".into());
    }
    let (_, requester) = config.principal_key(&request.requester_key_id).ok_or("the requester is not a principal")?;
    let needed = if external { Permission::SendExternal } else { Permission::SendInternal };
    if !config.key_allows(requester, needed) {
        return Err(format!("the requester's principal lacks `{}`", needed.as_str()));
    }
    check_bytes(config, job, bytes)?;
    let approval_needed = job.approval.is_some() || (external && config.recipients.external_approval_required);
    if !approval_needed {
        return Ok(Authorised { approval: None, approvers: Vec::new() });
    }
    let expected = crate::send::approval_id(&job.digest, &ev.recipients);
    if job.approval.as_deref().is_some_and(|a| a != expected) {
        return Err("the job names an approval that does not cover its digest and recipients".into());
    }
    let requesters = [request.requester_key_id.clone()];
    let covers = Covers {
        id: &expected,
        package_digest: &request.package_digest,
        recipient_set_digest: &request.recipient_set_digest,
        requesters: &requesters,
    };
    let approvers = valid_approvals(config, &ev.approvals, covers, now)?;
    let needed = config.recipients.external_approvers as usize;
    if approvers.len() < needed {
        return Err(format!(
            "approval {expected} has {} valid approver signature(s) of {needed} needed",
            approvers.len()
        ));
    }
    Ok(Authorised { approval: Some(expected), approvers })
}

/// What a signed approval must cover to count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Covers<'a> {
    /// The approval id (`appr-…`).
    pub(crate) id: &'a str,
    /// The package digest.
    pub(crate) package_digest: &'a str,
    /// The recipient-set digest.
    pub(crate) recipient_set_digest: &'a str,
    /// Key ids of the principals who asked for the send (they cannot approve it).
    pub(crate) requesters: &'a [String],
}

/// Key ids of the distinct approvers whose signed, unexpired approval
/// covers exactly `covers`, each a principal with `approve` and none a
/// requester; an error when a valid rejection or revocation stands. Used
/// both when a decision is recorded and before every attempt.
pub(crate) fn valid_approvals(
    config: &Config,
    statements: &[SignedStatement],
    covers: Covers<'_>,
    now: i64,
) -> Result<Vec<String>, String> {
    let mut approvers = std::collections::BTreeSet::new();
    for s in statements {
        let Some(claimed) = s.claimed_key_id() else { continue };
        let Some((_, key)) = config.principal_key(&claimed) else { continue };
        let Ok(a) = s.open::<ApprovalStatement>(key, APPROVAL_FORMAT) else { continue };
        let covered = a.approval_id == covers.id
            && a.package_digest == covers.package_digest
            && a.recipient_set_digest == covers.recipient_set_digest;
        if !covered || covers.requesters.contains(&a.approver_key_id) || !config.key_allows(key, Permission::Approve) {
            continue;
        }
        match a.decision {
            ApprovalState::Rejected | ApprovalState::Revoked => {
                return Err(format!("approval {} was {} by key {claimed}", covers.id, a.decision.as_str()));
            }
            ApprovalState::Approved if a.expires_at > now => {
                approvers.insert(a.approver_key_id);
            }
            ApprovalState::Approved
            | ApprovalState::Pending
            | ApprovalState::NeedsMoreInfo
            | ApprovalState::Expired => {}
        }
    }
    Ok(approvers.into_iter().collect())
}

/// Intake: accepts a package to be queued (a regular file of at most
/// [`cavra_model::limits::PACKAGE_BYTES`]) only when it verifies against
/// `packages.signing_public_key`, and returns its `sha256:` digest. The
/// file is streamed, never read into memory whole. A plain file, or a
/// package signed by another key, is refused before anything is queued;
/// every attempt checks the bytes it sends again.
///
/// # Errors
/// Why the file is not an acceptable package.
pub fn verify_intake(config: &Config, path: &std::path::Path) -> Result<String, String> {
    use std::io::Seek;
    let fail = |e: String| format!("{}: {e}", path.display());
    let mut file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    if meta.len() > cavra_model::limits::PACKAGE_BYTES {
        return Err(fail(format!("larger than the limit of {} bytes", cavra_model::limits::PACKAGE_BYTES)));
    }
    let digest = cavra_package::manifest::sha256_tagged_reader(std::io::BufReader::new(&mut file))
        .map_err(|e| fail(e.to_string()))?;
    file.rewind().map_err(|e| fail(e.to_string()))?;
    verify_signed_package(config, std::io::BufReader::new(file)).map_err(fail)?;
    Ok(digest)
}
