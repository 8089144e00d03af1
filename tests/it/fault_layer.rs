//! Faults injected through rlcm's own fault layer (`fsutil::fault_point`, cargo feature
//! `test-hooks`, which `cargo test` turns on through the package's dev-dependency on itself):
//! every writing command is run once with `RLCM_FAULT_COUNT_LOG` to count its write-side file
//! operations (create, write, sync, rename, link, mkdir, remove), then with
//! `RLCM_FAULT=N:ENOSPC` and `RLCM_FAULT=N:EIO` for N over those operations. Each trial must end
//! with exit 0 and the environment exactly as after, or with exit 1, a message naming the file
//! of the failed operation and the cause, and the environment exactly as before (then the
//! same command succeeds) or, past the commit point, as after; `rlcm check` clean (see
//! `common::trials::judge`).
//!
//! Which N: every one for a command with at most [`CAP`] operations; for more, the commit
//! point and its neighbours, the first and the last, and values spread over the rest up to the
//! cap (see [`chosen`]); `RLCM_FAULT_LAYER=N` raises the cap, `RLCM_FAULT_LAYER=all` tries every
//! N. Unlike strace, the layer counts the operations of all threads together, so every chosen
//! N is hit (a run where it is not fails the test), and it needs no ptrace.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::trials::*;
use common::*;

/// Values of N tried per command and error, unless `RLCM_FAULT_LAYER` says otherwise.
const CAP: usize = 10;

/// One operation of a command, as the fault layer logged it.
struct LoggedOp {
    kind: String,
    fault: bool,
    path: PathBuf,
}

fn read_log(path: &Path) -> Vec<LoggedOp> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            let _n = parts.next()?;
            let kind = parts.next()?.to_string();
            let rest = parts.next()?;
            let (fault, path) = match rest.strip_prefix("FAULT ") {
                Some(p) => (true, p),
                None => (false, rest),
            };
            Some(LoggedOp {
                kind,
                fault,
                path: PathBuf::from(path),
            })
        })
        .collect()
}

/// The values of N tried for a command whose operations are `ops`: every one when there are
/// at most the cap ([`CAP`], or `RLCM_FAULT_LAYER=N`; `RLCM_FAULT_LAYER=all`: no cap); else
/// the commit (the rename onto `.rlcm/journal.json`) and the operations just before and after
/// it, the first and the last, then values spread evenly over the operations that order a
/// write (sync, rename, link, mkdir, remove) and over the creates and writes, up to the cap.
fn chosen(ops: &[LoggedOp]) -> Vec<usize> {
    let cap = match std::env::var("RLCM_FAULT_LAYER").ok().as_deref() {
        Some("all") => usize::MAX,
        Some(v) => v.parse().expect("RLCM_FAULT_LAYER is a number or `all`"),
        None => CAP,
    };
    let count = ops.len();
    if count <= cap {
        return (1..=count).collect();
    }
    let mut ns = BTreeSet::from([1, count]);
    for (i, o) in ops.iter().enumerate() {
        if o.kind == "rename" && o.path.to_string_lossy().ends_with(".rlcm/journal.json") {
            ns.extend(
                [i, i + 1, i + 2]
                    .into_iter()
                    .filter(|&n| (1..=count).contains(&n)),
            );
        }
    }
    let ordering: Vec<usize> = (1..=count)
        .filter(|&n| !matches!(ops[n - 1].kind.as_str(), "create" | "write"))
        .collect();
    let bulk: Vec<usize> = (1..=count)
        .filter(|&n| matches!(ops[n - 1].kind.as_str(), "create" | "write"))
        .collect();
    // Two thirds of what is left for the ordering operations, the rest for the bulk.
    let left = cap.saturating_sub(ns.len());
    let for_ordering = (left * 2).div_ceil(3);
    for (pool, k) in [(&ordering, for_ordering), (&bulk, left - for_ordering.min(left))] {
        let k = k.min(pool.len());
        for j in 0..k {
            ns.insert(pool[j * pool.len() / k + pool.len() / (2 * k)]);
        }
    }
    ns.into_iter().collect()
}

/// Runs every trial of `s` with both errors; returns the tally.
fn run_layer_trials(s: &Scenario) -> Tally {
    let mut tally = Tally::default();
    let reference = s.fresh();
    let before = s.state(&reference);
    let log = reference.side("ops.log");
    let out = s.rlcm_with(&reference, &[("RLCM_FAULT_COUNT_LOG", log.to_str().unwrap())]);
    assert!(out.status.success(), "{}: {}", s.name, stderr(&out));
    let ops = read_log(&log);
    let after = s.state(&reference);
    assert_ne!(before, after, "{}: the command changes nothing", s.name);
    assert!(
        !ops.is_empty(),
        "{}: no operation went through the fault layer",
        s.name
    );
    let ns = chosen(&ops);
    for (errno, cause) in [
        ("ENOSPC", "No space left on device"),
        ("EIO", "Input/output error"),
    ] {
        for &n in &ns {
            let t = s.fresh();
            let log = t.side("ops.log");
            let fault = format!("{n}:{errno}");
            let out = s.rlcm_with(
                &t,
                &[
                    ("RLCM_FAULT", &fault),
                    ("RLCM_FAULT_COUNT_LOG", log.to_str().unwrap()),
                ],
            );
            let logged = read_log(&log);
            let failed = logged.iter().find(|o| o.fault);
            let what = format!(
                "{}: operation #{n} of {} ({}) fails with {errno}",
                s.name,
                ops.len(),
                failed
                    .map(|o| format!("{} {}", o.kind, o.path.display()))
                    .unwrap_or_else(|| "never came".into())
            );
            // The layer counts every thread's operations together: the N-th always comes.
            assert!(
                failed.is_some(),
                "{what}: the run made only {} operations",
                logged.len()
            );
            let injected = Injected {
                hit: true,
                killed: false,
                cause,
                file: failed.map(|o| o.path.as_path()),
            };
            // Injected::file of a rename or link is `FROM -> TO`: either may be named.
            judge(s, &t, &out, &before, &after, &injected, &what, &mut tally);
        }
    }
    eprintln!(
        "{}: {} operations, {} of them tried with ENOSPC and EIO: {}",
        s.name,
        ops.len(),
        ns.len(),
        tally.summary()
    );
    assert_eq!(tally.injected(), 2 * ns.len(), "{}: {tally:?}", s.name);
    tally
}

fn env_scenario(name: &'static str, base: PathBuf, args: &[&str]) -> Scenario {
    Scenario::new(name, base, strs(args), Writes::Env)
}

#[test]
fn init_and_init_from_with_failing_operations() {
    let f = fixture();
    let plain = f.dir.path().join("plain");
    generate(&plain, &[]);
    run_layer_trials(&env_scenario(
        "init",
        plain,
        &["init", "ENV", "--id", "3300000003"],
    ));
    let empty = f.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    run_layer_trials(&env_scenario(
        "init --from",
        empty,
        &[
            "init",
            "ENV",
            "--from",
            f.pkg.to_str().unwrap(),
            "--id",
            "3300000003",
        ],
    ));
}

#[test]
fn import_rollback_and_export_with_failing_operations() {
    let f = fixture();
    let pkg = f.pkg.to_str().unwrap().to_string();
    let import = [
        "import",
        pkg.as_str(),
        "--env",
        "ENV",
        "--force",
        "--restart-recipes",
    ];
    run_layer_trials(&env_scenario("import", f.prod.clone(), &import));
    let imported = f.variant("imported", |p| {
        let args: Vec<&str> = import
            .iter()
            .map(|a| if *a == "ENV" { p.to_str().unwrap() } else { *a })
            .collect();
        ok(&run(&args));
    });
    run_layer_trials(&env_scenario("rollback", imported, &["rollback", "--env", "ENV"]));
    run_layer_trials(&Scenario::new(
        "export -o",
        f.sb.clone(),
        strs(&["export", "--env", "ENV", "--folder", "", "-o", "OUT/all.zip"]),
        Writes::Out,
    ));
}

#[test]
fn connector_commit_release_restore_share_with_failing_operations() {
    let f = fixture();
    let edited = f.variant("edited", |p| {
        let rb = p.join("service_0_api.custom_adapter.rb");
        let code = std::fs::read_to_string(&rb).unwrap();
        std::fs::write(&rb, format!("# edited in the UI\n{code}")).unwrap();
    });
    run_layer_trials(&env_scenario(
        "connector commit",
        edited.clone(),
        &[
            "connector",
            "commit",
            "Service 0 API",
            "--note",
            "n",
            "--env",
            "ENV",
        ],
    ));
    run_layer_trials(&env_scenario(
        "connector release",
        edited.clone(),
        &["connector", "release", "Service 0 API", "--env", "ENV"],
    ));
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
    run_layer_trials(&env_scenario(
        "connector restore",
        committed,
        &["connector", "restore", "Service 0 API", "2", "--env", "ENV"],
    ));
    run_layer_trials(&env_scenario(
        "connector share",
        f.sb.clone(),
        &["connector", "share", "Service 1 API", "--env", "ENV"],
    ));
}

#[test]
fn recipe_start_stop_with_failing_operations() {
    let f = fixture();
    let started = f.variant("started", |p| {
        ok(&run(&["recipe", "start", "--all", "--env", p.to_str().unwrap()]));
    });
    run_layer_trials(&env_scenario(
        "recipe start",
        f.prod.clone(),
        &["recipe", "start", "--all", "--env", "ENV"],
    ));
    run_layer_trials(&env_scenario(
        "recipe stop",
        started,
        &["recipe", "stop", "--all", "--env", "ENV"],
    ));
}

#[test]
fn connector_install_and_update_with_failing_operations() {
    let w = registry_world();
    run_layer_trials(&w.install);
    run_layer_trials(&w.update);
}

#[test]
fn pull_into_a_mirror_with_failing_operations() {
    let w = pull_world();
    run_layer_trials(&w.pull);
}
