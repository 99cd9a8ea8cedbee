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
/// serve several signers (packages, audit records); its `Debug` output
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
        let text = cavra_model::limits::read_text_bounded(path, cavra_model::limits::KEY_BYTES)
            .map_err(|e| SigningError::Key(format!("{}: {e}", path.display())))?;
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

    /// The secret key in minisign's `.key` file format, unencrypted: for
    /// throw-away keys a tool hands to its own subprocesses (`selfcheck`),
    /// never for a principal's key.
    ///
    /// ```
    /// let k = cavra_render::signed::SigningKey::generate().unwrap();
    /// let back = cavra_render::signed::SigningKey::from_secret_key_text(&k.secret_key_file(), None).unwrap();
    /// assert_eq!(back.key_id(), k.key_id());
    /// ```
    pub fn secret_key_file(&self) -> String {
        self.sk.to_box(None).map(|b| b.into_string()).unwrap_or_default()
    }

    /// The public key in minisign's `.pub` file format.
    pub fn public_key_file(&self) -> String {
        self.pk.to_box().map(|b| b.into_string()).unwrap_or_default()
    }

    /// The public half, as a [`PublicKey`].
    pub fn public_key(&self) -> PublicKey {
        PublicKey { pk: self.pk.clone() }
    }

    /// The key id, as `minisign` prints it (16 upper-case hex digits).
    pub fn key_id(&self) -> String {
        key_id_of(&self.pk)
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

/// The key id as `minisign` prints it: the 8-byte key number read as a
/// little-endian integer, in upper-case hex.
fn key_id_of(pk: &minisign::PublicKey) -> String {
    let mut n = [0u8; 8];
    n.copy_from_slice(&pk.keynum()[..8]);
    format!("{:016X}", u64::from_le_bytes(n))
}

/// The largest public key file accepted (a `.pub` file is about 100 bytes).
pub const MAX_PUBLIC_KEY_BYTES: usize = 4096;

/// A minisign public key: who a principal is, and what checks their
/// signatures.
///
/// ```
/// use cavra_render::signed::{PublicKey, SigningKey};
/// let key = SigningKey::generate().unwrap();
/// let public = PublicKey::parse(&key.public_key_file()).unwrap();
/// assert_eq!(public.key_id(), key.key_id());
/// // the bare base64 line, as written in cavra.toml, is the same key
/// assert_eq!(PublicKey::parse(&public.base64()).unwrap(), public);
/// let sig = key.sign(&b"hello"[..], "greeting").unwrap();
/// assert_eq!(public.verify(b"hello", &sig).unwrap(), "greeting");
/// ```
#[derive(Clone)]
pub struct PublicKey {
    pk: minisign::PublicKey,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.pk.to_bytes() == other.pk.to_bytes()
    }
}

impl Eq for PublicKey {}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl PublicKey {
    /// Reads a public key from the text of a minisign `.pub` file or from
    /// its bare base64 line (`RW…`).
    ///
    /// # Errors
    /// [`SigningError::Key`] when the text is neither, or too long to be one.
    pub fn parse(text: &str) -> Result<PublicKey, SigningError> {
        if text.len() > MAX_PUBLIC_KEY_BYTES {
            return Err(SigningError::Key(format!("a public key is at most {MAX_PUBLIC_KEY_BYTES} bytes")));
        }
        let trimmed = text.trim();
        let pk = if trimmed.starts_with("untrusted comment:") {
            minisign::PublicKeyBox::from_string(trimmed).and_then(|b| b.into_public_key())
        } else {
            minisign::PublicKey::from_base64(trimmed)
        }
        .map_err(|e| SigningError::Key(format!("not a minisign public key: {e}")))?;
        Ok(PublicKey { pk })
    }

    /// Reads a public key file, refusing one larger than
    /// [`MAX_PUBLIC_KEY_BYTES`] before reading it whole.
    ///
    /// # Errors
    /// I/O, size, or a malformed key.
    pub fn from_file(path: &Path) -> Result<PublicKey, SigningError> {
        let bytes = cavra_model::limits::read_bounded(path, MAX_PUBLIC_KEY_BYTES as u64)
            .map_err(|e| SigningError::Key(format!("{}: {e}", path.display())))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| SigningError::Key(format!("{}: a public key file is text (not UTF-8)", path.display())))?;
        PublicKey::parse(&text).map_err(|e| SigningError::Key(format!("{}: {e}", path.display())))
    }

    /// The key id, as `minisign` prints it.
    pub fn key_id(&self) -> String {
        key_id_of(&self.pk)
    }

    /// The base64 line (what `cavra.toml` holds for a principal).
    pub fn base64(&self) -> String {
        self.pk.to_base64()
    }

    /// The `.pub` file text.
    pub fn file_text(&self) -> String {
        self.pk.to_box().map(|b| b.into_string()).unwrap_or_default()
    }

    /// Verifies a `.minisig` over `data` and returns its trusted comment.
    ///
    /// # Errors
    /// [`SigningError::Verify`] when the signature or the data do not match.
    pub fn verify(&self, data: &[u8], minisig: &str) -> Result<String, SigningError> {
        verify_with(&self.pk, data, minisig)
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

/// Signs a report artifact's bytes (`data`, whose sha256 is `sha256_hex`)
/// with the trusted comment [`trusted_comment`] binds to the report.
///
/// # Errors
/// When signing fails.
pub fn sign_artifact(
    key: &SigningKey,
    report_id: &str,
    kind: &str,
    sha256_hex: &str,
    data: impl Read,
) -> Result<String, SigningError> {
    key.sign(data, &trusted_comment(report_id, kind, sha256_hex))
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
    verify_with(&pk, data, minisig)
}

fn verify_with(pk: &minisign::PublicKey, data: &[u8], minisig: &str) -> Result<String, SigningError> {
    if minisig.len() > MAX_PUBLIC_KEY_BYTES {
        return Err(SigningError::Verify("a signature is at most 4096 bytes".into()));
    }
    let sig = minisign::SignatureBox::from_string(minisig).map_err(|e| SigningError::Verify(e.to_string()))?;
    minisign::verify(pk, &sig, std::io::Cursor::new(data), true, false, false)
        .map_err(|e| SigningError::Verify(e.to_string()))?;
    sig.trusted_comment().map_err(|e| SigningError::Verify(e.to_string()))
}
