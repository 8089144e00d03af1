//! `rlcm plan`, `import`, `promote`, `history`, `rollback`, end to end on the shipped examples:
//! every action and severity, the breaking case, a chain of three calls, a conflict, a stale
//! plan, re-import idempotence, rollback, `--folder` placement, and SIGKILL mid-apply.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

struct Setup {
    _dir: tempfile::TempDir,
    sandbox: PathBuf,
    prod: PathBuf,
    pkg: PathBuf,
}

impl Setup {
    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }
    fn sandbox(&self) -> &str {
        Self::s(&self.sandbox)
    }
    fn prod(&self) -> &str {
        Self::s(&self.prod)
    }
    fn pkg(&self) -> &str {
        Self::s(&self.pkg)
    }
    fn export(&self, extra: &[&str]) {
        let mut args = vec!["export", "--env", self.sandbox(), "-o", self.pkg()];
        if extra.is_empty() {
            args.extend([
                "--manifest",
                MANIFEST.get_or_init(|| testdata("orders-release.yaml").display().to_string()),
            ]);
        }
        args.extend_from_slice(extra);
        ok(&run(&args));
    }
}

static MANIFEST: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sandbox and production initialised; the package is the README's orders release.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
    let prod = env_copy(dir.path(), "production", "2200000002");
    let pkg = dir.path().join("orders.zip");
    let s = Setup {
        sandbox,
        prod,
        pkg,
        _dir: dir,
    };
    s.export(&[]);
    s
}

/// Makes the sandbox connector compatible again (keeps `legacy_export`), released.
fn fix_connector(s: &Setup) {
    release_compatible_connector(&s.sandbox);
}

fn plan(s: &Setup, code: i32, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", s.pkg(), "--env", s.prod(), "--format", "json"];
    args.extend_from_slice(extra);
    json_code("plan", code, &args)
}

fn action_of<'a>(p: &'a serde_json::Value, path: &str) -> &'a str {
    p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in plan"))["action"]
        .as_str()
        .unwrap()
}

fn impact_of<'a>(p: &'a serde_json::Value, recipe: &str) -> &'a serde_json::Value {
    p["impact"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["recipe"] == recipe)
        .unwrap_or_else(|| panic!("{recipe} not in impact:\n{:#}", p["impact"]))
}

fn blocker_kinds(p: &serde_json::Value) -> Vec<String> {
    p["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn plan_has_every_action_and_severity_and_blocks_until_forced() {
    let s = setup();
    // Production: a running recipe the package updates, a running one it does not, and a
    // hand edit since init of one the package also changes.
    ok(&run(&[
        "recipe",
        "start",
        "orders/sync_orders.recipe.json",
        "prod-only/contact_watch.recipe.json",
        "--env",
        s.prod(),
    ]));
    let edited = s.prod.join("shared/lookup_customer.recipe.json");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(
        &edited,
        text.replacen("\"description\": \"", "\"description\": \"hotfix: ", 1),
    )
    .unwrap();
    let before = snapshot(&s.prod);

    let p = plan(&s, 3, &[]);
    assert_eq!(
        action_of(&p, "contacts/merge_duplicate_contacts.recipe.json"),
        "create"
    );
    assert_eq!(action_of(&p, "orders/sync_orders.recipe.json"), "update_running");
    assert_eq!(action_of(&p, "shared/lookup_customer.recipe.json"), "conflict");
    assert_eq!(action_of(&p, "shared/enrich_order.recipe.json"), "no_change");
    assert_eq!(
        action_of(&p, "contacts/create_contact_from_form.recipe.json"),
        "no_change",
        "differs only by provider name"
    );
    assert_eq!(
        action_of(&p, "Workspace Connections/acme_crm_account.connection.json"),
        "keep"
    );
    assert_eq!(
        action_of(&p, "Workspace Connections/slack_ops_bot.connection.json"),
        "create"
    );
    assert_eq!(action_of(&p, "acme_crm.custom_adapter.json"), "new_version");
    assert_eq!(action_of(&p, "account_properties.properties.json"), "update");
    let c = &p["connectors"][0];
    assert_eq!(
        (
            c["action"].as_str(),
            c["from_version"].as_u64(),
            c["to_version"].as_u64()
        ),
        (Some("new_version"), Some(3), Some(4))
    );
    assert_eq!(c["released"], true);
    assert_eq!(c["note"], "Drop legacy_export; add merge_contacts");
    assert_eq!(c["actions_removed"], serde_json::json!(["legacy_export"]));
    assert_eq!(c["target_provider"], "acme_crm_connector_2200000002_1710000000");
    // Impact: breaking outside the package, restart, affected through a chain, running state.
    let b = impact_of(&p, "prod-only/legacy_nightly_export.recipe.json");
    assert_eq!(
        (b["severity"].as_str(), b["in_package"].as_bool()),
        (Some("breaking"), Some(false))
    );
    assert_eq!(b["missing"], serde_json::json!(["action:legacy_export"]));
    let r = impact_of(&p, "orders/sync_orders.recipe.json");
    assert_eq!(
        (
            r["severity"].as_str(),
            r["running"].as_bool(),
            r["in_package"].as_bool()
        ),
        (Some("restart"), Some(true), Some(true))
    );
    let w = impact_of(&p, "prod-only/contact_watch.recipe.json");
    assert_eq!(
        (w["severity"].as_str(), w["running"].as_bool()),
        (Some("affected"), Some(true))
    );
    let wr = impact_of(&p, "prod-only/weekly_report.recipe.json");
    assert_eq!(wr["severity"], "affected");
    assert_eq!(wr["via"][0], "prod-only/weekly_report.recipe.json");
    assert!(wr["via"].as_array().unwrap().len() >= 3, "{wr:#}");
    let mut kinds = blocker_kinds(&p);
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["breaking-change", "conflict", "running-recipe"]);
    assert_eq!(p["blocked"], true);
    // import with the same flags is refused the same way, and writes nothing.
    let out = run(&["import", s.pkg(), "--env", s.prod()]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(before, snapshot(&s.prod));
    // --restart-recipes lifts one blocker; --force the others.
    let p = plan(&s, 3, &["--restart-recipes"]);
    assert!(!blocker_kinds(&p).contains(&"running-recipe".to_string()));
    let p = plan(&s, 0, &["--restart-recipes", "--force"]);
    assert_eq!(p["blocked"], false);
    // Markdown for CI summaries.
    let md = ok(&run(&[
        "plan",
        s.pkg(),
        "--env",
        s.prod(),
        "--format",
        "markdown",
        "--force",
        "--restart-recipes",
    ]));
    assert!(
        md.contains("| severity | recipe |")
            && md.contains("BREAKING")
            && md.contains("legacy_nightly_export"),
        "{md}"
    );
    let human = stdout(&run(&["plan", s.pkg(), "--env", s.prod()]));
    assert!(
        human.contains("BLOCKED") && human.contains("BREAKING") && human.contains("not in package"),
        "{human}"
    );
    // Forced import applies; the running recipe is restarted and stays running.
    let r = json(
        "plan",
        &[
            "import",
            s.pkg(),
            "--env",
            s.prod(),
            "--force",
            "--restart-recipes",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (r["applied"].as_bool(), r["import_id"].as_u64()),
        (Some(true), Some(1))
    );
    let running = json(
        "recipe-list",
        &[
            "recipe",
            "list",
            "--running",
            "--env",
            s.prod(),
            "--format",
            "json",
        ],
    );
    assert!(
        running["recipes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["path"] == "orders/sync_orders.recipe.json")
    );
}

#[test]
fn a_chain_of_three_calls_reaches_a_recipe_outside_the_package() {
    let s = setup();
    let f = s.sandbox.join("shared/normalize_address.recipe.json");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replacen("\"description\": \"", "\"description\": \"v2: ", 1),
    )
    .unwrap();
    s.export(&[
        "--recipe",
        "shared/normalize_address.recipe.json",
        "--no-dependencies",
    ]);
    let p = plan(&s, 0, &[]);
    assert_eq!(action_of(&p, "shared/normalize_address.recipe.json"), "update");
    let w = impact_of(&p, "prod-only/weekly_report.recipe.json");
    assert_eq!(
        w["via"],
        serde_json::json!([
            "prod-only/weekly_report.recipe.json",
            "shared/enrich_order.recipe.json",
            "shared/lookup_customer.recipe.json",
            "shared/normalize_address.recipe.json"
        ])
    );
    assert_eq!(
        (w["in_package"].as_bool(), w["severity"].as_str()),
        (Some(false), Some("affected"))
    );
}

#[test]
fn clean_import_rewrites_providers_and_is_idempotent_with_history() {
    let s = setup();
    fix_connector(&s);
    s.export(&[]);
    let p = plan(&s, 10, &["--detailed-exitcode"]);
    assert_eq!(p["blocked"], false, "{:#}", p["blockers"]);
    let r = json(
        "plan",
        &["import", s.pkg(), "--env", s.prod(), "--format", "json"],
    );
    assert_eq!(r["applied"], true);
    // Provider names rewritten to production's in every imported recipe; every reference resolves.
    let merged =
        std::fs::read_to_string(s.prod.join("contacts/merge_duplicate_contacts.recipe.json")).unwrap();
    assert!(
        merged.contains("acme_crm_connector_2200000002_1710000000")
            && !merged.contains("acme_crm_connector_1100000001"),
        "{merged}"
    );
    let c = json("check", &["check", "--env", s.prod(), "--format", "json"]);
    assert_eq!(c["ok"], true, "{c:#}");
    let list = json(
        "connector-list",
        &["connector", "list", "--env", s.prod(), "--format", "json"],
    );
    assert_eq!(
        (
            list["connectors"][0]["latest"].as_u64(),
            list["connectors"][0]["released"].as_u64()
        ),
        (Some(4), Some(4))
    );
    assert!(
        list["connectors"][0]["shared"].is_null(),
        "shared version untouched"
    );
    // Same package again: nothing to change, not recorded.
    let p = plan(&s, 0, &["--detailed-exitcode"]);
    assert!(
        p["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["action"] == "no_change" || a["action"] == "keep"),
        "{:#}",
        p["actions"]
    );
    let before = snapshot(&s.prod);
    let r = json(
        "plan",
        &["import", s.pkg(), "--env", s.prod(), "--format", "json"],
    );
    assert_eq!(r["applied"], false);
    assert_eq!(before, snapshot(&s.prod));
    let h = json("history", &["history", "--env", s.prod(), "--format", "json"]);
    assert_eq!(h["imports"].as_array().unwrap().len(), 1);
    assert_eq!(h["imports"][0]["user"], "tester");
    assert_eq!(h["imports"][0]["counts"]["new_version"], 1);
}

#[test]
fn a_stale_saved_plan_is_refused() {
    let s = setup();
    fix_connector(&s);
    s.export(&[]);
    let saved = s.pkg.with_extension("plan.json");
    let out = run(&[
        "plan",
        s.pkg(),
        "--env",
        s.prod(),
        "-o",
        saved.to_str().unwrap(),
        "--format",
        "json",
    ]);
    ok(&out);
    ok(&run(&[
        "recipe",
        "start",
        "prod-only/weekly_report.recipe.json",
        "--env",
        s.prod(),
    ]));
    let before = snapshot(&s.prod);
    let out = run(&["import", "--plan", saved.to_str().unwrap(), "--env", s.prod()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
    assert_eq!(before, snapshot(&s.prod));
    // A fresh plan imports.
    ok(&run(&[
        "plan",
        s.pkg(),
        "--env",
        s.prod(),
        "-o",
        saved.to_str().unwrap(),
    ]));
    let r = json(
        "plan",
        &[
            "import",
            "--plan",
            saved.to_str().unwrap(),
            "--env",
            s.prod(),
            "--format",
            "json",
        ],
    );
    assert_eq!(r["applied"], true);
}

#[test]
fn rollback_restores_assets_versions_running_state_and_baseline() {
    let s = setup();
    ok(&run(&[
        "recipe",
        "start",
        "orders/sync_orders.recipe.json",
        "--env",
        s.prod(),
    ]));
    let before = snapshot(&s.prod);
    let r = json(
        "plan",
        &[
            "import",
            s.pkg(),
            "--env",
            s.prod(),
            "--force",
            "--restart-recipes",
            "--format",
            "json",
        ],
    );
    assert_eq!(r["import_id"], 1);
    assert_ne!(before, snapshot(&s.prod));
    let rb = json("rollback", &["rollback", "--env", s.prod(), "--format", "json"]);
    assert_eq!(rb["import_id"], 1);
    assert_eq!(rb["versions_rolled_back"], serde_json::json!(["Acme CRM v4"]));
    let after = snapshot(&s.prod);
    // Every tree file, the running state and the baseline are as before, byte for byte.
    for (path, bytes) in &before {
        if path.starts_with(".rlcm/connectors/acme_crm.json") {
            continue;
        }
        assert_eq!(Some(bytes), after.get(path), "{path} differs after rollback");
    }
    let extra: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(
        extra
            .iter()
            .all(|k| k.starts_with(".rlcm/history/") || *k == ".rlcm/connectors/acme_crm/v4.rb"),
        "{extra:?}"
    );
    // The appended version stays in the history, marked; released is back to 3.
    let v = json(
        "connector-versions",
        &[
            "connector",
            "versions",
            "Acme CRM",
            "--env",
            s.prod(),
            "--format",
            "json",
        ],
    );
    assert_eq!((v["latest"].as_u64(), v["released"].as_u64()), (Some(3), Some(3)));
    assert_eq!(v["versions"][1]["rolled_back"], true);
    let c = json("check", &["check", "--env", s.prod(), "--format", "json"]);
    assert_eq!(c["ok"], true, "{c:#}");
    let h = json("history", &["history", "--env", s.prod(), "--format", "json"]);
    assert!(h["imports"][0]["rolled_back_at"].is_string());
    // Version numbers are never reused.
    json(
        "plan",
        &[
            "import",
            s.pkg(),
            "--env",
            s.prod(),
            "--force",
            "--restart-recipes",
            "--format",
            "json",
        ],
    );
    let v = json(
        "connector-versions",
        &[
            "connector",
            "versions",
            "Acme CRM",
            "--env",
            s.prod(),
            "--format",
            "json",
        ],
    );
    assert_eq!(v["released"], 5);
    // Rolling back an import a later one built on is refused unless --force.
    fix_connector(&s);
    s.export(&[]);
    json(
        "plan",
        &[
            "import",
            s.pkg(),
            "--env",
            s.prod(),
            "--force",
            "--restart-recipes",
            "--format",
            "json",
        ],
    );
    let out = run(&["rollback", "2", "--env", s.prod()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("later import"), "{}", stderr(&out));
    ok(&run(&["rollback", "--env", s.prod()]));
    ok(&run(&["rollback", "--env", s.prod()]));
    let c = json("check", &["check", "--env", s.prod(), "--format", "json"]);
    assert_eq!(c["ok"], true, "{c:#}");
}

#[test]
fn folder_placement_and_promote() {
    let s = setup();
    fix_connector(&s);
    s.export(&["--folder", "orders"]);
    let p = plan(&s, 0, &["--folder", "Imported"]);
    assert_eq!(action_of(&p, "Imported/orders/sync_orders.recipe.json"), "create");
    // Connections and connectors are matched where they are.
    assert_eq!(
        action_of(&p, "Workspace Connections/acme_crm_account.connection.json"),
        "keep"
    );
    assert_eq!(action_of(&p, "acme_crm.custom_adapter.json"), "new_version");
    ok(&run(&[
        "import",
        s.pkg(),
        "--env",
        s.prod(),
        "--folder",
        "Imported",
    ]));
    let c = json("check", &["check", "--env", s.prod(), "--format", "json"]);
    assert_eq!(c["ok"], true, "{c:#}");
    let text = std::fs::read_to_string(s.prod.join("Imported/orders/sync_orders.recipe.json")).unwrap();
    assert!(
        text.contains("\"zip_name\": \"Imported/shared/enrich_order.recipe.json\""),
        "{text}"
    );
    // promote = export + import.
    let r = json(
        "plan",
        &[
            "promote",
            "--from",
            s.sandbox(),
            "--to",
            s.prod(),
            "--export-folder",
            "contacts",
            "--format",
            "json",
        ],
    );
    assert_eq!(r["applied"], true);
    assert!(
        s.prod
            .join("contacts/merge_duplicate_contacts.recipe.json")
            .exists()
    );
}

#[test]
fn lookup_rows_replaced_only_on_request() {
    let s = setup();
    fix_connector(&s);
    let table = s.prod.join("country_codes.lookup_table.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&table).unwrap()).unwrap();
    v["data"] = serde_json::Value::from("ZZ,Production only\n");
    std::fs::write(&table, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    // Re-init so the edit is the baseline (not a conflict).
    std::fs::remove_dir_all(s.prod.join(".rlcm")).unwrap();
    ok(&run(&["init", s.prod(), "--id", "2200000002"]));
    s.export(&[
        "--folder",
        "",
        "--include-lookup-data",
        "--exclude",
        "orders/experimental/**",
    ]);
    ok(&run(&["import", s.pkg(), "--env", s.prod(), "--force"]));
    assert!(
        std::fs::read_to_string(&table)
            .unwrap()
            .contains("Production only")
    );
    ok(&run(&[
        "import",
        s.pkg(),
        "--env",
        s.prod(),
        "--force",
        "--overwrite-lookup-data",
    ]));
    assert!(
        !std::fs::read_to_string(&table)
            .unwrap()
            .contains("Production only")
    );
}

/// Kills the import (or its rollback) at every crash point; each time the next command
/// recovers, check is clean, and production is exactly before or after.
#[test]
fn sigkill_mid_apply_leaves_before_or_after() {
    let s = setup();
    fix_connector(&s);
    s.export(&[]);
    let killed = kill_at_every_crash_point(&s.prod, &["import", s.pkg(), "--env", "ENV"]);
    assert!(killed >= 15, "only {killed} import crash points");
    // Rollback, killed everywhere too.
    ok(&run(&["import", s.pkg(), "--env", s.prod()]));
    let killed = kill_at_every_crash_point(&s.prod, &["rollback", "--env", "ENV"]);
    assert!(killed >= 10, "only {killed} rollback crash points");
}

/// The same with the import planned and staged from the production index (built on each copy
/// first; `RLCM_INDEX=require` makes sure it answers): killed anywhere, production is before
/// or after.
#[test]
fn sigkill_mid_apply_from_the_index_leaves_before_or_after() {
    let s = setup();
    fix_connector(&s);
    s.export(&[]);
    let pkg = s.pkg().to_string();
    let build_index = |env: &std::path::Path| {
        let out = rlcm_in(
            None,
            &["plan", &pkg, "--env", env.to_str().unwrap(), "--format", "json"],
            &[("RLCM_INDEX", "on")],
        );
        assert!(
            out.status.code().is_some_and(|c| c == 0 || c == 3),
            "{}",
            stderr(&out)
        );
    };
    let killed = kill_at_every_crash_point_with(
        &s.prod,
        &["import", s.pkg(), "--env", "ENV"],
        &[("RLCM_INDEX", "require")],
        &build_index,
    );
    assert!(killed >= 15, "only {killed} import crash points");
}

#[test]
fn a_second_import_fails_clearly_while_one_runs() {
    let s = setup();
    let lock = rlcm::env::EnvLock::acquire(&s.prod, false, "import").unwrap();
    let out = run(&[
        "import",
        s.pkg(),
        "--env",
        s.prod(),
        "--force",
        "--restart-recipes",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("locked by another rlcm process"),
        "{}",
        stderr(&out)
    );
    drop(lock);
}

/// An import and a release started together: one proceeds, the other waits (`--wait`) or fails
/// with a clear message; the result is consistent and nothing is lost.
#[test]
fn concurrent_import_and_release_stay_consistent() {
    for wait in [true, false] {
        let s = setup();
        fix_connector(&s);
        s.export(&[]);
        // A compatible edit to release in production at the same time.
        let rb = s.prod.join("acme_crm.custom_adapter.rb");
        let code = std::fs::read_to_string(&rb).unwrap();
        std::fs::write(
            &rb,
            code.replacen("  actions: {", "  actions: {\n    ping: {},", 1),
        )
        .unwrap();
        let spawn = |args: Vec<String>| {
            std::thread::spawn(move || {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                run(&a)
            })
        };
        let mut import = vec![
            "import".to_string(),
            s.pkg().into(),
            "--env".into(),
            s.prod().into(),
            "--force".into(),
        ];
        let mut release = vec![
            "connector".to_string(),
            "release".into(),
            "Acme CRM".into(),
            "--env".into(),
            s.prod().into(),
        ];
        if wait {
            import.push("--wait".into());
            release.push("--wait".into());
        }
        let (a, b) = (spawn(import), spawn(release));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        for out in [&a, &b] {
            if !out.status.success() {
                assert!(!wait, "with --wait both proceed: {}", stderr(out));
                assert!(
                    stderr(out).contains("locked by another rlcm process"),
                    "{}",
                    stderr(out)
                );
            }
        }
        assert!(a.status.success() || b.status.success());
        let c = json("check", &["check", "--env", s.prod(), "--format", "json"]);
        assert!(
            !c["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["kind"] == "state-damaged"),
            "{c:#}"
        );
        // Version numbers are unique and the released one exists.
        let v = json(
            "connector-versions",
            &[
                "connector",
                "versions",
                "Acme CRM",
                "--env",
                s.prod(),
                "--format",
                "json",
            ],
        );
        let nums: Vec<u64> = v["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["version"].as_u64().unwrap())
            .collect();
        let mut dedup = nums.clone();
        dedup.dedup();
        assert_eq!(nums, dedup);
        assert!(nums.contains(&v["released"].as_u64().unwrap()));
    }
}

/// SIGKILL from outside at instants spread over a whole import of a few hundred recipes (so the
/// kill also lands inside file writes, not only between them): each time the next command
/// recovers and production is exactly before or after.
#[test]
fn external_sigkill_at_spread_instants_of_a_large_import() {
    let dir = tempfile::tempdir().unwrap();
    let generator = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_env.py");
    let (sb, prod) = (dir.path().join("sb"), dir.path().join("prod"));
    for (out, extra) in [
        (&sb, vec![]),
        (
            &prod,
            vec!["--env-id", "2200000002", "--drift", "0.3", "--extra", "20"],
        ),
    ] {
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(&generator)
            .args(["--out", out.to_str().unwrap(), "--recipes", "200"])
            .args(&extra);
        assert!(cmd.status().unwrap().success());
    }
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
    let import = |env: &Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rlcm"));
        cmd.args([
            "import",
            pkg.to_str().unwrap(),
            "--env",
            env.to_str().unwrap(),
            "--force",
            "--restart-recipes",
        ])
        .env("RLCM_NOW", NOW)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        cmd
    };
    let reference = dir.path().join("reference");
    copy_tree(&prod, &reference);
    let before = snapshot(&reference);
    let t = std::time::Instant::now();
    assert!(import(&reference).status().unwrap().success());
    let duration = t.elapsed();
    let after = snapshot(&reference);
    let trials = 16;
    let mut outcomes = [0; 2];
    for k in 0..trials {
        let victim = dir.path().join(format!("v{k}"));
        copy_tree(&prod, &victim);
        let mut child = import(&victim).spawn().unwrap();
        std::thread::sleep(duration.mul_f64((k as f64 + 0.5) / trials as f64));
        let _ = child.kill();
        let _ = child.wait();
        let c = run(&["check", "--env", victim.to_str().unwrap(), "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
        assert!(
            !report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["kind"] == "state-damaged"),
            "{report:#}"
        );
        let now = snapshot(&victim);
        if now == before {
            outcomes[0] += 1;
        } else if now == after {
            outcomes[1] += 1;
        } else {
            let differ = |other: &std::collections::BTreeMap<String, Vec<u8>>| -> Vec<String> {
                now.keys()
                    .chain(other.keys())
                    .filter(|p| now.get(*p) != other.get(*p))
                    .take(5)
                    .cloned()
                    .collect()
            };
            panic!(
                "kill at {k}/{trials} of {duration:?}: neither before nor after (differs from before in {:?}, from after in {:?})",
                differ(&before),
                differ(&after)
            );
        }
        std::fs::remove_dir_all(&victim).unwrap();
    }
    eprintln!(
        "external SIGKILL over a {duration:?} import: {} before, {} after",
        outcomes[0], outcomes[1]
    );
}
