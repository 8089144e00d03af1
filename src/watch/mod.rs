//! Change detection: is the tree at an environment's root still the one it was? Used by the
//! emulator's kept workspace (in process) and by `rlcm watch` ([`daemon`], between commands).
//!
//! On Linux an inotify watch on every folder of the tree (`.rlcm/` aside), set up *before* the
//! workspace is loaded, answers it: the kernel queues an event in the same system call that
//! creates, writes, renames, removes or changes the attributes of an entry, so once that call
//! has returned, the next [`Watch::unchanged`] sees it. Folders are watched before they are
//! listed, so a folder made during the setup is either listed (and watched) or reported by its
//! parent's watch. Any event at all (a queue overflow, a watch dropped with its folder) counts as
//! a change, except the `.rlcm` entry of the root itself (the emulator's state lives there and
//! is not part of the workspace). The answer costs one `read` of the inotify descriptor instead
//! of one `stat` per file.
//!
//! Where inotify is not available (another system, the per-user watch limit reached), the
//! fingerprint of [`fingerprint`] is taken instead: every entry's path, type, size, times and
//! inode, one `stat` each; a tree modified in the last two seconds is then not cached at all
//! (as Git treats "racily clean" files: a same-size edit within the file system's timestamp
//! granularity could go unseen).

use std::path::Path;
use std::time::{Duration, SystemTime};

#[cfg(target_os = "linux")]
pub mod daemon;

/// The id of one unbroken watch of a tree by `rlcm watch` (see [`daemon`]).
pub type Epoch = [u8; 16];

/// Where the socket of the watcher of the environment at `root` is (see [`daemon`]).
pub fn socket_path(root: &Path) -> std::path::PathBuf {
    root.join(".rlcm/cache/watch.sock")
}

/// The live epoch of the watcher of the environment at `root` (`None`: no watcher answers, or
/// the system has none).
pub fn epoch(root: &Path) -> Option<Epoch> {
    #[cfg(target_os = "linux")]
    return daemon::epoch(root);
    #[cfg(not(target_os = "linux"))]
    return None;
}

/// What vouches for a cached workspace.
#[derive(Debug)]
pub enum Watch {
    /// An inotify instance watching every folder of the tree.
    #[cfg(target_os = "linux")]
    Inotify(linux::TreeWatch),
    /// The tree's fingerprint when the workspace was loaded.
    Fingerprint(blake3::Hash),
}

impl Watch {
    /// Starts watching the tree at `root` (to be called before the workspace is loaded).
    /// `None` when the tree cannot vouch for a cache at all: no inotify, and an entry modified
    /// a moment ago.
    pub fn start(root: &Path) -> std::io::Result<Option<Watch>> {
        #[cfg(target_os = "linux")]
        if let Some(w) = linux::TreeWatch::start(root) {
            return Ok(Some(Watch::Inotify(w)));
        }
        let (f, newest) = fingerprint(root)?;
        let settled = newest.is_some_and(|t| {
            SystemTime::now()
                .duration_since(t)
                .is_ok_and(|age| age >= Duration::from_secs(2))
        });
        Ok(settled.then_some(Watch::Fingerprint(f)))
    }

    /// True when nothing in the tree at `root` changed since [`Watch::start`].
    pub fn unchanged(&mut self, root: &Path) -> std::io::Result<bool> {
        match self {
            #[cfg(target_os = "linux")]
            Watch::Inotify(w) => Ok(w.unchanged()),
            Watch::Fingerprint(f) => Ok(fingerprint(root)?.0 == *f),
        }
    }
}

/// The fingerprint of the tree at `root` (without `.rlcm/`) and its newest modification time.
pub fn fingerprint(root: &Path) -> std::io::Result<(blake3::Hash, Option<SystemTime>)> {
    use std::os::unix::fs::MetadataExt;
    fn walk(
        dir: &Path,
        rel: &str,
        h: &mut blake3::Hasher,
        newest: &mut Option<SystemTime>,
    ) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if rel.is_empty() && name == ".rlcm" {
                continue;
            }
            let m = e.metadata()?;
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            h.update(path.as_bytes());
            h.update(&[0, m.is_dir() as u8]);
            for n in [
                m.len(),
                m.mtime() as u64,
                m.mtime_nsec() as u64,
                m.ino(),
                m.ctime() as u64,
                m.ctime_nsec() as u64,
            ] {
                h.update(&n.to_le_bytes());
            }
            let t = m.modified()?;
            if newest.is_none_or(|n| t > n) {
                *newest = Some(t);
            }
            if m.is_dir() {
                walk(&e.path(), &path, h, newest)?;
            }
        }
        Ok(())
    }
    let mut h = blake3::Hasher::new();
    let mut newest = std::fs::metadata(root)?.modified().ok();
    walk(root, "", &mut h, &mut newest)?;
    Ok((h.finalize(), newest))
}

#[cfg(target_os = "linux")]
pub mod linux {
    //! The inotify watch of a tree.
    use std::path::Path;

    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

    /// An inotify instance with a watch on every folder of a tree; once it has seen a change it
    /// says so for good (the caller loads the tree again and starts a new one).
    pub struct TreeWatch {
        inotify: Inotify,
        root: WatchDescriptor,
        folders: usize,
        changed: bool,
    }

    impl std::fmt::Debug for TreeWatch {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "TreeWatch({} folders, changed: {})",
                self.folders, self.changed
            )
        }
    }

    /// What is watched: every change to an entry, and the folder itself going away.
    fn mask() -> WatchMask {
        WatchMask::MODIFY
            | WatchMask::ATTRIB
            | WatchMask::CLOSE_WRITE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
            | WatchMask::ONLYDIR
            | WatchMask::DONT_FOLLOW
    }

    impl TreeWatch {
        /// Watches every folder under `root` (`.rlcm/` aside, symbolic links not followed, as
        /// the workspace loader does not follow them); `None` when inotify cannot (no instance,
        /// the watch limit reached, a folder unreadable: the caller falls back to the
        /// fingerprint).
        pub fn start(root: &Path) -> Option<TreeWatch> {
            let inotify = Inotify::init().ok()?;
            let root_wd = inotify.watches().add(root, mask()).ok()?;
            let mut folders = 1;
            let mut stack = vec![(root.to_path_buf(), true)];
            while let Some((dir, top)) = stack.pop() {
                for e in std::fs::read_dir(&dir).ok()? {
                    let e = e.ok()?;
                    if top && e.file_name() == ".rlcm" {
                        continue;
                    }
                    if e.file_type().ok()?.is_dir() {
                        // Watched before it is listed: an entry made in between is either
                        // listed or reported.
                        inotify.watches().add(e.path(), mask()).ok()?;
                        folders += 1;
                        stack.push((e.path(), false));
                    }
                }
            }
            Some(TreeWatch {
                inotify,
                root: root_wd,
                folders,
                changed: false,
            })
        }

        /// Drains the queue, changed or not; true when no event at all was waiting (the tree
        /// was quiet since the last drain, as far as the folders watched can tell).
        pub fn quiet(&mut self) -> bool {
            let mut buf = [0u8; 4096];
            let mut quiet = true;
            loop {
                match self.inotify.read_events(&mut buf) {
                    Ok(events) => {
                        let mut any = false;
                        for e in events {
                            any = true;
                            let own_state = e.wd == self.root
                                && e.name.is_some_and(|n| n == ".rlcm")
                                && !e.mask.contains(EventMask::Q_OVERFLOW);
                            if !own_state {
                                self.changed = true;
                                quiet = false;
                            }
                        }
                        if !any {
                            return quiet;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return quiet,
                    Err(_) => {
                        self.changed = true;
                        return false;
                    }
                }
            }
        }

        /// True when no event has arrived since [`TreeWatch::start`] (the queue is drained;
        /// a read error counts as a change).
        pub fn unchanged(&mut self) -> bool {
            if !self.changed {
                self.quiet();
            }
            !self.changed
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_kind_of_change_is_seen_and_the_state_folder_is_not() {
            // A recipe two folders down, and the state folder.
            let tree = || {
                let d = tempfile::tempdir().unwrap();
                std::fs::create_dir_all(d.path().join("a/b")).unwrap();
                std::fs::create_dir_all(d.path().join(".rlcm/cache")).unwrap();
                std::fs::write(d.path().join("a/b/r.recipe.json"), b"{}").unwrap();
                d
            };
            type Change = fn(&Path);
            let changes: [(&str, Change); 7] = [
                ("edit in place", |r| {
                    std::fs::write(r.join("a/b/r.recipe.json"), b"{ }").unwrap()
                }),
                ("new file deep down", |r| {
                    std::fs::write(r.join("a/b/n.json"), b"1").unwrap()
                }),
                ("removal", |r| {
                    std::fs::remove_file(r.join("a/b/r.recipe.json")).unwrap()
                }),
                ("rename", |r| {
                    std::fs::rename(r.join("a/b/r.recipe.json"), r.join("a/x.json")).unwrap()
                }),
                ("new folder", |r| std::fs::create_dir(r.join("a/c")).unwrap()),
                ("folder removed", |r| {
                    std::fs::remove_dir_all(r.join("a")).unwrap()
                }),
                ("times changed", |r| {
                    let f = std::fs::File::options()
                        .write(true)
                        .open(r.join("a/b/r.recipe.json"))
                        .unwrap();
                    f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
                }),
            ];
            for (what, change) in changes {
                let d = tree();
                let r = d.path();
                let mut w = TreeWatch::start(r).unwrap();
                assert!(w.unchanged(), "{what}: nothing happened yet");
                std::fs::write(r.join(".rlcm/state.json"), b"{}").unwrap();
                std::fs::write(r.join(".rlcm/cache/x"), b"{}").unwrap();
                assert!(w.unchanged(), "{what}: the state folder is not the tree");
                change(r);
                assert!(!w.unchanged(), "{what}: not seen");
                assert!(!w.unchanged(), "{what}: a change is seen for good");
            }
            // A folder made after the watch started is reported by its parent's watch.
            let d = tree();
            let root = d.path();
            let mut w = TreeWatch::start(root).unwrap();
            std::fs::create_dir(root.join("a/b/new")).unwrap();
            assert!(!w.unchanged());
            let mut w = TreeWatch::start(root).unwrap();
            std::fs::write(root.join("a/b/new/f.json"), b"{}").unwrap();
            assert!(!w.unchanged(), "a file in a folder made before the watch started");
        }
    }
}
