//! The production index: `.rlcm/cache/index.redb` (a redb database, git-ignored, rebuildable
//! at any time), so that `impact`, `connector check` and the breaking-change scan of
//! `connector release` and `restore` on a large environment read the rows they need instead of
//! loading every summary and building the whole graph.
//!
//! What it holds, per asset (by a dense id, the asset's rank in path order): its path and
//! type, the assets that reference it directly (in the order the graph search visits them),
//! and the connector actions and triggers it uses, attributed to their connector. Beside them:
//! path → id, asset name → ids, connector title and slug → ids, each connector's uses, the
//! connectors in path order and the tree's unattributed provider names.
//!
//! It is *opened, not decoded*: a query reads a header and the rows it visits.
//!
//! **Validity.** The header (`index.head`, beside the database, read before the database is
//! opened) carries the tree digest (a blake3 over every file's path and, for the files whose
//! content matters, size and modification time, as [`tree_digest`] says), the same binding as
//! the summary cache (a keyed hash of the environment's inodes and the machine, see
//! [`crate::cache`]), which is also kept in `index.bind` and checked before anything else is
//! parsed, and the generation of the database it was written with. An index is used only when
//! its format and rlcm version are this build's, its binding is this environment's on this
//! machine, its database is the header's, and the digest of the tree as it is now (one walk and
//! one `lstat` per file, as every load does) equals the recorded one. Files that were "racy"
//! when the index was written (modified within the last two seconds), and the files a
//! connector command wrote since, are recorded with their blake3 and hashed again. Anything
//! else — no index, a damaged file, another directory's or machine's index, any file added,
//! removed or edited — and the caller loads the whole tree as before (then writes a fresh
//! index).
//!
//! It also holds `baseline.json`'s hashes by path, with the blake3 of the file they were read
//! from: a plan that finds the file with that hash looks hashes up there instead of parsing it.
//!
//! The index is written after a full load by the commands that use it, under the reader lock
//! (so no commit runs meanwhile): the database to a temporary file renamed into place, then the
//! header, atomically: a crash leaves the old header, which matches neither the new database
//! nor the tree. A connector command that found the index valid keeps it so: its writes change
//! nothing the index holds, and [`Index::rewrite_header`] records the tree as it wrote it.

use crate::error::Subject;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::asset::{self, AssetType, FileRole, StepKind};
use crate::graph::DepGraph;
use crate::source::{Entry, Source};
use crate::workspace::Workspace;

/// Bumped whenever the index changes meaning.
const FORMAT: u32 = 5;

/// More racy files than this when writing, and no index is written (the next command writes
/// one, when the tree has settled).
const MAX_RACY: usize = 256;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const PATHS: TableDefinition<&str, u32> = TableDefinition::new("paths");
const ASSETS: TableDefinition<u32, &[u8]> = TableDefinition::new("assets");
const NAMES: TableDefinition<&str, &[u8]> = TableDefinition::new("names");
const CONNECTOR_NAMES: TableDefinition<&str, &[u8]> = TableDefinition::new("connector_names");
const CONNECTOR_SLUGS: TableDefinition<&str, &[u8]> = TableDefinition::new("connector_slugs");
const CONNECTOR_USES: TableDefinition<u32, &[u8]> = TableDefinition::new("connector_uses");
/// `baseline.json`'s hashes by asset path, as the file was when the index was written (see
/// `Header::baseline`).
const BASELINE: TableDefinition<&str, &str> = TableDefinition::new("baseline");

/// Why an index cannot answer (the caller then loads the tree).
#[derive(Debug)]
pub struct Unusable(pub String);

impl<E: std::fmt::Display> From<E> for Unusable {
    fn from(e: E) -> Self {
        Unusable(e.to_string())
    }
}

type R<T> = std::result::Result<T, Unusable>;

/// The header, kept apart in `index.head` (see [`head_path`]).
#[derive(Clone, Serialize, Deserialize)]
struct Header {
    format: u32,
    version: String,
    binding: [u8; 32],
    digest: [u8; 32],
    /// Files modified shortly before the index was written: path and blake3 hex.
    racy: Vec<(String, String)>,
    assets: u32,
    /// Drawn for each database written, recorded in it too: a header is believed only with
    /// the database it was written with.
    generation: [u8; 16],
    /// The epoch of `rlcm watch` (see [`crate::watch::daemon`]) that the walk recorded in
    /// `digest` ran in: while the watcher answers with it, nothing changed since before that
    /// walk, and the index is believed without a walk.
    watch: Option<crate::watch::Epoch>,
    /// [`crate::env::assets_digest`] of the tree as indexed (the target digest of a plan from
    /// the index); `None` once a connector command rewrote files whose hashes it covers.
    assets_digest: Option<[u8; 32]>,
    /// The blake3 of `baseline.json` as it was when its hashes were copied into the
    /// `baseline` table: a plan that finds the file with this hash (it hashes the file for its
    /// target digest anyway) looks hashes up there instead of parsing the whole file.
    baseline: Option<[u8; 32]>,
}

/// One asset's row.
#[derive(Debug, Serialize, Deserialize)]
pub struct Row {
    /// Its path.
    pub path: String,
    /// Its type, as written in file names ([`AssetType::as_str`]).
    pub asset_type: String,
    /// The assets that reference it directly, in the graph search's order.
    pub incoming: Vec<u32>,
    /// The connector actions and triggers it uses, attributed to a connector.
    pub uses: Vec<Use>,
}

impl Row {
    /// True for a recipe.
    pub(crate) fn is_recipe(&self) -> bool {
        self.asset_type == AssetType::Recipe.as_str()
    }

    /// True for a custom connector.
    pub(crate) fn is_connector(&self) -> bool {
        self.asset_type == AssetType::CustomAdapter.as_str()
    }
}

/// A connector action or trigger used by a recipe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Use {
    /// The recipe (in a connector's list) or the connector (in a recipe's row).
    pub asset: u32,
    /// Trigger or action.
    pub kind: StepKind,
    /// The action or trigger name.
    pub name: String,
    /// The step numbers.
    pub steps: Vec<u64>,
}

/// Where an environment's index lives.
pub(crate) fn index_path(root: &Path) -> PathBuf {
    root.join(".rlcm/cache/index.redb")
}

/// The index's binding, beside it (`index.bind`, 32 bytes): checked before the database file is
/// parsed at all, so that a file this rlcm did not write here is never handed to redb.
fn bind_path(root: &Path) -> PathBuf {
    root.join(".rlcm/cache/index.bind")
}

/// The index's header, beside it (`index.head`): format, version, binding, tree digest, racy
/// files and the database's generation, read before the database is opened. It is written
/// last (atomically, through `fsutil`), so it is the commit point of an index: a crash before
/// it leaves the old header, whose generation or digest no longer matches.
fn head_path(root: &Path) -> PathBuf {
    root.join(".rlcm/cache/index.head")
}

/// How commands use the index, from the environment variable `RLCM_INDEX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `on`: use it when valid, else load the tree and write a fresh one.
    Auto,
    /// Unset (the default until every writing command keeps the index up to date: the
    /// connector commands do, but the first reader after an import pays the rebuild; a running
    /// `rlcm watch`, which rebuilds it after writes itself, turns it on, see [`mode_at`]), or `off`: never read
    /// nor write it (every command loads the whole tree, as before the index;
    /// for differential tests and to rule the index out).
    Off,
    /// `require`: fail, saying why, when it cannot answer (for tests and benchmarks that must
    /// measure the index, not the fallback).
    Require,
}

/// The mode `RLCM_INDEX` asks for (`on`, `require`; unset or anything else is [`Mode::Off`]).
pub fn mode() -> Mode {
    match std::env::var("RLCM_INDEX").as_deref() {
        Ok("on") => Mode::Auto,
        Ok("require") => Mode::Require,
        _ => Mode::Off,
    }
}

/// `RLCM_INDEX=off`: never read nor write the index, watcher or not.
fn forced_off() -> bool {
    std::env::var("RLCM_INDEX").as_deref() == Ok("off")
}

/// The mode for a read-only command on the environment at `root`, and the live epoch of its
/// watcher, asked before anything is walked (the epoch the command's walk runs in). A watcher
/// turns the index on where `RLCM_INDEX` is unset: running one is asking for it.
/// `RLCM_INDEX=off` keeps it off, watcher or not.
pub(crate) fn mode_at(root: &Path) -> (Mode, Option<crate::watch::Epoch>) {
    if forced_off() {
        return (Mode::Off, None);
    }
    let epoch = crate::watch::epoch(root);
    match mode() {
        Mode::Off if epoch.is_some() => (Mode::Auto, epoch),
        m => (m, epoch),
    }
}

/// The error of [`Mode::Require`] when the index of `root` cannot answer.
pub fn required(root: &Path, why: &Unusable) -> crate::error::Error {
    crate::error::Error::invalid(
        Subject::environment(root),
        format!(
            "RLCM_INDEX=require is set, but the production index of `{}` cannot answer ({})",
            root.display(),
            why.0
        ),
    )
    .hint("run the command with RLCM_INDEX=on once to rebuild it")
}

/// The digest of a tree as a source lists it (entries sorted by path): every path, and the
/// size and modification time of each file whose content the workspace keeps (asset JSON
/// files, and a connector's code and logo beside its JSON file). Other files only count by
/// name (a workspace keeps only their paths).
pub(crate) fn tree_digest(entries: &[Entry]) -> [u8; 32] {
    let rows: Vec<(&str, u64, u64)> = entries
        .iter()
        .map(|e| (e.path.as_str(), e.size, e.mtime))
        .collect();
    digest_rows(&rows)
}

/// [`tree_digest`] of `(path, size, mtime)` rows sorted by path.
fn digest_rows(rows: &[(&str, u64, u64)]) -> [u8; 32] {
    let has = |p: &str| rows.binary_search_by(|e| e.0.cmp(p)).is_ok();
    let mut h = blake3::Hasher::new();
    h.update(&(rows.len() as u64).to_le_bytes());
    for &(path, size, mtime) in rows {
        let content = match asset::classify(path) {
            FileRole::Asset(_) => true,
            FileRole::ConnectorCode(json) | FileRole::ConnectorLogo(json) => has(&json),
            FileRole::Other => false,
        };
        h.update(&(path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        if content {
            h.update(&[1]);
            h.update(&size.to_le_bytes());
            h.update(&mtime.to_le_bytes());
        } else {
            h.update(&[0]);
        }
    }
    *h.finalize().as_bytes()
}

fn encode<T: Serialize>(v: &T) -> R<Vec<u8>> {
    Ok(postcard::to_stdvec(v)?)
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> R<T> {
    Ok(postcard::from_bytes(bytes)?)
}

/// The `.rlcm/cache` folder, when it is (or can be made) a real directory.
fn cache_dir(root: &Path, create: bool) -> Option<PathBuf> {
    crate::env::guard::check_state_dir(root).ok()?;
    let dir = root.join(".rlcm/cache");
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => Some(dir),
        Ok(_) => None,
        Err(_) if create && std::fs::symlink_metadata(root.join(".rlcm")).is_ok_and(|m| m.is_dir()) => {
            std::fs::create_dir(&dir).ok()?;
            Some(dir)
        }
        Err(_) => None,
    }
}

/// Writes the index of the tree whose files are `entries` (as a source lists them), as loaded
/// into `ws` (best effort: an index that cannot be written is simply not used).
/// `epoch` is the watcher's epoch asked before the walk that listed `entries`, if any.
///
/// When the load parsed [`STALE_CACHE`] files or an eighth of the tree (the summary cache did not have them:
/// imports planned from the index leave the cache as it is, so without a watcher it falls behind
/// by what each import wrote), the summary cache is written too, under the same read lock.
pub fn write(root: &Path, entries: &[Entry], ws: &Workspace, epoch: Option<crate::watch::Epoch>) {
    if forced_off() {
        return;
    }
    let _ = try_write(root, entries, ws, epoch);
    let parsed = ws.parsed_files();
    if parsed >= STALE_CACHE || parsed.saturating_mul(8) >= ws.assets.len().max(1) {
        ws.write_cache(root);
    }
}

/// See [`write`]: the summary cache is written again when the load parsed this many files (two
/// imports of the everyday package), or an eighth of the tree.
const STALE_CACHE: usize = 1000;

/// Writes a fresh index of the environment at `root` (and its summary cache) unless the one
/// there records the watcher's `epoch`: what `rlcm watch` does once the tree has been quiet for
/// a while after a change (an import, say), so that the next command is answered without a walk
/// and without loading the tree. The caller asks for `epoch` before this walks. Under the read
/// lock (a commit waits for it, as for any reader); best effort.
pub fn refresh(root: &Path, epoch: crate::watch::Epoch) {
    if forced_off() || vouched(root, Some(epoch)) {
        return;
    }
    let Ok(env) = crate::env::Environment::open(root) else {
        return;
    };
    if env.state.is_none() {
        return;
    }
    if let Ok((source, ws)) = Workspace::load_tree_cached(root) {
        let _ = try_write(root, source.entries(), &ws, Some(epoch));
        ws.write_cache(root);
    }
    drop(env);
}

/// Answers a read-only command on the initialised environment at `root`: with `indexed` from
/// a valid index (it returns `None` to leave a case, such as a name that matches nothing, to the
/// full load, which words the error as always), else with `full` from a load of the whole tree,
/// writing a fresh index on another thread meanwhile. With no index file at all, the load reads
/// the summary cache while it walks the tree, as before the index.
///
/// With an index, the tree is walked on other threads while this one opens the index and
/// computes the answer from it; the answer is returned only once the walk is done and the
/// tree's digest is the index's (the index is *validated before it is believed*, it is only
/// read earlier). An answer computed from an index that turns out stale is thrown away.
///
/// With a watcher (`rlcm watch`, see [`crate::watch::daemon`]) whose live epoch is the one the
/// index records, nothing changed since the walk the index was written or checked after: the
/// answer comes from the index without a walk. Otherwise the epoch asked before the walk is
/// recorded in the index written or found valid, for the next command.
pub fn answer<T>(
    root: &Path,
    indexed: impl Fn(&Index) -> R<Option<T>>,
    full: impl FnOnce(&Workspace) -> crate::error::Result<T>,
) -> crate::error::Result<T> {
    let (mode, epoch) = mode_at(root);
    let have = mode != Mode::Off && std::fs::symlink_metadata(index_path(root)).is_ok();
    if have
        && epoch.is_some()
        && let Ok(idx) = Index::open_unchecked(root)
        && idx.vouched_by(epoch)
        && let Ok(Some(answer)) = indexed(&idx)
    {
        return Ok(answer);
    }
    let (source, ws) = if have {
        let (source, early) = std::thread::scope(|scope| {
            let walk = std::thread::Builder::new().spawn_scoped(scope, || Source::open(root));
            let early = Index::open_unchecked(root).and_then(|idx| Ok((indexed(&idx)?, idx)));
            let source = match walk {
                Ok(walk) => walk.join().unwrap_or_else(|_| {
                    Err(
                        crate::error::Error::internal(format!("the walk of `{}` failed", root.display()))
                            .hint("run the command again"),
                    )
                }),
                // No thread to spare: the walk runs here.
                Err(_) => Source::open(root),
            };
            (source, early)
        });
        let source = source?;
        match early.and_then(|(answer, idx)| idx.check_tree(root, &source).map(|()| (answer, idx))) {
            Ok((Some(answer), idx)) => {
                let _ = idx.adopt(root, epoch);
                return Ok(answer);
            }
            Err(why) if mode == Mode::Require => return Err(required(root, &why)),
            _ => {}
        }
        let ws = Workspace::load_with(&source, crate::cache::SummaryCache::read(root))?;
        (source, ws)
    } else {
        if mode == Mode::Require {
            return Err(required(root, &Unusable("there is none".into())));
        }
        Workspace::load_tree_cached(root)?
    };
    if mode == Mode::Off {
        return full(&ws);
    }
    let entries = source.entries();
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| write(root, entries, &ws, epoch));
        let answer = full(&ws);
        let _ = writer.join();
        answer
    })
}

/// True when the index of `root` can be used and records the watcher's live `epoch`: the next
/// read-only command is answered from it without a walk.
pub(crate) fn vouched(root: &Path, epoch: Option<crate::watch::Epoch>) -> bool {
    Index::open_unchecked(root).is_ok_and(|idx| idx.vouched_by(epoch))
}

/// The index of the environment at `root`, valid for its tree as it is now, for a read-only
/// command that reads the tree through it (`plan`), with the mode and the epoch asked before
/// anything was walked: vouched for by the watcher, or checked against the walk's `Source`
/// (returned: a fallback to a full load reuses it), whose epoch it then records. `Ok((None,
/// ..))` when the mode is off, there is no index or it is stale; `RLCM_INDEX=require` makes
/// that an error.
pub(crate) fn open_valid(root: &Path) -> crate::error::Result<Validated> {
    let (mode, epoch) = mode_at(root);
    let mut out = Validated {
        mode,
        epoch,
        index: None,
        source: None,
    };
    if mode == Mode::Off {
        return Ok(out);
    }
    let why = if std::fs::symlink_metadata(index_path(root)).is_err() {
        Unusable("there is none".into())
    } else {
        match Index::open_unchecked(root) {
            Ok(idx) if idx.vouched_by(epoch) => {
                out.index = Some(idx);
                return Ok(out);
            }
            Ok(idx) => {
                let source = Source::open(root)?;
                let checked = idx.check_tree(root, &source);
                out.source = Some(source);
                match checked {
                    Ok(()) => {
                        let _ = idx.adopt(root, epoch);
                        out.index = Some(idx);
                        return Ok(out);
                    }
                    Err(why) => why,
                }
            }
            Err(why) => why,
        }
    };
    if mode == Mode::Require {
        return Err(required(root, &why));
    }
    Ok(out)
}

/// Writes `header` as the index's header, atomically: the commit point of an index.
fn write_head(root: &Path, header: &Header) -> R<()> {
    crate::fsutil::write_atomic(&head_path(root), &encode(header)?).map_err(|e| Unusable(e.to_string()))
}

/// What [`open_valid`] found.
pub(crate) struct Validated {
    /// The mode.
    pub mode: Mode,
    /// The watcher's epoch, asked before any walk.
    pub epoch: Option<crate::watch::Epoch>,
    /// The valid index.
    pub index: Option<Index>,
    /// The tree as walked, when it was.
    pub source: Option<Source>,
}

/// The header of a new index of the tree whose files are `entries`, as loaded into `ws`: the
/// files modified a moment ago are racy (recorded with their hash), and a fresh generation.
fn new_header(
    entries: &[Entry],
    ws: &Workspace,
    binding: [u8; 32],
    watch: Option<crate::watch::Epoch>,
) -> R<Header> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut racy = Vec::new();
    for a in &ws.assets {
        for f in a.files() {
            if f.mtime == 0 || f.mtime.saturating_add(crate::cache::RACY_NS) >= now {
                racy.push((f.path.to_string(), f.hash.to_string()));
            }
        }
    }
    if racy.len() > MAX_RACY {
        return Err(Unusable("too many files were modified a moment ago".into()));
    }
    let n = u32::try_from(ws.assets.len()).map_err(|_| Unusable("too many assets".into()))?;
    let digest = tree_digest(entries);
    let mut g = blake3::Hasher::new();
    g.update(&now.to_le_bytes());
    g.update(&std::process::id().to_le_bytes());
    g.update(&digest);
    let mut generation = [0u8; 16];
    generation.copy_from_slice(&g.finalize().as_bytes()[..16]);
    Ok(Header {
        format: FORMAT,
        version: env!("CARGO_PKG_VERSION").to_string(),
        binding,
        digest,
        racy,
        assets: n,
        generation,
        watch,
        assets_digest: Some(crate::env::assets_digest(ws)),
        baseline: None,
    })
}

/// `baseline.json` of the environment at `root` as it is now: its blake3 and its hashes.
fn read_baseline(root: &Path) -> R<Option<([u8; 32], crate::env::Baseline)>> {
    let file = root.join(".rlcm/baseline.json");
    let Some(bytes) = crate::fsutil::read_optional(&file)? else {
        return Ok(None);
    };
    let b = crate::env::parse_baseline(&file, &bytes)?;
    Ok(Some((*blake3::hash(&bytes).as_bytes(), b)))
}

/// redb's file backend with every write, resize and sync passed through the fault layer
/// ([`crate::fsutil::fault_point`]), like every other write rlcm makes.
#[derive(Debug)]
struct Hooked {
    inner: redb::backends::FileBackend,
    path: PathBuf,
}

impl redb::StorageBackend for Hooked {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        crate::fsutil::fault_point(crate::fsutil::FsOp::Write, &self.path)?;
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> std::io::Result<()> {
        crate::fsutil::fault_point(crate::fsutil::FsOp::Sync, &self.path)?;
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        crate::fsutil::fault_point(crate::fsutil::FsOp::Write, &self.path)?;
        self.inner.write(offset, data)
    }

    fn close(&self) -> std::io::Result<()> {
        self.inner.close()
    }
}

fn try_write(root: &Path, entries: &[Entry], ws: &Workspace, epoch: Option<crate::watch::Epoch>) -> R<()> {
    let Some(dir) = cache_dir(root, true) else {
        return Err(Unusable("no cache folder".into()));
    };
    let Some(binding) = crate::cache::binding(root, true) else {
        return Err(Unusable("no cache key".into()));
    };
    let mut header = new_header(entries, ws, binding, epoch)?;
    let generation = header.generation;
    // Read under the same read lock as the tree: no commit changes it meanwhile.
    let baseline = read_baseline(root)?;
    header.baseline = baseline.as_ref().map(|(h, _)| *h);
    let graph = DepGraph::build(ws);
    let mut builder = tempfile::Builder::new();
    builder.prefix(crate::fsutil::TEMP_PREFIX);
    let tmp = crate::fsutil::temp_file_in(&builder, &dir)?;
    {
        let backend = Hooked {
            inner: redb::backends::FileBackend::new(tmp.reopen()?)?,
            path: tmp.path().to_path_buf(),
        };
        let db = redb::Database::builder().create_with_backend(backend)?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("generation", generation.as_slice())?;
            let connectors: Vec<(&str, &str)> = ws
                .assets
                .iter()
                .filter(|a| a.asset_type == AssetType::CustomAdapter)
                .map(|a| (a.name.as_str(), a.path.as_str()))
                .collect();
            meta.insert("connectors", encode(&connectors)?.as_slice())?;
            let unattributed = ws.unattributed_providers();
            meta.insert("unattributed", encode(&unattributed)?.as_slice())?;
            let providers: Vec<(&str, u32)> = ws
                .providers
                .iter()
                .map(|(p, &c)| (p.as_str(), c as u32))
                .collect();
            meta.insert("providers", encode(&providers)?.as_slice())?;

            let mut paths = txn.open_table(PATHS)?;
            let mut assets = txn.open_table(ASSETS)?;
            let mut names: HashMap<&str, Vec<u32>> = HashMap::new();
            let mut connector_names: HashMap<&str, Vec<u32>> = HashMap::new();
            let mut connector_slugs: HashMap<String, Vec<u32>> = HashMap::new();
            let mut connector_uses: HashMap<u32, Vec<Use>> = HashMap::new();
            for (i, a) in ws.assets.iter().enumerate() {
                let id = i as u32;
                paths.insert(a.path.as_str(), id)?;
                names.entry(a.name.as_str()).or_default().push(id);
                if a.asset_type == AssetType::CustomAdapter {
                    connector_names.entry(a.name.as_str()).or_default().push(id);
                    connector_slugs
                        .entry(crate::slug::slug(&a.name))
                        .or_default()
                        .push(id);
                }
                let mut uses = Vec::new();
                for u in &a.summary.uses {
                    if let Some(&c) = ws.providers.get(&u.provider) {
                        let c = c as u32;
                        uses.push(Use {
                            asset: c,
                            kind: u.kind,
                            name: u.name.to_string(),
                            steps: u.steps.clone(),
                        });
                        connector_uses.entry(c).or_default().push(Use {
                            asset: id,
                            kind: u.kind,
                            name: u.name.to_string(),
                            steps: u.steps.clone(),
                        });
                    }
                }
                let row = Row {
                    path: a.path.clone(),
                    asset_type: a.asset_type.as_str().to_string(),
                    incoming: graph.incoming(i).into_iter().map(|j| j as u32).collect(),
                    uses,
                };
                assets.insert(id, encode(&row)?.as_slice())?;
            }
            let mut t = txn.open_table(NAMES)?;
            for (k, v) in names {
                t.insert(k, encode(&v)?.as_slice())?;
            }
            let mut t = txn.open_table(CONNECTOR_NAMES)?;
            for (k, v) in connector_names {
                t.insert(k, encode(&v)?.as_slice())?;
            }
            let mut t = txn.open_table(CONNECTOR_SLUGS)?;
            for (k, v) in &connector_slugs {
                t.insert(k.as_str(), encode(v)?.as_slice())?;
            }
            let mut t = txn.open_table(CONNECTOR_USES)?;
            for (k, v) in connector_uses {
                t.insert(k, encode(&v)?.as_slice())?;
            }
            let mut t = txn.open_table(BASELINE)?;
            if let Some((_, b)) = &baseline {
                for (k, v) in &b.assets {
                    t.insert(k.as_str(), v.as_str())?;
                }
            }
        }
        txn.commit()?;
    }
    crate::fsutil::persist(tmp, &index_path(root)).map_err(|e| Unusable(e.error.to_string()))?;
    // The binding depends on the directory and machine only: it is written once (when absent or
    // different), atomically.
    if std::fs::read(bind_path(root)).ok().as_deref() != Some(binding.as_slice()) {
        crate::fsutil::write_atomic_with(&bind_path(root), |w| w.write_all(&binding))
            .map_err(|e| Unusable(e.to_string()))?;
    }
    write_head(root, &header)?;
    Ok(())
}

/// An open, validated index.
pub struct Index {
    txn: redb::ReadTransaction,
    header: Header,
    /// The rows and the path lookup, opened once (a plan reads tens of thousands of rows).
    assets: redb::ReadOnlyTable<u32, &'static [u8]>,
    paths: redb::ReadOnlyTable<&'static str, u32>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Index({} assets)", self.header.assets)
    }
}

impl Index {
    /// Opens the index of the environment at `root` and checks it against the tree `source`
    /// lists (see the module documentation).
    pub fn open(root: &Path, source: &Source) -> R<Index> {
        let idx = Index::open_unchecked(root)?;
        idx.check_tree(root, source)?;
        Ok(idx)
    }

    /// Opens the index of the environment at `root` and checks everything but the tree: its
    /// format, rlcm version and binding. Not to be believed before [`Index::check_tree`].
    fn open_unchecked(root: &Path) -> R<Index> {
        if forced_off() {
            return Err(Unusable("RLCM_INDEX=off is set".into()));
        }
        let dir = cache_dir(root, false).ok_or_else(|| Unusable("no cache folder".into()))?;
        let path = dir.join("index.redb");
        if !std::fs::symlink_metadata(&path)?.is_file() {
            return Err(Unusable("not a regular file".into()));
        }
        let binding = crate::cache::binding(root, false).ok_or_else(|| Unusable("no cache key".into()))?;
        let bind = bind_path(root);
        if !std::fs::symlink_metadata(&bind)?.is_file() || std::fs::read(&bind)? != binding {
            return Err(Unusable("written for another environment or machine".into()));
        }
        let head = head_path(root);
        if !std::fs::symlink_metadata(&head)?.is_file() {
            return Err(Unusable("no header".into()));
        }
        let header: Header = decode(&std::fs::read(&head)?)?;
        if header.format != FORMAT || header.version != env!("CARGO_PKG_VERSION") {
            return Err(Unusable("written by another rlcm".into()));
        }
        if header.binding != binding {
            return Err(Unusable("written for another environment or machine".into()));
        }
        let db = redb::Builder::new().open_read_only(&path)?;
        let txn = db.begin_read()?;
        {
            let meta = txn.open_table(META)?;
            let g = meta
                .get("generation")?
                .ok_or_else(|| Unusable("no generation".into()))?;
            if g.value() != header.generation.as_slice() {
                return Err(Unusable("the header is not the database's".into()));
            }
        }
        let assets = txn.open_table(ASSETS)?;
        let paths = txn.open_table(PATHS)?;
        Ok(Index {
            txn,
            header,
            assets,
            paths,
        })
    }

    /// Checks the index against the tree `source` lists: the digest, then the files that were
    /// racy when it was written, hashed again.
    fn check_tree(&self, root: &Path, source: &Source) -> R<()> {
        if self.header.digest != tree_digest(source.entries()) {
            return Err(Unusable("the tree changed".into()));
        }
        for (p, hash) in &self.header.racy {
            let bytes = crate::fsutil::read(&root.join(p)).map_err(|e| Unusable(e.to_string()))?;
            if blake3::hash(&bytes).to_hex().as_str() != hash {
                return Err(Unusable("a recently modified file changed".into()));
            }
        }
        Ok(())
    }

    /// Records, after a write of rlcm under the writer lock that leaves what the index holds
    /// true (a connector's version: its `.custom_adapter.json` and `.rb` rewritten, its title,
    /// path and uses unchanged), the tree as that write left it. `entries` is the tree as
    /// walked when this index was found valid, `written` each tree file the write replaced,
    /// with the blake3 of the bytes it wrote. The new header has their sizes and times as they
    /// are now, and their hashes as racy files (hashed again by the next command, so that an
    /// edit from outside right after the write is still seen); any other file changed from
    /// outside since the walk still differs from `entries`. Written atomically: a crash leaves
    /// the old header, which the tree no longer matches. On error the index is left stale (the
    /// next reader rebuilds it).
    pub fn rewrite_header(&self, root: &Path, entries: &[Entry], written: &[(String, String)]) -> R<()> {
        cache_dir(root, false).ok_or_else(|| Unusable("no cache folder".into()))?;
        let mut rows: Vec<(&str, u64, u64)> = entries
            .iter()
            .map(|e| (e.path.as_str(), e.size, e.mtime))
            .collect();
        for (p, _) in written {
            let at = rows
                .binary_search_by(|r| r.0.cmp(p.as_str()))
                .map_err(|_| Unusable(format!("`{p}` is new to the tree")))?;
            let meta = std::fs::symlink_metadata(root.join(p))?;
            if !meta.is_file() {
                return Err(Unusable(format!("`{p}` is not a regular file")));
            }
            rows[at].1 = meta.len();
            rows[at].2 = crate::source::mtime_ns(&meta);
        }
        let mut racy: Vec<(String, String)> = self
            .header
            .racy
            .iter()
            .filter(|(p, _)| !written.iter().any(|(w, _)| w == p))
            .cloned()
            .collect();
        racy.extend(written.iter().cloned());
        if racy.len() > MAX_RACY {
            return Err(Unusable("too many files were modified a moment ago".into()));
        }
        let header = Header {
            digest: digest_rows(&rows),
            racy,
            // The write itself ended the watcher's epoch: the next reader walks, and records
            // the epoch it walked in.
            watch: None,
            // The connector's content hashes changed: a plan from this index could not give
            // the target digest of the tree (it plans from the whole tree, and writes a fresh
            // index).
            assets_digest: None,
            ..self.header.clone()
        };
        write_head(root, &header)
    }

    /// True when the watcher's live `epoch` is the one this index records: nothing changed
    /// since the walk it was written or checked after.
    fn vouched_by(&self, epoch: Option<crate::watch::Epoch>) -> bool {
        epoch.is_some() && self.header.watch == epoch
    }

    /// Records, in the header of an index just found valid by a walk that ran in the watcher's
    /// `epoch`, that epoch (atomically; on error the next command walks again). Nothing to do
    /// without a watcher, or when the header records it already.
    fn adopt(&self, root: &Path, epoch: Option<crate::watch::Epoch>) -> R<()> {
        if epoch.is_none() || self.vouched_by(epoch) {
            return Ok(());
        }
        cache_dir(root, false).ok_or_else(|| Unusable("no cache folder".into()))?;
        let header = Header {
            watch: epoch,
            ..self.header.clone()
        };
        write_head(root, &header)
    }

    fn meta<T: serde::de::DeserializeOwned>(&self, key: &str) -> R<T> {
        let meta = self.txn.open_table(META)?;
        let bytes = meta.get(key)?.ok_or_else(|| Unusable(format!("no `{key}`")))?;
        decode(bytes.value())
    }

    fn ids(&self, table: TableDefinition<&str, &[u8]>, key: &str) -> R<Vec<u32>> {
        let t = self.txn.open_table(table)?;
        match t.get(key)? {
            Some(v) => decode(v.value()),
            None => Ok(Vec::new()),
        }
    }

    /// The number of assets.
    pub fn len(&self) -> usize {
        self.header.assets as usize
    }

    /// The row of asset `id`.
    pub fn row(&self, id: usize) -> R<Row> {
        let t = &self.assets;
        let id = u32::try_from(id)?;
        let v = t.get(id)?.ok_or_else(|| Unusable(format!("no row {id}")))?;
        decode(v.value())
    }

    /// The id of the asset at `path`.
    pub fn index_of(&self, path: &str) -> R<Option<usize>> {
        let t = &self.paths;
        Ok(t.get(path)?.map(|v| v.value() as usize))
    }

    /// Every asset's path, in path order.
    pub(crate) fn all_paths(&self) -> R<Vec<String>> {
        let mut out = Vec::with_capacity(self.len());
        for kv in self.paths.iter()? {
            out.push(kv?.0.value().to_string());
        }
        Ok(out)
    }

    /// The ids of the assets named `name`, in path order.
    pub fn named(&self, name: &str) -> R<Vec<usize>> {
        Ok(self.ids(NAMES, name)?.into_iter().map(|i| i as usize).collect())
    }

    /// The ids of the custom connectors whose title is `query` or whose title's slug is
    /// `query`, in path order.
    pub(crate) fn connectors_matching(&self, query: &str) -> R<Vec<usize>> {
        let mut ids = self.ids(CONNECTOR_NAMES, query)?;
        ids.extend(self.ids(CONNECTOR_SLUGS, query)?);
        ids.sort_unstable();
        ids.dedup();
        Ok(ids.into_iter().map(|i| i as usize).collect())
    }

    /// The first custom connector (in path order) titled exactly `title`.
    pub(crate) fn connector_titled(&self, title: &str) -> R<Option<usize>> {
        Ok(self.ids(CONNECTOR_NAMES, title)?.first().map(|&i| i as usize))
    }

    /// The custom connectors as `(title, path)`, in path order.
    pub fn connectors(&self) -> R<Vec<(String, String)>> {
        self.meta("connectors")
    }

    /// Every provider name seen in the tree with the connector it is attributed to (as
    /// [`Workspace::providers`] has them).
    pub(crate) fn providers(&self) -> R<Vec<(String, usize)>> {
        let v: Vec<(String, u32)> = self.meta("providers")?;
        Ok(v.into_iter().map(|(p, c)| (p, c as usize)).collect())
    }

    /// The hash `baseline.json` records for the asset at `path`, when the index holds the
    /// baseline whose file hashes to `file_hash` (`None`: it holds another, parse the file).
    pub(crate) fn baseline_hash(&self, file_hash: &blake3::Hash, path: &str) -> R<Option<Option<String>>> {
        if self.header.baseline.as_ref() != Some(file_hash.as_bytes()) {
            return Ok(None);
        }
        let t = self.txn.open_table(BASELINE)?;
        Ok(Some(t.get(path)?.map(|v| v.value().to_string())))
    }

    /// True when the index holds the baseline whose file hashes to `file_hash`.
    pub(crate) fn has_baseline(&self, file_hash: &blake3::Hash) -> bool {
        self.header.baseline.as_ref() == Some(file_hash.as_bytes())
    }

    /// [`crate::env::assets_digest`] of the tree.
    pub(crate) fn assets_digest(&self) -> R<[u8; 32]> {
        self.header
            .assets_digest
            .ok_or_else(|| Unusable("a connector command rewrote files since the index was written".into()))
    }

    /// Every `(asset path, provider name)` the tree cannot attribute (as
    /// [`Workspace::unattributed_providers`] lists them).
    pub fn unattributed(&self) -> R<Vec<(String, String)>> {
        self.meta("unattributed")
    }

    /// The uses of the connector `id`'s actions and triggers, recipe by recipe in path order
    /// (as [`Workspace::connector_uses`] lists them).
    pub fn connector_uses(&self, id: usize) -> R<Vec<Use>> {
        let t = self.txn.open_table(CONNECTOR_USES)?;
        match t.get(u32::try_from(id)?)? {
            Some(v) => decode(v.value()),
            None => Ok(Vec::new()),
        }
    }

    /// Everything that depends on `targets`, as [`DepGraph::dependents`] finds it, reading
    /// only the rows visited. Returns the dependents and the rows read.
    pub fn dependents(&self, targets: &[usize]) -> R<(Vec<crate::graph::Dependent>, HashMap<usize, Row>)> {
        let mut rows: HashMap<usize, Row> = HashMap::new();
        let n = self.len();
        let targets: Vec<usize> = targets.iter().copied().filter(|&t| t < n).collect();
        let found = crate::graph::dependents_by(&targets, |node| {
            let row = match rows.get(&node) {
                Some(r) => r,
                None => {
                    let r = self.row(node)?;
                    rows.entry(node).or_insert(r)
                }
            };
            Ok::<_, Unusable>(row.incoming.iter().map(|&i| i as usize).collect())
        })?;
        for d in &found {
            if let std::collections::hash_map::Entry::Vacant(e) = rows.entry(d.asset) {
                e.insert(self.row(d.asset)?);
            }
        }
        Ok((found, rows))
    }
}
