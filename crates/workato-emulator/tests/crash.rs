//! SIGKILL of the emulator in the middle of an import leaves the served environment as it
//! was before the import or as it is after it, never in between (rlcm's journaled
//! transaction; the next opening finishes or discards the interrupted write).

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

/// The environment after rlcm has opened it (finishing any interrupted write), with the
/// history's temporary package path taken out (it differs per run).
fn settled(root: &Path) -> BTreeMap<String, Vec<u8>> {
    rlcm::env::Environment::open(root).unwrap();
    snapshot(root)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".rlcm/tmp"))
        .map(|(k, v)| {
            if k.starts_with(".rlcm/history/") && k.ends_with(".json") {
                let mut j: serde_json::Value = serde_json::from_slice(&v).unwrap();
                if let Some(o) = j.as_object_mut() {
                    o.remove("package");
                }
                (k, serde_json::to_vec(&j).unwrap())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// Imports `zip` into the root folder; waits for the final status, or for the process to die.
fn import_until_done_or_killed(e: &mut Emulator, zip: &[u8]) -> Option<std::process::ExitStatus> {
    let root = root_folder(e);
    let id = import(e, root, zip, true);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = e.child.try_wait().unwrap() {
            return Some(status);
        }
        match try_call("GET", &e.url(&format!("/api/packages/{id}")), Some(TOKEN), None) {
            Ok(a) if a.status == 200 && a.json()["status"] != "in_progress" => {
                assert_eq!(a.json()["status"], "completed", "{}", a.json());
                return None;
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "import neither finished nor crashed");
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Runs `op` against an emulator killed at its 1st, 2nd, ... crash point (until one run is
/// not killed) and checks that each killed run left the environment before or after `op`.
/// `op` returns the exit status when the emulator died, `None` when the operation completed.
fn at_every_crash_point(
    dir: &Path,
    base: &Path,
    label: &str,
    op: impl Fn(&mut Emulator) -> Option<std::process::ExitStatus>,
) -> usize {
    let reference = dir.join(format!("{label}-reference"));
    copy_tree(base, &reference);
    let before = settled(&reference);
    {
        let mut e = Emulator::start(&reference, &["--rate-limits", "off", "--poll-delay", "0"]);
        assert!(op(&mut e).is_none(), "{label}: the reference run died");
    }
    let after = settled(&reference);
    assert_ne!(before, after, "{label} changes nothing");
    let mut killed = 0;
    for point in 1..200 {
        let victim = dir.join(format!("{label}-victim{point}"));
        copy_tree(base, &victim);
        let p = point.to_string();
        let mut e = Emulator::start_with(
            &victim,
            &["--rate-limits", "off", "--poll-delay", "0"],
            &[("RLCM_CRASH_POINT", &p)],
        );
        match op(&mut e) {
            Some(status) => {
                assert_eq!(
                    status.signal(),
                    Some(9),
                    "{label}, crash point {point}: {status:?}"
                );
                killed += 1;
                let now = settled(&victim);
                assert!(
                    now == before || now == after,
                    "{label}, crash point {point}: the environment is neither before nor after"
                );
                // The emulator serves the recovered environment again.
                let e2 = Emulator::start(&victim, &["--rate-limits", "off"]);
                assert_eq!(get(&e2, "/api/users/me").status, 200);
            }
            None => {
                assert_eq!(
                    settled(&victim),
                    after,
                    "{label}: crash point {point} was never reached but differs"
                );
                break;
            }
        }
    }
    killed
}

/// A request that either succeeds (`None`) or kills the emulator (its exit status).
fn request_or_death(
    e: &mut Emulator,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Option<std::process::ExitStatus> {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
    let r = try_call(
        method,
        &e.url(path),
        Some(TOKEN),
        bytes.as_deref().map(|b| ("application/json", b)),
    );
    if let Ok(a) = &r
        && a.status == 200
    {
        return None;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = e.child.try_wait().unwrap() {
            return Some(status);
        }
        assert!(
            Instant::now() < deadline,
            "{method} {path} failed without a crash: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_mid_connector_create_update_release_and_recipe_start() {
    let dir = tempfile::tempdir().unwrap();
    let base = env_from("production", dir.path(), 6002);
    let src = "{\n  title: 'Beta',\n  actions: {\n    ping: { execute: lambda { |_c, _i| {} } }\n  }\n}\n";
    let create = serde_json::json!({"title": "Beta", "code": src, "note": "first"});
    let n = at_every_crash_point(dir.path(), &base, "create", |e| {
        request_or_death(e, "POST", "/api/custom_connectors", Some(&create))
    });
    assert!(n >= 3, "create: only {n} crash points were hit");

    // The connector's id, from a run without crashes.
    let e = Emulator::start(&base, &["--rate-limits", "off"]);
    let acme = get(&e, "/api/custom_connectors").json()["result"][0]["id"].clone();
    let recipe = get(&e, "/api/recipes").json()["items"][0]["id"].clone();
    drop(e);
    let code = std::fs::read_to_string(base.join("acme_crm.custom_adapter.rb")).unwrap() + "\n# v4\n";
    let update = serde_json::json!({"code": code, "note": "v4"});
    let n = at_every_crash_point(dir.path(), &base, "update", |e| {
        request_or_death(e, "PUT", &format!("/api/custom_connectors/{acme}"), Some(&update))
    });
    assert!(n >= 3, "update: only {n} crash points were hit");
    // Release the updated version (the update's reference run left it unreleased).
    let updated = dir.path().join("update-reference");
    let n = at_every_crash_point(dir.path(), &updated, "release", |e| {
        request_or_death(e, "POST", &format!("/api/custom_connectors/{acme}/release"), None)
    });
    assert!(n >= 3, "release: only {n} crash points were hit");
    let n = at_every_crash_point(dir.path(), &base, "start", |e| {
        request_or_death(e, "PUT", &format!("/api/recipes/{recipe}/start"), None)
    });
    assert!(n >= 1, "start: only {n} crash points were hit");
}

#[test]
fn sigkill_mid_import_leaves_the_environment_before_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_from("sandbox", dir.path(), 1004);
    let base = env_from("production", dir.path(), 6001);
    let zip = package_of(&sandbox, &["orders", "contacts"], &dir.path().join("release.zip"));

    let reference = dir.path().join("reference");
    copy_tree(&base, &reference);
    let before = settled(&reference);
    {
        let mut e = Emulator::start(&reference, &["--rate-limits", "off", "--poll-delay", "0"]);
        assert!(import_until_done_or_killed(&mut e, &zip).is_none());
    }
    let after = settled(&reference);
    assert_ne!(before, after, "the import changes nothing");

    let mut killed = 0;
    for point in 1..200 {
        let victim = dir.path().join(format!("victim{point}"));
        copy_tree(&base, &victim);
        let p = point.to_string();
        let mut e = Emulator::start_with(
            &victim,
            &["--rate-limits", "off", "--poll-delay", "0"],
            &[("RLCM_CRASH_POINT", &p)],
        );
        match import_until_done_or_killed(&mut e, &zip) {
            Some(status) => {
                assert_eq!(status.signal(), Some(9), "crash point {point}: {status:?}");
                killed += 1;
                let now = settled(&victim);
                assert!(
                    now == before || now == after,
                    "crash point {point}: the environment is neither before nor after the import"
                );
                // The emulator serves the recovered environment again.
                let e2 = Emulator::start(&victim, &["--rate-limits", "off"]);
                assert_eq!(get(&e2, "/api/users/me").status, 200);
            }
            None => {
                assert_eq!(
                    settled(&victim),
                    after,
                    "crash point {point} was never reached but differs"
                );
                break;
            }
        }
    }
    assert!(killed >= 3, "only {killed} crash points were hit");
}
