//! Recipient policy: who may receive what, decided before anything is
//! queued or any connection is made.
//!
//! Addresses are accepted only as a bare `local@domain` (no display name,
//! no quoted local part, no comments or routes), so `"x@good.com"@evil.com`
//! and `good.com <x@evil.com>` are refused rather than guessed at. Domains
//! are lower-cased, stripped of a trailing dot and converted to ASCII with
//! IDNA (UTS 46) before matching, so a homoglyph such as `gооd.com` (Cyrillic
//! `о`) becomes `xn--gd-…` and never equals `good.com`. A rule matches its
//! exact domain, and subdomains only when it says so: `good.com.evil.com`
//! and `evilgood.com` never match `good.com`.
//!
//! ```
//! use cavra_deliver::policy::{Classification, DomainRule, RecipientPolicy};
//! let policy = RecipientPolicy {
//!     rules: vec![DomainRule::new("good.com", false, Classification::Internal).unwrap()],
//! };
//! assert_eq!(policy.classify("cso@good.com").unwrap(), Classification::Internal);
//! assert!(policy.classify("cso@good.com.evil.com").is_err());
//! assert!(policy.classify("\"x@good.com\"@evil.com").is_err());
//! ```

use serde::{Deserialize, Serialize};

/// How a recipient domain is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Our own organisation.
    Internal,
    /// An external auditor: external, needs approval when the setup says so.
    ExternalAuditor,
    /// Another external party: external, needs approval when the setup says so.
    ExternalPartner,
    /// Never receives anything.
    Blocked,
}

impl Classification {
    /// Whether sending there is external.
    pub fn is_external(self) -> bool {
        matches!(self, Classification::ExternalAuditor | Classification::ExternalPartner)
    }

    /// The setup-file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Internal => "internal",
            Classification::ExternalAuditor => "external_auditor",
            Classification::ExternalPartner => "external_partner",
            Classification::Blocked => "blocked",
        }
    }
}

/// Why a recipient is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipientError {
    /// Not a bare `local@domain` address.
    #[error("not a plain address (local@domain): {0}")]
    Malformed(&'static str),
    /// The domain is not a valid (internationalised) domain name.
    #[error("the domain is not a valid domain name")]
    BadDomain,
    /// No rule names the domain.
    #[error("domain `{0}` is not in the allowlist")]
    NotAllowed(String),
    /// A rule blocks the domain.
    #[error("domain `{0}` is blocked")]
    Blocked(String),
}

/// A parsed address: the local part as given, the domain in ASCII.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// Local part.
    pub local: String,
    /// Domain, lower-case ASCII (IDNA).
    pub domain: String,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// Normalises a domain: trim one trailing dot, IDNA to ASCII (lower case).
///
/// # Errors
/// [`RecipientError::BadDomain`].
pub fn normalise_domain(domain: &str) -> Result<String, RecipientError> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || d.starts_with('.') || d.contains("..") {
        return Err(RecipientError::BadDomain);
    }
    let ascii = idna::domain_to_ascii_strict(d).map_err(|_| RecipientError::BadDomain)?;
    if !ascii.contains('.')
        || ascii.split('.').any(|l| l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-'))
        || ascii.len() > 253
    {
        return Err(RecipientError::BadDomain);
    }
    Ok(ascii)
}

/// Parses a bare address. Refuses display names, quotes, comments, angle
/// brackets, whitespace and control characters (CR/LF header injection).
///
/// # Errors
/// [`RecipientError::Malformed`] or [`RecipientError::BadDomain`].
pub fn parse_address(text: &str) -> Result<Address, RecipientError> {
    if text.chars().any(|c| c.is_control()) {
        return Err(RecipientError::Malformed("contains control characters (CR, LF…)"));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(RecipientError::Malformed("contains whitespace (display names are not accepted)"));
    }
    if text.contains(['"', '<', '>', '(', ')', ',', ';', ':', '[', ']', '\\']) {
        return Err(RecipientError::Malformed("contains quotes, brackets or separators"));
    }
    let mut parts = text.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(RecipientError::Malformed("needs exactly one `@`"));
    };
    if local.is_empty() || local.len() > 64 || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(RecipientError::Malformed("bad local part"));
    }
    if !local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)) {
        return Err(RecipientError::Malformed("the local part must be ASCII letters, digits and !#$%&'*+-/=?^_`{|}~."));
    }
    Ok(Address { local: local.to_string(), domain: normalise_domain(domain)? })
}

/// One domain rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRule {
    /// Normalised domain.
    pub domain: String,
    /// Whether subdomains match too.
    pub subdomains: bool,
    /// How matching recipients are treated.
    pub classification: Classification,
}

impl DomainRule {
    /// A rule for `domain` (normalised here).
    ///
    /// # Errors
    /// [`RecipientError::BadDomain`].
    pub fn new(domain: &str, subdomains: bool, classification: Classification) -> Result<DomainRule, RecipientError> {
        Ok(DomainRule { domain: normalise_domain(domain)?, subdomains, classification })
    }

    /// Whether `domain` (normalised) falls under the rule.
    pub fn matches(&self, domain: &str) -> bool {
        domain == self.domain
            || (self.subdomains
                && domain.len() > self.domain.len() + 1
                && domain.ends_with(&self.domain)
                && domain.as_bytes()[domain.len() - self.domain.len() - 1] == b'.')
    }
}

/// The domain rules; the most specific matching rule decides, and a
/// blocking rule wins ties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecipientPolicy {
    /// Rules.
    pub rules: Vec<DomainRule>,
}

impl RecipientPolicy {
    /// Classifies an address.
    ///
    /// # Errors
    /// A malformed address, or a domain no rule allows or that a rule blocks.
    pub fn classify(&self, address: &str) -> Result<Classification, RecipientError> {
        let a = parse_address(address)?;
        self.classify_domain(&a.domain)
    }

    /// Classifies a normalised domain.
    ///
    /// # Errors
    /// [`RecipientError::NotAllowed`] or [`RecipientError::Blocked`].
    pub fn classify_domain(&self, domain: &str) -> Result<Classification, RecipientError> {
        let best = self
            .rules
            .iter()
            .filter(|r| r.matches(domain))
            .max_by_key(|r| (r.domain.len(), r.classification == Classification::Blocked));
        match best {
            None => Err(RecipientError::NotAllowed(domain.to_string())),
            Some(r) if r.classification == Classification::Blocked => Err(RecipientError::Blocked(domain.to_string())),
            Some(r) => Ok(r.classification),
        }
    }
}
