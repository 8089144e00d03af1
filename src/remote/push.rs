//! `rlcm plan --remote`, `rlcm push` and `rlcm rollback --remote`: plan against a fresh pull
//! of the workspace (its cached mirror), import through the API, poll, pull again and verify
//! that the workspace now holds what the plan said.
//!
//! Before each import the assets it replaces are saved (`.rlcm/pushes/<n>/before.zip` in the
//! mirror, carried from pull to pull) so that `rollback` can import them back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::api::{ImportResult, Package, PollOptions};
use super::http::Client;
use super::pull::{self, PullOptions, PullTarget};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::ops::import::{OpenedPackage, make_plan, open_package};
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

/// `rlcm push` to one remote.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PushReport {
    /// Always 1.
    pub format_version: u32,
    /// The remote.
    pub remote: String,
    /// The plan the push was made on.
    pub plan: PlanReport,
    /// The import's package id (none when nothing was imported).
    pub package_id: Option<u64>,
    /// The folder imported into.
    pub folder_id: Option<u64>,
    /// Per-recipe results.
    pub recipes: Vec<RecipeOutcome>,
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
    pub kind: String,
    /// True when a later rollback undid it.
    #[serde(default)]
    pub rolled_back: bool,
}

/// The pushes recorded in a mirror.
pub fn history(mirror: &Path) -> Result<Vec<PushRecord>> {
    let path = mirror.join(".rlcm").join("pushes.json");
    match fsutil::read_optional(&path)? {
        None => Ok(Vec::new()),
        Some(b) => serde_json::from_slice(&b).map_err(|e| Error::json(path.display().to_string(), &e)),
    }
}

fn save_history(mirror: &Path, records: &[PushRecord]) -> Result<()> {
    fsutil::write_atomic(
        &mirror.join(".rlcm").join("pushes.json"),
        &crate::json::to_pretty_vec(records),
    )
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
pub fn zip_bytes(entries: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            z.start_file(name.as_str(), o)
                .map_err(|e| Error::Invalid(format!("cannot build the package zip: {e}")))?;
            std::io::Write::write_all(&mut z, bytes)
                .map_err(|e| Error::Invalid(format!("cannot build the package zip: {e}")))?;
        }
        z.finish()
            .map_err(|e| Error::Invalid(format!("cannot build the package zip: {e}")))?;
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
    pub kind: String,
}

/// Imports `zip` and waits: the final package.
pub fn import_and_wait(
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
        progress(&format!("import {}: {:?}", p.id, p.status))
    })
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
    let (plan, pulled) = plan_remote(client, &pkg, package_path, &opts.plan, progress)?;
    if let Some(saved) = &opts.saved
        && saved.target_digest != plan.target_digest
    {
        return Err(Error::Blocked(format!(
            "the saved plan is stale: workspace `{}` changed since it was planned (see \
             `rlcm pull {}`); plan again",
            opts.plan.remote, opts.plan.remote
        )));
    }
    if plan.blocked && !opts.force {
        let why: Vec<String> = plan.blockers.iter().map(|b| format!("{b:?}")).collect();
        return Err(Error::Blocked(format!(
            "the push to `{}` is blocked: {}; see `rlcm plan PKG --remote {}`, fix it or pass \
             `--force`",
            opts.plan.remote,
            why.join("; "),
            opts.plan.remote
        )));
    }
    let changes = plan
        .actions
        .iter()
        .any(|a| !matches!(a.action.as_str(), "no_change" | "keep"))
        || !plan.connectors.is_empty();
    let mirror = &opts.plan.mirror;
    let folder_id = match (opts.folder_id, &opts.plan.plan.folder) {
        (Some(id), _) => id,
        (None, Some(path)) => pull::resolve_folder(client, path)?,
        (None, None) => pull::read_remote_info(mirror)?
            .and_then(|i| i.root_folder_id)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "workspace `{}` gave no root folder; pass `--folder-id N`",
                    opts.plan.remote
                ))
            })?,
    };
    if !changes {
        return Ok(PushReport {
            format_version: FORMAT_VERSION,
            remote: opts.plan.remote.clone(),
            plan,
            package_id: None,
            folder_id: Some(folder_id),
            recipes: Vec::new(),
            differences: Vec::new(),
            push_id: None,
        });
    }
    // Save what rollback needs before anything changes.
    let mut records = history(mirror)?;
    let push_id = records.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    let before = before_entries(mirror, &plan)?;
    let dir = mirror.join(".rlcm").join("pushes").join(push_id.to_string());
    fsutil::write_atomic(&dir.join("before.zip"), &zip_bytes(&before)?)?;
    fsutil::write_atomic(&dir.join("plan.json"), &crate::json::to_pretty_vec(&plan))?;

    let zip = import_bytes(package_path, &pkg)?;
    let done = import_and_wait(
        client,
        folder_id,
        &zip,
        opts.plan.plan.restart_recipes,
        opts.plan.poll,
        progress,
    )?;
    let names: BTreeMap<u64, String> = pull::read_remote_info(mirror)?
        .map(|i| i.recipes.into_iter().map(|r| (r.id, r.name)).collect())
        .unwrap_or_default();
    let recipes: Vec<RecipeOutcome> = done
        .recipe_status
        .iter()
        .map(|r| RecipeOutcome {
            id: r.id,
            name: names.get(&r.id).cloned(),
            import_result: serde_json::to_value(r.import_result)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            words: r.import_result.words().to_string(),
            ok: r.import_result.is_success(),
        })
        .collect();
    records.push(PushRecord {
        id: push_id,
        at: crate::env::now_rfc3339(),
        by: opts.plan.user.clone(),
        package: package_path.display().to_string(),
        package_digest: pkg.digest.clone(),
        package_id: Some(done.id),
        folder_id,
        kind: opts.kind.clone(),
        rolled_back: false,
    });
    save_history(mirror, &records)?;
    if !done.status.is_success() {
        return Err(Error::Remote {
            status: 200,
            message: format!(
                "import {} into `{}` failed: {}; the workspace should be unchanged (Workato \
                 imports are all-or-nothing); `rlcm pull {}` shows its state",
                done.id,
                opts.plan.remote,
                client.redact(done.error.as_deref().unwrap_or("no reason given")),
                opts.plan.remote
            ),
        });
    }
    // Verify: a fresh plan of the same package must find nothing left to do.
    progress("verifying: pulling the workspace again");
    let (after, _) = plan_remote(client, &pkg, package_path, &opts.plan, progress)?;
    let mut differences: Vec<String> = after
        .actions
        .iter()
        .filter(|a| !matches!(a.action.as_str(), "no_change" | "keep"))
        .map(|a| format!("{}: still `{}` after the import", a.path, a.action))
        .collect();
    for c in &after.connectors {
        if c.action != "no_change" && c.action != "keep" {
            differences.push(format!(
                "connector {}: still `{}` after the import",
                c.title, c.action
            ));
        }
    }
    for r in recipes.iter().filter(|r| !r.ok) {
        differences.push(format!(
            "recipe {}: {}",
            r.name.clone().unwrap_or_else(|| r.id.to_string()),
            r.words
        ));
    }
    let _ = pulled;
    Ok(PushReport {
        format_version: FORMAT_VERSION,
        remote: opts.plan.remote.clone(),
        plan,
        package_id: Some(done.id),
        folder_id: Some(folder_id),
        recipes,
        differences,
        push_id: Some(push_id),
    })
}

/// Rolls push `id` (default: the latest not rolled back) back by importing what it replaced.
pub fn rollback(
    client: &Client,
    id: Option<u64>,
    opts: &PushOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<PushReport> {
    let mirror = &opts.plan.mirror;
    let mut records = history(mirror)?;
    let rec = match id {
        Some(n) => records.iter().find(|r| r.id == n),
        None => records
            .iter()
            .rev()
            .find(|r| !r.rolled_back && r.kind == "pushed"),
    }
    .cloned()
    .ok_or_else(|| Error::NotFound {
        what: "push",
        name: id.map(|n| n.to_string()).unwrap_or_else(|| "(latest)".into()),
        hint: format!(" in the history of mirror `{}`", mirror.display()),
    })?;
    let before = mirror
        .join(".rlcm")
        .join("pushes")
        .join(rec.id.to_string())
        .join("before.zip");
    if !before.is_file() {
        return Err(Error::Invalid(format!(
            "push {} has nothing saved to restore (`{}` is missing)",
            rec.id,
            before.display()
        )));
    }
    // Copy out of the mirror: the pulls below replace it.
    let tmp = tempfile::Builder::new()
        .prefix(".rlcm-rollback-")
        .suffix(".zip")
        .tempfile()
        .map_err(|e| Error::io("create", std::env::temp_dir(), e))?;
    fsutil::write_atomic(tmp.path(), &fsutil::read(&before)?)?;
    let empty = open_package(tmp.path())?.source.entries().is_empty();
    if empty {
        return Err(Error::Invalid(format!(
            "push {} only created assets; Workato's API cannot delete them, remove them in \
             Workato",
            rec.id
        )));
    }
    let mut o = opts.clone();
    o.folder_id = Some(o.folder_id.unwrap_or(rec.folder_id));
    o.kind = format!("rollback of {}", rec.id);
    let report = push(client, tmp.path(), &o, progress)?;
    records = history(mirror)?;
    if let Some(r) = records.iter_mut().find(|r| r.id == rec.id) {
        r.rolled_back = true;
    }
    save_history(mirror, &records)?;
    Ok(report)
}

/// `ImportResult` names for the report.
pub fn result_name(r: ImportResult) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
