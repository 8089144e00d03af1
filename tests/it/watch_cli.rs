//! `rlcm watch`: a watcher vouches for the production index between commands, so `impact` and
//! `connector check` answer without walking the tree (fewer `getdents64` calls, traced with
//! strace) — and every change made outside rlcm is still seen (the same JSON as without the
//! index, `RLCM_INDEX=off`, after each change). A killed watcher costs nothing but speed.

use crate::common;

use common::{copy_tree, rlcm_in, stderr, stdout, testdata};
use std::path::{Path, PathBuf};
use std::process::Command;

fn env_of(dir: &Path) -> PathBuf {
    let env = dir.join("production");
    copy_tree(&testdata("production"), &env);
    let out = rlcm_in(
        None,
        &["init", env.to_str().unwrap(), "--name", "production", "--id", "9"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    env
}

/// `rlcm watch ACTION --env ENV --format json`, parsed.
fn watch(env: &Path, action: &str) -> serde_json::Value {
    let out = rlcm_in(
        None,
        &[
            "watch",
            action,
            "--env",
            env.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    assert!(out.status.success(), "watch {action}: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    common::validate("watch", &v);
    v
}

/// `impact QUERY` as JSON, with `RLCM_INDEX` as given (`None`: unset, the default).
fn impact(env: &Path, query: &str, index: Option<&str>) -> String {
    let envs: Vec<(&str, &str)> = index.map(|m| ("RLCM_INDEX", m)).into_iter().collect();
    let out = rlcm_in(
        None,
        &[
            "impact",
            query,
            "--env",
            env.to_str().unwrap(),
            "--format",
            "json",
        ],
        &envs,
    );
    assert!(out.status.success(), "impact {query}: {}", stderr(&out));
    stdout(&out)
}

/// Stops the watcher when a test ends, passed or not.
struct Stopper(PathBuf);

impl Drop for Stopper {
    fn drop(&mut self) {
        let _ = rlcm_in(None, &["watch", "stop", "--env", self.0.to_str().unwrap()], &[]);
    }
}

/// Kills a watcher run by the test when the test ends.
struct Killer(std::process::Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn strace_works() -> bool {
    Command::new("strace")
        .args(["-f", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// The number of `getdents64` calls of `impact QUERY` (strace), RLCM_INDEX unset.
fn getdents(env: &Path, query: &str, dir: &Path) -> usize {
    let log = dir.join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-e", "trace=getdents64", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_rlcm"))
        .args(["impact", query, "--env"])
        .arg(env)
        .args(["--format", "json"])
        .env("NO_COLOR", "1")
        .env_remove("RLCM_INDEX")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("getdents64("))
        .count()
}

#[test]
fn a_watcher_vouches_for_the_index_and_impact_then_walks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path());
    let _stop = Stopper(env.clone());
    let folders = walkdir::WalkDir::new(&env)
        .into_iter()
        .filter(|e| e.as_ref().unwrap().file_type().is_dir())
        .count();
    let v = watch(&env, "status");
    assert_eq!(v["running"], false);
    let v = watch(&env, "start");
    assert_eq!(
        (v["action"].as_str(), v["running"].as_bool()),
        (Some("started"), Some(true))
    );
    assert_eq!(watch(&env, "start")["action"], "already running");
    // Unset RLCM_INDEX: the watcher turns the index on. The first run walks and writes the
    // index in the watcher's epoch; from then on the index answers without a walk.
    let off = impact(&env, "Acme CRM", Some("off"));
    assert_eq!(impact(&env, "Acme CRM", None), off);
    assert_eq!(watch(&env, "status")["index_vouched"], true);
    assert_eq!(impact(&env, "Acme CRM", None), off);
    if strace_works() {
        let vouched = getdents(&env, "Acme CRM", dir.path());
        let v = watch(&env, "stop");
        assert_eq!(
            (v["action"].as_str(), v["running"].as_bool()),
            (Some("stopped"), Some(false))
        );
        let walked = getdents(&env, "Acme CRM", dir.path());
        assert!(
            // The walk lists every folder (its state folder aside, which both runs read).
            vouched + folders <= walked,
            "getdents64 calls: {vouched} with the watcher, {walked} without ({folders} folders)"
        );
    } else {
        eprintln!("strace cannot trace here: the no-walk half of this test is skipped");
        watch(&env, "stop");
    }
    assert!(
        !env.join(".rlcm/cache/watch.sock").exists(),
        "the socket is removed"
    );
    assert_eq!(watch(&env, "stop")["action"], "not running");
}

/// A recipe that uses no connector.
const EDITED: &str = r#"{
  "name": "Edited",
  "version": 1,
  "private": true,
  "concurrency": 1,
  "code": {
    "number": 0,
    "provider": "clock",
    "name": "scheduled_event",
    "as": "trigger",
    "keyword": "trigger",
    "input": {},
    "block": []
  },
  "config": []
}
"#;

#[test]
fn with_a_watcher_every_change_outside_rlcm_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path());
    let _stop = Stopper(env.clone());
    watch(&env, "start");
    let before = impact(&env, "Acme CRM", None);
    let v: serde_json::Value = serde_json::from_str(&before).unwrap();
    let recipe = v["dependents"][0]["recipe"]
        .as_str()
        .expect("Acme CRM has dependents")
        .to_string();
    let other = env.join("moved");
    type Change = Box<dyn Fn(&Path)>;
    let r2 = recipe.clone();
    let r3 = recipe.clone();
    let changes: Vec<(&str, Change)> = vec![
        (
            "a recipe copied under a new name",
            Box::new(move |e: &Path| {
                std::fs::copy(e.join(&r2), e.join("copy_of_it.recipe.json")).unwrap();
            }),
        ),
        (
            "a folder made, and a recipe moved into it",
            Box::new(move |e: &Path| {
                std::fs::create_dir(&other).unwrap();
                std::fs::rename(e.join("copy_of_it.recipe.json"), other.join("it.recipe.json")).unwrap();
            }),
        ),
        (
            "a recipe rewritten in place so that it no longer uses the connector",
            Box::new(move |e: &Path| {
                use std::io::Write;
                let mut f = std::fs::File::options()
                    .write(true)
                    .truncate(true)
                    .open(e.join("moved/it.recipe.json"))
                    .unwrap();
                f.write_all(EDITED.as_bytes()).unwrap();
            }),
        ),
        (
            "a recipe removed",
            Box::new(move |e: &Path| std::fs::remove_file(e.join(&r3)).unwrap()),
        ),
    ];
    let mut last = before;
    for (what, change) in changes {
        change(&env);
        let off = impact(&env, "Acme CRM", Some("off"));
        assert_ne!(off, last, "{what}: the query does not show the change");
        assert_eq!(
            impact(&env, "Acme CRM", None),
            off,
            "{what}: not seen with the watcher"
        );
        // And once more, now answered from the index the last run wrote in the new epoch.
        assert_eq!(watch(&env, "status")["index_vouched"], true, "{what}");
        assert_eq!(
            impact(&env, "Acme CRM", None),
            off,
            "{what}: the vouched index is stale"
        );
        last = off;
    }
}

#[test]
fn a_killed_watcher_costs_nothing_and_a_new_one_replaces_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path());
    let _stop = Stopper(env.clone());
    // No inherited output: a watcher left behind by a failing test must not hold the test
    // runner's pipes open (the guard kills it anyway).
    let mut run = Killer(
        Command::new(env!("CARGO_BIN_EXE_rlcm"))
            .args(["watch", "run", "--env"])
            .arg(&env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while watch(&env, "status")["running"] != true {
        assert!(std::time::Instant::now() < end, "the watcher did not come up");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let off = impact(&env, "Acme CRM", Some("off"));
    assert_eq!(impact(&env, "Acme CRM", None), off);
    run.0.kill().unwrap();
    run.0.wait().unwrap();
    assert!(
        env.join(".rlcm/cache/watch.sock").exists(),
        "a killed watcher leaves its socket"
    );
    assert_eq!(watch(&env, "status")["running"], false);
    std::fs::remove_file(env.join(copy_first_recipe(&env))).unwrap();
    let off = impact(&env, "Acme CRM", Some("off"));
    assert_eq!(
        impact(&env, "Acme CRM", None),
        off,
        "the stale socket is not believed"
    );
    assert_eq!(
        watch(&env, "start")["running"],
        true,
        "the stale socket is replaced"
    );
    assert_eq!(impact(&env, "Acme CRM", None), off);
}

/// The path of a recipe of the tree that depends on Acme CRM (removed by the caller).
fn copy_first_recipe(env: &Path) -> String {
    let v: serde_json::Value = serde_json::from_str(&impact(env, "Acme CRM", Some("off"))).unwrap();
    v["dependents"][0]["recipe"].as_str().unwrap().to_string()
}

#[test]
fn watch_refuses_what_is_not_an_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = rlcm_in(
        None,
        &["watch", "start", "--env", dir.path().to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!dir.path().join(".rlcm").exists(), "nothing was written");
    // The watcher's own refresh too, and a bad epoch.
    let d = dir.path().to_str().unwrap();
    let out = rlcm_in(
        None,
        &["watch", "refresh", "--env", d, "--epoch", &"0".repeat(32)],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not an rlcm environment"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join(".rlcm").exists(), "nothing was written");
    let out = rlcm_in(None, &["watch", "refresh", "--env", d, "--epoch", "xyz"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not an epoch"), "{}", stderr(&out));
}

/// Runs rlcm with `args` (RLCM_INDEX unset), failing the test when it takes over 60 s (a
/// command waiting for a lock held by the watcher would wait for ever).
fn within_a_minute(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlcm"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("RLCM_NOW", common::NOW)
        .env_remove("RLCM_INDEX")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > end {
            let _ = child.kill();
            panic!("`rlcm {}` did not finish within a minute", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The watcher never keeps a write waiting (it holds no lock of the environment): an import
/// and its rollback finish while it runs, the import planned from the index it vouches for,
/// and the plan after each is the one without an index. Left alone after a write, the
/// watcher rebuilds the index for the next command.
#[test]
fn with_a_watcher_imports_and_rollbacks_run_and_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path());
    let e = env.to_str().unwrap();
    let _stop = Stopper(env.clone());
    assert_eq!(watch(&env, "start")["running"], true);
    let pkg = dir.path().join("orders.zip");
    let out = rlcm_in(
        None,
        &[
            "export",
            "--env",
            testdata("sandbox").to_str().unwrap(),
            "--manifest",
            testdata("orders-release.yaml").to_str().unwrap(),
            "-o",
            pkg.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let p = pkg.to_str().unwrap();
    let plan = |mode: Option<&str>| {
        let envs: Vec<(&str, &str)> = mode
            .map(|m| ("RLCM_INDEX", m))
            .into_iter()
            .chain([("RLCM_NOW", common::NOW)])
            .collect();
        let out = rlcm_in(None, &["plan", p, "--env", e, "--format", "json"], &envs);
        stdout(&out)
    };
    // The first plan walks and writes the index, recording the watcher's epoch.
    assert_eq!(plan(None), plan(Some("off")));
    assert!(watch(&env, "status")["index_vouched"] == true);
    let imported = within_a_minute(&[
        "import",
        p,
        "--env",
        e,
        "--force",
        "--restart-recipes",
        "--format",
        "json",
    ]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(v["applied"], true);
    assert_eq!(plan(None), plan(Some("off")), "the plan after the import");
    let rolled = within_a_minute(&["rollback", "--env", e]);
    assert!(
        rolled.status.success(),
        "{}",
        String::from_utf8_lossy(&rolled.stderr)
    );
    // Nobody plans now: once the tree has been quiet for a while, the watcher writes a fresh
    // index itself, and the next plan is answered by it (`require`) without a walk.
    let later = within_a_minute(&["import", p, "--env", e, "--force", "--format", "json"]);
    assert!(
        later.status.success(),
        "{}",
        String::from_utf8_lossy(&later.stderr)
    );
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while watch(&env, "status")["index_vouched"] != true {
        assert!(
            std::time::Instant::now() < end,
            "the watcher did not refresh the index"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(plan(Some("require")), plan(Some("off")), "the refreshed index");
}
