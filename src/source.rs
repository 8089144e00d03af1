//! Reading assets from a directory tree or a package zip, defensively.
//!
//! A [`Source`] lists its files once (sorted by path, `/`-separated, relative to its root) and
//! reads them one at a time, so memory never holds more than the entries being worked on.
//! Zips are checked before anything is read: entry count, names (absolute, `..`, backslashes,
//! NUL, invalid UTF-8), symlinks, duplicates (also after case folding and Unicode
//! normalisation), declared sizes and compression ratios; reads are bounded whatever the
//! headers claim.

use crate::error::Subject;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, IoContext, Result};

mod walk;

/// Bounds that keep reading a hostile package cheap.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most entries a package may have.
    pub max_entries: u64,
    /// Largest uncompressed size of one entry, in bytes.
    pub max_entry_size: u64,
    /// Largest uncompressed size of all entries together, in bytes.
    pub max_total_size: u64,
    /// Largest ratio of uncompressed to compressed size, for entries over 1 MiB.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_entry_size: 256 << 20,
            max_total_size: 32 << 30,
            max_ratio: 1_000,
        }
    }
}

/// One file of a source.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path relative to the source root, `/`-separated.
    pub path: String,
    /// Size in bytes (uncompressed).
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (directories only; 0 in zips).
    pub mtime: u64,
    index: usize,
}

/// Where assets are read from.
#[derive(Debug)]
pub enum Source {
    /// A directory tree (an environment, an unzipped export).
    Dir {
        /// The root directory.
        root: PathBuf,
        /// Its files, sorted by path.
        entries: Vec<Entry>,
        /// Open readers, reused by [`Source::read`].
        pool: ReaderPool,
    },
    /// A package zip.
    Zip {
        /// The zip file.
        path: PathBuf,
        /// A top-level folder the whole package is wrapped in, stripped from paths (`"x/"`).
        wrapper: String,
        /// Its files (not directory entries), sorted by path.
        entries: Vec<Entry>,
        /// Names of the directory entries it carries, in archive order.
        directories: Vec<String>,
        /// Open readers, reused by [`Source::read`].
        pool: ReaderPool,
        /// The archive with its central directory parsed, opened by the first reader.
        archive: std::sync::OnceLock<zip::ZipArchive<SharedFile>>,
    },
}

/// Names that an environment keeps for itself or that tools leave behind; never assets:
/// rlcm's and git's own, macOS litter, `wk`'s sidecar folder (`.wk/wk.toml`,
/// `.wk/<path>.meta.json`) and workato-platform-cli's `.workatoenv` and `.workato-ignore`.
fn is_private_name(name: &str) -> bool {
    matches!(
        name,
        ".rlcm"
            | ".git"
            | ".DS_Store"
            | "__MACOSX"
            | ".gitignore"
            | ".gitattributes"
            | ".wk"
            | ".workatoenv"
            | ".workato-ignore"
    )
}

/// The patterns of a tree's `.workato-ignore` (gitignore syntax, as workato-platform-cli
/// reads it); paths they match are skipped like `.git/`.
fn workato_ignore(root: &Path) -> Result<Option<ignore::gitignore::Gitignore>> {
    let file = root.join(".workato-ignore");
    if !file.is_file() {
        return Ok(None);
    }
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
    if let Some(e) = builder.add(&file) {
        return Err(Error::invalid(
            Subject::path(&file),
            format!("`{}` cannot be read as ignore patterns: {e}", file.display()),
        )
        .hint("fix or remove it"));
    }
    builder.build().map(Some).map_err(|e| {
        Error::invalid(
            Subject::path(&file),
            format!("`{}` cannot be read as ignore patterns: {e}", file.display()),
        )
        .hint("fix or remove it")
    })
}

impl Source {
    /// Opens a directory or a zip file.
    pub fn open(path: &Path) -> Result<Source> {
        Self::open_with(path, Limits::default())
    }

    /// Opens a directory or a zip file with explicit limits.
    pub fn open_with(path: &Path, limits: Limits) -> Result<Source> {
        let meta = std::fs::metadata(path).with_path("read", path)?;
        if meta.is_dir() {
            Self::open_dir(path)
        } else if is_zip(path)? {
            Self::open_zip(path, limits)
        } else {
            Self::open_file(path, meta.len())
        }
    }

    /// Human name of the source for messages.
    pub fn display(&self) -> String {
        match self {
            Source::Dir { root, .. } => root.display().to_string(),
            Source::Zip { path, .. } => path.display().to_string(),
        }
    }

    /// The files, sorted by path.
    pub fn entries(&self) -> &[Entry] {
        match self {
            Source::Dir { entries, .. } | Source::Zip { entries, .. } => entries,
        }
    }

    /// True for a zip source.
    pub fn is_zip(&self) -> bool {
        matches!(self, Source::Zip { .. })
    }

    /// A single file, read as a tree of one file (an asset's references then dangle; a file
    /// that is not an asset is listed as such).
    fn open_file(path: &Path, size: u64) -> Result<Source> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::BadAsset {
                path: path.to_string_lossy().into_owned(),
                reason: "file name is not valid UTF-8; rename it".into(),
            })?;
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(Source::Dir {
            root: root.to_path_buf(),
            entries: vec![Entry {
                path: name.to_string(),
                size,
                mtime: std::fs::metadata(path).map(|m| mtime_ns(&m)).unwrap_or(0),
                index: 0,
            }],
            pool: Default::default(),
        })
    }

    fn open_dir(root: &Path) -> Result<Source> {
        let ignored = workato_ignore(root)?;
        let mut entries = match walk::walk(root, ignored.as_ref()) {
            Some(entries) => entries,
            None => Self::walk_careful(root, ignored.as_ref())?,
        };
        for (i, e) in entries.iter_mut().enumerate() {
            e.index = i;
        }
        // Both walks list folder by folder; a global sort by the `/` path keeps one order for
        // directories and zips alike (paths are unique: unstable is the same order).
        use rayon::prelude::*;
        entries.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
        Ok(Source::Dir {
            root: root.to_path_buf(),
            entries,
            pool: Default::default(),
        })
    }

    /// A directory source of only the files `paths` of the tree at `root` (root-relative,
    /// `/`-separated; a custom connector's JSON file brings its code and logo beside it), one
    /// `lstat` each: a part of a tree that the production index says is there (a plan from the
    /// index reads these and nothing else). A path that is missing or not a regular file is an
    /// error (the index was not the tree's).
    pub(crate) fn dir_files(root: &Path, paths: &[String]) -> Result<Source> {
        let mut wanted: Vec<String> = paths.to_vec();
        for p in paths {
            if crate::asset::classify(p)
                != crate::asset::FileRole::Asset(crate::asset::AssetType::CustomAdapter)
            {
                continue;
            }
            let (folder, name) = match p.rsplit_once('/') {
                Some((f, n)) => (f, n),
                None => ("", p.as_str()),
            };
            let stem = name.strip_suffix("json").unwrap_or(name);
            let dir = if folder.is_empty() {
                root.to_path_buf()
            } else {
                root.join(folder)
            };
            for e in std::fs::read_dir(&dir).with_path("read", &dir)? {
                let e = e.with_path("read", &dir)?;
                let Some(n) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if n != name && n.starts_with(stem) {
                    let sibling = if folder.is_empty() {
                        n
                    } else {
                        format!("{folder}/{n}")
                    };
                    if matches!(crate::asset::classify(&sibling),
                        crate::asset::FileRole::ConnectorCode(ref j) | crate::asset::FileRole::ConnectorLogo(ref j) if j == p)
                    {
                        wanted.push(sibling);
                    }
                }
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut entries = Vec::with_capacity(wanted.len());
        for (index, path) in wanted.into_iter().enumerate() {
            let full = root.join(&path);
            let meta = std::fs::symlink_metadata(&full).with_path("read", &full)?;
            if !meta.is_file() {
                return Err(Error::invalid(
                    Subject::path(&full),
                    format!("`{}` is not a regular file", full.display()),
                ));
            }
            entries.push(Entry {
                path,
                size: meta.len(),
                mtime: mtime_ns(&meta),
                index,
            });
        }
        Ok(Source::Dir {
            root: root.to_path_buf(),
            entries,
            pool: Default::default(),
        })
    }

    /// The walk that decides when [`walk::walk`] gives up: one entry at a time in `walkdir`'s
    /// order, so that the error is the first one met (the first in path order) and says
    /// what it says; then one `lstat` per file, on every core.
    fn walk_careful(root: &Path, ignored: Option<&ignore::gitignore::Gitignore>) -> Result<Vec<Entry>> {
        let mut found: Vec<(String, std::path::PathBuf)> = Vec::new();
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0
                    || (!is_private_name(&e.file_name().to_string_lossy())
                        && !ignored.is_some_and(|g| g.matched(e.path(), e.file_type().is_dir()).is_ignore()))
            });
        for item in walker {
            let item = item.map_err(|e| {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let io = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("directory loop"));
                Error::io("read", path, io)
            })?;
            if item.depth() == 0 {
                continue;
            }
            let ft = item.file_type();
            let rel = item.path().strip_prefix(root).unwrap_or(item.path());
            let Some(rel_str) = rel.to_str() else {
                return Err(Error::BadAsset {
                    path: rel.to_string_lossy().into_owned(),
                    reason: "file name is not valid UTF-8; rename it".into(),
                });
            };
            let rel_str = rel_str.replace(std::path::MAIN_SEPARATOR, "/");
            if ft.is_symlink() {
                return Err(Error::BadAsset {
                    path: rel_str,
                    reason:
                        "is a symbolic link; rlcm reads only regular files (replace the link with the file)"
                            .into(),
                });
            }
            if ft.is_dir() {
                continue;
            }
            found.push((rel_str, item.into_path()));
        }
        use rayon::prelude::*;
        found
            .into_par_iter()
            .map(|(path, full)| {
                let meta = std::fs::symlink_metadata(&full).with_path("read", &full)?;
                Ok(Entry {
                    path,
                    size: meta.len(),
                    mtime: mtime_ns(&meta),
                    index: 0,
                })
            })
            .collect::<Result<Vec<Entry>>>()
    }

    fn open_zip(path: &Path, limits: Limits) -> Result<Source> {
        let package = path.display().to_string();
        let bad = |reason: String| Error::BadPackage {
            package: package.clone(),
            reason,
        };
        let mut file = File::open(path).with_path("open", path)?;
        let Some(eocd) = read_eocd(&mut file).with_path("read", path)? else {
            return Err(bad(
                "is not a zip file (no end of central directory record); is it truncated?".into(),
            ));
        };
        if eocd.entries > limits.max_entries {
            return Err(bad(format!(
                "declares {} entries, more than the limit of {}",
                eocd.entries, limits.max_entries
            )));
        }
        // The zip crate keys entries by name, so a duplicate would silently hide its twin:
        // look at the raw central directory first.
        if let Some(names) = central_directory_names(&mut file, &eocd).with_path("read", path)? {
            let mut seen = std::collections::HashSet::with_capacity(names.len());
            for raw in names {
                if !seen.insert(raw.clone()) {
                    return Err(Error::BadEntry {
                        package: package.clone(),
                        entry: String::from_utf8_lossy(&raw).into_owned(),
                        reason: "appears twice in the package".into(),
                    });
                }
            }
        }
        file.seek(SeekFrom::Start(0)).with_path("read", path)?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| bad(format!("is not a readable zip: {e}")))?;
        if archive.len() as u64 > limits.max_entries {
            return Err(bad(format!(
                "has {} entries, more than the limit of {}",
                archive.len(),
                limits.max_entries
            )));
        }
        let mut scan = ZipScan {
            package: &package,
            limits,
            names: Vec::with_capacity(archive.len()),
            ranges: Vec::with_capacity(archive.len()),
            seen: HashMap::with_capacity(archive.len()),
            total: 0,
        };
        for i in 0..archive.len() {
            let zf = archive
                .by_index_raw(i)
                .map_err(|e| bad(format!("entry #{i} cannot be read: {e}")))?;
            scan.entry(i, &zf)?;
        }
        scan.refuse_overlaps()?;
        let names = scan.names;
        let directories: Vec<String> = names.iter().filter(|n| n.3).map(|n| n.0.clone()).collect();
        let files: Vec<&(String, u64, usize, bool)> = names.iter().filter(|n| !n.3).collect();
        let wrapper = detect_wrapper(path, &files.iter().map(|n| n.0.as_str()).collect::<Vec<_>>());
        let mut entries: Vec<Entry> = files
            .iter()
            .map(|(name, size, index, _)| Entry {
                path: name[wrapper.len()..].to_string(),
                size: *size,
                mtime: 0,
                index: *index,
            })
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Source::Zip {
            path: path.to_path_buf(),
            wrapper,
            entries,
            directories,
            pool: Default::default(),
            archive: Default::default(),
        })
    }

    /// Opens a reader for this source; a zip reader keeps the archive open between reads, so
    /// a thread reading many entries opens the archive once.
    pub fn reader(&self) -> Result<SourceReader> {
        match self {
            Source::Dir { root, .. } => Ok(SourceReader {
                display: root.display().to_string(),
                zip: None,
                root: Some(root.clone()),
            }),
            Source::Zip { path, archive, .. } => {
                // The central directory is parsed once per source; each reader is a clone
                // sharing it, with its own position and read-ahead buffer.
                let archive = match archive.get() {
                    Some(a) => a.clone(),
                    None => {
                        let opened = open_archive(path)?;
                        archive.get_or_init(|| opened).clone()
                    }
                };
                Ok(SourceReader {
                    display: path.display().to_string(),
                    zip: Some(archive),
                    root: None,
                })
            }
        }
    }

    /// Reads one entry whole (bounded by its size and the limits). Readers are pooled, so
    /// reading entries one by one, from any thread, does not reopen the archive each time.
    pub fn read(&self, entry: &Entry) -> Result<Vec<u8>> {
        let pool = match self {
            Source::Dir { pool, .. } | Source::Zip { pool, .. } => pool,
        };
        let pooled = pool.0.lock().ok().and_then(|mut v| v.pop());
        let mut reader = match pooled {
            Some(r) => r,
            None => self.reader()?,
        };
        let out = reader.read(entry);
        if let Ok(mut v) = pool.0.lock() {
            v.push(reader);
        }
        out
    }

    /// Finds an entry by path.
    pub fn find(&self, path: &str) -> Option<&Entry> {
        let entries = self.entries();
        entries
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| &entries[i])
    }
}

/// Readers kept open for reuse.
#[derive(Default)]
pub struct ReaderPool(std::sync::Mutex<Vec<SourceReader>>);

impl std::fmt::Debug for ReaderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReaderPool")
    }
}

/// Reads entries of one source; not shared between threads (open one per thread).
pub struct SourceReader {
    display: String,
    zip: Option<zip::ZipArchive<SharedFile>>,
    root: Option<PathBuf>,
}

impl SourceReader {
    /// Reads one entry whole. Reads stop one byte past the declared size, so a lying header
    /// cannot make rlcm read more than the limits allow.
    pub fn read(&mut self, entry: &Entry) -> Result<Vec<u8>> {
        if let Some(root) = &self.root {
            crate::hooks::read_point();
            let path = root.join(&entry.path);
            let file = File::open(&path).with_path("read", &path)?;
            let mut buf = Vec::with_capacity(entry.size as usize);
            file.take(entry.size.saturating_add(1 << 20))
                .read_to_end(&mut buf)
                .with_path("read", &path)?;
            return Ok(buf);
        }
        let package = self.display.clone();
        let Some(archive) = self.zip.as_mut() else {
            return Err(Error::internal(format!("`{package}` has no archive open")));
        };
        let zf = archive.by_index(entry.index).map_err(|e| Error::BadEntry {
            package: package.clone(),
            entry: entry.path.clone(),
            reason: format!("cannot be read: {e}"),
        })?;
        let mut buf = Vec::with_capacity(entry.size.min(64 << 20) as usize);
        let read = zf
            .take(entry.size.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| Error::BadEntry {
                package: package.clone(),
                entry: entry.path.clone(),
                reason: format!("is corrupt: {e}"),
            })?;
        if read as u64 != entry.size {
            return Err(Error::BadEntry {
                package,
                entry: entry.path.clone(),
                reason: format!("holds {read} bytes but its header says {}", entry.size),
            });
        }
        Ok(buf)
    }
}

/// Opens a zip with its central directory parsed once; clones share it (see [`SharedFile`]).
pub(crate) fn open_archive(path: &Path) -> Result<zip::ZipArchive<SharedFile>> {
    let file = File::open(path).with_path("open", path)?;
    let len = file.metadata().with_path("read", path)?.len();
    let reader = SharedFile {
        file: std::sync::Arc::new(file),
        len,
        position: 0,
        buffer: Vec::new(),
        buffer_start: 0,
    };
    zip::ZipArchive::new(reader).map_err(|e| Error::BadPackage {
        package: path.display().to_string(),
        reason: format!("is not a readable zip: {e}"),
    })
}

/// A buffered reader over a file shared between threads: reads are positional (`pread`), so
/// clones never disturb each other's position.
#[derive(Clone)]
pub struct SharedFile {
    file: std::sync::Arc<File>,
    len: u64,
    position: u64,
    buffer: Vec<u8>,
    /// File offset of `buffer[0]`.
    buffer_start: u64,
}

impl std::fmt::Debug for SharedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedFile({} bytes at {})", self.len, self.position)
    }
}

/// Bytes a [`SharedFile`] reads ahead.
const READ_AHEAD: usize = 64 << 10;

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let in_buffer = self.position >= self.buffer_start
            && self.position < self.buffer_start + self.buffer.len() as u64;
        if !in_buffer {
            if buf.len() >= READ_AHEAD {
                let n = read_at(&self.file, buf, self.position)?;
                self.position += n as u64;
                return Ok(n);
            }
            self.buffer.resize(READ_AHEAD, 0);
            let n = read_at(&self.file, &mut self.buffer, self.position)?;
            self.buffer.truncate(n);
            self.buffer_start = self.position;
            if n == 0 {
                return Ok(0);
            }
        }
        let offset = (self.position - self.buffer_start) as usize;
        let n = buf.len().min(self.buffer.len() - offset);
        buf[..n].copy_from_slice(&self.buffer[offset..offset + n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.position.checked_add_signed(d),
        };
        self.position = target.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        Ok(self.position)
    }
}

/// The checks of a zip's entries, one at a time, before any is read: names, kinds, sizes,
/// ratios, the total, and the data ranges (for [`ZipScan::refuse_overlaps`]).
struct ZipScan<'a> {
    package: &'a str,
    limits: Limits,
    /// `(name, size, index, is_dir)`.
    names: Vec<(String, u64, usize, bool)>,
    /// Where each file's data lies: `(start, end, name)`.
    ranges: Vec<(u64, u64, String)>,
    /// Folded name → name as written.
    seen: HashMap<String, String>,
    total: u64,
}

impl ZipScan<'_> {
    /// Checks entry `i` and records it.
    fn entry<R: std::io::Read>(&mut self, i: usize, zf: &zip::read::ZipFile<'_, R>) -> Result<()> {
        let limits = self.limits;
        let raw = zf.name_raw().to_vec();
        let entry_err = |reason: String| Error::BadEntry {
            package: self.package.to_string(),
            entry: String::from_utf8_lossy(&raw).into_owned(),
            reason,
        };
        let name = std::str::from_utf8(&raw)
            .map_err(|_| entry_err("name is not valid UTF-8".into()))?
            .to_string();
        validate_entry_name(&name).map_err(&entry_err)?;
        if zf.is_symlink() {
            return Err(entry_err(
                "is a symbolic link; packages may hold only files and folders".into(),
            ));
        }
        if zf.encrypted() {
            return Err(entry_err(
                "is encrypted; rlcm cannot read encrypted packages".into(),
            ));
        }
        let is_dir = name.ends_with('/');
        let key = fold_name(name.trim_end_matches('/'));
        if let Some(first) = self.seen.insert(key, name.clone()) {
            let reason = if first == name {
                "appears twice in the package".to_string()
            } else {
                format!("collides with `{first}` (the names differ only in Unicode normalisation)")
            };
            return Err(entry_err(reason));
        }
        if is_dir {
            self.names.push((name, 0, i, true));
            return Ok(());
        }
        let size = zf.size();
        if size > limits.max_entry_size {
            return Err(entry_err(format!(
                "expands to {size} bytes, more than the limit of {} bytes",
                limits.max_entry_size
            )));
        }
        let compressed = zf.compressed_size().max(1);
        if size > (1 << 20) && size / compressed > limits.max_ratio {
            return Err(entry_err(format!(
                "compression ratio {}:1 exceeds the limit of {}:1 (zip bomb?)",
                size / compressed,
                limits.max_ratio
            )));
        }
        self.total = self.total.saturating_add(size);
        if self.total > limits.max_total_size {
            return Err(entry_err(format!(
                "the package expands past the limit of {} bytes in all",
                limits.max_total_size
            )));
        }
        // Where its data lies in the file, to refuse entries that share data.
        self.ranges.push((
            zf.header_start(),
            zf.data_start().saturating_add(zf.compressed_size()),
            name.clone(),
        ));
        self.names.push((name, size, i, false));
        Ok(())
    }

    /// Entries whose bytes overlap (the "overlapping files" zip bomb: many entries, one
    /// compressed stream) pass every per-entry check; a real zip never has them.
    fn refuse_overlaps(&mut self) -> Result<()> {
        self.ranges.sort();
        for w in self.ranges.windows(2) {
            if w[1].0 < w[0].1 {
                return Err(Error::BadEntry {
                    package: self.package.to_string(),
                    entry: w[1].2.clone(),
                    reason: format!(
                        "shares its data with `{}` (overlapping entries: a zip bomb?)",
                        w[0].2
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Hashes the zip entry at `index`; `None` for a directory entry.
/// A file's modification time in nanoseconds since the Unix epoch (0 when unknown).
pub(crate) fn mtime_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// True when the file starts like a zip (or is named `.zip`).
fn is_zip(path: &Path) -> Result<bool> {
    if path.extension().is_some_and(|x| x.eq_ignore_ascii_case("zip")) {
        return Ok(true);
    }
    let mut head = [0u8; 4];
    let n = File::open(path)
        .with_path("open", path)?
        .read(&mut head)
        .with_path("read", path)?;
    Ok(n >= 2 && head[..2] == *b"PK")
}

/// Checks a zip entry name is a safe relative path; returns why not.
pub fn validate_entry_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name == "/" {
        return Err("has an empty name".into());
    }
    if name.contains('\0') {
        return Err("name contains a NUL byte".into());
    }
    if name.contains('\\') {
        return Err("name contains a backslash; package paths use `/`".into());
    }
    if name.starts_with('/') {
        return Err("is an absolute path".into());
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err("is an absolute (drive letter) path".into());
    }
    let body = name.strip_suffix('/').unwrap_or(name);
    for part in body.split('/') {
        match part {
            "" => return Err("has an empty path component (`//`)".into()),
            "." | ".." => {
                return Err(format!(
                    "has a `{part}` path component that could escape the package"
                ));
            }
            _ if part.chars().any(char::is_control) => return Err("name contains a control character".into()),
            _ => {}
        }
    }
    Ok(())
}

/// The key two names collide under: Unicode NFC. Names that differ only in case are distinct
/// (Workato folder names are case-sensitive; see `fsutil::check_case_collisions`).
fn fold_name(name: &str) -> String {
    name.nfc().collect()
}

/// Returns `"T/"` when every file lives under one top-level folder `T` that is a wrapper added
/// by re-zipping (named like the zip file, or not used by the package's own references), else "".
fn detect_wrapper(zip_path: &Path, files: &[&str]) -> String {
    let Some(first) = files.first() else {
        return String::new();
    };
    let Some((top, _)) = first.split_once('/') else {
        return String::new();
    };
    let prefix = format!("{top}/");
    if !files.iter().all(|f| f.starts_with(&prefix)) {
        return String::new();
    }
    let stem = zip_path
        .file_stem()
        .map(|s| s.to_string_lossy().nfc().collect::<String>())
        .unwrap_or_default();
    if stem == top.nfc().collect::<String>() {
        return prefix;
    }
    // A Workato export of a single folder also has every file under one folder, but its
    // references then name that folder (`T/x.connection.json`). A wrapper is never named.
    String::new()
}

/// What the end-of-central-directory record says.
struct Eocd {
    entries: u64,
    cd_offset: u64,
    cd_size: u64,
}

/// Reads the end-of-central-directory record (zip64 aware) without trusting or allocating
/// anything else; `None` when there is no such record.
fn read_eocd(file: &mut File) -> std::io::Result<Option<Eocd>> {
    let len = file.seek(SeekFrom::End(0))?;
    let tail_len = len.min(22 + 65_535 + 20);
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail)?;
    let Some(pos) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
    else {
        return Ok(None);
    };
    let u16_at = |i: usize| u16::from_le_bytes([tail[i], tail[i + 1]]) as u64;
    let u32_at = |i: usize| u32::from_le_bytes([tail[i], tail[i + 1], tail[i + 2], tail[i + 3]]) as u64;
    let mut eocd = Eocd {
        entries: u16_at(pos + 10),
        cd_size: u32_at(pos + 12),
        cd_offset: u32_at(pos + 16),
    };
    let zip64 = eocd.entries == 0xFFFF || eocd.cd_size == 0xFFFF_FFFF || eocd.cd_offset == 0xFFFF_FFFF;
    // zip64: the locator sits just before the EOCD record and points at the zip64 EOCD.
    if zip64 && pos >= 20 && tail[pos - 20..pos - 16] == [0x50, 0x4b, 0x06, 0x07] {
        let off = u64::from_le_bytes(tail[pos - 12..pos - 4].try_into().unwrap_or([0; 8]));
        if off.checked_add(56).is_some_and(|end| end <= len) {
            file.seek(SeekFrom::Start(off))?;
            let mut rec = [0u8; 56];
            file.read_exact(&mut rec)?;
            if rec[0..4] == [0x50, 0x4b, 0x06, 0x06] {
                let u64_at = |i: usize| u64::from_le_bytes(rec[i..i + 8].try_into().unwrap_or([0; 8]));
                eocd = Eocd {
                    entries: u64_at(32),
                    cd_size: u64_at(40),
                    cd_offset: u64_at(48),
                };
            }
        }
    }
    Ok(Some(eocd))
}

/// The raw names in the central directory, or `None` when it is not where the EOCD says
/// (the zip crate then reports the damage).
fn central_directory_names(file: &mut File, eocd: &Eocd) -> std::io::Result<Option<Vec<Vec<u8>>>> {
    let len = file.seek(SeekFrom::End(0))?;
    if eocd
        .cd_offset
        .checked_add(eocd.cd_size)
        .is_none_or(|end| end > len)
    {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(eocd.cd_offset))?;
    let mut reader = BufReader::new(Read::by_ref(file).take(eocd.cd_size));
    let mut names = Vec::with_capacity(eocd.entries.min(1 << 16) as usize);
    let mut header = [0u8; 46];
    for _ in 0..eocd.entries {
        if reader.read_exact(&mut header).is_err() || header[0..4] != [0x50, 0x4b, 0x01, 0x02] {
            return Ok(None);
        }
        let n = u16::from_le_bytes([header[28], header[29]]) as usize;
        let rest = u16::from_le_bytes([header[30], header[31]]) as u64
            + u16::from_le_bytes([header[32], header[33]]) as u64;
        let mut name = vec![0u8; n];
        if reader.read_exact(&mut name).is_err() {
            return Ok(None);
        }
        if std::io::copy(&mut Read::by_ref(&mut reader).take(rest), &mut std::io::sink())? != rest {
            return Ok(None);
        }
        names.push(name);
    }
    Ok(Some(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unsafe_names() {
        for name in [
            "/etc/passwd",
            "../x.json",
            "a/../../x",
            "a\\b.json",
            "C:/x",
            "a//b",
            "a/./b",
            "",
        ] {
            assert!(validate_entry_name(name).is_err(), "{name}");
        }
        for name in [
            "a.recipe.json",
            "取引先登録/",
            "Personal use/コネクション/x.connection.json",
        ] {
            assert!(validate_entry_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn folds_normalisation_not_case() {
        assert_ne!(fold_name("A.json"), fold_name("a.json"));
        assert_eq!(fold_name("\u{30DB}\u{3099}"), fold_name("\u{30DC}"));
    }

    /// The fast walk and the careful one list the same files, sizes and times (private names,
    /// `.workato-ignore` patterns over files and folders, empty and deep folders, a folder of
    /// more files than are `stat`ed one by one, names outside ASCII), and every kind of
    /// trouble makes the fast walk give up, so that the careful one words the error.
    #[test]
    fn the_fast_walk_lists_what_the_careful_walk_lists() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let files = [
            "a.recipe.json",
            "a-b/x.recipe.json",
            "a/b/c/d/deep.recipe.json",
            "a/.DS_Store",
            "a/.gitignore",
            ".git/HEAD",
            ".rlcm/env.json",
            ".wk/wk.toml",
            "drafts/skip.recipe.json",
            "keep/one.scratch.recipe.json",
            "keep/two.recipe.json",
            "取引先登録/コネクション.connection.json",
            "empty-sibling/z.lookup_table.json",
        ];
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, f.as_bytes()).unwrap();
        }
        std::fs::create_dir_all(root.join("empty/inner")).unwrap();
        for i in 0..(walk::PAR_STATS + 40) {
            std::fs::write(root.join(format!("a/b/many-{i:04}.recipe.json")), vec![b'x'; i]).unwrap();
        }
        std::fs::write(root.join(".workato-ignore"), "drafts/\n*.scratch.recipe.json\n").unwrap();
        let same = |root: &Path| {
            let ignored = workato_ignore(root).unwrap();
            let mut fast = walk::walk(root, ignored.as_ref()).expect("the fast walk answers");
            let mut careful = Source::walk_careful(root, ignored.as_ref()).unwrap();
            let key = |e: &Entry| (e.path.clone(), e.size, e.mtime);
            fast.sort_by_key(key);
            careful.sort_by_key(key);
            assert_eq!(
                fast.iter().map(key).collect::<Vec<_>>(),
                careful.iter().map(key).collect::<Vec<_>>()
            );
            fast.len()
        };
        let n = same(root);
        assert_eq!(n, 6 + walk::PAR_STATS + 40);
        std::fs::remove_file(root.join(".workato-ignore")).unwrap();
        assert_eq!(same(root), n + 2);
        // Trouble: the fast walk gives up, the careful one says what is wrong.
        std::os::unix::fs::symlink("a.recipe.json", root.join("a/b/link.recipe.json")).unwrap();
        assert!(walk::walk(root, None).is_none());
        let err = Source::open(root).unwrap_err().to_string();
        assert!(
            err.contains("a/b/link.recipe.json") && err.contains("symbolic link"),
            "{err}"
        );
        std::fs::remove_file(root.join("a/b/link.recipe.json")).unwrap();
        use std::os::unix::ffi::OsStrExt;
        let bad = root
            .join("keep")
            .join(std::ffi::OsStr::from_bytes(b"\xff.recipe.json"));
        std::fs::write(&bad, b"{}").unwrap();
        assert!(walk::walk(root, None).is_none());
        let err = Source::open(root).unwrap_err().to_string();
        assert!(err.contains("not valid UTF-8"), "{err}");
        std::fs::remove_file(&bad).unwrap();
        assert_eq!(same(root), n + 2);
    }
}
