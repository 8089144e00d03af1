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

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::trials::*;
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

/// Runs the command under strace with `inject`, the trace of the traced calls in `log`.
fn traced(s: &Scenario, strace: &Path, t: &Trial, call: &str, inject: Option<&str>, log: &Path) -> Output {
    let mut wargs = vec![
        "-f".to_string(),
        "-qq".to_string(),
        "-o".to_string(),
        log.to_str().unwrap().to_string(),
        format!("-etrace={call}"),
    ];
    if let Some(i) = inject {
        wargs.push(format!("-einject={call}:{i}"));
    }
    s.wrapped(t, strace, &wargs).output().expect("run strace")
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
        let out = traced(s, &strace, &reference, &WRITE_CALLS.join(","), None, &log);
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
        // `init --from` flushes each unpacked file (one alike per entry), and a pull each state
        // file of the mirror it builds (28, before the rename that publishes it): those are
        // sampled.
        let every = EVERY_ONE.contains(call)
            && !s.name.starts_with("init --from")
            && !(s.name.starts_with("pull") && *call == "fsync");
        let max = if every { None } else { max };
        for n in spread(count, max) {
            let t = s.fresh();
            let log = t.out.parent().unwrap().join("trace.log");
            let inject = format!("{fault}:when={n}");
            let what = format!("{}: {call} #{n} of {count} fails with {fault}", s.name);
            let out = traced(s, &strace, &t, call, Some(&inject), &log);
            let trace = std::fs::read_to_string(&log).unwrap_or_default();
            let hit = trace.contains("INJECTED") || trace.contains("killed by SIGKILL");
            if stderr(&out).contains("error while loading shared libraries") {
                assert!(s.state(&t) == before, "{what}");
                tally.loader += 1;
                continue;
            }
            let cause = if fault.contains("ENOSPC") {
                "No space left on device"
            } else {
                "Input/output error"
            };
            let injected = Injected {
                hit,
                killed: fault.starts_with("signal="),
                cause,
                file: None,
            };
            judge(s, &t, &out, &before, &after, &injected, &what, &mut tally);
        }
    }
    eprintln!("{}: {}; calls: {counts:?}", s.name, tally.summary());
    tally
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
        writes: Writes::Env,
        envs: Vec::new(),
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
        writes: Writes::Env,
        envs: Vec::new(),
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
        writes: Writes::Env,
        envs: Vec::new(),
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
            writes: Writes::Env,
            envs: Vec::new(),
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
        writes: Writes::Env,
        envs: Vec::new(),
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
            writes: Writes::Env,
            envs: Vec::new(),
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
        writes: Writes::Env,
        envs: Vec::new(),
    };
    check_tally(s.name, &run_trials(&s, &errors_and_kills()));
    let s = Scenario {
        name: "export -o",
        base: f.sb.clone(),
        args: strs(&["export", "--env", "ENV", "--folder", "", "-o", "OUT/all.zip"]),
        writes: Writes::Out,
        envs: Vec::new(),
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
        writes: Writes::Out,
        envs: Vec::new(),
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
        writes: Writes::Env,
        envs: Vec::new(),
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
        writes: Writes::Env,
        envs: Vec::new(),
    };
    check_tally(s.name, &run_trials(&s, &errors_and_kills()));
}

/// `connector install` from a link and `connector update` from a registry on loopback.
#[test]
fn connector_install_and_update_from_a_registry_with_failing_writes_and_kills() {
    let w = registry_world();
    for s in [&w.install, &w.update] {
        check_tally(s.name, &run_trials(s, &errors_and_kills()));
    }
}

/// `pull` into a mirror from an emulator on loopback: every write-side call of the pull fails
/// (ENOSPC, EIO) or is killed; the mirror is before or after, or moved aside as before (the
/// next pull puts it back).
#[test]
fn pull_into_a_mirror_with_failing_writes_and_kills() {
    let w = pull_world();
    check_tally(w.pull.name, &run_trials(&w.pull, &errors_and_kills()));
}
