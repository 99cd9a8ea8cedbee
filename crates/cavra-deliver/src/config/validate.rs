//! Validation rules of the setup file that span sections: principals and
//! keys, schedules, endpoints and ports.

use std::collections::BTreeMap;

use super::{bad, Config, ConfigError, ResolvedKeys};

pub(super) fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "::1" | "[::1]") || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// An HTTP API endpoint must use `https` (plain `http` only to a loopback
/// address) and must not carry credentials in its authority.
///
/// ```
/// use cavra_deliver::config::check_endpoint;
/// assert!(check_endpoint("https://api.sendgrid.com/v3/mail/send").is_ok());
/// assert!(check_endpoint("http://127.0.0.1:8025/hook").is_ok());
/// assert!(check_endpoint("http://hooks.northwind.example/in").is_err());
/// assert!(check_endpoint("https://user:pw@hooks.northwind.example/in").is_err());
/// assert!(check_endpoint("ftp://files.northwind.example/").is_err());
/// ```
///
/// # Errors
/// Why the endpoint is refused (never echoing the URL, which may hold a secret).
pub fn check_endpoint(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or("not an absolute URL (https://host/path)")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(
            "credentials in the URL are refused like literal secrets; use the setup file's secret references".into()
        );
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err("plain http is allowed only to a loopback address; use https".into()),
        _ => Err("only https (or http to a loopback address) is supported".into()),
    }
}

impl Config {
    /// Reads every principal's key and the package signer's, refusing
    /// unreadable or shared keys and unknown roles.
    pub(super) fn validate_principals(&self) -> Result<ResolvedKeys, ConfigError> {
        let mut seen: BTreeMap<String, &String> = BTreeMap::new();
        let mut principals = Vec::with_capacity(self.principals.len());
        for (name, p) in &self.principals {
            let key = format!("principals.{name}.public_key");
            let public = crate::identity::parse_principal_key(&p.public_key).map_err(|e| bad(&key, e))?;
            if let Some(other) = seen.insert(public.base64(), name) {
                return Err(bad(&key, format!("the same key is already principal `{other}`")));
            }
            principals.push((name.clone(), public));
            if p.roles.is_empty() {
                return Err(bad(&format!("principals.{name}.roles"), "a principal needs at least one role"));
            }
            for r in &p.roles {
                if !self.roles.contains_key(r) {
                    return Err(bad(&format!("principals.{name}.roles"), format!("role `{r}` is not defined")));
                }
            }
        }
        if self.recipients.external_approvers == 0 || self.recipients.external_approvers > 16 {
            return Err(bad("recipients.external_approvers", "must be 1 to 16"));
        }
        let package = self
            .packages
            .signing_public_key
            .as_deref()
            .map(|k| crate::identity::parse_principal_key(k).map_err(|e| bad("packages.signing_public_key", e)))
            .transpose()?;
        Ok(ResolvedKeys { principals, package })
    }

    pub(super) fn validate_schedules_and_values(&self) -> Result<(), ConfigError> {
        if self.delivery.port == Some(0) {
            return Err(bad("delivery.port", "port 0 cannot be connected to; give the server's port (1-65535)"));
        }
        let mut ids = std::collections::BTreeSet::new();
        let policy = self.recipient_policy()?;
        for (i, e) in self.schedules.iter().enumerate() {
            if !ids.insert(e.id.as_str()) {
                return Err(bad(&format!("schedules[{i}].id"), format!("schedule id `{}` is used twice", e.id)));
            }
            for (j, to) in e.to.iter().enumerate() {
                let key = format!("schedules[{i}].to[{j}]");
                match to.strip_prefix("group:") {
                    Some(g) if !self.recipients.groups.contains_key(g) => {
                        return Err(bad(&key, format!("unknown group `{g}`")));
                    }
                    Some(_) => {}
                    None => {
                        policy
                            .classify(to)
                            .map_err(|err| bad(&key, format!("not allowed by the recipient policy: {err}")))?;
                    }
                }
            }
            for (key, v) in [("subject", e.subject.as_deref()), ("id", Some(e.id.as_str()))] {
                if let Some(v) = v {
                    crate::identity::gate_free_text(v).map_err(|why| bad(&format!("schedules[{i}].{key}"), why))?;
                }
            }
        }
        Ok(())
    }
}
