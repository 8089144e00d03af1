//! The registry server as a process on loopback: publishers, upload limits, ownership, the
//! rate limit of failed token attempts, the audit log, backups, concurrent shares, and SIGKILL
//! during shares (the whole new version or none; a restart serves everything).

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rlcm::registry::api::*;
use rlcm_registry::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_rlcm-registry");

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a `listening on` line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening on")
            .to_string();
        Server { child, url }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn publisher(data: &Path, name: &str) -> String {
    let out = cli(&[
        "publisher",
        "add",
        name,
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], name);
    v["token"].as_str().unwrap().to_string()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

fn request(version: u64, code: &[u8], logo: Option<&[u8]>) -> ShareRequest {
    ShareRequest {
        title: "Acme CRM".into(),
        version,
        note: Some(format!("note {version}")),
        code_base64: B64.encode(code),
        metadata: serde_json::json!({"title": "Acme CRM", "description": "d"}),
        logo_base64: logo.map(|l| B64.encode(l)),
        actions: vec!["get_contact".into()],
        triggers: vec![],
    }
}

fn share(url: &str, token: &str, slug: &str, req: &ShareRequest) -> (u16, serde_json::Value) {
    let mut r = agent()
        .post(&format!("{url}/v1/connectors/{slug}/versions"))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(req)
        .unwrap();
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(1 << 26)
        .read_to_string()
        .unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn publishers_limits_ownership_audit_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let a = publisher(&data, "alice");
    let b = publisher(&data, "bob");
    // The human form: the token alone on the last line.
    let out = cli(&["publisher", "add", "carol", "--data", d]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.lines().last().unwrap().starts_with("rlcmp_"), "{text}");
    let again = cli(&["publisher", "add", "carol", "--data", d]);
    assert_eq!(again.status.code(), Some(1));
    let out = cli(&["publisher", "add", "../x", "--data", d]);
    assert_eq!(out.status.code(), Some(1));
    let out = cli(&["admin-token", "--data", d, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["token"].as_str().unwrap().starts_with("rlcma_"));
    let server = Server::start(&data, &[]);
    let url = &server.url;

    let (s, v) = share(url, &a, "acme_crm", &request(3, b"code v3", Some(PNG)));
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (v["outcome"].as_str(), v["seq"].as_u64()),
        (Some("shared"), Some(1))
    );
    let (s, v) = share(url, &a, "acme_crm", &request(3, b"code v3", Some(PNG)));
    assert_eq!((s, v["outcome"].as_str()), (200, Some("already-shared")));
    // Immutable: the same number with other code is refused.
    assert_eq!(share(url, &a, "acme_crm", &request(3, b"other", None)).0, 409);
    // Another publisher's slug: 409.
    let (s, v) = share(url, &b, "acme_crm", &request(9, b"bob's", None));
    assert_eq!(s, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("--slug"));
    // Limits: code over 10 MiB, logo over 1 MiB: 413; a logo that is no PNG or JPEG: 422.
    let big = vec![b'#'; MAX_CODE_BYTES + 1];
    assert_eq!(share(url, &a, "acme_crm", &request(5, &big, None)).0, 413);
    let mut big_logo = PNG.to_vec();
    big_logo.resize(MAX_LOGO_BYTES + 1, 0);
    assert_eq!(
        share(url, &a, "acme_crm", &request(5, b"c", Some(&big_logo))).0,
        413
    );
    let (s, v) = share(url, &a, "acme_crm", &request(5, b"c", Some(b"GIF89a....")));
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        share(url, &a, "acme_crm", &request(5, b"c", Some(b"<svg onload=x>"))).0,
        422
    );
    // A body far over every limit is cut off by the server: 413.
    let huge = format!(
        "{{\"title\":\"{}\"}}",
        "x".repeat(rlcm_registry::server::MAX_BODY_BYTES + 10)
    );
    let r = agent()
        .post(&format!("{url}/v1/connectors/acme_crm/versions"))
        .header("Authorization", format!("Bearer {a}"))
        .header("Content-Type", "application/json")
        .send(huge.as_bytes());
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }
    // Bad slugs never reach storage.
    for slug in ["..%2F..%2Fetc", "UPPER", "a%20b"] {
        let (s, _) = share(url, &a, slug, &request(1, b"c", None));
        assert!(s == 422 || s == 404, "{slug}: {s}");
    }
    // Malformed JSON: 400.
    let r = agent()
        .post(&format!("{url}/v1/connectors/acme_crm/versions"))
        .header("Authorization", format!("Bearer {a}"))
        .send(&b"{not json"[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // Links: only the owner; install through a link; the credential reads updates.
    let ag = agent();
    let r = ag
        .post(&format!("{url}/v1/connectors/acme_crm/links"))
        .header("Authorization", format!("Bearer {b}"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let mut r = ag
        .post(&format!("{url}/v1/connectors/acme_crm/links"))
        .header("Authorization", format!("Bearer {a}"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let made: LinkCreated = r.body_mut().read_json().unwrap();
    let token = made.url.rsplit('/').next().unwrap().to_string();
    assert_eq!(token.len(), 64, "256 bits in hex");
    let mut r = ag.post(&format!("{}/install", made.url)).send_empty().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let inst: InstallResponse = r.body_mut().read_json().unwrap();
    assert_eq!(B64.decode(&inst.version.code_base64).unwrap(), b"code v3");
    assert_eq!(inst.version.logo_kind, Some(LogoKind::Png));
    let mut r = ag
        .get(&format!("{url}/v1/install"))
        .header("Authorization", format!("Bearer {}", inst.credential))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let view: ConnectorView = r.body_mut().read_json().unwrap();
    assert_eq!(view.latest.version, 3);
    // A revoked publisher's token no longer works.
    let out = cli(&["publisher", "revoke", "bob", "--data", d]);
    assert!(out.status.success());
    assert_eq!(share(url, &b, "bobs", &request(1, b"c", None)).0, 401);
    let out = cli(&["publisher", "list", "--data", d, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains("\"revoked_at\":\"") && !text.contains(&a) && !text.contains(&b));

    // The audit log: every share, link change and install, with who and from where.
    let store = rlcm_registry::sqlite::SqliteStore::open(&data).unwrap();
    let log = store.audit_log().unwrap();
    let find = |action: &str| {
        log.iter()
            .find(|r| r.action.as_str() == action)
            .unwrap_or_else(|| panic!("no {action}"))
    };
    assert_eq!(find("share").actor, "publisher:alice");
    assert_eq!(find("share").client, "127.0.0.1");
    assert_eq!(find("link-create").connector.as_deref(), Some("acme_crm"));
    assert!(find("install").actor.starts_with("link:"));
    assert_eq!(find("publisher-revoke").detail.as_deref(), Some("bob"));
    for r in &log {
        for secret in [&a, &b, &token, &inst.credential] {
            assert!(!format!("{r:?}").contains(secret.as_str()));
        }
    }
    // Backup while serving: the copy has everything.
    let backup = dir.path().join("backup.sqlite3");
    let out = cli(&["backup", "--data", d, "-o", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&backup, restored.join("registry.sqlite3")).unwrap();
    let copy = rlcm_registry::sqlite::SqliteStore::open(&restored).unwrap();
    let c = copy.connector("acme_crm").unwrap().unwrap();
    assert_eq!(copy.versions(c.id).unwrap().len(), 1);
}

#[test]
fn failed_token_attempts_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = publisher(&data, "alice");
    let server = Server::start(&data, &["--max-failed-attempts", "3"]);
    let url = &server.url;
    for _ in 0..3 {
        assert_eq!(share(url, "rlcmp_wrong", "x", &request(1, b"c", None)).0, 401);
    }
    assert_eq!(share(url, "rlcmp_wrong", "x", &request(1, b"c", None)).0, 429);
    // Guessing link tokens counts too, and while blocked even a good token waits.
    let r = agent()
        .get(&format!("{url}/l/{}", "1".repeat(64)))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(share(url, &a, "x", &request(1, b"c", None)).0, 429);
}

#[test]
fn concurrent_shares_get_distinct_increasing_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = publisher(&data, "alice");
    let server = Server::start(&data, &[]);
    let url = server.url.clone();
    let threads: Vec<_> = (1..=12u64)
        .map(|v| {
            let (url, a) = (url.clone(), a.clone());
            std::thread::spawn(move || {
                share(
                    &url,
                    &a,
                    "acme_crm",
                    &request(v, format!("code {v}").as_bytes(), None),
                )
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .map(|t| {
            let (s, v) = t.join().unwrap();
            assert_eq!(s, 201, "{v}");
            v["seq"].as_u64().unwrap()
        })
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
}

/// SIGKILL of the server while shares stream in, at many points: after each restart every
/// stored version is whole (its row, its blobs, their hashes) and every acknowledged share is
/// there; the restarted server serves all of them.
#[test]
fn sigkill_during_shares_keeps_whole_versions_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = publisher(&data, "alice");
    let mut acknowledged: Vec<u64> = Vec::new();
    let mut next = 1u64;
    let mut logo = PNG.to_vec();
    logo.resize(200_000, 7);
    for round in 0..16u64 {
        let mut server = Server::start(&data, &[]);
        let url = server.url.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let token = a.clone();
        let start = next;
        let logo_w = logo.clone();
        let writer = std::thread::spawn(move || {
            for v in start..start + 40 {
                let code = vec![b'a' + (v % 26) as u8; 300_000 + v as usize];
                match agent()
                    .post(&format!("{url}/v1/connectors/acme_crm/versions"))
                    .header("Authorization", format!("Bearer {token}"))
                    .send_json(request(v, &code, Some(&logo_w)))
                {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let _ = tx.send(v);
                    }
                    _ => break,
                }
            }
        });
        std::thread::sleep(Duration::from_millis(15 + round * 23));
        server.kill();
        let _ = writer.join();
        acknowledged.extend(rx.try_iter());
        next += 40;
        // Check storage directly: whole versions only.
        let store = rlcm_registry::sqlite::SqliteStore::open(&data).unwrap();
        let blobs = rlcm_registry::blobs::Blobs::open(&data).unwrap();
        if let Some(c) = store.connector("acme_crm").unwrap() {
            let versions = store.versions(c.id).unwrap();
            let mut last = 0;
            for v in &versions {
                assert!(v.summary.seq > last, "sequence numbers increase");
                last = v.summary.seq;
                let code = blobs
                    .get(&v.code_blob)
                    .expect("the code blob of a stored version");
                assert_eq!(code.len(), 300_000 + v.summary.version as usize);
                let (h, _) = v.logo.as_ref().expect("its logo");
                assert_eq!(blobs.get(h).unwrap(), logo);
            }
            let stored: Vec<u64> = versions.iter().map(|v| v.summary.version).collect();
            for v in &acknowledged {
                assert!(stored.contains(v), "acknowledged share {v} lost (round {round})");
            }
        }
    }
    assert!(!acknowledged.is_empty(), "some shares completed");
    // A restart serves everything.
    let server = Server::start(&data, &[]);
    let mut r = agent()
        .get(&format!("{}/v1/connectors/acme_crm", server.url))
        .header("Authorization", format!("Bearer {a}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let view: ConnectorView = r.body_mut().read_json().unwrap();
    for v in &acknowledged {
        assert!(view.versions.iter().any(|s| s.version == *v));
    }
}
