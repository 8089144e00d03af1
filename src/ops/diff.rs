//! `rlcm diff A B`: what differs between two environments, packages or a mix.
//!
//! B is matched against A exactly as a plan matches a package against its target (same
//! folder + type + name rules, provider names and references rewritten to A's), so the
//! per-asset changes are the semantic diff of [`crate::semdiff`] and a connector's provider
//! name alone is never a difference. Assets only in B are `added`, only in A `removed`.
//! Connections (never overwritten by an import) are compared directly, with B's provider
//! names mapped to A's; account properties too. Nothing is written, except that a package
//! zip given as A is unpacked into a temporary directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::asset::AssetType;
use crate::env::Environment;
use crate::error::{IoContext, Result};
use crate::fsutil;
use crate::plan::{Action, PlanOptions};
use crate::report::{FORMAT_VERSION, PlanConnector};
use crate::semdiff::{self, Change};
use crate::source::Source;

/// The flags of `diff`.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Also compute a unified text diff of every changed asset.
    pub text: bool,
}

/// How an asset differs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DiffStatus {
    /// In both, with other content.
    Changed,
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
}

impl DiffStatus {
    /// The word for reports.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One asset that differs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DiffAsset {
    /// Path in A (in B for an added asset).
    pub path: String,
    /// Its path in B, when it differs from `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_path: Option<String>,
    /// Asset type.
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Asset name.
    pub name: String,
    /// Changed, added or removed.
    pub status: DiffStatus,
    /// What changes from A to B inside it (for `changed`).
    pub changes: Vec<Change>,
    /// A unified diff of the pretty JSON (with `--diff=text`; secrets replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `rlcm diff --format json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DiffReport {
    /// Always 1.
    pub format_version: u32,
    /// The old side.
    pub a: String,
    /// The new side.
    pub b: String,
    /// True when nothing differs.
    pub identical: bool,
    /// Number of assets per status.
    pub counts: BTreeMap<String, usize>,
    /// Every asset that differs: changed first, then added, then removed; by path.
    pub assets: Vec<DiffAsset>,
    /// Custom connectors whose code differs (from A's version to B's), with the actions and
    /// triggers B removes and adds.
    pub connectors: Vec<PlanConnector>,
}

/// Compares A (old) with B (new).
pub fn diff(a: &Path, b: &Path, opts: &DiffOptions) -> Result<DiffReport> {
    // A is read as a plan's target: a directory. A zip is unpacked first.
    let unpacked = if a.is_dir() {
        None
    } else {
        let source = Source::open(a)?;
        let dir = tempfile::Builder::new()
            .prefix("rlcm-diff-")
            .tempdir()
            .with_path("create a temporary directory for", a)?;
        let mut reader = source.reader()?;
        for entry in source.entries() {
            if entry.path == crate::package::MANIFEST_NAME {
                continue;
            }
            let bytes = reader.read(entry)?;
            fsutil::write_synced(&dir.path().join(&entry.path), &bytes)?;
        }
        Some(dir)
    };
    let a_root = unpacked.as_ref().map_or(a, |d| d.path());
    let env = Environment::open(a_root)?;
    let target = env.load_workspace()?;
    let pkg = crate::apply::open_package(b)?;
    let plan_opts = PlanOptions {
        force: true,
        restart_recipes: true,
        text_diff: opts.text,
        ..Default::default()
    };
    let plan = crate::apply::make_plan(&pkg, &env, &target, &plan_opts)?;
    let mut assets = Vec::new();
    let mut matched: BTreeSet<usize> = BTreeSet::new();
    for (item, action) in plan.items.iter().zip(&plan.report.actions) {
        let pa = &pkg.ws.assets[item.pkg];
        if let Some(t) = item.existing {
            matched.insert(t);
        }
        let b_path = (pa.path != item.target).then(|| pa.path.clone());
        let entry = |status, changes, text| DiffAsset {
            path: item.target.clone(),
            b_path: b_path.clone(),
            asset_type: pa.asset_type.as_str().to_string(),
            name: pa.name.clone(),
            status,
            changes,
            text,
        };
        match (&pa.asset_type, item.existing) {
            (_, None) => assets.push(entry(DiffStatus::Added, Vec::new(), None)),
            (
                AssetType::Connection
                | AssetType::Properties
                | AssetType::ProjectProperties
                | AssetType::Tags,
                Some(t),
            ) => {
                // Never overwritten by an import: compared as they are, B's providers as A's.
                let tv = read_json(a_root, &target.assets[t].path)?;
                let mut bv = crate::plan::read_pkg_value(&pkg.source, &pkg.ws, item.pkg)?;
                map_providers(&mut bv, &plan.providers);
                if tv != bv {
                    let text = opts.text.then(|| semdiff::text_diff(&item.target, &tv, &bv));
                    assets.push(entry(DiffStatus::Changed, semdiff::diff_json(&tv, &bv), text));
                }
            }
            (AssetType::CustomAdapter, Some(_)) => {
                if item.action != Action::NoChange {
                    assets.push(entry(DiffStatus::Changed, Vec::new(), None));
                }
            }
            (_, Some(_)) => {
                if item.action.writes() {
                    let changes = action.changes.clone().unwrap_or_default();
                    let text = plan.text_diffs.get(&item.target).cloned();
                    assets.push(entry(DiffStatus::Changed, changes, text));
                }
            }
        }
    }
    for (i, t) in target.assets.iter().enumerate() {
        if !matched.contains(&i) {
            assets.push(DiffAsset {
                path: t.path.clone(),
                b_path: None,
                asset_type: t.asset_type.as_str().to_string(),
                name: t.name.clone(),
                status: DiffStatus::Removed,
                changes: Vec::new(),
                text: None,
            });
        }
    }
    assets.sort_by(|x, y| (x.status, &x.path).cmp(&(y.status, &y.path)));
    let mut counts = BTreeMap::new();
    for x in &assets {
        *counts.entry(x.status.as_str().to_string()).or_insert(0) += 1;
    }
    let connectors: Vec<PlanConnector> = plan
        .report
        .connectors
        .into_iter()
        .filter(|c| c.action == "new_version")
        .collect();
    Ok(DiffReport {
        format_version: FORMAT_VERSION,
        a: a.display().to_string(),
        b: b.display().to_string(),
        identical: assets.is_empty() && connectors.is_empty(),
        counts,
        assets,
        connectors,
    })
}

fn read_json(root: &Path, rel: &str) -> Result<Value> {
    crate::json::parse(rel, &fsutil::read(&root.join(rel))?)
}

/// Replaces B's provider names by A's in every string of `v`.
fn map_providers(v: &mut Value, providers: &BTreeMap<String, String>) {
    match v {
        Value::String(s) => {
            for (from, to) in providers {
                if from != to && s.contains(from.as_str()) {
                    *s = s.replace(from.as_str(), to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| map_providers(x, providers)),
        Value::Object(m) => m.iter_mut().for_each(|(_, x)| map_providers(x, providers)),
        _ => {}
    }
}
