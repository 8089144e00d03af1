//! Readers during writes (issue 14, part 5): every reader (`inspect`, `plan`, `check`,
//! `connector list`, `impact`) overlapping an import sees the environment before or after it,
//! never a mix. Many readers are started at staggered moments while a 2,000-recipe import
//! runs, updating 2,000 recipes production already has (bounded: a fixed number of rounds and
//! readers, and a watchdog that kills what still runs after 10 minutes).

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const RECIPES: usize = 2000;

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rlcm"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("RLCM_USER", "tester")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A reader whose output is drained as it comes (a full pipe would stall it); killed by the
/// watchdog if it outlives the deadline.
struct Reader {
    kind: &'static str,
    output: std::thread::JoinHandle<std::process::Output>,
}

fn reader(kind: &'static str, args: &[&str], pids: &std::sync::Mutex<Vec<u32>>) -> Reader {
    let child = spawn(args);
    pids.lock().unwrap().push(child.id());
    Reader {
        kind,
        output: std::thread::spawn(move || child.wait_with_output().unwrap()),
    }
}

/// What a reader saw: `before`, `after`, or a description of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Before,
    After,
    Mix,
}

fn bulk_recipes(v: &serde_json::Value) -> usize {
    v["assets"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["path"].as_str().is_some_and(|p| p.starts_with("bulk/")))
                .count()
        })
        .unwrap_or(0)
}

/// Reads a reader's output; `kind` says which reader it was.
fn judge(kind: &str, out: &std::process::Output, recipes: usize) -> Seen {
    assert!(
        out.status.code() == Some(0),
        "{kind} failed ({:?}): {}",
        out.status.code(),
        stderr(out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{kind}: not JSON ({e}): {}", stdout(out)));
    match kind {
        "inspect" => {
            // The import makes every bulk recipe one byte longer.
            let sizes: Vec<u64> = v["assets"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["path"].as_str().is_some_and(|p| p.starts_with("bulk/")))
                .map(|x| x["size"].as_u64().unwrap())
                .collect();
            assert_eq!(sizes.len(), recipes);
            // All one size is a whole state (which one, the plan readers tell); both sizes
            // at once is a mix.
            if sizes.iter().all(|s| *s == sizes[0]) {
                Seen::Before
            } else {
                Seen::Mix
            }
        }
        "plan" => {
            let actions = v["actions"].as_array().unwrap();
            let bulk: Vec<&str> = actions
                .iter()
                .filter(|a| {
                    a["target"]
                        .as_str()
                        .or(a["path"].as_str())
                        .is_some_and(|p| p.starts_with("bulk/"))
                })
                .map(|a| a["action"].as_str().unwrap())
                .collect();
            assert_eq!(
                bulk.len(),
                recipes,
                "plan lists every bulk recipe: {}",
                stdout(out)
            );
            if bulk.iter().all(|a| *a == "update") {
                Seen::Before
            } else if bulk.iter().all(|a| *a == "no_change") {
                Seen::After
            } else {
                Seen::Mix
            }
        }
        "check" => {
            let errors = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["severity"] == "error")
                .count();
            if errors == 0 { Seen::After } else { Seen::Mix }
        }
        _ => unreachable!(),
    }
}

#[test]
fn readers_overlapping_an_import_see_before_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("sandbox");
    copy_tree(&testdata("sandbox"), &sandbox);
    // 2,000 recipes that call nothing, each with some weight (so reading them takes a while).
    let filler = "x".repeat(2000);
    for i in 0..RECIPES {
        let p = sandbox.join(format!("bulk/part{}/r{i:05}.recipe.json", i % 20));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            format!(
                r#"{{"name": "Bulk {i:05}", "description": "{filler}", "code": {{"number": 0, "keyword": "trigger", "provider": "clock", "name": "scheduled_event", "block": []}}}}"#
            ),
        )
        .unwrap();
    }
    ok(&run(&["init", sandbox.to_str().unwrap(), "--id", "1100000001"]));
    let pkg = dir.path().join("bulk.zip");
    ok(&run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--folder",
        "bulk",
        "-o",
        pkg.to_str().unwrap(),
    ]));
    // Production holds the same 2,000 recipes, one byte shorter: the import updates each, so
    // a reader reading while its renames run would see some old and some new.
    let prod = dir.path().join("production");
    copy_tree(&testdata("production"), &prod);
    for i in 0..RECIPES {
        let p = prod.join(format!("bulk/part{}/r{i:05}.recipe.json", i % 20));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            format!(
                r#"{{"name": "Bulk {i:05}", "description": "{}", "code": {{"number": 0, "keyword": "trigger", "provider": "clock", "name": "scheduled_event", "block": []}}}}"#,
                &filler[1..]
            ),
        )
        .unwrap();
    }
    ok(&run(&["init", prod.to_str().unwrap(), "--id", "2200000002"]));
    let p = prod.to_str().unwrap();
    let k = pkg.to_str().unwrap();
    let readers: [(&'static str, Vec<&str>); 3] = [
        ("inspect", vec!["inspect", p, "--all", "--format", "json"]),
        ("plan", vec!["plan", k, "--env", p, "--format", "json"]),
        ("check", vec!["check", "--env", p, "--format", "json"]),
    ];
    let quiet: [Vec<&str>; 2] = [
        vec!["connector", "list", "--env", p, "--format", "json"],
        vec!["impact", "Acme CRM", "--env", p, "--format", "json"],
    ];
    // How long one import takes here, to spread the readers over it.
    let t0 = Instant::now();
    ok(&run(&["import", k, "--env", p]));
    let import_time = t0.elapsed();
    ok(&run(&["rollback", "--env", p]));
    let step = (import_time / 12).max(Duration::from_millis(5));
    let mut seen = std::collections::BTreeMap::<(&str, &str), usize>::new();
    let mut mixes = Vec::new();
    let rounds = 3;
    let pids = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The watchdog: whatever still runs 10 minutes from now is killed (the test then fails).
    let watchdog = {
        let (pids, stop) = (pids.clone(), stop.clone());
        std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(600);
            while Instant::now() < end {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            for pid in pids.lock().unwrap().iter() {
                // SAFETY: kill(2) with a pid this test spawned.
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
            }
        })
    };
    for round in 0..rounds {
        // Readers started just before the import, and then while it runs.
        let mut running: Vec<Reader> = Vec::new();
        for (kind, args) in &readers {
            running.push(reader(kind, args, &pids));
        }
        let import = reader("import", &["import", k, "--env", p, "--wait"], &pids);
        let mut n = 0;
        while n < 16 {
            std::thread::sleep(step);
            let (kind, args) = &readers[n % readers.len()];
            running.push(reader(kind, args, &pids));
            if n % 4 == 0 {
                running.push(reader("quiet", &quiet[n / 4 % 2], &pids));
            }
            n += 1;
        }
        let out = import.output.join().unwrap();
        assert!(out.status.success(), "import: {}", stderr(&out));
        for r in running {
            let kind = r.kind;
            let out = r.output.join().unwrap();
            if kind == "quiet" {
                assert!(out.status.success(), "{kind}: {}", stderr(&out));
                continue;
            }
            let s = judge(kind, &out, RECIPES);
            let label = match s {
                Seen::Before if kind == "inspect" => "whole",
                Seen::Before => "before",
                Seen::After => "after",
                Seen::Mix => "MIX",
            };
            *seen.entry((kind, label)).or_default() += 1;
            if s == Seen::Mix {
                mixes.push(format!("round {round}: {kind}"));
            }
        }
        ok(&run(&["check", "--env", p]));
        ok(&run(&["rollback", "--env", p]));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    watchdog.join().unwrap();
    eprintln!("import of {RECIPES} recipes: {import_time:?}; readers saw {seen:?}");
    assert!(
        mixes.is_empty(),
        "readers saw a mix of before and after: {mixes:?} (all: {seen:?})"
    );
    check_sanity(&prod);
}

/// After the last rollback the environment is as before the first import.
fn check_sanity(prod: &Path) {
    let out = run(&["inspect", prod.to_str().unwrap(), "--all", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bulk_recipes(&v), RECIPES);
}

/// A sandbox and a production of `n` bulk recipes (production's one byte shorter, so an import
/// of the sandbox's `bulk/` updates each), initialised, and the package.
fn bulk_pair(dir: &Path, n: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    let filler = "x".repeat(2000);
    // The name differs too: `inspect` reports sizes from the folder listing, but names from
    // what it read.
    let write = |root: &Path, description: &str, version: &str| {
        for i in 0..n {
            let p = root.join(format!("bulk/part{}/r{i:05}.recipe.json", i % 20));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(
                &p,
                format!(
                    r#"{{"name": "Bulk {i:05} {version}", "description": "{description}", "code": {{"number": 0, "keyword": "trigger", "provider": "clock", "name": "scheduled_event", "block": []}}}}"#
                ),
            )
            .unwrap();
        }
    };
    let sandbox = dir.join("sandbox");
    copy_tree(&testdata("sandbox"), &sandbox);
    write(&sandbox, &filler, "v2");
    ok(&run(&["init", sandbox.to_str().unwrap(), "--id", "1100000001"]));
    let pkg = dir.join("bulk.zip");
    ok(&run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--folder",
        "bulk",
        "-o",
        pkg.to_str().unwrap(),
    ]));
    let prod = dir.join("production");
    copy_tree(&testdata("production"), &prod);
    write(&prod, &filler[1..], "v1");
    ok(&run(&["init", prod.to_str().unwrap(), "--id", "2200000002"]));
    (prod, pkg)
}

/// The race of the issue made deterministic: a `plan` reader is held (`RLCM_PAUSE_AT_READ`,
/// one reading thread) after its 20th tree file of 200 while a whole import runs, then reads
/// the other 180. Without the read lock the import's renames all happen inside the pause, and
/// the reader sees 20 recipes before and 180 after (a mix: this test fails); with it, the
/// import's commit waits for the reader, which sees everything before, and the import then
/// finishes. Run for each reader kind that reads the tree.
#[test]
fn a_reader_held_mid_read_never_sees_an_import_land() {
    const N: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let (prod, pkg) = bulk_pair(dir.path(), N);
    let (p, k) = (prod.to_str().unwrap(), pkg.to_str().unwrap());
    let t0 = Instant::now();
    ok(&run(&["import", k, "--env", p]));
    // Long enough for an import that nothing holds back to finish, several times over.
    let patience = (t0.elapsed() * 4).max(Duration::from_secs(3));
    ok(&run(&["rollback", "--env", p]));
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (kind, args) in [
        ("plan", vec!["plan", k, "--env", p, "--format", "json"]),
        ("inspect", vec!["inspect", p, "--all", "--format", "json"]),
    ] {
        // Every file is read (none comes from the summary cache), so what the reader sees is
        // what is on disk when it reads it.
        let _ = std::fs::remove_dir_all(prod.join(".rlcm/cache"));
        let marker = dir.path().join(format!("{kind}.paused"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rlcm"));
        cmd.args(&args)
            .env("NO_COLOR", "1")
            .env("RAYON_NUM_THREADS", "1")
            .env("RLCM_PAUSE_AT_READ", format!("20:{}", marker.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        let reader = std::thread::spawn(move || child.wait_with_output().unwrap());
        let end = Instant::now() + Duration::from_secs(120);
        while !marker.exists() {
            assert!(Instant::now() < end, "{kind} never reached its 20th file");
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut import = spawn(&["import", k, "--env", p]);
        let end = Instant::now() + patience;
        let mut landed_during_pause = false;
        while Instant::now() < end {
            if import.try_wait().unwrap().is_some() {
                landed_during_pause = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::remove_file(&marker).unwrap();
        let out = reader.join().unwrap();
        let status = import.wait().unwrap();
        assert!(status.success(), "import");
        let tally = view_tally(kind, &out);
        let seen = match kind {
            // By the names it read (its sizes come from the folder listing).
            "inspect" if tally.len() > 1 => Seen::Mix,
            "inspect" if tally.get("v1") == Some(&N) => Seen::Before,
            "inspect" if tally.get("v2") == Some(&N) => Seen::After,
            "inspect" => panic!("inspect: {tally:?}"),
            _ => judge(kind, &out, N),
        };
        report.push(format!(
            "{kind}: {seen:?} {tally:?} (import landed during the pause: {landed_during_pause})"
        ));
        if seen == Seen::Mix || landed_during_pause || (kind == "plan" && seen != Seen::Before) {
            failures.push(report.last().unwrap().clone());
        }
        ok(&run(&["check", "--env", p]));
        ok(&run(&["rollback", "--env", p]));
    }
    eprintln!("{}", report.join("; "));
    // A mix of sizes or actions, or an import that finished while a reader was reading (so the
    // reader's files came from both sides, though `plan` re-reads the files it would change
    // and so may look whole): each a failure.
    assert!(
        failures.is_empty(),
        "readers held after 20 of {N} files saw the import land: {failures:?}"
    );
}

/// How many bulk recipes a reader saw with each action (`plan`) or size (`inspect`).
fn view_tally(kind: &str, out: &std::process::Output) -> std::collections::BTreeMap<String, usize> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut t = std::collections::BTreeMap::new();
    let (list, key, field) = if kind == "plan" {
        ("actions", "target", "action")
    } else {
        ("assets", "path", "name")
    };
    for a in v[list].as_array().into_iter().flatten() {
        let path = a[key].as_str().or(a["path"].as_str()).unwrap_or("");
        if path.starts_with("bulk/") {
            let value = a[field].as_str().map_or_else(
                || a[field].to_string(),
                |name| name.rsplit(' ').next().unwrap_or("").to_string(),
            );
            *t.entry(value).or_default() += 1;
        }
    }
    t
}
