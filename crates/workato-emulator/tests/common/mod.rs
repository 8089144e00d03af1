//! Helpers: fixture environments, a spawned emulator, a small HTTP client.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TOKEN: &str = "test-token-5f1c9a";
/// A fixed clock for the rlcm library (state files, history).
pub const NOW: &str = "2026-11-20T10:00:00Z";

/// The repository's `testdata/`.
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Every file under `root` (but the lock and the summary cache), with its bytes.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                if rel != ".rlcm/lock" && !rel.starts_with(".rlcm/cache") {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// An initialised copy of `testdata/<name>` in `dir`.
pub fn env_from(name: &str, dir: &Path, id: u64) -> PathBuf {
    let root = dir.join(name);
    copy_tree(&testdata(name), &root);
    rlcm::ops::init::init(
        &root,
        &rlcm::ops::init::InitOptions {
            name: Some(name.to_string()),
            id: Some(id),
            from: None,
            user: "tester".into(),
        },
    )
    .unwrap();
    root
}

/// A Workato-layout package (no rlcm-package.json) of `folders` of the environment `env`.
pub fn package_of(env: &Path, folders: &[&str], out: &Path) -> Vec<u8> {
    let e = rlcm::env::Environment::open(env).unwrap();
    let ws = e.load_workspace().unwrap();
    let manifest = rlcm::ops::export::ExportManifest {
        name: Some("release".into()),
        folders: folders.iter().map(|s| s.to_string()).collect(),
        dependencies: true,
        ..Default::default()
    };
    let opts = rlcm::ops::export::ExportOptions {
        manifest,
        workato_strict: true,
        ..Default::default()
    };
    rlcm::ops::export::export(&e, &ws, &opts, out).unwrap();
    std::fs::read(out).unwrap()
}

/// A spawned emulator; killed when dropped.
pub struct Emulator {
    pub child: Child,
    pub stdout: std::sync::Arc<std::sync::Mutex<String>>,
    pub base: String,
    pub stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Emulator {
    pub fn start(env: &Path, args: &[&str]) -> Emulator {
        Self::start_with(env, args, &[])
    }

    pub fn start_with(env: &Path, args: &[&str], vars: &[(&str, &str)]) -> Emulator {
        let dir = tempfile::tempdir().unwrap();
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_workato-emulator"));
        cmd.arg("--env")
            .arg(env)
            .args(["--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(args)
            .env("RLCM_NOW", NOW)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines.read_line(&mut first).unwrap();
        let base = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "first stdout line is `{first}`; stderr: {}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                )
            })
            .to_string();
        // Keep draining stdout so the emulator never blocks on it.
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(first.clone()));
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            sink.lock().unwrap().push_str(&rest);
        });
        Emulator {
            child,
            stdout,
            base,
            stderr_path,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, headers we look at, body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer, ureq::Error> {
    let mut r = r?;
    let h = |k: &str| {
        r.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (location, retry_after, content_type) = (h("location"), h("retry-after"), h("content-type"));
    let body = r
        .body_mut()
        .with_config()
        .limit(200 * 1024 * 1024)
        .read_to_vec()?;
    Ok(Answer {
        status: r.status().as_u16(),
        location,
        retry_after,
        content_type,
        body,
    })
}

/// A request with the Bearer token (`token: None` sends none).
pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<(&str, &[u8])>) -> Answer {
    try_call(method, url, token, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

pub fn try_call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> Result<Answer, ureq::Error> {
    let a = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! with_auth {
        ($req:expr) => {{
            let mut r = $req;
            if let Some(v) = &auth {
                r = r.header("Authorization", v);
            }
            r
        }};
    }
    match (method, body) {
        ("GET", _) => answer(with_auth!(a.get(url)).call()),
        ("DELETE", _) => answer(with_auth!(a.delete(url)).call()),
        ("POST", Some((ct, b))) => answer(with_auth!(a.post(url)).header("Content-Type", ct).send(b)),
        ("POST", None) => answer(with_auth!(a.post(url)).send_empty()),
        ("PUT", Some((ct, b))) => answer(with_auth!(a.put(url)).header("Content-Type", ct).send(b)),
        ("PUT", None) => answer(with_auth!(a.put(url)).send_empty()),
        _ => panic!("method {method}"),
    }
}

pub fn get(e: &Emulator, path: &str) -> Answer {
    call("GET", &e.url(path), Some(TOKEN), None)
}

pub fn post_json(e: &Emulator, path: &str, v: &Value) -> Answer {
    let b = serde_json::to_vec(v).unwrap();
    call("POST", &e.url(path), Some(TOKEN), Some(("application/json", &b)))
}

pub fn put_json(e: &Emulator, path: &str, v: &Value) -> Answer {
    let b = serde_json::to_vec(v).unwrap();
    call("PUT", &e.url(path), Some(TOKEN), Some(("application/json", &b)))
}

/// Polls a package until it is no longer `in_progress` (bounded); returns every status seen
/// and the last body.
pub fn poll(e: &Emulator, id: u64) -> (Vec<String>, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    for _ in 0..200 {
        let a = get(e, &format!("/api/packages/{id}"));
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let v = a.json();
        let s = v["status"].as_str().unwrap().to_string();
        seen.push(s.clone());
        if s != "in_progress" {
            return (seen, v);
        }
        assert!(
            Instant::now() < deadline,
            "package {id} still in progress: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("package {id} never finished: {seen:?}");
}

/// Export of a folder (`None`: the root) through the API: manifest, export, polls, the 302
/// and the download from the other origin. Returns the zip.
pub fn export_folder(e: &Emulator, folder_id: u64) -> Vec<u8> {
    let m = post_json(
        e,
        "/api/export_manifests",
        &serde_json::json!({"export_manifest": {"name": "pull", "folder_id": folder_id, "auto_generate_assets": true}}),
    );
    assert_eq!(m.status, 201, "{}", String::from_utf8_lossy(&m.body));
    let mid = m.json()["result"]["id"].as_u64().unwrap();
    let p = call(
        "POST",
        &e.url(&format!("/api/packages/export/{mid}")),
        Some(TOKEN),
        None,
    );
    assert_eq!(p.status, 200, "{}", String::from_utf8_lossy(&p.body));
    let pid = p.json()["id"].as_u64().unwrap();
    let (_, last) = poll(e, pid);
    assert_eq!(last["status"], "completed", "{last}");
    let d = get(e, &format!("/api/packages/{pid}/download"));
    assert_eq!(d.status, 302);
    let loc = d.location.unwrap();
    let z = call("GET", &loc, None, None);
    assert_eq!(z.status, 200, "{}", String::from_utf8_lossy(&z.body));
    z.body
}

/// users/me's root folder id.
pub fn root_folder(e: &Emulator) -> u64 {
    get(e, "/api/users/me").json()["root_folder_id"].as_u64().unwrap()
}

/// Starts an import; returns the package id.
pub fn import(e: &Emulator, folder_id: u64, zip: &[u8], restart: bool) -> u64 {
    let q = if restart { "?restart_recipes=true" } else { "" };
    let a = call(
        "POST",
        &e.url(&format!("/api/packages/import/{folder_id}{q}")),
        Some(TOKEN),
        Some(("application/octet-stream", zip)),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    assert_eq!(v["operation_type"], "import");
    assert_eq!(v["status"], "in_progress");
    assert_eq!(v["recipe_status"], serde_json::json!([]));
    v["id"].as_u64().unwrap()
}
