//! Access links and second factors.
//!
//! A link's token is `crl1.<link id>.<expiry>.<mac>`: the MAC is
//! HMAC-SHA-256, under the room service's link key, over the link id, the
//! room it opens, the recipient's class and the expiry, so a token names
//! one room for one class of recipient until one instant, and changing any
//! of them — in the token or in the database behind it — breaks it. The key
//! is given by reference and is at least 32 bytes.
//!
//! A room that asks for a second factor takes a TOTP code (RFC 6238: HMAC-SHA-1,
//! 30-second steps, six digits) whose secret is derived from the link key
//! and the link id, so no secret is stored; `room invite` prints the
//! secret's `otpauth://` form for the recipient's authenticator.
//!
//! ```
//! use cavra_room::link::{LinkKey, Token};
//! let key = LinkKey::new(b"an example link key of at least 32 bytes").unwrap();
//! let token = Token::issue(&key, "lnk-1", "room-1", "external_auditor", 1_900_000_000);
//! let read = Token::parse(&token.text).unwrap();
//! assert!(read.verify(&key, "room-1", "external_auditor"));
//! assert!(!read.verify(&key, "room-2", "external_auditor"));
//! let mut forged = token.text.clone();
//! forged.replace_range(forged.len() - 2.., "AA");
//! assert!(!Token::parse(&forged).unwrap().verify(&key, "room-1", "external_auditor"));
//! ```

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The shortest link key accepted.
pub const MIN_KEY_BYTES: usize = 32;
/// The token's version prefix.
pub const TOKEN_PREFIX: &str = "crl1";
/// The longest token read.
pub const MAX_TOKEN_CHARS: usize = 200;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The room service's link key.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

impl LinkKey {
    /// A key from its bytes.
    ///
    /// # Errors
    /// Fewer than [`MIN_KEY_BYTES`].
    pub fn new(bytes: &[u8]) -> Result<LinkKey, String> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!("a link key is at least {MIN_KEY_BYTES} bytes"));
        }
        Ok(LinkKey(bytes.to_vec()))
    }

    fn mac(&self, parts: &[&str]) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        for p in parts {
            m.update(p.as_bytes());
            m.update(&[0]);
        }
        m
    }

    /// `base64url` of the MAC of `parts` (for the service's own short-lived values).
    pub(crate) fn tag(&self, parts: &[&str]) -> String {
        B64.encode(self.mac(parts).finalize().into_bytes())
    }

    /// Whether `tag` is the MAC of `parts` (compared in constant time).
    pub(crate) fn check(&self, parts: &[&str], tag: &str) -> bool {
        B64.decode(tag).is_ok_and(|t| self.mac(parts).verify_slice(&t).is_ok())
    }
}

/// A link token, as issued or as read from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The whole token.
    pub text: String,
    /// The link id.
    pub link_id: String,
    /// Unix seconds after which it no longer opens the room.
    pub expires_at: i64,
    mac: Vec<u8>,
}

impl Token {
    /// Issues the token of link `link_id` for `room` and recipient `class`, until `expires_at`.
    pub fn issue(key: &LinkKey, link_id: &str, room: &str, class: &str, expires_at: i64) -> Token {
        let exp = expires_at.to_string();
        let mac = key.mac(&["cavra.room_link.v1", link_id, room, class, &exp]).finalize().into_bytes().to_vec();
        Token {
            text: format!("{TOKEN_PREFIX}.{link_id}.{exp}.{}", B64.encode(&mac)),
            link_id: link_id.into(),
            expires_at,
            mac,
        }
    }

    /// Reads a token's parts (nothing is trusted until [`Token::verify`]).
    ///
    /// # Errors
    /// A token that is too long or not of this form.
    pub fn parse(text: &str) -> Result<Token, String> {
        if text.len() > MAX_TOKEN_CHARS {
            return Err("too long".into());
        }
        let mut parts = text.split('.');
        let (Some(TOKEN_PREFIX), Some(link), Some(exp), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a room link".into());
        };
        let well_formed =
            link.starts_with("lnk-") && link.len() <= 40 && link[4..].bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err("not a link id".into());
        }
        let expires_at = exp.parse().map_err(|_| "not an expiry".to_string())?;
        let mac = B64.decode(mac).map_err(|_| "not a signature".to_string())?;
        Ok(Token { text: text.to_string(), link_id: link.to_string(), expires_at, mac })
    }

    /// Whether the MAC verifies for `room` and `class` (compared in constant time).
    pub fn verify(&self, key: &LinkKey, room: &str, class: &str) -> bool {
        let exp = self.expires_at.to_string();
        key.mac(&["cavra.room_link.v1", &self.link_id, room, class, &exp]).verify_slice(&self.mac).is_ok()
    }
}

/// The TOTP secret of a link (20 bytes, derived; never stored).
pub fn totp_secret(key: &LinkKey, link_id: &str) -> Vec<u8> {
    key.mac(&["cavra.room_totp.v1", link_id]).finalize().into_bytes()[..20].to_vec()
}

/// The six-digit TOTP code of `secret` for the 30-second step holding `unix`.
pub fn totp_code(secret: &[u8], unix: i64) -> String {
    let step = (unix.max(0) / 30) as u64;
    let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(&step.to_be_bytes());
    let h = m.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// Whether `code` is the code of `secret` at `unix`, one step either side allowed (clock drift).
pub fn totp_accepts(secret: &[u8], unix: i64, code: &str) -> bool {
    code.len() == 6 && [-30, 0, 30].iter().any(|d| totp_code(secret, unix + d) == code)
}

/// The RFC 4648 base32 of `bytes` (an authenticator's secret form).
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(ALPHABET[((n >> (35 - 5 * i)) & 31) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890" (8-digit values, last six here).
        let secret = b"12345678901234567890";
        for (t, code) in
            [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert_eq!(totp_code(secret, t), code, "{t}");
        }
        assert!(totp_accepts(secret, 89, "287082"), "one step of drift");
        assert!(!totp_accepts(secret, 200, "287082"));
        assert!(!totp_accepts(secret, 59, "28708"));
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn tokens_refuse_junk() {
        for bad in [
            "",
            "crl1",
            "crl1.lnk-1.5",
            "crl2.lnk-1.5.AA",
            "crl1.x.5.AA",
            "crl1.lnk-1.x.AA",
            "crl1.lnk-1.5.!!",
            "crl1.lnk-1.5.AA.BB",
        ] {
            assert!(Token::parse(bad).is_err(), "{bad}");
        }
        assert!(Token::parse(&"a".repeat(500)).is_err());
        assert!(LinkKey::new(b"short").is_err());
    }
}
