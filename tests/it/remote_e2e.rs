//! `rlcm remote check` and `rlcm pull` against the `workato-emulator` on loopback.

use crate::common;

use std::path::Path;

use common::{Emulator, env_copy, rlcm_in, snapshot, stderr, stdout, validate};

const TOKEN: &str = "emu-token-SECRET-0123456789";

fn start(env: &Path) -> Emulator {
    Emulator::start(env, TOKEN, "0", None, &[])
}

fn run(cfg: &Path, args: &[&str]) -> std::process::Output {
    rlcm_in(
        None,
        args,
        &[
            ("RLCM_CONFIG_DIR", cfg.to_str().unwrap()),
            ("RLCM_CACHE_DIR", cfg.join("cache").to_str().unwrap()),
            ("RLCM_RATE_LIMITS", "off"),
            ("RLCM_TOKEN_PROD", TOKEN),
            ("RLCM_NO_PROGRESS", "1"),
        ],
    )
}

fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".rlcm"))
        .collect()
}

#[test]
fn check_and_pull_a_mirror_then_see_drift() {
    let dir = tempfile::tempdir().unwrap();
    let prod = env_copy(dir.path(), "production", "4242");
    let emu = start(&prod);
    let cfg = dir.path().join("cfg");
    let out = run(&cfg, &["remote", "add", "prod", "--url", &emu.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&cfg, &["remote", "check", "prod", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("remote-check", &v);

    let mirror = dir.path().join("mirror");
    let out = run(
        &cfg,
        &[
            "pull",
            "prod",
            "-o",
            mirror.to_str().unwrap(),
            "--format",
            "json",
            "-v",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("pull", &v);
    assert_eq!(v["changes"]["first_pull"], true);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mirror.join(".rlcm/remote.json")).unwrap()).unwrap();
    validate("remote-info", &info);
    assert_eq!(info["remote"], "prod");
    // The mirror's files are the package's entries, byte for byte.
    let zip = dir.path().join("prod.zip");
    let out = run(&cfg, &["pull", "prod", "-o", zip.to_str().unwrap(), "-v"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(TOKEN) && !stdout(&out).contains(TOKEN));
    let unpacked = dir.path().join("unpacked");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    archive.extract(&unpacked).unwrap();
    let entries = tree(&unpacked);
    let got = tree(&mirror);
    assert_eq!(got, entries);
    assert!(!got.is_empty());
    let want = tree(&prod);
    let out2 = run(&cfg, &["check", "--env", mirror.to_str().unwrap()]);
    assert!(out2.status.success(), "{}", stderr(&out2));

    // No change: no drift reported.
    let out = run(&cfg, &["pull", "prod", "-o", mirror.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no changes since the last pull"),
        "{}",
        stdout(&out)
    );

    // A change made "in the UI": edit the workspace directly.
    let (path, _) = want
        .iter()
        .find(|(k, _)| k.ends_with(".lookup_table.json"))
        .unwrap();
    let edited = prod.join(path);
    let mut text = std::fs::read_to_string(&edited).unwrap();
    text = text.replacen('{', "{\n  \"description\": \"edited in the UI\",", 1);
    std::fs::write(&edited, text).unwrap();
    let out = run(
        &cfg,
        &["pull", "prod", "-o", mirror.to_str().unwrap(), "--format", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["changes"]["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == path.as_str()),
        "{v}"
    );

    // The token is nowhere in what rlcm wrote.
    for root in [&mirror, &cfg] {
        for (k, bytes) in snapshot(root) {
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "token in {k}"
            );
        }
    }
}

#[test]
fn a_wrong_token_fails_and_leaves_the_mirror_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let prod = env_copy(dir.path(), "production", "4243");
    let emu = start(&prod);
    let cfg = dir.path().join("cfg");
    let out = run(&cfg, &["remote", "add", "prod", "--url", &emu.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mirror = dir.path().join("mirror");
    let out = run(&cfg, &["pull", "prod", "-o", mirror.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = snapshot(&mirror);
    let out = rlcm_in(
        None,
        &["pull", "prod", "-o", mirror.to_str().unwrap()],
        &[
            ("RLCM_CONFIG_DIR", cfg.to_str().unwrap()),
            ("RLCM_RATE_LIMITS", "off"),
            ("RLCM_TOKEN_PROD", "wrong-token-123456"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("wrong-token-123456"));
    assert_eq!(snapshot(&mirror), before);
}
