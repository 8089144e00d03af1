//! `rlcm plan`, `rlcm import`, `rlcm history`, `rlcm rollback`: applying a plan atomically,
//! recording it, and undoing it.
//!
//! An import is one [`Transaction`]: the tree files, the connector histories, the running
//! state, the baseline, and the history record with the bytes of every file it overwrote (in
//! `.rlcm/history/<id>/before/`) all change together, or none of them does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::asset::AssetType;
use crate::env::txn::{self, Slot};
use crate::env::{self, Baseline, ConnectorState, Environment, RunInfo, Transaction, VersionRecord};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::ops::connector::{Actor, code_path_of};
use crate::ops::export::strip_connection;
use crate::package;
use crate::plan::{self, Action, Inputs, Plan, PlanOptions, Rewriter};
use crate::report::*;
use crate::source::Source;
use crate::workspace::Workspace;

/// A package opened for planning: verified, loaded.
pub struct OpenedPackage {
    /// Its files.
    pub source: Source,
    /// Its assets.
    pub ws: Workspace,
    /// Its digest.
    pub digest: String,
}

/// Opens and verifies a package (zip or directory).
///
/// Each entry is read once: the load hashes what it reads, and those hashes are checked
/// against `rlcm-package.json` exactly as `rlcm verify` checks them. When the load itself
/// fails (an entry that does not decompress or parse), the package is verified the slow way
/// first, so a damaged or tampered package is reported as such rather than as bad JSON.
pub fn open_package(path: &Path) -> Result<OpenedPackage> {
    let source = Source::open(path)?;
    let (ws, files) = match Workspace::load_hashed(&source) {
        Ok(loaded) => loaded,
        Err(e) => {
            package::ensure_verified(path)?;
            return Err(e);
        }
    };
    let actual: Vec<package::verify::ActualEntry> = files
        .into_iter()
        .map(|(path, size, hash)| package::verify::ActualEntry {
            path,
            content: Ok((size, hash)),
        })
        .collect();
    // Without rlcm-package.json (a Workato export) the package's digest is that of its entries.
    let entries_digest = source.find(package::MANIFEST_NAME).is_none().then(|| {
        let mut h = blake3::Hasher::new();
        for e in &actual {
            h.update(e.path.as_bytes());
            h.update(b"\0");
            if let Ok((size, hash)) = &e.content {
                h.update(&size.to_le_bytes());
                h.update(hash.as_bytes());
            }
        }
        h.finalize().to_hex().to_string()
    });
    let report = package::verify::report_ok(package::verify::verify_source(path, &source, actual))?;
    let digest = report.digest.or(entries_digest).unwrap_or_default();
    Ok(OpenedPackage { source, ws, digest })
}

/// Plans importing an opened package into an environment.
pub fn make_plan(
    pkg: &OpenedPackage,
    env: &Environment,
    target: &Workspace,
    opts: &PlanOptions,
) -> Result<Plan> {
    plan::plan(
        &Inputs {
            source: &pkg.source,
            pkg: &pkg.ws,
            package_digest: pkg.digest.clone(),
            env,
            target,
        },
        opts,
    )
}

/// The options a saved plan was made with, and the provider names it minted.
pub fn options_of(report: &PlanReport) -> PlanOptions {
    PlanOptions {
        folder: report.options.folder.clone(),
        restart_recipes: report.options.restart_recipes,
        force: report.options.force,
        overwrite_lookup_data: report.options.overwrite_lookup_data,
        minted_providers: report
            .connectors
            .iter()
            .filter(|c| c.action == "create")
            .map(|c| (c.title.clone(), c.target_provider.clone()))
            .collect(),
        text_diff: false,
    }
}

/// `.rlcm/history/<id>.json`: one import, with what is needed to roll it back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportRecord {
    /// Always 1.
    pub format_version: u32,
    /// Import id (1, 2, ...).
    pub id: u64,
    /// When.
    pub at: String,
    /// Who.
    pub user: String,
    /// The package path as given.
    pub package: String,
    /// The package digest.
    pub package_digest: String,
    /// Actions by kind.
    pub counts: BTreeMap<String, usize>,
    /// Every tree file written or created: `before` names its backup (under
    /// `history/<id>/before/`), `null` when the import created it.
    pub files: Vec<FileChange>,
    /// Connector changes.
    pub connectors: Vec<ConnectorChange>,
    /// Running state of the recipes the import touched, before it.
    pub running_before: BTreeMap<String, Option<RunInfo>>,
    /// When it was rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_at: Option<String>,
    /// Who rolled it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_by: Option<String>,
}

/// A file an import wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileChange {
    /// Path in the environment.
    pub path: String,
    /// True when the file existed before (its bytes are in `history/<id>/before/<path>`).
    pub existed: bool,
}

/// A connector an import changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConnectorChange {
    /// Title.
    pub title: String,
    /// True when the import created the connector.
    pub created: bool,
    /// Versions the import appended (an autosave of uncommitted edits, then the package's).
    pub appended: Vec<u64>,
    /// Released version before.
    pub released_before: Option<u64>,
    /// Shared version before.
    pub shared_before: Option<u64>,
}

fn history_dir(root: &Path) -> PathBuf {
    root.join(".rlcm/history")
}

/// Reads every import record, oldest first.
pub fn read_history(root: &Path) -> Result<Vec<ImportRecord>> {
    let dir = history_dir(root);
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            if !e.file_type().is_ok_and(|t| t.is_file()) {
                return Err(Error::Invalid(format!(
                    "`{}` is not a regular file (a symbolic link?); rlcm refuses to read import records through it (restore `.rlcm/` from git or a backup)",
                    p.display()
                )));
            }
            let bytes = fsutil::read(&p)?;
            let r: ImportRecord = serde_json::from_slice(&bytes).map_err(|e| Error::Json {
                path: p.display().to_string(),
                message: format!("{e}; this import record is damaged: restore it from git or a backup"),
            })?;
            // Every path the record names is checked before any of them is opened.
            for f in &r.files {
                env::guard::check_inside(root, &f.path, &p)?;
                if f.existed {
                    env::guard::check_inside(root, &backup_path(r.id, &f.path), &p)?;
                }
            }
            env::guard::check_inside(root, &baseline_backup_path(r.id), &p)?;
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.id);
    Ok(out)
}

fn record_path(id: u64) -> String {
    env::state_path(&format!("history/{id:06}.json"))
}

fn backup_path(id: u64, path: &str) -> String {
    env::state_path(&format!("history/{id:06}/before/{path}"))
}

fn baseline_backup_path(id: u64) -> String {
    env::state_path(&format!("history/{id:06}/baseline.json"))
}

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

/// `import`: applies the plan when it is not blocked. Returns the report with `applied` and
/// `import_id` set; a plan that changes nothing is reported but not recorded.
pub fn apply(
    mut env: Environment,
    pkg: &OpenedPackage,
    opts: &PlanOptions,
    actor: &Actor,
    expect_digest: Option<&str>,
) -> Result<PlanReport> {
    let _lock = env.lock(actor.wait, "import")?;
    let target = env.load_workspace()?;
    let plan = make_plan(pkg, &env, &target, opts)?;
    if let Some(expected) = expect_digest
        && expected != plan.report.target_digest
    {
        return Err(Error::Blocked(format!(
            "the saved plan is stale: `{}` changed since it was planned (target digest {} then, {} now); plan again",
            env.root.display(),
            crate::report::short_digest(expected),
            crate::report::short_digest(&plan.report.target_digest)
        )));
    }
    if plan.report.blocked || !plan.items.iter().any(|i| i.action.writes()) {
        return Ok(plan.report);
    }
    crate::fsutil::check_case_collisions(
        &env.root,
        plan.target_paths
            .iter()
            .map(String::as_str)
            .chain(target.assets.iter().map(|a| a.path.as_str())),
    )?;
    let (txn, id) = stage(&env, pkg, opts, actor, &target, &plan)?;
    // Only the report is kept: the rest of the plan goes before the summary cache is written.
    let Plan { mut report, .. } = plan;
    txn.commit()?;
    env.refresh_cache(&target);
    report.applied = true;
    report.import_id = Some(id);
    Ok(report)
}

/// Stages a plan that writes into a transaction, not yet committed; returns it with the
/// import id. What staging needed is freed on return.
fn stage(
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
    let baseline_updates = &mut new_state.baseline.assets;
    let mut connector_changes = Vec::new();
    let rw = Rewriter::new(&pkg.ws, target, &plan.target_paths, &plan.providers, &opts.folder);
    let inputs = Inputs {
        source: &pkg.source,
        pkg: &pkg.ws,
        package_digest: pkg.digest.clone(),
        env,
        target,
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
    w.txn.write(
        &baseline_backup_path(id),
        &crate::json::to_pretty_vec(&state.baseline),
    )?;
    new_state.baseline.import = Some(id);
    new_state.baseline.at = Some(now.clone());
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
                return Err(Error::Invalid(format!(
                    "internal error: `{}` was not staged; nothing was written, run the import again",
                    item.target
                )));
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
        .unwrap_or_else(|| ConnectorState {
            format_version: 1,
            title: c.title.clone(),
            path: c.target_path.clone(),
            provider: c.provider.clone(),
            released: None,
            shared: None,
            versions: Vec::new(),
            shared_to: Default::default(),
            installed_from: None,
        });
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
    let rec = VersionRecord {
        version,
        note: c.note.clone(),
        created_at: now.to_string(),
        created_by: actor.user.clone(),
        released_at: Some(now.to_string()),
        released_by: Some(actor.user.clone()),
        code: env::version_code_file(&c.title, version),
        code_blake3: c.code_blake3.clone(),
        actions: c.definition.actions.clone(),
        triggers: c.definition.triggers.clone(),
        custom_action: c.definition.custom_action,
        origin: format!("import {}", w.id),
        rolled_back: false,
    };
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
        let rec = VersionRecord {
            version: v,
            note: Some(format!("autosave before import {}", w.id)),
            created_at: now.to_string(),
            created_by: actor.user.clone(),
            released_at: None,
            released_by: None,
            code: env::version_code_file(&c.title, v),
            code_blake3: blake3::hash(tc).to_hex().to_string(),
            actions: def.actions,
            triggers: def.triggers,
            custom_action: def.custom_action,
            origin: "autosave".into(),
            rolled_back: false,
        };
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

/// `history`.
pub fn history(env: &Environment) -> Result<HistoryReport> {
    env.state()?;
    Ok(HistoryReport {
        format_version: FORMAT_VERSION,
        imports: read_history(&env.root)?
            .into_iter()
            .map(|r| HistoryEntry {
                id: r.id,
                at: r.at,
                user: r.user,
                package_digest: r.package_digest,
                package: r.package,
                counts: r.counts,
                rolled_back_at: r.rolled_back_at,
            })
            .collect(),
    })
}

/// `rollback`: restores the environment to its state before import `id` (default: the most
/// recent import not rolled back).
pub fn rollback(mut env: Environment, id: Option<u64>, force: bool, actor: &Actor) -> Result<RollbackReport> {
    let _lock = env.lock(actor.wait, "rollback")?;
    let records = read_history(&env.root)?;
    let record = match id {
        Some(id) => records
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::NotFound {
                what: "import",
                name: id.to_string(),
                hint: "; see `rlcm history`".into(),
            })?,
        None => records
            .iter()
            .rev()
            .find(|r| r.rolled_back_at.is_none())
            .ok_or_else(|| Error::Invalid(format!("`{}` has no import to roll back", env.root.display())))?,
    };
    if record.rolled_back_at.is_some() {
        return Err(Error::Invalid(format!(
            "import {} was already rolled back",
            record.id
        )));
    }
    let mine: std::collections::BTreeSet<&str> = record.files.iter().map(|f| f.path.as_str()).collect();
    let later: Vec<u64> = records
        .iter()
        .filter(|r| r.id > record.id && r.rolled_back_at.is_none())
        .filter(|r| {
            r.files.iter().any(|f| mine.contains(f.path.as_str()))
                || r.connectors
                    .iter()
                    .any(|c| record.connectors.iter().any(|m| m.title == c.title))
        })
        .map(|r| r.id)
        .collect();
    if !later.is_empty() && !force {
        return Err(Error::Blocked(format!(
            "import {} was built on by later import(s) {}; roll those back first, or pass `--force`",
            record.id,
            later.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        )));
    }
    let id = record.id;
    let mut state = env.state()?.clone();
    let mut txn = Transaction::begin(&env.root, &format!("rollback of import {id}"))?;
    let mut restored = Vec::new();
    let mut removed = Vec::new();
    for f in &record.files {
        if f.existed {
            let bytes = fsutil::read(&env.root.join(backup_path(id, &f.path)))?;
            txn.write(&f.path, &bytes)?;
            restored.push(f.path.clone());
        } else {
            txn.delete(&f.path)?;
            removed.push(f.path.clone());
        }
    }
    let mut versions_rolled_back = Vec::new();
    for c in &record.connectors {
        if let Some(h) = state.connectors.get_mut(&c.title) {
            for v in &c.appended {
                if let Some(r) = h.version_mut(*v) {
                    r.rolled_back = true;
                    versions_rolled_back.push(format!("{} v{v}", c.title));
                }
            }
            h.released = c.released_before;
            h.shared = match h.shared {
                Some(s) if c.appended.contains(&s) => c.shared_before,
                other => other,
            };
        }
    }
    for (path, before) in &record.running_before {
        match before {
            Some(r) => {
                state.recipes.running.insert(path.clone(), r.clone());
            }
            None => {
                state.recipes.running.remove(path);
            }
        }
    }
    let baseline: Baseline = serde_json::from_slice(&fsutil::read(&env.root.join(baseline_backup_path(id)))?)
        .map_err(|e| Error::Json {
            path: baseline_backup_path(id),
            message: e.to_string(),
        })?;
    state.baseline = baseline;
    let mut updated = record.clone();
    updated.rolled_back_at = Some(env::now_rfc3339());
    updated.rolled_back_by = Some(actor.user.clone());
    txn.write(&record_path(id), &crate::json::to_pretty_vec(&updated))?;
    env::stage_state(&env.root, &state, &mut txn)?;
    txn.commit()?;
    Ok(RollbackReport {
        format_version: FORMAT_VERSION,
        import_id: id,
        message: format!(
            "Rolled back import {id}: {} restored, {} removed{}.",
            restored.len(),
            removed.len(),
            if versions_rolled_back.is_empty() {
                String::new()
            } else {
                format!(
                    ", connector versions {} marked rolled back",
                    versions_rolled_back.join(", ")
                )
            }
        ),
        restored,
        removed,
        versions_rolled_back,
    })
}
