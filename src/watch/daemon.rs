//! `rlcm watch`: a process that keeps an inotify watch ([`TreeWatch`]) on an environment's tree
//! and vouches for the production index between commands, so that a read-only command on a
//! large environment need not `stat` every file to know the index is still the tree's.
//!
//! **Epochs.** The watcher answers with its *epoch*: a random id drawn each time it sets up a
//! watch of the whole tree. An epoch lives while no event at all has arrived (an epoch never
//! outlives a change: any entry created, written, renamed, removed or with changed attributes,
//! anywhere outside the root's `.rlcm/`, a queue overflow, a folder gone); then the watcher
//! drops it and sets up a new one. A command asks for the epoch *before* it walks the tree, and
//! the index records the epoch its walk ran in (see [`crate::index`]). Later, the same epoch
//! means that nothing changed since before that walk: the index is believed without a walk.
//!
//! Why an answer is up to date: the kernel queues an inotify event in the same system call
//! that makes the change, and the watcher drains its queue when it is asked, so every change
//! that completed before the question is seen by the answer.
//!
//! **Socket.** `.rlcm/cache/watch.sock`, a Unix socket made readable by its owner only, in the
//! environment's own state folder; a reply names the environment's cache binding (a keyed hash
//! of its inodes and the machine, see [`crate::cache`]) so that a socket moved or copied with
//! the tree is never believed. Where the path is too long for a socket address, or the system
//! has no inotify, there is no watcher and every command walks the tree as before.
//!
//! **Refresh.** Once an epoch has lived for [`REFRESH_AFTER`] and the production index does not
//! record it (a write ended the last one: an import, an edit), the watcher writes a fresh index
//! and summary cache in that epoch (with the [`Refresher`] it was given: `rlcm watch run` gives
//! one that runs `rlcm watch refresh`, [`crate::index::refresh`] in a process of its own), so
//! that the next command is answered without a walk or a load.
//!
//! The watcher holds no lock of the environment (a reader's lock held for days would keep
//! every commit waiting); the refresh takes the read lock for as long as it reads.
//!
//! The protocol is one line each way: `epoch` → `epoch <32 hex> <binding hex>` (or `none` while
//! the tree cannot be watched), `stop` → `stopping`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::linux::TreeWatch;
use crate::cache::wire::{hex, unhex};
use crate::error::{Error, Result, Subject};

pub use super::Epoch;

use super::socket_path;

/// `sun_path` holds 108 bytes with the terminating zero.
const MAX_SOCKET_PATH: usize = 107;

/// How often the watcher looks at its queue when nobody asks (to set up a new epoch soon
/// after a change, not in the middle of the next command).
const HOUSEKEEPING: Duration = Duration::from_millis(200);

/// How long a client waits for an answer before it walks the tree instead.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// A fresh epoch id.
fn draw() -> Epoch {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = blake3::Hasher::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(&now.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&COUNT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let mut e = [0u8; 16];
    e.copy_from_slice(&h.finalize().as_bytes()[..16]);
    e
}

/// After a change, the housekeeping waits this long without events before it sets up the
/// next epoch (a watch of the whole tree, 0.4 s at 100k recipes), so that a long write (an
/// import) is not slowed by set-ups that the next event would end at once. A client that asks
/// meanwhile gets a new epoch at once.
const QUIET: Duration = Duration::from_millis(500);

/// Once an epoch has lived this long (the tree quiet for that long after a change), the
/// watcher writes a fresh production index and summary cache when the index does not record
/// the epoch ([`crate::index::refresh`]): the command after an import is answered from the
/// index. Longer than the summary cache's racy window, so that files written by the change are
/// no longer racy (an index with too many racy files is not written).
const REFRESH_AFTER: Duration = Duration::from_millis(2500);

struct State {
    root: PathBuf,
    current: Option<(TreeWatch, Epoch)>,
    /// The watch of the epoch that ended, still drained to tell when the tree is quiet, and
    /// the last time it had events.
    ended: Option<(TreeWatch, std::time::Instant)>,
}

impl State {
    /// The live epoch, after draining the queue: a new one when the last saw a change (`None`
    /// while the tree cannot be watched). With `eager` false (the housekeeping), a new epoch
    /// is set up only once the tree has been quiet for [`QUIET`].
    fn epoch(&mut self, eager: bool) -> Option<Epoch> {
        let ended = match &mut self.current {
            Some((w, _)) => !w.unchanged(),
            None => false,
        };
        if ended && let Some((w, _)) = self.current.take() {
            self.ended = Some((w, std::time::Instant::now()));
        }
        if self.current.is_none() {
            if !eager && let Some((w, last)) = &mut self.ended {
                if !w.quiet() {
                    *last = std::time::Instant::now();
                }
                if last.elapsed() < QUIET {
                    return None;
                }
            }
            self.ended = None;
            self.current = TreeWatch::start(&self.root).map(|w| (w, draw()));
        }
        self.current.as_ref().map(|(_, e)| *e)
    }
}

/// A watcher bound to its socket, not yet serving.
pub struct Watcher {
    root: PathBuf,
    socket: PathBuf,
    listener: UnixListener,
    binding: [u8; 32],
    state: Arc<Mutex<State>>,
    /// What refreshes the index (see [`Watcher::refresh_with`]).
    refresher: Option<Refresher>,
}

/// Writes a fresh production index and summary cache of the environment at the path in the
/// epoch given (the index is above this module: `ops::watch` gives it).
pub type Refresher = Box<dyn Fn(&Path, Epoch) + Send>;

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Watcher({})", self.root.display())
    }
}

fn bad(root: &Path, what: impl Into<String>) -> Error {
    Error::invalid(Subject::environment(root), what.into())
}

impl Watcher {
    /// Binds the watcher of the initialised environment at `root` and sets up its first
    /// epoch. Fails when another watcher answers there, when the socket path is too long, or
    /// when the tree cannot be watched (no inotify, the watch limit reached).
    pub fn bind(root: &Path) -> Result<Watcher> {
        let root = root.canonicalize().map_err(|e| Error::io("open", root, e))?;
        crate::guard::check_state_dir(&root)?;
        let cache = root.join(".rlcm/cache");
        if !root.join(".rlcm").is_dir() {
            return Err(
                bad(&root, format!("`{}` is not an rlcm environment", root.display()))
                    .hint(format!("run `rlcm init {}` first", root.display())),
            );
        }
        if !cache.is_dir() {
            std::fs::create_dir(&cache).map_err(|e| Error::io("create directory", &cache, e))?;
        }
        let binding = crate::cache::binding(&root, true)
            .ok_or_else(|| bad(&root, "cannot compute the environment's cache binding"))?;
        let socket = socket_path(&root);
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(bad(
                &root,
                format!(
                    "the watcher's socket path `{}` is longer than a Unix socket address allows ({MAX_SOCKET_PATH} bytes)",
                    socket.display()
                ),
            )
            .hint("move the environment to a shorter path; without a watcher every command walks the tree, as before"));
        }
        if epoch(&root).is_some() {
            return Err(
                bad(&root, format!("a watcher already runs for `{}`", root.display()))
                    .hint(format!("`rlcm watch stop --env {}` stops it", root.display())),
            );
        }
        // A socket left by a watcher that was killed: nobody answers it.
        if std::fs::symlink_metadata(&socket).is_ok() {
            std::fs::remove_file(&socket).map_err(|e| Error::io("remove", &socket, e))?;
        }
        let listener = UnixListener::bind(&socket).map_err(|e| Error::io("bind", &socket, e))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("set permissions of", &socket, e))?;
        let mut state = State {
            root: root.clone(),
            current: None,
            ended: None,
        };
        if state.epoch(true).is_none() {
            let _ = std::fs::remove_file(&socket);
            return Err(bad(&root, format!("cannot watch every folder of `{}` with inotify", root.display()))
                .hint("raise fs.inotify.max_user_watches (sysctl), or go without a watcher: every command then walks the tree"));
        }
        Ok(Watcher {
            root,
            socket,
            listener,
            binding,
            state: Arc::new(Mutex::new(state)),
            refresher: None,
        })
    }

    /// Refreshes the index with `refresher` once an epoch has lived for [`REFRESH_AFTER`]
    /// (without one, the watcher only vouches).
    pub fn refresh_with(mut self, refresher: Refresher) -> Watcher {
        self.refresher = Some(refresher);
        self
    }

    /// Serves until asked to stop, or until the environment's state folder or the socket is
    /// gone (the socket is then removed, when it is still this watcher's).
    pub fn serve(mut self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::symlink_metadata(&self.socket)
            .map_err(|e| Error::io("stat", &self.socket, e))?
            .ino();
        let stop = Arc::new(AtomicBool::new(false));
        let keeper = {
            let (state, stop, socket) = (self.state.clone(), stop.clone(), self.socket.clone());
            let (root, refresher) = (self.root.clone(), self.refresher.take());
            std::thread::spawn(move || {
                // The live epoch, since when it lives, and whether the index was refreshed in it.
                let mut live: Option<(Epoch, std::time::Instant, bool)> = None;
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(HOUSEKEEPING);
                    let ours = std::fs::symlink_metadata(&socket).is_ok_and(|m| m.ino() == ino);
                    if !ours {
                        stop.store(true, Ordering::SeqCst);
                        // Wake the accept below.
                        let _ = UnixStream::connect(&socket);
                        break;
                    }
                    let Some(e) = state.lock().ok().and_then(|mut s| s.epoch(false)) else {
                        live = None;
                        continue;
                    };
                    match &mut live {
                        Some((was, since, done)) if *was == e => {
                            if !*done && since.elapsed() >= REFRESH_AFTER {
                                *done = true;
                                if let Some(refresh) = &refresher {
                                    refresh(&root, e);
                                }
                            }
                        }
                        _ => live = Some((e, std::time::Instant::now(), false)),
                    }
                }
            })
        };
        for stream in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            if self.answer(stream) {
                break;
            }
        }
        stop.store(true, Ordering::SeqCst);
        let _ = keeper.join();
        if std::fs::symlink_metadata(&self.socket).is_ok_and(|m| m.ino() == ino) {
            let _ = std::fs::remove_file(&self.socket);
        }
        Ok(())
    }

    /// Answers one client; true when it asked the watcher to stop.
    fn answer(&self, stream: UnixStream) -> bool {
        let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
        let _ = stream.set_write_timeout(Some(CLIENT_TIMEOUT));
        let mut line = String::new();
        let mut reader = BufReader::new(&stream);
        if reader.read_line(&mut line).is_err() {
            return false;
        }
        let mut out = &stream;
        match line.trim_end() {
            "epoch" => {
                let e = self.state.lock().ok().and_then(|mut s| s.epoch(true));
                let reply = match e {
                    Some(e) => format!("epoch {} {}\n", hex(&e), hex(&self.binding)),
                    None => "none\n".to_string(),
                };
                let _ = out.write_all(reply.as_bytes());
                false
            }
            "stop" => {
                let _ = out.write_all(b"stopping\n");
                true
            }
            _ => false,
        }
    }
}

fn ask(root: &Path, request: &str) -> Option<String> {
    let socket = socket_path(root);
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return None;
    }
    let stream = UnixStream::connect(&socket).ok()?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT)).ok()?;
    (&stream).write_all(request.as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).ok()?;
    Some(line)
}

/// The live epoch of the watcher of the environment at `root`: `None` when no watcher answers
/// (quickly: a socket that is missing or that nobody listens on is one failed `connect`), or
/// when the one that answers is not this environment's.
pub fn epoch(root: &Path) -> Option<Epoch> {
    let line = ask(root, "epoch\n")?;
    let mut words = line.split_whitespace();
    if words.next()? != "epoch" {
        return None;
    }
    let e = unhex::<16>(words.next()?)?;
    let binding = unhex::<32>(words.next()?)?;
    (crate::cache::binding(root, false)? == binding).then_some(e)
}

/// Asks the watcher of `root` to stop; false when none answered.
pub fn stop(root: &Path) -> bool {
    ask(root, "stop\n").is_some_and(|l| l.trim_end() == "stopping")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::create_dir_all(d.path().join(".rlcm/cache")).unwrap();
        std::fs::write(d.path().join("a/b/r.recipe.json"), b"{}").unwrap();
        d
    }

    #[test]
    fn an_epoch_lives_until_the_tree_changes_and_stop_ends_the_watcher() {
        let d = env();
        let root = d.path().canonicalize().unwrap();
        assert_eq!(epoch(&root), None, "no watcher yet");
        let w = Watcher::bind(&root).unwrap();
        let server = std::thread::spawn(move || w.serve());
        let first = epoch(&root).expect("the watcher answers");
        assert_eq!(epoch(&root), Some(first), "nothing changed");
        // The state folder is not the tree.
        std::fs::write(root.join(".rlcm/cache/x"), b"1").unwrap();
        assert_eq!(epoch(&root), Some(first));
        assert!(Watcher::bind(&root).is_err(), "a second watcher is refused");
        // A request it does not know, and one never finished: ignored, and it keeps serving.
        assert_eq!(ask(&root, "epoch please\n"), Some(String::new()));
        drop(UnixStream::connect(socket_path(&root)).unwrap());
        assert_eq!(epoch(&root), Some(first));
        std::fs::write(root.join("a/b/r.recipe.json"), b"{ }").unwrap();
        let second = epoch(&root).expect("a new epoch");
        assert_ne!(
            first, second,
            "an edit ends the epoch, seen by the very next question"
        );
        assert_eq!(epoch(&root), Some(second));
        std::fs::create_dir(root.join("a/new")).unwrap();
        let third = epoch(&root).unwrap();
        assert_ne!(third, second);
        // A file in the folder made in the last epoch is seen too: the new epoch watches it.
        std::fs::write(root.join("a/new/f.json"), b"{}").unwrap();
        assert_ne!(epoch(&root).unwrap(), third);
        assert!(stop(&root));
        server.join().unwrap().unwrap();
        assert!(!socket_path(&root).exists(), "the socket is removed");
        assert_eq!(epoch(&root), None);
    }

    #[test]
    fn the_housekeeping_waits_for_quiet_and_a_client_does_not() {
        let d = env();
        let root = d.path().canonicalize().unwrap();
        let file = root.join("a/b/r.recipe.json");
        let mut s = State {
            root: root.clone(),
            current: None,
            ended: None,
        };
        let first = s.epoch(true).unwrap();
        assert_eq!(s.epoch(false), Some(first));
        std::fs::write(&file, b"{ }").unwrap();
        assert_eq!(s.epoch(false), None, "no set-up in the middle of writes");
        std::fs::write(&file, b"{  }").unwrap();
        assert_eq!(s.epoch(false), None);
        std::thread::sleep(QUIET + Duration::from_millis(100));
        let second = s.epoch(false).expect("set up once the tree is quiet");
        assert_ne!(first, second);
        std::fs::write(&file, b"{ }").unwrap();
        let third = s.epoch(true).expect("a client gets a new epoch at once");
        assert_ne!(third, second);
    }

    #[test]
    fn a_stale_socket_is_replaced_and_another_environment_is_not_believed() {
        let d = env();
        let root = d.path().canonicalize().unwrap();
        // A socket whose watcher was killed: bound, then the listener dropped.
        drop(UnixListener::bind(socket_path(&root)).unwrap());
        assert_eq!(epoch(&root), None);
        let w = Watcher::bind(&root).unwrap();
        let server = std::thread::spawn(move || w.serve());
        assert!(epoch(&root).is_some());
        // Another environment asking this socket (as a copied tree would) is refused by the
        // binding.
        let other = env();
        let other_root = other.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(socket_path(&root), socket_path(&other_root)).unwrap();
        assert_eq!(epoch(&other_root), None, "the binding is another environment's");
        assert!(stop(&root));
        server.join().unwrap().unwrap();
    }
}
