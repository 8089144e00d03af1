//! Staging an import: the new bytes of every file the plan writes, each with a backup of the
//! bytes it replaces, and the connector histories, in a transaction not yet committed.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde_json::Value;

use super::OpenedPackage;
use super::history::*;
use crate::asset::AssetType;
use crate::connector::code_path_of;
use crate::env::Actor;
use crate::env::txn::{self, Slot};
use crate::env::{self, ConnectorState, Environment, Origin, RunInfo, Transaction, VersionRecord};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::plan::{self, Action, Inputs, Plan, PlanOptions, Rewriter};
use crate::secrets::strip_connection;
use crate::workspace::Workspace;

/// Content hash of a connector from its files' hashes (as [`env::asset_content_hash`]).
fn connector_hash(json: &[u8], code: &[u8], logo: Option<&[u8]>) -> String {
    let mut h = blake3::Hasher::new();
    h.update(blake3::hash(json).to_hex().as_bytes());
    h.update(blake3::hash(code).to_hex().as_bytes());
    h.update(
        logo.map(|l| blake3::hash(l).to_hex().to_string())
            .unwrap_or_default()
            .as_bytes(),
    );
    h.finalize().to_hex().to_string()
}

struct Writer<'a> {
    root: &'a Path,
    txn: Transaction,
    id: u64,
    files: Vec<FileChange>,
}

/// A tree file staged (see [`stage_file`]) but not yet in the transaction.
struct Staged {
    /// The new bytes.
    new: Slot,
    /// The bytes it replaces, when the file exists.
    backup: Option<Slot>,
}

/// Stages the new bytes of the tree file `path` and a backup of the bytes they replace into
/// the reserved slots; `None` when the file holds these bytes already. Needs no `&mut`
/// [`Transaction`], so several files are staged at once; [`Writer::add`] then puts them in
/// the transaction, in order.
fn stage_file(
    root: &Path,
    id: u64,
    path: &str,
    bytes: &[u8],
    new: Slot,
    backup: Slot,
) -> Result<Option<Staged>> {
    let full = root.join(path);
    let old = fsutil::read_optional(&full)?;
    if old.as_deref() == Some(bytes) {
        return Ok(None);
    }
    let backup = match &old {
        Some(old) => {
            txn::check_path(&backup_path(id, path))?;
            backup.keep(&full, old)?;
            Some(backup)
        }
        None => None,
    };
    txn::check_path(path)?;
    new.write(bytes)?;
    Ok(Some(Staged { new, backup }))
}

impl Writer<'_> {
    /// Stages a tree file, backing up the bytes it replaces.
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        let (new, backup) = (self.txn.reserve()?, self.txn.reserve()?);
        let staged = stage_file(self.root, self.id, path, bytes, new, backup)?;
        self.add(path, staged)
    }

    /// Puts a file staged by [`stage_file`] in the transaction.
    fn add(&mut self, path: &str, staged: Option<Staged>) -> Result<()> {
        let Some(Staged { new, backup }) = staged else {
            return Ok(());
        };
        let existed = backup.is_some();
        if let Some(b) = backup {
            self.txn.add(&backup_path(self.id, path), b)?;
        }
        self.txn.add(path, new)?;
        self.files.push(FileChange {
            path: path.to_string(),
            existed,
        });
        Ok(())
    }
}

/// Package assets whose new bytes are computed and staged together, in parallel, before they
/// are added to the transaction in plan order: bounds what is in flight (the workers hold only
/// the asset each is on; what a batch keeps is its staged file names and hashes).
const APPLY_BATCH: usize = 1024;

/// Stages a plan that writes into a transaction, not yet committed; returns it with the
/// import id. What staging needed is freed on return.
pub(super) fn stage(
    env: &Environment,
    pkg: &OpenedPackage,
    opts: &PlanOptions,
    actor: &Actor,
    target: &Workspace,
    plan: &Plan,
) -> Result<(Transaction, u64)> {
    let state = env.state()?;
    let id = read_history(&env.root)?.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    let now = env::now_rfc3339();
    let mut w = Writer {
        root: &env.root,
        txn: Transaction::begin(&env.root, &format!("import {id}"))?,
        id,
        files: Vec::new(),
    };
    let mut new_state = state.clone();
    // The baseline's updates go straight into the new state (`state` keeps the old one).
    let mut new_baseline = std::mem::take(new_state.baseline_mut()?);
    let baseline_updates = &mut new_baseline.assets;
    let mut connector_changes = Vec::new();
    let rw = Rewriter::new(&pkg.ws, target, &plan.target_paths, &plan.providers, &opts.folder);
    let inputs = Inputs {
        source: &pkg.source,
        pkg: &pkg.ws,
        package_digest: pkg.digest.clone(),
        env,
        target,
        index: None,
    };

    // Connectors.
    for c in &plan.connectors {
        if let Some(change) = stage_connector(
            env,
            pkg,
            target,
            &mut w,
            c,
            &mut new_state.connectors,
            baseline_updates,
            &now,
            actor,
        )? {
            connector_changes.push(change);
        }
    }

    // Everything else: a batch at a time, the new bytes of each written asset are computed
    // and staged in parallel, then added to the transaction in plan order.
    let running_before = stage_assets(
        &inputs,
        &rw,
        opts,
        plan,
        &mut w,
        &mut new_state.recipes.running,
        baseline_updates,
        &now,
        actor,
    )?;

    // Baseline, history record.
    w.txn.write(&baseline_backup_path(id), &state.baseline_bytes()?)?;
    new_baseline.import = Some(id);
    new_baseline.at = Some(now.clone());
    new_state.set_baseline(new_baseline);
    let record = ImportRecord {
        format_version: 1,
        id,
        at: now,
        user: actor.user.clone(),
        package: pkg.source.display(),
        package_digest: pkg.digest.clone(),
        counts: plan.report.counts.clone(),
        files: std::mem::take(&mut w.files),
        connectors: connector_changes,
        running_before,
        rolled_back_at: None,
        rolled_back_by: None,
    };
    w.txn
        .write(&record_path(id), &crate::json::to_pretty_vec(&record))?;
    env::stage_state(&env.root, &new_state, &mut w.txn)?;
    Ok((w.txn, id))
}

/// Stages every written package asset other than connectors, a batch at a time: the new bytes
/// of each are computed and staged in parallel, then added to the transaction in plan order.
/// Returns each updated recipe's running state before the import.
#[allow(clippy::too_many_arguments)]
fn stage_assets(
    inputs: &Inputs<'_>,
    rw: &Rewriter<'_>,
    opts: &PlanOptions,
    plan: &Plan,
    w: &mut Writer<'_>,
    running: &mut BTreeMap<String, RunInfo>,
    baseline_updates: &mut BTreeMap<String, String>,
    now: &str,
    actor: &Actor,
) -> Result<BTreeMap<String, Option<RunInfo>>> {
    let (pkg, target) = (inputs.pkg, inputs.target);
    let id = w.id;
    let mut running_before = BTreeMap::new();
    let progress = crate::progress::Progress::new(plan.items.len() as u64, "importing");
    let writes = |item: &plan::Item| {
        pkg.assets[item.pkg].asset_type != AssetType::CustomAdapter
            && !matches!(item.action, Action::NoChange | Action::Keep)
    };
    for batch in plan.items.chunks(APPLY_BATCH) {
        let jobs = batch
            .iter()
            .filter(|item| writes(item))
            .map(|item| Ok((item, w.txn.reserve()?, w.txn.reserve()?)))
            .collect::<Result<Vec<(&plan::Item, Slot, Slot)>>>()?;
        let root = w.root;
        let mut staged = jobs
            .into_par_iter()
            .map(|(item, new, backup)| -> Result<(String, Option<Staged>)> {
                let bytes = new_bytes(inputs, rw, opts, plan, item)?;
                let hash = blake3::hash(&bytes).to_hex().to_string();
                Ok((hash, stage_file(root, id, &item.target, &bytes, new, backup)?))
            })
            .collect::<Vec<_>>()
            .into_iter();
        for item in batch {
            progress.inc(1);
            if !writes(item) {
                if pkg.assets[item.pkg].asset_type != AssetType::CustomAdapter
                    && let Some(t) = item.existing
                {
                    baseline_updates.insert(item.target.clone(), env::asset_content_hash(&target.assets[t]));
                }
                continue;
            }
            let Some(result) = staged.next() else {
                return Err(Error::internal(format!("`{}` was not staged", item.target))
                    .hint("nothing was written, run the import again"));
            };
            let (hash, file) = result?;
            baseline_updates.insert(item.target.clone(), hash);
            w.add(&item.target, file)?;
            if pkg.assets[item.pkg].asset_type == AssetType::Recipe && item.existing.is_some() {
                let before = running.get(&item.target).cloned();
                if before.is_some() {
                    // Stopped, updated and started again.
                    running.insert(
                        item.target.clone(),
                        RunInfo {
                            since: now.to_string(),
                            by: actor.user.clone(),
                        },
                    );
                }
                running_before.insert(item.target.clone(), before);
            }
        }
    }

    Ok(running_before)
}

/// Stages package connector `c` (a new version appended and released, with its tree files);
/// `None` when the target's released version is already the package's.
#[allow(clippy::too_many_arguments)]
fn stage_connector(
    env: &Environment,
    pkg: &OpenedPackage,
    target: &Workspace,
    w: &mut Writer<'_>,
    c: &plan::ConnectorPlan,
    connectors: &mut BTreeMap<String, ConnectorState>,
    baseline_updates: &mut BTreeMap<String, String>,
    now: &str,
    actor: &Actor,
) -> Result<Option<ConnectorChange>> {
    let code = plan::read_pkg_bytes(&pkg.source, &c.pkg_code)?;
    let logo = match &c.pkg_logo {
        Some(l) => Some(plan::read_pkg_bytes(&pkg.source, l)?),
        None => None,
    };
    if c.action == Action::NoChange {
        if let Some(t) = target.index_of(&c.target_path) {
            baseline_updates.insert(c.target_path.clone(), env::asset_content_hash(&target.assets[t]));
        }
        return Ok(None);
    }
    let mut json = plan::read_pkg_value(&pkg.source, &pkg.ws, c.pkg)?;
    let mut history = connectors
        .get(&c.title)
        .cloned()
        .unwrap_or_else(|| ConnectorState::new(&c.title, &c.target_path, &c.provider));
    let mut change = ConnectorChange {
        title: c.title.clone(),
        created: c.action == Action::Create,
        appended: Vec::new(),
        released_before: history.released,
        shared_before: history.shared,
    };
    // With --force, uncommitted edits in the tree are kept as a version first.
    if let Some(v) = autosave_tree_code(env, w, c, &mut history, now, actor)? {
        change.appended.push(v);
    }
    // Version numbers are never reused: append after everything, rolled back or not.
    let version = history.max_version() + 1;
    let rec = VersionRecord::new(
        &c.title,
        version,
        c.code_blake3.clone(),
        &c.definition,
        c.note.clone(),
        Origin::Import(w.id),
        &actor.user,
        now,
    )
    .released(&actor.user, now);
    w.txn
        .write(&env::state_path(&format!("connectors/{}", rec.code)), &code)?;
    history.versions.push(rec);
    history.released = Some(version);
    change.appended.push(version);
    if let Some(o) = json.as_object_mut() {
        o.insert("version_no".into(), Value::from(version));
        o.insert("note".into(), c.note.clone().map_or(Value::Null, Value::from));
    }
    let json_bytes = crate::json::to_workato_vec(&json);
    w.write(&c.target_path, &json_bytes)?;
    w.write(&code_path_of(&c.target_path), &code)?;
    let logo_bytes = match (&c.target_logo, &logo) {
        (Some(tl), Some(l)) => {
            w.write(tl, l)?;
            Some(l.clone())
        }
        _ => target
            .get(&c.target_path)
            .and_then(|a| a.connector.as_ref())
            .and_then(|f| f.logo_path.as_ref())
            .map(|p| fsutil::read(&env.root.join(p)))
            .transpose()?,
    };
    baseline_updates.insert(
        c.target_path.clone(),
        connector_hash(&json_bytes, &code, logo_bytes.as_deref()),
    );
    connectors.insert(c.title.clone(), history);
    Ok(Some(change))
}

/// With `--force`: a connector's uncommitted tree edits, kept as a version before the
/// import's (returns its number).
fn autosave_tree_code(
    env: &Environment,
    w: &mut Writer<'_>,
    c: &plan::ConnectorPlan,
    history: &mut ConnectorState,
    now: &str,
    actor: &Actor,
) -> Result<Option<u64>> {
    let tree_code = fsutil::read_optional(&env.root.join(code_path_of(&c.target_path)))?;
    if let (Some(tc), Some(latest)) = (&tree_code, history.latest())
        && blake3::hash(tc).to_hex().to_string() != latest.code_blake3
    {
        let v = history.max_version() + 1;
        let def = crate::ruby::parse_connector(tc);
        let rec = VersionRecord::new(
            &c.title,
            v,
            blake3::hash(tc).to_hex().to_string(),
            &def,
            Some(format!("autosave before import {}", w.id)),
            Origin::Autosave,
            &actor.user,
            now,
        );
        w.txn
            .write(&env::state_path(&format!("connectors/{}", rec.code)), tc)?;
        history.versions.push(rec);
        return Ok(Some(v));
    }
    Ok(None)
}

/// The bytes a written package asset (not a connector) has in the target.
fn new_bytes(
    inputs: &Inputs<'_>,
    rw: &Rewriter<'_>,
    opts: &PlanOptions,
    plan: &Plan,
    item: &plan::Item,
) -> Result<Vec<u8>> {
    let (pkg, target, env) = (inputs.pkg, inputs.target, inputs.env);
    Ok(match pkg.assets[item.pkg].asset_type {
        AssetType::Connection => {
            let mut v = plan::read_pkg_value(inputs.source, pkg, item.pkg)?;
            let mut stripped = Vec::new();
            strip_connection(&mut v, &item.target, &mut stripped);
            crate::json::to_workato_vec(&v)
        }
        AssetType::Properties | AssetType::ProjectProperties | AssetType::Tags => {
            let t = &pkg.assets[item.pkg].asset_type;
            // The target's own file keeps its style; a new one is written in Workato's.
            let (base, style) = match item.existing {
                Some(e) => {
                    let bytes = fsutil::read(&env.root.join(&target.assets[e].path))?;
                    (
                        Some(crate::json::parse(&item.target, &bytes)?),
                        crate::json::Style::detect(&bytes),
                    )
                }
                None => (None, crate::json::Style::workato()),
            };
            let none = Vec::new();
            let additions = plan.additions.get(&item.target).unwrap_or(&none);
            let merged = plan::apply_additions(t, base, additions);
            crate::json::to_styled_vec(&merged, &style)
        }
        _ => {
            let f = plan::final_value(inputs, rw, opts, item.pkg, item.existing)?;
            crate::json::to_styled_vec(&f.value, &f.style)
        }
    })
}
