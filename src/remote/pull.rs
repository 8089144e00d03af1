//! `rlcm pull`: export a workspace (or folders of it) through the Developer API, read the
//! package with rlcm's defensive reader, and write it as a package zip or as a mirror
//! environment (tree + `.rlcm/` + `.rlcm/remote.json`).
//!
//! A mirror is built complete beside its destination and swapped in by renames; a failed or
//! interrupted pull leaves the previous mirror as it was (a crash between the two renames
//! leaves it at `<mirror>.rlcm-previous`, which the next pull puts back first).

use crate::error::Subject;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::api::{Folder, PollOptions, User};
use super::http::{Client, MAX_PACKAGE_BYTES};
use crate::asset::AssetType;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::ops::init::{InitOptions, init};
use crate::report::FORMAT_VERSION;
use crate::source::Source;
use crate::workspace::Workspace;

/// The file, inside `.rlcm/`, that says which workspace a mirror mirrors.
pub(crate) const REMOTE_JSON: &str = "remote.json";

/// The time rlcm records for what it pulled (Workato's histories are not in the API).
const PULLED: &str = "unknown (pulled from Workato)";

/// Where a pull writes.
#[derive(Debug, Clone)]
pub enum PullTarget {
    /// A package zip (the bytes as downloaded, after they were read and checked).
    Zip(PathBuf),
    /// A mirror environment directory.
    Mirror(PathBuf),
}

/// Options of a pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The remote's name (recorded in `remote.json`).
    pub remote: String,
    /// Folder paths to pull (empty: the whole workspace).
    pub folders: Vec<String>,
    /// Where to write.
    pub target: PullTarget,
    /// How to poll the export.
    pub poll: PollOptions,
    /// Who runs it.
    pub user: String,
}

/// A custom connector as the custom connectors API reported it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct RemoteConnector {
    /// Connector id in the workspace.
    pub id: u64,
    /// Title.
    pub title: String,
    /// The workspace's provider key.
    pub name: String,
    /// Latest version.
    pub latest: Option<u64>,
    /// Released version.
    pub released: Option<u64>,
    /// Shared version.
    pub shared: Option<u64>,
}

/// A recipe as the recipes API reported it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct RemoteRecipe {
    /// Recipe id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Its path in the mirror's tree, when rlcm could match it.
    pub path: Option<String>,
    /// Whether it runs.
    pub running: bool,
}

/// `.rlcm/remote.json`: which workspace a mirror mirrors, and as of when.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct RemoteInfo {
    /// Always 1.
    pub format_version: u32,
    /// The remote's name.
    pub remote: String,
    /// Its base URL.
    pub url: String,
    /// The workspace id (`users/me`).
    pub workspace_id: u64,
    /// The workspace name.
    pub workspace_name: String,
    /// The root folder id.
    pub root_folder_id: Option<u64>,
    /// When the pull finished.
    pub pulled_at: String,
    /// The export package(s) the mirror was built from.
    pub package_ids: Vec<u64>,
    /// The folders pulled (empty: the whole workspace).
    pub folders: Vec<String>,
    /// Custom connectors and their versions.
    pub connectors: Vec<RemoteConnector>,
    /// Recipes and their running state.
    pub recipes: Vec<RemoteRecipe>,
}

/// What changed in the workspace since the mirror's previous pull.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct MirrorChanges {
    /// True when there was no previous pull.
    pub first_pull: bool,
    /// Files that appeared.
    pub added: Vec<String>,
    /// Files that disappeared.
    pub removed: Vec<String>,
    /// Files whose bytes changed.
    pub changed: Vec<String>,
    /// Recipes started since.
    pub started: Vec<String>,
    /// Recipes stopped since.
    pub stopped: Vec<String>,
    /// Connectors whose released, latest or shared version changed (`title: old -> new`).
    pub connectors: Vec<String>,
}

impl MirrorChanges {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.started.is_empty()
            && self.stopped.is_empty()
            && self.connectors.is_empty()
    }
}

/// `rlcm pull`'s report.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PullReport {
    /// Always 1.
    pub format_version: u32,
    /// The remote.
    pub remote: String,
    /// Its URL.
    pub url: String,
    /// The workspace id.
    pub workspace_id: u64,
    /// The workspace name.
    pub workspace_name: String,
    /// The export package(s).
    pub package_ids: Vec<u64>,
    /// What was written (the zip or the mirror directory).
    pub output: String,
    /// `zip` or `mirror`.
    pub kind: PullKind,
    /// Number of package entries.
    pub entries: usize,
    /// For a mirror: what changed since the previous pull.
    pub changes: Option<MirrorChanges>,
}

/// What a pull wrote.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PullKind {
    /// A package zip.
    Zip,
    /// A mirror environment.
    Mirror,
}

/// Resolves a folder path (`A/B`) to its id, walking the folders API from the root.
pub(crate) fn resolve_folder(client: &Client, path: &str) -> Result<u64> {
    let mut parent: Option<u64> = None;
    let mut walked = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let children: Vec<Folder> = client.folders(parent)?;
        let found = children
            .iter()
            .find(|f| f.name == part)
            .or_else(|| children.iter().find(|f| f.name.eq_ignore_ascii_case(part)))
            .ok_or_else(|| Error::NotFound {
                what: "folder",
                name: path.to_string(),
                hint: None,
                within: Some(format!(
                    "in the workspace (no `{part}` under `{}`; it has: {})",
                    if walked.is_empty() { "the root" } else { &walked },
                    children
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })?;
        parent = Some(found.id);
        if !walked.is_empty() {
            walked.push('/');
        }
        walked.push_str(&found.name);
    }
    parent.ok_or_else(|| Error::invalid(Subject::Arguments, format!("folder path `{path}` is empty")))
}

/// Exports folder `folder_id` and downloads the package: (package id, zip bytes).
pub fn export_folder(
    client: &Client,
    folder_id: u64,
    poll: PollOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(u64, Vec<u8>)> {
    let name = format!("rlcm-pull-{}", crate::env::now_unix());
    let manifest = client.create_folder_manifest(&name, folder_id)?;
    progress(&format!("export manifest {} created", manifest.id));
    let started = client.export_package(manifest.id)?;
    progress(&format!("export {} started", started.id));
    let done = client.wait_package(started, poll, &mut |p| {
        progress(&format!(
            "export {}: {}",
            p.id,
            serde_json::to_value(p.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ))
    })?;
    if !done.status.is_success() {
        return Err(Error::invalid(
            Subject::Remote(client.base_url().to_string()),
            format!(
                "{}: export {} of folder {folder_id} failed: {}",
                client.base_url(),
                done.id,
                client.redact(done.error.as_deref().unwrap_or("no reason given"))
            ),
        )
        .hint("fix it in Workato and pull again"));
    }
    let bytes = client.download_package(done.id)?;
    if bytes.len() as u64 > MAX_PACKAGE_BYTES {
        return Err(Error::invalid(
            Subject::Package(format!("package {}", done.id)),
            format!("package {} is larger than Workato's 100 MB limit", done.id),
        ));
    }
    progress(&format!("package {} downloaded ({} bytes)", done.id, bytes.len()));
    Ok((done.id, bytes))
}

/// Writes `bytes` to a temporary zip in `dir` and reads every entry with the defensive
/// reader (a truncated or damaged download fails here, before anything is replaced).
fn checked_zip(dir: &Path, bytes: &[u8], package_id: u64) -> Result<(tempfile::NamedTempFile, Source)> {
    fsutil::create_dir_all(dir)?;
    let mut tmp = fsutil::temp_file_in(tempfile::Builder::new().prefix(".rlcm-pull-").suffix(".zip"), dir)
        .with_path("create a temporary file in", dir)?;
    let tmp_path = tmp.path().to_path_buf();
    fsutil::write_all(&mut tmp, bytes, &tmp_path).with_path("write", &tmp_path)?;
    let source = Source::open(tmp.path()).map_err(|e| {
        Error::invalid(
            Subject::Package(format!("package {package_id}")),
            format!("package {package_id} as downloaded is not a readable zip ({e})"),
        )
        .hint(
            "the download was \
             probably cut short: pull again",
        )
    })?;
    let mut reader = source.reader()?;
    for entry in source.entries() {
        reader.read(entry)?;
    }
    Ok((tmp, source))
}

/// Pulls from `client` as `opts` says.
pub fn pull(
    client: &Client,
    url: &str,
    opts: &PullOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<PullReport> {
    let me: User = client.users_me()?;
    let mut targets = Vec::new();
    if opts.folders.is_empty() {
        let root = me.root_folder_id.ok_or_else(|| {
            Error::invalid(
                Subject::Remote(url.to_string()),
                format!("{url}/api/users/me gave no root_folder_id"),
            )
            .hint("pull with `--folder PATH`")
        })?;
        targets.push((String::new(), root));
    } else {
        for f in &opts.folders {
            let f = f.trim_matches('/').to_string();
            targets.push((f.clone(), resolve_folder(client, &f)?));
        }
    }
    match &opts.target {
        PullTarget::Zip(out) => {
            if targets.len() != 1 {
                return Err(Error::invalid(
                    Subject::Arguments,
                    "a package zip holds one folder: give one `--folder`, or pull into a directory",
                ));
            }
            let (id, bytes) = export_folder(client, targets[0].1, opts.poll, progress)?;
            let dir = parent_of(out);
            let (tmp, source) = checked_zip(&dir, &bytes, id)?;
            let entries = source.entries().len();
            drop(source);
            fsutil::sync_file(tmp.as_file(), tmp.path()).with_path("sync", tmp.path())?;
            crate::env::txn::crash_point("pull-zip");
            fsutil::persist(tmp, out).map_err(|e| Error::io("replace", out, e.error))?;
            fsutil::sync_dir(&dir)?;
            Ok(PullReport {
                format_version: FORMAT_VERSION,
                remote: opts.remote.clone(),
                url: url.to_string(),
                workspace_id: me.id,
                workspace_name: me.name,
                package_ids: vec![id],
                output: out.display().to_string(),
                kind: PullKind::Zip,
                entries,
                changes: None,
            })
        }
        PullTarget::Mirror(dest) => pull_mirror(client, url, &me, &targets, dest, opts, progress),
    }
}

fn parent_of(p: &Path) -> PathBuf {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn previous_of(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".rlcm-previous");
    parent_of(dest).join(name)
}

/// Puts back a mirror a crash left at `<mirror>.rlcm-previous`.
fn recover_swap(dest: &Path) -> Result<()> {
    let prev = previous_of(dest);
    if prev.is_dir() {
        if dest.exists() {
            fsutil::remove_dir_all(&prev).with_path("remove", &prev)?;
        } else {
            fsutil::rename(&prev, dest).with_path("restore", dest)?;
        }
    }
    Ok(())
}

/// Reads the mirror at `dest`, if it is one.
pub(crate) fn read_remote_info(dest: &Path) -> Result<Option<RemoteInfo>> {
    let path = dest.join(".rlcm").join(REMOTE_JSON);
    match fsutil::read_optional(&path)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::json(path.display().to_string(), &e).hint("pull into a new directory")),
    }
}

/// The tree's files (not `.rlcm/`) with a hash of each.
fn tree_hashes(root: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if !root.is_dir() {
        return Ok(out);
    }
    for e in walkdir::WalkDir::new(root).min_depth(1) {
        let e = e.map_err(|e| {
            Error::invalid(
                Subject::path(root),
                format!("cannot read `{}`: {e}", root.display()),
            )
        })?;
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap_or(e.path())
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with(".rlcm/") {
            continue;
        }
        let bytes = fsutil::read(e.path())?;
        out.insert(rel, blake3::hash(&bytes).to_hex().to_string());
    }
    Ok(out)
}

fn pull_mirror(
    client: &Client,
    url: &str,
    me: &User,
    targets: &[(String, u64)],
    dest: &Path,
    opts: &PullOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<PullReport> {
    recover_swap(dest)?;
    let previous = previous_mirror(dest, me, url)?;
    let parent = parent_of(dest);
    fsutil::create_dir_all(&parent)?;
    // The work directory of a pull into this mirror that was killed is garbage: remove it.
    let work_prefix = format!(
        ".rlcm-pull-{}-",
        dest.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    );
    remove_stale_work_dirs(&parent, &work_prefix)?;
    let work = fsutil::temp_dir_in(
        tempfile::Builder::new().prefix(&work_prefix).rand_bytes(6),
        &parent,
    )
    .with_path("create a temporary directory in", &parent)?;

    // The custom connectors and recipes lists do not depend on the export: they are fetched on
    // a second thread while the export runs and downloads (with the documented limits, the
    // recipes pages at 60 a minute are most of a large pull).
    let (exported, lists) = std::thread::scope(|scope| {
        let lists = scope.spawn(|| -> Result<_> {
            let connectors = client.custom_connectors()?;
            let recipes = client.recipes_of(me.recipes_count)?;
            Ok((connectors, recipes))
        });
        let exported = export_targets(client, targets, work.path(), opts, progress);
        let lists = lists.join().unwrap_or_else(|_| {
            Err(Error::invalid(
                Subject::Remote(url.to_string()),
                format!("{url}: listing the recipes failed unexpectedly"),
            )
            .hint("pull again"))
        });
        (exported, lists)
    });
    let (package_ids, entries, pkg_path, _downloaded) = exported?;
    let (connectors, recipes) = lists?;

    let built = work.path().join("mirror");
    unpack(&pkg_path, &built)?;
    init(
        &built,
        &InitOptions {
            name: Some(opts.remote.clone()),
            id: Some(me.id),
            from: None,
            user: opts.user.clone(),
        },
    )?;
    // `init` has just written the summary cache: this load reuses it (no file parsed twice).
    let (_, ws) = Workspace::load_tree_cached(&built)?;
    let remote_connectors: Vec<RemoteConnector> = connectors
        .iter()
        .map(|c| RemoteConnector {
            id: c.id,
            title: c.title.clone(),
            name: c.name.clone(),
            latest: c.latest_version.or(c.latest_released_version),
            released: c.latest_released_version,
            shared: c.shared_version(),
        })
        .collect();
    let remote_recipes = match_recipes(&ws, &recipes);
    adjust_state(&built, &remote_connectors, &remote_recipes, &opts.user)?;
    let info = RemoteInfo {
        format_version: FORMAT_VERSION,
        remote: opts.remote.clone(),
        url: url.to_string(),
        workspace_id: me.id,
        workspace_name: me.name.clone(),
        root_folder_id: me.root_folder_id,
        pulled_at: crate::env::now_rfc3339(),
        package_ids: package_ids.clone(),
        folders: opts.folders.clone(),
        connectors: remote_connectors,
        recipes: remote_recipes,
    };
    fsutil::write_synced(
        &built.join(".rlcm").join(REMOTE_JSON),
        &crate::json::to_pretty_vec(&info),
    )?;

    let changes = changes_between(dest, previous.as_ref(), &built, &info)?;
    carry_history(dest, &built)?;
    crate::env::txn::crash_point("pull-built");

    swap_in(dest, &built, &parent)?;
    // The summary cache `init` wrote stays valid across the rename (it is bound to the
    // directories' inodes): no third load of the workspace.
    Ok(PullReport {
        format_version: FORMAT_VERSION,
        remote: opts.remote.clone(),
        url: url.to_string(),
        workspace_id: me.id,
        workspace_name: me.name.clone(),
        package_ids,
        output: dest.display().to_string(),
        kind: PullKind::Mirror,
        entries,
        changes: Some(changes),
    })
}

/// The mirror `dest` holds (`None`: it does not exist or is empty); an error when it is
/// something else, or a mirror of another workspace.
fn previous_mirror(dest: &Path, me: &User, url: &str) -> Result<Option<RemoteInfo>> {
    Ok(if dest.exists() {
        let info = read_remote_info(dest)?;
        let empty = std::fs::read_dir(dest).with_path("read", dest)?.next().is_none();
        if info.is_none() && !empty {
            return Err(Error::exists(
                Subject::path(dest),
                format!(
                    "`{}` exists and is not a mirror pulled by rlcm (no `.rlcm/remote.json`)",
                    dest.display()
                ),
            )
            .hint(
                "pull \
                 into a new directory",
            ));
        }
        if let Some(i) = &info
            && (i.workspace_id != me.id || i.url != url)
        {
            return Err(Error::exists(
                Subject::path(dest),
                format!(
                    "`{}` mirrors workspace {} at {}, not {} at {url}",
                    dest.display(),
                    i.workspace_id,
                    i.url,
                    me.id
                ),
            )
            .hint("pull into another directory"));
        }
        info
    } else {
        None
    })
}

/// Removes the work directories (`<work_prefix>` and 6 random characters) of pulls into this
/// mirror that were killed.
fn remove_stale_work_dirs(parent: &Path, work_prefix: &str) -> Result<()> {
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            // Exactly the prefix and tempfile's 6 random characters: not the work directory of
            // a pull into another mirror whose name starts the same (`mirror-x`).
            let name = e.file_name().to_string_lossy().to_string();
            let stale = name
                .strip_prefix(work_prefix)
                .is_some_and(|rest| rest.len() == 6 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
                && e.file_type().is_ok_and(|t| t.is_dir());
            if stale {
                fsutil::remove_dir_all(&e.path()).with_path("remove", e.path())?;
            }
        }
    }
    Ok(())
}

/// Puts the mirror built in `built` at `dest`: the old mirror moves aside, the new one takes
/// its place, the old one is removed (a pull killed in between is finished by
/// `recover_swap`).
fn swap_in(dest: &Path, built: &Path, parent: &Path) -> Result<()> {
    let prev = previous_of(dest);
    if dest.exists() {
        fsutil::rename(dest, &prev).with_path("move aside", dest)?;
        crate::env::txn::crash_point("pull-swap");
        fsutil::rename(built, dest).with_path("replace", dest)?;
        fsutil::sync_dir(parent)?;
        crate::env::txn::crash_point("pull-swapped");
        fsutil::remove_dir_all(&prev).with_path("remove", &prev)?;
    } else {
        fsutil::rename(built, dest).with_path("create", dest)?;
        fsutil::sync_dir(parent)?;
    }
    Ok(())
}

/// Exports and downloads every target folder into `work`: (package ids, entries, the package
/// to unpack, the temporary file holding it when it is the download as it is).
type Exported = (Vec<u64>, usize, PathBuf, Option<tempfile::NamedTempFile>);

fn export_targets(
    client: &Client,
    targets: &[(String, u64)],
    work: &Path,
    opts: &PullOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Exported> {
    // One combined package: each folder's entries under its path.
    let mut package_ids = Vec::new();
    let mut combined: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (path, id) in targets {
        let (pkg, bytes) = export_folder(client, *id, opts.poll, progress)?;
        package_ids.push(pkg);
        let (tmp, source) = checked_zip(work, &bytes, pkg)?;
        drop(bytes);
        // Whether a folder's export carries full paths or paths under the folder is not
        // documented: entries that already start with the folder's path are kept as they are.
        let prefixed = path.is_empty()
            || source
                .entries()
                .iter()
                .all(|e| e.path.starts_with(&format!("{path}/")));
        if prefixed && targets.len() == 1 {
            // One folder whose entries need no prefix: the checked download is the package as
            // it is (no second decompression and recompression).
            let n = source.entries().len();
            let p = tmp.path().to_path_buf();
            return Ok((package_ids, n, p, Some(tmp)));
        }
        let mut reader = source.reader()?;
        for entry in source.entries() {
            let name = if prefixed {
                entry.path.clone()
            } else {
                format!("{path}/{}", entry.path)
            };
            combined.insert(name, reader.read(entry)?);
        }
    }
    let p = work.join("pulled.zip");
    write_zip(&p, &combined)?;
    Ok((package_ids, combined.len(), p, None))
}

/// Writes the entries of the package at `pkg` into the new directory `dir`, byte for byte,
/// and makes them durable with one flush of the file system (`syncfs` on Linux) rather than an
/// fsync per file: the mirror is published only by the rename that follows, so nothing is
/// visible before it is all on disk.
fn unpack(pkg: &Path, dir: &Path) -> Result<()> {
    use rayon::prelude::*;
    let source = Source::open(pkg)?;
    fsutil::create_dir_all(dir)?;
    fsutil::check_case_collisions(dir, source.entries().iter().map(|e| e.path.as_str()))?;
    let entries: Vec<&crate::source::Entry> = source
        .entries()
        .iter()
        .filter(|e| e.path != crate::package::MANIFEST_NAME)
        .collect();
    // The folders first (each once, in order), then the files on every core: each thread
    // inflates and writes its share with its own reader of the archive.
    let folders: BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.path.rsplit_once('/').map(|(d, _)| d))
        .collect();
    for f in folders {
        fsutil::create_dir_all(&dir.join(f))?;
    }
    let share = entries
        .len()
        .div_ceil(4 * rayon::current_num_threads().max(1))
        .max(64);
    let written: Vec<Vec<PathBuf>> = entries
        .par_chunks(share)
        .map(|chunk| -> Result<Vec<PathBuf>> {
            let mut reader = source.reader()?;
            let mut out = Vec::with_capacity(chunk.len());
            for entry in chunk {
                let bytes = reader.read(entry)?;
                let target = dir.join(&entry.path);
                fsutil::write_file(&target, &bytes).with_path("write", &target)?;
                out.push(target);
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    flush_tree(dir, &written.concat())
}

/// Every write under `dir` on disk.
fn flush_tree(dir: &Path, files: &[PathBuf]) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let _ = files;
        fsutil::syncfs(dir)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut dirs = BTreeSet::new();
        for f in files {
            std::fs::File::open(f)
                .and_then(|h| fsutil::sync_file(&h, f))
                .with_path("sync", f)?;
            if let Some(p) = f.parent() {
                dirs.insert(p.to_path_buf());
            }
        }
        for d in dirs {
            fsutil::sync_dir(&d)?;
        }
        fsutil::sync_dir(dir)
    }
}

fn write_zip(path: &Path, entries: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    fsutil::write_atomic_with(path, |w| {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o =
                zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            for (name, bytes) in entries {
                z.start_file(name.as_str(), o).map_err(std::io::Error::other)?;
                std::io::Write::write_all(&mut z, bytes)?;
            }
            z.finish().map_err(std::io::Error::other)?;
        }
        w.write_all(buf.get_ref())
    })
}

/// Matches the API's recipes to the tree's recipe files: by name when the name is unique in
/// the tree (package entries carry no ids).
fn match_recipes(ws: &Workspace, recipes: &[super::api::Recipe]) -> Vec<RemoteRecipe> {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in ws.assets.iter().filter(|a| a.asset_type == AssetType::Recipe) {
        by_name.entry(a.name.as_str()).or_default().push(a.path.as_str());
    }
    recipes
        .iter()
        .map(|r| RemoteRecipe {
            id: r.id,
            name: r.name.clone(),
            path: by_name
                .get(r.name.as_str())
                .filter(|p| p.len() == 1)
                .map(|p| p[0].to_string()),
            running: r.running,
        })
        .collect()
}

/// Sets the mirror's connector versions and running recipes to what the APIs said.
fn adjust_state(
    root: &Path,
    connectors: &[RemoteConnector],
    recipes: &[RemoteRecipe],
    user: &str,
) -> Result<()> {
    let rlcm = root.join(".rlcm");
    for c in connectors {
        let path = root.join(crate::env::connector_state_path(&c.title));
        let Some(bytes) = fsutil::read_optional(&path)? else {
            continue;
        };
        let mut st: crate::env::ConnectorState =
            serde_json::from_slice(&bytes).map_err(|e| Error::json(path.display().to_string(), &e))?;
        // The package carries the released code: number that version as Workato does.
        if let (Some(rel), Some(first)) = (c.released, st.versions.first_mut())
            && first.version != rel
        {
            let old_code = rlcm.join("connectors").join(&first.code);
            first.version = rel;
            first.code = crate::env::version_code_file(&c.title, rel);
            let new_code = rlcm.join("connectors").join(&first.code);
            if old_code != new_code {
                fsutil::rename(&old_code, &new_code).with_path("rename", &old_code)?;
            }
        }
        st.released = c.released.or(st.released);
        st.shared = c.shared.filter(|s| st.version(*s).is_some());
        if !c.name.is_empty() {
            st.provider = c.name.clone();
        }
        // Deterministic: the same workspace pulled twice gives the same state (and digest).
        for v in &mut st.versions {
            v.created_at = PULLED.into();
            v.created_by = "workato".into();
            if v.released_at.is_some() {
                v.released_at = Some(PULLED.into());
                v.released_by = Some("workato".into());
            }
        }
        fsutil::write_synced(&path, &crate::json::to_pretty_vec(&st))?;
    }
    let rpath = rlcm.join("recipes.json");
    let mut states: crate::env::RecipeStates = match fsutil::read_optional(&rpath)? {
        Some(b) => serde_json::from_slice(&b).map_err(|e| Error::json(rpath.display().to_string(), &e))?,
        None => Default::default(),
    };
    states.format_version = 1;
    states.running.clear();
    for r in recipes.iter().filter(|r| r.running) {
        if let Some(p) = &r.path {
            states.running.insert(
                p.clone(),
                crate::env::RunInfo {
                    since: PULLED.into(),
                    by: "workato".into(),
                },
            );
        }
    }
    fsutil::write_synced(&rpath, &crate::json::to_pretty_vec(&states))?;
    let bpath = rlcm.join("baseline.json");
    if let Some(b) = fsutil::read_optional(&bpath)? {
        let mut base: crate::env::Baseline =
            serde_json::from_slice(&b).map_err(|e| Error::json(bpath.display().to_string(), &e))?;
        base.at = None;
        fsutil::write_synced(&bpath, &crate::json::to_pretty_vec(&base))?;
    }
    let _ = user;
    Ok(())
}

fn changes_between(
    old_root: &Path,
    old: Option<&RemoteInfo>,
    new_root: &Path,
    new: &RemoteInfo,
) -> Result<MirrorChanges> {
    let Some(old) = old else {
        return Ok(MirrorChanges {
            first_pull: true,
            ..Default::default()
        });
    };
    let a = tree_hashes(old_root)?;
    let b = tree_hashes(new_root)?;
    let mut ch = MirrorChanges::default();
    for (k, h) in &b {
        match a.get(k) {
            None => ch.added.push(k.clone()),
            Some(x) if x != h => ch.changed.push(k.clone()),
            _ => {}
        }
    }
    ch.removed = a.keys().filter(|k| !b.contains_key(*k)).cloned().collect();
    let was: BTreeSet<&str> = old
        .recipes
        .iter()
        .filter(|r| r.running)
        .map(|r| r.name.as_str())
        .collect();
    let is: BTreeSet<&str> = new
        .recipes
        .iter()
        .filter(|r| r.running)
        .map(|r| r.name.as_str())
        .collect();
    ch.started = is.difference(&was).map(|s| s.to_string()).collect();
    ch.stopped = was.difference(&is).map(|s| s.to_string()).collect();
    for c in &new.connectors {
        let before = old.connectors.iter().find(|o| o.title == c.title);
        let fmt = |x: &RemoteConnector| {
            format!(
                "released {}, latest {}, shared {}",
                v(x.released),
                v(x.latest),
                v(x.shared)
            )
        };
        match before {
            None => ch.connectors.push(format!("{}: new ({})", c.title, fmt(c))),
            Some(o) if (o.released, o.latest, o.shared) != (c.released, c.latest, c.shared) => ch
                .connectors
                .push(format!("{}: {} -> {}", c.title, fmt(o), fmt(c))),
            _ => {}
        }
    }
    Ok(ch)
}

fn v(x: Option<u64>) -> String {
    x.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

/// Copies the push history (`.rlcm/pushes.json`, `.rlcm/pushes/`) of the old mirror into the
/// new one: it is rlcm's record, not the workspace's.
fn carry_history(old: &Path, new: &Path) -> Result<()> {
    let from = old.join(".rlcm");
    let to = new.join(".rlcm");
    if let Some(b) = fsutil::read_optional(&from.join("pushes.json"))? {
        fsutil::write_synced(&to.join("pushes.json"), &b)?;
    }
    let dir = from.join("pushes");
    if dir.is_dir() {
        for e in walkdir::WalkDir::new(&dir).min_depth(1) {
            let e = e.map_err(|e| {
                Error::invalid(
                    Subject::path(&dir),
                    format!("cannot read `{}`: {e}", dir.display()),
                )
            })?;
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(&from).unwrap_or(e.path());
                fsutil::write_synced(&to.join(rel), &fsutil::read(e.path())?)?;
            }
        }
    }
    Ok(())
}
