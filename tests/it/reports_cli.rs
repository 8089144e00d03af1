//! Reports people look at: the semantic diff of `plan` (JSON, `--diff`, `--diff=text`),
//! `rlcm diff A B`, and the HTML pages of `plan` and `impact` (structure, escaping, nothing
//! loaded from elsewhere). The browser tests are in `tests/it/browser.rs`.

use crate::common;

use common::*;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// The README's plan: the orders release from the sandbox into (uninitialised) production.
fn readme_plan(extra: &[&str]) -> std::process::Output {
    let sandbox = testdata("sandbox");
    let manifest = testdata("orders-release.yaml");
    let prod = testdata("production");
    let mut args = vec![
        "plan",
        "--from",
        s(&sandbox),
        "--manifest",
        s(&manifest),
        "--env",
        s(&prod),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn action<'a>(plan: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == path)
        .unwrap_or_else(|| panic!("no action for {path}"))
}

/// Replaces temp paths so snapshots are stable.
fn stable(text: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    text.replace(root, "[ROOT]")
}

#[test]
fn every_update_in_plan_json_carries_its_semantic_changes() {
    let out = readme_plan(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("plan", &plan);
    for a in plan["actions"].as_array().unwrap() {
        let updates = matches!(
            a["action"].as_str(),
            Some("update" | "update_running" | "conflict")
        );
        assert_eq!(a.get("changes").is_some(), updates, "{a}");
        if updates {
            assert!(!a["changes"].as_array().unwrap().is_empty(), "{a}");
        }
    }
    let sync = action(&plan, "orders/sync_orders.recipe.json");
    let changes = sync["changes"].as_array().unwrap();
    let has = |kind: &str, step: Option<u64>, label: &str| {
        changes.iter().any(|c| {
            c["kind"] == kind && c["step"].as_u64() == step && c["step_label"].as_str() == Some(label)
        })
    };
    assert!(
        has("added", Some(7), "action workato_template.create_document"),
        "{changes:#?}"
    );
    assert!(
        has("added", Some(8), "action slack_bot.post_bot_message"),
        "{changes:#?}"
    );
    assert!(
        has("removed", Some(7), "action logger.log_message"),
        "{changes:#?}"
    );
    assert!(changes.iter().any(|c| c["subject"] == "connection"
        && c["kind"] == "added"
        && c["after"] == "Workspace Connections/slack_ops_bot.connection.json"));
    assert!(
        changes
            .iter()
            .any(|c| c["path"] == "$.version" && c["before"] == 7 && c["after"] == 8)
    );
    // Compared after the rewrite: the sandbox's provider name never shows up.
    let text = serde_json::to_string(changes).unwrap();
    assert!(!text.contains("acme_crm_connector_1100000001"), "{text}");
    // A recipe that differs only by provider name is no change, and carries no changes.
    let same = action(&plan, "contacts/create_contact_from_form.recipe.json");
    assert_eq!(same["action"], "no_change");
    assert!(same.get("changes").is_none());
}

#[test]
fn plan_diff_human_and_markdown_snapshots() {
    let out = readme_plan(&["--diff"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stable(&stdout(&out));
    assert!(text.contains("Changes inside updated assets"), "{text}");
    let section = text
        .split("Changes inside updated assets")
        .nth(1)
        .unwrap_or_default();
    insta::assert_snapshot!("plan_diff_human", section);
    let out = readme_plan(&["--diff", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(3));
    let md = stable(&stdout(&out));
    let section = md
        .split("### Changes inside updated assets")
        .nth(1)
        .unwrap_or_default();
    insta::assert_snapshot!("plan_diff_markdown", section);
}

#[test]
fn plan_diff_text_is_a_unified_diff_of_what_would_be_written() {
    let out = readme_plan(&["--diff=text"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("--- a/orders/sync_orders.recipe.json"), "{text}");
    assert!(text.contains("+++ b/orders/sync_orders.recipe.json"), "{text}");
    assert!(text.contains("-  \"version\": 7,"), "{text}");
    assert!(text.contains("+  \"version\": 8,"), "{text}");
    let section = text
        .split("Changes inside updated assets")
        .nth(1)
        .unwrap_or_default();
    assert!(!section.contains("acme_crm_connector_1100000001"), "{section}");
    // `--diff` takes its value with `=` only: a bare word after it is not swallowed.
    let out = readme_plan(&["--diff=nonsense"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn diff_of_two_environments_names_changed_added_and_removed_assets() {
    let sandbox = testdata("sandbox");
    let prod = testdata("production");
    let json = |extra: &[&str], code: i32| {
        let mut args = vec!["diff", s(&prod), s(&sandbox), "--format", "json"];
        args.extend_from_slice(extra);
        json_code("diff", code, &args)
    };
    let d = json(&[], 0);
    assert_eq!(d["identical"], false);
    let assets = d["assets"].as_array().unwrap();
    let status = |path: &str| {
        assets
            .iter()
            .find(|a| a["path"] == path)
            .map(|a| a["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        status("orders/sync_orders.recipe.json").as_deref(),
        Some("changed")
    );
    assert_eq!(
        status("contacts/merge_duplicate_contacts.recipe.json").as_deref(),
        Some("added")
    );
    assert_eq!(
        status("prod-only/legacy_nightly_export.recipe.json").as_deref(),
        Some("removed")
    );
    // Only a provider rename: not a difference.
    assert_eq!(status("contacts/create_contact_from_form.recipe.json"), None);
    assert_eq!(
        d["connectors"][0]["actions_removed"],
        serde_json::json!(["legacy_export"])
    );
    let _ = json(&["--detailed-exitcode"], 10);
    // The same side twice: identical, exit 0 even with --detailed-exitcode.
    let same = json_code(
        "diff",
        0,
        &[
            "diff",
            s(&prod),
            s(&prod),
            "--format",
            "json",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(same["identical"], true);
    assert_eq!(same["assets"], serde_json::json!([]));
}

#[test]
fn diff_of_packages_and_environments_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("orders.zip");
    let sandbox = testdata("sandbox");
    let prod = testdata("production");
    ok(&run(&[
        "export",
        "--env",
        s(&sandbox),
        "--manifest",
        s(&testdata("orders-release.yaml")),
        "-o",
        s(&pkg),
    ]));
    // A zip as the old side and as the new side.
    let a = json("diff", &["diff", s(&pkg), s(&prod), "--format", "json"]);
    let b = json("diff", &["diff", s(&prod), s(&pkg), "--format", "json"]);
    let st = |d: &serde_json::Value, path: &str| {
        d["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["path"] == path)
            .map(|x| x["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        st(&b, "orders/sync_orders.recipe.json").as_deref(),
        Some("changed")
    );
    assert_eq!(
        st(&a, "orders/sync_orders.recipe.json").as_deref(),
        Some("changed")
    );
    assert_eq!(
        st(&b, "prod-only/legacy_nightly_export.recipe.json").as_deref(),
        Some("removed")
    );
    assert_eq!(
        st(&a, "prod-only/legacy_nightly_export.recipe.json").as_deref(),
        Some("added")
    );
    // A package compared with itself is identical.
    let same = json("diff", &["diff", s(&pkg), s(&pkg), "--format", "json"]);
    assert_eq!(same["identical"], true, "{same}");
}

#[test]
fn diff_human_and_markdown_snapshots() {
    let sandbox = testdata("sandbox");
    let prod = testdata("production");
    let out = run(&["diff", s(&prod), s(&sandbox)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("diff_human", stable(&stdout(&out)));
    let out = run(&["diff", s(&prod), s(&sandbox), "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("diff_markdown", stable(&stdout(&out)));
}

#[test]
fn diff_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    copy_tree(&testdata("production"), &a);
    copy_tree(&testdata("production"), &b);
    let conn = "Workspace Connections/warehouse_api.connection.json";
    let recipe = "orders/sync_orders.recipe.json";
    for (root, secret) in [(&a, "old-s3cr3t-value"), (&b, "new-s3cr3t-value")] {
        let p = root.join(conn);
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        v["api_key"] = serde_json::json!(secret);
        v["password"] = serde_json::json!(format!("{secret}-pw"));
        std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        let p = root.join(recipe);
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        v["code"]["input"]["client_secret"] = serde_json::json!(format!("{secret}-cs"));
        std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
    for extra in [
        &["--format", "json"][..],
        &["--format", "markdown"][..],
        &[][..],
        &["--diff=text"][..],
    ] {
        let mut args = vec!["diff", s(&a), s(&b)];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out) + &stderr(&out);
        assert!(!text.contains("s3cr3t"), "{extra:?}: {text}");
        assert!(text.contains(conn), "{extra:?}: {text}");
    }
}

#[test]
fn html_plan_is_one_self_contained_escaped_page() {
    let out = readme_plan(&["--format", "html"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\""));
    assert_self_contained(&html);
    // Verdict first, then connectors, impact, diffs, graph.
    let pos = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    assert!(pos("id=\"verdict\"") < pos("id=\"connectors\""));
    assert!(pos("id=\"connectors\"") < pos("id=\"impact\""));
    assert!(pos("id=\"impact\"") < pos("id=\"changes\""));
    assert!(pos("id=\"changes\"") < pos("id=\"graph\""));
    assert!(html.contains("data-verdict=\"blocked\""));
    assert!(html.contains("<span class=\"tag removed\">action:legacy_export</span>"));
    assert!(
        html.contains(
            "data-recipe=\"prod-only/legacy_nightly_export.recipe.json\" data-severity=\"breaking\""
        )
    );
    assert!(html.contains("<details class=\"asset-diff\" data-path=\"orders/sync_orders.recipe.json\">"));
    assert!(html.contains("<svg id=\"dependency-graph\""));
    // The CJK recipe is in the page as itself (UTF-8), the page says so.
    assert!(html.contains("<meta charset=\"utf-8\">"));
    // `-o` keeps saving the plan JSON (from a package file).
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("p.zip");
    let saved = dir.path().join("plan.json");
    ok(&run(&[
        "export",
        "--env",
        s(&testdata("sandbox")),
        "--manifest",
        s(&testdata("orders-release.yaml")),
        "-o",
        s(&pkg),
    ]));
    let out = run(&[
        "plan",
        s(&pkg),
        "--env",
        s(&testdata("production")),
        "--format",
        "html",
        "-o",
        s(&saved),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).starts_with("<!DOCTYPE html>"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    validate("plan", &v);
}

#[test]
fn html_escapes_names_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let prod = dir.path().join("prod");
    let sandbox = dir.path().join("sandbox");
    copy_tree(&testdata("production"), &prod);
    copy_tree(&testdata("sandbox"), &sandbox);
    // A hostile description in the package and a hostile folder name in production.
    let p = sandbox.join("orders/sync_orders.recipe.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        text.replacen(
            "\"description\": \"",
            "\"description\": \"<script>alert(1)</script><img src=x onerror=alert(2)>",
            1,
        ),
    )
    .unwrap();
    let evil = prod.join("<b>evil</b>");
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::copy(
        prod.join("prod-only/legacy_nightly_export.recipe.json"),
        evil.join("x\"onmouseover=alert(3).recipe.json"),
    )
    .unwrap();
    let out = run(&[
        "plan",
        "--from",
        s(&sandbox),
        "--manifest",
        s(&testdata("orders-release.yaml")),
        "--env",
        s(&prod),
        "--format",
        "html",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(!html.contains("<script"), "a script tag got through");
    assert!(!html.contains("<img"), "an img tag got through");
    assert!(!html.contains("<b>evil"), "markup in a path got through");
    assert!(!html.contains("\"onmouseover"), "an attribute got through");
    assert!(html.contains("&lt;b&gt;evil&lt;/b&gt;/x&quot;onmouseover=alert(3).recipe.json"));
}

#[test]
fn html_impact_page() {
    let prod = testdata("production");
    let out = run(&["impact", "Acme CRM", "--env", s(&prod), "--format", "html"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = stdout(&out);
    assert_self_contained(&html);
    assert!(html.contains("id=\"verdict\""));
    assert!(html.contains("data-recipe=\"prod-only/legacy_nightly_export.recipe.json\""));
    assert!(html.contains("<svg id=\"dependency-graph\""));
}

/// Nothing in the page points outside it: no URL, no `src=`, no `href=` but in-page anchors,
/// no `url(` but in-page fragments, no `@import`.
pub fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "http://", "https://", "src=", "@import", "//cdn", "<link", "<script", "<iframe", "<object", "<embed",
    ] {
        assert!(!lower.contains(bad), "page contains `{bad}`");
    }
    for (i, _) in lower.match_indices("href=") {
        assert!(lower[i..].starts_with("href=\"#"), "non-local href at {i}");
    }
    for (i, _) in lower.match_indices("url(") {
        assert!(lower[i..].starts_with("url(#"), "non-local url( at {i}");
    }
}

#[test]
fn plan_changes_never_show_a_secret_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("sandbox");
    copy_tree(&testdata("sandbox"), &sandbox);
    let p = sandbox.join("orders/sync_orders.recipe.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    v["code"]["input"]["api_token"] = serde_json::json!("tok-SUPERSECRET-1");
    v["code"]["block"][0]["input"]["password"] = serde_json::json!("pw-SUPERSECRET-2");
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let prod = testdata("production");
    let manifest = testdata("orders-release.yaml");
    for extra in [
        &["--format", "json"][..],
        &["--diff"][..],
        &["--diff=text"][..],
        &["--diff", "--format", "markdown"][..],
        &["--diff=text", "--format", "markdown"][..],
        &["--format", "html"][..],
    ] {
        let mut args = vec![
            "plan",
            "--from",
            s(&sandbox),
            "--manifest",
            s(&manifest),
            "--env",
            s(&prod),
        ];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {}", stderr(&out));
        let text = stdout(&out) + &stderr(&out);
        assert!(!text.contains("SUPERSECRET"), "{extra:?}: {text}");
        if extra.contains(&"json") {
            assert!(text.contains("(secret, not shown)"), "{text}");
        }
    }
}
