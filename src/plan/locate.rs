//! Phase 1: where each package asset lands in the target, and the target asset it replaces.

use super::*;
#[allow(unused_imports)]
use crate::error::Subject;

pub(super) fn place(folder: &Option<String>, path: &str) -> String {
    match folder.as_deref().map(|f| f.trim_matches('/')) {
        Some(f) if !f.is_empty() => format!("{f}/{path}"),
        _ => path.to_string(),
    }
}

/// The root account properties file every package's properties merge into.
pub(super) const PROPERTIES_PATH: &str = crate::workspace::ACCOUNT_PROPERTIES_FILE;

/// The root tags file every package's tags merge into (tags are the workspace's).
pub(super) const TAGS_PATH: &str = crate::workspace::TAGS_FILE;

/// The identity of an asset other than a connector, connection or properties file: folder,
/// type, name, and for an API endpoint the collection it belongs to (two collections may hold
/// endpoints of the same name in one folder).
pub(super) fn identity(a: &crate::workspace::Asset, folder: &str) -> (String, String, String, String) {
    let collection = if a.asset_type == AssetType::ApiEndpoint {
        a.summary
            .refs
            .iter()
            .find(|r| r.key == "api_group_id")
            .map(|r| asset::file_name(&r.zip_name).to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    (
        folder.to_string(),
        a.asset_type.as_str().to_string(),
        a.name.clone(),
        collection,
    )
}

/// Where each package asset lands in the target, and the target asset it replaces.
///
/// Custom connectors match by title anywhere, connections by name (the one at the same path
/// first), the properties file is the root one; every other asset by its identity (folder,
/// type, name, an endpoint's collection), then by path. An identity that two assets share, in
/// the package or in the target (Workato names the second file `<slug>.1.<type>.json`), is
/// ambiguous: those assets match by path only, never by name.
pub(super) fn locate(
    pkg: &Workspace,
    target: &Workspace,
    folder: &Option<String>,
) -> Result<(Vec<String>, Vec<Option<usize>>)> {
    let mut connectors_by_title: HashMap<&str, usize> = HashMap::new();
    let mut connections_by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_identity: HashMap<_, Vec<usize>> = HashMap::new();
    for (i, a) in target.assets.iter().enumerate() {
        match a.asset_type {
            AssetType::CustomAdapter => {
                connectors_by_title.entry(a.name.as_str()).or_insert(i);
            }
            AssetType::Connection => connections_by_name.entry(a.name.as_str()).or_default().push(i),
            _ => by_identity
                .entry(identity(a, asset::folder_of(&a.path)))
                .or_default()
                .push(i),
        }
    }
    let placed: Vec<String> = pkg.assets.iter().map(|a| place(folder, &a.path)).collect();
    let mut pkg_identities: HashMap<_, usize> = HashMap::new();
    for (a, p) in pkg.assets.iter().zip(&placed) {
        *pkg_identities
            .entry(identity(a, asset::folder_of(p)))
            .or_default() += 1;
    }
    let by_path = |i: usize| {
        target
            .index_of(&placed[i])
            .filter(|&t| target.assets[t].asset_type == pkg.assets[i].asset_type)
    };
    let mut target_paths = Vec::with_capacity(pkg.assets.len());
    let mut existing: Vec<Option<usize>> = Vec::with_capacity(pkg.assets.len());
    for (i, a) in pkg.assets.iter().enumerate() {
        let hit = match a.asset_type {
            AssetType::CustomAdapter => connectors_by_title.get(a.name.as_str()).copied(),
            AssetType::Connection => connections_by_name.get(a.name.as_str()).and_then(|v| {
                v.iter()
                    .copied()
                    .find(|&t| target.assets[t].path == placed[i])
                    .or_else(|| v.first().copied())
            }),
            AssetType::Properties => target.index_of(PROPERTIES_PATH),
            AssetType::Tags => target.index_of(TAGS_PATH),
            _ => {
                let id = identity(a, asset::folder_of(&placed[i]));
                let ambiguous = pkg_identities.get(&id).is_some_and(|&n| n > 1);
                match by_identity.get(&id).map(Vec::as_slice) {
                    Some([only]) if !ambiguous => Some(*only),
                    _ => by_path(i),
                }
            }
        };
        let path = match (hit, &a.asset_type) {
            (Some(t), _) => target.assets[t].path.clone(),
            (None, AssetType::Properties) => PROPERTIES_PATH.to_string(),
            (None, AssetType::Tags) => TAGS_PATH.to_string(),
            (None, _) => placed[i].clone(),
        };
        target_paths.push(path);
        existing.push(hit);
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, p) in target_paths.iter().enumerate() {
        if let Some(j) = seen.insert(p.as_str(), i) {
            return Err(Error::invalid(Subject::Asset(p.to_string()), format!("package assets `{}` and `{}` would both land at `{p}` in the target (they match the same target asset)", pkg.assets[j].path, pkg.assets[i].path)).hint("give the import a `--folder`, or remove one of them from the package"));
        }
    }
    Ok((target_paths, existing))
}
