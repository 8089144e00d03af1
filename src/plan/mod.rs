//! The import plan and its impact report: a pure function of (package, target environment,
//! options). Nothing is written here; [`crate::apply`] applies a plan.
//!
//! Matching (SPEC §5): custom connectors by title anywhere in the target; connections by name;
//! account properties into the root `account_properties.properties.json`; everything else by
//! folder + type + name (then by path). `--folder T` places the package's root at `T/`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde_json::Value;

use crate::asset::{self, AssetType, StepKind};
use crate::connector::code_path_of;
use crate::env::{self, ConnectorState, Environment};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::graph::DepGraph;
use crate::report::*;
use crate::ruby::{self, ConnectorDefinition};
use crate::source::Source;
use crate::workspace::Workspace;

mod connectors;
mod decide;
mod impact;
mod locate;
mod partial;
mod rewrite;

pub(crate) use decide::apply_additions;
use decide::*;
use impact::*;
use locate::*;
pub(crate) use partial::plan_from_index;
pub(crate) use rewrite::*;

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
    /// Its assets: all of them, or, with [`Inputs::index`], the part the plan reads.
    pub target: &'a Workspace,
    /// The target's production index, when `target` is only a part of it (the impact phase
    /// then follows reverse edges in the index, and the target digest is the index's).
    pub(crate) index: Option<&'a crate::index::Index>,
}

impl Inputs<'_> {
    /// The production index, when it holds the baseline as `baseline.json` is now.
    fn index_baseline(&self) -> Result<Option<&crate::index::Index>> {
        match (self.index, &self.env.state) {
            (Some(idx), Some(s)) if idx.has_baseline(&s.baseline_file_hash()?) => Ok(Some(idx)),
            _ => Ok(None),
        }
    }

    /// True when the target asset at `path`, whose content hash is `hash` now, changed since
    /// the last import (its hash is not the baseline's); false without a state. The baseline's
    /// hash comes from the index when it holds the baseline as the file is now
    /// ([`crate::index::Index::baseline_hash`] says), else from `baseline.json`.
    pub(crate) fn changed_in_target(&self, path: &str, hash: &str) -> Result<bool> {
        let Some(state) = &self.env.state else {
            return Ok(false);
        };
        if let Some(idx) = self.index
            && let Some(recorded) = idx
                .baseline_hash(&state.baseline_file_hash()?, path)
                .map_err(index_error)?
        {
            return Ok(recorded.as_deref() != Some(hash));
        }
        Ok(state.baseline()?.assets.get(path).map(String::as_str) != Some(hash))
    }
}

/// Digest of a target's assets and rlcm state: a saved plan is stale when it changes.
pub fn target_digest(env: &Environment, ws: &Workspace) -> Result<String> {
    target_digest_of(env, &env::assets_digest(ws))
}

/// [`target_digest`] from the digest of the target's assets ([`env::assets_digest`]).
pub(crate) fn target_digest_of(env: &Environment, assets: &[u8; 32]) -> Result<String> {
    let mut h = blake3::Hasher::new();
    h.update(assets);
    if let Some(state) = &env.state {
        h.update(&crate::json::to_pretty_vec(&state.recipes));
        h.update(state.baseline_file_hash()?.as_bytes());
        for c in state.connectors.values() {
            h.update(&crate::json::to_pretty_vec(c));
        }
    }
    Ok(h.finalize().to_hex().to_string())
}

/// An index that could not be read to the end, mid-plan (the caller plans from the whole tree
/// instead).
pub(crate) fn index_error(why: crate::index::Unusable) -> Error {
    Error::internal(format!("the production index could not be read: {}", why.0))
        .hint("run the command again with RLCM_INDEX=off")
}

/// Reads and parses a package asset.
pub(crate) fn read_pkg_value(source: &Source, pkg: &Workspace, i: usize) -> Result<Value> {
    let path = &pkg.assets[i].path;
    let entry = source.find(path).ok_or_else(|| Error::BadEntry {
        package: source.display(),
        entry: path.clone(),
        reason: "disappeared while planning".into(),
    })?;
    crate::json::parse(path, &source.read(entry)?)
}

/// Reads a package entry's bytes by path.
pub(crate) fn read_pkg_bytes(source: &Source, path: &str) -> Result<Vec<u8>> {
    let entry = source.find(path).ok_or_else(|| Error::BadEntry {
        package: source.display(),
        entry: path.to_string(),
        reason: "is missing".into(),
    })?;
    source.read(entry)
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
    let (connector_plans, providers) =
        connectors::plan_connectors(inputs, opts, &target_paths, &existing, &mut blockers)?;

    // 3. Every other asset: rewrite, compare, decide — in parallel, one package read each.
    // The baseline (read on first use) is read here once, not by the first decisions at once.
    if let Some(s) = state
        && inputs.index_baseline()?.is_none()
    {
        s.baseline()?;
    }
    let rw = Rewriter::new(pkg, target, &target_paths, &providers, &opts.folder);
    let Decided {
        items,
        actions,
        additions,
        incoming_uses,
        text_diffs,
    } = decide_all(
        inputs,
        opts,
        &rw,
        &connector_plans,
        &target_paths,
        &existing,
        &mut blockers,
        &mut warnings,
    )?;

    warnings.extend(missing_properties(inputs, &items));

    // 4. Impact on production.
    let impact = impact(inputs, &items, &connector_plans, &incoming_uses)?;
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
    let report_connectors = connectors::reports(pkg, &connector_plans);
    connectors::parse_error_blockers(&connector_plans, opts, &mut blockers, &mut warnings);
    let report = PlanReport {
        format_version: FORMAT_VERSION,
        package: inputs.source.display(),
        package_digest: inputs.package_digest.clone(),
        target: env.root.display().to_string(),
        target_digest: match inputs.index {
            Some(idx) => target_digest_of(env, &idx.assets_digest().map_err(index_error)?)?,
            None => target_digest(env, target)?,
        },
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

/// Phase 3's results, gathered in package order.
struct Decided {
    items: Vec<Item>,
    actions: Vec<PlanAction>,
    additions: BTreeMap<String, Vec<(String, Value)>>,
    incoming_uses: HashMap<String, Vec<(StepKind, String)>>,
    text_diffs: BTreeMap<String, String>,
}

/// Decides every package asset (in parallel, one package read each) and gathers the results
/// in package order, with their blockers and warnings.
#[allow(clippy::too_many_arguments)]
fn decide_all(
    inputs: &Inputs<'_>,
    opts: &PlanOptions,
    rw: &Rewriter<'_>,
    connector_plans: &[ConnectorPlan],
    target_paths: &[String],
    existing: &[Option<usize>],
    blockers: &mut Vec<Blocker>,
    warnings: &mut Vec<String>,
) -> Result<Decided> {
    let pkg = inputs.pkg;
    let connector_actions: HashMap<usize, Action> =
        connector_plans.iter().map(|c| (c.pkg, c.action)).collect();
    let decisions: Vec<Result<Decision>> = (0..pkg.assets.len())
        .into_par_iter()
        .map(|i| decide(inputs, rw, opts, &connector_actions, target_paths, existing[i], i))
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

    Ok(Decided {
        items,
        actions,
        additions,
        incoming_uses,
        text_diffs,
    })
}
