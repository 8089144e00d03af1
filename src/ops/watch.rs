//! `rlcm watch`: the watcher that vouches for the production index between commands (see
//! [`crate::watch::daemon`]). Starting it as a background process is the binary's part; here
//! are running it, asking it and stopping it.

use std::time::{Duration, Instant};

use crate::env::Environment;
use crate::error::{Error, Result, Subject};
use crate::report::WatchReport;

/// The report of the watcher of `env` as it is now, saying what the command did.
pub fn report(env: &Environment, action: &str) -> WatchReport {
    let epoch = crate::watch::epoch(&env.root);
    WatchReport {
        format_version: 1,
        environment: env.root.display().to_string(),
        action: action.to_string(),
        running: epoch.is_some(),
        socket: crate::watch::socket_path(&env.root).display().to_string(),
        index_vouched: crate::index::vouched(&env.root, epoch),
    }
}

/// Runs the watcher of `env` in this process until it is stopped (`rlcm watch run`). It gives
/// up the environment's read lock first: it never reads the environment, and a reader that
/// lives for days would keep every commit waiting. `exe`: the rlcm binary that refreshes the
/// index in a process of its own (`rlcm watch refresh`), else this process does.
pub fn run(mut env: Environment, exe: Option<std::path::PathBuf>) -> Result<()> {
    env.release_read_lock();
    #[cfg(target_os = "linux")]
    return crate::watch::daemon::Watcher::bind(&env.root)?
        .refresh_with(refresher(exe))
        .serve();
    #[cfg(not(target_os = "linux"))]
    {
        let _ = exe;
        return Err(Error::invalid(
            Subject::environment(&env.root),
            "`rlcm watch` needs inotify (Linux); every command walks the tree instead",
        ));
    }
}

/// The watcher's refresh of the index: with `exe`, in a process of its own (`rlcm watch
/// refresh`: the memory of loading a large tree, hundreds of MiB, goes with it, and the watcher
/// stays small), else in the watcher's.
#[cfg(target_os = "linux")]
fn refresher(exe: Option<std::path::PathBuf>) -> crate::watch::daemon::Refresher {
    match exe {
        Some(exe) => Box::new(move |root, epoch| {
            let _ = std::process::Command::new(&exe)
                .args(["watch", "refresh", "--env"])
                .arg(root)
                .arg("--epoch")
                .arg(crate::cache::wire::hex(&epoch))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }),
        None => Box::new(crate::index::refresh),
    }
}

/// `rlcm watch refresh --env DIR --epoch HEX`: the watcher's refresh of the production index
/// and summary cache of the environment at `root`, in its `epoch` (see
/// [`crate::index::refresh`]).
pub fn refresh(root: &std::path::Path, epoch: &str) -> Result<()> {
    let e = crate::cache::wire::unhex::<16>(epoch).ok_or_else(|| {
        Error::invalid(
            Subject::Arguments,
            format!("`{epoch}` is not an epoch (32 hex digits)"),
        )
    })?;
    // What is not an environment is said so (the refresh itself is best effort, and silent).
    Environment::open(root)?.state()?;
    crate::index::refresh(root, e);
    Ok(())
}

/// Waits until a watcher answers for `env` (`rlcm watch start`, after spawning `rlcm watch
/// run`); `exited` says whether the spawned process ended, and how.
pub fn wait_started(env: &Environment, mut exited: impl FnMut() -> Option<String>) -> Result<WatchReport> {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if crate::watch::epoch(&env.root).is_some() {
            return Ok(report(env, "started"));
        }
        if let Some(how) = exited() {
            return Err(Error::invalid(
                Subject::environment(&env.root),
                format!("the watcher of `{}` did not start ({how})", env.root.display()),
            )
            .hint(format!(
                "run `rlcm watch run --env {}` in the foreground to see why",
                env.root.display()
            )));
        }
        if Instant::now() > end {
            return Err(Error::invalid(
                Subject::environment(&env.root),
                format!(
                    "the watcher of `{}` did not answer within 30 s",
                    env.root.display()
                ),
            )
            .hint("`rlcm watch status` tells whether it came up later; `rlcm watch stop` stops it"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Stops the watcher of `env`, waiting (at most 10 s) until its socket is gone.
pub fn stop(env: &Environment) -> Result<WatchReport> {
    #[cfg(target_os = "linux")]
    {
        if !crate::watch::daemon::stop(&env.root) {
            return Ok(report(env, "not running"));
        }
        let socket = crate::watch::socket_path(&env.root);
        let end = Instant::now() + Duration::from_secs(10);
        while std::fs::symlink_metadata(&socket).is_ok() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(report(env, "stopped"))
    }
    #[cfg(not(target_os = "linux"))]
    Ok(report(env, "not running"))
}
