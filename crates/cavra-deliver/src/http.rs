//! HTTP transports: SendGrid's mail-send API and signed webhooks (Standard
//! Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature:
//! v1,<base64 HMAC-SHA256 over "id.timestamp.body">`). Endpoints come from
//! the setup file, so tests point them at loopback servers.
//!
//! Outcomes: 2xx is sent; 429 is transient and honours `Retry-After`
//! (seconds); 5xx and connection failures are transient; other 4xx are
//! permanent.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::config::{resolve, Config};
use crate::outbox::Job;
use crate::send::{summary_text, SendFailure, Transport};

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Classifies an HTTP response.
pub(crate) fn outcome(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<(), SendFailure> {
    let response = result.map_err(|e| SendFailure::new(true, format!("connection failed: {e}")))?;
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    match status {
        200..=299 => Ok(()),
        429 => Err(SendFailure { transient: true, message: "HTTP 429 Too Many Requests".into(), retry_after }),
        500..=599 => Err(SendFailure { transient: true, message: format!("HTTP {status}"), retry_after }),
        _ => Err(SendFailure::new(false, format!("HTTP {status}"))),
    }
}

/// Signs a webhook body the Standard Webhooks way.
pub fn webhook_signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable_hmac());
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(b"key").unwrap_or_else(|_| panic!("HMAC accepts any key length"))
}

/// Webhook secrets are `whsec_<base64>` (Standard Webhooks) or raw text.
fn secret_bytes(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// A signed webhook: a JSON notice of the package (name, digest, subject),
/// never the package itself.
pub struct Webhook {
    agent: ureq::Agent,
    endpoint: String,
    secret: Vec<u8>,
}

impl Webhook {
    /// From `[delivery]` (`endpoint`, `webhook_secret`).
    ///
    /// # Errors
    /// A missing endpoint or an unresolvable secret reference.
    pub fn from_config(config: &Config) -> Result<Webhook, String> {
        let d = &config.delivery;
        let endpoint = d.endpoint.clone().ok_or("delivery.endpoint is required")?;
        let secret = d.webhook_secret.as_deref().ok_or("delivery.webhook_secret is required")?;
        let secret = resolve("delivery.webhook_secret", secret).map_err(|e| e.to_string())?;
        Ok(Webhook { agent: agent(), endpoint, secret: secret_bytes(&secret) })
    }
}

impl Transport for Webhook {
    fn send(&self, job: &Job, _from: &str, _raw: &[u8], now: i64) -> Result<(), SendFailure> {
        let name = std::path::Path::new(&job.attachment).file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let body = serde_json::to_vec(&json!({
            "type": if name == crate::send::TEST_ATTACHMENT { "cavra.delivery.test" } else { "cavra.package.ready" },
            "id": job.id,
            "message_id": job.message_id,
            "subject": job.subject,
            "package": name,
            "digest": job.digest,
        }))
        .map_err(|e| SendFailure::new(false, e.to_string()))?;
        if job.notice.is_some() {
            return Err(SendFailure::new(false, "a notice carries a personal link and is not posted to a webhook"));
        }
        let signature = webhook_signature(&self.secret, &job.id, now, &body);
        outcome(
            self.agent
                .post(&self.endpoint)
                .header("content-type", "application/json")
                .header("webhook-id", &job.id)
                .header("webhook-timestamp", &now.to_string())
                .header("webhook-signature", &signature)
                .send(&body[..]),
        )
    }
}

/// SendGrid's v3 mail-send API, with the package attached.
pub struct SendGrid {
    agent: ureq::Agent,
    endpoint: String,
    api_key: String,
    from: String,
}

impl SendGrid {
    /// From `[delivery]` (`api_key`, optional `endpoint`).
    ///
    /// # Errors
    /// A missing sender or an unresolvable key reference.
    pub fn from_config(config: &Config) -> Result<SendGrid, String> {
        let d = &config.delivery;
        let key = d.api_key.as_deref().ok_or("delivery.api_key is required")?;
        Ok(SendGrid {
            agent: agent(),
            endpoint: d.endpoint.clone().unwrap_or_else(|| "https://api.sendgrid.com/v3/mail/send".into()),
            api_key: resolve("delivery.api_key", key).map_err(|e| e.to_string())?,
            from: config.organisation.sender.clone().ok_or("organisation.sender is required")?,
        })
    }

    fn body(&self, config: &Config, job: &Job, notice: Option<&str>) -> Result<Vec<u8>, SendFailure> {
        let text = notice.map_or_else(|| summary_text(config, job), str::to_string);
        let mut message = json!({
            "personalizations": [{"to": [{"email": job.recipient}]}],
            "from": {"email": self.from},
            "subject": job.subject,
            "content": [{"type": "text/plain", "value": text}],
            "custom_args": {"cavra_job": job.id, "cavra_message_id": job.message_id},
        });
        if notice.is_some() {
            return serde_json::to_vec(&message).map_err(|e| SendFailure::new(false, e.to_string()));
        }
        let channel = crate::message::channel(config, job).map_err(|e| SendFailure::new(false, e))?;
        if channel == crate::config::Channel::EmailAttachment {
            let bytes = cavra_model::limits::read_bounded(
                std::path::Path::new(&job.attachment),
                cavra_model::limits::PACKAGE_BYTES,
            )
            .map_err(|e| SendFailure::new(false, e.to_string()))?;
            if cavra_package::manifest::sha256_tagged(&bytes) != job.digest {
                return Err(SendFailure::new(false, "the attachment changed since it was verified; nothing sent"));
            }
            let name =
                std::path::Path::new(&job.attachment).file_name().and_then(|n| n.to_str()).unwrap_or("package.zip");
            message["attachments"] = json!([{
                "content": base64::engine::general_purpose::STANDARD.encode(bytes),
                "filename": name,
                "type": crate::send::media_type(name),
                "disposition": "attachment",
            }]);
        }
        serde_json::to_vec(&message).map_err(|e| SendFailure::new(false, e.to_string()))
    }
}

/// SendGrid needs the setup for the body; bind them together.
pub struct SendGridWith<'a> {
    /// The transport.
    pub transport: SendGrid,
    /// The setup.
    pub config: &'a Config,
}

impl Transport for SendGridWith<'_> {
    fn send(&self, job: &Job, _from: &str, _raw: &[u8], _now: i64) -> Result<(), SendFailure> {
        let body = self.transport.body(self.config, job, None)?;
        self.post(&body)
    }

    fn send_notice(&self, job: &Job, _from: &str, _raw: &[u8], text: &str, _now: i64) -> Result<(), SendFailure> {
        let body = self.transport.body(self.config, job, Some(text))?;
        self.post(&body)
    }
}

impl SendGridWith<'_> {
    fn post(&self, body: &[u8]) -> Result<(), SendFailure> {
        outcome(
            self.transport
                .agent
                .post(&self.transport.endpoint)
                .header("authorization", &format!("Bearer {}", self.transport.api_key))
                .header("content-type", "application/json")
                .send(body),
        )
    }
}
