//! File-system helpers that carry paths in their errors and write durably.
//!
//! Every write goes to a temporary file in the destination directory, is fsynced, renamed into
//! place, and the directory is fsynced, so a crash leaves either the old or the new file.
//!
//! Every write-side file operation rlcm performs itself (create, write, fsync/syncfs, rename,
//! link, mkdir, remove) goes through the helpers here, which pass it through [`fault_point`]
//! first. With the `test-hooks` cargo feature that is a fault layer for tests (see
//! [`fault_point`]); without it, it compiles to nothing.

use crate::error::Subject;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// The kinds of write-side file operation, as the fault layer counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsOp {
    /// Creating a file (a temporary file, a staged file, a lock file).
    Create,
    /// One write to a file.
    Write,
    /// An fsync of a file or folder, or a `syncfs`.
    Sync,
    /// A rename.
    Rename,
    /// A hard link.
    Link,
    /// A new folder.
    Mkdir,
    /// Removing a file or a folder.
    Remove,
}

impl FsOp {
    /// The name the fault layer's environment variables use.
    pub fn name(self) -> &'static str {
        match self {
            FsOp::Create => "create",
            FsOp::Write => "write",
            FsOp::Sync => "sync",
            FsOp::Rename => "rename",
            FsOp::Link => "link",
            FsOp::Mkdir => "mkdir",
            FsOp::Remove => "remove",
        }
    }
}

/// Passes a write-side operation on `path` through the fault layer (feature `test-hooks`):
/// `RLCM_FAULT=N:ERRNO[:KIND,KIND...]` makes the N-th operation (counted over the whole
/// process, all threads; of the given kinds only, when kinds are given: `create`, `write`,
/// `sync`, `rename`, `link`, `mkdir`, `remove`) fail with `ERRNO` (`ENOSPC`, `EIO`, `EROFS`,
/// `EDQUOT` or a number) as a real OS error, before it is performed; `RLCM_FAULT_COUNT_LOG=FILE`
/// appends one line per operation (`N KIND PATH`, `N KIND FAULT PATH` for the one that failed;
/// `FROM -> TO` for a rename or link) to `FILE`, so a test can learn how many a command performs and which one failed. Without the feature this is `Ok(())` and compiles to nothing.
#[inline(always)]
pub fn fault_point(op: FsOp, path: &Path) -> io::Result<()> {
    #[cfg(feature = "test-hooks")]
    {
        hooks::point(op, path)
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        let _ = (op, path);
        Ok(())
    }
}

#[cfg(feature = "test-hooks")]
mod hooks {
    use super::FsOp;
    use std::io::{self, Write};
    use std::path::Path;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};

    struct Config {
        fault: Option<(u64, i32, Vec<String>)>,
        log: Option<Mutex<std::fs::File>>,
    }

    fn errno(name: &str) -> Option<i32> {
        Some(match name {
            "ENOSPC" => libc::ENOSPC,
            "EIO" => libc::EIO,
            "EROFS" => libc::EROFS,
            "EDQUOT" => libc::EDQUOT,
            n => n.parse().ok()?,
        })
    }

    fn config() -> &'static Config {
        static CONFIG: OnceLock<Config> = OnceLock::new();
        CONFIG.get_or_init(|| {
            let fault = std::env::var("RLCM_FAULT").ok().and_then(|v| {
                let mut parts = v.splitn(3, ':');
                let n = parts.next()?.trim().parse::<u64>().ok()?;
                let e = errno(parts.next()?.trim())?;
                let kinds = parts
                    .next()
                    .map(|k| k.split(',').map(|s| s.trim().to_string()).collect())
                    .unwrap_or_default();
                Some((n, e, kinds))
            });
            let log = std::env::var_os("RLCM_FAULT_COUNT_LOG").and_then(|p| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .ok()
                    .map(Mutex::new)
            });
            Config { fault, log }
        })
    }

    pub(super) fn point(op: FsOp, path: &Path) -> io::Result<()> {
        static ALL: AtomicU64 = AtomicU64::new(0);
        static MATCHING: AtomicU64 = AtomicU64::new(0);
        let c = config();
        let n = ALL.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = c.fault.as_ref().and_then(|(target, errno, kinds)| {
            let counted = kinds.is_empty() || kinds.iter().any(|k| k == op.name());
            (counted && MATCHING.fetch_add(1, Ordering::SeqCst) + 1 == *target).then_some(*errno)
        });
        if let Some(log) = &c.log
            && let Ok(mut f) = log.lock()
        {
            let _ = writeln!(
                f,
                "{n} {} {}{}",
                op.name(),
                if fail.is_some() { "FAULT " } else { "" },
                path.display()
            );
        }
        match fail {
            Some(errno) => Err(io::Error::from_raw_os_error(errno)),
            None => Ok(()),
        }
    }
}

/// [`fault_point`] for an operation on two paths (a rename, a link): the layer logs them as
/// `FROM -> TO`.
#[inline(always)]
fn fault_point2(op: FsOp, from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(feature = "test-hooks")]
    {
        let mut both = from.as_os_str().to_owned();
        both.push(" -> ");
        both.push(to.as_os_str());
        fault_point(op, Path::new(&both))
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        let _ = (from, to);
        fault_point(op, Path::new(""))
    }
}

/// [`std::fs::rename`] through the fault layer.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fault_point2(FsOp::Rename, from, to)?;
    fs::rename(from, to)
}

/// [`std::fs::hard_link`] through the fault layer.
pub(crate) fn hard_link(original: &Path, link: &Path) -> io::Result<()> {
    fault_point2(FsOp::Link, original, link)?;
    fs::hard_link(original, link)
}

/// [`std::fs::create_dir`] through the fault layer.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    fault_point(FsOp::Mkdir, dir)?;
    fs::create_dir(dir)
}

/// [`std::fs::remove_dir`] through the fault layer.
pub(crate) fn remove_dir(dir: &Path) -> io::Result<()> {
    fault_point(FsOp::Remove, dir)?;
    fs::remove_dir(dir)
}

/// [`std::fs::remove_dir_all`] through the fault layer (one operation).
pub fn remove_dir_all(dir: &Path) -> io::Result<()> {
    fault_point(FsOp::Remove, dir)?;
    fs::remove_dir_all(dir)
}

/// [`std::fs::remove_file`] through the fault layer.
pub fn remove_file(path: &Path) -> io::Result<()> {
    fault_point(FsOp::Remove, path)?;
    fs::remove_file(path)
}

/// [`std::fs::write`] through the fault layer (a create, then a write).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fault_point(FsOp::Create, path)?;
    let mut f = File::create(path)?;
    fault_point(FsOp::Write, path)?;
    f.write_all(bytes)
}

/// Opens `path` with `options`, which may create it, through the fault layer.
pub(crate) fn open_for_write(options: &OpenOptions, path: &Path) -> io::Result<File> {
    fault_point(FsOp::Create, path)?;
    options.open(path)
}

/// `file.sync_all()` through the fault layer (`path` names the file).
pub(crate) fn sync_file(file: &File, path: &Path) -> io::Result<()> {
    fault_point(FsOp::Sync, path)?;
    file.sync_all()
}

/// `write_all` to a file through the fault layer.
pub fn write_all(w: &mut impl Write, bytes: &[u8], path: &Path) -> io::Result<()> {
    fault_point(FsOp::Write, path)?;
    w.write_all(bytes)
}

/// A new temporary file in `dir` made by `builder`, through the fault layer.
pub(crate) fn temp_file_in(
    builder: &tempfile::Builder<'_, '_>,
    dir: &Path,
) -> io::Result<tempfile::NamedTempFile> {
    fault_point(FsOp::Create, dir)?;
    builder.tempfile_in(dir)
}

/// A new temporary folder in `dir` made by `builder`, through the fault layer.
pub(crate) fn temp_dir_in(builder: &tempfile::Builder<'_, '_>, dir: &Path) -> io::Result<tempfile::TempDir> {
    fault_point(FsOp::Mkdir, dir)?;
    builder.tempdir_in(dir)
}

/// Renames a temporary file onto `path` ([`tempfile::NamedTempFile::persist`]) through the
/// fault layer; on an error the temporary file is handed back in it, as `persist` does.
pub fn persist(
    tmp: tempfile::NamedTempFile,
    path: &Path,
) -> std::result::Result<File, tempfile::PersistError> {
    if let Err(error) = fault_point2(FsOp::Rename, tmp.path(), path) {
        return Err(tempfile::PersistError { error, file: tmp });
    }
    tmp.persist(path)
}

/// Like [`persist`], never replacing an existing file
/// ([`tempfile::NamedTempFile::persist_noclobber`]).
pub(crate) fn persist_noclobber(
    tmp: tempfile::NamedTempFile,
    path: &Path,
) -> std::result::Result<File, tempfile::PersistError> {
    if let Err(error) = fault_point2(FsOp::Link, tmp.path(), path) {
        return Err(tempfile::PersistError { error, file: tmp });
    }
    tmp.persist_noclobber(path)
}

/// `syncfs` of the file system holding `dir` (Linux): every write there made durable at once.
#[cfg(target_os = "linux")]
pub fn syncfs(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let d = File::open(dir).with_path("open", dir)?;
    fault_point(FsOp::Sync, dir).with_path("sync", dir)?;
    // SAFETY: syncfs only reads the file descriptor, which `d` keeps open.
    let rc = unsafe { libc::syncfs(d.as_raw_fd()) };
    if rc != 0 {
        return Err(Error::io("sync", dir, io::Error::last_os_error()));
    }
    Ok(())
}

/// A writer whose every write goes through the fault layer (for writers rlcm wraps, such as a
/// buffered writer over a file: each flush of the buffer is one operation).
#[derive(Debug)]
pub(crate) struct Hooked<W> {
    inner: W,
    path: PathBuf,
}

impl<W> Hooked<W> {
    /// Wraps `inner`, which writes to `path`.
    pub fn new(inner: W, path: &Path) -> Hooked<W> {
        Hooked {
            inner,
            path: path.to_path_buf(),
        }
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Hooked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        fault_point(FsOp::Write, &self.path)?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Seek> Seek for Hooked<W> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Fsyncs a directory so that renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).with_path("open directory", dir)?;
    sync_file(&d, dir).with_path("sync directory", dir)
}

/// Creates a directory and its parents, fsyncing each parent that gained an entry.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all(parent)?;
    }
    match create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(Error::io("create directory", dir, e)),
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

/// The name prefix of the temporary files of [`write_atomic`] and [`write_atomic_with`] (a
/// crash before their rename leaves one; recovery of an environment removes those in
/// `.rlcm/`).
pub(crate) const TEMP_PREFIX: &str = ".rlcm-tmp-";

/// Writes `bytes` to `path` atomically and durably (temp file, fsync, rename, fsync dir).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let mut tmp = temp_file_in(tempfile::Builder::new().prefix(TEMP_PREFIX), dir)
        .with_path("create a temporary file in", dir)?;
    let tmp_path = tmp.path().to_path_buf();
    write_all(&mut tmp, bytes, &tmp_path).with_path("write", tmp_path.clone())?;
    sync_file(tmp.as_file(), &tmp_path).with_path("sync", tmp_path)?;
    persist(tmp, path).map_err(|e| Error::io("replace", path, e.error))?;
    sync_dir(dir)
}

/// Like [`write_atomic`], with the content written by `fill` through a buffered writer (for
/// files too large to build in memory first).
pub(crate) fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let tmp = temp_file_in(tempfile::Builder::new().prefix(TEMP_PREFIX), dir)
        .with_path("create a temporary file in", dir)?;
    let tmp_path = tmp.path().to_path_buf();
    let mut w = std::io::BufWriter::with_capacity(256 << 10, Hooked::new(tmp, &tmp_path));
    fill(&mut w).with_path("write", tmp_path.clone())?;
    let tmp = w
        .into_inner()
        .map_err(|e| Error::io("write", tmp_path.clone(), e.into_error()))?
        .into_inner();
    sync_file(tmp.as_file(), &tmp_path).with_path("sync", tmp_path)?;
    persist(tmp, path).map_err(|e| Error::io("replace", path, e.error))?;
    sync_dir(dir)
}

/// Writes `bytes` to a new file at `path` and fsyncs it (no rename: for staging).
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        create_dir_all(dir)?;
    }
    fault_point(FsOp::Create, path).with_path("create", path)?;
    let mut f = File::create(path).with_path("create", path)?;
    write_all(&mut f, bytes, path).with_path("write", path)?;
    sync_file(&f, path).with_path("sync", path)
}

/// Reads a whole file, naming it in errors.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_path("read", path)
}

/// Reads a file if it exists.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Removes a file if it exists.
pub(crate) fn remove_file_if_exists(path: &Path) -> Result<bool> {
    match remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// True when the file system holding `dir` treats names that differ only in case as one
/// (macOS's and Windows' defaults). Looks up an existing entry under its name in the other
/// case, writing nothing (an environment root always has `.rlcm/`); only in a folder with no
/// such entry does it probe with a temporary file. `false` when unsure.
pub(crate) fn is_case_insensitive(dir: &Path) -> bool {
    #[cfg(unix)]
    if let Ok(entries) = fs::read_dir(dir) {
        use std::os::unix::fs::MetadataExt;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let swapped: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect();
            if swapped == name {
                continue;
            }
            let (Ok(a), other) = (
                fs::symlink_metadata(e.path()),
                fs::symlink_metadata(dir.join(&swapped)),
            ) else {
                continue;
            };
            return other.is_ok_and(|b| a.dev() == b.dev() && a.ino() == b.ino());
        }
    }
    // A crash before the probe is removed leaves it behind: only for folders with no entry
    // to look up (not an environment).
    let Ok(probe) = temp_file_in(tempfile::Builder::new().prefix(".rlcm-case-probe-"), dir) else {
        return false;
    };
    let name = probe
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().to_uppercase())
        .unwrap_or_default();
    dir.join(name).exists()
}

/// Refuses to write `paths` under `dir` when two of them differ only in case and the file
/// system there cannot hold both.
pub(crate) fn check_case_collisions<'a>(dir: &Path, paths: impl Iterator<Item = &'a str>) -> Result<()> {
    let groups = case_twins(paths);
    if groups.is_empty() || !is_case_insensitive(dir) {
        return Ok(());
    }
    let g = &groups[0];
    Err(Error::invalid(
        Subject::path(dir),
        format!(
            "`{}` is on a case-insensitive file system, which cannot hold both {}",
            dir.display(),
            g.iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    )
    .hint("use a case-sensitive file system (on macOS, a case-sensitive APFS volume)"))
}

/// Groups of paths (files, or the folders above them) that differ only in case, each sorted,
/// in path order.
pub(crate) fn case_twins<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<Vec<String>> {
    let mut by_key: std::collections::BTreeMap<String, std::collections::BTreeSet<&'a str>> =
        std::collections::BTreeMap::new();
    for p in paths {
        let mut end = p.len();
        loop {
            let prefix = &p[..end];
            by_key.entry(prefix.to_lowercase()).or_default().insert(prefix);
            match prefix.rfind('/') {
                Some(i) => end = i,
                None => break,
            }
        }
    }
    by_key
        .into_values()
        .filter(|set| set.len() > 1)
        .map(|set| set.into_iter().map(str::to_string).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The case probe of a folder with entries writes nothing, and tells a case-sensitive
    /// file system (this test's) apart even when both spellings exist.
    #[test]
    fn case_probe_looks_up_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(".rlcm")).unwrap();
        assert!(!is_case_insensitive(dir.path()));
        fs::create_dir(dir.path().join(".RLCM")).unwrap();
        assert!(!is_case_insensitive(dir.path()));
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn write_atomic_replaces_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(read(&p).unwrap(), b"two");
        let leftovers: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }
}
