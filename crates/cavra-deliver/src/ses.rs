//! Amazon SES through its v2 HTTP API (`SendEmail` with raw content), signed
//! with AWS Signature Version 4 by `aws-sigv4`, the signer the AWS SDKs use.
//!
//! The message sent is the same RFC 5322 message the SMTP transport sends
//! (summary body, package attachment, our Message-ID), so bounces link back
//! to jobs the same way; the job id also travels as the SES message tag
//! `cavra_job`, which SES copies into its event notifications.
//!
//! Outcomes follow the HTTP rules of [`crate::http`]: 2xx sent, 429 honours
//! `Retry-After`, 5xx and connection failures retry, other 4xx (for example
//! `MessageRejected`) are permanent.
//!
//! ```
//! let text = r#"
//! [organisation]
//! sender = "reports@northwind.example"
//!
//! [delivery]
//! mode = "ses"
//! region = "eu-west-1"
//! access_key_id = "env:AWS_ACCESS_KEY_ID"
//! secret_access_key = "env:AWS_SECRET_ACCESS_KEY"
//!
//! [[recipients.domains]]
//! domain = "northwind.example"
//! classification = "internal"
//!
//! [packages]
//! signing_public_key = "RWS87NyaqhhyDnFcbRMd1deeuR9MnC6kNaJSxTtuZ3O4VWQmEhKYm/9E"
//! "#;
//! let config = cavra_deliver::config::Config::from_toml(text).unwrap();
//! assert_eq!(
//!     cavra_deliver::ses::default_endpoint(config.delivery.region.as_deref().unwrap()),
//!     "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails"
//! );
//! ```

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use serde_json::json;

use crate::config::{resolve, Config};
use crate::http::{agent, outcome};
use crate::outbox::Job;
use crate::send::{SendFailure, Transport};

/// The SES v2 `SendEmail` URL of a region.
pub fn default_endpoint(region: &str) -> String {
    format!("https://email.{region}.amazonaws.com/v2/email/outbound-emails")
}

/// The SES transport: endpoint, region and resolved credentials.
pub struct Ses {
    agent: ureq::Agent,
    endpoint: String,
    host: String,
    region: String,
    identity: Identity,
}

impl std::fmt::Debug for Ses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the credentials.
        f.debug_struct("Ses").field("endpoint", &self.endpoint).field("region", &self.region).finish_non_exhaustive()
    }
}

impl Ses {
    /// From `[delivery]`: `region`, `access_key_id`, `secret_access_key`,
    /// optional `session_token` (all credentials by reference) and optional
    /// `endpoint`.
    ///
    /// # Errors
    /// A missing region or credential, an unresolvable reference, or an
    /// endpoint that is not an `http(s)://host[:port]/path` URL.
    pub fn from_config(config: &Config) -> Result<Ses, String> {
        let d = &config.delivery;
        let region = d.region.clone().ok_or("delivery.region is required for ses")?;
        let reference = |key: &str, value: &Option<String>| -> Result<Option<String>, String> {
            value
                .as_deref()
                .map(|v| resolve(key, v).map(|s| s.trim().to_string()).map_err(|e| e.to_string()))
                .transpose()
        };
        let key_id = reference("delivery.access_key_id", &d.access_key_id)?
            .ok_or("delivery.access_key_id is required for ses")?;
        let secret = reference("delivery.secret_access_key", &d.secret_access_key)?
            .ok_or("delivery.secret_access_key is required for ses")?;
        let token = reference("delivery.session_token", &d.session_token)?;
        let endpoint = d.endpoint.clone().unwrap_or_else(|| default_endpoint(&region));
        let uri: ureq::http::Uri = endpoint.parse().map_err(|e| format!("delivery.endpoint: {e}"))?;
        let host = uri.authority().map(|a| a.as_str().to_string()).ok_or("delivery.endpoint: no host")?;
        if !matches!(uri.scheme_str(), Some("https" | "http")) {
            return Err("delivery.endpoint: must be an http(s) URL".into());
        }
        let identity = Credentials::new(key_id, secret, token, None, "cavra.toml").into();
        Ok(Ses { agent: agent(), endpoint, host, region, identity })
    }

    /// The request body: raw message, sender, recipient, job tag.
    fn body(from: &str, job: &Job, raw: &[u8]) -> Result<Vec<u8>, SendFailure> {
        serde_json::to_vec(&json!({
            "FromEmailAddress": from,
            "Destination": {"ToAddresses": [job.recipient]},
            "Content": {"Raw": {"Data": base64::engine::general_purpose::STANDARD.encode(raw)}},
            "EmailTags": [{"Name": "cavra_job", "Value": job.id}],
        }))
        .map_err(|e| SendFailure::new(false, e.to_string()))
    }

    /// The SigV4 headers (`x-amz-date`, `authorization`, and
    /// `x-amz-security-token` with a session token) for a POST of `body`
    /// at `now` (Unix seconds).
    ///
    /// # Errors
    /// The signer refusing the request (a malformed endpoint).
    pub fn signed_headers(&self, body: &[u8], now: i64) -> Result<Vec<(String, String)>, String> {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or_default());
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("ses")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let headers = [("host", self.host.as_str()), ("content-type", "application/json")];
        let request = SignableRequest::new("POST", &self.endpoint, headers.into_iter(), SignableBody::Bytes(body))
            .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(request, &params).map_err(|e| e.to_string())?.into_parts();
        Ok(instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }
}

impl Transport for Ses {
    fn send(&self, job: &Job, from: &str, raw: &[u8], now: i64) -> Result<(), SendFailure> {
        let body = Ses::body(from, job, raw)?;
        let signed = self.signed_headers(&body, now).map_err(|e| SendFailure::new(false, e))?;
        let mut request = self.agent.post(&self.endpoint).header("content-type", "application/json");
        for (name, value) in &signed {
            request = request.header(name, value);
        }
        outcome(request.send(&body[..]))
    }
}
