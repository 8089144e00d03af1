//! One writer at a time: an exclusive lock on `.rlcm/lock`, released by the OS when the
//! process ends, however it ends.

use crate::error::Subject;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// A held environment lock; dropping it releases the lock.
#[derive(Debug)]
pub struct EnvLock {
    file: File,
    path: PathBuf,
}

impl EnvLock {
    /// Takes the lock of the environment at `root` (its `.rlcm/` must exist). Without `wait`,
    /// fails at once with [`Error::Locked`] naming the holder; with it, waits.
    pub fn acquire(root: &Path, wait: bool, what: &str) -> Result<EnvLock> {
        super::guard::check_state_dir(root)?;
        let path = root.join(".rlcm").join("lock");
        let mut options = OpenOptions::new();
        // Never through a symbolic link planted after the check.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        options.read(true).write(true).create(true).truncate(false);
        let mut file = crate::fsutil::open_for_write(&options, &path).with_path("open", &path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                if !wait {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    return Err(Error::Locked {
                        path: root.to_path_buf(),
                        holder: if holder.is_empty() {
                            String::new()
                        } else {
                            format!(" ({holder})")
                        },
                    });
                }
                file.lock().with_path("lock", &path)?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
        }
        // Say who holds it, for the message a second writer gets. Not durable on purpose.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(
            file,
            "pid {}, {}, since {}",
            std::process::id(),
            what,
            crate::env::now_rfc3339()
        );
        let _ = file.flush();
        Ok(EnvLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for EnvLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Readers see an environment before or after a write, never a mix: each reader holds a
/// shared lock on `.rlcm/read.lock` for its read ([`ReadLock`]), and a write holds it
/// exclusively from its commit point until every file is in place ([`CommitLock`]). Readers
/// therefore wait only while a commit moves files (not while an import plans or stages), and
/// a commit waits for the readers already reading.
#[derive(Debug)]
pub struct ReadLock {
    _file: File,
}

fn open_read_lock(root: &Path, create: bool) -> std::io::Result<File> {
    let path = root.join(".rlcm").join("read.lock");
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    if create {
        options.read(true).write(true).create(true).truncate(false);
        crate::fsutil::open_for_write(&options, &path)
    } else {
        options.read(true);
        options.open(path)
    }
}

impl ReadLock {
    /// Takes the shared read lock of the initialised environment at `root`, waiting for a
    /// commit in progress. `None` when the lock file can be neither opened nor created (a
    /// read-only copy, where no rlcm can be writing either).
    pub fn acquire(root: &Path) -> Result<Option<ReadLock>> {
        super::guard::check_state_dir(root)?;
        let path = root.join(".rlcm").join("read.lock");
        let file = match open_read_lock(root, false) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match open_read_lock(root, true) {
                Ok(f) => f,
                Err(_) => return Ok(None),
            },
            Err(e) => return Err(Error::io("open", &path, e)),
        };
        file.lock_shared().with_path("lock", &path)?;
        Ok(Some(ReadLock { _file: file }))
    }
}

/// The exclusive side of [`ReadLock`], held by a write from its commit point until its files
/// are in place; the caller holds the writer lock ([`EnvLock`]).
#[derive(Debug)]
pub(crate) struct CommitLock {
    _file: File,
}

impl CommitLock {
    /// Keeps readers out until dropped, when no reader reads now (`None` when one does).
    pub fn try_acquire(root: &Path) -> Result<Option<CommitLock>> {
        super::guard::check_state_dir(root)?;
        let path = root.join(".rlcm").join("read.lock");
        let file = open_read_lock(root, true).with_path("open", &path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(CommitLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
        }
    }

    /// Waits for the readers reading now, then keeps new readers out until dropped.
    pub fn acquire(root: &Path) -> Result<CommitLock> {
        super::guard::check_state_dir(root)?;
        let path = root.join(".rlcm").join("read.lock");
        let file = open_read_lock(root, true).with_path("open", &path)?;
        file.lock().with_path("lock", &path)?;
        Ok(CommitLock { _file: file })
    }
}

/// The folder `rlcm init` builds `.rlcm/` in, beside it, before renaming it into place.
pub(crate) const INIT_STAGING: &str = ".rlcm.init-tmp";

/// An `init` in progress on a directory: an exclusive lock on its staging folder
/// ([`INIT_STAGING`]), which it holds until the folder is renamed into place as `.rlcm/`.
#[derive(Debug)]
pub(crate) struct InitLock {
    _dir: File,
}

impl InitLock {
    /// Makes the staging folder of `dir` and locks it, after discarding one that a killed
    /// `init` left ([`discard_stale_init`]).
    pub fn create(dir: &Path) -> Result<InitLock> {
        discard_stale_init(dir)?;
        let staging = dir.join(INIT_STAGING);
        crate::fsutil::create_dir(&staging).with_path("create directory", &staging)?;
        let file = File::open(&staging).with_path("open", &staging)?;
        match file.try_lock() {
            Ok(()) => Ok(InitLock { _dir: file }),
            Err(_) => Err(Error::Locked {
                path: dir.to_path_buf(),
                holder: " (an `rlcm init`)".into(),
            }),
        }
    }
}

/// Removes the staging folder of an `init` that was killed before it renamed it into place
/// (nobody holds its lock); an `init` running now keeps it, and this fails naming it.
pub(crate) fn discard_stale_init(dir: &Path) -> Result<()> {
    let staging = dir.join(INIT_STAGING);
    match std::fs::symlink_metadata(&staging) {
        Err(_) => return Ok(()),
        Ok(m) if !m.file_type().is_dir() => {
            return Err(Error::invalid(
                Subject::path(&staging),
                format!("`{}` is not a directory", staging.display()),
            )
            .hint("it is where `rlcm init` builds `.rlcm/`: remove it"));
        }
        Ok(_) => {}
    }
    let file = File::open(&staging).with_path("open", &staging)?;
    if file.try_lock().is_err() {
        return Err(Error::Locked {
            path: dir.to_path_buf(),
            holder: " (an `rlcm init`)".into(),
        });
    }
    crate::fsutil::remove_dir_all(&staging).with_path("remove", &staging)
}
