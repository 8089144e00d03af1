//! The bodies of the fuzz targets for rlcm's own file formats, shared with the brief in-test
//! fuzzing (`tests/fuzz_brief.rs` includes this file as a module, so it is compiled and run by
//! every `cargo test`): export manifests (YAML and JSON), saved plans, and the state files of
//! `.rlcm/`. Each takes raw bytes and panics only on a broken promise.

use std::path::{Path, PathBuf};

/// An export manifest: the first byte picks the extension (`.yaml` or `.json`), the rest is the
/// file. Reading it never panics, and an error names the file.
pub fn export_manifest(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let name = if pick % 2 == 0 { "m.yaml" } else { "m.json" };
    let path = dir.path().join(name);
    std::fs::write(&path, body).unwrap();
    if let Err(e) = rlcm::ops::export::ExportManifest::read(&path) {
        assert!(
            e.to_string().contains(name),
            "the error does not name {name}: {e}"
        );
    }
}

/// A saved plan (`plan -o`), read as `import --plan` reads it: never a panic; one that parses
/// serialises again and parses back.
pub fn saved_plan(data: &[u8]) {
    let Ok(report) = serde_json::from_slice::<rlcm::report::PlanReport>(data) else {
        return;
    };
    let _ = rlcm::apply::options_of(&report);
    let again = serde_json::to_vec(&report).expect("a parsed plan serialises");
    let back: rlcm::report::PlanReport =
        serde_json::from_slice(&again).expect("a serialised plan parses back");
    assert!(back == report, "a saved plan does not round-trip");
}

/// The state files [`state_file`] writes over, relative to the environment root.
pub const STATE_FILES: &[&str] = &[
    ".rlcm/env.json",
    ".rlcm/recipes.json",
    ".rlcm/baseline.json",
    ".rlcm/journal.json",
    ".rlcm/history/000001.json",
];

/// An initialised copy of `template` (a tree), with an `outside` folder beside it holding one
/// file, in `dir`; returns the environment root.
pub fn prepare(template: &Path, dir: &Path) -> PathBuf {
    let env = dir.join("env");
    copy(template, &env);
    rlcm::ops::init::init(
        &env,
        &rlcm::ops::init::InitOptions {
            name: Some("fuzz".into()),
            id: Some(2200000002),
            from: None,
            user: "fuzz".into(),
        },
    )
    .expect("init the fuzz environment");
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::write(dir.join("outside/victim.txt"), b"stays").unwrap();
    env
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A state file of the environment `env` (made by [`prepare`]) replaced by `data` (the first
/// byte picks which of [`STATE_FILES`]): opening the environment (which may replay a journal),
/// `check` and reading the history never panic, and nothing outside the environment is
/// created, changed or removed. The file is removed again afterwards (the environment is
/// otherwise left as the run left it, as a user's would be).
pub fn state_file(env: &Path, data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let rel = STATE_FILES[pick as usize % STATE_FILES.len()];
    let path = env.join(rel);
    let original = std::fs::read(&path).ok();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, body).unwrap();
    if let Ok(e) = rlcm::env::Environment::open(env) {
        let _ = rlcm::ops::check::check(&e);
    }
    let _ = rlcm::apply::read_history(env);
    match original {
        Some(b) => std::fs::write(&path, b).unwrap(),
        None => {
            let _ = std::fs::remove_file(&path);
        }
    }
    let outside = env.parent().unwrap().join("outside");
    let names: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "something was created outside: {names:?}");
    assert_eq!(std::fs::read(outside.join("victim.txt")).unwrap(), b"stays");
}
