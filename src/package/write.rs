//! Writing a package: a deterministic zip, checked before it is renamed into place.
//!
//! Entries are sorted by path (byte order). Every entry has the same timestamp
//! (`SOURCE_DATE_EPOCH`, else [`DEFAULT_TIMESTAMP`]) and fixed permissions (files `0100644`,
//! directories `040755`); files are deflated at [`WriteOptions::compression_level`], and no
//! extra fields are written. Directory entries follow Workato: a stored, empty `folder/` entry
//! for each folder that directly holds files, just before the first file of that folder;
//! folders that only hold folders get none. `rlcm-package.json` comes last.
//!
//! Compression runs on all cores: the sorted files are cut into chunks of about
//! [`CHUNK_BYTES`], each chunk is read, hashed (blake3) and compressed into a small in-memory
//! zip by a worker, and the chunks are appended in order to the output with
//! [`zip::ZipWriter::merge_archive`], which copies the compressed bytes verbatim. At most
//! [`WINDOW_CHUNKS`] per thread are in flight, so memory does not grow with the package. Files
//! over [`STREAM_THRESHOLD`] are streamed from disk on the writing thread instead of being held
//! in memory. The bytes depend only on the inputs and options, never on thread timing.
//!
//! The zip is written under a dot-prefixed temporary name in the destination directory,
//! synced, re-read with [`Source::open`] (the same defensive reader every command uses) and
//! every entry's size and blake3 compared with what was written; only then is it renamed into
//! place and the directory synced.
//!
//! The temporary file (`.rlcm-package-*.tmp`) is locked (`flock`) for as long as its writer
//! lives. A writer killed before its rename leaves it behind, unlocked: every export first
//! removes the unlocked `.rlcm-package-*.tmp` regular files of its destination folder (a live
//! export's is locked, so it is left alone), so the next export to that folder cleans up after
//! a killed one.

use crate::error::Subject;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::verify::{compare_entries, first_mismatch_error, hash_entries};
use super::{
    FORMAT_VERSION, MANIFEST_NAME, PackageAsset, PackageConnector, PackageEntry, PackageManifest,
    PackageSource, compute_digest, sort_keys,
};
use crate::error::{Error, IoContext, Result};
use crate::source::{Limits, Source, validate_entry_name};

/// The timestamp of every entry when `SOURCE_DATE_EPOCH` is not given: 2000-01-01 00:00:00 UTC.
///
/// Any fixed time keeps packages reproducible; this one is far from the edges of the zip
/// (DOS) date range, whose lower end (1980-01-01 00:00) some extractors shift before 1980
/// when they apply a time zone.
pub const DEFAULT_TIMESTAMP: i64 = 946_684_800;

/// The default deflate level: 1, the fastest.
///
/// Export speed is a requirement (SPEC §9; 10,000 recipes in less wall time than `zip -qr`)
/// and package size is not. Measured on a generated 10,000-recipe tree (138 MiB of JSON) with
/// the deflate implementation used (miniz_oxide), writing a package costs, in CPU time
/// including the re-read check: level 1 about 1.0 s (21.7 MB), level 3 about 1.4 s (16.8 MB,
/// the size `zip -6` gives), level 6 about 1.7 s (15.9 MB). [`WriteOptions::compression_level`]
/// trades speed for size.
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 1;

/// Uncompressed bytes a worker reads and compresses as one chunk.
pub(crate) const CHUNK_BYTES: u64 = 1 << 20;

/// Most files in one chunk (small files cost per file, not per byte).
pub(crate) const CHUNK_FILES: usize = 256;

/// Chunks in flight per worker thread. A chunk holds at most `max(CHUNK_BYTES,
/// STREAM_THRESHOLD)` bytes of files read from disk, so reading and compressing never hold
/// more than `threads × WINDOW_CHUNKS` times that, whatever the size of the package.
pub(crate) const WINDOW_CHUNKS: usize = 8;

/// Files on disk larger than this are streamed by the writing thread, never held whole.
pub(crate) const STREAM_THRESHOLD: u64 = 4 << 20;

/// Where the bytes of a package file come from.
#[derive(Debug, Clone)]
pub enum FileSource {
    /// Bytes in memory (a rewritten JSON asset).
    Bytes(Vec<u8>),
    /// A file on disk, read when its turn comes.
    Path(PathBuf),
}

/// One file to put in a package.
#[derive(Debug, Clone)]
pub struct PackageFile {
    /// Path in the package, relative, `/`-separated.
    pub path: String,
    /// Its bytes.
    pub source: FileSource,
}

impl PackageFile {
    /// Returns a file whose bytes are in memory.
    pub fn bytes(path: impl Into<String>, bytes: Vec<u8>) -> Self {
        PackageFile {
            path: path.into(),
            source: FileSource::Bytes(bytes),
        }
    }

    /// Returns a file read from `file` on disk.
    pub fn from_path(path: impl Into<String>, file: impl Into<PathBuf>) -> Self {
        PackageFile {
            path: path.into(),
            source: FileSource::Path(file.into()),
        }
    }
}

/// What `rlcm-package.json` says besides its entries and digest (which the writer computes).
#[derive(Debug, Clone, Default)]
pub struct PackageMeta {
    /// The environment exported from.
    pub source: Option<PackageSource>,
    /// The export manifest used (`Value::Null` when none).
    pub manifest: Value,
    /// The assets. An asset whose `blake3` is empty gets its size and blake3 from the written
    /// entry; otherwise both must match it.
    pub assets: Vec<PackageAsset>,
    /// The custom connectors. `code` defaults to the `.custom_adapter.rb` beside `path` when
    /// that file is in the package, and `code_blake3`, when `None`, to the written code's hash;
    /// a given `code_blake3` must match it.
    pub connectors: Vec<PackageConnector>,
}

/// How to write a package.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Seconds since 1970-01-01 UTC for every entry's timestamp (from `SOURCE_DATE_EPOCH`, see
    /// [`source_date_epoch_from_env`]); `None` means [`DEFAULT_TIMESTAMP`]. Times outside the
    /// zip range (1980–2107) are clamped to it.
    pub source_date_epoch: Option<i64>,
    /// Leave `rlcm-package.json` out, so the zip holds exactly what Workato would write.
    pub workato_strict: bool,
    /// Deflate level, 1 (fastest) to 9 (smallest); 0 stores the data in deflate blocks
    /// uncompressed. Default [`DEFAULT_COMPRESSION_LEVEL`].
    pub compression_level: u32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            source_date_epoch: None,
            workato_strict: false,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
        }
    }
}

/// What [`write_package`] wrote.
#[derive(Debug, Clone)]
pub struct WrittenPackage {
    /// The package file.
    pub path: PathBuf,
    /// The root digest (also computed with `workato_strict`, though not stored then).
    pub digest: String,
    /// Every file entry but `rlcm-package.json`, sorted by path, with size and blake3.
    pub entries: Vec<PackageEntry>,
    /// The directory entries written (`folder/`), in archive order.
    pub directories: Vec<String>,
    /// The full `rlcm-package.json` document (written unless `workato_strict`).
    pub manifest: PackageManifest,
    /// Size of the zip in bytes.
    pub bytes: u64,
}

/// Reads `SOURCE_DATE_EPOCH`: `None` when unset or empty, an error naming the variable when it
/// is not an integer.
pub fn source_date_epoch_from_env() -> Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => text.trim().parse::<i64>().map(Some).map_err(|_| {
            Error::invalid(
                Subject::Variable("SOURCE_DATE_EPOCH".to_string()),
                format!("SOURCE_DATE_EPOCH=`{text}` is not a whole number of seconds since 1970-01-01 UTC"),
            )
            .hint(
                "\
                 unset it or give an integer",
            )
        }),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::invalid(
            Subject::Variable("SOURCE_DATE_EPOCH".into()),
            "SOURCE_DATE_EPOCH is not valid UTF-8",
        )
        .hint("unset it or give an integer")),
    }
}

/// Writes a package to `out` (see the module docs) and returns its digest and entries.
///
/// Fails, leaving nothing at `out`, on an unsafe or clashing path, a file that cannot be read,
/// an asset or connector that names no file or disagrees with it, or a zip that does not read
/// back exactly as written.
pub fn write_package(
    out: &Path,
    files: Vec<PackageFile>,
    meta: PackageMeta,
    opts: &WriteOptions,
) -> Result<WrittenPackage> {
    if opts.compression_level > 9 {
        return Err(Error::invalid(
            Subject::Arguments,
            format!("compression level {} is out of range", opts.compression_level),
        )
        .hint("use 0 to 9"));
    }
    let time = zip_time(opts.source_date_epoch.unwrap_or(DEFAULT_TIMESTAMP));
    let file_options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(i64::from(opts.compression_level)))
        .last_modified_time(time)
        .unix_permissions(0o644);
    let dir_options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(time)
        .unix_permissions(0o755);
    let display = out.display().to_string();

    let planned = plan(files)?;
    check_described_paths(&meta, &planned, &display)?;
    let jobs = jobs(&planned);
    let directories: Vec<String> = planned.iter().filter_map(|p| p.dir_before.clone()).collect();

    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    sweep_stale_temporaries(&dir);
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    // A package is an ordinary file: 0666 less the umask, not the 0600 of a temporary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let temp = crate::fsutil::temp_file_in(&builder, &dir).with_path("create a temporary file in", &dir)?;
    let temp_path = temp.path().to_path_buf();
    lock_temporary(temp.as_file(), &temp_path)?;
    let handle = temp.as_file().try_clone().with_path("write", &temp_path)?;
    // Not dropped on an error: the zip writer's drop would finish the archive on a file that
    // failed, and print to stderr.
    let mut writer = std::mem::ManuallyDrop::new(ZipWriter::new(PositionWriter {
        inner: BufWriter::with_capacity(1 << 20, crate::fsutil::Hooked::new(handle, &temp_path)),
        position: 0,
        failed: None,
    }));
    let options = EntryOptions {
        file: file_options,
        dir: dir_options,
        workato_strict: opts.workato_strict,
    };
    let (entries, manifest, expected) =
        fill(&mut writer, planned, &jobs, meta, &options, &temp_path, &display)?;
    let position = std::mem::ManuallyDrop::into_inner(writer)
        .finish()
        .map_err(|e| zip_error(&temp_path, e))?;
    let size = position.position;
    let file = position
        .inner
        .into_inner()
        .map_err(|e| Error::io("write", &temp_path, e.into_error()))?
        .into_inner();
    crate::fsutil::sync_file(&file, &temp_path).with_path("sync", &temp_path)?;
    drop(file);

    check_written(&temp_path, &display, &expected, &directories)?;

    crate::fsutil::persist(temp, out).map_err(|e| Error::io("rename into place", out, e.error))?;
    sync_dir(&dir)?;
    Ok(WrittenPackage {
        path: out.to_path_buf(),
        digest: manifest.digest.clone(),
        entries,
        directories,
        manifest,
        bytes: size,
    })
}

/// The name prefix and suffix of a package's temporary file in its destination folder.
pub(crate) const TEMP_PREFIX: &str = ".rlcm-package-";
/// See [`TEMP_PREFIX`].
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// Locks a fresh temporary file for its writer's lifetime, and checks that the name still
/// holds it (a sweeping export may have taken it between its creation and the lock).
fn lock_temporary(file: &File, path: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::io(
                "lock",
                path,
                io::Error::other("another process holds the lock of this new temporary file"),
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mine = file.metadata().with_path("read the metadata of", path)?;
        let named = std::fs::symlink_metadata(path).with_path("read the metadata of", path)?;
        if mine.ino() != named.ino() || mine.dev() != named.dev() {
            return Err(Error::io(
                "lock",
                path,
                io::Error::other(
                    "the temporary file was removed by another export while it was created; run the export again",
                ),
            ));
        }
    }
    Ok(())
}

/// Removes what killed exports left in `dir`: `.rlcm-package-*.tmp` regular files that no live
/// writer holds locked. Best effort: whatever cannot be read, opened or removed stays.
pub(crate) fn sweep_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let path = e.path();
        // Only regular files (never through a symbolic link).
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            continue;
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let Ok(file) = options.open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = crate::fsutil::remove_file(&path);
        }
    }
}

/// The options every entry is written with.
struct EntryOptions {
    file: SimpleFileOptions,
    dir: SimpleFileOptions,
    workato_strict: bool,
}

/// Converts a zip writer error into an I/O error on the temporary file.
fn zip_error(temp: &Path, e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io) => Error::io("write", temp, io),
        other => Error::io("write", temp, io::Error::other(other)),
    }
}

/// Writes every entry, then `rlcm-package.json`; returns the entries, the manifest, and what
/// the zip must read back as (the entries plus `rlcm-package.json`).
fn fill<W: Write + Seek>(
    writer: &mut ZipWriter<W>,
    planned: Vec<Planned>,
    jobs: &[Job],
    meta: PackageMeta,
    options: &EntryOptions,
    temp: &Path,
    package: &str,
) -> Result<(Vec<PackageEntry>, PackageManifest, Vec<PackageEntry>)> {
    let zip_err = |e| zip_error(temp, e);
    let mut entries: Vec<PackageEntry> = Vec::with_capacity(planned.len());
    let mut pending = planned.into_iter();
    let threads = rayon::current_num_threads().max(1);
    let mut job_index = 0;
    while job_index < jobs.len() {
        if let Job::Stream = jobs[job_index] {
            let file = pending.next().expect("one planned file per streamed job");
            if let Some(d) = &file.dir_before {
                writer.add_directory(d.as_str(), options.dir).map_err(zip_err)?;
            }
            let entry = stream_file(writer, &file, options.file).map_err(|e| match e {
                StreamError::Read(io) => Error::io("read", file.disk_path(), io),
                StreamError::Zip(z) => zip_err(z),
            })?;
            entries.push(entry);
            job_index += 1;
            continue;
        }
        // A window: consecutive chunks, compressed in parallel, appended in order.
        let mut window: Vec<Vec<Planned>> = Vec::new();
        while job_index < jobs.len() && window.len() < threads * WINDOW_CHUNKS {
            let Job::Chunk(n) = jobs[job_index] else { break };
            window.push(pending.by_ref().take(n).collect());
            job_index += 1;
        }
        let compressed: Vec<Result<Chunk>> = window
            .par_iter()
            .map(|chunk| compress_chunk(chunk, options.file, options.dir))
            .collect();
        drop(window);
        for chunk in compressed {
            let chunk = chunk?;
            let archive = ZipArchive::new(Cursor::new(chunk.zip)).map_err(zip_err)?;
            writer.merge_archive(archive).map_err(zip_err)?;
            entries.extend(chunk.entries);
        }
    }

    let manifest = build_manifest(meta, entries.clone(), package)?;
    let mut expected = entries.clone();
    if !options.workato_strict {
        let bytes = crate::json::to_workato_vec(&manifest);
        expected.push(PackageEntry {
            path: MANIFEST_NAME.to_string(),
            size: bytes.len() as u64,
            blake3: blake3::hash(&bytes).to_hex().to_string(),
        });
        writer.start_file(MANIFEST_NAME, options.file).map_err(zip_err)?;
        writer.write_all(&bytes).with_path("write", temp)?;
    }
    Ok((entries, manifest, expected))
}

/// Checks, before any work, that every asset and connector the caller describes is a file of
/// the package (hashes are checked once the files are written).
fn check_described_paths(meta: &PackageMeta, planned: &[Planned], package: &str) -> Result<()> {
    let paths: std::collections::HashSet<&str> = planned.iter().map(|p| p.path.as_str()).collect();
    let described = meta
        .assets
        .iter()
        .map(|a| ("asset", a.path.as_str()))
        .chain(meta.connectors.iter().map(|c| ("connector", c.path.as_str())))
        .chain(
            meta.connectors
                .iter()
                .filter_map(|c| c.code.as_deref())
                .map(|p| ("connector code", p)),
        );
    for (what, path) in described {
        if !paths.contains(path) {
            return Err(Error::invalid(
                Subject::Package(package.to_string()),
                format!("package `{package}`: {what} `{path}` is not among the package files"),
            ));
        }
    }
    Ok(())
}

/// A file with its place in the package.
struct Planned {
    path: String,
    source: FileSource,
    /// Its size on disk (or in memory) when planned.
    size: u64,
    /// The directory entry to write just before it, if it is the first file of its folder.
    dir_before: Option<String>,
}

impl Planned {
    fn disk_path(&self) -> PathBuf {
        match &self.source {
            FileSource::Path(p) => p.clone(),
            FileSource::Bytes(_) => PathBuf::from(&self.path),
        }
    }
}

/// A unit of work, in package order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// The next `n` files, compressed together by one worker.
    Chunk(usize),
    /// The next file, streamed by the writing thread.
    Stream,
}

/// Sorts and checks the files, sizes those on disk, and places the directory entries.
fn plan(files: Vec<PackageFile>) -> Result<Vec<Planned>> {
    let mut files = files;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let bad = |path: &str, reason: String| Error::BadAsset {
        path: path.to_string(),
        reason,
    };
    // Names: safe, unique, and distinct from each other and from every folder after case
    // folding and Unicode normalisation, as the reader demands.
    let mut folded: HashMap<String, &str> = HashMap::with_capacity(files.len());
    for f in &files {
        validate_entry_name(&f.path)
            .map_err(|reason| bad(&f.path, format!("cannot be a package entry: {reason}")))?;
        if f.path.ends_with('/') {
            return Err(bad(
                &f.path,
                "cannot be a package entry: a file name may not end in `/`".into(),
            ));
        }
        if f.path == MANIFEST_NAME {
            return Err(bad(
                &f.path,
                "is reserved for rlcm's own package manifest; rename the file".into(),
            ));
        }
        if let Some(first) = folded.insert(fold(&f.path), &f.path) {
            let reason = if first == f.path {
                "is given twice".to_string()
            } else {
                format!("collides with `{first}` (the names differ only in Unicode normalisation)")
            };
            return Err(bad(&f.path, reason));
        }
    }
    let mut folders: HashMap<String, String> = HashMap::new();
    for f in &files {
        let mut rest = f.path.as_str();
        while let Some((folder, _)) = rest.rsplit_once('/') {
            let key = fold(folder);
            if let Some(file) = folded.get(&key) {
                return Err(bad(
                    file,
                    format!("is a file, but `{}` needs it to be a folder", f.path),
                ));
            }
            match folders.get(&key) {
                Some(seen) if seen == folder => break,
                Some(seen) => {
                    return Err(bad(
                        &f.path,
                        format!(
                            "its folder `{folder}` collides with `{seen}` (the names differ only in Unicode normalisation)"
                        ),
                    ));
                }
                None => {
                    folders.insert(key, folder.to_string());
                }
            }
            rest = folder;
        }
    }
    let max = Limits::default().max_entry_size;
    let sizes: Vec<u64> = files
        .par_iter()
        .map(|f| match &f.source {
            FileSource::Bytes(b) => Ok(b.len() as u64),
            FileSource::Path(p) => {
                let meta = std::fs::metadata(p).with_path("read", p)?;
                if !meta.is_file() {
                    return Err(Error::BadAsset {
                        path: p.display().to_string(),
                        reason: "is not a regular file; a package holds only files".into(),
                    });
                }
                Ok(meta.len())
            }
        })
        .collect::<Result<_>>()?;
    let mut planned = Vec::with_capacity(files.len());
    let mut seen_folders = std::collections::HashSet::new();
    for (f, size) in files.into_iter().zip(sizes) {
        if size > max {
            return Err(bad(
                &f.path,
                format!("is {size} bytes; a package entry may hold at most {max} bytes"),
            ));
        }
        let dir_before = match f.path.rsplit_once('/') {
            Some((folder, _)) if seen_folders.insert(folder.to_string()) => Some(format!("{folder}/")),
            _ => None,
        };
        planned.push(Planned {
            path: f.path,
            source: f.source,
            size,
            dir_before,
        });
    }
    Ok(planned)
}

/// Cuts the planned files into jobs: chunks of at most [`CHUNK_BYTES`] (or one bigger file)
/// and [`CHUNK_FILES`] files, and big files on disk alone.
fn jobs(planned: &[Planned]) -> Vec<Job> {
    let mut jobs = Vec::new();
    let (mut n, mut bytes) = (0usize, 0u64);
    for p in planned {
        let stream = matches!(p.source, FileSource::Path(_)) && p.size > STREAM_THRESHOLD;
        let full = n >= CHUNK_FILES || (n > 0 && bytes + p.size > CHUNK_BYTES);
        if n > 0 && (stream || full) {
            jobs.push(Job::Chunk(n));
            (n, bytes) = (0, 0);
        }
        if stream {
            jobs.push(Job::Stream);
        } else {
            n += 1;
            bytes += p.size;
        }
    }
    if n > 0 {
        jobs.push(Job::Chunk(n));
    }
    jobs
}

/// A chunk compressed into a small zip of its own.
struct Chunk {
    zip: Vec<u8>,
    entries: Vec<PackageEntry>,
}

/// Reads, hashes and compresses one chunk of files (with their directory entries).
fn compress_chunk(
    files: &[Planned],
    file_options: SimpleFileOptions,
    dir_options: SimpleFileOptions,
) -> Result<Chunk> {
    let estimate: u64 = files.iter().map(|f| f.size / 3 + 128).sum();
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(estimate as usize)));
    let mut entries = Vec::with_capacity(files.len());
    let mut buffer = Vec::new();
    let fail =
        |path: &str, e: &dyn std::fmt::Display| Error::io("compress", path, io::Error::other(e.to_string()));
    for f in files {
        if let Some(d) = &f.dir_before {
            zip.add_directory(d.as_str(), dir_options)
                .map_err(|e| fail(d, &e))?;
        }
        let bytes: &[u8] = match &f.source {
            FileSource::Bytes(b) => b,
            FileSource::Path(p) => {
                // One buffer for the whole chunk: no allocation (and no extra `stat`) per file.
                buffer.clear();
                File::open(p)
                    .and_then(|mut file| file.read_to_end(&mut buffer))
                    .with_path("read", p)?;
                &buffer
            }
        };
        entries.push(PackageEntry {
            path: f.path.clone(),
            size: bytes.len() as u64,
            blake3: blake3::hash(bytes).to_hex().to_string(),
        });
        zip.start_file(f.path.as_str(), file_options)
            .map_err(|e| fail(&f.path, &e))?;
        zip.write_all(bytes).map_err(|e| fail(&f.path, &e))?;
    }
    let zip = zip.finish().map_err(|e| fail("(chunk)", &e))?.into_inner();
    Ok(Chunk { zip, entries })
}

enum StreamError {
    Read(io::Error),
    Zip(zip::result::ZipError),
}

/// Streams a big file from disk into the package, hashing it on the way.
fn stream_file<W: Write + Seek>(
    writer: &mut ZipWriter<W>,
    file: &Planned,
    options: SimpleFileOptions,
) -> std::result::Result<PackageEntry, StreamError> {
    let FileSource::Path(p) = &file.source else {
        unreachable!("only files on disk are streamed")
    };
    let mut reader = HashingReader {
        inner: File::open(p).map_err(StreamError::Read)?,
        hasher: blake3::Hasher::new(),
        size: 0,
        failed: false,
    };
    writer
        .start_file(file.path.as_str(), options)
        .map_err(StreamError::Zip)?;
    if let Err(e) = io::copy(&mut reader, writer) {
        return Err(if reader.failed {
            StreamError::Read(e)
        } else {
            StreamError::Zip(zip::result::ZipError::Io(e))
        });
    }
    Ok(PackageEntry {
        path: file.path.clone(),
        size: reader.size,
        blake3: reader.hasher.finalize().to_hex().to_string(),
    })
}

/// A reader that hashes and counts what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    size: u64,
    /// True when the error came from reading (not from writing).
    failed: bool,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).inspect_err(|_| self.failed = true)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// A buffered file writer that knows its position, so the zip writer's many "where am I?"
/// questions cost no flush and no system call.
struct PositionWriter {
    inner: BufWriter<crate::fsutil::Hooked<File>>,
    position: u64,
    /// The error of the first write or seek that failed: every later call fails with it (the
    /// zip writer, going on after a failed write, would otherwise see its position go back and
    /// trip an assertion).
    failed: Option<io::ErrorKind>,
}

impl PositionWriter {
    fn check(&self) -> io::Result<()> {
        match self.failed {
            Some(kind) => Err(io::Error::new(kind, "an earlier write of the package failed")),
            None => Ok(()),
        }
    }

    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            self.failed = Some(e.kind());
        }
        r
    }
}

impl Write for PositionWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        let r = self.inner.write(buf);
        let n = self.note(r)?;
        self.position += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.check()?;
        let r = self.inner.write_all(buf);
        self.note(r)?;
        self.position += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        let r = self.inner.flush();
        self.note(r)
    }
}

impl Seek for PositionWriter {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.check()?;
        if pos == SeekFrom::Current(0) {
            return Ok(self.position);
        }
        let r = self.inner.seek(pos);
        self.position = self.note(r)?;
        Ok(self.position)
    }
}

/// Completes the caller's description with the written entries, checks it, and seals it.
fn build_manifest(meta: PackageMeta, entries: Vec<PackageEntry>, package: &str) -> Result<PackageManifest> {
    let by_path: HashMap<&str, &PackageEntry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let invalid = |what: &str, path: &str, reason: String| {
        Error::invalid(
            Subject::Package(package.to_string()),
            format!("package `{package}`: {what} `{path}` {reason}"),
        )
    };
    let mut assets = meta.assets;
    for a in &mut assets {
        let Some(e) = by_path.get(a.path.as_str()) else {
            return Err(invalid("asset", &a.path, "is not among the package files".into()));
        };
        if a.blake3.is_empty() {
            a.size = e.size;
            a.blake3 = e.blake3.clone();
        } else if a.size != e.size || a.blake3 != e.blake3 {
            return Err(invalid(
                "asset",
                &a.path,
                format!(
                    "is described as {} bytes with blake3 {}, but the file written is {} bytes with blake3 {}",
                    a.size, a.blake3, e.size, e.blake3
                ),
            ));
        }
        a.references.sort();
        a.references.dedup();
    }
    assets.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = assets.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(invalid("asset", &w[0].path, "is listed twice".into()));
    }
    let mut connectors = meta.connectors;
    for c in &mut connectors {
        if !by_path.contains_key(c.path.as_str()) {
            return Err(invalid(
                "connector",
                &c.path,
                "is not among the package files".into(),
            ));
        }
        if c.code.is_none() {
            let code = format!("{}.rb", c.path.strip_suffix(".json").unwrap_or(&c.path));
            if by_path.contains_key(code.as_str()) {
                c.code = Some(code);
            }
        }
        let written = c.code.as_deref().map(|code| {
            by_path
                .get(code)
                .map(|e| e.blake3.clone())
                .ok_or_else(|| invalid("connector code", code, "is not among the package files".into()))
        });
        let written = written.transpose()?;
        match (&c.code_blake3, written) {
            (None, w) => c.code_blake3 = w,
            (Some(given), Some(w)) if *given != w => {
                return Err(invalid(
                    "connector",
                    &c.path,
                    format!("is described with code blake3 {given}, but the code written has blake3 {w}"),
                ));
            }
            (Some(_), None) => {
                return Err(invalid(
                    "connector",
                    &c.path,
                    "has a code blake3 but no code file".into(),
                ));
            }
            _ => {}
        }
    }
    connectors.sort_by(|a, b| a.path.cmp(&b.path));
    let mut manifest = PackageManifest {
        format_version: FORMAT_VERSION,
        source: meta.source,
        manifest: sort_keys(meta.manifest),
        assets,
        connectors,
        entries,
        digest: String::new(),
    };
    manifest.digest = compute_digest(&manifest);
    Ok(manifest)
}

/// Re-reads the written zip with the defensive reader and checks it holds exactly `expected`
/// (sizes and blake3) and the directory entries planned.
fn check_written(
    temp: &Path,
    package: &str,
    expected: &[PackageEntry],
    directories: &[String],
) -> Result<()> {
    let source = Source::open(temp)?;
    if let Source::Zip {
        directories: read, ..
    } = &source
        && read != directories
    {
        return Err(Error::BadPackage {
            package: package.to_string(),
            reason: format!(
                "reads back with directory entries {read:?} instead of {directories:?}; nothing was written"
            ),
        });
    }
    let actual = hash_entries(&source)?;
    let mismatches = compare_entries(expected, &actual);
    match first_mismatch_error(package, &mismatches) {
        Some(mut err) => {
            if let Error::BadEntry { reason, .. } = &mut err {
                reason.push_str(
                    " (the package did not read back as written: disk or filesystem fault?); nothing was written",
                );
            }
            Err(err)
        }
        None => Ok(()),
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| crate::fsutil::sync_file(&d, dir))
            .with_path("sync", dir)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The key two names collide under: Unicode NFC (as the reader folds them).
fn fold(name: &str) -> String {
    name.nfc().collect()
}

/// Converts seconds since 1970-01-01 UTC to a zip timestamp, clamped to the zip range.
fn zip_time(epoch: i64) -> zip::DateTime {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let min = zip::DateTime::default();
    if year < 1980 {
        return min;
    }
    if year > 2107 {
        return zip::DateTime::from_date_and_time(2107, 12, 31, 23, 59, 58).unwrap_or(min);
    }
    zip::DateTime::from_date_and_time(
        year as u16,
        month,
        day,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    )
    .unwrap_or(min)
}

/// Returns the proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_removes_only_unlocked_package_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let stale = d.join(".rlcm-package-stale.tmp");
        let live = d.join(".rlcm-package-live.tmp");
        let other = d.join(".rlcm-package-x.zip");
        for p in [&stale, &live, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(&other, d.join(".rlcm-package-link.tmp")).unwrap();
        let held = File::open(&live).unwrap();
        lock_temporary(&held, &live).unwrap();
        sweep_stale_temporaries(d);
        assert!(!stale.exists());
        assert!(live.exists(), "a live export's temporary is left alone");
        assert!(other.exists());
        #[cfg(unix)]
        assert!(d.join(".rlcm-package-link.tmp").symlink_metadata().is_ok());
        drop(held);
        sweep_stale_temporaries(d);
        assert!(!live.exists());
    }

    #[test]
    fn converts_epochs_to_zip_times() {
        let t = zip_time(DEFAULT_TIMESTAMP);
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second()),
            (2000, 1, 1, 0, 0, 0)
        );
        let t = zip_time(1_700_000_000); // 2023-11-14 22:13:20 UTC
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second()),
            (2023, 11, 14, 22, 13, 20)
        );
        let t = zip_time(951_782_400); // 2000-02-29
        assert_eq!((t.year(), t.month(), t.day()), (2000, 2, 29));
        assert_eq!(zip_time(0), zip::DateTime::default());
        assert_eq!(zip_time(-86_400), zip::DateTime::default());
        assert_eq!(zip_time(i64::MAX / 2).year(), 2107);
    }

    #[test]
    fn places_directory_entries_like_workato() {
        let files = [
            "b/x.json",
            "a/b/c.json",
            "a/b.json",
            "a/b0.json",
            "top.json",
            "a/b/d.json",
        ]
        .iter()
        .map(|p| PackageFile::bytes(*p, b"{}".to_vec()))
        .collect();
        let planned = plan(files).unwrap();
        let order: Vec<String> = planned
            .iter()
            .flat_map(|p| p.dir_before.clone().into_iter().chain([p.path.clone()]))
            .collect();
        assert_eq!(
            order,
            [
                "a/",
                "a/b.json",
                "a/b/",
                "a/b/c.json",
                "a/b/d.json",
                "a/b0.json",
                "b/",
                "b/x.json",
                "top.json"
            ]
        );
    }

    #[test]
    fn cuts_chunks_by_bytes_and_count_and_streams_big_files() {
        let file = |size: u64, on_disk: bool| Planned {
            path: String::new(),
            source: if on_disk {
                FileSource::Path(PathBuf::new())
            } else {
                FileSource::Bytes(Vec::new())
            },
            size,
            dir_before: None,
        };
        let mib = 1 << 20;
        let planned = vec![
            file(mib / 2, true),
            file(mib / 2, true),
            file(mib / 2, true),
            file(STREAM_THRESHOLD + 1, true),
            file(STREAM_THRESHOLD + 1, false),
            file(10, true),
        ];
        assert_eq!(
            jobs(&planned),
            [
                Job::Chunk(2),
                Job::Chunk(1),
                Job::Stream,
                Job::Chunk(1),
                Job::Chunk(1)
            ]
        );
        let many: Vec<Planned> = (0..CHUNK_FILES + 1).map(|_| file(1, true)).collect();
        assert_eq!(jobs(&many), [Job::Chunk(CHUNK_FILES), Job::Chunk(1)]);
    }

    #[test]
    fn refuses_clashing_and_unsafe_names() {
        let err = |paths: &[&str]| {
            let files = paths.iter().map(|p| PackageFile::bytes(*p, vec![])).collect();
            match plan(files) {
                Ok(_) => panic!("{paths:?} accepted"),
                Err(e) => e.to_string(),
            }
        };
        assert!(err(&["a.json", "a.json"]).contains("twice"));
        // Names that differ only in case are distinct (Workato's are case-sensitive); NFC
        // twins are one name.
        assert!(
            plan(vec![
                PackageFile::bytes("A.json", vec![]),
                PackageFile::bytes("a.json", vec![])
            ])
            .is_ok()
        );
        assert!(
            plan(vec![
                PackageFile::bytes("A/x.json", vec![]),
                PackageFile::bytes("a/y.json", vec![])
            ])
            .is_ok()
        );
        assert!(err(&["\u{c5}.json", "A\u{30a}.json"]).contains("collides"));
        assert!(err(&["a", "a/b.json"]).contains("folder"));
        assert!(err(&["../x.json"]).contains("escape"));
        assert!(err(&["x/"]).contains("`/`"));
        assert!(err(&[MANIFEST_NAME]).contains("reserved"));
    }
}
