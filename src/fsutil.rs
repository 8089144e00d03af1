//! File-system helpers that carry paths in their errors and write durably.
//!
//! Every write goes to a temporary file in the destination directory, is fsynced, renamed into
//! place, and the directory is fsynced, so a crash leaves either the old or the new file.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Fsyncs a directory so that renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).with_path("open directory", dir)?;
    d.sync_all().with_path("sync directory", dir)
}

/// Creates a directory and its parents, fsyncing each parent that gained an entry.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all(parent)?;
    }
    match fs::create_dir(dir) {
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
pub const TEMP_PREFIX: &str = ".rlcm-tmp-";

/// Writes `bytes` to `path` atomically and durably (temp file, fsync, rename, fsync dir).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .with_path("create a temporary file in", dir)?;
    tmp.write_all(bytes)
        .with_path("write", tmp.path().to_path_buf())?;
    tmp.as_file()
        .sync_all()
        .with_path("sync", tmp.path().to_path_buf())?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    sync_dir(dir)
}

/// Like [`write_atomic`], with the content written by `fill` through a buffered writer (for
/// files too large to build in memory first).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .with_path("create a temporary file in", dir)?;
    let tmp_path = tmp.path().to_path_buf();
    let mut w = std::io::BufWriter::with_capacity(256 << 10, tmp);
    fill(&mut w).with_path("write", tmp_path.clone())?;
    let tmp = w
        .into_inner()
        .map_err(|e| Error::io("write", tmp_path.clone(), e.into_error()))?;
    tmp.as_file().sync_all().with_path("sync", tmp_path)?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    sync_dir(dir)
}

/// Writes `bytes` to a new file at `path` and fsyncs it (no rename: for staging).
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        create_dir_all(dir)?;
    }
    let mut f = File::create(path).with_path("create", path)?;
    f.write_all(bytes).with_path("write", path)?;
    f.sync_all().with_path("sync", path)
}

/// Reads a whole file, naming it in errors.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_path("read", path)
}

/// Reads a file if it exists.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Removes a file if it exists.
pub fn remove_file_if_exists(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// True when the file system holding `dir` treats names that differ only in case as one
/// (macOS's and Windows' defaults). Looks up an existing entry under its name in the other
/// case, writing nothing (an environment root always has `.rlcm/`); only in a folder with no
/// such entry does it probe with a temporary file. `false` when unsure.
pub fn is_case_insensitive(dir: &Path) -> bool {
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
    let Ok(probe) = tempfile::Builder::new()
        .prefix(".rlcm-case-probe-")
        .tempfile_in(dir)
    else {
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
pub fn check_case_collisions<'a>(dir: &Path, paths: impl Iterator<Item = &'a str>) -> Result<()> {
    let groups = case_twins(paths);
    if groups.is_empty() || !is_case_insensitive(dir) {
        return Ok(());
    }
    let g = &groups[0];
    Err(Error::Invalid(format!(
        "`{}` is on a case-insensitive file system, which cannot hold both {}; use a case-sensitive file system (on macOS, a case-sensitive APFS volume)",
        dir.display(),
        g.iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(" and ")
    )))
}

/// Groups of paths (files, or the folders above them) that differ only in case, each sorted,
/// in path order.
pub fn case_twins<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<Vec<String>> {
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
