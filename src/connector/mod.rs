//! The custom connector domain: a connector's versions and history (the state types are
//! [`ConnectorState`] and [`VersionRecord`] in `env::state`, with their constructors), the one
//! rule for finding a connector by title or slug ([`find_history`]), the files of a version
//! ([`code_path_of`], [`updated_json`]), what may be shared ([`shareable_version`]) and, in
//! [`breaking`], what a version would break and `connector check`.
//!
//! The commands that change a connector are in `ops::connector` (commit, create, release,
//! restore, share), `apply` (import) and `registry` (install, update); they build on this.

pub mod breaking;

pub use breaking::{
    breaking_among, breaking_indexed, breaking_uses, check, describe_breaking, unattributed_indexed,
    unattributed_uses,
};

use crate::error::Subject;
use std::collections::BTreeSet;

use serde_json::Value;

use crate::asset::AssetType;
use crate::env::{self, ConnectorState, Environment};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::workspace::Workspace;

/// Note of a version autosaved before a release.
pub(crate) const AUTOSAVE_RELEASE_NOTE: &str = "autosave before release";

/// Note of a version autosaved before a restore.
pub(crate) const AUTOSAVE_RESTORE_NOTE: &str = "autosave before restore";

/// Path of a connector's `.rb` given its `.custom_adapter.json` path.
pub fn code_path_of(json_path: &str) -> String {
    format!("{}.rb", json_path.strip_suffix(".json").unwrap_or(json_path))
}

/// The error for a version a connector does not have.
pub(crate) fn no_version(c: &ConnectorState, version: u64) -> Error {
    Error::invalid(
        Subject::Connector(c.title.to_string()),
        format!("connector `{}` has no version {version}", c.title),
    )
    .hint(format!(
        "its versions are {}",
        c.versions
            .iter()
            .map(|v| v.version.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

pub(crate) fn tree_index(ws: &Workspace, c: &ConnectorState) -> Option<usize> {
    ws.index_of(&c.path).or_else(|| {
        ws.assets
            .iter()
            .position(|a| a.asset_type == AssetType::CustomAdapter && a.name == c.title)
    })
}

/// The tree's code of a connector, if its `.rb` exists.
pub(crate) fn tree_code(env: &Environment, json_path: &str) -> Result<Option<Vec<u8>>> {
    fsutil::read_optional(&env.root.join(code_path_of(json_path)))
}

/// Rewrites a connector's `.custom_adapter.json` to describe `version` with `note`.
pub(crate) fn updated_json(
    env: &Environment,
    json_path: &str,
    version: u64,
    note: Option<&str>,
) -> Result<Vec<u8>> {
    let path = env.root.join(json_path);
    let bytes = fsutil::read(&path)?;
    let mut value = crate::json::parse(json_path, &bytes)?;
    let Some(obj) = value.as_object_mut() else {
        return Err(Error::BadAsset {
            path: json_path.to_string(),
            reason: "is not a JSON object".into(),
        });
    };
    obj.insert("version_no".into(), Value::from(version));
    obj.insert("note".into(), note.map_or(Value::Null, Value::from));
    Ok(crate::json::to_workato_vec(&value))
}

/// The note of the version an [`update_code`] autosaves the tree's uncommitted edits as.
pub(crate) const AUTOSAVE_UPDATE_NOTE: &str = "autosave before update";

/// The version `connector share` shares: `version`, or the released one. Only a version that
/// has been released at some point can be shared, and only when the connector has one (the
/// seed: "you need to have at least one released version to enable sharing").
pub(crate) fn shareable_version(c: &ConnectorState, version: Option<u64>) -> Result<u64> {
    if !c.versions.iter().any(|v| v.released_at.is_some()) && c.released.is_none() {
        return Err(Error::invalid(
            Subject::Connector(c.title.to_string()),
            format!(
                "connector `{}` has no released version: you need to have at least one released version \
             to enable sharing",
                c.title
            ),
        )
        .hint("release one first (`rlcm connector release`)"));
    }
    let version = match version {
        Some(v) => v,
        None => c.released.ok_or_else(|| {
            Error::invalid(
                Subject::Connector(c.title.to_string()),
                format!("connector `{}` has no released version now", c.title),
            )
            .hint("name a version that was released (`share NAME V`) or release one")
        })?,
    };
    match c.version(version) {
        None => Err(no_version(c, version)),
        Some(r) if r.rolled_back => Err(Error::invalid(
            Subject::Connector(c.title.to_string()),
            format!(
                "version {version} of `{}` was rolled back and cannot be shared",
                c.title
            ),
        )),
        Some(r) if r.released_at.is_none() && c.released != Some(version) => Err(Error::invalid(
            Subject::Connector(c.title.to_string()),
            format!(
                "version {version} of `{}` was never released and cannot be shared: only a released \
             version can be shared",
                c.title
            ),
        )
        .hint(format!(
            "release it first (`rlcm connector release {} {version}`){}",
            c.title,
            c.released
                .map(|r| format!(", or share the released version {r}"))
                .unwrap_or_default()
        ))),
        Some(_) => Ok(version),
    }
}

/// The connectors of an environment: its histories, or for a directory without `.rlcm/`, the
/// tree's connectors each as one released version.
pub fn histories(env: &Environment, ws: &Workspace) -> Result<Vec<ConnectorState>> {
    match &env.state {
        Some(s) => Ok(histories_with(
            s,
            ws.assets
                .iter()
                .filter(|a| a.asset_type == AssetType::CustomAdapter)
                .map(|a| (a.name.as_str(), a.path.as_str())),
        )),
        None => Ok(env::adopt(ws, "", 0, "")?.connectors.into_values().collect()),
    }
}

/// The histories of an initialised environment, and the tree's connectors (`(title, path)`, in
/// path order, from the workspace or the production index) that have none yet.
pub(crate) fn histories_with<'a>(
    s: &env::State,
    tree: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<ConnectorState> {
    let mut list: Vec<ConnectorState> = s.connectors.values().cloned().collect();
    // Connectors in the tree without a history yet.
    for (name, path) in tree {
        if !s.connectors.contains_key(name) {
            list.push(ConnectorState::new(name, path, ""));
        }
    }
    list
}

pub(crate) fn find_history(env: &Environment, ws: &Workspace, name: &str) -> Result<ConnectorState> {
    find_in(histories(env, ws)?, name)
}

/// The connector named `name` among `list` (the one title-or-slug rule).
pub(crate) fn find_in(list: Vec<ConnectorState>, name: &str) -> Result<ConnectorState> {
    crate::slug::find_by_title(&list, |c| &c.title, name)
        .cloned()
        .ok_or_else(|| Error::NotFound {
            what: "connector",
            name: name.to_string(),
            within: None,
            hint: Some(format!(
                "connectors here: {}",
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.iter()
                        .map(|c| format!("`{}`", c.title))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )),
        })
}

/// Reads a version's code, or the tree's for `tree`, `released`, `latest`, `shared`.
pub(crate) fn side_code(env: &Environment, c: &ConnectorState, side: &str) -> Result<(String, Vec<u8>)> {
    let resolve = |n: Option<u64>, what: &str| {
        n.ok_or_else(|| {
            Error::invalid(
                Subject::Connector(c.title.to_string()),
                format!("connector `{}` has no {what} version", c.title),
            )
        })
    };
    let version = match side {
        "tree" => {
            let code = tree_code(env, &c.path)?.ok_or_else(|| Error::BadAsset {
                path: code_path_of(&c.path),
                reason: "is missing".into(),
            })?;
            return Ok(("tree".into(), code));
        }
        "released" => resolve(c.released, "released")?,
        "shared" => resolve(c.shared, "shared")?,
        "latest" => resolve(c.latest().map(|v| v.version), "latest")?,
        n => n.trim_start_matches('v').parse::<u64>().map_err(|_| {
            Error::invalid(
                Subject::Arguments,
                format!(
                    "`{side}` is not a version: give a number, or `tree`, `latest`, `released`, `shared`"
                ),
            )
        })?,
    };
    if env.state.is_none() {
        // Uninitialised: the tree's files are the one version.
        if c.version(version).is_some() {
            return Ok((version.to_string(), tree_code(env, &c.path)?.unwrap_or_default()));
        }
    }
    Ok((version.to_string(), env.version_code(c, version)?))
}

pub(crate) fn set_diff(a: &[String], b: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = a.iter().collect();
    b.iter().filter(|x| !set.contains(x)).cloned().collect()
}
