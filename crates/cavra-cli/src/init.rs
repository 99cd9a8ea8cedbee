//! `init`: writes a valid `cavra.toml`, from flags (for scripts) or by
//! asking (an arrow-key wizard on a terminal) for whatever the flags leave
//! out. The file is validated before it is written; credentials are only
//! ever written as references.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use dialoguer::{Confirm, Input, Select};

const MODES: [&str; 7] = ["disabled", "smtp", "microsoft365", "google_workspace", "ses", "sendgrid", "webhook"];
const CLASSES: [&str; 4] = ["internal", "external_auditor", "external_partner", "blocked"];

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the file.
    #[arg(long, default_value = "cavra.toml")]
    out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
    /// Never prompt: fail when something required is missing.
    #[arg(long)]
    non_interactive: bool,
    /// Organisation display name.
    #[arg(long)]
    org: Option<String>,
    /// Sender address.
    #[arg(long)]
    sender: Option<String>,
    /// IANA time zone.
    #[arg(long)]
    timezone: Option<String>,
    /// Delivery mode: disabled, smtp, microsoft365, google_workspace, ses, sendgrid, webhook.
    #[arg(long)]
    mode: Option<String>,
    /// SMTP host.
    #[arg(long)]
    host: Option<String>,
    /// SMTP port.
    #[arg(long)]
    port: Option<u16>,
    /// HTTP endpoint (webhook; SendGrid and SES default to the provider's).
    #[arg(long)]
    endpoint: Option<String>,
    /// AWS region for SES.
    #[arg(long)]
    region: Option<String>,
    /// Access key id reference for SES (`env:NAME` or `file:PATH`).
    #[arg(long, value_name = "REF")]
    access_key_id: Option<String>,
    /// Credential reference for the password, API key, SES secret access key or webhook secret (`env:NAME` or `file:PATH`).
    #[arg(long, value_name = "REF")]
    secret: Option<String>,
    /// User name reference for SMTP (`env:NAME` or `file:PATH`).
    #[arg(long, value_name = "REF")]
    username: Option<String>,
    /// An allowed domain as `DOMAIN[:CLASSIFICATION[:subdomains]]`; repeatable.
    #[arg(long = "domain")]
    domains: Vec<String>,
    /// The package signer's minisign public key (`.pub` file or its `RW…` line): only packages that verify against it are sent.
    #[arg(long, value_name = "KEY.pub")]
    package_key: Option<String>,
    /// A principal as `NAME=ROLE[+ROLE…]:KEY.pub` (roles cso, grc, admin); repeatable.
    #[arg(long = "principal", value_name = "NAME=ROLES:KEY.pub")]
    principals: Vec<String>,
}

/// A public key given as a `.pub` file or its base64 line, as `cavra.toml` holds it.
fn public_key_line(value: &str) -> Result<String> {
    let key = if std::path::Path::new(value).exists() {
        cavra_render::signed::PublicKey::from_file(std::path::Path::new(value))?
    } else {
        cavra_render::signed::PublicKey::parse(value)?
    };
    Ok(key.base64())
}

/// `[packages]` and `[principals.*]` sections.
fn identity_sections(args: &InitArgs, interactive: bool, enabled: bool) -> Result<String> {
    let mut text = String::new();
    if let Some(k) = ask(interactive && enabled, &args.package_key, "Package signer's public key (KEY.pub)", None)? {
        text.push_str(&format!("\n[packages]\nsigning_public_key = {}\n", toml_str(&public_key_line(&k)?)));
    } else if enabled {
        return Err(cavra_deliver::config::ConfigError {
            key: "packages.signing_public_key".into(),
            reason: "--package-key is required when delivery is enabled: only packages that verify against it are sent"
                .into(),
        }
        .into());
    }
    for p in &args.principals {
        let (name, rest) = p.split_once('=').context("--principal takes NAME=ROLES:KEY.pub")?;
        let (roles, key) = rest.split_once(':').context("--principal takes NAME=ROLES:KEY.pub")?;
        let roles: Vec<String> = roles.split('+').map(toml_str).collect();
        text.push_str(&format!(
            "\n[principals.{}]\npublic_key = {}\nroles = [{}]\n",
            toml_str(name),
            toml_str(&public_key_line(key)?),
            roles.join(", ")
        ));
    }
    Ok(text)
}

fn ask(interactive: bool, flag: &Option<String>, prompt: &str, default: Option<&str>) -> Result<Option<String>> {
    if let Some(v) = flag {
        return Ok(Some(v.clone()));
    }
    if !interactive {
        return Ok(default.map(str::to_string));
    }
    let mut input = Input::<String>::new().with_prompt(prompt);
    if let Some(d) = default {
        input = input.default(d.to_string());
    }
    Ok(Some(input.interact_text()?))
}

fn toml_str(s: &str) -> String {
    // TOML basic string: escape backslash and quote; control characters are refused.
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn init(args: &InitArgs) -> Result<()> {
    if args.out.exists() && !args.force {
        bail!("{} exists; pass --force to replace it", args.out.display());
    }
    let interactive = !args.non_interactive && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let org = ask(interactive, &args.org, "Organisation name", Some("Security Office"))?.unwrap_or_default();
    let timezone = ask(interactive, &args.timezone, "Time zone (IANA)", Some("UTC"))?.unwrap_or_default();
    let mode = match &args.mode {
        Some(m) => m.clone(),
        None if interactive => {
            MODES[Select::new().with_prompt("Delivery").items(MODES).default(0).interact()?].to_string()
        }
        None => "disabled".into(),
    };
    let mut text = format!("[organisation]\nname = {}\ntimezone = {}\n", toml_str(&org), toml_str(&timezone));
    let enabled = mode != "disabled";
    if enabled {
        let sender = ask(interactive, &args.sender, "Sender address", None)?
            .context("--sender is required when delivery is enabled")?;
        text.push_str(&format!("sender = {}\n", toml_str(&sender)));
    }
    text.push_str(&format!("\n[delivery]\nmode = {}\n", toml_str(&mode)));
    match mode.as_str() {
        "smtp" | "microsoft365" | "google_workspace" => {
            let default_host = match mode.as_str() {
                "microsoft365" => Some("smtp.office365.com"),
                "google_workspace" => Some("smtp.gmail.com"),
                _ => None,
            };
            let host =
                ask(interactive, &args.host, "SMTP host", default_host)?.context("--host is required for SMTP")?;
            text.push_str(&format!("host = {}\nport = {}\n", toml_str(&host), args.port.unwrap_or(587)));
            if let Some(user) = ask(
                interactive,
                &args.username,
                "User name reference (env:NAME or file:PATH, empty for none)",
                Some(""),
            )?
            .filter(|u| !u.is_empty())
            {
                let key = if mode == "smtp" { "password" } else { "oauth_token" };
                let secret = ask(interactive, &args.secret, &format!("{key} reference (env:NAME or file:PATH)"), None)?
                    .context("--secret is required with a user name")?;
                text.push_str(&format!("username = {}\n{key} = {}\n", toml_str(&user), toml_str(&secret)));
            }
        }
        "sendgrid" => {
            let secret = ask(interactive, &args.secret, "API key reference (env:NAME or file:PATH)", None)?
                .context("--secret is required")?;
            text.push_str(&format!("api_key = {}\n", toml_str(&secret)));
        }
        "ses" => {
            let region = ask(interactive, &args.region, "AWS region", Some("us-east-1"))?.unwrap_or_default();
            let key_id = ask(
                interactive,
                &args.access_key_id,
                "Access key id reference (env:NAME or file:PATH)",
                Some("env:AWS_ACCESS_KEY_ID"),
            )?
            .unwrap_or_default();
            let secret = ask(
                interactive,
                &args.secret,
                "Secret access key reference (env:NAME or file:PATH)",
                Some("env:AWS_SECRET_ACCESS_KEY"),
            )?
            .unwrap_or_default();
            text.push_str(&format!(
                "region = {}\naccess_key_id = {}\nsecret_access_key = {}\n",
                toml_str(&region),
                toml_str(&key_id),
                toml_str(&secret)
            ));
        }
        "webhook" => {
            let endpoint = ask(interactive, &args.endpoint, "Webhook URL", None)?.context("--endpoint is required")?;
            let secret = ask(interactive, &args.secret, "Signing secret reference (env:NAME or file:PATH)", None)?
                .context("--secret is required")?;
            text.push_str(&format!("endpoint = {}\nwebhook_secret = {}\n", toml_str(&endpoint), toml_str(&secret)));
        }
        _ => {}
    }
    if let (Some(e), "sendgrid" | "ses") = (&args.endpoint, mode.as_str()) {
        text.push_str(&format!("endpoint = {}\n", toml_str(e)));
    }
    let mut domains = args.domains.clone();
    if domains.is_empty() && interactive {
        loop {
            let d: String = Input::new()
                .with_prompt("Allowed recipient domain (empty to finish)")
                .allow_empty(true)
                .interact_text()?;
            if d.is_empty() {
                break;
            }
            let class = CLASSES[Select::new().with_prompt("Classification").items(CLASSES).default(0).interact()?];
            let subs = Confirm::new().with_prompt("Include subdomains?").default(false).interact()?;
            domains.push(format!("{d}:{class}{}", if subs { ":subdomains" } else { "" }));
        }
    }
    text.push_str("\n[recipients]\nexternal_approval_required = true\n");
    for d in &domains {
        let mut parts = d.split(':');
        let domain = parts.next().unwrap_or_default();
        let class = parts.next().unwrap_or("internal");
        let subs = parts.next() == Some("subdomains");
        text.push_str(&format!(
            "\n[[recipients.domains]]\ndomain = {}\nclassification = {}\nsubdomains = {subs}\n",
            toml_str(domain),
            toml_str(class)
        ));
    }
    text.push_str(
        "\n[roles.cso]\npermissions = [\"render\", \"send_internal\", \"send_external\", \"approve\", \"schedule\"]\n\
         \n[roles.grc]\npermissions = [\"render\", \"send_internal\", \"schedule\"]\n\
         \n[roles.admin]\npermissions = [\"render\", \"manage_policy\", \"approve\"]\n",
    );
    text.push_str(&identity_sections(args, interactive, enabled)?);
    cavra_deliver::config::Config::from_toml(&text)?;
    std::fs::write(&args.out, &text).with_context(|| format!("{}: cannot write", args.out.display()))?;
    crate::say!("wrote {} (validated)", args.out.display());
    Ok(())
}
