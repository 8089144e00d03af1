//! Connector sharing through a real `rlcm-registry` server on loopback: the whole story
//! (share, link, install, outdated, update, regenerate), every refusal, and no secret in any
//! output or plain file.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// One user's side: a config dir with the registry, and the token variables.
struct Side {
    config: PathBuf,
    envs: Vec<(String, String)>,
}

/// Everything every command printed, to look for secrets at the end.
#[derive(Default)]
struct Transcript(std::cell::RefCell<String>);

impl Transcript {
    fn run(&self, side: &Side, args: &[&str]) -> Output {
        let mut envs: Vec<(&str, &str)> = side.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let cfg = side.config.to_str().unwrap();
        envs.push(("RLCM_CONFIG_DIR", cfg));
        envs.push(("RLCM_NOW", NOW));
        let out = rlcm_in(None, args, &envs);
        let mut t = self.0.borrow_mut();
        t.push_str(&stdout(&out));
        t.push_str(&stderr(&out));
        out
    }

    fn ok(&self, side: &Side, args: &[&str]) -> String {
        ok(&self.run(side, args))
    }

    fn json(&self, side: &Side, schema: &str, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&self.ok(side, &a)).unwrap();
        validate(schema, &v);
        v
    }

    fn fails(&self, side: &Side, code: i32, args: &[&str]) -> String {
        let out = self.run(side, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stderr(&out)
    }
}

fn side(dir: &Path, name: &str, registry: &str, url: &str, token: &str) -> Side {
    let s = Side {
        config: dir.join(format!("config-{name}")),
        envs: vec![(
            format!("RLCM_REGISTRY_TOKEN_{}", registry.to_uppercase()),
            token.to_string(),
        )],
    };
    let out = rlcm_in(
        None,
        &["registry", "add", registry, "--url", url],
        &[("RLCM_CONFIG_DIR", s.config.to_str().unwrap())],
    );
    ok(&out);
    s
}

fn edit_and_release(t: &Transcript, s: &Side, env: &Path, action: &str, note: &str) {
    let rb = env.join("acme_crm.custom_adapter.rb");
    let code = std::fs::read_to_string(&rb).unwrap();
    let at = code.find("actions: {").expect("an actions block");
    let mut new = code.clone();
    new.insert_str(
        at + "actions: {".len(),
        &format!("\n    {action}: {{\n      execute: lambda do |_c, _i| {{}} end\n    }},\n"),
    );
    std::fs::write(&rb, new).unwrap();
    let e = env.to_str().unwrap();
    t.ok(
        s,
        &["connector", "commit", "Acme CRM", "--note", note, "--env", e],
    );
    t.ok(s, &["connector", "release", "Acme CRM", "--env", e]);
}

fn http_get(url: &str, accept: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(url).header("Accept", accept).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn files_under(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect()
}

#[test]
fn the_whole_sharing_story() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("registry");
    let alice_token = add_publisher(&data, "alice");
    let bob_token = add_publisher(&data, "bob");
    assert!(alice_token.starts_with("rlcmp_") && alice_token != bob_token);
    let mut server = RegistryServer::start(&data, &[]);
    let url = server.url.clone();
    let t = Transcript::default();
    let alice = side(dir.path(), "alice", "hub", &url, &alice_token);
    let bob = side(dir.path(), "bob", "hub", &url, &bob_token);
    let nobody = side(dir.path(), "b", "hub", &url, "rlcmp_not-a-token");

    // A: a copy of production; its connector's released version is 3.
    let a = env_copy(dir.path(), "production", "2200000002");
    let ae = a.to_str().unwrap();
    let v = t.json(
        &alice,
        "connector-versions",
        &["connector", "versions", "Acme CRM", "--env", ae],
    );
    assert_eq!(v["released"], 3, "{v:#}");
    let rb = a.join("acme_crm.custom_adapter.rb");
    let original = std::fs::read(&rb).unwrap();
    // A shares (default: the released version 3).
    let r = t.json(
        &alice,
        "registry-share",
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    assert_eq!(
        (r["outcome"].as_str(), r["version"].as_u64()),
        (Some("shared"), Some(3)),
        "{r:#}"
    );
    assert_eq!(r["connector_id"], "acme_crm");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join(".rlcm/connectors/acme_crm.json")).unwrap()).unwrap();
    assert_eq!(state["shared_to"]["hub"]["connector_id"], "acme_crm");
    // Again: a no-op that says so.
    let r = t.json(
        &alice,
        "registry-share",
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    assert_eq!(r["outcome"], "already-shared");
    assert!(r["message"].as_str().unwrap().contains("already shared"));

    // Bob shares his own "Acme CRM": the slug is alice's (409), unless he picks another.
    std::fs::create_dir_all(dir.path().join("bob")).unwrap();
    let bob_env = env_copy(&dir.path().join("bob"), "sandbox", "1100000001");
    let be = bob_env.to_str().unwrap();
    let err = t.fails(
        &bob,
        1,
        &["connector", "share", "Acme CRM", "--env", be, "--registry", "hub"],
    );
    assert!(err.contains("409") && err.contains("another publisher"), "{err}");
    assert!(err.contains(&url), "{err}");
    let r = t.json(
        &bob,
        "registry-share",
        &[
            "connector",
            "share",
            "Acme CRM",
            "--env",
            be,
            "--registry",
            "hub",
            "--slug",
            "acme-crm-bob",
        ],
    );
    assert_eq!(r["connector_id"], "acme-crm-bob");
    // Sharing an unreleased version to the registry is refused before anything is sent.
    let brb = bob_env.join("acme_crm.custom_adapter.rb");
    let code = std::fs::read(&brb).unwrap();
    std::fs::write(&brb, [code.as_slice(), b"\n# wip\n"].concat()).unwrap();
    let c = t.json(
        &bob,
        "connector-change",
        &["connector", "commit", "Acme CRM", "--note", "wip", "--env", be],
    );
    let wip = c["version"].as_u64().unwrap().to_string();
    let err = t.fails(
        &bob,
        1,
        &[
            "connector",
            "share",
            "Acme CRM",
            &wip,
            "--env",
            be,
            "--registry",
            "hub",
            "--slug",
            "acme-crm-bob",
        ],
    );
    assert!(err.contains("never released"), "{err}");
    // A wrong token: refused.
    let err = t.fails(
        &nobody,
        1,
        &["connector", "share", "Acme CRM", "--env", be, "--registry", "hub"],
    );
    assert!(err.contains("401"), "{err}");

    // A makes a link.
    let out = t.ok(
        &alice,
        &[
            "connector",
            "link",
            "create",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
        ],
    );
    let link = out.lines().last().unwrap().trim().to_string();
    assert!(link.starts_with(&format!("{url}/l/")), "{out}");
    let (status, body) = http_get(&link, "application/json");
    assert_eq!(status, 200);
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    validate("registry-connector", &view);
    assert_eq!(view["latest"]["version"], 3);
    let (status, page) = http_get(&link, "text/html");
    assert_eq!(status, 200);
    assert!(
        page.contains("<h1>Acme CRM</h1>") && page.contains("noindex"),
        "{page}"
    );

    // Bob's token cannot touch alice's connector (each answer is the 404 of a missing one).
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let missing = {
        let mut r = agent
            .get(&format!("{url}/v1/connectors/no_such_connector"))
            .header("Authorization", format!("Bearer {bob_token}"))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    assert_eq!(missing.0, 404);
    for (method, path) in [
        ("GET", "/v1/connectors/acme_crm"),
        ("GET", "/v1/connectors/acme_crm/links"),
        ("POST", "/v1/connectors/acme_crm/links"),
        ("DELETE", "/v1/connectors/acme_crm/links?installs=true"),
    ] {
        let full = format!("{url}{path}");
        let auth = format!("Bearer {bob_token}");
        let mut r = match method {
            "GET" => agent.get(&full).header("Authorization", &auth).call(),
            "POST" => agent.post(&full).header("Authorization", &auth).send_empty(),
            _ => agent.delete(&full).header("Authorization", &auth).call(),
        }
        .unwrap();
        let got = (r.status().as_u16(), r.body_mut().read_to_string().unwrap());
        assert_eq!(got, missing, "{method} {path} with bob's token");
    }
    let v = t.json(
        &alice,
        "registry-link",
        &[
            "connector",
            "link",
            "list",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
        ],
    );
    assert_eq!(
        v["links"].as_array().unwrap().len(),
        1,
        "bob's POST made no link: {v:#}"
    );

    // B: an environment with its own "Acme CRM": install asks for `--as`, and changes nothing.
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    let b = env_copy(&dir.path().join("b"), "sandbox", "1100000002");
    let bee = b.to_str().unwrap();
    let before = snapshot(&b);
    let err = t.fails(&bob, 1, &["connector", "install", &link, "--env", bee]);
    assert!(err.contains("--as"), "{err}");
    assert_eq!(snapshot(&b), before);
    let r = t.json(
        &bob,
        "registry-install",
        &[
            "connector",
            "install",
            &link,
            "--env",
            bee,
            "--as",
            "Acme Partner",
        ],
    );
    assert_eq!(r["shared_version"], 3);
    let path = r["path"].as_str().unwrap().to_string();
    let v = t.json(
        &bob,
        "connector-versions",
        &["connector", "versions", "Acme Partner", "--env", bee],
    );
    assert_eq!((v["released"].as_u64(), v["latest"].as_u64()), (Some(1), Some(1)));
    assert_eq!(
        v["versions"][0]["note"],
        format!("Installed from {url} Acme CRM, shared version 3")
    );
    // The code byte for byte as shared; `--as` changed only the title.
    let code_path = b.join(path.replace(".json", ".rb"));
    assert_eq!(std::fs::read(&code_path).unwrap(), original);
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(b.join(&path)).unwrap()).unwrap();
    assert_eq!(meta["title"], "Acme Partner");
    assert_eq!(meta["description"], "Contacts in Acme CRM (in-house REST API)");
    assert!(
        b.join(path.replace(".json", ".png")).is_file(),
        "the logo came along"
    );
    // The install credential: under .rlcm/secrets, mode 0600, git-ignored.
    let secrets = b.join(".rlcm/secrets");
    let cred_file = std::fs::read_dir(&secrets)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".install.json"))
        .expect("an install credential file")
        .path();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cred_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(std::fs::read(secrets.join(".gitignore")).unwrap(), b"*\n");
    let cred: serde_json::Value = serde_json::from_slice(&std::fs::read(&cred_file).unwrap()).unwrap();
    let credential = cred["credential"].as_str().unwrap().to_string();
    let c = t.json(&bob, "check", &["check", "--env", bee]);
    assert_eq!(c["ok"], true, "{c:#}");

    // Up to date.
    let o = t.json(
        &bob,
        "connector-outdated",
        &["connector", "outdated", "--env", bee],
    );
    assert!(o["outdated"].as_array().unwrap().is_empty());
    t.ok(
        &bob,
        &["connector", "outdated", "--env", bee, "--detailed-exitcode"],
    );

    // A releases and shares v4.
    edit_and_release(&t, &alice, &a, "find_deals", "Add find_deals");
    let r = t.json(
        &alice,
        "registry-share",
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    let v4 = r["version"].as_u64().unwrap();
    assert!(v4 > 3);
    // B sees the update with A's note.
    let out = t.run(
        &bob,
        &[
            "connector",
            "outdated",
            "--env",
            bee,
            "--detailed-exitcode",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("connector-outdated", &o);
    assert_eq!(o["outdated"][0]["latest"], v4);
    assert_eq!(o["outdated"][0]["notes"][0]["note"], "Add find_deals");
    let list = t.json(&bob, "connector-list", &["connector", "list", "--env", bee]);
    let partner = list["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"] == "Acme Partner")
        .expect("the installed connector is listed");
    assert_eq!(partner["outdated"]["available"], true, "{list:#}");
    assert_eq!(partner["outdated"]["latest"], v4);
    assert_eq!(partner["outdated"]["installed"], 3);
    assert_eq!(partner["outdated"]["registry"], url.as_str());
    assert!(
        list["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["title"] != "Acme Partner")
            .all(|c| c.get("outdated").is_none()),
        "only installed connectors carry `outdated`: {list:#}"
    );
    let list = t.ok(&bob, &["connector", "list", "--env", bee]);
    assert!(
        list.contains(&format!(
            "Acme Partner: shared version {v4} of `Acme CRM` is available"
        )),
        "{list}"
    );
    let c = t.json(&bob, "check", &["check", "--env", bee]);
    assert_eq!(c["ok"], true);
    assert!(
        c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "connector-update-available"),
        "{c:#}"
    );
    // B updates: version 2 on top, not released; the diff and the check.
    let u = t.json(
        &bob,
        "connector-update",
        &["connector", "update", "Acme Partner", "--env", bee],
    );
    assert_eq!(
        (u["action"].as_str(), u["version"].as_u64()),
        (Some("update"), Some(2)),
        "{u:#}"
    );
    assert_eq!(u["actions_added"], serde_json::json!(["find_deals"]));
    assert_eq!(u["check"]["ok"], true);
    let v = t.json(
        &bob,
        "connector-versions",
        &["connector", "versions", "Acme Partner", "--env", bee],
    );
    assert_eq!((v["released"].as_u64(), v["latest"].as_u64()), (Some(1), Some(2)));
    assert_eq!(
        v["versions"][1]["note"],
        format!("Update from shared version {v4} of Acme CRM")
    );
    let human = t.ok(&bob, &["connector", "update", "Acme Partner", "--env", bee]);
    assert!(human.contains("up to date"), "{human}");
    // B checks and releases.
    t.ok(&bob, &["connector", "check", "Acme Partner", "2", "--env", bee]);
    t.ok(&bob, &["connector", "release", "Acme Partner", "--env", bee]);
    let v = t.json(
        &bob,
        "connector-versions",
        &["connector", "versions", "Acme Partner", "--env", bee],
    );
    assert_eq!(v["released"], 2);

    // A regenerates the link: the old URL is dead (the same 404 as an unknown token), B's
    // updates keep working.
    let out = t.ok(
        &alice,
        &[
            "connector",
            "link",
            "regenerate",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
        ],
    );
    let new_link = out.lines().last().unwrap().trim().to_string();
    assert_ne!(new_link, link);
    let dead = http_get(&link, "application/json");
    let unknown = http_get(&format!("{url}/l/{}", "0".repeat(64)), "application/json");
    assert_eq!(dead.0, 404);
    assert_eq!(dead, unknown);
    assert_eq!(http_get(&link, "text/html"), dead, "the same answer to a browser");
    assert_eq!(dead.1, missing.1, "the same body as a missing connector");
    assert_eq!(http_get(&new_link, "application/json").0, 200);
    let err = t.fails(
        &bob,
        1,
        &["connector", "install", &link, "--env", bee, "--as", "Again"],
    );
    assert!(err.contains("404"), "{err}");
    edit_and_release(&t, &alice, &a, "archive_contact", "Add archive_contact");
    t.ok(
        &alice,
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    let o = t.json(
        &bob,
        "connector-outdated",
        &["connector", "outdated", "--env", bee],
    );
    assert_eq!(o["outdated"][0]["notes"][0]["note"], "Add archive_contact");
    let v = t.json(
        &alice,
        "registry-link",
        &[
            "connector",
            "link",
            "list",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
        ],
    );
    let links = v["links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0]["installs"], 1);
    assert!(links[0]["revoked_at"].is_string() && links[1]["revoked_at"].is_null());

    // Revoking the installs: B can no longer ask for updates.
    let r = t.json(
        &alice,
        "registry-link",
        &[
            "connector",
            "link",
            "revoke",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
            "--installs",
        ],
    );
    assert_eq!(
        (r["revoked_links"].as_u64(), r["revoked_installs"].as_u64()),
        (Some(1), Some(1))
    );
    let err = t.fails(&bob, 1, &["connector", "outdated", "--env", bee]);
    assert!(err.contains("404") && err.contains(&url), "{err}");
    assert_eq!(http_get(&new_link, "application/json"), dead);

    // A registry that is down: a clear error naming it.
    server.kill();
    let err = t.fails(&bob, 1, &["connector", "outdated", "--env", bee]);
    assert!(err.contains(&url) && err.contains("cannot be reached"), "{err}");

    // No secret in any output, nor in any plain file rlcm wrote (the credential lives only in
    // its 0600 file), nor in a package.
    let pkg = dir.path().join("b.zip");
    t.ok(
        &bob,
        &[
            "export",
            "--env",
            bee,
            "--folder",
            "",
            "-o",
            pkg.to_str().unwrap(),
        ],
    );
    let transcript = t.0.borrow().clone();
    // The link URL is printed once, by `link create` and `regenerate`, and nowhere else.
    let link_token = link.rsplit('/').next().unwrap();
    assert_eq!(
        transcript.matches(link_token).count(),
        1,
        "the link token printed once"
    );
    for s in [alice_token.as_str(), bob_token.as_str(), credential.as_str()] {
        assert!(!transcript.contains(s), "a token in the output");
        for root in [&a, &b, &bob_env, &alice.config, &bob.config] {
            for (path, bytes) in files_under(root) {
                if path == cred_file {
                    continue;
                }
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(s),
                    "a token in {}",
                    path.display()
                );
            }
        }
        let zip = std::fs::read(&pkg).unwrap();
        assert!(!String::from_utf8_lossy(&zip).contains(s));
    }
    let zip = std::fs::read(&pkg).unwrap();
    assert!(
        !String::from_utf8_lossy(&zip).contains(".rlcm/"),
        "the package holds no state"
    );
    // The audit log: every share, link change, install and revocation, who and from where,
    // never a token.
    let d = data.to_str().unwrap();
    let out = registry_cmd(&["audit", "--data", d, "--format", "json"]);
    let log: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    validate("registry-audit", &log);
    let entries = log["entries"].as_array().unwrap();
    let count = |action: &str, connector: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == action && e["connector"] == connector)
            .count()
    };
    assert!(count("share", "acme_crm") >= 3, "{log:#}");
    assert_eq!(count("link-create", "acme_crm"), 2, "{log:#}");
    assert_eq!(count("install", "acme_crm"), 1, "{log:#}");
    assert_eq!(count("install-revoke", "acme_crm"), 1, "{log:#}");
    assert!(count("link-revoke", "acme_crm") >= 2, "{log:#}");
    let install = entries.iter().find(|e| e["action"] == "install").unwrap();
    assert_eq!(install["client"], "127.0.0.1");
    assert!(install["actor"].as_str().unwrap().starts_with("link:"));
    let share = entries.iter().find(|e| e["action"] == "share").unwrap();
    assert_eq!(share["actor"], "publisher:alice");
    let only = registry_cmd(&["audit", "--data", d, "--action", "install", "--format", "json"]);
    let only: serde_json::Value = serde_json::from_str(&ok(&only)).unwrap();
    assert_eq!(only["entries"].as_array().unwrap().len(), 1);
    let human = ok(&registry_cmd(&[
        "audit",
        "--data",
        d,
        "--connector",
        "acme-crm-bob",
    ]));
    assert!(
        human.contains("share") && human.contains("publisher:bob"),
        "{human}"
    );
    assert!(!human.contains("acme_crm "), "{human}");
    let log_text = log.to_string() + &human;
    for s in [
        alice_token.as_str(),
        bob_token.as_str(),
        credential.as_str(),
        link_token,
    ] {
        assert!(!log_text.contains(s), "a token in the audit log");
    }
    // The registry stores only hashes.
    for (path, bytes) in files_under(&data) {
        for s in [alice_token.as_str(), bob_token.as_str(), credential.as_str()] {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(s),
                "a token in {}",
                path.display()
            );
        }
    }
}

/// A snapshot with each JSON file's `install_id` and `credential` values masked: every install
/// gets new ones from the registry, so two runs of one install differ only there.
fn masked(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn mask(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "install_id" || k == "credential" {
                        *x = serde_json::Value::from("MASKED");
                    } else {
                        mask(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(mask),
            _ => {}
        }
    }
    // Every file is compared (the journal's temporary a kill once left is staged and swept now).
    snapshot(root)
        .into_iter()
        .map(
            |(k, bytes)| match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(mut v) if k.ends_with(".json") => {
                    mask(&mut v);
                    (k, serde_json::to_vec(&v).unwrap())
                }
                _ => (k, bytes),
            },
        )
        .collect()
}

/// After a kill: the next command recovers on its own (`check` finds no error) and the
/// environment is exactly before or exactly after.
fn assert_before_or_after(
    victim: &Path,
    before: &std::collections::BTreeMap<String, Vec<u8>>,
    after: &std::collections::BTreeMap<String, Vec<u8>>,
    what: &str,
) -> bool {
    let c = run(&["check", "--env", victim.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
    assert!(
        !report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error"),
        "{what}: check after recovery: {report:#}"
    );
    let now = masked(victim);
    let diff: Vec<&String> = now
        .keys()
        .chain(after.keys())
        .chain(before.keys())
        .filter(|k| now.get(*k) != after.get(*k) && now.get(*k) != before.get(*k))
        .collect();
    assert!(
        now == *before || now == *after,
        "{what}: the environment is neither before nor after; files that differ: {diff:?}"
    );
    now == *after
}

/// SIGKILLs `rlcm ARGS` (ENV: a fresh copy of `env`) at each crash point of its environment
/// transaction, then at spread instants from outside; each kill leaves the copy before or
/// after. Returns (crash points killed, external kills that landed mid-run).
fn kill_client_trials(env: &Path, args: &[&str]) -> (usize, usize) {
    use std::os::unix::process::ExitStatusExt;
    let base = tempfile::tempdir().unwrap();
    let with_env = |e: &Path| -> Vec<String> {
        args.iter()
            .map(|a| {
                if *a == "ENV" {
                    e.to_str().unwrap().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect()
    };
    let reference = base.path().join("reference");
    copy_tree(env, &reference);
    let before = masked(&reference);
    let a = with_env(&reference);
    let started = std::time::Instant::now();
    ok(&run(&a.iter().map(String::as_str).collect::<Vec<_>>()));
    let took = started.elapsed();
    let after = masked(&reference);
    assert_ne!(before, after, "{args:?} changes nothing");
    let mut killed = 0;
    for point in 1..200 {
        let victim = base.path().join(format!("victim{point}"));
        copy_tree(env, &victim);
        let a = with_env(&victim);
        let p = point.to_string();
        let out = rlcm_in(
            None,
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            &[("RLCM_NOW", NOW), ("RLCM_CRASH_POINT", &p)],
        );
        if out.status.signal() != Some(9) {
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(masked(&victim), after, "a run that was not killed differs");
            break;
        }
        killed += 1;
        assert_before_or_after(&victim, &before, &after, &format!("{args:?} crash point {point}"));
        std::fs::remove_dir_all(&victim).unwrap();
    }
    // From outside: SIGKILL at 12 instants spread over the reference run's duration.
    let mut mid = 0;
    for i in 0..12u32 {
        let victim = base.path().join(format!("outside{i}"));
        copy_tree(env, &victim);
        let a = with_env(&victim);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rlcm"))
            .args(&a)
            .env("NO_COLOR", "1")
            .env("RLCM_USER", "tester")
            .env("RLCM_NOW", NOW)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(took * i / 11);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.signal() == Some(9) {
            mid += 1;
        }
        assert_before_or_after(
            &victim,
            &before,
            &after,
            &format!("{args:?} killed at {i}/11 of {took:?}"),
        );
        std::fs::remove_dir_all(&victim).unwrap();
    }
    eprintln!("{args:?}: {killed} crash points and {mid} external kills, each before or after");
    (killed, mid)
}

#[test]
fn install_and_update_killed_leave_the_environment_before_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("registry");
    let token = add_publisher(&data, "alice");
    let server = RegistryServer::start(&data, &[]);
    let t = Transcript::default();
    let alice = side(dir.path(), "alice", "hub", &server.url, &token);
    let a = env_copy(dir.path(), "production", "2200000002");
    let ae = a.to_str().unwrap();
    t.ok(
        &alice,
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    let out = t.ok(
        &alice,
        &[
            "connector",
            "link",
            "create",
            "Acme CRM",
            "--env",
            ae,
            "--registry",
            "hub",
        ],
    );
    let link = out.lines().last().unwrap().trim().to_string();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    let b = env_copy(&dir.path().join("b"), "sandbox", "1100000002");
    let (points, _) = kill_client_trials(
        &b,
        &[
            "connector",
            "install",
            &link,
            "--env",
            "ENV",
            "--as",
            "Acme Partner",
        ],
    );
    assert!(points >= 3, "install has {points} crash points");
    // Installed, then the parent shares a newer version: `update` killed the same way.
    let bee = b.to_str().unwrap();
    t.ok(
        &alice,
        &[
            "connector",
            "install",
            &link,
            "--env",
            bee,
            "--as",
            "Acme Partner",
        ],
    );
    edit_and_release(&t, &alice, &a, "find_deals", "Add find_deals");
    t.ok(
        &alice,
        &["connector", "share", "Acme CRM", "--env", ae, "--registry", "hub"],
    );
    let (points, _) = kill_client_trials(&b, &["connector", "update", "Acme Partner", "--env", "ENV"]);
    assert!(points >= 3, "update has {points} crash points");
}
