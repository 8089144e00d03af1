//! `rlcm plan --remote`, `rlcm push` and `rlcm rollback --remote`: plan against a fresh pull
//! of the workspace (its cached mirror), import through the API, poll, pull again and verify
//! that the workspace now holds what the plan said.
//!
//! Before each import the assets it replaces are saved (`.rlcm/pushes/<n>/before.zip` in the
//! mirror, carried from pull to pull) so that `rollback` can import them back.

use crate::error::Subject;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::api::{DeletableKind, ImportResult, Package, PollOptions};
use super::http::Client;
use super::pull::{self, PullOptions, PullTarget};
use crate::apply::{OpenedPackage, make_plan, open_package};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::plan::PlanOptions;
use crate::report::{FORMAT_VERSION, PlanReport};

/// Where the mirror and push records of a remote live by default:
/// `$RLCM_CACHE_DIR/remotes/<name>/mirror`.
pub fn default_mirror(remote: &str) -> Result<PathBuf> {
    Ok(crate::config::cache_dir()?
        .join("remotes")
        .join(remote)
        .join("mirror"))
}

/// What a plan against a remote needs.
#[derive(Debug, Clone)]
pub struct RemotePlanOptions {
    /// The remote's name.
    pub remote: String,
    /// The remote's URL.
    pub url: String,
    /// The mirror directory.
    pub mirror: PathBuf,
    /// The plan's options (folder, restart, force).
    pub plan: PlanOptions,
    /// Polling.
    pub poll: PollOptions,
    /// Who runs it.
    pub user: String,
}

/// Pulls the whole workspace into the mirror and plans `pkg` against it.
pub fn plan_remote(
    client: &Client,
    pkg: &OpenedPackage,
    package_path: &Path,
    opts: &RemotePlanOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(PlanReport, pull::PullReport)> {
    let pulled = pull::pull(
        client,
        &opts.url,
        &PullOptions {
            remote: opts.remote.clone(),
            folders: Vec::new(),
            target: PullTarget::Mirror(opts.mirror.clone()),
            poll: opts.poll,
            user: opts.user.clone(),
        },
        progress,
    )?;
    let env = Environment::open(&opts.mirror)?;
    let target = env.load_workspace()?;
    let mut report = make_plan(pkg, &env, &target, &opts.plan)?.report;
    report.package = package_path.display().to_string();
    report.target = format!(
        "{} ({}, workspace {} \"{}\")",
        opts.remote, opts.url, pulled.workspace_id, pulled.workspace_name
    );
    Ok((report, pulled))
}

/// One recipe's import result, in words.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecipeOutcome {
    /// Recipe id.
    pub id: u64,
    /// Its name (when the mirror knows it).
    pub name: Option<String>,
    /// Workato's `import_result`.
    pub import_result: String,
    /// In words.
    pub words: String,
    /// Whether it ended as intended.
    pub ok: bool,
}

/// An asset a rollback could not delete, and why.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct LeftBehind {
    /// Its path in the workspace.
    pub path: String,
    /// Its type.
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Why it is still there and what to do.
    pub reason: String,
}

/// What a push to a remote was: a push of a package, or the rollback of an earlier push. On disk
/// and in reports the words they have always been (`pushed`, `rollback of N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PushKind {
    /// A package pushed.
    #[default]
    Pushed,
    /// The rollback of push N.
    RollbackOf(u64),
}

impl std::fmt::Display for PushKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushKind::Pushed => f.write_str("pushed"),
            PushKind::RollbackOf(n) => write!(f, "rollback of {n}"),
        }
    }
}

impl TryFrom<String> for PushKind {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, String> {
        // Records written before kinds existed have none: they were pushes.
        if s.is_empty() || s == "pushed" {
            return Ok(PushKind::Pushed);
        }
        s.strip_prefix("rollback of ")
            .and_then(|n| n.parse().ok())
            .map(PushKind::RollbackOf)
            .ok_or_else(|| format!("unknown push kind `{s}` (expected `pushed` or `rollback of N`)"))
    }
}

impl From<PushKind> for String {
    fn from(k: PushKind) -> String {
        k.to_string()
    }
}

impl JsonSchema for PushKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PushKind".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(pushed|rollback of [0-9]+)$"
        })
    }
}

/// How a recorded push ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PushOutcome {
    /// The import completed.
    Completed,
    /// The import failed.
    Failed,
    /// The import was not started.
    Refused,
    /// The import's answer never came, or rlcm was stopped while it ran (also records written
    /// before outcomes were recorded, which read as `""`).
    #[default]
    #[serde(alias = "")]
    Unknown,
}

/// `rlcm push` to one remote, and `rlcm rollback --remote`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PushReport {
    /// Always 1.
    pub format_version: u32,
    /// The remote.
    pub remote: String,
    /// `pushed`, or `rollback of N`.
    #[serde(default)]
    pub kind: PushKind,
    /// The plan the push was made on.
    pub plan: PlanReport,
    /// The import's package id (none when nothing was imported).
    pub package_id: Option<u64>,
    /// The folder imported into.
    pub folder_id: Option<u64>,
    /// Per-recipe results.
    pub recipes: Vec<RecipeOutcome>,
    /// Rollback: the assets the rolled-back push created that were deleted.
    #[serde(default)]
    pub deleted: Vec<String>,
    /// Rollback: the assets the rolled-back push created that the API cannot delete.
    #[serde(default)]
    pub left_behind: Vec<LeftBehind>,
    /// What the pull after the import shows differently from the plan (empty: verified).
    pub differences: Vec<String>,
    /// The push's number in the mirror's history.
    pub push_id: Option<u64>,
}

/// A push as recorded in the mirror (`.rlcm/pushes.json`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct PushRecord {
    /// Number (1, 2, ...).
    pub id: u64,
    /// When.
    pub at: String,
    /// Who.
    pub by: String,
    /// The package file pushed.
    pub package: String,
    /// Its digest.
    pub package_digest: String,
    /// The import's package id.
    pub package_id: Option<u64>,
    /// The folder imported into.
    pub folder_id: u64,
    /// `pushed` or `rollback of N`.
    pub kind: PushKind,
    /// How it ended.
    #[serde(default)]
    pub outcome: PushOutcome,
    /// True when a later rollback undid it.
    #[serde(default)]
    pub rolled_back: bool,
}

/// `.rlcm/pushes.json` in a mirror: rlcm's record of its pushes (carried from pull to pull).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct PushHistory {
    /// Always 1.
    pub format_version: u32,
    /// Oldest first.
    pub pushes: Vec<PushRecord>,
}

/// The pushes recorded in a mirror.
pub fn history(mirror: &Path) -> Result<Vec<PushRecord>> {
    let path = mirror.join(".rlcm").join("pushes.json");
    match fsutil::read_optional(&path)? {
        None => Ok(Vec::new()),
        Some(b) => serde_json::from_slice::<PushHistory>(&b)
            .map(|h| h.pushes)
            .map_err(|e| Error::json(path.display().to_string(), &e)),
    }
}

fn save_history(mirror: &Path, records: &[PushRecord]) -> Result<()> {
    fsutil::write_atomic(
        &mirror.join(".rlcm").join("pushes.json"),
        &crate::json::to_pretty_vec(&PushHistory {
            format_version: FORMAT_VERSION,
            pushes: records.to_vec(),
        }),
    )
}

fn set_outcome(mirror: &Path, id: u64, package_id: Option<u64>, outcome: PushOutcome) -> Result<()> {
    let mut records = history(mirror)?;
    if let Some(r) = records.iter_mut().find(|r| r.id == id) {
        r.outcome = outcome;
        if package_id.is_some() {
            r.package_id = package_id;
        }
    }
    save_history(mirror, &records)
}

/// The zip bytes to send: the package file itself when it is a plain Workato zip, else its
/// entries (without `rlcm-package.json`) in a new zip.
fn import_bytes(path: &Path, pkg: &OpenedPackage) -> Result<Vec<u8>> {
    let is_file = path.is_file();
    if is_file && pkg.source.find(crate::package::MANIFEST_NAME).is_none() {
        return fsutil::read(path);
    }
    let mut reader = pkg.source.reader()?;
    let mut entries = BTreeMap::new();
    for e in pkg.source.entries() {
        if e.path == crate::package::MANIFEST_NAME {
            continue;
        }
        entries.insert(e.path.clone(), reader.read(e)?);
    }
    zip_bytes(&entries)
}

/// A zip of `entries` in memory.
pub(crate) fn zip_bytes(entries: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            z.start_file(name.as_str(), o)
                .map_err(|e| Error::internal(format!("cannot build the package zip: {e}")))?;
            std::io::Write::write_all(&mut z, bytes)
                .map_err(|e| Error::internal(format!("cannot build the package zip: {e}")))?;
        }
        z.finish()
            .map_err(|e| Error::internal(format!("cannot build the package zip: {e}")))?;
    }
    Ok(buf.into_inner())
}

/// The mirror's current bytes of every file the plan changes (what rollback imports back).
fn before_entries(mirror: &Path, plan: &PlanReport) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for a in &plan.actions {
        if !matches!(
            a.action.as_str(),
            "update" | "update_running" | "new_version" | "conflict"
        ) {
            continue;
        }
        let p = mirror.join(&a.path);
        if let Some(b) = fsutil::read_optional(&p)? {
            out.insert(a.path.clone(), b);
        }
        // A connector's code and logo travel with its JSON.
        if a.path.ends_with(".custom_adapter.json") {
            let stem = a.path.trim_end_matches(".json");
            for ext in ["rb", "png", "jpg"] {
                let rel = format!("{stem}.{ext}");
                if let Some(b) = fsutil::read_optional(&mirror.join(&rel))? {
                    out.insert(rel, b);
                }
            }
        }
    }
    Ok(out)
}

/// Options of a push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// How to plan.
    pub plan: RemotePlanOptions,
    /// `--folder-id`: where to import (default: the folder of `--folder`, else the root).
    pub folder_id: Option<u64>,
    /// A saved plan to hold the push to (refused when stale).
    pub saved: Option<PlanReport>,
    /// Push despite a blocked plan.
    pub force: bool,
    /// Recorded kind (`pushed`, `rollback of N`).
    pub kind: PushKind,
}

/// Imports `zip` and waits: the final package.
pub(crate) fn import_and_wait(
    client: &Client,
    folder_id: u64,
    zip: &[u8],
    restart: bool,
    poll: PollOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Package> {
    let started = client.import_package(folder_id, zip, restart)?;
    progress(&format!("import {} started", started.id));
    client.wait_package(started, poll, &mut |p| {
        progress(&format!("import {}: {}", p.id, status_word(p)))
    })
}

fn status_word(p: &Package) -> String {
    serde_json::to_value(p.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{:?}", p.status))
}

fn blockers_text(plan: &PlanReport) -> String {
    plan.blockers
        .iter()
        .map(|b| format!("{}: {}", b.kind, b.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn has_changes(plan: &PlanReport) -> bool {
    plan.actions
        .iter()
        .any(|a| !matches!(a.action.as_str(), "no_change" | "keep"))
        || plan
            .connectors
            .iter()
            .any(|c| !matches!(c.action.as_str(), "no_change" | "keep"))
}

fn target_folder(client: &Client, opts: &PushOptions) -> Result<u64> {
    match (opts.folder_id, &opts.plan.plan.folder) {
        (Some(id), _) => Ok(id),
        (None, Some(path)) => pull::resolve_folder(client, path),
        (None, None) => pull::read_remote_info(&opts.plan.mirror)?
            .and_then(|i| i.root_folder_id)
            .ok_or_else(|| {
                Error::invalid(
                    Subject::Remote(opts.plan.remote.to_string()),
                    format!("workspace `{}` gave no root folder", opts.plan.remote),
                )
                .hint("pass `--folder-id N`")
            }),
    }
}

/// Plans, imports, polls, pulls again and verifies. A blocked plan is
/// [`Error::Blocked`] unless forced; the report is returned for every outcome that imported.
pub fn push(
    client: &Client,
    package_path: &Path,
    opts: &PushOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<PushReport> {
    let pkg = open_package(package_path)?;
    if let Some(saved) = &opts.saved
        && saved.package_digest != pkg.digest
    {
        return Err(Error::Blocked(format!(
            "the package `{}` changed since the plan was saved; plan again",
            package_path.display()
        )));
    }
    let (plan, _) = plan_remote(client, &pkg, package_path, &opts.plan, progress)?;
    if let Some(saved) = &opts.saved
        && saved.target_digest != plan.target_digest
    {
        return Err(Error::Blocked(format!(
            "the saved plan is stale: workspace `{}` changed since it was planned (see \
             `rlcm pull {} -o DIR`); plan again",
            opts.plan.remote, opts.plan.remote
        )));
    }
    if plan.blocked && !opts.force {
        return Err(Error::Blocked(format!(
            "the push to `{}` is blocked: {}; see `rlcm plan PKG --remote {}`, fix it or pass \
             `--force`",
            opts.plan.remote,
            blockers_text(&plan),
            opts.plan.remote
        )));
    }
    let folder_id = target_folder(client, opts)?;
    let mut report = PushReport {
        format_version: FORMAT_VERSION,
        remote: opts.plan.remote.clone(),
        kind: opts.kind,
        plan,
        package_id: None,
        folder_id: Some(folder_id),
        recipes: Vec::new(),
        deleted: Vec::new(),
        left_behind: Vec::new(),
        differences: Vec::new(),
        push_id: None,
    };
    if !has_changes(&report.plan) {
        return Ok(report);
    }
    let zip = import_bytes(package_path, &pkg)?;
    import_recorded(
        client,
        package_path,
        &pkg.digest,
        &zip,
        folder_id,
        opts,
        &mut report,
        progress,
    )?;
    progress("verifying: pulling the workspace again");
    let (after, _) = plan_remote(client, &pkg, package_path, &opts.plan, progress)?;
    report.differences.extend(differences_of(&after));
    name_recipes(&opts.plan.mirror, &mut report)?;
    Ok(report)
}

/// Records the push (before anything changes: what rollback needs), imports `zip` into
/// `folder_id`, waits, records the outcome and fills `report` (package id, recipe results).
#[allow(clippy::too_many_arguments)]
fn import_recorded(
    client: &Client,
    package_path: &Path,
    digest: &str,
    zip: &[u8],
    folder_id: u64,
    opts: &PushOptions,
    report: &mut PushReport,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let mirror = &opts.plan.mirror;
    let mut records = history(mirror)?;
    let push_id = records.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    let before = before_entries(mirror, &report.plan)?;
    let dir = mirror.join(".rlcm").join("pushes").join(push_id.to_string());
    fsutil::write_atomic(&dir.join("before.zip"), &zip_bytes(&before)?)?;
    fsutil::write_atomic(&dir.join("plan.json"), &crate::json::to_pretty_vec(&report.plan))?;
    records.push(PushRecord {
        id: push_id,
        at: crate::env::now_rfc3339(),
        by: opts.plan.user.clone(),
        package: package_path.display().to_string(),
        package_digest: digest.to_string(),
        package_id: None,
        folder_id,
        kind: opts.kind,
        outcome: PushOutcome::Unknown,
        rolled_back: false,
    });
    save_history(mirror, &records)?;
    report.push_id = Some(push_id);
    let done = match import_and_wait(
        client,
        folder_id,
        zip,
        opts.plan.plan.restart_recipes,
        opts.plan.poll,
        progress,
    ) {
        Ok(d) => d,
        Err(e) => {
            // A definite refusal (4xx) started nothing; anything else stays `unknown`.
            if matches!(&e, Error::Remote { status, .. } if (400..500).contains(status))
                || matches!(&e, Error::Invalid { .. })
            {
                set_outcome(mirror, push_id, None, PushOutcome::Refused)?;
            }
            return Err(e);
        }
    };
    report.package_id = Some(done.id);
    report.recipes = done
        .recipe_status
        .iter()
        .map(|r| RecipeOutcome {
            id: r.id,
            name: None,
            import_result: result_name(r.import_result),
            words: r.import_result.words().to_string(),
            ok: r.import_result.is_success(),
        })
        .collect();
    if !done.status.is_success() {
        set_outcome(mirror, push_id, Some(done.id), PushOutcome::Failed)?;
        return Err(Error::Remote {
            status: 200,
            message: format!(
                "{}/api/packages/{}: import into `{}` failed: {}; the workspace should be \
                 unchanged (Workato imports are all-or-nothing); `rlcm pull {}` shows its state",
                client.base_url(),
                done.id,
                opts.plan.remote,
                client.redact(done.error.as_deref().unwrap_or("no reason given")),
                opts.plan.remote
            ),
        });
    }
    set_outcome(mirror, push_id, Some(done.id), PushOutcome::Completed)?;
    Ok(())
}

/// What a fresh plan of the pushed package still finds to do.
fn differences_of(after: &PlanReport) -> Vec<String> {
    let mut out: Vec<String> = after
        .actions
        .iter()
        .filter(|a| !matches!(a.action.as_str(), "no_change" | "keep"))
        .map(|a| format!("{}: still `{}` after the import", a.path, a.action))
        .collect();
    for c in &after.connectors {
        if c.action != "no_change" && c.action != "keep" {
            out.push(format!(
                "connector {}: still `{}` after the import",
                c.title, c.action
            ));
        }
    }
    out
}

/// Names the recipe results from the fresh mirror; a recipe that did not end as intended is a
/// difference.
fn name_recipes(mirror: &Path, report: &mut PushReport) -> Result<()> {
    let names: BTreeMap<u64, String> = pull::read_remote_info(mirror)?
        .map(|i| i.recipes.into_iter().map(|r| (r.id, r.name)).collect())
        .unwrap_or_default();
    for r in &mut report.recipes {
        r.name = names.get(&r.id).cloned();
    }
    for r in report.recipes.iter().filter(|r| !r.ok) {
        report.differences.push(format!(
            "recipe {}: {}",
            r.name.clone().unwrap_or_else(|| r.id.to_string()),
            r.words
        ));
    }
    Ok(())
}

/// What rollback does with one asset the rolled-back push created.
enum Created {
    /// Deleted through the API: (path, kind, id).
    Delete(String, DeletableKind, u64),
    /// Left behind.
    Keep(LeftBehind),
}

/// Sorts what push `plan` created (still in the fresh `mirror`) into what the API can delete
/// and what it cannot.
fn created_assets(client: &Client, mirror: &Path, plan: &PlanReport) -> Result<Vec<Created>> {
    let info = pull::read_remote_info(mirror)?;
    let env = Environment::open(mirror)?;
    let ws = env.load_workspace()?;
    let mut connections: Option<Vec<super::api::Connection>> = None;
    let mut out = Vec::new();
    for a in plan.actions.iter().filter(|a| a.action == "create") {
        let Some(asset) = ws.assets.iter().find(|x| x.path == a.path) else {
            continue; // already gone
        };
        let keep = |reason: String| {
            Created::Keep(LeftBehind {
                path: a.path.clone(),
                asset_type: a.asset_type.clone(),
                reason,
            })
        };
        match &asset.asset_type {
            crate::asset::AssetType::Recipe => {
                let found = info
                    .as_ref()
                    .and_then(|i| i.recipes.iter().find(|r| r.path.as_deref() == Some(&a.path)));
                match found {
                    Some(r) if r.running => {
                        return Err(Error::Blocked(format!(
                            "recipe `{}` (id {}), which the push created, is running; stop it \
                             (in Workato, or `PUT /api/recipes/{}/stop`) and roll back again",
                            a.path, r.id, r.id
                        )));
                    }
                    Some(r) => out.push(Created::Delete(a.path.clone(), DeletableKind::Recipe, r.id)),
                    None => out.push(keep(
                        "its id could not be told apart (another recipe has the same name); \
                         delete it in Workato"
                            .into(),
                    )),
                }
            }
            crate::asset::AssetType::Connection => {
                if connections.is_none() {
                    connections = Some(client.connections()?);
                }
                let same: Vec<&super::api::Connection> = connections
                    .iter()
                    .flatten()
                    .filter(|c| c.name == asset.name)
                    .collect();
                match same.as_slice() {
                    [c] => out.push(Created::Delete(a.path.clone(), DeletableKind::Connection, c.id)),
                    _ => out.push(keep(format!(
                        "{} connections are named `{}`; delete the right one in Workato",
                        same.len(),
                        asset.name
                    ))),
                }
            }
            other => out.push(keep(format!(
                "the Developer API offers no way to delete a {other}; delete it in Workato"
            ))),
        }
    }
    Ok(out)
}

/// Rolls push `id` (default: the latest not rolled back) back: deletes what it created (where
/// the API can) and imports what it replaced.
pub fn rollback(
    client: &Client,
    id: Option<u64>,
    opts: &PushOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<PushReport> {
    let mirror = &opts.plan.mirror;
    let rec = push_to_roll_back(mirror, id)?;
    let (before_bytes, pushed_plan) = saved_push(mirror, &rec)?;
    // Copy out of the mirror: the pulls below replace it.
    let tmp = tempfile::Builder::new()
        .prefix(".rlcm-rollback-")
        .suffix(".zip")
        .tempfile()
        .map_err(|e| Error::io("create", std::env::temp_dir(), e))?;
    fsutil::write_atomic(tmp.path(), &before_bytes)?;
    let pkg = open_package(tmp.path())?;
    let mut o = opts.clone();
    o.folder_id = Some(o.folder_id.unwrap_or(rec.folder_id));
    o.kind = PushKind::RollbackOf(rec.id);
    let label = format!("(what push {} replaced)", rec.id);

    let (mut plan, _) = plan_remote(client, &pkg, tmp.path(), &o.plan, progress)?;
    plan.package = label.clone();
    let created = created_assets(client, mirror, &pushed_plan)?;
    let doomed: Vec<&str> = created
        .iter()
        .filter_map(|c| match c {
            Created::Delete(p, ..) => Some(p.as_str()),
            Created::Keep(_) => None,
        })
        .collect();
    // What is deleted cannot break: its blockers go.
    plan.blockers.retain(|b| !doomed.contains(&b.path.as_str()));
    plan.blocked = !plan.blockers.is_empty();
    if plan.blocked && !o.force {
        return Err(Error::Blocked(format!(
            "the rollback of push {} on `{}` is blocked: {}; fix it or pass `--force`",
            rec.id,
            o.plan.remote,
            blockers_text(&plan)
        )));
    }
    let mut report = PushReport {
        format_version: FORMAT_VERSION,
        remote: o.plan.remote.clone(),
        kind: o.kind,
        plan,
        package_id: None,
        folder_id: o.folder_id,
        recipes: Vec::new(),
        deleted: Vec::new(),
        left_behind: Vec::new(),
        differences: Vec::new(),
        push_id: None,
    };
    delete_created(client, created, &mut report, progress)?;
    if has_changes(&report.plan) {
        let zip = import_bytes(tmp.path(), &pkg)?;
        let folder_id = o.folder_id.unwrap_or(rec.folder_id);
        import_recorded(
            client,
            tmp.path(),
            &pkg.digest,
            &zip,
            folder_id,
            &o,
            &mut report,
            progress,
        )?;
    }
    progress("verifying: pulling the workspace again");
    let (after, _) = plan_remote(client, &pkg, tmp.path(), &o.plan, progress)?;
    report.differences.extend(differences_of(&after));
    let env = Environment::open(mirror)?;
    let ws = env.load_workspace()?;
    for p in &report.deleted {
        if ws.assets.iter().any(|a| &a.path == p) {
            report
                .differences
                .push(format!("{p}: still in the workspace after its deletion"));
        }
    }
    name_recipes(mirror, &mut report)?;
    let mut records = history(mirror)?;
    if let Some(r) = records.iter_mut().find(|r| r.id == rec.id) {
        r.rolled_back = true;
    }
    if let Some(n) = report.push_id
        && let Some(r) = records.iter_mut().find(|r| r.id == n)
    {
        r.package = label;
    }
    save_history(mirror, &records)?;
    Ok(report)
}

/// The push `rollback` undoes: push `id`, or the latest push not rolled back.
fn push_to_roll_back(mirror: &Path, id: Option<u64>) -> Result<PushRecord> {
    let records = history(mirror)?;
    let rec = match id {
        Some(n) => records.iter().find(|r| r.id == n),
        None => records.iter().rev().find(|r| {
            !r.rolled_back
                && r.kind == PushKind::Pushed
                && matches!(r.outcome, PushOutcome::Completed | PushOutcome::Unknown)
        }),
    }
    .cloned()
    .ok_or_else(|| Error::NotFound {
        what: "push",
        name: id.map(|n| n.to_string()).unwrap_or_else(|| "(latest)".into()),
        within: Some(format!(
            "to roll back in the history of mirror `{}` (`.rlcm/pushes.json`)",
            mirror.display()
        )),
        hint: None,
    })?;
    if rec.rolled_back {
        return Err(Error::invalid(
            Subject::Push(rec.id),
            format!("push {} was already rolled back", rec.id),
        ));
    }
    Ok(rec)
}

/// What push `rec` saved in the mirror: the package of what it replaced, and its plan.
fn saved_push(mirror: &Path, rec: &PushRecord) -> Result<(Vec<u8>, PlanReport)> {
    let saved_dir = mirror.join(".rlcm").join("pushes").join(rec.id.to_string());
    let before = saved_dir.join("before.zip");
    let plan_path = saved_dir.join("plan.json");
    let (Some(before_bytes), Some(plan_bytes)) = (
        fsutil::read_optional(&before)?,
        fsutil::read_optional(&plan_path)?,
    ) else {
        return Err(Error::invalid(
            Subject::Push(rec.id),
            format!(
                "push {} has nothing saved to restore (`{}` or `{}` is missing)",
                rec.id,
                before.display(),
                plan_path.display()
            ),
        ));
    };
    let pushed_plan: PlanReport =
        serde_json::from_slice(&plan_bytes).map_err(|e| Error::json(plan_path.display().to_string(), &e))?;
    Ok((before_bytes, pushed_plan))
}

/// Deletes what the push created (recipes before the connections they use); what cannot be
/// deleted is reported as left behind.
fn delete_created(
    client: &Client,
    created: Vec<Created>,
    report: &mut PushReport,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let mut deletions: Vec<(String, DeletableKind, u64)> = Vec::new();
    for c in created {
        match c {
            Created::Delete(p, k, id) => deletions.push((p, k, id)),
            Created::Keep(l) => report.left_behind.push(l),
        }
    }
    deletions.sort_by_key(|(_, k, _)| *k != DeletableKind::Recipe);
    for (path, kind, id) in &deletions {
        match client.delete_asset(*kind, *id) {
            Ok(()) => {}
            // Gone already (a retried DELETE whose first attempt went through).
            Err(Error::Remote { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
        progress(&format!("deleted {path}"));
        report.deleted.push(path.clone());
    }
    Ok(())
}

/// `ImportResult` names for the report.
pub(crate) fn result_name(r: ImportResult) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    /// Kinds and outcomes keep their words on disk; records from before they existed (no
    /// field, or `""`) read as a push whose outcome is unknown; anything else is refused.
    #[test]
    fn push_kinds_and_outcomes_read_old_and_new_records() {
        for (text, kind) in [
            ("\"pushed\"", PushKind::Pushed),
            ("\"rollback of 12\"", PushKind::RollbackOf(12)),
        ] {
            assert_eq!(serde_json::from_str::<PushKind>(text).unwrap(), kind);
            assert_eq!(serde_json::to_string(&kind).unwrap(), text);
        }
        assert_eq!(
            serde_json::from_str::<PushKind>("\"\"").unwrap(),
            PushKind::Pushed
        );
        assert!(serde_json::from_str::<PushKind>("\"rollback of x\"").is_err());
        assert_eq!(
            serde_json::from_str::<PushOutcome>("\"\"").unwrap(),
            PushOutcome::Unknown
        );
        assert_eq!(
            serde_json::to_string(&PushOutcome::Refused).unwrap(),
            "\"refused\""
        );
        let old = r#"{"id":1,"at":"t","by":"u","package":"p","package_digest":"d","package_id":null,"folder_id":3,"kind":"pushed"}"#;
        let r: PushRecord = serde_json::from_str(old).unwrap();
        assert_eq!((r.kind, r.outcome), (PushKind::Pushed, PushOutcome::Unknown));
    }
}
