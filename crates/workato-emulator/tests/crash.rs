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
