//! A per-environment cache of asset summaries, keyed by path, size and modification time, in
//! `.rlcm/cache/summaries.bin` (binary, git-ignored, rebuildable at any time).
//!
//! Every command on an initialised environment reads it: a file whose size and mtime match
//! its entry is not read or parsed again, so an unchanged 100,000-recipe workspace loads from
//! `stat` calls and one small file. Commands that write the environment anyway refresh it (an
//! import planned from the production index leaves it as it is: the files it wrote no longer
//! match, every other entry is still true); read-only commands (`plan`, `impact`, `inspect`,
//! `check`, ...) write it only when they write the production index after a load that parsed
//! many files (see [`crate::index::write`]), and `rlcm watch` after a change. A cache that
//! cannot be read is ignored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::asset::AssetSummary;
use crate::ruby::ConnectorDefinition;

pub(crate) mod wire;

/// Bumped whenever the cached data changes meaning or encoding (8: the hand-written encoding
/// of [`wire`], with a string table).
const CACHE_FORMAT: u32 = 8;

/// Files modified this recently (ns) when the cache is written are not cached.
pub(crate) const RACY_NS: u64 = 2_000_000_000;

/// What is cached for one file.
#[derive(Debug, Clone)]
pub(crate) enum CachedData {
    /// An asset JSON file's summary.
    Asset(AssetSummary),
    /// A connector's code: what it defines.
    Code(CachedDefinition),
    /// A connector's logo (only its hash).
    Logo,
}

/// A connector definition with every field present.
#[derive(Debug, Clone)]
pub(crate) struct CachedDefinition {
    actions: Vec<String>,
    triggers: Vec<String>,
    parse_error: Option<String>,
    custom_action: bool,
}

impl From<&ConnectorDefinition> for CachedDefinition {
    fn from(d: &ConnectorDefinition) -> Self {
        CachedDefinition {
            actions: d.actions.clone(),
            triggers: d.triggers.clone(),
            parse_error: d.parse_error.clone(),
            custom_action: d.custom_action,
        }
    }
}

impl From<CachedDefinition> for ConnectorDefinition {
    fn from(d: CachedDefinition) -> Self {
        ConnectorDefinition {
            actions: d.actions,
            triggers: d.triggers,
            parse_error: d.parse_error,
            custom_action: d.custom_action,
        }
    }
}

/// What one file says, as [`write_entries`] stores it.
pub(crate) enum CachedDataRef<'a> {
    Asset(&'a AssetSummary),
    Code(CachedDefinition),
    Logo,
}

/// What the cache holds for one file once its size and time have matched.
#[derive(Debug, Clone)]
pub(crate) struct CachedEntry {
    /// blake3 of the file, hex.
    pub hash: String,
    /// The asset's canonical hash (see [`crate::workspace::Asset::canonical`]).
    pub canonical: String,
    /// What it says.
    pub data: CachedData,
}

/// One cached file: its path, size and modification time, and its entry until it is taken.
#[derive(Debug)]
struct Slot {
    path: String,
    size: u64,
    mtime: u64,
    entry: Option<CachedEntry>,
}

/// One file to cache: its path, size, modification time, hash, canonical hash and what it says.
pub(crate) struct CachedEntryRef<'a> {
    pub(crate) path: &'a str,
    pub(crate) size: u64,
    pub(crate) mtime: u64,
    pub(crate) hash: &'a str,
    pub(crate) canonical: &'a str,
    pub(crate) data: CachedDataRef<'a>,
}

#[derive(Serialize, Deserialize)]
struct CacheHeader {
    format: u32,
    version: String,
    /// Binds the cache to the environment and machine that wrote it (see [`binding`]).
    binding: [u8; 32],
}

/// Where this user's cache key lives on this machine: `$XDG_CACHE_HOME/rlcm/cache-key`, else
/// `$HOME/.cache/rlcm/cache-key`. Outside every environment, so a copied tree never carries it.
fn key_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("rlcm").join("cache-key"))
}

/// Reads this user's cache key, creating it (32 random bytes, mode 0600) when `create`.
fn cache_key(create: bool) -> Option<[u8; 32]> {
    let path = key_path()?;
    let read = |p: &Path| -> Option<[u8; 32]> { std::fs::read(p).ok()?.try_into().ok() };
    if let Some(k) = read(&path) {
        return Some(k);
    }
    if !create {
        return None;
    }
    let dir = path.parent()?;
    crate::fsutil::create_dir_all(dir).ok()?;
    let mut key = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").ok()?, &mut key).ok()?;
    let mut tmp = crate::fsutil::temp_file_in(tempfile::Builder::new().prefix(".cache-key-"), dir).ok()?;
    let tmp_path = tmp.path().to_path_buf();
    crate::fsutil::write_all(&mut tmp, &key, &tmp_path).ok()?;
    crate::fsutil::sync_file(tmp.as_file(), &tmp_path).ok()?;
    // Another rlcm may have created it meanwhile: the first one stays.
    let _ = crate::fsutil::persist_noclobber(tmp, &path);
    read(&path)
}

/// The cache's binding to this environment on this machine: a keyed blake3 (the user's
/// random cache key, which lives outside the environment) of the device and inode of the
/// environment root and of its `.rlcm/`. A cache copied from elsewhere, or crafted by whoever
/// prepared the directory, does not carry it and is ignored (then rebuilt by the next write).
/// `None` when there is no key (then no cache is used).
pub(crate) fn binding(root: &Path, create: bool) -> Option<[u8; 32]> {
    use std::os::unix::fs::MetadataExt;
    let key = cache_key(create)?;
    let r = std::fs::metadata(root).ok()?;
    let d = std::fs::symlink_metadata(root.join(".rlcm")).ok()?;
    let machine = std::fs::read("/etc/machine-id").unwrap_or_default();
    let mut h = blake3::Hasher::new_keyed(&key);
    for n in [r.dev(), r.ino(), d.dev(), d.ino()] {
        h.update(&n.to_le_bytes());
    }
    h.update(&machine);
    Some(*h.finalize().as_bytes())
}

/// Loaded cache entries, sorted by path. Entries are handed out once, through the
/// [`CacheCursor`]s of [`SummaryCache::cursors`], so a load never holds two copies of every
/// summary, and never searches: the tree's entries and the cache's are both in path order.
#[derive(Debug, Default)]
pub(crate) struct SummaryCache {
    slots: Vec<Slot>,
}

/// Where an environment's cache lives.
pub(crate) fn cache_path(root: &Path) -> PathBuf {
    root.join(".rlcm/cache/summaries.bin")
}

/// Entries per frame: frames are decoded in parallel, a few at a time, so reading the cache
/// never holds the whole file in memory.
#[cfg(not(test))]
const FRAME_ENTRIES: usize = 2048;
#[cfg(test)]
const FRAME_ENTRIES: usize = 3;

/// A frame larger than this means the file is damaged (it is then ignored).
const MAX_FRAME: usize = 256 << 20;

/// Reads one `u32 length, bytes` frame; `None` at the end of the file.
fn read_frame(r: &mut impl std::io::Read) -> Option<std::io::Result<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
        Err(e) => return Some(Err(e)),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Some(Err(std::io::Error::other("cache frame too large")));
    }
    let mut buf = vec![0u8; len];
    Some(r.read_exact(&mut buf).map(|()| buf))
}

fn write_frame(w: &mut dyn std::io::Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| std::io::Error::other("cache frame too large"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(bytes)
}

/// One part of a [`SummaryCache`], for one run of the tree's entries in path order: it hands
/// out the entries of those paths, walking forward.
#[derive(Debug)]
pub(crate) struct CacheCursor<'a> {
    slots: &'a mut [Slot],
    at: usize,
}

impl CacheCursor<'_> {
    /// Takes the cached entry for a file, when its size and mtime still match, with the path
    /// as the cache held it. Paths must come in increasing order (an earlier one misses).
    pub fn take(&mut self, path: &str, size: u64, mtime: u64) -> Option<(String, CachedEntry)> {
        while self.slots.get(self.at)?.path.as_str() < path {
            self.at += 1;
        }
        let slot = self.slots.get_mut(self.at)?;
        if slot.path != path || mtime == 0 || slot.size != size || slot.mtime != mtime {
            return None;
        }
        let entry = slot.entry.take()?;
        Some((std::mem::take(&mut slot.path), entry))
    }
}

impl SummaryCache {
    /// Reads the cache of the environment at `root`; empty when absent or unreadable.
    ///
    /// The file is a header frame, the string table's frame, and frames of [`FRAME_ENTRIES`]
    /// entries in path order; one thread reads frames while the others decode them.
    pub fn read(root: &Path) -> SummaryCache {
        if crate::guard::check_state_dir(root).is_err() {
            return SummaryCache::default();
        }
        let Some(binding) = binding(root, false) else {
            return SummaryCache::default();
        };
        let Ok(file) = std::fs::File::open(cache_path(root)) else {
            return SummaryCache::default();
        };
        let mut reader = std::io::BufReader::with_capacity(256 << 10, file);
        let header = match read_frame(&mut reader) {
            Some(Ok(bytes)) => postcard::from_bytes::<CacheHeader>(&bytes).ok(),
            _ => None,
        };
        if !header.is_some_and(|h| {
            h.format == CACHE_FORMAT && h.version == env!("CARGO_PKG_VERSION") && h.binding == binding
        }) {
            return SummaryCache::default();
        }
        let table = match read_frame(&mut reader) {
            Some(Ok(bytes)) => {
                let mut r = wire::Reader::new(&bytes);
                r.table().filter(|_| r.done())
            }
            _ => None,
        };
        let Some(table) = table else {
            return SummaryCache::default();
        };
        let Some(frames) = decode_frames(reader, &table) else {
            return SummaryCache::default();
        };
        let mut slots: Vec<Slot> = Vec::with_capacity(frames.iter().map(Vec::len).sum());
        for frame in frames {
            slots.extend(frame);
        }
        if !slots.is_sorted_by(|a, b| a.path <= b.path) {
            slots.sort_by(|a, b| a.path.cmp(&b.path));
        }
        SummaryCache { slots }
    }

    /// The cache cut into one cursor per run of paths: `starts` are the first paths of the runs,
    /// in increasing order (each cursor holds the entries from its start to the next one's).
    pub fn cursors<'a, 'p>(&'a mut self, starts: impl Iterator<Item = &'p str>) -> Vec<CacheCursor<'a>> {
        let mut rest: &mut [Slot] = &mut self.slots;
        let mut out: Vec<CacheCursor<'a>> = Vec::new();
        for start in starts {
            let cut = rest.partition_point(|s| s.path.as_str() < start);
            let (before, after) = std::mem::take(&mut rest).split_at_mut(cut);
            if let Some(last) = out.last_mut() {
                last.slots = before;
            }
            out.push(CacheCursor {
                slots: &mut [],
                at: 0,
            });
            rest = after;
        }
        if let Some(last) = out.last_mut() {
            last.slots = rest;
        }
        out
    }

    /// Number of entries.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when empty.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Takes the cached entry for a file (see [`CacheCursor::take`]).
    #[cfg(test)]
    fn take(&mut self, path: &str, size: u64, mtime: u64) -> Option<CachedEntry> {
        self.cursors(std::iter::once(""))
            .pop()?
            .take(path, size, mtime)
            .map(|(_, e)| e)
    }
}

/// Decodes the entry frames that `reader` reads, in parallel (one thread reads while the others
/// decode); `None` when one is damaged or the file cannot be read to its end.
fn decode_frames(
    mut reader: impl std::io::Read + Send,
    table: &[crate::istr::IStr],
) -> Option<Vec<Vec<Slot>>> {
    use rayon::iter::{ParallelBridge, ParallelIterator};
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(2);
    let decoded: Option<Vec<(usize, Vec<Slot>)>> = std::thread::scope(|scope| {
        let feeder = scope.spawn(move || {
            let mut n = 0;
            while let Some(frame) = read_frame(&mut reader) {
                let Ok(frame) = frame else { return false };
                if tx.send((n, frame)).is_err() {
                    return false;
                }
                n += 1;
            }
            true
        });
        let frames: Option<Vec<(usize, Vec<Slot>)>> = rx
            .into_iter()
            .par_bridge()
            .map(|(n, bytes)| wire::Reader::new(&bytes).slots(table).map(|v| (n, v)))
            .collect();
        let complete = feeder.join().unwrap_or(false);
        frames.filter(|_| complete)
    });
    let mut frames = decoded?;
    frames.sort_by_key(|(n, _)| *n);
    Some(frames.into_iter().map(|(_, f)| f).collect())
}

/// Writes the cache from the records of a loaded tree (best effort: a cache that cannot be
/// written is simply not used next time). [`crate::workspace::Workspace::write_cache`] makes
/// the records, so the cache does not depend on the workspace.
pub(crate) fn write_entries(root: &Path, mut entries: Vec<CachedEntryRef<'_>>) {
    // File times are coarse (a clock tick or worse): a file written within the last moments
    // could change again with the same size and time. Such "racy" entries are not cached, the
    // way git treats racily clean index entries.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    entries.retain(|e| e.mtime != 0 && e.mtime.saturating_add(RACY_NS) < now);
    entries.sort_by(|a, b| a.path.cmp(b.path));
    if crate::guard::check_state_dir(root).is_err() {
        return;
    }
    let Some(binding) = binding(root, true) else {
        return;
    };
    let header = CacheHeader {
        format: CACHE_FORMAT,
        version: env!("CARGO_PKG_VERSION").to_string(),
        binding,
    };
    let names = wire::Names::of(&entries);
    let _ = crate::fsutil::write_atomic_with(&cache_path(root), |w| {
        let bytes = postcard::to_stdvec(&header).map_err(std::io::Error::other)?;
        write_frame(w, &bytes)?;
        write_frame(w, &names.table())?;
        for chunk in entries.chunks(FRAME_ENTRIES) {
            write_frame(w, &wire::entries_frame(chunk, &names))?;
        }
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::workspace::Workspace;

    fn age(path: &Path) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(old).unwrap();
    }

    #[test]
    fn unchanged_files_come_from_the_cache_and_changed_ones_are_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".rlcm")).unwrap();
        let r = root.join("a.recipe.json");
        std::fs::write(
            &r,
            br#"{"name": "A", "code": {"keyword": "trigger", "provider": "p_connector_1_2", "name": "t"}}"#,
        )
        .unwrap();
        age(&r);
        // Enough files for several frames.
        for i in 0..7 {
            let p = root.join(format!("c{i}.recipe.json"));
            std::fs::write(&p, format!(r#"{{"name": "C{i}"}}"#)).unwrap();
            age(&p);
        }
        let fresh = root.join("b.recipe.json");
        std::fs::write(&fresh, br#"{"name": "B"}"#).unwrap();
        let ws = Workspace::load(&Source::open(root).unwrap()).unwrap();
        ws.write_cache(root);
        let mut cache = SummaryCache::read(root);
        // The old files are cached; the one written a moment ago is racy and is not.
        assert_eq!(cache.len(), 8);
        for i in 0..7 {
            let path = format!("c{i}.recipe.json");
            let meta = std::fs::metadata(root.join(&path)).unwrap();
            let hit = cache
                .take(&path, meta.len(), crate::source::mtime_ns(&meta))
                .unwrap();
            assert_eq!(hit.hash, ws.get(&path).unwrap().hash);
        }
        let meta = std::fs::metadata(&r).unwrap();
        let hit = cache
            .take("a.recipe.json", meta.len(), crate::source::mtime_ns(&meta))
            .unwrap();
        assert_eq!(hit.hash, ws.get("a.recipe.json").unwrap().hash);
        // An entry is handed out once.
        assert!(
            cache
                .take("a.recipe.json", meta.len(), crate::source::mtime_ns(&meta))
                .is_none()
        );
        // A cached load equals a fresh one.
        let cache = SummaryCache::read(root);
        let again = Workspace::load_with(&Source::open(root).unwrap(), cache).unwrap();
        assert_eq!(again.assets.len(), ws.assets.len());
        for (x, y) in again.assets.iter().zip(&ws.assets) {
            assert_eq!(
                (&x.path, &x.name, &x.hash, &x.canonical, &x.summary),
                (&y.path, &y.name, &y.hash, &y.canonical, &y.summary)
            );
        }
        // A change of size or time misses.
        std::fs::write(&r, br#"{"name": "A2"}"#).unwrap();
        let meta = std::fs::metadata(&r).unwrap();
        let mut cache = SummaryCache::read(root);
        assert!(
            cache
                .take("a.recipe.json", meta.len(), crate::source::mtime_ns(&meta))
                .is_none()
        );
        let changed = Workspace::load_with(&Source::open(root).unwrap(), cache).unwrap();
        assert_eq!(changed.get("a.recipe.json").unwrap().name, "A2");
        // Garbage in the cache file is ignored.
        std::fs::write(cache_path(root), b"garbage").unwrap();
        assert!(SummaryCache::read(root).is_empty());
        // A cache bound to another environment (here: another `.rlcm/`, so another inode) is
        // ignored.
        ws.write_cache(root);
        assert!(!SummaryCache::read(root).is_empty());
        std::fs::rename(root.join(".rlcm"), root.join("old")).unwrap();
        std::fs::create_dir_all(root.join(".rlcm/cache")).unwrap();
        std::fs::copy(root.join("old/cache/summaries.bin"), cache_path(root)).unwrap();
        assert!(SummaryCache::read(root).is_empty());
    }
}
