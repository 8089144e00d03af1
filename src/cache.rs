//! A per-environment cache of asset summaries, keyed by path, size and modification time, in
//! `.rlcm/cache/summaries.bin` (binary, git-ignored, rebuildable at any time).
//!
//! Every command on an initialised environment reads it: a file whose size and mtime match
//! its entry is not read or parsed again, so an unchanged 100,000-recipe workspace loads from
//! `stat` calls and one small file. Only commands that write the environment anyway refresh it;
//! read-only commands (`plan`, `impact`, `inspect`, `check`, ...) never write it. A cache that
//! cannot be read is ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::asset::AssetSummary;
use crate::ruby::ConnectorDefinition;
use crate::workspace::Workspace;

/// Bumped whenever the cached data changes meaning.
const CACHE_FORMAT: u32 = 2;

/// Files modified this recently (ns) when the cache is written are not cached.
const RACY_NS: u64 = 2_000_000_000;

/// What is cached for one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CachedData {
    /// An asset JSON file's summary.
    Asset(AssetSummary),
    /// A connector's code: what it defines.
    Code(CachedDefinition),
    /// A connector's logo (only its hash).
    Logo,
}

/// A connector definition with every field present (the cache format is not self-describing).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedDefinition {
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

#[derive(Serialize)]
enum CachedDataRef<'a> {
    Asset(&'a AssetSummary),
    Code(CachedDefinition),
    Logo,
}

/// One cached file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedEntry {
    /// Path relative to the root.
    pub path: String,
    /// Size when cached.
    pub size: u64,
    /// Modification time (ns) when cached.
    pub mtime: u64,
    /// blake3 of the file, hex.
    pub hash: String,
    /// The asset's canonical hash (see [`crate::workspace::Asset::canonical`]).
    pub canonical: String,
    /// What it says.
    pub data: CachedData,
}

#[derive(Serialize)]
struct CachedEntryRef<'a> {
    path: &'a str,
    size: u64,
    mtime: u64,
    hash: &'a str,
    canonical: &'a str,
    data: CachedDataRef<'a>,
}

#[derive(Deserialize)]
struct CacheFile {
    format: u32,
    version: String,
    entries: Vec<CachedEntry>,
}

#[derive(Serialize)]
struct CacheFileRef<'a> {
    format: u32,
    version: &'a str,
    entries: Vec<CachedEntryRef<'a>>,
}

/// Loaded cache entries by path. Entries are handed out once ([`SummaryCache::take`]), so a
/// load never holds two copies of every summary.
#[derive(Debug, Default)]
pub struct SummaryCache {
    index: HashMap<String, usize>,
    entries: Vec<std::sync::Mutex<Option<CachedEntry>>>,
}

/// Where an environment's cache lives.
pub fn cache_path(root: &Path) -> PathBuf {
    root.join(".rlcm/cache/summaries.bin")
}

impl SummaryCache {
    /// Reads the cache of the environment at `root`; empty when absent or unreadable.
    pub fn read(root: &Path) -> SummaryCache {
        let Ok(bytes) = std::fs::read(cache_path(root)) else {
            return SummaryCache::default();
        };
        match postcard::from_bytes::<CacheFile>(&bytes) {
            Ok(f) if f.format == CACHE_FORMAT && f.version == env!("CARGO_PKG_VERSION") => SummaryCache {
                index: f
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.path.clone(), i))
                    .collect(),
                entries: f
                    .entries
                    .into_iter()
                    .map(|e| std::sync::Mutex::new(Some(e)))
                    .collect(),
            },
            _ => SummaryCache::default(),
        }
    }

    /// Takes the cached entry for a file, when its size and mtime still match.
    pub fn take(&self, path: &str, size: u64, mtime: u64) -> Option<CachedEntry> {
        let slot = self.entries.get(*self.index.get(path)?)?;
        let mut guard = slot.lock().ok()?;
        match guard.as_ref() {
            Some(e) if mtime != 0 && e.size == size && e.mtime == mtime => guard.take(),
            _ => None,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Writes the cache for a loaded workspace (best effort: a cache that cannot be written is
/// simply not used next time).
pub fn write(root: &Path, ws: &Workspace) {
    let mut entries = Vec::with_capacity(ws.assets.len() * 11 / 10);
    for a in &ws.assets {
        entries.push(CachedEntryRef {
            path: &a.path,
            size: a.size,
            mtime: a.mtime,
            hash: &a.hash,
            canonical: &a.canonical,
            data: CachedDataRef::Asset(&a.summary),
        });
        if let Some(c) = &a.connector {
            if let (Some(p), Some(h)) = (&c.code_path, &c.code_hash) {
                entries.push(CachedEntryRef {
                    path: p,
                    size: c.code_size,
                    mtime: c.code_mtime,
                    hash: h,
                    canonical: h,
                    data: CachedDataRef::Code((&c.definition).into()),
                });
            }
            if let (Some(p), Some(h)) = (&c.logo_path, &c.logo_hash) {
                entries.push(CachedEntryRef {
                    path: p,
                    size: c.logo_size,
                    mtime: c.logo_mtime,
                    hash: h,
                    canonical: h,
                    data: CachedDataRef::Logo,
                });
            }
        }
    }
    // File times are coarse (a clock tick or worse): a file written within the last moments
    // could change again with the same size and time. Such "racy" entries are not cached, the
    // way git treats racily clean index entries.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    entries.retain(|e| e.mtime != 0 && e.mtime.saturating_add(RACY_NS) < now);
    let file = CacheFileRef {
        format: CACHE_FORMAT,
        version: env!("CARGO_PKG_VERSION"),
        entries,
    };
    if let Ok(bytes) = postcard::to_stdvec(&file) {
        let _ = crate::fsutil::write_atomic(&cache_path(root), &bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

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
        let fresh = root.join("b.recipe.json");
        std::fs::write(&fresh, br#"{"name": "B"}"#).unwrap();
        let ws = Workspace::load(&Source::open(root).unwrap()).unwrap();
        write(root, &ws);
        let cache = SummaryCache::read(root);
        // The old file is cached; the one written a moment ago is racy and is not.
        assert_eq!(cache.len(), 1);
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
        let again = Workspace::load_with(&Source::open(root).unwrap(), &cache).unwrap();
        assert_eq!(
            again.get("a.recipe.json").unwrap().summary,
            ws.get("a.recipe.json").unwrap().summary
        );
        // A change of size or time misses.
        std::fs::write(&r, br#"{"name": "A2"}"#).unwrap();
        let meta = std::fs::metadata(&r).unwrap();
        let cache = SummaryCache::read(root);
        assert!(
            cache
                .take("a.recipe.json", meta.len(), crate::source::mtime_ns(&meta))
                .is_none()
        );
        let changed = Workspace::load_with(&Source::open(root).unwrap(), &cache).unwrap();
        assert_eq!(changed.get("a.recipe.json").unwrap().name, "A2");
        // Garbage in the cache file is ignored.
        std::fs::write(cache_path(root), b"garbage").unwrap();
        assert!(SummaryCache::read(root).is_empty());
    }
}
