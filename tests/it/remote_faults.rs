//! `pull` and `push` against an emulator that misbehaves (`--fault KIND:RATE`, `--seed`,
//! `--fault-on PREFIX`): idempotent requests are retried through 429s and 5xx, an import POST
//! is never retried (exit 4, naming the URL), and a failed command leaves the mirror, the
//! pulled zip and the workspace as they were.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{
    Emulator, NOW, env_copy, ok, release_compatible_connector, run, snapshot, stderr, stdout, testdata,
};

const TOKEN: &str = "emu-fault-token-SECRET-1357924680";

/// How many requests the emulator logged with this method and path prefix.
fn count(emu: &Emulator, method: &str, prefix: &str) -> usize {
    std::fs::read_to_string(emu.log.as_ref().unwrap())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("{method} {prefix}")))
        .count()
}

/// Starts an emulator serving `env` on `port` (0: any), logging to `log`.
fn start(env: &Path, port: &str, log: &Path, extra: &[&str]) -> Emulator {
    Emulator::start(env, TOKEN, port, Some(log), extra)
}

struct World {
    dir: tempfile::TempDir,
    prod: PathBuf,
    cfg: PathBuf,
    emu: Option<Emulator>,
}

impl World {
    fn new(extra: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let prod = env_copy(dir.path(), "production", "2200000002");
        let cfg = dir.path().join("cfg");
        let emu = start(&prod, "0", &dir.path().join("emu.log"), extra);
        let w = World {
            dir,
            prod,
            cfg,
            emu: Some(emu),
        };
        let url = w.emu().url.clone();
        let out = w.rlcm(&["remote", "add", "prod", "--url", &url]);
        assert!(out.status.success(), "{}", stderr(&out));
        w
    }

    fn emu(&self) -> &Emulator {
        self.emu.as_ref().unwrap()
    }

    /// The same workspace at the same URL, now with these faults.
    fn restart(&mut self, extra: &[&str]) {
        let port = self.emu().port();
        self.emu = None;
        self.emu = Some(start(&self.prod, &port, &self.dir.path().join("emu.log"), extra));
    }

    fn rlcm(&self, args: &[&str]) -> Output {
        self.rlcm_env(args, &[])
    }

    fn rlcm_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        common::rlcm_remote(&self.cfg, TOKEN, args, extra)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn mirror(&self) -> PathBuf {
        self.cfg.join("cache/remotes/prod/mirror")
    }

    /// The orders release, compatible with production.
    fn package(&self) -> PathBuf {
        let sandbox = env_copy(self.dir.path(), "sandbox", "1100000001");
        release_compatible_connector(&sandbox);
        let pkg = self.path("orders.zip");
        ok(&run(&[
            "export",
            "--env",
            sandbox.to_str().unwrap(),
            "-o",
            pkg.to_str().unwrap(),
            "--manifest",
            testdata("orders-release.yaml").to_str().unwrap(),
        ]));
        pkg
    }
}

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

/// The served environment without its rebuildable cache.
fn served(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".rlcm/cache"))
        .collect()
}

/// Every directory entry of a mirror, `.rlcm/` included (its `remote.json` has the pull time).
fn whole(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
}

#[test]
fn pull_goes_through_429s_and_5xx_of_idempotent_requests() {
    let w = World::new(&[]);
    let clean = w.path("clean");
    let out = w.rlcm(&["pull", "prod", "-o", clean.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut w = w;
    // Every GET the pull makes may answer 429 (no Retry-After) or 500; POSTs are spared
    // (a 5xx to a POST is not retried: see below).
    w.restart(&[
        "--fault",
        "429:0.3",
        "--fault",
        "500:0.3",
        "--seed",
        "11",
        "--fault-on",
        "/api/users/me",
        "--fault-on",
        "/api/packages/1",
        "--fault-on",
        "/api/recipes",
        "--fault-on",
        "/api/custom_connectors",
    ]);
    let faulty = w.path("faulty");
    let out = w.rlcm(&["pull", "prod", "-o", faulty.to_str().unwrap(), "-v"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("-> 429") && err.contains("-> 500") && err.contains("retrying in"),
        "no fault was hit: {err}"
    );
    let tree = |r: &Path| -> Vec<(String, Vec<u8>)> {
        snapshot(r)
            .into_iter()
            .filter(|(k, _)| !k.starts_with(".rlcm"))
            .collect()
    };
    assert!(tree(&clean) == tree(&faulty), "the faulty pull differs");
}

#[test]
fn a_5xx_to_a_post_fails_the_pull_and_leaves_mirror_and_zip_as_they_were() {
    let mut w = World::new(&[]);
    let mirror = w.path("mirror");
    let zip = w.path("prod.zip");
    for out in [&mirror, &zip] {
        let r = w.rlcm(&["pull", "prod", "-o", out.to_str().unwrap()]);
        assert!(r.status.success(), "{}", stderr(&r));
    }
    let before = (whole(&mirror), std::fs::read(&zip).unwrap());
    w.restart(&["--fault", "500:1", "--fault-on", "/api/packages/export/"]);
    for out in [&mirror, &zip] {
        let r = w.rlcm(&["pull", "prod", "-o", out.to_str().unwrap()]);
        assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
        assert!(
            stderr(&r).contains("/api/packages/export/") && stderr(&r).contains("HTTP 500"),
            "{}",
            stderr(&r)
        );
    }
    // One try per pull: a POST is not retried after a 5xx.
    assert_eq!(count(w.emu(), "POST", "/api/packages/export/"), 2);
    assert_eq!(differing(&whole(&mirror), &before.0), Vec::<String>::new());
    assert!(std::fs::read(&zip).unwrap() == before.1, "the zip changed");
    assert_no_leftovers(w.dir.path());
}

/// No temporary file or directory of a pull is left beside its output.
fn assert_no_leftovers(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            !name.starts_with(".rlcm-pull-") && !name.ends_with(".rlcm-previous"),
            "left behind: {name}"
        );
    }
}

#[test]
fn broken_downloads_fail_the_pull_cleanly() {
    let mut w = World::new(&[]);
    let mirror = w.path("mirror");
    let zip = w.path("prod.zip");
    for out in [&mirror, &zip] {
        let r = w.rlcm(&["pull", "prod", "-o", out.to_str().unwrap()]);
        assert!(r.status.success(), "{}", stderr(&r));
    }
    let before = (whole(&mirror), std::fs::read(&zip).unwrap());
    for (fault, says) in [
        ("drop-download:1", "download did not complete"),
        ("truncate-download:1", "cut short"),
        ("expire-download:1", "HTTP 403"),
    ] {
        w.restart(&["--fault", fault]);
        for out in [&mirror, &zip] {
            let r = w.rlcm(&["pull", "prod", "-o", out.to_str().unwrap()]);
            assert_eq!(r.status.code(), Some(1), "{fault}: {}", stderr(&r));
            assert!(stderr(&r).contains(says), "{fault}: {}", stderr(&r));
        }
        assert_eq!(
            differing(&whole(&mirror), &before.0),
            Vec::<String>::new(),
            "{fault}"
        );
        assert!(
            std::fs::read(&zip).unwrap() == before.1,
            "{fault}: the zip changed"
        );
        assert_no_leftovers(w.dir.path());
    }
}

#[test]
fn an_import_answered_5xx_is_not_retried_and_exits_4() {
    let w = World::new(&["--fault", "500:1", "--fault-on", "/api/packages/import/"]);
    let pkg = w.package();
    let before = served(&w.prod);
    let out = w.rlcm(&["push", pkg.to_str().unwrap(), "--remote", "prod"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("POST {}/api/packages/import/", w.emu().url))
            && err.contains("may or may not have started"),
        "{err}"
    );
    assert_eq!(
        count(w.emu(), "POST", "/api/packages/import/"),
        1,
        "the import was retried"
    );
    assert_eq!(differing(&served(&w.prod), &before), Vec::<String>::new());
    // The attempt is recorded, its outcome unknown.
    let h: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.mirror().join(".rlcm/pushes.json")).unwrap()).unwrap();
    common::validate("push-history", &h);
    assert_eq!(h["pushes"][0]["outcome"], "unknown");
    assert!(h["pushes"][0]["package_id"].is_null());
}

#[test]
fn an_import_whose_answer_comes_too_late_exits_4_and_the_next_plan_finds_out() {
    let w = World::new(&[
        "--fault",
        "slow:1",
        "--fault-on",
        "/api/packages/import/",
        "--slow-seconds",
        "4",
    ]);
    let pkg = w.package();
    let out = w.rlcm_env(
        &["push", pkg.to_str().unwrap(), "--remote", "prod", "-v"],
        &[("RLCM_HTTP_TIMEOUT", "1.5")],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("/api/packages/import/") && err.contains("rlcm pull"),
        "{err}"
    );
    // Sent once (the emulator never logs it: the client hung up before the late answer).
    let sent = err
        .lines()
        .filter(|l| l.starts_with("debug: POST") && l.contains("/api/packages/import/"))
        .count();
    assert_eq!(sent, 1, "the import was retried: {err}");
    // It was started: once it is done, a fresh plan finds nothing left to do.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let out = w.rlcm(&[
        "plan",
        pkg.to_str().unwrap(),
        "--remote",
        "prod",
        "--detailed-exitcode",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn import_429s_are_retried_and_the_push_verifies() {
    let w = World::new(&[
        "--fault",
        "429:0.6",
        "--fault-on",
        "/api/packages/import/",
        "--seed",
        "5",
    ]);
    let pkg = w.package();
    let out = w.rlcm(&[
        "push",
        pkg.to_str().unwrap(),
        "--remote",
        "prod",
        "-v",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("/api/packages/import/") && err.contains("-> 429"),
        "no 429 was hit: {err}"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::validate("push", &r);
    assert_eq!(r["differences"], serde_json::json!([]));
    // A 429 is a refusal: the import runs once however often it was asked.
    let imports = count(w.emu(), "POST", "/api/packages/import/");
    assert!(imports >= 2, "{imports}");
    assert!(
        w.prod
            .join("contacts/merge_duplicate_contacts.recipe.json")
            .is_file(),
        "the push did not land"
    );
}

/// A mirror as compared across pulls: without the rebuildable cache, and without
/// `remote.json`, whose package ids count up with every export (checked apart).
fn comparable(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".rlcm/cache") && k != ".rlcm/remote.json")
        .collect()
}

/// What a killed pull may leave: the mirror as before, as after, or (killed between the two
/// renames) moved aside to `DIR.rlcm-previous` as before, which the next pull puts back.
fn assert_before_or_after(
    mirror: &Path,
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    when: &str,
) {
    let aside = mirror.with_file_name(format!(
        "{}.rlcm-previous",
        mirror.file_name().unwrap().to_string_lossy()
    ));
    if mirror.is_dir() {
        let now = comparable(mirror);
        assert!(
            &now == before || &now == after,
            "{when}: the mirror is neither before nor after: differs from before in {:?}, from \
             after in {:?}",
            differing(&now, before),
            differing(&now, after)
        );
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(mirror.join(".rlcm/remote.json")).unwrap()).unwrap();
        common::validate("remote-info", &info);
    } else {
        assert!(aside.is_dir(), "{when}: the mirror is gone");
        assert!(
            &comparable(&aside) == before,
            "{when}: the mirror moved aside is not as before"
        );
    }
}

#[test]
fn a_pull_killed_at_any_point_leaves_the_mirror_before_or_after() {
    use std::os::unix::process::ExitStatusExt;
    let w = World::new(&[]);
    let base = w.path("base");
    let out = w.rlcm(&["pull", "prod", "-o", base.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A change "in the UI", so that the next pull changes the mirror.
    let edited = w.prod.join("country_codes.lookup_table.json");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(
        &edited,
        text.replacen('{', "{\n  \"description\": \"edited in the UI\",", 1),
    )
    .unwrap();
    let before = comparable(&base);
    let reference = w.path("reference");
    common::copy_tree(&base, &reference);
    let t = std::time::Instant::now();
    let out = w.rlcm(&["pull", "prod", "-o", reference.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let duration = t.elapsed();
    let after = comparable(&reference);
    assert_ne!(differing(&before, &after), Vec::<String>::new());

    // 1. SIGKILL at each crash point the pull passes.
    let mut killed = 0;
    for point in 1..500 {
        let victim = w.path(&format!("crash{point}"));
        common::copy_tree(&base, &victim);
        let p = point.to_string();
        let out = w.rlcm_env(
            &["pull", "prod", "-o", victim.to_str().unwrap()],
            &[("RLCM_CRASH_POINT", &p)],
        );
        if out.status.signal() != Some(9) {
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(comparable(&victim) == after, "an uninterrupted pull differs");
            break;
        }
        killed += 1;
        assert_before_or_after(&victim, &before, &after, &format!("crash point {point}"));
        // The next pull recovers and completes.
        let out = w.rlcm(&["pull", "prod", "-o", victim.to_str().unwrap()]);
        assert!(out.status.success(), "crash point {point}: {}", stderr(&out));
        assert!(
            comparable(&victim) == after,
            "crash point {point}: the next pull differs"
        );
        std::fs::remove_dir_all(&victim).unwrap();
        assert_no_leftovers(w.dir.path());
    }
    assert!(killed >= 1, "the pull passed no crash point");

    // 2. SIGKILL from outside at instants spread over a pull.
    let trials = 8;
    for k in 0..trials {
        let victim = w.path(&format!("spread{k}"));
        common::copy_tree(&base, &victim);
        let cache = w.cfg.join("cache");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rlcm"))
            .args(["pull", "prod", "-o", victim.to_str().unwrap()])
            .env("RLCM_CONFIG_DIR", &w.cfg)
            .env("RLCM_CACHE_DIR", &cache)
            .env("RLCM_RATE_LIMITS", "off")
            .env("RLCM_TOKEN_PROD", TOKEN)
            .env("RLCM_NOW", NOW)
            .env("RLCM_USER", "tester")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(duration.mul_f64((k as f64 + 0.5) / trials as f64));
        let _ = child.kill();
        let _ = child.wait();
        assert_before_or_after(&victim, &before, &after, &format!("instant {k}/{trials}"));
        let out = w.rlcm(&["pull", "prod", "-o", victim.to_str().unwrap()]);
        assert!(out.status.success(), "instant {k}: {}", stderr(&out));
        assert!(comparable(&victim) == after, "instant {k}: the next pull differs");
        assert_no_leftovers(w.dir.path());
    }
    eprintln!("pull: killed at {killed} crash points and {trials} instants, each before or after");
}
