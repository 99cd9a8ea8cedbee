//! Signed statements: what a principal asked for or decided, as canonical
//! JSON (RFC 8785) with a detached minisign signature by the principal's
//! key. The trusted comment is `cavra-statement <format> sha256:<hex of the
//! body>`, so a statement can be checked offline with the reference tool:
//! save the body and the signature and run
//! `minisign -V -p principal.pub -m body.json -x body.json.minisig`.
//!
//! ```
//! use cavra_deliver::statement::*;
//! use cavra_render::signed::SigningKey;
//! let key = SigningKey::generate().unwrap();
//! let body = SendRequestStatement {
//!     format: SEND_REQUEST_FORMAT.into(),
//!     request_id: "req-1".into(),
//!     package_digest: "sha256:ab".into(),
//!     recipient_set_digest: recipient_set_digest(&["a@northwind.example".to_string()]),
//!     recipient_count: 1,
//!     requester_key_id: key.key_id(),
//!     requested_at: 1_800_000_000,
//! };
//! let signed = SignedStatement::sign(&key, SEND_REQUEST_FORMAT, &body).unwrap();
//! let back: SendRequestStatement = signed.open(&key.public_key(), SEND_REQUEST_FORMAT).unwrap();
//! assert_eq!(back, body);
//! let other = SigningKey::generate().unwrap();
//! assert!(signed.open::<SendRequestStatement>(&other.public_key(), SEND_REQUEST_FORMAT).is_err());
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use cavra_render::signed::{PublicKey, SigningError, SigningKey};

use crate::approval::ApprovalState;

/// Format of a send request.
pub const SEND_REQUEST_FORMAT: &str = "cavra.send_request.v1";
/// Format of an approval decision.
pub const APPROVAL_FORMAT: &str = "cavra.approval_decision.v1";

/// A body and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignedStatement {
    /// Canonical JSON.
    pub body: String,
    /// Detached minisign signature (`.minisig` text).
    pub signature: String,
}

fn comment(format: &str, body: &str) -> String {
    format!("cavra-statement {format} {}", cavra_package::manifest::sha256_tagged(body.as_bytes()))
}

impl SignedStatement {
    /// Signs `body` (as canonical JSON) with `key`.
    ///
    /// # Errors
    /// Serialisation or signing.
    pub fn sign(key: &SigningKey, format: &str, body: &impl Serialize) -> Result<SignedStatement, SigningError> {
        let value = serde_json::to_value(body).map_err(|e| SigningError::Sign(e.to_string()))?;
        let body = cavra_model::canonical::to_canonical_string(&value);
        let signature = key.sign(std::io::Cursor::new(body.as_bytes()), &comment(format, &body))?;
        Ok(SignedStatement { body, signature })
    }

    /// Checks the signature with `key` and reads the body as `T`.
    ///
    /// # Errors
    /// A message saying what does not verify.
    pub fn open<T: DeserializeOwned>(&self, key: &PublicKey, format: &str) -> Result<T, String> {
        match key.verify(self.body.as_bytes(), &self.signature) {
            Ok(c) if c == comment(format, &self.body) => {}
            Ok(_) => return Err("the signature's trusted comment does not match the statement".into()),
            Err(_) => return Err(format!("the signature does not verify with key {}", key.key_id())),
        }
        let value: serde_json::Value = serde_json::from_str(&self.body).map_err(|e| e.to_string())?;
        if value["format"].as_str() != Some(format) {
            return Err(format!("not a {format} statement"));
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// The key id a statement claims for its signer (`requester_key_id`,
    /// `approver_key_id` or `accepted_by_key_id`), before the signature is
    /// checked: it says which principal's key to check it with.
    pub fn claimed_key_id(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_str(&self.body).ok()?;
        ["requester_key_id", "approver_key_id", "accepted_by_key_id"]
            .iter()
            .find_map(|k| value[*k].as_str())
            .map(str::to_string)
    }
}

/// `sha256:` over the sorted recipient addresses, one per line: binds a
/// statement to exactly one recipient set without recording addresses.
pub fn recipient_set_digest(sorted: &[String]) -> String {
    cavra_package::manifest::sha256_tagged(sorted.join("\n").as_bytes())
}

/// A principal asks for a package to be sent to a recipient set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequestStatement {
    /// [`SEND_REQUEST_FORMAT`].
    pub format: String,
    /// `req-…`, derived from the digest, the set and the instant.
    pub request_id: String,
    /// The package's digest.
    pub package_digest: String,
    /// [`recipient_set_digest`] of the recipients.
    pub recipient_set_digest: String,
    /// How many recipients.
    pub recipient_count: usize,
    /// The requester's key id.
    pub requester_key_id: String,
    /// Unix seconds.
    pub requested_at: i64,
}

/// The JSON Schema of an approval decision statement's body, generated
/// from [`ApprovalStatement`] (`schemas/approval_decision.v1.schema.json`).
pub fn approval_json_schema() -> String {
    cavra_model::schema::publish::<ApprovalStatement>("approval_decision.v1.schema.json", APPROVAL_FORMAT)
}

/// An approver decides an approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalStatement {
    /// [`APPROVAL_FORMAT`].
    pub format: String,
    /// The approval id (`appr-…`).
    pub approval_id: String,
    /// The package digest it covers.
    pub package_digest: String,
    /// The recipient set it covers.
    pub recipient_set_digest: String,
    /// The decision.
    pub decision: ApprovalState,
    /// Unix seconds after which the approval no longer releases anything.
    pub expires_at: i64,
    /// The approver's key id.
    pub approver_key_id: String,
    /// Unix seconds of the decision.
    pub decided_at: i64,
    /// Reason given (gated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
