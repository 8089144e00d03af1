//! Hostile environments (issue 14, part 3): an environment directory prepared by someone else.
//! A crafted journal, history record or connector state naming `../` or absolute paths, a
//! `.rlcm/` folder that is a symbolic link, a backup that is a link out: each is refused (exit
//! 1, naming the file) before anything outside is opened, read or written. A cache copied from
//! another environment is ignored.
//!
//! "Nothing outside is opened" is checked with a FIFO: opening one for reading blocks until a
//! writer comes, so a command that opens it hangs and is killed at the deadline (a failure).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

struct World {
    _dir: tempfile::TempDir,
    env: PathBuf,
    outside: PathBuf,
}

impl World {
    fn env(&self) -> &str {
        self.env.to_str().unwrap()
    }
}

/// An initialised production copy and an `outside` folder beside it holding a file and a FIFO.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let env = env_copy(dir.path(), "production", "2200000002");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("tmp")).unwrap();
    std::fs::write(outside.join("victim.txt"), b"must stay").unwrap();
    mkfifo(&outside.join("fifo"));
    World {
        _dir: dir,
        env,
        outside,
    }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path that lives for the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Runs rlcm with a deadline (a run that blocks opening the FIFO is killed: a failure).
fn run_bounded(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlcm"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("RLCM_USER", "tester")
        .env("RLCM_NOW", NOW)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "rlcm {args:?} hung (it opened the FIFO outside the environment?): {}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every entry of the outside folder with its bytes (the FIFO as its name only).
fn outside_snapshot(dir: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut v: Vec<(String, Option<Vec<u8>>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            let bytes = e.file_type().is_file().then(|| std::fs::read(e.path()).unwrap());
            (rel, bytes)
        })
        .collect();
    v.sort();
    v
}

/// Runs `args`, expecting exit 1 with `names` in the message, the environment unchanged and
/// the outside folder unchanged (nothing created, changed or deleted there).
fn refused(w: &World, args: &[&str], names: &str) {
    let before_env = snapshot(&w.env);
    let before_out = outside_snapshot(&w.outside);
    let out = run_bounded(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "rlcm {args:?}: {}{err}", stdout(&out));
    assert!(
        err.contains(names),
        "rlcm {args:?}: the message does not name `{names}`: {err}"
    );
    assert_eq!(
        before_out,
        outside_snapshot(&w.outside),
        "rlcm {args:?} changed the outside folder"
    );
    assert_eq!(
        before_env,
        snapshot(&w.env),
        "rlcm {args:?} changed the environment"
    );
}

fn write_journal(w: &World, id: &str, ops: serde_json::Value) {
    let journal = serde_json::json!({
        "format_version": 1, "id": id, "label": "crafted", "started_at": NOW, "ops": ops
    });
    std::fs::write(
        w.env.join(".rlcm/journal.json"),
        serde_json::to_vec_pretty(&journal).unwrap(),
    )
    .unwrap();
}

/// A staged slot of write `id`, with bytes.
fn stage(w: &World, id: &str) {
    let dir = w.env.join(".rlcm/tmp").join(id).join("0");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("00000001"), b"crafted").unwrap();
}

#[test]
fn crafted_journals_are_refused_before_anything_outside_is_touched() {
    let w = world();
    let abs_new = w.outside.join("new.json").display().to_string();
    let abs_victim = w.outside.join("victim.txt").display().to_string();
    let abs_fifo = w.outside.join("fifo").display().to_string();
    std::os::unix::fs::symlink(&w.outside, w.env.join(".rlcm/link")).unwrap();
    let write = |staged: &str| serde_json::json!({"op": "write", "staged": staged});
    let delete = serde_json::json!({"op": "delete"});
    let cases: Vec<(&str, &str, serde_json::Value)> = vec![
        (
            "write ../",
            "1-1",
            serde_json::json!({"../outside/new.json": write("0/00000001")}),
        ),
        (
            "write absolute",
            "1-1",
            serde_json::json!({ abs_new.clone(): write("0/00000001") }),
        ),
        (
            "write .. inside",
            "1-1",
            serde_json::json!({"orders/../../outside/new.json": write("0/00000001")}),
        ),
        (
            "write through a link",
            "1-1",
            serde_json::json!({".rlcm/link/new.json": write("0/00000001")}),
        ),
        (
            "delete ../",
            "1-1",
            serde_json::json!({"../outside/victim.txt": delete.clone()}),
        ),
        (
            "delete absolute",
            "1-1",
            serde_json::json!({ abs_victim.clone(): delete.clone() }),
        ),
        (
            "delete a fifo",
            "1-1",
            serde_json::json!({ abs_fifo.clone(): delete.clone() }),
        ),
        (
            "delete through a link",
            "1-1",
            serde_json::json!({".rlcm/link/victim.txt": delete.clone()}),
        ),
        (
            "staged ../ (move one in)",
            "1-1",
            serde_json::json!({"moved.json": write("../../../../outside/victim.txt")}),
        ),
        (
            "staged absolute",
            "1-1",
            serde_json::json!({"moved.json": write(&abs_victim)}),
        ),
        (
            "id ../ (staging outside)",
            "../../../outside",
            serde_json::json!({"moved.json": write("0/00000001")}),
        ),
        (
            "id absolute",
            &abs_new,
            serde_json::json!({"moved.json": write("0/00000001")}),
        ),
    ];
    for (what, id, ops) in &cases {
        // A staged slot where an honest id would have it, and one in the outside folder where
        // a crafted id points.
        stage(&w, "1-1");
        let out_slot = w.outside.join("0");
        std::fs::create_dir_all(&out_slot).unwrap();
        std::fs::write(out_slot.join("00000001"), b"outside slot").unwrap();
        write_journal(&w, id, ops.clone());
        eprintln!("case: {what}");
        for cmd in [
            vec!["check", "--env", w.env()],
            vec!["recipe", "list", "--env", w.env()],
            vec![
                "recipe",
                "start",
                "orders/sync_orders.recipe.json",
                "--env",
                w.env(),
            ],
        ] {
            refused(&w, &cmd, ".rlcm/journal.json");
        }
        std::fs::remove_file(w.env.join(".rlcm/journal.json")).unwrap();
    }
    // With the crafted journal gone, the environment is usable again.
    std::fs::remove_file(w.env.join(".rlcm/link")).unwrap();
    ok(&run(&["check", "--env", w.env()]));
}

#[test]
fn state_folders_that_are_links_are_refused() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("orders.zip");
    let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
    ok(&run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--manifest",
        testdata("orders-release.yaml").to_str().unwrap(),
        "-o",
        pkg.to_str().unwrap(),
    ]));
    let import = vec![
        "import",
        pkg.to_str().unwrap(),
        "--env",
        w.env(),
        "--force",
        "--restart-recipes",
    ];
    let start = vec![
        "recipe",
        "start",
        "orders/sync_orders.recipe.json",
        "--env",
        w.env(),
    ];
    let rollback = vec!["rollback", "--env", w.env()];
    let check = vec!["check", "--env", w.env()];
    for (item, target) in [
        ("tmp", "tmp"),
        ("cache", "tmp"),
        ("history", "tmp"),
        ("connectors", "tmp"),
        ("lock", "victim.txt"),
        ("journal.json", "fifo"),
        ("baseline.json", "fifo"),
    ] {
        let p = w.env.join(".rlcm").join(item);
        let saved = w.env.join(format!(".saved-{item}"));
        if p.exists() {
            std::fs::rename(&p, &saved).unwrap();
        }
        std::os::unix::fs::symlink(w.outside.join(target), &p).unwrap();
        let name = format!(".rlcm/{item}");
        for cmd in [&import, &start, &rollback, &check] {
            refused(&w, cmd, &name);
        }
        std::fs::remove_file(&p).unwrap();
        if saved.exists() {
            std::fs::rename(&saved, &p).unwrap();
        }
    }
    // `.rlcm` itself.
    let dot = w.env.join(".rlcm");
    std::fs::rename(&dot, w.env.join(".saved-rlcm")).unwrap();
    std::os::unix::fs::symlink(w.env.join(".saved-rlcm"), &dot).unwrap();
    for cmd in [&import, &start, &check] {
        refused(&w, cmd, ".rlcm");
    }
    std::fs::remove_file(&dot).unwrap();
    std::fs::rename(w.env.join(".saved-rlcm"), &dot).unwrap();
    // All restored: the import and a start succeed, and nothing was staged outside.
    ok(&run(&import));
    ok(&run(&start));
    assert_eq!(std::fs::read_dir(w.outside.join("tmp")).unwrap().count(), 0);
}

#[test]
fn history_records_naming_files_outside_are_refused_before_opening_them() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("orders.zip");
    let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
    ok(&run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "--manifest",
        testdata("orders-release.yaml").to_str().unwrap(),
        "-o",
        pkg.to_str().unwrap(),
    ]));
    ok(&run(&[
        "import",
        pkg.to_str().unwrap(),
        "--env",
        w.env(),
        "--force",
        "--restart-recipes",
    ]));
    let record_path = w.env.join(".rlcm/history/000001.json");
    let honest = std::fs::read(&record_path).unwrap();
    let record: serde_json::Value = serde_json::from_slice(&honest).unwrap();
    let existed = record["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["existed"] == true)
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    let abs_fifo = w.outside.join("fifo").display().to_string();
    // The record's path climbs out (to the FIFO, so that opening it would hang).
    for bad in [
        "../../../../../outside/fifo".to_string(),
        "../outside/fifo".to_string(),
        abs_fifo.clone(),
    ] {
        let mut r = record.clone();
        for f in r["files"].as_array_mut().unwrap() {
            if f["path"] == existed.as_str() {
                f["path"] = bad.clone().into();
            }
        }
        std::fs::write(&record_path, serde_json::to_vec_pretty(&r).unwrap()).unwrap();
        refused(&w, &["rollback", "--env", w.env()], "history/000001.json");
        refused(&w, &["history", "--env", w.env()], "history/000001.json");
    }
    std::fs::write(&record_path, &honest).unwrap();
    // The backup itself is a link out.
    let backup = w.env.join(".rlcm/history/000001/before").join(&existed);
    let saved = dir.path().join("saved-backup");
    std::fs::rename(&backup, &saved).unwrap();
    std::os::unix::fs::symlink(w.outside.join("fifo"), &backup).unwrap();
    refused(&w, &["rollback", "--env", w.env()], "symbolic link");
    std::fs::remove_file(&backup).unwrap();
    // A folder on the way to the backup is a link out.
    let before = w.env.join(".rlcm/history/000001/before");
    let saved_dir = dir.path().join("saved-before");
    std::fs::rename(&before, &saved_dir).unwrap();
    std::fs::rename(&saved, saved_dir.join(&existed)).unwrap();
    std::os::unix::fs::symlink(&w.outside, &before).unwrap();
    refused(&w, &["rollback", "--env", w.env()], "symbolic link");
    std::fs::remove_file(&before).unwrap();
    std::fs::rename(&saved_dir, &before).unwrap();
    // Honest again: the rollback works.
    ok(&run(&["rollback", "--env", w.env()]));
}

#[test]
fn connector_state_naming_code_outside_is_refused() {
    let w = world();
    let state = w.env.join(".rlcm/connectors/acme_crm.json");
    let honest = std::fs::read(&state).unwrap();
    let mut c: serde_json::Value = serde_json::from_slice(&honest).unwrap();
    c["versions"][0]["code"] = "../../../outside/fifo".into();
    std::fs::write(&state, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    refused(
        &w,
        &["connector", "list", "--env", w.env()],
        "connectors/acme_crm.json",
    );
    refused(&w, &["check", "--env", w.env()], "connectors/acme_crm.json");
    let mut c: serde_json::Value = serde_json::from_slice(&honest).unwrap();
    c["path"] = "/etc/passwd".into();
    std::fs::write(&state, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    refused(
        &w,
        &["connector", "list", "--env", w.env()],
        "connectors/acme_crm.json",
    );
    std::fs::write(&state, &honest).unwrap();
    ok(&run(&["check", "--env", w.env()]));
}

/// Copies a tree keeping every file's modification time (as `cp -a` or `tar` would).
fn copy_keeping_times(from: &Path, to: &Path) {
    copy_tree(from, to);
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let t = e.metadata().unwrap().modified().unwrap();
            let target = to.join(e.path().strip_prefix(from).unwrap());
            std::fs::File::options()
                .write(true)
                .open(&target)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
    }
}

fn asset_names(env: &Path) -> Vec<String> {
    let out = run(&["inspect", env.to_str().unwrap(), "--all", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names = Vec::new();
    collect_names(&v["assets"], &mut names);
    names
}

fn collect_names(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(n)) = m.get("name") {
                out.push(n.clone());
            }
            m.values().for_each(|x| collect_names(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_names(x, out)),
        _ => {}
    }
}

#[test]
fn a_cache_copied_from_another_environment_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("a");
    copy_tree(&testdata("production"), &env);
    // Old enough not to be "racy": the cache keeps them.
    let old = std::time::SystemTime::now() - Duration::from_secs(600);
    for e in walkdir::WalkDir::new(&env) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            std::fs::File::options()
                .write(true)
                .open(e.path())
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
    }
    ok(&run(&["init", env.to_str().unwrap(), "--id", "2200000002"]));
    let cache = env.join(".rlcm/cache/summaries.bin");
    assert!(
        std::fs::metadata(&cache).unwrap().len() > 100,
        "init wrote no cache"
    );
    assert!(asset_names(&env).contains(&"Sync orders".to_string()));
    let copy = dir.path().join("b");
    copy_keeping_times(&env, &copy);
    // Edit a recipe of the copy keeping its size and modification time.
    let recipe = copy.join("orders/sync_orders.recipe.json");
    let t = std::fs::metadata(&recipe).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&recipe).unwrap();
    let edited = text.replacen("\"Sync orders\"", "\"Sync ORDERS\"", 1);
    assert_eq!(text.len(), edited.len());
    std::fs::write(&recipe, edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&recipe)
        .unwrap()
        .set_modified(t)
        .unwrap();
    let names = asset_names(&copy);
    assert!(
        names.contains(&"Sync ORDERS".to_string()) && !names.contains(&"Sync orders".to_string()),
        "the copy's edit was not seen (the copied cache was trusted): {names:?}"
    );
    // A writing command rebuilds the copy's cache for the copy.
    ok(&run(&[
        "recipe",
        "start",
        "orders/sync_orders.recipe.json",
        "--env",
        copy.to_str().unwrap(),
    ]));
    assert!(asset_names(&copy).contains(&"Sync ORDERS".to_string()));
    // The original still uses its own cache and sees its own content.
    assert!(asset_names(&env).contains(&"Sync orders".to_string()));
}
