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
        let open = |text: &str| {
            let sk_box = minisign::SecretKeyBox::from_string(text).map_err(|e| SigningError::Key(e.to_string()))?;
            match &password {
                Some(p) => sk_box.into_secret_key(Some(p.clone())),
                None => sk_box.into_unencrypted_secret_key(),
            }
            .map_err(|e| SigningError::Key(format!("{e} (an encrypted key needs its password)")))
        };
        let sk = match (open(text), password.is_none().then(|| repair_passwordless(text)).flatten()) {
            (Ok(sk), _) => sk,
            (Err(_), Some(repaired)) => open(&repaired)?,
            (Err(e), None) => return Err(e),
        };
        let pk = minisign::PublicKey::from_secret_key(&sk).map_err(|e| SigningError::Key(e.to_string()))?;
        let key = SigningKey { sk, pk };
        // A key whose halves do not belong together would sign what nobody can verify.
        let probe = key.sign(&b"cavra key check"[..], "key check")?;
        verify(&key.public_key_file(), b"cavra key check", &probe)
            .map_err(|_| SigningError::Key("the secret key does not match its public key".into()))?;
        Ok(key)
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

/// Password-less keys written by the reference tool (`minisign -G -W`)
/// carry an all-zero checksum, which the minisign crate refuses as
/// corrupted. This fills in the checksum the format defines — BLAKE2b-256
/// over the signature algorithm, key id and key — for such a key only (no
/// key derivation, zero checksum); the loaded key is then checked with a
/// test signature.
fn repair_passwordless(text: &str) -> Option<String> {
    use base64::Engine;
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};
    let mut lines = text.lines();
    let comment = lines.next()?;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(lines.next()?.trim()).ok()?;
    // sig_alg(2) kdf_alg(2) chk_alg(2) salt(32) opslimit(8) memlimit(8) keynum(8) sk(64) chk(32)
    if bytes.len() != 158 || bytes[2..4] != [0, 0] || bytes[126..].iter().any(|b| *b != 0) {
        return None;
    }
    let mut h = Blake2b::<U32>::new();
    h.update(&bytes[0..2]);
    h.update(&bytes[54..126]);
    bytes[126..].copy_from_slice(&h.finalize());
    Some(format!("{comment}\n{}\n", engine.encode(bytes)))
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
