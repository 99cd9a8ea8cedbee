//! The message a job sends: a plain-text and an HTML part with the same
//! summary, built from the package's own manifest (package type and id,
//! retention class, tenant, the reports inside), the attachment's digest
//! and how to verify it — never more than the public-safe package holds —,
//! and the attachment itself or, when the setup or the recipient's
//! classification says so (`[recipients.channels]`), a digest-only notice. The summary passes the safety gate before anything is sent.

use std::io::Read;

use cavra_package::manifest::{sha256_tagged, Manifest};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::config::{Channel, Config};
use crate::outbox::Job;
use crate::policy::parse_address;

/// The largest `manifest.json` read for a summary.
const MANIFEST_CAP: u64 = 4 << 20;

/// The manifest of a CAVRA package, when `path` is one (a zip with a
/// parseable `manifest.json`); `None` for single artifacts or anything
/// unreadable (the summary then names the file and digest only).
pub fn package_manifest(path: &std::path::Path) -> Option<Manifest> {
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        return None;
    }
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).ok()?).ok()?;
    let entry = archive.by_name("manifest.json").ok()?;
    if entry.size() > MANIFEST_CAP {
        return None;
    }
    let mut text = String::new();
    entry.take(MANIFEST_CAP).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// The channel the job's recipient gets under the current setup, checked
/// again at send time: a recipient the policy no longer allows is refused.
///
/// # Errors
/// The recipient is no longer allowed, or may receive no channel offered.
pub fn channel(config: &Config, job: &Job) -> Result<Channel, String> {
    let policy = config.recipient_policy().map_err(|e| e.to_string())?;
    let address = parse_address(&job.recipient).map_err(|e| e.to_string())?;
    let class = policy
        .classify_domain(&address.domain)
        .map_err(|e| format!("the recipient is no longer allowed by the policy: {e}"))?;
    config.channel_for(class)
}

/// Whether the job's recipient is external under the current policy.
///
/// # Errors
/// The recipient is no longer allowed by the policy.
pub fn is_external(config: &Config, job: &Job) -> Result<bool, String> {
    let policy = config.recipient_policy().map_err(|e| e.to_string())?;
    let address = parse_address(&job.recipient).map_err(|e| e.to_string())?;
    policy
        .classify_domain(&address.domain)
        .map(|c| c.is_external())
        .map_err(|e| format!("the recipient is no longer allowed by the policy: {e}"))
}

fn human_size(bytes: u64) -> String {
    match bytes {
        0..=1023 => format!("{bytes} B"),
        1024..=1_048_575 => format!("{:.1} KB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

/// The summary's blocks: paragraphs, and the list of reports.
struct Summary {
    intro: Vec<String>,
    reports: Vec<String>,
    outro: Vec<String>,
}

fn attachment_name(job: &Job) -> &str {
    std::path::Path::new(&job.attachment).file_name().and_then(|n| n.to_str()).unwrap_or("package.zip")
}

fn summary(config: &Config, job: &Job, attached: bool) -> Summary {
    let o = &config.organisation;
    let name = attachment_name(job);
    let org = o.name.clone().unwrap_or_else(|| "CAVRA Report Center".into());
    let manifest = package_manifest(std::path::Path::new(&job.attachment));
    let mut intro = vec![format!("{org} sent you {name}.")];
    let mut reports = Vec::new();
    if let Some(m) = &manifest {
        intro.push(format!(
            "Package {} ({}), retention class {}, for {}; data as of {}.",
            m.package_id,
            m.package_type,
            m.retention_class.as_str(),
            m.tenant_display_name,
            m.generated_at
        ));
        // Report files; detached signatures and data files count as supporting files.
        for a in m.artifacts.iter().filter(|a| a.report_id.is_some() && a.signs.is_none()) {
            reports.push(format!("{} ({}, {})", a.path, a.format, human_size(a.size.unwrap_or_default())));
        }
        let others = m.artifacts.len() - reports.len();
        if others > 0 {
            reports.push(format!("and {others} supporting file(s): signatures, manifests and data"));
        }
    }
    let mut outro = vec![format!("Digest: {}", job.digest)];
    outro.push(if manifest.is_some() {
        format!("Verify it with `cavra-reports verify {name} --pubkey <the signer's public key>`.")
    } else {
        "Check that its sha256 matches the digest above.".to_string()
    });
    if !attached {
        outro.push(format!("{name} is not attached: fetch it from the agreed location and check its digest."));
    }
    if let Some(footer) = o.legal_footer.as_deref().filter(|f| !f.is_empty()) {
        outro.push(footer.to_string());
    }
    Summary { intro, reports, outro }
}

/// The plain-text body.
pub fn summary_text(config: &Config, job: &Job) -> String {
    summary(config, job, channel(config, job) == Ok(Channel::EmailAttachment)).text()
}

impl Summary {
    fn text(&self) -> String {
        let mut text = self.intro.join("\n\n");
        if !self.reports.is_empty() {
            text.push_str("\n\nReports:\n");
            for r in &self.reports {
                text.push_str(&format!("  - {r}\n"));
            }
        } else {
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.outro.join("\n\n"));
        text.push('\n');
        text
    }

    fn html(&self) -> String {
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
        let mut html = String::from("<!doctype html><html><body>");
        for p in &self.intro {
            html.push_str(&format!("<p>{}</p>", esc(p)));
        }
        if !self.reports.is_empty() {
            html.push_str("<p>Reports:</p><ul>");
            for r in &self.reports {
                html.push_str(&format!("<li>{}</li>", esc(r)));
            }
            html.push_str("</ul>");
        }
        for p in &self.outro {
            html.push_str(&format!("<p>{}</p>", esc(p)));
        }
        html.push_str("</body></html>");
        html
    }
}

/// The media type of an attachment, from its extension: packages are zips;
/// single artifacts can be any of the report formats.
pub fn media_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "zip" => "application/zip",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "jsonl" => "application/jsonl",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "txt" => "text/plain",
        "html" => "text/html",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

/// Builds the message: the summary in plain text and HTML, and the
/// attachment (checked against the digest it was queued with) or a
/// digest-only notice.
///
/// # Errors
/// A header value with CR/LF, an unreadable or changed attachment, a bad
/// address, or a summary the safety gate refuses (nothing is sent).
pub fn build_message(config: &Config, job: &Job, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let attached = channel(config, job)? == Channel::EmailAttachment;
    let summary = summary(config, job, attached);
    if let Some(d) = cavra_model::gate::scan_text(&format!("{}\n{}", job.subject, summary.text())).first() {
        return Err(format!("the message summary carries {}; nothing sent", d.kind.as_str()));
    }
    let attachment = if attached {
        let digest = sha256_tagged(bytes);
        if digest != job.digest {
            return Err(format!(
                "{} changed since it was queued (digest {digest}, queued {})",
                job.attachment, job.digest
            ));
        }
        Some((attachment_name(job).to_string(), bytes))
    } else {
        None
    };
    compose(config, job, &summary, attachment)
}

/// Builds a notice's message ([`crate::send::Notices`]): its paragraphs,
/// the organisation's legal footer, no attachment. The safety gate reads
/// the subject and every paragraph except the notice's own link, which is
/// the one thing the notice exists to carry and is never stored.
///
/// # Errors
/// A header value with CR/LF, a bad address, or a paragraph the gate refuses.
pub fn build_notice_message(config: &Config, job: &Job, notice: &crate::send::Notice) -> Result<Vec<u8>, String> {
    let summary = notice_summary(config, notice);
    let text = summary.text();
    let screened = match notice.link.as_deref() {
        Some(link) => text.replace(link, "<link>"),
        None => text,
    };
    if let Some(d) = cavra_model::gate::scan_text(&format!("{}\n{screened}", job.subject)).first() {
        return Err(format!("the notice carries {}; nothing sent", d.kind.as_str()));
    }
    compose(config, job, &summary, None)
}

fn notice_summary(config: &Config, notice: &crate::send::Notice) -> Summary {
    let mut outro = Vec::new();
    if let Some(footer) = config.organisation.legal_footer.as_deref().filter(|f| !f.is_empty()) {
        outro.push(footer.to_string());
    }
    Summary { intro: notice.paragraphs.clone(), reports: Vec::new(), outro }
}

/// A notice's plain-text body, as [`build_notice_message`] writes it.
pub fn notice_text(config: &Config, notice: &crate::send::Notice) -> String {
    notice_summary(config, notice).text()
}

/// The RFC 5322 message: headers, the summary as text and HTML, and the attachment.
fn compose(
    config: &Config,
    job: &Job,
    summary: &Summary,
    attachment: Option<(String, &[u8])>,
) -> Result<Vec<u8>, String> {
    let o = &config.organisation;
    let from: Mailbox =
        o.sender.as_deref().ok_or("organisation.sender is required")?.parse().map_err(|e| format!("sender: {e}"))?;
    let to: Mailbox = job.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
    if job.subject.contains(['\r', '\n']) {
        return Err("the subject contains CR or LF".into());
    }
    let body = MultiPart::alternative()
        .singlepart(SinglePart::plain(summary.text()))
        .singlepart(SinglePart::html(summary.html()));
    let mut builder =
        lettre::Message::builder().from(from).to(to).subject(&job.subject).message_id(Some(job.message_id.clone()));
    if let Some(r) = &o.reply_to {
        builder = builder.reply_to(r.parse().map_err(|e| format!("reply_to: {e}"))?);
    }
    let content = match attachment {
        Some((name, bytes)) => {
            let kind = ContentType::parse(media_type(&name)).map_err(|e| e.to_string())?;
            MultiPart::mixed().multipart(body).singlepart(Attachment::new(name).body(bytes.to_vec(), kind))
        }
        None => MultiPart::mixed().multipart(body),
    };
    let message = builder.multipart(content).map_err(|e| e.to_string())?;
    Ok(message.formatted())
}
