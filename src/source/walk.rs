//! The fast walk of a directory tree: every file below the root (but the private names and what
//! `.workato-ignore` excludes) with its size and modification time, folders on every core,
//! each folder listed and each file `stat`ed relative to its folder's descriptor (`openat`,
//! `getdents64` into one buffer, `fstatat`), so that no path is resolved from the root again
//! and no per-entry path is built but the one kept.
//!
//! It gives up (`None`) on anything unusual — a name that is not UTF-8, a symbolic link, a
//! folder or file that cannot be opened or `stat`ed — and the caller then walks the tree the
//! careful way ([`super::Source`]'s `walkdir` walk), which finds the same files or words the
//! error as always. So this walk only ever answers for a tree the careful walk would list
//! without error, with the same files.

use std::path::Path;

use rayon::prelude::*;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};

use super::Entry;

/// The bytes read from a folder at once.
const DIRENT_BUF: usize = 32 * 1024;

/// A folder with more files than this has the rest `stat`ed on every core.
pub(super) const PAR_STATS: usize = 512;

/// Every file below `root` (in no particular order; `index` 0), or `None` when the careful walk must
/// decide (see the module documentation).
pub(super) fn walk(root: &Path, ignored: Option<&ignore::gitignore::Gitignore>) -> Option<Vec<Entry>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(root, flags, Mode::empty()).ok()?;
    Walk { root, ignored }.dir(fd.as_fd(), "")
}

struct Walk<'a> {
    root: &'a Path,
    ignored: Option<&'a ignore::gitignore::Gitignore>,
}

impl Walk<'_> {
    /// The files below the folder open as `fd`, at `rel` below the root (`""` for the root).
    fn dir(&self, fd: BorrowedFd<'_>, rel: &str) -> Option<Vec<Entry>> {
        let mut buf: Vec<u8> = Vec::with_capacity(DIRENT_BUF);
        let mut raw = RawDir::new(fd, buf.spare_capacity_mut());
        let mut files: Vec<Entry> = Vec::new();
        // Past `PAR_STATS` files, the rest are `stat`ed on every core after the listing.
        let mut names: Vec<(String, std::ffi::CString)> = Vec::new();
        let mut subdirs: Vec<String> = Vec::new();
        while let Some(item) = raw.next() {
            let entry = item.ok()?;
            let cname = entry.file_name();
            let bytes = cname.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let mut ft = entry.file_type();
            let mut stat = None;
            if ft == FileType::Unknown {
                let st = rustix::fs::statat(fd, cname, AtFlags::SYMLINK_NOFOLLOW).ok()?;
                ft = FileType::from_raw_mode(st.st_mode);
                stat = Some(st);
            }
            let name = match std::str::from_utf8(bytes) {
                Ok(name) if super::is_private_name(name) => continue,
                Ok(name) => name,
                // The careful walk skips what is ignored before it looks at the name.
                Err(_) if self.is_ignored(rel, bytes, ft) => continue,
                Err(_) => return None,
            };
            if self.is_ignored(rel, bytes, ft) {
                continue;
            }
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                let mut p = String::with_capacity(rel.len() + 1 + name.len());
                p.push_str(rel);
                p.push('/');
                p.push_str(name);
                p
            };
            match ft {
                FileType::Symlink => return None,
                FileType::Directory => subdirs.push(path),
                _ => match stat {
                    Some(st) => files.push(found(path, &st)),
                    None if files.len() < PAR_STATS => {
                        let st = rustix::fs::statat(fd, cname, AtFlags::SYMLINK_NOFOLLOW).ok()?;
                        files.push(found(path, &st));
                    }
                    None => names.push((path, cname.to_owned())),
                },
            }
        }
        drop(buf);
        if !names.is_empty() {
            let rest = names
                .into_par_iter()
                .map(|(path, cname)| {
                    let st = rustix::fs::statat(fd, cname.as_c_str(), AtFlags::SYMLINK_NOFOLLOW).ok()?;
                    Some(found(path, &st))
                })
                .collect::<Option<Vec<Entry>>>()?;
            files.extend(rest);
        }
        let below = subdirs
            .into_par_iter()
            .map(|path| {
                let name = path.rsplit('/').next().unwrap_or(&path);
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let sub: OwnedFd = rustix::fs::openat(fd, name, flags, Mode::empty()).ok()?;
                self.dir(sub.as_fd(), &path)
            })
            .collect::<Option<Vec<Vec<Entry>>>>()?;
        for mut b in below {
            files.append(&mut b);
        }
        Some(files)
    }

    /// True when `.workato-ignore` excludes the entry `name` of the folder at `rel`.
    fn is_ignored(&self, rel: &str, name: &[u8], ft: FileType) -> bool {
        let Some(g) = self.ignored else { return false };
        use std::os::unix::ffi::OsStrExt;
        let full = self.root.join(rel).join(std::ffi::OsStr::from_bytes(name));
        g.matched(&full, ft == FileType::Directory).is_ignore()
    }
}

fn found(path: String, st: &rustix::fs::Stat) -> Entry {
    Entry {
        path,
        size: u64::try_from(st.st_size).unwrap_or(0),
        mtime: mtime_ns(st.st_mtime, st.st_mtime_nsec),
        index: 0,
    }
}

/// As [`super::mtime_ns`] reads a `Metadata`: 0 before the epoch, saturating.
fn mtime_ns(secs: i64, nanos: u64) -> u64 {
    match u64::try_from(secs) {
        Ok(s) => u64::try_from(u128::from(s) * 1_000_000_000 + u128::from(nanos)).unwrap_or(u64::MAX),
        Err(_) => 0,
    }
}
