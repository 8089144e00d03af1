//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use unicode_normalization::UnicodeNormalization;

pub mod browser;
pub mod trials;

/// The realworld corpus (`../shared/realworld`, or `$RLCM_REALWORLD`).
pub fn realworld_root() -> PathBuf {
    let root = std::env::var_os("RLCM_REALWORLD")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realworld"));
    assert!(
        root.is_dir(),
        "the realworld corpus is missing at {}; set RLCM_REALWORLD to its location",
        root.display()
    );
    root
}

/// A realworld file or folder by its path, comparing names after Unicode NFC normalisation
/// (some zip names are stored decomposed).
pub fn realworld(rel: &str) -> PathBuf {
    let mut path = realworld_root();
    for part in rel.split('/') {
        let want: String = part.nfc().collect();
        let found = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().nfc().collect::<String>() == want)
            .unwrap_or_else(|| panic!("{part} not found in {}", path.display()));
        path = found.path();
    }
    path
}

/// The shipped example environments.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel)
}

/// Runs the rlcm binary.
pub fn rlcm(args: &[&str]) -> Output {
    rlcm_in(None, args, &[])
}

/// Runs the rlcm binary with a working directory and environment variables.
pub fn rlcm_in(dir: Option<&Path>, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rlcm"));
    cmd.args(args).env("NO_COLOR", "1").env("RLCM_USER", "tester");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run rlcm")
}

/// Runs rlcm with `--format json`, checks exit code 0 and validates against `schemas/<schema>`.
pub fn rlcm_json(schema: &str, args: &[&str]) -> serde_json::Value {
    let out = rlcm(args);
    assert!(
        out.status.success(),
        "rlcm {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    validate(schema, &value);
    value
}

/// Validates a document against `schemas/<name>.schema.json`.
pub fn validate(name: &str, value: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{name}.schema.json"));
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match schemas/{name}.schema.json:\n{}",
        errors.join("\n")
    );
    assert_eq!(value["format_version"], 1);
}

/// Stdout as a string.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr as a string.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let target = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every file of a tree (lock file and empty staging excluded), for before/after comparison.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                e.path().to_path_buf(),
            )
        })
        .filter(|(rel, _)| {
            rel != ".rlcm/lock" && rel != ".rlcm/read.lock" && !rel.starts_with(".rlcm/cache/")
        })
        .map(|(rel, p)| (rel, std::fs::read(p).unwrap()))
        .collect()
}

/// Sets every file's modification time a minute back, so none is "racy" (recently modified,
/// then hashed again) and only the tree digest can notice a change.
pub fn age_all(root: &Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        if e.file_type().is_file() && !e.path().components().any(|c| c.as_os_str() == ".rlcm") {
            let f = std::fs::File::options().write(true).open(e.path()).unwrap();
            f.set_modified(old).unwrap();
        }
    }
}

/// A fixed clock for reproducible state files.
pub const NOW: &str = "2026-11-20T10:00:00Z";

/// Runs rlcm against a remote named `prod` whose token is `token` (in `RLCM_TOKEN_PROD`), with
/// its config and cache under `cfg`, rate limits off and the clock at [`NOW`], plus `extra`
/// variables; fails if the token appears in stdout or stderr.
pub fn rlcm_remote(cfg: &Path, token: &str, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let cache = cfg.join("cache");
    let mut envs = vec![
        ("RLCM_CONFIG_DIR", cfg.to_str().unwrap()),
        ("RLCM_CACHE_DIR", cache.to_str().unwrap()),
        ("RLCM_RATE_LIMITS", "off"),
        ("RLCM_TOKEN_PROD", token),
        ("RLCM_NOW", NOW),
    ];
    envs.extend_from_slice(extra);
    let out = rlcm_in(None, args, &envs);
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains(token), "the token in the output of {args:?}");
    }
    out
}

/// Runs rlcm with the fixed clock.
pub fn run(args: &[&str]) -> Output {
    rlcm_in(None, args, &[("RLCM_NOW", NOW)])
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed ({:?}): {}{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// Runs rlcm (fixed clock), expects success, parses and validates the JSON output.
pub fn json(schema: &str, args: &[&str]) -> serde_json::Value {
    let out = run(args);
    let text = ok(&out);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    validate(schema, &v);
    v
}

/// Runs rlcm (fixed clock) expecting exit `code`, parses and validates the JSON output.
pub fn json_code(schema: &str, code: i32, args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert_eq!(out.status.code(), Some(code), "{}{}", stdout(&out), stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate(schema, &v);
    v
}

/// A copy of a testdata environment, initialised with the given name and id.
pub fn env_copy(dir: &Path, which: &str, id: &str) -> PathBuf {
    let env = dir.join(which);
    copy_tree(&testdata(which), &env);
    ok(&run(&[
        "init",
        env.to_str().unwrap(),
        "--name",
        which,
        "--id",
        id,
    ]));
    env
}

/// Runs `args` ("ENV" stands for the environment) on fresh copies of `env`, killing the process
/// with SIGKILL at its crash point 1, 2, ... until a run completes. After each kill the next
/// command must recover on its own (`check` finds no error) and the copy must equal, file for
/// file, either the state before the command or the state after it. Returns how many crash
/// points were killed.
pub fn kill_at_every_crash_point(env: &Path, args: &[&str]) -> usize {
    kill_at_every_crash_point_with(env, args, &[], &|_| {})
}

/// [`kill_at_every_crash_point`] with extra environment variables `envs` for every run of
/// the command, and `prepare` run on each fresh copy of `env` before it (say, to build the
/// copy's production index).
pub fn kill_at_every_crash_point_with(
    env: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    prepare: &dyn Fn(&Path),
) -> usize {
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
    let strs = |v: &[String]| -> Vec<String> { v.to_vec() };
    let reference = base.path().join("reference");
    copy_tree(env, &reference);
    prepare(&reference);
    let before = snapshot(&reference);
    let a = strs(&with_env(&reference));
    let vars: Vec<(&str, &str)> = [("RLCM_NOW", NOW)]
        .into_iter()
        .chain(envs.iter().copied())
        .collect();
    ok(&rlcm_in(
        None,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        &vars,
    ));
    let after = snapshot(&reference);
    assert_ne!(before, after, "the command changes nothing");
    let mut killed = 0;
    for point in 1..1000 {
        let victim = base.path().join(format!("victim{point}"));
        copy_tree(env, &victim);
        prepare(&victim);
        let a = with_env(&victim);
        let point_s = point.to_string();
        let mut crash = vars.clone();
        crash.push(("RLCM_CRASH_POINT", &point_s));
        let out = rlcm_in(None, &a.iter().map(String::as_str).collect::<Vec<_>>(), &crash);
        if out.status.signal() != Some(9) {
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(
                snapshot(&victim),
                after,
                "a run that was not killed differs from the reference"
            );
            break;
        }
        killed += 1;
        let c = run(&["check", "--env", victim.to_str().unwrap(), "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
        assert!(
            !report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["severity"] == "error"),
            "crash point {point}: check after recovery: {report:#}"
        );
        let now = snapshot(&victim);
        assert!(
            now == before || now == after,
            "crash point {point}: the environment is neither before nor after"
        );
        std::fs::remove_dir_all(&victim).unwrap();
    }
    eprintln!("{args:?}: killed at {killed} crash points, each recovered to before or after");
    killed
}

/// One canned HTTP answer for [`ReplayServer`].
#[derive(Clone, Debug)]
pub struct Canned {
    /// Status code.
    pub status: u16,
    /// Extra headers (name, value).
    pub headers: Vec<(String, String)>,
    /// Body bytes, sent as they are.
    pub body: Vec<u8>,
}

/// A request as [`ReplayServer`] received it (header names lower-cased).
#[derive(Clone, Debug)]
pub struct Received {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers.
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

/// A tiny loopback HTTP/1.1 server for client tests: answers requests in order with the
/// canned answers (then 599), records what it received; bounded in count and time.
pub struct ReplayServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
}

impl ReplayServer {
    /// Starts serving `answers` on 127.0.0.1 port 0.
    pub fn start(answers: Vec<Canned>) -> ReplayServer {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let rec = received.clone();
        let answers = std::sync::Arc::new(std::sync::Mutex::new(
            answers.into_iter().collect::<std::collections::VecDeque<_>>(),
        ));
        std::thread::spawn(move || {
            let limit = answers.lock().unwrap().len() + 4;
            for stream in listener.incoming().take(limit) {
                let Ok(stream) = stream else { break };
                let rec = rec.clone();
                let answers = answers.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(20)));
                    let mut w = stream.try_clone().expect("clone");
                    let mut r = BufReader::new(stream);
                    for _ in 0..limit {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or("").to_string();
                        let path = parts.next().unwrap_or("").to_string();
                        let mut headers = BTreeMap::new();
                        loop {
                            let mut h = String::new();
                            if r.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                            }
                        }
                        let len: usize = headers
                            .get("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0; len];
                        if r.read_exact(&mut body).is_err() {
                            return;
                        }
                        rec.lock().unwrap().push(Received {
                            method,
                            path,
                            headers,
                            body,
                        });
                        let a = answers.lock().unwrap().pop_front().unwrap_or(Canned {
                            status: 599,
                            headers: vec![],
                            body: b"{\"message\":\"no more canned answers\"}".to_vec(),
                        });
                        let mut head =
                            format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\n", a.status, a.body.len());
                        for (k, v) in &a.headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        if w.write_all(head.as_bytes()).is_err() || w.write_all(&a.body).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        ReplayServer { url, received }
    }

    /// What has been received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// One recorded interaction: (method, URI, request headers, request body, answer).
pub type Interaction = (String, String, BTreeMap<String, String>, Vec<u8>, Canned);

/// The interactions of a VCR cassette.
pub fn cassette(path: &Path) -> Vec<Interaction> {
    use base64::Engine as _;
    fn bytes(v: &serde_norway::Value) -> Vec<u8> {
        match v {
            serde_norway::Value::String(s) => s.clone().into_bytes(),
            serde_norway::Value::Tagged(t) if t.tag == "binary" => {
                let s: String = t
                    .value
                    .as_str()
                    .expect("binary string")
                    .split_whitespace()
                    .collect();
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .expect("base64")
            }
            other => panic!("unexpected body {other:?}"),
        }
    }
    fn headers(v: &serde_norway::Value) -> Vec<(String, String)> {
        v.as_mapping()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| {
                        let first = v.as_sequence()?.first()?.as_str()?.to_string();
                        Some((k.as_str()?.to_string(), first))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    let text = std::fs::read_to_string(path).expect("read cassette");
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("parse cassette");
    doc["http_interactions"]
        .as_sequence()
        .expect("interactions")
        .iter()
        .map(|i| {
            let req = &i["request"];
            let resp = &i["response"];
            let keep = ["Content-Type", "Content-Encoding"];
            let canned = Canned {
                status: resp["status"]["code"].as_u64().expect("status") as u16,
                headers: headers(&resp["headers"])
                    .into_iter()
                    .filter(|(k, _)| keep.contains(&k.as_str()))
                    .collect(),
                body: bytes(&resp["body"]["string"]),
            };
            (
                req["method"].as_str().expect("method").to_ascii_uppercase(),
                req["uri"].as_str().expect("uri").to_string(),
                headers(&req["headers"]).into_iter().collect(),
                bytes(&req["body"]["string"]),
                canned,
            )
        })
        .collect()
}

/// The `rlcm-registry` binary, built beside `rlcm` by `cargo build --workspace` (and by
/// `cargo test --workspace`).
pub fn registry_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_rlcm")).with_file_name("rlcm-registry");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` (or `cargo test --workspace`) so the registry server is built beside rlcm",
        path.display()
    );
    path
}

/// Runs `rlcm-registry ARGS`.
pub fn registry_cmd(args: &[&str]) -> Output {
    Command::new(registry_binary())
        .args(args)
        .env("RLCM_USER", "tester")
        .output()
        .expect("run rlcm-registry")
}

/// A registry server on loopback, killed (SIGKILL) when dropped.
pub struct RegistryServer {
    /// The child process.
    pub child: std::process::Child,
    /// Its URL (`http://127.0.0.1:PORT`).
    pub url: String,
}

impl RegistryServer {
    /// Starts `rlcm-registry serve --data DATA --listen 127.0.0.1:0 EXTRA...` and waits (at
    /// most 30 s) for its `listening on` line.
    pub fn start(data: &Path, extra: &[&str]) -> RegistryServer {
        use std::io::BufRead;
        let mut child = Command::new(registry_binary())
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn rlcm-registry");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("rlcm-registry printed no `listening on` line within 30 s");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        RegistryServer { child, url }
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Adds a publisher to the registry at DATA, returning its token (the last stdout line).
pub fn add_publisher(data: &Path, name: &str) -> String {
    let out = registry_cmd(&["publisher", "add", name, "--data", data.to_str().unwrap()]);
    let text = ok(&out);
    text.lines().last().unwrap().trim().to_string()
}

/// The `workato-emulator` binary, built beside `rlcm` by `cargo build --workspace` (and by
/// `cargo test --workspace`).
pub fn emulator_binary() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_rlcm")).with_file_name("workato-emulator");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --workspace` (or `cargo test --workspace`) first",
        bin.display()
    );
    bin
}

/// A `workato-emulator` serving an environment on loopback, killed when dropped.
pub struct Emulator {
    /// The child process.
    pub child: std::process::Child,
    /// Its URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its stderr (the request log), when one was asked for.
    pub log: Option<PathBuf>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    /// Starts `workato-emulator --env ENV --listen 127.0.0.1:PORT --token TOKEN --poll-delay 1
    /// --rate-limits off EXTRA...` (`port` "0": any free port; a port just given up is retried
    /// for a few seconds), its stderr to `log` (or nowhere), and waits for its `listening on`
    /// line.
    pub fn start(env: &Path, token: &str, port: &str, log: Option<&Path>, extra: &[&str]) -> Emulator {
        use std::io::BufRead;
        let listen = format!("127.0.0.1:{port}");
        let mut last = String::new();
        for _ in 0..50 {
            let stderr = match log {
                Some(l) => std::process::Stdio::from(std::fs::File::create(l).unwrap()),
                None => std::process::Stdio::null(),
            };
            let mut child = Command::new(emulator_binary())
                .args([
                    "--env",
                    env.to_str().unwrap(),
                    "--listen",
                    &listen,
                    "--token",
                    token,
                ])
                .args(["--poll-delay", "1", "--rate-limits", "off"])
                .args(extra)
                .stdout(std::process::Stdio::piped())
                .stderr(stderr)
                .spawn()
                .expect("spawn workato-emulator");
            let out = child.stdout.take().unwrap();
            let mut line = String::new();
            let mut reader = std::io::BufReader::new(out);
            let _ = reader.read_line(&mut line);
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                let url = url.to_string();
                // Keep draining its stdout: a closed pipe would end it.
                std::thread::spawn(move || {
                    let mut sink = Vec::new();
                    let _ = std::io::Read::read_to_end(&mut reader, &mut sink);
                });
                return Emulator {
                    child,
                    url,
                    log: log.map(Path::to_path_buf),
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last = log
                .and_then(|l| std::fs::read_to_string(l).ok())
                .unwrap_or_else(|| format!("first line {line:?}"));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the emulator did not start: {last}");
    }

    /// Its port.
    pub fn port(&self) -> String {
        self.url.rsplit(':').next().unwrap().to_string()
    }
}

/// Makes the shipped sandbox's connector compatible with production again (its code keeps
/// `legacy_export`, which a production recipe uses) and releases it.
pub fn release_compatible_connector(sandbox: &Path) {
    let rb = sandbox.join("acme_crm.custom_adapter.rb");
    let code = std::fs::read_to_string(&rb).unwrap();
    std::fs::write(
        &rb,
        code.replacen(
            "  actions: {",
            "  actions: {\n    legacy_export: { execute: lambda { |c, i| {} } },",
            1,
        ),
    )
    .unwrap();
    ok(&run(&[
        "connector",
        "release",
        "Acme CRM",
        "--env",
        sandbox.to_str().unwrap(),
    ]));
}
