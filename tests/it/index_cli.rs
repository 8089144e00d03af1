//! The production index (`.rlcm/cache/index.redb`): `impact` and `connector check` answer the
//! same JSON from it as from a load of the whole tree (`RLCM_INDEX=off`), and a file edited,
//! added or removed outside rlcm is seen (the index is then not used: these tests fail if the
//! check against the tree is removed).

use crate::common;

use common::{age_all, copy_tree, rlcm_in, stderr, stdout, testdata};
use std::path::Path;

fn env_of(dir: &Path, which: &str) -> std::path::PathBuf {
    let env = dir.join(which);
    copy_tree(&testdata(which), &env);
    age_all(&env);
    let out = rlcm_in(
        None,
        &["init", env.to_str().unwrap(), "--name", which, "--id", "9"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    env
}

/// Runs `args` with `RLCM_INDEX` set to `mode` ("" for `on`, the mode that uses and rebuilds
/// the index; unset, rlcm does not use it); the exit code and stdout.
fn run(env: &Path, args: &[&str], mode: &str) -> (i32, String, String) {
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--env", env.to_str().unwrap(), "--format", "json"]);
    let mode = if mode.is_empty() { "on" } else { mode };
    let envs: Vec<(&str, &str)> = vec![("RLCM_INDEX", mode)];
    let out = rlcm_in(None, &full, &envs);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

/// The queries compared: impact of a connector, a recipe, a connection, a lookup table, an
/// unknown name and an ambiguous one; connector check of each connector against the tree and
/// its latest version.
fn queries(env: &Path) -> Vec<Vec<String>> {
    let mut q: Vec<Vec<String>> = Vec::new();
    let files: Vec<String> = walkdir::WalkDir::new(env)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(env).unwrap().to_string_lossy().into_owned())
        .filter(|p| !p.starts_with(".rlcm") && p.ends_with(".json"))
        .collect();
    for p in &files {
        q.push(vec!["impact".into(), p.clone()]);
    }
    for name in ["Acme CRM", "acme_crm", "no such asset", "Orders"] {
        q.push(vec!["impact".into(), name.into()]);
    }
    for p in files.iter().filter(|p| p.ends_with(".custom_adapter.json")) {
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(env.join(p)).unwrap()).unwrap();
        if let Some(title) = json.get("title").and_then(|t| t.as_str()) {
            for side in ["tree", "latest"] {
                q.push(vec![
                    "connector".into(),
                    "check".into(),
                    title.into(),
                    side.into(),
                ]);
            }
        }
    }
    q.push(vec![
        "connector".into(),
        "check".into(),
        "No Such".into(),
        "tree".into(),
    ]);
    q
}

/// Every query gives the same exit code and stdout with the index (built by the first run,
/// required by the second) as without it.
fn same_both_ways(env: &Path) {
    let qs = queries(env);
    assert!(qs.len() > 10, "too few queries: {qs:?}");
    // The first run writes the index.
    let (code, _, err) = run(env, &["impact", "Acme CRM"], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        env.join(".rlcm/cache/index.redb").is_file(),
        "no index was written"
    );
    let mut answered = 0;
    for q in &qs {
        let args: Vec<&str> = q.iter().map(String::as_str).collect();
        let (c0, off, e0) = run(env, &args, "off");
        let (c1, on, e1) = run(env, &args, "");
        assert_eq!((c0, &off), (c1, &on), "{q:?} differs with the index: {e0} / {e1}");
        if c0 == 0 {
            // A query that succeeds is answered by the index itself.
            let (c2, req, e2) = run(env, &args, "require");
            assert_eq!((c2, &req), (c0, &off), "{q:?} is not answered by the index: {e2}");
            answered += 1;
        }
    }
    assert!(answered > 5, "only {answered} queries answered");
}

#[test]
fn impact_and_connector_check_are_the_same_with_and_without_the_index() {
    let dir = tempfile::tempdir().unwrap();
    for which in ["production", "sandbox"] {
        let env = env_of(dir.path(), which);
        same_both_ways(&env);
    }
}

/// Builds the index, then `change`s the tree outside rlcm: the index must no longer answer
/// (`RLCM_INDEX=require` fails), and the ordinary run must show the change.
fn outside_change_is_seen(
    change: impl FnOnce(&Path),
    query: &[&str],
    expect: impl Fn(&serde_json::Value) -> bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path(), "production");
    let (code, before, err) = run(&env, query, "");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&env, query, "require");
    assert_eq!(code, 0, "the index does not answer before the change: {err}");
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert!(!expect(&before), "the change is already there: {before}");
    change(&env);
    let (code, _, err) = run(&env, query, "require");
    assert_ne!(code, 0, "the index still answered after the tree changed");
    assert!(err.contains("cannot answer"), "{err}");
    let (code, after, err) = run(&env, query, "");
    assert_eq!(code, 0, "{err}");
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert!(expect(&after), "the change is not seen: {after}");
    let (_, off, _) = run(&env, query, "off");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&off).unwrap(), after);
    // The run that saw the change wrote a fresh index, which answers again.
    let (code, again, err) = run(&env, query, "require");
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&again).unwrap(), after);
}

fn dependents(v: &serde_json::Value) -> Vec<String> {
    ["dependents", "other_dependents"]
        .iter()
        .flat_map(|k| v[k].as_array().cloned().unwrap_or_default())
        .map(|d| d["recipe"].as_str().unwrap().to_string())
        .collect()
}

/// A recipe that calls `orders/...` now: the text of a recipe's JSON with one more
/// `flow_id` reference appended to its first step list is fiddly, so a new small recipe is
/// written instead (added), or an existing one rewritten in place (edited).
const NEW_RECIPE: &str = r#"{
  "name": "Outside edit",
  "version": 1,
  "private": true,
  "concurrency": 1,
  "code": {
    "number": 0,
    "provider": "workato_recipe_function",
    "name": "execute",
    "as": "trigger",
    "keyword": "trigger",
    "input": {},
    "block": [
      {
        "number": 1,
        "provider": "workato_recipe_function",
        "name": "call_recipe",
        "as": "call",
        "keyword": "action",
        "input": {
          "flow_id": {
            "zip_name": "TARGET",
            "name": "Target",
            "folder": ""
          }
        }
      }
    ]
  },
  "config": []
}
"#;

/// A callable recipe of the production test tree and its path.
fn callable(env: &Path) -> String {
    for e in walkdir::WalkDir::new(env) {
        let e = e.unwrap();
        let p = e.path().strip_prefix(env).unwrap().to_string_lossy().into_owned();
        if p.ends_with(".recipe.json") && !p.starts_with(".rlcm") {
            return p;
        }
    }
    panic!("no recipe in {}", env.display())
}

#[test]
fn a_recipe_added_outside_rlcm_is_seen_by_impact() {
    let dir = tempfile::tempdir().unwrap();
    let probe = env_of(dir.path(), "production");
    let target = callable(&probe);
    let q = ["impact", target.as_str()];
    outside_change_is_seen(
        |env| {
            std::fs::write(
                env.join("outside_edit.recipe.json"),
                NEW_RECIPE.replace("TARGET", &target),
            )
            .unwrap();
        },
        &q,
        |v| dependents(v).contains(&"outside_edit.recipe.json".to_string()),
    );
}

#[test]
fn a_recipe_edited_in_place_outside_rlcm_is_seen_by_impact() {
    let dir = tempfile::tempdir().unwrap();
    let probe = env_of(dir.path(), "production");
    let target = callable(&probe);
    // The edited recipe: another recipe, rewritten in place (same inode, same folder, so the
    // folder's time does not change) to call the target.
    let other = walkdir::WalkDir::new(&probe)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(&probe)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .find(|p| p.ends_with(".recipe.json") && *p != target && !p.starts_with(".rlcm"))
        .unwrap();
    let q = ["impact", target.as_str()];
    let other2 = other.clone();
    let target2 = target.clone();
    outside_change_is_seen(
        move |env| {
            use std::io::Write;
            let mut f = std::fs::File::options()
                .write(true)
                .truncate(true)
                .open(env.join(&other2))
                .unwrap();
            f.write_all(NEW_RECIPE.replace("TARGET", &target2).as_bytes())
                .unwrap();
        },
        &q,
        move |v| dependents(v).contains(&other),
    );
}

#[test]
fn a_recipe_removed_outside_rlcm_is_seen_by_impact() {
    let dir = tempfile::tempdir().unwrap();
    let probe = env_of(dir.path(), "production");
    let (_, out, _) = run(&probe, &["impact", "Acme CRM"], "off");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let gone = v["dependents"][0]["recipe"]
        .as_str()
        .expect("Acme CRM has dependents")
        .to_string();
    let gone2 = gone.clone();
    outside_change_is_seen(
        move |env| std::fs::remove_file(env.join(&gone2)).unwrap(),
        &["impact", "Acme CRM"],
        move |v| !dependents(v).contains(&gone),
    );
}

/// An index copied with its tree (same paths, sizes and modification times, so the same tree
/// digest) into another directory is not this directory's: it is refused (the binding), and
/// the copy's own answer is built from its tree. Fails if the binding check is removed.
#[test]
fn an_index_copied_with_its_tree_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path(), "production");
    let (code, _, err) = run(&env, &["impact", "Acme CRM"], "");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&env, &["impact", "Acme CRM"], "require");
    assert_eq!(code, 0, "{err}");
    let copy = dir.path().join("copy");
    copy_tree(&env, &copy);
    // The same modification times as the original, file for file: the copy's tree digest is
    // the original's.
    for e in walkdir::WalkDir::new(&env) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(&env).unwrap();
            let t = std::fs::metadata(e.path()).unwrap().modified().unwrap();
            let f = std::fs::File::options().write(true).open(copy.join(rel)).unwrap();
            f.set_modified(t).unwrap();
        }
    }
    assert!(copy.join(".rlcm/cache/index.redb").is_file());
    let (code, _, err) = run(&copy, &["impact", "Acme CRM"], "require");
    assert_ne!(code, 0, "the copied index was used");
    assert!(err.contains("another environment or machine"), "{err}");
    let (code, out, err) = run(&copy, &["impact", "Acme CRM"], "");
    assert_eq!(code, 0, "{err}");
    let (_, off, _) = run(&copy, &["impact", "Acme CRM"], "off");
    assert_eq!(out, off);
}

/// Garbage in the index files (a crafted or damaged index) is never used and never breaks a
/// command: it answers as without the index, and rewrites the index.
#[test]
fn a_damaged_or_crafted_index_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path(), "production");
    let (_, off, _) = run(&env, &["impact", "Acme CRM"], "off");
    let index = env.join(".rlcm/cache/index.redb");
    let bind = env.join(".rlcm/cache/index.bind");
    let head = env.join(".rlcm/cache/index.head");
    for (file, bytes) in [
        (&index, b"garbage".to_vec()),
        (&index, vec![0u8; 70_000]),
        (&bind, b"not this environment's binding!!".to_vec()),
        (&head, b"garbage".to_vec()),
        (&head, Vec::new()),
    ] {
        // A valid index first, then one file replaced.
        let (code, _, err) = run(&env, &["impact", "Acme CRM"], "");
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run(&env, &["impact", "Acme CRM"], "require");
        assert_eq!(code, 0, "{err}");
        std::fs::write(file, &bytes).unwrap();
        let (code, _, err) = run(&env, &["impact", "Acme CRM"], "require");
        assert_ne!(code, 0, "a damaged index answered ({})", file.display());
        assert!(!err.contains("panicked"), "{err}");
        let (code, out, err) = run(&env, &["impact", "Acme CRM"], "");
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, off);
    }
}

/// Unset, `RLCM_INDEX` means no index: nothing is read from `.rlcm/cache/index.redb` nor
/// written there (opt-in until writing commands keep it up to date).
#[test]
fn without_rlcm_index_no_index_is_written_or_used() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path(), "production");
    let out = rlcm_in(
        None,
        &[
            "impact",
            "Acme CRM",
            "--env",
            env.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!env.join(".rlcm/cache/index.redb").exists());
    let (code, _, err) = run(&env, &["impact", "Acme CRM"], "require");
    assert_ne!(code, 0, "no index to require: {err}");
    let (code, _, err) = run(&env, &["impact", "Acme CRM"], "on");
    assert_eq!(code, 0, "{err}");
    assert!(env.join(".rlcm/cache/index.redb").exists());
}

/// `connector release` and `restore` (writers) scan for breaking uses in the index when it is
/// valid for the tree under the writer lock: the same exit code, stdout, stderr and state as
/// without the index, for a release that changes nothing, one that autosaves edited code, one
/// refused because the code drops an action a recipe uses (and the same forced), and a restore;
/// and `RLCM_INDEX=require` shows the index answered.
#[test]
fn release_and_restore_scan_the_index_with_the_same_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let base = env_of(dir.path(), "production");
    let dropping = std::fs::read(testdata("sandbox/acme_crm.custom_adapter.rb")).unwrap();
    // Each case: a fresh pair of copies, `edit`ed alike, then the command run once on each.
    let cases: Vec<(&str, Vec<&str>, bool)> = vec![
        (
            "released already",
            vec!["connector", "release", "Acme CRM"],
            false,
        ),
        ("drops an action", vec!["connector", "release", "Acme CRM"], true),
        (
            "forced",
            vec!["connector", "release", "Acme CRM", "--force"],
            true,
        ),
        ("restore", vec!["connector", "restore", "acme_crm", "3"], true),
    ];
    let times = regex::Regex::new(r#""\d{4}-\d\d-\d\dT[^"]*""#).unwrap();
    for (n, (what, args, edit)) in cases.into_iter().enumerate() {
        let mut outs = Vec::new();
        for mode in ["off", "require"] {
            let env = dir.path().join(format!("case{n}-{mode}"));
            copy_tree(&base, &env);
            if edit {
                std::fs::write(env.join("acme_crm.custom_adapter.rb"), &dropping).unwrap();
            }
            // A valid index of the tree as it is now (the `off` copy's is never read).
            let (code, _, err) = run(&env, &["impact", "Acme CRM"], "on");
            assert_eq!(code, 0, "{err}");
            let (code, out, err) = run(&env, &args, mode);
            let state = std::fs::read_to_string(env.join(".rlcm/connectors/acme_crm.json")).unwrap();
            let tree = std::fs::read(env.join("acme_crm.custom_adapter.json")).unwrap();
            let err = err.replace(env.to_str().unwrap(), "ENV");
            // The times of the release differ between the two runs.
            let state = times.replace_all(&state, "TIME").into_owned();
            outs.push((code, out, err, state, tree));
        }
        assert_eq!(outs[0], outs[1], "{what}: differs with the index");
        let expected = if what == "drops an action" { 3 } else { 0 };
        assert_eq!(outs[0].0, expected, "{what}: {:?}", outs[0]);
        if what == "forced" {
            let v: serde_json::Value = serde_json::from_str(&outs[0].1).unwrap();
            assert!(!v["breaking"].as_array().unwrap().is_empty(), "{v}");
        }
    }
}

/// A connector command answered from the index leaves it valid for the tree it wrote (the
/// header records the rewritten `.custom_adapter.json` and `.rb`), so the next reader does not
/// rebuild it; and an outside edit of a file the command wrote, even one that keeps its size
/// and modification time, is still seen (the file's hash was recorded).
#[test]
fn a_connector_release_leaves_a_valid_index() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path(), "production");
    let (_, before, _) = run(&env, &["impact", "Acme CRM"], "on");
    // Edited code, released: autosaved as a new version, the tree's JSON and code written.
    let rb = env.join("acme_crm.custom_adapter.rb");
    let mut code = std::fs::read(&rb).unwrap();
    code.extend_from_slice(b"\n# edited\n");
    std::fs::write(&rb, &code).unwrap();
    let (_, _, err) = run(&env, &["impact", "Acme CRM"], "on");
    assert!(err.is_empty(), "{err}");
    let (code, out, err) = run(&env, &["connector", "release", "Acme CRM"], "require");
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["action"], "release", "{v}");
    assert!(v["autosaved"].is_u64(), "{v}");
    let (code, after, err) = run(&env, &["impact", "Acme CRM"], "require");
    assert_eq!(code, 0, "the index was not kept valid by the release: {err}");
    assert_eq!(after, before);
    let (_, off, _) = run(&env, &["impact", "Acme CRM"], "off");
    assert_eq!(after, off);
    for side in ["tree", "latest"] {
        let q = ["connector", "check", "Acme CRM", side];
        let (code, on, err) = run(&env, &q, "require");
        assert_eq!(code, 0, "{err}");
        assert_eq!(on, run(&env, &q, "off").1);
    }
    // The tree's JSON rewritten from outside with the same size and modification time.
    let json = env.join("acme_crm.custom_adapter.json");
    let t = std::fs::metadata(&json).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&json).unwrap();
    let at = bytes.iter().position(|&b| b == b'A').unwrap();
    bytes[at] = b'B';
    std::fs::write(&json, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&json)
        .unwrap()
        .set_modified(t)
        .unwrap();
    let (code, _, err) = run(&env, &["impact", "Acme CRM"], "require");
    assert_ne!(code, 0, "an outside edit after the release was not seen");
    assert!(err.contains("cannot answer"), "{err}");
}

/// Writing the index goes through the fault layer like every other write (the database's
/// creation, each of redb's writes and syncs, its rename), and a write that fails costs the
/// index, never the answer: the command answers as it does without an index, leaves no
/// temporary file, and the next run builds a usable index. This test fails if the database is
/// written around the fault layer (no operation on it is logged).
#[test]
fn a_failing_index_write_costs_the_index_not_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(dir.path(), "production");
    let args = ["impact", "Acme CRM"];
    let (code, expected, _) = run(&env, &args, "off");
    let cache = env.join(".rlcm/cache");
    let clear = || {
        for name in ["index.redb", "index.head", "index.bind"] {
            let _ = std::fs::remove_file(cache.join(name));
        }
    };
    let impact_with = |extra: &[(&str, &str)]| {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--env", env.to_str().unwrap(), "--format", "json"]);
        let mut envs = vec![("RLCM_INDEX", "on")];
        envs.extend_from_slice(extra);
        let out = rlcm_in(None, &full, &envs);
        (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
    };
    // One clean run that writes the index, counting its operations.
    clear();
    let log = dir.path().join("ops.log");
    let (c, out, err) = impact_with(&[("RLCM_FAULT_COUNT_LOG", log.to_str().unwrap())]);
    assert_eq!((c, &out), (code, &expected), "{err}");
    let ops: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // The temporary file renamed onto `index.redb` is the database: redb's writes and syncs on
    // it must each be an operation of the fault layer.
    let db_tmp = ops
        .iter()
        .find_map(|l| {
            let (from, to) = l.split_once(" -> ")?;
            to.ends_with("index.redb")
                .then(|| from.rsplit(' ').next().unwrap().to_string())
        })
        .unwrap_or_else(|| panic!("no rename onto index.redb: {ops:#?}"));
    let db_ops = ops
        .iter()
        .filter(|l| l.ends_with(&db_tmp) && (l.contains(" write ") || l.contains(" sync ")))
        .count();
    assert!(
        db_ops >= 5,
        "redb's writes do not go through the fault layer: {ops:#?}"
    );
    // Every operation of that run fails once, in turn.
    for n in 1..=ops.len() {
        clear();
        let fault = format!("{n}:EIO");
        let (c, out, err) = impact_with(&[("RLCM_FAULT", &fault)]);
        assert_eq!(
            (c, &out),
            (code, &expected),
            "operation #{n} ({}) failing: {err}",
            ops[n - 1]
        );
        let left: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') && n.contains("tmp"))
            .collect();
        assert!(left.is_empty(), "operation #{n}: temporary files left: {left:?}");
    }
    // And the next clean run writes an index that answers.
    clear();
    let (c, out, err) = impact_with(&[]);
    assert_eq!((c, &out), (code, &expected), "{err}");
    let (c, out, err) = run(&env, &args, "require");
    assert_eq!((c, out), (code, expected), "{err}");
}
