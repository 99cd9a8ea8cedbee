//! Signed JSON: the JSON artifact in RFC 8785 canonical form, plus a
//! detached minisign signature (`.minisig`) made by [`SigningKey`].
//!
//! The canonical bytes are deterministic; the signature is not (minisign's
//! Ed25519 signatures are hedged with fresh randomness), so signatures are
//! verified, never compared. The trusted comment binds the signature to the
//! report: `report_id:<id> kind:<kind> sha256:<hex of the canonical bytes>`.

use std::io::{Read, Write};
use std::path::Path;

use cavra_model::canonical::to_canonical_string;
use cavra_model::Report;

use crate::{Format, RenderError, Renderer};

pub(crate) struct SignedJsonRenderer;

impl Renderer for SignedJsonRenderer {
    fn render_to(&self, report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
        let value = serde_json::to_value(crate::json::Document(report))
            .map_err(|e| RenderError::Backend { format: Format::SignedJson, message: e.to_string() })?;
        out.write_all(to_canonical_string(&value).as_bytes()).map_err(|e| RenderError::write(Format::SignedJson, e))
    }
}

/// Why a signing or verification step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The key could not be read or decoded.
    #[error("signing key: {0}")]
    Key(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// The signature does not verify, or its trusted comment does not match.
    #[error("signature does not verify: {0}")]
    Verify(String),
}

/// A minisign key pair used to sign artifacts. It is `Clone` so one key can
/// serve several signers (packages, audit checkpoints); its `Debug` output
/// shows only the public key.
#[derive(Clone)]
pub struct SigningKey {
    sk: minisign::SecretKey,
    pk: minisign::PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey").field("public_key", &self.pk.to_base64()).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh, unencrypted throw-away key pair (for samples and tests).
    ///
    /// # Errors
    /// When the operating system's random source fails.
    pub fn generate() -> Result<SigningKey, SigningError> {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().map_err(|e| SigningError::Key(e.to_string()))?;
        Ok(SigningKey { sk: kp.sk, pk: kp.pk })
    }

    /// Reads a minisign secret key file (`minisign -G` format); `password`
    /// decrypts it when it is encrypted.
    ///
    /// # Errors
    /// When the file is missing, malformed, or the password is wrong.
    pub fn from_file(path: &Path, password: Option<String>) -> Result<SigningKey, SigningError> {
        let text = std::fs::read_to_string(path).map_err(|e| SigningError::Key(format!("{}: {e}", path.display())))?;
        SigningKey::from_secret_key_text(&text, password)
    }

    /// Decodes a minisign secret key box (the text of a `.key` file).
    ///
    /// # Errors
    /// When the text is malformed or the password is wrong.
    pub fn from_secret_key_text(text: &str, password: Option<String>) -> Result<SigningKey, SigningError> {
        let sk_box = minisign::SecretKeyBox::from_string(text).map_err(|e| SigningError::Key(e.to_string()))?;
        let sk = match password {
            Some(p) => sk_box.into_secret_key(Some(p)),
            None => sk_box.into_unencrypted_secret_key(),
        }
        .map_err(|e| SigningError::Key(format!("{e} (an encrypted key needs its password)")))?;
        let pk = minisign::PublicKey::from_secret_key(&sk).map_err(|e| SigningError::Key(e.to_string()))?;
        Ok(SigningKey { sk, pk })
    }

    /// The public key in minisign's `.pub` file format.
    pub fn public_key_file(&self) -> String {
        self.pk.to_box().map(|b| b.into_string()).unwrap_or_default()
    }

    /// Signs `data`, returning the `.minisig` file text.
    ///
    /// # Errors
    /// When the trusted comment holds a line break or signing fails.
    pub fn sign(&self, data: impl Read, trusted_comment: &str) -> Result<String, SigningError> {
        if trusted_comment.contains(['\n', '\r']) {
            return Err(SigningError::Sign("the trusted comment must be a single line".into()));
        }
        minisign::sign(Some(&self.pk), &self.sk, data, Some(trusted_comment), Some("signature from cavra-reports"))
            .map(|b| b.into_string())
            .map_err(|e| SigningError::Sign(e.to_string()))
    }
}

/// The trusted comment for a signed report artifact.
pub fn trusted_comment(report_id: &str, kind: &str, sha256_hex: &str) -> String {
    format!("report_id:{report_id} kind:{kind} sha256:{sha256_hex}")
}

/// Verifies a `.minisig` over `data` with a minisign `.pub` file's text and
/// returns the trusted comment.
///
/// # Errors
/// [`SigningError::Verify`] when the key, the signature or the data do not match.
pub fn verify(public_key_file: &str, data: &[u8], minisig: &str) -> Result<String, SigningError> {
    let pk = minisign::PublicKeyBox::from_string(public_key_file)
        .and_then(|b| b.into_public_key())
        .map_err(|e| SigningError::Verify(e.to_string()))?;
    let sig = minisign::SignatureBox::from_string(minisig).map_err(|e| SigningError::Verify(e.to_string()))?;
    minisign::verify(&pk, &sig, std::io::Cursor::new(data), true, false, false)
        .map_err(|e| SigningError::Verify(e.to_string()))?;
    sig.trusted_comment().map_err(|e| SigningError::Verify(e.to_string()))
}
