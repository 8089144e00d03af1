//! Every endpoint of the emulator against WORKATO-API.md and the OpenAPI examples: status
//! codes, envelopes, field names, error shapes.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

/// At least `delay` polls answered `in_progress` (more while the job still runs), then `last`.
fn assert_polled(seen: &[String], delay: usize, last: &str) {
    assert!(seen.len() > delay, "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some(last), "{seen:?}");
    assert!(
        seen[..seen.len() - 1].iter().all(|s| s == "in_progress"),
        "{seen:?}"
    );
}

#[test]
fn users_me_has_the_recorded_fields_and_auth_is_bearer() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 4242);
    let e = Emulator::start(&env, &["--rate-limits", "off"]);
    for (token, what) in [(None, "no token"), (Some("wrong-token-zz"), "a wrong token")] {
        let a = call("GET", &e.url("/api/users/me"), token, None);
        assert_eq!(a.status, 401, "{what}");
        assert_eq!(a.json(), json!({"message": "Unauthorized"}), "{what}");
    }
    let a = get(&e, "/api/users/me");
    assert_eq!(a.status, 200);
    assert!(a.content_type.as_deref().unwrap().starts_with("application/json"));
    let me = a.json();
    // The field names of the real recording (workato-connector-sdk cassette uploads_connector.yml).
    assert_eq!(
        keys(&me),
        set(&[
            "id",
            "name",
            "created_at",
            "expert",
            "avatar_url",
            "recipes_count",
            "interested_applications",
            "company_name",
            "location",
            "last_seen",
            "contact_phone",
            "contact_email",
            "email",
            "phone",
            "active_recipes_count",
            "root_folder_id",
            "plan_id",
            "current_billing_period_start",
            "current_billing_period_end",
        ])
    );
    assert_eq!(me["id"], 4242);
    assert_eq!(me["name"], "production");
    assert_eq!(me["recipes_count"], 11);
    assert_eq!(me["active_recipes_count"], 0);
    assert!(me["root_folder_id"].as_u64().unwrap() >= 100_000);
    drop(e);

    // --name / --id override the identity; ids derive from the workspace id.
    let e2 = Emulator::start(&env, &["--name", "Prod EU", "--id", "77", "--rate-limits", "off"]);
    let me2 = get(&e2, "/api/users/me").json();
    assert_eq!(me2["id"], 77);
    assert_eq!(me2["name"], "Prod EU");
    assert_ne!(me2["root_folder_id"], me["root_folder_id"]);
}

#[test]
fn folders_projects_and_folder_assets() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 4243);
    let e = Emulator::start(&env, &["--rate-limits", "off"]);
    let root = root_folder(&e);
    let top = get(&e, "/api/folders");
    assert_eq!(top.status, 200);
    let top = top.json();
    let names: BTreeSet<String> = top
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        set(&[
            "Workspace Connections",
            "agents",
            "api",
            "contacts",
            "orders",
            "prod-only",
            "shared"
        ])
    );
    let orders = find(&top, "name", "orders").clone();
    assert_eq!(
        keys(&orders),
        set(&[
            "id",
            "name",
            "parent_id",
            "is_project",
            "project_id",
            "created_at",
            "updated_at"
        ])
    );
    assert_eq!(orders["parent_id"], root);
    assert_eq!(orders["is_project"], true);
    let sub = get(&e, &format!("/api/folders?parent_id={}", orders["id"])).json();
    assert_eq!(sub.as_array().unwrap().len(), 1);
    assert_eq!(sub[0]["name"], "注文");
    assert_eq!(sub[0]["is_project"], false);
    assert_eq!(sub[0]["project_id"], orders["project_id"]);
    assert_eq!(sub[0]["parent_id"], orders["id"]);
    // Pagination: pages of 3 add up to the whole list.
    let mut paged = Vec::new();
    for page in 1..=4 {
        let p = get(&e, &format!("/api/folders?per_page=3&page={page}")).json();
        paged.extend(p.as_array().unwrap().iter().cloned());
    }
    assert_eq!(Value::Array(paged), top);
    // Errors.
    let a = get(&e, "/api/folders?parent_id=1");
    assert_eq!(a.status, 404);
    assert!(a.json()["message"].is_string());
    let a = get(&e, "/api/folders?parent_id=abc");
    assert_eq!(a.status, 400);
    assert!(a.json()["message"].as_str().unwrap().contains("parent_id"));

    // Projects: top-level folders.
    let projects = get(&e, "/api/projects").json();
    let p = find(&projects, "name", "orders");
    assert_eq!(keys(p), set(&["id", "description", "folder_id", "name"]));
    assert_eq!(p["folder_id"], orders["id"]);
    assert_eq!(p["id"], orders["project_id"]);

    // Create a folder.
    let a = post_json(
        &e,
        "/api/folders",
        &json!({"name": "releases", "parent_id": orders["id"].to_string()}),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let created = a.json();
    assert_eq!(created["name"], "releases");
    assert_eq!(created["parent_id"], orders["id"]);
    assert!(env.join("orders/releases").is_dir());
    let a = post_json(
        &e,
        "/api/folders",
        &json!({"name": "releases", "parent_id": orders["id"]}),
    );
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"]["name"][0], "has already been taken");
    let a = post_json(&e, "/api/folders", &json!({"name": ""}));
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"]["name"][0], "can't be blank");
    let a = post_json(&e, "/api/folders", &json!({"name": "../escape"}));
    assert_eq!(a.status, 400);

    // folder_assets: {"result": {"assets": [...]}} with the documented fields.
    let a = get(
        &e,
        &format!("/api/export_manifests/folder_assets?folder_id={}", orders["id"]),
    );
    assert_eq!(a.status, 200);
    let assets = a.json()["result"]["assets"].clone();
    let sync = find(&assets, "zip_name", "sync_orders.recipe.json");
    assert_eq!(
        keys(sync),
        set(&[
            "id",
            "name",
            "type",
            "version",
            "folder",
            "absolute_path",
            "root_folder",
            "unreachable",
            "zip_name",
            "checked",
            "status",
        ])
    );
    assert_eq!(sync["type"], "recipe");
    assert_eq!(sync["folder"], "");
    assert_eq!(sync["absolute_path"], "All projects/orders");
    let nested = find(&assets, "zip_name", "注文を同期.recipe.json");
    assert_eq!(nested["folder"], "注文");
    assert_eq!(assets.as_array().unwrap().len(), 3);
    let all = get(&e, "/api/export_manifests/folder_assets").json();
    assert_eq!(all["result"]["assets"].as_array().unwrap().len(), 22);
}

#[test]
fn export_manifest_package_polls_and_a_302_to_another_origin() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 4244);
    let e = Emulator::start(&env, &["--rate-limits", "off", "--poll-delay", "3"]);
    let root = root_folder(&e);
    // Validation errors: {"message", "errors": {field: [...]}}.
    for (body, field) in [
        (json!({}), "export_manifest"),
        (
            json!({"export_manifest": {"folder_id": root, "auto_generate_assets": true}}),
            "name",
        ),
        (
            json!({"export_manifest": {"name": "x", "auto_generate_assets": true}}),
            "folder_id",
        ),
        (json!({"export_manifest": {"name": "x"}}), "assets"),
        (
            json!({"export_manifest": {"name": "x", "assets": [{"id": 1, "type": "recipe"}]}}),
            "assets",
        ),
    ] {
        let a = post_json(&e, "/api/export_manifests", &body);
        assert_eq!(a.status, 400, "{body}");
        let v = a.json();
        assert!(v["message"].is_string(), "{v}");
        assert!(v["errors"][field][0].is_string(), "{body}: {v}");
    }
    let m = post_json(
        &e,
        "/api/export_manifests",
        &json!({"export_manifest": {"name": "pull", "folder_id": root, "auto_generate_assets": true}}),
    );
    assert_eq!(m.status, 201);
    let m = m.json();
    assert_eq!(
        keys(&m["result"]),
        set(&[
            "id",
            "name",
            "last_exported_at",
            "created_at",
            "updated_at",
            "deleted_at",
            "project_path",
            "status"
        ])
    );
    assert_eq!(m["result"]["status"], "working");
    assert!(m["result"]["last_exported_at"].is_null());
    let mid = m["result"]["id"].as_u64().unwrap();
    let p = call(
        "POST",
        &e.url(&format!("/api/packages/export/{mid}")),
        Some(TOKEN),
        None,
    );
    assert_eq!(p.status, 200);
    let p = p.json();
    assert_eq!(p["operation_type"], "export");
    assert_eq!(p["status"], "in_progress");
    assert_eq!(p["export_manifest_id"], mid);
    assert!(p["download_url"].is_null());
    let pid = p["id"].as_u64().unwrap();
    // Not downloadable while in progress.
    assert_eq!(get(&e, &format!("/api/packages/{pid}/download")).status, 404);
    let (seen, last) = poll(&e, pid);
    assert_polled(&seen, 3, "completed");
    assert_eq!(
        keys(&last),
        set(&[
            "id",
            "operation_type",
            "status",
            "export_manifest_id",
            "download_url"
        ])
    );
    let shown = get(&e, &format!("/api/export_manifests/{mid}")).json();
    assert!(shown["result"]["last_exported_at"].is_string());

    // The download: 302 to a signed URL on another origin (same host, another port).
    let d = get(&e, &format!("/api/packages/{pid}/download"));
    assert_eq!(d.status, 302);
    let loc = d.location.clone().unwrap();
    assert!(loc.starts_with("http://127.0.0.1:"), "{loc}");
    assert!(!loc.starts_with(&e.base), "{loc} is on the API origin {}", e.base);
    assert!(loc.contains("X-Amz-Signature="));
    // Like S3, the download origin refuses a request that carries the API token.
    let leak = call("GET", &loc, Some(TOKEN), None);
    assert_eq!(leak.status, 400);
    assert!(String::from_utf8_lossy(&leak.body).contains("Only one auth mechanism allowed"));
    assert!(e.stderr().contains("Authorization header"));
    // A tampered signature is refused.
    let bad = call("GET", &format!("{loc}0"), None, None);
    assert_eq!(bad.status, 403);
    let z = call("GET", &loc, None, None);
    assert_eq!(z.status, 200);
    assert_eq!(z.content_type.as_deref(), Some("application/zip"));
    // A real Workato-layout zip: rlcm's reader takes it, no rlcm-package.json, every asset.
    let zip = dir.path().join("pulled.zip");
    std::fs::write(&zip, &z.body).unwrap();
    let pkg = rlcm::apply::open_package(&zip).unwrap();
    assert!(pkg.source.find("rlcm-package.json").is_none());
    assert_eq!(pkg.ws.assets.len(), 22);
    let recipe = pkg.source.find("orders/sync_orders.recipe.json").unwrap();
    assert_eq!(
        pkg.source.read(recipe).unwrap(),
        std::fs::read(env.join("orders/sync_orders.recipe.json")).unwrap()
    );
    // Unknown package, unknown manifest.
    assert_eq!(get(&e, "/api/packages/999").status, 404);
    assert!(get(&e, "/api/packages/999").json()["message"].is_string());
    assert_eq!(
        call("POST", &e.url("/api/packages/export/999"), Some(TOKEN), None).status,
        404
    );

    // A folder export: only that folder and what it needs.
    let orders = find(&get(&e, "/api/folders").json(), "name", "orders")["id"]
        .as_u64()
        .unwrap();
    let z = export_folder(&e, orders);
    let zip = dir.path().join("orders.zip");
    std::fs::write(&zip, &z).unwrap();
    let pkg = rlcm::apply::open_package(&zip).unwrap();
    let paths: BTreeSet<String> = pkg.ws.assets.iter().map(|a| a.path.clone()).collect();
    assert!(paths.contains("orders/sync_orders.recipe.json"));
    assert!(!paths.contains("prod-only/weekly_report.recipe.json"));
    assert!(paths.contains("acme_crm.custom_adapter.json"), "{paths:?}");
}

#[test]
fn import_needs_restart_recipes_for_running_recipes_and_reports_each_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_from("sandbox", dir.path(), 1001);
    let env = env_from("production", dir.path(), 4245);
    let zip = package_of(&sandbox, &["orders"], &dir.path().join("orders.zip"));
    let e = Emulator::start(&env, &["--rate-limits", "off", "--poll-delay", "1"]);
    let root = root_folder(&e);
    let recipes = get(&e, "/api/recipes").json()["items"].clone();
    let sync = find(&recipes, "name", "Sync orders")["id"].as_u64().unwrap();
    let a = call(
        "PUT",
        &e.url(&format!("/api/recipes/{sync}/start")),
        Some(TOKEN),
        None,
    );
    assert_eq!(a.json(), json!({"success": true}));
    let before = snapshot(&env);

    // Without restart_recipes: failed, nothing changed.
    let id = import(&e, root, &zip, false);
    let (seen, last) = poll(&e, id);
    assert_polled(&seen, 1, "failed");
    assert!(
        last["error"].as_str().unwrap().contains("restart_recipes"),
        "{last}"
    );
    assert!(
        last["error"]
            .as_str()
            .unwrap()
            .contains("orders/sync_orders.recipe.json"),
        "{last}"
    );
    assert_eq!(last["recipe_status"], json!([]));
    assert_eq!(snapshot(&env), before);

    // With it: completed, the running recipe restarted, the others imported.
    let id = import(&e, root, &zip, true);
    let (seen, last) = poll(&e, id);
    assert_polled(&seen, 1, "completed");
    assert_eq!(
        keys(&last),
        set(&["id", "operation_type", "status", "download_url", "recipe_status"])
    );
    let rs = last["recipe_status"].as_array().unwrap();
    let sync_status = rs.iter().find(|r| r["id"] == sync).unwrap();
    assert_eq!(sync_status["import_result"], "restarted");
    assert!(rs.len() >= 3, "{last}");
    assert!(
        rs.iter()
            .filter(|r| r["id"] != sync)
            .all(|r| r["import_result"] == "no_update_or_updated_without_restart")
    );
    assert!(
        env.join("orders/experimental/backfill_orders.recipe.json")
            .is_file()
    );
    let running = get(&e, "/api/recipes?running=true").json()["items"].clone();
    assert_eq!(running.as_array().unwrap().len(), 1);
    assert_eq!(running[0]["id"], sync);
    // The connector got a new version, released at once (the seed's rule).
    let cc = get(&e, "/api/custom_connectors").json()["result"][0].clone();
    assert_eq!(cc["title"], "Acme CRM");
    assert_eq!(cc["latest_version"], 4);
    assert_eq!(cc["latest_released_version"], 4);
    // The import left a whole environment: its one error is the recipe the import broke
    // (Workato imports breaking connector changes; rlcm would have refused without --force).
    let checked = rlcm::ops::check::check(&rlcm::env::Environment::open(&env).unwrap()).unwrap();
    let errors: Vec<_> = checked
        .findings
        .iter()
        .filter(|f| f.severity == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, "broken-recipe");
    assert_eq!(errors[0].path, "prod-only/legacy_nightly_export.recipe.json");
    // The new connector version drops `legacy_export`, which a production-only recipe uses:
    // its start is refused with HTTP 200 and success:false.
    let legacy = find(
        &get(&e, "/api/recipes").json()["items"],
        "name",
        "Legacy nightly export",
    )["id"]
        .clone();
    let a = call(
        "PUT",
        &e.url(&format!("/api/recipes/{legacy}/start")),
        Some(TOKEN),
        None,
    );
    assert_eq!(a.status, 200);
    let v = a.json();
    assert_eq!(v["success"], false);
    assert!(
        v["code_errors"][0][1][0][2]
            .as_str()
            .unwrap()
            .contains("legacy_export"),
        "{v}"
    );
    assert_eq!(v["config_errors"], json!([]));
    assert!(
        !get(&e, "/api/recipes?running=true")
            .json()
            .to_string()
            .contains("Legacy")
    );
    // The uploaded package is downloadable too (as Workato's import status links it).
    let d = get(&e, &format!("/api/packages/{id}/download"));
    assert_eq!(d.status, 302);
    assert_eq!(call("GET", &d.location.unwrap(), None, None).body, zip);
}

#[test]
fn import_errors_one_at_a_time_and_the_size_cap() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_from("sandbox", dir.path(), 1002);
    let env = env_from("production", dir.path(), 4246);
    let zip = package_of(&sandbox, &["contacts"], &dir.path().join("contacts.zip"));
    let e = Emulator::start(&env, &["--rate-limits", "off", "--poll-delay", "2"]);
    let root = root_folder(&e);
    let before = snapshot(&env);
    let post =
        |path: &str, body: &[u8]| call("POST", &e.url(path), Some(TOKEN), Some(("application/zip", body)));
    // Unknown folder: 404. Empty body, bad flag: 400 {"error"}.
    let a = post("/api/packages/import/1", &zip);
    assert_eq!(a.status, 404);
    let a = post(&format!("/api/packages/import/{root}"), b"");
    assert_eq!(a.status, 400);
    assert!(a.json()["error"].is_string());
    let a = post(
        &format!("/api/packages/import/{root}?restart_recipes=maybe"),
        &zip,
    );
    assert_eq!(a.status, 400);
    assert!(a.json()["error"].as_str().unwrap().contains("restart_recipes"));
    // Not a zip: accepted, then failed with the reader's message.
    let id = import(&e, root, b"PK\x03\x04 not really a zip", false);
    let (_, last) = poll(&e, id);
    assert_eq!(last["status"], "failed");
    assert!(last["error"].as_str().unwrap().contains("not valid"), "{last}");
    assert_eq!(snapshot(&env), before);

    // One import at a time: a second one while the first is in progress is refused.
    let first = import(&e, root, &zip, false);
    let a = post(&format!("/api/packages/import/{root}"), &zip);
    assert_eq!(a.status, 409, "{}", String::from_utf8_lossy(&a.body));
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .contains("one import runs at a time")
    );
    let (_, last) = poll(&e, first);
    assert_eq!(last["status"], "completed", "{last}");
    assert!(
        env.join("contacts/merge_duplicate_contacts.recipe.json")
            .is_file()
    );
    // The same package again changes nothing and completes.
    let again = import(&e, root, &zip, false);
    assert_eq!(poll(&e, again).1["status"], "completed");

    // The 100 MB cap.
    let big = vec![0u8; 100 * 1024 * 1024 + 1];
    match try_call(
        "POST",
        &e.url(&format!("/api/packages/import/{root}")),
        Some(TOKEN),
        Some(("application/octet-stream", &big)),
    ) {
        Ok(a) => {
            assert_eq!(a.status, 413);
            assert!(a.json()["error"].as_str().unwrap().contains("100 MB"));
        }
        // The server may answer and close before the client has sent every byte.
        Err(err) => assert!(
            err.to_string().to_lowercase().contains("connection") || err.to_string().contains("pipe"),
            "{err}"
        ),
    }
    // Still serving.
    assert_eq!(get(&e, "/api/users/me").status, 200);
}

#[test]
fn recipes_list_paginates_starts_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 4247);
    let e = Emulator::start(&env, &["--rate-limits", "off"]);
    let all = get(&e, "/api/recipes");
    assert_eq!(all.status, 200);
    let all = all.json();
    assert_eq!(keys(&all), set(&["items"]));
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 11);
    let ids: Vec<u64> = items.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "descending ids");
    // The OpenAPI Recipe's required fields.
    for k in [
        "id",
        "user_id",
        "name",
        "created_at",
        "updated_at",
        "copy_count",
        "action_applications",
        "applications",
        "description",
        "parameters_schema",
        "parameters",
        "webhook_url",
        "folder_id",
        "running",
        "job_succeeded_count",
        "job_failed_count",
        "lifetime_task_count",
        "version_no",
        "stop_cause",
        "config",
        "trigger_closure",
        "code",
        "author_name",
        "version_author_name",
        "version_author_email",
        "version_comment",
    ] {
        assert!(items[0].get(k).is_some(), "recipe lacks `{k}`");
    }
    let contact = find(&all["items"], "name", "Create contact from form");
    assert!(contact["code"].is_string(), "code is a JSON string");
    let code: Value = serde_json::from_str(contact["code"].as_str().unwrap()).unwrap();
    assert_eq!(code["provider"], "workato_webhooks");
    assert_eq!(contact["version_no"], 3);
    assert_eq!(contact["trigger_application"], "workato_webhooks");
    // Pages of 4 give the same list; per_page above 100 is 100.
    let mut paged = Vec::new();
    for page in 1..=3 {
        let p = get(&e, &format!("/api/recipes?per_page=4&page={page}")).json();
        assert!(p["items"].as_array().unwrap().len() <= 4);
        paged.extend(p["items"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(&paged, items);
    assert_eq!(
        get(&e, "/api/recipes?per_page=4&page=4").json()["items"],
        json!([])
    );
    assert_eq!(
        get(&e, "/api/recipes?per_page=500").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
    assert_eq!(
        get(&e, "/api/recipes?exclude_code=true").json()["items"][0].get("code"),
        None
    );
    let since = get(&e, &format!("/api/recipes?since_id={}", ids[2])).json();
    assert_eq!(since["items"].as_array().unwrap().len(), 8);
    let contacts_folder = contact["folder_id"].clone();
    let in_folder = get(&e, &format!("/api/recipes?folder_id={contacts_folder}")).json();
    assert_eq!(in_folder["items"].as_array().unwrap().len(), 1);
    assert_eq!(get(&e, "/api/recipes?running=perhaps").status, 400);

    // Start and stop write the environment's running state.
    let id = contact["id"].clone();
    let a = call(
        "PUT",
        &e.url(&format!("/api/recipes/{id}/start")),
        Some(TOKEN),
        None,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!({"success": true}));
    let state = std::fs::read_to_string(env.join(".rlcm/recipes.json")).unwrap();
    assert!(
        state.contains("contacts/create_contact_from_form.recipe.json"),
        "{state}"
    );
    assert_eq!(get(&e, "/api/users/me").json()["active_recipes_count"], 1);
    let a = call(
        "PUT",
        &e.url(&format!("/api/recipes/{id}/stop")),
        Some(TOKEN),
        None,
    );
    assert_eq!(a.json(), json!({"success": true}));
    let state = std::fs::read_to_string(env.join(".rlcm/recipes.json")).unwrap();
    assert!(!state.contains("create_contact_from_form"), "{state}");
    let a = call("PUT", &e.url("/api/recipes/12345/start"), Some(TOKEN), None);
    assert_eq!(a.status, 404);
    assert!(a.json()["message"].is_string());

    // A recipe whose connection is missing: start refused with config_errors.
    std::fs::remove_file(env.join("Workspace Connections/acme_crm_account.connection.json")).unwrap();
    let a = call(
        "PUT",
        &e.url(&format!("/api/recipes/{id}/start")),
        Some(TOKEN),
        None,
    );
    assert_eq!(a.status, 200);
    let v = a.json();
    assert_eq!(v["success"], false);
    assert!(v["config_errors"].to_string().contains("acme_crm_account"), "{v}");

    // Connections: a bare array with the OpenAPI fields.
    let c = get(&e, "/api/connections");
    assert_eq!(c.status, 200);
    let c = c.json();
    let list = c.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for k in [
        "id",
        "application",
        "name",
        "description",
        "authorized_at",
        "authorization_status",
        "authorization_error",
        "created_at",
        "updated_at",
        "external_id",
        "folder_id",
        "connection_lost_at",
        "connection_lost_reason",
        "parent_id",
        "tags",
    ] {
        assert!(list[0].get(k).is_some(), "connection lacks `{k}`");
    }
    let sf = find(&c, "name", "Salesforce account");
    assert_eq!(sf["application"], "salesforce");
}

#[test]
fn custom_connectors_list_search_code_create_update_release_share() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 4248);
    let e = Emulator::start(&env, &["--rate-limits", "off"]);
    let list = get(&e, "/api/custom_connectors");
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(keys(&list), set(&["result"]));
    let acme = list["result"][0].clone();
    for k in [
        "id",
        "name",
        "title",
        "latest_released_version",
        "latest_released_version_note",
        "released_versions",
        "static_webhook_url",
    ] {
        assert!(acme.get(k).is_some(), "connector lacks `{k}`");
    }
    assert_eq!(acme["title"], "Acme CRM");
    assert_eq!(acme["latest_released_version"], 3);
    assert_eq!(acme["released_versions"][0]["version"], 3);
    let id = acme["id"].clone();
    let s = get(&e, "/api/custom_connectors/search?title=Acme").json();
    assert_eq!(s["data"][0]["id"], id);
    assert_eq!(
        get(&e, "/api/custom_connectors/search?title=acme").json()["data"],
        json!([])
    );
    let a = get(&e, "/api/custom_connectors/search");
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"]["title"][0], "can't be blank");
    let code = get(&e, &format!("/api/custom_connectors/{id}/code")).json();
    assert_eq!(
        code["data"]["code"].as_str().unwrap().as_bytes(),
        std::fs::read(env.join("acme_crm.custom_adapter.rb")).unwrap()
    );
    assert_eq!(
        get(&e, &format!("/api/custom_connectors/{id}")).json()["title"],
        "Acme CRM"
    );
    assert_eq!(get(&e, "/api/custom_connectors/1").status, 404);

    // Create: version 1, unreleased.
    let src = "{\n  title: 'Beta',\n  actions: {\n    ping: { execute: lambda { |_c, _i| {} } }\n  }\n}\n";
    let a = post_json(
        &e,
        "/api/custom_connectors",
        &json!({"title": "Beta", "code": src, "note": "first", "description": "A beta"}),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let beta = a.json();
    assert_eq!(beta["title"], "Beta");
    assert_eq!(beta["latest_version"], 1);
    assert_eq!(beta["latest_version_note"], "first");
    assert!(beta["latest_released_version"].is_null());
    assert_eq!(
        std::fs::read_to_string(env.join("beta.custom_adapter.rb")).unwrap(),
        src
    );
    let bid = beta["id"].clone();
    let a = post_json(
        &e,
        "/api/custom_connectors",
        &json!({"title": "Beta", "code": src}),
    );
    assert_eq!(a.status, 400);
    assert!(a.json()["errors"]["title"][0].is_string());
    let a = post_json(&e, "/api/custom_connectors", &json!({"title": "Gamma"}));
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"]["code"][0], "can't be blank");

    // Share before any release; release; release again; share; share again.
    let post = |p: String| call("POST", &e.url(&p), Some(TOKEN), None);
    let a = post(format!("/api/custom_connectors/{bid}/share"));
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["message"], "There is no released version to share");
    let a = post(format!("/api/custom_connectors/{bid}/release"));
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!({"message": "Connector released successfully"}));
    let a = post(format!("/api/custom_connectors/{bid}/release"));
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["message"],
        "Connector\u{2019}s released version is already the latest version"
    );
    let a = post(format!("/api/custom_connectors/{bid}/share"));
    assert_eq!(a.json(), json!({"message": "Connector shared successfully"}));
    let a = post(format!("/api/custom_connectors/{bid}/share"));
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["message"],
        "Connector\u{2019}s shared version is already the latest released version"
    );

    // Update: a new latest version; code that does not parse cannot be released.
    let a = put_json(
        &e,
        &format!("/api/custom_connectors/{bid}"),
        &json!({"code": "{ title: 'Beta', actions: {} ", "note": "broken"}),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    assert_eq!(v["latest_version"], 2);
    assert_eq!(v["latest_released_version"], 1);
    assert_eq!(v["latest_shared_version"], 1);
    let a = post(format!("/api/custom_connectors/{bid}/release"));
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["message"],
        "Fix code errors before releasing the connector"
    );
    let a = put_json(
        &e,
        &format!("/api/custom_connectors/{bid}"),
        &json!({"code": src.replace("ping", "pong"), "note": "fixed"}),
    );
    assert_eq!(a.json()["latest_version"], 3);
    assert_eq!(post(format!("/api/custom_connectors/{bid}/release")).status, 200);
    let v = get(&e, &format!("/api/custom_connectors/{bid}")).json();
    assert_eq!(v["latest_released_version"], 3);
    assert_eq!(v["latest_released_version_note"], "fixed");
    assert_eq!(
        v["released_versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["version"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [3, 1]
    );
    let a = put_json(&e, &format!("/api/custom_connectors/{bid}"), &json!({"code": 5}));
    assert_eq!(a.status, 400);
    // Everything went through rlcm's transactions: the environment checks clean.
    let checked = rlcm::ops::check::check(&rlcm::env::Environment::open(&env).unwrap()).unwrap();
    assert!(
        checked.findings.iter().all(|f| f.severity != "error"),
        "{:?}",
        checked.findings
    );
}

#[test]
fn bad_requests_get_a_message_and_the_server_keeps_serving_and_never_logs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 4249);
    let mut e = Emulator::start(&env, &["--rate-limits", "off"]);
    let a = call(
        "POST",
        &e.url("/api/export_manifests"),
        Some(TOKEN),
        Some(("application/json", b"{not json")),
    );
    assert_eq!(a.status, 400);
    assert!(a.json()["message"].as_str().unwrap().contains("JSON"));
    let a = get(&e, "/api/no/such/endpoint");
    assert_eq!(a.status, 404);
    assert!(a.json()["message"].is_string());
    assert_eq!(get(&e, "/api/packages/abc").status, 404);
    assert_eq!(get(&e, "/api/recipes?page=x").status, 400);
    let a = call("GET", &e.url("/api/users/me"), Some("wrong-token-zz"), None);
    assert_eq!(a.status, 401);
    let a = call("GET", &e.url("/api/users/me"), None, None);
    assert_eq!(a.status, 401);
    assert_eq!(get(&e, "/api/users/me").status, 200);
    let log = e.stderr();
    assert!(log.contains("GET /api/users/me 200"), "{log}");
    assert!(log.contains("GET /api/users/me 401"), "{log}");
    e.child.kill().unwrap();
    e.child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = e.stdout.lock().unwrap().clone();
    assert!(out.starts_with("listening on http://127.0.0.1:"), "{out}");
    for text in [&log, &out] {
        assert!(!text.contains(TOKEN), "the token was logged: {text}");
        assert!(
            !text.contains("wrong-token-zz"),
            "a sent token was logged: {text}"
        );
    }
}

#[test]
fn an_uninitialised_directory_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("raw");
    copy_tree(&testdata("production"), &root);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_workato-emulator"))
        .arg("--env")
        .arg(&root)
        .args(["--token", TOKEN])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rlcm init"), "{err}");
    assert!(!err.contains(TOKEN));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_workato-emulator"))
        .arg("--env")
        .arg(&root)
        .args(["--token", TOKEN, "--fault", "boom:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a fault kind"));
}
