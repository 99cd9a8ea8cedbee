//! Principals: a principal is a minisign key, not a flag. `cavra.toml` maps
//! each principal's public key to roles (`[principals.<name>]`); a command
//! that needs a role takes the principal's secret key by reference
//! (`--as file:PATH|env:NAME`), is refused unless one of the key's roles
//! holds the permission, and signs what it does with that key
//! ([`crate::statement`]).
//!
//! ```
//! use cavra_deliver::config::{Config, Permission};
//! use cavra_deliver::identity::Signer;
//! use cavra_render::signed::SigningKey;
//! let key = SigningKey::generate().unwrap();
//! let text = format!(
//!     "[roles.cso]\npermissions = [\"render\"]\n[principals.cso-office]\npublic_key = \"{}\"\nroles = [\"cso\"]\n",
//!     key.public_key().base64()
//! );
//! let config = Config::from_toml(&text).unwrap();
//! let signer = Signer::authenticate(&config, key).unwrap();
//! assert_eq!(signer.name(), "cso-office");
//! assert!(signer.require(&config, Permission::Render).is_ok());
//! assert!(signer.require(&config, Permission::Approve).is_err());
//! // an unknown key is nobody
//! assert!(Signer::authenticate(&config, SigningKey::generate().unwrap()).is_err());
//! ```

use cavra_render::signed::{PublicKey, SigningKey};

use crate::audit::Actor;
use crate::config::{Config, Permission, PrincipalEntry};
use crate::send::Refused;

/// Reads a principal's public key as `cavra.toml` gives it: the base64 line
/// (`RW…`) or `file:PATH` to a minisign `.pub` file.
///
/// # Errors
/// A message saying why the key cannot be read.
pub fn parse_principal_key(value: &str) -> Result<PublicKey, String> {
    match value.strip_prefix("file:") {
        Some(path) => PublicKey::from_file(std::path::Path::new(path)).map_err(|e| e.to_string()),
        None => PublicKey::parse(value).map_err(|e| e.to_string()),
    }
}

/// Checks free text that reaches stored or exported records (approval
/// reasons, subjects, schedule names): at most
/// [`cavra_model::limits::FREE_TEXT_CHARS`] characters, no control or
/// bidi characters, and nothing the safety gate refuses.
///
/// # Errors
/// The reason, never the text itself.
pub fn gate_free_text(text: &str) -> Result<(), String> {
    if text.chars().count() > cavra_model::limits::FREE_TEXT_CHARS {
        return Err(format!("longer than {} characters", cavra_model::limits::FREE_TEXT_CHARS));
    }
    if text.chars().any(|c| (c.is_control() && c != '\t') || cavra_model::gate::is_bidi_control(c)) {
        return Err("holds control or bidirectional-override characters".into());
    }
    if let Some(d) = cavra_model::gate::scan_text(text).first() {
        return Err(format!("carries {} content, refused by the safety gate", d.kind.as_str()));
    }
    Ok(())
}

impl Config {
    /// The principal whose configured key is `key`, with its entry.
    pub fn principal_for(&self, key: &PublicKey) -> Option<(&str, &PrincipalEntry)> {
        let (name, _) = self.keys.principals.iter().find(|(_, k)| k == key)?;
        self.principals.get_key_value(name).map(|(n, p)| (n.as_str(), p))
    }

    /// The public key of the principal named `name`.
    pub fn principal_key_of(&self, name: &str) -> Option<&PublicKey> {
        self.keys.principals.iter().find(|(n, _)| n == name).map(|(_, k)| k)
    }

    /// The principal whose key has `key_id`, and that key.
    pub fn principal_key(&self, key_id: &str) -> Option<(&str, &PublicKey)> {
        self.keys.principals.iter().find(|(_, k)| k.key_id() == key_id).map(|(n, k)| (n.as_str(), k))
    }

    /// `packages.signing_public_key`, read when the file was validated.
    pub fn package_key(&self) -> Option<&PublicKey> {
        self.keys.package.as_ref()
    }

    /// Whether the principal holding `key` has `permission` through one of its roles.
    pub fn key_allows(&self, key: &PublicKey, permission: Permission) -> bool {
        self.principal_for(key).is_some_and(|(_, p)| p.roles.iter().any(|r| self.allows(r, permission)))
    }
}

/// An authenticated principal: its secret key, name and roles.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    name: String,
    roles: Vec<String>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("name", &self.name).field("key_id", &self.key.key_id()).finish_non_exhaustive()
    }
}

impl Signer {
    /// Finds the principal whose public key matches `key`.
    ///
    /// # Errors
    /// [`Refused`] when no principal in the setup file has this key.
    pub fn authenticate(config: &Config, key: SigningKey) -> Result<Signer, Refused> {
        let public = key.public_key();
        let Some((name, entry)) = config.principal_for(&public) else {
            return Err(Refused {
                problems: vec![format!(
                    "key {} is not a principal in the setup file ([principals.<name>] public_key)",
                    public.key_id()
                )],
            });
        };
        Ok(Signer { name: name.to_string(), roles: entry.roles.clone(), key })
    }

    /// The principal's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its roles.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Its key id.
    pub fn key_id(&self) -> String {
        self.key.key_id()
    }

    /// Its secret key (to sign statements).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Whether one of its roles holds `permission`.
    pub fn allows(&self, config: &Config, permission: Permission) -> bool {
        self.roles.iter().any(|r| config.allows(r, permission))
    }

    /// Refuses unless one of its roles holds `permission`.
    ///
    /// # Errors
    /// [`Refused`] naming the principal and the permission.
    pub fn require(&self, config: &Config, permission: Permission) -> Result<(), Refused> {
        if self.allows(config, permission) {
            Ok(())
        } else {
            Err(Refused {
                problems: vec![format!(
                    "principal `{}` (roles {}) lacks the `{}` permission",
                    self.name,
                    self.roles.join(", "),
                    permission.as_str()
                )],
            })
        }
    }

    /// The audit-log view of this principal.
    pub fn actor(&self) -> Actor {
        Actor { principal: self.name.clone(), key_id: self.key_id(), roles: self.roles.clone() }
    }
}
