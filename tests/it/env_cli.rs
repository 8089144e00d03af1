//! Environments and the connector version lifecycle, end to end through the CLI, on copies
//! of `testdata/` and of the realworld samples; crash injection (SIGKILL) during writes and a
//! second concurrent writer.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

/// A fresh copy of the production example, initialised.
fn production() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("prod");
    copy_tree(&testdata("production"), &env);
    ok(&run(&[
        "init",
        env.to_str().unwrap(),
        "--name",
        "production",
        "--id",
        "2200000002",
    ]));
    (dir, env)
}

#[test]
fn init_adopts_connectors_at_their_version_with_provider_names() {
    let (_d, env) = production();
    let e = env.to_str().unwrap();
    let list = json(
        "connector-list",
        &["connector", "list", "--env", e, "--format", "json"],
    );
    let c = &list["connectors"][0];
    assert_eq!(c["title"], "Acme CRM");
    assert_eq!((c["latest"].as_u64(), c["released"].as_u64()), (Some(3), Some(3)));
    assert!(c["shared"].is_null());
    assert_eq!(c["provider"], "acme_crm_connector_2200000002_1710000000");
    let v = json(
        "connector-versions",
        &[
            "connector",
            "versions",
            "acme_crm",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    assert_eq!(v["versions"][0]["note"], "Add update_contact");
    assert_eq!(v["versions"][0]["created_by"], "tester");
    assert_eq!(v["versions"][0]["released_at"], NOW);
    assert!(
        v["versions"][0]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "legacy_export")
    );
    let out = run(&["init", e]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("already an rlcm environment"));
    // The state is readable JSON, and a read-only command leaves it byte-identical.
    let before = snapshot(&env);
    ok(&run(&["connector", "list", "--env", e]));
    ok(&run(&["check", "--env", e]));
    assert_eq!(before, snapshot(&env));
}

#[test]
fn init_mints_a_provider_for_an_unused_connector_and_reads_realworld_trees() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("ha");
    copy_tree(
        &realworld("workato-devs__dewy-resort/workato/recipes/home-assistant"),
        &env,
    );
    let r = json(
        "init",
        &["init", env.to_str().unwrap(), "--format", "json", "--id", "42"],
    );
    assert_eq!(
        r["connectors"][0]["provider"],
        "nabu_casa_home_assistant_cloud__connector_2100002083_1768260720"
    );
    assert_eq!(r["connectors"][0]["minted"], false);
    assert_eq!(r["connectors"][0]["version"], 2);
    // A connector no recipe uses gets a minted `<prefix>_connector_<env id>_<time>` name.
    let lone = dir.path().join("lone");
    std::fs::create_dir_all(&lone).unwrap();
    for f in [
        "nabu_casa_home_assistant_cloud.custom_adapter.json",
        "nabu_casa_home_assistant_cloud.custom_adapter.rb",
    ] {
        std::fs::copy(env.join(f), lone.join(f)).unwrap();
    }
    let r = json(
        "init",
        &["init", lone.to_str().unwrap(), "--format", "json", "--id", "77"],
    );
    let p = r["connectors"][0]["provider"].as_str().unwrap();
    assert!(
        p.starts_with("nabu_casa_home_assistant_cloud__connector_77_"),
        "{p}"
    );
    assert_eq!(r["connectors"][0]["minted"], true);
}

#[test]
fn init_from_every_realworld_zip() {
    let dir = tempfile::tempdir().unwrap();
    let zips = std::fs::read_dir(realworld("AtsuyaYamakawa__workato-recipes-public"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .chain([realworld(
            "Pratik-Kumar-621__tibco-to-workato/shailesh-tibco-workato-migration_shailesh-tibco-workato-migration.zip",
        )]);
    for (i, zip) in zips.enumerate() {
        let env = dir.path().join(format!("env{i}"));
        let r = json(
            "init",
            &[
                "init",
                env.to_str().unwrap(),
                "--from",
                zip.to_str().unwrap(),
                "--format",
                "json",
            ],
        );
        let inspect_zip = json("inspect", &["inspect", zip.to_str().unwrap(), "--format", "json"]);
        let inspect_env = json("inspect", &["inspect", env.to_str().unwrap(), "--format", "json"]);
        assert_eq!(inspect_zip["assets"], inspect_env["assets"], "{}", zip.display());
        assert_eq!(
            inspect_zip["references"],
            inspect_env["references"],
            "{}",
            zip.display()
        );
        assert_eq!(
            r["assets"].as_u64().unwrap() as usize,
            inspect_env["assets"].as_array().unwrap().len()
        );
        let list = json(
            "connector-list",
            &[
                "connector",
                "list",
                "--env",
                env.to_str().unwrap(),
                "--format",
                "json",
            ],
        );
        assert_eq!(
            list["connectors"].as_array().unwrap().len(),
            inspect_zip["connectors"].as_array().unwrap().len()
        );
    }
}

#[test]
fn commit_release_restore_share_diff_check() {
    let (_d, env) = production();
    let e = env.to_str().unwrap();
    let rb = env.join("acme_crm.custom_adapter.rb");
    // Nothing to commit yet.
    let r = json(
        "connector-change",
        &[
            "connector",
            "commit",
            "Acme CRM",
            "--note",
            "x",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    assert_eq!(r["action"], "none");
    // Edit the tree: the sandbox's code drops `legacy_export`, which a production recipe uses.
    std::fs::copy(testdata("sandbox/acme_crm.custom_adapter.rb"), &rb).unwrap();
    let c = json("check", &["check", "--env", e, "--format", "json"]);
    assert!(
        c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "uncommitted-connector-change")
    );
    // connector check on the tree's code: exit 3, the breaking recipe and step named.
    let out = run(&[
        "connector",
        "check",
        "Acme CRM",
        "tree",
        "--env",
        e,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("connector-check", &v);
    assert_eq!(
        v["breaking"][0]["recipe"],
        "prod-only/legacy_nightly_export.recipe.json"
    );
    assert_eq!(v["breaking"][0]["name"], "legacy_export");
    // Release without VERSION autosaves then refuses (exit 3): nothing changes.
    let before = snapshot(&env);
    let out = run(&["connector", "release", "Acme CRM", "--env", e]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("prod-only/legacy_nightly_export.recipe.json")
            && stderr(&out).contains("legacy_export")
    );
    assert_eq!(before, snapshot(&env));
    // Commit: version 4, tree JSON says so; released stays 3.
    let r = json(
        "connector-change",
        &[
            "connector",
            "commit",
            "acme_crm",
            "--note",
            "Drop legacy",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (
            r["version"].as_u64(),
            r["latest"].as_u64(),
            r["released"].as_u64()
        ),
        (Some(4), Some(4), Some(3))
    );
    let tree_json = std::fs::read_to_string(env.join("acme_crm.custom_adapter.json")).unwrap();
    assert!(
        tree_json.contains("\"version_no\": 4")
            && tree_json.contains("\"note\": \"Drop legacy\"")
            && !tree_json.ends_with('\n')
    );
    // Diff 3 → 4: legacy_export removed, merge_contacts added.
    let d = json(
        "connector-diff",
        &[
            "connector",
            "diff",
            "Acme CRM",
            "3",
            "4",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    assert_eq!(d["actions_removed"], serde_json::json!(["legacy_export"]));
    assert_eq!(d["actions_added"], serde_json::json!(["merge_contacts"]));
    assert!(d["diff"].as_str().unwrap().contains("-    legacy_export: {"));
    // Forced release records who and when.
    let r = json(
        "connector-change",
        &[
            "connector",
            "release",
            "Acme CRM",
            "4",
            "--force",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    assert_eq!(r["released"], 4);
    assert_eq!(r["breaking"][0]["name"], "legacy_export");
    let out = run(&["check", "--env", e, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("check", &c);
    assert_eq!(c["ok"], false);
    assert!(
        c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "broken-recipe")
    );
    // Restore 3 as version 5, released; the tree shows it.
    let r = json(
        "connector-change",
        &[
            "connector",
            "restore",
            "Acme CRM",
            "3",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (r["version"].as_u64(), r["released"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(
        std::fs::read(&rb).unwrap(),
        std::fs::read(testdata("production/acme_crm.custom_adapter.rb")).unwrap()
    );
    let v = json(
        "connector-versions",
        &[
            "connector",
            "versions",
            "Acme CRM",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    let last = &v["versions"][2];
    assert_eq!(
        (last["version"].as_u64(), last["note"].as_str()),
        (Some(5), Some("Restored from version 3"))
    );
    assert_eq!(last["origin"], "restore of 3");
    assert_eq!(v["versions"][1]["released_by"], "tester");
    // Share: default latest.
    let r = json(
        "connector-change",
        &["connector", "share", "Acme CRM", "--env", e, "--format", "json"],
    );
    assert_eq!(r["shared"], 5);
    let c = json("check", &["check", "--env", e, "--format", "json"]);
    assert_eq!(c["ok"], true, "{c:#}");
    // A release of unparseable Ruby is refused.
    std::fs::write(&rb, "{\n  actions: {\n").unwrap();
    let out = run(&["connector", "release", "Acme CRM", "--env", e]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("does not parse"), "{}", stderr(&out));
}

#[test]
fn recipe_running_state() {
    let (_d, env) = production();
    let e = env.to_str().unwrap();
    let r = json(
        "recipe-list",
        &[
            "recipe",
            "start",
            "prod-only/contact_watch.recipe.json",
            "orders/sync_orders.recipe.json",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    assert!(
        r["recipes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["running"] == true)
    );
    let r = json(
        "recipe-list",
        &["recipe", "list", "--running", "--env", e, "--format", "json"],
    );
    assert_eq!(r["recipes"].as_array().unwrap().len(), 2);
    assert_eq!(r["recipes"][0]["since"], NOW);
    let imp = json("impact", &["impact", "Acme CRM", "--env", e, "--format", "json"]);
    let watch = imp["dependents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["recipe"] == "prod-only/contact_watch.recipe.json")
        .unwrap();
    assert_eq!(watch["running"], true);
    ok(&run(&[
        "recipe",
        "stop",
        "orders/sync_orders.recipe.json",
        "--env",
        e,
    ]));
    let r = json(
        "recipe-list",
        &["recipe", "list", "--running", "--env", e, "--format", "json"],
    );
    assert_eq!(r["recipes"].as_array().unwrap().len(), 1);
    let out = run(&["recipe", "start", "nope.recipe.json", "--env", e]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nope.recipe.json"));
}

#[test]
fn check_reports_dangling_references_and_cycles() {
    let out = run(&[
        "check",
        "--env",
        testdata("broken").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("check", &v);
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "dangling-reference").count(), 2);
    assert!(kinds.contains(&"call-cycle"));
}

/// Kills `args` at every crash point of its write, on the production example prepared by `setup`.
fn crash_everywhere(setup: impl Fn(&Path), args: &[&str]) -> usize {
    let (_d, env) = production();
    setup(&env);
    kill_at_every_crash_point(&env, args)
}

#[test]
fn sigkill_during_commit_release_restore_leaves_before_or_after() {
    let edit = |env: &Path| {
        std::fs::copy(
            testdata("sandbox/acme_crm.custom_adapter.rb"),
            env.join("acme_crm.custom_adapter.rb"),
        )
        .unwrap();
    };
    let n = crash_everywhere(
        edit,
        &["connector", "commit", "Acme CRM", "--note", "n", "--env", "ENV"],
    );
    assert!(n >= 5, "only {n} crash points");
    // A compatible edit (a new action): release autosaves it as version 4 and releases it.
    let compatible = |env: &Path| {
        let rb = env.join("acme_crm.custom_adapter.rb");
        let code = std::fs::read_to_string(&rb).unwrap();
        let code = code.replacen(
            "  actions: {",
            "  actions: {\n    ping: { execute: lambda { |c, i| {} } },",
            1,
        );
        std::fs::write(&rb, code).unwrap();
    };
    let n = crash_everywhere(compatible, &["connector", "release", "Acme CRM", "--env", "ENV"]);
    assert!(n >= 5, "only {n} crash points");
    let committed = |env: &Path| {
        edit(env);
        ok(&run(&[
            "connector",
            "commit",
            "Acme CRM",
            "--note",
            "n",
            "--env",
            env.to_str().unwrap(),
        ]));
    };
    let n = crash_everywhere(
        committed,
        &["connector", "restore", "Acme CRM", "3", "--env", "ENV"],
    );
    assert!(n >= 5, "only {n} crash points");
}

#[test]
fn a_second_writer_fails_clearly_or_waits() {
    let (_d, env) = production();
    let e = env.to_str().unwrap();
    let lock = rlcm::env::EnvLock::acquire(&env, false, "test holder").unwrap();
    let before = snapshot(&env);
    let out = run(&["recipe", "start", "--all", "--env", e]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("locked by another rlcm process") && stderr(&out).contains("test holder"),
        "{}",
        stderr(&out)
    );
    assert_eq!(before, snapshot(&env));
    // With --wait it proceeds once the holder lets go.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rlcm"))
        .args(["recipe", "start", "--all", "--wait", "--env", e])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "did not wait");
    drop(lock);
    let status = child.wait().unwrap();
    assert!(status.success());
    let r = json(
        "recipe-list",
        &["recipe", "list", "--running", "--env", e, "--format", "json"],
    );
    assert!(!r["recipes"].as_array().unwrap().is_empty());
}

#[test]
fn concurrent_writers_never_lose_updates() {
    let (_d, env) = production();
    let e = env.to_str().unwrap().to_string();
    let recipes = [
        "orders/sync_orders.recipe.json",
        "prod-only/contact_watch.recipe.json",
        "prod-only/weekly_report.recipe.json",
        "shared/enrich_order.recipe.json",
    ];
    let handles: Vec<_> = recipes
        .iter()
        .map(|r| {
            let (e, r) = (e.clone(), r.to_string());
            std::thread::spawn(move || rlcm_in(None, &["recipe", "start", &r, "--wait", "--env", &e], &[]))
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().status.success());
    }
    let r = json(
        "recipe-list",
        &["recipe", "list", "--running", "--env", &e, "--format", "json"],
    );
    assert_eq!(r["recipes"].as_array().unwrap().len(), recipes.len());
}

/// Issue 11, item 11: only a released version can be shared (the seed: "you need to have at
/// least one released version to enable sharing").
#[test]
fn share_only_released_versions() {
    let (_d, env) = production();
    let e = env.to_str().unwrap();
    let versions = |env: &str| {
        json(
            "connector-versions",
            &[
                "connector",
                "versions",
                "Acme CRM",
                "--env",
                env,
                "--format",
                "json",
            ],
        )
    };
    let released = versions(e)["released"].as_u64().unwrap();
    // A new latest version, committed but not released.
    let rb = env.join("acme_crm.custom_adapter.rb");
    let mut code = std::fs::read(&rb).unwrap();
    code.extend_from_slice(b"\n# an edit\n");
    std::fs::write(&rb, &code).unwrap();
    let r = json(
        "connector-change",
        &[
            "connector",
            "commit",
            "Acme CRM",
            "--note",
            "wip",
            "--env",
            e,
            "--format",
            "json",
        ],
    );
    let latest = r["latest"].as_u64().unwrap();
    assert!(latest > released);
    // Sharing the unreleased latest is refused, and nothing changes.
    let before = snapshot(&env);
    let out = run(&["connector", "share", "Acme CRM", &latest.to_string(), "--env", e]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("never released"), "{}", stderr(&out));
    assert_eq!(snapshot(&env), before);
    // The default is the released version, not the latest.
    let r = json(
        "connector-change",
        &["connector", "share", "Acme CRM", "--env", e, "--format", "json"],
    );
    assert_eq!(
        (r["action"].as_str(), r["shared"].as_u64()),
        (Some("share"), Some(released))
    );
    // Again: a no-op that says so.
    let r = json(
        "connector-change",
        &["connector", "share", "Acme CRM", "--env", e, "--format", "json"],
    );
    assert_eq!(r["action"], "none");
    assert!(r["message"].as_str().unwrap().contains("already"), "{r}");
    // A connector with no released version at all.
    std::fs::write(
        env.join("beta.custom_adapter.json"),
        br#"{"title": "Beta Conn", "description": "", "version_no": 1, "note": null}"#,
    )
    .unwrap();
    std::fs::write(
        env.join("beta.custom_adapter.rb"),
        b"{\n  title: 'Beta Conn',\n  actions: {}\n}\n",
    )
    .unwrap();
    let before = snapshot(&env);
    let out = run(&["connector", "share", "Beta Conn", "--env", e]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("you need to have at least one released version to enable sharing"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&env), before);
}
