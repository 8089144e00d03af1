//! Faults injected from outside the process with strace (`-e inject=`): every writing command
//! is run with its N-th call of a write-side system call failing (ENOSPC, EIO) or killing the
//! process (SIGKILL), for N spread over every call the command makes. Each trial must end:
//!
//! - with exit 0 and the environment exactly as after the command; or
//! - with exit 1 (never a panic), a message naming the cause ("No space left on device",
//!   "Input/output error") unless the fault hit stderr itself, and the environment (once the
//!   next command has recovered it) exactly as before, or as after when the fault came after
//!   the commit point; then the same command, without the fault, succeeds and leaves it after;
//! - killed: the next command recovers the environment to before or after;
//!
//! and `rlcm check` clean. `export -o` must leave its destination folder as before (no partial
//! zip, no temporary file) or with the complete zip.
//!
//! strace must be installed (`.ci/run` installs Debian's `strace`); `RLCM_SKIP_STRACE=1` skips
//! these tests where it cannot run (no ptrace). By default at most [`DEFAULT_SAMPLES`] values of
//! N are tried per system call (all of them when there are no more), spread evenly;
//! `RLCM_FAULT_SAMPLES=N` tries more, `RLCM_FAULT_SAMPLES=all` every one.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// Values of N tried per system call and fault, unless `RLCM_FAULT_SAMPLES` says otherwise.
const DEFAULT_SAMPLES: usize = 3;

/// The system calls that change the file system (or make changes durable).
const WRITE_CALLS: &[&str] = &[
    "openat",
    "write",
    "fsync",
    "fdatasync",
    "syncfs",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
];

fn strace() -> Option<PathBuf> {
    if std::env::var_os("RLCM_SKIP_STRACE").is_some() {
        return None;
    }
    for dir in ["/usr/bin", "/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join("strace");
        if p.exists() {
            return Some(p);
        }
    }
    panic!("strace is not installed (apt-get install -y strace), or set RLCM_SKIP_STRACE=1");
}

fn samples() -> Option<usize> {
    match std::env::var("RLCM_FAULT_SAMPLES") {
        Ok(v) if v == "all" => None,
        Ok(v) => Some(v.parse().expect("RLCM_FAULT_SAMPLES is a number or `all`")),
        Err(_) => Some(DEFAULT_SAMPLES),
    }
}

/// `count` values spread over 1..=count (all of them when `max` allows).
fn spread(count: usize, max: Option<usize>) -> Vec<usize> {
    match max {
        Some(m) if count > m && m > 1 => {
            let mut v: Vec<usize> = (0..m).map(|i| 1 + i * (count - 1) / (m - 1)).collect();
            v.dedup();
            v
        }
        Some(m) if count > m => vec![1],
        _ => (1..=count).collect(),
    }
}

/// A command to fault, on a fresh copy of `base` (its `ENV`), with `OUT` a folder beside it.
struct Scenario {
    name: &'static str,
    base: PathBuf,
    args: Vec<String>,
    /// Where the command writes (the environment, or `OUT` for `export -o`).
    writes_out: bool,
}

struct Trial {
    _dir: tempfile::TempDir,
    env: PathBuf,
    out: PathBuf,
}

impl Scenario {
    fn fresh(&self) -> Trial {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env");
        let out = dir.path().join("out");
        copy_tree(&self.base, &env);
        std::fs::create_dir(&out).unwrap();
        Trial { _dir: dir, env, out }
    }

    fn args(&self, t: &Trial) -> Vec<String> {
        self.args
            .iter()
            .map(|a| {
                a.replace("ENV", t.env.to_str().unwrap())
                    .replace("OUT", t.out.to_str().unwrap())
            })
            .collect()
    }

    /// What the trial's command writes to, as compared (with the `install_id` and `credential`
    /// a registry hands out anew to every install masked).
    fn state(&self, t: &Trial) -> BTreeMap<String, Vec<u8>> {
        let snap = if self.writes_out {
            snapshot(&t.out)
        } else {
            snapshot(&t.env)
        };
        snap.into_iter().map(|(k, bytes)| masked(k, bytes)).collect()
    }

    fn rlcm(&self, t: &Trial) -> Output {
        let a = self.args(t);
        rlcm_in(
            None,
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            &[("RLCM_NOW", NOW)],
        )
    }

    /// Runs the command under strace with `inject`, the trace of the traced calls in `log`.
    fn traced(&self, strace: &Path, t: &Trial, call: &str, inject: Option<&str>, log: &Path) -> Output {
        let mut cmd = Command::new(strace);
        cmd.args(["-f", "-qq", "-o"])
            .arg(log)
            .arg(format!("-etrace={call}"));
        if let Some(i) = inject {
            cmd.arg(format!("-einject={call}:{i}"));
        }
        cmd.arg(env!("CARGO_BIN_EXE_rlcm"))
            .args(self.args(t))
            .env("NO_COLOR", "1")
            .env("RLCM_USER", "tester")
            .env("RLCM_NOW", NOW);
        cmd.output().expect("run strace")
    }
}

/// A JSON file's `install_id` and `credential` values replaced by `MASKED`.
fn masked(path: String, bytes: Vec<u8>) -> (String, Vec<u8>) {
    fn mask(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "install_id" || k == "credential" {
                        *x = serde_json::Value::from("MASKED");
                    } else {
                        mask(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(mask),
            _ => {}
        }
    }
    if path.ends_with(".json")
        && bytes
            .windows(10)
            .any(|w| w == b"install_id" || w == b"credential")
        && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes)
    {
        mask(&mut v);
        return (path, serde_json::to_vec(&v).unwrap());
    }
    (path, bytes)
}

/// Calls of `call` in a strace log (one line each, `<unfinished ...>` included).
fn calls(log: &str, call: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.split_once(' ')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(&format!("{call}(")))
        })
        .count()
}

#[derive(Default, Debug)]
struct Tally {
    /// Trials whose fault was injected (strace reported it), by outcome.
    clean_error_before: usize,
    error_after_commit: usize,
    success_after: usize,
    killed_before: usize,
    killed_after: usize,
    /// Trials whose N-th call never came (threads count their calls apart).
    missed: usize,
    /// Trials whose fault hit the dynamic loader, before rlcm ran.
    loader: usize,
    /// Killed exports that left their temporary file (which the next export removed).
    temp_left: usize,
}

impl Tally {
    fn injected(&self) -> usize {
        self.clean_error_before
            + self.error_after_commit
            + self.success_after
            + self.killed_before
            + self.killed_after
    }
}

/// Runs every trial of `s`; returns the tally.
fn run_trials(s: &Scenario, faults: &[(&str, &str)]) -> Tally {
    let mut tally = Tally::default();
    let Some(strace) = strace() else {
        eprintln!("{}: strace trials skipped (RLCM_SKIP_STRACE)", s.name);
        return tally;
    };
    // The reference: before and after, and how many calls of each kind the command makes.
    let reference = s.fresh();
    let before = s.state(&reference);
    let log = reference.out.parent().unwrap().join("trace.log");
    let mut counts = BTreeMap::new();
    {
        let out = s.traced(&strace, &reference, &WRITE_CALLS.join(","), None, &log);
        assert!(out.status.success(), "{}: {}", s.name, stderr(&out));
        let text = std::fs::read_to_string(&log).unwrap();
        for c in WRITE_CALLS {
            counts.insert(*c, calls(&text, c));
        }
    }
    let after = s.state(&reference);
    assert_ne!(before, after, "{}: the command changes nothing", s.name);
    let max = samples();
    for (call, fault) in faults {
        let count = counts[call];
        // `init --from` flushes each unpacked file (one alike per entry): those are sampled.
        let every = EVERY_ONE.contains(call) && !s.name.starts_with("init --from");
        let max = if every { None } else { max };
        for n in spread(count, max) {
            let t = s.fresh();
            let log = t.out.parent().unwrap().join("trace.log");
            let inject = format!("{fault}:when={n}");
            let what = format!("{}: {call} #{n} of {count} fails with {fault}", s.name);
            let out = s.traced(&strace, &t, call, Some(&inject), &log);
            let trace = std::fs::read_to_string(&log).unwrap_or_default();
            let hit = trace.contains("INJECTED") || trace.contains("killed by SIGKILL");
            let err = stderr(&out);
            if err.contains("error while loading shared libraries") {
                assert!(s.state(&t) == before, "{what}");
                tally.loader += 1;
                continue;
            }
            assert!(
                !err.contains("panicked") && out.status.code() != Some(101),
                "{what}: panic\n{err}"
            );
            let killed = fault.starts_with("signal=");
            // The next command recovers (and must find nothing wrong).
            let c = run(&["check", "--env", s.recovery_env(&t), "--format", "json"]);
            let report: serde_json::Value = serde_json::from_slice(&c.stdout)
                .unwrap_or_else(|e| panic!("{what}: check: {e}: {}", stderr(&c)));
            let errors: Vec<_> = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["severity"] == "error")
                .collect();
            assert!(errors.is_empty(), "{what}: check after it: {errors:#?}");
            let mut now = s.state(&t);
            if killed && s.writes_out {
                // A killed export can leave its locked temporary file (no process is left to
                // remove it), and nothing else: the next export to that folder removes it.
                let mut without = now.clone();
                without.retain(|p, _| !(p.starts_with(".rlcm-package-") && p.ends_with(".tmp")));
                assert!(
                    now.len() - without.len() <= 1 && (without == before || without == after),
                    "{what}: the destination holds more than the zip or one temporary: {:?}",
                    now.keys().collect::<Vec<_>>()
                );
                if without.len() != now.len() {
                    tally.temp_left += 1;
                    // Another export to the same folder sweeps it.
                    let other = s.args(&t);
                    let other: Vec<String> = other
                        .into_iter()
                        .map(|a| a.replace("all.zip", "other.zip"))
                        .collect();
                    let o = rlcm_in(
                        None,
                        &other.iter().map(String::as_str).collect::<Vec<_>>(),
                        &[("RLCM_NOW", NOW)],
                    );
                    ok(&o);
                    std::fs::remove_file(t.out.join("other.zip")).unwrap();
                    now = s.state(&t);
                    assert!(
                        now == without,
                        "{what}: the next export left the killed one's temporary: {:?}",
                        now.keys().collect::<Vec<_>>()
                    );
                }
            }
            let is_before = now == before;
            let is_after = now == after;
            let differ = |other: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
                now.keys()
                    .chain(other.keys())
                    .filter(|p| now.get(*p) != other.get(*p))
                    .take(5)
                    .cloned()
                    .collect()
            };
            assert!(
                is_before || is_after,
                "{what}: neither before nor after (exit {:?}; differs from before in {:?}, from after in {:?})\n{err}",
                out.status,
                differ(&before),
                differ(&after)
            );
            if !hit {
                assert!(
                    out.status.success(),
                    "{what}: not injected, yet it failed ({:?}): {err}\n{trace}",
                    out.status
                );
                tally.missed += 1;
                continue;
            }
            if killed {
                if is_before {
                    tally.killed_before += 1;
                } else {
                    tally.killed_after += 1;
                }
            } else if out.status.success() {
                assert!(is_after, "{what}: exit 0 but the change is not there");
                tally.success_after += 1;
            } else {
                assert_eq!(out.status.code(), Some(1), "{what}: {err}");
                let cause = if fault.contains("ENOSPC") {
                    "No space left on device"
                } else {
                    "Input/output error"
                };
                // A fault on stderr itself leaves nothing to read: then it must be quiet.
                assert!(
                    err.trim().is_empty() || err.contains(cause),
                    "{what}: the message does not give the cause:\n{err}"
                );
                if is_after {
                    // A transaction says that what failed is committed (init and export have none: their
                    // last step, flushing the folder after the rename, failed).
                    assert!(
                        err.trim().is_empty()
                            || err.contains("is committed")
                            || err.contains("the report to standard output")
                            || s.name.starts_with("init")
                            || s.name == "export -o",
                        "{what}: after the commit point, the message does not say the change is made (differs from before in {:?}):\n{err}",
                        differ(&before)
                    );
                    tally.error_after_commit += 1;
                } else {
                    tally.clean_error_before += 1;
                }
            }
            if is_before {
                // Once the fault is gone, the same command succeeds.
                let again = s.rlcm(&t);
                assert!(
                    again.status.success(),
                    "{what}: then without the fault: {}",
                    stderr(&again)
                );
                assert!(
                    s.state(&t) == after,
                    "{what}: then without the fault: not as after"
                );
            }
        }
    }
    eprintln!(
        "{}: {} trials with the fault injected ({} errors leaving it before, {} errors after the commit point leaving it after, {} successes, {} kills before, {} kills after, {} temporaries swept by the next export), {} whose call never came, {} in the dynamic loader; calls: {counts:?}",
        s.name,
        tally.injected(),
        tally.clean_error_before,
        tally.error_after_commit,
        tally.success_after,
        tally.killed_before,
        tally.killed_after,
        tally.temp_left,
        tally.missed,
        tally.loader
    );
    tally
}

impl Scenario {
    /// The environment `check` recovers after a trial (the source for `export -o`).
    fn recovery_env<'a>(&self, t: &'a Trial) -> &'a str {
        t.env.to_str().unwrap()
    }
}

/// A generated sandbox and production (small), initialised, and the sandbox's whole export.
struct Fixture {
    dir: tempfile::TempDir,
    sb: PathBuf,
    prod: PathBuf,
    pkg: PathBuf,
}

fn generate(out: &Path, extra: &[&str]) {
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_env.py");
    let st = Command::new("python3")
        .arg(&generator)
        .args(["--out", out.to_str().unwrap(), "--recipes", "12"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (sb, prod) = (dir.path().join("sb"), dir.path().join("prod"));
    generate(&sb, &[]);
    generate(
        &prod,
        &["--env-id", "2200000002", "--drift", "0.3", "--extra", "3"],
    );
    ok(&run(&["init", sb.to_str().unwrap(), "--id", "1100000001"]));
    ok(&run(&["init", prod.to_str().unwrap(), "--id", "2200000002"]));
    let pkg = dir.path().join("all.zip");
    ok(&run(&[
        "export",
        "--env",
        sb.to_str().unwrap(),
        "--folder",
        "",
        "-o",
        pkg.to_str().unwrap(),
    ]));
    Fixture { dir, sb, prod, pkg }
}

impl Fixture {
    /// A copy of production named `name`, changed by `f`.
    fn variant(&self, name: &str, f: impl FnOnce(&Path)) -> PathBuf {
        let p = self.dir.path().join(name);
        copy_tree(&self.prod, &p);
        f(&p);
        p
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Every fault of the issue on every write-side call: ENOSPC and EIO.
fn error_faults() -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    for c in WRITE_CALLS {
        v.push((*c, "error=ENOSPC"));
        v.push((*c, "error=EIO"));
    }
    v
}

/// SIGKILL at the calls that order a commit: every flush and rename (each one: there are few),
/// and spread over the links, removals and new folders.
fn kill_faults() -> Vec<(&'static str, &'static str)> {
    [
        "fsync", "syncfs", "rename", "renameat", "linkat", "unlink", "unlinkat", "mkdir",
    ]
    .into_iter()
    .map(|c| (c, "signal=KILL"))
    .collect()
}

/// The calls whose every instance is tried, whatever `RLCM_FAULT_SAMPLES` says: the flushes and
/// renames that order a commit (a handful per command).
const EVERY_ONE: &[&str] = &["fsync", "fdatasync", "syncfs", "renameat", "renameat2"];

/// Both: every failing write and every kill.
fn errors_and_kills() -> Vec<(&'static str, &'static str)> {
    let mut v = error_faults();
    v.extend(kill_faults());
    v
}

fn check_tally(name: &str, t: &Tally) {
    assert!(
        t.injected() >= 10,
        "{name}: only {} trials hit their fault: {t:?}",
        t.injected()
    );
}

/// The regression test of the intermittent `external_sigkill_at_spread_instants_of_a_large_import`
/// failure: a SIGKILL during the journal's fsync left `.rlcm/.rlcm-tmp-*` (the journal was
/// written next to its final place), which no recovery removed. Killing at every flush and
/// rename of an import, deterministically, found it.
#[test]
fn import_killed_at_every_flush_and_rename_recovers_to_before_or_after() {
    let f = fixture();
    let s = Scenario {
        name: "import (SIGKILL)",
        base: f.prod.clone(),
        args: strs(&[
            "import",
            f.pkg.to_str().unwrap(),
            "--env",
            "ENV",
            "--force",
            "--restart-recipes",
        ]),
        writes_out: false,
    };
    let t = run_trials(&s, &kill_faults());
    check_tally(s.name, &t);
    assert!(t.killed_before > 0 && t.killed_after > 0, "{t:?}");
}

#[test]
fn import_with_failing_writes() {
    let f = fixture();
    let s = Scenario {
        name: "import",
        base: f.prod.clone(),
        args: strs(&[
            "import",
            f.pkg.to_str().unwrap(),
            "--env",
            "ENV",
            "--force",
            "--restart-recipes",
        ]),
        writes_out: false,
    };
    check_tally(s.name, &run_trials(&s, &error_faults()));
}

#[test]
fn rollback_with_failing_writes_and_kills() {
    let f = fixture();
    let pkg = f.pkg.to_str().unwrap().to_string();
    let base = f.variant("imported", |p| {
        ok(&run(&[
            "import",
            &pkg,
            "--env",
            p.to_str().unwrap(),
            "--force",
            "--restart-recipes",
        ]));
    });
    let s = Scenario {
        name: "rollback",
        base,
        args: strs(&["rollback", "--env", "ENV"]),
        writes_out: false,
    };
    let mut faults = error_faults();
    faults.extend(kill_faults());
    check_tally(s.name, &run_trials(&s, &faults));
}

#[test]
fn connector_commit_release_restore_with_failing_writes_and_kills() {
    let f = fixture();
    let edited = f.variant("edited", |p| {
        let rb = p.join("service_0_api.custom_adapter.rb");
        let code = std::fs::read_to_string(&rb).unwrap();
        std::fs::write(&rb, format!("# edited in the UI\n{code}")).unwrap();
    });
    for (name, args) in [
        (
            "connector commit",
            strs(&[
                "connector",
                "commit",
                "Service 0 API",
                "--note",
                "n",
                "--env",
                "ENV",
            ]),
        ),
        (
            "connector release",
            strs(&["connector", "release", "Service 0 API", "--env", "ENV"]),
        ),
    ] {
        let s = Scenario {
            name,
            base: edited.clone(),
            args,
            writes_out: false,
        };
        check_tally(name, &run_trials(&s, &errors_and_kills()));
    }
    let committed = f.variant("committed", |p| {
        copy_tree(&edited, p);
        ok(&run(&[
            "connector",
            "commit",
            "Service 0 API",
            "--note",
            "n",
            "--env",
            p.to_str().unwrap(),
        ]));
    });
    let s = Scenario {
        name: "connector restore",
        base: committed,
        args: strs(&["connector", "restore", "Service 0 API", "2", "--env", "ENV"]),
        writes_out: false,
    };
    check_tally(s.name, &run_trials(&s, &errors_and_kills()));
}

#[test]
fn recipe_start_stop_with_failing_writes_and_kills() {
    let f = fixture();
    let started = f.variant("started", |p| {
        ok(&run(&["recipe", "start", "--all", "--env", p.to_str().unwrap()]));
    });
    for (name, base, args) in [
        (
            "recipe start",
            f.prod.clone(),
            strs(&["recipe", "start", "--all", "--env", "ENV"]),
        ),
        (
            "recipe stop",
            started,
            strs(&["recipe", "stop", "--all", "--env", "ENV"]),
        ),
    ] {
        let s = Scenario {
            name,
            base,
            args,
            writes_out: false,
        };
        check_tally(name, &run_trials(&s, &errors_and_kills()));
    }
}

#[test]
fn init_and_export_with_failing_writes_and_kills() {
    let f = fixture();
    let plain = f.dir.path().join("plain");
    generate(&plain, &[]);
    let s = Scenario {
        name: "init",
        base: plain,
        args: strs(&["init", "ENV", "--id", "3300000003"]),
        writes_out: false,
    };
    check_tally(s.name, &run_trials(&s, &errors_and_kills()));
    let s = Scenario {
        name: "export -o",
        base: f.sb.clone(),
        args: strs(&["export", "--env", "ENV", "--folder", "", "-o", "OUT/all.zip"]),
        writes_out: true,
    };
    check_tally(s.name, &run_trials(&s, &error_faults()));
}

/// A SIGKILL leaves the zip's temporary file in the destination folder (no process is left to
/// remove it); the next export to that folder removes it, and never a live export's.
#[test]
fn export_killed_leaves_at_most_a_temporary_that_the_next_export_removes() {
    let f = fixture();
    let s = Scenario {
        name: "export -o (SIGKILL)",
        base: f.sb.clone(),
        args: strs(&["export", "--env", "ENV", "--folder", "", "-o", "OUT/all.zip"]),
        writes_out: true,
    };
    let faults: Vec<_> = ["write", "fsync", "renameat", "unlinkat", "openat"]
        .into_iter()
        .map(|c| (c, "signal=KILL"))
        .collect();
    let t = run_trials(&s, &faults);
    // An export makes few write-side calls besides its reads (`openat`): fewer trials.
    assert!(t.injected() >= 6, "{}: {t:?}", s.name);
    assert!(t.temp_left > 0, "no kill left a temporary to sweep: {t:?}");
}

#[test]
fn init_from_package_with_failing_writes_and_kills() {
    let f = fixture();
    let empty = f.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let s = Scenario {
        name: "init --from",
        base: empty,
        args: strs(&[
            "init",
            "ENV",
            "--from",
            f.pkg.to_str().unwrap(),
            "--id",
            "3300000003",
        ]),
        writes_out: false,
    };
    check_tally(s.name, &run_trials(&s, &errors_and_kills()));
}

#[test]
fn connector_share_local_with_failing_writes_and_kills() {
    let f = fixture();
    let s = Scenario {
        name: "connector share",
        base: f.sb.clone(),
        args: strs(&["connector", "share", "Service 1 API", "--env", "ENV"]),
        writes_out: false,
    };
    check_tally(s.name, &run_trials(&s, &errors_and_kills()));
}

/// Runs rlcm as the publisher `alice` (her registry `hub` configured in `config`).
fn as_alice(config: &Path, token: &str, args: &[&str]) -> String {
    ok(&rlcm_in(
        None,
        args,
        &[
            ("RLCM_CONFIG_DIR", config.to_str().unwrap()),
            ("RLCM_REGISTRY_TOKEN_HUB", token),
            ("RLCM_NOW", NOW),
        ],
    ))
}

/// `connector install` from a link and `connector update` from a registry on loopback.
#[test]
fn connector_install_and_update_from_a_registry_with_failing_writes_and_kills() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("registry");
    let token = add_publisher(&data, "alice");
    let server = RegistryServer::start(&data, &[]);
    let config = dir.path().join("config-alice");
    ok(&rlcm_in(
        None,
        &["registry", "add", "hub", "--url", &server.url],
        &[("RLCM_CONFIG_DIR", config.to_str().unwrap())],
    ));
    let a = env_copy(dir.path(), "production", "2200000002");
    let ae = a.to_str().unwrap();
    as_alice(
        &config,
        &token,
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    let out = as_alice(
        &config,
        &token,
        &[
            "connector",
            "link",
            "create",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
        ],
    );
    let link = out.lines().last().unwrap().trim().to_string();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    let b = env_copy(&dir.path().join("b"), "sandbox", "1100000002");
    let s = Scenario {
        name: "connector install",
        base: b.clone(),
        args: strs(&[
            "connector",
            "install",
            &link,
            "--env",
            "ENV",
            "--as",
            "Acme Partner",
        ]),
        writes_out: false,
    };
    check_tally(s.name, &run_trials(&s, &errors_and_kills()));
    // Installed, then the parent shares a newer version.
    let be = b.to_str().unwrap();
    ok(&run(&[
        "connector",
        "install",
        &link,
        "--env",
        be,
        "--as",
        "Acme Partner",
    ]));
    let rb = a.join("acme_crm.custom_adapter.rb");
    let code = std::fs::read_to_string(&rb).unwrap();
    std::fs::write(&rb, format!("# a newer version\n{code}")).unwrap();
    as_alice(
        &config,
        &token,
        &["connector", "commit", "Acme CRM", "--note", "n", "--env", ae],
    );
    as_alice(
        &config,
        &token,
        &["connector", "release", "Acme CRM", "--env", ae],
    );
    as_alice(
        &config,
        &token,
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    let s = Scenario {
        name: "connector update",
        base: b,
        args: strs(&["connector", "update", "Acme Partner", "--env", "ENV"]),
        writes_out: false,
    };
    check_tally(s.name, &run_trials(&s, &errors_and_kills()));
}
