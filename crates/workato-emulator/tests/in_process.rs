//! The library's `spawn`: an emulator on a thread of the test process, stopped on drop.

mod common;

use common::*;

#[test]
fn spawn_serves_until_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 7001);
    let mut config = workato_emulator::Config::new(env.clone(), "127.0.0.1:0".parse().unwrap(), TOKEN.into());
    config.rate_limits = workato_emulator::RateLimits::Off;
    config.poll_delay = 0;
    let bg = workato_emulator::spawn(config).unwrap();
    let base = bg.base_url();
    assert_ne!(bg.api.port(), bg.storage.port());
    let a = call("GET", &format!("{base}/api/users/me"), Some(TOKEN), None);
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["id"], 7001);
    assert_eq!(
        call("GET", &format!("{base}/api/users/me"), None, None).status,
        401
    );
    drop(bg);
    assert!(try_call("GET", &format!("{base}/api/users/me"), Some(TOKEN), None).is_err());
    // A directory that is not an environment: an error, not a panic.
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let config = workato_emulator::Config::new(raw, "127.0.0.1:0".parse().unwrap(), TOKEN.into());
    let err = workato_emulator::spawn(config).err().unwrap();
    assert!(err.to_string().contains("rlcm init"), "{err}");
}
