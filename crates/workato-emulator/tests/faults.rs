//! Injected faults (each kind, reproducible by seed) and the documented rate limits.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// The statuses of `n` users/me calls.
fn statuses(e: &Emulator, n: usize) -> Vec<u16> {
    (0..n).map(|_| get(e, "/api/users/me").status).collect()
}

#[test]
fn fault_429_and_500_refuse_requests_without_processing_them() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 5001);
    let e = Emulator::start(&env, &["--rate-limits", "off", "--fault", "429:1"]);
    let a = get(&e, "/api/users/me");
    assert_eq!(a.status, 429);
    assert!(a.json()["message"].is_string());
    assert_eq!(a.retry_after, None, "a fault 429 sends no Retry-After");
    let a = call("PUT", &e.url("/api/recipes/1/start"), Some(TOKEN), None);
    assert_eq!(a.status, 429);
    // Auth comes first.
    assert_eq!(call("GET", &e.url("/api/users/me"), None, None).status, 401);
    drop(e);

    let e = Emulator::start(&env, &["--rate-limits", "off", "--fault", "500:1"]);
    let before = snapshot(&env);
    let a = get(&e, "/api/users/me");
    assert_eq!(a.status, 500);
    let v = a.json();
    assert_eq!(v["message"], "Server error");
    assert!(v["id"].is_string());
    let a = call(
        "POST",
        &e.url("/api/folders"),
        Some(TOKEN),
        Some(("application/json", br#"{"name":"x"}"#)),
    );
    assert_eq!(a.status, 500);
    assert_eq!(snapshot(&env), before);
}

#[test]
fn fault_rates_are_reproducible_by_seed() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 5002);
    let run = |seed: &str| {
        let e = Emulator::start(
            &env,
            &["--rate-limits", "off", "--fault", "500:0.5", "--seed", seed],
        );
        statuses(&e, 24)
    };
    let a = run("7");
    assert_eq!(a, run("7"));
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
    assert_ne!(a, run("8"));
    // Rate 0: never.
    let e = Emulator::start(&env, &["--rate-limits", "off", "--fault", "429:0"]);
    assert!(statuses(&e, 10).iter().all(|s| *s == 200));
}

#[test]
fn fault_slow_answers_late_but_does_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = env_from("sandbox", dir.path(), 1003);
    let env = env_from("production", dir.path(), 5003);
    let zip = package_of(&sandbox, &["contacts"], &dir.path().join("c.zip"));
    let e = Emulator::start(
        &env,
        &[
            "--rate-limits",
            "off",
            "--fault",
            "slow:1",
            "--slow-seconds",
            "2",
            "--poll-delay",
            "0",
        ],
    );
    let t = Instant::now();
    assert_eq!(get(&e, "/api/users/me").status, 200);
    assert!(t.elapsed() >= Duration::from_secs(2));
    // An import answered late has been started: the client cannot tell from a timeout.
    let root = get(&e, "/api/users/me").json()["root_folder_id"]
        .as_u64()
        .unwrap();
    let short = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(500)))
        .build();
    let short: ureq::Agent = short.into();
    let r = short
        .post(&e.url(&format!("/api/packages/import/{root}")))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/octet-stream")
        .send(&zip[..]);
    assert!(r.is_err(), "the answer should come after the client's timeout");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !env
        .join("contacts/merge_duplicate_contacts.recipe.json")
        .is_file()
    {
        assert!(Instant::now() < deadline, "the import never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A completed export's signed URL (the 302's Location).
fn download_location(e: &Emulator) -> String {
    let root = root_folder(e);
    let m = post_json(
        e,
        "/api/export_manifests",
        &json!({"export_manifest": {"name": "pull", "folder_id": root, "auto_generate_assets": true}}),
    );
    let mid = m.json()["result"]["id"].as_u64().unwrap();
    let p = call(
        "POST",
        &e.url(&format!("/api/packages/export/{mid}")),
        Some(TOKEN),
        None,
    );
    let pid = p.json()["id"].as_u64().unwrap();
    assert_eq!(poll(e, pid).1["status"], "completed");
    let d = get(e, &format!("/api/packages/{pid}/download"));
    assert_eq!(d.status, 302);
    d.location.unwrap()
}

/// A GET over a raw socket: status, Content-Length, body bytes received before the close.
fn raw_get(url: &str) -> (u16, usize, usize) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    // Bounded: the answer is small; a reset ends the loop.
    for _ in 0..10_000 {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
    let status = head[9..12].parse().unwrap();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    (status, length, buf.len() - end - 4)
}

#[test]
fn download_faults_drop_truncate_expire() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 5004);
    let off = ["--rate-limits", "off", "--poll-delay", "0"];

    let e = Emulator::start(&env, &[&off[..], &["--fault", "drop-download:1"]].concat());
    let loc = download_location(&e);
    let r = try_call("GET", &loc, None, None);
    assert!(r.is_err(), "a dropped download must fail: {r:?}");
    // On the wire: the headers promise every byte, half of them come, then the connection closes.
    let (status, length, got) = raw_get(&download_location(&e));
    assert_eq!(status, 200);
    assert!(
        length > 0 && got > 0 && got < length,
        "promised {length}, got {got}"
    );
    assert!(got >= length / 2 - 1, "promised {length}, got {got}");

    let e = Emulator::start(&env, &[&off[..], &["--fault", "truncate-download:1"]].concat());
    let loc = download_location(&e);
    let a = call("GET", &loc, None, None);
    assert_eq!(a.status, 200);
    let zip = dir.path().join("truncated.zip");
    std::fs::write(&zip, &a.body).unwrap();
    assert!(
        rlcm::apply::open_package(&zip).is_err(),
        "a truncated zip must not read"
    );

    let e = Emulator::start(&env, &[&off[..], &["--fault", "expire-download:1"]].concat());
    let loc = download_location(&e);
    let a = call("GET", &loc, None, None);
    assert_eq!(a.status, 403);
    assert!(String::from_utf8_lossy(&a.body).contains("Request has expired"));

    // Without faults the URL is short-lived: valid for --url-ttl seconds.
    let e = Emulator::start(&env, &[&off[..], &["--url-ttl", "1"]].concat());
    let loc = download_location(&e);
    assert_eq!(call("GET", &loc, None, None).status, 200);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(call("GET", &loc, None, None).status, 403);
}

#[test]
fn documented_rate_limits_answer_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_from("production", dir.path(), 5005);
    let e = Emulator::start(&env, &[]);
    // Folders: 60 a minute.
    for i in 0..60 {
        assert_eq!(get(&e, "/api/folders").status, 200, "request {i}");
    }
    let a = get(&e, "/api/folders");
    assert_eq!(a.status, 429);
    assert!(a.json()["message"].as_str().unwrap().contains("60"));
    let wait: u64 = a.retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // Projects share the folders' class; recipes have their own.
    assert_eq!(get(&e, "/api/projects").status, 429);
    assert_eq!(get(&e, "/api/recipes").status, 200);
    // Custom connectors: 1 a second.
    assert_eq!(get(&e, "/api/custom_connectors").status, 200);
    let a = get(&e, "/api/custom_connectors");
    assert_eq!(a.status, 429);
    assert_eq!(a.retry_after.as_deref(), Some("1"));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(get(&e, "/api/custom_connectors").status, 200);
    // users/me is not limited.
    assert!(statuses(&e, 80).iter().all(|s| *s == 200));
    drop(e);

    let e = Emulator::start(&env, &["--rate-limits", "off"]);
    for _ in 0..70 {
        assert_eq!(get(&e, "/api/folders").status, 200);
    }
    assert_eq!(get(&e, "/api/custom_connectors").status, 200);
    assert_eq!(get(&e, "/api/custom_connectors").status, 200);
}
