//! `plan` from the production index (only the part of the target the package touches is read,
//! see `src/plan/partial.rs`) gives exactly the plan of a load of the whole tree: the same exit
//! code and JSON, byte for byte, for every shipped package and realworld zip into every shipped
//! environment, with and without `--folder`, `--force`, `--restart-recipes` and `--diff=text`;
//! `RLCM_INDEX=require` proves the index answered. A tree changed outside rlcm after the index
//! was written is planned from the whole tree (and the index is rebuilt), with a watcher too.

use crate::common;

use common::{copy_tree, rlcm_in, stderr, stdout, testdata};
use std::path::{Path, PathBuf};

fn init(dir: &Path, which: &str, from: &Path) -> PathBuf {
    let env = dir.join(which);
    copy_tree(from, &env);
    let out = rlcm_in(
        None,
        &["init", env.to_str().unwrap(), "--name", which, "--id", "9"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    env
}

/// `rlcm export --env FROM --manifest MANIFEST -o OUT`, which must succeed.
fn export(from: &Path, manifest: &Path, out: &Path) {
    let o = rlcm_in(
        None,
        &[
            "export",
            "--env",
            from.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Exports everything of `from` (a manifest of the root folder, written in `dir`).
fn export_all(from: &Path, out: &Path, dir: &Path) {
    let manifest = dir.join("all.yaml");
    std::fs::write(&manifest, "folders:\n  - \"\"\n").unwrap();
    export(from, &manifest, out);
}

/// `plan PKG --env ENV FLAGS --format json` with `RLCM_INDEX=mode`: exit code, stdout, stderr.
fn plan(pkg: &Path, env: &Path, flags: &[&str], mode: &str) -> (i32, String, String) {
    let mut args = vec!["plan", pkg.to_str().unwrap(), "--env", env.to_str().unwrap()];
    args.extend(flags);
    args.extend(["--format", "json"]);
    let out = rlcm_in(None, &args, &[("RLCM_INDEX", mode), ("RLCM_NOW", common::NOW)]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

/// The packages: the sandbox exported whole, the orders release, each reduced case exported
/// whole, and the realworld Workato zips.
fn packages(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let whole = dir.join("sandbox-all.zip");
    export_all(&testdata("sandbox"), &whole, dir);
    out.push(whole);
    let orders = dir.join("orders.zip");
    export(&testdata("sandbox"), &testdata("orders-release.yaml"), &orders);
    out.push(orders);
    for case in ["dangling", "project-properties", "case-folders"] {
        let zip = dir.join(format!("{case}.zip"));
        export_all(&testdata("reduced").join(case), &zip, dir);
        out.push(zip);
    }
    // A package directory whose recipes use connections and a lookup table it does not carry
    // (they are the target's): the plan reads target assets no package path or name points
    // at (seeded from where the package's unresolved references resolve in the target).
    let partial = dir.join("sandbox-without-connections");
    copy_tree(&testdata("sandbox"), &partial);
    for e in walkdir::WalkDir::new(&partial) {
        let p = e.unwrap().path().to_path_buf();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".connection.json") || name.ends_with(".lookup_table.json") {
            std::fs::remove_file(&p).unwrap();
        }
    }
    out.push(partial);
    // A recipe that reads project properties, without the project's properties file: into the
    // project-properties environment, the plan looks for that file in the target (no seed
    // points at it: found by the part's second round; this case fails when the fixpoint is
    // removed).
    let bare = dir.join("recipe-without-its-properties");
    copy_tree(&testdata("reduced").join("project-properties"), &bare);
    std::fs::remove_file(bare.join("Test-Hello-World/properties.project_properties.json")).unwrap();
    out.push(bare);
    let atsuya = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realworld/AtsuyaYamakawa__workato-recipes-public");
    if let Ok(rd) = std::fs::read_dir(&atsuya) {
        let mut zips: Vec<PathBuf> = rd
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "zip"))
            .collect();
        zips.sort();
        out.extend(zips);
    }
    out
}

/// The environments planned and imported into: both shipped ones and a project with
/// properties, each initialised in `dir`.
fn environments(dir: &Path) -> [PathBuf; 3] {
    [
        init(dir, "production", &testdata("production")),
        init(dir, "sandbox", &testdata("sandbox")),
        init(
            dir,
            "project-properties",
            &testdata("reduced").join("project-properties"),
        ),
    ]
}

#[test]
fn plan_from_the_index_is_the_plan_of_the_whole_tree() {
    let dir = tempfile::tempdir().unwrap();
    let pkgs = packages(dir.path());
    assert!(pkgs.len() >= 5, "{pkgs:?}");
    let envs = environments(dir.path());
    let flag_sets: [&[&str]; 4] = [
        &[],
        &["--folder", "imported/here"],
        &["--force", "--restart-recipes"],
        &["--diff=text"],
    ];
    let mut answered = 0;
    for env in &envs {
        for pkg in &pkgs {
            for flags in flag_sets {
                let full = plan(pkg, env, flags, "off");
                // `on` writes the index when there is none or it is stale; `require` must then
                // be answered by it.
                let on = plan(pkg, env, flags, "on");
                let req = plan(pkg, env, flags, "require");
                let what = format!("{} into {} {flags:?}", pkg.display(), env.display());
                assert_eq!((full.0, &full.1), (on.0, &on.1), "{what}: `on` differs: {}", on.2);
                assert_eq!(
                    (full.0, &full.1),
                    (req.0, &req.1),
                    "{what}: `require` differs: {}",
                    req.2
                );
                if full.0 == 0 || full.0 == 3 {
                    answered += 1;
                }
            }
        }
    }
    assert!(answered > 20, "only {answered} plans compared");
}

#[test]
fn a_tree_changed_after_the_index_is_planned_from_the_whole_tree() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("orders.zip");
    export(&testdata("sandbox"), &testdata("orders-release.yaml"), &pkg);
    let env = init(dir.path(), "production", &testdata("production"));
    let before = plan(&pkg, &env, &[], "on");
    assert_eq!(plan(&pkg, &env, &[], "require").1, before.1, "the index answers");
    // A production recipe that the package updates, edited outside rlcm: now a conflict.
    let v: serde_json::Value = serde_json::from_str(&before.1).unwrap();
    let updated = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "update" && a["type"] == "recipe")
        .map(|a| a["path"].as_str().unwrap().to_string())
        .expect("the release updates a recipe");
    let file = env.join(&updated);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen(
            "\"name\"",
            "\"edited_note\": \"edited in production\",\n  \"name\"",
            1,
        ),
    )
    .unwrap();
    let (code, _, err) = plan(&pkg, &env, &[], "require");
    assert_eq!(code, 1, "the stale index still answered: {err}");
    assert!(err.contains("cannot answer"), "{err}");
    let full = plan(&pkg, &env, &[], "off");
    assert_ne!(full.1, before.1, "the edit changes the plan");
    // A conflict (the recipe changed since the last import, as the baseline says; the baseline
    // comes from the index when the plan does): not a parse error that every mode shares.
    assert_eq!(full.0, 3, "{}", full.2);
    assert!(
        full.1.contains("changed in the target since the last import"),
        "{}",
        full.1
    );
    assert_eq!(
        plan(&pkg, &env, &[], "on").1,
        full.1,
        "planned from the whole tree"
    );
    assert_eq!(
        plan(&pkg, &env, &[], "require").1,
        full.1,
        "and the index rebuilt"
    );
    // With a watcher: an edit is seen at once, the plan is right, and the next is vouched.
    let w = rlcm_in(None, &["watch", "start", "--env", env.to_str().unwrap()], &[]);
    assert!(w.status.success(), "{}", stderr(&w));
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("edited in production", "edited twice", 1)).unwrap();
    let full = plan(&pkg, &env, &[], "off");
    let unset = rlcm_in(
        None,
        &[
            "plan",
            pkg.to_str().unwrap(),
            "--env",
            env.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[("RLCM_NOW", common::NOW)],
    );
    assert_eq!(stdout(&unset), full.1, "with the watcher (RLCM_INDEX unset)");
    assert_eq!(plan(&pkg, &env, &[], "require").1, full.1);
    let _ = rlcm_in(None, &["watch", "stop", "--env", env.to_str().unwrap()], &[]);
}

/// A connector release keeps the index valid for `impact` (see `index_cli.rs`), but the
/// connector's content hashes changed: a plan then comes from the whole tree, with the target
/// digest a saved plan is checked against at import (fails when the release keeps the old
/// digest: the plan would carry a stale target digest), and the index is written afresh.
#[test]
fn after_a_connector_release_the_plan_has_the_trees_digest() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("sandbox-all.zip");
    export_all(&testdata("sandbox"), &pkg, dir.path());
    let env = init(dir.path(), "production", &testdata("production"));
    let first = plan(&pkg, &env, &[], "on");
    assert_eq!(plan(&pkg, &env, &[], "require").1, first.1);
    let rb = env.join("acme_crm.custom_adapter.rb");
    let mut code = std::fs::read(&rb).unwrap();
    code.extend_from_slice(b"\n# edited\n");
    std::fs::write(&rb, &code).unwrap();
    // The index, rebuilt for the edited tree, then kept valid by the release.
    assert_eq!(plan(&pkg, &env, &[], "on").1, plan(&pkg, &env, &[], "off").1);
    let out = rlcm_in(
        None,
        &["connector", "release", "Acme CRM", "--env", env.to_str().unwrap()],
        &[("RLCM_INDEX", "require")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let full = plan(&pkg, &env, &[], "off");
    let (code, _, err) = plan(&pkg, &env, &[], "require");
    assert_eq!(
        code, 1,
        "the index planned without knowing the tree's digest: {err}"
    );
    assert!(err.contains("cannot answer"), "{err}");
    assert_eq!(
        plan(&pkg, &env, &[], "on").1,
        full.1,
        "the plan after the release"
    );
    assert_eq!(
        plan(&pkg, &env, &[], "require").1,
        full.1,
        "answered by the fresh index"
    );
    let saved = dir.path().join("plan.json");
    let out = rlcm_in(
        None,
        &[
            "plan",
            pkg.to_str().unwrap(),
            "--env",
            env.to_str().unwrap(),
            "-o",
            saved.to_str().unwrap(),
        ],
        &[("RLCM_INDEX", "require"), ("RLCM_NOW", common::NOW)],
    );
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 3),
        "{}",
        stderr(&out)
    );
    let saved_v: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let full_v: serde_json::Value = serde_json::from_str(&full.1).unwrap();
    assert_eq!(saved_v["target_digest"], full_v["target_digest"]);
}

/// `import PKG --env ENV FLAGS --format json` with `RLCM_INDEX=mode`: exit code, stdout with
/// the environment's path replaced by `ENV`, stderr.
fn import(pkg: &Path, env: &Path, flags: &[&str], mode: &str) -> (i32, String, String) {
    let mut args = vec!["import", pkg.to_str().unwrap(), "--env", env.to_str().unwrap()];
    args.extend(flags);
    args.extend(["--format", "json"]);
    let out = rlcm_in(None, &args, &[("RLCM_INDEX", mode), ("RLCM_NOW", common::NOW)]);
    (
        out.status.code().unwrap_or(-1),
        stdout(&out).replace(env.to_str().unwrap(), "ENV"),
        stderr(&out),
    )
}

/// An import planned and staged from the production index (only the part of the tree the
/// package touches read) writes exactly what an import from the whole tree writes: the same
/// report, the same files byte for byte (tree, state, baseline, history), and its rollback
/// leaves the same tree; `RLCM_INDEX=require` proves the index answered. After it, the index
/// is stale, and the next plan (from the whole tree) is the plan of the imported tree.
#[test]
fn import_from_the_index_writes_what_an_import_of_the_whole_tree_writes() {
    let dir = tempfile::tempdir().unwrap();
    let pkgs = packages(dir.path());
    let envs = environments(dir.path());
    let flag_sets: [&[&str]; 3] = [
        &[],
        &["--folder", "imported/here"],
        &["--force", "--restart-recipes"],
    ];
    let (mut applied, mut n) = (0, 0);
    for env in &envs {
        for pkg in &pkgs {
            for flags in flag_sets {
                n += 1;
                let (a, b) = (dir.path().join(format!("a{n}")), dir.path().join(format!("b{n}")));
                copy_tree(env, &a);
                copy_tree(env, &b);
                // The copy's index, written for its own tree.
                let _ = plan(pkg, &b, flags, "on");
                let what = format!("{} into {} {flags:?}", pkg.display(), env.display());
                let full = import(pkg, &a, flags, "off");
                let indexed = import(pkg, &b, flags, "require");
                assert_eq!(
                    (full.0, &full.1),
                    (indexed.0, &indexed.1),
                    "{what}: the import from the index differs: {}",
                    indexed.2
                );
                assert!(
                    common::snapshot(&a) == common::snapshot(&b),
                    "{what}: the trees differ after the import"
                );
                let v: serde_json::Value = serde_json::from_str(&full.1).unwrap();
                if v["applied"] == true {
                    applied += 1;
                    let (code, _, err) = plan(pkg, &b, flags, "require");
                    assert_ne!(code, 0, "{what}: the index still answered after the import");
                    assert!(err.contains("cannot answer"), "{what}: {err}");
                    assert_eq!(
                        plan(pkg, &b, flags, "on").1,
                        plan(pkg, &a, flags, "off")
                            .1
                            .replace(a.to_str().unwrap(), b.to_str().unwrap()),
                        "{what}: the plan after the import"
                    );
                    for e in [&a, &b] {
                        let out = rlcm_in(
                            None,
                            &["rollback", "--env", e.to_str().unwrap()],
                            &[("RLCM_NOW", common::NOW)],
                        );
                        assert!(out.status.success(), "{what}: {}", stderr(&out));
                    }
                    assert!(
                        common::snapshot(&a) == common::snapshot(&b),
                        "{what}: the trees differ after the rollback"
                    );
                }
                std::fs::remove_dir_all(&a).unwrap();
                std::fs::remove_dir_all(&b).unwrap();
            }
        }
    }
    assert!(applied > 20, "only {applied} imports compared");
}

/// An import from the index leaves the summary cache as it is (its entries for the files it
/// wrote no longer match); the next load that parses that many of them, writing the index,
/// writes the cache again (without a watcher nothing else would: the cache would fall behind
/// by every import's files).
#[test]
fn after_imports_from_the_index_the_next_index_write_refreshes_the_summary_cache() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("orders.zip");
    export(&testdata("sandbox"), &testdata("orders-release.yaml"), &pkg);
    let env = init(dir.path(), "production", &testdata("production"));
    let cache = env.join(".rlcm/cache/summaries.bin");
    // Files modified in the last 2 s are never cached: every file is aged a minute.
    common::age_all(&env);
    let _ = plan(&pkg, &env, &[], "on");
    let before = std::fs::read(&cache).unwrap();
    let flags = ["--force", "--restart-recipes"];
    let (code, _, err) = import(&pkg, &env, &flags, "require");
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read(&cache).unwrap() == before,
        "the import from the index rewrote the summary cache"
    );
    common::age_all(&env);
    let full = plan(&pkg, &env, &[], "off");
    assert_eq!(plan(&pkg, &env, &[], "on").1, full.1);
    assert!(
        std::fs::read(&cache).unwrap() != before,
        "the load that parsed the imported files did not write the summary cache"
    );
    assert_eq!(plan(&pkg, &env, &[], "require").1, full.1);
}
