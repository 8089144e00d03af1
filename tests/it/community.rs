//! The community library on a real `rlcm-registry` on loopback: listings and their review
//! (CLI and web admin), the apps catalog, installs from `REG:community/<slug>`, the
//! no-direct-install refusal, and the pages in a real headless Chromium (`--dump-dom`,
//! `--screenshot` into `target/test-artifacts/`, the net log proving no outside request, no
//! console message).
//!
//! Chromium must be installed (`.ci/run` installs Debian's `chromium`); without it the browser
//! test fails, unless `RLCM_SKIP_BROWSER=1` says to skip it.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

const XSS_NOTE: &str =
    "Syncs **contacts**. <script>alert(1)</script> and <img src=x onerror=alert(2)> stay text.";

struct Side {
    config: PathBuf,
    token_var: (String, String),
}

impl Side {
    fn new(dir: &Path, name: &str, url: &str, token: &str) -> Side {
        let s = Side {
            config: dir.join(format!("config-{name}")),
            token_var: ("RLCM_REGISTRY_TOKEN_HUB".into(), token.into()),
        };
        ok(&s.run(&["registry", "add", "hub", "--url", url]));
        s
    }

    fn run(&self, args: &[&str]) -> Output {
        rlcm_in(
            None,
            args,
            &[
                ("RLCM_CONFIG_DIR", self.config.to_str().unwrap()),
                ("RLCM_NOW", NOW),
                (&self.token_var.0, &self.token_var.1),
            ],
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(&self.run(args))
    }

    fn json(&self, schema: &str, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&self.ok(&a)).unwrap();
        validate(schema, &v);
        v
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stderr(&out)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// GET with optional cookie: (status, headers as `name: value` lines, body).
fn get(url: &str, cookie: Option<&str>) -> (u16, Vec<(String, String)>, String) {
    let mut req = agent().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let mut r = req.call().unwrap();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    (
        r.status().as_u16(),
        headers,
        r.body_mut().read_to_string().unwrap(),
    )
}

fn post_form(url: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
    let mut req = agent().post(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&");
    let mut r = req
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(body)
        .unwrap();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    (
        r.status().as_u16(),
        headers,
        r.body_mut().read_to_string().unwrap(),
    )
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    h.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The `name=value` of a Set-Cookie for `name`.
fn cookie_pair(h: &[(String, String)], name: &str) -> String {
    header(h, "set-cookie")
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie {name}: {h:?}"))
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn hidden_csrf(page: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f]+)""#).unwrap();
    re.captures(page).expect("a CSRF field")[1].to_string()
}

fn reg(data: &Path, args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.extend(["--data", data.to_str().unwrap()]);
    ok(&registry_cmd(&a))
}

fn listings(data: &Path) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&reg(data, &["review", "list", "--format", "json"])).unwrap();
    validate("registry-listings", &v);
    v
}

fn listing<'a>(all: &'a serde_json::Value, slug: &str) -> &'a serde_json::Value {
    all["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["connector_id"] == slug)
        .unwrap_or_else(|| panic!("no listing of {slug}: {all:#}"))
}

/// The world of these tests: a registry with two publishers, two shared connectors.
struct World {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    data: PathBuf,
    server: RegistryServer,
    alice: Side,
    bob: Side,
    a: PathBuf,
    bob_env: PathBuf,
    link: String,
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let data = dir.join("registry");
    let alice_token = add_publisher(&data, "alice");
    let bob_token = add_publisher(&data, "bob");
    let server = RegistryServer::start(&data, &[]);
    let alice = Side::new(&dir, "alice", &server.url, &alice_token);
    let bob = Side::new(&dir, "bob", &server.url, &bob_token);
    let a = env_copy(&dir, "production", "2200000002");
    std::fs::create_dir_all(dir.join("bob")).unwrap();
    let bob_env = env_copy(&dir.join("bob"), "sandbox", "1100000001");
    let ae = a.to_str().unwrap();
    // Not shared yet: cannot be listed.
    let err = alice.fails(&[
        "connector",
        "community",
        "submit",
        "Acme CRM",
        "--env",
        ae,
        "--registry",
        "hub",
        "--app",
        "salesforce",
        "--category",
        "CRM",
    ]);
    assert!(err.contains("rlcm connector share"), "{err}");
    alice.ok(&["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"]);
    let be = bob_env.to_str().unwrap();
    bob.ok(&[
        "connector",
        "share",
        "Acme CRM",
        "--env",
        be,
        "--registry",
        "hub",
        "--slug",
        "legacy-erp-bridge",
    ]);
    let out = alice.ok(&[
        "connector",
        "link",
        "create",
        "Acme CRM",
        "--env",
        ae,
        "--registry",
        "hub",
    ]);
    let link = out.lines().last().unwrap().trim().to_string();
    World {
        _dir: tmp,
        dir,
        data,
        server,
        alice,
        bob,
        a,
        bob_env,
        link,
    }
}

#[test]
fn listings_reviews_and_installs_from_the_community() {
    let w = world();
    let url = w.server.url.clone();
    let ae = w.a.to_str().unwrap();
    let be = w.bob_env.to_str().unwrap();

    // The catalog: shipped, searchable, and reviewers can add to it.
    let apps = w.alice.json(
        "registry-apps",
        &["registry", "apps", "sales", "--registry", "hub"],
    );
    let slugs: Vec<&str> = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&"salesforce"), "{apps:#}");
    let all = w
        .alice
        .json("registry-apps", &["registry", "apps", "--registry", "hub"]);
    let names: Vec<&str> = all["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for n in ["Salesforce", "Slack", "ServiceNow", "Zendesk", "Jira", "NetSuite"] {
        assert!(names.contains(&n), "{n} is shipped");
    }
    assert!(names.len() >= 50, "{}", names.len());
    reg(
        &w.data,
        &[
            "apps",
            "add",
            "acme_erp",
            "--name",
            "Acme ERP",
            "--website",
            "https://erp.example",
        ],
    );
    let file = w.dir.join("more-apps.json");
    std::fs::write(&file, r#"[{"name": "Globex", "slug": "globex"}, {"name": "Initech", "slug": "initech", "website": "https://initech.example"}]"#).unwrap();
    reg(&w.data, &["apps", "import", file.to_str().unwrap()]);
    let found = w.alice.ok(&["registry", "apps", "initech", "--registry", "hub"]);
    assert!(found.contains("Initech") && !found.contains("Globex"), "{found}");
    // A bad import changes nothing (all or nothing).
    std::fs::write(
        &file,
        r#"[{"name": "Hooli", "slug": "hooli"}, {"name": "Bad", "slug": "../bad"}]"#,
    )
    .unwrap();
    let out = registry_cmd(&[
        "apps",
        "import",
        file.to_str().unwrap(),
        "--data",
        w.data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("../bad") && stderr(&out).contains("more-apps.json"),
        "{}",
        stderr(&out)
    );
    assert!(
        w.alice
            .ok(&["registry", "apps", "hooli", "--registry", "hub"])
            .contains("No app")
    );

    // Refusals: an unknown app, no category, an unknown category, no landing page.
    let base = [
        "connector",
        "community",
        "submit",
        "Acme CRM",
        "--env",
        ae,
        "--registry",
        "hub",
    ];
    let with = |extra: &[&str]| -> Vec<String> { base.iter().chain(extra).map(|s| s.to_string()).collect() };
    let args = |v: &Vec<String>| v.clone();
    let strs = |v: &Vec<String>| v.iter().map(String::as_str).collect::<Vec<_>>().join(" ");
    for (extra, says) in [
        (
            vec!["--app", "no-such-app", "--category", "CRM"],
            "rlcm registry apps",
        ),
        (
            vec!["--app", "salesforce", "--category", "Gardening"],
            "not a category",
        ),
        (
            vec!["--app", "salesforce", "--category", "CRM", "--no-direct-install"],
            "landing-page",
        ),
    ] {
        let v = args(&with(&extra));
        let out = w.alice.run(&v.iter().map(String::as_str).collect::<Vec<_>>());
        assert_ne!(out.status.code(), Some(0), "{}", strs(&v));
        let err = stderr(&out);
        assert!(err.contains(says), "{}: {err}", strs(&v));
    }
    assert!(
        listings(&w.data)["listings"].as_array().unwrap().is_empty(),
        "nothing stored"
    );

    // Alice lists hers: pending.
    let r = w.alice.json(
        "registry-community",
        &[
            "connector",
            "community",
            "submit",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
            "--app",
            "Salesforce",
            "--category",
            "CRM",
            "--category",
            "sales",
            "--description",
            XSS_NOTE,
        ],
    );
    assert_eq!(r["listing"]["status"], "pending");
    assert_eq!(r["listing"]["app_slug"], "salesforce");
    assert_eq!(r["listing"]["categories"], serde_json::json!(["CRM", "Sales"]));
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("give the reviewers a day"),
        "{r:#}"
    );
    // Bob's app is not in the catalog; he prevents direct installation.
    let r = w.bob.json(
        "registry-community",
        &[
            "connector",
            "community",
            "submit",
            "Acme CRM",
            "--env",
            be,
            "--registry",
            "hub",
            "--app-name",
            "Legacy Mainframe ERP",
            "--category",
            "Finance",
            "--description",
            "Bridges the legacy ERP.",
            "--no-direct-install",
            "--landing-page",
            "https://bob.example/erp-bridge",
        ],
    );
    assert_eq!(r["listing"]["not_in_catalog"], true);
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("not in the registry's catalog")
    );
    let all = listings(&w.data);
    let (alice_id, bob_id) = (
        listing(&all, "acme_crm")["id"].as_i64().unwrap(),
        listing(&all, "legacy-erp-bridge")["id"].as_i64().unwrap(),
    );
    assert_eq!(listing(&all, "legacy-erp-bridge")["not_in_catalog"], true);
    let human = reg(&w.data, &["review", "list", "--status", "pending"]);
    assert!(
        human.contains("NOT IN CATALOG") && human.contains("Legacy Mainframe ERP"),
        "{human}"
    );
    // Bob cannot touch alice's listing.
    let mut r = agent()
        .get(&format!("{url}/v1/connectors/acme_crm/listing"))
        .header("Authorization", format!("Bearer {}", w.bob.token_var.1))
        .call()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        404,
        "{}",
        r.body_mut().read_to_string().unwrap()
    );

    // Pending: not in the library, its page is a 404.
    assert_eq!(get(&format!("{url}/connectors/acme_crm"), None).0, 404);
    let (_, _, lib) = get(&format!("{url}/"), None);
    assert!(lib.contains("0 connectors"), "{lib}");

    // The reviewer approves alice's, rejects bob's with a reason; bob sees it.
    reg(&w.data, &["review", "approve", &alice_id.to_string()]);
    reg(
        &w.data,
        &[
            "review",
            "reject",
            &bob_id.to_string(),
            "--reason",
            "Which ERP? Name the vendor.",
        ],
    );
    let s = w.bob.json(
        "registry-community",
        &[
            "connector",
            "community",
            "status",
            "Acme CRM",
            "--env",
            be,
            "--registry",
            "hub",
        ],
    );
    assert_eq!(s["listing"]["status"], "rejected");
    assert_eq!(s["listing"]["reason"], "Which ERP? Name the vendor.");
    let human = w.bob.ok(&[
        "connector",
        "community",
        "status",
        "Acme CRM",
        "--env",
        be,
        "--registry",
        "hub",
    ]);
    assert!(human.contains("rejected: Which ERP? Name the vendor."), "{human}");
    assert_eq!(get(&format!("{url}/connectors/legacy-erp-bridge"), None).0, 404);
    // Resubmitted: pending again, approved from the web admin below.
    w.bob.ok(&[
        "connector",
        "community",
        "submit",
        "Acme CRM",
        "--env",
        be,
        "--registry",
        "hub",
        "--app",
        "acme_erp",
        "--category",
        "Finance",
        "--description",
        "Bridges Acme ERP.",
        "--no-direct-install",
        "--landing-page",
        "https://bob.example/erp-bridge",
    ]);
    assert_eq!(
        listing(&listings(&w.data), "legacy-erp-bridge")["status"],
        "pending"
    );

    // The web admin: sign-in form with CSRF, session cookie, CSRF on every form.
    let admin_token = reg(&w.data, &["admin-token"])
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let (status, h, page) = get(&format!("{url}/admin"), None);
    assert_eq!(status, 200);
    assert!(page.contains("Admin token") && page.contains("noindex"), "{page}");
    let login_cookie = cookie_pair(&h, "rlcm_login");
    let login_csrf = hidden_csrf(&page);
    let (status, h, _) = post_form(
        &format!("{url}/admin/login"),
        Some(&login_cookie),
        &[("token", &admin_token)],
    );
    assert_eq!(status, 403, "a sign-in without its CSRF token");
    assert!(
        header(&h, "set-cookie")
            .iter()
            .all(|c| !c.starts_with("rlcm_admin="))
    );
    let (status, _, page) = post_form(
        &format!("{url}/admin/login"),
        Some(&login_cookie),
        &[("csrf", &login_csrf), ("token", "rlcma_wrong")],
    );
    assert_eq!(status, 401);
    assert!(page.contains("not the admin token"));
    let (status, h, _) = post_form(
        &format!("{url}/admin/login"),
        Some(&login_cookie),
        &[("csrf", &login_csrf), ("token", &admin_token)],
    );
    assert_eq!(status, 303);
    let set = header(&h, "set-cookie")
        .into_iter()
        .find(|c| c.starts_with("rlcm_admin="))
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/admin"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http on loopback: {set}");
    let session = cookie_pair(&h, "rlcm_admin");
    let (status, _, queue) = get(&format!("{url}/admin"), Some(&session));
    assert_eq!(status, 200);
    assert!(
        queue.contains("Waiting for review (1)") && queue.contains("Approve"),
        "{queue}"
    );
    let csrf = hidden_csrf(&queue);
    let approve = format!("{url}/admin/listings/{bob_id}/approve");
    for bad in [vec![], vec![("csrf", "0123abcd")]] {
        let (status, _, _) = post_form(&approve, Some(&session), &bad);
        assert_eq!(status, 403, "an approval without its CSRF token: {bad:?}");
        assert_eq!(
            listing(&listings(&w.data), "legacy-erp-bridge")["status"],
            "pending",
            "nothing changed"
        );
    }
    let (status, _, _) = post_form(&approve, None, &[("csrf", &csrf)]);
    assert_eq!(status, 403, "an approval without a session");
    let (status, _, _) = post_form(
        &format!("{url}/admin/listings/{alice_id}/disable"),
        Some(&session),
        &[("csrf", &csrf)],
    );
    assert_eq!(status, 422, "disabling needs a reason");
    let (status, h, _) = post_form(&approve, Some(&session), &[("csrf", &csrf)]);
    assert_eq!(status, 303);
    assert_eq!(header(&h, "location")[0].split('?').next(), Some("/admin"));
    assert_eq!(listing(&listings(&w.data), "legacy-erp-bridge")["status"], "live");

    // Both live: the library has both; the JSON view answers too.
    let (_, _, lib) = get(&format!("{url}/"), None);
    assert!(lib.contains("2 connectors"), "{lib}");
    // Installs: from `hub:community/acme_crm`; bob's listing refuses with its landing page.
    std::fs::create_dir_all(w.dir.join("b")).unwrap();
    let b = env_copy(&w.dir.join("b"), "sandbox", "1100000002");
    let bee = b.to_str().unwrap();
    let r = w.bob.json(
        "registry-install",
        &[
            "connector",
            "install",
            "hub:community/acme_crm",
            "--env",
            bee,
            "--as",
            "Acme From Community",
        ],
    );
    assert_eq!(r["shared_version"], 3);
    assert_eq!(r["connector_id"], "acme_crm");
    let o = w
        .bob
        .json("connector-outdated", &["connector", "outdated", "--env", bee]);
    assert_eq!(o["installed"], 1);
    let before = snapshot(&b);
    let err = w.alice.fails(&[
        "connector",
        "install",
        "hub:community/legacy-erp-bridge",
        "--env",
        bee,
        "--as",
        "X",
    ]);
    assert!(
        err.contains("403") && err.contains("https://bob.example/erp-bridge"),
        "{err}"
    );
    assert_eq!(snapshot(&b), before, "a refused install changes nothing");
    let mut r = agent()
        .post(&format!("{url}/connectors/legacy-erp-bridge/install"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    validate("registry-api-no-direct-install", &body);
    let err = w
        .alice
        .fails(&["connector", "install", "hub:community/../x", "--env", bee]);
    assert!(err.contains("REG:community/<slug>"), "{err}");

    // Disabled: 404, the publisher sees why, fixes and resubmits.
    reg(
        &w.data,
        &[
            "review",
            "disable",
            &alice_id.to_string(),
            "--reason",
            "The logo is not Salesforce's.",
        ],
    );
    assert_eq!(get(&format!("{url}/connectors/acme_crm"), None).0, 404);
    assert_eq!(
        agent()
            .post(&format!("{url}/connectors/acme_crm/install"))
            .send_empty()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let s = w.alice.json(
        "registry-community",
        &[
            "connector",
            "community",
            "status",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
        ],
    );
    assert_eq!(
        (s["listing"]["status"].as_str(), s["listing"]["reason"].as_str()),
        (Some("disabled"), Some("The logo is not Salesforce's."))
    );
    w.alice.ok(&[
        "connector",
        "community",
        "submit",
        "Acme CRM",
        "--env",
        ae,
        "--registry",
        "hub",
        "--app",
        "salesforce",
        "--category",
        "CRM",
        "--category",
        "Sales",
        "--description",
        XSS_NOTE,
    ]);
    reg(&w.data, &["review", "approve", &alice_id.to_string()]);
    // Unknown ids change nothing.
    let out = registry_cmd(&[
        "review",
        "approve",
        &alice_id.to_string(),
        "999",
        "--data",
        w.data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("999"));
    // The audit log has every review.
    let log = reg(&w.data, &["audit", "--format", "json"]);
    for action in [
        "listing-submit",
        "listing-approve",
        "listing-reject",
        "listing-disable",
        "app-add",
        "admin-login",
    ] {
        assert!(
            log.contains(&format!("\"{action}\"")),
            "{action} in the audit log"
        );
    }
    assert!(!log.contains(&admin_token));

    // A new shared version appears on the listing.
    let rb = w.a.join("acme_crm.custom_adapter.rb");
    let code = std::fs::read_to_string(&rb).unwrap();
    let at = code.find("actions: {").unwrap() + "actions: {".len();
    let mut new = code.clone();
    new.insert_str(
        at,
        "\n    find_deals: {\n      execute: lambda do |_c, _i| {} end\n    },\n",
    );
    std::fs::write(&rb, new).unwrap();
    w.alice.ok(&[
        "connector",
        "commit",
        "Acme CRM",
        "--note",
        "Add `find_deals` <b>bold</b>",
        "--env",
        ae,
    ]);
    w.alice.ok(&["connector", "release", "Acme CRM", "--env", ae]);
    w.alice
        .ok(&["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"]);
    let (_, h, page) = get(&format!("{url}/connectors/acme_crm"), None);
    assert!(page.contains("Added actions: <code>find_deals</code>"), "{page}");
    assert!(page.contains("&lt;b&gt;bold&lt;/b&gt;"), "{page}");
    let csp = header(&h, "content-security-policy").join("");
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );

    browser_checks(&w, &session, &csrf);
}

// ---- The pages in a real browser ----

/// Opens `url` in chromium: its DOM, after checking that it requested nothing outside the
/// server (and loaded the stylesheet) and logged no console message; writes
/// `target/test-artifacts/NAME.png`.
fn visit(bin: &Path, work: &Path, server: &str, name: &str, url: &str) -> String {
    let v = browser::visit(bin, work, name, url, (1280, 1600));
    assert!(v.console.is_empty(), "{name}: console messages: {:#?}", v.console);
    assert!(v.net_log_bytes > 1000, "{name}: no net log");
    let outside: Vec<&String> = v
        .requested
        .iter()
        .filter(|u| !u.starts_with(server) && !u.starts_with("data:") && !u.starts_with("about:"))
        .filter(|u| !browser::browser_own(u))
        .collect();
    assert!(
        outside.is_empty(),
        "{name}: requested outside the server: {outside:#?}"
    );
    assert!(
        v.requested
            .iter()
            .any(|u| u.starts_with(&format!("{server}/static/style.css"))),
        "{name}: the stylesheet was loaded"
    );
    v.dom
}

fn cards(dom: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"<li class="card">.*?<h2><a href="/connectors/([a-z0-9_-]+)""#).unwrap();
    re.captures_iter(&dom.replace('\n', " "))
        .map(|c| c[1].to_string())
        .collect()
}

fn browser_checks(w: &World, _session: &str, _csrf: &str) {
    let Some(bin) = browser::chromium() else { return };
    let url = &w.server.url;
    let work = w.dir.join("browser");
    std::fs::create_dir_all(&work).unwrap();
    // Exactly the live listings (a pending third one is not shown).
    let extra = env_copy(&w.dir.join("bob"), "production", "1100000009");
    let xe = extra.to_str().unwrap();
    w.bob.ok(&[
        "connector",
        "share",
        "Acme CRM",
        "--env",
        xe,
        "--registry",
        "hub",
        "--slug",
        "pending-one",
    ]);
    w.bob.ok(&[
        "connector",
        "community",
        "submit",
        "Acme CRM",
        "--env",
        xe,
        "--registry",
        "hub",
        "--app",
        "slack",
        "--category",
        "CRM",
    ]);
    let dom = visit(&bin, &work, url, "community-library", &format!("{url}/"));
    let mut all = cards(&dom);
    all.sort();
    assert_eq!(all, ["acme_crm", "legacy-erp-bridge"], "{dom}");
    assert!(
        dom.contains("<label for=\"q\">")
            && dom.contains("name=\"category\"")
            && dom.contains("method=\"get\"")
    );
    assert!(dom.contains("alt=\"Logo of Acme CRM\""), "{dom}");
    assert!(dom.contains("<span class=\"installs\">1</span> install"), "{dom}");
    // The GET form's fields: a search and a category narrow the cards.
    let dom = visit(
        &bin,
        &work,
        url,
        "community-search",
        &format!("{url}/?q=erp&category=&app="),
    );
    assert_eq!(cards(&dom), ["legacy-erp-bridge"], "{dom}");
    let dom = visit(
        &bin,
        &work,
        url,
        "community-category",
        &format!("{url}/?q=acme&category=CRM"),
    );
    assert_eq!(cards(&dom), ["acme_crm"], "{dom}");
    assert!(
        dom.contains("<option value=\"CRM\" selected"),
        "the form keeps the choice: {dom}"
    );
    let dom = visit(
        &bin,
        &work,
        url,
        "community-none",
        &format!("{url}/?q=acme&category=Finance&app=salesforce"),
    );
    assert!(
        cards(&dom).is_empty() && dom.contains("No connector matches"),
        "{dom}"
    );
    // A connector page: history, the install command; the note's HTML is text and runs nothing.
    let dom = visit(
        &bin,
        &work,
        url,
        "community-connector",
        &format!("{url}/connectors/acme_crm"),
    );
    assert!(
        dom.contains(&format!(
            "rlcm connector install {url}/connectors/acme_crm --env &lt;ENV&gt;"
        )),
        "{dom}"
    );
    let history = dom.split("Version history").nth(1).expect("a history");
    assert!(history.contains(">4<") && history.contains(">3<"), "{history}");
    assert!(
        history.contains("First shared version") && history.contains("find_deals"),
        "{history}"
    );
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the script shows as text: {dom}"
    );
    assert!(
        dom.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "the image shows as text: {dom}"
    );
    assert!(!dom.contains("<script") && !dom.contains("onerror=\""), "{dom}");
    assert!(!dom.contains("noindex"));
    // No direct install: only the landing page.
    let dom = visit(
        &bin,
        &work,
        url,
        "community-landing",
        &format!("{url}/connectors/legacy-erp-bridge"),
    );
    assert!(dom.contains("href=\"https://bob.example/erp-bridge\""), "{dom}");
    assert!(!dom.contains("rlcm connector install"), "{dom}");
    // The private link's page: the same page, never indexed, install through the link.
    let dom = visit(&bin, &work, url, "community-private-link", &w.link);
    assert!(
        dom.contains("noindex") && dom.contains("Version history"),
        "{dom}"
    );
    assert!(
        dom.contains(&format!("rlcm connector install {} --env", w.link)),
        "{dom}"
    );
    // A page that does not exist, and the admin sign-in page.
    let dom = visit(
        &bin,
        &work,
        url,
        "community-missing",
        &format!("{url}/connectors/pending-one"),
    );
    assert!(dom.contains("Not found"), "a pending listing: {dom}");
    let dom = visit(&bin, &work, url, "community-admin-login", &format!("{url}/admin"));
    assert!(
        dom.contains("<label for=\"token\">Admin token</label>") && dom.contains("type=\"password\""),
        "{dom}"
    );
}

#[test]
fn admin_sign_in_is_rate_limited_and_sessions_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("registry");
    let token = reg(&data, &["admin-token"])
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let server = RegistryServer::start(&data, &["--max-failed-attempts", "3"]);
    let url = &server.url;
    let (_, h, page) = get(&format!("{url}/admin"), None);
    let cookie = cookie_pair(&h, "rlcm_login");
    let csrf = hidden_csrf(&page);
    let login = format!("{url}/admin/login");
    let (status, h, _) = post_form(&login, Some(&cookie), &[("csrf", &csrf), ("token", &token)]);
    assert_eq!(status, 303);
    let session = cookie_pair(&h, "rlcm_admin");
    let (_, _, queue) = get(&format!("{url}/admin"), Some(&session));
    let session_csrf = hidden_csrf(&queue);
    // Signing out ends the session: its cookie no longer opens the queue.
    let (status, _, _) = post_form(
        &format!("{url}/admin/logout"),
        Some(&session),
        &[("csrf", &session_csrf)],
    );
    assert_eq!(status, 303);
    let (_, _, page) = get(&format!("{url}/admin"), Some(&session));
    assert!(
        page.contains("Admin token") && !page.contains("Waiting for review"),
        "{page}"
    );
    // Three wrong tokens, then even the right one is refused for a while (429).
    for _ in 0..3 {
        let (status, _, _) = post_form(
            &login,
            Some(&cookie),
            &[("csrf", &csrf), ("token", "rlcma_guess")],
        );
        assert_eq!(status, 401);
    }
    let (status, h, _) = post_form(&login, Some(&cookie), &[("csrf", &csrf), ("token", &token)]);
    assert_eq!(status, 429);
    assert!(
        header(&h, "set-cookie")
            .iter()
            .all(|c| !c.starts_with("rlcm_admin="))
    );
}
