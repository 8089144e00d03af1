//! `rlcm plan --remote`, `push`, `rollback --remote` and the fan-out, end to end against
//! `workato-emulator` processes started on loopback: plan with impact outside the package,
//! blocked push, stale saved plan after a change "in the UI", push with verification and
//! history, rollback (deleting what the push created), fan-out with one failing target, and
//! the token never in any output or file.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{
    Emulator, copy_tree, env_copy, ok, release_compatible_connector, rlcm_in, run, snapshot, stderr, stdout,
    testdata, validate,
};

const TOKEN: &str = "emu-push-token-SECRET-9876543210";

fn start(env: &Path, extra: &[&str]) -> Emulator {
    Emulator::start(env, TOKEN, "0", None, extra)
}

/// Sandbox, production, the orders release package (made compatible with production's
/// connector unless `breaking`), the emulator serving production and `prod` added as a remote.
struct World {
    dir: tempfile::TempDir,
    prod: PathBuf,
    pkg: PathBuf,
    cfg: PathBuf,
    emu: Emulator,
}

impl World {
    fn new(breaking: bool, emu_args: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
        let prod = env_copy(dir.path(), "production", "2200000002");
        let pkg = dir.path().join("orders.zip");
        if !breaking {
            release_compatible_connector(&sandbox);
        }
        export(&sandbox, &pkg);
        let emu = start(&prod, emu_args);
        let cfg = dir.path().join("cfg");
        let w = World {
            dir,
            prod,
            pkg,
            cfg,
            emu,
        };
        let out = w.rlcm(&["remote", "add", "prod", "--url", &w.emu.url]);
        assert!(out.status.success(), "{}", stderr(&out));
        w
    }

    fn rlcm(&self, args: &[&str]) -> Output {
        self.rlcm_env(args, &[])
    }

    fn rlcm_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        common::rlcm_remote(&self.cfg, TOKEN, args, extra)
    }

    fn pkg(&self) -> &str {
        self.pkg.to_str().unwrap()
    }

    fn mirror(&self) -> PathBuf {
        self.cfg.join("cache/remotes/prod/mirror")
    }

    /// No file rlcm wrote (config, cache, mirror, package) holds the token.
    fn assert_token_nowhere(&self) {
        for (k, bytes) in snapshot(self.dir.path()) {
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "token in {k}"
            );
        }
    }
}

fn export(sandbox: &Path, pkg: &Path) {
    ok(&run(&[
        "export",
        "--env",
        sandbox.to_str().unwrap(),
        "-o",
        pkg.to_str().unwrap(),
        "--manifest",
        testdata("orders-release.yaml").to_str().unwrap(),
    ]));
}

/// The served tree without `.rlcm/` (what the workspace holds).
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".rlcm"))
        .collect()
}

/// The served environment as a whole, without the rebuildable cache.
fn served(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".rlcm/cache"))
        .collect()
}

/// The paths whose bytes differ between two snapshots.
fn differing(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut out: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

fn json_of(out: &Output, schema: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)));
    validate(schema, &v);
    v
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

fn history(mirror: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mirror.join(".rlcm/pushes.json")).unwrap()).unwrap();
    validate("push-history", &v);
    v["pushes"].as_array().unwrap().clone()
}

#[test]
fn a_breaking_plan_shows_impact_outside_the_package_and_the_push_is_refused() {
    let w = World::new(true, &[]);
    let before = served(&w.prod);
    let out = w.rlcm(&["plan", w.pkg(), "--remote", "prod", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let p = json_of(&out, "plan");
    assert_eq!(p["blocked"], true);
    let legacy = p["impact"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["recipe"] == "prod-only/legacy_nightly_export.recipe.json")
        .unwrap_or_else(|| panic!("{:#}", p["impact"]));
    assert_eq!(legacy["severity"], "breaking");
    assert_eq!(legacy["in_package"], false);
    assert!(p["target"].as_str().unwrap().contains("prod"), "{}", p["target"]);
    // The plan is the one a local plan against the same environment makes.
    let local = run(&[
        "plan",
        w.pkg(),
        "--env",
        w.prod.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let l: serde_json::Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(p["actions"], l["actions"]);
    assert_eq!(p["impact"], l["impact"]);

    let out = w.rlcm(&["push", w.pkg(), "--remote", "prod"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("blocked") && err.contains("legacy_export") && !err.contains("Blocker {"),
        "{err}"
    );
    assert_eq!(
        differing(&served(&w.prod), &before),
        Vec::<String>::new(),
        "a refused push changed the workspace"
    );
    assert!(
        !w.mirror().join(".rlcm/pushes.json").exists(),
        "a refused push was recorded"
    );
    w.assert_token_nowhere();
}

#[test]
fn push_verifies_records_and_rollback_deletes_what_it_created() {
    let w = World::new(false, &[]);
    let original = tree(&w.prod);
    let saved = w.dir.path().join("plan.json");
    let out = w.rlcm(&[
        "plan",
        w.pkg(),
        "--remote",
        "prod",
        "-o",
        saved.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p = json_of(&out, "plan");
    assert_eq!(
        action_of(&p, "contacts/merge_duplicate_contacts.recipe.json"),
        "create"
    );

    // A change "in the UI" makes the saved plan stale.
    let edited = w.prod.join("country_codes.lookup_table.json");
    let original_table = std::fs::read(&edited).unwrap();
    let text = String::from_utf8(original_table.clone()).unwrap();
    std::fs::write(
        &edited,
        text.replacen('{', "{\n  \"description\": \"edited in the UI\",", 1),
    )
    .unwrap();
    let before = served(&w.prod);
    let out = w.rlcm(&["push", "--plan", saved.to_str().unwrap(), "--remote", "prod"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
    assert_eq!(differing(&served(&w.prod), &before), Vec::<String>::new());
    std::fs::write(&edited, &original_table).unwrap();

    // Plan again, push on that plan (no PKG needed).
    let out = w.rlcm(&["plan", w.pkg(), "--remote", "prod", "-o", saved.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = w.rlcm(&[
        "push",
        "--plan",
        saved.to_str().unwrap(),
        "--remote",
        "prod",
        "--format",
        "json",
        "-v",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = json_of(&out, "push");
    assert!(r["package_id"].as_u64().is_some(), "{r:#}");
    assert_eq!(r["differences"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["push_id"], 1);
    let recipes = r["recipes"].as_array().unwrap();
    assert!(!recipes.is_empty());
    assert!(
        recipes
            .iter()
            .any(|x| x["name"] == "Merge duplicate contacts" && x["ok"] == true),
        "{recipes:#?}"
    );
    assert!(stderr(&out).contains("debug: POST "), "{}", stderr(&out));
    // The workspace now holds the package's recipes, with production's provider names.
    let merged =
        std::fs::read_to_string(w.prod.join("contacts/merge_duplicate_contacts.recipe.json")).unwrap();
    assert!(merged.contains("acme_crm_connector_2200000002_1710000000"));
    let h = history(&w.mirror());
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["outcome"], "completed");
    assert_eq!(h[0]["package_id"], r["package_id"]);
    assert_eq!(h[0]["by"], "tester");
    assert!(w.mirror().join(".rlcm/pushes/1/before.zip").is_file());
    // The mirror is a sound environment holding the workspace's files (as exported: secrets
    // and property values left out).
    let c = w.rlcm(&["check", "--env", w.mirror().to_str().unwrap()]);
    assert!(c.status.success(), "{}", stdout(&c));
    assert_eq!(
        tree(&w.mirror()).keys().collect::<Vec<_>>(),
        tree(&w.prod).keys().collect::<Vec<_>>()
    );

    // Same package again: nothing to push, nothing recorded.
    let out = w.rlcm(&["push", w.pkg(), "--remote", "prod", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let again = json_of(&out, "push");
    assert!(again["package_id"].is_null(), "{again:#}");
    assert_eq!(history(&w.mirror()).len(), 1);
    let human = w.rlcm(&["push", w.pkg(), "--remote", "prod"]);
    assert!(stdout(&human).contains("nothing to push"), "{}", stdout(&human));

    // Roll back: what it replaced comes back, what it created goes where the API can.
    let out = w.rlcm(&["rollback", "--remote", "prod", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let rb = json_of(&out, "push");
    assert_eq!(rb["kind"], "rollback of 1");
    assert_eq!(rb["differences"], serde_json::json!([]), "{rb:#}");
    let deleted: Vec<&str> = rb["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        deleted.contains(&"contacts/merge_duplicate_contacts.recipe.json"),
        "{rb:#}"
    );
    let left: Vec<&str> = rb["left_behind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    for l in rb["left_behind"].as_array().unwrap() {
        assert!(
            l["reason"].as_str().unwrap().contains("delete it in Workato"),
            "{l}"
        );
        assert!(w.prod.join(l["path"].as_str().unwrap()).is_file());
    }
    let now = tree(&w.prod);
    for d in &deleted {
        assert!(!now.contains_key(*d), "{d} is still there");
    }
    // Every file is as before the push, but what could not be deleted, the connector's
    // metadata (its version number grows: the old code is released as a new version) and the
    // account properties (an import adds keys, never removes them).
    let differ = differing(&original, &now);
    for d in &differ {
        assert!(
            left.contains(&d.as_str())
                || d == "acme_crm.custom_adapter.json"
                || d == "account_properties.properties.json",
            "{d} differs after the rollback (differing: {differ:?})"
        );
    }
    assert!(
        now["acme_crm.custom_adapter.rb"] == original["acme_crm.custom_adapter.rb"],
        "the connector's code is production's again"
    );
    let h = history(&w.mirror());
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["rolled_back"], true);
    assert_eq!(h[1]["kind"], "rollback of 1");
    // Nothing left to roll back.
    let out = w.rlcm(&["rollback", "--remote", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("push"), "{}", stderr(&out));
    w.assert_token_nowhere();
}

#[test]
fn rollback_refuses_to_delete_a_created_recipe_that_runs() {
    let w = World::new(false, &[]);
    let out = w.rlcm(&["push", w.pkg(), "--remote", "prod", "--format", "markdown"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(
        md.contains("### push `prod`")
            && md.contains("| Merge duplicate contacts | unchanged or updated (no restart needed) |")
            && md.contains("**Verified**"),
        "{md}"
    );
    // Started "in the UI" after the push.
    ok(&run(&[
        "recipe",
        "start",
        "contacts/merge_duplicate_contacts.recipe.json",
        "--env",
        w.prod.to_str().unwrap(),
    ]));
    let before = served(&w.prod);
    let out = w.rlcm(&["rollback", "--remote", "prod"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("merge_duplicate_contacts") && stderr(&out).contains("running"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        differing(&served(&w.prod), &before),
        Vec::<String>::new(),
        "a refused rollback changed the workspace"
    );
}

/// `n` production workspaces, each served by its own emulator and added as `p0`, `p1`, ...;
/// `bad` ones get a wrong token.
struct Fleet {
    _dir: tempfile::TempDir,
    pkg: PathBuf,
    cfg: PathBuf,
    envs: Vec<PathBuf>,
    _emus: Vec<Emulator>,
}

impl Fleet {
    fn new(n: usize) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = env_copy(dir.path(), "sandbox", "1100000001");
        release_compatible_connector(&sandbox);
        let pkg = dir.path().join("orders.zip");
        export(&sandbox, &pkg);
        let base = env_copy(dir.path(), "production", "2200000002");
        let cfg = dir.path().join("cfg");
        let mut envs = Vec::new();
        let mut emus = Vec::new();
        for i in 0..n {
            let env = dir.path().join(format!("prod{i}"));
            copy_tree(&base, &env);
            let emu = start(&env, &["--id", &(3300000000u64 + i as u64).to_string()]);
            let out = rlcm_in(
                None,
                &["remote", "add", &format!("p{i}"), "--url", &emu.url],
                &[("RLCM_CONFIG_DIR", cfg.to_str().unwrap())],
            );
            assert!(out.status.success(), "{}", stderr(&out));
            envs.push(env);
            emus.push(emu);
        }
        Fleet {
            _dir: dir,
            pkg,
            cfg,
            envs,
            _emus: emus,
        }
    }

    fn push(&self, tokens: &[&str], extra: &[&str]) -> Output {
        let cache = self.cfg.join("cache");
        let vars: Vec<(String, String)> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("RLCM_TOKEN_P{i}"), t.to_string()))
            .collect();
        let mut envs: Vec<(&str, &str)> = vec![
            ("RLCM_CONFIG_DIR", self.cfg.to_str().unwrap()),
            ("RLCM_CACHE_DIR", cache.to_str().unwrap()),
            ("RLCM_RATE_LIMITS", "off"),
        ];
        envs.extend(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let names: Vec<String> = (0..tokens.len()).map(|i| format!("p{i}")).collect();
        let mut args = vec!["push", self.pkg.to_str().unwrap()];
        for n in &names {
            args.extend(["--remote", n.as_str()]);
        }
        args.extend_from_slice(extra);
        let out = rlcm_in(None, &args, &envs);
        for text in [stdout(&out), stderr(&out)] {
            for t in tokens {
                assert!(!text.contains(t), "a token in the output: {text}");
            }
        }
        out
    }

    fn pushes(&self, i: usize) -> usize {
        let p = self
            .cfg
            .join(format!("cache/remotes/p{i}/mirror/.rlcm/pushes.json"));
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice::<serde_json::Value>(&b).unwrap()["pushes"]
                .as_array()
                .unwrap()
                .len(),
            Err(_) => 0,
        }
    }
}

fn statuses(v: &serde_json::Value) -> Vec<(String, String)> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["remote"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn fan_out_pushes_nothing_when_one_target_fails_then_keeps_going_and_resumes() {
    let f = Fleet::new(3);
    let before: Vec<_> = f.envs.iter().map(|e| served(e)).collect();
    let tokens = [TOKEN, TOKEN, "wrong-token-000000"];
    let out = f.push(&tokens, &["--format", "json", "--parallel", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out, "fanout");
    assert_eq!(
        statuses(&v),
        [
            ("p0".to_string(), "skipped".to_string()),
            ("p1".into(), "skipped".into()),
            ("p2".into(), "failed".into())
        ]
    );
    assert!(
        v["results"][2]["error"].as_str().unwrap().contains("401"),
        "{v:#}"
    );
    for (e, b) in f.envs.iter().zip(&before) {
        assert_eq!(
            differing(&served(e), b),
            Vec::<String>::new(),
            "a target was pushed although another failed"
        );
    }

    // --keep-going: the good targets are pushed, two at a time.
    let out = f.push(&tokens, &["--format", "json", "--parallel", "2", "--keep-going"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out, "fanout");
    assert_eq!(
        statuses(&v),
        [
            ("p0".to_string(), "pushed".to_string()),
            ("p1".into(), "pushed".into()),
            ("p2".into(), "failed".into())
        ]
    );
    for i in 0..2 {
        assert!(v["results"][i]["package_id"].as_u64().is_some());
        assert!(
            f.envs[i]
                .join("contacts/merge_duplicate_contacts.recipe.json")
                .is_file()
        );
    }
    assert_eq!(differing(&served(&f.envs[2]), &before[2]), Vec::<String>::new());
    let result = f.cfg.join("result.json");
    std::fs::write(&result, &out.stdout).unwrap();

    // Resume with the token fixed: only p2 is pushed now.
    let out = f.push(
        &[TOKEN, TOKEN, TOKEN],
        &["--format", "json", "--resume", result.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out, "fanout");
    assert!(statuses(&v).iter().all(|(_, s)| s == "pushed"), "{v:#}");
    assert_eq!((f.pushes(0), f.pushes(1), f.pushes(2)), (1, 1, 1));
    let human = f.push(&[TOKEN, TOKEN, TOKEN], &[]);
    assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
    assert!(stdout(&human).contains("p2"), "{}", stdout(&human));
}

#[test]
fn fan_out_with_a_blocked_target_exits_3_and_pushes_nothing() {
    let f = Fleet::new(2);
    // p1's production runs a recipe the package updates: its plan is blocked.
    ok(&run(&[
        "recipe",
        "start",
        "orders/sync_orders.recipe.json",
        "--env",
        f.envs[1].to_str().unwrap(),
    ]));
    let before: Vec<_> = f.envs.iter().map(|e| served(e)).collect();
    let out = f.push(&[TOKEN, TOKEN], &["--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v = json_of(&out, "fanout");
    assert_eq!(
        statuses(&v),
        [
            ("p0".to_string(), "skipped".to_string()),
            ("p1".into(), "blocked".into())
        ]
    );
    for (e, b) in f.envs.iter().zip(&before) {
        assert_eq!(differing(&served(e), b), Vec::<String>::new());
    }
}
