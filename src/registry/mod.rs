//! Connector sharing through a self-hosted registry (`crates/rlcm-registry`): the named
//! registries of `registries.toml` ([`RegistryEntry`]), the HTTP client ([`client`]), the
//! API's bodies ([`api`]) and the operations `connector share --registry`, `link`, `install`,
//! `outdated` and `update` ([`sharing`]).

pub mod api;
pub mod client;
pub mod community;
pub mod sharing;

use crate::error::Subject;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{self, NamedEntries};
use crate::error::{Error, Result};

/// The file of named registries in the config dir.
pub(crate) const REGISTRIES_FILE: &str = "registries.toml";
/// Its table.
pub(crate) const REGISTRIES_TABLE: &str = "registry";
/// The prefix of a registry's default token variable.
pub(crate) const TOKEN_PREFIX: &str = "RLCM_REGISTRY_TOKEN_";

/// One registry in `registries.toml`: its URL and the name of the variable holding the
/// publisher token (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegistryEntry {
    /// The registry's base URL.
    pub url: String,
    /// The environment variable that holds the publisher token.
    pub token_env: String,
}

/// `rlcm registry list` (and the answer of `add` and `remove`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RegistryListReport {
    /// Always 1.
    pub format_version: u32,
    /// The configuration file.
    pub file: String,
    /// The registries, by name.
    pub registries: Vec<RegistryListEntry>,
}

/// One registry of [`RegistryListReport`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RegistryListEntry {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// The variable holding its token.
    pub token_env: String,
    /// Whether that variable is set now (its value is never shown).
    pub token_set: bool,
}

fn load() -> Result<NamedEntries<RegistryEntry>> {
    NamedEntries::load(REGISTRIES_FILE, REGISTRIES_TABLE)
}

fn report(e: &NamedEntries<RegistryEntry>) -> RegistryListReport {
    RegistryListReport {
        format_version: 1,
        file: e.path().display().to_string(),
        registries: e
            .entries
            .iter()
            .map(|(name, r)| RegistryListEntry {
                name: name.clone(),
                url: r.url.clone(),
                token_env: r.token_env.clone(),
                token_set: std::env::var(&r.token_env).is_ok_and(|v| !v.trim().is_empty()),
            })
            .collect(),
    }
}

/// Checks a registry URL: `http://` or `https://` with a host, no query or fragment.
pub(crate) fn validate_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.contains(['?', '#', ' ']) && !r.starts_with('/') => {
            Ok(trimmed.to_string())
        }
        _ => Err(Error::invalid(
            Subject::Registry(url.to_string()),
            format!("`{url}` is not a registry URL: give `http://HOST:PORT` or `https://HOST`"),
        )),
    }
}

/// `rlcm registry add NAME --url URL [--token-env VAR]`.
pub fn add(name: &str, url: &str, token_env: Option<&str>) -> Result<RegistryListReport> {
    config::validate_name("registry", name)?;
    let url = validate_url(url)?;
    let var = match token_env {
        Some(v) => {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(Error::invalid(
                    Subject::Variable(v.to_string()),
                    format!("`{v}` is not an environment variable name: use letters, digits and `_`"),
                ));
            }
            v.to_string()
        }
        None => config::token_var_for(TOKEN_PREFIX, name),
    };
    let mut e = load()?;
    e.entries
        .insert(name.to_string(), RegistryEntry { url, token_env: var });
    e.save()?;
    Ok(report(&e))
}

/// `rlcm registry remove NAME`.
pub fn remove(name: &str) -> Result<RegistryListReport> {
    let mut e = load()?;
    if e.entries.remove(name).is_none() {
        return Err(not_configured(name, &e));
    }
    e.save()?;
    Ok(report(&e))
}

/// `rlcm registry list`.
pub fn list() -> Result<RegistryListReport> {
    Ok(report(&load()?))
}

fn not_configured(name: &str, e: &NamedEntries<RegistryEntry>) -> Error {
    Error::NotFound {
        what: "registry",
        name: name.to_string(),
        within: Some(format!("in `{}`", e.path().display())),
        hint: Some(format!(
            "add it with `rlcm registry add {name} --url URL`{}",
            if e.entries.is_empty() {
                String::new()
            } else {
                format!(
                    " (registries: {})",
                    e.entries
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )),
    }
}

/// The registry `name` from `registries.toml`.
pub fn get(name: &str) -> Result<RegistryEntry> {
    let e = load()?;
    e.entries
        .get(name)
        .cloned()
        .ok_or_else(|| not_configured(name, &e))
}

/// The JSON Schemas of the sharing reports and of the registry API's bodies.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn schema<T: JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
    }
    vec![
        ("registry-list", schema::<RegistryListReport>()),
        ("registry-share", schema::<sharing::RegistryShareReport>()),
        ("registry-link", schema::<sharing::LinkReport>()),
        ("registry-install", schema::<sharing::InstallReport>()),
        ("connector-outdated", schema::<sharing::OutdatedReport>()),
        ("connector-update", schema::<sharing::UpdateReport>()),
        ("registry-api-share-request", schema::<api::ShareRequest>()),
        ("registry-api-share-response", schema::<api::ShareResponse>()),
        ("registry-connector", schema::<api::ConnectorView>()),
        ("registry-api-version", schema::<api::SharedVersion>()),
        ("registry-api-install", schema::<api::InstallResponse>()),
        ("registry-api-link-created", schema::<api::LinkCreated>()),
        ("registry-api-link-list", schema::<api::LinkList>()),
        ("registry-api-revoke", schema::<api::RevokeResponse>()),
        ("registry-api-error", schema::<api::ApiError>()),
        ("registry-api-new-token", schema::<api::NewToken>()),
        ("registry-audit", schema::<api::AuditLog>()),
        ("registry-apps", schema::<api::AppList>()),
        ("registry-community", schema::<community::CommunityReport>()),
        ("registry-api-categories", schema::<api::CategoryList>()),
        ("registry-api-listing-request", schema::<api::ListingRequest>()),
        ("registry-listing", schema::<api::ListingView>()),
        ("registry-listings", schema::<api::ListingList>()),
        ("registry-api-no-direct-install", schema::<api::NoDirectInstall>()),
    ]
}
