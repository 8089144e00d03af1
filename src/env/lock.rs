//! One writer at a time: an exclusive lock on `.rlcm/lock`, released by the OS when the
//! process ends, however it ends.

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
        let path = root.join(".rlcm").join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_path("open", &path)?;
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
