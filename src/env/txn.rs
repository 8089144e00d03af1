//! Atomic, crash-safe changes to an environment: a journal of staged file operations.
//!
//! A [`Transaction`] stages every new file under `.rlcm/tmp/<id>/` as it is added (so memory
//! does not grow with the size of the change). [`Transaction::commit`] then:
//!
//! 1. flushes the staged files to disk;
//! 2. writes the journal into the staging folder, flushes it, and renames it onto
//!    `.rlcm/journal.json` — **the commit point**;
//! 3. makes the folders the staged files go to (flushed once, before anything is moved), renames
//!    each staged file onto its target and removes deleted files;
//! 4. flushes, removes the journal, removes the staging folder.
//!
//! A crash before step 2 leaves the environment as before (the staging folder is discarded by
//! the next command). A crash after it leaves a journal that the next command replays
//! ([`recover`]): renames whose staged file is gone already happened, so replay is idempotent
//! and the environment ends fully after. The lock must be held throughout.
//!
//! Test hooks (feature `test-hooks`, which only `cargo test` turns on): `RLCM_CRASH_POINT=N` makes the process SIGKILL itself at the N-th crash point of a
//! commit (after staging, after the journal, after each file operation, ...), so tests can kill
//! a write at every instant that matters; `RLCM_PAUSE_AT_READ=K:FILE` holds a reader at its
//! K-th tree file ([`crate::hooks::read_point`]).

use crate::error::Subject;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
#[cfg(feature = "test-hooks")]
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::env::guard;
use crate::env::lock::CommitLock;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

/// What happens to one path.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "op")]
enum Op {
    /// Replace or create the file with the staged file of this name.
    Write { staged: String },
    /// Remove the file.
    Delete,
}

/// The journal on disk.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    format_version: u32,
    id: String,
    label: String,
    started_at: String,
    ops: BTreeMap<String, Op>,
}

/// A set of file changes to apply all together or not at all.
#[derive(Debug)]
pub struct Transaction {
    root: PathBuf,
    id: String,
    label: String,
    ops: BTreeMap<String, Op>,
    staged: u64,
    /// The staging subfolders made so far (bit `i`: subfolder `i`).
    shards: u32,
    done: bool,
}

impl Drop for Transaction {
    /// A transaction dropped without commit (an error on the way) leaves nothing behind.
    fn drop(&mut self) {
        if !self.done {
            let _ = fsutil::remove_dir_all(&self.staging());
        }
    }
}

/// A crash point for the crash-injection tests (see the module documentation); nothing
/// without the `test-hooks` feature.
#[inline(always)]
pub(crate) fn crash_point(what: &str) {
    #[cfg(feature = "test-hooks")]
    crash_point_hook(what);
    #[cfg(not(feature = "test-hooks"))]
    let _ = what;
}

#[cfg(feature = "test-hooks")]
fn crash_point_hook(what: &str) {
    static CRASH_COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(target) = std::env::var("RLCM_CRASH_POINT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let n = CRASH_COUNTER.fetch_add(1, Ordering::SeqCst) + 1;
    if n == target {
        if let Ok(path) = std::env::var("RLCM_CRASH_LOG") {
            let _ = std::fs::write(path, format!("{n} {what}"));
        }
        // SAFETY: kill(2) on our own pid with SIGKILL has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

fn rlcm_dir(root: &Path) -> PathBuf {
    root.join(".rlcm")
}

fn journal_path(root: &Path) -> PathBuf {
    rlcm_dir(root).join("journal.json")
}

/// Makes sure every write so far is on disk: `syncfs` of the environment's file system on
/// Linux (one call however many files), else an fsync of the given files and folders.
fn barrier(root: &Path, files: &[PathBuf]) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let _ = files;
        fsutil::syncfs(root)
    }
    #[cfg(not(target_os = "linux"))]
    {
        for f in files {
            if let Ok(file) = std::fs::File::open(f) {
                fsutil::sync_file(&file, f).with_path("sync", f)?;
            }
        }
        fsutil::sync_dir(root)
    }
}

impl Transaction {
    /// Starts a transaction on the environment at `root`; the caller holds its lock.
    pub fn begin(root: &Path, label: &str) -> Result<Transaction> {
        let id = format!(
            "{}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
            std::process::id()
        );
        guard::check_state_dir(root)?;
        let staging = rlcm_dir(root).join("tmp").join(&id);
        fsutil::create_dir_all(&staging)?;
        Ok(Transaction {
            root: root.to_path_buf(),
            id,
            label: label.to_string(),
            ops: BTreeMap::new(),
            staged: 0,
            shards: 0,
            done: false,
        })
    }

    fn staging(&self) -> PathBuf {
        rlcm_dir(&self.root).join("tmp").join(&self.id)
    }

    /// Stages `bytes` to be written at `path` (relative to the environment root, `/`).
    pub fn write(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        check_relative(path)?;
        let slot = self.reserve()?;
        slot.write(bytes)?;
        self.ops.insert(path.to_string(), Op::Write { staged: slot.name });
        Ok(())
    }

    /// Stages `bytes` to be written at `path` readable by its owner only (mode 0600 on Unix,
    /// from the staged file's creation on): for secrets under `.rlcm/secrets/`.
    pub(crate) fn write_private(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        check_relative(path)?;
        let slot = self.reserve()?;
        slot.write_private(bytes)?;
        self.ops.insert(path.to_string(), Op::Write { staged: slot.name });
        Ok(())
    }

    /// Reserves a staged file: it can be filled from any thread ([`Slot::write`],
    /// [`Slot::keep`]), several at once, then put in the transaction with [`Transaction::add`].
    /// A slot never added is discarded with the staging folder.
    ///
    /// Staged files are spread over subfolders ([`SHARD_BITS`]): creating a file locks its folder,
    /// so threads filling slots at once would otherwise wait for each other.
    pub(crate) fn reserve(&mut self) -> Result<Slot> {
        self.staged += 1;
        let shard = shard_of(self.staged);
        let name = format!("{shard:x}/{:08}", self.staged);
        let file = self.staging().join(&name);
        if self.shards & (1 << shard) == 0 {
            let dir = self.staging().join(format!("{shard:x}"));
            fsutil::create_dir(&dir).with_path("create directory", &dir)?;
            self.shards |= 1 << shard;
        }
        Ok(Slot { file, name })
    }

    /// Stages the filled `slot` to be written at `path` (relative to the environment root, `/`),
    /// as [`Transaction::write`] does with bytes.
    pub fn add(&mut self, path: &str, slot: Slot) -> Result<()> {
        check_relative(path)?;
        self.ops.insert(path.to_string(), Op::Write { staged: slot.name });
        Ok(())
    }

    /// Stages the removal of `path`.
    pub fn delete(&mut self, path: &str) -> Result<()> {
        check_relative(path)?;
        self.ops.insert(path.to_string(), Op::Delete);
        Ok(())
    }

    /// True when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of staged operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Paths the transaction writes or deletes.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.ops.keys().map(String::as_str)
    }

    /// Applies everything atomically (see the module documentation).
    pub fn commit(mut self) -> Result<()> {
        let root = self.root.clone();
        if self.ops.is_empty() {
            return Ok(());
        }
        barrier(&root, &[self.staging()])?;
        crash_point("staged");
        let journal = Journal {
            format_version: 1,
            id: self.id.clone(),
            label: self.label.clone(),
            started_at: crate::env::now_rfc3339(),
            ops: std::mem::take(&mut self.ops),
        };
        // The journal is written and flushed inside the staging folder, then renamed into
        // place: a crash before the rename leaves only staging, which the next command
        // discards (a temporary file next to the journal would outlive the crash: nothing
        // would know to remove it).
        let staged_journal = self.staging().join(JOURNAL_STAGED);
        fsutil::write_synced(&staged_journal, &crate::json::to_pretty_vec(&journal))?;
        crash_point("journal staged");
        // Readers reading now finish first; new ones wait until every file is in place.
        let _readers_out = CommitLock::acquire(&root)?;
        // The commit point: from here on the journal owns the staging folder.
        let committed = journal_path(&root);
        fsutil::rename(&staged_journal, &committed).with_path("commit", &committed)?;
        self.done = true;
        let finish = || {
            fsutil::sync_dir(&rlcm_dir(&root))?;
            crash_point("journal written");
            replay(&root, &journal)
        };
        finish().map_err(|e| Error::Unfinished {
            label: journal.label.clone(),
            root: root.clone(),
            source: Box::new(e),
        })
    }

    /// Abandons the transaction, removing what was staged.
    pub fn abort(self) {}
}

/// The name of the journal in its staging folder before the commit renames it into place (not
/// a slot name: see [`validate`]).
const JOURNAL_STAGED: &str = "journal.json";

/// A staging folder has `2^SHARD_BITS` subfolders (at most 32: see `Transaction::shards`).
const SHARD_BITS: u32 = 4;

/// The staging subfolder of the `n`-th staged file: consecutive numbers scatter (the slots of
/// one batch are split between threads in runs of consecutive numbers).
fn shard_of(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARD_BITS)
}

/// A staged file of a [`Transaction`], reserved by [`Transaction::reserve`].
#[derive(Debug)]
pub struct Slot {
    name: String,
    file: PathBuf,
}

impl Slot {
    /// Fills the slot with `bytes`.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        fsutil::write_file(&self.file, bytes).with_path("write", &self.file)
    }

    /// Fills the slot with `bytes`, the file readable by its owner only (mode 0600 on Unix).
    pub(crate) fn write_private(&self, bytes: &[u8]) -> Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = fsutil::open_for_write(&opts, &self.file).with_path("create", &self.file)?;
        fsutil::write_all(&mut f, bytes, &self.file).with_path("write", &self.file)
    }

    /// Fills the slot with the bytes of the existing file `from`, which are `bytes`: a hard
    /// link to it when it is a regular file with no other link, so that nothing is copied (a
    /// transaction replaces a file by renaming another onto it, never in place, so the linked
    /// bytes stay as they are), else a copy of `bytes`.
    pub fn keep(&self, from: &Path, bytes: &[u8]) -> Result<()> {
        if sole_link(from) && fsutil::hard_link(from, &self.file).is_ok() {
            return Ok(());
        }
        self.write(bytes)
    }
}

/// True when `path` is a regular file (not a symbolic link) with one link.
#[cfg(unix)]
fn sole_link(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file() && m.nlink() == 1)
}

/// Hard links are only used where their link count can be read.
#[cfg(not(unix))]
fn sole_link(_path: &Path) -> bool {
    false
}

/// Refuses a path a transaction must not write (absolute, escaping the root, ...).
pub(crate) fn check_path(path: &str) -> Result<()> {
    check_relative(path)
}

fn check_relative(path: &str) -> Result<()> {
    crate::source::validate_entry_name(path).map_err(|reason| {
        Error::invalid(
            Subject::path(path),
            format!("refusing to write `{path}`: it {reason}"),
        )
    })
}

/// Applies a committed journal's operations (idempotently), then clears it.
fn replay(root: &Path, journal: &Journal) -> Result<()> {
    let staging = rlcm_dir(root).join("tmp").join(&journal.id);
    // The folders the moves need are made first, all made durable by one barrier before any
    // move (not one fsync of the parent per new folder).
    let mut dirs = Dirs::default();
    for (path, op) in &journal.ops {
        if let Op::Write { staged } = op
            && let Some(dir) = root.join(path).parent()
            && staging.join(staged).exists()
        {
            dirs.make(dir)?;
        }
    }
    if !dirs.gained.is_empty() {
        dirs.gained.sort();
        dirs.gained.dedup();
        barrier(root, &dirs.gained)?;
    }
    let mut touched_dirs: Vec<PathBuf> = Vec::new();
    for (path, op) in &journal.ops {
        let target = root.join(path);
        match op {
            Op::Write { staged } => {
                let from = staging.join(staged);
                if from.exists() {
                    fsutil::rename(&from, &target).with_path("move into place", &target)?;
                }
            }
            Op::Delete => {
                fsutil::remove_file_if_exists(&target)?;
                if let Some(dir) = target.parent() {
                    touched_dirs.push(dir.to_path_buf());
                }
            }
        }
        crash_point("file operation");
    }
    // Folders emptied by deletions go too (never the root or `.rlcm/` itself).
    touched_dirs.sort();
    touched_dirs.dedup();
    for dir in touched_dirs.iter().rev() {
        let mut d = dir.as_path();
        while d != root && !d.ends_with(".rlcm") && fsutil::remove_dir(d).is_ok() {
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
    }
    barrier(root, &[])?;
    crash_point("applied");
    fsutil::remove_file_if_exists(&journal_path(root))?;
    fsutil::sync_dir(&rlcm_dir(root))?;
    crash_point("journal removed");
    let _ = fsutil::remove_dir_all(&staging);
    Ok(())
}

/// Folders made for a replay.
#[derive(Default)]
struct Dirs {
    /// Folders known to exist.
    known: HashSet<PathBuf>,
    /// Folders that gained an entry (a new folder): to flush before anything is moved in.
    gained: Vec<PathBuf>,
}

impl Dirs {
    /// Creates `dir` and its missing parents (not durable until the next barrier).
    fn make(&mut self, dir: &Path) -> Result<()> {
        if self.known.contains(dir) {
            return Ok(());
        }
        if !dir.is_dir() {
            if let Some(parent) = dir.parent() {
                self.make(parent)?;
            }
            match fsutil::create_dir(dir) {
                Ok(()) => {
                    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                        self.gained.push(parent.to_path_buf());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(e) => return Err(Error::io("create directory", dir, e)),
            }
        }
        self.known.insert(dir.to_path_buf());
        Ok(())
    }
}

/// Finishes or discards an interrupted write; the caller holds the lock. Returns the label of
/// the write that was finished, if any.
pub fn recover(root: &Path) -> Result<Option<String>> {
    guard::check_state_dir(root)?;
    let path = journal_path(root);
    let mut finished = None;
    if let Some(bytes) = fsutil::read_optional(&path)? {
        let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| {
            Error::json(path.display().to_string(), &e).hint(
                "the interrupted write cannot be finished automatically: restore `.rlcm/` from backup or git",
            )
        })?;
        validate(root, &journal, &path)?;
        let _readers_out = CommitLock::acquire(root)?;
        replay(root, &journal)?;
        finished = Some(journal.label);
    }
    // Staging left by writes that crashed before their commit point: discard.
    let tmp = rlcm_dir(root).join("tmp");
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for e in entries.flatten() {
            let _ = fsutil::remove_dir_all(&e.path());
        }
    }
    // So are the temporary files of atomic writes killed before their rename (the lock
    // keeps out any writer that could be making one now).
    for f in stray_temporaries(root, STATE_DIRS) {
        fsutil::remove_file_if_exists(&f)?;
    }
    // The cache's are written by readers too (the production index and the summary cache,
    // under the read lock): removed only while no reader reads.
    if let Some(_no_reader) = CommitLock::try_acquire(root)? {
        for f in stray_temporaries(root, CACHE_DIRS) {
            fsutil::remove_file_if_exists(&f)?;
        }
    }
    Ok(finished)
}

/// Checks a journal read from disk before anything it names is touched: its id is a plain
/// name, every path is a valid relative name inside the environment (no `..`, not absolute,
/// no symbolic link on the way), and every staged file is a staging slot name whose file, when
/// present, is a regular file in this write's staging folder.
fn validate(root: &Path, journal: &Journal, file: &Path) -> Result<()> {
    guard::check_component(&journal.id, file)?;
    let staging = format!(".rlcm/tmp/{}", journal.id);
    guard::check_inside(root, &staging, file)?;
    for (path, op) in &journal.ops {
        guard::check_inside(root, path, file)?;
        if let Op::Write { staged } = op {
            let well_formed = staged.split_once('/').is_some_and(|(shard, n)| {
                !shard.is_empty()
                    && !n.is_empty()
                    && shard.bytes().all(|b| b.is_ascii_hexdigit())
                    && n.bytes().all(|b| b.is_ascii_digit())
            });
            if !well_formed {
                return Err(Error::invalid(Subject::path(file), format!("`{}` stages `{path}` from `{staged}`, which is not a staging slot name", file.display())).hint("rlcm refuses it (the file is damaged or was crafted: restore `.rlcm/` from git or a backup)"));
            }
            let from = format!("{staging}/{staged}");
            guard::check_inside(root, &from, file)?;
            if let Ok(m) = std::fs::symlink_metadata(root.join(&from))
                && !m.file_type().is_file()
            {
                return Err(Error::invalid(
                    Subject::path(file),
                    format!(
                        "`{}` stages `{path}` from `{from}`, which is not a regular file",
                        file.display()
                    ),
                )
                .hint("rlcm refuses it"));
            }
        }
    }
    Ok(())
}

/// True when a committed journal is on disk (a commit running now, or one whose writer died).
pub fn committed(root: &Path) -> bool {
    journal_path(root).exists()
}

/// True when an interrupted write awaits recovery (a journal, staging left behind, or a
/// temporary file of an atomic write into the state folder that was killed before its
/// rename). A temporary file in the cache folder does not count: it may be a reader's write
/// in progress (the production index, the summary cache), and one a killed process left is
/// only space (removed by the next recovery or commit that finds no reader).
pub fn pending(root: &Path) -> bool {
    journal_path(root).exists()
        || std::fs::read_dir(rlcm_dir(root).join("tmp")).is_ok_and(|mut d| d.next().is_some())
        || !stray_temporaries(root, STATE_DIRS).is_empty()
}

/// The folders of `.rlcm/` that writers (under the writer lock) write temporary files of
/// atomic writes ([`fsutil::write_atomic`]) into: the state folder itself (the journal, as
/// earlier versions wrote it, and state files written outside a transaction).
const STATE_DIRS: &[&str] = &[""];

/// The folders of `.rlcm/` that readers write temporary files into too (under the read lock):
/// the cache (production index, summary cache).
const CACHE_DIRS: &[&str] = &["cache"];

/// Temporary files of atomic writes into the folders `dirs` of `.rlcm/` that a crash left
/// behind, or that are being written (regular files named `.rlcm-tmp-*`; anything else is
/// left alone).
fn stray_temporaries(root: &Path, dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        let dir = rlcm_dir(root).join(d);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(fsutil::TEMP_PREFIX)
                && e.file_type().is_ok_and(|t| t.is_file())
            {
                out.push(e.path());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backup kept by [`Slot::keep`] holds the replaced bytes after the commit, whether it was
    /// linked or copied, and the tree file holds the new ones.
    #[test]
    fn kept_bytes_survive_the_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".rlcm")).unwrap();
        std::fs::write(root.join("a.json"), b"old a").unwrap();
        std::fs::write(root.join("b.json"), b"old b").unwrap();
        // `b.json` has a second link: it must be copied, not linked.
        std::fs::hard_link(root.join("b.json"), root.join("b-elsewhere.json")).unwrap();
        let mut txn = Transaction::begin(root, "test").unwrap();
        for name in ["a", "b"] {
            let path = format!("{name}.json");
            let backup = txn.reserve().unwrap();
            backup
                .keep(&root.join(&path), format!("old {name}").as_bytes())
                .unwrap();
            txn.add(&format!("backups/{path}"), backup).unwrap();
            let new = txn.reserve().unwrap();
            new.write(format!("new {name}").as_bytes()).unwrap();
            txn.add(&path, new).unwrap();
        }
        txn.commit().unwrap();
        for name in ["a", "b"] {
            let read = |p: String| std::fs::read(root.join(p)).unwrap();
            assert_eq!(read(format!("{name}.json")), format!("new {name}").as_bytes());
            assert_eq!(
                read(format!("backups/{name}.json")),
                format!("old {name}").as_bytes()
            );
        }
        // The other link of `b.json` is untouched, and not shared with the backup.
        std::fs::write(root.join("b-elsewhere.json"), b"edited").unwrap();
        assert_eq!(std::fs::read(root.join("backups/b.json")).unwrap(), b"old b");
        assert!(!pending(root));
    }

    /// The temporary file of an atomic write killed before its rename (how a journal was
    /// written before it was staged: a SIGKILL during its fsync left `.rlcm/.rlcm-tmp-*`, and
    /// the environment was neither before nor after) makes the environment pending, and
    /// recovery removes it; other files are left alone.
    #[test]
    fn recovery_removes_temporaries_of_killed_atomic_writes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".rlcm/cache")).unwrap();
        std::fs::write(root.join(".rlcm/env.json"), b"{}").unwrap();
        assert!(!pending(root));
        std::fs::write(root.join(".rlcm/.rlcm-tmp-AbC123"), b"{\"half a journal").unwrap();
        assert!(pending(root));
        // A reader may be writing the cache's: not pending, removed only while no reader reads.
        std::fs::write(root.join(".rlcm/cache/.rlcm-tmp-x"), b"half an index").unwrap();
        {
            let _reading = super::super::lock::ReadLock::acquire(root).unwrap();
            recover(root).unwrap();
            assert!(
                root.join(".rlcm/cache/.rlcm-tmp-x").exists(),
                "a reader's write was removed"
            );
        }
        std::fs::write(root.join(".rlcm/.rlcm-tmp-AbC123"), b"{\"half a journal").unwrap();
        std::fs::create_dir(root.join(".rlcm/.rlcm-tmp-dir")).unwrap();
        recover(root).unwrap();
        assert!(!pending(root));
        assert!(!root.join(".rlcm/.rlcm-tmp-AbC123").exists());
        assert!(!root.join(".rlcm/cache/.rlcm-tmp-x").exists());
        assert!(root.join(".rlcm/env.json").exists());
        assert!(root.join(".rlcm/.rlcm-tmp-dir").is_dir());
    }

    /// A commit leaves no file in `.rlcm/` but the state it wrote: the journal is staged, not
    /// written next to its final place.
    #[test]
    fn a_commit_writes_its_journal_through_staging() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".rlcm")).unwrap();
        let mut txn = Transaction::begin(root, "test").unwrap();
        txn.write("a.json", b"a").unwrap();
        let staging = txn.staging();
        txn.commit().unwrap();
        assert!(!staging.exists());
        let names: Vec<String> = std::fs::read_dir(root.join(".rlcm"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "read.lock" && n != "tmp")
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    /// A slot reserved and filled but never added, and a transaction dropped without commit,
    /// leave nothing behind.
    #[test]
    fn unused_slots_are_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.json"), b"a").unwrap();
        let mut txn = Transaction::begin(root, "test").unwrap();
        txn.reserve().unwrap().keep(&root.join("a.json"), b"a").unwrap();
        txn.reserve().unwrap().write(b"b").unwrap();
        drop(txn);
        assert!(!pending(root));
        assert_eq!(std::fs::read(root.join("a.json")).unwrap(), b"a");
    }
}
