//! The import plan and its impact report: a pure function of (package, target environment,
//! options). Nothing is written here; [`crate::ops::import`] applies a plan.
//!
//! Matching (SPEC §5): custom connectors by title anywhere in the target; connections by name;
//! account properties into the root `account_properties.properties.json`; everything else by
//! folder + type + name (then by path). `--folder T` places the package's root at `T/`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde_json::Value;

use crate::asset::{self, AssetType, StepKind};
use crate::env::{self, ConnectorState, Environment};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::graph::DepGraph;
use crate::ops::connector::code_path_of;
use crate::report::*;
use crate::ruby::{self, ConnectorDefinition};
use crate::source::Source;
use crate::workspace::Workspace;

/// The flags of `plan` / `import`.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Where the package's root lands in the target.
    pub folder: Option<String>,
    /// Stop, update and start running recipes that the import updates.
    pub restart_recipes: bool,
    /// Import despite conflicts, breaking changes and uncommitted connector edits.
    pub force: bool,
    /// Replace lookup table rows with the package's.
    pub overwrite_lookup_data: bool,
    /// Provider names to use for connectors new to the target (from a saved plan).
    pub minted_providers: BTreeMap<String, String>,
    /// Also compute a unified text diff of every update ([`Plan::text_diffs`]).
    pub text_diff: bool,
}

pub use crate::report::Action;

/// One package asset's plan.
#[derive(Debug, Clone)]
pub struct Item {
    /// Package asset index.
    pub pkg: usize,
    /// Path in the target.
    pub target: String,
    /// What happens.
    pub action: Action,
    /// The target asset index it replaces, if any.
    pub existing: Option<usize>,
}

/// A connector's plan.
#[derive(Debug, Clone)]
pub struct ConnectorPlan {
    /// Package asset index.
    pub pkg: usize,
    /// Title.
    pub title: String,
    /// `.custom_adapter.json` path in the target.
    pub target_path: String,
    /// Logo path in the target, if the package carries one.
    pub target_logo: Option<String>,
    /// Logo path in the package.
    pub pkg_logo: Option<String>,
    /// Code path in the package.
    pub pkg_code: String,
    /// What happens.
    pub action: Action,
    /// Released version in the target before.
    pub from_version: Option<u64>,
    /// Version after.
    pub to_version: u64,
    /// The incoming note.
    pub note: Option<String>,
    /// The incoming code's definition.
    pub definition: ConnectorDefinition,
    /// The target's released definition before (empty for a new connector).
    pub previous: ConnectorDefinition,
    /// Its blake3.
    pub code_blake3: String,
    /// Provider name in the target.
    pub provider: String,
    /// The target's history (None: the connector is new, or the target is not initialised).
    pub history: Option<ConnectorState>,
}

/// A plan with what `import` needs to apply it.
#[derive(Debug)]
pub struct Plan {
    /// The report.
    pub report: PlanReport,
    /// Per package asset.
    pub items: Vec<Item>,
    /// Connectors.
    pub connectors: Vec<ConnectorPlan>,
    /// Package provider name → target provider name.
    pub providers: BTreeMap<String, String>,
    /// Package asset index → target path.
    pub target_paths: Vec<String>,
    /// Target path of each merged file (account properties, project properties, tags) → what
    /// the import adds to it: `(key, value)` for properties, `(title, entry)` for tags. The
    /// target's own keys and tags are never overwritten.
    pub additions: BTreeMap<String, Vec<(String, Value)>>,
    /// Target path → unified diff of the pretty JSON, for each update (with
    /// [`PlanOptions::text_diff`]).
    pub text_diffs: BTreeMap<String, String>,
}

/// Inputs of a plan.
pub struct Inputs<'a> {
    /// The package.
    pub source: &'a Source,
    /// Its assets.
    pub pkg: &'a Workspace,
    /// Its digest.
    pub package_digest: String,
    /// The target.
    pub env: &'a Environment,
    /// Its assets.
    pub target: &'a Workspace,
}

fn place(folder: &Option<String>, path: &str) -> String {
    match folder.as_deref().map(|f| f.trim_matches('/')) {
        Some(f) if !f.is_empty() => format!("{f}/{path}"),
        _ => path.to_string(),
    }
}

/// Digest of a target's assets and rlcm state: a saved plan is stale when it changes.
pub fn target_digest(env: &Environment, ws: &Workspace) -> Result<String> {
    let mut h = blake3::Hasher::new();
    for a in &ws.assets {
        h.update(a.path.as_bytes());
        h.update(b"\0");
        h.update(env::asset_content_hash(a).as_bytes());
        h.update(b"\n");
    }
    if let Some(state) = &env.state {
        h.update(&crate::json::to_pretty_vec(&state.recipes));
        h.update(&crate::json::to_pretty_vec(&state.baseline));
        for c in state.connectors.values() {
            h.update(&crate::json::to_pretty_vec(c));
        }
    }
    Ok(h.finalize().to_hex().to_string())
}

/// What rewriting one asset for the target did.
#[derive(Debug, Default)]
pub struct RewriteLog {
    /// `zip_name`s that resolve neither in the package nor in the target.
    pub unresolved: Vec<String>,
    /// `zip_name`s rewritten: (as written, as rewritten).
    pub references: Vec<(String, String)>,
    /// Provider names renamed: (package's, target's).
    pub providers: Vec<(String, String)>,
}

/// Rewrites a package asset's JSON for the target: references to where their targets land,
/// provider names to the target's.
///
/// A reference that already resolves to the right asset where the referring asset lands (in the
/// target as it will be after the import) is left exactly as written: a project-relative
/// `zip_name` of a `workato pull` tree stays relative. Only one that would resolve elsewhere, or
/// nowhere, is rewritten, to the root-relative path of its target.
pub struct Rewriter<'a> {
    pkg: &'a Workspace,
    target: &'a Workspace,
    target_paths: &'a [String],
    providers: &'a BTreeMap<String, String>,
    target_providers: std::collections::HashSet<&'a str>,
    landing: std::collections::HashSet<&'a str>,
    folder: &'a Option<String>,
}

impl<'a> Rewriter<'a> {
    /// A rewriter from the package's paths and provider names to the target's.
    pub fn new(
        pkg: &'a Workspace,
        target: &'a Workspace,
        target_paths: &'a [String],
        providers: &'a BTreeMap<String, String>,
        folder: &'a Option<String>,
    ) -> Self {
        Rewriter {
            pkg,
            target,
            target_paths,
            providers,
            target_providers: providers.values().map(String::as_str).collect(),
            landing: target_paths.iter().map(String::as_str).collect(),
            folder,
        }
    }

    /// True when `path` is an asset of the target after the import.
    fn exists_after(&self, path: &str) -> bool {
        self.landing.contains(path) || self.target.index_of(path).is_some()
    }

    /// Where `zip_name`, written in the asset that lands at `from`, resolves after the import
    /// (the same rule as [`Workspace::resolve_path`]).
    fn resolve_after(&self, from: &str, zip_name: &str) -> Option<String> {
        crate::workspace::resolve_with(from, zip_name, |p| self.exists_after(p).then(|| p.to_string()))
    }

    /// Where a reference of package asset `i` must point in the target, and the target asset's
    /// name when it is one of the target's own (a kept connection).
    fn wanted(&self, i: usize, zip_name: &str) -> Option<(String, Option<String>)> {
        let from = &self.pkg.assets[i].path;
        let target_from = &self.target_paths[i];
        match self.pkg.resolve_path(from, zip_name) {
            Some(j) => Some((self.target_paths[j].clone(), None)),
            None => {
                let placed = place(self.folder, zip_name);
                self.target
                    .resolve_path(target_from, &placed)
                    .or_else(|| self.target.resolve_path(target_from, zip_name))
                    .map(|t| {
                        (
                            self.target.assets[t].path.clone(),
                            Some(self.target.assets[t].name.clone()),
                        )
                    })
            }
        }
    }

    /// True when rewriting package asset `i` changes no reference: each resolves, as written,
    /// to where its target lands.
    fn references_stay(&self, i: usize) -> bool {
        let a = &self.pkg.assets[i];
        a.summary.refs.iter().all(|r| {
            self.pkg.resolve_path(&a.path, &r.zip_name).is_some_and(|j| {
                self.resolve_after(&self.target_paths[i], &r.zip_name).as_deref()
                    == Some(self.target_paths[j].as_str())
            })
        })
    }

    /// Rewrites `value` (the package asset `pkg_index`) in place.
    pub fn rewrite(&self, pkg_index: usize, value: &mut Value) -> RewriteLog {
        let mut log = RewriteLog::default();
        let a = &self.pkg.assets[pkg_index];
        // Only the asset's own provider names can appear in it (its steps, config, datapills):
        // the rename list stays short however many connectors the workspace has.
        let renames = provider_renames(a, self.providers);
        self.walk(value, pkg_index, &renames, &mut log);
        log.unresolved.sort();
        log.unresolved.dedup();
        log.references.sort();
        log.references.dedup();
        log.providers.sort();
        log.providers.dedup();
        log
    }

    fn walk(&self, v: &mut Value, i: usize, renames: &[(&str, &str)], log: &mut RewriteLog) {
        match v {
            Value::Object(map) => {
                if let Some(zip_name) = map.get("zip_name").and_then(Value::as_str).map(str::to_string) {
                    match self.wanted(i, &zip_name) {
                        Some((p, name)) => {
                            let stays = self.resolve_after(&self.target_paths[i], &zip_name).as_deref()
                                == Some(p.as_str());
                            if !stays {
                                rewrite_reference(map, &p, name);
                                log.references.push((zip_name, p));
                            }
                        }
                        None => log.unresolved.push(zip_name),
                    }
                }
                for (_, child) in map.iter_mut() {
                    self.walk(child, i, renames, log);
                }
                // Keys that name a provider (datapill paths) are renamed too.
                if map.keys().any(|k| renames.iter().any(|(p, _)| k.contains(p))) {
                    let old = std::mem::take(map);
                    for (mut k, v) in old {
                        for (p, t) in renames {
                            if k.contains(p) {
                                k = k.replace(p, t);
                                log.providers.push((p.to_string(), t.to_string()));
                            }
                        }
                        map.insert(k, v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|x| self.walk(x, i, renames, log)),
            Value::String(s) => {
                for (p, t) in renames {
                    if s.contains(p) {
                        *s = s.replace(p, t);
                        log.providers.push((p.to_string(), t.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Points a `{zip_name, name, folder, folder_full_path}` object at `path`.
pub(crate) fn rewrite_reference(map: &mut serde_json::Map<String, Value>, path: &str, name: Option<String>) {
    let folder = asset::folder_of(path).to_string();
    map.insert("zip_name".into(), Value::from(path));
    if map.contains_key("folder") {
        map.insert("folder".into(), Value::from(folder.clone()));
    }
    if map.contains_key("folder_full_path") {
        let full = if folder.is_empty() {
            "Home".to_string()
        } else {
            format!("Home/{folder}")
        };
        map.insert("folder_full_path".into(), Value::from(full));
    }
    if let Some(n) = name
        && map.contains_key("name")
    {
        map.insert("name".into(), Value::from(n));
    }
}

/// Reads and parses a package asset.
pub fn read_pkg_value(source: &Source, pkg: &Workspace, i: usize) -> Result<Value> {
    let path = &pkg.assets[i].path;
    let entry = source.find(path).ok_or_else(|| Error::BadEntry {
        package: source.display(),
        entry: path.clone(),
        reason: "disappeared while planning".into(),
    })?;
    crate::json::parse(path, &source.read(entry)?)
}

/// Reads a package entry's bytes by path.
pub fn read_pkg_bytes(source: &Source, path: &str) -> Result<Vec<u8>> {
    let entry = source.find(path).ok_or_else(|| Error::BadEntry {
        package: source.display(),
        entry: path.to_string(),
        reason: "is missing".into(),
    })?;
    source.read(entry)
}

/// A package asset as it would be written in the target.
#[derive(Debug)]
pub struct Final {
    /// The rewritten (and, for a lookup table, merged) content.
    pub value: Value,
    /// What the rewrite did.
    pub log: RewriteLog,
    /// The JSON style to write it in: the target file's when it replaces one, else the
    /// package entry's (a file rlcm rewrites keeps its style).
    pub style: crate::json::Style,
    /// The target's current content, when the asset replaces one.
    pub current: Option<Value>,
    /// True when the package's content, before any rewrite, differs from the target's.
    pub content_changed: bool,
}

/// The final content of a package asset in the target (rewritten, merged for lookup tables).
pub fn final_value(
    inputs: &Inputs<'_>,
    rw: &Rewriter<'_>,
    opts: &PlanOptions,
    i: usize,
    existing: Option<usize>,
) -> Result<Final> {
    let path = &inputs.pkg.assets[i].path;
    let pkg_bytes = read_pkg_bytes(inputs.source, path)?;
    let mut v = crate::json::parse(path, &pkg_bytes)?;
    let (current, style) = match existing {
        Some(t) => {
            let tp = &inputs.target.assets[t].path;
            let bytes = fsutil::read(&inputs.env.root.join(tp))?;
            (
                Some(crate::json::parse(tp, &bytes)?),
                crate::json::Style::detect(&bytes),
            )
        }
        None => (None, crate::json::Style::detect(&pkg_bytes)),
    };
    let content_changed = current.as_ref() != Some(&v);
    let log = rw.rewrite(i, &mut v);
    if inputs.pkg.assets[i].asset_type == AssetType::LookupTable {
        let carried = v.get("data").is_some();
        let keep_target_data = !(carried && opts.overwrite_lookup_data);
        if let Some(tv) = current.as_ref().filter(|_| keep_target_data) {
            if let (Some(obj), Some(data)) = (v.as_object_mut(), tv.get("data")) {
                obj.insert("data".into(), data.clone());
            }
        } else if !carried && let Some(obj) = v.as_object_mut() {
            obj.insert("data".into(), Value::from(""));
        }
    }
    Ok(Final {
        value: v,
        log,
        style,
        current,
        content_changed,
    })
}

/// Why an asset is updated, in words: its content changed, and what the rewrite for the
/// target changed (provider names, references).
fn update_reasons(f: &Final) -> Vec<String> {
    let mut reasons = Vec::new();
    if f.content_changed {
        reasons.push("content changed".to_string());
    }
    for (from, to) in &f.log.providers {
        reasons.push(format!("provider renamed from `{from}` to `{to}`"));
    }
    for (from, to) in &f.log.references {
        reasons.push(format!("reference `{from}` rewritten to `{to}`"));
    }
    if reasons.is_empty() {
        reasons.push("content changed".to_string());
    }
    reasons
}

/// One `invalid-asset` blocker per field of a package asset that is not what its type needs.
fn invalid_asset_blockers(pkg: &Workspace) -> Vec<Blocker> {
    pkg.assets
        .iter()
        .flat_map(|a| {
            a.summary.invalid.iter().map(|f| Blocker {
                kind: crate::diag::Code::InvalidAsset,
                path: a.path.clone(),
                message: format!(
                    "package entry `{}`: {}; fix it in the source environment and export again (`--force` does not import malformed assets)",
                    a.path,
                    f.describe(&a.asset_type)
                ),
            })
        })
        .collect()
}

fn set_diff(a: &[String], b: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = a.iter().collect();
    b.iter().filter(|x| !set.contains(x)).cloned().collect()
}

/// Plans importing `inputs.pkg` into `inputs.env`.
pub fn plan(inputs: &Inputs<'_>, opts: &PlanOptions) -> Result<Plan> {
    let pkg = inputs.pkg;
    let target = inputs.target;
    let env = inputs.env;
    let state = env.state.as_ref();
    let mut blockers: Vec<Blocker> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    // Malformed assets in the package: never imported, whatever the flags (not `--force`).
    blockers.extend(invalid_asset_blockers(pkg));
    if state.is_none() {
        warnings.push(format!(
            "`{}` is not initialised: connectors read as their one released version, no conflict can be detected, and `import` needs `rlcm init` first",
            env.root.display()
        ));
    }

    // 1. Where each package asset lands.
    let (target_paths, existing) = locate(pkg, target, &opts.folder)?;

    // 2. Connectors and provider names.
    let mut connector_plans = Vec::new();
    let mut providers: BTreeMap<String, String> = BTreeMap::new();
    let env_id = state.map_or(0, |s| s.info.id);
    for (i, a) in pkg
        .assets
        .iter()
        .enumerate()
        .filter(|(_, a)| a.asset_type == AssetType::CustomAdapter)
    {
        let files = a.connector.clone().unwrap_or_default();
        let pkg_code = files.code_path.clone().unwrap_or_else(|| code_path_of(&a.path));
        let code = match inputs.source.find(&pkg_code) {
            Some(e) => inputs.source.read(e)?,
            None => {
                return Err(Error::BadEntry {
                    package: inputs.source.display(),
                    entry: pkg_code,
                    reason: format!("connector `{}` has no code in the package", a.name),
                });
            }
        };
        let def = ruby::parse_connector(&code);
        let code_blake3 = blake3::hash(&code).to_hex().to_string();
        let hit = existing[i];
        let history = state.and_then(|s| s.connectors.get(&a.name)).cloned();
        let (action, from_version, to_version, provider, old_def) = match hit {
            None => {
                let provider = opts
                    .minted_providers
                    .get(&a.name)
                    .cloned()
                    .unwrap_or_else(|| env::mint_provider(&a.name, env_id));
                // A connector an earlier rolled-back import created keeps its numbers.
                let next = history.as_ref().map_or(1, |h| h.max_version() + 1);
                (
                    Action::Create,
                    None,
                    next,
                    provider,
                    ConnectorDefinition::default(),
                )
            }
            Some(t) => {
                let tfiles = target.assets[t].connector.clone().unwrap_or_default();
                let (released_hash, released, max, provider, old_def) = match &history {
                    Some(h) => {
                        let rec = h.released_record();
                        (
                            rec.map(|r| r.code_blake3.clone()),
                            h.released,
                            h.max_version(),
                            h.provider.clone(),
                            rec.map(|r| r.definition()).unwrap_or_default(),
                        )
                    }
                    None => {
                        let v = target.assets[t].summary.version_no.unwrap_or(1);
                        let provider = target
                            .providers
                            .iter()
                            .find(|(_, c)| **c == t)
                            .map(|(p, _)| p.to_string())
                            .unwrap_or_else(|| env::mint_provider(&a.name, env_id));
                        (
                            tfiles.code_hash.clone(),
                            Some(v),
                            v,
                            provider,
                            tfiles.definition.clone(),
                        )
                    }
                };
                if released_hash.as_deref() == Some(code_blake3.as_str()) {
                    (
                        Action::NoChange,
                        released,
                        released.unwrap_or(max),
                        provider,
                        old_def,
                    )
                } else {
                    // Uncommitted edits in the tree would be overwritten by the new latest.
                    if let (Some(h), Some(tree_hash)) = (&history, &tfiles.code_hash)
                        && h.latest().is_some_and(|l| &l.code_blake3 != tree_hash)
                        && !opts.force
                    {
                        blockers.push(Blocker {
                            kind: crate::diag::Code::UncommittedConnector,
                            path: code_path_of(&target.assets[t].path),
                            message: format!(
                                "connector `{}` has uncommitted edits in `{}` that the new version would replace; commit them (`rlcm connector commit`) or pass `--force` (they are then saved as a version first)",
                                a.name,
                                code_path_of(&target.assets[t].path)
                            ),
                        });
                    }
                    (Action::NewVersion, released, max + 1, provider, old_def)
                }
            }
        };
        for (p, c) in &pkg.providers {
            if *c == i {
                // A provider name the target already knows as this connector's stays as it
                // is (one connector can be used under two provider names).
                let known = hit.is_some_and(|t| target.providers.get(p) == Some(&t));
                let to = if known { p.to_string() } else { provider.clone() };
                providers.insert(p.to_string(), to);
            }
        }
        connector_plans.push(ConnectorPlan {
            pkg: i,
            title: a.name.clone(),
            target_path: target_paths[i].clone(),
            target_logo: files.logo_path.as_ref().map(|l| {
                let name = asset::file_name(l);
                let ext = name.rsplit('.').next().unwrap_or("png");
                format!(
                    "{}.{ext}",
                    target_paths[i].strip_suffix(".json").unwrap_or(&target_paths[i])
                )
            }),
            pkg_logo: files.logo_path.clone(),
            pkg_code,
            action,
            from_version,
            to_version,
            note: a.summary.note.clone(),
            definition: def,
            previous: old_def,
            code_blake3,
            provider,
            history,
        });
    }

    // 3. Every other asset: rewrite, compare, decide — in parallel, one package read each.
    let rw = Rewriter::new(pkg, target, &target_paths, &providers, &opts.folder);
    let connector_actions: HashMap<usize, Action> =
        connector_plans.iter().map(|c| (c.pkg, c.action)).collect();
    let decisions: Vec<Result<Decision>> = (0..pkg.assets.len())
        .into_par_iter()
        .map(|i| {
            decide(
                inputs,
                &rw,
                opts,
                &connector_actions,
                &target_paths,
                existing[i],
                i,
            )
        })
        .collect();
    let mut items = Vec::with_capacity(pkg.assets.len());
    let mut actions = Vec::with_capacity(pkg.assets.len());
    let mut additions: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    let mut incoming_uses: HashMap<String, Vec<(StepKind, String)>> = HashMap::new();
    let mut text_diffs = BTreeMap::new();
    for (i, d) in decisions.into_iter().enumerate() {
        let d = d?;
        let a = &pkg.assets[i];
        let tpath = target_paths[i].clone();
        blockers.extend(d.blockers);
        warnings.extend(d.warnings);
        if !d.new_properties.is_empty() {
            additions
                .entry(tpath.clone())
                .or_default()
                .extend(d.new_properties);
        }
        if let Some(u) = d.uses {
            incoming_uses.insert(tpath.clone(), u);
        }
        if let Some(t) = d.text_diff {
            text_diffs.insert(tpath.clone(), t);
        }
        actions.push(PlanAction {
            path: tpath.clone(),
            asset_type: a.asset_type.as_str().to_string(),
            name: a.name.clone(),
            action: d.action,
            from: (a.path != tpath).then(|| a.path.clone()),
            detail: d.detail,
            reasons: d.reasons,
            changes: d.changes,
        });
        items.push(Item {
            pkg: i,
            target: tpath,
            action: d.action,
            existing: existing[i],
        });
    }

    warnings.extend(missing_properties(inputs, &items));

    // 4. Impact on production.
    let impact = impact(inputs, &items, &connector_plans, &incoming_uses);
    for e in impact.iter().filter(|e| e.severity == "breaking") {
        if !opts.force {
            blockers.push(Blocker {
                kind: crate::diag::Code::BreakingChange,
                path: e.recipe.clone(),
                message: format!(
                    "`{}`{} uses {} which the incoming connector version no longer defines; change the recipe, keep the action in the connector, or pass `--force`",
                    e.recipe,
                    if e.running { " (running)" } else { "" },
                    e.missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }
    if state.is_none() && items.iter().any(|i| i.action.writes()) {
        blockers.push(Blocker {
            kind: crate::diag::Code::NotInitialised,
            path: ".".into(),
            message: format!(
                "`{}` is not an rlcm environment; run `rlcm init {}` before importing",
                env.root.display(),
                env.root.display()
            ),
        });
    }

    let mut counts = BTreeMap::new();
    for a in &actions {
        *counts.entry(a.action.as_str().to_string()).or_insert(0) += 1;
    }
    let report_connectors = connector_plans
        .iter()
        .map(|c| {
            let old = &c.previous;
            PlanConnector {
                title: c.title.clone(),
                action: c.action,
                from_version: c.from_version,
                to_version: Some(c.to_version),
                released: c.action != Action::NoChange || c.from_version == Some(c.to_version),
                note: c.note.clone(),
                package_provider: pkg
                    .providers
                    .iter()
                    .find(|(_, x)| **x == c.pkg)
                    .map(|(p, _)| p.to_string()),
                target_provider: c.provider.clone(),
                actions_added: set_diff(&old.actions, &c.definition.actions),
                actions_removed: if c.action == Action::Create {
                    Vec::new()
                } else {
                    set_diff(&c.definition.actions, &old.actions)
                },
                triggers_added: set_diff(&old.triggers, &c.definition.triggers),
                triggers_removed: if c.action == Action::Create {
                    Vec::new()
                } else {
                    set_diff(&c.definition.triggers, &old.triggers)
                },
            }
        })
        .collect();
    for c in connector_plans.iter().filter(|c| c.action != Action::NoChange) {
        let Some(err) = &c.definition.parse_error else {
            continue;
        };
        // The import releases the incoming version: the same rule as `connector release`.
        if opts.force {
            warnings.push(format!(
                "connector `{}`: the incoming code does not parse ({err})",
                c.title
            ));
        } else {
            blockers.push(Blocker {
                kind: crate::diag::Code::ConnectorParseError,
                path: c.pkg_code.clone(),
                message: format!(
                    "connector `{}`: the incoming code `{}` does not parse as Ruby ({err}), and the import would release it; fix it in the sandbox, or pass `--force`",
                    c.title, c.pkg_code
                ),
            });
        }
    }
    let report = PlanReport {
        format_version: FORMAT_VERSION,
        package: inputs.source.display(),
        package_digest: inputs.package_digest.clone(),
        target: env.root.display().to_string(),
        target_digest: target_digest(env, target)?,
        options: PlanOptionsReport {
            folder: opts.folder.clone(),
            restart_recipes: opts.restart_recipes,
            force: opts.force,
            overwrite_lookup_data: opts.overwrite_lookup_data,
        },
        actions,
        connectors: report_connectors,
        impact,
        blocked: !blockers.is_empty(),
        blockers,
        counts,
        warnings,
        import_id: None,
        applied: false,
    };
    Ok(Plan {
        report,
        items,
        connectors: connector_plans,
        providers,
        target_paths,
        additions,
        text_diffs,
    })
}

/// The root account properties file every package's properties merge into.
const PROPERTIES_PATH: &str = crate::workspace::ACCOUNT_PROPERTIES_FILE;
/// The root tags file every package's tags merge into (tags are the workspace's).
const TAGS_PATH: &str = crate::workspace::TAGS_FILE;

/// The identity of an asset other than a connector, connection or properties file: folder,
/// type, name, and for an API endpoint the collection it belongs to (two collections may hold
/// endpoints of the same name in one folder).
fn identity(a: &crate::workspace::Asset, folder: &str) -> (String, String, String, String) {
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
fn locate(
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
            return Err(Error::Invalid(format!(
                "package assets `{}` and `{}` would both land at `{p}` in the target (they match the same target asset); give the import a `--folder`, or remove one of them from the package",
                pkg.assets[j].path, pkg.assets[i].path
            )));
        }
    }
    Ok((target_paths, existing))
}

/// What a merged file of the package adds to the target's copy (`target` is `None` when the
/// target has none): account properties' keys (spaces and underscores alike), project
/// properties' `data` keys, tags by title. What the target has is never replaced.
pub fn merge_additions(asset_type: &AssetType, pkg: &Value, target: Option<&Value>) -> Vec<(String, Value)> {
    let entries = |v: &Value| -> Vec<(String, Value)> {
        match asset_type {
            AssetType::Tags => v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| Some((e.get("title")?.as_str()?.to_string(), e.clone())))
                .collect(),
            AssetType::ProjectProperties => v
                .get("data")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => v
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    };
    let key = |k: &str| match asset_type {
        AssetType::Properties => asset::property_key(k),
        _ => k.to_string(),
    };
    let mut have: BTreeSet<String> = target
        .map(|t| entries(t).into_iter().map(|(k, _)| key(&k)).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (k, v) in entries(pkg) {
        if have.insert(key(&k)) {
            out.push((k, v));
        }
    }
    out
}

/// Applies what [`merge_additions`] found to the target's copy of a merged file (or to an
/// empty one).
pub fn apply_additions(asset_type: &AssetType, base: Option<Value>, additions: &[(String, Value)]) -> Value {
    match asset_type {
        AssetType::Tags => {
            let mut base = base.filter(Value::is_array).unwrap_or(Value::Array(Vec::new()));
            if let Value::Array(entries) = &mut base {
                entries.extend(additions.iter().map(|(_, e)| e.clone()));
            }
            base
        }
        AssetType::ProjectProperties => {
            let mut base = base
                .filter(Value::is_object)
                .unwrap_or(serde_json::json!({"data": {}}));
            if let Some(o) = base.as_object_mut() {
                let data = o
                    .entry("data")
                    .or_insert_with(|| Value::Object(Default::default()));
                if !data.is_object() {
                    *data = Value::Object(Default::default());
                }
                if let Some(d) = data.as_object_mut() {
                    for (k, v) in additions {
                        d.insert(k.clone(), v.clone());
                    }
                }
            }
            base
        }
        _ => {
            let mut base = base
                .filter(Value::is_object)
                .unwrap_or(Value::Object(Default::default()));
            if let Some(o) = base.as_object_mut() {
                for (k, v) in additions {
                    o.insert(k.clone(), v.clone());
                }
            }
            base
        }
    }
}

/// Before and after views of what a merge adds, for the semantic diff.
fn added_views(asset_type: &AssetType, additions: &[(String, Value)]) -> (Value, Value) {
    let empty = match asset_type {
        AssetType::Tags => Value::Array(Vec::new()),
        _ => Value::Object(Default::default()),
    };
    let after = apply_additions(asset_type, Some(empty.clone()), additions);
    (empty, after)
}

/// Properties that package assets the import writes use, and that neither the package nor
/// the target will define after the import: warnings (Workato reads such a property as empty
/// until someone adds it), each naming the asset, the key and the file to add it to.
fn missing_properties(inputs: &Inputs<'_>, items: &[Item]) -> Vec<String> {
    let (pkg, target) = (inputs.pkg, inputs.target);
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i.action.writes()) {
        for r in pkg.references_from(item.pkg) {
            let (crate::workspace::Target::Dangling(_), Some(name)) = (&r.to, &r.property) else {
                continue;
            };
            let (file, project) = match r.kind.as_str() {
                "account_property" => (target.index_of(PROPERTIES_PATH), false),
                "project_property" => (
                    crate::workspace::nearest_with(
                        &item.target,
                        crate::workspace::PROJECT_PROPERTIES_FILE,
                        |p| target.index_of(p),
                    ),
                    true,
                ),
                _ => continue,
            };
            let defined = file.is_some_and(|f| {
                target.assets[f].summary.keys.iter().any(|k| {
                    if project {
                        k == name.as_str()
                    } else {
                        asset::property_key(k) == asset::property_key(name)
                    }
                })
            });
            if defined {
                continue;
            }
            let noun = if project {
                "project property"
            } else {
                "account property"
            };
            let where_ = match file {
                Some(f) => format!("`{}`", target.assets[f].path),
                None if project => format!(
                    "a `{}` in its project folder",
                    crate::workspace::PROJECT_PROPERTIES_FILE
                ),
                None => format!("`{PROPERTIES_PATH}`"),
            };
            out.push(format!(
                "`{}` uses {noun} `{name}`, which neither the package nor the target defines; Workato reads it as empty until `{name}` is added to {where_}",
                item.target
            ));
        }
    }
    out
}

/// What the plan decides for one package asset.
struct Decision {
    action: Action,
    detail: Option<String>,
    reasons: Vec<String>,
    warnings: Vec<String>,
    blockers: Vec<Blocker>,
    new_properties: Vec<(String, Value)>,
    uses: Option<Vec<(StepKind, String)>>,
    /// What changes inside the asset, for an update.
    changes: Option<Vec<crate::semdiff::Change>>,
    text_diff: Option<String>,
}

/// The provider renames that concern asset `i`.
fn provider_renames<'p>(
    a: &crate::workspace::Asset,
    providers: &'p BTreeMap<String, String>,
) -> Vec<(&'p str, &'p str)> {
    let mut own: Vec<&str> = a
        .summary
        .bindings
        .iter()
        .map(|b| b.provider.as_str())
        .chain(a.summary.uses.iter().map(|u| u.provider.as_str()))
        .collect();
    own.sort_unstable();
    own.dedup();
    own.into_iter()
        .filter_map(|p| providers.get_key_value(p))
        .filter(|(p, t)| p != t)
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect()
}

/// Replaces every occurrence of `from` with `to` in `bytes`.
pub fn replace_bytes(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut last = 0;
    for pos in memchr::memmem::find_iter(bytes, from) {
        out.extend_from_slice(&bytes[last..pos]);
        out.extend_from_slice(to);
        last = pos + from.len();
    }
    out.extend_from_slice(&bytes[last..]);
    out
}

fn decide(
    inputs: &Inputs<'_>,
    rw: &Rewriter<'_>,
    opts: &PlanOptions,
    connector_actions: &HashMap<usize, Action>,
    target_paths: &[String],
    hit: Option<usize>,
    i: usize,
) -> Result<Decision> {
    let (pkg, target, env) = (inputs.pkg, inputs.target, inputs.env);
    let a = &pkg.assets[i];
    let tpath = &target_paths[i];
    let mut d = Decision {
        action: Action::NoChange,
        detail: None,
        reasons: Vec::new(),
        warnings: Vec::new(),
        blockers: Vec::new(),
        new_properties: Vec::new(),
        uses: None,
        changes: None,
        text_diff: None,
    };
    d.action = match a.asset_type {
        AssetType::CustomAdapter => connector_actions.get(&i).copied().unwrap_or(Action::NoChange),
        AssetType::Connection => match hit {
            Some(_) => Action::Keep,
            None => Action::Create,
        },
        AssetType::Properties | AssetType::ProjectProperties | AssetType::Tags => {
            let pv = read_pkg_value(inputs.source, pkg, i)?;
            let tv = match hit {
                Some(t) => Some(crate::json::parse(
                    tpath,
                    &fsutil::read(&env.root.join(&target.assets[t].path))?,
                )?),
                None => None,
            };
            d.new_properties = merge_additions(&a.asset_type, &pv, tv.as_ref());
            match (hit, d.new_properties.is_empty()) {
                (None, _) => Action::Create,
                (Some(_), true) => Action::NoChange,
                (Some(_), false) => {
                    let (before, after) = added_views(&a.asset_type, &d.new_properties);
                    d.changes = Some(crate::semdiff::diff_json(&before, &after));
                    let noun = if a.asset_type == AssetType::Tags {
                        "tag"
                    } else {
                        "key"
                    };
                    let added = format!(
                        "adds {noun}{} {}",
                        if d.new_properties.len() == 1 { "" } else { "s" },
                        d.new_properties
                            .iter()
                            .map(|(k, _)| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    d.reasons = vec![added.clone()];
                    d.detail = Some(added);
                    Action::Update
                }
            }
        }
        _ => {
            if a.asset_type == AssetType::Recipe {
                d.uses = Some(
                    a.summary
                        .uses
                        .iter()
                        .filter(|u| pkg.providers.contains_key(&u.provider))
                        .map(|u| {
                            (
                                u.kind,
                                format!("{}\u{0}{}", rw.providers[u.provider.as_str()], u.name),
                            )
                        })
                        .collect(),
                );
            }
            // Fast path: the package's bytes equal the target's up to provider ids, every
            // provider of the package asset is renamed by this import, and the target asset
            // uses exactly the names they are renamed to.
            let same = match hit {
                Some(t) if a.asset_type != AssetType::LookupTable && rw.references_stay(i) => {
                    let ta = &target.assets[t];
                    if a.hash == ta.hash && provider_renames(a, rw.providers).is_empty() {
                        true
                    } else {
                        let mine = crate::workspace::own_providers(&a.summary);
                        let theirs = crate::workspace::own_providers(&ta.summary);
                        a.canonical == ta.canonical
                            && mine.iter().all(|p| rw.providers.contains_key(*p))
                            && theirs.iter().all(|p| rw.target_providers.contains(p))
                            && mine.len() == theirs.len()
                    }
                }
                _ => false,
            };
            if same {
                Action::NoChange
            } else {
                let f = final_value(inputs, rw, opts, i, hit)?;
                let action = match (hit, &f.current) {
                    (Some(t), Some(current)) => {
                        let tp = &target.assets[t].path;
                        if *current == f.value {
                            Action::NoChange
                        } else {
                            d.reasons = update_reasons(&f);
                            d.changes = Some(crate::semdiff::diff_asset(&a.asset_type, current, &f.value));
                            if opts.text_diff {
                                d.text_diff = Some(crate::semdiff::text_diff(tpath, current, &f.value));
                            }
                            let changed_in_target =
                                env.state.as_ref().map(|s| &s.baseline).is_some_and(|b| {
                                    b.assets.get(tp).map(String::as_str)
                                        != Some(env::asset_content_hash(&target.assets[t]).as_str())
                                });
                            if changed_in_target {
                                d.detail = Some("changed in the target since the last import".into());
                                Action::Conflict
                            } else if a.asset_type == AssetType::Recipe && env.is_running(tp) {
                                Action::UpdateRunning
                            } else {
                                Action::Update
                            }
                        }
                    }
                    _ => Action::Create,
                };
                unresolved_references(inputs, opts, &mut d, hit, action, &f.log.unresolved, i, tpath);
                action
            }
        }
    };
    match d.action {
        Action::Conflict if !opts.force => d.blockers.push(Blocker {
            kind: crate::diag::Code::Conflict,
            path: tpath.clone(),
            message: format!(
                "`{tpath}` was changed in the target since the last import, and the package changes it too; merge by hand, or pass `--force` to overwrite (rollback keeps the old bytes)"
            ),
        }),
        Action::UpdateRunning if !opts.restart_recipes => d.blockers.push(Blocker {
            kind: crate::diag::Code::RunningRecipe,
            path: tpath.clone(),
            message: format!("`{tpath}` is running; pass `--restart-recipes` to stop it, update it and start it again"),
        }),
        _ => {}
    }
    Ok(d)
}

/// Turns the references of package asset `i` that resolve nowhere into blockers, or into
/// warnings where the import does not make them worse: the asset is left unchanged, or the
/// target's copy already dangles the same way. `--force` imports the rest too, with a warning.
#[allow(clippy::too_many_arguments)]
fn unresolved_references(
    inputs: &Inputs<'_>,
    opts: &PlanOptions,
    d: &mut Decision,
    hit: Option<usize>,
    action: Action,
    unresolved: &[String],
    i: usize,
    tpath: &str,
) {
    let a = &inputs.pkg.assets[i];
    let dangles_in_target = |u: &str| {
        hit.is_some_and(|t| {
            inputs
                .target
                .references_from(t)
                .iter()
                .any(|r| matches!(&r.to, crate::workspace::Target::Dangling(z) if z == u))
        })
    };
    for u in unresolved {
        if action == Action::NoChange || dangles_in_target(u) {
            d.warnings.push(format!(
                "`{}` references `{u}`, which is in neither the package nor the target (it dangles there already; the import does not change that)",
                a.path
            ));
        } else if opts.force {
            d.warnings.push(format!(
                "`{}` references `{u}`, which is in neither the package nor the target; imported anyway (`--force`): the reference dangles",
                a.path
            ));
        } else {
            d.blockers.push(Blocker {
                kind: crate::diag::Code::UnresolvedReference,
                path: tpath.to_string(),
                message: format!(
                    "`{}` references `{u}`, which is neither in the package nor in the target; add it to the export (dependencies), create it in the target first, or pass `--force` to import with the reference dangling",
                    a.path
                ),
            });
        }
    }
}

/// Production recipes affected by the import, with severity.
fn impact(
    inputs: &Inputs<'_>,
    items: &[Item],
    connectors: &[ConnectorPlan],
    incoming_uses: &HashMap<String, Vec<(StepKind, String)>>,
) -> Vec<ImpactEntry> {
    let target = inputs.target;
    let env = inputs.env;
    let graph = DepGraph::build(target);
    let overwritten: HashMap<&str, Action> = items
        .iter()
        .filter(|i| i.existing.is_some())
        .map(|i| (i.target.as_str(), i.action))
        .collect();
    let in_package: BTreeSet<&str> = items.iter().map(|i| i.target.as_str()).collect();
    // What changes in the target.
    let changed: Vec<usize> = items
        .iter()
        .filter(|i| {
            matches!(
                i.action,
                Action::Update | Action::UpdateRunning | Action::Conflict | Action::NewVersion
            )
        })
        .filter(|i| {
            !matches!(
                inputs.pkg.assets[i.pkg].asset_type,
                AssetType::Properties | AssetType::ProjectProperties | AssetType::Tags
            )
        })
        .filter_map(|i| i.existing)
        .collect();
    // Incoming connector definitions, by target provider name.
    let incoming: HashMap<&str, &ConnectorPlan> = connectors
        .iter()
        .filter(|c| c.action != Action::NoChange)
        .map(|c| (c.provider.as_str(), c))
        .collect();
    let missing_for = |uses: &[(StepKind, String)]| -> Vec<String> {
        let mut out = Vec::new();
        for (kind, key) in uses {
            let Some((provider, name)) = key.split_once('\u{0}') else {
                continue;
            };
            let Some(c) = incoming.get(provider) else { continue };
            let present = c.definition.defines(*kind, name);
            if !present {
                let label = format!(
                    "{}:{name}",
                    if *kind == StepKind::Action {
                        "action"
                    } else {
                        "trigger"
                    }
                );
                if !out.contains(&label) {
                    out.push(label);
                }
            }
        }
        out
    };
    let provider_by_path: HashMap<&str, &str> = connectors
        .iter()
        .map(|cp| (cp.target_path.as_str(), cp.provider.as_str()))
        .collect();
    let current_uses = |r: usize| -> Vec<(StepKind, String)> {
        target.assets[r]
            .summary
            .uses
            .iter()
            .filter_map(|u| {
                let c = target.providers.get(&u.provider)?;
                let provider = provider_by_path.get(target.assets[*c].path.as_str())?;
                Some((u.kind, format!("{provider}\u{0}{}", u.name)))
            })
            .collect()
    };
    let mut entries: BTreeMap<String, ImpactEntry> = BTreeMap::new();
    let mut add = |recipe: usize, via: Vec<String>| {
        let path = target.assets[recipe].path.clone();
        if entries.contains_key(&path) {
            return;
        }
        let running = env.is_running(&path);
        let action = overwritten.get(path.as_str()).copied();
        let uses = match (action, incoming_uses.get(&path)) {
            (Some(a), Some(u)) if a.writes() => u.clone(),
            _ => current_uses(recipe),
        };
        let missing = missing_for(&uses);
        let updated = matches!(
            action,
            Some(Action::Update | Action::UpdateRunning | Action::Conflict)
        );
        // A running recipe the package updates is stopped, updated and started again.
        let severity = if !missing.is_empty() {
            ImpactSeverity::Breaking
        } else if running && updated {
            ImpactSeverity::Restart
        } else {
            ImpactSeverity::Affected
        };
        entries.insert(
            path.clone(),
            ImpactEntry {
                in_package: in_package.contains(path.as_str()),
                recipe: path,
                running,
                severity,
                via,
                missing,
            },
        );
    };
    // Updated recipes themselves.
    for &t in &changed {
        if target.assets[t].asset_type == AssetType::Recipe {
            add(t, vec![target.assets[t].path.clone()]);
        }
    }
    for d in graph.dependents(&changed) {
        if target.assets[d.asset].asset_type == AssetType::Recipe {
            add(
                d.asset,
                d.via.iter().map(|&i| target.assets[i].path.clone()).collect(),
            );
        }
    }
    let mut out: Vec<ImpactEntry> = entries.into_values().collect();
    // New recipes from the package that would not run on the incoming connector.
    for item in items
        .iter()
        .filter(|i| i.existing.is_none() && inputs.pkg.assets[i.pkg].asset_type == AssetType::Recipe)
    {
        let missing = incoming_uses
            .get(&item.target)
            .map(|u| missing_for(u))
            .unwrap_or_default();
        if !missing.is_empty() {
            out.push(ImpactEntry {
                recipe: item.target.clone(),
                running: false,
                in_package: true,
                severity: ImpactSeverity::Breaking,
                via: vec![item.target.clone()],
                missing,
            });
        }
    }
    out.sort_by(|a, b| (a.severity, &a.recipe).cmp(&(b.severity, &b.recipe)));
    out
}
