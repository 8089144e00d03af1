//! Remotes: named Workato workspaces in `$RLCM_CONFIG_DIR/remotes.toml` (`[remote.NAME]` with
//! `url` and `token_env`, the **name** of the variable holding the token, never a token).

use crate::error::Subject;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::http::{Client, ClientOptions, Observer, RateLimits, Token};
use crate::config::{self, NamedEntries};
use crate::error::{Error, Result};

/// The file remotes live in.
pub(crate) const REMOTES_FILE: &str = "remotes.toml";
const TABLE: &str = "remote";

/// A Workato data center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    /// https://www.workato.com
    Us,
    /// https://app.eu.workato.com
    Eu,
    /// https://app.jp.workato.com
    Jp,
    /// https://app.sg.workato.com
    Sg,
    /// https://app.au.workato.com
    Au,
    /// https://app.il.workato.com
    Il,
    /// https://app.workatoapp.cn
    Cn,
    /// https://app.kr.workato.com
    Kr,
    /// https://app.trial.workato.com (developer sandboxes, trials)
    Trial,
}

impl Region {
    /// The region's base URL (without `/api`).
    pub fn url(self) -> &'static str {
        match self {
            Region::Us => "https://www.workato.com",
            Region::Eu => "https://app.eu.workato.com",
            Region::Jp => "https://app.jp.workato.com",
            Region::Sg => "https://app.sg.workato.com",
            Region::Au => "https://app.au.workato.com",
            Region::Il => "https://app.il.workato.com",
            Region::Cn => "https://app.workatoapp.cn",
            Region::Kr => "https://app.kr.workato.com",
            Region::Trial => "https://app.trial.workato.com",
        }
    }
}

/// One configured remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Remote {
    /// Base URL of the workspace's data center (without `/api`).
    pub url: String,
    /// The environment variable holding the API token (its name only).
    pub token_env: String,
}

/// The remotes file.
pub fn load() -> Result<NamedEntries<Remote>> {
    NamedEntries::load(REMOTES_FILE, TABLE)
}

/// Where the remotes file is.
pub fn path() -> Result<PathBuf> {
    Ok(config::config_dir()?.join(REMOTES_FILE))
}

/// Adds a remote (refused when the name exists); returns the entry written.
pub fn add(name: &str, url: &str, token_env: Option<&str>) -> Result<Remote> {
    config::validate_name("remote", name)?;
    let token_env = match token_env {
        Some(v) => {
            let ok = !v.is_empty()
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !v.as_bytes()[0].is_ascii_digit();
            if !ok {
                return Err(Error::invalid(
                    Subject::Variable(v.to_string()),
                    format!(
                        "`{v}` is not an environment variable name: give the variable's NAME \
                     (letters, digits, `_`), never the token itself"
                    ),
                ));
            }
            v.to_string()
        }
        None => config::token_var_for("RLCM_TOKEN_", name),
    };
    let url = normalize_url(url)?;
    let mut file = load()?;
    if file.entries.contains_key(name) {
        return Err(Error::exists(
            Subject::Remote(name.to_string()),
            format!("remote `{name}` already exists in `{}`", file.path().display()),
        )
        .hint(format!("`rlcm remote remove {name}` first")));
    }
    let remote = Remote { url, token_env };
    file.entries.insert(name.to_string(), remote.clone());
    file.save()?;
    Ok(remote)
}

/// Removes a remote.
pub fn remove(name: &str) -> Result<Remote> {
    let mut file = load()?;
    let r = file.entries.remove(name).ok_or_else(|| not_found(name, &file))?;
    file.save()?;
    Ok(r)
}

/// Looks a remote up.
pub fn get(name: &str) -> Result<Remote> {
    let file = load()?;
    file.entries
        .get(name)
        .cloned()
        .ok_or_else(|| not_found(name, &file))
}

fn not_found(name: &str, file: &NamedEntries<Remote>) -> Error {
    Error::NotFound {
        what: "remote",
        name: name.to_string(),
        within: Some(format!("in `{}`", file.path().display())),
        hint: Some(format!(
            "add it with `rlcm remote add {name} --url URL` (or `--region`)"
        )),
    }
}

fn normalize_url(url: &str) -> Result<String> {
    let u = url.trim().trim_end_matches('/');
    let u = u.strip_suffix("/api").unwrap_or(u);
    let parsed: ureq::http::Uri = u.parse().map_err(|_| {
        Error::invalid(
            Subject::Remote(url.to_string()),
            format!("`{url}` is not a valid URL"),
        )
    })?;
    match parsed.scheme_str() {
        Some("http" | "https") if parsed.host().is_some_and(|h| !h.is_empty()) => {}
        _ => {
            return Err(Error::invalid(
                Subject::Remote(url.to_string()),
                format!("`{url}` is not an http(s) URL with a host (e.g. https://app.eu.workato.com)"),
            ));
        }
    }
    Ok(u.to_string())
}

/// How to connect to a remote (from the command line).
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// Allow plain `http://` to hosts other than loopback.
    pub allow_insecure_http: bool,
    /// Client-side pacing.
    pub rate_limits: RateLimits,
    /// Receives every request.
    pub observer: Option<Observer>,
}

/// Builds a client for `name`, reading the token from its variable now.
pub fn connect(name: &str, opts: &ConnectOptions) -> Result<(Remote, Client)> {
    let remote = get(name)?;
    let token = config::token_from_env(&remote.token_env, &format!("remote `{name}`"))?;
    let mut co = ClientOptions::new(remote.url.clone(), Token::new(token));
    co.allow_insecure_http = opts.allow_insecure_http;
    co.rate_limits = opts.rate_limits;
    co.observer = opts.observer.clone();
    // `RLCM_HTTP_TIMEOUT=SECONDS`: another per-request timeout (slow proxies; tests).
    if let Some(secs) = std::env::var("RLCM_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
    {
        co.timeout = std::time::Duration::from_secs_f64(secs);
    }
    let client = Client::new(co)?;
    Ok((remote, client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized() {
        assert_eq!(normalize_url("https://x.com/api/").unwrap(), "https://x.com");
        assert_eq!(normalize_url("http://127.0.0.1:5").unwrap(), "http://127.0.0.1:5");
        assert!(normalize_url("x.com").is_err());
        assert_eq!(Region::Cn.url(), "https://app.workatoapp.cn");
    }
}

/// One remote in `rlcm remote list`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RemoteEntry {
    /// The remote's name.
    pub name: String,
    /// Base URL.
    pub url: String,
    /// The variable holding its token.
    pub token_env: String,
    /// Whether that variable is set now (its value is never shown).
    pub token_set: bool,
}

/// `rlcm remote list` (and `add`/`remove`, with the one remote).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RemoteListReport {
    /// Always 1.
    pub format_version: u32,
    /// The remotes file.
    pub file: String,
    /// The remotes, by name.
    pub remotes: Vec<RemoteEntry>,
}

/// `rlcm remote check`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RemoteCheckReport {
    /// Always 1.
    pub format_version: u32,
    /// The remote.
    pub remote: String,
    /// Its URL.
    pub url: String,
    /// The workspace id.
    pub workspace_id: u64,
    /// The workspace name.
    pub workspace_name: String,
    /// Its root folder (where `push` imports by default).
    pub root_folder_id: Option<u64>,
}

/// An entry of the list report.
pub fn entry(name: &str, r: &Remote) -> RemoteEntry {
    RemoteEntry {
        name: name.to_string(),
        url: r.url.clone(),
        token_env: r.token_env.clone(),
        token_set: std::env::var(&r.token_env).is_ok_and(|v| !v.trim().is_empty()),
    }
}

/// `rlcm remote list`.
pub fn list() -> Result<RemoteListReport> {
    let file = load()?;
    Ok(RemoteListReport {
        format_version: crate::report::FORMAT_VERSION,
        file: file.path().display().to_string(),
        remotes: file.entries.iter().map(|(n, r)| entry(n, r)).collect(),
    })
}

/// `rlcm remote check`: `GET /api/users/me`.
pub fn check(name: &str, opts: &ConnectOptions) -> Result<RemoteCheckReport> {
    let (remote, client) = connect(name, opts)?;
    let me = client.users_me()?;
    Ok(RemoteCheckReport {
        format_version: crate::report::FORMAT_VERSION,
        remote: name.to_string(),
        url: remote.url,
        workspace_id: me.id,
        workspace_name: me.name,
        root_folder_id: me.root_folder_id,
    })
}

/// The JSON Schemas of the remote reports.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn schema<T: schemars::JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
    }
    vec![
        ("remote-list", schema::<RemoteListReport>()),
        ("remote-check", schema::<RemoteCheckReport>()),
        ("pull", schema::<super::pull::PullReport>()),
        ("remote-info", schema::<super::pull::RemoteInfo>()),
        ("push", schema::<super::push::PushReport>()),
        ("push-history", schema::<super::push::PushHistory>()),
        ("fanout", schema::<super::fanout::FanoutReport>()),
    ]
}
