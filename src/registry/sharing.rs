//! The sharing operations: `connector share --registry`, `connector link ...`,
//! `connector install`, `connector outdated` and `connector update`. Each one that writes an
//! environment does so in one [`Transaction`], after the registry answered: a refusal or a
//! registry that is down leaves the environment exactly as it was.

use crate::error::Subject;
use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api::*;
use super::client::{self, Client};
use crate::asset::AssetType;
use crate::connector::{code_path_of, shareable_version};
use crate::env::Actor;
use crate::env::{
    self, ConnectorState, Environment, InstalledFrom, Origin, SharedTo, Transaction, VersionRecord,
};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::report::{
    ConnectorAction, ConnectorCheckReport, ConnectorListReport, FORMAT_VERSION, ListUpdateStatus,
};

pub use crate::secrets::SECRETS_DIR;

/// What `connector share --registry` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RegistryShareReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title.
    pub title: String,
    /// The registry's name.
    pub registry: String,
    /// The registry's connector id.
    pub connector_id: String,
    /// The version shared.
    pub version: u64,
    /// What happened.
    pub outcome: ShareOutcome,
    /// The registry's sequence number of the share.
    pub seq: u64,
    /// A sentence for people.
    pub message: String,
}

/// Options of `connector share --registry`.
#[derive(Debug, Clone)]
pub struct ShareOptions {
    /// The connector (title or slug).
    pub name: String,
    /// The version (default: the released one).
    pub version: Option<u64>,
    /// The registry's name.
    pub registry: String,
    /// The registry slug to share under (default: the recorded id, else the title's slug).
    pub slug: Option<String>,
}

pub(crate) fn publisher_client(registry: &str) -> Result<Client> {
    let entry = super::get(registry)?;
    let token = crate::config::token_from_env(&entry.token_env, &format!("registry `{registry}`"))?;
    Ok(Client::new(&entry.url, Some(token)))
}

fn logo_of(env: &Environment, c: &ConnectorState) -> Result<Option<(String, Vec<u8>)>> {
    let ws = env.load_workspace()?;
    let Some(path) = ws
        .get(&c.path)
        .and_then(|a| a.connector.as_ref())
        .and_then(|f| f.logo_path.clone())
    else {
        return Ok(None);
    };
    let bytes = fsutil::read(&env.root.join(&path))?;
    Ok(Some((path, bytes)))
}

/// Checks code and logo against the registry's limits before anything is sent.
fn check_upload(title: &str, code: &[u8], logo: Option<&(String, Vec<u8>)>) -> Result<()> {
    if code.len() > MAX_CODE_BYTES {
        return Err(Error::invalid(
            Subject::Connector(title.to_string()),
            format!(
                "the code of `{title}` is {} bytes, over the registry's limit of 10 MiB",
                code.len()
            ),
        ));
    }
    if let Some((path, bytes)) = logo {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(Error::invalid(
                Subject::path(path),
                format!(
                    "the logo `{path}` is {} bytes, over the registry's limit of 1 MiB",
                    bytes.len()
                ),
            )
            .hint("make it smaller"));
        }
        if LogoKind::sniff(bytes).is_none() {
            return Err(Error::invalid(
                Subject::path(path),
                format!("the logo `{path}` is neither a PNG nor a JPEG image"),
            )
            .hint("the registry takes only those"));
        }
    }
    Ok(())
}

/// `connector share NAME [V] --registry REG`.
pub fn share(mut env: Environment, opts: &ShareOptions, actor: &Actor) -> Result<RegistryShareReport> {
    let _lock = env.lock(actor.wait, "connector share")?;
    let mut c = env.connector(&opts.name)?.clone();
    let version = shareable_version(&c, opts.version)?;
    let client = publisher_client(&opts.registry)?;
    let record = c
        .version(version)
        .cloned()
        .ok_or_else(|| crate::connector::no_version(&c, version))?;
    let code = env.version_code(&c, version)?;
    let logo = logo_of(&env, &c)?;
    check_upload(&c.title, &code, logo.as_ref())?;
    let mut metadata = crate::json::parse(&c.path, &fsutil::read(&env.root.join(&c.path))?)?;
    if let Some(obj) = metadata.as_object_mut() {
        obj.insert("version_no".into(), Value::from(version));
        obj.insert(
            "note".into(),
            record.note.clone().map_or(Value::Null, Value::from),
        );
    }
    let slug = match (&opts.slug, c.shared_to.get(&opts.registry)) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => s.connector_id.clone(),
        (None, None) => slug_of_title(&c.title),
    };
    if !valid_slug(&slug) {
        return Err(Error::invalid(
            Subject::Arguments,
            format!(
                "`{slug}` is not a valid registry slug: use 1 to 100 lowercase letters, digits, `_` or `-`, starting with a letter or digit"
            ),
        ));
    }
    let def = crate::ruby::parse_connector(&code);
    let req = ShareRequest {
        title: c.title.clone(),
        version,
        note: record.note.clone(),
        code_base64: B64.encode(&code),
        metadata,
        logo_base64: logo.as_ref().map(|(_, b)| B64.encode(b)),
        actions: def.actions,
        triggers: def.triggers,
    };
    let resp: ShareResponse = client.post(&client::versions_path(&slug), Some(&req))?;
    let before = c.clone();
    c.shared = Some(version);
    c.shared_to.insert(
        opts.registry.clone(),
        SharedTo {
            connector_id: resp.connector_id.clone(),
            version,
        },
    );
    if c != before {
        let mut txn = Transaction::begin(&env.root, &format!("connector share `{}`", c.title))?;
        txn.write(
            &env::connector_state_path(&c.title),
            &crate::json::to_pretty_vec(&c),
        )?;
        txn.commit()?;
    }
    let message = match resp.outcome {
        ShareOutcome::Shared => format!(
            "Shared version {version} of `{}` on registry `{}` as `{}` (share {}).",
            c.title, opts.registry, resp.connector_id, resp.seq
        ),
        ShareOutcome::AlreadyShared => format!(
            "Version {version} of `{}` is already shared on registry `{}` as `{}`; nothing changed.",
            c.title, opts.registry, resp.connector_id
        ),
    };
    Ok(RegistryShareReport {
        format_version: FORMAT_VERSION,
        title: c.title,
        registry: opts.registry.clone(),
        connector_id: resp.connector_id,
        version,
        outcome: resp.outcome,
        seq: resp.seq,
        message,
    })
}

/// What a `connector link` command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LinkAction {
    /// A new link.
    Create,
    /// Revoke every link, then a new one.
    Regenerate,
    /// Revoke every link (and the installs, with `installs`).
    Revoke,
    /// The links, never their tokens.
    List,
}

/// What `connector link ...` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LinkReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title.
    pub title: String,
    /// The registry's name.
    pub registry: String,
    /// The registry's connector id.
    pub connector_id: String,
    /// The action.
    pub action: LinkAction,
    /// The new share URL (create, regenerate): shown this once.
    pub url: Option<String>,
    /// Links revoked.
    pub revoked_links: u64,
    /// Installs revoked.
    pub revoked_installs: u64,
    /// The links (list).
    pub links: Vec<LinkInfo>,
    /// A sentence for people.
    pub message: String,
}

/// `connector link create|regenerate|revoke|list NAME --registry REG`.
pub fn link(
    env: &Environment,
    name: &str,
    registry: &str,
    action: LinkAction,
    installs: bool,
) -> Result<LinkReport> {
    let c = env.connector(name)?;
    let id = c
        .shared_to
        .get(registry)
        .map(|s| s.connector_id.clone())
        .ok_or_else(|| {
            Error::invalid(
                Subject::Connector(c.title.to_string()),
                format!(
                    "`{}` was not shared on registry `{registry}` from this environment",
                    c.title
                ),
            )
            .hint("share it first (`rlcm connector share`)")
        })?;
    let client = publisher_client(registry)?;
    let path = client::links_path(&id);
    let mut report = LinkReport {
        format_version: FORMAT_VERSION,
        title: c.title.clone(),
        registry: registry.to_string(),
        connector_id: id.clone(),
        action,
        url: None,
        revoked_links: 0,
        revoked_installs: 0,
        links: Vec::new(),
        message: String::new(),
    };
    match action {
        LinkAction::Create | LinkAction::Regenerate => {
            let q = if action == LinkAction::Regenerate {
                "?regenerate=true"
            } else {
                ""
            };
            let made: LinkCreated = client.post::<(), _>(&format!("{path}{q}"), None)?;
            report.revoked_links = made.revoked;
            report.message = format!(
                "Share link for `{}` (shown once; the registry keeps only a hash){}:",
                c.title,
                if made.revoked > 0 {
                    format!("; {} earlier link(s) revoked", made.revoked)
                } else {
                    String::new()
                }
            );
            report.url = Some(made.url);
        }
        LinkAction::Revoke => {
            let r: RevokeResponse =
                client.delete(&format!("{path}{}", if installs { "?installs=true" } else { "" }))?;
            report.revoked_links = r.links;
            report.revoked_installs = r.installs;
            report.message = format!(
                "Revoked {} link(s){} of `{}`.",
                r.links,
                if installs {
                    format!(" and {} install(s)", r.installs)
                } else {
                    String::new()
                },
                c.title
            );
        }
        LinkAction::List => {
            let l: LinkList = client.get(&path)?;
            report.message = format!("{} link(s) of `{}`.", l.links.len(), c.title);
            report.links = l.links;
        }
    }
    Ok(report)
}

/// What `connector install` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InstallReport {
    /// Always 1.
    pub format_version: u32,
    /// The new connector's title here.
    pub title: String,
    /// Its `.custom_adapter.json`.
    pub path: String,
    /// The provider name minted for this environment.
    pub provider: String,
    /// The registry's URL.
    pub registry: String,
    /// The registry's connector id.
    pub connector_id: String,
    /// The shared version installed.
    pub shared_version: u64,
    /// A sentence for people.
    pub message: String,
}

/// Options of `connector install`.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// The share link.
    pub url: String,
    /// The title to install under (default: the shared title).
    pub as_title: Option<String>,
}

fn secret_file(title: &str) -> String {
    format!("{}.install.json", env::connector_key(title))
}

#[derive(Serialize, Deserialize)]
struct InstallSecret {
    format_version: u32,
    registry: String,
    install_id: String,
    credential: String,
}

fn decode(title: &str, what: &str, b64: &str) -> Result<Vec<u8>> {
    B64.decode(b64.as_bytes()).map_err(|e| {
        Error::invalid(
            Subject::Connector(title.to_string()),
            format!("the registry sent a {what} that is not valid base64 ({e})"),
        )
    })
}

/// A shared version's code and logo (with its kind), decoded.
type Decoded = (Vec<u8>, Option<(LogoKind, Vec<u8>)>);

fn decode_version(v: &SharedVersion) -> Result<Decoded> {
    let code = decode(&v.title, "code", &v.code_base64)?;
    if blake3::hash(&code).to_hex().as_str() != v.summary.code_blake3 {
        return Err(Error::invalid(
            Subject::Connector(v.title.to_string()),
            format!(
                "the code of shared version {} of `{}` does not match its hash",
                v.summary.version, v.title
            ),
        )
        .hint("nothing was written"));
    }
    let logo = match (&v.logo_base64, v.logo_kind) {
        (Some(b), Some(k)) => Some((k, decode(&v.title, "logo", b)?)),
        _ => None,
    };
    Ok((code, logo))
}

fn title_taken(env: &Environment, title: &str) -> Result<bool> {
    let state = env.state()?;
    if state
        .connectors
        .keys()
        .any(|t| t == title || t.eq_ignore_ascii_case(title))
    {
        return Ok(true);
    }
    let ws = env.load_workspace()?;
    Ok(ws
        .assets
        .iter()
        .any(|a| a.asset_type == AssetType::CustomAdapter && a.name.eq_ignore_ascii_case(title)))
}

fn logo_ext(k: LogoKind) -> &'static str {
    match k {
        LogoKind::Png => "png",
        LogoKind::Jpeg => "jpg",
    }
}

/// The file stem and metadata path a connector installed as `title` takes, when neither the
/// title nor its files are taken in `env`.
fn free_place(env: &Environment, title: &str) -> Result<(String, String)> {
    if title.trim().is_empty() {
        return Err(Error::invalid(
            Subject::Arguments,
            "the title given with `--as` is empty",
        ));
    }
    if title_taken(env, title)? {
        return Err(Error::exists(
            Subject::Connector(title.to_string()),
            format!(
                "a connector titled `{title}` exists in `{}` already",
                env.root.display()
            ),
        )
        .hint("install this one under another title with `--as TITLE`"));
    }
    let stem = env::connector_key(title);
    let json_path = format!("{stem}.custom_adapter.json");
    for p in [json_path.clone(), code_path_of(&json_path)] {
        if env.root.join(&p).exists() {
            return Err(Error::exists(
                Subject::path(env.root.join(&p)),
                format!("`{p}` exists in `{}` already", env.root.display()),
            )
            .hint("install under another title with `--as TITLE`"));
        }
    }
    Ok((stem, json_path))
}

/// `connector install URL --env E [--as TITLE]`.
pub fn install(mut env: Environment, opts: &InstallOptions, actor: &Actor) -> Result<InstallReport> {
    let _lock = env.lock(actor.wait, "connector install")?;
    let (base, link) = client::split_link(&opts.url)?;
    let anon = Client::new(&base, None);
    let view: ConnectorView = anon.get(&link)?;
    let title = opts.as_title.clone().unwrap_or_else(|| view.title.clone());
    let (stem, json_path) = free_place(&env, &title)?;
    let resp: InstallResponse = anon.post::<(), _>(&format!("{link}/install"), None)?;
    let v = &resp.version;
    let (code, logo) = decode_version(v)?;
    let n = v.summary.version;
    let note = format!(
        "Installed from {} {}, shared version {n}",
        view.registry, view.title
    );
    let mut metadata = v.metadata.clone();
    let obj = metadata.as_object_mut().ok_or_else(|| {
        Error::invalid(
            Subject::Connector(view.title.to_string()),
            format!(
                "the registry sent metadata for `{}` that is not a JSON object",
                view.title
            ),
        )
    })?;
    if opts.as_title.is_some() {
        obj.insert("title".into(), Value::from(title.clone()));
    }
    obj.insert("version_no".into(), Value::from(1u64));
    obj.insert("note".into(), Value::from(note.clone()));
    let state = env.state()?;
    let provider = env::mint_provider(&title, state.info.id);
    let def = crate::ruby::parse_connector(&code);
    let now = env::now_rfc3339();
    let record = VersionRecord::new(
        &title,
        1,
        v.summary.code_blake3.clone(),
        &def,
        Some(note.clone()),
        Origin::Install,
        &actor.user,
        &now,
    )
    .released(&actor.user, &now);
    let secret = secret_file(&title);
    let c = ConnectorState {
        released: Some(1),
        versions: vec![record.clone()],
        installed_from: Some(InstalledFrom {
            registry: view.registry.clone(),
            connector_id: view.id.clone(),
            title: view.title.clone(),
            shared_version: n,
            seq: v.summary.seq,
            install_id: resp.install_id.clone(),
            credential_file: secret.clone(),
        }),
        ..ConnectorState::new(&title, &json_path, &provider)
    };
    let secret_bytes = serde_json::to_vec_pretty(&InstallSecret {
        format_version: 1,
        registry: view.registry.clone(),
        install_id: resp.install_id.clone(),
        credential: resp.credential.clone(),
    })
    .map_err(|e| Error::internal(format!("the install credential cannot be serialised: {e}")))?;
    let mut txn = Transaction::begin(&env.root, &format!("connector install `{title}`"))?;
    txn.write(&json_path, &crate::json::to_workato_vec(&metadata))?;
    txn.write(&code_path_of(&json_path), &code)?;
    if let Some((k, bytes)) = &logo {
        txn.write(&format!("{stem}.custom_adapter.{}", logo_ext(*k)), bytes)?;
    }
    txn.write(&env::state_path(&format!("connectors/{}", record.code)), &code)?;
    txn.write(
        &env::connector_state_path(&title),
        &crate::json::to_pretty_vec(&c),
    )?;
    txn.write(&format!("{SECRETS_DIR}/.gitignore"), b"*\n")?;
    txn.write_private(&format!("{SECRETS_DIR}/{secret}"), &secret_bytes)?;
    txn.commit()?;
    Ok(InstallReport {
        format_version: FORMAT_VERSION,
        message: format!(
            "Installed `{title}` (shared version {n} of `{}` from {}) as version 1, released; provider `{provider}`.",
            view.title, view.registry
        ),
        title,
        path: json_path,
        provider,
        registry: view.registry,
        connector_id: view.id,
        shared_version: n,
    })
}

fn install_client(env: &Environment, from: &InstalledFrom) -> Result<Client> {
    let path = env.root.join(SECRETS_DIR).join(&from.credential_file);
    let bytes = fsutil::read(&path)?;
    let secret: InstallSecret = serde_json::from_slice(&bytes).map_err(|_| {
        Error::invalid(
            Subject::path(&path),
            format!("`{}` is not an install credential file", path.display()),
        )
        .hint("install the connector again")
    })?;
    Ok(Client::new(&from.registry, Some(secret.credential)))
}

/// One shared version's note.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VersionNote {
    /// The publisher's version number.
    pub version: u64,
    /// Its note.
    pub note: Option<String>,
}

/// One installed connector whose parent shared a newer version.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OutdatedEntry {
    /// The title here.
    pub title: String,
    /// The registry's URL.
    pub registry: String,
    /// The registry's connector id.
    pub connector_id: String,
    /// The shared version this copy has.
    pub installed: u64,
    /// The latest shared version.
    pub latest: u64,
    /// The notes of the versions shared since the installed one, oldest first.
    pub notes: Vec<VersionNote>,
}

/// `connector outdated`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OutdatedReport {
    /// Always 1.
    pub format_version: u32,
    /// How many installed connectors were asked about.
    pub installed: usize,
    /// Those with a newer shared version.
    pub outdated: Vec<OutdatedEntry>,
}

/// `connector outdated --env E`: asks each installed connector's registry.
pub fn outdated(env: &Environment) -> Result<OutdatedReport> {
    let state = env.state()?;
    let mut outdated = Vec::new();
    let mut installed = 0;
    for c in state.connectors.values() {
        let Some(from) = &c.installed_from else { continue };
        installed += 1;
        let view: ConnectorView = install_client(env, from)?.get("/v1/install")?;
        if view.latest.seq > from.seq {
            outdated.push(OutdatedEntry {
                title: c.title.clone(),
                registry: from.registry.clone(),
                connector_id: from.connector_id.clone(),
                installed: from.shared_version,
                latest: view.latest.version,
                notes: view
                    .versions
                    .iter()
                    .filter(|v| v.seq > from.seq)
                    .map(|v| VersionNote {
                        version: v.version,
                        note: v.note.clone(),
                    })
                    .collect(),
            });
        }
    }
    Ok(OutdatedReport {
        format_version: FORMAT_VERSION,
        installed,
        outdated,
    })
}

/// Every installed connector's update status, asking its registry: `(title, path, status)`.
/// Never fails (a registry that cannot be asked gives a status with `error`).
pub(crate) fn update_statuses(env: &Environment) -> Vec<(String, String, ListUpdateStatus)> {
    let Ok(state) = env.state() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in state.connectors.values() {
        let Some(from) = &c.installed_from else { continue };
        let answer = install_client(env, from).and_then(|cl| cl.get::<ConnectorView>("/v1/install"));
        let status = match answer {
            Ok(view) => ListUpdateStatus {
                installed: from.shared_version,
                latest: Some(view.latest.version),
                available: view.latest.seq > from.seq,
                registry: from.registry.clone(),
                error: None,
            },
            Err(e) => ListUpdateStatus {
                installed: from.shared_version,
                latest: None,
                available: false,
                registry: from.registry.clone(),
                error: Some(e.to_string()),
            },
        };
        out.push((c.title.clone(), c.path.clone(), status));
    }
    out
}

/// The sentence for an update status, if it calls for one (an update, or a registry that
/// cannot be asked).
pub(crate) fn update_message(parent_title: &str, s: &ListUpdateStatus) -> Option<String> {
    if let Some(e) = &s.error {
        return Some(format!("cannot check for updates: {e}"));
    }
    s.available.then(|| {
        format!(
            "shared version {} of `{parent_title}` is available (this copy has {}); `rlcm connector update` puts it on top",
            s.latest.unwrap_or_default(),
            s.installed
        )
    })
}

/// For `check`: one notice per installed connector whose parent shared a newer version, or
/// whose registry cannot be asked: `(title, path, message)`. Never fails.
pub(crate) fn update_notices(env: &Environment) -> Vec<(String, String, String)> {
    let parents = parent_titles(env);
    update_statuses(env)
        .into_iter()
        .filter_map(|(title, path, s)| {
            let parent = parents.get(&title).cloned().unwrap_or_else(|| title.clone());
            update_message(&parent, &s).map(|m| (title, path, m))
        })
        .collect()
}

fn parent_titles(env: &Environment) -> std::collections::BTreeMap<String, String> {
    env.state()
        .map(|st| {
            st.connectors
                .values()
                .filter_map(|c| Some((c.title.clone(), c.installed_from.as_ref()?.title.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// `connector list`: fills each installed connector's `outdated` (asks its registry) and
/// returns the sentences for people, `(title, message)`.
pub fn annotate_list(env: &Environment, report: &mut ConnectorListReport) -> Vec<(String, String)> {
    let parents = parent_titles(env);
    let mut notices = Vec::new();
    for (title, path, status) in update_statuses(env) {
        let parent = parents.get(&title).cloned().unwrap_or_else(|| title.clone());
        if let Some(m) = update_message(&parent, &status) {
            notices.push((title.clone(), m));
        }
        if let Some(entry) = report.connectors.iter_mut().find(|e| e.path == path) {
            entry.outdated = Some(status);
        }
    }
    notices
}

/// What `connector update` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UpdateReport {
    /// Always 1.
    pub format_version: u32,
    /// The connector's title here.
    pub title: String,
    /// `update`, or `none` when it is up to date.
    pub action: ConnectorAction,
    /// The shared version it had.
    pub from_shared: u64,
    /// The shared version it has now.
    pub to_shared: u64,
    /// The new latest version here (not released).
    pub version: Option<u64>,
    /// Actions added, against the released version.
    pub actions_added: Vec<String>,
    /// Actions removed.
    pub actions_removed: Vec<String>,
    /// Triggers added.
    pub triggers_added: Vec<String>,
    /// Triggers removed.
    pub triggers_removed: Vec<String>,
    /// `connector check` of the new version: would releasing it break a recipe here?
    pub check: Option<ConnectorCheckReport>,
    /// A sentence for people.
    pub message: String,
}

fn minus(a: &[String], b: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = b.iter().collect();
    a.iter().filter(|x| !set.contains(x)).cloned().collect()
}

/// `connector update NAME --env E`: the parent's latest shared code as a new latest version,
/// not released.
pub fn update(mut env: Environment, name: &str, actor: &Actor) -> Result<UpdateReport> {
    let lock = env.lock(actor.wait, "connector update")?;
    let mut c = env.connector(name)?.clone();
    let from = c.installed_from.clone().ok_or_else(|| {
        Error::invalid(
            Subject::Connector(c.title.to_string()),
            format!(
                "`{}` was not installed from a registry (`rlcm connector install`)",
                c.title
            ),
        )
        .hint("there is nothing to update it from")
    })?;
    let client = install_client(&env, &from)?;
    let view: ConnectorView = client.get("/v1/install")?;
    let mut report = UpdateReport {
        format_version: FORMAT_VERSION,
        title: c.title.clone(),
        action: ConnectorAction::None,
        from_shared: from.shared_version,
        to_shared: from.shared_version,
        version: None,
        actions_added: Vec::new(),
        actions_removed: Vec::new(),
        triggers_added: Vec::new(),
        triggers_removed: Vec::new(),
        check: None,
        message: format!(
            "`{}` is up to date: it has shared version {} of `{}`.",
            c.title, from.shared_version, from.title
        ),
    };
    if view.latest.seq <= from.seq {
        return Ok(report);
    }
    let tree = fsutil::read_optional(&env.root.join(code_path_of(&c.path)))?;
    if let (Some(t), Some(l)) = (&tree, c.latest())
        && blake3::hash(t).to_hex().as_str() != l.code_blake3
    {
        return Err(Error::invalid(
            Subject::path(env.root.join(code_path_of(&c.path))),
            format!("`{}` has uncommitted edits", code_path_of(&c.path)),
        )
        .hint("commit them (`rlcm connector commit`) or undo them before updating"));
    }
    let v: SharedVersion = client.get(&format!("/v1/install/versions/{}", view.latest.version))?;
    let (code, logo) = decode_version(&v)?;
    let n = v.summary.version;
    let version = c.max_version() + 1;
    let note = format!("Update from shared version {n} of {}", from.title);
    let def = crate::ruby::parse_connector(&code);
    let record = VersionRecord::new(
        &c.title,
        version,
        v.summary.code_blake3.clone(),
        &def,
        Some(note.clone()),
        Origin::UpdateFromShared(n),
        &actor.user,
        &env::now_rfc3339(),
    );
    let released = c
        .released_record()
        .map(|r| (r.actions.clone(), r.triggers.clone()))
        .unwrap_or_default();
    report.actions_added = minus(&def.actions, &released.0);
    report.actions_removed = minus(&released.0, &def.actions);
    report.triggers_added = minus(&def.triggers, &released.1);
    report.triggers_removed = minus(&released.1, &def.triggers);
    let mut json = crate::json::parse(&c.path, &fsutil::read(&env.root.join(&c.path))?)?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("version_no".into(), Value::from(version));
        obj.insert("note".into(), Value::from(note.clone()));
    }
    let mut txn = Transaction::begin(&env.root, &format!("connector update `{}`", c.title))?;
    txn.write(&env::state_path(&format!("connectors/{}", record.code)), &code)?;
    txn.write(&code_path_of(&c.path), &code)?;
    txn.write(&c.path, &crate::json::to_workato_vec(&json))?;
    if let Some((k, bytes)) = &logo {
        let stem = c.path.strip_suffix(".custom_adapter.json").unwrap_or(&c.path);
        txn.write(&format!("{stem}.custom_adapter.{}", logo_ext(*k)), bytes)?;
    }
    c.versions.push(record);
    if let Some(f) = c.installed_from.as_mut() {
        f.shared_version = n;
        f.seq = v.summary.seq;
    }
    txn.write(
        &env::connector_state_path(&c.title),
        &crate::json::to_pretty_vec(&c),
    )?;
    txn.commit()?;
    drop(lock);
    // After the commit point: the update is made whatever happens here, so a failure to read
    // the environment back for the check is reported, not an error.
    let checked = Environment::open(&env.root)
        .and_then(|reopened| crate::connector::check(&reopened, &c.title, &version.to_string()));
    report.action = ConnectorAction::Update;
    report.to_shared = n;
    report.version = Some(version);
    report.message = format!(
        "Version {version} of `{}` is shared version {n} of `{}`, on top and not released; release it with `rlcm connector release` when it checks out.",
        c.title, from.title
    );
    match checked {
        Ok(check) => report.check = Some(check),
        Err(e) => report.message.push_str(&format!(
            " Its check could not run ({e}); run `rlcm connector check \"{}\" {version}`.",
            c.title
        )),
    }
    Ok(report)
}
